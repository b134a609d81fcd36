"""Figures of chapter 5, *GPU kernels*: measured run time, memory and the roofline (Sec. 4.4).

Every function here is pure: it takes a results dict written by :mod:`hyena_lab.bench` (or the
numbers of a cost model) and returns a matplotlib ``Figure``; nothing is measured or saved. The
analysis (crossover, speedups) lives in :mod:`hyena_lab.bench`, the FLOP/byte model in
:mod:`hyena_lab.roofline`; the figures only draw them.

Names: ``L`` the sequence length, ``d_model`` the width, ``tokens`` the fixed tokens per batch
(``batch = tokens // L``), *kernel level* = ``fftconv`` against SDPA, *layer level* = the
order-2 Hyena operator against a multi-head attention layer, ``fwd`` / ``fwd+bwd`` the passes.

Contents: :func:`times_figure`, :func:`speedup_figure`, :func:`memory_figure`,
:func:`roofline_figure`, :func:`profile_figure`, :func:`paper_figure` (the numbers behind the
paper's Figure 4.3, :data:`PAPER`), :func:`complexity_figure` (a widget: the cost model at any
width and token count) and :func:`explore_figure` (a widget over the recorded data).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from ..bench import COMPARISONS, PASSES, SDPA_BACKENDS, crossover_length, times
from ..checks import check_positive_float, check_positive_int
from ..paper import PAPER_FIGURE_4_3_MS
from ..roofline import (
    Ceilings,
    fftconv_cost,
    fftconv_unfused_bytes,
    hyena_layer_cost,
    layer_time_model,
    mha_layer_cost,
)

__all__ = [
    "H100_CEILINGS",
    "LEVELS",
    "METRICS",
    "PAPER",
    "complexity_figure",
    "explore_figure",
    "memory_figure",
    "paper_figure",
    "paper_speedups",
    "profile_figure",
    "roofline_figure",
    "speedup_figure",
    "times_figure",
]

#: Ceilings measured on the recorded run's H100 (figures/data/05_gpu_kernels-bench.json): the
#: default of :func:`complexity_figure`; the notebook checks they match the file.
H100_CEILINGS = Ceilings(
    bandwidth=2.920e12, matmul_flops=7.915e14, fp32_flops=5.059e13, device="NVIDIA H100 (measured)"
)


def paper_speedups(attention: str = "flash_attention") -> dict[int, float]:
    """Hyena's speedup ``t_attention / t_Hyena`` in the data behind the paper's Figure 4.3.

    ``attention`` is ``"flash_attention"`` or ``"standard_attention"`` (a series of
    :data:`hyena_lab.paper.PAPER_FIGURE_4_3_MS`: A100, batch 64, forward ms); lengths where
    the series has no point (standard attention at 64K) are left out.
    """
    if attention not in ("flash_attention", "standard_attention"):
        raise ValueError(
            f"attention must be one of ['flash_attention', 'standard_attention'], got {attention!r}"
        )
    data = PAPER_FIGURE_4_3_MS
    return {
        int(L): float(t_attn) / float(t_hyena)
        for L, t_attn, t_hyena in zip(data["lengths"], data[attention], data["hyena"], strict=True)
        if t_attn is not None and t_hyena is not None
    }


#: What the paper and its authors claim, and what the data behind Figure 4.3 (Sec. 4.4; A100,
#: batch 64; :data:`hyena_lab.paper.PAPER_FIGURE_4_3_MS`, HazyResearch/safari issue #10)
#: give. ``claimed_speedup``: the abstract ("twice as fast as highly optimized attention at
#: sequence length 8K, and 100x faster at sequence length 64K"). ``blog_crossover_L``: the
#: authors' blog post (Hazy Research, 2023-03-07) puts the crossover with FlashAttention near
#: 6K tokens; the paper gives no such number. ``figure_speedup``: Hyena over FlashAttention in
#: the figure's own data (1.4x at 8K, 11.4x at 64K). ``fused_max_L``: the official fused
#: FFT-convolution extension handles FFT sizes up to 16384, i.e. sequences up to 8K (safari
#: issue #6): the figure's 16K-64K points cannot have used it.
PAPER: dict[str, Any] = {
    "blog_crossover_L": 6000,
    "claimed_speedup": {8192: 2.0, 65536: 100.0},
    "figure_speedup": {L: round(x, 1) for L, x in paper_speedups().items() if L in (8192, 65536)},
    "fused_max_fft_size": 16384,
    "fused_max_L": 16384 // 2,
}
LEVELS = tuple(COMPARISONS)
METRICS = ("time", "speedup", "memory")

_STYLE: dict[str, dict[str, Any]] = {
    "fftconv": {"label": "fftconv (FFT long conv)", "color": "#0072B2", "marker": "o"},
    "hyena": {"label": "Hyena operator, order 2", "color": "#0072B2", "marker": "o"},
    "mha": {"label": "attention layer (best SDPA)", "color": "#D55E00", "marker": "s"},
    "sdpa": {"label": "SDPA, best backend", "color": "#D55E00", "marker": "s"},
    "naive": {"label": "naive attention (L x L in memory)", "color": "#CC79A7", "marker": "^"},
}
_BACKEND_COLORS = {"cudnn": "#D55E00", "flash": "#E69F00", "efficient": "#009E73", "math": "#999"}
#: The memory figure draws all five benches in one panel: one colour and marker each
#: (kernel level dashed, layer level solid).
_MEMORY_STYLE: dict[str, dict[str, Any]] = {
    "fftconv": {"color": "#56B4E9", "marker": "o", "ls": "--"},
    "sdpa": {"color": "#E69F00", "marker": "s", "ls": "--"},
    "naive": {"color": "#CC79A7", "marker": "^", "ls": "-"},
    "hyena": {"color": "#0072B2", "marker": "D", "ls": "-"},
    "mha": {"color": "#D55E00", "marker": "v", "ls": "-"},
}


def _elt_bytes(results: dict) -> int:
    """Bytes per element of the run's dtype."""
    return 2 if results.get("meta", {}).get("dtype") in ("bf16", "fp16") else 4


def _length_colors(lengths: Sequence[int]) -> np.ndarray:
    """RGBA colours of ``log2 L`` on a fixed scale (L = 2^10 .. 2^20), viridis."""
    t = (np.log2(np.asarray(lengths, dtype=float)) - 10) / 10
    return colormaps["viridis"](np.clip(t, 0, 1))


def _check_results(results: object) -> dict:
    if not isinstance(results, dict) or "points" not in results:
        raise ValueError("results must be a dict from hyena_lab.bench (with a 'points' list)")
    return results


def _check_choice(value: object, allowed: Sequence[str], name: str) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
    return str(value)


def _subtitle(results: dict) -> str:
    meta = results.get("meta", {})
    return (
        f"{meta.get('device', '?')}, torch {meta.get('torch', '?')}, {meta.get('dtype', '?')}, "
        f"d_model {meta.get('d_model', '?')}, {meta.get('heads', '?')} heads, "
        f"{meta.get('tokens_per_batch', '?')} tokens per batch"
    )


def _fmt_length(x: float) -> str:
    """A length for a label: ``"384"``, ``"6.0K"``, ``"54K"`` (K = 1024)."""
    if x < 1024:
        return f"{x:.0f}"
    return f"{x / 1024:.1f}K" if x < 10 * 1024 else f"{x / 1024:.0f}K"


def _loglog(ax: Axes, ylabel: str, title: str) -> None:
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("sequence length L (tokens)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)


def _select(
    results: dict, bench: str, pass_: str, status: str = "ok", backend: str | None = None
) -> list[dict]:
    """The points of ``bench`` at ``pass_`` with ``status`` (and ``backend`` if given)."""
    return [
        p
        for p in results["points"]
        if p["bench"] == bench and p["pass"] == pass_ and p["status"] == status
        and (backend is None or p["backend"] == backend)
    ]


def _speedups(results: dict, level: str, pass_: str) -> tuple[list[int], list[float]]:
    """Lengths measured on both sides of ``level`` and ``t_attention / t_Hyena`` at each."""
    attn, hyena = COMPARISONS[level]
    ta, th = times(results, attn, pass_), times(results, hyena, pass_)
    common = sorted(set(ta) & set(th))
    return common, [ta[n][0] / th[n][0] for n in common]


def _series(results: dict, bench: str, pass_: str, key: str = "time_ms") -> tuple[list, list]:
    """Lengths and ``key`` of the ``ok`` points of one bench (best backend for SDPA)."""
    if key == "time_ms":
        t = times(results, bench, pass_)
        return sorted(t), [t[L][0] for L in sorted(t)]
    rows = sorted((p["L"], p[key]) for p in _select(results, bench, pass_) if p[key])
    best: dict[int, float] = {}
    for L, v in rows:  # several SDPA backends: keep the smallest
        best[L] = min(v, best.get(L, math.inf))
    return sorted(best), [best[L] for L in sorted(best)]


def _mark_missing(ax: Axes, results: dict, bench: str, pass_: str, color: str) -> None:
    """An 'x' on the top edge at each length where ``bench`` ran out of memory (labelled)."""
    oom = sorted({p["L"] for p in _select(results, bench, pass_, status="oom")})
    if oom:
        ax.plot(oom, [0.97] * len(oom), "x", color=color, ms=8, mew=2,
                transform=ax.get_xaxis_transform(), clip_on=False,
                label=f"{_STYLE[bench]['label']}: out of memory")


def _times_axes(ax: Axes, results: dict, level: str, pass_: str, legend: bool = True) -> None:
    attn, hyena = COMPARISONS[level]
    if level == "kernel":
        for b in SDPA_BACKENDS:
            pts = sorted((p["L"], p["time_ms"]) for p in _select(results, "sdpa", pass_, backend=b))
            if pts:
                ax.plot(*zip(*pts, strict=True), lw=0.8, alpha=0.6, ls=":",
                        color=_BACKEND_COLORS[b], label=f"SDPA {b}")
        Ln, tn = _series(results, "naive", pass_)
        if Ln:
            ax.plot(Ln, tn, **_STYLE["naive"])
    for bench in (attn, hyena):
        L, t = _series(results, bench, pass_)
        if L:
            ax.plot(L, t, lw=2, **_STYLE[bench])
        _mark_missing(ax, results, bench, pass_, _STYLE[bench]["color"])
    ta, th = times(results, attn, pass_), times(results, hyena, pass_)
    common = sorted(set(ta) & set(th))
    x = crossover_length(common, [ta[n][0] for n in common], [th[n][0] for n in common])
    if x is not None:
        text = f"crossover\nL ≈ {_fmt_length(x)}"
        if x <= common[0]:
            text = "Hyena side faster\nat every L"
        ax.axvline(x, color="k", lw=0.8, ls="--")
        ax.annotate(text, (x, 0.04), xytext=(4, 0), xycoords=("data", "axes fraction"),
                    textcoords="offset points", fontsize=8)
    _loglog(ax, "time per call (ms, median)", f"{level} level, {pass_}")
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="upper left")


def times_figure(results: dict, level: str = "kernel") -> Figure:
    """Time vs ``L`` (log-log), forward and forward+backward side by side, crossover marked.

    Kernel level: ``fftconv``, every SDPA backend (dotted), the best SDPA, naive attention.
    Layer level: Hyena operator vs attention layer. An 'x' on the top edge marks an OOM.
    """
    _check_results(results)
    _check_choice(level, LEVELS, "level")
    fig = Figure(figsize=(11.0, 4.8), layout="constrained")
    handles: dict[str, Any] = {}  # one legend for both panels, below them
    for ax, pass_ in zip(fig.subplots(1, 2, sharey=True), PASSES, strict=True):
        _times_axes(ax, results, level, pass_, legend=False)
        for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, h)
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncols=4,
                   fontsize=8)
    fig.suptitle(_subtitle(results), fontsize=9)
    return fig


def speedup_figure(results: dict, *, paper: bool = True) -> Figure:
    """Attention time / Hyena time vs ``L``, four comparisons, with the paper's numbers.

    Above 1 Hyena is faster. With ``paper``: stars mark the abstract's claims (2x at 8K, 100x
    at 64K); dashed lines with diamonds the speedups in the data behind Figure 4.3 (over
    FlashAttention, and over standard attention, which has no 64K point); a dotted vertical line
    the ~6K crossover of the authors' blog post. All paper numbers are A100, batch 64.
    """
    _check_results(results)
    fig = Figure(figsize=(7.6, 4.8), layout="constrained")
    ax = fig.subplots()
    styles = {"fwd": "-", "fwd+bwd": "--"}
    for level in LEVELS:
        for pass_ in PASSES:
            common, ratio = _speedups(results, level, pass_)
            if common:
                color = "#0072B2" if level == "layer" else "#009E73"
                ax.plot(common, ratio, ls=styles[pass_], marker="o", ms=3, color=color,
                        label=f"measured: {level} level, {pass_}")
    ax.axhline(1.0, color="k", lw=0.8)
    if paper:
        for attention, color, name in (("flash_attention", "#E69F00", "FlashAttention"),
                                       ("standard_attention", "#CC79A7", "standard attention")):
            Lp, sp = zip(*paper_speedups(attention).items(), strict=True)
            ax.plot(Lp, sp, ls=":", marker="D", ms=4, color=color,
                    label=f"paper Fig. 4.3 data: Hyena vs {name}")
        Lc, sc = zip(*PAPER["claimed_speedup"].items(), strict=True)
        ax.plot(Lc, sc, "*", ms=12, color="#D55E00", ls="none",
                label="paper abstract: 2x at 8K, 100x at 64K")
        ax.axvline(PAPER["blog_crossover_L"], color="#D55E00", lw=0.8, ls=":",
                   label="authors' blog: crossover ~6K")
    _loglog(ax, "speedup of Hyena = t_attention / t_Hyena", "Hyena vs attention")
    ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(_subtitle(results) + "; paper: A100, batch 64", fontsize=8)
    return fig


def paper_figure() -> Figure:
    """The numbers behind the paper's Figure 4.3 (A100, batch 64, forward): all three series.

    Left: forward time vs ``L`` of Hyena, FlashAttention and standard attention (which has no
    64K point; a cross on the top edge marks it). Right: Hyena's speedup over each attention,
    with the abstract's claims as stars. The grey band marks lengths beyond the official fused
    FFT-convolution kernel (FFT size > 16384, ``L`` > 8K): those points were not fused.
    """
    data = PAPER_FIGURE_4_3_MS
    fig = Figure(figsize=(11.0, 4.2), layout="constrained")
    ax, ax2 = fig.subplots(1, 2)
    series = (("hyena", "Hyena (order 2)", "#0072B2", "o"),
              ("flash_attention", "FlashAttention", "#E69F00", "s"),
              ("standard_attention", "standard attention (PyTorch)", "#CC79A7", "^"))
    for key, label, color, marker in series:
        pts = [(L, t) for L, t in zip(data["lengths"], data[key], strict=True) if t is not None]
        ax.plot(*zip(*pts, strict=True), marker=marker, color=color, ms=5, label=label)
        missing = [L for L, t in zip(data["lengths"], data[key], strict=True) if t is None]
        if missing:
            ax.plot(missing, [0.97] * len(missing), "x", color=color, ms=8, mew=2,
                    transform=ax.get_xaxis_transform(), clip_on=False,
                    label=f"{label}: no point at " + ", ".join(_fmt_length(L) for L in missing))
    for attention, label, color, marker in series[1:]:
        Lp, sp = zip(*paper_speedups(attention).items(), strict=True)
        ax2.plot(Lp, sp, marker=marker, color=color, ms=5, label=f"Hyena vs {label}")
    Lc, sc = zip(*PAPER["claimed_speedup"].items(), strict=True)
    ax2.plot(Lc, sc, "*", ms=12, color="#D55E00", ls="none",
             label="abstract: 2x at 8K, 100x at 64K")
    ax2.axhline(1.0, color="k", lw=0.8)
    for a in (ax, ax2):
        a.axvspan(PAPER["fused_max_L"] * 1.4, data["lengths"][-1] * 1.4, color="0.88", zorder=0,
                  label="L > 8K: FFT size > 16384, beyond the fused kernel")
    _loglog(ax, "forward time (ms)", "Fig. 4.3 data: forward time")
    ax.set_ylim(0.15, 600)  # room for the 'no point' cross above the highest point
    _loglog(ax2, "speedup of Hyena = t_attention / t_Hyena", "Fig. 4.3 data: speedup")
    ax.legend(fontsize=7, loc="upper left")
    ax2.legend(fontsize=7, loc="upper left")
    fig.suptitle("numbers behind the paper's Figure 4.3 (A100, batch 64), as published in "
                 "HazyResearch/safari issue #10", fontsize=9)
    return fig


def memory_figure(results: dict, *, device_gb: float | None = None) -> Figure:
    """Peak memory one call allocates beyond its inputs vs ``L``, both passes (log-log).

    With a fixed number of tokens, flash-style attention and the FFT convolution use memory
    proportional to the tokens; the naive attention's ``(L, L)`` scores grow with ``L``.
    """
    _check_results(results)
    total = device_gb if device_gb is not None else results.get("meta", {}).get("gpu_memory_gb")
    fig = Figure(figsize=(11.0, 4.0), layout="constrained")
    for ax, pass_ in zip(fig.subplots(1, 2, sharey=True), PASSES, strict=True):
        for bench in ("fftconv", "sdpa", "naive", "hyena", "mha"):
            L, mb = _series(results, bench, pass_, key="peak_mem_mb")
            if L:
                style = dict(_STYLE[bench], **_MEMORY_STYLE[bench])
                ax.plot(L, [m / 1024 for m in mb], **style)
        if total:
            ax.axhline(total / 1.073741824, color="k", lw=0.8, ls=":")
            ax.annotate("device memory", (0.98, total / 1.073741824), fontsize=8, ha="right",
                        xycoords=("axes fraction", "data"), va="bottom")
        _loglog(ax, "peak memory of one call (GiB)", pass_)
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3, fontsize=8)
    fig.suptitle(_subtitle(results), fontsize=9)
    return fig


def roofline_figure(results: dict) -> Figure:
    """Left: the roofline (attained FLOP/s vs intensity) with the measured points.

    Right: ``fftconv`` forward time vs ``L`` next to its floors: the HBM floor (read ``u``,
    ``k``, write ``y`` once), the fp32 compute floor and the bytes of the unfused PyTorch
    implementation at full bandwidth (:func:`hyena_lab.roofline.fftconv_unfused_bytes`).
    """
    _check_results(results)
    ceil = Ceilings.from_dict(results["ceilings"])
    fig = Figure(figsize=(11.5, 4.4), layout="constrained")
    ax, ax2 = fig.subplots(1, 2)
    x = np.logspace(-1, 6, 200)
    for rate, name, color in ((ceil.matmul_flops, "bf16 matmul (tensor cores)", "k"),
                              (ceil.fp32_flops, "fp32 (CUDA cores, runs cuFFT)", "#555")):
        ax.plot(x, np.minimum(rate, x * ceil.bandwidth) / 1e12, color=color, lw=1.2, label=name)
    for bench, marker in (("fftconv", "o"), ("sdpa", "s")):
        pts = _select(results, bench, "fwd", backend="cudnn" if bench == "sdpa" else None)
        ax.scatter([p["flops"] / p["bytes_floor"] for p in pts],
                   [p["flops"] / (p["time_ms"] * 1e-3) / 1e12 for p in pts],
                   c=_length_colors([p["L"] for p in pts]), marker=marker, s=25,
                   label=_STYLE[bench]["label"].replace("best backend", "cuDNN"))
    conv = _select(results, "fftconv", "fwd")
    d, e = results["meta"]["d_model"], _elt_bytes(results)
    ax.scatter([p["flops"] / fftconv_unfused_bytes(p["batch"], d, p["L"], e) for p in conv],
               [p["flops"] / (p["time_ms"] * 1e-3) / 1e12 for p in conv],
               facecolors="none", edgecolors=_length_colors([p["L"] for p in conv]),
               marker="o", s=25, label="fftconv, counting its unfused bytes")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOP per byte moved)")
    ax.set_ylabel("attained TFLOP/s")
    ax.set_title(f"roofline, fwd; ridge {ceil.ridge():.0f} FLOP/B")
    ax.legend(fontsize=7, loc="lower right")
    lengths = ScalarMappable(norm=LogNorm(2**10, 2**20), cmap="viridis")  # as _length_colors
    bar = fig.colorbar(lengths, ax=ax, pad=0.01)
    bar.set_label("sequence length L (tokens), marker colour")
    bar.set_ticks([2**p for p in range(10, 21, 2)],
                  labels=[_fmt_length(2**p) for p in range(10, 21, 2)])
    pts = sorted(((p["L"], p) for p in conv), key=lambda lp: lp[0])
    L = [n for n, _ in pts]
    ax2.plot(L, [p["time_ms"] for _, p in pts], "o-", color="#0072B2", label="measured")
    ax2.plot(L, [fftconv_unfused_bytes(p["batch"], d, n, e) / ceil.bandwidth * 1e3
                 for n, p in pts], "--", color="#E69F00", label="unfused bytes at full bandwidth")
    ax2.plot(L, [p["flops"] / ceil.fp32_flops * 1e3 for _, p in pts], ":", color="#555",
             label="fp32 compute floor")
    ax2.plot(L, [p["bytes_floor"] / ceil.bandwidth * 1e3 for _, p in pts], "-", color="k",
             label="HBM floor (fused: read u, k, write y once)")
    _loglog(ax2, "fftconv forward time (ms)", "fftconv: measured vs floors")
    ax2.legend(fontsize=7)
    fig.suptitle(_subtitle(results), fontsize=9)
    return fig


def profile_figure(profiles: dict[str, dict], *, by: str = "ops", top: int = 8) -> Figure:
    """Horizontal bars of the ``top`` largest device times, one panel per profile.

    ``profiles`` maps a panel title to a :func:`hyena_lab.bench.profile_call` result.
    ``by="ops"`` groups by PyTorch operator (``aten::copy_`` = casts and layout changes,
    ``aten::mul`` = gates and spectral products ...), ``by="kernels"`` by CUDA kernel. The
    panels share their time axis, so bars compare across panels.
    """
    _check_choice(by, ("ops", "kernels"), "by")
    check_positive_int(top, "top")
    if not isinstance(profiles, dict) or not profiles:
        raise ValueError("profiles must be a non-empty dict {title: profile_call result}")
    for title, prof in profiles.items():
        if not isinstance(prof, dict) or by not in prof:
            raise ValueError(f"profile {title!r} is not a profile_call result with {by!r}")
    n = len(profiles)
    fig = Figure(figsize=(5.0 * n, 0.32 * top + 1.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, n, sharex=True))
    for ax, (title, prof) in zip(axes, profiles.items(), strict=True):
        rows = prof[by][:top][::-1]
        names = [r["name"].replace("void ", "").replace("at::native::", "")[:40] for r in rows]
        ax.barh(names, [r["ms"] for r in rows], color="#0072B2")
        ax.set_ylim(-0.5, top - 0.5)  # same bar height in every panel
        ax.set_xlabel("device time of one call (ms)")
        ax.set_title(f"{title}: total {prof.get('total_ms', float('nan')):.1f} ms")
        ax.tick_params(axis="y", labelsize=7)
    return fig


def complexity_figure(
    d_model: int = 768,
    heads: int = 12,
    tokens: int = 2**18,
    order: int = 2,
    fft_bytes_factor: float = 1.0,
    ceilings: Ceilings | None = None,
    measured: dict | None = None,
) -> Figure:
    """The complexity argument with a device's numbers, at a fixed number of ``tokens``.

    Left: FLOPs per batch of an attention layer (``~ 8 T d^2 + 2 T L d``) and an order-``N``
    Hyena operator (``~ 2 (N+2) T d^2 + N T d * 10 log2 2L``) vs ``L``. Right: the roofline time
    model of both (:func:`hyena_lab.roofline.layer_time_model`): matrix products at the
    tensor-core rate, the FFT convolutions at ``max(fp32 FLOPs, fft_bytes_factor * bytes /
    bandwidth)``; with ``measured`` (a results dict) the measured layer-level forward times too.
    """
    for v, name in ((d_model, "d_model"), (heads, "heads"), (tokens, "tokens"), (order, "order")):
        check_positive_int(v, name)
    if d_model % heads:
        raise ValueError(f"d_model ({d_model}) must be divisible by heads ({heads})")
    check_positive_float(fft_bytes_factor, "fft_bytes_factor")
    ceil = ceilings if ceilings is not None else H100_CEILINGS
    L = [2**p for p in range(6, 21)]
    batch = [max(1, tokens // n) for n in L]
    f_attn = [mha_layer_cost(b, n, d_model, heads).flops for b, n in zip(batch, L, strict=True)]
    f_hy = [hyena_layer_cost(b, n, d_model, order).flops for b, n in zip(batch, L, strict=True)]
    model = [layer_time_model(n, tokens, d_model, heads, ceil, order=order,
                              fft_bytes_factor=fft_bytes_factor) for n in L]
    fig = Figure(figsize=(11.0, 4.2), layout="constrained")
    ax, ax2 = fig.subplots(1, 2)
    ax.plot(L, np.array(f_attn) / 1e12, "s-", color="#D55E00", ms=3, label="attention layer")
    ax.plot(L, np.array(f_hy) / 1e12, "o-", color="#0072B2", ms=3, label=f"Hyena, order {order}")
    conv = [fftconv_cost(b, d_model, n).flops * order / 1e12 for b, n in zip(batch, L, strict=True)]
    ax.plot(L, conv, ":", color="#0072B2", label="  of which FFT convolutions")
    x = crossover_length(L, f_attn, f_hy)
    _loglog(ax, "TFLOP per batch (forward)",
            "FLOPs" + (f": cross at L ≈ {_fmt_length(x)}" if x else ": no crossover"))
    ax.legend(fontsize=7)
    ta, th = [a * 1e3 for a, _ in model], [h * 1e3 for _, h in model]
    ax2.plot(L, ta, "s-", color="#D55E00", ms=3, label="attention layer (model)")
    ax2.plot(L, th, "o-", color="#0072B2", ms=3, label="Hyena (model)")
    if measured is not None:
        for bench in ("mha", "hyena"):
            Lm, tm = _series(_check_results(measured), bench, "fwd")
            ax2.plot(Lm, tm, "x", color=_STYLE[bench]["color"],
                     label=f"{_STYLE[bench]['label']}, measured")
    x = crossover_length(L, ta, th)
    if x is not None:
        ax2.axvline(x, color="k", lw=0.8, ls="--")
    _loglog(ax2, "forward time (ms)",
            f"roofline model, FFT bytes x{fft_bytes_factor:g}"
            + (f": cross at L ≈ {_fmt_length(x)}" if x else ": no crossover"))
    ax2.legend(fontsize=7)
    fig.suptitle(f"d_model {d_model}, {heads} heads, {tokens} tokens per batch, "
                 f"ceilings of {ceil.device}", fontsize=9)
    return fig


def explore_figure(
    results: dict, level: str = "layer", pass_: str = "fwd", metric: str = "time"
) -> Figure:
    """One panel of the recorded data for a widget: ``metric`` at ``level`` and ``pass_``.

    ``metric``: ``"time"`` (both sides, log-log), ``"speedup"`` (attention / Hyena) or
    ``"memory"`` (peak GiB of one call).
    """
    _check_results(results)
    _check_choice(level, LEVELS, "level")
    _check_choice(pass_, PASSES, "pass_")
    _check_choice(metric, METRICS, "metric")
    fig = Figure(figsize=(6.6, 4.2), layout="constrained")
    ax = fig.subplots()
    attn, hyena = COMPARISONS[level]
    if metric == "time":
        _times_axes(ax, results, level, pass_)
    elif metric == "speedup":
        ax.plot(*_speedups(results, level, pass_), "o-", color="#0072B2")
        ax.axhline(1.0, color="k", lw=0.8)
        _loglog(ax, "t_attention / t_Hyena", f"{level} level, {pass_}: speedup of Hyena")
    else:
        for bench in (attn, hyena):
            L, mb = _series(results, bench, pass_, key="peak_mem_mb")
            ax.plot(L, [m / 1024 for m in mb], **_STYLE[bench])
        _loglog(ax, "peak memory of one call (GiB)", f"{level} level, {pass_}")
        ax.legend(fontsize=7)
    return fig
