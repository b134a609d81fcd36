"""The syllabus (course/syllabus.md) is generated from the chapters and must stay in step."""

from __future__ import annotations

import pytest

from hyena_lab import course, syllabus
from hyena_lab.syllabus import ChapterCount, count_chapter, study_minutes, syllabus_markdown


def test_the_committed_syllabus_is_what_the_chapters_give():
    assert syllabus.SYLLABUS.read_text() == syllabus_markdown(), (
        "course/syllabus.md is stale: run `python -m hyena_lab.syllabus` (make handbook does)"
    )


def test_every_chapter_is_in_exactly_one_week():
    weeks = [n for unit in syllabus.UNITS for n in unit.chapters]
    assert sorted(weeks) == [c.number for c in course.CHAPTERS]
    assert [u.week for u in syllabus.UNITS] == list(range(1, len(syllabus.UNITS) + 1))


def test_counting_a_chapter():
    source = (
        "# %% [markdown]\n# # Title here\n#\n# Two words $x^2 + y$ and `code span` end.\n"
        "# $$\n# a = b\n# $$\n# %%\nx = 1\n# %% tags=[\"hide-input\"]\nassert x\n"
    )
    assert count_chapter(source) == ChapterCount(words=6, equations=1, code_cells=2)


def test_study_time_adds_its_parts():
    count = ChapterCount(words=syllabus.READING_WPM * 30, equations=5, code_cells=3)
    minutes = study_minutes(count, exercises=2, run_seconds=120)
    expected = 30 + 5 * syllabus.MINUTES_PER_EQUATION + 2 * syllabus.MINUTES_PER_EXERCISE + 2
    assert minutes == pytest.approx(expected)
    assert study_minutes(count, 0, None) == pytest.approx(30 + 5 * syllabus.MINUTES_PER_EQUATION)


def test_a_planned_chapter_is_a_marked_slot(monkeypatch):
    future = course.Chapter(len(course.CHAPTERS), "99_future", "Future", (1,), "–", planned=True)
    monkeypatch.setattr(course, "CHAPTERS", (*course.CHAPTERS, future))
    unit = syllabus.Unit(9, "Later", (1, future.number), "Sec. 5", "a project", "week 1")
    text = syllabus_markdown([unit], times={"run": {}, "chapters": {}})
    assert f"| {future.number} | Future | *slot: being written* | – | – | – |" in text
    assert "(chapters below)" in text and " so far (chapters below)" in text  # an open total
    assert "not a measurement of students" in text  # the stated assumption is said
