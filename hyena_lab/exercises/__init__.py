"""The exercises at the end of every chapter: reference solutions and checkers with feedback.

One module per chapter (:mod:`.ch01` ... :mod:`.ch05`) holds, for each exercise ``<name>``, a
short commented reference ``solution_<name>`` (:func:`show_solution` prints it for teachers) and
``check_<name>(answer)``, which runs the student's function (or value) on inputs whose answer is
known and returns a :class:`CheckResult`: ``PASS`` with what was verified, or ``NOT YET`` with what
is wrong and a hint (an exception in the student's code becomes the message); and it declares its
exercises in a tuple ``EXERCISES``. Here :data:`EXERCISES` joins those tuples in teaching order,
and every name is re-exported: ``from hyena_lab.exercises import check_causal_fftconv`` then
``check_causal_fftconv(my_fftconv)`` in a notebook. Paper references are to Poli et al., *Hyena
Hierarchy* (arXiv 2302.10866).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from types import ModuleType

from ..paper import PAPER_FIGURE_4_3_MS  # kept here too: chapters used to import it from here
from . import ch01, ch02, ch03, ch04, ch05
from .ch01 import (
    check_causal_fftconv,
    check_crossover_length,
    check_fft_padding,
    check_toeplitz_product,
    solution_causal_fftconv,
    solution_crossover_length,
    solution_fft_padding,
    solution_padding_counterexample,
    solution_toeplitz_product,
)
from .ch02 import (
    check_constant_gates_filter,
    check_hyena_recurrence,
    check_materialize_cost,
    check_official_recurrence,
    solution_constant_gates_filter,
    solution_hyena_recurrence,
    solution_materialize_cost,
    solution_official_recurrence,
)
from .ch03 import (
    check_decay_fraction,
    check_positional_encoding,
    check_s4d_kernel,
    solution_decay_fraction,
    solution_positional_encoding,
    solution_s4d_kernel,
)
from .ch04 import (
    check_make_recall_example,
    check_query_accuracy,
    check_recall_by_lookup,
    solution_make_recall_example,
    solution_query_accuracy,
    solution_recall_by_lookup,
)
from .ch05 import (
    check_attention_flops,
    check_fftconv_variant,
    check_max_naive_attention_length,
    check_published_speedups,
    solution_attention_flops,
    solution_fftconv_variant,
    solution_max_naive_attention_length,
    solution_published_speedups,
)
from .feedback import EXACT, FLOAT32_ROUNDOFF, CheckResult, Exercise

__all__ = [
    "CHAPTERS", "EXACT", "EXERCISES", "FLOAT32_ROUNDOFF", "PAPER_FIGURE_4_3_MS", "CheckResult",
    "Exercise", "check_attention_flops", "check_causal_fftconv", "check_constant_gates_filter",
    "check_crossover_length", "check_decay_fraction", "check_fft_padding", "check_fftconv_variant",
    "check_hyena_recurrence", "check_make_recall_example", "check_materialize_cost",
    "check_max_naive_attention_length", "check_official_recurrence", "check_positional_encoding",
    "check_published_speedups", "check_query_accuracy", "check_recall_by_lookup",
    "check_s4d_kernel", "check_toeplitz_product", "exercises", "show_solution",
    "solution_attention_flops", "solution_causal_fftconv", "solution_constant_gates_filter",
    "solution_crossover_length", "solution_decay_fraction", "solution_fft_padding",
    "solution_fftconv_variant", "solution_hyena_recurrence", "solution_make_recall_example",
    "solution_materialize_cost", "solution_max_naive_attention_length",
    "solution_official_recurrence", "solution_padding_counterexample",
    "solution_positional_encoding", "solution_published_speedups", "solution_query_accuracy",
    "solution_recall_by_lookup", "solution_s4d_kernel", "solution_toeplitz_product",
]  # fmt: skip

#: The chapter modules, in teaching order; each declares its exercises in ``EXERCISES``.
CHAPTERS: tuple[ModuleType, ...] = (ch01, ch02, ch03, ch04, ch05)


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
