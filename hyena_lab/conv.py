"""Causal long convolutions (paper Section 2.1): by definition, as a Toeplitz matrix, and by FFT.

A causal convolution of an input ``u`` with a filter ``h`` of the same length ``L`` is

    y[t] = sum_{s=0}^{t} h[t - s] u[s]          (+ bias * u[t], the skip term of Sec. 3.1)

and all three functions below compute exactly this, per channel:

* :func:`direct_conv` follows the definition, lag by lag: O(L^2) time, O(L) memory.
* :func:`toeplitz` writes the same map as a lower-triangular Toeplitz matrix ``S_h`` with
  ``S_h[t, s] = h[t - s]`` for ``t >= s`` (paper Sec. 3.2), so that ``y = S_h u``.
* :func:`fftconv` uses the convolution theorem in O(L log L): both signals are zero-padded to
  ``2L`` so that the *circular* convolution computed by the FFT equals the *linear* one on the
  first ``L`` outputs (no wrap-around of the tail of ``h * u`` onto its head).

Shapes follow the official code: channels before time, ``u`` is ``(..., d, L)`` and the filter
``k`` is ``(d, L)`` (shared over the batch) or ``(..., d, L)`` (broadcast against ``u``).
"""

from __future__ import annotations

import torch

from .checks import check_float, check_min_ndim

__all__ = ["circular_fftconv", "direct_conv", "fftconv", "toeplitz"]


def _check_conv_args(
    u: torch.Tensor, k: torch.Tensor, bias: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.dtype]:
    """Validate ``(u, k, bias)`` of a causal convolution; return them in one common dtype."""
    check_float(u, "u")
    check_float(k, "k")
    check_min_ndim(u, "u", 2, "(..., d, L)")
    check_min_ndim(k, "k", 2, "(d, L) or (..., d, L)")
    d, L = u.shape[-2], u.shape[-1]
    if k.shape[-1] != L:
        raise ValueError(
            f"filter length must equal the input length: u has L={L} (shape {tuple(u.shape)}) "
            f"but k has length {k.shape[-1]} (shape {tuple(k.shape)}); evaluate the filter at L={L}"
        )
    if k.shape[-2] != d:
        raise ValueError(
            f"filter channels must equal the input channels: u has d={d} (shape "
            f"{tuple(u.shape)}) but k has {k.shape[-2]} channels (shape {tuple(k.shape)})"
        )
    try:
        torch.broadcast_shapes(u.shape, k.shape)
    except RuntimeError as err:
        raise ValueError(
            f"leading dims of k {tuple(k.shape[:-2])} do not broadcast against those of u "
            f"{tuple(u.shape[:-2])}"
        ) from err
    dtype = torch.promote_types(u.dtype, k.dtype)
    if bias is not None:
        check_float(bias, "bias")
        if bias.shape != (d,):
            raise ValueError(f"bias must have shape (d,) = ({d},), got {tuple(bias.shape)}")
        dtype = torch.promote_types(dtype, bias.dtype)
        bias = bias.to(dtype)
    return u.to(dtype), k.to(dtype), bias, dtype


def _add_skip(y: torch.Tensor, u: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """The per-channel skip term ``bias * u`` (the ``D`` of SSMs, the filter bias of Hyena)."""
    return y if bias is None else y + bias[:, None] * u


def direct_conv(
    u: torch.Tensor, k: torch.Tensor, bias: torch.Tensor | None = None
) -> torch.Tensor:
    """Causal convolution by its definition, ``y[t] = sum_{j<=t} k[j] u[t-j] + bias * u[t]``.

    The reference that every fast path is checked against: a loop over the ``L`` lags, each a
    shifted multiply-add over the whole batch. O(L^2) work, O(L) extra memory.

    Args:
        u: input, ``(..., d, L)``.
        k: filter, ``(d, L)`` or broadcastable ``(..., d, L)``.
        bias: optional skip term, ``(d,)``.

    Returns:
        ``(..., d, L)`` in the promoted dtype of the inputs.
    """
    u, k, bias, _ = _check_conv_args(u, k, bias)
    L = u.shape[-1]
    y = torch.zeros(torch.broadcast_shapes(u.shape, k.shape), dtype=u.dtype, device=u.device)
    for j in range(L):  # lag j: output t receives k[j] * u[t - j] for every t >= j
        y[..., j:] += k[..., j : j + 1] * u[..., : L - j]
    return _add_skip(y, u, bias)


def toeplitz(k: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """The lower-triangular Toeplitz matrix ``S_h`` of a filter (paper Sec. 3.2).

    ``S_h[..., t, s] = k[..., t - s]`` for ``t >= s`` and 0 above the diagonal, so that
    ``toeplitz(k) @ u == direct_conv(u, k)`` for a 1-D ``u``. With ``bias`` (shape
    ``k.shape[:-1]``) the skip term is added on the diagonal: ``S_h + diag(bias)``.

    Args:
        k: filter ``(L,)`` or a stack of filters ``(..., L)``.
        bias: optional skip term, one per filter, ``k.shape[:-1]``.

    Returns:
        ``(..., L, L)``.
    """
    check_float(k, "k")
    check_min_ndim(k, "k", 1, "(L,) or (..., L)")
    L = k.shape[-1]
    lag = torch.arange(L, device=k.device)[:, None] - torch.arange(L, device=k.device)[None, :]
    S = k[..., lag.clamp(min=0)] * (lag >= 0).to(k.dtype)  # (..., L, L)
    if bias is not None:
        check_float(bias, "bias")
        if bias.shape != k.shape[:-1]:
            raise ValueError(
                f"bias must have one value per filter, shape {tuple(k.shape[:-1])}, "
                f"got {tuple(bias.shape)}"
            )
        S = S + torch.diag_embed(bias.to(S.dtype)[..., None].expand(*bias.shape, L))
    return S


def fftconv(u: torch.Tensor, k: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Causal long convolution in O(L log L) by the convolution theorem.

    ``y = irfft(rfft(u, 2L) * rfft(k, 2L))[..., :L] + bias * u``. Padding to ``2L`` makes the
    circular convolution of the FFT equal to the linear (causal) one on the first ``L`` outputs;
    see :func:`circular_fftconv` for what goes wrong without it. Works for any ``L >= 1``
    (odd, prime, 1). Half-precision inputs are computed in float32 and cast back, since the FFT
    of ``torch`` does not accept them on every device.

    **Causal in exact arithmetic, not in floating point.** Every FFT bin mixes every position,
    so round-off of the size of the *whole* signal, future included, reaches every output:
    ``||fftconv(u, k) - y_exact|| <= (2 e + 3 eps)(||k||_1 ||u||_2 + ||u||_1 ||k||_2)`` with
    ``e = 7 log2(2L) eps`` (:func:`hyena_lab.checks.fftconv_error_bound`). A value of 1e6 late
    in a float32 sequence of O(1) values therefore moves earlier outputs by up to ~1e6 * 1e-6,
    i.e. O(1). And a non-finite value (NaN or inf) anywhere in ``u`` or ``k`` makes *every*
    output non-finite, before it too; :func:`direct_conv` keeps the outputs before it finite.
    Check inputs with ``torch.isfinite(u).all()`` where that matters; the tests check this
    contract and the bound.

    Args:
        u: input, ``(..., d, L)``.
        k: filter, ``(d, L)`` or broadcastable ``(..., d, L)``.
        bias: optional skip term, ``(d,)``.

    Returns:
        ``(..., d, L)``, same dtype as the (promoted) inputs.
    """
    u, k, bias, dtype = _check_conv_args(u, k, bias)
    L = u.shape[-1]
    n = 2 * L
    compute = torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype
    u_f = torch.fft.rfft(u.to(compute), n=n)  # (..., d, L + 1)
    k_f = torch.fft.rfft(k.to(compute), n=n)  # (d, L + 1)
    y = torch.fft.irfft(u_f * k_f, n=n)[..., :L]  # (..., d, L)
    return _add_skip(y, u.to(compute), None if bias is None else bias.to(compute)).to(dtype)


def circular_fftconv(u: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """The FFT convolution *without* zero-padding: a circular, hence non-causal, convolution.

    ``y[t] = sum_s k[(t - s) mod L] u[s]``: the end of the filter wraps around and lets future
    inputs leak into early outputs. Kept for teaching (chapter 1) and for tests that show why
    :func:`fftconv` pads to ``2L``.
    """
    u, k, _, dtype = _check_conv_args(u, k, None)
    L = u.shape[-1]
    compute = torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype
    u_f, k_f = torch.fft.rfft(u.to(compute), n=L), torch.fft.rfft(k.to(compute), n=L)
    return torch.fft.irfft(u_f * k_f, n=L).to(dtype)
