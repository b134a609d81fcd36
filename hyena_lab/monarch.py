"""The FFT as matrix multiplies: the four-step (Cooley-Tukey) factorisation behind Monarch.

The DFT of length ``N`` is the dense matrix ``F_N[j, k] = w_N^(j k)``, ``w_N = exp(-2 pi i / N)``:
``8 N^2`` real FLOPs. For ``N = a b`` it factors into small dense DFTs, a diagonal and a
permutation (Cooley & Tukey 1965; the "four-step" FFT of Bailey 1990)::

    F_N = P (I_a (x) F_b) T (F_a (x) I_b)                                         (four-step)

Index convention (``(x)`` is ``torch.kron``, vectors are read row-major, ``x[n1 b + n2]``):
input ``n = b n1 + n2`` and output ``k = k1 + a k2`` with ``n1, k1 < a`` and ``n2, k2 < b``.
Because ``w_N^((b n1 + n2)(k1 + a k2)) = w_a^(n1 k1) w_N^(n2 k1) w_b^(n2 k2)``,

    X[k1 + a k2] = sum_n2 w_b^(n2 k2) [ w_N^(k1 n2) ( sum_n1 w_a^(n1 k1) x[b n1 + n2] ) ]

read right to left: ``F_a (x) I_b`` runs ``b`` DFTs of size ``a`` down the columns of ``x``
reshaped to ``(a, b)``, ``T = diag(w_N^(k1 n2))`` multiplies by the twiddle factors,
``I_a (x) F_b`` runs ``a`` DFTs of size ``b`` along the rows, and ``P`` (a transpose) moves
entry ``(k1, k2)`` to ``k1 + a k2``. Factoring ``F_b`` again gives the three-factor and, by
recursion, any ``k``-factor form, ``8 N (f_1 + ... + f_k) + 6 N (k - 1)`` FLOPs. Products of
block-diagonal matrices and permutations like this one are the Monarch matrices of Dao et al.
2022 (ICML, "Monarch: expressive structured matrices"); FlashFFTConv (Fu et al. 2023, arXiv
2311.05908) runs them as tensor-core matrix products for the long convolutions of Hyena (paper
Sec. 2.1, 3.4). Here everything is plain ``torch.matmul``, with no ``torch.fft`` inside.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import torch

from .checks import check_positive_int, check_tensor, eps
from .conv import _add_skip, _check_conv_args
from .roofline import Ceilings, Cost
from .roofline import fft_flops as _radix2_flops

__all__ = [
    "balanced_factors", "dense_dft_flops", "dft_matrix", "fft", "fft_flops", "fftconv",
    "four_step_matrices", "ifft", "matmul_fft_cost", "matmul_fft_rel_bound", "matmul_fft_speedup",
    "radix2_fft_cost", "twiddle",
]  # fmt: skip

_COMPLEX = (torch.complex64, torch.complex128)


def _check_complex_dtype(dtype: torch.dtype) -> None:
    if dtype not in _COMPLEX:
        raise TypeError(f"dtype must be torch.complex64 or torch.complex128, got {dtype}")


def _roots(exponent: torch.Tensor, N: int, dtype: torch.dtype) -> torch.Tensor:
    """``w_N^exponent`` for integer exponents, reduced mod ``N`` first so that the angle is exact
    to float64 round-off whatever the size of ``j k``."""
    angle = (-2 * math.pi / N) * torch.remainder(exponent, N).to(torch.float64)
    return torch.polar(torch.ones_like(angle), angle).to(dtype)


def dft_matrix(
    N: int, dtype: torch.dtype = torch.complex128, device: torch.device | str | None = None
) -> torch.Tensor:
    """The DFT matrix ``F_N[j, k] = exp(-2 pi i j k / N)``, ``(N, N)``, so that ``F_N @ x`` is
    ``torch.fft.fft(x)`` for a vector ``x``. Symmetric; ``F_N^-1 = conj(F_N) / N``."""
    check_positive_int(N, "N")
    _check_complex_dtype(dtype)
    j = torch.arange(N, device=device)
    return _roots(j[:, None] * j[None, :], N, dtype)


def twiddle(
    a: int, b: int, dtype: torch.dtype = torch.complex128, device: torch.device | str | None = None
) -> torch.Tensor:
    """The twiddle factors of the four-step FFT for ``N = a b``: ``T[k1, n2] = w_N^(k1 n2)``,
    ``(a, b)`` (the diagonal of ``T`` read row-major)."""
    check_positive_int(a, "a")
    check_positive_int(b, "b")
    _check_complex_dtype(dtype)
    k1, n2 = torch.arange(a, device=device), torch.arange(b, device=device)
    return _roots(k1[:, None] * n2[None, :], a * b, dtype)


# Cached constants, built outside inference mode so that a first call under
# torch.inference_mode() does not leave tensors that autograd later refuses to save.
@lru_cache(maxsize=64)
def _dense(n: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    with torch.inference_mode(False):
        return dft_matrix(n, dtype, device)


@lru_cache(maxsize=64)
def _twiddle(a: int, b: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    with torch.inference_mode(False):
        return twiddle(a, b, dtype, device)


def balanced_factors(N: int, parts: int = 2) -> tuple[int, ...]:
    """Up to ``parts`` factors ``> 1`` of ``N`` (ascending, product ``N``), each first factor the
    largest divisor ``<= N^(1/parts)``: ``(64, 64)`` for 4096, ``(16, 16, 16)`` with ``parts=3``.
    A prime gives ``(N,)`` (one dense DFT), ``N = 1`` gives ``()``."""
    check_positive_int(N, "N")
    check_positive_int(parts, "parts")
    if N == 1:
        return ()
    if parts == 1:
        return (N,)
    root = N ** (1.0 / parts)
    first = max((d for d in range(2, int(root + 1e-9) + 1) if N % d == 0), default=1)
    if first == 1:
        return (N,)
    return tuple(sorted((first, *balanced_factors(N // first, parts - 1))))


def _factor_tuple(factors: object) -> tuple[int, ...]:
    """``factors`` as a tuple of ints ``> 1`` (``TypeError`` / ``ValueError`` otherwise)."""
    if not isinstance(factors, Sequence) or isinstance(factors, str):
        raise TypeError(f"factors must be a tuple of ints > 1, got {type(factors).__name__}")
    fs = tuple(factors)
    bad = [f for f in fs if isinstance(f, bool) or not isinstance(f, int) or f < 2]
    if bad:
        raise ValueError(f"factors must be ints > 1, got {fs} (bad: {bad})")
    return fs


def _check_factors(N: int, factors: Sequence[int] | None, what: str) -> tuple[int, ...]:
    """``factors`` checked against ``N`` (``what`` names it), or the balanced default."""
    if factors is None:
        return balanced_factors(N)
    fs = _factor_tuple(factors)
    if math.prod(fs) != N:
        raise ValueError(
            f"factors {fs} multiply to {math.prod(fs)}, but {what} is N={N}; give factors "
            f"whose product is {N}, e.g. {balanced_factors(N)}"
        )
    return fs


def _as_complex(x: object) -> torch.Tensor:
    """``x`` as complex64/complex128 (real inputs promoted; half precision computed in 64)."""
    x = check_tensor(x, "x")
    if x.dtype in _COMPLEX:
        out = x
    elif x.dtype == torch.complex32 or x.dtype in (torch.float16, torch.bfloat16):
        out = x.to(torch.complex64)
    elif x.dtype in (torch.float32, torch.float64):
        out = x.to(torch.complex64 if x.dtype == torch.float32 else torch.complex128)
    else:
        raise TypeError(f"x must be a floating-point or complex tensor, got dtype {x.dtype}")
    if out.ndim == 0 or out.shape[-1] == 0:
        raise ValueError(f"x must have a last axis of length >= 1, got shape {tuple(x.shape)}")
    return out


def _four_step(x: torch.Tensor, factors: tuple[int, ...]) -> torch.Tensor:
    """DFT along the last axis of complex ``x`` (..., N), ``N = prod(factors)``."""
    N = x.shape[-1]
    if N == 1:
        return x
    if len(factors) == 1:  # one dense factor: (..., N) @ F_N (symmetric)
        return x @ _dense(N, x.dtype, x.device)
    a, b = factors[0], N // factors[0]
    X = x.reshape(*x.shape[:-1], a, b)  # X[n1, n2] = x[b n1 + n2]
    X = _dense(a, x.dtype, x.device) @ X  # (F_a (x) I_b): (..., a, b), index (k1, n2)
    X = X * _twiddle(a, b, x.dtype, x.device)  # T: times w_N^(k1 n2)
    X = _four_step(X, factors[1:])  # (I_a (x) F_b): (..., a, b), index (k1, k2)
    return X.transpose(-1, -2).reshape(x.shape)  # P: (k1, k2) -> k1 + a k2


def fft(x: torch.Tensor, factors: Sequence[int] | None = None) -> torch.Tensor:
    """The DFT along the last axis through matrix products only, ``== torch.fft.fft(x)``.

    ``F_N = P (I_a (x) F_b) T (F_a (x) I_b)`` with ``N = a b`` (module docstring), applied with
    ``a = factors[0]`` and ``F_b`` factored again by ``factors[1:]``; one factor is one dense
    ``F_N`` (a prime ``N``). Differentiable (plain matmuls).

    Args:
        x: ``(..., N)``, real (promoted to complex) or complex; float16/bfloat16 computed in
            complex64.
        factors: ints ``> 1`` whose product is ``N`` (``ValueError`` otherwise, naming the
            product found); ``None``: :func:`balanced_factors` ``(N)``, the two nearest sqrt(N).

    Returns:
        ``(..., N)`` complex64 (float32/half/complex64 inputs) or complex128.
    """
    x = _as_complex(x)
    return _four_step(x, _check_factors(x.shape[-1], factors, "the length of x's last axis"))


def ifft(x: torch.Tensor, factors: Sequence[int] | None = None) -> torch.Tensor:
    """The inverse DFT along the last axis, ``conj(fft(conj(x))) / N`` ``== torch.fft.ifft(x)``."""
    x = _as_complex(x)
    return fft(x.conj(), factors).conj() / x.shape[-1]


def fftconv(
    u: torch.Tensor,
    k: torch.Tensor,
    bias: torch.Tensor | None = None,
    factors: Sequence[int] | None = None,
) -> torch.Tensor:
    """The causal convolution of :func:`hyena_lab.fftconv` (same contract, shapes and errors),
    ``y[t] = sum_{s<=t} k[t-s] u[s] + bias * u[t]``, with :func:`fft` / :func:`ifft`.

    ``u`` and ``k`` are zero-padded to ``n = 2L`` (or ``n = prod(factors)``, which must be
    ``>= 2L - 1``, the length of the linear convolution, so that nothing wraps onto the first
    ``L`` outputs) and ``y = ifft(fft(u) fft(k)).real[..., :L]``. Half-precision inputs are
    computed in float32 and cast back; float32 gives float32, float64 gives float64. Round-off:
    ``fftconv_error_bound``'s analysis with :func:`matmul_fft_rel_bound` as the error of one FFT.
    """
    u, k, bias, dtype = _check_conv_args(u, k, bias)
    L = u.shape[-1]
    if factors is None:
        n = 2 * L
        fs = balanced_factors(n)
    else:
        fs = _factor_tuple(factors)
        n = math.prod(fs)
        if n < 2 * L - 1:
            raise ValueError(
                f"factors {fs} give an FFT size of {n}, but a causal convolution of length L={L} "
                f"needs at least 2L - 1 = {2 * L - 1} (else the tail wraps onto the first outputs)"
            )
    compute = torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype
    u_c, k_c = u.to(compute), k.to(compute)
    u_f = fft(torch.nn.functional.pad(u_c, (0, n - L)), fs)  # (..., d, n)
    k_f = fft(torch.nn.functional.pad(k_c, (0, n - L)), fs)  # (d, n) or (..., d, n)
    y = ifft(u_f * k_f, fs).real[..., :L]  # (..., d, L)
    return _add_skip(y, u_c, None if bias is None else bias.to(compute)).to(dtype)


def matmul_fft_rel_bound(factors: Sequence[int], dtype: torch.dtype) -> float:
    """First-order bound on ``||fft(x) - F x||_2 / ||F x||_2`` in the real dtype ``dtype``.

    A dense size-``f`` stage computes each output as a complex inner product of length ``f``
    with entries of modulus 1, each rounded within ``2 eps``: error ``<= c_f ||z||_1`` with
    ``c_f = sqrt(2) gamma_(f+2) + 2 eps`` (Higham, *Accuracy and Stability*, Sec. 3.6), so over
    the ``f`` outputs ``<= sqrt(f) c_f`` relative to ``||F_f z|| = sqrt(f) ||z||``; each twiddle
    product adds ``sqrt(2) gamma_2 + 2 eps``. The stages are unitary up to scale, so relative
    errors add: ``sum_i sqrt(f_i) c_(f_i) + (k - 1)(sqrt(2) gamma_2 + 2 eps)``. Worst case:
    random data sits ~sqrt(f) below it.
    """
    e = eps(dtype)

    def gamma(m: int) -> float:
        return m * e / (1 - m * e)

    per_stage = sum(math.sqrt(f) * (math.sqrt(2) * gamma(f + 2) + 2 * e) for f in factors)
    return per_stage + max(0, len(factors) - 1) * (math.sqrt(2) * gamma(2) + 2 * e)


# ------------------------------------------------------------------------ counted work (no clock)
# Convention: one complex multiply-add (4 real multiplies, 4 real adds) is 8 real FLOPs, so a
# complex matrix product counts as its 4 real GEMMs at 2 FLOPs per multiply-add, the convention
# of the tensor-core rates in ``roofline`` (``2 n^3`` per ``n x n x n`` product); a complex
# multiply alone (the twiddles) is 6. Every twiddle is counted, also those equal to 1.


def dense_dft_flops(N: int) -> float:
    """Real FLOPs of ``F_N @ x``: ``N^2`` complex multiply-adds, ``8 N^2``."""
    return 8.0 * check_positive_int(N, "N") ** 2


def fft_flops(N: int, factors: Sequence[int] | None = None) -> float:
    """Real FLOPs of :func:`fft` with ``factors``: ``8 N sum(f_i) + 6 N (k - 1)`` (a dense stage
    of size ``f`` is ``N / f`` DFTs of ``f^2`` multiply-adds; ``k - 1`` twiddle diagonals).
    One factor gives :func:`dense_dft_flops`; the radix-2 FFT is ``5 N log2 N``
    (:func:`hyena_lab.roofline.fft_flops`)."""
    fs = _check_factors(check_positive_int(N, "N"), factors, "N")
    return 8.0 * N * sum(fs) + 6.0 * N * max(0, len(fs) - 1)


def four_step_matrices(N: int, factors: Sequence[int] | None = None) -> list[torch.Tensor]:
    """The sparse factors of ``F_N`` as dense ``(N, N)`` complex128 matrices, in the order they
    are applied (``M[-1] @ ... @ M[0] == dft_matrix(N)``): ``F_a (x) I_b``, ``T``, the factors of
    ``I_a (x) F_b`` (recursively), ``P``. For teaching and checking, small ``N`` (<= 1024)."""
    fs = _check_factors(check_positive_int(N, "N"), factors, "N")
    if N > 1024:
        raise ValueError(f"four_step_matrices builds dense (N, N) matrices: N <= 1024, got {N}")
    if len(fs) <= 1:
        return [dft_matrix(N)]
    a, b = fs[0], N // fs[0]
    eye_a, eye_b = torch.eye(a, dtype=torch.complex128), torch.eye(b, dtype=torch.complex128)
    P = torch.zeros(N, N, dtype=torch.complex128)
    k1, k2 = torch.meshgrid(torch.arange(a), torch.arange(b), indexing="ij")
    P[(k1 + a * k2).flatten(), (k1 * b + k2).flatten()] = 1  # (k1, k2) -> k1 + a k2
    inner = [torch.kron(eye_a, M) for M in four_step_matrices(b, fs[1:])]
    return [torch.kron(dft_matrix(a), eye_b), torch.diag(twiddle(a, b).flatten()), *inner, P]


def matmul_fft_cost(
    N: int, factors: Sequence[int] | None = None, *, rows: int = 1, elt_bytes: int = 2
) -> Cost:
    """:class:`~hyena_lab.roofline.Cost` of ``rows`` matmul FFTs of length ``N``: the dense
    stages (``8 N sum f``) on matrix units, the twiddles on the ordinary units; bytes: a complex
    input read and a complex output written once (2 components of ``elt_bytes`` each), i.e. a
    kernel that keeps the intermediate stages on chip."""
    fs = _check_factors(check_positive_int(N, "N"), factors, "N")
    rows = check_positive_int(rows, "rows")
    nbytes = 4.0 * rows * N * check_positive_int(elt_bytes, "elt_bytes")
    return Cost(rows * fft_flops(N, fs), nbytes, rows * 8.0 * N * sum(fs))


def radix2_fft_cost(N: int, *, rows: int = 1, elt_bytes: int = 2) -> Cost:
    """The same for a radix-2 FFT (cuFFT-like, ``5 N log2 N`` on the ordinary units)."""
    rows = check_positive_int(rows, "rows")
    nbytes = 4.0 * rows * N * check_positive_int(elt_bytes, "elt_bytes")
    return Cost(rows * _radix2_flops(N, real=False), nbytes)


def matmul_fft_speedup(
    N: int, factors: Sequence[int] | None, ceilings: Ceilings, *, compute_only: bool = False
) -> float:
    """Predicted ``t(radix-2 FFT) / t(matmul FFT)`` from their roofline floors on ``ceilings``
    (``> 1``: the matrix-product form wins). ``compute_only``: compare the compute floors only
    (what is left once both are fused so well that bytes no longer bound them). Rates: measure
    them (:func:`hyena_lab.roofline.measure_ceilings`) or read a record, e.g. the H100's in
    ``figures/data/05_gpu_kernels-bench.json`` (``Ceilings.from_dict(record["ceilings"])``).
    An upper bound: small DFT matrices (``f`` of 16-64) do not reach the large-GEMM rate."""
    floor = ceilings.compute_floor if compute_only else ceilings.floor
    return floor(radix2_fft_cost(N)) / floor(matmul_fft_cost(N, factors))
