"""The layers of the package (ARCHITECTURE.md): a module imports only from its layer or below.

Every import of a ``hyena_lab`` module is read from the source (``ast``), at module level or
inside a function alike, so that a lazy import cannot hide a dependency that goes upwards.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "hyena_lab"

#: Layer of every module, lowest first (a package's modules share its layer unless listed).
LAYERS = {
    0: ["checks", "files", "options", "progress", "measure", "timing", "paper", "deprecation"],
    1: ["conv", "filters", "spectra", "operator", "roofline", "monarch", "monarch_blocks",
        "monarch_tc", "distill", "kernels"],
    2: ["mixers", "models", "tasks", "text", "official", "checkpoint", "train", "generate",
        "distributed"],
    3: ["recall", "bench", "experiments", "lm"],
    4: ["viz"],
    5: ["cli", "handbook", "course", "syllabus", "exercises", "stage", "decks",
        "explorer", "__init__", "__main__"],
}
LAYER_OF = {name: layer for layer, names in LAYERS.items() for name in names}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _top(path: Path) -> str:
    """The first component of a module's name inside the package (``viz/conv.py`` -> ``viz``)."""
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imported(path: Path) -> set[str]:
    """First components of the ``hyena_lab`` modules that ``path`` imports."""
    rel = path.relative_to(PACKAGE)
    here = list(rel.parts[:-1])  # the package that holds the module, inside hyena_lab
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            base = here[: len(here) - (node.level - 1)] if node.level > 1 else here
            parts = base + (node.module.split(".") if node.module else [])
            if parts:
                found.add(parts[0])
            else:  # "from . import x" at the top of the package
                found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hyena_lab"):
            parts = node.module.split(".")[1:]
            found.update([parts[0]] if parts else [a.name for a in node.names])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "hyena_lab" and len(parts) > 1:
                    found.add(parts[1])
    return found


def test_every_module_has_a_layer():
    missing = sorted({_top(p) for p in _modules()} - set(LAYER_OF))
    assert not missing, f"add these modules to LAYERS (and ARCHITECTURE.md): {missing}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_down_the_layers(path):
    me = _top(path)
    upward = sorted(
        f"{name} (layer {LAYER_OF[name]})"
        for name in _imported(path) - {me}
        if name in LAYER_OF and LAYER_OF[name] > LAYER_OF[me]
    )
    assert not upward, f"{me} (layer {LAYER_OF[me]}) imports from above: {upward}"


def test_the_rule_test_can_fail(tmp_path):
    """The parser finds relative, absolute and lazy imports (so the rule is not vacuous)."""
    pkg = tmp_path / "hyena_lab"
    (pkg / "viz").mkdir(parents=True)
    src = "from ..cli import main\ndef f():\n    import hyena_lab.handbook\n"
    src += "    from . import conv\n"
    (pkg / "viz" / "x.py").write_text(src)
    (pkg / "y.py").write_text("from . import conv\nfrom hyena_lab.recall import run_recall\n")
    global PACKAGE
    saved, PACKAGE = PACKAGE, pkg
    try:
        assert _imported(pkg / "viz" / "x.py") == {"cli", "handbook", "viz"}
        assert _imported(pkg / "y.py") == {"conv", "recall"}
    finally:
        PACKAGE = saved


#: What a figure module must not touch: the clock, the timers, optimizers (issue: figures only
#: draw; measuring and training happen in the layers below and arrive as records and tensors).
NOT_IN_VIZ = {"perf_counter", "monotonic", "time_calls", "time_fn", "Stopwatch", "peak_memory",
              "optim", "AdamW", "Adam", "SGD", "backward", "train", "train_step", "run_recall"}


@pytest.mark.parametrize("path", sorted((PACKAGE / "viz").glob("*.py")), ids=lambda p: p.name)
def test_figures_only_draw(path):
    tree = ast.parse(path.read_text())
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    used |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    used |= {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    assert not used & NOT_IN_VIZ, f"viz/{path.name} uses {sorted(used & NOT_IN_VIZ)}"


def test_moved_names_warn_and_resolve_lazily(tmp_path, monkeypatch):
    """deprecation.moved: an old name warns, says where it went, and is the new object."""
    import sys

    from hyena_lab.deprecation import moved

    (tmp_path / "newhome_for_test.py").write_text("VALUE = object()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    getattr_ = moved("oldhome", {"VALUE": "newhome_for_test"})
    assert "newhome_for_test" not in sys.modules  # nothing imported until asked
    with pytest.warns(DeprecationWarning, match="oldhome.VALUE moved to newhome_for_test.VALUE"):
        value = getattr_("VALUE")
    assert value is sys.modules["newhome_for_test"].VALUE
    with pytest.raises(AttributeError, match="'oldhome' has no attribute 'other'"):
        getattr_("other")


#: ARCHITECTURE.md's size rule: a module holds one idea, and none is over this many lines.
MAX_MODULE_LINES = 600


def test_no_module_is_over_600_lines():
    sizes = {p.relative_to(PACKAGE).as_posix(): len(p.read_text().splitlines()) for p in _modules()}
    assert sizes and max(sizes.values()) > 100  # the count reads real modules
    too_long = {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES}
    assert not too_long, f"modules over {MAX_MODULE_LINES} lines (split by idea): {too_long}"
