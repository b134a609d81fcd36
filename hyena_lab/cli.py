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

from . import __version__
from .experiments import add_command
from .recall import add_recall_command, exit_status
from .train import TrainingDiverged

#: The chapter experiments under hyena_lab.experiments, each one or more subcommands.
EXPERIMENT_MODULES = ("checks", "conv_costs", "matrix_costs", "filters", "mqar", "generation",
                      "lm_compare", "context_parallel", "ddp_bench", "synthetic")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one subparser per experiment."""
    parser = argparse.ArgumentParser(
        prog="hyena-lab", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"hyena-lab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    from .bench import add_bench_command

    add_bench_command(sub)
    add_recall_command(sub)
    from .lm import add_lm_command

    add_lm_command(sub)
    from .explorer import add_explorer_command

    add_explorer_command(sub)
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
    except (ValueError, TypeError, TrainingDiverged) as err:  # bad options (2), a grid's run (1)
        print(f"hyena-lab {args.command}: error: {err}", file=sys.stderr)
        return 1 if isinstance(err, TrainingDiverged) else 2
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
