"""The tolerances of hyena_lab.checks: they hold for the fast paths and still catch real errors."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from hyena_lab import circular_fftconv, direct_conv, fftconv
from hyena_lab.checks import (
    FFT_C,
    direct_conv_error_bound,
    eps,
    fft_rel_bound,
    fftconv_error_bound,
)


def _rand(shape, seed, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def test_fft_bound_grows_like_log_n():
    assert fft_rel_bound(1024, torch.float64) == pytest.approx(FFT_C * 10 * 2.0**-52)
    assert fft_rel_bound(2048, torch.float32) / fft_rel_bound(1024, torch.float32) == 1.1
    assert fft_rel_bound(1, torch.float64) == FFT_C * eps(torch.float64)  # at least one step
    assert eps(torch.bfloat16) == 2.0**-7


@given(st.integers(1, 3000), st.integers(0, 50))
def test_fftconv_stays_within_its_bound_and_the_bound_is_tight_enough(L, seed):
    u, k = _rand((2, L), seed), _rand((2, L), seed + 1)
    bound = fftconv_error_bound(u, k)
    exact = direct_conv(u, k)  # float64 definition; its own error is below direct_conv_error_bound
    assert (fftconv(u, k) - exact).norm() <= bound + direct_conv_error_bound(u, k)
    # ... and the bound is round-off: ~1e-13 of the signal's scale, so a real error is caught
    scale = float(k.abs().sum(-1).max() * u.norm(dim=-1).max())
    assert bound < 1e-11 * scale * max(1.0, math.log2(L))


def test_a_leaking_convolution_breaks_the_bound():
    """The circular (unpadded) FFT lets the end of the filter wrap onto the start: a real error
    of the size of the signal, far above the round-off bound, so the tests would catch it."""
    u, k = _rand((3, 64), 0), _rand((3, 64), 1)
    err = (circular_fftconv(u, k) - direct_conv(u, k)).norm()
    assert err > 1e6 * fftconv_error_bound(u, k)


def test_bounds_scale_with_precision():
    u, k = _rand((2, 100), 2), _rand((2, 100), 3)
    b64 = fftconv_error_bound(u, k)
    b32 = fftconv_error_bound(u.float(), k.float())
    ratio = eps(torch.float32) / eps(torch.float64)
    assert b32 / b64 == pytest.approx(ratio, rel=1e-6)  # the norms of the rounded inputs differ
    y16 = fftconv(u.bfloat16(), k.bfloat16())
    ref = direct_conv(u.bfloat16().double(), k.bfloat16().double())
    assert (y16.double() - ref).norm() <= fftconv_error_bound(u.bfloat16(), k.bfloat16())
    assert direct_conv_error_bound(u.float(), k.float()) > direct_conv_error_bound(u, k)


def test_rel_err_compares_complex_tensors_whole():
    """A difference only in the imaginary parts counts (a cast to float64 would drop it)."""
    import torch

    from hyena_lab.checks import rel_err

    b = torch.tensor([1 + 1j, 2 - 1j], dtype=torch.complex64)
    assert rel_err(b, b) == 0.0
    a = b + torch.tensor([0.1j, 0.0])
    assert abs(rel_err(a, b) - 0.1 / float(b.to(torch.complex128).norm())) < 1e-7


def test_check_scale_and_needs_grad():
    """The kernels' factor check and the forward-only paths' gradient test."""
    from hyena_lab.checks import check_scale, needs_grad

    assert check_scale(2**-8) == 2**-8 and check_scale(3, "h_scale") == 3.0
    for bad in (0, 0.0, float("inf"), float("nan"), True, "1"):
        with pytest.raises(ValueError, match="scale must be a finite non-zero number"):
            check_scale(bad)
    a, b = torch.zeros(2), torch.zeros(2, requires_grad=True)
    assert not needs_grad(a, None) and needs_grad(a, None, b)
    with torch.no_grad():
        assert not needs_grad(b)
