"""The README's table of measured results agrees with the committed records it quotes.

Each number quoted in a row of "What the handbook measures" is recomputed here from the record
under ``figures/data/`` (or from counted work) and looked up, formatted as the README writes it,
in that row. A record re-made with other numbers makes this fail until the README is updated.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from hyena_lab import bench
from hyena_lab.viz import load_data

ROOT = Path(__file__).resolve().parents[1]


def _row(chapter: str) -> str:
    text = (ROOT / "README.md").read_text()
    rows = [ln for ln in text.splitlines() if ln.startswith(f"| {chapter} |")]
    assert len(rows) == 1, f"README has no single row for chapter {chapter}"
    return rows[0]


def _quoted(row: str, text: str) -> None:
    assert text in row, f"the README row should quote {text!r} (from its record): {row}"


def test_row_01_quotes_the_cpu_timing_record():
    from hyena_lab.experiments.conv_costs import fitted_slopes, speedup_at_largest_common_length

    record = load_data("01_long_convolutions-cpu_timing")
    row = _row("01")
    slopes = fitted_slopes(record)
    _quoted(row, f"fftconv {slopes['fftconv']:.2f}")
    _quoted(row, f"direct definition {slopes['direct_conv']:.2f}")
    _quoted(row, f"Toeplitz mat-vec {slopes['toeplitz_matvec']:.2f}")
    L, ratio = speedup_at_largest_common_length(record, "fftconv", "direct_conv")
    _quoted(row, f"{ratio:.0f}x faster than the definition at L = {L}")
    _quoted(row, f"{record['channels']} channels, {record['num_threads']} thread")
    _quoted(row, record["processor"])


def test_row_01_quotes_the_counted_slope():
    from hyena_lab.roofline import counted_conv_work

    work = counted_conv_work([2**p for p in range(10, 15)], channels=1)["fftconv"]
    xs = [math.log(L) for L in work["L"]]
    ys = [math.log(f) for f in work["flops"]]
    _quoted(_row("01"), f"slope {_slope(xs, ys):.2f} (L log L)")


def test_row_02_quotes_the_complexity_record():
    record = load_data("02_hyena_matrices-complexity")
    row = _row("02")
    at = {r["L"]: r for r in record["rows"]}[512]
    dense_ms, op_ms = 1e3 * at["materialize_seconds"], 1e3 * at["op_seconds"]
    _quoted(row, f"{dense_ms:.0f} ms vs {op_ms:.1f} ms for the operator at L = 512")
    _quoted(row, f"({dense_ms / op_ms:.0f}x; {record['num_threads']} thread of a 2-core "
                 f"{record['processor']}")


def test_row_05_quotes_the_gpu_bench_record():
    s = bench.summarize(bench.load_results(ROOT / "figures/data/05_gpu_kernels-bench.json"))
    row = _row("05")
    cross, speed = s["crossover_L"], s["speedup"]
    _quoted(row, f"from ~{cross['kernel/fwd'] / 1024:.0f}K tokens (forward)")
    _quoted(row, f"{speed['kernel/fwd']['65536']:.1f}x at 64K, "
                 f"{speed['kernel/fwd']['262144']:.1f}x at 256K")
    _quoted(row, f"from ~{cross['layer/fwd'] / 1024:.0f}K (forward; "
                 f"{speed['layer/fwd']['65536']:.1f}x at 64K, "
                 f"{speed['layer/fwd']['262144']:.1f}x at 256K)")


def test_row_03_quotes_the_ssm_record_and_parameter_counts():
    record = load_data("03_implicit_filters-ssm_check")
    row = _row("03")
    errs = record["rel_err_recurrence_vs_fftconv"]
    _quoted(row, f"{errs['zoh']:.1e} (ZOH) / {errs['bilinear']:.1e} (bilinear)")
    counts = load_data("03_implicit_filters-param_count")
    for name, fmt in (("explicit", "explicit {:,}"), ("implicit", "implicit {:,} (the FFN"),
                      ("implicit (z trainable)", "; {:,} with the official code's trainable"),
                      ("ssm", "SSM {:,}"), ("frequency", "frequency {:,}")):
        _quoted(row, fmt.format(_count_at(counts, name, 65536)))
    rows = load_data("03_implicit_filters-init_spectra")["rows"]
    spectra = {(r["bands"], r["w"]): r for r in rows}
    low = [K for K in (2, 4, 8, 16, 32) if spectra[K, 1.0]["cutoff_99"] == K]
    assert low == [2, 4, 8, 16, 32] and spectra[64, 1.0]["cutoff_99"] == 63
    _quoted(row, "(K = 2..32; 63 of 65 bins for K = 64)")
    assert all(spectra[K, 10.0]["cutoff_99"] >= 64 for K in (2, 4, 8, 16, 32, 64))


# ----------------------------------------------------------------------------------- helpers
def _slope(xs: list[float], ys: list[float]) -> float:
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )


def _count_at(record: dict, name: str, L: int) -> int:
    lengths = record.get("lengths", [])
    counts = record.get("counts", {})
    if name not in counts or L not in lengths:
        pytest.fail(f"param_count record lacks {name!r} at L = {L}: {sorted(counts)}")
    return counts[name][lengths.index(L)]


def test_row_04_quotes_the_recall_records():
    from statistics import mean

    from hyena_lab.tasks import recall_baselines

    row = _row("04")
    bench_runs = load_data("04_associative_recall-benchmark")["results"]
    hyena = [r for r in bench_runs if r["mixer"] == "hyena"]
    (attention,) = [r for r in bench_runs if r["mixer"] == "attention"]
    acc = sorted(100 * r["test_accuracy"] for r in hyena)
    secs = sorted(r["seconds"] for r in hyena)
    _quoted(row, f"{acc[0]:.1f}-{acc[-1]:.1f}% test accuracy")
    _quoted(row, f"in {secs[0]:.0f}-{secs[-1]:.0f} s on 2 CPU cores")
    _quoted(row, f"({len(hyena)} seeds; attention {100 * attention['test_accuracy']:.1f}% in "
                 f"{attention['seconds']:.0f} s)")
    grid = load_data("04_associative_recall-grid")["results"]

    def at30(mixer: str) -> float:
        return 100 * mean(r["test_accuracy"] for r in grid
                          if r["mixer"] == mixer and r["vocab_size"] == 30)

    _quoted(row, f"Hyena ({at30('hyena'):.0f}% mean at vocab 30) > attention "
                 f"({at30('attention'):.0f}%) > H3 ({at30('h3'):.0f}%) > ungated long conv "
                 f"({at30('conv'):.0f}%")
    levels = [recall_baselines(L, 30, seeds=[0, 1]) for L in (64, 128, 256, 512)]
    _quoted(row, f"most frequent value, {100 * mean(b['most_frequent'] for b in levels):.0f}%; "
                 f"chance is {100 * levels[0]['chance']:.0f}%")
    _quoted(row, f"Hyena's layout reach {at30('h3_same'):.0f}%, so the filter family is worth "
                 f"{at30('hyena') - at30('h3_same'):.0f} points and the depth "
                 f"{at30('h3_same') - at30('h3'):.0f}")


def test_row_08_quotes_the_mqar_grids():
    from hyena_lab.experiments.mqar import best_over_lrs, smallest_solving_width

    row = _row("08")
    fig2 = load_data("08_mqar-gpu_grid-fig2")
    configs = list(fig2["config"].values())
    assert {c["vocab_size"] for c in configs} == {8192} and {c["mlp_ratio"] for c in configs} == {0}
    assert {c["num_train"] for c in configs} == {100_000}
    (lrs,) = {tuple(c["lrs"]) for c in configs}
    lrs = [f"{lr:.0e}".replace("e-0", "e-") for lr in lrs]  # 3e-3, as the row writes it
    budgets = sorted({c["time_budget"] for c in configs}, reverse=True)
    _quoted(row, f"vocab 8,192, {configs[0]['num_train']:,} sequences, batches of "
                 f"{configs[0]['batch_size']}, no MLP, learning rates {lrs[0]} and {lrs[1]}, "
                 f"{budgets[0]:.0f} s / {budgets[1]:.0f} s per run")  # fmt: skip
    _quoted(row, fig2["run"]["device"].removeprefix("NVIDIA "))
    solved = smallest_solving_width(fig2["results"])
    best = best_over_lrs(fig2["results"])
    assert set(solved["attention"].values()) == {64}
    att = "/".join(f"{best[('attention', L, 64)]:.3f}" for L in (64, 128, 256))
    _quoted(row, f"attention at width 64 solves L = 64/128/256 (test {att})")
    assert solved["hyena"] == {"64": 256, "128": None, "256": None}
    widths = sorted({w for m, _, w in best if m == "hyena"})
    first = next(r for r in fig2["results"] if r["mixer"] == "hyena" and r["seq_len"] == 64
                 and r["width"] == 256 and r["test_accuracy"] >= fig2["solved_at"])  # fmt: skip
    _quoted(row, f"Hyena solves L = 64 from width 256 ({first['test_accuracy']:.3f} after "
                 f"{first['steps']:,} steps) and no longer length up to width {max(widths)}")
    top = {L: max(a for (m, LL, _), a in best.items() if m == "hyena" and LL == L)
           for L in (128, 256)}  # fmt: skip
    short = [r["steps"] for r in fig2["results"] if r["mixer"] == "hyena"
             and (r["seq_len"] == 256 or r["width"] == 512)]  # fmt: skip
    _quoted(row, f"best {top[128]:.2f} at L = 128, {top[256]:.2f} at L = 256; the runs at L = 256 "
                 f"and at width 512 got only {min(short):,}-{max(short):,} steps")  # fmt: skip
    assert max(short) / (64 * 100_000 // 512) < 1 / 3 + 0.01  # "a third of Zoology's" 12,500
    record = load_data("08_mqar-gpu_grid")
    c = record["config"]
    _quoted(row, f"vocab {c['vocab_size']}, widths {min(c['widths'])}-{max(c['widths'])}, "
                 f"at most {c['max_steps']:,} steps and {c['time_budget']:.0f} s per run")
    solved = smallest_solving_width(record["results"])
    att = solved["attention"]
    _quoted(row, f"attention solves L = 64/128/256 at widths {att['64']}/{att['128']}/{att['256']}")
    assert all(w is None for w in solved["hyena"].values())
    _quoted(row, "Hyena solves no length")


def test_row_07_quotes_the_language_model_records():
    row = _row("07")
    means = load_data("07_lm-compare")["means"]
    loss = {k: f"{v['val_loss']:.2f}" for k, v in means.items()}
    _quoted(row, f"Hyena LM {loss['hyena 60s']} vs GPT {loss['attention 60s']} nats/char in 60 s")
    _quoted(row, f"{loss['hyena 300s']} vs {loss['attention 300s']} in 300 s")
    _quoted(row, f"{means['hyena 60s']['params']:,} vs {means['attention 60s']['params']:,}")
    ratio = load_data("07_lm-step-time")["ratio_attention_over_hyena"]
    _quoted(row, f"{ratio[0]:.2f} of a Hyena step at context 64 and {ratio[-1]:.2f} at 2,048")
    g = load_data("07_generation-speed")["ratio_longest_over_shortest"]
    _quoted(row, f"grows {g['recompute']:.0f}x (recompute), {g['cache']:.0f}x (cached inputs), "
                 f"{g['gpt_kv_cache']:.1f}x (GPT KV cache) and {g['modal']:.2f}x (modal states)")
    inc = load_data("07_distill-sweep")["distilled"][0]
    _quoted(row, f"r = {inc['order']} the loss rises {inc['val_loss_increase']:.4f}")


def test_row_06_quotes_counted_work_and_the_h100_rates():
    from hyena_lab import monarch
    from hyena_lab.roofline import Ceilings
    from hyena_lab.roofline import fft_flops as radix2_flops

    row = _row("06")
    N = 4096
    r2 = radix2_flops(N, real=False)
    _quoted(row, f"dense DFT does {monarch.dense_dft_flops(N) / r2:.0f}x the FLOPs")
    _quoted(row, f"(64, 64) {monarch.fft_flops(N, (64, 64)) / r2:.1f}x")
    _quoted(row, f"(16, 16, 16) {monarch.fft_flops(N, (16, 16, 16)) / r2:.1f}x")
    ceil = Ceilings.from_dict(load_data("05_gpu_kernels-bench")["ceilings"])
    _quoted(row, f"tensor cores {ceil.matmul_flops / ceil.fp32_flops:.1f}x the fp32 units")
    gain = monarch.matmul_fft_speedup(N, (16, 16, 16), ceil, compute_only=True)
    _quoted(row, f"compute floor is {gain:.1f}x lower at (16, 16, 16)")
    assert monarch.matmul_fft_speedup(N, (16, 16, 16), ceil) == 1.0  # "predicts a tie"
    _quoted(row, "predicts a tie")


def test_row_06_quotes_the_h200_record():
    row = _row("06")
    gpu, acc = load_data("06_fft_matmul-gpu_bench"), load_data("06_fft_matmul-variant_accuracy")
    errors = [err for var in acc["errors"].values() for err in var.values()]
    worst = max(e for err in errors if isinstance(err, dict) for e in err.values())
    _quoted(row, f"every variant is within {worst:.4f} of float64 at 1K-256K")
    measured = {L for var in acc["errors"].values() for L, e in var.items() if isinstance(e, dict)}
    assert max(int(L) for L in measured) == 262144  # "at 1K-256K"
    t = {(p["pass"], p["backend"], p["L"]): p["time_ms"] for p in gpu["points"]
         if p["bench"] == "hyena" and p["status"] == "ok"}  # fmt: skip
    gain = [t[(ps, "torch", L)] / t[(ps, "triton", L)] for (ps, b, L) in t if b == "triton"]
    _quoted(row, f"{min(gain):.1f}x-{max(gain):.1f}x faster than the eager one")
    fwd, both = (gpu["summary"]["hyena_variants"][ps]["triton"] for ps in ("fwd", "fwd+bwd"))
    _quoted(row, f"from {fwd['crossover_L'] / 1e3:.1f}K forward / "
                 f"{both['crossover_L'] / 1e3:.1f}K forward+backward")  # fmt: skip
    at = {k: (fwd["speedup"][k], both["speedup"][k]) for k in ("65536", "262144")}
    _quoted(row, "{:.2f}x / {:.2f}x at 64K, ".format(*at["65536"])
                 + "{:.1f}x / {:.1f}x at 256K".format(*at["262144"]))  # fmt: skip
    half = load_data("06_fft_matmul-gpu_bench_half")["summary"]["hyena_variants"]["fwd"]
    conv = next(line for line in load_data("06_fft_matmul-gpu_layer_profile_half")["layer"]
                if line["L"] == 65536)["long_conv_ms"]["half"]  # fmt: skip
    floor = gpu["summary"]["fftconv_roofline"]["fwd"]["65536"]["fp32_compute_floor_ms"]
    _quoted(row, f"one long convolution {conv / floor:.1f}x its floor")
    run = load_data("06_fft_matmul-gpu_run")  # one run, 1K-1M, resumed twice
    assert run["complete"] and len(run["meta"]["resumed"]) == 2  # "over three device calls"
    assert run["meta"]["lengths"][0] == 1024 and run["meta"]["lengths"][-1] == 2**20
    rv = run["summary"]["hyena_variants"]
    f32 = [rv[ps]["triton"]["speedup"][L] for L in ("65536", "1048576")
           for ps in ("fwd", "fwd+bwd")]  # fmt: skip
    _quoted(row, "measured {:.2f}x forward / {:.2f}x forward+backward at 64K and {:.1f}x / "
                 "{:.1f}x at 1M with float32 transforms".format(*f32))  # fmt: skip
    rh = rv["fwd"]["triton_half"]
    _quoted(row, f"half-precision transforms {rh['speedup']['65536']:.2f}x forward at 64K "
                 f"({half['triton_half']['speedup']['65536']:.2f}x in another call, where "
                 f"{half['triton']['speedup']['65536']:.2f}x with float32 transforms; crossover "
                 f"{rh['crossover_L'] / 1e3:.1f}K) and {rh['speedup']['1048576']:.1f}x at 1M")
    hs = load_data("06_fft_matmul-gpu_half_scaling")["cases"]
    sizes = sorted({c["size"] for c in hs})
    fixed = [c["fixed"] for c in hs]
    _quoted(row, f"within {max(c['measured_first']['error'] for c in hs):.4f} of float64 for "
                 f"activations from {sizes[0]:.0e} to {sizes[-1]:.0e}, where a fixed pre-scale "
                 f"gave errors up to {max(f for f in fixed if f != 'overflow'):.2f} or "
                 "overflowed".replace("e-0", "e-").replace("e+0", "e"))  # fmt: skip
    assert "overflow" in fixed
    fwd = load_data("06_fft_matmul-gpu_run_fwd")["summary"]["hyena_variants"]["fwd"]["triton_half"]
    _quoted(row, f"{fwd['speedup']['65536']:.2f}x forward at 64K in one run against every SDPA "
                 f"backend (crossover {fwd['crossover_L'] / 1e3:.1f}K, "
                 f"{fwd['speedup']['1048576']:.1f}x at 1M)")  # fmt: skip
    at_1m = []  # two separate calls at 1M: forward, forward + backward
    for name in ("06_fft_matmul-gpu_bench_1m", "06_fft_matmul-gpu_bench_1m_bwd"):
        (row_1m,) = load_data(name)["summary"]["hyena_variants"].values()
        at_1m.append(row_1m["triton"]["speedup"]["1048576"])
    _quoted(row, "in separate calls at 1M, {:.1f}x / {:.1f}x".format(*at_1m))
    tc = load_data("06_fft_matmul-gpu_monarch_tc")["lengths"]
    slower = [line["tc_ms"] / line["fused_ms"] for line in tc]
    _quoted(row, f"within {max(line['tc_err'] for line in tc):.4f} of float64 to 1M but "
                 f"{min(slower):.0f}x-{max(slower):.0f}x slower than cuFFT's")  # fmt: skip
    assert tc[-1]["L"] == 2**20
    vr = load_data("06_fft_matmul-gpu_vs_rfft")["lengths"]
    x = [line["rfft_ms"] / line["fused_ms"] for line in vr]
    assert (vr[0]["L"], vr[-1]["L"]) == (1024, 2**20)
    _quoted(row, f"{min(x):.2f}x-{max(x):.2f}x faster than a careful rfft convolution at 1K-1M")
    from hyena_lab.paper import FLASHFFTCONV_H200

    _quoted(row, f"own build on the H200 was {FLASHFFTCONV_H200['1K-4K'][0]}x at 1K-4K")
    assert FLASHFFTCONV_H200["8K-256K"][1] < 1  # "and slower from 8K"
    chip = [t[("fwd", "triton_sram", L)] / t[("fwd", "triton", L)] for L in (1024, 2048)]
    _quoted(row, f"forward at 1K-2K ({max(chip):.2f} of its time)")
    assert t[("fwd", "triton_sram", 4096)] > t[("fwd", "triton", 4096)]  # "slower at 4K"
    assert all(t[("fwd+bwd", "triton_sram", L)] > t[("fwd+bwd", "triton", L)]
               for L in (1024, 2048, 4096))  # "and backward"  # fmt: skip
