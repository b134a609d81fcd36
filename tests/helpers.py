"""Small helpers imported by several test modules."""

import torch

from hyena_lab.checks import rel_err

__all__ = ["DEV", "pad_ref", "randn", "rel_err"]

#: Where the kernel tests run: the GPU when there is one, else the CPU (Triton's interpreter).
DEV = "cuda" if torch.cuda.is_available() else "cpu"


def randn(*shape: int, dtype: torch.dtype = torch.float64, seed: int = 0) -> torch.Tensor:
    """Standard normal numbers drawn in float64 on the CPU from ``seed`` (the same on every
    machine), then cast to ``dtype`` on :data:`DEV`."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64).to(dtype=dtype, device=DEV)


def pad_ref(z: torch.Tensor) -> torch.Tensor:
    """``z`` ``(B, D, L)`` followed by ``L`` zeros: ``(B, D, 2L)``, the causal FFT's input."""
    return torch.cat([z, torch.zeros_like(z)], dim=-1)
