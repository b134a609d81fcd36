"""One benchmark case (a bench, a pass, a length, an SDPA backend): build it, time it, record it.

:func:`run_case` times a case rotating over enough input sets to defeat the L2 cache, measures
its peak memory, and records a failure (out of memory, a missing kernel, ...) as the point's
``status`` instead of raising.
"""

from __future__ import annotations

import functools
import gc
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..checks import check_positive_float
from ..conv import fftconv
from ..measure import Stopwatch, Timing, peak_memory, rotating, time_calls
from ..mixers import CausalSelfAttention, causal_attention, naive_causal_attention
from ..roofline import Cost, attention_cost, fftconv_cost, hyena_layer_cost, mha_layer_cost
from .config import BENCHES, HYENA_VARIANTS, BenchConfig

__all__ = [
    "Workload", "build_attention", "build_hyena", "case_cost", "classify", "new_point",
    "peak_memory_bytes", "release", "run_case", "time_call", "workload"
]  # fmt: skip

Inputs = tuple[torch.Tensor, ...]


def time_call(
    call: Callable[[Inputs], object], inputs: Sequence[Inputs], *,
    device: str | torch.device = "cpu", warmup: int = 2, min_repeats: int = 5,
    max_repeats: int = 50, target_ms: float = 300.0,
) -> Timing:  # fmt: skip
    """:func:`hyena_lab.measure.time_calls` of ``call`` rotating over the input sets: after
    ``warmup`` calls, as many timed calls as fill ``target_ms``, within the repeat bounds."""
    check_positive_float(target_ms, "target_ms")
    return time_calls({0: rotating(call, inputs)}, device=device, warmup=warmup,
                      target_s=target_ms / 1e3, min_repeats=min_repeats,
                      max_repeats=max_repeats)[0]  # fmt: skip


def peak_memory_bytes(call: Callable[[Inputs], object], inputs: Inputs, device) -> int | None:
    """Deprecated: :func:`hyena_lab.measure.peak_memory` of ``lambda: call(inputs)``."""
    warnings.warn("bench.peak_memory_bytes(call, inputs, device) is deprecated: use "
                  "hyena_lab.measure.peak_memory(lambda: call(inputs), device)",
                  DeprecationWarning, stacklevel=2)
    return peak_memory(lambda: call(inputs), device)


@dataclass
class Workload:
    """One case made runnable: ``make_inputs(i)`` builds input set ``i``; ``call`` runs it."""

    make_inputs: Callable[[int], Inputs]
    call: Callable[[Inputs], object]


def _make_workload(
    cfg: BenchConfig, pass_: str, fn: Callable[..., object], shapes: Sequence[tuple[int, ...]],
    scales: Sequence[float] | None = None, params: Sequence[torch.Tensor] = (),
) -> Workload:  # fmt: skip
    """``fn(*xs)`` on seeded random inputs of ``shapes`` (each divided by its scale): under
    ``torch.no_grad`` for ``"fwd"``; for ``"fwd+bwd"`` with the gradients of the inputs and
    ``params`` for an output gradient ``dy`` (the input set's last tensor) by ``autograd.grad``."""
    grad = pass_ == "fwd+bwd"
    scales = scales or [1.0] * len(shapes)

    def randn(shape: Sequence[int], seed: int, scale: float = 1.0) -> torch.Tensor:
        g = torch.Generator(device=cfg.device).manual_seed(seed)  # never zeros
        return torch.randn(*shape, generator=g, device=cfg.device, dtype=cfg.torch_dtype) / scale

    def make(i: int) -> Inputs:
        s = cfg.seed + 10 * i
        xs = [randn(shape, s + j, scale).requires_grad_(grad)
              for j, (shape, scale) in enumerate(zip(shapes, scales, strict=True))]
        return (*xs, randn(shapes[0], s + len(xs))) if grad else tuple(xs)

    def call(inputs: Inputs) -> object:
        if not grad:
            with torch.no_grad():
                return fn(*inputs)
        *xs, dy = inputs
        return torch.autograd.grad(fn(*xs), [*xs, *params], dy)

    return Workload(make, call)


def build_hyena(cfg: BenchConfig, L: int, variant: str | None = None) -> nn.Module:
    """The order-``cfg.order`` Hyena operator for length ``L`` on the benchmark's device/dtype,
    built as ``variant`` (:data:`~.config.HYENA_VARIANTS`; ``None``: ``"torch"``). The same
    seed gives the same weights in every variant."""
    from ..operator import HyenaOperator

    variant = variant or "torch"
    if variant not in HYENA_VARIANTS:
        raise ValueError(f"variant must be one of {HYENA_VARIANTS}, got {variant!r}")
    backend = "torch" if variant == "compile" else variant.partition("_")[0]
    torch.manual_seed(cfg.seed)
    op = HyenaOperator(cfg.d_model, l_max=L, order=cfg.order, backend=backend)
    # triton: cuFFT for every long convolution; triton_sram: on chip where L allows
    op.on_chip_fftconv = variant == "triton_sram"
    op.long_fft = variant == "triton_long"
    op.half_fft = variant == "triton_half"
    if variant == "compile":
        torch._dynamo.reset()  # a fresh compile per case: 14 shapes would pass dynamo's limit
    op = op.to(device=cfg.device, dtype=cfg.torch_dtype)
    return torch.compile(op) if variant == "compile" else op


def build_attention(cfg: BenchConfig, L: int, backend: str | None = None) -> nn.Module:
    """The attention layer (``backend``: an SDPA kernel; ``None``: PyTorch's choice) for ``L``."""
    torch.manual_seed(cfg.seed)
    layer = CausalSelfAttention(cfg.d_model, L, cfg.heads, backend=backend or "sdpa")
    return layer.to(device=cfg.device, dtype=cfg.torch_dtype)


def workload(cfg: BenchConfig, bench: str, L: int, pass_: str, backend: str | None) -> Workload:
    """Build the workload of one case (may raise OOM or ImportError: handled by the caller):
    ``fftconv`` on ``u`` (batch, d_model, L) and ``k`` (d_model, L), attention on ``q, k, v``
    (batch, heads, L, head_dim), a layer on ``x`` (batch, L, d_model) and its weights."""
    batch, d = cfg.batch_for(L), cfg.d_model
    if bench == "fftconv":  # a filter of decaying size
        return _make_workload(cfg, pass_, fftconv, [(batch, d, L), (d, L)], [1.0, math.sqrt(L)])
    if bench in ("sdpa", "naive"):
        fn = naive_causal_attention  # also for sdpa without a backend
        if bench == "sdpa" and backend is not None:
            fn = functools.partial(causal_attention, backend=backend)
        return _make_workload(cfg, pass_, fn, [(batch, cfg.heads, L, cfg.head_dim)] * 3)
    if bench not in ("hyena", "mha"):
        raise ValueError(f"bench must be one of {BENCHES}, got {bench!r}")
    layer = build_hyena(cfg, L, backend) if bench == "hyena" else build_attention(cfg, L, backend)
    params = [p for p in layer.parameters() if p.requires_grad] if pass_ == "fwd+bwd" else []
    return _make_workload(cfg, pass_, layer, [(batch, L, d)], params=params)


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
    nbytes = max(1, sum(t.numel() * t.element_size() for t in first))
    n = cfg.max_sets
    dev = torch.device(cfg.device)
    if dev.type == "cuda":
        l2 = getattr(torch.cuda.get_device_properties(dev), "L2_cache_size", 50 * 2**20)
        free, _ = torch.cuda.mem_get_info(dev)
        n = min(cfg.max_sets, max(2, math.ceil(2 * l2 / nbytes) + 1))
        n = max(1, min(n, int(0.3 * free // nbytes) + 1))
    return [first] + [work.make_inputs(i) for i in range(1, n)]


def classify(err: BaseException) -> str:
    """Map an exception of a case to a status: ``oom``, ``unsupported`` or ``error``."""
    msg = str(err).lower()
    if isinstance(err, torch.OutOfMemoryError) or "out of memory" in msg or "can't allocate" in msg:
        return "oom"
    if any(s in msg for s in ("no available kernel", "no viable backend", "not supported")):
        return "unsupported"
    return "error"


def release(device: str) -> None:
    """Free what a case left behind (Python garbage, and the CUDA cache on a GPU)."""
    gc.collect()
    if torch.device(device).type == "cuda":
        torch.cuda.empty_cache()


def run_case(cfg: BenchConfig, bench: str, L: int, pass_: str, backend: str | None) -> dict:
    """Measure one case; return its results point (never raises on OOM or a missing kernel)."""
    point = new_point(cfg, bench, L, pass_, backend)
    clock = Stopwatch()
    status, note = "ok", ""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            work = workload(cfg, bench, L, pass_, backend)
            inputs = _input_sets(work, cfg)
            timing = time_call(work.call, inputs, device=cfg.device, warmup=cfg.warmup,
                               min_repeats=cfg.min_repeats, max_repeats=cfg.max_repeats,
                               target_ms=cfg.target_ms)  # fmt: skip
            first = inputs[0]
            peak = peak_memory(lambda: work.call(first), cfg.device)
        point.update(
            time_ms=timing.median * 1e3, time_ms_p20=timing.percentile(20) * 1e3,
            time_ms_p80=timing.percentile(80) * 1e3, repeats=timing.repeats,
            peak_mem_mb=None if peak is None else peak / 2**20, input_sets=len(inputs),
        )  # fmt: skip
    except ImportError as err:
        status, note = "unavailable", f"{type(err).__name__}: {err}"
    except Exception as err:  # a sweep records every failure as a point
        status = classify(err)
        note = f"{type(err).__name__}: {(str(err).splitlines() or [''])[0][:200]}"
        why = [str(w.message).splitlines()[0][:160] for w in caught if "kernel" in str(w.message)]
        if why and status == "unsupported":
            note += " | " + " | ".join(why[:3])
    finally:
        work = inputs = None
        release(cfg.device)
    point.update(status=status, note=note, seconds=clock.elapsed())
    return point


def new_point(cfg: BenchConfig, bench: str, L: int, pass_: str, backend: str | None) -> dict:
    """A results point for one case, not yet run (``status`` ``"skipped"``, no time)."""
    cost = case_cost(cfg, bench, L, pass_)
    backend = {"fftconv": "fft", "naive": "naive"}.get(bench, backend)
    if bench == "hyena":
        backend = backend or "torch"
    return {
        "bench": bench, "pass": pass_, "backend": backend, "L": L, "batch": cfg.batch_for(L),
        "tokens": cfg.batch_for(L) * L, "status": "skipped", "time_ms": None,
        "time_ms_p20": None, "time_ms_p80": None, "repeats": 0, "peak_mem_mb": None,
        "input_sets": 0, "flops": cost.flops, "bytes_floor": cost.bytes, "seconds": 0.0,
        "note": "",
    }  # fmt: skip
