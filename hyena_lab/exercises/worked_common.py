"""What every worked solution shares: the :class:`WorkedSolution` record and the number formats.

A worked solution answers an *open* part of a chapter's exercises, the question a checker cannot
grade. ``solve(fast)`` computes the numbers the answer rests on (seeded, deterministic: counted
work, committed records under ``figures/data/`` and short trainings by steps, never a clock);
``answer(results)`` writes the markdown answer, every number in it formatted from ``results``;
``figure(results)`` draws what helps, from ``results`` alone. ``fast=True`` runs the same code
on smaller settings (what the tests use).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

__all__ = [
    "Results",
    "WorkedSolution",
    "claim",
    "fixed",
    "listing",
    "pct",
    "plural",
    "ratio",
    "toeplitz_defect",
]

#: What a solver returns: numbers, strings, lists of them, nested dicts, tensors (for figures).
Results = dict[str, Any]


@dataclass(frozen=True)
class WorkedSolution:
    """The worked solution of one open exercise part.

    Attributes:
        name: ``"chNN_exM"``, e.g. ``"ch04_ex2"``.
        chapter, exercise: where the question is (chapter number, exercise number in it).
        question: the open question, markdown, quoted from the chapter's exercise section.
        solve: ``solve(fast=False) -> dict``, the numbers the answer rests on (deterministic).
        answer: ``answer(results) -> str``, the markdown answer: the why, the paper section, the
            likely misconception; every number in it formatted from ``results``.
        figure: ``figure(results) -> Figure`` or ``None``: labelled axes with units.
        paper: the paper section (or other source) the answer cites.
        claims: ``claims(results)`` asserts what the answer says about signs and orderings
            (``AssertionError`` naming the claim that does not hold); run by the tests on the
            fast results and by ``course/solutions.py`` on the full ones.
    """

    name: str
    chapter: int
    exercise: int
    question: str
    solve: Callable[..., Results]
    answer: Callable[[Mapping[str, Any]], str]
    figure: Callable[[Mapping[str, Any]], Any] | None = None
    paper: str = ""
    claims: Callable[[Mapping[str, Any]], None] | None = None

    def __post_init__(self) -> None:
        expected = f"ch{self.chapter:02d}_ex{self.exercise}"
        if self.name != expected:
            raise ValueError(
                f"a worked solution of chapter {self.chapter}, exercise "
                f"{self.exercise} is named {expected!r}, got {self.name!r}"
            )

    def __call__(self, fast: bool = False) -> tuple[Results, str]:
        """``(results, answer)`` in one call."""
        results = self.solve(fast=fast)
        return results, self.answer(results)


def claim(holds: object, says: str) -> None:
    """Assert one claim an answer makes: ``AssertionError`` quoting it if it does not hold."""
    if not holds:
        raise AssertionError(f"the answer claims {says!r}, which the results do not support")


def fixed(x: float, digits: int = 2) -> str:
    """``x`` with ``digits`` decimals and thousands separators (``'1,234.5'``)."""
    return f"{x:,.{digits}f}"


def pct(x: float, digits: int = 1) -> str:
    """A fraction as a percentage: ``pct(0.987) == '98.7%'``."""
    return f"{100 * x:.{digits}f}%"


def ratio(x: float, digits: int = 1) -> str:
    """A speedup or a ratio: ``ratio(11.36) == '11.4x'``."""
    return f"{x:,.{digits}f}x"


def listing(items: Iterable[object], last: str = "and") -> str:
    """``'1, 2 and 3'`` (``last='or'`` for alternatives)."""
    words = [str(i) for i in items]
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {last} {words[-1]}"


def plural(n: int, word: str) -> str:
    """``'1 run'``, ``'3 runs'``."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def toeplitz_defect(M: torch.Tensor) -> float:
    """How far a lower-triangular ``M`` ``(L, L)`` is from Toeplitz: ``||M - T|| / ||M||`` with
    ``T`` the Toeplitz matrix of the mean of each diagonal of ``M`` (0 exactly for a ``S_h``)."""
    L = M.shape[-1]
    T = torch.zeros_like(M)
    for j in range(L):  # lag j: the j-th subdiagonal
        diag = torch.diagonal(M, offset=-j)
        T += torch.diag_embed(diag.mean().expand(L - j), offset=-j)
    return float(torch.linalg.matrix_norm(M - T) / torch.linalg.matrix_norm(M))
