"""The ``hyena-lab recall`` and ``hyena-lab recall-grid`` commands: their options are the fields
of :class:`RecallOptions` and :class:`GridOptions` (:func:`hyena_lab.experiments.option`)."""

from __future__ import annotations

import argparse
import signal
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from ..checkpoint import check_checkpoint_path, read_checkpoint
from ..experiments import Experiment, add_command, option
from ..files import check_new_file
from ..measure import device_name
from ..mixers import MIXERS
from ..options import float_in, int_in
from ..train import TrainingDiverged, TrainingInterrupted
from .records import merge_into_record, read_grid_record, write_record
from .runs import (
    GRID_RECIPE,
    RECALL_NUM_TRAIN,
    RECALL_RECIPE,
    RECALL_TRAIN_SCORE,
    grid_cells,
    recall_grid,
    recall_summary,
    resume_recall,
    run_recall,
)

_R = RECALL_RECIPE
_STEPS, _SEEDS, _POSITIVE = int_in(1, 10**8), int_in(0, 2**63 - 1), float_in(0, open_lo=True)
_VOCAB, _LENGTH, _MIXERS = int_in(4, 1_000_000), int_in(4, 65_536), sorted(MIXERS)


def _device(text: str) -> str:
    """An argparse ``type``: a torch device that exists here (``cpu``, ``cuda``, ``cuda:1``)."""
    try:
        dev = torch.device(text)
    except (RuntimeError, ValueError):
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda"):
        raise argparse.ArgumentTypeError(f"expected cpu or cuda[:N], got {text!r}")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f"{text!r}: this machine has no CUDA device (use cpu)")
    if dev.type == "cuda" and (dev.index or 0) >= torch.cuda.device_count():
        raise argparse.ArgumentTypeError(f"{text!r}: only {torch.cuda.device_count()} CUDA devices")
    return text


@dataclass(frozen=True)
class RecallOptions:
    """The options of ``hyena-lab recall`` (defaults: :data:`RECALL_RECIPE`)."""

    mixer: str = option("hyena", "sequence mixer", choices=_MIXERS, metavar=None)
    vocab_size: int = option(16, "token ids, the 2 special tokens included", _VOCAB)
    seq_len: int = option(128, "sequence length", _LENGTH)
    time_budget: float = option(60.0, "seconds of training at most (when resuming: in all)",
                                _POSITIVE)  # fmt: skip
    seed: int = option(0, "seed of data and model", _SEEDS)
    max_steps: int = option(_R.max_steps, "length of the cosine schedule, and the most steps "
                            "taken", _STEPS)  # fmt: skip
    warmup_steps: int | None = option(None, f"linear warm-up (default: {_R.warmup_steps}, at "
                                      "most max-steps // 10)", int_in(0, 10**8))  # fmt: skip
    lr: float = option(_R.lr, "peak learning rate", _POSITIVE)
    batch_size: int = option(_R.batch_size, "sequences per optimizer step", int_in(1, 65_536))
    target_accuracy: float = option(_R.target_accuracy, "stop once validation accuracy reaches "
                                    "it", float_in(0, 1, open_lo=True))  # fmt: skip
    d_model: int = option(64, "model width", int_in(1, 4096))
    n_layers: int = option(2, "residual blocks", int_in(1, 64))
    num_train: int = option(RECALL_NUM_TRAIN, "training sequences", int_in(1, 10**7))
    train_score: str = option(RECALL_TRAIN_SCORE, "training loss on value positions only, or on "
                              "every position (official data)", choices=["values", "all"],
                              metavar=None)  # fmt: skip
    threads: int | None = option(None, "torch CPU threads (default: torch's choice)",
                                 int_in(1, 1024))  # fmt: skip
    device: str = option("cpu", "torch device: cpu or cuda[:N]", _device)
    checkpoint: str | None = option(None, "save the run here (at intervals, at the end, on "
                                    "Ctrl-C/SIGTERM)")  # fmt: skip
    checkpoint_every: int = option(_R.eval_every, "steps between saves", _STEPS)
    resume: str | None = option(None, "continue the run saved in this checkpoint (and save on "
                                "to it)", metavar="CHECKPOINT")  # fmt: skip
    overwrite: bool = option(False, "replace an existing file at --checkpoint",
                             action="store_true")  # fmt: skip


_DEFAULTS = RecallOptions()
#: The options that define a recall run and where its checkpoint keeps them: a resumed run
#: keeps the saved values (only --time-budget, --threads, --device and --checkpoint may change).
_RUN_OPTIONS = {"mixer": "model", "vocab_size": "run", "seq_len": "run", "seed": "config",
                "max_steps": "config", "warmup_steps": "config", "lr": "config",
                "batch_size": "config", "target_accuracy": "config", "d_model": "model",
                "n_layers": "model", "num_train": "run", "train_score": "run"}  # fmt: skip


def _given(o: RecallOptions, name: str) -> bool:
    """Whether option ``name`` differs from its default (was given)."""
    return getattr(o, name) != getattr(_DEFAULTS, name)


def _resume_payload(o: RecallOptions) -> dict:
    """``--resume``'s checkpoint; refused if unreadable, saved without a training state, or
    saved with run-defining options that the given ones contradict."""
    try:
        payload = read_checkpoint(o.resume)
    except (ValueError, FileNotFoundError) as err:
        raise ValueError(f"--resume: {err}") from None
    if payload["train_state"] is None:
        raise ValueError(f"--resume: {o.resume} holds no training state to resume")
    saved = {"model": payload["model_config"], "run": payload["run"] or {},
             "config": payload["train_state"]["config"]}  # fmt: skip
    for name, where in _RUN_OPTIONS.items():
        value = saved[where].get(name)
        if _given(o, name) and getattr(o, name) != value:
            raise ValueError(f"--{name.replace('_', '-')} {getattr(o, name)} differs from the "
                             f"resumed run's {value}: a resumed run keeps its data, model and "
                             "schedule (only --time-budget, --threads, --device and --checkpoint "
                             "may change)")  # fmt: skip
    return payload


def _recall(o: RecallOptions) -> dict:
    """``hyena-lab recall``: train one model on recall (or resume one) and return its figures."""
    if o.threads is not None:
        torch.set_num_threads(o.threads)
    ckpt = o.checkpoint or o.resume
    payload = _resume_payload(o) if o.resume else None  # every check before any work
    if ckpt:
        try:
            check_checkpoint_path(ckpt, overwrite=o.overwrite, resuming=o.resume)
        except ValueError as err:
            raise ValueError(f"--checkpoint: {err}") from None
    try:
        if payload is not None:
            model, history = resume_recall(
                o.resume, time_budget=o.time_budget if _given(o, "time_budget") else None,
                checkpoint=ckpt, checkpoint_every=o.checkpoint_every,
                device=o.device if _given(o, "device") else None)  # fmt: skip
        else:
            warmup = min(_R.warmup_steps, o.max_steps // 10)
            config = replace(_R, lr=o.lr, batch_size=o.batch_size, max_steps=o.max_steps,
                             warmup_steps=warmup if o.warmup_steps is None else o.warmup_steps,
                             time_budget=o.time_budget, target_accuracy=o.target_accuracy,
                             seed=o.seed)  # fmt: skip
            model, history = run_recall(
                o.mixer, o.vocab_size, o.seq_len, seed=o.seed, config=config, d_model=o.d_model,
                n_layers=o.n_layers, num_train=o.num_train, train_score=o.train_score,
                device=o.device, checkpoint=ckpt, checkpoint_every=o.checkpoint_every)  # fmt: skip
    except (TrainingDiverged, TrainingInterrupted) as err:
        return _stopped_summary(err, ckpt)
    seed, device = o.seed, o.device
    if payload is not None:  # the run's own seed, and device unless one was given
        seed = int(payload["train_state"]["config"]["seed"])
        if not _given(o, "device"):
            device = (payload["run"] or {}).get("device", "cpu")
    summary = recall_summary(model, history, model.config.vocab_size, model.config.l_max, seed)
    return {**summary, "device": str(device), "checkpoint": ckpt}


def _stopped_summary(err: TrainingDiverged | TrainingInterrupted, ckpt: str | None) -> dict:
    """The last JSON line of a run that diverged or was interrupted (:func:`exit_status`)."""
    h = err.history
    out = {"task": "associative_recall", "stopped": h.stopped, "steps": h.steps,
           "seconds": round(h.total_seconds, 3), "test_accuracy": None,
           "valid_accuracy": h.valid_accuracy[-1] if h.valid_accuracy else None,
           "message": str(err)}  # fmt: skip
    if isinstance(err, TrainingInterrupted):
        out["signal"] = err.signal_name
        out["checkpoint"] = str(err.checkpoint) if err.checkpoint else None
        out["resume"] = f"hyena-lab recall --resume {err.checkpoint}" if err.checkpoint else (
            "nothing was saved: give --checkpoint PATH to save a run and resume it")
    else:
        out["checkpoint"] = ckpt  # the last good save, if any (a diverged model is not saved)
    return out


def exit_status(result: Mapping[str, object]) -> int:
    """1 for a diverged result, 128 + the signal for an interrupted one (130: Ctrl-C), else 0."""
    if result.get("stopped") == "diverged":
        return 1
    if result.get("stopped") == "interrupted":
        return 128 + int(signal.Signals[str(result.get("signal", "SIGINT"))])
    return 0


@dataclass(frozen=True)
class GridOptions:
    """The options of ``hyena-lab recall-grid`` (defaults: the grid of chapter 04)."""

    mixers: tuple[str, ...] | None = option(None, "sequence mixers to train", choices=_MIXERS,
                                            metavar=None, required=True)  # fmt: skip
    vocab_sizes: tuple[int, ...] = option((10, 20, 30), "vocabulary sizes (2 special tokens "
                                          "included)", _VOCAB)  # fmt: skip
    seq_lens: tuple[int, ...] = option((64, 128, 256, 512), "sequence lengths", _LENGTH)
    seeds: tuple[int, ...] = option((0, 1), "seeds (one run per seed and cell)", _SEEDS)
    max_steps: int = option(GRID_RECIPE.max_steps, "steps per run (the same budget for every "
                            "cell)", _STEPS)  # fmt: skip
    device: str = option("cpu", "torch device: cpu or cuda[:N]", _device)
    jobs: int = option(1, "runs at a time (processes)", int_in(1, 256))
    threads: int = option(1, "torch CPU threads per worker", int_in(1, 1024))
    out: str | None = option(None, "write a new record to this JSON path")
    merge_into: str | None = option(None, "merge the runs into this JSON record")
    overwrite: bool = option(False, "replace an existing --out file", action="store_true")


def _recall_grid(o: GridOptions) -> dict:
    """``hyena-lab recall-grid``: train a grid of cells and write (or merge into) a record."""
    if bool(o.out) == bool(o.merge_into):
        raise ValueError("give exactly one of --out PATH and --merge-into PATH")
    config = replace(GRID_RECIPE, max_steps=o.max_steps,
                     warmup_steps=min(GRID_RECIPE.warmup_steps, o.max_steps // 10))  # fmt: skip
    if o.merge_into:  # checked before any training
        read_grid_record(o.merge_into, config)
    else:
        check_new_file(o.out, "--out")
        if Path(o.out).exists() and not o.overwrite:
            raise ValueError(f"--out {o.out} exists: --merge-into it, or --overwrite it")
    cells = grid_cells(o.mixers, o.vocab_sizes, o.seq_lens, o.seeds)
    results = recall_grid(cells, config, o.device, jobs=o.jobs, threads=o.threads)
    device = device_name(o.device)
    if o.merge_into:
        path = merge_into_record(o.merge_into, results, config, device=device)
    else:
        path = write_record(o.out, results, config, device=device, mixers=list(o.mixers),
                            vocab_sizes=list(o.vocab_sizes), seq_lens=list(o.seq_lens),
                            seeds=list(o.seeds))  # fmt: skip
    accs = [r["test_accuracy"] for r in results]
    return {"record": str(path), "runs": len(results), "device": device,
            "mean_test_accuracy": sum(accs) / len(accs)}  # fmt: skip


RECALL = Experiment(
    "recall", "train a tiny model on associative recall (paper Sec. 4.1)", RecallOptions,
    _recall, record=False,
    description="Train a 2-layer model with the chosen mixer on associative recall; print its "
    "test accuracy, training seconds and steps as the last JSON line. With the same seed and a "
    "step budget two runs are identical; a time budget may stop them at different steps (it "
    "depends on the machine). With --checkpoint the run is saved every --checkpoint-every "
    "steps, at the end and on Ctrl-C/SIGTERM, and --resume continues it. Exit status: 0 done, "
    "1 diverged (non-finite loss), 2 bad options, 130 (Ctrl-C) or 143 (SIGTERM) interrupted.",
)  # fmt: skip
RECALL_GRID = Experiment(
    "recall-grid",
    "train chapter 04's grid (mixers x vocab sizes x lengths x seeds) into a record",
    GridOptions, _recall_grid, record=False,
    description="Train every cell with the grid recipe (the same step budget for all) and "
    "write a new record (--out) or merge the runs into an existing one (--merge-into; a run "
    "replaces the one of the same cell). Prints a JSON summary as its last line.",
)  # fmt: skip


def add_recall_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``recall-grid`` and ``recall`` to the ``hyena-lab`` command line; returns ``recall``."""
    add_command(subparsers, RECALL_GRID)
    return add_command(subparsers, RECALL)
