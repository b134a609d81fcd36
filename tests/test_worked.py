"""The worked solutions of the open exercise parts (hyena_lab.exercises.worked, issue 20).

Every open part of the chapters' exercise sections has an entry; its question is quoted from the
chapter; ``solve(fast=True)`` is deterministic; ``answer(results)`` quotes only numbers that come
from ``results`` (math, code and citations aside) and leaves no placeholder; and the claims the
answers make about signs and orderings hold on the fast results (asserted per solution below).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import torch

from hyena_lab.exercises import worked_ch04, worked_ch07
from hyena_lab.exercises.worked import WORKED, WorkedSolution, worked_solution, worked_solutions

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

#: Every open part of the exercise sections of chapters 0-5, 7 and 8 (chapter 6 is being
#: written): the parts a checker cannot grade. A new open question needs an entry here and in
#: ``WORKED``.
OPEN_PARTS = [
    "ch00_ex1",
    "ch00_ex2",
    "ch01_ex1",
    "ch01_ex3",
    "ch02_ex1",
    "ch03_ex1",
    "ch03_ex2",
    "ch03_ex3",
    "ch04_ex1",
    "ch04_ex2",
    "ch04_ex3",
    "ch04_ex5",
    "ch05_ex3",
    "ch05_ex4",
    "ch05_ex5",
    "ch05_ex6",
    "ch06_ex3",
    "ch06_ex4",
    "ch07_ex1",
    "ch07_ex2",
    "ch07_ex3",
    "ch08_ex1",
    "ch08_ex2",
    "ch08_ex3",
]


pytestmark = pytest.mark.usefixtures("one_thread")  # small tensors: no OpenMP contention


@pytest.fixture(scope="module")
def fast_results(one_thread) -> dict[str, dict]:
    """``solve(fast=True)`` of every worked solution, computed once for the module."""
    return {name: w.solve(fast=True) for name, w in WORKED.items()}


# --- the registry ---------------------------------------------------------------------------------


def test_every_open_part_has_a_worked_solution():
    assert list(WORKED) == OPEN_PARTS
    assert worked_solution("ch04_ex2") is WORKED["ch04_ex2"]
    assert [w.name for w in worked_solutions(4)] == ["ch04_ex1", "ch04_ex2", "ch04_ex3", "ch04_ex5"]
    with pytest.raises(KeyError, match="no worked solution 'ch09_ex1'; known: ch00_ex1"):
        worked_solution("ch09_ex1")
    with pytest.raises(ValueError, match="chapter must be one of"):
        worked_solutions(9)


def test_a_name_must_match_its_chapter_and_exercise():
    with pytest.raises(ValueError, match="is named 'ch01_ex2', got 'ch01_ex3'"):
        WorkedSolution("ch01_ex3", 1, 2, "?", lambda fast=False: {}, lambda r: "")


def _prose(text: str) -> str:
    """Markdown or a notebook's comment lines as one line of words (``# `` prefixes dropped)."""
    lines = [re.sub(r"^#\s?", "", line) for line in text.splitlines()]
    return " ".join(" ".join(lines).split())


@pytest.mark.parametrize("name", OPEN_PARTS)
def test_the_question_is_quoted_from_its_chapter(name):
    w = WORKED[name]
    (source,) = NOTEBOOKS.glob(f"{w.chapter:02d}_*.py")
    text = _prose(source.read_text())
    start = max(text.rfind("## Exercises"), text.rfind("**Exercises**"))
    assert start >= 0, f"{source.name} has no exercise section"
    exercises = text[start:]
    assert _prose(w.question) in exercises, f"{name}: question not found in {source.name}"


# --- the answers quote the results ----------------------------------------------------------------

#: Words after which a number is a citation or a name, not a result: "Sec. 3.2", "chapter 4",
#: "Table C.1", "exercise 2", "Algorithm 1".
CITATION = re.compile(
    r"\b(?:Sec\.|Section|Sections|Table|Tables|App\.|Appendix|Fig\.|Figure|eq\.|Definition|"
    r"Algorithm|chapter|chapters|Chapter|exercise|issue|Theorem|Thm\.|layer|layers)\s+"
    r"[A-Z]?\d+(?:\.\d+)?(?:\s*(?:,|-|and|or)\s*[A-Z]?\d+(?:\.\d+)?)*"
)
NUMBER = re.compile(r"(?<![\w.])(?<![A-Za-z]-)\d[\d,]*(?:\.\d+)?(?:e[+-]?\d+)?")
#: Scalings an answer may apply to a result when it prints it (percent, K, milli, micro...).
SCALES = (1.0, 100.0, 1 / 1024, 1e-3, 1e3, 1e6, 1e9, 1e12)


def _numbers_in(results, out: set[str] | None = None) -> set[str]:
    """Every way the numbers in ``results`` (values, number keys, numbers inside strings) may be
    printed: plain, with thousands separators, fixed 0-4 decimals, scientific, scaled by
    :data:`SCALES`."""
    out = set() if out is None else out
    if isinstance(results, dict):
        for key, value in results.items():
            _numbers_in(key, out)
            _numbers_in(value, out)
    elif isinstance(results, (list, tuple)):
        for value in results:
            _numbers_in(value, out)
    elif isinstance(results, str):
        out.update(m.replace(",", "") for m in NUMBER.findall(results))
    elif isinstance(results, (int, float)) and not isinstance(results, bool):
        for scale in SCALES:
            v = abs(float(results)) * scale  # a sign may be said in words
            if not math.isfinite(v):
                continue
            out.update({f"{v:.{d}f}" for d in range(5)} | {f"{v:.{d}e}" for d in range(3)})
            out.add(f"{v:g}")
            if v == int(v):
                out.add(str(int(v)))
    return out


def _numbers_quoted(answer: str) -> list[str]:
    """The numbers of an answer's prose: math ($...$), code (`...`) and citations removed."""
    prose = re.sub(r"\$\$.*?\$\$|\$[^$]*\$|`[^`]*`", " ", answer, flags=re.S)
    prose = CITATION.sub(" ", prose)
    return [m.replace(",", "") for m in NUMBER.findall(prose)]


def test_the_number_check_can_fail():
    quoted = _numbers_quoted("Hyena reaches 97.2% at 64K (Sec. 4.1, Tables 4.2 and C.1); $L = 3$.")
    assert quoted == ["97.2", "64"]
    assert "97.2" in _numbers_in({"acc": 0.972}) and "64" in _numbers_in({"L": 65536})
    assert "97.3" not in _numbers_in({"acc": 0.972})


@pytest.mark.parametrize("name", OPEN_PARTS)
def test_every_number_of_an_answer_comes_from_its_results(name, fast_results):
    results = fast_results[name]
    answer = WORKED[name].answer(results)
    allowed = _numbers_in(results)
    typed = [n for n in _numbers_quoted(answer) if n not in allowed]
    assert not typed, f"{name}: numbers not formatted from results: {typed}"


@pytest.mark.parametrize("name", OPEN_PARTS)
def test_an_answer_has_no_placeholder_and_names_a_misconception(name, fast_results):
    answer = WORKED[name].answer(fast_results[name])
    prose = re.sub(r"\$\$.*?\$\$|\$[^$]*\$|`[^`]*`", " ", answer, flags=re.S)
    assert "{" not in prose and "}" not in prose, f"{name}: an unformatted placeholder"
    for bad in (r"\bNone\b", r"\bnan\b", r"\binf\b", "TODO", "XXX"):
        assert not re.search(bad, prose), (name, bad)
    assert "misconception" in answer and "Sec." in answer + WORKED[name].paper, name


@pytest.mark.parametrize("name", OPEN_PARTS)
def test_a_figure_is_drawn_from_the_results_with_labelled_axes(name, fast_results):
    w = WORKED[name]
    if w.figure is None:
        pytest.skip("no figure for this answer")
    fig = w.figure(fast_results[name])
    for ax in fig.axes:
        if ax.get_label() == "<colorbar>" or not (ax.get_visible() and ax.has_data()):
            continue
        twins = ax.get_shared_x_axes().get_siblings(ax)  # a twinx axis shares its x label
        assert any(a.get_xlabel() for a in twins) and ax.get_ylabel(), (name, ax.get_title())


# --- deterministic --------------------------------------------------------------------------------


def _same(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.mark.parametrize(
    "name",
    [
        n
        for n in OPEN_PARTS
        if n not in ("ch04_ex1", "ch04_ex2", "ch04_ex3", "ch07_ex2", "ch07_ex3")
    ],
)
def test_a_solver_gives_the_same_results_twice(name, fast_results):
    assert _same(WORKED[name].solve(fast=True), fast_results[name]), name


def test_train_ahead_keeps_what_the_solutions_train(monkeypatch):
    """``train_ahead`` trains each model of ``models_used`` once (here in-process, jobs=1) and
    ``trained`` then returns the kept result without training again."""
    monkeypatch.setattr(worked_ch04, "_TRAINED", {})
    calls = []
    monkeypatch.setattr(worked_ch04, "_train", lambda key: calls.append(key) or ("m", key))
    worked_ch04.train_ahead(fast=True, jobs=1)
    used = worked_ch04.models_used(True)
    assert calls == used and len(set(used)) == 5
    worked_ch04.train_ahead(fast=True, jobs=1)  # nothing left to train
    assert calls == used
    s = worked_ch04._setting(True)
    asked = [worked_ch04.trained("hyena", 16, True), worked_ch04.trained("conv", 16, True),
             worked_ch04.trained("hyena", 16, True, short_filter_order=1),
             *(worked_ch04.trained("hyena", 30, True, d_model=d, steps=s["short_steps"])
               for d in (s["d_model"], s["wide"]))]  # fmt: skip
    assert calls == used and {k for _, k in asked} == set(used)


def test_the_trainings_are_deterministic():
    """The trained models (cached for the solutions) come out the same when trained again."""
    cached = worked_ch04.trained("conv", 16, True)[1]
    again = worked_ch04._train(("conv", 16, True, 16, None, None))[1]
    assert (
        again.valid_accuracy == cached.valid_accuracy
        and again.test_accuracy == cached.test_accuracy
    )
    lm = worked_ch07.short_lm.__wrapped__(True)[1]
    assert lm.test_loss == worked_ch07.short_lm(True)[1].test_loss


# --- the claims the answers make ------------------------------------------------------------


@pytest.mark.parametrize("name", OPEN_PARTS)
def test_the_claims_of_an_answer_hold_on_the_fast_results(name, fast_results):
    """Each answer's claims about signs and orderings (``WorkedSolution.claims``), which
    ``course/solutions.py`` asserts again on the full results."""
    w = WORKED[name]
    assert w.claims is not None, f"{name} asserts none of its claims"
    w.claims(fast_results[name])


def test_a_claim_that_does_not_hold_fails_with_its_words(fast_results):
    results = {**fast_results["ch08_ex2"], "window_ratio": 1.5}
    with pytest.raises(AssertionError, match="the answer claims 'uniform gaps put queries"):
        WORKED["ch08_ex2"].claims(results)
    results = {**fast_results["ch04_ex1"]}
    results["conv"] = {**results["conv"], "A_difference": 1e-3}
    with pytest.raises(AssertionError, match="A = S_h is the same for every input"):
        WORKED["ch04_ex1"].claims(results)
