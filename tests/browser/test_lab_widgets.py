"""A real browser runs a chapter in JupyterLab and moves one of its sliders.

What a student does, done by Chromium driven with Playwright: start JupyterLab (headless, on a
temporary copy of the chapter), open the chapter, wait for the kernel, run every cell, then check

1. that no cell raised,
2. that a widget with a slider (an ``ipywidgets.interact`` or a handbook explorer such as
   chapter 1's ``ConvExplorer``) renders with the figure it draws,
3. that moving the slider (keyboard, on its handle) changes the readout AND redraws the figure
   (the ``src`` of the ``<img>`` under the widget changes), and
4. where the widget has a drop-down (chapter 1's filter kinds), that choosing each option in turn
   and then the first again redraws the figure every time, shows no error in its place, and
   brings back the parameter value the first option had (each kind keeps its own slider);
5. that the chapter's quiz answers a wrong choice with NOT YET and that option's misconception,
   then the right one with PASS (the kernel runs ``check_answer``).

A screenshot of the page after the move is saved to ``build/browser/<chapter>-lab.png``
(``$HYENA_LAB_SCREENSHOTS`` overrides the folder). The chapter is chapter 01 by default;
``$HYENA_LAB_BROWSER_NOTEBOOK`` names another ``.ipynb``. The test skips, saying why, where
Playwright or Chromium is missing (``make test`` installs both when it runs as root).

Run it alone with ``make browser`` (about a minute); it needs no network.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .chromium import CHROMIUM_ARGS, chromium_path

ROOT = Path(__file__).resolve().parents[2]
CHAPTER = ROOT / "notebooks" / "01_long_convolutions.ipynb"
# JupyterLab settings for an unattended run: no news / update pop-up over the page, no autosave
# writing into the files under test, and every cell rendered (no virtual scrolling).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}
SERVER_START_S = 90  # JupyterLab's first start on a busy 2-core machine
RUN_ALL_S = 300  # chapter 01 runs in well under a minute on a laptop CPU
REDRAW_S = 60  # one slider step re-runs the plotting function once
WIDGET_BOX = ".widget-interact, .hyena-explorer"  # interact(...) or a handbook explorer

playwright_sync = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed: `pip install -e '.[browser]'`"
)


def _notebook() -> Path:
    """The chapter under test (``$HYENA_LAB_BROWSER_NOTEBOOK`` or chapter 01)."""
    path = Path(os.environ.get("HYENA_LAB_BROWSER_NOTEBOOK", CHAPTER))
    if not path.exists():
        pytest.skip(f"{path} does not exist yet: nothing to open in the browser")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_settings(folder: Path) -> None:
    for plugin, values in LAB_SETTINGS.items():
        path = folder / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def _wait_for_server(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/api/status", timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    raise TimeoutError(f"JupyterLab did not answer within {SERVER_START_S} s:\n{log.read_text()}")


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """JupyterLab on 127.0.0.1 serving a copy of the chapter; yields (url, file name, chromium)."""
    chromium = chromium_path()  # skip before starting anything when there is no browser
    notebook = _notebook()
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(notebook, work / notebook.name)
    settings = tmp_path / "lab-settings"
    _write_settings(settings)
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # the kernel must use its inline backend to show figures
    env["JUPYTERLAB_SETTINGS_DIR"] = str(settings)
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")
    env["HYENA_LAB_FIGURES"] = str(tmp_path / "figures")  # savefig must not touch figures/
    port = _free_port()
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
        "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=", "--ServerApp.password=",
        "--LabApp.extension_manager=readonly", "--LabApp.expose_app_in_browser=True",
        "--ServerApp.open_browser=False", f"--ServerApp.root_dir={work}",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = tmp_path / "jupyterlab.log"
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_server(url, proc, log)
        yield url, notebook.name, chromium
    finally:
        proc.terminate()  # only the server started above, by its own handle
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


# JavaScript run in the page through `window.jupyterapp` (exposed by the server flag above).
KERNEL_IDLE_JS = """() => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = panel && panel.sessionContext && panel.sessionContext.session
    && panel.sessionContext.session.kernel;
  return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
}"""
RUN_STATE_JS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session.kernel;
  const cells = panel.content.widgets.filter(c => c.model.type === 'code'
    && c.model.sharedModel.getSource().trim() !== '');
  const errors = [];
  for (const c of cells) {
    for (const o of c.model.outputs.toJSON()) {
      if (o.output_type === 'error') errors.push(o.ename + ': ' + o.evalue);
    }
  }
  const done = cells.filter(c => c.model.executionCount !== null).length;
  return {idle: kernel.status === 'idle', done: done, total: cells.length, errors: errors};
}"""


def _run_all_cells(page, timeout_s: float) -> dict:
    """Run every cell once the kernel is idle; wait until all ran (or one failed)."""
    try:
        page.wait_for_function(KERNEL_IDLE_JS, timeout=SERVER_START_S * 1000)
    except playwright_sync.TimeoutError:
        pytest.fail(
            f"the kernel was not connected and idle within {SERVER_START_S} s (a kernel "
            f"selection dialog? the notebook's metadata must name the python3 kernelspec)"
        )
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    deadline = time.monotonic() + timeout_s
    state = page.evaluate(RUN_STATE_JS)
    while time.monotonic() < deadline:
        state = page.evaluate(RUN_STATE_JS)
        if state["errors"] or (state["idle"] and state["done"] == state["total"]):
            return state
        page.wait_for_timeout(500)
    raise TimeoutError(f"Run All did not finish in {timeout_s} s: {state}")


def _wait_for_redraw(page, box, before_src: str | None, what: str, shot: Path) -> str:
    """Wait until the ``<img>`` under ``box`` has a new ``src`` and the kernel is idle again;
    fail with a screenshot otherwise. Returns the new ``src``."""
    try:
        page.wait_for_function(
            """([box, src]) => { const img = box.querySelector('.widget-output img');
               return img !== null && img.getAttribute('src') !== src; }""",
            arg=[box.element_handle(), before_src],
            timeout=REDRAW_S * 1000,
        )
    except playwright_sync.TimeoutError:
        page.screenshot(path=str(shot))
        pytest.fail(f"{what} did not redraw the figure within {REDRAW_S} s (screenshot: {shot})")
    page.wait_for_function(KERNEL_IDLE_JS, timeout=REDRAW_S * 1000)
    return box.locator(".widget-output img").first.get_attribute("src")


def _output_problems(box) -> list[str]:
    """What is wrong with the widget's output area: other than exactly one image, or any text
    that reads like an error (a traceback, or the explorer's 'Cannot draw' message)."""
    problems = []
    images = box.locator(".widget-output img").count()
    if images != 1:
        problems.append(f"{images} images in the output (expected exactly one)")
    text = box.locator(".widget-output").first.inner_text()
    for word in ("Traceback", "Error", "Cannot draw"):
        if word in text:
            problems.append(f"the output says {text.strip()[:300]!r}")
            break
    return problems


def _switch_every_option(page, box, shot: Path) -> list[str]:
    """Choose each option of the widget's first drop-down in turn, then the first one again;
    each choice must redraw the figure, cleanly. Returns the options visited."""
    select = box.locator(".widget-dropdown select").first
    labels = select.locator("option").all_inner_texts()  # as shown: spaces may be \xa0
    selected = select.evaluate("s => s.selectedIndex")
    first = labels[selected]
    options = [o for i, o in enumerate(labels) if i != selected] + [first]
    param = box.locator(".widget-slider").nth(1).locator(".widget-readout")  # after L
    first_value = param.inner_text()
    src = box.locator(".widget-output img").first.get_attribute("src")
    visited = []
    for option in options:
        select.select_option(label=option)
        name = " ".join(option.split())
        src = _wait_for_redraw(page, box, src, f"choosing {name!r}", shot)
        problems = _output_problems(box)
        assert not problems, f"after choosing {name!r}: {problems}"
        visited.append(name)
    assert param.inner_text() == first_value, (
        f"{visited[-1]!r} came back with {param.inner_text()}, not its own {first_value}"
    )
    return visited


def _answer_the_quiz(page, chapter: int) -> list[str]:
    """The chapter's quiz (``quiz(N)``): choose a wrong option of the first question and press
    Check, then the right one; the feedback must say NOT YET with that option's misconception,
    then PASS with the explanation (both from ``check_answer``, run by the kernel)."""
    from hyena_lab.exercises import check_answer, questions

    q = questions(chapter)[0]
    wrong = next(i for i in range(len(q.options)) if i != q.answer)
    block = page.locator(".hyena-quiz .hyena-quiz-question").first
    block.scroll_into_view_if_needed()
    radios = block.locator("input[type=radio]")
    assert radios.count() == len(q.options), f"{q.id}: {radios.count()} radio buttons"
    assert not any(radios.nth(i).is_checked() for i in range(radios.count())), "preselected"
    feedback = block.locator(".hyena-quiz-feedback")
    seen = []
    for choice, css, verdict in ((wrong, "hyena-quiz-notyet", "NOT YET"),
                                 (q.answer, "hyena-quiz-pass", "PASS")):  # fmt: skip
        radios.nth(choice).check()
        block.locator("button", has_text="Check").click()
        try:
            page.wait_for_function(
                "([el, css]) => el.classList.contains(css)",
                arg=[feedback.element_handle(), css], timeout=REDRAW_S * 1000,
            )
        except playwright_sync.TimeoutError:
            pytest.fail(f"{q.id}: pressing Check on option {choice} gave no {verdict} feedback")
        text = " ".join(feedback.inner_text().split())
        # the message's longest stretch of plain prose (its math is typeset by MathJax)
        prose = max(re.split(r"\$[^$]*\$", check_answer(q.id, choice).message), key=len)
        prose = " ".join(prose.replace("`", "").replace("*", "").split())[:40]
        assert text.startswith(verdict) and prose in text, (q.id, choice, prose, text[:200])
        seen.append(f"option {choice}: {verdict}")
    return seen


def _screenshot_dir() -> Path:
    folder = Path(os.environ.get("HYENA_LAB_SCREENSHOTS", ROOT / "build" / "browser"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_chapter_runs_and_slider_redraws_the_figure(lab: tuple[str, str, str]) -> None:
    url, name, chromium = lab
    shot = _screenshot_dir() / f"{Path(name).stem}-lab.png"
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{url}/lab/tree/{name}", wait_until="domcontentloaded")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=SERVER_START_S * 1000)

            started = time.monotonic()
            state = _run_all_cells(page, RUN_ALL_S)
            run_all_s = time.monotonic() - started
            assert not state["errors"], f"{name}: cells raised under Run All: {state['errors']}"

            # the first widget that has a slider and a drawn figure
            box = page.locator(WIDGET_BOX).filter(
                has=page.locator(".widget-slider")
            ).filter(has=page.locator(".widget-output img")).first
            box.wait_for(state="visible", timeout=REDRAW_S * 1000)
            box.scroll_into_view_if_needed()
            slider = box.locator(".widget-slider").first
            readout = slider.locator(".widget-readout")
            image = box.locator(".widget-output img").first
            before_value, before_src = readout.inner_text(), image.get_attribute("src")
            assert before_src, "the interact output shows no image"

            handle = slider.locator(".noUi-handle").first
            handle.focus()
            for key in ("ArrowRight", "ArrowLeft", "ArrowLeft"):  # leftwards if at the maximum
                handle.press(key)
                if readout.inner_text() != before_value:
                    break
            after_value = readout.inner_text()
            assert after_value != before_value, f"the slider did not move from {before_value}"

            # the kernel re-runs the plotting function and the output gets a new image
            after_src = _wait_for_redraw(
                page, box, before_src, f"moving the slider {before_value} -> {after_value}", shot
            )
            assert after_src and after_src != before_src, "moving the slider did not redraw"
            assert not _output_problems(box), _output_problems(box)

            visited = []
            if box.locator(".widget-dropdown select").count():
                visited = _switch_every_option(page, box, shot)
            box.scroll_into_view_if_needed()
            page.screenshot(path=str(shot))
            quiz = []
            if page.locator(".hyena-quiz").count():
                quiz = _answer_the_quiz(page, int(Path(name).stem[:2]))
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000, f"screenshot {shot} looks empty"
    print(
        f"\n{name}: {state['total']} code cells ran in {run_all_s:.1f} s; slider "
        f"{before_value} -> {after_value} redrew the figure; options {visited} each redrew it; "
        f"quiz: {quiz}; screenshot: {shot}"
    )
