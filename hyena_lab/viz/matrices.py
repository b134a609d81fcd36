"""Figures, widget and cost table of chapter 02, *The Hyena matrices* (Sec. 3.1-3.2, App. D.1):
``y = A(u) v``, ``A(u) = D_x^N S_h^N ... D_x^1 S_h^1`` (:meth:`HyenaOperator.matrices`), drawn
for the examples of :mod:`hyena_lab.experiments.examples` and the ``matrix-costs`` records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..deprecation import moved
from ..experiments import examples
from ..experiments.matrix_costs import (
    DEMO_FILTER_ARGS,
    RECORD_LENGTHS,
    RECORD_NAME,
    count_matrix_costs,
)
from ..operator import HyenaOperator
from . import loglog, matrix_heatmap, new_figure, thread_label

if TYPE_CHECKING:  # ipywidgets is imported lazily: only the widget cell needs it
    import ipywidgets

__all__ = [
    "DEMO_FILTER_ARGS", "MAX_ORDER", "RECORD_LENGTHS", "RECORD_NAME", "complexity_figure",
    "complexity_table", "count_matrix_costs", "hyena_matrices_controls", "hyena_matrices_figure",
    "matrices_figure", "patterns_figure",
]  # fmt: skip

#: Highest order of the widget's operator.
MAX_ORDER = 4


def _check_index(value: object, name: str, lo: int, hi: int, what: str) -> int:
    """``value`` as an int in ``[lo, hi]``; else a ``TypeError`` / ``ValueError`` saying so."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int in [{lo}, {hi}] ({what}), got {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be in [{lo}, {hi}] ({what}), got {value}")
    return value


def _check_channel(channel: object, d_model: int) -> int:
    return _check_index(channel, "channel", 0, d_model - 1, f"d_model = {d_model} channels")


def matrices_figure(op: HyenaOperator, u: torch.Tensor, channel: int = 0, *, seed: int = 0,
                    title: str | None = None) -> Figure:  # fmt: skip
    """For one input ``u`` ``(1, L, d_model)`` and channel: ``S_h^n`` over ``D_x^n`` per column,
    numbered in the order they act on ``v``, then ``A(u)`` over a causal attention matrix
    (``causal_attention_matrix(u, seed=seed)``)."""
    op.check_input(u)
    if u.shape[0] != 1:
        raise ValueError(f"u must hold one sequence, shape (1, seq_len, d_model), got "
                         f"{tuple(u.shape)}")
    c = _check_channel(channel, op.d_model)
    with torch.no_grad():
        m = op.matrices(u)
        A = m.product()[c]  # (L, L)
    N, L = m.order, u.shape[1]
    fig, axes = new_figure((3.2 * (N + 1), 6.4), 2, N + 1, squeeze=False)
    for n in range(N):  # step numbers: the order in which the factors act on v
        if n == 0 and op.identity_first:  # the official layers' first step: no filter
            s_title = "(1) $S_h^1 = I$ (identity)"
        else:
            s_title = f"({2 * n + 1}) $S_h^{n + 1}$ (filter $h^{n + 1}$)"
        matrix_heatmap(axes[0, n], m.S_h[n][c], s_title)
        matrix_heatmap(axes[1, n], torch.diag(m.D_x[n][c]),  # (L, L), zero off the diagonal
                       f"({2 * n + 2}) $D_x^{n + 1}$ = diag(gate $x^{n + 1}$)")
    matrix_heatmap(axes[0, N], A, f"$A(u)$ = ({2 * N}) $\\cdots$ (1)")
    matrix_heatmap(axes[1, N], examples.causal_attention_matrix(u, seed=seed),
                   "causal softmax attention (random $W_q, W_k$)")
    fig.suptitle(title or f"Hyena order N = {N}, channel {c}, L = {L}: factors of y = A(u) v")
    fig.supxlabel("(n): the n-th factor to act on v; column n holds $S_h^n$ (top), then "
                  "$D_x^n$ (bottom)", fontsize=9)
    return fig


def patterns_figure(op: HyenaOperator, channel: int = 0, seq_len: int = 32, *,
                    seed: int = 0) -> Figure:  # fmt: skip
    """``A(u)`` over causal attention for each input pattern (App. D.1): one operator and head,
    so every difference along a row is data control."""
    c = _check_channel(channel, op.d_model)
    L = _check_index(seq_len, "seq_len", 1, op.l_max, f"l_max = {op.l_max}")
    fig, axes = new_figure((11.5, 7.0), 2, len(examples.PATTERNS), squeeze=False)
    for j, pattern in enumerate(examples.PATTERNS):
        u = examples.make_input(pattern, L, op.d_model, seed)
        with torch.no_grad():
            A = op.materialize(u)[c]
        matrix_heatmap(axes[0, j], A, f"Hyena $A(u)$, input: {pattern}")
        matrix_heatmap(axes[1, j], examples.causal_attention_matrix(u, seed=seed),
                       f"attention, input: {pattern}")
    fig.suptitle(f"one Hyena operator (order {op.order}, channel {c}) and one attention head, "
                 f"three inputs, L = {L}")
    return fig


def hyena_matrices_figure(order: int = 2, channel: int = 0, seq_len: int = 32,
                          pattern: str = "random", seed: int = 0) -> Figure:  # fmt: skip
    """The widget's figure: :func:`matrices_figure` of ``demo_operator(order, seed=seed)`` on
    ``make_input(pattern, seq_len, ...)``; out-of-range values raise, naming the range."""
    d, l_max = examples.DEMO_D_MODEL, examples.DEMO_L_MAX
    _check_index(order, "order", 1, MAX_ORDER, "the paper's N: long convolutions and gates")
    _check_channel(channel, d)
    L = _check_index(seq_len, "seq_len", 1, l_max, f"l_max = {l_max}")
    u = examples.make_input(pattern, L, d, seed)
    return matrices_figure(
        examples.demo_operator(order, seed=seed), u, channel, seed=seed,
        title=f"order N = {order}, channel {channel}, L = {L}, input: {pattern} (seed {seed})",
    )


def hyena_matrices_controls() -> dict[str, ipywidgets.Widget]:
    """Widgets for ``interact(hyena_matrices_figure, **controls)`` over the valid ranges."""
    import ipywidgets as widgets

    def slider(value: int, lo: int, hi: int, description: str) -> widgets.IntSlider:
        return widgets.IntSlider(value=value, min=lo, max=hi, description=description,
                                 continuous_update=False)

    return {
        "order": slider(2, 1, MAX_ORDER, "order N"),
        "channel": slider(0, 0, examples.DEMO_D_MODEL - 1, "channel"),
        "seq_len": slider(32, 1, examples.DEMO_L_MAX, "L"),
        "pattern": widgets.Dropdown(options=list(examples.PATTERNS), value=examples.PATTERNS[0],
                                    description="input"),
    }


# ---------------------------------------------------------------------- the costs (records)


def _ms(s: float | None) -> str:
    return "skipped" if s is None else f"{s * 1e3:.3f} ms"


def complexity_table(costs: dict[str, Any]) -> str:
    """A fixed-width text table of a ``matrix-costs`` record (one line per ``L``)."""
    head = (f"{'L':>6} | {'op(u)':>11} | {'materialize(u)':>14} | {'A @ v':>11} | "
            f"{'bytes of A(u)':>13} | {'op signals':>10}")
    lines = [head, "-" * len(head)]
    for r in costs["rows"]:
        lines.append(
            f"{r['L']:>6} | {_ms(r['op_seconds']):>11} | {_ms(r['materialize_seconds']):>14} | "
            f"{_ms(r['matvec_seconds']):>11} | "
            f"{r['A_bytes'] / 2**20:>9.2f} MiB | {r['signal_bytes'] / 2**10:>6.1f} KiB"
        )
    return "\n".join(lines)


#: Label, colour and marker of each path in :func:`complexity_figure` (the same in every panel).
_PATHS: dict[str, tuple[str, str, str]] = {
    "op": ("op(u): FFT path", "#0072B2", "o"),
    "materialize": ("materialize(u): dense A(u)", "#D55E00", "s"),
    "matvec": ("A @ v with A(u) given", "#009E73", "^"),
}


def complexity_figure(costs: dict[str, Any], live: dict[str, Any] | None = None) -> Figure:
    """Time (``costs`` solid, ``live`` dotted), counted FLOP and memory of ``op(u)``,
    ``materialize(u)`` and ``A @ v`` vs ``L``, from a ``matrix-costs`` record (log-log)."""
    rows = costs["rows"]
    Ls = [r["L"] for r in rows]
    counted = count_matrix_costs(Ls, d_model=costs["d_model"], order=costs["order"])["rows"]
    fig, (ax_t, ax_f, ax_m) = new_figure((14.0, 4.4), 1, 3)
    handles, labels = [], []
    runs = ((costs, "-", {}, "solid: recorded"), (live, ":", {"mfc": "none"}, "dotted: this run"))
    for run, ls, hollow, what in runs:
        if run is None:
            continue
        for key, (label, color, marker) in _PATHS.items():
            pts = [(r["L"], r[f"{key}_seconds"]) for r in run["rows"]
                   if r[f"{key}_seconds"] is not None]  # fmt: skip
            if pts:
                ax_t.plot(*zip(*pts, strict=True), color=color, marker=marker, ms=5, ls=ls,
                          label=None if hollow else label, **hollow)
        if not hollow:  # the recorded run's paths head the legend
            handles, labels = ax_t.get_legend_handles_labels()
        handles.append(Line2D([], [], color="0.3", ls=ls, marker="o", ms=4, **hollow))
        labels.append(f"{what} ({thread_label(run, run.get('processor', '?'))})")
    ax_t.legend(handles, labels, fontsize=7, loc="upper left")
    for key, (label, color, marker) in _PATHS.items():
        ax_f.plot(Ls, [r[f"{key}_flops"] for r in counted], ls="-", color=color, marker=marker,
                  ms=5, label=label)
    ax_f.plot(Ls, [r["conv_flops"] for r in counted], ls="--", color=_PATHS["op"][1],
              label="  of which the N FFT convolutions")
    ax_m.plot(Ls, [r["A_bytes"] for r in rows], "s-", ms=5, color=_PATHS["materialize"][1],
              label="A(u): d L² floats")
    ax_m.plot(Ls, [r["signal_bytes"] for r in rows], "o-", ms=5, color=_PATHS["op"][1],
              label="op signals: (2N + 1) d L floats")
    loglog(ax_t, "time per call (s, median)",
           f"measured time, CPU {costs['dtype']}, order {costs['order']}, d = {costs['d_model']}")
    loglog(ax_f, "work per call (FLOP, counted)", "counted work (any machine)")
    loglog(ax_m, "memory (bytes)", "memory of what is stored")
    ax_f.legend(fontsize=7, loc="upper left")
    ax_m.legend(fontsize=7, loc="upper left")
    return fig


#: Names that moved out of viz (measuring and data are not drawing); still importable from
#: here, with a DeprecationWarning.
__getattr__ = moved(__name__, {
    **dict.fromkeys(("measure_matrix_costs", "record_matrix_costs"),
                    "hyena_lab.experiments.matrix_costs"),
    **dict.fromkeys(("DEMO_D_MODEL", "DEMO_L_MAX", "PATTERNS", "causal_attention_matrix",
                     "demo_operator", "make_input", "random_qk_weights", "toeplitz_deviation"),
                    "hyena_lab.experiments.examples"),
})  # fmt: skip
