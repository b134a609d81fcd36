"""hyena-lab: an executable handbook for *Hyena Hierarchy* (Poli et al., 2023, arXiv 2302.10866).

The package holds every piece of logic the chapters use; modules mirror the paper:

* :mod:`hyena_lab.conv`: causal long convolutions (Sec. 2.1): direct, Toeplitz, FFT.
* :mod:`hyena_lab.filters`: long-filter parameterisations, the implicit filter (Sec. 3.3).
* :mod:`hyena_lab.operator`: the Hyena recurrence and its matrices D_x, S_h (Sec. 3.1-3.2).
* :mod:`hyena_lab.official`: the bridge to the official implementation's weights.
* :mod:`hyena_lab.tasks`: synthetic tasks: associative recall, majority, counting (Sec. 4.1).
* :mod:`hyena_lab.mixers`, :mod:`hyena_lab.models`, :mod:`hyena_lab.train`: the mixers compared
  in Sec. 4.1, tiny models built from them, their training loop (and :mod:`hyena_lab.checkpoint`);
  :mod:`hyena_lab.recall`: chapter 04's experiment and the ``recall`` command.
* :mod:`hyena_lab.bench`, :mod:`hyena_lab.roofline`, :mod:`hyena_lab.measure`: GPU/CPU timing,
  FLOP and byte counts, the roofline model (Sec. 4.4).
* :mod:`hyena_lab.viz`: the figure style, ``savefig`` and ``save_data`` shared by every chapter,
  and per chapter the pure figure functions behind its widgets (``viz.conv``, ``viz.filters``...).
* :mod:`hyena_lab.exercises`: the exercises of every chapter, reference solutions and checkers.
* :mod:`hyena_lab.course`: chapter 0's outline, its map of the paper and its run-time table.
* :mod:`hyena_lab.checks`: input checks, ``rel_err`` and every tolerance with its error analysis.
* :mod:`hyena_lab.progress`, :mod:`hyena_lab.handbook`, :mod:`hyena_lab.cli`: the progress bar,
  the runner behind ``make handbook``, and the ``hyena-lab`` command.
"""

import os as _os
import sys as _sys

import torch as _torch

if "triton" not in _sys.modules and not _torch.cuda.is_available():
    # Chapter 06's Triton kernels (hyena_lab.kernels) then run in Triton's CPU interpreter.
    # Triton reads this when it is first imported, and torch may import it on its own (the
    # first optimizer step imports torch._dynamo, which imports triton), so it is set here,
    # before anything else can; a value already in the environment is kept. Triton's own
    # kernels only: torch.compile on a CPU generates C++, not Triton, and is not affected.
    _os.environ.setdefault("TRITON_INTERPRET", "1")

from .conv import circular_fftconv, direct_conv, fftconv, toeplitz
from .filters import ExplicitFilter, FrequencyFilter, ImplicitFilter, SSMFilter, make_filter
from .operator import HyenaMatrices, HyenaOperator

__version__ = "0.1.0"

__all__ = [
    "ExplicitFilter",
    "FrequencyFilter",
    "HyenaMatrices",
    "HyenaOperator",
    "ImplicitFilter",
    "SSMFilter",
    "__version__",
    "circular_fftconv",
    "direct_conv",
    "fftconv",
    "make_filter",
    "toeplitz",
]
