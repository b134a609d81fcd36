"""Chapter 07's figures, drawn from records: learning curves of the GPT and the Hyena LM, time per
training step against the context, the recurrent view's seconds per token, and how many modes
a trained filter needs (Hankel singular values, fit error and loss against the state size r)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from . import loglog, new_figure
from .recall import MIXER_COLORS

__all__ = ["context_figure", "distill_figure", "generation_figure", "lm_curves_figure"]

#: How the chapter names its two language models.
LM_LABELS = {"attention": "GPT (attention)", "hyena": "Hyena LM"}
#: How the generation ways are named (see :mod:`hyena_lab.generate`).
WAY_LABELS = {"recompute": "Hyena, recompute the prefix (a)", "cache": "Hyena, cached inputs (b)",
              "modal": "Hyena, modal states (c)", "gpt_kv_cache": "GPT, KV cache"}  # fmt: skip


def lm_curves_figure(runs: Sequence[Mapping[str, Any]], budget: float | None = None) -> Figure:
    """Validation loss (nats per character) against steps and against seconds, one thin line per
    run (``hyena-lab lm train`` summaries with their ``curve``), of one ``budget`` if given."""
    fig, (by_step, by_time) = new_figure((10.0, 3.6), 1, 2, sharey=True)
    seen = set()
    for r in runs:
        if budget is not None and r.get("budget") != budget:
            continue
        m, c = r["mixer"], r["curve"]
        label = None if m in seen else LM_LABELS.get(m, m)
        seen.add(m)
        colour = MIXER_COLORS.get(m)
        by_step.plot(c["step"], c["valid_loss"], color=colour, lw=1.2, alpha=0.8, label=label)
        by_time.plot(c["seconds"], c["valid_loss"], color=colour, lw=1.2, alpha=0.8)
    by_step.set(xlabel="optimizer steps", ylabel="validation loss (nats per character)",
                title="by step")  # fmt: skip
    by_time.set(xlabel="training seconds (2 CPU threads)", title="by wall-clock time")
    by_step.legend()
    return fig


def _against_context(contexts: Sequence[int], series: Mapping[str, Sequence[float | None]],
                     labels: Mapping[str, str], ylabel: str, title: str, xlabel: str) -> Figure:
    """One line per series against the context (log-log), skipping missing points."""
    fig, ax = new_figure((5.8, 3.7), 1, 1)
    for key, values in series.items():
        pts = [(L, v) for L, v in zip(contexts, values, strict=True) if v is not None]
        if pts:
            ax.plot(*zip(*pts, strict=True), "o-", color=MIXER_COLORS.get(key),
                    label=labels.get(key, key))  # fmt: skip
    loglog(ax, ylabel, title, xlabel=xlabel)
    ax.set_xticks(contexts, [f"{L // 1024}K" if L >= 1024 else str(L) for L in contexts])
    ax.legend(fontsize=8)
    return fig


def context_figure(record: Mapping[str, Any]) -> Figure:
    """Seconds per training step against the context length, one line per model (log-log)."""
    return _against_context(record["contexts"], record["seconds_per_step"], LM_LABELS,
                            "seconds per training step", "Training step time against the "
                            "context", "context length (characters)")  # fmt: skip


def generation_figure(record: Mapping[str, Any]) -> Figure:
    """Seconds per generated token against the context, one line per way (log-log)."""
    return _against_context(record["contexts"], record["seconds_per_token"], WAY_LABELS,
                            "seconds per generated token", "Generation cost against the "
                            "context", "context already generated (tokens)")  # fmt: skip


def distill_figure(record: Mapping[str, Any]) -> Figure:
    """Left: each layer's Hankel singular values over the largest (median over channels).
    Middle: the relative fit error of each layer's filters against r. Right: the validation
    loss of the distilled model against r, beside the undistilled loss."""
    fig, (hsv, err, loss) = new_figure((12.0, 3.5), 1, 3)
    for i, layer in enumerate(record["hankel_singular_values"]):
        s = np.asarray(layer["median"])
        hsv.semilogy(np.arange(1, len(s) + 1), s, label=f"layer {i}")
    hsv.set(xlabel="index k", ylabel="sigma_k / sigma_1 (median over channels)",
            title="Hankel singular values")  # fmt: skip
    hsv.legend(fontsize=8)
    orders = record["orders"]
    rows = record["distilled"]
    for i in range(len(rows[0]["fit_error"])):
        err.loglog(orders, [r["fit_error"][i]["all"] for r in rows], "o-", label=f"layer {i}")
    err.set_xscale("log", base=2)
    err.set(xlabel="state size r per channel", ylabel="relative error of the filters",
            title="Fit error")  # fmt: skip
    loss.plot(orders, [r["val_loss"] for r in rows], "o-", label="distilled")
    loss.axhline(record["val_loss"], color="0.4", ls="--", lw=1, label="undistilled")
    loss.set_xscale("log", base=2)
    loss.set(xlabel="state size r per channel", ylabel="validation loss (nats per character)",
             title="Loss after distillation")  # fmt: skip
    loss.legend(fontsize=8)
    for ax in (err, loss):
        ax.set_xticks(orders, [str(r) for r in orders])
    return fig
