"""Exercises of the handbook: reference solutions and checkers that give immediate feedback.

Every chapter ends with two or three exercises. For each exercise ``<name>`` this module holds

* ``solution_<name>``: a reference solution, short and commented (a teacher can show it with
  :func:`show_solution`), and
* ``check_<name>(answer)``: a checker that takes the student's function (or value), runs it on
  inputs where the right answer is known, and returns a :class:`CheckResult`: ``PASS`` with what
  was verified, or ``NOT YET`` with what is wrong and a hint. A checker never raises because of
  the student's code: an exception in the student's function becomes the message.

Usage in a notebook::

    from hyena_lab.exercises import check_causal_fftconv

    def my_fftconv(u, k):
        ...

    check_causal_fftconv(my_fftconv)      # shows PASS / NOT YET and why

The checkers of chapters 2-5 import the modules they need (``hyena_lab.operator``,
``hyena_lab.filters``, ``hyena_lab.tasks``, ``hyena_lab.roofline``) inside the function, so that
importing this module stays cheap. :data:`EXERCISES` lists all exercises by name and chapter.

Paper references are to Poli et al., *Hyena Hierarchy* (arXiv 2302.10866).
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from .checks import rel_err
from .conv import circular_fftconv, direct_conv, fftconv, toeplitz

__all__ = [
    "EXERCISES",
    "PAPER_FIGURE_4_3_MS",
    "CheckResult",
    "Exercise",
    "check_attention_flops",
    "check_causal_fftconv",
    "check_constant_gates_filter",
    "check_crossover_length",
    "check_decay_fraction",
    "check_fft_padding",
    "check_fftconv_variant",
    "check_hyena_recurrence",
    "check_make_recall_example",
    "check_materialize_cost",
    "check_max_naive_attention_length",
    "check_official_recurrence",
    "check_positional_encoding",
    "check_published_speedups",
    "check_query_accuracy",
    "check_recall_by_lookup",
    "check_s4d_kernel",
    "check_toeplitz_product",
    "exercises",
    "show_solution",
]

#: Relative error below which a float64 answer counts as exact (round-off only).
EXACT = 1e-8
#: Relative error that float32 round-off reaches; between EXACT and this we say so.
FLOAT32_ROUNDOFF = 1e-4

#: Forward times (ms) behind the paper's Figure 4.3 (Sec. 4.4): an order-2 Hyena operator,
#: FlashAttention and standard (PyTorch) attention on an A100, batch 64, as the authors
#: published them in the official repository's issue tracker (HazyResearch/safari, issue #10).
#: Standard attention has no point at 64K (``None``). The official fused FFT-convolution kernel
#: supports FFT sizes up to 16384, i.e. sequences up to 8K (safari issue #6), and in issue #10
#: the authors say these runtimes were not measured with the optimised kernel.
PAPER_FIGURE_4_3_MS: dict[str, tuple[float | None, ...]] = {
    "lengths": (1024, 2048, 4096, 8192, 16384, 32768, 65536),
    "hyena": (0.9, 1.16, 1.47, 1.5, 2.84, 5.41, 11.32),
    "flash_attention": (0.29, 0.3, 0.63, 2.1, 8.33, 32.85, 129.07),
    "standard_attention": (0.4, 1.25, 2.16, 6.17, 21.74, 90.71, None),
}


# =============================================================================================
# Feedback machinery
# =============================================================================================
@dataclass(frozen=True, repr=False)
class CheckResult:
    """The verdict of a checker: ``passed`` and a message for the student.

    Truthy when passed, so ``assert check_x(fn)`` works; printed (or shown as a cell's value)
    as ``PASS · name: what was verified`` or ``NOT YET · name: what is wrong``.
    """

    exercise: str
    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return f"{'PASS' if self.passed else 'NOT YET'} · {self.exercise}: {self.message}"

    __repr__ = __str__


class _Wrong(Exception):
    """Raised inside a checker at the first problem found; becomes a failing CheckResult."""


def _checker(exercise: str) -> Callable[[Callable[..., str]], Callable[..., CheckResult]]:
    """Turn ``body(answer, ...) -> success message`` into a checker returning a CheckResult."""

    def wrap(body: Callable[..., str]) -> Callable[..., CheckResult]:
        @functools.wraps(body)
        def checker(answer: Any, *args: Any, **kwargs: Any) -> CheckResult:
            try:
                return CheckResult(exercise, True, body(answer, *args, **kwargs))
            except _Wrong as wrong:
                return CheckResult(exercise, False, str(wrong))

        return checker

    return wrap


def _need_callable(fn: object, signature: str) -> None:
    if not callable(fn):
        raise _Wrong(f"expected your function `{signature}`, got {type(fn).__name__} {fn!r:.60}")


def _run(fn: Callable[..., Any], *args: Any, where: str = "") -> Any:
    """Call the student's function; turn an exception into feedback."""
    try:
        return fn(*args)
    except Exception as err:  # the student's bug, reported as such
        at = f" ({where})" if where else ""
        raise _Wrong(f"your function raised {type(err).__name__}{at}: {err}") from None


def _as_tensor(y: object, shape: tuple[int, ...], what: str, where: str) -> torch.Tensor:
    """Check that ``y`` is a finite real tensor of ``shape``."""
    if not isinstance(y, torch.Tensor):
        raise _Wrong(f"{what} must be a torch.Tensor, got {type(y).__name__} ({where})")
    if y.is_complex():
        raise _Wrong(f"{what} is complex ({where}); the answer is real: take `.real`")
    if tuple(y.shape) != shape:
        raise _Wrong(f"{what} has shape {tuple(y.shape)}, expected {shape} ({where})")
    if not torch.isfinite(y).all():
        raise _Wrong(f"{what} holds NaN or inf ({where})")
    return y.detach()


def _close(a: torch.Tensor, b: torch.Tensor, tol: float = EXACT) -> bool:
    return tuple(a.shape) == tuple(b.shape) and rel_err(a, b) <= tol


def _mismatch(y: torch.Tensor, ref: torch.Tensor, where: str, tol: float = EXACT) -> _Wrong:
    """A generic 'values differ' message, with the float32 hint where it fits."""
    err = rel_err(y, ref)
    if err < FLOAT32_ROUNDOFF:
        return _Wrong(
            f"close but not exact ({where}): relative error {err:.1e} > {tol:.0e}, the size of "
            f"float32 round-off; compute in the dtype of the inputs (float64)"
        )
    return _Wrong(f"wrong values ({where}): relative error {err:.2g} against the reference")


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# =============================================================================================
# Chapter 1: long convolutions (Sec. 2.1)
# =============================================================================================
def solution_causal_fftconv(u: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Causal convolution ``y[t] = sum_{s<=t} k[t-s] u[s]`` by FFT: ``u (..., d, L)``, ``k (d, L)``.

    Zero-pad both signals to ``n = 2L`` so that the circular convolution the FFT computes has no
    wrap-around on the first ``L`` outputs, multiply the spectra, invert, keep ``L`` outputs.
    """
    L = u.shape[-1]
    n = 2 * L  # any n >= 2L - 1 works; irfft needs n explicitly (else its output is even)
    y = torch.fft.irfft(torch.fft.rfft(u, n=n) * torch.fft.rfft(k, n=n), n=n)  # (..., d, n)
    return y[..., :L]


@_checker("causal_fftconv")
def check_causal_fftconv(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> str:
    """Check ``fn(u, k)`` against :func:`hyena_lab.direct_conv` for odd, even and unit ``L``."""
    _need_callable(fn, "fn(u, k) -> y")
    lengths = (1, 2, 7, 16, 31, 64)
    failing: list[tuple[int, _Wrong]] = []
    for L in lengths:
        g = _seeded(L)
        u = torch.randn(2, 3, L, generator=g, dtype=torch.float64)  # (batch, d, L)
        k = torch.randn(3, L, generator=g, dtype=torch.float64)  # (d, L)
        where = f"u of shape {tuple(u.shape)}, k of shape {tuple(k.shape)}"
        y = _run(fn, u.clone(), k.clone(), where=where)
        if isinstance(y, torch.Tensor) and y.shape[-1] != L and y.shape[:-1] == u.shape[:-1]:
            raise _Wrong(
                f"output length {y.shape[-1]} for L={L} ({where}): keep only the first L "
                f"outputs, y[..., :L]"
            )
        y = _as_tensor(y, tuple(u.shape), "your output", where)
        ref = direct_conv(u, k)
        if L > 1 and _close(y, circular_fftconv(u, k)):
            raise _Wrong(
                f"this is the circular convolution ({where}): the end of the filter wraps around "
                f"onto the start; zero-pad u and k to length 2L before the FFT"
            )
        if not _close(y, ref):
            failing.append((L, _mismatch(y, ref, where)))
    if failing:
        bad = ", ".join(str(L) for L, _ in failing)
        raise _Wrong(f"{failing[0][1]}; wrong at L = {bad}")
    return (
        f"matches direct_conv at L = {', '.join(map(str, lengths))} (float64, relative error "
        f"<= {EXACT:.0e}): causal, no wrap-around, odd lengths and L = 1 included"
    )


def solution_toeplitz_product(g: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """The filter ``f`` with ``S_g S_h = S_f``: the causal convolution ``f = g * h``, ``(L,)``.

    ``(S_g S_h)[t, s] = sum_r g[t - r] h[r - s]`` depends on ``t - s`` only and is zero for
    ``s > t``: a causal Toeplitz matrix whose filter is ``f[j] = sum_{i<=j} g[j - i] h[i]``,
    truncated to the first ``L`` lags. Convolution commutes, hence ``S_g S_h = S_h S_g``.
    """
    return direct_conv(g[None], h[None])[0]  # (L,): lags 0..L-1 of g * h


@_checker("toeplitz_product")
def check_toeplitz_product(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> str:
    """Check ``fn(g, h) -> f`` so that ``toeplitz(g) @ toeplitz(h) == toeplitz(f)``."""
    _need_callable(fn, "fn(g, h) -> f")
    lengths = (6, 13, 1)  # the most telling lengths first
    for L in lengths:
        gen = _seeded(100 + L)
        g = torch.randn(L, generator=gen, dtype=torch.float64)
        h = torch.randn(L, generator=gen, dtype=torch.float64)
        where = f"g and h of shape ({L},)"
        f = _run(fn, g.clone(), h.clone(), where=where)
        if isinstance(f, torch.Tensor) and tuple(f.shape) == (L, L) and L > 1:
            raise _Wrong(f"return the filter f of shape ({L},), not the matrix S_f ({where})")
        if isinstance(f, torch.Tensor) and tuple(f.shape) == (2 * L - 1,) and L > 1:
            raise _Wrong(
                f"g * h has 2L - 1 = {2 * L - 1} terms, but S_g S_h is {L} x {L}: keep the first "
                f"L lags ({where})"
            )
        f = _as_tensor(f, (L,), "f", where)
        product = toeplitz(g) @ toeplitz(h)  # (L, L)
        if _close(toeplitz(f), product):
            continue
        if L > 1 and _close(f, circular_fftconv(g[None], h[None])[0]):
            raise _Wrong(
                f"that is the circular convolution of g and h ({where}): S_g S_h is causal, "
                f"nothing wraps around"
            )
        if L > 1 and _close(f, g * h):
            raise _Wrong(f"g * h is the convolution, not the element-wise product ({where})")
        raise _mismatch(toeplitz(f), product, f"{where}, S_f vs S_g S_h")
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


def _padded_circular(u: torch.Tensor, h: torch.Tensor, N: int) -> torch.Tensor:
    """The first ``L`` outputs of the circular convolution of ``u``, ``h`` zero-padded to ``N``."""
    L = u.shape[-1]
    pad = (0, N - L)
    return circular_fftconv(F.pad(u, pad)[None], F.pad(h, pad)[None])[0, :L]


@_checker("fft_padding")
def check_fft_padding(
    fn: Callable[[int], int],
    counterexample: Callable[[int], tuple[torch.Tensor, torch.Tensor]] | None = None,
) -> str:
    """Check ``fn(L) -> N`` (the smallest padding) and, if given, ``counterexample(L) -> (u, h)``.

    ``counterexample(L)`` must return two length-``L`` signals whose causal convolution is NOT
    reproduced by a circular convolution of length ``N - 1 = 2L - 2`` (checked for ``L >= 2``).
    """
    _need_callable(fn, "fn(L) -> N")
    for L in (5, 8, 64, 1):
        expected = solution_fft_padding(L)
        got = _run(fn, L, where=f"L={L}")
        if isinstance(got, float) and got.is_integer():
            got = int(got)
        if not isinstance(got, int):
            raise _Wrong(f"return a whole length N (int), got {got!r} (L={L})")
        if got == expected:
            continue
        if got == 2 * L:
            raise _Wrong(f"N = 2L is enough but not the smallest (L={L}): g * h has 2L - 1 terms")
        if got > expected and got & (got - 1) == 0:
            raise _Wrong(f"{got} is the FFT-friendly power of two, not the smallest N (L={L})")
        if got < expected:
            raise _Wrong(
                f"N = {got} is too small for L={L}: some of the 2L - 1 terms of g * h fold onto "
                f"the first L outputs"
            )
        raise _Wrong(f"N = {got} works for L={L} but is not the smallest")
    if counterexample is None:
        return (
            "N = 2L - 1 is the smallest padding (pass a counterexample function as the second "
            "argument to check the other half of the exercise)"
        )
    _need_callable(counterexample, "counterexample(L) -> (u, h)")
    for L in (2, 5, 16):
        where = f"L={L}"
        out = _run(counterexample, L, where=where)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise _Wrong(f"counterexample must return a pair (u, h), got {type(out).__name__}")
        u = _as_tensor(out[0], (L,), "u", where).double()
        h = _as_tensor(out[1], (L,), "h", where).double()
        ref = direct_conv(u[None], h[None])[0]
        if _close(_padded_circular(u, h, 2 * L - 2), ref, 1e-9):
            raise _Wrong(
                f"with N = 2L - 2 your (u, h) still give the causal result ({where}): make the "
                f"last sample of u and the last tap of h non-zero"
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


@_checker("crossover_length")
def check_crossover_length(
    fn: Callable[[Sequence[int], Sequence[float], Sequence[float]], int | None],
) -> str:
    """Check ``fn(lengths, t_fft, t_direct)`` on timing tables whose crossover is known."""
    _need_callable(fn, "fn(lengths, t_fft, t_direct) -> int | None")
    cases = _crossover_cases()
    for what, lengths, fft, direct, expected in cases:
        got = _run(fn, list(lengths), list(fft), list(direct), where=what)
        if got is not None and not isinstance(got, int):
            try:
                got = int(got)
            except (TypeError, ValueError):
                raise _Wrong(f"return a length (int) or None, got {got!r} ({what})") from None
        if got == expected:
            continue
        if expected is None:
            raise _Wrong(
                f"returned {got} for {what}: when the FFT is not strictly faster at the longest "
                f"length there is no crossover in the range, return None"
            )
        if got is not None and got < expected:
            raise _Wrong(
                f"returned {got} for {what}, expected {expected}: the FFT must stay faster at "
                f"every longer length; an isolated fast point is noise"
            )
        raise _Wrong(f"returned {got} for {what}, expected {expected}")
    return f"right on {len(cases)} timing tables (clean, noisy, never, always, tie)"


# =============================================================================================
# Chapter 2: Hyena matrices (Sec. 3.1-3.2)
# =============================================================================================
def solution_hyena_recurrence(
    D_x: Sequence[torch.Tensor], S_h: Sequence[torch.Tensor], v: torch.Tensor
) -> torch.Tensor:
    """``y = D_x^N S_h^N ... D_x^1 S_h^1 v`` one factor at a time (Definition 3.1).

    ``z^1 = v`` and ``z^{n+1} = x^n * (S_h^n z^n)``: per channel a matrix-vector product with the
    Toeplitz matrix (the long convolution), then the diagonal gate. Never forms ``A(u)``.
    Shapes: ``D_x[n]`` ``(d_model, L)``, ``S_h[n]`` ``(d_model, L, L)``, ``v`` ``(d_model, L)``.
    """
    z = v  # (d_model, L)
    for D, S in zip(D_x, S_h, strict=True):
        z = D * (S @ z[..., None])[..., 0]  # convolve, then gate
    return z


def _hyena_op(order: int, d_model: int, l_max: int, seed: int, **kwargs: Any) -> Any:
    """A float64 HyenaOperator initialised from ``seed`` without touching the global RNG."""
    from .operator import HyenaOperator

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return HyenaOperator(d_model, l_max, order=order, **kwargs).double()


@_checker("hyena_recurrence")
def check_hyena_recurrence(
    fn: Callable[[list[torch.Tensor], list[torch.Tensor], torch.Tensor], torch.Tensor],
) -> str:
    """Check ``fn(D_x, S_h, v)`` against ``HyenaOperator.materialize(u) @ v`` at orders 1-3."""
    _need_callable(fn, "fn(D_x, S_h, v) -> y")
    d, L = 3, 12
    passed = []
    for order in (2, 1, 3):
        op = _hyena_op(order, d, 16, seed=order)
        u = torch.randn(1, L, d, generator=_seeded(10 + order), dtype=torch.float64)
        with torch.no_grad():
            m = op.matrices(u)
            ref = (op.materialize(u) @ m.v[..., None])[..., 0]  # (d, L)
        where = f"order {order}, d_model={d}, L={L}"
        args = ([D.clone() for D in m.D_x], [S.clone() for S in m.S_h], m.v.clone())
        y = _as_tensor(_run(fn, *args, where=where), (d, L), "y", where)
        if _close(y, ref):
            passed.append(order)
            continue
        gate_first = m.v
        for D, S in zip(m.D_x, m.S_h, strict=True):
            gate_first = (S @ (D * gate_first)[..., None])[..., 0]
        reversed_ = solution_hyena_recurrence(m.D_x[::-1], m.S_h[::-1], m.v)
        if _close(y, gate_first):
            raise _Wrong(
                f"you gate before convolving ({where}): z^(n+1) = x^n * (h^n conv z^n), i.e. "
                f"apply S_h^n first, then D_x^n"
            )
        if order > 1 and _close(y, reversed_):
            raise _Wrong(
                f"factors applied in reverse order ({where}): D_x[0], S_h[0] act first on v"
            )
        if 2 in passed:
            raise _Wrong(
                f"right at order 2 but not at order {order}: loop over all N factors "
                f"(len(D_x) == N)"
            )
        raise _mismatch(y, ref, where)
    return (
        "y = D_x^N S_h^N ... D_x^1 S_h^1 v matches HyenaOperator.materialize(u) @ v at orders "
        "N = 1, 2, 3, without forming the L x L product"
    )


def solution_constant_gates_filter(
    h1: torch.Tensor, b1: float, h2: torch.Tensor, b2: float, a: float, c: float
) -> torch.Tensor:
    """With constant gates ``x^1 = a``, ``x^2 = c`` the order-2 matrix is one Toeplitz matrix.

    ``A = c S_h2 a S_h1 = a c S_f`` with the skip terms on the diagonals,
    ``S_h + b I = S_(h + b delta)``; so ``f = a c (h2 + b2 delta) * (h1 + b1 delta)``, causal and
    truncated to the ``L`` taps of the filters (Sec. 3.2). Returns ``f`` ``(L,)``.
    """
    k1, k2 = h1.clone(), h2.clone()
    k1[0] += b1  # the skip term b^n is the lag-0 tap of the effective filter
    k2[0] += b2
    return a * c * direct_conv(k2[None], k1[None])[0]


@_checker("constant_gates_filter")
def check_constant_gates_filter(fn: Callable[..., torch.Tensor]) -> str:
    """Check ``fn(h1, b1, h2, b2, a, c) -> f`` against the operator's ``c S_h^2 a S_h^1``."""
    _need_callable(fn, "fn(h1, b1, h2, b2, a, c) -> f")
    for L, (a, c) in ((12, (0.7, -1.3)), (5, (2.0, 0.5)), (1, (1.5, 3.0))):
        op = _hyena_op(2, 2, 16, seed=50 + L)
        with torch.no_grad():
            h, b = op.filters(L).detach(), op.bias.detach()  # (2, d_model, L), (2, d_model)
            S1 = toeplitz(h[0, 0], b[0, 0])  # channel 0, skip term on the diagonal
            S2 = toeplitz(h[1, 0], b[1, 0])
        h1, h2, b1, b2 = h[0, 0], h[1, 0], float(b[0, 0]), float(b[1, 0])
        ref = c * S2 @ (a * S1)  # D_x^2 S_h^2 D_x^1 S_h^1 with constant gates
        where = f"L={L}, a={a}, c={c}"
        f = _run(fn, h1.clone(), b1, h2.clone(), b2, a, c, where=where)
        if isinstance(f, torch.Tensor) and tuple(f.shape) == (2 * L - 1,) and L > 1:
            raise _Wrong(f"keep the first L taps: S_f is {L} x {L} ({where})")
        f = _as_tensor(f, (L,), "f", where)
        if _close(toeplitz(f), ref):
            continue
        no_skip = a * c * direct_conv(h2[None], h1[None])[0]
        if _close(f, no_skip):
            raise _Wrong(
                f"the skip terms are missing ({where}): S_h^n carries b^n on its diagonal, so "
                f"its filter is h^n + b^n delta (add b^n to tap 0)"
            )
        if _close(a * c * f, ref[:, 0]) or _close(f, ref[:, 0] / (a * c)):
            raise _Wrong(f"the constant gates scale the result: multiply by a * c ({where})")
        raise _mismatch(toeplitz(f), ref, f"{where}, S_f vs c S_h2 a S_h1")
    return (
        "constant gates give A = a c S_f with f = (h2 + b2 delta) * (h1 + b1 delta): without "
        "input-dependent gates, Hyena is one long convolution"
    )


def solution_materialize_cost(d_model: int, L: int) -> dict[str, float]:
    """Bytes of one layer's ``A(u)`` in bfloat16, and the work of ``A @ v`` vs two FFT convs.

    ``A(u)`` is ``(d_model, L, L)`` at 2 bytes an entry. ``A @ v`` is ``d_model L^2``
    multiply-adds (a dense product; ``d_model L (L+1) / 2`` if the zeros are skipped). Two FFT
    convolutions of length ``2L``: per channel a forward and an inverse FFT each (the filters'
    FFT is shared over the batch), each counted as a complex FFT of ``n = 2L`` points,
    ``5 n log2 n`` real operations (:func:`hyena_lab.roofline.fft_flops` with ``real=False``;
    the real-FFT count, half of it, is accepted too).
    """
    from .roofline import fft_flops

    return {
        "A_bytes": 2 * d_model * L * L,
        "matvec_macs": float(d_model * L * L),
        "fft_ops": 2 * 2 * d_model * fft_flops(2 * L, real=False),
    }


@_checker("materialize_cost")
def check_materialize_cost(fn: Callable[[int, int], Mapping[str, float]]) -> str:
    """Check ``fn(d_model, L) -> {"A_bytes", "matvec_macs", "fft_ops"}`` (counting conventions
    within the range stated in the exercise are accepted: 2 or 3 FFTs per convolution, each a
    real FFT, ``2.5 n log2 n``, or a complex one, ``5 n log2 n``; see ``roofline.fft_flops``)."""
    from .roofline import fft_flops

    _need_callable(fn, "fn(d_model, L) -> dict(A_bytes=..., matvec_macs=..., fft_ops=...)")
    report = []
    for d, L in ((1024, 2048), (1024, 65536), (3, 5)):
        where = f"d_model={d}, L={L}"
        out = _run(fn, d, L, where=where)
        keys = ("A_bytes", "matvec_macs", "fft_ops")
        if not isinstance(out, Mapping) or any(k not in out for k in keys):
            raise _Wrong(f"return a dict with keys {', '.join(keys)} ({where})")
        try:
            A_bytes, macs, ops = (float(out[k]) for k in keys)
        except (TypeError, ValueError):
            raise _Wrong(f"the three counts must be numbers ({where})") from None
        if A_bytes != 2 * d * L * L:
            if A_bytes == 4 * d * L * L:
                raise _Wrong(f"bfloat16 takes 2 bytes an entry, not 4 ({where})")
            if A_bytes == 2 * L * L:
                raise _Wrong(f"A(u) has one L x L matrix per channel: d_model of them ({where})")
            raise _Wrong(
                f"A_bytes = {A_bytes:.4g}, expected d_model L^2 x 2 bytes = {2 * d * L * L:.4g} "
                f"({where})"
            )
        dense, triangular = d * L * L, d * L * (L + 1) / 2
        if not any(math.isclose(macs, m, rel_tol=0.01) for m in (dense, triangular)):
            raise _Wrong(
                f"matvec_macs = {macs:.4g}: a dense (d_model, L, L) @ (d_model, L) product is "
                f"d_model L^2 = {dense:.4g} multiply-adds ({where})"
            )
        # 2 real FFTs (2.5 n log2 n each) up to 3 complex ones (5 n log2 n) per convolution
        low = 2 * 2 * d * fft_flops(2 * L, real=True)
        high = 2 * 3 * d * fft_flops(2 * L, real=False)
        if not low * 0.99 <= ops <= high * 1.01:
            hint = " (per channel: d_model of them)" if ops * d <= high * 1.01 else ""
            raise _Wrong(
                f"fft_ops = {ops:.4g}, expected between {low:.4g} and {high:.4g}: two "
                f"convolutions, each 2-3 FFTs of length 2L per channel, 2.5 (real) to 5 "
                f"(complex) n log2 n operations per FFT{hint} ({where})"
            )
        report.append(f"L={L}: A(u) {A_bytes / 2**30:,.4g} GiB, A @ v / FFTs = {macs / ops:.3g}")
    return "; ".join(report[:2]) + ": the matrix is for looking, the recurrence for computing"


def solution_official_recurrence(
    x: Sequence[torch.Tensor], v: torch.Tensor, h: torch.Tensor, bias: torch.Tensor
) -> torch.Tensor:
    """The official order-2 layer's core by hand, ``(batch, d_model, L)``.

    ``x = [x^1, x^2]`` in the handbook's order (``op.projections(u)``); the official code splits
    them as ``x[0] = x^2`` and ``x[1] = x^1``. It gates ``v`` with ``x[1]`` first, runs ONE long
    convolution with the skip term, then gates with ``x[0]``:
    ``y = x^2 * (h conv (x^1 * v) + bias * (x^1 * v))``.
    """
    z = x[0] * v  # official v * x[1]
    z = fftconv(z, h, bias)  # the long convolution with its skip term
    return x[1] * z  # official ... * x[0]


@_checker("official_recurrence")
def check_official_recurrence(fn: Callable[..., torch.Tensor]) -> str:
    """Check ``fn(x, v, h, bias)`` against the official outputs (safari_order2_recall vectors)."""
    from .official import from_safari, load_vectors

    _need_callable(fn, "fn(x, v, h, bias) -> y")
    vec = load_vectors("safari_order2_recall")
    op = from_safari(vec["config"], vec["state_dict"])
    case = vec["cases"][0]
    u, L = case["u"], case["L"]  # (batch, L, d_model) float64
    with torch.no_grad():
        x, v = op.projections(u)  # [x^1, x^2], v: each (batch, d_model, L)
        h, bias = op.filters(L)[0], op.bias[0]  # the one long filter (d_model, L), its skip
    where = f"the official order-2 recall layer, u of shape {tuple(u.shape)}"
    y = _run(fn, [t.clone() for t in x], v.clone(), h.clone(), bias.clone(), where=where)
    shape = tuple(v.shape)
    if isinstance(y, torch.Tensor) and tuple(y.shape) == tuple(u.shape) != shape:
        raise _Wrong(f"return the core before out_proj, shape {shape} (batch, d_model, L)")
    y = _as_tensor(y, shape, "y", where)
    with torch.no_grad():
        out = op.out_proj(y.transpose(1, 2))  # (batch, L, d_model)
    if _close(out, case["y"]):
        return (
            "out_proj(x^2 * (h conv (x^1 * v) + bias * x^1 v)) reproduces the official output: "
            "official x[1] is the handbook's x^1 (first gate), x[0] its x^2 (last gate)"
        )
    hints = [
        (
            x[0] * fftconv(x[1] * v, h, bias),
            "the gates are swapped: official x[1] = handbook x^1 gates v first, official "
            "x[0] = handbook x^2 gates last",
        ),
        (x[1] * fftconv(x[0] * v, h), "the skip term bias * (x^1 * v) is missing"),
        (x[1] * (x[0] * fftconv(v, h, bias)), "the official order 2 gates v BEFORE the conv"),
    ]
    for wrong, hint in hints:
        if _close(y, wrong):
            raise _Wrong(f"{hint} ({where})")
    raise _mismatch(out, case["y"], f"{where}, after out_proj vs the official y")


# =============================================================================================
# Chapter 3: implicit filters (Sec. 3.3, App. D.3) and the SSM lineage
# =============================================================================================
def solution_s4d_kernel(A: torch.Tensor, C: torch.Tensor, dt: torch.Tensor, L: int) -> torch.Tensor:
    """The S4D kernel ``K_t = 2 Re sum_n C_n B_bar_n A_bar_n^t`` in closed form, ``(channels, L)``.

    Diagonal continuous system per channel: ``A``, ``C`` complex ``(channels, modes)``, ``B = 1``,
    step ``dt`` ``(channels,)``. Zero-order hold: ``A_bar = exp(dt A)``,
    ``B_bar = (A_bar - 1) / A``. The factor 2 adds the complex-conjugate modes (a real system).
    """
    dtA = dt[:, None] * A  # (channels, modes)
    B_bar = torch.expm1(dtA) / A  # ZOH with B = 1
    t = torch.arange(L, dtype=dt.dtype)
    powers = torch.exp(dtA[..., None] * t)  # A_bar^t, (channels, modes, L): a Vandermonde matrix
    return 2 * torch.einsum("cm,cml->cl", C * B_bar, powers).real


@_checker("s4d_kernel")
def check_s4d_kernel(
    fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, int], torch.Tensor],
) -> str:
    """Check ``fn(A, C, dt, L)`` against the SSM run step by step on an impulse (SSMFilter)."""
    from .filters import SSMFilter

    _need_callable(fn, "fn(A, C, dt, L) -> K")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        filt = SSMFilter(3, 40, d_state=8, dt_min=0.01, dt_max=0.5).double()
    with torch.no_grad():
        A = torch.complex(-torch.exp(filt.log_A_real), filt.A_imag)  # (channels, modes)
        C = torch.view_as_complex(filt.C.contiguous())
        dt = torch.exp(filt.log_dt)
    for L in (7, 40, 1):
        where = f"L={L}, {A.shape[0]} channels, {A.shape[1]} modes"
        impulse = torch.zeros(3, L, dtype=torch.float64)
        impulse[:, 0] = 1.0
        with torch.no_grad():
            ref = filt.recurrence(impulse)  # the impulse response IS the kernel
        K = _run(fn, A.clone(), C.clone(), dt.clone(), L, where=where)
        K = _as_tensor(K, (3, L), "K", where)
        if _close(K, ref):
            continue
        if _close(2 * K, ref):
            raise _Wrong(f"off by a factor 2 ({where}): K_t = 2 Re(...) counts the conjugate modes")
        t = torch.arange(L, dtype=torch.float64)
        powers = torch.exp((dt[:, None] * A)[..., None] * t)  # A_bar^t, (channels, modes, L)
        euler = 2 * torch.einsum("cm,cml->cl", C * dt[:, None], powers).real  # B_bar = dt
        if _close(K, euler, 1e-6):
            raise _Wrong(
                f"B_bar = dt * B is the Euler step ({where}); zero-order hold integrates exactly: "
                f"B_bar = (exp(dt A) - 1) / A * B"
            )
        if L > 1 and _close(K[:, :-1], ref[:, 1:], 1e-6):
            raise _Wrong(f"shifted by one step ({where}): K_0 = 2 Re(C B_bar), t starts at 0")
        raise _mismatch(K, ref, where)
    return (
        "matches the impulse response of x_t = A_bar x_(t-1) + B_bar u_t, y_t = 2 Re(C x_t) "
        "(SSMFilter.recurrence) at L = 7, 40, 1: an SSM is a long convolution"
    )


def solution_decay_fraction(
    c: int, channels: int, fast_decay_pct: float = 0.3, slow_decay_pct: float = 1.5
) -> float:
    """Fraction of the sequence at which channel ``c`` of the window (eq. 7) reaches ``target``.

    The rates ``delta_c = log(target) / pct`` are spaced *linearly* in ``c`` from
    ``log(target) / slow_decay_pct`` (channel 0) to ``log(target) / fast_decay_pct`` (last
    channel), and ``exp(-|delta_c| t) = target`` at ``t_c = log(target) / delta_c``, so

        t_c = 1 / (1 / slow + c / (D - 1) * (1 / fast - 1 / slow)),

    a harmonic (not linear) interpolation between the two fractions; independent of ``target``.
    """
    share = c / (channels - 1) if channels > 1 else 0.0
    return 1.0 / (1.0 / slow_decay_pct + share * (1.0 / fast_decay_pct - 1.0 / slow_decay_pct))


@_checker("decay_fraction")
def check_decay_fraction(fn: Callable[[int, int, float, float], float]) -> str:
    """Check ``fn(c, channels, fast_decay_pct, slow_decay_pct)`` against the filter's window."""
    from .filters import ExponentialModulation

    _need_callable(fn, "fn(c, channels, fast_decay_pct, slow_decay_pct) -> fraction")
    cases = [(8, 0.3, 1.5), (5, 0.1, 0.5), (64, 0.3, 1.5), (1, 0.3, 1.5)]
    for channels, fast, slow in cases:
        modulation = ExponentialModulation(channels, fast, slow, target=1e-2).double()
        for c in sorted({0, channels // 3, channels - 1}):
            where = f"c={c}, channels={channels}, fast={fast}, slow={slow}"
            got = _run(fn, c, channels, fast, slow, where=where)
            try:
                got = float(got)
            except (TypeError, ValueError):
                raise _Wrong(f"return a fraction (a float), got {got!r} ({where})") from None
            # the window itself at the claimed time: it must equal target there
            t = torch.tensor([[got]], dtype=torch.float64)
            value = float(modulation.window(t)[0, c])
            if math.isclose(value, 1e-2, rel_tol=1e-4):
                continue
            share = c / (channels - 1) if channels > 1 else 0.0
            if math.isclose(got, slow + share * (fast - slow), rel_tol=1e-6):
                raise _Wrong(
                    f"the fractions are not spaced linearly, the rates delta_c are ({where}): "
                    f"t_c = log(target) / delta_c, a harmonic interpolation"
                )
            raise _Wrong(
                f"at t = {got:.4g} the window of channel {c} is {value:.3g}, not target = 0.01 "
                f"({where})"
            )
    return (
        "exp(-|delta_c| t_c) = target at your t_c for every channel tried: t_c runs "
        "harmonically from slow_decay_pct (channel 0) to fast_decay_pct (last channel)"
    )


def solution_positional_encoding(L: int, emb_dim: int) -> torch.Tensor:
    """``PE = [t, Re rho_0..rho_{K-1}, Im rho_0..rho_{K-1}]``, ``(L, emb_dim)`` (App. D.3).

    ``t`` runs over ``[0, 1]``, ``rho_k = exp(-i f_k w)`` with ``w = 2 pi n / L`` at position ``n``
    and ``K = (emb_dim - 1) / 2`` frequencies ``f = linspace(1e-4, K - 1, K)`` (official code).
    """
    bands = (emb_dim - 1) // 2
    t = torch.linspace(0, 1, L)[:, None]  # (L, 1)
    w = 2 * math.pi * torch.arange(L, dtype=torch.float32)[:, None] / L  # (L, 1)
    f = torch.linspace(1e-4, bands - 1, bands)[None, :]  # (1, K)
    rho = torch.exp(-1j * f * w)  # (L, K) complex
    return torch.cat([t, rho.real, rho.imag], dim=-1)


@_checker("positional_encoding")
def check_positional_encoding(fn: Callable[[int, int], torch.Tensor]) -> str:
    """Check ``fn(L, emb_dim)`` against :class:`hyena_lab.filters.PositionalEncoding`."""
    from .filters import PositionalEncoding

    _need_callable(fn, "fn(L, emb_dim) -> z")
    for L, emb_dim in ((16, 3), (33, 7), (64, 9)):
        where = f"L={L}, emb_dim={emb_dim}"
        z = _as_tensor(_run(fn, L, emb_dim, where=where), (L, emb_dim), "z", where).double()
        ref = PositionalEncoding(emb_dim, L, learnable=False).z.double()
        if _close(z, ref, 1e-5):
            continue
        K = (emb_dim - 1) // 2
        if not torch.allclose(z[:, 0], ref[:, 0], atol=1e-6):
            raise _Wrong(f"column 0 must be t = linspace(0, 1, L) ({where})")
        if _close(z[:, 1 + K :], -ref[:, 1 + K :], 1e-5):
            raise _Wrong(f"the imaginary part has the wrong sign ({where}): rho = exp(-i f w)")
        if not _close(z[:, 1 : 1 + K], ref[:, 1 : 1 + K], 1e-3):
            raise _Wrong(
                f"columns 1..K must be Re rho_k = cos(f_k w), then K columns Im rho_k; with "
                f"f = linspace(1e-4, K - 1, K) and w = 2 pi n / L ({where})"
            )
        raise _Wrong(
            f"the imaginary columns differ ({where}): the first frequency is 1e-4, not 0 "
            f"(f = linspace(1e-4, K - 1, K)), and w = 2 pi n / L"
        )
    return "equals PositionalEncoding(emb_dim, L).z: [t, Re rho, Im rho] for K = 1, 3, 4 bands"


# =============================================================================================
# Chapter 4: associative recall (Sec. 4.1, App. A.1)
# =============================================================================================
def solution_make_recall_example(
    pairs: Sequence[tuple[int, int]], query: int, vocab_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """One recall example ``k1 v1 ... kP vP => q`` as ``(inputs, targets)``, both ``(2P + 2,)``.

    ``pairs`` hold (key number, value number) with key numbers in ``[0, num_keys)`` and value
    numbers in ``[0, num_values)`` of :func:`hyena_lab.tasks.recall_vocab`; token ids add the
    offsets ``key_start`` / ``value_start``. ``targets`` is -100 except the last position, the
    query's value. Raises ``ValueError`` when the query key is not in the pairs.
    """
    from .tasks import IGNORE_INDEX, PROMPT, recall_vocab

    vocab = recall_vocab(vocab_size)
    value_of = dict(pairs)
    if query not in value_of:
        raise ValueError(f"query key {query} does not occur in the pairs {list(pairs)}")
    tokens = [t for k, v in pairs for t in (vocab.key_start + k, vocab.value_start + v)]
    inputs = torch.tensor([*tokens, PROMPT, vocab.key_start + query], dtype=torch.int64)
    targets = torch.full_like(inputs, IGNORE_INDEX)
    targets[-1] = vocab.value_start + value_of[query]
    return inputs, targets


@_checker("make_recall_example")
def check_make_recall_example(
    fn: Callable[[list[tuple[int, int]], int, int], tuple[torch.Tensor, torch.Tensor]],
) -> str:
    """Check ``fn(pairs, query, vocab_size)`` against rows of ``tasks.associative_recall``."""
    from .tasks import IGNORE_INDEX, associative_recall, recall_vocab

    _need_callable(fn, "fn(pairs, query, vocab_size) -> (inputs, targets)")
    checked = 0
    for seq_len, vocab_size in ((4, 6), (10, 12), (20, 30)):
        vocab = recall_vocab(vocab_size)
        inputs, targets = associative_recall(3, seq_len, vocab_size, seed=seq_len)
        for row, target in zip(inputs, targets, strict=True):
            keys = (row[:-2:2] - vocab.key_start).tolist()
            values = (row[1:-2:2] - vocab.value_start).tolist()
            pairs = list(zip(keys, values, strict=True))
            query = int(row[-1]) - vocab.key_start
            where = f"pairs={pairs}, query={query}, vocab_size={vocab_size}"
            out = _run(fn, pairs, query, vocab_size, where=where)
            if not (isinstance(out, tuple) and len(out) == 2):
                raise _Wrong(f"return a pair (inputs, targets), got {type(out).__name__}")
            got_in, got_t = out
            for name, got in (("inputs", got_in), ("targets", got_t)):
                if not isinstance(got, torch.Tensor) or got.dtype != torch.int64:
                    raise _Wrong(f"{name} must be an int64 tensor (token ids) ({where})")
                if tuple(got.shape) != (seq_len,):
                    raise _Wrong(
                        f"{name} has shape {tuple(got.shape)}, expected ({seq_len},): 2 tokens "
                        f"per pair, then '=>' and the query ({where})"
                    )
            if not torch.equal(got_in, row):
                if torch.equal(got_in[:-2:2], row[:-2:2] - vocab.key_start):
                    raise _Wrong(
                        f"key numbers are not token ids ({where}): add recall_vocab(vocab_size)"
                        f".key_start = {vocab.key_start} (and value_start to values)"
                    )
                raise _Wrong(f"inputs {got_in.tolist()}, expected {row.tolist()} ({where})")
            if not torch.equal(got_t, target):
                if (got_t[:-1] != IGNORE_INDEX).any():
                    raise _Wrong(
                        f"only the last position is scored: targets[:-1] must be -100 ({where})"
                    )
                raise _Wrong(
                    f"targets[-1] = {int(got_t[-1])}, expected the token id of the query's value "
                    f"{int(target[-1])} ({where})"
                )
            checked += 1
    try:
        fn([(0, 0)], 1, 8)
    except ValueError:
        pass
    except Exception as err:
        raise _Wrong(
            f"a query absent from the pairs should raise ValueError, got "
            f"{type(err).__name__}: {err}"
        ) from None
    else:
        raise _Wrong("a query absent from the pairs must raise ValueError (it has no answer)")
    return (
        f"{checked} examples equal rows of tasks.associative_recall token for token, and a query "
        f"absent from the context raises ValueError"
    )


def solution_recall_by_lookup(inputs: torch.Tensor) -> torch.Tensor:
    """Solve recall without learning: the value after the query's last earlier occurrence.

    ``inputs`` ``(N, L)``: ``... k v ... => q``. Returns ``(N,)`` predicted value tokens. This is
    the data-controlled lookup that a model has to implement (attention does it in one layer).
    """
    query = inputs[:, -1]  # (N,)
    context = inputs[:, :-2]  # (N, L - 2): drop '=>' and the query itself
    hits = context[:, :-1] == query[:, None]  # (N, L - 3): a key equal to the query
    last = hits.shape[1] - 1 - hits.flip(1).to(torch.int8).argmax(dim=1)  # last hit per row
    return context.gather(1, (last + 1)[:, None])[:, 0]  # the token right after it


@_checker("recall_by_lookup")
def check_recall_by_lookup(fn: Callable[[torch.Tensor], torch.Tensor]) -> str:
    """Check ``fn(inputs) -> answers`` reaches 100% on ``tasks.associative_recall`` data."""
    from .tasks import associative_recall

    _need_callable(fn, "fn(inputs) -> answers")
    total = 0
    for seq_len, vocab_size in ((16, 10), (31, 20), (64, 40)):
        inputs, targets = associative_recall(200, seq_len, vocab_size, seed=seq_len)
        where = f"200 examples, seq_len={seq_len}, vocab_size={vocab_size}"
        pred = _run(fn, inputs.clone(), where=where)
        if not isinstance(pred, torch.Tensor) or tuple(pred.shape) != (200,):
            shape = tuple(pred.shape) if isinstance(pred, torch.Tensor) else type(pred).__name__
            raise _Wrong(f"return one token per example, shape (200,), got {shape} ({where})")
        answer = targets[:, -1]
        accuracy = float((pred.long() == answer).float().mean())
        if accuracy < 1.0:
            if bool((pred.long() == inputs[:, -1]).float().mean() > 0.5):
                raise _Wrong(
                    f"you return the query key itself ({where}): return the token right AFTER "
                    f"its earlier occurrence"
                )
            raise _Wrong(
                f"accuracy {accuracy:.1%} ({where}), expected 100%: this task has one right "
                f"answer per example"
            )
        total += 200
    return f"100% on {total} examples: the lookup a model must learn (where depends on the query)"


def solution_query_accuracy(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Accuracy of ``argmax(logits)`` over scored positions (``targets != -100``) only.

    ``logits`` ``(N, L, vocab)``, ``targets`` ``(N, L)`` int64 with -100 where nothing is scored.
    """
    scored = targets != -100  # (N, L)
    pred = logits.argmax(dim=-1)  # (N, L)
    return float((pred[scored] == targets[scored]).float().mean())


@_checker("query_accuracy")
def check_query_accuracy(fn: Callable[[torch.Tensor, torch.Tensor], float]) -> str:
    """Check ``fn(logits, targets)`` on recall targets scored at the query or everywhere."""
    from .tasks import associative_recall

    _need_callable(fn, "fn(logits, targets) -> float")
    for score in ("query", "all"):
        _, targets = associative_recall(32, 12, 10, seed=5, score=score)
        g = _seeded(9)
        logits = torch.randn(32, 12, 10, generator=g, dtype=torch.float64)
        # make exactly the first half of the examples right at their scored positions
        right = targets.clamp(min=0)
        logits[:16].scatter_(2, right[:16, :, None], 100.0)
        expected = solution_query_accuracy(logits, targets)
        where = f"targets scored at {'the query only' if score == 'query' else 'every position'}"
        got = _run(fn, logits.clone(), targets.clone(), where=where)
        try:
            got = float(got)
        except (TypeError, ValueError):
            raise _Wrong(f"return a number in [0, 1], got {type(got).__name__} ({where})") from None
        if abs(got - expected) < 1e-9:
            continue
        every = float((logits.argmax(-1) == targets).float().mean())
        if abs(got - every) < 1e-9:
            raise _Wrong(
                f"positions with target -100 count in your mean ({where}): keep only "
                f"targets != -100"
            )
        raise _Wrong(f"returned {got:.4f}, expected {expected:.4f} ({where})")
    return "right with targets scored at the query only and at every position (-100 ignored)"


# =============================================================================================
# Chapter 5: GPU kernels, FLOPs and memory (Sec. 4.4)
# =============================================================================================
def solution_attention_flops(
    batch: int, heads: int, L: int, head_dim: int, causal: bool = True
) -> float:
    """FLOPs of ``QK^T`` and ``PV`` in scaled dot-product attention (softmax left out).

    Each product is a multiply-add (2 FLOP) per (query, key) pair and per head dimension; there
    are two products; a causal kernel computes only the ``L (L + 1) / 2`` pairs with key <= query.
    """
    pairs = L * (L + 1) / 2 if causal else float(L * L)
    return 2 * 2.0 * batch * heads * head_dim * pairs


@_checker("attention_flops")
def check_attention_flops(fn: Callable[..., float]) -> str:
    """Check ``fn(batch, heads, L, head_dim, causal)`` against ``roofline.attention_cost``."""
    from .roofline import attention_cost

    _need_callable(fn, "fn(batch, heads, L, head_dim, causal) -> flops")
    cases = [(2, 3, 5, 4), (64, 12, 8192, 64), (8, 16, 65536, 128), (1, 1, 1, 1)]
    for batch, heads, L, head_dim in cases:
        for causal in (True, False):
            where = f"batch={batch}, heads={heads}, L={L}, head_dim={head_dim}, causal={causal}"
            got = _run(fn, batch, heads, L, head_dim, causal, where=where)
            try:
                got = float(got)
            except (TypeError, ValueError):
                raise _Wrong(f"return a number of FLOPs, got {type(got).__name__}") from None
            ref = attention_cost(batch, heads, L, head_dim, causal=causal).flops
            if math.isclose(got, ref, rel_tol=1e-9):
                continue
            ratio = got / ref
            if math.isclose(ratio, 0.5, rel_tol=1e-6):
                raise _Wrong(
                    f"half the reference ({where}): 2 FLOP per multiply-add, and two "
                    f"products (QK^T and PV)"
                )
            if causal and L > 1 and math.isclose(got, 2 * ref * L / (L + 1), rel_tol=1e-6):
                raise _Wrong(f"the causal mask keeps L (L + 1) / 2 pairs, not L^2 ({where})")
            if causal and L > 1 and math.isclose(got, ref * L / (L + 1), rel_tol=1e-6):
                raise _Wrong(f"count the diagonal: L (L + 1) / 2 pairs, not L^2 / 2 ({where})")
            raise _Wrong(f"returned {got:.4g}, expected {ref:.4g} ({where})")
    return "4 N H L^2 d_h (x (L+1)/2L when causal) equals roofline.attention_cost on 8 shapes"


def solution_max_naive_attention_length(
    batch: int, heads: int, memory_bytes: int, elt_bytes: int = 2
) -> int:
    """Longest ``L`` whose ``(batch, heads, L, L)`` score matrix fits in ``memory_bytes``.

    A naive attention materialises ``softmax(QK^T)``: ``batch * heads * L^2 * elt_bytes`` bytes for
    one layer's forward alone (FlashAttention never stores it). This is why the plain
    Transformer is "X" (out of memory) in Table 4.2.
    """
    return math.isqrt(memory_bytes // (batch * heads * elt_bytes))


@_checker("max_naive_attention_length")
def check_max_naive_attention_length(fn: Callable[..., int]) -> str:
    """Check ``fn(batch, heads, memory_bytes, elt_bytes)`` exactly, off-by-one included."""
    _need_callable(fn, "fn(batch, heads, memory_bytes, elt_bytes) -> L")
    gib = 2**30
    cases = [
        (1, 1, 8, 2),
        (1, 1, 100, 4),
        (1, 12, 80 * gib, 2),
        (32, 12, 80 * gib, 2),
        (64, 16, 141 * 10**9, 4),
    ]
    for batch, heads, memory, elt in cases:
        where = f"batch={batch}, heads={heads}, memory_bytes={memory}, elt_bytes={elt}"
        got = _run(fn, batch, heads, memory, elt, where=where)
        if isinstance(got, float) and got.is_integer():
            got = int(got)
        if not isinstance(got, int):
            raise _Wrong(f"return a whole length L (int), got {got!r} ({where})")
        ref = solution_max_naive_attention_length(batch, heads, memory, elt)
        if got == ref:
            continue

        def need(n: int, b: int = batch, h: int = heads, e: int = elt) -> int:
            return b * h * n * n * e

        if got > ref:
            raise _Wrong(f"at L={got} the scores need {need(got):,} bytes > {memory:,} ({where})")
        raise _Wrong(f"L={got} fits, but so does L={got + 1} ({need(got + 1):,} bytes) ({where})")
    return (
        "exact on 5 cases: at batch 32, 12 heads, bf16, one layer's scores fill 80 GiB at "
        f"L = {solution_max_naive_attention_length(32, 12, 80 * gib, 2):,}"
    )


def solution_published_speedups() -> dict[int, float]:
    """Speedup ``t_attention / t_hyena`` of Hyena over FlashAttention per length (Fig. 4.3)."""
    data = PAPER_FIGURE_4_3_MS
    return {
        L: t_attn / t_hyena
        for L, t_attn, t_hyena in zip(
            data["lengths"], data["flash_attention"], data["hyena"], strict=True
        )
    }


@_checker("published_speedups")
def check_published_speedups(answer: Mapping[int, float]) -> str:
    """Check a dict ``{L: speedup}`` at (at least) L = 8192 and 65536 from Figure 4.3's data."""
    ref = solution_published_speedups()
    if not isinstance(answer, Mapping):
        raise _Wrong(f"expected a dict {{length: speedup}}, got {type(answer).__name__}")
    for L in (8192, 65536):
        if L not in answer:
            raise _Wrong(f"no entry for L={L}; keys must be the lengths, e.g. {{8192: ...}}")
        try:
            got = float(answer[L])
        except (TypeError, ValueError):
            raise _Wrong(f"the speedup at L={L} must be a number, got {answer[L]!r}") from None
        if math.isclose(got, ref[L], rel_tol=0.02):
            continue
        if math.isclose(got, 1 / ref[L], rel_tol=0.02):
            raise _Wrong(
                f"inverted at L={L}: speedup = t_attention / t_hyena (> 1 when Hyena is faster)"
            )
        if L == 65536 and got >= 50:
            raise _Wrong(
                f"{got:g} at 64K is the abstract's '100x' claim; Figure 4.3's own data say "
                f"otherwise: divide the measured times"
            )
        raise _Wrong(f"speedup at L={L} is {ref[L]:.2f} in the published data, you have {got:.3g}")
    return (
        f"{ref[8192]:.1f}x at 8K and {ref[65536]:.1f}x at 64K in the paper's own data: the "
        "abstract's '100x at 64K' is not what Figure 4.3 shows"
    )


def solution_fftconv_variant(u: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """``fftconv`` with one memory pass less: ``rfft`` pads by itself (no explicit zero-pad copy).

    Half-precision inputs are computed in float32 (cuFFT's half FFTs need power-of-two sizes)
    and cast back once at the end; the result has the dtype of ``u``.
    """
    L = u.shape[-1]
    compute = torch.float32 if u.dtype in (torch.float16, torch.bfloat16) else u.dtype
    u_f = torch.fft.rfft(u.to(compute), n=2 * L)  # rfft zero-pads to n itself
    k_f = torch.fft.rfft(k.to(compute), n=2 * L)
    return torch.fft.irfft(u_f * k_f, n=2 * L)[..., :L].to(u.dtype)


@_checker("fftconv_variant")
def check_fftconv_variant(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> str:
    """Check a faster ``fftconv`` variant ``fn(u, k)`` for float32 and bfloat16 inputs.

    Before timing a variant, make sure it still computes the causal convolution: compared with
    the float64 definition, relative error below 1e-5 (float32) or 2e-2 (bfloat16), output in
    the input's dtype, odd lengths included.
    """
    _need_callable(fn, "fn(u, k) -> y")
    tolerance = {torch.float32: 1e-5, torch.bfloat16: 2e-2}
    for dtype, tol in tolerance.items():
        for L in (7, 64, 1000):
            g = _seeded(300 + L)
            u = torch.randn(2, 8, L, generator=g).to(dtype)  # (batch, d, L)
            k = (torch.randn(8, L, generator=g) / L**0.5).to(dtype)  # (d, L)
            where = f"{dtype}, u of shape {tuple(u.shape)}"
            y = _run(fn, u.clone(), k.clone(), where=where)
            if isinstance(y, torch.Tensor) and y.dtype != dtype:
                raise _Wrong(f"the output is {y.dtype}; return the input's dtype ({where})")
            y = _as_tensor(y, tuple(u.shape), "y", where)
            ref = direct_conv(u.double(), k.double())
            err = rel_err(y, ref)
            if err > tol:
                if L > 1 and rel_err(y, circular_fftconv(u.double(), k.double())) < tol:
                    raise _Wrong(f"the padding to 2L is gone: this wraps around ({where})")
                raise _Wrong(f"relative error {err:.2g} > {tol:.0e} ({where})")
    return "causal and accurate in float32 (< 1e-5) and bfloat16 (< 2e-2): now time it"


# =============================================================================================
# Registry
# =============================================================================================
@dataclass(frozen=True)
class Exercise:
    """One exercise: its chapter, a one-line task, the reference solution and the checker."""

    name: str
    chapter: int
    task: str
    solution: Callable[..., Any]
    check: Callable[..., CheckResult]


def _ex(chapter: int, name: str, task: str) -> Exercise:
    module = globals()
    return Exercise(name, chapter, task, module[f"solution_{name}"], module[f"check_{name}"])


#: Every exercise by name, in teaching order.
EXERCISES: dict[str, Exercise] = {
    e.name: e
    for e in (
        _ex(1, "toeplitz_product", "products of Toeplitz matrices: S_g S_h = S_(g*h)"),
        _ex(1, "fft_padding", "how much zero-padding is enough (and a counterexample)"),
        _ex(1, "crossover_length", "find the length from which the FFT beats the direct sum"),
        _ex(1, "causal_fftconv", "causal convolution via FFT with zero-padding, from scratch"),
        _ex(2, "constant_gates_filter", "constant gates make one filter"),
        _ex(2, "materialize_cost", "count the bytes of A(u) and the work of A @ v vs FFTs"),
        _ex(2, "official_recurrence", "the official order-2 recurrence by hand"),
        _ex(2, "hyena_recurrence", "the order-N recurrence by hand, checked against materialize"),
        _ex(3, "positional_encoding", "the positional encoding of the implicit filter"),
        _ex(3, "decay_fraction", "where each channel's window reaches its target"),
        _ex(3, "s4d_kernel", "an S4D kernel in closed form (ZOH)"),
        _ex(4, "make_recall_example", "make a recall example by hand"),
        _ex(4, "recall_by_lookup", "solve recall with a lookup (what the model must learn)"),
        _ex(4, "query_accuracy", "accuracy over scored positions only"),
        _ex(5, "attention_flops", "count the FLOPs of (causal) attention"),
        _ex(5, "max_naive_attention_length", "when do attention scores fill the GPU?"),
        _ex(5, "published_speedups", "Hyena's speedup in Figure 4.3's own data"),
        _ex(5, "fftconv_variant", "a faster fftconv variant must stay correct"),
    )
}


def exercises(chapter: int | None = None) -> list[Exercise]:
    """The exercises of one chapter (1-5), or all of them."""
    if chapter is not None and chapter not in {e.chapter for e in EXERCISES.values()}:
        raise ValueError(f"chapter must be one of 1-5 (or None for all), got {chapter!r}")
    return [e for e in EXERCISES.values() if chapter is None or e.chapter == chapter]


def show_solution(name: str) -> str:
    """The source code of the reference solution of exercise ``name`` (for teachers)."""
    if name not in EXERCISES:
        raise KeyError(f"no exercise {name!r}; known: {', '.join(EXERCISES)}")
    return inspect.getsource(EXERCISES[name].solution)
