"""Chapter 07's language models (paper Sec. 4.2 at 1M parameters): a GPT and a Hyena LM of the
same size, trained on character-level Tiny Shakespeare by the package's one training loop.

* :mod:`~hyena_lab.lm.models`: :func:`lm_model_config` (nanoGPT's CPU shape: 4 blocks, width
  128, context 64), parameters matched within 5%;
* :mod:`~hyena_lab.lm.data`: :class:`TextBatches`, the text as a ``BatchSource`` of
  :func:`hyena_lab.train.train` (seeded windows per step; the whole validation split scored);
* :mod:`~hyena_lab.lm.runs`: :data:`LM_RECIPE` (a cosine over the time budget), :func:`run_lm`,
  :func:`resume_lm`, :func:`lm_summary`;
* :mod:`~hyena_lab.lm.commands`: ``hyena-lab lm train`` and ``hyena-lab lm sample``;
* :mod:`~hyena_lab.lm.ddp`: the same loop under ``torchrun`` (torch.distributed DDP).
"""

from .commands import (
    GENERATION_MODES,
    LMSampleOptions,
    LMTrainOptions,
    add_lm_command,
    lm_sample,
    lm_train,
    load_lm,
)
from .data import VALID_SEED, VALID_WINDOWS, TextBatches, shakespeare, step_generator
from .ddp import finish_distributed, init_distributed, launched_by_torchrun
from .models import (
    GPT_HEADS,
    HYENA_FILTER_ORDER,
    LM_MIXERS,
    build_lm,
    check_lm_payload,
    lm_model_config,
)
from .runs import LM_RECIPE, lm_summary, resume_lm, run_lm

__all__ = [
    "GENERATION_MODES", "GPT_HEADS", "HYENA_FILTER_ORDER", "LM_MIXERS", "LM_RECIPE",
    "VALID_SEED", "VALID_WINDOWS", "LMSampleOptions", "LMTrainOptions", "TextBatches",
    "add_lm_command", "build_lm", "check_lm_payload", "finish_distributed", "init_distributed",
    "launched_by_torchrun", "lm_model_config", "lm_sample", "lm_summary", "lm_train", "load_lm",
    "resume_lm", "run_lm", "shakespeare", "step_generator",
]  # fmt: skip
