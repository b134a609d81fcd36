"""What one benchmark run measures: :class:`BenchConfig`, and its command-line options.

Each field is an :func:`hyena_lab.experiments.option`; the options, the config read back from
them and the command that reproduces a config (recorded in every results file) are generated
from the fields.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from ..checks import check_positive_float, check_positive_int
from ..experiments import option
from ..mixers import SDPA_BACKENDS
from ..options import float_in, int_in

__all__ = [
    "BENCHES", "DTYPES", "FORWARD_ONLY", "HYENA_VARIANTS", "PASSES", "SDPA_BACKENDS",
    "ZERO_IS_NONE", "BenchConfig", "add_arguments", "command_line", "config_from_args"
]  # fmt: skip

BENCHES = ("fftconv", "sdpa", "naive", "hyena", "mha")
#: How the ``hyena`` bench builds the layer (chapter 06): ``torch`` the eager operator,
#: ``compile`` ``torch.compile`` of it, ``monarch`` the FFTs as matrix products, ``triton`` the
#: fused kernels of :mod:`hyena_lab.kernels` with cuFFT for the long convolutions,
#: ``triton_sram`` the same with each gated long convolution done on chip where ``L`` allows
#: (:mod:`hyena_lab.kernels.fftconv_sram`, ``L <= 4096``), ``triton_long`` the same with the
#: three-pass long convolution where it runs (:mod:`hyena_lab.kernels.long_fft`: forward
#: without autograd, ``L`` from 32K to 512K; experimental), ``triton_half`` the same with the
#: long convolutions' transforms in half precision (:mod:`hyena_lab.kernels.layer`: forward
#: without autograd, CUDA, power-of-two ``L``, scales measured; the layer's default for bf16
#: inputs, while ``triton`` sets ``op.half_fft = False``: float32 transforms).
HYENA_VARIANTS = (
    "torch", "compile", "monarch", "triton", "triton_sram", "triton_long", "triton_half"
)  # fmt: skip
#: Variants that only take their own path without autograd (forward+backward: not run).
FORWARD_ONLY = ("triton_long", "triton_half")
PASSES = ("fwd", "fwd+bwd")
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
#: Options whose flag is not ``--field-name``.
_FLAGS = {"time_budget_s": "--time-budget"}
#: Fields that may be ``None``, spelled ``0`` on the command line (other ``None`` fields are
#: left out of :func:`command_line`: their option's default).
ZERO_IS_NONE = ("profile_length", "profile_layers")


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


_POSITIVE = float_in(0, open_lo=True)


@dataclass
class BenchConfig:
    """Everything that defines one benchmark run (each field is a command-line option)."""

    device: str = option(None, "cuda or cpu", str)  # None: cuda if there is one (__post_init__)
    dtype: str = option("bf16", "element type of inputs and weights", str, choices=sorted(DTYPES))
    d_model: int = option(768, "model width", int_in(1))
    heads: int = option(12, "attention heads", int_in(1))
    tokens: int = option(2**18, "tokens per batch (batch*L)", int_in(1))
    lengths: tuple[int, ...] = option(  # 1K .. 1M
        tuple(2**p for p in range(10, 21)), "e.g. 1024,4096 or 2^10..2^20", _int_list
    )
    benches: tuple[str, ...] = option(BENCHES, _join(BENCHES), _str_list)
    passes: tuple[str, ...] = option(PASSES, _join(PASSES), _str_list)
    backends: tuple[str, ...] = option(SDPA_BACKENDS, "SDPA backends", _str_list)
    hyena_variants: tuple[str, ...] = option(("torch",), "Hyena layers: " + _join(HYENA_VARIANTS),
                                             _str_list)  # fmt: skip
    order: int = option(2, "Hyena order N", int_in(1))
    warmup: int = option(2, "untimed calls first", int_in(0))
    min_repeats: int = option(5, "fewest timed calls", int_in(1))
    max_repeats: int = option(50, "most timed calls", int_in(1))
    target_ms: float = option(300.0, "timed work per case (adapts repeats)", _POSITIVE)
    max_call_ms: float = option(1000.0, "skip a case predicted slower per call", _POSITIVE)
    time_budget_s: float = option(480.0, "seconds; then start no case", _POSITIVE)
    max_sets: int = option(3, "input sets to rotate", int_in(1))
    seed: int = option(0, "random seed", int_in(0, 2**63 - 1))
    profile_length: int | None = option(65536, "0: no fftconv profile", int_in(0))
    profile_layers: int | None = option(None, "profile both layers at this L (0: no)", int_in(0))
    accuracy_length: int | None = option(  # None: the shortest length
        None, "L of the accuracy checks (0: none; default: the shortest length)", int_in(0)
    )
    threads: int | None = option(None, "CPU threads (default: torch's)", int_in(1))

    def __post_init__(self) -> None:
        if self.device is None:
            self.device = "cuda" if torch.cuda.is_available() else "cpu"

    def validate(self) -> BenchConfig:
        """Raise ``ValueError``/``TypeError`` on a bad field; return ``self``."""
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {self.dtype!r}")
        if torch.device(self.device).type == "cuda" and not torch.cuda.is_available():
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
        if self.accuracy_length is not None:  # 0: no accuracy checks
            check_positive_int(self.accuracy_length, "accuracy_length", minimum=0)
        subsets = {"benches": BENCHES, "passes": PASSES, "backends": SDPA_BACKENDS,
                   "hyena_variants": HYENA_VARIANTS}  # fmt: skip
        for name, allowed in subsets.items():
            values = getattr(self, name)
            if not values or any(v not in allowed for v in values):
                raise ValueError(
                    f"{name} must be a non-empty subset of {list(allowed)}, got {values}"
                )
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


def _flag(name: str) -> str:
    return _FLAGS.get(name, "--" + name.replace("_", "-"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One option per :class:`BenchConfig` field, then ``--out`` and ``--no-progress``."""
    defaults = BenchConfig()
    for f in dataclasses.fields(BenchConfig):
        default = getattr(defaults, f.name)
        if default is None and f.name in ZERO_IS_NONE:
            default = 0
        flag, kw = _flag(f.name), dict(f.metadata["argparse"])
        if "choices" not in kw:  # else argparse shows the choices
            kw["metavar"] = flag[2:].upper().replace("-", "_")
        parser.add_argument(flag, dest=f.name, type=f.metadata["type"], default=default,
                            help=f.metadata["help"], **kw)  # fmt: skip
    parser.add_argument("--out", default=None, help="results JSON to write (after every case)")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    parser.add_argument("--resume", default=None, metavar="FILE",
                        help="continue the run cut short in FILE (its settings; written back "
                             "to FILE unless --out names another)")  # fmt: skip


def config_from_args(args: argparse.Namespace) -> BenchConfig:
    """The validated :class:`BenchConfig` of parsed options (``0`` -> ``None`` where allowed)."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(BenchConfig)}
    for name in ZERO_IS_NONE:
        values[name] = None if values[name] == 0 else values[name]
    return BenchConfig(**values).validate()


def command_line(cfg: BenchConfig, out: str | Path | None = None) -> str:
    """The ``python -m hyena_lab.bench`` command that reproduces ``cfg``, every option spelled."""
    words = []
    for f in dataclasses.fields(BenchConfig):
        value = getattr(cfg, f.name)
        if value is None and f.name in ZERO_IS_NONE:
            value = 0
        elif value is None:
            continue
        elif isinstance(value, tuple):
            value = _join(sorted(value) if f.name == "lengths" else value)
        words.append(f"{_flag(f.name)} {value}")
    if out is not None:
        words.append(f"--out {out}")
    return "python -m hyena_lab.bench " + " ".join(words)
