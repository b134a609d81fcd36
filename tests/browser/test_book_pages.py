"""A real browser opens every page of the built book (``make book``) as a reader would.

Headless Chromium, driven by Playwright, opens each HTML page of ``build/book/html`` (the book
built with the vendored MathJax 3 and widget manager; ``$HYENA_LAB_BOOK_HTML`` names another
folder) from the disk, waits until MathJax has typeset the page and the saved widgets have
rendered, and fails, naming the page, when

1. an equation did not typeset cleanly: MathJax marked it as an error (``merror``, e.g. "\\tag
   not allowed in split environment"), showed an undefined macro in red (MathJax 3's
   ``noundefined``, the "Undefined control sequence" of LaTeX), holds a control character (a
   Python escape such as ``"\\text"`` -> TAB + "ext"), or was left as raw TeX; the message quotes
   the equation's TeX source;
2. the page logged a JavaScript error (console ``error``, an uncaught exception) or a file that
   it loads is missing;
3. a saved widget did not render ("Error displaying widget"), or a widget that a reader can
   operate has no notice that it needs a running kernel;
4. the theme's download button does not point at a file of the book (the chapter's ``.ipynb``)
   or lacks its ``download`` attribute (``book/_static/hyena-book.js``).

``test_the_checks_catch_broken_pages`` proves the checks of 1 and 2 on a small synthetic page.
``make browser`` builds the book first. The tests skip, saying why, where Playwright, Chromium or
the built book is missing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOOK = Path(os.environ.get("HYENA_LAB_BOOK_HTML", ROOT / "build" / "book" / "html"))
MATHJAX = Path("_static") / "mathjax" / "tex-mml-chtml.js"  # vendored by `make book`
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NOTICE = "This control needs a running Python kernel"  # book/_ext/hyena_book.py
LOAD_MS = 30_000  # one page, its MathJax and widgets, on a busy 2-core machine (~2 s idle)

playwright_sync = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed: `pip install -e '.[browser]'`"
)


def _book() -> Path:
    """The built book, or skip saying how to build it."""
    if not (BOOK / "index.html").exists():
        pytest.skip(f"no built book at {BOOK}: run `make book` (`make browser` does it first)")
    if not (BOOK / MATHJAX).exists():
        pytest.skip(
            f"{BOOK} was built without the vendored JavaScript ({MATHJAX} is missing): its pages "
            f"would load MathJax from a CDN; build it with `make book`"
        )
    return BOOK


def _pages() -> list[str]:
    """Every HTML page of the built book, relative to its root (index.html, to skip, if unbuilt)."""
    if not BOOK.is_dir():
        return ["index.html"]  # the test skips in _book()
    # the reveal.js decks are pages of their own kind: tests/browser/test_slides.py opens them
    skip = {"_static", "_sources", "_images", "@jupyter-widgets", "slides", "slides-js"}
    found = [p.relative_to(BOOK) for p in BOOK.rglob("*.html")]
    return sorted(str(p) for p in found if not skip & set(p.parts))



# --- what the page holds once it has settled (JavaScript run in the page) ------------------
VIEWS = "script[type='application/vnd.jupyter.widget-view+json']"
SETTLED_JS = """async ([timeoutMs, viewsSelector]) => {
  const deadline = performance.now() + timeoutMs;
  const tick = () => new Promise(r => setTimeout(r, 50));
  // MathJax 3 is on pages with equations: wait for its first typesetting of the page
  if (document.querySelector('script[src*="tex-mml-chtml"]')) {
    while (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) {
      if (performance.now() > deadline) return 'MathJax did not start';
      await tick();
    }
    const late = new Promise(r => setTimeout(() => r(false), deadline - performance.now()));
    const typeset = await Promise.race([MathJax.startup.promise.then(() => true), late]);
    if (!typeset) return 'MathJax did not finish typesetting';
  }
  // the widget manager renders each saved view into a .widget-subarea just before its script
  const views = Array.from(document.querySelectorAll(viewsSelector));
  const rendered = () => views.every(s => {
    const area = s.previousElementSibling;
    return area && area.classList.contains('widget-subarea') && area.childElementCount > 0;
  });
  while (views.length && !rendered()) {
    if (document.body.innerText.includes('Error displaying widget')) return 'settled';
    if (performance.now() > deadline) return 'the widgets did not render';
    await tick();
  }
  return 'settled';
}"""
REPORT_JS = """([notice, viewsSelector]) => {
  const report = {math: [], raw_tex: [], widgets: [], controls: 0};
  // 1. every equation MathJax typeset: an merror, a red undefined macro, a control character
  const mj = window.MathJax;
  if (mj && mj.startup && mj.startup.document) {
    for (const item of mj.startup.document.math) {
      const mml = mj.startup.toMML(item.root);
      const errors = [];
      for (const m of mml.matchAll(/<merror[^>]*data-mjx-error="([^"]*)"/g)) errors.push(m[1]);
      if (/<merror/.test(mml) && !errors.length) errors.push('merror');
      for (const m of mml.matchAll(/<mtext mathcolor="red">(\\\\[^<]*)<\\/mtext>/g)) {
        errors.push('Undefined control sequence ' + m[1]);
      }
      const codes = Array.from(item.math, c => c.charCodeAt(0)).filter(c => c < 32 && c !== 10);
      if (codes.length) {
        const names = codes.map(c => 'U+' + c.toString(16).padStart(4, '0').toUpperCase());
        errors.push('control character(s) ' + names.join(', ') +
          ' in the TeX (a Python escape such as "\\\\text" -> TAB + "ext"?)');
      }
      if (errors.length) report.math.push({tex: item.math, errors: errors});
    }
  }
  // an merror on the page that MathJax's list of equations missed (belt and braces)
  const shown = Array.from(document.querySelectorAll('mjx-merror'));
  if (shown.length && !report.math.length) {
    const errors = shown.map(e => e.getAttribute('data-mjx-error') || e.textContent);
    report.math.push({tex: '?', errors: errors});
  }
  // math that Sphinx marked up but MathJax never typeset (raw TeX left on the page)
  for (const el of document.querySelectorAll('span.math, div.math')) {
    if (!el.querySelector('mjx-container')) {
      report.raw_tex.push(el.textContent.trim().slice(0, 300));
    }
  }
  // 3. widgets: rendered, and each one that a reader can operate announced by the notice
  for (const s of document.querySelectorAll(viewsSelector)) {
    const area = s.previousElementSibling;
    const id = JSON.parse(s.textContent).model_id;
    if (!area || !area.classList.contains('widget-subarea')) {
      report.widgets.push(id + ': not rendered');
      continue;
    }
    if (area.innerText.includes('Error displaying widget')) {
      report.widgets.push(id + ': Error displaying widget');
    }
    if (area.querySelector('input, select, textarea, button, .widget-slider')) {
      report.controls += 1;
      const before = area.previousElementSibling;
      const ok = before && before.classList.contains('hyena-widget-notice')
        && before.innerText.startsWith(notice) && before.getBoundingClientRect().height > 0;
      if (!ok) report.widgets.push(id + ': a control without the kernel notice before it');
    }
  }
  // 4. the theme's download button
  const link = document.querySelector('a.btn-download-source-button');
  report.download = link ? link.href : null;
  report.download_attribute = link ? link.hasAttribute('download') : null;
  return report;
}"""


def _visit(browser, url: str) -> tuple[dict, list[str]]:
    """Open ``url``; return the page's report and its JavaScript errors / failed loads."""
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(f"console.error: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: problems.append(f"uncaught: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed to load {r.url}: {r.failure}"))
    page.on(  # the book is offline: everything it loads lies next to its pages
        "request",
        lambda r: (
            None
            if r.url.startswith(("file:", "data:", "blob:", "about:"))
            else problems.append(f"loads from the network: {r.url}")
        ),
    )
    try:
        page.goto(url, wait_until="load", timeout=LOAD_MS)
        settled = page.evaluate(SETTLED_JS, [LOAD_MS, VIEWS])
        if settled != "settled":
            problems.append(f"{settled} within {LOAD_MS / 1000:.0f} s")
        report = page.evaluate(REPORT_JS, [NOTICE, VIEWS])
    finally:
        page.close()
    return report, problems


def _printable(tex: str) -> str:
    """TeX source as written, indented, with control characters shown as <U+XXXX>."""
    shown = "".join(f"<U+{ord(c):04X}>" if ord(c) < 32 and c != "\n" else c for c in tex)
    return shown.replace("\n", "\n      ")


def _local_file(url: str) -> Path:
    return Path(unquote(urlparse(url).path))


@pytest.mark.parametrize("name", _pages())
def test_book_page_reads_cleanly(browser, name: str) -> None:
    book = _book()
    report, problems = _visit(browser, (book / name).as_uri())
    failures = [
        *(f"MathJax error \"{e}\" in the equation\n      {_printable(m['tex'])}"
          for m in report["math"] for e in m["errors"]),
        *(f"TeX left untypeset: {t!r}" for t in report["raw_tex"]),
        *problems,
        *(f"widget {w}" for w in report["widgets"]),
    ]  # fmt: skip
    if report["download"] is not None:
        target = _local_file(report["download"])
        if not target.is_file():
            failures.append(f"the download button points at {target}, which does not exist")
        elif not report["download_attribute"]:
            failures.append("the download button opens the file instead of downloading it")
        elif name.startswith("notebooks/") and not (
            target.suffix == ".ipynb" and json.loads(target.read_text()).get("cells")
        ):
            failures.append(f"the download button serves {target.name}, not the notebook")
    if failures:
        pytest.fail(f"{name}:\n  " + "\n  ".join(failures), pytrace=False)
    print(f"{name}: equations clean, {report['controls']} widget controls with their notice")


def test_every_chapter_has_a_page_with_its_notebook() -> None:
    """The built book holds every chapter, and its download button serves that chapter."""
    book = _book()
    for notebook in NOTEBOOKS:
        page = book / "notebooks" / f"{notebook.stem}.html"
        assert page.exists(), f"{page} missing: rebuild the book (`make book`)"
        shipped = book / "_sources" / "notebooks" / notebook.name
        assert shipped.is_file(), f"{shipped} missing: the download button would be dead"
        assert f'href="../_sources/notebooks/{notebook.name}"' in page.read_text()


SYNTHETIC = r"""<!DOCTYPE html><html><head><meta charset="utf-8">
<script>window.MathJax = {"options": {"processHtmlClass": "math"}}</script>
<script defer src="MATHJAX"></script></head><body>
<div class="math">\[\begin{split}y_t = \sum_s h_{t-s} u_s \tag{2}\\ t \ge 0\end{split}\]</div>
<p><span class="math">\(\undefinedmacro x\)</span> <span class="math">\(W_{TAB}\)</span>
<span class="math">\(x^2 + \sqrt{y}\)</span> <span class="math">$raw$</span></p>
<img src="missing-figure.png" alt="a figure that is not in the book">
<script>console.error("synthetic console error"); throw new Error("synthetic uncaught");</script>
</body></html>"""


def test_the_checks_catch_broken_pages(browser, tmp_path: Path) -> None:
    """The class of error that chapter 01's equation (2) had, and its cousins, are caught."""
    book = _book()
    html = SYNTHETIC.replace("MATHJAX", (book / MATHJAX).as_uri()).replace("TAB", "\text{out}")
    page = tmp_path / "broken.html"
    page.write_text(html)
    report, problems = _visit(browser, page.as_uri())
    errors = {m["tex"]: m["errors"] for m in report["math"]}
    split = next(t for t in errors if "split" in t)
    assert "\\tag not allowed in split environment" in errors[split], errors
    undefined = next(t for t in errors if "undefinedmacro" in t)
    assert any("Undefined control sequence \\undefinedmacro" in e for e in errors[undefined])
    tab = next(t for t in errors if "\t" in t)
    assert any("U+0009" in e for e in errors[tab]), errors
    assert len(errors) == 3, f"the clean equation was flagged: {errors}"
    assert report["raw_tex"] == ["$raw$"], report["raw_tex"]
    assert any("missing-figure.png" in p for p in problems), problems
    assert any("synthetic console error" in p for p in problems), problems
    assert any("synthetic uncaught" in p for p in problems), problems
