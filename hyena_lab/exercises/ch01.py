"""Chapter 1's exercises (long convolutions, Sec. 2.1): Toeplitz products, FFT padding, the
FFT/direct crossover and a causal FFT convolution from scratch."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from ..conv import circular_fftconv, direct_conv, toeplitz
from .feedback import EXACT, Case, Exercise, Wrong, checker, close, need_callable, seeded


def solution_toeplitz_product(g: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """The filter ``f`` ``(L,)`` with ``S_g S_h = S_f``: ``(S_g S_h)[t, s]`` depends on ``t - s``
    only and is zero for ``s > t``, so ``f`` is the causal convolution ``g * h`` (first ``L``
    lags); convolution commutes, hence ``S_g S_h = S_h S_g``."""
    return direct_conv(g[None], h[None])[0]  # (L,): lags 0..L-1 of g * h


@checker("fn(g, h) -> f")
def check_toeplitz_product(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> str:
    """Check ``fn(g, h) -> f`` so that ``toeplitz(g) @ toeplitz(h) == toeplitz(f)``."""
    for L in (6, 13, 1):  # the most telling lengths first
        gen = seeded(100 + L)
        g = torch.randn(L, generator=gen, dtype=torch.float64)
        h = torch.randn(L, generator=gen, dtype=torch.float64)
        case = Case(f"g and h of shape ({L},)")
        f = case.tensor(case.call(fn, g, h), (L,), "f", {
            (L, L): f"return the filter f of shape ({L},), not the matrix S_f",
            (2 * L - 1,): f"g * h has 2L - 1 = {2 * L - 1} terms, but S_g S_h is {L} x {L}: "
            "keep the first L lags",
        })  # fmt: skip
        product = toeplitz(g) @ toeplitz(h)  # (L, L)
        if not case.expect(toeplitz(f), product, {
            "that is the circular convolution of g and h: S_g S_h is causal, nothing wraps "
            "around": close(f, circular_fftconv(g[None], h[None])[0]),
            "g * h is the convolution, not the element-wise product": close(f, g * h),
        }):  # fmt: skip
            raise case.mismatch(toeplitz(f), product, ", S_f vs S_g S_h")
    return (
        "S_g S_h = S_(g*h) at L = 6, 13, 1: Toeplitz matrices of causal filters multiply as "
        "their filters convolve, hence S_g S_h = S_h S_g"
    )


def solution_fft_padding(L: int) -> int:
    """The smallest FFT length ``N`` whose circular convolution gives the causal one on ``L``:
    the ``2L - 1`` terms of a linear convolution have lags ``0 .. 2L - 2``, and a circular one of
    length ``N`` folds lag ``j >= N`` onto output ``j - N <= L - 2``; so ``N >= 2L - 1``."""
    return 2 * L - 1


def solution_padding_counterexample(L: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs ``(u, h)`` of length ``L >= 2`` for which padding to ``2L - 2`` is not enough: the
    last sample and the last tap multiply at lag ``2L - 2``, which wraps onto output 0."""
    u = torch.zeros(L, dtype=torch.float64)
    h = torch.zeros(L, dtype=torch.float64)
    u[-1] = h[-1] = 1.0
    return u, h


@checker("fn(L) -> N")
def check_fft_padding(
    fn: Callable[[int], int], counterexample: Callable[[int], tuple] | None = None
) -> str:
    """Check ``fn(L) -> N`` (the smallest padding) and, if given, ``counterexample(L) -> (u, h)``:
    length-``L`` signals whose causal convolution a circular one of length ``2L - 2`` gets wrong
    (checked for ``L >= 2``)."""
    for L in (5, 8, 64, 1):
        case = Case(f"L={L}")
        N = case.integer(case.call(fn, L), "a whole length N")
        if N != solution_fft_padding(L):
            case.diagnose({
                "N = 2L is enough but not the smallest: g * h has 2L - 1 terms": N == 2 * L,
                f"{N} is the FFT-friendly power of two, not the smallest N":
                    N > 2 * L - 1 and N & (N - 1) == 0,
                f"N = {N} is too small: terms of g * h at lags >= N fold onto the first L "
                "outputs": N < 2 * L - 1,
                f"N = {N} works but is not the smallest": True,
            })  # fmt: skip
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
    """The smallest of the increasing ``lengths`` from which the FFT is strictly faster at every
    longer length (one fast point followed by a slower one is noise); ``None`` if it is not."""
    answer = None
    for L, fast, slow in reversed(list(zip(lengths, t_fft, t_direct, strict=True))):
        if fast >= slow:  # FFT not faster here: the crossover (if any) is at a longer length
            break
        answer = L
    return answer


@checker("fn(lengths, t_fft, t_direct) -> int | None")
def check_crossover_length(fn: Callable[..., int | None]) -> str:
    """Check ``fn(lengths, t_fft, t_direct)`` on timing tables whose crossover is known."""
    lengths = [8, 16, 32, 64, 128, 256, 512, 1024]
    fft = [40.0 + 0.05 * L for L in lengths]  # overhead-dominated, then ~L log L
    direct = [0.002 * L * L + 2.0 for L in lengths]  # quadratic
    noisy = [*direct[:1], 100.0, *direct[2:]]  # one slow (noisy) direct measurement at L = 16
    cases = [  # (what, lengths, t_fft, t_direct, crossover)
        ("a clean quadratic direct time", lengths, fft, direct, 256),
        ("one noisy direct measurement at L=16", lengths, fft, noisy, 256),
        ("FFT faster everywhere", lengths, [1.0] * 8, [2.0] * 8, 8),
        ("FFT never faster", lengths, [2.0] * 8, [1.0] * 8, None),
        ("a tie at the longest length", [8, 16], [1.0, 2.0], [3.0, 2.0], None),
    ]
    for what, *table, expected in cases:
        case = Case(what)
        got = case.call(fn, *(list(column) for column in table))
        got = None if got is None else case.integer(got, "a length (int) or None")
        if got != expected:
            case.diagnose({
                f"returned {got}: when the FFT is not strictly faster at the longest length "
                "there is no crossover in the range, return None": expected is None,
                f"returned {got}, expected {expected}: the FFT must stay faster at every longer "
                "length; an isolated fast point is noise":
                    None not in (got, expected) and got < expected,
                f"returned {got}, expected {expected}": True,
            })  # fmt: skip
    return f"right on {len(cases)} timing tables (clean, noisy, never, always, tie)"


def solution_causal_fftconv(u: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Causal convolution ``y[t] = sum_{s<=t} k[t-s] u[s]`` by FFT: ``u (..., d, L)``, ``k (d, L)``,
    zero-padded to ``2L`` so that the FFT's circular convolution does not wrap around."""
    L = u.shape[-1]
    n = 2 * L  # any n >= 2L - 1 works; irfft needs n explicitly (else its output is even)
    y = torch.fft.irfft(torch.fft.rfft(u, n=n) * torch.fft.rfft(k, n=n), n=n)  # (..., d, n)
    return y[..., :L]


@checker("fn(u, k) -> y")
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
        y, ref = case.tensor(y, tuple(u.shape), "your output"), direct_conv(u, k)
        if not case.expect(y, ref, {
            "this is the circular convolution: the end of the filter wraps around onto the "
            "start; zero-pad u and k to length 2L before the FFT": close(y, circular_fftconv(u, k))
        }):  # fmt: skip
            failing.append((L, case.mismatch(y, ref)))
    if failing:
        raise Wrong(f"{failing[0][1]}; wrong at L = {', '.join(str(L) for L, _ in failing)}")
    return (
        f"matches direct_conv at L = {', '.join(map(str, lengths))} (float64, relative error "
        f"<= {EXACT:.0e}): causal, no wrap-around, odd lengths and L = 1 included"
    )


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
)  # fmt: skip
