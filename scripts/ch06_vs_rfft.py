"""The fused layer's long convolution against a careful PyTorch rfft convolution, one call at a
time (chapter 06, issue 17: the scale on which FlashFFTConv's own build was measured on the
same GPU). Three calls on the same inputs, bf16 activations, ``D = 768``, ``2^18`` tokens per
batch, forward:

* ``rfft``: :func:`hyena_lab.fftconv`, ``irfft(rfft(z, 2L) * rfft(h, 2L))[..., :L] + b z`` in
  float32 after one cast of ``z`` (no gate); its output stays float32 (``h`` is float32), no
  cast back: the cheapest plain-PyTorch form;
* ``rfft_gated``: ``x * fftconv(z, h, b)``, the same work as the fused step;
* ``fused``: the fused layer's step, ``kernels.long_conv.padded`` + ``causal_conv_padded`` +
  ``kernels.gates.gate`` (pad, the packed transforms around the spectral pass, gate).

Each is timed by :func:`hyena_lab.measure.time_fn` and checked against ``fftconv`` in float64 on
one row. Written to ``$OUT/06_fft_matmul-gpu_vs_rfft.json`` (or the path given) after every
length. On the device machine: ``python scripts/ch06_vs_rfft.py``; the tests run it on the CPU
with tiny shapes."""

import os
import sys
from functools import partial
from pathlib import Path

import torch

from hyena_lab import fftconv
from hyena_lab.checks import rel_err
from hyena_lab.kernels.gates import gate
from hyena_lab.kernels.long_conv import causal_conv_padded, padded
from hyena_lab.measure import environment, record_each, time_fn

D_MODEL, TOKENS = 768, 2**18
LENGTHS = tuple(2**k for k in range(10, 21))  # 1K to 1M


def measure(L: int, d_model: int = D_MODEL, tokens: int = TOKENS, device: str = "cuda",
            repeats: int = 20, warmup: int = 3) -> dict:  # fmt: skip
    """Times (ms) and errors of the three calls at length ``L``, batch ``tokens / L``."""
    B = max(1, tokens // L)
    g = torch.Generator(device=device).manual_seed(0)
    z, x = (torch.randn(B, d_model, L, generator=g, device=device).bfloat16() for _ in range(2))
    h = torch.randn(d_model, L, generator=g, device=device) * torch.exp(
        -torch.arange(L, device=device) / (L / 8)
    )  # fmt: skip
    b = torch.randn(d_model, generator=g, device=device)
    calls = {
        "rfft": lambda: fftconv(z, h, b),
        "rfft_gated": lambda: x * fftconv(z, h, b),
        "fused": lambda: gate(causal_conv_padded(padded(z, torch.float32), h, b), None, x),
    }
    conv64 = fftconv(z[:1, :1].double(), h[:1].double(), b[:1].double())
    gated64 = x[:1, :1].double() * conv64
    refs = {"rfft": conv64, "rfft_gated": gated64, "fused": gated64}
    line: dict = {"L": L, "B": B}
    with torch.no_grad():
        for name, call in calls.items():
            line[f"{name}_ms"] = time_fn(call, repeats=repeats, warmup=warmup,
                                         device=device) * 1e3  # fmt: skip
            line[f"{name}_err"] = rel_err(call()[:1, :1].double(), refs[name])
    print(L, {k: round(v, 4) for k, v in line.items() if k.endswith(("_ms", "_err"))}, flush=True)
    return line


def main(out: str, lengths=LENGTHS, **options) -> Path:
    """Measure every length; write the record to ``out`` after each."""
    device = options.get("device", "cuda")
    record = {"run": environment(device), "dtype": "bf16",
              "d_model": options.get("d_model", D_MODEL),
              "tokens_per_batch": options.get("tokens", TOKENS)}  # fmt: skip
    path = record_each(record, "lengths", lengths, partial(measure, **options), Path(out),
                       schema="hyena-lab.conv-vs-rfft")  # fmt: skip
    print(path)
    return path


if __name__ == "__main__":
    default = Path(os.environ.get("OUT", ".")) / "06_fft_matmul-gpu_vs_rfft.json"
    main(sys.argv[1] if len(sys.argv) > 1 else str(default))
