"""The two language models of chapter 07, the same size and recipe (paper Sec. 4.2 at 1M scale).

nanoGPT's CPU shape for Tiny Shakespeare: 4 pre-LayerNorm blocks of width 128, context 64, MLP
4x, no dropout. The GPT mixes with causal softmax attention (4 heads) and adds learned position
embeddings; the Hyena LM puts the order-2 Hyena operator (Definition 3.1, implicit filters of
Sec. 3.3) in the same place and needs no positions (its filters know them). Both are
:class:`~hyena_lab.models.TinyLM` s, so checkpoints, :meth:`~hyena_lab.models.TinyLM.decompose`
and every other tool of the package take them as they are.

Parameters (vocabulary 65): GPT 818,241; Hyena 843,713 (+3.1%). The Hyena operator has more
weights per block than attention (``in_proj`` makes three signals as ``qkv`` does, plus the
short filter and the filter FFN); an FFN of width 32 (:data:`HYENA_FILTER_ORDER`, the official
default is 64: +8.3%) keeps the two within the 5% that the chapter allows.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from ..models import ModelConfig, TinyLM

__all__ = ["GPT_HEADS", "HYENA_FILTER_ORDER", "LM_MIXERS", "TASK", "build_lm",
           "check_lm_payload", "lm_model_config"]  # fmt: skip

#: The two mixers of the comparison.
LM_MIXERS = ("attention", "hyena")
#: Attention heads of the GPT (nanoGPT's CPU recipe).
GPT_HEADS = 4
#: Width of the Hyena filter FFN that matches the GPT's parameters (see the module docstring).
HYENA_FILTER_ORDER = 32
#: ``run["task"]`` of a language-model checkpoint.
TASK = "lm"


def lm_model_config(
    mixer: str, vocab_size: int, block_size: int = 64, d_model: int = 128, n_layers: int = 4,
    *, num_heads: int = GPT_HEADS, filter_order: int = HYENA_FILTER_ORDER,
    l_max: int | None = None,
) -> ModelConfig:  # fmt: skip
    """The :class:`~hyena_lab.models.ModelConfig` of the chapter's GPT (``"attention"``) or
    Hyena LM (``"hyena"``): ``n_layers`` blocks of width ``d_model``, MLP 4x, trained on
    windows of ``block_size`` characters; ``l_max`` (default ``block_size``) is the longest
    context the model accepts (the GPT learns one position embedding per position up to it)."""
    if mixer not in LM_MIXERS:
        raise ValueError(f"mixer must be one of {list(LM_MIXERS)}, got {mixer!r}")
    l_max = block_size if l_max is None else l_max
    if l_max < block_size:
        raise ValueError(f"l_max ({l_max}) must be >= block_size ({block_size})")
    if mixer == "attention":
        args: dict = {"num_heads": num_heads}
    else:
        args = {"order": 2, "filter_args": {"filter_order": filter_order}}
    return ModelConfig(vocab_size=vocab_size, l_max=l_max, mixer=mixer, d_model=d_model,
                       n_layers=n_layers, mlp_ratio=4, mixer_args=args)  # fmt: skip


def build_lm(config: ModelConfig, seed: int = 0) -> TinyLM:
    """A fresh :class:`~hyena_lab.models.TinyLM` of ``config``, initialised from ``seed``."""
    torch.manual_seed(seed)
    return TinyLM(config)


def check_lm_payload(payload: Mapping, chars: str, path: object) -> None:
    """Raise ``ValueError`` unless the checkpoint ``payload`` (read from ``path``) holds a
    language model trained on the vocabulary ``chars``."""
    run = payload.get("run") or {}
    if run.get("task") != TASK:
        what = run.get("task") or "no recorded task"
        raise ValueError(f"{path} is not a language-model checkpoint (its run: {what}); "
                         "expected one written by `hyena-lab lm train --out`")  # fmt: skip
    saved = str(run.get("vocab", ""))
    vocab_size = int(payload["model_config"]["vocab_size"])
    if saved != chars or vocab_size != len(chars):
        raise ValueError(f"{path} was trained on another vocabulary ({vocab_size} ids, "
                         f"{saved[:20]!r}...): expected the {len(chars)} characters of "
                         f"Tiny Shakespeare ({chars[:20]!r}...)")  # fmt: skip
