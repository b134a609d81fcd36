"""Figures and the filter explorer of chapter 01, *Long convolutions* (paper Sec. 2.1).

They draw :mod:`hyena_lab.conv`, the examples of :mod:`hyena_lab.experiments.examples`, the
counted work of :mod:`hyena_lab.roofline` and the records of ``hyena-lab conv-costs``. ``h`` the
filter, ``u`` the input, ``y`` the output, ``S_h`` / ``C_h`` the Toeplitz / circulant matrix.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from ..checks import check_float, check_ndim, check_positive_int
from ..conv import circular_fftconv, direct_conv, fftconv, toeplitz
from ..deprecation import moved
from ..experiments import examples
from ..roofline import CONV_METHODS, counted_conv_work, counted_crossover
from . import loglog, matrix_heatmap, new_figure, thread_label

__all__ = [
    "CONV_METHODS", "EXPLORER_START", "ConvExplorer", "conv_cost_figure", "conv_explorer_figure",
    "counted_conv_work", "counted_crossover", "describe_machine", "make_filter",
    "toeplitz_figure", "wraparound_figure",
]  # fmt: skip

#: The explorer's starting parameter for each filter kind (time steps); each kind keeps its own.
EXPLORER_START: dict[str, float] = {
    "exponential decay": 4.0, "delay (shifted impulse)": 4, "moving average": 4, "random": 8.0,
}  # fmt: skip


def make_filter(kind: str, L: int, param: float, *, seed: int = 0) -> torch.Tensor:
    """Deprecated name of :func:`~hyena_lab.experiments.examples.example_filter` (not
    :func:`hyena_lab.filters.make_filter`, which builds a trainable filter module)."""
    warnings.warn(
        "hyena_lab.viz.conv.make_filter is renamed example_filter (hyena_lab.filters.make_filter "
        "is another function, the trainable filters)", DeprecationWarning, stacklevel=2,
    )  # fmt: skip
    return examples.example_filter(kind, L, param, seed=seed)


def _sequence(x: object, name: str, L: int | None = None) -> torch.Tensor:
    """Validate a 1-D real sequence ``(L,)`` (of length ``L`` if given); return it in float64."""
    x = check_float(x, name)
    check_ndim(x, name, 1, "(L,)")
    if L is not None and x.shape[0] != L:
        raise ValueError(f"{name} must have length L={L}, got shape {tuple(x.shape)}")
    return x.detach().double()


def _label(ax: Any, x: str, y: str, title: str) -> None:
    """Label an axes whose x is in time steps (integer ticks)."""
    ax.set(xlabel=x, ylabel=y, title=title)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _stem(ax: Any, h: torch.Tensor, title: str) -> None:
    """The taps of a filter ``h`` ``(L,)`` against the lag."""
    ax.stem(np.arange(h.shape[0]), h.numpy(), basefmt=" ")
    _label(ax, "lag j (steps)", "filter tap h_j", title)


def toeplitz_figure(h: torch.Tensor, *, annotate_max: int = 12) -> Figure:
    """A filter ``h`` ``(L,)`` and its Toeplitz matrix ``S_h``, cells annotated ``h_{t-s}`` when
    ``L <= annotate_max``."""
    h = _sequence(h, "h")
    L = h.shape[0]
    fig, (ax_h, ax_s) = new_figure((10.0, 4.0), 1, 2, width_ratios=(1.0, 1.3))
    _stem(ax_h, h, f"filter h, L = {L}")
    matrix_heatmap(ax_s, toeplitz(h), r"$S_h[t, s] = h_{t-s}$ for $t \geq s$", integer_ticks=True)
    if L <= annotate_max:
        for t in range(L):
            for s in range(t + 1):
                ax_s.text(s, t, f"$h_{{{t - s}}}$", ha="center", va="center", fontsize=8)
    return fig


def wraparound_figure(u: torch.Tensor, h: torch.Tensor) -> Figure:
    """Why :func:`~hyena_lab.conv.fftconv` pads to ``2L``: (a) ``S_h`` of the padded FFT, (b) the
    circulant ``C_h`` of the unpadded one (the tail of ``h`` wraps), (c) the three outputs for
    ``u``, (d) the circular convolution of the padded signals, whose last ``L`` values wrap."""
    h = _sequence(h, "h")
    u = _sequence(u, "u", h.shape[0])
    L = h.shape[0]
    S = examples.matrix_of(lambda x: fftconv(x, h[None]), L)
    C = examples.matrix_of(lambda x: circular_fftconv(x, h[None]), L)
    y_2L = circular_fftconv(F.pad(u, (0, L))[None], F.pad(h, (0, L))[None])[0]  # (2L,)
    fig, ((ax_s, ax_c), (ax_y, ax_p)) = new_figure((11.0, 7.5), 2, 2)
    matrix_heatmap(ax_s, S, "(a) FFT padded to 2L: $S_h$ (causal)", integer_ticks=True)
    matrix_heatmap(ax_c, C, "(b) FFT without padding: circulant $C_h$ (wraps)", integer_ticks=True)
    t = np.arange(L)
    ax_y.plot(t, direct_conv(u[None], h[None])[0].numpy(), "-", color="0.6", lw=4,
              label="direct_conv (definition)")
    ax_y.plot(t, fftconv(u[None], h[None])[0].numpy(), "o", ms=4, label="fftconv (padded to 2L)")
    ax_y.plot(t, circular_fftconv(u[None], h[None])[0].numpy(), "x-", ms=5, lw=1,
              label="circular_fftconv (no padding)")
    ax_y.legend(fontsize=8)
    _label(ax_y, "output time t (steps)", "output y_t", "(c) outputs for the input u")
    ax_p.axvspan(-0.5, L - 0.5, color="#009E73", alpha=0.12, label="kept: first L outputs")
    ax_p.axvspan(L - 0.5, 2 * L - 0.5, color="#D55E00", alpha=0.12, label="dropped: would wrap")
    ax_p.plot(np.arange(2 * L), y_2L.numpy(), "o-", ms=3, lw=1, color="#0072B2",
              label="circular conv, length 2L")
    ax_p.legend(fontsize=8)
    _label(ax_p, "time t of the padded signals (steps)", "output", "(d) padding to 2L")
    return fig


def conv_explorer_figure(kind: str = "exponential decay", L: int = 32, param: float = 4.0, *,
                         u: torch.Tensor | None = None, seed: int = 0) -> Figure:  # fmt: skip
    """The explorer's figure: the filter ``h`` (arguments of ``example_filter``, which raises on
    bad values), its matrix ``S_h`` and ``y = S_h u``; ``u`` defaults to ``probe_input(L)``."""
    h = examples.example_filter(kind, L, param, seed=seed)
    u = examples.probe_input(L) if u is None else _sequence(u, "u", L)
    y = fftconv(u[None], h[None])[0]  # (L,)
    fig, (ax_h, ax_s, ax_y) = new_figure((12.0, 3.8), 1, 3, width_ratios=(1.0, 1.1, 1.3))
    _stem(ax_h, h, f"filter: {kind}")
    matrix_heatmap(ax_s, toeplitz(h), f"$S_h$ ({L} x {L})", integer_ticks=True)
    t = np.arange(L)
    ax_y.step(t, u.numpy(), where="mid", color="0.55", label="input u")
    ax_y.plot(t, y.numpy(), "o-", ms=3, label="output y = S_h u")
    ax_y.legend(fontsize=8)
    name = examples.PARAM_MEANING[kind].split(":")[0]
    _label(ax_y, "time t (steps)", "value (arbitrary units)",
           f"probe input and output ({name} = {param:g})")
    return fig


def _param_slider(kind: str, L: int, l_max: int) -> Any:
    """A float slider for ``tau``, an integer slider for whole steps (``shift``, ``width``), so
    that no value reaches ``example_filter`` as ``3.9999999999999996``."""
    import ipywidgets as widgets

    common = {"description": examples.PARAM_MEANING[kind].split(":")[0],
              "continuous_update": False, "style": {"description_width": "initial"}}
    start = EXPLORER_START[kind]
    if kind == "delay (shifted impulse)":
        return widgets.IntSlider(value=min(int(start), L - 1), min=0, max=L - 1, **common)
    if kind == "moving average":
        return widgets.IntSlider(value=min(int(start), L), min=1, max=L, **common)
    return widgets.FloatSlider(value=float(start), min=0.5, max=float(l_max), step=0.5,
                               readout_format=".1f", **common)


class ConvExplorer:
    """The chapter's filter explorer: :func:`conv_explorer_figure` under widget controls.

    ``kind``, ``length`` (``L``), one slider per kind in ``params`` (only the chosen kind's shown,
    so each keeps its value) and ``seed``. One redraw per user change (a change of ``kind`` or
    ``L`` first updates the other controls, redraws held); refused values show a one-line
    ``message`` instead of a ``figure``. Needs a running kernel.
    """

    def __init__(self, l_max: int = 128, L: int = 32) -> None:
        import ipywidgets as widgets

        self.l_max = check_positive_int(l_max, "l_max", minimum=2)
        L = min(check_positive_int(L, "L"), self.l_max)
        kinds = examples.FILTER_KINDS
        self.kind = widgets.Dropdown(options=list(kinds), value=kinds[0], description="filter")
        self.length = widgets.IntSlider(value=L, min=1, max=self.l_max, description="L",
                                        continuous_update=False)
        self.params = {k: _param_slider(k, L, self.l_max) for k in kinds}
        self.seed = widgets.IntSlider(value=0, min=0, max=9, description="seed",
                                      continuous_update=False)
        self.output = widgets.Output()
        self._slot = widgets.HBox([self.params[self.kind.value]])  # the visible parameter slider
        self.widget = widgets.VBox([widgets.HBox([self.kind, self.length]),
                                    widgets.HBox([self._slot, self.seed]), self.output])
        self.widget.add_class("hyena-explorer")
        self.redraws = 0
        self.figure: Figure | None = None
        self.message: str | None = None
        self._held = 0
        self.kind.observe(self._on_kind, names="value")
        self.length.observe(self._on_length, names="value")
        for control in (*self.params.values(), self.seed):
            control.observe(self._on_value, names="value")
        self.seed.disabled = self.kind.value != "random"
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

    def _on_kind(self, _change: object) -> None:
        with self.hold():
            self._slot.children = (self.param,)
            self.seed.disabled = self.kind.value != "random"
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
        bundle["text/plain"] = ("ConvExplorer: the filter explorer of chapter 1 (needs a running "
                                "Jupyter kernel)")
        return bundle


# ------------------------------------------------------------------------------ the cost figure


def _short_cpu(name: str) -> str:
    """A processor name without trademarks and clock: ``Intel Xeon``, ``AMD EPYC 7B13``."""
    name = name.split(" @ ")[0]
    for mark in ("(R)", "(TM)", "(tm)", " CPU", " Processor", " processor"):
        name = name.replace(mark, "")
    return " ".join(name.split()) or "unknown CPU"


def describe_machine(costs: dict[str, Any]) -> str:
    """Where a ``conv-costs`` record was measured: processor, machine, torch, threads, date."""
    threads = costs.get("num_threads", "?")
    return (
        f"{_short_cpu(str(costs.get('processor', '')))} ({costs.get('machine', '?')}), "
        f"torch {costs.get('torch_version', '?')}, {threads} thread"
        f"{'' if threads == 1 else 's'}, {costs.get('date', 'undated')}"
    )


#: Colour, marker and legend label of each method in :func:`conv_cost_figure`.
_METHOD_STYLE = {
    "fftconv": ("#0072B2", "o", "fftconv: FFT, padded to 2L"),
    "direct_conv": ("#D55E00", "s", "direct_conv: loop over lags"),
    "toeplitz_matvec": ("#009E73", "^", "S_h @ u: Toeplitz mat-vec"),
}


def _length_ticks(ax: Any, lengths: list[int], ylabel: str, title: str) -> None:
    """Log-log axes over ``lengths``, ticked ``2^k`` for powers of two."""
    loglog(ax, ylabel, title)
    ax.set_xticks(lengths, [f"$2^{{{L.bit_length() - 1}}}$" if L & (L - 1) == 0 else str(L)
                            for L in lengths])  # fmt: skip
    ax.minorticks_off()


def conv_cost_figure(recorded: dict[str, Any], live: dict[str, Any] | None = None) -> Figure:
    """The cost of the three ways on log-log axes: (a) counted FLOPs per channel with their
    crossover; (b) seconds per call of a ``conv-costs`` record, ``recorded`` solid, ``live``
    dashed, with lines of slope 1 and 2 through the recorded curves' last points."""
    res = recorded["results"]
    runs = [(recorded, "-", "recorded")] + ([(live, "--", "this run")] if live else [])
    all_L = sorted({L for costs, _, _ in runs for m in costs["results"].values() for L in m["L"]})
    fig, (ax_w, ax_t) = new_figure((12.5, 5.0), 1, 2)
    work = counted_conv_work(all_L)
    for method, (color, marker, _) in _METHOD_STYLE.items():
        ax_w.plot(all_L, work[method]["flops"], "-", marker=marker, ms=4, color=color)
    L_x = counted_crossover(max_length=all_L[-1])
    if L_x is not None:
        ax_w.axvline(L_x, color="0.4", ls=":", lw=1.2,
                     label=f"from L = {L_x} on, fftconv\ncounts fewer FLOPs than direct_conv")
        ax_w.legend(fontsize=8, loc="lower right")
    _length_ticks(ax_w, all_L, "counted work per channel (FLOP)",
                  "(a) counted work: the same on every machine")
    handles = []
    for costs, ls, what in runs:
        for method, (color, marker, _) in _METHOD_STYLE.items():
            r = costs["results"].get(method, {})
            if r.get("L"):
                ax_t.plot(r["L"], r["seconds"], ls, marker=marker, ms=5, lw=1.5, color=color,
                          mfc=color if ls == "-" else "white")
        cpu = _short_cpu(str(costs.get("processor", "")))
        handles.append(Line2D([], [], color="0.2", ls=ls, marker="o",
                              mfc="0.2" if ls == "-" else "white",
                              label=f"{what}: {thread_label(costs, cpu)}"))
    for method, power, ls in (("fftconv", 1, ":"), ("direct_conv", 2, "-.")):
        if res.get(method, {}).get("L"):
            Ls = np.asarray(res[method]["L"], dtype=float)
            ax_t.plot(Ls, res[method]["seconds"][-1] * (Ls / Ls[-1]) ** power, ls, color="0.55",
                      lw=1.0)
            handles.append(Line2D([], [], color="0.55", ls=ls, lw=1.0,
                                  label=f"slope {power}: ∝ L" + ("²" if power == 2 else "")))
    _length_ticks(ax_t, all_L, "time per call (s)",
                  f"(b) measured time: {recorded.get('dtype', 'float32')}, u "
                  f"{recorded['shapes']['u']}")
    ax_t.legend(handles=handles, fontsize=8, loc="lower right")
    fig.legend(handles=[Line2D([], [], color=c, marker=m, label=label)
                        for c, m, label in _METHOD_STYLE.values()],
               loc="outside lower center", ncol=3, fontsize=9)
    return fig


#: Names that moved out of viz (measuring and data are not drawing); still importable from
#: here, with a DeprecationWarning.
__getattr__ = moved(__name__, {
    **dict.fromkeys(("fitted_slopes", "loglog_slope", "measure_conv_costs",
                     "speedup_at_largest_common_length", "time_interleaved"),
                    "hyena_lab.experiments.conv_costs"),
    **dict.fromkeys(("FILTER_KINDS", "PARAM_MEANING", "example_filter", "matrix_of",
                     "probe_input"), "hyena_lab.experiments.examples"),
})  # fmt: skip
