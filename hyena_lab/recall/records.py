"""Records of recall runs: chapter 04's ``figures/data/04_associative_recall-*.json``.

A record holds run summaries with their context (machine, versions, date, shapes, recipe);
:func:`merge_into_record` adds runs measured elsewhere (e.g. on a GPU) to a recorded grid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from ..measure import check_name, load_record, save_record, today
from ..train import TrainConfig
from .runs import RECALL_NUM_TRAIN, RECALL_TRAIN_SCORE, merge_results


def measurement_record(
    results: Sequence[Mapping[str, Any]],
    config: TrainConfig,
    *,
    device: str,
    torch_version: str = torch.__version__,
    **extra: Any,
) -> dict[str, Any]:
    """The record of run summaries with their context (what :func:`save_measurement` writes).

    It holds ``device`` (a name, see :func:`device_name`), the torch version, the date, the
    shapes of the runs (batch, width, layers, training sequences), the positions the training
    loss scores, the training recipe, anything in ``extra``, and the ``results`` themselves.
    """
    if not results:
        raise ValueError("results is empty: nothing to record")
    return {
        "device": device,
        "torch_version": torch_version,
        "date": today(),
        "shapes": {
            "batch": config.batch_size,
            "d_model": sorted({r["d_model"] for r in results}),
            "n_layers": sorted({r["n_layers"] for r in results}),
            "num_train": RECALL_NUM_TRAIN,
        },
        "train_score": RECALL_TRAIN_SCORE,
        "recipe": asdict(config),
        **extra,
        "results": [dict(r) for r in results],
    }


#: The schema of the recall records (:func:`hyena_lab.measure.save_record`).
SCHEMA = "hyena-lab.recall"


def save_measurement(
    name: str,
    results: Sequence[Mapping[str, Any]],
    config: TrainConfig,
    *,
    device: str,
    torch_version: str = torch.__version__,
    **extra: Any,
) -> Path:
    """Write run summaries to ``<figures_dir>/data/<name>.json`` (:func:`measurement_record`).

    :func:`hyena_lab.measure.figures_dir` is the repository's ``figures/`` only under
    ``make handbook``; otherwise a cache folder. ``torch_version`` defaults to this process's;
    pass the other one for results measured elsewhere. Returns the path written.
    """
    record = measurement_record(
        results, config, device=device, torch_version=torch_version, **extra
    )
    return save_record(record, check_name(name, "measurement"), schema=SCHEMA)


def write_record(
    path: str | Path,
    results: Sequence[Mapping[str, Any]],
    config: TrainConfig,
    *,
    device: str,
    **extra: Any,
) -> Path:
    """Write a new record of ``results`` to an explicit ``path`` (the ``recall-grid --out``)."""
    record = measurement_record(results, config, device=device, **extra)
    return save_record(record, Path(path), schema=SCHEMA)


def read_grid_record(path: str | Path, config: TrainConfig) -> dict[str, Any]:
    """The grid record at ``path``, checked to be one that runs of ``config`` may join.

    Raises ``ValueError`` for a missing or unreadable file, JSON that is not a grid record, or a
    record whose recipe differs from ``config`` (except ``seed``): every cell of one grid gets
    the same budget. The recall-grid command calls this before it trains anything.
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
    recipe = {**asdict(config), "seed": record["recipe"].get("seed")}
    if recipe != record["recipe"]:
        raise ValueError(
            f"the runs' recipe {asdict(config)} differs from the record's {record['recipe']}: "
            "every cell of a grid must get the same budget"
        )
    return record


def merge_into_record(
    path: str | Path,
    results: Sequence[Mapping[str, Any]],
    config: TrainConfig,
    *,
    device: str,
    torch_version: str = torch.__version__,
) -> Path:
    """Add ``results`` to the record at ``path`` (:func:`hyena_lab.train.merge_results`).

    A run replaces the recorded run of the same cell. The record keeps its ``device`` and recipe
    (those of its first runs); every added run is stamped with ``device_name`` and the batch is
    described in ``additions`` (mixers, runs, device, torch version, date, recipe), so that a
    reader sees which cells ran where. The recipe must equal the record's, except for ``seed``
    (each run has its own): cells of one grid share one budget. The ``mixers`` list gains the
    new mixers. Returns the path written.
    """
    path = Path(path)
    record = read_grid_record(path, config)
    if not results:
        raise ValueError("results is empty: nothing to merge")
    stamped = [{**r, "device_name": device} for r in results]
    record["results"] = merge_results(record["results"], stamped)
    new_mixers = sorted({r["mixer"] for r in results} - set(record.get("mixers", [])))
    if "mixers" in record:
        record["mixers"] = [*record["mixers"], *new_mixers]
    record.setdefault("additions", []).append(
        {
            "mixers": sorted({r["mixer"] for r in results}),
            "runs": len(results),
            "device": device,
            "torch_version": torch_version,
            "date": today(),
        }
    )
    return save_record(record, path, schema=SCHEMA)


def load_measurement(name: str) -> dict[str, Any]:
    """Read the committed record written by :func:`save_measurement`."""
    return load_record(check_name(name, "measurement"), schema=SCHEMA, version=1)
