"""The frequency-domain middle of a real FFT convolution in one pass: unpack, filter, repack.

A real sequence ``x`` of even length ``N = 2L`` is ``L`` complex numbers ``c[n] = x[2n] + i
x[2n+1]`` (a view of the same memory), and its DFT follows from the length-``L`` complex DFT
``C = DFT_L(c)``: with ``w = exp(-2 pi i / N)``, ``E[k] = (C[k] + conj C[L-k]) / 2`` (the even
samples' spectrum) and ``O[k] = -i (C[k] - conj C[L-k]) / 2`` (the odd samples'),

    X[k] = E[k] + w^k O[k],   X[L-k] = conj(E[k] - w^k O[k]),   k = 0 .. L/2.        (unpack)

After the filter, ``P = X . H`` (``k = 0 .. L``), the inverse real DFT ``y = sum_k P[k]
w^(-k m)`` is again one complex inverse DFT of length ``L``, ``y[2n] + i y[2n+1] = IDFT_L(Q)[n]``
with

    Q[k] = P[k] + conj P[L-k] + i (P[k] - conj P[L-k]) conj(w^k).                        (repack)

cuFFT's real transforms do the same packing in kernels of their own, and ``torch``'s inverse
real transform first copies its input (cuFFT's ``C2R`` overwrites it); with the filter product
between them that is five passes over the spectrum. :func:`filter_packed` is one: it reads
``C`` at ``k`` and its mirror ``L - k``, forms ``X`` at both, multiplies by ``H`` (or
``conj H``: the adjoint, for the backward pass), and writes ``Q`` at both. The filter's
spectrum is read packed too (the same length-``L`` complex DFT of its zero-padded real rows) and
unpacked in registers, so computing it needs no unpacking pass of its own. Two complex FFTs of
length ``L`` (cuFFT, in place of ``rfft``/``irfft`` of length ``2L``) do the rest
(:mod:`hyena_lab.kernels.long_conv`).

:func:`cross_spectrum` is the filter's gradient: ``S[d, k] = sum_b conj(X_b[k]) G_b[k]`` for
``k = 0 .. L`` from the packed spectra of the input and of the output's gradient, unpacked in
the same way and summed over the batch in registers.

Arithmetic in the spectra's precision (complex64 -> float32, complex128 -> float64); the
twiddles ``w^k`` come from a table computed in float64 and rounded once (:func:`twiddles`).
:func:`filter_packed` also takes complex32 spectra (the half-precision forward path of
:mod:`hyena_lab.kernels.long_conv`): read and written in half precision, computed in float32
with a complex64 or complex32 filter spectrum (the latter unscaled, ``h_scale`` applied in
registers) and complex64 twiddles.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
import triton
import triton.language as tl

from ..checks import check_scale
from . import block_size, empty, grid, require

__all__ = ["cross_spectrum", "filter_packed", "twiddles"]

#: Pairs ``(k, L - k)`` per program and warps on the GPU: a sweep on the H200 at 64K (B 4, D 768;
#: 256-2048 pairs x 2-8 warps) found 256 x 4 fastest, 0.99 ms for the filter pass (3.7 TB/s),
#: 512 within 3%, 2048 25% slower.
BLOCK_K, NUM_WARPS = 256, 4


@triton.jit
def _unpack(cr, ci, mr, mi, wr, wi):
    """``X[k]`` and ``X[L-k]`` from ``C[k] = cr + i ci`` and ``C[L-k] = mr + i mi``."""
    er, ei = 0.5 * (cr + mr), 0.5 * (ci - mi)  # E[k] = (C[k] + conj C[L-k]) / 2
    o_r, o_i = 0.5 * (ci + mi), -0.5 * (cr - mr)  # O[k] = -i (C[k] - conj C[L-k]) / 2
    tr, ti = wr * o_r - wi * o_i, wr * o_i + wi * o_r  # w^k O[k]
    return er + tr, ei + ti, er - tr, -(ei - ti)  # X[k], X[L-k] = conj(E - w^k O)


@triton.jit
def _load_complex(p, k, ok, ACC: tl.constexpr):
    """Real and imaginary parts of ``p[k]`` (complex numbers stored as float pairs): one
    ``(BLOCK, 2)`` load of adjacent floats, split in registers (two strided loads would each
    use half of every memory transaction)."""
    v = tl.load(p + 2 * k[:, None] + tl.arange(0, 2)[None, :], mask=ok[:, None], other=0.0)
    return tl.split(v.to(ACC))


@triton.jit
def _store_complex(p, k, re, im, ok):
    """``p[k] = re + i im``, one ``(BLOCK, 2)`` store."""
    offs = 2 * k[:, None] + tl.arange(0, 2)[None, :]
    tl.store(p + offs, tl.join(re, im).to(p.dtype.element_ty), mask=ok[:, None])


@triton.jit
def _load_mirrored(p, k, jm, ok, ACC: tl.constexpr):
    """``C[k]`` and ``C[(L-k) mod L]`` (real and imaginary parts) of the packed row at ``p``."""
    cr, ci = _load_complex(p, k, ok, ACC)
    mr, mi = _load_complex(p, jm, ok, ACC)
    return cr, ci, mr, mi


@triton.jit
def _filter_kernel(
    c_ptr, h_ptr, w_ptr, q_ptr,  # c, q: (rows, L) complex as floats; h (D, L) packed; w (L/2 + 1)
    L, D, h_scale,
    CONJ: tl.constexpr, SCALE_H: tl.constexpr, ACC: tl.constexpr, BLOCK: tl.constexpr,
):  # fmt: skip
    row, pid = tl.program_id(0).to(tl.int64), tl.program_id(1)  # rows on axis 0: B D > 65535
    k = pid * BLOCK + tl.arange(0, BLOCK)  # k = 0 .. L/2
    ok = k <= L // 2
    j = L - k  # the mirror, 1 .. L (j = L only for k = 0)
    jm = tl.where(k == 0, 0, j)  # C's index of the mirror: (L - k) mod L
    cr, ci, mr, mi = _load_mirrored(c_ptr + row * 2 * L, k, jm, ok, ACC)
    wr, wi = _load_complex(w_ptr, k, ok, ACC)  # w^k
    xr, xi, yr, yi = _unpack(cr, ci, mr, mi, wr, wi)  # X[k], X[L-k]
    ar, ai, br, bi = _load_mirrored(h_ptr + (row % D) * 2 * L, k, jm, ok, ACC)
    hr, hi, gr, gi = _unpack(ar, ai, br, bi, wr, wi)  # H[k], H[L-k], unpacked the same way
    if SCALE_H:  # a complex32 filter spectrum is stored unscaled (1/2L would make it subnormal)
        hr, hi, gr, gi = hr * h_scale, hi * h_scale, gr * h_scale, gi * h_scale
    if CONJ:
        hi, gi = -hi, -gi
    pr, pi = xr * hr - xi * hi, xr * hi + xi * hr  # P[k] = X[k] H[k]
    sr, si = yr * gr - yi * gi, yr * gi + yi * gr  # P[L-k]
    # Q[k] = P[k] + conj P[L-k] + i (P[k] - conj P[L-k]) conj(w^k)
    ar, ai = pr + sr, pi - si
    br, bi = pr - sr, pi + si
    vr, vi = wr, -wi  # conj(w^k)
    tr, ti = br * vr - bi * vi, br * vi + bi * vr
    q = q_ptr + row * 2 * L
    _store_complex(q, k, ar - ti, ai + tr, ok)
    # Q[L-k] = P[L-k] + conj P[k] + i (P[L-k] - conj P[k]) conj(w^(L-k)), conj(w^(L-k)) = -w^k
    ar, ai = sr + pr, si - pi
    br, bi = sr - pr, si + pi
    tr, ti = -(br * wr - bi * wi), -(br * wi + bi * wr)
    ok2 = ok & (k > 0)  # Q has L entries: k = 0 has no second one (j = L is Q[0] again)
    _store_complex(q, j, ar - ti, ai + tr, ok2)


@triton.jit
def _cross_kernel(
    c_ptr, g_ptr, w_ptr, s_ptr,  # c, g: (B, D, L) complex as floats; w (L/2 + 1); s (D, L + 1)
    D, L,
    B: tl.constexpr,  # the batch loop's trip count (the interpreter cannot loop to a run-time one)
    ACC: tl.constexpr, BLOCK: tl.constexpr,
):  # fmt: skip
    d, pid = tl.program_id(0).to(tl.int64), tl.program_id(1)
    k = pid * BLOCK + tl.arange(0, BLOCK)
    ok = k <= L // 2
    j = L - k
    jm = tl.where(k == 0, 0, j)
    wr, wi = _load_complex(w_ptr, k, ok, ACC)  # w^k
    akr = tl.zeros((BLOCK,), dtype=ACC)  # S[k]
    aki = tl.zeros((BLOCK,), dtype=ACC)
    ajr = tl.zeros((BLOCK,), dtype=ACC)  # S[L-k]
    aji = tl.zeros((BLOCK,), dtype=ACC)
    for b in range(B):
        base = (b * D + d) * 2 * L
        cr, ci, mr, mi = _load_mirrored(c_ptr + base, k, jm, ok, ACC)
        xr, xi, yr, yi = _unpack(cr, ci, mr, mi, wr, wi)  # X_b[k], X_b[L-k]
        cr, ci, mr, mi = _load_mirrored(g_ptr + base, k, jm, ok, ACC)
        ur, ui, vr, vi = _unpack(cr, ci, mr, mi, wr, wi)  # G_b[k], G_b[L-k]
        akr += xr * ur + xi * ui  # conj(X[k]) G[k]
        aki += xr * ui - xi * ur
        ajr += yr * vr + yi * vi  # conj(X[L-k]) G[L-k]
        aji += yr * vi - yi * vr
    s = s_ptr + d * 2 * (L + 1)
    _store_complex(s, k, akr, aki, ok)
    _store_complex(s, j, ajr, aji, ok)


@lru_cache(maxsize=16)
def twiddles(L: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``w^k = exp(-2 pi i k / 2L)``, ``k = 0 .. L/2``: ``(L // 2 + 1,)`` complex ``dtype``,
    computed in float64 and rounded once."""
    k = torch.arange(L // 2 + 1, dtype=torch.float64)
    with torch.inference_mode(False):
        return torch.polar(torch.ones_like(k), -math.pi * k / L).to(dtype).to(device)


def _acc(c: torch.Tensor) -> tl.dtype:
    return tl.float64 if c.dtype == torch.complex128 else tl.float32


def _wide(dtype: torch.dtype) -> torch.dtype:
    """The complex dtype a spectrum is computed in: complex32 is stored only, never computed."""
    return torch.complex64 if dtype == torch.complex32 else dtype


def _check_packed(c: torch.Tensor, name: str, half: bool = False) -> None:
    dtypes = (torch.complex64, torch.complex128) + ((torch.complex32,) if half else ())
    if c.dtype not in dtypes or c.ndim != 3 or not c.is_contiguous():
        names = "/".join(str(d).removeprefix("torch.") for d in dtypes)
        raise ValueError(
            f"{name} must be a contiguous {names} (B, D, L) spectrum, got "
            f"{c.dtype} {tuple(c.shape)}{'' if c.is_contiguous() else ' (not contiguous)'}"
        )


def filter_packed(c: torch.Tensor, h_f: torch.Tensor, conj: bool = False,
                  h_scale: float = 1.0) -> torch.Tensor:  # fmt: skip
    """``Q`` from ``C`` (module docstring): the packed spectrum of ``(X . H)``, or of
    ``(X . conj H)`` with ``conj``, where ``X`` (``H``) is the length-``2L`` real DFT whose
    packed length-``L`` complex DFT is ``c`` (``h_f``).

    Args:
        c: ``(B, D, L)`` complex, contiguous: ``fft`` of the real rows viewed as complex
            (complex64, complex128, or complex32: stored in half precision, computed in
            float32).
        h_f: ``(D, L)`` complex, the filter's packed spectrum (``fft`` of its zero-padded
            length-``2L`` rows viewed as complex, scaled as the caller wants), in ``c``'s
            dtype (complex64 or complex32 for a complex32 ``c``).
        conj: multiply by ``conj(h_f)`` (the adjoint, anti-causal convolution).
        h_scale: a factor on ``h_f``, applied in registers (a float32 argument on the GPU:
            exact for a power of two such as ``1/2L``): a complex32 ``h_f`` is stored
            unscaled, since ``1/2L`` would push its small values into float16's subnormals.

    Returns:
        ``(B, D, L)`` complex in ``c``'s dtype: ``ifft`` of it, viewed as real, is the real
        inverse transform of the product.
    """
    _check_packed(c, "c", half=True)
    B, D, L = c.shape
    wide = _wide(c.dtype)
    ok = (wide, c.dtype) if c.dtype == torch.complex32 else (wide,)  # complex32: either
    if h_f.shape != (D, L) or h_f.dtype not in ok:
        names = " or ".join(str(d) for d in ok)
        raise ValueError(f"h_f must be the filter's packed spectrum, {names} (D, L) = "
                         f"({D}, {L}), got {h_f.dtype} {tuple(h_f.shape)}")  # fmt: skip
    check_scale(h_scale, "h_scale")
    require(c.device)
    h_f = h_f.contiguous()
    q = empty((B, D, L), c.dtype, c.device)
    blk = block_size(L // 2 + 1, BLOCK_K)
    _filter_kernel[grid(B * D, triton.cdiv(L // 2 + 1, blk))](  # rows on the long axis
        torch.view_as_real(c), torch.view_as_real(h_f),
        torch.view_as_real(twiddles(L, wide, c.device)), torch.view_as_real(q),
        L, D, float(h_scale),
        CONJ=bool(conj), SCALE_H=h_scale != 1, ACC=_acc(c), BLOCK=blk, num_warps=NUM_WARPS,
    )  # fmt: skip
    return q


def cross_spectrum(c: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """``S[d, k] = sum_b conj(X_b[d, k]) G_b[d, k]``, ``k = 0 .. L``: ``(D, L + 1)`` complex,
    from the packed spectra ``c`` (of the input) and ``g`` (of the output's gradient), both
    ``(B, D, L)``; ``irfft(S, 2L)`` is their cross-correlation summed over the batch."""
    _check_packed(c, "c")
    _check_packed(g, "g")
    if g.shape != c.shape or g.dtype != c.dtype:
        raise ValueError(f"g must match c {c.dtype} {tuple(c.shape)}, got {g.dtype} "
                         f"{tuple(g.shape)}")  # fmt: skip
    require(c.device)
    B, D, L = c.shape
    s = empty((D, L + 1), c.dtype, c.device)
    blk = block_size(L // 2 + 1, BLOCK_K)
    _cross_kernel[grid(D, triton.cdiv(L // 2 + 1, blk))](
        torch.view_as_real(c), torch.view_as_real(g),
        torch.view_as_real(twiddles(L, c.dtype, c.device)), torch.view_as_real(s),
        D, L, B=B,
        ACC=_acc(c), BLOCK=blk, num_warps=NUM_WARPS,
    )  # fmt: skip
    return s
