"""Figures and tables of chapter 04 (associative recall, paper Sec. 4.1, Tables 4.1-4.2, C.1).

Every figure function is *pure*: it reads the trained model, the data or the recorded results it
is given, changes none of them, and returns a matplotlib ``Figure`` (the notebook's widget calls
:func:`recall_explorer_figure` on every slider move; the tests call everything headless).

* :func:`learning_curves_figure`: validation accuracy against training time, loss against steps.
* :func:`grid_table` / :func:`grid_figure`: test accuracy over sequence length x vocabulary size
  for each mixer, the tiny-scale version of the paper's tables.
* :func:`filters_figure`: the long filters ``h^n`` a trained Hyena layer learned.
* :func:`recall_explorer_figure`: what each input position contributes to each output of a
  layer (``W_out A(u) v``) on one recall example, and the query's row, with the query key and
  its value marked: where the answer is read from.
* :func:`query_row` / :func:`query_selectivity`: the numbers behind that figure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from ..models import TinyLM
from ..operator import HyenaOperator
from ..tasks import NOOP, PROMPT, decode, recall_vocab
from ..train import RECALL_NUM_TRAIN, RECALL_TRAIN_SCORE, History, TrainConfig
from . import _NAME, cpu_name, figures_dir, load_data, write_atomic

__all__ = [
    "MIXER_LABELS",
    "device_name",
    "filters_figure",
    "grid_figure",
    "grid_table",
    "key_positions",
    "learning_curves_figure",
    "load_measurement",
    "query_row",
    "query_selectivity",
    "recall_explorer_figure",
    "save_measurement",
]

#: How the mixers are named in figures and tables, in the order of the paper's tables.
MIXER_LABELS = {
    "conv": "long conv (no gate)",
    "h3": "H3 (SSM filters)",
    "attention": "attention",
    "hyena": "Hyena",
}


def learning_curves_figure(histories: Mapping[str, History]) -> Figure:
    """Validation accuracy against seconds of training, and training loss against steps.

    Args:
        histories: ``{label: History}``, e.g. ``{"Hyena": h1, "attention": h2}``.
    """
    if not histories:
        raise ValueError("histories is empty: pass {label: History} of at least one run")
    fig, (ax_acc, ax_loss) = _subplots(1, 2, figsize=(10, 3.6))
    for label, h in histories.items():
        if not isinstance(h, History) or not h.step:
            raise ValueError(f"histories[{label!r}] must be a History with at least one record")
        ax_acc.plot(h.seconds, [100 * a for a in h.valid_accuracy], marker=".", label=label)
        ax_loss.plot(h.step, h.train_loss, label=label)
    ax_acc.set_xlabel("training time (s)")
    ax_acc.set_ylabel("validation accuracy (%)")
    ax_acc.set_title("recall accuracy on held-out sequences")
    ax_acc.set_ylim(0, 101)
    ax_acc.legend()
    ax_loss.set_xlabel("optimizer step")
    ax_loss.set_ylabel("training loss (nats / token)")
    ax_loss.set_title("training loss (scored positions)")
    ax_loss.legend()
    return fig


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

    Cells average over the seeds present; mixers appear in the order of the paper's tables.
    """
    mixers, vocabs, lengths = _grid_axes(results)
    names = [MIXER_LABELS.get(m, m).split(" (")[0] for m in mixers]
    width = max(10, *map(len, names))
    lines = [f"{'vocab':>5} {'length':>6}  " + " ".join(n.rjust(width) for n in names)]
    for V in vocabs:
        for L in lengths:
            cells = " ".join(f"{_mean_accuracy(results, m, V, L):{width}.1f}" for m in mixers)
            lines.append(f"{V:>5} {L:>6}  {cells}")
    return "\n".join(lines)


def grid_figure(results: Sequence[Mapping[str, Any]]) -> Figure:
    """Test accuracy against sequence length, one panel per vocabulary size, a line per mixer."""
    mixers, vocabs, lengths = _grid_axes(results)
    fig, axes = _subplots(1, len(vocabs), figsize=(3.6 * len(vocabs), 3.4), sharey=True)
    axes = np.atleast_1d(axes)
    for ax, V in zip(axes, vocabs, strict=True):
        for m in mixers:
            acc = [_mean_accuracy(results, m, V, L) for L in lengths]
            ax.plot(lengths, acc, marker="o", label=MIXER_LABELS.get(m, m))
        ax.axhline(100 / recall_vocab(V).num_values, color="0.5", ls=":", lw=1)
        ax.set_xscale("log", base=2)
        ax.set_xticks(lengths, [str(L) for L in lengths])
        ax.set_xlabel("sequence length L (tokens)")
        ax.set_title(f"vocabulary size {V}")
        ax.set_ylim(0, 102)
    axes[0].set_ylabel("test accuracy (%)")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right center", fontsize=9)
    fig.suptitle("associative recall, 2 layers, width 64 (dotted: chance)")
    return fig


def _hyena_layer(model: TinyLM, layer: int) -> Any:
    """The Hyena / H3 operator of block ``layer`` (raises for other mixers or a bad index)."""
    op = model.blocks[model.check_layer(layer)].mixer
    if not isinstance(op, HyenaOperator):
        raise ValueError(f"layer {layer} holds a {type(op).__name__}, not a Hyena operator")
    return op


def filters_figure(model: TinyLM, layers: Sequence[int] | None = None, channels: int = 8) -> Figure:
    """The learned long filters ``h^n_t`` of Hyena layers, ``channels`` of them per filter.

    One panel per layer (``layers``, 0-based; default all) and per learned filter ``n`` (in the
    order the recurrence applies them): filter value against lag ``t`` at the model's length.
    """
    layers = range(len(model.blocks)) if layers is None else list(layers)
    ops = [_hyena_layer(model, layer) for layer in layers]
    if not ops:
        raise ValueError("layers is empty: pass at least one layer index")
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
        raise ValueError(f"channels must be an int >= 1, got {channels!r}")
    with torch.no_grad():
        banks = [op.filters(model.config.l_max) for op in ops]  # each (n_filters, d_model, L)
    panels = [(layer, op, h, n) for layer, op, h in zip(layers, ops, banks, strict=True)
              for n in range(h.shape[0])]  # fmt: skip
    fig, axes = _subplots(1, len(panels), figsize=(4.0 * len(panels), 3.2), sharey=True)
    for ax, (layer, op, h, n) in zip(np.atleast_1d(axes), panels, strict=True):
        first = op.order - h.shape[0] + 1  # 2 when the first filter is the identity
        shown = min(channels, h.shape[1])
        for c in range(shown):
            ax.plot(h[n, c].numpy(), lw=1)
        ax.set_xlabel("lag t (tokens)")
        ax.set_title(f"layer {layer + 1}: filter h^{first + n}, {shown} channels")
    np.atleast_1d(axes)[0].set_ylabel("filter value h_t")
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


# ------------------------------------------------------------------------ recorded measurements


def device_name(device: str | torch.device = "cpu") -> str:
    """A readable name of the machine a run used: the GPU's name, else the CPU model."""
    dev = torch.device(device)
    if dev.type == "cuda":
        return f"{torch.cuda.get_device_name(dev)} (CUDA)"
    return f"{cpu_name()} (CPU)"


def save_measurement(
    name: str,
    results: Sequence[Mapping[str, Any]],
    config: TrainConfig,
    *,
    device: str,
    torch_version: str = torch.__version__,
    **extra: Any,
) -> Path:
    """Write run summaries to ``figures/data/<name>.json`` with their context.

    The record holds ``device`` (a name, see :func:`device_name`), the torch version, the date,
    the shapes of the runs (batch, width, layers, training sequences), the positions the
    training loss scores, the training recipe, anything in ``extra``, and the ``results``
    themselves. ``torch_version`` defaults to this process's; pass the other one for results
    measured elsewhere. Returns the path written.
    """
    if not _NAME.match(name):
        raise ValueError(f"measurement name must use letters, digits, '_', '-', '.', got {name!r}")
    if not results:
        raise ValueError("results is empty: nothing to record")
    record = {
        "device": device,
        "torch_version": torch_version,
        "date": date.today().isoformat(),
        "shapes": {
            "batch": config.batch_size,
            "d_model": sorted({r["d_model"] for r in results}),
            "n_layers": sorted({r["n_layers"] for r in results}),
            "num_train": RECALL_NUM_TRAIN,
        },
        "train_score": RECALL_TRAIN_SCORE,
        "recipe": asdict(config),
        **extra,
        "results": [dict(r) for r in results],
    }
    text = json.dumps(record, indent=1) + "\n"
    return write_atomic(figures_dir() / "data" / f"{name}.json", text)


def load_measurement(name: str) -> dict[str, Any]:
    """Read the committed record written by :func:`save_measurement` (see ``viz.load_data``)."""
    return load_data(name)
