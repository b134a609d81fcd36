"""Data parallelism measured on ``P`` processes: ``hyena-lab ddp-bench``.

``ddp-bench`` times training steps (:func:`hyena_lab.train.train_step`, the chapter's AdamW and
clip) of chapter 07's Hyena LM (:mod:`hyena_lab.lm`) on ``--batch-per-rank`` windows per process:
on rank 0 alone, then on all ``P`` under DistributedDataParallel (weak scaling: the global batch
grows with ``P``); :func:`scaling_efficiency` is ``throughput(P) / (P * throughput(1))``.
Launch: ``torchrun --nproc-per-node P -m hyena_lab.cli ddp-bench ...`` (``scripts/multi_gpu.sh``)
or ``hyena-lab ddp-bench --procs P`` (:func:`hyena_lab.experiments.ranks.launch`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.distributed as dist

from ..checks import check_positive_float, check_positive_int
from ..lm import LM_MIXERS, LM_RECIPE, TextBatches, build_lm, lm_model_config, shakespeare
from ..measure import environment, rotating
from ..options import float_in, int_in
from ..train import make_optimizer, train_step
from . import Experiment, option
from .ranks import (
    check_common,
    check_device,
    group_facts,
    launch,
    local_device,
    measure,
    milliseconds,
    save,
)

__all__ = ["DEFAULT_BATCH", "EXPERIMENTS", "DDPBenchConfig", "ddp_bench", "run_ddp_bench",
           "scaling_efficiency"]  # fmt: skip

#: Windows per process of ``ddp-bench`` when ``--batch-per-rank`` is not given.
DEFAULT_BATCH = {"cuda": 2048, "cpu": 8}
_INPUT_SETS = 4  # batches that ddp-bench's steps rotate through


@dataclass(frozen=True)
class DDPBenchConfig:
    """The options of ``hyena-lab ddp-bench`` (the model: chapter 07's, nanoGPT's CPU shape)."""

    mixer: str = option("hyena", "sequence mixer", choices=list(LM_MIXERS))
    batch_per_rank: int | None = option(
        None, "windows per process and step: raise it until the device is busy (default: "
        f"{DEFAULT_BATCH['cuda']} on cuda, {DEFAULT_BATCH['cpu']} on cpu)",
        int_in(1, 2**20))  # fmt: skip
    block_size: int = option(64, "characters per window", int_in(2, 2**16))
    d_model: int = option(128, "model width", int_in(1, 4096))
    n_layers: int = option(4, "blocks", int_in(1, 64))
    device: str = option("cpu", "cuda (NCCL, one GPU per process) or cpu (gloo)",
                         choices=["cpu", "cuda"])  # fmt: skip
    procs: int | None = option(None, "processes P when not under torchrun (default 2; under "
                               "torchrun its --nproc-per-node)", int_in(1, 1024))  # fmt: skip
    warmup: int = option(3, "untimed steps before each measurement, on every rank",
                         int_in(0, 10**4))  # fmt: skip
    repeats: int = option(20, "timed steps, the same on every rank", int_in(1, 10**5))
    timeout: float = option(300.0, "seconds a collective may wait before the run is ended",
                            float_in(0, open_lo=True))  # fmt: skip
    seed: int = option(0, "seed of the weights and the batches", int_in(0, 2**31))
    out: str | None = option(None, "write the record (JSON) here", metavar="PATH")

    def __post_init__(self) -> None:
        check_common(self, "block_size", "d_model", "n_layers", "batch_per_rank")
        if self.mixer not in LM_MIXERS:
            raise ValueError(f"mixer must be one of {list(LM_MIXERS)}, got {self.mixer!r}")

    def batch_on(self, device: str) -> int:
        """Windows per process: ``batch_per_rank``, or the default of ``device``'s type."""
        return self.batch_per_rank or DEFAULT_BATCH[torch.device(device).type]


def scaling_efficiency(tokens_per_s_1: float, tokens_per_s_p: float, processes: int) -> float:
    """``throughput(P) / (P * throughput(1))``: 1 when ``P`` processes do ``P`` times the work
    of one in the same time (weak scaling: each keeps its batch)."""
    check_positive_float(tokens_per_s_1, "tokens_per_s_1")
    check_positive_float(tokens_per_s_p, "tokens_per_s_p")
    check_positive_int(processes, "processes")
    return tokens_per_s_p / (processes * tokens_per_s_1)


def ddp_bench(c: DDPBenchConfig, group: dist.ProcessGroup | None = None) -> dict[str, Any]:
    """Run ``ddp-bench`` on the ranks of ``group`` (every rank calls it): training steps of the
    chapter-07 model on rank 0 alone, then DDP on every rank; the same record on every rank."""
    from torch.nn.parallel import DistributedDataParallel

    rank, world = dist.get_rank(group), dist.get_world_size(group)
    check_device(c.device, 1)
    device = local_device(c.device)
    batch = c.batch_on(device)
    data = TextBatches(shakespeare(), c.block_size)
    model_config = lm_model_config(c.mixer, data.corpus.vocab.size, c.block_size, c.d_model,
                                   c.n_layers)  # fmt: skip
    record: dict[str, Any] = {
        "run": environment(device), "config": asdict(c), **group_facts(group, device),
        "dtype": "float32", "batch_per_rank": batch, "tokens_per_step_per_rank":
        batch * c.block_size, "model": asdict(model_config), "complete": False,
    }  # fmt: skip

    def steps(ddp: bool) -> Callable[[], Callable[[], object]]:
        def build() -> Callable[[], object]:
            sets = [tuple(t.to(device) for t in data.train_batch(s, batch, c.seed + 1000 * rank))
                    for s in range(_INPUT_SETS)]  # fmt: skip
            model = build_lm(model_config, c.seed).to(device)
            record["params"] = model.num_params
            ids = [torch.device(device)] if device.startswith("cuda") else None
            net = model
            if ddp:  # averages the gradients over the ranks during backward
                net = DistributedDataParallel(model, device_ids=ids, process_group=group)
            optimizer = make_optimizer(model, LM_RECIPE)
            return rotating(lambda xy: train_step(net, optimizer, *xy, LM_RECIPE.grad_clip), sets)

        return build

    record["one_process"] = measure(steps(False), c, device, group, everyone=False)
    save(record, c.out, "ddp-bench", rank)
    record["all_processes"] = measure(steps(True), c, device, group)
    tokens = batch * c.block_size
    one, many = record["one_process"], record["all_processes"]
    tps1 = tokens / one["seconds"] if one["status"] == "ok" else None
    tpsp = world * tokens / many["seconds"] if many["status"] == "ok" else None
    record["tokens_per_s"] = {"1": tps1, str(world): tpsp}
    both = tps1 is not None and tpsp is not None
    record["scaling_efficiency"] = scaling_efficiency(tps1, tpsp, world) if both else None
    record["complete"] = True
    save(record, c.out, "ddp-bench", rank)
    return record


def run_ddp_bench(c: DDPBenchConfig) -> dict[str, Any]:
    """``hyena-lab ddp-bench``: :func:`ddp_bench` in this group, under torchrun, or on
    ``c.procs`` spawned processes; the record."""
    return launch(ddp_bench, c)


def _ddp_summary(r: Mapping[str, Any]) -> dict[str, Any]:
    return {"world_size": r["world_size"], "device": r["run"]["device"], "params": r.get("params"),
            "batch_per_rank": r["batch_per_rank"], "step_ms_1": milliseconds(r["one_process"]),
            f"step_ms_{r['world_size']}": milliseconds(r["all_processes"]),
            "tokens_per_s": r["tokens_per_s"], "scaling_efficiency": r["scaling_efficiency"],
            "out": r["config"]["out"]}  # fmt: skip


EXPERIMENTS = (
    Experiment("ddp-bench", "tokens per second of chapter 07's Hyena LM training on 1 and P "
               "processes (DDP) and the scaling efficiency", DDPBenchConfig, run_ddp_bench,
               _ddp_summary, record=False),
)  # fmt: skip
