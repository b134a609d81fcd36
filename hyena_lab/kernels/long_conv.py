"""The long convolution of the fused layer: ``h^n * z^n`` through cuFFT with no pass the maths
does not need, and its adjoint written out (Sec. 3.1; chapter 06).

``torch.fft.irfft(torch.fft.rfft(z, n=2L) * H, n=2L)``, as the eager layer writes it, makes
passes over device memory that are not part of the convolution: ``rfft(z, n=2L)`` first writes
a zero-padded copy of ``z``; the product is a pass of its own; ``irfft`` copies its input
(cuFFT's ``C2R`` overwrites it) and multiplies its whole ``(B, D, 2L)`` output by ``1/2L``; the
real transforms pack and unpack their spectra in kernels of their own; and autograd's backward
of ``rfft(., n=2L)`` builds a two-sided zero-padded complex gradient. Here:

* the input arrives already padded, ``zp`` ``(B, D, 2L)`` with zeros in ``[L, 2L)``, written
  that way by the kernel that produced it (:func:`hyena_lab.kernels.gates.gate` with
  ``pad_out=True``);
* a length-``2L`` real row is ``L`` complex numbers (a view), so each transform is one complex
  FFT of length ``L``, and the unpacking, the filter product and the repacking for the inverse
  are ONE pass (:func:`~hyena_lab.kernels.spectral.filter_packed`);
* both transforms are unnormalised, and the ``1/2L`` and the skip term (``h conv z + b z =
  (h + b delta) conv z``) are folded into the filter's spectrum, computed the same way: one
  padding pass writes ``(h + b delta) / 2L`` zero-padded in float32 (reading the implicit
  filter's transposed ``(D, L)`` view through its strides), one packed complex FFT of ``D``
  rows, read packed by :func:`~hyena_lab.kernels.spectral.filter_packed`: ``D`` rows once per
  call instead of ``B D`` rows scaled, and none of ``rfft(h, n=2L) / 2L``'s copy, padding,
  unpacking and scaling passes;
* the backward pass is the adjoint, written out: for ``y = h conv z`` (circular, length
  ``N = 2L``, which is causal on the padded input) and ``g`` the gradient of ``y``::

      dz = irfft(rfft(g) . conj(H))          the anti-causal (flipped) convolution
      dh = irfft(sum_b conj(Z) . rfft(g))    the cross-correlation of z and g, over the batch

  one packed FFT of ``g``, one pass and an inverse FFT for ``dz``, one pass summing over the
  batch (:func:`~hyena_lab.kernels.spectral.cross_spectrum`) and a ``D``-row ``irfft`` for
  ``dh`` (whose first tap is also ``db``); the forward pass saves ``z``'s packed spectrum
  (autograd would save it too).

Arithmetic in float32 for half/single inputs (float64 for float64): ``zp`` is float32 already
(the gate writes it so), and ``h`` is widened once.

**Half-precision transforms** (forward only, CUDA, power-of-two ``L``; what ``op.half_fft``
of :func:`~hyena_lab.kernels.layer.fused_forward` uses): a float16 ``zp`` is transformed by
cuFFT in complex32, which moves half the bytes of complex64, and
:func:`~hyena_lab.kernels.spectral.filter_packed` reads and writes the spectrum in half
precision (computing in float32). The filter's spectrum is complex32 too, of the filter padded
in float16 without the ``1/2L`` (applied by the spectral pass in float32). float16 holds
at most 65,504: the spectrum of ``L`` samples of size ``a`` reaches ``L a``, so the caller
scales the signal down first (:data:`HALF_SCALE`) and back up after the gate.

The FFTs are ``torch.fft`` (cuFFT on a GPU), the passes around them Triton kernels (the
interpreter on a CPU, which is how the tests check them, gradcheck in float64 included).
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import torch
import triton
import triton.language as tl

from ..checks import check_float, check_ndim, check_scale, needs_grad
from . import block_size, empty, grid, require
from .spectral import cross_spectrum, filter_packed

__all__ = ["HALF_SCALE", "Decay", "causal_conv_padded", "padded"]

#: The pre-scale of a float16 ``zp`` (the half-precision path): ``2^-8``. With it the packed
#: spectrum of a row of mean-10 samples stays under float16's 65,504 up to 1M samples
#: (2^-8 * 2^19 * 10 ~ 20,000); unscaled, mean-1 rows overflow from 64K. Chapter 06's
#: half-precision record checks both (``06_fft_matmul-gpu_half_fft.json``). It is only where
#: the layer starts at a new length: from then on each step's scale follows the sizes its
#: passes measured (:func:`~hyena_lab.kernels.layer.half_scales`), down for rows whose values
#: grow with ``L``, up for small activations, whose values would otherwise become float16
#: subnormals once scaled (under ``2^-6`` at this scale) and lose bits silently.
HALF_SCALE = 2.0**-8


class Decay(NamedTuple):
    """Eq. (7)'s decay window ``exp(-rate[d] t) + shift`` for the filter's padding pass to apply
    (:func:`causal_conv_padded`'s ``decay``): the window's element-wise passes over the whole
    ``(D, L)`` bank (a product, an exponential, a sum and the filter's product, in eager
    ``torch``) become part of a pass the filter makes anyway. The values are those of
    :class:`~hyena_lab.filters.ExponentialModulation`, computed in float32 (float64 for float64)."""

    t: torch.Tensor  #: ``(L,)`` the positions (``PositionalEncoding.t``, from 0 to 1)
    rate: torch.Tensor  #: ``(D,)`` the decay rates ``|delta_d|``, one per channel
    shift: float  #: added to the exponential


#: Tile of the padding kernel: 32 channels x 128 times, 4 warps.
BLOCK_D, BLOCK_L, NUM_WARPS = 32, 128, 4


# ------------------------------------------------------------------------------ the padding
@triton.jit
def _pad_kernel(
    z_ptr, bias_ptr, t_ptr, rate_ptr, shift_ptr, out_ptr,  # z (B, D, L) any strides; bias,
    L, D, stride_zb, stride_zd, stride_zl, stride_t, scale,  # rate (D,); t (L,); shift (1,);
    # out (B, D, 2L) contiguous
    HAS_BIAS: tl.constexpr, WINDOW: tl.constexpr, ACC: tl.constexpr,
    BLOCK_D: tl.constexpr, BLOCK_L: tl.constexpr,
):  # fmt: skip
    pid_l, pid_d, b = tl.program_id(0), tl.program_id(1), tl.program_id(2).to(tl.int64)
    d = pid_d * BLOCK_D + tl.arange(0, BLOCK_D)  # (BLOCK_D,)
    t = pid_l * BLOCK_L + tl.arange(0, BLOCK_L)  # (BLOCK_L,)
    ok = (d < D)[:, None] & (t < L)[None, :]  # (BLOCK_D, BLOCK_L)
    z = tl.load(z_ptr + b * stride_zb + d[:, None] * stride_zd + t[None, :] * stride_zl,
                mask=ok, other=0.0).to(ACC)  # fmt: skip
    if WINDOW:  # eq. (7)'s decay window on a filter: h[d, t] (exp(-rate[d] pos[t]) + shift)
        pos = tl.load(t_ptr + t * stride_t, mask=t < L, other=0.0).to(ACC)
        rate = tl.load(rate_ptr + d, mask=d < D, other=0.0).to(ACC)
        shift = tl.load(shift_ptr).to(ACC)  # a tensor: a float argument would be float32
        z *= tl.exp(-(rate[:, None] * pos[None, :])) + shift
    if HAS_BIAS:  # the skip term as a filter tap: (h + b delta)[t] = h[t] + b [t == 0]
        bias = tl.load(bias_ptr + d, mask=d < D, other=0.0).to(ACC)
        z += tl.where((t == 0)[None, :], bias[:, None], 0.0)
    o = out_ptr + (b * D + d[:, None]) * 2 * L + t[None, :]
    tl.store(o, (z * scale).to(out_ptr.dtype.element_ty), mask=ok)
    tl.store(o + L, tl.zeros((BLOCK_D, BLOCK_L), dtype=out_ptr.dtype.element_ty), mask=ok)


def _launch_pad(z: torch.Tensor, bias: torch.Tensor | None, dtype: torch.dtype,
                scale: float, decay: Decay | None = None) -> torch.Tensor:  # fmt: skip
    B, D, L = z.shape
    out = empty((B, D, 2 * L), dtype, z.device)
    acc = tl.float64 if torch.float64 in (z.dtype, dtype) else tl.float32
    bd, bl = block_size(D, BLOCK_D), block_size(L, BLOCK_L)
    if decay is None:  # pointers the kernel does not read
        t = rate = shift = z[0, 0]
    else:  # the shift as a one-element tensor, read at full precision (float64 for float64)
        t, rate = decay.t, decay.rate
        wide = torch.float64 if acc == tl.float64 else torch.float32
        shift = torch.full((1,), decay.shift, dtype=wide, device=z.device)
    _pad_kernel[grid(triton.cdiv(L, bl), triton.cdiv(D, bd), B)](
        z, z if bias is None else bias, t, rate, shift, out, L, D, *z.stride(), t.stride(0),
        scale, HAS_BIAS=bias is not None, WINDOW=decay is not None, ACC=acc,
        BLOCK_D=bd, BLOCK_L=bl, num_warps=NUM_WARPS,
    )  # fmt: skip
    return out


class _Padded(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z, dtype, scale):
        ctx.z_dtype, ctx.scale = z.dtype, scale
        return _launch_pad(z, None, dtype, scale)

    @staticmethod
    def backward(ctx, g):
        return (g[..., : g.shape[-1] // 2] * ctx.scale).to(ctx.z_dtype), None, None


def padded(z: torch.Tensor, dtype: torch.dtype, scale: float = 1.0) -> torch.Tensor:
    """``z`` ``(B, D, L)`` (any strides, any float dtype) as ``(B, D, 2L)`` in ``dtype``:
    ``scale z`` in ``[..., :L]`` and zeros in ``[..., L:]``, the zero-padded input of a causal
    FFT convolution (Sec. 2.1), in one pass. Differentiable in ``z``."""
    check_float(z, "z")
    check_ndim(z, "z", 3, "(batch, d_model, seq_len)")
    check_scale(scale)
    require(z.device)
    return _Padded.apply(z, dtype, float(scale))


# --------------------------------------------------------------------- the FFTs around it
def _packed_fft(x: torch.Tensor) -> torch.Tensor:
    """``DFT_L`` of the real rows ``x`` ``(B, D, 2L)`` read as ``L`` complex numbers
    ``x[2n] + i x[2n+1]`` (a view, no copy): ``(B, D, L)`` complex, unnormalised."""
    B, D, n = x.shape
    return torch.fft.fft(torch.view_as_complex(x.contiguous().view(B, D, n // 2, 2)))


def _packed_ifft(q: torch.Tensor) -> torch.Tensor:
    """The real rows ``(B, D, 2L)`` whose packed spectrum is ``q`` (unnormalised inverse)."""
    B, D, L = q.shape
    return torch.view_as_real(torch.fft.ifft(q, norm="forward")).view(B, D, 2 * L)


def _spectrum(h: torch.Tensor, bias: torch.Tensor | None, wide: torch.dtype,
              decay: Decay | None = None) -> torch.Tensor:  # fmt: skip
    """The packed spectrum of ``(h + b delta) / 2L`` zero-padded to ``2L`` (``h`` windowed
    first by ``decay``): ``(D, L)`` complex in ``wide``'s precision, from one padding pass and
    one FFT of ``D`` rows."""
    n = 2 * h.shape[-1]
    if wide == torch.float64:  # a kernel's float argument is float32: scale in float64 here
        return _packed_fft(_launch_pad(h[None], bias, wide, 1.0, decay))[0] / n
    return _packed_fft(_launch_pad(h[None], bias, wide, 1.0 / n, decay))[0]  # (D, L)


def _forward_only(zp: torch.Tensor, h: torch.Tensor, bias: torch.Tensor | None,
                  decay: Decay | None, filter_scale: float = 1.0) -> torch.Tensor:  # fmt: skip
    """The forward pass without autograd (nothing saved). For a float16 ``zp`` every transform
    is complex32, the filter's too: its rows are padded in float16 scaled by ``filter_scale``
    only (``1/2L`` would make small taps subnormal) and the spectral pass applies
    ``1 / (2L filter_scale)`` in float32."""
    if zp.dtype != torch.float16:
        return _packed_ifft(filter_packed(_packed_fft(zp), _spectrum(h, bias, zp.dtype, decay)))
    with warnings.catch_warnings():  # torch calls complex32 "experimental" on every use
        warnings.filterwarnings("ignore", message="ComplexHalf support is experimental")
        h_f = _packed_fft(_launch_pad(h[None], bias, torch.float16, filter_scale, decay))[0]
        q = filter_packed(_packed_fft(zp), h_f, h_scale=1 / (zp.shape[-1] * filter_scale))
        return _packed_ifft(q)  # (B, D, 2L) float16; h_f (D, L) and q (B, D, L) complex32


class _CausalConvPadded(torch.autograd.Function):
    @staticmethod
    def forward(ctx, zp, h, bias):
        h_f = _spectrum(h, bias, zp.dtype)  # (D, L) packed, 1/N folded in
        c = _packed_fft(zp)  # (B, D, L): the length-2L real DFT, packed
        y = _packed_ifft(filter_packed(c, h_f))  # (B, D, 2L)
        ctx.save_for_backward(c, h_f)
        ctx.h_dtype, ctx.L, ctx.has_bias = h.dtype, h.shape[-1], bias is not None
        return y

    @staticmethod
    def backward(ctx, g):
        c, h_f = ctx.saved_tensors
        n = g.shape[-1]
        c_g = _packed_fft(g.to(c.real.dtype))  # (B, D, L): the gradient's spectrum, packed
        d_zp = d_h = d_b = None
        if ctx.needs_input_grad[0]:  # the adjoint: the anti-causal convolution with h
            d_zp = _packed_ifft(filter_packed(c_g, h_f, conj=True))  # (B, D, 2L)
        if ctx.needs_input_grad[1] or ctx.needs_input_grad[2]:  # cross-correlation of z and g
            s = cross_spectrum(c, c_g)  # (D, L + 1), summed over the batch
            d_hb = torch.fft.irfft(s, n=n)[..., : ctx.L]  # (D, L): the gradient of h + b delta
            d_h = d_hb.to(ctx.h_dtype) if ctx.needs_input_grad[1] else None
            d_b = d_hb[:, 0].to(ctx.h_dtype) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return d_zp, d_h, d_b


def causal_conv_padded(
    zp: torch.Tensor, h: torch.Tensor, bias: torch.Tensor | None = None,
    decay: Decay | None = None, filter_scale: float = 1.0,
) -> torch.Tensor:  # fmt: skip
    """``y = h conv z + b z`` for ``z`` given zero-padded to twice its length.

    Args:
        zp: ``(B, D, 2L)`` float32 (or float64; or float16 on CUDA for a power-of-two ``L``
            and no gradient: the half-precision transforms of the module docstring, ``z``
            pre-scaled by the caller), ``z`` in ``[..., :L]`` and zeros in
            ``[..., L:]`` (the zeros are what make the length-``2L`` circular convolution
            causal, Sec. 2.1; they are the caller's promise, not checked: reading them would
            cost the pass this function exists to save).
        h: ``(D, L)`` filters, any float dtype and strides (widened once).
        bias: ``(D,)``, the skip term ``b`` (folded into the filter as ``b delta``), or
            ``None``.
        decay: a :class:`Decay`: ``h`` is the filter before eq. (7)'s window, which the
            filter's padding pass applies (forward only: no gradient); or ``None``.
        filter_scale: a float16 ``zp`` only: the filter's pre-scale in its complex32 transform
            (whose values reach the sum of the taps' sizes, which float16 caps at 65,504),
            undone in float32 by the spectral pass; :func:`~.layer.fused_forward` sets it
            from a bound on the transform (:func:`~.layer.filter_prescale`).

    Returns:
        ``(B, D, 2L)`` in ``zp``'s dtype: ``y[..., :L]`` is the causal convolution, what
        :func:`hyena_lab.fftconv` computes (with ``bias``, its skip term); ``y[..., L:]`` is
        the wrap-around the caller ignores (the gate reads ``[..., :L]`` in place).
        Differentiable in ``zp``, ``h`` and ``bias``.
    """
    check_float(zp, "zp")
    check_float(h, "h")
    check_ndim(zp, "zp", 3, "(batch, d_model, 2 * seq_len)")
    check_ndim(h, "h", 2, "(d_model, seq_len)")
    if zp.dtype not in (torch.float32, torch.float64, torch.float16):
        raise TypeError(f"zp must be float32, float64 or float16 (the padded FFT input), got "
                        f"{zp.dtype}")  # fmt: skip
    D, L = h.shape
    if zp.shape[1:] != (D, 2 * L):
        raise ValueError(
            f"zp must have shape (batch, d_model, 2 * seq_len) = (B, {D}, {2 * L}) for filters h "
            f"(d_model, seq_len) = {tuple(h.shape)}, got {tuple(zp.shape)}"
        )
    if zp.device != h.device:
        raise ValueError(f"h is on {h.device} but zp is on {zp.device}")
    if bias is not None:
        check_float(bias, "bias")
        if bias.shape != (D,) or bias.device != zp.device:
            raise ValueError(f"bias must be ({D},) on {zp.device}, got {tuple(bias.shape)} on "
                             f"{bias.device}")  # fmt: skip
    if decay is not None:
        _check_decay(decay, zp, h, bias)
    require(zp.device)
    check_scale(filter_scale, "filter_scale")
    if zp.dtype == torch.float16:
        _check_half(zp, h, bias)
    elif filter_scale != 1.0:
        raise ValueError(f"filter_scale is for a float16 zp (the half-precision transforms), "
                         f"got {filter_scale} with {zp.dtype}")  # fmt: skip
    if zp.dtype == torch.float16 or decay is not None:
        return _forward_only(zp, h, bias, decay, filter_scale)
    return _CausalConvPadded.apply(zp, h, bias)


def _check_decay(decay: Decay, zp: torch.Tensor, h: torch.Tensor,
                 bias: torch.Tensor | None) -> None:  # fmt: skip
    """What a :class:`Decay` needs: ``t`` ``(L,)`` and ``rate`` ``(D,)`` on ``h``'s device, a
    finite ``shift``, and no gradient (the window is applied by a forward-only pass)."""
    D, L = h.shape
    if not isinstance(decay, Decay):
        raise TypeError(f"decay must be a hyena_lab.kernels.long_conv.Decay, got "
                        f"{type(decay).__name__}")  # fmt: skip
    check_float(decay.t, "decay.t")
    check_float(decay.rate, "decay.rate")
    if decay.t.shape != (L,) or decay.rate.shape != (D,):
        raise ValueError(f"decay.t must be ({L},) and decay.rate ({D},) for filters h {(D, L)}, "
                         f"got {tuple(decay.t.shape)} and {tuple(decay.rate.shape)}")  # fmt: skip
    if decay.t.device != h.device or decay.rate.device != h.device:
        raise ValueError(f"decay's tensors must be on {h.device}, as h is")
    if not (isinstance(decay.shift, int | float) and math.isfinite(decay.shift)):
        raise ValueError(f"decay.shift must be a finite number, got {decay.shift!r}")
    if needs_grad(zp, h, bias, decay.t, decay.rate):
        raise ValueError("decay is forward only (the window is applied by the filter's padding "
                         "pass, which has no backward): call it under torch.no_grad(), or pass "
                         "the windowed filter")  # fmt: skip


def _check_half(zp: torch.Tensor, h: torch.Tensor, bias: torch.Tensor | None) -> None:
    """What a float16 ``zp`` needs: cuFFT's complex32 transforms (CUDA, power-of-two lengths)
    and no gradient (the half-precision path is forward only)."""
    L = h.shape[-1]
    if zp.device.type != "cuda" or L & (L - 1):
        raise ValueError(
            f"a float16 zp needs a CUDA device and a power-of-two length (cuFFT's complex32 "
            f"transforms; torch has none on the CPU), got {zp.device.type} and L = {L}"
        )
    if needs_grad(zp, h, bias):
        raise ValueError("a float16 zp is forward only: call it under torch.no_grad(), or pass "
                         "float32 for gradients")  # fmt: skip
