"""Chapter 02's measurement, ``hyena-lab matrix-costs``: the operator against its dense ``A(u)``.

The order-``N`` Hyena operator is ``y = A(u) v`` with ``A(u) = D_x^N S_h^N ... D_x^1 S_h^1``
(paper Sec. 3.2). Running it as a recurrence of FFT convolutions, ``op(u)``, costs
``O(N d L log L)`` time and ``O(N d L)`` memory; materialising ``A(u)``
(:meth:`~hyena_lab.operator.HyenaOperator.materialize`, ``(d, L, L)``) costs ``O(d L^2)`` memory
and, as the handbook builds it, ``O(N d L^3)`` time. This module counts that work
(:func:`count_matrix_costs`, exact, from :mod:`hyena_lab.roofline`) and times it on the CPU
(:func:`measure_matrix_costs`, the experiment's ``run``, options in :class:`MatrixCostsConfig`
whose defaults are the settings of the committed record :data:`RECORD_NAME`). Re-make that
record with ``hyena-lab matrix-costs --out figures/data/02_hyena_matrices-complexity.json``;
the figures that draw it are in :mod:`hyena_lab.viz.matrices`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..checks import check_lengths, check_positive_float, check_positive_int
from ..measure import environment, save_record, time_calls
from ..operator import HyenaOperator
from ..options import float_in, int_in
from ..progress import progress_bar
from ..roofline import fftconv_cost, hyena_layer_cost
from . import Experiment, option

__all__ = [
    "DEMO_FILTER_ARGS",
    "EXPERIMENT",
    "RECORD_LENGTHS",
    "RECORD_NAME",
    "MatrixCostsConfig",
    "count_matrix_costs",
    "measure_matrix_costs",
    "record_matrix_costs",
    "seeded_operator",
]

#: Name of the committed CPU measurement (``figures/data/<name>.json``) that chapter 2 asserts
#: on, and the lengths it was measured at.
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
    """A float64 :class:`~hyena_lab.operator.HyenaOperator` at its random initialisation.

    The weights are drawn from ``seed`` inside a forked RNG, so the caller's global RNG state is
    unchanged and the same arguments give the same operator. The filters are implicit with
    :data:`DEMO_FILTER_ARGS`; ``kwargs`` go to the constructor (e.g. ``identity_first=True``).
    """
    check_positive_int(seed, "seed", minimum=0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        op = HyenaOperator(
            d_model, l_max, order=order, filter_args=dict(DEMO_FILTER_ARGS), **kwargs
        )
    return op.double().eval()


def count_matrix_costs(
    lengths: Sequence[int] = RECORD_LENGTHS,
    *,
    d_model: int = 8,
    order: int = 2,
    filter_order: int = 64,
) -> dict[str, Any]:
    """Counted work (FLOP) and memory (bytes, float32) of the three paths that
    :func:`measure_matrix_costs` times, for one sequence (batch 1) at each ``L``:

    * ``op_flops``: the operator ``op(u)``, :func:`hyena_lab.roofline.hyena_layer_cost`
      (projections, short convolution, the implicit filters' FFN evaluated at ``L`` positions,
      ``N`` FFT convolutions, ``N`` gates): ``O(N d L log L)`` for the convolutions, the rest
      linear in ``L``; ``conv_flops`` is the convolutions' share;
    * ``materialize_flops``: :meth:`~hyena_lab.operator.HyenaMatrices.product` as the handbook
      computes it, ``N`` dense products ``S_h^n A`` of ``(L, L)`` matrices per channel and a row
      scaling, ``N (2 d L^3 + d L^2)`` (any method must at least write ``d L^2`` numbers);
    * ``matvec_flops``: ``A @ v`` with ``A(u)`` given, ``2 d L^2`` (like attention's ``P V``);
    * ``A_bytes`` (``d L^2`` floats) and ``signal_bytes`` (``(2N + 1) d L`` floats: ``N + 1``
      projections and ``N`` filters), as recorded by :func:`measure_matrix_costs`.

    These counts are exact functions of the shapes: growth claims are asserted on them (and on
    the committed record), never on a live clock.
    """
    Ls = check_lengths(lengths)
    d = check_positive_int(d_model, "d_model")
    N = check_positive_int(order, "order")
    check_positive_int(filter_order, "filter_order")
    itemsize = 4  # float32
    rows = []
    for L in Ls:
        layer = hyena_layer_cost(1, L, d, N, itemsize, filter_order=filter_order)
        rows.append({
            "L": L,
            "op_flops": layer.flops,
            "conv_flops": N * fftconv_cost(1, d, L, itemsize).flops,
            "materialize_flops": float(N * (2 * d * L**3 + d * L**2)),
            "matvec_flops": float(2 * d * L * L),
            "A_bytes": d * L * L * itemsize,
            "signal_bytes": (2 * N + 1) * d * L * itemsize,
        })
    return {"what": "counted FLOP and bytes (float32) of op(u), materialize(u) and A @ v",
            "order": N, "d_model": d, "filter_order": filter_order, "rows": rows}


def measure_matrix_costs(config: MatrixCostsConfig) -> dict[str, Any]:
    """CPU time of the operator ``op(u)`` against materialising ``A(u)``, and their memory.

    For each ``L`` of ``config.lengths`` (batch 1, no autograd), the median time of

    * ``op(u)``: the FFT path, ``O(N d L log L)`` time and ``O(N d L)`` memory;
    * ``op.materialize(u)``: the dense ``A(u)`` of shape ``(d, L, L)``, ``O(d L^2)`` memory; the
      handbook multiplies dense factors, ``O(N d L^3)`` time (probing with impulses would be
      ``O(N d L^2 log L)``: still quadratic at least);
    * ``A @ v``: applying the materialised matrix, ``O(d L^2)``, like attention's ``P V``.

    The bytes of ``A(u)`` are ``d L^2`` times the item size (exact, for every ``L``); the
    operator's signals, ``(N + 1) d L`` projections plus ``N d L`` filter taps, are given for
    comparison. The dense timings stop at the first ``L`` whose predicted time (last time times
    ``(L/L_last)^3``) exceeds ``config.max_call_s``: they are recorded as ``None`` there. The
    torch thread count is ``config.threads`` during the run, restored afterwards.

    Returns:
        A JSON-ready record with ``run`` (:func:`hyena_lab.measure.environment`), ``device``,
        ``processor``, ``machine``, ``torch_version``, ``date``, ``num_threads``, ``dtype``,
        ``order``, ``d_model``, ``shapes``, ``statistic``, ``max_call_s`` and ``rows``: one dict
        per ``L`` with ``L``, ``op_seconds``, ``materialize_seconds``, ``matvec_seconds``,
        ``A_bytes`` and ``signal_bytes``.
    """
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
        "device": "cpu", "processor": env["cpu"], "machine": env["machine"],
        "torch_version": env["torch"], "date": env["date"], "num_threads": env["num_threads"],
        "dtype": c.dtype,
        "order": N,
        "d_model": d,
        "shapes": {
            "u": f"(batch, seq_len, d_model) = (1, L, {d})",
            "A": f"(d_model, L, L) = ({d}, L, L)",
            "signals": f"{N + 1} projections (1, {d}, L) and {N} filters ({d}, L)",
        },
        "statistic": "median seconds per call (hyena_lab.measure.time_calls) after one "
                     "warm-up call",
        "max_call_s": c.max_call_s,
        "rows": rows,
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
            rows.append({
                "L": L,
                **{f"{k}_seconds": t[k].median if k in t else None
                   for k in ("op", "materialize", "matvec")},
                "A_bytes": d * L * L * itemsize,
                "signal_bytes": ((N + 1) * d * L + N * d * L) * itemsize,
            })
            if "materialize" in t:
                last = (L, t["materialize"].median)
    return rows


def record_matrix_costs(config: MatrixCostsConfig | None = None) -> Path:
    """Measure :func:`measure_matrix_costs` (default: the record's settings) and save it as
    :data:`RECORD_NAME` in :func:`hyena_lab.measure.figures_dir` (``HYENA_LAB_FIGURES=figures``
    replaces the committed record); returns its path. Chapter 2 never runs this: it reads the
    committed record."""
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
    "matrix-costs",
    "time the Hyena operator against materialising its matrix A(u) (chapter 02)",
    MatrixCostsConfig,
    run=measure_matrix_costs,
    summarize=_summary,
    description="CPU time per call of op(u) (FFT path), op.materialize(u) (the dense A(u), "
    "(d, L, L)) and A @ v, and the bytes of A(u), at each L. The defaults re-make chapter 02's "
    "record: hyena-lab matrix-costs --out figures/data/02_hyena_matrices-complexity.json.",
)
