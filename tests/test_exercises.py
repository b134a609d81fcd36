"""Exercise checkers: every reference solution passes, and typical wrong answers fail with a
message that says what is wrong (the feedback a student sees)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

from hyena_lab import circular_fftconv, direct_conv, fftconv, toeplitz
from hyena_lab import exercises as ex
from hyena_lab.exercises import CHAPTERS, EXERCISES, CheckResult
from hyena_lab.exercises.feedback import Case, Wrong


def _answer(name: str):
    """The reference answer: the solution function, or its value for value exercises."""
    solution = EXERCISES[name].solution
    return solution() if name == "published_speedups" else solution


# ---------------------------------------------------------------------------------------------
# wrong answers, one per mistake a student is likely to make
def _fft_no_slice(u, k):
    n = 2 * u.shape[-1]
    return torch.fft.irfft(torch.fft.rfft(u, n=n) * torch.fft.rfft(k, n=n), n=n)


def _full_convolution(g, h):  # all 2L - 1 terms of g * h
    return torch.tensor(np.convolve(g.numpy(), h.numpy()))


def _no_counterexample(L):  # an impulse at t = 0 never wraps around
    u = torch.zeros(L, dtype=torch.float64)
    u[0] = 1.0
    return u, u.clone()


def _first_fast(lengths, t_fft, t_direct):  # ignores what happens at longer lengths
    return next((L for L, f, d in zip(lengths, t_fft, t_direct, strict=True) if f < d), None)


def _no_none(lengths, t_fft, t_direct):
    return ex.solution_crossover_length(lengths, t_fft, t_direct) or lengths[-1]


def _tie_counts(lengths, t_fft, t_direct):
    return ex.solution_crossover_length(lengths, [f - 1e-9 for f in t_fft], t_direct)


def _gate_first(D_x, S_h, v):
    z = v
    for D, S in zip(D_x, S_h, strict=True):
        z = (S @ (D * z)[..., None])[..., 0]
    return z


def _reversed(D_x, S_h, v):
    return ex.solution_hyena_recurrence(D_x[::-1], S_h[::-1], v)


def _two_steps_only(D_x, S_h, v):
    return ex.solution_hyena_recurrence(D_x[:2], S_h[:2], v)


def _constant_gates_no_skip(h1, b1, h2, b2, a, c):
    return a * c * direct_conv(h2[None], h1[None])[0]


def _constant_gates_unscaled(h1, b1, h2, b2, a, c):
    return ex.solution_constant_gates_filter(h1, b1, h2, b2, 1.0, 1.0)


def _constant_gates_full(h1, b1, h2, b2, a, c):
    k1, k2 = h1.clone(), h2.clone()
    k1[0] += b1
    k2[0] += b2
    return a * c * torch.tensor(np.convolve(k2.numpy(), k1.numpy()))


def _cost_with(**changes):
    def count(d_model, L):
        return {**ex.solution_materialize_cost(d_model, L), **changes}

    return count


def _cost_scaled(key, factor):
    def count(d_model, L):
        out = ex.solution_materialize_cost(d_model, L)
        return {**out, key: out[key] * factor}

    return count


def _official_swapped(x, v, h, bias):
    return x[0] * fftconv(x[1] * v, h, bias)


def _official_no_skip(x, v, h, bias):
    return x[1] * fftconv(x[0] * v, h)


def _official_paper_order(x, v, h, bias):
    return x[1] * (x[0] * fftconv(v, h, bias))


def _official_after_out_proj(x, v, h, bias):
    return ex.solution_official_recurrence(x, v, h, bias).transpose(1, 2)


def _s4d_times(factor):
    return lambda A, C, dt, L: factor * ex.solution_s4d_kernel(A, C, dt, L)


def _s4d_euler(A, C, dt, L):
    powers = torch.exp((dt[:, None] * A)[..., None] * torch.arange(L, dtype=dt.dtype))
    return 2 * torch.einsum("cm,cml->cl", C * dt[:, None], powers).real


def _s4d_shifted(A, C, dt, L):
    return ex.solution_s4d_kernel(A, C, dt, L + 1)[:, 1:]


def _linear_fraction(c, channels, fast, slow):
    return slow + (c / (channels - 1) if channels > 1 else 0.0) * (fast - slow)


def _variant_float32_out(u, k):
    return ex.solution_fftconv_variant(u.float(), k.float())


def _variant_no_padding(u, k):
    return circular_fftconv(u.float(), k.float()).to(u.dtype)


def _variant_scaled(u, k):  # a variant that lost a normalisation: 10% off
    return ex.solution_fftconv_variant(u, k) * 1.1


def _pe_sign(L, emb_dim):
    z = ex.solution_positional_encoding(L, emb_dim)
    K = (emb_dim - 1) // 2
    return torch.cat([z[:, : 1 + K], -z[:, 1 + K :]], dim=1)


def _pe_f0(L, emb_dim):  # f = arange(K): the first frequency 0 instead of 1e-4
    K = (emb_dim - 1) // 2
    t = torch.linspace(0, 1, L)[:, None]
    w = 2 * math.pi * torch.arange(L)[:, None] / L
    rho = torch.exp(-1j * torch.arange(K)[None, :] * w)
    return torch.cat([t, rho.real, rho.imag], dim=-1)


def _pe_interleaved(L, emb_dim):
    z = ex.solution_positional_encoding(L, emb_dim)
    K = (emb_dim - 1) // 2
    pairs = torch.stack([z[:, 1 : 1 + K], z[:, 1 + K :]], dim=2).reshape(L, 2 * K)
    return torch.cat([z[:, :1], pairs], dim=1)


def _recall_raw_numbers(pairs, query, vocab_size):
    from hyena_lab.tasks import PROMPT

    tokens = [t for k, v in pairs for t in (k, v)]
    inputs = torch.tensor([*tokens, PROMPT, query])
    targets = torch.full_like(inputs, -100)
    targets[-1] = dict(pairs)[query]
    return inputs, targets


def _recall_all_scored(pairs, query, vocab_size):
    inputs, targets = ex.solution_make_recall_example(pairs, query, vocab_size)
    return inputs, torch.cat([inputs[1:], targets[-1:]])


def _recall_no_error(pairs, query, vocab_size):
    try:
        return ex.solution_make_recall_example(pairs, query, vocab_size)
    except ValueError:
        return torch.zeros(4, dtype=torch.int64), torch.zeros(4, dtype=torch.int64)


def _recall_int32(pairs, query, vocab_size):
    inputs, targets = ex.solution_make_recall_example(pairs, query, vocab_size)
    return inputs.int(), targets.int()


def _accuracy_all_positions(logits, targets):
    return float((logits.argmax(-1) == targets).float().mean())


WRONG = [
    # chapter 1
    ("causal_fftconv", circular_fftconv, "circular convolution"),
    ("causal_fftconv", _fft_no_slice, r"keep only the first L outputs"),
    ("causal_fftconv", lambda u, k: fftconv(u.float(), k.float()), "float32 round-off"),
    ("causal_fftconv", lambda u, k: direct_conv(u, k.flip(-1)), r"wrong values .*wrong at L ="),
    ("causal_fftconv", lambda u, k: 1 / 0, "your function raised ZeroDivisionError"),
    ("causal_fftconv", lambda u, k: u.numpy(), "must be a torch.Tensor"),
    ("causal_fftconv", 3, "expected your function"),
    ("toeplitz_product", lambda g, h: toeplitz(g) @ toeplitz(h), "not the matrix"),
    ("toeplitz_product", _full_convolution, "keep the first L lags"),
    ("toeplitz_product", lambda g, h: circular_fftconv(g[None], h[None])[0], "circular"),
    ("toeplitz_product", lambda g, h: g * h, "element-wise product"),
    ("toeplitz_product", lambda g, h: direct_conv(g[None], h[None])[0] + 1e-3, "wrong values"),
    ("fft_padding", lambda L: 2 * L, "not the smallest"),
    ("fft_padding", lambda L: L, "too small"),
    ("fft_padding", lambda L: 1 << (2 * L - 1).bit_length(), "power of two"),
    ("fft_padding", lambda L: 2 * L + 1, "not the smallest"),
    ("fft_padding", lambda L: "2L-1", "whole length"),
    ("crossover_length", _first_fast, "isolated fast point is noise"),
    ("crossover_length", _no_none, "return None"),
    ("crossover_length", _tie_counts, "return None"),
    ("crossover_length", lambda *a: "soon", "return a length"),
    # chapter 2
    ("hyena_recurrence", _gate_first, "gate before convolving"),
    ("hyena_recurrence", _reversed, "reverse order"),
    ("hyena_recurrence", _two_steps_only, "right at order 2 but not at order 3"),
    ("hyena_recurrence", lambda D, S, v: v, "wrong values"),
    ("constant_gates_filter", _constant_gates_no_skip, "skip terms are missing"),
    ("constant_gates_filter", _constant_gates_unscaled, "multiply by a \\* c"),
    ("constant_gates_filter", _constant_gates_full, "keep the first L taps"),
    ("constant_gates_filter", lambda *args: torch.zeros(3), "has shape"),
    ("materialize_cost", _cost_scaled("A_bytes", 2), "2 bytes an entry"),
    ("materialize_cost", _cost_scaled("A_bytes", 1 / 1024), "d_model of them"),
    ("materialize_cost", _cost_scaled("A_bytes", 3), "expected d_model L\\^2"),
    ("materialize_cost", _cost_scaled("matvec_macs", 2), "d_model L\\^2 ="),
    ("materialize_cost", _cost_scaled("fft_ops", 1 / 1024), "per channel"),
    ("materialize_cost", _cost_scaled("fft_ops", 10), "2-3 FFTs"),
    ("materialize_cost", _cost_with(fft_ops="many"), "return a number as fft_ops"),
    ("materialize_cost", lambda d, L: [1, 2, 3], "return a dict"),
    ("official_recurrence", _official_swapped, "gates are swapped"),
    ("official_recurrence", _official_no_skip, "skip term"),
    ("official_recurrence", _official_paper_order, "BEFORE the conv"),
    ("official_recurrence", _official_after_out_proj, "before out_proj"),
    ("official_recurrence", lambda x, v, h, bias: v, "wrong values"),
    # chapter 3
    ("s4d_kernel", _s4d_times(0.5), "factor 2"),
    ("s4d_kernel", _s4d_euler, "Euler"),
    ("s4d_kernel", _s4d_shifted, "shifted by one"),
    ("s4d_kernel", lambda A, C, dt, L: torch.zeros(3, L, dtype=torch.cfloat), "complex"),
    ("decay_fraction", _linear_fraction, "not spaced linearly"),
    ("decay_fraction", lambda c, D, f, s: ex.solution_decay_fraction(D - 1 - c, D, f, s),
     "the window of channel"),
    ("decay_fraction", lambda c, D, f, s: "soon", "return a fraction"),
    ("positional_encoding", _pe_sign, "wrong sign"),
    ("positional_encoding", _pe_f0, "first frequency is 1e-4"),
    ("positional_encoding", _pe_interleaved, r"columns 1\.\.K must be Re"),
    ("positional_encoding", lambda L, e: ex.solution_positional_encoding(L, e) * 2, "column 0"),
    # chapter 4
    ("make_recall_example", _recall_raw_numbers, "not token ids"),
    ("make_recall_example", _recall_all_scored, "only the last position is scored"),
    ("make_recall_example", _recall_no_error, "must raise ValueError"),
    ("make_recall_example", _recall_int32, "int64"),
    ("make_recall_example", lambda p, q, v: [1, 2], "return a pair"),
    ("recall_by_lookup", lambda inputs: inputs[:, -1], "query key itself"),
    ("recall_by_lookup", lambda inputs: inputs[:, -3], r"accuracy \d"),
    ("recall_by_lookup", lambda inputs: inputs[:, -1:], "shape"),
    ("query_accuracy", _accuracy_all_positions, "-100 count"),
    ("query_accuracy", lambda logits, targets: 0.5 * 1.5, "expected"),
    ("query_accuracy", lambda logits, targets: "high", "return a number"),
    # chapter 5
    ("attention_flops", lambda b, h, L, d, c: ex.solution_attention_flops(b, h, L, d, c) / 2,
     "half"),
    ("attention_flops", lambda b, h, L, d, c: 4.0 * b * h * d * L * L, "not L\\^2"),
    ("attention_flops", lambda b, h, L, d, c: 4.0 * b * h * d * L * L / (2 if c else 1),
     "count the diagonal"),
    ("max_naive_attention_length",
     lambda b, h, m, e: ex.solution_max_naive_attention_length(b, h, m, e) + 1, "scores need"),
    ("max_naive_attention_length",
     lambda b, h, m, e: ex.solution_max_naive_attention_length(b, h, m, e) - 1, "so does L="),
    ("max_naive_attention_length", lambda b, h, m, e: math.sqrt(m / (b * h * e)), "whole length"),
    ("published_speedups", {8192: 1 / 1.4, 65536: 1 / 11.4}, "inverted"),
    ("published_speedups", {8192: 1.4, 65536: 100.0}, "abstract"),
    ("published_speedups", {8192: 1.4}, "no entry for L=65536"),
    ("published_speedups", {8192: 2.0, 65536: 11.4}, "1.40 in the published data"),
    ("published_speedups", [1.4, 11.4], "expected a dict"),
    ("fftconv_variant", _variant_float32_out, "return the input's dtype"),
    ("fftconv_variant", _variant_no_padding, "padding to 2L is gone"),
    ("fftconv_variant", _variant_scaled, "relative error"),
    ("fftconv_variant", lambda u, k: u[..., :-1], "has shape"),
]


def test_every_exercise_has_a_chapter_solution_and_checker():
    assert {e.chapter for e in ex.exercises()} == {1, 2, 3, 4, 5, 6}
    for chapter in range(1, 7):
        assert 2 <= len(ex.exercises(chapter)) <= 4
    for name, e in EXERCISES.items():
        assert e.check is getattr(ex, f"check_{name}")
        assert e.solution is getattr(ex, f"solution_{name}")
    tested = {name for name, _, _ in WRONG}
    tested |= {e.name for e in ex.exercises(6)}  # chapter 06's live in test_exercises_ch06.py
    missing = set(EXERCISES) - tested
    assert not missing, f"exercises without a wrong-answer test: {missing}"


@pytest.mark.parametrize("module", CHAPTERS, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_registry_lists_every_chapter_pair_exactly_once(module):
    """A check_<name>/solution_<name> pair that a chapter module forgets to put in its
    EXERCISES (or puts twice, or under another chapter) fails here."""
    chapter = int(module.__name__[-2:])
    checks = {n.removeprefix("check_") for n in vars(module) if n.startswith("check_")}
    solutions = {n.removeprefix("solution_") for n in vars(module) if n.startswith("solution_")}
    assert checks <= solutions, f"checkers without a reference solution: {checks - solutions}"
    registered = [e.name for e in module.EXERCISES]
    assert sorted(registered) == sorted(checks), "every pair registered, each exactly once"
    for e in module.EXERCISES:
        assert e.chapter == chapter
        assert e.check is getattr(module, f"check_{e.name}")
        assert e.solution is getattr(module, f"solution_{e.name}")
        assert EXERCISES[e.name] is e  # and the package registry holds it
    assert [e for e in EXERCISES.values() if e.chapter == chapter] == list(module.EXERCISES)


def test_registry_refuses_a_name_twice():
    from hyena_lab.exercises import _registry, ch01

    with pytest.raises(ValueError, match="'toeplitz_product' is registered twice"):
        _registry([ch01, ch01])


@pytest.mark.parametrize("name", list(EXERCISES))
def test_reference_solution_passes(name):
    result = EXERCISES[name].check(_answer(name))
    assert isinstance(result, CheckResult)
    assert result.passed, str(result)
    assert bool(result) and str(result).startswith(f"PASS · {name}: ")
    assert result.exercise == name  # the checker reports under its registered name


@pytest.mark.parametrize(
    ("name", "wrong", "match"), WRONG, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(WRONG)]
)
def test_wrong_answer_fails_and_says_why(name, wrong, match):
    result = EXERCISES[name].check(wrong)
    assert not result.passed, f"{name} accepted a wrong answer: {result}"
    assert not bool(result) and str(result).startswith(f"NOT YET · {name}: ")
    assert re.search(match, result.message), result.message


def test_checkers_do_not_touch_the_global_rng():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    for name in ("hyena_recurrence", "constant_gates_filter", "s4d_kernel"):
        EXERCISES[name].check(_answer(name))
    assert torch.equal(torch.rand(3), expected)


def test_student_inputs_are_copies():
    def mutating(u, k):  # a student function that writes into its arguments
        y = ex.solution_causal_fftconv(u, k)
        u.zero_()
        k.zero_()
        return y

    assert ex.check_causal_fftconv(mutating).passed


def test_fft_padding_counterexample_part():
    full = ex.check_fft_padding(ex.solution_fft_padding, ex.solution_padding_counterexample)
    assert full.passed and "break N = 2L - 2" in full.message
    assert "counterexample function" in ex.check_fft_padding(ex.solution_fft_padding).message
    weak = ex.check_fft_padding(ex.solution_fft_padding, _no_counterexample)
    assert not weak.passed and "still give the causal result" in weak.message
    bad = ex.check_fft_padding(ex.solution_fft_padding, lambda L: torch.zeros(L))
    assert not bad.passed and "pair (u, h)" in bad.message


def test_crossover_on_a_real_measurement():
    from hyena_lab.experiments.conv_costs import measure_conv_costs

    costs = measure_conv_costs([4, 8, 16], channels=2, rounds=1, point_s=0.01, progress=False)
    res = costs["results"]
    common = [L for L in res["fftconv"]["L"] if L in res["direct_conv"]["L"]]
    t = {m: dict(zip(res[m]["L"], res[m]["seconds"], strict=True)) for m in res}
    answer = ex.solution_crossover_length(
        common, [t["fftconv"][L] for L in common], [t["direct_conv"][L] for L in common]
    )
    assert answer is None or answer in common


@pytest.mark.parametrize("stem", ["03_implicit_filters"])
def test_graded_stubs_are_numbered_in_registry_order(stem):
    """Chapter 3: the n-th item of the notebook's exercise list, the cell headed "Exercise n"
    and the n-th exercise of the registry (what chapter 0 lists) name the same checker."""
    from pathlib import Path

    source = (Path(__file__).parents[1] / "notebooks" / f"{stem}.py").read_text()
    names = [e.name for e in ex.exercises(int(stem[:2]))]
    assert re.findall(r"^check_(\w+)\(", source, flags=re.MULTILINE) == names
    listing = source[source.index("## Exercises") : source.index("### Check your answers")]
    items = re.split(r"^# \d\. ", listing, flags=re.MULTILINE)[1:]
    headed = re.split(r"\*\*Exercise \d", source)[1:]
    assert len(items) == len(headed) == len(names)
    for n, name in enumerate(names):
        assert f"check_{name}`" in items[n], f"item {n + 1} of the list should grade {name}"
        assert f"check_{name}(" in headed[n], f"'Exercise {n + 1}' should call check_{name}"


def test_exercises_listing_and_solutions():
    assert [e.name for e in ex.exercises(1)] == [
        "toeplitz_product",
        "fft_padding",
        "crossover_length",
        "causal_fftconv",
    ]
    source = ex.show_solution("causal_fftconv")
    assert "def solution_causal_fftconv" in source
    # shown as code, not as an escaped one-line string: lines in a terminal, highlighted Python
    # (a fenced block) in JupyterLab and the book
    assert repr(source) == str(source) and "\\n" not in repr(source)
    assert source._repr_markdown_().startswith("```python\ndef solution_causal_fftconv")
    with pytest.raises(KeyError, match="no exercise 'nope'"):
        ex.show_solution("nope")
    with pytest.raises(ValueError, match="chapter must be one of 1-6"):
        ex.exercises(9)


def test_paper_figure_numbers_are_consistent():
    data = ex.PAPER_FIGURE_4_3_MS
    assert len(data["lengths"]) == len(data["hyena"]) == len(data["flash_attention"])
    speedups = ex.solution_published_speedups()
    assert speedups[8192] == pytest.approx(1.4, rel=0.01)
    assert speedups[65536] == pytest.approx(11.4, rel=0.01)


def test_case_accepts_answers_in_any_reasonable_type():
    case = Case("L=3")
    assert case.integer(5.0, "N") == 5 and case.integer(np.int64(5), "N") == 5
    assert case.integer(torch.tensor(5), "N") == 5
    assert case.number(torch.tensor(0.5), "x") == 0.5 and case.number(np.float32(2), "x") == 2.0
    for bad, method in ((5.5, case.integer), ("5", case.integer), ("high", case.number)):
        with pytest.raises(Wrong, match=r"return x.*got .* \(L=3\)"):
            method(bad, "x")


def test_case_names_the_input_and_the_known_wrong_shape():
    case = Case("u of shape (4,)")
    with pytest.raises(Wrong, match=r"^keep 4 \(u of shape \(4,\)\)$"):
        case.tensor(torch.zeros(7), (4,), "y", {(7,): "keep 4"})
    with pytest.raises(Wrong, match=r"y has shape \(5,\), expected \(4,\)"):
        case.tensor(torch.zeros(5), (4,), "y", {(7,): "keep 4"})
    with pytest.raises(Wrong, match="holds NaN"):
        case.tensor(torch.full((4,), float("nan")), (4,))
    with pytest.raises(Wrong, match=r"must return a pair \(u, h\), got list"):
        case.pair([1, 2], "(u, h)")


def test_every_public_name_is_there_and_diagnose_says_the_first_mistake_that_holds():
    assert all(hasattr(ex, name) for name in ex.__all__)
    assert {f"{kind}_{n}" for n in EXERCISES for kind in ("check", "solution")} <= set(ex.__all__)
    case = Case("L=3")
    case.diagnose({"not this": False})  # nothing holds: no failure
    with pytest.raises(Wrong, match=r"^second \(L=3\)$"):
        case.diagnose({"first": False, "second": True, "third": True})
    assert case.expect(torch.ones(2), torch.ones(2), {"never": True})  # right: no diagnosis
    assert not case.expect(torch.ones(2), torch.zeros(2), {"no": False})  # wrong, unexplained
    with pytest.raises(Wrong, match=r"^yes \(L=3\)$"):
        case.expect(torch.ones(2), torch.zeros(2), {"yes": True})


def test_case_call_passes_copies_of_tensors_and_lists_of_tensors():
    x, xs = torch.zeros(3), [torch.zeros(2)]

    def mutating(a, b):
        a.add_(1)
        b[0].add_(1)
        b.append(None)
        return "ok"

    assert Case("here").call(mutating, x, xs) == "ok"
    assert torch.equal(x, torch.zeros(3)) and len(xs) == 1 and torch.equal(xs[0], torch.zeros(2))


def test_s4d_mistakes_are_far_from_the_right_kernel():
    """check_s4d_kernel recognises the Euler and the shifted kernel within 1e-6: both must lie
    far (> 3e-2, as its comment says) from the right kernel on the checker's inputs."""
    from hyena_lab.checks import rel_err
    from hyena_lab.exercises.ch03 import s4d_system

    assert ex.check_s4d_kernel(_s4d_euler).message.startswith("B_bar = dt * B is the Euler")
    _, A, C, dt = s4d_system()
    for L in (7, 40, 1):
        right = ex.solution_s4d_kernel(A, C, dt, L)
        assert rel_err(_s4d_euler(A, C, dt, L), right) > 3e-2
        if L > 1:
            assert rel_err(right[:, :-1], right[:, 1:]) > 3e-2
