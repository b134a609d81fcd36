"""The FFT convolution as half-precision matrix products with float32 accumulation: the
tensor-core form of the four-step FFT (chapter 06, issue 17, deliverable 2b).

:mod:`hyena_lab.monarch` computes ``F_N = P (I_a (x) F_b) T (F_a (x) I_b)`` with complex
matrix products in complex64/complex128. Tensor cores multiply *real* half-precision matrices
(float16 or bfloat16 operands, exact products, float32 sums), so here each complex stage is one
real product on stacked real and imaginary parts: for a row ``z = zr + i zi`` contracted with a
symmetric DFT matrix ``F = Fr + i Fi``,

    [zr | zi] @ [[Fr, Fi], [-Fi, Fr]] = [Re(z F) | Im(z F)],

and the causal convolution of length ``L`` (Sec. 2.1: zero-padded to ``N = a b >= 2L``) is
five steps, each a product or an element-wise pass between them, on rows ``x[b n1 + n2]``:

1. columns: ``Y[n2, k1] = sum_n1 x[n1, n2] F_a[n1, k1]``, only over ``n1 < a_in = ceil(L / b)``
   (the rows beyond are the zero padding: never read) and with a real input (no imaginary
   half): one ``(a_in, 2a)`` product;
2. twiddles ``w_N^(k1 n2)`` and a transpose (float32), then the rows:
   ``S[k1, k2] = sum_n2 Z[k1, n2] F_b[n2, k2]``, a ``(2b, 2b)`` product. ``S`` is the spectrum
   in the transposed order ``k = k1 + a k2``, which a convolution never needs to undo;
3. the filter's spectrum, computed the same way, multiplies it (float32);
4. the inverse of step 2 (``conj F_b``, conjugate twiddles) and
5. of step 1, keeping only the real part of the rows ``n1 < a_in``: a ``(2a, a_in)`` product.

The DFT matrices are scaled to be unitary (``F / sqrt(a)``), so float16's range holds: a row's
energy is kept by every stage, and the spectrum's product is divided by the largest filter
gain ``s = max |DFT(h)|`` (and the output multiplied by it) so that it is never larger than the
signal's own spectrum. What is rounded to half precision, each at most ``u`` relative (float16
``2^-11``, bfloat16 ``2^-8``): the signal, the filter, the four matrices, the two inputs of the
second products and the two inputs of the inverse ones: twelve roundings through unitary
stages, so the relative error is at most about ``12 u`` to first order (:func:`tc_rel_bound`),
and random data sits near ``sqrt(12) u``: about 1e-3 in float16, 1e-2 in bfloat16 (which is
why float16 is the default, as in FlashFFTConv).

On a CUDA device the products are ``torch.mm(..., out_dtype=torch.float32)`` (cuBLAS on tensor
cores, float32 accumulation and output); on a CPU the same arithmetic is emulated (the rounded
operands multiplied in float32, which is exact for their products). Forward only: a reference
for what matrix products on tensor cores give, not the layer's fast path (chapter 06 times it).
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch

from .checks import check_ndim, needs_grad
from .conv import _check_conv_args

__all__ = ["TC_DTYPES", "fftconv_tc", "mm_out_float32", "tc_factors", "tc_rel_bound"]

#: The half-precision operand dtypes of the tensor-core products.
TC_DTYPES = (torch.float16, torch.bfloat16)
#: Roundings to half precision in one convolution (module docstring): signal, filter, the four
#: matrices, and the inputs of the two middle and the two last products.
ROUNDINGS = 12


def tc_factors(L: int, multiple: int = 16) -> tuple[int, int]:
    """``(a, b)``: the two factors of the FFT size ``N = a b >= 2L``, each a multiple of
    ``multiple`` (tensor-core tiles) and as close to ``sqrt(2L)`` as that allows (the work of a
    stage grows with its factor: ``a + b`` smallest)."""
    if not isinstance(L, int) or L < 1:
        raise ValueError(f"L must be a positive int, got {L!r}")
    a = multiple * math.ceil(math.sqrt(2 * L) / multiple)
    b = multiple * math.ceil(2 * L / (a * multiple))
    return a, b


def tc_rel_bound(dtype: torch.dtype) -> float:
    """First-order bound on the relative error (2-norm) of :func:`fftconv_tc` in ``dtype``:
    ``ROUNDINGS`` roundings of at most ``u`` each through norm-preserving stages (module
    docstring), plus float32's own sums (``1e-5``, far below)."""
    if dtype not in TC_DTYPES:
        raise ValueError(f"dtype must be torch.float16 or torch.bfloat16, got {dtype}")
    u = torch.finfo(dtype).eps / 2  # unit round-off: 2^-11 (float16), 2^-8 (bfloat16)
    return ROUNDINGS * u + 1e-5


@lru_cache(maxsize=8)
def _matrices(a: int, b: int, a_in: int, dtype: torch.dtype, device: torch.device):
    """The four stacked real matrices (``dtype``) and the twiddles ``(a, b)`` (complex64)."""

    def dft(n: int) -> tuple[torch.Tensor, torch.Tensor]:  # unitary, symmetric, float64
        j = torch.arange(n, dtype=torch.float64)
        angle = (-2 * math.pi / n) * torch.remainder(torch.outer(j, j), n)
        return torch.cos(angle) / math.sqrt(n), torch.sin(angle) / math.sqrt(n)

    ar, ai = dft(a)
    br, bi = dft(b)
    w1 = torch.cat([ar[:a_in], ai[:a_in]], dim=1)  # (a_in, 2a): real rows n1 < a_in -> k1
    g = torch.cat([torch.cat([br, bi], 1), torch.cat([-bi, br], 1)], 0)  # (2b, 2b): F_b
    g_inv = torch.cat([torch.cat([br, -bi], 1), torch.cat([bi, br], 1)], 0)  # conj F_b
    w4 = torch.cat([ar[:, :a_in], ai[:, :a_in]], dim=0)  # (2a, a_in): Re(. conj F_a), n1 < a_in
    k1, n2 = torch.arange(a, dtype=torch.float64), torch.arange(b, dtype=torch.float64)
    phase = (-2 * math.pi / (a * b)) * torch.remainder(torch.outer(k1, n2), a * b)
    twiddle = torch.polar(torch.ones_like(phase), phase).to(torch.complex64)
    with torch.inference_mode(False):  # cached: usable outside inference mode too
        mats = [m.to(dtype).to(device) for m in (w1, g, g_inv, w4)]
        return (*mats, twiddle.to(device))


def mm_out_float32(device: torch.device | str) -> bool:
    """Whether ``torch.mm(..., out_dtype=torch.float32)`` runs on ``device`` for half operands
    (float32 output from the tensor cores' float32 sums); where it does not, a CUDA product
    rounds its output to the operands' precision (one rounding more per product)."""
    try:
        x = torch.zeros(16, 16, dtype=torch.float16, device=device)
        return torch.mm(x, x, out_dtype=torch.float32).dtype == torch.float32
    except (TypeError, RuntimeError, NotImplementedError):
        return False


def _mm(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``x @ w`` of half-precision operands with float32 accumulation and output."""
    if x.is_cuda:
        if _out_float32(x.device):
            return torch.mm(x, w, out_dtype=torch.float32)  # cuBLAS, tensor cores
        return torch.mm(x, w).float()  # float32 sums, output rounded once
    return x.float() @ w.float()  # the same arithmetic: products of rounded operands exact


@lru_cache(maxsize=4)
def _out_float32(device: torch.device) -> bool:
    return mm_out_float32(device)


def _stack(z: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Complex ``(..., n)`` as real ``(..., 2n)`` = ``[re | im]`` in ``dtype``."""
    return torch.cat([z.real, z.imag], dim=-1).to(dtype)


def _unstack(s: torch.Tensor) -> torch.Tensor:
    """Real ``(..., 2n)`` = ``[re | im]`` as complex ``(..., n)`` (complex64)."""
    n = s.shape[-1] // 2
    return torch.complex(s[..., :n], s[..., n:])


def _spectrum(x: torch.Tensor, L: int, a: int, b: int, a_in: int, dtype, mats) -> torch.Tensor:
    """Steps 1-2 on real rows ``x`` ``(R, L)``: the unitary spectrum ``(R, a, b)`` complex64,
    in the order ``[k1, k2]`` (``k = k1 + a k2``)."""
    w1, g, _, _, twiddle = mats
    R = x.shape[0]
    xp = torch.zeros(R, a_in * b, dtype=dtype, device=x.device)
    xp[:, :L] = x  # rounded once to the operand dtype; zero beyond L
    cols = xp.view(R, a_in, b).transpose(1, 2).reshape(R * b, a_in)  # [n2, n1]
    y = _unstack(_mm(cols, w1).view(R, b, 2 * a))  # (R, b, a) [n2, k1]
    z = y.transpose(1, 2) * twiddle  # (R, a, b) [k1, n2], times w_N^(k1 n2)
    s = _mm(_stack(z, dtype).reshape(R * a, 2 * b), g)  # (R a, 2b): rows n2 -> k2
    return _unstack(s.view(R, a, 2 * b))  # (R, a, b) [k1, k2]


def _inverse(p: torch.Tensor, L: int, a: int, b: int, a_in: int, dtype, mats) -> torch.Tensor:
    """Steps 4-5: real rows ``(R, L)`` float32 from a spectrum ``p`` ``(R, a, b)``."""
    _, _, g_inv, w4, twiddle = mats
    R = p.shape[0]
    q = _unstack(_mm(_stack(p, dtype).reshape(R * a, 2 * b), g_inv).view(R, a, 2 * b))
    q = (q * twiddle.conj()).transpose(1, 2)  # (R, b, a) [n2, k1]
    x = _mm(_stack(q, dtype).reshape(R * b, 2 * a), w4)  # (R b, a_in): Re, rows n1 < a_in
    return x.view(R, b, a_in).transpose(1, 2).reshape(R, a_in * b)[:, :L]  # [b n1 + n2]


def fftconv_tc(
    u: torch.Tensor,
    k: torch.Tensor,
    bias: torch.Tensor | None = None,
    dtype: torch.dtype = torch.float16,
) -> torch.Tensor:
    """The causal convolution of :func:`hyena_lab.fftconv`, ``y[t] = sum_{s<=t} k[t-s] u[s] +
    bias * u[t]``, with every transform a half-precision matrix product accumulated in float32
    (module docstring). Forward only (no gradient).

    Args:
        u: ``(..., d, L)`` signals, any float dtype.
        k: ``(d, L)`` filters, one per channel, shared by every leading index of ``u``.
        bias: ``(d,)`` skip term, or ``None``.
        dtype: the operands' precision, ``torch.float16`` (default) or ``torch.bfloat16``.

    Returns:
        ``(..., d, L)`` in ``u``'s and ``k``'s promoted dtype; within :func:`tc_rel_bound`
        ``(dtype)`` of the exact convolution, relative in norm, for inputs of modest mean (a
        row's mean times ``sqrt(L / 2)`` must stay within float16's 65,504, module docstring).
    """
    u, k, bias, out_dtype = _check_conv_args(u, k, bias)
    check_ndim(k, "k", 2, "(d, L): one filter per channel, shared over the batch")
    if dtype not in TC_DTYPES:
        raise ValueError(f"dtype must be torch.float16 or torch.bfloat16 (tensor-core operands), "
                         f"got {dtype}")  # fmt: skip
    if needs_grad(u, k, bias):
        raise ValueError("fftconv_tc is forward only: call it under torch.no_grad(), or use "
                         "hyena_lab.fftconv (or monarch.fftconv) for gradients")  # fmt: skip
    *lead, d, L = u.shape
    a, b = tc_factors(L)
    a_in = -(-L // b)  # rows n1 of [n1, n2] that hold samples: b n1 < L
    mats = _matrices(a, b, a_in, dtype, u.device)
    with torch.no_grad():
        h_f = _spectrum(k.float(), L, a, b, a_in, dtype, mats)  # (d, a, b), unitary
        gain = h_f.abs().amax().item() * math.sqrt(a * b)  # max |DFT(k)|: the filters' gain
        scale = gain if gain > 0 else 1.0
        h_f = h_f * (math.sqrt(a * b) / scale)  # |.| <= 1: the product stays in range
        x = u.reshape(-1, L).float()  # (R, L), R = prod(lead) d
        p = _spectrum(x, L, a, b, a_in, dtype, mats).view(-1, d, a, b) * h_f  # (.., d, a, b)
        y = _inverse(p.view(-1, a, b), L, a, b, a_in, dtype, mats) * scale  # (R, L) float32
        y = y.view(*lead, d, L)
        if bias is not None:
            y = y + bias.float()[:, None] * u.float()
    return y.to(out_dtype)
