"""Worked solutions of the open exercise parts of chapter 4 (associative recall, Sec. 4.1): the
ungated convolution's query row, a larger vocabulary at two widths, a short filter of width 1,
and why a fixed convolution cannot look a key up. The trainings use the chapter's recipe
(:data:`hyena_lab.recall.RECALL_RECIPE`, seed 0) and a budget of steps, so they give the same
numbers on every machine (up to round-off); ``fast=True`` trains smaller, shorter runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import torch

from ..tasks import make_splits, recall_baselines, recall_vocab
from .ch04 import solution_recall_by_lookup
from .worked_common import Results, WorkedSolution, claim, fixed, listing, pct, plural


def _setting(fast: bool) -> dict[str, Any]:
    """The chapter's setting (vocabulary 16, length 128, width 64, the recipe's 650 steps; the
    width comparison of exercise 2 over a shorter cosine of ``short_steps``, to keep the set of
    solutions within minutes on 2 cores), or a small one."""
    if fast:
        return {"seq_len": 32, "vocab_size": 16, "d_model": 16, "wide": 32, "steps": 40,
                "short_steps": 40, "warmup": 5, "eval_every": 20, "num_test": 30}  # fmt: skip
    return {"seq_len": 128, "vocab_size": 16, "d_model": 64, "wide": 128, "steps": None,
            "short_steps": 200, "warmup": None, "eval_every": None, "num_test": 100}  # fmt: skip


def trained(mixer: str, vocab_size: int, fast: bool, d_model: int | None = None,
            short_filter_order: int | None = None, steps: int | None = None):  # fmt: skip
    """A recall model trained with the chapter's recipe (seed 0) in the setting of
    :func:`_setting` (``d_model`` defaults to its width; ``steps`` shortens the cosine), and its
    history; kept, so the solutions that share a model train it once (:func:`train_ahead`
    trains them all at once in worker processes)."""
    s = _setting(fast)
    key = (mixer, vocab_size, bool(fast), d_model or s["d_model"], short_filter_order, steps)
    if key not in _TRAINED:
        _TRAINED[key] = _train(key)
    return _TRAINED[key]


#: The models :func:`trained` has returned, by its arguments (with the defaults filled in).
_TRAINED: dict[tuple, tuple] = {}


def models_used(fast: bool) -> list[tuple]:
    """The arguments of every model the chapter-4 solutions train (exercises 1-3), longest
    training first: the chapter's Hyena, the ungated convolution, Hyena with a short filter of
    width 1 (the recipe's 650 steps each), then the two widths at vocabulary 30."""
    s = _setting(fast)
    d, short = s["d_model"], s["short_steps"]
    return [("hyena", 16, fast, d, None, None), ("hyena", 16, fast, d, 1, None),
            ("conv", 16, fast, d, None, None), ("hyena", 30, fast, s["wide"], None, short),
            ("hyena", 30, fast, d, None, short)]  # fmt: skip


def train_ahead(fast: bool = False, jobs: int = 2) -> None:
    """Train every model of :func:`models_used` that is not kept yet, ``jobs`` at a time in
    worker processes with one torch thread each, and keep them for :func:`trained`: on two
    cores, two single-threaded trainings at once finish sooner than one after the other with
    two threads each (these models are too small for a second thread to help much). The runs
    are seeded, so a model is the same trained here or there up to the round-off of the thread
    count."""
    from ..progress import parallel_map

    todo = [key for key in models_used(bool(fast)) if key not in _TRAINED]
    for key, result in zip(todo, parallel_map(_train, todo, jobs=jobs, enabled=False),
                           strict=True):  # fmt: skip
        _TRAINED[key] = result


def _train(key: tuple):
    """The training behind :func:`trained` for ``key`` (module level: workers import it)."""
    mixer, vocab_size, fast, d_model, short_filter_order, steps = key
    from ..recall import RECALL_NUM_TRAIN, RECALL_RECIPE, run_recall

    s = _setting(fast)
    config = RECALL_RECIPE
    if fast:
        config = replace(
            config, max_steps=s["steps"], warmup_steps=s["warmup"], eval_every=s["eval_every"]
        )
    if steps is not None and steps != config.max_steps:
        config = replace(config, max_steps=steps, warmup_steps=min(config.warmup_steps, steps // 4))
    args = {} if short_filter_order is None else {"short_filter_order": short_filter_order}
    num_train = min(RECALL_NUM_TRAIN, config.max_steps * config.batch_size)
    return run_recall(
        mixer,
        vocab_size,
        s["seq_len"],
        seed=0,
        config=config,
        d_model=d_model,
        mixer_args=args,
        num_train=num_train,
        progress=False,
    )


def _test_inputs(seq_len: int, vocab_size: int, n: int) -> torch.Tensor:
    """The first ``n`` test sequences of seed 0 (those the chapter opens up), ``(n, L)``."""
    return make_splits(
        "recall", seq_len, vocab_size, num_train=1, num_valid=1, num_test=n, seed=0
    ).test[0]


def _row_correlation(model, inputs: torch.Tensor, layer: int) -> float:
    """Mean Pearson correlation between the query rows (:func:`query_row`) of every pair of
    ``inputs``: 1 when the row is the same function of position for every example."""
    from ..recall.analysis import query_row

    rows = torch.stack([query_row(model, x, layer).double() for x in inputs])  # (n, L)
    rows = rows - rows.mean(1, keepdim=True)
    rows = rows / rows.norm(dim=1, keepdim=True)
    corr = rows @ rows.T
    n = len(inputs)
    return float((corr.sum() - n) / (n * (n - 1)))


def levels_gap(accuracy: float, levels: Mapping[str, float]) -> dict[str, float]:
    """How many points (percent) an accuracy lies above the two reference levels."""
    return {
        "most_frequent": 100 * (accuracy - levels["most_frequent"]),
        "chance": 100 * (accuracy - levels["chance"]),
        "margin": 5.0,
    }


def level_phrase(gap: Mapping[str, float]) -> str:
    """Where an accuracy lies against the two reference levels (:func:`levels_gap`), in words."""
    mf, chance = gap["most_frequent"], gap["chance"]
    side = "above" if chance >= 0 else "below"
    if abs(mf) <= gap["margin"]:
        return (
            f"on the most-frequent-value level (within {fixed(abs(mf), 1)} points of it), "
            f"{fixed(abs(chance), 1)} points {side} chance"
        )
    if mf < 0:
        return (
            f"{fixed(-mf, 1)} points *below* the most-frequent-value level and "
            f"{fixed(abs(chance), 1)} points {side} chance: it has not even learned to "
            "count yet"
        )
    return f"{fixed(mf, 1)} points above the most-frequent-value level"


def _summary(model, history) -> dict[str, Any]:
    return {
        "test_accuracy": history.test_accuracy,
        "steps": history.steps,
        "stopped": history.stopped,
        "params": model.num_params,
        "curve": {"step": list(history.step), "valid_accuracy": list(history.valid_accuracy)},
    }


# --- exercise 1: the ungated long convolution -----------------------------------------------------


def solve_conv_row(fast: bool = False) -> Results:
    """Train the ungated convolution, read its query rows, its accuracy against the two
    reference levels, and the same numbers for Hyena (the chapter's model) beside it."""
    from ..recall.analysis import key_positions, query_row, query_selectivity

    s = _setting(fast)
    L, V = s["seq_len"], s["vocab_size"]
    inputs = _test_inputs(L, V, s["num_test"])
    out: Results = {
        "seq_len": L,
        "vocab_size": V,
        "d_model": s["d_model"],
        "levels": recall_baselines(L, V, seeds=[0]),
    }
    for mixer in ("conv", "hyena"):
        model, history = trained(mixer, V, fast)
        A0, _ = model.decompose(inputs[:1], 0)
        A1, _ = model.decompose(inputs[1:2], 0)
        out[mixer] = {
            **_summary(model, history),
            "gap": levels_gap(history.test_accuracy, out["levels"]),
            "A_difference": float((A0 - A1).abs().max()),
            "selectivity": [query_selectivity(model, inputs, k) for k in (0, 1)],
            "row_correlation": _row_correlation(model, inputs[:20], 0),
        }
    conv, _ = trained("conv", V, fast)
    out["rows"] = [query_row(conv, x, 0) for x in inputs[:3]]
    out["values_at"] = [key_positions(x)[1] for x in inputs[:3]]
    return out


def answer_conv_row(r: Mapping[str, Any]) -> str:
    conv, hy, lv = r["conv"], r["hyena"], r["levels"]
    return (
        f"**Why the row is the same for every example.** For the ungated convolution "
        f"$A = S_h$, one matrix for every input: decomposed on two different test sequences, "
        f"its layer-1 matrices differ by at most {conv['A_difference']:.1e}. The query row "
        "weighs input $s$ by $\\|W_{\\text{out}}(h_{t-s} \\odot v_s)\\|$: a function of the lag "
        "$t - s$ and of the token at $s$, never of *where the query key is*. So the row has the "
        "same shape on every example (the mean correlation of the layer-1 query rows of "
        f"{plural(20, 'test sequence')} is {fixed(conv['row_correlation'], 2)}; for the trained "
        f"Hyena it is {fixed(hy['row_correlation'], 2)}), and it puts no more weight on the "
        "query key's value than on any other value: `query_selectivity` is "
        f"{fixed(conv['selectivity'][0], 2)} in layer 1 and {fixed(conv['selectivity'][1], 2)} "
        f"in layer 2 (Hyena: {fixed(hy['selectivity'][0], 2)} and "
        f"{fixed(hy['selectivity'][1], 2)}).\n\n"
        f"**Accuracy.** After {conv['steps']} steps of the chapter's recipe (vocabulary "
        f"{r['vocab_size']}, length {r['seq_len']}, width {r['d_model']}), the convolution "
        f"scores {pct(conv['test_accuracy'])} on the test set. `recall_baselines` gives "
        f"{pct(lv['chance'])} for a blind guess among the values and "
        f"{pct(lv['most_frequent'])} for answering the context's most frequent value: the "
        f"convolution is {level_phrase(conv['gap'])}. Hyena, same recipe: "
        f"{pct(hy['test_accuracy'])}, {level_phrase(hy['gap'])}.\n\n"
        "**Why.** Without data control, all a fixed filter can do is pool the values it sees, "
        "weighted by lag: it can *count*, and the query key's value tends to be frequent, "
        "so counting beats chance (Sec. 4.1; the chapter's grid shows the convolution on the "
        "most-frequent-value level in every cell, as Conv1d is last in Table C.1). Looking up "
        "needs weights that depend on the input, the gates of Hyena or the softmax of "
        "attention (Sec. 3.2).\n\n"
        "*Likely misconception:* that a longer or better trained filter will eventually reach "
        "back to the right value. The answer's position changes from one sequence to the next; "
        "no fixed $h$ can point at it, however long."
    )


def figure_conv_row(r: Mapping[str, Any]):
    from ..viz import new_figure

    fig, ax = new_figure((7.0, 3.6))
    for i, (row, values) in enumerate(zip(r["rows"], r["values_at"], strict=True)):
        ax.plot(row.numpy(), color=f"C{i}", lw=1.2, label=f"test sequence {i}")
        ax.plot(values, row[values].numpy(), "o", color=f"C{i}", ms=4)
    ax.set(
        xlabel="input position s (token)",
        ylabel="share of the query output",
        title="ungated convolution, layer 1: query rows (dots: the query key's values)",
    )
    ax.legend(fontsize=8)
    return fig


# --- exercise 2: vocabulary 30, widths 64 and 128 -------------------------------------------------


def solve_vocab_width(fast: bool = False) -> Results:
    """Hyena at vocabulary 30 and the chapter's length, at width 64 and 128 (fast: 16 and 32),
    the same number of steps each; the reference levels; the vocabulary-16 model of the chapter
    at the same step; and the recorded grid's runs of the same cell (1,500 steps)."""
    from ..recall import load_measurement
    from ..recall.analysis import accuracy_at

    s, V = _setting(fast), 30
    L, steps = s["seq_len"], s["short_steps"]
    widths = [s["d_model"], s["wide"]]
    runs = {d: _summary(*trained("hyena", V, fast, d_model=d, steps=steps)) for d in widths}
    grid = load_measurement("04_associative_recall-grid")
    cell = [g for g in grid["results"]
            if (g["mixer"], g["vocab_size"], g["seq_len"]) == ("hyena", V, 128)]  # fmt: skip
    v16 = trained("hyena", 16, fast)[1]
    vocab = recall_vocab(V)
    return {
        "seq_len": L,
        "vocab_size": V,
        "widths": widths,
        "runs": runs,
        "levels": recall_baselines(L, V, seeds=[0]),
        "keys": vocab.num_keys,
        "values": vocab.num_values,
        "pairs": (L - 2) // 2,
        "gain": runs[widths[1]]["test_accuracy"] - runs[widths[0]]["test_accuracy"],
        "param_ratio": runs[widths[1]]["params"] / runs[widths[0]]["params"],
        "grid_runs": [g["test_accuracy"] for g in cell],
        "grid_steps": grid["recipe"]["max_steps"],
        "grid_width": cell[0]["d_model"],
        "grid_length": 128,
        "steps": runs[widths[0]]["steps"],
        "v16_at_steps": accuracy_at(v16, runs[widths[0]]["steps"]),
    }


def answer_vocab_width(r: Mapping[str, Any]) -> str:
    (w1, w2), runs = r["widths"], r["runs"]
    a1, a2, a16 = runs[w1]["test_accuracy"], runs[w2]["test_accuracy"], r["v16_at_steps"]
    change = "rises" if r["gain"] > 0 else "does not rise"
    harder = (
        f"against {pct(a16)} validation accuracy for the chapter's vocabulary-16 model of the "
        f"same width at the same step: with more keys, each {r['pairs']}-pair context holds "
        "more distinct associations to tell apart, and the model learns them more slowly"
        if a16 > a1
        else f"and {pct(a16)} for the chapter's vocabulary-16 model at the same step: at this "
        "budget the larger vocabulary does not cost accuracy yet"
    )
    grid = listing(pct(a) for a in r["grid_runs"])
    more = "more steps help a lot" if min(r["grid_runs"]) > max(a1, a2) else "compare them"
    return (
        f"**What changes.** At vocabulary {r['vocab_size']} ({r['keys']} keys, {r['values']} "
        f"values) and length {r['seq_len']}, Hyena of width {w1} reaches {pct(a1)} test "
        f"accuracy after {r['steps']} steps of the chapter's recipe (its cosine over "
        f"{r['steps']} steps), {harder}. At width "
        f"{w2} ({fixed(r['param_ratio'], 1)} times the parameters) accuracy {change}: "
        f"{pct(a2)}, a change of {fixed(100 * r['gain'], 1)} points. The levels without a "
        f"lookup: chance {pct(r['levels']['chance'])}, most frequent value "
        f"{pct(r['levels']['most_frequent'])}. The chapter's recorded grid (width "
        f"{r['grid_width']}, {r['grid_steps']:,} steps, length {r['grid_length']}) has Hyena's "
        f"seeds at {grid} in this cell: {more}.\n\n"
        "**How it relates to Zoology.** Arora et al. find that gated convolutions need a width "
        "that grows with the sequence length to solve *multi-query* recall, while attention "
        "does not (chapter 8). The mechanism is the same here in miniature: a gated "
        "convolution compares the query with every key through a bilinear form over its $d$ "
        "channels (chapter 4, Section 5), so $d$ bounds how many distinct keys it can keep "
        "apart at once; attention compares query and keys directly. A larger vocabulary "
        "means more distinct associations per sequence, and width is what a gated convolution "
        "pays for them with. One query per sequence at these sizes is far from the regime "
        "where Zoology's width law was measured, so read this as the direction of the effect, "
        "not its size.\n\n"
        "*Likely misconception:* that a width that solves one setting solves all. For gated "
        "convolutions the width needed grows with what the sequence asks to remember; the "
        "paper's Table C.1 shows the same pressure along the vocabulary axis."
    )


def figure_vocab_width(r: Mapping[str, Any]):
    from ..viz import new_figure

    fig, ax = new_figure((6.4, 3.8))
    for d in r["widths"]:
        curve = r["runs"][d]["curve"]
        ax.plot(curve["step"], curve["valid_accuracy"], "o-", ms=3, label=f"Hyena, width {d}")
    ax.axhline(r["levels"]["most_frequent"], color="k", ls="--", lw=1, label="most frequent value")
    ax.axhline(r["levels"]["chance"], color="k", ls=":", lw=1, label="chance")
    ax.set(
        xlabel="optimizer step",
        ylabel="validation accuracy (fraction)",
        ylim=(0, 1.02),
        title=f"vocabulary {r['vocab_size']}, length {r['seq_len']}",
    )
    ax.legend(fontsize=8)
    return fig


# --- exercise 3: a short filter of width 1 --------------------------------------------------------


def solve_short_filter(fast: bool = False) -> Results:
    """Hyena with ``short_filter_order=1`` against the default (3): accuracy, learning curves
    and the query selectivity of each layer, on the chapter's setting."""
    from ..recall.analysis import query_selectivity

    s = _setting(fast)
    L, V = s["seq_len"], s["vocab_size"]
    inputs = _test_inputs(L, V, s["num_test"])
    out: Results = {"seq_len": L, "vocab_size": V, "orders": [3, 1]}
    for order in (3, 1):
        model, history = trained("hyena", V, fast, short_filter_order=None if order == 3 else 1)
        out[order] = {
            **_summary(model, history),
            "selectivity": [query_selectivity(model, inputs, k) for k in (0, 1)],
        }
    out["preference"] = 1.5  # the chapter reads a ratio below 1.5 as no preference
    sel = out[1]["selectivity"]
    out["rising_layer"] = 0 if max(sel) < out["preference"] else 1 + int(sel[1] > sel[0])
    out["levels"] = recall_baselines(L, V, seeds=[0])
    for order in (3, 1):
        out[order]["learned"] = out[order]["test_accuracy"] > out["levels"]["most_frequent"] + 0.2
    return out


def answer_short_filter(r: Mapping[str, Any]) -> str:
    d, one = r[3], r[1]
    learned = "still learns recall" if one["learned"] else "does not learn recall in this budget"
    where = {
        0: f"It rises in *neither* layer: both ratios stay below {r['preference']}, the level the "
        "chapter reads as no preference",
        1: "It still rises in layer 1 more than in layer 2",
        2: "It now rises in layer 2, not layer 1",
    }[r["rising_layer"]]
    then = {
        0: "so the match would have to happen in layer 2; within this budget the model does not "
        "find that two-step route, and stays at or below the counting level",
        1: "so the match should move to layer 2; in this run layer 1 is still the more "
        "selective, its long filter and gates standing in for the short filter",
        2: "and the match happens in layer 2, as attention's induction head does it in two layers",
    }[r["rising_layer"]]
    cost = (
        "without it the model needs a layer more for the same lookup"
        if one["learned"]
        else "without it the same two-layer model does not find the lookup in the chapter's budget"
    )
    return (
        f"**Does it still learn?** With a short filter of width 1 Hyena {learned}: "
        f"{pct(one['test_accuracy'])} test accuracy after {one['steps']} steps, against "
        f"{pct(d['test_accuracy'])} after {d['steps']} steps with the default width 3 (same "
        f"seed and recipe; most frequent value {pct(r['levels']['most_frequent'])}).\n\n"
        "**Where the lookup moves.** `query_selectivity` (the query row's weight on the query "
        "key's values over its weight on other values) is, layer 1 / layer 2: "
        f"{fixed(d['selectivity'][0], 2)} / {fixed(d['selectivity'][1], 2)} with width 3, "
        f"{fixed(one['selectivity'][0], 2)} / {fixed(one['selectivity'][1], 2)} with width 1. "
        f"{where}. With width 3, $x^1$ and $v$ at a value position see the key just before "
        'it, so layer 1 alone can match the query against "key next to value" (the '
        "bilinear form $\\sum_c x^2_c[t]\\, h_c[t-s]\\, x^1_c[s]\\, v_c[s]$ of the chapter's "
        "Section 5, Sec. 3.2). With width 1 each position sees only its own token: layer 1 "
        "must first move each key's identity onto the position after it (its long filter can "
        f"do that, with weight on lag 1), {then}.\n\n"
        "*Likely misconception:* that the short filter is a detail of the implementation. It "
        f"gives each gate a view of its neighbours (Algorithm 1's short convolution); {cost}."
    )


def figure_short_filter(r: Mapping[str, Any]):
    from ..viz import new_figure

    fig, ax = new_figure((6.0, 3.6))
    width = 0.38
    for i, order in enumerate(r["orders"]):
        sel = r[order]["selectivity"]
        ax.bar(
            [k + (i - 0.5) * width for k in (1, 2)], sel, width, label=f"short filter width {order}"
        )
    ax.axhline(1.0, color="k", ls=":", lw=1, label="no preference")
    ax.set(
        xticks=[1, 2],
        xticklabels=["layer 1", "layer 2"],
        xlabel="block of the model",
        ylabel="query selectivity (ratio)",
        title="where the query row reads the query key's values",
    )
    ax.legend(fontsize=8)
    return fig


# --- exercise 5 (open part): what makes lookup hard for a fixed convolution -----------------------


def solve_fixed_lag(fast: bool = False) -> Results:
    """On the chapter's test set: the lag from the query to the value it asks for, and the best
    accuracy of a reader that answers the token at one fixed lag, against the lookup's."""
    L, V = 128, 16
    n = 200 if fast else 1000
    x, y = make_splits("recall", L, V, num_train=1, num_valid=1, num_test=n, seed=0).test
    answer = y[:, -1]
    lookup = float((solution_recall_by_lookup(x) == answer).float().mean())
    query = x[:, -1:]
    hits = x[:, :-2] == query  # (n, L - 2): earlier occurrences of the query key
    last = (L - 3) - hits.flip(1).to(torch.int8).argmax(dim=1)  # its last occurrence
    lag = (L - 1) - (last + 1)  # from the query to the value after that occurrence
    by_lag = [float((x[:, L - 1 - j] == answer).float().mean()) for j in range(1, L)]
    best = max(range(len(by_lag)), key=by_lag.__getitem__)
    levels = [0.1, 0.5, 0.9]
    q = torch.quantile(lag.double(), torch.tensor(levels, dtype=torch.float64))
    counts = torch.bincount(lag, minlength=L)
    return {
        "seq_len": L,
        "vocab_size": V,
        "n": n,
        "lookup_accuracy": lookup,
        "lag_min": int(lag.min()),
        "lag_max": int(lag.max()),
        "lag_quantiles": q.tolist(),
        "quantile_levels": levels,
        "distinct_lags": int((counts > 0).sum()),
        "most_common_lag_share": float(counts.max() / n),
        "best_lag": best + 1,
        "best_lag_accuracy": by_lag[best],
        "levels": recall_baselines(L, V, seeds=[0], num_test=n),
        "lag_histogram": counts.tolist(),
        "occurrences_mean": float(hits.sum(1).double().mean()),
    }


def answer_fixed_lag(r: Mapping[str, Any]) -> str:
    q10, q50, q90 = r["lag_quantiles"]
    return (
        f"**The lookup scores {pct(r['lookup_accuracy'], 0)}** on the {r['n']} test sequences "
        f"(vocabulary {r['vocab_size']}, length {r['seq_len']}). What makes it hard for a fixed "
        "convolution is *where* the answer is: the value to copy sits at a lag from the query "
        f"that changes from sequence to sequence, between {r['lag_min']} and {r['lag_max']} "
        f"tokens ({', '.join(pct(p, 0) for p in r['quantile_levels'])} quantiles: "
        f"{fixed(q10, 0)}, {fixed(q50, 0)}, {fixed(q90, 0)}), "
        f"over {r['distinct_lags']} distinct lags; the most common lag covers only "
        f"{pct(r['most_common_lag_share'])} of the sequences. (The query key occurs "
        f"{fixed(r['occurrences_mean'], 1)} times on average; we count its last occurrence.)\n\n"
        "A convolution reads output $t$ as $\\sum_s h_{t-s} u_s$ with the *same* $h$ for every "
        "input (Sec. 2.1). The best it could do with a single tap, a pure delay, is to answer "
        f"the token at one fixed lag: the best lag ({r['best_lag']}) is right "
        f"{pct(r['best_lag_accuracy'])} of the time. Spreading $h$ over many lags only averages "
        "the values it sees, which at best recovers the most frequent value "
        f"({pct(r['levels']['most_frequent'])}; chance {pct(r['levels']['chance'])}).\n\n"
        'The lookup needs a weight that depends on the *content*: "read the position after a '
        'token equal to the query". Attention makes that weight from $QK^\\top$; Hyena from '
        "the gates, a product of the query's and the key's projections (Sec. 3.2). That is "
        "what data control buys.\n\n"
        "*Likely misconception:* that the problem is the filter's reach. Reach is easy (a long "
        "filter sees the whole context); selection by content is what a fixed filter lacks."
    )


def figure_fixed_lag(r: Mapping[str, Any]):
    from ..viz import new_figure

    fig, ax = new_figure((6.4, 3.4))
    lags = list(range(len(r["lag_histogram"])))
    ax.bar(lags, [c / r["n"] for c in r["lag_histogram"]], width=1.0, color="C0")
    ax.set(
        xlabel="lag from the query to its answer (tokens)",
        ylabel="share of test sequences",
        title=f"where the answer is: vocabulary {r['vocab_size']}, length {r['seq_len']}",
    )
    return fig


# --- the claims the answers make (asserted by the tests and by course/solutions.py) -------


def claims_ch04_ex1(r: Mapping[str, Any]) -> None:
    conv, hy = r["conv"], r["hyena"]
    claim(conv["A_difference"] == 0.0 < hy["A_difference"], "A = S_h is the same for every input")
    claim(conv["row_correlation"] > hy["row_correlation"], "the row has the same shape everywhere")
    claim(all(0.75 < s < 1.33 for s in conv["selectivity"]),
          "no more weight on the query key's value than on any other")  # fmt: skip


def claims_ch04_ex2(r: Mapping[str, Any]) -> None:
    w1, w2 = r["widths"]
    gain = r["runs"][w2]["test_accuracy"] - r["runs"][w1]["test_accuracy"]
    claim(abs(gain - r["gain"]) < 1e-12 and r["param_ratio"] > 1, "the change quoted")
    claim(r["keys"] == r["values"], "as many keys as values")


def claims_ch04_ex3(r: Mapping[str, Any]) -> None:
    sel = r[1]["selectivity"]
    expected = 0 if max(sel) < r["preference"] else 2 if sel[1] > sel[0] else 1
    claim(r["rising_layer"] == expected, "the layer where it rises")
    claim(not r[1]["learned"] or r["rising_layer"] > 0, "a model that learns recall selects")
    if r[3]["learned"]:
        default = r[3]["selectivity"]
        claim(default[0] > default[1], "with width 3, layer 1 does the lookup")


def claims_ch04_ex5(r: Mapping[str, Any]) -> None:
    claim(r["lookup_accuracy"] == 1.0, "the lookup scores 100%")
    claim(r["best_lag_accuracy"] < r["levels"]["most_frequent"] + 0.05,
          "a fixed lag does no better than counting")  # fmt: skip
    claim(r["distinct_lags"] > 10 and r["most_common_lag_share"] < 0.5,
          "the answer's lag changes from sequence to sequence")  # fmt: skip


WORKED = (
    WorkedSolution(
        "ch04_ex1",
        4,
        1,
        'Train the ungated long convolution (`run_recall("conv", 16, 128)`) and plot its query '
        "row with `recall_explorer_figure`. Why does the row look the same for every example? "
        "Compare its test accuracy with `recall_baselines(128, 16)`.",
        solve_conv_row,
        answer_conv_row,
        figure_conv_row,
        paper="Sec. 3.2, 4.1; Table C.1",
        claims=claims_ch04_ex1,
    ),
    WorkedSolution(
        "ch04_ex2",
        4,
        2,
        "Raise the vocabulary to 30 at length 128 and train Hyena at width 64 and 128 "
        "(`run_recall(..., d_model=128)`). How does the accuracy change, and how does that "
        "relate to the Zoology finding above?",
        solve_vocab_width,
        answer_vocab_width,
        figure_vocab_width,
        paper="Sec. 4.1, Table C.1; Arora et al. 2023",
        claims=claims_ch04_ex2,
    ),
    WorkedSolution(
        "ch04_ex3",
        4,
        3,
        'Build Hyena with a short filter of width 1 (`mixer_args={"short_filter_order": 1}`): '
        "$x^1$ and $v$ at a value position can no longer see the key before it. Train it: does "
        "it still learn recall, and in which layer does `query_selectivity` now rise?",
        solve_short_filter,
        answer_short_filter,
        figure_short_filter,
        paper="Sec. 3.2, 3.4 (Algorithm 1)",
        claims=claims_ch04_ex3,
    ),
    WorkedSolution(
        "ch04_ex5",
        4,
        5,
        "It must score 100%: what makes this hard for a fixed (data-independent) convolution?",
        solve_fixed_lag,
        answer_fixed_lag,
        figure_fixed_lag,
        paper="Sec. 2.1, 3.2, 4.1",
        claims=claims_ch04_ex5,
    ),
)
