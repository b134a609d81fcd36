"""Chapter 08's experiments: one MQAR run, the grid, and how the grid is read."""

import json

import pytest

from hyena_lab.cli import main
from hyena_lab.experiments.mqar import (
    SOLVED,
    MQARConfig,
    MQARGridConfig,
    best_over_lrs,
    merge_grids,
    mqar_grid,
    run_mqar,
    smallest_solving_width,
)

TINY = {"width": 16, "seq_len": 16, "pairs": 2, "vocab_size": 24, "num_train": 64,
        "num_test": 16, "max_steps": 4, "batch_size": 8, "progress": False}  # fmt: skip


def test_one_run_records_what_it_trained_and_is_seeded(one_thread):
    a = run_mqar(MQARConfig(mixer="hyena", **TINY))
    b = run_mqar(MQARConfig(mixer="hyena", **TINY))
    assert a["steps"] == 4 and a["stopped"] == "max_steps" and a["params"] > 0
    assert 0.0 <= a["test_accuracy"] <= 1.0
    assert a["test_accuracy"] == b["test_accuracy"]  # same seed, same run (CPU, one thread)
    assert a["run"]["device_type"] == "cpu" and a["config"]["width"] == 16


def test_grid_runs_every_cell_and_reads_the_smallest_width(one_thread):
    g = MQARGridConfig(mixers=("attention", "hyena"), widths=(8, 16), seq_lens=(16,), pairs=(2,),
                       lrs=(1e-3,), vocab_size=24, num_train=32, num_test=8, max_steps=2,
                       batch_size=8)  # fmt: skip
    record = mqar_grid(g)
    assert len(record["results"]) == 4
    assert {(r["mixer"], r["width"]) for r in record["results"]} == {
        ("attention", 8), ("attention", 16), ("hyena", 8), ("hyena", 16)}
    assert set(record["smallest_width"]) == {"attention", "hyena"}


def test_smallest_width_takes_the_best_learning_rate_of_each_width():
    rows = [
        {"mixer": "hyena", "seq_len": 64, "width": 32, "lr": 1e-3, "test_accuracy": 0.5},
        {"mixer": "hyena", "seq_len": 64, "width": 64, "lr": 1e-3, "test_accuracy": 0.2},
        {"mixer": "hyena", "seq_len": 64, "width": 64, "lr": 3e-3, "test_accuracy": 0.995},
        {"mixer": "hyena", "seq_len": 64, "width": 128, "lr": 1e-3, "test_accuracy": 1.0},
        {"mixer": "hyena", "seq_len": 128, "width": 128, "lr": 1e-3, "test_accuracy": 0.98},
        {"mixer": "attention", "seq_len": 64, "width": 32, "lr": 1e-3, "test_accuracy": SOLVED},
    ]
    assert best_over_lrs(rows)[("hyena", 64, 64)] == 0.995
    assert smallest_solving_width(rows) == {"attention": {"64": 32},
                                            "hyena": {"64": 64, "128": None}}


def test_a_record_keeps_the_history_of_its_training():
    from hyena_lab.experiments.mqar import history_fields
    from hyena_lab.train import History

    h = History(step=[50, 100], valid_accuracy=[0.5, 0.995])
    h.steps, h.total_seconds, h.stopped = 100, 12.34567, "target"
    assert history_fields(h) == {"steps": 100, "seconds": 12.346, "stopped": "target",
                                 "valid_curve": {"step": [50, 100], "valid_accuracy": [0.5, 0.995]}}


def test_a_diverged_run_is_kept_and_the_grid_goes_on(one_thread, monkeypatch):
    import hyena_lab.experiments.mqar as mqar_module
    from hyena_lab.train import History, TrainingDiverged

    real = mqar_module.run_mqar

    def diverge_at_high_lr(c):
        if c.lr < 1e-2:
            return real(c)
        h = History(step=[2], valid_accuracy=[0.25])
        h.steps, h.total_seconds, h.stopped = 3, 0.5, "diverged"
        raise TrainingDiverged("the training loss became nan", h)

    monkeypatch.setattr(mqar_module, "run_mqar", diverge_at_high_lr)
    g = MQARGridConfig(mixers=("hyena",), widths=(8,), seq_lens=(16,), pairs=(2,),
                       lrs=(1e-3, 1e-2), vocab_size=24, num_train=32, num_test=8, max_steps=2,
                       batch_size=8)  # fmt: skip
    record = mqar_grid(g)
    diverged = [r for r in record["results"] if r["lr"] == 1e-2]
    assert len(record["results"]) == 2 and len(diverged) == 1
    assert diverged[0]["stopped"] == "diverged" and diverged[0]["test_accuracy"] is None
    assert diverged[0]["steps"] == 3 and diverged[0]["valid_curve"]["valid_accuracy"] == [0.25]
    json.dumps(record, allow_nan=False)  # the record stays valid JSON
    # the finished run decides the cell; a length whose runs all diverged reads "none solved"
    assert set(best_over_lrs(record["results"])) == {("hyena", 16, 8)}
    assert smallest_solving_width(diverged) == {"hyena": {"16": None}}
    assert best_over_lrs(diverged) == {}


def test_merged_grids_read_their_smallest_widths_over_every_part():
    run = {"device": "NVIDIA H200", "date": "2026-12-03"}
    a = {"run": run, "config": {"lrs": [1e-2]}, "solved_at": SOLVED, "results": [
        {"mixer": "hyena", "seq_len": 64, "width": 256, "lr": 1e-2, "test_accuracy": 0.993}]}
    b = {"run": run, "config": {"lrs": [3e-3]}, "solved_at": SOLVED, "results": [
        {"mixer": "hyena", "seq_len": 64, "width": 128, "lr": 3e-3, "test_accuracy": 0.7},
        {"mixer": "hyena", "seq_len": 256, "width": 512, "lr": 3e-3, "test_accuracy": None}]}
    merged = merge_grids({"L64": a, "L256": b}, note="two calls", superseded={"x": []})
    assert merged["config"] == {"L64": a["config"], "L256": b["config"]}
    assert len(merged["results"]) == 3 and merged["run"] == run and merged["note"] == "two calls"
    assert merged["smallest_width"] == {"hyena": {"64": 256, "256": None}}
    assert merged["superseded"] == {"x": []}
    with pytest.raises(ValueError, match="different devices"):
        merge_grids({"a": a, "b": {**b, "run": {"device": "cpu"}}}, note="")
    with pytest.raises(ValueError, match="solved"):
        merge_grids({"a": {**a, "solved_at": 0.9}}, note="")
    with pytest.raises(ValueError, match="at least one"):
        merge_grids({}, note="")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"seq_len": 15}, "even"),
        ({"seq_len": 16, "pairs": 5}, "4 \\* num_kv_pairs"),
        ({"vocab_size": 8, "pairs": 4}, "vocab_size >= 10"),
    ],
)
def test_a_run_that_cannot_fit_is_refused_before_training(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MQARConfig(**kwargs)


def test_grid_needs_one_pair_count_per_length():
    with pytest.raises(ValueError, match="one count per length"):
        MQARGridConfig(seq_lens=(32, 64), pairs=(2,))


def test_command_prints_its_summary_last(capsys, one_thread):
    args = ["mqar", "--mixer", "attention", "--width", "16", "--seq-len", "16", "--pairs", "2",
            "--vocab-size", "24", "--num-train", "64", "--num-test", "16", "--max-steps", "3",
            "--batch-size", "8", "--no-progress"]  # fmt: skip
    assert main(args) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["mixer"] == "attention" and last["steps"] == 3 and "test_accuracy" in last


def test_command_refuses_cuda_without_a_gpu(capsys, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    assert main(["mqar", "--device", "cuda", "--no-progress"]) == 2
    assert "no CUDA device" in capsys.readouterr().err


def test_figures_draw_the_gaps_and_one_panel_per_mixer():
    from hyena_lab.tasks import mqar
    from hyena_lab.viz.mqar import gaps_figure, width_figure

    fig = gaps_figure({"a = 0.01": mqar(50, 64, 4, 64, seed=0)[1]}, pairs=4)
    ax = fig.axes[0]
    assert "gap" in ax.get_xlabel() and ax.get_ylabel() == "fraction of queries"
    rows = [{"mixer": m, "seq_len": L, "width": w, "lr": 1e-3, "test_accuracy": a}
            for m, a in (("attention", 1.0), ("hyena", 0.3)) for L in (64, 128)
            for w in (32, 64)]  # fmt: skip
    fig = width_figure(rows)
    assert len(fig.axes) == 2 and [a.get_title() for a in fig.axes][1].lower().startswith("hyena")
    assert fig.axes[0].get_xlabel() == "model width d_model"
    assert len(fig.axes[0].get_lines()) == 3 + 4  # two lengths, the 99% line, 4 markers
    short = [{**r, "steps": 100 if r["width"] == 32 else 1000} for r in rows]
    fig = width_figure(short, min_steps=500)
    markers = [ln for ln in fig.axes[1].get_lines() if ln.get_marker() == "o"]
    hollow = [ln.get_xdata()[0] for ln in markers if ln.get_markerfacecolor() == "white"]
    assert hollow == [32, 32]  # width 32 trained 100 < 500 steps, at both lengths
    assert "500" in fig.axes[1].get_legend().get_title().get_text()
    reached = [{**r, "stopped": "target"} for r in short]  # stopped at the target: converged
    fig = width_figure(reached, min_steps=500)
    assert all(ln.get_markerfacecolor() != "white" for ln in fig.axes[1].get_lines())
    one_width = [r for r in rows if r["width"] == 64]  # one point per length: written out
    texts = [t.get_text() for t in width_figure(one_width).axes[0].texts]
    assert texts == ["L = 64: 1.000", "L = 128: 1.000"]


def test_a_time_schedule_needs_a_time_budget():
    from hyena_lab.experiments.mqar import MQARConfig

    with pytest.raises(ValueError, match="schedule 'time' spans the time budget"):
        MQARConfig(schedule="time")
    assert MQARConfig(schedule="time", time_budget=5.0).train_config().schedule == "time"
