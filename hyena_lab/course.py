"""The course at a glance (chapter 0): the chapters (:data:`CHAPTERS`), where each part of the
paper is covered (:data:`COVERAGE`), and each chapter's CPU time as recorded by ``make handbook``
in ``figures/data/00_start_here-chapter_times.json``, shaped
``{"run": {"device", "cpu", "torch", "num_threads", "date"}, "chapters": {stem: seconds}}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from .handbook import TIMES_RECORD
from .viz import load_data

__all__ = [
    "CHAPTERS", "COVERAGE", "PAPER_PARTS", "STATUSES", "Chapter", "Part", "chapter_seconds",
    "coverage_table", "format_seconds", "load_chapter_times", "outline_table", "times_note",
]  # fmt: skip


class Chapter(NamedTuple):
    """One chapter: its number, notebook stem, title, prerequisites and parts of the paper."""

    number: int
    stem: str
    title: str
    builds_on: tuple[int, ...]
    paper: str
    planned: bool = False


#: The chapters in teaching order; ``planned`` ones have no notebook yet.
CHAPTERS: tuple[Chapter, ...] = (
    Chapter(0, "00_start_here", "Start here", (), "–"),
    Chapter(1, "01_long_convolutions", "Long convolutions", (), "Sec. 2.1"),
    Chapter(2, "02_hyena_matrices", "Hyena matrices", (1,),
            "Sec. 2.2, 3.1, 3.2, 3.4; App. D.1"),
    Chapter(3, "03_implicit_filters", "Implicit filters", (1,), "Sec. 3.3; App. D.3; Table A.2"),
    Chapter(4, "04_associative_recall", "Associative recall", (2, 3),
            "Sec. 4.1; App. A.1, D.2; Tables A.2, C.1 (tiny scale)"),
    Chapter(5, "05_gpu_kernels", "GPU kernels", (1, 2), "Sec. 4.4, Fig. 4.3; abstract"),
    Chapter(6, "06_fft_matmul", "The FFT as matrix multiplies", (1, 5),
            "Sec. 4.4 (how a fast kernel is built); FlashFFTConv"),
    Chapter(7, "07_hyena_lm", "A Hyena language model and its recurrent view", (2, 3, 4),
            "Sec. 4.2 (small scale); Laughing Hyena"),
    Chapter(8, "08_multi_query_recall", "Multi-query recall (Zoology)", (2, 4),
            "beyond the paper: Arora et al. 2023"),
)  # fmt: skip

#: The three answers of the coverage map.
STATUSES = ("covered", "partly", "not covered")


class Part(NamedTuple):
    """One part of the paper: its ``status``, the written ``chapters`` and ``planned`` ones that
    treat it, and a ``note`` on what is and is not reproduced."""

    part: str
    content: str
    status: str
    chapters: tuple[int, ...] = ()
    planned: tuple[int, ...] = ()
    note: str = ""


#: Every part of the paper the map must account for, in the paper's order.
PAPER_PARTS: tuple[str, ...] = (
    "Sec. 2.1", "Sec. 2.2", "Sec. 3.1", "Sec. 3.2", "Sec. 3.3", "Sec. 3.4", "Sec. 4.1",
    "Sec. 4.2", "Sec. 4.3", "Sec. 4.4", "Sec. 4.5", "App. A", "App. B", "App. C", "App. D.1",
    "App. D.2", "App. D.3", "App. D.4",
)  # fmt: skip

#: The map from the paper to the chapters: what is covered, partly covered, not covered.
COVERAGE: tuple[Part, ...] = (
    Part("Sec. 2.1", "explicit and implicit long convolutions; FFT; Toeplitz matrices",
         "covered", (1, 3)),
    Part("Sec. 2.2", "self-attention as a data-controlled matrix", "covered", (2, 4),
         note="an attention matrix next to A(u); attention trained on recall"),
    Part("Sec. 3.1", "the Hyena recurrence (Def. 3.1)", "covered", (2,)),
    Part("Sec. 3.2", "Hyena matrices D_x, S_h and the operator A(u)", "covered", (2, 4),
         note="ch. 4 opens A(u) of a trained tiny model"),
    Part("Sec. 3.3", "implicit filters: FFN of a positional encoding, windowed (eq. 7)",
         "covered", (3,)),
    Part("Sec. 3.4", "the operator as an algorithm: projections, short filter, forward pass",
         "covered", (2, 3), note="and the official code's conventions, against its weights"),
    Part("Sec. 4.1", "associative recall at 30K-131K tokens; other synthetic tasks", "partly",
         (4, 8), (), note="tiny scale, 64-512 tokens: Table C.1's ordering of the mixers is "
         "reproduced, Tables 4.2 and A.2 are quoted, not reproduced (no length axis, no other "
         "filter families); majority and counting are generated, not trained; ch. 8 asks many "
         "queries per sequence, as Zoology does (a training-budget-limited grid so far)"),
    Part("Sec. 4.2", "language modelling: WikiText-103 and The Pile perplexity, scaling",
         "partly", (7,), note="the paper's perplexities are quoted; a GPT and a Hyena LM of 0.8M "
         "parameters are compared on Tiny Shakespeare (characters, CPU, equal time), not the "
         "paper's 125M-355M models on The Pile"),
    Part("Sec. 4.3", "downstream evaluation: SuperGLUE, zero- and few-shot", "not covered"),
    Part("Sec. 4.4", "runtime of Hyena against attention and FlashAttention (Fig. 4.3)",
         "covered", (5, 6), note="measured on an H100 with an unfused FFT convolution, "
         "where the paper used an A100; the published numbers behind Fig. 4.3 are checked too; "
         "ch. 6 teaches the FFT as matrix products (CPU), its fused GPU kernels are planned"),
    Part("Sec. 4.5", "image classification: ImageNet (Hyena in a ViT), CIFAR", "not covered"),
    Part("App. A", "experimental details", "partly", (4,),
         note="A.1 and its recipe, Table A.1, at tiny scale; the details of the language, "
         "downstream and vision experiments are not used"),
    Part("App. B", "theory and proofs", "not covered"),
    Part("App. C", "additional results, Table C.1 (recall against vocabulary size)", "partly",
         (4,), note="Table C.1's ordering at vocabularies 10-30 and tiny scale, not its numbers; "
         "the rest of App. C is not covered"),
    Part("App. D.1", "visualisations of Hyena matrices", "partly", (2, 4),
         note="A(u) at initialisation in ch. 2 and of a tiny recall model in ch. 4, not of "
         "the paper's language models"),
    Part("App. D.2", "visualisations of learned long filters", "partly", (4,),
         note="the filters of a tiny recall model, not of the paper's language models"),
    Part("App. D.3", "positional encoding; the low-pass spectrum of filters at initialisation",
         "covered", (3,), note="measured: the cutoff sits at bin K, not near 2K + 1"),
    Part("App. D.4", "the last part of App. D", "not covered"),
)  # fmt: skip


def coverage_table(coverage: tuple[Part, ...] = COVERAGE) -> str:
    """The coverage map as a Markdown table: paper part, content, status, where."""
    lines = ["| paper | what it is | covered? | where |", "|---|---|---|---|"]
    for p in coverage:
        where = "; ".join(
            f"{label}{', '.join(f'ch. {c}' for c in numbers)}"
            for label, numbers in (("", p.chapters), ("planned: ", p.planned))
            if numbers
        ) or "–"
        note = f" ({p.note})" if p.note else ""
        lines.append(f"| {p.part} | {p.content} | {p.status} | {where}{note} |")
    return "\n".join(lines)


def load_chapter_times() -> dict | None:
    """The record of chapter run times written by ``make handbook``, or None if there is none."""
    try:
        return load_data(TIMES_RECORD)
    except FileNotFoundError:
        return None


def chapter_seconds(record: Mapping | None, stem: str) -> float | None:
    """The recorded CPU time of chapter ``stem`` in seconds (None if not recorded)."""
    seconds = None if record is None else record.get("chapters", {}).get(stem)
    return None if seconds is None else float(seconds)


def format_seconds(seconds: float | None) -> str:
    """``"42 s"`` below 100 s, ``"3.4 min"`` from there; ``"–"`` when not recorded."""
    if seconds is None:
        return "–"
    if seconds < 0:
        raise ValueError(f"a run time cannot be negative, got {seconds}")
    return f"{seconds:.0f} s" if seconds < 99.5 else f"{seconds / 60:.1f} min"


def outline_table(record: Mapping | None, chapters: tuple[Chapter, ...] = CHAPTERS) -> str:
    """The course outline as a Markdown table, with each chapter's recorded CPU time."""
    lines = ["| # | chapter | builds on | paper | CPU time (recorded) |", "|---|---|---|---|---|"]
    for c in chapters:
        builds = ", ".join(str(n) for n in c.builds_on) or "–"
        # a link to the notebook, which resolves beside ch. 00 in JupyterLab and in the book
        title = f"{c.title} (planned)" if c.planned else f"[{c.title}]({c.stem}.ipynb)"
        time = "–" if c.planned else format_seconds(chapter_seconds(record, c.stem))
        lines.append(f"| {c.number} | {title} | {builds} | {c.paper} | {time} |")
    return "\n".join(lines)


def times_note(record: Mapping | None, chapters: tuple[Chapter, ...] = CHAPTERS) -> str:
    """One sentence on where the times come from: the machine, and the total."""
    if record is None:
        return (
            "CPU times: not recorded yet (`make handbook` executes every chapter and records "
            "its time)."
        )
    run = record.get("run", {})
    seconds = {c.stem: chapter_seconds(record, c.stem) for c in chapters if not c.planned}
    recorded = [s for s in seconds.values() if s is not None]
    missing = [stem for stem, s in seconds.items() if s is None]
    machine = (f"{run.get('cpu', 'an unnamed CPU')} ({run.get('num_threads', '?')} torch "
               f"threads, device {run.get('device', '?')}), torch {run.get('torch', '?')}, "
               f"{run.get('date', 'undated')}")  # fmt: skip
    total = f"{len(recorded)} chapters took {format_seconds(sum(recorded))} together"
    gap = f"; not recorded: {', '.join(missing)}" if missing else ""
    return f"CPU times recorded by `make handbook` on {machine}: {total}{gap}."
