"""Worked solutions of chapter 6's open parts (the FFT as matrix multiplies): which factorisation
of ``N = 2^12`` costs the fewest FLOPs and why factors of 2 stay above the radix-2 count
(exercise 3), and why a random matrix cannot be fitted by Monarch blocks (exercise 4). Counted
work and seeded float64 fits only: no clock."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch

from .. import monarch
from ..monarch_blocks import fit_dft_blocks, monarch_matrix
from ..roofline import fft_flops as radix2_flops
from .worked_common import Results, WorkedSolution, claim, fixed, listing

__all__ = ["WORKED"]


def _compositions(exponent: int) -> list[tuple[int, ...]]:
    """Every ordered tuple of positive exponents that sums to ``exponent``."""
    if exponent == 0:
        return [()]
    return [(e, *rest) for e in range(1, exponent + 1) for rest in _compositions(exponent - e)]


# --- exercise 3: the cheapest factorisation -------------------------------------------------
def solve_cheapest_factors(fast: bool = False) -> Results:
    """``monarch.fft_flops`` of every ordered factorisation of ``N = 2^12`` into powers of two
    (2,048 of them), the cheapest, and the per-stage costs against a radix-2 butterfly stage."""
    exponent = 12
    N = 2**exponent
    flops = {
        tuple(2**e for e in c): monarch.fft_flops(N, tuple(2**e for e in c))
        for c in _compositions(exponent)
    }
    least = min(flops.values())
    cheapest = sorted(fs for fs, f in flops.items() if f == least)
    twos = (2,) * exponent
    return {
        "N": N,
        "count": len(flops),
        "cheapest": cheapest,
        "least": least,
        "twos": flops[twos],
        "dense": flops[(N,)],
        "radix2": radix2_flops(N, real=False),
        "per_stage_matrix": 8 * 2,  # a size-2 stage: N/2 dense 2x2 products, 8 N * 2 / N
        "per_stage_twiddle": 6,  # a twiddle diagonal between stages, per element
        "per_stage_butterfly": 5,  # radix-2: one complex multiply (6) and 2 adds (4) per pair
        "stages": exponent,
        "least_over_radix2": round(least / radix2_flops(N, real=False), 1),
        "dense_over_radix2": round(flops[(N,)] / radix2_flops(N, real=False)),
        "twos_over_radix2": round(flops[twos] / radix2_flops(N, real=False), 1),
    }


def answer_cheapest_factors(r: Mapping[str, Any]) -> str:
    best = listing(str(fs) for fs in r["cheapest"])
    return (
        f"**The cheapest of the {r['count']:,} ordered factorisations of $N = {r['N']:,}$ is "
        f"{best}**, at {r['least']:,.0f} real FLOPs: {fixed(r['least_over_radix2'], 1)}x the "
        f"radix-2 FFT's $5N\\log_2 N$ = {r['radix2']:,.0f}, against "
        f"{r['dense_over_radix2']}x for the dense DFT. The count is "
        "$8N\\sum_i f_i + 6N(k - 1)$: a factor $2^e$ adds $2^e$ to the sum for $e$ of the "
        f"{r['stages']} powers of two, so factors $2$ and $4$ cost $2$ per power and $8$ already "
        "$8/3$; among those, the fewest factors have the fewest twiddle diagonals: all $4$s.\n\n"
        f"**Twelve factors of $2$ cost {r['twos']:,.0f}, {fixed(r['twos_over_radix2'], 1)}x the "
        f"radix-2 count, though both are {r['stages']} stages of $2$-point DFTs.** Per element "
        "and stage the "
        f"matrix form spends {r['per_stage_matrix']} FLOPs on a dense $2 \\times 2$ product and "
        f"{r['per_stage_twiddle']} on a twiddle diagonal; a radix-2 butterfly spends "
        f"{r['per_stage_butterfly']}: it knows that $F_2$'s entries are $\\pm 1$ (additions, no "
        "multiplications) and skips the trivial twiddles. A matrix product multiplies by "
        "every entry, whatever its value. That is the price of running on tensor cores, and it "
        "pays only when the units run the products many times faster (the chapter's cost "
        "model): large factors waste FLOPs on purpose.\n\n"
        "*Likely misconception:* that more, smaller factors are always cheaper because the "
        "radix-2 FFT (all factors 2) is the cheapest FFT. It is cheapest for *butterflies*; as "
        "dense products, factors of $2$ pay for multiplications by $\\pm 1$."
    )


def claims_cheapest(r: Mapping[str, Any]) -> None:
    claim(r["count"] == 2 ** (r["stages"] - 1), "2,048 ordered factorisations")
    claim(r["cheapest"] == [(4,) * 6], "six 4s are the cheapest")
    claim(r["radix2"] < r["least"] < r["twos"] < r["dense"], "radix-2 < best < twos < dense")
    claim(
        r["twos"] == r["N"] * r["stages"] * r["per_stage_matrix"]
        + r["N"] * (r["stages"] - 1) * r["per_stage_twiddle"],
        "twelve 2s: 16 N per stage plus 6 N per twiddle diagonal",
    )
    claim(r["radix2"] == r["N"] * r["stages"] * r["per_stage_butterfly"], "radix-2: 5 N log2 N")


# --- exercise 4: a random matrix is not Monarch ---------------------------------------------
def _fit_blocks(target: torch.Tensor, a: int, b: int, steps: int, seed: int) -> list[float]:
    """Adam on random complex blocks ``L`` (a, b, b), ``R`` (b, a, a), float64, fitting
    ``P L P^T R P`` to ``target`` (N, N); the relative squared error before each step and after
    the last (the loop of :func:`hyena_lab.monarch_blocks.fit_dft_blocks`, any target)."""
    g = torch.Generator().manual_seed(seed)
    L = (torch.randn(a, b, b, 2, generator=g, dtype=torch.float64) / math.sqrt(2 * b))
    R = (torch.randn(b, a, a, 2, generator=g, dtype=torch.float64) / math.sqrt(2 * a))
    params = [L.requires_grad_(), R.requires_grad_()]
    opt = torch.optim.Adam(params, lr=0.02)
    scale = float(target.abs().pow(2).sum())
    losses = []
    for _ in range(steps + 1):
        M = monarch_matrix(torch.view_as_complex(L), torch.view_as_complex(R))
        loss = (M - target).abs().pow(2).sum() / scale
        losses.append(float(loss.detach()))
        if len(losses) > steps:
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    return losses


def solve_random_target(fast: bool = False) -> Results:
    """Fit Monarch blocks (4 x 4, N = 16) to ``F_16`` and to a seeded random complex matrix with
    the same recipe; count the parameters against ``N^2``."""
    a = b = 4
    N = a * b
    steps = 300 if fast else 600
    g = torch.Generator().manual_seed(1)
    random = torch.complex(torch.randn(N, N, generator=g, dtype=torch.float64),
                           torch.randn(N, N, generator=g, dtype=torch.float64))  # fmt: skip
    dft = fit_dft_blocks(a, b, steps=steps, seed=0).losses
    rnd = _fit_blocks(random, a, b, steps, seed=0)
    return {
        "N": N, "a": a, "b": b, "steps": steps,
        "dft_loss": dft[-1], "random_loss": rnd[-1], "random_start": rnd[0],
        "random_last_quarter": rnd[-1] / rnd[3 * steps // 4],
        "block_entries": a * b * b + b * a * a, "matrix_entries": N * N,
    }  # fmt: skip


def answer_random_target(r: Mapping[str, Any]) -> str:
    return (
        f"**The same recipe ({r['steps']} Adam steps, $N = {r['N']} = {r['a']} \\cdot {r['b']}$) "
        f"takes $F_{{{r['N']}}}$ to a relative error of {r['dft_loss']:.1e}, and a random complex "
        f"matrix only from {fixed(r['random_start'], 2)} to {fixed(r['random_loss'], 2)}**; over "
        "the last quarter of the run its loss changed by a factor "
        f"{fixed(r['random_last_quarter'], 3)}: it has stopped, above zero. Count the freedom: "
        "the blocks hold "
        f"{r['block_entries']} complex numbers, the matrix {r['matrix_entries']}. Products "
        f"$P L P^\\top R P$ form a set of dimension at most {r['block_entries']} (less, since a "
        "diagonal can move between the factors) inside a space of dimension "
        f"{r['matrix_entries']}: almost no matrix lies in it, and the best fit of a random one "
        "keeps a large residual. The DFT is one of the few that do: its four-step factorisation "
        "*is* a Monarch product (chapter 6, eq. 4).\n\n"
        "*Likely misconception:* that a loss that stops falling means a bad optimiser or learning "
        "rate. Here it means the target is not in the family; the learning that works is the "
        "learning of transforms that have the structure, such as the DFT (Monarch matrices)."
    )


def claims_random_target(r: Mapping[str, Any]) -> None:
    claim(r["dft_loss"] < 1e-6, "F_N is fitted")
    claim(r["random_loss"] > 0.1, "the random matrix keeps a large residual")
    claim(r["random_last_quarter"] > 0.9, "its loss has stopped falling")
    claim(r["block_entries"] < r["matrix_entries"], "fewer parameters than entries")


WORKED = [
    WorkedSolution(
        "ch06_ex3",
        6,
        3,
        "Which factorisation of $N = 2^{12}$ has the fewest? Why do twelve factors of 2 not reach "
        "$5N\\log_2 N$?",
        solve_cheapest_factors,
        answer_cheapest_factors,
        paper="Sec. 4.4; FlashFFTConv",
        claims=claims_cheapest,
    ),
    WorkedSolution(
        "ch06_ex4",
        6,
        4,
        "fit a random matrix instead of $F_N$ and watch the loss stop above zero: most matrices "
        "are not Monarch.",
        solve_random_target,
        answer_random_target,
        paper="Sec. 4.4; Monarch (Dao et al. 2022); FlashFFTConv",
        claims=claims_random_target,
    ),
]
