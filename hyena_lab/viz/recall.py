"""Figures and tables of chapter 04, associative recall (paper Sec. 4.1, Tables 4.2, A.2, C.1).

They draw models, data and records without changing them; the numbers behind them are in
:mod:`hyena_lab.recall.analysis`, the records in :mod:`hyena_lab.recall`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from ..deprecation import moved
from ..models import TinyLM
from ..recall import analysis
from ..tasks import NOOP, PROMPT, decode, recall_baselines
from ..train import History
from . import STYLE, new_figure

__all__ = [
    "MIXER_COLORS", "MIXER_LABELS", "curves_figure", "filters_figure", "grid_figure",
    "grid_table", "learning_curves_figure", "recall_explorer_figure",
]  # fmt: skip

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


def _accuracy_axes(ax: Axes, levels: Mapping[str, float] | None) -> None:
    """Reference accuracies (fractions) as grey lines, and the axes of accuracy vs step."""
    for (name, level), style in zip((levels or {}).items(), ("--", ":", "-."), strict=False):
        ax.axhline(100 * level, color="0.45", ls=style, lw=1, label=name)
    ax.set(xlabel="optimizer step", ylabel="validation accuracy (%)", ylim=(0, 101))


def learning_curves_figure(
    histories: Mapping[str, History],
    seconds_per_step: Mapping[str, float] | None = None,
    *,
    levels: Mapping[str, float] | None = None,
    machine: str = "the recorded machine",
) -> Figure:
    """Validation accuracy and training loss of ``{label: History}`` against optimizer steps
    (machine-independent), with a secondary time axis per run whose seconds per step were
    recorded on ``machine``; ``levels`` are reference accuracies, e.g. ``{"chance": 1 / 7}``."""
    if not histories:
        raise ValueError("histories is empty: pass {label: History} of at least one run")
    seconds_per_step = dict(seconds_per_step or {})
    unknown = set(seconds_per_step) - set(histories)
    if unknown:
        raise ValueError(f"seconds_per_step names runs not in histories: {sorted(unknown)}")
    fig, (ax_acc, ax_loss) = new_figure((11, 4.2), 1, 2)
    colors = {}
    for label, h in histories.items():
        if not isinstance(h, History) or not h.step:
            raise ValueError(f"histories[{label!r}] must be a History with at least one record")
        (line,) = ax_acc.plot(h.step, [100 * a for a in h.valid_accuracy], marker=".", label=label)
        ax_loss.plot(h.step, h.train_loss, label=label, color=line.get_color())
        colors[label] = line.get_color()
    _accuracy_axes(ax_acc, levels)
    ax_acc.legend(loc="center right", fontsize=9)
    for i, (label, sps) in enumerate(seconds_per_step.items()):
        if not float(sps) > 0:
            raise ValueError(f"seconds_per_step[{label!r}] must be > 0, got {sps!r}")
        top = ax_acc.secondary_xaxis(
            "top", functions=(lambda s, k=sps: s * k, lambda t, k=sps: t / k)
        )
        top.spines["top"].set(position=("outward", 34 * i), visible=True, color=colors[label])
        top.tick_params(axis="x", colors=colors[label], labelsize=8)
        top.set_xlabel(f"{label}: seconds on {machine}", color=colors[label], fontsize=8)
    ax_acc.set_title("recall accuracy on held-out sequences", pad=8 + 34 * len(seconds_per_step))
    ax_loss.set(xlabel="optimizer step", ylabel="training loss (nats / token)",
                title="training loss (scored positions)")
    ax_loss.legend()
    return fig


def curves_figure(
    groups: Mapping[str, Sequence[Mapping[str, Any]]],
    levels: Mapping[str, float] | None = None,
    title: str = "",
) -> Figure:
    """Validation accuracy of ``{label: runs with a "valid_curve"}`` against optimizer step: each
    run thin, the group's mean (over the steps all its runs reached) thick, in its colour."""
    if not groups or not all(groups.values()):
        raise ValueError("groups must map labels to non-empty lists of runs")
    fig, ax = new_figure((6.4, 3.8))
    cycle = STYLE["axes.prop_cycle"].by_key()["color"]
    for (label, runs), color in zip(groups.items(), cycle, strict=False):
        curves = [r["valid_curve"] for r in runs]
        for c in curves:
            ax.plot(c["step"], [100 * a for a in c["valid_accuracy"]], color=color, lw=0.8,
                    alpha=0.5)  # fmt: skip
        n = min(len(c["step"]) for c in curves)
        mean = np.mean([c["valid_accuracy"][:n] for c in curves], axis=0)
        ax.plot(curves[0]["step"][:n], 100 * mean, color=color, lw=2.2, marker=".",
                label=f"{label} (mean of {len(runs)}; thin: each run)")  # fmt: skip
    _accuracy_axes(ax, levels)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    return fig


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
    accs = [r["test_accuracy"] for r in results
            if r["mixer"] == mixer and r["vocab_size"] == V and r["seq_len"] == L]  # fmt: skip
    return 100 * float(np.mean(accs)) if accs else float("nan")


def grid_table(results: Sequence[Mapping[str, Any]]) -> str:
    """Test accuracy (%) per (vocabulary, length) and mixer, the mean over seeds (``nan``: none)."""
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
    """Test accuracy vs length per vocabulary size and mixer (mean over seeds, each run a dot),
    with chance and the most-frequent-value answer from ``recall_baselines`` or ``levels``
    (``{(vocab_size, seq_len): {"chance": .., "most_frequent": ..}}``)."""
    mixers, vocabs, lengths = _grid_axes(results)
    seeds = sorted({int(r.get("seed", 0)) for r in results})
    if levels is None:
        levels = {(V, L): recall_baselines(L, V, seeds) for V in vocabs for L in lengths}
    fig, axes = new_figure((3.7 * len(vocabs) + 2.6, 3.8), 1, len(vocabs), sharey=True)
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
        ax.set(xlabel="sequence length L (tokens)", title=f"vocabulary size {V}", ylim=(0, 102))
    axes[0].set_ylabel("test accuracy (%)")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right center", fontsize=9)
    fig.suptitle("associative recall, 2 layers, width 64: mean of seeds (line) and each run (dots)")
    return fig


def filters_figure(model: TinyLM, layers: Sequence[int] | None = None, channels: int = 8) -> Figure:
    """The learned filters ``h^n_t`` of Hyena ``layers`` (default all), a column each: ``channels``
    of them, the mean ``|h|`` beside the decay window (Sec. 3.3), and the mean spectrum."""
    layers = range(len(model.blocks)) if layers is None else list(layers)
    ops = [analysis.hyena_layer(model, layer) for layer in layers]
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
    fig, axes = new_figure((4.6 * len(panels), 8.4), 3, len(panels), sharex="row", sharey="row")
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


def recall_explorer_figure(
    model: TinyLM, inputs: torch.Tensor, example: int = 0, layer: int = 1
) -> Figure:
    """What block ``layer`` reads where on ``inputs[example]`` (``inputs`` ``(num_examples, L)``):
    its row-normalised :meth:`TinyLM.contributions`, and their query row with the query key's
    occurrences (orange), their values (green) and the model's answer."""
    if inputs.ndim != 2:
        raise ValueError(f"inputs must be (num_examples, seq_len), got {tuple(inputs.shape)}")
    n = inputs.shape[0]
    if isinstance(example, bool) or not isinstance(example, int) or not 0 <= example < n:
        raise ValueError(f"example must be an int in [0, {n}), got {example!r}")
    model.check_layer(layer)
    tokens = inputs[example : example + 1]
    V, L = model.config.vocab_size, tokens.shape[1]
    C = model.contributions(tokens, layer)  # (L, L)
    row = C[-1] / C[-1].sum()
    keys, values = analysis.key_positions(tokens[0])
    with torch.no_grad():
        model.eval()
        predicted = int(model(tokens)[0, -1].argmax())
    if not (predicted in (PROMPT, NOOP) or 0 <= predicted < V):
        raise ValueError(f"token {predicted} outside the vocabulary of size {V}")
    fig, (ax_a, ax_row) = new_figure((7.5, 7.5), 2, 1, gridspec_kw={"height_ratios": [3, 1.4]})
    C = C / C.sum(dim=1, keepdim=True)  # each output's shares
    top = float(C.max()) or 1.0  # a log colour scale over 3 decades
    im = ax_a.imshow(C.numpy(), cmap="magma", interpolation="nearest",
                     norm=LogNorm(vmin=top * 1e-3, vmax=top, clip=True))
    fig.colorbar(im, ax=ax_a, fraction=0.046, pad=0.03, label="share of output t from input s")
    ax_a.set(xlabel="input position s", ylabel="output position t",
             title=f"layer {layer + 1} ({model.config.mixer}): contributions ||W_out A(u) v||")
    ax_a.grid(False)
    ax_row.bar(range(L), row.numpy(), color="0.55", width=1.0)
    ax_row.bar(keys, row[keys].numpy(), color="#D55E00", width=1.0, label="query key")
    ax_row.bar(values, row[values].numpy(), color="#009E73", width=1.0, label="its value")
    ax_row.set(xlim=(-0.5, L - 0.5), xlabel="input position s", ylabel="weight (share)")
    answer = decode(torch.tensor([predicted]), V)
    ax_row.set_title(f"query row t = {L - 1}: query '{decode(tokens[0, -1:], V)}', model answers "
                     f"'{answer}'")
    ax_row.legend(fontsize=8, loc="upper left")
    return fig


#: Names that moved to :mod:`hyena_lab.recall` (records) and :mod:`hyena_lab.recall.analysis`
#: (numbers read off models and records); still importable from here, with a DeprecationWarning.
__getattr__ = moved(__name__, {
    **dict.fromkeys(("SCHEMA", "device_name", "load_measurement", "measurement_record",
                     "merge_into_record", "read_grid_record", "save_measurement", "write_record"),
                    "hyena_lab.recall"),
    **dict.fromkeys(("accuracy_at", "filter_statistics", "key_positions", "query_row",
                     "query_selectivity", "seconds_per_step"), "hyena_lab.recall.analysis"),
})  # fmt: skip
