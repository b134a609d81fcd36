"""A real browser moves every slider of the filter-decay explorer (``hyena_lab.explorer``).

What a student does, done by headless Chromium driven with Playwright: build the page into a
temporary folder, serve it on 127.0.0.1 from a thread (as ``make explorer`` does), open it, and
move each slider (set its value, dispatch ``input``) and each drop-down; after every move the page
must have redrawn (``data-draws`` on ``#explorer`` went up), say where it is (``data-state``
changed and names the new value) and show it (the pixels of the canvases that depend on the
control changed). Any console error, uncaught exception, failed load or request that leaves the
local server fails the test, naming it. The page also opens from the disk (``file://``), which is
how the book ships it (``build/book/html/explorer/``).

A screenshot after the moves is saved to ``build/browser/explorer.png``
(``$HYENA_LAB_SCREENSHOTS`` names another folder). The tests skip, saying why, where Playwright or
Chromium is missing.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from hyena_lab import explorer

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("HYENA_LAB_SCREENSHOTS", ROOT / "build" / "browser"))
LOAD_MS = 30_000  # the page and its 2.7 MB of data on a busy 2-core machine (~0.5 s idle)
REDRAW_MS = 10_000  # one redraw: three canvases, well under 0.1 s idle
CANVASES = ("filters-canvas", "spectra-canvas", "matrix-canvas")

playwright_sync = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed: `pip install -e '.[browser]'`"
)

SNAPSHOT_JS = """(ids) => {
  const root = document.getElementById('explorer');
  const pixels = {};
  for (const id of ids) pixels[id] = document.getElementById(id).toDataURL();
  return {draws: Number(root.dataset.draws), state: root.dataset.state, pixels: pixels};
}"""
MOVE_JS = """([id, value]) => {
  const el = document.getElementById(id);
  el.value = String(value);
  el.dispatchEvent(new Event('input', {bubbles: true}));
}"""


@pytest.fixture(scope="module")
def page_dir(tmp_path_factory) -> Path:
    """The default page, built once for this module."""
    out = tmp_path_factory.mktemp("explorer-page")
    explorer.build(explorer.BuildConfig(out_dir=str(out)))
    return out


@pytest.fixture(scope="module")
def served(page_dir: Path) -> Iterator[str]:
    """The page served on 127.0.0.1 (a free port) from a thread; yields its URL."""
    server = explorer.make_server(page_dir, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()



def _open(browser, url: str, local: str) -> tuple[object, list[str]]:
    """Open ``url``; return the page and the list that collects its problems (console errors,
    uncaught exceptions, failed loads, requests to anything but ``local`` or inline data)."""
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"uncaught: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed to load {r.url}: {r.failure}"))
    page.on(
        "request",
        lambda r: (
            None
            if r.url.startswith((local, "data:", "blob:", "about:"))
            else problems.append(f"loads from outside the page's folder: {r.url}")
        ),
    )
    page.goto(url, wait_until="load", timeout=LOAD_MS)
    page.wait_for_function(
        "document.getElementById('explorer').dataset.draws >= 1", timeout=LOAD_MS
    )
    return page, problems


def _move(
    page, control: str, value: object, changes: tuple[str, ...], timeout_ms: int
) -> list[str]:
    """Set ``control`` to ``value`` and dispatch ``input``; what failed to follow, as sentences:
    no redraw, an unchanged or wrong ``data-state``, a canvas of ``changes`` left as it was."""
    before = page.evaluate(SNAPSHOT_JS, list(CANVASES))
    page.evaluate(MOVE_JS, [control, value])
    try:
        page.wait_for_function(
            f"Number(document.getElementById('explorer').dataset.draws) > {before['draws']}",
            timeout=timeout_ms,
        )
    except playwright_sync.TimeoutError:
        return [f"{control} -> {value}: no redraw within {timeout_ms / 1000:g} s (data-draws "
                f"stayed {before['draws']})"]  # fmt: skip
    after = page.evaluate(SNAPSHOT_JS, list(CANVASES))
    failures = []
    if after["state"] == before["state"]:
        failures.append(f"{control} -> {value}: data-state did not change ({after['state']!r})")
    failures += [f"{control} -> {value}: {c} drew the same pixels" for c in changes
                 if after["pixels"][c] == before["pixels"][c]]  # fmt: skip
    return failures


def test_every_control_redraws_the_page(browser, served: str, page_dir: Path) -> None:
    data = explorer.read_page_data(page_dir)
    page, problems = _open(browser, served, served)
    failures: list[str] = []
    try:
        assert page.evaluate("document.getElementById('explorer').dataset.draws") == "1"
        for s in data["sliders"]:
            control = f"slider-{s['name']}"
            bounds = page.evaluate(
                f"(() => {{ const e = document.getElementById('{control}'); "
                f"return e ? [e.min, e.max, e.value] : null; }})()"
            )
            assert bounds == ["0", str(len(s["values"]) - 1), str(s["start"])], (control, bounds)
            target = (s["start"] + 1) % len(s["values"])  # the next grid value (or the first)
            failures += _move(page, control, target, CANVASES, REDRAW_MS)
            state = page.evaluate("document.getElementById('explorer').dataset.state")
            if f"{s['name']}={s['values'][target]:g}" not in state:
                failures.append(f"{control}: data-state {state!r} lacks the new value")
        failures += _move(page, "select-spectrum", "linear", ("spectra-canvas",), REDRAW_MS)
        failures += _move(page, "select-colour", "log", ("matrix-canvas",), REDRAW_MS)
        draws = int(page.evaluate("document.getElementById('explorer').dataset.draws"))
        assert draws == 1 + len(data["sliders"]) + 2, f"{draws} draws for the moves made"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "explorer.png"), full_page=True)
    finally:
        page.close()
    failures += problems
    if failures:
        pytest.fail("the explorer:\n  " + "\n  ".join(failures), pytrace=False)


def test_the_page_works_from_the_disk(browser, page_dir: Path) -> None:
    """As the book ships it: opened as a file, no server; the data is inside the page."""
    index = page_dir / "index.html"
    page, problems = _open(browser, index.as_uri(), index.as_uri())
    try:
        failures = _move(page, "slider-bands", 0, CANVASES, REDRAW_MS)
    finally:
        page.close()
    assert not failures + problems, failures + problems


BROKEN = """<!DOCTYPE html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">
</head><body><main id="explorer" data-state="" data-draws="1">
<input type="range" id="slider-w" min="0" max="3" value="0">
<canvas id="filters-canvas"></canvas><canvas id="spectra-canvas"></canvas>
<canvas id="matrix-canvas"></canvas></main>
<img src="http://192.0.2.1/remote.png" alt="from the network">
<script>console.error("synthetic console error")</script></body></html>"""


def test_the_checks_catch_a_broken_page(browser, tmp_path: Path) -> None:
    """A slider that redraws nothing, a console error and a request to the network are caught."""
    index = tmp_path / "index.html"
    index.write_text(BROKEN)
    page, problems = _open(browser, index.as_uri(), index.as_uri())
    try:
        failures = _move(page, "slider-w", 2, CANVASES, 500)
    finally:
        page.close()
    assert failures and "no redraw" in failures[0], failures
    assert any("synthetic console error" in p for p in problems), problems
    assert any("192.0.2.1/remote.png" in p for p in problems), problems
