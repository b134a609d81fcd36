"""Figures, widget and cost tables of chapter 02, *The Hyena matrices* (Sec. 3.1-3.2, App. D.1).

The chapter reads the order-``N`` Hyena operator (Definition 3.1) as a data-controlled matrix,

    y = A(u) v,      A(u) = D_x^N S_h^N ... D_x^2 S_h^2 D_x^1 S_h^1        (Sec. 3.2)

where, for one channel, ``D_x^n = diag(x^n)`` is the ``n``-th gate (a projection of the input
``u``), ``S_h^n`` the lower-triangular Toeplitz matrix of the ``n``-th long filter ``h^n`` (with the
skip term ``b^n`` on its diagonal) and ``v`` the value projection. The operator itself lives in
:mod:`hyena_lab.operator` (:meth:`~hyena_lab.operator.HyenaOperator.matrices` gives the factors,
:meth:`~hyena_lab.operator.HyenaOperator.materialize` their product ``A(u)``, ``(d_model, L, L)``);
this module only *draws* them, and the records of the experiment that counts and times them,
:mod:`hyena_lab.experiments.matrix_costs` (``hyena-lab matrix-costs``).

Every function is pure: what it draws is built from its arguments and a seed (the global torch
RNG is left as it was) and it returns a matplotlib ``Figure``, a tensor or a ``dict``, so that the
notebook's widget can call it on every change and the tests can call it headless.

Contents
--------
* Inputs and a small operator for the widget: :data:`PATTERNS`, :func:`make_input`,
  :func:`demo_operator`.
* A causal softmax attention matrix for the same input, for comparison (App. D.1):
  :func:`causal_attention_matrix` (random weights from :func:`random_qk_weights`: an
  illustration, not a trained model).
* :func:`toeplitz_deviation`: how far a matrix is from being Toeplitz (shift invariant).
* Figures: :func:`matrices_figure` (the factors, ``A(u)`` and attention for one channel),
  :func:`patterns_figure` (``A(u)`` and attention for the three input patterns),
  :func:`hyena_matrices_figure` (the widget's figure) and :func:`hyena_matrices_controls`.
* Cost of materialising ``A(u)`` (``O(d L^2)`` memory) against running the operator
  (``O(d L log L)`` time), drawn from a record of :mod:`hyena_lab.experiments.matrix_costs`:
  :func:`complexity_table`, :func:`complexity_figure`. That module's public names
  (:data:`RECORD_NAME`, :func:`count_matrix_costs`, :func:`measure_matrix_costs` ...) are
  re-exported here.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..checks import check_float, check_ndim, check_positive_int
from ..deprecation import moved
from ..experiments.matrix_costs import (
    DEMO_FILTER_ARGS,
    RECORD_LENGTHS,
    RECORD_NAME,
    count_matrix_costs,
    seeded_operator,
)
from ..mixers import causal_softmax
from ..operator import HyenaOperator
from . import matrix_heatmap

if TYPE_CHECKING:  # ipywidgets is imported lazily: only the widget cell needs it
    import ipywidgets

__all__ = [
    "DEMO_D_MODEL",
    "DEMO_FILTER_ARGS",
    "DEMO_L_MAX",
    "MAX_ORDER",
    "PATTERNS",
    "RECORD_LENGTHS",
    "RECORD_NAME",
    "causal_attention_matrix",
    "complexity_figure",
    "complexity_table",
    "count_matrix_costs",
    "demo_operator",
    "hyena_matrices_controls",
    "hyena_matrices_figure",
    "make_input",
    "matrices_figure",
    "patterns_figure",
    "random_qk_weights",
    "toeplitz_deviation",
]

#: Input patterns of the widget, in the order of its drop-down menu (see :func:`make_input`).
PATTERNS: tuple[str, ...] = ("random", "step", "repeated token")

#: Width, longest sequence and highest order of the widget's operator (small: ``A`` is dense).
DEMO_D_MODEL = 8
DEMO_L_MAX = 64
MAX_ORDER = 4


# ------------------------------------------------------------------------------ inputs, operator


def _check_index(value: object, name: str, lo: int, hi: int, what: str) -> int:
    """``value`` as an int in ``[lo, hi]``; else a ``TypeError`` / ``ValueError`` saying so."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int in [{lo}, {hi}] ({what}), got {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be in [{lo}, {hi}] ({what}), got {value}")
    return value


def _check_pattern(pattern: object) -> str:
    """Raise ``ValueError`` unless ``pattern`` is one of :data:`PATTERNS`."""
    if pattern not in PATTERNS:
        raise ValueError(f"unknown input pattern {pattern!r}; expected one of {list(PATTERNS)}")
    return pattern  # type: ignore[return-value]


def _generator(seed: int) -> torch.Generator:
    """A CPU generator seeded with ``seed`` (an int >= 0): random draws that leave the global
    RNG alone."""
    check_positive_int(seed, "seed", minimum=0)
    return torch.Generator().manual_seed(seed)


def make_input(pattern: str, seq_len: int, d_model: int, seed: int = 0) -> torch.Tensor:
    """An input sequence ``u`` of shape ``(1, seq_len, d_model)``, float64, of one of
    :data:`PATTERNS`:

    * ``"random"``: i.i.d. standard normal features at every position (a generic input);
    * ``"step"``: zero for ``t < seq_len // 2``, then one fixed random vector ``c`` (a change of
      regime half-way: the gates change there, so ``A(u)`` changes there);
    * ``"repeated token"``: the same random vector ``e`` at every position (one token repeated).
      The gates are then constant in time (after the short filter's first
      ``short_filter_order - 1`` steps), so ``A(u)`` is Toeplitz there: data control has nothing
      to react to and Hyena acts as a fixed convolution. Attention averages uniformly.

    The random vectors are drawn from ``seed`` (the global RNG is not used).

    Raises:
        ValueError: unknown ``pattern``, ``seq_len < 1`` or ``d_model < 1``.
        TypeError: ``seq_len`` / ``d_model`` not an int.
    """
    _check_pattern(pattern)
    L = check_positive_int(seq_len, "seq_len")
    d = check_positive_int(d_model, "d_model")
    g = _generator(seed)
    if pattern == "random":
        return torch.randn(1, L, d, generator=g, dtype=torch.float64)
    vector = torch.randn(d, generator=g, dtype=torch.float64)  # c or e
    u = vector.expand(1, L, d).clone()  # (1, L, d)
    if pattern == "step":
        u[:, : L // 2] = 0.0
    return u


def demo_operator(
    order: int,
    *,
    d_model: int = DEMO_D_MODEL,
    l_max: int = DEMO_L_MAX,
    seed: int = 0,
    **kwargs: Any,
) -> HyenaOperator:
    """The widget's operator: :func:`~hyena_lab.experiments.matrix_costs.seeded_operator`
    (float64, seeded, implicit filters with :data:`DEMO_FILTER_ARGS`) of width
    :data:`DEMO_D_MODEL` and length :data:`DEMO_L_MAX` by default; ``kwargs`` go to the
    constructor (e.g. ``identity_first=True``)."""
    return seeded_operator(order, d_model=d_model, l_max=l_max, seed=seed, **kwargs)


def random_qk_weights(
    d_model: int, d_k: int | None = None, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """The random query and key weights ``W_q, W_k`` of :func:`causal_attention_matrix`.

    Each is ``(d_model, d_k)`` float64 with i.i.d. ``N(0, 1/d_model)`` entries (so that ``u W``
    has unit variance for a unit-variance ``u``), drawn from ``seed``; ``d_k = d_model`` by
    default.
    """
    d = check_positive_int(d_model, "d_model")
    d_k = d if d_k is None else check_positive_int(d_k, "d_k")
    g = _generator(seed)
    W_q = torch.randn(d, d_k, generator=g, dtype=torch.float64) / math.sqrt(d)
    W_k = torch.randn(d, d_k, generator=g, dtype=torch.float64) / math.sqrt(d)
    return W_q, W_k


def causal_attention_matrix(
    u: torch.Tensor, *, d_k: int | None = None, seed: int = 0
) -> torch.Tensor:
    """A causal softmax attention matrix ``(L, L)`` for the input ``u`` (an illustration).

    ``softmax(Q K^T / sqrt(d_k) + M)`` with ``Q = u W_q``, ``K = u W_k`` and the causal mask
    ``M`` (``-inf`` above the diagonal), row ``t`` being the weights that output ``t`` gives to
    inputs ``s <= t``. ``W_q, W_k`` are *random* (:func:`random_qk_weights` with ``seed``): this
    is the attention matrix of an untrained single head, drawn next to Hyena's ``A(u)`` to compare
    the *structure* of the two data-controlled matrices (non-negative rows summing to one vs
    signed, unnormalised, decaying rows; paper App. D.1), not the matrix of a trained model.

    Args:
        u: input ``(1, L, d_model)`` or ``(L, d_model)``, floating point.
        d_k: width of queries and keys (``>= 1``; ``d_model`` by default).
        seed: seed of ``W_q`` and ``W_k``.

    Returns:
        ``(L, L)`` in ``u``'s dtype, lower triangular, rows summing to one.
    """
    check_float(u, "u")
    check_ndim(u, "u", (2, 3), "(1, seq_len, d_model) or (seq_len, d_model)")
    if u.ndim == 3:
        if u.shape[0] != 1:
            raise ValueError(
                f"causal_attention_matrix takes one sequence (1, seq_len, d_model), got "
                f"{tuple(u.shape)}; select one with u[i:i+1]"
            )
        u = u[0]
    d = u.shape[1]
    W_q, W_k = random_qk_weights(d, d_k, seed)
    x = u.detach().to(torch.float64)  # (L, d)
    scores = (x @ W_q) @ (x @ W_k).T / math.sqrt(W_q.shape[1])  # (L, L): q_t . k_s / sqrt(d_k)
    return causal_softmax(scores).to(u.dtype)  # the package's one masked softmax (mixers)


def toeplitz_deviation(M: torch.Tensor) -> float:
    """``max |M[t+1, s+1] - M[t, s]| / max |M|`` over a square matrix ``(L, L)`` (0 if Toeplitz).

    A Toeplitz matrix is constant along its diagonals: the map it applies is shift invariant
    (a convolution). ``S_h`` always is; ``A(u)`` is only where the gates are constant.
    """
    check_float(M, "M")
    check_ndim(M, "M", 2, "(L, L)")
    if M.shape[0] != M.shape[1]:
        raise ValueError(f"M must be square (L, L), got shape {tuple(M.shape)}")
    if M.shape[0] < 2:
        return 0.0
    M = M.detach().to(torch.float64)
    scale = float(M.abs().max())
    if scale == 0.0:
        return 0.0
    return float((M[1:, 1:] - M[:-1, :-1]).abs().max()) / scale


# ------------------------------------------------------------------------------------ figures


def _label(ax: Axes, x: str, y: str, title: str) -> None:
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(title)


def _check_channel(channel: object, d_model: int) -> int:
    return _check_index(channel, "channel", 0, d_model - 1, f"d_model = {d_model} channels")


def _single_input(op: HyenaOperator, u: torch.Tensor) -> None:
    """Raise unless ``u`` is one sequence ``(1, L, d_model)`` that ``op`` accepts."""
    op.check_input(u)
    if u.shape[0] != 1:
        raise ValueError(
            f"u must hold one sequence, shape (1, seq_len, d_model), got {tuple(u.shape)}"
        )


def matrices_figure(
    op: HyenaOperator,
    u: torch.Tensor,
    channel: int = 0,
    *,
    seed: int = 0,
    title: str | None = None,
) -> Figure:
    """The factors of ``A(u)`` for one channel, ``A(u)`` itself and an attention matrix.

    Column ``n`` (``n = 1..N``, in the order they act on ``v``) shows ``S_h^n`` (top) and
    ``D_x^n = diag(x^n)`` (bottom), the titles numbered ``(1), (2), ...`` in the order the
    factors act on ``v`` (down column 1, then down column 2 ...); the last column shows their
    product
    ``A(u) = D_x^N S_h^N ... D_x^1 S_h^1`` (top) and, for the same input, the causal softmax
    attention matrix of :func:`causal_attention_matrix` with weights from ``seed`` (bottom).
    Every panel has its own colour scale, centred on zero.

    Args:
        op: any Hyena operator (e.g. from :func:`demo_operator` or
            :func:`hyena_lab.official.from_safari`).
        u: one input ``(1, L, d_model)``.
        channel: which of the ``d_model`` channels to draw.
        seed: seed of the attention weights.
        title: figure title (a default names the order and ``L``).
    """
    _single_input(op, u)
    c = _check_channel(channel, op.d_model)
    with torch.no_grad():
        m = op.matrices(u)
        A = m.product()[c]  # (L, L)
    attn = causal_attention_matrix(u, seed=seed)
    N, L = m.order, u.shape[1]
    fig = Figure(figsize=(3.2 * (N + 1), 6.4), layout="constrained")
    axes = fig.subplots(2, N + 1, squeeze=False)
    for n in range(N):  # step numbers: the order in which the factors act on v
        if n == 0 and op.identity_first:  # the official layers' first step: no filter
            s_title = "(1) $S_h^1 = I$ (identity)"
        else:
            s_title = f"({2 * n + 1}) $S_h^{n + 1}$ (filter $h^{n + 1}$)"
        d_title = f"({2 * n + 2}) $D_x^{n + 1}$ = diag(gate $x^{n + 1}$)"
        matrix_heatmap(axes[0, n], m.S_h[n][c], s_title)
        matrix_heatmap(axes[1, n], torch.diag(m.D_x[n][c]), d_title)  # (L, L), zero off-diagonal
    matrix_heatmap(axes[0, N], A, f"$A(u)$ = ({2 * N}) $\\cdots$ (1)")
    matrix_heatmap(axes[1, N], attn, "causal softmax attention (random $W_q, W_k$)")
    fig.suptitle(title or f"Hyena order N = {N}, channel {c}, L = {L}: factors of y = A(u) v")
    fig.supxlabel("(n): the n-th factor to act on v; column n holds $S_h^n$ (top), then "
                  "$D_x^n$ (bottom)", fontsize=9)
    return fig


def patterns_figure(
    op: HyenaOperator, channel: int = 0, seq_len: int = 32, *, seed: int = 0
) -> Figure:
    """``A(u)`` (top) and causal attention (bottom) for each of :data:`PATTERNS` (App. D.1 style).

    The same operator, channel and attention weights for three inputs from :func:`make_input`
    (with ``seed``): only the input changes from column to column, so every difference in a row
    is data control. The filters ``S_h^n`` are the same in all three columns.
    """
    c = _check_channel(channel, op.d_model)
    L = _check_index(seq_len, "seq_len", 1, op.l_max, f"l_max = {op.l_max}")
    fig = Figure(figsize=(11.5, 7.0), layout="constrained")
    axes = fig.subplots(2, len(PATTERNS), squeeze=False)
    for j, pattern in enumerate(PATTERNS):
        u = make_input(pattern, L, op.d_model, seed)
        with torch.no_grad():
            A = op.materialize(u)[c]
        matrix_heatmap(axes[0, j], A, f"Hyena $A(u)$, input: {pattern}")
        matrix_heatmap(axes[1, j], causal_attention_matrix(u, seed=seed),
                       f"attention, input: {pattern}")
    fig.suptitle(f"one Hyena operator (order {op.order}, channel {c}) and one attention head, "
                 f"three inputs, L = {L}")
    return fig


def hyena_matrices_figure(
    order: int = 2,
    channel: int = 0,
    seq_len: int = 32,
    pattern: str = "random",
    seed: int = 0,
) -> Figure:
    """The widget's figure: :func:`matrices_figure` of a :func:`demo_operator` on
    :func:`make_input`.

    Args:
        order: the paper's ``N``, ``1 <= order <= MAX_ORDER`` (4).
        channel: ``0 <= channel < DEMO_D_MODEL`` (8).
        seq_len: ``1 <= seq_len <= DEMO_L_MAX`` (64).
        pattern: one of :data:`PATTERNS`.
        seed: seed of the operator's weights, of the input and of the attention weights.

    Raises:
        ValueError / TypeError: a value outside these ranges, or of the wrong type, with a
            message naming the allowed range.
    """
    _check_index(order, "order", 1, MAX_ORDER, "the paper's N: long convolutions and gates")
    _check_channel(channel, DEMO_D_MODEL)
    L = _check_index(seq_len, "seq_len", 1, DEMO_L_MAX, f"l_max = {DEMO_L_MAX}")
    _check_pattern(pattern)
    op = demo_operator(order, seed=seed)
    u = make_input(pattern, L, DEMO_D_MODEL, seed)
    return matrices_figure(
        op, u, channel, seed=seed,
        title=f"order N = {order}, channel {channel}, L = {L}, input: {pattern} (seed {seed})",
    )


def hyena_matrices_controls() -> dict[str, ipywidgets.Widget]:
    """Widgets for ``interact(hyena_matrices_figure, **controls)``: ``order``, ``channel``,
    ``seq_len`` (sliders over the valid ranges, redrawn on release) and ``pattern`` (a menu)."""
    import ipywidgets as widgets

    def slider(value: int, lo: int, hi: int, description: str) -> widgets.IntSlider:
        return widgets.IntSlider(value=value, min=lo, max=hi, description=description,
                                 continuous_update=False)

    return {
        "order": slider(2, 1, MAX_ORDER, "order N"),
        "channel": slider(0, 0, DEMO_D_MODEL - 1, "channel"),
        "seq_len": slider(32, 1, DEMO_L_MAX, "L"),
        "pattern": widgets.Dropdown(options=list(PATTERNS), value=PATTERNS[0],
                                    description="input"),
    }


# ---------------------------------------------------------------------- the costs (records)


def _fmt_seconds(s: float | None) -> str:
    return "skipped" if s is None else f"{s * 1e3:.3f} ms"


def complexity_table(costs: dict[str, Any]) -> str:
    """A fixed-width text table of a :func:`measure_matrix_costs` record (one line per ``L``)."""
    head = (f"{'L':>6} | {'op(u)':>11} | {'materialize(u)':>14} | {'A @ v':>11} | "
            f"{'bytes of A(u)':>13} | {'op signals':>10}")
    lines = [head, "-" * len(head)]
    for r in costs["rows"]:
        lines.append(
            f"{r['L']:>6} | {_fmt_seconds(r['op_seconds']):>11} | "
            f"{_fmt_seconds(r['materialize_seconds']):>14} | "
            f"{_fmt_seconds(r['matvec_seconds']):>11} | "
            f"{r['A_bytes'] / 2**20:>9.2f} MiB | {r['signal_bytes'] / 2**10:>6.1f} KiB"
        )
    return "\n".join(lines)


#: Colour and marker of each path in :func:`complexity_figure` (the same in every panel).
_PATHS: dict[str, tuple[str, str, str]] = {
    "op": ("op(u): FFT path", "#0072B2", "o"),
    "materialize": ("materialize(u): dense A(u)", "#D55E00", "s"),
    "matvec": ("A @ v with A(u) given", "#009E73", "^"),
}


def _run_label(costs: dict[str, Any]) -> str:
    """``"AMD EPYC, 1 thread, 2026-11-23"``: where and when a measurement was made."""
    threads = costs.get("num_threads", "?")
    return (f"{costs.get('processor', '?')}, {threads} thread{'s' if threads != 1 else ''}, "
            f"{costs.get('date', '?')}")


def _plot_times(ax: Axes, costs: dict[str, Any], live: bool) -> None:
    """The three timed paths of one measurement: solid and filled if recorded, dotted and
    hollow if ``live``."""
    for key, (label, color, marker) in _PATHS.items():
        pts = [(r["L"], r[f"{key}_seconds"]) for r in costs["rows"]
               if r[f"{key}_seconds"] is not None]
        if not pts:
            continue
        style: dict[str, Any] = {"color": color, "marker": marker, "ms": 5}
        if live:
            style.update(ls=":", mfc="none", label=None)
        else:
            style.update(ls="-", label=label)
        ax.plot(*zip(*pts, strict=True), **style)


def complexity_figure(costs: dict[str, Any], live: dict[str, Any] | None = None) -> Figure:
    """Time, counted work and memory of ``op(u)``, ``materialize(u)`` and ``A @ v`` vs ``L``.

    Left: the measured time per call of ``costs`` (a :func:`measure_matrix_costs` result, e.g.
    the committed record; solid lines, filled markers) and, if given, of ``live`` (a
    re-measurement on this machine; dotted lines, hollow markers, same colours). Middle: the
    counted FLOP of the same three paths (:func:`count_matrix_costs`), which do not depend on
    the machine. Right: the bytes of ``A(u)`` against the operator's signals. Log-log axes.
    """
    rows = costs["rows"]
    Ls = [r["L"] for r in rows]
    counted = count_matrix_costs(Ls, d_model=costs["d_model"], order=costs["order"])
    fig = Figure(figsize=(14.0, 4.4), layout="constrained")
    ax_t, ax_f, ax_m = fig.subplots(1, 3)
    _plot_times(ax_t, costs, live=False)
    handles, labels = ax_t.get_legend_handles_labels()
    handles.append(Line2D([], [], color="0.3", ls="-", marker="o", ms=4))
    labels.append(f"solid: recorded ({_run_label(costs)})")
    if live is not None:
        _plot_times(ax_t, live, live=True)
        handles.append(Line2D([], [], color="0.3", ls=":", marker="o", mfc="none", ms=4))
        labels.append(f"dotted: this run ({_run_label(live)})")
    ax_t.legend(handles, labels, fontsize=7, loc="upper left")
    for key, (label, color, marker) in _PATHS.items():
        ax_f.plot(Ls, [r[f"{key}_flops"] for r in counted["rows"]], ls="-", color=color,
                  marker=marker, ms=5, label=label)
    ax_f.plot(Ls, [r["conv_flops"] for r in counted["rows"]], ls="--", color=_PATHS["op"][1],
              label="  of which the N FFT convolutions")
    ax_f.legend(fontsize=7, loc="upper left")
    ax_m.plot(Ls, [r["A_bytes"] for r in rows], "s-", ms=5, color=_PATHS["materialize"][1],
              label="A(u): d L² floats")
    ax_m.plot(Ls, [r["signal_bytes"] for r in rows], "o-", ms=5, color=_PATHS["op"][1],
              label="op signals: (2N + 1) d L floats")
    ax_m.legend(fontsize=7, loc="upper left")
    for ax in (ax_t, ax_f, ax_m):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
    _label(ax_t, "sequence length L (tokens)", "time per call (s, median)",
           f"measured time, CPU {costs['dtype']}, order {costs['order']}, d = {costs['d_model']}")
    _label(ax_f, "sequence length L (tokens)", "work per call (FLOP, counted)",
           "counted work (any machine)")
    _label(ax_m, "sequence length L (tokens)", "memory (bytes)", "memory of what is stored")
    return fig


#: Measuring is not drawing: these names moved to :mod:`hyena_lab.experiments.matrix_costs`; still
#: importable from here, with a DeprecationWarning.
__getattr__ = moved(__name__, dict.fromkeys((
    "measure_matrix_costs",
    "record_matrix_costs",
), "hyena_lab.experiments.matrix_costs"))
