"""Chapter 0's outline: the coverage map accounts for every part of the paper, the chapters it
names exist, and the table of run times is built from the record ``make handbook`` writes."""

import json
from pathlib import Path

import pytest

from hyena_lab import course
from hyena_lab.course import CHAPTERS, COVERAGE, PAPER_PARTS, STATUSES, Chapter
from hyena_lab.handbook import TIMES_RECORD

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
WRITTEN = {c.number for c in CHAPTERS if not c.planned}
PLANNED = {c.number for c in CHAPTERS if c.planned}


def test_every_part_of_the_paper_is_on_the_map_once_in_order():
    assert [p.part for p in COVERAGE] == list(PAPER_PARTS)


@pytest.mark.parametrize("part", COVERAGE, ids=[p.part for p in COVERAGE])
def test_each_part_says_honestly_where(part):
    assert part.status in STATUSES
    assert set(part.chapters) <= WRITTEN, "a covered part must point at written chapters"
    assert set(part.planned) <= PLANNED, "'planned' must name planned chapters"
    if part.status == "not covered":
        assert not part.chapters
    else:
        assert part.chapters, f"{part.part} is {part.status!r} but names no chapter"
    if part.status == "partly":
        assert part.note, "say what is and is not reproduced"


def test_the_map_matches_the_review():
    status = {p.part: p.status for p in COVERAGE}
    # 4.3 and 4.5 are not run at all
    for part in ("Sec. 4.3", "Sec. 4.5", "App. B", "App. D.4"):
        assert status[part] == "not covered", part
    # tiny scale only: Sec. 4.2 at 0.8M parameters on characters (ch. 7)
    assert status["Sec. 4.1"] == status["App. C"] == status["Sec. 4.2"] == "partly"
    assert {p.part for p in COVERAGE if 7 in p.chapters} == {"Sec. 4.2"}


def test_chapters_match_the_notebooks_and_build_on_earlier_ones():
    on_disk = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.py"))
    assert sorted(c.stem for c in CHAPTERS if not c.planned) == on_disk
    assert [c.number for c in CHAPTERS] == list(range(len(CHAPTERS)))
    for c in CHAPTERS:
        assert c.stem.startswith(f"{c.number:02d}_")
        assert all(n < c.number for n in c.builds_on)
        assert not c.planned or not (NOTEBOOKS / f"{c.stem}.py").exists()


def test_coverage_table_has_a_row_per_part():
    table = course.coverage_table().splitlines()
    assert len(table) == 2 + len(COVERAGE)
    row = next(r for r in table if r.startswith("| Sec. 4.2 |"))
    assert "| partly | ch. 7 (the paper's perplexities are quoted;" in row
    row = next(r for r in table if r.startswith("| Sec. 4.4 |"))
    assert "| covered | ch. 5, ch. 6 (measured on an H100" in row
    assert next(r for r in table if r.startswith("| Sec. 4.3 |")).endswith("| not covered | – |")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "–"), (0.4, "0 s"), (41.6, "42 s"), (99.4, "99 s"), (99.6, "1.7 min"),
     (312.0, "5.2 min")],
)
def test_format_seconds(seconds, text):
    assert course.format_seconds(seconds) == text


def test_format_seconds_rejects_negative_times():
    with pytest.raises(ValueError, match="cannot be negative"):
        course.format_seconds(-1.0)


def _record(tmp_path: Path, chapters: dict[str, float]) -> dict:
    record = {
        "run": {"device": "cpu", "cpu": "Test CPU 9000", "torch": "2.13.0+cpu",
                "num_threads": 2, "date": "2026-01-01"},
        "chapters": chapters,
    }
    (tmp_path / f"{TIMES_RECORD}.json").write_text(json.dumps(record))
    return record


def test_times_come_from_the_record(tmp_path, monkeypatch):
    monkeypatch.setenv("HYENA_LAB_RECORDS", str(tmp_path))
    assert course.load_chapter_times() is None  # nothing recorded yet
    note = course.times_note(None)
    assert "not recorded yet" in note
    assert all(row.endswith("| – |") for row in course.outline_table(None).splitlines()[2:])

    times = {c.stem: 10.0 * (c.number + 1) for c in CHAPTERS if not c.planned}
    times["04_associative_recall"] = 180.0
    written = _record(tmp_path, times)
    record = course.load_chapter_times()
    assert record == written
    rows = {r.split(" | ")[0].lstrip("| "): r for r in course.outline_table(record).splitlines()}
    assert rows["1"].endswith("| 20 s |") and rows["4"].endswith("| 3.0 min |")
    assert rows["7"].endswith("| 80 s |") and "(planned)" not in rows["7"]
    assert rows["6"].endswith("| 70 s |") and "(planned)" not in rows["6"]
    assert "| [Long convolutions](01_long_convolutions.ipynb) |" in rows["1"]  # a link
    future = Chapter(9, "09_future", "Future", (1,), "–", planned=True)
    row = course.outline_table(record, (*CHAPTERS, future)).splitlines()[-1]
    assert row == "| 9 | Future (planned) | 1 | – | – |"  # no time, no link to a notebook
    note = course.times_note(record)
    assert "Test CPU 9000 (2 torch threads, device cpu), torch 2.13.0+cpu, 2026-01-01" in note
    total = sum(times.values())  # 10 + 20 + 30 + 40 + 180 + 60 + 70 + 80 + 90 (ch. 8) = 580 s
    assert f"{len(times)} chapters took {course.format_seconds(total)} together" in note
    assert len(times) == 9 and "9.7 min" in note and "not recorded" not in note


def test_a_chapter_missing_from_the_record_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("HYENA_LAB_RECORDS", str(tmp_path))
    _record(tmp_path, {"01_long_convolutions": 30.0})  # e.g. chapter 0 before its first run
    record = course.load_chapter_times()
    assert course.chapter_seconds(record, "01_long_convolutions") == 30.0
    assert course.chapter_seconds(record, "00_start_here") is None
    note = course.times_note(record)
    assert "1 chapters took 30 s" in note and "not recorded: 00_start_here" in note
