"""Chapter 4's exercises (associative recall, Sec. 4.1 and App. A.1): make a recall example by
hand, solve recall with a lookup, score accuracy on the scored positions only."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from ..tasks import IGNORE_INDEX, PROMPT, associative_recall, recall_vocab
from .feedback import Case, Exercise, Wrong, checker, seeded


def solution_make_recall_example(
    pairs: Sequence[tuple[int, int]], query: int, vocab_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """One recall example ``k1 v1 ... kP vP => q`` as ``(inputs, targets)``, both ``(2P + 2,)``:
    key and value numbers plus ``tasks.recall_vocab``'s offsets, -100 except the query's value.
    Raises ``ValueError`` when the query key is not in the pairs."""
    vocab = recall_vocab(vocab_size)
    value_of = dict(pairs)
    if query not in value_of:
        raise ValueError(f"query key {query} does not occur in the pairs {list(pairs)}")
    tokens = [t for k, v in pairs for t in (vocab.key_start + k, vocab.value_start + v)]
    inputs = torch.tensor([*tokens, PROMPT, vocab.key_start + query], dtype=torch.int64)
    targets = torch.full_like(inputs, IGNORE_INDEX)
    targets[-1] = vocab.value_start + value_of[query]
    return inputs, targets


@checker("fn(pairs, query, vocab_size) -> (inputs, targets)")
def check_make_recall_example(fn: Callable[..., tuple[torch.Tensor, torch.Tensor]]) -> str:
    """Check ``fn(pairs, query, vocab_size)`` against rows of ``tasks.associative_recall``."""
    checked = 0
    for seq_len, vocab_size in ((4, 6), (10, 12), (20, 30)):
        vocab = recall_vocab(vocab_size)
        for row, target in torch.stack(associative_recall(3, seq_len, vocab_size, seed=seq_len), 1):
            keys = (row[:-2:2] - vocab.key_start).tolist()
            pairs = list(zip(keys, (row[1:-2:2] - vocab.value_start).tolist(), strict=True))
            query = int(row[-1]) - vocab.key_start
            case = Case(f"pairs={pairs}, query={query}, vocab_size={vocab_size}")
            got = case.pair(case.call(fn, pairs, query, vocab_size), "(inputs, targets)")
            for name, tensor in zip(("inputs", "targets"), got, strict=True):
                if not isinstance(tensor, torch.Tensor) or tensor.dtype != torch.int64:
                    raise case.fail(f"{name} must be an int64 tensor (token ids)")
                if tensor.shape != row.shape:
                    raise case.fail(
                        f"{name} has shape {tuple(tensor.shape)}, expected {tuple(row.shape)}: "
                        f"2 tokens per pair, then '=>' and the query"
                    )
            inputs, targets = got
            same = torch.equal(inputs, row)
            case.diagnose({
                "key numbers are not token ids: add recall_vocab(vocab_size).key_start = "
                f"{vocab.key_start} (and value_start to values)":
                    not same and torch.equal(inputs[:-2:2], row[:-2:2] - vocab.key_start),
                f"inputs {inputs.tolist()}, expected {row.tolist()}": not same,
                "only the last position is scored: targets[:-1] must be -100":
                    bool((targets[:-1] != IGNORE_INDEX).any()),
                f"targets[-1] = {int(targets[-1])}, expected the token id of the query's value "
                f"{int(target[-1])}": not torch.equal(targets, target),
            })  # fmt: skip
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
    """Solve recall without learning, the lookup a model must learn: for ``inputs`` ``(N, L)``,
    ``... k v ... => q``, the value after the query's last earlier occurrence, ``(N,)``."""
    query = inputs[:, -1]  # (N,)
    context = inputs[:, :-2]  # (N, L - 2): drop '=>' and the query itself
    hits = context[:, :-1] == query[:, None]  # (N, L - 3): a key equal to the query
    last = hits.shape[1] - 1 - hits.flip(1).to(torch.int8).argmax(dim=1)  # last hit per row
    return context.gather(1, (last + 1)[:, None])[:, 0]  # the token right after it


@checker("fn(inputs) -> answers")
def check_recall_by_lookup(fn: Callable[[torch.Tensor], torch.Tensor]) -> str:
    """Check ``fn(inputs) -> answers`` reaches 100% on ``tasks.associative_recall`` data."""
    for seq_len, vocab_size in ((16, 10), (31, 20), (64, 40)):
        inputs, targets = associative_recall(200, seq_len, vocab_size, seed=seq_len)
        case = Case(f"200 examples, seq_len={seq_len}, vocab_size={vocab_size}")
        pred = case.call(fn, inputs)
        if not isinstance(pred, torch.Tensor) or tuple(pred.shape) != (200,):
            shape = tuple(pred.shape) if isinstance(pred, torch.Tensor) else type(pred).__name__
            raise case.fail(f"return one token per example, shape (200,), got {shape}")
        if (accuracy := float((pred.long() == targets[:, -1]).float().mean())) < 1.0:
            case.diagnose({
                "you return the query key itself: return the token right AFTER its earlier "
                "occurrence": float((pred.long() == inputs[:, -1]).float().mean()) > 0.5,
                f"accuracy {accuracy:.1%}, expected 100%: this task has one right answer per "
                "example": True,
            })  # fmt: skip
    return "100% on 600 examples: the lookup a model must learn (where depends on the query)"


def solution_query_accuracy(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Accuracy of ``argmax(logits)`` ``(N, L, vocab)`` over the scored positions only, where
    ``targets`` ``(N, L)`` is not -100."""
    scored = targets != -100  # (N, L)
    pred = logits.argmax(dim=-1)  # (N, L)
    return float((pred[scored] == targets[scored]).float().mean())


@checker("fn(logits, targets) -> float")
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
        if not abs(got - expected) < 1e-9:  # a ratio of counts <= 384: exact up to round-off
            case.diagnose({
                "positions with target -100 count in your mean: keep only targets != -100":
                    abs(got - float((logits.argmax(-1) == targets).float().mean())) < 1e-9,
                f"returned {got:.4f}, expected {expected:.4f}": True,
            })  # fmt: skip
    return "right with targets scored at the query only and at every position (-100 ignored)"


#: Chapter 4's exercises in the order the chapter poses them.
EXERCISES = (
    Exercise("make_recall_example", 4, "make a recall example by hand",
             solution_make_recall_example, check_make_recall_example),
    Exercise("recall_by_lookup", 4, "solve recall with a lookup (what the model must learn)",
             solution_recall_by_lookup, check_recall_by_lookup),
    Exercise("query_accuracy", 4, "accuracy over scored positions only",
             solution_query_accuracy, check_query_accuracy),
)  # fmt: skip
