"""Benchmarks: the FFT long convolution and the Hyena operator against attention (paper Sec. 4.4).

The paper's efficiency claim (Sec. 4.4, Fig. 4.3) is about run time as the sequence grows: the
attention matrix costs ``O(L^2)`` per sequence, Hyena's FFT convolutions ``O(L log L)``. This
package measures both sides on the device at hand, at kernel level (:func:`hyena_lab.fftconv`
on (batch, d_model, L) against causal attention on (batch, heads, L, d_model / heads): every SDPA
backend, cuDNN, flash, memory-efficient, math, and the naive attention that materialises the
``(L, L)`` scores) and at layer level (the order-2 :class:`hyena_lab.operator.HyenaOperator`
against :class:`hyena_lab.mixers.CausalSelfAttention`, the attention layer that chapter 04
trains, with the best SDPA backend measured at that length), forward and forward+backward, at a
fixed number of tokens per batch (``batch = tokens // L``, at least 1). One idea per module:
``config`` (the options), ``cases`` (one case timed), ``sweep`` (all of them, within bounds),
``accuracy``, ``profile``, ``results`` (schema and analysis); here the command.

Reproduce the recorded data (``figures/data/05_gpu_kernels-bench.json``, one H100, about
3 minutes; the defaults are d_model 768, 12 heads, 2^18 tokens per batch, L = 2^10 .. 2^20)::

    python -m hyena_lab.bench --device cuda --dtype bf16 --time-budget 420 --max-call-ms 1200 \\
        --out figures/data/05_gpu_kernels-bench.json

and the second run (``05_gpu_kernels-repeat.json``: the noise floor and layer profiles) with
``--lengths 1024,8192,65536 --benches fftconv,sdpa,hyena,mha --backends cudnn,flash
--profile-length 8192 --profile-layers 8192 --time-budget 200``. A small CPU run:
``python -m hyena_lab.bench --device cpu --dtype fp32 --d-model 64 --heads 4 --tokens 4096
--lengths 128,256,512 --threads 1``. The last line printed is one JSON object (the summary:
crossover lengths, speedups at 8K/64K/256K, the FFT convolution's roofline gap).

Recorded on an H100 (torch 2.11, bf16; chapter 5 discusses them): cuDNN is the fastest SDPA
backend at every length; ``fftconv`` overtakes it at L = 10K forward (7K forward+backward),
the Hyena operator overtakes the attention layer at 54K forward (39K forward+backward), with
speedups of 0.26x / 1.1x / 3.7x at 8K / 64K / 256K forward. ``fftconv`` runs 30-50x above its
HBM floor: the unfused PyTorch implementation moves 22x its minimal bytes. Two runs agree
within 3%.
"""

from __future__ import annotations

import argparse
import json
import warnings
from collections.abc import Sequence

import torch

from ..files import check_new_file
from ..measure import Timing, json_safe
from ..mixers import CausalSelfAttention, causal_attention, naive_causal_attention
from ..options import HelpFormatter
from .accuracy import accuracy_checks
from .cases import build_attention, build_hyena, case_cost, peak_memory_bytes, run_case, time_call
from .config import BENCHES, DTYPES, PASSES, SDPA_BACKENDS, BenchConfig, command_line
from .config import add_arguments as _add_arguments
from .config import config_from_args as _config_from_args
from .profile import profile_call, profile_fftconv, profile_layers
from .results import (
    COMPARISONS,
    RECORD_SCHEMA,
    SCHEMA,
    SPEEDUP_LENGTHS,
    STATUSES,
    crossover_length,
    format_summary,
    format_times,
    load_results,
    run_to_run,
    summarize,
    times,
    validate_results,
)
from .sweep import environment, run_benchmarks

__all__ = [
    "BENCHES", "COMPARISONS", "DTYPES", "PASSES", "RECORD_SCHEMA", "SCHEMA", "SDPA_BACKENDS",
    "SPEEDUP_LENGTHS", "STATUSES", "BenchConfig", "CausalSelfAttention", "Timing",
    "accuracy_checks", "add_bench_command", "build_attention", "build_hyena", "case_cost",
    "command_line", "crossover_length", "environment", "format_summary", "format_times",
    "load_results", "main", "naive_causal_attention", "peak_memory_bytes", "profile_call",
    "profile_fftconv", "profile_layers", "run_benchmarks", "run_case", "run_to_run", "sdpa_causal",
    "summarize", "time_call", "times", "validate_results"
]  # fmt: skip


def sdpa_causal(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, backend: str | None = None
) -> torch.Tensor:
    """Deprecated: :func:`hyena_lab.mixers.causal_attention` (``backend=None`` is ``"sdpa"``)."""
    warnings.warn("bench.sdpa_causal(q, k, v, backend) is deprecated: use "
                  "hyena_lab.mixers.causal_attention(q, k, v, backend or 'sdpa')",
                  DeprecationWarning, stacklevel=2)
    return causal_attention(q, k, v, backend or "sdpa")


def _command(args: argparse.Namespace) -> dict:
    """Run the benchmark from parsed arguments; return the one-line JSON summary."""
    cfg = _config_from_args(args)
    if args.out is not None:
        check_new_file(args.out, "--out")  # before any timing, not after
    results = run_benchmarks(cfg, out=args.out, progress=not args.no_progress)
    meta = results["meta"]
    summary = {
        **{k: meta.get(k) for k in ("device", "cpu", "torch", "dtype", "tokens_per_batch")},
        "points_ok": sum(p["status"] == "ok" for p in results["points"]),
        "points": len(results["points"]), "seconds": meta["seconds"],
        "out": None if args.out is None else str(args.out), "ceilings": results["ceilings"],
        **results["summary"],
    }  # fmt: skip
    return json_safe(summary)  # JSON has no inf or NaN


def _parser_kw() -> dict:
    return {"description": __doc__.split("\n\n")[0], "formatter_class": HelpFormatter}


def add_bench_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``bench`` to the ``hyena-lab`` command line (its ``func`` returns the summary dict)."""
    p = subparsers.add_parser(
        "bench", help="time fftconv/Hyena against attention (GPU or CPU)", **_parser_kw()
    )
    _add_arguments(p)
    p.set_defaults(func=_command)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m hyena_lab.bench``: run the sweep, print the summary as the last JSON line."""
    parser = argparse.ArgumentParser(prog="python -m hyena_lab.bench", **_parser_kw())
    _add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        summary = _command(args)
    except (ValueError, TypeError) as err:
        parser.error(str(err))
    print(json.dumps(json_safe(summary), allow_nan=False))
    return 0
