"""Wall-clock timing on the CPU and with CUDA events on a GPU (the basic clock of ``bench``).

``time_fn(fn, ...)`` returns the median of repeated runs after a warm-up: with CUDA events when
``device`` is a CUDA device (device work is asynchronous, so a host clock would time the launch
only), with ``time.perf_counter`` otherwise.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

__all__ = ["time_fn"]


def time_fn(
    fn: Callable[[], object],
    *,
    repeats: int = 20,
    warmup: int = 3,
    device: str | torch.device = "cpu",
) -> float:
    """Median run time of ``fn()`` in seconds over ``repeats`` runs, after ``warmup`` runs."""
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0, got {repeats} and {warmup}")
    dev = torch.device(device)
    for _ in range(warmup):
        fn()
    times = []
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
        for _ in range(repeats):
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1e3)
    else:
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return statistics.median(times)
