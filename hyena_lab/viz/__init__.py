"""Plotting helpers shared by every chapter: one figure style and one way to save figures.

Chapter-specific figures (the pure functions that widgets call) live in submodules named after
the package module they illustrate: ``viz.conv``, ``viz.filters``, ``viz.matrices`` ...

``use_style()`` is applied once per notebook; ``savefig(fig, name)`` writes ``<name>.png`` (and
``.svg`` when asked) into :func:`figures_dir`, without timestamps in the metadata, so that
re-running the handbook reproduces identical files. Only ``make handbook`` points
:func:`figures_dir` at the repository's ``figures/``; an interactive run writes to a cache folder.
Committed measurements are read with :func:`load_data` from :func:`records_dir`.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from ..files import write_atomic
from ..measure import (
    check_name,
    cpu_name,
    environment,
    figures_dir,
    load_record,
    records_dir,
    save_record,
)

__all__ = [
    "STYLE",
    "cpu_name",
    "cpu_record",
    "figures_dir",
    "load_data",
    "matrix_heatmap",
    "records_dir",
    "run_info",
    "save_data",
    "savefig",
    "use_style",
    "write_atomic",
]

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
    """Apply the handbook's matplotlib style to every later figure (and show figures inline)."""
    mpl.rcParams.update(STYLE)
    _show_figures_inline()


def _show_figures_inline() -> None:
    """In a Jupyter kernel, switch on the inline backend so that a returned ``Figure`` displays
    as an image: figures built without pyplot never switch it on by themselves."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with the handbook's dependencies
        return
    shell = get_ipython()
    if shell is not None and hasattr(shell, "kernel"):
        shell.run_line_magic("matplotlib", "inline")


def load_data(name: str) -> dict:
    """Read the committed record ``figures/data/<name>.json`` (:func:`hyena_lab.measure.load_record`
    from :func:`records_dir`)."""
    return load_record(check_name(name))


def savefig(fig: Figure, name: str, formats: Iterable[str] = ("png",)) -> list[Path]:
    """Save ``fig`` as ``figures/<name>.<fmt>`` for each format; return the paths written.

    ``name`` should start with the chapter number, e.g. ``"01_long_convolutions-toeplitz"``.
    Metadata that would change between runs (software version, dates) is left out.
    """
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


def cpu_record(num_threads: int) -> dict[str, object]:
    """The context of a CPU measurement, as its record's top-level fields: ``device`` ("cpu"),
    ``processor``, ``machine``, ``torch_version``, ``date`` (UTC) and ``num_threads``; from
    :func:`hyena_lab.measure.environment`."""
    env = environment("cpu")
    return {"device": "cpu", "processor": env["cpu"], "machine": env["machine"],
            "torch_version": env["torch"], "date": env["date"], "num_threads": num_threads}


def run_info() -> dict[str, object]:
    """Where and when a measurement ran: :func:`hyena_lab.measure.environment` (device,
    processor, versions, threads, UTC date, git commit)."""
    return environment()


def save_data(data: dict, name: str, *, schema: str | None = None) -> Path:
    """Write a measurement as ``<figures_dir()>/data/<name>.json``, with ``run_info()`` as
    ``"run"`` (a ``"run"`` already in ``data`` is kept, e.g. numbers recorded on a GPU machine)
    and a ``"schema"`` named ``schema`` (default: ``name``), through
    :func:`hyena_lab.measure.save_record`."""
    record = {"run": run_info(), **data} if "run" not in data else dict(data)
    return save_record(record, check_name(name), schema=schema or name)


def matrix_heatmap(
    ax: plt.Axes,
    M: torch.Tensor,
    title: str,
    *,
    symmetric: bool = True,
    colorbar: bool = True,
) -> None:
    """Draw a square matrix (e.g. ``S_h``, ``D_x``, ``A(u)``) with time on both axes.

    With ``symmetric`` the colour scale is centred on 0 (a diverging map), so that positive and
    negative weights read alike; row index = output time t, column = input time s.
    """
    M = M.detach().to("cpu", torch.float64)
    if symmetric:
        vmax = float(M.abs().max()) or 1.0
        im = ax.imshow(M.numpy(), cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest")
    else:
        im = ax.imshow(M.numpy(), cmap="viridis", interpolation="nearest")
    ax.set_title(title)
    ax.set_xlabel("input position s")
    ax.set_ylabel("output position t")
    ax.grid(False)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
