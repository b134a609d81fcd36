"""Input checks shared by every module, with error messages that say what was expected.

A teaching handbook is used by people who are still learning the shapes; a traceback from deep
inside ``torch.fft`` helps nobody. Each public function validates its inputs with these helpers
and raises ``ValueError`` / ``TypeError`` naming the argument, what it got and what it expected.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def check_tensor(x: object, name: str) -> torch.Tensor:
    """Raise ``TypeError`` unless ``x`` is a tensor; return it."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    return x


def check_float(x: object, name: str) -> torch.Tensor:
    """Raise unless ``x`` is a non-empty real floating-point tensor."""
    t = check_tensor(x, name)
    if t.dtype not in FLOAT_DTYPES:
        raise TypeError(
            f"{name} must be a real floating-point tensor (float16, bfloat16, float32 or "
            f"float64), got dtype {t.dtype}; convert it with {name}.float() or {name}.double()"
        )
    if t.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(t.shape)}); expected at least one element")
    return t


def check_ndim(x: torch.Tensor, name: str, ndim: int | Sequence[int], layout: str) -> None:
    """Raise unless ``x.ndim`` is ``ndim`` (or one of them); ``layout`` names the axes."""
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if x.ndim not in allowed:
        raise ValueError(
            f"{name} must have shape {layout} ({' or '.join(map(str, allowed))} dims), "
            f"got shape {tuple(x.shape)} ({x.ndim} dims)"
        )


def check_min_ndim(x: torch.Tensor, name: str, ndim: int, layout: str) -> None:
    """Raise unless ``x`` has at least ``ndim`` dimensions."""
    if x.ndim < ndim:
        raise ValueError(
            f"{name} must have shape {layout} (at least {ndim} dims), "
            f"got shape {tuple(x.shape)} ({x.ndim} dims)"
        )


def check_sequence(u: object, d_model: int, l_max: int) -> int:
    """Raise unless ``u`` is a float ``(batch, seq_len, d_model)`` with ``seq_len <= l_max``.

    The input contract of every sequence mixer (the Hyena operator and its baselines); returns
    ``seq_len``.
    """
    t = check_float(u, "u")
    check_ndim(t, "u", 3, "(batch, seq_len, d_model)")
    if t.shape[-1] != d_model:
        raise ValueError(
            f"u must have d_model={d_model} features in its last dim, got shape "
            f"{tuple(t.shape)}; the layout is (batch, seq_len, d_model)"
        )
    if t.shape[1] > l_max:
        raise ValueError(
            f"sequence length {t.shape[1]} exceeds l_max={l_max}; build the layer with a "
            f"larger l_max (filters are only defined up to l_max)"
        )
    return t.shape[1]


def check_positive_int(value: object, name: str, minimum: int = 1) -> int:
    """Raise unless ``value`` is an int >= ``minimum`` (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_lengths(lengths: object, name: str = "lengths") -> list[int]:
    """Raise unless ``lengths`` is a non-empty sequence of ints >= 1; return them sorted, unique."""
    if not isinstance(lengths, Sequence) or isinstance(lengths, str) or len(lengths) == 0:
        raise ValueError(f"{name} must be a non-empty sequence of ints >= 1, got {lengths!r}")
    return sorted({check_positive_int(L, f"each of {name}") for L in lengths})


def check_positive_float(value: object, name: str, *, allow_zero: bool = False) -> float:
    """Raise unless ``value`` is a finite real number > 0 (or >= 0 with ``allow_zero``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    v = float(value)
    ok = v >= 0 if allow_zero else v > 0
    if not ok or v != v or v in (float("inf"), float("-inf")):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {bound}, got {value}")
    return v


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    """Relative error ``||a - b|| / ||b||`` computed in float64 (absolute error if ``b == 0``).

    The handbook's one measure of agreement between a fast path ``a`` and a reference ``b``.
    """
    a, b = a.detach().to(torch.float64), b.detach().to(torch.float64)
    denom = b.norm()
    return float((a - b).norm() / denom) if denom > 0 else float((a - b).norm())
