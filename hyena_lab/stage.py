"""Prepare the executed chapters for readers: the book (check cells folded) and the slides.

Every claim a chapter makes is checked by an ``assert`` in a code cell next to it
(CONTRIBUTING.md, Rule 1). Those cells are what makes the handbook trustworthy, but a reader
following the argument does not need to read them, and a lecture never shows them. This module
decides, from the code itself (``ast``), which cells only check, and stages the executed
notebooks (``notebooks/NN_*.ipynb``, never modified here) in two ways:

* :func:`stage_for_book` copies a notebook for ``make book``: check cells get the tag
  ``hide-input`` (myst-nb and the sphinx-book-theme then show a "Show code cell source" toggle
  and the output, not the code), and the ``# NBVAL_*`` marker lines, which are test plumbing
  (nbval's ``NBVAL_CHECK_OUTPUT`` / ``NBVAL_IGNORE_OUTPUT``), are removed from every code cell.
* :func:`slides_notebook` selects the slides of a chapter (the rules are in its docstring);
  :mod:`hyena_lab.decks` renders them as reveal.js decks that load only vendored JavaScript.

Which cells are check cells (:func:`is_check_cell`, :func:`check_cells`):

* **A**: every top-level statement is an ``assert``;
* **B**: the cell carries a ``# NBVAL_*`` marker line, every statement is an ``assert`` or a
  ``print(...)``, and it asserts something or is marked ``NBVAL_CHECK_OUTPUT`` (nbval then
  compares what it prints with the committed output: that is the check);
* **C** (needs the rest of the notebook, so only :func:`check_cells`): the cell asserts
  something, its statements are asserts, prints, assignments and ``for``/``if``/``with`` blocks
  of those, and no name it binds is read by a later cell before being bound again (a backward
  liveness pass over the cells). Such a cell computes only what its asserts need; folding it
  hides no definition the rest of the chapter uses.

A cell whose output holds a figure or a widget is never a check cell: the output is its point.

Command line (the last line printed is one JSON object; a missing or never-executed notebook
or a bad folder is an error that says what to do, a cell added since the last ``make handbook``
is named and staged without output)::

    python -m hyena_lab.stage book SRC_DIR DST_DIR [--executed-only]
    python -m hyena_lab.stage slides NOTEBOOK... --out DIR [--reveal PREFIX] [--mathjax URL]
        [--requirejs URL] [--widgets URL] [--executed-only]

``book`` stages every ``SRC_DIR/NN_*.ipynb`` (what ``make book`` builds); ``slides`` writes
``DIR/NN_name.slides.html`` and ``DIR/index.html`` (:func:`hyena_lab.decks.write_decks`; the
URLs default to ``make slides``' layout, ``../slides-js/...``).
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import re
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import nbformat

from .files import write_atomic

__all__ = [
    "FIGURE_MIMETYPES", "HIDE_INPUT_TAG", "MAX_SLIDE_LINES", "REMOVE_INPUT_TAG",
    "SLIDES_SKIP_TAG", "SLIDES_TAG", "check_cells", "check_executed", "heading", "is_check_cell",
    "is_exercise_stub", "main", "nbval_markers", "read_executed", "slides_notebook",
    "stage_for_book", "strip_markers", "unexecuted_cells",
]  # fmt: skip

#: The nbval marker whose cell's printed output is compared with the committed one.
CHECKED_OUTPUT = "NBVAL_CHECK_OUTPUT"
#: A cell tagged so is always on the slides; one tagged ``slides-skip`` never is.
SLIDES_TAG = "slides"
SLIDES_SKIP_TAG = "slides-skip"
#: The tag that myst-nb and the book theme read to fold a cell's code behind a toggle.
HIDE_INPUT_TAG = "hide-input"
#: The tag that hides a cell's code on a slide (nbconvert's TagRemovePreprocessor, configured by
#: :func:`hyena_lab.decks.write_decks`; myst-nb reads the same tag).
REMOVE_INPUT_TAG = "remove-input"
#: Outputs that earn a code cell its own slide: a figure or a (saved) widget.
WIDGET_MIMETYPE = "application/vnd.jupyter.widget-view+json"
FIGURE_MIMETYPES = ("image/png", "image/svg+xml", WIDGET_MIMETYPE)
#: Lines of markdown on one (sub-)slide of 960 x 700 px at 20 px type (nbconvert's reveal
#: template), about what fits next to a heading without scrolling.
MAX_SLIDE_LINES = 12
#: Statements that a check cell of kind C may hold besides asserts and prints.
_COMPUTE = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Pass, ast.Delete)
_BLOCKS = (ast.For, ast.If, ast.With, ast.While)


# --- the code of a cell ----------------------------------------------------------------------
def nbval_markers(source: str) -> list[str]:
    """The nbval markers (``NBVAL_CHECK_OUTPUT``, ...) of a cell's source: the comment lines
    ``# NBVAL_*``, in order, as their names."""
    return [line.strip().lstrip("#").strip() for line in source.splitlines() if _is_marker(line)]


_MARKER = re.compile(r"#\s*NBVAL_[A-Z0-9_]+")


def _is_marker(line: str) -> bool:
    """A whole comment line naming an nbval marker (a comment: ``ast`` never sees it)."""
    return _MARKER.fullmatch(line.strip()) is not None


def strip_markers(source: str) -> str:
    """``source`` without its ``# NBVAL_*`` marker lines (everything else kept as written)."""
    return "\n".join(line for line in source.split("\n") if not _is_marker(line))


def _parse(source: str) -> ast.Module | None:
    """The cell's module, IPython line magics (``%x``, ``!x``) read as ``pass``; ``None`` if it
    is not Python (a cell magic ``%%x`` or a syntax error)."""
    if source.lstrip().startswith("%%"):
        return None
    lines = [
        "pass" if line.lstrip().startswith(("%", "!")) and line == line.lstrip() else line
        for line in source.split("\n")
    ]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def _is_print(stmt: ast.stmt) -> bool:
    call = stmt.value if isinstance(stmt, ast.Expr) else None
    return (
        isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "print"
    )


def _only_checks(stmts: Sequence[ast.stmt]) -> bool:
    """Kind C's statements: asserts, prints, raises, assignments and blocks of those."""
    for stmt in stmts:
        if isinstance(stmt, _BLOCKS):
            if not _only_checks(stmt.body) or not _only_checks(getattr(stmt, "orelse", [])):
                return False
        elif not (isinstance(stmt, (ast.Assert, ast.Raise, *_COMPUTE)) or _is_print(stmt)):
            return False
    return True


def _has_figure(cell: Any) -> bool:
    return any(
        any(m in out.get("data", {}) for m in FIGURE_MIMETYPES) for out in cell.get("outputs", [])
    )


def _rich_output(cell: Any) -> bool:
    """Any output other than printed text (a figure, a widget, HTML, a value's repr)."""
    return any(out.get("output_type") != "stream" for out in cell.get("outputs", []))


def is_check_cell(cell: Any, *, live_after: Collection[str] | None = None) -> bool:
    """Whether a code cell only checks what the prose claims (kinds A, B; C with ``live_after``).

    ``live_after``: the names that later cells read before binding them again (what
    :func:`check_cells` computes); given, kind C is also recognised. The decision is made on the
    cell's syntax tree (``ast``), never on its text; a cell that is not Python is not a check.
    """
    if cell.get("cell_type") != "code":
        return False
    tree = _parse(cell.get("source", ""))
    if tree is None or not tree.body:
        return False
    body = tree.body
    if all(isinstance(s, ast.Assert) for s in body):  # A
        return True
    if _rich_output(cell):
        return False
    markers = nbval_markers(cell["source"])
    asserts = any(isinstance(s, ast.Assert) for s in body)
    compared = CHECKED_OUTPUT in markers  # nbval compares what the cell prints
    if (
        markers
        and (asserts or compared)
        and all(isinstance(s, ast.Assert) or _is_print(s) for s in body)
    ):
        return True  # B
    if live_after is None or not any(isinstance(n, ast.Assert) for n in ast.walk(tree)):
        return False
    touched = _binds(tree) | _mutated(tree)
    return _only_checks(body) and not (touched & set(live_after))  # C


def is_exercise_stub(cell: Any) -> bool:
    """A code cell that defines a function whose body raises ``NotImplementedError`` (the
    exercises' "your answer here"), decided on the syntax tree."""
    tree = _parse(cell.get("source", "")) if cell.get("cell_type") == "code" else None
    if tree is None:
        return False
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                exc = inner.exc if isinstance(inner, ast.Raise) else None
                exc = exc.func if isinstance(exc, ast.Call) else exc
                if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                    return True
    return False


# --- which names a cell binds and reads (for kind C) ---------------------------------------
def _stmt_binds(stmt: ast.stmt) -> set[str]:
    """Names a top-level statement binds in the notebook's namespace (nested blocks included,
    function and class bodies not)."""
    names: set[str] = set()
    todo: list[ast.AST] = [stmt]
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        if isinstance(
            node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
        ):
            continue  # their own scope
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        todo.extend(ast.iter_child_nodes(node))
    return names


def _binds(tree: ast.Module) -> set[str]:
    return set().union(*(_stmt_binds(s) for s in tree.body))


def _mutated(tree: ast.Module) -> set[str]:
    """Names whose object the cell changes in place (``x[0] = ...``, ``x.a += ...``)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            while isinstance(target, (ast.Attribute, ast.Subscript, ast.Starred)):
                target = target.value
            if isinstance(target, ast.Name) and target is not node:
                names.add(target.id)
    return names


def _reads(node: ast.AST) -> set[str]:
    """Every name read anywhere under ``node`` (function bodies too: an over-estimate, which
    only makes kind C more careful)."""
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _exposed_and_killed(tree: ast.Module) -> tuple[set[str], set[str]]:
    """Names the cell reads before binding them, and names it surely binds (at top level, not
    inside a loop or branch)."""
    exposed: set[str] = set()
    killed: set[str] = set()
    for stmt in tree.body:
        exposed |= _reads(stmt) - killed
        if not isinstance(stmt, (*_BLOCKS, ast.Try)):  # a loop or a branch may not run
            killed |= _stmt_binds(stmt)
    return exposed, killed


def check_cells(nb: Any) -> list[int]:
    """Indices of the notebook's check cells (kinds A, B and C, see the module docstring).

    A backward pass over the code cells keeps the names that a later cell reads before it binds
    them (``live``); a cell that is not Python (a cell magic) counts as reading every name.
    """
    live: set[str] | None = set()  # None: any name may be read later
    found = []
    for index in range(len(nb.cells) - 1, -1, -1):
        cell = nb.cells[index]
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        if is_check_cell(cell, live_after=live) if live is not None else is_check_cell(cell):
            found.append(index)
        tree = _parse(cell.source)
        if tree is None:
            live = None
        elif live is not None:
            exposed, killed = _exposed_and_killed(tree)
            live = exposed | (live - killed)
    return sorted(found)


def unexecuted_cells(nb: Any) -> list[int]:
    """Indices of the non-empty code cells that have no execution count."""
    return [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and cell.source.strip() and cell.get("execution_count") is None
    ]


def check_executed(nb: Any, path: str | os.PathLike) -> list[int]:
    """Raise ``ValueError`` if ``nb`` was never executed (code, but no code cell has run);
    return the cells not executed otherwise (a cell added since the last ``make handbook``:
    the callers report them, the book and the slides show them without output)."""
    missing = unexecuted_cells(nb)
    code = [
        i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and cell.source.strip()
    ]
    if code and missing == code:
        raise ValueError(
            f"{path} is not executed: none of its {len(code)} code cells has run; run "
            f"`make handbook` (or execute it in JupyterLab and save) first"
        )
    return missing


def read_executed(path: str | os.PathLike) -> Any:
    """The notebook at ``path``, checked by :func:`check_executed`; clear errors otherwise."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no notebook at {path}: expected an executed NN_name.ipynb")
    if path.suffix != ".ipynb":
        raise ValueError(f"{path} is not a notebook: expected a .ipynb file")
    nb = nbformat.read(path, as_version=4)
    check_executed(nb, path)
    return nb


# --- the book --------------------------------------------------------------------------------
def stage_for_book(src_ipynb: str | os.PathLike, dst_ipynb: str | os.PathLike) -> dict:
    """Copy an executed notebook for the book: ``hide-input`` on its check cells, ``# NBVAL_*``
    marker lines removed from every code cell. Writes ``dst_ipynb`` atomically; returns
    ``{"notebook", "hidden", "markers_removed", "unexecuted"}`` (hidden: the indices of the
    check cells; unexecuted: code cells added since the notebook was last executed)."""
    nb = read_executed(src_ipynb)
    hidden = check_cells(nb)  # decided on the sources as committed, markers included
    removed = 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        removed += len(nbval_markers(cell.source))
        cell.source = strip_markers(cell.source)
        if index in hidden:
            tags = cell.metadata.setdefault("tags", [])
            if HIDE_INPUT_TAG not in tags:
                tags.append(HIDE_INPUT_TAG)
    write_atomic(dst_ipynb, nbformat.writes(nb))
    return {
        "notebook": Path(src_ipynb).name, "hidden": hidden, "markers_removed": removed,
        "unexecuted": unexecuted_cells(nb),
    }  # fmt: skip


# --- the slides ------------------------------------------------------------------------------
def heading(source: str) -> tuple[int, str]:
    """(level, text) of the markdown heading on the first non-blank line; (0, "") if none."""
    first = source.lstrip("\n").split("\n", 1)[0]
    match = re.match(r"(#{1,6})\s+(.*?)\s*#*\s*$", first)
    return (len(match.group(1)), match.group(2)) if match else (0, "")


_LIST_ITEM = re.compile(r"([*+-]|\d+[.)])\s")


def _blocks(source: str, max_lines: int) -> list[list[str]]:
    """Markdown split at blank lines, a fenced code block or a ``$$`` equation kept whole; a
    list longer than ``max_lines`` is split into its items (an ordered list continued in a later
    piece keeps its numbers: CommonMark starts it at the first item's number)."""
    blocks: list[list[str]] = [[]]
    fence = math = False
    for line in source.strip("\n").split("\n"):
        text = line.strip()
        if text.startswith(("```", "~~~")):
            fence = not fence
        elif not fence and text.count("$$") % 2 == 1:
            math = not math
        if not text and not fence and not math:
            if blocks[-1]:
                blocks.append([])
            continue
        blocks[-1].append(line)
    split: list[list[str]] = []
    for block in filter(None, blocks):
        if len(block) <= max_lines or not _LIST_ITEM.match(block[0]):
            split.append(block)
            continue
        items: list[list[str]] = []
        for line in block:  # an item starts at column 0; its continuation lines are indented
            if _LIST_ITEM.match(line) or not items:
                items.append([line])
            else:
                items[-1].append(line)
        split.extend(items)
    return split


def _introduces(block: list[str]) -> bool:
    """A lead-in: at most two lines ending with ":" or ",", or one line in bold."""
    last = block[-1].rstrip()
    bold = len(block) == 1 and last.startswith("**") and last.endswith("**")
    return len(block) <= 2 and (last.endswith((":", ",")) or bold)


def _chunks(source: str, max_lines: int) -> list[str]:
    """Whole blocks packed greedily into pieces of at most ``max_lines`` lines, blank lines
    included (a longer block stays whole: a paragraph is never cut). A lead-in
    (:func:`_introduces`) moves to the next piece with the block it introduces."""
    pieces: list[list[list[str]]] = [[]]
    for block in _blocks(source, max_lines):
        used = sum(len(b) + 1 for b in pieces[-1])  # each block and the blank line after it
        if pieces[-1] and used + len(block) > max_lines:
            lead = pieces[-1][-1]
            keep = len(pieces[-1]) > 1 and _introduces(lead)
            pieces.append([pieces[-1].pop()] if keep else [])
        pieces[-1].append(block)
    return ["\n\n".join("\n".join(b) for b in piece) for piece in pieces if piece]


def _slides_links(source: str) -> str:
    """Links to another chapter's notebook point at that chapter's deck instead."""
    return re.sub(r"\]\((\d\d_[A-Za-z0-9_]+)\.ipynb", r"](\1.slides.html", source)


def slides_notebook(nb: Any, max_lines: int = MAX_SLIDE_LINES) -> Any:
    """The slides of a chapter: a new notebook of the selected cells with reveal.js metadata
    (``metadata.slideshow.slide_type``); ``nb`` is not changed.

    The rules, applied cell by cell:

    * a markdown cell that opens with a ``#`` or ``##`` heading starts a slide, one with ``###``
      a sub-slide (below the slide, reached with the down arrow);
    * other markdown cells continue the current (sub-)slide while it holds at most
      ``max_lines`` lines, and start a sub-slide otherwise. They continue rather than appear as
      fragments: a lecturer pages through a chapter, not through its paragraphs;
    * a markdown cell longer than ``max_lines`` lines is cut between paragraphs (blank lines;
      an equation or a code block is never cut) into pieces of at most ``max_lines`` lines, and
      every piece after the first becomes a sub-slide headed "<title> (continued)". Nothing is
      dropped: the slides carry the chapter's whole argument, in short pieces;
    * a code cell appears only when its output holds a figure (``image/png``, ``image/svg+xml``)
      or a widget: on a sub-slide of its own, with that output only (no code, no printed text).
      A widget is followed by a line saying that its saved state redraws only with a kernel;
    * check cells (:func:`check_cells`), exercise stubs and cells tagged ``slides-skip`` never
      appear; a cell tagged ``slides`` always does (a code cell with its code and outputs).

    Each selected cell records where it came from in ``metadata.hyena_lab.cell``.
    """
    checks = set(check_cells(nb))
    out = nbformat.v4.new_notebook(metadata=copy.deepcopy(nb.metadata))
    state = {"title": "", "used": max_lines}  # the current slide's heading and its lines

    def add(cell: Any, slide_type: str, origin: int) -> None:
        cell.id = f"slide-{len(out.cells)}"  # unique and the same on every build
        cell.metadata["slideshow"] = {"slide_type": slide_type}
        cell.metadata["hyena_lab"] = {"cell": origin}
        out.cells.append(cell)

    def continued(origin: int) -> None:  # a sub-slide headed "<title> (continued)"
        title = f"{state['title']} (continued)" if state["title"] else "(continued)"
        note = nbformat.v4.new_markdown_cell(f"### {title}")
        add(note, "subslide", origin)
        state["used"] = 1

    for index, cell in enumerate(nb.cells):
        tags = set(cell.metadata.get("tags", []))
        if {SLIDES_TAG, SLIDES_SKIP_TAG} <= tags:
            raise ValueError(f"cell {index} is tagged both {SLIDES_TAG!r} and {SLIDES_SKIP_TAG!r}")
        chosen = SLIDES_TAG in tags
        if SLIDES_SKIP_TAG in tags or cell.cell_type not in ("markdown", "code"):
            continue
        if cell.cell_type == "markdown":
            level, title = heading(cell.source)
            # pieces leave a line for the "(continued)" heading that all but the first get
            for k, piece in enumerate(_chunks(_slides_links(cell.source), max_lines - 1)):
                n = len(piece.split("\n"))
                new = copy.deepcopy(cell)
                new.source = piece
                if k == 0 and level in (1, 2, 3):
                    state["title"], state["used"] = title, n
                    add(new, "slide" if level < 3 else "subslide", index)
                elif state["used"] + n <= max_lines and k == 0:
                    state["used"] += n
                    add(new, "-", index)
                else:
                    continued(index)
                    state["used"] += n
                    add(new, "-", index)
            continue
        if chosen:  # a code cell the author wants shown, code and all
            n = len(cell.source.split("\n")) + 2
            if state["used"] + n > max_lines:
                continued(index)
            state["used"] += n
            add(copy.deepcopy(cell), "-", index)
            continue
        if index in checks or is_exercise_stub(cell) or not _has_figure(cell):
            continue
        new = copy.deepcopy(cell)
        new.outputs = [
            o for o in new.outputs if any(m in o.get("data", {}) for m in FIGURE_MIMETYPES)
        ]
        new.metadata["tags"] = [*new.metadata.get("tags", []), REMOVE_INPUT_TAG]
        add(new, "subslide", index)
        state["used"] = max_lines  # the figure fills the sub-slide
        if any(WIDGET_MIMETYPE in o.get("data", {}) for o in new.outputs):
            note = "*The widget's saved state: it redraws only with a running kernel (JupyterLab).*"
            add(nbformat.v4.new_markdown_cell(note), "-", index)
    if out.cells:  # the deck opens on a slide, whatever the chapter's first selected cell is
        out.cells[0].metadata["slideshow"] = {"slide_type": "slide"}
    return out


# --- command line ----------------------------------------------------------------------------
def _book(src: Path, dst: Path, executed_only: bool) -> list[dict]:
    if not src.is_dir():
        raise ValueError(f"SRC_DIR {src} is not a folder; expected the folder of NN_name.ipynb")
    if dst.exists() and not dst.is_dir():
        raise ValueError(f"DST_DIR {dst} is a file; expected a folder")
    notebooks = sorted(src.glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        raise ValueError(f"no NN_name.ipynb notebooks in {src}")
    if executed_only:
        notebooks = [p for p in notebooks if _ever_executed(p)]
    return [stage_for_book(p, dst / p.name) for p in notebooks]


def _ever_executed(path: str | os.PathLike) -> bool:
    """False, saying so, for a notebook that exists but was never executed."""
    if not Path(path).is_file():
        return True  # write_decks says that it is missing
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    if code and not any(c.get("execution_count") is not None for c in code):
        print(f"stage: left out {path}: never executed (run `make handbook`)")
        return False
    return True


def _not_run(cells: list[int]) -> str:
    if not cells:
        return ""
    return f"; NOT EXECUTED: code cell(s) {cells} (no output shown; run `make handbook`)"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m hyena_lab.stage",
        description="Stage the executed chapters for the book, or write their slides.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    book = commands.add_parser("book", help="copy the chapters for the book, check cells folded")
    book.add_argument("src", type=Path, metavar="SRC_DIR", help="folder of NN_name.ipynb")
    book.add_argument("dst", type=Path, metavar="DST_DIR", help="where the copies go")
    slides = commands.add_parser("slides", help="write a reveal.js deck per chapter, and an index")
    slides.add_argument("notebooks", nargs="+", metavar="NOTEBOOK", help="executed .ipynb files")
    slides.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder of decks")
    for command in (book, slides):
        command.add_argument(
            "--executed-only", action="store_true",
            help="leave out, saying so, the notebooks that were never executed (else an error)",
        )  # fmt: skip
    from .decks import SlideURLs, write_decks

    default = SlideURLs()
    for name, help_ in (
        ("reveal", "reveal.js folder (holds dist/ and plugin/)"),
        ("mathjax", "MathJax 3's tex-mml-chtml.js"),
        ("requirejs", "require.js"),
        ("widgets", "@jupyter-widgets/html-manager's embed-amd.js"),
    ):
        slides.add_argument(
            f"--{name}", default=getattr(default, name), metavar="URL",
            help=f"{help_}: a path relative to DIR or a file: URL (default %(default)s)",
        )  # fmt: skip
    args = parser.parse_args(argv)
    try:
        if args.command == "book":
            done = _book(args.src, args.dst, args.executed_only)
            lines = [f"{s['notebook']}: {len(s['hidden'])} check cells folded" for s in done]
            summary = {"staged": len(done), "hidden": sum(len(s["hidden"]) for s in done)}
        else:
            urls = SlideURLs(args.reveal, args.mathjax, args.requirejs, args.widgets)
            notebooks = args.notebooks
            if args.executed_only:
                notebooks = [p for p in notebooks if _ever_executed(p)]
            done = write_decks(notebooks, args.out, urls)
            lines = [f"{args.out / d['deck']}: {d['slides']} slides" for d in done]
            summary = {"decks": len(done), "slides": sum(d["slides"] for d in done)}
    except (FileNotFoundError, ValueError) as err:
        raise SystemExit(f"stage {args.command}: {err}") from None
    for line, item in zip(lines, done, strict=True):
        print(f"stage: {line}{_not_run(item['unexecuted'])}")
    summary["unexecuted"] = sum(len(item["unexecuted"]) for item in done)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
