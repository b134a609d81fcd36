"""Chapter 4's exercises (associative recall, Sec. 4.1 and App. A.1): make a recall example by
hand, solve recall with a lookup (what a model must learn), and score accuracy on the scored
positions only; each a reference solution and a checker, registered in ``EXERCISES``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from ..tasks import IGNORE_INDEX, PROMPT, associative_recall, recall_vocab
from .feedback import Case, Exercise, Wrong, checker, seeded


def solution_make_recall_example(
    pairs: Sequence[tuple[int, int]], query: int, vocab_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """One recall example ``k1 v1 ... kP vP => q`` as ``(inputs, targets)``, both ``(2P + 2,)``.

    ``pairs`` hold (key number, value number) with key numbers in ``[0, num_keys)`` and value
    numbers in ``[0, num_values)`` of :func:`hyena_lab.tasks.recall_vocab`; token ids add the
    offsets ``key_start`` / ``value_start``. ``targets`` is -100 except the last position, the
    query's value. Raises ``ValueError`` when the query key is not in the pairs.
    """
    vocab = recall_vocab(vocab_size)
    value_of = dict(pairs)
    if query not in value_of:
        raise ValueError(f"query key {query} does not occur in the pairs {list(pairs)}")
    tokens = [t for k, v in pairs for t in (vocab.key_start + k, vocab.value_start + v)]
    inputs = torch.tensor([*tokens, PROMPT, vocab.key_start + query], dtype=torch.int64)
    targets = torch.full_like(inputs, IGNORE_INDEX)
    targets[-1] = vocab.value_start + value_of[query]
    return inputs, targets


def _check_recall_row(
    case: Case, got: tuple[Any, Any], row: torch.Tensor, target: torch.Tensor, key_start: int
) -> None:
    """Compare the student's ``(inputs, targets)`` with one row of ``associative_recall``."""
    for name, tensor in zip(("inputs", "targets"), got, strict=True):
        if not isinstance(tensor, torch.Tensor) or tensor.dtype != torch.int64:
            raise case.fail(f"{name} must be an int64 tensor (token ids)")
        if tensor.shape != row.shape:
            raise case.fail(
                f"{name} has shape {tuple(tensor.shape)}, expected {tuple(row.shape)}: 2 tokens "
                f"per pair, then '=>' and the query"
            )
    inputs, targets = got
    if not torch.equal(inputs, row):
        if torch.equal(inputs[:-2:2], row[:-2:2] - key_start):
            raise case.fail(
                f"key numbers are not token ids: add recall_vocab(vocab_size).key_start = "
                f"{key_start} (and value_start to values)"
            )
        raise case.fail(f"inputs {inputs.tolist()}, expected {row.tolist()}")
    if (targets[:-1] != IGNORE_INDEX).any():
        raise case.fail("only the last position is scored: targets[:-1] must be -100")
    if not torch.equal(targets, target):
        raise case.fail(
            f"targets[-1] = {int(targets[-1])}, expected the token id of the query's value "
            f"{int(target[-1])}"
        )


@checker("make_recall_example", "fn(pairs, query, vocab_size) -> (inputs, targets)")
def check_make_recall_example(
    fn: Callable[[list[tuple[int, int]], int, int], tuple[torch.Tensor, torch.Tensor]],
) -> str:
    """Check ``fn(pairs, query, vocab_size)`` against rows of ``tasks.associative_recall``."""
    checked = 0
    for seq_len, vocab_size in ((4, 6), (10, 12), (20, 30)):
        vocab = recall_vocab(vocab_size)
        inputs, targets = associative_recall(3, seq_len, vocab_size, seed=seq_len)
        for row, target in zip(inputs, targets, strict=True):
            keys = (row[:-2:2] - vocab.key_start).tolist()
            values = (row[1:-2:2] - vocab.value_start).tolist()
            pairs = list(zip(keys, values, strict=True))
            query = int(row[-1]) - vocab.key_start
            case = Case(f"pairs={pairs}, query={query}, vocab_size={vocab_size}")
            got = case.pair(case.call(fn, pairs, query, vocab_size), "(inputs, targets)")
            _check_recall_row(case, got, row, target, vocab.key_start)
            checked += 1
    try:
        fn([(0, 0)], 1, 8)
    except ValueError:
        pass
    except Exception as err:
        raise Wrong(
            f"a query absent from the pairs should raise ValueError, got "
            f"{type(err).__name__}: {err}"
        ) from None
    else:
        raise Wrong("a query absent from the pairs must raise ValueError (it has no answer)")
    return (
        f"{checked} examples equal rows of tasks.associative_recall token for token, and a query "
        f"absent from the context raises ValueError"
    )


def solution_recall_by_lookup(inputs: torch.Tensor) -> torch.Tensor:
    """Solve recall without learning: the value after the query's last earlier occurrence.

    ``inputs`` ``(N, L)``: ``... k v ... => q``. Returns ``(N,)`` predicted value tokens. This is
    the data-controlled lookup that a model has to implement (attention does it in one layer).
    """
    query = inputs[:, -1]  # (N,)
    context = inputs[:, :-2]  # (N, L - 2): drop '=>' and the query itself
    hits = context[:, :-1] == query[:, None]  # (N, L - 3): a key equal to the query
    last = hits.shape[1] - 1 - hits.flip(1).to(torch.int8).argmax(dim=1)  # last hit per row
    return context.gather(1, (last + 1)[:, None])[:, 0]  # the token right after it


@checker("recall_by_lookup", "fn(inputs) -> answers")
def check_recall_by_lookup(fn: Callable[[torch.Tensor], torch.Tensor]) -> str:
    """Check ``fn(inputs) -> answers`` reaches 100% on ``tasks.associative_recall`` data."""
    total = 0
    for seq_len, vocab_size in ((16, 10), (31, 20), (64, 40)):
        inputs, targets = associative_recall(200, seq_len, vocab_size, seed=seq_len)
        case = Case(f"200 examples, seq_len={seq_len}, vocab_size={vocab_size}")
        pred = case.call(fn, inputs)
        if not isinstance(pred, torch.Tensor) or tuple(pred.shape) != (200,):
            shape = tuple(pred.shape) if isinstance(pred, torch.Tensor) else type(pred).__name__
            raise case.fail(f"return one token per example, shape (200,), got {shape}")
        accuracy = float((pred.long() == targets[:, -1]).float().mean())
        if accuracy < 1.0 and float((pred.long() == inputs[:, -1]).float().mean()) > 0.5:
            raise case.fail(
                "you return the query key itself: return the token right AFTER its earlier "
                "occurrence"
            )
        if accuracy < 1.0:
            raise case.fail(
                f"accuracy {accuracy:.1%}, expected 100%: this task has one right answer per "
                f"example"
            )
        total += 200
    return f"100% on {total} examples: the lookup a model must learn (where depends on the query)"


def solution_query_accuracy(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Accuracy of ``argmax(logits)`` over scored positions (``targets != -100``) only.

    ``logits`` ``(N, L, vocab)``, ``targets`` ``(N, L)`` int64 with -100 where nothing is scored.
    """
    scored = targets != -100  # (N, L)
    pred = logits.argmax(dim=-1)  # (N, L)
    return float((pred[scored] == targets[scored]).float().mean())


@checker("query_accuracy", "fn(logits, targets) -> float")
def check_query_accuracy(fn: Callable[[torch.Tensor, torch.Tensor], float]) -> str:
    """Check ``fn(logits, targets)`` on recall targets scored at the query or everywhere."""
    for score, scored in (("query", "the query only"), ("all", "every position")):
        _, targets = associative_recall(32, 12, 10, seed=5, score=score)
        logits = torch.randn(32, 12, 10, generator=seeded(9), dtype=torch.float64)
        # make exactly the first half of the examples right at their scored positions
        logits[:16].scatter_(2, targets.clamp(min=0)[:16, :, None], 100.0)
        expected = solution_query_accuracy(logits, targets)
        case = Case(f"targets scored at {scored}")
        got = case.number(case.call(fn, logits, targets), "a number in [0, 1]")
        if abs(got - expected) < 1e-9:  # a ratio of counts <= 384: exact up to round-off
            continue
        if abs(got - float((logits.argmax(-1) == targets).float().mean())) < 1e-9:
            raise case.fail(
                "positions with target -100 count in your mean: keep only targets != -100"
            )
        raise case.fail(f"returned {got:.4f}, expected {expected:.4f}")
    return "right with targets scored at the query only and at every position (-100 ignored)"


# fmt: off
#: Chapter 4's exercises in the order the chapter poses them.
EXERCISES = (
    Exercise("make_recall_example", 4, "make a recall example by hand",
             solution_make_recall_example, check_make_recall_example),
    Exercise("recall_by_lookup", 4, "solve recall with a lookup (what the model must learn)",
             solution_recall_by_lookup, check_recall_by_lookup),
    Exercise("query_accuracy", 4, "accuracy over scored positions only",
             solution_query_accuracy, check_query_accuracy),
)
# fmt: on
