"""The ``hyena-lab recall`` and ``hyena-lab recall-grid`` commands (options, checks, exit status).
"""

from __future__ import annotations

import argparse
import signal
from collections.abc import Mapping
from dataclasses import asdict, replace
from pathlib import Path

import torch

from ..checkpoint import check_checkpoint_path, read_checkpoint
from ..files import check_new_file
from ..measure import device_name
from ..mixers import MIXERS
from ..options import HelpFormatter, float_in, int_in
from ..train import TrainConfig, TrainingDiverged, TrainingInterrupted
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

#: Options that define a recall run: a resumed run keeps the values saved with it.
_RUN_OPTIONS = ("mixer", "vocab_size", "seq_len", "seed", "max_steps", "warmup_steps", "lr",
                "batch_size", "target_accuracy", "d_model", "n_layers", "num_train",
                "train_score")  # fmt: skip


def _device(text: str) -> str:
    """An argparse ``type``: a torch device that exists here (``cpu``, ``cuda``, ``cuda:1``)."""
    try:
        dev = torch.device(text)
    except (RuntimeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected cpu or cuda[:N], got {text!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f"{text!r}: this machine has no CUDA device (use cpu)")
    if dev.type == "cuda" and (dev.index or 0) >= torch.cuda.device_count():
        raise argparse.ArgumentTypeError(f"{text!r}: only {torch.cuda.device_count()} CUDA devices")
    if dev.type not in ("cpu", "cuda"):
        raise argparse.ArgumentTypeError(f"expected cpu or cuda[:N], got {text!r}")
    return text


def _warmup(args: argparse.Namespace) -> int:
    """``--warmup-steps``, by default the recipe's 50 steps, at most a tenth of ``--max-steps``."""
    if args.warmup_steps is not None:
        return args.warmup_steps
    return min(RECALL_RECIPE.warmup_steps, args.max_steps // 10)


def _saved_options(payload: Mapping[str, object]) -> dict:
    """The run-defining option values a checkpoint was saved with (for conflict checks)."""
    run, config = payload["run"] or {}, payload["train_state"]["config"]
    model = payload["model_config"]
    saved = {k: model[k] for k in ("mixer", "d_model", "n_layers")}
    saved |= {k: config[k] for k in ("seed", "max_steps", "warmup_steps", "lr", "batch_size")}
    saved |= {k: run.get(k) for k in ("vocab_size", "seq_len", "num_train", "train_score")}
    return saved | {"target_accuracy": config["target_accuracy"]}


def _check_resume_options(args: argparse.Namespace, payload: Mapping[str, object]) -> None:
    """Refuse options given with ``--resume`` that contradict the saved run."""
    saved = _saved_options(payload)
    for name in _RUN_OPTIONS:
        given = getattr(args, name)
        if given != args.parser.get_default(name) and given != saved[name]:
            flag = "--" + name.replace("_", "-")
            raise ValueError(
                f"{flag} {given} differs from the resumed run's {saved[name]}: a resumed run keeps "
                "its data, model and schedule (only --time-budget, --threads, --device and "
                "--checkpoint may change)"
            )


def _cmd_recall(args: argparse.Namespace) -> dict:
    """``hyena-lab recall``: train one model on recall (or resume one) and return its figures."""
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    ckpt = args.checkpoint or args.resume
    if args.resume:  # every check before any work
        try:
            payload = read_checkpoint(args.resume)
        except (ValueError, FileNotFoundError) as err:
            raise ValueError(f"--resume: {err}") from None
        if payload["train_state"] is None:
            raise ValueError(f"--resume: {args.resume} holds no training state to resume")
        _check_resume_options(args, payload)
    if ckpt:
        try:
            check_checkpoint_path(ckpt, overwrite=args.overwrite, resuming=args.resume)
        except ValueError as err:
            raise ValueError(f"--checkpoint: {err}") from None
    budget_given = args.time_budget != args.parser.get_default("time_budget")
    try:
        if args.resume:
            model, history = resume_recall(
                args.resume, time_budget=args.time_budget if budget_given else None,
                checkpoint=ckpt, checkpoint_every=args.checkpoint_every,
                device=None if args.device == args.parser.get_default("device") else args.device,
            )  # fmt: skip
        else:
            config = TrainConfig(
                **{**asdict(RECALL_RECIPE), "lr": args.lr, "batch_size": args.batch_size,
                   "max_steps": args.max_steps, "warmup_steps": _warmup(args),
                   "time_budget": args.time_budget, "target_accuracy": args.target_accuracy,
                   "seed": args.seed}
            )  # fmt: skip
            model, history = run_recall(
                args.mixer, args.vocab_size, args.seq_len, seed=args.seed, config=config,
                d_model=args.d_model, n_layers=args.n_layers, num_train=args.num_train,
                train_score=args.train_score, device=args.device, checkpoint=ckpt,
                checkpoint_every=args.checkpoint_every,
            )  # fmt: skip
    except (TrainingDiverged, TrainingInterrupted) as err:
        return _stopped_summary(args, err, ckpt)
    summary = recall_summary(model, history, model.config.vocab_size, model.config.l_max,
                             _seed_of(args))  # fmt: skip
    device = args.device
    if args.resume and args.device == args.parser.get_default("device"):  # the run's own
        device = (read_checkpoint(args.resume)["run"] or {}).get("device", "cpu")
    return {**summary, "device": str(device), "checkpoint": ckpt}


def _seed_of(args: argparse.Namespace) -> int:
    """The run's seed: the saved one when resuming."""
    if args.resume:
        return int(read_checkpoint(args.resume)["train_state"]["config"]["seed"])
    return args.seed


def _stopped_summary(
    args: argparse.Namespace, err: TrainingDiverged | TrainingInterrupted, ckpt: str | None
) -> dict:
    """The last JSON line of a run that diverged or was interrupted (``hyena_lab.cli`` turns
    ``stopped`` into the exit status: 1 for ``diverged``, 128 + signal for ``interrupted``)."""
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
    """The exit status of a command whose result says how it stopped: 1 when it diverged,
    128 + the signal's number when interrupted (130 for Ctrl-C), else 0."""
    if result.get("stopped") == "diverged":
        return 1
    if result.get("stopped") == "interrupted":
        return 128 + int(signal.Signals[str(result.get("signal", "SIGINT"))])
    return 0


def _cmd_recall_grid(args: argparse.Namespace) -> dict:
    """``hyena-lab recall-grid``: train a grid of cells and write (or merge into) a record."""
    if bool(args.out) == bool(args.merge_into):
        raise ValueError("give exactly one of --out PATH and --merge-into PATH")
    config = replace(GRID_RECIPE, max_steps=args.max_steps,
                     warmup_steps=min(GRID_RECIPE.warmup_steps, args.max_steps // 10))  # fmt: skip
    if args.merge_into:  # checked before any training
        read_grid_record(args.merge_into, config)
    else:
        check_new_file(args.out, "--out")
        if Path(args.out).exists() and not args.overwrite:
            raise ValueError(f"--out {args.out} exists: --merge-into it, or --overwrite it")
    cells = grid_cells(args.mixers, args.vocab_sizes, args.seq_lens, args.seeds)
    results = recall_grid(cells, config, args.device, jobs=args.jobs, threads=args.threads)
    device = device_name(args.device)
    if args.merge_into:
        path = merge_into_record(args.merge_into, results, config, device=device)
    else:
        path = write_record(
            args.out, results, config, device=device, mixers=list(args.mixers),
            vocab_sizes=list(args.vocab_sizes), seq_lens=list(args.seq_lens),
            seeds=list(args.seeds),
        )  # fmt: skip
    accs = [r["test_accuracy"] for r in results]
    return {"record": str(path), "runs": len(results), "device": device,
            "mean_test_accuracy": sum(accs) / len(accs)}  # fmt: skip


def add_recall_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``recall`` and ``recall-grid`` to the ``hyena-lab`` command line; returns ``recall``.

    ``hyena-lab recall --mixer hyena --vocab-size 16 --seq-len 128 --time-budget 60 --seed 0``
    trains with a progress bar and returns a dict with at least ``test_accuracy``, ``seconds``
    and ``steps``. ``hyena-lab recall-grid --mixers h3_same --device cuda --jobs 12
    --merge-into figures/data/04_associative_recall-grid.json`` trains chapter 04's grid for the
    given mixers (:data:`GRID_RECIPE`) and merges the runs into that record (see
    :func:`merge_into_record`).
    """
    _add_recall_grid_command(subparsers)
    r = RECALL_RECIPE
    p = subparsers.add_parser(
        "recall",
        help="train a tiny model on associative recall (paper Sec. 4.1)",
        formatter_class=HelpFormatter,
        description="Train a 2-layer model with the chosen mixer on associative recall; print "
        "its test accuracy, training seconds and steps as the last JSON line. With the same seed "
        "and a step budget two runs are identical; a time budget may stop them at different "
        "steps (it depends on the machine). With --checkpoint the run is saved every "
        "--checkpoint-every steps, at the end and on Ctrl-C/SIGTERM, and --resume continues it. "
        "Exit status: 0 done, 1 diverged (non-finite loss), 2 bad options, 130 (Ctrl-C) or 143 "
        "(SIGTERM) interrupted.",
    )
    p.add_argument("--mixer", choices=sorted(MIXERS), default="hyena", help="sequence mixer")
    p.add_argument("--vocab-size", type=int_in(4, 1_000_000), default=16,
                   help="token ids, the 2 special tokens included")
    p.add_argument("--seq-len", type=int_in(4, 65_536), default=128, help="sequence length")
    p.add_argument("--time-budget", type=float_in(0, open_lo=True), default=60.0,
                   help="seconds of training at most (when resuming: in all)")
    p.add_argument("--seed", type=int_in(0, 2**63 - 1), default=0, help="seed of data and model")
    p.add_argument("--max-steps", type=int_in(1, 10**8), default=r.max_steps,
                   help="length of the cosine schedule, and the most steps taken")
    p.add_argument("--warmup-steps", type=int_in(0, 10**8), default=None,
                   help=f"linear warm-up (default: {r.warmup_steps}, at most max-steps // 10)")
    p.add_argument("--lr", type=float_in(0, open_lo=True), default=r.lr, help="peak learning rate")
    p.add_argument("--batch-size", type=int_in(1, 65_536), default=r.batch_size,
                   help="sequences per optimizer step")
    p.add_argument("--target-accuracy", type=float_in(0, 1, open_lo=True),
                   default=r.target_accuracy, help="stop once validation accuracy reaches it")
    p.add_argument("--d-model", type=int_in(1, 4096), default=64, help="model width")
    p.add_argument("--n-layers", type=int_in(1, 64), default=2, help="residual blocks")
    p.add_argument("--num-train", type=int_in(1, 10**7), default=RECALL_NUM_TRAIN,
                   help="training sequences")
    p.add_argument(
        "--train-score",
        choices=["values", "all"],
        default=RECALL_TRAIN_SCORE,
        help="training loss on value positions only, or on every position (official data)",
    )
    p.add_argument("--threads", type=int_in(1, 1024), default=None,
                   help="torch CPU threads (default: torch's choice)")
    p.add_argument("--device", type=_device, default="cpu", help="torch device: cpu or cuda[:N]")
    p.add_argument("--checkpoint", default=None,
                   help="save the run here (at intervals, at the end, on Ctrl-C/SIGTERM)")
    p.add_argument("--checkpoint-every", type=int_in(1, 10**8), default=r.eval_every,
                   help="steps between saves")
    p.add_argument("--resume", default=None, metavar="CHECKPOINT",
                   help="continue the run saved in this checkpoint (and save on to it)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing file at --checkpoint")
    p.set_defaults(func=_cmd_recall, parser=p)
    return p


def _add_recall_grid_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``recall-grid`` subcommand (defaults: the grid of chapter 04)."""
    p = subparsers.add_parser(
        "recall-grid",
        help="train chapter 04's grid (mixers x vocab sizes x lengths x seeds) into a record",
        formatter_class=HelpFormatter,
        description="Train every cell with the grid recipe (the same step budget for all) and "
        "write a new record (--out) or merge the runs into an existing one (--merge-into; a run "
        "replaces the one of the same cell). Prints a JSON summary as its last line.",
    )
    p.add_argument("--mixers", nargs="+", choices=sorted(MIXERS), required=True,
                   help="sequence mixers to train")
    p.add_argument("--vocab-sizes", nargs="+", type=int_in(4, 1_000_000), default=[10, 20, 30],
                   help="vocabulary sizes (2 special tokens included)")
    p.add_argument("--seq-lens", nargs="+", type=int_in(4, 65_536), default=[64, 128, 256, 512],
                   help="sequence lengths")
    p.add_argument("--seeds", nargs="+", type=int_in(0, 2**63 - 1), default=[0, 1],
                   help="seeds (one run per seed and cell)")
    p.add_argument("--max-steps", type=int_in(1, 10**8), default=GRID_RECIPE.max_steps,
                   help="steps per run (the same budget for every cell)")
    p.add_argument("--device", type=_device, default="cpu", help="torch device: cpu or cuda[:N]")
    p.add_argument("--jobs", type=int_in(1, 256), default=1, help="runs at a time (processes)")
    p.add_argument("--threads", type=int_in(1, 1024), default=1,
                   help="torch CPU threads per worker")
    p.add_argument("--out", default=None, help="write a new record to this JSON path")
    p.add_argument("--merge-into", default=None, help="merge the runs into this JSON record")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.set_defaults(func=_cmd_recall_grid)
    return p
