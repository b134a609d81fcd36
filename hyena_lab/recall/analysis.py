"""Numbers read off chapter 04's trained models and records (paper Sec. 4.1): what a layer's
filters look like, where its query row reads, and the time per step and accuracy of a run.
The figures that draw them are in :mod:`hyena_lab.viz.recall`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ..models import TinyLM
from ..operator import HyenaOperator
from ..tasks import recall_vocab
from ..train import History

__all__ = [
    "accuracy_at", "filter_statistics", "hyena_layer", "key_positions", "query_row",
    "query_selectivity", "seconds_per_step",
]  # fmt: skip


def seconds_per_step(record: Mapping[str, Any], mixer: str) -> float:
    """Mean ``seconds / steps`` over ``mixer``'s runs in a record of
    :func:`hyena_lab.recall.load_measurement` (validation passes included)."""
    runs = [r for r in record["results"] if r["mixer"] == mixer]
    if not runs:
        raise ValueError(f"the record has no run of mixer {mixer!r}")
    return sum(r["seconds"] / r["steps"] for r in runs) / len(runs)


def accuracy_at(curve: History | Mapping[str, Any], step: int) -> float:
    """Validation accuracy of a run at a step it was validated at; ``curve`` is a
    :class:`~hyena_lab.train.History` or a recorded ``{"step": [...], "valid_accuracy": [...]}``."""
    if isinstance(curve, History):
        steps, accs = curve.step, curve.valid_accuracy
    else:
        steps, accs = curve["step"], curve["valid_accuracy"]
    if step not in steps:
        raise ValueError(f"the run was not validated at step {step}; it was at {list(steps)}")
    return accs[list(steps).index(step)]


def hyena_layer(model: TinyLM, layer: int) -> HyenaOperator:
    """The Hyena / H3 operator of block ``layer`` (raises for other mixers or a bad index)."""
    op = model.blocks[model.check_layer(layer)].mixer
    if not isinstance(op, HyenaOperator):
        raise ValueError(f"layer {layer} holds a {type(op).__name__}, not a Hyena operator")
    return op


def filter_statistics(model: TinyLM, layer: int, min_lag: int = 20) -> dict[str, float]:
    """Numbers that describe the first learned filter bank ``h`` ``(d_model, L)`` of a layer.

    ``"bump_lag"``: the lag ``>= min_lag`` where the mean ``|h|`` over channels peaks;
    ``"max_tap_share"``: the largest ``|h_c[t]| / sum_t |h_c[t]|`` (1 for a pure delay);
    ``"short_period_share"``: the median share of a filter's energy (``|rfft|^2``) at periods
    shorter than 3 tokens (the zig-zag); ``"reach_60"`` / ``"window_60"``: mean ``|h|`` at lag
    60 over lag 0, and the same for the decay window (Sec. 3.3). Needs ``L > 60``.
    """
    op = hyena_layer(model, layer)
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


def key_positions(tokens: torch.Tensor) -> tuple[list[int], list[int]]:
    """Positions of the query key's earlier occurrences and of the values after them, in one
    recall sequence ``(L,)`` whose last token is the query."""
    tokens = tokens.reshape(-1)
    query = int(tokens[-1])
    keys = [s for s in range(len(tokens) - 2) if int(tokens[s]) == query]
    return keys, [s + 1 for s in keys]


def query_row(model: TinyLM, tokens: torch.Tensor, layer: int) -> torch.Tensor:
    """The last row of :meth:`TinyLM.contributions` normalised to sum to 1, ``(L,)``: the share
    of the output at the query position that comes from each input position."""
    row = model.contributions(tokens.reshape(1, -1), layer)[-1]  # (L,)
    return row / row.sum()


def query_selectivity(model: TinyLM, inputs: torch.Tensor, layer: int) -> float:
    """How much more the query row reads the query key's values than other values.

    Per sequence of ``inputs`` ``(num_examples, L)`` with both kinds of value positions: the
    mean of :func:`query_row` over the values after the query key, divided by its mean over the
    values after other keys; returns the mean ratio (1: no preference; a lookup: well above 1).
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
