"""The static book (`make book`): the Sphinx configuration builds every executed chapter without
a warning, equations and figures reach the HTML pages, and no executed figure lacks its image."""

from __future__ import annotations

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


def _outputs(path: Path) -> list[tuple[int, dict]]:
    """(code cell number, output) for every output of an executed notebook."""
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    return [(i + 1, o) for i, c in enumerate(cells) for o in c.get("outputs", [])]


def _png_count(path: Path) -> int:
    return sum("image/png" in o.get("data", {}) for _, o in _outputs(path))


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
