"""Chapter 08's majority and counting runs: settings, splits, the chance level, one run, the CLI."""

import json
from collections import Counter
from dataclasses import replace

import pytest
import torch

from hyena_lab.cli import main
from hyena_lab.experiments.synthetic import (
    SyntheticConfig,
    chance_accuracy,
    run_synthetic,
    synthetic_splits,
)
from hyena_lab.measure import load_record
from hyena_lab.tasks import IGNORE_INDEX, counting, majority

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = {"width": 8, "seq_len": 12, "vocab_size": 10, "num_train": 64, "num_test": 32,
        "max_steps": 3, "batch_size": 8, "progress": False}  # fmt: skip

RECORD_KEYS = {"run", "config", "task", "mixer", "width", "seq_len", "vocab_size", "seed",
               "params", "test_accuracy", "chance", "test_overlap", "steps", "seconds",
               "stopped", "valid_curve"}  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"task": "sorting"}, "task must be one of \\['counting', 'majority'\\]"),
        ({"mixer": "lstm"}, "mixer must be one of"),
        ({"task": "majority", "max_count": 3}, "max_count is counting's option"),
        ({"task": "counting", "vocab_size": 5}, "vocab_size must be >= 6 for counting"),
        ({"task": "counting", "vocab_size": 8, "max_count": 4}, "vocab_size >= 9"),
        ({"task": "counting", "seq_len": 2}, "seq_len must be >= 3 for counting"),
        ({"task": "majority", "seq_len": 1}, "seq_len must be >= 2 for majority"),
        ({"task": "majority", "vocab_size": 3}, "vocab_size must be >= 4 for majority"),
    ],
)
def test_a_run_that_cannot_be_drawn_is_refused_at_once(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SyntheticConfig(**kwargs)


@pytest.mark.parametrize("task", ["majority", "counting"])
def test_splits_are_seeded_and_drawn_from_three_seeds(task):
    c = SyntheticConfig(task=task, seed=1, **TINY)
    a, b = synthetic_splits(c), synthetic_splits(c)
    make = counting if task == "counting" else majority
    for name, seed in (("train", 3), ("valid", 4), ("test", 5)):
        n = c.num_train if name == "train" else c.num_test
        expected = make(n, c.seq_len, c.vocab_size, seed)
        for got, again, want in zip(getattr(a, name), getattr(b, name), expected, strict=True):
            assert torch.equal(got, want) and torch.equal(again, want)
    assert not torch.equal(a.valid[0], a.test[0])  # different seeds, different sequences
    assert a.task == task and a.seq_len == 12 and a.vocab_size == 10
    other = synthetic_splits(replace(c, seed=2))  # seeds 6, 7, 8: no stream shared with seed 1
    assert not torch.equal(other.train[0][: c.num_test], a.test[0])


def test_max_count_reaches_the_generator():
    c = SyntheticConfig(task="counting", max_count=2, **TINY)
    answers = synthetic_splits(c).test[1][:, -1] - 2  # numeral ids start at 2
    assert set(answers.tolist()) == {0, 1, 2}


def test_too_few_distinct_sequences_are_refused():
    c = SyntheticConfig(task="majority", seq_len=3, vocab_size=4, num_train=64, num_test=32,
                        progress=False)  # 2 symbols, 2 positions: 4 sequences  # fmt: skip
    with pytest.raises(ValueError, match="also occur in training"):
        synthetic_splits(c)


def test_chance_is_the_share_of_the_most_common_answer():
    targets = torch.full((5, 4), IGNORE_INDEX)
    targets[:, -1] = torch.tensor([2, 3, 3, 4, 3])  # answer 3 three times out of five
    assert chance_accuracy(targets) == pytest.approx(3 / 5)
    test = synthetic_splits(SyntheticConfig(task="majority", **TINY)).test[1]
    by_hand = Counter(int(row[-1]) for row in test).most_common(1)[0][1] / len(test)
    assert chance_accuracy(test) == by_hand
    with pytest.raises(ValueError, match="num_examples >= 1, seq_len"):
        chance_accuracy(targets[:, -1])


@pytest.mark.parametrize("mixer", ["attention", "hyena"])
def test_one_run_records_every_key_and_is_seeded(mixer):
    c = SyntheticConfig(task="counting", mixer=mixer, **TINY)
    a, b = run_synthetic(c), run_synthetic(c)
    assert set(a) == RECORD_KEYS
    assert a["steps"] == 3 and a["stopped"] == "max_steps" and a["params"] > 0
    assert a["test_accuracy"] == b["test_accuracy"]  # same seed, same run (CPU, one thread)
    assert a["chance"] == chance_accuracy(synthetic_splits(c).test[1])
    assert a["task"] == "counting" and a["config"]["max_count"] is None
    assert a["run"]["device_type"] == "cpu" and 0.0 <= a["test_overlap"] <= 1.0


def test_command_prints_its_summary_last_and_writes_the_record(capsys, tmp_path):
    out = tmp_path / "synthetic.json"
    args = ["synthetic", "--task", "counting", "--mixer", "hyena", "--width", "8", "--seq-len",
            "12", "--vocab-size", "10", "--num-train", "64", "--num-test", "32", "--max-steps",
            "3", "--batch-size", "8", "--no-progress", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["task"] == "counting" and last["steps"] == 3 and 0.0 < last["chance"] < 1.0
    record = load_record(out, schema="synthetic")
    assert record["test_accuracy"] == last["test_accuracy"] and set(record) >= RECORD_KEYS


def test_command_refuses_a_bad_setting_before_training(capsys):
    assert main(["synthetic", "--task", "counting", "--vocab-size", "5", "--no-progress"]) == 2
    assert "vocab_size must be >= 6" in capsys.readouterr().err
