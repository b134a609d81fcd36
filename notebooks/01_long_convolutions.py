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
# # Chapter 1: Long convolutions, Toeplitz matrices and the FFT
#
# Hyena (Poli et al., 2023, arXiv 2302.10866) replaces attention by a chain of **long
# convolutions** and element-wise gates. Before any of that, this chapter takes the long
# convolution itself apart.
#
# **What you will learn**
#
# 1. A causal convolution $y = h * u$ with a filter as long as the input is a matrix-vector
#    product with a lower-triangular **Toeplitz** matrix $S_h$ (paper Sec. 2.1 and 3.2).
# 2. *Causal* means the future cannot leak into the past, and how to test it.
# 3. The **convolution theorem** computes it in $O(L \log L)$ with the FFT, but only after
#    **zero-padding to $2L$**: without padding, the end of the sequence wraps around onto its
#    start.
# 4. $O(L^2)$ against $O(L \log L)$: counted (log-log slopes 2 and about 1.1), then timed on a
#    CPU, in a committed record that names its machine and live on yours.
# 5. A widget to slide filters (decay, delay, moving average, random) and watch $S_h$ and $y$.
#
# **Prerequisites**: matrix-vector products, basic PyTorch tensors; complex exponentials help
# for Section 3.
#
# **Run time**: chapter 00's table lists the measured time of every chapter; most of this one's
# is the CPU timing of Section 4.
#
# The mathematics is in `hyena_lab.conv` (`direct_conv`, `toeplitz`, `fftconv`,
# `circular_fftconv`); the figures and filters of this chapter in `hyena_lab.viz.conv`, its
# timings in `hyena_lab.experiments.conv_costs`, also a command: `hyena-lab conv-costs --help`.

# %%
import math
import os

import torch
import torch.nn.functional as F

from hyena_lab import circular_fftconv, direct_conv, fftconv, toeplitz
from hyena_lab.checks import (
    F64_SAME_ALGEBRA,
    direct_conv_error_bound,
    fftconv_error_bound,
    rel_err,
)
from hyena_lab.experiments import conv_costs
from hyena_lab.experiments.conv_costs import (
    fitted_slopes,
    loglog_slope,
    measure_conv_costs,
    speedup_at_largest_common_length,
    time_interleaved,
)
from hyena_lab.experiments.examples import example_filter, matrix_of, probe_input
from hyena_lab.paper import PAPER_FIGURE_4_3_MS
from hyena_lab.roofline import (
    CONV_METHODS,
    counted_conv_work,
    counted_crossover,
    direct_conv_cost,
    fftconv_cost,
)
from hyena_lab.viz import load_data, save_data, savefig, use_style
from hyena_lab.viz.conv import (
    ConvExplorer,
    conv_cost_figure,
    conv_explorer_figure,
    describe_machine,
    toeplitz_figure,
    wraparound_figure,
)

use_style()
torch.manual_seed(0)
gen = torch.Generator().manual_seed(0)  # every random tensor below comes from this generator


# %% [markdown]
# ## 1. A causal convolution is a lower-triangular Toeplitz matrix
#
# A causal convolution of an input $u = (u_0, \dots, u_{L-1})$ with a filter
# $h = (h_0, \dots, h_{L-1})$ of the **same length** $L$ (that is what makes it *long*: a CNN's
# filter has only a handful of taps) is
#
# $$
# y_t = (h * u)_t = \sum_{s=0}^{t} h_{t-s}\, u_s, \qquad t = 0, \dots, L-1. \tag{1}
# $$
#
# Output $t$ is a weighted sum of the inputs up to time $t$, weighted by how long ago they came:
# $h_j$ is the weight of an input $j$ steps in the past. Since (1) is linear in $u$, it is a
# matrix-vector product $y = S_h u$ (paper Sec. 2.1 and Sec. 3.2), with
#
# $$
# (S_h)_{ts} = h_{t-s} \ \text{ for } t \ge s, \qquad (S_h)_{ts} = 0 \ \text{ for } t < s,
# \tag{2}
# $$
#
# that is,
#
# $$
# S_h = \begin{bmatrix}
#   h_0     & 0       & \cdots & 0 \\
#   h_1     & h_0     & \cdots & 0 \\
#   \vdots  & \vdots  & \ddots & \vdots \\
#   h_{L-1} & h_{L-2} & \cdots & h_0
# \end{bmatrix}.
# $$
#
# Two structural facts are visible in (2):
#
# * **Toeplitz**: the entry depends only on $t - s$, so $S_h$ is constant along each diagonal,
#   $(S_h)_{t+1, s+1} = (S_h)_{t, s}$: the same filter is applied at every position (time
#   invariance). Its first column is $h$ itself.
# * **Lower triangular**: nothing above the diagonal, because $y_t$ never reads $u_s$ with
#   $s > t$ (causality, Section 2).
#
# Hyena's operator (Sec. 3.2) is a product of such matrices $S_h^n$ with diagonal gates
# $D_x^n$; this chapter is about a single $S_h$. In code, `toeplitz(h)` builds $S_h$ and
# `direct_conv(u, h)` evaluates (1) lag by lag. The convolution functions take channels before
# time, `u` of shape `(..., d, L)` and `h` of shape `(d, L)` (one filter per channel, as in the
# official code), so a single sequence is a batch of one channel: `u[None]`.
#
# We check $S_h u = $ `direct_conv(u, h)` in float64 for an even, an odd and the shortest length.
# Both sum the same at most $L$ products in a different order, so they agree to round-off:
# `F64_SAME_ALGEBRA` ($10^{-12}$ relative, from `hyena_lab.checks`, where its error analysis is
# written down).

# %%
for L in (8, 33, 1):
    h = torch.randn(L, generator=gen, dtype=torch.float64)  # filter (L,)
    u = torch.randn(L, generator=gen, dtype=torch.float64)  # input (L,)
    S_h = toeplitz(h)  # (L, L)
    y_def = direct_conv(u[None], h[None])[0]  # (1, L) -> (L,), by definition (1)
    assert rel_err(S_h @ u, y_def) < F64_SAME_ALGEBRA == 1e-12, "y = S_h u (reordered sums)"
    assert torch.equal(S_h, torch.tril(S_h)), "lower triangular"
    assert torch.equal(S_h[1:, 1:], S_h[:-1, :-1]), "constant along every diagonal"
    assert torch.equal(S_h[:, 0], h), "first column is the filter"
print(f"S_h u == direct_conv(u, h) to < {F64_SAME_ALGEBRA:.0e} relative; S_h lower triangular "
      f"and Toeplitz: L = 8, 33, 1")

# %% [markdown]
# The figure shows $S_h$ of a decaying filter $h_j = e^{-j/3}$ for $L = 8$, each cell labelled
# with the tap it holds: the diagonals carry $h_0, h_1, \dots$, and the upper triangle is empty.

# %%
h8 = example_filter("exponential decay", 8, 3.0)
fig = toeplitz_figure(h8)
savefig(fig, "01_long_convolutions-toeplitz")
fig

# %% [markdown]
# Writing $S_h$ down is fine for a picture but not for long sequences: it has $L^2$ entries, of
# which $L(L-1)/2$ are zero, and even skipping the zeros the mat-vec costs $L(L+1)/2$
# multiply-adds per channel (a dense mat-vec does all $L^2$). At $L = 64\text{K}$ tokens, the
# longest sequences of the paper's speed benchmark (Fig. 4.3, Sec. 4.4), one float32 $S_h$ would
# take 16 GiB per channel.

# %%
S_8 = toeplitz(h8)  # (8, 8), all taps of h8 are non-zero
assert int((S_8 == 0).sum()) == 8 * 7 // 2, "L (L - 1) / 2 zeros above the diagonal"
assert sum(t + 1 for t in range(8)) == 8 * 9 // 2  # multiply-adds of (1): sum over t of (t + 1)
L_paper = max(PAPER_FIGURE_4_3_MS["lengths"])  # the paper's Fig. 4.3 (copied with its source)
assert L_paper == 64 * 1024 and L_paper**2 * 4 == 16 * 2**30  # float32 (L, L): 16 GiB

# %% [markdown]
# ## 2. Causality: the future cannot leak into the past
#
# A sequence model that predicts the next token must not see it: $y_t$ may depend on
# $u_0, \dots, u_t$ only. For a convolution this is exactly "$S_h$ is lower triangular". The
# test is to **perturb the future** and check that the past outputs do not move:
# change $u_s$ for $s \ge t_0$ and compare $y_{<t_0}$.
#
# `direct_conv` never reads the future, so its past outputs are bit-identical. `fftconv`
# (Section 3) mixes all positions inside the FFT and un-mixes them again, so its past outputs
# move by round-off only. How much round-off is allowed comes from the FFT's error analysis
# (`hyena_lab.checks.fftconv_error_bound`, after Higham's bound for the FFT): a bound on the
# error of the whole output, of the size of the round-off of the whole signal, future included;
# a real leak would move the past by something of the size of the change.

# %%
L, d, t0 = 64, 4, 40
u = torch.randn(2, d, L, generator=gen, dtype=torch.float64)  # (batch, d, L)
h = torch.randn(d, L, generator=gen, dtype=torch.float64)  # (d, L)
u_future = u.clone()
u_future[..., t0:] += 10 * torch.randn(2, d, L - t0, generator=gen, dtype=torch.float64)

y, y_pert = direct_conv(u, h), direct_conv(u_future, h)
assert torch.equal(y[..., :t0], y_pert[..., :t0]), "direct_conv: the past is bit-identical"
assert not torch.allclose(y[..., t0:], y_pert[..., t0:]), "... while the future changes"

y, y_pert = fftconv(u, h), fftconv(u_future, h)
past_change = (y_pert - y)[..., :t0].norm()  # both are within their bound of the same exact past
allowed = fftconv_error_bound(u, h) + fftconv_error_bound(u_future, h)
assert past_change <= allowed, "fftconv: the past moves by round-off only"
assert not torch.allclose(y[..., t0:], y_pert[..., t0:])
assert (y - direct_conv(u, h)).norm() <= fftconv_error_bound(u, h) + direct_conv_error_bound(
    u, h), "and fftconv computes the same convolution, within both methods' round-off"
print(f"fftconv: the past moved by {past_change:.1e} (norm), round-off bound {allowed:.1e}; the "
      f"future moved by {(y_pert - y)[..., t0:].norm():.1e}")

# %% [markdown]
# ## 3. The convolution theorem, and why the FFT must be padded to 2L
#
# The discrete Fourier transform (DFT) of length $N$ is
# $\hat x_k = \sum_{n=0}^{N-1} x_n\, e^{-2\pi i k n / N}$, and the FFT computes it in
# $O(N \log N)$. The **convolution theorem** says that the DFT turns a *circular* convolution
# into a pointwise product:
#
# $$
# (h \circledast_N u)_t = \sum_{s=0}^{N-1} h_{(t - s) \bmod N}\, u_s
# \quad\Longleftrightarrow\quad
# \widehat{(h \circledast_N u)}_k = \hat h_k\, \hat u_k, \tag{3}
# $$
#
# or in matrices: the circulant matrix $C_h$ with $(C_h)_{ts} = h_{(t-s) \bmod N}$ is
# diagonalised by the DFT matrix $\mathcal{F}$, $C_h = \mathcal{F}^{-1}\,
# \mathrm{diag}(\mathcal{F} h)\, \mathcal{F}$. So $y = \mathrm{iFFT}(\mathrm{FFT}(h) \odot
# \mathrm{FFT}(u))$ costs three FFTs and one product: $O(L \log L)$ instead of $O(L^2)$.
#
# **The catch.** (3) is circular, (1) is not. With $N = L$, for $s > t$ the index
# $(t - s) \bmod L = L + t - s$ is not negative, so the *future* input $u_s$ enters $y_t$ with
# the *tail* of the filter, $h_{L+t-s}$: $C_h = S_h + (\text{the tail of } h \text{ wrapped into
# the upper triangle})$. The fix is to zero-pad $u$ and $h$ to length $N = 2L$: their linear
# convolution $z = h * u$ has $2L - 1$ nonzero terms, which fit in $2L$ without wrapping, and
# the first $L$ of them are (1):
#
# $$
# y = \Big[\, \mathrm{iFFT}_{2L}\big(\mathrm{FFT}_{2L}(h) \odot \mathrm{FFT}_{2L}(u)\big)
# \Big]_{0:L}. \tag{4}
# $$
#
# This is `fftconv`; `circular_fftconv` is (3) with $N = L$, kept to show what goes wrong.
# The wrong result is in fact the right one **plus the part that wrapped around**: with
# $z$ the full (padded) linear convolution,
#
# $$
# (h \circledast_L u)_t = z_t + z_{t+L}, \qquad t = 0, \dots, L-1. \tag{5}
# $$
#
# A clean way to see it: put a single impulse at the **end** of the input, $u = e_{L-1}$. A
# causal convolution can only answer at $t = L-1$. The circular one answers at every earlier
# time with the shifted filter, $y_t = h_{t+1}$.

# %%
L = 16
u = torch.zeros(L, dtype=torch.float64)
u[L - 1] = 1.0  # an impulse at the very end
h = example_filter("exponential decay", L, 4.0)  # h_j = exp(-j / 4)

y_ref = direct_conv(u[None], h[None])[0]  # (L,) definition (1)
y_fft = fftconv(u[None], h[None])[0]  # (L,) FFT padded to 2L, eq. (4)
y_circ = circular_fftconv(u[None], h[None])[0]  # (L,) FFT of length L, eq. (3)

# round-off bounds (hyena_lab.checks): an FFT path, and an FFT path against the definition; the
# unpadded FFT of length L has a smaller bound than the padded one of length 2L, so `fft_tol`
# covers both
fft_tol = fftconv_error_bound(u[None], h[None])
assert torch.equal(y_ref[: L - 1], torch.zeros(L - 1, dtype=torch.float64))
assert y_fft[: L - 1].norm() <= fft_tol, "padded: causal (zero before t = L-1, up to round-off)"
assert (y_fft - y_ref).norm() <= fft_tol + direct_conv_error_bound(u[None], h[None])
assert y_circ[0] > 0.75, "circular: the impulse at t = L-1 already shows at t = 0"
assert (y_circ[: L - 1] - h[1:]).norm() <= fft_tol, "circular: y_t = h_{t+1}, the wrapped filter"

# The matrices of both maps, probed with unit impulses (column s = response to e_s):
S = matrix_of(lambda x: fftconv(x, h[None]), L)
C = matrix_of(lambda x: circular_fftconv(x, h[None]), L)
lag_mod_L = (torch.arange(L)[:, None] - torch.arange(L)[None, :]) % L
mat_tol = fftconv_error_bound(torch.eye(L, dtype=torch.float64)[:, None], h[None])  # L probes
assert (S - toeplitz(h)).norm() <= mat_tol, "padded FFT = S_h"
assert (C - h[lag_mod_L]).norm() <= mat_tol, "unpadded FFT = circulant C_h[t, s] = h[(t-s) mod L]"
assert (torch.tril(C) - toeplitz(h)).norm() <= mat_tol, "C_h = S_h + a wrapped upper triangle"

fig = wraparound_figure(u, h)
savefig(fig, "01_long_convolutions-wraparound")
fig

# %% [markdown]
# Panel (d) is eq. (5) at work: the length-$2L$ circular convolution of the padded signals is
# the full linear convolution; its first half is what `fftconv` keeps, its second half is
# exactly the tail that, without padding, lands on $t = 0, 1, \dots$ in panel (c).
#
# The same identities hold for any input and filter, and for any length: odd, prime, and
# $L = 1$ (where nothing can wrap, so circular and causal agree). `torch.fft` accepts any
# transform length, so $2L$ need not be a power of two.

# %%
# NBVAL_CHECK_OUTPUT
for L in (1, 2, 3, 7, 31, 100, 257, 1000):
    u = torch.randn(2, 3, L, generator=gen, dtype=torch.float64)  # (batch, d, L)
    h = torch.randn(3, L, generator=gen, dtype=torch.float64)  # (d, L)
    ref = direct_conv(u, h)
    fft_tol = fftconv_error_bound(u, h)  # round-off of one FFT convolution (hyena_lab.checks)
    tol = fft_tol + direct_conv_error_bound(u, h)  # ... compared with the definition
    assert (fftconv(u, h) - ref).norm() <= tol, f"fftconv at L={L}"
    z = circular_fftconv(F.pad(u, (0, L)), F.pad(h, (0, L)))  # (2, 3, 2L), padded: eq. (4)
    assert (z[..., :L] - ref).norm() <= tol, "the first L of the padded circular conv are (1)"
    # eq. (5): two FFT results; the sum of z's halves has at most sqrt(2) times z's round-off
    assert (circular_fftconv(u, h) - (z[..., :L] + z[..., L:])).norm() <= 3 * fft_tol
    if L == 1:
        assert (circular_fftconv(u, h) - ref).norm() <= tol, "L = 1: nothing to wrap"
    print(f"L = {L:4d}: fftconv == direct_conv, and eq. (5) holds")

# %% [markdown]
# ## 4. The cost: O(L²) against O(L log L), counted and measured
#
# **Counted work.** Per channel, counting as `hyena_lab.roofline` does (a real FFT of length $n$
# costs $2.5\, n \log_2 n$ FLOP, the usual count for real-input FFTs):
#
# * `direct_conv`: output $t$ sums $t + 1$ products, $\sum_{t=0}^{L-1} (t+1) = L(L+1)/2$
#   multiply-adds, $L(L+1)$ FLOP: $O(L^2)$.
# * the mat-vec $S_h u$: a dense mat-vec multiplies the zeros above the diagonal too, $2L^2$
#   FLOP, and reads all $L^2$ entries of $S_h$: $O(L^2)$ memory traffic as well as work.
# * `fftconv`: three real FFTs of length $2L$ (of $u$, of $h$, and the inverse) and $L + 1$
#   complex products of 6 FLOP: $3 \cdot 2.5 \cdot 2L \log_2(2L) + 6(L+1) = 15 L \log_2(2L) +
#   6(L+1)$ FLOP: $O(L \log L)$.
#
# A cost $c L^p$ is a straight line of slope $p$ on log-log axes. Over $L = 2^{10} \dots 2^{14}$
# the slope of $L \log L$ is about $1 + 1/\ln L \approx 1.1$ (the logarithm grows a little), and
# that of $L^2$ is 2. The definition needs fewer FLOPs at short $L$ (the FFT pays for three
# transforms), the FFT at long $L$. These counts are the same on every machine, so this is where
# the chapter asserts its growth claims.

# %%
Ls = [2**p for p in range(6, 15)]  # L = 64 .. 16384
work = counted_conv_work(Ls)  # {method: {"L", "flops", "bytes"}} per channel, batch 1
flop_slopes = {m: loglog_slope(Ls, work[m]["flops"], min_length=2**10) for m in CONV_METHODS}
ideal = loglog_slope(Ls[4:], [L * math.log(L) for L in Ls[4:]])  # L log L over 2^10 .. 2^14
L_cross = counted_crossover()  # smallest L from which fftconv counts fewer FLOPs (up to 2^14)
flop_ratio = work["direct_conv"]["flops"][-1] / work["fftconv"]["flops"][-1]  # at L = 2^14
print(", ".join(f"counted slope {m} = {s:.3f}" for m, s in flop_slopes.items()))
print(f"fftconv counts fewer FLOPs than direct_conv from L = {L_cross}; "
      f"{flop_ratio:.0f}x fewer at L = {Ls[-1]}")
assert 1.1 < ideal < 1.15 and abs(flop_slopes["fftconv"] - ideal) < 0.03, "L log L: slope ~1.1"
assert abs(flop_slopes["direct_conv"] - 2) < 1e-3, "L (L + 1): slope 2"
assert abs(flop_slopes["toeplitz_matvec"] - 2) < 1e-12, "2 L^2: slope 2 exactly"
assert L_cross == 125 and round(flop_ratio, -1) == 70, "the numbers quoted below"
work_512 = counted_conv_work(Ls, channels=512)  # every count is d times the per-channel one
assert all(math.isclose(a, 512 * b, rel_tol=1e-12) for m in CONV_METHODS
           for a, b in zip(work_512[m]["flops"], work[m]["flops"], strict=True))

# %% [markdown]
# In counted work the FFT does less than the definition from $L = 125$ on, and about 70x less at
# $L = 2^{14}$; both counts scale with the number of channels $d$, so $d$ does not move the
# crossover. Panel (a) of the figure below draws these counts.
#
# **Measured time.** Counting is not timing. A real clock adds:
#
# * a fixed cost per call (Python, argument checks, dispatch), so at small $L$ every curve is
#   flat; slopes are read from the **large-$L$ part** of each curve;
# * for `direct_conv`, a Python loop over the $L$ lags: a fixed cost per lag plus
#   $d\,(L - j)$ multiply-adds. It only looks quadratic once $d \cdot L$ is large, which is why
#   we time $d = 512$ channels;
# * memory: once the arrays outgrow the CPU's caches, every step up in $L$ also pays for cache
#   misses and fresh pages, which the count leaves out. This bends the measured curves up, the
#   FFT's included, by an amount that depends on the machine.
#
# How we time (`measure_conv_costs`): one thread (we compare algorithms, not cores); each point is
# the best of three rounds that visit all lengths in turn, each round a median of repeated calls
# (`hyena_lab.measure.time_calls`, the handbook's one timer): other programs can only add time,
# and interleaving spreads their bursts over all points. Each method stops before a single call
# would take more than `max_call_s` (predicted from its last time), and the Toeplitz mat-vec also
# when $S_h$ (shape `(d, L, L)`) would exceed `toeplitz_max_bytes`: the $O(L^2)$ curves end
# early, which is the point.
#
# A time depends on the machine, so the handbook keeps one measurement with its processor, torch
# version and date: `figures/data/01_long_convolutions-cpu_timing.json`, read with
# `hyena_lab.viz.load_data` (to re-make it on your machine, run the chapter with
# `HYENA_LAB_RECOMPUTE=1 make handbook`, or the same experiment as a command,
# `hyena-lab conv-costs --out figures/data/01_long_convolutions-cpu_timing.json`: a few
# minutes). The claims below are checked on that record; its numbers are printed from it.
# Compare the measured speedup with the ratio of counted FLOPs printed next to it: a clock also
# pays for memory traffic and per-call overhead, which the count leaves out.

# %%
RECORD = "01_long_convolutions-cpu_timing"
if os.environ.get("HYENA_LAB_RECOMPUTE", "0") == "1":  # re-make the committed record (minutes)
    save_data(conv_costs.run(conv_costs.ConvCostsConfig()), RECORD, schema="conv-costs")
record = load_data(RECORD)  # the committed record, not this run's
res = record["results"]  # {method: {"L": [...], "seconds": [...]}}
rec_slopes = fitted_slopes(record)  # fftconv over 2^10..2^14, the others their last 2 octaves
L_rec, speedup_rec = speedup_at_largest_common_length(record, "fftconv", "direct_conv")
counted_rec = direct_conv_cost(1, 1, L_rec).flops / fftconv_cost(1, 1, L_rec).flops
print(f"recorded on {describe_machine(record)}, float32, u {record['shapes']['u']}")
for m, s in rec_slopes.items():
    print(f"  slope of {m}: {s:.2f} measured, {flop_slopes[m]:.2f} counted")
print(f"  at L = {L_rec}, the longest both were timed at: fftconv {speedup_rec:.0f}x faster "
      f"than direct_conv (counted FLOPs: {counted_rec:.0f}x)")
L_end = {m: res[m]["L"][-1] for m in CONV_METHODS}  # the longest L each was timed at
print(f"  longest L timed: {L_end}")
assert record["num_threads"] == 1 and record["channels"] == 512 and record["rounds"] == 3
assert min(rec_slopes["direct_conv"], rec_slopes["toeplitz_matvec"]) > 1.7, "about L^2 or more"
assert 1.0 < rec_slopes["fftconv"] < rec_slopes["direct_conv"], "the FFT's time grows slower"
assert speedup_rec > 5, "the FFT wins by a wide margin at the longest common length"
assert L_end["fftconv"] > L_end["direct_conv"], "the FFT reaches longer L within max_call_s"

# %% [markdown]
# So on the recorded machine the $O(L^2)$ ways grow about quadratically or faster, the FFT's time
# grows more slowly (but faster than linearly), the FFT is several times faster at the longest
# length where both were timed, and it reaches much longer sequences within the same time per
# call.
#
# **Your machine.** The next cell times the three ways again, here and now (each method stops
# before a single call would take more than `max_call_s`), and draws them (dashed) beside the
# record (solid). Nothing in it is asserted: it measures your machine, its caches and its load,
# and your numbers will differ from the record's (on a shared machine, by a lot). It saves its
# measurement with `save_data` into `hyena_lab.viz.figures_dir()` (a cache folder); only
# `make handbook` writes it into the repository, as the next record.

# %%
# NBVAL_IGNORE_OUTPUT
live = measure_conv_costs(Ls, channels=512, num_threads=1, seed=0, max_call_s=0.4, point_s=0.05)
L_live, speedup_live = speedup_at_largest_common_length(live, "fftconv", "direct_conv")
save_data(live, f"{RECORD}-live", schema="conv-costs")  # into figures_dir(), never read back
fig = conv_cost_figure(record, live)
savefig(fig, "01_long_convolutions-cpu_timing")
print(f"this run: {describe_machine(live)}")
print("  " + ", ".join(f"slope {m} = {s:.2f}" for m, s in live["fitted_slopes"].items()))
print(f"  at L = {L_live}: fftconv {speedup_live:.0f}x faster than direct_conv")
fig

# %% [markdown]
# One live timing *is* checked, because its claim is far above any noise: at $L = 4096$ the
# definition counts more than 10x the FFT's FLOPs, so timed alternately in the same cell
# (`time_interleaved`: a burst of load falls on both), the FFT must win by a wide margin on any
# machine. The assert asks for 5x, well below the counted ratio.

# %%
# NBVAL_IGNORE_OUTPUT
L, d = 4096, 32
u = torch.randn(1, d, L, generator=gen)  # (batch, d, L), float32
h = torch.randn(d, L, generator=gen)  # (d, L)
counted = direct_conv_cost(1, d, L).flops / fftconv_cost(1, d, L).flops
calls = {"fftconv": lambda: fftconv(u, h), "direct_conv": lambda: direct_conv(u, h)}
best = time_interleaved(calls, rounds=5)  # least seconds per call, the two in turn
ratio = best["direct_conv"] / best["fftconv"]
print(f"L = {L}, d = {d}: fftconv {best['fftconv'] * 1e3:.2f} ms, direct_conv "
      f"{best['direct_conv'] * 1e3:.0f} ms: {ratio:.0f}x faster (counted FLOPs: {counted:.0f}x)")
assert counted > 10, "the claim: at L = 4096 the definition counts over 10x the FFT's FLOPs"
assert ratio > 5, "interleaved live timing: the FFT wins far beyond noise"

# %% [markdown]
# ## 5. Explore: slide a filter
#
# The widget below draws a filter $h$, its Toeplitz matrix $S_h$ and the output $y = S_h u$ for
# a fixed probe input $u$ (a box on the first quarter, and a unit impulse at $L/2$ whose response
# is the filter itself). Four filter shapes, with one parameter each, counted in time steps (the
# `seed` slider redraws the random filter):
#
# | filter | $h_j$ | parameter |
# |---|---|---|
# | exponential decay | $e^{-j/\tau}$ | time constant $\tau > 0$ |
# | delay (shifted impulse) | $1$ if $j = k$, else $0$ | shift $0 \le k \le L-1$ |
# | moving average | $1/w$ for $j < w$, else $0$ | width $1 \le w \le L$ |
# | random | $\mathcal{N}(0, 1) \cdot e^{-j/\tau}$ | window time constant $\tau > 0$ |
#
# The random filter multiplied by a decaying window previews Hyena's filters (Sec. 3.3, an
# implicit filter times an exponential window). Each shape has a property we can check:
# a delay shifts the input exactly, a moving average is the mean of the last $w$ inputs, and the
# exponential decay is the same map as the one-state recurrence
# $y_t = e^{-1/\tau} y_{t-1} + u_t$, a tiny state-space model (Sec. 2.1): some long filters
# have a cheap recurrent form. (Each check compares `fftconv` with an independent formula for
# the same sums, of at most $L = 32$ terms of size $O(1)$, to `F64_SAME_ALGEBRA` as in
# Section 1.)

# %%
L = 32
u = probe_input(L)  # (L,)

k = 5
y = direct_conv(u[None], example_filter("delay (shifted impulse)", L, k)[None])[0]
assert torch.equal(y[k:], u[:-k]) and torch.equal(y[:k], torch.zeros(k, dtype=torch.float64))

w = 4
y = fftconv(u[None], example_filter("moving average", L, w)[None])[0]
c = F.pad(torch.cumsum(u, 0), (w, 0))  # c[t + w] = u_0 + ... + u_t, zeros before
assert rel_err(y, (c[w:] - c[:-w]) / w) < F64_SAME_ALGEBRA, "mean of the last w inputs"

tau = 3.0
y = fftconv(u[None], example_filter("exponential decay", L, tau)[None])[0]
a, state, y_rec = torch.exp(torch.tensor(-1 / tau, dtype=torch.float64)), 0.0, []
for u_t in u:  # y_t = a y_{t-1} + u_t
    state = a * state + u_t
    y_rec.append(state)
assert rel_err(y, torch.stack(y_rec)) < F64_SAME_ALGEBRA, "exponential filter == recurrence"

fig = conv_explorer_figure("exponential decay", L, tau)
savefig(fig, "01_long_convolutions-explorer")
fig

# %% [markdown]
# The explorer (`ConvExplorer`) below draws the same figure for the filter you pick. It needs a
# running kernel: in JupyterLab it redraws as you move a slider; a saved notebook or the static
# book shows its starting state only.

# %%
# NBVAL_IGNORE_OUTPUT
explorer = ConvExplorer(l_max=128)
explorer

# %% [markdown]
# Things to try: a delay of $k$ moves the diagonal of $S_h$ down by $k$ and shifts $y$; a wide
# moving average blurs the box; a small $\tau$ makes $S_h$ nearly diagonal ($y \approx u$); a
# large $\tau$ makes it a long memory.
#
# The sliders only offer valid values: whole numbers of steps (the shift, the width) have integer
# sliders whose ranges follow $L$, the time constants $\tau$ float sliders, and each filter shape
# keeps its own value when you switch to another shape and back. Called directly,
# `conv_explorer_figure` refuses invalid values (a delay $\ge L$, a width $< 1$, $L < 1$, an
# unknown shape) with a `ValueError` that says what was expected; should the explorer ever meet
# one, it shows that message in place of the figure.

# %%
# NBVAL_CHECK_OUTPUT
for bad in (("delay (shifted impulse)", 8, 8), ("moving average", 8, -2), ("gauss", 8, 1)):
    try:
        conv_explorer_figure(*bad)
    except ValueError as err:
        print("ValueError:", err)
    else:
        raise AssertionError(f"{bad} should have been refused")

# %% [markdown]
# ## Summary
#
# * A causal long convolution $y_t = \sum_{s \le t} h_{t-s} u_s$ is $y = S_h u$ with $S_h$
#   lower triangular (causality) and Toeplitz (the same filter at every position).
# * Causality is tested by perturbing the future: `direct_conv` keeps the past bit-identical,
#   `fftconv` up to round-off.
# * The FFT computes circular convolutions ($C_h$, eq. 3). Zero-padding to $2L$ (eq. 4) makes
#   the circular convolution equal the linear one on the first $L$ outputs; without padding
#   the tail wraps around (eq. 5) and the future leaks into the past.
# * Counted, the direct and Toeplitz paths cost $O(L^2)$ (log-log slope 2) and the FFT path
#   $O(L \log L)$ (slope about 1.1 at these lengths); the FFT does less work from $L = 125$ on.
#   Measured on a CPU (a committed record that names its machine, and a live run beside it), the
#   $O(L^2)$ paths grow about quadratically or faster, the FFT's time more slowly, and the FFT
#   wins by a wide margin at long $L$. This is what lets Hyena use filters as long as
#   the sequence.
#
# Still open: where Hyena's long filters $h$ come from (implicit filters, Sec. 3.3), and what the
# gates $D_x$ add to $S_h$ (Sec. 3.2).
#
# ## Exercises
#
# 1. **Products of Toeplitz matrices.** Show that $S_g S_h = S_{g * h}$, where $g * h$ is the
#    causal convolution of the two filters, and hence that $S_g S_h = S_h S_g$. Check it
#    numerically with `toeplitz` and `direct_conv`. Why does this fail for the products
#    $D_x S_h$ that Hyena builds?
# 2. **How much padding is enough?** Zero-pad $u$ and $h$ to length $N$ and use
#    `circular_fftconv`. Find the smallest $N$ for which the first $L$ outputs equal
#    `direct_conv` for every input, and show an input for which $N - 1$ fails.
# 3. **Where does the FFT start to win?** Re-run `measure_conv_costs` with `channels=1` and with
#    `channels=64`. At which $L$ does `fftconv` become faster than `direct_conv` in each case,
#    and why does the number of channels move the crossover and the slope of `direct_conv`?
# 4. **From scratch.** Write `fftconv` yourself with `torch.fft`.

# %% [markdown]
# ### Check your answers
#
# Write each answer as a function in the cell under its exercise and run the cell: the checker
# from `hyena_lab.exercises` replies `PASS` with what it verified, or `NOT YET` with what is
# wrong and a hint. The stubs below raise `NotImplementedError`, so every checker starts at
# `NOT YET`. Teachers: `exercises.show_solution("toeplitz_product")` prints a reference answer.

# %%
from hyena_lab.exercises import (
    check_causal_fftconv,
    check_crossover_length,
    check_fft_padding,
    check_toeplitz_product,
)

# %% [markdown]
# **Exercise 1.** Return the filter $f$ of shape `(L,)` with `toeplitz(g) @ toeplitz(h) ==
# toeplitz(f)`. The checker tries $L = 6, 13, 1$ with random filters.


# %%
def toeplitz_product_filter(g: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """The filter f with S_g S_h = S_f, for filters g and h of shape (L,)."""
    raise NotImplementedError("exercise 1: your answer here")


check_toeplitz_product(toeplitz_product_filter)

# %% [markdown]
# **Exercise 2.** `smallest_padding(L)` returns the smallest $N$; `padding_counterexample(L)`
# returns inputs `(u, h)` of shape `(L,)` whose first $L$ outputs come out wrong when both are
# zero-padded to $N - 1$ only (checked for $L = 2, 5, 16$).


# %%
def smallest_padding(L: int) -> int:
    """The smallest FFT length N for which circular == causal convolution on the first L outputs."""
    raise NotImplementedError("exercise 2: your answer here")


def padding_counterexample(L: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Signals u, h of length L >= 2 for which padding to N - 1 is not enough."""
    raise NotImplementedError("exercise 2: your counterexample here")


check_fft_padding(smallest_padding, padding_counterexample)

# %% [markdown]
# **Exercise 3.** First write the rule that reads a crossover off a timing table: the smallest
# measured length from which `fftconv` is *strictly* faster at that and at every longer length
# (`None` if it is not faster at the longest). The checker tries it on tables with a known
# answer (clean, noisy, always, never, a tie); then apply it to your own
# `measure_conv_costs(..., channels=1)` and `channels=64` measurements.


# %%
def crossover_length(
    lengths: list[int], t_fft: list[float], t_direct: list[float]
) -> int | None:
    """Smallest length from which the FFT stays strictly faster; None if it never does."""
    raise NotImplementedError("exercise 3: your answer here")


check_crossover_length(crossover_length)

# %% [markdown]
# **Exercise 4 (from scratch).** Write the causal FFT convolution yourself with `torch.fft.rfft`
# and `torch.fft.irfft`: `u` of shape `(..., d, L)`, `k` of shape `(d, L)`, output
# `(..., d, L)`. The checker compares it with `direct_conv` in float64 at
# $L = 1, 2, 7, 16, 31, 64$ and recognises the circular convolution if you forget the padding.


# %%
def my_fftconv(u: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Causal convolution of u (..., d, L) with k (d, L) by FFT."""
    raise NotImplementedError("exercise 4: your answer here")


check_causal_fftconv(my_fftconv)

# %% [markdown]
# ## Quiz
#
# 7 questions on the ideas of this chapter. Choose an answer and press **Check**: the
# feedback says why it is right, or which misconception the answer you chose stands for.
# `quiz_text(1)` gives the questions as text, to print.

# %% tags=["slides-skip"]
from hyena_lab.exercises import quiz

quiz(1)

# %% [markdown]
# **Next:** [Chapter 2: Hyena matrices](02_hyena_matrices.ipynb).
# Back to [the course outline](00_start_here.ipynb).
