"""The associative-recall experiment of chapter 04: one run, a grid of runs, their commands.

Table A.1 trains 200 epochs over 2,000 samples at lr 5e-4 (12,500 steps). The handbook's
:data:`RECALL_RECIPE` was tuned to reach 99% test accuracy on recall (vocabulary 16, length 128)
within 60 seconds on 2 CPU cores: lr 3e-3 with a 50-step warm-up and a cosine over 650 steps,
batch 32, stopping early only on a perfect validation score. The data differ from the official
ones in two ways (:data:`RECALL_NUM_TRAIN`, :data:`RECALL_TRAIN_SCORE`): 24,000 training
sequences, so that the 650 steps never see a sequence twice, and a loss on the positions that
predict a *value* only (the official data also score the keys, which are random: pure noise).
Both changes helped in tuning runs, which were not recorded. The recorded benchmark (one run at
a time on 2 cores of an idle Xeon server, ``figures/data/04_associative_recall-benchmark.json``)
gave 99.4-99.8% in 52-61 s over 4 seeds, one seed stopped by its 60-second budget at step 624
of 650. :data:`GRID_RECIPE` is the same with 1,500 steps, for the grid over lengths and
vocabulary sizes, where every cell gets the same budget of steps (so the grid compares sample
efficiency, whatever the machine). :func:`recall_grid` trains a list of cells (in worker
processes with ``jobs > 1``) and :func:`merge_results` adds runs to a recorded grid;
``hyena-lab recall-grid`` does both from the command line.


A run (:func:`run_recall`) given a ``checkpoint`` path is saved while it trains and can be
continued with :func:`resume_recall` (``hyena-lab recall --resume PATH``): with a step budget the
resumed run ends with the same weights, bit for bit, as one never interrupted (a time budget may
stop it at another step).
"""

from ..measure import device_name
from .commands import add_recall_command, exit_status
from .records import (
    SCHEMA,
    load_measurement,
    measurement_record,
    merge_into_record,
    read_grid_record,
    save_measurement,
    write_record,
)
from .runs import (
    GRID_RECIPE,
    RECALL_NUM_TRAIN,
    RECALL_RECIPE,
    RECALL_TRAIN_SCORE,
    grid_cells,
    merge_results,
    recall_grid,
    recall_summary,
    resume_recall,
    run_grid_cell,
    run_recall,
)

__all__ = [
    "GRID_RECIPE",
    "RECALL_NUM_TRAIN",
    "RECALL_RECIPE",
    "RECALL_TRAIN_SCORE",
    "SCHEMA",
    "add_recall_command",
    "device_name",
    "exit_status",
    "grid_cells",
    "load_measurement",
    "measurement_record",
    "merge_into_record",
    "merge_results",
    "read_grid_record",
    "recall_grid",
    "recall_summary",
    "resume_recall",
    "run_grid_cell",
    "run_recall",
    "save_measurement",
    "write_record",
]
