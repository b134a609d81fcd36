"""The handbook's figure style, ``savefig`` and the helpers every chapter's figures share.

Each chapter's figures (pure functions that widgets call) live in the submodule named after the
package module they draw (``viz.conv``, ``viz.matrices``, ``viz.filters`` ...). Records are read
and written by :mod:`hyena_lab.measure`; ``load_data`` and ``save_data`` are thin wrappers.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import matplotlib as mpl
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..files import write_atomic
from ..measure import (
    check_name,
    cpu_name,
    cpu_record,
    environment,
    figures_dir,
    load_record,
    records_dir,
    save_record,
)

__all__ = [
    "STYLE", "cpu_name", "cpu_record", "figures_dir", "load_data", "matrix_heatmap",
    "records_dir", "run_info", "save_data", "savefig", "use_style", "write_atomic",
]  # fmt: skip

#: rcParams of the handbook: readable on a web page and in a slide, colour-blind safe cycle.
STYLE: dict[str, object] = {
    "figure.figsize": (6.4, 3.8),
    "figure.dpi": 100,
    "savefig.dpi": 120,
    "savefig.bbox": "tight",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "image.cmap": "viridis",
    "axes.prop_cycle": mpl.cycler(
        color=["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
    ),
    "svg.hashsalt": "hyena-lab",
}


def use_style() -> None:
    """Apply the handbook's style to every later figure; in a Jupyter kernel also switch on the
    inline backend, so that a returned ``Figure`` (built without pyplot) displays as an image."""
    mpl.rcParams.update(STYLE)
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with the handbook's dependencies
        return
    shell = get_ipython()
    if shell is not None and hasattr(shell, "kernel"):
        shell.run_line_magic("matplotlib", "inline")


def load_data(name: str) -> dict:
    """Read the committed record ``<records_dir()>/<name>.json``."""
    return load_record(check_name(name))


def savefig(fig: Figure, name: str, formats: Iterable[str] = ("png",)) -> list[Path]:
    """Save ``fig`` as ``<figures_dir()>/<name>.<fmt>`` per format, without metadata that would
    change between runs; return the paths. ``name`` starts with the chapter number."""
    check_name(name, "figure")
    paths = []
    for fmt in formats:
        if fmt not in ("png", "svg", "pdf"):
            raise ValueError(f"format must be 'png', 'svg' or 'pdf', got {fmt!r}")
        meta = {"Software": None} if fmt == "png" else {"Date": None, "Creator": None}
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, metadata=meta)
        paths.append(write_atomic(figures_dir() / f"{name}.{fmt}", buf.getvalue()))
    return paths


#: The old name of :func:`hyena_lab.measure.environment`: where and when a run ran.
run_info = environment


def save_data(data: dict, name: str, *, schema: str | None = None) -> Path:
    """:func:`hyena_lab.measure.save_record` of ``data`` as ``<figures_dir()>/data/<name>.json``
    with :func:`~hyena_lab.measure.environment` as ``"run"`` (unless ``data`` has one) and the
    schema ``schema`` (default: ``name``)."""
    record = dict(data) if "run" in data else {"run": environment(), **data}
    return save_record(record, check_name(name), schema=schema or name)


# ------------------------------------------------------------- helpers of the chapter figures


def new_figure(figsize: tuple[float, float], *grid: int, **kw: Any) -> tuple[Figure, Any]:
    """A constrained-layout figure outside pyplot (nothing accumulates between widget calls)
    and its axes, ``Figure.subplots(*grid, **kw)``."""
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.subplots(*grid, **kw)


def loglog(ax: Axes, ylabel: str, title: str, xlabel: str = "sequence length L (tokens)") -> None:
    """Label ``ax`` and make both axes logarithmic, x in base 2."""
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)


def thread_label(rec: dict[str, Any], processor: str) -> str:
    """``"<processor>, 1 thread, <date>"``: where and when a CPU record was measured."""
    threads = rec.get("num_threads", "?")
    return f"{processor}, {threads} thread{'' if threads == 1 else 's'}, {rec.get('date', '?')}"


def matrix_heatmap(ax: Axes, M: torch.Tensor, title: str, *, symmetric: bool = True,
                   colorbar: bool = True, integer_ticks: bool = False) -> None:  # fmt: skip
    """Draw a square matrix (``S_h``, ``D_x``, ``A(u)``): row = output time t, column = input
    time s. ``symmetric`` centres a diverging colour scale on 0; ``integer_ticks`` for steps."""
    M = M.detach().to("cpu", torch.float64)
    if symmetric:
        vmax = float(M.abs().max()) or 1.0
        im = ax.imshow(M.numpy(), cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest")
    else:
        im = ax.imshow(M.numpy(), cmap="viridis", interpolation="nearest")
    ax.set(title=title, xlabel="input position s", ylabel="output position t")
    ax.grid(False)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    if integer_ticks:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
