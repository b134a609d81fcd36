"""The chapter quizzes (hyena_lab.exercises.quizzes): well-formed questions, one place that decides
right and wrong, a widget that shows its verdicts, printable text without answers, and every
number a question states or expects recomputed from the package and its records."""

from __future__ import annotations

import functools
import inspect
import math
import re

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from hyena_lab.exercises import quizzes as qz
from hyena_lab.exercises.feedback import CheckResult
from hyena_lab.exercises.questions import QUESTIONS
from hyena_lab.exercises.quizzes import (
    QUIZ_CHAPTERS,
    answer_key,
    check_answer,
    markdown_html,
    questions,
    quiz,
    quiz_text,
)

ALL = [q for c in QUIZ_CHAPTERS for q in questions(c)]
CHOICE = [q for q in ALL if not q.numeric]
NUMERIC = [q for q in ALL if q.numeric]
BY_ID = {q.id: q for q in ALL}


def _text(q: qz.Question) -> str:
    """Everything a question says, to look quoted numbers up in."""
    traps = " ".join(text for _, text in q.traps)
    return " ".join([q.prompt, *q.options, *q.feedback, q.explanation, q.hint, traps])


# ---------------------------------------------------------------------------------------------
# the questions are well formed
def test_every_chapter_has_five_to_eight_questions():
    assert QUIZ_CHAPTERS == (1, 2, 3, 4, 5, 6, 7, 8)
    for chapter in QUIZ_CHAPTERS:
        assert 5 <= len(questions(chapter)) <= 8, chapter


def test_ids_are_unique_and_name_chapter_and_position():
    assert len(BY_ID) == len(ALL)
    for chapter in QUIZ_CHAPTERS:
        ids = [q.id for q in questions(chapter)]
        assert ids == [f"ch{chapter}-q{n}" for n in range(1, len(ids) + 1)]


@pytest.mark.parametrize("q", CHOICE, ids=lambda q: q.id)
def test_a_choice_question_has_exactly_one_right_option_and_feedback_for_every_wrong_one(q):
    entry = QUESTIONS[q.chapter][int(q.id.split("-q")[1]) - 1]
    assert [fb is None for _, fb in entry["options"]].count(True) == 1  # in the data itself
    assert 3 <= len(q.options) <= 5 and q.feedback[q.answer] == ""
    wrong = [fb for i, fb in enumerate(q.feedback) if i != q.answer]
    assert all(fb.strip() and fb != q.explanation for fb in wrong)
    assert len(set(wrong)) == len(wrong), "each misconception has its own feedback"
    assert all("$" not in o and len(o) <= 200 for o in q.options), "radio labels: plain, short"
    assert q.section.strip() and q.prompt.strip() and q.explanation.strip()


def test_the_right_option_is_not_always_in_the_same_place():
    for chapter in QUIZ_CHAPTERS:
        places = {q.answer for q in questions(chapter) if not q.numeric}
        assert len(places) >= 3, (chapter, places)


def test_the_right_option_is_rarely_the_longest():
    """A reader must not find the answer by its length (the classic multiple-choice giveaway)."""
    for chapter in QUIZ_CHAPTERS:
        qs = [q for q in questions(chapter) if not q.numeric]
        longest = [q.id for q in qs if max(map(len, q.options)) == len(q.options[q.answer])]
        assert len(longest) <= len(qs) // 3, (chapter, longest)


def test_malformed_data_is_refused_with_the_question_id():
    good = QUESTIONS[1][0]
    two_right = {**good, "options": [(t, None) for t, _ in good["options"]]}
    with pytest.raises(ValueError, match="ch1-q9: exactly one option must be right"):
        qz._build(1, 9, two_right)
    with pytest.raises(ValueError, match="ch1-q9"):
        qz._build(1, 9, {**good, "promt": "typo"})
    with pytest.raises(ValueError, match="3-5 options expected"):
        qz._build(1, 9, {**good, "options": [("right", None), ("wrong", "why")]})
    numeric = {"section": "s", "prompt": "p", "explanation": "e", "value": 10, "tolerance": 1,
               "hint": "h", "traps": [(11, "within the tolerance of the answer")]}  # fmt: skip
    with pytest.raises(ValueError, match=r"trap 11\.0 is within tolerance"):
        qz._build(2, 1, numeric)
    with pytest.raises(ValueError, match="options must be distinct, non-empty plain text"):
        qz._build(1, 9, {**good, "options": [("$x$", None), ("b", "f"), ("c", "g")]})


# ---------------------------------------------------------------------------------------------
# check_answer: the one place that decides
@pytest.mark.parametrize("q", CHOICE, ids=lambda q: q.id)
def test_check_answer_passes_the_right_option_and_names_the_misconception_of_each_wrong_one(q):
    for i in range(len(q.options)):
        result = check_answer(q.id, i)
        assert isinstance(result, CheckResult) and result.exercise == q.id
        if i == q.answer:
            assert result and result.message == q.explanation
            assert str(result).startswith(f"PASS · {q.id}: ")
        else:
            assert not result and result.message == q.feedback[i]
            assert str(result).startswith(f"NOT YET · {q.id}: ")
    assert check_answer(q.id, np.int64(q.answer))  # numpy integers are indices too


@pytest.mark.parametrize("q", NUMERIC, ids=lambda q: q.id)
def test_check_answer_on_numbers_value_tolerance_traps_and_hint(q):
    assert check_answer(q.id, q.value) and check_answer(q.id, q.value - 0.9 * q.tolerance)
    assert check_answer(q.id, float(np.float32(q.value)))  # float32 round-off of an exact count
    for trap, text in q.traps:
        result = check_answer(q.id, trap)
        assert not result and result.message == text
    far = q.value * 3 + 17
    result = check_answer(q.id, far)
    assert not result and q.hint in result.message and "is not it" in result.message


@given(x=st.floats(min_value=-1e7, max_value=1e7, allow_nan=False))
def test_a_numeric_answer_passes_exactly_when_within_the_tolerance(x):
    for q in NUMERIC:
        slack = 1e-9 * max(1.0, abs(q.value))
        assert bool(check_answer(q.id, x)) == (abs(x - q.value) <= q.tolerance + slack), q.id


def test_unknown_id_or_bad_answer_is_a_clear_value_error():
    with pytest.raises(ValueError, match=r"unknown question id 'ch6-q9'.*ch1-q1 \.\. ch1-q7"):
        check_answer("ch6-q9", 0)
    with pytest.raises(ValueError, match="unknown question id"):
        check_answer(["ch1-q1"], 0)
    q = CHOICE[0]
    with pytest.raises(ValueError, match=rf"{q.id} has 4 options: .*index 0-3.*got 4"):
        check_answer(q.id, 4)
    for bad in (-1, True, 1.0, "b", None):
        with pytest.raises(ValueError, match=f"{q.id} has"):
            check_answer(q.id, bad)
    n = NUMERIC[0]
    for bad in ("125", None, math.nan, math.inf, True, [1]):
        with pytest.raises(ValueError, match=f"{n.id} expects a finite number"):
            check_answer(n.id, bad)


def test_unknown_chapter_lists_the_chapters_that_have_a_quiz():
    for bad in (0, 9, True, "3", [1]):
        with pytest.raises(ValueError, match="chapters with a quiz: 1, 2, 3, 4, 5, 6, 7, 8"):
            questions(bad)
        with pytest.raises(ValueError, match="chapters with a quiz"):
            quiz(bad)


# ---------------------------------------------------------------------------------------------
# the widget
def _classes(widget) -> set[str]:
    return set(widget._dom_classes)


@pytest.mark.parametrize("chapter", QUIZ_CHAPTERS)
def test_the_widget_shows_not_yet_with_the_misconception_then_pass(chapter):
    box = quiz(chapter)
    assert "hyena-quiz" in _classes(box) and f"chapter {chapter}" in box.children[0].value
    blocks = box.children[1:]
    assert len(blocks) == len(questions(chapter))
    for block, q in zip(blocks, questions(chapter), strict=True):
        prompt, choice, check, feedback = block.children
        assert type(prompt).__name__ == "HTMLMath" and check.description == "Check"
        assert type(feedback).__name__ == "HTMLMath" and feedback.value == ""
        check.click()  # nothing chosen yet: a note, no verdict
        assert "then press Check" in feedback.value and not _classes(feedback) & {
            qz.PASS_CLASS, qz.NOT_YET_CLASS}  # fmt: skip
        if q.numeric:
            assert type(choice).__name__ == "Text" and choice.value == ""
            wrong = [(f"{trap:,}", text) for trap, text in q.traps] or [("-1", q.hint)]
            right = f"{q.value:,}" + (f" {q.unit}" if q.unit else "")
        else:
            assert type(choice).__name__ == "RadioButtons" and choice.index is None
            assert list(choice.options) == list(q.options)
            wrong = [(q.options[i], q.feedback[i]) for i in range(len(q.options)) if i != q.answer]
            right = q.options[q.answer]
        for answer, text in wrong:
            choice.value = answer
            assert feedback.value == ""  # a new answer clears the old verdict
            check.click()
            assert "NOT YET" in feedback.value and markdown_html(text)[3:-4] in feedback.value
            assert qz.NOT_YET_CLASS in _classes(feedback) and qz.NOT_YET_CLASS in feedback.value
        choice.value = right
        check.click()
        assert "PASS" in feedback.value and markdown_html(q.explanation)[3:-4] in feedback.value
        assert qz.PASS_CLASS in _classes(feedback) and qz.NOT_YET_CLASS not in _classes(feedback)


def test_the_number_box_takes_thousands_separators_and_refuses_words():
    q = BY_ID["ch3-q3"]
    block = quiz(3).children[1 + questions(3).index(q)]
    _, box, check, feedback = block.children
    box.value = "12,736"
    check.click()
    assert qz.PASS_CLASS in _classes(feedback)
    box.value = "twelve thousand"
    check.click()
    assert "Type a number" in feedback.value and qz.PASS_CLASS not in _classes(feedback)


def test_markdown_html_escapes_and_keeps_math_for_mathjax():
    got = markdown_html("Is $a < b$ **here** and *x*? `c*d` stays code.\n\nNext <p>.")
    assert got == ("<p>Is $a &lt; b$ <strong>here</strong> and <em>x</em>? <code>c*d</code> "
                   "stays code.</p><p>Next &lt;p&gt;.</p>")  # fmt: skip
    assert markdown_html("$h * u$ and $g * h$") == "<p>$h * u$ and $g * h$</p>"  # no <em>


# ---------------------------------------------------------------------------------------------
# text for paper and for teachers
@pytest.mark.parametrize("chapter", QUIZ_CHAPTERS)
def test_quiz_text_has_the_questions_and_none_of_the_answers(chapter):
    text = quiz_text(chapter)
    assert text.startswith(f"### Quiz: chapter {chapter}, ")
    for q in questions(chapter):
        assert q.prompt in text and all(o in text for o in q.options)
        secrets = [q.explanation, q.hint, *q.feedback, *(t for _, t in q.traps)]
        assert not any(s and s in text for s in secrets), q.id
    assert "PASS" not in text and "wrong:" not in text


@pytest.mark.parametrize("chapter", QUIZ_CHAPTERS)
def test_answer_key_has_every_answer_explanation_and_misconception(chapter):
    key = answer_key(chapter)
    for n, q in enumerate(questions(chapter), start=1):
        assert q.explanation in key and all(fb in key for fb in q.feedback if fb)
        if q.numeric:
            assert f"**{n}.** {qz._number(q.value)}" in key and q.hint in key
        else:
            assert f"**{n}.** ({'abcde'[q.answer]}) {q.options[q.answer]}" in key


# ---------------------------------------------------------------------------------------------
# every expected number recomputed from the package, not read from the question
def _crossover(fft_flops) -> int:
    """Smallest L from which ``fft_flops(L)`` stays below direct_conv's L (L + 1) up to 2^14."""
    answer = None
    for L in range(2**14, 0, -1):
        if fft_flops(L) >= L * (L + 1):
            break
        answer = L
    return answer


def _shakespeare():
    from hyena_lab.lm import shakespeare

    return shakespeare()


def _numeric_ch1_q6():
    from hyena_lab.roofline import counted_crossover, fft_flops

    real = _crossover(lambda L: 3 * fft_flops(2 * L) + 6 * (L + 1))
    assert real == counted_crossover()  # the package's own rule
    mistakes = [_crossover(lambda L: 3 * fft_flops(2 * L, real=False) + 6 * (L + 1)),
                _crossover(lambda L: 2 * fft_flops(2 * L) + 6 * (L + 1))]  # fmt: skip
    return real, mistakes  # complex FFTs; the filter's FFT forgotten


def _numeric_ch1_q7():
    from hyena_lab.paper import PAPER_FIGURE_4_3_MS
    from hyena_lab.roofline import toeplitz_matvec_cost

    L = max(PAPER_FIGURE_4_3_MS["lengths"])  # S_h (L^2) + u and y (2 L), float32
    gib = [toeplitz_matvec_cost(1, 1, L, elt_bytes=e).bytes / 2**30 for e in (4, 8)]
    return gib[0], [gib[0] / 2, gib[1], L * 4 / 2**30]  # the lower half; float64; just h


def _numeric_ch2_q8():
    from hyena_lab.experiments.matrix_costs import count_matrix_costs

    row = {r["L"]: r for r in count_matrix_costs(d_model=8, order=2)["rows"]}[16384]
    gib = row["A_bytes"] / 2**30
    return gib, [gib / 8, gib / 2, gib * 2]  # one channel; lower half; float64


def _numeric_ch3_q3():
    from hyena_lab.filters import make_filter
    from hyena_lab.spectra import implicit_param_count

    count = implicit_param_count(64, 2**16, trainable_pos_emb=False)["ffn"]
    assert make_filter("implicit", 64, 256, trainable_pos_emb=False).num_params == count
    W = D = 64
    with_z = implicit_param_count(64, 2**16)["total"]
    return count, [with_z, count + 2 * W, count - W * D, 64 * 2**16]


def _numeric_ch4_q4():
    from hyena_lab.tasks import recall_vocab

    values = recall_vocab(30).num_values
    return 100 / values, [100 / 30, 100 / 15, 100 / (2 * values)]


def _numeric_ch5_q4():
    from hyena_lab.roofline import fftconv_cost, fftconv_unfused_bytes

    def per_element(cost):  # bytes per element of u: two batches minus one, over L
        return (cost(2) - cost(1)) / 1024

    unfused = per_element(lambda b: fftconv_unfused_bytes(b, 1, 1024))
    fused = per_element(lambda b: fftconv_cost(b, 1, 1024).bytes)
    return unfused, [fused, unfused / fused]


def _numeric_ch7_q8():
    corpus = _shakespeare()
    counts = torch.bincount(corpus.train, minlength=corpus.vocab.size).double()
    unigram = float(-(counts / counts.sum())[corpus.val].log().mean())
    return math.log(corpus.vocab.size), [math.log2(corpus.vocab.size), unigram,
                                         corpus.vocab.size]  # fmt: skip


def _numeric_ch8_q2():
    from hyena_lab.tasks import IGNORE_INDEX, mqar

    _, targets = mqar(64, 64, 4, 256, seed=0)
    scored = (targets != IGNORE_INDEX).sum(dim=1).unique().tolist()
    assert len(scored) == 1
    return scored[0], [64, 2 * 4, 1]  # every position; the pair tokens; chapter 4's one query


def _numeric_ch6_q2():
    from hyena_lab import monarch
    from hyena_lab.roofline import fft_flops

    N = 4096
    dft_stages = 8 * N * (64 + 64)  # the two stages of small DFTs, twiddles left out
    return monarch.fft_flops(N, (64, 64)), [monarch.dense_dft_flops(N), dft_stages,
                                            fft_flops(N, real=False)]  # fmt: skip


#: question id -> () -> (the answer, the values of the mistakes its traps name, in order)
RECOMPUTE = {
    "ch1-q6": _numeric_ch1_q6, "ch1-q7": _numeric_ch1_q7, "ch2-q8": _numeric_ch2_q8,
    "ch3-q3": _numeric_ch3_q3, "ch4-q4": _numeric_ch4_q4, "ch5-q4": _numeric_ch5_q4,
    "ch6-q2": _numeric_ch6_q2, "ch7-q8": _numeric_ch7_q8, "ch8-q2": _numeric_ch8_q2,
}  # fmt: skip


def test_every_numeric_question_is_recomputed():
    assert set(RECOMPUTE) == {q.id for q in NUMERIC}


@pytest.mark.parametrize("qid", sorted(RECOMPUTE))
def test_numeric_answers_and_traps_recomputed_from_the_package(qid):
    q = BY_ID[qid]
    answer, mistakes = RECOMPUTE[qid]()
    assert check_answer(qid, answer), (qid, answer, q.value)
    assert len(mistakes) == len(q.traps)
    for got, (trap, text) in zip(mistakes, q.traps, strict=True):  # each trap is its mistake
        result = check_answer(qid, got)
        assert not result and result.message == text, (qid, got, trap)


# ---------------------------------------------------------------------------------------------
# numbers quoted in the questions, recomputed from the package and the committed records
@functools.cache
def _records() -> dict:
    from hyena_lab import bench
    from hyena_lab.measure import load_record
    from hyena_lab.recall import load_measurement
    from hyena_lab.viz import records_dir

    return {
        "gpu": bench.load_results(records_dir() / "05_gpu_kernels-bench.json"),
        "grid": load_measurement("04_associative_recall-grid"),
        "compare": load_record("07_lm-compare", schema="lm-compare"),
        "steps": load_record("07_lm-step-time", schema="lm-step-time"),
        "speed": load_record("07_generation-speed", schema="generation-speed"),
        "distill": load_record("07_distill-sweep", schema="distill-sweep"),
        "mqar": load_record("08_mqar-gpu_grid", schema="mqar-grid"),
        "mqar_long": load_record("08_mqar-gpu_grid-hyena_long", schema="mqar-grid"),
        "mqar_fig2": load_record("08_mqar-gpu_grid-fig2", schema="mqar-grid"),
    }


def _quoted_ch1():
    from hyena_lab.roofline import counted_crossover, direct_conv_cost, fftconv_cost

    ratio = direct_conv_cost(1, 1, 2**14).flops / fftconv_cost(1, 1, 2**14).flops
    flops = [f"{c(1, 1, L).flops:,.0f}" for L in (124, 125) for c in (direct_conv_cost,
                                                                      fftconv_cost)]  # fmt: skip
    return {"ch1-q5": [f"from $L = {counted_crossover()}$", f"about {round(ratio, -1):.0f}x"],
            "ch1-q6": flops}  # fmt: skip


def _quoted_ch2():
    from hyena_lab.experiments.matrix_costs import count_matrix_costs

    rows = {r["L"]: r for r in count_matrix_costs(d_model=8, order=2)["rows"]}
    mat = {L: r["materialize_flops"] / r["op_flops"] for L, r in rows.items()}
    mv = {L: r["matvec_flops"] / r["op_flops"] for L, r in rows.items()}
    assert mv[1024] < 1 < mv[4096]  # "cheaper to apply only up to L = 1024"
    mib = rows[16384]["signal_bytes"] / 2**20
    return {"ch2-q7": [f"{round(mat[64])}x", f"{round(mat[512])}x", "to $L = 1024$"],
            "ch2-q8": [f"({mib:.1f} MiB at order 2)"]}  # fmt: skip


def _quoted_ch3():
    from hyena_lab.filters import PAPER_TABLE_A2, ExponentialModulation
    from hyena_lab.spectra import implicit_param_count

    c = implicit_param_count(64, 2**16)
    first = min(2**k for k in range(7, 17) if 3 * 2**k > c["ffn"])  # z outnumbers the FFN
    defaults = inspect.signature(ExponentialModulation).parameters
    pct = [f"{100 * defaults[k].default:.0f}%" for k in ("fast_decay_pct", "slow_decay_pct")]
    return {"ch3-q2": [f"{c['ffn']:,}", f"{c['total']:,}", f"{64 * 2**16:,}", f"{first:,}"],
            "ch3-q4": [f"between {pct[0]} and {pct[1]} of the sequence", "only at 150%"],
            "ch3-q7": [f"{name} {acc}" for name, acc in PAPER_TABLE_A2.items()]}  # fmt: skip


def _quoted_ch4():
    from hyena_lab.tasks import associative_recall, most_frequent_value, recall_vocab

    x, y = associative_recall(2000, 128, 30, seed=1)  # the chapter's levels at vocabulary 30
    level = float((most_frequent_value(x, 30) == y[:, -1]).float().mean())
    chance = 1 / recall_vocab(30).num_values
    grid = _records()["grid"]["results"]

    def mean(mixer, L=None):
        runs = [r["test_accuracy"] for r in grid if (r["mixer"], r["vocab_size"]) == (mixer, 30)
                and (L is None or r["seq_len"] == L)]  # fmt: skip
        return sum(runs) / len(runs)

    means = [f"{m} {round(100 * mean(k))}%" for m, k in (("Hyena", "hyena"),
             ("attention", "attention"), ("H3", "h3"), ("convolution", "conv"))]  # fmt: skip
    attn = sorted((r["test_accuracy"] for r in grid if (r["mixer"], r["vocab_size"]) ==
                   ("attention", 30) and r["seq_len"] >= 256), reverse=True)  # fmt: skip
    gaps = [round(100 * (mean("hyena") - mean("h3_same"))),
            round(100 * (mean("h3_same") - mean("h3")))]  # fmt: skip
    return {"ch4-q3": [f"about {round(100 * level)}% at vocabulary 30",
                       f"chance is {round(100 * chance)}%"],
            "ch4-q5": [f"worth {gaps[0]} points, the depth {gaps[1]}"],
            "ch4-q7": [" > ".join(means),
                       "ended at " + ", ".join(f"{round(100 * a)}%" for a in attn[:3])
                       + f" and {round(100 * attn[3])}%"]}  # fmt: skip


def _quoted_ch5():
    from hyena_lab import bench, roofline
    from hyena_lab.paper import paper_speedups

    gpu = _records()["gpu"]
    ceil = roofline.Ceilings.from_dict(gpu["ceilings"])
    s = bench.summarize(gpu)
    x = {k: f"{round(v / 1024)}K" for k, v in s["crossover_L"].items()}
    Ls = [2**p for p in range(6, 21)]
    batch = {n: max(1, 2**18 // n) for n in Ls}  # 2^18 tokens per batch
    flops = [(roofline.mha_layer_cost(batch[n], n, 768, 12).flops,
              roofline.hyena_layer_cost(batch[n], n, 768, 2).flops) for n in Ls]  # fmt: skip
    x_flops = bench.crossover_length(Ls, [a for a, _ in flops], [h for _, h in flops])
    model = {f: [roofline.layer_time_model(n, 2**18, 768, 12, ceil, fft_bytes_factor=f)
                 for n in Ls] for f in (1.0, 22.0)}  # fmt: skip
    x_model = {f: bench.crossover_length(Ls, [a for a, _ in m], [h for _, h in m])
               for f, m in model.items()}  # fmt: skip
    rows = s["fftconv_roofline"]["fwd"]
    intensity = [r["intensity_flop_per_byte"] for r in rows.values()]
    vs_flash, vs_std = paper_speedups(), paper_speedups("standard_attention")
    sp = s["speedup"]["layer/fwd"]
    t_mha, t_hy = bench.times(gpu, "mha", "fwd"), bench.times(gpu, "hyena", "fwd")
    t_1k = roofline.fftconv_unfused_bytes(256, 768, 1024) / ceil.bandwidth * 1e3
    return {
        "ch5-q1": [f"$L \\approx {round(x_flops)}$",
                   f"needs {round(flops[10][0] / flops[10][1])}x"],  # at L = 2^16
        "ch5-q2": [f"{round(ceil.matmul_flops / 1e12)} TFLOP/s",
                   f"{round(ceil.fp32_flops / 1e12)} TFLOP/s", f"near {x_model[1.0] / 1024:.1f}K",
                   f"near {round(x_model[22.0] / 1024)}K",
                   f"{x['layer/fwd']} for the layer, {x['kernel/fwd']} for the kernel"],
        "ch5-q3": [f"{round(min(intensity))} to {round(max(intensity))} FLOP/byte",
                   f"about {round(ceil.ridge(), -1):.0f} FLOP/byte",
                   f"about {round(ceil.ridge('fp32'))})"],
        "ch5-q4": [f"take {t_1k:.1f} ms", f"{rows['1024']['measured_ms']:.1f} ms"],
        "ch5-q5": [f"{vs_flash[8192]:.1f}x at 8K and {vs_flash[65536]:.1f}x at 64K",
                   f"{max(*vs_flash.values(), *vs_std.values()):.1f}x"],
        "ch5-q6": [f"about {x['layer/fwd']} tokens forward",
                   f"({x['layer/fwd+bwd']} forward+backward)",
                   f"cuDNN) at {x['kernel/fwd']}", f"runs at {sp['8192']:.2f}x",
                   f"{sp['262144']:.1f}x at 256K", f"{t_mha[2**19][0] / 1e3:.2f} s per call "
                   f"against {t_hy[2**19][0] / 1e3:.2f} s"],
    }  # fmt: skip


def _quoted_ch7():
    from hyena_lab.lm import build_lm, lm_model_config
    from hyena_lab.paper import PAPER_LM

    r = _records()
    vocab = _shakespeare().vocab.size
    params = {m: build_lm(lm_model_config(m, vocab), seed=0).num_params
              for m in ("attention", "hyena")}  # fmt: skip
    means = r["compare"]["means"]
    loss = {k: f"{v['val_loss']:.2f}" for k, v in means.items()}
    steps = {k: f"{v['steps']:,.0f}" for k, v in means.items()}
    ratio = r["steps"]["ratio_attention_over_hyena"]
    g = r["speed"]["ratio_longest_over_shortest"]
    inc = {row["order"]: row["val_loss_increase"] for row in r["distill"]["distilled"]}
    flops = PAPER_LM["pile_flops_15B"]
    return {
        "ch7-q1": [f"{params['hyena']:,} against {params['attention']:,}"],
        "ch7-q2": [f"{loss['hyena 60s']} against {loss['attention 60s']}",
                   f"{loss['hyena 300s']} against {loss['attention 300s']}",
                   f"{steps['hyena 60s']} steps against the GPT's {steps['attention 60s']}",
                   f"{means['hyena 60s']['min']:.2f}-{means['hyena 60s']['max']:.2f}"],
        "ch7-q3": [f"{ratio[0]:.2f}", f"{ratio[-1]:.2f}"],
        "ch7-q4": [f"{flops['Hyena-2']:.2e} against {flops['GPT']:.2e}".replace("e+", "e"),
                   f"{round(100 * (1 - flops['Hyena-2'] / flops['GPT']))}% fewer"],
        "ch7-q5": [f"{g['recompute']:.0f}x", f"{g['cache']:.0f}x", f"{g['gpt_kv_cache']:.1f}x",
                   f"({g['modal']:.2f}x)"],
        "ch7-q6": [f"lost {inc[2]:.4f} nats", *(["less than 0.001"] if all(
            abs(v) < 0.001 for k, v in inc.items() if k >= 4) else [])],
    }  # fmt: skip


def _quoted_ch8():
    from hyena_lab.experiments.mqar import best_over_lrs, smallest_solving_width

    r = _records()
    widths = smallest_solving_width(r["mqar"]["results"])["attention"]
    best = best_over_lrs(r["mqar"]["results"])
    best_long = best_over_lrs(r["mqar_long"]["results"])
    gaps = []
    for a in (0.01, 1.0):  # the expected gap of one draw, from mqar's weights
        w = a * torch.arange(1, 29, dtype=torch.float64) ** (a - 1)
        gaps.append(f"{float((w / w.sum() * torch.arange(28)).sum()):.1f}")
    solved = [L for L, w in widths.items() if w is not None]
    fig2 = smallest_solving_width(r["mqar_fig2"]["results"])
    assert set(fig2["attention"].values()) == {64} and fig2["hyena"]["128"] is None
    assert fig2["hyena"]["256"] is None  # "more than 512": the grid's widest Hyena
    assert max(run["width"] for run in r["mqar_fig2"]["results"]) == 512
    zoology = 64 * 100_000 // 512
    steps = [run["steps"] for run in r["mqar_fig2"]["results"] if run["mixer"] == "hyena"]
    assert zoology == 12_500 and 0.95 < max(steps) / zoology < 1.2  # "about Zoology's"
    return {
        "ch8-q3": [f"{gaps[0]} pairs, against {gaps[1]}"],
        "ch8-q7": [f"L = {', '.join(solved)} at widths "
                   f"{', '.join(str(widths[L]) for L in solved)}",
                   f"was {best[('hyena', 64, 256)]:.2f} (width 256)",
                   f"and {best_long[('hyena', 64, 256)]:.2f} when trained",
                   f"Hyena needs width {fig2['hyena']['64']} at $L = 64$ and more than 512"],
    }  # fmt: skip


def _quoted_ch6():
    from hyena_lab import monarch
    from hyena_lab.roofline import Ceilings, fft_flops

    ceil = Ceilings.from_dict(_records()["gpu"]["ceilings"])
    rate = ceil.matmul_flops / ceil.fp32_flops
    more = [monarch.fft_flops(4096, fs) / fft_flops(4096, real=False)
            for fs in ((16, 16, 16), (64, 64))]  # fmt: skip
    gain = monarch.matmul_fft_speedup(4096, (16, 16, 16), ceil, compute_only=True)
    return {"ch6-q2": [f"about {round(more[1])}x", f"{rate:.1f}x faster"],
            "ch6-q3": [f"about {round(more[0])}-{round(more[1])}x", f"{rate:.1f}x faster",
                       f"by {gain:.1f}x", f"fp32 ridge ({ceil.ridge('fp32'):.1f} on the H100)"]}


QUOTED = [_quoted_ch1, _quoted_ch2, _quoted_ch3, _quoted_ch4, _quoted_ch5, _quoted_ch6,
          _quoted_ch7, _quoted_ch8]  # fmt: skip


@pytest.mark.parametrize("quoted", QUOTED, ids=lambda f: f.__name__)
def test_numbers_quoted_in_questions_match_the_package_and_records(quoted):
    for qid, expected in quoted().items():
        text = _text(BY_ID[qid])
        missing = [s for s in expected if s not in text]
        assert not missing, f"{qid} does not quote {missing} (recomputed)"


def test_quoted_numbers_test_can_fail():
    """A changed number would be caught: the lookup is a plain substring of the question."""
    assert "about 71x" not in _text(BY_ID["ch1-q5"]) and "about 70x" in _text(BY_ID["ch1-q5"])
    assert re.search(r"\b389x\b", _text(BY_ID["ch2-q7"]))
