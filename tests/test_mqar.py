"""Multi-query associative recall (Zoology's MQAR): the layout the docstring promises, seeded."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from hyena_lab.tasks import IGNORE_INDEX, mqar


@st.composite
def settings_(draw):
    P = draw(st.integers(1, 12))
    L = 2 * draw(st.integers(2 * P, 2 * P + 40))  # even, >= 4 P
    V = draw(st.integers(2 * P + 2, 2 * P + 60))
    return draw(st.integers(1, 5)), L, P, V, draw(st.sampled_from([0.01, 0.5, 1.0, 3.0]))


@given(settings_(), st.integers(0, 2**31 - 1))
def test_every_query_asks_a_key_of_the_pairs_and_is_scored_with_its_value(s, seed):
    n, L, P, V, a = s
    inputs, targets = mqar(n, L, P, V, power_a=a, seed=seed)
    assert inputs.shape == targets.shape == (n, L)
    assert inputs.dtype == targets.dtype == torch.int64
    assert ((inputs >= 0) & (inputs < V)).all()
    keys, values = inputs[:, 0 : 2 * P : 2], inputs[:, 1 : 2 * P : 2]  # (n, P)
    # keys distinct per row and from the lower half (0 excluded), values from the upper half
    assert all(len(set(row.tolist())) == P for row in keys)
    assert ((keys >= 1) & (keys < V // 2)).all() and (values >= V // 2).all()
    assert (targets[:, : 2 * P] == IGNORE_INDEX).all()
    for i in range(n):
        at = torch.nonzero(targets[i] != IGNORE_INDEX)[:, 0]
        assert len(at) == P and ((at - 2 * P) % 2 == 0).all()  # P queries at even offsets
        lookup = dict(zip(keys[i].tolist(), values[i].tolist(), strict=True))
        asked = inputs[i, at].tolist()
        assert sorted(asked) == sorted(lookup)  # every key asked exactly once
        assert targets[i, at].tolist() == [lookup[k] for k in asked]


def test_same_seed_same_tensors_other_seed_other_tensors():
    a = mqar(8, 64, 4, 100, seed=3)
    b = mqar(8, 64, 4, 100, seed=3)
    c = mqar(8, 64, 4, 100, seed=4)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_small_power_a_puts_queries_soon_after_the_pairs():
    # p(g) ~ a (g+1)^(a-1) over g < 112 (L 256, 16 pairs): for a = 1 the mean gap is 55.5; for
    # a = 0.01 it is sum g p(g) = 20.5 (computed from the weights). 4,000 rows x 16 queries keep
    # the sample means within 1 of these (their standard error is < 0.3), far from each other.
    def mean_gap(a):
        _, y = mqar(4000, 256, 16, 8192, power_a=a, seed=0)
        return float(((y != IGNORE_INDEX).nonzero()[:, 1] - 32).double().mean() / 2)

    assert mean_gap(0.01) < 30 < 50 < mean_gap(1.0)


def test_zoology_figure2_shapes_fit():
    for L, P in [(64, 4), (128, 8), (256, 16), (512, 64)]:
        _x, y = mqar(2, L, P, 8192, seed=0)
        assert int((y != IGNORE_INDEX).sum()) == 2 * P


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((2, 15, 2, 50), "even"),
        ((2, 12, 4, 50), r">= 4 \* num_kv_pairs = 16"),
        ((2, 64, 8, 17), "vocab_size >= 18"),
        ((2, 64, 0, 50), "num_kv_pairs"),
    ],
)
def test_clear_errors_when_the_pairs_do_not_fit(args, match):
    with pytest.raises(ValueError, match=match):
        mqar(*args)


def test_power_a_must_be_positive():
    for bad in (0.0, -1.0, float("inf"), "1", True):
        with pytest.raises(ValueError, match="power_a"):
            mqar(2, 16, 2, 20, power_a=bad)


def test_zero_filler_changes_only_the_positions_between_queries():
    """Zoology's Figure 2 runs fill with id 0 (``random_non_queries=False``): pairs, queries and
    targets are those of the random filler's draw, every other position holds 0."""
    x, y = mqar(64, 64, 4, 32, seed=3)
    z, t = mqar(64, 64, 4, 32, seed=3, random_non_queries=False)
    assert torch.equal(y, t)
    kept = torch.zeros_like(x, dtype=torch.bool)
    kept[:, :8] = True  # the pairs
    kept |= y != IGNORE_INDEX  # the queries
    assert torch.equal(z[kept], x[kept])
    assert (z[~kept] == 0).all() and (x[~kept] != 0).any()
