"""A chapter's reveal.js deck (``make slides``), opened from the disk in a real browser.

Headless Chromium, driven by Playwright, opens a deck written by :mod:`hyena_lab.decks` from
``file://`` with every request that is not a local file blocked, and fails, saying what went
wrong, when

1. the deck asks for anything over the network (a CDN script, a web font): decks must work
   offline;
2. reveal.js did not start (``Reveal.isReady()``), or the right arrow key and ``Reveal.next()``
   do not move to the next slide;
3. an equation did not typeset: MathJax marked it as an error (``merror``), showed an undefined
   macro in red, or left raw ``$...$`` on a slide; or no slide holds a typeset equation;
4. a saved widget did not render, or the page logged a JavaScript error or failed to load a file.

The deck is built afresh (chapter 02: equations, figures and a widget) into a temporary folder,
pointing at the JavaScript that ``make slides`` vendored into ``build/slides-js``.
``test_the_checks_catch_a_broken_deck`` proves checks 1, 3 and 4 on a deck broken on purpose.
The tests skip, saying why, where Playwright, Chromium or the vendored JavaScript is missing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from hyena_lab import decks

ROOT = Path(__file__).resolve().parents[2]
VENDORED = Path(os.environ.get("HYENA_LAB_SLIDES_JS", ROOT / "build" / "slides-js"))
CHAPTER = ROOT / "notebooks" / "02_hyena_matrices.ipynb"
LOAD_MS = 30_000  # a deck, its MathJax and its widgets on a busy 2-core machine (~3 s idle)
LOCAL = ("file:", "data:", "blob:", "about:")

playwright_sync = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed: `pip install -e '.[browser]'`"
)


def _vendored() -> Path:
    """``build/slides-js`` as ``make slides`` leaves it, or skip saying how to make it."""
    wanted = ["reveal.js/dist/reveal.js", "mathjax/tex-mml-chtml.js", "require.js", "embed-amd.js"]
    missing = [name for name in wanted if not (VENDORED / name).is_file()]
    if missing:
        how = "run `make slides`, which vendors them with `npm pack`"
        if shutil.which("npm") is None:
            how = "install npm (Node.js), then run `make slides`"
        pytest.skip(
            f"the vendored JavaScript is missing from {VENDORED} ({', '.join(missing)}): {how}"
        )
    return VENDORED



@pytest.fixture(scope="module")
def deck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Chapter 02's deck, written now, loading the vendored JavaScript by relative paths."""
    vendored = _vendored()
    if not CHAPTER.is_file():
        pytest.skip(f"{CHAPTER} is missing")
    out = tmp_path_factory.mktemp("slides")
    rel = os.path.relpath(vendored, out)
    urls = decks.SlideURLs(
        reveal=f"{rel}/reveal.js",
        mathjax=f"{rel}/mathjax/tex-mml-chtml.js",
        requirejs=f"{rel}/require.js",
        widgets=f"{rel}/embed-amd.js",
    )
    (written,) = decks.write_decks([CHAPTER], out, urls)
    return out / written["deck"]


# --- the page once it has settled (JavaScript run in the page) ------------------------------
REPORT_JS = r"""async () => {
  await MathJax.startup.promise;
  const report = {math: 0, errors: [], raw: [], equation_at: null, widgets: 0, broken: []};
  for (const item of MathJax.startup.document.math) {
    report.math += 1;
    const mml = MathJax.startup.toMML(item.root);
    const found = [];
    for (const m of mml.matchAll(/<merror[^>]*data-mjx-error="([^"]*)"/g)) found.push(m[1]);
    if (/<merror/.test(mml) && !found.length) found.push('merror');
    for (const m of mml.matchAll(/<mtext mathcolor="red">(\\[^<]*)<\/mtext>/g)) {
      found.push('undefined control sequence ' + m[1]);
    }
    if (found.length) report.errors.push({tex: item.math, errors: found});
  }
  // $...$ that MathJax left as text on a slide (code is skipped: MathJax never reads it)
  for (const el of document.querySelectorAll('.jp-RenderedMarkdown')) {
    const copy = el.cloneNode(true);
    copy.querySelectorAll('code, pre, mjx-container').forEach(c => c.remove());
    const left = copy.textContent.match(/\$[^$\n]+\$/);
    if (left) report.raw.push(left[0].slice(0, 200));
  }
  const equation = document.querySelector('.reveal .slides section mjx-container');
  if (equation) report.equation_at = Reveal.getIndices(equation.closest('section'));
  for (const area of document.querySelectorAll('.widget-subarea')) {
    report.widgets += 1;
    if (!area.childElementCount || area.innerText.includes('Error displaying widget')) {
      report.broken.push(area.innerText.slice(0, 200));
    }
  }
  return report;
}"""


def _open(browser, url: str):
    """A page at ``url`` with every non-local request blocked; returns (page, problems)."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    problems: list[str] = []

    def block(route) -> None:
        if route.request.url.startswith(LOCAL):
            route.continue_()
        else:
            problems.append(f"requested from the network (blocked): {route.request.url}")
            route.abort()

    page.route("**/*", block)
    page.on(
        "request",
        lambda r: None if r.url.startswith(LOCAL) else problems.append(f"network: {r.url}"),
    )
    page.on(
        "console",
        lambda m: problems.append(f"console.error: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: problems.append(f"uncaught: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed to load {r.url}: {r.failure}"))
    page.goto(url, wait_until="load", timeout=LOAD_MS)
    page.wait_for_function("window.Reveal && Reveal.isReady()", timeout=LOAD_MS)
    page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise")
    return page, problems


def _math_failures(report: dict) -> list[str]:
    return [
        *(
            f'MathJax error "{e}" in the equation {m["tex"]}'
            for m in report["errors"]
            for e in m["errors"]
        ),
        *(f"TeX left untypeset on a slide: {t!r}" for t in report["raw"]),
    ]


def test_deck_works_offline(browser, deck: Path) -> None:
    page, problems = _open(browser, deck.as_uri())
    try:
        report = page.evaluate(REPORT_JS)
        failures = _math_failures(report)
        if report["math"] == 0 or report["equation_at"] is None:
            failures.append("no slide holds a typeset equation")
        if report["widgets"] == 0:
            failures.append("the chapter's widget was not rendered")
        failures += [f"widget did not render: {w!r}" for w in report["broken"]]

        # a slide with an equation, shown: the equation has a size on screen
        at = report["equation_at"] or {"h": 0, "v": 0}
        page.evaluate(f"Reveal.slide({at['h']}, {at['v']})")
        shown = page.evaluate(
            "() => { const m = Reveal.getCurrentSlide().querySelector('mjx-container');"
            " return m ? m.getBoundingClientRect().height : 0; }"
        )
        if not shown > 0:
            failures.append(f"the equation on slide {at} is not displayed")

        # navigation: the right arrow, then Reveal.next(), each move one step on
        page.evaluate("Reveal.slide(0, 0)")
        page.locator("body").click(position={"x": 5, "y": 5})  # keyboard focus on the deck
        page.keyboard.press("ArrowRight")
        after_key = page.evaluate("Reveal.getIndices()")
        page.evaluate("Reveal.next()")
        after_next = page.evaluate("Reveal.getIndices()")
        total = page.evaluate("Reveal.getTotalSlides()")
        page.wait_for_timeout(300)  # let late console errors arrive
    finally:
        page.close()
    assert after_key["h"] == 1 and after_key["v"] == 0, f"ArrowRight went to {after_key}"
    assert (after_next["h"], after_next["v"]) > (1, 0), f"Reveal.next() went to {after_next}"
    assert total >= 10, f"only {total} slides"
    failures += problems
    if failures:
        pytest.fail(f"{deck.name}:\n  " + "\n  ".join(failures), pytrace=False)
    print(f"{deck.name}: {total} slides, {report['math']} equations, {report['widgets']} widgets")


BROKEN = r"""<section><h2>Broken on purpose</h2>
<div class="jp-RenderedMarkdown"><p>$\begin{split}y = x \tag{2}\end{split}$ and
$\undefinedmacro x$ and <span class="tex2jax_ignore">$left raw$</span></p></div></section>"""


def test_the_checks_catch_a_broken_deck(browser, deck: Path) -> None:
    """A CDN script, a MathJax error, an undefined macro, raw TeX and a console error in a
    copy of the deck are each reported."""
    page_html = deck.read_text()
    page_html = page_html.replace('<div class="slides">', '<div class="slides">' + BROKEN, 1)
    page_html = page_html.replace(
        "</body>",
        '<script src="https://cdn.example.org/lib.js"></script>'
        '<script>console.error("synthetic console error")</script></body>',
        1,
    )
    broken = deck.with_name("broken.slides.html")  # next to the deck: the same relative paths
    broken.write_text(page_html)
    page, problems = _open(browser, broken.as_uri())
    try:
        report = page.evaluate(REPORT_JS)
    finally:
        page.close()
    failures = _math_failures(report)
    assert any("\\tag not allowed in split environment" in f for f in failures), failures
    assert any("undefined control sequence \\undefinedmacro" in f for f in failures), failures
    assert any("$left raw$" in f for f in failures), failures
    assert any("cdn.example.org" in p for p in problems), problems
    assert any("synthetic console error" in p for p in problems), problems
