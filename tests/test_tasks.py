"""Synthetic tasks: the answer is what the task says it is, seeded, with clear errors."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from hyena_lab.tasks import (
    IGNORE_INDEX,
    NOOP,
    PROMPT,
    associative_recall,
    counting,
    decode,
    majority,
    make_splits,
    most_frequent_value,
    recall_baselines,
    recall_vocab,
)

lengths = st.one_of(st.integers(4, 70), st.sampled_from([4, 5, 127, 128, 129]))
vocabs = st.integers(4, 40)
seeds = st.integers(0, 2**31 - 1)


def _pairs(inputs: torch.Tensor) -> torch.Tensor:
    """The (key, value) pairs of recall inputs, (n, P, 2), dropping padding, '=>' and query."""
    n, L = inputs.shape
    return inputs[:, L % 2 : L - 2].reshape(n, -1, 2)


@given(st.integers(1, 6), lengths, vocabs, seeds)
def test_recall_answer_is_the_value_paired_with_the_query_key(n, L, V, seed):
    inputs, targets = associative_recall(n, L, V, seed)
    vocab = recall_vocab(V)
    assert inputs.shape == targets.shape == (n, L)
    assert inputs.dtype == targets.dtype == torch.int64
    assert (inputs[:, -2] == PROMPT).all()
    if L % 2:
        assert (inputs[:, 0] == NOOP).all()
    pairs = _pairs(inputs)
    keys, values = pairs[..., 0], pairs[..., 1]
    assert ((keys >= vocab.key_start) & (keys < vocab.value_start)).all()
    assert ((values >= vocab.value_start) & (values < V)).all()
    query, answer = inputs[:, -1], targets[:, -1]
    for i in range(n):
        hits = keys[i] == query[i]
        assert hits.any(), "the query key must occur in the context"
        assert (values[i][hits] == answer[i]).all(), "the answer is the value paired with it"
    # only the answer is scored
    assert (targets[:, :-1] == IGNORE_INDEX).all()


@given(st.integers(1, 6), lengths, vocabs, seeds)
def test_recall_each_key_has_one_value_per_example(n, L, V, seed):
    """A fresh dictionary per example: a repeated key always comes with the same value."""
    pairs = _pairs(associative_recall(n, L, V, seed)[0])
    for i in range(n):
        mapping: dict[int, int] = {}
        for k, v in pairs[i].tolist():
            assert mapping.setdefault(k, v) == v, f"key {k} paired with two values"


def test_recall_dictionaries_differ_between_examples():
    inputs, _ = associative_recall(200, 64, 30, seed=3)
    pairs = _pairs(inputs)
    first_key = pairs[:, 0, 0]
    # the value of the same key varies from one example to the next
    same_key = pairs[first_key == first_key[0], 0, 1]
    assert same_key.unique().numel() > 1


@given(st.integers(1, 6), st.integers(4, 40), seeds)
def test_recall_unique_keys_has_no_duplicate_keys(n, L, seed):
    V = L + 2  # enough keys for (L - 2) // 2 pairs
    inputs, _ = associative_recall(n, L, V, seed, unique_keys=True)
    keys = _pairs(inputs)[..., 0]
    for i in range(n):
        assert keys[i].unique().numel() == keys.shape[1], "a key repeats"
        assert int((keys[i] == inputs[i, -1]).sum()) == 1, "the query must occur exactly once"


@given(st.integers(1, 4), lengths, vocabs, seeds)
def test_recall_training_targets_are_the_next_tokens(n, L, V, seed):
    inputs, targets = associative_recall(n, L, V, seed, score="all")
    queried, answer_only = associative_recall(n, L, V, seed)
    assert torch.equal(inputs, queried), "score must not change the inputs"
    assert torch.equal(targets[:, -1], answer_only[:, -1])
    start = L % 2  # the padding's successor is not scored
    assert torch.equal(targets[:, start:-1], inputs[:, start + 1 :])
    assert (targets[:, :start] == IGNORE_INDEX).all()


@given(st.integers(1, 4), lengths, vocabs, seeds)
def test_recall_value_scoring_keeps_only_the_values(n, L, V, seed):
    _, everything = associative_recall(n, L, V, seed, score="all")
    _, values = associative_recall(n, L, V, seed, score="values")
    scored = values != IGNORE_INDEX
    assert (values[scored] >= recall_vocab(V).value_start).all(), "only values are scored"
    assert torch.equal(values[scored], everything[scored])
    is_value = everything >= recall_vocab(V).value_start
    assert torch.equal(scored, is_value), "every value position is scored"
    assert scored[:, -1].all() and int(scored.sum()) == n * ((L - 2) // 2 + 1)


def test_recall_is_seeded():
    a = associative_recall(8, 33, 16, seed=5)
    b = associative_recall(8, 33, 16, seed=5)
    c = associative_recall(8, 33, 16, seed=6)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a[0], c[0])


def test_recall_vocab_layout_follows_the_official_data():
    v = recall_vocab(16)  # 2 specials, 14 ordinary ids: 7 keys, 7 values
    assert (v.num_keys, v.num_values, v.key_start, v.value_start) == (7, 7, 2, 9)
    v = recall_vocab(5)
    assert (v.num_keys, v.num_values) == (1, 2)


def test_recall_keys_and_queries_cover_the_vocab():
    inputs, targets = associative_recall(2000, 16, 12, seed=0)
    v = recall_vocab(12)
    assert set(inputs[:, -1].tolist()) == set(range(v.key_start, v.value_start))
    assert set(targets[:, -1].tolist()) == set(range(v.value_start, 12))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"seq_len": 3}, "seq_len must be >= 4"),
        ({"seq_len": 0}, "seq_len must be >= 1"),
        ({"vocab_size": 3}, "vocab_size must be >= 4"),
        ({"vocab_size": 10, "unique_keys": True}, "too small for 7 pairs with unique keys"),
        ({"score": "every"}, "score must be .query., .values. or .all."),
        ({"num_examples": 0}, "num_examples must be >= 1"),
    ],
)
def test_recall_bad_arguments(kwargs, match):
    args = {"num_examples": 2, "seq_len": 16, "vocab_size": 16, **kwargs}
    with pytest.raises(ValueError, match=match):
        associative_recall(**args)


def test_recall_bad_types():
    with pytest.raises(TypeError, match="seq_len must be an int"):
        associative_recall(2, 16.0, 16)
    with pytest.raises(TypeError, match="seed must be an int"):
        associative_recall(2, 16, 16, seed=None)


@given(st.integers(1, 6), st.integers(2, 60), st.integers(4, 12), seeds)
def test_majority_answer_is_the_unique_most_frequent_symbol(n, L, V, seed):
    inputs, targets = majority(n, L, V, seed)
    assert inputs.shape == targets.shape == (n, L)
    assert (inputs[:, -1] == PROMPT).all()
    assert (targets[:, :-1] == IGNORE_INDEX).all()
    seq = inputs[:, :-1]
    assert ((seq >= 2) & (seq < V)).all()
    for i in range(n):
        counts = torch.bincount(seq[i], minlength=V)
        winner = int(targets[i, -1])
        assert (counts[winner] > counts[torch.arange(V) != winner]).all(), "not a strict majority"


@given(st.integers(1, 6), st.integers(3, 60), st.integers(6, 20), seeds)
def test_counting_answer_is_the_number_of_query_occurrences(n, L, V, seed):
    max_count = (V - 2) // 2 - 1
    inputs, targets = counting(n, L, V, seed)
    assert inputs.shape == targets.shape == (n, L)
    assert (inputs[:, -2] == PROMPT).all()
    assert (targets[:, :-1] == IGNORE_INDEX).all()
    symbol_start = 2 + max_count + 1
    assert (inputs[:, :-2] >= symbol_start).all() and (inputs[:, -1] >= symbol_start).all()
    counts = (inputs[:, :-2] == inputs[:, -1:]).sum(dim=1)
    assert torch.equal(targets[:, -1], counts + 2), "target must be the numeral of the count"


def test_counting_answers_are_balanced():
    _, targets = counting(3000, 40, 12, seed=0)  # numerals 0..4
    freq = torch.bincount(targets[:, -1] - 2, minlength=5).float() / 3000
    assert torch.allclose(freq, torch.full((5,), 0.2), atol=0.03)


def test_majority_and_counting_errors():
    with pytest.raises(ValueError, match="vocab_size must be >= 4 for majority"):
        majority(2, 8, 3)
    with pytest.raises(ValueError, match="too small for counting up to 4"):
        counting(2, 8, 8, max_count=4)
    with pytest.raises(ValueError, match="seq_len must be >= 3"):
        counting(2, 2, 12)
    with pytest.raises(ValueError, match="max_count must be an int >= 1"):
        counting(2, 8, 12, max_count=0)


def test_make_splits_scores_training_densely_and_tests_the_query():
    s = make_splits("recall", 32, 10, num_train=40, num_valid=20, num_test=30, seed=1)
    assert s.train[0].shape == (40, 32) and s.valid[0].shape == (20, 32)
    assert s.test[0].shape == (30, 32)
    assert (s.train[1] != IGNORE_INDEX).sum(dim=1).min() == 32
    assert ((s.test[1] != IGNORE_INDEX).sum(dim=1) == 1).all()
    assert not torch.equal(s.valid[0], s.test[0][:20]), "splits must use different seeds"
    again = make_splits("recall", 32, 10, num_train=40, num_valid=20, num_test=30, seed=1)
    assert torch.equal(again.test[0], s.test[0])
    m = make_splits("majority", 9, 6, num_train=4, num_valid=4, num_test=4)
    assert (m.train[1][:, :-1] == IGNORE_INDEX).all()
    with pytest.raises(ValueError, match="task must be one of"):
        make_splits("copying", 8, 8)


def test_decode_writes_keys_as_letters_and_values_as_digits():
    inputs, targets = associative_recall(1, 7, 8, seed=0, score="all")
    text = decode(inputs[0], 8)
    words = text.split()
    assert words[0] == "." and words[-2] == "=>" and len(words) == 7
    assert words[1].isalpha() and words[2].isdigit()
    assert decode(targets[0], 8).split()[0] == "_"
    with pytest.raises(ValueError, match="outside the vocabulary"):
        decode(torch.tensor([8]), 8)


def test_most_frequent_value_counts_values_only():
    # vocab 6: keys 2, 3 and values 4, 5; 'a 4 b 5 b 5 a 4 a 4 => b' and 'a 4 b 5 b 5 b 5 a 4 => a'
    inputs = torch.tensor(
        [[2, 4, 3, 5, 3, 5, 2, 4, 2, 4, 0, 3], [2, 4, 3, 5, 3, 5, 3, 5, 2, 4, 0, 2]]
    )
    assert most_frequent_value(inputs, 6).tolist() == [4, 5]
    x, y = associative_recall(3000, 64, 16, seed=2)
    accuracy = float((most_frequent_value(x, 16) == y[:, -1]).float().mean())
    assert 0.25 < accuracy < 0.5, "well above chance (1/7), far below a lookup"
    with pytest.raises(ValueError, match="inputs must be"):
        most_frequent_value(x[0], 16)


def test_recall_baselines_score_the_test_sets_of_the_seeds():
    levels = recall_baselines(64, 30, seeds=(0, 1), num_test=500)
    assert levels["chance"] == 1 / 14  # vocab 30: 2 specials, 14 keys, 14 values
    per_seed = []
    for seed in (0, 1):  # the very sequences a run with this seed is tested on
        x, y = make_splits("recall", 64, 30, num_test=500, seed=seed).test
        per_seed.append(float((most_frequent_value(x, 30) == y[:, -1]).float().mean()))
    assert levels["most_frequent"] == pytest.approx(sum(per_seed) / 2, abs=1e-12)
    assert per_seed[0] != per_seed[1], "the seeds' test sets differ"
    assert levels["chance"] < levels["most_frequent"] < 0.5
    with pytest.raises(ValueError, match="seeds is empty"):
        recall_baselines(64, 30, seeds=())
