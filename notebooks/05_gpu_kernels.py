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
# The paper's efficiency claim (Sec. 4.4, Fig. 4.3; abstract) is that Hyena operators are
# *"twice as fast as highly optimized attention at sequence length 8K, and 100x faster at
# 64K"*, with the crossover near 6K tokens. This chapter measures that claim on a GPU and
# explains the numbers with a roofline model.
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
# 5. What differs from the paper's A100 numbers, and why.
#
# **Prerequisites**: chapter 1 (the FFT convolution), chapter 2 (the Hyena operator).
# Knowing what a GPU's memory bandwidth and matrix-unit rate are helps.
#
# **Run time**: under a minute on a laptop CPU. Without a GPU the notebook measures small sizes on
# the CPU and plots the recorded GPU data; with one it re-measures a reduced sweep live.
#
# The benchmark is `hyena_lab.bench` (also a command: `python -m hyena_lab.bench --help`), the
# FLOP/byte model `hyena_lab.roofline`, the figures `hyena_lab.viz.kernels`.

# %%
import torch
from ipywidgets import fixed, interact

from hyena_lab import bench, roofline
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
# (a real FFT of length $n$ costs about $2.5\, n \log_2 n$ FLOPs and the convolution needs two of
# length $2L$ per channel: chapter 1). At fixed $T$ the attention term grows *linearly* in $L$,
# the Hyena term only *logarithmically*. Counting FLOPs, Hyena is cheaper from $L \approx 100$
# on, and at 64K it needs 20x fewer.
#
# But FLOPs do not run at one speed. Attention's FLOPs are matrix products on tensor cores
# (measured: **790 TFLOP/s** in bf16 on this H100); an FFT runs on the ordinary fp32 units
# (**51 TFLOP/s**, a 16th) and, as Sec. 4 shows, is limited by memory bandwidth anyway. The
# **roofline model** turns each part into a time floor, $\max(F/P, Q/B)$ for $F$ FLOPs at rate
# $P$ and $Q$ bytes at bandwidth $B$ (`hyena_lab.roofline.layer_time_model`).

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
assert 780e12 < ceil.matmul_flops < 800e12 and 50e12 < ceil.fp32_flops < 52e12
assert 64 < x_flops < 128 and 19 < flops[65536][0] / flops[65536][1] < 22
assert 3 * 1024 < x_model[1.0] < 5 * 1024 and 25 * 1024 < x_model[22.0] < 27 * 1024

# %% [markdown]
# With a *fused* FFT convolution (each byte read and written once) the roofline model puts the
# crossover near **4K**, close to the paper's ~6K. If the FFT convolution moves 22 times its
# minimal bytes, as the plain PyTorch `fftconv` does (Sec. 4), the model's crossover moves to
# **26K**. The crosses on the right are the measured layer times of Sec. 3: attention runs
# 1.5 to 2 times above its model (its kernel reaches about 60% of the matrix rate), the Hyena
# operator 10 to 15 times above its fused model. Keep both numbers in mind for what follows.

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
# * on a CPU it falls back to `time.perf_counter` through `hyena_lab.timing.time_fn`.
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
print({s: statuses.count(s) for s in sorted(set(statuses))}, "of", len(statuses), "cases")

# %% [markdown]
# The same code, run twice on the same machine (the second run repeated $L$ = 1K, 8K and 64K):
# the spread is the noise floor, below which no difference means anything.

# %%
# NBVAL_CHECK_OUTPUT
spread = bench.run_to_run(gpu, repeat)
print(f"{len(spread)} points in both runs; largest difference {max(spread.values()):.1%}, "
      f"median {sorted(spread.values())[len(spread) // 2]:.1%}")
assert max(spread.values()) < 0.03

# %% [markdown]
# ### Live: measure on this machine
#
# With a GPU this re-measures a reduced sweep; without one, small sizes on the CPU
# ($d_{model}=64$, 4 heads, 4096 tokens per batch, $L$ = 128 .. 2048, forward only, one thread).
# CPU timings on a shared machine are noisy; the *shape* of the curves is the point: the naive
# attention grows with $L$, the FFT convolution hardly.

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
t_conv, t_naive = bench.times(live, "fftconv", "fwd"), bench.times(live, "naive", "fwd")
L_top = max(set(t_conv) & set(t_naive))
assert t_naive[L_top][0] > 3 * t_conv[L_top][0], "the FFT conv wins at the longest length"

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
# grows like $\log L$), attention's doubles with every doubling of $L$. cuDNN is the fastest
# SDPA backend at every length, about 1.4x faster than the flash backend; the naive attention,
# which stores the $(L, L)$ scores, needs 30 GiB at 1K and does not fit past 2K.

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
assert 150 < meta["seconds"] < 240  # "3 minutes"
x, sp = s["crossover_L"], s["speedup"]
assert best == {"cudnn"} and 1.3 < sdpa8k["flash"] / sdpa8k["cudnn"] < 1.6
assert 8 * 1024 < x["kernel/fwd"] < 12 * 1024 and 6 * 1024 < x["kernel/fwd+bwd"] < 8 * 1024
assert 48 * 1024 < x["layer/fwd"] < 64 * 1024 and 32 * 1024 < x["layer/fwd+bwd"] < 48 * 1024
assert 0.2 < sp["layer/fwd"]["8192"] < 0.3 and 1.0 < sp["layer/fwd"]["65536"] < 1.2
assert 3.5 < sp["layer/fwd"]["262144"] < 4 and 5 < sp["layer/fwd+bwd"]["262144"] < 6
assert 3 < sp["kernel/fwd"]["65536"] < 4 and 11 < sp["kernel/fwd"]["262144"] < 13

# %% [markdown]
# So on this H100, with PyTorch's own kernels:
#
# * **kernel level**: the FFT convolution overtakes the best attention kernel at **10K**
#   tokens forward (7K forward+backward); it is 0.8x as fast at 8K, **3.5x** faster at 64K and
#   **12x** at 256K (5.3x and 17x forward+backward);
# * **layer level**: the Hyena operator overtakes the attention layer only at **54K** forward
#   (39K forward+backward); at 8K it is 4x *slower* (0.26x), at 64K **1.1x** faster and at
#   256K **3.7x** (5.3x forward+backward). At 512K the attention layer takes a second per call.
#
# The speedup grows by 1.6x to 2x per doubling of $L$ on every curve (from 8K to 256K), as the
# complexity argument says: the *slope* of the paper's claim holds; the *offset* does not
# (Sec. 5).

# %%
fig = kviz.speedup_figure(gpu)
savefig(fig, "05_gpu_kernels-speedup")
fig

# %%
for key, per_L in sp.items():
    growth = (per_L["262144"] / per_L["8192"]) ** (1 / 5)  # five doublings from 8K to 256K
    assert 1.6 < growth < 2.0, (key, growth)
t_mha, t_hy = bench.times(gpu, "mha", "fwd"), bench.times(gpu, "hyena", "fwd")
assert t_mha[2**19][0] > 1000 and 140 < t_hy[2**19][0] < 160  # one second vs 0.15 s at 512K
oom = {(p["bench"], p["pass"], p["L"]) for p in gpu["points"] if p["status"] == "oom"}
assert ("hyena", "fwd+bwd", 2**20) in oom and ("fftconv", "fwd+bwd", 2**20) in oom

# %% [markdown]
# ### Memory vs $L$
#
# Peak memory that one call allocates beyond its inputs and weights (outputs and, with the
# backward, saved activations and gradients included). With a fixed number of tokens, the
# fused attention kernels need memory proportional to the tokens: SDPA's forward allocates only
# its output (0.4 GiB) at every length up to 256K. The naive attention's scores take
# $B \cdot H \cdot L^2$ numbers, i.e. $T H L$: 30 GiB at 1K, 60 GiB at 2K, then more than the
# GPU has. The FFT convolution, although $O(T)$ too, is memory-*hungry*: it computes in
# float32 on zero-padded sequences of length $2L$, so its forward allocates 16 times its bf16
# input; the Hyena operator with its two convolutions reaches 46 GiB at 1M tokens forward, and
# its forward+backward does not fit at 1M.

# %%
fig = kviz.memory_figure(gpu)
savefig(fig, "05_gpu_kernels-memory")
fig

# %%
mem = {(p["bench"], p["pass"], p["L"]): p["peak_mem_mb"] for p in gpu["points"]
       if p["peak_mem_mb"] and p["backend"] not in ("flash", "efficient", "math")}
u_mib = 2**18 * 768 * 2 / 2**20  # one bf16 tensor of 2^18 tokens x 768 channels
assert all(abs(mem["sdpa", "fwd", n] - u_mib) < 1 for n in meta["lengths"] if n <= 2**18)
assert 30 < mem["naive", "fwd", 1024] / 1024 < 61 and 60 < mem["naive", "fwd", 2048] / 1024 < 61
assert ("naive", "fwd", 4096) not in mem
assert 15 < mem["fftconv", "fwd", 8192] / u_mib < 17
assert mem["hyena", "fwd", 2**20] > 45 * 1024 and ("hyena", "fwd+bwd", 2**20) not in mem

# %% [markdown]
# ## 4. The roofline: why the FFT convolution is memory-bound
#
# The FFT convolution of $u$ (B, d, L) with $k$ (d, L) must at least read $u$ and $k$ and write
# $y$: $Q_{\min} = (2BdL + dL) \cdot 2$ bytes in bf16. Its FLOPs are
# $F \approx Bd\,(5 \cdot 2L \log_2 2L)$. Their ratio, the **arithmetic intensity**
# $F / Q_{\min} \approx 2.5 \log_2 (2L)$, is 29 to 54 FLOP/byte for $L$ = 1K .. 1M. The
# **ridge point** of the tensor-core roofline, $P/B$ = 790 TFLOP/s / 2.9 TB/s $\approx$ 270
# FLOP/byte, is 5 to 10 times higher: whatever the implementation, an FFT convolution cannot
# keep the matrix units busy; it is bound by memory bandwidth (this is the argument of
# FlashFFTConv, Fu et al. 2023, which computes the FFT *as* matrix products to reach the
# tensor cores). On the fp32 units (ridge 17 FLOP/byte) a perfectly fused FFT convolution would
# be compute-bound, with a floor 1.7 to 3 times above the HBM floor.
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
assert all(28.5 < r["intensity_flop_per_byte"] < 54 < ceil.ridge() / 5 for r in rows.values())
assert 265 < ceil.ridge() < 275 and 17 < ceil.ridge("fp32") < 18
assert all(1.6 < r["fp32_compute_floor_ms"] / r["hbm_floor_ms"] < 3.1 for r in rows.values())
assert 30 < rows["1024"]["gap"] < 33 and 45 < rows["262144"]["gap"] < 53
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
# roof. SDPA (squares) runs at 350-480 TFLOP/s, 44-61% of the bf16 matrix rate.

# %%
fig = kviz.roofline_figure(gpu)
savefig(fig, "05_gpu_kernels-roofline")
fig

# %%
r1k = rows["1024"]
t_unfused = roofline.fftconv_unfused_bytes(256, 768, 1024) / ceil.bandwidth * 1e3
achieved = roofline.fftconv_unfused_bytes(256, 768, 1024) / (r1k["measured_ms"] * 1e-3)
assert 6.0 < t_unfused < 6.2 and 8.3 < r1k["measured_ms"] < 8.5
assert 2.0e12 < achieved < 2.2e12 and 0.70 < achieved / ceil.bandwidth < 0.74
cudnn = [p["flops"] / (p["time_ms"] * 1e-3) for p in gpu["points"] if p["backend"] == "cudnn"
         and p["bench"] == "sdpa" and p["pass"] == "fwd" and p["status"] == "ok"]
assert 350e12 < min(cudnn) and max(cudnn) < 480e12 and max(cudnn) / ceil.matmul_flops < 0.61

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
# convolution (`_conv_depthwise2d`, 6 ms for a memory-bound operation with a floor near 1 ms)
# the rest.

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
assert 36 < total < 38 and 4.5 < fft < 5 and 1.7 < proj < 1.9
assert 5.5 < ops["aten::_conv_depthwise2d"] < 6.5
attn_ops = {o["name"]: o["ms"] for o in lp["mha/fwd"]["ops"]}
assert 0.78 < attn_ops["aten::_cudnn_attention_forward"] / lp["mha/fwd"]["total_ms"] < 0.82

# %% [markdown]
# ## 5. Comparison with the paper
#
# | | paper (A100, batch 64) | measured here (H100, $2^{18}$ tokens per batch) |
# |---|---|---|
# | crossover | ~6K (blog) | 54K layer fwd, 39K fwd+bwd; 10K kernel fwd |
# | speedup at 8K | 2x (abstract); 1.4x in its Fig. 4.3 data | 0.26x layer fwd; 0.82x kernel fwd |
# | speedup at 64K | 100x (abstract); 11.4x in its Fig. 4.3 data | 1.1x layer fwd; 3.5x kernel fwd |
# | speedup at 256K | | 3.7x layer fwd (5.3x fwd+bwd); 12x kernel fwd (17x fwd+bwd) |
#
# First, the paper's "100x at 64K" is not what its own Figure 4.3 shows: the numbers behind that
# figure give 1.4x at 8K and 11.4x at 64K (`PAPER_FACTS`). Against those, the shape of our
# curves agrees (the speedup roughly doubles per doubling of $L$) but they are shifted by a
# factor of about 5 to 10 toward attention. Four reasons, in decreasing order of weight:
#
# 1. **The FFT convolution here is unfused.** PyTorch's `fftconv` moves 22x its minimal bytes
#    and runs 30-50x above its HBM floor (Sec. 4); the paper benchmarked a fused CUDA FFT
#    convolution. The roofline model of Sec. 1 shows what that is worth: a fused convolution
#    puts the layer crossover at 4K, the unfused byte count at 26K.
# 2. **The operator around it is unfused too.** Casts, layout copies, gates and the depthwise
#    short convolution take 80% of the Hyena operator's forward time at 8K; its two FFT
#    convolutions alone would cross attention at 10K (kernel level), the whole operator at 54K.
# 3. **Attention got much faster.** cuDNN's attention on this H100 reaches 350-480 TFLOP/s in
#    bf16, more than the A100's whole bf16 matrix peak (312 TFLOP/s, datasheet). From A100 to
#    H100 the matrix rate grew about 2.5x (312 to 790 TFLOP/s, measured here), the bandwidth
#    only about 1.5x (2.0 TB/s on the datasheet of the 80 GB A100, 2.9 TB/s measured here).
#    Compute-bound attention gained more from the new GPU than memory-bound FFTs: the crossover
#    moves right on every new generation unless the FFT moves to the tensor cores too
#    (FlashFFTConv).
# 4. **Setup.** The paper fixes the batch at 64 (tokens grow with $L$); here the tokens are
#    fixed. Both layers scale linearly with the batch, so the ratios at one $L$ hardly depend on
#    it, as long as the GPU is full (it is: $2^{18}$ tokens per call).
#
# The claim that survives: at fixed work per token, attention's cost per token grows linearly in
# $L$ and Hyena's logarithmically, so beyond some length Hyena wins by a factor that keeps
# growing: 3.7x at 256K and an attention layer that needs a second per call at 512K, where the
# Hyena operator needs 0.15 s. Where that length lies is a question of kernels, not of
# asymptotics.

# %%
paper_fig = kviz.PAPER["figure_speedup"]
shift = [paper_fig[n] / sp["layer/fwd"][str(n)] for n in (8192, 65536)]
assert all(5 < f < 11 for f in shift), shift  # "shifted by a factor of about 5 to 10"
assert 2.4 < ceil.matmul_flops / 312e12 < 2.6 and 1.4 < ceil.bandwidth / 2.0e12 < 1.5

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
#   like $\log L$; in FLOPs Hyena is cheaper from $L \approx 100$. In *time* the crossover is
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
# * The paper's "2x at 8K, 100x at 64K" is not reproduced; its own figure data (1.4x, 11.4x)
#   have the slope we measure, shifted by the kernels' quality and the GPU generation.
#
# ## Exercises
#
# 1. **How much fusion is needed?** With `complexity_figure` (or `layer_time_model`), find the
#    FFT byte factor at which the model's layer crossover reaches the measured 54K. What does
#    the difference to the measured 22x tell you about the rest of the operator?
# 2. **Cut one pass.** Write a variant of `fftconv` that skips one of the passes counted in
#    `fftconv_unfused_bytes` (for example, let `torch.fft.rfft` pad by itself from a bf16-to-fp32
#    cast, or drop the cast back). Predict its time from the byte count before measuring it with
#    `bench.time_call`, then measure (on a GPU if you have one).
# 3. **Batch 64 as in the paper.** Re-run `python -m hyena_lab.bench` with `--tokens` equal to
#    64 x L at each length (one run per length, `--lengths L`). Predict first from the complexity
#    argument whether the speedups at 8K and 64K change, then compare.

# %% [markdown]
# ### Check your answers
#
# Exercise 2 is checked for correctness (its timing is yours to measure); three short
# exercises on the paper's numbers follow. Exercises 1 and 3 are open projects.
#
# **Exercise 2 (correctness first).** Before timing your variant of `fftconv`, check it: the
# checker compares it with the float64 definition for float32 and bfloat16 inputs
# (relative error below 1e-5 and 2e-2), odd lengths included, output in the input's dtype.

# %%
from hyena_lab.exercises import (
    PAPER_FIGURE_4_3_MS,
    check_attention_flops,
    check_fftconv_variant,
    check_max_naive_attention_length,
    check_published_speedups,
)


def my_fftconv(u: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """fftconv with one memory pass less; same result, same dtype as u."""
    raise NotImplementedError("exercise 2: your variant here")


check_fftconv_variant(my_fftconv)

# %% [markdown]
# **Exercise 4 (count).** FLOPs of `QK^T` and `PV` for `q, k, v` of shape
# `(batch, heads, L, head_dim)`, softmax left out, with and without the causal mask. The
# checker compares with `roofline.attention_cost`.


# %%
def attention_flops(batch: int, heads: int, L: int, head_dim: int, causal: bool) -> float:
    """FLOPs of the two matrix products of scaled dot-product attention."""
    raise NotImplementedError("exercise 4: your answer here")


check_attention_flops(attention_flops)

# %% [markdown]
# **Exercise 5 (why "X" in Table 4.2).** A plain attention layer stores its
# `(batch, heads, L, L)` score matrix. Return the longest `L` whose scores fit in
# `memory_bytes` at `elt_bytes` per entry.


# %%
def max_naive_attention_length(
    batch: int, heads: int, memory_bytes: int, elt_bytes: int
) -> int:
    """The largest L with batch * heads * L^2 * elt_bytes <= memory_bytes."""
    raise NotImplementedError("exercise 5: your answer here")


check_max_naive_attention_length(max_naive_attention_length)

# %% [markdown]
# **Exercise 6 (read the figure).** From the forward times behind Figure 4.3
# (`PAPER_FIGURE_4_3_MS`: A100, batch 64), compute Hyena's speedup over FlashAttention,
# $t_\text{attention} / t_\text{Hyena}$, as a dict `{length: speedup}`. Compare with the
# abstract's "100x at 64K".

# %%
print(PAPER_FIGURE_4_3_MS)
published_speedups: dict[int, float] = {}  # your answer: {1024: ..., ..., 65536: ...}
check_published_speedups(published_speedups)
