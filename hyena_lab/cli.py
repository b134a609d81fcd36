"""The ``hyena-lab`` command line: every experiment of the handbook as a subcommand.

Each subcommand prints, as its last line, one JSON object with the figures it measured, so that
scripts can collect them; the long ones (``recall``, ``recall-grid``, ``bench``) show a progress
bar while they work. A bad option is a usage error naming it (exit status 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import import_module

import torch

from . import __version__
from .checks import direct_conv_error_bound, fftconv_error_bound, rel_err
from .conv import direct_conv, fftconv
from .experiments import add_command
from .options import int_in
from .recall import exit_status
from .train import TrainingDiverged

#: The chapter experiments under hyena_lab.experiments, each one or more subcommands.
EXPERIMENT_MODULES = ("conv_costs", "matrix_costs", "filters")

#: check-conv's reference is the O(L^2) definition: ~L^2 * channels multiply-adds. Beyond this
#: length it would run for minutes to hours, so the command refuses it.
CHECK_CONV_MAX_LEN = 65536


def _cmd_check_conv(args: argparse.Namespace) -> dict:
    """Compare fftconv with the direct definition in float64 at one length, against the error
    bound of :func:`hyena_lab.checks.fftconv_error_bound`."""
    g = torch.Generator().manual_seed(args.seed)
    u = torch.randn(args.channels, args.seq_len, generator=g, dtype=torch.float64)
    k = torch.randn(args.channels, args.seq_len, generator=g, dtype=torch.float64)
    ref = direct_conv(u, k)
    y = fftconv(u, k)
    bound = fftconv_error_bound(u, k) + direct_conv_error_bound(u, k)
    abs_err = float((y - ref).norm())
    return {
        "seq_len": args.seq_len,
        "channels": args.channels,
        "rel_err_float64": rel_err(y, ref),
        "abs_err_float64": abs_err,
        "error_bound_float64": bound,
        "within_bound": abs_err <= bound,
    }


def _cmd_official(args: argparse.Namespace) -> dict:
    """Load every shipped set of official test vectors and report the relative errors."""
    from .official import from_safari, load_vectors, to_safari, vector_files

    report = {}
    for path in vector_files():
        vec = load_vectors(path.stem)
        op = from_safari(vec["config"], vec["state_dict"])
        errs = []
        with torch.no_grad():
            for case in vec["cases"]:
                y, k = op(case["u"]), op.filters(case["L"])
                errs.append(
                    {
                        "L": case["L"],
                        "rel_err_y": rel_err(y, case["y"]),
                        "rel_err_k": rel_err(k, case["k"]),
                    }
                )
        _, sd = to_safari(op)
        same = all(torch.equal(sd[n], t) for n, t in vec["state_dict"].items())
        report[path.stem] = {"cases": errs, "round_trip_identical": same}
    return report


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one subparser per experiment."""
    parser = argparse.ArgumentParser(
        prog="hyena-lab", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"hyena-lab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "check-conv", help="check fftconv against the O(L^2) definition",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--seq-len", type=int_in(1, CHECK_CONV_MAX_LEN), default=1000,
                   help="sequence length L (the O(L^2) reference limits it)")
    p.add_argument("--channels", type=int_in(1, 1024), default=4, help="channels d")
    p.add_argument("--seed", type=int_in(0, 2**63 - 1), default=0, help="random seed")
    p.set_defaults(func=_cmd_check_conv)
    p = sub.add_parser(
        "official", help="check the handbook operator against the official test vectors"
    )
    p.set_defaults(func=_cmd_official)

    from .bench import add_bench_command
    from .recall import add_recall_command

    add_bench_command(sub)
    add_recall_command(sub)
    for module in EXPERIMENT_MODULES:
        found = import_module(f"{__package__}.experiments.{module}")
        for experiment in getattr(found, "EXPERIMENTS", None) or (found.EXPERIMENT,):
            add_command(sub, experiment)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hyena-lab`` console script."""
    args = build_parser().parse_args(argv)
    try:
        result = args.func(args)
    except (ValueError, TypeError) as err:  # a bad combination of options, said plainly
        print(f"hyena-lab {args.command}: error: {err}", file=sys.stderr)
        return 2
    except TrainingDiverged as err:  # a run of a grid: nothing to report but the cause
        print(f"hyena-lab {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"hyena-lab {args.command}: interrupted", file=sys.stderr)
        return 130
    print(json.dumps(result))
    status = exit_status(result)
    if status:  # diverged or interrupted: the JSON line says how far it got, stderr says why
        print(f"hyena-lab {args.command}: {result.get('message', result['stopped'])}",
              file=sys.stderr)  # fmt: skip
    return status


if __name__ == "__main__":
    sys.exit(main())
