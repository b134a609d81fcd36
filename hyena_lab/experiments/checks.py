"""Two correctness checks as commands: ``hyena-lab check-conv`` (chapter 01: ``fftconv``
against the O(L^2) definition in float64, within :func:`hyena_lab.checks.fftconv_error_bound`)
and ``hyena-lab official`` (chapter 02: the operator loaded from the official weights on the
shipped test vectors: relative errors and the round trip)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..checks import direct_conv_error_bound, fftconv_error_bound, rel_err
from ..conv import direct_conv, fftconv
from ..options import int_in
from . import Experiment, option

__all__ = ["CHECK_CONV", "CHECK_CONV_MAX_LEN", "EXPERIMENTS", "OFFICIAL", "CheckConvConfig"]

#: check-conv's reference is the O(L^2) definition: ~L^2 * channels multiply-adds. Beyond this
#: length it would run for minutes to hours, so the command refuses it.
CHECK_CONV_MAX_LEN = 65536


@dataclass(frozen=True)
class CheckConvConfig:
    """Options of ``hyena-lab check-conv``."""

    seq_len: int = option(1000, "sequence length L (the O(L^2) reference limits it)",
                          int_in(1, CHECK_CONV_MAX_LEN))  # fmt: skip
    channels: int = option(4, "channels d", int_in(1, 1024))
    seed: int = option(0, "random seed", int_in(0, 2**63 - 1))


def check_conv(config: CheckConvConfig) -> dict:
    """fftconv against the direct definition in float64: errors and the bound they must meet."""
    g = torch.Generator().manual_seed(config.seed)
    u = torch.randn(config.channels, config.seq_len, generator=g, dtype=torch.float64)
    k = torch.randn(config.channels, config.seq_len, generator=g, dtype=torch.float64)
    ref = direct_conv(u, k)  # (channels, L)
    y = fftconv(u, k)
    bound = fftconv_error_bound(u, k) + direct_conv_error_bound(u, k)
    abs_err = float((y - ref).norm())
    return {"seq_len": config.seq_len, "channels": config.channels,
            "rel_err_float64": rel_err(y, ref), "abs_err_float64": abs_err,
            "error_bound_float64": bound, "within_bound": abs_err <= bound}  # fmt: skip


@dataclass(frozen=True)
class OfficialConfig:
    """``hyena-lab official`` has no options: it checks every shipped set of vectors."""


def official_vectors(config: OfficialConfig) -> dict:
    """Load every shipped set of official test vectors and report the relative errors."""
    from ..official import from_safari, load_vectors, to_safari, vector_files

    report = {}
    for path in vector_files():
        vec = load_vectors(path.stem)
        op = from_safari(vec["config"], vec["state_dict"])
        errs = []
        with torch.no_grad():
            for case in vec["cases"]:
                y, k = op(case["u"]), op.filters(case["L"])
                errs.append({"L": case["L"], "rel_err_y": rel_err(y, case["y"]),
                             "rel_err_k": rel_err(k, case["k"])})  # fmt: skip
        _, sd = to_safari(op)
        same = all(torch.equal(sd[n], t) for n, t in vec["state_dict"].items())
        report[path.stem] = {"cases": errs, "round_trip_identical": same}
    return report


CHECK_CONV = Experiment("check-conv", "check fftconv against the O(L^2) definition",
                        CheckConvConfig, check_conv)  # fmt: skip
OFFICIAL = Experiment("official", "check the handbook operator against the official test vectors",
                      OfficialConfig, official_vectors)  # fmt: skip
EXPERIMENTS = (CHECK_CONV, OFFICIAL)
