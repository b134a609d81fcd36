"""Figures of chapter 06's GPU half: each way of building the Hyena layer (eager, compiled, the
fused Triton kernels, the on-chip FFT convolution) timed beside the best attention layer in one
run of ``hyena-lab bench --hyena-variants ...``; and the half-precision path's error against
the size of the activations (``scripts/ch06_half_scaling.py``).

The numbers come from :func:`hyena_lab.bench.times` (the fastest SDPA backend at each length for
attention; one variant's own points for Hyena); these functions only draw them.
"""

from __future__ import annotations

import math

from matplotlib.figure import Figure

from ..bench import PASSES, times
from . import loglog, new_figure

__all__ = ["VARIANT_STYLE", "half_scaling_figure", "variants_figure"]

#: Label and colour of each Hyena variant of :data:`hyena_lab.bench.config.HYENA_VARIANTS`.
VARIANT_STYLE = {
    "torch": ("eager layer (torch.fft)", "#56B4E9", "o"),
    "compile": ("torch.compile of the eager layer", "#999999", "v"),
    "monarch": ("FFT as matrix products (monarch)", "#CC79A7", "^"),
    "triton": ("fused Triton kernels + cuFFT", "#009E73", "D"),
    "triton_sram": ("fused kernels, FFT conv on chip (L <= 4K)", "#0072B2", "s"),
    "triton_long": ("fused kernels, three-pass long FFT conv (L >= 32K)", "#D55E00", "P"),
    "triton_half": ("fused kernels, half-precision cuFFT (forward)", "#E69F00", "X"),
}


def _variants(results: dict) -> list[str]:
    found = {p["backend"] for p in results["points"] if p["bench"] == "hyena"}
    return [v for v in VARIANT_STYLE if v in found]


def variants_figure(results: dict, metric: str = "time") -> Figure:
    """One panel per pass (forward, forward+backward): ``metric="time"`` the milliseconds per
    call of the best attention layer and of every Hyena variant against ``L``;
    ``metric="speedup"`` attention's time over each variant's (above 1: Hyena faster)."""
    if metric not in ("time", "speedup"):
        raise ValueError(f"metric must be 'time' or 'speedup', got {metric!r}")
    passes = [p for p in PASSES if any(q["pass"] == p for q in results["points"])]
    if not passes:
        raise ValueError("the results hold no measured point")
    meta = results["meta"]
    fig, axes = new_figure((5.2 * len(passes), 4.0), 1, len(passes), squeeze=False)
    for ax, pass_ in zip(axes[0], passes, strict=True):
        attention = times(results, "mha", pass_)
        if metric == "time" and attention:
            Ls = sorted(attention)
            ax.plot(Ls, [attention[L][0] for L in Ls], "s-", color="#D55E00",
                    label="attention layer (best SDPA backend)")  # fmt: skip
        for v in _variants(results):
            label, color, marker = VARIANT_STYLE[v]
            t = times(results, "hyena", pass_, v)
            Ls = sorted(set(t) & set(attention)) if metric == "speedup" else sorted(t)
            if not Ls:  # not measured in this pass (a forward-only variant): no legend entry
                continue
            ys = ([attention[L][0] / t[L][0] for L in Ls] if metric == "speedup"
                  else [t[L][0] for L in Ls])  # fmt: skip
            ax.plot(Ls, ys, marker=marker, color=color, label=label)
        if metric == "speedup":
            ax.axhline(1.0, color="k", lw=0.8, ls=":")
        what = "forward" if pass_ == "fwd" else "forward + backward"
        ylabel = "time per call (ms)" if metric == "time" else "attention time / Hyena time"
        loglog(ax, ylabel, f"{what}, {meta.get('tokens_per_batch', '?')} tokens per batch")
        ax.legend(fontsize=7)
    fig.suptitle(f"{meta.get('device', '?')}, {meta.get('dtype', '?')}, d_model "
                 f"{meta.get('d_model', '?')}, order {meta.get('order', '?')}, "
                 f"{str(meta.get('date', '?'))[:10]}", fontsize=9)  # fmt: skip
    return fig


def half_scaling_figure(record: dict) -> Figure:
    """The half path's relative error against float64 (the core's output) against the size of
    the activations, one colour per length: with the scales measured (first call, solid), with
    the fixed pre-scale the layer used before (dashed; an overflow drawn at the top, ``x``), and
    with float32 transforms (dotted). From the record of ``scripts/ch06_half_scaling.py``."""
    cases = record["cases"]
    if not cases:
        raise ValueError("the record holds no case")
    fig, ax = new_figure((6.0, 4.2))
    colors = ("#0072B2", "#009E73", "#D55E00", "#CC79A7", "#E69F00")
    top = 2.0  # where an overflow is drawn: above any relative error that means anything
    exponent = round(math.log2(record["fixed_scale"]))
    for i, L in enumerate(sorted({c["L"] for c in cases})):
        rows = sorted((c for c in cases if c["L"] == L), key=lambda c: c["size"])
        size = [c["size"] for c in rows]
        color = colors[i % len(colors)]
        measured = [c["measured_first"]["error"] if isinstance(c["measured_first"], dict)
                    else float("nan") for c in rows]  # fmt: skip
        fixed = [c["fixed"] if isinstance(c["fixed"], float) else top for c in rows]
        ax.plot(size, measured, "o-", color=color, label=f"L = {L // 1024}K, scales measured")
        ax.plot(size, fixed, "s--", color=color, alpha=0.6,
                label=f"L = {L // 1024}K, fixed pre-scale 2^{exponent}")  # fmt: skip
        over = [(s, top) for s, c in zip(size, rows, strict=True) if c["fixed"] == "overflow"]
        if over:
            ax.plot(*zip(*over, strict=True), "x", color=color, ms=10, mew=2)
        ax.plot(size, [c["float32"] for c in rows], ":", color=color, lw=1)
    ax.axhline(1e-2, color="k", lw=0.8, ls=":")
    ax.text(min(c["size"] for c in cases), 1.15e-2, "bound 1e-2 (bf16)", fontsize=7)
    ax.set_xscale("log")
    ax.set_yscale("log")
    run = record["run"]
    ax.set(xlabel="activation size (in_proj scaled by this factor)",
           ylabel="relative error of z^3 against float64",
           title=f"half-precision transforms, {run.get('device', '?')}, "
                 f"{str(run.get('date', '?'))[:10]} (x: overflow; dotted: float32)")  # fmt: skip
    ax.title.set_fontsize(9)
    ax.legend(fontsize=6, ncol=2)
    return fig
