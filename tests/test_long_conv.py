"""The fused layer's long convolution (``kernels.long_conv``) and the gate's padded output
(``gate(..., pad_out=True)``, ``z=None``): chapter 06, issue 17.

``causal_conv_padded`` is pure torch (cuFFT on a GPU, pocketfft here) with a hand-written
adjoint, so it is checked against ``hyena_lab.fftconv`` in float64 (the same algebra through
another path: ``F64_FFT_CHAIN``), by ``gradcheck`` in float64, and for causality by perturbing
the future. The gate runs in Triton's interpreter without a GPU (see tests/test_kernels.py).
"""

import os
import sys

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

if not torch.cuda.is_available():  # Triton reads it when it is first imported
    if "triton" in sys.modules and os.environ.get("TRITON_INTERPRET") != "1":
        raise RuntimeError("triton was imported before TRITON_INTERPRET=1 was set, and no GPU")
    os.environ.setdefault("TRITON_INTERPRET", "1")

from hyena_lab import fftconv, kernels
from hyena_lab.checks import F32_FFT_CHAIN, F64_FFT_CHAIN, F64_SAME_ALGEBRA
from hyena_lab.kernels.long_conv import causal_conv_padded

from .helpers import DEV, pad_ref, randn, rel_err

pytestmark = pytest.mark.usefixtures("one_thread")




# ------------------------------------------------------------------------- the convolution
@settings(deadline=None, max_examples=25)
@given(B=st.integers(1, 3), D=st.integers(1, 4), L=st.one_of(st.just(1), st.integers(2, 41)),
       seed=st.integers(0, 10_000))  # fmt: skip
def test_causal_conv_padded_equals_fftconv(B, D, L, seed):
    """``y[..., :L]`` is ``fftconv(z, h)`` (no bias) at any length, odd ones and L = 1 too."""
    z, h = randn(B, D, L, seed=seed), randn(D, L, seed=seed + 1)
    y = causal_conv_padded(pad_ref(z), h)
    assert y.shape == (B, D, 2 * L) and y.dtype == torch.float64
    assert rel_err(y[..., :L], fftconv(z, h)) < F64_FFT_CHAIN


def test_float32_input_and_a_bfloat16_filter():
    """float32 zp and a bf16 filter: computed in float32 (the filter widened once)."""
    z, h = randn(2, 3, 50, seed=1), randn(3, 50, seed=2).to(torch.bfloat16)
    y = causal_conv_padded(pad_ref(z).float(), h)
    assert y.dtype == torch.float32
    assert rel_err(y[..., :50], fftconv(z, h.double())) < F32_FFT_CHAIN


@pytest.mark.parametrize("L", [3, 4])  # odd, and even with a self-mirrored bin k = L/2
def test_gradcheck_in_float64(L):
    # one channel (every input element is a gradcheck perturbation, each a few interpreted
    # kernel calls); channels and batch sums are checked against autograd in the next test
    zp = pad_ref(randn(2, 1, L, seed=3)).requires_grad_()
    h = randn(1, L, seed=4).requires_grad_()
    assert torch.autograd.gradcheck(causal_conv_padded, (zp, h))


def test_gradients_match_autograd_through_fftconv():
    """The written-out adjoint (dz: anti-causal convolution; dh: cross-correlation summed over
    the batch) equals autograd through ``fftconv`` on the first L columns."""
    z, h = randn(3, 4, 33, seed=5).requires_grad_(), randn(4, 33, seed=6).requires_grad_()
    g = randn(3, 4, 33, seed=7)
    z2, h2 = z.detach().clone().requires_grad_(), h.detach().clone().requires_grad_()
    causal_conv_padded(pad_ref(z), h)[..., :33].backward(g)
    fftconv(z2, h2).backward(g)
    assert rel_err(z.grad, z2.grad) < F64_FFT_CHAIN
    assert rel_err(h.grad, h2.grad) < F64_FFT_CHAIN


def test_causal_the_future_does_not_reach_the_past():
    z, h = randn(2, 3, 40, seed=8), randn(3, 40, seed=9)
    t = 25
    z2 = z.clone()
    z2[..., t:] += 100 * randn(2, 3, 40 - t, seed=10)
    a, b = causal_conv_padded(pad_ref(z), h), causal_conv_padded(pad_ref(z2), h)
    scale = a[..., :t].abs().max()
    assert (a[..., :t] - b[..., :t]).abs().max() <= 1e-12 * 100 * scale  # round-off of the FFT
    assert (a[..., t:40] - b[..., t:40]).abs().max() > 1  # and the future does change


def test_bad_inputs_say_what_was_expected():
    zp, h = pad_ref(randn(2, 3, 4)), randn(3, 4)
    with pytest.raises(ValueError, match=r"\(B, 3, 8\)"):
        causal_conv_padded(zp[..., :6], h)
    with pytest.raises(ValueError, match=r"h must have shape \(d_model, seq_len\) \(2 dims\)"):
        causal_conv_padded(zp, h[0])
    with pytest.raises(TypeError, match="float32, float64 or float16"):
        causal_conv_padded(zp.to(torch.bfloat16), h)
    with pytest.raises(TypeError, match="floating-point"):
        causal_conv_padded(zp.long(), h)


# ------------------------------------------------------------------ the gate, padded output
triton = pytest.importorskip("triton")
from hyena_lab.kernels.gates import gate  # noqa: E402  (after the interpreter is chosen)


@pytest.fixture(autouse=True)
def poison(monkeypatch):
    """Kernel buffers start as NaN, so an element the gate forgets to write fails a test."""
    monkeypatch.setattr(kernels, "POISON", True)


@pytest.mark.parametrize("B,D,L", [(2, 3, 5), (1, 40, 1), (1, 2, 130)])
def test_gate_pad_out_writes_zeros_after_l(B, D, L):
    y, x = randn(B, D, 2 * L, seed=1), randn(B, D, L, seed=2)
    out = gate(y, None, x, pad_out=True, out_dtype=torch.float32)
    assert out.shape == (B, D, 2 * L) and out.dtype == torch.float32
    assert torch.equal(out[..., L:], torch.zeros_like(out[..., L:]))
    assert rel_err(out[..., :L], x * y[..., :L]) < 1e-6  # one float32 rounding


def test_gate_pad_out_gradients():
    """Gradients through the padded output: only its first L columns reach y and x."""
    B, D, L = 2, 3, 6
    y, x = randn(B, D, 2 * L, seed=3).requires_grad_(), randn(B, D, L, seed=4).requires_grad_()
    g = randn(B, D, 2 * L, seed=5)
    gate(y, None, x, pad_out=True).backward(g)
    assert rel_err(x.grad, g[..., :L] * y.detach()[..., :L]) < F64_SAME_ALGEBRA
    assert rel_err(y.grad[..., :L], g[..., :L] * x.detach()) < F64_SAME_ALGEBRA
    assert torch.equal(y.grad[..., L:], torch.zeros_like(y.grad[..., L:]))


def test_a_padded_step_chain_is_definition_3_1():
    """Two steps as the fused layer runs them (pad, convolve, gate into a padded buffer, convolve,
    gate) equal ``x2 * fftconv(x1 * fftconv(v, h1, b1), h2, b2)``, the skip term folded into the
    filter's first tap."""
    B, D, L = 2, 3, 11
    v, x1, x2 = (randn(B, D, L, seed=s) for s in (1, 2, 3))
    h1, h2 = randn(D, L, seed=4), randn(D, L, seed=5)
    b1, b2 = randn(D, seed=6), randn(D, seed=7)

    def fold(h, b):
        return torch.cat([h[:, :1] + b[:, None], h[:, 1:]], dim=1)

    z2 = gate(causal_conv_padded(pad_ref(v), fold(h1, b1)), None, x1, pad_out=True)
    out = gate(causal_conv_padded(z2, fold(h2, b2)), None, x2)
    ref = x2 * fftconv(x1 * fftconv(v, h1, b1), h2, b2)
    assert rel_err(out, ref) < F64_FFT_CHAIN


# ------------------------------------------------------------- the spectral passes, alone
from hyena_lab.kernels.spectral import cross_spectrum, filter_packed  # noqa: E402


def _packed(x):  # (B, D, 2L) real -> (B, D, L) complex: DFT_L of x[2n] + i x[2n+1]
    return torch.fft.fft(torch.view_as_complex(x.reshape(*x.shape[:-1], -1, 2).contiguous()))


@pytest.mark.parametrize("L", [1, 2, 5, 8])
@pytest.mark.parametrize("conj", [False, True])
def test_filter_packed_is_the_real_transform_of_the_product(L, conj):
    """ifft(filter_packed(C, H_c)) viewed as real == irfft(rfft(x) * H) (unnormalised), with
    the filter's spectrum given packed (H_c) as the data's is."""
    x, h = randn(2, 3, 2 * L, seed=L), randn(3, 2 * L, seed=L + 1)  # any real filter rows
    h_f = torch.fft.rfft(h)  # (D, L + 1)
    want = torch.fft.irfft(
        torch.fft.rfft(x) * (h_f.conj() if conj else h_f), n=2 * L, norm="forward"
    )
    q = filter_packed(_packed(x), _packed(h[None])[0], conj=conj)
    got = torch.view_as_real(torch.fft.ifft(q, norm="forward")).reshape(2, 3, 2 * L)
    assert rel_err(got, want) < F64_FFT_CHAIN


@pytest.mark.parametrize("L", [1, 4, 7])
def test_cross_spectrum_sums_conj_x_g_over_the_batch(L):
    x, g = randn(3, 2, 2 * L, seed=1), randn(3, 2, 2 * L, seed=2)
    want = (torch.fft.rfft(x).conj() * torch.fft.rfft(g)).sum(0)  # (D, L + 1)
    assert rel_err(cross_spectrum(_packed(x), _packed(g)), want) < F64_FFT_CHAIN


@pytest.mark.filterwarnings("ignore:ComplexHalf support is experimental:UserWarning")
def test_spectral_bad_inputs():
    c = _packed(randn(2, 3, 8))
    with pytest.raises(ValueError, match=r"packed spectrum, torch.complex128 \(D, L\) = \(3, 4\)"):
        filter_packed(c, torch.zeros(3, 5, dtype=torch.complex128, device=DEV))
    with pytest.raises(ValueError, match="contiguous complex64/complex128/complex32 \\(B, D, L"):
        filter_packed(c.real, torch.zeros(3, 4, dtype=torch.complex128, device=DEV))
    with pytest.raises(ValueError, match="contiguous complex64/complex128 \\(B, D, L\\)"):
        cross_spectrum(c.to(torch.complex32), c.to(torch.complex32))  # the gradient: no half
    with pytest.raises(ValueError, match="g must match c"):
        cross_spectrum(c, c[:1])


def test_launch_grids_name_the_axis_cuda_would_refuse():
    """CUDA refuses a grid's second or third axis over 65535 with a bare "invalid argument" (the
    H200 bench hit it with the rows on axis 1 at B D = 196,608); ``kernels.grid`` names it."""
    assert kernels.grid(196_608, 3) == (196_608, 3)  # the first axis may be long
    with pytest.raises(ValueError, match="axis 1 has 196608 programs, over CUDA's 65535"):
        kernels.grid(3, 196_608)
    with pytest.raises(ValueError, match="axis 2"):
        kernels.grid(1, 1, 70_000)
