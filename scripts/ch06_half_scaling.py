"""Do the half path's measured scales keep its float16 transforms accurate whatever the size of
the activations? (issue 17: the half path was opt-in because its signal started at a fixed
pre-scale ``2^-8`` that assumed activations of size about 1; smaller ones became float16
subnormals, silently.) Written to ``$OUT/06_fft_matmul-gpu_half_scaling.json`` (or the path
given) after each case.

For the order-2 layer of the benchmark (``d_model`` 768, ``2^18`` tokens per batch, bf16) with
``in_proj`` and the short filter's bias multiplied by ``size`` (so ``v`` and the gates ``x``
scale with it, and ``z^2`` with its square), the core's output ``z^3`` (before ``out_proj``,
whose bias would hide it) against float64, computed:

* ``measured``: the fused layer's default path for bf16 without gradients (half-precision
  transforms, scales measured; :mod:`hyena_lab.kernels.layer`), a first call and a second
  one, with how many times each computed the steps and the scales it kept;
* ``fixed``: the same passes with every step's pre-scale fixed at ``2^-8``, what the layer did
  before (``"overflow"`` where a value is not finite);
* ``float32``: float32 transforms (``op.half_fft = False``).

On the device machine: ``python scripts/ch06_half_scaling.py``; the tests run it on the CPU
with tiny shapes (no complex32 FFT there: the half-precision cases record the error)."""

import copy
import os
import sys
import warnings
from pathlib import Path

import torch

from hyena_lab import HyenaOperator
from hyena_lab.checks import rel_err
from hyena_lab.kernels import layer
from hyena_lab.measure import environment, record_each

D_MODEL, TOKENS = 768, 2**18
LENGTHS = (8192, 65536, 262144)
SIZES = (1e-4, 1e-2, 1.0, 1e2)
FIXED = 2.0**-8  # the pre-scale every step had before the scales were measured


def _layer(L: int, size: float, d_model: int, device: str) -> HyenaOperator:
    torch.manual_seed(0)
    op = HyenaOperator(d_model, l_max=L, order=2, backend="triton")
    with torch.no_grad():
        op.in_proj.weight.mul_(size)
        op.in_proj.bias.mul_(size)
        op.short_filter.bias.mul_(size)
    return op.to(device=device, dtype=torch.bfloat16)


def case(L: int, size: float, device: str, d_model: int = D_MODEL, tokens: int = TOKENS) -> dict:
    """One length and activation size: every path's relative error against float64."""
    op = _layer(L, size, d_model, device)
    g = torch.Generator(device=device).manual_seed(1)
    u = torch.randn(max(1, tokens // L), L, d_model, device=device, generator=g).bfloat16()
    line: dict = {"L": L, "size": size, "batch": u.shape[0]}
    with torch.no_grad():
        ref = copy.deepcopy(op).double().core(u.double())  # (B, D, L)
        line["out_size"] = ref.abs().max().item()
        computes = []
        real_steps = layer._steps
        layer._steps = lambda *a, **k: computes.append(a[5]) or real_steps(*a, **k)
        try:
            for call in ("first", "second"):
                computes.clear()
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", RuntimeWarning)
                    got = layer.fused_core(op, u)
                half = [s for s in computes if s is not None]
                line[f"measured_{call}"] = {
                    "error": rel_err(got.double(), ref), "computes": len(computes),
                    "half": len(half), "warnings": [str(w.message)[:200] for w in caught],
                }  # fmt: skip
            kept = layer.half_scales(op, L)
            line["kept_scales"] = None if kept is None else list(kept.signal)
            line["filter_scale"] = None if kept is None else kept.filters
        except (RuntimeError, ValueError) as err:  # no complex32 FFT here: say so
            line["measured_first"] = f"{type(err).__name__}: {str(err).splitlines()[0][:160]}"
        finally:
            layer._steps = real_steps
        try:
            fixed = layer.HalfScales((FIXED, FIXED), layer.filter_prescale(op, L))
            y = layer._steps(op, u, False, False, False, fixed)
            line["fixed"] = rel_err(y.double(), ref) if torch.isfinite(y).all() else "overflow"
        except (RuntimeError, ValueError) as err:
            line["fixed"] = f"{type(err).__name__}: {str(err).splitlines()[0][:160]}"
        op.half_fft = False
        line["float32"] = rel_err(layer.fused_core(op, u).double(), ref)
    print({k: v for k, v in line.items() if k != "kept_scales"}, flush=True)
    if device == "cuda":
        torch.cuda.empty_cache()
    return line


def main(out: str, device: str = "cuda", lengths=LENGTHS, sizes=SIZES, **options) -> Path:
    """Measure every (length, size), writing the record to ``out`` after each."""
    record: dict = {"run": environment(device), "d_model": options.get("d_model", D_MODEL),
                    "tokens_per_batch": options.get("tokens", TOKENS), "fixed_scale": FIXED}
    path = record_each(record, "cases", [(L, s) for L in lengths for s in sizes],
                       lambda L_size: case(*L_size, device, **options), Path(out),
                       schema="hyena-lab.half-scaling")  # fmt: skip
    print(path)
    return path


if __name__ == "__main__":
    default = Path(os.environ.get("OUT", ".")) / "06_fft_matmul-gpu_half_scaling.json"
    main(sys.argv[1] if len(sys.argv) > 1 else str(default))
