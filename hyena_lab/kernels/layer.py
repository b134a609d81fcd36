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
   with half-precision transforms (``op.half_fft``: by default for bfloat16 inputs, ``True``
   for float16 and float32 ones too; only where no gradient is needed, on CUDA, at
   power-of-two lengths), the padded signal is float16, pre-scaled (by the pass that pads it,
   undone by the next gate), and the FFTs run in complex32: half the bytes of every transform
   and of the passes around them. float16 holds at most 65,504 and loses bits under ``2^-14``,
   so the scales are tracked as FP8 training tracks its tensors' (delayed scaling): the
   filters' from a bound on their transforms (:func:`filter_prescale`: they cannot overflow),
   each step's signal from the largest value the passes measured in the call before
   (:func:`half_scales`); a call whose values overflowed or came out too small is computed
   again at once with better scales (:func:`_core`);
5. ``out_proj`` (cuBLAS).

Gradients flow through the kernels' own backward passes, the FFTs' and the linears'; the filter
parameters get theirs through ``op.filters``. The arithmetic is float32 throughout for half and
single precision inputs (float64 for float64), so in half precision the result is slightly
*more* accurate than the eager layer's, which rounds to half precision after every step.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

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

__all__ = [
    "F16_MAX", "HALF_BACKOFF", "HALF_BAND", "HALF_FILTER_MAX", "HALF_LOW", "HALF_MAX_SCALE",
    "HALF_MIN_SCALE", "HALF_RETRIES", "HALF_TARGET", "HalfScales", "filter_bank",
    "filter_prescale", "fused_core", "fused_forward", "half_scales",
]  # fmt: skip


def _check_op(op: object) -> HyenaOperator:
    if not isinstance(op, HyenaOperator):
        raise TypeError(f"op must be a hyena_lab.operator.HyenaOperator, got {type(op).__name__}")
    return op


#: The largest value of a complex32 transform by its bound: every partial sum of
#: ``sum_t a_t w^t`` is at most ``sum_t |a_t|`` in size, so a row whose sizes sum to at most
#: ``2^14`` cannot overflow float16 (65,504), with room to spare for rounding. The filters are
#: scaled to it (:func:`filter_prescale`); the signal's bound, ``L`` times its largest value
#: (measured), is kept near it (:data:`HALF_TARGET`). (The filtered signal has no useful bound:
#: chapter 06's filters sum to thousands at 64K. Its values are measured.)
HALF_FILTER_MAX = 2.0**14
#: float16's largest finite value.
F16_MAX = 65504.0
#: Where a rescale puts a step's size: the largest of the inverse transform's output (measured
#: by the gate that reads it) and of the signal's bound times ``HALF_TARGET / HALF_FILTER_MAX``
#: (the signal's largest value measured by the pass that pads it, before its rounding). At the
#: target the output is ``2^12``, 16x under :data:`F16_MAX` (room for the next input's values
#: and for cuFFT's partial sums, which no pass sees), and the forward transform within its
#: bound :data:`HALF_FILTER_MAX`.
HALF_TARGET = 2.0**12
#: A step's scale is kept while its size stays in this band, and changed for the next call (to
#: put it at :data:`HALF_TARGET`) once it leaves it: the same input twice gives the same
#: result, and activations that drift (training between calls) are followed.
HALF_BAND = (2.0**8, 2.0**14)
#: A step whose size is under this is computed again at once with its raised scale: its values
#: may have lost bits to float16's subnormals. At ``2^6`` or more, either the output reaches
#: ``2^6`` or the signal's largest value is at least ``2^6 * 4 / L >= 2^-12`` for ``L <= 2^20``,
#: above float16's smallest normal number (``2^-14``).
HALF_LOW = 2.0**6
#: After an overflow the step's pre-scale is lowered at least this much and the call computed
#: again (:func:`_lowered`), at most :data:`HALF_RETRIES` times per call.
HALF_BACKOFF = 2.0**-4
#: Overflows a call may recompute before it takes float32 transforms: an overflow the scales
#: cannot cure (a NaN or an infinity in the input) should not cost more than this.
HALF_RETRIES = 3
#: The pre-scales' range (activations of size ``2^52``, or ``2^-52``, would reach it): any
#: power of two is exact, and the scaled values are computed in float32 (up to ``2^128``)
#: before they are rounded, so only the measured sizes bound the precision (:data:`HALF_LOW`);
#: this only keeps the scales finite.
HALF_MIN_SCALE, HALF_MAX_SCALE = 2.0**-64, 2.0**64


class HalfScales(NamedTuple):
    """The half path's pre-scales at one length (:func:`half_scales`)."""

    signal: tuple[float, ...]  #: per step of Definition 3.1: the padded ``z^n`` is ``s_n z^n``
    filters: float  #: every filter's, from the bound of :func:`filter_prescale`


def half_scales(op: HyenaOperator, L: int) -> HalfScales | None:
    """The pre-scales the half path of ``op`` will use next at length ``L`` (``None`` before
    its first call at ``L``). Delayed scaling, as FP8 training scales its tensors from the
    sizes seen in earlier steps: each call measures every step's largest values as the passes
    that read or write them run, and a step's scale moves by a power of two when they leave
    :data:`HALF_BAND`."""
    return getattr(op, "_half_scales", {}).get(L)


def filter_prescale(op: HyenaOperator, L: int) -> float:
    """The filters' pre-scale for their complex32 transforms: the power of two that brings the
    largest filter's size ``sum_t |h_t| + |b|`` (eq. (7)'s window applied, the skip term folded
    in) to at most :data:`HALF_FILTER_MAX`, a bound the transform's values cannot pass, and
    more than half of it (small filters are scaled up, away from float16's subnormals; at most
    by :data:`HALF_MAX_SCALE`). One eager evaluation of the bank, made once per length."""
    if not op.n_filters:
        return 1.0
    with torch.no_grad():
        h = op.filters(L)  # (n_filters, D, L), windowed, in op's dtype (no float32 copy)
        sizes = h.abs().sum(-1, dtype=torch.float32) + op.bias.float().abs()  # (n_filters, D)
        size = sizes.max().item()
    if not math.isfinite(size):
        raise ValueError(f"op's filters at L = {L} are not finite (largest size {size})")
    return _power_of_two(HALF_FILTER_MAX / size) if size else 1.0


def _power_of_two(x: float) -> float:
    """The largest power of two at most ``x``, within the pre-scales' limits."""
    return min(max(2.0 ** math.floor(math.log2(x)), HALF_MIN_SCALE), HALF_MAX_SCALE)


def _core(op: HyenaOperator, u: torch.Tensor, transpose_out: bool) -> torch.Tensor:
    """``z^{N+1}`` of Definition 3.1 for ``u`` ``(B, L, D)``: ``(B, D, L)``, or ``(B, L, D)``
    with ``transpose_out``, in ``u``'s dtype.

    With half-precision transforms, the filters are pre-scaled from a bound
    (:func:`filter_prescale`: they cannot overflow) and each step's signal by a scale kept from
    the sizes the earlier calls measured (:func:`half_scales`; :data:`HALF_SCALE` at first).
    The passes measure each step's largest values as they run (the inverse transform's output,
    and the signal before its rounding; read back with the last gate's non-finite flag in one
    synchronisation), and the call is computed again, with scales from what was measured,
    when a transform overflowed or its values were so small that float16 may have lost bits
    (:data:`HALF_LOW`). Both are silent: the result returned is as accurate as any other.
    Where the output is still not finite after :data:`HALF_RETRIES` lowerings (a NaN or an
    infinity in ``u``), or is not finite with every transform finite (an output past float32's
    range), the call is computed with float32 transforms, with a warning."""
    L = op.check_input(u)
    on_chip = _on_chip(op, u)
    three_pass = not on_chip and _long_fft(op, u)
    if on_chip or three_pass or not _half_fft(op, u):
        return _steps(op, u, transpose_out, on_chip, three_pass, None)
    N = op.order
    convs = [n for n, j in enumerate(op.filter_of_step) if j is not None]  # steps with an FFT
    kept = op.__dict__.setdefault("_half_scales", {})
    scales = kept.get(L) or HalfScales((HALF_SCALE,) * N, filter_prescale(op, L))
    raised = overflowed = 0
    while True:
        stats = torch.zeros(2 * N + 1, dtype=torch.float32, device=u.device)
        z = _steps(op, u, transpose_out, False, False, scales, stats)
        stats = stats.tolist()  # one synchronisation
        outputs, signals, flag = stats[:N], stats[N : 2 * N], stats[2 * N]  # flag: int32 bits
        bad = [n for n in convs if not (outputs[n] <= F16_MAX and signals[n] <= F16_MAX)]
        if not (bad or flag):  # (inf and NaN fail <=)
            new, low = _rescaled(scales.signal, outputs, signals, L, convs)
            kept[L] = HalfScales(new, scales.filters)
            if low and raised < N:  # values too small: again, with the raised scales (each
                scales, raised = kept[L], raised + 1  # step's needs the one before it right)
                continue
            return z
        if not bad or overflowed == HALF_RETRIES:  # the output itself, or no scale helps
            break
        overflowed += 1
        n = bad[0]  # the first step that overflowed (the later ones inherit it)
        lowered = list(scales.signal)
        lowered[n] = _lowered(lowered[n], signals[n], L)
        scales = kept[L] = HalfScales(tuple(lowered), filter_prescale(op, L))
    warnings.warn(
        f"op.half_fft: the output at L = {L} is not finite with float16 transforms (pre-scales "
        f"{_fmt(scales)}, after {overflowed} lowering(s)); computed with float32 transforms",
        RuntimeWarning, stacklevel=4,
    )  # fmt: skip
    return _steps(op, u, transpose_out, False, False, None)


def _fmt(scales: HalfScales) -> str:
    signal = ", ".join(f"{s:.3g}" for s in scales.signal)
    return f"({signal}) (signal, per step) and {scales.filters:.3g} (filters)"


def _lowered(s: float, signal: float, L: int) -> float:
    """A step's scale after its transforms overflowed: at least :data:`HALF_BACKOFF` lower, and
    low enough that the signal's bound (``L`` times its largest value, measured before its
    rounding) is at most :data:`HALF_FILTER_MAX`, where its forward transform cannot overflow."""
    if 0 < signal < math.inf:
        return min(s * HALF_BACKOFF, _power_of_two(s * HALF_FILTER_MAX / (L * signal)))
    return _power_of_two(s * HALF_BACKOFF)


def _rescaled(signal: tuple[float, ...], outputs: list[float], signals: list[float], L: int,
              convs: list[int]) -> tuple[tuple[float, ...], bool]:  # fmt: skip
    """The next call's signal scales from this call's sizes (delayed scaling): a step whose
    size (:data:`HALF_TARGET`) left :data:`HALF_BAND` is moved by the power of two that puts it
    at :data:`HALF_TARGET`; and whether a step was under :data:`HALF_LOW` with room to rise. A
    step whose signal is all zeros keeps its scale."""
    new, low = list(signal), False
    for n in convs:
        m = max(outputs[n], signals[n] * L * HALF_TARGET / HALF_FILTER_MAX)
        if m > 0 and not HALF_BAND[0] <= m <= HALF_BAND[1]:
            new[n] = _power_of_two(signal[n] * HALF_TARGET / m)
            low = low or (m < HALF_LOW and new[n] > signal[n])
    return tuple(new), low


def _steps(
    op: HyenaOperator, u: torch.Tensor, transpose_out: bool, on_chip: bool, three_pass: bool,
    half: HalfScales | None, stats: torch.Tensor | None = None,
) -> torch.Tensor:  # fmt: skip
    """Algorithm 3 from ``in_proj`` to the last gate (:func:`_core`'s output). ``half``: the
    pre-scales of the half-precision transforms, or ``None`` (float32); ``stats`` the
    ``(2 order + 1,)`` float32 buffer the passes raise: each step's inverse transform's largest
    output, each step's signal's largest value before its rounding, then the last gate's
    non-finite flag (int32 bits)."""
    L = u.shape[1]
    compute = torch.float64 if u.dtype == torch.float64 else torch.float32
    signal, filter_scale = (1.0,) * op.order, 1.0
    if half is not None:  # the padded signal in float16, pre-scaled (step n's by signal[n],
        compute, (signal, filter_scale) = torch.float16, half  # from its pad to its gate)
    N = op.order  # stats: outputs' largest values per step, signals' per step, the flag
    flag = None if stats is None else stats[2 * N :].view(torch.int32)
    # forward only (no gradient): v padded by the short convolution, the window by the filter's
    # padding pass (both save a pass over a (B, D, L) or (n_filters, D, L) tensor)
    forward_only = _no_grad(op, u) and not (on_chip or three_pass)
    p = F.linear(u, op.in_proj.weight, op.in_proj.bias)  # (B, L, (N+1) D)
    conv = op.short_filter
    carried = 1.0  # the scale z carries now
    if forward_only and op.filter_of_step[0] is not None:  # v as the first FFT reads it
        first = None if stats is None else stats[N : N + 1]  # step 0's signal, unrounded
        xs, v = short_conv_split_padded(p, conv.weight, conv.bias, op.order + 1, compute,
                                        signal[0], first)  # fmt: skip
        x, carried = xs.unbind(0), signal[0]  # (B, D, L) each; v (B, D, 2L), scaled
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
        # this step's transform's output; the next step's signal, before its rounding
        amax = None if stats is None else stats[step : step + 1]
        amax_out = None if stats is None or not pad else stats[N + step + 1 : N + step + 2]
        out = {
            "out_dtype": u.dtype if (last or not pad) else compute,
            "transpose_out": last and transpose_out,
            "pad_out": pad,
            "flag": flag if last else None,
        }
        if j is not None:
            if z.shape[-1] != 2 * L:  # the first convolution: pad (and widen) z^n once
                z, carried = padded(z, compute, signal[step] / carried), signal[step]
            # the skip term folded into the filter: h^n conv z + b^n z = (h^n + b^n delta) conv z
            y = causal_conv_padded(z, h[j], op.bias[j], decays[j], filter_scale)  # (B, D, 2L)
            z = None  # the gate reads y[..., :L] (scaled like z) and, for S_h^1 = I, z itself
        else:
            y = None
        # to the next step's scale (padded), or unscaled (the last gate's output)
        rescale = signal[step + 1] / carried if pad else 1 / carried
        z = gate(y, z, x[step], scale=rescale, amax=amax if y is not None else None,
                 amax_out=amax_out, **out)  # fmt: skip
        carried = signal[step + 1] if pad else 1.0  # (B, D, 2L) padded and scaled, or
        # (B, D, L) / (B, L, D) unscaled
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
    signal pre-scaled; :mod:`~.long_conv`): on CUDA (torch has no complex32 FFT on the CPU),
    for power-of-two lengths (cuFFT's half-precision transforms need them), only where no
    gradient is needed (it is forward only), and for ``u``'s dtype as ``op.half_fft`` says:
    unset (or ``None``) for bfloat16 only, whose own rounding (``2^-9``) is coarser than
    float16's (``2^-11``), so its transforms in float16 keep the accuracy the input had;
    ``True`` for float16 and float32 too (a float32 input then gets a bfloat16-sized error);
    ``False`` never. Elsewhere the float32 path runs."""
    L = u.shape[1]
    return u.dtype in _half_dtypes(op) and u.is_cuda and L & (L - 1) == 0 and _no_grad(op, u)


def _half_dtypes(op: HyenaOperator) -> tuple[torch.dtype, ...]:
    """The input dtypes ``op.half_fft`` asks half-precision transforms for (:func:`_half_fft`)."""
    wanted = getattr(op, "half_fft", None)
    if wanted is None:
        return (torch.bfloat16,)
    return (torch.float32, torch.bfloat16, torch.float16) if wanted else ()


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
