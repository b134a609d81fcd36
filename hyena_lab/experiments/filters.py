"""Chapter 03's experiments (implicit filters, Sec. 3.3, App. D.3) and the data its figures draw.

:data:`EXPERIMENTS` (``init-spectra``, ``param-count``, ``ssm-check``), and builders that make,
from a seed, the filters and outputs :mod:`hyena_lab.viz.filters` draws. Nothing reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..checks import check_positive_int, rel_err
from ..conv import fftconv
from ..filters import FILTERS, ImplicitFilter, LongFilter, SSMFilter, make_filter, seeded
from ..measure import environment
from ..options import float_in, int_in
from ..spectra import implicit_init_spectra, parameter_counts
from . import Experiment, option

__all__ = [
    "EXPERIMENTS", "INIT_SPECTRA", "PARAM_COUNT", "SSM_CHECK", "InitSpectraConfig",
    "ParamCountConfig", "SSMCheckConfig", "implicit_bank", "init_spectra", "param_count",
    "parameterisation_banks", "ssm_check", "ssm_check_system", "ssm_example", "windowed_pair",
]


@dataclass(frozen=True)
class InitSpectraConfig:
    """Options of ``init-spectra``; the defaults are the chapter's (and its record's)."""

    bands: tuple[int, ...] = option((2, 4, 8, 16, 32, 64), "numbers K of positional-encoding "
                                    "bands (emb_dim = 2K + 1)", int_in(1, 4096))  # fmt: skip
    ws: tuple[float, ...] = option((1.0, 10.0), "initial sine frequencies w",
                                   float_in(0.0, 1e4, open_lo=True))  # fmt: skip
    L: int = option(128, "filter length (L // 2 + 1 rfft bins)", int_in(2, 2**16))
    channels: int = option(64, "filters per setting (their energy is pooled)", int_in(1, 4096))
    seed: int = option(0, "seed of the filters' initialisation", int_in(0))
    cutoff_bin: int = option(16, "second bin above which the energy is reported", int_in(0))

    def __post_init__(self) -> None:
        if not self.bands or not self.ws:
            raise ValueError("bands and ws must each hold at least one value")
        if self.cutoff_bin > self.L // 2:
            raise ValueError(f"cutoff_bin must be <= L // 2 = {self.L // 2}, got {self.cutoff_bin}")


def init_spectra(config: InitSpectraConfig) -> dict[str, Any]:
    """The record of ``init-spectra``: the rows of :func:`hyena_lab.spectra.implicit_init_spectra`
    (one per ``(K, w)``), the machine (``run``) and the settings."""
    rows = implicit_init_spectra(config.bands, config.ws, L=config.L, channels=config.channels,
                                 seed=config.seed, cutoff_bin=config.cutoff_bin)  # fmt: skip
    return {"run": environment("cpu"), "rows": rows, "seed": config.seed,
            "note": "ImplicitFilter defaults, modulate=False, float32",
            "shapes": {"filters": [config.channels, config.L], "bands": list(config.bands),
                       "w": list(config.ws)}}  # fmt: skip


INIT_SPECTRA = Experiment(
    "init-spectra", "spectra of implicit filters at initialisation against K and w (App. D.3)",
    InitSpectraConfig, init_spectra,
    summarize=lambda r: {"cutoff_99": {f"K={row['bands']},w={row['w']:g}": row["cutoff_99"]
                                       for row in r["rows"]}},
    description="Builds ImplicitFilter(channels, L, emb_dim=2K+1, w=w, modulate=False) for "
    "each K and w and measures its 99% band (bins 0..b-1 hold 99% of the spectral energy) "
    "and the share of the energy at bins >= K and >= cutoff_bin.",
)  # fmt: skip


@dataclass(frozen=True)
class ParamCountConfig:
    """Options of ``param-count``; the defaults are the chapter's (and its record's)."""

    lengths: tuple[int, ...] = option(tuple(2**k for k in range(7, 17)),
                                      "filter lengths L = l_max", int_in(1, 2**20))  # fmt: skip
    channels: int = option(64, "filters per bank", int_in(1, 4096))

    def __post_init__(self) -> None:
        if not self.lengths:
            raise ValueError("lengths must hold at least one value")


def param_count(config: ParamCountConfig) -> dict[str, Any]:
    """The record of ``param-count``: :func:`hyena_lab.spectra.parameter_counts` at each length
    (the implicit filter twice: its FFN alone, and with its positional table trained)."""
    counts = parameter_counts(config.lengths, channels=config.channels)
    return {"run": environment("cpu"), "lengths": list(config.lengths), "counts": counts,
            "channels": config.channels, "shapes": {"filters": [config.channels, "L"]}}


PARAM_COUNT = Experiment(
    "param-count", "trainable parameters of each filter parameterisation against L",
    ParamCountConfig, param_count,
    summarize=lambda r: {name: values[-1] for name, values in r["counts"].items()}
    | {"at_L": r["lengths"][-1]},
    description="Builds each filter of hyena_lab.filters.FILTERS with l_max = L and counts "
    "its trainable parameters (the implicit one with its positional table z fixed, the "
    "paper's count, and trainable, the official code's).",
)  # fmt: skip


@dataclass(frozen=True)
class SSMCheckConfig:
    """Options of ``ssm-check``; the defaults are the chapter's (and its record's)."""

    L: int = option(512, "sequence length (the recurrence runs L sequential steps)",
                    int_in(1, 2**16))  # fmt: skip
    channels: int = option(4, "channels (one SSM each)", int_in(1, 1024))
    batch: int = option(2, "inputs per channel", int_in(1, 1024))
    d_state: int = option(64, "real state size N (N / 2 complex modes; even)", int_in(2, 4096))
    seed: int = option(0, "seed of the SSM's initialisation and of the input", int_in(0))
    discretizations: tuple[str, ...] = option(("zoh", "bilinear"), "discretisations checked",
                                              choices=["zoh", "bilinear"])  # fmt: skip

    def __post_init__(self) -> None:
        if self.d_state % 2:
            raise ValueError(f"d_state must be even (conjugate modes), got {self.d_state}")
        if not self.discretizations:
            raise ValueError("discretizations must hold at least one value")


def ssm_check_system(config: SSMCheckConfig, discretization: str) -> tuple[SSMFilter, torch.Tensor]:
    """The float64 SSM of the check (built from ``config.seed``, global RNG untouched) and its
    input ``u`` ``(batch, channels, L)`` (standard normal, from a generator seeded the same)."""
    with seeded(config.seed):
        ssm = SSMFilter(config.channels, config.L, d_state=config.d_state,
                        discretization=discretization).double()  # fmt: skip
    gen = torch.Generator().manual_seed(config.seed)
    u = torch.randn(config.batch, config.channels, config.L, generator=gen, dtype=torch.float64)
    return ssm, u


def ssm_check(config: SSMCheckConfig) -> dict[str, Any]:
    """The record of ``ssm-check``: per discretisation, :func:`~hyena_lab.checks.rel_err` of the
    SSM's step-by-step recurrence against ``fftconv`` with its closed-form kernel, in float64."""
    errs = {}
    for disc in config.discretizations:
        ssm, u = ssm_check_system(config, disc)
        with torch.no_grad():
            errs[disc] = rel_err(ssm.recurrence(u), fftconv(u, ssm(config.L)))
    return {"run": environment("cpu"), "rel_err_recurrence_vs_fftconv": errs,
            "dtype": "float64", "d_state": config.d_state, "seed": config.seed,
            "shapes": {"u": [config.batch, config.channels, config.L],
                       "kernel": [config.channels, config.L]}}  # fmt: skip


SSM_CHECK = Experiment(
    "ssm-check", "an S4D recurrence against fftconv with its kernel (every SSM is a convolution)",
    SSMCheckConfig, ssm_check, summarize=lambda r: r["rel_err_recurrence_vs_fftconv"],
    description="Runs SSMFilter's recurrence x_t = A_bar x_{t-1} + B_bar u_t step by step in "
    "float64 and compares it with fftconv(u, K), K its closed-form kernel.",
)  # fmt: skip

#: The chapter's experiments, each a ``hyena-lab`` subcommand.
EXPERIMENTS = (INIT_SPECTRA, PARAM_COUNT, SSM_CHECK)


# --------------------------------------------------------------------------- figures' data


def implicit_bank(channels: int, L: int, seed: int = 0, **hyper: Any) -> dict[str, torch.Tensor]:
    """An implicit filter bank (``hyper`` to :class:`~hyena_lab.filters.ImplicitFilter`) from
    ``seed``: ``{"h", "window"}`` ``(channels, L)`` and the normalised times ``"t"`` ``(L,)``."""
    check_positive_int(L, "L", minimum=2)
    with seeded(seed):
        filt = ImplicitFilter(channels, L, **hyper)
    with torch.no_grad():
        return {"h": filt(L), "window": filt.window(L), "t": filt.pos_emb.t[:L, 0]}


def windowed_pair(channels: int, L: int, seed: int = 0, **hyper: Any) -> dict[str, torch.Tensor]:
    """One implicit FFN (from ``seed``) with and without its window: ``{"h_on", "h_off",
    "window"}`` ``(channels, L)`` each and ``"t"`` ``(L,)``."""
    check_positive_int(L, "L", minimum=2)
    with seeded(seed):
        on = ImplicitFilter(channels, L, modulate=True, **hyper)
        off = ImplicitFilter(channels, L, modulate=False, **hyper)
    off.load_state_dict(on.state_dict())  # the same FFN, window off
    with torch.no_grad():
        return {"h_on": on(L), "h_off": off(L), "window": on.window(L), "t": on.pos_emb.t[:L, 0]}


def parameterisation_banks(L: int, channels: int, seed: int = 0) -> dict[str, LongFilter]:
    """One bank of each of :data:`hyena_lab.filters.FILTERS` (``l_max = L``) from ``seed``."""
    check_positive_int(L, "L", minimum=2)
    banks = {}
    for kind in FILTERS:
        with seeded(seed):
            banks[kind] = make_filter(kind, channels, L)
    return banks


def ssm_example(channels: int, L: int, seed: int = 0, **hyper: Any) -> dict[str, Any]:
    """An S4D filter and one input (both from ``seed``), in float64: ``{"kernel"`` ``(channels,
    L)``, ``"y_rec"`` (the recurrence), ``"y_conv"`` (``fftconv`` with the kernel), both
    ``(1, channels, L)``, ``"rel_err"`` between them and the steps ``"dt"`` ``(channels,)``}``;
    ``hyper`` goes to :class:`hyena_lab.filters.SSMFilter`."""
    check_positive_int(L, "L", minimum=2)
    check_positive_int(channels, "channels")
    with seeded(seed):
        ssm = SSMFilter(channels, L, **hyper).double()
        u = torch.randn(1, channels, L, dtype=torch.float64)
    with torch.no_grad():
        kernel = ssm(L)
        y_conv, y_rec = fftconv(u, kernel), ssm.recurrence(u)
        dt = torch.exp(ssm.log_dt)
    return {"kernel": kernel, "y_rec": y_rec, "y_conv": y_conv,
            "rel_err": rel_err(y_rec, y_conv), "dt": dt}  # fmt: skip
