"""The gate of Definition 3.1 after the inverse FFT, in one pass: ``x^n * (h^n conv z^n + b^n z)``.

After ``y = irfft(rfft(z, 2L) * rfft(h, 2L), 2L)`` the eager layer slices ``y[..., :L]`` (a copy
when followed by a cast), adds the skip term ``b^n z^n`` (a pass over ``z``, a pass for the
sum), multiplies by the gate ``x^n`` (another pass) and casts. :func:`gate` reads ``y``'s first
``L`` columns in place through its row stride, ``z`` and ``x`` once each, and writes the result
once, in any dtype (float32 for an intermediate step, so the next ``rfft`` needs no cast) and
optionally transposed to ``(B, L, D)``, the layout ``out_proj`` reads (Algorithm 3, Sec. 3.4).

With ``y=None`` it is ``x * z``: the gate before an identity first filter (``S_h^1 = I``, the
official layout). The backward pass is one kernel: ``d_x = g s``, ``d_y = g x`` (zero beyond
column ``L``), ``d_z = b g x`` (``g x`` without ``y``), and ``d_b = sum_{batch, t} g x z`` as
partial sums per program reduced by one ``torch`` sum (deterministic, no atomics), where ``g``
is the output's gradient and ``s = y + b z``.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from ..checks import FLOAT_DTYPES, check_float, check_ndim, check_scale
from . import (
    block_size,
    check_amax,
    check_device,
    compute_dtype,
    empty,
    fold_maxima,
    grid,
    maxima,
    require,
)  # fmt: skip

__all__ = ["gate"]

#: Tile sides on the GPU: 32 channels x 128 times (contiguous), 4 warps; a transposed output is
#: written through shared memory (the layout conversion Triton inserts) coalesced along D.
BLOCK_D, BLOCK_L, NUM_WARPS = 32, 128, 4
#: L-tiles one backward program walks through (one partial sum of ``d_b`` per 1024 times).
BACKWARD_TILES = 8


def _tl(dtype: torch.dtype) -> tl.dtype:
    return tl.float64 if dtype == torch.float64 else tl.float32


@triton.jit
def _gate_fwd_kernel(
    y_ptr, z_ptr, x_ptr, bias_ptr, out_ptr,  # y (B, D, >= L); z, x (B, D, L); bias (D,)
    flag_ptr,  # with FLAG: int32 (1,), set to 1 by any program whose output is not finite
    amax_ptr,  # with AMAX: float32 (programs,), each program's largest |y| read
    amax_out_ptr,  # with AMAX_OUT: float32 (programs,), its largest |output| (unrounded)
    L, D,
    stride_yb, stride_yd, stride_yl,
    stride_zb, stride_zd, stride_zl,
    stride_xb, stride_xd, stride_xl,
    stride_ob, stride_od, stride_ol,  # (B, D, L) or, transposed, (B, L, D)
    scale,  # the output's factor (1, or a half-precision path's pre-scale in or out)
    HAS_Y: tl.constexpr, HAS_BIAS: tl.constexpr, PAD: tl.constexpr, FLAG: tl.constexpr,
    AMAX: tl.constexpr, AMAX_OUT: tl.constexpr, ACC: tl.constexpr, BLOCK_D: tl.constexpr,
    BLOCK_L: tl.constexpr,
):  # fmt: skip
    pid_l, pid_d, b = tl.program_id(0), tl.program_id(1), tl.program_id(2).to(tl.int64)
    d = pid_d * BLOCK_D + tl.arange(0, BLOCK_D)  # (BLOCK_D,)
    t = pid_l * BLOCK_L + tl.arange(0, BLOCK_L)  # (BLOCK_L,)
    ok = (d < D)[:, None] & (t < L)[None, :]  # (BLOCK_D, BLOCK_L)
    pid = (b * tl.num_programs(1) + pid_d) * tl.num_programs(0) + pid_l  # its maxima's slot
    o = out_ptr + b * stride_ob + d[:, None] * stride_od + t[None, :] * stride_ol
    if PAD:  # the zero padding [L, 2L) of the next FFT's input, written by the same program
        tl.store(o + L * stride_ol, tl.zeros((BLOCK_D, BLOCK_L), dtype=out_ptr.dtype.element_ty),
                 mask=ok)  # fmt: skip
    if HAS_BIAS or not HAS_Y:  # z is read only for the skip term, or as the signal itself
        z = tl.load(
            z_ptr + b * stride_zb + d[:, None] * stride_zd + t[None, :] * stride_zl,
            mask=ok, other=0.0,
        ).to(ACC)  # fmt: skip
    x = tl.load(
        x_ptr + b * stride_xb + d[:, None] * stride_xd + t[None, :] * stride_xl, mask=ok, other=0.0
    ).to(ACC)  # fmt: skip
    if HAS_Y:  # s = h conv z + b z: the first L columns of the irfft output, read in place
        s = tl.load(
            y_ptr + b * stride_yb + d[:, None] * stride_yd + t[None, :] * stride_yl,
            mask=ok, other=0.0,
        ).to(ACC)  # fmt: skip
        if AMAX:  # the inverse transform's output as stored (masked lanes read 0)
            m = tl.where(s == s, tl.abs(s), float("inf"))  # a NaN counts as an overflow
            tl.store(amax_ptr + pid, tl.max(tl.max(m, axis=1), axis=0).to(tl.float32))
        if HAS_BIAS:
            s += tl.load(bias_ptr + d, mask=d < D, other=0.0).to(ACC)[:, None] * z
    else:  # S_h = I
        s = z
    res = x * s * scale
    if FLAG:  # NaN (res != res) or an infinity (past float32's largest value, 3.4e38)
        bad = ok & ((res != res) | (tl.abs(res) > 3.4028234663852886e38))
        tl.store(flag_ptr, 1, mask=tl.sum(bad.to(tl.int32)) > 0)  # rarely: no atomics
    if AMAX_OUT:  # before its rounding: a float16 output that rounds to 0 still shows here
        m = tl.where(ok, tl.where(res == res, tl.abs(res), float("inf")), 0.0)  # NaN: overflow
        tl.store(amax_out_ptr + pid, tl.max(tl.max(m, axis=1), axis=0).to(tl.float32))
    tl.store(o, res.to(out_ptr.dtype.element_ty), mask=ok)


@triton.jit
def _gate_bwd_kernel(
    g_ptr, y_ptr, z_ptr, x_ptr, bias_ptr, dy_ptr, dz_ptr, dx_ptr, part_ptr,
    L, D,
    stride_gb, stride_gd, stride_gl,
    stride_yb, stride_yd, stride_yl,
    stride_zb, stride_zd, stride_zl,
    stride_xb, stride_xd, stride_xl,
    stride_qyb, stride_qyd,  # gradients: fresh tensors, time stride 1
    stride_qzb, stride_qzd,
    stride_qxb, stride_qxd,
    stride_rb, stride_rn,  # part (B, n_chunks, D), channel stride 1
    scale,  # the forward's output factor: every gradient is that of (scale g)
    TILES: tl.constexpr, HAS_Y: tl.constexpr, HAS_BIAS: tl.constexpr,
    WRITE_DY: tl.constexpr, WRITE_DZ: tl.constexpr, WRITE_DX: tl.constexpr,
    ZERO_DY: tl.constexpr,  # also write d_y's zeros in [L, 2L) (d_y of length exactly 2L)
    ACC: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_L: tl.constexpr,
):  # fmt: skip
    pid_l, pid_d, b = tl.program_id(0), tl.program_id(1), tl.program_id(2).to(tl.int64)
    d = pid_d * BLOCK_D + tl.arange(0, BLOCK_D)  # (BLOCK_D,)
    d_ok = d < D
    if HAS_BIAS:
        bias = tl.load(bias_ptr + d, mask=d_ok, other=0.0).to(ACC)[:, None]  # (BLOCK_D, 1)
    part = tl.zeros((BLOCK_D,), dtype=ACC)  # partial d_b of this program
    for i in range(TILES):
        t = (pid_l * TILES + i) * BLOCK_L + tl.arange(0, BLOCK_L)  # (BLOCK_L,)
        ok = d_ok[:, None] & (t < L)[None, :]  # (BLOCK_D, BLOCK_L)
        g = tl.load(
            g_ptr + b * stride_gb + d[:, None] * stride_gd + t[None, :] * stride_gl,
            mask=ok, other=0.0,
        ).to(ACC) * scale  # fmt: skip
        if HAS_BIAS or not HAS_Y:  # z: for the skip term's gradients, or as the signal
            z = tl.load(
                z_ptr + b * stride_zb + d[:, None] * stride_zd + t[None, :] * stride_zl,
                mask=ok, other=0.0,
            ).to(ACC)  # fmt: skip
        x = tl.load(
            x_ptr + b * stride_xb + d[:, None] * stride_xd + t[None, :] * stride_xl,
            mask=ok, other=0.0,
        ).to(ACC)  # fmt: skip
        gx = g * x
        if HAS_Y:
            if WRITE_DX:
                s = tl.load(
                    y_ptr + b * stride_yb + d[:, None] * stride_yd + t[None, :] * stride_yl,
                    mask=ok, other=0.0,
                ).to(ACC)  # fmt: skip
                if HAS_BIAS:
                    s += bias * z
            if WRITE_DY:
                q = dy_ptr + b * stride_qyb + d[:, None] * stride_qyd + t[None, :]
                tl.store(q, gx.to(dy_ptr.dtype.element_ty), mask=ok)
                if ZERO_DY:
                    tl.store(q + L, tl.zeros_like(gx).to(dy_ptr.dtype.element_ty), mask=ok)
            if HAS_BIAS:
                if WRITE_DZ:
                    q = dz_ptr + b * stride_qzb + d[:, None] * stride_qzd + t[None, :]
                    tl.store(q, (gx * bias).to(dz_ptr.dtype.element_ty), mask=ok)
                part += tl.sum(gx * z, axis=1)
        else:
            s = z
            if WRITE_DZ:
                q = dz_ptr + b * stride_qzb + d[:, None] * stride_qzd + t[None, :]
                tl.store(q, gx.to(dz_ptr.dtype.element_ty), mask=ok)
        if WRITE_DX:
            q = dx_ptr + b * stride_qxb + d[:, None] * stride_qxd + t[None, :]
            tl.store(q, (g * s).to(dx_ptr.dtype.element_ty), mask=ok)
    if HAS_BIAS:
        tl.store(part_ptr + b * stride_rb + pid_l * stride_rn + d, part, mask=d_ok)


def _check(
    y: torch.Tensor | None,
    z: torch.Tensor | None,
    x: torch.Tensor,
    bias: torch.Tensor | None,
    out_dtype: torch.dtype | None,
    transpose_out: bool,
    pad_out: bool,
) -> None:
    """Validate the arguments of :func:`gate` (shapes, dtypes, one device)."""
    check_float(x, "x")
    check_ndim(x, "x", 3, "(batch, d_model, seq_len)")
    if z is None:
        if y is None or bias is not None:
            raise ValueError("z may be None only with y given and no bias: the gate x * y")
    else:
        check_float(z, "z")
        if z.shape != x.shape:
            raise ValueError(
                f"z must have the shape of the gate x (batch, d_model, seq_len) = "
                f"{tuple(x.shape)}, got {tuple(z.shape)}"
            )
    if transpose_out and pad_out:
        raise ValueError("transpose_out and pad_out exclude each other")
    B, D, L = x.shape
    if y is not None:
        check_float(y, "y")
        if y.ndim != 3 or y.shape[:2] != (B, D) or y.shape[-1] < L:
            raise ValueError(
                f"y (the irfft output) must have shape (batch, d_model, Ly) = ({B}, {D}, Ly) "
                f"with Ly >= L = {L} (Ly = 2L straight from the FFT), got {tuple(y.shape)}"
            )
    if bias is not None:
        if y is None:
            raise ValueError("bias (the skip term b z) needs y: without y the gate is x * z")
        check_float(bias, "bias")
        if bias.shape != (D,):
            raise ValueError(f"bias must have shape (d_model,) = ({D},), got {tuple(bias.shape)}")
    if out_dtype is not None and out_dtype not in FLOAT_DTYPES:
        raise TypeError(f"out_dtype must be a float dtype {FLOAT_DTYPES}, got {out_dtype}")
    for name, t in (("z", z), ("y", y), ("bias", bias)):
        if t is not None:
            check_device(name, t, x.device)
    require(x.device)


class _Gate(torch.autograd.Function):
    @staticmethod
    def forward(ctx, y, z, x, bias, out_dtype, transpose_out, pad_out, scale, flag, amax,
                amax_out):  # fmt: skip
        B, D, L = x.shape
        acc = compute_dtype(y, z, x, bias)
        if transpose_out:
            out = empty((B, L, D), out_dtype, x.device)  # (B, L, D)
            o_strides = (out.stride(0), out.stride(2), out.stride(1))  # as (b, d, t)
        elif pad_out:
            out = empty((B, D, 2 * L), out_dtype, x.device)  # (B, D, 2L); the kernel writes
            o_strides = out.stride()
        else:
            out = empty((B, D, L), out_dtype, x.device)  # (B, D, L)
            o_strides = out.stride()
        bd, bl = block_size(D, BLOCK_D), block_size(L, BLOCK_L)
        z_ = x if z is None else z  # never read when None (y given, no bias)
        y_ = z_ if y is None else y
        shape = (triton.cdiv(L, bl), triton.cdiv(D, bd), B)
        n = shape[0] * shape[1] * B
        part = maxima(amax if y is not None else None, n, x)  # (n,) each program's largest
        part_out = maxima(amax_out, n, x)
        _gate_fwd_kernel[grid(*shape)](
            y_, z_, x, z_ if bias is None else bias, out, x if flag is None else flag,
            part, part_out, L, D,
            *y_.stride(), *z_.stride(), *x.stride(), *o_strides, scale,
            HAS_Y=y is not None, HAS_BIAS=bias is not None, PAD=bool(pad_out),
            FLAG=flag is not None, AMAX=amax is not None and y is not None,
            AMAX_OUT=amax_out is not None, ACC=_tl(acc),
            BLOCK_D=bd, BLOCK_L=bl, num_warps=NUM_WARPS,
        )  # fmt: skip
        fold_maxima(amax if y is not None else None, part)
        fold_maxima(amax_out, part_out)
        ctx.save_for_backward(y, z, x, bias)
        ctx.transpose_out, ctx.acc, ctx.scale = transpose_out, acc, scale
        return out

    @staticmethod
    def backward(ctx, d_out):
        y, z, x, bias = ctx.saved_tensors
        B, D, L = x.shape
        need_y, need_z, need_x, need_b = ctx.needs_input_grad[:4]
        has_y, has_b = y is not None, bias is not None
        need_z = need_z and (not has_y or has_b)  # x * y alone does not depend on z
        z = x if z is None else z  # never read then (y given, no bias)
        if ctx.transpose_out:  # (B, L, D) read as (b, d, t)
            g_strides = (d_out.stride(0), d_out.stride(2), d_out.stride(1))
        else:
            g_strides = d_out.stride()
        d_y = d_z = d_x = None
        if need_y:
            d_y = empty(tuple(y.shape), y.dtype, y.device)  # (B, D, Ly)
            if y.shape[-1] != 2 * L:  # else the kernel writes the zeros
                d_y[..., L:].zero_()  # the irfft's second half does not reach the output
        if need_z:
            d_z = empty((B, D, L), z.dtype, z.device)
        if need_x:
            d_x = empty((B, D, L), x.dtype, x.device)
        bd, bl = block_size(D, BLOCK_D), block_size(L, BLOCK_L)
        n_tiles = triton.cdiv(L, bl)
        tiles = min(BACKWARD_TILES, n_tiles)
        n_chunks = triton.cdiv(n_tiles, tiles)
        part_shape = (B, n_chunks, D) if has_b else (1, 1, 1)
        part = empty(part_shape, ctx.acc, z.device)  # (B, n_chunks, D): partial d_b
        y_ = z if y is None else y
        _gate_bwd_kernel[grid(n_chunks, triton.cdiv(D, bd), B)](
            d_out, y_, z, x, z if bias is None else bias,
            z if d_y is None else d_y, z if d_z is None else d_z, z if d_x is None else d_x, part,
            L, D, *g_strides, *y_.stride(), *z.stride(), *x.stride(),
            *(z if d_y is None else d_y).stride()[:2], *(z if d_z is None else d_z).stride()[:2],
            *(z if d_x is None else d_x).stride()[:2], *part.stride()[:2], ctx.scale,
            TILES=tiles, HAS_Y=has_y, HAS_BIAS=has_b,
            WRITE_DY=need_y, WRITE_DZ=need_z, WRITE_DX=need_x,
            ZERO_DY=need_y and y.shape[-1] == 2 * L, ACC=_tl(ctx.acc),
            BLOCK_D=bd, BLOCK_L=bl, num_warps=NUM_WARPS,
        )  # fmt: skip
        d_b = part.sum(dim=(0, 1)).to(bias.dtype) if (has_b and need_b) else None
        return d_y, d_z, d_x, d_b, None, None, None, None, None, None, None


def gate(
    y: torch.Tensor | None,
    z: torch.Tensor | None,
    x: torch.Tensor,
    bias: torch.Tensor | None = None,
    *,
    out_dtype: torch.dtype | None = None,
    transpose_out: bool = False,
    pad_out: bool = False,
    scale: float = 1.0,
    flag: torch.Tensor | None = None,
    amax: torch.Tensor | None = None,
    amax_out: torch.Tensor | None = None,
) -> torch.Tensor:
    """One step of Definition 3.1 after the FFT: ``x * (y[..., :L] + bias[:, None] * z)``
    (times ``scale``).

    Computed in float32 (float64 when an input is float64) whatever the inputs' dtypes, in one
    read of each input and one write of the output. Differentiable in ``y``, ``z``, ``x`` and
    ``bias``; ``y``'s gradient is zero beyond column ``L``.

    Args:
        y: ``(B, D, Ly)`` with ``Ly >= L``, the raw ``irfft`` output ``h conv z`` (length
            ``2L``), read through its row stride (no slicing copy); ``None`` for ``x * z``
            (the identity first filter of the official layout).
        z: ``(B, D, L)``, the signal that was convolved (for the skip term ``b z``); may be
            ``None`` when ``y`` is given and ``bias`` is not (the skip term folded into the
            filter, as :mod:`~hyena_lab.kernels.long_conv` does): then it is not read.
        x: ``(B, D, L)``, the gate ``x^n``.
        bias: ``(D,)``, the skip term ``b^n``; ``None`` for none (needs ``y``).
        out_dtype: dtype of the result, ``x.dtype`` by default; float32 lets the next step's
            ``rfft`` read it without a cast.
        transpose_out: write ``(B, L, D)`` contiguous (what ``out_proj`` reads) instead of
            ``(B, D, L)``.
        pad_out: write ``(B, D, 2L)`` with zeros in ``[..., L:]``: the zero-padded input the
            next step's FFT reads as it is (:func:`~.long_conv.causal_conv_padded`).
        scale: a factor on the output, 1 by default: the half-precision forward path of
            :func:`~.layer.fused_forward` carries its signal pre-scaled (``op.half_fft``)
            and leaves the scale with it.
        flag: an int32 tensor of one element on ``x``'s device, or ``None``: set to 1 when any
            output is not finite (NaN, or past float32's range) and left as it is otherwise:
            the half-precision path's overflow check, made by the pass that writes the
            output instead of a pass of its own.
        amax: a float32 tensor of one element on ``x``'s device, or ``None``: raised (each
            program's tile maximum, folded by :func:`~hyena_lab.kernels.fold_maxima`) to the
            largest ``|y|`` read (``y`` as stored: a float16 inverse transform's output, still
            pre-scaled; a NaN counts as infinite): the half-precision path's scale tracking
            (:mod:`~.layer`). Left alone without ``y``.
        amax_out: likewise, raised to the largest size of the output before its rounding to
            ``out_dtype`` (``scale`` included): the next step's signal, seen even where
            float16 rounds it to zero.

    Returns:
        ``(B, D, L)``, ``(B, L, D)`` with ``transpose_out``, or ``(B, D, 2L)`` with
        ``pad_out``, in ``out_dtype``.
    """
    _check(y, z, x, bias, out_dtype, bool(transpose_out), bool(pad_out))
    check_scale(scale)
    if flag is not None and (flag.dtype != torch.int32 or flag.numel() != 1
                             or flag.device != x.device):  # fmt: skip
        raise ValueError(f"flag must be an int32 tensor of one element on {x.device}, got "
                         f"{flag.dtype} {tuple(flag.shape)} on {flag.device}")  # fmt: skip
    check_amax(amax, x.device)
    check_amax(amax_out, x.device)
    return _Gate.apply(y, z, x, bias, out_dtype or x.dtype, bool(transpose_out), bool(pad_out),
                       float(scale), flag, amax, amax_out)  # fmt: skip
