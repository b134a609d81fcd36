"""Context and data parallelism measured on ``P`` processes (NCCL on GPUs, one per process;
gloo on CPUs): ``hyena-lab cp-bench`` and ``hyena-lab ddp-bench``.

``cp-bench`` times one Hyena operator (Definition 3.1, Algorithm 3 of Sec. 3.4; ``d_model`` 768,
order 2) on a sequence split over ``P`` ranks
(:func:`hyena_lab.distributed.context_parallel_forward`) and takes the time apart at each ``L``:
``cp_forward`` and ``cp_forward_backward``, the pass as a model runs it; ``communication``, its
exchanges alone, the two all-to-alls of each long convolution on a ``(B, D, L/P)`` block
(:func:`communication_pass`; each rank sends :func:`~hyena_lab.distributed.bytes_moved` bytes);
``compute_forward`` and ``compute_forward_backward``, the pass with every exchange a local reshape
of the same shape (:func:`local_exchanges`); ``single_forward`` and ``single_forward_backward``,
the operator on the whole ``L`` on rank 0 alone while the others wait. Every rank makes the same
calls a *fixed* number of times (``--warmup``, ``--repeats``: the ranks' collectives stay in step),
timed by :func:`hyena_lab.measure.time_calls`; a case's time is the largest median over the ranks
(an all-reduce MAX: the slowest rank sets the pace), its peak memory is kept per rank. A case that
runs out of GPU memory is ``"oom"`` on every rank (another failure, such as a kernel's 32-bit
indexing limit, ``"error"`` with its message) and ``"skipped"`` at longer ``L``: the record shows
the longest ``L`` that fits on one GPU and on ``P`` (:func:`longest_fit`). Derived per ``L``: the
all-to-all bandwidth ``bytes_moved / t(communication)`` (bytes a rank sends per second), the
communication share ``t(communication) / t(cp_forward)``, the exposed share ``(t(cp_forward) -
t(compute_forward)) / t(cp_forward)``, the speed-ups over one device.

``ddp-bench`` times training steps (:func:`hyena_lab.train.train_step`, the chapter's AdamW and
clip) of chapter 07's Hyena LM (:mod:`hyena_lab.lm`) on ``--batch-per-rank`` windows per process:
on rank 0 alone, then on all ``P`` under DistributedDataParallel (weak scaling: the global batch
grows with ``P``); :func:`scaling_efficiency` is ``throughput(P) / (P * throughput(1))``.

Launch: ``torchrun --nproc-per-node P -m hyena_lab.cli cp-bench ...`` (``scripts/multi_gpu.sh``),
or ``hyena-lab cp-bench --procs P``, which spawns the processes; in a process group already (a
test), the run uses it. Rank 0 writes the record (``--out``) after every length, so a run cut short
keeps what it measured. NVLink multicast stays off (``NCCL_NVLS_ENABLE=0`` unless set). Limit: a
failure of one rank alone between two collectives of a pass leaves the others waiting; the
process group's ``--timeout`` ends the run. The ranks do the same work on the same shapes, so
they run out of memory together.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import socket
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from .. import distributed
from ..bench.cases import classify, release
from ..bench.config import DTYPES
from ..checks import check_lengths, check_ndim, check_positive_float, check_positive_int
from ..distributed import context_parallel_forward
from ..files import check_new_file, write_atomic
from ..lm import LM_MIXERS, LM_RECIPE, TextBatches, build_lm, lm_model_config, shakespeare
from ..lm.ddp import finish_distributed, init_distributed, launched_by_torchrun
from ..measure import environment, json_safe, peak_memory, rotating, save_record, time_calls
from ..operator import HyenaOperator
from ..options import float_in, int_in
from ..progress import progress_bar
from ..train import _optimizer, train_step
from . import Experiment, option

__all__ = [
    "CASES", "DEFAULT_BATCH", "DEFAULT_LENGTHS", "EXPERIMENTS", "CPBenchConfig", "DDPBenchConfig",
    "check_world", "communication_pass", "cp_bench", "ddp_bench", "local_exchanges", "longest_fit",
    "run_cp_bench", "run_ddp_bench", "scaling_efficiency",
]  # fmt: skip

#: The cases of ``cp-bench`` at each length, in the order they run.
CASES = ("cp_forward", "cp_forward_backward", "communication", "compute_forward",
         "compute_forward_backward", "single_forward", "single_forward_backward")  # fmt: skip
#: Lengths of ``cp-bench`` when ``--lengths`` is not given.
DEFAULT_LENGTHS = {"cuda": tuple(2**p for p in range(16, 21)), "cpu": (256, 1024)}
#: Windows per process of ``ddp-bench`` when ``--batch-per-rank`` is not given.
DEFAULT_BATCH = {"cuda": 2048, "cpu": 8}
#: Width of the operator's short convolution (HyenaOperator's default): a rank needs L/P >= 2.
_HALO = 3 - 1
#: NVLink multicast stays off: a program using it can take a shared host's GPUs out of service.
_NCCL_ENV = {"NCCL_NVLS_ENABLE": "0", "TORCH_SYMM_MEM_DISABLE_MULTICAST": "1",
             "NVSHMEM_DISABLE_NVLS": "1"}  # fmt: skip
_INPUT_SETS = 4  # batches that ddp-bench's steps rotate through


# ------------------------------------------------------------------------------------ options
#: ``--dtype`` choices: ``auto`` is bf16 on CUDA, fp32 on the CPU.
_DTYPE_NAMES = ("auto", *DTYPES)


@dataclass(frozen=True)
class CPBenchConfig:
    """The options of ``hyena-lab cp-bench`` (lengths and dtype default by device)."""

    lengths: tuple[int, ...] | None = option(
        None, "sequence lengths L, each a multiple of P (default: 2^16 .. 2^20 on cuda, 256 and "
        "1024 on cpu)", int_in(2, 2**30))  # fmt: skip
    d_model: int = option(768, "width D, a multiple of P (each rank convolves D/P channels)",
                          int_in(1, 2**16))  # fmt: skip
    order: int = option(2, "the operator's order N (long convolutions)", int_in(1, 16))
    batch: int = option(1, "sequences per pass", int_in(1, 2**16))
    dtype: str = option("auto", "bf16, fp16 or fp32 (auto: bf16 on cuda, fp32 on cpu)",
                        choices=_DTYPE_NAMES)  # fmt: skip
    device: str = option("cpu", "cuda (NCCL, one GPU per process) or cpu (gloo)",
                         choices=["cpu", "cuda"])  # fmt: skip
    procs: int | None = option(None, "processes P when not under torchrun (default 2; under "
                               "torchrun its --nproc-per-node)", int_in(1, 1024))  # fmt: skip
    warmup: int = option(2, "untimed calls of each case, on every rank", int_in(0, 10**4))
    repeats: int = option(10, "timed calls of each case, the same on every rank", int_in(1, 10**5))
    single: bool = option(True, "also time the operator on one device at the whole L (rank 0)")
    timeout: float = option(300.0, "seconds a collective may wait before the run is ended",
                            float_in(0, open_lo=True))  # fmt: skip
    seed: int = option(0, "seed of the weights and inputs", int_in(0, 2**31))
    out: str | None = option(None, "write the record (JSON) here, after every length",
                             metavar="PATH")  # fmt: skip
    progress: bool = option(True, "show a progress bar (rank 0)")

    def __post_init__(self) -> None:
        _check_common(self, "d_model", "order", "batch")
        if self.lengths is not None:
            object.__setattr__(self, "lengths", tuple(check_lengths(self.lengths)))
        if self.dtype not in _DTYPE_NAMES:
            raise ValueError(f"dtype must be one of {list(_DTYPE_NAMES)}, got {self.dtype!r}")
        if self.procs is not None:
            check_world(self, self.procs)

    def lengths_on(self, device: str) -> tuple[int, ...]:
        """The lengths to run: ``lengths``, or the default of ``device``'s type."""
        return self.lengths or DEFAULT_LENGTHS[torch.device(device).type]

    def torch_dtype(self, device: str) -> torch.dtype:
        """The dtype of the weights and inputs on ``device`` (``auto``: bf16 on CUDA, fp32)."""
        if self.dtype == "auto":
            return torch.bfloat16 if torch.device(device).type == "cuda" else torch.float32
        return DTYPES[self.dtype]


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
        _check_common(self, "block_size", "d_model", "n_layers", "batch_per_rank")
        if self.mixer not in LM_MIXERS:
            raise ValueError(f"mixer must be one of {list(LM_MIXERS)}, got {self.mixer!r}")

    def batch_on(self, device: str) -> int:
        """Windows per process: ``batch_per_rank``, or the default of ``device``'s type."""
        return self.batch_per_rank or DEFAULT_BATCH[torch.device(device).type]


def _check_common(c: CPBenchConfig | DDPBenchConfig, *positive: str) -> None:
    """The options both commands share, and the whole numbers ``positive`` (``None``: a default)."""
    if c.device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {c.device!r}")
    for name in ("procs", "repeats", *positive):
        if getattr(c, name) is not None:
            check_positive_int(getattr(c, name), name)
    check_positive_int(c.warmup, "warmup", minimum=0)
    check_positive_float(c.timeout, "timeout")


def check_world(c: CPBenchConfig, world: int) -> None:
    """Raise ``ValueError`` unless ``c`` can run on ``world`` ranks: ``P`` divides ``d_model``
    (channel sharding) and every ``L``, with ``L/P >= 2`` (the short convolution's halo)."""
    if c.d_model % world:
        raise ValueError(f"d_model={c.d_model} must be a multiple of the P={world} processes: "
                         f"each rank convolves d_model/P channels")  # fmt: skip
    for L in c.lengths_on(c.device):
        if L % world or L // world < _HALO:
            raise ValueError(f"each length must be a multiple of the P={world} processes with "
                             f"L/P >= {_HALO} (each rank holds L/P positions and the short "
                             f"convolution's halo of {_HALO}), got L={L}")  # fmt: skip


def _check_device(device: str, world: int) -> None:
    """A clear error when ``world`` processes cannot each have a GPU."""
    if device != "cuda":
        return
    if not torch.cuda.is_available():
        raise ValueError("device 'cuda' asked for, but this machine has no CUDA device: "
                         "use --device cpu")  # fmt: skip
    if torch.cuda.device_count() < world:
        raise ValueError(f"{world} processes need one GPU each: {torch.cuda.device_count()} here")


# ---------------------------------------------------------------------------------- launching
def _launch(body: Callable[[Any, Any], dict], c: CPBenchConfig | DDPBenchConfig) -> dict:
    """``body(c, group)`` on every rank; rank 0's record. In a process group already: there;
    under torchrun: join it (stdout of ranks > 0 silenced) and leave it; else spawn ``procs``."""
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
    _check_device(c.device, world)
    if isinstance(c, CPBenchConfig):
        check_world(c, world)
    import torch.multiprocessing as mp

    with tempfile.TemporaryDirectory() as tmp, socket.socket() as s:
        s.bind(("127.0.0.1", 0))  # a free port for the processes to meet on
        out, port = Path(tmp) / "record.json", s.getsockname()[1]
        s.close()
        mp.spawn(_spawned, args=(world, port, body, c, str(out)), nprocs=world)
        return json.loads(out.read_text())


def _join(c: CPBenchConfig | DDPBenchConfig, local: int, **init: Any) -> None:
    """Join the process group with ``c.timeout``: NCCL and GPU ``local`` on CUDA, else gloo."""
    _check_device(c.device, local + 1)
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


def _local_device(device: str) -> str:
    """This process's device: ``cuda:<current>`` (set when joining) or ``cpu``."""
    return f"cuda:{torch.cuda.current_device()}" if device == "cuda" else "cpu"


def _group_facts(group, device: str) -> dict[str, Any]:
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
def _release(device: str) -> None:
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
_STATUSES = ("ok", "oom", "unsupported", "error")


def _measure(build: Callable[[], Callable[[], object]], c, device: str, group, *,
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
            code = _STATUSES.index(classify(err))
            note = f"{type(err).__name__}: {(str(err).splitlines() or [''])[0][:200]}"
        finally:
            call = None
            _release(device)
    most = torch.tensor([seconds, float(code)], dtype=torch.float64, device=device)
    dist.all_reduce(most, op=dist.ReduceOp.MAX, group=group)  # the slowest rank, the worst status
    slowest, worst = most.tolist()
    ranks = _per_rank([seconds, peak], group, device)[: None if everyone else 1]
    if worst:
        return {"status": _STATUSES[int(worst)], "note": note or "on another rank"}
    cuda = torch.device(device).type == "cuda"
    return {"status": "ok", "seconds": slowest, "seconds_by_rank": [t for t, _ in ranks],
            "peak_memory_bytes": [int(p) for _, p in ranks] if cuda else None,
            "repeats": c.repeats}  # fmt: skip


# --------------------------------------------------------------------------- the cp-bench passes
@torch.no_grad()
def communication_pass(
    z_local: torch.Tensor, n_conv: int, group: dist.ProcessGroup | None = None
) -> torch.Tensor:
    """The exchanges of one context-parallel forward pass and nothing else: for each of its
    ``n_conv`` long convolutions, ``(B, C, L/P)`` -> ``(B, C/P, L)`` -> ``(B, C, L/P)``
    (:func:`~hyena_lab.distributed.sequence_to_channels` and back). Each rank sends
    ``bytes_moved(B, L, C, P, n_conv)`` bytes; the values come back where they were."""
    check_ndim(z_local, "z_local", 3, "(batch, channels, seq_len / P)")
    for _ in range(check_positive_int(n_conv, "n_conv", minimum=0)):
        z_ch = distributed.sequence_to_channels(z_local, group)  # (B, C/P, L)
        z_local = distributed.channels_to_sequence(z_ch, group)  # (B, C, L/P)
    return z_local


def _own_pieces(pieces: list[torch.Tensor], group) -> tuple[torch.Tensor, ...]:
    return tuple(p.contiguous() for p in pieces)  # rank j's piece "received" from j: same shape


@contextlib.contextmanager
def local_exchanges() -> Iterator[None]:
    """Inside: every exchange of :mod:`hyena_lab.distributed` is local. Its all-to-alls return
    this rank's own pieces (the shapes of what would arrive) and its halo is zeros, so
    :func:`~hyena_lab.distributed.context_parallel_forward` does the pass's arithmetic, on
    tensors of the pass's shapes, with no communication (the values differ; the work does not).
    In this process only; every call inside must be on a rank of an initialised group."""
    saved = distributed._all_to_all, distributed._shift
    distributed._all_to_all = _own_pieces
    distributed._shift = lambda x, step, group: torch.zeros_like(x)
    try:
        yield
    finally:
        distributed._all_to_all, distributed._shift = saved


def _operator(c: CPBenchConfig, L: int, device: str, dtype: torch.dtype) -> HyenaOperator:
    """The same order-``c.order`` operator on every rank (seeded), on ``device`` in ``dtype``."""
    torch.manual_seed(c.seed)
    return HyenaOperator(c.d_model, L, order=c.order).to(device=device, dtype=dtype)


def _randn(shape: tuple[int, ...], seed: int, device: str, dtype: torch.dtype,
           grad: bool = False) -> torch.Tensor:  # fmt: skip
    g = torch.Generator(device=device).manual_seed(seed)
    return torch.randn(shape, generator=g, device=device, dtype=dtype).requires_grad_(grad)


def _passes(c: CPBenchConfig, op: HyenaOperator, L: int, device: str, dtype: torch.dtype,
            group) -> dict[str, tuple[bool, Callable[[], Callable[[], object]]]]:  # fmt: skip
    """``{case: (every rank runs it, build)}`` at length ``L``; ``build()`` makes the inputs and
    returns the call to time."""
    rank, world = dist.get_rank(group), dist.get_world_size(group)
    B, D, n = c.batch, c.d_model, L // world
    params = [p for p in op.parameters() if p.requires_grad]

    def operator_pass(length: int, grad: bool, context_parallel: bool, local: bool):
        def build() -> Callable[[], object]:
            u = _randn((B, length, D), 1 + rank, device, dtype, grad)  # (B, L or L/P, D)
            dy = _randn((B, length, D), 1001 + rank, device, dtype) if grad else None

            def forward() -> torch.Tensor:
                return context_parallel_forward(op, u, group) if context_parallel else op(u)

            def call() -> object:
                with local_exchanges() if local else contextlib.nullcontext():
                    if not grad:
                        with torch.no_grad():
                            return forward()
                    return torch.autograd.grad(forward(), [u, *params], dy, allow_unused=True)

            return call

        return build

    def communication() -> Callable[[], object]:
        z = _randn((B, D, n), 2001 + rank, device, dtype)  # (B, D, L/P): one block

        return lambda: communication_pass(z, c.order, group)

    return {
        "cp_forward": (True, operator_pass(n, False, True, False)),
        "cp_forward_backward": (True, operator_pass(n, True, True, False)),
        "communication": (True, communication),
        "compute_forward": (True, operator_pass(n, False, True, True)),
        "compute_forward_backward": (True, operator_pass(n, True, True, True)),
        "single_forward": (False, operator_pass(L, False, False, False)),
        "single_forward_backward": (False, operator_pass(L, True, False, False)),
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _derived(entry: dict[str, Any]) -> dict[str, float | None]:
    """Bandwidth, communication shares and speed-ups of one length's cases."""
    t = {k: v["seconds"] for k, v in entry.items() if isinstance(v, dict) and "seconds" in v}
    fwd, comm = t.get("cp_forward"), t.get("communication")
    exposed = None if fwd is None or "compute_forward" not in t else fwd - t["compute_forward"]
    return {
        "bandwidth_gb_s": _ratio(entry["bytes_moved"] / 1e9, comm) if entry["bytes_moved"]
        else None,
        "communication_share": _ratio(comm, fwd),
        "exposed_communication_share": _ratio(exposed, fwd),
        "speedup_forward": _ratio(t.get("single_forward"), fwd),
        "speedup_forward_backward": _ratio(t.get("single_forward_backward"),
                                           t.get("cp_forward_backward")),
    }  # fmt: skip


def longest_fit(results: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The longest ``L`` whose case ran (``None``: none did) for the single-device and the
    context-parallel passes, and their ratio (context-parallel over single, forward and
    forward+backward); ``*_stopped_by``: what stopped it at the next length (``"oom"``, or the
    status of another failure), ``None`` when the longest length tried ran: then the true
    longest is only known to be at least that."""
    out: dict[str, Any] = {}
    for case in ("single_forward", "single_forward_backward", "cp_forward",
                 "cp_forward_backward"):  # fmt: skip
        ok = [r["L"] for r in results if r[case]["status"] == "ok"]
        out[case] = max(ok) if ok else None
        failed = [r[case]["status"] for r in results if r[case]["status"] in _STATUSES[1:]]
        out[f"{case}_stopped_by"] = failed[0] if failed else None
    for p in ("forward", "forward_backward"):
        out[f"ratio_{p}"] = _ratio(out[f"cp_{p}"], out[f"single_{p}"])
    return out


def cp_bench(c: CPBenchConfig, group: dist.ProcessGroup | None = None) -> dict[str, Any]:
    """Run ``cp-bench`` on the ranks of ``group`` (every rank calls it); every rank returns the
    same record; rank 0 writes it to ``c.out`` after every length."""
    rank, world = dist.get_rank(group), dist.get_world_size(group)
    check_world(c, world)
    _check_device(c.device, 1)
    device = _local_device(c.device)
    dtype = c.torch_dtype(device)
    record: dict[str, Any] = {
        "run": environment(device), "config": asdict(c), **_group_facts(group, device),
        "dtype": str(dtype).removeprefix("torch."), "lengths": list(c.lengths_on(device)),
        "cases": list(CASES), "results": [], "complete": False,
    }  # fmt: skip
    failed: dict[str, str] = {}  # case -> how and where it failed
    for L in progress_bar(record["lengths"], enabled=c.progress and rank == 0, desc="cp-bench",
                          unit="L"):  # fmt: skip
        moved = distributed.bytes_moved(c.batch, L, c.d_model, world, c.order, dtype)
        entry: dict[str, Any] = {"L": L, "positions_per_rank": L // world, "bytes_moved": moved}
        op = _operator(c, L, device, dtype)
        for case, (everyone, build) in _passes(c, op, L, device, dtype, group).items():
            if case.startswith("single") and not c.single:
                entry[case] = {"status": "skipped", "note": "--no-single"}
            elif case in failed:
                entry[case] = {"status": "skipped", "note": failed[case]}
            else:
                entry[case] = _measure(build, c, device, group, everyone=everyone)
                if entry[case]["status"] != "ok":
                    failed[case] = f"{entry[case]['status']} at L={L}"
        del op
        _release(device)
        entry.update(_derived(entry))
        record["results"].append(entry)
        record["longest_fit"] = longest_fit(record["results"])
        _save(record, c.out, "cp-bench", rank)
    record["complete"] = True
    _save(record, c.out, "cp-bench", rank)
    return record


def _save(record: dict[str, Any], out: str | None, schema: str, rank: int) -> None:
    if out is not None and rank == 0:
        save_record(record, Path(out), schema=schema)


def run_cp_bench(c: CPBenchConfig) -> dict[str, Any]:
    """``hyena-lab cp-bench``: :func:`cp_bench` in this group, under torchrun, or on
    ``c.procs`` spawned processes; the record."""
    return _launch(cp_bench, c)


def _ms(case: Mapping[str, Any]) -> float | str:
    return round(case["seconds"] * 1e3, 4) if case["status"] == "ok" else case["status"]


def _round(x: float | None, digits: int = 3) -> float | None:
    return None if x is None else round(x, digits)


def _cp_summary(r: Mapping[str, Any]) -> dict[str, Any]:
    """The last line: per length, each case's milliseconds (or "oom"), bandwidth and shares."""
    rows = [{"L": e["L"], **{f"{k}_ms": _ms(e[k]) for k in CASES},
             "bandwidth_gb_s": _round(e["bandwidth_gb_s"]),
             "communication_share": _round(e["communication_share"])}
            for e in r["results"]]  # fmt: skip
    return {"world_size": r["world_size"], "device": r["run"]["device"], "dtype": r["dtype"],
            "results": rows, "longest_fit": r.get("longest_fit"), "complete": r["complete"],
            "out": r["config"]["out"]}  # fmt: skip


# --------------------------------------------------------------------------------- ddp-bench
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
    _check_device(c.device, 1)
    device = _local_device(c.device)
    batch = c.batch_on(device)
    data = TextBatches(shakespeare(), c.block_size)
    model_config = lm_model_config(c.mixer, data.corpus.vocab.size, c.block_size, c.d_model,
                                   c.n_layers)  # fmt: skip
    record: dict[str, Any] = {
        "run": environment(device), "config": asdict(c), **_group_facts(group, device),
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
            optimizer = _optimizer(model, LM_RECIPE)
            return rotating(lambda xy: train_step(net, optimizer, *xy, LM_RECIPE.grad_clip), sets)

        return build

    record["one_process"] = _measure(steps(False), c, device, group, everyone=False)
    _save(record, c.out, "ddp-bench", rank)
    record["all_processes"] = _measure(steps(True), c, device, group)
    tokens = batch * c.block_size
    one, many = record["one_process"], record["all_processes"]
    tps1 = tokens / one["seconds"] if one["status"] == "ok" else None
    tpsp = world * tokens / many["seconds"] if many["status"] == "ok" else None
    record["tokens_per_s"] = {"1": tps1, str(world): tpsp}
    both = tps1 is not None and tpsp is not None
    record["scaling_efficiency"] = scaling_efficiency(tps1, tpsp, world) if both else None
    record["complete"] = True
    _save(record, c.out, "ddp-bench", rank)
    return record


def run_ddp_bench(c: DDPBenchConfig) -> dict[str, Any]:
    """``hyena-lab ddp-bench``: :func:`ddp_bench` in this group, under torchrun, or on
    ``c.procs`` spawned processes; the record."""
    return _launch(ddp_bench, c)


def _ddp_summary(r: Mapping[str, Any]) -> dict[str, Any]:
    return {"world_size": r["world_size"], "device": r["run"]["device"], "params": r.get("params"),
            "batch_per_rank": r["batch_per_rank"], "step_ms_1": _ms(r["one_process"]),
            f"step_ms_{r['world_size']}": _ms(r["all_processes"]),
            "tokens_per_s": r["tokens_per_s"], "scaling_efficiency": r["scaling_efficiency"],
            "out": r["config"]["out"]}  # fmt: skip


EXPERIMENTS = (
    Experiment("cp-bench", "time the context-parallel Hyena operator on P processes against "
               "one device: communication, compute, memory (issue 21)", CPBenchConfig,
               run_cp_bench, _cp_summary, record=False),
    Experiment("ddp-bench", "tokens per second of chapter 07's Hyena LM training on 1 and P "
               "processes (DDP) and the scaling efficiency", DDPBenchConfig, run_ddp_bench,
               _ddp_summary, record=False),
)  # fmt: skip
