"""Chapter 02's measurement, ``hyena-lab matrix-costs``: the operator against its dense ``A(u)``.

The order-``N`` operator is ``y = A(u) v``, ``A(u) = D_x^N S_h^N ... D_x^1 S_h^1`` (Sec. 3.2).
As a recurrence of FFT convolutions it costs ``O(N d L log L)`` time and ``O(N d L)`` memory;
materialised, ``(d, L, L)``, ``O(d L^2)`` memory and (as the handbook builds it) ``O(N d L^3)``
time. :func:`count_matrix_costs` counts that work exactly, :func:`measure_matrix_costs` times it
(defaults: the committed record :data:`RECORD_NAME`; re-make it with ``hyena-lab matrix-costs
--out figures/data/02_hyena_matrices-complexity.json``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..checks import check_lengths, check_positive_float, check_positive_int
from ..filters import seeded
from ..measure import cpu_record, environment, save_record, time_calls
from ..operator import HyenaOperator
from ..options import float_in, int_in
from ..progress import progress_bar
from ..roofline import fftconv_cost, hyena_layer_cost
from . import Experiment, option

__all__ = [
    "DEMO_FILTER_ARGS", "EXPERIMENT", "RECORD_LENGTHS", "RECORD_NAME", "MatrixCostsConfig",
    "count_matrix_costs", "measure_matrix_costs", "record_matrix_costs", "seeded_operator",
]

#: The committed CPU measurement (``figures/data/<name>.json``) chapter 2 asserts on, its lengths.
RECORD_NAME = "02_hyena_matrices-complexity"
RECORD_LENGTHS: tuple[int, ...] = (64, 128, 256, 512, 1024, 4096, 16384)

#: Implicit-filter options of the chapter's operators: the official recall configuration
#: (``emb_dim`` 5, sine frequency 10, decay window on), whose filters are not overly smooth.
DEMO_FILTER_ARGS: dict[str, object] = {"emb_dim": 5, "w": 10.0}

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass(frozen=True)
class MatrixCostsConfig:
    """Options of :func:`measure_matrix_costs`; the defaults re-make the committed record."""

    lengths: tuple[int, ...] = option(RECORD_LENGTHS, "sequence lengths L", int_in(1, 2**20))
    d_model: int = option(8, "channels d of the operator", int_in(1, 4096))
    order: int = option(2, "the paper's order N (long convolutions and gates)", int_in(1, 16))
    dtype: str = option("float32", "dtype of the operator and its input", choices=list(_DTYPES))
    threads: int = option(1, "torch CPU threads during the run (restored after)", int_in(1, 256))
    seed: int = option(0, "seed of the operator's weights and of the inputs", int_in(0, 2**31))
    max_call_s: float = option(
        1.0, "time the dense path only while a call is predicted to take at most this (s)",
        float_in(0, open_lo=True))  # fmt: skip
    point_s: float = option(0.1, "about this many seconds of calls per timed point",
                            float_in(0, open_lo=True))  # fmt: skip
    max_repeats: int = option(20, "at most this many timed calls per path and length",
                              int_in(1, 10_000))  # fmt: skip
    progress: bool = option(True, "show a progress bar")

    def __post_init__(self) -> None:
        check_lengths(self.lengths)
        for name in ("d_model", "order", "threads", "max_repeats"):
            check_positive_int(getattr(self, name), name)
        check_positive_int(self.seed, "seed", minimum=0)
        check_positive_float(self.max_call_s, "max_call_s")
        check_positive_float(self.point_s, "point_s")
        if self.dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of {list(_DTYPES)}, got {self.dtype!r}")


def seeded_operator(
    order: int, *, d_model: int, l_max: int, seed: int = 0, **kwargs: Any
) -> HyenaOperator:
    """A float64 operator from ``seed`` (global RNG untouched) with :data:`DEMO_FILTER_ARGS`."""
    with seeded(seed):
        op = HyenaOperator(d_model, l_max, order=order, filter_args=dict(DEMO_FILTER_ARGS),
                           **kwargs)  # fmt: skip
    return op.double().eval()


def count_matrix_costs(
    lengths: Sequence[int] = RECORD_LENGTHS, *, d_model: int = 8, order: int = 2,
    filter_order: int = 64,
) -> dict[str, Any]:  # fmt: skip
    """Counted FLOP and bytes (float32) of the paths :func:`measure_matrix_costs` times, batch 1,
    per ``L``: exact functions of the shapes, what growth claims are asserted on.

    ``op_flops`` (:func:`hyena_lab.roofline.hyena_layer_cost`; ``conv_flops`` its ``N`` FFT
    convolutions), ``materialize_flops`` (``N`` dense products ``S_h^n A`` and a row scaling per
    channel, ``N (2 d L^3 + d L^2)``), ``matvec_flops`` (``A @ v``, ``2 d L^2``), ``A_bytes``
    (``d L^2`` floats) and ``signal_bytes`` (``N + 1`` projections and ``N`` filters of ``d L``).
    """
    Ls = check_lengths(lengths)
    d = check_positive_int(d_model, "d_model")
    N = check_positive_int(order, "order")
    check_positive_int(filter_order, "filter_order")
    itemsize = 4  # float32
    rows = []
    for L in Ls:
        layer = hyena_layer_cost(1, L, d, N, itemsize, filter_order=filter_order)
        rows.append({"L": L, "op_flops": layer.flops,
                     "conv_flops": N * fftconv_cost(1, d, L, itemsize).flops,
                     "materialize_flops": float(N * (2 * d * L**3 + d * L**2)),
                     "matvec_flops": float(2 * d * L * L), "A_bytes": d * L * L * itemsize,
                     "signal_bytes": (2 * N + 1) * d * L * itemsize})  # fmt: skip
    return {"what": "counted FLOP and bytes (float32) of op(u), materialize(u) and A @ v",
            "order": N, "d_model": d, "filter_order": filter_order, "rows": rows}


def measure_matrix_costs(config: MatrixCostsConfig) -> dict[str, Any]:
    """CPU time (median, batch 1, no autograd, ``config.threads`` torch threads) of ``op(u)``,
    ``op.materialize(u)`` (the dense ``A(u)``, ``(d, L, L)``) and ``A @ v`` at each ``L``; the
    dense ones stop (``None``) from the first ``L`` whose predicted time (last times
    ``(L/L_last)^3``) exceeds ``max_call_s``. The record: the machine, the settings and ``rows``
    of ``L``, ``op_seconds``, ``materialize_seconds``, ``matvec_seconds``, ``A_bytes`` and
    ``signal_bytes``."""
    c = config
    old_threads = torch.get_num_threads()
    torch.set_num_threads(c.threads)
    try:
        rows = _cost_rows(c)
        env = environment("cpu")  # num_threads: the run's
    finally:
        torch.set_num_threads(old_threads)
    d, N = c.d_model, c.order
    return {
        "run": env,
        "what": "CPU cost of the Hyena operator (FFT path) vs its materialised matrix A(u)",
        **cpu_record(env=env),
        "dtype": c.dtype, "order": N, "d_model": d,
        "shapes": {"u": f"(batch, seq_len, d_model) = (1, L, {d})",
                   "A": f"(d_model, L, L) = ({d}, L, L)",
                   "signals": f"{N + 1} projections (1, {d}, L) and {N} filters ({d}, L)"},
        "statistic": "median seconds per call (hyena_lab.measure.time_calls) after one "
                     "warm-up call",
        "max_call_s": c.max_call_s, "rows": rows,
    }  # fmt: skip


def _cost_rows(c: MatrixCostsConfig) -> list[dict[str, Any]]:
    """The rows of :func:`measure_matrix_costs`, one per length (the config is checked)."""
    Ls = check_lengths(c.lengths)
    d, N, dtype = c.d_model, c.order, _DTYPES[c.dtype]
    op = seeded_operator(N, d_model=d, l_max=Ls[-1], seed=c.seed).to(dtype)
    g = torch.Generator().manual_seed(c.seed)
    itemsize = torch.finfo(dtype).bits // 8
    rows: list[dict[str, Any]] = []
    last: tuple[int, float] | None = None  # (L, seconds) of the last materialisation
    with torch.no_grad():
        for L in progress_bar(Ls, enabled=c.progress, desc="timing op(u) vs materialize(u)"):
            u = torch.randn(1, L, d, generator=g, dtype=dtype)  # (1, L, d)
            calls: dict[str, Callable[[], object]] = {"op": lambda u=u: op(u)}
            if last is None or last[1] * (L / last[0]) ** 3 <= c.max_call_s:
                A = op.materialize(u)  # (d, L, L)
                v = op.matrices(u).v[..., None]  # (d, L, 1)
                calls["materialize"] = lambda u=u: op.materialize(u)
                calls["matvec"] = lambda A=A, v=v: A @ v
                del A  # held by the call only: freed when ``calls`` is replaced at the next L
            # one call each estimates the cost (and warms up), then about point_s of calls
            t = time_calls(calls, warmup=0, target_s=c.point_s,
                           min_repeats=min(3, c.max_repeats), max_repeats=c.max_repeats)
            rows.append({"L": L, **{f"{k}_seconds": t[k].median if k in t else None
                                    for k in ("op", "materialize", "matvec")},
                         "A_bytes": d * L * L * itemsize,
                         "signal_bytes": ((N + 1) * d * L + N * d * L) * itemsize})  # fmt: skip
            if "materialize" in t:
                last = (L, t["materialize"].median)
    return rows


def record_matrix_costs(config: MatrixCostsConfig | None = None) -> Path:
    """Save :func:`measure_matrix_costs` as :data:`RECORD_NAME` under ``figures_dir()``."""
    record = measure_matrix_costs(config or MatrixCostsConfig())
    return save_record(record, RECORD_NAME, schema=EXPERIMENT.name)


def _summary(record: Mapping[str, Any]) -> dict[str, Any]:
    """The command's last line: milliseconds per call of each path, per ``L``."""
    def ms(key: str) -> list[float | None]:
        return [None if r[key] is None else round(r[key] * 1e3, 3) for r in record["rows"]]

    return {"processor": record["processor"], "num_threads": record["num_threads"],
            "L": [r["L"] for r in record["rows"]], "op_ms": ms("op_seconds"),
            "materialize_ms": ms("materialize_seconds"), "matvec_ms": ms("matvec_seconds")}


EXPERIMENT = Experiment(
    "matrix-costs", "time the Hyena operator against materialising its matrix A(u) (chapter 02)",
    MatrixCostsConfig, run=measure_matrix_costs, summarize=_summary,
    description="CPU time per call of op(u) (FFT path), op.materialize(u) (the dense A(u), "
    "(d, L, L)) and A @ v, and the bytes of A(u), at each L. The defaults re-make chapter 02's "
    "record: hyena-lab matrix-costs --out figures/data/02_hyena_matrices-complexity.json.",
)
