"""The course syllabus (``course/syllabus.md``): one unit per week, generated from the chapters.

A teacher running the handbook as a 8-week course needs, per week: what to read in the paper,
which chapter(s) to work through, the exercises, a mini-project, the prerequisites and how long it
takes. Everything here that can be counted is counted from the chapters themselves, so that the
syllabus cannot drift from them:

* **running time**: each chapter's CPU time as ``make handbook`` recorded it
  (:func:`hyena_lab.course.load_chapter_times`, which names the machine);
* **size**: words of prose, display equations, code cells and graded exercises, counted in the
  chapter's jupytext source (:func:`count_chapter`) and in :mod:`hyena_lab.exercises`;
* **study time**: ``reading + exercises + running``, where reading is the counted words at
  :data:`READING_WPM` words per minute plus :data:`MINUTES_PER_EQUATION` per display equation, and
  exercises :data:`MINUTES_PER_EXERCISE` each. These rates are the handbook's stated assumption,
  not a measurement of students; the running time is measured. The syllabus says so.

``python -m hyena_lab.syllabus`` rewrites ``course/syllabus.md``; ``tests/test_syllabus.py`` fails
when the committed file differs from what the chapters give.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import course
from .exercises import EXERCISES
from .files import write_atomic

__all__ = [
    "MINUTES_PER_EQUATION", "MINUTES_PER_EXERCISE", "READING_WPM", "UNITS", "ChapterCount",
    "Unit", "count_chapter", "study_minutes", "syllabus_markdown", "write_syllabus",
]  # fmt: skip

#: Reading speed assumed for the chapters' prose: technical text read to be understood, about
#: half of a typical 200-250 words per minute for ordinary prose.
READING_WPM = 100
#: Minutes assumed per display equation ($$...$$), to follow it line by line.
MINUTES_PER_EQUATION = 2.0
#: Minutes assumed per graded exercise: write the function, run its checker, fix it once or twice.
MINUTES_PER_EXERCISE = 20.0

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SYLLABUS = ROOT / "course" / "syllabus.md"


@dataclass(frozen=True)
class Unit:
    """One week: its chapters, what to read in the paper, a mini-project, what it assumes."""

    week: int
    title: str
    chapters: tuple[int, ...]
    read: str
    project: str
    prerequisites: str


#: The eight weeks. A chapter still being written (``course.CHAPTERS[n].planned``) is a marked slot.
UNITS: tuple[Unit, ...] = (
    Unit(1, "Long convolutions and the FFT", (0, 1),
         "Sec. 1 (introduction) and Sec. 2.1 (explicit and implicit convolutions, the FFT, "
         "Toeplitz matrices)",
         "Time `direct_conv` against `fftconv` on your own machine with `hyena-lab conv-costs` and "
         "explain your crossover with the chapter's counted FLOPs.",
         "Python, PyTorch tensors, matrix-vector products"),
    Unit(2, "The Hyena operator as a matrix", (2,),
         "Sec. 2.2 (attention as a data-controlled matrix), Sec. 3.1 (Definition 3.1), Sec. 3.2 "
         "(Hyena matrices), Sec. 3.4 (Algorithm 3); App. D.1",
         "Materialise A(u) of an order-3 operator for two inputs and show where it differs from "
         "the attention matrix of the same inputs (chapter 02's widget is a start).",
         "Week 1 (Toeplitz matrices, causal convolution)"),
    Unit(3, "Implicit filters", (3,),
         "Sec. 3.3 (implicit long filters, eq. 7); App. D.3 (positional encoding, spectra); "
         "Table A.2",
         "Measure the 99% band of the initial filters against K and the Sin frequency w and "
         "relate it to App. D.3's claim (chapter 03 exercise 1).",
         "Week 1 (FFT, spectra)"),
    Unit(4, "Associative recall", (4,),
         "Sec. 4.1 (recall and other synthetic tasks); App. A.1 (Table A.1's recipe); App. C "
         "(Table C.1)",
         "Train Hyena, H3 and attention at vocabulary 30 and explain the ordering of Table C.1 on "
         "your runs (`hyena-lab recall-grid`).",
         "Weeks 2 and 3"),
    Unit(5, "Speed on a GPU", (5,),
         "Sec. 4.4 and Fig. 4.3; the abstract's speed claims",
         "Run `hyena-lab bench` on any GPU you have, or read the chapter's record, and place the "
         "long convolution on the roofline.",
         "Week 1 (FLOP counts); a GPU is optional"),
    Unit(6, "The FFT as matrix multiplies, fused kernels", (6,),
         "Sec. 4.4 (how a fast kernel is built); FlashFFTConv (Fu et al. 2023)",
         "Fit the block factors of a small DFT by gradient descent (chapter 06's last exercise).",
         "Week 5"),
    Unit(7, "A Hyena language model and its recurrent view", (7,),
         "Sec. 4.2 (language modelling); Laughing Hyena (Massaroli et al. 2023), its sections on "
         "modal distillation",
         "Train both models of `hyena-lab lm-compare` for 60 s on your machine and distil the "
         "Hyena's filters to r = 2, 4, 8 modes (`hyena-lab distill-sweep`).",
         "Weeks 2-4"),
    Unit(8, "Where gated convolutions fall short: multi-query recall", (8,),
         "Zoology (Arora et al. 2023), its MQAR task and Figure 2",
         "Find the smallest width at which Hyena solves MQAR at L = 64 and L = 128 on your "
         "machine with `hyena-lab mqar-grid` (budget an hour of CPU).",
         "Weeks 4 and 7"),
)  # fmt: skip


@dataclass(frozen=True)
class ChapterCount:
    """What a chapter holds, counted in its jupytext source."""

    words: int  # words of prose (markdown cells, math and code spans left out)
    equations: int  # display equations ($$ ... $$ blocks)
    code_cells: int


_DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.S)
_INLINE = re.compile(r"\$[^$\n]+\$|`[^`\n]+`")


def count_chapter(source: str) -> ChapterCount:
    """Count a py:percent chapter: prose words, display equations and code cells."""
    cells = re.split(r"^# %%", source, flags=re.M)[1:]  # text after each cell marker
    words = equations = code = 0
    for cell in cells:
        header, _, body = cell.partition("\n")
        if "[markdown]" not in header:
            code += 1
            continue
        text = "\n".join(line.removeprefix("#").removeprefix(" ") for line in body.splitlines())
        equations += len(_DISPLAY_MATH.findall(text))
        prose = _INLINE.sub(" ", _DISPLAY_MATH.sub(" ", text))
        words += len(re.findall(r"[A-Za-z][A-Za-z'-]*", prose))
    return ChapterCount(words, equations, code)


def study_minutes(count: ChapterCount, exercises: int, run_seconds: float | None) -> float:
    """Reading (words and equations at the stated rates) + exercises + the recorded run time."""
    run = 0.0 if run_seconds is None else run_seconds / 60
    return (count.words / READING_WPM + count.equations * MINUTES_PER_EQUATION
            + exercises * MINUTES_PER_EXERCISE + run)  # fmt: skip


def _hours(minutes: float) -> str:
    """Minutes as hours, rounded up to the next quarter hour (``"2.25 h"``)."""
    return f"{math.ceil(minutes / 15) / 4:g} h"


def _chapter_rows(
    unit: Unit, times: Mapping | None, notebooks: Path
) -> tuple[list[str], float, bool]:
    rows, total, complete = [], 0.0, True
    for number in unit.chapters:
        chapter = course.CHAPTERS[number]
        if chapter.planned:
            rows.append(f"| {number} | {chapter.title} | *slot: being written* | – | – | – |")
            complete = False
            continue
        count = count_chapter((notebooks / f"{chapter.stem}.py").read_text())
        graded = [e.name for e in EXERCISES.values() if e.chapter == number]
        seconds = course.chapter_seconds(times, chapter.stem)
        minutes = study_minutes(count, len(graded), seconds)
        total += minutes
        link = f"[{chapter.title}](../notebooks/{chapter.stem}.ipynb)"
        rows.append(f"| {number} | {link} | {count.words:,} words, {count.equations} equations, "
                    f"{count.code_cells} code cells | {len(graded)} | "
                    f"{course.format_seconds(seconds)} | {_hours(minutes)} |")  # fmt: skip
    return rows, total, complete


def syllabus_markdown(
    units: Sequence[Unit] = UNITS, times: Mapping | None = None, notebooks: Path = NOTEBOOKS
) -> str:
    """The syllabus as Markdown (``times``: the chapter-times record; read from disk if None)."""
    times = course.load_chapter_times() if times is None else times
    run = (times or {}).get("run", {})
    lines = [
        "# Syllabus: Hyena Hierarchy in eight weeks",
        "",
        "One unit per week. Each unit names what to read in the paper (Poli et al. 2023, "
        "arXiv 2302.10866, by section: the arXiv versions paginate differently, so no page "
        "numbers are given), the chapters to work through, their graded exercises (a checker "
        "replies on the spot; worked solutions are in *Worked solutions*), a mini-project and "
        "what the unit assumes.",
        "",
        "**How the study time is obtained.** The chapters' size is counted from their sources "
        "and their running time is measured (the last `make handbook`, on "
        f"{run.get('cpu', 'an unrecorded CPU')}, {run.get('num_threads', '?')} threads, "
        f"{run.get('date', 'undated')}); the study time adds reading at {READING_WPM} words per "
        f"minute, {MINUTES_PER_EQUATION:g} minutes per display equation and "
        f"{MINUTES_PER_EXERCISE:g} minutes per graded exercise. Those three rates are this "
        "handbook's assumption, not a measurement of students: adjust them after your first "
        "run of the course. Mini-projects are not included.",
        "",
    ]
    for unit in units:
        rows, minutes, complete = _chapter_rows(unit, times, notebooks)
        total = _hours(minutes) + ("" if complete else " so far")
        lines += [
            f"## Week {unit.week}: {unit.title}",
            "",
            f"- **Read**: {unit.read}.",
            f"- **Prerequisites**: {unit.prerequisites}.",
            f"- **Mini-project**: {unit.project}",
            f"- **Study time**: {total} (chapters below).",
            "",
            "| ch. | chapter | size | graded exercises | CPU run time | study time |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    return "\n".join(lines)


def write_syllabus(path: Path = SYLLABUS) -> Path:
    """Write :func:`syllabus_markdown` to ``path`` atomically; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, syllabus_markdown().encode())
    return path


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m hyena_lab.syllabus", description=__doc__)
    parser.add_argument("--out", type=Path, default=SYLLABUS, help="where to write the syllabus")
    args = parser.parse_args(argv)
    print(f"syllabus: wrote {write_syllabus(args.out)}")


if __name__ == "__main__":
    main()
