"""Figures of chapter 03 (implicit filters, paper Sec. 3.3 and Appendix D.2-D.3).

Every function here only draws: the filters come from :mod:`hyena_lab.experiments.filters`
(built from the arguments and a seed, the global torch RNG left as it was) or from
:mod:`hyena_lab.spectra`, and a matplotlib ``Figure`` is returned, so the notebook's widgets can
call it on every slider move and the tests can call it headless.

* :func:`filter_bank_figure`: the widget of the chapter: an implicit filter bank in time, its
  decay window, and its magnitude spectra, for given window / sine / encoding hyper-parameters
  (:func:`filter_bank_controls` builds its sliders).
* :func:`positional_encoding_figure`: the features ``PE(t)`` fed to the filter FFN.
* :func:`bands_frequency_figure`: App. D.3: filters at init without the window: a heat map of
  their spectra against the number of bands ``K``, one per sine frequency ``w``, and examples.
* :func:`modulation_figure`: the same FFN output with and without the exponential window.
* :func:`parameterisations_figure`: explicit, SSM, frequency-domain and implicit filters.
* :func:`ssm_figure`: an S4D kernel as a filter, and the recurrence vs convolution check
  (:func:`ssm_controls` builds its sliders).
* :func:`param_count_figure`: parameters against ``L`` for the four parameterisations (the
  implicit one with and without its trainable positional table); :func:`count_label` says a
  bank's count in a title.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..checks import check_positive_int
from ..experiments.filters import implicit_bank, parameterisation_banks, ssm_example, windowed_pair
from ..filters import LongFilter, PositionalEncoding, emb_dim_for_bands
from ..spectra import implicit_init_filters, init_energy_shares, magnitude_spectrum

__all__ = [
    "bands_frequency_figure",
    "count_label",
    "filter_bank_controls",
    "filter_bank_figure",
    "modulation_figure",
    "param_count_figure",
    "parameterisations_figure",
    "positional_encoding_figure",
    "ssm_controls",
    "ssm_figure",
]

#: Names of the parameterisations in figures, in the order the chapter presents them.
LABELS = {
    "explicit": "explicit (free taps)",
    "ssm": "SSM (S4D, diagonal)",
    "frequency": "frequency domain (FNO modes)",
    "implicit": "implicit (Hyena FFN + window)",
    "implicit (z trainable)": "implicit, z trainable (official code)",
}


def _channel_colors(n: int) -> np.ndarray:
    """``n`` colours from fast (dark) to slow (light) decaying channels."""
    import matplotlib as mpl

    return mpl.colormaps["viridis"](np.linspace(0.0, 0.85, n))


def _plot_time(ax: Axes, h: torch.Tensor, title: str) -> None:
    """Draw filters ``h`` ``(channels, L)`` against position ``t``."""
    h = h.detach().double()
    for c, color in enumerate(_channel_colors(h.shape[0])):
        ax.plot(h[c].numpy(), color=color, lw=1.0)
    ax.set_xlabel("position t (samples)")
    ax.set_ylabel("filter value h_t")
    ax.set_title(title)


def _plot_spectrum(ax: Axes, h: torch.Tensor, title: str) -> None:
    """Draw ``|rfft(h)|`` of filters ``(channels, L)`` in dB against the frequency bin."""
    mag = magnitude_spectrum(h)  # (channels, L // 2 + 1)
    db = 20 * torch.log10(mag.clamp_min(1e-12))
    for c, color in enumerate(_channel_colors(h.shape[0])):
        ax.plot(db[c].numpy(), color=color, lw=1.0)
    ax.set_xlabel("frequency bin k (cycles per filter length)")
    ax.set_ylabel("|H(k)| (dB)")
    ax.set_title(title)
    ax.set_ylim(max(float(db.max()) - 80.0, float(db.min())) - 3, float(db.max()) + 5)


def _check_length(L: object, name: str = "L") -> int:
    """Widget lengths: an int >= 2 (a spectrum of one sample says nothing)."""
    return check_positive_int(L, name, minimum=2)


def filter_bank_figure(
    decay_fast: float = 0.3,
    decay_slow: float = 1.5,
    target: float = 1e-2,
    w: float = 1.0,
    bands: int = 8,
    filter_order: int = 64,
    shift: float = 0.0,
    modulate: bool = True,
    L: int = 128,
    seed: int = 0,
    channels: int = 8,
) -> Figure:
    """An implicit Hyena filter bank at initialisation: filters, window, spectra (Sec. 3.3).

    Draws the bank ``ImplicitFilter(channels, L, emb_dim=2 * bands + 1, filter_order, w=w,
    ...)`` built from ``seed`` (:func:`~hyena_lab.experiments.filters.implicit_bank`): (a) the
    ``channels`` filters ``h_t`` against position, (b) their decay windows
    ``exp(-|delta_c| t) + shift`` with the ``target`` level, and (c) their magnitude spectra
    ``|rfft(h)|`` in dB. Channel colour runs from the fastest decay
    (dark) to the slowest (light).

    Args:
        decay_fast, decay_slow: fractions of the sequence over which the fastest / slowest
            channel decays to ``target`` (``fast_decay_pct``, ``slow_decay_pct``).
        target: the value the window reaches there, ``0 < target < 1``.
        w: initial frequency of the sine activation (> 0).
        bands: number ``K`` of positional-encoding frequencies (``emb_dim = 2K + 1``).
        filter_order: width of the filter FFN.
        shift: constant added to the window.
        modulate: apply the window at all.
        L: filter length (>= 2).
        seed: seed of the FFN's initialisation.
        channels: number of filters drawn.

    Raises:
        ValueError / TypeError: for bad values, with the message of the filter's checks.
    """
    L, channels = _check_length(L), check_positive_int(channels, "channels")
    bank = implicit_bank(
        channels, L, seed, emb_dim=emb_dim_for_bands(bands), filter_order=filter_order, w=w,
        modulate=modulate, fast_decay_pct=decay_fast, slow_decay_pct=decay_slow, target=target,
        shift=shift,
    )
    window, t = bank["window"].numpy(), bank["t"].numpy()  # (channels, L), (L,)
    fig = Figure(figsize=(13.0, 3.8), layout="constrained")
    ax_h, ax_w, ax_f = fig.subplots(1, 3)
    _plot_time(ax_h, bank["h"], f"filters h_t (K={bands} bands, w={w:g}, width {filter_order})")
    for c, color in enumerate(_channel_colors(channels)):
        ax_w.plot(t, window[c], color=color, lw=1.0)
    if modulate:
        ax_w.axhline(target + shift, color="0.3", ls="--", lw=1, label=f"target + shift = "
                     f"{target + shift:g}")
        for pct in (decay_fast, decay_slow):
            if pct <= 1:
                ax_w.axvline(pct, color="0.6", ls=":", lw=1)
        ax_w.legend(loc="upper right", fontsize=8)
    ax_w.set_xlabel("normalised time t = position / (L - 1)")
    ax_w.set_ylabel("window value")
    ax_w.set_title("window exp(-|δ_c| t) + shift" if modulate else "window off (ones)")
    _plot_spectrum(ax_f, bank["h"], "magnitude spectra |rfft(h)|")
    return fig


def _link_ordered(low: Any, high: Any) -> None:
    """Keep two slider widgets ordered, ``low.value <= high.value``: moving one past the other
    drags the other along, so a widget can never pass an invalid range to a figure."""

    def keep_order(change: dict[str, Any]) -> None:
        if low.value > high.value:
            if change["owner"] is low:
                high.value = low.value
            else:
                low.value = high.value

    low.observe(keep_order, names="value")
    high.observe(keep_order, names="value")


def filter_bank_controls(l_max: int = 512) -> dict[str, Any]:
    """Widgets for ``interact(filter_bank_figure, **controls)``, one per argument.

    Sliders for the window (``decay_fast``, ``decay_slow``, ``target`` on a log scale,
    ``shift``), the sine frequency ``w``, the number of bands ``K`` (the figure converts it to
    ``emb_dim = 2K + 1``), the FFN width, ``L`` and ``seed``, and a check box for ``modulate``.
    The two decay sliders are linked so that ``decay_fast <= decay_slow`` always holds and the
    figure never sees an invalid pair.
    """
    import ipywidgets as widgets

    l_max = check_positive_int(l_max, "l_max", minimum=16)
    style = {"description_width": "initial"}
    fast = widgets.FloatSlider(value=0.3, min=0.01, max=3.0, step=0.01,
                               description="decay_fast (fraction of L)", style=style)
    slow = widgets.FloatSlider(value=1.5, min=0.01, max=3.0, step=0.01,
                               description="decay_slow (fraction of L)", style=style)

    _link_ordered(fast, slow)
    return {
        "decay_fast": fast,
        "decay_slow": slow,
        "target": widgets.FloatLogSlider(value=1e-2, base=10, min=-4, max=-0.05, step=0.05,
                                         description="target", style=style),
        "w": widgets.FloatLogSlider(value=1.0, base=10, min=-1, max=1.5, step=0.05,
                                    description="sine frequency w", style=style),
        "bands": widgets.IntSlider(value=8, min=1, max=64, description="bands K", style=style),
        "filter_order": widgets.IntSlider(value=64, min=4, max=128, step=4,
                                          description="FFN width", style=style),
        "shift": widgets.FloatSlider(value=0.0, min=-0.5, max=0.5, step=0.01,
                                     description="shift", style=style),
        "modulate": widgets.Checkbox(value=True, description="window on"),
        "L": widgets.IntSlider(value=min(128, l_max), min=16, max=l_max, step=16,
                               description="L", style=style),
        "seed": widgets.IntSlider(value=0, min=0, max=9, description="seed"),
        "channels": widgets.fixed(8),
    }


def ssm_controls(l_max: int = 1024) -> dict[str, Any]:
    """Widgets for ``interact(ssm_figure, **controls)``: state size, ``dt`` range (log
    sliders, linked so that ``dt_min <= dt_max``), discretisation, ``L`` and ``seed``."""
    import ipywidgets as widgets

    l_max = check_positive_int(l_max, "l_max", minimum=16)
    style = {"description_width": "initial"}
    dt_min = widgets.FloatLogSlider(value=1e-3, base=10, min=-4, max=0, step=0.1,
                                    description="dt_min", style=style)
    dt_max = widgets.FloatLogSlider(value=1e-1, base=10, min=-4, max=0, step=0.1,
                                    description="dt_max", style=style)

    _link_ordered(dt_min, dt_max)
    return {
        "d_state": widgets.IntSlider(value=16, min=2, max=128, step=2, description="d_state",
                                     style=style),
        "dt_min": dt_min,
        "dt_max": dt_max,
        "discretization": widgets.Dropdown(options=["zoh", "bilinear"], value="zoh",
                                           description="discretisation", style=style),
        "L": widgets.IntSlider(value=min(256, l_max), min=16, max=l_max, step=16,
                               description="L", style=style),
        "channels": widgets.fixed(4),
        "seed": widgets.IntSlider(value=0, min=0, max=9, description="seed"),
    }


def positional_encoding_figure(bands: int = 4, L: int = 128) -> Figure:
    """The features ``PE(t) = [t, Re rho_k, Im rho_k]`` of the filter FFN (App. D.3).

    Left: each feature against position (``t``, then the cosine and sine of each band ``k``,
    ``rho_k = exp(-i f_k 2 pi n / L)``); right: the whole ``(emb_dim, L)`` matrix as an image.
    """
    L = _check_length(L)
    pe = PositionalEncoding(emb_dim_for_bands(bands), L, learnable=False)
    z = pe.z.double()  # (L, emb_dim)
    fig = Figure(figsize=(12.0, 3.8), layout="constrained")
    ax_l, ax_r = fig.subplots(1, 2)
    ax_l.plot(z[:, 0].numpy(), color="k", lw=1.5, label="t")
    colors = _channel_colors(bands)
    for k in range(min(bands, 4)):
        ax_l.plot(z[:, 1 + k].numpy(), color=colors[k], lw=1, label=f"Re ρ_{k}")
        ax_l.plot(z[:, 1 + bands + k].numpy(), color=colors[k], lw=1, ls="--", label=f"Im ρ_{k}")
    ax_l.set_xlabel("position n (samples)")
    ax_l.set_ylabel("feature value")
    shown = "" if bands <= 4 else f" (first 4 of {bands} bands)"
    ax_l.set_title(f"positional encoding, K={bands}{shown}")
    ax_l.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    im = ax_r.imshow(z.T.numpy(), aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1,
                     interpolation="nearest")
    ax_r.set_xlabel("position n (samples)")
    ax_r.set_ylabel("feature index (t, Re ρ_k, Im ρ_k)")
    ax_r.set_title(f"PE as a matrix, emb_dim = 2K + 1 = {2 * bands + 1}")
    ax_r.grid(False)
    fig.colorbar(im, ax=ax_r, fraction=0.046, pad=0.04)
    return fig


def bands_frequency_figure(
    bands: Sequence[int] = (2, 4, 8, 16, 32, 64),
    ws: Sequence[float] = (1.0, 10.0),
    L: int = 128,
    channels: int = 64,
    example_bands: int = 8,
    shown: int = 4,
    seed: int = 0,
) -> Figure:
    """App. D.3: implicit filters at initialisation, *without* the window, in frequency and time.

    Top row, one heat map per sine frequency ``w``: for each number of bands ``K`` (rows), the
    share of the spectral energy of ``channels`` filters of length ``L`` in each rfft bin
    (columns, pooled over the filters, in dB), with the edge of the 99% band (bins
    ``0 .. b-1`` hold 99% of the energy, :func:`~hyena_lab.filters.spectral_cutoff`) and the
    edge of bins ``< K`` marked on every row. Bottom row: ``shown`` of the filters for
    ``K = example_bands``, one panel per ``w``. With ``w = 1`` the filters are low-pass, with
    their energy in bins ``< K``; with ``w = 10`` it spreads over the whole spectrum.
    """
    L, channels = _check_length(L), check_positive_int(channels, "channels")
    shown = check_positive_int(shown, "shown")
    if not bands or not ws:
        raise ValueError("bands and ws must each hold at least one value")
    bands = [check_positive_int(K, "bands") for K in bands]
    n_bins = L // 2 + 1
    top = 1.0 + 0.45 * len(bands)  # inches: the heat maps grow with the number of K values
    fig = Figure(figsize=(6.0 * len(ws), top + 2.8), layout="constrained")
    grid = fig.add_gridspec(2, len(ws), height_ratios=[top, 2.8])
    floor_db = -60.0  # shares below 1e-6 of the energy are drawn as the floor
    maps = []
    for j, w in enumerate(ws):
        ax = fig.add_subplot(grid[0, j])
        maps.append(ax)
        share, edges = init_energy_shares(bands, w, L, channels, seed)  # (len(bands), n_bins)
        share = share.numpy()
        db = 10 * np.log10(np.maximum(share, 10 ** (floor_db / 10)))
        image = ax.imshow(db, aspect="auto", cmap="magma", vmin=floor_db, vmax=0.0,
                          interpolation="nearest",
                          extent=(-0.5, n_bins - 0.5, len(bands) - 0.5, -0.5))
        rows = np.arange(len(bands))
        ax.plot(np.minimum(bands, n_bins) - 0.5, rows, ls="none", marker="|", ms=22, mew=2.5,
                color="#56B4E9", label="edge of bins 0..K-1 (the K bands' frequencies)")
        outline = [patheffects.withStroke(linewidth=3.5, foreground="black")]
        ax.plot(np.array(edges) - 0.5, rows, ls="none", marker="|", ms=12, mew=1.5,
                color="white", path_effects=outline,
                label="edge of the 99% band: bins 0..b-1 hold 99% of the energy")
        ax.set_xlim(-0.5, n_bins + 0.5)  # room for an edge after the last bin (b = n_bins)
        ax.set_yticks(rows, [str(K) for K in bands])
        ax.set_ylabel("bands K (emb_dim = 2K + 1)")
        ax.set_xlabel(f"frequency bin k (cycles per filter length; {n_bins} bins, 0..{n_bins - 1})")
        ax.set_title(f"w = {w:g}: energy share per bin, {channels} filters, L = {L}")
        ax.grid(False)
        ax_t = fig.add_subplot(grid[1, j])
        h = implicit_init_filters(example_bands, w, L, channels, seed)
        _plot_time(ax_t, h[:shown], f"w = {w:g}, K = {example_bands}: {shown} of the filters")
    fig.colorbar(image, ax=maps, label="share of the energy in the bin (dB)", shrink=0.9)
    fig.legend(*maps[0].get_legend_handles_labels(), loc="outside upper center", ncol=2,
               fontsize=9)
    return fig


def modulation_figure(
    L: int = 256,
    channels: int = 6,
    w: float = 10.0,
    bands: int = 8,
    fast_decay_pct: float = 0.3,
    slow_decay_pct: float = 1.5,
    target: float = 1e-2,
    shift: float = 0.0,
    seed: int = 0,
) -> Figure:
    """What the exponential window does (Sec. 3.3, eq. 7): one FFN, with and without it.

    Top: the raw FFN output ``FFN(PE(t))`` and the windows per channel (log scale, with the
    ``target`` level). Bottom: the windowed filters and the mean power spectrum of both banks
    (windowing smooths the spectrum: multiplying by a decaying exponential convolves the
    spectrum with a Lorentzian-like bump, and biases the filter towards recent inputs).
    """
    L, channels = _check_length(L), check_positive_int(channels, "channels")
    pair = windowed_pair(channels, L, seed, emb_dim=emb_dim_for_bands(bands), w=w,
                         fast_decay_pct=fast_decay_pct, slow_decay_pct=slow_decay_pct,
                         target=target, shift=shift)  # fmt: skip
    h_on, h_off, window = pair["h_on"], pair["h_off"], pair["window"]  # (channels, L) each
    fig = Figure(figsize=(12.0, 7.0), layout="constrained")
    (ax_raw, ax_win), (ax_mod, ax_spec) = fig.subplots(2, 2)
    _plot_time(ax_raw, h_off, "FFN(PE(t)): no window")
    for c, color in enumerate(_channel_colors(channels)):
        ax_win.plot(pair["t"].numpy(), window[c].numpy(), color=color, lw=1.0)
    ax_win.axhline(target + shift, color="0.3", ls="--", lw=1, label="target + shift")
    ax_win.set_yscale("log")
    ax_win.set_xlabel("normalised time t")
    ax_win.set_ylabel("window value (log scale)")
    ax_win.set_title(f"windows: reach target at t = {fast_decay_pct:g} ... {slow_decay_pct:g}")
    ax_win.legend(fontsize=8)
    _plot_time(ax_mod, h_on, "Window(t) * FFN(PE(t))")
    for h, label, color in ((h_off, "no window", "C1"), (h_on, "with window", "C0")):
        power = (magnitude_spectrum(h) ** 2).mean(dim=0)
        ax_spec.plot((10 * torch.log10(power.clamp_min(1e-24))).numpy(), color=color, label=label)
    ax_spec.set_xlabel("frequency bin k")
    ax_spec.set_ylabel("mean |H(k)|² (dB)")
    ax_spec.set_title("power spectrum, mean over channels")
    ax_spec.legend(fontsize=8)
    return fig


def count_label(filt: LongFilter) -> str:
    """The trainable-parameter count of a filter bank as a figure states it, e.g. ``"387
    params"``; for an implicit filter with a trainable positional table ``z``, split into the
    FFN's part and the table's, ``"8,832 FFN + 768 z = 9,600 params"``."""
    z = getattr(getattr(filt, "pos_emb", None), "z", None)
    if isinstance(z, torch.nn.Parameter) and z.requires_grad:
        ffn = filt.num_params - z.numel()
        return f"{ffn:,} FFN + {z.numel():,} z = {filt.num_params:,} params"
    return f"{filt.num_params:,} params"


def parameterisations_figure(L: int = 256, channels: int = 3, seed: int = 0) -> Figure:
    """The four parameterisations of :data:`hyena_lab.filters.FILTERS` at init, time + spectrum.

    One row each (explicit, SSM, frequency, implicit with default hyper-parameters and
    ``l_max = L``), with the parameter count of the bank in the title (:func:`count_label`: the
    implicit filter's FFN is shared by all channels, so its count is not proportional to
    ``channels``, and its trainable positional table ``z``, ``emb_dim * L``, is shown apart).
    """
    L, channels = _check_length(L), check_positive_int(channels, "channels")
    kinds = ["explicit", "ssm", "frequency", "implicit"]
    fig = Figure(figsize=(11.0, 2.6 * len(kinds)), layout="constrained")
    axes = fig.subplots(len(kinds), 2)
    banks = parameterisation_banks(L, channels, seed)
    for row, kind in zip(axes, kinds, strict=True):
        filt = banks[kind]
        with torch.no_grad():
            h = filt(L)
        _plot_time(row[0], h, f"{LABELS[kind]}: {count_label(filt)} for {channels} filters")
        _plot_spectrum(row[1], h, f"{LABELS[kind]}: spectrum")
    return fig


def ssm_figure(
    d_state: int = 16,
    dt_min: float = 1e-3,
    dt_max: float = 1e-1,
    discretization: str = "zoh",
    L: int = 256,
    channels: int = 4,
    seed: int = 0,
) -> Figure:
    """An S4D state-space model seen as a long filter (S4 -> H3 -> Hyena).

    (a) the kernels ``K_t = 2 Re(C A_bar^t B_bar)`` of ``channels`` channels; (b) their magnitude
    spectra; (c) for one random input, the output of the recurrence (run step by step in
    float64) on top of the output of ``fftconv(u, K)``, with their relative difference.
    """
    L, channels = _check_length(L), check_positive_int(channels, "channels")
    ex = ssm_example(channels, L, seed, d_state=d_state, dt_min=dt_min, dt_max=dt_max,
                     discretization=discretization)  # fmt: skip
    k, y_rec, y_conv, dts = ex["kernel"], ex["y_rec"], ex["y_conv"], ex["dt"]
    fig = Figure(figsize=(13.0, 3.8), layout="constrained")
    ax_k, ax_f, ax_y = fig.subplots(1, 3)
    _plot_time(ax_k, k, f"S4D kernels (state {d_state}, {discretization}), "
                        f"dt {float(dts.min()):.1e}..{float(dts.max()):.1e}")
    _plot_spectrum(ax_f, k, "magnitude spectra of the kernels")
    ax_y.plot(y_rec[0, 0].numpy(), color="C0", lw=2.5, alpha=0.5,
              label="recurrence x_t = Ā x_{t-1} + B̄ u_t")
    ax_y.plot(y_conv[0, 0].numpy(), color="C1", lw=1.0, ls="--", label="fftconv(u, K)")
    ax_y.set_xlabel("position t (samples)")
    ax_y.set_ylabel("output y_t (channel 0)")
    ax_y.set_title(f"same output: relative difference {ex['rel_err']:.1e}")
    ax_y.legend(fontsize=8, loc="lower left")
    return fig


def param_count_figure(lengths: Sequence[int], counts: dict[str, Sequence[int]],
                       channels: int) -> Figure:
    """Parameters of each parameterisation against the filter length ``L`` (log-log).

    ``counts`` is what :func:`hyena_lab.spectra.parameter_counts` returns for ``lengths`` (the
    ``"counts"`` of a ``param-count`` record).
    """
    if not lengths:
        raise ValueError("lengths must hold at least one value")
    for name, values in counts.items():
        if len(values) != len(lengths):
            raise ValueError(
                f"counts[{name!r}] has {len(values)} values for {len(lengths)} lengths"
            )
    fig = Figure(figsize=(7.0, 4.4), layout="constrained")
    ax = fig.add_subplot()
    styles = {"explicit": "o-", "ssm": "s-", "frequency": "^-", "implicit": "D-",
              "implicit (z trainable)": "D:"}
    labels = {**LABELS, "implicit": "implicit, FFN only: z fixed (the paper's count)"}
    for name, values in counts.items():
        ax.plot(lengths, values, styles.get(name, "x-"), ms=4, label=labels.get(name, name))
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("filter length L = l_max (samples)")
    ax.set_ylabel("trainable parameters")
    ax.set_title(f"parameters of a bank of {channels} filters")
    ax.legend(fontsize=8)
    return fig


