"""Chapter 03's experiments (init-spectra, param-count, ssm-check) as functions and commands, and
the builders its figures draw from."""

import argparse
import json

import pytest
import torch

from hyena_lab import fftconv
from hyena_lab.checks import F64_SAME_ALGEBRA
from hyena_lab.experiments import add_command
from hyena_lab.experiments.filters import (
    EXPERIMENTS,
    PARAM_COUNT,
    SSM_CHECK,
    InitSpectraConfig,
    ParamCountConfig,
    SSMCheckConfig,
    implicit_bank,
    parameterisation_banks,
    ssm_check_system,
    ssm_example,
    windowed_pair,
)
from hyena_lab.filters import FILTERS, ImplicitFilter
from hyena_lab.spectra import implicit_init_spectra, implicit_param_count
from hyena_lab.viz import load_data

from .helpers import rel_err

#: Keys of the committed records that chapter 03, the README test and the book read.
RECORDS = {
    "init-spectra": "03_implicit_filters-init_spectra",
    "param-count": "03_implicit_filters-param_count",
    "ssm-check": "03_implicit_filters-ssm_check",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hyena-lab")
    sub = parser.add_subparsers(dest="command")
    for experiment in EXPERIMENTS:
        add_command(sub, experiment)
    return parser


def test_three_commands_with_the_chapters_defaults(capsys):
    assert [e.name for e in EXPERIMENTS] == ["init-spectra", "param-count", "ssm-check"]
    assert InitSpectraConfig().bands == (2, 4, 8, 16, 32, 64) and InitSpectraConfig().L == 128
    assert ParamCountConfig().lengths == tuple(2**k for k in range(7, 17))
    assert (SSMCheckConfig().L, SSMCheckConfig().d_state) == (512, 64)
    with pytest.raises(SystemExit):
        _parser().parse_args(["ssm-check", "--help"])
    assert "--discretizations" in capsys.readouterr().out


def test_init_spectra_command_writes_a_record(tmp_path):
    out = tmp_path / "spectra.json"
    args = _parser().parse_args(["init-spectra", "--bands", "2", "4", "--ws", "1", "10", "--L",
                                 "32", "--channels", "4", "--cutoff-bin", "8", "--out", str(out)])
    summary = args.func(args)
    record = json.loads(out.read_text())
    assert record["schema"] == {"name": "init-spectra", "version": 1}
    assert record["rows"] == implicit_init_spectra((2, 4), (1.0, 10.0), L=32, channels=4,
                                                   cutoff_bin=8)  # fmt: skip
    assert summary["cutoff_99"] == {f"K={r['bands']},w={r['w']:g}": r["cutoff_99"]
                                    for r in record["rows"]}  # fmt: skip
    assert record["shapes"] == {"filters": [4, 32], "bands": [2, 4], "w": [1.0, 10.0]}


def test_param_count_command_and_run(tmp_path):
    args = _parser().parse_args(["param-count", "--lengths", "16", "64", "--channels", "2",
                                 "--out", str(tmp_path / "p.json")])  # fmt: skip
    summary = args.func(args)
    record = PARAM_COUNT.run(ParamCountConfig(lengths=(16, 64), channels=2))
    assert record["counts"]["explicit"] == [2 * 16, 2 * 64]
    assert record["counts"]["implicit (z trainable)"] == [implicit_param_count(2, L)["total"]
                                                          for L in (16, 64)]  # fmt: skip
    assert summary["explicit"] == 128 and summary["at_L"] == 64
    assert json.loads((tmp_path / "p.json").read_text())["counts"] == record["counts"]


def test_ssm_check_is_a_float64_round_off_difference():
    record = SSM_CHECK.run(SSMCheckConfig(L=64, channels=2, batch=1, d_state=8))
    errs = record["rel_err_recurrence_vs_fftconv"]
    assert set(errs) == {"zoh", "bilinear"}
    # float64 recurrence (L steps) vs FFT: both ~ 1e-15 here; F64_SAME_ALGEBRA (1e-12) is the
    # package's bound for two float64 evaluations of the same algebra
    assert all(0 <= e < F64_SAME_ALGEBRA for e in errs.values()), errs
    assert record["shapes"] == {"u": [1, 2, 64], "kernel": [2, 64]}
    ssm, u = ssm_check_system(SSMCheckConfig(L=64, channels=2, batch=1, d_state=8), "zoh")
    assert ssm.discretization == "zoh" and u.shape == (1, 2, 64) and u.dtype == torch.float64
    assert rel_err(ssm.recurrence(u), fftconv(u, ssm(64))) == pytest.approx(errs["zoh"])


@pytest.mark.parametrize(
    ("argv", "flag"),
    [(["init-spectra", "--L", "1"], "--L"), (["ssm-check", "--discretizations", "euler"],
     "--discretizations"), (["param-count", "--lengths", "0"], "--lengths")],
)  # fmt: skip
def test_bad_options_are_usage_errors(argv, flag, capsys):
    with pytest.raises(SystemExit) as caught:
        _parser().parse_args(argv)
    assert caught.value.code == 2 and flag in capsys.readouterr().err


def test_configs_check_what_one_option_cannot():
    with pytest.raises(ValueError, match="d_state must be even"):
        SSMCheckConfig(d_state=5)
    with pytest.raises(ValueError, match="cutoff_bin must be <= L // 2 = 16"):
        InitSpectraConfig(L=32, cutoff_bin=17)
    with pytest.raises(ValueError, match="at least one value"):
        InitSpectraConfig(bands=())
    with pytest.raises(ValueError, match="at least one value"):
        ParamCountConfig(lengths=())


@pytest.mark.parametrize("experiment", EXPERIMENTS, ids=lambda e: e.name)
def test_the_chapters_run_has_the_committed_records_keys(experiment):
    """Cheap settings, same structure: the record ``run`` returns for the chapter has the keys of
    the committed one (plus none), so chapter 03, the README test and the book read either."""
    tiny = {"init-spectra": InitSpectraConfig(bands=(2,), ws=(1.0,), L=8, channels=2,
                                              cutoff_bin=2),
            "param-count": ParamCountConfig(lengths=(8,), channels=2),
            "ssm-check": SSMCheckConfig(L=8, channels=2, batch=1, d_state=4)}  # fmt: skip
    record = experiment.run(tiny[experiment.name])
    committed = load_data(RECORDS[experiment.name])
    assert set(record) == set(committed) - {"schema"}
    assert record["run"]["device"] == "cpu" and "date" in record["run"]


def test_figure_builders_are_seeded_and_leave_the_global_rng_alone():
    state = torch.random.get_rng_state()
    bank = implicit_bank(3, 16, seed=2, emb_dim=5, w=10.0)
    pair = windowed_pair(3, 16, seed=2, emb_dim=5, w=10.0)
    banks = parameterisation_banks(16, 2, seed=2)
    ex = ssm_example(2, 16, seed=2, d_state=4)
    assert torch.equal(state, torch.random.get_rng_state()), "a builder moved the global RNG"
    torch.manual_seed(2)
    ref = ImplicitFilter(3, 16, emb_dim=5, w=10.0)
    assert torch.equal(bank["h"], ref(16).detach()) and torch.equal(bank["window"], ref.window(16))
    assert torch.equal(pair["h_on"], bank["h"])  # the same FFN and window ...
    assert torch.equal(pair["h_off"] * pair["window"], pair["h_on"])  # ... the window off
    assert bank["t"].shape == (16,) and float(bank["t"][-1]) == 1.0
    assert set(banks) == set(FILTERS)
    assert torch.equal(banks["ssm"](16), parameterisation_banks(16, 2, seed=2)["ssm"](16))
    assert ex["kernel"].shape == (2, 16) and ex["y_rec"].shape == ex["y_conv"].shape == (1, 2, 16)
    assert ex["rel_err"] == rel_err(ex["y_rec"], ex["y_conv"]) < F64_SAME_ALGEBRA
    assert ex["dt"].shape == (2,)
    with pytest.raises(ValueError, match="L must be >= 2"):
        implicit_bank(3, 1)
