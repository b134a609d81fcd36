"""Plotting helpers shared by every chapter: one figure style and one way to save figures.

Chapter-specific figures (the pure functions that widgets call) live in submodules named after
the package module they illustrate: ``viz.conv``, ``viz.filters``, ``viz.matrices`` ...

``use_style()`` is applied once per notebook; ``savefig(fig, name)`` writes
``figures/<name>.png`` (and ``.svg`` when asked) at the repository root, without timestamps in
the metadata, so that re-running the handbook reproduces identical files.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
from collections.abc import Iterable
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

__all__ = [
    "STYLE",
    "cpu_name",
    "cpu_record",
    "figures_dir",
    "matrix_heatmap",
    "run_info",
    "save_data",
    "savefig",
    "use_style",
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

_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


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


def figures_dir() -> Path:
    """The ``figures/`` folder: ``$HYENA_LAB_FIGURES`` if set, else the repository's own.

    The repository root is the folder holding ``pyproject.toml`` above this package (an
    editable install); failing that, ``./figures`` under the current directory.
    """
    env = os.environ.get("HYENA_LAB_FIGURES")
    if env:
        path = Path(env)
    else:
        root = Path(__file__).resolve().parents[2]
        path = root / "figures" if (root / "pyproject.toml").exists() else Path("figures")
    path.mkdir(parents=True, exist_ok=True)
    return path


def savefig(fig: Figure, name: str, formats: Iterable[str] = ("png",)) -> list[Path]:
    """Save ``fig`` as ``figures/<name>.<fmt>`` for each format; return the paths written.

    ``name`` should start with the chapter number, e.g. ``"01_long_convolutions-toeplitz"``.
    Metadata that would change between runs (software version, dates) is left out.
    """
    if not _NAME.match(name):
        raise ValueError(f"figure name must use letters, digits, '_', '-', '.', got {name!r}")
    paths = []
    for fmt in formats:
        if fmt not in ("png", "svg", "pdf"):
            raise ValueError(f"format must be 'png', 'svg' or 'pdf', got {fmt!r}")
        meta = {"Software": None} if fmt == "png" else {"Date": None, "Creator": None}
        path = figures_dir() / f"{name}.{fmt}"
        fig.savefig(path, format=fmt, metadata=meta)
        paths.append(path)
    return paths


def cpu_name() -> str:
    """The processor's model name (Linux ``/proc/cpuinfo``), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def cpu_record(num_threads: int) -> dict[str, object]:
    """The context of a CPU measurement, as its record's top-level fields: ``device`` ("cpu"),
    ``processor``, ``machine``, ``torch_version``, ``date`` (UTC) and ``num_threads``."""
    return {
        "device": "cpu",
        "processor": cpu_name(),
        "machine": platform.machine(),
        "torch_version": torch.__version__,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
        "num_threads": num_threads,
    }


def run_info() -> dict[str, object]:
    """Where and when a measurement ran: device, processor, torch version, threads, UTC date."""
    cuda = torch.cuda.is_available()
    return {
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "cpu": cpu_name(),
        "torch": torch.__version__,
        "num_threads": torch.get_num_threads(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
    }


def save_data(data: dict, name: str) -> Path:
    """Write a measurement as ``figures/data/<name>.json``; add ``run_info()`` as ``"run"``.

    A ``"run"`` entry already in ``data`` is kept (e.g. numbers recorded on a GPU machine).
    """
    if not _NAME.match(name):
        raise ValueError(f"data name must use letters, digits, '_', '-', '.', got {name!r}")
    folder = figures_dir() / "data"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    record = {"run": run_info(), **data} if "run" not in data else dict(data)
    path.write_text(json.dumps(record, indent=1) + "\n")
    return path


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
