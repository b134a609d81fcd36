"""One progress bar for the whole package (tqdm's, switched off where a bar would mislead), and
one way to run many independent runs under it, in worker processes if asked.

``make handbook`` executes the chapters with ``TQDM_DISABLE=1``: a widget bar saved in a
committed notebook shows 0% forever. tqdm reads that variable only when no ``disable=`` is passed,
and ``tqdm.notebook`` always passes one, so the package asks here instead.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from tqdm.auto import tqdm

from .checks import check_positive_int

__all__ = ["bars_disabled", "parallel_map", "progress_bar"]


def bars_disabled() -> bool:
    """Whether ``$TQDM_DISABLE`` asks for no progress bars (any value but empty, 0, false)."""
    return os.environ.get("TQDM_DISABLE", "").strip().lower() not in ("", "0", "false", "no")


def progress_bar(iterable: Iterable | None = None, *, enabled: bool = True, **kwargs: Any) -> tqdm:
    """``tqdm.auto.tqdm(iterable, **kwargs)``, hidden when ``enabled`` is False or
    :func:`bars_disabled`."""
    return tqdm(iterable, disable=not enabled or bars_disabled(), **kwargs)


def _call_with_threads(job: tuple[Callable[[Any], Any], Any, int]) -> Any:
    """``fn(item)`` in a worker with ``threads`` torch threads (:func:`parallel_map`)."""
    import torch

    fn, item, threads = job
    torch.set_num_threads(threads)
    return fn(item)


def parallel_map(
    fn: Callable[[Any], Any], items: Sequence[Any], *, jobs: int = 1, threads: int = 1,
    enabled: bool = True, desc: str = "runs",
) -> list[Any]:  # fmt: skip
    """``[fn(item) for item in items]`` under one progress bar; ``jobs > 1`` runs that many
    ``spawn`` workers (CUDA cannot be forked) with ``threads`` torch threads each. ``fn`` must be
    a module-level function (workers import it). The results keep the order of ``items``."""
    check_positive_int(jobs, "jobs")
    check_positive_int(threads, "threads")
    if jobs == 1:
        return [fn(item) for item in progress_bar(items, enabled=enabled, desc=desc, unit="run")]
    work = [(fn, item, threads) for item in items]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        done = pool.map(_call_with_threads, work)
        return list(progress_bar(done, enabled=enabled, total=len(work), desc=desc, unit="run"))
