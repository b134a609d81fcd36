"""Token-by-token generation from a :class:`~hyena_lab.models.TinyLM`, three ways (chapter 07).

A causal model predicts token ``t + 1`` from tokens ``0..t``; generating ``n`` tokens calls it
``n`` times on a growing prefix. :class:`Decoder` does this in one of :data:`MODES`:

* ``"recompute"``: run the whole prefix through the model for each new token (``O(L log L)``
  per token for Hyena's FFT convolutions, ``O(L^2)`` for attention);
* ``"cache"``: keep, per layer, what the new position needs of the past and compute only that
  position. Hyena: the last ``short_filter_order - 1`` input projections (the short causal
  convolution's taps) and the input ``z^n`` of every long convolution, so that the new output
  ``(h^n conv z^n)_t = sum_{s<=t} h^n_{t-s} z^n_s`` is one dot product, ``O(L)``; attention: the
  keys and values (a KV cache), ``O(L)`` per token too;
* ``"modal"``: each Hyena layer's long filters distilled into modal state-space models
  (:func:`hyena_lab.distill.fit_modal`, Laughing Hyena) and stepped with an ``O(r)`` state per
  channel, ``s_t = lambda s_{t-1} + z_t``: constant work per token, whatever the context. The
  skip term ``b^n z^n`` is kept as it is.

``"recompute"`` and ``"cache"`` compute the same logits (to round-off), so with the same seeded
draws they give the same tokens; ``"modal"`` gives those of :func:`distilled_copy` (the model
with its filters replaced by the distilled kernels) run by ``"recompute"``.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F

from .checks import check_positive_float, check_positive_int, rel_err
from .distill import ModalFilter, fit_modal
from .mixers import CausalSelfAttention
from .models import TinyLM
from .operator import HyenaOperator

__all__ = ["MODES", "Decoder", "distilled_copy", "generate", "hyena_operators", "sample_next"]

#: The ways :class:`Decoder` and :func:`generate` compute each new token.
MODES = ("recompute", "cache", "modal")


def hyena_operators(model: TinyLM) -> list[HyenaOperator]:
    """The Hyena operators (long-filter mixers: ``"hyena"``, ``"h3"``...) of ``model``'s blocks."""
    return [b.mixer for b in model.blocks if isinstance(b.mixer, HyenaOperator)]


def _check_model(model: object) -> TinyLM:
    if not isinstance(model, TinyLM):
        raise TypeError(f"model must be a hyena_lab TinyLM, got {type(model).__name__}")
    return model


def _no_long_filters(model: TinyLM) -> ValueError:
    return ValueError(f"a model with {model.config.mixer!r} mixers has no long filters to distil "
                      "(modal generation needs Hyena layers); use mode='cache' (a KV cache for "
                      "attention) or 'recompute'")  # fmt: skip


def distilled_copy(model: TinyLM, order: int, *, size: int | None = None) -> TinyLM:
    """A copy of ``model`` whose Hyena filters are their modal distillation of state ``order``.

    Each :class:`~hyena_lab.operator.HyenaOperator` gets a
    :class:`~hyena_lab.distill.ModalFilter` fitted (:func:`~hyena_lab.distill.fit_modal`, float64)
    to its filter bank evaluated at ``l_max``; skip terms, projections, gates and every other
    weight are unchanged. Its validation loss against the original's measures what distillation
    costs; ``Decoder(copy, "modal")`` steps it in ``O(order)`` per channel.
    """
    _check_model(model)
    check_positive_int(order, "order")
    if not hyena_operators(model):
        raise _no_long_filters(model)
    out = copy.deepcopy(model)
    for op in hyena_operators(out):
        dtype = op.in_proj.weight.dtype
        with torch.no_grad():
            bank = op.filter(op.l_max)  # (n_filters * d_model, l_max)
        ssm = fit_modal(bank, order, size=size).to(device=bank.device)
        op.filter = ModalFilter(ssm, op.l_max).to(dtype)
    return out


class _HyenaCache:
    """One Hyena operator's past, for ``"cache"`` (the long convolutions' inputs) or ``"modal"``
    (their modal states), and its short convolution's last taps."""

    def __init__(self, op: HyenaOperator, batch: int, length: int, modal: bool) -> None:
        self.op, self.modal, d = op, modal, op.d_model
        dtype, device = op.in_proj.weight.dtype, op.in_proj.weight.device
        self.steps = [n for n, j in enumerate(op.filter_of_step) if j is not None]
        if modal:
            ssm = op.filter.ssm  # the distilled bank, (n_filters * d_model) channels
            self.ssm = {n: ssm.select(slice(j * d, (j + 1) * d))
                        for n, j in enumerate(op.filter_of_step) if j is not None}  # fmt: skip
            self.state = {n: s.init_state(batch) for n, s in self.ssm.items()}
        else:
            h = op.filters(length)  # (n_filters, d_model, length)
            short = max(1, length // 2)  # a filter must not depend on the length it is built at
            if rel_err(op.filters(short), h[..., :short]) > 1e-4:
                raise ValueError(
                    "cache mode needs filters(L) == filters(l_max)[:, :L] (a filter "
                    "normalised over its length is not); use mode='recompute'"
                )
            self.h_flipped = h.flip(-1)  # h_flipped[..., length - 1 - i] = h[..., i]
            self.past = {n: torch.zeros(batch, d, length, dtype=dtype, device=device)
                         for n in self.steps}  # fmt: skip
        width, k = op.short_filter.weight.shape[0], op.short_filter_order
        self.taps = torch.zeros(batch, width, k - 1, dtype=dtype, device=device)

    def prefill(self, a: torch.Tensor) -> torch.Tensor:
        """The operator on the prompt's ``a`` ``(batch, P, d_model)`` (as ``op(a)``), keeping
        the past it needs."""
        op, P, k = self.op, a.shape[1], self.op.short_filter_order
        p = op.in_proj(a).transpose(1, 2)  # (batch, (N+1) d, P)
        if k > 1:
            self.taps = F.pad(p, (k - 1, 0))[..., -(k - 1) :]  # last k-1 projections
        *x, v = op.short_filter(p)[..., :P].split(op.d_model, dim=1)
        h = op.filters(P)  # (n_filters, d_model, P)
        z = v  # z^1
        for n in range(op.order):
            if n in self.steps:
                if self.modal:
                    self.state[n] = self.ssm[n].state_after(z)  # (batch, d, modes)
                else:
                    self.past[n][..., :P] = z
            z = x[n] * op.long_conv(n, z, h)  # Definition 3.1
        return op.out_proj(z.transpose(1, 2))

    def step(self, a_t: torch.Tensor, t: int) -> torch.Tensor:
        """The operator's output at position ``t`` for its input ``a_t`` ``(batch, d_model)``."""
        op = self.op
        p = op.in_proj(a_t)  # (batch, (N+1) d)
        window = torch.cat([self.taps, p[..., None]], dim=-1)  # (batch, (N+1) d, k)
        self.taps = window[..., 1:]
        w = op.short_filter.weight[:, 0, :]  # (width, k): a cross-correlation, as nn.Conv1d
        *x, v = ((window * w).sum(-1) + op.short_filter.bias).split(op.d_model, dim=1)
        z = v  # (batch, d)
        for n in range(op.order):
            j = op.filter_of_step[n]
            if j is None:  # S_h^1 = I
                conv = z
            elif self.modal:
                y, self.state[n] = self.ssm[n].step(self.state[n], z)
                conv = y.to(z.dtype) + op.bias[j] * z
            else:
                self.past[n][..., t] = z
                h = self.h_flipped[j, :, -(t + 1) :]  # (d, t+1): h[t - s] for s = 0..t
                conv = torch.einsum("bds,ds->bd", self.past[n][..., : t + 1], h) + op.bias[j] * z
            z = x[n] * conv
        return op.out_proj(z)


class _KVCache:
    """Keys and values of one :class:`~hyena_lab.mixers.CausalSelfAttention` for every past
    position, ``(batch, heads, length, d_head)`` each."""

    def __init__(self, attn: CausalSelfAttention, batch: int, length: int) -> None:
        self.attn, H = attn, attn.num_heads
        self.d_head = attn.d_model // H
        w = attn.qkv.weight
        self.k = torch.zeros(batch, H, length, self.d_head, dtype=w.dtype, device=w.device)
        self.v = torch.zeros_like(self.k)

    def _qkv(self, a: torch.Tensor) -> torch.Tensor:
        """``(3, batch, heads, L, d_head)``, the layout of ``CausalSelfAttention``."""
        b, L, _ = a.shape
        return self.attn.qkv(a).reshape(b, L, 3, self.attn.num_heads, self.d_head).permute(
            2, 0, 3, 1, 4)  # fmt: skip

    def prefill(self, a: torch.Tensor) -> torch.Tensor:
        _, k, v = self._qkv(a)
        self.k[:, :, : a.shape[1]], self.v[:, :, : a.shape[1]] = k, v
        return self.attn(a)

    def step(self, a_t: torch.Tensor, t: int) -> torch.Tensor:
        q, k, v = self._qkv(a_t[:, None])[:, :, :, 0]  # each (batch, heads, d_head)
        self.k[:, :, t], self.v[:, :, t] = k, v
        scores = torch.einsum("bhd,bhsd->bhs", q, self.k[:, :, : t + 1]) / math.sqrt(self.d_head)
        wide = torch.promote_types(scores.dtype, torch.float32)  # as causal_softmax
        p = scores.to(wide).softmax(-1).to(scores.dtype)
        y = torch.einsum("bhs,bhsd->bhd", p, self.v[:, :, : t + 1])
        return self.attn.out_proj(y.reshape(a_t.shape))


class Decoder:
    """A model and what ``mode`` keeps of the past: ``prefill(prompt)``, then ``step(token)``,
    each returning the next-token logits ``(batch, vocab_size)``.

    Args:
        model: a :class:`~hyena_lab.models.TinyLM` (Hyena, H3 or attention mixers for
            ``"cache"``; Hyena or H3 for ``"modal"``).
        mode: one of :data:`MODES`.
        length: the longest sequence it will hold (prompt plus new tokens), ``<= l_max``; the
            cache is allocated once at this length. ``"recompute"`` has no such limit: past
            ``l_max`` it keeps the last ``l_max`` tokens, as nanoGPT does.
        modal_order: ``"modal"`` only: the state size per channel to distil to; ``None`` when
            ``model`` is already a :func:`distilled_copy`.
    """

    def __init__(self, model: TinyLM, mode: str = "recompute", length: int | None = None,
                 modal_order: int | None = None) -> None:  # fmt: skip
        self.model, l_max = _check_model(model), model.config.l_max
        if mode not in MODES:
            raise ValueError(f"mode must be one of {list(MODES)}, got {mode!r}")
        self.mode = mode
        self.length = l_max if length is None else check_positive_int(length, "length")
        if modal_order is not None and mode != "modal":
            raise ValueError(f"modal_order is used by mode='modal' only, got mode={mode!r}")
        if mode != "recompute" and self.length > l_max:
            raise ValueError(f"{mode!r} mode holds at most l_max={l_max} tokens (prompt plus new "
                             f"ones), asked for {self.length}; generate fewer tokens, use "
                             "mode='recompute' (it keeps the last l_max tokens) or a model with a "
                             "larger l_max")  # fmt: skip
        if mode == "modal":
            if not hyena_operators(model):
                raise _no_long_filters(model)
            if modal_order is not None:
                self.model = distilled_copy(model, modal_order)
            elif not all(isinstance(op.filter, ModalFilter) for op in hyena_operators(model)):
                raise ValueError(
                    "mode='modal' needs modal_order (the state size per channel to "
                    "distil each filter to), or a model from distilled_copy()"
                )
        self.ids: torch.Tensor | None = None  # (batch, t) every token so far
        self.caches: list = []

    def _layer_caches(self, batch: int) -> list:
        caches = []
        for block in self.model.blocks:
            m = block.mixer
            if isinstance(m, HyenaOperator):
                caches.append(_HyenaCache(m, batch, self.length, self.mode == "modal"))
            elif isinstance(m, CausalSelfAttention):
                caches.append(_KVCache(m, batch, self.length))
            else:
                raise ValueError(f"{self.mode!r} mode supports Hyena / H3 and attention mixers, "
                                 f"not {type(m).__name__}; use mode='recompute'")  # fmt: skip
        return caches

    @torch.no_grad()
    def prefill(self, prompt: torch.Tensor) -> torch.Tensor:
        """Read ``prompt`` ``(batch, P)`` (``1 <= P <= l_max``); the logits after its last token."""
        model = self.model
        prompt = model.check_tokens(prompt)  # ids in the vocabulary, P <= l_max
        if prompt.shape[1] == 0:
            raise ValueError("the prompt must hold at least one token")
        if prompt.shape[1] > self.length:
            raise ValueError(f"the prompt has {prompt.shape[1]} tokens, more than the decoder's "
                             f"length={self.length}")  # fmt: skip
        self.ids = prompt
        if self.mode == "recompute":
            return model(prompt)[:, -1]
        self.caches = self._layer_caches(prompt.shape[0])
        x = model.embed(prompt)  # (batch, P, d)
        for block, cache in zip(model.blocks, self.caches, strict=True):
            x = x + cache.prefill(block.norm1(x))
            x = block.feed_forward(x)
        return model.head(model.norm(x[:, -1]))

    @torch.no_grad()
    def step(self, token: torch.Tensor) -> torch.Tensor:
        """Append ``token`` ``(batch,)``; the logits ``(batch, vocab_size)`` after it."""
        if self.ids is None:
            raise RuntimeError("call prefill(prompt) before step(token)")
        model, t = self.model, self.ids.shape[1]
        token = model.check_tokens(token.reshape(-1, 1).to(self.ids.device))[:, 0]
        self.ids = torch.cat([self.ids, token[:, None]], dim=1)
        if self.mode == "recompute":
            return model(self.ids[:, -model.config.l_max :])[:, -1]
        if t >= self.length:
            raise ValueError(f"the decoder holds {self.length} tokens; build it with a larger "
                             "length")  # fmt: skip
        x = model.embedding(token)  # (batch, d)
        if model.positions is not None:
            x = x + model.positions.weight[t]
        for block, cache in zip(model.blocks, self.caches, strict=True):
            x = x + cache.step(block.norm1(x), t)
            x = block.feed_forward(x)
        return model.head(model.norm(x))


def sample_next(logits: torch.Tensor, temperature: float, top_k: int | None,
                generator: torch.Generator) -> torch.Tensor:  # fmt: skip
    """One token per row of ``logits`` ``(batch, vocab)``, int64 ``(batch,)``: the argmax for
    ``temperature == 0``, else a draw from ``softmax(logits / temperature)`` restricted to the
    ``top_k`` largest (computed in float64, from ``generator``)."""
    logits = logits.to(torch.float64)
    if temperature == 0:
        return logits.argmax(-1)
    logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return torch.multinomial(logits.softmax(-1), 1, generator=generator)[:, 0]


def generate(
    model: TinyLM, prompt_ids: torch.Tensor, tokens: int, *, mode: str = "recompute",
    temperature: float = 1.0, top_k: int | None = None, seed: int = 0,
    modal_order: int | None = None,
) -> torch.Tensor:  # fmt: skip
    """Generate ``tokens`` tokens after ``prompt_ids``; returns int64 ``(1, P + tokens)``.

    Args:
        model: a :class:`~hyena_lab.models.TinyLM` (its mode, train or eval, is left as is; no
            gradients are kept).
        prompt_ids: token ids ``(P,)`` or ``(1, P)``, ``1 <= P <= l_max``, in the vocabulary.
        tokens: how many to generate, ``>= 1``; ``"cache"`` and ``"modal"`` need
            ``P + tokens <= l_max``.
        mode: ``"recompute"``, ``"cache"`` or ``"modal"`` (:data:`MODES`, :class:`Decoder`).
        temperature: ``0`` for greedy decoding, else the softmax temperature (``> 0``).
        top_k: sample among the ``top_k`` most likely tokens only (``None``: all).
        seed: seed of the draws; the same seed gives the same draws in every mode.
        modal_order: ``"modal"`` only: the state size per channel of the distilled filters.
    """
    _check_model(model)
    check_positive_int(tokens, "tokens")
    temperature = check_positive_float(temperature, "temperature", allow_zero=True)
    if top_k is not None:
        check_positive_int(top_k, "top_k")
    check_positive_int(seed, "seed", minimum=0)
    if not isinstance(prompt_ids, torch.Tensor):
        raise TypeError(
            f"prompt_ids must be a tensor of token ids, got {type(prompt_ids).__name__}"
        )
    if prompt_ids.ndim == 1:
        prompt_ids = prompt_ids[None]
    if prompt_ids.ndim != 2 or prompt_ids.shape[0] != 1:
        raise ValueError(f"prompt_ids must be one sequence, (P,) or (1, P), got shape "
                         f"{tuple(prompt_ids.shape)}")  # fmt: skip
    device = next(model.parameters()).device
    prompt_ids = prompt_ids.to(device)
    if prompt_ids.shape[1] > model.config.l_max:
        raise ValueError(f"the prompt has {prompt_ids.shape[1]} tokens, more than the model's "
                         f"l_max={model.config.l_max}")  # fmt: skip
    length = prompt_ids.shape[1] + tokens
    decoder = Decoder(model, mode, length if mode != "recompute" else None, modal_order)
    generator = torch.Generator(device=device).manual_seed(seed)
    logits = decoder.prefill(prompt_ids)
    for i in range(tokens):
        token = sample_next(logits, temperature, top_k, generator)
        if i < tokens - 1:
            logits = decoder.step(token)
        else:
            decoder.ids = torch.cat([decoder.ids, token[:, None]], dim=1)
    return decoder.ids
