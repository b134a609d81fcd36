"""Chapter 1's drawing (hyena_lab.viz.conv) and the examples it draws
(hyena_lab.experiments.examples): example filters, impulse-probed matrices, figures and widget
controls, including their errors for bad (widget) values; the names that moved out stay
importable. The timing itself is tested in test_conv_costs.py."""

import json
import warnings

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from ipywidgets import FloatSlider, IntSlider
from matplotlib.figure import Figure

from hyena_lab import circular_fftconv, direct_conv, fftconv, toeplitz
from hyena_lab.checks import F64_FFT_CHAIN, F64_SAME_ALGEBRA
from hyena_lab.experiments.examples import (
    FILTER_KINDS,
    PARAM_MEANING,
    example_filter,
    matrix_of,
    probe_input,
)
from hyena_lab.viz.conv import (
    CONV_METHODS,
    EXPLORER_START,
    ConvExplorer,
    conv_cost_figure,
    conv_explorer_figure,
    describe_machine,
    toeplitz_figure,
    wraparound_figure,
)

from .helpers import rel_err

VALID_PARAM = {  # one valid parameter per kind, for L >= 4
    "exponential decay": 3.0,
    "delay (shifted impulse)": 2,
    "moving average": 3,
    "random": 5.0,
}


def _plot_axes(fig: Figure) -> list:
    """The data axes of a figure (colour bars excluded)."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def _assert_labelled(fig: Figure) -> None:
    assert isinstance(fig, Figure)
    axes = _plot_axes(fig)
    assert axes
    for ax in axes:
        assert ax.get_xlabel().strip(), f"axes {ax.get_title()!r} has no x label"
        assert ax.get_ylabel().strip(), f"axes {ax.get_title()!r} has no y label"
        assert ax.get_title().strip()


# ---------------------------------------------------------------------------- example_filter


@pytest.mark.parametrize("kind", FILTER_KINDS)
@pytest.mark.parametrize("L", [4, 7, 64])
def test_example_filter_shape_and_dtype(kind, L):
    h = example_filter(kind, L, VALID_PARAM[kind])
    assert h.shape == (L,)
    assert h.dtype == torch.float64
    assert torch.isfinite(h).all() and h.abs().sum() > 0
    assert set(PARAM_MEANING) == set(FILTER_KINDS)


def test_exponential_decay_values():
    h = example_filter("exponential decay", 10, 2.5)
    t = torch.arange(10, dtype=torch.float64)
    assert torch.equal(h, torch.exp(-t / 2.5))
    assert h[0] == 1.0


@given(st.integers(1, 80), st.data())
def test_delay_filter_shifts_the_input_exactly(L, data):
    shift = data.draw(st.integers(0, L - 1))
    h = example_filter("delay (shifted impulse)", L, shift)
    assert h.sum() == 1.0 and h[shift] == 1.0
    u = torch.randn(3, L, generator=torch.Generator().manual_seed(L), dtype=torch.float64)
    expected = torch.zeros_like(u)
    expected[:, shift:] = u[:, : L - shift]
    y = direct_conv(u, h.expand(3, L))
    assert torch.equal(y, expected)  # 0 * u and 1 * u are exact in floating point
    assert rel_err(fftconv(u, h.expand(3, L)), expected) < F64_FFT_CHAIN


@given(st.integers(1, 60), st.data())
def test_moving_average_is_the_mean_of_the_last_width_inputs(L, data):
    width = data.draw(st.integers(1, L))
    h = example_filter("moving average", L, float(width))  # a whole float is accepted
    assert abs(float(h.sum()) - 1.0) < 1e-12
    u = torch.randn(1, L, generator=torch.Generator().manual_seed(width), dtype=torch.float64)
    y = fftconv(u, h[None])[0]
    ref = torch.stack([u[0, max(0, t - width + 1) : t + 1].sum() / width for t in range(L)])
    assert rel_err(y, ref) < F64_FFT_CHAIN  # an FFT against a moving sum


def test_random_filter_is_seeded_and_windowed():
    a = example_filter("random", 50, 4.0, seed=3)
    assert torch.equal(a, example_filter("random", 50, 4.0, seed=3))
    assert not torch.equal(a, example_filter("random", 50, 4.0, seed=4))
    with pytest.raises(ValueError, match="seed must be >= 0"):
        example_filter("random", 50, 4.0, seed=-1)
    assert a[30:].abs().max() < 1e-2 * a[:5].abs().max()  # exp(-t/4) window: decays


def test_example_filter_length_one():
    for kind in FILTER_KINDS:
        param = {"delay (shifted impulse)": 0, "moving average": 1}.get(kind, 1.0)
        assert example_filter(kind, 1, param).shape == (1,)


@pytest.mark.parametrize(
    ("kind", "L", "param", "exc", "match"),
    [
        ("gaussian", 8, 1.0, ValueError, "unknown filter kind 'gaussian'; expected one of"),
        ("exponential decay", 0, 1.0, ValueError, "L must be >= 1, got 0"),
        ("random", -3, 1.0, ValueError, "L must be >= 1, got -3"),
        ("random", 2.5, 1.0, TypeError, "L must be an int"),
        ("moving average", 8, -2, ValueError, r"width must be a whole number of steps in \[1, 8\]"),
        ("moving average", 8, 0, ValueError, r"width .* in \[1, 8\]"),
        ("moving average", 8, 9, ValueError, r"width .* in \[1, 8\] for this L, got 9"),
        ("moving average", 8, 2.5, ValueError, "width must be a whole number"),
        ("delay (shifted impulse)", 8, 8, ValueError, r"shift .* in \[0, 7\]"),
        ("delay (shifted impulse)", 8, -1, ValueError, r"shift .* in \[0, 7\]"),
        ("delay (shifted impulse)", 8, float("nan"), ValueError, "shift must be a whole"),
        ("exponential decay", 8, 0.0, ValueError, "tau .* must be finite and > 0, got 0.0"),
        ("exponential decay", 8, -1.0, ValueError, "tau"),
        ("random", 8, float("inf"), ValueError, "tau .* must be finite"),
        ("random", 8, True, TypeError, "param must be a number"),
        ("random", 8, "3", TypeError, "param must be a number"),
    ],
)
def test_example_filter_bad_values_say_what_was_expected(kind, L, param, exc, match):
    with pytest.raises(exc, match=match):
        example_filter(kind, L, param)


# ------------------------------------------------------------------------ inputs and matrices


@pytest.mark.parametrize("L", [1, 2, 3, 4, 5, 33])
def test_probe_input(L):
    u = probe_input(L)
    assert u.shape == (L,) and u.dtype == torch.float64
    assert u[0] == 1.0
    assert (u[L // 2] == 1.0) or L < 4
    with pytest.raises(ValueError, match="L must be >= 1"):
        probe_input(0)


@given(st.integers(1, 40), st.integers(0, 99))
def test_matrix_of_the_fft_convolution_is_the_toeplitz_matrix(L, seed):
    h = torch.randn(L, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    S = matrix_of(lambda u: fftconv(u, h[None]), L)
    assert S.shape == (L, L)
    assert rel_err(S, toeplitz(h)) < F64_SAME_ALGEBRA
    C = matrix_of(lambda u: circular_fftconv(u, h[None]), L)
    for s in range(L):  # column s of the circulant matrix is h rotated by s
        assert rel_err(C[:, s], torch.roll(h, s)) < F64_SAME_ALGEBRA


def test_matrix_of_rejects_maps_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"conv must map \(batch, 1, L\) to \(batch, 1, L\)"):
        matrix_of(lambda u: u[..., :-1], 5)
    with pytest.raises(ValueError, match="L must be >= 1"):
        matrix_of(lambda u: u, 0)


# ------------------------------------------------------------------------------------ figures


def test_toeplitz_figure():
    fig = toeplitz_figure(example_filter("exponential decay", 6, 2.0))
    _assert_labelled(fig)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "$h_{0}$" in texts and "$h_{5}$" in texts and len(texts) == 6 * 7 // 2
    big = toeplitz_figure(example_filter("random", 20, 5.0))
    assert not any(ax.texts for ax in big.axes)  # too many cells to annotate
    with pytest.raises(ValueError, match=r"h must have shape \(L,\)"):
        toeplitz_figure(torch.ones(2, 3, dtype=torch.float64))


@pytest.mark.parametrize("L", [1, 7, 16])
def test_wraparound_figure(L):
    u = torch.zeros(L, dtype=torch.float64)
    u[-1] = 1.0
    fig = wraparound_figure(u, example_filter("exponential decay", L, 4.0))
    _assert_labelled(fig)
    assert len(_plot_axes(fig)) == 4
    with pytest.raises(ValueError, match=f"u must have length L={L}"):
        wraparound_figure(torch.ones(L + 1, dtype=torch.float64), torch.ones(L))
    with pytest.raises(TypeError, match="floating-point"):
        wraparound_figure(torch.ones(L, dtype=torch.int64), torch.ones(L))


@pytest.mark.parametrize("kind", FILTER_KINDS)
def test_conv_explorer_figure_for_every_kind(kind):
    fig = conv_explorer_figure(kind, 12, VALID_PARAM[kind])
    _assert_labelled(fig)
    assert len(_plot_axes(fig)) == 3
    assert kind in fig.axes[0].get_title()


def test_conv_explorer_figure_defaults_and_custom_input():
    _assert_labelled(conv_explorer_figure())  # the widget's defaults run headless
    _assert_labelled(conv_explorer_figure("moving average", 1, 1))
    _assert_labelled(conv_explorer_figure("random", 9, 2.0, u=torch.ones(9)))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"L": 0}, "L must be >= 1"),
        ({"kind": "boxcar"}, "unknown filter kind"),
        ({"kind": "moving average", "param": -3}, "width must be a whole number"),
        ({"kind": "delay (shifted impulse)", "L": 4, "param": 4}, r"shift .* \[0, 3\]"),
        ({"u": torch.ones(5)}, "u must have length L=32"),
    ],
)
def test_conv_explorer_figure_bad_widget_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        conv_explorer_figure(**kwargs)


# ------------------------------------------------------------------------------- the explorer


def _explorer(l_max: int = 20, L: int = 12) -> ConvExplorer:
    return ConvExplorer(l_max=l_max, L=L)


def test_explorer_starts_with_a_figure_and_valid_sliders():
    ex = _explorer()
    assert ex.redraws == 1 and isinstance(ex.figure, Figure) and ex.message is None
    assert ex.kind.value == "exponential decay" and ex.length.value == 12
    assert "exponential decay" in ex.figure.axes[0].get_title()
    for kind, slider in ex.params.items():  # whole steps: integer sliders; tau: float sliders
        whole = kind in ("delay (shifted impulse)", "moving average")
        assert isinstance(slider, IntSlider if whole else FloatSlider), kind
        assert slider.value == EXPLORER_START[kind]
        example_filter(kind, 12, slider.value)  # every starting value is valid
    assert (ex.params["delay (shifted impulse)"].min, ex.params["delay (shifted impulse)"].max) \
        == (0, 11)
    assert (ex.params["moving average"].min, ex.params["moving average"].max) == (1, 12)
    assert ex.seed.disabled  # the seed only matters for the random filter
    bundle = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "needs a running Jupyter kernel" in bundle["text/plain"]
    with pytest.raises(ValueError, match="l_max must be >= 2"):
        ConvExplorer(l_max=1)


def test_explorer_kind_switches_redraw_once_and_keep_each_value():
    """The reported bug: exponential -> delay -> moving average raised on 3.9999999999999996,
    the first switch left a stale figure, and tau drifted from 4.0 to 3.5 and back."""
    ex = _explorer()
    ex.params["exponential decay"].value = 4.0
    tau = ex.params["exponential decay"].value
    for n, kind in enumerate(("delay (shifted impulse)", "moving average", "random",
                              "exponential decay"), start=2):
        before = ex.figure
        ex.kind.value = kind
        assert ex.redraws == n, f"one redraw for the switch to {kind}"
        assert ex.message is None, ex.message
        assert ex.figure is not before and kind in ex.figure.axes[0].get_title()
        assert ex._slot.children == (ex.params[kind],)  # the shown slider is the kind's own
        assert ex.seed.disabled == (kind != "random")
    assert ex.params["exponential decay"].value == tau == 4.0  # no drift
    assert ex.params["delay (shifted impulse)"].value == ex.params["moving average"].value == 4


def test_explorer_each_user_change_is_one_redraw():
    ex = _explorer()
    n = ex.redraws
    ex.params["exponential decay"].value = 6.5
    assert ex.redraws == n + 1 and "tau = 6.5" in ex.figure.axes[2].get_title()
    ex.kind.value = "moving average"
    ex.params["moving average"].value = 10
    assert ex.redraws == n + 3
    ex.length.value = 5  # narrows two ranges and clamps two values: still one redraw
    assert ex.redraws == n + 4
    assert ex.params["moving average"].value == 5 and ex.params["moving average"].max == 5
    assert ex.params["delay (shifted impulse)"].value == 4  # 4 <= L - 1: kept
    ex.length.value = 1
    assert ex.redraws == n + 5 and ex.params["delay (shifted impulse)"].value == 0
    assert ex.figure is not None and ex.message is None
    ex.kind.value = "random"
    ex.seed.value = 3
    assert ex.redraws == n + 7
    ex.seed.value = 3  # no change, no redraw
    assert ex.redraws == n + 7


def test_explorer_every_slider_value_draws():
    ex = _explorer(l_max=16, L=16)
    for kind in FILTER_KINDS:
        ex.kind.value = kind
        for L in (1, 2, 7, 16):
            ex.length.value = L
            for value in (ex.param.min, ex.param.max):
                ex.param.value = value
                assert ex.message is None and ex.figure is not None, (kind, L, value)
                assert isinstance(ex.param.value, int if isinstance(ex.param, IntSlider) else float)


def test_explorer_shows_a_message_instead_of_a_traceback_or_a_stale_figure(monkeypatch):
    import hyena_lab.viz.conv as vc

    ex = _explorer()

    def refuse(*args, **kwargs):
        raise ValueError("width must be a whole number of steps in [1, 12] for this L, got 3.5")

    monkeypatch.setattr(vc, "conv_explorer_figure", refuse)
    ex.params["exponential decay"].value = 5.0
    assert ex.figure is None, "no stale figure"
    assert ex.message.startswith("Cannot draw this filter: width must be a whole number")
    monkeypatch.undo()
    ex.params["exponential decay"].value = 5.5
    assert ex.message is None and isinstance(ex.figure, Figure)


def test_explorer_output_holds_one_item(monkeypatch):
    """Each redraw clears the output before showing one figure (or one message)."""
    ex = _explorer()
    cleared, shown = [], []
    monkeypatch.setattr(ex.output, "clear_output", lambda wait=False: cleared.append(wait))
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    ex.kind.value = "delay (shifted impulse)"
    assert cleared == [True] and shown == [ex.figure]


# ----------------------------------------------------------------- a timing record, drawn


def _record(processor: str = "AMD EPYC 7B13 64-Core Processor", date: str = "2029-05-06",
            Ls: tuple[int, ...] = (8, 16, 32)) -> dict:
    """A ``conv-costs`` record with made-up times (the figure only draws what it is given)."""
    results = {m: {"L": list(Ls), "seconds": [k * 1e-5 * L for L in Ls], "repeats": [1] * len(Ls)}
               for k, m in enumerate(CONV_METHODS, start=1)}  # fmt: skip
    return {"processor": processor, "machine": "x86_64", "torch_version": "2.13.0+cpu",
            "num_threads": 1, "date": date, "dtype": "float32", "results": results,
            "shapes": {"u": "(batch, d, L) = (1, 2, L)"}}  # fmt: skip


def test_conv_cost_figure():
    fig = conv_cost_figure(_record())
    _assert_labelled(fig)
    ax_w, ax_t = _plot_axes(fig)
    for ax in (ax_w, ax_t):
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax_t.get_title() == "(b) measured time: float32, u (batch, d, L) = (1, 2, L)"
    legend = [t.get_text() for t in ax_t.get_legend().get_texts()]
    assert any("slope 1" in t for t in legend) and any("slope 2" in t for t in legend)
    assert "recorded: AMD EPYC 7B13 64-Core, 1 thread, 2029-05-06" in legend
    assert not any(t.startswith("this run") for t in legend)
    methods = [t.get_text() for t in fig.legends[0].get_texts()]  # one colour per method
    assert len(methods) == len(CONV_METHODS)
    assert len(ax_w.get_lines()) == len(CONV_METHODS)  # L = 8..32 < 125: no crossover line
    first = ax_t.get_lines()[0]  # fftconv, as recorded: the points given, drawn solid
    assert list(first.get_xdata()) == [8, 16, 32] and first.get_linestyle() == "-"
    assert list(first.get_ydata()) == pytest.approx([8e-5, 16e-5, 32e-5], rel=1e-15)


def test_conv_cost_figure_draws_the_live_run_dashed_beside_the_record():
    live = _record(processor="Intel(R) Xeon(R) CPU @ 2.20GHz", date="2030-01-02")
    recorded = _record(Ls=(64, 128, 256))
    fig = conv_cost_figure(recorded, live)
    ax_w, ax_t = _plot_axes(fig)
    styles = [line.get_linestyle() for line in ax_t.get_lines()]
    assert styles.count("-") == len(CONV_METHODS) and styles.count("--") == len(CONV_METHODS)
    colours = {}
    for line in ax_t.get_lines():
        if line.get_linestyle() in ("-", "--"):
            colours.setdefault(line.get_linestyle(), []).append(line.get_color())
    assert colours["-"] == colours["--"], "the same colour per method in both runs"
    legend = [t.get_text() for t in ax_t.get_legend().get_texts()]
    assert "this run: Intel Xeon, 1 thread, 2030-01-02" in legend
    assert any(t.startswith("recorded: ") for t in legend)
    ticks = [t.get_text() for t in ax_t.get_xticklabels()]
    assert "$2^{8}$" in ticks and "$2^{3}$" in ticks  # lengths of both runs
    assert any("from L = 125 on" in t.get_text() for t in ax_w.get_legend().get_texts())


def test_describe_machine():
    costs = {"processor": "Intel(R) Xeon(R) CPU @ 2.20GHz", "machine": "x86_64",
             "torch_version": "2.13.0+cpu", "num_threads": 1, "date": "2030-01-02"}
    assert describe_machine(costs) == "Intel Xeon (x86_64), torch 2.13.0+cpu, 1 thread, 2030-01-02"
    costs.update(processor="AMD EPYC 7B13 64-Core Processor", num_threads=2)
    assert describe_machine(costs).startswith("AMD EPYC 7B13 64-Core (x86_64), torch")
    assert "2 threads" in describe_machine(costs)
    assert describe_machine({}).startswith("unknown CPU (?)")
    json.dumps(_record())  # the records it reads are plain JSON


# ---------------------------------------------------------------------- names kept for readers


def test_make_filter_is_a_deprecated_alias_of_example_filter():
    from hyena_lab.viz.conv import make_filter

    with pytest.warns(DeprecationWarning, match="renamed example_filter"):
        h = make_filter("random", 12, 3.0, seed=2)
    assert torch.equal(h, example_filter("random", 12, 3.0, seed=2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new name does not warn
        example_filter("moving average", 4, 2)


def test_moved_names_stay_importable_from_viz_conv():
    import hyena_lab.experiments.conv_costs as cc
    import hyena_lab.experiments.examples as ex
    import hyena_lab.roofline as roofline
    import hyena_lab.viz.conv as vc

    for module, names in ((cc, ("measure_conv_costs", "time_interleaved", "loglog_slope",
                                "fitted_slopes", "speedup_at_largest_common_length")),
                          (ex, ("example_filter", "probe_input", "matrix_of", "FILTER_KINDS",
                                "PARAM_MEANING"))):  # fmt: skip
        for name in names:
            with pytest.warns(DeprecationWarning, match=f"moved to {module.__name__}.{name}"):
                assert getattr(vc, name) is getattr(module, name), name
    with pytest.raises(AttributeError):
        vc.no_such_name  # noqa: B018
    for name in ("CONV_METHODS", "counted_conv_work", "counted_crossover"):
        assert getattr(vc, name) is getattr(roofline, name), name


def test_viz_conv_only_draws():
    """No clock, no timer, no progress bar: the measuring moved to the experiment (viz.conv
    imports only the examples it draws from the experiments)."""
    import ast
    import inspect

    import hyena_lab.viz.conv as vc

    tree = ast.parse(inspect.getsource(vc))
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    names |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not names & {"time", "perf_counter", "time_calls", "time_fn", "progress_bar"}
    assert "measure" not in modules and "progress" not in modules
    assert not any("conv_costs" in (m or "") for m in modules)  # imports no measuring module
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                and (n.module or "").endswith("experiments") for a in n.names}  # fmt: skip
    assert imported <= {"examples"}
