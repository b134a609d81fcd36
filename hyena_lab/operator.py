"""The Hyena operator of the paper (Sec. 3.1-3.4): :class:`HyenaOperator` runs Definition 3.1,
``z^1 = v``, ``z^{n+1} = x^n * (h^n conv z^n)``, ``y = z^{N+1}``, as the loop of
:meth:`HyenaOperator.core`; :meth:`HyenaOperator.matrices` and :meth:`HyenaOperator.materialize`
give its matrix form ``y = A(u) v``, ``A(u) = D_x^N S_h^N ... D_x^1 S_h^1`` (Sec. 3.2), and
:func:`algorithm3_steps` every intermediate tensor of Algorithm 3 (Sec. 3.4) by name. The
official code's layout (HazyResearch/safari: a gate before the first long convolution) is the
paper's operator with an identity first filter, ``identity_first=True``; :mod:`hyena_lab.official`
converts its weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from . import monarch
from .checks import check_positive_int, check_sequence
from .conv import fftconv, toeplitz
from .filters import ImplicitFilter, LongFilter, make_filter

__all__ = ["BACKENDS", "HyenaMatrices", "HyenaOperator", "algorithm3_steps", "resolve_backend"]

#: How the operator runs: ``"torch"`` the eager loop of :meth:`HyenaOperator.core` with
#: ``torch.fft`` (:func:`hyena_lab.fftconv`); ``"monarch"`` the same loop with the FFT as matrix
#: products (:func:`hyena_lab.monarch.fftconv`, chapter 06); ``"triton"`` the whole forward
#: pass from the fused kernels of :mod:`hyena_lab.kernels` (``kernels.layer.fused_forward``,
#: chapter 06: needs Triton and a CUDA device, or ``TRITON_INTERPRET=1``); ``"auto"`` the fastest
#: one measured on the device type (:func:`resolve_backend`). All compute the same function, to
#: round-off, and a state dict does not depend on the backend.
BACKENDS = ("auto", "torch", "monarch", "triton")


def resolve_backend(backend: str, device: torch.device | str | None = None) -> str:
    """The backend ``backend`` names on ``device``: ``"auto"`` becomes a concrete one, the
    fastest measured: ``"triton"`` on a CUDA device when Triton is installed (chapter 06's
    record, H200, bf16: 2.4x-4.0x faster than ``"torch"`` at every L from 1K to 256K, forward
    and forward + backward; for bf16 inputs without gradients with half-precision transforms,
    ``kernels.layer``), ``"torch"`` everywhere else."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {list(BACKENDS)}, got {backend!r}")
    if backend != "auto":
        return backend
    from .kernels import available

    cuda = device is not None and torch.device(device).type == "cuda"
    return "triton" if cuda and available(device) else "torch"


@dataclass
class HyenaMatrices:
    """The data-controlled factors of ``A(u)`` for one input (Sec. 3.2).

    Attributes:
        D_x: ``N`` gate diagonals, each ``(d_model, L)``, in the order they are applied.
        S_h: ``N`` lower-triangular Toeplitz matrices, each ``(d_model, L, L)``, with the skip
            term ``b^n`` on the diagonal (the identity for an identity first filter).
        v: the value signal ``(d_model, L)`` that ``A(u)`` is applied to.
    """

    D_x: list[torch.Tensor]
    S_h: list[torch.Tensor]
    v: torch.Tensor

    @property
    def order(self) -> int:
        return len(self.D_x)

    def product(self) -> torch.Tensor:
        """``A = D_x^N S_h^N ... D_x^1 S_h^1``, ``(d_model, L, L)``."""
        d, L = self.v.shape
        A = torch.eye(L, dtype=self.v.dtype, device=self.v.device).expand(d, L, L)
        for D, S in zip(self.D_x, self.S_h, strict=True):
            A = D[..., :, None] * (S @ A)  # diag(x^n) S_h^n A, per channel
        return A


class HyenaOperator(nn.Module):
    """The order-``N`` Hyena operator on ``(batch, L, d_model)`` inputs (Definition 3.1).

    ``op(u)`` is Algorithm 3 (Sec. 3.4) followed by a linear output map:

    1. :meth:`projections` (Algorithm 1): ``in_proj`` (linear over channels) to ``N + 1``
       signals, a short causal depthwise convolution, split into gates ``x^1..x^N`` and value
       ``v``;
    2. :meth:`filters` (Algorithm 2): the long filters ``h^1..h^N``;
    3. :meth:`core`: the recurrence of Definition 3.1, one line per step,
       ``z = x[n] * self.long_conv(n, z, h)``, where :meth:`long_conv` is the causal FFT
       convolution plus the per-channel skip ("bias") term, ``h^n conv z^n + b^n z^n``;
    4. ``out_proj`` (linear over channels) of ``y = z^{N+1}``.

    **Orders.** Order 1 is a gated convolution ``y = x^1 * (h^1 conv v)``; order 2 has the shape
    of H3 (Fu et al. 2023), with long implicit filters in place of H3's shift and diagonal SSM.
    The official ``order=o`` layer (HazyResearch/safari) gates *before* its first convolution,
    ``x[0] * h_{o-2} conv (... x[o-2] * h_0 conv (x[o-1] * v))``: the paper's order ``o`` with
    ``h^1 = delta`` (``S_h^1 = I``, no skip term), i.e. ``identity_first=True``, with gates
    ``x^n = x_official[o - n]``.

    Args:
        d_model: width (channels) of the input and output.
        l_max: longest sequence; inputs may be shorter (filters are evaluated at their length).
        order: the paper's ``N``: the number of long convolutions and of gates (``N >= 1``).
        filter: filter parameterisation, a name of :data:`hyena_lab.filters.FILTERS`
            (``"implicit"`` by default) or a :class:`~hyena_lab.filters.LongFilter` with
            ``n_filters * d_model`` channels.
        filter_args: hyper-parameters of the filter (e.g. ``emb_dim``, ``filter_order``, ``w``,
            ``modulate`` for the implicit filter).
        short_filter_order: width of the short explicit depthwise convolution after the input
            projection (3 in the paper and the official code).
        filter_bias: learn the per-channel skip term ``b^n`` of each long convolution.
        identity_first: make the first long convolution the identity (``S_h^1 = I``), which is
            how the official implementation's layers are expressed.
        backend: how the FFT convolutions are computed, one of :data:`BACKENDS`.

    Shapes: the input projection writes ``(N + 1) * d_model`` channels, laid out as
    ``[x^1, ..., x^N, v]``; the filter bank (and ``bias``) has ``n_filters`` rows of ``d_model``
    channels, one per step that has a filter; :attr:`filter_of_step` says which.
    """

    def __init__(
        self,
        d_model: int,
        l_max: int,
        order: int = 2,
        filter: str | LongFilter = "implicit",
        filter_args: dict | None = None,
        short_filter_order: int = 3,
        filter_bias: bool = True,
        identity_first: bool = False,
        backend: str = "auto",
    ) -> None:
        super().__init__()
        #: How the long convolutions are computed (:data:`BACKENDS`; ``"auto"`` is resolved on
        #: the device of each call); the result is the same to round-off, and a state dict does
        #: not depend on it.
        resolve_backend(backend)  # a clear error now rather than at the first call
        self.backend = backend
        self.d_model = check_positive_int(d_model, "d_model")
        self.l_max = check_positive_int(l_max, "l_max")
        self.order = check_positive_int(order, "order")
        self.short_filter_order = check_positive_int(short_filter_order, "short_filter_order")
        if identity_first and order < 2:
            raise ValueError("identity_first needs order >= 2 (order 1 would hold no filter)")
        self.identity_first = bool(identity_first)
        #: Row of the filter bank (and of ``bias``) used by step ``n`` (0-based: the paper's
        #: step ``n + 1``), or ``None`` where ``S_h^{n+1} = I``. Paper layout: ``(0, 1, ...,
        #: N-1)``; official layout (``identity_first``): ``(None, 0, ..., N-2)``.
        self.filter_of_step: tuple[int | None, ...] = (
            (None, *range(order - 1)) if identity_first else tuple(range(order))
        )
        self.n_filters = order - 1 if identity_first else order
        width = (order + 1) * d_model
        self.in_proj = nn.Linear(d_model, width)
        self.short_filter = nn.Conv1d(
            width, width, short_filter_order, groups=width, padding=short_filter_order - 1
        )
        self.filter = make_filter(filter, self.n_filters * d_model, l_max, **(filter_args or {}))
        self.bias = nn.Parameter(torch.randn(self.n_filters, d_model), requires_grad=filter_bias)
        if not filter_bias:
            self.bias.data.zero_()
        self.out_proj = nn.Linear(d_model, d_model)

    # ---------------------------------------------------------------------------------------
    # the forward pass (Algorithm 3)
    def check_input(self, u: torch.Tensor) -> int:
        """Raise unless ``u`` is a float ``(batch, L, d_model)`` with ``L <= l_max`` and the
        dtype of the weights; return L."""
        return check_sequence(u, self.d_model, self.l_max, self.in_proj.weight.dtype)

    def projections(self, u: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Gates ``[x^1..x^N]`` and value ``v``, each ``(batch, d_model, L)`` (Algorithm 1)."""
        L = self.check_input(u)
        z = self.in_proj(u).transpose(1, 2)  # (batch, (N+1) d_model, L)
        z = self.short_filter(z)[..., :L]  # causal: keep the first L outputs
        *x, v = z.split(self.d_model, dim=1)
        return x, v

    def filters(self, L: int) -> torch.Tensor:
        """The learned long filters ``(n_filters, d_model, L)`` (Algorithm 2)."""
        return self.filter(L).reshape(self.n_filters, self.d_model, L)

    def long_conv(self, n: int, z: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """``S_h^{n+1} z = h^{n+1} conv z + b^{n+1} z``: step ``n``'s causal FFT convolution.

        ``n`` counts from 0 (the paper's step ``n + 1``); ``z`` is ``(batch, d_model, L)``, ``h``
        the bank of :meth:`filters`. A step without a filter (``filter_of_step[n] is None``, the
        official layout's first step) is the identity.
        """
        j = self.filter_of_step[n]
        if j is None:
            return z  # S_h^1 = I
        monarch_form = resolve_backend(self.backend, z.device) == "monarch"
        conv = monarch.fftconv if monarch_form else fftconv
        return conv(z, h[j].to(z.dtype), self.bias[j].to(z.dtype))  # (batch, d_model, L)

    def core(self, u: torch.Tensor) -> torch.Tensor:
        """``y = z^{N+1} = A(u) v`` before ``out_proj``, ``(batch, d_model, L)``.

        The loop is Definition 3.1, ``z^1 = v``, ``z^{n+1} = x^n * (h^n conv z^n)``, with
        ``x[n]`` the paper's ``x^{n+1}``: the gate ``D_x`` applied after the convolution ``S_h``.
        """
        x, v = self.projections(u)  # N gates x^1..x^N and the value v, each (batch, d_model, L)
        h = self.filters(u.shape[1])  # (n_filters, d_model, L), evaluated once for every step
        z = v  # z^1 = v
        for n in range(self.order):  # Definition 3.1: z^{n+1} = x^n * (h^n conv z^n)
            z = x[n] * self.long_conv(n, z, h)  # gate D_x after the long convolution S_h
        return z  # y = z^{N+1}

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """``(batch, L, d_model) -> (batch, L, d_model)``: ``out_proj`` of :meth:`core` (with
        ``backend="triton"``, the same function from the fused kernels)."""
        if resolve_backend(self.backend, u.device) == "triton":
            from .kernels import require
            from .kernels.layer import fused_forward

            require(u.device)  # a clear error without Triton or a CUDA device
            return fused_forward(self, u)
        return self.out_proj(self.core(u).transpose(1, 2))

    # ---------------------------------------------------------------------------------------
    # matrix form (Sec. 3.2)
    def conv_matrix(self, n: int, h: torch.Tensor) -> torch.Tensor:
        """``S_h^{n+1}`` ``(d_model, L, L)`` of step ``n`` (0-based), :meth:`long_conv` as a
        lower-triangular Toeplitz matrix with the skip term on its diagonal (or the identity)."""
        j, d, L = self.filter_of_step[n], self.d_model, h.shape[-1]
        if j is None:
            return torch.eye(L, dtype=h.dtype, device=h.device).expand(d, L, L)  # S_h^1 = I
        return toeplitz(h[j], self.bias[j].to(h.dtype))

    def matrices(self, u: torch.Tensor) -> HyenaMatrices:
        """The factors ``D_x^n``, ``S_h^n`` and ``v`` of ``A(u)`` for one input ``(1, L, d)``."""
        if u.ndim == 3 and u.shape[0] != 1:
            raise ValueError(
                f"matrices() takes a single sequence of shape (1, seq_len, d_model), got "
                f"{tuple(u.shape)}; select one with u[i:i+1]"
            )
        x, v = self.projections(u)
        h = self.filters(u.shape[1]).to(v.dtype)  # (n_filters, d_model, L)
        S_h = [self.conv_matrix(n, h) for n in range(self.order)]
        return HyenaMatrices(D_x=[x_n[0] for x_n in x], S_h=S_h, v=v[0])

    def materialize(self, u: torch.Tensor) -> torch.Tensor:
        """The dense data-controlled operator ``A(u)`` ``(d_model, L, L)`` for one input.

        ``self.core(u)[0] == (A @ v[..., None])[..., 0]`` with ``v = self.matrices(u).v``.
        Memory is ``O(d_model L^2)``: meant for inspection at small ``L``.
        """
        return self.matrices(u).product()

    def extra_repr(self) -> str:
        return (
            f"d_model={self.d_model}, l_max={self.l_max}, order={self.order}, "
            f"identity_first={self.identity_first}, backend={self.backend!r}"
        )


def algorithm3_steps(op: HyenaOperator, u: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every intermediate tensor of ``op(u)``, named as in Algorithm 3 (Sec. 3.4), in order.

    Spelled out from the operator's modules rather than through :meth:`HyenaOperator.core`, so
    that comparing the last entry with ``op(u)`` checks the package's loop. Names: ``u``;
    ``in_proj``; ``short_conv``; ``x^1..x^N``, ``v``; for an implicit filter without
    normalisation ``PE(t)`` (positional encoding), ``FFN(PE(t))`` and ``window`` (else only the
    bank); ``h^1..h^N``, ``b^1..b^N``; per step ``n`` with a filter ``h^n conv z^n`` and
    ``b^n z^n``; ``z^2..z^{N+1}``; ``out_proj``. Filters and skip terms are indexed by step, so
    with ``identity_first`` there is no ``h^1``. Shapes: see :meth:`HyenaOperator.core`.
    """
    L, D = op.check_input(u), op.d_model
    s: dict[str, torch.Tensor] = {"u": u}  # (batch, L, D)
    s["in_proj"] = op.in_proj(u)  # (batch, L, (N+1) D)
    s["short_conv"] = op.short_filter(s["in_proj"].transpose(1, 2))[..., :L]  # (b, (N+1) D, L)
    *x, v = s["short_conv"].split(D, dim=1)  # N + 1 signals, each (batch, D, L)
    s |= {f"x^{n + 1}": x_n for n, x_n in enumerate(x)} | {"v": v}
    f = op.filter
    if isinstance(f, ImplicitFilter) and f.normalize is None:  # Algorithm 2, step by step
        s["PE(t)"] = f.pos_emb(L)[0]  # (L, emb_dim)
        s["FFN(PE(t))"] = f.ffn(s["PE(t)"]).T  # (n_filters D, L)
        s["window"] = f.window(L)  # (n_filters D, L): exp(-|delta| t) + shift
        bank = (s["FFN(PE(t))"] * s["window"]).reshape(op.n_filters, D, L)
    else:
        bank = op.filters(L)  # (n_filters, D, L)
    steps = [n for n, j in enumerate(op.filter_of_step) if j is not None]
    s |= {f"h^{n + 1}": bank[op.filter_of_step[n]] for n in steps}  # each (D, L)
    s |= {f"b^{n + 1}": op.bias[op.filter_of_step[n]] for n in steps}  # each (D,)
    z = v  # z^1
    for n in range(op.order):
        if n in steps:  # S_h^{n+1} z = h^{n+1} conv z + b^{n+1} z, each (batch, D, L)
            s[f"h^{n + 1} conv z^{n + 1}"] = fftconv(z, s[f"h^{n + 1}"])
            s[f"b^{n + 1} z^{n + 1}"] = s[f"b^{n + 1}"][:, None] * z
            z = s[f"h^{n + 1} conv z^{n + 1}"] + s[f"b^{n + 1} z^{n + 1}"]
        z = s[f"z^{n + 2}"] = x[n] * z  # the gate x^{n+1}
    s["out_proj"] = op.out_proj(z.transpose(1, 2))  # (batch, L, D)
    return s
