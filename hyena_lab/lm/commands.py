"""``hyena-lab lm train`` and ``hyena-lab lm sample``: their options are the fields of
:class:`LMTrainOptions` and :class:`LMSampleOptions` (:func:`hyena_lab.experiments.option`)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace

import torch

from ..checkpoint import check_checkpoint_path, read_checkpoint
from ..experiments import Experiment, add_command, option
from ..measure import Stopwatch
from ..models import ModelConfig, TinyLM
from ..options import HelpFormatter, float_in, int_in
from ..train import TrainingDiverged, TrainingInterrupted
from .data import shakespeare
from .ddp import finish_distributed, init_distributed
from .models import GPT_HEADS, HYENA_FILTER_ORDER, LM_MIXERS, check_lm_payload, lm_model_config
from .runs import LM_RECIPE, lm_summary, resume_lm, run_lm

__all__ = ["GENERATION_MODES", "LMSampleOptions", "LMTrainOptions", "add_lm_command", "lm_sample",
           "lm_train", "load_lm"]  # fmt: skip

_R = LM_RECIPE
_POSITIVE, _STEPS = float_in(0, open_lo=True), int_in(1, 10**9)
#: ``--mode`` of ``lm sample`` (:func:`hyena_lab.generate.generate`): recompute the prefix, cache
#: the past inputs, or run the distilled modal state-space model.
GENERATION_MODES = ("recompute", "cache", "modal")


@dataclass(frozen=True)
class LMTrainOptions:
    """The options of ``hyena-lab lm train`` (defaults: :data:`hyena_lab.lm.LM_RECIPE`)."""

    mixer: str = option("hyena", "sequence mixer", choices=list(LM_MIXERS), metavar=None)
    time_budget: float = option(_R.time_budget, "seconds of training (when resuming: in all); "
                                "the learning rate's cosine spans them", _POSITIVE)  # fmt: skip
    seed: int = option(0, "seed of the initialisation and of the batches", int_in(0, 2**31))
    out: str | None = option(None, "save the run to this checkpoint (at intervals, at the end, "
                             "on Ctrl-C/SIGTERM)", metavar="CKPT")  # fmt: skip
    resume: str | None = option(None, "continue the run saved in this checkpoint (saving on to "
                                "--out, or to it)", metavar="CKPT")  # fmt: skip
    overwrite: bool = option(False, "replace an existing checkpoint at --out",
                             action="store_true")  # fmt: skip
    lr: float = option(_R.lr, "peak learning rate", _POSITIVE)
    batch_size: int = option(_R.batch_size, "windows per optimizer step (over all processes)",
                             int_in(1, 65_536))  # fmt: skip
    warmup_steps: int = option(_R.warmup_steps, "linear warm-up, in steps", int_in(0, 10**6))
    weight_decay: float = option(_R.weight_decay, "AdamW decay of the weight matrices",
                                 float_in(0))  # fmt: skip
    beta2: float = option(_R.beta2, "AdamW beta2", float_in(0, 0.9999))
    min_lr_ratio: float = option(_R.min_lr_ratio, "the cosine ends at this fraction of --lr",
                                 float_in(0, 1))  # fmt: skip
    max_steps: int | None = option(None, "stop after this many steps, if the budget has not "
                                   "ended the run", _STEPS)  # fmt: skip
    block_size: int = option(64, "context: characters per training window", int_in(2, 65_536))
    d_model: int = option(128, "model width", int_in(1, 4096))
    n_layers: int = option(4, "blocks", int_in(1, 64))
    num_heads: int = option(GPT_HEADS, "attention heads (GPT)", int_in(1, 256))
    filter_order: int = option(HYENA_FILTER_ORDER, "width of the Hyena filter FFN",
                               int_in(1, 4096))  # fmt: skip
    eval_every: int = option(_R.eval_every, "steps between validation passes", _STEPS)
    checkpoint_every: int | None = option(None, "steps between saves (default: --eval-every)",
                                          _STEPS)  # fmt: skip
    threads: int | None = option(None, "torch CPU threads (default: torch's choice)",
                                 int_in(1, 1024))  # fmt: skip
    device: str = option("cpu", "torch device: cpu or cuda", choices=["cpu", "cuda"],
                         metavar=None)  # fmt: skip
    progress: bool = option(True, "show a progress bar")


def _check_out(o: LMTrainOptions) -> str | None:
    """The checkpoint path of the run (``--out``, else the resumed one), checked before work."""
    ckpt = o.out or o.resume
    if ckpt is not None:
        try:
            check_checkpoint_path(ckpt, overwrite=o.overwrite, resuming=o.resume)
        except ValueError as err:
            raise ValueError(f"--out: {err}") from None
    return ckpt


def lm_train(o: LMTrainOptions) -> dict:
    """``hyena-lab lm train``: train (or resume) one language model; return its figures."""
    if o.threads is not None:
        torch.set_num_threads(o.threads)
    if o.device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: this machine has no CUDA device (use --device cpu)")
    ckpt = _check_out(o)
    if o.resume:
        payload = read_checkpoint(o.resume)
        check_lm_payload(payload, shakespeare().vocab.chars, o.resume)
    _, world, device = init_distributed(o.device)
    try:
        if o.resume:
            model, history, config = resume_lm(
                o.resume, time_budget=o.time_budget, device=device, progress=o.progress,
                checkpoint=ckpt, checkpoint_every=o.checkpoint_every)  # fmt: skip
            block_size = int(payload["run"]["block_size"])
        else:
            config = replace(_R, lr=o.lr, batch_size=o.batch_size, warmup_steps=o.warmup_steps,
                             weight_decay=o.weight_decay, beta2=o.beta2,
                             min_lr_ratio=o.min_lr_ratio, time_budget=o.time_budget,
                             eval_every=o.eval_every, seed=o.seed,
                             max_steps=o.max_steps or _R.max_steps)  # fmt: skip
            mc = lm_model_config(o.mixer, shakespeare().vocab.size, o.block_size, o.d_model,
                                 o.n_layers, num_heads=o.num_heads,
                                 filter_order=o.filter_order)  # fmt: skip
            model, history = run_lm(mc, config, block_size=o.block_size, device=device,
                                    progress=o.progress, checkpoint=ckpt,
                                    checkpoint_every=o.checkpoint_every)  # fmt: skip
            block_size = o.block_size
    except (TrainingDiverged, TrainingInterrupted) as err:
        h = err.history
        out = {"stopped": h.stopped, "steps": h.steps, "seconds": round(h.total_seconds, 3),
               "val_loss": None, "message": str(err), "checkpoint": ckpt}  # fmt: skip
        if isinstance(err, TrainingInterrupted):
            out["signal"] = err.signal_name
            out["checkpoint"] = str(err.checkpoint) if err.checkpoint else None
        return out
    finally:
        finish_distributed()
    summary = lm_summary(model, history, config, block_size=block_size, device=device,
                         world_size=world)  # fmt: skip
    return {**summary, "checkpoint": ckpt}


@dataclass(frozen=True)
class LMSampleOptions:
    """The options of ``hyena-lab lm sample``."""

    ckpt: str | None = option(None, "a checkpoint of `hyena-lab lm train`", required=True,
                              metavar="CKPT")  # fmt: skip
    prompt: str = option("\n", "the text to continue (characters of Tiny Shakespeare)")
    tokens: int | None = option(None, "characters to generate (default: fill the model's "
                                "context)", int_in(1, 10**7))  # fmt: skip
    temperature: float = option(1.0, "divide the logits by this", _POSITIVE)
    top_k: int | None = option(None, "sample among the k likeliest characters only",
                               int_in(1, 10**6))  # fmt: skip
    seed: int = option(0, "seed of the sampling", int_in(0, 2**31))
    mode: str = option("recompute", "how each step is computed", choices=list(GENERATION_MODES),
                       metavar=None)  # fmt: skip
    modal_order: int | None = option(None, "--mode modal: the state size per channel that each "
                                     "filter is distilled to", int_in(1, 4096))  # fmt: skip
    threads: int | None = option(None, "torch CPU threads (default: torch's choice)",
                                 int_in(1, 1024))  # fmt: skip


def load_lm(path: str) -> tuple[TinyLM, str]:
    """The language model saved at ``path`` and its vocabulary; ``ValueError`` for a checkpoint
    of another model or vocabulary."""
    payload = read_checkpoint(path)
    chars = shakespeare().vocab.chars
    check_lm_payload(payload, chars, path)
    model = TinyLM(ModelConfig(**payload["model_config"]))
    model.load_state_dict(payload["state_dict"])
    return model.eval(), chars


def lm_sample(o: LMSampleOptions) -> dict:
    """``hyena-lab lm sample``: print the prompt and its continuation; return the figures."""
    if o.threads is not None:
        torch.set_num_threads(o.threads)
    try:
        model, _ = load_lm(o.ckpt)
    except FileNotFoundError as err:
        raise ValueError(f"--ckpt: {err}") from None
    vocab = shakespeare().vocab
    if not o.prompt:
        raise ValueError("--prompt must hold at least one character (e.g. a newline)")
    try:
        prompt_ids = vocab.encode(o.prompt)[None]  # (1, P)
    except ValueError as err:
        raise ValueError(f"--prompt: {err}; the model knows only {vocab.chars!r}") from None
    l_max, P = model.config.l_max, prompt_ids.shape[1]
    tokens = o.tokens if o.tokens is not None else l_max - P
    if P + tokens > l_max:
        raise ValueError(f"the prompt ({P} characters) and --tokens {tokens} make a context of "
                         f"{P + tokens}, longer than the model's l_max={l_max}: ask for at most "
                         f"{max(0, l_max - P)} tokens, or a shorter prompt")  # fmt: skip
    if tokens < 1:
        raise ValueError(f"the prompt ({P} characters) fills the model's context "
                         f"(l_max={l_max}): give a shorter prompt")  # fmt: skip
    from ..generate import generate

    clock = Stopwatch()
    extra = {"modal_order": o.modal_order} if o.modal_order is not None else {}
    ids = generate(model, prompt_ids, tokens, mode=o.mode, temperature=o.temperature,
                   top_k=o.top_k, seed=o.seed, **extra)  # fmt: skip
    seconds = clock.elapsed()
    text = vocab.decode(ids[0])
    print(text)
    return {"text": text, "prompt_chars": P, "tokens": tokens, "mode": o.mode,
            "seed": o.seed, "temperature": o.temperature, "seconds": round(seconds, 4),
            "tokens_per_s": round(tokens / seconds, 1) if seconds > 0 else None}  # fmt: skip


LM_TRAIN = Experiment(
    "train", "train the chapter's GPT or Hyena language model on Tiny Shakespeare",
    LMTrainOptions, lm_train, record=False,
    description="Train a 4-block, width-128 language model (--mixer attention: the GPT, hyena: "
    "the Hyena LM) on character-level Tiny Shakespeare for --time-budget seconds; print its "
    "validation loss (nats per character, the whole validation split), train loss, steps, "
    "seconds, parameters and characters per second as the last JSON line. Under torchrun each "
    "process trains on its slice of every batch (DDP). Exit status: 0 done, 1 diverged, "
    "2 bad options, 130/143 interrupted (the run is saved to --out; --resume continues it).",
)  # fmt: skip
LM_SAMPLE = Experiment(
    "sample", "continue a prompt with a trained language model", LMSampleOptions, lm_sample,
    record=False,
    description="Load a checkpoint of `hyena-lab lm train`, continue --prompt by --tokens "
    "sampled characters and print the text; the last line is JSON (text, seconds, tokens/s).",
)  # fmt: skip


def add_lm_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``lm`` group (``lm train``, ``lm sample``) to the ``hyena-lab`` command line."""
    group = subparsers.add_parser(
        "lm", help="character-level language models: train, sample (chapter 07)",
        description="The GPT and Hyena language models of chapter 07.",
        formatter_class=HelpFormatter)  # fmt: skip
    sub = group.add_subparsers(dest="lm_command", required=True)
    add_command(sub, LM_TRAIN)
    add_command(sub, LM_SAMPLE)
    return group
