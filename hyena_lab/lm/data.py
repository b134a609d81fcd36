"""Tiny Shakespeare as training data for :func:`hyena_lab.train.train` (a ``BatchSource``).

The batch of step ``s`` is ``batch_size`` random windows of the training split drawn from a
generator seeded by ``(seed, s)``: the same batch on any machine, after a resume, and for every
DDP rank (each takes its rows). Losses are in nats per character.

* ``valid`` (the curve, at intervals): :data:`VALID_WINDOWS` = 256 windows of the validation
  split at offsets drawn once from :data:`VALID_SEED` (the same for every run, so curves compare),
  16,384 characters; it costs about as much as 7 training steps of batch 12.
* ``test`` (the final ``val_loss``): the *whole* validation split cut into non-overlapping
  windows (111,488 characters in 1,742 windows of 64 for Tiny Shakespeare's 111,540-character
  split): no sampling error from the choice of windows at all, so two runs are compared on the
  same text, well inside the 0.005 nats that the chapter's comparisons need. It is computed
  once, after the time budget. Each window starts without context, as nanoGPT's random
  windows do, so the figure is comparable with nanoGPT's ``val loss``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import torch

from ..checks import check_positive_int
from ..text import CharCorpus, load_corpus

__all__ = ["VALID_SEED", "VALID_WINDOWS", "TextBatches", "shakespeare", "step_generator"]

#: Windows of the validation split in the ``valid`` set (the curve).
VALID_WINDOWS = 256
#: Seed of the ``valid`` windows' offsets (fixed: every run is scored on the same windows).
VALID_SEED = 2302_10866


@lru_cache(maxsize=1)
def shakespeare() -> CharCorpus:
    """Tiny Shakespeare, checked and split 90/10 (read once per process)."""
    return load_corpus()


def step_generator(seed: int, step: int) -> torch.Generator:
    """The generator of step ``step``'s batch in a run seeded ``seed``."""
    check_positive_int(seed, "seed", minimum=0)
    check_positive_int(step, "step", minimum=0)
    return torch.Generator().manual_seed((seed * 1_000_003 + step) % 2**63)


@dataclass(eq=False)
class TextBatches:
    """Random windows of ``corpus.train`` per step; ``valid`` and ``test`` of ``corpus.val``
    (see the module docstring), each ``(inputs, targets)`` ``(windows, block_size)`` int64."""

    corpus: CharCorpus
    block_size: int = 64
    valid_windows: int = VALID_WINDOWS
    valid: tuple[torch.Tensor, torch.Tensor] = field(init=False, repr=False)
    test: tuple[torch.Tensor, torch.Tensor] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        check_positive_int(self.block_size, "block_size")
        check_positive_int(self.valid_windows, "valid_windows")
        val = self.corpus.val
        if len(val) <= self.block_size:
            raise ValueError(f"block_size={self.block_size} must be shorter than the validation "
                             f"split ({len(val)} characters)")  # fmt: skip
        g = torch.Generator().manual_seed(VALID_SEED)
        self.valid = self.corpus.get_batch("val", self.valid_windows, self.block_size, g)
        n = (len(val) - 1) // self.block_size  # whole windows whose targets exist
        starts = torch.arange(n)[:, None] * self.block_size + torch.arange(self.block_size)
        self.test = (val[starts], val[starts + 1])

    def train_batch(self, step: int, batch_size: int, seed: int) -> tuple[torch.Tensor, ...]:
        """The global batch of ``step``: ``x``, ``y`` ``(batch_size, block_size)``."""
        g = step_generator(seed, step)
        return self.corpus.get_batch("train", batch_size, self.block_size, g)
