"""Deprecated: the timer moved to :mod:`hyena_lab.measure` (the one module that reads a clock).

``hyena_lab.timing.time_fn`` still works, with a ``DeprecationWarning``: use
:func:`hyena_lab.measure.time_fn` (or :func:`hyena_lab.measure.time_calls` for several callables
in interleaved rounds).
"""

from __future__ import annotations

import warnings


def __getattr__(name: str) -> object:
    if name == "time_fn":
        warnings.warn(
            "hyena_lab.timing.time_fn moved to hyena_lab.measure.time_fn",
            DeprecationWarning,
            stacklevel=2,
        )
        from .measure import time_fn

        return time_fn
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
