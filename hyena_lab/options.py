"""Command-line option types shared by every ``hyena-lab`` subcommand.

A bad value is an argparse usage error (exit status 2) that names the option and the accepted
range, never a Python traceback.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

__all__ = ["HelpFormatter", "float_in", "int_in"]


def int_in(lo: int, hi: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: a whole number in ``[lo, hi]``; anything else is a usage error
    (exit status 2) that names the accepted range, never a traceback."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < lo or (hi is not None and value > hi):
            span = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
            raise argparse.ArgumentTypeError(f"expected a whole number {span}, got {text!r}")
        return value

    parse.__name__ = "int"  # argparse names the type in its messages
    return parse


def float_in(
    lo: float, hi: float | None = None, *, open_lo: bool = False
) -> Callable[[str], float]:
    """An argparse ``type``: a finite number in ``[lo, hi]`` (``(lo, hi]`` with ``open_lo``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        low_ok = value > lo if open_lo else value >= lo
        if not (math.isfinite(value) and low_ok and (hi is None or value <= hi)):
            left = "(" if open_lo else "["
            span = f"{left}{lo}, {hi}]" if hi is not None else f"{'>' if open_lo else '>='} {lo}"
            raise argparse.ArgumentTypeError(f"expected a finite number {span}, got {text!r}")
        return value

    parse.__name__ = "float"
    return parse


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` that shows every option's default, except ``None`` and flags (which have
    none worth showing: their help says what happens without them)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False or not action.help:
            return action.help
        return super()._get_help_string(action)
