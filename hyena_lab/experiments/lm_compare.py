"""Chapter 07's comparison (paper Sec. 4.2 at 1M parameters): the GPT and the Hyena LM trained
for the same wall-clock budgets with the same recipe and seeds (``hyena-lab lm-compare``), and
the time of one training step against the context length (``hyena-lab lm-step-time``).

Both run the models one after the other on the same threads, never side by side: a budget is
wall-clock time, so two runs sharing the cores would each get a part of them.
"""

from __future__ import annotations

import contextlib
import statistics
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from ..measure import environment, time_calls
from ..options import float_in, int_in
from ..progress import progress_bar
from ..train import make_optimizer, train_step
from . import Experiment, option

__all__ = ["EXPERIMENTS", "LMCompareConfig", "LMStepTimeConfig", "compare_lms", "lm_means",
           "lm_step_time"]  # fmt: skip


def _lm():  # the lm package sits beside experiments (layer 3): imported when used
    from .. import lm

    return lm


@contextlib.contextmanager
def _threads(n: int) -> Iterator[None]:
    """Run with ``n`` torch CPU threads, then restore the caller's number."""
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


@dataclass(frozen=True)
class LMCompareConfig:
    """The options of :func:`compare_lms`."""

    mixers: tuple[str, ...] = option(("attention", "hyena"), "models to train", str,
                                     choices=("attention", "hyena"))  # fmt: skip
    budgets: tuple[float, ...] = option((60.0, 300.0), "wall-clock seconds of each run",
                                        float_in(0.0, open_lo=True))  # fmt: skip
    seeds: tuple[int, ...] = option((0, 1, 2), "seeds (initialisation and batches)", int_in(0))
    threads: int = option(2, "torch CPU threads of every run", int_in(1, 1024))
    ckpt_dir: str | None = option(None, "save each run's final model here as "
                                  "<mixer>-<budget>s-seed<seed>.pt", metavar="DIR")  # fmt: skip
    progress: bool = option(True, "show a progress bar per run")


def compare_lms(c: LMCompareConfig) -> dict[str, Any]:
    """Train every (budget, seed, mixer) with the chapter's recipe, one run after the other
    (mixers alternate, so that a slow spell of the machine hits both); the record holds every
    run's ``hyena-lab lm train`` summary (with its curve) and its ``budget``."""
    lm = _lm()
    with _threads(c.threads):
        env, runs = environment("cpu"), _train_all(lm, c)
    return {"run": env, "what": "the GPT and the Hyena LM of chapter 07 trained on Tiny "
            "Shakespeare for the same wall-clock budgets, one run after the other on the same "
            "threads; val_loss in nats per character over the whole validation split",
            "recipe": asdict(lm.LM_RECIPE), "config": asdict(c), "runs": runs,
            "means": lm_means(runs)}  # fmt: skip


def _train_all(lm: Any, c: LMCompareConfig) -> list[dict[str, Any]]:
    """Every run of :func:`compare_lms`, in its order, as ``lm train`` summaries."""
    runs = []
    corpus = lm.shakespeare()
    for budget in c.budgets:
        for seed in c.seeds:
            for mixer in c.mixers:
                config = replace(lm.LM_RECIPE, time_budget=budget, seed=seed)
                mc = lm.lm_model_config(mixer, corpus.vocab.size)
                ckpt = None
                if c.ckpt_dir is not None:
                    Path(c.ckpt_dir).mkdir(parents=True, exist_ok=True)
                    ckpt = Path(c.ckpt_dir) / f"{mixer}-{budget:g}s-seed{seed}.pt"
                model, history = lm.run_lm(mc, config, progress=c.progress, checkpoint=ckpt)
                summary = lm.lm_summary(model, history, config, block_size=64, device="cpu")
                runs.append({**summary, "budget": budget})
    return runs


def lm_means(runs: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean and spread of ``val_loss`` and mean ``steps`` per ``"<mixer> <budget>s"``."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for r in runs:
        groups.setdefault(f"{r['mixer']} {r['budget']:g}s", []).append(r)
    out = {}
    for key, rs in groups.items():
        losses = [r["val_loss"] for r in rs]
        out[key] = {"val_loss": statistics.fmean(losses), "min": min(losses), "max": max(losses),
                    "steps": statistics.fmean(r["steps"] for r in rs), "seeds": len(rs),
                    "params": rs[0]["params"]}  # fmt: skip
    return out


def _summary(record: Mapping[str, Any]) -> dict[str, Any]:
    return {"means": record["means"]}


@dataclass(frozen=True)
class LMStepTimeConfig:
    """The options of :func:`lm_step_time`."""

    contexts: tuple[int, ...] = option((64, 128, 256, 512, 1024, 2048), "context lengths",
                                       int_in(2, 2**20))  # fmt: skip
    batch_size: int = option(8, "windows per step (the same at every context)", int_in(1))
    threads: int = option(2, "torch CPU threads", int_in(1, 1024))
    repeats: int = option(5, "timed steps per model and context (the median is kept)",
                          int_in(1, 1000))  # fmt: skip
    progress: bool = option(True, "show a progress bar")


def lm_step_time(c: LMStepTimeConfig) -> dict[str, Any]:
    """Seconds of one training step (forward, backward, AdamW) of each model against the
    context; the models are the chapter's, built with ``l_max`` = the context (the GPT then has
    more position embeddings, which cost no time per step). The two models are timed in
    interleaved rounds (:func:`hyena_lab.measure.time_calls`); untrained weights."""
    lm = _lm()
    with _threads(c.threads):
        env, seconds = environment("cpu"), _step_seconds(lm, c)
    return {"run": env, "what": "seconds per training step (batch of windows, forward + backward "
            "+ AdamW) of the chapter's GPT and Hyena LM against the context length, untrained "
            "weights, median of interleaved rounds", "config": asdict(c),
            "contexts": list(c.contexts), "seconds_per_step": seconds,
            "ratio_attention_over_hyena": [a / h for a, h in
                                           zip(seconds["attention"], seconds["hyena"],
                                               strict=True)]}  # fmt: skip


def _step_seconds(lm: Any, c: LMStepTimeConfig) -> dict[str, list[float]]:
    """Median seconds per training step of each model at each context of ``c``."""
    vocab = lm.shakespeare().vocab.size
    seconds: dict[str, list[float]] = {"attention": [], "hyena": []}
    g = torch.Generator().manual_seed(0)
    for L in progress_bar(c.contexts, desc="step time", enabled=c.progress):
        x = torch.randint(vocab, (c.batch_size, L), generator=g)
        y = torch.randint(vocab, (c.batch_size, L), generator=g)
        calls = {}
        for mixer in seconds:
            model = lm.build_lm(lm.lm_model_config(mixer, vocab, block_size=L), seed=0)
            opt = make_optimizer(model, lm.LM_RECIPE)
            calls[mixer] = (lambda m=model, o=opt, x=x, y=y: train_step(m, o, x, y, 1.0))
        timings = time_calls(calls, warmup=1, rounds=c.repeats, repeats=1)
        for mixer in seconds:
            seconds[mixer].append(timings[mixer].median)
    return seconds


def _step_summary(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: record[k] for k in ("contexts", "seconds_per_step", "ratio_attention_over_hyena")}


EXPERIMENTS = (
    Experiment("lm-compare", "the GPT and the Hyena LM for the same budgets and seeds "
               "(chapter 07)", LMCompareConfig, compare_lms, _summary),
    Experiment("lm-step-time", "seconds per training step of both language models against the "
               "context (chapter 07)", LMStepTimeConfig, lm_step_time, _step_summary),
)  # fmt: skip
