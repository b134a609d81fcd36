"""Running one measurement on ``P`` processes (NCCL on GPUs, one per process; gloo on CPUs),
shared by ``hyena-lab cp-bench`` (:mod:`.context_parallel`) and ``ddp-bench`` (:mod:`.ddp_bench`).

:func:`launch` runs a body on every rank: in the process group it is called from (a test), under
``torchrun`` (joining its group), or on ``procs`` spawned processes; rank 0's record comes back.
:func:`measure` times one case the same fixed number of times on every rank, so that the ranks'
collectives stay in step, and reports the slowest rank's median and the worst status. NVLink
multicast stays off (``NCCL_NVLS_ENABLE=0`` unless set).
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from ..bench.cases import classify, release
from ..checks import check_positive_float, check_positive_int
from ..files import check_new_file, write_atomic
from ..lm.ddp import finish_distributed, init_distributed, launched_by_torchrun
from ..measure import json_safe, peak_memory, save_record, time_calls

__all__ = ["STATUSES", "check_common", "check_device", "group_facts", "launch", "local_device",
           "measure", "milliseconds", "release_memory", "save"]  # fmt: skip

#: NVLink multicast stays off: a program using it can take a shared host's GPUs out of service.
_NCCL_ENV = {"NCCL_NVLS_ENABLE": "0", "TORCH_SYMM_MEM_DISABLE_MULTICAST": "1",
             "NVSHMEM_DISABLE_NVLS": "1"}  # fmt: skip


def check_common(c: Any, *positive: str) -> None:
    """The options both commands share, and the whole numbers ``positive`` (``None``: a default)."""
    if c.device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {c.device!r}")
    for name in ("procs", "repeats", *positive):
        if getattr(c, name) is not None:
            check_positive_int(getattr(c, name), name)
    check_positive_int(c.warmup, "warmup", minimum=0)
    check_positive_float(c.timeout, "timeout")

def check_device(device: str, world: int) -> None:
    """A clear error when ``world`` processes cannot each have a GPU."""
    if device != "cuda":
        return
    if not torch.cuda.is_available():
        raise ValueError("device 'cuda' asked for, but this machine has no CUDA device: "
                         "use --device cpu")  # fmt: skip
    if torch.cuda.device_count() < world:
        raise ValueError(f"{world} processes need one GPU each: {torch.cuda.device_count()} here")

# ---------------------------------------------------------------------------------- launching
def launch(body: Callable[[Any, Any], dict], c: Any,
           check: Callable[[Any, int], None] | None = None) -> dict:  # fmt: skip
    """``body(c, group)`` on every rank; rank 0's record. In a process group already: there;
    under torchrun: join it (stdout of ranks > 0 silenced) and leave it; else spawn ``c.procs``
    (2 by default) after ``check(c, procs)``. ``c`` has ``out``, ``procs``, ``device`` and
    ``timeout``."""
    if c.out is not None:
        check_new_file(c.out, "--out")
    if dist.is_available() and dist.is_initialized():
        return body(c, None)
    if launched_by_torchrun():  # then init_distributed silences the stdout of ranks > 0
        _join(c, int(os.environ.get("LOCAL_RANK", "0")))
        init_distributed(c.device)
        try:
            return body(c, None)
        finally:
            finish_distributed()
    world = c.procs or 2
    check_device(c.device, world)
    if check is not None:
        check(c, world)
    import torch.multiprocessing as mp

    with tempfile.TemporaryDirectory() as tmp, socket.socket() as s:
        s.bind(("127.0.0.1", 0))  # a free port for the processes to meet on
        out, port = Path(tmp) / "record.json", s.getsockname()[1]
        s.close()
        mp.spawn(_spawned, args=(world, port, body, c, str(out)), nprocs=world)
        return json.loads(out.read_text())


def _join(c: Any, local: int, **init: Any) -> None:
    """Join the process group with ``c.timeout``: NCCL and GPU ``local`` on CUDA, else gloo."""
    check_device(c.device, local + 1)
    backend = "gloo"
    if c.device == "cuda":
        torch.cuda.set_device(local)
        for key, value in _NCCL_ENV.items():
            os.environ.setdefault(key, value)
        backend = "nccl"
    dist.init_process_group(backend, timeout=datetime.timedelta(seconds=c.timeout), **init)


def _spawned(rank: int, world: int, port: int, body: Callable, c: Any, out: str) -> None:
    """One spawned process: join the group on ``port``, run ``body``, rank 0 writes ``out``."""
    _join(c, rank, init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        record = body(c, None)
        if rank == 0:
            write_atomic(out, json.dumps(json_safe(record)))
    finally:
        dist.destroy_process_group()


def local_device(device: str) -> str:
    """This process's device: ``cuda:<current>`` (set when joining) or ``cpu``."""
    return f"cuda:{torch.cuda.current_device()}" if device == "cuda" else "cpu"


def group_facts(group, device: str) -> dict[str, Any]:
    """The record's fields about the process group: size, backend, NCCL version and settings."""
    facts: dict[str, Any] = {"world_size": dist.get_world_size(group),
                             "backend": str(dist.get_backend(group))}  # fmt: skip
    if facts["backend"] == "nccl":
        v = torch.cuda.nccl.version()  # a tuple such as (2, 27, 3) in torch 2
        facts["nccl_version"] = ".".join(map(str, v if isinstance(v, tuple) else (v,)))
        facts["nccl_env"] = {k: os.environ.get(k) for k in _NCCL_ENV}
        facts["gpus_on_host"] = torch.cuda.device_count()
    return facts


# ------------------------------------------------------------------------------- one case timed
def release_memory(device: str) -> None:
    """Give a case's GPU memory back before the next (a garbage collection costs ~0.1 s: CUDA
    only, where a cycle left alive could hold gigabytes)."""
    if torch.device(device).type == "cuda":
        release(device)


def _per_rank(values: list[float], group, device: str) -> list[list[float]]:
    """Every rank's ``values``, in rank order (an all-reduce SUM of one row per rank)."""
    t = torch.zeros(dist.get_world_size(group), len(values), dtype=torch.float64, device=device)
    t[dist.get_rank(group)] = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t, group=group)
    return t.tolist()


#: A case's outcome, as the number all-reduced (MAX) over the ranks: the worst one counts.
STATUSES = ("ok", "oom", "unsupported", "error")


def measure(build: Callable[[], Callable[[], object]], c, device: str, group, *,
             everyone: bool = True) -> dict[str, Any]:  # fmt: skip
    """Time one case. Every rank calls this; ``build()`` makes the inputs and returns the call,
    on every rank (``everyone``) or on rank 0 alone. Fixed warm-up and repeats; the record's
    time is the slowest rank's median. A failure on any rank is the case's status on all:
    ``"oom"`` (out of memory), ``"unsupported"`` or ``"error"`` (the first line in ``note``):
    a long-sequence limit (of memory, of a kernel's 32-bit indexing) is a result, not a crash."""
    rank = dist.get_rank(group)
    seconds, peak, code, note = 0.0, 0.0, 0, ""
    if everyone or rank == 0:
        call = None
        try:
            call = build()
            seconds = time_calls({0: call}, device=device, warmup=c.warmup,
                                 repeats=c.repeats)[0].median  # fmt: skip
            peak = float(peak_memory(call, device) or 0)
        except Exception as err:  # every rank fails alike: same shapes, same work
            code = STATUSES.index(classify(err))
            note = f"{type(err).__name__}: {(str(err).splitlines() or [''])[0][:200]}"
        finally:
            call = None
            release_memory(device)
    most = torch.tensor([seconds, float(code)], dtype=torch.float64, device=device)
    dist.all_reduce(most, op=dist.ReduceOp.MAX, group=group)  # the slowest rank, the worst status
    slowest, worst = most.tolist()
    ranks = _per_rank([seconds, peak], group, device)[: None if everyone else 1]
    if worst:
        return {"status": STATUSES[int(worst)], "note": note or "on another rank"}
    cuda = torch.device(device).type == "cuda"
    return {"status": "ok", "seconds": slowest, "seconds_by_rank": [t for t, _ in ranks],
            "peak_memory_bytes": [int(p) for _, p in ranks] if cuda else None,
            "repeats": c.repeats}  # fmt: skip

def save(record: dict[str, Any], out: str | None, schema: str, rank: int) -> None:
    if out is not None and rank == 0:
        save_record(record, Path(out), schema=schema)



def milliseconds(case: Mapping[str, Any]) -> float | str:
    return round(case["seconds"] * 1e3, 4) if case["status"] == "ok" else case["status"]
