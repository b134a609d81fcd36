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
# 1. The order of the chapters, what each one assumes, how long it ran when last recorded and
#    what you should be able to do after it.
# 2. Which parts of the paper the handbook covers, covers in part, or does not cover, and where.
# 3. How the exercises work: you write a function, a `check_*` function runs it on inputs whose
#    answer is known and tells you *pass* or *what is wrong*.
#
# **Prerequisites**: Python and the basics of PyTorch tensors; linear algebra at the level of
# matrix-vector products. Nothing about Hyena, state-space models or the FFT is assumed.
#
# **Run time**: no training and no figures, only a few checker calls. The table of Section 1
# gives the time of every chapter as recorded by `make handbook`, and the machine it ran on
# (`make handbook` executes this chapter last, so its own time there is from the run before).
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
# `hyena-lab bench` re-measures on your own GPU). Chapters marked *planned* are not written
# yet. The CPU times are not measured here: they are read from the record that the last
# `make handbook` wrote (`figures/data/00_start_here-chapter_times.json`), which names the
# machine; yours will differ.

# %%
from pathlib import Path

from IPython.display import Markdown, display

from hyena_lab import course

times = course.load_chapter_times()  # None until `make handbook` has recorded the chapters
display(Markdown(course.outline_table(times)))
print(course.times_note(times))
here = sorted(p.stem for p in Path(".").glob("[0-9][0-9]_*.ipynb"))
written = [c.stem for c in course.CHAPTERS if not c.planned]
assert not here or here == written, f"the outline lists {written}, this folder holds {here}"
if times is not None:  # the record covers every chapter (this one from the run before)
    unrecorded = [s for s in written if course.chapter_seconds(times, s) is None]
    assert set(unrecorded) <= {"00_start_here"}, f"not in the record: {unrecorded}"

# %% [markdown]
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
# Chapters 2 and 3 can be read in either order; chapter 4 uses both.
#
# **Learning goals of the whole course.** After chapter 5 you can explain, with numbers you
# measured yourself: why a long convolution is cheap (FFT) but not data-controlled; how gating
# makes Hyena's operator $A(u)$ depend on the input like attention does; why the filters are
# *implicit* (an FFN whose size does not grow with the length, a built-in bias toward smooth
# decaying filters); what the associative-recall experiments do and do not show; and how large
# the speed advantage over attention really is at 8K and 64K tokens.

# %% [markdown]
# ## 2. Map from the paper to the chapters
#
# Every section of the paper and every appendix, with what the handbook does with it:
# **covered** (rebuilt and checked), **partly** (what is and is not reproduced is said), or
# **not covered**. Where a planned chapter will take a part up, it is named.

# %%
display(Markdown(course.coverage_table()))
status = [p.status for p in course.COVERAGE]
tally = {s: status.count(s) for s in course.STATUSES}
print(f"{len(status)} parts of the paper:", ", ".join(f"{n} {s}" for s, n in tally.items()))
assert [p.part for p in course.COVERAGE] == list(course.PAPER_PARTS)  # each part, once
assert tally == {"covered": 8, "partly": 6, "not covered": 4}  # the sentence below

# %%
from hyena_lab.lm import build_lm, lm_model_config  # chapter 7's two models, 65 characters

lm_sizes = {m: build_lm(lm_model_config(m, 65), seed=0).num_params for m in ("attention", "hyena")}
assert {m: round(n / 1e6, 1) for m, n in lm_sizes.items()} == {"attention": 0.8, "hyena": 0.8}

# %% [markdown]
# So 8 of the 18 parts are covered, 6 in part, and 4 not at all. The experiments at scale are
# out of reach of a CPU: language modelling (Sec. 4.2) takes GPU-weeks, so chapter 7 quotes its
# perplexities and compares a GPT and a Hyena LM of 0.8M parameters on Tiny Shakespeare
# instead; downstream evaluation (Sec. 4.3) and vision (Sec. 4.5) are not run. The
# associative-recall chapter reproduces the *ordering* of the paper's tables at tiny scale, not
# their numbers. Two more things are checked although they are not sections: the abstract's
# "2x faster at 8K, 100x at 64K" (chapter 5, against Figure 4.3's own data and measurements on
# an H100), and the official code, HazyResearch/safari (chapter 2 loads its weights and maps its
# conventions onto the paper's; chapter 3 follows its filter's conventions, and says where they
# differ).

# %% [markdown]
# ## 3. Check your set-up
#
# The handbook needs PyTorch and the `hyena_lab` package (installed by `make install`). The cell
# below prints the versions and the chapters present in this copy of the handbook.

# %%
import platform

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
# * The map in Section 2 says which parts of the paper the handbook covers, covers in part or
#   leaves out, and where.
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

# %% [markdown]
# **Next:** [Chapter 1: Long convolutions](01_long_convolutions.ipynb).
