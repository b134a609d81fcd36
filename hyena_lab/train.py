"""Training the tiny models on the synthetic tasks (recipe of Table A.1), and their checkpoints.

The loop is the textbook one, with the paper's choices:

* AdamW (betas 0.9 / 0.98, weight decay 0.1 on weight matrices only; biases, norms and 1-D
  parameters are not decayed), learning rate with a linear warm-up and a cosine decay
  (:func:`cosine_lr`), cross-entropy on the scored positions (``IGNORE_INDEX`` elsewhere);
* a validation pass every ``eval_every`` steps; training stops early once the validation
  accuracy reaches ``target_accuracy``, or when ``time_budget`` seconds have passed; the test set
  is evaluated once, at the end (so the reported accuracy is not the one stopping was chosen on);
* everything seeded: the model's initialisation by ``torch.manual_seed(seed)``, the order of the
  batches by its own generator. Runs with the same seed and no time limit are identical.

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

Checkpoints (:func:`save_checkpoint`, :func:`load_checkpoint`) hold only tensors and plain
values, are written to a temporary file in the target folder then moved into place with
``os.replace`` (a crash never leaves a half-written checkpoint), and are read back with
``torch.load(weights_only=True)`` (no arbitrary code runs on loading).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .checks import check_positive_float, check_positive_int
from .mixers import MIXERS
from .models import ModelConfig, TinyLM
from .tasks import IGNORE_INDEX, TaskSplits, make_splits

__all__ = [
    "CHECKPOINT_FORMAT",
    "GRID_RECIPE",
    "RECALL_NUM_TRAIN",
    "RECALL_RECIPE",
    "RECALL_TRAIN_SCORE",
    "History",
    "TrainConfig",
    "add_recall_command",
    "cosine_lr",
    "evaluate",
    "grid_cells",
    "load_checkpoint",
    "merge_results",
    "recall_grid",
    "recall_summary",
    "run_grid_cell",
    "run_recall",
    "save_checkpoint",
    "train",
    "train_step",
]

#: Tag stored in every checkpoint, checked on loading.
CHECKPOINT_FORMAT = "hyena-lab/tinylm-v1"


@dataclass
class TrainConfig:
    """Hyper-parameters of :func:`train` (defaults: Table A.1 except where noted).

    Attributes:
        lr: peak learning rate (Table A.1: 5e-4).
        weight_decay: AdamW decay of the weight matrices (0.1).
        beta1, beta2: AdamW betas (0.9, 0.98).
        batch_size: sequences per step (32).
        max_steps: length of the cosine schedule, and the most steps taken.
        warmup_steps: linear warm-up steps (Table A.1: 10 of 200 epochs, i.e. 5%).
        grad_clip: clip the gradient norm to this value (``None``: no clipping).
        eval_every: steps between validation passes.
        target_accuracy: stop once validation accuracy >= this (``None``: never stop early).
        time_budget: stop after this many seconds of training (``None``: no limit).
        seed: seed of the initialisation and of the batch order.
    """

    lr: float = 5e-4
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.98
    batch_size: int = 32
    max_steps: int = 12_500
    warmup_steps: int = 625
    grad_clip: float | None = 1.0
    eval_every: int = 50
    target_accuracy: float | None = None
    time_budget: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        check_positive_float(self.lr, "lr")
        check_positive_float(self.weight_decay, "weight_decay", allow_zero=True)
        check_positive_int(self.batch_size, "batch_size")
        check_positive_int(self.max_steps, "max_steps")
        check_positive_int(self.warmup_steps, "warmup_steps", minimum=0)
        check_positive_int(self.eval_every, "eval_every")
        for name in ("beta1", "beta2"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must lie in [0, 1), got {getattr(self, name)}")
        if self.grad_clip is not None:
            check_positive_float(self.grad_clip, "grad_clip")
        if self.target_accuracy is not None and not 0.0 < self.target_accuracy <= 1.0:
            raise ValueError(f"target_accuracy must lie in (0, 1], got {self.target_accuracy}")
        if self.time_budget is not None:
            check_positive_float(self.time_budget, "time_budget")


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


@dataclass
class History:
    """What a training run recorded, one entry per validation pass (plain values only).

    Attributes:
        step: optimizer steps taken at each validation pass.
        seconds: training seconds elapsed at each pass.
        train_loss: mean training loss over the steps since the previous pass.
        valid_loss, valid_accuracy: loss and accuracy on the validation set.
        steps, total_seconds: totals at the end of training.
        stopped: why training ended: ``"target"``, ``"max_steps"`` or ``"time_budget"``.
        test_accuracy, test_loss: on the test set, once at the end (``None`` if not given).
    """

    step: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    valid_loss: list[float] = field(default_factory=list)
    valid_accuracy: list[float] = field(default_factory=list)
    steps: int = 0
    total_seconds: float = 0.0
    stopped: str = ""
    test_accuracy: float | None = None
    test_loss: float | None = None

    def to_dict(self) -> dict:
        """The history as a plain dict (JSON- and checkpoint-safe)."""
        return asdict(self)


def cosine_lr(step: int, config: TrainConfig) -> float:
    """Learning rate at ``step``: linear warm-up to ``lr``, then cosine decay to 0 at max_steps."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    span = max(1, config.max_steps - config.warmup_steps)
    progress = min(1.0, (step - config.warmup_steps) / span)
    return config.lr * 0.5 * (1.0 + math.cos(math.pi * progress))


def _optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on the weight matrices (ndim >= 2) only."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": config.weight_decay},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]
    # foreach: one multi-tensor kernel per update instead of a Python loop over parameters
    return torch.optim.AdamW(
        groups, lr=config.lr, betas=(config.beta1, config.beta2), foreach=True
    )


def _loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over scored positions; logits (batch, L, vocab), targets (batch, L)."""
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE_INDEX)


def train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    grad_clip: float | None = None,
) -> float:
    """One optimizer step on a batch ``(batch, L)`` of inputs and targets; returns the loss."""
    model.train()
    loss = _loss(model(inputs), targets)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip is not None:
        nn.utils.clip_grad_norm_(model.parameters(), grad_clip, foreach=True)
    optimizer.step()
    return float(loss.detach())


@torch.no_grad()
def evaluate(
    model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, batch_size: int = 256
) -> tuple[float, float]:
    """Mean loss and accuracy (argmax == target) over every scored position of a data set."""
    if inputs.shape != targets.shape:
        raise ValueError(
            f"inputs and targets must have the same shape, got {tuple(inputs.shape)} and "
            f"{tuple(targets.shape)}"
        )
    model.eval()
    device = _device_of(model)
    loss_sum, correct, scored = 0.0, 0, 0
    for i in range(0, inputs.shape[0], batch_size):
        x, y = inputs[i : i + batch_size].to(device), targets[i : i + batch_size].to(device)
        logits = model(x)
        mask = y != IGNORE_INDEX
        n = int(mask.sum())
        loss_sum += float(_loss(logits, y)) * n
        correct += int((logits.argmax(-1)[mask] == y[mask]).sum())
        scored += n
    if scored == 0:
        raise ValueError("targets score no position (all are IGNORE_INDEX = -100)")
    return loss_sum / scored, correct / scored


def _device_of(model: nn.Module) -> torch.device:
    """The device of the model's parameters (CPU for a model without any)."""
    return next(model.parameters(), torch.empty(0)).device


def train(
    model: nn.Module, data: TaskSplits, config: TrainConfig, *, progress: bool = True
) -> History:
    """Train ``model`` on ``data.train``; validate every ``eval_every`` steps; test at the end.

    The initialisation is the caller's (seed it before building the model); this function seeds
    the batch order with ``config.seed``. Training runs on the model's device (move the model
    first, e.g. ``model.cuda()``). Shows a tqdm progress bar (``progress=False`` hides it).
    """
    device = _device_of(model)
    inputs, targets = (t.to(device) for t in data.train)
    batches = _batch_indices(inputs.shape[0], config.batch_size, config.seed)
    optimizer = _optimizer(model, config)
    history = History()
    losses: list[float] = []
    start = time.perf_counter()
    bar = tqdm(total=config.max_steps, desc="train", unit="step", disable=not progress)
    step, stop = 0, ""
    while not stop:
        idx = next(batches).to(device)
        for group in optimizer.param_groups:
            group["lr"] = cosine_lr(step, config)
        losses.append(train_step(model, optimizer, inputs[idx], targets[idx], config.grad_clip))
        step += 1
        bar.update(1)
        stop = _limit_reached(step, time.perf_counter() - start, config)
        if step % config.eval_every == 0 or stop:
            valid_loss, valid_acc = evaluate(model, *data.valid)
            _record(history, step, time.perf_counter() - start, losses, valid_loss, valid_acc)
            losses = []
            bar.set_postfix(loss=f"{history.train_loss[-1]:.3f}", valid_acc=f"{valid_acc:.3f}")
            if config.target_accuracy is not None and valid_acc >= config.target_accuracy:
                stop = stop or "target"
    bar.close()
    history.steps, history.total_seconds, history.stopped = step, time.perf_counter() - start, stop
    history.test_loss, history.test_accuracy = evaluate(model, *data.test)
    return history


def _batch_indices(n: int, batch_size: int, seed: int) -> Iterator[torch.Tensor]:
    """Endless batches of example indices: a fresh seeded permutation of ``range(n)`` per epoch.

    Batches hold ``min(batch_size, n)`` indices; an epoch's incomplete last batch is dropped.
    """
    g = torch.Generator().manual_seed(seed)
    size = min(batch_size, n)
    while True:
        order = torch.randperm(n, generator=g)
        for i in range(0, n - size + 1, size):
            yield order[i : i + size]


def _limit_reached(step: int, elapsed: float, config: TrainConfig) -> str:
    """``"max_steps"`` or ``"time_budget"`` once that limit is reached, else ``""``."""
    if step >= config.max_steps:
        return "max_steps"
    if config.time_budget is not None and elapsed >= config.time_budget:
        return "time_budget"
    return ""


def _record(
    history: History, step: int, seconds: float, losses: list[float], v_loss: float, v_acc: float
) -> None:
    """Append one validation pass to ``history``."""
    history.step.append(step)
    history.seconds.append(seconds)
    history.train_loss.append(sum(losses) / max(1, len(losses)))
    history.valid_loss.append(v_loss)
    history.valid_accuracy.append(v_acc)


# ---------------------------------------------------------------------------------------------
# checkpoints


def save_checkpoint(path: str | os.PathLike, model: TinyLM, history: History | None = None) -> Path:
    """Write ``model`` (its config and weights) and ``history`` to ``path``, atomically.

    The payload goes to a temporary file in the same folder, which then replaces ``path`` with
    ``os.replace`` (atomic on POSIX and Windows): readers see the old file or the new one, never
    a partial write. Returns the path written.
    """
    if not isinstance(model, TinyLM):
        raise TypeError(f"model must be a TinyLM, got {type(model).__name__}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "model_config": model.config.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "history": None if history is None else history.to_dict(),
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | os.PathLike) -> tuple[TinyLM, History | None]:
    """Rebuild the model saved by :func:`save_checkpoint` (loaded with ``weights_only=True``)."""
    payload = torch.load(Path(path), map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a hyena-lab checkpoint (expected {CHECKPOINT_FORMAT!r})")
    model = TinyLM(ModelConfig(**payload["model_config"]))
    model.load_state_dict(payload["state_dict"])
    history = None if payload["history"] is None else History(**payload["history"])
    return model, history


# ---------------------------------------------------------------------------------------------
# the recall experiment, for notebooks and the command line


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
) -> tuple[TinyLM, History]:
    """Train a ``n_layers`` x ``d_model`` model with ``mixer`` on associative recall.

    Draws the splits with :func:`hyena_lab.tasks.make_splits` (seeded by ``seed``; ``num_train``
    training sequences scored as ``train_score`` says), seeds the initialisation, trains with
    ``config`` (default :data:`RECALL_RECIPE` with this seed) on ``device`` and returns the
    trained model (on the CPU) and its history.
    """
    config = config or TrainConfig(**{**asdict(RECALL_RECIPE), "seed": seed})
    data = make_splits(
        "recall", seq_len, vocab_size, num_train=num_train, seed=seed, train_score=train_score
    )
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
    history = train(model.to(device), data, config, progress=progress)
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


def _cmd_recall(args: argparse.Namespace) -> dict:
    """``hyena-lab recall``: train one model on recall and return its figures."""
    if args.threads is not None:
        torch.set_num_threads(check_positive_int(args.threads, "--threads"))
    config = TrainConfig(
        **{
            **asdict(RECALL_RECIPE),
            "lr": args.lr,
            "batch_size": args.batch_size,
            "max_steps": args.max_steps,
            "time_budget": args.time_budget,
            "target_accuracy": args.target_accuracy,
            "seed": args.seed,
        }
    )
    model, history = run_recall(
        args.mixer,
        args.vocab_size,
        args.seq_len,
        seed=args.seed,
        config=config,
        d_model=args.d_model,
        n_layers=args.n_layers,
        num_train=args.num_train,
        train_score=args.train_score,
        device=args.device,
    )
    if args.checkpoint:
        save_checkpoint(args.checkpoint, model, history)
    summary = recall_summary(model, history, args.vocab_size, args.seq_len, args.seed)
    return {**summary, "device": str(args.device)}


def _cmd_recall_grid(args: argparse.Namespace) -> dict:
    """``hyena-lab recall-grid``: train a grid of cells and write (or merge into) a record."""
    from .viz.recall import device_name, merge_into_record, write_record

    if bool(args.out) == bool(args.merge_into):
        raise SystemExit("recall-grid: give exactly one of --out PATH and --merge-into PATH")
    config = replace(GRID_RECIPE, max_steps=args.max_steps)
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
    :func:`hyena_lab.viz.recall.merge_into_record`).
    """
    _add_recall_grid_command(subparsers)
    r = RECALL_RECIPE
    p = subparsers.add_parser(
        "recall",
        help="train a tiny model on associative recall (paper Sec. 4.1)",
        description="Train a 2-layer model with the chosen mixer on associative recall; print "
        "its test accuracy, training seconds and steps as the last JSON line.",
    )
    p.add_argument("--mixer", choices=sorted(MIXERS), default="hyena")
    p.add_argument("--vocab-size", type=int, default=16, help="token ids, 2 specials included")
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--time-budget", type=float, default=60.0, help="seconds of training at most")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-steps", type=int, default=r.max_steps, help="length of the schedule")
    p.add_argument("--lr", type=float, default=r.lr)
    p.add_argument("--batch-size", type=int, default=r.batch_size)
    p.add_argument("--target-accuracy", type=float, default=r.target_accuracy)
    p.add_argument("--d-model", type=int, default=64)
    p.add_argument("--n-layers", type=int, default=2)
    p.add_argument("--num-train", type=int, default=RECALL_NUM_TRAIN, help="training sequences")
    p.add_argument(
        "--train-score",
        choices=["values", "all"],
        default=RECALL_TRAIN_SCORE,
        help="training loss on value positions only, or on every position (official data)",
    )
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    p.add_argument("--checkpoint", default=None, help="save the trained model here")
    p.set_defaults(func=_cmd_recall)
    return p


def _add_recall_grid_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``recall-grid`` subcommand (defaults: the grid of chapter 04)."""
    p = subparsers.add_parser(
        "recall-grid",
        help="train chapter 04's grid (mixers x vocab sizes x lengths x seeds) into a record",
        description="Train every cell with the grid recipe (the same step budget for all) and "
        "write a new record (--out) or merge the runs into an existing one (--merge-into; a run "
        "replaces the one of the same cell). Prints a JSON summary as its last line.",
    )
    p.add_argument("--mixers", nargs="+", choices=sorted(MIXERS), required=True)
    p.add_argument("--vocab-sizes", nargs="+", type=int, default=[10, 20, 30])
    p.add_argument("--seq-lens", nargs="+", type=int, default=[64, 128, 256, 512])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    p.add_argument("--max-steps", type=int, default=GRID_RECIPE.max_steps)
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    p.add_argument("--jobs", type=int, default=1, help="runs at a time (worker processes)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads per worker")
    p.add_argument("--out", default=None, help="write a new record to this JSON path")
    p.add_argument("--merge-into", default=None, help="merge the runs into this JSON record")
    p.set_defaults(func=_cmd_recall_grid)
    return p
