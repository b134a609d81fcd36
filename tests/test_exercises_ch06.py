"""Chapter 6's exercise checkers: every reference solution passes, typical wrong answers (the sign
of the exponent, a transposed or missing twiddle, a missing permutation, float32) fail with the
hint that names the mistake, and the chapter's stubs follow the registry's order."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import torch

from hyena_lab import monarch
from hyena_lab.exercises import ch06
from hyena_lab.exercises.feedback import CheckResult
from hyena_lab.monarch_blocks import dft_blocks, fit_dft_blocks

pytestmark = pytest.mark.usefixtures("one_thread")

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "06_fft_matmul.py"
C128 = torch.complex128


# ------------------------------------------------------------------- wrong answers, by exercise
def _four_step(x, a, b, *, T=None, permute=True, dtype=C128):
    """The four-step product with a chosen twiddle array and permutation (a student's variants)."""
    F_a, F_b = monarch.dft_matrix(a, dtype), monarch.dft_matrix(b, dtype)
    X = F_a @ x.to(dtype).reshape(*x.shape[:-1], a, b)
    X = X * (monarch.twiddle(a, b, dtype) if T is None else T.to(dtype))
    X = X @ F_b
    return (X.transpose(-1, -2) if permute else X).reshape(x.shape)


def _fft_no_permutation(x, a, b):
    return _four_step(x, a, b, permute=False)


def _fft_transposed_twiddle(x, a, b):  # the diagonal of T built with index a n2 + k1
    return _four_step(x, a, b, T=monarch.twiddle(b, a).reshape(a, b))


def _fft_no_twiddle(x, a, b):
    return _four_step(x, a, b, T=torch.ones(a, b))


def _fft_conjugate_twiddle(x, a, b):
    return _four_step(x, a, b, T=monarch.twiddle(a, b).conj())


def _fft_complex64(x, a, b):
    return _four_step(x, a, b, dtype=torch.complex64)


def _fft_float32_cast_back(x, a, b):  # computed in complex64, returned as complex128
    return _four_step(x, a, b, dtype=torch.complex64).to(C128)


def _fft_library(x, a, b):  # not the exercise: torch.fft is switched off during the check
    return torch.fft.fft(x)


def _dft_inverse_sign(N):
    return ch06.solution_dft_matrix(N).conj()


def _dft_normalised(N):
    return ch06.solution_dft_matrix(N) / N


def _dft_unitary(N):
    return ch06.solution_dft_matrix(N) / math.sqrt(N)


def _dft_complex64(N):
    return ch06.solution_dft_matrix(N).to(torch.complex64)


def _dft_cosines(N):
    return ch06.solution_dft_matrix(N).real


def _dft_from_one(N):  # indices 1..N instead of 0..N-1
    n = torch.arange(1, N + 1, dtype=torch.float64)
    return torch.polar(torch.ones(N, N, dtype=torch.float64), -2 * math.pi * torch.outer(n, n) / N)


def _flops(formula):
    return lambda fs: formula(math.prod(fs), len(fs), sum(fs))


def _blocks_without_twiddles(a, b):
    return monarch.dft_matrix(b).repeat(a, 1, 1), dft_blocks(a, b)[1]


def _blocks_twiddles_left(a, b):  # diag(T[k1]) F_b instead of F_b diag(T[k1])
    T = monarch.twiddle(a, b)
    return T[:, :, None] * monarch.dft_matrix(b)[None], dft_blocks(a, b)[1]


def _blocks_twiddles_transposed(a, b):
    T = monarch.twiddle(b, a).reshape(a, b)
    return monarch.dft_matrix(b)[None] * T[:, None, :], dft_blocks(a, b)[1]


def _blocks_swapped(a, b):
    L, R = dft_blocks(a, b)
    return R, L


def _blocks_complex64(a, b):
    return tuple(t.to(torch.complex64) for t in dft_blocks(a, b))


WRONG = [
    ("dft_matrix", _dft_inverse_sign, "sign of the exponent"),
    ("dft_matrix", _dft_normalised, "no 1/N"),
    ("dft_matrix", _dft_unitary, "no 1/sqrt"),
    ("dft_matrix", _dft_complex64, "complex64 .*torch.complex128"),
    ("dft_matrix", _dft_cosines, "is real"),
    ("dft_matrix", _dft_from_one, "indices start at 0"),
    ("dft_matrix", lambda N: torch.zeros(N + 1, N + 1, dtype=C128), "has shape"),
    ("dft_matrix", lambda N: [[1]], "must be a torch.Tensor"),
    ("four_step_fft", _fft_no_permutation, "apply P"),
    ("four_step_fft", _fft_transposed_twiddle, "twiddles are transposed"),
    ("four_step_fft", _fft_no_twiddle, "twiddle factors are missing"),
    ("four_step_fft", _fft_conjugate_twiddle, "twiddles have the wrong sign"),
    ("four_step_fft", _fft_complex64, "complex64"),
    ("four_step_fft", _fft_float32_cast_back, "float32 round-off"),
    ("four_step_fft", _fft_library, "torch.fft and monarch.fft are off"),
    ("four_step_fft", lambda x, a, b: monarch.fft(x, (a, b)), "are off during this check"),
    ("four_step_flops", _flops(lambda N, k, s: 8 * N * s), "add the twiddles"),
    ("four_step_flops", _flops(lambda N, k, s: 8 * N * s + 8 * N * (k - 1)), "6 real FLOPs"),
    ("four_step_flops", _flops(lambda N, k, s: 8 * N * s + 6 * N * k), "k - 1 twiddle"),
    ("four_step_flops", _flops(lambda N, k, s: 8 * N * N), "that is the dense"),
    ("four_step_flops", _flops(lambda N, k, s: 2 * N * s + 6 * N * (k - 1)), "8 real FLOPs"),
    ("four_step_flops", lambda fs: "many", "return a number"),
    ("monarch_blocks", _blocks_without_twiddles, "twiddles are missing from L"),
    ("monarch_blocks", _blocks_twiddles_left, "wrong side"),
    ("monarch_blocks", _blocks_twiddles_transposed, "twiddles are transposed"),
    ("monarch_blocks", _blocks_swapped, "L and R are swapped"),
    ("monarch_blocks", _blocks_complex64, "complex64"),
    ("monarch_blocks", lambda a, b: dft_blocks(a, b)[0], "must return a pair"),
]


# ---------------------------------------------------------------------------------- the tests
@pytest.mark.parametrize("exercise", ch06.EXERCISES, ids=lambda e: e.name)
def test_reference_solution_passes(exercise):
    result = exercise.check(exercise.solution)
    assert isinstance(result, CheckResult) and result.passed, str(result)
    assert str(result).startswith(f"PASS · {exercise.name}: ")


@pytest.mark.parametrize(
    ("name", "wrong", "match"), WRONG, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(WRONG)]
)
def test_wrong_answer_fails_and_says_why(name, wrong, match):
    result = getattr(ch06, f"check_{name}")(wrong)
    assert not result.passed, f"{name} accepted a wrong answer: {result}"
    assert str(result).startswith(f"NOT YET · {name}: ")
    assert re.search(match, result.message), result.message


def test_every_exercise_has_a_wrong_answer_test_and_a_registered_pair():
    names = [e.name for e in ch06.EXERCISES]
    assert names == ["dft_matrix", "four_step_fft", "four_step_flops", "monarch_blocks"]
    assert {n for n, _, _ in WRONG} == set(names)
    for e in ch06.EXERCISES:
        assert e.chapter == 6
        assert e.check is getattr(ch06, f"check_{e.name}")
        assert e.solution is getattr(ch06, f"solution_{e.name}")
    checks = {n.removeprefix("check_") for n in vars(ch06) if n.startswith("check_")}
    solutions = {n.removeprefix("solution_") for n in vars(ch06) if n.startswith("solution_")}
    assert checks == solutions == set(names)


def test_a_stub_and_a_value_get_not_yet():
    def stub(*args):
        raise NotImplementedError("your answer here")

    for e in ch06.EXERCISES:
        result = e.check(stub)
        assert not result.passed and "NotImplementedError" in result.message
        assert not e.check(42).passed and "expected your function" in e.check(42).message


def test_transposed_twiddle_is_a_real_mistake_only_when_a_differs_from_b():
    """The mistake the checker names must differ from the right answer by O(1) for a != b (so
    that the checker can tell them apart) and coincide for a == b (T is symmetric there)."""
    x = torch.randn(12, dtype=C128, generator=torch.Generator().manual_seed(0))
    assert ch06.crel(_fft_transposed_twiddle(x, 3, 4), torch.fft.fft(x)) > 0.1
    x16 = torch.randn(16, dtype=C128, generator=torch.Generator().manual_seed(1))
    assert ch06.crel(_fft_transposed_twiddle(x16, 4, 4), torch.fft.fft(x16)) < 1e-14


def test_library_ffts_come_back_after_a_check():
    before = (torch.fft.fft, torch.fft.ifft, torch.fft.rfft, monarch.fft)
    assert not ch06.check_four_step_fft(_fft_library).passed
    assert ch06.check_four_step_fft(ch06.solution_four_step_fft).passed
    assert (torch.fft.fft, torch.fft.ifft, torch.fft.rfft, monarch.fft) == before
    x = torch.randn(8, dtype=C128)
    assert ch06.crel(monarch.fft(x), torch.fft.fft(x)) < 1e-12


def test_rescaled_blocks_pass_the_monarch_check():
    """Any (L, R) whose product is F_N passes, not only the DFT's own blocks: R scaled by a
    diagonal d on its outputs and L by 1 / d on its inputs leave P L P^T R P unchanged."""

    def rescaled(a, b):
        L, R = dft_blocks(a, b)
        g = torch.Generator().manual_seed(a * b)
        d = torch.polar(1 + torch.rand(a, b, generator=g, dtype=torch.float64),
                        torch.rand(a, b, generator=g, dtype=torch.float64))  # fmt: skip
        return L / d[:, None, :], d.mT[:, :, None] * R  # L_k1 diag(1/d[k1]), diag(d[:, n2]) R

    assert ch06.check_monarch_blocks(rescaled).passed


def test_learned_blocks_part():
    fit = fit_dft_blocks(4, 4, seed=0)
    full = ch06.check_monarch_blocks(ch06.solution_monarch_blocks, lambda a, b: (fit.L, fit.R))
    assert full.passed and "learned blocks give F_16" in full.message, full.message
    assert "fit=my_fit" in ch06.check_monarch_blocks(ch06.solution_monarch_blocks).message
    exact = ch06.check_monarch_blocks(ch06.solution_monarch_blocks, dft_blocks)
    assert not exact.passed and "exact blocks, not learned" in exact.message
    short = fit_dft_blocks(4, 4, steps=20, seed=0)  # stopped early: far from F_16
    early = ch06.check_monarch_blocks(ch06.solution_monarch_blocks, lambda a, b: (short.L, short.R))
    assert not early.passed and "train longer" in early.message
    assert short.rel_error > 10 * ch06.LEARNED_TOLERANCE  # the tolerance separates the two
    assert fit.rel_error < ch06.LEARNED_TOLERANCE / 10


def test_checkers_do_not_touch_the_global_rng_and_copy_inputs():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)

    def mutating(x, a, b):  # a student function that writes into its input
        y = ch06.solution_four_step_fft(x, a, b)
        x.zero_()
        return y

    assert ch06.check_four_step_fft(mutating).passed
    for e in ch06.EXERCISES:
        e.check(e.solution)
    assert torch.equal(torch.rand(3), expected)


def test_four_step_flops_message_quotes_a_true_ratio():
    message = ch06.check_four_step_flops(ch06.solution_four_step_flops).message
    ratio = monarch.fft_flops(1024, (2,) * 10) / (5 * 1024 * 10)
    assert f"{ratio:.1f}x" in message and round(ratio, 1) == 4.3


def test_chapter_stubs_follow_the_registry_order():
    """The n-th item of the chapter's exercise list, the cell headed "Exercise n" and the n-th
    registered exercise name the same checker (as chapter 3's test does)."""
    source = NOTEBOOK.read_text()
    names = [e.name for e in ch06.EXERCISES]
    assert re.findall(r"^check_(\w+)\(", source, flags=re.MULTILINE) == names
    listing = source[source.index("## Exercises") : source.index("### Check your answers")]
    items = re.split(r"^# \d\. ", listing, flags=re.MULTILINE)[1:]
    headed = re.split(r"\*\*Exercise \d", source)[1:]
    assert len(items) == len(headed) == len(names)
    for n, name in enumerate(names):
        assert f"check_{name}`" in items[n], f"item {n + 1} of the list should grade {name}"
        assert f"check_{name}(" in headed[n], f"'Exercise {n + 1}' should call check_{name}"
