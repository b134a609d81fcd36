"""Train/test overlap of the synthetic tasks: measured exactly, reported, refused when too high."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hyena_lab import tasks
from hyena_lab.tasks import (
    MAX_TEST_OVERLAP,
    TaskSplits,
    associative_recall,
    make_splits,
    split_overlap,
)


def test_split_overlap_counts_the_rows_of_other_found_in_reference():
    reference = torch.tensor([[1, 2, 3], [4, 5, 6], [4, 5, 6]])
    other = torch.tensor(
        [
            [1, 2, 3],  # in reference
            [1, 2, 3],  # repeated: counts again (a fraction of the rows, not of distinct rows)
            [6, 5, 4],  # the same tokens in another order: a different sequence
            [4, 5, 7],  # differs in the last position only
            [4, 5, 6],  # in reference (twice there: still one row of other)
        ]
    )
    assert split_overlap(reference, other) == 3 / 5
    # not symmetric: without its last row, other holds [1, 2, 3] but not [4, 5, 6] (2 rows)
    assert split_overlap(other[:4], reference) == 1 / 3
    assert split_overlap(other, other) == 1.0
    assert split_overlap(reference[:0], other) == 0.0  # nothing to find them in


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 12), st.integers(1, 12), st.integers(1, 4), st.integers(0, 2**31 - 1))
def test_split_overlap_matches_the_definition(num_ref, num_other, width, seed):
    g = torch.Generator().manual_seed(seed)
    # 2 tokens and short rows: many rows coincide, so both outcomes are exercised
    reference = torch.randint(2, (num_ref, width), generator=g)
    other = torch.randint(2, (num_other, width), generator=g)
    seen = {tuple(row) for row in reference.tolist()}
    expected = sum(tuple(row) in seen for row in other.tolist()) / num_other
    assert split_overlap(reference, other) == pytest.approx(expected, abs=1e-15)


def _zeros(*shape: int) -> torch.Tensor:
    return torch.zeros(shape, dtype=torch.int64)


@pytest.mark.parametrize(
    ("reference", "other", "match"),
    [
        (_zeros(3), _zeros(2, 3), r"got shape \(3,\)"),
        (_zeros(2, 3), _zeros(1, 2, 3), r"got shape \(1, 2, 3\)"),
        (_zeros(2, 3), _zeros(2, 4), r"different lengths.*\[3, 4\]"),
        (_zeros(2, 3), _zeros(0, 3), "no rows"),
    ],
)
def test_split_overlap_errors(reference, other, match):
    with pytest.raises(ValueError, match=match):
        split_overlap(reference, other)


def test_a_combination_with_a_single_sequence_is_refused():
    # vocab 4 has one key and one value, length 4 one pair: every input is 'a 0 => a'
    assert torch.unique(associative_recall(50, 4, 4)[0], dim=0).shape[0] == 1
    with pytest.raises(ValueError) as err:
        make_splits("recall", 4, 4, num_train=20, num_valid=5, num_test=5)
    message = str(err.value)
    for part in ("recall", "vocab_size=4", "seq_len=4", "single distinct", "test overlap 100%",
                 "larger vocab_size or seq_len"):  # fmt: skip
        assert part in message, message
    # a training set of one sequence alone is not refused (recall_baselines draws num_train=1)
    assert make_splits("recall", 64, 16, num_train=1, num_valid=1, num_test=50).test_overlap == 0.0


def test_a_combination_whose_test_set_was_seen_in_training_is_refused():
    # vocab 8 (3 keys, 3 values), length 10 (4 pairs): 3,681 distinct sequences, most of which
    # 24,000 training draws contain (the setting of the tiny grid tests before this check)
    num_train, num_test = 24_000, 1000
    train_x, _ = associative_recall(num_train, 10, 8, seed=0)  # make_splits' seeds for seed=0
    test_x, _ = associative_recall(num_test, 10, 8, seed=2)
    overlap = split_overlap(train_x, test_x)
    assert overlap > MAX_TEST_OVERLAP
    with pytest.raises(ValueError) as err:
        make_splits("recall", 10, 8, num_train=num_train, num_test=num_test)
    message = str(err.value)
    for part in ("recall", "vocab_size=8", "seq_len=10", "num_train=24000", f"{overlap:.1%}",
                 "memorisation", "larger vocab_size or seq_len"):  # fmt: skip
        assert part in message, message


@pytest.mark.parametrize("task", ["majority", "counting"])
def test_tiny_majority_and_counting_are_refused_too(task):
    # majority vocab 4, length 4: 3 symbols of 2 kinds, 8 sequences; counting vocab 6, length
    # 4: 2 symbols, counts 0 or 1 in 2 positions, 6 sequences. 200 draws contain them all.
    vocab = 4 if task == "majority" else 6
    match = f"{task} with vocab_size={vocab}, seq_len=4.*memorisation"
    with pytest.raises(ValueError, match=match):
        make_splits(task, 4, vocab, num_train=200, num_valid=50, num_test=50)


def test_an_overlap_below_the_limit_is_reported_not_refused(monkeypatch):
    s = make_splits("recall", 12, 8, num_train=2000, num_valid=200, num_test=300, seed=1)
    assert s.test_overlap == split_overlap(s.train[0], s.test[0])
    assert s.valid_overlap == split_overlap(s.train[0], s.valid[0])
    assert 0.0 < s.test_overlap <= MAX_TEST_OVERLAP and 0.0 < s.valid_overlap
    # the limit is the module constant, compared with '>': at the overlap accepted, below refused
    monkeypatch.setattr(tasks, "MAX_TEST_OVERLAP", s.test_overlap)
    make_splits("recall", 12, 8, num_train=2000, num_valid=200, num_test=300, seed=1)
    monkeypatch.setattr(tasks, "MAX_TEST_OVERLAP", s.test_overlap - 1e-9)
    with pytest.raises(ValueError, match="MAX_TEST_OVERLAP"):
        make_splits("recall", 12, 8, num_train=2000, num_valid=200, num_test=300, seed=1)


def test_the_chapter_setting_has_no_test_sequence_in_training():
    # chapter 04 and `hyena-lab recall`: vocab 16, length 128, 24,000 training sequences
    s = make_splits("recall", 128, 16, num_train=24_000, seed=0, train_score="values")
    assert s.test_overlap == 0.0 and s.valid_overlap == 0.0
    for task in ("majority", "counting"):
        other = make_splits(task, 64, 16, num_train=2000)
        assert other.test_overlap == 0.0 and other.valid_overlap == 0.0


def test_task_splits_built_by_hand_default_to_no_measured_overlap():
    x, y = associative_recall(4, 8, 8)
    s = TaskSplits(train=(x, y), valid=(x, y), test=(x, y), task="recall", seq_len=8, vocab_size=8)
    assert s.test_overlap == 0.0 and s.valid_overlap == 0.0
