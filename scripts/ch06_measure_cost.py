"""What does measuring the half path's scales cost? (issue 17, chapter 06: the default bf16
inference path measures each step's largest values as its passes run.) For the benchmark's
layer (``d_model`` 768, order 2, ``2^18`` tokens per batch, bf16, no gradients), three calls
timed side by side in interleaved rounds (:func:`hyena_lab.measure.time_calls`):

* ``measured``: ``op(u)``, the default path (half-precision transforms, scales measured);
* ``unmeasured``: the same passes with the same scales and nothing measured (the kernels built
  without their running maxima), then one synchronisation as the path had before;
* ``float32``: float32 transforms (``op.half_fft = False``).

Written to ``$OUT/06_fft_matmul-gpu_measure_cost.json`` (or the path given) after each length.
On the device machine: ``python scripts/ch06_measure_cost.py``; the tests run it on the CPU
with tiny shapes (no complex32 FFT there: the layer takes float32 transforms throughout)."""

import os
import sys
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F

from hyena_lab import HyenaOperator
from hyena_lab.kernels import layer
from hyena_lab.measure import environment, record_each, time_calls

D_MODEL, TOKENS = 768, 2**18
LENGTHS = (8192, 65536, 262144)


def case(L: int, device: str, d_model: int = D_MODEL, tokens: int = TOKENS,
         rounds: int = 5, target_s: float = 1.0) -> dict:  # fmt: skip
    """Milliseconds per call of each way, interleaved, at length ``L``."""
    torch.manual_seed(0)
    op = HyenaOperator(d_model, l_max=L, order=2, backend="triton")
    op = op.to(device=device, dtype=torch.bfloat16 if device == "cuda" else torch.float32)
    g = torch.Generator(device=device).manual_seed(1)
    u = torch.randn(max(1, tokens // L), L, d_model, device=device, generator=g).to(
        next(op.parameters()).dtype)
    with torch.no_grad():
        op(u)
        op(u)  # the scales settle (a first call may compute twice)
        kept = layer.half_scales(op, L)

        def unmeasured():
            z = layer._steps(op, u, True, False, False, kept)  # no stats: nothing measured
            torch.zeros(1, device=u.device).item()  # the one synchronisation the path had
            return F.linear(z, op.out_proj.weight, op.out_proj.bias)

        def float32():
            op.half_fft = False
            try:
                return op(u)
            finally:
                del op.half_fft

        calls = {"measured": lambda: op(u), "float32": float32}
        if kept is not None:  # the half path ran (CUDA)
            calls["unmeasured"] = unmeasured
        t = time_calls(calls, device=device, warmup=2, rounds=rounds, target_s=target_s,
                       min_repeats=3)  # fmt: skip
    line = {"L": L, "batch": u.shape[0], "half": kept is not None,
            **{f"{k}_ms": v.median * 1e3 for k, v in t.items()},
            **{f"{k}_ms_p20_p80": [v.percentile(20) * 1e3, v.percentile(80) * 1e3]
               for k, v in t.items()}}  # fmt: skip
    print({k: v for k, v in line.items() if not k.endswith("p80")}, flush=True)
    if device == "cuda":
        torch.cuda.empty_cache()
    return line


def main(out: str, device: str = "cuda", lengths=LENGTHS, **options) -> Path:
    """Time every length, writing the record to ``out`` after each."""
    record: dict = {"run": environment(device), "d_model": options.get("d_model", D_MODEL),
                    "tokens_per_batch": options.get("tokens", TOKENS)}
    path = record_each(record, "lengths", lengths, partial(case, device=device, **options),
                       Path(out), schema="hyena-lab.measure-cost")  # fmt: skip
    print(path)
    return path


if __name__ == "__main__":
    default = Path(os.environ.get("OUT", ".")) / "06_fft_matmul-gpu_measure_cost.json"
    main(sys.argv[1] if len(sys.argv) > 1 else str(default))
