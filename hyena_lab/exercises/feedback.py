"""What every chapter's exercises share: the verdict a student sees (:class:`CheckResult`), the
:class:`Exercise` a chapter registers, the :func:`checker` decorator that turns the first problem
found (:class:`Wrong`) into ``NOT YET``, and :class:`Case`, one input a checker tries.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from ..checks import rel_err

#: Relative error below which a float64 answer counts as exact. A student may take any float64
#: route (an FFT, a closed form, a loop); on the checkers' seeded O(1) inputs (<= ~10^4 terms per
#: output) its round-off stays below ~1e-12 (see ``checks.F64_FFT_CHAIN``). Computing in float32
#: instead leaves eps32 = 1.2e-7 or more, and a real mistake far more: 1e-8 lies between, with
#: margins of 1e4 and 10.
EXACT = 1e-8
#: Worst relative error of float32 round-off here (eps32 grown over up to ~10^3 accumulated
#: terms); an answer between EXACT and this was most likely computed in float32, and we say so.
FLOAT32_ROUNDOFF = 1e-4


@dataclass(frozen=True, repr=False)
class CheckResult:
    """A checker's verdict, truthy when passed (``assert check_x(fn)`` works); shown as
    ``PASS · name: what was verified`` or ``NOT YET · name: what is wrong``."""

    exercise: str
    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return f"{'PASS' if self.passed else 'NOT YET'} · {self.exercise}: {self.message}"

    __repr__ = __str__


@dataclass(frozen=True)
class Exercise:
    """One exercise: its chapter, a one-line task, the reference solution and the checker."""

    name: str
    chapter: int
    task: str
    solution: Callable[..., Any]
    check: Callable[..., CheckResult]


class Wrong(Exception):
    """Raised inside a checker at the first problem found; becomes a failing CheckResult."""


def checker(
    signature: str | None = None,
) -> Callable[[Callable[..., str]], Callable[..., CheckResult]]:
    """Turn ``check_<name>(answer, ...) -> success message`` into a checker of exercise ``name``
    returning a CheckResult. With ``signature`` (e.g. ``"fn(u, k) -> y"``) the answer must be the
    student's function; a non-callable answer fails with that signature in the message."""

    def wrap(body: Callable[..., str]) -> Callable[..., CheckResult]:
        exercise = body.__name__.removeprefix("check_")

        @functools.wraps(body)
        def check(answer: Any, *args: Any, **kwargs: Any) -> CheckResult:
            try:
                if signature is not None:
                    need_callable(answer, signature)
                return CheckResult(exercise, True, body(answer, *args, **kwargs))
            except Wrong as wrong:
                return CheckResult(exercise, False, str(wrong))

        return check

    return wrap


def need_callable(fn: object, signature: str) -> None:
    """Fail unless ``fn`` is a function (the student passed a value instead)."""
    if not callable(fn):
        raise Wrong(f"expected your function `{signature}`, got {type(fn).__name__} {fn!r:.60}")


def close(a: torch.Tensor, b: torch.Tensor, tol: float = EXACT) -> bool:
    """Same shape and relative error at most ``tol``."""
    return tuple(a.shape) == tuple(b.shape) and rel_err(a, b) <= tol


def seeded(seed: int) -> torch.Generator:
    """A CPU generator seeded with ``seed``: checkers never touch the global RNG."""
    return torch.Generator().manual_seed(seed)


def _copy(arg: Any) -> Any:
    """A copy of a tensor or of a list of tensors, so that the student's code cannot change ours."""
    if isinstance(arg, torch.Tensor):
        return arg.clone()
    return [_copy(a) for a in arg] if isinstance(arg, list) else arg


@dataclass(frozen=True)
class Case:
    """One input a checker tries, described by ``where`` (e.g. ``"L=7"``), which every message
    about it names; its methods call the student's function and check the answer."""

    where: str

    def fail(self, message: str) -> Wrong:
        """The failure ``message (where)``, to raise."""
        return Wrong(f"{message} ({self.where})")

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn`` on copies of ``args``; an exception in the student's code becomes feedback."""
        try:
            return fn(*(_copy(a) for a in args))
        except Exception as err:  # the student's bug, reported as such
            raise Wrong(
                f"your function raised {type(err).__name__} ({self.where}): {err}"
            ) from None

    def tensor(
        self, y: object, shape: tuple[int, ...], what: str = "y", hints: dict | None = None
    ) -> torch.Tensor:
        """``y`` checked to be a finite real tensor of ``shape``; ``hints`` maps a wrong shape
        that a typical mistake produces to what to tell."""
        if not isinstance(y, torch.Tensor):
            raise self.fail(f"{what} must be a torch.Tensor, got {type(y).__name__}")
        if y.is_complex():
            raise self.fail(f"{what} is complex; the answer is real: take `.real`")
        if (got := tuple(y.shape)) != shape:
            raise self.fail((hints or {}).get(got, f"{what} has shape {got}, expected {shape}"))
        if not torch.isfinite(y).all():
            raise self.fail(f"{what} holds NaN or inf")
        return y.detach()

    def number(self, got: Any, what: str) -> float:
        """``got`` as a float; else fails with ``return {what}``."""
        try:
            return float(got)
        except (TypeError, ValueError):
            raise self.fail(f"return {what}, got {got!r:.60}") from None

    def integer(self, got: Any, what: str) -> int:
        """``got`` as an int (a float with a whole value counts); else fails."""
        if isinstance(got, float) and got.is_integer():
            return int(got)
        try:
            return operator.index(got)  # int, numpy or one-element torch integers
        except TypeError:
            raise self.fail(f"return {what} (int), got {got!r:.60}") from None

    def pair(self, got: Any, names: str, who: str = "your function") -> tuple[Any, Any]:
        """``got`` checked to be a pair, e.g. ``names="(u, h)"``."""
        if not (isinstance(got, tuple) and len(got) == 2):
            raise self.fail(f"{who} must return a pair {names}, got {type(got).__name__}")
        return got

    def diagnose(self, hints: Mapping[str, bool]) -> None:
        """Fail with the first of ``hints`` (hint -> whether the answer is that typical mistake;
        a last ``True`` is the fallback) that holds, if any."""
        for hint, holds in hints.items():
            if holds:
                raise self.fail(hint)

    def expect(
        self, y: torch.Tensor, ref: torch.Tensor, hints: Mapping[str, bool], tol: float = EXACT
    ) -> bool:
        """True if ``y`` matches ``ref`` within ``tol``; else :meth:`diagnose`, then False."""
        if close(y, ref, tol):
            return True
        self.diagnose(hints)
        return False

    def mismatch(self, y: torch.Tensor, ref: torch.Tensor, compared: str = "") -> Wrong:
        """A generic 'values differ' failure, with the float32 hint where it fits."""
        err, at = rel_err(y, ref), f"{self.where}{compared}"
        if err < FLOAT32_ROUNDOFF:
            return Wrong(
                f"close but not exact ({at}): relative error {err:.1e} > {EXACT:.0e}, the size "
                f"of float32 round-off; compute in the dtype of the inputs (float64)"
            )
        return Wrong(f"wrong values ({at}): relative error {err:.2g} against the reference")
