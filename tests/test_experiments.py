"""Experiments as commands: options generated from a config dataclass, records written safely."""

import argparse
import json
from dataclasses import dataclass

import pytest

from hyena_lab.experiments import Experiment, add_command, option
from hyena_lab.options import int_in


@dataclass(frozen=True)
class ToyConfig:
    lengths: tuple[int, ...] = option((8, 16), "sequence lengths L", int_in(1, 1024))
    scale: float = option(2.0, "a factor")
    label: str = option("a", "a name", choices=["a", "b"])
    fast: bool = option(False, "skip the slow part")

    def __post_init__(self) -> None:
        if self.scale <= 0:
            raise ValueError(f"scale must be > 0, got {self.scale}")


def _toy_run(config: ToyConfig) -> dict:
    return {"run": {"device": "cpu"}, "points": [config.scale * L for L in config.lengths],
            "label": config.label, "fast": config.fast}  # fmt: skip


TOY = Experiment("toy", "a toy experiment", ToyConfig, _toy_run,
                 summarize=lambda r: {"largest": max(r["points"])})  # fmt: skip


def _parser():
    parser = argparse.ArgumentParser(prog="hyena-lab")
    add_command(parser.add_subparsers(dest="command"), TOY)
    return parser


def test_options_come_from_the_fields_and_reach_the_config(tmp_path):
    args = _parser().parse_args(["toy", "--lengths", "3", "5", "--scale", "0.5", "--fast",
                                 "--label", "b", "--out", str(tmp_path / "r.json")])  # fmt: skip
    summary = args.func(args)
    assert summary == {"largest": 2.5, "out": str(tmp_path / "r.json")}
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["schema"] == {"name": "toy", "version": 1}
    assert record["points"] == [1.5, 2.5] and record["label"] == "b" and record["fast"] is True
    defaults = _parser().parse_args(["toy"])
    assert defaults.func(defaults) == {"largest": 32.0}  # defaults are the dataclass's


def test_help_shows_each_fields_help_and_default(capsys):
    with pytest.raises(SystemExit):
        _parser().parse_args(["toy", "--help"])
    text = capsys.readouterr().out
    assert "sequence lengths L (default: (8, 16))" in " ".join(text.split())
    assert "--no-fast" in text and "--out" in text


@pytest.mark.parametrize("argv", [["--lengths", "0"], ["--label", "c"], ["--scale", "x"]])
def test_bad_values_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as caught:
        _parser().parse_args(["toy", *argv])
    assert caught.value.code == 2 and argv[0] in capsys.readouterr().err


def test_config_checks_and_out_are_checked_before_running(tmp_path):
    ran = []
    watched = Experiment("toy", "x", ToyConfig, lambda c: ran.append(c) or _toy_run(c))
    parser = argparse.ArgumentParser()
    add_command(parser.add_subparsers(), watched)
    args = parser.parse_args(["toy", "--scale", "-1"])
    with pytest.raises(ValueError, match="scale must be > 0"):
        args.func(args)
    args = parser.parse_args(["toy", "--out", str(tmp_path)])  # a folder: refused first
    with pytest.raises(ValueError, match="is a folder"):
        args.func(args)
    assert ran == []  # neither ran the experiment


def test_fields_must_be_options():
    @dataclass(frozen=True)
    class Bare:
        n: int = 3

    parser = argparse.ArgumentParser()
    with pytest.raises(TypeError, match="not an option"):
        add_command(parser.add_subparsers(), Experiment("bare", "x", Bare, lambda c: {}))
    with pytest.raises(TypeError, match="tuple"):
        option([1, 2], "a list default")


def test_optional_fields_flags_and_commands_without_a_record(capsys):
    @dataclass(frozen=True)
    class Opts:
        names: tuple[str, ...] | None = option(None, "names", choices=["x", "y"], metavar=None,
                                               required=True)  # fmt: skip
        limit: int | None = option(None, "a limit (default: none)", int_in(1))
        force: bool = option(False, "replace it", action="store_true")

    parser = argparse.ArgumentParser(prog="hyena-lab")
    add_command(parser.add_subparsers(dest="command"),
                Experiment("opts", "x", Opts, lambda o: {"o": o}, record=False))  # fmt: skip
    args = parser.parse_args(["opts", "--names", "x", "y", "--limit", "3", "--force"])
    assert args.func(args) == {"o": Opts(names=("x", "y"), limit=3, force=True)}
    with pytest.raises(SystemExit):
        parser.parse_args(["opts", "--help"])
    text = capsys.readouterr().out
    assert "--names {x,y} [{x,y} ...]" in text and "--out" not in text
    assert "--no-force" not in text and "a limit (default: none)" in " ".join(text.split())
    with pytest.raises(SystemExit):  # --names is required
        parser.parse_args(["opts"])
