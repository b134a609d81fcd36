"""The fused layer's padding pass and the filter side of its long convolution
(``kernels.long_conv.padded``; ``causal_conv_padded(zp, h, bias)`` with the skip term folded
into the filter and the filter's spectrum computed packed): chapter 06, issue 17.

Float64 in Triton's interpreter without a GPU (references: ``hyena_lab.fftconv`` with its bias,
``F64_FFT_CHAIN``; gradcheck in float64); the same tests run on the lent GPU.
"""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

triton = pytest.importorskip("triton")

from hyena_lab import fftconv  # noqa: E402
from hyena_lab.checks import F32_FFT_CHAIN, F64_FFT_CHAIN  # noqa: E402
from hyena_lab.kernels.long_conv import causal_conv_padded, padded  # noqa: E402

from .helpers import DEV, pad_ref, randn, rel_err  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread", "poisoned_kernels")  # conftest.py




# ------------------------------------------------------------------------------ the padding
@pytest.mark.parametrize("B,D,L", [(1, 1, 1), (2, 3, 5), (1, 40, 130)])
def test_padded_writes_z_then_zeros(B, D, L):
    z = randn(B, D, L, seed=1)
    out = padded(z, torch.float64)
    assert out.shape == (B, D, 2 * L) and out.dtype == torch.float64
    assert torch.equal(out, pad_ref(z))


def test_padded_reads_any_strides_and_widens():
    """A transposed view (the implicit filter's ``h.T``) and bf16 in, float32 out."""
    z = randn(1, 7, 6, seed=2).to(torch.bfloat16)
    zt = z[0].T.contiguous().T[None]  # (1, 7, 6) with strides (.., 1, 7)
    assert zt.stride()[1:] == (1, 7)
    out = padded(zt, torch.float32)
    assert out.dtype == torch.float32 and torch.equal(out, pad_ref(z.float()))


def test_padded_gradient_is_the_first_half():
    z = randn(2, 3, 4, seed=3).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: padded(t, torch.float64), (z,))
    g = randn(1, 2, 6, seed=4)
    zb = randn(1, 2, 3, seed=5).to(torch.bfloat16).requires_grad_()
    padded(zb, torch.float32).backward(g.float())
    assert zb.grad.dtype == torch.bfloat16 and torch.equal(zb.grad, g[..., :3].bfloat16())


# ------------------------------------------------------------- the skip term in the filter
@settings(deadline=None, max_examples=20)
@given(B=st.integers(1, 3), D=st.integers(1, 3), L=st.one_of(st.just(1), st.integers(2, 30)),
       seed=st.integers(0, 10_000))  # fmt: skip
def test_the_skip_term_folded_in_equals_fftconv_with_bias(B, D, L, seed):
    """``h conv z + b z`` from ``(h + b delta)`` at any length, odd ones and L = 1 too."""
    z, h, b = randn(B, D, L, seed=seed), randn(D, L, seed=seed + 1), randn(D, seed=seed + 2)
    y = causal_conv_padded(pad_ref(z), h, b)
    assert rel_err(y[..., :L], fftconv(z, h, b)) < F64_FFT_CHAIN


def test_a_transposed_bfloat16_filter_in_float32():
    """The implicit filter's layout (``h.T`` of an ``(L, D)`` tensor) in bf16, float32 zp."""
    z, h, b = randn(2, 3, 40, seed=1), randn(40, 3, seed=2).to(torch.bfloat16).T, randn(3)
    assert not h.is_contiguous()
    y = causal_conv_padded(pad_ref(z).float(), h, b.float())
    assert y.dtype == torch.float32
    assert rel_err(y[..., :40], fftconv(z, h.double(), b)) < F32_FFT_CHAIN


@pytest.mark.parametrize("L", [3, 4])
def test_gradcheck_with_the_skip_term(L):
    # one channel, as in test_long_conv.py; channels: test_bias_gradient_matches_autograd...
    zp = pad_ref(randn(2, 1, L, seed=3)).requires_grad_()
    h = randn(1, L, seed=4).requires_grad_()
    b = randn(1, seed=5).requires_grad_()
    assert torch.autograd.gradcheck(causal_conv_padded, (zp, h, b))


def test_bias_gradient_matches_autograd_through_fftconv():
    z, h, b = randn(3, 2, 9, seed=6), randn(2, 9, seed=7), randn(2, seed=8)
    g = randn(3, 2, 9, seed=9)
    grads = []
    for fn in (lambda z, h, b: causal_conv_padded(pad_ref(z), h, b)[..., :9], fftconv):
        ins = [t.clone().requires_grad_() for t in (z, h, b)]
        fn(*ins).backward(g)
        grads.append([t.grad for t in ins])
    for got, want in zip(*grads, strict=True):
        assert rel_err(got, want) < F64_FFT_CHAIN


def test_bad_bias_says_what_was_expected():
    zp, h = pad_ref(randn(2, 3, 4)), randn(3, 4)
    with pytest.raises(ValueError, match=r"bias must be \(3,\)"):
        causal_conv_padded(zp, h, randn(4))
    with pytest.raises(TypeError, match="floating-point"):
        causal_conv_padded(zp, h, torch.ones(3, dtype=torch.long, device=DEV))
