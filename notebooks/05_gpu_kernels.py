# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Chapter 5: GPU kernels: when does Hyena beat attention?
#
# The paper's efficiency claim (abstract; Sec. 4.4, Fig. 4.3) is that *"Hyena operators are
# twice as fast as highly optimized attention at sequence length 8K, and 100x faster at
# sequence length 64K"*. The authors' blog post (Hazy Research, 2023-03-07) adds that the
# crossover with FlashAttention lies near 6K tokens; the paper itself gives no crossover. This
# chapter measures the claim on a GPU, sets it beside the numbers behind the paper's own
# Figure 4.3, and explains the differences with a roofline model.
#
# **What you will learn**
#
# 1. The complexity argument: attention costs $O(L^2)$ per sequence, Hyena's FFT convolutions
#    $O(L \log L)$, and why counting FLOPs alone puts the crossover in the wrong place.
# 2. How to time GPU code properly: CUDA events, warm-up, the median of many calls, rotating
#    inputs, every attention backend, out-of-memory as a missing point.
# 3. The measured curves on an H100 (bf16, $d_{model}=768$, 12 heads, $2^{18}$ tokens per
#    batch, $L$ from 1K to 1M): the crossover, the speedups at 8K / 64K / 256K, memory vs $L$.
# 4. The roofline: why the FFT convolution is memory-bound, how far it sits above its HBM
#    floor, and where its time goes.
# 5. What the paper's Figure 4.3 data actually show (1.4x at 8K, 11.4x at 64K, on an A100),
#    what differs from our H100 numbers, and why.
#
# **Prerequisites**: chapter 1 (the FFT convolution), chapter 2 (the Hyena operator).
# Knowing what a GPU's memory bandwidth and matrix-unit rate are helps.
#
# **Run time**: short on a laptop CPU (chapter 0's table lists the recorded time of every
# chapter, and the machine it was recorded on). Without a GPU the notebook measures small sizes
# on the CPU and plots the recorded GPU data; with one it re-measures a reduced sweep live.
#
# The benchmark is `hyena_lab.bench` (also a command: `python -m hyena_lab.bench --help`), the
# FLOP/byte model `hyena_lab.roofline`, the figures `hyena_lab.viz.kernels`.

# %%
import math

import torch
from ipywidgets import fixed, interact

from hyena_lab import bench, roofline
from hyena_lab.paper import PAPER_CLAIMS, PAPER_FIGURE_4_3_MS, paper_speedups
from hyena_lab.viz import kernels as kviz
from hyena_lab.viz import records_dir, savefig, use_style

use_style()
torch.manual_seed(0)
DATA = records_dir()
gpu = bench.load_results(DATA / "05_gpu_kernels-bench.json")  # the recorded H100 sweep
repeat = bench.load_results(DATA / "05_gpu_kernels-repeat.json")  # a second run, same code
ceil = roofline.Ceilings.from_dict(gpu["ceilings"])

# %%
# NBVAL_CHECK_OUTPUT
meta = gpu["meta"]
for key in ("device", "torch", "cuda", "date", "dtype", "d_model", "heads", "tokens_per_batch"):
    print(f"{key:>16}: {meta[key]}")
print(f"{'lengths':>16}: {meta['lengths'][0]} .. {meta['lengths'][-1]}")
print(f"{'ceilings':>16}: copy {ceil.bandwidth / 1e12:.2f} TB/s, bf16 matmul "
      f"{ceil.matmul_flops / 1e12:.0f} TFLOP/s, fp32 matmul {ceil.fp32_flops / 1e12:.1f} TFLOP/s")
assert meta["device_type"] == "cuda" and "H100" in meta["device"]
assert (meta["dtype"], meta["d_model"], meta["heads"], meta["tokens_per_batch"]) == (
    "bf16", 768, 12, 2**18)

# %% [markdown]
# ## 1. The complexity argument
#
# Fix the number of tokens per batch, $T = B L$ (batch $B$, length $L$), and the width $d$.
# A causal attention layer spends
#
# $$F_{\rm attn} \approx \underbrace{8\,T d^2}_{q,k,v,o\ \text{projections}}
#   + \underbrace{2\,T L d}_{QK^\top\ \text{and}\ PV,\ \text{causal}} ,$$
#
# and an order-$N$ Hyena operator (Def. 3.1: $N+1$ projections, $N$ FFT convolutions, $N$ gates)
#
# $$F_{\rm Hyena} \approx 2(N+2)\,T d^2 + N\,T d \cdot c \log_2 (2L), \qquad c \approx 10$$
#
# (the convolution needs two FFTs of length $2L$ per channel, chapter 1, and we count a *real*
# FFT of $n$ points as $2.5\, n \log_2 n$ FLOPs with `roofline.fft_flops`: half the classic
# $5\, n \log_2 n$ of a *complex* FFT, which chapter 2 uses, because a real signal is
# transformed as a complex one of half the length; so $c = 2 \cdot 2.5 \cdot 2 = 10$ per
# token and channel). At fixed $T$ the attention term grows *linearly* in $L$, the Hyena term
# only *logarithmically*. Counting FLOPs, Hyena is cheaper from $L \approx 84$ on, and at 64K
# it needs 21x fewer.
#
# But FLOPs do not run at one speed. Attention's FLOPs are matrix products on tensor cores
# (measured: **791 TFLOP/s** in bf16 on this H100); an FFT runs on the ordinary fp32 units
# (**51 TFLOP/s** measured, a 16th) and, as Sec. 4 shows, is limited by memory bandwidth
# anyway. The **roofline model** turns each part into a time floor, $\max(F/P, Q/B)$ for $F$
# FLOPs at rate $P$ and $Q$ bytes at bandwidth $B$ (`hyena_lab.roofline.layer_time_model`).

# %%
# NBVAL_CHECK_OUTPUT
L = [2**p for p in range(6, 21)]
flops = {n: (roofline.mha_layer_cost(max(1, 2**18 // n), n, 768, 12).flops,
             roofline.hyena_layer_cost(max(1, 2**18 // n), n, 768, 2).flops) for n in L}
x_flops = bench.crossover_length(L, [a for a, _ in flops.values()], [h for _, h in flops.values()])
model = {f: [roofline.layer_time_model(n, 2**18, 768, 12, ceil, fft_bytes_factor=f) for n in L]
         for f in (1.0, 22.0)}
x_model = {f: bench.crossover_length(L, [a for a, _ in m], [h for _, h in m])
           for f, m in model.items()}
print(f"tensor-core rate {ceil.matmul_flops / 1e12:.0f} TFLOP/s, fp32 {ceil.fp32_flops / 1e12:.0f}")
print(f"FLOP crossover: L = {x_flops:.0f}; FLOP ratio at 64K: "
      f"{flops[65536][0] / flops[65536][1]:.0f}x")
print(f"roofline-model crossover, fused FFT conv: L = {x_model[1.0] / 1024:.1f}K; "
      f"unfused (22x the bytes): L = {x_model[22.0] / 1024:.1f}K")
assert round(ceil.matmul_flops / 1e12) == 791 and round(ceil.fp32_flops / 1e12) == 51
assert round(ceil.matmul_flops / ceil.fp32_flops) == 16  # "a 16th"
assert round(x_flops) == 84 and round(flops[65536][0] / flops[65536][1]) == 21
assert round(x_model[1.0] / 1024, 1) == 3.8 and round(x_model[22.0] / 1024) == 26
for n in L:  # the FFT convention: c = 10 FLOPs per token and channel per log2(2L)
    assert roofline.fft_flops(2 * n, real=False) == 2 * roofline.fft_flops(2 * n)
    assert math.isclose(2 * roofline.fft_flops(2 * n) / n, 10 * math.log2(2 * n), rel_tol=1e-12)

# %% [markdown]
# With a *fused* FFT convolution (each byte read and written once) the roofline model puts the
# crossover near **4K** (3.8K), not far from the ~6K of the authors' blog. If the FFT
# convolution moves 22 times its minimal bytes, as the plain PyTorch `fftconv` does (Sec. 4),
# the model's crossover moves to **26K**. The crosses on the right are the measured layer
# times of Sec. 3: attention runs 1.5 to 2 times above its model (its kernel reaches at most
# 59% of the matrix rate, Sec. 4), the Hyena operator 10 to 15 times above its fused model.
# Keep both numbers in mind for what follows.

# %%
fig = kviz.complexity_figure(ceilings=ceil, measured=gpu)
savefig(fig, "05_gpu_kernels-complexity")
fig

# %%
measured = {b: bench.times(gpu, b, "fwd") for b in ("mha", "hyena")}
for n, (t_attn, t_hyena) in zip(L, model[1.0], strict=True):
    if n in measured["mha"]:
        assert 1.5 < measured["mha"][n][0] / (t_attn * 1e3) < 2.0, n  # attention: 1.5-2x
        assert 10 < measured["hyena"][n][0] / (t_hyena * 1e3) < 15, n  # Hyena: 10-15x

# %% [markdown]
# ## 2. Timing a GPU kernel properly
#
# GPU work is **asynchronous**: `y = f(x)` returns as soon as the kernels are queued, so a host
# clock around it measures the launch, not the work. `hyena_lab.bench.time_call`:
#
# * records a CUDA **event** before and after each call and reads the elapsed device time;
# * runs **warm-up** calls first (cuFFT plans, cuDNN graphs, the allocator's first `cudaMalloc`
#   stay out of the numbers), then as many timed calls as fit in 300 ms (5 to 50), and reports
#   the **median** (and the 20/80 percentiles);
# * **rotates** over several input sets, so a call never finds its inputs warm in L2 cache;
#   inputs are random normal, never zeros (zeros can run faster and hide unwritten outputs);
# * on a CPU it falls back to `time.perf_counter` (both clocks live in `hyena_lab.measure`).
#
# `hyena_lab.bench.run_benchmarks` sweeps $L$ at a fixed number of tokens, times **every SDPA
# backend** (cuDNN, flash, memory-efficient, math) and keeps the best, records an out-of-memory
# error or a missing kernel as a point with a status instead of crashing, and skips a case whose
# predicted time per call exceeds a cap or whose $(L, L)$ score matrix cannot fit in memory.
# It first checks every function against a float64 reference. The recorded GPU run:

# %%
# NBVAL_CHECK_OUTPUT
acc = gpu["accuracy"]
print(f"relative error in bf16 against float64 at L={acc['L']}:")
for name in ("fftconv", "sdpa/cudnn", "sdpa/flash", "sdpa/efficient", "sdpa/math", "naive",
             "hyena", "mha"):
    print(f"  {name:>15}: {acc[name]:.1e}")
    assert 1e-3 < acc[name] < 1e-2, name  # bf16 operands: between 1e-3 and 1e-2
statuses = [p["status"] for p in gpu["points"]]
config = meta["config"]  # "as many timed calls as fit in 300 ms (5 to 50)"
assert (config["target_ms"], config["min_repeats"], config["max_repeats"]) == (300.0, 5, 50)
print({s: statuses.count(s) for s in sorted(set(statuses))}, "of", len(statuses), "cases")

# %% [markdown]
# The same code, run twice on the same machine (the second run repeated $L$ = 1K, 8K and 64K):
# the spread is the noise floor, below which no difference means anything.

# %%
# NBVAL_CHECK_OUTPUT
spread = bench.run_to_run(gpu, repeat)
print(f"{len(spread)} points in both runs; largest difference {max(spread.values()):.1%}, "
      f"median {sorted(spread.values())[len(spread) // 2]:.1%}")
assert max(spread.values()) < 0.03 and repeat["meta"]["lengths"] == [1024, 8192, 65536]

# %% [markdown]
# ### Live: measure on this machine
#
# With a GPU this re-measures a reduced sweep; without one, small sizes on the CPU
# ($d_{model}=64$, 4 heads, 4096 tokens per batch, $L$ = 128 .. 2048, forward only, one thread).
# Nothing about these live times is asserted: they depend on your machine and on what else
# runs on it. What *is* checked is the counted work behind them (the `flops` that the
# benchmark records with every point, from `hyena_lab.roofline`): at a fixed number of tokens,
# the naive attention's work grows in proportion to $L$ (16x from 128 to 2048 on the CPU),
# the FFT convolution's only like $\log L$ (1.8x). The live times should show the same shape.

# %%
# NBVAL_IGNORE_OUTPUT
if torch.cuda.is_available():
    live_cfg = bench.BenchConfig(lengths=(1024, 4096, 16384, 65536), tokens=2**16,
                                 target_ms=100.0, time_budget_s=60.0, profile_length=None)
else:
    live_cfg = bench.BenchConfig(
        device="cpu", dtype="fp32", d_model=64, heads=4, tokens=4096,
        lengths=(128, 256, 512, 1024, 2048), passes=("fwd",), backends=("flash", "math"),
        warmup=1, min_repeats=3, max_repeats=10, target_ms=30.0, threads=1,
        profile_length=None, time_budget_s=40.0)
live = bench.run_benchmarks(live_cfg, progress=False)
print(bench.format_times(live, "fwd"))
kviz.explore_figure(live, "kernel", "fwd", "time")

# %%
# NBVAL_IGNORE_OUTPUT
lo, hi = min(live_cfg.lengths), max(live_cfg.lengths)
growth = {b: bench.case_cost(live_cfg, b, hi, "fwd").flops / bench.case_cost(
    live_cfg, b, lo, "fwd").flops for b in ("fftconv", "naive")}  # counted: exact, any machine
for b in ("fftconv", "naive"):
    t = bench.times(live, b, "fwd")  # live: shown, not asserted
    shown = f"x{t[hi][0] / t[lo][0]:.1f}" if lo in t and hi in t else "(not measured)"
    print(f"{b:>8}, L = {lo} -> {hi}: counted work x{growth[b]:.1f}, live time {shown}")
assert math.isclose(growth["naive"], (hi + 1) / (lo + 1))  # T (L + 1) / 2 causal pairs: ~ L
assert growth["fftconv"] < 2 < hi / lo  # ~ log L: less than 2x for 16x the length

# %% [markdown]
# ## 3. The measured curves (H100)
#
# The recorded sweep: `python -m hyena_lab.bench --device cuda --dtype bf16 --time-budget 420
# --max-call-ms 1200 --out figures/data/05_gpu_kernels-bench.json` (3 minutes on the H100;
# the second run added `--lengths 1024,8192,65536 --benches fftconv,sdpa,hyena,mha --backends
# cudnn,flash --profile-length 8192 --profile-layers 8192`).
# At $2^{18}$ tokens per batch the batch is $2^{18}/L$ (256 at 1K, 1 from 256K on; at 512K and
# 1M the batch stays 1 and the tokens grow). Every comparison below is a ratio of two numbers
# measured side by side in one run.
#
# **Kernel level**: `fftconv` on $u$ of shape (batch, 768, L) against causal SDPA on
# (batch, 12, L, 64). The FFT convolution's time is nearly flat in $L$ (its work per token
# grows like $\log L$), attention's nearly doubles with every doubling of $L$ (1.7x to 2.2x
# per doubling up to 256K; beyond, the batch stays 1 and the tokens grow too). cuDNN is the fastest
# SDPA backend at every length, 1.44x faster than the flash backend at 8K; the naive attention,
# which stores the $(L, L)$ scores, peaks at 30 GiB at 1K and does not fit from 4K on (the
# memory part below says why).

# %%
fig = kviz.times_figure(gpu, "kernel")
savefig(fig, "05_gpu_kernels-times_kernel")
fig

# %% [markdown]
# **Layer level**: the order-2 `HyenaOperator` (in-projection to 3 streams, short depthwise
# convolution, the implicit filters, two FFT convolutions, two gates, out-projection) against a
# multi-head attention layer (q/k/v projection, causal SDPA with the fastest backend measured at
# that length, out-projection). An 'x' on the top edge marks an out-of-memory point (forward +
# backward at 1M tokens needs more than 80 GB).

# %%
fig = kviz.times_figure(gpu, "layer")
savefig(fig, "05_gpu_kernels-times_layer")
fig

# %% [markdown]
# The crossover (interpolated in log-log between the two measured lengths around it) and the
# speedup of Hyena, $t_{\rm attention} / t_{\rm Hyena}$, at 8K, 64K and 256K (K = 1024):

# %%
# NBVAL_CHECK_OUTPUT
print(bench.format_summary(gpu))
s = bench.summarize(gpu)
best = {b for per_L in s["best_sdpa_backend"].values() for b in per_L.values()}
print("best SDPA backend at every length and pass:", best)
sdpa8k = {p["backend"]: p["time_ms"] for p in gpu["points"]
          if p["bench"] == "sdpa" and p["L"] == 8192 and p["pass"] == "fwd" and p["time_ms"]}
print(f"at 8K, fwd: flash / cuDNN = {sdpa8k['flash'] / sdpa8k['cudnn']:.2f}")

# %%
assert round(meta["seconds"] / 60) == 3  # "3 minutes"
batches = {p["L"]: (p["batch"], p["tokens"]) for p in gpu["points"]}
assert batches[1024] == (256, 2**18) and all(batches[n][0] == 1 for n in batches if n >= 2**18)
assert all(batches[n][1] == n for n in batches if n > 2**18)  # the tokens grow past 256K
t_sdpa = bench.times(gpu, "sdpa", "fwd")
per_doubling = [t_sdpa[2 * n][0] / t_sdpa[n][0] for n in t_sdpa if 2 * n in t_sdpa and n < 2**18]
assert len(per_doubling) == 8 and all(1.7 <= round(r, 1) <= 2.2 for r in per_doubling)
x, sp = s["crossover_L"], s["speedup"]
assert best == {"cudnn"} and round(sdpa8k["flash"] / sdpa8k["cudnn"], 2) == 1.44
K = 1024  # crossovers as quoted below, in K = 1024 tokens
assert [round(x[k] / K) for k in ("kernel/fwd", "kernel/fwd+bwd")] == [10, 7]
assert [round(x[k] / K) for k in ("layer/fwd", "layer/fwd+bwd")] == [54, 39]
quoted = {  # the speedups quoted below (8K, 64K, 256K), to the digits given there
    "kernel/fwd": (0.8, 3.5, 12), "kernel/fwd+bwd": (1.1, 5.3, 17),
    "layer/fwd": (0.26, 1.1, 3.7), "layer/fwd+bwd": (0.33, 1.4, 5.3),
}
for key, values in quoted.items():
    for n, q in zip(("8192", "65536", "262144"), values, strict=True):
        digits = len(str(q).split(".")[1]) if "." in str(q) else 0
        assert round(sp[key][n], digits) == q, (key, n, sp[key][n])

# %% [markdown]
# So on this H100, with PyTorch's own kernels:
#
# * **kernel level**: the FFT convolution overtakes the best attention kernel at **10K**
#   tokens forward (7K forward+backward); it is 0.8x as fast at 8K, **3.5x** faster at 64K and
#   **12x** at 256K (forward+backward: 1.1x, 5.3x and 17x);
# * **layer level**: the Hyena operator overtakes the attention layer only at **54K** forward
#   (39K forward+backward); at 8K it is 4x *slower* (0.26x), at 64K **1.1x** faster and at
#   256K **3.7x** (forward+backward: 0.33x, 1.4x and 5.3x). At 512K the attention layer takes
#   1.06 s per call forward, the Hyena operator 0.15 s.
#
# The speedup grows by 1.6x to 2x per doubling of $L$ on every curve (from 8K to 256K), as the
# complexity argument says: the *slope* of the paper's claim holds; the *offset* does not
# (Sec. 5). In the figure, the dotted lines with diamonds are the speedups in the data behind
# the paper's Figure 4.3 (A100; Sec. 5), the stars the abstract's claims and the dotted
# vertical line the ~6K crossover of the authors' blog.

# %%
fig = kviz.speedup_figure(gpu)
savefig(fig, "05_gpu_kernels-speedup")
fig

# %%
for key, per_L in sp.items():
    step = (per_L["262144"] / per_L["8192"]) ** (1 / 5)  # five doublings from 8K to 256K
    assert 1.6 < step < 2.0, (key, step)
assert round(1 / sp["layer/fwd"]["8192"]) == 4  # "4x slower" at 8K
t_mha, t_hy = bench.times(gpu, "mha", "fwd"), bench.times(gpu, "hyena", "fwd")
assert round(t_mha[2**19][0] / 1e3, 2) == 1.06 and round(t_hy[2**19][0] / 1e3, 2) == 0.15
oom = {(p["bench"], p["pass"], p["L"]) for p in gpu["points"] if p["status"] == "oom"}
assert ("hyena", "fwd+bwd", 2**20) in oom and ("fftconv", "fwd+bwd", 2**20) in oom

# %% [markdown]
# ### Memory vs L
#
# Peak memory that one call allocates beyond its inputs and weights (outputs and, with the
# backward, saved activations and gradients included). With a fixed number of tokens, the
# fused attention kernels need memory proportional to the tokens: SDPA's forward allocates only
# its output (0.4 GiB) at every length up to 256K. The naive attention's score matrix holds
# $B \cdot H \cdot L^2 = T H L$ numbers: in bf16, **6 GiB** at 1K ($B = 256$, $H = 12$) and
# 12 GiB at 2K. Its *measured peak* is five times that, **30 GiB** at 1K and 60 GiB at 2K,
# because three $(L, L)$ tensors live at once inside `bench.naive_causal_attention`: the
# scaled and masked scores in bf16 (1x), their float32 copy for the softmax (2x) and the
# float32 softmax output (2x). From 4K on that would be 120 GiB and more, beyond the GPU's
# 79 GiB, so those points are skipped. The FFT convolution, although $O(T)$ too, is
# memory-*hungry*: it computes in float32 on zero-padded sequences of length $2L$, so its
# forward allocates 16 times its bf16 input; the Hyena operator with its two convolutions
# reaches 45 GiB at 1M tokens forward, and its forward+backward does not fit at 1M.

# %%
fig = kviz.memory_figure(gpu)
savefig(fig, "05_gpu_kernels-memory")
fig

# %%
mem = {(p["bench"], p["pass"], p["L"]): p["peak_mem_mb"] for p in gpu["points"]
       if p["peak_mem_mb"] and p["backend"] not in ("flash", "efficient", "math")}
u_mib = 2**18 * 768 * 2 / 2**20  # one bf16 tensor of 2^18 tokens x 768 channels
assert all(abs(mem["sdpa", "fwd", n] - u_mib) < 1 for n in meta["lengths"] if n <= 2**18)
batch = {n: meta["tokens_per_batch"] // n for n in (1024, 2048, 4096)}  # 256, 128, 64
scores_gib = {n: batch[n] * meta["heads"] * n**2 * 2 / 2**30 for n in batch}  # B H L^2 bf16
assert scores_gib[1024] == 6.0 and scores_gib[2048] == 12.0  # T H L numbers: linear in L
for n in (1024, 2048):  # the measured peak: 5 score-sized tensors (1 bf16 + 2 float32 ones)
    assert round(mem["naive", "fwd", n] / 1024) == 30 * n // 1024
    assert round(mem["naive", "fwd", n] / 1024 / scores_gib[n]) == 5
gpu_gib = meta["gpu_memory_gb"] * 1e9 / 2**30  # the recorded total, 85.0 GB = 79 GiB
assert round(gpu_gib) == 79 and 5 * scores_gib[4096] == 120 > gpu_gib
assert ("naive", "fwd", 4096) not in mem and round(u_mib / 1024, 1) == 0.4  # SDPA: 0.4 GiB
assert round(mem["fftconv", "fwd", 8192] / u_mib) == 16
assert round(mem["hyena", "fwd", 2**20] / 1024) == 45 and ("hyena", "fwd+bwd", 2**20) not in mem

# %% [markdown]
# ## 4. The roofline: why the FFT convolution is memory-bound
#
# The FFT convolution of $u$ (B, d, L) with $k$ (d, L) must at least read $u$ and $k$ and write
# $y$: $Q_{\min} = (2BdL + dL) \cdot 2$ bytes in bf16. Its FLOPs, two real FFTs of $n = 2L$
# points per row at $2.5\, n \log_2 n$ each (Sec. 1's convention), are
# $F \approx Bd\,(5 \cdot 2L \log_2 2L)$. Their ratio, the **arithmetic intensity**
# $F / Q_{\min} \approx 2.5 \log_2 (2L)$, is 29 to 54 FLOP/byte for $L$ = 1K .. 1M (with the
# spectral products and the filter's own FFT counted, `roofline.fftconv_cost`). The
# **ridge point** of the tensor-core roofline, $P/B$ = 791 TFLOP/s / 2.92 TB/s $\approx$ 270
# FLOP/byte (both measured on this H100), is 5 to 10 times higher: whatever the
# implementation, an FFT convolution cannot keep the matrix units busy; it is bound by memory
# bandwidth (this is the argument of FlashFFTConv, Fu et al. 2023, which computes the FFT
# *as* matrix products to reach the tensor cores). On the fp32 units (ridge 17 FLOP/byte) a
# perfectly fused FFT convolution would be compute-bound, with a floor 1.7 to 3.1 times above
# the HBM floor.
#
# The measured `fftconv` is much further away. Its **gap** to the HBM floor:

# %%
# NBVAL_CHECK_OUTPUT
rows = s["fftconv_roofline"]["fwd"]
for n in ("1024", "8192", "65536", "262144", "1048576"):
    r = rows[n]
    print(f"L={int(n):>8}: measured {r['measured_ms']:6.2f} ms, HBM floor {r['hbm_floor_ms']:.2f}"
          f" ms, gap {r['gap']:4.0f}x, intensity {r['intensity_flop_per_byte']:.0f} FLOP/B")
unfused = roofline.fftconv_unfused_bytes(32, 768, 8192) / roofline.fftconv_cost(32, 768, 8192).bytes
print(f"unfused PyTorch fftconv moves >= {unfused:.0f}x the minimal bytes")
intensity = [r["intensity_flop_per_byte"] for r in rows.values()]
assert round(min(intensity)) == 29 and round(max(intensity)) == 54
assert round(ceil.ridge(), -1) == 270 and round(ceil.ridge("fp32")) == 17
assert (round(ceil.matmul_flops / 1e12), round(ceil.bandwidth / 1e12, 2)) == (791, 2.92)  # P, B
assert 5 <= ceil.ridge() / max(intensity) and ceil.ridge() / min(intensity) <= 10  # 5 to 10x
fp32_over_hbm = [r["fp32_compute_floor_ms"] / r["hbm_floor_ms"] for r in rows.values()]
assert round(min(fp32_over_hbm), 1) == 1.7 and round(max(fp32_over_hbm), 1) == 3.1
assert round(rows["1024"]["gap"], -1) == 30  # "30x at short L"
assert all(round(r["gap"], -1) == 50 for n, r in rows.items() if int(n) >= 65536)  # "50x"
assert 21.5 < unfused < 22.5

# %% [markdown]
# A gap of **30x** at short $L$ and **50x** from 64K on. Where does it come from? Count the
# kernels PyTorch launches for one `fftconv` of bf16 inputs
# (`hyena_lab.roofline.fftconv_unfused_bytes`): a cast to float32, a zero-pad to $2L$, the
# forward FFT, the spectral product, a copy of the spectrum (cuFFT's complex-to-real transform
# overwrites its input), the inverse FFT, the slice and the cast back. Each streams the whole
# tensor through HBM: **88 bytes per element instead of 4**, 22x the floor. At full copy
# bandwidth those bytes alone take 6.1 ms at 1K; measured: 8.4 ms, so the kernels run at about
# 2.1 TB/s, 72% of the copy bandwidth: the implementation is memory-bound, and bound by its own
# traffic. From 64K on, the FFT of length $2L \geq 2^{17}$ no longer fits one pass through
# shared memory: at 8K each transform is a single cuFFT kernel (`vector_fft_symm_r2c/c2r`), at
# 64K each takes two passes of `regular_fft_factor` plus a pre- or post-processing kernel (the
# profiles below), which the model does not count, and the gap grows to 50x.
#
# On the roofline (left), the filled circles place `fftconv` at its true intensity, far below
# the roof; the hollow circles count the bytes it actually moves: they sit near the bandwidth
# roof (marker colour encodes $L$: see the colour bar). SDPA (squares) runs at 350-470
# TFLOP/s, 45-59% of the bf16 matrix rate measured on the same GPU.

# %%
fig = kviz.roofline_figure(gpu)
savefig(fig, "05_gpu_kernels-roofline")
fig

# %%
r1k = rows["1024"]
t_unfused = roofline.fftconv_unfused_bytes(256, 768, 1024) / ceil.bandwidth * 1e3
achieved = roofline.fftconv_unfused_bytes(256, 768, 1024) / (r1k["measured_ms"] * 1e-3)
per_element = (roofline.fftconv_unfused_bytes(2, 1, 1024)
               - roofline.fftconv_unfused_bytes(1, 1, 1024)) / 1024  # bytes per element of u
assert per_element == 88 and round(unfused) == 22  # "88 bytes per element instead of 4, 22x"
assert round(t_unfused, 1) == 6.1 and round(r1k["measured_ms"], 1) == 8.4
assert round(achieved / 1e12, 1) == 2.1 and round(100 * achieved / ceil.bandwidth) == 72
cudnn = [p["flops"] / (p["time_ms"] * 1e-3) for p in gpu["points"] if p["backend"] == "cudnn"
         and p["bench"] == "sdpa" and p["pass"] == "fwd" and p["status"] == "ok"]
assert round(min(cudnn) / 1e12, -1) == 350 and round(max(cudnn) / 1e12, -1) == 470
assert [round(100 * f / ceil.matmul_flops) for f in (min(cudnn), max(cudnn))] == [45, 59]

# %%
prof = gpu["fftconv_profile"]
fft_ms = sum(k["ms"] for k in prof["kernels"] if "fft" in k["name"] or "process" in k["name"])
factor_calls = sum(k["calls"] for k in prof["kernels"] if "regular_fft_factor" in k["name"])
print(f"fftconv at L={prof['L']}: {prof['total_ms']:.1f} ms of kernels, FFT kernels "
      f"{fft_ms:.1f} ms ({fft_ms / prof['total_ms']:.0%}), regular_fft_factor x{factor_calls}")
assert prof["L"] == 65536 and 0.5 < fft_ms / prof["total_ms"] < 0.65
assert factor_calls == 2 * 3  # two passes for each of the 3 transforms (u, k forward; inverse)
names_8k = [k["name"] for k in repeat["fftconv_profile"]["kernels"]]
assert repeat["fftconv_profile"]["L"] == 8192 and not any("regular_fft" in n for n in names_8k)
assert sum("vector_fft_symm" in n for n in names_8k) == 2  # one r2c kernel, one c2r kernel

# %% [markdown]
# Just over half of the time is in cuFFT's kernels; the rest is casts, padding, the spectral
# product, the copy before the inverse FFT and the scaling: element-wise passes that a fused
# kernel would not make.
#
# **The Hyena operator** adds more of the same. The second run profiled one forward call at 8K
# ($B$ = 32) of each layer: the attention layer spends 80% of its 8.6 ms in one cuDNN kernel;
# the Hyena operator spends 37 ms, of which the FFTs take 4.7 ms, the projections 1.8 ms,
# and copies (casts and layout changes), element-wise products and the depthwise short
# convolution (`_conv_depthwise2d`, 6 ms for a memory-bound operation whose HBM floor, reading
# and writing its three bf16 streams once, is 0.8 ms) the rest.

# %%
lp = repeat["layer_profile"]
fig = kviz.profile_figure({"Hyena operator, fwd, 8K": lp["hyena/fwd"],
                           "attention layer, fwd, 8K": lp["mha/fwd"]})
savefig(fig, "05_gpu_kernels-profile")
fig

# %%
# NBVAL_CHECK_OUTPUT
ops = {o["name"]: o["ms"] for o in lp["hyena/fwd"]["ops"]}
fft = ops["aten::_fft_r2c"] + ops["aten::_fft_c2r"]
proj = ops["aten::addmm"] + ops.get("aten::mm", 0.0)
elementwise = ops["aten::copy_"] + ops["aten::mul"] + ops["aten::add"] + ops["aten::fill_"]
total = lp["hyena/fwd"]["total_ms"]
print(f"Hyena fwd at 8K: {total:.1f} ms; FFTs {fft / total:.0%}, projections {proj / total:.0%}, "
      f"copies + element-wise {elementwise / total:.0%}, short conv "
      f"{ops['aten::_conv_depthwise2d'] / total:.0%}")
assert fft / total < 0.15 and proj / total < 0.06 and elementwise / total > 0.6
assert (elementwise + ops["aten::_conv_depthwise2d"]) / total > 0.78  # "80%" in Sec. 5
assert round(total) == 37 and round(fft, 1) == 4.7 and round(proj, 1) == 1.8
assert round(ops["aten::_conv_depthwise2d"]) == 6
short_conv_bytes = 2 * 2**18 * 3 * 768 * 2  # read + write 3 streams of 2^18 tokens x 768, bf16
assert round(short_conv_bytes / ceil.bandwidth * 1e3, 1) == 0.8  # its HBM floor, ms
attn_ops = {o["name"]: o["ms"] for o in lp["mha/fwd"]["ops"]}
assert round(attn_ops["aten::_cudnn_attention_forward"] / lp["mha/fwd"]["total_ms"], 1) == 0.8
assert round(lp["mha/fwd"]["total_ms"], 1) == 8.6

# %% [markdown]
# ## 5. Comparison with the paper
#
# First, what the paper's own figure says. The authors published the forward times behind
# Figure 4.3 in the official repository's issue tracker (HazyResearch/safari, issue #10): an
# order-2 Hyena operator, FlashAttention and standard PyTorch attention on an A100, batch 64.
# We keep them in `hyena_lab.paper.PAPER_FIGURE_4_3_MS` (exercise 3 below works with them):

# %%
# NBVAL_CHECK_OUTPUT
fig43 = PAPER_FIGURE_4_3_MS
print(f"{'L':>6} | {'Hyena':>6} | {'Flash':>6} | {'standard':>8} | {'vs Flash':>8} | {'vs std':>6}")
vs_flash, vs_std = paper_speedups(), paper_speedups("standard_attention")
for i, n in enumerate(fig43["lengths"]):
    t_std = fig43["standard_attention"][i]
    print(f"{n:>6} | {fig43['hyena'][i]:>6} | {fig43['flash_attention'][i]:>6} | "
          f"{t_std if t_std is not None else '-':>8} | {vs_flash[n]:>7.1f}x | "
          + (f"{vs_std[n]:>5.1f}x" if n in vs_std else f"{'-':>6}"))

# %% [markdown]
# In these numbers Hyena is **1.4x** faster than FlashAttention at 8K and **11.4x** at 64K
# (4.1x faster than standard attention at 8K; standard attention has no 64K point). The
# abstract's "2x at 8K" is of the order of the first (1.4x); its "100x at 64K" matches no pair
# of series in the figure: the largest ratio anywhere in it is 16.8x (standard attention at
# 32K), and even standard attention extrapolated to 64K with its $L^2$ growth (4x per doubling
# at a fixed batch, as from 16K to 32K) would be $4 \cdot 90.71 / 11.32 \approx 32$x.
# Safari issue #10 asks the same question. Two more facts from the official repository
# qualify the figure: the official fused
# FFT-convolution extension supports FFT sizes up to 16384, i.e. sequences up to **8K**
# (safari issue #6), so the figure's 16K-64K points cannot have used it; and in issue #10 the
# authors say that the runtime numbers were not measured with the optimised kernel. So the
# long-length Hyena times of Figure 4.3 come from an unfused FFT convolution, like ours.
#
# | | paper (A100, batch 64) | measured here (H100, $2^{18}$ tokens per batch) |
# |---|---|---|
# | crossover | not stated; ~6K in the authors' blog | 54K layer fwd, 39K fwd+bwd; 10K kernel fwd |
# | speedup at 8K | 2x (abstract); 1.4x in its Fig. 4.3 data | 0.26x layer fwd; 0.82x kernel fwd |
# | speedup at 64K | 100x (abstract); 11.4x in its Fig. 4.3 data | 1.1x layer fwd; 3.5x kernel fwd |
# | speedup at 256K | | 3.7x layer fwd (5.3x fwd+bwd); 12x kernel fwd (17x fwd+bwd) |

# %%
fig = kviz.paper_figure()
savefig(fig, "05_gpu_kernels-paper")
fig

# %%
assert round(vs_flash[8192], 1) == 1.4 and round(vs_flash[65536], 1) == 11.4
assert round(vs_std[8192], 1) == 4.1 and 65536 not in vs_std
largest = max(*vs_flash.values(), *vs_std.values())  # over every pair of series and length
assert round(largest, 1) == 16.8 == round(vs_std[32768], 1)
assert round(fig43["standard_attention"][-2] / fig43["standard_attention"][-3]) == 4  # L^2
assert round(4 * fig43["standard_attention"][-2] / fig43["hyena"][-1]) == 32  # extrapolated
paper_steps = [vs_flash[2 * n] / vs_flash[n] for n in (8192, 16384, 32768)]  # per doubling
assert all(1.8 < r < 2.2 for r in paper_steps)  # "roughly doubles per doubling", as ours
assert PAPER_CLAIMS["fused_max_fft_size"] == 16384 == 2 * PAPER_CLAIMS["fused_max_L"]  # L <= 8K
assert [n for n in fig43["lengths"] if 2 * n > 16384] == [16384, 32768, 65536]  # not fused
assert round(sp["kernel/fwd"]["8192"], 2) == 0.82  # the table's "0.82x kernel fwd"

# %% [markdown]
# Against the figure's data (not the abstract), the shape of our curves agrees: the speedup
# roughly doubles per doubling of $L$ in both. But ours are shifted toward attention by a
# factor of about 5 to 10 at the layer level. Four reasons, in decreasing order of weight:
#
# 1. **The operator around the FFTs is unfused.** Casts, layout copies, gates and the
#    depthwise short convolution take 80% of the Hyena operator's forward time at 8K (Sec. 4);
#    its two FFT convolutions alone cross attention at 10K (kernel level), the whole operator
#    only at 54K. The FFT convolution itself moves 22x its minimal bytes and runs 30-50x above
#    its HBM floor; the roofline model of Sec. 1 shows what fusion is worth: a fused convolution
#    puts the layer crossover at 4K, the unfused byte count at 26K. (The paper's fused kernel
#    could only have helped up to 8K, see above.)
# 2. **Attention got much faster, and the GPU changed.** The paper timed FlashAttention (2023)
#    on an A100; we time cuDNN's attention on an H100, which reaches 350-470 TFLOP/s in bf16
#    (measured), more than the A100's whole bf16 tensor-core peak of 312 TFLOP/s (a measured
#    rate against a datasheet ceiling: the A100 could not do it even at its peak). Compared
#    like with like, datasheet against datasheet (NVIDIA, dense bf16 tensor-core rate and HBM
#    bandwidth): A100 SXM4 80GB 312 TFLOP/s and 2.04 TB/s, H100 SXM5 989 TFLOP/s and
#    3.35 TB/s: the matrix rate grew 3.2x, the bandwidth only 1.6x. (Measured here on the H100:
#    791 TFLOP/s and 2.92 TB/s, 80% and 87% of its datasheet.) Compute-bound attention gained
#    twice as much from the new GPU as memory-bound FFTs: the crossover moves right on every new
#    generation unless the FFT moves to the tensor cores too (FlashFFTConv).
# 3. **What is compared.** Our "layer level" is a full attention layer (projections included)
#    against the full Hyena operator, both in PyTorch; the kernel level compares only the
#    mixing step. Both are shown; the paper's Figure 4.3 has one Hyena series.
# 4. **Setup.** The paper fixes the batch at 64 (tokens grow with $L$); here the tokens are
#    fixed. Both layers scale linearly with the batch, so the ratios at one $L$ hardly depend on
#    it, as long as the GPU is full (it is: $2^{18}$ tokens per call).
#
# The claim that survives: at fixed work per token, attention's cost per token grows linearly in
# $L$ and Hyena's logarithmically, so beyond some length Hyena wins by a factor that keeps
# growing: 3.7x at 256K and an attention layer that needs 1.06 s per call at 512K, where the
# Hyena operator needs 0.15 s. Where that length lies is a question of kernels, not of
# asymptotics.

# %%
shift = [PAPER_CLAIMS["figure_speedup"][n] / sp["layer/fwd"][str(n)] for n in (8192, 65536)]
assert all(5 < f < 11 for f in shift), shift  # "shifted by a factor of about 5 to 10"
A100 = {"bf16_tflops": 312.0, "hbm_tbs": 2.039}  # NVIDIA A100 SXM4 80GB datasheet, dense
H100 = {"bf16_tflops": 989.0, "hbm_tbs": 3.35}  # NVIDIA H100 SXM5 80GB datasheet, dense
assert round(H100["bf16_tflops"] / A100["bf16_tflops"], 1) == 3.2
assert round(H100["hbm_tbs"] / A100["hbm_tbs"], 1) == 1.6
assert round(100 * ceil.matmul_flops / 1e12 / H100["bf16_tflops"]) == 80
assert round(100 * ceil.bandwidth / 1e12 / H100["hbm_tbs"]) == 87
assert min(cudnn) > A100["bf16_tflops"] * 1e12  # measured H100 attention > the A100's peak
assert round((elementwise + ops["aten::_conv_depthwise2d"]) / total, 1) == 0.8  # "80%"

# %% [markdown]
# ## 6. Explore
#
# The cost model at any width, token count, Hyena order and FFT byte factor (1 = a fused FFT
# convolution; 22 = the unfused PyTorch one), with the H100's measured ceilings; and the
# recorded data by level, pass and metric.

# %%
# NBVAL_IGNORE_OUTPUT
model_explorer = interact(
    kviz.complexity_figure, d_model=(192, 2304, 192), heads=fixed(12),
    tokens=[2**k for k in range(14, 23)], order=(1, 4), fft_bytes_factor=(1.0, 40.0, 1.0),
    ceilings=fixed(ceil), measured=fixed(None))

# %%
# NBVAL_IGNORE_OUTPUT
data_explorer = interact(kviz.explore_figure, results=fixed(gpu), level=list(kviz.LEVELS),
                         pass_=list(bench.PASSES), metric=list(kviz.METRICS))

# %%
# NBVAL_CHECK_OUTPUT
for bad in ({"metric": "energy"}, {"level": "model"}, {"pass_": "bwd"}):
    try:
        kviz.explore_figure(gpu, **bad)
    except ValueError as err:
        print("ValueError:", err)
try:
    kviz.complexity_figure(d_model=768, heads=7)
except ValueError as err:
    print("ValueError:", err)

# %% [markdown]
# ## Summary
#
# * Complexity: at fixed tokens per batch attention's work per token grows like $L$, Hyena's
#   like $\log L$; in FLOPs Hyena is cheaper from $L \approx 84$. In *time* the crossover is
#   far later, because attention's FLOPs run on tensor cores and the FFT's do not.
# * Timing GPU code: CUDA events, warm-up, median of many calls, rotating non-zero inputs,
#   every SDPA backend, OOM as a missing point, a second run for the noise floor (< 3% here).
# * Measured on an H100 in bf16 ($d$ = 768, 12 heads, $2^{18}$ tokens): `fftconv` beats the best
#   attention kernel (cuDNN) from 10K (7K with backward); the Hyena operator beats the attention
#   layer from 54K (39K with backward). Speedups of the operator: 0.26x / 1.1x / 3.7x at 8K /
#   64K / 256K forward, 0.33x / 1.4x / 5.3x forward+backward.
# * The FFT convolution is memory-bound: intensity 29-54 FLOP/byte against a tensor-core ridge
#   of 270; the PyTorch implementation moves 22x its minimal bytes and runs 30-50x above its
#   HBM floor. Fusion, not asymptotics, decides where Hyena wins.
# * The paper's "2x at 8K, 100x at 64K" is not reproduced, and "100x" is not in the paper's own
#   Figure 4.3 data either: 1.4x and 11.4x over FlashAttention on an A100, the 16K-64K points
#   measured without the fused kernel (which stops at 8K). Those data have the slope we
#   measure; ours are shifted toward attention by the unfused operator and the GPU generation.
#
# ## Exercises
#
# 1. **Count attention.** The FLOPs of `QK^T` and `PV` for `q, k, v` of shape
#    `(batch, heads, L, head_dim)`, softmax left out, with and without the causal mask.
# 2. **Why "X" in Table 4.2.** A plain attention layer stores its `(batch, heads, L, L)` score
#    matrix: the longest `L` whose scores fit in a given memory.
# 3. **Read the figure.** From the forward times behind Figure 4.3, Hyena's speedup over
#    FlashAttention at every length; compare with the abstract's "100x at 64K".
# 4. **Cut one pass.** Write a variant of `fftconv` that skips one of the passes counted in
#    `fftconv_unfused_bytes` (for example, let `torch.fft.rfft` pad by itself from a bf16-to-fp32
#    cast, or drop the cast back). Check that it is still correct, predict its time from the
#    byte count, then measure it with `bench.time_call` (on a GPU if you have one).
# 5. **How much fusion is needed?** With `complexity_figure` (or `layer_time_model`), find the
#    FFT byte factor at which the model's layer crossover reaches the measured 54K. What does
#    the difference to the measured 22x tell you about the rest of the operator?
# 6. **Batch 64 as in the paper.** Re-run `python -m hyena_lab.bench` with `--tokens` equal to
#    64 x L at each length (one run per length, `--lengths L`). Predict first from the complexity
#    argument whether the speedups at 8K and 64K change, then compare.

# %% [markdown]
# ### Check your answers
#
# Exercises 1 to 4 have a stub below, in this order, each with its checker from
# `hyena_lab.exercises` (the order of `hyena_lab.exercises.exercises(5)`); exercise 4 is
# checked for correctness, its timing is yours to measure. Exercises 5 and 6 are open
# projects.
#
# **Exercise 1 (count).** FLOPs of `QK^T` and `PV` for `q, k, v` of shape
# `(batch, heads, L, head_dim)`, softmax left out, with and without the causal mask. The
# checker compares with `roofline.attention_cost`.

# %%
from hyena_lab.exercises import (
    check_attention_flops,
    check_fftconv_variant,
    check_max_naive_attention_length,
    check_published_speedups,
)


def attention_flops(batch: int, heads: int, L: int, head_dim: int, causal: bool) -> float:
    """FLOPs of the two matrix products of scaled dot-product attention."""
    raise NotImplementedError("exercise 1: your answer here")


check_attention_flops(attention_flops)

# %% [markdown]
# **Exercise 2 (why "X" in Table 4.2).** A plain attention layer stores its
# `(batch, heads, L, L)` score matrix. Return the longest `L` whose scores fit in
# `memory_bytes` at `elt_bytes` per entry.


# %%
def max_naive_attention_length(
    batch: int, heads: int, memory_bytes: int, elt_bytes: int
) -> int:
    """The largest L with batch * heads * L^2 * elt_bytes <= memory_bytes."""
    raise NotImplementedError("exercise 2: your answer here")


check_max_naive_attention_length(max_naive_attention_length)

# %% [markdown]
# **Exercise 3 (read the figure).** From the forward times behind Figure 4.3
# (`PAPER_FIGURE_4_3_MS`: A100, batch 64), compute Hyena's speedup over FlashAttention,
# $t_\text{attention} / t_\text{Hyena}$, as a dict `{length: speedup}`. Compare with the
# abstract's "100x at 64K".

# %%
print(PAPER_FIGURE_4_3_MS)
published_speedups: dict[int, float] = {}  # your answer: {1024: ..., ..., 65536: ...}
check_published_speedups(published_speedups)

# %% [markdown]
# **Exercise 4 (cut one pass: correctness first).** Before timing your variant of `fftconv`,
# check it: the checker compares it with the float64 definition for float32 and bfloat16
# inputs (relative error below 1e-5 and 2e-2), odd lengths included, output in the input's
# dtype.


# %%
def my_fftconv(u: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """fftconv with one memory pass less; same result, same dtype as u."""
    raise NotImplementedError("exercise 4: your variant here")


check_fftconv_variant(my_fftconv)

# %% [markdown]
# ## Quiz
#
# 8 questions on the ideas of this chapter. Choose an answer and press **Check**: the
# feedback says why it is right, or which misconception the answer you chose stands for.
# `quiz_text(5)` gives the questions as text, to print.

# %% tags=["slides-skip"]
from hyena_lab.exercises import quiz

quiz(5)

# %% [markdown]
# **Next:** [Chapter 6: The FFT as matrix multiplies](06_fft_matmul.ipynb).
# Back to [the course outline](00_start_here.ipynb).
