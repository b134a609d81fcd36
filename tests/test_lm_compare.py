"""Chapter 07's comparison and step-time experiments: records, summaries, commands."""

from __future__ import annotations

import json

import pytest

from hyena_lab.cli import main
from hyena_lab.experiments.lm_compare import (
    LMCompareConfig,
    LMStepTimeConfig,
    compare_lms,
    lm_means,
    lm_step_time,
)


def test_means_group_by_mixer_and_budget():
    runs = [{"mixer": m, "budget": b, "val_loss": v, "steps": s, "params": p}
            for m, p in (("attention", 10), ("hyena", 11)) for b in (60.0, 300.0)
            for v, s in ((1.0, 100), (2.0, 200), (3.0, 300))]  # fmt: skip
    means = lm_means(runs)
    assert set(means) == {"attention 60s", "attention 300s", "hyena 60s", "hyena 300s"}
    assert means["hyena 300s"] == {"val_loss": 2.0, "min": 1.0, "max": 3.0, "steps": 200.0,
                                   "seeds": 3, "params": 11}  # fmt: skip


def test_compare_trains_each_budget_seed_and_mixer_once(tmp_path):
    c = LMCompareConfig(mixers=("hyena",), budgets=(0.5,), seeds=(0, 1), threads=1,
                        ckpt_dir=str(tmp_path), progress=False)  # fmt: skip
    record = compare_lms(c)
    assert [(r["mixer"], r["budget"], r["seed"]) for r in record["runs"]] == [
        ("hyena", 0.5, 0), ("hyena", 0.5, 1)]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "hyena-0.5s-seed0.pt", "hyena-0.5s-seed1.pt"]
    assert record["means"]["hyena 0.5s"]["seeds"] == 2
    assert all(r["val_loss"] is not None and r["curve"]["step"] for r in record["runs"])


def test_step_time_times_both_models_at_each_context():
    record = lm_step_time(LMStepTimeConfig(contexts=(8, 16), batch_size=2, threads=1, repeats=1,
                                           progress=False))  # fmt: skip
    assert record["contexts"] == [8, 16]
    assert set(record["seconds_per_step"]) == {"attention", "hyena"}
    assert all(len(v) == 2 and min(v) > 0 for v in record["seconds_per_step"].values())
    a, h = record["seconds_per_step"]["attention"], record["seconds_per_step"]["hyena"]
    ratio = [x / y for x, y in zip(a, h, strict=True)]
    assert record["ratio_attention_over_hyena"] == pytest.approx(ratio)


def test_the_step_time_command_prints_its_summary_and_writes_the_record(tmp_path, capsys):
    out = tmp_path / "steps.json"
    assert main(["lm-step-time", "--contexts", "8", "--batch-size", "2", "--threads", "1",
                 "--repeats", "1", "--no-progress", "--out", str(out)]) == 0  # fmt: skip
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["contexts"] == [8] and json.loads(out.read_text())["schema"]["name"] == (
        "lm-step-time")
    with pytest.raises(SystemExit):  # a context must be at least 2
        main(["lm-step-time", "--contexts", "1"])
