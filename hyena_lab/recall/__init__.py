"""The associative-recall experiment of chapter 04 (paper Sec. 4.1): runs, grids, records, commands.

Table A.1 trains 200 epochs over 2,000 samples at lr 5e-4. :data:`RECALL_RECIPE` reaches 99% test
accuracy (vocabulary 16, length 128) within 60 s on 2 CPU cores: lr 3e-3, 50 warm-up steps, a
cosine over 650, batch 32, an early stop only at a perfect validation score, 24,000 training
sequences (:data:`RECALL_NUM_TRAIN`: none seen twice) and a loss on the value positions only
(:data:`RECALL_TRAIN_SCORE`; the official data also score the random keys); chapter 04 quotes
its recorded benchmark. :data:`GRID_RECIPE` gives every cell of the grid the same 1,500 steps
(sample efficiency, whatever the machine). :func:`resume_recall` continues a saved run.
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
    "GRID_RECIPE", "RECALL_NUM_TRAIN", "RECALL_RECIPE", "RECALL_TRAIN_SCORE", "SCHEMA",
    "add_recall_command", "device_name", "exit_status", "grid_cells", "load_measurement",
    "measurement_record", "merge_into_record", "merge_results", "read_grid_record", "recall_grid",
    "recall_summary", "resume_recall", "run_grid_cell", "run_recall", "save_measurement",
    "write_record"
]
