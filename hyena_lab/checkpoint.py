"""Checkpoints of the tiny models: the weights, and everything that resumes their training.

A checkpoint is one ``torch.save`` file holding only tensors and plain values (read back with
``torch.load(weights_only=True)``: no code runs on loading), written atomically
(:func:`hyena_lab.files.write_atomic`). Its keys:

* ``format``: :data:`CHECKPOINT_FORMAT`, checked on loading;
* ``model_config`` and ``state_dict``: what rebuilds the :class:`~hyena_lab.models.TinyLM`;
* ``history``: the :class:`~hyena_lab.train.History` so far (or ``None``);
* ``train_state`` (or ``None``): what continues training exactly where it stopped: the step,
  the optimizer's state, the :class:`~hyena_lab.train.TrainConfig`, the training losses since
  the last validation pass, the seconds trained and the random number generators' states;
* ``run`` (or ``None``): what re-makes the data, e.g. ``{"task": "recall", "vocab_size": 16,
  ...}`` (:func:`hyena_lab.train.resume_recall` reads it).

A run resumed from a checkpoint takes the same batches, learning rates and optimizer updates as
one that never stopped, so with a step budget it ends with bit-identical weights (a time budget
may cut it at another step).
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from .files import check_new_file, write_atomic
from .models import ModelConfig, TinyLM

__all__ = [
    "CHECKPOINT_FORMAT",
    "check_checkpoint_path",
    "is_checkpoint",
    "load_checkpoint",
    "read_checkpoint",
    "save_checkpoint",
]

#: Tag stored in every checkpoint, checked on loading (v1: weights and history only).
CHECKPOINT_FORMAT = "hyena-lab/tinylm-v2"
_READABLE = ("hyena-lab/tinylm-v1", CHECKPOINT_FORMAT)
# What torch.load raises on a file that is empty, truncated or not a torch file at all.
_NOT_TORCH = (EOFError, RuntimeError, pickle.UnpicklingError, UnicodeDecodeError,
              zipfile.BadZipFile, ValueError, KeyError, AttributeError, OSError)  # fmt: skip


def save_checkpoint(
    path: str | os.PathLike,
    model: TinyLM,
    history: Any = None,
    *,
    train_state: dict | None = None,
    run: dict | None = None,
) -> Path:
    """Write ``model`` (config and weights), ``history`` and, to resume training, its
    ``train_state`` and ``run`` to ``path``, atomically; return the path written.

    ``history`` is a :class:`~hyena_lab.train.History` (or ``None``). A model whose weights are
    not all finite is refused (``ValueError``): a diverged run must not replace a good
    checkpoint.
    """
    if not isinstance(model, TinyLM):
        raise TypeError(f"model must be a TinyLM, got {type(model).__name__}")
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise ValueError(f"refusing to save non-finite weights ({', '.join(bad[:3])}, ...)")
    payload = {
        "format": CHECKPOINT_FORMAT,
        "model_config": model.config.to_dict(),
        "state_dict": state,
        "history": None if history is None else history.to_dict(),
        "train_state": train_state,
        "run": run,
    }
    buf = io.BytesIO()
    torch.save(payload, buf)
    return write_atomic(path, buf.getvalue())


def read_checkpoint(path: str | os.PathLike) -> dict:
    """The payload of a checkpoint, checked; ``ValueError`` if ``path`` is not a hyena-lab
    checkpoint (empty, truncated, another file type or another format)."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not a hyena-lab checkpoint")
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except PermissionError:
        raise
    except _NOT_TORCH as err:
        raise ValueError(
            f"{path} is not a hyena-lab checkpoint (empty, truncated or another kind of file: "
            f"{type(err).__name__})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") not in _READABLE:
        raise ValueError(f"{path} is not a hyena-lab checkpoint (expected {CHECKPOINT_FORMAT!r})")
    missing = {"model_config", "state_dict", "history"} - set(payload)
    if missing:
        raise ValueError(f"{path} is an incomplete hyena-lab checkpoint: no {sorted(missing)}")
    payload.setdefault("train_state", None)
    payload.setdefault("run", None)
    return payload


def is_checkpoint(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a readable hyena-lab checkpoint."""
    try:
        read_checkpoint(path)
    except (ValueError, FileNotFoundError):
        return False
    return True


def load_checkpoint(path: str | os.PathLike) -> tuple[TinyLM, Any]:
    """Rebuild the model saved by :func:`save_checkpoint` and its history (or ``None``)."""
    from .train import History

    payload = read_checkpoint(path)
    try:
        model = TinyLM(ModelConfig(**payload["model_config"]))
        model.load_state_dict(payload["state_dict"])
        history = None if payload["history"] is None else History(**payload["history"])
    except (TypeError, RuntimeError) as err:
        raise ValueError(f"{path}: the checkpoint does not fit this version: {err}") from None
    return model, history


def check_checkpoint_path(
    path: str | os.PathLike, *, overwrite: bool = False, resuming: str | os.PathLike | None = None
) -> Path:
    """Check, before training, that a checkpoint may be written to ``path``.

    Refused (``ValueError``, saying how to proceed): a folder; a folder that cannot be written;
    an existing file that is not a hyena-lab checkpoint (``overwrite=True`` replaces it); an
    existing checkpoint of another run (``overwrite=True`` replaces it; the run being resumed,
    ``resuming``, may always be written).
    """
    path = check_new_file(path, "checkpoint")
    if not path.exists() or overwrite:
        return path
    if resuming is not None and path.resolve() == Path(resuming).resolve():
        return path
    if is_checkpoint(path):
        raise ValueError(
            f"checkpoint {path} already exists: resume it with --resume {path}, or replace it "
            "with --overwrite"
        )
    raise ValueError(
        f"{path} exists and is not a hyena-lab checkpoint: refusing to overwrite it (choose "
        "another path, or --overwrite to replace it)"
    )
