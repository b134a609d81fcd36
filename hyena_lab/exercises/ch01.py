"""Chapter 1's exercises (long convolutions, Sec. 2.1): the product of Toeplitz matrices, how much
FFT zero-padding is enough, the length from which the FFT beats the direct sum, and a causal FFT
convolution from scratch; each a reference solution and a checker, registered in ``EXERCISES``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from ..conv import circular_fftconv, direct_conv, toeplitz
from .feedback import EXACT, Case, Exercise, Wrong, checker, close, need_callable, seeded


def solution_toeplitz_product(g: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """The filter ``f`` with ``S_g S_h = S_f``: the causal convolution ``f = g * h``, ``(L,)``.

    ``(S_g S_h)[t, s] = sum_r g[t - r] h[r - s]`` depends on ``t - s`` only and is zero for
    ``s > t``: a causal Toeplitz matrix whose filter is ``f[j] = sum_{i<=j} g[j - i] h[i]``,
    truncated to the first ``L`` lags. Convolution commutes, hence ``S_g S_h = S_h S_g``.
    """
    return direct_conv(g[None], h[None])[0]  # (L,): lags 0..L-1 of g * h


@checker("toeplitz_product", "fn(g, h) -> f")
def check_toeplitz_product(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> str:
    """Check ``fn(g, h) -> f`` so that ``toeplitz(g) @ toeplitz(h) == toeplitz(f)``."""
    for L in (6, 13, 1):  # the most telling lengths first
        gen = seeded(100 + L)
        g = torch.randn(L, generator=gen, dtype=torch.float64)
        h = torch.randn(L, generator=gen, dtype=torch.float64)
        case = Case(f"g and h of shape ({L},)")
        wrong_shapes = {
            (L, L): f"return the filter f of shape ({L},), not the matrix S_f",
            (2 * L - 1,): f"g * h has 2L - 1 = {2 * L - 1} terms, but S_g S_h is {L} x {L}: "
            "keep the first L lags",
        }
        f = case.tensor(case.call(fn, g, h), (L,), "f", wrong_shapes)
        product = toeplitz(g) @ toeplitz(h)  # (L, L)
        if close(toeplitz(f), product):
            continue
        if close(f, circular_fftconv(g[None], h[None])[0]):
            raise case.fail(
                "that is the circular convolution of g and h: S_g S_h is causal, nothing wraps "
                "around"
            )
        if close(f, g * h):
            raise case.fail("g * h is the convolution, not the element-wise product")
        raise case.mismatch(toeplitz(f), product, ", S_f vs S_g S_h")
    return (
        "S_g S_h = S_(g*h) at L = 6, 13, 1: Toeplitz matrices of causal filters multiply as "
        "their filters convolve, hence S_g S_h = S_h S_g"
    )


def solution_fft_padding(L: int) -> int:
    """The smallest FFT length ``N`` whose circular convolution gives the causal one on ``L``.

    The linear convolution of two length-``L`` signals has ``2L - 1`` terms, lags
    ``0 .. 2L - 2``. A circular convolution of length ``N >= L`` adds the term at lag ``j >= N``
    onto output ``j - N <= L - 2``: one of the first ``L`` outputs. So the first ``L`` outputs
    are clean exactly when no lag reaches ``N``: ``N >= 2L - 1``.
    """
    return 2 * L - 1


def solution_padding_counterexample(L: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs ``(u, h)`` of length ``L >= 2`` for which padding to ``2L - 2`` is not enough.

    Put the last input sample and the last filter tap to 1: their product lands at lag
    ``2L - 2``, which a circular convolution of length ``2L - 2`` folds onto output 0.
    """
    u = torch.zeros(L, dtype=torch.float64)
    h = torch.zeros(L, dtype=torch.float64)
    u[-1] = h[-1] = 1.0
    return u, h


def _padding_hint(L: int, N: int) -> str:
    """What is wrong with the answer ``N != 2L - 1``."""
    if N == 2 * L:
        return "N = 2L is enough but not the smallest: g * h has 2L - 1 terms"
    if N > 2 * L - 1 and N & (N - 1) == 0:
        return f"{N} is the FFT-friendly power of two, not the smallest N"
    if N < 2 * L - 1:
        return f"N = {N} is too small: terms of g * h at lags >= N fold onto the first L outputs"
    return f"N = {N} works but is not the smallest"


@checker("fft_padding", "fn(L) -> N")
def check_fft_padding(
    fn: Callable[[int], int],
    counterexample: Callable[[int], tuple[torch.Tensor, torch.Tensor]] | None = None,
) -> str:
    """Check ``fn(L) -> N`` (the smallest padding) and, if given, ``counterexample(L) -> (u, h)``.

    ``counterexample(L)`` must return two length-``L`` signals whose causal convolution is NOT
    reproduced by a circular convolution of length ``N - 1 = 2L - 2`` (checked for ``L >= 2``).
    """
    for L in (5, 8, 64, 1):
        case = Case(f"L={L}")
        N = case.integer(case.call(fn, L), "a whole length N")
        if N != solution_fft_padding(L):
            raise case.fail(_padding_hint(L, N))
    if counterexample is None:
        return (
            "N = 2L - 1 is the smallest padding (pass a counterexample function as the second "
            "argument to check the other half of the exercise)"
        )
    need_callable(counterexample, "counterexample(L) -> (u, h)")
    for L in (2, 5, 16):
        case = Case(f"L={L}")
        u, h = case.pair(case.call(counterexample, L), "(u, h)", who="counterexample")
        u, h = case.tensor(u, (L,), "u").double(), case.tensor(h, (L,), "h").double()
        pad = (0, L - 2)  # zero-pad to N = 2L - 2
        wrapped = circular_fftconv(F.pad(u, pad)[None], F.pad(h, pad)[None])[0, :L]
        if close(wrapped, direct_conv(u[None], h[None])[0]):
            raise case.fail(
                "with N = 2L - 2 your (u, h) still give the causal result: make the last sample "
                "of u and the last tap of h non-zero"
            )
    return (
        "N = 2L - 1 is the smallest padding, and your inputs break N = 2L - 2: the lag-(2L - 2) "
        "term wraps around onto output 0"
    )


def solution_crossover_length(
    lengths: Sequence[int], t_fft: Sequence[float], t_direct: Sequence[float]
) -> int | None:
    """The smallest measured length from which the FFT is strictly faster at every longer length.

    ``lengths`` are increasing. One fast point followed by a slower one is noise, not a
    crossover. Returns ``None`` if the direct method is still as fast at the longest length.
    """
    answer = None
    for L, fast, slow in reversed(list(zip(lengths, t_fft, t_direct, strict=True))):
        if fast >= slow:  # FFT not faster here: the crossover (if any) is at a longer length
            break
        answer = L
    return answer


def _crossover_cases() -> list[tuple[str, list[int], list[float], list[float], int | None]]:
    """Timing tables with a known answer: (what, lengths, t_fft, t_direct, crossover)."""
    lengths = [8, 16, 32, 64, 128, 256, 512, 1024]
    fft = [40.0 + 0.05 * L for L in lengths]  # overhead-dominated, then ~L log L
    direct = [0.002 * L * L + 2.0 for L in lengths]  # quadratic
    noisy = list(direct)
    noisy[1] = 100.0  # one slow (noisy) direct measurement at L = 16
    return [
        ("a clean quadratic direct time", lengths, fft, direct, 256),
        ("one noisy direct measurement at L=16", lengths, fft, noisy, 256),
        ("FFT faster everywhere", lengths, [1.0] * 8, [2.0] * 8, 8),
        ("FFT never faster", lengths, [2.0] * 8, [1.0] * 8, None),
        ("a tie at the longest length", [8, 16], [1.0, 2.0], [3.0, 2.0], None),
    ]


@checker("crossover_length", "fn(lengths, t_fft, t_direct) -> int | None")
def check_crossover_length(
    fn: Callable[[Sequence[int], Sequence[float], Sequence[float]], int | None],
) -> str:
    """Check ``fn(lengths, t_fft, t_direct)`` on timing tables whose crossover is known."""
    cases = _crossover_cases()
    for what, lengths, fft, direct, expected in cases:
        case = Case(what)
        got = case.call(fn, list(lengths), list(fft), list(direct))
        got = None if got is None else case.integer(got, "a length (int) or None")
        if got == expected:
            continue
        if expected is None:
            raise case.fail(
                f"returned {got}: when the FFT is not strictly faster at the longest length "
                f"there is no crossover in the range, return None"
            )
        if got is not None and got < expected:
            raise case.fail(
                f"returned {got}, expected {expected}: the FFT must stay faster at every longer "
                f"length; an isolated fast point is noise"
            )
        raise case.fail(f"returned {got}, expected {expected}")
    return f"right on {len(cases)} timing tables (clean, noisy, never, always, tie)"


def solution_causal_fftconv(u: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Causal convolution ``y[t] = sum_{s<=t} k[t-s] u[s]`` by FFT: ``u (..., d, L)``, ``k (d, L)``.

    Zero-pad both signals to ``n = 2L`` so that the circular convolution the FFT computes has no
    wrap-around on the first ``L`` outputs, multiply the spectra, invert, keep ``L`` outputs.
    """
    L = u.shape[-1]
    n = 2 * L  # any n >= 2L - 1 works; irfft needs n explicitly (else its output is even)
    y = torch.fft.irfft(torch.fft.rfft(u, n=n) * torch.fft.rfft(k, n=n), n=n)  # (..., d, n)
    return y[..., :L]


@checker("causal_fftconv", "fn(u, k) -> y")
def check_causal_fftconv(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> str:
    """Check ``fn(u, k)`` against :func:`hyena_lab.direct_conv` for odd, even and unit ``L``."""
    lengths = (1, 2, 7, 16, 31, 64)
    failing: list[tuple[int, Wrong]] = []
    for L in lengths:
        g = seeded(L)
        u = torch.randn(2, 3, L, generator=g, dtype=torch.float64)  # (batch, d, L)
        k = torch.randn(3, L, generator=g, dtype=torch.float64)  # (d, L)
        case = Case(f"u of shape {tuple(u.shape)}, k of shape {tuple(k.shape)}")
        y = case.call(fn, u, k)
        if isinstance(y, torch.Tensor) and y.shape[:-1] == u.shape[:-1] and y.shape[-1] != L:
            raise case.fail(
                f"output length {y.shape[-1]} for L={L}: keep only the first L outputs, y[..., :L]"
            )
        y = case.tensor(y, tuple(u.shape), "your output")
        ref = direct_conv(u, k)
        if close(y, ref):
            continue
        if close(y, circular_fftconv(u, k)):
            raise case.fail(
                "this is the circular convolution: the end of the filter wraps around onto the "
                "start; zero-pad u and k to length 2L before the FFT"
            )
        failing.append((L, case.mismatch(y, ref)))
    if failing:
        raise Wrong(f"{failing[0][1]}; wrong at L = {', '.join(str(L) for L, _ in failing)}")
    return (
        f"matches direct_conv at L = {', '.join(map(str, lengths))} (float64, relative error "
        f"<= {EXACT:.0e}): causal, no wrap-around, odd lengths and L = 1 included"
    )


# fmt: off
#: Chapter 1's exercises in the order the chapter poses them.
EXERCISES = (
    Exercise("toeplitz_product", 1, "products of Toeplitz matrices: S_g S_h = S_(g*h)",
             solution_toeplitz_product, check_toeplitz_product),
    Exercise("fft_padding", 1, "how much zero-padding is enough (and a counterexample)",
             solution_fft_padding, check_fft_padding),
    Exercise("crossover_length", 1, "find the length from which the FFT beats the direct sum",
             solution_crossover_length, check_crossover_length),
    Exercise("causal_fftconv", 1, "causal convolution via FFT with zero-padding, from scratch",
             solution_causal_fftconv, check_causal_fftconv),
)
# fmt: on
