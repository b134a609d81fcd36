"""Training loop, schedule, evaluation, checkpoints and the ``recall`` command."""

import argparse
import itertools
import json
import math
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from hyena_lab.mixers import MIXERS
from hyena_lab.models import ModelConfig, TinyLM
from hyena_lab.recall import (
    add_recall_command,
    grid_cells,
    merge_results,
    recall_grid,
    run_grid_cell,
    run_recall,
)
from hyena_lab.tasks import IGNORE_INDEX, make_splits, mqar, recall_baselines
from hyena_lab.train import (
    CHECKPOINT_FORMAT,
    History,
    TrainConfig,
    _loss,
    cosine_lr,
    evaluate,
    load_checkpoint,
    make_optimizer,
    save_checkpoint,
    train,
    train_step,
)


def _tiny(mixer: str = "conv", seed: int = 0) -> TinyLM:
    torch.manual_seed(seed)
    return TinyLM(ModelConfig(vocab_size=8, l_max=12, mixer=mixer, d_model=16))


def _splits(seed: int = 0):
    return make_splits("recall", 12, 8, num_train=64, num_valid=32, num_test=32, seed=seed)


@pytest.mark.parametrize("mixer", sorted(MIXERS))
def test_one_training_step_reduces_the_loss(mixer):
    model = _tiny(mixer)
    inputs, targets = _splits().train
    x, y = inputs[:16], targets[:16]
    config = TrainConfig(lr=3e-3, weight_decay=0.0)
    optimizer = make_optimizer(model, config)
    with torch.no_grad():
        before = float(_loss(model(x), y))
    returned = train_step(model, optimizer, x, y, grad_clip=1.0)
    with torch.no_grad():
        after = float(_loss(model(x), y))
    assert returned == pytest.approx(before, rel=1e-5)  # the loss it reports is the old one
    assert after < before


def test_batches_cover_each_epoch_once_and_survive_tiny_data_sets():
    from hyena_lab.train import _batch_indices

    batches = _batch_indices(10, 4, seed=0)
    epoch = torch.cat([next(batches), next(batches)])  # 2 full batches, the tail of 2 dropped
    assert epoch.unique().numel() == 8
    again = _batch_indices(10, 4, seed=0)
    assert torch.equal(next(again), epoch[:4])
    tiny = _batch_indices(3, 32, seed=0)  # fewer examples than a batch: all of them
    assert sorted(next(tiny).tolist()) == [0, 1, 2]


def test_optimizer_decays_weight_matrices_only():
    groups = make_optimizer(_tiny(), TrainConfig(weight_decay=0.1)).param_groups
    assert groups[0]["weight_decay"] == 0.1 and all(p.ndim >= 2 for p in groups[0]["params"])
    assert groups[1]["weight_decay"] == 0.0 and all(p.ndim < 2 for p in groups[1]["params"])
    assert groups[0]["betas"] == (0.9, 0.98)


def test_cosine_schedule_warms_up_then_decays_to_zero():
    c = TrainConfig(lr=1.0, max_steps=110, warmup_steps=10)
    lrs = [cosine_lr(s, c) for s in range(111)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(a < b for a, b in itertools.pairwise(lrs[:10]))  # linear warm-up
    assert lrs[10] == pytest.approx(1.0)
    assert lrs[60] == pytest.approx(0.5)  # half way through the cosine
    assert all(a >= b for a, b in itertools.pairwise(lrs[10:]))  # then non-increasing
    assert lrs[110] == pytest.approx(0.0, abs=1e-12)
    assert cosine_lr(5, TrainConfig(lr=2.0, warmup_steps=0, max_steps=10)) == pytest.approx(
        1.0 + math.cos(math.pi / 2)
    )


class _Oracle(nn.Module):
    """Predicts the target everywhere (or its successor when ``wrong``)."""

    def __init__(self, targets: torch.Tensor, vocab: int, wrong: bool = False) -> None:
        super().__init__()
        self.targets, self.vocab, self.wrong = targets, vocab, wrong

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.targets[: x.shape[0]].clamp(min=0)
        y = (y + 1) % self.vocab if self.wrong else y
        return 50.0 * nn.functional.one_hot(y, self.vocab).float()


def test_evaluate_scores_only_the_scored_positions():
    inputs, targets = _splits().test
    loss, acc = evaluate(_Oracle(targets, 8), inputs, targets, batch_size=32)
    assert acc == 1.0 and loss < 1e-6
    _, acc = evaluate(_Oracle(targets, 8, wrong=True), inputs, targets, batch_size=32)
    assert acc == 0.0
    with pytest.raises(ValueError, match="score no position"):
        evaluate(_Oracle(targets, 8), inputs, torch.full_like(targets, IGNORE_INDEX))
    with pytest.raises(ValueError, match="same shape"):
        evaluate(_Oracle(targets, 8), inputs, targets[:, :-1])


@pytest.mark.parametrize("mixer", ["attention", "hyena"])
def test_scored_logits_are_the_full_logits_at_the_scored_positions(mixer):
    """TinyLM(scored=mask) skips the head where no target is scored: same logits, same loss,
    same gradients and accuracy as the full logits (float64: equal to round-off, 1e-12)."""
    torch.manual_seed(0)
    model = TinyLM(ModelConfig(vocab_size=8, l_max=12, mixer=mixer, d_model=16)).double()
    x, y = mqar(16, 12, 2, 8, seed=0)  # (16, 12): two queries scored per sequence
    mask = y != IGNORE_INDEX
    assert 0 < int(mask.sum()) < mask.numel()
    full = model(x)
    assert torch.equal(model(x, scored=mask), full[mask])
    with pytest.raises(ValueError, match="bool mask"):
        model(x, scored=mask[:, :-1])
    grads = []
    for scores in (True, False):  # the scored path, then the full-logits path of other models
        model.zero_grad()
        model.scores_positions = scores
        opt = torch.optim.SGD(model.parameters(), lr=0.0)  # a step that changes nothing
        loss = train_step(model, opt, x, y)
        grads.append([p.grad.clone() for p in model.parameters()])
        assert loss == pytest.approx(float(_loss(full, y).detach()), rel=1e-12)
        assert evaluate(model, x, y) == pytest.approx(evaluate(model, x, y), rel=1e-12)
    del model.scores_positions  # back to the class attribute
    for a, b in zip(*grads, strict=True):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-14)


def test_training_is_seeded_and_records_its_history():
    config = TrainConfig(lr=3e-3, max_steps=6, warmup_steps=2, eval_every=3, seed=4)
    runs = [train(_tiny(seed=1), _splits(), config, progress=False) for _ in range(2)]
    a, b = runs
    assert a.step == [3, 6] and a.steps == 6 and a.stopped == "max_steps"
    assert a.train_loss == b.train_loss and a.valid_accuracy == b.valid_accuracy
    assert a.test_accuracy == b.test_accuracy and 0.0 <= a.test_accuracy <= 1.0
    assert len(a.seconds) == len(a.valid_loss) == 2


def test_training_stops_at_the_target_and_at_the_time_budget():
    easy = TrainConfig(max_steps=50, warmup_steps=5, eval_every=1, target_accuracy=1e-9)
    h = train(_tiny(), _splits(), easy, progress=False)
    assert h.stopped == "target" and h.steps == 1
    rushed = TrainConfig(max_steps=50, warmup_steps=5, eval_every=25, time_budget=1e-9)
    h = train(_tiny(), _splits(), rushed, progress=False)
    assert h.stopped == "time_budget" and h.steps == 1 and h.step == [1]


def test_checkpoint_round_trip(tmp_path):
    model = _tiny("attention")
    history = History(step=[1], seconds=[0.5], train_loss=[2.0], valid_loss=[1.9],
                      valid_accuracy=[0.25], steps=1, total_seconds=0.5, stopped="max_steps",
                      test_accuracy=0.5, test_loss=1.8)  # fmt: skip
    path = save_checkpoint(tmp_path / "sub" / "model.pt", model, history)
    assert path.exists() and sorted(p.name for p in path.parent.iterdir()) == ["model.pt"]
    payload = torch.load(path, weights_only=True)  # plain tensors and values only
    assert payload["format"] == CHECKPOINT_FORMAT
    loaded, h = load_checkpoint(path)
    assert loaded.config == model.config and h == history
    tokens = torch.randint(8, (2, 12))
    assert torch.equal(loaded(tokens), model.eval()(tokens))


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "model.pt", _tiny(seed=0))
    before = path.read_bytes()

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, _tiny(seed=1))
    assert path.read_bytes() == before, "a failed save must leave the old checkpoint intact"
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"], "no temporary file left"


def test_checkpoint_errors(tmp_path):
    bogus = tmp_path / "bogus.pt"
    torch.save({"weights": torch.zeros(1)}, bogus)
    with pytest.raises(ValueError, match="not a hyena-lab checkpoint"):
        load_checkpoint(bogus)
    with pytest.raises(TypeError, match="model must be a TinyLM"):
        save_checkpoint(tmp_path / "x.pt", nn.Linear(2, 2))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lr": 0.0}, "lr must be finite and > 0"),
        ({"beta2": 1.0}, r"beta2 must lie in \[0, 1\)"),
        ({"target_accuracy": 1.5}, r"target_accuracy must lie in \(0, 1\]"),
        ({"batch_size": 0}, "batch_size must be >= 1"),
        ({"time_budget": -1.0}, "time_budget must be finite and > 0"),
    ],
)
def test_train_config_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kwargs)


def test_run_recall_is_seeded():
    config = TrainConfig(max_steps=2, warmup_steps=1, eval_every=2)
    kw = {"config": config, "d_model": 8, "num_train": 32, "progress": False}
    (m1, h1), (m2, h2) = (run_recall("conv", 8, 10, seed=3, **kw) for _ in range(2))
    assert h1.train_loss == h2.train_loss
    assert all(torch.equal(a, b) for a, b in zip(m1.parameters(), m2.parameters(), strict=True))


def test_recall_command_returns_the_figures(tmp_path):
    parser = argparse.ArgumentParser()
    add_recall_command(parser.add_subparsers(dest="command"))
    ckpt = tmp_path / "recall.pt"
    args = parser.parse_args(
        ["recall", "--mixer", "conv", "--vocab-size", "8", "--seq-len", "10", "--max-steps", "3",
         "--d-model", "8", "--num-train", "32", "--time-budget", "30", "--seed", "2",
         "--checkpoint", str(ckpt)]
    )  # fmt: skip
    result = args.func(args)
    assert {"test_accuracy", "seconds", "steps"} <= set(result)
    assert result["steps"] == 3 and result["mixer"] == "conv" and result["seq_len"] == 10
    assert 0.0 <= result["test_accuracy"] <= 1.0
    model, history = load_checkpoint(ckpt)
    assert model.config.d_model == 8 and history.steps == 3
    with pytest.raises(SystemExit):
        parser.parse_args(["recall", "--mixer", "rnn"])


def _grid_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    add_recall_command(parser.add_subparsers(dest="command"))
    return parser


_TINY_GRID = ["--vocab-sizes", "16", "--seq-lens", "10", "--seeds", "0", "1", "--max-steps", "2"]


def test_grid_cells_carry_mixer_args_and_runs_record_them_with_their_curve():
    cells = grid_cells(["hyena"], [16], [10, 12], [0], {"filter_args": {"w": 10.0}})
    assert [c["seq_len"] for c in cells] == [10, 12]
    assert all(c["mixer_args"] == {"filter_args": {"w": 10.0}} for c in cells)
    assert "mixer_args" not in grid_cells(["conv"], [16], [10], [0])[0]
    config = TrainConfig(max_steps=4, warmup_steps=1, eval_every=2)
    run = run_grid_cell(cells[0], config)
    assert run["mixer_args"] == {"filter_args": {"w": 10.0}} and run["steps"] == 4
    assert run["valid_curve"]["step"] == [2, 4] and len(run["valid_curve"]["valid_accuracy"]) == 2


def test_merge_results_replaces_runs_of_the_same_cell_and_appends_new_cells():
    def run(mixer, seed, acc, **kw):
        return {"mixer": mixer, "vocab_size": 10, "seq_len": 64, "seed": seed,
                "test_accuracy": acc, **kw}  # fmt: skip

    old = [run("hyena", 0, 0.5), run("h3", 0, 0.4), run("hyena", 1, 0.6)]
    new = [run("hyena", 1, 0.9), run("h3_same", 0, 0.7),
           run("hyena", 0, 0.1, mixer_args={"filter_args": {"w": 10.0}})]  # fmt: skip
    merged = merge_results(old, new)
    assert [(r["mixer"], r["seed"], r["test_accuracy"]) for r in merged] == [
        ("hyena", 0, 0.5), ("h3", 0, 0.4), ("hyena", 1, 0.9),  # replaced in place
        ("h3_same", 0, 0.7), ("hyena", 0, 0.1),  # new cells (other arguments: another cell)
    ]
    assert merge_results(old, []) == old
    with pytest.raises(ValueError, match="repeat a cell"):
        merge_results(old, [run("h3", 0, 0.1), run("h3", 0, 0.2)])


def test_recall_grid_in_worker_processes_matches_one_process():
    cells = grid_cells(["conv"], [16], [10], [0, 1])
    config = TrainConfig(max_steps=2, warmup_steps=1, eval_every=2)
    alone = recall_grid(cells, config, progress=False)
    pooled = recall_grid(cells, config, progress=False, jobs=2)
    keep = ("seed", "test_accuracy", "valid_curve", "steps")
    assert [{k: r[k] for k in keep} for r in pooled] == [{k: r[k] for k in keep} for r in alone]
    with pytest.raises(ValueError, match="jobs must be >= 1"):
        recall_grid(cells, config, jobs=0)


def test_recall_grid_command_writes_then_merges_a_record(tmp_path):
    path = tmp_path / "grid.json"
    args = _grid_parser().parse_args(["recall-grid", "--mixers", "conv", *_TINY_GRID,
                                      "--out", str(path)])  # fmt: skip
    summary = args.func(args)
    assert summary["runs"] == 2 and summary["record"] == str(path)
    record = json.loads(path.read_text())
    assert record["mixers"] == ["conv"] and record["recipe"]["max_steps"] == 2
    assert [r["seed"] for r in record["results"]] == [0, 1]
    args = _grid_parser().parse_args(["recall-grid", "--mixers", "h3_same", *_TINY_GRID,
                                      "--merge-into", str(path)])  # fmt: skip
    args.func(args)
    merged = json.loads(path.read_text())
    assert [r["mixer"] for r in merged["results"]] == ["conv", "conv", "h3_same", "h3_same"]
    assert merged["mixers"] == ["conv", "h3_same"] and merged["device"] == record["device"]
    assert merged["additions"][0]["mixers"] == ["h3_same"] and merged["additions"][0]["runs"] == 2
    assert all("device_name" in r for r in merged["results"] if r["mixer"] == "h3_same")
    with pytest.raises(ValueError, match="exactly one of --out"):
        args = _grid_parser().parse_args(["recall-grid", "--mixers", "conv", *_TINY_GRID])
        args.func(args)


def test_recall_names_moved_from_train_warn_but_still_work():
    import hyena_lab.recall
    import hyena_lab.train

    with pytest.warns(DeprecationWarning, match="moved to hyena_lab.recall.run_recall"):
        assert hyena_lab.train.run_recall is hyena_lab.recall.run_recall
    with pytest.raises(AttributeError):
        hyena_lab.train.no_such_name  # noqa: B018


def test_merge_into_record_refuses_another_budget(tmp_path):
    from hyena_lab.recall import merge_into_record, write_record

    config = TrainConfig(max_steps=2, warmup_steps=1, eval_every=2)
    runs = recall_grid(grid_cells(["conv"], [16], [10], [0]), config, progress=False)
    path = write_record(tmp_path / "g.json", runs, config, device="cpu")
    with pytest.raises(ValueError, match="same budget"):
        merge_into_record(path, runs, TrainConfig(max_steps=3, warmup_steps=1), device="cpu")
    with pytest.raises(ValueError, match="nothing to merge"):
        merge_into_record(path, [], config, device="cpu")


def test_recall_records_carry_their_schema(tmp_path):
    """Recall records go through measure.save_record; a record of another kind is refused, one
    written before schemas (the committed grid) is merged into as it is."""
    from hyena_lab.recall import SCHEMA, merge_into_record, read_grid_record, write_record

    config = TrainConfig(max_steps=2, warmup_steps=1, eval_every=2)
    runs = [{"mixer": "conv", "seq_len": 16, "vocab_size": 10, "seed": 0, "d_model": 8,
             "n_layers": 1, "test_accuracy": 0.5}]
    path = write_record(tmp_path / "g.json", runs, config, device="cpu")
    record = json.loads(path.read_text())
    assert record["schema"] == {"name": SCHEMA, "version": 1}
    legacy = tmp_path / "legacy.json"
    legacy.write_text(json.dumps({k: v for k, v in record.items() if k != "schema"}))
    assert read_grid_record(legacy, config)["results"] == runs
    merge_into_record(legacy, runs, config, device="cpu")
    assert json.loads(legacy.read_text())["schema"]["name"] == SCHEMA  # schema'd from now on
    other = tmp_path / "bench.json"
    other.write_text(json.dumps({**record, "schema": {"name": "hyena-lab.bench", "version": 1}}))
    with pytest.raises(ValueError, match=r"not a readable JSON record.*'hyena-lab\.bench' record"):
        read_grid_record(other, config)


def test_recipes_recorded_before_a_field_existed_still_read(tmp_path):
    """A record's recipe lacks the fields added since (schedule, min_lr_ratio): it reads as the
    config whose new fields keep their defaults, the committed chapter-04 records among them; an
    unknown field is refused by name."""
    from hyena_lab.recall import RECALL_RECIPE, merge_into_record, write_record

    old = {k: v for k, v in asdict(RECALL_RECIPE).items() if k not in ("schedule", "min_lr_ratio")}
    assert TrainConfig.from_record(old) == RECALL_RECIPE
    data = Path(__file__).resolve().parents[1] / "figures" / "data"
    committed = json.loads((data / "04_associative_recall-sine_frequency.json").read_text())
    assert TrainConfig.from_record(committed["recipe"]) == RECALL_RECIPE
    with pytest.raises(ValueError, match=r"does not know: \['lr_peak'\]"):
        TrainConfig.from_record({**old, "lr_peak": 1.0})
    config = TrainConfig(max_steps=2, warmup_steps=1, eval_every=2)
    runs = [{"mixer": "conv", "seq_len": 16, "vocab_size": 10, "seed": 0, "d_model": 8,
             "n_layers": 1, "test_accuracy": 0.5}]
    path = write_record(tmp_path / "g.json", runs, config, device="cpu")
    record = json.loads(path.read_text())
    del record["recipe"]["min_lr_ratio"], record["recipe"]["schedule"]
    path.write_text(json.dumps(record))
    merge_into_record(path, runs, config, device="cpu")  # an older grid is merged into
    with pytest.raises(ValueError, match="same budget"):
        merge_into_record(path, runs, TrainConfig(max_steps=2, warmup_steps=1, min_lr_ratio=0.1),
                          device="cpu")  # fmt: skip


# ---------------------------------------------------------------------------------------------
# the chapter's figures (hyena_lab.viz.recall): pure functions of a model / results

from hyena_lab.recall.analysis import key_positions, query_selectivity  # noqa: E402


def _results():
    return [
        {"mixer": m, "vocab_size": V, "seq_len": L, "test_accuracy": acc}
        for m, acc in (("hyena", 1.0), ("conv", 0.2), ("attention", 0.9))
        for V in (10, 20)
        for L in (32, 64)
    ]


def test_grid_table_columns_follow_the_paper_order_and_average_seeds():
    from hyena_lab.viz.recall import grid_table

    results = [*_results(), {"mixer": "hyena", "vocab_size": 10, "seq_len": 32,
                             "test_accuracy": 0.5}]  # fmt: skip
    lines = grid_table(results).splitlines()
    assert lines[0].split() == ["vocab", "length", "long", "conv", "attention", "Hyena"]
    assert "H3 same" in grid_table([{**results[0], "mixer": "h3_same"}]).splitlines()[0]
    assert [line.split()[:2] for line in lines[1:]] == [
        ["10", "32"], ["10", "64"], ["20", "32"], ["20", "64"]
    ]
    assert lines[1].split()[2:] == ["20.0", "90.0", "75.0"]  # Hyena: (100 + 50) / 2
    assert lines[4].split()[2:] == ["20.0", "90.0", "100.0"]
    with pytest.raises(ValueError, match="lacks the keys"):
        grid_table([{"mixer": "hyena"}])
    with pytest.raises(ValueError, match="results is empty"):
        grid_table([])


def test_grid_figure_draws_means_every_run_and_both_reference_levels():
    from hyena_lab.viz.recall import MIXER_COLORS, grid_figure

    results = [{**r, "seed": 0} for r in _results()]
    results += [{"mixer": "hyena", "vocab_size": 10, "seq_len": 32, "seed": 1,
                 "test_accuracy": 0.5}]  # fmt: skip
    fig = grid_figure(results)
    ax = fig.axes[0]  # vocabulary 10
    assert len(fig.axes) == 2 and len(ax.lines) == 3 * 2 + 2  # mean + runs per mixer, 2 levels
    hyena_mean, hyena_runs = ax.lines[4], ax.lines[5]  # table order: conv, attention, Hyena
    assert hyena_mean.get_ydata().tolist() == [75.0, 100.0]  # (100 + 50) / 2 at L = 32
    assert hyena_mean.get_color() == hyena_runs.get_color() == MIXER_COLORS["hyena"]
    assert sorted(hyena_runs.get_ydata().tolist()) == [50.0, 100.0, 100.0]  # every run a dot
    levels = recall_baselines(32, 10, seeds=[0, 1])
    mf, chance = ax.lines[-2], ax.lines[-1]
    assert mf.get_ydata()[0] == pytest.approx(100 * levels["most_frequent"])
    assert chance.get_ydata().tolist() == [25.0, 25.0]  # vocab 10: 4 values
    given = {(V, L): {"chance": 0.1, "most_frequent": 0.3} for V in (10, 20) for L in (32, 64)}
    assert grid_figure(results, given).axes[1].lines[-2].get_ydata().tolist() == [30.0, 30.0]


def test_learning_curves_are_drawn_against_steps_with_recorded_seconds_on_top():
    from hyena_lab.viz.recall import learning_curves_figure

    h = History(step=[50, 100], seconds=[9.0, 99.0], train_loss=[2.0, 1.0],
                valid_loss=[2.0, 1.0], valid_accuracy=[0.2, 0.5])  # fmt: skip
    fig = learning_curves_figure({"Hyena": h, "attention": h}, {"Hyena": 0.1},
                                 levels={"most frequent value": 0.36})  # fmt: skip
    ax_acc, ax_loss = fig.axes[:2]
    assert ax_acc.lines[0].get_xdata().tolist() == [50, 100]  # steps, never live seconds
    assert ax_acc.lines[0].get_ydata().tolist() == [20.0, 50.0]
    assert list(ax_acc.lines[2].get_ydata()) == [36.0, 36.0]  # the reference level
    assert ax_loss.lines[0].get_xdata().tolist() == [50, 100]
    (top,) = ax_acc.child_axes  # one secondary axis: Hyena's recorded seconds
    assert "Hyena: seconds" in top.get_xlabel()
    fig.draw_without_rendering()  # the secondary axis follows the steps at 0.1 s per step
    assert top.get_xlim() == pytest.approx(tuple(0.1 * x for x in ax_acc.get_xlim()))
    with pytest.raises(ValueError, match="not in histories"):
        learning_curves_figure({"Hyena": h}, {"H3": 0.1})
    with pytest.raises(ValueError, match="must be > 0"):
        learning_curves_figure({"Hyena": h}, {"Hyena": 0.0})
    with pytest.raises(ValueError, match="at least one record"):
        learning_curves_figure({"Hyena": History()})
    with pytest.raises(ValueError, match="histories is empty"):
        learning_curves_figure({})


def test_recorded_seconds_per_step_and_accuracy_at_a_step():
    from hyena_lab.recall.analysis import accuracy_at, seconds_per_step

    record = {"results": [{"mixer": "hyena", "seconds": 10.0, "steps": 100},
                          {"mixer": "hyena", "seconds": 30.0, "steps": 100},
                          {"mixer": "attention", "seconds": 5.0, "steps": 50}]}  # fmt: skip
    assert seconds_per_step(record, "hyena") == pytest.approx(0.2)  # mean of 0.1 and 0.3
    assert seconds_per_step(record, "attention") == pytest.approx(0.1)
    with pytest.raises(ValueError, match="no run of mixer 'h3'"):
        seconds_per_step(record, "h3")
    h = History(step=[50, 100], valid_accuracy=[0.3, 0.8])
    assert accuracy_at(h, 100) == 0.8
    assert accuracy_at({"step": [50, 100], "valid_accuracy": [0.3, 0.8]}, 50) == 0.3
    with pytest.raises(ValueError, match="not validated at step 75"):
        accuracy_at(h, 75)


def test_curves_figure_draws_every_run_and_the_mean_of_each_group():
    from hyena_lab.viz.recall import curves_figure

    def run(accs):
        return {"valid_curve": {"step": [50, 100, 150][: len(accs)], "valid_accuracy": accs}}

    groups = {"w = 1": [run([0.2, 0.6, 0.9]), run([0.4, 0.8])], "w = 10": [run([0.1, 0.3])]}
    fig = curves_figure(groups, levels={"most frequent value": 0.36})
    ax = fig.axes[0]
    assert len(ax.lines) == (2 + 1) + (1 + 1) + 1  # runs and mean per group, one level
    mean_w1 = ax.lines[2]
    assert list(mean_w1.get_xdata()) == [50, 100]  # the steps every run of the group reached
    assert np.allclose(mean_w1.get_ydata(), [30.0, 70.0])
    assert mean_w1.get_color() != ax.lines[4].get_color()  # one colour per group
    with pytest.raises(ValueError, match="non-empty"):
        curves_figure({"w = 1": []})


def test_filter_statistics_describe_known_filters(monkeypatch):
    from hyena_lab.recall.analysis import filter_statistics

    torch.manual_seed(0)
    model = TinyLM(ModelConfig(8, 128, "hyena", d_model=4))
    op = model.blocks[0].mixer
    t = torch.arange(128.0)
    cases = {
        "flat": torch.ones(4, 128),
        "zigzag": (-1.0) ** t * torch.ones(4, 1),  # all energy at a period of 2 tokens
        "spike": 0.01 + (t == 70).float() * torch.ones(4, 1),  # a delay by 70, on a floor
    }
    stats = {}
    for name, h in cases.items():
        monkeypatch.setattr(op, "filters", lambda L, h=h: h[None, :, :L])
        stats[name] = filter_statistics(model, 0)
    assert stats["flat"]["max_tap_share"] == pytest.approx(1 / 128)
    assert stats["flat"]["reach_60"] == pytest.approx(1.0)
    assert stats["flat"]["short_period_share"] == pytest.approx(0.0, abs=1e-20)
    assert stats["zigzag"]["short_period_share"] == pytest.approx(1.0)
    assert stats["spike"]["bump_lag"] == 70.0
    assert stats["spike"]["max_tap_share"] == pytest.approx(1.01 / (128 * 0.01 + 1))
    window = op.filter.window(128).mean(0)
    assert stats["flat"]["window_60"] == pytest.approx(float(window[60] / window[0]))
    with pytest.raises(ValueError, match="not a Hyena operator"):
        filter_statistics(_tiny("attention"), 0)
    with pytest.raises(ValueError, match="L > 60"):
        filter_statistics(_tiny("hyena"), 0)


class _Looker:
    """A stand-in model whose query row weighs the query key's values twice as much."""

    def __init__(self, vocab_size: int) -> None:
        self.config = ModelConfig(vocab_size, 64)

    def contributions(self, tokens: torch.Tensor, layer: int) -> torch.Tensor:
        x = tokens[0]
        _, values = key_positions(x)
        row = torch.ones(x.shape[0])
        row[values] = 2.0
        return torch.stack([row] * x.shape[0])  # (L, L): every row the same


def test_key_positions_and_query_selectivity():
    inputs, _ = make_splits("recall", 13, 8, num_train=1, num_valid=1, num_test=20).test
    keys, values = key_positions(inputs[0])
    assert keys and all(int(inputs[0, k]) == int(inputs[0, -1]) for k in keys)
    assert values == [k + 1 for k in keys]
    assert query_selectivity(_Looker(8), inputs, layer=0) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="both the query key and other keys"):
        query_selectivity(_Looker(8), inputs[:, -4:], layer=0)  # a single pair: no other key


@pytest.mark.parametrize("mixer", ["hyena", "attention", "conv"])
def test_recall_explorer_figure_and_query_row(mixer):
    from hyena_lab.recall.analysis import query_row
    from hyena_lab.viz.recall import recall_explorer_figure

    model = _tiny(mixer)
    inputs = _splits().test[0]
    row = query_row(model, inputs[:1], layer=1)
    assert row.shape == (12,) and float(row.sum()) == pytest.approx(1.0)
    fig = recall_explorer_figure(model, inputs, example=3, layer=0)
    assert "layer 1" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match=r"example must be an int in \[0, 32\)"):
        recall_explorer_figure(model, inputs, example=32)
    with pytest.raises(ValueError, match=r"layer must be an int in \[0, 2\)"):
        recall_explorer_figure(model, inputs, layer=2)
    with pytest.raises(ValueError, match="inputs must be"):
        recall_explorer_figure(model, inputs[0])


def test_filters_figure_draws_each_hyena_filter():
    from hyena_lab.viz.recall import filters_figure

    torch.manual_seed(0)
    model = TinyLM(ModelConfig(8, 12, "hyena", d_model=16, mixer_args={"order": 3}))
    fig = filters_figure(model, layers=[1], channels=3)
    # order 3 in the official layout: the first filter is the identity, h^2 and h^3 are learned;
    # one column per filter, three rows: channels, mean |h| with the window, spectrum
    assert len(fig.axes) == 3 * 2 and all(len(ax.lines) == 3 for ax in fig.axes[:2])
    assert "filter h^2" in fig.axes[0].get_title() and "filter h^3" in fig.axes[1].get_title()
    bank = model.blocks[1].mixer.filters(12)[1].detach()  # h^3, (16, 12)
    assert np.allclose(fig.axes[1].lines[2].get_ydata(), bank[2].numpy())  # the filter itself
    assert np.allclose(fig.axes[3].lines[0].get_ydata(), bank.abs().mean(0).numpy())
    spectrum = torch.fft.rfft(bank, dim=1).abs().mean(0)
    assert np.allclose(fig.axes[5].lines[0].get_ydata(), spectrum.numpy())
    assert len(filters_figure(model).axes) == 3 * 4  # every layer by default
    with pytest.raises(ValueError, match="not a Hyena operator"):
        filters_figure(_tiny("attention"))
    with pytest.raises(ValueError, match="channels must be an int >= 1"):
        filters_figure(model, channels=0)
    with pytest.raises(ValueError, match=r"layer must be an int in \[0, 2\)"):
        filters_figure(model, layers=[-1])
    with pytest.raises(ValueError, match="layers is empty"):
        filters_figure(model, layers=[])


def test_measurements_round_trip(tmp_path, monkeypatch):
    from hyena_lab.recall import device_name, load_measurement, save_measurement

    monkeypatch.setenv("HYENA_LAB_FIGURES", str(tmp_path))
    monkeypatch.setenv("HYENA_LAB_RECORDS", str(tmp_path / "data"))
    results = [{"mixer": "hyena", "d_model": 64, "n_layers": 2, "test_accuracy": 1.0}]
    path = save_measurement("04_test-grid", results, TrainConfig(), device=device_name("cpu"))
    assert path == tmp_path / "data" / "04_test-grid.json"
    record = load_measurement("04_test-grid")
    assert record["results"] == results and record["device"].endswith("(CPU)")
    assert record["shapes"]["d_model"] == [64] and record["recipe"]["lr"] == TrainConfig().lr
    assert {"torch_version", "date"} <= set(record)
    with pytest.raises(FileNotFoundError, match="make handbook"):
        load_measurement("04_missing")
    with pytest.raises(ValueError, match="measurement name"):
        save_measurement("a/b", results, TrainConfig(), device="cpu")
    with pytest.raises(ValueError, match="results is empty"):
        save_measurement("04_x", [], TrainConfig(), device="cpu")
