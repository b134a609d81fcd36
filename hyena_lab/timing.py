"""Deprecated: the timer moved to :mod:`hyena_lab.measure` (the one module that reads a clock)."""

from .deprecation import moved

__getattr__ = moved(__name__, {"time_fn": "hyena_lab.measure"})
