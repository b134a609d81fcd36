"""The Hyena layer's forward pass from the fused kernels: Algorithm 3 (Sec. 3.4) with every
element-wise pass fused into the FFTs' neighbours.

:func:`fused_forward` computes ``op(u)`` for a :class:`~hyena_lab.operator.HyenaOperator` ``op``
(any order, ``identity_first`` or not, with or without the skip term, any short filter width)
with only the two linear maps and the FFTs left to ``torch``:

1. ``p = in_proj(u)`` (cuBLAS), ``(B, L, (N+1) D)``;
2. :func:`~hyena_lab.kernels.short_conv.short_conv_split`: short convolution, transpose and
   split in one pass, ``x^1..x^N, v``, each a contiguous ``(B, D, L)`` (Algorithm 1); where
   no gradient is needed, ``v`` comes out already as the first FFT reads it, zero-padded to
   ``2L`` in the compute dtype (:func:`~hyena_lab.kernels.short_conv.short_conv_split_padded`);
3. the filter bank ``h = op.filters(L)`` (Algorithm 2), once; where no gradient is needed,
   without eq. (7)'s window, which each filter's padding pass then applies
   (:class:`~hyena_lab.kernels.long_conv.Decay`, instead of the window's four eager
   element-wise passes over the whole bank);
4. per step ``n`` of Definition 3.1, :func:`~hyena_lab.kernels.long_conv.causal_conv_padded`
   ``y = irfft(rfft(z) * H^n)`` on ``z`` already zero-padded to ``2L``, with the skip term folded
   into the filter (``h^n conv z + b^n z = (h^n + b^n delta) conv z``) and ``1/2L`` into its
   spectrum (both written by the filter's padding pass), then
   :func:`~hyena_lab.kernels.gates.gate` ``z <- x^n * y[..., :L]`` reading ``y`` in place and
   writing the next step's padded float32 input ``(B, D, 2L)``, or, at the last step,
   ``(B, L, D)`` in ``u``'s dtype, what ``out_proj`` reads. Only the first step pads (and
   widens) ``v`` itself (:func:`~hyena_lab.kernels.long_conv.padded`, one pass). For the
   lengths the on-chip kernel supports (:func:`~hyena_lab.kernels.fftconv_sram.supported`:
   powers of two up to 4096) and with ``op.on_chip_fftconv = True``, the whole step, FFTs
   included, is one :func:`~hyena_lab.kernels.fftconv_sram.fftconv_fused` launch instead
   (``z`` then stays in ``u``'s dtype between steps, as in the eager layer); with
   ``op.long_fft = True`` and no gradient to compute, at the lengths it supports (32K to 512K),
   :func:`~hyena_lab.kernels.long_fft.fftconv_long` does the step in three passes (experimental);
   with ``op.half_fft = True`` and no gradient to compute, on CUDA at power-of-two lengths, the
   padded signal is float16, pre-scaled by :data:`~hyena_lab.kernels.long_conv.HALF_SCALE`
   (by the first padding pass, undone by the last gate), and the FFTs run in complex32
   (experimental: half the bytes of every transform and of the passes around them; float16
   overflows where a row's values sum past 65,504 after the pre-scale, which chapter 06's
   randomly initialised layer did at 128K and 256K, so the output is checked once and, if it
   is not finite, recomputed with the signal's pre-scale 16x lower, down to ``2^-16``, then
   in float32, with a warning; the scales that worked are kept for the next call at that
   length, :func:`half_scales`; the filters' pre-scale comes from a bound on their
   transforms, :func:`filter_prescale`, so they cannot overflow);
5. ``out_proj`` (cuBLAS).

Gradients flow through the kernels' own backward passes, the FFTs' and the linears'; the filter
parameters get theirs through ``op.filters``. The arithmetic is float32 throughout for half and
single precision inputs (float64 for float64), so in half precision the result is slightly
*more* accurate than the eager layer's, which rounds to half precision after every step.
"""

from __future__ import annotations

import math
import warnings

import torch
import torch.nn.functional as F

from ..checks import needs_grad
from ..filters import ImplicitFilter
from ..operator import HyenaOperator
from .fftconv_sram import fftconv_fused, supported
from .gates import gate
from .long_conv import HALF_SCALE, Decay, causal_conv_padded, padded
from .long_fft import fftconv_long
from .long_fft import supported as long_fft_supported
from .short_conv import short_conv_split, short_conv_split_padded

__all__ = ["HALF_BACKOFF", "HALF_FILTER_MAX", "HALF_MIN_SCALE", "filter_bank", "filter_prescale",
           "fused_core", "fused_forward", "half_scales"]


def _check_op(op: object) -> HyenaOperator:
    if not isinstance(op, HyenaOperator):
        raise TypeError(f"op must be a hyena_lab.operator.HyenaOperator, got {type(op).__name__}")
    return op


#: After a float16 overflow the half path retries with the signal's pre-scale this much lower
#: (:func:`half_scales`), down to :data:`HALF_MIN_SCALE`; then float32 transforms.
HALF_BACKOFF = 2.0**-4
#: The lowest pre-scale of the signal: a stored value ``s z`` under ``2^-14`` is a float16
#: subnormal, whose absolute spacing ``2^-24`` is an error of ``2^-24 / s`` in ``z``: ``2^-8``
#: at ``s = 2^-16``, about float16's own relative error for values of size 1; lower, errors
#: grow (``2^-4`` at ``2^-20``).
HALF_MIN_SCALE = 2.0**-16
#: The largest value of a filter's complex32 transform after its pre-scale: every partial sum
#: of ``sum_t h_t w^t`` is at most ``sum_t |h_t|`` in size, so a filter scaled to that size
#: at most ``2^14`` cannot overflow float16 (65,504), with room to spare for rounding.
HALF_FILTER_MAX = 2.0**14


def half_scales(op: HyenaOperator, L: int) -> tuple[float, float] | None:
    """The pre-scales ``(signal, filters)`` the half path used for ``op`` at length ``L``:
    ``None`` before its first call at ``L`` and once the transforms overflowed at every
    signal scale down to :data:`HALF_MIN_SCALE` (float32 transforms at that length from then
    on, for the rest of ``op``'s life: a kept scale, as a loss scaler keeps its scale)."""
    return getattr(op, "_half_scales", {}).get(L)


def filter_prescale(op: HyenaOperator, L: int) -> float:
    """The filters' pre-scale for their complex32 transforms: the largest power of two at most
    1 that brings the largest filter's size ``sum_t |h_t| + |b|`` (eq. (7)'s window applied,
    the skip term folded in) to at most :data:`HALF_FILTER_MAX`, a bound the transform's
    values cannot pass. One eager evaluation of the bank, made once per length."""
    if not op.n_filters:
        return 1.0
    with torch.no_grad():
        h = op.filters(L)  # (n_filters, D, L), windowed, in op's dtype (no float32 copy)
        sizes = h.abs().sum(-1, dtype=torch.float32) + op.bias.float().abs()  # (n_filters, D)
        size = sizes.max().item()
    if not math.isfinite(size):
        raise ValueError(f"op's filters at L = {L} are not finite (largest size {size})")
    return 2.0 ** min(0, math.floor(math.log2(HALF_FILTER_MAX / size))) if size else 1.0


def _core(op: HyenaOperator, u: torch.Tensor, transpose_out: bool) -> torch.Tensor:
    """``z^{N+1}`` of Definition 3.1 for ``u`` ``(B, L, D)``: ``(B, D, L)``, or ``(B, L, D)``
    with ``transpose_out``, in ``u``'s dtype.

    With half-precision transforms, the filters are pre-scaled from a bound
    (:func:`filter_prescale`: they cannot overflow) and the signal by :data:`HALF_SCALE`. The
    signal's values have no bound known before the pass that writes them, so an overflow (an
    inf or NaN in the output, flagged by the last gate) is caught instead: the call is
    recomputed with the filters' bound evaluated again (the weights may have changed) and the
    signal's pre-scale 16x lower, down to :data:`HALF_MIN_SCALE`, then with float32
    transforms, each time with a warning; what worked is kept for ``op``'s next call at that
    length (:func:`half_scales`)."""
    L = op.check_input(u)
    on_chip = _on_chip(op, u)
    three_pass = not on_chip and _long_fft(op, u)
    kept = op.__dict__.setdefault("_half_scales", {})
    if on_chip or three_pass or not _half_fft(op, u) or (L in kept and kept[L] is None):
        return _steps(op, u, transpose_out, on_chip, three_pass, None)
    scales = kept.get(L) or (HALF_SCALE, filter_prescale(op, L))
    while True:
        overflow = torch.zeros(1, dtype=torch.int32, device=u.device)
        z = _steps(op, u, transpose_out, False, False, scales, overflow)
        if not overflow.item():  # one int32 flag, one sync, no pass of its own
            kept[L] = scales
            return z
        lower = scales[0] * HALF_BACKOFF
        kept[L] = (lower, filter_prescale(op, L)) if lower >= HALF_MIN_SCALE else None
        then = ("recomputed with float32 transforms (kept for this length)" if kept[L] is None
                else f"recomputed with the pre-scales {kept[L][0]:.3g} (signal) and "
                f"{kept[L][1]:.3g} (filters)")  # fmt: skip
        warnings.warn(
            f"op.half_fft: the float16 transforms overflowed at L = {L} (a value over 65,504 "
            f"after the pre-scales {scales[0]:.3g} and {scales[1]:.3g}); {then}",
            RuntimeWarning, stacklevel=4,
        )  # fmt: skip
        if kept[L] is None:
            return _steps(op, u, transpose_out, False, False, None)
        scales = kept[L]


def _steps(
    op: HyenaOperator, u: torch.Tensor, transpose_out: bool, on_chip: bool, three_pass: bool,
    half: tuple[float, float] | None, overflow: torch.Tensor | None = None,
) -> torch.Tensor:  # fmt: skip
    """Algorithm 3 from ``in_proj`` to the last gate (:func:`_core`'s output). ``half``: the
    pre-scales ``(signal, filters)`` of the half-precision transforms, or ``None`` (float32);
    ``overflow`` the int32 flag the last gate sets on a non-finite output."""
    L = u.shape[1]
    compute = torch.float64 if u.dtype == torch.float64 else torch.float32
    scale, filter_scale = 1.0, 1.0
    if half is not None:  # the padded signal in float16, pre-scaled (kept scaled from pad to
        compute, (scale, filter_scale) = torch.float16, half  # the last gate)
    # forward only (no gradient): v padded by the short convolution, the window by the filter's
    # padding pass (both save a pass over a (B, D, L) or (n_filters, D, L) tensor)
    forward_only = _no_grad(op, u) and not (on_chip or three_pass)
    p = F.linear(u, op.in_proj.weight, op.in_proj.bias)  # (B, L, (N+1) D)
    conv = op.short_filter
    if forward_only and op.filter_of_step[0] is not None:  # v as the first FFT reads it
        xs, v = short_conv_split_padded(p, conv.weight, conv.bias, op.order + 1, compute, scale)
        x = xs.unbind(0)  # (B, D, L) each; v (B, D, 2L), scaled
    else:
        *x, v = short_conv_split(p, conv.weight, conv.bias, op.order + 1).unbind(0)  # (B, D, L)
    if op.n_filters:  # evaluated once for every step
        h, decays = filter_bank(op, L, window=not forward_only)  # (n_filters, D, L), Decay or None
    z = v  # z^1 = v, (B, D, L); (B, D, 2L) zero-padded for the FFT once a gate writes it so
    for step in range(op.order):  # Definition 3.1: z^{n+1} = x^n * (h^n conv z^n + b^n z^n)
        last = step == op.order - 1
        j = op.filter_of_step[step]
        if on_chip and j is not None:  # the whole gated convolution in one kernel, on chip
            z = fftconv_fused(z, h[j], op.bias[j], post_gate=x[step])  # (B, D, L), u's dtype
            z = z.transpose(1, 2) if last and transpose_out else z  # a view: out_proj copies
            continue
        if three_pass and j is not None:  # the gated convolution in three passes (long_fft)
            z = fftconv_long(z, h[j], op.bias[j], x[step], out_dtype=u.dtype)  # (B, D, L)
            z = z.transpose(1, 2) if last and transpose_out else z
            continue
        # what the next step reads: the padded float32 input of its FFT, or z as it is
        nxt = None if last else op.filter_of_step[step + 1]
        pad = nxt is not None and not (on_chip or three_pass)
        out = {
            "out_dtype": u.dtype if (last or not pad) else compute,
            "transpose_out": last and transpose_out,
            "pad_out": pad,
            "flag": overflow if last else None,
        }
        if j is None:  # S_h^1 = I: the gate alone (on the unscaled v; scaled if it pads)
            z = gate(None, z, x[step], scale=scale if pad else 1.0, **out)
            continue
        if z.shape[-1] != 2 * L:  # the first convolution: pad (and widen) z^n once
            z = padded(z, compute, scale)
        # the skip term folded into the filter: h^n conv z + b^n z = (h^n + b^n delta) conv z
        y = causal_conv_padded(z, h[j], op.bias[j], decays[j], filter_scale)  # (B, D, 2L)
        z = gate(y, None, x[step], scale=1.0 if pad else 1 / scale, **out)  # (B, D, 2L) padded,
        # still scaled, or (B, D, L) / (B, L, D) unscaled; the gate reads y[..., :L]
    return z


def filter_bank(
    op: HyenaOperator, L: int, window: bool = True
) -> tuple[torch.Tensor, list[Decay | None]]:
    """The filter bank ``(n_filters, D, L)`` (Algorithm 2) and each filter's :class:`Decay`:
    with ``window=False`` and an :class:`~hyena_lab.filters.ImplicitFilter` whose window is
    the last thing it applies (no ``normalize``), the bank before eq. (7)'s window and the
    window's parameters, for the filter's padding pass to apply (forward only); otherwise the
    bank itself and no decay."""
    f = op.filter
    fusable = isinstance(f, ImplicitFilter) and f.normalize is None and f.modulation.modulate
    if window or not fusable:
        return op.filters(L), [None] * op.n_filters
    f.check_length(L)
    pos, t = f.pos_emb(L)  # (L, emb_dim), (L, 1)
    h = f.ffn(pos).T.reshape(op.n_filters, op.d_model, L)  # (n_filters, D, L), unwindowed
    rates = f.modulation.deltas.abs().reshape(op.n_filters, op.d_model)  # (n_filters, D)
    return h, [Decay(t[:, 0], r, f.modulation.shift) for r in rates]


def _on_chip(op: HyenaOperator, u: torch.Tensor) -> bool:
    """Whether the long convolutions run on chip (:func:`~.fftconv_sram.fftconv_fused`: the
    FFT, the filter, the skip term and the gate of a step in one kernel): for the lengths it
    supports (powers of two up to 4096) and half/single precision, when ``op.on_chip_fftconv``
    is ``True``. Off by default: on the H200 (chapter 06's record) it took 0.95 of the cuFFT
    path's time forward at 1K and 2K but 1.31x at 4K, and its backward 2.0x-2.4x, so it is
    opt-in."""
    wanted = getattr(op, "on_chip_fftconv", False)
    L = u.shape[1]
    return bool(wanted) and supported(L) and u.dtype in (torch.float32, torch.bfloat16,
                                                          torch.float16)  # fmt: skip


def _long_fft(op: HyenaOperator, u: torch.Tensor) -> bool:
    """Whether the long convolutions run in three passes (:func:`~.long_fft.fftconv_long`,
    experimental): when ``op.long_fft`` is ``True`` (off by default: slower on the H200),
    for the lengths it supports (powers of two from 32K to 512K), half or single precision, and
    only where no gradient is needed (it is forward only); elsewhere the cuFFT path runs."""
    if not getattr(op, "long_fft", False):
        return False
    dtypes = (torch.float32, torch.bfloat16, torch.float16)
    return _no_grad(op, u) and long_fft_supported(u.shape[1]) and u.dtype in dtypes


def _no_grad(op: HyenaOperator, u: torch.Tensor) -> bool:
    """Whether ``op(u)`` needs no gradient (the forward-only paths may run)."""
    return not needs_grad(u, *op.parameters())


def _half_fft(op: HyenaOperator, u: torch.Tensor) -> bool:
    """Whether the long convolutions' transforms run in half precision (complex32, with the
    signal pre-scaled; :mod:`~.long_conv`): when ``op.half_fft`` is ``True`` (off by default,
    experimental), on CUDA (torch has no complex32 FFT on the CPU), for power-of-two lengths
    (cuFFT's half-precision transforms need them), half or single precision, and only where
    no gradient is needed (it is forward only); elsewhere the float32 path runs."""
    if not getattr(op, "half_fft", False):
        return False
    L = u.shape[1]
    dtypes = (torch.float32, torch.bfloat16, torch.float16)
    return _no_grad(op, u) and u.is_cuda and L & (L - 1) == 0 and u.dtype in dtypes


def fused_forward(op: HyenaOperator, u: torch.Tensor) -> torch.Tensor:
    """``op(u)`` computed with the fused kernels: ``(B, L, d_model) -> (B, L, d_model)``.

    The same function as :meth:`HyenaOperator.forward` (to round-off: float32 agrees to ~1e-6
    relative), differentiable in ``u`` and every parameter of ``op``. Needs Triton and a CUDA
    device, or ``TRITON_INTERPRET=1`` for CPU tensors (:func:`hyena_lab.kernels.require`).
    """
    op = _check_op(op)
    y = _core(op, u, transpose_out=True)  # (B, L, D), written transposed by the last gate
    return F.linear(y, op.out_proj.weight, op.out_proj.bias)  # (B, L, D)


def fused_core(op: HyenaOperator, u: torch.Tensor) -> torch.Tensor:
    """``op.core(u)`` (``y = z^{N+1}`` before ``out_proj``) with the fused kernels:
    ``(B, L, d_model) -> (B, d_model, L)`` in ``u``'s dtype."""
    return _core(_check_op(op), u, transpose_out=False)
