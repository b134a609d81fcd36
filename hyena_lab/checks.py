"""Input checks shared by every module, with error messages that say what was expected.

A teaching handbook is used by people who are still learning the shapes; a traceback from deep
inside ``torch.fft`` helps nobody. Each public function validates its inputs with these helpers
and raises ``ValueError`` / ``TypeError`` naming the argument, what it got and what it expected.
"""

from __future__ import annotations

import math
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


def check_sequence(
    u: object, d_model: int, l_max: int, dtype: torch.dtype | None = None
) -> int:
    """Raise unless ``u`` is a float ``(batch, seq_len, d_model)`` with ``seq_len <= l_max``
    (and, when ``dtype`` is given, of the dtype of the module's weights).

    The input contract of every sequence mixer (the Hyena operator and its baselines); returns
    ``seq_len``.
    """
    t = check_float(u, "u")
    if dtype is not None and t.dtype != dtype:
        cast = {torch.float64: "double", torch.float32: "float", torch.bfloat16: "bfloat16",
                torch.float16: "half"}.get(dtype, "to")
        raise TypeError(
            f"u has dtype {t.dtype} but the module's weights are {dtype}: convert the input "
            f"(u.{cast}()) or the module (module.to({t.dtype}))"
        )
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


def needs_grad(*tensors: torch.Tensor | None) -> bool:
    """Whether autograd would record an operation on ``tensors`` (grad mode on and one of them
    requiring a gradient): what a forward-only path refuses."""
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


def check_scale(value: object, name: str = "scale") -> float:
    """Raise unless ``value`` is a finite non-zero real number (a factor a kernel multiplies by,
    such as the half-precision path's pre-scale); return it as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
        math.isfinite(value) and value != 0
    ):  # fmt: skip
        raise ValueError(f"{name} must be a finite non-zero number, got {value!r}")
    return float(value)


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    """Relative error ``||a - b|| / ||b||`` computed in float64 (absolute error if ``b == 0``).

    The handbook's one measure of agreement between a fast path ``a`` and a reference ``b``.
    Complex tensors are compared in complex128 (a cast to float64 would drop the imaginary
    parts).
    """
    wide = torch.complex128 if a.is_complex() or b.is_complex() else torch.float64
    a, b = a.detach().to(wide), b.detach().to(wide)
    denom = b.norm()
    return float((a - b).norm() / denom) if denom > 0 else float((a - b).norm())


# --------------------------------------------------------------------------------- tolerances
# Every float tolerance of the tests and chapters comes from here, derived once from an error
# analysis. "eps" is the machine epsilon of the dtype the arithmetic runs in
# (torch.finfo(dtype).eps: 2.2e-16 float64, 1.2e-7 float32, 7.8e-3 bfloat16, 9.8e-4 float16).

#: Constant of the FFT's error bound: a Cooley-Tukey FFT of length n computed in floating point
#: satisfies ||fl(F x) - F x||_2 <= log2(n) * eta * ||F x||_2 with eta = mu + gamma_4 (sqrt(2) + mu)
#: ~ 6.7 eps for twiddle factors accurate to mu ~ eps (Higham, *Accuracy and Stability of
#: Numerical Algorithms*, 2nd ed., Thm. 24.2). Mixed-radix and Bluestein transforms (odd n) behave
#: alike with a slightly larger constant; 7 is the rounded-up radix-2 value and ``make fuzz``
#: checks it holds over thousands of random shapes.
FFT_C = 7.0

#: float64 agreement of two evaluations of the same algebra (reassociated sums, matmul blocking,
#: a loop against a matrix product) on seeded O(1) data with at most ~10^4 terms per output:
#: worst case n * eps = 2e-12, typical sqrt(n) * eps = 2e-14 for random signs. 1e-12 sits 50x
#: above the typical error and still ~1e4 x below any real mistake (an O(1e-4) or larger change).
F64_SAME_ALGEBRA = 1e-12

#: The same for float32 with at most ~10^3 terms per output: typical sqrt(n) * eps ~ 4e-6 relative;
#: 1e-5 leaves a factor ~3 on the typical error. Used only where float32 is compared with float64.
F32_SAME_ALGEBRA = 1e-5

#: A chain of up to 4 FFT convolutions and gates (L <= 10^4, seeded O(1) data) against a dense or
#: direct float64 evaluation. One convolution's error relative to its output is about
#: ``fftconv_error_bound / ||y||`` ~ (2 e + 3 eps) * 2 sqrt(L) (random data: ||y|| ~ ||k||_2 ||u||_2
#: and ||k||_1 <= sqrt(L) ||k||_2), with e = 7 log2(2L) eps ~ 2.2e-14 at L = 10^4: ~9e-12 per
#: convolution, ~4e-11 for four. 1e-10 covers it; a wrong gate or filter changes O(1e-2) or more.
F64_FFT_CHAIN = 1e-10

#: The same chain in float32 (eps 1.2e-7) at L <= 10^3: (2 e + 3 eps) * 2 sqrt(L) ~ 1e-6 * 60 per
#: convolution in the worst case; typical random-sign accumulation is ~sqrt(L) smaller, measured
#: ~1e-7 to 1e-6. 1e-5 holds the typical case with margin 10x (``make fuzz`` checks it).
F32_FFT_CHAIN = 1e-5

#: A half-precision result (bfloat16: 8 bits of mantissa) against float64: the inputs and output
#: are rounded to ~eps_bf16 / 2 = 3.9e-3 each; 1e-2 allows both roundings plus accumulation.
HALF_VS_F64 = 1e-2


def eps(dtype: torch.dtype) -> float:
    """Machine epsilon of ``dtype`` (the spacing of floats just above 1)."""
    return float(torch.finfo(dtype).eps)


def fft_rel_bound(n: int, dtype: torch.dtype) -> float:
    """Relative 2-norm error bound of one FFT of length ``n``: ``FFT_C * log2(n) * eps``."""
    return FFT_C * max(1.0, math.log2(max(n, 2))) * eps(dtype)


def _compute_dtype(*tensors: torch.Tensor | None) -> torch.dtype:
    dtype = torch.float16
    for t in tensors:
        if t is not None:
            dtype = torch.promote_types(dtype, t.dtype)
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def fftconv_error_bound(
    u: torch.Tensor, k: torch.Tensor, bias: torch.Tensor | None = None
) -> float:
    """Absolute bound on ``||fftconv(u, k, bias) - y_exact||`` (Frobenius, over all outputs).

    For one channel, with the three FFTs of length ``n = 2L`` each within ``e = fft_rel_bound(n)``
    and the pointwise product within ``3 eps``, first-order error propagation through
    ``y = F^-1 (F u . F k)`` (using ``|F k|_inf <= ||k||_1`` and ``||F x||_2 = sqrt(n) ||x||_2``)
    gives

        ||dy||_2 <= (2 e + 3 eps) (||k||_1 ||u||_2 + ||u||_1 ||k||_2) + eps ||bias u||_2.

    Two things follow. The error is *global*: every output, also those before a position t,
    carries round-off of the size of the whole signal, future included, so the FFT path is
    causal only up to this bound (``direct_conv`` is causal exactly). And the bound scales with
    ``||k||_1``, not with the size of ``y``: a relative tolerance alone is wrong for filters whose
    outputs cancel. Half-precision inputs are computed in float32 (as ``fftconv`` does) and the
    rounding of the result to the input dtype is added.
    """
    compute = _compute_dtype(u, k, bias)
    L = u.shape[-1]
    e, ep = fft_rel_bound(2 * L, compute), eps(compute)
    u64, k64 = u.detach().double(), k.detach().double()
    u1, u2 = u64.abs().sum(-1), u64.norm(dim=-1)  # (..., d)
    k1, k2 = k64.abs().sum(-1), k64.norm(dim=-1)  # (d,) or (..., d)
    per_row = (2 * e + 3 * ep) * (k1 * u2 + u1 * k2)
    if bias is not None:
        per_row = per_row + ep * bias.detach().double().abs() * u2
    out = torch.promote_types(u.dtype, k.dtype)
    if out in (torch.float16, torch.bfloat16):  # the final cast back to half precision
        per_row = per_row + eps(out) * (k1 * u2 + (0 if bias is None else bias.double().abs() * u2))
    return float(per_row.norm())


def direct_conv_error_bound(
    u: torch.Tensor, k: torch.Tensor, bias: torch.Tensor | None = None
) -> float:
    """Absolute bound on ``||direct_conv(u, k, bias) - y_exact||`` (Frobenius).

    Output ``t`` is a sum of ``t + 1 <= L`` products accumulated lag by lag, so (Higham, Eq. 3.5)
    ``|dy_t| <= gamma_L (|k| * |u|)_t`` with ``gamma_L = L eps / (1 - L eps)``, and by Young's
    inequality ``||(|k| * |u|)||_2 <= ||k||_1 ||u||_2``; the skip term adds ``eps |bias u|``.
    """
    compute = torch.promote_types(u.dtype, k.dtype)
    L, ep = u.shape[-1], eps(compute)
    gamma = L * ep / (1 - L * ep)
    u64, k64 = u.detach().double(), k.detach().double()
    per_row = (gamma + ep) * k64.abs().sum(-1) * u64.norm(dim=-1)
    if bias is not None:
        per_row = per_row + 2 * ep * bias.detach().double().abs() * u64.norm(dim=-1)
    return float(per_row.norm())
