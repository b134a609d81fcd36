"""Where the fused Hyena layer's time goes on a GPU (chapter 06, issue 17): ``torch.profiler`` of
``backend="triton"`` at 8K and 64K (bf16, d_model 768, order 2, 2^18 tokens), forward and
forward + backward, CUDA time per kernel; written to ``$OUT/06_fft_matmul-gpu_layer_profile.json``
(or the path given). Run on the device machine: ``python scripts/ch06_profile.py``.

Beside the profiles, one long convolution of the forward pass without gradients is timed alone
(``long_conv_ms``: the filter's padding pass and transform, the signal's transforms and the
spectral pass, no gate), with float32 transforms and, on CUDA, with half-precision ones: the
time chapter 06 sets against the convolution's floor: kernel times summed from a profile
varied more between two calls of the same code on the H200 than the timed layer did."""

import os
import sys
from pathlib import Path

import torch

from hyena_lab import HyenaOperator
from hyena_lab.bench.profile import profile_call
from hyena_lab.kernels.layer import filter_bank, fused_forward
from hyena_lab.kernels.long_conv import HALF_SCALE, causal_conv_padded, padded
from hyena_lab.measure import environment, save_record, time_fn

D_MODEL, ORDER, TOKENS, LENGTHS = 768, 2, 2**18, (8192, 65536)


def profile_length(L: int, d_model: int = D_MODEL, tokens: int = TOKENS, device: str = "cuda",
                   dtype: torch.dtype = torch.bfloat16, repeats: int = 20,
                   half_fft: bool = False) -> dict:  # fmt: skip
    """The fused layer at length ``L`` (batch ``tokens / L``): median times and profiles;
    ``half_fft``: the forward with half-precision transforms (``op.half_fft``, no autograd;
    forward+backward takes the float32 path whatever it says)."""
    B = max(1, tokens // L)
    torch.manual_seed(0)
    op = HyenaOperator(d_model, l_max=L, order=ORDER, backend="triton").to(device, dtype)
    op.half_fft = half_fft
    u = torch.randn(B, L, d_model, device=device, dtype=dtype)
    uu, g = u.clone().requires_grad_(), torch.randn_like(u)

    def forward():
        with torch.no_grad():
            fused_forward(op, u)

    def forward_backward():
        fused_forward(op, uu).backward(g)

    return {
        "L": L, "B": B, "half_fft": half_fft,
        "long_conv_ms": long_conv_ms(op, L, B, device, repeats),
        "fwd_ms": time_fn(forward, repeats=repeats, device=device) * 1e3,
        "fwdbwd_ms": time_fn(forward_backward, repeats=repeats, device=device) * 1e3,
        "profile_fwd": profile_call(lambda _: forward(), None, device, top=20),
        "profile_fwdbwd": profile_call(lambda _: forward_backward(), None, device, top=24),
    }  # fmt: skip


def long_conv_ms(op: HyenaOperator, L: int, B: int, device: str, repeats: int) -> dict:
    """One long convolution of ``op``'s forward without gradients, timed alone (median ms), as
    the fused layer runs it: ``{"float32": ..., "half": ...}`` (``"half"`` on CUDA only: the
    padded signal float16, pre-scaled, complex32 transforms)."""
    times = {}
    with torch.no_grad():
        h, decays = filter_bank(op, L, window=False)  # (n_filters, D, L) and eq. (7)'s window
        z = torch.randn(B, op.d_model, L, device=device)  # (B, D, L), as v after the short conv
        kinds = {"float32": (torch.float32, 1.0)}
        if torch.device(device).type == "cuda":
            kinds["half"] = (torch.float16, HALF_SCALE)
        for name, (dtype, scale) in kinds.items():
            zp = padded(z, dtype, scale)  # (B, D, 2L)
            times[name] = time_fn(lambda zp=zp: causal_conv_padded(zp, h[0], op.bias[0], decays[0]),
                                  repeats=repeats, device=device) * 1e3  # fmt: skip
    return times


def main(out: str, lengths: tuple[int, ...] = LENGTHS, **settings) -> Path:
    """Profile every length of ``lengths`` and write the record to ``out``; ``settings`` go to
    :func:`profile_length` (the defaults are chapter 06's: CUDA, bf16, d_model 768, 2^18
    tokens; the tests pass tiny CPU ones)."""
    import triton

    device = settings.get("device", "cuda")
    dtype = settings.get("dtype", torch.bfloat16)
    layers = []
    for L in lengths:
        layers.append(profile_length(L, **settings))
        conv = ", ".join(f"{k} {v:.2f} ms" for k, v in layers[-1]["long_conv_ms"].items())
        print(f"L={L}: forward {layers[-1]['fwd_ms']:.2f} ms, forward+backward "
              f"{layers[-1]['fwdbwd_ms']:.2f} ms; one long convolution: {conv}", flush=True)
        if torch.device(device).type == "cuda":
            torch.cuda.empty_cache()
    run = {**environment(device), "triton": triton.__version__}
    record = {"run": run, "dtype": {torch.bfloat16: "bf16", torch.float32: "fp32"}.get(dtype),
              "d_model": settings.get("d_model", D_MODEL), "order": ORDER,
              "tokens_per_batch": settings.get("tokens", TOKENS), "layer": layers}  # fmt: skip
    path = save_record(record, Path(out), schema="hyena-lab.layer-profile")
    print(path)
    return path


if __name__ == "__main__":  # python scripts/ch06_profile.py [OUT] [--half-fft]
    args = [a for a in sys.argv[1:] if a != "--half-fft"]
    default = Path(os.environ.get("OUT", ".")) / "06_fft_matmul-gpu_layer_profile.json"
    main(args[0] if args else str(default), half_fft="--half-fft" in sys.argv[1:])
