"""Chapter 6's exercises (the FFT as matrix multiplies, the kernel side of Sec. 4.4; FlashFFTConv):
the DFT matrix from its definition, the four-step FFT ``F_N = P (I_a (x) F_b) T (F_a (x) I_b)``
with small dense DFTs, its FLOP count, and the Monarch blocks of ``F_N`` (then learning them)."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence

import torch

from .. import monarch
from ..checks import rel_err
from ..monarch import dft_matrix, fft_flops, twiddle
from ..monarch_blocks import dft_blocks, diagonal_gauge, monarch_matrix
from .feedback import EXACT, FLOAT32_ROUNDOFF, Case, Exercise, Wrong, checker, need_callable, seeded

#: Relative Frobenius error of *learned* blocks' product against ``F_N`` that counts as learned:
#: gradient descent stops at an optimiser-dependent floor, not at round-off (the chapter's
#: ``fit_dft_blocks`` reaches ~1e-6 in 300 Adam steps); 1e-4 accepts any reasonable run, while
#: blocks that did not learn the DFT (a local fit, too few steps) sit at 1e-2 or more.
LEARNED_TOLERANCE = 1e-4


#: Relative error of complex (or real) tensors: :func:`hyena_lab.checks.rel_err` (kept as a
#: name: the chapter and its tests call it ``crel``).
crel = rel_err


def _same(a: torch.Tensor, b: torch.Tensor, tol: float = EXACT) -> bool:
    return tuple(a.shape) == tuple(b.shape) and crel(a, b) <= tol


def _complex_answer(case: Case, y: object, shape: tuple[int, ...], what: str) -> torch.Tensor:
    """``y`` checked to be a finite complex128 tensor of ``shape``."""
    if not isinstance(y, torch.Tensor):
        raise case.fail(f"{what} must be a torch.Tensor, got {type(y).__name__}")
    if not y.is_complex():
        raise case.fail(f"{what} is real ({y.dtype}); the DFT is complex: use torch.complex128")
    if y.dtype != torch.complex128:
        raise case.fail(
            f"{what} is {y.dtype} (float32 parts): build it in torch.complex128; float32 "
            f"round-off (~1e-7) is far above the 1e-12 this chapter compares at"
        )
    if (got := tuple(y.shape)) != shape:
        raise case.fail(f"{what} has shape {got}, expected {shape}")
    if not torch.isfinite(y).all():
        raise case.fail(f"{what} holds NaN or inf")
    return y.detach()


def _mismatch(case: Case, y: torch.Tensor, ref: torch.Tensor) -> Wrong:
    err = crel(y, ref)
    if err < FLOAT32_ROUNDOFF:
        return case.fail(f"close but not exact: relative error {err:.1e} > {EXACT:.0e}, the size "
                         "of float32 round-off; compute in complex128 throughout")  # fmt: skip
    return case.fail(f"wrong values: relative error {err:.2g} against torch.fft.fft")


# ----------------------------------------------------------------------- 1. the DFT matrix
def solution_dft_matrix(N: int) -> torch.Tensor:
    """``F_N[j, k] = w_N^(j k)``, ``w_N = exp(-2 pi i / N)``, ``(N, N)`` complex128: column ``k``
    is ``F_N e_k``, so ``F_N @ x == torch.fft.fft(x)``. ``j k`` is reduced mod ``N`` first, which
    keeps the angle small and exact (``w_N^N = 1``)."""
    n = torch.arange(N)
    angle = (-2 * math.pi / N) * (torch.outer(n, n) % N).to(torch.float64)  # (N, N)
    return torch.polar(torch.ones_like(angle), angle)  # cos + i sin, complex128


@checker("fn(N) -> F")
def check_dft_matrix(fn: Callable[[int], torch.Tensor]) -> str:
    """Check ``fn(N)`` against ``torch.fft.fft`` of the identity's columns."""
    for N in (8, 5, 12, 97, 2, 1):
        case = Case(f"N={N}")
        F = _complex_answer(case, case.call(fn, N), (N, N), "F")
        ref = torch.fft.fft(torch.eye(N, dtype=torch.complex128), dim=0)  # column k: fft(e_k)
        if _same(F, ref):
            continue
        case.diagnose({
            "the sign of the exponent: F[j, k] = exp(-2 pi i j k / N), torch.fft.fft's "
            "convention (exp(+...) is N times the inverse DFT)": _same(F, ref.conj()),
            "no 1/N in front: torch.fft.fft is unnormalised (the 1/N belongs to the inverse)":
                _same(F * N, ref),
            "no 1/sqrt(N) in front: torch.fft.fft is unnormalised (norm='backward')":
                _same(F * math.sqrt(N), ref),
            "the indices start at 0: F[0, k] = F[j, 0] = 1": N > 1 and not _same(F[0], ref[0]),
        })  # fmt: skip
        raise _mismatch(case, F, ref)
    return "F @ x == torch.fft.fft(x) for N = 1, 2, 5, 8, 12, 97: the DFT is a dense matrix"


# ----------------------------------------------------------------- 2. the four-step product
def solution_four_step_fft(x: torch.Tensor, a: int, b: int) -> torch.Tensor:
    """The DFT of ``x`` ``(..., N)``, ``N = a b``, as ``P (I_a (x) F_b) T (F_a (x) I_b) x``: read
    ``x[b n1 + n2]`` as ``X[n1, n2]`` ``(a, b)``, DFTs of size ``a`` down the columns, times the
    twiddles ``w_N^(k1 n2)``, DFTs of size ``b`` along the rows, then ``(k1, k2) -> k1 + a k2``."""
    F_a, F_b, T = dft_matrix(a), dft_matrix(b), twiddle(a, b)  # (a, a), (b, b), (a, b)
    X = x.to(torch.complex128).reshape(*x.shape[:-1], a, b)  # X[n1, n2] = x[b n1 + n2]
    X = F_a @ X  # F_a (x) I_b: (..., a, b), index (k1, n2)
    X = X * T  # T: times w_N^(k1 n2)
    X = X @ F_b  # I_a (x) F_b (F_b is symmetric): (..., a, b), index (k1, k2)
    return X.transpose(-1, -2).reshape(x.shape)  # P: (k1, k2) -> k1 + a k2


def _four_step_variant(
    x: torch.Tensor, a: int, b: int, T: torch.Tensor | None, permute: bool = True
) -> torch.Tensor:
    """The four-step product with the twiddle array ``T`` ``(a, b)`` (``None``: left out) and
    with or without the final permutation: the typical mistakes, to recognise them."""
    X = dft_matrix(a) @ x.reshape(*x.shape[:-1], a, b)
    X = (X if T is None else X * T) @ dft_matrix(b)
    return (X.transpose(-1, -2) if permute else X).reshape(x.shape)


@contextlib.contextmanager
def _library_ffts_off() -> Iterator[None]:
    """While the student's function runs, ``torch.fft``'s transforms and ``monarch.fft`` raise:
    the exercise is to build the FFT from small matrices."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError(
            "torch.fft and monarch.fft are off during this check: build the transform from "
            "dft_matrix / twiddle (or your own) and matrix products"
        )

    targets = [(torch.fft, n) for n in ("fft", "ifft", "fftn", "rfft", "hfft")]
    targets.append((monarch, "fft"))
    saved = [(mod, name, getattr(mod, name)) for mod, name in targets]
    for mod, name, _ in saved:
        setattr(mod, name, refuse)
    try:
        yield
    finally:
        for mod, name, original in saved:
            setattr(mod, name, original)


@checker("fn(x, a, b) -> X")
def check_four_step_fft(fn: Callable[[torch.Tensor, int, int], torch.Tensor]) -> str:
    """Check ``fn(x, a, b)`` against ``torch.fft.fft(x)`` for ``a != b`` (where a transposed
    twiddle shows) and ``a == b``, one batched input, with the library FFTs switched off."""
    for a, b, lead in ((3, 4, ()), (2, 8, ()), (5, 7, (2,)), (4, 4, ())):
        N = a * b
        g = seeded(600 + N)
        x = torch.randn(*lead, N, generator=g, dtype=torch.complex128)
        case = Case(f"a={a}, b={b}, x of shape {tuple(x.shape)}")
        with _library_ffts_off():
            y = case.call(fn, x, a, b)
        y = _complex_answer(case, y, tuple(x.shape), "X")
        ref = torch.fft.fft(x)
        if _same(y, ref):
            continue
        T = twiddle(a, b)
        case.diagnose({
            "the output is still in (k1, k2) row-major order: apply P, "
            "X.transpose(-1, -2).reshape(...), so that entry (k1, k2) lands at k1 + a k2":
                _same(y, _four_step_variant(x, a, b, T, permute=False)),
            "the twiddles are transposed: T[k1, n2] = w_N^(k1 n2) has the a output frequencies "
            "k1 of the first stage as rows and the b inputs n2 as columns (twiddle(a, b), "
            "diagonal entry b k1 + n2)": _same(y, _four_step_variant(x, a, b, T.mT.reshape(a, b))),
            "the twiddle factors are missing: multiply by T[k1, n2] = w_N^(k1 n2) between "
            "the two stages": _same(y, _four_step_variant(x, a, b, None)),
            "the twiddles have the wrong sign: w_N = exp(-2 pi i / N)":
                _same(y, _four_step_variant(x, a, b, T.conj())),
            "the sign of the exponent: this is N times the inverse DFT (use exp(-2 pi i ...))":
                _same(y, N * torch.fft.ifft(x)),
        })  # fmt: skip
        raise _mismatch(case, y, ref)
    return (
        "P (I_a (x) F_b) T (F_a (x) I_b) x == torch.fft.fft(x) for (a, b) = (3, 4), (2, 8), "
        "(5, 7) batched, (4, 4), without torch.fft: the FFT is matrix products"
    )


# ---------------------------------------------------------------------------- 3. its FLOPs
def solution_four_step_flops(factors: Sequence[int]) -> float:
    """Real FLOPs of the ``k``-factor form for ``N = prod(factors)``: stage ``i`` runs
    ``N / f_i`` dense DFTs of ``f_i^2`` complex multiply-adds (8 real FLOPs each), so
    ``8 N f_i``; the ``k - 1`` twiddle diagonals cost one complex multiply (6) per entry."""
    N = math.prod(factors)
    return 8.0 * N * sum(factors) + 6.0 * N * (len(factors) - 1)


@checker("fn(factors) -> flops")
def check_four_step_flops(fn: Callable[[Sequence[int]], float]) -> str:
    """Check ``fn(factors)`` against :func:`hyena_lab.monarch.fft_flops` (counted the same way as
    the matrices of :func:`~hyena_lab.monarch.four_step_matrices`, tested)."""
    for fs in ((64, 64), (16, 16, 16), (3, 5, 7), (97,), (2,) * 10):
        case = Case(f"factors={fs}")
        got = case.number(case.call(fn, fs), "a number of FLOPs")
        N, k, s = math.prod(fs), len(fs), sum(fs)
        ref = fft_flops(N, fs)
        if math.isclose(got, ref, rel_tol=1e-12):  # integers below 2^53: exact in float64
            continue
        case.diagnose({
            "add the twiddles: k - 1 diagonals of N complex multiplies, 6 real FLOPs each":
                k > 1 and math.isclose(got, 8 * N * s),
            "a twiddle is a complex multiply without an add: 6 real FLOPs (4 multiplies, "
            "2 adds), not 8": k > 1 and math.isclose(got, 8 * N * s + 8 * N * (k - 1)),
            "k factors need k - 1 twiddle diagonals, one between consecutive stages":
                math.isclose(got, 8 * N * s + 6 * N * k),
            "that is the dense F_N (8 N^2); stage i runs N / f_i DFTs of size f_i, i.e. "
            "N f_i complex multiply-adds": k > 1 and math.isclose(got, 8 * N * N),
            "a complex multiply-add is 8 real FLOPs (4 multiplies, 4 adds)": got < 8 * N * s,
            f"returned {got:.6g}, expected {ref:.6g} = 8 N (f_1 + ... + f_k) + 6 N (k - 1)": True,
        })  # fmt: skip
    radix2 = fft_flops(1024, (2,) * 10) / (5 * 1024 * 10)
    return (
        "8 N sum(f) + 6 N (k - 1) on 5 factorisations; ten factors of 2 count "
        f"{radix2:.1f}x the radix-2 5 N log2 N, which skips the multiplies by +-1 and by 1"
    )


# -------------------------------------------------------------------- 4. the Monarch blocks
def solution_monarch_blocks(a: int, b: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The blocks of ``F_N = P L P^T R P`` (``N = a b``): ``R`` ``(b, a, a)``, every block
    ``F_a`` (the first stage); ``L`` ``(a, b, b)``, block ``k1`` is ``F_b diag(T[k1, :])``: the
    twiddles of row ``k1`` merged into the DFT of that row, column ``n2`` scaled by
    ``w_N^(k1 n2)``."""
    T = twiddle(a, b)  # (a, b)
    L = dft_matrix(b)[None, :, :] * T[:, None, :]  # (a, b, b): L[k1][:, n2] = F_b[:, n2] T[k1, n2]
    R = dft_matrix(a).repeat(b, 1, 1)  # (b, a, a)
    return L, R


def _check_learned(fit: Callable[[int, int], tuple]) -> str:
    """Run the student's ``fit(4, 4) -> (L, R)`` and check the learned product."""
    need_callable(fit, "fit(a, b) -> (L, R)")
    a = b = 4
    case = Case(f"your learned blocks, fit({a}, {b})")
    L, R = case.pair(case.call(fit, a, b), "(L, R)", who="fit")
    L = _complex_answer(case, L, (a, b, b), "L")
    R = _complex_answer(case, R, (b, a, a), "R")
    err = crel(monarch_matrix(L, R), dft_matrix(a * b))
    L_dft, R_dft = dft_blocks(a, b)
    if _same(L, L_dft, 1e-10) and _same(R, R_dft, 1e-10):
        raise case.fail("these are the exact blocks, not learned ones: start from random blocks "
                        "and let gradient descent find them")  # fmt: skip
    if err > LEARNED_TOLERANCE:
        raise case.fail(f"the product of your learned blocks is {err:.2g} away from F_{a * b} "
                        f"(relative); train longer or lower the learning rate (< "
                        f"{LEARNED_TOLERANCE:.0e} needed)")  # fmt: skip
    _, off = diagonal_gauge(R, R_dft)
    return (
        f"; and your learned blocks give F_{a * b} to {err:.1e} relative, their R blocks being "
        f"F_{a} up to a diagonal rescaling (off-diagonal part {off:.1e})"
    )


@checker("fn(a, b) -> (L, R)")
def check_monarch_blocks(
    fn: Callable[[int, int], tuple], fit: Callable[[int, int], tuple] | None = None
) -> str:
    """Check ``fn(a, b) -> (L, R)``: ``P L P^T R P == F_N`` (any valid blocks pass, also a
    rescaled pair); with ``fit`` (the open part: ``fit(a, b) -> (L, R)`` learned from random
    blocks by gradient descent), also that the learned product reaches ``F_16``."""
    for a, b in ((3, 4), (2, 8), (5, 3), (4, 4)):
        N = a * b
        case = Case(f"a={a}, b={b}")
        L, R = case.pair(case.call(fn, a, b), "(L, R)")
        swapped = isinstance(L, torch.Tensor) and isinstance(R, torch.Tensor) and a != b
        if swapped and tuple(L.shape) == (b, a, a) and tuple(R.shape) == (a, b, b):
            raise case.fail(
                "L and R are swapped: R holds the b blocks F_a of the first "
                "stage, shape (b, a, a); L the a blocks of the second, (a, b, b)"
            )
        L = _complex_answer(case, L, (a, b, b), "L")
        R = _complex_answer(case, R, (b, a, a), "R")
        M, ref = monarch_matrix(L, R), dft_matrix(N)
        if _same(M, ref):
            continue
        T, F_b = twiddle(a, b), dft_matrix(b)
        R_dft = dft_blocks(a, b)[1]

        def with_L(L_try: torch.Tensor, R_dft: torch.Tensor = R_dft) -> torch.Tensor:
            return monarch_matrix(L_try, R_dft)

        case.diagnose({
            "the twiddles are missing from L: block k1 is F_b diag(T[k1, :])":
                _same(M, with_L(F_b.repeat(a, 1, 1))),
            "the twiddles sit on the wrong side: T comes before the second stage, so block k1 "
            "is F_b diag(T[k1, :]) (scale the columns), not diag(T[k1, :]) F_b":
                _same(M, with_L(T[:, :, None] * F_b[None])),
            "the twiddles are transposed: block k1 of L scales its column n2 by "
            "T[k1, n2] = w_N^(k1 n2), T = twiddle(a, b) of shape (a, b)":
                a != b and _same(M, with_L(F_b[None] * T.mT.reshape(a, b)[:, None, :])),
        })  # fmt: skip
        raise case.fail(f"P L P^T R P differs from F_{N}: relative error {crel(M, ref):.2g}")
    done = "P L P^T R P == F_N for (a, b) = (3, 4), (2, 8), (5, 3), (4, 4): F_N is Monarch"
    if fit is None:
        return (
            f"{done} (pass your training function too, fit=my_fit with my_fit(a, b) -> (L, R), "
            "to check the open part)"
        )
    return done + _check_learned(fit)


#: Chapter 6's exercises in the order the chapter poses them (its stubs follow this order).
EXERCISES = (
    Exercise("dft_matrix", 6, "the DFT matrix from its definition",
             solution_dft_matrix, check_dft_matrix),
    Exercise("four_step_fft", 6, "the four-step FFT as small matrix products",
             solution_four_step_fft, check_four_step_fft),
    Exercise("four_step_flops", 6, "count the FLOPs of the k-factor form",
             solution_four_step_flops, check_four_step_flops),
    Exercise("monarch_blocks", 6, "the Monarch blocks of F_N, then learn them",
             solution_monarch_blocks, check_monarch_blocks),
)  # fmt: skip
