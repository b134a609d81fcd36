"""Data-parallel training under ``torchrun`` (torch.distributed DDP: gloo on CPUs, NCCL on GPUs).

``torchrun --nproc-per-node W -m hyena_lab.cli lm train ...`` starts ``W`` processes with
``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE`` and the rendezvous address in their environment;
:func:`init_distributed` joins them into one process group, and :func:`hyena_lab.train.train`
then gives each rank its slice of every global batch (DDP averages the gradients), so ``W``
processes take the steps one process would take with the same global batch.
"""

from __future__ import annotations

import os
import sys

import torch
import torch.distributed as dist

__all__ = ["finish_distributed", "init_distributed", "launched_by_torchrun"]


def launched_by_torchrun() -> bool:
    """Whether this process is one of several started by ``torchrun`` (``WORLD_SIZE`` > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_distributed(device: str) -> tuple[int, int, str]:
    """Join torchrun's process group: ``(rank, world_size, device)``, ``device`` made
    ``cuda:LOCAL_RANK`` on GPUs (backend NCCL) and left ``cpu`` otherwise (backend gloo). Ranks
    other than 0 send their standard output to ``os.devnull``: rank 0 alone prints. Outside
    torchrun: ``(0, 1, device)`` and nothing happens."""
    if not launched_by_torchrun():
        return 0, 1, device
    cuda = torch.device(device).type == "cuda"
    if cuda:
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    rank = dist.get_rank()
    if rank != 0:
        sys.stdout = open(os.devnull, "w")  # for the rest of the process
    return rank, dist.get_world_size(), device


def finish_distributed() -> None:
    """Leave the process group, if one was joined."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
