"""Chapter 1's experiment ``hyena-lab conv-costs`` (hyena_lab.experiments.conv_costs): the
timing plan on a fake clock, the record's keys against the committed record, the command, what
is read off a record (slopes, speedup), and the counted work it is compared with (roofline)."""

import argparse
import json
import math

import pytest
import torch

from hyena_lab.experiments import add_command
from hyena_lab.experiments import conv_costs as cc
from hyena_lab.experiments.conv_costs import (
    CHAPTER_LENGTHS,
    CONV_METHODS,
    EXPERIMENT,
    ConvCostsConfig,
    fitted_slopes,
    loglog_slope,
    measure_conv_costs,
    speedup_at_largest_common_length,
    time_interleaved,
)
from hyena_lab.roofline import (
    counted_conv_work,
    counted_crossover,
    direct_conv_cost,
    fftconv_cost,
    toeplitz_matvec_cost,
)
from hyena_lab.viz import load_data

RECORD = "01_long_convolutions-cpu_timing"
#: Options small enough to time in a fraction of a second.
TINY = {"lengths": (16, 8, 32), "channels": 2, "rounds": 2, "point_s": 0.002, "max_repeats": 3,
        "progress": False}  # fmt: skip


@pytest.fixture(scope="module")
def tiny_record():
    return cc.run(ConvCostsConfig(**TINY))


def test_defaults_are_the_chapters_record_settings():
    c, record = ConvCostsConfig(), load_data(RECORD)
    assert c.lengths == CHAPTER_LENGTHS == tuple(2**p for p in range(6, 15))
    assert (c.channels, c.batch, c.num_threads, c.dtype) == (
        record["channels"], record["batch"], record["num_threads"], record["dtype"])
    assert (c.max_call_s, c.toeplitz_max_bytes, c.rounds) == (
        record["max_call_s"], record["toeplitz_max_bytes"], record["rounds"])
    assert record["results"]["fftconv"]["L"] == list(c.lengths)


def test_the_record_has_the_committed_records_keys(tiny_record):
    c = tiny_record
    # the chapter, README and tests read these keys; the committed record also names its schema
    assert set(c) | {"schema"} == set(load_data(RECORD))
    assert c["device"] == "cpu" and c["torch_version"] == torch.__version__
    assert c["run"]["num_threads"] == 1 and c["run"]["cpu"] == c["processor"]
    assert c["channels"] == 2 and c["batch"] == 1 and c["num_threads"] == 1 and c["rounds"] == 2
    assert c["dtype"] == "float32" and c["shapes"]["u"] == "(batch, d, L) = (1, 2, L)"
    assert set(c["results"]) == set(CONV_METHODS)
    for method in CONV_METHODS:
        r = c["results"][method]
        assert r["L"] == [8, 16, 32]  # sorted, every length measured at these tiny sizes
        assert len(r["seconds"]) == len(r["repeats"]) == 3
        assert all(s > 0 for s in r["seconds"])
        assert all(1 <= n <= 3 for n in r["repeats"])  # timed calls per round, <= max_repeats
    assert c["fitted_slopes"] == fitted_slopes(c)
    L, ratio = speedup_at_largest_common_length(c)
    assert c["fftconv_speedup_over_direct_conv"] == {"L": L, "ratio": ratio} and L == 32
    json.dumps(c, allow_nan=False)  # JSON-ready


def test_float64_and_the_keyword_form():
    c = measure_conv_costs([4, 8], channels=1, dtype="float64", rounds=1, point_s=1e-3,
                           max_repeats=2, progress=False)  # fmt: skip
    assert c["dtype"] == "float64" and c["results"]["fftconv"]["L"] == [4, 8]
    with pytest.raises(TypeError, match="unexpected keyword"):
        measure_conv_costs([4], threads=2)  # only the config's fields are options


def test_threads_are_restored_and_methods_stop():
    before = torch.get_num_threads()
    c = measure_conv_costs(
        [4, 8, 16], channels=1, rounds=1, point_s=1e-3, max_repeats=3,
        toeplitz_max_bytes=8 * 8 * 4, max_call_s=1e-12, num_threads=1, progress=False,
    )  # fmt: skip
    assert torch.get_num_threads() == before
    for method in CONV_METHODS:  # max_call_s ~ 0: each method stops after its first length
        assert c["results"][method]["L"] == [4]
    c = measure_conv_costs([4, 8, 16], channels=1, rounds=1, point_s=1e-3, max_repeats=3,
                           toeplitz_max_bytes=8 * 8 * 4, progress=False)  # fmt: skip
    assert c["results"]["toeplitz_matvec"]["L"] == [4, 8]  # S_h (1, 16, 16) is too big
    assert c["results"]["fftconv"]["L"] == [4, 8, 16]


def test_plan_and_rounds_with_a_fake_clock(monkeypatch):
    """Exact costs c L^p on a fake clock: the plan, the repeats, the least of the rounds and
    the slopes are exact (up to the clock's float round-off)."""
    import time

    from hyena_lab.measure import repeats_for

    cost = {"fftconv": lambda L: 1e-6 * L, "direct_conv": lambda L: 1e-7 * L**2,
            "toeplitz_matvec": lambda L: 2e-7 * L**2}  # fmt: skip
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

    monkeypatch.setattr(cc, "_method_call", fake_call)
    Ls = [2**p for p in range(6, 14)]
    c = measure_conv_costs(Ls, channels=1, max_call_s=0.5, rounds=3, point_s=0.3,
                           max_repeats=50, progress=False)  # fmt: skip
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
    # slopes over the long end (fitted_slopes): exactly the exponents of the fake costs
    assert c["fitted_slopes"] == pytest.approx({"fftconv": 1, "direct_conv": 2,
                                                "toeplitz_matvec": 2}, abs=1e-9)  # fmt: skip
    # at L = 2048: 1e-7 L^2 / 1e-6 L = 0.1 L
    assert c["fftconv_speedup_over_direct_conv"] == pytest.approx({"L": 2048, "ratio": 204.8})
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
        ({"lengths": [8], "point_s": 0.0}, ValueError, "point_s must be finite and > 0"),
        ({"lengths": [8], "rounds": 0}, ValueError, "rounds must be >= 1"),
        ({"lengths": [8], "max_repeats": 0}, ValueError, "max_repeats must be >= 1"),
        ({"lengths": [8], "num_threads": 0}, ValueError, "num_threads must be >= 1"),
        ({"lengths": [8], "seed": -1}, ValueError, "seed must be >= 0"),
        ({"lengths": [8], "dtype": "float16"}, ValueError, "dtype must be 'float32' or"),
        ({"lengths": 8}, ValueError, "lengths must be a non-empty sequence"),
    ],
)
def test_bad_options_are_refused_before_any_timing(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        measure_conv_costs(**kwargs, progress=False)
    with pytest.raises(exc, match=match):
        ConvCostsConfig(**kwargs)


# ------------------------------------------------------------------------------ the command


def _parser():
    parser = argparse.ArgumentParser(prog="hyena-lab")
    add_command(parser.add_subparsers(dest="command"), EXPERIMENT)
    return parser


def test_the_command_runs_the_experiment_and_writes_the_record(tmp_path):
    out = tmp_path / "costs.json"
    args = _parser().parse_args([
        "conv-costs", "--lengths", "8", "16", "--channels", "2", "--rounds", "1",
        "--point-s", "0.002", "--max-repeats", "2", "--no-progress", "--out", str(out),
    ])  # fmt: skip
    summary = args.func(args)
    record = json.loads(out.read_text())
    assert record["schema"] == {"name": "conv-costs", "version": 1}
    assert set(record) == set(load_data(RECORD))
    assert record["channels"] == 2 and record["results"]["fftconv"]["L"] == [8, 16]
    assert summary["out"] == str(out) and summary["longest_L"]["direct_conv"] == 16
    assert summary["fitted_slopes"] == record["fitted_slopes"]
    json.dumps(summary)  # the last JSON line


def test_the_commands_help_and_usage_errors(capsys):
    with pytest.raises(SystemExit):
        _parser().parse_args(["conv-costs", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--max-call-s" in text and "--toeplitz-max-bytes" in text and "--out" in text
    assert "(default: 512)" in text and "(default: (64, 128," in text
    with pytest.raises(SystemExit) as caught:
        _parser().parse_args(["conv-costs", "--dtype", "int8"])
    assert caught.value.code == 2
    with pytest.raises(SystemExit):
        _parser().parse_args(["conv-costs", "--max-call-s", "0"])
    assert "--max-call-s" in capsys.readouterr().err


# ------------------------------------------------------------------- reading a measurement


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
                         "direct_conv": {"L": [8, 16], "seconds": [3.0, 12.0]}}}  # fmt: skip
    assert speedup_at_largest_common_length(costs) == (16, 6.0)
    with pytest.raises(ValueError, match="not in the measurement"):
        speedup_at_largest_common_length(costs, slow="toeplitz_matvec")
    costs["results"]["direct_conv"] = {"L": [64], "seconds": [1.0]}
    with pytest.raises(ValueError, match="never timed at the same L"):
        speedup_at_largest_common_length(costs)


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


def test_the_committed_records_slopes_are_those_it_stores():
    record = load_data(RECORD)  # stored by the chapter with the same function
    # the same least-squares fit of <= 5 points in float64 (round-off ~1e-15 relative, seen
    # 4e-16 between numpy versions): 1e-12 leaves a 1000x margin
    assert fitted_slopes(record) == pytest.approx(record["fitted_slopes"], rel=1e-12)


def test_time_interleaved_alternates_and_keeps_the_least(monkeypatch):
    import time

    calls: list[str] = []
    now = [0.0]
    monkeypatch.setattr(time, "perf_counter", lambda: now[0])
    steps = {"a": iter([0.0, 3, 3, 1, 1, 2, 2]), "b": iter([0.0, 5, 5, 6, 6, 4, 4])}

    def fn(name):
        def call():  # the untimed first call, then 3 rounds of 2 calls, each a known time
            calls.append(name)
            now[0] += next(steps[name])

        return call

    best = time_interleaved({"a": fn("a"), "b": fn("b")}, rounds=3, repeats=2)
    assert best == {"a": 1.0, "b": 4.0}  # the least of the rounds' medians
    assert calls == ["a", "b"] + ["a", "a", "b", "b"] * 3  # one untimed call each, then in turn
    with pytest.raises(ValueError, match="at least one"):
        time_interleaved({})
    with pytest.raises(ValueError, match="rounds must be >= 1"):
        time_interleaved({"a": fn("a")}, rounds=0)


def test_time_interleaved_on_the_clock():
    best = time_interleaved({"sum": lambda: sum(range(100))}, rounds=2)
    assert set(best) == {"sum"} and 0 < best["sum"] < 60  # a time, not asserted on speed


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
    with pytest.raises(ValueError, match="channels must be >= 1"):
        counted_conv_work(Ls, 0)


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
