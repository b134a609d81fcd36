"""hyena_lab.stage and hyena_lab.decks: which cells only check, the book's copies, the slides.

The check-cell rule is tested on synthetic cells (each kind, and the near misses) and on every
real chapter; the liveness pass behind kind C on small notebooks whose answer is known. The book
copy and the slide selection run on a real chapter and must leave the source notebook as it was.
The deck writer runs nbconvert on one real chapter against a stand-in vendored folder (empty
files at the right places) and must write no URL that goes to the network; the real browser
test of a deck is tests/browser/test_slides.py.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from hyena_lab import decks, stage
from hyena_lab.stage import (
    HIDE_INPUT_TAG,
    MAX_SLIDE_LINES,
    REMOVE_INPUT_TAG,
    SLIDES_SKIP_TAG,
    check_cells,
    is_check_cell,
    is_exercise_stub,
    nbval_markers,
    slides_notebook,
    stage_for_book,
    strip_markers,
)

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CHAPTER = ROOT / "notebooks" / "01_long_convolutions.ipynb"  # prose, equations, figures, a widget
PNG = "iVBORw0KGgo="  # the value is never decoded: only the mimetype matters here


def code(source: str, *outputs: dict, tags: tuple[str, ...] = (), count: int | None = 1) -> dict:
    cell = new_code_cell(source, execution_count=count, outputs=list(outputs))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def printed(text: str = "ok\n") -> dict:
    return new_output("stream", name="stdout", text=text)


def figure() -> dict:
    return new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"})


def markdown(source: str, tags: tuple[str, ...] = ()) -> dict:
    cell = new_markdown_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def chapters() -> list[Path]:
    if not CHAPTERS:
        pytest.skip("no executed chapters in notebooks/")
    return CHAPTERS


# --- the check-cell rule -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("source", "outputs", "expected"),
    [
        ("assert 1 + 1 == 2\nassert True, 'why'", (), True),  # A
        ("assert x > 0  # a comment\n\n# another\nassert y", (), True),  # A, comments ignored
        ("# NBVAL_CHECK_OUTPUT\nassert a == 1\nprint(f'a = {a}')", (printed(),), True),  # B
        ("# NBVAL_CHECK_OUTPUT\nprint(table(grid))", (printed(),), True),  # B: nbval compares
        ("# NBVAL_IGNORE_OUTPUT\nprint(seconds)", (printed(),), False),  # prints a live number
        ("# NBVAL_IGNORE_OUTPUT\nassert t > 0\nprint(t)", (printed(),), True),  # B
        ("print('no marker')\nassert a", (printed(),), False),  # a print needs a marker
        ("x = f(2)\nassert x == 4", (), False),  # binds x: kind C only, with the notebook
        ("assert a\nfig", (figure(),), False),  # the figure is the point
        ("# NBVAL_CHECK_OUTPUT\nassert a\nprint(a)", (figure(),), False),
        (
            "# NBVAL_CHECK_OUTPUT\nassert a\nshow(a)",
            (printed(),),
            False,
        ),  # a call that is not print
        ("%matplotlib inline\nassert a", (), False),  # a magic is not an assert
        ("%%time\nassert a", (), False),  # a cell magic: not Python
        ("assert (", (), False),  # a syntax error
        ("", (), False),
        ("# NBVAL_CHECK_OUTPUT", (), False),  # nothing checked
    ],
)
def test_check_cell_kinds_a_and_b(source: str, outputs: tuple, expected: bool) -> None:
    assert is_check_cell(code(source, *outputs)) is expected


def test_markdown_is_never_a_check_cell() -> None:
    assert not is_check_cell(markdown("assert True"))


def test_kind_c_needs_the_names_it_binds_to_be_dead() -> None:
    cell = code("x = f(2)\nfor k in range(3):\n    assert g(k, x)\nprint('ok')", printed())
    assert is_check_cell(cell, live_after=set())
    assert is_check_cell(cell, live_after={"f", "g"})  # reading f and g later does not matter
    assert not is_check_cell(cell, live_after={"x"})
    assert not is_check_cell(cell, live_after={"k"})  # the loop variable is bound too
    assert not is_check_cell(code("x = f(2)", printed()), live_after=set()), "nothing asserted"
    assert not is_check_cell(code("x = f(2)\nplot(x)\nassert x"), live_after=set())
    assert not is_check_cell(code("def f():\n    assert 1\nf()"), live_after=set())
    mutates = code("cfg.lr = 0.1\nrows[0] += 1\nassert cfg.lr > 0")  # changes objects in place
    assert is_check_cell(mutates, live_after=set())
    assert not is_check_cell(mutates, live_after={"cfg"})
    assert not is_check_cell(mutates, live_after={"rows"})


def test_liveness_across_cells() -> None:
    """check_cells on notebooks whose answer is known: a name is live when a later cell reads
    it before binding it again, whatever happens in between."""
    check = "x = f(1)\nassert x == 1"
    cases = {
        ("y = x + 1",): [],  # read later
        ("x = 5", "y = x"): [0],  # bound again first
        ("def g():\n    return x",): [],  # read inside a later function: still live
        ("for i in range(2):\n    x = i", "y = x"): [],  # a loop may not run: x survives
        ("%%time\ny = 1",): [],  # a cell magic: every name counts as read
        ("z = 1", "x = 2"): [0],  # never read again
        # reads are over-estimated (careful, never wrong): a comprehension's own x counts
        ("y = [x for x in range(3)]",): [],
    }
    for later, expected in cases.items():
        nb = new_notebook(cells=[code(check), *(code(s) for s in later)])
        found = [i for i in check_cells(nb) if i == 0]
        assert found == expected, (later, found)


def test_check_cells_on_the_real_chapters() -> None:
    """Every chapter has some; each one is a check by some kind; never a figure or widget cell;
    every cell of only asserts is found, however the notebook goes on."""
    total = strict = 0
    for path in chapters():
        nb = nbformat.read(path, as_version=4)
        found = check_cells(nb)
        total += len(found)
        for i, cell in enumerate(nb.cells):
            only_asserts = cell.cell_type == "code" and is_check_cell(cell)
            strict += only_asserts
            if only_asserts:
                assert i in found, f"{path.name} cell {i} is a check cell by kind A/B"
            if i in found:
                assert not stage._has_figure(cell), f"{path.name} cell {i} holds a figure"
                assert "assert" in cell.source or nbval_markers(cell.source), (path.name, i)
    assert strict >= 1 and total >= 2 * len(CHAPTERS), (strict, total)


def test_exercise_stubs() -> None:
    stub = "def answer(x):\n    '''Yours.'''\n    raise NotImplementedError('here')\ncheck(answer)"
    assert is_exercise_stub(code(stub))
    assert is_exercise_stub(code("def f():\n    raise NotImplementedError"))
    assert not is_exercise_stub(code("def f():\n    return 1\n\ncheck(f)"))
    assert not is_exercise_stub(code("raise NotImplementedError"))  # not inside a function
    assert not is_exercise_stub(markdown("def f():\n    raise NotImplementedError"))


def test_markers() -> None:
    source = (
        "# NBVAL_CHECK_OUTPUT\nx = 1  # NBVAL_SKIP is not a marker line\n  #NBVAL_IGNORE_OUTPUT\n"
    )
    assert nbval_markers(source) == ["NBVAL_CHECK_OUTPUT", "NBVAL_IGNORE_OUTPUT"]
    assert strip_markers(source) == "x = 1  # NBVAL_SKIP is not a marker line\n"
    assert strip_markers("a\n\nb") == "a\n\nb"
    assert nbval_markers("# a comment about NBVAL_CHECK_OUTPUT") == []


# --- the book ------------------------------------------------------------------------------
def test_stage_for_book_folds_check_cells_and_strips_markers(tmp_path: Path) -> None:
    src = tmp_path / "src" / CHAPTER.name
    src.parent.mkdir()
    shutil.copyfile(CHAPTER, src)
    before = src.read_bytes()
    dst = tmp_path / "book" / CHAPTER.name
    summary = stage_for_book(src, dst)
    assert src.read_bytes() == before, "the source notebook changed"
    nb, staged = nbformat.read(src, as_version=4), nbformat.read(dst, as_version=4)
    assert summary["hidden"] == check_cells(nb) and summary["hidden"]
    assert summary["markers_removed"] == sum(len(nbval_markers(c.source)) for c in nb.cells) > 0
    assert len(staged.cells) == len(nb.cells)
    for i, (old, new) in enumerate(zip(nb.cells, staged.cells, strict=True)):
        tagged = HIDE_INPUT_TAG in new.metadata.get("tags", [])
        assert tagged == (i in summary["hidden"]), f"cell {i}"
        if old.cell_type == "code":
            assert not nbval_markers(new.source), f"cell {i} kept a marker"
            assert new.source == strip_markers(old.source) and new.outputs == old.outputs
        else:
            assert new == old
    stage_for_book(dst, dst)  # staging twice adds no second tag
    again = nbformat.read(dst, as_version=4)
    assert all(c.metadata.get("tags", []).count(HIDE_INPUT_TAG) <= 1 for c in again.cells)


def test_stage_refuses_what_is_not_an_executed_notebook(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no notebook at"):
        stage_for_book(tmp_path / "missing.ipynb", tmp_path / "out.ipynb")
    fresh = tmp_path / "01_fresh.ipynb"
    nbformat.write(new_notebook(cells=[code("x = 1", count=None), code("", count=None)]), fresh)
    with pytest.raises(ValueError, match="is not executed: none of its 1 code cells has run"):
        stage_for_book(fresh, tmp_path / "out.ipynb")
    text = tmp_path / "notes.txt"
    text.write_text("{}")
    with pytest.raises(ValueError, match="not a notebook"):
        stage_for_book(text, tmp_path / "out.ipynb")


def test_a_cell_added_since_the_last_run_is_reported(tmp_path: Path, capsys) -> None:
    """A chapter with a cell added after ``make handbook`` is staged, the cell named."""
    nb = new_notebook(cells=[markdown("# T"), code("x = 1"), code("quiz(1)", count=None)])
    src = tmp_path / "notebooks" / "01_t.ipynb"
    src.parent.mkdir()
    nbformat.write(nb, src)
    assert stage.check_executed(nb, src) == [2]
    assert stage_for_book(src, tmp_path / "out.ipynb")["unexecuted"] == [2]
    stage.main(["book", str(src.parent), str(tmp_path / "staged")])
    out = capsys.readouterr().out.strip().splitlines()
    assert "NOT EXECUTED: code cell(s) [2]" in out[0] and "make handbook" in out[0]
    assert json.loads(out[-1])["unexecuted"] == 1
    never = new_notebook(cells=[markdown("# N"), code("y = 2", count=None)])
    nbformat.write(never, src.parent / "02_never.ipynb")
    with pytest.raises(SystemExit, match=r"02_never\.ipynb is not executed"):
        stage.main(["book", str(src.parent), str(tmp_path / "staged")])
    stage.main(["book", str(src.parent), str(tmp_path / "only"), "--executed-only"])
    out = capsys.readouterr().out.strip().splitlines()
    assert "left out" in out[0] and json.loads(out[-1])["staged"] == 1
    assert [p.name for p in (tmp_path / "only").iterdir()] == ["01_t.ipynb"]


def test_book_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "notebooks"
    src.mkdir()
    shutil.copyfile(CHAPTER, src / CHAPTER.name)
    stage.main(["book", str(src), str(tmp_path / "staged")])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["staged"] == 1 and summary["hidden"] >= 1
    assert (tmp_path / "staged" / CHAPTER.name).is_file()
    with pytest.raises(SystemExit, match="is not a folder"):
        stage.main(["book", str(tmp_path / "nowhere"), str(tmp_path / "staged")])
    with pytest.raises(SystemExit, match=r"no NN_name\.ipynb"):
        stage.main(["book", str(tmp_path / "staged" / ".."), str(tmp_path / "x")])


# --- the slides ----------------------------------------------------------------------------
def _slides(nb) -> list[list[dict]]:
    """The (sub-)slides of a selection: lists of cells, each list starting a slide."""
    out: list[list[dict]] = []
    for cell in nb.cells:
        if cell.metadata["slideshow"]["slide_type"] in ("slide", "subslide") or not out:
            out.append([])
        out[-1].append(cell)
    return out


def _has_heading_or_figure(cells: list[dict]) -> bool:
    return any(
        (c.cell_type == "markdown" and stage.heading(c.source)[0] > 0) or stage._has_figure(c)
        for c in cells
    )


def test_slide_selection_on_a_synthetic_chapter() -> None:
    long_prose = "\n\n".join(f"Paragraph {k}, line one\nand line two." for k in range(10))
    equation = "$$\nA = B\n\nC = D\n$$"  # a blank line inside the equation: never cut there
    nb = new_notebook(
        cells=[
            code("import torch"),  # 0: code, no figure
            markdown("# Chapter 9: A title\n\nWhat this is about."),  # 1
            markdown("## 1. A section\n\nShort text."),  # 2
            code("fig = plot()\nfig", figure(), printed("noise\n")),  # 3: a figure
            code("assert 1 + 1 == 2"),  # 4: a check cell
            markdown("### A sub-section\n\n" + long_prose),  # 5: split into pieces
            markdown(equation),  # 6
            code("value = 3", printed("3\n"), tags=("slides",)),  # 7: opted in
            markdown("Not for the slides.", tags=("slides-skip",)),  # 8
            code("fig", figure(), tags=("slides-skip",)),  # 9
            code("def answer():\n    raise NotImplementedError\ncheck(answer)", printed()),  # 10
            markdown("See [chapter 1](01_long_convolutions.ipynb#causality)."),  # 11
        ]
    )
    before = nbformat.writes(nb)
    slides = slides_notebook(nb)
    assert nbformat.writes(nb) == before, "slides_notebook changed its input"
    origin = [c.metadata["hyena_lab"]["cell"] for c in slides.cells]
    assert set(origin) == {1, 2, 3, 5, 6, 7, 11}
    kind = {i: [] for i in set(origin)}
    for cell, i in zip(slides.cells, origin, strict=True):
        kind[i].append(cell.metadata["slideshow"]["slide_type"])
    assert kind[1] == ["slide"] and kind[2] == ["slide"] and kind[3] == ["subslide"]
    assert kind[5][0] == "subslide" and len(kind[5]) > 2, "the long cell was not split"
    figure_cell = slides.cells[origin.index(3)]
    assert REMOVE_INPUT_TAG in figure_cell.metadata["tags"]
    assert [list(o["data"]) for o in figure_cell.outputs] == [["image/png", "text/plain"]]
    shown = slides.cells[origin.index(7)]
    assert shown.source == "value = 3" and REMOVE_INPUT_TAG not in shown.metadata.get("tags", [])
    pieces = [c.source for c, i in zip(slides.cells, origin, strict=True) if i == 5]
    text = "\n".join(pieces)
    for k in range(10):  # nothing dropped, nothing cut inside a paragraph
        assert f"Paragraph {k}, line one\nand line two." in text
    continued = [p for p in pieces if p.startswith("### A sub-section (continued)")]
    assert len(continued) == len(pieces) // 2 >= 1
    for cells in _slides(slides):
        assert _has_heading_or_figure(cells), cells
        lines = sum(len(c.source.split("\n")) for c in cells if c.cell_type == "markdown")
        assert lines <= MAX_SLIDE_LINES or len(cells) == 1, cells
    assert equation in [c.source for c in slides.cells]
    assert "(01_long_convolutions.slides.html#causality)" in slides.cells[-1].source
    assert len({c.id for c in slides.cells}) == len(slides.cells), "cell ids must be unique"
    assert slides_notebook(nb) == slides, "the same notebook gives the same slides"


def test_markdown_pieces() -> None:
    items = "\n".join(f"{k}. item {k}\n   continued" for k in range(1, 9))  # 16 lines, no blanks
    pieces = stage._chunks("**What you will learn**\n\n" + items, 12)
    assert pieces[0].startswith("**What you will learn**\n\n1. item 1"), "the lead-in moved on"
    assert all(len(p.split("\n")) <= 12 for p in pieces)
    assert "\n".join(pieces).count("continued") == 8
    fence = "```\n" + "\n\n".join(["x = 1"] * 10) + "\n```"  # blank lines inside a code block
    assert stage._chunks(fence, 4) == [fence]


def test_slide_tags_that_disagree() -> None:
    nb = new_notebook(cells=[markdown("# T"), markdown("x", tags=("slides", "slides-skip"))])
    with pytest.raises(ValueError, match="cell 1 is tagged both"):
        slides_notebook(nb)


def test_slides_of_a_real_chapter() -> None:
    nb = nbformat.read(CHAPTER, as_version=4)
    before = nbformat.writes(nb)
    slides = slides_notebook(nb)
    assert nbformat.writes(nb) == before, "slides_notebook changed the chapter"
    checks = set(check_cells(nb))
    assert slides.cells[0].metadata["slideshow"]["slide_type"] == "slide"
    for cell in slides.cells:
        origin = cell.metadata["hyena_lab"]["cell"]
        assert origin not in checks or cell.cell_type == "markdown", f"check cell {origin}"
        if cell.cell_type == "code":
            assert stage._has_figure(cell) and REMOVE_INPUT_TAG in cell.metadata["tags"]
            assert not is_exercise_stub(nb.cells[origin])
    for cells in _slides(slides):
        assert _has_heading_or_figure(cells), [c.source[:60] for c in cells]
    shown = [c for c in nb.cells if SLIDES_SKIP_TAG not in c.metadata.get("tags", [])]
    figures = sum(stage._has_figure(c) for c in shown)  # the quiz is tagged slides-skip
    assert sum(stage._has_figure(c) for c in slides.cells) == figures, "a figure went missing"
    for i, cell in enumerate(nb.cells):  # every line of prose is on some slide
        if cell.cell_type == "markdown":
            text = "\n".join(c.source for c in slides.cells if c.metadata["hyena_lab"]["cell"] == i)
            for line in filter(str.strip, stage._slides_links(cell.source).split("\n")):
                assert line in text, (i, line)


# --- the decks (nbconvert, no browser) -------------------------------------------------------
def _fake_vendored(root: Path) -> decks.SlideURLs:
    """Empty files where the vendored JavaScript would be (nbconvert never reads them)."""
    for name in ("reveal.js/dist/reveal.js", "mathjax/tex-mml-chtml.js", "require.js",
                 "embed-amd.js", "abc.woff2"):  # fmt: skip
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("")
    return decks.SlideURLs(
        reveal="../js/reveal.js", mathjax="../js/mathjax/tex-mml-chtml.js",
        requirejs="../js/require.js", widgets="../js/embed-amd.js",
    )  # fmt: skip


def test_deck_loads_nothing_from_the_network(tmp_path: Path) -> None:
    urls = _fake_vendored(tmp_path / "js")
    out = tmp_path / "slides"
    (written,) = decks.write_decks([CHAPTER], out, urls)
    page = (out / written["deck"]).read_text()
    assert written["slides"] >= 10 and written["title"].startswith("Chapter 1")
    loaded = re.findall(r"<(?:script|link|img|iframe)\b[^>]*?\b(?:src|href)=\"([^\"]*)\"", page)
    loaded += re.findall(r"""(?:import|@import)\s+(?:[\w{}\s,]+from\s+)?['"]([^'"]+)['"]""", page)
    loaded += re.findall(r"\"(\.\./js/reveal\.js/[^\"]+)\"", page)  # require([...]) in the footer
    remote = [u for u in loaded if re.match(r"(https?:)?//", u)]
    assert not remote, f"the deck loads from the network: {remote}"
    assert "../js/mathjax/tex-mml-chtml.js" in loaded and "../js/require.js" in loaded
    assert "../js/reveal.js/dist/reveal.js" in loaded
    assert "MathJax.Hub.Rerender" not in page, "the template's MathJax 2 call is still there"
    assert (out / "@jupyter-widgets/html-manager/dist/abc.woff2").is_file()
    index = (out / "index.html").read_text()
    assert f'href="{written["deck"]}"' in index
    assert oct((out / written["deck"]).stat().st_mode)[-3:] == "644"


def test_deck_errors(tmp_path: Path) -> None:
    urls = _fake_vendored(tmp_path / "js")
    with pytest.raises(ValueError, match="must work offline"):
        decks.write_decks([CHAPTER], tmp_path / "s", decks.SlideURLs(reveal="https://unpkg.com/x"))
    with pytest.raises(ValueError, match=r"does not exist; `make slides` vendors"):
        decks.write_decks([CHAPTER], tmp_path / "s", decks.SlideURLs(reveal="../nowhere"))
    with pytest.raises(FileNotFoundError, match="no notebook at"):
        decks.write_decks([tmp_path / "missing.ipynb"], tmp_path / "s", urls)
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="is a file; expected a folder"):
        decks.write_decks([CHAPTER], tmp_path / "file", urls)
    with pytest.raises(SystemExit, match=r"stage slides: .*does not exist"):
        stage.main(["slides", str(CHAPTER), "--out", str(tmp_path / "s")])
    assert not (tmp_path / "s").exists(), "nothing is written when a check fails"


def test_slides_command_leaves_out_chapters_never_executed(tmp_path: Path, capsys) -> None:
    _fake_vendored(tmp_path / "js")
    ran = tmp_path / "01_ran.ipynb"
    nbformat.write(new_notebook(cells=[markdown("# Ran\n\n$x^2$"), code("x = 1")]), ran)
    never = tmp_path / "02_never.ipynb"
    nbformat.write(new_notebook(cells=[markdown("# Never"), code("x = 1", count=None)]), never)
    js = ["--reveal", "../js/reveal.js", "--mathjax", "../js/mathjax/tex-mml-chtml.js",
          "--requirejs", "../js/require.js", "--widgets", "../js/embed-amd.js"]  # fmt: skip
    args = ["slides", str(ran), str(never), "--out", str(tmp_path / "slides"), *js]
    with pytest.raises(SystemExit, match=r"02_never\.ipynb is not executed"):
        stage.main(args)
    stage.main([*args, "--executed-only"])
    out = capsys.readouterr().out.strip().splitlines()
    assert any("left out" in line and "02_never.ipynb" in line for line in out), out
    assert json.loads(out[-1]) == {"decks": 1, "slides": 1, "unexecuted": 0}
    assert sorted(p.name for p in (tmp_path / "slides").iterdir()) == [
        "01_ran.slides.html", "index.html"
    ]  # fmt: skip
