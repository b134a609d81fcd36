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
# # Worked solutions (for teachers)
#
# Every chapter ends with exercises. The parts that a checker grades have reference solutions
# (`hyena_lab.exercises.show_solution(name)`, shown at the end of each chapter's section
# below). This notebook answers the **open** parts, the questions no checker can grade: *why*
# does it fail, *how* does it change, *what* does it say about the model.
#
# Each answer is computed, not written by hand. `hyena_lab.exercises.worked.WORKED[name]`
# holds the question (quoted from the chapter), `solve()`, which computes the numbers the
# answer rests on, and `answer(results)`, which writes the answer from those numbers: every
# number in it is formatted from `results`. The numbers come from counted work
# (`hyena_lab.roofline`), the committed records under `figures/data/` (each names its machine),
# traces and seeded trainings that run for a fixed number of **steps** with the chapters'
# recipes; no answer reads a clock, so they are the same on every machine up to round-off.
# Each answer says why, cites the paper (Poli et al. 2023, arXiv 2302.10866) and names the
# misconception a student is likely to bring. The code cells are folded (`hide-input`): open
# one to see how its numbers are made.
#
# **Run time**: a few minutes on a laptop CPU, almost all of it chapter 4's trainings (the
# chapter's recipe, `hyena_lab.recall.RECALL_RECIPE`); everything else takes seconds. Each
# solution asserts the claims its answer makes (`WORKED[name].claims`), here on the full
# results; `tests/test_worked.py` runs every solution on smaller settings and checks the same.

# %% tags=["hide-input"]
import torch
from IPython.display import Markdown, display

from hyena_lab.exercises import EXERCISES, show_solution
from hyena_lab.exercises.worked import WORKED
from hyena_lab.exercises.worked_ch04 import train_ahead
from hyena_lab.viz import use_style

use_style()
torch.set_num_threads(2)  # as the chapters' recorded runs


def graded(chapter: int) -> None:
    """Show the reference solution of every graded exercise of ``chapter``."""
    for e in EXERCISES.values():
        if e.chapter == chapter:
            display(Markdown(f"**`{e.name}`**: {e.task}"))
            display(show_solution(e.name))


# %% [markdown]
# ## Chapter 0: Start here

# %% [markdown]
# ### Exercise 1 (Sec. 4.1; Tables 4.2, A.2, C.1)

# %% tags=["hide-input"]
display(Markdown("> " + WORKED["ch00_ex1"].question))
results = WORKED["ch00_ex1"].solve()
WORKED["ch00_ex1"].claims(results)  # the answer's claims, asserted on these results

# %% tags=["hide-input"]
display(Markdown(WORKED["ch00_ex1"].answer(results)))

# %% [markdown]
# ### Exercise 2 (Sec. 2.1)

# %% tags=["hide-input"]
display(Markdown("> " + WORKED["ch00_ex2"].question))
results = WORKED["ch00_ex2"].solve()
WORKED["ch00_ex2"].claims(results)  # the answer's claims, asserted on these results

# %% tags=["hide-input"]
display(Markdown(WORKED["ch00_ex2"].answer(results)))

# %% [markdown]
# ## Chapter 1: Long convolutions

# %% [markdown]
# ### Exercise 1 (Sec. 2.1, 3.2)

# %% tags=["hide-input"]
display(Markdown("> " + WORKED["ch01_ex1"].question))
results = WORKED["ch01_ex1"].solve()
WORKED["ch01_ex1"].claims(results)  # the answer's claims, asserted on these results

# %% tags=["hide-input"]
WORKED["ch01_ex1"].figure(results)

# %% tags=["hide-input"]
display(Markdown(WORKED["ch01_ex1"].answer(results)))

# %% [markdown]
# ### Exercise 3 (Sec. 2.1)

# %% tags=["hide-input"]
display(Markdown("> " + WORKED["ch01_ex3"].question))
results = WORKED["ch01_ex3"].solve()
WORKED["ch01_ex3"].claims(results)  # the answer's claims, asserted on these results

# %% tags=["hide-input"]
WORKED["ch01_ex3"].figure(results)

# %% tags=["hide-input"]
display(Markdown(WORKED["ch01_ex3"].answer(results)))

# %% [markdown]
# ### Graded exercises of chapter 1: reference solutions

# %% tags=["hide-input"]
graded(1)

# %% [markdown]
# ## Chapter 2: Hyena matrices

# %% [markdown]
# ### Exercise 1 (Sec. 3.1-3.2)

# %% tags=["hide-input"]
display(Markdown("> " + WORKED["ch02_ex1"].question))
results = WORKED["ch02_ex1"].solve()
WORKED["ch02_ex1"].claims(results)  # the answer's claims, asserted on these results

# %% tags=["hide-input"]
display(Markdown(WORKED["ch02_ex1"].answer(results)))

# %% [markdown]
# ### Graded exercises of chapter 2: reference solutions

# %% tags=["hide-input"]
graded(2)

# %% [markdown]
# ## Chapter 3: Implicit filters

# %% [markdown]
# ### Exercise 1 (Sec. 3.3, App. D.3)

# %% tags=["hide-input"]
display(Markdown("> " + WORKED["ch03_ex1"].question))
results = WORKED["ch03_ex1"].solve()
WORKED["ch03_ex1"].claims(results)  # the answer's claims, asserted on these results

# %% tags=["hide-input"]
WORKED["ch03_ex1"].figure(results)

# %% tags=["hide-input"]
display(Markdown(WORKED["ch03_ex1"].answer(results)))

# %% [markdown]
# ### Exercise 2 (Sec. 3.3, eq. (7))

# %% tags=["hide-input"]
display(Markdown("> " + WORKED["ch03_ex2"].question))
results = WORKED["ch03_ex2"].solve()
WORKED["ch03_ex2"].claims(results)  # the answer's claims, asserted on these results

# %% tags=["hide-input"]
WORKED["ch03_ex2"].figure(results)

# %% tags=["hide-input"]
display(Markdown(WORKED["ch03_ex2"].answer(results)))

# %% [markdown]
# ### Exercise 3 (Sec. 3.3, App. D.3, Table A.2)

# %% tags=["hide-input"]
display(Markdown("> " + WORKED["ch03_ex3"].question))
results = WORKED["ch03_ex3"].solve()
WORKED["ch03_ex3"].claims(results)  # the answer's claims, asserted on these results

# %% tags=["hide-input"]
WORKED["ch03_ex3"].figure(results)

# %% tags=["hide-input"]
display(Markdown(WORKED["ch03_ex3"].answer(results)))

# %% [markdown]
# ### Graded exercises of chapter 3: reference solutions

# %% tags=["hide-input"]
graded(3)

# %% [markdown]
# ## Chapter 4: Associative recall
#
# The first three solutions train five small models between them (the chapter's recipe). They
# are trained here, two at a time in worker processes with one thread each, and kept for the
# solutions below.

# %% tags=["hide-input"]
train_ahead(jobs=2)

# %% [markdown]
# ### Exercise 1 (Sec. 3.2, 4.1; Table C.1)

# %% tags=["hide-input"]
display(Markdown("> " + WORKED["ch04_ex1"].question))
results = WORKED["ch04_ex1"].solve()
WORKED["ch04_ex1"].claims(results)  # the answer's claims, asserted on these results

# %% tags=["hide-input"]
WORKED["ch04_ex1"].figure(results)

# %% tags=["hide-input"]
display(Markdown(WORKED["ch04_ex1"].answer(results)))

# %% [markdown]
# ### Exercise 2 (Sec. 4.1, Table C.1; Arora et al. 2023)

# %% tags=["hide-input"]
display(Markdown("> " + WORKED["ch04_ex2"].question))
results = WORKED["ch04_ex2"].solve()
WORKED["ch04_ex2"].claims(results)  # the answer's claims, asserted on these results

# %% tags=["hide-input"]
WORKED["ch04_ex2"].figure(results)

# %% tags=["hide-input"]
display(Markdown(WORKED["ch04_ex2"].answer(results)))

# %% [markdown]
# ### Exercise 3 (Sec. 3.2, 3.4 (Algorithm 1))

# %% tags=["hide-input"]
display(Markdown("> " + WORKED["ch04_ex3"].question))
results = WORKED["ch04_ex3"].solve()
WORKED["ch04_ex3"].claims(results)  # the answer's claims, asserted on these results

# %% tags=["hide-input"]
WORKED["ch04_ex3"].figure(results)

# %% tags=["hide-input"]
display(Markdown(WORKED["ch04_ex3"].answer(results)))

# %% [markdown]
# ### Exercise 5 (Sec. 2.1, 3.2, 4.1)

# %% tags=["hide-input"]
display(Markdown("> " + WORKED["ch04_ex5"].question))
results = WORKED["ch04_ex5"].solve()
WORKED["ch04_ex5"].claims(results)  # the answer's claims, asserted on these results

# %% tags=["hide-input"]
WORKED["ch04_ex5"].figure(results)

# %% tags=["hide-input"]
display(Markdown(WORKED["ch04_ex5"].answer(results)))

# %% [markdown]
# ### Graded exercises of chapter 4: reference solutions

# %% tags=["hide-input"]
graded(4)

# %% [markdown]
# ## Chapter 5: GPU kernels

# %% [markdown]
# ### Exercise 3 (Abstract; Sec. 4.4, Fig. 4.3)

# %% tags=["hide-input"]
display(Markdown("> " + WORKED["ch05_ex3"].question))
results = WORKED["ch05_ex3"].solve()
WORKED["ch05_ex3"].claims(results)  # the answer's claims, asserted on these results

# %% tags=["hide-input"]
display(Markdown(WORKED["ch05_ex3"].answer(results)))

# %% [markdown]
# ### Exercise 4 (Sec. 4.4)

# %% tags=["hide-input"]
display(Markdown("> " + WORKED["ch05_ex4"].question))
results = WORKED["ch05_ex4"].solve()
WORKED["ch05_ex4"].claims(results)  # the answer's claims, asserted on these results

# %% tags=["hide-input"]
display(Markdown(WORKED["ch05_ex4"].answer(results)))

# %% [markdown]
# ### Exercise 5 (Sec. 4.4)

# %% tags=["hide-input"]
display(Markdown("> " + WORKED["ch05_ex5"].question))
results = WORKED["ch05_ex5"].solve()
WORKED["ch05_ex5"].claims(results)  # the answer's claims, asserted on these results

# %% tags=["hide-input"]
WORKED["ch05_ex5"].figure(results)

# %% tags=["hide-input"]
display(Markdown(WORKED["ch05_ex5"].answer(results)))

# %% [markdown]
# ### Exercise 6 (Sec. 4.4, Fig. 4.3)

# %% tags=["hide-input"]
display(Markdown("> " + WORKED["ch05_ex6"].question))
results = WORKED["ch05_ex6"].solve()
WORKED["ch05_ex6"].claims(results)  # the answer's claims, asserted on these results

# %% tags=["hide-input"]
display(Markdown(WORKED["ch05_ex6"].answer(results)))

# %% [markdown]
# ### Graded exercises of chapter 5: reference solutions

# %% tags=["hide-input"]
graded(5)

# %% [markdown]
# ## Chapter 6: The FFT as matrix multiplies

# %% [markdown]
# ### Exercise 3 (Sec. 4.4; FlashFFTConv)

# %% tags=["hide-input"]
display(Markdown("> " + WORKED["ch06_ex3"].question))
results = WORKED["ch06_ex3"].solve()
WORKED["ch06_ex3"].claims(results)  # the answer's claims, asserted on these results

# %% tags=["hide-input"]
display(Markdown(WORKED["ch06_ex3"].answer(results)))

# %% [markdown]
# ### Exercise 4 (Monarch, Dao et al. 2022)

# %% tags=["hide-input"]
display(Markdown("> " + WORKED["ch06_ex4"].question))
results = WORKED["ch06_ex4"].solve()
WORKED["ch06_ex4"].claims(results)  # the answer's claims, asserted on these results

# %% tags=["hide-input"]
display(Markdown(WORKED["ch06_ex4"].answer(results)))

# %% [markdown]
# ### Graded exercises of chapter 6: reference solutions

# %% tags=["hide-input"]
graded(6)

# %% [markdown]
# ## Chapter 7: A Hyena language model and its recurrent view

# %% [markdown]
# ### Exercise 1 (Sec. 4.2)

# %% tags=["hide-input"]
display(Markdown("> " + WORKED["ch07_ex1"].question))
results = WORKED["ch07_ex1"].solve()
WORKED["ch07_ex1"].claims(results)  # the answer's claims, asserted on these results

# %% tags=["hide-input"]
display(Markdown(WORKED["ch07_ex1"].answer(results)))

# %% [markdown]
# ### Exercise 2 (Sec. 3.3; Laughing Hyena (Massaroli et al. 2023))

# %% tags=["hide-input"]
display(Markdown("> " + WORKED["ch07_ex2"].question))
results = WORKED["ch07_ex2"].solve()
WORKED["ch07_ex2"].claims(results)  # the answer's claims, asserted on these results

# %% tags=["hide-input"]
display(Markdown(WORKED["ch07_ex2"].answer(results)))

# %% [markdown]
# ### Exercise 3 (Sec. 3.3; Laughing Hyena)

# %% tags=["hide-input"]
display(Markdown("> " + WORKED["ch07_ex3"].question))
results = WORKED["ch07_ex3"].solve()
WORKED["ch07_ex3"].claims(results)  # the answer's claims, asserted on these results

# %% tags=["hide-input"]
WORKED["ch07_ex3"].figure(results)

# %% tags=["hide-input"]
display(Markdown(WORKED["ch07_ex3"].answer(results)))

# %% [markdown]
# ## Chapter 8: Multi-query recall

# %% [markdown]
# ### Exercise 1 (Sec. 3.2, 4.1; Arora et al. 2023 (Zoology))

# %% tags=["hide-input"]
display(Markdown("> " + WORKED["ch08_ex1"].question))
results = WORKED["ch08_ex1"].solve()
WORKED["ch08_ex1"].claims(results)  # the answer's claims, asserted on these results

# %% tags=["hide-input"]
display(Markdown(WORKED["ch08_ex1"].answer(results)))

# %% [markdown]
# ### Exercise 2 (Sec. 3.3, eq. (7); Zoology)

# %% tags=["hide-input"]
display(Markdown("> " + WORKED["ch08_ex2"].question))
results = WORKED["ch08_ex2"].solve()
WORKED["ch08_ex2"].claims(results)  # the answer's claims, asserted on these results

# %% tags=["hide-input"]
WORKED["ch08_ex2"].figure(results)

# %% tags=["hide-input"]
display(Markdown(WORKED["ch08_ex2"].answer(results)))

# %% [markdown]
# ### Exercise 3 (Sec. 4.4; Zoology)

# %% tags=["hide-input"]
display(Markdown("> " + WORKED["ch08_ex3"].question))
results = WORKED["ch08_ex3"].solve()
WORKED["ch08_ex3"].claims(results)  # the answer's claims, asserted on these results

# %% tags=["hide-input"]
WORKED["ch08_ex3"].figure(results)

# %% tags=["hide-input"]
display(Markdown(WORKED["ch08_ex3"].answer(results)))

# %% [markdown]
# ## Other chapters' graded exercises
#
# Reference solutions of the graded exercises of chapters without a section above (none
# today; a chapter added later shows here until it has a section of its own).

# %% tags=["hide-input"]
for chapter in sorted({e.chapter for e in EXERCISES.values()} - set(range(1, 7))):
    display(Markdown(f"### Chapter {chapter}"))
    graded(chapter)
