"""The exercises at the end of every chapter: reference solutions and checkers with feedback.

Each chapter module (:mod:`.ch01` ... :mod:`.ch06`) registers its exercises in ``EXERCISES``: for
exercise ``<name>`` a reference ``solution_<name>`` (:func:`show_solution` prints it) and
``check_<name>(answer)``, which runs the student's function (or value) on inputs whose answer is
known and returns a :class:`CheckResult`: ``PASS`` with what was verified, or ``NOT YET`` with
what is wrong and a hint. Every ``check_*`` and ``solution_*`` is importable from here.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from types import ModuleType

from ..paper import PAPER_FIGURE_4_3_MS  # kept here too: chapters used to import it from here
from . import ch01, ch02, ch03, ch04, ch05, ch06
from .ch01 import solution_padding_counterexample
from .feedback import EXACT, FLOAT32_ROUNDOFF, CheckResult, Exercise
from .quizzes import QUIZ_CHAPTERS, Question, answer_key, check_answer, questions, quiz, quiz_text
from .worked import WORKED, WorkedSolution, worked_solution, worked_solutions

#: The chapter modules, in teaching order; each declares its exercises in ``EXERCISES``.
CHAPTERS: tuple[ModuleType, ...] = (ch01, ch02, ch03, ch04, ch05, ch06)


def _registry(chapters: Iterable[ModuleType]) -> dict[str, Exercise]:
    """Every chapter's ``EXERCISES`` by name, in order; a name registered twice is an error."""
    registry: dict[str, Exercise] = {}
    for module in chapters:
        for exercise in module.EXERCISES:
            if exercise.name in registry:
                raise ValueError(f"exercise {exercise.name!r} is registered twice")
            registry[exercise.name] = exercise
    return registry


#: Every exercise by name, in teaching order (chapter by chapter, each chapter's own order).
EXERCISES: dict[str, Exercise] = _registry(CHAPTERS)
# check_<name> and solution_<name> of every exercise, e.g. `from hyena_lab.exercises import
# check_causal_fftconv`, taken from the registry so that no list of them can go stale
_EXPORTS = {f"{kind}_{e.name}": getattr(e, kind) for e in EXERCISES.values()
            for kind in ("check", "solution")}  # fmt: skip
globals().update(_EXPORTS)
__all__ = [
    "CHAPTERS", "EXACT", "EXERCISES", "FLOAT32_ROUNDOFF", "PAPER_FIGURE_4_3_MS", "CheckResult",
    "Exercise", "QUIZ_CHAPTERS", "Question", "SolutionSource", "answer_key", "check_answer",
    "exercises", "questions", "quiz", "quiz_text", "show_solution",
    "solution_padding_counterexample", "WORKED", "WorkedSolution", "worked_solution",
    "worked_solutions",
    *_EXPORTS,
]  # fmt: skip


def exercises(chapter: int | None = None) -> list[Exercise]:
    """The exercises of one chapter (1-6), or all of them."""
    if chapter is not None and chapter not in {e.chapter for e in EXERCISES.values()}:
        raise ValueError(f"chapter must be one of 1-6 (or None for all), got {chapter!r}")
    return [e for e in EXERCISES.values() if chapter is None or e.chapter == chapter]


class SolutionSource(str):
    """Source code that displays as code: highlighted Python in JupyterLab and the book
    (``_repr_markdown_``), the lines themselves in a terminal (``repr``), a plain ``str``
    everywhere else."""

    def __repr__(self) -> str:
        return str(self)

    def _repr_markdown_(self) -> str:
        return f"```python\n{self.rstrip()}\n```"


def show_solution(name: str) -> SolutionSource:
    """The source code of the reference solution of exercise ``name`` (for teachers), shown as
    highlighted code when it is a cell's last value."""
    if name not in EXERCISES:
        raise KeyError(f"no exercise {name!r}; known: {', '.join(EXERCISES)}")
    return SolutionSource(inspect.getsource(EXERCISES[name].solution))
