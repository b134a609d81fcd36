"""Filters measured in the frequency domain, and parameter counts (paper Sec. 3.3, App. D.3).

Pure functions of the filter banks of :mod:`hyena_lab.filters` (no clock, no files):
:func:`magnitude_spectrum`, :func:`energy_fractions`, :func:`high_frequency_fraction` and
:func:`spectral_cutoff` measure filters ``(..., L)`` in rfft bins (bin ``k`` is ``k`` cycles per
filter length); :func:`implicit_init_filters` builds the implicit filters at initialisation
without their window (App. D.3), :func:`implicit_init_spectra` tabulates their 99% band and
high-frequency energy against the number of bands ``K`` and the sine frequency ``w``, and
:func:`init_energy_shares` gives their energy per bin; :func:`parameter_counts` counts the
trainable parameters of each parameterisation against ``L`` and :func:`implicit_param_count`
gives the implicit filter's count in closed form. Every name is also importable from
:mod:`hyena_lab.filters`, where it lived before.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .checks import check_float, check_min_ndim, check_positive_float, check_positive_int
from .filters import FILTERS, ImplicitFilter, emb_dim_for_bands, make_filter, seeded

__all__ = [
    "energy_fractions",
    "high_frequency_fraction",
    "implicit_init_filters",
    "implicit_init_spectra",
    "implicit_param_count",
    "init_energy_shares",
    "magnitude_spectrum",
    "parameter_counts",
    "spectral_cutoff",
]


def magnitude_spectrum(h: torch.Tensor) -> torch.Tensor:
    """``|rfft(h)|`` over the last axis: ``(..., L) -> (..., L // 2 + 1)``.

    Bin ``k`` is the frequency ``k / L`` cycles per sample (``k`` cycles over the filter).
    """
    check_float(h, "h")
    check_min_ndim(h, "h", 1, "(..., L)")
    return torch.fft.rfft(h.detach().double(), dim=-1).abs()


def _energy_per_bin(h: torch.Tensor) -> torch.Tensor:
    """Spectral energy ``|rfft(h)|^2`` per bin, pooled over every filter, ``(L // 2 + 1,)``."""
    power = magnitude_spectrum(h) ** 2
    total = power.reshape(-1, power.shape[-1]).sum(dim=0)
    if float(total.sum()) == 0.0:
        raise ValueError("the filters are identically zero: their spectrum has no energy")
    return total


def energy_fractions(h: torch.Tensor) -> torch.Tensor:
    """Fraction of the spectral energy of filters ``h`` ``(..., L)`` in each rfft bin.

    Pooled over all filters: ``(L // 2 + 1,)`` float64, non-negative, summing to 1. Bin ``k``
    is ``k`` cycles per filter length.
    """
    energy = _energy_per_bin(h)
    return energy / energy.sum()


def high_frequency_fraction(h: torch.Tensor, cutoff_bin: int) -> float:
    """Fraction of the spectral energy of filters ``h`` ``(..., L)`` in bins ``>= cutoff_bin``.

    Pooled over all filters. Near 0 for low-pass filters whose cutoff is below ``cutoff_bin``.
    """
    energy = _energy_per_bin(h)
    check_positive_int(cutoff_bin, "cutoff_bin", minimum=0)
    if cutoff_bin >= energy.numel():
        raise ValueError(
            f"cutoff_bin must be < L // 2 + 1 = {energy.numel()} (the number of rfft bins), "
            f"got {cutoff_bin}"
        )
    return float(energy[cutoff_bin:].sum() / energy.sum())


def spectral_cutoff(h: torch.Tensor, energy: float = 0.99) -> int:
    """The ``energy`` bandwidth: the smallest ``b`` such that bins ``0 .. b-1`` hold at least
    ``energy`` of the filters' spectral energy.

    A measurable "cutoff frequency" (in rfft bins, i.e. cycles per filter length) of a bank of
    filters ``h`` ``(..., L)``, pooled over all filters: App. D.3 says implicit filters at
    initialisation (no window, sine frequency 1) are low-pass with a cutoff that grows with the
    number of positional-encoding bands. ``b`` counts bins: it runs from 1 to the number of
    rfft bins ``L // 2 + 1``, and ``b = L // 2 + 1`` means that every bin up to the Nyquist bin
    ``L // 2`` is needed (the energy is spread over the whole spectrum).
    """
    check_positive_float(energy, "energy")
    if energy > 1:
        raise ValueError(f"energy is a fraction, expected 0 < energy <= 1, got {energy}")
    per_bin = _energy_per_bin(h)
    cumulative = torch.cumsum(per_bin, dim=0) / per_bin.sum()
    # smallest b with cumulative[b - 1] >= energy (guard the last bin against round-off)
    reached = (cumulative >= energy - 1e-12).nonzero()
    return int(reached[0]) + 1


def parameter_counts(
    lengths: Sequence[int],
    channels: int = 64,
    hyper: dict[str, dict[str, object]] | None = None,
) -> dict[str, list[int]]:
    """``num_params`` of each parameterisation of :data:`FILTERS` built with ``l_max = L``.

    Each filter is built once (on the CPU, with the caller's RNG state restored afterwards) and
    counted; the largest bank of the notebook's sweep (explicit, 64 x 2^16) takes 16 MiB. The
    implicit filter is counted twice: ``"implicit"`` with the positional encoding as fixed
    features (``trainable_pos_emb=False``, the paper's count: the FFN alone), and
    ``"implicit (z trainable)"`` as the official code trains it (``emb_dim * L`` more).

    Args:
        lengths: the ``l_max`` values.
        channels: filters per bank.
        hyper: optional hyper-parameters per kind, e.g. ``{"frequency": {"modes": 64}}``.

    Returns:
        ``{kind: [num_params at each length]}``.
    """
    check_positive_int(channels, "channels")
    hyper = hyper or {}
    unknown = set(hyper) - set(FILTERS)
    if unknown:
        raise ValueError(
            f"unknown filter kinds in hyper: {sorted(unknown)}; expected some of {sorted(FILTERS)}"
        )
    builds: dict[str, dict[str, object]] = {kind: dict(hyper.get(kind, {})) for kind in FILTERS}
    builds["implicit"].setdefault("trainable_pos_emb", False)
    builds["implicit (z trainable)"] = {**builds["implicit"], "trainable_pos_emb": True}
    counts: dict[str, list[int]] = {name: [] for name in builds}
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        for L in lengths:
            check_positive_int(L, "L")
            for name, args in builds.items():
                kind = name.split(" ")[0]
                counts[name].append(make_filter(kind, channels, L, **args).num_params)
    return counts


def implicit_param_count(
    channels: int,
    l_max: int,
    emb_dim: int = 3,
    filter_order: int = 64,
    num_inner_mlps: int = 2,
    trainable_pos_emb: bool = True,
) -> dict[str, int]:
    """Trainable parameters of an :class:`ImplicitFilter`, in closed form and by part.

    With ``E = emb_dim``, ``W = filter_order``, ``n = num_inner_mlps`` and ``D = channels``:

    * ``"ffn"``: ``(E + 1) W`` (first layer) ``+ n (W + 1) W`` (inner layers) ``+ W`` (the one
      shared sine frequency vector) ``+ W D`` (output layer, no bias): no ``l_max`` term;
    * ``"pos_emb"``: ``E * l_max`` if the table ``z`` is trained (official code), else 0;
    * ``"total"``: their sum, what ``ImplicitFilter(...).num_params`` returns.
    """
    for value, name in ((channels, "channels"), (l_max, "l_max"), (filter_order, "filter_order")):
        check_positive_int(value, name)
    check_positive_int(emb_dim, "emb_dim", minimum=3)
    check_positive_int(num_inner_mlps, "num_inner_mlps", minimum=0)
    E, W, n = emb_dim, filter_order, num_inner_mlps
    ffn = (E + 1) * W + n * (W + 1) * W + W + W * channels
    pos_emb = E * l_max if trainable_pos_emb else 0
    return {"ffn": ffn, "pos_emb": pos_emb, "total": ffn + pos_emb}


def implicit_init_filters(
    bands: int, w: float, L: int = 128, channels: int = 64, seed: int = 0
) -> torch.Tensor:
    """Implicit filters at initialisation *without* the window (App. D.3), ``(channels, L)``.

    ``ImplicitFilter(channels, L, emb_dim=2 * bands + 1, w=w, modulate=False)`` built from
    ``seed`` (the caller's RNG state is restored), evaluated without gradients.
    """
    check_positive_int(L, "L", minimum=2)
    with seeded(seed):
        filt = ImplicitFilter(channels, L, emb_dim=emb_dim_for_bands(bands), w=w, modulate=False)
    with torch.no_grad():
        return filt(L)  # (channels, L)


def implicit_init_spectra(
    bands: Sequence[int],
    ws: Sequence[float],
    L: int = 128,
    channels: int = 64,
    seed: int = 0,
    cutoff_bin: int = 16,
) -> list[dict[str, float]]:
    """Spectral statistics of implicit filters at initialisation without the window (App. D.3).

    For each number of bands ``K`` in ``bands`` and sine frequency ``w`` in ``ws``, measures
    the ``channels`` filters of length ``L`` of :func:`implicit_init_filters`.

    Returns:
        one row per ``(K, w)``: ``{"bands", "w", "cutoff_99"`` (:func:`spectral_cutoff`: bins
        ``0 .. cutoff_99 - 1`` hold 99% of the energy, out of ``L // 2 + 1`` bins),
        ``"energy_above_K"`` and ``"energy_above_cutoff_bin"``
        (:func:`high_frequency_fraction` at bin ``K`` and at ``cutoff_bin``)``}``.
    """
    check_positive_int(L, "L", minimum=2)
    check_positive_int(seed, "seed", minimum=0)
    rows = []
    for K in bands:
        for w in ws:
            h = implicit_init_filters(K, w, L, channels, seed)  # (channels, L)
            rows.append({
                "bands": K,
                "w": float(w),
                "cutoff_99": spectral_cutoff(h, 0.99),
                "energy_above_K": high_frequency_fraction(h, min(K, L // 2)),
                "energy_above_cutoff_bin": high_frequency_fraction(h, cutoff_bin),
            })
    return rows


def init_energy_shares(
    bands: Sequence[int], w: float, L: int = 128, channels: int = 64, seed: int = 0
) -> tuple[torch.Tensor, list[int]]:
    """Energy per rfft bin of the implicit filters at init without the window, for each ``K``.

    Returns ``(shares, cutoffs)``: ``shares`` ``(len(bands), L // 2 + 1)`` float64, row ``i``
    the :func:`energy_fractions` of :func:`implicit_init_filters` ``(bands[i], w, L, channels,
    seed)``, and ``cutoffs[i]`` their 99% band (:func:`spectral_cutoff`).
    """
    if not bands:
        raise ValueError("bands must hold at least one value")
    filters = [implicit_init_filters(K, w, L, channels, seed) for K in bands]  # (channels, L) each
    shares = torch.stack([energy_fractions(h) for h in filters])  # (len(bands), L // 2 + 1)
    return shares, [spectral_cutoff(h, 0.99) for h in filters]
