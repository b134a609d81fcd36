"""The Triton kernels of the Hyena layer (chapter 06, issue 17): the fused short convolution, the
fused gate and the layer built from them, against float64 torch references.

Without a GPU the kernels run in Triton's interpreter (``TRITON_INTERPRET=1``, set before the
kernel modules are imported), slowly: every launch here is a few thousand elements. With a CUDA
device the same tests run the compiled kernels. Every buffer the kernels allocate is poisoned
with NaN (``kernels.POISON``), so an element a kernel forgets to write fails the comparison.

Tolerances (``hyena_lab.checks``): the kernels accumulate in float64 for float64 inputs, so they
agree with torch's float64 evaluation of the same algebra to ``F64_SAME_ALGEBRA``; float32 inputs
(K <= 4 terms per output in the short convolution, one product in the gate) stay within
``F32_SAME_ALGEBRA`` of float64; bfloat16 inputs and outputs are each rounded to ~3.9e-3,
within ``HALF_VS_F64``; the whole layer is a chain of FFT convolutions and gates,
``F32_FFT_CHAIN`` against the eager float32 layer.
"""

import os
import subprocess
import sys

import pytest
import torch

if not torch.cuda.is_available():  # Triton reads it when it is first imported
    if "triton" in sys.modules and os.environ.get("TRITON_INTERPRET") != "1":
        raise RuntimeError(
            "triton was imported before TRITON_INTERPRET=1 was set and there is no GPU: the "
            "kernels cannot run; set TRITON_INTERPRET=1 in the environment (or in conftest.py)"
        )
    os.environ.setdefault("TRITON_INTERPRET", "1")
pytest.importorskip("triton")

import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from hyena_lab import HyenaOperator, kernels
from hyena_lab.checks import (
    F32_FFT_CHAIN,
    F32_SAME_ALGEBRA,
    F64_FFT_CHAIN,
    F64_SAME_ALGEBRA,
    HALF_VS_F64,
)
from hyena_lab.kernels import gates as gates_module
from hyena_lab.kernels import short_conv as short_conv_module
from hyena_lab.kernels.gates import gate
from hyena_lab.kernels.layer import fused_core, fused_forward
from hyena_lab.kernels.short_conv import short_conv_split

from .helpers import DEV, randn, rel_err

pytestmark = pytest.mark.usefixtures("one_thread")
if DEV == "cpu" and not kernels.interpreting():
    pytest.skip("TRITON_INTERPRET was set to something else than 1", allow_module_level=True)
TOL = {
    torch.float64: F64_SAME_ALGEBRA,
    torch.float32: F32_SAME_ALGEBRA,
    torch.bfloat16: HALF_VS_F64,
}


@pytest.fixture(autouse=True)
def poison(monkeypatch):
    """Every buffer a kernel allocates starts as NaN, so an unwritten element fails a test."""
    monkeypatch.setattr(kernels, "POISON", True)


@pytest.fixture
def small_tiles(monkeypatch):
    """16-wide tiles and 2 tiles per backward program: several tiles and several partial-sum
    chunks per axis at interpreter-sized inputs (the GPU sizes are 64 / 128 and 8)."""
    for module, names in ((short_conv_module, ("BLOCK_L", "BLOCK_C")),
                          (gates_module, ("BLOCK_D", "BLOCK_L"))):  # fmt: skip
        for name in names:
            monkeypatch.setattr(module, name, 16)
        monkeypatch.setattr(module, "BACKWARD_TILES", 2)



# ----------------------------------------------------------------------------- references
def short_conv_ref(p, weight, bias, groups):
    """``nn.Conv1d(C, C, K, groups=C, padding=K-1)`` on ``p.transpose(1, 2)``, first L outputs,
    split into ``groups``: ``(groups, B, D, L)`` in float64."""
    B, L, C = p.shape
    K = weight.shape[-1]
    b64 = None if bias is None else bias.double()
    y = F.conv1d(p.double().transpose(1, 2), weight.double(), b64, padding=K - 1, groups=C)
    return y[..., :L].reshape(B, groups, C // groups, L).transpose(0, 1)


def gate_ref(y, z, x, bias=None, transpose_out=False):
    L = z.shape[-1]
    s = z.double() if y is None else y.double()[..., :L]
    if bias is not None:
        s = s + bias.double()[:, None] * z.double()
    out = x.double() * s
    return out.transpose(1, 2) if transpose_out else out


def _leaves(*tensors):
    return [None if t is None else t.detach().clone().requires_grad_() for t in tensors]


def _grads_match(outs, refs, inputs, inputs64, tol):
    """Back-propagate the same random cotangent through both and compare every gradient."""
    cot = randn(*refs.shape, seed=99)
    outs.backward(cot.to(outs.dtype))
    refs.backward(cot)
    for name, a, b in zip("abcdef"[: len(inputs)], inputs, inputs64, strict=True):
        if a is None:
            continue
        assert b.grad is not None and a.grad is not None, name
        assert torch.isfinite(a.grad).all(), f"gradient {name} has NaN (an unwritten element)"
        assert rel_err(a.grad, b.grad) < tol, (name, rel_err(a.grad, b.grad))


# ------------------------------------------------------------------------- availability
def test_available_under_the_interpreter_or_on_a_gpu():
    assert kernels.available(DEV)
    kernels.require(DEV)
    assert not kernels.available("meta")
    with pytest.raises(RuntimeError, match="backend='torch'"):
        kernels.require("meta")


def test_require_names_what_is_missing(monkeypatch):
    monkeypatch.setattr(kernels, "_has_triton", lambda: False)
    assert not kernels.available(DEV)
    with pytest.raises(ImportError, match="triton"):
        kernels.require(DEV)
    if DEV == "cpu":
        monkeypatch.setattr(kernels, "_has_triton", lambda: True)
        monkeypatch.setenv("TRITON_INTERPRET", "0")
        with pytest.raises(RuntimeError, match="CUDA device"):
            kernels.require("cpu")


def test_hyena_lab_imports_without_triton():
    """``import hyena_lab`` and ``hyena_lab.kernels`` work with Triton unimportable."""
    code = (
        "import sys; sys.modules['triton'] = None\n"
        "import hyena_lab, hyena_lab.kernels as k\n"
        "assert not k.available('cpu')\n"
        "try:\n    k.require('cpu')\nexcept ImportError as e:\n    print('ok', e)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok"), done.stdout


# --------------------------------------------------------------------------- short conv
SHORT_CASES = [  # (B, L, groups, D, K): odd L, L = 1, K = 1 and 3, K > L, ragged channel blocks
    (2, 7, 3, 5, 3),
    (1, 1, 3, 2, 3),
    (2, 5, 2, 3, 1),
    (3, 2, 2, 4, 4),
    (2, 9, 3, 25, 3),  # C = 75: two channel blocks of 64, the second ragged
]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.bfloat16])
@pytest.mark.parametrize("B,L,G,D,K", SHORT_CASES)
def test_short_conv_matches_conv1d(B, L, G, D, K, dtype):
    C = G * D
    p, w, b = randn(B, L, C, dtype=dtype), randn(C, 1, K, seed=1, dtype=dtype), randn(C, seed=2)
    out = short_conv_split(p, w, b.to(dtype), G)
    assert out.shape == (G, B, D, L) and out.dtype == dtype
    assert out[G - 1].is_contiguous()
    assert torch.isfinite(out).all()  # every element written
    assert rel_err(out, short_conv_ref(p, w, b.to(dtype), G)) < TOL[dtype]


@pytest.mark.parametrize("B,L,G,D,K", [*SHORT_CASES[:4], (2, 50, 2, 9, 3)])
def test_short_conv_gradients(B, L, G, D, K, small_tiles):
    """float64 gradients (d_p, d_weight, d_bias) against torch autograd of ``F.conv1d``; with 16-
    wide tiles L = 50 spans 4 tiles, 2 backward programs, and C = 18 two channel blocks."""
    C = G * D
    ins = _leaves(randn(B, L, C), randn(C, 1, K, seed=1), randn(C, seed=2))
    ins64 = _leaves(*ins)
    out = short_conv_split(*ins, G)
    _grads_match(out, short_conv_ref(*ins64, G), ins, ins64, F64_SAME_ALGEBRA)


def test_short_conv_float32_gradients_and_no_bias():
    B, L, G, D, K = 2, 6, 3, 3, 3
    ins = _leaves(
        randn(B, L, G * D, dtype=torch.float32), randn(G * D, 1, K, seed=3, dtype=torch.float32)
    )
    ins64 = _leaves(*(t.double() for t in ins))
    out = short_conv_split(*ins, None, G)
    _grads_match(out, short_conv_ref(*ins64, None, G), ins, ins64, F32_SAME_ALGEBRA)


def test_short_conv_gradcheck():
    p, w, b = _leaves(randn(2, 4, 4), randn(4, 1, 3, seed=1), randn(4, seed=2))
    assert torch.autograd.gradcheck(lambda p, w, b: short_conv_split(p, w, b, 2), (p, w, b))


@pytest.mark.parametrize("layout", ["batch-strided", "time-offset", "channels-strided"])
def test_short_conv_reads_any_strides(layout):
    B, L, G, D, K = 2, 5, 2, 3, 3
    C = G * D
    if layout == "batch-strided":  # every other batch element of a larger tensor
        p = randn(2 * B, L, C)[::2]
    elif layout == "time-offset":  # rows of a longer sequence: batch stride != L * C
        p = randn(B, L + 3, C)[:, 3:]
    else:  # a (B, C, L) tensor seen as (B, L, C): channel stride L
        p = randn(B, C, L).transpose(1, 2)
    assert not p.is_contiguous()
    w, b = randn(C, 1, K, seed=1), randn(C, seed=2)
    assert rel_err(short_conv_split(p, w, b, G), short_conv_ref(p, w, b, G)) < F64_SAME_ALGEBRA


def test_short_conv_is_causal():
    """Changing p at time t leaves every output before t bit for bit unchanged."""
    B, L, G, D, K, t = 2, 9, 2, 3, 3, 5
    p, w, b = randn(B, L, G * D), randn(G * D, 1, K, seed=1), randn(G * D, seed=2)
    q = p.clone()
    q[:, t] += 1.0
    before, after = short_conv_split(p, w, b, G), short_conv_split(q, w, b, G)
    assert torch.equal(before[..., :t], after[..., :t])
    assert not torch.equal(before[..., t], after[..., t])  # the perturbation does arrive


def test_short_conv_bad_inputs():
    p, w = randn(2, 5, 6), randn(6, 1, 3)
    with pytest.raises(ValueError, match="not divisible by groups=4"):
        short_conv_split(p, w, None, 4)
    with pytest.raises(ValueError, match=r"\(C, 1, K\)"):
        short_conv_split(p, randn(6, 3), None, 2)
    with pytest.raises(ValueError, match=r"bias must have shape \(C,\)"):
        short_conv_split(p, w, randn(5), 2)
    with pytest.raises(ValueError, match="3 dims"):
        short_conv_split(p[0], w, None, 2)
    with pytest.raises(TypeError, match="floating-point"):
        short_conv_split(p.long(), w, None, 2)
    with pytest.raises(ValueError, match="meta"):
        short_conv_split(p, w.to("meta"), None, 2)
    with pytest.raises(RuntimeError, match="backend='torch'"):
        short_conv_split(p.to("meta"), w.to("meta"), None, 2)


# --------------------------------------------------------------------------------- gate
GATE_CASES = [  # (B, D, L, with y, with bias, transpose_out)
    (2, 5, 7, True, True, False),
    (2, 5, 7, True, True, True),
    (1, 3, 1, False, False, True),  # y = None: x * z, L = 1
    (2, 40, 3, True, False, False),  # ragged D blocks of 32
    (1, 2, 130, True, True, True),  # ragged L blocks of 128
]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.bfloat16])
@pytest.mark.parametrize("B,D,L,with_y,with_bias,transpose", GATE_CASES)
def test_gate_matches_reference(B, D, L, with_y, with_bias, transpose, dtype):
    y = randn(B, D, 2 * L, seed=1, dtype=dtype) if with_y else None  # raw irfft length 2L
    z, x = randn(B, D, L, seed=2, dtype=dtype), randn(B, D, L, seed=3, dtype=dtype)
    bias = randn(D, seed=4, dtype=dtype) if with_bias else None
    out = gate(y, z, x, bias, transpose_out=transpose)
    assert out.shape == ((B, L, D) if transpose else (B, D, L)) and out.dtype == dtype
    assert out.is_contiguous() and torch.isfinite(out).all()
    assert rel_err(out, gate_ref(y, z, x, bias, transpose)) < TOL[dtype]


def test_gate_mixed_dtypes_and_float32_output():
    """y in float32 (the FFT's output), z and x in bfloat16, written in float32: the product is
    formed in float32 from the bf16 values, so it matches float64 to float32 round-off."""
    B, D, L = 2, 3, 6
    y = randn(B, D, 2 * L, seed=1, dtype=torch.float32)
    z, x = (
        randn(B, D, L, seed=2, dtype=torch.bfloat16),
        randn(B, D, L, seed=3, dtype=torch.bfloat16),
    )
    bias = randn(D, seed=4, dtype=torch.bfloat16)
    out = gate(y, z, x, bias, out_dtype=torch.float32)
    assert out.dtype == torch.float32
    assert rel_err(out, gate_ref(y, z, x, bias)) < F32_SAME_ALGEBRA
    out = gate(y, z, x, bias, transpose_out=True)  # default dtype: x's
    assert out.dtype == torch.bfloat16 and out.shape == (B, L, D)
    assert rel_err(out, gate_ref(y, z, x, bias, True)) < HALF_VS_F64


def test_gate_reads_y_through_its_row_stride():
    """y a strided view (every other row of a larger tensor, columns past L never read)."""
    B, D, L = 2, 3, 5
    big = randn(B, 2 * D, 2 * L + 1, seed=1)
    y = big[:, ::2]
    z, x, bias = randn(B, D, L, seed=2), randn(B, D, L, seed=3), randn(D, seed=4)
    big[:, ::2, L:] = float("nan")  # beyond column L: must not reach the output
    assert rel_err(gate(y, z, x, bias), gate_ref(y[..., :L], z, x, bias)) < F64_SAME_ALGEBRA


@pytest.mark.parametrize(
    "B,D,L,with_y,with_bias,transpose", [*GATE_CASES[:4], (2, 20, 70, True, True, True)]
)
def test_gate_gradients(B, D, L, with_y, with_bias, transpose, small_tiles):
    """float64 gradients of y (zero beyond L), z, x and bias against torch autograd; with 16-wide
    tiles L = 70 spans 5 tiles, 3 backward programs, and D = 20 two channel blocks."""
    y = randn(B, D, 2 * L, seed=1) if with_y else None
    bias = randn(D, seed=4) if with_bias else None
    ins = _leaves(y, randn(B, D, L, seed=2), randn(B, D, L, seed=3), bias)
    ins64 = _leaves(*ins)
    out = gate(*ins, transpose_out=transpose)
    ref = gate_ref(*ins64, transpose_out=transpose)
    if with_y and not with_bias:  # x * y does not depend on z
        out.backward(torch.ones_like(out))
        assert ins[1].grad is None
        return
    _grads_match(out, ref, ins, ins64, F64_SAME_ALGEBRA)
    if with_y:
        assert torch.equal(ins[0].grad[..., L:], torch.zeros_like(ins[0].grad[..., L:]))


def test_gate_gradcheck():
    ins = _leaves(randn(2, 3, 8, seed=1), randn(2, 3, 4, seed=2), randn(2, 3, 4, seed=3),
                  randn(3, seed=4))  # fmt: skip
    assert torch.autograd.gradcheck(lambda *a: gate(*a, transpose_out=True), tuple(ins))


def test_gate_bad_inputs():
    y, z, x, b = randn(2, 3, 8), randn(2, 3, 4), randn(2, 3, 4), randn(3)
    with pytest.raises(ValueError, match="shape of the gate x"):
        gate(y, z, x[:, :2], b)
    with pytest.raises(ValueError, match="z may be None only"):
        gate(y, None, x, b)
    with pytest.raises(ValueError, match="exclude each other"):
        gate(y, z, x, b, transpose_out=True, pad_out=True)
    with pytest.raises(ValueError, match="Ly >= L"):
        gate(y[..., :3], z, x, b)
    with pytest.raises(ValueError, match="needs y"):
        gate(None, z, x, b)
    with pytest.raises(ValueError, match=r"bias must have shape \(d_model,\)"):
        gate(y, z, x, b[:2])
    with pytest.raises(TypeError, match="floating-point"):
        gate(y, z.long(), x, b)
    with pytest.raises(TypeError, match="out_dtype"):
        gate(y, z, x, b, out_dtype=torch.int32)
    with pytest.raises(ValueError, match="meta"):
        gate(y.to("meta"), z, x, b)


# ------------------------------------------------------------------- property test (B, L, D, K)
@given(
    B=st.integers(1, 2),
    L=st.one_of(st.just(1), st.integers(2, 20)),
    D=st.integers(1, 6),
    K=st.integers(1, 4),
    seed=st.integers(0, 1000),
)
def test_short_conv_and_gate_property(B, L, D, K, seed):
    """Order-1 Hyena core from the kernels (short conv, split, gate with bias) against float64,
    forward and gradients, over random shapes."""
    C = 2 * D
    ins = _leaves(randn(B, L, C, seed=seed), randn(C, 1, K, seed=seed + 1),
                  randn(C, seed=seed + 2), randn(B, D, 2 * L, seed=seed + 3),
                  randn(D, seed=seed + 4))  # fmt: skip
    ins64 = _leaves(*ins)

    def core(p, w, b, y, bias, conv, gate_fn):
        x, v = conv(p, w, b, 2).unbind(0)
        return gate_fn(y, v, x, bias)

    out = core(*ins, short_conv_split, gate)
    ref = core(*ins64, short_conv_ref, gate_ref)
    assert rel_err(out, ref) < F64_SAME_ALGEBRA
    _grads_match(out, ref, ins, ins64, F64_SAME_ALGEBRA)


# ------------------------------------------------------------------------------- the layer
LAYERS = [  # (order, identity_first, filter_bias, short_filter_order)
    (1, False, True, 3),
    (2, False, True, 3),
    (3, False, True, 1),
    (2, True, True, 3),
    (3, True, False, 2),
]


def _layer(order, identity_first, filter_bias, K, dtype=torch.float32, d=6, L=9):
    torch.manual_seed(order + 10 * K)
    op = HyenaOperator(d, 16, order=order, identity_first=identity_first,
                       filter_bias=filter_bias, short_filter_order=K).to(DEV, dtype)  # fmt: skip
    return op, randn(2, L, d, seed=order, dtype=dtype)


@pytest.mark.parametrize("order,identity_first,filter_bias,K", LAYERS)
def test_fused_forward_equals_the_operator(order, identity_first, filter_bias, K):
    """``fused_forward(op, u) == op(u)`` and every gradient (u and all parameters) in float32."""
    op, u = _layer(order, identity_first, filter_bias, K)
    u = u.requires_grad_()
    params = [p for p in op.parameters() if p.requires_grad]
    out, ref = fused_forward(op, u), op(u)
    assert out.shape == ref.shape and out.dtype == ref.dtype
    assert rel_err(out, ref) < F32_FFT_CHAIN
    assert rel_err(fused_core(op, u), op.core(u)) < F32_FFT_CHAIN
    cot = randn(*ref.shape, seed=7, dtype=ref.dtype)
    got = torch.autograd.grad(out, [u, *params], cot)
    want = torch.autograd.grad(ref, [u, *params], cot)
    for (name, _), a, b in zip([("u", u), *op.named_parameters()], got, want, strict=False):
        assert rel_err(a, b) < F32_FFT_CHAIN, (name, rel_err(a, b))


def test_fused_forward_float64_and_bfloat16():
    """float64 runs in float64 (kernels accumulate in float64, FFTs in float64); bfloat16 runs in
    float32 and is compared with the float64 layer on the same (bf16-rounded) weights."""
    op, u = _layer(2, False, True, 3, dtype=torch.float64)
    assert rel_err(fused_forward(op, u), op(u)) < F64_FFT_CHAIN
    op16 = HyenaOperator(6, 16, order=2).to(DEV, torch.bfloat16)
    op64 = HyenaOperator(6, 16, order=2).to(DEV, torch.float64)
    op64.load_state_dict({k: v.double() for k, v in op16.state_dict().items()})
    u16 = randn(2, 9, 6, seed=5, dtype=torch.bfloat16)
    out = fused_forward(op16, u16)
    assert out.dtype == torch.bfloat16
    assert rel_err(out, op64(u16.double())) < HALF_VS_F64  # measured 2e-3 to 3e-3, as eager bf16


def test_fused_forward_bad_inputs():
    op, u = _layer(2, False, True, 3)
    with pytest.raises(TypeError, match="HyenaOperator"):
        fused_forward(torch.nn.Linear(6, 6), u)
    with pytest.raises(ValueError, match="d_model=6"):
        fused_forward(op, u[..., :5])
    with pytest.raises(TypeError, match="dtype"):
        fused_forward(op, u.double())
