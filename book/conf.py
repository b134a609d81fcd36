"""Sphinx configuration of the static hyena-lab book (``make book``).

The book is the executed chapters (``notebooks/NN_*.ipynb``) rendered as HTML by Sphinx with
myst-nb and the sphinx-book-theme, entirely offline:

* notebooks are NOT re-executed (``nb_execution_mode = "off"``): the committed outputs, which
  ``make handbook`` produces and the tests check, are what the book shows;
* the JavaScript that the pages need (MathJax 3 for equations, require.js and the ipywidgets HTML
  manager for the widgets' saved state) is vendored from npm by ``make book`` into
  ``build/book-js/static`` and served from the book's own ``_static`` folder, never from a CDN.

``make book`` stages ``book/*.md`` and the notebooks in ``build/book/src`` and runs
``sphinx-build -c book build/book/src build/book/html``. Without the vendored folder (a quick
check of this configuration, e.g. in the tests, which point ``$HYENA_LAB_BOOK_JS`` elsewhere)
the pages fall back to the CDNs.

What the book adds of its own (``book/_ext``, ``book/_static``):

* ``hyena_book`` (a local Sphinx extension): a notice before every widget that a reader can
  operate, saying that it needs a running kernel (the saved widgets move but never redraw);
* ``hyena-book.js``: a MathJax 2 ``Hub.Queue`` for the ipywidgets HTML manager, which typesets
  widget labels with the MathJax 2 API while the book loads MathJax 3; and a ``download``
  attribute on the theme's download button;
* every chapter's ``.ipynb`` is shipped in ``_sources/`` (``html_copy_source``), where the
  theme's download button (".ipynb") points.

``tests/browser/test_book_pages.py`` opens every built page in Chromium and fails on a MathJax
error, a console error, a missing notice or a dead download link; ``tests/test_book.py`` checks
the build itself.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))  # the local extension
VENDORED = Path(os.environ.get("HYENA_LAB_BOOK_JS", ROOT / "build" / "book-js" / "static"))

project = "hyena-lab"
author = "hyena-lab contributors"
copyright = "2025, hyena-lab contributors"
html_title = "hyena-lab: an executable handbook for Hyena Hierarchy"

extensions = ["myst_nb", "hyena_book"]
root_doc = "index"
exclude_patterns = ["**/.ipynb_checkpoints"]

# --- notebooks -----------------------------------------------------------------------------
nb_execution_mode = "off"  # show the committed, tested outputs; building never runs code
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]  # $...$ and $$...$$ as in the notebooks
myst_dmath_double_inline = True
myst_heading_anchors = 3
# chapters link to each other as `NN_title.ipynb`; links that Sphinx cannot resolve are warnings
suppress_warnings = ["myst.xref_missing", "myst.header"]

# --- HTML ----------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,
    "home_page_in_toc": True,
}
html_last_updated_fmt = None  # no dates: rebuilding an unchanged book gives the same pages
# "auto" follows the reader's system setting; left empty, the theme logs a console error
# ("Got invalid theme mode") on every first visit
html_context = {"default_mode": "auto"}
# the theme's download button links to _sources/<page><suffix>: ship the chapters' .ipynb there
# (the theme sets html_sourcelink_suffix to "", so the copy keeps its own name)
html_copy_source = True
html_show_sourcelink = False  # no "show source" link in the sidebar: the button is enough
html_static_path = ["_static"]  # relative to this folder: hyena-book.js and .css
html_css_files = ["hyena-book.css"]
# after the MathJax configuration (priority 500), before MathJax runs (it is loaded with defer)
html_js_files = [("hyena-book.js", {"priority": 600})]

if VENDORED.is_dir():
    html_static_path.append(str(VENDORED))
    # relative to _static: MathJax 3 loads its fonts and extensions next to this file
    mathjax_path = "mathjax/tex-mml-chtml.js"
    # bare names are served from _static (see myst_nb's ipywidgets_js_factory for the default)
    nb_ipywidgets_js = {"require.js": {}, "embed-amd.js": {}}
