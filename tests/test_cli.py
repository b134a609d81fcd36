"""The ``hyena-lab`` command line: each subcommand's last output line is one JSON object."""

import argparse
import json
import re

import pytest

from hyena_lab.checks import F64_SAME_ALGEBRA
from hyena_lab.cli import build_parser, main


def _run(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_check_conv_reports_float64_error(capsys):
    out = _run(capsys, ["check-conv", "--seq-len", "129", "--channels", "3"])
    assert out["seq_len"] == 129 and out["rel_err_float64"] < F64_SAME_ALGEBRA
    assert out["within_bound"] and out["abs_err_float64"] <= out["error_bound_float64"]


def test_official_reports_bit_level_agreement(capsys):
    out = _run(capsys, ["official"])
    assert set(out) == {"safari_order2_recall", "safari_order3_pile"}
    for rep in out.values():
        assert rep["round_trip_identical"]
        for case in rep["cases"]:
            assert case["rel_err_y"] < F64_SAME_ALGEBRA and case["rel_err_k"] < F64_SAME_ALGEBRA


def test_every_subcommand_has_help(capsys):
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name in sub.choices:
        with pytest.raises(SystemExit) as exc:
            main([name, "--help"])
        assert exc.value.code == 0
        assert "usage: hyena-lab" in capsys.readouterr().out


def test_every_chapter_experiment_is_a_subcommand():
    from importlib import import_module
    from pathlib import Path

    import hyena_lab.experiments as experiments
    from hyena_lab.cli import EXPERIMENT_MODULES

    on_disk = {p.stem for p in Path(experiments.__file__).parent.glob("*.py")} - {"__init__"}
    with_experiments = {name for name in on_disk if {"EXPERIMENT", "EXPERIMENTS"}
                        & set(vars(import_module(f"hyena_lab.experiments.{name}")))}  # fmt: skip
    assert set(EXPERIMENT_MODULES) == with_experiments  # a new experiment is wired into the CLI
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name in ("conv-costs", "matrix-costs", "init-spectra", "param-count", "ssm-check"):
        assert name in sub.choices


def test_unknown_subcommand_fails():
    with pytest.raises(SystemExit) as exc:
        main(["nope"])
    assert exc.value.code == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["check-conv", "--seq-len", "-5"], r"--seq-len: expected a whole number \[1, 65536\]"),
        (["check-conv", "--seq-len", "0"], r"--seq-len: expected a whole number \[1, 65536\]"),
        (["check-conv", "--seq-len", "4194304"], r"--seq-len: .*got '4194304'"),
        (["check-conv", "--seed", "1e20"], r"--seed: expected a whole number"),
        (["check-conv", "--channels", "x"], r"--channels: expected a whole number \[1, 1024\]"),
        (["bench", "--d-model", "0"], r"--d-model: expected a whole number >= 1, got '0'"),
        (["bench", "--seed", "1e20"], r"--seed: expected a whole number"),
        (["bench", "--time-budget", "-1"], r"--time-budget: expected a finite number > 0"),
        (["bench", "--max-call-ms", "nan"], r"--max-call-ms: expected a finite number > 0"),
    ],
)
def test_bad_values_are_usage_errors_naming_the_option(capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert re.search(message, capsys.readouterr().err)


def test_float_in_refuses_what_is_not_a_finite_number_in_range():
    from hyena_lab.options import float_in

    parse = float_in(0, open_lo=True)
    assert parse("2.5") == 2.5
    for text in ("0", "-1", "nan", "inf", "x"):
        with pytest.raises(argparse.ArgumentTypeError, match="expected a finite number > 0"):
            parse(text)


def test_help_shows_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["check-conv", "--help"])
    assert "(default: 1000)" in capsys.readouterr().out


def test_an_invalid_combination_is_an_error_line_not_a_traceback(capsys):
    assert main(["bench", "--device", "cpu", "--benches", "nonsense"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hyena-lab bench: error:") and "Traceback" not in err


def test_help_formatter_shows_defaults_except_none_and_flags():
    import argparse

    from hyena_lab.options import HelpFormatter

    p = argparse.ArgumentParser(formatter_class=HelpFormatter)
    p.add_argument("--n", type=int, default=3, help="a count")
    p.add_argument("--path", default=None, help="where to write")
    p.add_argument("--force", action="store_true", help="replace it")
    text = " ".join(p.format_help().split())
    assert "a count (default: 3)" in text
    assert "where to write (default" not in text and "replace it (default" not in text


def test_exit_status_follows_how_a_run_stopped():
    from hyena_lab.recall import exit_status

    assert exit_status({"stopped": "max_steps"}) == 0 and exit_status({}) == 0
    assert exit_status({"stopped": "diverged"}) == 1
    assert exit_status({"stopped": "interrupted", "signal": "SIGINT"}) == 130
    assert exit_status({"stopped": "interrupted", "signal": "SIGTERM"}) == 143
