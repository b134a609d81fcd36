"""The static book (`make book`): the Sphinx configuration builds every executed chapter without
a warning, equations and figures reach the HTML pages, no executed figure lacks its image, every
widget a reader can operate carries the notice that it needs a kernel (``book/_ext/hyena_book``),
and the download button's ``.ipynb`` is shipped with the book. What a browser shows of the built
pages (MathJax errors, console errors) is checked by ``tests/browser/test_book_pages.py``."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
VIEW_MIME = "application/vnd.jupyter.widget-view+json"
STATE_MIME = "application/vnd.jupyter.widget-state+json"


def _load_extension():
    """The book's local Sphinx extension, ``book/_ext/hyena_book.py``, as a module."""
    spec = importlib.util.spec_from_file_location("hyena_book", ROOT / "book/_ext/hyena_book.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hyena_book = _load_extension()


def _outputs(path: Path) -> list[tuple[int, dict]]:
    """(code cell number, output) for every output of an executed notebook."""
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    return [(i + 1, o) for i, c in enumerate(cells) for o in c.get("outputs", [])]


def _png_count(path: Path) -> int:
    return sum("image/png" in o.get("data", {}) for _, o in _outputs(path))


CONTROL_MODELS = re.compile(r"Slider|Dropdown|Checkbox|Button|Text|Select|Toggle|Radio|Play|Picker")


def _control_view_count(path: Path) -> int:
    """Widget views of an executed notebook whose widget tree holds a control (a slider, ...).

    Counted independently of the extension (which reads view names): by model names, following
    the ``children`` of boxes.
    """
    nb = json.loads(path.read_text())
    state = nb["metadata"].get("widgets", {}).get(STATE_MIME, {}).get("state", {})

    def holds_control(model_id: str, depth: int = 0) -> bool:
        model = state.get(model_id, {})
        if CONTROL_MODELS.search(model.get("model_name", "")):
            return True
        children = model.get("state", {}).get("children", [])
        nested = (c.removeprefix("IPY_MODEL_") for c in children)
        return depth < 20 and any(holds_control(c, depth + 1) for c in nested)

    data = [o.get("data", {}) for _, o in _outputs(path)]
    return sum(holds_control(d[VIEW_MIME]["model_id"]) for d in data if VIEW_MIME in d)


# --- the extension's functions on small widget states ----------------------------------------
def _model(view: str, **fields) -> dict:
    return {"model_name": view.replace("View", "Model"), "state": {"_view_name": view, **fields}}


STATE = {
    "slider": _model("IntSliderView", value=3),
    "out": _model("OutputView"),
    "interact": _model("VBoxView", children=["IPY_MODEL_slider", "IPY_MODEL_out"]),
    "label": _model("HTMLView", value="50%"),
    "bar": _model("ProgressView", value=5.0),
    "tqdm": _model("HBoxView", children=["IPY_MODEL_label", "IPY_MODEL_bar"]),
    "loop": _model("VBoxView", children=["IPY_MODEL_loop", "IPY_MODEL_tqdm"]),
    "layout": {"model_name": "LayoutModel", "state": {"_view_name": "LayoutView"}},
}


@pytest.mark.parametrize(
    ("model_id", "expected"),
    [
        ("slider", True),  # a control
        ("interact", True),  # a box holding a control
        ("tqdm", False),  # a progress bar: text and a bar only
        ("out", False),
        ("loop", False),  # a box that holds itself ends, and holds no control
        ("missing", False),  # not in the state: nothing is rendered
    ],
)
def test_has_control(model_id: str, expected: bool):
    assert hyena_book.has_control(STATE, model_id) is expected


def _view(model_id: str) -> str:
    return f'<script type="{VIEW_MIME}">{{"model_id": "{model_id}", "version_major": 2}}</script>'


def test_add_widget_notices_marks_controls_only():
    body = f"<div>{_view('tqdm')}</div><p>text</p><div>{_view('interact')}</div>"
    marked, count = hyena_book.add_widget_notices(body, STATE)
    assert count == 1
    assert marked == body.replace(_view("interact"), hyena_book.NOTICE_HTML + _view("interact"))
    assert "needs a running Python kernel" in marked and "<code>make lab</code>" in marked


def test_page_widget_state_reads_myst_nb_script():
    class Script:  # what Sphinx hands to html-page-context in context["script_files"]
        def __init__(self, **attributes):
            self.attributes = attributes

    escaped = json.dumps({"state": STATE, "note": "</script>"}).replace("</script>", r"<\/script>")
    scripts = [Script(src="require.js"), Script(type=STATE_MIME, body=escaped)]
    assert hyena_book.page_widget_state(scripts) == STATE
    assert hyena_book.page_widget_state([Script(src="a.js")]) == {}


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_figure_output_has_an_image(notebook: Path):
    """A figure shown as the text '<Figure size ...>' is missing from the page and the book."""
    bare = [
        n
        for n, o in _outputs(notebook)
        if "".join(o.get("data", {}).get("text/plain", "")).startswith("<Figure size")
        and "image/png" not in o.get("data", {})
    ]
    assert not bare, (
        f"{notebook.name}: code cells {bare} show '<Figure size ...>' without a PNG: the inline "
        f"backend was not active; run `%matplotlib inline` before the first figure"
    )


def test_sphinx_builds_the_book(tmp_path: Path):
    pytest.importorskip("myst_nb", reason="the book extra is missing: pip install -e '.[book]'")
    src, out = tmp_path / "src", tmp_path / "html"
    (src / "notebooks").mkdir(parents=True)
    for page in (ROOT / "book").glob("*.md"):
        shutil.copy(page, src)
    for notebook in NOTEBOOKS:
        shutil.copy(notebook, src / "notebooks")
    (src / "course").mkdir()
    for page in ("syllabus.md", "solutions.ipynb"):  # as `make book` stages them
        shutil.copy(ROOT / "course" / page, src / "course")
    env = {**os.environ, "HYENA_LAB_BOOK_JS": str(tmp_path / "no-vendored-js")}  # fast: no copy
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q"]
    proc = subprocess.run(
        [*cmd, "-c", str(ROOT / "book"), str(src), str(out)],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, f"sphinx-build failed:\n{proc.stdout}\n{proc.stderr}"
    index = (out / "index.html").read_text()
    for notebook in NOTEBOOKS:
        page = out / "notebooks" / f"{notebook.stem}.html"
        assert page.exists(), f"no page for {notebook.name}"
        assert f"notebooks/{notebook.stem}.html" in index, f"{notebook.stem} not in the contents"
        html = page.read_text()
        images = len(re.findall(r"<img[^>]+src=\"[^\"]*_images/", html))
        assert images >= _png_count(notebook), f"{notebook.stem}: figures missing from the page"
        if "$" in notebook.read_text():
            assert 'class="math' in html, f"{notebook.stem}: no equation reached the page"
        notices = html.count(f'class="{hyena_book.NOTICE_CLASS}"')
        expected = _control_view_count(notebook)
        assert notices == expected, f"{notebook.stem}: {notices} notices for {expected} controls"
        # the theme's download button serves the chapter's notebook, shipped in _sources/
        assert f'href="../_sources/notebooks/{notebook.name}"' in html, "no .ipynb download link"
        shipped = out / "_sources" / "notebooks" / notebook.name
        assert json.loads(shipped.read_text())["cells"], f"{shipped} is not the notebook"
        # the widgets' MathJax 2 Hub (hyena-book.js) must see the MathJax configuration object
        # and run before MathJax 3 (deferred) replaces it: see book/_static/hyena-book.js
        shim = html.find("_static/hyena-book.js")
        assert shim > 0, "the MathJax 2 Hub for the widgets is missing"
        if 'class="math' in html:
            assert 0 < html.find("window.MathJax = ") < shim, "hyena-book.js before the config"
            assert re.search(r'<script defer="defer" src="[^"]*tex-mml-chtml\.js', html)
