"""Benchmarks: the FFT long convolution and the Hyena operator against attention (paper Sec. 4.4).

The paper's efficiency claim (Sec. 4.4, Fig. 4.3) is about run time as the sequence grows: the
attention matrix costs ``O(L^2)`` per sequence, Hyena's FFT convolutions ``O(L log L)``. This
module measures both sides on the device at hand:

* kernel level: :func:`hyena_lab.fftconv` on ``u`` (batch, d_model, L) against causal
  ``torch.nn.functional.scaled_dot_product_attention`` (SDPA) on ``q, k, v``
  (batch, heads, L, d_model / heads), every SDPA backend timed (cuDNN, flash, memory-efficient,
  math; the best is reported with its name), and a naive attention that materialises the
  ``(L, L)`` score matrix;
* layer level: the order-2 :class:`hyena_lab.operator.HyenaOperator` against a causal
  multi-head attention layer (:class:`CausalSelfAttention`: q/k/v projection, SDPA with the
  best backend measured at that length, output projection), both on (batch, L, d_model);

each forward only (under ``torch.no_grad``) and forward+backward (gradients of the inputs and
of every parameter), at a fixed number of tokens per batch (``batch = tokens // L``, at least 1,
so past ``L = tokens`` the batch is 1 and the tokens grow with ``L``).

Method (the handbook's conventions for GPU measurements):

* Timing by :mod:`hyena_lab.measure`: on a GPU CUDA events around every call, on the CPU
  ``time.perf_counter``; after a warm-up, the median of many calls; the number of calls adapts
  to the case (``--target-ms`` of timed work, between ``--min-repeats`` and
  ``--max-repeats``); calls rotate over several input sets so that repeated runs do not
  measure a warm L2 cache; inputs are random normal, never zeros.
* Peak memory (:func:`hyena_lab.measure.peak_memory`): what one call allocates on top of its
  inputs and parameters (outputs and saved activations included), from
  ``torch.cuda.max_memory_allocated``; ``None`` on the CPU.
* An out-of-memory error, an unsupported backend or a case that the rules skip is recorded as
  a point with ``status`` ``"oom"``, ``"unsupported"``, ``"skipped"`` or ``"error"`` and no
  time: never a crash. Skips keep the whole run bounded: a case is skipped when its predicted
  time per call (the last measured length scaled by the FLOP/byte model of
  :mod:`hyena_lab.roofline`) exceeds ``--max-call-ms``, when a materialised ``(L, L)`` score
  matrix would not fit in device memory, or when ``--time-budget`` seconds are spent.
* The roofline ceilings (copy bandwidth, matrix-product rates) are measured on the device first,
  and every benchmarked function is checked against a float64 reference
  (:func:`accuracy_checks`) at the shortest length.

Reproduce the recorded data (``figures/data/05_gpu_kernels-bench.json``, one H100, about
3 minutes; the defaults are d_model 768, 12 heads, 2^18 tokens per batch, L = 2^10 .. 2^20)::

    python -m hyena_lab.bench --device cuda --dtype bf16 --time-budget 420 --max-call-ms 1200 \
        --out figures/data/05_gpu_kernels-bench.json

and the second run (``05_gpu_kernels-repeat.json``: the noise floor and layer profiles) with
``--lengths 1024,8192,65536 --benches fftconv,sdpa,hyena,mha --backends cudnn,flash
--profile-length 8192 --profile-layers 8192 --time-budget 200``. A small CPU run:
``python -m hyena_lab.bench --device cpu --dtype fp32 --d-model 64 --heads 4 --tokens 4096
--lengths 128,256,512 --threads 1``. The last line printed is one JSON object (the summary:
crossover lengths, speedups at 8K/64K/256K, the FFT convolution's roofline gap).

Results file (a :func:`hyena_lab.measure.save_record` record, ``"schema"`` ``RECORD_SCHEMA``
version 1), checked by :func:`validate_results`: ``meta`` (``SCHEMA``, the machine from
:func:`hyena_lab.measure.environment`, dtype, d_model, heads, tokens_per_batch, lengths,
command, timing settings), ``ceilings`` (:meth:`hyena_lab.roofline.Ceilings.to_dict`),
``points`` (one per case: bench, pass, backend, L, batch, tokens, status, time_ms (median),
time_ms_p20/p80, repeats, input_sets, peak_mem_mb, flops, bytes_floor, seconds spent, note),
``accuracy``, ``fftconv_profile`` and optionally ``layer_profile`` (:func:`profile_call`
results) and ``summary`` (:func:`summarize`).

Recorded on an H100 (torch 2.11, bf16; chapter 5 discusses them): cuDNN is the fastest SDPA
backend at every length; ``fftconv`` overtakes it at L = 10K forward (7K forward+backward),
the Hyena operator overtakes the attention layer at 54K forward (39K forward+backward), with
speedups of 0.26x / 1.1x / 3.7x at 8K / 64K / 256K forward. ``fftconv`` runs 30-50x above its
HBM floor: the unfused PyTorch implementation moves 22x its minimal bytes. Two runs agree
within 3%.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from .checks import check_positive_float, check_positive_int, rel_err
from .conv import fftconv
from .files import check_new_file
from .measure import (
    Stopwatch,
    Timing,
    json_safe,
    load_record,
    peak_memory,
    rotating,
    save_record,
    time_calls,
)
from .measure import environment as machine_environment
from .options import float_in, int_in
from .progress import bars_disabled
from .roofline import (
    Ceilings,
    Cost,
    attention_cost,
    fftconv_cost,
    hyena_layer_cost,
    measure_ceilings,
    mha_layer_cost,
)

__all__ = [
    "BENCHES",
    "PASSES",
    "SCHEMA",
    "SDPA_BACKENDS",
    "BenchConfig",
    "CausalSelfAttention",
    "Timing",
    "accuracy_checks",
    "add_bench_command",
    "command_line",
    "crossover_length",
    "format_summary",
    "format_times",
    "load_results",
    "main",
    "naive_causal_attention",
    "peak_memory_bytes",
    "profile_call",
    "profile_fftconv",
    "profile_layers",
    "run_benchmarks",
    "run_to_run",
    "sdpa_causal",
    "summarize",
    "time_call",
    "times",
    "validate_results",
]

SCHEMA = "hyena-lab.bench/1"  # meta.schema; the record's "schema" field: RECORD_SCHEMA v1
RECORD_SCHEMA = "hyena-lab.bench"
BENCHES = ("fftconv", "sdpa", "naive", "hyena", "mha")
PASSES = ("fwd", "fwd+bwd")
SDPA_BACKENDS = ("cudnn", "flash", "efficient", "math")
STATUSES = ("ok", "oom", "unsupported", "skipped", "error", "unavailable")
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
#: The lengths at which the paper quotes speedups (8K, 64K) and one longer (256K).
SPEEDUP_LENGTHS = (8192, 65536, 262144)
#: Which benches are compared: (attention side, Hyena side) at kernel and at layer level.
COMPARISONS = {"kernel": ("sdpa", "fftconv"), "layer": ("mha", "hyena")}
#: Bytes per score that a materialised (L, L) attention needs (bf16 scores, fp32 softmax ...).
_SCORE_BYTES = {"fwd": 10, "fwd+bwd": 20}

Inputs = tuple[torch.Tensor, ...]


# ----------------------------------------------------------------------------------------------
# Attention baselines
# ----------------------------------------------------------------------------------------------


def _sdpa_backend(name: str):
    """The ``torch.nn.attention.SDPBackend`` member called ``name`` (see ``SDPA_BACKENDS``)."""
    from torch.nn.attention import SDPBackend

    members = {
        "cudnn": SDPBackend.CUDNN_ATTENTION,
        "flash": SDPBackend.FLASH_ATTENTION,
        "efficient": SDPBackend.EFFICIENT_ATTENTION,
        "math": SDPBackend.MATH,
    }
    if name not in members:
        raise ValueError(f"SDPA backend must be one of {sorted(members)}, got {name!r}")
    return members[name]


def sdpa_causal(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, backend: str | None = None
) -> torch.Tensor:
    """Causal SDPA on (batch, heads, L, head_dim), restricted to one ``backend`` if given.

    With ``backend=None`` PyTorch picks. A backend that cannot run these inputs raises
    ``RuntimeError`` ("No available kernel"), which the benchmark records as unsupported.
    """
    if backend is None:
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    from torch.nn.attention import sdpa_kernel

    with sdpa_kernel(_sdpa_backend(backend)):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)


def naive_causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``softmax(q k^T / sqrt(d_h) + causal mask) v`` with the (L, L) scores in memory.

    The textbook attention of paper Sec. 2.2: ``O(L^2)`` time *and* memory per head, which is
    what the fused kernels of SDPA avoid storing. The softmax runs in float32.
    """
    L = q.shape[-2]
    scores = (q @ k.transpose(-2, -1)) * q.shape[-1] ** -0.5  # (batch, heads, L, L)
    future = torch.ones(L, L, dtype=torch.bool, device=q.device).triu(1)
    scores = scores.masked_fill(future, float("-inf"))
    wide = torch.promote_types(scores.dtype, torch.float32)  # float32, or float64 for a reference
    return torch.softmax(scores.to(wide), dim=-1).to(q.dtype) @ v  # (batch, heads, L, head_dim)


class CausalSelfAttention(nn.Module):
    """A causal multi-head self-attention layer on (batch, L, d_model), the Transformer's mixer.

    ``qkv = Linear(d_model, 3 d_model)``, causal SDPA over ``heads`` heads of width
    ``d_model / heads``, ``out_proj = Linear(d_model, d_model)``. ``backend`` pins the SDPA
    backend (``None``: PyTorch's choice).
    """

    def __init__(self, d_model: int, heads: int, backend: str | None = None) -> None:
        super().__init__()
        check_positive_int(d_model, "d_model")
        check_positive_int(heads, "heads")
        if d_model % heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by heads ({heads})")
        if backend is not None:
            _sdpa_backend(backend)
        self.heads = heads
        self.backend = backend
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, L, d = x.shape
        qkv = self.qkv(x).view(batch, L, 3, self.heads, d // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (batch, heads, L, head_dim)
        o = sdpa_causal(q, k, v, self.backend)  # (batch, heads, L, head_dim)
        return self.out_proj(o.transpose(1, 2).reshape(batch, L, d))


# ----------------------------------------------------------------------------------------------
# Timing
# ----------------------------------------------------------------------------------------------


def time_call(
    call: Callable[[Inputs], object],
    inputs: Sequence[Inputs],
    *,
    device: str | torch.device = "cpu",
    warmup: int = 2,
    min_repeats: int = 5,
    max_repeats: int = 50,
    target_ms: float = 300.0,
) -> Timing:
    """:func:`hyena_lab.measure.time_calls` of ``call(inputs[i % n])``, rotating over the ``n``
    input sets: after ``warmup`` calls, one call estimates the time, then as many calls as fit
    in ``target_ms`` (clamped to ``[min_repeats, max_repeats]``) are timed, with CUDA events on
    a GPU (no host synchronisation between calls) and ``time.perf_counter`` on the CPU.
    """
    check_positive_float(target_ms, "target_ms")
    timed = rotating(call, inputs)
    return time_calls({0: timed}, device=device, warmup=warmup, target_s=target_ms / 1e3,
                      min_repeats=min_repeats, max_repeats=max_repeats)[0]


def peak_memory_bytes(call: Callable[[Inputs], object], inputs: Inputs, device) -> int | None:
    """Deprecated: :func:`hyena_lab.measure.peak_memory` of ``lambda: call(inputs)``."""
    warnings.warn("bench.peak_memory_bytes(call, inputs, device) is deprecated: use "
                  "hyena_lab.measure.peak_memory(lambda: call(inputs), device)",
                  DeprecationWarning, stacklevel=2)
    return peak_memory(lambda: call(inputs), device)


# ----------------------------------------------------------------------------------------------
# Configuration and cases
# ----------------------------------------------------------------------------------------------


def _default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass
class BenchConfig:
    """Everything that defines one benchmark run (each field is a command-line option)."""

    device: str = field(default_factory=_default_device)
    dtype: str = "bf16"
    d_model: int = 768
    heads: int = 12
    tokens: int = 2**18
    lengths: tuple[int, ...] = tuple(2**p for p in range(10, 21))  # 1K .. 1M
    benches: tuple[str, ...] = BENCHES
    passes: tuple[str, ...] = PASSES
    backends: tuple[str, ...] = SDPA_BACKENDS
    order: int = 2
    warmup: int = 2
    min_repeats: int = 5
    max_repeats: int = 50
    target_ms: float = 300.0
    max_call_ms: float = 1000.0
    time_budget_s: float = 480.0
    max_sets: int = 3
    seed: int = 0
    profile_length: int | None = 65536
    threads: int | None = None  # CPU threads during the run (None: leave torch's setting)
    profile_layers: int | None = None  # profile Hyena and attention layers at this length

    def validate(self) -> BenchConfig:
        """Raise ``ValueError``/``TypeError`` on a bad field; return ``self``."""
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {self.dtype!r}")
        dev = torch.device(self.device)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("device 'cuda' asked for but torch.cuda.is_available() is False")
        for name in ("d_model", "heads", "tokens", "order", "min_repeats", "max_sets"):
            check_positive_int(getattr(self, name), name)
        check_positive_int(self.warmup, "warmup", minimum=0)
        check_positive_int(self.max_repeats, "max_repeats", minimum=self.min_repeats)
        for name in ("target_ms", "max_call_ms", "time_budget_s"):
            check_positive_float(getattr(self, name), name)
        if self.d_model % self.heads:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by heads ({self.heads})")
        if not self.lengths:
            raise ValueError("lengths must name at least one sequence length")
        for L in self.lengths:
            check_positive_int(L, "each length")
        if self.threads is not None:
            check_positive_int(self.threads, "threads")
        for name in ("profile_length", "profile_layers"):
            if getattr(self, name) is not None:
                check_positive_int(getattr(self, name), name)
        _check_choices(self.benches, BENCHES, "benches")
        _check_choices(self.passes, PASSES, "passes")
        _check_choices(self.backends, SDPA_BACKENDS, "backends")
        return self

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    @property
    def head_dim(self) -> int:
        return self.d_model // self.heads

    def batch_for(self, L: int) -> int:
        """Batch size at length ``L``: ``tokens // L``, at least 1."""
        return max(1, self.tokens // L)


def _check_choices(values: Sequence[str], allowed: Sequence[str], name: str) -> None:
    bad = [v for v in values if v not in allowed]
    if bad or not values:
        raise ValueError(f"{name} must be a non-empty subset of {list(allowed)}, got {values}")


@dataclass
class Workload:
    """One case made runnable: ``make_inputs(i)`` builds input set ``i``; ``call`` runs it."""

    make_inputs: Callable[[int], Inputs]
    call: Callable[[Inputs], object]


def _randn(shape: Sequence[int], cfg: BenchConfig, seed: int, grad: bool = False) -> torch.Tensor:
    """Random normal tensor on the benchmark's device and dtype (never zeros), seeded."""
    g = torch.Generator(device=cfg.device).manual_seed(seed)
    x = torch.randn(*shape, generator=g, device=cfg.device, dtype=cfg.torch_dtype)
    return x.requires_grad_(grad)


def _make_call(
    fn: Callable[..., torch.Tensor], pass_: str, params: Sequence[torch.Tensor] = ()
) -> Callable[[Inputs], object]:
    """Wrap ``fn`` into a benchmark call for ``pass_``.

    ``"fwd"``: ``fn(*xs)`` under ``torch.no_grad`` (inference). ``"fwd+bwd"``: the input set is
    ``(*xs, dy)``; the call runs ``fn(*xs)`` and the gradients of every input that requires
    them and of ``params``, through ``torch.autograd.grad`` (no accumulation into ``.grad``).
    """
    if pass_ == "fwd":

        def forward(inputs: Inputs) -> object:
            with torch.no_grad():
                return fn(*inputs)

        return forward

    def forward_backward(inputs: Inputs) -> object:
        *xs, dy = inputs
        wrt = [x for x in xs if x.requires_grad] + list(params)
        return torch.autograd.grad(fn(*xs), wrt, dy)

    return forward_backward


def _fftconv_workload(cfg: BenchConfig, L: int, pass_: str) -> Workload:
    """``fftconv(u, k)`` with ``u`` (batch, d_model, L) and ``k`` (d_model, L)."""
    batch, d, grad = cfg.batch_for(L), cfg.d_model, pass_ == "fwd+bwd"

    def make(i: int) -> Inputs:
        s = cfg.seed + 10 * i
        u = _randn((batch, d, L), cfg, s, grad)
        k = _randn((d, L), cfg, s + 1, grad) / math.sqrt(L)  # a decaying-size filter
        k = k.detach().requires_grad_(grad)
        return (u, k, _randn((batch, d, L), cfg, s + 2)) if grad else (u, k)

    return Workload(make, _make_call(fftconv, pass_))


def _attention_workload(cfg: BenchConfig, L: int, pass_: str, backend: str | None) -> Workload:
    """SDPA (``backend``) or, with ``backend=None``, the naive attention on (b, h, L, d_h)."""
    shape = (cfg.batch_for(L), cfg.heads, L, cfg.head_dim)
    grad = pass_ == "fwd+bwd"

    def make(i: int) -> Inputs:
        s = cfg.seed + 10 * i
        qkv = tuple(_randn(shape, cfg, s + j, grad) for j in range(3))
        return (*qkv, _randn(shape, cfg, s + 3)) if grad else qkv

    if backend is None:
        return Workload(make, _make_call(naive_causal_attention, pass_))
    return Workload(make, _make_call(lambda q, k, v: sdpa_causal(q, k, v, backend), pass_))


def _layer_workload(module: nn.Module, cfg: BenchConfig, L: int, pass_: str) -> Workload:
    """A layer on ``x`` (batch, L, d_model); forward+backward also differentiates its weights."""
    shape = (cfg.batch_for(L), L, cfg.d_model)
    grad = pass_ == "fwd+bwd"
    params = [p for p in module.parameters() if p.requires_grad] if grad else []

    def make(i: int) -> Inputs:
        s = cfg.seed + 10 * i
        x = _randn(shape, cfg, s, grad)
        return (x, _randn(shape, cfg, s + 1)) if grad else (x,)

    return Workload(make, _make_call(module, pass_, params))


def build_hyena(cfg: BenchConfig, L: int) -> nn.Module:
    """The order-``cfg.order`` Hyena operator for length ``L`` on the benchmark's device/dtype."""
    from .operator import HyenaOperator  # written alongside; absent -> "unavailable"

    torch.manual_seed(cfg.seed)
    op = HyenaOperator(cfg.d_model, l_max=L, order=cfg.order)
    return op.to(device=cfg.device, dtype=cfg.torch_dtype)


def _workload(cfg: BenchConfig, bench: str, L: int, pass_: str, backend: str | None) -> Workload:
    """Build the workload of one case (may raise OOM or ImportError: handled by the caller)."""
    if bench == "fftconv":
        return _fftconv_workload(cfg, L, pass_)
    if bench in ("sdpa", "naive"):
        return _attention_workload(cfg, L, pass_, backend if bench == "sdpa" else None)
    if bench == "hyena":
        return _layer_workload(build_hyena(cfg, L), cfg, L, pass_)
    if bench == "mha":
        torch.manual_seed(cfg.seed)
        layer = CausalSelfAttention(cfg.d_model, cfg.heads, backend)
        return _layer_workload(layer.to(cfg.device, cfg.torch_dtype), cfg, L, pass_)
    raise ValueError(f"bench must be one of {BENCHES}, got {bench!r}")


def case_cost(cfg: BenchConfig, bench: str, L: int, pass_: str) -> Cost:
    """FLOP/byte model (:mod:`hyena_lab.roofline`) of one case."""
    batch, e, bwd = cfg.batch_for(L), cfg.torch_dtype.itemsize, pass_ == "fwd+bwd"
    if bench == "fftconv":
        return fftconv_cost(batch, cfg.d_model, L, e, backward=bwd)
    if bench in ("sdpa", "naive"):
        return attention_cost(batch, cfg.heads, L, cfg.head_dim, e, backward=bwd)
    if bench == "hyena":
        return hyena_layer_cost(batch, L, cfg.d_model, cfg.order, e, backward=bwd)
    if bench == "mha":
        return mha_layer_cost(batch, L, cfg.d_model, cfg.heads, e, backward=bwd)
    raise ValueError(f"bench must be one of {BENCHES}, got {bench!r}")


def _input_sets(work: Workload, cfg: BenchConfig) -> list[Inputs]:
    """As many input sets as rotation needs: enough to overflow L2 twice, at most max_sets."""
    first = work.make_inputs(0)
    nbytes = sum(t.numel() * t.element_size() for t in first)
    n = cfg.max_sets
    if torch.device(cfg.device).type == "cuda":
        props = torch.cuda.get_device_properties(torch.device(cfg.device))
        l2 = getattr(props, "L2_cache_size", 50 * 2**20)
        free, _ = torch.cuda.mem_get_info(torch.device(cfg.device))
        n = min(cfg.max_sets, max(2, math.ceil(2 * l2 / max(nbytes, 1)) + 1))
        n = max(1, min(n, int(0.3 * free // max(nbytes, 1)) + 1))
    return [first] + [work.make_inputs(i) for i in range(1, n)]


def _classify(err: BaseException) -> str:
    """Map an exception of a case to a status: ``oom``, ``unsupported`` or ``error``."""
    msg = str(err).lower()
    if isinstance(err, torch.OutOfMemoryError) or "out of memory" in msg or "can't allocate" in msg:
        return "oom"
    if any(s in msg for s in ("no available kernel", "no viable backend", "not supported")):
        return "unsupported"
    return "error"


def _release(device: str) -> None:
    gc.collect()
    if torch.device(device).type == "cuda":
        torch.cuda.empty_cache()


def run_case(cfg: BenchConfig, bench: str, L: int, pass_: str, backend: str | None) -> dict:
    """Measure one case; return its results point (never raises on OOM or a missing kernel)."""
    point = _new_point(cfg, bench, L, pass_, backend)
    clock = Stopwatch()
    status, note = "ok", ""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            work = _workload(cfg, bench, L, pass_, backend)
            inputs = _input_sets(work, cfg)
            timing = time_call(
                work.call,
                inputs,
                device=cfg.device,
                warmup=cfg.warmup,
                min_repeats=cfg.min_repeats,
                max_repeats=cfg.max_repeats,
                target_ms=cfg.target_ms,
            )
            first = inputs[0]
            peak = peak_memory(lambda: work.call(first), cfg.device)
        point.update(
            time_ms=timing.median * 1e3,
            time_ms_p20=timing.percentile(20) * 1e3,
            time_ms_p80=timing.percentile(80) * 1e3,
            repeats=timing.repeats,
            peak_mem_mb=None if peak is None else peak / 2**20,
            input_sets=len(inputs),
        )
    except ImportError as err:
        status, note = "unavailable", f"{type(err).__name__}: {err}"
    except Exception as err:  # a sweep records every failure as a point
        status = _classify(err)
        note = f"{type(err).__name__}: {(str(err).splitlines() or [''])[0][:200]}"
        why = [str(w.message).splitlines()[0][:160] for w in caught if "kernel" in str(w.message)]
        if why and status == "unsupported":
            note += " | " + " | ".join(why[:3])
    finally:
        work = inputs = None
        _release(cfg.device)
    point.update(status=status, note=note, seconds=clock.elapsed())
    return point


def _new_point(cfg: BenchConfig, bench: str, L: int, pass_: str, backend: str | None) -> dict:
    cost = case_cost(cfg, bench, L, pass_)
    backend = {"fftconv": "fft", "naive": "naive", "hyena": "fftconv"}.get(bench, backend)
    return {
        "bench": bench,
        "pass": pass_,
        "backend": backend,
        "L": L,
        "batch": cfg.batch_for(L),
        "tokens": cfg.batch_for(L) * L,
        "status": "skipped",
        "time_ms": None,
        "time_ms_p20": None,
        "time_ms_p80": None,
        "repeats": 0,
        "peak_mem_mb": None,
        "input_sets": 0,
        "flops": cost.flops,
        "bytes_floor": cost.bytes,
        "seconds": 0.0,
        "note": "",
    }


# ----------------------------------------------------------------------------------------------
# The sweep
# ----------------------------------------------------------------------------------------------


def _plan(cfg: BenchConfig) -> list[tuple[int, str, str, str | None]]:
    """Every case in run order: ``(L, bench, pass, backend)``; mha's backend is chosen later."""
    plan = []
    for L in sorted(cfg.lengths):
        for pass_ in cfg.passes:
            for bench in BENCHES:
                if bench not in cfg.benches:
                    continue
                if bench == "sdpa":
                    plan += [(L, bench, pass_, b) for b in cfg.backends]
                else:
                    plan.append((L, bench, pass_, None))
    return plan


def _device_memory(cfg: BenchConfig) -> float:
    """Total device memory in bytes (``inf`` on the CPU: no pre-emptive memory skips there)."""
    dev = torch.device(cfg.device)
    if dev.type != "cuda":
        return math.inf
    return float(torch.cuda.get_device_properties(dev).total_memory)


def _skip_reason(
    cfg: BenchConfig,
    key: tuple[str, str, str | None],
    L: int,
    history: dict[tuple[str, str, str | None], dict],
    elapsed: float,
) -> str | None:
    """Why a case should not run (``None``: run it). See the module docstring's rules."""
    bench, pass_, backend = key
    if elapsed > cfg.time_budget_s:
        return f"time budget of {cfg.time_budget_s:.0f} s spent"
    if bench == "naive" or backend == "math":
        need = cfg.batch_for(L) * cfg.heads * L * L * _SCORE_BYTES[pass_]
        if need > 0.9 * _device_memory(cfg):
            return f"the (L, L) scores need ~{need / 2**30:.0f} GiB, more than the device has"
    last = history.get(key)
    if last is None:
        return None
    if last["status"] == "oom" and (bench == "naive" or backend == "math"):
        return f"out of memory at L={last['L']} already"
    if last["status"] != "ok":
        return None
    cost = case_cost(cfg, bench, L, pass_)
    growth = max(cost.flops / last["flops"], cost.bytes / last["bytes_floor"])
    predicted = last["time_ms"] * growth
    if predicted > cfg.max_call_ms:
        return f"predicted {predicted:.0f} ms per call > max_call_ms {cfg.max_call_ms:.0f}"
    return None


def _mha_candidates(cfg: BenchConfig, points: list[dict], L: int, pass_: str) -> list[str | None]:
    """SDPA backends for the attention layer at ``(L, pass)``: fastest measured first."""
    measured = sorted(
        (p["time_ms"], p["backend"])
        for p in points
        if p["bench"] == "sdpa" and p["L"] == L and p["pass"] == pass_ and p["status"] == "ok"
    )
    order = [b for _, b in measured]
    order += [b for b in cfg.backends if b not in order]
    return order or [None]


def command_line(cfg: BenchConfig, out: str | Path | None = None) -> str:
    """The ``python -m hyena_lab.bench`` command that reproduces ``cfg``, every option spelled."""
    join = ",".join
    opts = [
        ("--device", cfg.device), ("--dtype", cfg.dtype), ("--d-model", cfg.d_model),
        ("--heads", cfg.heads), ("--tokens", cfg.tokens),
        ("--lengths", join(map(str, sorted(cfg.lengths)))), ("--benches", join(cfg.benches)),
        ("--passes", join(cfg.passes)), ("--backends", join(cfg.backends)),
        ("--order", cfg.order), ("--warmup", cfg.warmup), ("--min-repeats", cfg.min_repeats),
        ("--max-repeats", cfg.max_repeats), ("--target-ms", cfg.target_ms),
        ("--max-call-ms", cfg.max_call_ms), ("--time-budget", cfg.time_budget_s),
        ("--max-sets", cfg.max_sets), ("--seed", cfg.seed),
        ("--profile-length", cfg.profile_length or 0),
        ("--profile-layers", cfg.profile_layers or 0),
    ]
    if cfg.threads is not None:
        opts.append(("--threads", cfg.threads))
    if out is not None:
        opts.append(("--out", out))
    return "python -m hyena_lab.bench " + " ".join(f"{k} {v}" for k, v in opts)


def environment(cfg: BenchConfig, out: str | Path | None = None) -> dict:
    """The ``meta`` block of a results file: :func:`hyena_lab.measure.environment` of the
    device (its name, versions, date, git commit), the shapes, the settings and the command."""
    return {
        "schema": SCHEMA,
        **machine_environment(cfg.device),
        "dtype": cfg.dtype,
        "d_model": cfg.d_model,
        "heads": cfg.heads,
        "head_dim": cfg.head_dim,
        "order": cfg.order,
        "tokens_per_batch": cfg.tokens,
        "lengths": sorted(cfg.lengths),
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(cfg).items()},
        "command": command_line(cfg, out),
    }


def profile_call(call: Callable[[Inputs], object], inputs: Inputs, device, top: int = 25) -> dict:
    """Where the time of one ``call(inputs)`` goes, by ``torch.profiler`` (after 3 warm-ups).

    Returns ``kernels`` (device time per CUDA kernel name, summed over launches) and ``ops``
    (self device time per ``aten::`` operator, e.g. ``aten::addmm`` for a Linear layer,
    ``aten::_fft_r2c`` for an FFT, ``aten::copy_`` for casts and layout changes), the ``top``
    largest each, in ms. On the CPU both hold the operators' self CPU time.
    """
    from torch.profiler import ProfilerActivity, profile

    gpu = torch.device(device).type == "cuda"
    for _ in range(3):
        call(inputs)
    if gpu:
        torch.cuda.synchronize()
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if gpu else [])
    with profile(activities=acts) as prof:
        call(inputs)
        if gpu:
            torch.cuda.synchronize()
    kernels: dict[str, list[float]] = {}
    for evt in prof.events():
        if gpu and evt.device_type == torch.autograd.DeviceType.CUDA:
            us = evt.time_range.elapsed_us()
        elif not gpu and evt.name.startswith("aten::"):
            us = evt.self_cpu_time_total
        else:
            continue
        row = kernels.setdefault(evt.name[:120], [0.0, 0])
        row[0] += us / 1e3
        row[1] += 1
    ops: dict[str, list[float]] = {}
    for avg in prof.key_averages():
        if not avg.key.startswith("aten::"):
            continue
        if gpu:
            us = getattr(avg, "self_device_time_total", None)
            us = avg.self_cuda_time_total if us is None else us
        else:
            us = avg.self_cpu_time_total
        if us > 0:
            ops[avg.key] = [us / 1e3, avg.count]
    return {
        "kind": "cuda kernels" if gpu else "cpu operators (self time)",
        "total_ms": sum(v[0] for v in kernels.values()),
        "kernels": _top_rows(kernels, top),
        "ops": _top_rows(ops, top),
    }


def _top_rows(rows: dict[str, list[float]], top: int) -> list[dict]:
    """``{name: [ms, calls]}`` as a list of dicts, largest ``ms`` first, ``top`` of them."""
    ranked = sorted(rows.items(), key=lambda kv: -kv[1][0])[:top]
    return [{"name": k, "ms": v[0], "calls": int(v[1])} for k, v in ranked]


def profile_fftconv(cfg: BenchConfig, L: int) -> dict:
    """:func:`profile_call` of one forward ``fftconv`` at length ``L``.

    Shows where the unfused convolution's time goes (casts, padding, FFT passes, the spectral
    product, the slice), to set next to its roofline floor.
    """
    work = _fftconv_workload(cfg, L, "fwd")
    profile = profile_call(work.call, work.make_inputs(0), cfg.device)
    return {"L": L, "batch": cfg.batch_for(L), **profile}


def profile_layers(cfg: BenchConfig, L: int) -> dict:
    """:func:`profile_call` of the Hyena operator and the attention layer at ``L``, both passes.

    Keys ``"hyena/fwd"``, ``"hyena/fwd+bwd"``, ``"mha/fwd"``, ``"mha/fwd+bwd"``; a case that
    fails holds ``{"error": ...}``.
    """
    out: dict = {"L": L, "batch": cfg.batch_for(L)}
    for bench in ("hyena", "mha"):
        for pass_ in cfg.passes:
            try:
                work = _workload(cfg, bench, L, pass_, None)
                out[f"{bench}/{pass_}"] = profile_call(work.call, work.make_inputs(0), cfg.device)
            except Exception as err:  # optional: a failure is recorded
                out[f"{bench}/{pass_}"] = {"error": f"{type(err).__name__}: {err}"[:300]}
            finally:
                work = None
                _release(cfg.device)
    return out


def run_benchmarks(
    cfg: BenchConfig,
    *,
    out: str | Path | None = None,
    progress: bool = True,
    ceilings: Ceilings | None = None,
) -> dict:
    """Run the whole sweep of ``cfg``; write ``out`` (JSON) after every length; return results.

    ``ceilings`` skips their measurement (tests pass a fixed one to stay fast).
    """
    cfg.validate()
    threads = torch.get_num_threads()
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    try:
        return _run_sweep(cfg, out, progress, ceilings)
    finally:
        torch.set_num_threads(threads)


def _run_sweep(
    cfg: BenchConfig,
    out: str | Path | None,
    progress: bool,
    ceilings: Ceilings | None,
) -> dict:
    """The body of :func:`run_benchmarks` (thread count already set)."""
    clock = Stopwatch()
    results: dict = {"meta": environment(cfg, out), "complete": False, "points": []}
    if ceilings is None:
        ceilings = measure_ceilings(cfg.device, dtype=cfg.torch_dtype)
    results["ceilings"] = ceilings.to_dict()
    plan = _plan(cfg)
    history: dict[tuple[str, str, str | None], dict] = {}
    bar = tqdm(plan, desc="bench", disable=not progress or bars_disabled(), file=sys.stderr,
               dynamic_ncols=True)
    last_L = None
    for L, bench, pass_, backend in bar:
        if last_L is not None and L != last_L:
            _save(results, out)
        last_L = L
        bar.set_postfix_str(f"L={L} {bench}/{pass_}/{backend or '-'}")
        elapsed = clock.elapsed()
        if bench == "mha":
            point = _run_mha(cfg, results["points"], L, pass_, history, elapsed)
        else:
            key = (bench, pass_, backend)
            reason = _skip_reason(cfg, key, L, history, elapsed)
            if reason is None:
                point = run_case(cfg, bench, L, pass_, backend)
            else:
                point = _new_point(cfg, bench, L, pass_, backend)
                point["note"] = reason
            if reason is None:  # predictions use the last length that really ran
                history[key] = point
        results["points"].append(point)
        if point["status"] in ("error",):
            tqdm.write(f"[bench] L={L} {bench}/{pass_}/{backend}: {point['note']}", sys.stderr)
    bar.close()
    results["accuracy"] = accuracy_checks(cfg)
    if cfg.profile_length is not None and "fftconv" in cfg.benches:
        results["fftconv_profile"] = _safe_profile(cfg)
    if cfg.profile_layers is not None:
        results["layer_profile"] = profile_layers(cfg, cfg.profile_layers)
    results["summary"] = summarize(results)
    results["complete"] = True
    results["meta"]["seconds"] = clock.elapsed()
    _save(results, out)
    return results


def _run_mha(
    cfg: BenchConfig, points: list[dict], L: int, pass_: str, history: dict, elapsed: float
) -> dict:
    """The attention layer with the fastest SDPA backend that runs at ``(L, pass)``."""
    point = None
    for backend in _mha_candidates(cfg, points, L, pass_):
        key = ("mha", pass_, None)
        reason = _skip_reason(cfg, key, L, history, elapsed)
        if reason is not None:
            point = _new_point(cfg, "mha", L, pass_, backend)
            point["note"] = reason
            return point
        point = run_case(cfg, "mha", L, pass_, backend)
        if point["status"] in ("ok", "oom"):
            break
    assert point is not None
    history[("mha", pass_, None)] = point
    return point


def accuracy_checks(cfg: BenchConfig) -> dict:
    """Relative error of every benchmarked function in ``cfg.dtype`` against float64.

    At the shortest length of the sweep and batch 1, on random inputs: ``fftconv`` against
    :func:`hyena_lab.direct_conv`, each SDPA backend and the naive attention against the naive
    attention in float64, the Hyena operator and the attention layer against float64 copies
    of themselves. Expected: about 1e-3 to 1e-2 in bf16, far below in float32. A failure is
    recorded as a string, not raised.
    """
    import copy

    from .conv import direct_conv

    L, d, dev, dt = min(cfg.lengths), cfg.d_model, cfg.device, cfg.torch_dtype
    g = torch.Generator(device=dev).manual_seed(cfg.seed + 12345)

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g, device=dev, dtype=torch.float64)

    out: dict = {"L": L, "batch": 1, "dtype": cfg.dtype}
    checks: dict[str, Callable[[], float]] = {}
    u, k = rand(1, d, L), rand(d, L) / math.sqrt(L)
    checks["fftconv"] = lambda: rel_err(fftconv(u.to(dt), k.to(dt)), direct_conv(u, k))
    q, kk, v = (rand(1, cfg.heads, L, cfg.head_dim) for _ in range(3))
    ref_attn = naive_causal_attention(q, kk, v)
    for b in cfg.backends:
        checks[f"sdpa/{b}"] = lambda b=b: rel_err(
            sdpa_causal(q.to(dt), kk.to(dt), v.to(dt), b), ref_attn
        )
    checks["naive"] = lambda: rel_err(
        naive_causal_attention(q.to(dt), kk.to(dt), v.to(dt)), ref_attn
    )
    x = rand(1, L, d)

    def layer_err(module: nn.Module) -> float:
        ref = copy.deepcopy(module).double()
        with torch.no_grad():
            return rel_err(module(x.to(dt)), ref(x))

    checks["hyena"] = lambda: layer_err(build_hyena(cfg, L))
    checks["mha"] = lambda: layer_err(CausalSelfAttention(d, cfg.heads).to(dev, dt))
    for name, check in checks.items():
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out[name] = check()
        except Exception as err:  # recorded, so that the data survive
            out[name] = f"{_classify(err)}: {(str(err).splitlines() or [''])[0][:120]}"
    _release(dev)
    return out


def _safe_profile(cfg: BenchConfig) -> dict:
    """:func:`profile_fftconv` at ``cfg.profile_length``; an error is recorded, not raised."""
    try:
        return profile_fftconv(cfg, cfg.profile_length)
    except Exception as err:  # optional: a failure is recorded
        return {"L": cfg.profile_length, "error": f"{type(err).__name__}: {err}"[:300]}
    finally:
        _release(cfg.device)


def _save(results: dict, out: str | Path | None) -> None:
    """Write ``results`` to ``out`` (if given) through :func:`hyena_lab.measure.save_record`."""
    if out is not None:
        save_record(results, Path(out), schema=RECORD_SCHEMA, version=1)


# ----------------------------------------------------------------------------------------------
# Analysis of a results file
# ----------------------------------------------------------------------------------------------


def times(results: dict, bench: str, pass_: str) -> dict[int, tuple[float, str]]:
    """``{L: (median ms, backend)}`` of ``bench`` at ``pass_``; for ``sdpa`` the best backend."""
    best: dict[int, tuple[float, str]] = {}
    for p in results["points"]:
        if p["bench"] != bench or p["pass"] != pass_ or p["status"] != "ok":
            continue
        if p["L"] not in best or p["time_ms"] < best[p["L"]][0]:
            best[p["L"]] = (p["time_ms"], p["backend"])
    return best


def crossover_length(
    lengths: Sequence[int], t_attention: Sequence[float], t_hyena: Sequence[float]
) -> float | None:
    """The length beyond which Hyena stays faster than attention, interpolated in log-log.

    With ``r(L) = t_attention / t_hyena``, find the first measured length from which ``r >= 1``
    holds at every longer length; interpolate ``log r`` linearly in ``log L`` between it and
    the length before. Returns the smallest length if Hyena is faster everywhere, ``None`` if
    attention is still faster at the longest length (no crossover in the measured range).
    """
    if not (len(lengths) == len(t_attention) == len(t_hyena)):
        raise ValueError("lengths, t_attention and t_hyena must have the same length")
    if not lengths:
        return None
    rows = sorted(zip(lengths, t_attention, t_hyena, strict=True))
    logr = [math.log(ta / th) for _, ta, th in rows]
    if logr[-1] < 0:
        return None
    i = len(rows) - 1
    while i > 0 and logr[i - 1] >= 0:
        i -= 1
    if i == 0:
        return float(rows[0][0])
    x0, x1 = math.log(rows[i - 1][0]), math.log(rows[i][0])
    frac = -logr[i - 1] / (logr[i] - logr[i - 1])
    return math.exp(x0 + frac * (x1 - x0))


def summarize(results: dict) -> dict:
    """Crossover lengths, speedups at ``SPEEDUP_LENGTHS``, best SDPA backends, roofline gaps.

    Keys ``"kernel/fwd"`` etc.: ``kernel`` compares best SDPA with ``fftconv``, ``layer`` the
    attention layer with the Hyena operator. A speedup is attention time / Hyena time, measured
    side by side in the same run (``None`` where either point is missing).
    """
    passes = sorted({p["pass"] for p in results["points"]}, key=PASSES.index)
    out: dict = {"crossover_L": {}, "speedup": {}, "best_sdpa_backend": {}, "fftconv_roofline": {}}
    for level, (attn, hyena) in COMPARISONS.items():
        for pass_ in passes:
            ta, th = times(results, attn, pass_), times(results, hyena, pass_)
            common = sorted(set(ta) & set(th))
            key = f"{level}/{pass_}"
            out["crossover_L"][key] = crossover_length(
                common, [ta[L][0] for L in common], [th[L][0] for L in common]
            )
            out["speedup"][key] = {
                str(L): (ta[L][0] / th[L][0] if L in common else None) for L in SPEEDUP_LENGTHS
            }
    for pass_ in passes:
        out["best_sdpa_backend"][pass_] = {
            str(L): b for L, (_, b) in sorted(times(results, "sdpa", pass_).items())
        }
    if "ceilings" in results:
        out["fftconv_roofline"] = _fftconv_roofline(results)
    return out


def _fftconv_roofline(results: dict) -> dict:
    """Per pass and length: measured ms, HBM floor ms, gap = measured / floor, achieved GB/s."""
    ceil = Ceilings.from_dict(results["ceilings"])
    table: dict[str, dict[str, dict[str, float]]] = {}
    for p in results["points"]:
        if p["bench"] != "fftconv" or p["status"] != "ok":
            continue
        floor_ms = p["bytes_floor"] / ceil.bandwidth * 1e3
        compute_ms = p["flops"] / ceil.fp32_flops * 1e3
        table.setdefault(p["pass"], {})[str(p["L"])] = {
            "measured_ms": p["time_ms"],
            "hbm_floor_ms": floor_ms,
            "fp32_compute_floor_ms": compute_ms,
            "gap": p["time_ms"] / floor_ms,
            "achieved_gbs": p["bytes_floor"] / (p["time_ms"] * 1e-3) / 1e9,
            "intensity_flop_per_byte": p["flops"] / p["bytes_floor"],
        }
    return table


def format_summary(results: dict) -> str:
    """A plain-text table of :func:`summarize`: crossover lengths and speedups at 8K/64K/256K."""
    s = summarize(results)
    keys = list(s["crossover_L"])
    head = "".join(f"{n // 1024:>7}K" for n in SPEEDUP_LENGTHS)
    lines = [f"comparison       crossover L   {head}   (speedup)"]
    for key in keys:
        x = s["crossover_L"][key]
        cross = "none" if x is None else f"{x / 1024:.1f}K"
        sp = "".join(
            "       -" if v is None else f"{v:8.2f}" for v in s["speedup"][key].values()
        )
        lines.append(f"{key:<16} {cross:>12}   {sp}")
    return "\n".join(lines)


def format_times(results: dict, pass_: str = "fwd") -> str:
    """A plain-text table of median times (ms) per length: one column per bench.

    SDPA shows its best backend; ``-`` marks a case that did not run (skipped, OOM, ...).
    """
    if pass_ not in PASSES:
        raise ValueError(f"pass_ must be one of {list(PASSES)}, got {pass_!r}")
    cols = {b: times(results, b, pass_) for b in BENCHES}
    cols = {b: t for b, t in cols.items() if t}
    lengths = sorted({L for t in cols.values() for L in t})
    lines = [f"{'L':>8} " + "".join(f"{b:>10}" for b in cols) + f"   (ms, {pass_})"]
    for L in lengths:
        cells = "".join(f"{t[L][0]:10.2f}" if L in t else f"{'-':>10}" for t in cols.values())
        lines.append(f"{L:>8} {cells}")
    return "\n".join(lines)


def run_to_run(a: dict, b: dict) -> dict[str, float]:
    """Relative difference ``|t_b - t_a| / t_a`` of every point measured ``ok`` in both runs.

    Keys ``"bench/pass/backend/L"``. Two runs of the same code on the same device: the spread
    is the noise floor below which no difference between versions means anything.
    """
    def key(p: dict) -> str:
        return f"{p['bench']}/{p['pass']}/{p['backend']}/{p['L']}"

    ta = {key(p): p["time_ms"] for p in a["points"] if p["status"] == "ok"}
    tb = {key(p): p["time_ms"] for p in b["points"] if p["status"] == "ok"}
    return {k: abs(tb[k] - ta[k]) / ta[k] for k in sorted(set(ta) & set(tb))}


_META_KEYS = {
    "schema": str,
    "date": str,
    "device": str,
    "device_type": str,
    "torch": str,
    "dtype": str,
    "d_model": int,
    "heads": int,
    "tokens_per_batch": int,
    "lengths": list,
    "command": str,
}
_POINT_KEYS = {
    "bench": str,
    "pass": str,
    "L": int,
    "batch": int,
    "status": str,
    "repeats": int,
    "flops": float,
    "bytes_floor": float,
    "note": str,
}


def validate_results(results: object) -> dict:
    """Raise ``ValueError`` naming the first problem if ``results`` breaks the schema."""
    if not isinstance(results, dict):
        raise ValueError(f"results must be a dict, got {type(results).__name__}")
    for key in ("meta", "ceilings", "points"):
        if key not in results:
            raise ValueError(f"results lack the key {key!r}")
    meta = results["meta"]
    _check_keys(meta, _META_KEYS, "meta")
    if meta["schema"] != SCHEMA:
        raise ValueError(f"meta.schema must be {SCHEMA!r}, got {meta['schema']!r}")
    if "cuda" not in meta:
        raise ValueError("meta lacks the key 'cuda' (None on a CPU-only torch)")
    Ceilings.from_dict(results["ceilings"])
    for i, p in enumerate(results["points"]):
        where = f"points[{i}]"
        _check_keys(p, _POINT_KEYS, where)
        for key in ("backend", "time_ms", "peak_mem_mb"):
            if key not in p:
                raise ValueError(f"{where} lacks the key {key!r}")
        if p["status"] not in STATUSES or p["bench"] not in BENCHES or p["pass"] not in PASSES:
            raise ValueError(f"{where} has an unknown status, bench or pass: {p}")
        ok_time = isinstance(p["time_ms"], (int, float)) and p["time_ms"] > 0
        if (p["status"] == "ok") != ok_time:
            raise ValueError(f"{where}: status {p['status']!r} with time_ms {p['time_ms']!r}")
        if p["batch"] * p["L"] < 1:
            raise ValueError(f"{where}: batch and L must be positive")
    return results


def _check_keys(d: object, spec: dict[str, type], where: str) -> None:
    if not isinstance(d, dict):
        raise ValueError(f"{where} must be a dict, got {type(d).__name__}")
    for key, typ in spec.items():
        if key not in d:
            raise ValueError(f"{where} lacks the key {key!r}")
        ok = isinstance(d[key], (int, float)) if typ is float else isinstance(d[key], typ)
        if not ok or isinstance(d[key], bool):
            raise ValueError(f"{where}.{key} must be {typ.__name__}, got {d[key]!r}")


def load_results(path: str | Path) -> dict:
    """Read (:func:`hyena_lab.measure.load_record`) and validate a results file written by
    :func:`run_benchmarks`; files recorded before the ``"schema"`` field are read too."""
    return validate_results(load_record(Path(path), schema=RECORD_SCHEMA, version=1))


# ----------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------


def _int_list(text: str) -> tuple[int, ...]:
    """``"1024,2048"`` or ``"2^10..2^20"`` (powers of two) -> a tuple of ints."""
    text = text.strip()
    if ".." in text:
        lo, hi = (int(s.strip().removeprefix("2^")) for s in text.split(".."))
        return tuple(2**p for p in range(lo, hi + 1))
    try:
        return tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers or '2^a..2^b', got {text!r}"
        ) from err


def _str_list(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


def _add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``python -m hyena_lab.bench`` and ``hyena-lab bench``."""
    d = BenchConfig()
    p.add_argument("--device", default=d.device, help="cuda or cpu (default: %(default)s)")
    p.add_argument("--dtype", default=d.dtype, choices=sorted(DTYPES))
    p.add_argument("--d-model", type=int_in(1), default=d.d_model)
    p.add_argument("--heads", type=int_in(1), default=d.heads)
    p.add_argument("--tokens", type=int_in(1), default=d.tokens, help="tokens per batch (batch*L)")
    p.add_argument(
        "--lengths", type=_int_list, default=d.lengths, help="e.g. 1024,4096 or 2^10..2^20"
    )
    p.add_argument("--benches", type=_str_list, default=d.benches, help=",".join(BENCHES))
    p.add_argument("--passes", type=_str_list, default=d.passes, help=",".join(PASSES))
    p.add_argument("--backends", type=_str_list, default=d.backends, help="SDPA backends")
    p.add_argument("--order", type=int_in(1), default=d.order, help="Hyena order N")
    p.add_argument("--warmup", type=int_in(0), default=d.warmup)
    p.add_argument("--min-repeats", type=int_in(1), default=d.min_repeats)
    p.add_argument("--max-repeats", type=int_in(1), default=d.max_repeats)
    p.add_argument("--target-ms", type=float_in(0, open_lo=True), default=d.target_ms,
                   help="timed work per case")
    p.add_argument("--max-call-ms", type=float_in(0, open_lo=True), default=d.max_call_ms,
                   help="skip slower calls")
    p.add_argument("--time-budget", type=float_in(0, open_lo=True), default=d.time_budget_s,
                   help="seconds")
    p.add_argument("--max-sets", type=int_in(1), default=d.max_sets, help="input sets to rotate")
    p.add_argument("--seed", type=int_in(0, 2**63 - 1), default=d.seed)
    p.add_argument(
        "--profile-length", type=int_in(0), default=d.profile_length, help="0: no fftconv profile"
    )
    p.add_argument("--threads", type=int_in(1), default=None, help="CPU threads (default: torch's)")
    p.add_argument(
        "--profile-layers", type=int_in(0), default=0, help="profile both layers at this L (0: no)"
    )
    p.add_argument("--out", default=None, help="results JSON to write (after every length)")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bar")


def _config_from_args(args: argparse.Namespace) -> BenchConfig:
    return BenchConfig(
        device=args.device,
        dtype=args.dtype,
        d_model=args.d_model,
        heads=args.heads,
        tokens=args.tokens,
        lengths=tuple(args.lengths),
        benches=tuple(args.benches),
        passes=tuple(args.passes),
        backends=tuple(args.backends),
        order=args.order,
        warmup=args.warmup,
        min_repeats=args.min_repeats,
        max_repeats=args.max_repeats,
        target_ms=args.target_ms,
        max_call_ms=args.max_call_ms,
        time_budget_s=args.time_budget,
        max_sets=args.max_sets,
        seed=args.seed,
        profile_length=args.profile_length if args.profile_length > 0 else None,
        threads=args.threads,
        profile_layers=args.profile_layers if args.profile_layers > 0 else None,
    ).validate()


def _command(args: argparse.Namespace) -> dict:
    """Run the benchmark from parsed arguments; return the one-line JSON summary."""
    cfg = _config_from_args(args)
    if args.out is not None:
        check_new_file(args.out, "--out")  # before any timing, not after
    results = run_benchmarks(cfg, out=args.out, progress=not args.no_progress)
    meta = results["meta"]
    summary = {
        "device": meta["device"],
        "cpu": meta.get("cpu"),
        "torch": meta["torch"],
        "dtype": meta["dtype"],
        "tokens_per_batch": meta["tokens_per_batch"],
        "points_ok": sum(p["status"] == "ok" for p in results["points"]),
        "points": len(results["points"]),
        "seconds": meta["seconds"],
        "out": None if args.out is None else str(args.out),
        "ceilings": results["ceilings"],
        **results["summary"],
    }
    return json_safe(summary)  # JSON has no inf or NaN


def add_bench_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``bench`` to the ``hyena-lab`` command line (its ``func`` returns the summary dict)."""
    p = subparsers.add_parser(
        "bench",
        help="time fftconv/Hyena against attention (GPU or CPU)",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _add_arguments(p)
    p.set_defaults(func=_command)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m hyena_lab.bench``: run the sweep, print the summary as the last JSON line."""
    parser = argparse.ArgumentParser(
        prog="python -m hyena_lab.bench",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        summary = _command(args)
    except (ValueError, TypeError) as err:
        parser.error(str(err))
    print(json.dumps(json_safe(summary), allow_nan=False))
    return 0


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
