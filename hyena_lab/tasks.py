"""Synthetic reasoning tasks of the paper (Section 4.1, Appendix A.1): recall, majority, counting.

These "mechanistic design" tasks isolate one capability of a sequence mixer each, at a cost tiny
enough to train in a minute on a laptop CPU:

* :func:`associative_recall` (Sec. 4.1, Tables 4.1-4.2, A.2, C.1): a sequence of key-value pairs
  drawn from a fresh random dictionary, then a query key; the model must output the value paired
  with it earlier in the sequence. Solving it needs a *data-controlled shift*: where to look depends
  on the content of the query, which a fixed (data-independent) convolution cannot express.
* :func:`majority` (App. A.1): the most frequent token of the sequence (``a a b a c => a``), a test
  of whether an operator can aggregate *densely* over the whole past.
* :func:`counting` (App. A.1): how many times the query token occurred (``a b a c => a`` gives 2).

Every task returns ``(inputs, targets)``, two ``(num_examples, seq_len)`` int64 tensors in
*next-token* form: ``targets[:, t]`` is what the model must predict after reading
``inputs[:, :t + 1]`` and :data:`IGNORE_INDEX` (-100, the default ``ignore_index`` of
``torch.nn.functional.cross_entropy``) marks positions that are not scored. The question is
always asked at the last position: ``targets[:, -1]`` is the answer.

Token layout, following the official data of ``HazyResearch/safari``
(``src/dataloaders/synthetics.py``): the two special tokens count inside ``vocab_size``:

* ``PROMPT`` (id 0), written ``=>``: "now answer";
* ``NOOP`` (id 1), written ``.``: padding (used to left-pad an odd length in recall);
* the ``vocab_size - 2`` remaining ids hold the task's own symbols (:func:`recall_vocab`).

Everything is seeded: the same arguments and seed give the same tensors, on any machine (the
random numbers come from ``torch.Generator`` on the CPU).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import inf
from typing import Literal

import torch

from .checks import check_positive_int

__all__ = [
    "IGNORE_INDEX",
    "MAX_TEST_OVERLAP",
    "NOOP",
    "PROMPT",
    "TASKS",
    "RecallVocab",
    "TaskSplits",
    "associative_recall",
    "counting",
    "decode",
    "majority",
    "make_splits",
    "most_frequent_value",
    "mqar",
    "recall_baselines",
    "recall_vocab",
    "split_overlap",
]

#: The "now answer" token ``=>`` that precedes the query (official ``copy_prefix``).
PROMPT = 0
#: The padding token ``.`` (official ``noop``).
NOOP = 1
#: Number of special tokens counted inside every ``vocab_size``.
NUM_SPECIAL = 2
#: Target value of positions that are not scored (``cross_entropy``'s default ``ignore_index``).
IGNORE_INDEX = -100

Score = Literal["query", "values", "all"]


@dataclass(frozen=True)
class RecallVocab:
    """How associative recall splits ``vocab_size`` ids: specials, then keys, then values.

    Keys are ``range(key_start, key_start + num_keys)`` and values
    ``range(value_start, value_start + num_values)``; as in the official data, the
    ``vocab_size - 2`` ordinary ids are halved, the keys taking the smaller half.
    """

    vocab_size: int
    num_keys: int
    num_values: int

    @property
    def key_start(self) -> int:
        """First key id (right after the special tokens)."""
        return NUM_SPECIAL

    @property
    def value_start(self) -> int:
        """First value id (right after the keys)."""
        return NUM_SPECIAL + self.num_keys


def recall_vocab(vocab_size: int) -> RecallVocab:
    """Split ``vocab_size`` ids into 2 special tokens, keys and values (at least one of each)."""
    check_positive_int(vocab_size, "vocab_size")
    if vocab_size < NUM_SPECIAL + 2:
        raise ValueError(
            f"vocab_size must be >= 4 for associative recall (2 special tokens '=>' and '.', at "
            f"least 1 key and 1 value), got {vocab_size}"
        )
    num_keys = (vocab_size - NUM_SPECIAL) // 2
    return RecallVocab(vocab_size, num_keys, vocab_size - NUM_SPECIAL - num_keys)


def _check_common(num_examples: int, seq_len: int, seed: int, min_len: int, task: str) -> None:
    """Validate the arguments shared by every task."""
    check_positive_int(num_examples, "num_examples")
    check_positive_int(seq_len, "seq_len")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {seed!r}")
    if seq_len < min_len:
        raise ValueError(f"seq_len must be >= {min_len} for {task}, got {seq_len}")


def _generator(seed: int) -> torch.Generator:
    """A CPU generator seeded with ``seed`` (the only source of randomness of this module)."""
    return torch.Generator().manual_seed(seed)


def _answer_only(inputs: torch.Tensor, answer: torch.Tensor) -> torch.Tensor:
    """Targets that score only the last position, whose answer is ``answer`` (num_examples,)."""
    targets = torch.full_like(inputs, IGNORE_INDEX)
    targets[:, -1] = answer
    return targets


def associative_recall(
    num_examples: int,
    seq_len: int,
    vocab_size: int,
    seed: int = 0,
    *,
    score: Score = "query",
    unique_keys: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Associative recall (paper Sec. 4.1): ``k1 v1 k2 v2 ... kP vP => q``, answer ``value(q)``.

    Each example draws a *fresh* random dictionary key -> value (so nothing can be memorised
    across examples: the answer must be read from the context), writes ``P = (seq_len - 2) // 2``
    pairs with keys drawn uniformly (a key may repeat, always with its one value), then the
    prompt ``=>`` and a query key chosen uniformly among the keys present. An odd ``seq_len`` is
    left-padded with one ``NOOP``.

    Args:
        num_examples: number of sequences.
        seq_len: length of each input sequence (>= 4: one pair, ``=>`` and the query).
        vocab_size: total number of token ids, the 2 special tokens included (>= 4).
        seed: seed of the generator; same arguments and seed give the same tensors.
        score: ``"query"`` scores only the final answer (the test metric of the paper);
            ``"all"`` scores every next-token position, as the official *training* data does
            (every value of a repeated key is itself a recall; keys are unpredictable noise);
            ``"values"`` scores the positions whose next token is a value (the pairs' values
            and the answer), leaving out the unpredictable keys.
        unique_keys: draw the ``P`` keys without replacement, so that the query occurs exactly
            once in the context (needs ``P <= num_keys``).

    Returns:
        ``(inputs, targets)``, both ``(num_examples, seq_len)`` int64; ``inputs[:, -1]`` is the
        query key and ``targets[:, -1]`` its value; -100 where nothing is scored.
    """
    _check_common(num_examples, seq_len, seed, 4, "associative recall (one pair, '=>', a query)")
    vocab = recall_vocab(vocab_size)
    if score not in ("query", "values", "all"):
        raise ValueError(f"score must be 'query', 'values' or 'all', got {score!r}")
    num_pairs = (seq_len - 2) // 2
    if unique_keys and num_pairs > vocab.num_keys:
        raise ValueError(
            f"vocab_size={vocab_size} is too small for {num_pairs} pairs with unique keys: it has "
            f"only {vocab.num_keys} keys; use vocab_size >= {2 * num_pairs + NUM_SPECIAL} or a "
            f"shorter seq_len"
        )
    g = _generator(seed)
    n = num_examples
    # a fresh dictionary per example: value index of every key, (n, num_keys)
    kv_map = torch.randint(vocab.num_values, (n, vocab.num_keys), generator=g)
    if unique_keys:  # a random permutation of the keys, first num_pairs of it
        keys = torch.rand(n, vocab.num_keys, generator=g).argsort(dim=1)[:, :num_pairs]
    else:
        keys = torch.randint(vocab.num_keys, (n, num_pairs), generator=g)  # (n, P)
    values = kv_map.gather(1, keys)  # (n, P)
    # query: uniform among the distinct keys present in the context (official allow_dot=False)
    present = torch.zeros(n, vocab.num_keys).scatter_(1, keys, 1.0)
    query = torch.multinomial(present, 1, generator=g)[:, 0]  # (n,)
    answer = kv_map.gather(1, query[:, None])[:, 0]

    pairs = torch.stack([keys + vocab.key_start, values + vocab.value_start], dim=2)  # (n, P, 2)
    parts = [
        torch.full((n, seq_len % 2), NOOP),  # left padding of an odd length
        pairs.reshape(n, 2 * num_pairs),
        torch.full((n, 1), PROMPT),
        (query + vocab.key_start)[:, None],
    ]
    inputs = torch.cat(parts, dim=1).to(torch.int64)  # (n, seq_len)
    answer = answer + vocab.value_start
    if score == "query":
        return inputs, _answer_only(inputs, answer)
    targets = torch.cat([inputs[:, 1:], answer[:, None]], dim=1)  # next token everywhere
    targets[:, : seq_len % 2] = IGNORE_INDEX  # the padding's successor is not scored
    if score == "values":
        targets[targets < vocab.value_start] = IGNORE_INDEX  # keys, '=>' and padding
    return inputs, targets


def most_frequent_value(inputs: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """The answer of a reader that cannot look anything up: the context's most frequent value.

    For recall inputs ``(num_examples, seq_len)`` returns ``(num_examples,)`` value ids (ties go
    to the smallest id). The query key's value is often among the most frequent, so this beats
    chance (``1 / num_values``) by a wide margin; it is what a mixer without data control can
    still learn, since counting needs no lookup.
    """
    if inputs.ndim != 2:
        raise ValueError(f"inputs must be (num_examples, seq_len), got {tuple(inputs.shape)}")
    vocab = recall_vocab(vocab_size)
    is_value = inputs >= vocab.value_start  # (n, L)
    counts = torch.zeros(inputs.shape[0], vocab_size).scatter_add_(1, inputs, is_value.float())
    return counts.argmax(dim=1)


def recall_baselines(
    seq_len: int, vocab_size: int, seeds: Sequence[int] = (0,), num_test: int = 1000
) -> dict[str, float]:
    """Two reference accuracies of recall, for readers that cannot look anything up.

    * ``"chance"``: a blind guess among the values, ``1 / num_values`` (:func:`recall_vocab`).
    * ``"most_frequent"``: answering the context's most frequent value
      (:func:`most_frequent_value`), measured on the test sets that :func:`make_splits` draws
      for ``seeds`` (``num_test`` sequences each), i.e. on the very sequences a run with that
      seed is tested on; averaged over the seeds. It needs no lookup, so it is what a mixer
      without data control can still reach, and it lies well above chance.
    """
    if not seeds:
        raise ValueError("seeds is empty: pass the seeds whose test sets to score")
    counted = []
    for seed in seeds:
        x, y = make_splits(
            "recall", seq_len, vocab_size, num_train=1, num_valid=1, num_test=num_test, seed=seed
        ).test
        counted.append(float((most_frequent_value(x, vocab_size) == y[:, -1]).float().mean()))
    return {
        "chance": 1.0 / recall_vocab(vocab_size).num_values,
        "most_frequent": sum(counted) / len(counted),
    }


def _symbols(num_examples: int, length: int, num_symbols: int, g: torch.Generator) -> torch.Tensor:
    """Uniform symbol indices in ``[0, num_symbols)``, shape (num_examples, length)."""
    return torch.randint(num_symbols, (num_examples, length), generator=g)


def majority(
    num_examples: int, seq_len: int, vocab_size: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Majority (paper App. A.1): ``s1 s2 ... s_{L-1} =>``, answer the most frequent symbol.

    Symbols (ids ``2 .. vocab_size - 1``) are drawn uniformly; a tie for the most frequent
    symbol is broken by turning one occurrence of a tied rival into the winner (chosen at
    random among the tied), so the answer is always unique. Only the last position is scored.

    Returns:
        ``(inputs, targets)``, both ``(num_examples, seq_len)`` int64, ``inputs[:, -1] == PROMPT``.
    """
    _check_common(num_examples, seq_len, seed, 2, "majority (one symbol and '=>')")
    check_positive_int(vocab_size, "vocab_size")
    if vocab_size < NUM_SPECIAL + 2:
        raise ValueError(
            f"vocab_size must be >= 4 for majority (2 special tokens, at least 2 symbols), "
            f"got {vocab_size}"
        )
    num_symbols = vocab_size - NUM_SPECIAL
    g = _generator(seed)
    seq = _symbols(num_examples, seq_len - 1, num_symbols, g)  # (n, L - 1)
    counts = torch.zeros(num_examples, num_symbols).scatter_add_(1, seq, torch.ones(seq.shape))
    tied = counts == counts.max(dim=1, keepdim=True).values  # (n, num_symbols)
    # a random winner among the tied symbols; then one occurrence of another tied symbol is
    # rewritten as the winner, so the winner leads by one
    winner = torch.multinomial(tied.float(), 1, generator=g)[:, 0]
    for i in torch.nonzero(tied.sum(dim=1) > 1)[:, 0].tolist():
        rivals = torch.nonzero(tied[i])[:, 0]
        rival = rivals[rivals != winner[i]][0]
        pos = torch.nonzero(seq[i] == rival)[0, 0]
        seq[i, pos] = winner[i]
    inputs = torch.cat([seq + NUM_SPECIAL, torch.full((num_examples, 1), PROMPT)], dim=1)
    return inputs, _answer_only(inputs, winner + NUM_SPECIAL)


def counting(
    num_examples: int,
    seq_len: int,
    vocab_size: int,
    seed: int = 0,
    *,
    max_count: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Counting (paper App. A.1): ``s1 ... s_{L-2} => q``, answer the number of ``q`` in ``s``.

    The ``vocab_size - 2`` ordinary ids are split into *numerals* ``0 .. max_count`` (ids
    ``2 .. 2 + max_count``) and *symbols* (the rest, at least 2). Each example first draws the
    answer ``c`` uniformly in ``0 .. min(max_count, seq_len - 2)``, places the query symbol at
    ``c`` random positions and fills the others with different symbols, so every answer is
    equally likely. The target is the numeral token of ``c``.

    Args:
        max_count: largest count; default ``(vocab_size - 2) // 2 - 1`` (half the ids numerals).

    Returns:
        ``(inputs, targets)``, both ``(num_examples, seq_len)`` int64.
    """
    _check_common(num_examples, seq_len, seed, 3, "counting (one symbol, '=>', a query)")
    check_positive_int(vocab_size, "vocab_size")
    if max_count is None:
        max_count = (vocab_size - NUM_SPECIAL) // 2 - 1
    if isinstance(max_count, bool) or not isinstance(max_count, int) or max_count < 1:
        raise ValueError(f"max_count must be an int >= 1, got {max_count!r}")
    num_symbols = vocab_size - NUM_SPECIAL - (max_count + 1)
    if num_symbols < 2:
        raise ValueError(
            f"vocab_size={vocab_size} is too small for counting up to {max_count}: it needs 2 "
            f"special tokens, {max_count + 1} numerals and at least 2 symbols, i.e. vocab_size "
            f">= {max_count + 5}"
        )
    n, length = num_examples, seq_len - 2
    g = _generator(seed)
    count = torch.randint(min(max_count, length) + 1, (n,), generator=g)  # the answers, (n,)
    query = torch.randint(num_symbols, (n,), generator=g)
    # other symbols: uniform over the num_symbols - 1 symbols different from the query
    others = _symbols(n, length, num_symbols - 1, g)
    others = others + (others >= query[:, None]).long()
    # the query goes to the `count` positions of smallest random rank
    rank = torch.rand(n, length, generator=g).argsort(dim=1).argsort(dim=1)
    seq = torch.where(rank < count[:, None], query[:, None], others)  # (n, L - 2)
    symbol_start = NUM_SPECIAL + max_count + 1
    inputs = torch.cat(
        [seq + symbol_start, torch.full((n, 1), PROMPT), (query + symbol_start)[:, None]], dim=1
    )
    return inputs, _answer_only(inputs, count + NUM_SPECIAL)


def _distinct(n: int, high: int, k: int, g: torch.Generator) -> torch.Tensor:
    """``(n, k)`` ints in ``[0, high)``, distinct within each row, uniform: the first ``k`` of a
    random permutation per row (the ``k`` smallest of ``high`` uniform draws, by ``topk``: the
    same as ``argsort(...)[:, :k]`` but for exact ties, and 8x faster at ``high = 4095``),
    drawn 4,096 rows at a time (memory ``4096 x high``)."""
    rows = [torch.rand(min(4096, n - i), high, generator=g)
            .topk(k, dim=1, largest=False, sorted=True).indices
            for i in range(0, n, 4096)]  # fmt: skip
    return torch.cat(rows)


def mqar(
    num_examples: int,
    seq_len: int,
    num_kv_pairs: int,
    vocab_size: int,
    power_a: float = 0.01,
    seed: int = 0,
    random_non_queries: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Multi-query associative recall, MQAR (Zoology, Arora et al. 2023): many queries per sequence.

    Each sequence writes ``P = num_kv_pairs`` pairs ``k1 v1 ... kP vP`` (keys distinct, from ids
    ``1 .. vocab_size // 2 - 1``; values distinct, from ``vocab_size // 2 .. vocab_size - 1``),
    then asks every key once more, in random order, at even offsets ``2 P + 2 g`` after the
    pairs. The gaps ``g`` are distinct, drawn from ``p(g) ~ power_a * (g + 1) ** (power_a - 1)``
    over ``g < (seq_len - 2 P) // 2``: small ``power_a`` puts most queries soon after the pairs
    (``power_a = 1`` is uniform), as repeated bigrams cluster in real text. All other positions
    hold random tokens of the whole vocabulary, or, with ``random_non_queries=False``, the id 0
    (never a key or a value): Zoology's generator defaults to random tokens, and its Figure 2
    runs use zeros. ``targets[:, t]`` is the value of the key at
    ``inputs[:, t]`` where that is a query, -100 elsewhere, so each row scores ``P`` answers.

    Raises:
        ValueError: ``seq_len`` odd or shorter than ``4 P`` (pairs plus queries at even
            offsets); ``vocab_size`` too small for ``P`` distinct keys (``vocab_size >= 2 P + 2``);
            ``power_a`` not positive.
    """
    _check_common(num_examples, seq_len, seed, 4, "MQAR (one pair and one query)")
    P = check_positive_int(num_kv_pairs, "num_kv_pairs")
    check_positive_int(vocab_size, "vocab_size")
    if seq_len % 2 or seq_len < 4 * P:
        raise ValueError(
            f"seq_len must be even and >= 4 * num_kv_pairs = {4 * P} (2 tokens per pair, then "
            f"one query every other position), got {seq_len}"
        )
    first_value = vocab_size // 2
    if first_value - 1 < P:  # keys are 1 .. first_value - 1; values outnumber them
        raise ValueError(
            f"vocab_size={vocab_size} holds {max(first_value - 1, 0)} keys, fewer than "
            f"num_kv_pairs={P} distinct keys; use vocab_size >= {2 * P + 2}"
        )
    if isinstance(power_a, bool) or not isinstance(power_a, (int, float)) or not 0 < power_a < inf:
        raise ValueError(f"power_a must be a positive number, got {power_a!r}")
    n, space = num_examples, (seq_len - 2 * P) // 2
    g = _generator(seed)
    keys = _distinct(n, first_value - 1, P, g) + 1  # (n, P)
    values = _distinct(n, vocab_size - first_value, P, g) + first_value  # (n, P)
    weight = power_a * torch.arange(1, space + 1, dtype=torch.float64) ** (power_a - 1)
    gaps = torch.multinomial(weight.expand(n, space), P, generator=g)  # distinct, (n, P)
    query_at = 2 * P + 2 * gaps  # (n, P)
    inputs = torch.randint(vocab_size, (n, seq_len), generator=g)
    if not random_non_queries:
        inputs.zero_()  # the same draws either way: only the filler differs
    inputs[:, 0 : 2 * P : 2] = keys
    inputs[:, 1 : 2 * P : 2] = values
    inputs.scatter_(1, query_at, keys)
    targets = torch.full_like(inputs, IGNORE_INDEX).scatter_(1, query_at, values)
    return inputs, targets


#: The tasks by name, as used by :func:`make_splits` and the command line.
TASKS = {"recall": associative_recall, "majority": majority, "counting": counting}


#: Largest fraction of test inputs that may also occur among the training inputs
#: (:func:`make_splits` refuses more). A test sequence seen in training can be answered from
#: memory: above this limit the test accuracy measures memorisation of the training set, not
#: recall (or majority, counting) from the context. Small vocabularies with short sequences
#: have few distinct sequences (recall with ``vocab_size=8, seq_len=10`` has 3,681), which
#: 24,000 training draws nearly exhaust (98% of its test set); chapter 04's settings
#: (vocabulary 10-30, ``seq_len >= 64``) share no test sequence with training.
MAX_TEST_OVERLAP = 0.5


def _row_ids(*tensors: torch.Tensor) -> list[torch.Tensor]:
    """One id per row, equal exactly when two rows (of any of ``tensors``) are equal.

    Every tensor is ``(num_i, width)`` with the same ``width``; returns one ``(num_i,)`` int64
    tensor per input (ids index the distinct rows of all of them together).
    """
    for t in tensors:
        if t.ndim != 2:
            raise ValueError(f"expected (num_rows, seq_len) tensors, got shape {tuple(t.shape)}")
    widths = {t.shape[1] for t in tensors}
    if len(widths) > 1:
        raise ValueError(f"rows of different lengths cannot be compared: {sorted(widths)}")
    # lexicographic sort of the rows; inverse maps each row to its distinct row, (sum num_i,)
    _, inverse = torch.unique(torch.cat(tensors), dim=0, return_inverse=True)
    return list(inverse.split([t.shape[0] for t in tensors]))


def split_overlap(reference: torch.Tensor, other: torch.Tensor) -> float:
    """The fraction of rows of ``other`` that also occur as a row of ``reference``.

    Both are ``(num_rows, seq_len)`` (e.g. training and test inputs); a row counts when it
    equals some row of ``reference`` exactly, in every position. The fraction is over all the
    rows of ``other``, a repeated row counting at each occurrence (not over its distinct rows).
    Vectorised: one sort of all the rows (``torch.unique(dim=0)``), then ``torch.isin``; no
    Python loop over rows, so 24,000 x 512 rows are compared in well under a second.

    Raises:
        ValueError: if a tensor is not 2-D, the row lengths differ or ``other`` has no rows.
    """
    ref_ids, other_ids = _row_ids(reference, other)
    if other_ids.numel() == 0:
        raise ValueError("other has no rows: the overlap of an empty set is undefined")
    return float(torch.isin(other_ids, ref_ids).double().mean())


@dataclass(frozen=True)
class TaskSplits:
    """Train / validation / test sets of one task, each an ``(inputs, targets)`` pair.

    The three are drawn from independent seeds; validation decides early stopping, test is
    touched once at the end, so the reported test accuracy is not selected on.
    ``test_overlap`` and ``valid_overlap`` are the fractions of test and validation input
    sequences that also occur among the training inputs (:func:`split_overlap`; measured by
    :func:`make_splits`, 0.0 when not measured): independent seeds do not prevent the same
    sequence from being drawn twice when the task has few distinct sequences.
    """

    train: tuple[torch.Tensor, torch.Tensor]
    valid: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]
    task: str
    seq_len: int
    vocab_size: int
    test_overlap: float = 0.0
    valid_overlap: float = 0.0


def make_splits(
    task: str,
    seq_len: int,
    vocab_size: int,
    *,
    num_train: int = 2000,
    num_valid: int = 500,
    num_test: int = 1000,
    seed: int = 0,
    train_score: Score = "all",
) -> TaskSplits:
    """Draw the train, validation and test sets of ``task`` (``"recall"``, ``"majority"``, ...).

    The three splits use seeds ``3 * seed``, ``3 * seed + 1`` and ``3 * seed + 2``, so the sets
    of different seeds never share a stream. For recall, training scores every next-token
    position (official training data; ``train_score`` picks another :func:`associative_recall`
    scoring) and validation/test the final answer only (official test data); the other tasks
    score their answer only. The default sizes follow Table A.1 (2,000 training samples).

    Independent seeds do not make the splits disjoint: a ``vocab_size``/``seq_len`` combination
    with few distinct sequences draws the same ones into training and test. The fractions of
    test and validation inputs that also occur among the training inputs are measured
    (:func:`split_overlap`) and reported as ``test_overlap`` and ``valid_overlap``.

    Raises:
        ValueError: if ``task`` is unknown; if the combination cannot measure generalisation:
            all the drawn inputs (every split together) are one single sequence, or more than
            :data:`MAX_TEST_OVERLAP` of the test inputs occur among the training inputs (the
            test accuracy would measure memorisation); use a larger ``vocab_size`` or
            ``seq_len`` (or fewer training sequences). Below the limit the overlap is only
            reported.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {sorted(TASKS)}, got {task!r}")
    make = TASKS[task]
    train_kw = {"score": train_score} if task == "recall" else {}
    train = make(num_train, seq_len, vocab_size, 3 * seed, **train_kw)
    valid = make(num_valid, seq_len, vocab_size, 3 * seed + 1)
    test = make(num_test, seq_len, vocab_size, 3 * seed + 2)
    # one sort of all the inputs gives both overlaps and the number of distinct sequences
    train_ids, valid_ids, test_ids = _row_ids(train[0], valid[0], test[0])
    test_overlap = float(torch.isin(test_ids, train_ids).double().mean())
    valid_overlap = float(torch.isin(valid_ids, train_ids).double().mean())
    combination = f"{task} with vocab_size={vocab_size}, seq_len={seq_len}"
    remedy = "use a larger vocab_size or seq_len"
    num_distinct = int(torch.cat([train_ids, valid_ids, test_ids]).unique().numel())
    if num_distinct == 1:  # every split holds >= 1 sequence, so >= 3 draws, all equal
        raise ValueError(
            f"{combination} has a single distinct input sequence (all "
            f"{num_train + num_valid + num_test} drawn are the same; test overlap "
            f"{test_overlap:.0%}): nothing to generalise to, the test accuracy would measure "
            f"memorisation; {remedy}"
        )
    if test_overlap > MAX_TEST_OVERLAP:
        raise ValueError(
            f"{combination} and num_train={num_train}: {test_overlap:.1%} of the test sequences "
            f"also occur in the training set (limit MAX_TEST_OVERLAP = {MAX_TEST_OVERLAP:.0%}), so "
            f"the test accuracy would measure memorisation of the training set, not {task}; "
            f"{remedy} (or fewer training sequences)"
        )
    return TaskSplits(
        train=train,
        valid=valid,
        test=test,
        task=task,
        seq_len=seq_len,
        vocab_size=vocab_size,
        test_overlap=test_overlap,
        valid_overlap=valid_overlap,
    )


def decode(tokens: torch.Tensor, vocab_size: int) -> str:
    """A recall sequence (1-D ids) as text: ``=>``, ``.``, keys ``a b ...``, values ``0 1 ...``.

    Meant for showing samples, e.g. ``decode(inputs[0], 16)`` -> ``"c 4 a 1 c 4 => a"``; ids of
    -100 (unscored targets) are shown as ``_``.
    """
    vocab = recall_vocab(vocab_size)
    words = []
    for t in tokens.tolist():
        if t == IGNORE_INDEX:
            words.append("_")
        elif t == PROMPT:
            words.append("=>")
        elif t == NOOP:
            words.append(".")
        elif vocab.key_start <= t < vocab.value_start:
            words.append(_key_name(t - vocab.key_start))
        elif vocab.value_start <= t < vocab_size:
            words.append(str(t - vocab.value_start))
        else:
            raise ValueError(f"token id {t} is outside the vocabulary of size {vocab_size}")
    return " ".join(words)


def _key_name(i: int) -> str:
    """Letters for key indices: a, b, ..., z, then a1, b1, ..."""
    letter = chr(ord("a") + i % 26)
    return letter if i < 26 else f"{letter}{i // 26}"
