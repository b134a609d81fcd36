"""The FFT as matrix multiplies: monarch.fft == torch.fft.fft, the four-step identity, the causal
convolution through it == direct_conv, the FLOP counts against a brute-force count, bad inputs."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from hyena_lab import direct_conv, monarch
from hyena_lab import fftconv as torch_fftconv
from hyena_lab.checks import F64_SAME_ALGEBRA, direct_conv_error_bound, eps
from hyena_lab.roofline import Ceilings

pytestmark = pytest.mark.usefixtures("one_thread")

#: The brief's target: the matmul FFT equals torch.fft.fft in complex128 to 1e-12 relative.
#: matmul_fft_rel_bound gives the worst case (~1e-11 for a dense prime N near 1000); random
#: data sits ~sqrt(f) lower, measured ~1e-15, so 1e-12 holds with a margin of ~1000x and a wrong
#: twiddle, permutation or factor changes the result by O(1).
FFT_F64 = F64_SAME_ALGEBRA

PRIMES = [2, 3, 5, 7, 11, 13, 97, 127, 251]


def _complex(shape, seed, dtype=torch.complex128):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=dtype)


def _real(shape, seed, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64).to(dtype)


def crel(a, b):
    """Relative error of complex tensors (checks.rel_err casts to float64, dropping imag)."""
    a, b = a.to(torch.complex128), b.to(torch.complex128)
    return float((a - b).norm() / b.norm())


@st.composite
def factor_tuples(draw):
    """An explicit factor tuple of 1 to 4 ints in [2, 9] (N up to 6561)."""
    return tuple(draw(st.lists(st.integers(2, 9), min_size=1, max_size=4)))


lengths = st.one_of(
    st.integers(1, 300),  # includes 1, primes, odd composites
    st.sampled_from([*PRIMES, 1, 9, 15, 45, 105, 243, 1024, 2**12]),
)
batches = st.lists(st.integers(1, 3), min_size=0, max_size=2)


@given(lengths, batches, st.booleans(), st.integers(0, 99))
def test_fft_equals_torch_fft_default_factors(N, lead, real, seed):
    x = _real((*lead, N), seed) if real else _complex((*lead, N), seed)
    got = monarch.fft(x)
    assert got.dtype == torch.complex128 and got.shape == x.shape
    assert crel(got, torch.fft.fft(x)) < FFT_F64
    assert crel(monarch.ifft(x), torch.fft.ifft(x)) < FFT_F64


@given(factor_tuples(), batches, st.integers(0, 99))
def test_fft_equals_torch_fft_explicit_factors(factors, lead, seed):
    N = math.prod(factors)
    x = _complex((*lead, N), seed)
    assert crel(monarch.fft(x, factors), torch.fft.fft(x)) < FFT_F64
    assert crel(monarch.ifft(x, list(factors)), torch.fft.ifft(x)) < FFT_F64


@pytest.mark.parametrize("N", PRIMES)
def test_prime_is_one_dense_factor(N):
    assert monarch.balanced_factors(N) == (N,)
    x = _complex((N,), N)
    assert crel(monarch.fft(x), monarch.dft_matrix(N) @ x) < FFT_F64


def test_error_stays_under_its_bound_at_larger_sizes():
    """Random data: the worst-case bound holds, and the target 1e-12 with room, up to 2^16."""
    for N, factors in [(997, (997,)), (4096, (64, 64)), (2**16, (16, 16, 16, 16))]:
        x = _complex((2, N), N)
        err = crel(monarch.fft(x, factors), torch.fft.fft(x))
        assert err < min(FFT_F64, monarch.matmul_fft_rel_bound(factors, torch.float64))


def test_fft_of_real_and_half_inputs_promotes():
    x = _real((3, 12), 0, torch.float32)
    assert monarch.fft(x).dtype == torch.complex64
    assert monarch.fft(x.double()).dtype == torch.complex128
    assert monarch.fft(x.bfloat16()).dtype == torch.complex64
    # complex64: within the float32 bound of the (3, 4) factors against the float64 transform
    bound = monarch.matmul_fft_rel_bound((3, 4), torch.float32)
    assert crel(monarch.fft(x), torch.fft.fft(x.double())) < bound


def test_dft_matrix_and_twiddle():
    F = monarch.dft_matrix(6)
    assert F.shape == (6, 6) and F.dtype == torch.complex128
    assert crel(F, torch.fft.fft(torch.eye(6, dtype=torch.complex128), dim=0)) < FFT_F64
    assert torch.allclose(F @ F.conj() / 6, torch.eye(6, dtype=torch.complex128))
    T = monarch.twiddle(2, 3)
    assert torch.allclose(T[1, 2], torch.tensor(complex(math.cos(-2 * math.pi * 2 / 6),
                                                        math.sin(-2 * math.pi * 2 / 6)),
                                                dtype=torch.complex128))  # fmt: skip


@pytest.mark.parametrize("factors", [(2, 3), (3, 2), (4, 4), (2, 3, 5), (2, 2, 2, 2), (7,)])
def test_four_step_matrices_multiply_to_the_dft(factors):
    """F_N = P (I_a (x) F_b) T (F_a (x) I_b), with F_b factored again."""
    N = math.prod(factors)
    mats = monarch.four_step_matrices(N, factors)
    prod = torch.eye(N, dtype=torch.complex128)
    for M in mats:
        prod = M @ prod
    assert crel(prod, monarch.dft_matrix(N)) < FFT_F64
    if len(factors) == 2:  # exactly four factors: F_a (x) I, T, I (x) F_b, P
        a, b = factors
        assert len(mats) == 4
        assert torch.equal(mats[0], torch.kron(monarch.dft_matrix(a), torch.eye(b) + 0j))


def test_balanced_factors():
    assert monarch.balanced_factors(4096) == (64, 64)
    assert monarch.balanced_factors(4096, 3) == (16, 16, 16)
    assert monarch.balanced_factors(12) == (3, 4)
    assert monarch.balanced_factors(1) == ()
    assert monarch.balanced_factors(2 * 97) == (2, 97)
    for N in range(1, 200):
        for parts in (1, 2, 3):
            fs = monarch.balanced_factors(N, parts)
            assert math.prod(fs) == N and all(f > 1 for f in fs) and len(fs) <= parts


# ------------------------------------------------------------------------- causal convolution
conv_shapes = st.tuples(
    st.lists(st.integers(1, 3), min_size=0, max_size=2),  # leading (batch) dims
    st.integers(1, 4),  # channels d
    st.one_of(st.integers(1, 60), st.sampled_from([1, 2, 97, 128, 129])),  # L
)


@given(conv_shapes, st.booleans(), st.booleans(), st.integers(0, 99))
def test_fftconv_equals_fftconv_and_direct_conv_float64(shape, with_bias, batched_k, seed):
    lead, d, L = shape
    u = _real((*lead, d, L), seed)
    k = _real((*lead, d, L) if batched_k else (d, L), seed + 1)
    bias = _real((d,), seed + 2) if with_bias else None
    got = monarch.fftconv(u, k, bias)
    assert got.dtype == torch.float64 and got.shape == torch.broadcast_shapes(u.shape, k.shape)
    # same tolerance as conv's own float64 chain (checks.F64_SAME_ALGEBRA, 1e-12 relative)
    ref = direct_conv(u, k, bias)
    assert crel(got, ref) < FFT_F64
    assert crel(got, torch_fftconv(u, k, bias)) < FFT_F64


def _conv_bound(u, k, bias, factors, dtype):
    """checks.fftconv_error_bound's analysis, ||dy|| <= (2 e + 3 eps)(|k|_1 |u|_2 + |u|_1 |k|_2)
    (+ eps |bias u|), with e the matmul FFT's relative error instead of cuFFT's."""
    e, ep = monarch.matmul_fft_rel_bound(factors, dtype), eps(dtype)
    u64, k64 = u.double(), k.double()
    per_row = (2 * e + 3 * ep) * (k64.abs().sum(-1) * u64.norm(dim=-1)
                                  + u64.abs().sum(-1) * k64.norm(dim=-1))  # fmt: skip
    if bias is not None:
        per_row = per_row + ep * bias.double().abs() * u64.norm(dim=-1)
    return float(per_row.norm())


@given(conv_shapes, st.booleans(), st.integers(0, 99))
def test_fftconv_float32_within_its_error_bound(shape, with_bias, seed):
    lead, d, L = shape
    u, k = _real((*lead, d, L), seed, torch.float32), _real((d, L), seed + 1, torch.float32)
    bias = _real((d,), seed + 2, torch.float32) if with_bias else None
    got = monarch.fftconv(u, k, bias)
    assert got.dtype == torch.float32
    b64 = None if bias is None else bias.double()
    ref = direct_conv(u.double(), k.double(), b64)
    tol = _conv_bound(u, k, bias, monarch.balanced_factors(2 * L), torch.float32)
    tol += direct_conv_error_bound(u.double(), k.double(), b64)  # the reference's own round-off
    assert (got.double() - ref).norm() <= tol


def test_fftconv_explicit_factors_and_half():
    u, k, bias = _real((2, 3, 50), 0), _real((3, 50), 1), _real((3,), 2)
    ref = direct_conv(u, k, bias)
    for factors in [(10, 10), (3, 3, 11), (99,), (2, 2, 2, 2, 2, 2, 2)]:  # n = 2L, >= 2L - 1
        assert crel(monarch.fftconv(u, k, bias, factors), ref) < FFT_F64
    out = monarch.fftconv(u.bfloat16(), k.bfloat16())
    assert out.dtype == torch.bfloat16


def test_fftconv_gradients_match_direct_conv():
    u = _real((2, 3, 20), 0).requires_grad_()
    k = _real((3, 20), 1).requires_grad_()
    w = _real((2, 3, 20), 2)
    (g_u, g_k) = torch.autograd.grad((monarch.fftconv(u, k) * w).sum(), (u, k))
    (r_u, r_k) = torch.autograd.grad((direct_conv(u, k) * w).sum(), (u, k))
    assert crel(g_u, r_u) < FFT_F64 and crel(g_k, r_k) < FFT_F64


def test_first_call_under_inference_mode_does_not_poison_the_cache():
    with torch.inference_mode():
        monarch.fft(torch.randn(35))  # builds the cached (5, 7) matrices
    x = torch.randn(35, requires_grad=True)  # same dtype, so the same cached matrices
    monarch.fft(x).abs().sum().backward()
    assert x.grad is not None


# ----------------------------------------------------------------------------------- bad input
def test_bad_inputs_say_what_was_expected():
    x = torch.randn(12, dtype=torch.float64)
    with pytest.raises(ValueError, match="multiply to 16"):
        monarch.fft(x, (4, 4))
    with pytest.raises(ValueError, match="ints > 1"):
        monarch.fft(x, (1, 12))
    with pytest.raises(TypeError, match="tuple of ints"):
        monarch.fft(x, 12)
    with pytest.raises(TypeError, match="floating-point or complex"):
        monarch.fft(torch.arange(4))
    with pytest.raises(ValueError, match="length >= 1"):
        monarch.fft(torch.zeros(3, 0))
    with pytest.raises(TypeError, match="complex64 or torch"):
        monarch.dft_matrix(4, torch.float64)
    u, k = torch.randn(2, 3, 10), torch.randn(3, 10)
    with pytest.raises(ValueError, match="at least 2L - 1 = 19"):
        monarch.fftconv(u, k, factors=(3, 6))
    with pytest.raises(ValueError, match="filter length must equal"):  # fftconv's own errors
        monarch.fftconv(u, torch.randn(3, 9))
    with pytest.raises(ValueError, match="bias must have shape"):
        monarch.fftconv(u, k, torch.randn(2))


# --------------------------------------------------------------------------------- counted work
def _brute_force_flops(N, factors):
    """Count the real FLOPs of applying the explicit factor matrices one by one: a permutation is
    free, a diagonal is one complex multiply (6) per entry, any other matrix one complex
    multiply-add (8) per nonzero entry."""
    total = 0
    for M in monarch.four_step_matrices(N, factors):
        nz = M != 0
        if bool((nz.sum(1) == 1).all()) and bool(((M == 1) | ~nz).all()):
            continue  # a permutation
        if bool(torch.equal(nz, torch.diag(torch.diagonal(nz)))):
            total += 6 * int(nz.sum())
        else:
            total += 8 * int(nz.sum())
    return total


@pytest.mark.parametrize("factors", [(5,), (2, 3), (4, 4), (2, 3, 5), (2, 2, 2, 2), (3, 4, 2)])
def test_flop_count_matches_brute_force(factors):
    N = math.prod(factors)
    assert monarch.fft_flops(N, factors) == _brute_force_flops(N, factors)
    if len(factors) == 1:
        assert monarch.fft_flops(N, factors) == monarch.dense_dft_flops(N)


@given(st.integers(2, 2**16))
def test_factored_count_is_n_times_sum_of_factors(N):
    fs = monarch.balanced_factors(N)
    flops = monarch.fft_flops(N, fs)
    assert 8 * N * sum(fs) <= flops <= 14 * N * sum(fs)  # O(N sum f), twiddles included
    assert flops <= monarch.dense_dft_flops(N)


def test_cost_model_predicts_where_matmul_ffts_win():
    c = Ceilings(bandwidth=3e12, matmul_flops=800e12, fp32_flops=50e12)
    N = 4096
    m = monarch.matmul_fft_cost(N, (16, 16, 16), rows=2)
    assert m.matmul_flops == 2 * 8 * N * 48 and m.flops == 2 * monarch.fft_flops(N, (16, 16, 16))
    assert monarch.radix2_fft_cost(N).flops == 5 * N * 12
    # three factors of 16 on tensor cores beat radix-2 on fp32 units on compute; one dense factor
    # of 4096 does not (8 N^2 / 800e12 vs 5 N log2 N / 50e12)
    assert monarch.matmul_fft_speedup(N, (16, 16, 16), c, compute_only=True) > 1
    assert monarch.matmul_fft_speedup(N, (N,), c, compute_only=True) < 1
    # both move the same bytes, so at the memory-bound roofline neither is slower
    assert monarch.matmul_fft_speedup(N, (16, 16, 16), c) == pytest.approx(1.0)
