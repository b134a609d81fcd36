"""Chapter 08's majority and counting runs: the paper's mechanistic tasks of App. A.1.

:func:`hyena_lab.tasks.majority` asks for the most frequent symbol of the sequence,
:func:`hyena_lab.tasks.counting` for how many times the query symbol occurred; only the answer at
the last position is scored. Unlike recall (Sec. 4.1), which needs many key-value associations,
both need one *accumulated* state: a tally over the whole sequence. ``hyena-lab synthetic`` trains
one tiny model on one of them with the recipe of :mod:`hyena_lab.experiments.mqar` and records its
test accuracy beside ``chance``, the accuracy of always giving the test set's most common answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch

from ..measure import environment
from ..mixers import MIXERS
from ..options import float_in, int_in
from ..tasks import MAX_TEST_OVERLAP, TaskSplits, counting, majority, split_overlap
from ..train import TrainConfig
from . import Experiment, option
from .mqar import SOLVED, _device, history_fields, train_tiny

__all__ = ["EXPERIMENTS", "SYNTHETIC_TASKS", "SyntheticConfig", "chance_accuracy",
           "run_synthetic", "synthetic_splits"]  # fmt: skip

#: The tasks this experiment trains on, by name (paper App. A.1).
SYNTHETIC_TASKS = ("counting", "majority")


@dataclass(frozen=True)
class SyntheticConfig:
    """One majority or counting run: the task, the model, the training recipe (defaults: chapter
    08's runs, 10 to 25 seconds each on one CPU thread)."""

    task: str = option("majority", "majority (most frequent symbol) or counting (occurrences "
                       "of the query)", str, choices=SYNTHETIC_TASKS)  # fmt: skip
    mixer: str = option("hyena", "sequence mixer", str, choices=sorted(MIXERS))
    width: int = option(32, "model width d_model", int_in(1, 8192))
    seq_len: int = option(32, "sequence length L, the prompt (and counting's query) included",
                          int_in(2, 2**16))  # fmt: skip
    vocab_size: int = option(12, "token ids, the 2 special tokens included (counting: numerals "
                             "0..max_count, then the symbols)", int_in(4, 2**20))  # fmt: skip
    max_count: int | None = option(None, "counting only: the largest count (default: half the "
                                   "ordinary ids are numerals)", int_in(1, 2**20))  # fmt: skip
    n_layers: int = option(2, "blocks", int_in(1, 64))
    mlp_ratio: int = option(4, "MLP width in units of the model width (0: no MLP)", int_in(0, 64))
    lr: float = option(1e-2, "peak learning rate (cosine schedule)",
                       float_in(0.0, 1.0, open_lo=True))  # fmt: skip
    batch_size: int = option(64, "sequences per step", int_in(1, 65536))
    num_train: int = option(10_000, "training sequences", int_in(1))
    num_test: int = option(1_000, "test sequences (and as many for validation)", int_in(1))
    max_steps: int = option(800, "length of the cosine schedule, the most steps", int_in(2))
    time_budget: float | None = option(None, "stop after this many seconds of training",
                                       float_in(0.0, open_lo=True))  # fmt: skip
    seed: int = option(0, "seed of the data, the initialisation and the batch order", int_in(0))
    device: str = option("cpu", "cpu or cuda", str, choices=("cpu", "cuda"))
    progress: bool = option(True, "show a progress bar")

    def __post_init__(self) -> None:
        if self.task not in SYNTHETIC_TASKS:
            raise ValueError(f"task must be one of {list(SYNTHETIC_TASKS)}, got {self.task!r}")
        if self.mixer not in MIXERS:
            raise ValueError(f"mixer must be one of {sorted(MIXERS)}, got {self.mixer!r}")
        if self.task != "counting" and self.max_count is not None:
            raise ValueError(f"max_count is counting's option; task {self.task!r} takes none")
        if self.task == "counting" and self.max_count is None and self.vocab_size < 6:
            raise ValueError(
                f"vocab_size must be >= 6 for counting (2 special tokens, at least "
                f"the numerals 0 and 1, at least 2 symbols), got {self.vocab_size}"
            )
        _draw(self, 1, 0)  # the generator's fit checks, clear errors before any training

    def train_config(self) -> TrainConfig:
        """AdamW, cosine with 5% warm-up, stop at 99% validation accuracy (every 50 steps)."""
        return TrainConfig(lr=self.lr, batch_size=self.batch_size, max_steps=self.max_steps,
                           warmup_steps=max(1, self.max_steps // 20), eval_every=50,
                           target_accuracy=SOLVED, time_budget=self.time_budget,
                           seed=self.seed)  # fmt: skip


def _draw(c: SyntheticConfig, num_examples: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``num_examples`` sequences of ``c.task``: ``(inputs, targets)``, each ``(n, seq_len)``."""
    if c.task == "counting":
        return counting(num_examples, c.seq_len, c.vocab_size, seed, max_count=c.max_count)
    return majority(num_examples, c.seq_len, c.vocab_size, seed)


def synthetic_splits(c: SyntheticConfig) -> TaskSplits:
    """Train, validation and test sets of ``c`` from seeds ``3 s``, ``3 s + 1``, ``3 s + 2``;
    ``ValueError`` if more than :data:`~hyena_lab.tasks.MAX_TEST_OVERLAP` of the test inputs
    also occur among the training inputs (the accuracy would measure memorisation)."""
    train_set = _draw(c, c.num_train, 3 * c.seed)
    valid, test = _draw(c, c.num_test, 3 * c.seed + 1), _draw(c, c.num_test, 3 * c.seed + 2)
    test_overlap = split_overlap(train_set[0], test[0])
    if test_overlap > MAX_TEST_OVERLAP:
        raise ValueError(f"{c.task} with vocab_size={c.vocab_size}, seq_len={c.seq_len}: "
                         f"{test_overlap:.0%} of the test sequences also occur in training "
                         f"(limit {MAX_TEST_OVERLAP:.0%}); use a larger vocab_size or seq_len "
                         "(or fewer training sequences)")  # fmt: skip
    return TaskSplits(train=train_set, valid=valid, test=test, task=c.task, seq_len=c.seq_len,
                      vocab_size=c.vocab_size, test_overlap=test_overlap,
                      valid_overlap=split_overlap(train_set[0], valid[0]))  # fmt: skip


def chance_accuracy(targets: torch.Tensor) -> float:
    """The accuracy of always giving the most common answer ``targets[:, -1]`` of ``targets``
    ``(n, L)``: majority's most frequent winner, counting's most frequent count."""
    if targets.ndim != 2 or targets.shape[0] == 0:
        raise ValueError(
            f"targets must be (num_examples >= 1, seq_len), got {tuple(targets.shape)}"
        )
    answers = targets[:, -1]  # (n,) the only scored position
    return float(torch.unique(answers, return_counts=True)[1].max()) / answers.numel()


def run_synthetic(c: SyntheticConfig) -> dict[str, Any]:
    """Train one model on ``c.task``; its record: the settings, ``test_accuracy`` (last
    position of every test sequence), ``chance`` (:func:`chance_accuracy` of the test set),
    ``test_overlap``, ``steps``, ``seconds``, ``params``, why it ``stopped`` and the validation
    curve. Accuracy and steps do not depend on the machine's speed unless ``time_budget`` stops
    the run."""
    device = _device(c.device)
    data = synthetic_splits(c)
    model, history = train_tiny(c, data, device)
    return {
        "run": environment(device), "config": asdict(c), "task": c.task, "mixer": c.mixer,
        "width": c.width, "seq_len": c.seq_len, "vocab_size": c.vocab_size, "seed": c.seed,
        "params": model.num_params, "test_accuracy": history.test_accuracy,
        "chance": chance_accuracy(data.test[1]), "test_overlap": data.test_overlap,
        **history_fields(history),
    }  # fmt: skip


def _summary(record: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("task", "mixer", "width", "seq_len", "vocab_size", "seed", "params", "test_accuracy",
            "chance", "steps", "seconds", "stopped")  # fmt: skip
    return {k: record[k] for k in keys}


EXPERIMENTS = (
    Experiment(
        "synthetic",
        "train one tiny model on majority or counting (App. A.1, chapter 08)",
        SyntheticConfig,
        run_synthetic,
        _summary,
    ),
)
