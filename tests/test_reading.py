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
