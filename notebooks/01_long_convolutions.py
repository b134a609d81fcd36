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
# 4. How $O(L^2)$ and $O(L \log L)$ look when measured on your CPU (log-log slopes 2 and 1).
# 5. A widget to slide filters (decay, delay, moving average, random) and watch $S_h$ and $y$.
#
# **Prerequisites**: matrix-vector products, basic PyTorch tensors; complex exponentials help
# for Section 3.
#
# **Run time**: about 30 s on a laptop CPU, most of it in the timing of Section 4.
#
# The mathematics is in `hyena_lab.conv` (`direct_conv`, `toeplitz`, `fftconv`,
# `circular_fftconv`); the figures, filters and timings of this chapter in `hyena_lab.viz.conv`.

# %%
import math

import torch
import torch.nn.functional as F
from ipywidgets import interact

from hyena_lab import circular_fftconv, direct_conv, fftconv, toeplitz
from hyena_lab.checks import rel_err
from hyena_lab.viz import save_data, savefig, use_style
from hyena_lab.viz.conv import (
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

use_style()
torch.manual_seed(0)
gen = torch.Generator().manual_seed(0)  # every random tensor below comes from this generator


# %% [markdown]
# ## 1. A causal convolution is a lower-triangular Toeplitz matrix
#
# A causal convolution of an input $u = (u_0, \dots, u_{L-1})$ with a filter
# $h = (h_0, \dots, h_{L-1})$ of the **same length** $L$ (that is what makes it *long*: a CNN's
# filter has 3 or 7 taps) is
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
# S_h = \begin{bmatrix}
#   h_0     & 0       & \cdots & 0 \\
#   h_1     & h_0     & \cdots & 0 \\
#   \vdots  & \vdots  & \ddots & \vdots \\
#   h_{L-1} & h_{L-2} & \cdots & h_0
# \end{bmatrix},
# \qquad (S_h)_{ts} = \begin{cases} h_{t-s} & t \ge s \\ 0 & t < s. \end{cases} \tag{2}
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

# %%
for L in (8, 33, 1):
    h = torch.randn(L, generator=gen, dtype=torch.float64)  # filter (L,)
    u = torch.randn(L, generator=gen, dtype=torch.float64)  # input (L,)
    S_h = toeplitz(h)  # (L, L)
    y_def = direct_conv(u[None], h[None])[0]  # (1, L) -> (L,), by definition (1)
    assert rel_err(S_h @ u, y_def) < 1e-12, "y = S_h u"
    assert torch.equal(S_h, torch.tril(S_h)), "lower triangular"
    assert torch.equal(S_h[1:, 1:], S_h[:-1, :-1]), "constant along every diagonal"
    assert torch.equal(S_h[:, 0], h), "first column is the filter"
print("S_h u == direct_conv(u, h) to < 1e-12, S_h lower triangular and Toeplitz: L = 8, 33, 1")

# %% [markdown]
# The figure shows $S_h$ of a decaying filter $h_j = e^{-j/3}$ for $L = 8$, each cell labelled
# with the tap it holds: the diagonals carry $h_0, h_1, \dots$, and the upper triangle is empty.

# %%
h8 = make_filter("exponential decay", 8, 3.0)
fig = toeplitz_figure(h8)
savefig(fig, "01_long_convolutions-toeplitz")
fig

# %% [markdown]
# Writing $S_h$ down is fine for a picture but not for long sequences: it has $L^2$ entries
# (half of them zero), and the mat-vec costs $L(L+1)/2$ multiply-adds per channel. At the
# $L = 64\text{K}$ tokens of the paper's benchmarks, one float32 $S_h$ would take 16 GiB per
# channel.

# %%
L_paper = 64 * 1024
assert L_paper**2 * 4 == 16 * 2**30  # bytes of one float32 (L, L) matrix = 16 GiB
assert sum(t + 1 for t in range(8)) == 8 * 9 // 2  # multiply-adds of (1): sum over t of (t + 1)

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
# move by round-off only (far below $10^{-12}$ relative, in float64).

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
assert rel_err(y_pert[..., :t0], y[..., :t0]) < 1e-12, "fftconv: the past moves by round-off"
assert not torch.allclose(y[..., t0:], y_pert[..., t0:])
assert rel_err(y, direct_conv(u, h)) < 1e-12, "and fftconv computes the same convolution"
print(f"fftconv: largest change of a past output = {(y_pert - y)[..., :t0].abs().max():.1e}")

# %% [markdown]
# ## 3. The convolution theorem, and why the FFT must be padded to $2L$
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
h = make_filter("exponential decay", L, 4.0)  # h_j = exp(-j / 4)

y_ref = direct_conv(u[None], h[None])[0]  # (L,) definition (1)
y_fft = fftconv(u[None], h[None])[0]  # (L,) FFT padded to 2L, eq. (4)
y_circ = circular_fftconv(u[None], h[None])[0]  # (L,) FFT of length L, eq. (3)

assert torch.equal(y_ref[: L - 1], torch.zeros(L - 1, dtype=torch.float64))
assert y_fft[: L - 1].abs().max() < 1e-12 and rel_err(y_fft, y_ref) < 1e-12, "padded: causal"
assert y_circ[0] > 0.75, "circular: the impulse at t = L-1 already shows at t = 0"
assert rel_err(y_circ[: L - 1], h[1:]) < 1e-12, "circular: y_t = h_{t+1}, the wrapped filter"

# The matrices of both maps, probed with unit impulses (column s = response to e_s):
S = matrix_of(lambda x: fftconv(x, h[None]), L)
C = matrix_of(lambda x: circular_fftconv(x, h[None]), L)
lag_mod_L = (torch.arange(L)[:, None] - torch.arange(L)[None, :]) % L
assert rel_err(S, toeplitz(h)) < 1e-12, "padded FFT = S_h"
assert rel_err(C, h[lag_mod_L]) < 1e-12, "unpadded FFT = circulant C_h[t, s] = h[(t-s) mod L]"
assert rel_err(torch.tril(C), toeplitz(h)) < 1e-12, "C_h = S_h + a wrapped upper triangle"

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
    assert rel_err(fftconv(u, h), ref) < 1e-12, f"fftconv at L={L}"
    z = circular_fftconv(F.pad(u, (0, L)), F.pad(h, (0, L)))  # (2, 3, 2L), padded: eq. (4)
    assert rel_err(z[..., :L], ref) < 1e-12, "the first L of the padded circular conv are (1)"
    assert rel_err(circular_fftconv(u, h), z[..., :L] + z[..., L:]) < 1e-12, "eq. (5)"
    if L == 1:
        assert rel_err(circular_fftconv(u, h), ref) < 1e-12, "L = 1: nothing to wrap"
    print(f"L = {L:4d}: fftconv == direct_conv, and eq. (5) holds")

# %% [markdown]
# ## 4. The cost: $O(L^2)$ against $O(L \log L)$, measured
#
# Counting operations per channel:
#
# * `direct_conv` and the mat-vec $S_h u$: $\sum_{t=0}^{L-1} (t+1) = L(L+1)/2$ multiply-adds,
#   $O(L^2)$; the mat-vec also stores $S_h$, $O(L^2)$ memory.
# * `fftconv`: two forward FFTs and one inverse FFT of length $2L$, each $O(2L \log 2L)$, plus
#   $L + 1$ complex products: $O(L \log L)$.
#
# A cost $c L^p$ is a straight line of slope $p$ on log-log axes, so we time the three ways on
# the CPU over $L = 2^6 \dots 2^{14}$ and read off the slopes. Things a real clock adds to the
# operation count:
#
# * At small $L$ every call pays a fixed overhead (Python, argument checks, dispatch), so the
#   curves start flat; slopes are read from the **large-$L$ part** of each curve.
# * `direct_conv` is a Python loop over the $L$ lags, each lag a fixed overhead plus
#   $d\,(L - j)$ multiply-adds. It only looks quadratic once $d \cdot L$ is large, which is why
#   we use $d = 512$ channels.
# * Each method stops before a single call would take more than `max_call_s` = 1.5 s (predicted
#   from its last time), and the Toeplitz mat-vec when $S_h$ (shape `(d, L, L)`) would exceed
#   256 MiB: the $O(L^2)$ curves end early, which is the point.
# * Once the arrays no longer fit in the CPU caches, even the FFT's slope creeps above the ideal
#   $\approx 1.1$ of $L \log L$ at these sizes (checked below).
#
# We time with one thread (we compare algorithms, not cores). Each point is the best of 3 rounds
# that visit all lengths in turn, each round a median of repeated calls
# (`hyena_lab.timing.time_fn`): other programs can only add time, and interleaving spreads their
# bursts over all points. Your numbers will differ from ours and from run to run (on a shared
# machine, by a lot); the assertions below only check the shape of the curves. The measurement
# is also saved to `figures/data/01_long_convolutions-cpu_timing.json` with the processor, torch
# version, date and shapes.

# %%
# NBVAL_IGNORE_OUTPUT
costs = measure_conv_costs([2**p for p in range(6, 15)], channels=512, num_threads=1, seed=0)
res = costs["results"]
slopes = {  # least-squares log-log slopes over the large-L part of each curve
    "fftconv": loglog_slope(res["fftconv"]["L"], res["fftconv"]["seconds"], min_length=2**10),
    **{  # the O(L^2) curves stop earlier: their last two octaves
        m: loglog_slope(res[m]["L"], res[m]["seconds"], min_length=res[m]["L"][-1] / 4)
        for m in ("direct_conv", "toeplitz_matvec")
    },
}
L_common, speedup = speedup_at_largest_common_length(costs, "fftconv", "direct_conv")
costs["fitted_slopes"] = slopes
costs["fftconv_speedup_over_direct_conv"] = {"L": L_common, "ratio": speedup}
save_data(costs, "01_long_convolutions-cpu_timing")
fig = conv_cost_figure(costs)
savefig(fig, "01_long_convolutions-cpu_timing")
print(", ".join(f"slope {m} = {s:.2f}" for m, s in slopes.items()))
print(f"at L = {L_common}: fftconv is {speedup:.0f}x faster than direct_conv")
fig

# %% [markdown]
# What to expect: over $L = 2^{10} \dots 2^{14}$ the ideal slope of $L \log L$ is
# $1 + 1/\ln L \approx 1.12$, and $2$ for $L^2$. On the shared 2-core machine this chapter was
# written on, the FFT's measured slope came out between 1.25 and 1.45 (its arrays outgrow the
# caches, and allocations of tens of MB are fresh pages every call) and the direct one between
# 2.0 and 2.5. The checks below therefore split the two at 1.6, and ask for a clear gap.

# %%
Ls_fit = [2**p for p in range(10, 15)]
ideal = loglog_slope(Ls_fit, [L * math.log(L) for L in Ls_fit])
assert 1.1 < ideal < 1.15, "L log L looks like slope ~1.12 at these lengths"
assert slopes["fftconv"] < 1.6 < slopes["direct_conv"], "O(L log L) grows slower than O(L^2)"
assert slopes["direct_conv"] - slopes["fftconv"] > 0.4, "... clearly slower"
assert slopes["toeplitz_matvec"] > 1.6, "the Toeplitz mat-vec is O(L^2) too"
assert speedup > 1, "the FFT is faster at the largest length both were timed at"
assert res["fftconv"]["L"][-1] > res["direct_conv"]["L"][-1], "the FFT reaches longer L in time"

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
# have a cheap recurrent form.

# %%
L = 32
u = probe_input(L)  # (L,)

k = 5
y = direct_conv(u[None], make_filter("delay (shifted impulse)", L, k)[None])[0]
assert torch.equal(y[k:], u[:-k]) and torch.equal(y[:k], torch.zeros(k, dtype=torch.float64))

w = 4
y = fftconv(u[None], make_filter("moving average", L, w)[None])[0]
c = F.pad(torch.cumsum(u, 0), (w, 0))  # c[t + w] = u_0 + ... + u_t, zeros before
assert rel_err(y, (c[w:] - c[:-w]) / w) < 1e-12, "mean of the last w inputs"

tau = 3.0
y = fftconv(u[None], make_filter("exponential decay", L, tau)[None])[0]
a, state, y_rec = torch.exp(torch.tensor(-1 / tau, dtype=torch.float64)), 0.0, []
for u_t in u:  # y_t = a y_{t-1} + u_t
    state = a * state + u_t
    y_rec.append(state)
assert rel_err(y, torch.stack(y_rec)) < 1e-12, "exponential filter == one-state recurrence"

fig = conv_explorer_figure("exponential decay", L, tau)
savefig(fig, "01_long_convolutions-explorer")
fig

# %%
# NBVAL_IGNORE_OUTPUT
explorer = interact(conv_explorer_figure, **conv_explorer_controls(l_max=128))

# %% [markdown]
# Things to try: a delay of $k$ moves the diagonal of $S_h$ down by $k$ and shifts $y$; a wide
# moving average blurs the box; a small $\tau$ makes $S_h$ nearly diagonal ($y \approx u$); a
# large $\tau$ makes it a long memory. Invalid values (a delay $\ge L$, a width $< 1$, $L < 1$, an
# unknown shape) raise a `ValueError` that says what was expected; the sliders keep to the valid
# range.

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
# * Measured on a CPU: the direct and Toeplitz paths grow with slope $\approx 2$ on log-log
#   axes, the FFT path with a slope a little above 1 (memory effects on top of $L \log L$), and
#   the FFT wins by a wide margin at long $L$. This is what lets Hyena use filters as long as
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
