"""Every chapter experiment as a function from a config to a record, and as a command.

An experiment is a frozen dataclass of options (its *config*) and a function ``run(config)``
that measures and returns a record (a JSON-ready dict that names its machine, see
:func:`hyena_lab.measure.environment`). :class:`Experiment` ties them together; :func:`add_command`
turns one into a ``hyena-lab`` subcommand whose options are generated from the dataclass fields
(one definition of each option: its default, type, accepted range and help text live in the
field, via :func:`option`). A chapter calls ``run(Config(...))``; the command runs the same
function, writes the record atomically to ``--out`` (checked before any work) and prints a
summary as its last JSON line.

Example::

    @dataclass(frozen=True)
    class CostsConfig:
        lengths: tuple[int, ...] = option((64, 128), "sequence lengths L", int_in(1, 2**20))
        threads: int = option(1, "torch CPU threads", int_in(1, 256))

    EXPERIMENT = Experiment("conv-costs", "time fftconv against the definition", CostsConfig,
                            run=measure_costs, summarize=lambda record: {...})
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..files import check_new_file
from ..measure import save_record
from ..options import HelpFormatter

__all__ = ["Experiment", "add_command", "config_from_args", "option"]


def option(default: Any, help: str, type: Callable[[str], Any] | None = None, **argparse_kw: Any):
    """A dataclass field that is also a command-line option: its default, help and argparse type.

    ``type`` parses one value (e.g. :func:`hyena_lab.options.int_in`); without it the field's
    annotation decides (``int``, ``float``, ``str``). A ``tuple[...]`` field takes several
    values; a ``bool`` field becomes ``--name`` / ``--no-name``. ``argparse_kw`` (e.g.
    ``choices``) is passed on.
    """
    meta = {"help": help, "type": type, "argparse": argparse_kw}
    if isinstance(default, list | dict | set):
        raise TypeError("use a tuple (immutable) as the default of a multi-valued option")
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Experiment:
    """A chapter experiment: ``run(config) -> record``, and how to summarise its record.

    Attributes:
        name: the subcommand (``hyena-lab <name>``) and the record's schema name.
        help: one line for ``hyena-lab --help``.
        config: the dataclass of options.
        run: measures and returns the record.
        summarize: the few figures printed as the command's last JSON line (default: the
            whole record).
        description: longer text for ``hyena-lab <name> --help``.
    """

    name: str
    help: str
    config: type
    run: Callable[[Any], dict]
    summarize: Callable[[Mapping[str, Any]], dict] | None = None
    description: str = ""


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _add_field(parser: argparse.ArgumentParser, f: dataclasses.Field, hint: Any) -> None:
    """One option for one dataclass field."""
    meta = dict(f.metadata)
    if "help" not in meta:
        raise TypeError(f"field {f.name!r} is not an option(): give it a help text")
    kw: dict[str, Any] = {"default": f.default, "help": meta["help"], **meta["argparse"]}
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is bool:
        parser.add_argument(_flag(f.name), action=argparse.BooleanOptionalAction, **kw)
        return
    if origin is tuple:
        kw["nargs"] = "+"
        hint = args[0]
    kw["type"] = meta["type"] or hint
    parser.add_argument(_flag(f.name), metavar=f.name.upper(), **kw)


def add_command(subparsers: argparse._SubParsersAction, experiment: Experiment) -> None:
    """Add ``hyena-lab <experiment.name>`` with one option per config field, plus ``--out``."""
    p = subparsers.add_parser(
        experiment.name, help=experiment.help, formatter_class=HelpFormatter,
        description=(experiment.description or experiment.help)
        + " Prints a summary as its last JSON line; --out writes the whole record.",
    )  # fmt: skip
    hints = typing.get_type_hints(experiment.config)
    for f in dataclasses.fields(experiment.config):
        _add_field(p, f, hints[f.name])
    p.add_argument("--out", default=None, help="write the record (JSON) to this path")
    p.set_defaults(func=lambda args: _run_command(experiment, args))


def config_from_args(config: type, args: argparse.Namespace) -> Any:
    """The config dataclass filled from parsed options (lists become tuples)."""
    values = {}
    for f in dataclasses.fields(config):
        value = getattr(args, f.name)
        values[f.name] = tuple(value) if isinstance(value, list) else value
    return config(**values)


def _run_command(experiment: Experiment, args: argparse.Namespace) -> dict:
    """What the subcommand does: check ``--out``, run, write the record, summarise."""
    config = config_from_args(experiment.config, args)  # its __post_init__ validates
    if args.out is not None:
        check_new_file(args.out, "--out")
    record = experiment.run(config)
    summary = dict(experiment.summarize(record) if experiment.summarize else record)
    if args.out is not None:
        summary["out"] = str(save_record(record, Path(args.out), schema=experiment.name))
    return summary
