"""Worked solutions of the open exercise parts of chapter 3 (implicit filters, Sec. 3.3,
App. D.3): the cutoff law of the filters at initialisation, the decay window of eq. (7) seen
through ``ImplicitFilter.window``, and how well an SSM represents an implicit filter."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ..distill import fit_modal, hankel_singular_values
from ..filters import ImplicitFilter, SSMFilter, emb_dim_for_bands, seeded
from ..spectra import high_frequency_fraction, spectral_cutoff
from .ch03 import solution_decay_fraction
from .worked_common import Results, WorkedSolution, claim, fixed, listing, pct

# --- exercise 1: the cutoff law -------------------------------------------------------------------

#: The three settings of the exercise: the chapter's (w = 1), a wider FFN, a higher frequency.
CUTOFF_SETTINGS: dict[str, dict[str, float]] = {
    "w = 1": {"w": 1.0},
    "filter_order 256": {"w": 1.0, "filter_order": 256},
    "w = 2": {"w": 2.0},
}


def solve_cutoff_law(fast: bool = False) -> Results:
    """The 99% band ``b`` of ``ImplicitFilter(64, 256, emb_dim=2K+1, modulate=False)`` at
    ``L = 256`` for ``K = 1..32`` (``fast``: ``1..8``) in each of :data:`CUTOFF_SETTINGS`."""
    L, channels = 256, 64
    bands = list(range(1, 9 if fast else 33))
    out: Results = {"L": L, "channels": channels, "bands": bands, "bins": L // 2 + 1}
    for name, hyper in CUTOFF_SETTINGS.items():
        b, above = [], []
        for K in bands:
            with seeded(0):
                filt = ImplicitFilter(
                    channels, L, emb_dim=emb_dim_for_bands(K), modulate=False, **hyper
                )
            with torch.no_grad():
                h = filt(L)  # (channels, L)
            b.append(spectral_cutoff(h, 0.99))
            above.append(high_frequency_fraction(h, K))
        slope = sum(x * y for x, y in zip(bands, b, strict=True)) / sum(x * x for x in bands)
        out[name] = {
            "b": b,
            "energy_above_K": above,
            "equal_K": [K for K, x in zip(bands, b, strict=True) if x == K],
            "slope": slope,
            "max_above_K": max(above[1:]),
        }
    return out


def answer_cutoff_law(r: Mapping[str, Any]) -> str:
    w1, wide, w2 = (r[name] for name in CUTOFF_SETTINGS)
    K = r["bands"]
    not_k = [(k, b) for k, b in zip(K, w1["b"], strict=True) if b != k]
    exceptions = listing(f"$K = {k}$ ($b = {b}$)" for k, b in not_k) or "none"
    return (
        f"**With $\\omega = 1$: yes, $b = K$**, for {len(w1['equal_K'])} of the "
        f"{len(K)} values of $K$ = {K[0]}..{K[-1]} at $L = {r['L']}$ ({r['channels']} filters, "
        f"{r['bins']} rfft bins); the exceptions: {exceptions}. From $K = 2$ on, at most "
        f"{pct(w1['max_above_K'], 2)} of the energy lies at bins $\\ge K$. The reason is the one "
        "of the chapter: with $\\omega = 1$ and the default initialisation the pre-activations "
        "are small, $\\sin x \\approx x$, the FFN is nearly linear, and a linear map of the "
        "features holds only their frequencies, bins $0..K-1$ (App. D.3). At $K = 1$ the only "
        "band is the constant one, and the remaining feature, the ramp $t$, is not band-limited "
        "(a ramp jumps where the FFT's periodic extension wraps), so a few bins are needed.\n\n"
        f"**`filter_order` 256**: $b = K$ for {len(wide['equal_K'])} of the {len(K)} values as "
        "well: a wider FFN is still nearly linear at initialisation (each `nn.Linear` scales "
        "its weights by one over the square root of its fan-in, so the pre-activations keep "
        "their size). Width adds capacity for training, not frequencies at initialisation.\n\n"
        f"**$\\omega = 2$**: the band grows faster than $K$, $b \\approx "
        f"{fixed(w2['slope'], 2)}\\,K$ (least squares through 0; $b = {w2['b'][-1]}$ at "
        f"$K = {K[-1]}$), and $b = K$ only for {len(w2['equal_K'])} of the {len(K)} values. "
        "$\\sin(2x)$ is no longer close to linear on the pre-activations' range, and each of "
        "the three sine layers creates sums and differences of the features' frequencies "
        "(harmonics). At $\\omega = 10$ (the chapter) the filters fill the whole spectrum.\n\n"
        "*Likely misconception:* that the number of bands $K$ alone sets the cutoff, or that "
        "D.3's \"near $2K+1$\" (the encoding's size) is the band. The band is $K$ bins while the "
        "FFN stays linear; the sine frequency $\\omega$, not the width, decides when it stops "
        "being linear."
    )


def figure_cutoff_law(r: Mapping[str, Any]):
    from ..viz import new_figure

    fig, ax = new_figure((6.0, 4.0))
    for name, marker in zip(CUTOFF_SETTINGS, "os^", strict=True):
        ax.plot(r["bands"], r[name]["b"], marker, ms=4, label=name)
    ax.plot(r["bands"], r["bands"], "k:", lw=1, label="b = K")
    ax.set(
        xlabel="bands K (emb_dim = 2K + 1)",
        ylabel="99% band b (rfft bins)",
        title=f"implicit filters at initialisation, no window, L = {r['L']}",
    )
    ax.legend()
    return fig


# --- exercise 2: the decay window, seen through ImplicitFilter.window -----------------------------


def solve_window(fast: bool = False) -> Results:
    """Where each channel's window reaches ``target``: the formula of the graded part against the
    first position of ``ImplicitFilter(D, l_max).window(l_max)`` at or below it."""
    D, l_max = 64, 256  # cheap: the same in both modes
    filt = ImplicitFilter(D, l_max)  # the default window: 0.3 .. 1.5 of the sequence, 1e-2
    m = filt.modulation
    W = filt.window(l_max).double()  # (D, l_max)
    formula = [solution_decay_fraction(c, D, m.fast_decay_pct, m.slow_decay_pct) for c in range(D)]
    below = W <= m.target
    first = [int(row.nonzero()[0]) if row.any() else None for row in below]  # first position
    # the window is sampled at t_n = n / (l_max - 1): the crossing lies between n - 1 and n
    agree = sum(
        f is not None and (f - 1) / (l_max - 1) <= t <= f / (l_max - 1)
        for f, t in zip(first, formula, strict=True)
    )
    short = 64  # a shorter input on the same filter: its first rows
    return {
        "D": D,
        "l_max": l_max,
        "target": m.target,
        "fast_pct": m.fast_decay_pct,
        "slow_pct": m.slow_decay_pct,
        "t_c": formula,
        "first_below": first,
        "agree": agree,
        "inside": sum(t <= 1 for t in formula),
        "median_t": sorted(formula)[D // 2],
        "t_mid_channel": formula[D // 2],
        "t_linear_mid": (m.fast_decay_pct + m.slow_decay_pct) / 2,
        "short_L": short,
        "short_equal": bool(torch.equal(filt.window(short), W[:, :short].float())),
        "fastest_position": round(m.fast_decay_pct * (l_max - 1)),
        "windows": W[:: max(1, D // 8)],
        "channels_drawn": list(range(0, D, max(1, D // 8))),
    }


def answer_window(r: Mapping[str, Any]) -> str:
    D, inside = r["D"], r["inside"]
    return (
        "**The formula.** Channel $c$ decays as $e^{-|\\delta_c| t}$ with rates spaced "
        "*linearly* from the slowest, $\\ln(\\text{target})/\\text{slow}$, to the fastest, "
        "$\\ln(\\text{target})/\\text{fast}$ (eq. 7, Sec. 3.3), so it reaches target at "
        "$t_c = 1 / (1/\\text{slow} + \\tfrac{c}{D-1}(1/\\text{fast} - 1/\\text{slow}))$: the "
        f"fractions run *harmonically* from {r['fast_pct']} (channel $D - 1$) to "
        f"{r['slow_pct']} (channel 0). With the defaults and $D = {D}$, the middle channel "
        f"reaches target at {fixed(r['t_mid_channel'], 3)} of the sequence, not at "
        f"{fixed(r['t_linear_mid'], 3)} as linear spacing would give: most channels are fast.\n\n"
        f"**Seen through `ImplicitFilter.window`** (`ImplicitFilter({D}, {r['l_max']})`): the "
        "first position at or below target is the formula's $t_c$ rounded up to the next "
        f"sample for {r['agree']} of the {D} channels, every channel that gets there: only "
        f"{inside} of the {D} reach target inside the sequence at all ($t_c \\le 1$); the "
        "others end above it, "
        f"since the slowest channel is set to reach it at {r['slow_pct']} of the sequence.\n\n"
        "**Of which sequence?** The window's time is $t_n = n/(l_{\\max} - 1)$, fixed by "
        "`l_max`, not by the input: a filter evaluated at a shorter $L$ uses the first $L$ "
        f"rows (`window({r['short_L']})` equals the first {r['short_L']} columns of "
        f"`window({r['l_max']})`, exactly). With `l_max` = {r['l_max']}, even the "
        f"fastest channel reaches target only at position {r['fastest_position']}: on inputs "
        f"of {r['short_L']} tokens it never does.\n\n"
        "*Likely misconception:* that the window's percentages are of the input's length, or "
        "that the channels' memories are spread evenly between the two percentages. They are "
        "fractions of `l_max`, spaced harmonically: in a model built with a large `l_max` and "
        "run on short inputs, no channel's window decays to its target inside the input."
    )


def figure_window(r: Mapping[str, Any]):
    from ..viz import new_figure

    fig, ax = new_figure((6.4, 4.0))
    n = torch.arange(r["l_max"])
    for c, w in zip(r["channels_drawn"], r["windows"], strict=True):
        ax.semilogy(n, w, label=f"channel {c}")
    ax.axhline(r["target"], color="k", ls=":", lw=1, label="target")
    ax.set(
        xlabel="position n (tokens)",
        ylabel="window value",
        title=f"default decay window, D = {r['D']}, l_max = {r['l_max']}",
    )
    ax.legend(fontsize=7, ncol=2)
    return fig


# --- exercise 3: an SSM fitted to an implicit filter ----------------------------------------------


def _implicit_target(L: int, w: float) -> torch.Tensor:
    """One implicit filter at initialisation (seed 0, defaults, window on), float64 ``(1, L)``."""
    with seeded(0):
        filt = ImplicitFilter(1, L, w=w)
    with torch.no_grad():
        return filt(L).double()


def _fit_ssm(h: torch.Tensor, d_state: int, steps: int, lr: float) -> tuple[float, torch.Tensor]:
    """Fit ``SSMFilter(1, L, d_state)`` (S4D-Lin init, seed 1) to ``h`` ``(1, L)`` by Adam on the
    squared difference of the kernels, a cosine learning rate; its relative error and kernel."""
    L = h.shape[-1]
    with seeded(1):
        ssm = SSMFilter(1, L, d_state=d_state).double()
    opt = torch.optim.Adam(ssm.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for _ in range(steps):
        opt.zero_grad()
        ((ssm(L) - h) ** 2).sum().backward()
        opt.step()
        schedule.step()
    with torch.no_grad():
        k = ssm(L)
    return float(torch.linalg.vector_norm(k - h) / torch.linalg.vector_norm(h)), k


def solve_ssm_fit(fast: bool = False) -> Results:
    """Relative error of an SSM fitted by gradient descent to the implicit filter at
    initialisation with ``w = 10`` against the state size ``N``; the error of a Hankel
    (model-reduction) fit of the same order; the Hankel singular values, and for contrast the
    same for ``w = 1``."""
    L, lr = 256, 3e-2
    states = [2, 8, 32] if fast else [2, 4, 8, 16, 32, 64]
    steps = 200 if fast else 1000
    rel = lambda k, h: float(torch.linalg.vector_norm(k - h) / torch.linalg.vector_norm(h))  # noqa: E731
    out: Results = {"L": L, "lr": lr, "steps": steps, "states": states}
    for w in (10.0, 1.0):
        h = _implicit_target(L, w)
        sv = hankel_singular_values(h)[0]
        entry = {
            "hankel": (sv / sv[0])[:16].tolist(),
            "modal_err": [rel(fit_modal(h, N).kernel(L), h) for N in states],
        }
        if w == 10.0:
            fits = [_fit_ssm(h, N, steps, lr) for N in states]
            entry["gd_err"] = [e for e, _ in fits]
            entry["h"], entry["gd_kernel"] = (
                h[0],
                {N: k[0] for N, (_, k) in zip(states, fits, strict=True)},
            )
        out[f"w={w:g}"] = entry
    out["hankel_index"] = 12  # which singular value the answer quotes
    out["hankel_10_at_12"] = out["w=10"]["hankel"][out["hankel_index"] - 1]
    out["hankel_1_at_3"] = out["w=1"]["hankel"][2]
    return out


def answer_ssm_fit(r: Mapping[str, Any]) -> str:
    w10, w1, N = r["w=10"], r["w=1"], r["states"]
    gd = listing(f"{pct(e, 1)} ($N = {n}$)" for n, e in zip(N, w10["gd_err"], strict=True))
    modal = listing(f"{pct(e, 1)}" for e in w10["modal_err"])
    return (
        f"**How the error falls.** Fitted by Adam ({r['steps']} steps, learning rate {r['lr']}, "
        "cosine) from the S4D-Lin initialisation, the relative error "
        f"$\\|K - h\\| / \\|h\\|$ at $L = {r['L']}$ is {gd}: it falls with $N$, quickly at "
        "first, then slowly. Gradient descent is not the whole story: a direct model "
        "reduction (the Hankel fit of chapter 7, `distill.fit_modal`, a sum of the same kind "
        f"of damped modes) reaches {modal} at the same $N$. So an SSM of a few tens of states "
        "*can* represent this filter to a few percent; gradient descent on the poles is "
        "non-convex and finds worse fits than the family holds (try other learning rates: "
        "the plateau moves).\n\n"
        "**What it says.** An SSM's kernel is a sum of $N$ damped complex exponentials "
        "$2\\,\\mathrm{Re}\\sum_n C_n \\bar A_n^t \\bar B_n$, i.e. a filter whose Hankel matrix "
        "$H_{ij} = h_{i+j}$ has rank at most $N$. The Hankel singular values measure how far a "
        "filter is from that: for the $\\omega = 10$ filter they fall slowly (number "
        f"{r['hankel_index']} is still {pct(r['hankel_10_at_12'], 0)} of the first), for a "
        f"smooth $\\omega = 1$ filter the third is already {r['hankel_1_at_3']:.1e} of the "
        f"first, and {r['states'][0]} states fit it to a relative error of "
        f"{w1['modal_err'][0]:.1e}. SSMs represent smooth, few-mode filters cheaply and "
        "rough, broadband ones (what $\\omega = 10$ gives at initialisation, App. D.3) only "
        "with many states; the implicit FFN produces either with the same parameter count "
        "(Sec. 3.3). That is one reason H3's SSM filters trail the implicit ones in Table A.2.\n\n"
        "*Likely misconception:* that a large enough state always fixes the fit, or that a "
        "bad gradient-descent fit proves the family cannot represent the filter. Tell "
        "capacity (the Hankel singular values, a direct fit) from optimisation (the plateau "
        "of gradient descent) before concluding."
    )


def figure_ssm_fit(r: Mapping[str, Any]):
    from ..viz import new_figure

    fig, (ax_err, ax_k) = new_figure((10.0, 3.8), 1, 2)
    N = r["states"]
    ax_err.semilogy(N, r["w=10"]["gd_err"], "o-", label="w = 10, gradient descent")
    ax_err.semilogy(N, r["w=10"]["modal_err"], "s--", label="w = 10, Hankel fit")
    ax_err.semilogy(
        N, [max(e, 1e-16) for e in r["w=1"]["modal_err"]], "^:", label="w = 1, Hankel fit"
    )
    ax_err.set_xscale("log", base=2)
    ax_err.set(
        xlabel="state size N",
        ylabel="relative error ||K - h|| / ||h||",
        title="SSM fitted to an implicit filter",
    )
    ax_err.legend(fontsize=8)
    ax_k.plot(r["w=10"]["h"], "k", lw=1.5, label="implicit filter, w = 10")
    for n in (N[0], N[-1]):
        ax_k.plot(r["w=10"]["gd_kernel"][n], lw=1, label=f"SSM, N = {n}")
    ax_k.set(xlabel="lag t (steps)", ylabel="filter value h_t", title="kernels")
    ax_k.legend(fontsize=8)
    return fig


# --- the claims the answers make (asserted by the tests and by course/solutions.py) -------


def claims_ch03_ex1(r: Mapping[str, Any]) -> None:
    w1, wide, w2 = (r[name] for name in CUTOFF_SETTINGS)
    claim(set(r["bands"]) - set(w1["equal_K"]) <= {1}, "b = K with w = 1, except K = 1")
    claim(w1["b"][0] > 1, "at K = 1 the ramp needs more than one bin")
    claim(set(r["bands"]) - set(wide["equal_K"]) <= {1}, "b = K with filter_order 256 too")
    claim(w2["slope"] > 1.2 and all(b >= K for K, b in zip(r["bands"], w2["b"], strict=True)),
          "with w = 2 the band grows faster than K")  # fmt: skip


def claims_ch03_ex2(r: Mapping[str, Any]) -> None:
    claim(r["agree"] == r["inside"] < r["D"], "the window reaches target where the formula says, "
          "and only some channels reach it inside the sequence")  # fmt: skip
    claim(r["t_mid_channel"] < r["t_linear_mid"], "the fractions are harmonic, not linear")
    claim(r["short_equal"], "a shorter input uses the first rows of the window")
    claim(r["fastest_position"] > r["short_L"], "on short inputs no channel reaches target")


def claims_ch03_ex3(r: Mapping[str, Any]) -> None:
    gd, modal = r["w=10"]["gd_err"], r["w=10"]["modal_err"]
    claim(gd[-1] < gd[0] and modal[-1] < modal[0], "the error falls with N")
    claim(modal[-1] < 0.1, "an SSM of a few tens of states can represent it to a few percent")
    claim(min(modal[1:]) < min(gd[1:]), "gradient descent finds worse fits than the family holds")
    claim(r["hankel_10_at_12"] > 0.05, "the w = 10 filter's Hankel singular values fall slowly")
    claim(r["hankel_1_at_3"] < 1e-3 and r["w=1"]["modal_err"][0] < 1e-3,
          "a smooth w = 1 filter is fitted by two states")  # fmt: skip


WORKED = (
    WorkedSolution(
        "ch03_ex1",
        3,
        1,
        "Then, with `modulate=False` and $\\omega = 1$, measure the 99% band of "
        "`ImplicitFilter(64, 256, emb_dim=2K+1)` for $K = 1, \\dots, 32$ at $L = 256$. Is it "
        "still $b = K$? What happens if you raise `filter_order` to 256, or set $\\omega = 2$?",
        solve_cutoff_law,
        answer_cutoff_law,
        figure_cutoff_law,
        paper="Sec. 3.3, App. D.3",
        claims=claims_ch03_ex1,
    ),
    WorkedSolution(
        "ch03_ex2",
        3,
        2,
        "For the default window, at what fraction of the sequence does channel $c$ of $D$ reach "
        "`target`? Write the formula in terms of `fast_decay_pct`, `slow_decay_pct` and $c$ "
        "(graded: `check_decay_fraction`), then look at it with `ImplicitFilter.window`.",
        solve_window,
        answer_window,
        figure_window,
        paper="Sec. 3.3, eq. (7)",
        claims=claims_ch03_ex2,
    ),
    WorkedSolution(
        "ch03_ex3",
        3,
        3,
        "Then fit an `SSMFilter(1, 256, d_state=N)` by gradient descent to an implicit filter "
        "at initialisation with $\\omega = 10$ (minimise the squared difference of the two "
        "kernels). How does the error fall with $N$? What does that say about which filters an "
        "SSM can represent?",
        solve_ssm_fit,
        answer_ssm_fit,
        figure_ssm_fit,
        paper="Sec. 3.3, App. D.3, Table A.2",
        claims=claims_ch03_ex3,
    ),
)
