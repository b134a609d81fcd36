"""Chapter 08's figures: where MQAR queries fall, and accuracy against width for each length."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from ..experiments.mqar import best_over_lrs
from ..tasks import IGNORE_INDEX
from . import new_figure
from .recall import MIXER_LABELS

__all__ = ["gaps_figure", "width_figure"]


def gaps_figure(targets: Mapping[str, torch.Tensor], pairs: int) -> Figure:
    """Histogram of the query offsets after the pairs, one series per ``targets`` (a label ->
    MQAR targets ``(n, L)``, e.g. one per ``power_a``); ``pairs`` pairs precede the queries."""
    fig, ax = new_figure((6.4, 3.2), 1, 1)
    for label, y in targets.items():
        offsets = ((y != IGNORE_INDEX).nonzero()[:, 1] - 2 * pairs) // 2  # the gaps g
        ax.hist(offsets.numpy(), bins=np.arange(int(offsets.max()) + 2) - 0.5, density=True,
                histtype="step", label=label)  # fmt: skip
    ax.set(xlabel="gap g (the query is at position 2P + 2g, after P pairs)",
           ylabel="fraction of queries", title="Where MQAR asks its queries")  # fmt: skip
    ax.legend()
    return fig


def width_figure(
    results: Sequence[Mapping[str, Any]], solved: float = 0.99, min_steps: int | None = None
) -> Figure:
    """Test accuracy (best learning rate) against model width, one panel per mixer, one line per
    sequence length; the dashed line marks ``solved``. With ``min_steps``, a cell whose best run
    trained fewer steps without reaching its target is drawn hollow (a lower bound, not a
    converged accuracy). A panel with
    one width per length (e.g. attention at width 64 only) also writes each accuracy beside its
    point, since the points of the lengths may overlap."""
    best = best_over_lrs(results)
    steps: dict[tuple[str, int, int], float] = {}  # steps of the run with each best accuracy
    for r in results:
        key = (str(r["mixer"]), int(r["seq_len"]), int(r["width"]))
        if r["test_accuracy"] is not None and r["test_accuracy"] == best.get(key):
            steps[key] = math.inf if r.get("stopped") == "target" else int(r.get("steps", 0))
    mixers = sorted({m for m, _, _ in best})
    lengths = sorted({L for _, L, _ in best})
    fig, axes = new_figure((4.2 * len(mixers), 3.4), 1, len(mixers), sharey=True, squeeze=False)
    widths = sorted({w for _, _, w in best})
    for ax, m in zip(axes[0], mixers, strict=True):
        for i, L in enumerate(lengths):
            ws = sorted(w for mm, LL, w in best if mm == m and LL == L)
            if not ws:
                continue
            (line,) = ax.plot(ws, [best[(m, L, w)] for w in ws], "-", label=f"L = {L}")
            for w in ws:
                short = min_steps is not None and steps.get((m, L, w), 0) < min_steps
                ax.plot(w, best[(m, L, w)], "o", color=line.get_color(),
                        mfc="white" if short else line.get_color())  # fmt: skip
                if len(ws) == 1:
                    ax.annotate(f"L = {L}: {best[(m, L, w)]:.3f}", (w, best[(m, L, w)]),
                                xytext=(8, -14 * (i + 1)), textcoords="offset points",
                                color=line.get_color(), fontsize=8)  # fmt: skip
        ax.axhline(solved, color="0.5", ls="--", lw=1)
        ax.set_xscale("log", base=2)
        ax.set_xticks(widths, [str(w) for w in widths])  # the widths of the grid, in full
        ax.set(xlabel="model width d_model", title=MIXER_LABELS.get(m, m), ylim=(-0.02, 1.02))
    axes[0][0].set_ylabel("MQAR test accuracy (best lr)")
    title = "sequence length" if min_steps is None else f"length (hollow: < {min_steps:,} steps)"
    axes[0][-1].legend(title=title)
    return fig
