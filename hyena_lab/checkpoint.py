"""Checkpoints of the tiny models: one ``torch.save`` file of tensors and plain values (loaded
with ``weights_only=True``), written atomically, with keys ``format`` (:data:`CHECKPOINT_FORMAT`),
``model_config`` and ``state_dict`` (the TinyLM), ``history``, ``train_state`` (step, optimizer,
TrainConfig, losses since the last validation, seconds, generator states: what resumes training
bit for bit) and ``run`` (what re-makes the data); the last three may be ``None``.
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

__all__ = ["CHECKPOINT_FORMAT", "check_checkpoint_path", "is_checkpoint", "load_checkpoint",
           "read_checkpoint", "save_checkpoint"]  # fmt: skip

#: Tag stored in every checkpoint, checked on loading (v1: weights and history only).
CHECKPOINT_FORMAT = "hyena-lab/tinylm-v2"
_READABLE = ("hyena-lab/tinylm-v1", CHECKPOINT_FORMAT)
# What torch.load raises on a file that is empty, truncated or not a torch file at all.
_NOT_TORCH = (EOFError, RuntimeError, pickle.UnpicklingError, UnicodeDecodeError,
              zipfile.BadZipFile, ValueError, KeyError, AttributeError, OSError)  # fmt: skip


def save_checkpoint(
    path: str | os.PathLike, model: TinyLM, history: Any = None, *,
    train_state: dict | None = None, run: dict | None = None,
) -> Path:  # fmt: skip
    """Write ``model``, its History (or ``None``) and, to resume, ``train_state`` and ``run`` to
    ``path`` atomically; return the path. Non-finite weights raise ``ValueError``: a diverged run
    never replaces a good checkpoint."""
    if not isinstance(model, TinyLM):
        raise TypeError(f"model must be a TinyLM, got {type(model).__name__}")
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise ValueError(f"refusing to save non-finite weights ({', '.join(bad[:3])}, ...)")
    payload = {"format": CHECKPOINT_FORMAT, "model_config": model.config.to_dict(),
               "state_dict": state, "history": None if history is None else history.to_dict(),
               "train_state": train_state, "run": run}  # fmt: skip
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
        raise ValueError(f"{path} is not a hyena-lab checkpoint (empty, truncated or another kind "
                         f"of file: {type(err).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") not in _READABLE:
        raise ValueError(f"{path} is not a hyena-lab checkpoint (expected {CHECKPOINT_FORMAT!r})")
    missing = {"model_config", "state_dict", "history"} - set(payload)
    if missing:
        raise ValueError(f"{path} is an incomplete hyena-lab checkpoint: no {sorted(missing)}")
    return {"train_state": None, "run": None, **payload}


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
    """Check before training that a checkpoint may go to ``path``: ``ValueError`` for a folder,
    or an existing file other than the resumed run (``resuming``) unless ``overwrite``."""
    path = check_new_file(path, "checkpoint")
    if not path.exists() or overwrite:
        return path
    if resuming is not None and path.resolve() == Path(resuming).resolve():
        return path
    if is_checkpoint(path):
        raise ValueError(f"checkpoint {path} already exists: resume it with --resume {path}, or "
                         "replace it with --overwrite")
    raise ValueError(f"{path} exists and is not a hyena-lab checkpoint: refusing to overwrite it "
                     "(choose another path, or --overwrite to replace it)")
