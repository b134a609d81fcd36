"""Figures and tables of chapter 04 (associative recall, paper Sec. 4.1, Tables 4.2, A.2, C.1).

Every figure function is *pure*: it reads the trained model, the data or the recorded results it
is given, changes none of them, and returns a matplotlib ``Figure`` (the notebook's widget calls
:func:`recall_explorer_figure` on every slider move; the tests call everything headless).

* :func:`learning_curves_figure`: validation accuracy and training loss against optimizer
  steps, with seconds from a *recorded* run on a secondary axis (:func:`seconds_per_step`);
  :func:`curves_figure`: the same for groups of recorded runs; :func:`accuracy_at`.
* :func:`grid_table` / :func:`grid_figure`: test accuracy over sequence length x vocabulary size
  for each mixer (every run, the mean of the seeds, and the chance and most-frequent-value
  levels), the tiny-scale version of the paper's Table C.1.
* :func:`filters_figure` / :func:`filter_statistics`: the long filters ``h^n`` a trained Hyena
  layer learned, and numbers that describe them.
* :func:`recall_explorer_figure`: what each input position contributes to each output of a
  layer (``W_out A(u) v``) on one recall example, and the query's row, with the query key and
  its value marked: where the answer is read from.
* :func:`query_row` / :func:`query_selectivity`: the numbers behind that figure.
* The records these figures draw are written and read by :mod:`hyena_lab.recall`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from ..deprecation import moved
from ..models import TinyLM
from ..operator import HyenaOperator
from ..tasks import NOOP, PROMPT, decode, recall_baselines, recall_vocab
from ..train import History

__all__ = [
    "MIXER_COLORS",
    "MIXER_LABELS",
    "accuracy_at",
    "curves_figure",
    "filter_statistics",
    "filters_figure",
    "grid_figure",
    "grid_table",
    "key_positions",
    "learning_curves_figure",
    "query_row",
    "query_selectivity",
    "recall_explorer_figure",
    "seconds_per_step",
]

#: How the mixers are named in figures and tables, in the order of the paper's tables.
MIXER_LABELS = {
    "conv": "long conv (no gate)",
    "h3": "H3 (2 SSM convs)",
    "h3_same": "H3 filters, Hyena layout (1 SSM conv)",
    "attention": "attention",
    "hyena": "Hyena",
}
#: One colour per mixer, the same in every figure whichever mixers a record holds.
MIXER_COLORS = {
    "conv": "#0072B2",
    "h3": "#D55E00",
    "h3_same": "#E69F00",
    "attention": "#009E73",
    "hyena": "#CC79A7",
}
#: Short names of the mixers for the columns of :func:`grid_table`.
MIXER_COLUMNS = {"conv": "long conv", "h3": "H3", "h3_same": "H3 same"}


def learning_curves_figure(
    histories: Mapping[str, History],
    seconds_per_step: Mapping[str, float] | None = None,
    *,
    levels: Mapping[str, float] | None = None,
    machine: str = "the recorded machine",
) -> Figure:
    """Validation accuracy and training loss against optimizer steps, for several runs.

    Steps, not seconds, are the x axis: the number of steps a run needs does not depend on the
    machine or its load, its seconds do. Where ``seconds_per_step`` gives a run's time per
    step *measured elsewhere* (e.g. a committed benchmark on a quiet machine), the accuracy panel
    gets a secondary time axis per such run, in its colour, above the plot.

    Args:
        histories: ``{label: History}``, e.g. ``{"Hyena": h1, "attention": h2}``.
        seconds_per_step: ``{label: seconds}`` of a recorded run (only labels of ``histories``).
        levels: reference accuracies (fractions) drawn as horizontal lines, e.g.
            ``{"most frequent value": 0.36, "chance": 1 / 7}``.
        machine: how to name the machine of ``seconds_per_step`` on its axes.
    """
    if not histories:
        raise ValueError("histories is empty: pass {label: History} of at least one run")
    seconds_per_step = dict(seconds_per_step or {})
    unknown = set(seconds_per_step) - set(histories)
    if unknown:
        raise ValueError(f"seconds_per_step names runs not in histories: {sorted(unknown)}")
    fig, (ax_acc, ax_loss) = _subplots(1, 2, figsize=(11, 4.2))
    colors = {}
    for label, h in histories.items():
        if not isinstance(h, History) or not h.step:
            raise ValueError(f"histories[{label!r}] must be a History with at least one record")
        (line,) = ax_acc.plot(h.step, [100 * a for a in h.valid_accuracy], marker=".", label=label)
        ax_loss.plot(h.step, h.train_loss, label=label, color=line.get_color())
        colors[label] = line.get_color()
    for (name, level), style in zip((levels or {}).items(), ("--", ":", "-."), strict=False):
        ax_acc.axhline(100 * level, color="0.45", ls=style, lw=1, label=name)
    ax_acc.set_xlabel("optimizer step")
    ax_acc.set_ylabel("validation accuracy (%)")
    ax_acc.set_ylim(0, 101)
    ax_acc.legend(loc="center right", fontsize=9)
    for i, (label, sps) in enumerate(seconds_per_step.items()):
        if not float(sps) > 0:
            raise ValueError(f"seconds_per_step[{label!r}] must be > 0, got {sps!r}")
        top = ax_acc.secondary_xaxis(
            "top", functions=(lambda s, k=sps: s * k, lambda t, k=sps: t / k)
        )
        top.spines["top"].set_position(("outward", 34 * i))
        top.spines["top"].set_visible(True)
        top.spines["top"].set_color(colors[label])
        top.tick_params(axis="x", colors=colors[label], labelsize=8)
        top.set_xlabel(f"{label}: seconds on {machine}", color=colors[label], fontsize=8)
    ax_acc.set_title("recall accuracy on held-out sequences", pad=8 + 34 * len(seconds_per_step))
    ax_loss.set_xlabel("optimizer step")
    ax_loss.set_ylabel("training loss (nats / token)")
    ax_loss.set_title("training loss (scored positions)")
    ax_loss.legend()
    return fig


def seconds_per_step(record: Mapping[str, Any], mixer: str) -> float:
    """Mean seconds per optimizer step of ``mixer``'s runs in a recorded measurement.

    ``record`` is what :func:`load_measurement` returns; each run contributes ``seconds /
    steps`` (validation passes included, as the record's ``seconds`` count them).
    """
    runs = [r for r in record["results"] if r["mixer"] == mixer]
    if not runs:
        raise ValueError(f"the record has no run of mixer {mixer!r}")
    return sum(r["seconds"] / r["steps"] for r in runs) / len(runs)


def accuracy_at(curve: History | Mapping[str, Any], step: int) -> float:
    """Validation accuracy of a run at an optimizer step it was validated at.

    ``curve`` is a :class:`~hyena_lab.train.History` or a recorded ``"valid_curve"`` dict
    (``{"step": [...], "valid_accuracy": [...]}``, :func:`hyena_lab.train.run_grid_cell`).
    """
    steps, accs = (
        (curve.step, curve.valid_accuracy)
        if isinstance(curve, History)
        else (curve["step"], curve["valid_accuracy"])
    )
    if step not in steps:
        raise ValueError(f"the run was not validated at step {step}; it was at {list(steps)}")
    return accs[list(steps).index(step)]


def curves_figure(
    groups: Mapping[str, Sequence[Mapping[str, Any]]],
    levels: Mapping[str, float] | None = None,
    title: str = "",
) -> Figure:
    """Validation accuracy against optimizer step for groups of recorded runs.

    ``groups`` maps a label to run summaries that hold ``"valid_curve"`` (see
    :func:`hyena_lab.train.run_grid_cell`): each run is a thin line, the mean over the group's
    runs (at the steps they all reached) a thick one, in the group's colour. ``levels`` are
    reference accuracies (fractions) drawn as grey horizontal lines.
    """
    if not groups or not all(groups.values()):
        raise ValueError("groups must map labels to non-empty lists of runs")
    fig, ax = _subplots(1, 1, figsize=(6.4, 3.8))
    for (label, runs), color in zip(groups.items(), _CYCLE, strict=False):
        curves = [r["valid_curve"] for r in runs]
        for c in curves:
            ax.plot(c["step"], [100 * a for a in c["valid_accuracy"]], color=color, lw=0.8,
                    alpha=0.5)  # fmt: skip
        n = min(len(c["step"]) for c in curves)
        mean = np.mean([c["valid_accuracy"][:n] for c in curves], axis=0)
        ax.plot(curves[0]["step"][:n], 100 * mean, color=color, lw=2.2, marker=".",
                label=f"{label} (mean of {len(runs)}; thin: each run)")  # fmt: skip
    for (name, level), style in zip((levels or {}).items(), ("--", ":", "-."), strict=False):
        ax.axhline(100 * level, color="0.45", ls=style, lw=1, label=name)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("validation accuracy (%)")
    ax.set_ylim(0, 101)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    return fig


#: The handbook's colour cycle (``hyena_lab.viz.STYLE``).
_CYCLE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]


def _subplots(
    nrows: int, ncols: int, figsize: tuple[float, float], **kw: Any
) -> tuple[Figure, Any]:
    """A new figure with a grid of axes (``kw`` go to ``Figure.subplots``), not registered with
    pyplot, so that nothing accumulates between widget calls."""
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.subplots(nrows, ncols, squeeze=True, **kw)


def _grid_axes(results: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[int], list[int]]:
    """The mixers (in table order), vocabulary sizes and sequence lengths present in results."""
    if not results:
        raise ValueError("results is empty: pass the list of run summaries of the grid")
    for r in results:
        missing = {"mixer", "vocab_size", "seq_len", "test_accuracy"} - set(r)
        if missing:
            raise ValueError(f"a result lacks the keys {sorted(missing)}: {dict(r)}")
    present = {r["mixer"] for r in results}
    mixers = [m for m in MIXER_LABELS if m in present] + sorted(present - set(MIXER_LABELS))
    vocabs = sorted({r["vocab_size"] for r in results})
    lengths = sorted({r["seq_len"] for r in results})
    return mixers, vocabs, lengths


def _mean_accuracy(results: Sequence[Mapping[str, Any]], mixer: str, V: int, L: int) -> float:
    """Mean test accuracy (in %) of the runs of one cell (over seeds); NaN if none."""
    accs = [
        r["test_accuracy"]
        for r in results
        if r["mixer"] == mixer and r["vocab_size"] == V and r["seq_len"] == L
    ]
    return 100 * float(np.mean(accs)) if accs else float("nan")


def grid_table(results: Sequence[Mapping[str, Any]]) -> str:
    """A text table of test accuracy (%): one row per (vocabulary, length), a column per mixer.

    Cells average over the seeds present; mixers appear in the order of the paper's tables; a
    cell without runs reads ``nan``.
    """
    mixers, vocabs, lengths = _grid_axes(results)
    names = [MIXER_COLUMNS.get(m, MIXER_LABELS.get(m, m)) for m in mixers]
    width = max(10, *map(len, names))
    lines = [f"{'vocab':>5} {'length':>6}  " + " ".join(n.rjust(width) for n in names)]
    for V in vocabs:
        for L in lengths:
            cells = " ".join(f"{_mean_accuracy(results, m, V, L):{width}.1f}" for m in mixers)
            lines.append(f"{V:>5} {L:>6}  {cells}")
    return "\n".join(lines)


def grid_figure(
    results: Sequence[Mapping[str, Any]],
    levels: Mapping[tuple[int, int], Mapping[str, float]] | None = None,
) -> Figure:
    """Test accuracy against sequence length, one panel per vocabulary size, a line per mixer.

    Lines join the means over seeds; every run is also drawn as a small point (slightly offset
    sideways per mixer so that points do not hide one another), so that a mean of two runs
    that disagree reads as such. Two reference levels are drawn in grey: chance (a blind guess
    among the values, dotted) and the accuracy of answering the context's most frequent value
    (dashed), from :func:`hyena_lab.tasks.recall_baselines` on the test sets of the seeds present
    (or from ``levels``: ``{(vocab_size, seq_len): {"chance": .., "most_frequent": ..}}``).
    """
    mixers, vocabs, lengths = _grid_axes(results)
    seeds = sorted({int(r.get("seed", 0)) for r in results})
    if levels is None:
        levels = {(V, L): recall_baselines(L, V, seeds) for V in vocabs for L in lengths}
    fig, axes = _subplots(1, len(vocabs), figsize=(3.7 * len(vocabs) + 2.6, 3.8), sharey=True)
    axes = np.atleast_1d(axes)
    for ax, V in zip(axes, vocabs, strict=True):
        for i, m in enumerate(mixers):
            acc = [_mean_accuracy(results, m, V, L) for L in lengths]
            (line,) = ax.plot(lengths, acc, marker="o", ms=4, label=MIXER_LABELS.get(m, m),
                              color=MIXER_COLORS.get(m))  # fmt: skip
            shift = 2 ** (0.07 * (i - (len(mixers) - 1) / 2))  # a sideways offset on the log axis
            runs = [(r["seq_len"] * shift, 100 * r["test_accuracy"]) for r in results
                    if r["mixer"] == m and r["vocab_size"] == V]  # fmt: skip
            ax.plot(*zip(*runs, strict=True), ls="none", marker="o", ms=3.5, alpha=0.8,
                    color=line.get_color(), mec="white", mew=0.4, zorder=3)  # fmt: skip
        for key, style, label in (("most_frequent", "--", "answer the most frequent value"),
                                  ("chance", ":", "chance (1 / #values)")):  # fmt: skip
            ax.plot(lengths, [100 * levels[V, L][key] for L in lengths], color="0.4", ls=style,
                    lw=1.2, label=label)  # fmt: skip
        ax.set_xscale("log", base=2)
        ax.set_xticks(lengths, [str(L) for L in lengths])
        ax.set_xlabel("sequence length L (tokens)")
        ax.set_title(f"vocabulary size {V}")
        ax.set_ylim(0, 102)
    axes[0].set_ylabel("test accuracy (%)")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right center", fontsize=9)
    fig.suptitle("associative recall, 2 layers, width 64: mean of seeds (line) and each run (dots)")
    return fig


def _hyena_layer(model: TinyLM, layer: int) -> Any:
    """The Hyena / H3 operator of block ``layer`` (raises for other mixers or a bad index)."""
    op = model.blocks[model.check_layer(layer)].mixer
    if not isinstance(op, HyenaOperator):
        raise ValueError(f"layer {layer} holds a {type(op).__name__}, not a Hyena operator")
    return op


def filter_statistics(model: TinyLM, layer: int, min_lag: int = 20) -> dict[str, float]:
    """Numbers that describe the learned long filters of one Hyena layer (all its channels).

    With ``h`` the layer's first learned filter bank ``(d_model, L)`` at the model's length:

    * ``"bump_lag"``: the lag ``>= min_lag`` where the mean of ``|h|`` over channels peaks: a
      feature shared by the channels, which are all read out of the same FFN features.
    * ``"max_tap_share"``: the largest ``|h_c[t]| / sum_t |h_c[t]|`` over channels: how much of
      a filter's weight sits on its single strongest lag (1 for a pure delay).
    * ``"short_period_share"``: the median over channels of the share of a filter's energy
      (``|rfft|^2``) at periods shorter than 3 tokens: the period-2 zig-zag.
    * ``"reach_60"`` and ``"window_60"``: the mean ``|h|`` at lag 60 over its value at lag 0,
      and the same for the exponential decay window the filter is multiplied by (Sec. 3.3):
      how far the learned filter reaches against how far the window alone would let it.
    """
    op = _hyena_layer(model, layer)
    L = model.config.l_max
    if not 0 <= min_lag < L or L <= 60:
        raise ValueError(f"need min_lag in [0, L) and L > 60 for these statistics, got L = {L}")
    with torch.no_grad():
        h = op.filters(L)[0].double()  # (d_model, L)
        window = op.filter.window(L).double().mean(0)  # (L,)
    a = h.abs()
    mean = a.mean(0)  # (L,)
    energy = torch.fft.rfft(h, dim=1).abs() ** 2  # (d_model, L // 2 + 1)
    short = torch.arange(energy.shape[1]) / L > 1 / 3  # frequencies above 1/3 cycle per token
    return {
        "bump_lag": float(min_lag + int(mean[min_lag:].argmax())),
        "max_tap_share": float((a.max(dim=1).values / a.sum(dim=1)).max()),
        "short_period_share": float((energy[:, short].sum(1) / energy.sum(1)).median()),
        "reach_60": float(mean[60] / mean[0]),
        "window_60": float(window[60] / window[0]),
    }


def filters_figure(model: TinyLM, layers: Sequence[int] | None = None, channels: int = 8) -> Figure:
    """The learned long filters ``h^n_t`` of Hyena layers: a few channels, and all of them.

    One column per layer (``layers``, 0-based; default all) and per learned filter ``n`` (in the
    order the recurrence applies them). Top: ``channels`` of the filters against lag ``t`` at the
    model's length. Middle: the mean of ``|h|`` over *all* channels, beside the mean decay window
    (Sec. 3.3) scaled to the same start. Bottom: the mean amplitude spectrum ``|rfft(h)|`` over
    all channels against frequency (cycles per token; 0.5 is a period of 2 tokens).
    """
    layers = range(len(model.blocks)) if layers is None else list(layers)
    ops = [_hyena_layer(model, layer) for layer in layers]
    if not ops:
        raise ValueError("layers is empty: pass at least one layer index")
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
        raise ValueError(f"channels must be an int >= 1, got {channels!r}")
    L = model.config.l_max
    with torch.no_grad():
        banks = [op.filters(L) for op in ops]  # each (n_filters, d_model, L)
        windows = [op.filter.window(L).mean(0) for op in ops]  # each (L,)
    panels = [(layer, op, h, w, n) for layer, op, h, w in zip(layers, ops, banks, windows,
              strict=True) for n in range(h.shape[0])]  # fmt: skip
    fig, axes = _subplots(3, len(panels), figsize=(4.6 * len(panels), 8.4), sharex="row",
                          sharey="row")  # fmt: skip
    axes = np.asarray(axes).reshape(3, len(panels))
    freqs = np.fft.rfftfreq(L)
    for col, (layer, op, h, window, n) in enumerate(panels):
        first = op.order - h.shape[0] + 1  # 2 when the first filter is the identity
        shown = min(channels, h.shape[1])
        ax_h, ax_mean, ax_f = axes[:, col]
        for c in range(shown):
            ax_h.plot(h[n, c].numpy(), lw=1)
        ax_h.set_title(f"layer {layer + 1}: filter h^{first + n}, {shown} of {h.shape[1]} channels")
        mean = h[n].abs().mean(0)
        ax_mean.plot(mean.numpy(), color="0.15", label="mean |h| over channels")
        ax_mean.plot((window * mean[0] / window[0]).numpy(), color="0.5", ls="--",
                     label="decay window (scaled)")  # fmt: skip
        ax_f.semilogy(freqs, torch.fft.rfft(h[n], dim=1).abs().mean(0).numpy(), color="0.15")
        ax_f.axvspan(1 / 3, 0.5, color="#E69F00", alpha=0.15, lw=0,
                     label="periods < 3 tokens")  # fmt: skip
        ax_h.set_xlabel("lag t (tokens)")
        ax_mean.set_xlabel("lag t (tokens)")
        ax_f.set_xlabel("frequency (cycles per token; 0.5 = period 2)")
    axes[0, 0].set_ylabel("filter value h_t")
    axes[1, 0].set_ylabel("mean |h_t|")
    axes[2, 0].set_ylabel("mean |FFT of h|")
    axes[1, 0].legend(fontsize=8)
    axes[2, 0].legend(fontsize=8, loc="upper right")
    return fig


def key_positions(tokens: torch.Tensor) -> tuple[list[int], list[int]]:
    """Positions of the query key's earlier occurrences and of the values that follow them.

    ``tokens`` is one recall sequence ``(L,)`` whose last token is the query.
    """
    tokens = tokens.reshape(-1)
    query = int(tokens[-1])
    keys = [s for s in range(len(tokens) - 2) if int(tokens[s]) == query]
    return keys, [s + 1 for s in keys]


def query_row(model: TinyLM, tokens: torch.Tensor, layer: int) -> torch.Tensor:
    """The query's row of a layer's contributions, normalised to sum to 1, ``(L,)``.

    Entry ``s`` is ``||W_out (A[:, L-1, s] * v[:, s])||`` (:meth:`TinyLM.contributions`) over
    the row's sum: the share of the output at the query position (the one that must predict
    the value) that comes from input position ``s``.
    """
    row = model.contributions(tokens.reshape(1, -1), layer)[-1]  # (L,)
    return row / row.sum()


def query_selectivity(model: TinyLM, inputs: torch.Tensor, layer: int) -> float:
    """How much more a layer's query row reads the query key's values than other values.

    For each recall sequence of ``inputs`` ``(num_examples, L)``: the mean of the query row
    (:func:`query_row`) over the value positions that follow an occurrence of the query key,
    divided by its mean over the value positions that follow any other key. Returns the mean
    ratio over the sequences (those with both kinds of positions). 1 means no preference; a
    lookup by content gives a ratio well above 1.
    """
    vocab = recall_vocab(model.config.vocab_size)
    ratios = []
    for x in inputs:
        is_key = (x[:-2] >= vocab.key_start) & (x[:-2] < vocab.value_start)  # (L - 2,)
        after = torch.nonzero(is_key)[:, 0] + 1  # the value positions
        hit = x[after - 1] == x[-1]  # values of the query key
        if hit.all() or not hit.any():
            continue
        row = query_row(model, x, layer)
        ratios.append(float(row[after[hit]].mean() / row[after[~hit]].mean()))
    if not ratios:
        raise ValueError("need sequences with both the query key and other keys in the context")
    return sum(ratios) / len(ratios)


def recall_explorer_figure(
    model: TinyLM, inputs: torch.Tensor, example: int = 0, layer: int = 1
) -> Figure:
    """What a layer reads where, on one recall example, with the query key and its value marked.

    Top: the contributions ``||W_out (A[:, t, s] * v[:, s])||`` of layer ``layer``
    (:meth:`TinyLM.contributions`; ``A = A(u)`` for Hyena), each row normalised. Bottom:
    its last row (the output at the query, which must predict the value) against input
    position, with the query key's earlier occurrences (orange) and the values right after them
    (green) marked, and the model's prediction in the title.

    Args:
        model: a trained :class:`~hyena_lab.models.TinyLM`.
        inputs: recall inputs ``(num_examples, L)``.
        example: which sequence to show (a widget slider).
        layer: which block's mixer (0-based).
    """
    if inputs.ndim != 2:
        raise ValueError(f"inputs must be (num_examples, seq_len), got {tuple(inputs.shape)}")
    n = inputs.shape[0]
    if isinstance(example, bool) or not isinstance(example, int) or not 0 <= example < n:
        raise ValueError(f"example must be an int in [0, {n}), got {example!r}")
    model.check_layer(layer)
    tokens = inputs[example : example + 1]
    V = model.config.vocab_size
    C = model.contributions(tokens, layer)  # (L, L)
    row = C[-1] / C[-1].sum()
    keys, values = key_positions(tokens[0])
    with torch.no_grad():
        model.eval()
        predicted = int(model(tokens)[0, -1].argmax())
    fig, (ax_a, ax_row) = _subplots(
        2, 1, figsize=(7.5, 7.5), gridspec_kw={"height_ratios": [3, 1.4]}
    )
    C = C / C.sum(dim=1, keepdim=True)  # each output's shares
    im = ax_a.imshow(C.numpy(), cmap="magma", interpolation="nearest", norm=_log_norm(C))
    fig.colorbar(im, ax=ax_a, fraction=0.046, pad=0.03, label="share of output t from input s")
    ax_a.set_xlabel("input position s")
    ax_a.set_ylabel("output position t")
    ax_a.grid(False)
    ax_a.set_title(f"layer {layer + 1} ({model.config.mixer}): contributions ||W_out A(u) v||")
    L = tokens.shape[1]
    ax_row.bar(range(L), row.numpy(), color="0.55", width=1.0)
    ax_row.bar(keys, row[keys].numpy(), color="#D55E00", width=1.0, label="query key")
    ax_row.bar(values, row[values].numpy(), color="#009E73", width=1.0, label="its value")
    ax_row.set_xlim(-0.5, L - 0.5)
    ax_row.set_xlabel("input position s")
    ax_row.set_ylabel("weight (share)")
    answer = _word(predicted, V)
    query = decode(tokens[0, -1:], V)
    ax_row.set_title(f"query row t = {L - 1}: query '{query}', model answers '{answer}'")
    ax_row.legend(fontsize=8, loc="upper left")
    return fig


def _word(token: int, vocab_size: int) -> str:
    """One token as the text of :func:`hyena_lab.tasks.decode`."""
    if token in (PROMPT, NOOP) or 0 <= token < vocab_size:
        return decode(torch.tensor([token]), vocab_size)
    raise ValueError(f"token {token} outside the vocabulary of size {vocab_size}")


def _log_norm(A: torch.Tensor) -> Any:
    """A logarithmic colour scale over the positive entries of ``A`` (3 decades)."""
    from matplotlib.colors import LogNorm

    top = float(A.max()) or 1.0
    return LogNorm(vmin=top * 1e-3, vmax=top, clip=True)


#: The records moved to :mod:`hyena_lab.recall` (measuring and writing are not drawing); still
#: importable from here, with a DeprecationWarning.
__getattr__ = moved(__name__, dict.fromkeys((
    "SCHEMA", "device_name", "load_measurement", "measurement_record", "merge_into_record",
    "read_grid_record", "save_measurement", "write_record",
), "hyena_lab.recall"))  # fmt: skip
