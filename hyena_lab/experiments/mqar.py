"""Chapter 08's experiments: multi-query associative recall (Zoology, Arora et al. 2023).

``hyena-lab mqar`` trains one tiny model on :func:`hyena_lab.tasks.mqar`; ``hyena-lab mqar-grid``
trains a width x length grid of them for several mixers and learning rates (Zoology's Figure 2,
scaled to the machine). :func:`smallest_solving_width` reads the grid: for each mixer and length,
the smallest width whose best learning rate reaches the threshold accuracy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import torch

from ..measure import environment
from ..mixers import MIXERS
from ..models import ModelConfig, TinyLM
from ..options import float_in, int_in
from ..progress import parallel_map
from ..tasks import TaskSplits, mqar
from ..train import History, TrainConfig, TrainingDiverged, train
from . import Experiment, option

__all__ = [
    "EXPERIMENTS", "SOLVED", "MQARConfig", "MQARGridConfig", "best_over_lrs", "history_fields",
    "merge_grids", "mqar_grid", "mqar_splits", "run_mqar", "smallest_solving_width", "train_tiny",
]  # fmt: skip

#: Accuracy at which a run counts as solving MQAR (Zoology's figures read ">= 99%").
SOLVED = 0.99


def _device(name: str) -> str:
    """``name`` if this machine has it; ``ValueError`` naming the fix otherwise."""
    if name not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' asked for, but this machine has no CUDA device: "
                         "use --device cpu")  # fmt: skip
    return name


@dataclass(frozen=True)
class MQARConfig:
    """One MQAR run: the task, the model, the training recipe (defaults: the chapter's CPU run)."""

    mixer: str = option("hyena", "sequence mixer", str, choices=sorted(MIXERS))
    width: int = option(64, "model width d_model", int_in(1, 8192))
    seq_len: int = option(64, "sequence length L (even, >= 4 x pairs)", int_in(4, 2**16))
    pairs: int = option(4, "key-value pairs per sequence (each queried once)", int_in(1, 4096))
    vocab_size: int = option(256, "token ids: keys from the lower half, values the upper",
                             int_in(4, 2**20))  # fmt: skip
    power_a: float = option(0.01, "power law of the query gaps (1: uniform)",
                            float_in(0.0, 100.0, open_lo=True))  # fmt: skip
    random_non_queries: bool = option(True, "fill the positions between queries with random "
                                      "tokens (else with id 0, as Zoology's Figure 2 runs do)")
    n_layers: int = option(2, "blocks", int_in(1, 64))
    mlp_ratio: int = option(4, "MLP width in units of the model width (0: no MLP, as in "
                            "Zoology's Figure 2 blocks)", int_in(0, 64))  # fmt: skip
    lr: float = option(1e-3, "peak learning rate (cosine schedule)",
                       float_in(0.0, 1.0, open_lo=True))  # fmt: skip
    batch_size: int = option(64, "sequences per step", int_in(1, 65536))
    num_train: int = option(20_000, "training sequences", int_in(1))
    num_test: int = option(1_000, "test sequences (and as many for validation)", int_in(1))
    max_steps: int = option(2_000, "length of the cosine schedule, the most steps", int_in(2))
    stop_at: float = option(SOLVED, "stop once the validation accuracy reaches this (above "
                            "0.99: a margin for the test set to read solved too)",
                            float_in(0.0, 1.0, open_lo=True))  # fmt: skip
    time_budget: float | None = option(None, "stop after this many seconds of training",
                                       float_in(0.0, open_lo=True))  # fmt: skip
    schedule: str = option("steps", "the cosine spans max_steps ('steps') or the time budget "
                           "('time': as many steps as the budget holds)", str,
                           choices=("steps", "time"))  # fmt: skip
    seed: int = option(0, "seed of the data, the initialisation and the batch order", int_in(0))
    device: str = option("cpu", "cpu or cuda", str, choices=("cpu", "cuda"))
    progress: bool = option(True, "show a progress bar")

    def __post_init__(self) -> None:
        mqar(1, self.seq_len, self.pairs, self.vocab_size, self.power_a)  # fit checks, clear errors
        if self.schedule == "time" and self.time_budget is None:
            raise ValueError("schedule 'time' spans the time budget: give --time-budget")

    def train_config(self) -> TrainConfig:
        """The training recipe: AdamW, cosine with 5% warm-up, stop at ``stop_at`` validation
        accuracy (checked every 50 steps)."""
        return TrainConfig(lr=self.lr, batch_size=self.batch_size, max_steps=self.max_steps,
                           warmup_steps=max(1, self.max_steps // 20), eval_every=50,
                           target_accuracy=self.stop_at, time_budget=self.time_budget,
                           schedule=self.schedule, seed=self.seed)  # fmt: skip


def mqar_splits(c: MQARConfig) -> TaskSplits:
    """Train, validation and test sets of ``c`` from seeds ``3 s``, ``3 s + 1``, ``3 s + 2``."""
    args = (c.seq_len, c.pairs, c.vocab_size, c.power_a)
    fill = {"random_non_queries": c.random_non_queries}
    return TaskSplits(train=mqar(c.num_train, *args, seed=3 * c.seed, **fill),
                      valid=mqar(c.num_test, *args, seed=3 * c.seed + 1, **fill),
                      test=mqar(c.num_test, *args, seed=3 * c.seed + 2, **fill),
                      task="mqar", seq_len=c.seq_len, vocab_size=c.vocab_size)  # fmt: skip


def train_tiny(c: Any, data: TaskSplits, device: str) -> tuple[TinyLM, Any]:
    """Seed, build and train the tiny model that config ``c`` describes (its ``mixer``,
    ``width``, ``n_layers``, ``mlp_ratio``, ``seq_len``, ``vocab_size``, ``seed``, ``progress``
    and ``train_config()``) on ``data``: ``(model, history)``. Attention gets one head, as in
    Zoology's runs. Shared by chapter 08's experiments."""
    torch.manual_seed(c.seed)
    args = {"num_heads": 1} if c.mixer == "attention" else {}
    model = TinyLM(ModelConfig(vocab_size=c.vocab_size, l_max=c.seq_len, mixer=c.mixer,
                               d_model=c.width, n_layers=c.n_layers, mlp_ratio=c.mlp_ratio,
                               mixer_args=args))  # fmt: skip
    return model, train(model.to(device), data, c.train_config(), progress=c.progress)


def history_fields(history: History) -> dict[str, Any]:
    """What a run's record keeps of its training: ``steps``, ``seconds``, why it ``stopped``
    and the validation curve. Shared by chapter 08's experiments."""
    curve = {"step": history.step, "valid_accuracy": history.valid_accuracy}
    return {"steps": history.steps, "seconds": round(history.total_seconds, 3),
            "stopped": history.stopped, "valid_curve": curve}  # fmt: skip


def run_mqar(c: MQARConfig) -> dict[str, Any]:
    """Train one model on MQAR; its record: the settings, ``test_accuracy`` (over every query of
    the test set), ``steps``, ``seconds``, ``params``, why it ``stopped`` and the validation
    curve. Accuracy and steps do not depend on the machine's speed unless ``time_budget`` stops
    the run."""
    device = _device(c.device)
    model, history = train_tiny(c, mqar_splits(c), device)
    return {
        "run": environment(device), "config": asdict(c), "mixer": c.mixer, "width": c.width,
        "seq_len": c.seq_len, "pairs": c.pairs, "lr": c.lr, "seed": c.seed,
        "params": model.num_params, "test_accuracy": history.test_accuracy,
        **history_fields(history),
    }  # fmt: skip


def _summary(record: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("mixer", "width", "seq_len", "pairs", "lr", "seed", "params", "test_accuracy",
            "steps", "seconds", "stopped")  # fmt: skip
    return {k: record[k] for k in keys}


@dataclass(frozen=True)
class MQARGridConfig:
    """A width x length grid for several mixers and learning rates (defaults: the chapter's CPU
    grid; Zoology's Figure 2 uses vocab 8192, (L, pairs) (64, 4) (128, 8) (256, 16), widths
    64-512, learning rates 1e-4 to 1e-2)."""

    mixers: tuple[str, ...] = option(("attention", "hyena"), "mixers", str, choices=sorted(MIXERS))
    widths: tuple[int, ...] = option((16, 32, 64), "model widths", int_in(1, 8192))
    seq_lens: tuple[int, ...] = option((32, 64), "sequence lengths", int_in(4, 2**16))
    pairs: tuple[int, ...] = option((2, 4), "pairs at each length (same count as --seq-lens)",
                                    int_in(1, 4096))  # fmt: skip
    lrs: tuple[float, ...] = option((1e-3, 3e-3), "learning rates (the best one counts)",
                                    float_in(0.0, 1.0, open_lo=True))  # fmt: skip
    vocab_size: int = option(128, "token ids", int_in(4, 2**20))
    random_non_queries: bool = option(True, "random tokens between the queries (else id 0)")
    mlp_ratio: int = option(4, "MLP width in units of the model width (0: no MLP)", int_in(0, 64))
    num_train: int = option(8_000, "training sequences per run", int_in(1))
    num_test: int = option(500, "test (and validation) sequences per run", int_in(1))
    max_steps: int = option(600, "steps per run at most", int_in(2))
    stop_at: float = option(SOLVED, "stop a run once its validation accuracy reaches this",
                            float_in(0.0, 1.0, open_lo=True))  # fmt: skip
    batch_size: int = option(64, "sequences per step", int_in(1, 65536))
    time_budget: float | None = option(None, "seconds per run at most (None: steps decide)",
                                       float_in(0.0, open_lo=True))  # fmt: skip
    schedule: str = option("steps", "each run's cosine spans max_steps ('steps') or its time "
                           "budget ('time')", str, choices=("steps", "time"))  # fmt: skip
    seed: int = option(0, "seed of every run", int_in(0))
    device: str = option("cpu", "cpu or cuda", str, choices=("cpu", "cuda"))
    jobs: int = option(1, "runs at once, in worker processes", int_in(1, 256))
    threads: int = option(1, "torch threads per worker", int_in(1, 256))

    def __post_init__(self) -> None:
        if len(self.seq_lens) != len(self.pairs):
            raise ValueError(f"--pairs needs one count per length: {len(self.seq_lens)} lengths, "
                             f"{len(self.pairs)} counts")  # fmt: skip
        self.runs()  # each run's MQARConfig checks that its pairs fit

    def runs(self) -> list[MQARConfig]:
        """Every run of the grid, lengths outermost, then mixers, widths, learning rates."""
        base = MQARConfig(vocab_size=self.vocab_size, random_non_queries=self.random_non_queries,
                          mlp_ratio=self.mlp_ratio, num_train=self.num_train,
                          num_test=self.num_test, max_steps=self.max_steps, stop_at=self.stop_at,
                          batch_size=self.batch_size, time_budget=self.time_budget,
                          schedule=self.schedule, seed=self.seed, device=self.device,
                          progress=False)  # fmt: skip
        return [replace(base, mixer=m, width=w, seq_len=L, pairs=P, lr=lr)
                for L, P in zip(self.seq_lens, self.pairs, strict=True)
                for m in self.mixers for w in self.widths for lr in self.lrs]  # fmt: skip


def mqar_grid(g: MQARGridConfig) -> dict[str, Any]:
    """Train every run of ``g``; the record: the settings, the machine, every run's summary
    (``results``) and :func:`smallest_solving_width`."""
    _device(g.device)
    results = parallel_map(_grid_run, g.runs(), jobs=g.jobs, threads=g.threads, desc="mqar")
    return {"run": environment(g.device), "config": asdict(g), "solved_at": SOLVED,
            "results": results, "smallest_width": smallest_solving_width(results)}  # fmt: skip


def _grid_run(c: MQARConfig) -> dict[str, Any]:
    """One run of a grid; a run that diverges is kept as such (``stopped: "diverged"``, no
    ``test_accuracy``, its validation curve so far) and the grid goes on."""
    try:
        record = run_mqar(c)
    except TrainingDiverged as e:
        record = {"mixer": c.mixer, "width": c.width, "seq_len": c.seq_len, "pairs": c.pairs,
                  "lr": c.lr, "seed": c.seed, "params": None, "test_accuracy": None,
                  **history_fields(e.history)}  # fmt: skip
    return {**_summary(record), "valid_curve": record["valid_curve"]}


def best_over_lrs(results: Sequence[Mapping[str, Any]]) -> dict[tuple[str, int, int], float]:
    """The best test accuracy over learning rates (and seeds) of each (mixer, seq_len, width);
    diverged runs (no ``test_accuracy``) do not count, and a cell whose runs all diverged is
    left out."""
    best: dict[tuple[str, int, int], float] = {}
    for r in results:
        if r["test_accuracy"] is None:
            continue
        key = (str(r["mixer"]), int(r["seq_len"]), int(r["width"]))
        best[key] = max(best.get(key, 0.0), float(r["test_accuracy"]))
    return best


def smallest_solving_width(
    results: Sequence[Mapping[str, Any]], threshold: float = SOLVED
) -> dict[str, dict[str, int | None]]:
    """``{mixer: {str(seq_len): smallest width reaching threshold, or None}}`` (best learning
    rate of each width; JSON keys are strings)."""
    best = best_over_lrs(results)
    out: dict[str, dict[str, int | None]] = {}
    for r in results:  # every length of every mixer, even one whose runs all diverged
        out.setdefault(str(r["mixer"]), {}).setdefault(str(r["seq_len"]), None)
    for (m, L, w), acc in sorted(best.items()):
        row = out.setdefault(m, {})
        row.setdefault(str(L), None)
        if acc >= threshold and (row[str(L)] is None or w < row[str(L)]):
            row[str(L)] = w
    return out


def merge_grids(
    parts: Mapping[str, Mapping[str, Any]], note: str, superseded: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """One grid record from grids run apart on one machine (e.g. one device call each):
    ``config`` and ``runs`` by part name, every part's ``results`` in order, the smallest
    solving widths read again over all of them, and ``note`` (how the parts were run).
    ``superseded`` keeps runs that the record does not count, with why, for the reader."""
    if not parts:
        raise ValueError("merge_grids needs at least one grid record")
    devices = {p["run"].get("device") for p in parts.values()}
    if len(devices) != 1:
        raise ValueError(f"the grids were run on different devices ({sorted(map(str, devices))}): "
                         "a merged record names one machine")  # fmt: skip
    solved_at = {p.get("solved_at", SOLVED) for p in parts.values()}
    if solved_at != {SOLVED}:
        raise ValueError(f"the grids read 'solved' at {sorted(solved_at)}, not {SOLVED}")
    results = [r for p in parts.values() for r in p["results"]]
    first = next(iter(parts.values()))
    record = {"run": first["run"], "runs": {k: p["run"] for k, p in parts.items()},
              "config": {k: p["config"] for k, p in parts.items()}, "solved_at": SOLVED,
              "results": results, "smallest_width": smallest_solving_width(results),
              "note": note}  # fmt: skip
    if superseded:
        record["superseded"] = dict(superseded)
    return record


def _grid_summary(record: Mapping[str, Any]) -> dict[str, Any]:
    return {"runs": len(record["results"]), "smallest_width": record["smallest_width"],
            "device": record["run"].get("device_name", record["run"].get("device"))}  # fmt: skip


EXPERIMENTS = (
    Experiment("mqar", "train one tiny model on multi-query associative recall (chapter 08)",
               MQARConfig, run_mqar, _summary),
    Experiment("mqar-grid", "train a width x length MQAR grid of several mixers (chapter 08)",
               MQARGridConfig, mqar_grid, _grid_summary),
)
