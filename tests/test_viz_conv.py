"""Chapter 1 helpers (hyena_lab.viz.conv): filters, impulse-probed matrices, figures, widget
controls and the CPU cost measurement, including their errors for bad (widget) values."""

import json

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.figure import Figure

from hyena_lab import circular_fftconv, direct_conv, fftconv, toeplitz
from hyena_lab.viz.conv import (
    CONV_METHODS,
    FILTER_KINDS,
    PARAM_MEANING,
    conv_cost_figure,
    conv_explorer_controls,
    conv_explorer_figure,
    loglog_slope,
    make_filter,
    matrix_of,
    measure_conv_costs,
    probe_input,
    speedup_at_largest_common_length,
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
    assert rel_err(fftconv(u, h.expand(3, L)), expected) < 1e-12


@given(st.integers(1, 60), st.data())
def test_moving_average_is_the_mean_of_the_last_width_inputs(L, data):
    width = data.draw(st.integers(1, L))
    h = make_filter("moving average", L, float(width))  # a whole float is accepted
    assert abs(float(h.sum()) - 1.0) < 1e-12
    u = torch.randn(1, L, generator=torch.Generator().manual_seed(width), dtype=torch.float64)
    y = fftconv(u, h[None])[0]
    ref = torch.stack([u[0, max(0, t - width + 1) : t + 1].sum() / width for t in range(L)])
    assert rel_err(y, ref) < 1e-12


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
    assert rel_err(S, toeplitz(h)) < 1e-12
    C = matrix_of(lambda u: circular_fftconv(u, h[None]), L)
    for s in range(L):  # column s of the circulant matrix is h rotated by s
        assert rel_err(C[:, s], torch.roll(h, s)) < 1e-12


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


def test_conv_explorer_controls_keep_the_parameter_valid():
    controls = conv_explorer_controls(l_max=20)
    kind, length, param = controls["kind"], controls["L"], controls["param"]
    assert set(controls) == {"kind", "L", "param", "seed", "u"}
    assert controls["u"].value is None and controls["seed"].value == 0
    conv_explorer_figure(kind.value, length.value, param.value)  # defaults are valid
    kind.value = "moving average"
    param.value = 15
    length.value = 6
    assert (param.min, param.max, param.value) == (1, 6, 6)
    assert param.description == "width"
    kind.value = "delay (shifted impulse)"
    assert (param.min, param.max) == (0, 5) and param.value <= 5
    length.value = 1
    assert param.value == 0
    for k in FILTER_KINDS:  # every combination the sliders allow is accepted
        kind.value = k
        for L in (1, 2, 7, 20):
            length.value = L
            for p in (param.min, param.max):
                param.value = p
                make_filter(kind.value, length.value, param.value)
    with pytest.raises(ValueError, match="l_max must be >= 2"):
        conv_explorer_controls(l_max=1)


def test_interact_drives_the_explorer_headless():
    import functools

    from ipywidgets import interact

    seen: list[dict] = []
    errors: list[Exception] = []

    @functools.wraps(conv_explorer_figure)
    def recorder(*args, **kwargs):  # interact swallows exceptions: record them
        seen.append(kwargs)
        try:
            return conv_explorer_figure(*args, **kwargs)
        except Exception as err:
            errors.append(err)
            raise

    controls = conv_explorer_controls(l_max=16)
    shown = interact(recorder, **controls)
    assert seen[-1] == {"kind": "exponential decay", "L": 16, "param": 4.0, "seed": 0, "u": None}
    assert isinstance(shown.widget.result, Figure)
    controls["param"].value = 4.5  # not a whole number of steps ...
    controls["kind"].value = "moving average"  # ... so it is rounded before the figure sees it
    controls["L"].value = 3  # and clamped to the widths allowed for L = 3
    assert seen[-1]["L"] == 3 and seen[-1]["param"] == 3 and seen[-1]["kind"] == "moving average"
    controls["kind"].value = "delay (shifted impulse)"
    controls["L"].value = 1
    controls["kind"].value = "random"
    controls["seed"].value = 7
    assert seen[-1]["seed"] == 7 and seen[-1]["kind"] == "random"
    assert isinstance(shown.widget.result, Figure)
    assert not errors, errors


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
    """Exact costs c L^p instead of a clock: the plan, the repeats, the least of the rounds and
    the slopes are exact."""
    import hyena_lab.viz.conv as vc

    cost = {"fftconv": lambda L: 1e-6 * L, "direct_conv": lambda L: 1e-7 * L**2,
            "toeplitz_matvec": lambda L: 2e-7 * L**2}
    calls: list[tuple[str, int]] = []

    def fake_call(method, u, h):
        L = u.shape[-1]

        def call():
            calls.append((method, L))

        call.seconds = cost[method](L)
        call.key = (method, L)
        return call

    timings: dict[tuple[str, int], int] = {}
    load = [1.0, 3.0, 1.0, 2.0]  # the estimate, then 3 rounds, two of them slowed by "load"

    def fake_time_fn(fn, *, repeats, warmup):
        for _ in range(warmup + repeats):
            fn()
        k = timings[fn.key] = timings.get(fn.key, -1) + 1
        return fn.seconds * load[k]

    monkeypatch.setattr(vc, "_method_call", fake_call)
    monkeypatch.setattr(vc, "time_fn", fake_time_fn)
    Ls = [2**p for p in range(6, 14)]
    c = vc.measure_conv_costs(Ls, channels=1, max_call_s=0.5, rounds=3, point_s=0.3,
                              max_repeats=50, progress=False)
    res = c["results"]
    assert res["fftconv"]["L"] == Ls  # 8192 * 1e-6 s: never near max_call_s
    assert res["direct_conv"]["L"][-1] == 2048  # 0.42 s; 4096 would take 4x that
    assert res["toeplitz_matvec"]["L"][-1] == 1024  # 0.21 s; 2048 would take 0.84 s
    for method, r in res.items():
        # the least of the rounds (3x, 1x, 2x the cost) is the cost itself
        assert r["seconds"] == pytest.approx([cost[method](L) for L in r["L"]], rel=1e-12)
        for L, reps in zip(r["L"], r["repeats"], strict=True):
            assert reps == int(min(max(0.3 / (3 * cost[method](L)), 1), 50))
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
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("slope 1" in t for t in legend) and any("slope 2" in t for t in legend)
    assert len([t for t in legend if "slope" not in t]) == len(CONV_METHODS)
