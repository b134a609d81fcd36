"""What one benchmark run measures: :class:`BenchConfig`, and its command-line options.

Every field of :class:`BenchConfig` is defined once, with its default, help text, parser and
flag (:func:`_option`); the options of ``python -m hyena_lab.bench`` / ``hyena-lab bench``
(:func:`add_arguments`), the config read back from them (:func:`config_from_args`) and the
command line that reproduces a config (:func:`command_line`, recorded in every results file)
are all generated from those fields.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..checks import check_positive_float, check_positive_int
from ..mixers import SDPA_BACKENDS
from ..options import float_in, int_in

__all__ = [
    "BENCHES", "DTYPES", "PASSES", "SDPA_BACKENDS", "BenchConfig", "add_arguments", "command_line",
    "config_from_args"
]  # fmt: skip

BENCHES = ("fftconv", "sdpa", "naive", "hyena", "mha")
PASSES = ("fwd", "fwd+bwd")
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}


def _int_list(text: str) -> tuple[int, ...]:
    """``"1024,2048"`` or ``"2^10..2^20"`` (powers of two) -> a tuple of ints."""
    text = text.strip()
    if ".." in text:
        lo, hi = (int(s.strip().removeprefix("2^")) for s in text.split(".."))
        return tuple(2**p for p in range(lo, hi + 1))
    try:
        return tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers or '2^a..2^b', got {text!r}"
        ) from err


def _str_list(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


def _join(values: Sequence[object]) -> str:
    return ",".join(map(str, values))


def _option(
    default: Any,
    help: str,
    parse: Callable[[str], Any],
    *,
    flag: str | None = None,
    show: Callable[[Any], str] = str,
    zero_is_none: bool = False,
    **argparse_kw: Any,
) -> Any:
    """A :class:`BenchConfig` field that is also a command-line option.

    ``parse`` reads one option value, ``show`` writes it back (for :func:`command_line`);
    ``flag`` is the option's name (default ``--field-name``). With ``zero_is_none`` the field
    may be ``None``, spelled ``0`` on the command line; otherwise a ``None`` field is left out
    of the command line (its option's default). A callable ``default`` is a default factory.
    """
    meta = {"help": help, "parse": parse, "flag": flag, "show": show,
            "zero_is_none": zero_is_none, "argparse": argparse_kw}  # fmt: skip
    if callable(default):
        return field(default_factory=default, metadata=meta)
    return field(default=default, metadata=meta)


def _default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


_POSITIVE = float_in(0, open_lo=True)


@dataclass
class BenchConfig:
    """Everything that defines one benchmark run (each field is a command-line option)."""

    device: str = _option(_default_device, "cuda or cpu", str)
    dtype: str = _option("bf16", "element type of inputs and weights", str,
                         choices=sorted(DTYPES))  # fmt: skip
    d_model: int = _option(768, "model width", int_in(1))
    heads: int = _option(12, "attention heads", int_in(1))
    tokens: int = _option(2**18, "tokens per batch (batch*L)", int_in(1))
    lengths: tuple[int, ...] = _option(  # 1K .. 1M
        tuple(2**p for p in range(10, 21)), "e.g. 1024,4096 or 2^10..2^20", _int_list,
        show=lambda v: _join(sorted(v)),
    )
    benches: tuple[str, ...] = _option(BENCHES, _join(BENCHES), _str_list, show=_join)
    passes: tuple[str, ...] = _option(PASSES, _join(PASSES), _str_list, show=_join)
    backends: tuple[str, ...] = _option(SDPA_BACKENDS, "SDPA backends", _str_list, show=_join)
    order: int = _option(2, "Hyena order N", int_in(1))
    warmup: int = _option(2, "untimed calls first", int_in(0))
    min_repeats: int = _option(5, "fewest timed calls", int_in(1))
    max_repeats: int = _option(50, "most timed calls", int_in(1))
    target_ms: float = _option(300.0, "timed work per case (adapts repeats)", _POSITIVE)
    max_call_ms: float = _option(1000.0, "skip a case predicted slower per call", _POSITIVE)
    time_budget_s: float = _option(480.0, "seconds; then start no case", _POSITIVE,
                                   flag="--time-budget")  # fmt: skip
    max_sets: int = _option(3, "input sets to rotate", int_in(1))
    seed: int = _option(0, "random seed", int_in(0, 2**63 - 1))
    profile_length: int | None = _option(65536, "0: no fftconv profile", int_in(0),
                                         zero_is_none=True)  # fmt: skip
    profile_layers: int | None = _option(None, "profile both layers at this L (0: no)",
                                         int_in(0), zero_is_none=True)  # fmt: skip
    threads: int | None = _option(None, "CPU threads (default: torch's)", int_in(1))

    def validate(self) -> BenchConfig:
        """Raise ``ValueError``/``TypeError`` on a bad field; return ``self``."""
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {self.dtype!r}")
        dev = torch.device(self.device)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("device 'cuda' asked for but torch.cuda.is_available() is False")
        for name in ("d_model", "heads", "tokens", "order", "min_repeats", "max_sets"):
            check_positive_int(getattr(self, name), name)
        check_positive_int(self.warmup, "warmup", minimum=0)
        check_positive_int(self.max_repeats, "max_repeats", minimum=self.min_repeats)
        for name in ("target_ms", "max_call_ms", "time_budget_s"):
            check_positive_float(getattr(self, name), name)
        if self.d_model % self.heads:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by heads ({self.heads})")
        if not self.lengths:
            raise ValueError("lengths must name at least one sequence length")
        for L in self.lengths:
            check_positive_int(L, "each length")
        for name in ("threads", "profile_length", "profile_layers"):
            if getattr(self, name) is not None:
                check_positive_int(getattr(self, name), name)
        _check_choices(self.benches, BENCHES, "benches")
        _check_choices(self.passes, PASSES, "passes")
        _check_choices(self.backends, SDPA_BACKENDS, "backends")
        return self

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    @property
    def head_dim(self) -> int:
        return self.d_model // self.heads

    def batch_for(self, L: int) -> int:
        """Batch size at length ``L``: ``tokens // L``, at least 1."""
        return max(1, self.tokens // L)


def _check_choices(values: Sequence[str], allowed: Sequence[str], name: str) -> None:
    bad = [v for v in values if v not in allowed]
    if bad or not values:
        raise ValueError(f"{name} must be a non-empty subset of {list(allowed)}, got {values}")


def _flag(f: dataclasses.Field) -> str:
    return f.metadata["flag"] or "--" + f.name.replace("_", "-")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One option per :class:`BenchConfig` field, then ``--out`` and ``--no-progress``."""
    defaults = BenchConfig()
    for f in dataclasses.fields(BenchConfig):
        meta, default = f.metadata, getattr(defaults, f.name)
        if meta["zero_is_none"] and default is None:
            default = 0
        flag, kw = _flag(f), dict(meta["argparse"])
        if "choices" not in kw:  # else argparse shows the choices
            kw["metavar"] = flag[2:].upper().replace("-", "_")
        parser.add_argument(flag, dest=f.name, type=meta["parse"], default=default,
                            help=meta["help"], **kw)  # fmt: skip
    parser.add_argument("--out", default=None, help="results JSON to write (after every length)")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm bar")


def config_from_args(args: argparse.Namespace) -> BenchConfig:
    """The validated :class:`BenchConfig` of parsed options (``0`` -> ``None`` where allowed)."""
    values = {}
    for f in dataclasses.fields(BenchConfig):
        value = getattr(args, f.name)
        values[f.name] = None if f.metadata["zero_is_none"] and value == 0 else value
    return BenchConfig(**values).validate()


def command_line(cfg: BenchConfig, out: str | Path | None = None) -> str:
    """The ``python -m hyena_lab.bench`` command that reproduces ``cfg``, every option spelled."""
    words = []
    for f in dataclasses.fields(BenchConfig):
        value = getattr(cfg, f.name)
        if value is None and f.metadata["zero_is_none"]:
            value = 0
        elif value is None:
            continue
        words.append(f"{_flag(f)} {f.metadata['show'](value)}")
    if out is not None:
        words.append(f"--out {out}")
    return "python -m hyena_lab.bench " + " ".join(words)
