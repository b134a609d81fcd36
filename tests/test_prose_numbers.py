"""Every number a chapter's prose quotes is in that chapter's code, where its asserts live.

The house rule is that a sentence quoting a number is checked by an assert against the data it
quotes. This test is the mechanical half of that rule: it reads each committed chapter, takes
every *quoted number* from its markdown cells (one written with a decimal point or a thousands
separator, or followed by ``x``, ``%``, ``K``, ``M`` or a unit such as ``s``, ``steps`` or
``runs``, or any whole number from 10 on but a year: "5.21x", "0.0038", "12,500", "64K",
"3 seeds", "width 128") and
requires the same value among the numeric constants of the chapter's code cells, in one of the
forms an assert writes it:

* the number itself (``12,500`` as ``12500`` or ``12_500``), or a value that rounds to it at
  the quote's last digit ("66x" for an asserted ``66.4``);
* a percentage as a fraction ("99.4%" as ``0.994``; a range "99.4-99.8%" checks both ends so);
* a length in K or M as the power of two or the thousands it rounds from ("131K" as ``2**17``,
  "64K" as ``65536``), or a crossover "7.7K" as ``77`` (asserted as ``round(L / 100) == 77``);
* a number in a text an assert looks for (``"Hardware limit: 232448" in error``);
* a number published with the paper or an anchor, which lives in :mod:`hyena_lab.paper`.

References are not quoted numbers and are removed first: section, table, figure, appendix,
definition, theorem, equation and algorithm numbers ("Sec. 3.4", "App. D.3", "Thm 24.2"),
arXiv identifiers, versions, math (``$...$``), code spans and link targets.

The check is textual: a value found in the code is not proof that the assert compares it with
the right datum (chapter execution under nbval runs the asserts). It catches the common drift,
a number edited in the prose, or re-measured in the data, without the code following. A recipe's
setting that the prose states ("batches of 64") is asserted against the config it describes.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import hyena_lab.paper

ROOT = Path(__file__).resolve().parents[1]
#: The chapters, and the teachers' notebook of worked solutions.
CHAPTERS = [*sorted((ROOT / "notebooks").glob("0*.ipynb")), ROOT / "course" / "solutions.ipynb"]

_QUOTED = re.compile(r"(?<![\w.^/])(?<![^\d]-)(\d+(?:,\d{3})*(?:\.\d+)?)(x|%|K|M)?(?![\w.]\d)")
#: Units after which a whole number is a quote too ("52 s", "650 steps", "120 runs").
_UNITS = (
    "s|ms|µs|seconds|minutes|min|steps|runs|seeds|parameters|tokens|characters|epochs|bins|"
    "channels|layers|heads|modes|taps|sequences|points|cells|windows|iterations"
)
_COUNTED = re.compile(rf"(?<![\w.^/])(?<![^\d]-)(\d+(?:,\d{{3}})*) ({_UNITS})\b")
#: Any other whole number from 10 on is a quote too, but for years (1900-2030).
_BARE = re.compile(r"(?<![\w.^/,])(?<![^\d]-)(\d+)(?![\w.,]\d|[\w%])")
_YEARS = range(1900, 2031)
_REF_WORDS = (
    r"Sec\.|Secs\.|Sections?|Tables?|Figures?|Figs?\.|App\.|Apps\.|Appendix|Appendices|"
    r"Definitions?|Def\.|Theorems?|Thm\.?|Eqs?\.|Equations?|Algorithms?|Lemmas?|Propositions?|"
    r"Remarks?|Examples?|arXiv|torch|triton|Python|CUDA|cuDNN|version|v"
)
_REF = re.compile(
    rf"\b(?:{_REF_WORDS})\s*\(?[A-Z]?\d+(?:\.\d+)*[a-z]?\)?"
    r"(?:\s*(?:,|and|or|-|–|to|/)\s*\(?[A-Z]?\d+(?:\.\d+)*[a-z]?\)?)*"
)
_REMOVE = (
    re.compile(r"\$\$.*?\$\$", re.S),  # display math
    re.compile(r"\$[^$]*\$"),  # inline math, over line breaks too
    re.compile(r"^#+\s*[\d.]+", re.M),  # the chapter's own section numbers in headings
    re.compile(r"`[^`]*`"),  # code spans
    re.compile(r"\]\([^)]*\)"),  # link targets
    re.compile(r"\b\d{4}\.\d{4,5}\b"),  # arXiv identifiers
    re.compile(r"\b[A-Z]\.\d+(?:\.\d+)*\b"),  # "D.3", "C.1": appendix sections and tables
)


_IN_TEXT = re.compile(r"(?<![\d.])\d+(?:\.\d+)?")


def _numbers(obj: object) -> Iterator[float]:
    """Every int or float inside ``obj`` (nested dicts, lists, tuples: keys and values)."""
    if isinstance(obj, bool):
        return
    if isinstance(obj, int | float):
        yield float(obj)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from _numbers(key)
            yield from _numbers(value)
    elif isinstance(obj, list | tuple | set | frozenset):
        for item in obj:
            yield from _numbers(item)


def _paper_values() -> set[float]:
    values: set[float] = set()
    for name in hyena_lab.paper.__all__:
        values.update(_numbers(getattr(hyena_lab.paper, name)))
    values.update(_numbers(hyena_lab.paper.paper_speedups()))
    return values


def _fold(node: ast.AST) -> float | None:
    """The value of a numeric constant expression (``65536``, ``2**17``, ``1 << 20``, ``-3``,
    ``128 // 2 + 1``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return None if isinstance(node.value, bool) else float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _fold(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.BinOp):
        a, b = _fold(node.left), _fold(node.right)
        if a is None or b is None:
            return None
        if isinstance(node.op, ast.Pow) and abs(b) <= 64:
            return a**b
        if isinstance(node.op, ast.LShift) and 0 <= b <= 64:
            return float(int(a) << int(b))
        if isinstance(node.op, ast.Mult):
            return a * b
        if isinstance(node.op, ast.Add | ast.Sub):
            return a + b if isinstance(node.op, ast.Add) else a - b
        if isinstance(node.op, ast.FloorDiv | ast.Div) and b != 0:
            return a // b if isinstance(node.op, ast.FloorDiv) else a / b
    return None


def _code_values(cells: list[dict]) -> set[float]:
    """Every numeric constant (and constant expression) in the chapter's code cells, and every
    number written in a string that an assert holds (``"Hardware limit: 232448" in error``)."""
    values: set[float] = set()
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        lines = "".join(cell["source"]).splitlines()
        source = "\n".join(line for line in lines if not line.lstrip().startswith(("%", "!")))
        tree = ast.parse(source)
        for node in ast.walk(tree):
            value = _fold(node)
            if value is not None:
                values.add(abs(value))
        for check in (n for n in ast.walk(tree) if isinstance(n, ast.Assert)):
            for node in ast.walk(check):  # a number an assert looks for in a text
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    values.update(float(n) for n in _IN_TEXT.findall(node.value))
    return values


def _candidates(text: str, suffix: str | None) -> list[tuple[float, float]]:
    """The values an assert may write for the quoted number ``text`` + ``suffix``, each as
    ``(value, half_width)``: a quote rounds its datum to its last digit, so "66x" is backed by
    an asserted 66.4 and "0.0038" by 0.0038 (half a unit of the quote's last place, scaled
    with the value)."""
    base = float(text.replace(",", ""))
    decimals = len(text.partition(".")[2])
    half = 0.5 * 10.0**-decimals
    out = [(base, half)]
    if suffix == "%" or "." in text:
        out.append((base / 100, half / 100))
    if suffix == "K":
        out += [(base * 1000, half * 1000), (base * 1024, half * 1024), (base * 10, half * 10)]
        out += [
            (2.0**k, 0.0) for k in range(8, 24) if base in (round(2**k / 1e3), round(2**k / 1024))
        ]
    if suffix == "M":
        out += [(base * 1e6, half * 1e6), (base * 2**20, half * 2**20)]
        out += [(2.0**k, 0.0) for k in range(18, 34) if base == round(2**k / 2**20)]
    return out


def quoted_numbers(markdown: str) -> list[tuple[str, str | None]]:
    """The quoted numbers of a markdown cell, references, math and code removed."""
    for pattern in _REMOVE:
        markdown = pattern.sub(" ", markdown)
    markdown = _REF.sub(" ", markdown)
    found: dict[int, tuple[str, str | None]] = {}  # by position: each number read once
    for match in _BARE.finditer(markdown):
        if int(match.group(1)) >= 10 and int(match.group(1)) not in _YEARS:
            found[match.start()] = (match.group(1), None)
    for match in _COUNTED.finditer(markdown):
        found[match.start()] = (match.group(1), " " + match.group(2))
    for match in _QUOTED.finditer(markdown):
        text, suffix = match.group(1), match.group(2)
        if "." in text or "," in text or suffix:
            found[match.start()] = (text, suffix)
    return [found[start] for start in sorted(found)]


def _backed(candidates: list[tuple[float, float]], values: set[float]) -> bool:
    return any(
        abs(v - c) <= half * (1 + 1e-9) or math.isclose(v, c, rel_tol=1e-9)
        for c, half in candidates
        for v in values
    )


def unbacked(chapter: Path) -> list[str]:
    """The chapter's quoted numbers that neither its code nor :mod:`hyena_lab.paper` holds."""
    cells = json.loads(chapter.read_text(encoding="utf-8"))["cells"]
    values = _code_values(cells) | _paper_values()
    missing = []
    for cell in cells:
        if cell["cell_type"] != "markdown":
            continue
        for text, suffix in quoted_numbers("".join(cell["source"])):
            if not _backed(_candidates(text, suffix), values):
                missing.append(text + (suffix or ""))
    return missing


def test_there_are_chapters_to_read() -> None:
    assert len(CHAPTERS) >= 10 and all(p.is_file() for p in CHAPTERS)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_every_quoted_number_is_in_the_chapters_code(chapter: Path) -> None:
    missing = sorted(set(unbacked(chapter)))
    assert not missing, (
        f"{chapter.name} quotes numbers that no code cell holds: assert each against the data "
        f"it quotes (or, for a number of the paper or an anchor, add it to hyena_lab.paper): "
        f"{missing}"
    )


def test_the_reader_sees_references_and_quotes_apart() -> None:
    text = (
        "Sec. 3.4 and App. D.3 (Thm 24.2, arXiv 2302.10866) say $2^{-8}$ `0.5`; we measured "
        "5.21x, 99.4-99.8% and 12,500 steps at 64K (crossover 7.7K) in 0.0038 s, 3 seeds, "
        "order 2, 52 s, width 128 (Poli et al. 2023)."
    )
    assert quoted_numbers(text) == [
        ("5.21", "x"), ("99.4", None), ("99.8", "%"), ("12,500", None), ("64", "K"),
        ("7.7", "K"), ("0.0038", None), ("3", " seeds"), ("52", " s"), ("128", None),
    ]  # fmt: skip


def test_a_quote_is_backed_by_the_forms_asserts_write() -> None:
    values = {0.994, 65536.0, 77.0, 12500.0, 5.21}
    assert _backed(_candidates("99.4", "%"), values)
    assert _backed(_candidates("64", "K"), values)
    assert _backed(_candidates("7.7", "K"), values)
    assert _backed(_candidates("12,500", None), values)
    assert _backed(_candidates("5.21", "x"), values)
    # and a number the code does not hold is not
    assert not _backed(_candidates("5.22", "x"), values)
    assert not _backed(_candidates("99.5", "%"), values)
    assert not _backed(_candidates("32", "K"), values)


def test_a_drifted_number_is_caught(tmp_path: Path) -> None:
    """A chapter whose prose says 5.22x where its assert holds 5.21 fails the check."""
    cells = [
        {"cell_type": "markdown", "source": ["The fused layer is 5.22x faster at 64K."]},
        {"cell_type": "code", "source": ["assert round(s, 2) == 5.21 and L == 2**16\n"]},
    ]
    chapter = tmp_path / "09_drift.ipynb"
    chapter.write_text(json.dumps({"cells": cells}), encoding="utf-8")
    assert unbacked(chapter) == ["5.22x"]
    cells[0]["source"] = ["The fused layer is 5.21x faster at 64K."]
    chapter.write_text(json.dumps({"cells": cells}), encoding="utf-8")
    assert unbacked(chapter) == []
