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
# # Chapter 0: Start here
#
# **hyena-lab** is an executable handbook for *Hyena Hierarchy: Towards Larger Convolutional
# Language Models* (Poli et al., 2023, arXiv 2302.10866). Each chapter is a notebook that
# rebuilds one idea of the paper in PyTorch, checks every claim it makes with an `assert`, and
# ends with exercises that a checker grades on the spot.
#
# **What you will learn here**
#
# 1. The order of the chapters, what each one assumes, how long it runs on a laptop CPU and what
#    you should be able to do after it.
# 2. Where each section, figure and table of the paper is reproduced (or why it is not).
# 3. How the exercises work: you write a function, a `check_*` function runs it on inputs whose
#    answer is known and tells you *pass* or *what is wrong*.
#
# **Prerequisites**: Python and the basics of PyTorch tensors; linear algebra at the level of
# matrix-vector products. Nothing about Hyena, state-space models or the FFT is assumed.
#
# **Run time**: a few seconds on a laptop CPU.
#
# **How to run the handbook.** `make lab` opens JupyterLab on the chapters; `make handbook`
# re-executes all of them and rewrites `figures/`; `make test` runs the test suite (the package's
# unit tests, every notebook under nbval and a real browser that runs chapter 1 and moves its
# slider); `make book` builds a static HTML book of the executed chapters into
# `build/book/html` (offline).

# %% [markdown]
# ## 1. Course outline
#
# Chapters build on each other in this order. Chapters 1-4 run on any CPU; chapter 5 reads GPU
# measurements that were recorded on an H100 (its CPU part runs anywhere, and
# `hyena-lab bench` re-measures on your own GPU).
#
# | # | chapter | builds on | paper | CPU time |
# |---|---|---|---|---|
# | 0 | Start here | – | – | ~15 s |
# | 1 | Long convolutions | – | Sec. 2.1 | ~40 s |
# | 2 | Hyena matrices | 1 | Sec. 3.1, 3.2, 3.4 | ~35 s |
# | 3 | Implicit filters | 1 | Sec. 3.3, App. D.3 | ~40 s |
# | 4 | Associative recall | 2, 3 | Sec. 4.1, App. A.1 | ~2-4 min |
# | 5 | GPU kernels | 1, 2 | Sec. 4.4 | ~50 s |
#
# After each chapter you will be able to:
#
# 1. **Long convolutions**: write a causal convolution three ways (the definition, the Toeplitz
#    matrix $S_h$, the FFT with zero-padding), test causality by perturbing the future, and
#    measure $O(L^2)$ against $O(L \log L)$.
# 2. **Hyena matrices**: run the order-$N$ recurrence; write it as
#    $A(u) = D_x^N S_h^N \cdots D_x^1 S_h^1$; compare $A(u)$ with an attention matrix; map the
#    official code's convention onto the paper's.
# 3. **Implicit filters**: build the implicit filter (positional encoding, FFN with sine
#    activations, exponential window) and compare it with explicit, SSM (S4D) and
#    frequency-domain filters: parameter counts, smoothness, spectra.
# 4. **Associative recall**: generate the task; train tiny Hyena, attention, H3 and convolution
#    models; read accuracy against vocabulary size and sequence length.
# 5. **GPU kernels**: time the FFT convolution against the best attention kernel; explain the
#    times with a roofline model; check the paper's speed claims.
#
# CPU times were measured on a shared 2-core AMD EPYC server (`make handbook`, torch 2.13
# CPU): all six chapters execute in about 5 minutes together. Chapters 2 and 3 can be read in
# either order; chapter 4 uses both.
#
# **Learning goals of the whole course.** After chapter 5 you can explain, with numbers you
# measured yourself: why a long convolution is cheap (FFT) but not data-controlled; how gating
# makes Hyena's operator $A(u)$ depend on the input like attention does; why the filters are
# *implicit* (parameters independent of the length, a built-in bias toward smooth decaying
# filters); what the associative-recall experiments do and do not show; and how large the speed
# advantage over attention really is at 8K and 64K tokens.

# %% [markdown]
# ## 2. Map from the paper to the chapters
#
# | paper | what it is | chapter |
# |---|---|---|
# | Sec. 2.1 | explicit and implicit long convolutions, FFT, Toeplitz | 1 |
# | Sec. 2.2 | self-attention, a data-controlled matrix | 2 |
# | Sec. 3.1, Def. 3.1 | the Hyena recurrence $z^{n+1} = x^n \odot (h^n * z^n)$ | 2 |
# | Sec. 3.2 | Hyena matrices $D_x^n$, $S_h^n$, the operator $A(u)$ | 2 |
# | Sec. 3.3, eq. (7) | implicit filters: FFN of a positional encoding, windowed | 3 |
# | Sec. 3.4, Alg. 3 | the operator as an algorithm (projections, short filter) | 2 |
# | App. D.3 | positional encoding; the low-pass bias of implicit filters | 3 |
# | Sec. 4.1, App. A.1 | associative recall (also majority, counting) | 4 |
# | Table A.1 | the training recipe of the synthetic tasks | 4 |
# | Tables 4.2, A.2, C.1 | recall accuracy vs length, filter type, vocabulary | 4 (*) |
# | Sec. 4.2 | language modelling (WikiText-103, The Pile) | not run (**) |
# | Sec. 4.4, Fig. 4.3 | runtime of Hyena vs attention and FlashAttention | 5 |
# | abstract | "2x faster at 8K, 100x at 64K" | 5 (***) |
# | HazyResearch/safari | the official code: weights and conventions | 2 |
#
# (\*) at tiny scale: the ordering of Table C.1, not its numbers. (\*\*) it takes GPU-weeks;
# chapter 4 quotes its numbers. (\*\*\*) checked against Figure 4.3's own data and against
# measurements on an H100.

# %% [markdown]
# ## 3. Check your set-up
#
# The handbook needs PyTorch and the `hyena_lab` package (installed by `make install`). The cell
# below prints the versions and the chapters present in this copy of the handbook.

# %%
import platform
from pathlib import Path

import torch

import hyena_lab
from hyena_lab import exercises

torch.manual_seed(0)
print(f"hyena_lab {hyena_lab.__version__}, torch {torch.__version__}")
print(f"Python {platform.python_version()}, {torch.get_num_threads()} CPU threads for torch")
print(f"CUDA available: {torch.cuda.is_available()}")
chapters = sorted(p.stem for p in Path(".").glob("[0-9][0-9]_*.ipynb"))
print("chapters here:", ", ".join(chapters) or "(none: run this notebook from notebooks/)")

# %% [markdown]
# ## 4. How the exercises work
#
# Each chapter ends with 2-4 exercises. You write a small function; a checker from
# `hyena_lab.exercises` runs it on inputs where the right answer is known (random inputs,
# odd lengths, $L = 1$, the modules of the package as references) and returns a verdict that
# reads `PASS` with what was verified, or `NOT YET` with what is wrong and a hint. The checker
# never crashes because of your code: an exception becomes the message.
#
# Here is the first exercise of chapter 1 tried twice. The product of two lower-triangular
# Toeplitz matrices $S_g S_h$ is again one, $S_f$; which filter $f$? A first guess, the
# element-wise product $g \odot h$, is wrong, and the checker says so:

# %%
# NBVAL_CHECK_OUTPUT
from hyena_lab import direct_conv
from hyena_lab.exercises import check_toeplitz_product


def filter_of_product_guess(g: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """First guess: multiply the filters tap by tap."""
    return g * h


verdict = check_toeplitz_product(filter_of_product_guess)
assert not verdict.passed and "element-wise product" in verdict.message
print(verdict)

# %% [markdown]
# The right answer is the causal convolution of the two filters, $f = g * h$ truncated to $L$
# taps (chapter 1 explains why):

# %%
# NBVAL_CHECK_OUTPUT
def filter_of_product(g: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """S_g S_h = S_f with f the causal convolution of g and h (first L lags)."""
    return direct_conv(g[None], h[None])[0]


verdict = check_toeplitz_product(filter_of_product)
assert verdict.passed
print(verdict)

# %% [markdown]
# Teachers: every exercise has a reference solution, `exercises.show_solution(name)` prints it,
# and the test suite checks that each reference passes and that typical wrong answers fail with
# the message you see above. The list of all exercises, by chapter:

# %%
# NBVAL_CHECK_OUTPUT
for chapter in range(1, 6):
    items = exercises.exercises(chapter)
    assert 2 <= len(items) <= 4, f"chapter {chapter} should have 2-4 exercises"
    print(f"chapter {chapter}:")
    for e in items:
        print(f"  check_{e.name}: {e.task}")

# %% [markdown]
# ## Summary
#
# * Work through chapters 1 → 2 → 3 → 4 → 5; 2 and 3 may be swapped. Chapters 1-4 need only a
#   CPU; chapter 5 explains GPU measurements and can re-run them on your GPU.
# * The table in Section 2 tells you where each part of the paper lives in the handbook.
# * Every chapter's exercises are graded by `hyena_lab.exercises.check_*`: `PASS`, or what is
#   wrong.
#
# ## Exercises
#
# 1. **Plan your path.** Which chapters must you read before chapter 4, and which paper tables
#    will you be able to compare with your own results there?
# 2. **Read a checker.** Call `exercises.show_solution("causal_fftconv")` and
#    `help(exercises.check_causal_fftconv)`. On which lengths $L$ is your FFT convolution tested,
#    and why are odd lengths and $L = 1$ among them?
