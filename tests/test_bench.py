"""Benchmark utilities (CPU): timing, roofline arithmetic, crossover, skip rules, results schema."""

import copy
import json
import math
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from hyena_lab import bench, paper
from hyena_lab.checks import F64_SAME_ALGEBRA
from hyena_lab.roofline import (
    Ceilings,
    Cost,
    attention_cost,
    fft_flops,
    fftconv_cost,
    fftconv_unfused_bytes,
    hyena_layer_cost,
    layer_time_model,
    mha_layer_cost,
    projection_cost,
)

from .helpers import rel_err

RECORDED = Path(__file__).resolve().parents[1] / "figures" / "data" / "05_gpu_kernels-bench.json"
CEIL = Ceilings(bandwidth=3e12, matmul_flops=8e14, fp32_flops=5e13, device="test")


def tiny_config(**overrides) -> bench.BenchConfig:
    """A CPU sweep that runs in about a second."""
    cfg = dict(
        device="cpu",
        dtype="fp32",
        d_model=8,
        heads=2,
        tokens=64,
        lengths=(16, 32),
        warmup=0,
        min_repeats=1,
        max_repeats=2,
        target_ms=1.0,
        profile_length=16,
        threads=1,
    )
    cfg.update(overrides)
    return bench.BenchConfig(**cfg)


@pytest.fixture(scope="module")
def tiny_results() -> dict:
    return bench.run_benchmarks(tiny_config(), progress=False, ceilings=CEIL)


# ---------------------------------------------------------------------------------------------
# timing


def test_time_call_rotates_inputs_and_returns_sane_numbers():
    calls = []
    inputs = [(torch.full((3,), float(i + 1)),) for i in range(3)]

    def call(inp):
        calls.append(int(inp[0][0]))
        return inp[0].sum()

    t = bench.time_call(call, inputs, warmup=2, min_repeats=4, max_repeats=6, target_ms=1e-3)
    assert t.repeats == 4  # the target is tiny: the minimum wins
    assert math.isfinite(t.median) and t.median >= 0  # no bound that depends on the CPU
    assert len(calls) == 2 + 1 + 4  # warm-up, estimate, timed
    assert set(calls) == {1, 2, 3}  # every input set was used
    assert calls[:6] == [1, 2, 3, 1, 2, 3]  # in rotation


def test_time_call_adapts_repeats_to_the_target():
    t = bench.time_call(lambda inp: None, [()], warmup=0, min_repeats=2, max_repeats=7)
    assert t.repeats == 7  # a no-op is fast: the maximum wins


def test_time_call_measures_a_known_duration(monkeypatch):
    """A fake clock that each call advances by exactly 20 ms: the median must be 20 ms, on any
    machine and under any load (a real sleep only bounds the time from below)."""
    import time

    now = [0.0]
    monkeypatch.setattr(time, "perf_counter", lambda: now[0])

    def call(inp):
        now[0] += 0.020

    t = bench.time_call(call, [()], warmup=0, min_repeats=3, max_repeats=3)
    # differences of a float clock near 0.1 s: round-off ~1e-17 s, 1e-9 relative is far above
    assert t.median == pytest.approx(0.020, rel=1e-9) and t.repeats == 3
    assert t.percentile(20) == pytest.approx(t.percentile(80), rel=1e-9)  # all took 20 ms


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"inputs": []}, "at least one input set"),
        ({"min_repeats": 5, "max_repeats": 2}, r"max_repeats \(2\) must be >= min_repeats"),
        ({"target_ms": 0}, "target_ms must be finite and > 0"),
    ],
)
def test_time_call_bad_arguments(kwargs, match):
    args = {"inputs": [()], **kwargs}
    with pytest.raises(ValueError, match=match):
        bench.time_call(lambda inp: None, **args)


def test_peak_memory_bytes_is_a_deprecated_alias():
    with pytest.warns(DeprecationWarning, match="measure.peak_memory"):
        assert bench.peak_memory_bytes(lambda inp: None, (), "cpu") is None


# ---------------------------------------------------------------------------------------------
# roofline arithmetic


def test_fft_flops():
    assert fft_flops(1) == 0 == fft_flops(1, real=False)
    assert fft_flops(8) == 2.5 * 8 * 3  # a real FFT: half a complex one
    assert fft_flops(8, real=False) == 5 * 8 * 3 == 2 * fft_flops(8)
    with pytest.raises(ValueError, match="n must be >= 1"):
        fft_flops(0)


def test_fftconv_cost_by_hand():
    b, d, L, e = 2, 3, 4, 2
    c = fftconv_cost(b, d, L, e)
    per_row = 2 * (2.5 * 8 * 3) + 6 * 5  # two FFTs of length 2L=8, L+1 complex products
    assert c.flops == b * d * per_row + d * 2.5 * 8 * 3
    assert c.bytes == (2 * b * d * L + d * L) * e  # read u, k; write y
    assert c.matmul_flops == 0
    cb = fftconv_cost(b, d, L, e, backward=True)
    assert cb.flops == pytest.approx(2.5 * c.flops)
    assert cb.bytes == c.bytes + (3 * b * d * L + 2 * d * L) * e


def test_attention_cost_by_hand():
    b, h, L, dh = 2, 3, 5, 4
    c = attention_cost(b, h, L, dh, 2)
    assert c.flops == 4 * b * h * dh * (L * (L + 1) / 2)
    assert c.matmul_flops == c.flops
    assert c.bytes == 4 * b * h * L * dh * 2
    full = attention_cost(b, h, L, dh, 2, causal=False)
    assert full.flops == 4 * b * h * dh * L * L
    assert attention_cost(b, h, L, dh, 2, backward=True).flops == pytest.approx(3.5 * c.flops)


def test_projection_and_layer_costs_add_up():
    p = projection_cost(10, 4, 6, 2)
    assert p.flops == 2 * 10 * 4 * 6 and p.bytes == (10 * 10 + 24) * 2
    mha = mha_layer_cost(2, 16, 8, 2, 2)
    expected = (
        projection_cost(32, 8, 24, 2) + projection_cost(32, 8, 8, 2) + attention_cost(2, 2, 16, 4)
    )
    assert mha == expected
    hy = hyena_layer_cost(2, 16, 8, order=2)
    assert hy.flops > 2 * fftconv_cost(2, 8, 16).flops  # at least its two long convolutions
    assert hyena_layer_cost(2, 16, 8, order=2, backward=True).flops > 2 * hy.flops


def test_cost_and_ceilings_arithmetic():
    c = Cost(flops=6e9, bytes=3e9, matmul_flops=4e9)
    assert c.intensity == 2.0
    assert (c + c).flops == 12e9 and c.scaled(0.5).bytes == 1.5e9
    assert CEIL.ridge("matmul") == pytest.approx(8e14 / 3e12)
    assert CEIL.ridge("fp32") == pytest.approx(5e13 / 3e12)
    assert CEIL.memory_floor(c) == pytest.approx(1e-3)
    assert CEIL.compute_floor(c) == pytest.approx(4e9 / 8e14 + 2e9 / 5e13)
    assert CEIL.floor(c) == pytest.approx(max(1e-3, 4e9 / 8e14 + 2e9 / 5e13))
    assert Ceilings.from_dict(CEIL.to_dict()) == CEIL
    with pytest.raises(ValueError, match="unit must be 'matmul' or 'fp32'"):
        CEIL.ridge("tf32")
    with pytest.raises(ValueError, match="bandwidth must be finite and > 0"):
        Ceilings(bandwidth=0.0, matmul_flops=1.0, fp32_flops=1.0)


def test_fftconv_is_memory_bound_on_tensor_core_roofline():
    """The claim of the chapter: the FFT convolution's intensity is far below the ridge."""
    for L in (1024, 65536, 2**20):
        c = fftconv_cost(max(1, 2**18 // L), 768, L, 2)
        assert 10 < c.intensity < CEIL.ridge("matmul") / 4
        unfused = fftconv_unfused_bytes(max(1, 2**18 // L), 768, L, 2)
        assert 20 < unfused / c.bytes < 60  # tens of passes over the data instead of ~two


def test_layer_time_model_crosses_over():
    L = [2**p for p in range(10, 21)]
    model = [layer_time_model(n, 2**18, 768, 12, CEIL) for n in L]
    ratio = [a / h for a, h in model]
    assert ratio[0] < ratio[-1]  # attention's share grows with L at fixed tokens
    attn = [a for a, _ in model]
    assert attn[6] / attn[5] == pytest.approx(2, rel=0.2)  # ~linear in L at fixed tokens
    with pytest.raises(ValueError, match="fft_bytes_factor must be finite and > 0"):
        layer_time_model(1024, 2**18, 768, 12, CEIL, fft_bytes_factor=0)


# ---------------------------------------------------------------------------------------------
# crossover and summary


@given(st.floats(500, 5e5), st.floats(0.5, 3))
def test_crossover_is_exact_for_power_laws(x, slope):
    """t_attn = (L / x)^slope, t_hyena = 1: the curves cross exactly at L = x."""
    L = [2**p for p in range(8, 21)]
    assert bench.crossover_length(L, [(n / x) ** slope for n in L], [1.0] * len(L)) == (
        pytest.approx(x, rel=1e-9)
    )


def test_crossover_edge_cases():
    L = [1, 2, 4, 8]
    assert bench.crossover_length(L, [1, 1, 1, 1], [2, 2, 2, 2]) is None  # never crosses
    assert bench.crossover_length(L, [3, 3, 3, 3], [2, 2, 2, 2]) == 1.0  # faster everywhere
    # noisy: Hyena ahead at L=2, behind at 4, ahead from 8 on: the crossover is 4..8
    x = bench.crossover_length(L, [1, 3, 1, 4], [2, 2, 2, 2])
    assert 4 < x < 8
    assert bench.crossover_length([], [], []) is None
    with pytest.raises(ValueError, match="same length"):
        bench.crossover_length([1, 2], [1], [1, 2])


def _synthetic_results() -> dict:
    pts = []
    for L in (4096, 8192, 65536):
        for b, t in (("sdpa", L / 4096), ("fftconv", 1.5), ("mha", L / 2048), ("hyena", 3.0)):
            p = bench.cases.new_point(tiny_config(), b, L, "fwd", "flash" if b == "sdpa" else None)
            p.update(status="ok", time_ms=t, repeats=5)
            pts.append(p)
    return {"ceilings": CEIL.to_dict(), "points": pts}


def test_summarize_speedups_and_crossovers():
    s = bench.summarize(_synthetic_results())
    assert s["speedup"]["kernel/fwd"]["8192"] == pytest.approx(2 / 1.5)
    assert s["speedup"]["layer/fwd"]["65536"] == pytest.approx(32 / 3)
    assert s["speedup"]["kernel/fwd"]["262144"] is None  # not measured
    assert s["crossover_L"]["kernel/fwd"] == pytest.approx(4096 * 1.5)
    assert s["crossover_L"]["layer/fwd"] == pytest.approx(2048 * 3.0)
    assert s["best_sdpa_backend"]["fwd"]["8192"] == "flash"
    gap = s["fftconv_roofline"]["fwd"]["8192"]
    assert gap["gap"] == pytest.approx(gap["measured_ms"] / gap["hbm_floor_ms"])


# ---------------------------------------------------------------------------------------------
# attention baselines


def test_the_benchmarked_attention_is_the_trained_one():
    """One attention class: the bench's layer is chapter 04's mixer, with the SDPA kernel pinned."""
    from hyena_lab import mixers

    assert bench.CausalSelfAttention is mixers.CausalSelfAttention
    assert bench.naive_causal_attention is mixers.naive_causal_attention
    cfg = tiny_config()
    layer = bench.build_attention(cfg, 32, "math")
    assert type(layer) is mixers.CausalSelfAttention and layer.backend == "math"
    assert (layer.num_heads, layer.l_max, layer.qkv.weight.dtype) == (2, 32, torch.float32)
    assert bench.build_attention(cfg, 32).backend == "sdpa"  # None: PyTorch's choice


def test_sdpa_causal_is_a_deprecated_alias():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(1, 2, 5, 4, generator=g, dtype=torch.float64) for _ in range(3))
    with pytest.warns(DeprecationWarning, match="mixers.causal_attention"):
        out = bench.sdpa_causal(q, k, v, "math")
    # the same algebra in another order: float64 round-off, F64_SAME_ALGEBRA's margin
    assert rel_err(out, bench.naive_causal_attention(q, k, v)) < F64_SAME_ALGEBRA


# ---------------------------------------------------------------------------------------------
# configuration, skip rules, failure recording


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"dtype": "int8"}, "dtype must be one of"),
        ({"heads": 3}, r"d_model \(8\) must be divisible by heads \(3\)"),
        ({"lengths": ()}, "at least one sequence length"),
        ({"lengths": (16, 0)}, "each length must be >= 1"),
        ({"benches": ("fftconv", "rnn")}, "benches must be a non-empty subset"),
        ({"passes": ("bwd",)}, "passes must be a non-empty subset"),
        ({"max_repeats": 0}, "max_repeats must be >= 1"),
        ({"target_ms": -1.0}, "target_ms must be finite and > 0"),
    ],
)
def test_config_validation(overrides, match):
    with pytest.raises(ValueError, match=match):
        tiny_config(**overrides).validate()


def test_batch_keeps_tokens_fixed_until_one():
    cfg = tiny_config(tokens=1024)
    assert [cfg.batch_for(L) for L in (256, 1024, 4096)] == [4, 1, 1]


def test_skip_rules():
    cfg = tiny_config(max_call_ms=100.0, time_budget_s=10.0)
    key = ("sdpa", "fwd", "flash")
    assert bench.sweep.skip_reason(cfg, key, 32, {}, elapsed=11.0).startswith("time budget")
    assert bench.sweep.skip_reason(cfg, key, 32, {}, elapsed=0.0) is None
    last = bench.cases.new_point(cfg, "sdpa", 16, "fwd", "flash")
    last.update(status="ok", time_ms=60.0)
    # at fixed tokens causal attention work grows by 2 * 33/34 from L=16 to 32: 116 ms
    reason = bench.sweep.skip_reason(cfg, key, 32, {key: last}, elapsed=0.0)
    assert reason is not None and "predicted 116 ms" in reason
    last["time_ms"] = 40.0
    assert bench.sweep.skip_reason(cfg, key, 32, {key: last}, elapsed=0.0) is None
    oom = dict(last, status="oom")
    nkey = ("naive", "fwd", None)
    assert "out of memory at L=16" in bench.sweep.skip_reason(cfg, nkey, 32, {nkey: oom}, 0.0)


def test_failures_are_recorded_not_raised(monkeypatch):
    def boom(*args):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 80 GiB")

    monkeypatch.setattr(bench.cases, "workload", boom)
    p = bench.run_case(tiny_config(), "naive", 16, "fwd", None)
    assert p["status"] == "oom" and p["time_ms"] is None and "80 GiB" in p["note"]

    def no_kernel(*args):
        raise RuntimeError("No available kernel. Aborting execution.")

    monkeypatch.setattr(bench.cases, "workload", no_kernel)
    assert bench.run_case(tiny_config(), "sdpa", 16, "fwd", "cudnn")["status"] == "unsupported"


def test_unsupported_backend_on_cpu_is_recorded():
    # cuDNN attention does not exist on the CPU: a point, not an exception
    p = bench.run_case(tiny_config(), "sdpa", 16, "fwd", "cudnn")
    assert p["status"] == "unsupported" and p["time_ms"] is None


def test_speedups_here_times_both_layers_at_every_length():
    """Chapter 06's live re-measurement, on the CPU with tiny shapes (the eager layer)."""
    from hyena_lab.bench.variants import speedups_here

    tiny = {k: v for k, v in vars(tiny_config()).items() if k not in ("lengths", "profile_length")}
    out = speedups_here((16, 32), variant="torch", ceilings=CEIL, **tiny)
    assert out["device"] and sorted(out["speedup"]) == [16, 32]
    for L in (16, 32):
        assert out["speedup"][L] == out["attention_ms"][L] / out["hyena_ms"][L] > 0


def test_accuracy_checks_record_a_reference_that_does_not_fit(monkeypatch):
    """At L = 1M the float64 naive attention's (L, L) scores do not fit: the attention checks
    record "oom" and the others still run (the sweep used to crash there, losing its end)."""
    from hyena_lab.bench import accuracy

    real = accuracy.naive_causal_attention

    def naive(q, k, v):
        if q.dtype == torch.float64:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 98304.00 GiB")
        return real(q, k, v)

    monkeypatch.setattr(accuracy, "naive_causal_attention", naive)
    out = accuracy.accuracy_checks(tiny_config(lengths=(16,), hyena_variants=("torch",)))
    assert out["sdpa/math"].startswith("oom") and out["naive"].startswith("oom")
    assert out["fftconv"] < 1e-5 and out["hyena"] < 1e-5 and out["mha"] < 1e-5


# ---------------------------------------------------------------------------------------------
# the whole sweep and its results file


def test_tiny_sweep_and_schema(tiny_results, tmp_path):
    r = bench.validate_results(tiny_results)
    assert r["complete"] and r["meta"]["device_type"] == "cpu"
    assert r["meta"]["tokens_per_batch"] == 64 and r["meta"]["d_model"] == 8
    ok = [p for p in r["points"] if p["status"] == "ok"]
    assert {p["bench"] for p in ok} == set(bench.BENCHES)
    assert {p["pass"] for p in ok} == set(bench.PASSES)
    assert all(p["time_ms"] > 0 and p["batch"] * p["L"] == 64 for p in ok)
    for name in ("fftconv", "sdpa/math", "naive", "hyena", "mha"):
        assert r["accuracy"][name] < 1e-5, name  # float32 against float64
    assert r["fftconv_profile"]["kernels"], "profile holds no operator"
    path = tmp_path / "r.json"
    bench.sweep.save(r, path)
    assert bench.load_results(path)["points"] == json.loads(json.dumps(r["points"]))


def test_a_sweep_cut_short_keeps_every_case_it_finished(monkeypatch, tmp_path):
    """The record is written after every case: the third case raising (a kill, a hang cut by
    ``timeout``) leaves the first two on disk, complete=False."""
    from hyena_lab.bench import sweep

    real, calls = sweep.run_case, []

    def run_case(*args):
        calls.append(args)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(sweep, "run_case", run_case)
    path = tmp_path / "r.json"
    with pytest.raises(KeyboardInterrupt):
        cfg = tiny_config(lengths=(16,), benches=("fftconv", "sdpa"), backends=("math",))
        sweep.run_benchmarks(cfg, out=path, progress=False, ceilings=CEIL)
    r = bench.load_results(path)
    assert not r["complete"] and [p["status"] for p in r["points"]] == ["ok", "ok"]
    assert [(p["bench"], p["pass"]) for p in r["points"]] == [("fftconv", "fwd"), ("sdpa", "fwd")]


def test_accuracy_length_picks_or_skips_the_accuracy_checks():
    """``accuracy_length``: by default the shortest length; a length of its own (a sweep of
    long lengths checks at a short one: the float64 references are O(L^2)); 0: none."""
    cfg = tiny_config(lengths=(32,), benches=("fftconv",), passes=("fwd",), profile_length=None)
    assert bench.run_benchmarks(cfg, progress=False, ceilings=CEIL)["accuracy"]["L"] == 32
    cfg.accuracy_length = 8
    assert bench.run_benchmarks(cfg, progress=False, ceilings=CEIL)["accuracy"]["L"] == 8
    cfg.accuracy_length = 0
    assert "accuracy" not in bench.run_benchmarks(cfg, progress=False, ceilings=CEIL)
    cfg.accuracy_length = -1
    with pytest.raises(ValueError, match="accuracy_length"):
        cfg.validate()


def test_results_file_names_its_schema_and_machine(tiny_results, tmp_path):
    meta = tiny_results["meta"]
    assert {"cpu", "num_threads", "torch", "python", "time", "git_commit"} <= set(meta)
    assert meta["schema"] == bench.SCHEMA and meta["device"] == "cpu"
    path = tmp_path / "r.json"
    bench.sweep.save(tiny_results, path)
    record = json.loads(path.read_text())
    assert record["schema"] == {"name": bench.RECORD_SCHEMA, "version": 1}
    record["schema"]["name"] = "hyena-lab.recall"
    path.write_text(json.dumps(record))
    with pytest.raises(ValueError, match=r"not 'hyena-lab\.bench'"):
        bench.load_results(path)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda r: r.pop("ceilings"), "lack the key 'ceilings'"),
        (lambda r: r["meta"].pop("device"), "meta lacks the key 'device'"),
        (lambda r: r["meta"].__setitem__("schema", "v0"), "meta.schema must be"),
        (lambda r: r["meta"].__setitem__("d_model", "768"), "meta.d_model must be int"),
        (lambda r: r["points"][0].__setitem__("status", "fine"), "unknown status"),
        (lambda r: r["points"][0].__setitem__("time_ms", None), "status 'ok' with time_ms"),
        (lambda r: r["points"][0].pop("peak_mem_mb"), "lacks the key 'peak_mem_mb'"),
    ],
)
def test_schema_rejects_broken_results(tiny_results, mutate, match):
    r = copy.deepcopy(tiny_results)
    r["points"][0]["status"], r["points"][0]["time_ms"] = "ok", 1.0
    bench.validate_results(r)
    mutate(r)
    with pytest.raises(ValueError, match=match):
        bench.validate_results(r)


def test_recorded_gpu_data_is_valid_and_complete():
    r = bench.load_results(RECORDED)
    meta = r["meta"]
    assert meta["device_type"] == "cuda" and meta["cuda"]
    assert meta["dtype"] == "bf16" and meta["d_model"] == 768 and meta["heads"] == 12
    ok = {(p["bench"], p["pass"], p["L"]) for p in r["points"] if p["status"] == "ok"}
    for b in ("fftconv", "sdpa", "hyena", "mha"):
        for pass_ in bench.PASSES:
            assert (b, pass_, 8192) in ok and (b, pass_, 65536) in ok, (b, pass_)
    assert all(p["peak_mem_mb"] is not None for p in r["points"] if p["status"] == "ok")
    assert math.isfinite(r["ceilings"]["copy_bandwidth_gbs"])


# ---------------------------------------------------------------------------------------------
# command line


def test_main_prints_one_json_object_last(capsys, tmp_path):
    out = tmp_path / "b.json"
    argv = ["--device", "cpu", "--dtype", "fp32", "--d-model", "8", "--heads", "2"]
    argv += ["--tokens", "32", "--lengths", "16", "--benches", "fftconv,sdpa", "--passes", "fwd"]
    argv += ["--backends", "math", "--target-ms", "1", "--min-repeats", "1", "--max-repeats", "2"]
    argv += ["--profile-length", "0", "--no-progress", "--out", str(out)]
    assert bench.main(argv) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    summary = json.loads(last)
    assert summary["points_ok"] == 2 and summary["out"] == str(out)
    assert "crossover_L" in summary and "speedup" in summary
    assert bench.load_results(out)["meta"]["command"].endswith("--out " + str(out))


def test_out_is_checked_before_any_timing_and_written_atomically(capsys, tmp_path, monkeypatch):
    def no_timing(*args, **kwargs):
        raise AssertionError("timed although --out was a folder")

    monkeypatch.setattr(bench, "run_benchmarks", no_timing)
    with pytest.raises(SystemExit) as exc:
        bench.main(["--device", "cpu", "--out", str(tmp_path)])
    assert exc.value.code == 2 and "--out" in capsys.readouterr().err
    stale = tmp_path / ".r.json.x1.tmp"  # what a killed write leaves
    stale.write_text("{")
    bench.sweep.save({"meta": {}}, str(tmp_path / "r.json"))  # --out arrives as a str
    assert not stale.exists() and json.loads((tmp_path / "r.json").read_text()) == {
        "schema": {"name": bench.RECORD_SCHEMA, "version": 1}, "meta": {}}


def test_main_help_and_bad_arguments(capsys):
    with pytest.raises(SystemExit) as exc:
        bench.main(["--help"])
    assert exc.value.code == 0 and "--tokens" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        bench.main(["--device", "cpu", "--heads", "5"])
    assert exc.value.code == 2
    assert "d_model (768) must be divisible by heads (5)" in capsys.readouterr().err


def test_lengths_parser():
    assert bench.config._int_list("2^10..2^12") == (1024, 2048, 4096)
    assert bench.config._int_list("16, 32") == (16, 32)


def test_add_bench_command():
    import argparse

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    bench.add_bench_command(sub)
    args = parser.parse_args(["bench", "--device", "cpu", "--lengths", "64,128"])
    assert args.func is bench._command and args.lengths == (64, 128)
    # as cli.main does: result = args.func(args); print(json.dumps(result))
    tiny = ["bench", "--device", "cpu", "--dtype", "fp32", "--d-model", "8", "--heads", "2"]
    tiny += ["--tokens", "16", "--lengths", "16", "--benches", "fftconv", "--passes", "fwd"]
    tiny += ["--target-ms", "1", "--min-repeats", "1", "--profile-length", "0", "--no-progress"]
    args = parser.parse_args(tiny)
    result = json.loads(json.dumps(args.func(args), allow_nan=False))
    assert result["points_ok"] == 1 and result["out"] is None


# ---------------------------------------------------------------------------------------------
# text tables and run-to-run spread


def test_format_tables(tiny_results):
    text = bench.format_summary(_synthetic_results())
    assert "kernel/fwd" in text and "1.33" in text and "6.0K" in text  # 8K: 2 / 1.5
    table = bench.format_times(tiny_results, "fwd").splitlines()
    assert table[0].split()[:3] == ["L", "fftconv", "sdpa"] and len(table) == 3  # L = 16, 32
    with pytest.raises(ValueError, match="pass_ must be one of"):
        bench.format_times(tiny_results, "bwd")


def test_run_to_run_spread():
    a = _synthetic_results()
    b = copy.deepcopy(a)
    b["points"][0]["time_ms"] *= 1.1
    b["points"][1]["status"], b["points"][1]["time_ms"] = "oom", None
    spread = bench.run_to_run(a, b)
    assert len(spread) == len(a["points"]) - 1  # the OOM point is not compared
    assert max(spread.values()) == pytest.approx(0.1) and min(spread.values()) == 0


# ---------------------------------------------------------------------------------------------
# figures of chapter 5 (pure functions of a results dict)


def test_figures_draw_recorded_and_tiny_results(tiny_results):
    from hyena_lab.viz import kernels as kviz

    for results in (tiny_results, bench.load_results(RECORDED)):
        assert len(kviz.times_figure(results, "kernel").axes) == 2
        assert len(kviz.times_figure(results, "layer").axes) == 2
        assert len(kviz.speedup_figure(results).axes) == 1
        assert len(kviz.memory_figure(results).axes) == 2
        assert len(kviz.roofline_figure(results).axes) == 3  # two panels and the L colour bar
        for metric in kviz.METRICS:
            assert len(kviz.explore_figure(results, "layer", "fwd+bwd", metric).axes) == 1
    prof = tiny_results["fftconv_profile"]
    assert len(kviz.profile_figure({"a": prof, "b": prof}, by="kernels", top=3).axes) == 2


def test_times_figure_marks_the_crossover():
    from hyena_lab.viz import kernels as kviz

    fig = kviz.times_figure(_synthetic_results(), "kernel")
    vlines = [ln for ln in fig.axes[0].lines if ln.get_linestyle() == "--"]
    assert len(vlines) == 1 and vlines[0].get_xdata()[0] == pytest.approx(4096 * 1.5)


def test_complexity_figure_and_its_bad_values():
    from hyena_lab.viz import kernels as kviz

    fig = kviz.complexity_figure(d_model=192, heads=3, tokens=2**14, order=3, ceilings=CEIL)
    assert len(fig.axes) == 2 and "cross at" in fig.axes[1].get_title()
    assert kviz.H100_CEILINGS.ridge() == pytest.approx(271, rel=0.01)
    with pytest.raises(ValueError, match=r"d_model \(768\) must be divisible by heads \(7\)"):
        kviz.complexity_figure(heads=7)
    with pytest.raises(ValueError, match="fft_bytes_factor must be finite and > 0"):
        kviz.complexity_figure(fft_bytes_factor=0.0)
    with pytest.raises(ValueError, match="tokens must be >= 1"):
        kviz.complexity_figure(tokens=0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"metric": "energy"}, r"metric must be one of \['time', 'speedup', 'memory'\]"),
        ({"level": "model"}, r"level must be one of \['kernel', 'layer'\]"),
        ({"pass_": "bwd"}, r"pass_ must be one of \['fwd', 'fwd\+bwd'\]"),
    ],
)
def test_explore_figure_bad_widget_values(kwargs, match):
    from hyena_lab.viz import kernels as kviz

    with pytest.raises(ValueError, match=match):
        kviz.explore_figure(_synthetic_results(), **kwargs)


def test_figure_functions_refuse_bad_inputs():
    from hyena_lab.viz import kernels as kviz

    with pytest.raises(ValueError, match=r"results must be a dict from hyena_lab\.bench"):
        kviz.times_figure({"rows": []})
    with pytest.raises(ValueError, match="by must be one of"):
        kviz.profile_figure({"a": {"ops": []}}, by="threads")
    with pytest.raises(ValueError, match="profiles must be a non-empty dict"):
        kviz.profile_figure({})
    with pytest.raises(ValueError, match="profile 'a' is not a profile_call result"):
        kviz.profile_figure({"a": {"kernels": []}})


def test_recorded_command_line_reproduces_the_config():
    import argparse
    import shlex

    cfg = tiny_config(backends=("math", "flash"), profile_layers=32)
    cmd = bench.command_line(cfg, out="r.json")
    assert cmd.startswith("python -m hyena_lab.bench ") and cmd.endswith("--out r.json")
    parser = argparse.ArgumentParser()
    bench.config.add_arguments(parser)
    args = parser.parse_args(shlex.split(cmd)[3:])
    assert bench.config.config_from_args(args) == cfg and args.out == "r.json"


def test_every_field_is_one_option_and_the_recorded_commands_still_parse():
    """The options are generated from BenchConfig's fields: the commands recorded in the
    committed results files give back the configs recorded beside them, field by field."""
    import argparse
    import dataclasses
    import shlex

    parser = argparse.ArgumentParser()
    bench.config.add_arguments(parser)
    fields = [f.name for f in dataclasses.fields(bench.BenchConfig)]
    assert len(fields) == 23 and all(hasattr(parser.parse_args([]), name) for name in fields)
    for name in ("05_gpu_kernels-bench.json", "05_gpu_kernels-repeat.json"):
        meta = bench.load_results(RECORDED.with_name(name))["meta"]
        words = shlex.split(meta["command"])[3:]
        args = parser.parse_args(words[: words.index("--out")])
        for key, recorded in meta["config"].items():
            value = getattr(args, key)
            if key in ("profile_length", "profile_layers") and value == 0:
                value = None
            assert (list(value) if isinstance(value, tuple) else value) == recorded, key


def test_zero_means_none_only_where_the_option_says_so():
    import argparse

    parser = argparse.ArgumentParser()
    bench.config.add_arguments(parser)
    args = parser.parse_args(["--device", "cpu", "--profile-length", "0", "--lengths", "2^4..2^5"])
    cfg = bench.config.config_from_args(args)
    assert (cfg.profile_length, cfg.profile_layers, cfg.threads) == (None, None, None)
    assert cfg.lengths == (16, 32) and cfg.time_budget_s == 480.0
    cmd = bench.command_line(cfg)
    assert "--profile-length 0 --profile-layers 0" in cmd and "--threads" not in cmd
    with pytest.raises(SystemExit):
        parser.parse_args(["--threads", "0"])  # no 'None' spelled 0 for threads


# ---------------------------------------------------------------------------------------------
# the paper's Figure 4.3 data and the figures' labels


def test_paper_speedups_and_claims():
    from hyena_lab.exercises import PAPER_FIGURE_4_3_MS

    flash, std = paper.paper_speedups(), paper.paper_speedups("standard_attention")
    assert flash[8192] == pytest.approx(2.1 / 1.5) and flash[65536] == pytest.approx(129.07 / 11.32)
    assert paper.PAPER_CLAIMS["figure_speedup"] == {8192: 1.4, 65536: 11.4}
    assert 65536 not in std and std[32768] == pytest.approx(90.71 / 5.41)  # no 64K point
    assert max(*flash.values(), *std.values()) < 20  # "100x at 64K" is in no pair of series
    claims = paper.PAPER_CLAIMS
    assert claims["fused_max_L"] == 8192 and claims["blog_crossover_L"] == 6000
    assert len(PAPER_FIGURE_4_3_MS["standard_attention"]) == len(PAPER_FIGURE_4_3_MS["lengths"])
    with pytest.raises(ValueError, match="attention must be one of"):
        paper.paper_speedups("naive")


def _labelled_lines(ax) -> list[str]:
    return [ln.get_label() for ln in ax.lines if not ln.get_label().startswith("_")]


def test_every_line_of_the_speedup_and_paper_figures_is_labelled():
    from hyena_lab.viz import kernels as kviz

    fig = kviz.speedup_figure(bench.load_results(RECORDED))
    ax = fig.axes[0]
    unlabelled = [ln for ln in ax.lines if ln.get_label().startswith("_")
                  and list(ln.get_ydata()) != [1.0, 1.0]]  # the y = 1 reference line
    assert not unlabelled
    labels = _labelled_lines(ax)
    assert any("blog" in t and "6K" in t for t in labels)  # the ~6K line says what it is
    assert sum("Fig. 4.3" in t for t in labels) == 2  # vs FlashAttention, vs standard
    paper = kviz.paper_figure()
    left, right = paper.axes
    assert len(_labelled_lines(left)) == 4 and len(_labelled_lines(right)) == 3
    assert any("no point at 64K" in t for t in _labelled_lines(left))


def test_memory_figure_gives_each_bench_its_own_colour_and_the_roofline_a_colourbar():
    from hyena_lab.viz import kernels as kviz

    recorded = bench.load_results(RECORDED)
    fig = kviz.memory_figure(recorded)
    styles = {(ln.get_label(), ln.get_color()) for ax in fig.axes for ln in ax.lines
              if not ln.get_label().startswith("_")}
    colours = {c for _, c in styles}
    assert len({label for label, _ in styles}) == len(colours) == 5
    roof = kviz.roofline_figure(recorded)
    bars = [ax for ax in roof.axes if ax.get_label() == "<colorbar>"]
    assert len(bars) == 1 and "sequence length" in bars[0].get_ylabel()


def test_times_figure_legend_names_the_out_of_memory_marks():
    from hyena_lab.viz import kernels as kviz

    fig = kviz.times_figure(bench.load_results(RECORDED), "kernel")
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("out of memory" in t for t in texts) and len(texts) == len(set(texts))


def test_hyena_variants_are_cases_of_their_own_with_a_speedup_each():
    """Each Hyena variant (chapter 06) runs as its own case, recorded under its name; the
    summary gives each one's speedup over the best attention layer and its crossover."""
    cfg = tiny_config(benches=("hyena", "mha", "sdpa"), hyena_variants=("torch", "monarch"),
                      passes=("fwd",), profile_length=None)  # fmt: skip
    results = bench.run_benchmarks(cfg, progress=False, ceilings=CEIL)
    hyena = [p for p in results["points"] if p["bench"] == "hyena"]
    assert sorted((p["backend"], p["L"]) for p in hyena) == [
        ("monarch", 16), ("monarch", 32), ("torch", 16), ("torch", 32)]
    assert all(p["status"] == "ok" for p in hyena)
    variants = results["summary"]["hyena_variants"]["fwd"]
    mha = bench.times(results, "mha", "fwd")
    for v in ("torch", "monarch"):
        t = bench.times(results, "hyena", "fwd", v)
        assert variants[v]["speedup"] == {str(L): mha[L][0] / t[L][0] for L in (16, 32)}
    with pytest.raises(ValueError, match="hyena_variants must be a non-empty subset"):
        tiny_config(hyena_variants=("cuda-magic",)).validate()
    with pytest.raises(ValueError, match="variant must be one of"):
        bench.build_hyena(cfg, 16, "cuda-magic")


def test_variants_figure_draws_attention_and_every_variant_per_pass():
    from hyena_lab.viz.fused import variants_figure

    cfg = tiny_config(benches=("hyena", "mha", "sdpa"), hyena_variants=("torch", "monarch"),
                      profile_length=None)  # fmt: skip
    results = bench.run_benchmarks(cfg, progress=False, ceilings=CEIL)
    fig = variants_figure(results)
    assert len(fig.axes) == 2  # forward, forward + backward
    for ax in fig.axes:
        labels = [line.get_label() for line in ax.get_lines()]
        assert labels[0].startswith("attention") and len(labels) == 3
        assert ax.get_xlabel() and ax.get_ylabel() == "time per call (ms)"
    fig = variants_figure(results, "speedup")
    ax = fig.axes[0]
    torch_line = next(line for line in ax.get_lines() if line.get_label().startswith("eager"))
    mha, hy = bench.times(results, "mha", "fwd"), bench.times(results, "hyena", "fwd", "torch")
    assert list(torch_line.get_ydata()) == [mha[L][0] / hy[L][0] for L in (16, 32)]
    with pytest.raises(ValueError, match="metric must be"):
        variants_figure(results, "memory")


def test_variant_accuracy_records_every_variant_and_length(tmp_path):
    """python -m hyena_lab.bench.variants: each (variant, L) against float64, saved after every
    length; fp32 on the CPU lands far below its 1e-4 bound (~1e-7), a failure is recorded."""
    from hyena_lab.bench.variants import main

    out = tmp_path / "acc.json"
    rec = main(["--lengths", "16,33", "--variants", "torch,monarch", "--dtype", "fp32",
                "--device", "cpu", "--d-model", "8", "--out", str(out)])  # fmt: skip
    assert rec["tolerance"] == 1e-4 and set(rec["errors"]) == {"torch", "monarch"}
    for errs in rec["errors"].values():
        assert set(errs) == {"16", "33"}
        assert all(0 < e < 1e-5 for err in errs.values() for e in err.values())
        assert all(set(err) == {"out", "out_no_grad", "grad_u", "grad_params"}
                   for err in errs.values())  # fmt: skip
    for err in rec["errors"]["torch"].values():  # the eager layer takes one path either way
        assert err["out_no_grad"] == err["out"]
    assert json.loads(out.read_text())["errors"] == json.loads(json.dumps(rec["errors"]))


def test_each_hyena_variant_builds_its_backend_and_switches():
    """``build_hyena``: the backend and the opt-in paths each variant names (compile wraps the
    eager operator); the same seed gives the same weights in every variant."""
    from hyena_lab.bench.cases import build_hyena
    from hyena_lab.bench.config import HYENA_VARIANTS

    cfg = bench.BenchConfig(device="cpu", dtype="fp32", d_model=8, heads=2, order=2)
    want = {"torch": ("torch", None), "monarch": ("monarch", None), "triton": ("triton", None),
            "triton_sram": ("triton", "on_chip_fftconv"), "triton_long": ("triton", "long_fft"),
            "triton_half": ("triton", "half_fft")}  # fmt: skip
    assert set(want) | {"compile"} == set(HYENA_VARIANTS)
    ref = build_hyena(cfg, 16, "torch").state_dict()
    for variant, (backend, switch) in want.items():
        op = build_hyena(cfg, 16, variant)
        assert op.backend == backend, variant
        on = {s for s in ("on_chip_fftconv", "long_fft", "half_fft") if getattr(op, s)}
        assert on == ({switch} if switch else set()), variant
        assert all(torch.equal(v, ref[k]) for k, v in op.state_dict().items()), variant
    with pytest.raises(ValueError, match="variant must be one of"):
        build_hyena(cfg, 16, "triton_fast")
