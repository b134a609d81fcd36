"""A quiz at the end of every chapter: conceptual questions with immediate feedback (issue 20).

The questions themselves are data (:mod:`.questions`); this module turns them into
:class:`Question` objects, decides right and wrong in one place (:func:`check_answer`, which
returns the exercises' :class:`~hyena_lab.exercises.feedback.CheckResult`: ``PASS`` with the
explanation, ``NOT YET`` with the misconception that the chosen option stands for), and builds
the ipywidgets quiz a chapter shows with ``quiz(7)``. :func:`quiz_text` prints the questions
without answers (for paper), :func:`answer_key` the answers with every explanation (for
teachers).

A question is either multiple choice (3-5 options, exactly one right, feedback for every wrong
one) or numeric (a count such as FLOPs or bytes, with a stated tolerance; typical wrong values
carry their own feedback). Option labels are plain text, because radio buttons cannot typeset
math; prompts, feedback and explanations are markdown and may contain ``$math$``.
"""

from __future__ import annotations

import html
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..course import CHAPTERS as COURSE_CHAPTERS
from .feedback import CheckResult
from .questions import QUESTIONS

__all__ = [
    "QUIZ_CHAPTERS", "Question", "answer_key", "check_answer", "questions", "quiz", "quiz_text",
]  # fmt: skip

#: CSS classes of the feedback area: a passed check, a failed one (the browser tests read them).
PASS_CLASS, NOT_YET_CLASS = "hyena-quiz-pass", "hyena-quiz-notyet"
#: Bounds on the number of options of a multiple-choice question (issue 20: 3 to 5).
MIN_OPTIONS, MAX_OPTIONS = 3, 5
LETTERS = "abcde"


@dataclass(frozen=True)
class Question:
    """One quiz question, multiple choice or numeric.

    ``id`` is ``"ch<chapter>-q<number>"``; ``prompt``, ``explanation`` (shown on a right answer)
    and ``feedback`` are markdown; ``section`` cites the paper (e.g. ``"Sec. 3.1, Def. 3.1"``).
    Multiple choice: ``options`` (plain text), ``answer`` (index of the right one), ``feedback``
    (one per option, ``""`` for the right one). Numeric: ``value`` within ``tolerance``
    (absolute), in ``unit``; ``traps`` pairs typical wrong values with their feedback, ``hint``
    answers any other wrong value.
    """

    id: str
    chapter: int
    prompt: str
    section: str
    explanation: str
    options: tuple[str, ...] = ()
    answer: int | None = None
    feedback: tuple[str, ...] = ()
    value: float | None = None
    tolerance: float = 0.0
    unit: str = ""
    traps: tuple[tuple[float, str], ...] = ()
    hint: str = ""

    def __post_init__(self) -> None:
        if not re.fullmatch(rf"ch{self.chapter}-q[1-9]\d*", self.id):
            raise ValueError(f"question id must be 'ch{self.chapter}-q<n>', got {self.id!r}")
        for name in ("prompt", "section", "explanation"):
            if not (isinstance(getattr(self, name), str) and getattr(self, name).strip()):
                raise ValueError(f"{self.id}: {name} must be a non-empty string")
        (self._check_numeric if self.numeric else self._check_choice)()

    def _check_choice(self) -> None:
        n = len(self.options)
        if not MIN_OPTIONS <= n <= MAX_OPTIONS:
            raise ValueError(f"{self.id}: {MIN_OPTIONS}-{MAX_OPTIONS} options expected, got {n}")
        if len(set(self.options)) != n or any("$" in o or not o.strip() for o in self.options):
            raise ValueError(f"{self.id}: options must be distinct, non-empty plain text (no $)")
        if not (isinstance(self.answer, int) and 0 <= self.answer < n):
            raise ValueError(f"{self.id}: answer must be an option index 0-{n - 1}")
        if len(self.feedback) != n or self.feedback[self.answer] != "":
            raise ValueError(f"{self.id}: one feedback per option expected, '' for the right one")
        for i, text in enumerate(self.feedback):
            if i != self.answer and (not text.strip() or text == self.explanation):
                raise ValueError(f"{self.id}: wrong option {LETTERS[i]} needs its own feedback")

    def _check_numeric(self) -> None:
        if self.options or self.answer is not None or self.feedback:
            raise ValueError(f"{self.id}: a numeric question has no options")
        if not (math.isfinite(self.value) and math.isfinite(self.tolerance)):
            raise ValueError(f"{self.id}: value and tolerance must be finite")
        if self.tolerance < 0 or not self.hint.strip():
            raise ValueError(f"{self.id}: tolerance must be >= 0 and a hint must be given")
        for trap, text in self.traps:
            if abs(trap - self.value) <= 2 * self.tolerance or not text.strip():
                raise ValueError(f"{self.id}: trap {trap} is within tolerance or has no feedback")

    @property
    def numeric(self) -> bool:
        """Whether the answer is a number (else an option index)."""
        return self.value is not None


def _build(chapter: int, number: int, entry: dict[str, Any]) -> Question:
    """A :class:`Question` from one entry of :data:`.questions.QUESTIONS`: options are
    ``(text, feedback)`` pairs whose one right option has feedback ``None``."""
    qid, entry = f"ch{chapter}-q{number}", dict(entry)
    try:
        if "options" not in entry:
            traps = tuple((float(v), text) for v, text in entry.pop("traps", ()))
            return Question(qid, chapter, traps=traps, **entry)
        pairs = entry.pop("options")
        right = [i for i, (_, text) in enumerate(pairs) if text is None]
        if len(right) != 1:
            raise ValueError(f"{qid}: exactly one option must be right (feedback None)")
        texts, feedback = tuple(t for t, _ in pairs), tuple(f or "" for _, f in pairs)
        return Question(qid, chapter, options=texts, answer=right[0], feedback=feedback, **entry)
    except TypeError as err:  # a misspelt key in the data
        raise ValueError(f"{qid}: {err}") from None


#: Every chapter's questions, in order, built (and validated) once at import.
_QUIZ: dict[int, tuple[Question, ...]] = {
    chapter: tuple(_build(chapter, i, e) for i, e in enumerate(entries, start=1))
    for chapter, entries in QUESTIONS.items()
}
_BY_ID: dict[str, Question] = {q.id: q for qs in _QUIZ.values() for q in qs}
#: The chapters that have a quiz, in teaching order.
QUIZ_CHAPTERS: tuple[int, ...] = tuple(sorted(_QUIZ))


def questions(chapter: int) -> list[Question]:
    """The questions of one chapter, in order; a ``ValueError`` lists the chapters that have a
    quiz when ``chapter`` is not one of them."""
    try:
        known = not isinstance(chapter, bool) and chapter in _QUIZ
    except TypeError:  # unhashable
        known = False
    if not known:
        listed = ", ".join(map(str, QUIZ_CHAPTERS))
        raise ValueError(f"no quiz for chapter {chapter!r}; chapters with a quiz: {listed}")
    return list(_QUIZ[chapter])


def _question(question_id: str) -> Question:
    if not isinstance(question_id, str) or question_id not in _BY_ID:
        ranges = "; ".join(f"ch{c}-q1 .. ch{c}-q{len(qs)}" for c, qs in _QUIZ.items())
        raise ValueError(f"unknown question id {question_id!r}; expected one of {ranges}")
    return _BY_ID[question_id]


def _close(x: float, target: float, tolerance: float) -> bool:
    """``|x - target| <= tolerance``, with float slack for exact counts (tolerance 0)."""
    return abs(x - target) <= tolerance + 1e-9 * max(1.0, abs(target))


def _as_number(q: Question, answer: Any) -> float:
    x = None
    if not isinstance(answer, (bool, str)):
        try:  # int, float, numpy and one-element torch numbers convert; None, lists do not
            x = float(answer)
        except (TypeError, ValueError, RuntimeError):
            x = None
    if x is None or not math.isfinite(x):
        raise ValueError(f"{q.id} expects a finite number{_unit(q)}, got {answer!r:.60}")
    return x


def _as_index(q: Question, answer: Any) -> int:
    try:
        index = None if isinstance(answer, bool) else operator.index(answer)
    except TypeError:
        index = None
    if index is None or not 0 <= index < len(q.options):
        raise ValueError(
            f"{q.id} has {len(q.options)} options: answer with an option index 0-"
            f"{len(q.options) - 1} (0 is (a)), got {answer!r}"
        )
    return index


def check_answer(question_id: str, answer: Any) -> CheckResult:
    """The verdict on ``answer`` to question ``question_id`` (e.g. ``"ch3-q2"``): an option index
    (0 for (a)) or, for a numeric question, a number. ``PASS`` carries the explanation,
    ``NOT YET`` the feedback of the misconception the answer stands for. Raises ``ValueError``
    for an unknown id, an index out of range or a number that is not one."""
    q = _question(question_id)
    if q.numeric:
        x = _as_number(q, answer)
        if _close(x, q.value, q.tolerance):
            return CheckResult(q.id, True, q.explanation)
        for trap, text in q.traps:
            if _close(x, trap, max(q.tolerance, 1e-3 * abs(trap))):
                return CheckResult(q.id, False, text)
        return CheckResult(q.id, False, f"{_number(x)}{_unit(q, ' ')} is not it. {q.hint}")
    index = _as_index(q, answer)
    right = index == q.answer
    return CheckResult(q.id, right, q.explanation if right else q.feedback[index])


# ---------------------------------------------------------------------------------------------
# text: markdown for paper and for teachers, and a little markdown -> HTML for the widgets
def _number(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:.4g}"


def _unit(q: Question, sep: str = " in ") -> str:
    return f"{sep}{q.unit}" if q.unit else ""


def _title(chapter: int) -> str:
    titles = {c.number: c.title for c in COURSE_CHAPTERS}
    return f"chapter {chapter}, {titles[chapter]}" if chapter in titles else f"chapter {chapter}"


def _how_to_answer(q: Question) -> str:
    if q.tolerance == 0 and float(q.value).is_integer():
        return f"Answer with a whole number{_unit(q)}."
    return f"Answer with a number{_unit(q)}, to within ±{_number(q.tolerance)}."


def quiz_text(chapter: int) -> str:
    """The chapter's questions as markdown, without answers or feedback (for printing)."""
    lines = [f"### Quiz: {_title(chapter)}", ""]
    for n, q in enumerate(questions(chapter), start=1):
        lines += [f"**{n}.** {q.prompt} *({q.section})*", ""]
        if q.numeric:
            lines += [_how_to_answer(q), ""]
        else:
            lines += [f"- ({LETTERS[i]}) {text}" for i, text in enumerate(q.options)] + [""]
    return "\n".join(lines)


def answer_key(chapter: int) -> str:
    """The chapter's answers as markdown, for teachers: the right option or value with its
    explanation, and the feedback every wrong option (or typical wrong value) gets."""
    lines = [f"### Answer key: {_title(chapter)}", ""]
    for n, q in enumerate(questions(chapter), start=1):
        if q.numeric:
            tol = f" (±{_number(q.tolerance)})" if q.tolerance else ""
            lines += [f"**{n}.** {_number(q.value)}{_unit(q, ' ')}{tol}. {q.explanation}", ""]
            lines += [f"- {_number(v)}: {text}" for v, text in q.traps]
            lines += [f"- any other number: {q.hint}", ""]
        else:
            right = f"({LETTERS[q.answer]}) {q.options[q.answer]}"
            lines += [f"**{n}.** {right}. {q.explanation}", ""]
            lines += [f"- ({LETTERS[i]}) wrong: {text}" for i, text in enumerate(q.feedback)
                      if i != q.answer] + [""]  # fmt: skip
    return "\n".join(lines)


#: Math (``$$...$$``, ``$...$``) and code spans, kept apart from the markdown around them.
_SPANS = re.compile(r"(\$\$.+?\$\$|\$[^$\n]+\$|`[^`\n]+`)", re.S)


def _inline_html(text: str) -> str:
    """Inline markdown -> HTML: code spans, **bold** and *emphasis*; math is escaped for HTML
    and left for MathJax (``HTMLMath``) to typeset."""
    out = []
    for i, part in enumerate(_SPANS.split(text)):
        if i % 2 and part.startswith("`"):
            out.append(f"<code>{html.escape(part[1:-1], quote=False)}</code>")
        elif i % 2:
            out.append(html.escape(part, quote=False))
        else:
            part = html.escape(part, quote=False)
            part = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", part)
            out.append(re.sub(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])", r"<em>\1</em>", part))
    return "".join(out)


def markdown_html(text: str) -> str:
    """Paragraphs (blank-line separated) of inline markdown as HTML, for ``HTMLMath``."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "".join(f"<p>{_inline_html(p)}</p>" for p in paragraphs)


# ---------------------------------------------------------------------------------------------
# the widget
def _parse_number(text: str, unit: str) -> float | None:
    """What a student typed as a float (``1,024``, ``7.1 %``, ``16 GiB`` allowed), else None."""
    text = text.strip()
    if unit and text.endswith(unit):
        text = text[: -len(unit)]
    try:
        return float(text.replace(",", "").replace("_", "").strip())
    except ValueError:
        return None


def _verdict(q: Question, choice: Any) -> tuple[str, str | None]:
    """The feedback HTML and its CSS class for what the widget ``choice`` holds now; no class
    while there is nothing to check yet."""
    if q.numeric:
        x = _parse_number(choice.value, q.unit)
        if x is None or not math.isfinite(x):
            return "<p>Type a number (e.g. 125, 0.25 or 1,024), then press Check.</p>", None
        result = check_answer(q.id, x)
    elif choice.index is None:
        return "<p>Choose one of the options, then press Check.</p>", None
    else:
        result = check_answer(q.id, choice.index)
    label = "PASS" if result else "NOT YET"
    return markdown_html(f"**{label}** · {result.message}"), PASS_CLASS if result else NOT_YET_CLASS


def _show(feedback: Any, text: str, css: str | None) -> None:
    for c in (PASS_CLASS, NOT_YET_CLASS):
        feedback.remove_class(c)
    if css:
        feedback.add_class(css)
    feedback.value = f'<div class="{css or "hyena-quiz-note"}">{text}</div>' if text else ""


def _on(fn: Callable[[], None]) -> Callable[[Any], None]:
    return lambda _event: fn()


def _block(widgets: Any, n: int, q: Question) -> Any:
    """One question: prompt (HTMLMath), the choice (RadioButtons with nothing selected, or a
    Text box for a number), a Check button and the feedback area, in that order."""
    prompt = widgets.HTMLMath(value=markdown_html(f"**{n}.** {q.prompt} *({q.section})*"))
    if q.numeric:
        placeholder = f"a number{_unit(q)}"
        choice = widgets.Text(value="", placeholder=placeholder, continuous_update=True)
    else:
        choice = widgets.RadioButtons(options=list(q.options), index=None,
                                      layout=widgets.Layout(width="auto"))  # fmt: skip
    check = widgets.Button(description="Check", tooltip=f"check your answer to {q.id}")
    feedback = widgets.HTMLMath(value="")
    feedback.add_class("hyena-quiz-feedback")
    check.on_click(_on(lambda: _show(feedback, *_verdict(q, choice))))
    choice.observe(_on(lambda: _show(feedback, "", None)), names="value")  # a new answer
    block = widgets.VBox([prompt, choice, check, feedback])
    block.add_class("hyena-quiz-question")
    return block


def quiz(chapter: int) -> Any:
    """The chapter's quiz as an ipywidgets ``VBox``: a title, then one block per question
    (``children[1:]``), each ``VBox([prompt, choice, check_button, feedback])``. Pressing Check
    shows :func:`check_answer`'s verdict in the feedback area, whose CSS class becomes
    ``hyena-quiz-pass`` or ``hyena-quiz-notyet``; changing the answer clears it."""
    import ipywidgets as widgets  # only the widget needs it; check_answer works without

    qs = questions(chapter)
    title = widgets.HTML(
        f"<strong>Quiz: {html.escape(_title(chapter))}</strong> · {len(qs)} questions: choose "
        "an answer and press Check (the feedback explains, right or wrong)."
    )
    box = widgets.VBox([title, *(_block(widgets, n, q) for n, q in enumerate(qs, start=1))])
    box.add_class("hyena-quiz")
    return box
