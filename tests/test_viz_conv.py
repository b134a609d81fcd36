"""Chapter 1 helpers (hyena_lab.viz.conv): filters, impulse-probed matrices, figures, widget
controls and the CPU cost measurement, including their errors for bad (widget) values."""

import json
import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from ipywidgets import FloatSlider, IntSlider
from matplotlib.figure import Figure

from hyena_lab import circular_fftconv, direct_conv, fftconv, toeplitz
from hyena_lab.checks import F64_FFT_CHAIN, F64_SAME_ALGEBRA
from hyena_lab.roofline import direct_conv_cost, fftconv_cost, toeplitz_matvec_cost
from hyena_lab.viz.conv import (
    CONV_METHODS,
    EXPLORER_START,
    FILTER_KINDS,
    PARAM_MEANING,
    ConvExplorer,
    conv_cost_figure,
    conv_explorer_figure,
    counted_conv_work,
    counted_crossover,
    describe_machine,
    fitted_slopes,
    loglog_slope,
    make_filter,
    matrix_of,
    measure_conv_costs,
    probe_input,
    speedup_at_largest_common_length,
    time_interleaved,
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


# ------------------------------------------------------------------------------- make_filter


@pytest.mark.parametrize("kind", FILTER_KINDS)
@pytest.mark.parametrize("L", [4, 7, 64])
def test_make_filter_shape_and_dtype(kind, L):
    h = make_filter(kind, L, VALID_PARAM[kind])
    assert h.shape == (L,)
    assert h.dtype == torch.float64
    assert torch.isfinite(h).all() and h.abs().sum() > 0
    assert set(PARAM_MEANING) == set(FILTER_KINDS)


def test_exponential_decay_values():
    h = make_filter("exponential decay", 10, 2.5)
    t = torch.arange(10, dtype=torch.float64)
    assert torch.equal(h, torch.exp(-t / 2.5))
    assert h[0] == 1.0


@given(st.integers(1, 80), st.data())
def test_delay_filter_shifts_the_input_exactly(L, data):
    shift = data.draw(st.integers(0, L - 1))
    h = make_filter("delay (shifted impulse)", L, shift)
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
    h = make_filter("moving average", L, float(width))  # a whole float is accepted
    assert abs(float(h.sum()) - 1.0) < 1e-12
    u = torch.randn(1, L, generator=torch.Generator().manual_seed(width), dtype=torch.float64)
    y = fftconv(u, h[None])[0]
    ref = torch.stack([u[0, max(0, t - width + 1) : t + 1].sum() / width for t in range(L)])
    assert rel_err(y, ref) < F64_FFT_CHAIN  # an FFT against a moving sum


def test_random_filter_is_seeded_and_windowed():
    a = make_filter("random", 50, 4.0, seed=3)
    assert torch.equal(a, make_filter("random", 50, 4.0, seed=3))
    assert not torch.equal(a, make_filter("random", 50, 4.0, seed=4))
    with pytest.raises(ValueError, match="seed must be >= 0"):
        make_filter("random", 50, 4.0, seed=-1)
    assert a[30:].abs().max() < 1e-2 * a[:5].abs().max()  # exp(-t/4) window: decays


def test_make_filter_length_one():
    for kind in FILTER_KINDS:
        param = {"delay (shifted impulse)": 0, "moving average": 1}.get(kind, 1.0)
        assert make_filter(kind, 1, param).shape == (1,)


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
def test_make_filter_bad_values_say_what_was_expected(kind, L, param, exc, match):
    with pytest.raises(exc, match=match):
        make_filter(kind, L, param)


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
    fig = toeplitz_figure(make_filter("exponential decay", 6, 2.0))
    _assert_labelled(fig)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "$h_{0}$" in texts and "$h_{5}$" in texts and len(texts) == 6 * 7 // 2
    big = toeplitz_figure(make_filter("random", 20, 5.0))
    assert not any(ax.texts for ax in big.axes)  # too many cells to annotate
    with pytest.raises(ValueError, match=r"h must have shape \(L,\)"):
        toeplitz_figure(torch.ones(2, 3, dtype=torch.float64))


@pytest.mark.parametrize("L", [1, 7, 16])
def test_wraparound_figure(L):
    u = torch.zeros(L, dtype=torch.float64)
    u[-1] = 1.0
    fig = wraparound_figure(u, make_filter("exponential decay", L, 4.0))
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
        make_filter(kind, 12, slider.value)  # every starting value is valid
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


# ----------------------------------------------------------------------------- CPU cost model


@pytest.fixture(scope="module")
def tiny_costs():
    return measure_conv_costs(
        [16, 8, 32], channels=2, rounds=2, point_s=0.002, max_repeats=3, progress=False,
        num_threads=1,
    )


def test_measure_conv_costs_schema(tiny_costs):
    c = tiny_costs
    for key in ("device", "processor", "machine", "torch_version", "date", "num_threads",
                "dtype", "batch", "channels", "shapes", "statistic", "rounds", "results"):
        assert key in c, key
    assert c["device"] == "cpu" and c["torch_version"] == torch.__version__
    assert c["channels"] == 2 and c["batch"] == 1 and c["num_threads"] == 1 and c["rounds"] == 2
    assert set(c["results"]) == set(CONV_METHODS)
    for method in CONV_METHODS:
        r = c["results"][method]
        assert r["L"] == [8, 16, 32]  # sorted, every length measured at these tiny sizes
        assert len(r["seconds"]) == len(r["repeats"]) == 3
        assert all(s > 0 for s in r["seconds"])
        assert all(1 <= n <= 3 for n in r["repeats"])  # timed calls per round, <= max_repeats
    json.dumps(c)  # JSON-ready


def test_measure_conv_costs_restores_threads_and_stops():
    before = torch.get_num_threads()
    c = measure_conv_costs(
        [4, 8, 16], channels=1, rounds=1, point_s=1e-3, max_repeats=3,
        toeplitz_max_bytes=8 * 8 * 4, max_call_s=1e-12, num_threads=1, progress=False,
    )
    assert torch.get_num_threads() == before
    for method in CONV_METHODS:  # max_call_s ~ 0: each method stops after its first length
        assert c["results"][method]["L"] == [4]
    c = measure_conv_costs([4, 8, 16], channels=1, rounds=1, point_s=1e-3, max_repeats=3,
                           toeplitz_max_bytes=8 * 8 * 4, progress=False)
    assert c["results"]["toeplitz_matvec"]["L"] == [4, 8]  # S_h (1, 16, 16) is too big
    assert c["results"]["fftconv"]["L"] == [4, 8, 16]


def test_measure_conv_costs_plan_and_rounds_with_a_fake_clock(monkeypatch):
    """Exact costs c L^p on a fake clock: the plan, the repeats, the least of the rounds and
    the slopes are exact (up to the clock's float round-off)."""
    import time

    import hyena_lab.viz.conv as vc
    from hyena_lab.measure import repeats_for

    cost = {"fftconv": lambda L: 1e-6 * L, "direct_conv": lambda L: 1e-7 * L**2,
            "toeplitz_matvec": lambda L: 2e-7 * L**2}
    calls: list[tuple[str, int]] = []
    load = [1.0, 3.0, 1.0, 2.0]  # the estimate, then 3 rounds, two of them slowed by "load"
    now = [0.0]
    monkeypatch.setattr(time, "perf_counter", lambda: now[0])

    def fake_call(method, u, h):
        L = u.shape[-1]

        def call():  # advances the clock by its cost times the load of its round
            timed = calls.count((method, L)) - (1 if L == Ls[0] else 0) - 1  # -1: estimate
            reps = repeats_for(cost[method](L), 0.3 / 3, 1, 50)
            now[0] += cost[method](L) * (load[0] if timed < 0 else load[1 + timed // reps])
            calls.append((method, L))

        return call

    monkeypatch.setattr(vc, "_method_call", fake_call)
    Ls = [2**p for p in range(6, 14)]
    c = vc.measure_conv_costs(Ls, channels=1, max_call_s=0.5, rounds=3, point_s=0.3,
                              max_repeats=50, progress=False)
    res = c["results"]
    assert res["fftconv"]["L"] == Ls  # 8192 * 1e-6 s: never near max_call_s
    assert res["direct_conv"]["L"][-1] == 2048  # 0.42 s; 4096 would take 4x that
    assert res["toeplitz_matvec"]["L"][-1] == 1024  # 0.21 s; 2048 would take 0.84 s
    for method, r in res.items():
        # the least of the rounds (3x, 1x, 2x the cost) is the cost itself; the fake clock is
        # a float sum of < 100 s, so each difference carries ~1e-14 s of round-off: 1e-9
        # relative on costs >= 6.4e-5 s leaves a margin of ~1e4
        assert r["seconds"] == pytest.approx([cost[method](L) for L in r["L"]], rel=1e-9)
        for L, reps in zip(r["L"], r["repeats"], strict=True):
            assert reps == min(max(math.ceil(0.3 / (3 * cost[method](L))), 1), 50)
            warm = 1 if L == Ls[0] else 0  # the untimed first call
            assert calls.count((method, L)) == warm + 1 + 3 * reps  # + estimate + 3 rounds
    assert abs(loglog_slope(res["fftconv"]["L"], res["fftconv"]["seconds"]) - 1) < 1e-9
    assert abs(loglog_slope(res["direct_conv"]["L"], res["direct_conv"]["seconds"]) - 2) < 1e-9
    visits = [L for m, L in calls if m == "direct_conv"]
    runs = [L for i, L in enumerate(visits) if i == 0 or visits[i - 1] != L]  # drop repeats
    assert runs == res["direct_conv"]["L"] * 4  # the plan, then 3 interleaved rounds over all L


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"lengths": []}, ValueError, "lengths must be a non-empty sequence"),
        ({"lengths": [8, 0]}, ValueError, "each of lengths must be >= 1"),
        ({"lengths": [8], "channels": 0}, ValueError, "channels must be >= 1"),
        ({"lengths": [8], "max_call_s": -1.0}, ValueError, "max_call_s must be finite and > 0"),
        ({"lengths": [8], "rounds": 0}, ValueError, "rounds must be >= 1"),
        ({"lengths": [8], "max_repeats": 0}, ValueError, "max_repeats must be >= 1"),
        ({"lengths": 8}, ValueError, "lengths must be a non-empty sequence"),
    ],
)
def test_measure_conv_costs_bad_inputs(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        measure_conv_costs(**kwargs, progress=False)


def test_loglog_slope_recovers_power_laws():
    L = [64, 128, 256, 512, 1024]
    assert abs(loglog_slope(L, [3e-9 * x**2 for x in L]) - 2.0) < 1e-12
    assert abs(loglog_slope(L, [1e-6 * x for x in L]) - 1.0) < 1e-12
    mixed = [1e-3 if x < 256 else 1e-9 * x**2 for x in L]  # flat, then quadratic
    assert abs(loglog_slope(L, mixed, min_length=256) - 2.0) < 1e-12
    with pytest.raises(ValueError, match="at least two distinct lengths"):
        loglog_slope(L, mixed, min_length=1024)
    with pytest.raises(ValueError, match="equal size"):
        loglog_slope(L, [1.0])
    with pytest.raises(ValueError, match="> 0 on a log-log scale"):
        loglog_slope([1, 2], [0.0, 1.0])


def test_speedup_at_largest_common_length():
    costs = {"results": {"fftconv": {"L": [8, 16, 32], "seconds": [1.0, 2.0, 4.0]},
                         "direct_conv": {"L": [8, 16], "seconds": [3.0, 12.0]}}}
    assert speedup_at_largest_common_length(costs) == (16, 6.0)
    with pytest.raises(ValueError, match="not in the measurement"):
        speedup_at_largest_common_length(costs, slow="toeplitz_matvec")
    costs["results"]["direct_conv"] = {"L": [64], "seconds": [1.0]}
    with pytest.raises(ValueError, match="never timed at the same L"):
        speedup_at_largest_common_length(costs)


def test_conv_cost_figure(tiny_costs):
    fig = conv_cost_figure(tiny_costs)
    _assert_labelled(fig)
    ax_w, ax_t = _plot_axes(fig)
    for ax in (ax_w, ax_t):
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    legend = [t.get_text() for t in ax_t.get_legend().get_texts()]
    assert any("slope 1" in t for t in legend) and any("slope 2" in t for t in legend)
    assert any(t.startswith("recorded: ") for t in legend)
    assert not any(t.startswith("this run") for t in legend)
    methods = [t.get_text() for t in fig.legends[0].get_texts()]  # one colour per method
    assert len(methods) == len(CONV_METHODS)
    assert len(ax_w.get_lines()) == len(CONV_METHODS)  # L = 8..32 < 125: no crossover line


def test_conv_cost_figure_draws_the_live_run_dashed_beside_the_record(tiny_costs):
    live = json.loads(json.dumps(tiny_costs))
    live["processor"], live["date"] = "Intel(R) Xeon(R) CPU @ 2.20GHz", "2030-01-02"
    recorded = json.loads(json.dumps(tiny_costs))
    recorded["results"]["fftconv"] = {"L": [64, 128, 256], "seconds": [1e-4, 2e-4, 4e-4]}
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


# ----------------------------------------------------------------------------- counted work


def test_roofline_counts_of_the_definition_and_the_toeplitz_matvec():
    c = direct_conv_cost(2, 3, 10, 4)
    assert c.flops == 2 * 3 * 10 * 11  # a multiply and an add per pair s <= t
    assert c.bytes == (2 * 2 * 3 * 10 + 3 * 10) * 4  # read u and k, write y
    t = toeplitz_matvec_cost(2, 3, 10, 4)
    assert t.flops == 2 * 2 * 3 * 100  # dense: the zeros are multiplied too
    assert t.bytes == (3 * 100 + 2 * 2 * 3 * 10) * 4  # S_h is read: O(L^2) bytes
    with pytest.raises(ValueError, match="L must be >= 1"):
        direct_conv_cost(1, 1, 0)


@pytest.mark.parametrize("channels", [1, 7])
def test_counted_conv_work_matches_the_formulas(channels):
    Ls = [1, 2, 5, 64, 1000]
    work = counted_conv_work(Ls, channels)
    assert set(work) == set(CONV_METHODS)
    for i, L in enumerate(Ls):
        fft = 15 * L * math.log2(2 * L) + 6 * (L + 1)  # 3 real FFTs of 2L and L + 1 products
        assert work["fftconv"]["flops"][i] == pytest.approx(channels * fft, rel=1e-12)
        assert work["direct_conv"]["flops"][i] == channels * L * (L + 1)
        assert work["toeplitz_matvec"]["flops"][i] == 2 * channels * L * L
        assert work["toeplitz_matvec"]["bytes"][i] > work["direct_conv"]["bytes"][i] or L == 1
    assert work["fftconv"]["L"] == Ls
    # slopes of the counts over 2^10 .. 2^14: 2 for both O(L^2) counts, ~1.1 for L log L
    big = counted_conv_work([2**p for p in range(10, 15)])
    Lb = big["fftconv"]["L"]
    assert abs(loglog_slope(Lb, big["direct_conv"]["flops"]) - 2) < 1e-3
    assert 1.08 < loglog_slope(Lb, big["fftconv"]["flops"]) < 1.14


def test_counted_crossover():
    L = counted_crossover()
    assert L == 125
    for n in (L - 1, L, L + 1, 2**14):  # fewer FLOPs from L on, not before
        fewer = fftconv_cost(1, 1, n).flops < direct_conv_cost(1, 1, n).flops
        assert fewer == (n >= L), n
    assert counted_crossover(batch=4) < L  # the filter's FFT is shared by the batch
    assert counted_crossover(max_length=100) is None
    assert counted_crossover("toeplitz_matvec", "direct_conv", max_length=64) is None
    with pytest.raises(ValueError, match="method must be one of"):
        counted_crossover("fft")


# ------------------------------------------------------------------- reading measurements


def test_fitted_slopes_read_the_long_end_of_each_curve():
    Ls = [2**p for p in range(6, 15)]
    flat_then = {  # a fixed cost at small L, then the power law: only the long end counts
        "fftconv": {"L": Ls, "seconds": [max(1e-5, 1e-7 * L) for L in Ls]},
        "direct_conv": {"L": Ls[:5], "seconds": [max(1e-4, 1e-8 * L**2) for L in Ls[:5]]},
        "toeplitz_matvec": {"L": [64], "seconds": [1.0]},  # one point: no slope
    }
    slopes = fitted_slopes({"results": flat_then})
    assert set(slopes) == {"fftconv", "direct_conv"}
    assert abs(slopes["fftconv"] - 1) < 1e-9  # L = 2^10 .. 2^14: 1e-7 L > 1e-5, on the line
    assert abs(slopes["direct_conv"] - 2) < 1e-9  # L = 256 .. 1024: 1e-8 L^2 > 1e-4
    everything = loglog_slope(Ls, flat_then["fftconv"]["seconds"])
    assert everything < 0.97  # fitting the flat start too would bend the slope down


def test_time_interleaved_alternates_and_keeps_the_least(monkeypatch):
    import time

    import hyena_lab.viz.conv as vc

    calls: list[str] = []
    now = [0.0]
    monkeypatch.setattr(time, "perf_counter", lambda: now[0])
    steps = {"a": iter([0.0, 3, 3, 1, 1, 2, 2]), "b": iter([0.0, 5, 5, 6, 6, 4, 4])}

    def fn(name):
        def call():  # the untimed first call, then 3 rounds of 2 calls, each a known time
            calls.append(name)
            now[0] += next(steps[name])

        return call

    best = vc.time_interleaved({"a": fn("a"), "b": fn("b")}, rounds=3, repeats=2)
    assert best == {"a": 1.0, "b": 4.0}  # the least of the rounds' medians
    assert calls == ["a", "b"] + ["a", "a", "b", "b"] * 3  # one untimed call each, then in turn
    with pytest.raises(ValueError, match="at least one"):
        vc.time_interleaved({})
    with pytest.raises(ValueError, match="rounds must be >= 1"):
        vc.time_interleaved({"a": fn("a")}, rounds=0)


def test_time_interleaved_on_the_clock():
    best = time_interleaved({"sum": lambda: sum(range(100))}, rounds=2)
    assert set(best) == {"sum"} and 0 < best["sum"] < 60  # a time, not asserted on speed


def test_describe_machine():
    costs = {"processor": "Intel(R) Xeon(R) CPU @ 2.20GHz", "machine": "x86_64",
             "torch_version": "2.13.0+cpu", "num_threads": 1, "date": "2030-01-02"}
    assert describe_machine(costs) == "Intel Xeon (x86_64), torch 2.13.0+cpu, 1 thread, 2030-01-02"
    costs.update(processor="AMD EPYC 7B13 64-Core Processor", num_threads=2)
    assert describe_machine(costs).startswith("AMD EPYC 7B13 64-Core (x86_64), torch")
    assert "2 threads" in describe_machine(costs)
    assert describe_machine({}).startswith("unknown CPU (?)")
