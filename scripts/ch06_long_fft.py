"""The three-pass long FFT convolution against the cuFFT path, one gated long convolution at a
time (chapter 06, issue 17): ``kernels.long_fft.fftconv_long`` (its tile settings swept) and the
fused layer's step (``long_conv.padded`` + ``causal_conv_padded`` + ``gate``), forward, same
inputs, bf16 activations, each checked against ``fftconv`` in float64 on one row, and a profile
of the three passes at the module's default tile, or the fastest tile where the default does not
compile (device ms per kernel). Written to
``$OUT/06_fft_matmul-gpu_long_fft.json`` (or the path given). On the device machine:
``python scripts/ch06_long_fft.py``; the tests run it on the CPU with tiny shapes."""

import os
import sys
from functools import partial
from pathlib import Path

import torch

from hyena_lab import fftconv
from hyena_lab.bench.profile import profile_call
from hyena_lab.checks import rel_err
from hyena_lab.kernels import long_fft
from hyena_lab.kernels.gates import gate
from hyena_lab.kernels.long_conv import causal_conv_padded, padded
from hyena_lab.measure import environment, record_each, time_fn

D_MODEL, TOKENS, LENGTHS = 768, 2**18, (2**15, 2**16, 2**18)
#: (columns, rows, warps) tried for the three passes.
SETTINGS = ((16, 8, 8), (8, 8, 8), (16, 4, 8), (32, 8, 16), (16, 16, 16))


def cufft_step(z, h, b, x):
    """The fused layer's step: pad, convolve through cuFFT, gate (what ``fftconv_long`` does)."""
    return gate(causal_conv_padded(padded(z, torch.float32), h, b), None, x)


def measure(L: int, d_model: int = D_MODEL, tokens: int = TOKENS, device: str = "cuda",
            settings=SETTINGS, repeats: int = 20, warmup: int = 3) -> dict:  # fmt: skip
    """Times (ms) and errors of both ways at length ``L``, batch ``tokens / L``."""
    B = max(1, tokens // L)
    g = torch.Generator(device=device).manual_seed(0)
    z, x = (torch.randn(B, d_model, L, generator=g, device=device).bfloat16() for _ in range(2))
    h = torch.randn(d_model, L, generator=g, device=device) * torch.exp(
        -torch.arange(L, device=device) / (L / 8)
    )  # fmt: skip
    b = torch.randn(d_model, generator=g, device=device)
    ref = x[:1, :1].double() * fftconv(z[:1, :1].double(), h[:1].double(), b[:1].double())
    line: dict = {"L": L, "B": B}
    with torch.no_grad():
        line["cufft_ms"] = time_fn(lambda: cufft_step(z, h, b, x), repeats=repeats,
                                   warmup=warmup, device=device) * 1e3  # fmt: skip
        line["cufft_err"] = rel_err(cufft_step(z, h, b, x)[:1, :1].double(), ref)
        default = (long_fft.COLUMNS, long_fft.ROWS, long_fft.NUM_WARPS)
        line["long_fft"] = []
        for tile in settings:
            call = partial(long_fft.fftconv_long, z, h, b, x, tile=tile)
            try:
                y = call()
                ms = time_fn(call, repeats=repeats, warmup=warmup, device=device) * 1e3
                row = {"ms": ms, "err": rel_err(y[:1, :1].double(), ref)}
            except Exception as err:  # recorded: a setting that does not compile is data too
                row = {"error": f"{type(err).__name__}: {str(err).splitlines()[0][:160]}"}
            columns, rows, warps = tile
            line["long_fft"].append({"columns": columns, "rows": rows, "warps": warps, **row})
            print(L, *tile, row, flush=True)
        # where the time of one call goes: at the default tile, or the fastest if it failed
        ran = {(s["columns"], s["rows"], s["warps"]): s["ms"] for s in line["long_fft"]
               if "ms" in s}  # fmt: skip
        tile = default if default in ran or not ran else min(ran, key=ran.get)
        line["default"], line["profiled"] = list(default), list(tile)
        call = partial(long_fft.fftconv_long, z, h, b, x, tile=tile)
        try:
            line["profile"] = profile_call(lambda _: call(), None, device, top=8)
        except Exception as err:  # no tile compiles at this length: the record says so
            line["profile"] = {"error": f"{type(err).__name__}: {str(err).splitlines()[0][:160]}"}
    print(f"L={L}: cuFFT step {line['cufft_ms']:.2f} ms", flush=True)
    return line


def main(out: str, lengths=LENGTHS, **options) -> Path:
    """Measure every length and write the record to ``out``."""
    import triton

    device = options.get("device", "cuda")
    record = {"run": {**environment(device), "triton": triton.__version__}, "dtype": "bf16",
              "d_model": options.get("d_model", D_MODEL),
              "tokens_per_batch": options.get("tokens", TOKENS)}  # fmt: skip
    path = record_each(record, "lengths", lengths, partial(measure, **options), Path(out),
                       schema="hyena-lab.long-fft")  # fmt: skip
    print(path)
    return path


if __name__ == "__main__":
    default = Path(os.environ.get("OUT", ".")) / "06_fft_matmul-gpu_long_fft.json"
    main(sys.argv[1] if len(sys.argv) > 1 else str(default))
