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

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from .checkpoint import check_checkpoint_path, read_checkpoint
from .checks import check_positive_int
from .files import check_new_file
from .measure import check_name, device_name, load_record, save_record, today
from .mixers import MIXERS
from .models import ModelConfig, TinyLM
from .options import HelpFormatter, float_in, int_in
from .tasks import make_splits
from .train import History, TrainConfig, TrainingDiverged, TrainingInterrupted, train

__all__ = [
    "GRID_RECIPE",
    "RECALL_NUM_TRAIN",
    "RECALL_RECIPE",
    "RECALL_TRAIN_SCORE",
    "SCHEMA",
    "add_recall_command",
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

#: The handbook's recipe for recall at tiny scale on a CPU (see the module docstring).
RECALL_RECIPE = TrainConfig(
    lr=3e-3, batch_size=32, max_steps=650, warmup_steps=50, eval_every=50, target_accuracy=1.0
)
#: The recipe of the chapter's grid: the same, with a budget of 1,500 steps per run.
GRID_RECIPE = replace(RECALL_RECIPE, max_steps=1500)
#: Training sequences per recall run (Table A.1 uses 2,000; see the module docstring).
RECALL_NUM_TRAIN = 24_000
#: Which positions the recall training loss scores (the official data: ``"all"``).
RECALL_TRAIN_SCORE = "values"


def _recall_data(run: Mapping[str, object]):
    """The splits of a recall run described by ``run`` (see :func:`run_recall`)."""
    return make_splits(
        "recall", int(run["seq_len"]), int(run["vocab_size"]), num_train=int(run["num_train"]),
        seed=int(run["seed"]), train_score=str(run["train_score"]),
    )  # fmt: skip


def run_recall(
    mixer: str,
    vocab_size: int,
    seq_len: int,
    *,
    seed: int = 0,
    config: TrainConfig | None = None,
    d_model: int = 64,
    n_layers: int = 2,
    mixer_args: dict | None = None,
    num_train: int = RECALL_NUM_TRAIN,
    train_score: str = RECALL_TRAIN_SCORE,
    device: str | torch.device = "cpu",
    progress: bool = True,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
) -> tuple[TinyLM, History]:
    """Train a ``n_layers`` x ``d_model`` model with ``mixer`` on associative recall.

    Draws the splits with :func:`hyena_lab.tasks.make_splits` (seeded by ``seed``; ``num_train``
    training sequences scored as ``train_score`` says), seeds the initialisation, trains with
    ``config`` (default :data:`RECALL_RECIPE` with this seed) on ``device`` and returns the
    trained model (on the CPU) and its history. With ``checkpoint`` the run is saved every
    ``checkpoint_every`` steps, at the end and on Ctrl-C/SIGTERM (see
    :func:`hyena_lab.train.train`); :func:`resume_recall` continues it.
    """
    config = config or TrainConfig(**{**asdict(RECALL_RECIPE), "seed": seed})
    run = {"task": "recall", "vocab_size": vocab_size, "seq_len": seq_len, "seed": seed,
           "num_train": num_train, "train_score": train_score,
           "device": torch.device(device).type}  # fmt: skip
    data = _recall_data(run)
    torch.manual_seed(seed)
    model = TinyLM(
        ModelConfig(
            vocab_size=vocab_size,
            l_max=seq_len,
            mixer=mixer,
            d_model=d_model,
            n_layers=n_layers,
            mixer_args=dict(mixer_args or {}),
        )
    )
    history = train(model.to(device), data, config, progress=progress, checkpoint=checkpoint,
                    checkpoint_every=checkpoint_every, run=run)  # fmt: skip
    return model.cpu(), history


def resume_recall(
    path: str | os.PathLike,
    *,
    time_budget: float | None = None,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> tuple[TinyLM, History]:
    """Continue the recall run saved at ``path`` where it stopped (same data, batches, schedule).

    Saves on to ``checkpoint`` (default: ``path`` itself). ``time_budget`` replaces the saved
    one: the seconds of training in all, counted across interruptions. ``device`` defaults to
    the one the run trained on (the same weights bit for bit need the same device; another
    device continues the run up to its round-off). Raises ``ValueError`` if the checkpoint holds
    no recall run in progress, or if it trained on CUDA and this machine has none.
    """
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
    history = train(
        model.to(device), _recall_data(run), config, progress=progress,
        checkpoint=path if checkpoint is None else checkpoint,
        checkpoint_every=checkpoint_every, resume=payload, run=run,
    )  # fmt: skip
    return model.cpu(), history


def grid_cells(
    mixers: Sequence[str],
    vocab_sizes: Sequence[int],
    seq_lens: Sequence[int],
    seeds: Sequence[int],
    mixer_args: Mapping[str, object] | None = None,
) -> list[dict]:
    """Every ``{mixer, vocab_size, seq_len, seed}`` of a grid, in a fixed order.

    With ``mixer_args`` every cell also carries ``"mixer_args"`` (passed to the mixer, e.g.
    ``{"filter_args": {"w": 10.0}}`` for Hyena) and its results are told apart by them.
    """
    extra = {} if mixer_args is None else {"mixer_args": dict(mixer_args)}
    return [
        {"mixer": m, "vocab_size": V, "seq_len": L, "seed": s, **extra}
        for V in vocab_sizes
        for L in seq_lens
        for m in mixers
        for s in seeds
    ]


def run_grid_cell(
    cell: Mapping[str, object], config: TrainConfig = GRID_RECIPE, device: str = "cpu"
) -> dict:
    """Train one cell of the grid (:func:`grid_cells`) and return its summary.

    The summary (:func:`recall_summary`) also holds the cell's ``mixer_args`` (if any) and its
    validation curve, ``{"step": [...], "valid_accuracy": [...]}``: runs are compared by
    optimizer steps, which do not depend on the machine.
    """
    seed = int(cell["seed"])
    mixer_args = dict(cell.get("mixer_args") or {})
    model, history = run_recall(
        str(cell["mixer"]),
        int(cell["vocab_size"]),
        int(cell["seq_len"]),
        seed=seed,
        config=replace(config, seed=seed),
        mixer_args=mixer_args,
        device=device,
        progress=False,
    )
    summary = recall_summary(model, history, model.config.vocab_size, model.config.l_max, seed)
    curve = {"step": history.step, "valid_accuracy": history.valid_accuracy}
    extra = {"mixer_args": mixer_args} if mixer_args else {}
    return {**summary, **extra, "valid_curve": curve, "device": str(device)}


def _grid_worker(job: tuple[Mapping[str, object], TrainConfig, str, int]) -> dict:
    """One cell in a worker process with ``threads`` torch CPU threads (:func:`recall_grid`)."""
    cell, config, device, threads = job
    torch.set_num_threads(threads)
    return run_grid_cell(cell, config, device)


def recall_grid(
    cells: Sequence[Mapping[str, object]],
    config: TrainConfig = GRID_RECIPE,
    device: str = "cpu",
    *,
    progress: bool = True,
    jobs: int = 1,
    threads: int = 1,
) -> list[dict]:
    """Train every cell and return their summaries, in the order of ``cells``.

    ``jobs=1`` trains them in turn in this process (a tqdm bar over cells). ``jobs > 1`` runs
    that many worker processes at once (``spawn``, each with ``threads`` torch threads): on one
    GPU, 12 tiny models at a time keep it busy where one alone would not. Each run is seeded by
    its cell, so the results do not depend on ``jobs`` (up to the device's round-off).
    """
    check_positive_int(jobs, "jobs")
    check_positive_int(threads, "threads")
    if jobs == 1:
        bar = tqdm(cells, desc="grid", unit="run", disable=not progress)
        return [run_grid_cell(cell, config, device) for cell in bar]
    work = [(dict(cell), config, str(device), threads) for cell in cells]
    context = multiprocessing.get_context("spawn")  # CUDA cannot be forked
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        runs = pool.map(_grid_worker, work)
        return list(tqdm(runs, total=len(work), desc="grid", unit="run", disable=not progress))


def _cell_key(result: Mapping[str, object]) -> tuple:
    """What identifies a run of the grid: mixer, its arguments, vocabulary, length, seed."""
    args = json.dumps(result.get("mixer_args") or {}, sort_keys=True)
    return (result["mixer"], args, result["vocab_size"], result["seq_len"], result["seed"])


def merge_results(
    old: Sequence[Mapping[str, object]], new: Sequence[Mapping[str, object]]
) -> list[dict]:
    """``old`` with every run of ``new`` added: a new run replaces an old one of the same cell.

    Cells are identified by mixer, ``mixer_args``, vocabulary size, length and seed; the old
    order is kept and the runs of new cells follow, in their order. Raises if ``new`` repeats a
    cell.
    """
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
        "task": "associative_recall",
        "mixer": model.config.mixer,
        "vocab_size": vocab_size,
        "seq_len": seq_len,
        "seed": seed,
        "d_model": model.config.d_model,
        "n_layers": model.config.n_layers,
        "params": model.num_params,
        "test_accuracy": history.test_accuracy,
        "valid_accuracy": history.valid_accuracy[-1] if history.valid_accuracy else None,
        "seconds": round(history.total_seconds, 3),
        "steps": history.steps,
        "stopped": history.stopped,
        "torch_threads": torch.get_num_threads(),
    }


# ---------------------------------------------------------------------------------------------
# records of runs (chapter 04's figures/data/04_associative_recall-*.json)


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


# ---------------------------------------------------------------------------------------------
# the commands

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
