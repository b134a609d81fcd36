"""Chapter 02's experiment (hyena_lab.experiments.matrix_costs, `hyena-lab matrix-costs`): the
counted work, the CPU measurement of op(u) against materialize(u), its options and its command.
Nothing here asserts on a clock beyond "a timed call took some time"."""

import argparse
import json
import math

import pytest
import torch

from hyena_lab.experiments import add_command
from hyena_lab.experiments.matrix_costs import (
    DEMO_FILTER_ARGS,
    EXPERIMENT,
    RECORD_LENGTHS,
    RECORD_NAME,
    MatrixCostsConfig,
    count_matrix_costs,
    measure_matrix_costs,
    record_matrix_costs,
    seeded_operator,
)
from hyena_lab.roofline import fftconv_cost, hyena_layer_cost
from hyena_lab.viz import load_data

#: Tiny and quick: a few ms of timed calls per point (the numbers are not asserted).
TINY = {"d_model": 3, "order": 2, "point_s": 0.001, "max_repeats": 3, "progress": False}


pytestmark = pytest.mark.usefixtures("one_thread")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hyena-lab")
    add_command(parser.add_subparsers(dest="command"), EXPERIMENT)
    return parser


def test_defaults_are_the_committed_records_settings():
    recorded = load_data(RECORD_NAME)
    c = MatrixCostsConfig()
    assert c.lengths == RECORD_LENGTHS == tuple(r["L"] for r in recorded["rows"])
    assert (c.d_model, c.order, c.dtype, c.threads, c.max_call_s) == (
        recorded["d_model"], recorded["order"], recorded["dtype"], recorded["num_threads"],
        recorded["max_call_s"])  # fmt: skip


def test_run_records_bytes_times_and_context_with_the_records_keys():
    torch.set_num_threads(2)
    try:
        costs = measure_matrix_costs(MatrixCostsConfig(lengths=(8, 16, 32), **TINY))
        assert torch.get_num_threads() == 2  # restored after the run on one thread
    finally:
        torch.set_num_threads(1)
    # same content as the committed record, which also names its schema (written by save_record)
    assert set(costs) | {"schema"} == set(load_data(RECORD_NAME))
    assert [r["L"] for r in costs["rows"]] == [8, 16, 32]
    for r in costs["rows"]:
        assert set(r) == set(load_data(RECORD_NAME)["rows"][0])
        assert r["A_bytes"] == 3 * r["L"] ** 2 * 4  # (d, L, L) float32
        assert r["signal_bytes"] == (3 + 2) * 3 * r["L"] * 4  # (N+1) projections + N filters
        assert r["op_seconds"] > 0 and r["materialize_seconds"] > 0 and r["matvec_seconds"] > 0
    for key in ("device", "processor", "torch_version", "date", "shapes", "machine"):
        assert costs[key], key
    assert costs["num_threads"] == costs["run"]["num_threads"] == 1  # the run's, not the caller's
    assert costs["dtype"] == "float32" and (costs["order"], costs["d_model"]) == (2, 3)
    json.dumps(costs, allow_nan=False)  # JSON-ready
    assert math.isclose(costs["rows"][-1]["A_bytes"] / costs["rows"][0]["A_bytes"], 16.0)


def test_float64_doubles_the_bytes():
    costs = measure_matrix_costs(MatrixCostsConfig(lengths=(8,), dtype="float64", **TINY))
    assert costs["dtype"] == "float64"
    row = costs["rows"][0]
    assert row["A_bytes"] == 3 * 8**2 * 8 and row["signal_bytes"] == 5 * 3 * 8 * 8  # 8-byte floats


def test_dense_timings_stop_past_the_time_limit():
    config = MatrixCostsConfig(lengths=(8, 4096), d_model=2, order=1, max_call_s=1e-6,
                               point_s=0.001, max_repeats=3, progress=False)  # fmt: skip
    first, second = measure_matrix_costs(config)["rows"]
    assert first["materialize_seconds"] is not None
    assert second["materialize_seconds"] is None and second["matvec_seconds"] is None
    assert second["op_seconds"] > 0 and second["A_bytes"] == 2 * 4096**2 * 4


@pytest.mark.parametrize(
    ("kw", "error", "match"),
    [
        ({"lengths": ()}, ValueError, "non-empty"),
        ({"lengths": (8, 0)}, ValueError, "each of lengths must be >= 1"),
        ({"max_call_s": 0}, ValueError, "max_call_s must be finite and > 0"),
        ({"point_s": float("nan")}, ValueError, "point_s must be finite"),
        ({"threads": 0}, ValueError, "threads must be >= 1"),
        ({"seed": -1}, ValueError, "seed must be >= 0"),
        ({"order": 1.5}, TypeError, "order must be an int"),
        ({"dtype": "float16"}, ValueError, "dtype must be one of"),
    ],
)
def test_config_refuses_bad_values(kw, error, match):
    with pytest.raises(error, match=match):
        MatrixCostsConfig(**kw)


def test_seeded_operator_is_reproducible_and_leaves_the_global_rng_alone():
    state = torch.random.get_rng_state()
    a = seeded_operator(2, d_model=4, l_max=16, seed=5)
    b = seeded_operator(2, d_model=4, l_max=16, seed=5)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert a.in_proj.weight.dtype == torch.float64 and not a.training
    assert (a.d_model, a.l_max, a.order) == (4, 16, 2)
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(p, q), name
    c = seeded_operator(2, d_model=4, l_max=16, seed=6)
    assert not torch.equal(a.in_proj.weight, c.in_proj.weight)
    assert DEMO_FILTER_ARGS == {"emb_dim": 5, "w": 10.0}  # the official recall configuration


def test_count_matrix_costs_by_hand():
    """The counts are exact functions of the shapes: op from roofline, dense products by hand."""
    counted = count_matrix_costs((4, 64), d_model=3, order=2, filter_order=8)
    assert (counted["order"], counted["d_model"], counted["filter_order"]) == (2, 3, 8)
    for r in counted["rows"]:
        L = r["L"]
        assert r["op_flops"] == hyena_layer_cost(1, L, 3, 2, 4, filter_order=8).flops
        assert r["conv_flops"] == 2 * fftconv_cost(1, 3, L, 4).flops < r["op_flops"]
        assert r["materialize_flops"] == 2 * (2 * 3 * L**3 + 3 * L**2)  # N (2 d L^3 + d L^2)
        assert r["matvec_flops"] == 2 * 3 * L * L
        assert r["A_bytes"] == 3 * L * L * 4 and r["signal_bytes"] == 5 * 3 * L * 4
    small, large = counted["rows"]
    growth = (large["materialize_flops"] / large["op_flops"]) / (
        small["materialize_flops"] / small["op_flops"])
    assert growth > 100  # ~ L^2 / log L: 16x the length, the dense path falls 100x further back
    with pytest.raises(ValueError, match="order must be >= 1"):
        count_matrix_costs((4,), order=0)


def test_counted_bytes_match_the_committed_record():
    recorded = load_data(RECORD_NAME)
    counted = count_matrix_costs(RECORD_LENGTHS, d_model=recorded["d_model"],
                                 order=recorded["order"])  # fmt: skip
    for c, r in zip(counted["rows"], recorded["rows"], strict=True):
        keys = ("L", "A_bytes", "signal_bytes")
        assert [c[k] for k in keys] == [r[k] for k in keys]


def test_command_writes_the_record_and_prints_a_summary(tmp_path, capsys):
    out = tmp_path / "sub" / "costs.json"
    args = _parser().parse_args([
        "matrix-costs", "--lengths", "8", "16", "--d-model", "2", "--order", "1",
        "--point-s", "0.001", "--max-repeats", "2", "--no-progress", "--seed", "3",
        "--out", str(out)])  # fmt: skip
    summary = args.func(args)
    record = json.loads(out.read_text())
    assert record["schema"] == {"name": "matrix-costs", "version": 1}
    assert set(record) - {"schema"} == set(load_data(RECORD_NAME)) - {"schema"}
    assert [r["L"] for r in record["rows"]] == [8, 16] == summary["L"]
    assert record["d_model"] == 2 and record["order"] == 1
    assert summary["out"] == str(out) and len(summary["op_ms"]) == 2
    assert summary["op_ms"][0] == round(record["rows"][0]["op_seconds"] * 1e3, 3)


def test_command_options_and_their_errors(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # --help wraps at the terminal's width (and at hyphens)
    args = _parser().parse_args(["matrix-costs"])
    assert args.lengths == RECORD_LENGTHS and args.dtype == "float32" and args.progress is True
    with pytest.raises(SystemExit) as caught:
        _parser().parse_args(["matrix-costs", "--dtype", "float16"])
    assert caught.value.code == 2 and "--dtype" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _parser().parse_args(["matrix-costs", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "02_hyena_matrices-complexity.json" in text and "--max-call-s" in text


def test_record_matrix_costs_writes_into_the_figures_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("HYENA_LAB_FIGURES", str(tmp_path))
    path = record_matrix_costs(MatrixCostsConfig(lengths=(8, 16), **{**TINY, "d_model": 2}))
    assert path == tmp_path / "data" / f"{RECORD_NAME}.json"
    saved = json.loads(path.read_text())
    assert [r["L"] for r in saved["rows"]] == [8, 16] and saved["d_model"] == 2
    assert saved["schema"]["name"] == "matrix-costs"
