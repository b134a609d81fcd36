"""Records of recall runs, chapter 04's ``figures/data/04_associative_recall-*.json``: run
summaries with their context (machine, versions, date, shapes, recipe)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from ..measure import check_name, load_record, save_record, today
from ..train import TrainConfig
from .runs import RECALL_NUM_TRAIN, RECALL_TRAIN_SCORE, merge_results

#: The schema of the recall records (:func:`hyena_lab.measure.save_record`).
SCHEMA = "hyena-lab.recall"
_Results = Sequence[Mapping[str, Any]]


def measurement_record(
    results: _Results, config: TrainConfig, *, device: str, torch_version: str = torch.__version__,
    **extra: Any,
) -> dict[str, Any]:  # fmt: skip
    """The record of run summaries: ``device`` (a name, :func:`hyena_lab.measure.device_name`),
    the torch version, the date, the runs' shapes, the positions the training loss scores, the
    recipe, anything in ``extra``, and the ``results``."""
    if not results:
        raise ValueError("results is empty: nothing to record")
    shapes = {"batch": config.batch_size, "d_model": sorted({r["d_model"] for r in results}),
              "n_layers": sorted({r["n_layers"] for r in results}), "num_train": RECALL_NUM_TRAIN}
    return {"device": device, "torch_version": torch_version, "date": today(), "shapes": shapes,
            "train_score": RECALL_TRAIN_SCORE, "recipe": asdict(config), **extra,
            "results": [dict(r) for r in results]}  # fmt: skip


def save_measurement(
    name: str, results: _Results, config: TrainConfig, *, device: str, **extra: Any
) -> Path:
    """Write :func:`measurement_record` to ``<figures_dir>/data/<name>.json``; its path."""
    record = measurement_record(results, config, device=device, **extra)
    return save_record(record, check_name(name, "measurement"), schema=SCHEMA)


def write_record(
    path: str | Path, results: _Results, config: TrainConfig, *, device: str, **extra: Any
) -> Path:
    """Write a new record of ``results`` to an explicit ``path`` (the ``recall-grid --out``)."""
    return save_record(measurement_record(results, config, device=device, **extra), Path(path),
                       schema=SCHEMA)  # fmt: skip


def read_grid_record(path: str | Path, config: TrainConfig) -> dict[str, Any]:
    """The grid record at ``path``; ``ValueError`` for a missing or unreadable file, one that is
    not a grid record, or a recipe other than ``config``'s (``seed`` apart): one grid, one budget.
    """
    path = Path(path)
    try:
        record = load_record(path, schema=SCHEMA, version=1)
    except FileNotFoundError:
        raise ValueError(f"no record at {path} to merge into (use --out to start one)") from None
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ValueError(f"{path} is not a readable JSON record: {err}") from None
    if not isinstance(record, dict) or not {"recipe", "results"} <= set(record):
        raise ValueError(f"{path} is not a recall grid record (no 'recipe' and 'results')")
    try:  # the seed apart; fields added since the record was written take their defaults
        recorded = TrainConfig.from_record({**record["recipe"], "seed": config.seed})
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path} holds a recipe TrainConfig cannot read: {err}") from None
    if recorded != config:
        raise ValueError(f"the runs' recipe {asdict(config)} differs from the record's "
                         f"{record['recipe']}: every cell of a grid must get the same budget")
    return record


def merge_into_record(
    path: str | Path, results: _Results, config: TrainConfig, *, device: str,
    torch_version: str = torch.__version__,
) -> Path:  # fmt: skip
    """Add ``results`` to the grid record at ``path`` (:func:`read_grid_record` checks it) with
    :func:`merge_results`; returns the path written.

    The record keeps its ``device`` and recipe; each added run is stamped with ``device_name``,
    the batch is described in ``additions`` (mixers, runs, device, torch version, date) and the
    ``mixers`` list gains the new mixers, so a reader sees which cells ran where.
    """
    path = Path(path)
    record = read_grid_record(path, config)
    if not results:
        raise ValueError("results is empty: nothing to merge")
    stamped = [{**r, "device_name": device} for r in results]
    record["results"] = merge_results(record["results"], stamped)
    mixers = sorted({r["mixer"] for r in results})
    if "mixers" in record:
        record["mixers"] += [m for m in mixers if m not in record["mixers"]]
    record.setdefault("additions", []).append({"mixers": mixers, "runs": len(results),
                                               "device": device, "torch_version": torch_version,
                                               "date": today()})  # fmt: skip
    return save_record(record, path, schema=SCHEMA)


def load_measurement(name: str) -> dict[str, Any]:
    """Read the committed record written by :func:`save_measurement`."""
    return load_record(check_name(name, "measurement"), schema=SCHEMA, version=1)
