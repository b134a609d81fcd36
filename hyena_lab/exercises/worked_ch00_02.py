"""Worked solutions of the open exercise parts of chapters 0-2: planning the path, reading a
checker, why gated Toeplitz products do not commute (Sec. 3.2), where the FFT starts to win on a
CPU (Sec. 2.1, counted and from the committed record) and constant gates (Sec. 3.1-3.2)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ..conv import direct_conv, toeplitz
from ..roofline import counted_conv_work, counted_crossover, fftconv_cost
from .ch01 import check_causal_fftconv, solution_causal_fftconv, solution_crossover_length
from .worked_common import Results, WorkedSolution, claim, fixed, listing, pct, toeplitz_defect

#: The chapters' jupytext sources (read for what a chapter quotes, e.g. its paper tables).
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- chapter 0, exercise 1: plan your path ------------------------------------------------------


def _prerequisites(chapter: int) -> list[int]:
    """Every chapter that ``chapter`` builds on, directly or through another, ascending."""
    from ..course import CHAPTERS

    builds_on = {c.number: c.builds_on for c in CHAPTERS}
    seen: set[int] = set()
    todo = list(builds_on[chapter])
    while todo:
        c = todo.pop()
        if c not in seen:
            seen.add(c)
            todo.extend(builds_on[c])
    return sorted(seen)


def solve_plan_path(fast: bool = False) -> Results:
    """Chapter 4's prerequisites from the course map (transitively) and the paper tables that
    chapter 4 compares with (the ``TABLE_*`` names it imports from :mod:`hyena_lab.paper`),
    with the recorded run times."""
    from ..course import CHAPTERS, chapter_seconds, load_chapter_times

    source = (NOTEBOOKS / "04_associative_recall.py").read_text()
    found = re.findall(r"^from hyena_lab\.paper import PAPER_\w+ as TABLE_(\w+)", source, re.M)
    tables = [m.replace("_", ".") for m in found]
    record = load_chapter_times()
    chapters = {c.number: c for c in CHAPTERS}
    prereq = _prerequisites(4)
    seconds = {n: chapter_seconds(record, chapters[n].stem) for n in [*prereq, 4]}
    return {
        "chapter": 4,
        "direct": list(chapters[4].builds_on),
        "prerequisites": prereq,
        "titles": {n: chapters[n].title for n in [*prereq, 4]},
        "tables": tables,
        "paper": {n: chapters[n].paper for n in [*prereq, 4]},
        "run_seconds": seconds,
        "total_run_seconds": sum(s or 0.0 for s in seconds.values()),
        "machine": None if record is None else record["run"].get("cpu"),
    }


def answer_plan_path(r: Mapping[str, Any]) -> str:
    direct = listing(r["direct"])
    titles = "; ".join(
        f"chapter {n}, *{r['titles'][n]}* ({r['paper'][n]})" for n in r["prerequisites"]
    )
    tables = listing(f"Table {t}" for t in r["tables"])
    return (
        f"**Read chapters {listing(r['prerequisites'])} first.** Chapter {r['chapter']} builds "
        f"directly on chapters {direct}, and those build on chapter 1, so the path is: {titles}. "
        "Chapter 1 gives the Toeplitz matrices $S_h$ that chapter 2 multiplies by gates into "
        "$A(u)$, chapter 3 the implicit filters inside them; chapter 4 trains that operator on "
        "recall (Sec. 4.1) and opens up $A(u)$ of the trained model. Chapter 5 (GPU kernels) "
        "is *not* needed for chapter 4.\n\n"
        f"**Paper tables you can compare with there:** {tables}. Chapter 4 takes them from "
        "`hyena_lab.paper` and compares them with its own runs at tiny scale (tens to hundreds "
        "of tokens, not the paper's tens of thousands): what carries over is the *ordering* of "
        "the mixers along the vocabulary axis, not the accuracies themselves, and the length "
        "axis of the first table is not reproduced at all.\n\n"
        f"On the recorded machine ({r['machine']}) these chapters run in "
        f"{fixed(r['total_run_seconds'], 0)} s together, chapter {r['chapter']} alone in "
        f"{fixed(r['run_seconds'][r['chapter']], 0)} s.\n\n"
        "*Likely misconception:* reading the tiny-scale accuracies as a reproduction of the "
        "tables' numbers. They reproduce orderings and mechanisms; the tables' absolute numbers "
        "come from models and sequence lengths a laptop cannot train."
    )


# --- chapter 0, exercise 2: read a checker -------------------------------------------------------


def _pow2_floor_fftconv(u: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """A plausible wrong answer: pad to a power of two computed with ``int`` (rounds down)."""
    L = u.shape[-1]
    n = 2 ** int(math.log2(2 * L))  # 2L itself when L is a power of two, less otherwise
    return torch.fft.irfft(torch.fft.rfft(u, n=n) * torch.fft.rfft(k, n=n), n=n)[..., :L]


def _pow2_default_n_fftconv(u: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """A plausible wrong answer: the smallest power of two >= 2L - 1, and ``irfft`` without ``n``
    (its default output length is even, ``2 (bins - 1)``: 0 when the FFT has one point)."""
    L = u.shape[-1]
    n = 2 ** math.ceil(math.log2(2 * L - 1))  # 1 at L = 1
    return torch.fft.irfft(torch.fft.rfft(u, n=n) * torch.fft.rfft(k, n=n))[..., :L]


def _failing_lengths(fn, lengths: list[int]) -> list[int]:
    """The lengths at which ``fn(u, k)`` differs from ``direct_conv`` (or raises), float64."""
    failing = []
    for L in lengths:
        g = _seeded(L)
        u = torch.randn(2, 3, L, generator=g, dtype=torch.float64)
        k = torch.randn(3, L, generator=g, dtype=torch.float64)
        try:
            y = fn(u, k)
            ok = y.shape == u.shape and torch.allclose(y, direct_conv(u, k), rtol=1e-8, atol=1e-8)
        except RuntimeError:
            ok = False
        if not ok:
            failing.append(L)
    return failing


def solve_read_checker(fast: bool = False) -> Results:
    """The lengths ``check_causal_fftconv`` tries (read off its verdict), and where two plausible
    wrong answers fail among them."""
    verdict = check_causal_fftconv(solution_causal_fftconv)
    found = re.search(r"at L = ([\d, ]+)", verdict.message)
    if not verdict.passed or found is None:
        raise RuntimeError(f"unexpected verdict of the reference solution: {verdict}")
    lengths = [int(x) for x in found.group(1).split(",")]
    bugs = {"pow2_floor": _pow2_floor_fftconv, "pow2_default_n": _pow2_default_n_fftconv}
    return {
        "lengths": lengths,
        "odd": [L for L in lengths if L % 2],
        "powers_of_two": [L for L in lengths if not L & L - 1],
        "failing": {name: _failing_lengths(fn, lengths) for name, fn in bugs.items()},
        "checker_passes": {name: check_causal_fftconv(fn).passed for name, fn in bugs.items()},
    }


def verdict(passed: bool) -> str:
    """The word a checker shows: ``PASS`` or ``NOT YET``."""
    return "PASS" if passed else "NOT YET"


def answer_read_checker(r: Mapping[str, Any]) -> str:
    verdicts = listing(f"`{n}` gets {verdict(p)}" for n, p in r["checker_passes"].items())
    floor, default = r["failing"]["pow2_floor"], r["failing"]["pow2_default_n"]
    return (
        f"**The lengths:** $L$ = {listing(r['lengths'])}, each on a batch of inputs with several "
        f"channels in float64. Of these, {listing(r['powers_of_two'])} are powers of two and "
        f"{listing(r['odd'])} are odd.\n\n"
        "**Why odd lengths and $L = 1$.** An FFT convolution written and tried only on powers of "
        "two can be wrong everywhere else, and the ways it goes wrong are common:\n\n"
        "* *Padding rounded down.* `n = 2 ** int(log2(2 * L))` is exactly $2L$ when $L$ is a "
        "power of two and *less than* $2L - 1$ otherwise, so the circular convolution wraps "
        "around (chapter 1, exercise 2). Tried on the checker's lengths it fails at "
        f"$L$ = {listing(floor)} only: without the odd lengths it would pass.\n"
        "* *`irfft` without `n`.* The inverse real FFT cannot know whether the signal had an even "
        "or odd number of points and assumes an even one, $2(\\text{bins} - 1)$. Padding to the "
        "smallest power of two $\\ge 2L - 1$ gives an FFT of one point at $L = 1$, whose inverse "
        f"then has zero points: it fails at $L$ = {listing(default)} only.\n\n"
        "So $L = 1$ (one tap, $y_0 = h_0 u_0$; the degenerate FFT) and odd lengths (no power "
        "of two, odd FFT sizes) are where shape and padding bugs show. The checker rejects both "
        f"wrong answers: {verdicts}."
        "\n\n*Likely misconception:* that a test on a few random inputs of one convenient size "
        "is enough. A checker should try the edge cases where a correct-looking program is "
        "wrong (Sec. 2.1's causal convolution is defined for every $L \\ge 1$)."
    )


# --- chapter 1, exercise 1: why S_g S_h = S_h S_g fails for D_x S_h ------------------------------


def solve_gated_products(fast: bool = False) -> Results:
    """Commutators and the distance from Toeplitz of ``S_g S_h``, ``D_x S_h`` and ``S_h D_x``, for
    a random gate ``x`` and a constant one, in float64 (seeded)."""
    L = 16 if fast else 64
    g = _seeded(1)
    h, f, x = (torch.randn(L, generator=g, dtype=torch.float64) for _ in range(3))
    S_h, S_f = toeplitz(h), toeplitz(f)
    rel = lambda A, B: float(torch.linalg.matrix_norm(A - B) / torch.linalg.matrix_norm(A))  # noqa: E731
    out: Results = {"L": L}
    out["toeplitz_product_err"] = rel(S_f @ S_h, toeplitz(direct_conv(f[None], h[None])[0]))
    out["toeplitz_commutator"] = rel(S_f @ S_h, S_h @ S_f)
    for name, gate in (("random", x), ("constant", torch.full((L,), 0.7, dtype=torch.float64))):
        D = torch.diag(gate)
        out[name] = {
            "commutator": rel(D @ S_h, S_h @ D),
            "defect_DS": toeplitz_defect(D @ S_h),
            "defect_SD": toeplitz_defect(S_h @ D),
        }
    n = 8  # the example drawn in the figure
    D = torch.diag(x[:n])
    out["example"] = {"S_h": S_h[:n, :n], "D_x S_h": D @ S_h[:n, :n], "S_h D_x": S_h[:n, :n] @ D}
    return out


def answer_gated_products(r: Mapping[str, Any]) -> str:
    rnd, const = r["random"], r["constant"]
    return (
        "**Why Toeplitz matrices commute.** With the shift matrix $Z$ (ones on the first "
        "subdiagonal), $S_h = \\sum_j h_j Z^j$ is a polynomial in $Z$ (Sec. 2.1, 3.2), and "
        "polynomials in one matrix commute: $S_g S_h = \\sum_{i,j} g_i h_j Z^{i+j} = S_{g * h}$ "
        "(lags $\\ge L$ vanish since $Z^L = 0$). Numerically, at "
        f"$L = {r['L']}$ in float64: $\\|S_f S_h - S_{{f*h}}\\| / \\|S_f S_h\\|$ = "
        f"{r['toeplitz_product_err']:.1e} and the commutator is {r['toeplitz_commutator']:.1e}, "
        "round-off.\n\n"
        "**Why it fails for $D_x S_h$.** $D_x$ is diagonal, and a diagonal matrix is a "
        "polynomial in $Z$ only when it is a multiple of $I$. Entry by entry, "
        "$(D_x S_h)[t, s] = x_t\\, h_{t-s}$ depends on $t$ and not only on the lag $t - s$, while "
        "$(S_h D_x)[t, s] = h_{t-s}\\, x_s$ depends on $s$: the two are different matrices and "
        "neither is Toeplitz. For a random gate, the commutator is "
        f"{pct(rnd['commutator'], 0)} of $\\|D_x S_h\\|$ and $D_x S_h$ is "
        f"{pct(rnd['defect_DS'], 0)} away from the nearest Toeplitz matrix (the mean of each "
        "diagonal); for a constant gate they are "
        f"{const['commutator']:.1e} and {const['defect_DS']:.1e}, round-off. That is "
        "the point of Hyena (Sec. 3.2): "
        "$A(u) = D_x^N S_h^N \\cdots D_x^1 S_h^1$ is *not* a convolution, its entries depend on "
        "where in the sequence they are and on the input through $x$; a product of Toeplitz "
        "matrices would only ever be one longer convolution, the same for every input.\n\n"
        "*Likely misconception:* that gating and convolving can be reordered, or that a chain of "
        "gated convolutions is one long convolution with a combined filter. That holds only for "
        "constant gates (chapter 2, exercise 1)."
    )


def figure_gated_products(r: Mapping[str, Any]):
    from ..viz import matrix_heatmap, new_figure

    fig, axes = new_figure((10.5, 3.4), 1, 3)
    for ax, (name, M) in zip(axes, r["example"].items(), strict=True):
        matrix_heatmap(ax, M, f"${name}$ (first {M.shape[0]} steps)", integer_ticks=True)
        ax.set(xlabel="input time s (step)", ylabel="output time t (step)")
    fig.suptitle(
        "S_h is constant along diagonals; gating by D_x breaks that, on one side or the other"
    )
    return fig


# --- chapter 1, exercise 3: where does the FFT start to win, and why channels matter -----------


def _relative_lstsq(Ls: list[int], ts: list[float], basis) -> list[float]:
    """Coefficients ``(c1, c2)`` of ``t(L) ~ c1 f1(L) + c2 f2(L)`` minimising the *relative*
    error, by the 2 x 2 normal equations in Python floats (the same bits on every call; a
    LAPACK solve can differ in the last bit from one call to the next)."""
    f1, f2 = basis
    rows = [(f1(L) / t, f2(L) / t) for L, t in zip(Ls, ts, strict=True)]  # target: 1 each
    aa = math.fsum(a * a for a, _ in rows)
    ab = math.fsum(a * b for a, b in rows)
    bb = math.fsum(b * b for _, b in rows)
    ya, yb = math.fsum(a for a, _ in rows), math.fsum(b for _, b in rows)
    det = aa * bb - ab * ab
    return [(ya * bb - yb * ab) / det, (yb * aa - ya * ab) / det]


def _crossover(t_fft, t_direct, max_length: int = 2**14) -> int | None:
    """Smallest ``L`` from which ``t_fft(L) < t_direct(L)`` at every longer ``L <= max_length``."""
    answer = None
    for L in range(max_length, 0, -1):
        if t_fft(L) >= t_direct(L):
            break
        answer = L
    return answer


def solve_fft_crossover(fast: bool = False) -> Results:
    """Counted work (any ``d``) and a time model fitted to the committed chapter-01 record:
    ``t_direct = a L + b d L (L + 1) / 2`` (a per-lag overhead and multiply-adds),
    ``t_fft = c + e d F(L)`` (a per-call overhead and the counted FFT FLOPs ``F``)."""
    from ..viz import load_data

    rec = load_data("01_long_convolutions-cpu_timing")
    d_rec, res = int(rec["channels"]), rec["results"]
    F = lambda L: fftconv_cost(1, 1, L).flops  # noqa: E731  counted FLOPs per channel
    a, b = _relative_lstsq(
        res["direct_conv"]["L"],
        res["direct_conv"]["seconds"],
        [lambda L: L, lambda L: d_rec * L * (L + 1) / 2],
    )
    c, e = _relative_lstsq(
        res["fftconv"]["L"], res["fftconv"]["seconds"], [lambda L: 1.0, lambda L: d_rec * F(L)]
    )
    t_dir = lambda L, d: a * L + b * d * L * (L + 1) / 2  # noqa: E731
    t_fft = lambda L, d: c + e * d * F(L)  # noqa: E731
    channels = [1, 64, d_rec]
    Ls = [2**p for p in range(1, 15)]
    lo, hi = 2**6, 2**11  # the record's direct_conv range: slopes over it
    slope = lambda d: math.log(t_dir(hi, d) / t_dir(lo, d)) / math.log(hi / lo)  # noqa: E731
    common = [L for L in res["fftconv"]["L"] if L in res["direct_conv"]["L"]]
    sec = {m: dict(zip(res[m]["L"], res[m]["seconds"], strict=True)) for m in res}
    work = {d: counted_conv_work(Ls, channels=d) for d in channels}
    return {
        "channels": channels,
        "record_channels": d_rec,
        "record_threads": rec["num_threads"],
        "machine": rec["processor"],
        "date": rec["date"],
        "counted_crossover": counted_crossover(),
        "counted_ratio_64": {
            d: work[d]["direct_conv"]["flops"][5] / work[d]["fftconv"]["flops"][5] for d in channels
        },
        "fit": {
            "a_us_per_lag": a * 1e6,
            "b_ns_per_mac": b * 1e9,
            "c_us": c * 1e6,
            "e_ps_per_flop": e * 1e12,
        },
        "model_crossover": {
            d: _crossover(lambda L, d=d: t_fft(L, d), lambda L, d=d: t_dir(L, d)) for d in channels
        },
        "work_only_crossover": _crossover(lambda L: e * F(L), lambda L: b * L * (L + 1) / 2),
        "quadratic_from": {d: 2 * a / (b * d) for d in channels},
        "model_slope": {d: slope(d) for d in channels},
        "slope_range": [lo, hi],
        "record_crossover": solution_crossover_length(
            common, [sec["fftconv"][L] for L in common], [sec["direct_conv"][L] for L in common]
        ),
        "record_first_L": common[0],
        "curves": {
            "L": Ls,
            **{f"direct d={d}": [t_dir(L, d) for L in Ls] for d in channels},
            **{f"fft d={d}": [t_fft(L, d) for L in Ls] for d in channels},
        },
        "record_points": {m: [res[m]["L"], res[m]["seconds"]] for m in ("fftconv", "direct_conv")},
    }


def answer_fft_crossover(r: Mapping[str, Any]) -> str:
    fit, d1, d64, dr = r["fit"], *r["channels"]
    xs, q, s = r["model_crossover"], r["quadratic_from"], r["model_slope"]
    lo, hi = r["slope_range"]
    return (
        f"**Counted work first.** Both counts are $d$ times a per-channel count, so their ratio "
        f"and the crossover do not depend on the channels: `fftconv` counts fewer FLOPs from "
        f"$L = {r['counted_crossover']}$ on, for $d$ = {d1}, {d64} or {dr} alike (at $L = 64$ the "
        f"definition counts {fixed(r['counted_ratio_64'][d1], 2)} times the FFT's FLOPs for "
        f"every $d$). A count cannot explain a crossover that moves with $d$ (Sec. 2.1 argues in "
        "FLOPs).\n\n"
        "**Time is not FLOPs.** `direct_conv` is a Python loop over the $L$ lags, each a few "
        "tensor operations over all channels, and `fftconv` is a fixed handful of calls. A time "
        "model with one overhead term each, fitted (relative least squares) to the committed "
        f"record ({r['machine']}, {r['record_threads']} thread, $d = {dr}$, {r['date']}):\n\n"
        f"* `direct_conv`: $t \\approx a L + b\\, d\\, L(L+1)/2$ with "
        f"$a$ = {fixed(fit['a_us_per_lag'], 1)} µs per lag and $b$ = "
        f"{fixed(fit['b_ns_per_mac'], 2)} ns per multiply-add;\n"
        f"* `fftconv`: $t \\approx c + e\\, d\\, F(L)$ with $c$ = {fixed(fit['c_us'], 0)} µs per "
        f"call and $e$ = {fixed(fit['e_ps_per_flop'], 0)} ps per counted FLOP.\n\n"
        f"The model's crossover is $L$ = {xs[d1]} for $d = {d1}$, {xs[d64]} for $d = {d64}$ and "
        f"{xs[dr]} for $d = {dr}$ (the record itself: `fftconv` is already faster at its "
        f"shortest length, $L = {r['record_first_L']}$, so its crossover reads as "
        f"{r['record_crossover']}). At small $L$ both times are overhead: the FFT wins once "
        "the loop's per-lag cost $aL$ exceeds the FFT's per-call cost $c$, which does not "
        "depend on $d$. Only with many channels does the work decide, and per unit of work the "
        f"two run at different rates: the work-only limit ($d \\to \\infty$) is $L$ = "
        f"{r['work_only_crossover']}, below the counted {r['counted_crossover']} because the "
        "FFT's FLOPs run faster than the loop's. Expect a crossover at a few to a few tens of "
        "taps on your machine, set by the two overheads for any moderate $d$ and moving toward "
        "the work-only limit only as $d$ grows large; never the counted value.\n\n"
        "**The slope is what channels really move.** The loop's cost turns quadratic only where "
        f"$b\\,d\\,L^2/2$ overtakes $aL$, i.e. from $L \\approx 2a/(bd)$: "
        f"{fixed(q[d1], 0)} for $d = {d1}$, {fixed(q[d64], 0)} for $d = {d64}$, "
        f"{fixed(q[dr], 0)} for $d = {dr}$. Over $L$ = {lo}..{hi} the model's log-log slope of "
        f"`direct_conv` is {fixed(s[d1], 2)}, {fixed(s[d64], 2)} and {fixed(s[dr], 2)}: with one "
        "channel the definition looks *linear* (a loop of fixed-cost steps), with hundreds it "
        "looks quadratic. That is why the chapter times $d = 512$.\n\n"
        "*Likely misconception:* that a measured crossover or slope is the algorithm's. It is "
        "the algorithm's work plus the implementation's overheads on one machine; assert growth "
        "claims on counted work, and read timings against a model with overhead terms."
    )


def figure_fft_crossover(r: Mapping[str, Any]):
    from ..viz import loglog, new_figure

    fig, ax = new_figure((6.8, 4.2))
    curves = r["curves"]
    for i, d in enumerate(r["channels"]):
        color = f"C{i}"
        ax.plot(curves["L"], curves[f"direct d={d}"], "-", color=color, label=f"direct, d = {d}")
        ax.plot(curves["L"], curves[f"fft d={d}"], "--", color=color, label=f"fft, d = {d}")
    for (m, (Ls, ts)), marker in zip(r["record_points"].items(), "os", strict=True):
        ax.plot(
            Ls, ts, marker, color="k", mfc="none", label=f"record {m}, d = {r['record_channels']}"
        )
    loglog(ax, "seconds per call (model)", "time model fitted to the committed record")
    ax.legend(fontsize=7, ncol=2)
    return fig


# --- chapter 2, exercise 1: constant gates make one filter, on paper -----------------------------


def solve_constant_gates(fast: bool = False) -> Results:
    """The identity ``c (S_h2 + b2 I) a (S_h1 + b1 I) = a c S_f`` with
    ``f = (h2 + b2 d) * (h1 + b1 d)``, on a seeded operator's channel-0 filters in float64, and
    what a non-constant gate does."""
    from ..filters import seeded
    from ..operator import HyenaOperator

    L = 12 if fast else 48
    with seeded(7):
        op = HyenaOperator(2, L, order=2).double()
    with torch.no_grad():
        h, b = op.filters(L)[:, 0], op.bias.detach()[:, 0]  # (2, L), (2,)
    a, c = 0.7, -1.3
    S1, S2 = toeplitz(h[0], b[0]), toeplitz(h[1], b[1])  # skip terms on the diagonals
    h1, h2 = h[0].clone(), h[1].clone()
    h1[0] += b[0]
    h2[0] += b[1]
    f = a * c * direct_conv(h2[None], h1[None])[0]
    A = c * S2 @ (a * S1)
    x = 1 + 0.5 * torch.randn(L, generator=_seeded(3), dtype=torch.float64)
    one_gate = c * S2 @ torch.diag(x) @ S1  # the first gate varies, the second is constant
    no_skip = a * c * direct_conv(h[1][None], h[0][None])[0]
    rel = lambda M: float(torch.linalg.matrix_norm(M - toeplitz(f)) / torch.linalg.matrix_norm(M))  # noqa: E731
    return {
        "L": L,
        "a": a,
        "c": c,
        "err_constant": rel(A),
        "defect_constant": toeplitz_defect(A),
        "defect_one_gate": toeplitz_defect(one_gate),
        "err_without_skip": float(
            torch.linalg.vector_norm(toeplitz(no_skip) - A) / torch.linalg.vector_norm(A)
        ),
    }


def answer_constant_gates(r: Mapping[str, Any]) -> str:
    return (
        "**On paper.** With constant gates, $D_{x^1} = aI$ and $D_{x^2} = cI$ commute with "
        "every matrix. The skip term $b^n$ of each long convolution sits on the diagonal, "
        "$S_{h^n} + b^n I$, and that is itself a Toeplitz matrix, of the filter "
        "$\\tilde h^n = h^n + b^n \\delta$ ($b^n$ added to tap 0). So the order-2 matrix is\n\n"
        "$$A = cI\\, S_{\\tilde h^2}\\, aI\\, S_{\\tilde h^1} = ac\\, S_{\\tilde h^2} "
        "S_{\\tilde h^1} = ac\\, S_{\\tilde h^2 * \\tilde h^1} = S_f, \\qquad "
        "f = ac\\, (\\tilde h^2 * \\tilde h^1),$$\n\n"
        "using $S_g S_h = S_{g*h}$ (chapter 1, exercise 1): one long convolution, the same "
        "for every input (Sec. 3.1-3.2).\n\n"
        f"**Checked** on channel 0 of a seeded operator at $L = {r['L']}$, $a = {r['a']}$, "
        f"$c = {r['c']}$, float64: $\\|A - S_f\\| / \\|A\\|$ = {r['err_constant']:.1e} "
        f"(round-off), and $A$ is Toeplitz to {r['defect_constant']:.1e}. Forgetting the skip "
        f"terms leaves a relative error of {pct(r['err_without_skip'], 0)}. Let one gate vary "
        f"and the product is {pct(r['defect_one_gate'], 0)} away from the nearest Toeplitz "
        "matrix: no single filter describes it.\n\n"
        "*Likely misconception:* that Hyena's expressivity comes from long filters alone. "
        "With constant gates the whole order-$N$ operator collapses to one convolution; it is "
        "the data-controlled gates $x^n(u)$ that make $A(u)$ depend on the input (Sec. 3.2)."
    )


# --- the claims the answers make (asserted by the tests and by course/solutions.py) -------


def claims_ch00_ex1(r: Mapping[str, Any]) -> None:
    claim(r["prerequisites"] == [1, 2, 3], "read chapters 1, 2 and 3 first")
    claim(5 not in r["prerequisites"], "chapter 5 is not needed for chapter 4")
    claim(set(r["direct"]) == {2, 3}, "chapter 4 builds directly on chapters 2 and 3")
    claim(r["tables"] == ["4.2", "A.2", "C.1"], "chapter 4 compares with Tables 4.2, A.2, C.1")


def claims_ch00_ex2(r: Mapping[str, Any]) -> None:
    claim(1 in r["lengths"] and r["odd"], "L = 1 and odd lengths are among the lengths")
    odd_only = set(r["failing"]["pow2_floor"])
    claim(odd_only and odd_only <= set(r["odd"]), "rounding down fails at odd lengths only")
    claim(r["failing"]["pow2_default_n"] == [1], "irfft without n fails at L = 1 only")
    claim(not any(r["checker_passes"].values()), "the checker rejects both wrong answers")


def claims_ch01_ex1(r: Mapping[str, Any]) -> None:
    # float64 round-off of products of L <= 64 terms: far below 1e-12
    claim(r["toeplitz_product_err"] < 1e-12, "S_f S_h = S_(f*h) to round-off")
    claim(r["toeplitz_commutator"] < 1e-12, "Toeplitz matrices commute to round-off")
    claim(r["constant"]["commutator"] < 1e-12 and r["constant"]["defect_DS"] < 1e-12,
          "a constant gate commutes and stays Toeplitz")  # fmt: skip
    claim(r["random"]["commutator"] > 0.1 and r["random"]["defect_DS"] > 0.1,
          "a random gate neither commutes nor stays Toeplitz")  # fmt: skip


def claims_ch01_ex3(r: Mapping[str, Any]) -> None:
    ds = r["channels"]
    claim(len(set(r["counted_ratio_64"].values())) == 1, "counted work does not depend on d")
    claim(all(x <= r["counted_crossover"] for x in r["model_crossover"].values()),
          "the timed crossover lies below the counted one")  # fmt: skip
    claim(r["work_only_crossover"] < r["counted_crossover"], "the work-only limit is below it")
    slopes = [r["model_slope"][d] for d in ds]
    claim(slopes == sorted(slopes) and slopes[0] < 1.2 < slopes[-1],
          "the slope of direct_conv grows from about 1 to near 2 with d")  # fmt: skip
    q = [r["quadratic_from"][d] for d in ds]
    claim(q == sorted(q, reverse=True), "the loop turns quadratic earlier with more channels")
    claim(r["record_crossover"] == r["record_first_L"], "the record's FFT wins from its first L")


def claims_ch02_ex1(r: Mapping[str, Any]) -> None:
    claim(r["err_constant"] < 1e-12 and r["defect_constant"] < 1e-12,
          "constant gates give one Toeplitz matrix, to round-off")  # fmt: skip
    claim(r["err_without_skip"] > 0.05, "forgetting the skip terms is wrong")
    claim(r["defect_one_gate"] > 0.05, "one varying gate breaks the Toeplitz form")


WORKED = (
    WorkedSolution(
        "ch00_ex1",
        0,
        1,
        "**Plan your path.** Which chapters must you read before chapter 4, and which paper "
        "tables will you be able to compare with your own results there?",
        solve_plan_path,
        answer_plan_path,
        paper="Sec. 4.1; Tables 4.2, A.2, C.1",
        claims=claims_ch00_ex1,
    ),
    WorkedSolution(
        "ch00_ex2",
        0,
        2,
        '**Read a checker.** Call `exercises.show_solution("causal_fftconv")` and '
        "`help(exercises.check_causal_fftconv)`. On which lengths $L$ is your FFT convolution "
        "tested, and why are odd lengths and $L = 1$ among them?",
        solve_read_checker,
        answer_read_checker,
        paper="Sec. 2.1",
        claims=claims_ch00_ex2,
    ),
    WorkedSolution(
        "ch01_ex1",
        1,
        1,
        "Why does this fail for the products $D_x S_h$ that Hyena builds?",
        solve_gated_products,
        answer_gated_products,
        figure_gated_products,
        paper="Sec. 2.1, 3.2",
        claims=claims_ch01_ex1,
    ),
    WorkedSolution(
        "ch01_ex3",
        1,
        3,
        "At which $L$ does `fftconv` become faster than `direct_conv` in each case, and why "
        "does the number of channels move the crossover and the slope of `direct_conv`?",
        solve_fft_crossover,
        answer_fft_crossover,
        figure_fft_crossover,
        paper="Sec. 2.1",
        claims=claims_ch01_ex3,
    ),
    WorkedSolution(
        "ch02_ex1",
        2,
        1,
        "Show on paper that if $x^1 \\equiv a$ and $x^2 \\equiv c$ are constant, the order-2 "
        "matrix is $a c\\, S_{h^2} S_{h^1}$, the Toeplitz matrix of the single filter "
        "$h^2 * h^1$ (skip terms included).",
        solve_constant_gates,
        answer_constant_gates,
        paper="Sec. 3.1-3.2",
        claims=claims_ch02_ex1,
    ),
)
