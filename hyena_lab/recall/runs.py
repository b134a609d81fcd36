"""Recall runs: the handbook's recipes (see :mod:`hyena_lab.recall`), one run with checkpoints
and resume, a grid of runs."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial

import torch

from ..checkpoint import read_checkpoint
from ..models import ModelConfig, TinyLM
from ..progress import parallel_map
from ..tasks import make_splits
from ..train import History, TrainConfig, train

#: The handbook's recipe for recall at tiny scale on a CPU (see the module docstring).
RECALL_RECIPE = TrainConfig(lr=3e-3, batch_size=32, max_steps=650, warmup_steps=50,
                            eval_every=50, target_accuracy=1.0)  # fmt: skip
#: The recipe of the chapter's grid: the same, with a budget of 1,500 steps per run.
GRID_RECIPE = replace(RECALL_RECIPE, max_steps=1500)
#: Training sequences per recall run (Table A.1 uses 2,000; see the module docstring).
RECALL_NUM_TRAIN = 24_000
#: Which positions the recall training loss scores (the official data: ``"all"``).
RECALL_TRAIN_SCORE = "values"


def _recall_data(run: Mapping[str, object]):
    """The splits of a recall run described by ``run`` (see :func:`run_recall`)."""
    return make_splits("recall", int(run["seq_len"]), int(run["vocab_size"]),
                       num_train=int(run["num_train"]), seed=int(run["seed"]),
                       train_score=str(run["train_score"]))  # fmt: skip


def run_recall(
    mixer: str, vocab_size: int, seq_len: int, *, seed: int = 0,
    config: TrainConfig | None = None, d_model: int = 64, n_layers: int = 2,
    mixer_args: dict | None = None, num_train: int = RECALL_NUM_TRAIN,
    train_score: str = RECALL_TRAIN_SCORE, device: str | torch.device = "cpu",
    progress: bool = True, checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
) -> tuple[TinyLM, History]:  # fmt: skip
    """Train a ``n_layers`` x ``d_model`` model with ``mixer`` on associative recall (data and
    initialisation seeded by ``seed``; ``config`` defaults to :data:`RECALL_RECIPE` with it);
    return the model (on the CPU) and its history. :func:`resume_recall` continues a
    ``checkpoint``."""
    config = config or replace(RECALL_RECIPE, seed=seed)
    run = {"task": "recall", "vocab_size": vocab_size, "seq_len": seq_len, "seed": seed,
           "num_train": num_train, "train_score": train_score,
           "device": torch.device(device).type}  # fmt: skip
    data = _recall_data(run)
    torch.manual_seed(seed)
    model = TinyLM(ModelConfig(vocab_size=vocab_size, l_max=seq_len, mixer=mixer, d_model=d_model,
                               n_layers=n_layers, mixer_args=dict(mixer_args or {})))  # fmt: skip
    history = train(model.to(device), data, config, progress=progress, checkpoint=checkpoint,
                    checkpoint_every=checkpoint_every, run=run)  # fmt: skip
    return model.cpu(), history


def resume_recall(
    path: str | os.PathLike, *, time_budget: float | None = None,
    checkpoint: str | os.PathLike | None = None, checkpoint_every: int | None = None,
    device: str | torch.device | None = None, progress: bool = True,
) -> tuple[TinyLM, History]:  # fmt: skip
    """Continue the recall run saved at ``path`` (same data, batches, schedule), saving on to
    ``checkpoint`` (default: ``path``); ``time_budget`` (seconds in all) replaces the saved one,
    ``device`` defaults to the run's own. ``ValueError`` if ``path`` holds no recall run in
    progress, or one trained on CUDA and this machine has none."""
    payload = read_checkpoint(path)
    state, run = payload["train_state"], payload["run"] or {}
    if state is None or run.get("task") != "recall":
        raise ValueError(f"{path} holds no recall run to resume (saved without its training state)")
    stopped = (payload["history"] or {}).get("stopped")
    config = TrainConfig(**state["config"])
    if time_budget is not None:
        config = replace(config, time_budget=time_budget)
    if stopped in ("max_steps", "target") or state["step"] >= config.max_steps:
        raise ValueError(f"the run in {path} has finished (stopped: {stopped}): nothing to resume")
    if device is None:
        device = run.get("device", "cpu")
        if device == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"the run in {path} trained on cuda and this machine has no CUDA "
                             "device: give --device cpu to continue it on the CPU")  # fmt: skip
    model = TinyLM(ModelConfig(**payload["model_config"]))
    model.load_state_dict(payload["state_dict"])
    history = train(model.to(device), _recall_data(run), config, progress=progress,
                    checkpoint=path if checkpoint is None else checkpoint,
                    checkpoint_every=checkpoint_every, resume=payload, run=run)  # fmt: skip
    return model.cpu(), history


def grid_cells(
    mixers: Sequence[str], vocab_sizes: Sequence[int], seq_lens: Sequence[int],
    seeds: Sequence[int], mixer_args: Mapping[str, object] | None = None,
) -> list[dict]:  # fmt: skip
    """Every ``{mixer, vocab_size, seq_len, seed}`` of a grid, in a fixed order; with
    ``mixer_args`` (e.g. ``{"filter_args": {"w": 10.0}}``) every cell carries them too."""
    extra = {} if mixer_args is None else {"mixer_args": dict(mixer_args)}
    return [{"mixer": m, "vocab_size": V, "seq_len": L, "seed": s, **extra}
            for V in vocab_sizes for L in seq_lens for m in mixers for s in seeds]


def run_grid_cell(
    cell: Mapping[str, object], config: TrainConfig = GRID_RECIPE, device: str = "cpu"
) -> dict:
    """Train one cell of :func:`grid_cells`: its :func:`recall_summary`, ``mixer_args`` (if any)
    and validation curve ``{"step", "valid_accuracy"}`` (steps do not depend on the machine)."""
    seed = int(cell["seed"])
    mixer_args = dict(cell.get("mixer_args") or {})
    model, history = run_recall(
        str(cell["mixer"]), int(cell["vocab_size"]), int(cell["seq_len"]), seed=seed,
        config=replace(config, seed=seed), mixer_args=mixer_args, device=device, progress=False,
    )  # fmt: skip
    summary = recall_summary(model, history, model.config.vocab_size, model.config.l_max, seed)
    curve = {"step": history.step, "valid_accuracy": history.valid_accuracy}
    extra = {"mixer_args": mixer_args} if mixer_args else {}
    return {**summary, **extra, "valid_curve": curve, "device": str(device)}


def recall_grid(
    cells: Sequence[Mapping[str, object]], config: TrainConfig = GRID_RECIPE,
    device: str = "cpu", *, progress: bool = True, jobs: int = 1, threads: int = 1,
) -> list[dict]:  # fmt: skip
    """Train every cell; their summaries, in the order of ``cells``. ``jobs > 1`` runs that many
    worker processes with ``threads`` torch threads each (12 keep one GPU busy); the runs are
    seeded by their cells, so the results do not depend on ``jobs`` (up to round-off)."""
    run = partial(run_grid_cell, config=config, device=str(device))
    return parallel_map(run, [dict(c) for c in cells], jobs=jobs, threads=threads,
                        enabled=progress, desc="grid")  # fmt: skip


def _cell_key(result: Mapping[str, object]) -> tuple:
    """What identifies a run of the grid: mixer, its arguments, vocabulary, length, seed."""
    args = json.dumps(result.get("mixer_args") or {}, sort_keys=True)
    return (result["mixer"], args, result["vocab_size"], result["seq_len"], result["seed"])


def merge_results(
    old: Sequence[Mapping[str, object]], new: Sequence[Mapping[str, object]]
) -> list[dict]:
    """``old`` with the runs of ``new``: each replaces the old run of its cell (:func:`_cell_key`)
    in place or, for a new cell, follows. Raises if ``new`` repeats a cell."""
    fresh = {_cell_key(r): dict(r) for r in new}
    if len(fresh) != len(new):
        raise ValueError("new results repeat a cell (same mixer, arguments, vocab, length, seed)")
    merged = [fresh.pop(_cell_key(r), dict(r)) for r in old]
    return merged + [r for r in map(dict, new) if _cell_key(r) in fresh]


def recall_summary(
    model: TinyLM, history: History, vocab_size: int, seq_len: int, seed: int
) -> dict:
    """The figures of one recall run as a flat JSON-ready dict."""
    return {
        "task": "associative_recall", "mixer": model.config.mixer, "vocab_size": vocab_size,
        "seq_len": seq_len, "seed": seed, "d_model": model.config.d_model,
        "n_layers": model.config.n_layers, "params": model.num_params,
        "test_accuracy": history.test_accuracy,
        "valid_accuracy": history.valid_accuracy[-1] if history.valid_accuracy else None,
        "seconds": round(history.total_seconds, 3), "steps": history.steps,
        "stopped": history.stopped, "torch_threads": torch.get_num_threads(),
    }  # fmt: skip
