"""Sphinx extension of the hyena-lab book: a notice next to every widget that needs a kernel.

The book shows each chapter's widgets (``ipywidgets.interact`` sliders, dropdowns, ...) in the
state they were saved in, rendered by the ipywidgets HTML manager. Without a Python kernel behind
the page a slider still moves but the figure under it never redraws. This extension says so on
the page: before every widget view whose model tree holds a control (anything a reader can
operate: a slider, a dropdown, a checkbox, ...) it inserts the paragraph :data:`NOTICE_HTML`.
Display-only widgets (the progress bars of ``tqdm``, HTML text, boxes of those) get no notice.

It works on the finished HTML of each page (``html-page-context``): myst-nb has put the widget
state into the page's scripts (``application/vnd.jupyter.widget-state+json``) and a
``<script type="application/vnd.jupyter.widget-view+json">`` where each widget is displayed.
"""

from __future__ import annotations

import json
import re
from typing import Any

NOTICE_CLASS = "hyena-widget-notice"
NOTICE_TEXT = (
    "This control needs a running Python kernel: open the chapter in JupyterLab "
    "(make lab) to move it."
)
NOTICE_HTML = (
    f'<p class="{NOTICE_CLASS}" role="note">'
    f"{NOTICE_TEXT.replace('make lab', '<code>make lab</code>')}</p>"
)
STATE_MIMETYPE = "application/vnd.jupyter.widget-state+json"
VIEW_SCRIPT = re.compile(
    r'<script type="application/vnd\.jupyter\.widget-view\+json">(?P<json>.*?)</script>', re.S
)
# Views that only show something (text, a progress bar, an image, captured output) or only hold
# other widgets; every other widget view is a control that a reader can operate.
DISPLAY_ONLY_VIEWS = frozenset(
    {
        "HTMLView", "HTMLMathView", "LabelView", "ProgressView", "ImageView", "OutputView",
        "ValidView", "BoxView", "HBoxView", "VBoxView", "GridBoxView",
    }
)  # fmt: skip
MODEL_REF = "IPY_MODEL_"


def has_control(state: dict[str, Any], model_id: str, _seen: frozenset[str] = frozenset()) -> bool:
    """Whether the widget ``model_id`` or any widget it contains is a control.

    ``state`` maps model ids to ``{"model_name", "state": {...}}`` as in a notebook's widget
    state. A container's children are followed (``"children": ["IPY_MODEL_<id>", ...]``); a model
    missing from ``state`` counts as no control (nothing is rendered for it).
    """
    model = state.get(model_id)
    if model is None or model_id in _seen:
        return False
    fields = model.get("state", {})
    if fields.get("_view_name") not in DISPLAY_ONLY_VIEWS:
        return fields.get("_view_name") is not None  # a view that is not display-only
    children = [c[len(MODEL_REF) :] for c in fields.get("children", []) if c.startswith(MODEL_REF)]
    return any(has_control(state, child, _seen | {model_id}) for child in children)


def add_widget_notices(body: str, state: dict[str, Any]) -> tuple[str, int]:
    """``body`` with :data:`NOTICE_HTML` before every widget view that holds a control.

    Returns the new HTML and the number of notices added.
    """
    count = 0

    def notice(match: re.Match[str]) -> str:
        nonlocal count
        model_id = json.loads(match.group("json")).get("model_id", "")
        if not has_control(state, model_id):
            return match.group(0)
        count += 1
        return NOTICE_HTML + match.group(0)

    return VIEW_SCRIPT.sub(notice, body), count


def page_widget_state(script_files: list[Any]) -> dict[str, Any]:
    """The widget state (model id -> model) that myst-nb put into a page's scripts, or {}."""
    for script in script_files:
        attributes = getattr(script, "attributes", {})
        if attributes.get("type") == STATE_MIMETYPE and attributes.get("body"):
            body = attributes["body"].replace(r"<\/script>", "</script>")  # myst-nb's escape
            return json.loads(body).get("state", {})
    return {}


def _on_page_context(app, pagename, templatename, context, doctree) -> None:
    """Sphinx ``html-page-context``: add the notices to the page's body."""
    if "body" not in context:
        return
    state = page_widget_state(context.get("script_files", []))
    if state:
        context["body"], _ = add_widget_notices(context["body"], state)


def setup(app) -> dict[str, Any]:
    """Register the hook with Sphinx."""
    app.connect("html-page-context", _on_page_context)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
