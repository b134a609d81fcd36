"""Reveal.js decks of the chapters, offline: what ``make slides`` writes (issue 20).

:func:`hyena_lab.stage.slides_notebook` decides what goes on the slides; this module renders
them with nbconvert's ``SlidesExporter`` (the Python API of ``jupyter nbconvert --to slides``)
into ``DIR/NN_name.slides.html`` and an index page, ``DIR/index.html``.

nbconvert 7.17's reveal template is written for reveal.js 4 (its default is
``https://unpkg.com/reveal.js@4.0.2``) and MathJax 2 (``MathJax.Hub``), and loads jQuery,
require.js and mermaid from CDNs. A deck here loads nothing from the network: reveal.js 4.6.1,
MathJax 3.2.2 (the book's version, so the TeX that the book's browser test checks is typeset by
the same code), require.js and the ipywidgets HTML manager are vendored by ``make slides``
(``npm pack``, ``mk/slides.mk``) and named by :class:`SlideURLs`. :data:`DECK_TEMPLATE` extends
the reveal template and replaces its scripts accordingly.

``tests/browser/test_slides.py`` opens a deck in Chromium with every non-file request blocked.
"""

from __future__ import annotations

import html
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from .files import write_atomic
from .stage import REMOVE_INPUT_TAG, heading, read_executed, slides_notebook, unexecuted_cells

__all__ = ["DECK_TEMPLATE", "SlideURLs", "write_decks", "write_index"]


@dataclass(frozen=True)
class SlideURLs:
    """Where a deck finds its JavaScript, as written into the page: paths relative to the deck's
    folder, or ``file:`` URLs (a URL that goes to the network is refused). The defaults are the
    layout of ``make slides``: decks in ``build/slides``, the vendored copies in
    ``build/slides-js``."""

    reveal: str = "../slides-js/reveal.js"  # the folder that holds dist/ and plugin/
    mathjax: str = "../slides-js/mathjax/tex-mml-chtml.js"
    requirejs: str = "../slides-js/require.js"
    widgets: str = "../slides-js/embed-amd.js"  # @jupyter-widgets/html-manager

    def check(self, out: Path) -> None:
        """Raise ``ValueError`` for a URL that would go to the network or names a missing file."""
        wanted = {
            "--reveal": (self.reveal, "dist/reveal.js"),
            "--mathjax": (self.mathjax, ""),
            "--requirejs": (self.requirejs, ""),
            "--widgets": (self.widgets, ""),
        }
        for option, (url, inside) in wanted.items():
            target = _local_path(url, out, option)
            target = target / inside if inside else target
            if not target.is_file():
                raise ValueError(
                    f"{option} {url}: {target} does not exist; `make slides` vendors reveal.js, "
                    f"MathJax 3, require.js and the widget manager into build/slides-js with "
                    f"`npm pack`, or pass the path of your copy (relative to {out}, or a file: URL)"
                )


def _local_path(url: str, out: Path, option: str) -> Path:
    """The file a deck in ``out`` loads for ``url``; refuses URLs that go to the network."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme or url.startswith("//"):
        raise ValueError(
            f"{option} {url}: a deck must work offline (opened from the disk, no CDN); give a "
            f"path relative to {out} or a file: URL of a vendored copy"
        )
    return Path(os.path.normpath(out / url))  # "DIR/../x" even before DIR exists


#: The deck's page: nbconvert's reveal template (reveal.js 4, its layout and the notebook's
#: cells) with three parts replaced: the scripts in the head (no jQuery or mermaid from a CDN,
#: require.js from the vendored copy), MathJax 3 instead of the template's MathJax 2 (the book's
#: version, whose TeX the book's browser test has checked), and the start-up of reveal.js (no
#: MathJax 2 ``Hub`` call on every slide change, ``window.Reveal`` for the tests).
DECK_TEMPLATE = r"""{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}
<script src="{{ resources.require_js_url }}"></script>
{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}
<script>
(function () {
  // the widget manager (@jupyter-widgets/html-manager 1.0) typesets its labels with MathJax 2's
  // MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]); MathJax 3 has no Hub: hand the jobs to
  // typesetPromise once MathJax has started
  var hub = {Queue: function () {
    for (var i = 0; i < arguments.length; i++) {
      var job = arguments[i];
      if (!Array.isArray(job) || job[0] !== "Typeset" || !job[2]) continue;
      var element = job[2];
      var started = window.MathJax && window.MathJax.startup && window.MathJax.startup.promise;
      if (started) started.then(function () { return window.MathJax.typesetPromise([element]); });
    }
  }};
  window.MathJax = {
    tex: {
      inlineMath: [["$", "$"], ["\\(", "\\)"]],
      displayMath: [["$$", "$$"], ["\\[", "\\]"]],
      processEscapes: true,
      processEnvironments: true,
      tags: "ams"
    },
    options: {ignoreHtmlClass: "tex2jax_ignore", processHtmlClass: "tex2jax_process"},
    startup: {ready: function () { MathJax.startup.defaultReady(); MathJax.Hub = hub; }},
    Hub: hub
  };
}());
</script>
<script defer src="{{ resources.mathjax_url }}"></script>
<style>
.reveal .slides section { height: 100%; overflow-y: auto; text-align: left; }
.reveal .slides section .jp-OutputArea-output img { max-height: 620px; width: auto; }
.reveal .slides h1, .reveal .slides h2, .reveal .slides h3 { text-transform: none; }
</style>
{%- endblock html_head_js_mathjax -%}
{%- block footer_js -%}
<script>
require({waitSeconds: 30}, [
  "{{ resources.reveal.url_prefix }}/dist/reveal.js",
  "{{ resources.reveal.url_prefix }}/plugin/notes/notes.js"
], function (Reveal, RevealNotes) {
  window.Reveal = Reveal;
  Reveal.initialize({
    controls: true, progress: true, history: true, center: false, transition: "none",
    slideNumber: "c/t", plugins: [RevealNotes], width: 960, height: 700
  });
});
</script>
{%- endblock footer_js -%}
"""


def _exporter(urls: SlideURLs) -> Any:
    """nbconvert's SlidesExporter with :data:`DECK_TEMPLATE` and the vendored URLs."""
    import jinja2
    from nbconvert import SlidesExporter
    from traitlets.config import Config

    config = Config()
    config.SlidesExporter.reveal_url_prefix = urls.reveal
    config.SlidesExporter.mathjax_url = urls.mathjax
    config.SlidesExporter.require_js_url = urls.requirejs
    config.SlidesExporter.widget_renderer_url = urls.widgets
    config.SlidesExporter.reveal_theme = "white"  # "simple", the default, loads Google's fonts
    config.SlidesExporter.exclude_input_prompt = True
    config.SlidesExporter.exclude_output_prompt = True
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_input_tags = {REMOVE_INPUT_TAG}
    loader = jinja2.DictLoader({"hyena_deck.html.j2": DECK_TEMPLATE})
    return SlidesExporter(config=config, extra_loaders=[loader], template_file="hyena_deck.html.j2")


def _title(nb: Any, fallback: str) -> str:
    for cell in nb.cells:
        level, text = heading(cell.source) if cell.cell_type == "markdown" else (0, "")
        if level == 1:
            return text
    return fallback


def _copy_widget_fonts(urls: SlideURLs, out: Path) -> None:
    """The widget manager loads its icon fonts relative to the page, not to its script: copy the
    ``*.woff*`` lying next to the vendored ``embed-amd.js`` where a deck in ``out`` looks."""
    fonts = sorted(_local_path(urls.widgets, out, "--widgets").parent.glob("*.woff*"))
    target = out / "@jupyter-widgets" / "html-manager" / "dist"
    for font in fonts:
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(font, target / font.name)


def write_decks(
    notebooks: Sequence[str | os.PathLike], out: str | os.PathLike, urls: SlideURLs | None = None
) -> list[dict]:
    """Write ``out/NN_name.slides.html`` for each executed notebook (:func:`slides_notebook`,
    then nbconvert's SlidesExporter) and ``out/index.html`` listing them. Everything is checked
    before anything is written. Returns, per deck, ``{"notebook", "deck", "title", "slides",
    "cells", "unexecuted"}`` (unexecuted: code cells shown without output, see
    :func:`hyena_lab.stage.check_executed`)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; expected a folder for the decks")
    if not notebooks:
        raise ValueError("no notebooks given: expected executed notebooks/NN_name.ipynb")
    urls = urls or SlideURLs()
    urls.check(out)
    chapters = [(Path(p), read_executed(p)) for p in notebooks]
    exporter = _exporter(urls)
    decks = []
    for path, nb in chapters:
        slides = slides_notebook(nb)
        slides.metadata["title"] = title = _title(nb, path.stem)  # the page's <title>
        body, _ = exporter.from_notebook_node(slides, resources={"metadata": {"name": path.stem}})
        deck = _readable(write_atomic(out / f"{path.stem}.slides.html", body))
        kinds = [c.metadata["slideshow"]["slide_type"] for c in slides.cells]
        decks.append({
            "notebook": path.name, "deck": deck.name, "title": title,
            "slides": sum(k in ("slide", "subslide") for k in kinds), "cells": len(kinds),
            "unexecuted": unexecuted_cells(nb),
        })  # fmt: skip
    if any("widgets" in nb.metadata for _, nb in chapters):
        _copy_widget_fonts(urls, out)
    write_index(decks, out)
    return decks


def write_index(decks: Sequence[dict], out: str | os.PathLike) -> Path:
    """``out/index.html``: one link per deck, with its title and number of slides."""
    rows = "\n".join(
        f'<li><a href="{html.escape(d["deck"])}">{html.escape(d["title"])}</a> '
        f"<small>({d['slides']} slides)</small></li>"
        for d in decks
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>hyena-lab: slides</title>
<style>body {{ font: 18px/1.5 sans-serif; max-width: 46em; margin: 2em auto; }}</style>
</head><body>
<h1>hyena-lab: slides, one deck per chapter</h1>
<p>Made from the executed chapters (<code>make slides</code>). Arrow keys move between slides
(down: the sub-slides of a section), <kbd>Esc</kbd> shows an overview, <kbd>S</kbd> the notes.</p>
<ol>
{rows}
</ol>
</body></html>
"""
    return _readable(write_atomic(Path(out) / "index.html", page))


def _readable(path: Path) -> Path:
    """rw-r--r--: ``write_atomic``'s temporary file is private (0600), but a deck may be served
    by a web server running as another user (the book copies the decks)."""
    path.chmod(0o644)
    return path
