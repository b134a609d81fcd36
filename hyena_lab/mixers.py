"""Sequence mixers compared in the paper's recall experiments (Sec. 4.1, Tables 4.2, A.2, C.1).

A *mixer* is the layer of a block that moves information along the sequence: an ``nn.Module``
on ``(batch, seq_len, d_model)`` that is causal (output ``t`` reads inputs ``<= t`` only). The
tiny models of :mod:`hyena_lab.models` take any of them by name (:data:`MIXERS`):

* ``"hyena"``: the Hyena operator (Definition 3.1), :class:`hyena_lab.operator.HyenaOperator`
  with implicit filters (Sec. 3.3), in the layout of the official code that ran the paper's
  experiments (order 2 = one long convolution between two gates). ``y = W_out (A(u) v)`` with a
  data-controlled ``A(u)``.
* ``"attention"``: causal softmax self-attention, :class:`CausalSelfAttention`,
  ``y = W_out softmax(Q K^T / sqrt(d) + causal mask) V``: also a data-controlled matrix. The
  same class is the attention layer that chapter 05 times; its ``backend`` picks the kernel
  (:func:`causal_attention`), and :func:`causal_softmax` is the package's one masked softmax.
* ``"h3"``: H3 (Fu et al. 2023) as the paper presents it (Sec. 3 and the "H3" long-convolution
  parameterisation of Fig. 4.1 / Table A.2, "for S^1 and S^2 in an order 2 Hyena"): an order-2
  Hyena whose *two* long filters are diagonal state-space models,
  ``HyenaOperator(order=2, filter="ssm")``. (H3 itself makes its first SSM a *shift* SSM, in
  effect a short learned filter; both are S4D kernels here.) An SSM kernel decays at rates set,
  in absolute steps, by its eigenvalues.
* ``"h3_same"``: the same S4D filters in the *same layout as* ``"hyena"``: one long convolution
  between two gates (``identity_first=True``), ``y = x^2 * (h conv (x^1 * v))``. Only the filter
  family differs from ``"hyena"``, so ``"hyena"`` vs ``"h3_same"`` compares filters (implicit FFN
  against SSM) and ``"h3_same"`` vs ``"h3"`` compares depth (one long convolution against two).
  It is also the closest of the three to H3 itself, whose shift SSM plays the part of the short
  convolution.
* ``"conv"``: an explicit long convolution *without gates*, :class:`LongConvMixer`: one learned
  filter per channel of length ``l_max``, ``y = W_out S_h v``. ``S_h`` does not depend on the
  input, so where to look cannot depend on the query: the no-data-control baseline.

:func:`decompose` writes any of them, on one input, as ``y = W_out (A v)`` with a per-channel
``(L, L)`` matrix ``A``: the object chapter 04 interprets. Mixers that cannot tell positions
apart on their own set ``needs_positions = True`` (attention is permutation-equivariant up to
its mask) and the model then adds learned position embeddings, as the official Transformer
baseline does.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .checks import check_positive_int, check_sequence
from .conv import fftconv, toeplitz
from .filters import ExplicitFilter
from .operator import HyenaOperator

__all__ = [
    "ATTENTION_BACKENDS", "MIXERS", "SDPA_BACKENDS", "CausalSelfAttention", "LongConvMixer",
    "build_mixer", "causal_attention", "causal_softmax", "check_attention_backend",
    "check_sequence", "decompose", "h3_mixer", "h3_same_mixer", "hyena_mixer",
    "naive_causal_attention"
]  # fmt: skip


def _check_single(u: torch.Tensor, what: str) -> None:
    """Raise unless ``u`` holds one sequence, ``(1, seq_len, d_model)``."""
    if u.ndim != 3 or u.shape[0] != 1:
        raise ValueError(
            f"{what} takes a single sequence of shape (1, seq_len, d_model), got "
            f"{tuple(u.shape)}; select one with u[i:i+1]"
        )


_SDPA_KERNELS = {"cudnn": "CUDNN_ATTENTION", "flash": "FLASH_ATTENTION",
                 "efficient": "EFFICIENT_ATTENTION", "math": "MATH"}  # torch's SDPBackend names
#: ``backend`` of :func:`causal_attention` and :class:`CausalSelfAttention`: ``"naive"`` the
#: explicit masked softmax (:func:`naive_causal_attention`, the reference), ``"sdpa"``
#: ``F.scaled_dot_product_attention`` with PyTorch's choice of kernel, and one SDPA kernel pinned
#: (:data:`SDPA_BACKENDS`; ``"math"`` is SDPA's own unfused kernel, not the reference).
SDPA_BACKENDS = tuple(_SDPA_KERNELS)
ATTENTION_BACKENDS = ("naive", "sdpa", *SDPA_BACKENDS)


def check_attention_backend(backend: str) -> str:
    """Return ``backend`` if it is one of :data:`ATTENTION_BACKENDS`, else raise ``ValueError``."""
    if backend not in ATTENTION_BACKENDS:
        raise ValueError(f"attention backend must be one of {list(ATTENTION_BACKENDS)}, got "
                         f"{backend!r}")
    return backend


def causal_softmax(scores: torch.Tensor) -> torch.Tensor:
    """``softmax(scores + M)`` over the last dim, ``M`` the causal mask (``-inf`` where ``s > t``).

    The one masked softmax of the package: ``scores`` ``(..., L, L)``, row ``t`` holding
    ``q_t . k_s / sqrt(d)``; row ``t`` of the result is a distribution over ``s <= t``. The
    softmax runs in float32 at least (float64 stays float64), the result has ``scores``' dtype.
    """
    L = scores.shape[-1]
    future = torch.ones(L, L, dtype=torch.bool, device=scores.device).triu(1)  # s > t
    wide = torch.promote_types(scores.dtype, torch.float32)
    return scores.masked_fill(future, float("-inf")).to(wide).softmax(dim=-1).to(scores.dtype)


def naive_causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``softmax(q k^T / sqrt(d_head) + M) v`` with the ``(L, L)`` scores in memory: the reference.

    The textbook attention of paper Sec. 2.2 on ``(..., L, d_head)`` (e.g. ``(batch, heads, L,
    d_head)``): ``O(L^2)`` time *and* memory per head, which the fused SDPA kernels avoid storing.
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (..., L, L)
    return causal_softmax(scores) @ v  # (..., L, d_head)


def causal_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, backend: str = "sdpa"
) -> torch.Tensor:
    """Causal attention of ``q, k, v`` ``(batch, heads, L, d_head)`` computed by ``backend``.

    ``"naive"``: :func:`naive_causal_attention`; ``"sdpa"``: ``F.scaled_dot_product_attention``
    (PyTorch picks the kernel); ``"cudnn"``, ``"flash"``, ``"efficient"``, ``"math"``: SDPA
    restricted to that kernel by ``torch.nn.attention.sdpa_kernel``. A kernel that cannot run
    these inputs raises ``RuntimeError`` ("No available kernel").
    """
    if check_attention_backend(backend) == "naive":
        return naive_causal_attention(q, k, v)
    if backend == "sdpa":
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    from torch.nn.attention import SDPBackend, sdpa_kernel

    with sdpa_kernel(getattr(SDPBackend, _SDPA_KERNELS[backend])):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)


class CausalSelfAttention(nn.Module):
    """Causal multi-head softmax self-attention (Vaswani et al. 2017), the paper's baseline.

    ``y = W_o concat_h softmax(Q_h K_h^T / sqrt(d_head) + M) V_h`` with the causal mask ``M``
    (``-inf`` above the diagonal); ``qkv = Linear(d_model, 3 d_model)``, ``out_proj =
    Linear(d_model, d_model)``. The layer that chapter 04 trains and chapter 05 times.

    Args:
        d_model: width of input and output.
        l_max: longest sequence accepted.
        num_heads: heads; ``d_model`` must be divisible by it (1 in the official recall config).
        backend: how the attention is computed (:func:`causal_attention`): ``"sdpa"`` (default)
            or a pinned SDPA kernel, or ``"naive"``, the explicit masked softmax. It changes no
            parameter: checkpoints load whatever the backend.
    """

    needs_positions = True

    def __init__(
        self, d_model: int, l_max: int, num_heads: int = 1, backend: str = "sdpa"
    ) -> None:
        super().__init__()
        self.d_model = check_positive_int(d_model, "d_model")
        self.l_max = check_positive_int(l_max, "l_max")
        self.num_heads = check_positive_int(num_heads, "num_heads")
        if d_model % num_heads:
            raise ValueError(f"d_model={d_model} must be divisible by num_heads={num_heads}")
        self.backend = check_attention_backend(backend)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def _heads(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Queries, keys, values, each ``(batch, num_heads, seq_len, d_head)``."""
        b, L, _ = u.shape
        qkv = self.qkv(u).reshape(b, L, 3, self.num_heads, self.d_model // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        return q, k, v

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """``(batch, seq_len, d_model) -> (batch, seq_len, d_model)``."""
        check_sequence(u, self.d_model, self.l_max)
        q, k, v = self._heads(u)
        y = causal_attention(q, k, v, self.backend)  # (b, heads, L, d_head)
        return self.out_proj(y.transpose(1, 2).reshape(u.shape))

    def attention_matrix(self, u: torch.Tensor) -> torch.Tensor:
        """The softmax matrices ``(num_heads, L, L)`` for one input ``(1, L, d_model)``.

        Row ``t`` is the distribution over positions ``s <= t`` that output ``t`` averages.
        """
        check_sequence(u, self.d_model, self.l_max)
        _check_single(u, "attention_matrix()")
        q, k, _ = self._heads(u)
        return causal_softmax(q[0] @ k[0].transpose(-1, -2) / math.sqrt(q.shape[-1]))

    def decompose(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(A, v)`` with ``forward(u)[0] == out_proj(((A @ v[..., None])[..., 0]).T)``.

        ``A`` ``(d_model, L, L)`` repeats each head's softmax matrix for its ``d_head``
        channels and ``v`` ``(d_model, L)`` holds the values: the same per-channel form as a
        Hyena operator's ``A(u) v`` (:func:`decompose`).
        """
        A = self.attention_matrix(u)  # (heads, L, L)
        d_head = self.d_model // self.num_heads
        _, _, v = self._heads(u)  # (1, heads, L, d_head)
        v = v[0].permute(0, 2, 1).reshape(self.d_model, -1)  # (d_model, L), head-major
        return A.repeat_interleave(d_head, dim=0), v


class LongConvMixer(nn.Module):
    """An explicit long convolution without gating: ``y = W_out (h conv (W_in u) + b * W_in u)``.

    One explicit filter per channel (:class:`hyena_lab.filters.ExplicitFilter`: ``d_model *
    kernel_size`` free taps, the "Conv1d" of Fig. 4.1 and Tables A.2 / C.1), applied with
    :func:`hyena_lab.fftconv`. Its matrix ``S_h`` is the same for every input, so it can only mix
    by *position*, never by content.

    Args:
        d_model: width of input and output.
        l_max: longest sequence accepted.
        kernel_size: filter length; ``None`` means ``l_max`` (a full-length filter; the paper's
            Conv1d baseline of Table C.1 uses 64). Taps beyond ``kernel_size`` are zero.
    """

    needs_positions = False

    def __init__(self, d_model: int, l_max: int, kernel_size: int | None = None) -> None:
        super().__init__()
        self.d_model = check_positive_int(d_model, "d_model")
        self.l_max = check_positive_int(l_max, "l_max")
        self.kernel_size = (
            l_max if kernel_size is None else check_positive_int(kernel_size, "kernel_size")
        )
        if self.kernel_size > l_max:
            raise ValueError(f"kernel_size must be <= l_max={l_max}, got {self.kernel_size}")
        self.in_proj = nn.Linear(d_model, d_model)
        self.filter = ExplicitFilter(d_model, self.kernel_size)  # taps (d_model, kernel_size)
        self.bias = nn.Parameter(torch.randn(d_model))
        self.out_proj = nn.Linear(d_model, d_model)

    def filters(self, L: int) -> torch.Tensor:
        """The filters ``(d_model, L)``: the first ``L`` taps, zero past ``kernel_size``."""
        h = self.filter(min(L, self.kernel_size))
        return F.pad(h, (0, L - h.shape[1]))

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """``(batch, seq_len, d_model) -> (batch, seq_len, d_model)``."""
        L = check_sequence(u, self.d_model, self.l_max)
        v = self.in_proj(u).transpose(1, 2)  # (batch, d_model, L)
        y = fftconv(v, self.filters(L), self.bias)  # (batch, d_model, L)
        return self.out_proj(y.transpose(1, 2))

    def materialize(self, u: torch.Tensor) -> torch.Tensor:
        """The mixing matrices ``S_h`` ``(d_model, L, L)`` (the same for every input ``u``)."""
        L = check_sequence(u, self.d_model, self.l_max)
        _check_single(u, "materialize()")
        return toeplitz(self.filters(L), self.bias)

    def decompose(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(S_h, v)`` with ``forward(u)[0] == out_proj(((S_h @ v[..., None])[..., 0]).T)``."""
        S = self.materialize(u)
        return S, self.in_proj(u)[0].T


#: Hyper-parameters of the implicit Hyena filter for recall: the official recall configuration
#: (positional encoding of 5 features, FFN width 64, exponential window on) except the sine
#: frequency ``w``: the official 10 spreads the initial filters over the whole spectrum (App. D.3),
#: the handbook uses 1. Chapter 04 compares the two under the handbook's short recipe (the record
#: ``figures/data/04_associative_recall-sine_frequency.json``) and discusses it against App. D.3.
HYENA_FILTER_ARGS: dict[str, object] = {"emb_dim": 5, "filter_order": 64, "w": 1.0}


def hyena_mixer(
    d_model: int,
    l_max: int,
    order: int = 2,
    filter_args: dict | None = None,
    identity_first: bool = True,
    **kwargs: object,
) -> nn.Module:
    """The Hyena operator with implicit filters (Sec. 3.3); ``filter_args`` update the defaults.

    ``identity_first=True`` is the layout of the official code, which ran the paper's
    experiments: its "order 2" is one long convolution between two gates,
    ``y = x^2 * (h conv (x^1 * v))`` (see :mod:`hyena_lab.operator`).
    """
    args = {**HYENA_FILTER_ARGS, **(filter_args or {})}
    return HyenaOperator(
        d_model,
        l_max,
        order=order,
        filter="implicit",
        filter_args=args,
        identity_first=identity_first,
        **kwargs,
    )


def h3_mixer(
    d_model: int,
    l_max: int,
    filter_args: dict | None = None,
    identity_first: bool = False,
    **kwargs: object,
) -> nn.Module:
    """H3 read as an order-2 Hyena with state-space (S4D) filters (paper Sec. 3).

    ``identity_first=False`` (``"h3"``): two S4D long convolutions, each followed by a gate, as
    the paper writes H3 and its "H3" parameterisation of Table A.2. ``identity_first=True``
    (``"h3_same"``, :func:`h3_same_mixer`): one S4D long convolution between two gates, the layout
    of :func:`hyena_mixer`.
    """
    return HyenaOperator(
        d_model,
        l_max,
        order=2,
        filter="ssm",
        filter_args=filter_args,
        identity_first=identity_first,
        **kwargs,
    )


def h3_same_mixer(
    d_model: int, l_max: int, filter_args: dict | None = None, **kwargs: object
) -> nn.Module:
    """S4D filters in the layout of :func:`hyena_mixer`: ``y = x^2 * (h conv (x^1 * v))``.

    The control for a Hyena-vs-H3 comparison: the same projections, short convolution, gates and
    number of long convolutions (one) as ``"hyena"``; only the long filter is an S4D kernel
    instead of the implicit FFN filter.
    """
    return h3_mixer(d_model, l_max, filter_args=filter_args, identity_first=True, **kwargs)


#: Mixer constructors by name: ``MIXERS[name](d_model, l_max, **mixer_args)``.
MIXERS: dict[str, Callable[..., nn.Module]] = {
    "hyena": hyena_mixer,
    "attention": CausalSelfAttention,
    "h3": h3_mixer,
    "h3_same": h3_same_mixer,
    "conv": LongConvMixer,
}


def decompose(mixer: nn.Module, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Any mixer on one input ``u`` ``(1, L, d_model)`` written as ``y = W_out (A v)`` per channel.

    Returns ``A`` ``(d_model, L, L)`` (lower triangular) and ``v`` ``(d_model, L)`` such that
    ``mixer(u)[0] == mixer.out_proj(((A @ v[..., None])[..., 0]).T)``: for Hyena and H3 the
    data-controlled ``A(u) = D_x^N S_h^N ... D_x^1 S_h^1`` of Sec. 3.2, for attention the
    softmax matrix of each channel's head, for the long convolution ``S_h``.
    """
    if isinstance(mixer, HyenaOperator):
        m = mixer.matrices(u)
        return m.product(), m.v
    if isinstance(mixer, (CausalSelfAttention, LongConvMixer)):
        return mixer.decompose(u)
    raise TypeError(f"cannot decompose a {type(mixer).__name__}; expected one of the MIXERS")


def build_mixer(name: str, d_model: int, l_max: int, **mixer_args: object) -> nn.Module:
    """Build the mixer called ``name`` (a key of :data:`MIXERS`)."""
    if name not in MIXERS:
        raise ValueError(f"mixer must be one of {sorted(MIXERS)}, got {name!r}")
    return MIXERS[name](d_model, l_max, **mixer_args)
