"""Where the fused Hyena layer's time goes on a GPU (chapter 06, issue 17): ``torch.profiler`` of
``backend="triton"`` at 8K and 64K (bf16, d_model 768, order 2, 2^18 tokens), forward and
forward + backward, CUDA time per kernel; written to ``$OUT/06_fft_matmul-gpu_layer_profile.json``
(or the path given). Run on the device machine: ``python scripts/ch06_profile.py``."""

import os
import sys
from pathlib import Path

import torch

from hyena_lab import HyenaOperator
from hyena_lab.bench.profile import profile_call
from hyena_lab.kernels.layer import fused_forward
from hyena_lab.measure import environment, save_record, time_fn

D_MODEL, ORDER, DEVICE = 768, 2, "cuda"


def profile_length(L: int) -> dict:
    """The fused layer at length ``L`` (batch ``2^18 / L``): median times and profiles."""
    B = 2**18 // L
    torch.manual_seed(0)
    op = HyenaOperator(D_MODEL, l_max=L, order=ORDER, backend="triton")
    op = op.to(DEVICE, torch.bfloat16)
    u = torch.randn(B, L, D_MODEL, device=DEVICE, dtype=torch.bfloat16)
    uu, g = u.clone().requires_grad_(), torch.randn_like(u)

    def forward():
        with torch.no_grad():
            fused_forward(op, u)

    def forward_backward():
        fused_forward(op, uu).backward(g)

    return {
        "L": L, "B": B,
        "fwd_ms": time_fn(forward, repeats=20, device=DEVICE) * 1e3,
        "fwdbwd_ms": time_fn(forward_backward, repeats=20, device=DEVICE) * 1e3,
        "profile_fwd": profile_call(lambda _: forward(), None, DEVICE, top=20),
        "profile_fwdbwd": profile_call(lambda _: forward_backward(), None, DEVICE, top=24),
    }  # fmt: skip


def main(out: str) -> None:
    import triton

    layers = []
    for L in (8192, 65536):
        layers.append(profile_length(L))
        print(f"L={L}: forward {layers[-1]['fwd_ms']:.2f} ms, forward+backward "
              f"{layers[-1]['fwdbwd_ms']:.2f} ms", flush=True)  # fmt: skip
        torch.cuda.empty_cache()
    run = {**environment(DEVICE), "triton": triton.__version__}
    record = {"run": run, "dtype": "bf16", "d_model": D_MODEL, "order": ORDER,
              "tokens_per_batch": 2**18, "layer": layers}  # fmt: skip
    print(save_record(record, Path(out), schema="hyena-lab.layer-profile"))


if __name__ == "__main__":
    default = Path(os.environ.get("OUT", ".")) / "06_fft_matmul-gpu_layer_profile.json"
    main(sys.argv[1] if len(sys.argv) > 1 else str(default))
