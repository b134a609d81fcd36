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
from .accuracy import layer_accuracy
from .cases import classify
from .config import BenchConfig, _int_list, _str_list

__all__ = ["TOLERANCE", "variant_accuracy"]

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
