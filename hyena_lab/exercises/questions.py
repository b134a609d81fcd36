"""The quiz questions of every chapter, as data (the mechanism is :mod:`.quizzes`).

``QUESTIONS`` maps a chapter number to its list of entries, in order; entry ``n`` (from 1)
becomes the question ``"ch<chapter>-q<n>"``. Each entry is a dict with

* ``section``: where the paper says it (e.g. ``"Sec. 3.1, Def. 3.1"``), and which part of the
  chapter teaches it;
* ``prompt`` and ``explanation`` (shown with a right answer): markdown, ``$math$`` allowed;
* either ``options``: 3-5 ``(text, feedback)`` pairs, the text plain (radio buttons typeset no
  math), the feedback naming the misconception that the option stands for, and ``None`` as the
  feedback of the one right option;
* or a numeric answer: ``value``, ``tolerance`` (absolute), optional ``unit``, ``traps`` (typical
  wrong values with their feedback) and a ``hint`` for any other wrong value.

Every statement must be true to the paper and to what its chapter teaches, and every number
must come from the chapter, its records or the package: ``tests/test_quiz.py`` recomputes each
numeric answer and the quoted numbers from the package, not from these constants. The entries
live in four modules, by chapter, to keep each under the handbook's size limit.
"""

from .questions_a import CHAPTER_1, CHAPTER_2
from .questions_b import CHAPTER_3, CHAPTER_4
from .questions_c import CHAPTER_5, CHAPTER_7, CHAPTER_8
from .questions_d import CHAPTER_6

__all__ = ["QUESTIONS"]

#: The questions of every chapter that has a quiz.
QUESTIONS: dict[int, list[dict]] = {
    1: CHAPTER_1,
    2: CHAPTER_2,
    3: CHAPTER_3,
    4: CHAPTER_4,
    5: CHAPTER_5,
    6: CHAPTER_6,
    7: CHAPTER_7,
    8: CHAPTER_8,
}
