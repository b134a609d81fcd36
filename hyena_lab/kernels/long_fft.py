"""A gated causal FFT convolution for long rows in three passes over memory (chapter 06, issue 17;
experimental: correct, but on the H200 slower than the cuFFT path it would replace, 1.3x-3.7x
from 32K to 256K and 3.8x at 512K (chapter 06, records ``06_fft_matmul-gpu_long_fft.json`` and
``06_fft_matmul-gpu_long_fft_1m.json``); the layer uses it only when asked,
``op.long_fft = True``).

The cuFFT path (:mod:`~hyena_lab.kernels.long_conv`) moves a row through memory about seven
times per convolution: two passes for each complex FFT of length ``L`` at 64K, one for the filter
product, and the padding and gating passes around them. Section 2's four-step factorisation does
it in three, if the transforms are written as kernels and the product goes between them.

**The maths.** Two real rows that share a filter ride as one complex signal, ``c = z_a + i z_b``
(batch rows ``b`` and ``b + ceil(B/2)``): the filter is real, so ``h * c = h * z_a + i h * z_b``
and nothing needs unpacking. Its causal convolution is a circular one of length ``N = 2L`` over
the zero-padded row. Write ``N = N1 N2`` and view a row as the matrix ``[N1, N2]`` (``n = n1 N2 +
n2``); with ``k = k1 + N1 k2`` and ``w_M = exp(-2 pi i / M)``,

    X[k1 + N1 k2] = sum_n2 w_N2^(n2 k2) w_N^(n2 k1) sum_n1 x[n1 N2 + n2] w_N1^(n1 k1),

and the inverse is the same with conjugated roots and the steps in reverse order. So:

* pass A (:func:`_columns_forward`): each program loads ``C`` columns of the row (only the rows
  ``n1 < N1/2``: the padding's zeros are never read), takes their length-``N1`` DFTs and
  multiplies by the twiddles ``w_N^(n2 k1)``; writes the ``[N1, N2]`` matrix (float32);
* pass B (:func:`_rows_filter`): each program loads ``R`` rows ``k1``, takes their length-``N2``
  DFTs, multiplies by the filter's spectrum stored in the same ``[k1, k2]`` order, takes the
  inverse DFTs and multiplies by the conjugate twiddles; writes in place;
* pass C (:func:`_columns_inverse`): each program loads ``C`` columns, takes their inverse DFTs,
  keeps the causal half ``n1 < N1/2``, splits the real and imaginary parts back into their batch
  rows, multiplies by the gate ``x`` and writes the result.

The spectrum stays in the transposed ``[k1, k2]`` order the whole time: a convolution never needs
the natural order, which is what makes three passes enough (FlashFFTConv, Fu et al. 2023, uses
the same idea). Inside a program, a DFT of length ``M = 16 M2`` (256 to 2,048) is Section 2's
factorisation again, ``F_M = P (I (x) F_16) T (F_M2 (x) I)`` as two ``tl.dot`` products with
a twiddle multiply and a register transpose between them (:func:`_dft`): ``16 + M2`` complex
multiply-adds per point instead of ``M``. The roots of unity are computed in the kernel from
exact integer phases (``k m mod M``), so no table is read.

The filter's spectrum is one ``torch.fft.rfft`` of ``D`` rows per call, read by pass B in its
own order through the symmetry ``H[N - k] = conj(H[k])`` of a real filter, with the skip term
``b delta`` (``b`` at every frequency) and the ``1/N`` added there. Forward only: a call that
autograd would record raises.
Lengths: ``L`` a power of two from 32,768 (``N = 256 x 256``) to 524,288 (``1,024 x 1,024``).
At 1,048,576 (``1,024 x 2,048``) no tile compiles on the H200 under Triton 3.6 (record
``06_fft_matmul-gpu_long_fft_1m.json``): pass B's length-2,048 DFTs need 256 KiB of shared memory
with 8 rows per program against the 227 KiB a block may use, and 4 or 2 rows fail in a compiler
pass (4 rows already do at 256K and 512K); the interpreter would run it, a GPU would not, so it
is not offered.
"""

from __future__ import annotations

import math

import torch
import triton
import triton.language as tl
from triton.language.extra.cuda import libdevice

from ..checks import check_float, check_ndim, needs_grad
from . import empty, grid, interpreting, require

__all__ = ["factors", "fftconv_long", "supported"]

#: Columns per program (passes A and C) and rows per program (pass B) on the GPU: the fastest of
#: ``scripts/ch06_long_fft.py``'s five tiles at 32K and 256K, within 5% of the fastest at 64K
#: (16 x 4 rows, which does not compile at 256K); 8 columns cost 1.4x-1.5x at 32K-64K (record
#: ``06_fft_matmul-gpu_long_fft.json``, chapter 06).
COLUMNS, ROWS, NUM_WARPS = 16, 8, 8
#: The roots of unity through the GPU's approximate ``sin`` / ``cos`` (``sin.approx.f32``,
#: absolute error below 2^-20 for phases in [-pi, pi]: far under tf32's 2^-11) instead of
#: libdevice's exact ones (about a fifth faster at 64K on the H200, in a one-off comparison that
#: no record keeps); the interpreter has only the exact ones, so this branch runs only on a GPU
#: (``scripts/ch06_gpu.sh`` runs the tests there).
FAST_ROOTS = tl.constexpr(not interpreting())
#: The shortest and longest row length ``L`` the three passes handle (1M does not compile on
#: the H200: the module docstring says why).
MIN_L, MAX_L = 2**15, 2**19
TWO_PI = 2 * math.pi


def factors(L: int) -> tuple[int, int]:
    """``(N1, N2)`` with ``N1 N2 = 2L``, ``N1 <= N2`` as equal as powers of two allow."""
    n = 2 * L
    n1 = 1 << ((n.bit_length() - 1) // 2)
    return n1, n // n1


def supported(L: int) -> bool:
    """Whether :func:`fftconv_long` handles rows of length ``L``: a power of two in
    ``[MIN_L, MAX_L]``."""
    return MIN_L <= L <= MAX_L and L & (L - 1) == 0


@triton.jit
def _cdot(ar, ai, br, bi, PREC: tl.constexpr):
    """``(ar + i ai) @ (br + i bi)`` as four real ``tl.dot`` products."""
    rr = tl.dot(ar, br, input_precision=PREC) - tl.dot(ai, bi, input_precision=PREC)
    ri = tl.dot(ar, bi, input_precision=PREC) + tl.dot(ai, br, input_precision=PREC)
    return rr, ri


@triton.jit
def _roots(rows, cols, M: tl.constexpr, SIGN: tl.constexpr):
    """``exp(SIGN 2 pi i rows cols / M)`` from the exact integer phase ``rows cols mod M``,
    taken in ``[-M/2, M/2)`` so that the angle lies in ``[-pi, pi)``."""
    m = (rows * cols) % M
    phase = tl.where(m >= M // 2, m - M, m).to(tl.float32) * (SIGN * 6.283185307179586 / M)
    if FAST_ROOTS:
        return libdevice.fast_cosf(phase), libdevice.fast_sinf(phase)
    return tl.cos(phase), tl.sin(phase)


@triton.jit
def _dft(tr, ti, M2: tl.constexpr, C: tl.constexpr, SIGN: tl.constexpr, PREC: tl.constexpr):
    """The DFT (``SIGN = -1``; ``+1``: the unnormalised inverse) of length ``M = 16 M2`` along
    axis 0 of the ``(M, C)`` tile ``tr + i ti``, natural order in and out.

    Row ``m = 16-digit m1 (slow) and M2-digit m2 (fast)``; ``k = k1 + 16 k2``:
    ``X[k] = sum_m2 w_M2^(m2 k2) w_M^(m2 k1) sum_m1 T[m1 M2 + m2] w_16^(m1 k1)``.
    """
    M: tl.constexpr = 16 * M2
    i16 = tl.arange(0, 16)
    f16r, f16i = _roots(i16[:, None], i16[None, :], 16, SIGN)  # (16, 16): F_16
    ur, ui = _cdot(f16r, f16i, tl.reshape(tr, (16, M2 * C)), tl.reshape(ti, (16, M2 * C)), PREC)
    ur, ui = tl.reshape(ur, (16, M2, C)), tl.reshape(ui, (16, M2, C))  # [k1, m2, c]
    im2 = tl.arange(0, M2)
    wr, wi = _roots(i16[:, None, None], im2[None, :, None], M, SIGN)  # w_M^(m2 k1)
    vr, vi = ur * wr - ui * wi, ur * wi + ui * wr
    vr = tl.reshape(tl.permute(vr, (1, 0, 2)), (M2, 16 * C))  # [m2, (k1, c)]
    vi = tl.reshape(tl.permute(vi, (1, 0, 2)), (M2, 16 * C))
    fmr, fmi = _roots(im2[:, None], im2[None, :], M2, SIGN)  # (M2, M2): F_M2
    xr, xi = _cdot(fmr, fmi, vr, vi, PREC)  # [k2, (k1, c)]: row k2 * 16 + k1 = k
    return tl.reshape(xr, (M, C)), tl.reshape(xi, (M, C))


@triton.jit
def _columns_forward(
    z_ptr, sr_ptr, si_ptr,  # z (B, D, L) real; s (P, N) float32, real and imaginary parts
    B, D, L, stride_zb, stride_zd, stride_zl,
    N1: tl.constexpr, N2: tl.constexpr, C: tl.constexpr, PREC: tl.constexpr,
):  # fmt: skip
    p, pid = tl.program_id(0).to(tl.int64), tl.program_id(1)
    half = (B + 1) // 2
    b, d = p // D, p % D  # the pair (b, b + half) of channel d
    n1 = tl.arange(0, N1)[:, None]  # (N1, 1)
    n2 = pid * C + tl.arange(0, C)[None, :]  # (1, C)
    t = n1 * N2 + n2  # (N1, C): time of each element, zero padding from L on
    ok = t < L
    offs = d * stride_zd + t.to(tl.int64) * stride_zl
    xr = tl.load(z_ptr + b * stride_zb + offs, mask=ok, other=0.0).to(tl.float32)
    xi = tl.load(z_ptr + (b + half) * stride_zb + offs, mask=ok & (b + half < B), other=0.0)
    yr, yi = _dft(xr, xi.to(tl.float32), N1 // 16, C, -1, PREC)  # [k1, c]
    wr, wi = _roots(n1, n2, N1 * N2, -1)  # w_N^(n2 k1)
    out = p * N1 * N2 + t  # the [k1, n2] matrix, row-major
    tl.store(sr_ptr + out, yr * wr - yi * wi)
    tl.store(si_ptr + out, yr * wi + yi * wr)


@triton.jit
def _filter(h_ptr, b_ptr, d, k, N: tl.constexpr, HAS_BIAS: tl.constexpr):
    """``(H[k] + b) / N`` of channel ``d`` from its ``rfft`` (``(D, N/2 + 1)`` complex as float
    pairs): ``H[k] = conj(H[N - k])`` above ``N/2`` (a real filter); the skip term ``b delta``
    adds ``b`` at every frequency."""
    mirror = k > N // 2
    at = h_ptr + d * (N + 2) + 2 * tl.where(mirror, N - k, k)
    hr, hi = tl.load(at), tl.load(at + 1)
    if HAS_BIAS:
        hr += tl.load(b_ptr + d)
    return hr * (1.0 / N), tl.where(mirror, -hi, hi) * (1.0 / N)


@triton.jit
def _rows_filter(
    sr_ptr, si_ptr, h_ptr, b_ptr,  # s (P, N) in place; h (D, N/2 + 1) complex; b (D,)
    D, N1: tl.constexpr, N2: tl.constexpr, R: tl.constexpr, HAS_BIAS: tl.constexpr,
    PREC: tl.constexpr,
):  # fmt: skip
    p, pid = tl.program_id(0).to(tl.int64), tl.program_id(1)
    k1 = pid * R + tl.arange(0, R)[None, :]  # (1, R): rows of the matrix, as tile columns
    n2 = tl.arange(0, N2)[:, None]  # (N2, 1)
    at = k1 * N2 + n2  # (N2, R): the rows k1, transposed into the tile
    row = p * N1 * N2
    xr, xi = _dft(tl.load(sr_ptr + row + at), tl.load(si_ptr + row + at), N2 // 16, R, -1, PREC)
    # X[k1, k2] times the filter at k = k1 + N1 k2 (axis 0 of the DFT's output is k2)
    hr, hi = _filter(h_ptr, b_ptr, p % D, k1 + N1 * n2, N1 * N2, HAS_BIAS)
    yr, yi = _dft(xr * hr - xi * hi, xr * hi + xi * hr, N2 // 16, R, 1, PREC)  # [n2, k1]
    wr, wi = _roots(n2, k1, N1 * N2, 1)  # conj w_N^(n2 k1)
    tl.store(sr_ptr + row + at, yr * wr - yi * wi)
    tl.store(si_ptr + row + at, yr * wi + yi * wr)


@triton.jit
def _columns_inverse(
    sr_ptr, si_ptr, x_ptr, out_ptr,  # s (P, N); gate x and out (B, D, L)
    B, D, L, stride_xb, stride_xd, stride_xl, stride_ob, stride_od, stride_ol,
    HAS_X: tl.constexpr, N1: tl.constexpr, N2: tl.constexpr, C: tl.constexpr,
    PREC: tl.constexpr,
):  # fmt: skip
    p, pid = tl.program_id(0).to(tl.int64), tl.program_id(1)
    half = (B + 1) // 2
    b, d = p // D, p % D
    k1 = tl.arange(0, N1)[:, None]
    n2 = pid * C + tl.arange(0, C)[None, :]
    at = p * N1 * N2 + k1 * N2 + n2
    yr, yi = _dft(tl.load(sr_ptr + at), tl.load(si_ptr + at), N1 // 16, C, 1, PREC)  # [n1, c]
    t = k1 * N2 + n2  # the time of row n1 = k1's index after the inverse
    ok = t < L  # the causal half
    second = ok & (b + half < B)
    x_offs = d * stride_xd + t.to(tl.int64) * stride_xl
    o_offs = d * stride_od + t.to(tl.int64) * stride_ol
    if HAS_X:
        yr *= tl.load(x_ptr + b * stride_xb + x_offs, mask=ok, other=0.0).to(tl.float32)
        yi *= tl.load(x_ptr + (b + half) * stride_xb + x_offs, mask=second, other=0.0).to(
            tl.float32
        )
    tl.store(out_ptr + b * stride_ob + o_offs, yr.to(out_ptr.dtype.element_ty), mask=ok)
    tl.store(out_ptr + (b + half) * stride_ob + o_offs, yi.to(out_ptr.dtype.element_ty),
             mask=second)  # fmt: skip


def _filter_spectrum(h: torch.Tensor, n: int) -> torch.Tensor:
    """``rfft(h, n)``: ``(D, n/2 + 1)`` complex64 as float pairs, one cuFFT call; pass B reads it
    in its own order and adds the bias and the ``1/N`` itself (:func:`_filter`)."""
    return torch.view_as_real(torch.fft.rfft(h.float(), n=n)).contiguous()


def fftconv_long(
    z: torch.Tensor,
    h: torch.Tensor,
    bias: torch.Tensor | None = None,
    x: torch.Tensor | None = None,
    *,
    out_dtype: torch.dtype | None = None,
    precision: str | None = None,
    tile: tuple[int, int, int] | None = None,
) -> torch.Tensor:
    """``x * (h conv z + b z)`` (the causal convolution along the last axis, gated by ``x``;
    without ``x``, ungated) in the three passes of the module docstring.

    Args:
        z: ``(B, D, L)``, any float dtype and strides; ``L`` with :func:`supported`.
        h: ``(D, L)``, the long filters; bias: ``(D,)``, the skip term (folded into the filter).
        x: ``(B, D, L)``, the gate, or ``None``.
        out_dtype: the result's dtype (``z``'s by default).
        precision: ``tl.dot``'s input precision, ``"ieee"`` (float32 products) or ``"tf32"``;
            by default ``"tf32"`` for half-precision ``z`` and ``"ieee"`` otherwise.
        tile: ``(columns, rows, warps)`` per program (powers of two), by default
            ``(COLUMNS, ROWS, NUM_WARPS)``; ``scripts/ch06_long_fft.py`` sweeps it.

    Returns:
        ``(B, D, L)`` in ``out_dtype``. Forward only (no autograd).
    """
    check_float(z, "z")
    check_ndim(z, "z", 3, "(batch, d_model, seq_len)")
    check_float(h, "h")
    B, D, L = z.shape
    if h.shape != (D, L):
        raise ValueError(f"h must have shape (d_model, seq_len) = ({D}, {L}), got "
                         f"{tuple(h.shape)}")  # fmt: skip
    if bias is not None and bias.shape != (D,):
        raise ValueError(f"bias must have shape ({D},), got {tuple(bias.shape)}")
    if x is not None and x.shape != z.shape:
        raise ValueError(f"x must have z's shape {tuple(z.shape)}, got {tuple(x.shape)}")
    if not supported(L):
        raise ValueError(f"fftconv_long handles L a power of two in [{MIN_L}, {MAX_L}], got "
                         f"L = {L}; use hyena_lab.fftconv")  # fmt: skip
    if needs_grad(z, h, bias, x):
        raise RuntimeError("fftconv_long is forward only: call it under torch.no_grad()")
    if z.dtype == torch.float64:
        raise TypeError("fftconv_long computes in float32 (tl.dot has no float64 on the GPU)")
    require(z.device)
    half_input = z.dtype in (torch.float16, torch.bfloat16)
    prec = precision or ("tf32" if half_input else "ieee")
    if prec not in ("ieee", "tf32"):
        raise ValueError(f"precision must be 'ieee' or 'tf32', got {precision!r}")
    n1, n2 = factors(L)
    pairs = (B + 1) // 2 * D
    sr = empty((pairs, n1 * n2), torch.float32, z.device)
    si = empty((pairs, n1 * n2), torch.float32, z.device)
    h_f = _filter_spectrum(h, n1 * n2)
    out = empty((B, D, L), out_dtype or z.dtype, z.device)
    columns, rows, warps = tile or (COLUMNS, ROWS, NUM_WARPS)
    if not all(isinstance(t, int) and t > 0 and t & (t - 1) == 0 for t in (columns, rows, warps)):
        raise ValueError(f"tile must be three powers of two (columns, rows, warps), got {tile}")
    cols, rows = min(columns, n2), min(rows, n1)
    _columns_forward[grid(pairs, n2 // cols)](
        z, sr, si, B, D, L, *z.stride(), N1=n1, N2=n2, C=cols, PREC=prec, num_warps=warps
    )
    b = h_f if bias is None else bias.float().contiguous()  # (D,); unread without a bias
    _rows_filter[grid(pairs, n1 // rows)](
        sr, si, h_f, b, D, N1=n1, N2=n2, R=rows, HAS_BIAS=bias is not None, PREC=prec,
        num_warps=warps,
    )
    gate = z if x is None else x
    _columns_inverse[grid(pairs, n2 // cols)](
        sr, si, gate, out, B, D, L, *gate.stride(), *out.stride(),
        HAS_X=x is not None, N1=n1, N2=n2, C=cols, PREC=prec, num_warps=warps,
    )  # fmt: skip
    return out
