"""``hyena-lab conv-costs``: chapter 1's CPU timing of one causal convolution, three ways.

:func:`run` makes ``figures/data/01_long_convolutions-cpu_timing.json`` (its settings are the
defaults of :class:`ConvCostsConfig`), :func:`fitted_slopes` and
:func:`speedup_at_largest_common_length` read it; :func:`time_interleaved` is the one live timing
a chapter may assert on (growth claims: :func:`hyena_lab.roofline.counted_conv_work`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..checks import check_lengths, check_positive_float, check_positive_int
from ..conv import direct_conv, fftconv, toeplitz
from ..measure import cpu_record, environment, repeats_for, time_calls, time_fn
from ..options import float_in, int_in
from ..progress import progress_bar
from ..roofline import CONV_METHODS
from . import Experiment, option

__all__ = [
    "CHAPTER_LENGTHS", "CONV_METHODS", "EXPERIMENT", "ConvCostsConfig", "fitted_slopes",
    "loglog_slope", "measure_conv_costs", "run", "speedup_at_largest_common_length", "summarize",
    "time_interleaved",
]

#: The lengths of chapter 1's record: ``L = 2^6 .. 2^14``.
CHAPTER_LENGTHS: tuple[int, ...] = tuple(2**p for p in range(6, 15))

#: Growth exponent ``p`` (time ~ L^p, rounded up) used to predict the next call's time.
_GROWTH: dict[str, float] = {"fftconv": 1.2, "direct_conv": 2.0, "toeplitz_matvec": 2.0}


@dataclass(frozen=True)
class ConvCostsConfig:
    """The options of :func:`run`; the defaults are those of chapter 1's committed record."""

    lengths: tuple[int, ...] = option(CHAPTER_LENGTHS, "sequence lengths L to time", int_in(1))
    channels: int = option(512, "channels d: u is (batch, d, L), h is (d, L)", int_in(1))
    batch: int = option(1, "batch size of u", int_in(1))
    dtype: str = option("float32", "dtype of u and h: float32 or float64",
                        choices=["float32", "float64"])  # fmt: skip
    num_threads: int = option(1, "torch CPU threads for the run (restored afterwards)", int_in(1))
    max_call_s: float = option(
        1.5, "a method stops before the first L where one call is predicted to take longer than "
        "this (seconds)", float_in(0, open_lo=True))  # fmt: skip
    toeplitz_max_bytes: int = option(
        2**28, "the Toeplitz mat-vec skips every L whose S_h (d, L, L) needs more bytes",
        int_in(1))  # fmt: skip
    rounds: int = option(3, "interleaved rounds; a point keeps the least round median", int_in(1))
    point_s: float = option(
        0.2, "seconds spent on each point over all rounds (sets the repeats)",
        float_in(0, open_lo=True))  # fmt: skip
    max_repeats: int = option(50, "most timed calls of a point per round", int_in(1))
    seed: int = option(0, "seed of the standard normal inputs (drawn from seed + L)", int_in(0))
    progress: bool = option(True, "show a progress bar while planning")

    def __post_init__(self) -> None:
        object.__setattr__(self, "lengths", tuple(check_lengths(self.lengths)))  # sorted
        for name in ("channels", "batch", "num_threads", "toeplitz_max_bytes", "rounds",
                     "max_repeats"):  # fmt: skip
            check_positive_int(getattr(self, name), name)
        check_positive_int(self.seed, "seed", minimum=0)
        check_positive_float(self.max_call_s, "max_call_s")
        check_positive_float(self.point_s, "point_s")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")


def _method_call(method: str, u: torch.Tensor, h: torch.Tensor) -> Callable[[], torch.Tensor]:
    """A zero-argument call of one of :data:`CONV_METHODS` on ``u (b, d, L)``, ``h (d, L)``."""
    if method == "fftconv":
        return lambda: fftconv(u, h)
    if method == "direct_conv":
        return lambda: direct_conv(u, h)
    S_h = toeplitz(h)  # (d, L, L), built once: only the mat-vec is timed
    u_col = u.unsqueeze(-1)  # (b, d, L, 1)
    return lambda: S_h @ u_col


def _conv_inputs(c: ConvCostsConfig, L: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Standard normal ``u (batch, d, L)``, ``h (d, L)`` of ``c.dtype``, from ``c.seed + L``."""
    g = torch.Generator().manual_seed(c.seed + L)
    dtype = getattr(torch, c.dtype)
    u = torch.randn(c.batch, c.channels, L, generator=g, dtype=dtype)
    return u, torch.randn(c.channels, L, generator=g, dtype=dtype)


def _plan_and_time(c: ConvCostsConfig) -> dict[str, dict[str, list]]:
    """The two passes of :func:`run`; ``{method: {"L", "seconds", "repeats"}}``."""
    Ls = c.lengths
    itemsize = torch.finfo(getattr(torch, c.dtype)).bits // 8
    bar = progress_bar(total=len(Ls) * len(CONV_METHODS), desc="timing convolutions (plan)",
                       enabled=c.progress)  # fmt: skip
    for method in CONV_METHODS:  # first calls pay one-time costs (FFT plans, allocator)
        _method_call(method, *_conv_inputs(c, Ls[0]))()
    calls: dict[tuple[str, int], Callable[[], torch.Tensor]] = {}  # (method, L) -> call
    plan: dict[tuple[str, int], int] = {}  # (method, L) -> timed calls per round
    last: dict[str, tuple[int, float]] = {}  # method -> (L, estimate) of its last point
    for L in Ls:  # pass 1: warm up, estimate, decide where each method stops
        u, h = _conv_inputs(c, L)
        for method in CONV_METHODS:
            bar.update(1)
            if method in last:
                L_last, t_last = last[method]
                if t_last * (L / L_last) ** _GROWTH[method] > c.max_call_s:
                    continue  # stopped: a call would take too long
            if method == "toeplitz_matvec" and c.channels * L * L * itemsize > c.toeplitz_max_bytes:
                continue  # S_h would not fit in the memory allowed
            call = calls[method, L] = _method_call(method, u, h)
            last[method] = (L, time_fn(call, repeats=1, warmup=0))
            plan[method, L] = repeats_for(last[method][1], c.point_s / c.rounds, 1, c.max_repeats)
    bar.close()
    timings = time_calls(calls, warmup=0, rounds=c.rounds, repeats=plan)  # pass 2
    return {
        m: {"L": [L for (m2, L) in plan if m2 == m],
            "seconds": [timings[key].best for key in plan if key[0] == m],
            "repeats": [reps for key, reps in plan.items() if key[0] == m]}
        for m in CONV_METHODS
    }  # fmt: skip


def run(config: ConvCostsConfig | None = None) -> dict[str, Any]:
    """CPU time of one causal convolution of ``u (batch, d, L)`` with ``h (d, L)``, the three
    ways of :data:`CONV_METHODS` (``S_h (d, L, L)`` built before the clock starts), with
    ``num_threads`` torch threads. A *plan* pass times one call per method and ``L``: a method
    stops before the first ``L`` where its last time times ``(L / L_last)^p`` (``p`` = 2, 1.2
    for the FFT) exceeds ``max_call_s``, the mat-vec also where ``S_h`` needs more than
    ``toeplitz_max_bytes``. A *measure* pass times the planned points in ``rounds`` interleaved
    rounds (``point_s`` seconds a point) and keeps the *least* round median (load only adds
    time). The record: the machine, the settings, ``results`` ``{method: {"L", "seconds",
    "repeats"}}``, :func:`fitted_slopes` and ``fftconv_speedup_over_direct_conv``."""
    c = ConvCostsConfig() if config is None else config
    old_threads = torch.get_num_threads()
    torch.set_num_threads(c.num_threads)
    try:
        env = environment("cpu")  # num_threads: those of the run
        results = _plan_and_time(c)
    finally:
        torch.set_num_threads(old_threads)
    record = {
        "run": env,
        "what": "CPU time per call of one causal convolution y = h * u, three ways",
        **cpu_record(c.num_threads, env),
        "dtype": c.dtype, "batch": c.batch, "channels": c.channels,
        "shapes": {"u": f"(batch, d, L) = ({c.batch}, {c.channels}, L)",
                   "h": f"(d, L) = ({c.channels}, L)",
                   "S_h": f"(d, L, L) = ({c.channels}, L, L), built before timing"},
        "statistic": f"least over {c.rounds} interleaved rounds of the median seconds per call "
                     "(hyena_lab.measure.time_calls) of 'repeats' calls, after one warm-up call",
        "max_call_s": c.max_call_s, "toeplitz_max_bytes": c.toeplitz_max_bytes,
        "rounds": c.rounds, "results": results,
    }  # fmt: skip
    record["fitted_slopes"] = fitted_slopes(record)
    try:
        L, ratio = speedup_at_largest_common_length(record)
    except ValueError:  # fftconv and direct_conv never timed at the same L
        record["fftconv_speedup_over_direct_conv"] = None
    else:
        record["fftconv_speedup_over_direct_conv"] = {"L": L, "ratio": ratio}
    return record


def measure_conv_costs(lengths: Sequence[int], channels: int = 512, **options: Any) -> dict:
    """``run(ConvCostsConfig(lengths=lengths, channels=channels, **options))``."""
    return run(ConvCostsConfig(lengths=lengths, channels=channels, **options))


def summarize(record: Mapping[str, Any]) -> dict[str, Any]:
    """The command's last line: machine, longest ``L`` per way, slopes, fftconv's speedup."""
    return {
        "processor": record["processor"], "num_threads": record["num_threads"],
        "longest_L": {m: r["L"][-1] for m, r in record["results"].items() if r["L"]},
        "fitted_slopes": record["fitted_slopes"],
        "fftconv_speedup_over_direct_conv": record["fftconv_speedup_over_direct_conv"],
    }  # fmt: skip


# ------------------------------------------------------------------- reading a measurement


def loglog_slope(
    lengths: Sequence[float], seconds: Sequence[float], *, min_length: float = 0
) -> float:
    """Least-squares slope of ``log(seconds)`` on ``log(length)``, over ``length >= min_length``.

    A cost ``c L^p`` has slope ``p``: 1 for O(L), about 1.1 for O(L log L) at these sizes, 2 for
    O(L^2).
    """
    x = np.asarray(lengths, dtype=float)
    y = np.asarray(seconds, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"lengths and seconds must be 1-D of equal size, got {x.shape}, {y.shape}")
    keep = x >= min_length
    if keep.sum() < 2 or np.unique(x[keep]).size < 2:
        raise ValueError(f"need at least two distinct lengths >= {min_length} to fit a slope, "
                         f"got {x.tolist()}")
    if np.any(x[keep] <= 0) or np.any(y[keep] <= 0):
        raise ValueError("lengths and seconds must be > 0 on a log-log scale")
    slope, _ = np.polyfit(np.log(x[keep]), np.log(y[keep]), 1)
    return float(slope)


def speedup_at_largest_common_length(
    costs: Mapping[str, Any], fast: str = "fftconv", slow: str = "direct_conv"
) -> tuple[int, float]:
    """``(L, t_slow / t_fast)`` at the largest ``L`` timed for both methods of ``costs``."""
    res = costs["results"]
    for m in (fast, slow):
        if m not in res:
            raise ValueError(f"method {m!r} not in the measurement; have {sorted(res)}")
    common = sorted(set(res[fast]["L"]) & set(res[slow]["L"]))
    if not common:
        raise ValueError(f"{fast} and {slow} were never timed at the same L")
    L = common[-1]
    t_fast = res[fast]["seconds"][res[fast]["L"].index(L)]
    t_slow = res[slow]["seconds"][res[slow]["L"].index(L)]
    return L, t_slow / t_fast


def fitted_slopes(costs: Mapping[str, Any]) -> dict[str, float]:
    """The log-log slope of each method's time over the long-``L`` end of a :func:`run` record:
    ``fftconv`` over its last four octaves, the O(L^2) ways over their last two (their curves
    end earlier; at small ``L`` a fixed cost per call flattens every curve). A method with fewer
    than two lengths there is left out."""
    octaves = {"fftconv": 16, "direct_conv": 4, "toeplitz_matvec": 4}
    slopes = {}
    for method, span in octaves.items():
        r = costs["results"].get(method, {})
        Ls = [L for L in r.get("L", []) if L >= r["L"][-1] / span]
        if len(Ls) >= 2:
            slopes[method] = loglog_slope(r["L"], r["seconds"], min_length=Ls[0])
    return slopes


def time_interleaved(
    calls: dict[str, Callable[[], object]], *, rounds: int = 5, repeats: int = 1
) -> dict[str, float]:
    """Least seconds per call of each of ``calls``, timed in interleaved rounds after one untimed
    call each: the one live timing a chapter may assert on (a ratio >= 10x, a wide margin)."""
    timings = time_calls(calls, warmup=1, rounds=rounds, repeats=repeats)
    return {name: t.best for name, t in timings.items()}


EXPERIMENT = Experiment(
    "conv-costs", "chapter 1: CPU time of fftconv, direct_conv and the Toeplitz mat-vec against L",
    ConvCostsConfig, run, summarize=summarize,
    description="Times one causal convolution y = h * u three ways (fftconv, O(L log L); "
    "direct_conv, the definition, O(L^2); S_h @ u with the dense Toeplitz matrix, O(L^2)) over "
    "the lengths, on the CPU, and records the machine. The defaults re-make chapter 1's record "
    "figures/data/01_long_convolutions-cpu_timing.json (a few minutes).",
)  # fmt: skip
