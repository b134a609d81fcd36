"""Figures and widget controls of chapter 03, implicit filters (Sec. 3.3, App. D.2-D.3): they
draw the seeded filters of :mod:`hyena_lab.experiments.filters` and :mod:`hyena_lab.spectra`.
Channel colours run from the fastest decay (dark) to the slowest (light)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from matplotlib import colormaps, patheffects
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..checks import check_positive_int
from ..experiments.filters import implicit_bank, parameterisation_banks, ssm_example, windowed_pair
from ..filters import LongFilter, PositionalEncoding, emb_dim_for_bands
from ..spectra import implicit_init_filters, init_energy_shares, magnitude_spectrum
from . import loglog, new_figure

__all__ = [
    "bands_frequency_figure", "count_label", "filter_bank_controls", "filter_bank_figure",
    "modulation_figure", "param_count_figure", "parameterisations_figure",
    "positional_encoding_figure", "ssm_controls", "ssm_figure",
]  # fmt: skip

#: Names of the parameterisations in figures, in the order the chapter presents them.
LABELS = {
    "explicit": "explicit (free taps)",
    "ssm": "SSM (S4D, diagonal)",
    "frequency": "frequency domain (FNO modes)",
    "implicit": "implicit (Hyena FFN + window)",
    "implicit (z trainable)": "implicit, z trainable (official code)",
}


def _sizes(L: object, channels: object) -> tuple[int, int]:
    """Length (>= 2: a spectrum of one sample says nothing) and channels of a figure."""
    return check_positive_int(L, "L", minimum=2), check_positive_int(channels, "channels")


def _colors(n: int) -> np.ndarray:
    """``n`` colours from fast (dark) to slow (light) decaying channels."""
    return colormaps["viridis"](np.linspace(0.0, 0.85, n))


def _per_channel(ax: Axes, ys: np.ndarray, x: np.ndarray | None = None) -> None:
    """One line per row of ``ys`` ``(channels, n)``, against ``x`` if given."""
    for y, color in zip(ys, _colors(len(ys)), strict=True):
        ax.plot(*(() if x is None else (x,)), y, color=color, lw=1.0)


def _plot_time(ax: Axes, h: torch.Tensor, title: str) -> None:
    """Filters ``h`` ``(channels, L)`` against position ``t``."""
    _per_channel(ax, h.detach().double().numpy())
    ax.set(xlabel="position t (samples)", ylabel="filter value h_t", title=title)


def _plot_spectrum(ax: Axes, h: torch.Tensor, title: str) -> None:
    """``|rfft(h)|`` of filters ``(channels, L)`` in dB against the frequency bin."""
    db = 20 * torch.log10(magnitude_spectrum(h).clamp_min(1e-12))  # (channels, L // 2 + 1)
    _per_channel(ax, db.numpy())
    ax.set(xlabel="frequency bin k (cycles per filter length)", ylabel="|H(k)| (dB)", title=title)
    ax.set_ylim(max(float(db.max()) - 80.0, float(db.min())) - 3, float(db.max()) + 5)


def filter_bank_figure(
    decay_fast: float = 0.3, decay_slow: float = 1.5, target: float = 1e-2, w: float = 1.0,
    bands: int = 8, filter_order: int = 64, shift: float = 0.0, modulate: bool = True,
    L: int = 128, seed: int = 0, channels: int = 8,
) -> Figure:  # fmt: skip
    """The chapter's widget: an implicit bank at init (Sec. 3.3), ``emb_dim = 2 * bands + 1``, with
    (a) its filters, (b) its windows ``exp(-|delta_c| t) + shift``, reaching ``target`` at the
    fractions ``decay_fast`` / ``decay_slow`` of the sequence, (c) its spectra in dB."""
    L, channels = _sizes(L, channels)
    bank = implicit_bank(
        channels, L, seed, emb_dim=emb_dim_for_bands(bands), filter_order=filter_order, w=w,
        modulate=modulate, fast_decay_pct=decay_fast, slow_decay_pct=decay_slow, target=target,
        shift=shift,
    )
    fig, (ax_h, ax_w, ax_f) = new_figure((13.0, 3.8), 1, 3)
    _plot_time(ax_h, bank["h"], f"filters h_t (K={bands} bands, w={w:g}, width {filter_order})")
    _per_channel(ax_w, bank["window"].numpy(), bank["t"].numpy())  # (channels, L), (L,)
    if modulate:
        ax_w.axhline(target + shift, color="0.3", ls="--", lw=1, label=f"target + shift = "
                     f"{target + shift:g}")
        for pct in (decay_fast, decay_slow):
            if pct <= 1:
                ax_w.axvline(pct, color="0.6", ls=":", lw=1)
        ax_w.legend(loc="upper right", fontsize=8)
    ax_w.set(xlabel="normalised time t = position / (L - 1)", ylabel="window value",
             title="window exp(-|δ_c| t) + shift" if modulate else "window off (ones)")
    _plot_spectrum(ax_f, bank["h"], "magnitude spectra |rfft(h)|")
    return fig


def _ordered_pair(low: Any, high: Any) -> tuple[Any, Any]:
    """Link two sliders so that ``low.value <= high.value``: one moved past the other drags it."""

    def keep_order(change: dict[str, Any]) -> None:
        if low.value > high.value:
            if change["owner"] is low:
                high.value = low.value
            else:
                low.value = high.value

    low.observe(keep_order, names="value")
    high.observe(keep_order, names="value")
    return low, high


def _widget(kind: str, description: str, **kw: Any) -> Any:
    """An ipywidgets ``kind`` (``"IntSlider"`` ...) whose description is shown in full."""
    import ipywidgets as widgets

    return getattr(widgets, kind)(description=description,
                                  style={"description_width": "initial"}, **kw)


def filter_bank_controls(l_max: int = 512) -> dict[str, Any]:
    """Widgets for ``interact(filter_bank_figure, **controls)`` (``decay_fast <= decay_slow``)."""
    import ipywidgets as widgets

    l_max = check_positive_int(l_max, "l_max", minimum=16)
    fast, slow = _ordered_pair(*(
        _widget("FloatSlider", f"decay_{which} (fraction of L)", value=value, min=0.01, max=3.0,
                step=0.01) for which, value in (("fast", 0.3), ("slow", 1.5))))  # fmt: skip
    return {
        "decay_fast": fast,
        "decay_slow": slow,
        "target": _widget("FloatLogSlider", "target", value=1e-2, base=10, min=-4, max=-0.05,
                          step=0.05),
        "w": _widget("FloatLogSlider", "sine frequency w", value=1.0, base=10, min=-1, max=1.5,
                     step=0.05),
        "bands": _widget("IntSlider", "bands K", value=8, min=1, max=64),
        "filter_order": _widget("IntSlider", "FFN width", value=64, min=4, max=128, step=4),
        "shift": _widget("FloatSlider", "shift", value=0.0, min=-0.5, max=0.5, step=0.01),
        "modulate": widgets.Checkbox(value=True, description="window on"),
        "L": _widget("IntSlider", "L", value=min(128, l_max), min=16, max=l_max, step=16),
        "seed": widgets.IntSlider(value=0, min=0, max=9, description="seed"),
        "channels": widgets.fixed(8),
    }


def ssm_controls(l_max: int = 1024) -> dict[str, Any]:
    """Widgets for ``interact(ssm_figure, **controls)`` (``dt_min <= dt_max``)."""
    import ipywidgets as widgets

    l_max = check_positive_int(l_max, "l_max", minimum=16)
    dt_min, dt_max = _ordered_pair(*(
        _widget("FloatLogSlider", name, value=value, base=10, min=-4, max=0, step=0.1)
        for name, value in (("dt_min", 1e-3), ("dt_max", 1e-1))))  # fmt: skip
    return {
        "d_state": _widget("IntSlider", "d_state", value=16, min=2, max=128, step=2),
        "dt_min": dt_min,
        "dt_max": dt_max,
        "discretization": _widget("Dropdown", "discretisation", options=["zoh", "bilinear"],
                                  value="zoh"),
        "L": _widget("IntSlider", "L", value=min(256, l_max), min=16, max=l_max, step=16),
        "channels": widgets.fixed(4),
        "seed": widgets.IntSlider(value=0, min=0, max=9, description="seed"),
    }


def positional_encoding_figure(bands: int = 4, L: int = 128) -> Figure:
    """The filter FFN's features ``PE(t) = [t, Re rho_k, Im rho_k]`` (App. D.3), against position
    and as a matrix."""
    L = check_positive_int(L, "L", minimum=2)
    z = PositionalEncoding(emb_dim_for_bands(bands), L, learnable=False).z.double()  # (L, emb)
    fig, (ax_l, ax_r) = new_figure((12.0, 3.8), 1, 2)
    ax_l.plot(z[:, 0].numpy(), color="k", lw=1.5, label="t")
    colors = _colors(bands)
    for k in range(min(bands, 4)):
        ax_l.plot(z[:, 1 + k].numpy(), color=colors[k], lw=1, label=f"Re ρ_{k}")
        ax_l.plot(z[:, 1 + bands + k].numpy(), color=colors[k], lw=1, ls="--", label=f"Im ρ_{k}")
    shown = "" if bands <= 4 else f" (first 4 of {bands} bands)"
    ax_l.set(xlabel="position n (samples)", ylabel="feature value",
             title=f"positional encoding, K={bands}{shown}")
    ax_l.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    im = ax_r.imshow(z.T.numpy(), aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1,
                     interpolation="nearest")
    ax_r.set(xlabel="position n (samples)", ylabel="feature index (t, Re ρ_k, Im ρ_k)",
             title=f"PE as a matrix, emb_dim = 2K + 1 = {2 * bands + 1}")
    ax_r.grid(False)
    fig.colorbar(im, ax=ax_r, fraction=0.046, pad=0.04)
    return fig


def bands_frequency_figure(
    bands: Sequence[int] = (2, 4, 8, 16, 32, 64), ws: Sequence[float] = (1.0, 10.0),
    L: int = 128, channels: int = 64, example_bands: int = 8, shown: int = 4, seed: int = 0,
) -> Figure:  # fmt: skip
    """App. D.3, filters at init without the window: per sine frequency ``w``, the energy share
    per rfft bin for each number of bands ``K`` (edges of the 99% band and of bins ``< K``
    marked), and ``shown`` filters for ``K = example_bands``."""
    L, channels = _sizes(L, channels)
    shown = check_positive_int(shown, "shown")
    if not bands or not ws:
        raise ValueError("bands and ws must each hold at least one value")
    bands = [check_positive_int(K, "bands") for K in bands]
    n_bins, rows = L // 2 + 1, np.arange(len(bands))
    top = 1.0 + 0.45 * len(bands)  # inches: the heat maps grow with the number of K values
    fig = Figure(figsize=(6.0 * len(ws), top + 2.8), layout="constrained")
    grid = fig.add_gridspec(2, len(ws), height_ratios=[top, 2.8])
    floor_db = -60.0  # shares below 1e-6 of the energy are drawn as the floor
    outline = [patheffects.withStroke(linewidth=3.5, foreground="black")]
    maps = []
    for j, w in enumerate(ws):
        ax = fig.add_subplot(grid[0, j])
        maps.append(ax)
        share, edges = init_energy_shares(bands, w, L, channels, seed)  # (len(bands), n_bins)
        db = 10 * np.log10(np.maximum(share.numpy(), 10 ** (floor_db / 10)))
        image = ax.imshow(db, aspect="auto", cmap="magma", vmin=floor_db, vmax=0.0,
                          interpolation="nearest",
                          extent=(-0.5, n_bins - 0.5, len(bands) - 0.5, -0.5))
        ax.plot(np.minimum(bands, n_bins) - 0.5, rows, ls="none", marker="|", ms=22, mew=2.5,
                color="#56B4E9", label="edge of bins 0..K-1 (the K bands' frequencies)")
        ax.plot(np.array(edges) - 0.5, rows, ls="none", marker="|", ms=12, mew=1.5,
                color="white", path_effects=outline,
                label="edge of the 99% band: bins 0..b-1 hold 99% of the energy")
        ax.set_xlim(-0.5, n_bins + 0.5)  # room for an edge after the last bin (b = n_bins)
        ax.set_yticks(rows, [str(K) for K in bands])
        ax.set(ylabel="bands K (emb_dim = 2K + 1)",
               xlabel=f"frequency bin k (cycles per filter length; {n_bins} bins, 0..{n_bins - 1})",
               title=f"w = {w:g}: energy share per bin, {channels} filters, L = {L}")
        ax.grid(False)
        h = implicit_init_filters(example_bands, w, L, channels, seed)
        _plot_time(fig.add_subplot(grid[1, j]), h[:shown],
                   f"w = {w:g}, K = {example_bands}: {shown} of the filters")
    fig.colorbar(image, ax=maps, label="share of the energy in the bin (dB)", shrink=0.9)
    fig.legend(*maps[0].get_legend_handles_labels(), loc="outside upper center", ncol=2,
               fontsize=9)
    return fig


def modulation_figure(
    L: int = 256, channels: int = 6, w: float = 10.0, bands: int = 8,
    fast_decay_pct: float = 0.3, slow_decay_pct: float = 1.5, target: float = 1e-2,
    shift: float = 0.0, seed: int = 0,
) -> Figure:  # fmt: skip
    """What the window does (Sec. 3.3, eq. 7): the raw ``FFN(PE(t))``, the windows, the windowed
    filters, and the mean power spectra of both banks."""
    L, channels = _sizes(L, channels)
    pair = windowed_pair(channels, L, seed, emb_dim=emb_dim_for_bands(bands), w=w,
                         fast_decay_pct=fast_decay_pct, slow_decay_pct=slow_decay_pct,
                         target=target, shift=shift)  # fmt: skip
    h_on, h_off = pair["h_on"], pair["h_off"]  # (channels, L) each
    fig, ((ax_raw, ax_win), (ax_mod, ax_spec)) = new_figure((12.0, 7.0), 2, 2)
    _plot_time(ax_raw, h_off, "FFN(PE(t)): no window")
    _per_channel(ax_win, pair["window"].numpy(), pair["t"].numpy())
    ax_win.axhline(target + shift, color="0.3", ls="--", lw=1, label="target + shift")
    ax_win.set_yscale("log")
    ax_win.set(xlabel="normalised time t", ylabel="window value (log scale)",
               title=f"windows: reach target at t = {fast_decay_pct:g} ... {slow_decay_pct:g}")
    ax_win.legend(fontsize=8)
    _plot_time(ax_mod, h_on, "Window(t) * FFN(PE(t))")
    for h, label, color in ((h_off, "no window", "C1"), (h_on, "with window", "C0")):
        power = (magnitude_spectrum(h) ** 2).mean(dim=0)
        ax_spec.plot((10 * torch.log10(power.clamp_min(1e-24))).numpy(), color=color, label=label)
    ax_spec.set(xlabel="frequency bin k", ylabel="mean |H(k)|² (dB)",
                title="power spectrum, mean over channels")
    ax_spec.legend(fontsize=8)
    return fig


def count_label(filt: LongFilter) -> str:
    """A bank's trainable parameters, ``"387 params"``, or with a trainable positional table
    ``"8,832 FFN + 768 z = 9,600 params"``."""
    z = getattr(getattr(filt, "pos_emb", None), "z", None)
    if isinstance(z, torch.nn.Parameter) and z.requires_grad:
        ffn = filt.num_params - z.numel()
        return f"{ffn:,} FFN + {z.numel():,} z = {filt.num_params:,} params"
    return f"{filt.num_params:,} params"


def parameterisations_figure(L: int = 256, channels: int = 3, seed: int = 0) -> Figure:
    """The four parameterisations of :data:`hyena_lab.filters.FILTERS` at init (time, spectrum),
    each titled with its :func:`count_label`."""
    L, channels = _sizes(L, channels)
    kinds = ["explicit", "ssm", "frequency", "implicit"]
    fig, axes = new_figure((11.0, 2.6 * len(kinds)), len(kinds), 2)
    banks = parameterisation_banks(L, channels, seed)
    for row, kind in zip(axes, kinds, strict=True):
        with torch.no_grad():
            h = banks[kind](L)
        _plot_time(row[0], h, f"{LABELS[kind]}: {count_label(banks[kind])} for {channels} filters")
        _plot_spectrum(row[1], h, f"{LABELS[kind]}: spectrum")
    return fig


def ssm_figure(d_state: int = 16, dt_min: float = 1e-3, dt_max: float = 1e-1,
               discretization: str = "zoh", L: int = 256, channels: int = 4,
               seed: int = 0) -> Figure:  # fmt: skip
    """An S4D model as a long filter: its kernels ``K_t = 2 Re(C A_bar^t B_bar)``, their spectra,
    and its recurrence on top of ``fftconv(u, K)`` for one input."""
    L, channels = _sizes(L, channels)
    ex = ssm_example(channels, L, seed, d_state=d_state, dt_min=dt_min, dt_max=dt_max,
                     discretization=discretization)  # fmt: skip
    fig, (ax_k, ax_f, ax_y) = new_figure((13.0, 3.8), 1, 3)
    _plot_time(ax_k, ex["kernel"], f"S4D kernels (state {d_state}, {discretization}), "
                                   f"dt {float(ex['dt'].min()):.1e}..{float(ex['dt'].max()):.1e}")
    _plot_spectrum(ax_f, ex["kernel"], "magnitude spectra of the kernels")
    ax_y.plot(ex["y_rec"][0, 0].numpy(), color="C0", lw=2.5, alpha=0.5,
              label="recurrence x_t = Ā x_{t-1} + B̄ u_t")
    ax_y.plot(ex["y_conv"][0, 0].numpy(), color="C1", lw=1.0, ls="--", label="fftconv(u, K)")
    ax_y.set(xlabel="position t (samples)", ylabel="output y_t (channel 0)",
             title=f"same output: relative difference {ex['rel_err']:.1e}")
    ax_y.legend(fontsize=8, loc="lower left")
    return fig


def param_count_figure(lengths: Sequence[int], counts: dict[str, Sequence[int]],
                       channels: int) -> Figure:
    """Parameters against ``L`` (log-log); ``counts`` from ``spectra.parameter_counts``."""
    if not lengths:
        raise ValueError("lengths must hold at least one value")
    for name, values in counts.items():
        if len(values) != len(lengths):
            raise ValueError(f"counts[{name!r}] has {len(values)} values for {len(lengths)} "
                             "lengths")
    fig, ax = new_figure((7.0, 4.4))
    styles = {"explicit": "o-", "ssm": "s-", "frequency": "^-", "implicit": "D-",
              "implicit (z trainable)": "D:"}
    labels = {**LABELS, "implicit": "implicit, FFN only: z fixed (the paper's count)"}
    for name, values in counts.items():
        ax.plot(lengths, values, styles.get(name, "x-"), ms=4, label=labels.get(name, name))
    loglog(ax, "trainable parameters", f"parameters of a bank of {channels} filters",
           xlabel="filter length L = l_max (samples)")
    ax.legend(fontsize=8)
    return fig
