# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: -all
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
# # Chapter 2: The Hyena operator as a data-controlled matrix
#
# Attention computes $y = A(u)\,v$ with a dense $L \times L$ matrix
# $A(u) = \mathrm{softmax}(QK^\top/\sqrt{d})$ that depends on the input. Hyena (Poli et al.,
# 2023, arXiv 2302.10866) builds its own input-dependent matrix out of two cheap kinds of
# pieces, **diagonal** matrices (element-wise gates) and **Toeplitz** matrices (long
# convolutions), and never writes it down. This chapter derives that matrix and looks at it.
#
# **What you will learn**
#
# 1. The Hyena recurrence $z^{n+1} = x^n \odot (h^n * z^n)$ (Definition 3.1), with its skip
#    ("bias") term, and how the package runs it.
# 2. Its matrix form $y = D_x^N S_h^N \cdots D_x^1 S_h^1\, v = A(u)\,v$ (Sec. 3.2), built up
#    from order 1 (a gated convolution) and order 2 (the shape of H3), with every step checked.
# 3. Why $A(u)$ is **causal** (lower triangular) and **data-controlled** (it changes with $u$
#    while the filters do not), and how it differs from an attention matrix (App. D.1).
# 4. What materialising $A(u)$ costs ($O(D L^2)$ memory) against running the recurrence
#    ($O(N D L \log L)$ time), measured on your CPU.
# 5. How the official implementation's `order` differs from the paper's, checked bit for bit
#    against its test vectors.
#
# **Prerequisites**: Chapter 1 (a causal convolution is a lower-triangular Toeplitz matrix
# $S_h$; `fftconv`, `toeplitz`), products of matrices. How the long filters $h^n$ are
# parameterised (the implicit filters of Sec. 3.3) is Chapter 3: here they are given.
#
# **Run time**: about 30 s on a laptop CPU (well under a minute), a few seconds of it in the
# timing of Section 7.
#
# The operator is `hyena_lab.HyenaOperator` (`hyena_lab/operator.py`: `.projections`,
# `.filters`, `.core`, `.matrices`, `.materialize`); the official bridge is
# `hyena_lab.official`; this chapter's figures, widget and timings are `hyena_lab.viz.matrices`.

# %%
# %matplotlib inline
import ipywidgets as widgets
import torch

from hyena_lab import HyenaOperator, fftconv, toeplitz
from hyena_lab.checks import rel_err
from hyena_lab.filters import PositionalEncoding
from hyena_lab.official import from_safari, load_vectors, to_safari
from hyena_lab.viz import save_data, savefig, use_style
from hyena_lab.viz.matrices import (
    DEMO_D_MODEL,
    causal_attention_matrix,
    complexity_figure,
    complexity_table,
    demo_operator,
    hyena_matrices_controls,
    hyena_matrices_figure,
    make_input,
    matrices_figure,
    measure_matrix_costs,
    patterns_figure,
    toeplitz_deviation,
)

use_style()
torch.manual_seed(0)
torch.set_grad_enabled(False)  # nothing is trained in this chapter
torch.set_num_threads(1)  # the tensors are tiny: one thread avoids OpenMP start-up and contention


# %% [markdown]
# ## 1. The recurrence (Definition 3.1)
#
# The input $u$ has $L$ positions and $D$ channels (`(batch, seq_len, d_model)`). An order-$N$
# Hyena operator first computes $N + 1$ **projections** of it (Algorithm 1): a linear map over
# the channels followed by a short causal depthwise convolution (3 taps), giving $N$ *gates*
# $x^1, \dots, x^N$ and a *value* $v$, each of shape $(D, L)$. Then, channel by channel,
#
# $$
# z^1 = v, \qquad
# z^{n+1}_t = x^n_t \Big( (h^n * z^n)_t + b^n z^n_t \Big)
#           = x^n_t \Big( \sum_{s=0}^{t} h^n_{t-s}\, z^n_s + b^n z^n_t \Big),
# \qquad n = 1, \dots, N,
# $$
#
# and $y = z^{N+1}$, followed by a linear output projection over the channels. Each step is a
# **long causal convolution** with a filter $h^n$ as long as the input (Chapter 1), then an
# element-wise **gate** by a projection of the input. The term $b^n z^n_t$ is the per-channel
# *skip* (the `bias` of the official long convolution, the $D$ of a state-space model). The
# paper's Definition 3.1 writes no separate skip term, and needs none: it fits inside $h^n$ as
# an extra weight on the filter's first tap, $(h * z)_t + b z_t = (\bar h * z)_t$ with
# $\bar h_0 = h_0 + b$ and $\bar h_j = h_j$ for $j \geq 1$.
#
# Below, the recurrence is run by hand from the operator's projections and filters and compared
# with `op.core(u)` (the same recurrence inside the package) and `op(u)`.

# %%
L = 37  # odd, not a power of two: nothing below relies on a convenient length
op = demo_operator(order=2)  # float64, d_model = 8, l_max = 64, implicit filters, seed 0
u = make_input("random", L, DEMO_D_MODEL, seed=1)  # (1, L, d_model)

x, v = op.projections(u)  # N gates and the value, each (1, d_model, L)
h = op.filters(L)  # (N, d_model, L): h^1 .. h^N
z = v  # z^1 = v
for n in range(op.order):
    z = x[n] * fftconv(z, h[n], op.bias[n])  # z^{n+1} = x^n * (h^n conv z^n + b^n z^n)

assert rel_err(z, op.core(u)) < 1e-12
assert rel_err(op.out_proj(z.transpose(1, 2)), op(u)) < 1e-12
# the skip term is an extra weight on the first tap of the filter
h_bar = h[0].clone()
h_bar[:, 0] += op.bias[0]
assert rel_err(fftconv(v, h[0], op.bias[0]), fftconv(v, h_bar)) < 1e-12

# %%
# NBVAL_CHECK_OUTPUT
print(f"gates: {len(x)} x {tuple(x[0].shape)}, value: {tuple(v.shape)}, filters: {tuple(h.shape)}")

# %% [markdown]
# ## 2. Order 1: a gated convolution, $y = D_x S_h v$
#
# Write one channel's signals as column vectors of length $L$. Chapter 1 showed that a causal
# convolution is a product with a lower-triangular Toeplitz matrix; the skip term adds $b$ on
# its diagonal:
#
# $$
# (h * z)_t + b z_t = \sum_{s} (S_h)_{ts}\, z_s, \qquad
# (S_h)_{ts} = \begin{cases} h_{t-s} + b\,\delta_{ts} & t \ge s \\ 0 & t < s. \end{cases}
# $$
#
# A gate multiplies element-wise, which is a product with a **diagonal** matrix:
# $x \odot w = D_x w$ with $D_x = \mathrm{diag}(x_0, \dots, x_{L-1})$. So for $N = 1$
#
# $$
# y = z^2 = D_x^1 S_h^1 v, \qquad A(u) = D_x^1 S_h^1, \qquad
# A(u)_{ts} = x^1_t \,(S_h^1)_{ts}.
# $$
#
# This is a **gated convolution** (a GLU around a convolution; with SSM filters it is GSS,
# which Remark 3.2 of the paper identifies as Hyena of order 1): row $t$ of
# $A(u)$ is the *fixed* filter, reversed, scaled by the gate $x^1_t$. The data control is
# only a per-row scale: which positions $s$ a row $t$ reads from is decided by the filter
# alone.

# %%
op1 = demo_operator(order=1)
m1 = op1.matrices(u)  # D_x: [(d, L)], S_h: [(d, L, L)], v: (d, L)
h1 = op1.filters(L)[0]  # (d, L)

assert torch.equal(m1.S_h[0], toeplitz(h1, op1.bias[0]))  # S_h^1: Toeplitz + skip on diagonal
A1 = torch.diag_embed(m1.D_x[0]) @ m1.S_h[0]  # D_x^1 S_h^1, (d, L, L)
assert rel_err(A1, m1.D_x[0][:, :, None] * m1.S_h[0]) < 1e-15  # A_ts = x_t (S_h)_ts
assert rel_err(A1, op1.materialize(u)) < 1e-12
assert rel_err((A1 @ m1.v[..., None])[..., 0], op1.core(u)[0]) < 1e-10  # y = A(u) v

# %% [markdown]
# ## 3. Order 2: the shape of H3, $y = D_x^2 S_h^2 D_x^1 S_h^1 v$
#
# Apply the recurrence twice: $z^2 = D_x^1 S_h^1 v$, then
# $z^3 = D_x^2 S_h^2 z^2 = D_x^2 S_h^2 D_x^1 S_h^1 v$. Entry by entry,
#
# $$
# A(u)_{ts} = x^2_t \sum_{r=s}^{t} (S_h^2)_{tr}\; x^1_r \;(S_h^1)_{rs}:
# $$
#
# input $s$ reaches output $t$ through every intermediate position $r$ between them, each path
# weighted by the gate $x^1_r$. The matrix is no longer a row-scaled Toeplitz matrix: the
# input now decides *where* a row reads from, not only how loudly.
#
# **H3.** H3 (Fu et al., 2023) projects $u$ to $q, k, v$ and computes
# $q \odot \mathrm{SSM}_\text{diag}\big(\mathrm{SSM}_\text{shift}(k) \odot v\big)$. Sec. 3.1
# of the Hyena paper reads it as a data-controlled matrix of this very shape (and Remark 3.2
# calls H3 a Hyena of order 2 with SSM filters),
# $A(q, k) = D_q S_\psi D_k S_\varphi$, with $S_\varphi$ and $S_\psi$ the Toeplitz matrices of
# the two state-space models. Mapped onto order 2: $D_x^2 \leftrightarrow D_q$,
# $S_h^2 \leftrightarrow S_\psi$ (the *diagonal* SSM: a long, decaying filter, the memory),
# $D_x^1 \leftrightarrow D_k$, $S_h^1 \leftrightarrow S_\varphi$ (the *shift* SSM: a short
# filter that shifts the signal by a few steps). Hyena keeps the shape and changes the
# ingredients: both filters are long implicit filters (Sec. 3.3) rather than SSM kernels, the
# short shifting job is done by the 3-tap convolution inside every projection (applied to the
# "key" $x^1$ as H3 applies its shift SSM to $k$), and the order is no longer fixed at 2. The
# matrix form does not care how the filters are parameterised: an order-2 operator whose
# filters *are* diagonal SSMs (`filter="ssm"`, the H3 baseline of the later chapters) obeys the
# same identity.

# %%
m2 = op.matrices(u)  # the order-2 operator of Section 1
D1, D2 = (torch.diag_embed(d) for d in m2.D_x)  # (d, L, L) each
S1, S2 = m2.S_h
A2 = D2 @ S2 @ D1 @ S1
assert rel_err(A2, op.materialize(u)) < 1e-12
assert rel_err((A2 @ m2.v[..., None])[..., 0], op.core(u)[0]) < 1e-10

torch.manual_seed(0)
op_ssm = HyenaOperator(DEMO_D_MODEL, 64, order=2, filter="ssm").double()  # H3-like filters
m_ssm = op_ssm.matrices(u)
A_ssm = op_ssm.materialize(u)
assert rel_err((A_ssm @ m_ssm.v[..., None])[..., 0], op_ssm.core(u)[0]) < 1e-10

# %% [markdown]
# ## 4. Any order $N$, by induction
#
# Each step of the recurrence is $z^{n+1} = D_x^n S_h^n z^n$, so by induction on $n$
#
# $$
# \boxed{\;y = z^{N+1} = \underbrace{D_x^N S_h^N \cdots D_x^2 S_h^2\, D_x^1 S_h^1}_{A(u)}\; v\;}
# \qquad\text{(Sec. 3.2)},
# $$
#
# $$
# A(u)_{ts} = x^N_t \!\!\sum_{t \ge r_{N-1} \ge \dots \ge r_1 \ge s}\!\!
# \bar h^N_{t - r_{N-1}}\, x^{N-1}_{r_{N-1}}\, \bar h^{N-1}_{r_{N-1} - r_{N-2}} \cdots
# x^1_{r_1}\, \bar h^1_{r_1 - s},
# $$
#
# with $\bar h^n$ the filter with its skip term on the first tap. Three facts follow, each
# checked below for $N = 1, \dots, 4$ on random inputs (float64):
#
# 1. **The recurrence is this matrix**: `op.core(u)` $= A(u)\,v$ and
#    `op(u)` $=$ `out_proj`$(A(u)\,v)$ (relative error $< 10^{-10}$).
# 2. **Causal**: a product of lower-triangular matrices is lower triangular, so
#    $A(u)_{ts} = 0$ for $s > t$. More: row $t$ only involves gates at positions $\le t$, and
#    the projections are causal, so changing the input after $t_0$ leaves the top-left
#    $t_0 \times t_0$ block of $A(u)$ untouched.
# 3. **Data-controlled**: $A(u)$ changes with $u$ (through the gates), while every $S_h^n$ is
#    the same for every input: the filters are parameters, not functions of the data.
#
# The recurrence never forms $A(u)$: it applies its $2N$ factors one by one, $N$ FFT
# convolutions in $O(L \log L)$ and $N$ gates in $O(L)$ per channel, where $A(u)\,v$ would cost
# $O(L^2)$ (Section 7).

# %%
t0 = 23  # the input is perturbed from this position on
for N in range(1, 5):
    op_N = demo_operator(order=N, seed=N)
    u1 = make_input("random", L, DEMO_D_MODEL, 10 + N)
    u2 = make_input("random", L, DEMO_D_MODEL, 20 + N)
    m = op_N.matrices(u1)
    A = op_N.materialize(u1)  # (d, L, L)
    Av = (A @ m.v[..., None])[..., 0]  # (d, L)
    assert rel_err(Av, op_N.core(u1)[0]) < 1e-10  # 1. core(u) = A(u) v
    assert rel_err(op_N.out_proj(Av.T), op_N(u1)[0]) < 1e-10  # ... and op(u) = out_proj(A v)
    assert torch.equal(A, torch.tril(A))  # 2. causal: nothing above the diagonal
    u3 = u1.clone()
    u3[:, t0:] += make_input("random", L - t0, DEMO_D_MODEL, 99)
    A3 = op_N.materialize(u3)
    assert rel_err(A3[:, :t0, :t0], A[:, :t0, :t0]) < 1e-14  # the past block ignores the future
    assert rel_err(A3[:, t0:], A[:, t0:]) > 1e-2
    assert rel_err(op_N.materialize(u2), A) > 1e-2  # 3. A(u) changes with u ...
    for S_a, S_b in zip(m.S_h, op_N.matrices(u2).S_h, strict=True):
        assert torch.equal(S_a, S_b)  # ... while S_h does not
    print(f"order {N}: rel. err. of A(u) v vs core(u) = {rel_err(Av, op_N.core(u1)[0]):.1e}")

# %% [markdown]
# ## 5. Looking at the matrices, next to attention (App. D.1)
#
# The figure shows, for one channel of the order-2 operator and the random input above, the
# factors in the order they act on $v$ (left to right: $S_h^1$, then $D_x^1$, then $S_h^2$,
# then $D_x^2$), their product $A(u)$, and, for the same input, the causal softmax attention
# matrix of one head. The attention head has **random** weights $W_q, W_k$: it is an
# illustration of the *structure* of an attention matrix, not a trained model (Appendix D.1 of
# the paper shows trained ones). Read the colour bars:
#
# * every $S_h^n$ is constant along its diagonals (Toeplitz), with the skip term on the main
#   diagonal; the implicit filters here oscillate and decay;
# * $A(u)$ is lower triangular like attention, but **signed** and **unnormalised**, and its
#   entries are not constant along diagonals any more: the gates broke the shift invariance;
# * attention rows are probability distributions: non-negative, summing to 1.

# %%
CHANNEL = 3
fig = matrices_figure(op, u, CHANNEL, seed=0)
savefig(fig, "02_hyena_matrices-factors")
A = op.materialize(u)[CHANNEL]
P = causal_attention_matrix(u, seed=0)
assert (P >= 0).all() and torch.allclose(P.sum(-1), torch.ones(L, dtype=torch.float64))
assert (A < 0).any() and not torch.allclose(A.sum(-1), torch.ones(L, dtype=torch.float64))
assert toeplitz_deviation(m2.S_h[0][CHANNEL]) < 1e-15 and toeplitz_deviation(A) > 1e-2
fig

# %% [markdown]
# ### Data control, seen
#
# Same operator, same channel, same attention head; only the input changes, among three
# patterns (`make_input`):
#
# * **random**: i.i.d. Gaussian features;
# * **step**: zero for the first half, then a fixed vector $c$;
# * **repeated token**: the same vector $e$ at every position.
#
# Where the input is constant, the projections are constant too (after the 3-tap short filter
# has seen 2 steps), so the gates are constant: $D_x^n = g_n I$ on that stretch, and
# $A(u)$ restricted to it is $\prod_n g_n S_h^n$, a product of Toeplitz matrices, itself
# Toeplitz. For the repeated token, Hyena degenerates into a plain convolution and attention
# into a uniform average ($P_{ts} = 1/(t+1)$, all scores in a row being equal). For the step,
# $A(u)$ is Toeplitz inside each half and changes its pattern across the step.

# %%
fig = patterns_figure(op, CHANNEL, 32, seed=0)
savefig(fig, "02_hyena_matrices-patterns")
w = op.short_filter_order - 1  # steps the short filter needs to forget the zero padding
half = 32 // 2
inputs = {p: make_input(p, 32, DEMO_D_MODEL, 0) for p in ("random", "step", "repeated token")}
mats = {p: op.matrices(ui) for p, ui in inputs.items()}
A_of = {p: op.materialize(ui) for p, ui in inputs.items()}
for p in ("step", "repeated token"):
    for S_a, S_b in zip(mats["random"].S_h, mats[p].S_h, strict=True):
        assert torch.equal(S_a, S_b)  # the filters do not see the input
assert rel_err(A_of["step"], A_of["random"]) > 0.1
for c in range(DEMO_D_MODEL):
    assert toeplitz_deviation(A_of["repeated token"][c, w:, w:]) < 1e-12  # a convolution
    assert toeplitz_deviation(A_of["step"][c, w:half, w:half]) < 1e-12  # first half
    assert toeplitz_deviation(A_of["step"][c, half + w :, half + w :]) < 1e-12  # second half
    assert toeplitz_deviation(A_of["random"][c, w:, w:]) > 1e-2  # data control at work
P_rep = causal_attention_matrix(inputs["repeated token"], seed=0)
uniform = torch.tril(torch.ones(32, 32, dtype=torch.float64)) / torch.arange(1, 33)[:, None]
assert rel_err(P_rep, uniform) < 1e-12
fig

# %% [markdown]
# ## 6. Widget: order, channel, length and input
#
# Pick the order $N$ (1 to 4), a channel, the sequence length and an input pattern; the figure
# redraws the factors $S_h^n$, $D_x^n$, their product $A(u)$ and the attention matrix of the
# same input. The operator is a fresh random one (`demo_operator(order, seed=0)`, implicit
# filters as in the official recall configuration). Things to try:
#
# * order 1 vs 2: with one gate every row of $A(u)$ is the same filter; with two, rows differ
#   in shape, not only in scale;
# * "repeated token" at any order: $A(u)$ becomes Toeplitz (constant diagonals);
# * higher orders: every entry of $A(u)$ is a sum of products of $N$ gates and $N$ filter
#   taps, so its scale changes with $N$ (watch the colour bars);
# * $L = 1$: $A(u)$ is the single number $\prod_n x^n_0 (h^n_0 + b^n)$ (checked below).

# %%
# NBVAL_IGNORE_OUTPUT
_ = widgets.interact(hyena_matrices_figure, **hyena_matrices_controls(), seed=widgets.fixed(0))

# %%
op3_demo = demo_operator(order=3)
u_one = make_input("random", 1, DEMO_D_MODEL, 0)  # a single position
x_one, _ = op3_demo.projections(u_one)
h_one = op3_demo.filters(1)[..., 0]  # (N, d): first taps h^n_0
product = torch.stack([x_one[n][0, :, 0] * (h_one[n] + op3_demo.bias[n]) for n in range(3)])
assert rel_err(op3_demo.materialize(u_one)[:, 0, 0], product.prod(0)) < 1e-12

# %% [markdown]
# ## 7. What a materialised $A(u)$ costs
#
# Per channel, $A(u)$ has $L^2$ entries (half of them zero), so storing it for $D$ channels
# takes $D L^2$ numbers, as an attention matrix takes $L^2$ per head. The recurrence keeps only
# the $N + 1$ projections and $N$ filters, $(2N + 1) D L$ numbers, and applies its factors in
# $O(N D L \log L)$ time:
#
# | | time | memory |
# |---|---|---|
# | `op(u)`: the recurrence, FFT convolutions | $O(N D L \log L)$ | $O(N D L)$ |
# | `op.materialize(u)`: dense products | $O(N D L^3)$ (any way $\geq D L^2$) | $O(D L^2)$ |
# | `A @ v` once $A(u)$ is given | $O(D L^2)$ | $O(D L^2)$ |
#
# The measurement below (float32, batch 1, one thread, order 2, $D = 8$) times `op(u)` up to
# $L = 16{,}384$ and the dense path until a call would take more than a second. Two honest
# remarks: at small $L$ the operator's time is a constant (evaluating the filter network and
# the projections), so a given $A(u)$ can be *applied* faster than the recurrence runs; the
# $L^2$ only wins at large $L$. And on a shared machine timings are noisy: the assertions only
# check what holds by a wide margin.

# %%
# NBVAL_IGNORE_OUTPUT
costs = measure_matrix_costs((64, 128, 256, 512, 1024, 4096, 16384), d_model=8, order=2)
save_data(costs, "02_hyena_matrices-complexity")
print(complexity_table(costs))

# %%
rows = costs["rows"]
for r in rows:
    assert r["A_bytes"] == 8 * r["L"] ** 2 * 4  # d L^2 float32 numbers, exactly
    assert r["signal_bytes"] == (2 * 2 + 1) * 8 * r["L"] * 4  # (2N + 1) d L
dense = [r for r in rows if r["materialize_seconds"] is not None]
assert len(dense) >= 3 and dense[-1]["L"] < rows[-1]["L"]  # the dense path had to stop
ratios = [r["materialize_seconds"] / r["op_seconds"] for r in dense]
assert ratios[-1] > 1 and ratios[-1] > 4 * ratios[0]  # the dense path falls further behind
assert dense[0]["matvec_seconds"] < dense[0]["op_seconds"]  # small L: a given A(u) is cheap
by_L = {r["L"]: r["op_seconds"] for r in rows}
assert by_L[16384] / by_L[1024] < 16**2 / 4  # 16x longer input, far below the 256x of L^2
gib = rows[-1]["A_bytes"] / 2**30
assert gib == 8.0  # 8 channels x 16384^2 x 4 bytes
print(f"A(u) at L = {rows[-1]['L']} would take {gib:.0f} GiB for d_model = 8 (float32)")
fig = complexity_figure(costs)
savefig(fig, "02_hyena_matrices-complexity")
fig

# %% [markdown]
# ## 8. The paper and the official code
#
# The official implementation (HazyResearch/safari, `src/models/sequence/hyena.py`) counts the
# order differently from the paper, and a reader who moves between the two must know how:
#
# | | paper (Def. 3.1), this handbook | official `HyenaOperator` |
# |---|---|---|
# | `order` | $N$ long convolutions, $N$ gates | `order=o`: $o - 1$ convolutions, $o$ gates |
# | first step | a long convolution $S_h^1$ | a gate: $S_h^1 = I$ |
# | matrix | $D_x^N S_h^N \cdots D_x^2 S_h^2 D_x^1 S_h^1$ | $D_x^o S_h^o \cdots D_x^2 S_h^2 D_x^1$ |
# | gates | $x^1$ acts first | `x[o-1]` first, `x[0]` last: $x^n$ = `x[o-n]` |
# | filter channels | step-major: $s D + j$ | interleaved `(v o)`: $j (o - 1) + s$ |
# | `Sin` activation | one frequency vector | one module reused: 3 names, 1 value |
# | positional encoding $z$ | trainable | trained: load it, never recompute |
#
# Here $s$ numbers the convolution steps and $j$ the channels. In code, the official layer
# splits its $o + 1$ projections into `x[0], ..., x[o-1], v`, then for each `x_i` in
# `reversed(x[1:])` computes `v = v * x_i` followed by the long convolution
# `v = h * v + bias * v`, and returns `y = out_proj(v * x[0])`: it gates *before* its first
# convolution.
#
# So the official order-$o$ layer **is** the paper's order-$o$ operator with an identity first
# filter, `HyenaOperator(d_model, l_max, order=o, identity_first=True)`; its order 2 is
# $y = x^2 \odot \big(h^2 * (x^1 \odot v)\big)$, one convolution between two gates. Conversely
# the paper's order $N$ exports as an official order $N + 1$ layer whose first gate is the
# constant 1. `hyena_lab.official.from_safari` and `to_safari` do the conversions; the test
# vectors were produced by running the official code in float64 (`hyena_lab/data/VECTORS.md`).

# %%
# NBVAL_CHECK_OUTPUT
vectors = {name: load_vectors(name) for name in ("safari_order2_recall", "safari_order3_pile")}
for name, vec in vectors.items():
    print(name, vec["config"], "lengths:", [case["L"] for case in vec["cases"]])

# %%
official = {name: from_safari(vec["config"], vec["state_dict"]) for name, vec in vectors.items()}
for name, vec in vectors.items():
    op_off = official[name]
    assert op_off.identity_first and op_off.order == vec["config"]["order"]
    for case in vec["cases"]:  # the official outputs and filters, reproduced
        assert rel_err(op_off(case["u"]), case["y"]) < 1e-12
        assert rel_err(op_off.filters(case["L"]), case["k"]) < 1e-12
    config, sd = to_safari(op_off)  # and back: the very same tensors
    assert set(sd) == set(vec["state_dict"])
    assert all(torch.equal(sd[key], t) for key, t in vec["state_dict"].items())
    assert all(config[key] == value for key, value in vec["config"].items())

# the paper's order N is the official order N + 1 (first gate = 1), computing the same function
config, sd = to_safari(op)
assert op.order == 2 and config["order"] == 3
assert rel_err(from_safari(config, sd)(u), op(u)) < 1e-12

# %% [markdown]
# Each row of the conventions table, checked on the official order-3 layer (two long
# convolutions, $D = 12$): the gate blocks of the input projection come in reverse order, the
# filter channels (here the decay rates of the window) are interleaved `(v o)`, the three
# `Sin` frequencies in the state dict are one, and the positional encoding $z$ was trained
# away from the formula of Appendix D.3, so recomputing it would give other filters.

# %%
vec = vectors["safari_order3_pile"]
sd, op3 = vec["state_dict"], official["safari_order3_pile"]
o, d = vec["config"]["order"], vec["config"]["d_model"]
W_off = sd["in_proj.weight"].reshape(o + 1, d, d)  # official blocks x[0], ..., x[o-1], v
W_ours = op3.in_proj.weight.reshape(o + 1, d, d)  # handbook blocks x^1, ..., x^o, v
for n in range(1, o + 1):
    assert torch.equal(W_ours[n - 1], W_off[o - n])  # x^n = x[o - n]
assert torch.equal(W_ours[o], W_off[o])  # v stays last
deltas_off = sd["filter_fn.modulation.deltas"].reshape(d, o - 1)  # channel j(o-1)+s -> [j, s]
assert torch.equal(op3.filter.modulation.deltas.reshape(o - 1, d), deltas_off.T)
freqs = [t for key, t in sd.items() if key.endswith(".freq")]
assert len(freqs) == 3 and all(torch.equal(f, freqs[0]) for f in freqs)
assert torch.equal(op3.filter.act.freq, freqs[0].reshape(-1))
z_off = sd["filter_fn.pos_emb.z"][0]  # (l_max, emb_dim)
assert torch.equal(op3.filter.pos_emb.z, z_off)
z_formula = PositionalEncoding(vec["config"]["emb_dim"], vec["config"]["l_max"]).z.double()
assert rel_err(z_off, z_formula) > 1e-3

# %% [markdown]
# ### The official layer's $A(u)$
#
# The official order-2 recall layer ($D = 16$, $L = 64$) as a matrix: $S_h^1$ is the
# identity, so $A(u) = D_x^2 S_h^2 D_x^1$, i.e. $A(u)_{ts} = x^2_t\, (S_h^2)_{ts}\, x^1_s$: one
# Toeplitz matrix scaled by a gate on the rows *and* a gate on the columns. The assertions
# check $S_h^1 = I$, this formula, and that $\mathrm{out\_proj}(A(u)\,v)$ reproduces the
# official output. The filters were moved away from their initialisation when the vectors
# were made (no training): the picture shows the structure, not a trained layer.

# %%
vec = vectors["safari_order2_recall"]
op_rec, case = official["safari_order2_recall"], vec["cases"][0]
u_off = case["u"][:1]  # (1, 64, 16)
m_off = op_rec.matrices(u_off)
A_off = op_rec.materialize(u_off)  # (16, 64, 64)
L_off = case["L"]
assert torch.equal(m_off.S_h[0], torch.eye(L_off, dtype=torch.float64).expand_as(A_off))
x1, x2 = m_off.D_x
assert rel_err(A_off, x2[:, :, None] * m_off.S_h[1] * x1[:, None, :]) < 1e-12
y_off = op_rec.out_proj(((A_off @ m_off.v[..., None])[..., 0]).T)
assert rel_err(y_off, case["y"][0]) < 1e-12
fig = matrices_figure(op_rec, u_off, CHANNEL, seed=0,
                      title=f"official order-2 layer (safari_order2_recall), channel {CHANNEL}, "
                      f"L = {L_off}: $S_h^1 = I$")
savefig(fig, "02_hyena_matrices-official")
fig

# %% [markdown]
# ## Summary
#
# * The Hyena recurrence $z^{n+1} = x^n \odot (h^n * z^n + b^n z^n)$ is, per channel, the
#   product $y = D_x^N S_h^N \cdots D_x^1 S_h^1 v = A(u)\,v$ of diagonal gate matrices and
#   lower-triangular Toeplitz filter matrices (the skip term on their diagonals). The package's
#   `core` equals $A(u)\,v$ to $10^{-10}$ at every order tried.
# * $A(u)$ is causal (lower triangular, and its past block ignores the future) and
#   data-controlled (it changes with $u$, while the $S_h^n$ do not): a *surrogate attention
#   matrix*, signed and unnormalised where attention's rows are probability distributions.
# * Order 1 is a gated convolution (row-scaled Toeplitz); order 2 has the shape of H3
#   ($D_q S_\psi D_k S_\varphi$) with long implicit filters; a constant input makes every order
#   a plain convolution.
# * $A(u)$ costs $O(D L^2)$ memory to write down; the recurrence never does, and runs in
#   $O(N D L \log L)$: at $L = 16{,}384$, $A(u)$ for 8 channels would take 8 GiB.
# * The official `order=o` is the paper's order $o$ with an identity first filter
#   ($S_h^1 = I$), gates in reverse order and `(v o)`-interleaved filters; the handbook
#   reproduces the official outputs to $10^{-12}$ and round-trips its weights exactly.
#
# ## Exercises
#
# 1. **Constant gates make one filter.** Show on paper that if $x^1 \equiv a$ and
#    $x^2 \equiv c$ are constant, the order-2 matrix is $a c\, S_{h^2} S_{h^1}$, the Toeplitz
#    matrix of the single filter $h^2 * h^1$ (skip terms included). Check it with `toeplitz`
#    and `fftconv` on two filters of your choice.
# 2. **Count it.** For the paper's 355M-parameter setting ($D = 1024$, order 2, $L = 2048$)
#    and for $L = 65{,}536$: how many bytes would one layer's $A(u)$ take in bfloat16, and how
#    many multiply-adds does `A @ v` need compared with two FFT convolutions of length $2L$
#    (count about $5 \cdot 2L \log_2 2L$ real operations per FFT)?
# 3. **The official recurrence by hand.** From `op_rec.projections(u_off)` (handbook order
#    $x^1, x^2, v$) write the official order-2 computation as the safari code does it
#    (`v * x[1]`, one long convolution with skip term, then `* x[0]`, remembering which
#    handbook gate is which official one), and check it against `case["y"]` after `out_proj`.
# 4. **The recurrence by hand.** Compute $y = D_x^N S_h^N \cdots D_x^1 S_h^1 v$ one factor at a
#    time from `op.matrices(u)`, without forming $A(u)$.

# %% [markdown]
# ### Check your answers
#
# Each exercise has a stub below; replace its body and re-run the cell. The checker from
# `hyena_lab.exercises` replies `PASS` with what it verified, or `NOT YET` with what is wrong
# and a hint.

# %%
from hyena_lab.exercises import (
    check_constant_gates_filter,
    check_hyena_recurrence,
    check_materialize_cost,
    check_official_recurrence,
)

# %% [markdown]
# **Exercise 1.** With constant gates $x^1 \equiv a$, $x^2 \equiv c$, return the single filter
# $f$ of shape `(L,)` with $A = S_f$. The checker takes $h^1, h^2$ and the skip terms
# $b^1, b^2$ from channel 0 of a seeded `HyenaOperator` and compares `toeplitz(f)` with
# $c\,S_{h^2}\,a\,S_{h^1}$ at $L = 12, 5, 1$.


# %%
def constant_gates_filter(
    h1: torch.Tensor, b1: float, h2: torch.Tensor, b2: float, a: float, c: float
) -> torch.Tensor:
    """The filter f with c S_h2 a S_h1 = S_f (skip terms b1, b2 on the diagonals)."""
    raise NotImplementedError("exercise 1: your answer here")


check_constant_gates_filter(constant_gates_filter)

# %% [markdown]
# **Exercise 2.** Return the three counts as a dict for one layer of width `d_model` at length
# `L`: `A_bytes` (bytes of $A(u)$ in bfloat16), `matvec_macs` (multiply-adds of `A @ v`) and
# `fft_ops` (real operations of two FFT convolutions of length $2L$, about
# $5 \cdot 2L \log_2 2L$ per FFT). The checker tries $D = 1024$ at $L = 2048$ and $65{,}536$
# and accepts the usual counting conventions (2 or 3 FFTs per convolution, dense or triangular
# product).


# %%
def materialize_cost(d_model: int, L: int) -> dict[str, float]:
    """A_bytes, matvec_macs and fft_ops of one Hyena layer of width d_model at length L."""
    raise NotImplementedError("exercise 2: your answer here")


check_materialize_cost(materialize_cost)

# %% [markdown]
# **Exercise 3.** Write the official order-2 computation from the handbook's projections:
# `x` is `[x^1, x^2]` as `op_rec.projections(u)` returns them (each `(batch, d_model, L)`),
# `v` the value, `h` the one long filter `(d_model, L)` and `bias` its skip term `(d_model,)`.
# Return the core before `out_proj`, `(batch, d_model, L)`. The checker applies `out_proj`
# and compares with the official output `case["y"]` of `safari_order2_recall`.


# %%
def official_recurrence(
    x: list[torch.Tensor], v: torch.Tensor, h: torch.Tensor, bias: torch.Tensor
) -> torch.Tensor:
    """The official order-2 core: gate, one long convolution with skip term, gate."""
    raise NotImplementedError("exercise 3: your answer here")


check_official_recurrence(official_recurrence)

# %% [markdown]
# **Exercise 4 (the recurrence by hand).** Given the factors of `op.matrices(u)` (lists
# `D_x` of `(d_model, L)` and `S_h` of `(d_model, L, L)`, and `v` of `(d_model, L)`), compute
# $y = D_x^N S_h^N \cdots D_x^1 S_h^1 v$ one factor at a time, without forming $A(u)$. The
# checker compares with `materialize(u) @ v` at orders $N = 2, 1, 3$.


# %%
def hyena_recurrence(
    D_x: list[torch.Tensor], S_h: list[torch.Tensor], v: torch.Tensor
) -> torch.Tensor:
    """y = D_x^N S_h^N ... D_x^1 S_h^1 v, one matrix-vector product and one gate at a time."""
    raise NotImplementedError("exercise 4: your answer here")


check_hyena_recurrence(hyena_recurrence)
