"""Context and data parallelism measured on ``P`` processes (NCCL on GPUs, one per process;
gloo on CPUs): ``hyena-lab cp-bench`` (``ddp-bench`` is :mod:`.ddp_bench`; both run through
:mod:`.ranks`).

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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.distributed as dist

from .. import distributed
from ..bench.config import DTYPES
from ..checks import check_lengths, check_ndim, check_positive_int
from ..distributed import context_parallel_forward
from ..measure import environment
from ..operator import HyenaOperator
from ..options import float_in, int_in
from ..progress import progress_bar
from . import Experiment, option
from .ranks import (
    STATUSES,
    check_common,
    check_device,
    group_facts,
    launch,
    local_device,
    measure,
    milliseconds,
    release_memory,
    save,
)

__all__ = [
    "CASES", "DEFAULT_LENGTHS", "EXPERIMENTS", "CPBenchConfig", "check_world",
    "communication_pass", "cp_bench", "local_exchanges", "longest_fit", "run_cp_bench",
]  # fmt: skip

#: The cases of ``cp-bench`` at each length, in the order they run.
CASES = ("cp_forward", "cp_forward_backward", "communication", "compute_forward",
         "compute_forward_backward", "single_forward", "single_forward_backward")  # fmt: skip
#: Lengths of ``cp-bench`` when ``--lengths`` is not given.
DEFAULT_LENGTHS = {"cuda": tuple(2**p for p in range(16, 21)), "cpu": (256, 1024)}
#: Width of the operator's short convolution (HyenaOperator's default): a rank needs L/P >= 2.
_HALO = 3 - 1


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
        check_common(self, "d_model", "order", "batch")
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
        failed = [r[case]["status"] for r in results if r[case]["status"] in STATUSES[1:]]
        out[f"{case}_stopped_by"] = failed[0] if failed else None
    for p in ("forward", "forward_backward"):
        out[f"ratio_{p}"] = _ratio(out[f"cp_{p}"], out[f"single_{p}"])
    return out


def cp_bench(c: CPBenchConfig, group: dist.ProcessGroup | None = None) -> dict[str, Any]:
    """Run ``cp-bench`` on the ranks of ``group`` (every rank calls it); every rank returns the
    same record; rank 0 writes it to ``c.out`` after every length."""
    rank, world = dist.get_rank(group), dist.get_world_size(group)
    check_world(c, world)
    check_device(c.device, 1)
    device = local_device(c.device)
    dtype = c.torch_dtype(device)
    record: dict[str, Any] = {
        "run": environment(device), "config": asdict(c), **group_facts(group, device),
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
                entry[case] = measure(build, c, device, group, everyone=everyone)
                if entry[case]["status"] != "ok":
                    failed[case] = f"{entry[case]['status']} at L={L}"
        del op
        release_memory(device)
        entry.update(_derived(entry))
        record["results"].append(entry)
        record["longest_fit"] = longest_fit(record["results"])
        save(record, c.out, "cp-bench", rank)
    record["complete"] = True
    save(record, c.out, "cp-bench", rank)
    return record


def run_cp_bench(c: CPBenchConfig) -> dict[str, Any]:
    """``hyena-lab cp-bench``: :func:`cp_bench` in this group, under torchrun, or on
    ``c.procs`` spawned processes; the record."""
    return launch(cp_bench, c, check_world)


def _round(x: float | None, digits: int = 3) -> float | None:
    return None if x is None else round(x, digits)


def _cp_summary(r: Mapping[str, Any]) -> dict[str, Any]:
    """The last line: per length, each case's milliseconds (or "oom"), bandwidth and shares."""
    rows = [{"L": e["L"], **{f"{k}_ms": milliseconds(e[k]) for k in CASES},
             "bandwidth_gb_s": _round(e["bandwidth_gb_s"]),
             "communication_share": _round(e["communication_share"])}
            for e in r["results"]]  # fmt: skip
    return {"world_size": r["world_size"], "device": r["run"]["device"], "dtype": r["dtype"],
            "results": rows, "longest_fit": r.get("longest_fit"), "complete": r["complete"],
            "out": r["config"]["out"]}  # fmt: skip


EXPERIMENTS = (
    Experiment("cp-bench", "time the context-parallel Hyena operator on P processes against "
               "one device: communication, compute, memory (issue 21)", CPBenchConfig,
               run_cp_bench, _cp_summary, record=False),
)  # fmt: skip
