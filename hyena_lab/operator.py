"""The Hyena operator (paper Sec. 3.1-3.2, Definition 3.1, Algorithm 3) and its matrix form.

**Recurrence.** For an input ``u`` of shape ``(batch, L, d_model)`` the order-``N`` operator

1. projects ``u`` to ``N + 1`` signals of width ``d_model`` (a linear map over channels followed
   by a short causal depthwise convolution of width ``short_filter_order``, Algorithm 1):
   the gates ``x^1 .. x^N`` and the value ``v``;
2. runs the recurrence (Definition 3.1)::

       z^1     = v
       z^{n+1} = x^n * (h^n conv z^n + b^n * z^n)      n = 1 .. N

   with ``N`` long causal convolutions ``h^n conv .`` (computed by :func:`hyena_lab.fftconv`),
   element-wise gates ``x^n *`` and a per-channel skip ("bias") term ``b^n``;
3. projects ``y = z^{N+1}`` back with a linear map over channels.

**Matrix form (Sec. 3.2).** For one channel, a gate is a diagonal matrix ``D_x^n = diag(x^n)`` and
a convolution a lower-triangular Toeplitz matrix ``S_h^n`` (with ``b^n`` on its diagonal), so

    y = A(u) v,     A(u) = D_x^N S_h^N ... D_x^2 S_h^2 D_x^1 S_h^1.

``A(u)`` is lower triangular (causal) and depends on the input through the gates: a
*data-controlled* linear operator, like an attention matrix. :meth:`HyenaOperator.matrices`
returns the factors for one input, :meth:`HyenaOperator.materialize` their product.

**Order 1** is a gated convolution ``y = x^1 * (h^1 conv v)``; **order 2** has the shape of H3
(Fu et al. 2023), ``y = x^2 * (h^2 conv (x^1 * (h^1 conv v)))``, with long implicit filters in
place of H3's shift and diagonal SSM.

**The official code's convention** (HazyResearch/safari) gates *before* the first long
convolution: its ``order=o`` layer computes ``x[0] * h_{o-2} conv (... x[o-2] * h_0 conv
(x[o-1] * v))`` with ``o - 1`` filters. In the paper's terms that is the order-``o`` operator whose
first filter is the identity (``h^1 = delta``, ``S_h^1 = I``, no skip term):
``HyenaOperator(d, l_max, order=o, identity_first=True)``. The gates map as
``x^n = x_official[o - n]``; :mod:`hyena_lab.official` converts weights both ways.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .checks import check_positive_int, check_sequence
from .conv import fftconv, toeplitz
from .filters import LongFilter, make_filter

__all__ = ["HyenaMatrices", "HyenaOperator"]


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
            how the official implementation's layers are expressed (see the module docstring).

    Shapes: the input projection writes ``(N + 1) * d_model`` channels, laid out as
    ``[x^1, ..., x^N, v]``; the filter bank has ``n_filters * d_model`` channels laid out as
    ``[h^1, ..., h^N]`` (only ``h^2..h^N`` with ``identity_first``).
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
    ) -> None:
        super().__init__()
        self.d_model = check_positive_int(d_model, "d_model")
        self.l_max = check_positive_int(l_max, "l_max")
        self.order = check_positive_int(order, "order")
        self.short_filter_order = check_positive_int(short_filter_order, "short_filter_order")
        if identity_first and order < 2:
            raise ValueError("identity_first needs order >= 2 (order 1 would hold no filter)")
        self.identity_first = bool(identity_first)
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
    # pieces of the forward pass
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
        """The learned long filters ``(n_filters, d_model, L)`` (``h^1..h^N``)."""
        return self.filter(L).reshape(self.n_filters, self.d_model, L)

    def _steps(self, L: int):
        """Per step ``n``: the filter ``(d_model, L)`` and skip term, or ``None`` for identity."""
        k, j = self.filters(L), 0
        for n in range(self.order):
            if n == 0 and self.identity_first:
                yield None, None
            else:
                yield k[j], self.bias[j]
                j += 1

    def core(self, u: torch.Tensor) -> torch.Tensor:
        """The long-convolution core ``y = A(u) v`` before ``out_proj``, ``(batch, d_model, L)``."""
        x, z = self.projections(u)
        for x_n, (h, b) in zip(x, self._steps(u.shape[1]), strict=True):
            z = x_n * (z if h is None else fftconv(z, h.to(z.dtype), b.to(z.dtype)))
        return z

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """``(batch, L, d_model) -> (batch, L, d_model)``."""
        return self.out_proj(self.core(u).transpose(1, 2))

    # ---------------------------------------------------------------------------------------
    # matrix form (Sec. 3.2)
    def matrices(self, u: torch.Tensor) -> HyenaMatrices:
        """The factors ``D_x^n``, ``S_h^n`` and ``v`` of ``A(u)`` for one input ``(1, L, d)``."""
        if u.ndim == 3 and u.shape[0] != 1:
            raise ValueError(
                f"matrices() takes a single sequence of shape (1, seq_len, d_model), got "
                f"{tuple(u.shape)}; select one with u[i:i+1]"
            )
        x, v = self.projections(u)
        L, d = u.shape[1], self.d_model
        D_x, S_h = [], []
        for x_n, (h, b) in zip(x, self._steps(L), strict=True):
            D_x.append(x_n[0])
            if h is None:  # identity first filter: S_h^1 = I
                S_h.append(torch.eye(L, dtype=v.dtype, device=v.device).expand(d, L, L))
            else:
                S_h.append(toeplitz(h.to(v.dtype), b.to(v.dtype)))
        return HyenaMatrices(D_x=D_x, S_h=S_h, v=v[0])

    def materialize(self, u: torch.Tensor) -> torch.Tensor:
        """The dense data-controlled operator ``A(u)`` ``(d_model, L, L)`` for one input.

        ``self.core(u)[0] == (A @ v[..., None])[..., 0]`` with ``v = self.matrices(u).v``.
        Memory is ``O(d_model L^2)``: meant for inspection at small ``L``.
        """
        return self.matrices(u).product()

    def extra_repr(self) -> str:
        return (
            f"d_model={self.d_model}, l_max={self.l_max}, order={self.order}, "
            f"identity_first={self.identity_first}"
        )
