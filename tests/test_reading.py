"""Reading comfort of the chapters: what a reader sees in the book's table of contents and at the
end of each chapter (issue 20, item 6)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
HEADING = re.compile(r"^# (#{1,6}) (.*)$", re.M)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_headings_hold_no_raw_latex(path):
    """A heading is an entry of the book's table of contents, where TeX is not typeset: write
    O(L²), A(u), ω instead of $...$."""
    raw = [h for _, h in HEADING.findall(path.read_text()) if "$" in h or "\\" in h]
    assert not raw, f"{path.name}: headings with TeX (shown raw in the contents): {raw}"


def _number(path: Path) -> int:
    return int(path.stem[:2])


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_each_chapter_ends_with_a_link_to_the_next(path):
    """The last cell links the next chapter (the last chapter: the outline), by its notebook."""
    last = path.read_text().rstrip().rsplit("# %%", 1)[-1]
    later = [p for p in CHAPTERS if _number(p) > _number(path)]
    target = later[0].name.replace(".py", ".ipynb") if later else "00_start_here.ipynb"
    assert f"]({target})" in last, f"{path.name} should end with a link to {target}"


@pytest.mark.parametrize("path", [p for p in CHAPTERS if _number(p) > 0], ids=lambda p: p.stem)
def test_each_chapter_has_its_quiz(path):
    from hyena_lab.exercises import QUIZ_CHAPTERS

    assert _number(path) in QUIZ_CHAPTERS
    assert f"\nquiz({_number(path)})\n" in path.read_text()
