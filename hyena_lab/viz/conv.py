"""Figures, widget controls and CPU timings of chapter 1, *Long convolutions* (paper Sec. 2.1).

The filters and figures are pure functions of their arguments (a seed included) returning a
tensor or a matplotlib ``Figure``, which the widget calls and the tests check; the timing
functions measure the machine they run on. The notebook only calls them. The mathematics lives
in :mod:`hyena_lab.conv` and is used, never re-implemented, here:

* a causal convolution ``y_t = sum_{s<=t} h_{t-s} u_s`` of an input ``u`` with a filter ``h`` of
  the same length ``L`` (:func:`~hyena_lab.conv.direct_conv`, the definition, O(L^2));
* the same map as a lower-triangular Toeplitz matrix ``S_h[t, s] = h_{t-s}``, ``y = S_h u``
  (:func:`~hyena_lab.conv.toeplitz`, paper Sec. 3.2);
* the FFT convolution with zero-padding to ``2L`` (:func:`~hyena_lab.conv.fftconv`, O(L log L))
  and without it (:func:`~hyena_lab.conv.circular_fftconv`, whose tail wraps around).

Names a reader of the paper recognises: ``h`` the (long) filter, ``u`` the input, ``y`` the
output, ``S_h`` the Toeplitz matrix of ``h``, ``C_h`` the circulant matrix that an FFT of length
``L`` applies, ``L`` the sequence length, ``d`` the number of channels.

Contents
--------
* Filters and inputs for the widget: :func:`make_filter`, :func:`probe_input`.
* The matrix of any linear sequence map, by probing it with unit impulses: :func:`matrix_of`.
* Figures: :func:`toeplitz_figure`, :func:`wraparound_figure`, :func:`conv_explorer_figure`,
  :func:`conv_cost_figure`; widget controls: :func:`conv_explorer_controls`.
* CPU cost of the three ways (O(L^2) vs O(L log L)): :func:`measure_conv_costs`,
  :func:`loglog_slope`, :func:`speedup_at_largest_common_length`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from tqdm.auto import tqdm

from ..checks import (
    check_float,
    check_lengths,
    check_ndim,
    check_positive_float,
    check_positive_int,
)
from ..conv import circular_fftconv, direct_conv, fftconv, toeplitz
from ..timing import time_fn
from . import cpu_record, matrix_heatmap

__all__ = [
    "CONV_METHODS",
    "FILTER_KINDS",
    "PARAM_MEANING",
    "conv_cost_figure",
    "conv_explorer_controls",
    "conv_explorer_figure",
    "loglog_slope",
    "make_filter",
    "matrix_of",
    "measure_conv_costs",
    "probe_input",
    "speedup_at_largest_common_length",
    "toeplitz_figure",
    "wraparound_figure",
]

#: The filter shapes of the chapter's widget, in the order of its drop-down menu.
FILTER_KINDS: tuple[str, ...] = (
    "exponential decay",
    "delay (shifted impulse)",
    "moving average",
    "random",
)

#: What the single numeric parameter of :func:`make_filter` means for each filter kind.
PARAM_MEANING: dict[str, str] = {
    "exponential decay": "tau: decay time constant (steps, > 0)",
    "delay (shifted impulse)": "shift: delay (whole steps, 0 <= shift <= L - 1)",
    "moving average": "width: window length (whole steps, 1 <= width <= L)",
    "random": "tau: time constant of the exp(-t/tau) window (steps, > 0)",
}

#: The three ways of computing one causal convolution whose cost :func:`measure_conv_costs` takes.
CONV_METHODS: tuple[str, ...] = ("fftconv", "direct_conv", "toeplitz_matvec")

#: Growth exponent ``p`` (time ~ L^p, rounded up) used to predict the next call's time.
_GROWTH: dict[str, float] = {"fftconv": 1.2, "direct_conv": 2.0, "toeplitz_matvec": 2.0}


# --------------------------------------------------------------------------- filters and inputs


def _whole_steps(param: float, name: str, lo: int, hi: int) -> int:
    """``param`` as an int in ``[lo, hi]``; a ``ValueError`` names the range otherwise."""
    value = float(param)
    if not math.isfinite(value) or not value.is_integer() or not lo <= value <= hi:
        raise ValueError(
            f"{name} must be a whole number of steps in [{lo}, {hi}] for this L, got {param!r}"
        )
    return int(value)


def make_filter(kind: str, L: int, param: float, *, seed: int = 0) -> torch.Tensor:
    """A causal filter ``h`` of length ``L`` of one of the :data:`FILTER_KINDS`, float64 ``(L,)``.

    ``param`` is a number of time steps whose meaning depends on ``kind``
    (:data:`PARAM_MEANING`):

    * ``"exponential decay"``: ``h_t = exp(-t / tau)``, ``tau = param > 0``. The same filter as
      the one-state recurrence ``y_t = exp(-1/tau) y_{t-1} + u_t`` (a tiny SSM, Sec. 2.1).
    * ``"delay (shifted impulse)"``: ``h_t = 1`` if ``t == shift`` else 0; ``y_t = u_{t-shift}``.
    * ``"moving average"``: ``h_t = 1/width`` for ``t < width``; ``y_t`` is the mean of the last
      ``width`` inputs.
    * ``"random"``: i.i.d. standard normal taps times the window ``exp(-t / tau)`` (the decay
      window that Hyena multiplies into its implicit filters, Sec. 3.3), drawn from ``seed``.

    Raises:
        ValueError: unknown ``kind``, ``L < 1``, or ``param`` outside the range of its kind.
        TypeError: ``L`` not an int, or ``param`` not a number.
    """
    if kind not in FILTER_KINDS:
        raise ValueError(f"unknown filter kind {kind!r}; expected one of {list(FILTER_KINDS)}")
    L = check_positive_int(L, "L")
    check_positive_int(seed, "seed", minimum=0)
    if isinstance(param, bool) or not isinstance(param, (int, float)):
        raise TypeError(f"param must be a number ({PARAM_MEANING[kind]}), got {param!r}")
    t = torch.arange(L, dtype=torch.float64)  # lags 0 .. L-1
    if kind == "exponential decay":
        tau = check_positive_float(param, "tau (the decay time constant)")
        return torch.exp(-t / tau)
    if kind == "delay (shifted impulse)":
        shift = _whole_steps(param, "shift", 0, L - 1)
        return (t == shift).to(torch.float64)
    if kind == "moving average":
        width = _whole_steps(param, "width", 1, L)
        return (t < width).to(torch.float64) / width
    tau = check_positive_float(param, "tau (the window time constant)")
    g = torch.Generator().manual_seed(seed)
    return torch.randn(L, generator=g, dtype=torch.float64) * torch.exp(-t / tau)


def probe_input(L: int) -> torch.Tensor:
    """The widget's fixed input ``u``, float64 ``(L,)``: a box and a unit impulse.

    ``u_t = 1`` on the first ``max(1, L // 4)`` steps (shows smoothing and delay of an edge) and,
    for ``L >= 4``, a unit impulse at ``t = L // 2``, whose response is the filter itself.
    """
    L = check_positive_int(L, "L")
    u = torch.zeros(L, dtype=torch.float64)
    u[: max(1, L // 4)] = 1.0
    if L >= 4:
        u[L // 2] = 1.0
    return u


def _check_sequence(x: object, name: str, L: int | None = None) -> torch.Tensor:
    """Validate a 1-D real sequence ``(L,)`` (of a given length if ``L`` is given)."""
    x = check_float(x, name)
    check_ndim(x, name, 1, "(L,)")
    if L is not None and x.shape[0] != L:
        raise ValueError(f"{name} must have length L={L}, got shape {tuple(x.shape)}")
    return x


def matrix_of(conv: Callable[[torch.Tensor], torch.Tensor], L: int) -> torch.Tensor:
    """The ``(L, L)`` float64 matrix ``M`` of a linear map of sequences, by probing it.

    Column ``s`` of ``M`` is the response to a unit impulse at time ``s``, so that
    ``conv(u) == M @ u``. ``conv`` maps ``(batch, 1, L)`` to ``(batch, 1, L)`` (one channel),
    e.g. ``lambda u: fftconv(u, h[None])``; for a causal convolution ``M`` is ``S_h``.
    """
    L = check_positive_int(L, "L")
    impulses = torch.eye(L, dtype=torch.float64)[:, None, :]  # (L, 1, L): batch of e_s
    out = conv(impulses)  # (L, 1, L): out[s, 0, t] = response at t to an impulse at s
    if not isinstance(out, torch.Tensor) or out.shape != (L, 1, L):
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"conv must map (batch, 1, L) to (batch, 1, L) with L={L}, got {got}")
    return out[:, 0, :].T.contiguous()  # M[t, s]


# --------------------------------------------------------------------------------- the figures


def _label(ax: Any, x: str, y: str, title: str) -> None:
    """Label an axes and use integer ticks on x (time steps)."""
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(title)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _heatmap(ax: Any, M: torch.Tensor, title: str) -> None:
    """:func:`hyena_lab.viz.matrix_heatmap` with integer ticks (positions are time steps)."""
    matrix_heatmap(ax, M, title)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def toeplitz_figure(h: torch.Tensor, *, annotate_max: int = 12) -> Figure:
    """The filter ``h`` (left) and its lower-triangular Toeplitz matrix ``S_h`` (right).

    Cells of ``S_h`` are annotated with the filter tap they hold, ``h_{t-s}``, when
    ``L <= annotate_max``, so that the constant diagonals are visible.
    """
    h = _check_sequence(h, "h")
    L = h.shape[0]
    fig = Figure(figsize=(10.0, 4.0), layout="constrained")
    ax_h, ax_s = fig.subplots(1, 2, width_ratios=(1.0, 1.3))
    ax_h.stem(np.arange(L), h.detach().double().numpy(), basefmt=" ")
    _label(ax_h, "lag j (steps)", "filter tap h_j", f"filter h, L = {L}")
    _heatmap(ax_s, toeplitz(h.detach().double()), r"$S_h[t, s] = h_{t-s}$ for $t \geq s$")
    if L <= annotate_max:
        for t in range(L):
            for s in range(t + 1):
                ax_s.text(s, t, f"$h_{{{t - s}}}$", ha="center", va="center", fontsize=8)
    return fig


def wraparound_figure(u: torch.Tensor, h: torch.Tensor) -> Figure:
    """Why :func:`~hyena_lab.conv.fftconv` pads to ``2L``: four panels for one input and filter.

    (a) ``S_h``, the matrix of the padded FFT convolution (causal, lower triangular);
    (b) ``C_h``, the circulant matrix of the unpadded FFT (:func:`circular_fftconv`): the tail of
    ``h`` wraps into the upper triangle; (c) the outputs of ``direct_conv``, ``fftconv`` and
    ``circular_fftconv`` for ``u``; (d) the length-``2L`` circular convolution of the zero-padded
    signals: its first ``L`` values are kept, its last ``L`` are exactly what wraps around.
    """
    h = _check_sequence(h, "h").detach().double()
    u = _check_sequence(u, "u", h.shape[0]).detach().double()
    L = h.shape[0]
    S = matrix_of(lambda x: fftconv(x, h[None]), L)
    C = matrix_of(lambda x: circular_fftconv(x, h[None]), L)
    y_ref = direct_conv(u[None], h[None])[0]
    y_fft = fftconv(u[None], h[None])[0]
    y_circ = circular_fftconv(u[None], h[None])[0]
    y_2L = circular_fftconv(F.pad(u, (0, L))[None], F.pad(h, (0, L))[None])[0]  # (2L,)

    fig = Figure(figsize=(11.0, 7.5), layout="constrained")
    (ax_s, ax_c), (ax_y, ax_p) = fig.subplots(2, 2)
    _heatmap(ax_s, S, "(a) FFT padded to 2L: $S_h$ (causal)")
    _heatmap(ax_c, C, "(b) FFT without padding: circulant $C_h$ (wraps)")
    t = np.arange(L)
    ax_y.plot(t, y_ref.numpy(), "-", color="0.6", lw=4, label="direct_conv (definition)")
    ax_y.plot(t, y_fft.numpy(), "o", ms=4, label="fftconv (padded to 2L)")
    ax_y.plot(t, y_circ.numpy(), "x-", ms=5, lw=1, label="circular_fftconv (no padding)")
    ax_y.legend(fontsize=8)
    _label(ax_y, "output time t (steps)", "output y_t", "(c) outputs for the input u")
    t2 = np.arange(2 * L)
    ax_p.axvspan(-0.5, L - 0.5, color="#009E73", alpha=0.12, label="kept: first L outputs")
    ax_p.axvspan(L - 0.5, 2 * L - 0.5, color="#D55E00", alpha=0.12, label="dropped: would wrap")
    ax_p.plot(t2, y_2L.numpy(), "o-", ms=3, lw=1, color="#0072B2", label="circular conv, length 2L")
    ax_p.legend(fontsize=8)
    _label(ax_p, "time t of the padded signals (steps)", "output", "(d) padding to 2L")
    return fig


def conv_explorer_figure(
    kind: str = "exponential decay",
    L: int = 32,
    param: float = 4.0,
    *,
    u: torch.Tensor | None = None,
    seed: int = 0,
) -> Figure:
    """The widget's figure: the filter ``h``, its matrix ``S_h`` and the output ``y = S_h u``.

    Arguments are those of :func:`make_filter` (which raises ``ValueError`` on bad widget values);
    ``u`` defaults to :func:`probe_input`; ``y`` is computed by :func:`fftconv`.
    """
    h = make_filter(kind, L, param, seed=seed)
    u = probe_input(L) if u is None else _check_sequence(u, "u", L).detach().double()
    y = fftconv(u[None], h[None])[0]  # (L,)
    fig = Figure(figsize=(12.0, 3.8), layout="constrained")
    ax_h, ax_s, ax_y = fig.subplots(1, 3, width_ratios=(1.0, 1.1, 1.3))
    ax_h.stem(np.arange(L), h.numpy(), basefmt=" ")
    _label(ax_h, "lag j (steps)", "filter tap h_j", f"filter: {kind}")
    _heatmap(ax_s, toeplitz(h), f"$S_h$ ({L} x {L})")
    t = np.arange(L)
    ax_y.step(t, u.numpy(), where="mid", color="0.55", label="input u")
    ax_y.plot(t, y.numpy(), "o-", ms=3, label="output y = S_h u")
    ax_y.legend(fontsize=8)
    name = PARAM_MEANING[kind].split(":")[0]
    _label(ax_y, "time t (steps)", "value (arbitrary units)", f"probe input and output ({name} = "
           f"{param:g})")
    return fig


def _param_range(kind: str, L: int, l_max: int) -> tuple[float, float, float]:
    """``(min, max, step)`` of the widget's parameter slider for a filter kind and length."""
    if kind == "delay (shifted impulse)":
        return 0.0, float(max(L - 1, 0)), 1.0
    if kind == "moving average":
        return 1.0, float(L), 1.0
    return 0.5, float(l_max), 0.5


def conv_explorer_controls(l_max: int = 128) -> dict[str, Any]:
    """Controls for ``interact(conv_explorer_figure, **controls)``, one per argument.

    ``kind`` (drop-down), ``L`` and ``param`` (sliders), ``seed`` (slider, used by the random
    filter) and ``u`` fixed to ``None`` (the probe input). The ``param`` slider's range follows
    the chosen kind and ``L`` (a delay stays below ``L``, a width within ``[1, L]``), so that
    the figure never sees an invalid value from the widget.
    """
    import ipywidgets as widgets

    l_max = check_positive_int(l_max, "l_max", minimum=2)
    kind = widgets.Dropdown(options=list(FILTER_KINDS), value=FILTER_KINDS[0], description="filter")
    length = widgets.IntSlider(value=min(32, l_max), min=1, max=l_max, description="L")
    param = widgets.FloatSlider(value=4.0, min=0.5, max=float(l_max), step=0.5,
                                description="tau", style={"description_width": "initial"})
    seed = widgets.IntSlider(value=0, min=0, max=9, description="seed")

    def update(_change: object = None) -> None:
        lo, hi, step = _param_range(kind.value, length.value, l_max)
        if lo > param.max:  # keep min <= max at every step of the update
            param.max = hi
            param.min = lo
        else:
            param.min = lo
            param.max = hi
        param.step = step
        param.value = min(max(round(param.value / step) * step, lo), hi)
        param.description = PARAM_MEANING[kind.value].split(":")[0]

    kind.observe(update, names="value")
    length.observe(update, names="value")
    update()
    return {"kind": kind, "L": length, "param": param, "seed": seed, "u": widgets.fixed(None)}


# ------------------------------------------------------------------------------ the CPU costs


def _method_call(
    method: str, u: torch.Tensor, h: torch.Tensor
) -> Callable[[], torch.Tensor]:
    """A zero-argument call of one of :data:`CONV_METHODS` on ``u (b, d, L)``, ``h (d, L)``."""
    if method == "fftconv":
        return lambda: fftconv(u, h)
    if method == "direct_conv":
        return lambda: direct_conv(u, h)
    S_h = toeplitz(h)  # (d, L, L), built once: only the mat-vec is timed
    u_col = u.unsqueeze(-1)  # (b, d, L, 1)
    return lambda: S_h @ u_col


def _conv_inputs(batch: int, d: int, L: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Float32 standard normal ``u (batch, d, L)`` and ``h (d, L)``, drawn from ``seed + L``."""
    g = torch.Generator().manual_seed(seed + L)
    return torch.randn(batch, d, L, generator=g), torch.randn(d, L, generator=g)


def measure_conv_costs(
    lengths: Sequence[int],
    channels: int = 512,
    *,
    batch: int = 1,
    max_call_s: float = 1.5,
    toeplitz_max_bytes: int = 2**28,
    rounds: int = 3,
    point_s: float = 0.2,
    max_repeats: int = 50,
    num_threads: int | None = None,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, Any]:
    """CPU time of one causal convolution of ``u (batch, d, L)`` with ``h (d, L)``, three ways.

    The ways are :data:`CONV_METHODS`: ``fftconv`` (O(L log L)), ``direct_conv`` (a loop over
    the ``L`` lags, O(L^2)) and ``toeplitz_matvec`` (``S_h @ u`` with ``S_h (d, L, L)`` built
    before the clock starts: O(L^2) time and memory). All times come from
    :func:`hyena_lab.timing.time_fn`, in two passes:

    1. *Plan*: after one untimed call of each method at the smallest ``L``, for each ``L`` in
       increasing order one call of each method gives an estimate. A method stops before the
       first ``L`` where its last estimate times ``(L / L_last)^p`` would exceed ``max_call_s``
       (``p`` = 2 for the O(L^2) methods, 1.2 for the FFT: an upper bound), so that no call takes
       much longer than ``max_call_s``; the Toeplitz mat-vec also skips every ``L`` whose
       ``S_h`` needs more than ``toeplitz_max_bytes``.
    2. *Measure*: ``rounds`` rounds, each timing every planned ``(method, L)`` once with
       ``time_fn`` (median of ``repeats`` calls, chosen so that all rounds spend about
       ``point_s`` seconds on the point, at most ``max_repeats``). The result is the *least* of
       the rounds' medians. Other processes can only add time (this is the reasoning of Python's
       ``timeit``), and interleaving the lengths spreads a burst of load over all points instead
       of bending one end of a curve; on a shared machine both matter.

    Inputs are float32 standard normal drawn from ``seed``. With ``num_threads`` the torch thread
    count is set for the run and restored afterwards.

    Returns:
        A JSON-ready dict: ``device`` ("cpu"), ``processor``, ``machine``, ``torch_version``,
        ``date`` (ISO), ``num_threads``, ``dtype``, ``batch``, ``channels``, ``shapes`` (the
        layout of ``u``, ``h`` and ``S_h``), ``statistic``, the settings (``max_call_s``,
        ``toeplitz_max_bytes``, ``rounds``) and ``results``:
        ``{method: {"L": [...], "seconds": [...], "repeats": [...]}}`` with ``repeats`` the
        number of timed calls per round.
    """
    Ls = check_lengths(lengths)
    d = check_positive_int(channels, "channels")
    b = check_positive_int(batch, "batch")
    max_call_s = check_positive_float(max_call_s, "max_call_s")
    point_s = check_positive_float(point_s, "point_s")
    check_positive_int(toeplitz_max_bytes, "toeplitz_max_bytes")
    check_positive_int(rounds, "rounds")
    check_positive_int(max_repeats, "max_repeats")
    itemsize = torch.finfo(torch.float32).bits // 8
    old_threads = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(check_positive_int(num_threads, "num_threads"))
    try:
        threads = torch.get_num_threads()
        bar = tqdm(total=len(Ls) * len(CONV_METHODS), desc="timing convolutions (plan)",
                   disable=not progress)
        for method in CONV_METHODS:  # first calls pay one-time costs (FFT plans, allocator)
            _method_call(method, *_conv_inputs(b, d, Ls[0], seed))()
        plan: dict[str, dict[int, int]] = {m: {} for m in CONV_METHODS}  # method -> {L: reps}
        last: dict[str, tuple[int, float]] = {}  # method -> (L, estimate) of its last point
        for L in Ls:  # pass 1: warm up, estimate, decide where each method stops
            u, h = _conv_inputs(b, d, L, seed)
            for method in CONV_METHODS:
                bar.update(1)
                if method in last:
                    L_last, t_last = last[method]
                    if t_last * (L / L_last) ** _GROWTH[method] > max_call_s:
                        continue  # stopped: a call would take too long
                if method == "toeplitz_matvec" and d * L * L * itemsize > toeplitz_max_bytes:
                    continue  # S_h would not fit in the memory allowed
                estimate = time_fn(_method_call(method, u, h), repeats=1, warmup=0)
                last[method] = (L, estimate)
                reps = point_s / (rounds * max(estimate, 1e-9))
                plan[method][L] = int(min(max(reps, 1), max_repeats))
        bar.close()
        samples: dict[tuple[str, int], list[float]] = {}
        todo = [(m, L) for L in Ls for m in CONV_METHODS if L in plan[m]]
        for _ in tqdm(range(rounds), desc="timing convolutions (rounds)", disable=not progress):
            for method, L in todo:  # pass 2: every point once per round
                call = _method_call(method, *_conv_inputs(b, d, L, seed))
                t = time_fn(call, repeats=plan[method][L], warmup=0)
                samples.setdefault((method, L), []).append(t)
                del call
    finally:
        torch.set_num_threads(old_threads)
    results = {
        m: {"L": sorted(plan[m]),
            "seconds": [min(samples[(m, L)]) for L in sorted(plan[m])],
            "repeats": [plan[m][L] for L in sorted(plan[m])]}
        for m in CONV_METHODS
    }
    return {
        "what": "CPU time per call of one causal convolution y = h * u, three ways",
        **cpu_record(threads),
        "dtype": "float32",
        "batch": b,
        "channels": d,
        "shapes": {"u": f"(batch, d, L) = ({b}, {d}, L)", "h": f"(d, L) = ({d}, L)",
                   "S_h": f"(d, L, L) = ({d}, L, L), built before timing"},
        "statistic": (
            f"least over {rounds} interleaved rounds of the median seconds per call "
            "(hyena_lab.timing.time_fn) of 'repeats' calls, after one warm-up call"
        ),
        "max_call_s": max_call_s,
        "toeplitz_max_bytes": toeplitz_max_bytes,
        "rounds": rounds,
        "results": results,
    }


def loglog_slope(
    lengths: Sequence[float], seconds: Sequence[float], *, min_length: float = 0
) -> float:
    """Least-squares slope of ``log(seconds)`` on ``log(length)``, over ``length >= min_length``.

    A cost ``c L^p`` has slope ``p``: 1 for O(L), about 1.1 for O(L log L) at these sizes, 2 for
    O(L^2).
    """
    x = np.asarray(lengths, dtype=float)
    y = np.asarray(seconds, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"lengths and seconds must be 1-D of equal size, got {x.shape}, {y.shape}")
    keep = x >= min_length
    if keep.sum() < 2 or np.unique(x[keep]).size < 2:
        raise ValueError(
            f"need at least two distinct lengths >= {min_length} to fit a slope, got {x.tolist()}"
        )
    if np.any(x[keep] <= 0) or np.any(y[keep] <= 0):
        raise ValueError("lengths and seconds must be > 0 on a log-log scale")
    slope, _ = np.polyfit(np.log(x[keep]), np.log(y[keep]), 1)
    return float(slope)


def speedup_at_largest_common_length(
    costs: dict[str, Any], fast: str = "fftconv", slow: str = "direct_conv"
) -> tuple[int, float]:
    """``(L, t_slow / t_fast)`` at the largest ``L`` timed for both methods of ``costs``."""
    res = costs["results"]
    for m in (fast, slow):
        if m not in res:
            raise ValueError(f"method {m!r} not in the measurement; have {sorted(res)}")
    common = sorted(set(res[fast]["L"]) & set(res[slow]["L"]))
    if not common:
        raise ValueError(f"{fast} and {slow} were never timed at the same L")
    L = common[-1]
    t_fast = res[fast]["seconds"][res[fast]["L"].index(L)]
    t_slow = res[slow]["seconds"][res[slow]["L"].index(L)]
    return L, t_slow / t_fast


def _length_label(L: int) -> str:
    """``2^k`` for a power of two, else the number."""
    return f"$2^{{{L.bit_length() - 1}}}$" if L & (L - 1) == 0 else str(L)


def conv_cost_figure(costs: dict[str, Any]) -> Figure:
    """Log-log plot of :func:`measure_conv_costs`' times, with reference slopes 1 and 2.

    The slope-1 line (``∝ L``) runs through the last ``fftconv`` point over the FFT's lengths,
    the slope-2 line (``∝ L^2``) through the last ``direct_conv`` point over the direct lengths;
    on log-log axes a power law ``c L^p`` is a straight line of slope ``p``.
    """
    res = costs["results"]
    fig = Figure(figsize=(7.0, 4.6), layout="constrained")
    ax = fig.add_subplot()
    styles = {"fftconv": "o-", "direct_conv": "s-", "toeplitz_matvec": "^-"}
    labels = {"fftconv": "fftconv: FFT, padded to 2L", "direct_conv": "direct_conv: loop over lags",
              "toeplitz_matvec": "S_h @ u: Toeplitz mat-vec"}
    for method in CONV_METHODS:
        if res.get(method, {}).get("L"):
            ax.plot(res[method]["L"], res[method]["seconds"], styles[method], ms=5,
                    label=labels[method])
    for method, power, ls in (("fftconv", 1, ":"), ("direct_conv", 2, "--")):
        if res.get(method, {}).get("L"):
            Ls = np.asarray(res[method]["L"], dtype=float)
            L0, t0 = Ls[-1], res[method]["seconds"][-1]
            ax.plot(Ls, t0 * (Ls / L0) ** power, ls, color="0.3", lw=1.2,
                    label=f"reference slope {power}: " + ("∝ L" if power == 1 else "∝ L²"))
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    all_L = sorted({L for m in res.values() for L in m["L"]})
    ax.set_xticks(all_L, [_length_label(L) for L in all_L])
    ax.minorticks_off()
    threads = costs["num_threads"]
    ax.set_xlabel("sequence length L (tokens)")
    ax.set_ylabel("time per call (s)")
    ax.set_title(f"causal convolution on CPU ({threads} thread{'s' if threads != 1 else ''}), "
                 f"float32, u {costs['shapes']['u']}", fontsize=10)
    ax.legend(fontsize=8)
    return fig
