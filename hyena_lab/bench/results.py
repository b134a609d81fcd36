"""The results file of a benchmark run: its schema, its validation, and its analysis.

A :func:`hyena_lab.measure.save_record` record with ``meta`` (machine, shapes, settings,
command), ``ceilings``, ``points`` (one per case), ``accuracy``, profiles and ``summary``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from ..measure import load_record
from ..roofline import Ceilings
from .config import BENCHES, PASSES

__all__ = [
    "COMPARISONS", "RECORD_SCHEMA", "SCHEMA", "SPEEDUP_LENGTHS", "STATUSES", "crossover_length",
    "format_summary", "format_times", "load_results", "run_to_run", "summarize", "times",
    "validate_results"
]  # fmt: skip

SCHEMA = "hyena-lab.bench/1"  # meta.schema; the record's "schema" field: RECORD_SCHEMA v1
RECORD_SCHEMA = "hyena-lab.bench"
STATUSES = ("ok", "oom", "unsupported", "skipped", "error", "unavailable")
#: The lengths at which the paper quotes speedups (8K, 64K) and one longer (256K).
SPEEDUP_LENGTHS = (8192, 65536, 262144)
#: Which benches are compared: (attention side, Hyena side) at kernel and at layer level.
COMPARISONS = {"kernel": ("sdpa", "fftconv"), "layer": ("mha", "hyena")}


def times(
    results: dict, bench: str, pass_: str, backend: str | None = None
) -> dict[int, tuple[float, str]]:
    """``{L: (median ms, backend)}`` of ``bench`` at ``pass_``: the fastest backend (SDPA
    kernel, Hyena variant) at each length, or only ``backend``'s points if given."""
    best: dict[int, tuple[float, str]] = {}
    for p in results["points"]:
        if p["bench"] != bench or p["pass"] != pass_ or p["status"] != "ok":
            continue
        if backend is not None and p["backend"] != backend:
            continue
        if p["L"] not in best or p["time_ms"] < best[p["L"]][0]:
            best[p["L"]] = (p["time_ms"], p["backend"])
    return best


def crossover_length(
    lengths: Sequence[int], t_attention: Sequence[float], t_hyena: Sequence[float]
) -> float | None:
    """The length beyond which Hyena stays faster than attention, interpolated in log-log.

    With ``r(L) = t_attention / t_hyena``: the first measured length from which ``r >= 1`` at
    every longer length, ``log r`` interpolated linearly in ``log L`` from the length before.
    The smallest length if Hyena is faster everywhere, ``None`` if it is not at the longest.
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

    Keys ``"<level>/<pass>"`` of :data:`COMPARISONS`; a speedup is attention time / Hyena time
    in the same run (``None`` where either point is missing).
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
    out["hyena_variants"] = {pass_: _variants(results, pass_) for pass_ in passes}
    for pass_ in passes:
        out["best_sdpa_backend"][pass_] = {
            str(L): b for L, (_, b) in sorted(times(results, "sdpa", pass_).items())
        }
    if "ceilings" in results:
        out["fftconv_roofline"] = _fftconv_roofline(results)
    return out


def _variants(results: dict, pass_: str) -> dict[str, dict]:
    """Each Hyena variant of the run against the best attention layer at ``pass_``: its
    speedup at every common length and its crossover length (chapter 06)."""
    ta = times(results, "mha", pass_)
    found = sorted({p["backend"] for p in results["points"] if p["bench"] == "hyena"})
    out: dict[str, dict] = {}
    for variant in found:
        th = times(results, "hyena", pass_, variant)
        common = sorted(set(ta) & set(th))
        out[variant] = {
            "speedup": {str(L): ta[L][0] / th[L][0] for L in common},
            "crossover_L": crossover_length(common, [ta[L][0] for L in common],
                                            [th[L][0] for L in common]),
        }  # fmt: skip
    return out


def _fftconv_roofline(results: dict) -> dict:
    """Per pass and length: measured ms, HBM floor ms, gap = measured / floor, achieved GB/s."""
    ceil = Ceilings.from_dict(results["ceilings"])
    table: dict[str, dict[str, dict[str, float]]] = {}
    for p in results["points"]:
        if p["bench"] != "fftconv" or p["status"] != "ok":
            continue
        floor_ms = p["bytes_floor"] / ceil.bandwidth * 1e3
        table.setdefault(p["pass"], {})[str(p["L"])] = {
            "measured_ms": p["time_ms"],
            "hbm_floor_ms": floor_ms,
            "fp32_compute_floor_ms": p["flops"] / ceil.fp32_flops * 1e3,
            "gap": p["time_ms"] / floor_ms,
            "achieved_gbs": p["bytes_floor"] / (p["time_ms"] * 1e-3) / 1e9,
            "intensity_flop_per_byte": p["flops"] / p["bytes_floor"],
        }
    return table


def format_summary(results: dict) -> str:
    """A plain-text table of :func:`summarize`: crossover lengths and speedups at 8K/64K/256K."""
    s = summarize(results)
    head = "".join(f"{n // 1024:>7}K" for n in SPEEDUP_LENGTHS)
    lines = [f"comparison       crossover L   {head}   (speedup)"]
    for key, x in s["crossover_L"].items():
        cross = "none" if x is None else f"{x / 1024:.1f}K"
        sp = "".join("       -" if v is None else f"{v:8.2f}" for v in s["speedup"][key].values())
        lines.append(f"{key:<16} {cross:>12}   {sp}")
    return "\n".join(lines)


def format_times(results: dict, pass_: str = "fwd") -> str:
    """A plain-text table of median times (ms) per length, one column per bench (SDPA: its
    best backend); ``-`` marks a case that did not run (skipped, OOM, ...)."""
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
    """Relative difference ``|t_b - t_a| / t_a`` of every point measured ``ok`` in both runs,
    keyed ``"bench/pass/backend/L"``: for two runs of the same code, the noise floor."""
    def ok_times(r: dict) -> dict[str, float]:
        return {f"{p['bench']}/{p['pass']}/{p['backend']}/{p['L']}": p["time_ms"]
                for p in r["points"] if p["status"] == "ok"}  # fmt: skip

    ta, tb = ok_times(a), ok_times(b)
    return {k: abs(tb[k] - ta[k]) / ta[k] for k in sorted(set(ta) & set(tb))}


#: The keys (and types) that every results file's ``meta`` and each of its points must have.
_META_KEYS = {
    "schema": str, "date": str, "device": str, "device_type": str, "torch": str, "dtype": str,
    "d_model": int, "heads": int, "tokens_per_batch": int, "lengths": list, "command": str,
}  # fmt: skip
_POINT_KEYS = {
    "bench": str, "pass": str, "L": int, "batch": int, "status": str, "repeats": int,
    "flops": float, "bytes_floor": float, "note": str,
}  # fmt: skip


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
    :func:`hyena_lab.bench.run_benchmarks`; files from before the ``"schema"`` field too."""
    return validate_results(load_record(Path(path), schema=RECORD_SCHEMA, version=1))
