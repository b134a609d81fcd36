"""Character-level Tiny Shakespeare (chapter 07): the text, its vocabulary and its batches.

The corpus of nanoGPT's ``shakespeare_char`` (Karpathy's char-rnn ``input.txt``: 1,115,394
characters, 65 distinct), shipped with the package and checked by its sha256. As nanoGPT's
``data/shakespeare_char/prepare.py`` does, the vocabulary is the sorted set of characters, the
first 90% of the encoded text is ``train`` and the last 10% ``val``; a batch is ``batch_size``
random windows ``x`` of ``block_size`` characters and ``y``, the same windows one character later.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch

from .checks import check_ndim, check_positive_float, check_positive_int

__all__ = [
    "TINY_SHAKESPEARE_PATH", "TINY_SHAKESPEARE_SHA256", "CharCorpus", "CharVocab", "load_corpus",
    "load_text",
]

#: The shipped copy of Tiny Shakespeare and its sha256 (of the bytes, UTF-8, ``\n`` line ends).
TINY_SHAKESPEARE_PATH = Path(__file__).resolve().parent / "data" / "tinyshakespeare.txt"
TINY_SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"

Split = Literal["train", "val"]


def load_text(path: str | Path | None = None) -> str:
    """Tiny Shakespeare as one string, read from the shipped file (or ``path``).

    Raises ``FileNotFoundError`` if the file is missing and ``ValueError`` if its sha256 is not
    :data:`TINY_SHAKESPEARE_SHA256` (a truncated, edited or re-encoded copy).
    """
    path = TINY_SHAKESPEARE_PATH if path is None else Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Tiny Shakespeare not found at {path}")
    raw = path.read_bytes()
    found = hashlib.sha256(raw).hexdigest()
    if found != TINY_SHAKESPEARE_SHA256:
        raise ValueError(
            f"{path} is not Tiny Shakespeare ({len(raw):,} bytes): expected sha256 "
            f"{TINY_SHAKESPEARE_SHA256}, found {found} (a corrupt, truncated or edited copy)"
        )
    return raw.decode("utf-8")


@dataclass(frozen=True)
class CharVocab:
    """One id per character: id ``i`` is ``chars[i]``, ``chars`` sorted and without repeats."""

    chars: str
    _ids: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.chars or list(self.chars) != sorted(set(self.chars)):
            raise ValueError(
                f"chars must be non-empty, sorted and without repeats, got {self.chars!r}; "
                "build the vocabulary with CharVocab.from_text(text)"
            )
        object.__setattr__(self, "_ids", {c: i for i, c in enumerate(self.chars)})

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        """The vocabulary of the sorted set of characters of ``text``."""
        return cls("".join(sorted(set(text))))

    @property
    def size(self) -> int:
        """Number of characters (65 for Tiny Shakespeare)."""
        return len(self.chars)

    def encode(self, text: str) -> torch.Tensor:
        """The ids of ``text``, an int64 tensor (len(text),); ``ValueError`` on an unknown char."""
        try:
            return torch.tensor([self._ids[c] for c in text], dtype=torch.long)
        except KeyError as e:
            c = e.args[0]
            raise ValueError(
                f"character {c!r} at position {text.index(c)} is not in the vocabulary "
                f"of {self.size} characters"
            ) from None

    def decode(self, ids: torch.Tensor | Sequence[int]) -> str:
        """The text of ``ids`` (an integer tensor (n,) or a sequence of ints in [0, size))."""
        if not isinstance(ids, torch.Tensor):
            try:
                ids = torch.tensor([operator.index(i) for i in ids], dtype=torch.long)
            except TypeError as e:
                raise TypeError(f"ids must be a sequence of ints: {e}") from None
        if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
            raise TypeError(f"ids must be an integer tensor, got dtype {ids.dtype}")
        check_ndim(ids, "ids", 1, "(n,)")
        bad = ((ids < 0) | (ids >= self.size)).nonzero()
        if len(bad):
            pos = int(bad[0])
            raise ValueError(
                f"id {int(ids[pos])} at position {pos} is outside the vocabulary [0, {self.size})"
            )
        return "".join(map(self.chars.__getitem__, ids.tolist()))


@dataclass(frozen=True, eq=False)
class CharCorpus:
    """A text encoded once: ``train`` (first part) and ``val`` (the rest), int64 tensors (n,)."""

    vocab: CharVocab
    train: torch.Tensor
    val: torch.Tensor

    @classmethod
    def from_text(cls, text: str, val_fraction: float = 0.1) -> CharCorpus:
        """Encode ``text``; the first ``int(n * (1 - val_fraction))`` characters are ``train``."""
        check_positive_float(val_fraction, "val_fraction")
        if val_fraction >= 1:
            raise ValueError(f"val_fraction must be < 1, got {val_fraction}")
        vocab = CharVocab.from_text(text)
        data = vocab.encode(text)  # (n,)
        n_train = int(len(data) * (1 - val_fraction))
        if not 0 < n_train < len(data):
            raise ValueError(
                f"val_fraction={val_fraction} of a text of {len(data)} characters leaves an "
                f"empty split (train {n_train}, val {len(data) - n_train})"
            )
        return cls(vocab, data[:n_train], data[n_train:])

    def get_batch(
        self, split: Split, batch_size: int, block_size: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``batch_size`` random windows of ``split``: ``x`` and ``y`` (batch, block_size) int64.

        ``y[b, t] = x[b, t + 1]``: the character that follows ``x[b, :t + 1]``. The offsets come
        from ``generator``, so a seeded generator gives the same batches on any machine.
        """
        if split not in ("train", "val"):
            raise ValueError(f"split must be 'train' or 'val', got {split!r}")
        check_positive_int(batch_size, "batch_size")
        check_positive_int(block_size, "block_size")
        if not isinstance(generator, torch.Generator):
            raise TypeError(
                "generator must be a torch.Generator (e.g. torch.Generator().manual_seed(0)), "
                f"got {type(generator).__name__}"
            )
        data = self.train if split == "train" else self.val
        if block_size >= len(data):
            raise ValueError(
                f"block_size={block_size} must be smaller than the {split!r} split "
                f"({len(data)} characters): a window and its target need block_size + 1"
            )
        start = torch.randint(len(data) - block_size, (batch_size, 1), generator=generator)
        idx = start + torch.arange(block_size)  # (batch, block_size)
        return data[idx], data[idx + 1]


def load_corpus(val_fraction: float = 0.1, path: str | Path | None = None) -> CharCorpus:
    """Tiny Shakespeare (:func:`load_text`) encoded and split into ``train`` and ``val``."""
    return CharCorpus.from_text(load_text(path), val_fraction)
