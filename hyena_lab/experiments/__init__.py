"""Every chapter experiment as a function from a config to a record, and as a command.

An experiment is a frozen dataclass of options (its *config*, each field an :func:`option`:
default, type, range and help defined once) and ``run(config) -> record`` (a JSON-ready dict
that names its machine). A chapter calls ``run(Config(...))``; :func:`add_command` makes it a
``hyena-lab`` subcommand with options generated from the fields, that runs the same function,
writes the record atomically to ``--out`` (checked first) and prints a summary as its last line.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
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
    """A dataclass field that is also a command-line option: its default, help and argparse
    ``type`` (default: the annotation; ``X | None`` reads as ``X``). A ``tuple[...]`` field takes
    several values, a ``bool`` one is ``--name`` / ``--no-name``; ``argparse_kw`` (``choices``,
    ``required``, ``metavar``, ``action``...) is passed on."""
    meta = {"help": help, "type": type, "argparse": argparse_kw}
    if isinstance(default, list | dict | set):
        raise TypeError("use a tuple (immutable) as the default of a multi-valued option")
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Experiment:
    """A chapter experiment: ``name`` (the subcommand and the record's schema), ``help`` (one
    line for ``hyena-lab --help``), the ``config`` dataclass, ``run(config) -> record``,
    ``summarize(record)`` (the last JSON line; default: the whole record), a longer
    ``description``, and ``record`` (add ``--out`` and write the record there; ``False`` for a
    command that writes its own files)."""

    name: str
    help: str
    config: type
    run: Callable[[Any], dict]
    summarize: Callable[[Mapping[str, Any]], dict] | None = None
    description: str = ""
    record: bool = True


def _add_field(parser: argparse.ArgumentParser, f: dataclasses.Field, hint: Any) -> None:
    """One option for one dataclass field."""
    if "help" not in f.metadata:
        raise TypeError(f"field {f.name!r} is not an option(): give it a help text")
    meta = f.metadata
    kw: dict[str, Any] = {"default": f.default, "help": meta["help"], **meta["argparse"]}
    if typing.get_origin(hint) in (typing.Union, types.UnionType):  # X | None: an X
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if hint is bool:
        kw.setdefault("action", argparse.BooleanOptionalAction)
    else:
        if typing.get_origin(hint) is tuple:
            kw["nargs"], hint = "+", typing.get_args(hint)[0]
        kw.setdefault("metavar", f.name.upper())
        kw["type"] = meta["type"] or hint
    parser.add_argument("--" + f.name.replace("_", "-"), **kw)


def add_command(
    subparsers: argparse._SubParsersAction, experiment: Experiment
) -> argparse.ArgumentParser:
    """Add ``hyena-lab <experiment.name>`` with one option per config field (and ``--out``)."""
    text = experiment.description or experiment.help
    if experiment.record:
        text += " Prints a summary as its last JSON line; --out writes the whole record."
    p = subparsers.add_parser(experiment.name, help=experiment.help, description=text,
                              formatter_class=HelpFormatter)  # fmt: skip
    hints = typing.get_type_hints(experiment.config)
    for f in dataclasses.fields(experiment.config):
        _add_field(p, f, hints[f.name])
    if experiment.record:
        p.add_argument("--out", default=None, help="write the record (JSON) to this path")
    p.set_defaults(func=lambda args: _run_command(experiment, args))
    return p


def config_from_args(config: type, args: argparse.Namespace) -> Any:
    """The config dataclass filled from parsed options (lists become tuples)."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(config)}
    return config(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def _run_command(experiment: Experiment, args: argparse.Namespace) -> dict:
    """What the subcommand does: check ``--out``, run, write the record, summarise."""
    config = config_from_args(experiment.config, args)  # its __post_init__ validates
    out = args.out if experiment.record else None
    if out is not None:
        check_new_file(out, "--out")
    record = experiment.run(config)
    summary = dict(experiment.summarize(record) if experiment.summarize else record)
    if out is not None:
        summary["out"] = str(save_record(record, Path(out), schema=experiment.name))
    return summary
