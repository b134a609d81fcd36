"""Triton kernels for the Hyena layer's memory-bound parts (chapter 06's GPU half, issue 17).

The eager :class:`hyena_lab.operator.HyenaOperator` moves each activation through device memory
many times: a transpose ``(B, L, C) -> (B, C, L)`` before the short convolution, casts between
half precision and float32 around every FFT, and separate passes for the skip term ``b^n z^n``,
the sum and the gate ``x^n *`` of Definition 3.1. The kernels here each read their inputs once
and write their outputs once:

* :mod:`~hyena_lab.kernels.short_conv`: :func:`short_conv_split`, Algorithm 1's short depthwise
  causal convolution with the transpose to ``(groups, B, D, L)`` and the split into
  ``x^1..x^N, v`` fused in (Sec. 3.4);
* :mod:`~hyena_lab.kernels.gates`: :func:`gate`, ``x^n * (h^n conv z^n + b^n z^n)`` after the
  inverse FFT (Definition 3.1), reading the raw ``irfft`` output in place;
* :mod:`~hyena_lab.kernels.layer`: :func:`fused_forward`, the whole layer from these two, the
  FFTs and the two linear maps;
* :mod:`~hyena_lab.kernels.long_fft`: a gated causal FFT convolution of long rows in three
  passes over memory (the four-step FFT as kernels, the spectrum kept in transposed order;
  experimental: forward only, and slower on the H200 than the cuFFT path, so off by default).

Each is a ``torch.autograd.Function`` whose backward is again one kernel, with the weight and
bias gradients reduced deterministically (partial sums per block, then one ``torch`` sum).

**Triton is optional.** Nothing here imports it at ``import hyena_lab`` time: this module only
asks whether it could be imported (:func:`available`); the kernel modules import it when they
are imported themselves, so ``import hyena_lab.kernels.layer`` needs it. On a machine without a
GPU the kernels run in Triton's interpreter (``TRITON_INTERPRET=1``, set *before* the kernel
modules are imported), which is how the tests check them; ``backend="torch"`` of the operator
works everywhere.
"""

from __future__ import annotations

import importlib.util
import os

import torch

__all__ = [
    "POISON", "available", "block_size", "check_amax", "check_device", "compute_dtype", "empty",
    "fold_maxima", "interpreting", "maxima", "require",
]  # fmt: skip

#: Fill every buffer the kernels allocate (outputs, gradients, partial sums) with NaN instead of
#: leaving it uninitialised. The tests turn it on: an element a kernel forgets to write then
#: shows up as NaN rather than as whatever the memory held (often a plausible earlier result).
POISON = False


def interpreting() -> bool:
    """Whether Triton kernels run in its CPU interpreter (environment ``TRITON_INTERPRET=1``)."""
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


def _has_triton() -> bool:
    return importlib.util.find_spec("triton") is not None


def _device(device: torch.device | str | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return device if isinstance(device, torch.device) else torch.device(device)


def available(device: torch.device | str | None = None) -> bool:
    """Whether the kernels can run on ``device`` (default: CUDA if present, else the CPU).

    True when Triton is importable and either ``device`` is a CUDA device that exists, or the
    interpreter is on (``TRITON_INTERPRET=1``: tensors stay on the CPU, the kernels run as numpy).
    """
    if not _has_triton():
        return False
    dev = _device(device)
    if dev.type == "cuda":
        return torch.cuda.is_available()
    return dev.type == "cpu" and interpreting()


def require(device: torch.device | str | None = None) -> None:
    """Raise unless the kernels can run on ``device``, saying what is missing.

    ``ImportError`` when Triton is not installed; ``RuntimeError`` when it is but ``device`` is
    neither a CUDA device nor run under the interpreter.
    """
    dev = _device(device)
    if not _has_triton():
        raise ImportError(
            "the fused Hyena kernels need Triton (pip install 'triton>=3.5', or the package's "
            "[triton] extra); the operator's backend='torch' works everywhere without it"
        )
    if available(dev):
        return
    if dev.type == "cuda":
        raise RuntimeError(
            f"tensors are on {dev} but torch sees no CUDA device; use backend='torch', or run "
            f"the kernels in Triton's interpreter with TRITON_INTERPRET=1 and CPU tensors"
        )
    raise RuntimeError(
        f"the Triton kernels run on a CUDA device (or, with TRITON_INTERPRET=1 set before "
        f"hyena_lab.kernels' modules are imported, on CPU tensors: slow, for tests), got "
        f"tensors on {dev}; use the operator's backend='torch', which works everywhere"
    )


# ------------------------------------------------------------------ helpers the kernels share
def compute_dtype(*tensors: torch.Tensor | None) -> torch.dtype:
    """The dtype a kernel accumulates in: float64 when any input is float64, else float32
    (half-precision inputs are widened on load, never summed in half precision)."""
    wide = any(t is not None and t.dtype == torch.float64 for t in tensors)
    return torch.float64 if wide else torch.float32


def block_size(n: int, cap: int, floor: int = 16) -> int:
    """A power of two for a tile side over ``n`` elements: ``cap`` (the size that suits the GPU)
    unless ``n`` is smaller, then the next power of two >= ``n`` (at least ``floor``), so that a
    tiny tensor is not padded to a full tile (which only matters to the interpreter)."""
    p = 1 << max(0, n - 1).bit_length()
    return max(floor, min(cap, p))


def empty(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A new buffer for a kernel to fill: ``torch.empty``, or NaN everywhere when :data:`POISON`."""
    if POISON:
        return torch.full(shape, float("nan"), dtype=dtype, device=device)
    return torch.empty(shape, dtype=dtype, device=device)


#: CUDA's limit on a launch grid's second and third axes (the first goes to 2^31 - 1).
GRID_YZ_MAX = 65535


def grid(*dims: int) -> tuple[int, ...]:
    """A launch grid, checked against CUDA's limits: the GPU refuses a second or third axis over
    :data:`GRID_YZ_MAX` with a bare "invalid argument" that names nothing; this names the axis
    (the interpreter has no limit, so the tests would not see it)."""
    for axis, n in enumerate(dims[1:], start=1):
        if n > GRID_YZ_MAX:
            raise ValueError(
                f"launch grid axis {axis} has {n} programs, over CUDA's {GRID_YZ_MAX}: grid {dims}"
            )
    return tuple(dims)


def check_device(name: str, t: torch.Tensor, device: torch.device) -> None:
    """Raise unless tensor ``t`` (called ``name``) lives on ``device``."""
    if t.device != device:
        raise ValueError(f"{name} is on {t.device} but the other inputs are on {device}")


def check_amax(amax: torch.Tensor | None, device: torch.device) -> None:
    """Raise unless ``amax`` is ``None`` or a float32 tensor of one element on ``device``: the
    running maximum a pass raises (the half-precision path's scale tracking, :func:`maxima`)."""
    if amax is not None and (not isinstance(amax, torch.Tensor) or amax.dtype != torch.float32
                             or amax.numel() != 1 or amax.device != device):  # fmt: skip
        got = (f"{amax.dtype} {tuple(amax.shape)} on {amax.device}"
               if isinstance(amax, torch.Tensor) else type(amax).__name__)  # fmt: skip
        raise ValueError(f"amax must be a float32 tensor of one element on {device}, got {got}")


def maxima(amax: torch.Tensor | None, n_programs: int, like: torch.Tensor) -> torch.Tensor:
    """The buffer a measuring pass writes its tiles' largest values to, one slot per program
    (a plain store: no atomic on one address, which tens of thousands of programs would queue
    on, and no load for the program to wait on; measured on the H200, an atomic per program
    made the layer's forward 7% slower): ``(n_programs,)`` float32, or a one-element dummy
    when nothing is measured (``amax`` is ``None``). :func:`fold_maxima` folds it into
    ``amax``, as the backward passes reduce their partial sums."""
    return empty((n_programs if amax is not None else 1,), torch.float32, like.device)


def fold_maxima(amax: torch.Tensor | None, part: torch.Tensor) -> None:
    """``amax = max(amax, max(part))`` in place, on the device (no synchronisation); a NaN
    stays NaN (the kernels write infinity for one)."""
    if amax is not None:
        torch.maximum(amax, part.amax(0, keepdim=True), out=amax)
