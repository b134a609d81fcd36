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
  :func:`conv_cost_figure`; the widget: :class:`ConvExplorer`.
* The cost of the three ways (O(L^2) vs O(L log L)). *Counted* work, which no machine changes
  and which the chapter asserts on: :func:`counted_conv_work`, :func:`counted_crossover` (from
  :mod:`hyena_lab.roofline`). *Measured* time, which depends on the machine and is shown, not
  asserted (except a >= 10x ratio of two interleaved timings): :func:`measure_conv_costs`,
  :func:`time_interleaved`; reading either: :func:`loglog_slope`, :func:`fitted_slopes`,
  :func:`speedup_at_largest_common_length`, :func:`describe_machine`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..checks import (
    check_float,
    check_lengths,
    check_ndim,
    check_positive_float,
    check_positive_int,
)
from ..conv import circular_fftconv, direct_conv, fftconv, toeplitz
from ..measure import repeats_for, time_calls, time_fn
from ..progress import progress_bar
from ..roofline import Cost, direct_conv_cost, fftconv_cost, toeplitz_matvec_cost
from . import cpu_record, matrix_heatmap

__all__ = [
    "CONV_METHODS",
    "EXPLORER_START",
    "FILTER_KINDS",
    "PARAM_MEANING",
    "ConvExplorer",
    "conv_cost_figure",
    "conv_explorer_figure",
    "counted_conv_work",
    "counted_crossover",
    "describe_machine",
    "fitted_slopes",
    "loglog_slope",
    "make_filter",
    "matrix_of",
    "measure_conv_costs",
    "probe_input",
    "speedup_at_largest_common_length",
    "time_interleaved",
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


#: The explorer's starting parameter for each filter kind (time steps); each kind keeps its own.
EXPLORER_START: dict[str, float] = {
    "exponential decay": 4.0,
    "delay (shifted impulse)": 4,
    "moving average": 4,
    "random": 8.0,
}


def _param_slider(kind: str, L: int, l_max: int) -> Any:
    """The parameter slider of one filter kind: a float slider for a time constant ``tau``, an
    integer slider for a whole number of steps (``shift`` in ``[0, L - 1]``, ``width`` in
    ``[1, L]``), so that no value ever reaches :func:`make_filter` as ``3.9999999999999996``."""
    import ipywidgets as widgets

    name = PARAM_MEANING[kind].split(":")[0]
    common = {"description": name, "continuous_update": False,
              "style": {"description_width": "initial"}}
    start = EXPLORER_START[kind]
    if kind == "delay (shifted impulse)":
        return widgets.IntSlider(value=min(int(start), L - 1), min=0, max=L - 1, **common)
    if kind == "moving average":
        return widgets.IntSlider(value=min(int(start), L), min=1, max=L, **common)
    return widgets.FloatSlider(value=float(start), min=0.5, max=float(l_max), step=0.5,
                               readout_format=".1f", **common)


class ConvExplorer:
    """The chapter's filter explorer: the filter ``h``, its matrix ``S_h`` and ``y = S_h u``.

    Controls: ``kind`` (a drop-down over :data:`FILTER_KINDS`), ``length`` (``L``), one parameter
    slider per kind in ``params`` (only the chosen kind's is shown), and ``seed`` (used by the
    random filter, disabled for the others). Time constants (``tau``) have float sliders, whole
    numbers of steps (``shift``, ``width``) integer sliders whose ranges follow ``L``. Each kind
    keeps its own slider, so its value survives switching to another kind and back.

    One redraw per change a user makes. A change of ``kind`` or ``L`` first updates the other
    controls (swaps the visible slider, narrows a range, which may clamp a value) with redraws
    held, then redraws once. If :func:`conv_explorer_figure` refuses the values (``ValueError``
    or ``TypeError``), a one-line message replaces the figure: never a traceback, never a stale
    figure. For tests and curious readers: ``redraws`` counts redraws, ``figure`` is the figure
    shown (``None`` while a message is shown), ``message`` the message (``None`` with a figure).

    Show it as the last expression of a notebook cell. It needs a running kernel: a saved
    notebook or a static page shows its starting state only.
    """

    def __init__(self, l_max: int = 128, L: int = 32) -> None:
        import ipywidgets as widgets

        self.l_max = check_positive_int(l_max, "l_max", minimum=2)
        L = min(check_positive_int(L, "L"), self.l_max)
        self.kind = widgets.Dropdown(options=list(FILTER_KINDS), value=FILTER_KINDS[0],
                                     description="filter")
        self.length = widgets.IntSlider(value=L, min=1, max=self.l_max, description="L",
                                        continuous_update=False)
        self.params = {k: _param_slider(k, L, self.l_max) for k in FILTER_KINDS}
        self.seed = widgets.IntSlider(value=0, min=0, max=9, description="seed",
                                      continuous_update=False)
        self.output = widgets.Output()
        self._slot = widgets.HBox([self.params[self.kind.value]])  # the visible parameter slider
        self.widget = widgets.VBox([
            widgets.HBox([self.kind, self.length]),
            widgets.HBox([self._slot, self.seed]),
            self.output,
        ])
        self.widget.add_class("hyena-explorer")
        self.redraws = 0
        self.figure: Figure | None = None
        self.message: str | None = None
        self._held = 0
        self.kind.observe(self._on_kind, names="value")
        self.length.observe(self._on_length, names="value")
        for control in (*self.params.values(), self.seed):
            control.observe(self._on_value, names="value")
        self._sync_seed()
        self.redraw()

    @property
    def param(self) -> Any:
        """The parameter slider of the chosen kind."""
        return self.params[self.kind.value]

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Hold redraws while several controls change; the caller redraws once afterwards."""
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1

    def _sync_seed(self) -> None:
        self.seed.disabled = self.kind.value != "random"

    def _on_kind(self, _change: object) -> None:
        with self.hold():
            self._slot.children = (self.param,)
            self._sync_seed()
        self.redraw()

    def _on_length(self, change: dict[str, Any]) -> None:
        L = change["new"]
        with self.hold():
            for kind, top in (("delay (shifted impulse)", L - 1), ("moving average", L)):
                slider = self.params[kind]
                with slider.hold_sync():  # one message to the browser: new max and clamped value
                    slider.max = top  # ipywidgets clamps the value into [min, max]
        self.redraw()

    def _on_value(self, _change: object) -> None:
        if not self._held:
            self.redraw()

    def redraw(self) -> None:
        """Draw the figure for the current controls (or say why not) into ``output``."""
        self.redraws += 1
        try:
            fig = conv_explorer_figure(self.kind.value, self.length.value, self.param.value,
                                       seed=self.seed.value)
        except (ValueError, TypeError) as err:
            self.figure, self.message = None, f"Cannot draw this filter: {err}"
        else:
            self.figure, self.message = fig, None
        from IPython.display import display  # IPython ships with ipykernel, a dependency

        self.output.clear_output(wait=True)
        with self.output:
            if self.figure is not None:
                display(self.figure)
            else:
                print(self.message)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The widget's view, with a plain-text fallback that says what it needs."""
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        bundle["text/plain"] = (
            "ConvExplorer: the filter explorer of chapter 1 (needs a running Jupyter kernel)"
        )
        return bundle


# ---------------------------------------------------------------------------- the counted work

#: The cost model of each of :data:`CONV_METHODS` in :mod:`hyena_lab.roofline`.
_COST_MODEL: dict[str, Callable[..., Cost]] = {
    "fftconv": fftconv_cost,
    "direct_conv": direct_conv_cost,
    "toeplitz_matvec": toeplitz_matvec_cost,
}


def counted_conv_work(
    lengths: Sequence[int], channels: int = 1, *, batch: int = 1, elt_bytes: int = 4
) -> dict[str, dict[str, list[float]]]:
    """FLOPs and floor bytes of one call of each of :data:`CONV_METHODS`, by counting.

    ``{method: {"L": [...], "flops": [...], "bytes": [...]}}`` for ``u (batch, channels, L)``
    from :mod:`hyena_lab.roofline`: ``direct_conv`` ``L (L + 1)`` FLOP per row (a multiply and
    an add for each of the ``L (L + 1) / 2`` pairs ``s <= t``), the dense Toeplitz mat-vec
    ``2 L^2`` (it multiplies the zeros too) and ``fftconv`` three real FFTs of length ``2L`` at
    ``2.5 n log2 n`` FLOP each plus ``L + 1`` complex products: ``15 L log2(2L) + 6 (L + 1)``
    per row with ``batch = 1`` (the filter's FFT is shared by the batch). These numbers are the
    same on every machine: the chapter asserts its growth claims on them.
    """
    Ls = check_lengths(lengths)
    d = check_positive_int(channels, "channels")
    b = check_positive_int(batch, "batch")
    out: dict[str, dict[str, list[float]]] = {}
    for method in CONV_METHODS:
        costs = [_COST_MODEL[method](b, d, L, elt_bytes) for L in Ls]
        out[method] = {"L": list(Ls), "flops": [c.flops for c in costs],
                       "bytes": [c.bytes for c in costs]}
    return out


def counted_crossover(
    fast: str = "fftconv", slow: str = "direct_conv", *, batch: int = 1, max_length: int = 2**14
) -> int | None:
    """The smallest ``L`` from which ``fast`` counts fewer FLOPs than ``slow`` at every length up
    to ``max_length`` (``None`` if it does not at ``max_length``); ``batch`` as in
    :func:`counted_conv_work`. Both counts scale with the channels, so they do not move it."""
    for m in (fast, slow):
        if m not in _COST_MODEL:
            raise ValueError(f"method must be one of {list(CONV_METHODS)}, got {m!r}")
    b = check_positive_int(batch, "batch")
    answer = None
    for L in range(check_positive_int(max_length, "max_length"), 0, -1):
        if _COST_MODEL[fast](b, 1, L).flops >= _COST_MODEL[slow](b, 1, L).flops:
            break
        answer = L
    return answer


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

    This measures the machine it runs on (its speed, caches, load): chapter 1 shows the result
    beside the committed record (``viz.load_data("01_long_convolutions-cpu_timing")``, which
    names the machine it came from) and asserts nothing on it; its growth claims are asserted on
    :func:`counted_conv_work` and on that record.

    The ways are :data:`CONV_METHODS`: ``fftconv`` (O(L log L)), ``direct_conv`` (a loop over
    the ``L`` lags, O(L^2)) and ``toeplitz_matvec`` (``S_h @ u`` with ``S_h (d, L, L)`` built
    before the clock starts: O(L^2) time and memory). All times come from
    :mod:`hyena_lab.measure`, in two passes:

    1. *Plan*: after one untimed call of each method at the smallest ``L``, for each ``L`` in
       increasing order one timed call of each method gives an estimate. A method stops before
       the first ``L`` where its last estimate times ``(L / L_last)^p`` would exceed
       ``max_call_s`` (``p`` = 2 for the O(L^2) methods, 1.2 for the FFT: an upper bound), so
       that no call takes much longer than ``max_call_s``; the Toeplitz mat-vec also skips every
       ``L`` whose ``S_h`` needs more than ``toeplitz_max_bytes``.
    2. *Measure*: :func:`hyena_lab.measure.time_calls` in ``rounds`` interleaved rounds, each
       timing every planned ``(method, L)`` ``repeats`` times (chosen so that all rounds spend
       about ``point_s`` seconds on the point, at most ``max_repeats``). The result is the
       *least* of the rounds' medians (:attr:`hyena_lab.measure.Timing.best`). Other processes
       can only add time (this is the reasoning of Python's ``timeit``), and interleaving the
       lengths spreads a burst of load over all points instead of bending one end of a curve;
       on a shared machine both matter.

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
        bar = progress_bar(total=len(Ls) * len(CONV_METHODS), desc="timing convolutions (plan)",
                   enabled=progress)
        for method in CONV_METHODS:  # first calls pay one-time costs (FFT plans, allocator)
            _method_call(method, *_conv_inputs(b, d, Ls[0], seed))()
        calls: dict[tuple[str, int], Callable[[], torch.Tensor]] = {}  # (method, L) -> call
        plan: dict[tuple[str, int], int] = {}  # (method, L) -> timed calls per round
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
                call = calls[method, L] = _method_call(method, u, h)
                last[method] = (L, time_fn(call, repeats=1, warmup=0))
                plan[method, L] = repeats_for(last[method][1], point_s / rounds, 1, max_repeats)
        bar.close()
        timings = time_calls(calls, warmup=0, rounds=rounds, repeats=plan)  # pass 2
    finally:
        torch.set_num_threads(old_threads)
    results = {
        m: {"L": [L for (m2, L) in plan if m2 == m],
            "seconds": [timings[key].best for key in plan if key[0] == m],
            "repeats": [reps for key, reps in plan.items() if key[0] == m]}
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
            "(hyena_lab.measure.time_calls) of 'repeats' calls, after one warm-up call"
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


def fitted_slopes(costs: dict[str, Any]) -> dict[str, float]:
    """The chapter's log-log slope of each method's time over the long-``L`` end of its curve.

    ``fftconv`` over its last four octaves (``L >= L_last / 16``: ``2^10 .. 2^14`` when it
    reaches ``2^14``), the O(L^2) ways over their last two octaves (``L >= L_last / 4``): their
    curves end earlier, and at small ``L`` a fixed cost per call flattens every curve. ``costs``
    is a :func:`measure_conv_costs` result (or its record); a method with fewer than two lengths
    in that range is left out.
    """
    octaves = {"fftconv": 16, "direct_conv": 4, "toeplitz_matvec": 4}
    slopes = {}
    for method, span in octaves.items():
        r = costs["results"].get(method, {})
        Ls = [L for L in r.get("L", []) if L >= r["L"][-1] / span]
        if len(Ls) >= 2:
            slopes[method] = loglog_slope(r["L"], r["seconds"], min_length=Ls[0])
    return slopes


def time_interleaved(
    calls: dict[str, Callable[[], object]], *, rounds: int = 5, repeats: int = 1
) -> dict[str, float]:
    """Least seconds per call of each of ``calls``, timed in turn, round after round.

    After one untimed call of each (one-time costs: FFT plans, allocator), every round times
    each call ``repeats`` times (:func:`hyena_lab.measure.time_calls`), so that a burst of load
    falls on both sides of a comparison; the least of the rounds' medians is kept (load can only
    add time). The one kind of live timing a chapter may assert on: the *ratio* of two such
    times, where the claimed ratio is at least 10x, with a wide margin.
    """
    timings = time_calls(calls, warmup=1, rounds=rounds, repeats=repeats)
    return {name: t.best for name, t in timings.items()}


def _short_cpu(name: str) -> str:
    """A processor name without trademarks and clock: ``Intel Xeon``, ``AMD EPYC 7B13``."""
    name = name.split(" @ ")[0]
    for mark in ("(R)", "(TM)", "(tm)", " CPU", " Processor", " processor"):
        name = name.replace(mark, "")
    return " ".join(name.split()) or "unknown CPU"


def describe_machine(costs: dict[str, Any]) -> str:
    """Where and how a :func:`measure_conv_costs` result was measured, in one line."""
    threads = costs.get("num_threads", "?")
    return (
        f"{_short_cpu(str(costs.get('processor', '')))} ({costs.get('machine', '?')}), "
        f"torch {costs.get('torch_version', '?')}, {threads} thread"
        f"{'' if threads == 1 else 's'}, {costs.get('date', 'undated')}"
    )


def _length_label(L: int) -> str:
    """``2^k`` for a power of two, else the number."""
    return f"$2^{{{L.bit_length() - 1}}}$" if L & (L - 1) == 0 else str(L)


_COLORS = {"fftconv": "#0072B2", "direct_conv": "#D55E00", "toeplitz_matvec": "#009E73"}
_MARKERS = {"fftconv": "o", "direct_conv": "s", "toeplitz_matvec": "^"}
_LABELS = {"fftconv": "fftconv: FFT, padded to 2L", "direct_conv": "direct_conv: loop over lags",
           "toeplitz_matvec": "S_h @ u: Toeplitz mat-vec"}


def _log2_x(ax: Any, lengths: Sequence[int]) -> None:
    """Log-log axes with the lengths as ``2^k`` ticks."""
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(list(lengths), [_length_label(L) for L in lengths])
    ax.minorticks_off()
    ax.set_xlabel("sequence length L (tokens)")


def conv_cost_figure(recorded: dict[str, Any], live: dict[str, Any] | None = None) -> Figure:
    """The cost of the three ways, counted (a) and timed (b), on log-log axes.

    (a) FLOPs per channel of one call (:func:`counted_conv_work`) over the recorded lengths, with
    the counted crossover of ``fftconv`` and ``direct_conv`` (:func:`counted_crossover`).
    (b) Seconds per call: ``recorded`` (a :func:`measure_conv_costs` result, usually the
    committed record) as solid lines with filled markers, ``live`` (this run's, if given) dashed
    with open markers, in the same colours; the legend names each one's processor and date.
    Reference lines of slope 1 (``∝ L``) and 2 (``∝ L^2``) run through the recorded curves' last
    points: a power law ``c L^p`` is a straight line of slope ``p``.
    """
    from matplotlib.lines import Line2D

    res = recorded["results"]
    runs = [(recorded, "-", "recorded")] + ([(live, "--", "this run")] if live else [])
    all_L = sorted({L for costs, _, _ in runs for m in costs["results"].values() for L in m["L"]})
    fig = Figure(figsize=(12.5, 5.0), layout="constrained")
    ax_w, ax_t = fig.subplots(1, 2)

    work = counted_conv_work(all_L)
    for method in CONV_METHODS:
        ax_w.plot(all_L, work[method]["flops"], "-", marker=_MARKERS[method], ms=4,
                  color=_COLORS[method])
    L_x = counted_crossover(max_length=all_L[-1])
    if L_x is not None:
        ax_w.axvline(L_x, color="0.4", ls=":", lw=1.2,
                     label=f"from L = {L_x} on, fftconv\ncounts fewer FLOPs than direct_conv")
        ax_w.legend(fontsize=8, loc="lower right")
    _log2_x(ax_w, all_L)
    ax_w.set_ylabel("counted work per channel (FLOP)")
    ax_w.set_title("(a) counted work: the same on every machine")

    for costs, ls, _ in runs:
        for method in CONV_METHODS:
            r = costs["results"].get(method, {})
            if r.get("L"):
                ax_t.plot(r["L"], r["seconds"], ls, marker=_MARKERS[method], ms=5, lw=1.5,
                          color=_COLORS[method], mfc=_COLORS[method] if ls == "-" else "white")
    handles = []
    for costs, ls, what in runs:
        threads = costs.get("num_threads", "?")
        handles.append(Line2D(
            [], [], color="0.2", ls=ls, marker="o", mfc="0.2" if ls == "-" else "white",
            label=f"{what}: {_short_cpu(str(costs.get('processor', '')))}, "
                  f"{threads} thread{'' if threads == 1 else 's'}, {costs.get('date', '?')}",
        ))
    for method, power, ls in (("fftconv", 1, ":"), ("direct_conv", 2, "-.")):
        if res.get(method, {}).get("L"):
            Ls = np.asarray(res[method]["L"], dtype=float)
            L0, t0 = Ls[-1], res[method]["seconds"][-1]
            ax_t.plot(Ls, t0 * (Ls / L0) ** power, ls, color="0.55", lw=1.0)
            handles.append(Line2D([], [], color="0.55", ls=ls, lw=1.0,
                                  label=f"slope {power}: ∝ L" + ("²" if power == 2 else "")))
    _log2_x(ax_t, all_L)
    ax_t.set_ylabel("time per call (s)")
    ax_t.set_title(f"(b) measured time: float32, u {recorded['shapes']['u']}")
    ax_t.legend(handles=handles, fontsize=8, loc="lower right")
    fig.legend(
        handles=[Line2D([], [], color=_COLORS[m], marker=_MARKERS[m], label=_LABELS[m])
                 for m in CONV_METHODS],
        loc="outside lower center", ncol=3, fontsize=9,
    )
    return fig
