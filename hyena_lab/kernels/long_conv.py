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
* both transforms are unnormalised and the ``1/2L`` is folded into the filter's spectrum
  ``H = rfft(h, 2L) / 2L``, ``D`` rows computed once per call instead of ``B D`` rows scaled;
* the backward pass is the adjoint, written out: for ``y = h conv z`` (circular, length
  ``N = 2L``, which is causal on the padded input) and ``g`` the gradient of ``y``::

      dz = irfft(rfft(g) . conj(H))          the anti-causal (flipped) convolution
      dh = irfft(sum_b conj(Z) . rfft(g))    the cross-correlation of z and g, over the batch

  one packed FFT of ``g``, one pass and an inverse FFT for ``dz``, one pass summing over the
  batch (:func:`~hyena_lab.kernels.spectral.cross_spectrum`) and a ``D``-row ``irfft`` for
  ``dh``; the forward pass saves ``z``'s packed spectrum (autograd would save it too).

Arithmetic in float32 for half/single inputs (float64 for float64): ``zp`` is float32 already
(the gate writes it so), and ``h`` is widened once. The FFTs are ``torch.fft`` (cuFFT on a GPU),
the two passes Triton kernels (the interpreter on a CPU, which is how the tests check it,
gradcheck in float64 included).
"""

from __future__ import annotations

import torch

from ..checks import check_float, check_ndim
from .spectral import cross_spectrum, filter_packed

__all__ = ["causal_conv_padded", "filter_spectrum"]


def filter_spectrum(h: torch.Tensor, n: int) -> torch.Tensor:
    """``rfft(h, n) / n`` ``(..., n // 2 + 1)``: the spectrum the unnormalised inverse needs,
    computed in float32 (float64 for float64 ``h``)."""
    wide = torch.float64 if h.dtype == torch.float64 else torch.float32
    return torch.fft.rfft(h.to(wide), n=n) / n


def _packed_fft(x: torch.Tensor) -> torch.Tensor:
    """``DFT_L`` of the real rows ``x`` ``(B, D, 2L)`` read as ``L`` complex numbers
    ``x[2n] + i x[2n+1]`` (a view, no copy): ``(B, D, L)`` complex, unnormalised."""
    B, D, n = x.shape
    return torch.fft.fft(torch.view_as_complex(x.contiguous().view(B, D, n // 2, 2)))


def _packed_ifft(q: torch.Tensor) -> torch.Tensor:
    """The real rows ``(B, D, 2L)`` whose packed spectrum is ``q`` (unnormalised inverse)."""
    B, D, L = q.shape
    return torch.view_as_real(torch.fft.ifft(q, norm="forward")).view(B, D, 2 * L)


class _CausalConvPadded(torch.autograd.Function):
    @staticmethod
    def forward(ctx, zp, h):
        n = zp.shape[-1]
        h_f = filter_spectrum(h.to(zp.dtype), n)  # (D, L + 1), zp's precision, 1/N folded in
        c = _packed_fft(zp)  # (B, D, L): the length-2L real DFT, packed
        y = _packed_ifft(filter_packed(c, h_f))  # (B, D, 2L)
        ctx.save_for_backward(c, h_f)
        ctx.h_dtype, ctx.L = h.dtype, h.shape[-1]
        return y

    @staticmethod
    def backward(ctx, g):
        c, h_f = ctx.saved_tensors
        n = g.shape[-1]
        c_g = _packed_fft(g.to(c.real.dtype))  # (B, D, L): the gradient's spectrum, packed
        d_zp = d_h = None
        if ctx.needs_input_grad[0]:  # the adjoint: the anti-causal convolution with h
            d_zp = _packed_ifft(filter_packed(c_g, h_f, conj=True))  # (B, D, 2L)
        if ctx.needs_input_grad[1]:  # cross-correlation of z and g, summed over the batch
            s = cross_spectrum(c, c_g)  # (D, L + 1)
            d_h = torch.fft.irfft(s, n=n)[..., : ctx.L].to(ctx.h_dtype)  # (D, L)
        return d_zp, d_h


def causal_conv_padded(zp: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """``y = h conv z`` for ``z`` given zero-padded to twice its length.

    Args:
        zp: ``(B, D, 2L)`` float32 (or float64), ``z`` in ``[..., :L]`` and zeros in
            ``[..., L:]`` (the zeros are what make the length-``2L`` circular convolution
            causal, Sec. 2.1; they are the caller's promise, not checked: reading them would
            cost the pass this function exists to save).
        h: ``(D, L)`` filters, any float dtype (widened once).

    Returns:
        ``(B, D, 2L)`` in ``zp``'s dtype: ``y[..., :L]`` is the causal convolution, what
        :func:`hyena_lab.fftconv` computes without its bias; ``y[..., L:]`` is the wrap-around
        the caller ignores (the gate reads ``[..., :L]`` in place). Differentiable in ``zp`` and
        ``h``.
    """
    check_float(zp, "zp")
    check_float(h, "h")
    check_ndim(zp, "zp", 3, "(batch, d_model, 2 * seq_len)")
    check_ndim(h, "h", 2, "(d_model, seq_len)")
    if zp.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"zp must be float32 or float64 (the padded FFT input), got {zp.dtype}")
    D, L = h.shape
    if zp.shape[1:] != (D, 2 * L):
        raise ValueError(
            f"zp must have shape (batch, d_model, 2 * seq_len) = (B, {D}, {2 * L}) for filters h "
            f"(d_model, seq_len) = {tuple(h.shape)}, got {tuple(zp.shape)}"
        )
    if zp.device != h.device:
        raise ValueError(f"h is on {h.device} but zp is on {zp.device}")
    return _CausalConvPadded.apply(zp, h)
