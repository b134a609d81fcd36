"""Training the tiny models on the synthetic tasks (recipe of Table A.1) and on text: AdamW with
decay on weight matrices only, warm-up then cosine (:func:`cosine_lr`, over the steps, or
:func:`time_cosine_lr`, over a time budget), validation every ``eval_every`` steps, an early stop
at ``target_accuracy`` or ``time_budget``, the test set once at the end. Seeded (same seed, no
time limit: same run); checkpointed at intervals, at the end and on Ctrl-C/SIGTERM, resuming to
the very weights of an uninterrupted run; a non-finite loss raises :class:`TrainingDiverged`.

The data are a :class:`~hyena_lab.tasks.TaskSplits` (fixed training set, seeded epochs) or any
:class:`BatchSource` (``train_batch(step, batch_size, seed)``, e.g. random windows of a text,
:mod:`hyena_lab.lm`). Under ``torch.distributed`` (``torchrun``, DDP) each rank trains on its
slice of the same global batch, the ranks agree on the clock and on when to stop, and rank 0
alone shows progress and writes checkpoints. The recall recipe and commands are in
:mod:`hyena_lab.recall`, the language models' in :mod:`hyena_lab.lm`.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import threading
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .checkpoint import CHECKPOINT_FORMAT, load_checkpoint, save_checkpoint
from .checks import check_positive_float, check_positive_int
from .deprecation import moved
from .measure import Stopwatch
from .models import TinyLM
from .tasks import IGNORE_INDEX, TaskSplits

__all__ = [
    "CHECKPOINT_FORMAT", "SCHEDULES", "BatchSource", "History", "TrainConfig", "TrainingDiverged",
    "TrainingInterrupted", "cosine_lr", "evaluate", "learning_rate", "load_checkpoint",
    "make_optimizer", "save_checkpoint", "time_cosine_lr", "train", "train_step",
]

#: ``TrainConfig.schedule``: the cosine runs over ``max_steps`` steps or over ``time_budget``.
SCHEDULES = ("steps", "time")

#: Names that moved to :mod:`hyena_lab.recall` (still importable from here, with a warning).
__getattr__ = moved(__name__, dict.fromkeys((
    "GRID_RECIPE", "RECALL_NUM_TRAIN", "RECALL_RECIPE", "RECALL_TRAIN_SCORE",
    "add_recall_command", "grid_cells", "merge_results", "recall_grid", "recall_summary",
    "run_grid_cell", "run_recall",
), "hyena_lab.recall"))  # fmt: skip


@dataclass
class TrainConfig:
    """Hyper-parameters of :func:`train` (defaults: Table A.1); ``None`` turns a limit off."""

    lr: float = 5e-4  # peak learning rate
    weight_decay: float = 0.1  # AdamW decay of the weight matrices
    beta1: float = 0.9
    beta2: float = 0.98
    batch_size: int = 32  # sequences per step
    max_steps: int = 12_500  # length of the cosine schedule, and the most steps taken
    warmup_steps: int = 625  # linear warm-up (10 of 200 epochs: 5%)
    grad_clip: float | None = 1.0  # clip the gradient norm to this
    eval_every: int = 50  # steps between validation passes
    target_accuracy: float | None = None  # stop once validation accuracy >= this
    time_budget: float | None = None  # stop after this many seconds of training
    seed: int = 0  # of the initialisation and of the batch order
    schedule: str = "steps"  # the cosine spans max_steps ("steps") or time_budget ("time")
    min_lr_ratio: float = 0.0  # the cosine ends at min_lr_ratio * lr

    @classmethod
    def from_record(cls, recipe: Mapping[str, Any]) -> TrainConfig:
        """The config a record's ``recipe`` dict describes. Fields added after the record was
        written take their defaults, which keep the earlier behaviour (``schedule="steps"``,
        ``min_lr_ratio=0``); an unknown field is a ``ValueError`` naming it."""
        unknown = set(recipe) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"the recipe has fields TrainConfig does not know: {sorted(unknown)}")
        return cls(**recipe)

    def __post_init__(self) -> None:
        check_positive_float(self.lr, "lr")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {list(SCHEDULES)}, got {self.schedule!r}")
        if self.schedule == "time" and self.time_budget is None:
            raise ValueError("schedule='time' spans the time budget: give time_budget (seconds)")
        if not 0.0 <= self.min_lr_ratio <= 1.0:
            raise ValueError(f"min_lr_ratio must lie in [0, 1], got {self.min_lr_ratio}")
        check_positive_float(self.weight_decay, "weight_decay", allow_zero=True)
        check_positive_int(self.batch_size, "batch_size")
        check_positive_int(self.max_steps, "max_steps")
        check_positive_int(self.warmup_steps, "warmup_steps", minimum=0)
        if self.schedule == "steps" and self.warmup_steps >= self.max_steps > 1:
            raise ValueError(f"warmup_steps ({self.warmup_steps}) must be below max_steps "
                             f"({self.max_steps}): the learning rate would never reach its peak")
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


@dataclass
class History:
    """What a run recorded, one entry per validation pass; ``stopped`` says why it ended
    (``target``, ``max_steps``, ``time_budget``, ``interrupted`` or ``diverged``)."""

    step: list[int] = field(default_factory=list)  # optimizer steps at each pass
    seconds: list[float] = field(default_factory=list)  # training seconds at each pass
    train_loss: list[float] = field(default_factory=list)  # mean since the previous pass
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


def _cosine(progress: float, config: TrainConfig) -> float:
    """``lr`` at ``progress`` 0, falling on half a cosine to ``min_lr_ratio * lr`` at 1."""
    low = config.lr * config.min_lr_ratio
    return low + (config.lr - low) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def cosine_lr(step: int, config: TrainConfig) -> float:
    """Learning rate at ``step``: linear warm-up to ``lr``, then cosine decay to
    ``min_lr_ratio * lr`` (default 0) at max_steps."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    span = max(1, config.max_steps - config.warmup_steps)
    return _cosine((step - config.warmup_steps) / span, config)


def time_cosine_lr(step: int, elapsed: float, config: TrainConfig) -> float:
    """Learning rate of a run with a time budget: the cosine of :func:`cosine_lr` over the
    *seconds*, ``progress = elapsed / time_budget``, times a linear warm-up over the first
    ``warmup_steps`` steps.

    How many steps fit in a budget depends on the machine, so a schedule over steps would end
    too early (lr 0 for the rest of the budget) or too late (never annealed); over the seconds
    the run anneals exactly when the budget ends, on any machine. The warm-up stays in steps
    (it protects the first updates of AdamW, however fast they come); it is short, so the
    product hardly differs from a warm-up followed by the cosine.
    """
    budget = config.time_budget
    if budget is None:
        raise ValueError("time_cosine_lr needs config.time_budget")
    warm = min(1.0, (step + 1) / config.warmup_steps) if config.warmup_steps else 1.0
    return warm * _cosine(max(0.0, elapsed) / budget, config)


def learning_rate(step: int, elapsed: float, config: TrainConfig) -> float:
    """The learning rate of ``step`` after ``elapsed`` seconds under ``config.schedule``."""
    if config.schedule == "time":
        return time_cosine_lr(step, elapsed, config)
    return cosine_lr(step, config)


@runtime_checkable
class BatchSource(Protocol):
    """Training data drawn per step, the other kind of ``data`` that :func:`train` takes.

    ``train_batch(step, batch_size, seed)`` returns the *global* batch ``(x, y)`` of ``step``,
    each ``(batch_size, L)`` int64, the same for the same ``(seed, step)`` (so a resumed run
    continues exactly, and each DDP rank takes its slice of the same batch); ``valid`` and
    ``test`` are fixed ``(inputs, targets)`` sets, as in :class:`~hyena_lab.tasks.TaskSplits`.
    """

    valid: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]

    def train_batch(
        self, step: int, batch_size: int, seed: int
    ) -> tuple[torch.Tensor, torch.Tensor]: ...


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on the weight matrices (ndim >= 2) only: the optimizer
    :func:`train` builds, for loops of one's own around :func:`train_step`."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": config.weight_decay},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]
    # foreach: one multi-tensor kernel per update instead of a Python loop over parameters
    return torch.optim.AdamW(groups, lr=config.lr, betas=(config.beta1, config.beta2), foreach=True)


def _loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over scored positions; logits (batch, L, vocab), targets (batch, L)."""
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE_INDEX)


def _scored_logits(
    model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and targets of the scored positions only, ``(n, vocab)`` and ``(n,)``: through
    ``model(inputs, scored=mask)``, for a model that offers it (``scores_positions``, e.g.
    :class:`~hyena_lab.models.TinyLM`; DDP passes the keyword on). The loss and the accuracy
    are those of the full logits, to round-off."""
    mask = targets != IGNORE_INDEX
    return model(inputs, scored=mask), targets[mask]


def _scores_positions(model: nn.Module) -> bool:
    return bool(getattr(getattr(model, "module", model), "scores_positions", False))


def train_step(
    model: nn.Module, optimizer: torch.optim.Optimizer, inputs: torch.Tensor,
    targets: torch.Tensor, grad_clip: float | None = None,
) -> float:  # fmt: skip
    """One optimizer step on a batch ``(batch, L)`` of inputs and targets; returns the loss."""
    model.train()
    if _scores_positions(model):
        logits, scored = _scored_logits(model, inputs, targets)  # (n, vocab), (n,)
        # the mean over scored positions, as _loss (NaN for a batch that scores nothing)
        loss = F.cross_entropy(logits, scored) if scored.numel() else logits.sum() * float("nan")
    else:
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
        raise ValueError(f"inputs and targets must have the same shape, got "
                         f"{tuple(inputs.shape)} and {tuple(targets.shape)}")
    model.eval()
    device = _device_of(model)
    loss_sum, correct, scored = 0.0, 0, 0
    for i in range(0, inputs.shape[0], batch_size):
        x, y = inputs[i : i + batch_size].to(device), targets[i : i + batch_size].to(device)
        if _scores_positions(model):
            logits, y = _scored_logits(model, x, y)  # (n, vocab), (n,)
        else:
            logits, y = model(x)[y != IGNORE_INDEX], y[y != IGNORE_INDEX]
        n = y.numel()
        if n:
            loss_sum += float(F.cross_entropy(logits, y, reduction="sum"))
            correct += int((logits.argmax(-1) == y).sum())
        scored += n
    if scored == 0:
        raise ValueError("targets score no position (all are IGNORE_INDEX = -100)")
    return loss_sum / scored, correct / scored


def _device_of(model: nn.Module) -> torch.device:
    """The device of the model's parameters (CPU for a model without any)."""
    return next(model.parameters(), torch.empty(0)).device


class TrainingInterrupted(KeyboardInterrupt):
    """Raised by :func:`train` after a Ctrl-C (SIGINT) or SIGTERM, once the run is saved:
    ``history`` (so far), ``checkpoint`` (where it was saved, or ``None``), ``signal_name``."""

    def __init__(self, message: str, history: History, checkpoint: Path | None, signal_name: str):
        super().__init__(message)
        self.history, self.checkpoint, self.signal_name = history, checkpoint, signal_name


class TrainingDiverged(RuntimeError):
    """Raised by :func:`train` on a non-finite training loss (``history`` attached)."""

    def __init__(self, message: str, history: History):
        super().__init__(message)
        self.history = history


@contextlib.contextmanager
def _stop_requests() -> Iterator[list[str]]:
    """Turn the first SIGINT/SIGTERM into a request (the loop saves, stops), yielding the signals
    so far; a second Ctrl-C interrupts at once. Main thread only (Python delivers signals there)."""
    received: list[str] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def request(signum: int, frame: object) -> None:
        name = signal.Signals(signum).name
        if received and signum == signal.SIGINT:
            raise KeyboardInterrupt  # asked twice: stop now
        received.append(name)

    old = {s: signal.signal(s, request) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def _rng_states() -> dict:
    """The global generators' states (torch CPU, and CUDA once initialised)."""
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else []
    return {"torch": torch.get_rng_state(), "cuda": cuda}


def _world() -> tuple[int, int]:
    """``(rank, world_size)`` of this process: ``(0, 1)`` unless torch.distributed is running."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _global_batches(
    data: TaskSplits | BatchSource, config: TrainConfig, start: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The global batch of every step from ``start`` on: seeded epochs over a TaskSplits'
    training set, or ``data.train_batch(step, batch_size, seed)``."""
    if isinstance(data, TaskSplits):
        inputs, targets = data.train
        for idx in _batch_indices(inputs.shape[0], config.batch_size, config.seed, start=start):
            yield inputs[idx], targets[idx]
    elif isinstance(data, BatchSource):
        step = start
        while True:
            yield data.train_batch(step, config.batch_size, config.seed)
            step += 1
    else:
        raise TypeError(f"data must be a TaskSplits or a BatchSource (train_batch, valid, test), "
                        f"got {type(data).__name__}")  # fmt: skip


def _agree(values: list[float], world: int, device: torch.device) -> list[float]:
    """The mean of ``values`` over the ranks (each rank gets the same numbers); as is alone."""
    if world == 1:
        return values
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)  # sum over ranks
    return (t / world).tolist()


def train(
    model: nn.Module, data: TaskSplits | BatchSource, config: TrainConfig, *,
    progress: bool = True, checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int | None = None, resume: Mapping[str, object] | None = None,
    run: Mapping[str, object] | None = None,
) -> History:  # fmt: skip
    """Train ``model`` on ``data`` on its device; validate every ``eval_every`` steps, test at
    the end; ``config.seed`` seeds the batch order (the caller, the initialisation). ``data`` is
    a :class:`~hyena_lab.tasks.TaskSplits` or a :class:`BatchSource`. A non-finite loss raises
    :class:`TrainingDiverged` (nothing more is saved).

    With ``checkpoint`` (a TinyLM only) the run and ``run`` (what re-makes the data) are saved
    every ``checkpoint_every`` steps (default ``eval_every``), at the end, and on Ctrl-C or
    SIGTERM, which finish the step, save and raise :class:`TrainingInterrupted` (a second Ctrl-C
    stops at once). ``resume``, a checkpoint's payload whose weights are in ``model``, continues
    with its step, optimizer, losses, seconds and generators: exactly the uninterrupted steps.

    Under ``torch.distributed`` (every rank calls ``train`` with the same arguments) the model
    is wrapped in DistributedDataParallel: rank ``r`` of ``W`` trains on rows ``[r B/W, (r+1)
    B/W)`` of the global batch of ``B = batch_size`` (so ``B`` must be a multiple of ``W``) and
    DDP averages the gradients, which is the gradient of the whole batch. The ranks average
    their losses and clocks once a step, so that they use the same learning rate and stop at
    the same step; rank 0 alone shows the bar and writes checkpoints.
    """
    if checkpoint is not None and not isinstance(model, TinyLM):
        raise TypeError(f"checkpoints need a TinyLM, got {type(model).__name__}")
    every = check_positive_int(checkpoint_every or config.eval_every, "checkpoint_every")
    rank, world = _world()
    if config.batch_size % world:
        raise ValueError(f"batch_size ({config.batch_size}) must be a multiple of the {world} "
                         "processes: each trains on an equal slice of the batch")  # fmt: skip
    device = _device_of(model)
    net = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        ids = [device] if device.type == "cuda" else None
        net = DistributedDataParallel(model, device_ids=ids)  # broadcasts rank 0's weights
    optimizer = make_optimizer(model, config)
    history, step, losses, seconds_before = History(), 0, [], 0.0
    if resume is not None:
        state = resume["train_state"]
        history = History(**resume["history"])
        step, losses, seconds_before = state["step"], list(state["losses"]), state["seconds"]
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng"]["torch"])
        if state["rng"].get("cuda") and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
    batches = _global_batches(data, config, start=step)
    share = config.batch_size // world  # rows of the global batch that this rank trains on
    clock = Stopwatch(offset=seconds_before)  # a resumed run counts its earlier seconds
    now = seconds_before  # seconds at the end of the last step (agreed by the ranks)

    def save() -> None:
        if checkpoint is None or rank != 0:
            return
        state = {"step": step, "seconds": now, "losses": list(losses),
                 "optimizer": optimizer.state_dict(), "config": asdict(config),
                 "rng": _rng_states()}  # fmt: skip
        save_checkpoint(checkpoint, model, history, train_state=state, run=dict(run or {}))

    total = None if config.schedule == "time" else config.max_steps
    bar = tqdm(total=total, initial=step, desc="train", unit="step",
               disable=not progress or rank != 0)  # fmt: skip

    def end(why: str) -> History:
        bar.close()
        history.steps, history.total_seconds, history.stopped = step, now, why
        return history

    stop = ""
    with _stop_requests() as signals:
        while not stop:
            x, y = next(batches)
            x = x[rank * share : (rank + 1) * share].to(device)
            y = y[rank * share : (rank + 1) * share].to(device)
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(step, now, config)
            loss = train_step(net, optimizer, x, y, config.grad_clip)
            step += 1
            bar.update(1)
            loss, now, asked = _agree([loss, clock.elapsed(), float(bool(signals))], world,
                                      device)  # fmt: skip
            if not math.isfinite(loss):
                raise TrainingDiverged(
                    f"the training loss became {loss} at step {step} (peak lr {config.lr:g}): "
                    "the run diverged; lower the learning rate", end("diverged"),
                )  # fmt: skip
            losses.append(loss)
            stop = _limit_reached(step, now, config)
            if step % config.eval_every == 0 or stop:
                valid_loss, valid_acc = evaluate(model, *data.valid)
                history.step.append(step)
                history.seconds.append(now)
                history.train_loss.append(sum(losses) / max(1, len(losses)))
                history.valid_loss.append(valid_loss)
                history.valid_accuracy.append(valid_acc)
                losses = []
                bar.set_postfix(loss=f"{history.train_loss[-1]:.3f}", valid_acc=f"{valid_acc:.3f}")
                if config.target_accuracy is not None and valid_acc >= config.target_accuracy:
                    stop = stop or "target"
            if asked and not stop:
                name = signals[0] if signals else "SIGTERM"  # another rank was asked
                end("interrupted")
                save()
                where = f"saved to {checkpoint}" if checkpoint is not None else "not saved"
                raise TrainingInterrupted(
                    f"{name} at step {step}: the run is {where}", history,
                    None if checkpoint is None else Path(checkpoint), name,
                )
            if step % every == 0 and not stop:
                save()
    end(stop)
    history.test_loss, history.test_accuracy = evaluate(model, *data.test)
    save()
    return history


def _batch_indices(n: int, batch_size: int, seed: int, start: int = 0) -> Iterator[torch.Tensor]:
    """Endless batches of ``min(batch_size, n)`` example indices, a fresh seeded permutation of
    ``range(n)`` per epoch (its incomplete last batch dropped); ``start`` skips that many."""
    g = torch.Generator().manual_seed(seed)
    size = min(batch_size, n)
    per_epoch = n // size
    for _ in range(start // per_epoch):  # the epochs already done: draw their permutations
        torch.randperm(n, generator=g)
    skip = start % per_epoch
    while True:
        order = torch.randperm(n, generator=g)
        for i in range(skip * size, n - size + 1, size):
            yield order[i : i + size]
        skip = 0


def _limit_reached(step: int, elapsed: float, config: TrainConfig) -> str:
    """``"max_steps"`` or ``"time_budget"`` once that limit is reached, else ``""``."""
    if step >= config.max_steps:
        return "max_steps"
    if config.time_budget is not None and elapsed >= config.time_budget:
        return "time_budget"
    return ""
