# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
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
#    ("bias") term, and the package's code for it, read line by line next to Algorithm 3
#    (Sec. 3.4) with the shape of every tensor.
# 2. Its matrix form $y = D_x^N S_h^N \cdots D_x^1 S_h^1\, v = A(u)\,v$ (Sec. 3.2), built up
#    from order 1 (a gated convolution) and order 2 (the shape of H3, and the two ways of
#    counting its order), with every step checked.
# 3. Why $A(u)$ is **causal** (lower triangular) and **data-controlled** (it changes with $u$
#    while the filters do not), and how it differs from an attention matrix (App. D.1).
# 4. What materialising $A(u)$ costs ($O(D L^2)$ memory, $O(N D L^3)$ work the way we build
#    it) against running the recurrence ($O(N D L \log L)$): counted in FLOPs and bytes, read
#    from a recorded CPU measurement, and re-measured on your CPU beside it.
# 5. How the official implementation's `order` differs from the paper's, checked bit for bit
#    against its test vectors.
#
# **Prerequisites**: Chapter 1 (a causal convolution is a lower-triangular Toeplitz matrix
# $S_h$; `fftconv`, `toeplitz`), products of matrices. How the long filters $h^n$ are
# parameterised (the implicit filters of Sec. 3.3) is Chapter 3: here they are given.
#
# **Run time**: short, most of it in the live timing of Section 8 (chapter 0's table lists the
# recorded time of every chapter, and the machine it was recorded on).
#
# The operator is `hyena_lab.HyenaOperator` (`hyena_lab/operator.py`: `.projections`,
# `.filters`, `.long_conv`, `.core`, `.matrices`, `.materialize`; `algorithm3_steps` names every
# intermediate tensor); the official bridge is
# `hyena_lab.official`; this chapter's figures and widget are `hyena_lab.viz.matrices`, its
# timings `hyena_lab.experiments.matrix_costs` (the command `hyena-lab matrix-costs --help`).

# %%
# %matplotlib inline
import inspect

import ipywidgets as widgets
import torch
from IPython.display import Code

from hyena_lab import HyenaOperator, fftconv, roofline, toeplitz
from hyena_lab.checks import F64_SAME_ALGEBRA, rel_err
from hyena_lab.experiments.examples import (
    DEMO_D_MODEL,
    causal_attention_matrix,
    demo_operator,
    make_input,
    toeplitz_deviation,
)
from hyena_lab.experiments.matrix_costs import (
    RECORD_NAME,
    MatrixCostsConfig,
    count_matrix_costs,
    measure_matrix_costs,
)
from hyena_lab.filters import PositionalEncoding
from hyena_lab.official import from_safari, load_vectors, to_safari
from hyena_lab.operator import algorithm3_steps
from hyena_lab.viz import load_data, save_data, savefig, use_style
from hyena_lab.viz.matrices import (
    complexity_figure,
    complexity_table,
    hyena_matrices_controls,
    hyena_matrices_figure,
    matrices_figure,
    patterns_figure,
)

use_style()
torch.manual_seed(0)
torch.set_grad_enabled(False)  # nothing is trained in this chapter
torch.set_num_threads(1)  # the tensors are tiny: one thread avoids OpenMP start-up and contention

# Tolerances (float64 throughout, eps = 2.2e-16). Two evaluations of the same products in another
# order agree to F64_SAME_ALGEBRA = 1e-12 (hyena_lab.checks: ~sqrt(n) eps typical). The FFT path
# against the dense matrix A(u) differs by the FFTs' round-off: per convolution at most
# (2 FFT_C log2(2L) + 3) eps ||h_bar||_1 ||z|| (hyena_lab.checks.fftconv_error_bound), i.e.
# (2 * 7 * 6.2 + 3) * 2.2e-16 * 10 ~ 2e-13 for L = 37 and these filters (||h_bar||_1 < 10), over
# N <= 4 steps ~ 1e-12 relative. 1e-10 leaves 100x on that estimate (measured: ~5e-16) and is
# still 1e8 below any real mistake (a wrong factor changes the result by O(1)).
MATRIX_VS_FFT = 1e-10


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
# In the package this recurrence is the loop of `HyenaOperator.core`, printed and walked in
# Section 2. The cell below sets up the operator and input of the later sections, and checks the
# one claim above that is not in the code: the skip term is a filter tap.

# %%
L = 37  # odd, not a power of two: nothing below relies on a convenient length
op = demo_operator(order=2)  # float64, d_model = 8, l_max = 64, implicit filters, seed 0
u = make_input("random", L, DEMO_D_MODEL, seed=1)  # (1, L, d_model)
_, v = op.projections(u)  # the value v, (1, d_model, L)
h = op.filters(L)  # (N, d_model, L): h^1 .. h^N
h_bar = h[0].clone()  # the skip term b^1 moved onto the first tap of h^1
h_bar[:, 0] += op.bias[0]
assert rel_err(fftconv(v, h[0], op.bias[0]), fftconv(v, h_bar)) < MATRIX_VS_FFT

# %% [markdown]
# ## 2. The operator's code, line by line
#
# Here is `HyenaOperator.core`, printed from the package with `inspect.getsource`, so what you
# read is what runs. The loop is Definition 3.1 in its own symbols: `z = v` is $z^1 = v$, and
# each pass computes $z^{n+1} = x^n \odot (h^n * z^n + b^n z^n)$, the gate $D_x^n$ applied
# after the long convolution $S_h^n$. Python counts from 0, so `x[n]` is the paper's
# $x^{n+1}$. Below it, `long_conv` (one step's convolution, with the skip term) and
# `forward`, which adds the output projection.

# %%
Code("\n".join(inspect.getsource(f) for f in (HyenaOperator.core, HyenaOperator.long_conv,
                                             HyenaOperator.forward)), language="python")

# %% [markdown]
# Two details of that code are worth a sentence each.
#
# * **The filters are evaluated once per call**, before the loop (`h = self.filters(...)`),
#   not once per step: the filter network costs more than the convolutions at this width
#   (Section 8).
# * **The official layout is an index map**, not a branch in the loop: `filter_of_step[n]`,
#   built once in `__init__`, is the row of the filter bank (and of `bias`) used by step
#   $n + 1$. In the paper's layout it is `(0, 1)` for order 2. The official code's order-2
#   layer gates $v$ before its only convolution (Section 9); as a
#   `HyenaOperator(..., identity_first=True)` its map is `(None, 0)`, and `None` makes
#   `long_conv` the identity, $S_h^1 = I$.
#
# **Algorithm 3, end to end.** The paper's Algorithm 3 (Sec. 3.4) runs the operator in three
# steps. (1) Projections (Algorithm 1): a linear map over channels to $(N + 1) D$ channels
# (`in_proj`), a short causal depthwise convolution over each of them (`short_conv`, 3 taps),
# and a split into $x^1, \dots, x^N, v$, each $D \times L$. (2) Filters (Algorithm 2): the
# positional encoding $\mathrm{PE}(t)$ of the $L$ positions ($L \times D_e$), an FFN to $N D$
# channels, multiplied by a decaying window, split into $h^1, \dots, h^N$. (3) For
# $n = 1, \dots, N$: $v_t \leftarrow x^n_t \cdot \mathrm{FFTConv}(h^n, v)_t$. The listing reuses
# the name $v$ for the running signal; Definition 3.1 and the code call it $z^n$. The package's
# `fftconv`, like the official one, adds the skip term $b^n z^n$; the walk below lists it
# apart. Last, `out_proj`, the output projection (linear over channels) of the official layer
# and of this package.
#
# `algorithm3_steps(op, u)` (in `hyena_lab/operator.py`) spells these steps out from the
# operator's modules, without calling `core`, and returns every intermediate tensor by name.
# On a tiny input ($L = 6$, $D = 8$, batch 1) the shapes, for the paper's order 2 and for
# the official order-2 layout (no $h^1$, and half the filter channels):

# %%
u_tiny = make_input("random", 6, DEMO_D_MODEL, seed=2)  # (1, L = 6, D = 8)
op_official = demo_operator(order=2, identity_first=True)  # the official order 2
walk = {"paper": algorithm3_steps(op, u_tiny), "official": algorithm3_steps(op_official, u_tiny)}
assert op.filter_of_step == (0, 1) and op_official.filter_of_step == (None, 0)
for name, op_w in (("paper", op), ("official", op_official)):
    # The walk runs the same float64 operations as op(u) in the same order (only the skip term
    # is added outside fftconv), so the two agree to round-off at most; F64_SAME_ALGEBRA allows
    # reassociation (measured: bit-for-bit equal), ~1e8 below a wrong gate or filter.
    assert rel_err(walk[name]["out_proj"], op_w(u_tiny)) < F64_SAME_ALGEBRA
    assert rel_err(walk[name]["z^3"], op_w.core(u_tiny)) < F64_SAME_ALGEBRA
assert walk["paper"]["in_proj"].shape == (1, 6, 3 * 8) and op.short_filter_order == 3
assert "h^1" not in walk["official"] and walk["official"]["window"].shape == (8, 6)
assert walk["paper"]["FFN(PE(t))"].shape == (2 * 8, 6)  # N D filter channels: twice as many

# %%
# NBVAL_CHECK_OUTPUT
print(f"{'tensor':<16}{'paper, N = 2':>16}{'official order 2':>18}")
for name in dict.fromkeys([*walk["paper"], *walk["official"]]):  # the paper's order
    shapes = [str(tuple(w[name].shape)) if name in w else "-" for w in walk.values()]
    print(f"{name:<16}{shapes[0]:>16}{shapes[1]:>18}")

# %% [markdown]
# ## 3. Order 1: a gated convolution, y = Dₓ Sₕ v
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
assert rel_err(A1, m1.D_x[0][:, :, None] * m1.S_h[0]) < F64_SAME_ALGEBRA  # A_ts = x_t (S_h)_ts
assert rel_err(A1, op1.materialize(u)) < F64_SAME_ALGEBRA
assert rel_err((A1 @ m1.v[..., None])[..., 0], op1.core(u)[0]) < MATRIX_VS_FFT  # y = A(u) v

# %% [markdown]
# ## 4. Order 2: the shape of H3, two gates and two convolutions
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
# **H3, and two ways to count its order.** H3 (Fu et al., 2023) projects $u$ to $q, k, v$ and
# computes $y = q \odot \mathrm{SSM}_\text{diag}\big(\mathrm{SSM}_\text{shift}(k) \odot v\big)$.
# Sec. 3.1 of the Hyena paper reads it as a data-controlled matrix with two Toeplitz factors,
# $A(q, k) = D_q S_\psi D_k S_\varphi$ ($S_\varphi$, $S_\psi$ the Toeplitz matrices of the shift
# and the diagonal state-space models), and Remark 3.2 calls H3 a Hyena of order 2 with SSM
# filters: $D_x^2 \leftrightarrow D_q$, $S_h^2 \leftrightarrow S_\psi$ (the *diagonal* SSM: a
# long, decaying filter, the memory), $D_x^1 \leftrightarrow D_k$, $S_h^1 \leftrightarrow
# S_\varphi$ (the *shift* SSM: a short filter that shifts the signal by a few steps). That is
# the paper's count: **order $N$ = $N$ long convolutions and $N$ gates** (Definition 3.1).
#
# Look at the formula again, though: the shift SSM acts on the *key* $k$, not on $v$. As a
# matrix acting on $v$, H3 is $y = D_q\, S_\psi\, D_{\tilde k}\, v$ with
# $\tilde k = \mathrm{SSM}_\text{shift}(k)$: **one** long convolution between two gates, the
# shift being part of how the gate $\tilde k$ is computed, as the 3-tap short convolution inside
# every Hyena projection is. This is exactly the layout of the **official Hyena code**, whose
# "order 2" is $y = x^2 \odot \big(h * (x^1 \odot v)\big)$ (Section 9): it builds
# $o - 1$ long filters for `order=o`. The two conventions, side by side:
#
# | order 2 in ... | $A(u)$ | long convs | `HyenaOperator(order=2, ...)` | ch. 4 mixers |
# |---|---|---|---|---|
# | the paper (Def. 3.1) | $D_x^2 S_h^2 D_x^1 S_h^1$ | 2 | (default) | `"h3"` |
# | H3 itself; official | $D_x^2 S_h^2 D_x^1$ | 1 | `identity_first=True` | `"hyena"`, `"h3_same"` |
#
# So "H3 is a Hyena of order 2" is true in both counts, but the two order-2 operators differ by
# a long convolution: when chapter 4 compares Hyena with H3, `"hyena"` vs `"h3_same"` changes
# only the filter family, `"h3_same"` vs `"h3"` only the depth. Everywhere else this chapter
# follows the paper's count; the cell below checks both layouts.
#
# Hyena keeps the shape and changes the ingredients: its long filters are implicit (Sec. 3.3)
# rather than SSM kernels, the short shifting job is done by the 3-tap convolution inside every
# projection, and the order is no longer fixed at 2. The matrix form does not care how the
# filters are parameterised: an operator whose filters *are* diagonal SSMs (`filter="ssm"`)
# obeys the same identity.

# %%
m2 = op.matrices(u)  # the order-2 operator of Section 1 (the paper's count: two filters)
D1, D2 = (torch.diag_embed(d) for d in m2.D_x)  # (d, L, L) each
S1, S2 = m2.S_h
A2 = D2 @ S2 @ D1 @ S1
assert rel_err(A2, op.materialize(u)) < F64_SAME_ALGEBRA  # same products, reassociated
assert rel_err((A2 @ m2.v[..., None])[..., 0], op.core(u)[0]) < MATRIX_VS_FFT

# H3's own layout = the official order 2: one long convolution between two gates
op_h3 = demo_operator(order=2, identity_first=True)
m_h3 = op_h3.matrices(u)
assert torch.equal(m_h3.S_h[0], torch.eye(L, dtype=torch.float64).expand(DEMO_D_MODEL, L, L))
x1_h3, x2_h3 = m_h3.D_x  # A_ts = x2_t (S_h^2)_ts x1_s: rows and columns gated, one Toeplitz
A_h3 = x2_h3[:, :, None] * m_h3.S_h[1] * x1_h3[:, None, :]
assert rel_err(A_h3, op_h3.materialize(u)) < F64_SAME_ALGEBRA
assert rel_err((A_h3 @ m_h3.v[..., None])[..., 0], op_h3.core(u)[0]) < MATRIX_VS_FFT

torch.manual_seed(0)
op_ssm = HyenaOperator(DEMO_D_MODEL, 64, order=2, filter="ssm").double()  # H3-like filters
m_ssm = op_ssm.matrices(u)
A_ssm = op_ssm.materialize(u)
assert rel_err((A_ssm @ m_ssm.v[..., None])[..., 0], op_ssm.core(u)[0]) < MATRIX_VS_FFT

# %% [markdown]
# ## 5. Any order N, by induction
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
#    `op(u)` $=$ `out_proj`$(A(u)\,v)$ (relative error $< 10^{-10}$: the float64 round-off of
#    the FFTs with a wide margin; the printout shows the actual round-off).
# 2. **Causal**: a product of lower-triangular matrices is lower triangular, so
#    $A(u)_{ts} = 0$ for $s > t$. More: row $t$ only involves gates at positions $\le t$, and
#    the projections are causal, so changing the input after $t_0$ leaves the top-left
#    $t_0 \times t_0$ block of $A(u)$ untouched (exactly, in fact: the future's entries are
#    multiplied by exact zeros).
# 3. **Data-controlled**: $A(u)$ changes with $u$ (through the gates), while every $S_h^n$ is
#    the same for every input: the filters are parameters, not functions of the data.
#
# The recurrence never forms $A(u)$: it applies its $2N$ factors one by one, $N$ FFT
# convolutions in $O(L \log L)$ and $N$ gates in $O(L)$ per channel, where $A(u)\,v$ would cost
# $O(L^2)$ (Section 8).

# %%
t0 = 23  # the input is perturbed from this position on
for N in range(1, 5):
    op_N = demo_operator(order=N, seed=N)
    u1 = make_input("random", L, DEMO_D_MODEL, 10 + N)
    u2 = make_input("random", L, DEMO_D_MODEL, 20 + N)
    m = op_N.matrices(u1)
    A = op_N.materialize(u1)  # (d, L, L)
    Av = (A @ m.v[..., None])[..., 0]  # (d, L)
    assert rel_err(Av, op_N.core(u1)[0]) < MATRIX_VS_FFT  # 1. core(u) = A(u) v
    assert rel_err(op_N.out_proj(Av.T), op_N(u1)[0]) < MATRIX_VS_FFT  # ... op(u) = out_proj(A v)
    assert torch.equal(A, torch.tril(A))  # 2. causal: nothing above the diagonal
    u3 = u1.clone()
    u3[:, t0:] += make_input("random", L - t0, DEMO_D_MODEL, 99)
    A3 = op_N.materialize(u3)
    assert rel_err(A3[:, :t0, :t0], A[:, :t0, :t0]) < F64_SAME_ALGEBRA  # past ignores future
    assert rel_err(A3[:, t0:], A[:, t0:]) > 1e-2  # a real change is O(1), not round-off
    assert rel_err(op_N.materialize(u2), A) > 1e-2  # 3. A(u) changes with u ...
    for S_a, S_b in zip(m.S_h, op_N.matrices(u2).S_h, strict=True):
        assert torch.equal(S_a, S_b)  # ... while S_h does not
    print(f"order {N}: rel. err. of A(u) v vs core(u) = {rel_err(Av, op_N.core(u1)[0]):.1e}")

# %% [markdown]
# ## 6. Looking at the matrices, next to attention (App. D.1)
#
# The figure shows, for one channel of the order-2 operator and the random input above, the
# factors, their product $A(u)$ and, for the same input, the causal softmax attention matrix
# of one head. Column $n$ holds $S_h^n$ (top) and $D_x^n$ (bottom); the titles number the
# factors in the order they act on $v$: (1) $S_h^1$ top left, (2) $D_x^1$ below it,
# (3) $S_h^2$ top middle, (4) $D_x^2$ below it. The right column holds $A(u)$ (top) and the
# attention matrix (bottom). The attention head has **random** weights $W_q, W_k$: it is an
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
assert toeplitz_deviation(m2.S_h[0][CHANNEL]) == 0.0  # S_h is built from h by indexing: exact
assert toeplitz_deviation(A) > 1e-2  # the gates break the constant diagonals by O(1)
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
for c in range(DEMO_D_MODEL):  # deviations relative to max |A|: products' round-off only
    assert toeplitz_deviation(A_of["repeated token"][c, w:, w:]) < F64_SAME_ALGEBRA  # a conv.
    assert toeplitz_deviation(A_of["step"][c, w:half, w:half]) < F64_SAME_ALGEBRA  # 1st half
    assert toeplitz_deviation(A_of["step"][c, half + w :, half + w :]) < F64_SAME_ALGEBRA
    assert toeplitz_deviation(A_of["random"][c, w:, w:]) > 1e-2  # data control at work
P_rep = causal_attention_matrix(inputs["repeated token"], seed=0)
uniform = torch.tril(torch.ones(32, 32, dtype=torch.float64)) / torch.arange(1, 33)[:, None]
assert rel_err(P_rep, uniform) < F64_SAME_ALGEBRA  # equal scores: softmax is 1/(t+1)
fig

# %% [markdown]
# ## 7. Widget: order, channel, length and input
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
assert rel_err(op3_demo.materialize(u_one)[:, 0, 0], product.prod(0)) < F64_SAME_ALGEBRA

# %% [markdown]
# ## 8. What a materialised A(u) costs
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
# These growth rates belong to the algorithms, not to a machine, so we check them three ways:
# on **counted work** (exact, any machine), on a **recorded measurement** (committed with the
# name of its machine), and on a **live re-measurement** on yours, shown beside the record and
# not asserted: how fast your CPU is, and how busy, is not a claim of this chapter.
#
# **Counted work** (`count_matrix_costs`, from `hyena_lab.roofline`; float32, batch 1, order 2,
# $D = 8$). FFTs are counted as in chapter 5, with `roofline.fft_flops`: a *real* FFT of $n$
# points costs about $2.5\, n \log_2 n$ FLOPs, half the classic $5\, n \log_2 n$ of a *complex*
# FFT (radix-2 butterflies: one complex multiply and two complex adds per pair and stage),
# because a real signal of $n$ points is transformed as a complex one of $n/2$ points. Exercise
# 2 below counts complex FFTs; both conventions agree up to that factor 2.
#
# At this small width the operator's work is dominated by its filter network (an FFN of width
# 64 evaluated at all $L$ positions, linear in $L$): the FFT convolutions, its $L \log L$ part,
# are only 9% to 16% of it. Building $A(u)$ as the handbook does ($N$ dense products of
# $L \times L$ matrices per channel) costs $O(N D L^3)$: 6x the operator's work at $L = 64$,
# 389x at $L = 512$. Applying a given $A(u)$, $2 D L^2$, costs less than the operator up to
# $L = 1024$ and more from $L = 4096$ on.

# %%
# NBVAL_CHECK_OUTPUT
counted = {r["L"]: r for r in count_matrix_costs(d_model=8, order=2)["rows"]}
share = {L: r["conv_flops"] / r["op_flops"] for L, r in counted.items()}
mat_x = {L: r["materialize_flops"] / r["op_flops"] for L, r in counted.items()}
mv_x = {L: r["matvec_flops"] / r["op_flops"] for L, r in counted.items()}
print(f"FFT convolutions: {min(share.values()):.0%} to {max(share.values()):.0%} of op(u)'s work")
print(f"materialize / op: {mat_x[64]:.0f}x at L = 64, {mat_x[512]:.0f}x at L = 512")
print(f"A @ v / op: {mv_x[1024]:.2f} at L = 1024, {mv_x[4096]:.2f} at L = 4096")

# %%
n = 2 * 512  # one FFT of the padded length 2L
assert roofline.fft_flops(n, real=False) == 2 * roofline.fft_flops(n)  # complex = 2 x real
assert [round(100 * f(share.values())) for f in (min, max)] == [9, 16]  # percent
assert round(mat_x[64]) == 6 and round(mat_x[512]) == 389  # the dense path falls behind
assert mv_x[1024] < 1 < mv_x[4096]  # a given A(u) is cheap to apply only while L is small
assert counted[16384]["op_flops"] / counted[1024]["op_flops"] < 16**2 / 4  # 16x L: ~17x work
for L, r in counted.items():
    assert r["A_bytes"] == 8 * L**2 * 4  # d L^2 float32 numbers, exactly
    assert r["signal_bytes"] == (2 * 2 + 1) * 8 * L * 4  # (2N + 1) d L
gib = counted[16384]["A_bytes"] / 2**30
assert gib == 8.0  # 8 channels x 16384^2 x 4 bytes
print(f"A(u) at L = 16384 would take {gib:.0f} GiB for d_model = 8 (float32)")

# %% [markdown]
# **The recorded measurement** (`figures/data/02_hyena_matrices-complexity.json`, read with
# `hyena_lab.viz.load_data`): the median time per call of `op(u)` up to
# $L = 16{,}384$ and of the dense path until a call would take more than a second, float32,
# one thread, on the machine the file names. There, building $A(u)$ at $L = 512$ took 168 ms
# against 2.8 ms for `op(u)`, 61x, where the counted work says 389x: at small $L$ the
# operator's time is mostly a fixed cost per call (a few dozen small tensor operations, each
# with its Python and dispatch overhead), which FLOPs do not count. For the same reason a given
# $A(u)$ was applied 29x faster than `op(u)` ran at $L = 64$, and caught up with it between
# $L = 256$ and $512$ (counted: between 1024 and 4096). From $L = 1024$ to $16{,}384$ (16x
# longer), `op(u)` took 12.6x longer, far below the 256x of an $O(L^2)$ path.

# %%
# NBVAL_CHECK_OUTPUT
recorded = load_data(RECORD_NAME)  # the committed record: never rewritten by this chapter
print(f"recorded on {recorded['processor']}, {recorded['num_threads']} thread, torch "
      f"{recorded['torch_version']}, {recorded['date']}")
print(complexity_table(recorded))

# %%
rec = {r["L"]: r for r in recorded["rows"]}
dense = [L for L, r in rec.items() if r["materialize_seconds"] is not None]
ratio = {L: rec[L]["materialize_seconds"] / rec[L]["op_seconds"] for L in dense}
assert dense == [64, 128, 256, 512]  # the dense path stopped before a call took 1 s
assert ratio[512] > 4 * ratio[64]  # the dense path falls further behind (recorded: 44x)
assert round(rec[512]["materialize_seconds"] * 1e3) == 168 and round(ratio[512]) == 61
assert round(rec[512]["op_seconds"] * 1e3, 1) == 2.8
assert round(rec[64]["op_seconds"] / rec[64]["matvec_seconds"]) == 29
matvec_x = {L: rec[L]["matvec_seconds"] / rec[L]["op_seconds"] for L in dense}
assert matvec_x[256] < 1 < matvec_x[512]  # A @ v caught up with op(u) between 256 and 512
assert round(rec[16384]["op_seconds"] / rec[1024]["op_seconds"], 1) == 12.6  # vs 256x for L^2

# %% [markdown]
# **Live, on this machine**: the same measurement, now. Its numbers depend on your CPU and on
# what else runs on it, so nothing below is asserted; the figure draws it (dotted, hollow
# markers) over the record (solid), next to the counted work and the memory. It is saved as
# `02_hyena_matrices-complexity-live.json` in `hyena_lab.viz.figures_dir()` (a cache folder),
# never over the record. To re-make the record itself on your machine, run
# `hyena-lab matrix-costs --out figures/data/02_hyena_matrices-complexity.json`; the checks
# above then tell you which quoted numbers to update.

# %%
# NBVAL_IGNORE_OUTPUT
live = measure_matrix_costs(MatrixCostsConfig(progress=False))  # the record's settings
save_data(live, f"{RECORD_NAME}-live")  # into figures_dir(), never read back, never the record
print(complexity_table(live))
fig = complexity_figure(recorded, live)
savefig(fig, "02_hyena_matrices-complexity")
fig

# %% [markdown]
# ## 9. The paper and the official code
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
    for case in vec["cases"]:  # the official outputs and filters, reproduced: both float64,
        assert rel_err(op_off(case["u"]), case["y"]) < F64_SAME_ALGEBRA  # the same FFT algebra
        assert rel_err(op_off.filters(case["L"]), case["k"]) < F64_SAME_ALGEBRA
    config, sd = to_safari(op_off)  # and back: the very same tensors
    assert set(sd) == set(vec["state_dict"])
    assert all(torch.equal(sd[key], t) for key, t in vec["state_dict"].items())
    assert all(config[key] == value for key, value in vec["config"].items())

# the paper's order N is the official order N + 1 (first gate = 1), computing the same function
config, sd = to_safari(op)
assert op.order == 2 and config["order"] == 3
assert rel_err(from_safari(config, sd)(u), op(u)) < F64_SAME_ALGEBRA  # the same convolutions

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
assert rel_err(z_off, z_formula) > 1e-3  # far above float64 round-off: a different table

# %% [markdown]
# ### The official layer's A(u)
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
assert rel_err(A_off, x2[:, :, None] * m_off.S_h[1] * x1[:, None, :]) < F64_SAME_ALGEBRA
y_off = op_rec.out_proj(((A_off @ m_off.v[..., None])[..., 0]).T)
assert rel_err(y_off, case["y"][0]) < MATRIX_VS_FFT  # dense A(u) vs the official FFT path
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
#   $O(N D L \log L)$: at $L = 16{,}384$, $A(u)$ for 8 channels would take 8 GiB. Counted,
#   building $A(u)$ is 389x the operator's work at $L = 512$; in the recorded CPU run it took
#   168 ms against 2.8 ms (61x: at small $L$ the operator pays a fixed cost per call).
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
#    (count each FFT of $n = 2L$ points as a complex one, $5\, n \log_2 n$ real operations,
#    `roofline.fft_flops(n, real=False)`)?
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
# $5 \cdot 2L \log_2 2L$ per FFT counted as complex). The checker tries $D = 1024$ at
# $L = 2048$ and $65{,}536$ and accepts the usual counting conventions (2 or 3 FFTs per
# convolution, each counted as real, $2.5\, n \log_2 n$, or complex, $5\, n \log_2 n$; dense
# or triangular product).


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

# %% [markdown]
# ## Quiz
#
# 8 questions on the ideas of this chapter. Choose an answer and press **Check**: the
# feedback says why it is right, or which misconception the answer you chose stands for.
# `quiz_text(2)` gives the questions as text, to print.

# %% tags=["slides-skip"]
from hyena_lab.exercises import quiz

quiz(2)

# %% [markdown]
# **Next:** [Chapter 3: Implicit filters](03_implicit_filters.ipynb).
# Back to [the course outline](00_start_here.ipynb).
