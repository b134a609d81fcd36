"""The one-kernel gated FFT convolution (hyena_lab.kernels.fftconv_sram) against float64.

Without a CUDA device the kernel runs in Triton's interpreter (``TRITON_INTERPRET=1``, set here
before triton is first imported), on tiny sizes. The reference is :func:`hyena_lab.fftconv` on
float64 copies of the same (already rounded) inputs, so the only differences are the kernel's
own round-off: the tolerances are ``expected_rel_error(dtype)`` (derived in the module's
docstring: ``1e-2`` for bf16/fp16, dominated by the output's rounding to bf16, ``2^-8``;
``1e-4`` for fp32, whose tf32x3 dots on a GPU stay near ``1e-5``; the interpreter's numpy fp32
dots land near ``2e-7``). Every output is poisoned with NaN first, so an element the kernel
forgets to write fails the check.
"""

import os
import subprocess
import sys

import pytest

pytest.importorskip("triton")
import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")  # before triton is first imported below

from hypothesis import given, settings
from hypothesis import strategies as st

from hyena_lab import fftconv
from hyena_lab.checks import rel_err
from hyena_lab.kernels import fftconv_sram as fs

pytestmark = pytest.mark.usefixtures("one_thread")

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def _inputs(B, D, L, dtype, *, bias=True, gates=True, seed=0):
    """O(1) random data (never zeros): u and gates in ``dtype``, k fp32 of unit norm per row."""
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(B, D, L, generator=g).to(dtype)
    k = torch.randn(D, L, generator=g) / L**0.5
    b = torch.randn(D, generator=g) if bias else None
    pre = torch.randn(B, D, L, generator=g).to(dtype) if gates else None
    post = torch.randn(B, D, L, generator=g).to(dtype) if gates else None
    return [None if x is None else x.to(DEVICE) for x in (u, k, b, pre, post)]


def _reference(u, k, bias=None, pre=None, post=None):
    """``post * fftconv(pre * u, k, bias)`` in float64 (the contract of fftconv_fused)."""
    d = [None if x is None else x.double().cpu() for x in (u, k, bias, pre, post)]
    w = d[0] if d[3] is None else d[3] * d[0]
    y = fftconv(w, d[1], d[2])
    return y if d[4] is None else d[4] * y


def _poisoned_run(u, k, bias, pre, post, **kw):
    out = torch.full_like(u, float("nan"))
    fs.fftconv_rows(u, fs.filter_spectrum(k), bias, pre, post, out=out, **kw)
    assert torch.isfinite(out).all(), "the kernel left elements of the output unwritten"
    return out


# ---------------------------------------------------------------------------- forward vs float64
@pytest.mark.parametrize("L", [128, 256, 512])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("bias,gates", [(False, False), (True, False), (True, True)])
def test_forward_matches_float64(L, dtype, bias, gates):
    u, k, b, pre, post = _inputs(3, 2, L, dtype, bias=bias, gates=gates, seed=L)
    y = _poisoned_run(u, k, b, pre, post)
    ref = _reference(u, k, b, pre, post)
    assert y.dtype == dtype
    assert rel_err(y.cpu(), ref) <= fs.expected_rel_error(dtype)
    # the autograd entry point computes the same thing
    y2 = fs.fftconv_fused(u, k, b, pre, post)
    assert y2.dtype == dtype
    assert rel_err(y2.cpu(), ref) <= fs.expected_rel_error(dtype)


@pytest.mark.parametrize("L", fs.SUPPORTED_LENGTHS)
def test_every_supported_length_fp16_one_row(L):
    """Each (N1, N2, K1) plan, including N = 256's padded first stage; fp16 inputs (tf32 dots,
    fp16 output rounding 2^-11)."""
    u, k, b, pre, post = _inputs(1, 1, L, torch.float16, seed=7)
    y = _poisoned_run(u, k, b, pre, post)
    assert rel_err(y.cpu(), _reference(u, k, b, pre, post)) <= fs.expected_rel_error(torch.float16)


@pytest.mark.parametrize("L", [128, 512])
def test_tables_read_inside_the_loop(L):
    """``hoist=False`` (twiddles and spectrum re-read per pair of rows, a launch option kept for
    tuning) computes the same as the default."""
    u, k, b, pre, post = _inputs(3, 2, L, torch.float32, seed=L + 1)
    y = _poisoned_run(u, k, b, pre, post, config={"hoist": False})
    assert rel_err(y.cpu(), _reference(u, k, b, pre, post)) <= fs.expected_rel_error(torch.float32)


@pytest.mark.parametrize("B,split", [(1, 1), (4, 1), (5, 2), (7, 3)])
def test_rows_pairs_and_split(B, split):
    """Odd batches (a row without a partner), several programs per channel whose last pair lies
    past the end: every row written, none written twice or wrongly."""
    u, k, b, pre, post = _inputs(B, 3, 128, torch.float32, seed=B)
    y = _poisoned_run(u, k, b, pre, post, split=split)
    assert rel_err(y.cpu(), _reference(u, k, b, pre, post)) <= fs.expected_rel_error(torch.float32)


def test_flip_is_the_anticausal_convolution():
    """``flip=True``: ``flip(conv(flip(w), k)) + bias w``, the adjoint the backward uses."""
    u, k, b, pre, post = _inputs(2, 2, 256, torch.float32, seed=3)
    y = _poisoned_run(u, k, b, pre, post, flip=True)
    w = pre.double().cpu() * u.double().cpu()
    ref = post.double().cpu() * fftconv(w.flip(-1), k.double().cpu(), b.double().cpu()).flip(-1)
    assert rel_err(y.cpu(), ref) <= fs.expected_rel_error(torch.float32)


def test_filter_spectrum_layout():
    """``S[d, :, k1, k2]`` is the DFT of the padded filter at ``k1 + N1 k2``, divided by N."""
    L = 256
    N1, N2, _ = fs.factors(L)
    k = torch.randn(2, L, dtype=torch.float64)
    S = fs.filter_spectrum(k)
    assert S.shape == (2, 2, N1, N2) and S.dtype == torch.float32
    full = torch.fft.fft(k, n=2 * L) / (2 * L)
    k1, k2 = 5, 3
    assert torch.allclose(S[:, 0, k1, k2].double(), full[:, k1 + N1 * k2].real, atol=1e-7)
    assert torch.allclose(S[:, 1, k1, k2].double(), full[:, k1 + N1 * k2].imag, atol=1e-7)


@settings(max_examples=12)
@given(
    B=st.integers(1, 4),
    D=st.integers(1, 3),
    L=st.sampled_from([128, 256]),
    dtype=st.sampled_from([torch.float32, torch.bfloat16]),
    bias=st.booleans(),
    gates=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_property_any_shape_matches_float64(B, D, L, dtype, bias, gates, seed):
    u, k, b, pre, post = _inputs(B, D, L, dtype, bias=bias, gates=gates, seed=seed)
    y = _poisoned_run(u, k, b, pre, post)
    assert rel_err(y.cpu(), _reference(u, k, b, pre, post)) <= fs.expected_rel_error(dtype)


# ----------------------------------------------------------------------------------- causality
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_causal_up_to_round_off(dtype):
    """Changing the future (t >= t0) leaves earlier outputs unchanged up to the round-off bound:
    each run is within ``tol * ||y||`` of the exact result (``tol = expected_rel_error``), so the
    two differ by at most ``2 tol ||y||`` there, while the future outputs change by O(||y||)."""
    L, t0 = 256, 100
    u, k, b, pre, post = _inputs(2, 2, L, dtype, seed=11)
    u2 = u.clone()
    u2[..., t0:] = torch.randn(u[..., t0:].shape, generator=torch.Generator().manual_seed(1)).to(
        dtype
    )
    y1, y2 = (fs.fftconv_fused(x, k, b, pre, post).double().cpu() for x in (u, u2))
    scale = max(y1.norm(), y2.norm())
    tol = fs.expected_rel_error(dtype)
    assert (y1[..., :t0] - y2[..., :t0]).norm() <= 2 * tol * scale
    assert (y1[..., t0:] - y2[..., t0:]).norm() >= 0.1 * scale  # the perturbation did act


# ----------------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("bias,gates", [(False, False), (True, True)])
def test_gradients_match_float64_autograd(dtype, bias, gates):
    """Every input's gradient against float64 autograd of the reference, same upstream g. bf16:
    d_u, d_pre, d_post are rounded to bf16 (2^-8), d_k and d_bias stay fp32."""
    L = 256
    args = _inputs(3, 2, L, dtype, bias=bias, gates=gates, seed=5)
    leaves = [None if x is None else x.clone().requires_grad_() for x in args]
    g = torch.randn(3, 2, L, generator=torch.Generator().manual_seed(9)).to(dtype).to(DEVICE)
    fs.fftconv_fused(*leaves).backward(g)
    ref_leaves = [None if x is None else x.detach().double().cpu().requires_grad_() for x in args]
    _reference(*ref_leaves).backward(g.double().cpu())
    names = ["u", "k", "bias", "pre_gate", "post_gate"]
    for name, mine, ref in zip(names, leaves, ref_leaves, strict=True):
        if mine is None:
            continue
        assert mine.grad is not None and mine.grad.dtype == mine.dtype, name
        assert torch.isfinite(mine.grad).all(), name
        err = rel_err(mine.grad.cpu(), ref.grad)
        assert err <= fs.expected_rel_error(dtype), f"d_{name}: rel err {err:.2e}"


def test_gradient_of_a_float64_filter_keeps_its_dtype():
    u, k, _, _, _ = _inputs(2, 2, 128, torch.float32, bias=False, gates=False, seed=2)
    k = k.double().requires_grad_()
    fs.fftconv_fused(u, k).sum().backward()
    assert k.grad.dtype == torch.float64
    ref_k = k.detach().cpu().requires_grad_()
    fftconv(u.double().cpu(), ref_k).sum().backward()
    assert rel_err(k.grad.cpu(), ref_k.grad) <= fs.expected_rel_error(torch.float32)


# --------------------------------------------------------------------------- plan, cost, errors
def test_supported_lengths_and_factors():
    assert [L for L in range(1, 9000) if fs.supported(L)] == list(fs.SUPPORTED_LENGTHS)
    assert not fs.supported(True) and not fs.supported(128.0)
    for L in fs.SUPPORTED_LENGTHS:
        N1, N2, K1 = fs.factors(L)
        assert N1 * N2 == 2 * L and N1 >= N2 >= 16 and K1 >= 16 and K1 * N2 >= L


def test_counted_work():
    """Dot FLOPs per row ``4 N N1 + 8 N N2``: 1,048,576 at L = 1K, 8,388,608 at L = 4K."""
    for L, dots in [(1024, 1_048_576), (4096, 8_388_608)]:
        cost = fs.kernel_cost(L, rows=1)
        N = 2 * L
        N1, N2, _ = fs.factors(L)
        assert cost.matmul_flops == dots == 4 * N * N1 + 8 * N * N2
        assert cost.bytes == 4 * 2 * L  # u, two gates, the output, bf16


@pytest.mark.parametrize("L", [64, 100, 129, 8192])
def test_unsupported_length_says_what_to_use(L):
    u = torch.randn(1, 1, L, device=DEVICE)
    with pytest.raises(ValueError, match=r"hyena_lab\.fftconv"):
        fs.fftconv_fused(u, torch.randn(1, L, device=DEVICE))


def test_bad_inputs_raise_clear_errors():
    u, k, b, pre, _ = _inputs(2, 3, 128, torch.float32, seed=0)
    with pytest.raises(ValueError, match=r"\(B, D, L\)"):
        fs.fftconv_fused(u[0], k)
    with pytest.raises(ValueError, match=r"k must be filters \(D, L\)"):
        fs.fftconv_fused(u, k[:2])
    with pytest.raises(ValueError, match=r"bias must have shape \(D,\)"):
        fs.fftconv_fused(u, k, b[:2])
    with pytest.raises(ValueError, match="pre_gate must be like u"):
        fs.fftconv_fused(u, k, b, pre.to(torch.bfloat16))
    with pytest.raises(ValueError, match="post_gate must be like u"):
        fs.fftconv_fused(u, k, b, None, pre[:1])
    with pytest.raises(TypeError, match="float32, bfloat16 or float16"):
        fs.fftconv_fused(u.double(), k)
    with pytest.raises(TypeError, match="floating-point"):
        fs.fftconv_fused(u.to(torch.int32), k)
    with pytest.raises(ValueError, match="spectrum must be filter_spectrum"):
        fs.fftconv_rows(u, fs.filter_spectrum(k)[:2])


def test_module_imports_without_triton():
    """Importing the kernel module (and asking what it supports) needs no triton."""
    code = (
        "import sys; sys.modules['triton'] = None\n"
        "import hyena_lab.kernels.fftconv_sram as m\n"
        "assert m.supported(1024) and m.factors(1024) == (64, 32, 32)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


@pytest.mark.parametrize("identity_first", [False, True])
def test_the_operator_runs_its_long_convolutions_on_chip_where_the_length_allows(identity_first):
    """HyenaOperator(backend="triton") at a supported L (128) takes the on-chip kernel for every
    step with a filter (``on_chip_fftconv = True``; off by default) and cuFFT + the gate kernel
    without it; both equal the eager layer in float32 (1e-5: fp32 kernels against fp32 eager, each
    ~1e-7 from float64 here), outputs and every gradient."""
    from hyena_lab.operator import HyenaOperator

    torch.manual_seed(0)
    op = HyenaOperator(8, 128, order=3, identity_first=identity_first).to(DEVICE)
    u = torch.randn(2, 128, 8, device=DEVICE, requires_grad=True)
    dy = torch.randn(2, 128, 8, device=DEVICE)
    results = {}
    for name, backend, on_chip in (("eager", "torch", True), ("chip", "triton", True),
                                   ("cufft", "triton", False)):  # fmt: skip
        op.backend, op.on_chip_fftconv = backend, on_chip
        params = [u, *op.parameters()]
        y = op(u)
        results[name] = (y.detach(), torch.autograd.grad(y, params, dy))
    calls = []
    real = fs.fftconv_fused
    try:  # the on-chip path really calls the kernel, once per step with a filter
        fs.fftconv_fused = lambda *a, **k: calls.append(1) or real(*a, **k)
        import hyena_lab.kernels.layer as layer

        layer.fftconv_fused, saved = fs.fftconv_fused, layer.fftconv_fused
        op.backend, op.on_chip_fftconv = "triton", True
        op(u)
    finally:
        fs.fftconv_fused = real
        layer.fftconv_fused = saved
    assert len(calls) == op.n_filters
    y0, g0 = results["eager"]
    for name in ("chip", "cufft"):
        y, g = results[name]
        assert rel_err(y, y0) < 1e-5, name
        for a, b in zip(g, g0, strict=True):
            assert rel_err(a, b) < 1e-5, name
