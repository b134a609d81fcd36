"""Figures and widget controls of chapter 1, *Long convolutions* (paper Sec. 2.1): they only draw.

The example filters and figures are pure functions of their arguments (a seed included)
returning a tensor or a matplotlib ``Figure``, which the widget calls and the tests check. The
mathematics lives in :mod:`hyena_lab.conv` (``direct_conv``, the definition, O(L^2);
``toeplitz``, the matrix ``S_h[t, s] = h_{t-s}``; ``fftconv`` padded to ``2L``, O(L log L);
``circular_fftconv``, whose tail wraps around), the counted work in :mod:`hyena_lab.roofline`
(``counted_conv_work``, ``counted_crossover``) and the CPU timing, with what is read off it, in
:mod:`hyena_lab.experiments.conv_costs` (``hyena-lab conv-costs``); their names stay importable
from here. Contents: :func:`example_filter`, :func:`probe_input`, :func:`matrix_of` (the matrix
of a linear sequence map, probed with unit impulses); :func:`toeplitz_figure`,
:func:`wraparound_figure`, :func:`conv_explorer_figure`, :class:`ConvExplorer`; a timing
record's machine in one line (:func:`describe_machine`) and its figure
(:func:`conv_cost_figure`). Names from the paper: ``h`` the filter, ``u`` the input, ``y`` the
output, ``S_h`` / ``C_h`` the Toeplitz / circulant matrix, ``L`` the length, ``d`` the channels.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..checks import check_float, check_ndim, check_positive_float, check_positive_int
from ..conv import circular_fftconv, direct_conv, fftconv, toeplitz
from ..deprecation import moved
from ..roofline import CONV_METHODS, counted_conv_work, counted_crossover  # likewise
from . import matrix_heatmap

__all__ = [
    "CONV_METHODS", "EXPLORER_START", "FILTER_KINDS", "PARAM_MEANING", "ConvExplorer",
    "conv_cost_figure", "conv_explorer_figure", "counted_conv_work", "counted_crossover",
    "describe_machine", "example_filter", "make_filter", "matrix_of", "probe_input",
    "toeplitz_figure", "wraparound_figure",
]  # fmt: skip

#: The filter shapes of the chapter's widget, in the order of its drop-down menu.
FILTER_KINDS: tuple[str, ...] = (
    "exponential decay",
    "delay (shifted impulse)",
    "moving average",
    "random",
)

#: What the single numeric parameter of :func:`example_filter` means for each filter kind.
PARAM_MEANING: dict[str, str] = {
    "exponential decay": "tau: decay time constant (steps, > 0)",
    "delay (shifted impulse)": "shift: delay (whole steps, 0 <= shift <= L - 1)",
    "moving average": "width: window length (whole steps, 1 <= width <= L)",
    "random": "tau: time constant of the exp(-t/tau) window (steps, > 0)",
}


# --------------------------------------------------------------------------- filters and inputs


def _whole_steps(param: float, name: str, lo: int, hi: int) -> int:
    """``param`` as an int in ``[lo, hi]``; a ``ValueError`` names the range otherwise."""
    value = float(param)
    if not math.isfinite(value) or not value.is_integer() or not lo <= value <= hi:
        raise ValueError(
            f"{name} must be a whole number of steps in [{lo}, {hi}] for this L, got {param!r}"
        )
    return int(value)


def example_filter(kind: str, L: int, param: float, *, seed: int = 0) -> torch.Tensor:
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


def make_filter(kind: str, L: int, param: float, *, seed: int = 0) -> torch.Tensor:
    """Deprecated name of :func:`example_filter` (not :func:`hyena_lab.filters.make_filter`,
    which builds a trainable filter module): warns, then calls it."""
    warnings.warn(
        "hyena_lab.viz.conv.make_filter is renamed example_filter (hyena_lab.filters.make_filter "
        "is another function, the trainable filters)", DeprecationWarning, stacklevel=2,
    )  # fmt: skip
    return example_filter(kind, L, param, seed=seed)


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

    Arguments are those of :func:`example_filter` (which raises ``ValueError`` on bad widget
    values); ``u`` defaults to :func:`probe_input`; ``y`` is computed by :func:`fftconv`.
    """
    h = example_filter(kind, L, param, seed=seed)
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
    ``[1, L]``), so that no value ever reaches :func:`example_filter` as ``3.9999999999999996``."""
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


# ------------------------------------------------------------------------------ the cost figure


def _short_cpu(name: str) -> str:
    """A processor name without trademarks and clock: ``Intel Xeon``, ``AMD EPYC 7B13``."""
    name = name.split(" @ ")[0]
    for mark in ("(R)", "(TM)", "(tm)", " CPU", " Processor", " processor"):
        name = name.replace(mark, "")
    return " ".join(name.split()) or "unknown CPU"


def describe_machine(costs: dict[str, Any]) -> str:
    """Where and how a ``conv-costs`` record (:func:`hyena_lab.experiments.conv_costs.run`) was
    measured, in one line: processor, machine, torch version, threads, date."""
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
    (b) Seconds per call: ``recorded`` (a ``conv-costs`` record, usually the
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
    ax_t.set_title(f"(b) measured time: {recorded.get('dtype', 'float32')}, u "
                   f"{recorded['shapes']['u']}")
    ax_t.legend(handles=handles, fontsize=8, loc="lower right")
    fig.legend(
        handles=[Line2D([], [], color=_COLORS[m], marker=_MARKERS[m], label=_LABELS[m])
                 for m in CONV_METHODS],
        loc="outside lower center", ncol=3, fontsize=9,
    )
    return fig


#: Measuring is not drawing: these names moved to :mod:`hyena_lab.experiments.conv_costs`; still
#: importable from here, with a DeprecationWarning.
__getattr__ = moved(__name__, dict.fromkeys((
    "fitted_slopes",
    "loglog_slope",
    "measure_conv_costs",
    "speedup_at_largest_common_length",
    "time_interleaved",
), "hyena_lab.experiments.conv_costs"))
