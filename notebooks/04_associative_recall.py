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

# %%

# %% [markdown]
# # Chapter 4: Associative recall, or what data control buys
#
# The paper's first experiment (Sec. 4.1; the task is in Table 4.1, the results in Tables 4.2,
# A.2 and C.1) is a *synthetic* task: read a list of key-value pairs, then answer which value a
# key had. It is small enough to train in a minute on a laptop, and it separates operators
# sharply: a mixer whose weights do not depend on the input cannot solve it, whatever its size.
#
# **What you will learn**
#
# 1. The associative-recall task in the format of the official code, why it needs a
#    *data-controlled* operator (Sec. 2.2 and 3), and the two accuracies a model gets without
#    one: chance and "answer the most frequent value".
# 2. How five mixers (Hyena, softmax attention, H3 in two layouts, an ungated long convolution)
#    all write $y = W_{\text{out}}\,(A\,v)$, which of them let $A$ depend on the input, and
#    which pair of them isolates which design choice.
# 3. To train 2-layer, width-64 models (Table A.1 at tiny scale) and read learning curves
#    against optimizer steps, with times taken from a recorded benchmark.
# 4. A grid over sequence length and vocabulary size that reproduces the *ordering* of the
#    paper's Table C.1 at tiny scale, and what it does not reproduce.
# 5. To open up a trained Hyena: its learned filters, and the data-controlled matrix $A(u)$
#    (Sec. 3.2) on one example, where the output at the query reads the value of the query key.
#
# **Prerequisites**: chapter 1 (long convolutions as Toeplitz matrices $S_h$), chapter 2 (the
# Hyena recurrence and $A(u) = D_x^N S_h^N \cdots D_x^1 S_h^1$), chapter 3 (implicit filters).
#
# **Run time**: dominated by the two trainings of Section 3, 650 optimizer steps at most each;
# on the quiet 2-core Xeon of the recorded benchmark (Section 3) they took 52 s (Hyena) and
# 39 s (attention). A busy machine takes longer; nothing in this chapter asserts on a time
# measured while it runs. The grid of Section 4 (120 runs) and the comparison of sine
# frequencies (6 runs) are read from `figures/data/`; set the environment variable
# `HYENA_LAB_RECOMPUTE=1` (or `RECOMPUTE = True` below) to train them again: minutes on a GPU,
# about an hour on a laptop CPU.
#
# The task lives in `hyena_lab.tasks`, the mixers in `hyena_lab.mixers`, the models in
# `hyena_lab.models`, the training loop in `hyena_lab.train` (checkpoints in
# `hyena_lab.checkpoint`), the recall runs, the grid and the `hyena-lab recall` / `hyena-lab
# recall-grid` commands in `hyena_lab.recall`, this chapter's figures in `hyena_lab.viz.recall`.

# %%
import itertools
import os

import torch
from ipywidgets import IntSlider, interact

from hyena_lab.filters import SSMFilter
from hyena_lab.mixers import HYENA_FILTER_ARGS, MIXERS
from hyena_lab.models import ModelConfig, TinyLM
from hyena_lab.recall import (
    GRID_RECIPE,
    RECALL_NUM_TRAIN,
    RECALL_RECIPE,
    device_name,
    grid_cells,
    load_measurement,
    recall_grid,
    recall_summary,
    run_recall,
    save_measurement,
)
from hyena_lab.recall.analysis import (
    accuracy_at,
    filter_statistics,
    key_positions,
    query_selectivity,
    seconds_per_step,
)
from hyena_lab.tasks import (
    associative_recall,
    counting,
    decode,
    majority,
    make_splits,
    most_frequent_value,
    recall_baselines,
    recall_vocab,
)
from hyena_lab.train import TrainConfig
from hyena_lab.viz import savefig, use_style
from hyena_lab.viz.recall import (
    curves_figure,
    filters_figure,
    grid_figure,
    grid_table,
    learning_curves_figure,
    recall_explorer_figure,
)

use_style()
RECOMPUTE = os.environ.get("HYENA_LAB_RECOMPUTE", "0") == "1"
DEVICE = "cuda" if RECOMPUTE and torch.cuda.is_available() else "cpu"

# %% [markdown]
# ## 1. The task
#
# Each example draws a **fresh random dictionary** $f$ from keys to values, writes $P$ pairs
# $(k_i, f(k_i))$ with keys drawn at random (a key may repeat, always with its one value), then
# the prompt token `=>` and a **query** key $q$ that occurred earlier:
#
# $$k_1\, f(k_1)\;\; k_2\, f(k_2)\;\; \cdots\;\; k_P\, f(k_P)\;\; \texttt{=>}\;\; q
# \quad\longrightarrow\quad f(q).$$
#
# Because $f$ is new in every sequence, nothing can be memorised in the weights: the answer has
# to be *looked up in the context*. The format follows the official data
# (`src/dataloaders/synthetics.py` of HazyResearch/safari): the two special tokens count inside
# `vocab_size`, the other ids are split in half into keys and values, and
# $P = (L - 2) / 2$ pairs fill a sequence of length $L$.
#
# `associative_recall` returns `(inputs, targets)` in **next-token** form: `targets[:, t]` is
# what the model must say after reading `inputs[:, :t+1]`, and -100 marks positions that are not
# scored. Below, keys are letters and values digits (`decode`).

# %%
# NBVAL_CHECK_OUTPUT
inputs, targets = associative_recall(4, 24, vocab_size=16, seed=0)
vocab = recall_vocab(16)
print(f"vocab 16 = 2 special tokens + {vocab.num_keys} keys + {vocab.num_values} values")
for x, y in zip(inputs, targets, strict=True):
    print(f"{decode(x, 16)}   ->  {decode(y[-1:], 16)}")

# %% [markdown]
# Every answer is the value written right after an earlier occurrence of the query key, and all
# occurrences of a key carry the same value. The test metric of the paper scores the final
# answer only; for **training**, the official data score *every* next-token position: each
# value of a key that was seen before is itself a recall (keys, drawn at random, are noise).
# `score="values"` keeps only the positions that predict a value.

# %%
for x, y in zip(inputs, targets, strict=True):
    keys, values = key_positions(x)
    assert keys, "the query key occurs in the context"
    assert all(int(x[s]) == int(y[-1]) for s in values), "answer = value after the query key"

# NBVAL_CHECK_OUTPUT
train_x, train_y = associative_recall(1, 24, 16, seed=0, score="all")
print("input         :", decode(train_x[0], 16))
print("target, all   :", decode(train_y[0], 16))
print("target, values:", decode(associative_recall(1, 24, 16, seed=0, score="values")[1][0], 16))

# %% [markdown]
# **Why a fixed convolution cannot do this.** A long convolution computes $y = S_h v$ with one
# matrix $S_h$ for every input: output $t$ always weighs position $t - s$ by $h_{s}$. Here the
# position to read from (right after the query key) changes from one sequence to the next, so no
# fixed $h$ can point at it. An operator must let its weights depend on the data, as attention
# does with $\mathrm{softmax}(QK^\top)$ and Hyena with its gates $D_x$ (Sec. 3.2).
#
# Two reference levels tell a lookup from what a model can do without one, and this chapter
# names them apart:
#
# * **chance**: a blind guess among the values is right with probability
#   $1 / |\text{values}|$;
# * **most frequent value**: answering the value that occurs most often in the context
#   (`most_frequent_value`) needs no lookup, only counting, and is right far more often than
#   chance, because the query key's value tends to be frequent (a frequent value is the value
#   of many keys, or of a key that occurs often). It is what a mixer *without* data control can
#   still learn.

# %%
# NBVAL_CHECK_OUTPUT
print("vocab | chance | most frequent value (2,000 sequences of length 128)")
levels = {}
for V in (10, 16, 20, 30):
    x, y = associative_recall(2000, 128, V, seed=1)
    counted = float((most_frequent_value(x, V) == y[:, -1]).float().mean())
    levels[V] = {"chance": 1 / recall_vocab(V).num_values, "most_frequent": counted}
    print(f"{V:5d} | {levels[V]['chance']:6.1%} | {counted:6.1%}")
    assert 2 * levels[V]["chance"] < counted < 0.6, (V, levels[V])
assert round(100 * levels[30]["chance"]) == 7 and round(100 * levels[30]["most_frequent"]) == 19

# %% [markdown]
# At vocabulary 30 the two levels are 7% and about 19%: a model stuck near 20% has learned to
# count, not to guess.
#
# Appendix A.1 lists two more synthetic tasks of the same family, in `hyena_lab.tasks` too:
# **majority** (the most frequent token) and **counting** (how often the query occurred; the
# answer is a numeral token). Both need the output to read from *many* positions at once, a
# dense $A(u)$.

# %%
# NBVAL_CHECK_OUTPUT
maj_x, maj_y = majority(1, 12, vocab_size=5, seed=1)
cnt_x, cnt_y = counting(1, 12, vocab_size=12, seed=1)
print("majority:", maj_x[0].tolist(), "->", int(maj_y[0, -1]))
print("counting:", cnt_x[0].tolist(), "->", int(cnt_y[0, -1]), "(numeral token)")
assert int(maj_y[0, -1]) == int(torch.mode(maj_x[0, :-1]).values)
assert int(cnt_y[0, -1]) - 2 == int((cnt_x[0, :-2] == cnt_x[0, -1]).sum())

# %% [markdown]
# ## 2. Five mixers, one matrix form
#
# The models are the paper's (Table A.1): token embedding, 2 pre-norm blocks of width 64
# (mixer, then an MLP of width 256, each with a residual connection), and a linear head. Only
# the **mixer** changes. On one sequence, each of them computes, channel by channel,
#
# $$y = W_{\text{out}}\,(A\,v), \qquad A \in \mathbb{R}^{L \times L}\ \text{lower triangular},$$
#
# and they differ in what $A$ is:
#
# | mixer | $A$ | long convolutions | data-controlled by |
# |---|---|---|---|
# | long conv (`conv`) | $S_h$, one learned explicit filter per channel | 1 | nothing |
# | H3 (`h3`) | $D_{x^2} S_{h^2} D_{x^1} S_{h^1}$, state-space (S4D) filters | 2 | the gates |
# | H3, Hyena's layout (`h3_same`) | $D_{x^2} S_{h} D_{x^1}$, an S4D filter | 1 | the gates |
# | Hyena (`hyena`) | $D_{x^2} S_{h} D_{x^1}$, an implicit filter | 1 | the gates |
# | attention | $\mathrm{softmax}(Q K^\top / \sqrt{d} + \text{mask})$ | 0 | $Q$ and $K$ |
#
# Hyena here uses the layout of the official code, which ran the paper's experiments: its
# "order 2" has one long convolution between two gates (`identity_first=True` in
# `hyena_lab.operator`). `h3` is H3 as the paper writes it, an order-2 recurrence with *two*
# long convolutions, which is also how Sec. 4.1 and Table A.2 embed the "H3" filters ("for
# $S^1$ and $S^2$ in an order 2 Hyena"). So the pairs answer different questions:
#
# * `hyena` vs `h3_same`: the **filter family** alone (implicit FFN filter against S4D), with
#   the same projections, short convolution, gates and one long convolution;
# * `h3_same` vs `h3`: the **depth** of the recurrence alone (one long convolution or two),
#   both with S4D filters;
# * `hyena` vs `h3`: both at once. This is the comparison the recorded grid of Section 4 was
#   first made with.
#
# `h3_same` is also the closest of the three to the H3 layer itself (Fu et al. 2023), whose
# first SSM is a *shift* SSM, in effect a short filter like the short convolution here.
# Attention is the only mixer that needs position embeddings; the others know positions through
# their filters. `TinyLM.decompose(tokens, layer)` returns $(A, v)$ for any of them.

# %%
# NBVAL_CHECK_OUTPUT
for name in MIXERS:
    torch.manual_seed(0)
    model = TinyLM(ModelConfig(vocab_size=16, l_max=128, mixer=name))
    op = model.blocks[0].mixer
    convs = getattr(op, "n_filters", 1 if name == "conv" else 0)
    print(f"{name:9s}  {model.num_params:7,d} parameters, {convs} long convolution(s) per layer")
    assert (name, convs) in {("conv", 1), ("h3", 2), ("h3_same", 1), ("hyena", 1), ("attention", 0)}

# %% [markdown]
# ## 3. Training Hyena and attention
#
# `run_recall` draws 24,000 training, 500 validation and 1,000 test sequences (independent
# seeds), seeds the initialisation and trains with `RECALL_RECIPE`: AdamW with the paper's
# betas (0.9, 0.98) and weight decay 0.1, a linear warm-up and a cosine decay, batch 32. The
# paper (Table A.1) trains 200 epochs over 2,000 sequences at learning rate
# $5 \cdot 10^{-4}$, i.e. 12,500 steps. To fit a minute on a CPU the recipe uses a learning rate
# of $3 \cdot 10^{-3}$ over 650 steps, enough sequences that none is seen twice, and a loss on
# the positions that predict a *value* only (the random keys that the official data also score
# are noise). Both changes helped in tuning runs, which were not recorded; what *is* recorded is
# the benchmark below. Training stops early on a perfect validation score; the test set is
# touched once, at the end. Both models get the same recipe, and a budget of **steps**, not of
# seconds, so that they train the same way on any machine.
#
# Vocabulary 16 (7 keys, 7 values) at length 128: 63 pairs, so chance is $1/7 \approx 14\%$.

# %%
print(RECALL_RECIPE)
recipe = RECALL_RECIPE
assert (recipe.lr, recipe.max_steps, recipe.batch_size, recipe.time_budget) == (3e-3, 650, 32, None)
assert (recipe.beta1, recipe.beta2, recipe.weight_decay) == (0.9, 0.98, 0.1)  # the paper's
assert 200 * 2000 // 32 == 12_500  # Table A.1: 200 epochs over 2,000 sequences, batch 32
assert recipe.max_steps * recipe.batch_size <= RECALL_NUM_TRAIN == 24_000  # none seen twice
splits = make_splits("recall", 128, 16, num_train=RECALL_NUM_TRAIN)  # as run_recall draws them
assert [len(x) for x, _ in (splits.train, splits.valid, splits.test)] == [24_000, 500, 1_000]
assert (vocab.num_values, (128 - 2) // 2, round(100 / vocab.num_values)) == (7, 63, 14)

hyena_model, hyena_history = run_recall("hyena", 16, 128, seed=0, progress=False)
attention_model, attention_history = run_recall("attention", 16, 128, seed=0, progress=False)
histories = {"Hyena": hyena_history, "attention": attention_history}
for label, h in histories.items():
    print(f"{label:9s} test accuracy {h.test_accuracy:.3f} after {h.steps} steps ({h.stopped}); "
          f"{h.total_seconds:.0f} s on this machine now (shown, not asserted)")

# %% [markdown]
# **The recorded benchmark.** How long do these 650 steps take? Measured with
# `hyena-lab recall --mixer M --vocab-size 16 --seq-len 128 --time-budget 60 --seed S
# --threads 2`, one run at a time on 2 cores of an otherwise idle Intel Xeon server (torch
# 2.11), four seeds for Hyena and one for attention. `seconds` counts the training loop with
# its validation passes (not drawing the data); the 60-second budget stops training at the
# first step past it, and a last validation pass follows. The numbers below are read from the
# committed record `figures/data/04_associative_recall-benchmark.json`, which names its machine.

# %%
# NBVAL_CHECK_OUTPUT
bench = load_measurement("04_associative_recall-benchmark")
print(f"{bench['device']}, {bench['cores']} cores, torch {bench['torch_version']}")
for run in bench["results"]:
    print(f"{run['mixer']:9s} seed {run['seed']}: test accuracy {run['test_accuracy']:.3f} in "
          f"{run['seconds']:4.1f} s, {run['steps']} steps ({run['stopped']})")
recorded = {"Hyena": seconds_per_step(bench, "hyena"),
            "attention": seconds_per_step(bench, "attention")}  # fmt: skip
print({label: f"{sps:.3f} s per step" for label, sps in recorded.items()})

# %% [markdown]
# On that machine Hyena reached 99.4-99.8% test accuracy in 52-61 s (600-650 steps, 4 seeds;
# one seed was stopped by the 60-second budget at step 624), attention 98.7% in 39 s
# (650 steps). Per step that is about 0.09 s for Hyena and 0.06 s for attention: at this
# length attention is the cheaper of the two on a CPU, because its $L^2$ costs little at
# $L = 128$ and both spend most of their time in the same projections and MLPs; Hyena's
# advantage in speed is a long-sequence one (chapter 5). Seed 0, the run this chapter trains,
# took 52 s (Hyena, stopped at step 600 by a perfect validation score) and 39 s (attention).

# %%
hyena_bench = [run for run in bench["results"] if run["mixer"] == "hyena"]
(attn_bench,) = [run for run in bench["results"] if run["mixer"] == "attention"]
accs, secs = [run["test_accuracy"] for run in hyena_bench], [run["seconds"] for run in hyena_bench]
assert len(hyena_bench) == 4 and (min(accs), max(accs)) == (0.994, 0.998)
assert (round(min(secs)), round(max(secs))) == (52, 61)
assert sorted({run["steps"] for run in hyena_bench}) == [600, 624, 650]
assert [run["steps"] for run in hyena_bench if run["stopped"] == "time_budget"] == [624]
assert (attn_bench["test_accuracy"], round(attn_bench["seconds"]), attn_bench["steps"]) == (
    0.987, 39, 650)  # fmt: skip
assert (round(recorded["Hyena"], 2), round(recorded["attention"], 2)) == (0.09, 0.06)
assert [round(run["seconds"]) for run in bench["results"] if run["seed"] == 0] == [52, 39]
assert (hyena_bench[0]["seed"], hyena_bench[0]["steps"], hyena_bench[0]["stopped"]) == (
    0, 600, "target")  # fmt: skip
assert bench["cores"] == 2 and bench["torch_version"].startswith("2.11")
assert "one run at a time" in bench["note"] and "idle" in bench["note"]

# %% [markdown]
# The learning curves below are drawn against **optimizer steps**: how many steps a run needs
# is a property of the model and the recipe, the same on any machine, while the seconds of the
# run you just made depend on your machine and its load. The time axes above the plot convert
# steps to seconds with the recorded benchmark's seconds per step (one axis per model, in its
# colour), not with this run's clock.

# %%
valid_x, valid_y = make_splits("recall", 128, 16, num_train=1, seed=0).valid
counted = float((most_frequent_value(valid_x, 16) == valid_y[:, -1]).float().mean())
fig = learning_curves_figure(
    histories, recorded, levels={"most frequent value": counted, "chance": 1 / 7},
    machine="the recorded Xeon (2 cores)",
)  # fmt: skip
savefig(fig, "04_associative_recall-learning_curves")
save_measurement(
    "04_associative_recall-learning_curves",
    [recall_summary(m, h, 16, 128, 0) for m, h in
     ((hyena_model, hyena_history), (attention_model, attention_history))],
    RECALL_RECIPE, device=device_name("cpu"),
    histories={label: h.to_dict() for label, h in histories.items()},
    note="trained live by the chapter; 'seconds' are that run's wall clock on a machine that "
         "may have been busy: compare steps (the recorded benchmark holds quiet-machine times)",
)  # fmt: skip
fig

# %% [markdown]
# The two curves have different shapes. At the first validation pass (step 50) both models sit
# near the accuracy of answering the most frequent value (dashed line): they have learned to
# count before they learn to look up. Hyena leaves that level first: by step 100 it is more
# than 20 points above it, while attention is still on it. Attention then *jumps*, by more
# than 40 points between two validation passes 50 steps apart: the moment an **induction
# head** forms (layer 1 copies each key into the position of its value, layer 2 matches the
# query against those copies). Both end near 100% (Hyena at least 99%, attention at least 95%
# test accuracy). The steps are those of this run; they are the same on any machine up to
# round-off, so the asserts below leave a margin.

# %%
# Margins: a validation accuracy on 500 sequences has a binomial standard error of at most
# sqrt(0.25 / 500) = 0.022, so 0.1 is more than 4 of them; the steps themselves can shift a
# little on another machine (round-off), which the wide margins of the claims absorb.
acc = attention_history.valid_accuracy
jumps = [b - a for a, b in itertools.pairwise(acc)]
for h in histories.values():
    assert abs(accuracy_at(h, 50) - counted) < 0.1, "both start at the counting level"
assert accuracy_at(hyena_history, 100) > counted + 0.2, "Hyena has left it by step 100"
assert accuracy_at(attention_history, 100) < counted + 0.1, "attention has not"
assert max(jumps) > 0.4, "attention jumps"
assert abs(acc[jumps.index(max(jumps))] - counted) < 0.1, "from the counting plateau"
assert hyena_history.test_accuracy >= 0.99, hyena_history.test_accuracy
assert attention_history.test_accuracy >= 0.95, attention_history.test_accuracy

# %% [markdown]
# ### Why the sine frequency is ω = 1 here, not the official 10
#
# Chapter 3 follows the official recall configuration and Appendix D.3: the implicit filter's
# sine activation starts at frequency $\omega = 10$, which spreads the initial filters over the
# whole spectrum, where $\omega = 1$ leaves them smooth (low-pass). D.3 reports that at the
# paper's scale smooth initial filters train *worse*, and App. D.2 that the initialisation
# scheme made a substantial difference in perplexity on The Pile. This chapter's Hyena uses
# $\omega = 1$ (`HYENA_FILTER_ARGS`). The reason is measured: with the short recipe above
# (650 steps at learning rate $3 \cdot 10^{-3}$, not 12,500 at $5 \cdot 10^{-4}$), the same
# model learned recall faster with $\omega = 1$. The record
# `figures/data/04_associative_recall-sine_frequency.json` holds three seeds of each, trained
# on a 2-core CPU with `RECALL_RECIPE` at vocabulary 16, length 128 (seed 0 with $\omega = 1$
# is the same model, data and recipe as the Hyena trained above).

# %%
W_CELLS = [cell for w in (1.0, 10.0) for cell in grid_cells(["hyena"], [16], [128], [0, 1, 2],
                                                            {"filter_args": {"w": w}})]  # fmt: skip
w_record = load_measurement("04_associative_recall-sine_frequency")  # committed: asserted on
if RECOMPUTE:  # trains again and writes a new record; this run still asserts on the committed one
    runs = recall_grid(W_CELLS, RECALL_RECIPE, DEVICE)
    save_measurement("04_associative_recall-sine_frequency", runs, RECALL_RECIPE,
                     device=device_name(DEVICE))  # fmt: skip
    print("recomputed:", [(r["mixer_args"], r["seed"], r["test_accuracy"]) for r in runs])
w_runs = {w: [r for r in w_record["results"] if r["mixer_args"]["filter_args"]["w"] == w]
          for w in (1.0, 10.0)}  # fmt: skip
print(f"{len(w_record['results'])} runs on {w_record['device']}, torch {w_record['torch_version']}")
print("  w  seed | validation accuracy at step 100 / 150 / 200 / 250 | test | steps")
for w, runs in w_runs.items():
    for run in runs:
        at = [accuracy_at(run["valid_curve"], s) for s in (100, 150, 200, 250)]
        print(f"{w:4.0f} {run['seed']:4d} | " + " / ".join(f"{a:.3f}" for a in at)
              + f" | {run['test_accuracy']:.3f} | {run['steps']}")

# %%
fig = curves_figure({f"w = {w:g}": runs for w, runs in w_runs.items()},
                    levels={"most frequent value": counted},
                    title="Hyena, vocab 16, length 128: initial sine frequency w")  # fmt: skip
savefig(fig, "04_associative_recall-sine_frequency")
fig

# %% [markdown]
# In the record, every $\omega = 1$ run is ahead of every $\omega = 10$ run at each validation
# pass from step 100 to step 250: at step 250 the three $\omega = 1$ runs are at 97-99%, the
# three $\omega = 10$ runs at 76-85%. Both end high, $\omega = 1$ higher: 99.4-99.8% test
# accuracy against 97.6-99.0% after the 650 steps (all three $\omega = 10$ runs used the whole
# budget).
#
# This does not contradict App. D.3: it is another regime. D.2 and D.3 speak of long training
# (The Pile, and recall with 12,500 steps at a learning rate 6 times smaller than ours), where
# filters rich in high frequencies can express fine detail and smooth initial filters "find a
# worse solution and take longer to converge". Here the budget is 650 steps, and what recall
# first needs from the long filter is to reach far back (Section 5 shows the trained filters:
# broad, far-reaching, with little high-frequency content). A smooth $\omega = 1$ filter starts
# close to that; a plausible reading, not tested here, is that the rough $\omega = 10$ filters
# (chapter 3, Section 3) first have to be smoothed, which the short schedule pays for. We did
# not run the paper's schedule, under which $\omega = 10$ may catch up, as D.3 suggests. Both
# settings use the official positional encoding of 5 features ($K = 2$ bands).

# %%
steps = (100, 150, 200, 250)
at = {w: [[accuracy_at(run["valid_curve"], s) for run in runs] for s in steps]
      for w, runs in w_runs.items()}  # fmt: skip
assert all(min(a1) > max(a10) for a1, a10 in zip(at[1.0], at[10.0], strict=True)), at
pct = {w: (round(100 * min(a[-1])), round(100 * max(a[-1]))) for w, a in at.items()}
assert pct == {1.0: (97, 99), 10.0: (76, 85)}, pct
tests = {w: sorted(run["test_accuracy"] for run in runs) for w, runs in w_runs.items()}
assert (tests[1.0][0], tests[1.0][-1]) == (0.994, 0.998)
assert (tests[10.0][0], tests[10.0][-1]) == (0.976, 0.99)
assert all(run["steps"] == 650 for run in w_runs[10.0])
assert TrainConfig.from_record(w_record["recipe"]) == RECALL_RECIPE  # the chapter's recipe
assert w_record["threads"] == 2 and len(w_record["results"]) == 6 and "(CPU)" in w_record["device"]
assert (HYENA_FILTER_ARGS["w"], HYENA_FILTER_ARGS["emb_dim"]) == (1.0, 5)  # K = (5 - 1) / 2 = 2
assert round(RECALL_RECIPE.lr / 5e-4) == 6  # Table A.1's learning rate is 5e-4
live = hyena_history.valid_accuracy
recorded_w1 = w_runs[1.0][0]["valid_curve"]["valid_accuracy"]
print(f"this run vs the recorded w = 1, seed 0 run: largest difference in validation accuracy "
      f"{max(abs(a - b) for a, b in zip(live, recorded_w1, strict=False)):.3f} "
      "(shown, not asserted; the run may stop at another step)")

# %% [markdown]
# ## 4. A grid over length and vocabulary (Table C.1 at tiny scale)
#
# The paper varies the sequence length (Table 4.2: 30K to 131K tokens at vocabulary 30) and the
# vocabulary size (Table C.1: 10 to 40 at 2,048 tokens). At tiny scale we train every mixer at
# lengths 64 to 512 and vocabularies 10, 20, 30, two seeds per cell, each run with the same
# budget of 1,500 steps (`GRID_RECIPE`), so the comparison is one of sample efficiency and does
# not depend on the machine. The recorded grid ran on a GPU; `RECOMPUTE` trains it again. The
# `h3_same` mixer was added after the grid was recorded: its cells are shown where the record
# has them (`hyena-lab recall-grid --mixers h3_same --device cuda --jobs 12 --merge-into
# figures/data/04_associative_recall-grid.json` adds them to it).

# %%
GRID_MIXERS = ["hyena", "attention", "h3", "h3_same", "conv"]
grid_record = load_measurement("04_associative_recall-grid")  # committed: asserted on
if RECOMPUTE:  # trains again and writes a new record; this run still asserts on the committed one
    cells = grid_cells(GRID_MIXERS, [10, 20, 30], [64, 128, 256, 512], [0, 1])
    fresh = recall_grid(cells, GRID_RECIPE, DEVICE)
    save_measurement(
        "04_associative_recall-grid", fresh, GRID_RECIPE, device=device_name(DEVICE),
        mixers=GRID_MIXERS, vocab_sizes=[10, 20, 30], seq_lens=[64, 128, 256, 512], seeds=[0, 1],
    )  # fmt: skip
    print("recomputed:", grid_table(fresh), sep="\n")
grid = grid_record["results"]
assert grid_record["recipe"]["max_steps"] == GRID_RECIPE.max_steps == 1500
print(f"{len(grid)} runs on {grid_record['device']}, torch {grid_record['torch_version']}")
assert len(grid) == len(GRID_MIXERS) * 3 * 4 * 2 == 120  # mixers x vocabs x lengths x seeds
for added in grid_record.get("additions", []):
    print(f"  of which {added['runs']} ({', '.join(added['mixers'])}) on {added['device']}")
HAS_H3_SAME = any(r["mixer"] == "h3_same" for r in grid)
if not HAS_H3_SAME:
    print("  no h3_same runs in this record yet: below, hyena vs h3 changes two things at once")

# %%
# NBVAL_CHECK_OUTPUT
print("test accuracy (%), mean of 2 seeds; 1,500 steps per run")
print(grid_table(grid))

# %%
fig = grid_figure(grid)
savefig(fig, "04_associative_recall-grid")
fig

# %% [markdown]
# The paper's numbers that this section compares with, from Poli et al. 2023 (arXiv
# 2302.10866), as `hyena_lab.paper` holds them: Table 4.2 (operators at 30K / 64K / 131K
# tokens, vocabulary 30; `None` marks the paper's "does not fit in memory"), Table A.2
# (long-convolution parameterisations inside an order-2 Hyena, 131K tokens, vocabulary 30) and
# Table C.1 (2,048 tokens, vocabulary 10 / 20 / 30 / 40). All are test accuracies in %. (Table
# 4.1 lists the tasks; it holds no accuracies.)

# %%
from hyena_lab.paper import PAPER_TABLE_4_2 as TABLE_4_2  # (30K, 64K, 131K tokens)
from hyena_lab.paper import PAPER_TABLE_A2 as TABLE_A_2
from hyena_lab.paper import PAPER_TABLE_C1 as TABLE_C_1
from hyena_lab.paper import PAPER_TABLE_C1_VOCABS as C1_VOCABS  # (10, 20, 30, 40)


def c1_order(vocab_size: int) -> list[str]:
    """Table C.1's models from best to worst at one vocabulary size."""
    col = C1_VOCABS.index(vocab_size)
    return sorted(TABLE_C_1, key=lambda m: -TABLE_C_1[m][col])


# %% [markdown]
# What the grid shows, and how it compares with the paper:
#
# * The ungated **long convolution** is the worst mixer in every cell, and it sits on the
#   accuracy of *answering the most frequent value* (dashed line; within 5 points in every
#   cell), far above chance (dotted): without data control, no filter can point at the right
#   position, and counting is all it learns. In the paper, Conv1d is last in Table C.1 at every
#   vocabulary (32 / 11 / 10 / 8). It is not last in Table A.2: at 131K tokens every
#   parameterisation but the two FFN-based ones (Hyena 97.2, CKConv 14.3) scores between 0.3
#   and 0.6, FNO lowest (0.3) and Conv1d at 0.5, all below the 7% of a blind guess among the
#   14 values. (Table 4.2 has no Conv1d.)
# * With a vocabulary of 10 or 20, Hyena and H3 reach 95% or more at every length from 128 on,
#   and so does attention, except one run: vocabulary 10, length 512, seed 1, which ended at
#   55%, on the most-frequent-value level (53% there).
# * The gap opens with the **vocabulary**, as in Table C.1 (H3 92 / 60 / 13 / 10 against Hyena
#   100 / 100 / 98 / 85 at vocabularies 10 / 20 / 30 / 40). At vocabulary 30, averaged over
#   lengths, Hyena (89%) leads, attention (74%) follows, H3 (43%) falls far behind and the
#   convolution (20%) stays at the most-frequent-value level: the ordering of Table C.1 at
#   vocabulary 30 (Hyena 98 > Transformer 92 > H3 13 > Conv1d 10; its AFT-conv, 12, has no
#   counterpart here).
# * **Attention at vocabulary 30 and lengths 256-512 is not all or nothing**: its four runs
#   ended at 94%, 78%, 21% and 21%. Two ended on the most-frequent-value level (22% in these
#   cells), one got to 78% within the 1,500 steps, one succeeded; the two seeds of each cell
#   disagree, so the mean of a cell (the line) hides a spread that the dots show.
#   The paper's Transformer reached 92% at 2,048 tokens (Table C.1), and App. A.1 notes that
#   with few training samples Transformers "struggle to find the generalizing solution".
# * What tiny scale does **not** reproduce is the length axis of Table 4.2 (30K-131K tokens,
#   where H3 falls to 8.4 / 4.3 / 0.6): up to 512 tokens the S4D filters of H3 still remember
#   far enough back (their decay is set in absolute steps, between about 20 and 2,000 at
#   initialisation), and longer sequences give every model *more* recall events per training
#   step, so Hyena's and H3's accuracy at vocabulary 30 grows with length instead of falling.
#
# Which comparison is which: `hyena` vs `h3` in this grid changes the filter family *and* the
# number of long convolutions at once (Section 2). Where the record holds `h3_same`, the table
# above has an "H3 same" column: `hyena` vs `h3_same` is the filter family alone, `h3_same` vs
# `h3` the depth alone. The cell below prints those two gaps at each vocabulary when they are
# recorded, and says so when they are not.

# %%
def cell_runs(mixer: str, vocab_size: int, seq_len: int) -> list[float]:
    """Test accuracies of a mixer's runs in one cell of the grid (one per seed)."""
    return [r["test_accuracy"] for r in grid if (r["mixer"], r["vocab_size"], r["seq_len"])
            == (mixer, vocab_size, seq_len)]  # fmt: skip


def mean_accuracy(mixer: str, vocab_size: int, seq_len: int | None = None) -> float:
    """Mean test accuracy of a mixer over one cell, or over every length of a vocabulary."""
    runs = [a for L in ([seq_len] if seq_len else LENGTHS) for a in cell_runs(mixer, vocab_size, L)]
    return sum(runs) / len(runs)


LENGTHS = [64, 128, 256, 512]
mf = {(V, L): recall_baselines(L, V, seeds=[0, 1])["most_frequent"]
      for V in (10, 20, 30) for L in LENGTHS}  # fmt: skip
# "within 5 points": the mean of two runs (1,000 test sequences each) and the level (2,000) have
# binomial standard errors <= 0.011 each; 0.05 also leaves room for counting a little worse
for V, L in itertools.product((10, 20, 30), LENGTHS):
    others = [mean_accuracy(m, V, L) for m in ("hyena", "attention", "h3")]
    assert mean_accuracy("conv", V, L) < min(others), (V, L)
    assert abs(mean_accuracy("conv", V, L) - mf[V, L]) < 0.05, (V, L, mf[V, L])
assert all(c1_order(V)[-1] == "Conv1d" for V in C1_VOCABS)
assert TABLE_C_1["Conv1d"] == (32, 11, 10, 8)
assert min(TABLE_A_2, key=TABLE_A_2.get) == "FNO"  # FNO is last in Table A.2, not Conv1d
assert (TABLE_A_2["FNO"], TABLE_A_2["Conv1d"]) == (0.3, 0.5)
low = {m: a for m, a in TABLE_A_2.items() if m not in ("Hyena", "CKConv")}
assert (min(low.values()), max(low.values())) == (0.3, 0.6) and max(low.values()) < 100 / 14
assert (TABLE_A_2["Hyena"], TABLE_A_2["CKConv"]) == (97.2, 14.3)

# %%
for V, L in itertools.product((10, 20), LENGTHS[1:]):
    assert min(cell_runs("hyena", V, L) + cell_runs("h3", V, L)) >= 0.95, (V, L)
failed = [(V, L, a) for V, L in itertools.product((10, 20), LENGTHS[1:])
          for a in cell_runs("attention", V, L) if a < 0.95]  # fmt: skip
assert [(V, L, round(100 * a)) for V, L, a in failed] == [(10, 512, 55)], failed
assert cell_runs("attention", 10, 512)[1] == failed[0][2] and round(100 * mf[10, 512]) == 53
assert (TABLE_C_1["H3"], TABLE_C_1["Hyena"]) == ((92, 60, 13, 10), (100, 100, 98, 85))
means_30 = {m: mean_accuracy(m, 30) for m in ("hyena", "attention", "h3", "conv")}
assert list(means_30) == sorted(means_30, key=means_30.get, reverse=True), means_30
assert [round(100 * a) for a in means_30.values()] == [89, 74, 43, 20], means_30
assert abs(means_30["conv"] - sum(mf[30, L] for L in LENGTHS) / 4) < 0.03
assert c1_order(30)[:4] == ["Hyena", "Transformer", "H3", "AFT-conv"]  # then Conv1d
assert [TABLE_C_1[m][2] for m in ("Hyena", "Transformer", "H3", "Conv1d")] == [98, 92, 13, 10]

# %%
long_attention = cell_runs("attention", 30, 256) + cell_runs("attention", 30, 512)
assert sorted(round(100 * a) for a in long_attention) == [21, 21, 78, 94], long_attention
stuck = [(L, a) for L in (256, 512) for a in cell_runs("attention", 30, L) if a < 0.5]
# "on the level": within 2 binomial standard errors of the difference (0.013 and 0.009 -> 0.03)
assert len(stuck) == 2 and all(abs(a - mf[30, L]) < 0.03 for L, a in stuck), stuck
assert [round(100 * mf[30, L]) for L in (256, 512)] == [22, 22]
assert all(abs(a - b) > 0.5 for L in (256, 512) for a, b in [cell_runs("attention", 30, L)])
decay_steps = 2 / SSMFilter(64, 512).log_dt.detach().exp()  # a channel decays over ~2 / dt steps
assert 20 <= float(decay_steps.min()) and float(decay_steps.max()) <= 2000
assert [mean_accuracy("hyena", 30, L) for L in LENGTHS] == sorted(
    mean_accuracy("hyena", 30, L) for L in LENGTHS)  # fmt: skip
assert mean_accuracy("h3", 30, 512) > mean_accuracy("h3", 30, 64)
assert TABLE_4_2["H3"] == (8.4, 4.3, 0.6)

# %%
# NBVAL_IGNORE_OUTPUT
if HAS_H3_SAME:
    for V in (10, 20, 30):
        if any(not cell_runs("h3_same", V, L) for L in LENGTHS):
            print(f"vocab {V}: h3_same is not recorded at every length")
            continue
        filt = mean_accuracy("hyena", V) - mean_accuracy("h3_same", V)
        depth = mean_accuracy("h3_same", V) - mean_accuracy("h3", V)
        print(f"vocab {V}: Hyena - H3 same (filter family) {100 * filt:+5.1f} points, "
              f"H3 same - H3 (one long conv instead of two) {100 * depth:+5.1f} points")
else:
    print("not recorded yet: hyena vs h3 (above) mixes filter family and depth")

# %% [markdown]
# The `h3_same` cells were added to the record later, on an H200 with the same 1,500-step recipe
# (the "additions" line above). At vocabularies 10 and 20 all three models sit within about a
# point of each other. At vocabulary 30, averaged over the four lengths, Hyena is **41 points**
# above H3 in its own layout, while going from two long convolutions to one moves H3 by only
# **5 points** (in its favour). At this scale, then, the gap between Hyena and H3 comes from the
# filter family (an implicit FFN filter against S4D), not from the depth of the recurrence. This
# is one configuration of two seeds per cell: a measurement of sample efficiency at 64-512
# tokens, not a statement about the paper's 131K.

# %%
if HAS_H3_SAME:
    gap = {V: (100 * (mean_accuracy("hyena", V) - mean_accuracy("h3_same", V)),
               100 * (mean_accuracy("h3_same", V) - mean_accuracy("h3", V)))
           for V in (10, 20, 30)}  # fmt: skip
    assert all(abs(f) < 1.5 and abs(d) < 1.5 for f, d in (gap[10], gap[20]))  # "within a point"
    assert round(gap[30][0]) == 41 and round(gap[30][1]) == 5  # the two numbers quoted
    assert any(a["mixers"] == ["h3_same"] and "H200" in a["device"]
               for a in grid_record["additions"])  # fmt: skip

# %% [markdown]
# ## 5. Inside the trained Hyena
#
# ### Learned filters
#
# Each layer of the official order-2 layout holds one implicit long filter per channel
# ($d = 64$ filters), produced by the small FFN of the positional encoding and multiplied by
# the exponential decay window (Sec. 3.3). The figure shows 8 channels of each layer (top), the
# mean $|h_t|$ over all 64 channels beside the decay window (middle), and the mean amplitude
# spectrum over all 64 (bottom).

# %%
fig = filters_figure(hyena_model, channels=8)
savefig(fig, "04_associative_recall-filters")
stats = {layer + 1: filter_statistics(hyena_model, layer) for layer in (0, 1)}
for layer, st in stats.items():
    print(f"layer {layer}: bump of mean |h| at lag {st['bump_lag']:.0f}; strongest single tap "
          f"{st['max_tap_share']:.0%} of a filter's weight; energy at periods < 3 tokens "
          f"{st['short_period_share']:.2%} (median channel); mean |h| at lag 60 is "
          f"{st['reach_60']:.0%} of lag 0 (window alone: {st['window_60']:.0%})")
fig

# %% [markdown]
# What the trained filters show:
#
# * **No filter is a delay.** None of the 64 filters of either layer concentrates on one lag:
#   the strongest single tap holds less than a quarter of a filter's total weight
#   $\sum_t |h_t|$, the rest is spread over many lags. A filter could not pick the answer's lag
#   anyway: the key sits at a different distance in every sequence. *Where* to read from is
#   decided by the gates (below).
# * **They reach across the context, against the window.** The decay window (fixed, not
#   trained) has fallen to 4% of its start at lag 60; the trained filters' mean $|h|$ is still
#   at more than a third (layer 1) and more than 70% (layer 2) of its value at lag 0 there: the
#   FFN learned to undo most of the window, so that the output sees values far back.
# * **Shared features.** The channels rise to a common bump (the peak of mean $|h|$ beyond lag
#   20 lies between lags 30 and 60 in both layers) and bend there together. Every channel's
#   filter is a different linear read-out of the *same* 64 hidden features of the FFN
#   (Sec. 3.3), so a feature of those shows up in all channels at once.
# * **A period-2 zig-zag in layer 2.** Many of layer 2's filters alternate up and down from one
#   lag to the next (top right); its mean spectrum rises again towards a period of 2 tokens,
#   where layer 1's keeps falling: the median channel has more than 3 times as large a share of
#   its energy at periods below 3 tokens in layer 2 as in layer 1. Keys and values alternate in
#   a recall sequence, so a filter whose sign alternates with the lag weighs keys and values
#   seen from a position with opposite signs: a plausible reading (not tested here) is that
#   layer 2 uses it to tell the two apart by position.

# %%
assert all(st["max_tap_share"] < 0.25 for st in stats.values()), stats  # "less than a quarter"
assert HYENA_FILTER_ARGS["filter_order"] == 64  # the FFN's hidden features, shared by channels
assert all(30 <= st["bump_lag"] <= 60 for st in stats.values()), stats
assert round(100 * stats[1]["window_60"]) == 4
assert stats[1]["reach_60"] > 0.35 and stats[2]["reach_60"] > 0.7, stats
assert stats[2]["short_period_share"] > 3 * stats[1]["short_period_share"], stats

# %% [markdown]
# ### The data-controlled matrix on one example
#
# For one test sequence, `TinyLM.decompose` gives $A(u)$ of each layer (channels $\times$
# $L \times L$, here $D_{x^2} S_h D_{x^1}$, Sec. 3.2) and the values $v$. The vector that input
# position $s$ adds to output $t$ is $W_{\text{out}}(A_{:,t,s} \odot v_{:,s})$; its norm,
# normalised over $s$ (`TinyLM.contributions`), says how much of output $t$ comes from position
# $s$, in the same units for every mixer. The row that matters is the last one: the output at
# the query, which must predict $f(q)$. In layer 1 of the trained Hyena it peaks on the values
# of the query key (green), and on the key right after each of them.

# %%
test_inputs, test_targets = make_splits(
    "recall", 128, 16, num_train=1, num_valid=1, num_test=100, seed=0
).test
fig = recall_explorer_figure(hyena_model, test_inputs, example=0, layer=0)
savefig(fig, "04_associative_recall-query_row")
fig

# %% [markdown]
# How does a single layer manage a lookup? Per channel $c$, the query row of
# $A(u) = D_{x^2} S_h D_{x^1}$ is
#
# $$A_{c}[t, s] = x^2_c[t]\; h_c[t - s]\; x^1_c[s],$$
#
# and $x^1$, $v$ come out of the *short* convolution of the input projection (width 3,
# Algorithm 1): at a value position $s$ they see the value and the key just before it. Summed
# over channels by $W_{\text{out}}$, $\sum_c x^2_c[t]\, x^1_c[s]\, v_c[s]$ is a bilinear
# match between the query (at $t$) and the key next to each value: a content-based lookup,
# made of gates, with the long filter $h$ deciding how far back it reaches.
#
# `query_selectivity` measures it over 100 test sequences: the query row's mean weight on the
# values of the query key, over its mean weight on the values of other keys (1 = no
# preference). For attention, the lookup is an induction head in layer 2.
#
# The two mechanisms differ in sharpness: attention's softmax puts nearly all of the query's
# weight on the few matching positions (a ratio above a thousand), while Hyena's gated
# convolution prefers them by a factor of two to three in layer 1, spread over the
# short-convolution window; the MLP and the head read the answer off that softer mixture.
# Hyena's layer 2 and attention's layer 1 show no preference (ratios below 1.5).

# %%
selectivity = {(label, layer): query_selectivity(model, test_inputs, layer)
               for label, model in (("Hyena", hyena_model), ("attention", attention_model))
               for layer in (0, 1)}  # fmt: skip
for (label, layer), ratio in selectivity.items():
    print(f"{label:9s} layer {layer + 1}: query key's values weigh {ratio:6.1f}x other values")
assert 2.0 <= selectivity["Hyena", 0] <= 3.5, selectivity  # "a factor of two to three"
assert max(selectivity["Hyena", 1], selectivity["attention", 0]) < 1.5, selectivity
assert selectivity["attention", 1] > 1000, selectivity

# %% [markdown]
# Explore other sequences and layers (the widget calls the pure function
# `hyena_lab.viz.recall.recall_explorer_figure`):

# %%
# NBVAL_IGNORE_OUTPUT
def explore(example: int = 0, layer: int = 0):
    """The trained Hyena on one test sequence (a thin wrapper for the widget)."""
    return recall_explorer_figure(hyena_model, test_inputs, example, layer)


explorer = interact(
    explore,
    example=IntSlider(value=0, min=0, max=len(test_inputs) - 1, description="example"),
    layer=IntSlider(value=0, min=0, max=1, description="layer"),
)

# %% [markdown]
# ## Summary
#
# * Associative recall asks a model to look a key up in a dictionary that exists only in the
#   context; a mixer whose matrix $A$ does not depend on the input cannot point at the answer,
#   and settles on answering the context's most frequent value, well above chance.
# * Hyena, attention and H3 all write $y = W_{\text{out}}(A(u)\,v)$ with a data-controlled
#   $A(u)$; a 2-layer, width-64 Hyena learns recall at vocabulary 16 and length 128 to 99% test
#   accuracy within 650 optimizer steps, which took 52-61 s on the recorded 2-core Xeon.
# * At tiny scale the ordering of Table C.1 holds along the vocabulary axis (Hyena $>$ attention
#   $>$ H3 $>$ convolution at vocabulary 30); the length axis of Table 4.2 needs sequences far
#   longer than a laptop trains in minutes. Hyena vs `h3` mixes two design choices; `h3_same`
#   separates them: at vocabulary 30 the filter family is worth 41 points, the depth 5.
# * Inside the trained Hyena, layer 1 already looks the query up: its gates, fed by the short
#   convolution, turn a fixed long convolution into a content-based match between the query
#   and the key next to each value. Its long filters spread over many lags and reach far back.
# * A limit worth knowing: with *many* queries per sequence (multi-query recall, Zoology, Arora
#   et al. 2023) gated convolutions such as Hyena need a larger width than attention as sequences
#   grow.
#
# ## Exercises
#
# 1. Train the ungated long convolution (`run_recall("conv", 16, 128)`) and plot its query row
#    with `recall_explorer_figure`. Why does the row look the same for every example? Compare
#    its test accuracy with `recall_baselines(128, 16)`.
# 2. Raise the vocabulary to 30 at length 128 and train Hyena at width 64 and 128
#    (`run_recall(..., d_model=128)`). How does the accuracy change, and how does that relate to
#    the Zoology finding above?
# 3. Build Hyena with a short filter of width 1 (`mixer_args={"short_filter_order": 1}`): $x^1$
#    and $v$ at a value position can no longer see the key before it. Train it: does it still
#    learn recall, and in which layer does `query_selectivity` now rise?
# 4. **A recall example by hand.** Given key-value pairs as (key number, value number) and a
#    query key number, build one example in the format of `tasks.associative_recall`: token ids
#    through `tasks.recall_vocab(vocab_size)`, `=>` before the query, targets -100 except the
#    last. A query that is not in the pairs has no answer: raise `ValueError`.
# 5. **Recall without learning.** Write the lookup a model has to learn: for each row of
#    `inputs`, find the query key earlier in the sequence and return the token after it. It must
#    score 100%: what makes this hard for a fixed (data-independent) convolution?
# 6. **Score only what is scored.** Accuracy of `logits.argmax(-1)` over positions whose target
#    is not -100, for test targets (query only) and training targets (every position).

# %% [markdown]
# ### Check your answers
#
# Exercises 4-6 have stubs below: replace each body and re-run its cell; the checker from
# `hyena_lab.exercises` replies `PASS` or says what is wrong.

# %%
from hyena_lab.exercises import (
    check_make_recall_example,
    check_query_accuracy,
    check_recall_by_lookup,
)


def make_recall_example(
    pairs: list[tuple[int, int]], query: int, vocab_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets), both int64 of shape (2 * len(pairs) + 2,)."""
    raise NotImplementedError("exercise 4: your answer here")


check_make_recall_example(make_recall_example)


# %%
def recall_by_lookup(inputs: torch.Tensor) -> torch.Tensor:
    """For inputs (N, L), the value token after the query's earlier occurrence, (N,)."""
    raise NotImplementedError("exercise 5: your answer here")


check_recall_by_lookup(recall_by_lookup)


# %%
def query_accuracy(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Accuracy of argmax(logits) (N, L, vocab) over positions with targets != -100."""
    raise NotImplementedError("exercise 6: your answer here")


check_query_accuracy(query_accuracy)

# %% [markdown]
# ## Quiz
#
# 7 questions on the ideas of this chapter. Choose an answer and press **Check**: the
# feedback says why it is right, or which misconception the answer you chose stands for.
# `quiz_text(4)` gives the questions as text, to print.

# %% tags=["slides-skip"]
from hyena_lab.exercises import quiz

quiz(4)

# %% [markdown]
# **Next:** [Chapter 5: GPU kernels](05_gpu_kernels.ipynb).
# Back to [the course outline](00_start_here.ipynb).
