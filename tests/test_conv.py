"""Long convolutions: fftconv == direct_conv == toeplitz @ u, causality, gradients, bad inputs."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from hyena_lab import circular_fftconv, direct_conv, fftconv, toeplitz
from hyena_lab.checks import (
    HALF_VS_F64,
    direct_conv_error_bound,
    fftconv_error_bound,
)

from .helpers import rel_err

shapes = st.tuples(
    st.lists(st.integers(1, 3), min_size=0, max_size=2),  # leading (batch) dims
    st.integers(1, 5),  # channels d
    st.one_of(st.integers(1, 70), st.sampled_from([1, 2, 127, 128, 129, 257])),  # L
)


def _random(shape, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64).to(dtype)


@given(shapes, st.sampled_from([torch.float64, torch.float32]), st.booleans(), st.integers(0, 99))
def test_three_ways_agree(shape, dtype, with_bias, seed):
    lead, d, L = shape
    u = _random((*lead, d, L), dtype, seed)
    k = _random((d, L), dtype, seed + 1)
    bias = _random((d,), dtype, seed + 2) if with_bias else None
    # float64 reference, by the definition (its own round-off is bounded too)
    b64 = None if bias is None else bias.double()
    ref = direct_conv(u.double(), k.double(), b64)
    ref_err = direct_conv_error_bound(u.double(), k.double(), b64)
    # each fast path within its error bound (checks.fftconv_error_bound: FFT round-off analysis)
    assert (direct_conv(u, k, bias).double() - ref).norm() <= direct_conv_error_bound(
        u, k, bias
    ) + ref_err
    assert (fftconv(u, k, bias).double() - ref).norm() <= fftconv_error_bound(u, k, bias) + ref_err
    S = toeplitz(k.double(), b64)  # (d, L, L)
    via_matrix = (S @ u.double()[..., None])[..., 0]
    assert (via_matrix - ref).norm() <= 2 * ref_err  # a matmul sums the same products
    assert fftconv(u, k, bias).dtype == dtype


@given(st.integers(1, 4), st.integers(1, 3), st.integers(2, 64), st.integers(0, 99))
def test_per_batch_filters_broadcast(b, d, L, seed):
    u = _random((b, d, L), torch.float64, seed)
    k = _random((b, d, L), torch.float64, seed + 1)  # one filter per batch element
    ref = torch.stack([direct_conv(u[i], k[i]) for i in range(b)])
    bound = fftconv_error_bound(u, k) + direct_conv_error_bound(u, k)
    assert (fftconv(u, k) - ref).norm() <= bound


@given(st.integers(2, 90), st.data())
def test_causality_future_does_not_leak(L, data):
    t = data.draw(st.integers(1, L - 1))
    u = _random((2, 3, L), torch.float64, L)
    k = _random((3, L), torch.float64, L + 1)
    bias = _random((3,), torch.float64, L + 2)
    u2 = u.clone()
    u2[..., t:] += 10 * _random((2, 3, L - t), torch.float64, L + 3)  # change only the future
    # direct_conv never reads the future: its past is bit-for-bit the same
    y, y2 = direct_conv(u, k, bias), direct_conv(u2, k, bias)
    assert torch.equal(y[..., :t], y2[..., :t])
    assert not torch.allclose(y[..., t:], y2[..., t:])  # ... but the future does change
    # the FFT mixes every position: the past may move, but only by round-off of both signals'
    # size (checks.fftconv_error_bound), never by anything of the size of the change (~1e2 here)
    y, y2 = fftconv(u, k, bias), fftconv(u2, k, bias)
    leak = (y[..., :t] - y2[..., :t]).norm()
    assert leak <= fftconv_error_bound(u, k, bias) + fftconv_error_bound(u2, k, bias)
    assert not torch.allclose(y[..., t:], y2[..., t:])


def test_causality_is_exact_for_direct_conv():
    u = _random((1, 2, 50), torch.float64, 0)
    k = _random((2, 50), torch.float64, 1)
    u2 = u.clone()
    u2[..., 20:] = 123.0
    assert torch.equal(direct_conv(u, k)[..., :20], direct_conv(u2, k)[..., :20])


def test_circular_conv_wraps_around_and_padding_fixes_it():
    L = 16
    u = torch.zeros(1, L, dtype=torch.float64)
    u[0, L - 1] = 1.0  # an impulse at the very end
    k = torch.ones(1, L, dtype=torch.float64)
    # causal: the impulse at L-1 can only reach output L-1
    assert torch.allclose(fftconv(u, k)[0, : L - 1], torch.zeros(L - 1, dtype=torch.float64))
    # circular: it wraps around and reaches every earlier output
    assert torch.allclose(circular_fftconv(u, k)[0], torch.ones(L, dtype=torch.float64))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_circular_conv_accepts_half_precision(dtype):
    u = _random((2, 3, 17), torch.float64, 0)
    k = _random((3, 17), torch.float64, 1)
    y = circular_fftconv(u.to(dtype), k.to(dtype))
    assert y.dtype == dtype
    assert rel_err(y, circular_fftconv(u.to(dtype).double(), k.to(dtype).double())) < HALF_VS_F64


def test_rel_err_measures_relative_distance():
    b = torch.tensor([3.0, 4.0])
    assert rel_err(b, b) == 0.0
    assert abs(rel_err(b + torch.tensor([0.3, 0.4]), b) - 0.1) < 1e-7
    assert rel_err(torch.ones(2), torch.zeros(2)) == pytest.approx(2**0.5)


@pytest.mark.parametrize("L", [1, 2, 7, 16])
def test_gradcheck_fftconv(L):
    g = torch.Generator().manual_seed(L)
    u = torch.randn(2, 3, L, generator=g, dtype=torch.float64, requires_grad=True)
    k = torch.randn(3, L, generator=g, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(3, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(fftconv, (u, k, bias))
    assert torch.autograd.gradcheck(lambda a, b: fftconv(a, b), (u, k))


def test_toeplitz_structure():
    k = torch.arange(1.0, 6.0, dtype=torch.float64)
    S = toeplitz(k)
    assert torch.equal(S, torch.tril(S))  # lower triangular: causal
    for t in range(5):
        for s in range(t + 1):
            assert S[t, s] == k[t - s]  # constant along diagonals
    assert torch.equal(toeplitz(k, torch.tensor(2.0, dtype=torch.float64)), S + 2 * torch.eye(5))


def test_half_precision_runs_in_float32():
    u = _random((2, 4, 33), torch.float64, 0)
    k = _random((4, 33), torch.float64, 1)
    y = fftconv(u.bfloat16(), k.bfloat16())
    assert y.dtype == torch.bfloat16
    ref = direct_conv(u.bfloat16().double(), k.bfloat16().double())
    assert (y.double() - ref).norm() <= fftconv_error_bound(u.bfloat16(), k.bfloat16())
    assert rel_err(y, ref) < HALF_VS_F64


@pytest.mark.parametrize(
    ("u", "k", "bias", "exc", "match"),
    [
        (torch.randn(2, 8), torch.randn(2, 7), None, ValueError, "filter length must equal"),
        (torch.randn(2, 8), torch.randn(3, 8), None, ValueError, "filter channels must equal"),
        (torch.ones(2, 8, dtype=torch.int64), torch.randn(2, 8), None, TypeError, "floating"),
        (torch.randn(2, 8), torch.randn(2, 8), torch.randn(3), ValueError, r"bias must have shape"),
        (torch.randn(2, 0), torch.randn(2, 0), None, ValueError, "is empty"),
        (torch.randn(8), torch.randn(1, 8), None, ValueError, r"\(\.\.\., d, L\)"),
        ([1.0, 2.0], torch.randn(1, 2), None, TypeError, "must be a torch.Tensor"),
        (torch.randn(3, 2, 8), torch.randn(2, 2, 8), None, ValueError, "do not broadcast"),
    ],
)
def test_bad_inputs_say_what_was_expected(u, k, bias, exc, match):
    for conv in (fftconv, direct_conv):
        with pytest.raises(exc, match=match):
            conv(u, k, bias)


def test_toeplitz_bad_inputs():
    with pytest.raises(TypeError, match="floating"):
        toeplitz(torch.arange(4))
    with pytest.raises(ValueError, match="one value per filter"):
        toeplitz(torch.randn(3, 4), torch.randn(4))


def test_non_finite_values_reach_every_fft_output_but_not_the_past_of_the_definition():
    """The documented contract: the FFT spreads a NaN/inf to every output, before it too."""
    u = _random((1, 2, 32), torch.float64, 0)
    k = _random((2, 32), torch.float64, 1)
    for bad in (float("nan"), float("inf")):
        v = u.clone()
        v[..., 20] = bad
        assert not torch.isfinite(fftconv(v, k)[..., :20]).any()
        assert torch.isfinite(direct_conv(v, k)[..., :20]).all()


def test_a_huge_late_value_moves_the_fft_past_only_within_the_bound():
    """float32, a value of 1e6 at the end of O(1) data: earlier outputs move (by up to O(1) here),
    but never more than checks.fftconv_error_bound says; the definition's past does not move."""
    u = _random((1, 4, 1000), torch.float32, 3)
    k = _random((4, 1000), torch.float32, 4)
    v = u.clone()
    v[..., -1] = 1e6
    moved = (fftconv(v, k)[..., :-1] - fftconv(u, k)[..., :-1]).double().norm()
    assert moved <= fftconv_error_bound(u, k) + fftconv_error_bound(v, k)
    assert moved > 1e-3  # it does move: the FFT is causal only up to round-off
    assert torch.equal(direct_conv(v, k)[..., :-1], direct_conv(u, k)[..., :-1])
