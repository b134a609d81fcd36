"""Would half-precision transforms close chapter 06's gap? (issue 17: the fused layer's forward
at 64K spends most of its time in cuFFT's float32 transforms). Two measurements, written to
``$OUT/06_fft_matmul-gpu_half_fft.json`` (or the path given) after each item:

* ``speed``: one complex FFT and one inverse over the fused layer's rows (``B D`` rows of ``L``
  complex numbers, the packed form of ``2L`` reals; ``D = 768``, ``2^18`` tokens per batch) in
  complex64 and complex32 (cuFFT's half precision: it has no bf16), and a copy of each, timed
  by :func:`hyena_lab.measure.time_fn`. complex32 transforms run only on a CUDA GPU (powers of
  two); elsewhere the record holds the error.
* ``accuracy``: a causal convolution ``h * z`` (``z`` bf16-valued, the filter decaying) with
  every spectrum stored in half precision and the arithmetic between transforms in float32,
  against float64, for inputs of mean 0, 1 and 10 and a power-of-two pre-scale ``2^-s`` of
  ``z`` (fp16 stops at 65,504; a spectrum's first bin is the sum of the row); beside it the
  float32 path's error and the rounding of the bf16 output alone.

On the device machine: ``python scripts/ch06_half_fft.py``; the tests run it on the CPU with
tiny shapes (complex64 only)."""

import os
import sys
import warnings
from pathlib import Path

import torch

from hyena_lab.checks import rel_err
from hyena_lab.measure import environment, save_record, time_fn

D_MODEL, TOKENS = 768, 2**18
SPEED_LENGTHS = (8192, 32768, 65536, 262144, 1048576)
#: (L, B, D) of the accuracy check: a few rows (the float64 reference at 1M is large).
ACCURACY_SHAPES = ((8192, 2, 64), (65536, 1, 32), (262144, 1, 16), (1048576, 1, 8))
SHIFTS = (0, 4, 8, 10, 12)
warnings.filterwarnings("ignore", message="ComplexHalf support is experimental")  # it is used
MEANS = (0.0, 1.0, 10.0)


def speed(L: int, device: str, d_model: int = D_MODEL, tokens: int = TOKENS,
          repeats: int = 15) -> dict:  # fmt: skip
    """Median ms of ``fft``/``ifft``/copy of ``(B D, L)`` complex rows in complex64 and 32."""
    rows = max(1, tokens // L) * d_model
    g = torch.Generator(device=device).manual_seed(0)
    x64 = torch.randn(rows, L, dtype=torch.complex64, device=device, generator=g)
    line: dict = {"L": L, "rows": rows}

    def timed(x: torch.Tensor, name: str) -> None:
        ms = {"fft": lambda: torch.fft.fft(x), "ifft": lambda: torch.fft.ifft(x, norm="forward"),
              "copy": x.clone}  # fmt: skip
        for what, call in ms.items():
            line[f"{what}_{name}_ms"] = time_fn(call, repeats=repeats, device=device) * 1e3

    timed(x64, "c64")
    try:
        timed(x64.to(torch.complex32), "c32")
    except (RuntimeError, TypeError) as err:  # no complex32 FFT here: the record says so
        line["c32_error"] = f"{type(err).__name__}: {str(err).splitlines()[0][:160]}"
    print(line, flush=True)
    return line


def _conv_half(z: torch.Tensor, h: torch.Tensor, shift: int) -> torch.Tensor | None:
    """``h * z`` with the padded input and both spectra in half precision (``z`` scaled by
    ``2^-shift`` on the way in, undone in the filter's spectrum); ``None`` on overflow."""
    L = z.shape[-1]
    n, s = 2 * L, 2.0**-shift
    zp = torch.zeros(*z.shape[:-1], n, device=z.device, dtype=torch.float16)
    zp[..., :L] = (z.float() * s).half()
    Z = torch.fft.rfft(zp)  # complex32, unnormalised
    P = (Z.to(torch.complex64) * (torch.fft.rfft(h.float(), n=n) / (n * s))).to(torch.complex32)
    y = torch.fft.irfft(P, n=n, norm="forward")[..., :L].float()
    finite = torch.isfinite(Z.to(torch.complex64)).all() and torch.isfinite(y).all()
    return y if finite else None


def accuracy(L: int, B: int, D: int, device: str) -> dict:
    """Relative errors against float64 of the half-storage convolution (each shift), the
    float32 one and the bf16 output's rounding, for inputs of each mean."""
    from hyena_lab import fftconv

    g = torch.Generator(device=device).manual_seed(1)
    t = torch.arange(L, device=device)
    h = torch.randn(D, L, device=device, generator=g) * torch.exp(-t / (L / 8)) / (L / 8) ** 0.5
    line: dict = {"L": L, "B": B, "D": D, "errors": {}}
    for mean in MEANS:
        z = (torch.randn(B, D, L, device=device, generator=g) + mean).bfloat16()
        ref = fftconv(z.double(), h.double())
        e: dict = {"f32": rel_err(fftconv(z.float(), h.float()), ref),
                   "bf16_out": rel_err(ref.bfloat16(), ref)}  # fmt: skip
        for shift in SHIFTS:
            try:
                y = _conv_half(z, h, shift)
                e[f"half_s{shift}"] = "overflow" if y is None else rel_err(y, ref)
            except (RuntimeError, TypeError) as err:  # no complex32 FFT on this device
                e[f"half_s{shift}"] = f"{type(err).__name__}: {str(err).splitlines()[0][:120]}"
        line["errors"][f"mean_{mean:g}"] = e
    print(line, flush=True)
    return line


def main(out: str, device: str = "cuda", speed_lengths=SPEED_LENGTHS,
         accuracy_shapes=ACCURACY_SHAPES, **options) -> Path:  # fmt: skip
    """Measure, writing the record to ``out`` after every item."""
    record: dict = {"run": environment(device), "d_model": options.get("d_model", D_MODEL),
                    "tokens_per_batch": options.get("tokens", TOKENS), "speed": [],
                    "accuracy": []}  # fmt: skip
    path = Path(out)
    for L in speed_lengths:
        record["speed"].append(speed(L, device, **options))
        save_record(record, path, schema="hyena-lab.half-fft")
        if device == "cuda":
            torch.cuda.empty_cache()
    for shape in accuracy_shapes:
        record["accuracy"].append(accuracy(*shape, device=device))
        save_record(record, path, schema="hyena-lab.half-fft")
    print(path)
    return path


if __name__ == "__main__":
    default = Path(os.environ.get("OUT", ".")) / "06_fft_matmul-gpu_half_fft.json"
    main(sys.argv[1] if len(sys.argv) > 1 else str(default))
