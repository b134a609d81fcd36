"""The FFT convolution as half-precision matrix products with float32 accumulation
(``hyena_lab.monarch_tc``, chapter 06, issue 17 deliverable 2b), against ``fftconv`` in float64.

On a GPU these tests run the cuBLAS products (tensor cores); on a CPU the arithmetic is
emulated (operands rounded to float16/bfloat16, products and sums in float32), which is what the
tensor cores compute up to the order of the sums. The GPU script (``scripts/ch06_monarch_tc.py``)
checks the cuBLAS path up to 1M. Tolerance: ``tc_rel_bound`` (twelve roundings of ``u`` each
through unitary stages, the module docstring), against which random data sits about
``sqrt(12)`` times lower.
"""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hyena_lab import fftconv
from hyena_lab.monarch_tc import TC_DTYPES, fftconv_tc, tc_factors, tc_rel_bound

from .helpers import DEV, randn, rel_err

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py


def _decaying(d: int, L: int, seed: int) -> torch.Tensor:
    """Filters like Hyena's: random taps under an exponential window."""
    t = torch.arange(L, dtype=torch.float64, device=DEV)
    return randn(d, L, seed=seed) * torch.exp(-t / max(L / 4, 1))


@settings(deadline=None, max_examples=30)
@given(L=st.integers(1, 300), d=st.integers(1, 4), batch=st.integers(1, 3),
       with_bias=st.booleans(), dtype=st.sampled_from(TC_DTYPES))  # fmt: skip
def test_equals_fftconv_within_the_half_precision_bound(L, d, batch, with_bias, dtype):
    """Odd lengths, L = 1, non-powers of two: within the first-order bound of float64."""
    u, k = randn(batch, d, L, seed=L), _decaying(d, L, seed=L + 1)
    bias = randn(d, seed=L + 2) if with_bias else None
    got, want = fftconv_tc(u, k, bias, dtype=dtype), fftconv(u, k, bias)
    assert got.shape == want.shape and got.dtype == torch.float64
    assert rel_err(got, want) < tc_rel_bound(dtype)


@pytest.mark.parametrize("L", [1024, 4097])
def test_long_rows_and_a_large_mean_stay_in_float16_range(L):
    """Mean-10 signals: the spectrum's first bin is 10 sqrt(L/2) after the unitary scaling,
    far inside float16's range, and the filters' gain is divided out before the product."""
    u, k = 10 + randn(2, 3, L, seed=5), _decaying(3, L, seed=6) * 50
    got = fftconv_tc(u, k)
    assert torch.isfinite(got).all()
    assert rel_err(got, fftconv(u, k)) < tc_rel_bound(torch.float16)


def test_is_causal():
    """A change at time t0 moves earlier outputs only by round-off (the transforms mix every
    sample), and moves the output at t0 by the change itself."""
    L, t0 = 200, 120
    u, k = randn(1, 2, L, seed=7), _decaying(2, L, seed=8)
    v = u.clone()
    v[..., t0] += 100.0
    before, after = fftconv_tc(u, k), fftconv_tc(v, k)
    noise = tc_rel_bound(torch.float16) * fftconv(v, k).norm()
    assert (after[..., :t0] - before[..., :t0]).norm() < noise
    assert torch.allclose(after[..., t0] - before[..., t0], 100.0 * k[:, 0], rtol=0.05)


def test_half_inputs_and_outputs():
    """float16 and bfloat16 inputs come back in their dtype (computed as above)."""
    u, k = randn(2, 3, 50, seed=9), _decaying(3, 50, seed=10)
    for dt in (torch.float16, torch.bfloat16, torch.float32):
        got = fftconv_tc(u.to(dt), k.to(dt))
        assert got.dtype == dt
        want = fftconv(u.to(dt).double(), k.to(dt).double())
        rounding = torch.finfo(dt).eps  # the output's own rounding, on top of the bound
        assert rel_err(got.double(), want) < tc_rel_bound(torch.float16) + rounding


def test_factors_are_tensor_core_tiles_and_cover_twice_the_length():
    for L in (1, 2, 7, 1000, 4096, 65536, 2**20, 999_983):
        a, b = tc_factors(L)
        assert a % 16 == 0 and b % 16 == 0 and a * b >= 2 * L
        assert a * b < 2 * L + 16 * (a + b) + 256  # at most one tile row and column beyond 2L
    assert tc_factors(2**20) == (1456, 1456)
    with pytest.raises(ValueError, match="positive int"):
        tc_factors(0)


def test_bad_inputs_are_refused():
    u, k = randn(2, 3, 8, seed=11), randn(3, 8, seed=12)
    with pytest.raises(ValueError, match=r"float16 or torch\.bfloat16"):
        fftconv_tc(u, k, dtype=torch.float32)
    with pytest.raises(ValueError, match=r"\(d, L\): one filter per channel"):
        fftconv_tc(u, k.expand(2, 3, 8))
    with pytest.raises(ValueError, match="forward only"):
        fftconv_tc(u, k.clone().requires_grad_())
    with pytest.raises(ValueError, match="filter length must equal the input length"):
        fftconv_tc(u, k[:, :5])
    with pytest.raises(ValueError, match=r"float16 or torch\.bfloat16"):
        tc_rel_bound(torch.float32)
