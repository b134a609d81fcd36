"""The short depthwise causal convolution of Algorithm 1 (Sec. 3.4), transposed and split, fused.

The eager layer computes ``nn.Conv1d(C, C, K, groups=C, padding=K - 1)(p.transpose(1, 2))``
and keeps the first ``L`` outputs: a transpose copy of ``p`` ``(B, L, C)`` to ``(B, C, L)``, the
convolution, a slice, and ``split`` into the gates ``x^1..x^N`` and the value ``v``.
:func:`short_conv_split` does it in one pass:

    out[g, b, d, t] = bias[c] + sum_{j < K} weight[c, 0, j] * p[b, t + j - (K - 1), c],

with ``c = g * D + d`` and ``p`` zero before time 0. Each program owns a tile of ``BLOCK_L``
times by ``BLOCK_C`` channels of one batch element: it reads the tile (plus ``K - 1`` rows
before it, from cache) coalesced along the contiguous channel axis, accumulates in float32, and
writes the tile into ``(groups, B, D, L)`` coalesced along time (Triton's coalescing pass gives
the load and the store their own layouts and converts between them through shared memory: that
is the fused transpose). ``out[g]`` is then a contiguous ``(B, D, L)`` tensor, what the FFT reads.

The backward pass is one kernel too. The adjoint of a causal convolution is the anti-causal one
with the same taps, ``d_p[b, s, c] = sum_j weight[c, 0, j] * d_out[c, b, s + K - 1 - j]``,
written back in ``(B, L, C)``; the same tile gives the weight and bias gradients,
``d_weight[c, j] = sum_{b, s} p[b, s, c] d_out[c, b, s + K - 1 - j]`` and
``d_bias[c] = sum_{b, t} d_out[c, b, t]``, as partial sums per program in a buffer that one
``torch`` sum reduces: deterministic, no atomics.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from ..checks import check_float, check_ndim, check_positive_int, check_scale, needs_grad
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

__all__ = ["short_conv_split", "short_conv_split_padded"]

#: Tile sides on the GPU: 64 times x 64 channels (8 KB of bf16 per tile, 4 warps: 16-byte
#: accesses along the contiguous axis of each tensor).
BLOCK_L, BLOCK_C, NUM_WARPS = 64, 64, 4
#: L-tiles one backward program walks through, so the partial-sum buffer of the weight
#: gradient holds one row per 512 times rather than per 64.
BACKWARD_TILES = 8


def _tl(dtype: torch.dtype) -> tl.dtype:
    return tl.float64 if dtype == torch.float64 else tl.float32


@triton.jit
def _short_conv_fwd_kernel(
    p_ptr, w_ptr, bias_ptr, out_ptr,  # p (B, L, C); w (C, K); bias (C,); out (G, B, D, L)
    vp_ptr,  # with PAD_LAST: out holds groups 0..G-2, and the last one goes to vp (B, D, 2L)
    amax_ptr,  # with AMAX: float32 (programs,), each program's largest |v_scale v| (unrounded)
    L, C, D, G, v_scale,
    stride_pb, stride_pl, stride_pc,
    stride_wc, stride_wk,
    stride_og, stride_ob, stride_od,  # out's time stride is 1 (a fresh contiguous tensor)
    K: tl.constexpr, HAS_BIAS: tl.constexpr, PAD_LAST: tl.constexpr, AMAX: tl.constexpr,
    ACC: tl.constexpr, BLOCK_L: tl.constexpr, BLOCK_C: tl.constexpr,
):  # fmt: skip
    pid_l, pid_c, b = tl.program_id(0), tl.program_id(1), tl.program_id(2).to(tl.int64)
    t = pid_l * BLOCK_L + tl.arange(0, BLOCK_L)  # (BLOCK_L,) output times
    c = pid_c * BLOCK_C + tl.arange(0, BLOCK_C)  # (BLOCK_C,) channels
    c_ok = c < C
    acc = tl.zeros((BLOCK_L, BLOCK_C), dtype=ACC)
    if HAS_BIAS:
        acc += tl.load(bias_ptr + c, mask=c_ok, other=0.0).to(ACC)[None, :]
    p_row = p_ptr + b * stride_pb
    for j in tl.static_range(K):  # tap j reads time t + j - (K - 1): causal, zero before 0
        s = t + (j - (K - 1))  # (BLOCK_L,)
        w = tl.load(w_ptr + c * stride_wc + j * stride_wk, mask=c_ok, other=0.0).to(ACC)
        ok = ((s >= 0) & (t < L))[:, None] & c_ok[None, :]  # (BLOCK_L, BLOCK_C)
        # times in int64: at L = 1M, t * stride_pl passes 2^31 (p is (B, L, (N+1) D))
        x = tl.load(p_row + s.to(tl.int64)[:, None] * stride_pl + c[None, :] * stride_pc,
                    mask=ok, other=0.0)  # fmt: skip
        acc += w[None, :] * x.to(ACC)
    g = c // D  # which of x^1..x^N, v the channel belongs to
    col = g.to(tl.int64) * stride_og + (c - g * D) * stride_od  # (BLOCK_C,)
    ok = (t < L)[:, None] & c_ok[None, :]
    out = acc.to(out_ptr.dtype.element_ty)
    if PAD_LAST:  # v = the last group, scaled and zero-padded: the first FFT's input
        last = (g == G - 1)[None, :]  # (1, BLOCK_C)
        tl.store(out_ptr + b * stride_ob + col[None, :] + t[:, None], out, mask=ok & ~last)
        row = (b * D + (c - g * D)) * 2 * L  # (BLOCK_C,) int64: row (b, d) of vp
        v = vp_ptr + row[None, :] + t[:, None]  # (BLOCK_L, BLOCK_C)
        tl.store(v, (acc * v_scale).to(vp_ptr.dtype.element_ty), mask=ok & last)
        tl.store(v + L, tl.zeros_like(acc).to(vp_ptr.dtype.element_ty), mask=ok & last)
        if AMAX:  # its size before rounding (a float16 v that rounds to 0 still shows here)
            pid = (b * tl.num_programs(1) + pid_c) * tl.num_programs(0) + pid_l
            if (pid_c + 1) * BLOCK_C > (G - 1) * D:  # a tile with channels of v (the rest: 0)
                m = tl.where(acc == acc, tl.abs(acc * v_scale), float("inf"))  # NaN: overflow
                m = tl.max(tl.max(tl.where(ok & last, m, 0.0), axis=1), axis=0)
                tl.store(amax_ptr + pid, m.to(tl.float32))
            else:
                tl.store(amax_ptr + pid, 0.0)
    else:
        tl.store(out_ptr + b * stride_ob + col[None, :] + t[:, None], out, mask=ok)


@triton.jit
def _short_conv_bwd_kernel(
    g_ptr, p_ptr, w_ptr, dp_ptr, part_ptr,  # d_out (G, B, D, L); p, d_p (B, L, C); w (C, K)
    L, C, D,
    stride_gg, stride_gb, stride_gd, stride_gl,
    stride_pb, stride_pl, stride_pc,
    stride_wc, stride_wk,
    stride_qb, stride_ql,  # d_p's strides (channel stride 1)
    stride_rb, stride_rn, stride_rk,  # part (B, n_chunks, K + 1, C), channel stride 1
    TILES: tl.constexpr,  # L-tiles per program (at most BACKWARD_TILES)
    K: tl.constexpr, K1: tl.constexpr, WRITE_DP: tl.constexpr, ACC: tl.constexpr,
    BLOCK_L: tl.constexpr, BLOCK_C: tl.constexpr,
):  # fmt: skip
    pid_l, pid_c, b = tl.program_id(0), tl.program_id(1), tl.program_id(2).to(tl.int64)
    c = pid_c * BLOCK_C + tl.arange(0, BLOCK_C)  # (BLOCK_C,)
    c_ok = c < C
    g = c // D
    col = g.to(tl.int64) * stride_gg + (c - g * D) * stride_gd  # (BLOCK_C,) into d_out
    rows = tl.arange(0, K1)  # (K1,): rows 0..K-1 the taps, row K the bias
    part = tl.zeros((K1, BLOCK_C), dtype=ACC)  # partial d_weight (rows < K) and d_bias (row K)
    for i in range(TILES):
        s = (pid_l * TILES + i) * BLOCK_L + tl.arange(0, BLOCK_L)  # (BLOCK_L,) input times
        s = s.to(tl.int64)  # s * stride_pl passes 2^31 at L = 1M
        s_ok = (s < L)[:, None] & c_ok[None, :]  # (BLOCK_L, BLOCK_C)
        x = tl.load(
            p_ptr + b * stride_pb + s[:, None] * stride_pl + c[None, :] * stride_pc,
            mask=s_ok, other=0.0,
        ).to(ACC)  # fmt: skip
        dp = tl.zeros((BLOCK_L, BLOCK_C), dtype=ACC)
        for j in tl.static_range(K):  # tap j carries p[s] to output time s + K - 1 - j
            t = s + (K - 1 - j)
            ok = (t < L)[:, None] & c_ok[None, :]
            dy = tl.load(
                g_ptr + b * stride_gb + col[None, :] + t[:, None] * stride_gl, mask=ok, other=0.0
            ).to(ACC)  # (BLOCK_L, BLOCK_C)
            w = tl.load(w_ptr + c * stride_wc + j * stride_wk, mask=c_ok, other=0.0).to(ACC)
            dp += w[None, :] * dy  # the adjoint: an anti-causal convolution, same taps
            part += tl.where(rows[:, None] == j, tl.sum(x * dy, axis=0)[None, :], 0.0)
            if j == K - 1:  # output time t = s: every output of the tile once, for d_bias
                part += tl.where(rows[:, None] == K, tl.sum(dy, axis=0)[None, :], 0.0)
        if WRITE_DP:
            q_ptr = dp_ptr + b * stride_qb + s[:, None] * stride_ql + c[None, :]
            tl.store(q_ptr, dp.to(dp_ptr.dtype.element_ty), mask=s_ok)
    ok = (rows <= K)[:, None] & c_ok[None, :]
    r_ptr = part_ptr + b * stride_rb + pid_l * stride_rn + rows[:, None] * stride_rk + c[None, :]
    tl.store(r_ptr, part, mask=ok)


def _check(
    p: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, groups: int
) -> tuple[int, int]:
    """Validate the arguments of :func:`short_conv_split`; return ``(C, K)``."""
    check_float(p, "p")
    check_ndim(p, "p", 3, "(batch, seq_len, channels)")
    check_positive_int(groups, "groups")
    C = p.shape[-1]
    if C % groups:
        raise ValueError(
            f"p has C={C} channels, not divisible by groups={groups}; the in_proj output holds "
            f"groups * d_model channels (order + 1 signals of d_model each)"
        )
    check_float(weight, "weight")
    if weight.ndim != 3 or weight.shape[0] != C or weight.shape[1] != 1:
        raise ValueError(
            f"weight must have shape (C, 1, K) = ({C}, 1, K) as nn.Conv1d(C, C, K, groups=C) "
            f"stores it, got {tuple(weight.shape)}"
        )
    if bias is not None:
        check_float(bias, "bias")
        if bias.shape != (C,):
            raise ValueError(f"bias must have shape (C,) = ({C},), got {tuple(bias.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None:
            check_device(name, t, p.device)
    require(p.device)
    return C, weight.shape[-1]


def _launch_fwd(p: torch.Tensor, w: torch.Tensor, bias: torch.Tensor | None, out: torch.Tensor,
                vp: torch.Tensor | None, acc: torch.dtype, v_scale: float,
                amax: torch.Tensor | None = None) -> None:  # fmt: skip
    """The forward kernel: ``out`` ``(G, B, D, L)``, or with ``vp`` ``(B, D, 2L)`` the first
    ``G - 1`` groups in ``out`` and the last, times ``v_scale``, padded in ``vp``."""
    B, L, C = p.shape
    D, K = out.shape[2], w.shape[-1]
    bl, bc = block_size(L, BLOCK_L), block_size(C, BLOCK_C)
    shape = (triton.cdiv(L, bl), triton.cdiv(C, bc), B)
    part = maxima(amax if vp is not None else None, shape[0] * shape[1] * B, p)
    _short_conv_fwd_kernel[grid(*shape)](
        p, w, w if bias is None else bias, out, out if vp is None else vp,
        part, L, C, D, C // D, v_scale,
        *p.stride(), *w.stride(), *out.stride()[:3],
        K=K, HAS_BIAS=bias is not None, PAD_LAST=vp is not None,
        AMAX=amax is not None and vp is not None, ACC=_tl(acc),
        BLOCK_L=bl, BLOCK_C=bc, num_warps=NUM_WARPS,
    )  # fmt: skip
    fold_maxima(amax if vp is not None else None, part)


class _ShortConvSplit(torch.autograd.Function):
    @staticmethod
    def forward(ctx, p, weight, bias, groups):
        B, L, C = p.shape
        K, D = weight.shape[-1], C // groups
        w = weight.reshape(C, K)
        acc = compute_dtype(p, weight, bias)
        out = empty((groups, B, D, L), p.dtype, p.device)  # (G, B, D, L)
        _launch_fwd(p, w, bias, out, None, acc, 1.0)
        ctx.save_for_backward(p, weight)
        ctx.has_bias, ctx.bias_dtype = bias is not None, None if bias is None else bias.dtype
        ctx.acc = acc
        return out

    @staticmethod
    def backward(ctx, d_out):
        p, weight = ctx.saved_tensors
        B, L, C = p.shape
        K = weight.shape[-1]
        D = C // d_out.shape[0]
        w = weight.reshape(C, K)
        need_p = ctx.needs_input_grad[0]
        d_p = empty((B, L, C), p.dtype, p.device) if need_p else p
        bl, bc = block_size(L, BLOCK_L), block_size(C, BLOCK_C)
        n_tiles = triton.cdiv(L, bl)
        tiles = min(BACKWARD_TILES, n_tiles)
        n_chunks = triton.cdiv(n_tiles, tiles)
        k1 = block_size(K + 1, 1 << 30, floor=1)  # a power of two >= K + 1
        part = empty((B, n_chunks, K + 1, C), ctx.acc, p.device)
        _short_conv_bwd_kernel[grid(n_chunks, triton.cdiv(C, bc), B)](
            d_out, p, w, d_p, part, L, C, D,
            *d_out.stride(), *p.stride(), *w.stride(), *d_p.stride()[:2], *part.stride()[:3],
            TILES=tiles, K=K, K1=k1, WRITE_DP=need_p, ACC=_tl(ctx.acc),
            BLOCK_L=bl, BLOCK_C=bc, num_warps=NUM_WARPS,
        )  # fmt: skip
        total = part.sum(dim=(0, 1))  # (K + 1, C): the deterministic second stage
        d_weight = total[:K].T.reshape(C, 1, K).to(weight.dtype)
        d_bias = total[K].to(ctx.bias_dtype) if ctx.has_bias else None
        return (d_p if need_p else None), d_weight, d_bias, None


def short_conv_split(
    p: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, groups: int
) -> torch.Tensor:
    """Algorithm 1's short depthwise causal convolution, transposed and split, in one pass.

    ``out[g, b, d, t] = bias[c] + sum_{j<K} weight[c, 0, j] * p[b, t + j - (K - 1), c]`` with
    ``c = g * D + d`` and ``p`` zero before time 0: exactly
    ``nn.Conv1d(C, C, K, groups=C, padding=K - 1)(p.transpose(1, 2))[..., :L]`` split into
    ``groups`` blocks of ``D = C // groups`` channels, accumulated in float32 (float64 for
    float64 inputs). Differentiable in ``p``, ``weight`` and ``bias``.

    Args:
        p: ``(B, L, C)``, the output of ``in_proj``; any strides.
        weight: ``(C, 1, K)``, as ``nn.Conv1d(C, C, K, groups=C)`` stores it.
        bias: ``(C,)`` or ``None``.
        groups: how many signals ``p`` holds (``order + 1`` for the Hyena layer).

    Returns:
        ``(groups, B, D, L)`` in ``p``'s dtype; ``out[g]`` is a contiguous ``(B, D, L)``, so
        ``*x, v = out.unbind(0)`` gives the gates and the value as the FFT wants them.
    """
    _check(p, weight, bias, groups)
    return _ShortConvSplit.apply(p, weight, bias, groups)


def short_conv_split_padded(
    p: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, groups: int,
    dtype: torch.dtype, scale: float = 1.0, amax: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """:func:`short_conv_split` with the last group (the value ``v``) written as the first long
    convolution reads it: ``scale v`` zero-padded to ``(B, D, 2L)`` in ``dtype`` (what
    :func:`~hyena_lab.kernels.long_conv.padded` would make of it, without writing ``v`` in
    ``p``'s dtype first and reading it back). Forward only (no gradient).

    Returns:
        ``(x, vp)``: the gates ``(groups - 1, B, D, L)`` in ``p``'s dtype, and ``vp``.
    """
    C, K = _check(p, weight, bias, groups)
    if groups < 2:
        raise ValueError(f"groups must be >= 2 (the gates and v), got {groups}")
    check_scale(scale)
    check_amax(amax, p.device)
    if needs_grad(p, weight, bias):
        raise ValueError("short_conv_split_padded is forward only: call it under "
                         "torch.no_grad(), or use short_conv_split")  # fmt: skip
    B, L, _ = p.shape
    D = C // groups
    x = empty((groups - 1, B, D, L), p.dtype, p.device)  # (G - 1, B, D, L)
    vp = empty((B, D, 2 * L), dtype, p.device)  # (B, D, 2L)
    acc = torch.float64 if torch.float64 in (dtype, compute_dtype(p, weight, bias)) else (
        torch.float32)  # fmt: skip
    _launch_fwd(p, weight.reshape(C, K), bias, x, vp, acc, float(scale), amax)
    return x, vp
