"""Figures of chapter 06, *the FFT as matrix multiplies*: the sparse factors of ``F_N``, counted
FLOPs against ``N``, the cost model's predicted speedup, the loss of learned factors.

The mathematics is in :mod:`hyena_lab.monarch` (four-step factors, FLOP counts, the roofline cost
of a matmul FFT) and :mod:`hyena_lab.monarch_blocks` (the Monarch form, learned blocks, factors
sized for tensor cores); these functions only draw what those return.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..checks import check_lengths, check_positive_int
from ..monarch import (
    balanced_factors,
    dense_dft_flops,
    fft_flops,
    four_step_matrices,
    matmul_fft_speedup,
)
from ..monarch_blocks import dft_blocks, monarch_factor_matrices, tensor_core_factors
from ..roofline import Ceilings
from ..roofline import fft_flops as radix2_flops
from . import loglog, new_figure

__all__ = ["factors_figure", "fit_figure", "flops_figure", "speedup_figure"]


def _four_step_names(fs: tuple[int, ...]) -> list[str]:
    """TeX names of :func:`~hyena_lab.monarch.four_step_matrices` for factors ``fs``, in the same
    order: ``F_a (x) I_b, T_N``, the names of ``F_b``'s factors behind ``I_a (x)``, ``P_N``."""
    if len(fs) <= 1:
        return [f"F_{{{math.prod(fs)}}}"]
    a, b = fs[0], math.prod(fs[1:])
    inner = [f"I_{{{a}}} \\otimes {name}" for name in _four_step_names(fs[1:])]
    return [f"F_{{{a}}} \\otimes I_{{{b}}}", f"T_{{{a * b}}}", *inner, f"P_{{{a * b}}}"]


def _factor_titles(factors: tuple[int, ...], form: str) -> list[str]:
    if form == "monarch":
        return ["$P$", "$R$ (blocks $F_a$)", "$P^T$", "$L$ (blocks $F_b\\,T$)", "$P$"]
    return [f"${name}$" for name in _four_step_names(factors)]


def factors_figure(N: int = 12, factors: Sequence[int] | None = None, form: str = "four-step"
                   ) -> Figure:  # fmt: skip
    """``|entries|`` of the factors of ``F_N``, in the order they are applied, and of their
    product ``F_N`` (last panel): ``form="four-step"`` draws
    :func:`~hyena_lab.monarch.four_step_matrices` (any number of factors), ``"monarch"`` the
    five factors ``P, R, P^T, L, P`` of :func:`~hyena_lab.monarch_blocks.monarch_factor_matrices`
    (two factors ``(a, b)``). Each title counts the nonzero entries."""
    check_positive_int(N, "N")
    if form not in ("four-step", "monarch"):
        raise ValueError(f"form must be 'four-step' or 'monarch', got {form!r}")
    fs = tuple(factors) if factors is not None else balanced_factors(N)
    if form == "monarch":
        if len(fs) != 2:
            raise ValueError(f"form='monarch' draws two factors (a, b), got factors {fs}")
        mats = monarch_factor_matrices(*dft_blocks(*fs))
    else:
        mats = four_step_matrices(N, fs)
    product = torch.eye(N, dtype=torch.complex128)
    for M in mats:
        product = M @ product
    panels = [*zip(_factor_titles(fs, form), mats, strict=True), (f"$= F_{{{N}}}$", product)]
    fig, axes = new_figure((2.3 * len(panels), 2.9), 1, len(panels), squeeze=False)
    for ax, (title, M) in zip(axes[0], panels, strict=True):
        ax.imshow(M.abs().numpy(), cmap="Greys", vmin=0, vmax=1, interpolation="nearest")
        nnz = int((M.abs() > 1e-12).sum())
        ax.set(title=f"{title}\n{nnz} nonzeros", xlabel="input index", ylabel="output index")
        ax.grid(False)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(f"$|$entries$|$ of the factors of $F_{{{N}}}$, factors {fs}, applied left to "
                 "right (black = 1, white = 0)", fontsize=10)  # fmt: skip
    return fig


def flops_figure(lengths: Sequence[int] = tuple(2**p for p in range(4, 21))) -> Figure:
    """Counted real FLOPs of one complex DFT of length ``N`` against ``N``: dense ``8 N^2``,
    the four-step form on two and on three balanced factors (``8 N sum f + 6 N (k - 1)``), the
    radix-2 FFT ``5 N log2 N``. ``lengths``: powers of two or any ``N`` (factors by
    :func:`~hyena_lab.monarch.balanced_factors`)."""
    Ns = check_lengths(lengths)
    fig, ax = new_figure((6.4, 4.0))
    series = {
        "dense $F_N x$: $8N^2$": [dense_dft_flops(n) for n in Ns],
        "four-step, 2 factors": [fft_flops(n, balanced_factors(n, 2)) for n in Ns],
        "three factors": [fft_flops(n, balanced_factors(n, 3)) for n in Ns],
        "radix-2 FFT: $5 N \\log_2 N$": [radix2_flops(n, real=False) for n in Ns],
    }
    for (label, ys), style in zip(series.items(), ("s-", "o-", "^-", "k--"), strict=True):
        ax.plot(Ns, ys, style, ms=3, label=label)
    loglog(ax, "real FLOPs per transform (counted)", "FLOPs of one complex DFT of length N",
           xlabel="transform length N")  # fmt: skip
    ax.legend(fontsize=8)
    return fig


def speedup_figure(
    ceilings: Ceilings, lengths: Sequence[int] = tuple(2**p for p in range(4, 25)), tile: int = 16
) -> Figure:
    """Predicted ``t(radix-2 FFT on the fp32 units) / t(matmul FFT on the matrix units)`` from
    :func:`~hyena_lab.monarch.matmul_fft_speedup` on ``ceilings``: compute floors only, for the
    factors of :func:`~hyena_lab.monarch_blocks.tensor_core_factors` (``>= tile``) and for one
    dense DFT; and the full roofline (bytes included), where both forms move the same bytes.
    Above 1 the matrix-product form is predicted faster."""
    Ns = check_lengths(lengths)
    fig, ax = new_figure((6.4, 4.0))
    tc = [matmul_fft_speedup(n, tensor_core_factors(n, tile), ceilings, compute_only=True)
          for n in Ns]  # fmt: skip
    dense = [n for n in Ns if n <= 4096]
    ax.plot(Ns, tc, "o-", ms=3, label=f"factors $\\geq$ {tile} (tensor cores), compute only")
    ax.plot(dense, [matmul_fft_speedup(n, (n,), ceilings, compute_only=True) for n in dense],
            "s-", ms=3, label="one dense $F_N$ (tensor cores), compute only")  # fmt: skip
    full = [matmul_fft_speedup(n, tensor_core_factors(n, tile), ceilings) for n in Ns]
    ax.plot(Ns, full, ":", color="k", label="full roofline, bytes included (bf16 in and out)")
    ax.axhline(1.0, color="0.5", lw=0.8)
    name = ceilings.device or "device"
    loglog(ax, "predicted speedup over radix-2 FFT",
           f"cost model on {name}: {ceilings.matmul_flops / 1e12:.0f} vs "
           f"{ceilings.fp32_flops / 1e12:.0f} TFLOP/s", xlabel="transform length N")  # fmt: skip
    ax.legend(fontsize=7)
    return fig


def fit_figure(losses: Sequence[float], label: str = "") -> Figure:
    """The loss ``||P L P^T R P - F_N||_F^2 / ||F_N||_F^2`` of learned blocks against the step
    (log scale), from :class:`~hyena_lab.monarch_blocks.BlockFit` ``.losses``."""
    ys = np.asarray(list(losses), dtype=float)
    if ys.ndim != 1 or ys.size < 2 or not np.all(np.isfinite(ys)) or np.any(ys < 0):
        raise ValueError(f"losses must be >= 2 finite numbers >= 0, got {ys.size} values")
    fig, ax = new_figure((6.4, 3.6))
    ax.semilogy(np.arange(ys.size), np.maximum(ys, np.finfo(float).tiny), label=label or None)
    ax.set(xlabel="gradient step", ylabel="relative squared error of the product",
           title="learning the block factors of the DFT from random blocks")  # fmt: skip
    if label:
        ax.legend(fontsize=8)
    ax.set_ylim(top=max(1.0, 2 * float(ys.max())), bottom=10 ** math.floor(math.log10(
        max(float(ys.min()), 1e-32))))  # fmt: skip
    return fig
