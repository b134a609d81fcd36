"""Worked solutions of the open exercises of chapter 8 (multi-query recall, Zoology, Arora
et al. 2023): the recorded runs closest to 6,000 steps at width 128, where uniformly spread
queries fall for a decaying filter, and the FLOPs of a wider Hyena against a narrow attention.
The answers rest on the committed records under ``figures/data/08_*``, the task's data and
counted FLOPs (``hyena_lab.roofline``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from .. import roofline
from ..tasks import mqar
from .worked_ch07 import _record
from .worked_common import Results, WorkedSolution, claim, fixed, listing, pct

# --- chapter 8, exercise 1: width 128 at L 64, 6,000 steps ----------------------------------------


def _pick(record: Mapping[str, Any], mixer: str) -> list[dict]:
    """The runs of ``mixer`` at width 128, length 64, 4 pairs in a grid record."""
    key = ("mixer", "width", "seq_len", "pairs")
    return [r for r in record["results"] if tuple(r[k] for k in key) == (mixer, 128, 64, 4)]


def solve_mqar_steps(fast: bool = False) -> Results:
    """The recorded Hyena runs closest to the exercise (width 128, L 64, 4 pairs): test accuracy,
    steps, and how much validation accuracy still moved over the last quarter of each run."""
    long = _record("08_mqar-gpu_grid-hyena_long", "mqar-grid")
    grid = _record("08_mqar-gpu_grid", "mqar-grid")
    runs = []
    for rec in (long, grid):
        vocab = rec["config"].get("vocab_size") or rec["config"]["64"]["vocab_size"]
        for r in _pick(rec, "hyena"):
            steps, acc = r["valid_curve"]["step"], r["valid_curve"]["valid_accuracy"]
            cut = next(i for i, s in enumerate(steps) if s >= 0.75 * steps[-1])
            runs.append(
                {
                    "lr": r["lr"],
                    "steps": r["steps"],
                    "test_accuracy": r["test_accuracy"],
                    "last_quarter_gain": acc[-1] - acc[cut],
                    "from_step": steps[cut],
                    "stopped": r["stopped"],
                    "vocab": vocab,
                }
            )
    attention = [
        {"lr": r["lr"], "steps": r["steps"], "test_accuracy": r["test_accuracy"]}
        for r in _pick(grid, "attention")
    ]
    best = max(runs, key=lambda x: x["test_accuracy"])
    return {
        "runs": runs,
        "attention": attention,
        "best": best,
        "solved_at": long["solved_at"],
        "device": long["run"]["device"],
        "asked_steps": 6000,
        "width": 128,
        "seq_len": 64,
        "pairs": 4,
    }


def answer_mqar_steps(r: Mapping[str, Any]) -> str:
    b = r["best"]
    runs = "; ".join(
        f"lr {x['lr']:g}: {pct(x['test_accuracy'])} after {x['steps']:,} steps, "
        f"{fixed(100 * x['last_quarter_gain'], 1)} points gained after step "
        f"{x['from_step']:,}"
        for x in r["runs"]
    )
    attn = listing(
        f"{x['steps']:,} steps (lr {x['lr']:g}, {pct(x['test_accuracy'])})" for x in r["attention"]
    )
    reached = "reaches" if b["test_accuracy"] >= r["solved_at"] else "does not reach"
    return (
        f"**From the recorded runs** (width {r['width']}, $L = {r['seq_len']}$, {r['pairs']} "
        f"pairs, {r['device']}): {runs}. The best {reached} {pct(r['solved_at'], 0)}: "
        f"{pct(b['test_accuracy'])}. Over the last quarter of the longest runs validation "
        "accuracy barely moves: a plateau, not a run cut short, so "
        f"{r['asked_steps']:,} steps of the same recipe are unlikely to get there. Attention "
        f"of the same width solves the same setting in {attn}.\n\n"
        "**Why.** A gated convolution must carry each key-value association from where it is "
        "written to every later query through fixed filters and $d$ channels: one state of "
        "fixed size holds all of them at once (Zoology; chapter 8, Section 2). Attention looks "
        "each query up directly. More steps do not add capacity; width does (in the record, "
        "accuracy at this length rises with width), and Zoology's finding is that the width a "
        "gated convolution needs grows with the sequence length.\n\n"
        "These runs used the records' settings (vocabulary and learning rates as recorded), "
        "not the command's defaults exactly: run the command to see it for yourself, and "
        "record its curve.\n\n"
        "*Likely misconception:* that a model that has not solved a task just needs to train "
        "longer. Look at the curve: a plateau says capacity or recipe, not budget."
    )


# --- chapter 8, exercise 2: power_a = 1.0 ---------------------------------------------------------


def _query_distances(inputs: torch.Tensor, targets: torch.Tensor, pairs: int) -> torch.Tensor:
    """For every query of MQAR data: the distance from the value it asks for to the query."""
    out = []
    for x, y in zip(inputs, targets, strict=True):
        keys = x[0 : 2 * pairs : 2]
        for q in torch.nonzero(y != -100)[:, 0]:
            j = int(torch.nonzero(keys == x[q])[0, 0])
            out.append(int(q) - (2 * j + 1))
    return torch.tensor(out)


def solve_power_a(fast: bool = False) -> Results:
    """The distances from each value to its query for ``power_a`` 0.01 (the default) and 1.0,
    and the weight the default decay window (chapter 3) gives each distance."""
    from ..filters import ImplicitFilter
    from ..mixers import HYENA_FILTER_ARGS

    L, P, V = 64, 4, 256
    n = 200 if fast else 2000
    filt = ImplicitFilter(64, L, **HYENA_FILTER_ARGS)
    window = filt.window(L).double().mean(0)  # (L,): mean over channels
    out: Results = {"seq_len": L, "pairs": P, "vocab": V, "n": n, "powers": [0.01, 1.0]}
    for a in out["powers"]:
        x, y = mqar(n, L, P, V, power_a=a, seed=0)
        dist = _query_distances(x, y, P)
        q = torch.quantile(dist.double(), torch.tensor([0.5, 0.9], dtype=torch.float64))
        out["p90_level"] = 0.9
        out[f"power_a={a:g}"] = {
            "mean": float(dist.double().mean()),
            "median": float(q[0]),
            "p90": float(q[1]),
            "window_mean": float(window[dist].mean()),
            "histogram": torch.bincount(dist, minlength=L).tolist(),
        }
    a, b = out["power_a=0.01"], out["power_a=1"]
    out["distance_ratio"] = b["mean"] / a["mean"]
    out["window_ratio"] = b["window_mean"] / a["window_mean"]
    out["window"] = window.tolist()
    return out


def answer_power_a(r: Mapping[str, Any]) -> str:
    a, b = r["power_a=0.01"], r["power_a=1"]
    harder = "harder" if r["window_ratio"] < 1 else "easier"
    return (
        f"**Predict.** With `power_a` = 0.01 the query gaps follow "
        "$p(g) \\propto (g+1)^{a-1}$, nearly $1/(g+1)$: most queries come soon after the "
        "pairs. With `power_a` = 1.0 they are uniform. Measured on "
        f"{r['n']:,} sequences ($L = {r['seq_len']}$, {r['pairs']} pairs): the distance from a "
        f"value to its query is {fixed(a['mean'], 1)} tokens on average (median "
        f"{fixed(a['median'], 0)}, {pct(r['p90_level'], 0)} below {fixed(a['p90'], 0)}) with the "
        f"default and {fixed(b['mean'], 1)} (median {fixed(b['median'], 0)}, "
        f"{pct(r['p90_level'], 0)} below "
        f"{fixed(b['p90'], 0)}) with uniform gaps, {fixed(r['distance_ratio'], 2)} times as far. "
        "A Hyena filter starts multiplied by a decaying window (chapter 3: eq. 7); averaged "
        "over its channels, the default window weighs these distances by "
        f"{fixed(a['window_mean'], 3)} and {fixed(b['window_mean'], 3)} on average, a factor "
        f"of {fixed(r['window_ratio'], 2)}. Prediction: uniform gaps make MQAR {harder} for a "
        "convolution with a decaying filter, which must carry each association further, "
        "against its window, with the same channels; attention compares a query with every "
        "key whatever the distance and should not care.\n\n"
        "**Then measure.** Train both with `hyena-lab mqar --power-a 1.0` and with the default, "
        "the same seeds, widths and steps, and compare the curves (on a GPU: the chapter's CPU "
        "runs take minutes each). The window is trainable in effect (chapter 4 found trained "
        "filters that undo most of it), so the size of the effect is an empirical question; "
        "the direction is the prediction to test.\n\n"
        "*Likely misconception:* that the difficulty of MQAR is only the number of pairs. Where "
        "the queries fall matters too: Zoology chose a power law because real text repeats "
        "bigrams at short distances, which is the easy case for a decaying filter."
    )


def figure_power_a(r: Mapping[str, Any]):
    from ..viz import new_figure

    fig, ax = new_figure((6.6, 3.8))
    width = 4  # tokens per bar: values sit at odd distances, so single tokens alternate with 0
    edges = list(range(0, r["seq_len"], width))
    for a, color in zip(r["powers"], ("C0", "C1"), strict=True):
        h = r[f"power_a={a:g}"]["histogram"]
        share = [sum(h[e : e + width]) / sum(h) for e in edges]
        ax.step(edges, share, where="post", color=color, label=f"power_a = {a:g}")
    ax.set(xlabel="distance from a value to its query (tokens)",
           ylabel=f"share of queries per {width} tokens",
           title="where MQAR's queries fall")  # fmt: skip
    ax2 = ax.twinx()
    ax2.plot(range(r["seq_len"]), r["window"], "k:", lw=1, label="decay window (channel mean)")
    ax2.set_ylabel("window value")
    lines = ax.get_legend_handles_labels()
    more = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8, loc="upper right")
    return fig


# --- chapter 8, exercise 3: FLOPs of attention and Hyena ------------------------------------------


def solve_mqar_flops(fast: bool = False) -> Results:
    """Forward FLOPs per token of one attention layer (width 64, one head as in the MQAR runs)
    and of one order-2 Hyena operator at widths 64, 128, 256, at L = 64, 256, 1024; and the
    length from which each wider Hyena costs no more than the narrow attention."""
    lengths, widths, d_attn = [64, 256, 1024], [64, 128, 256], 64

    def attn(L: int) -> float:
        return roofline.mha_layer_cost(1, L, d_attn, 1).flops / L

    def hyena(L: int, d: int) -> float:
        return roofline.hyena_layer_cost(1, L, d, 2).flops / L

    table = {L: {"attention": attn(L), **{d: hyena(L, d) for d in widths}} for L in lengths}
    even = {}
    for d in widths:
        found = None
        for p in range(4, 25):  # L = 16 .. 16M, then refined between powers of two
            L = 2**p
            if hyena(L, d) <= attn(L):
                lo, hi = L // 2, L
                while hi - lo > 1:
                    mid = (lo + hi) // 2
                    lo, hi = (mid, hi) if hyena(mid, d) > attn(mid) else (lo, mid)
                found = hi
                break
        even[d] = found
    return {
        "lengths": lengths,
        "widths": widths,
        "attention_width": d_attn,
        "per_token": table,
        "even_at": even,
        "attention_growth": attn(1024) / attn(64),
        "hyena_growth": {d: hyena(1024, d) / hyena(64, d) for d in widths},
    }


def answer_mqar_flops(r: Mapping[str, Any]) -> str:
    t, w, da = r["per_token"], r["widths"], r["attention_width"]
    rows = "; ".join(
        f"$L = {L}$: attention {fixed(t[L]['attention'] / 1e3, 0)}K, Hyena "
        + ", ".join(f"{fixed(t[L][d] / 1e3, 0)}K" for d in w)
        for L in r["lengths"]
    )
    even = listing(f"width {d} from $L$ = {r['even_at'][d]:,}" for d in w[1:])
    return (
        f"**Counted** (`roofline.mha_layer_cost` with one head as in the MQAR runs, "
        f"`roofline.hyena_layer_cost` of order 2), forward FLOPs per token of one layer, "
        f"attention at width {da} and Hyena at widths {listing(w)}: {rows}.\n\n"
        f"Attention's cost per token grows with $L$ ({fixed(r['attention_growth'], 2)} times "
        f"from $L$ = {r['lengths'][0]} to {r['lengths'][-1]}: the $QK^\\top$ and $PV$ products, "
        "$O(L d)$ per token), Hyena's barely ("
        + ", ".join(fixed(r["hyena_growth"][d], 2) + " times" for d in w)
        + ": the FFTs add $O(d \\log L)$ per token) but its projections cost $O(d^2)$ per "
        "token, four times as much at twice the width. A wider Hyena therefore costs as much "
        f"as the width-{da} attention only at long sequences: {even}.\n\n"
        "**What it means for MQAR.** Zoology finds that the width Hyena needs grows with $L$ "
        "while attention solves MQAR at a small width. Doubling Hyena's width quadruples its "
        "dominant cost, so at the lengths where a wider Hyena is needed its FLOP advantage "
        "over narrow attention appears only much later, if at all; FLOPs say which model is "
        "cheaper, not which solves the task (Sec. 4.4 compares equal widths).\n\n"
        "*Likely misconception:* comparing operators at equal width only. Compare the cost of "
        "the models that solve the task."
    )


def figure_mqar_flops(r: Mapping[str, Any]):
    from ..viz import loglog, new_figure

    fig, ax = new_figure((6.2, 3.8))
    Ls = [2**p for p in range(5, 17)]
    attn = [roofline.mha_layer_cost(1, L, r["attention_width"], 1).flops / L for L in Ls]
    ax.plot(Ls, attn, "k-", lw=2, label=f"attention, width {r['attention_width']}")
    for d in r["widths"]:
        ax.plot(
            Ls,
            [roofline.hyena_layer_cost(1, L, d, 2).flops / L for L in Ls],
            "--",
            label=f"Hyena, width {d}",
        )
    loglog(ax, "forward FLOPs per token", "one layer: narrow attention vs wider Hyena")
    ax.legend(fontsize=8)
    return fig


# --- the claims the answers make (asserted by the tests and by course/solutions.py) -------


def claims_ch08_ex1(r: Mapping[str, Any]) -> None:
    long = [x["last_quarter_gain"] for x in r["runs"] if x["steps"] >= 4000]
    claim(long and max(long) < 0.05, "a plateau over the last quarter of the longest runs")
    claim(all(a["test_accuracy"] >= r["solved_at"] for a in r["attention"]),
          "attention of the same width solves it")  # fmt: skip


def claims_ch08_ex2(r: Mapping[str, Any]) -> None:
    claim(r["distance_ratio"] > 1 and r["window_ratio"] < 1,
          "uniform gaps put queries further away, where the window is weaker")  # fmt: skip


def claims_ch08_ex3(r: Mapping[str, Any]) -> None:
    even = [r["even_at"][d] for d in r["widths"][1:]]
    claim(all(e is not None for e in even) and even == sorted(even),
          "a wider Hyena breaks even later")  # fmt: skip
    claim(r["attention_growth"] > max(r["hyena_growth"].values()),
          "attention's cost per token grows faster with L")  # fmt: skip


WORKED = (
    WorkedSolution(
        "ch08_ex1",
        8,
        1,
        "Train `hyena-lab mqar --mixer hyena --width 128 --seq-len 64 --pairs 4 --max-steps "
        "6000` on a GPU (`--device cuda`). Does Hyena reach 99%? How many steps does it need?",
        solve_mqar_steps,
        answer_mqar_steps,
        paper="Sec. 3.2, 4.1; Arora et al. 2023 (Zoology)",
        claims=claims_ch08_ex1,
    ),
    WorkedSolution(
        "ch08_ex2",
        8,
        2,
        "With `power_a=1.0` the queries are spread uniformly. Predict whether that makes MQAR "
        "harder or easier for a convolution with a decaying filter (chapter 3), then measure "
        "it.",
        solve_power_a,
        answer_power_a,
        figure_power_a,
        paper="Sec. 3.3, eq. (7); Zoology",
        claims=claims_ch08_ex2,
    ),
    WorkedSolution(
        "ch08_ex3",
        8,
        3,
        "Count, with `hyena_lab.roofline`, the FLOPs of one attention layer and one Hyena "
        "layer at width 64 and $L$ = 64, 256, 1024: at which length does the wider Hyena that "
        "MQAR may need cost as much as the narrow attention that solves it?",
        solve_mqar_flops,
        answer_mqar_flops,
        figure_mqar_flops,
        paper="Sec. 4.4; Zoology",
        claims=claims_ch08_ex3,
    ),
)
