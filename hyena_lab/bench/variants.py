"""Every Hyena variant of chapter 06 against float64 at every benchmarked length:
``python -m hyena_lab.bench.variants --lengths 1024,65536 --variants torch,triton``.

For each ``(variant, L)``: :func:`~hyena_lab.bench.accuracy.layer_accuracy` at batch 1 (output,
input gradient and parameter gradients against the eager layer's float64 copy, same weights).
The record is written after every length (:func:`hyena_lab.measure.save_record`), so a run cut
short keeps what it measured; a failure is recorded as its message, not raised.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..checks import HALF_VS_F64
from ..measure import environment, save_record
from ..roofline import Ceilings
from .accuracy import layer_accuracy
from .cases import classify
from .config import BenchConfig, _int_list, _str_list
from .sweep import run_benchmarks

__all__ = ["TOLERANCE", "speedups_here", "variant_accuracy"]

#: Chapter 06's bound on every relative error (issue 17): 1e-2 in bf16/fp16 (the
#: :data:`~hyena_lab.checks.HALF_VS_F64` of the package), 1e-4 in fp32.
TOLERANCE = {"bf16": HALF_VS_F64, "fp16": HALF_VS_F64, "fp32": 1e-4}


def variant_accuracy(cfg: BenchConfig, out: str | Path | None = None) -> dict:
    """``{"errors": {variant: {L: {"out", "grad_u", "grad_params"}}}}`` for every variant of
    ``cfg.hyena_variants`` and length of ``cfg.lengths``, with the machine and the tolerance."""
    cfg.validate()
    record: dict = {"run": environment(cfg.device), "dtype": cfg.dtype,
                    "d_model": cfg.d_model, "order": cfg.order, "batch": 1,
                    "tolerance": TOLERANCE[cfg.dtype], "errors": {}}  # fmt: skip
    for L in sorted(cfg.lengths):
        for variant in cfg.hyena_variants:
            try:
                errors: dict | str = layer_accuracy(cfg, L, variant)
            except Exception as err:  # recorded: the other variants still run
                errors = f"{classify(err)}: {(str(err).splitlines() or [''])[0][:160]}"
            record["errors"].setdefault(variant, {})[str(L)] = errors
            print(f"L={L} {variant}: {errors}", flush=True)
        if out is not None:
            save_record(record, Path(out), schema="hyena-lab.variant-accuracy")
    return record


def speedups_here(
    lengths: tuple[int, ...] = (8192, 65536), variant: str = "triton", budget_s: float = 90.0,
    ceilings: Ceilings | None = None, **settings: object,
) -> dict:
    """Chapter 06's re-measurement on this machine: the Hyena layer built as ``variant`` against
    the attention layer (SDPA backends tried in :class:`BenchConfig`'s order, cuDNN first, the
    H200 record's fastest), forward only, at ``lengths``, with the record's shapes (bf16,
    ``d_model`` 768, 12 heads, ``2^18`` tokens) unless ``settings`` override them.

    Returns ``{"device", "speedup": {L: attention time / Hyena time}, "hyena_ms", "attention_ms"}``
    (``None`` where a case did not run: out of memory, or past ``budget_s``). ``ceilings``: the
    machine's rates if already measured (else the sweep measures them first)."""
    fields = {"lengths": tuple(lengths), "benches": ("hyena", "mha"), "passes": ("fwd",),
              "hyena_variants": (variant,), "time_budget_s": budget_s, "profile_length": None}
    cfg = BenchConfig(**{**fields, **settings})
    results = run_benchmarks(cfg, progress=True, ceilings=ceilings)
    ms = {(p["bench"], p["L"]): p["time_ms"] for p in results["points"] if p["status"] == "ok"}
    hyena = {L: ms.get(("hyena", L)) for L in sorted(cfg.lengths)}
    attn = {L: ms.get(("mha", L)) for L in sorted(cfg.lengths)}
    return {
        "device": results["meta"]["device"],
        "speedup": {L: (attn[L] / hyena[L] if attn[L] and hyena[L] else None) for L in hyena},
        "hyena_ms": hyena, "attention_ms": attn,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m hyena_lab.bench.variants",
                                     description=__doc__.splitlines()[0])  # fmt: skip
    parser.add_argument("--lengths", type=_int_list, default=(1024,))
    parser.add_argument("--variants", type=_str_list, default=("torch",))
    parser.add_argument("--dtype", default="bf16", choices=sorted(TOLERANCE))
    parser.add_argument("--device", default=None)
    parser.add_argument("--d-model", type=int, default=768)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    cfg = BenchConfig(device=args.device, dtype=args.dtype, d_model=args.d_model, heads=1,
                      lengths=args.lengths, hyena_variants=args.variants)  # fmt: skip
    return variant_accuracy(cfg, args.out)


if __name__ == "__main__":
    main()
