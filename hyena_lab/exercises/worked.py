"""Worked solutions of the open exercise parts, for teachers (issue 20).

Every chapter ends with exercises. The parts a checker grades have reference solutions in
``hyena_lab.exercises.chNN`` (:func:`hyena_lab.exercises.show_solution`); the *open* parts, the
questions no checker can grade (why, how does it change, what does it say), are answered here.
``WORKED[name]`` is a :class:`WorkedSolution`: the question quoted from the chapter,
``solve(fast=False)`` for the numbers the answer rests on (seeded and deterministic: counted
work, committed records under ``figures/data/``, short trainings by steps; never a clock) and
``answer(results)``, markdown whose every number is formatted from those results, with the why,
the paper's section and the misconception a student is likely to have. ``course/solutions.py``
shows them all.

The solutions live in one module per group of chapters: :mod:`.worked_ch00_02`,
:mod:`.worked_ch03`, :mod:`.worked_ch04`, :mod:`.worked_ch05`, :mod:`.worked_ch06`,
:mod:`.worked_ch07`,
:mod:`.worked_ch08`.
"""

from __future__ import annotations

from . import (
    worked_ch00_02,
    worked_ch03,
    worked_ch04,
    worked_ch05,
    worked_ch06,
    worked_ch07,
    worked_ch08,
)
from .worked_common import Results, WorkedSolution

__all__ = ["WORKED", "Results", "WorkedSolution", "worked_solution", "worked_solutions"]


def _registry() -> dict[str, WorkedSolution]:
    """Every module's ``WORKED`` by name, in teaching order; a name registered twice is an error."""
    out: dict[str, WorkedSolution] = {}
    modules = (worked_ch00_02, worked_ch03, worked_ch04, worked_ch05, worked_ch06, worked_ch07,
               worked_ch08)  # fmt: skip
    for module in modules:
        for w in module.WORKED:
            if w.name in out:
                raise ValueError(f"worked solution {w.name!r} is registered twice")
            out[w.name] = w
    return dict(sorted(out.items(), key=lambda kv: (kv[1].chapter, kv[1].exercise)))


#: Every worked solution by name (``"ch04_ex2"``), chapter by chapter, exercise by exercise.
WORKED: dict[str, WorkedSolution] = _registry()


def worked_solution(name: str) -> WorkedSolution:
    """The worked solution ``name`` (``"chNN_exM"``); ``KeyError`` naming the known ones."""
    if name not in WORKED:
        raise KeyError(f"no worked solution {name!r}; known: {', '.join(WORKED)}")
    return WORKED[name]


def worked_solutions(chapter: int | None = None) -> list[WorkedSolution]:
    """The worked solutions of one chapter (in exercise order), or all of them."""
    chapters = sorted({w.chapter for w in WORKED.values()})
    if chapter is not None and chapter not in chapters:
        raise ValueError(f"chapter must be one of {chapters} (or None for all), got {chapter!r}")
    return [w for w in WORKED.values() if chapter is None or w.chapter == chapter]
