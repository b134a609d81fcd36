"""The FFT convolution as tensor-core matrix products (``hyena_lab.monarch_tc.fftconv_tc``,
chapter 06, issue 17 deliverable 2b) against the cuFFT convolutions, 1K to 1M, one call at a
time on the same inputs: bf16 activations, ``D = 768``, ``2^18`` tokens per batch, forward,
no gate (the contract of :func:`hyena_lab.fftconv`):

* ``tc``: ``fftconv_tc`` in float16 (the four products through ``torch.mm(...,
  out_dtype=torch.float32)``: tensor cores, float32 accumulation);
* ``rfft``: :func:`hyena_lab.fftconv`, one cast and ``rfft`` in float32;
* ``fused``: the fused layer's long convolution, ``kernels.long_conv.padded`` +
  ``causal_conv_padded`` (packed cuFFT transforms around the spectral pass).

Each is timed by :func:`hyena_lab.measure.time_fn` and checked against ``fftconv`` in float64 on
eight rows; ``tc_tflops`` is the rate of the four products' counted work. Written to
``$OUT/06_fft_matmul-gpu_monarch_tc.json`` (or the path given) after every length. On the device
machine: ``python scripts/ch06_monarch_tc.py``; the tests run it on the CPU with tiny shapes."""

import os
import sys
from functools import partial
from pathlib import Path

import torch

from hyena_lab import fftconv
from hyena_lab.checks import rel_err
from hyena_lab.kernels.long_conv import causal_conv_padded, padded
from hyena_lab.measure import environment, record_each, time_fn
from hyena_lab.monarch_tc import fftconv_tc, mm_out_float32, tc_factors, tc_rel_bound

D_MODEL, TOKENS = 768, 2**18
LENGTHS = tuple(2**k for k in range(10, 21))  # 1K to 1M


def tc_flops(L: int, rows: int, d: int) -> int:
    """FLOPs of ``fftconv_tc``'s products for ``rows`` signals and ``d`` filters of length ``L``
    (2 per multiply-add): the filters' two forward products and the signals' four."""
    a, b = tc_factors(L)
    a_in = -(-L // b)
    forward = 2 * (b * a_in * 2 * a + a * (2 * b) ** 2)  # per row: columns, then rows
    inverse = 2 * (a * (2 * b) ** 2 + b * 2 * a * a_in)
    return rows * (forward + inverse) + d * forward


def measure(L: int, d_model: int = D_MODEL, tokens: int = TOKENS, device: str = "cuda",
            repeats: int = 10, warmup: int = 2, kernels: bool = True) -> dict:  # fmt: skip
    """Times (ms) and errors of the three calls at length ``L``, batch ``tokens / L``
    (``kernels=False``: without the fused step, which needs Triton)."""
    B = max(1, tokens // L)
    g = torch.Generator(device=device).manual_seed(0)
    z = torch.randn(B, d_model, L, generator=g, device=device).bfloat16()
    h = torch.randn(d_model, L, generator=g, device=device) * torch.exp(
        -torch.arange(L, device=device) / (L / 8)
    )  # fmt: skip
    b = torch.randn(d_model, generator=g, device=device)
    calls = {"tc": lambda: fftconv_tc(z, h, b), "rfft": lambda: fftconv(z, h, b)}
    if kernels:
        calls["fused"] = lambda: causal_conv_padded(padded(z, torch.float32), h, b)[..., :L]
    rows = min(8, d_model)
    ref = fftconv(z[:1, :rows].double(), h[:rows].double(), b[:rows].double())
    line: dict = {"L": L, "B": B, "factors": list(tc_factors(L))}
    with torch.no_grad():
        for name, call in calls.items():
            line[f"{name}_ms"] = time_fn(call, repeats=repeats, warmup=warmup,
                                         device=device) * 1e3  # fmt: skip
            line[f"{name}_err"] = rel_err(call()[:1, :rows].double(), ref)
            if torch.device(device).type == "cuda":
                torch.cuda.empty_cache()
    line["tc_bound"] = tc_rel_bound(torch.float16)
    line["tc_tflops"] = tc_flops(L, B * d_model, d_model) / (line["tc_ms"] * 1e-3) / 1e12
    print(L, {k: round(v, 4) for k, v in line.items() if isinstance(v, float)}, flush=True)
    return line


def main(out: str, lengths=LENGTHS, **options) -> Path:
    """Measure every length; write the record to ``out`` after each."""
    device = options.get("device", "cuda")
    record = {"run": environment(device), "dtype": "bf16", "tc_dtype": "fp16",
              "mm_out_float32": mm_out_float32(device),
              "d_model": options.get("d_model", D_MODEL),
              "tokens_per_batch": options.get("tokens", TOKENS)}  # fmt: skip
    path = record_each(record, "lengths", lengths, partial(measure, **options), Path(out),
                       schema="hyena-lab.monarch-tc")  # fmt: skip
    print(path)
    return path


if __name__ == "__main__":
    default = Path(os.environ.get("OUT", ".")) / "06_fft_matmul-gpu_monarch_tc.json"
    main(sys.argv[1] if len(sys.argv) > 1 else str(default))
