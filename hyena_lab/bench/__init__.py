"""Benchmarks: the FFT long convolution and the Hyena operator against attention (paper Sec. 4.4).

Forward and forward+backward at a fixed number of tokens per batch, :func:`hyena_lab.fftconv`
against every SDPA backend and the naive attention, and the Hyena operator against the
attention layer :class:`hyena_lab.mixers.CausalSelfAttention`. Modules: ``config`` (options),
``cases`` (one case timed), ``sweep`` (all of them, within bounds), ``accuracy``, ``profile``,
``results`` (schema, analysis), ``resume`` (a run cut short, continued); here the command.
Each results file records the command that made it (``meta.command``); the README says how to
re-make the committed ones.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch

from ..files import check_new_file
from ..measure import Timing, json_safe
from ..mixers import CausalSelfAttention, causal_attention, naive_causal_attention
from ..options import HelpFormatter
from .accuracy import accuracy_checks
from .cases import build_attention, build_hyena, case_cost, peak_memory_bytes, run_case, time_call
from .config import BENCHES, DTYPES, PASSES, SDPA_BACKENDS, ZERO_IS_NONE, BenchConfig, command_line
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
from .resume import SITTING_FIELDS, config_of, load_partial
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


def _resumed_config(args: argparse.Namespace, record: dict) -> BenchConfig:
    """``--resume``: the record's settings with this sitting's time budget; an option given
    with another value than the record's is refused (its default is not "given")."""
    cfg = config_of(record, time_budget_s=args.time_budget_s)
    defaults = BenchConfig()
    for f in dataclasses.fields(BenchConfig):
        value = getattr(args, f.name)
        value = None if value == 0 and f.name in ZERO_IS_NONE else value
        if f.name in SITTING_FIELDS or value in (getattr(defaults, f.name), getattr(cfg, f.name)):
            continue
        raise ValueError(f"--resume continues the record's run, which has {f.name} = "
                         f"{getattr(cfg, f.name)!r}, not {value!r}: leave the option out")
    return cfg


def _command(args: argparse.Namespace) -> dict:
    """Run the benchmark from parsed arguments; return the one-line JSON summary."""
    record, out = None, args.out
    if args.resume is not None:
        record = load_partial(args.resume)
        cfg = _resumed_config(args, record)
        same = out is not None and Path(out).resolve() == Path(args.resume).resolve()
        out = check_new_file(args.resume, "--resume") if out is None or same else (
            check_new_file(out, "--out"))
    else:
        cfg = _config_from_args(args)
        if out is not None:
            check_new_file(out, "--out")  # before any timing, not after
    results = run_benchmarks(cfg, out=out, progress=not args.no_progress, resume=record)
    meta = results["meta"]
    summary = {
        **{k: meta.get(k) for k in ("device", "cpu", "torch", "dtype", "tokens_per_batch")},
        "points_ok": sum(p["status"] == "ok" for p in results["points"]),
        "points": len(results["points"]), "seconds": meta["seconds"],
        "out": None if out is None else str(out), "ceilings": results["ceilings"],
        **results["summary"],
    }  # fmt: skip
    return json_safe(summary)  # JSON has no inf or NaN


_PARSER_KW = {"description": __doc__.split("\n\n")[0], "formatter_class": HelpFormatter}


def add_bench_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``bench`` to the ``hyena-lab`` command line (its ``func`` returns the summary dict)."""
    p = subparsers.add_parser(
        "bench", help="time fftconv/Hyena against attention (GPU or CPU)", **_PARSER_KW
    )
    _add_arguments(p)
    p.set_defaults(func=_command)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m hyena_lab.bench``: run the sweep, print the summary as the last JSON line."""
    parser = argparse.ArgumentParser(prog="python -m hyena_lab.bench", **_PARSER_KW)
    _add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        summary = _command(args)
    except (ValueError, TypeError) as err:
        parser.error(str(err))
    print(json.dumps(json_safe(summary), allow_nan=False))
    return 0
