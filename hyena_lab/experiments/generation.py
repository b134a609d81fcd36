"""``hyena-lab generation-speed`` and ``hyena-lab distill-sweep``: chapter 07's recurrent view.

* :func:`time_per_token` (``generation-speed``): seconds per generated token against the context
  length for the three ways of :mod:`hyena_lab.generate` (recompute the prefix, cache the past,
  step distilled modal states) and a GPT with a KV cache, on untrained models of the chapter's
  shape (speed does not depend on the weights' values).
* :func:`distillation_sweep` (``distill-sweep``): for a trained Hyena LM, the Hankel singular
  values of every layer's filters, the relative error of the modal fit and the validation loss
  of the distilled model against the state size ``r``.

Each returns a JSON-ready record with :func:`hyena_lab.measure.environment` under ``"run"``.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from ..checkpoint import load_checkpoint
from ..checks import check_lengths, check_positive_float, check_positive_int, rel_err
from ..distill import hankel_singular_values
from ..filters import seeded
from ..generate import Decoder, distilled_copy, hyena_operators
from ..measure import environment, time_calls
from ..models import ModelConfig, TinyLM
from ..options import float_in, int_in
from ..progress import progress_bar
from ..text import load_corpus
from ..train import evaluate
from . import Experiment, option

__all__ = [
    "CONTEXTS", "EXPERIMENTS", "ORDERS", "DistillSweepConfig", "GenerationSpeedConfig",
    "distillation_sweep", "run_distill_sweep", "run_speed", "time_per_token",
]  # fmt: skip

#: Context lengths of the chapter's speed figure, ``256 .. 16384``.
CONTEXTS: tuple[int, ...] = tuple(2**p for p in range(8, 15))
#: State sizes of the distillation sweep.
ORDERS: tuple[int, ...] = (2, 4, 8, 16, 32)
#: The ways timed by :func:`time_per_token`: three for Hyena, the GPT's KV cache.
WAYS: tuple[str, ...] = ("recompute", "cache", "modal", "gpt_kv_cache")


@dataclass(frozen=True)
class GenerationSpeedConfig:
    """The options of :func:`time_per_token`; the defaults are the chapter's (CPU, < ~60 s)."""

    contexts: tuple[int, ...] = option(CONTEXTS, "context lengths (tokens before the timed "
                                       "ones)", int_in(1))  # fmt: skip
    d_model: int = option(128, "width of both models", int_in(1))
    n_layers: int = option(4, "blocks of both models", int_in(1))
    num_heads: int = option(4, "attention heads of the GPT", int_in(1))
    vocab_size: int = option(65, "vocabulary (Tiny Shakespeare's 65 characters)", int_in(2))
    modal_order: int = option(16, "state size per channel of the distilled filters", int_in(1))
    tokens: int = option(
        3, "timed tokens per point of recompute (the median is kept), after one warm-up", int_in(1)
    )
    fast_tokens: int = option(
        10, "timed tokens per point of cache, modal and the GPT, after one warm-up", int_in(1)
    )
    recompute_max_s: float = option(
        1.5, "recompute is skipped from the first context where one token is predicted to take "
        "longer than this (seconds; time ~ L^1.1)", float_in(0, open_lo=True))  # fmt: skip
    num_threads: int = option(2, "torch CPU threads for the run (restored afterwards)", int_in(1))
    seed: int = option(0, "seed of the weights and the prompts", int_in(0))
    progress: bool = option(True, "show a progress bar")

    def __post_init__(self) -> None:
        object.__setattr__(self, "contexts", tuple(check_lengths(self.contexts)))
        for name in ("d_model", "n_layers", "num_heads", "modal_order", "tokens", "fast_tokens",
                     "num_threads"):  # fmt: skip
            check_positive_int(getattr(self, name), name)
        check_positive_int(self.vocab_size, "vocab_size", minimum=2)
        check_positive_int(self.seed, "seed", minimum=0)
        check_positive_float(self.recompute_max_s, "recompute_max_s")
        if self.d_model % self.num_heads:
            raise ValueError(f"d_model={self.d_model} must be divisible by num_heads="
                             f"{self.num_heads}")  # fmt: skip


def _speed_models(c: GenerationSpeedConfig, l_max: int) -> dict[str, TinyLM]:
    """The Hyena LM, its modal distillation and the GPT, untrained (seeded), in eval mode."""
    shape = {"vocab_size": c.vocab_size, "l_max": l_max, "d_model": c.d_model,
             "n_layers": c.n_layers}  # fmt: skip
    with seeded(c.seed):
        hyena = TinyLM(ModelConfig(mixer="hyena", **shape)).eval()
        gpt = TinyLM(ModelConfig(mixer="attention", mixer_args={"num_heads": c.num_heads},
                                 **shape)).eval()  # fmt: skip
    return {"hyena": hyena, "modal": distilled_copy(hyena, c.modal_order), "gpt": gpt}


def _decoders(models: dict[str, TinyLM], prompt: torch.Tensor, length: int,
              ways: tuple[str, ...]) -> dict[str, tuple[Decoder, torch.Tensor]]:  # fmt: skip
    """Each way's decoder after reading ``prompt``, and the token it feeds (its greedy one)."""
    built = {
        "recompute": lambda: Decoder(models["hyena"], "recompute"),
        "cache": lambda: Decoder(models["hyena"], "cache", length),
        "modal": lambda: Decoder(models["modal"], "modal", length),
        "gpt_kv_cache": lambda: Decoder(models["gpt"], "cache", length),
    }
    out = {}
    for way in ways:
        decoder = built[way]()
        out[way] = (decoder, decoder.prefill(prompt).argmax(-1))
    return out


def _stepper(decoder: Decoder, token: torch.Tensor) -> Callable[[], torch.Tensor]:
    """One generated token of ``decoder`` (it is fed ``token`` each time), as a call to time."""
    return lambda: decoder.step(token)


def time_per_token(config: GenerationSpeedConfig | None = None) -> dict[str, Any]:
    """Seconds per generated token against the context length, for each of :data:`WAYS`.

    Per context ``L``: a seeded prompt of ``L`` tokens is read by every way (not timed); then
    each way in turn generates one warm-up token and ``tokens`` (recompute) or ``fast_tokens``
    (the others) timed ones in a row (:func:`hyena_lab.measure.time_calls`), and the median is
    kept. The ways do not take turns token by token: a recompute step would evict the others'
    weights from the CPU caches, which is not what consecutive tokens of one decoder see.
    ``recompute`` stops at the first ``L`` where its last time times ``(L / L_last)^1.1``
    exceeds ``recompute_max_s`` (recorded in ``"skipped"``).
    """
    c = GenerationSpeedConfig() if config is None else config
    old_threads = torch.get_num_threads()
    torch.set_num_threads(c.num_threads)
    try:
        env = environment("cpu")
        extra = max(c.tokens, c.fast_tokens) + 2  # warm-up and timed tokens, and one spare
        models = _speed_models(c, max(c.contexts) + extra)
        seconds: dict[str, list[float | None]] = {w: [] for w in WAYS}
        skipped: dict[str, str] = {}
        last: tuple[int, float] | None = None  # recompute's last (L, seconds)
        g = torch.Generator().manual_seed(c.seed)
        for L in progress_bar(c.contexts, desc="seconds per token", enabled=c.progress):
            ways = WAYS
            if last is not None and last[1] * (L / last[0]) ** 1.1 > c.recompute_max_s:
                skipped.setdefault("recompute", f"from L={L}: predicted "
                                   f"{last[1] * (L / last[0]) ** 1.1:.2f} s per token > "
                                   f"recompute_max_s={c.recompute_max_s}")  # fmt: skip
                ways = WAYS[1:]
            prompt = torch.randint(c.vocab_size, (1, L), generator=g)
            decoders = _decoders(models, prompt, L + extra, ways)
            timings = {}
            for w in ways:
                n = c.tokens if w == "recompute" else c.fast_tokens
                timings |= time_calls({w: _stepper(*decoders[w])}, warmup=1, repeats=n)
            for w in WAYS:
                seconds[w].append(timings[w].median if w in timings else None)
            if "recompute" in timings:
                last = (L, timings["recompute"].median)
    finally:
        torch.set_num_threads(old_threads)
    return {
        "run": env,
        "what": "CPU seconds per generated token against the context length: a Hyena LM three "
                "ways (recompute the prefix, cache the past inputs, modal states) and a GPT "
                "with a KV cache; untrained weights",
        "statistic": f"median seconds of {c.tokens} (recompute) or {c.fast_tokens} (the others) "
                     "consecutive tokens after one warm-up token, one way after the other "
                     "(hyena_lab.measure.time_calls)",
        "config": asdict(c), "contexts": list(c.contexts), "seconds_per_token": seconds,
        "skipped": skipped,
        "params": {"hyena": models["hyena"].num_params, "gpt": models["gpt"].num_params},
        "ratio_longest_over_shortest": _growth(c.contexts, seconds),
    }  # fmt: skip


def _growth(contexts: tuple[int, ...], seconds: Mapping[str, list]) -> dict[str, float | None]:
    """Each way's time at the longest context it reached over its time at the shortest."""
    out = {}
    for way, s in seconds.items():
        have = [x for x in s if x is not None]
        out[way] = have[-1] / have[0] if len(have) >= 2 else None
    return out


def run_speed(config: GenerationSpeedConfig) -> dict[str, Any]:
    """:func:`time_per_token` (the command's ``run``)."""
    return time_per_token(config)


def summarize_speed(record: Mapping[str, Any]) -> dict[str, Any]:
    """The command's last line: contexts, seconds per token by way, growth, what was skipped."""
    return {k: record[k] for k in ("contexts", "seconds_per_token", "ratio_longest_over_shortest",
                                   "skipped")}  # fmt: skip


# ------------------------------------------------------------------------ the distillation sweep


@dataclass(frozen=True)
class DistillSweepConfig:
    """The options of :func:`distillation_sweep` (the command reads a checkpoint)."""

    ckpt: str = option("", "checkpoint of a trained Hyena LM (hyena-lab lm train --out)",
                       required=True)  # fmt: skip
    orders: tuple[int, ...] = option(ORDERS, "state sizes r per channel", int_in(1))
    val_batches: int = option(20, "validation batches (seeded) for each loss", int_in(1))
    batch_size: int = option(32, "validation windows per batch", int_in(1))
    seed: int = option(0, "seed of the validation windows", int_in(0))
    progress: bool = option(True, "show a progress bar")

    def __post_init__(self) -> None:
        if not isinstance(self.ckpt, str) or not self.ckpt:
            raise ValueError("ckpt must name the checkpoint of a trained Hyena LM")
        object.__setattr__(self, "orders", tuple(check_lengths(self.orders, "orders")))
        check_positive_int(self.val_batches, "val_batches")
        check_positive_int(self.batch_size, "batch_size")
        check_positive_int(self.seed, "seed", minimum=0)


def _val_data(model: TinyLM, val_batches: int, batch_size: int, seed: int
              ) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """Seeded validation windows of Tiny Shakespeare, ``l_max`` long: ``(inputs, targets)``."""
    corpus = load_corpus()
    if model.config.vocab_size != corpus.vocab.size:
        raise ValueError(f"the model has a vocabulary of {model.config.vocab_size} tokens, Tiny "
                         f"Shakespeare {corpus.vocab.size}: expected a character-level Tiny "
                         "Shakespeare LM")  # fmt: skip
    g = torch.Generator().manual_seed(seed)
    pairs = [corpus.get_batch("val", batch_size, model.config.l_max, g)
             for _ in range(val_batches)]  # fmt: skip
    return torch.cat([x for x, _ in pairs]), torch.cat([y for _, y in pairs])


def _hankel_summary(model: TinyLM) -> list[dict[str, list[float]]]:
    """Per layer, the Hankel singular values over the largest, median and max over channels."""
    out = []
    for op in hyena_operators(model):
        with torch.no_grad():
            s = hankel_singular_values(op.filter(op.l_max))  # (channels, k)
        s = s / s[:, :1].clamp_min(1e-300)
        out.append({"median": s.median(0).values.tolist(), "max": s.max(0).values.tolist()})
    return out


def _fit_errors(model: TinyLM, distilled: TinyLM) -> list[dict[str, float]]:
    """Per layer, the relative error of the distilled filter bank (all channels, and the worst
    channel)."""
    out = []
    for op, dop in zip(hyena_operators(model), hyena_operators(distilled), strict=True):
        with torch.no_grad():
            h, hd = op.filter(op.l_max), dop.filter(op.l_max)
        per = [rel_err(a, b) for a, b in zip(hd, h, strict=True)]
        out.append({"all": rel_err(hd, h), "worst_channel": max(per),
                    "median_channel": statistics.median(per)})  # fmt: skip
    return out


def distillation_sweep(
    model: TinyLM | str | Path, orders: tuple[int, ...] = ORDERS, *, val_batches: int = 20,
    batch_size: int = 32, seed: int = 0, progress: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """Hankel singular values, fit error and validation loss against the state size ``r``.

    ``model``: a trained Hyena :class:`~hyena_lab.models.TinyLM` on Tiny Shakespeare, or the
    path of its checkpoint. Every loss (nats per character) is the mean over the same seeded
    validation windows of ``l_max`` characters (:func:`hyena_lab.train.evaluate`).
    """
    if isinstance(model, (str, Path)):
        model = load_checkpoint(model)[0]
    if not isinstance(model, TinyLM):
        raise TypeError(f"model must be a TinyLM or a checkpoint path, got {type(model).__name__}")
    orders = tuple(check_lengths(orders, "orders"))
    if not hyena_operators(model):
        raise ValueError(f"a model with {model.config.mixer!r} mixers has no long filters to "
                         "distil; expected a Hyena LM")  # fmt: skip
    model = model.eval()
    inputs, targets = _val_data(model, val_batches, batch_size, seed)
    env = environment("cpu")
    base = evaluate(model, inputs, targets)[0]
    rows = []
    for r in progress_bar(orders, desc="distilling", enabled=progress):
        distilled = distilled_copy(model, r)
        loss = evaluate(distilled, inputs, targets)[0]
        rows.append({"order": r, "val_loss": loss, "val_loss_increase": loss - base,
                     "fit_error": _fit_errors(model, distilled)})  # fmt: skip
    return {
        "run": env,
        "what": "modal distillation of a trained Hyena LM's filters: Hankel singular values, "
                "relative fit error and validation loss (nats/char) against the state size r",
        "model": model.config.to_dict(), "params": model.num_params,
        "val_windows": int(inputs.shape[0]), "window": model.config.l_max, "seed": seed,
        "val_loss": base, "orders": list(orders), "distilled": rows,
        "hankel_singular_values": _hankel_summary(model),
    }  # fmt: skip


def run_distill_sweep(config: DistillSweepConfig) -> dict[str, Any]:
    """:func:`distillation_sweep` of the checkpoint ``config.ckpt`` (the command's ``run``)."""
    return distillation_sweep(config.ckpt, config.orders, val_batches=config.val_batches,
                              batch_size=config.batch_size, seed=config.seed,
                              progress=config.progress)  # fmt: skip


def summarize_sweep(record: Mapping[str, Any]) -> dict[str, Any]:
    """The command's last line: the undistilled loss and, per ``r``, loss and fit error."""
    return {"val_loss": record["val_loss"],
            "by_order": {str(r["order"]): {"val_loss": r["val_loss"],
                                           "fit_error": [e["all"] for e in r["fit_error"]]}
                         for r in record["distilled"]}}  # fmt: skip


EXPERIMENTS = (
    Experiment("generation-speed", "seconds per generated token vs context: recompute, cache, "
               "modal, GPT KV cache (chapter 07)", GenerationSpeedConfig, run_speed,
               summarize_speed),
    Experiment("distill-sweep", "a trained Hyena LM's filters distilled to r modes: Hankel "
               "singular values, fit error, validation loss (chapter 07)", DistillSweepConfig,
               run_distill_sweep, summarize_sweep),
)  # fmt: skip
