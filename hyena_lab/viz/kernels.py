"""Figures of chapter 05, *GPU kernels*: run time, memory and the roofline (Sec. 4.4).

Every function takes a results dict of :mod:`hyena_lab.bench` (or a cost model's numbers) and
returns a ``Figure``; the analysis (crossover, speedups) is in :mod:`hyena_lab.bench`, the
FLOP/byte model in :mod:`hyena_lab.roofline`, the paper's numbers in :mod:`hyena_lab.paper`.
*Kernel level*: ``fftconv`` against SDPA; *layer level*: the order-2 Hyena operator against an
attention layer; ``tokens`` per batch fixed (``batch = tokens // L``).
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
from ..deprecation import moved
from ..paper import PAPER_CLAIMS as PAPER
from ..paper import PAPER_FIGURE_4_3_MS, paper_speedups
from ..roofline import (
    Ceilings,
    fftconv_cost,
    fftconv_unfused_bytes,
    hyena_layer_cost,
    layer_time_model,
    mha_layer_cost,
)
from . import loglog, new_figure

__all__ = [
    "H100_CEILINGS", "LEVELS", "METRICS", "PAPER", "complexity_figure", "explore_figure",
    "memory_figure", "paper_figure", "profile_figure", "roofline_figure", "speedup_figure",
    "times_figure",
]  # fmt: skip

#: Ceilings measured on the recorded run's H100 (figures/data/05_gpu_kernels-bench.json): the
#: default of :func:`complexity_figure`; the notebook checks they match the file.
H100_CEILINGS = Ceilings(
    bandwidth=2.920e12, matmul_flops=7.915e14, fp32_flops=5.059e13, device="NVIDIA H100 (measured)"
)
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
#: The memory figure's five benches in one panel (kernel level dashed, layer level solid).
_MEMORY_STYLE: dict[str, dict[str, Any]] = {
    "fftconv": {"color": "#56B4E9", "marker": "o", "ls": "--"},
    "sdpa": {"color": "#E69F00", "marker": "s", "ls": "--"},
    "naive": {"color": "#CC79A7", "marker": "^", "ls": "-"},
    "hyena": {"color": "#0072B2", "marker": "D", "ls": "-"},
    "mha": {"color": "#D55E00", "marker": "v", "ls": "-"},
}


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
    m = {k: results.get("meta", {}).get(k, "?") for k in ("device", "torch", "dtype", "d_model",
                                                           "heads", "tokens_per_batch")}
    return (f"{m['device']}, torch {m['torch']}, {m['dtype']}, d_model {m['d_model']}, "
            f"{m['heads']} heads, {m['tokens_per_batch']} tokens per batch")


def _fmt_length(x: float) -> str:
    """A length for a label: ``"384"``, ``"6.0K"``, ``"54K"`` (K = 1024)."""
    if x < 1024:
        return f"{x:.0f}"
    return f"{x / 1024:.1f}K" if x < 10 * 1024 else f"{x / 1024:.0f}K"


def _cross_title(what: str, x: float | None) -> str:
    return what + (f": cross at L ≈ {_fmt_length(x)}" if x else ": no crossover")


def _select(results: dict, bench: str, pass_: str, status: str = "ok",
            backend: str | None = None) -> list[dict]:  # fmt: skip
    """The points of ``bench`` at ``pass_`` with ``status`` (and ``backend`` if given)."""
    return [p for p in results["points"]
            if p["bench"] == bench and p["pass"] == pass_ and p["status"] == status
            and (backend is None or p["backend"] == backend)]  # fmt: skip


def _common_times(results: dict, level: str, pass_: str) -> tuple[list[int], list, list]:
    """Lengths measured on both sides of ``level``; the attention and Hyena times there."""
    attn, hyena = COMPARISONS[level]
    ta, th = times(results, attn, pass_), times(results, hyena, pass_)
    common = sorted(set(ta) & set(th))
    return common, [ta[n][0] for n in common], [th[n][0] for n in common]


def _speedups(results: dict, level: str, pass_: str) -> tuple[list[int], list[float]]:
    """Lengths measured on both sides of ``level`` and ``t_attention / t_Hyena`` at each."""
    common, ta, th = _common_times(results, level, pass_)
    return common, [a / h for a, h in zip(ta, th, strict=True)]


def _series(results: dict, bench: str, pass_: str, key: str = "time_ms") -> tuple[list, list]:
    """Lengths and the least ``key`` at each of the ``ok`` points of one bench (for SDPA: over
    its backends, as :func:`hyena_lab.bench.times` picks the best)."""
    best: dict[int, float] = {}
    for p in _select(results, bench, pass_):
        if p[key]:
            best[p["L"]] = min(p[key], best.get(p["L"], math.inf))
    return sorted(best), [best[L] for L in sorted(best)]


def _mark_missing(ax: Axes, lengths: list, color: str, label: str) -> None:
    """An 'x' on the top edge of ``ax`` at each length (a point that does not exist)."""
    if lengths:
        ax.plot(lengths, [0.97] * len(lengths), "x", color=color, ms=8, mew=2,
                transform=ax.get_xaxis_transform(), clip_on=False, label=label)


def _times_axes(ax: Axes, results: dict, level: str, pass_: str, legend: bool = True) -> None:
    if level == "kernel":
        for b in SDPA_BACKENDS:
            pts = sorted((p["L"], p["time_ms"]) for p in _select(results, "sdpa", pass_, backend=b))
            if pts:
                ax.plot(*zip(*pts, strict=True), lw=0.8, alpha=0.6, ls=":",
                        color=_BACKEND_COLORS[b], label=f"SDPA {b}")
        Ln, tn = _series(results, "naive", pass_)
        if Ln:
            ax.plot(Ln, tn, **_STYLE["naive"])
    for bench in COMPARISONS[level]:
        L, t = _series(results, bench, pass_)
        if L:
            ax.plot(L, t, lw=2, **_STYLE[bench])
        oom = sorted({p["L"] for p in _select(results, bench, pass_, status="oom")})
        _mark_missing(ax, oom, _STYLE[bench]["color"], f"{_STYLE[bench]['label']}: out of memory")
    common, ta, th = _common_times(results, level, pass_)
    x = crossover_length(common, ta, th)
    if x is not None:
        text = f"crossover\nL ≈ {_fmt_length(x)}"
        if x <= common[0]:
            text = "Hyena side faster\nat every L"
        ax.axvline(x, color="k", lw=0.8, ls="--")
        ax.annotate(text, (x, 0.04), xytext=(4, 0), xycoords=("data", "axes fraction"),
                    textcoords="offset points", fontsize=8)
    loglog(ax, "time per call (ms, median)", f"{level} level, {pass_}")
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="upper left")


def times_figure(results: dict, level: str = "kernel") -> Figure:
    """Time vs ``L`` of both sides of ``level`` (at kernel level also every SDPA backend and naive
    attention), fwd and fwd+bwd side by side, crossover marked, an 'x' on top for an OOM."""
    _check_results(results)
    _check_choice(level, LEVELS, "level")
    fig, axes = new_figure((11.0, 4.8), 1, 2, sharey=True)
    handles: dict[str, Any] = {}  # one legend for both panels, below them
    for ax, pass_ in zip(axes, PASSES, strict=True):
        _times_axes(ax, results, level, pass_, legend=False)
        for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, h)
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncols=4,
                   fontsize=8)
    fig.suptitle(_subtitle(results), fontsize=9)
    return fig


def _claims(ax: Axes, label: str) -> None:
    """The abstract's claimed speedups (2x at 8K, 100x at 64K) as stars."""
    Lc, sc = zip(*PAPER["claimed_speedup"].items(), strict=True)
    ax.plot(Lc, sc, "*", ms=12, color="#D55E00", ls="none", label=label)


def speedup_figure(results: dict, *, paper: bool = True) -> Figure:
    """Attention time / Hyena time vs ``L``, four comparisons (above 1 Hyena is faster); with
    ``paper`` the abstract's claims, the speedups in Figure 4.3's data and the blog's ~6K."""
    _check_results(results)
    fig, ax = new_figure((7.6, 4.8))
    for level in LEVELS:
        for pass_ in PASSES:
            common, ratio = _speedups(results, level, pass_)
            if common:
                ax.plot(common, ratio, ls={"fwd": "-", "fwd+bwd": "--"}[pass_], marker="o", ms=3,
                        color="#0072B2" if level == "layer" else "#009E73",
                        label=f"measured: {level} level, {pass_}")
    ax.axhline(1.0, color="k", lw=0.8)
    if paper:
        for attention, color, name in (("flash_attention", "#E69F00", "FlashAttention"),
                                       ("standard_attention", "#CC79A7", "standard attention")):
            Lp, sp = zip(*paper_speedups(attention).items(), strict=True)
            ax.plot(Lp, sp, ls=":", marker="D", ms=4, color=color,
                    label=f"paper Fig. 4.3 data: Hyena vs {name}")
        _claims(ax, "paper abstract: 2x at 8K, 100x at 64K")
        ax.axvline(PAPER["blog_crossover_L"], color="#D55E00", lw=0.8, ls=":",
                   label="authors' blog: crossover ~6K")
    loglog(ax, "speedup of Hyena = t_attention / t_Hyena", "Hyena vs attention")
    ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(_subtitle(results) + "; paper: A100, batch 64", fontsize=8)
    return fig


def paper_figure() -> Figure:
    """The data behind the paper's Figure 4.3 (A100, batch 64): forward times (left) and Hyena's
    speedups with the abstract's claims (right); grey: beyond the fused kernel (``L`` > 8K)."""
    data = PAPER_FIGURE_4_3_MS
    fig, (ax, ax2) = new_figure((11.0, 4.2), 1, 2)
    series = (("hyena", "Hyena (order 2)", "#0072B2", "o"),
              ("flash_attention", "FlashAttention", "#E69F00", "s"),
              ("standard_attention", "standard attention (PyTorch)", "#CC79A7", "^"))
    for key, label, color, marker in series:
        pts = [(L, t) for L, t in zip(data["lengths"], data[key], strict=True) if t is not None]
        ax.plot(*zip(*pts, strict=True), marker=marker, color=color, ms=5, label=label)
        missing = [L for L, t in zip(data["lengths"], data[key], strict=True) if t is None]
        _mark_missing(ax, missing, color,
                      f"{label}: no point at " + ", ".join(_fmt_length(L) for L in missing))
    for attention, label, color, marker in series[1:]:
        Lp, sp = zip(*paper_speedups(attention).items(), strict=True)
        ax2.plot(Lp, sp, marker=marker, color=color, ms=5, label=f"Hyena vs {label}")
    _claims(ax2, "abstract: 2x at 8K, 100x at 64K")
    ax2.axhline(1.0, color="k", lw=0.8)
    for a in (ax, ax2):
        a.axvspan(PAPER["fused_max_L"] * 1.4, data["lengths"][-1] * 1.4, color="0.88", zorder=0,
                  label="L > 8K: FFT size > 16384, beyond the fused kernel")
    loglog(ax, "forward time (ms)", "Fig. 4.3 data: forward time")
    ax.set_ylim(0.15, 600)  # room for the 'no point' cross above the highest point
    loglog(ax2, "speedup of Hyena = t_attention / t_Hyena", "Fig. 4.3 data: speedup")
    ax.legend(fontsize=7, loc="upper left")
    ax2.legend(fontsize=7, loc="upper left")
    fig.suptitle("numbers behind the paper's Figure 4.3 (A100, batch 64), as published in "
                 "HazyResearch/safari issue #10", fontsize=9)
    return fig


def memory_figure(results: dict, *, device_gb: float | None = None) -> Figure:
    """Peak memory one call allocates beyond its inputs vs ``L``, both passes (log-log): at fixed
    tokens, flat for flash attention and the FFT convolution, growing for naive attention."""
    _check_results(results)
    total = device_gb if device_gb is not None else results.get("meta", {}).get("gpu_memory_gb")
    fig, axes = new_figure((11.0, 4.0), 1, 2, sharey=True)
    for ax, pass_ in zip(axes, PASSES, strict=True):
        for bench in ("fftconv", "sdpa", "naive", "hyena", "mha"):
            L, mb = _series(results, bench, pass_, key="peak_mem_mb")
            if L:
                ax.plot(L, [m / 1024 for m in mb], **dict(_STYLE[bench], **_MEMORY_STYLE[bench]))
        if total:
            ax.axhline(total / 1.073741824, color="k", lw=0.8, ls=":")
            ax.annotate("device memory", (0.98, total / 1.073741824), fontsize=8, ha="right",
                        xycoords=("axes fraction", "data"), va="bottom")
        loglog(ax, "peak memory of one call (GiB)", pass_)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=3, fontsize=8)
    fig.suptitle(_subtitle(results), fontsize=9)
    return fig


def roofline_figure(results: dict) -> Figure:
    """The roofline with the measured points (left); ``fftconv``'s forward time vs ``L`` beside
    its HBM floor, fp32 compute floor and unfused bytes at full bandwidth (right)."""
    _check_results(results)
    ceil = Ceilings.from_dict(results["ceilings"])
    fig, (ax, ax2) = new_figure((11.5, 4.4), 1, 2)
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
    d = results["meta"]["d_model"]
    e = 2 if results["meta"].get("dtype") in ("bf16", "fp16") else 4  # bytes per element

    def unfused(p: dict) -> int:
        return fftconv_unfused_bytes(p["batch"], d, p["L"], e)

    ax.scatter([p["flops"] / unfused(p) for p in conv],
               [p["flops"] / (p["time_ms"] * 1e-3) / 1e12 for p in conv],
               facecolors="none", edgecolors=_length_colors([p["L"] for p in conv]),
               marker="o", s=25, label="fftconv, counting its unfused bytes")
    ax.set(xscale="log", yscale="log", xlabel="arithmetic intensity (FLOP per byte moved)",
           ylabel="attained TFLOP/s", title=f"roofline, fwd; ridge {ceil.ridge():.0f} FLOP/B")
    ax.legend(fontsize=7, loc="lower right")
    lengths = ScalarMappable(norm=LogNorm(2**10, 2**20), cmap="viridis")  # as _length_colors
    bar = fig.colorbar(lengths, ax=ax, pad=0.01)
    bar.set_label("sequence length L (tokens), marker colour")
    bar.set_ticks([2**p for p in range(10, 21, 2)],
                  labels=[_fmt_length(2**p) for p in range(10, 21, 2)])
    conv = sorted(conv, key=lambda p: p["L"])
    L = [p["L"] for p in conv]
    ax2.plot(L, [p["time_ms"] for p in conv], "o-", color="#0072B2", label="measured")
    ax2.plot(L, [unfused(p) / ceil.bandwidth * 1e3 for p in conv], "--", color="#E69F00",
             label="unfused bytes at full bandwidth")
    ax2.plot(L, [p["flops"] / ceil.fp32_flops * 1e3 for p in conv], ":", color="#555",
             label="fp32 compute floor")
    ax2.plot(L, [p["bytes_floor"] / ceil.bandwidth * 1e3 for p in conv], "-", color="k",
             label="HBM floor (fused: read u, k, write y once)")
    loglog(ax2, "fftconv forward time (ms)", "fftconv: measured vs floors")
    ax2.legend(fontsize=7)
    fig.suptitle(_subtitle(results), fontsize=9)
    return fig


def profile_figure(profiles: dict[str, dict], *, by: str = "ops", top: int = 8) -> Figure:
    """Bars of the ``top`` largest device times per ``{title: profile_call result}``, by PyTorch
    operator (``by="ops"``) or CUDA kernel (``"kernels"``), on a shared time axis."""
    _check_choice(by, ("ops", "kernels"), "by")
    check_positive_int(top, "top")
    if not isinstance(profiles, dict) or not profiles:
        raise ValueError("profiles must be a non-empty dict {title: profile_call result}")
    for title, prof in profiles.items():
        if not isinstance(prof, dict) or by not in prof:
            raise ValueError(f"profile {title!r} is not a profile_call result with {by!r}")
    n = len(profiles)
    fig, axes = new_figure((5.0 * n, 0.32 * top + 1.4), 1, n, sharex=True)
    for ax, (title, prof) in zip(np.atleast_1d(axes), profiles.items(), strict=True):
        rows = prof[by][:top][::-1]
        names = [r["name"].replace("void ", "").replace("at::native::", "")[:40] for r in rows]
        ax.barh(names, [r["ms"] for r in rows], color="#0072B2")
        ax.set_ylim(-0.5, top - 0.5)  # same bar height in every panel
        ax.set(xlabel="device time of one call (ms)",
               title=f"{title}: total {prof.get('total_ms', float('nan')):.1f} ms")
        ax.tick_params(axis="y", labelsize=7)
    return fig


def complexity_figure(
    d_model: int = 768, heads: int = 12, tokens: int = 2**18, order: int = 2,
    fft_bytes_factor: float = 1.0, ceilings: Ceilings | None = None, measured: dict | None = None,
) -> Figure:  # fmt: skip
    """The complexity argument at a fixed number of ``tokens``: FLOPs of an attention layer and an
    order-``N`` Hyena operator vs ``L`` (left) and :func:`~hyena_lab.roofline.layer_time_model`
    of both (right), with the layer-level forward times of ``measured`` if given."""
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
    fig, (ax, ax2) = new_figure((11.0, 4.2), 1, 2)
    ax.plot(L, np.array(f_attn) / 1e12, "s-", color="#D55E00", ms=3, label="attention layer")
    ax.plot(L, np.array(f_hy) / 1e12, "o-", color="#0072B2", ms=3, label=f"Hyena, order {order}")
    conv = [fftconv_cost(b, d_model, n).flops * order / 1e12 for b, n in zip(batch, L, strict=True)]
    ax.plot(L, conv, ":", color="#0072B2", label="  of which FFT convolutions")
    x = crossover_length(L, f_attn, f_hy)
    loglog(ax, "TFLOP per batch (forward)", _cross_title("FLOPs", x))
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
    loglog(ax2, "forward time (ms)",
           _cross_title(f"roofline model, FFT bytes x{fft_bytes_factor:g}", x))
    ax2.legend(fontsize=7)
    fig.suptitle(f"d_model {d_model}, {heads} heads, {tokens} tokens per batch, "
                 f"ceilings of {ceil.device}", fontsize=9)
    return fig


def explore_figure(
    results: dict, level: str = "layer", pass_: str = "fwd", metric: str = "time"
) -> Figure:
    """One panel of the recorded data for a widget: ``metric`` (``"time"``, ``"speedup"`` =
    attention / Hyena, or ``"memory"`` = peak GiB of one call) at ``level`` and ``pass_``."""
    _check_results(results)
    _check_choice(level, LEVELS, "level")
    _check_choice(pass_, PASSES, "pass_")
    _check_choice(metric, METRICS, "metric")
    fig, ax = new_figure((6.6, 4.2))
    if metric == "time":
        _times_axes(ax, results, level, pass_)
    elif metric == "speedup":
        ax.plot(*_speedups(results, level, pass_), "o-", color="#0072B2")
        ax.axhline(1.0, color="k", lw=0.8)
        loglog(ax, "t_attention / t_Hyena", f"{level} level, {pass_}: speedup of Hyena")
    else:
        for bench in COMPARISONS[level]:
            L, mb = _series(results, bench, pass_, key="peak_mem_mb")
            ax.plot(L, [m / 1024 for m in mb], **_STYLE[bench])
        loglog(ax, "peak memory of one call (GiB)", f"{level} level, {pass_}")
        ax.legend(fontsize=7)
    return fig


#: The paper's numbers moved to :mod:`hyena_lab.paper`; still importable from here, with a
#: DeprecationWarning.
__getattr__ = moved(__name__, {"paper_speedups": "hyena_lab.paper"})
