"""One language-model run: the recipe (:data:`LM_RECIPE`), a run, its resume, its summary."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

import torch

from ..checkpoint import read_checkpoint
from ..models import ModelConfig, TinyLM
from ..text import TINY_SHAKESPEARE_SHA256
from ..train import History, TrainConfig, train
from .data import TextBatches, shakespeare
from .models import TASK, build_lm, check_lm_payload

__all__ = ["LM_RECIPE", "lm_summary", "resume_lm", "run_lm"]

#: The recipe of both models, the same for both: AdamW with betas (0.9, 0.95) and
#: weight decay 0.1 on the weight matrices, gradients clipped to norm 1, peak lr 6e-3 with a
#: linear warm-up over 100 steps, then a cosine over the *time budget* down to a tenth of the
#: peak (:func:`hyena_lab.train.time_cosine_lr`), batches of 16 windows; validation every 200
#: steps. ``max_steps`` only bounds a run (the budget ends it). In a 60 s sweep on 2 cores
#: (lr 1e-3 to 8e-3, batch 8/16/32), both models did best at lr 6e-3, batch 16 (8e-3 was worse
#: for the GPT, batch 8 for both at lr 4e-3); beta2 0.95 was as good as nanoGPT's 0.99 for
#: the GPT and 0.005 better for Hyena (within seed noise), a 50-step warm-up or no lr floor no
#: better (one seed, 60 s each, on 2 pinned cores of a 16-core Xeon server).
LM_RECIPE = TrainConfig(lr=6e-3, weight_decay=0.1, beta1=0.9, beta2=0.95, batch_size=16,
                        max_steps=10**9, warmup_steps=100, grad_clip=1.0, eval_every=200,
                        time_budget=60.0, seed=0, schedule="time",
                        min_lr_ratio=0.1)  # fmt: skip


def _run_record(model: ModelConfig, data: TextBatches, device: str) -> dict[str, Any]:
    """What a checkpoint keeps about the data: task, corpus, vocabulary, window length."""
    return {"task": TASK, "corpus_sha256": TINY_SHAKESPEARE_SHA256,
            "vocab": data.corpus.vocab.chars, "block_size": data.block_size,
            "device": torch.device(device).type}  # fmt: skip


def run_lm(
    model_config: ModelConfig, config: TrainConfig = LM_RECIPE, *, block_size: int = 64,
    device: str = "cpu", progress: bool = True, checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
) -> tuple[TinyLM, History]:  # fmt: skip
    """Train a fresh model of ``model_config`` (initialised from ``config.seed``) on Tiny
    Shakespeare with ``config``; return it (on the CPU) and its history."""
    data = TextBatches(shakespeare(), block_size)
    if model_config.vocab_size != data.corpus.vocab.size:
        raise ValueError(f"model vocab_size {model_config.vocab_size} != the corpus' "
                         f"{data.corpus.vocab.size} characters")  # fmt: skip
    if model_config.l_max < block_size:
        raise ValueError(f"block_size {block_size} exceeds the model's l_max={model_config.l_max}")
    model = build_lm(model_config, config.seed).to(device)
    history = train(model, data, config, progress=progress, checkpoint=checkpoint,
                    checkpoint_every=checkpoint_every,
                    run=_run_record(model_config, data, device))  # fmt: skip
    return model.cpu(), history


def resume_lm(
    path: str | os.PathLike, *, time_budget: float | None = None, device: str = "cpu",
    progress: bool = True, checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
) -> tuple[TinyLM, History, TrainConfig]:  # fmt: skip
    """Continue the run saved at ``path`` (same batches, schedule and optimizer state), saving
    on to ``checkpoint`` (default ``path``); ``time_budget`` (seconds in all) replaces the saved
    one. Returns the model (CPU), its history and the recipe it ran with."""
    payload = read_checkpoint(path)
    data = TextBatches(shakespeare(), int((payload.get("run") or {}).get("block_size", 64)))
    check_lm_payload(payload, data.corpus.vocab.chars, path)
    state = payload["train_state"]
    if state is None:
        raise ValueError(f"{path} holds no training state to resume (a final model only)")
    config = TrainConfig(**state["config"])
    if time_budget is not None:
        config = replace(config, time_budget=time_budget)
    model = TinyLM(ModelConfig(**payload["model_config"]))
    model.load_state_dict(payload["state_dict"])
    history = train(model.to(device), data, config, progress=progress,
                    checkpoint=path if checkpoint is None else checkpoint,
                    checkpoint_every=checkpoint_every, resume=payload,
                    run=payload["run"])  # fmt: skip
    return model.cpu(), history, config


def lm_summary(
    model: TinyLM, history: History, config: TrainConfig, *, block_size: int, device: str,
    world_size: int = 1,
) -> dict[str, Any]:  # fmt: skip
    """The figures of a finished run: ``val_loss`` (nats per character over the whole
    validation split), ``train_loss`` (mean over the last evaluation interval), ``steps``,
    ``seconds`` (of training, evaluations at intervals included), ``params``, ``tokens_per_s``
    (characters of the global batches per second), the run's settings and its curve."""
    seconds = history.total_seconds
    tokens = history.steps * config.batch_size * block_size
    return {
        "mixer": model.config.mixer, "seed": config.seed, "device": device,
        "val_loss": history.test_loss,
        "train_loss": history.train_loss[-1] if history.train_loss else None,
        "steps": history.steps, "seconds": round(seconds, 3), "params": model.num_params,
        "tokens_per_s": round(tokens / seconds, 1) if seconds > 0 else None,
        "stopped": history.stopped, "lr": config.lr, "batch_size": config.batch_size,
        "processes": world_size,
        "curve": {"step": history.step, "seconds": [round(s, 3) for s in history.seconds],
                  "train_loss": history.train_loss, "valid_loss": history.valid_loss},
    }  # fmt: skip
