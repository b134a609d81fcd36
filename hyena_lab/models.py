"""Tiny language models with an interchangeable sequence mixer (the models of Sec. 4.1).

The paper's recall experiments (Table A.1) train 2-layer, width-64 models that differ only in
their *mixer*; everything else is a standard pre-norm Transformer block::

    tokens (batch, L) -> embedding (+ positions if the mixer needs them) -> x (batch, L, d_model)
    for each of n_layers blocks:
        x = x + mixer(LayerNorm(x))        # moves information along the sequence
        x = x + MLP(LayerNorm(x))          # per position: Linear(d, 4d), GELU, Linear(4d, d)
    logits = LM head(LayerNorm(x))         # (batch, L, vocab_size)

so that a difference in accuracy is a difference between mixers. :class:`ModelConfig` holds
only plain values (so it can be stored in a checkpoint and loaded with ``weights_only=True``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from .checks import check_ndim, check_positive_int, check_tensor
from .mixers import MIXERS, build_mixer, decompose

__all__ = ["Block", "ModelConfig", "TinyLM"]


@dataclass
class ModelConfig:
    """Everything needed to rebuild a :class:`TinyLM`: plain values only.

    Attributes:
        vocab_size: number of token ids (the tasks' special tokens included).
        l_max: longest sequence the model accepts (Hyena / conv filters are built this long).
        mixer: a key of :data:`hyena_lab.mixers.MIXERS`.
        d_model: width (64 in Table A.1).
        n_layers: number of blocks (2 in Table A.1).
        mlp_ratio: hidden width of the MLP in units of ``d_model`` (4, as in the official config);
            0 leaves the MLP out (blocks of mixers only, as in Zoology's MQAR runs).
        mixer_args: extra keyword arguments of the mixer (e.g. ``{"order": 3}`` for Hyena,
            ``{"num_heads": 2}`` for attention).
    """

    vocab_size: int
    l_max: int
    mixer: str = "hyena"
    d_model: int = 64
    n_layers: int = 2
    mlp_ratio: int = 4
    mixer_args: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_positive_int(self.vocab_size, "vocab_size", minimum=2)
        check_positive_int(self.l_max, "l_max")
        check_positive_int(self.d_model, "d_model")
        check_positive_int(self.n_layers, "n_layers")
        check_positive_int(self.mlp_ratio, "mlp_ratio", minimum=0)
        if self.mixer not in MIXERS:
            raise ValueError(f"mixer must be one of {sorted(MIXERS)}, got {self.mixer!r}")

    def to_dict(self) -> dict:
        """The configuration as a plain dict (what checkpoints store)."""
        return asdict(self)


class Block(nn.Module):
    """Pre-norm residual block: ``x + mixer(LN(x))`` then ``x + MLP(LN(x))`` (no MLP when
    ``mlp_ratio`` is 0)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        d = config.d_model
        self.norm1 = nn.LayerNorm(d)
        self.mixer = build_mixer(config.mixer, d, config.l_max, **config.mixer_args)
        self.norm2 = nn.LayerNorm(d) if config.mlp_ratio else None
        self.mlp = (
            nn.Sequential(
                nn.Linear(d, config.mlp_ratio * d), nn.GELU(), nn.Linear(config.mlp_ratio * d, d)
            )
            if config.mlp_ratio
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, seq_len, d_model) -> (batch, seq_len, d_model)``."""
        return self.feed_forward(x + self.mixer(self.norm1(x)))

    def feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        """The block's second half, ``x + MLP(LN(x))`` (``x`` itself without an MLP); shapes
        ``(..., d_model)``, so that a decoder can run it one position at a time."""
        return x if self.mlp is None else x + self.mlp(self.norm2(x))


class TinyLM(nn.Module):
    """Embedding, ``n_layers`` :class:`Block` s and a linear LM head: tokens -> next-token logits.

    Learned absolute position embeddings are added only when the mixer asks for them
    (``needs_positions``: attention); Hyena, H3 and long convolutions know positions through
    their filters, and the official recall models give them none.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        d = config.d_model
        self.embedding = nn.Embedding(config.vocab_size, d)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        needs_positions = getattr(self.blocks[0].mixer, "needs_positions", False)
        self.positions = nn.Embedding(config.l_max, d) if needs_positions else None
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, config.vocab_size)

    def check_tokens(self, tokens: object) -> torch.Tensor:
        """Raise unless ``tokens`` is an integer ``(batch, seq_len)`` tensor of valid ids."""
        tokens = check_tensor(tokens, "tokens")
        check_ndim(tokens, "tokens", 2, "(batch, seq_len)")
        if tokens.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"tokens must be int64 (or int32) token ids, got dtype {tokens.dtype}")
        if tokens.shape[1] > self.config.l_max:
            raise ValueError(
                f"sequence length {tokens.shape[1]} exceeds the model's l_max={self.config.l_max}"
            )
        if tokens.numel() and (tokens.min() < 0 or tokens.max() >= self.config.vocab_size):
            raise ValueError(
                f"token ids must lie in [0, {self.config.vocab_size}), got range "
                f"[{int(tokens.min())}, {int(tokens.max())}]"
            )
        return tokens

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        """Token (+ position) embeddings, ``(batch, seq_len, d_model)``."""
        x = self.embedding(self.check_tokens(tokens))
        if self.positions is not None:
            x = x + self.positions.weight[: tokens.shape[1]]
        return x

    #: :meth:`forward` takes ``scored=``: :func:`hyena_lab.train.train_step` and ``evaluate``
    #: then compute logits only where a target is scored.
    scores_positions = True

    def forward(self, tokens: torch.Tensor, scored: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``(batch, seq_len, vocab_size)`` for ``tokens`` ``(batch, seq_len)``.

        With a boolean mask ``scored`` ``(batch, seq_len)``, only the logits of the positions it
        marks, ``(n_scored, vocab_size)`` in row-major order: the same numbers as
        ``forward(tokens)[scored]`` (LayerNorm and the head act on each position alone), without
        the head's work at the positions no loss reads. For MQAR at vocab 8192 that work is most
        of a step (a head of ``d_model x 8192`` at every position, against 4-16 queries).
        """
        x = self.embed(tokens)
        for block in self.blocks:
            x = block(x)
        if scored is not None:
            if scored.shape != tokens.shape or scored.dtype != torch.bool:
                raise ValueError(f"scored must be a bool mask of the tokens' shape "
                                 f"{tuple(tokens.shape)}, got {scored.dtype} "
                                 f"{tuple(scored.shape)}")  # fmt: skip
            x = x[scored]  # (n_scored, d_model)
        return self.head(self.norm(x))

    @torch.no_grad()
    def mixer_inputs(self, tokens: torch.Tensor) -> list[torch.Tensor]:
        """What each layer's mixer reads, ``LN(x)``, one ``(batch, seq_len, d_model)`` per layer.

        :meth:`decompose` feeds ``mixer_inputs(tokens)[i]`` to layer ``i``'s mixer to get the
        matrix that layer applies to this input.
        """
        x = self.embed(tokens)
        inputs = []
        for block in self.blocks:
            inputs.append(block.norm1(x))
            x = block(x)
        return inputs

    @torch.no_grad()
    def decompose(self, tokens: torch.Tensor, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Layer ``layer``'s mixer on one sequence ``(1, L)``, as ``y = W_out (A v)`` per channel.

        Returns ``A`` ``(d_model, L, L)`` and ``v`` ``(d_model, L)``
        (:func:`hyena_lab.mixers.decompose`): ``A(u)`` of Sec. 3.2 for Hyena and H3, each
        channel's softmax matrix for attention, ``S_h`` for the long convolution. Row ``t`` of
        ``A`` says how output ``t`` weighs each input position ``s <= t``.
        """
        self.check_layer(layer)
        if tokens.ndim != 2 or tokens.shape[0] != 1:
            raise ValueError(f"tokens must be one sequence (1, seq_len), got {tuple(tokens.shape)}")
        return decompose(self.blocks[layer].mixer, self.mixer_inputs(tokens)[layer])

    @torch.no_grad()
    def contributions(self, tokens: torch.Tensor, layer: int) -> torch.Tensor:
        """How much each input position moves each output of a mixer, ``(L, L)``.

        ``C[t, s] = || W_out (A[:, t, s] * v[:, s]) ||_2``: the norm of the vector that input
        ``s`` adds to output ``t`` (the mixer's output is the sum of these vectors over ``s``,
        plus the bias of ``W_out``). Unlike ``|A|`` alone, it weighs a channel by its value
        ``v`` and by what ``W_out`` keeps of it, and it reads the same for attention and Hyena.
        """
        A, v = self.decompose(tokens, layer)  # (d, L, L), (d, L)
        W = self.blocks[layer].mixer.out_proj.weight  # (d_out, d)
        parts = torch.einsum("oc,cts->ots", W, A * v[:, None, :])  # (d_out, L, L)
        return parts.norm(dim=0)

    def check_layer(self, layer: object) -> int:
        """Raise unless ``layer`` indexes a block (0-based); return it."""
        n = len(self.blocks)
        if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < n:
            raise ValueError(f"layer must be an int in [0, {n}), got {layer!r}")
        return layer

    @property
    def num_params(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)
