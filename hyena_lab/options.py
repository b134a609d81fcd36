"""Command-line option types shared by every ``hyena-lab`` subcommand: a bad value is a usage
error (exit status 2) naming the option and the accepted range, never a traceback."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

__all__ = ["HelpFormatter", "float_in", "int_in"]


def _number_in(kind: str, convert: type, lo: float, hi: float | None, open_lo: bool):
    """An argparse ``type`` parsing ``convert(text)`` in ``[lo, hi]`` (``(lo, hi]``)."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            value = None
        ok = value is not None and (value > lo if open_lo else value >= lo)
        if not ok or (hi is not None and value > hi) or not -math.inf < value < math.inf:  # finite
            left = "(" if open_lo else "["
            span = f"{left}{lo}, {hi}]" if hi is not None else f"{'>' if open_lo else '>='} {lo}"
            raise argparse.ArgumentTypeError(f"expected a {kind} number {span}, got {text!r}")
        return value

    parse.__name__ = convert.__name__  # argparse names the type in its messages
    return parse


def int_in(lo: int, hi: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: a whole number in ``[lo, hi]``."""
    return _number_in("whole", int, lo, hi, open_lo=False)


def float_in(
    lo: float, hi: float | None = None, *, open_lo: bool = False
) -> Callable[[str], float]:
    """An argparse ``type``: a finite number in ``[lo, hi]`` (``(lo, hi]`` with ``open_lo``)."""
    return _number_in("finite", float, lo, hi, open_lo)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` with every default shown, except ``None`` and flags (their help says it)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False or not action.help:
            return action.help
        return super()._get_help_string(action)
