"""The names an LMS shows for a quiz: one label per quiz, the same in every export.

A quiz's title reaches Moodle category paths and question names and Canvas column
titles, and each of those reads some characters as syntax. The label is made once
here, as plain one-line text that is safe in all of them; each format then escapes it
the way its own importer unescapes (gift.py, moodle.py, gradebook.py).
"""

from __future__ import annotations

import re

from ..questions.records import QuizInfo

# Moodle and Canvas both keep names to 255 characters; a title is cut well before that
# so the " [quizgen N ...]" tail always fits.
TITLE_LIMIT = 180
NAME_PART_LIMIT = 100


def plain(text: str, limit: int = NAME_PART_LIMIT) -> str:
    """One line of visible text.

    White space (line breaks included) collapses to single spaces, since every target
    is a one-line name. Angle brackets become ‹ ›: Moodle cleans names as PARAM_TEXT,
    which strips anything that looks like a tag. '&&' is split with a word joiner, since
    GIFT's importer turns '&&058;' and its kin into punctuation.
    """
    text = " ".join(text.split())
    text = text.replace("<", "‹").replace(">", "›")
    text = re.sub(r"&(?=&)", "&\u2060", text)
    if len(text) > limit:
        text = text[:limit - 1].rstrip() + "…"
    return text


def quiz_label(info: QuizInfo, detail: str | None = None) -> str:
    """'<title> [quizgen 3]' (or '[quizgen 3 · Q2]'): unique per quiz, and never ending in
    '(digits)', which Canvas reads as an assignment id."""
    tail = f"quizgen {info.id}" + (f" · {detail}" if detail else "")
    return f"{plain(info.title, TITLE_LIMIT)} [{tail}]"


def question_name(slot: int, part: int | None, student: str | None) -> str:
    """'Q4 · 20260001', or 'Q4.2 · 20260001' for part 2 asked on its own; 'shared' for the shared copy."""
    number = f"Q{slot}" if part is None else f"Q{slot}.{part}"
    return f"{number} · {plain(student) if student is not None else 'shared'}"


def variant_group(student: str | None) -> str:
    """The category of one student's variant: 'student 20260001' (or 'shared')."""
    return "shared" if student is None else f"student {plain(student)}"
