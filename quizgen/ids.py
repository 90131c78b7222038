"""Reading the quiz ids users type: one parser and one message for every front end
(the store's lookups and the HTTP client alike), importing nothing heavy."""

from __future__ import annotations

import re

from .errors import NotFoundError, clip
from .resources import phrase

_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_FULL_WIDTH = {0xFF10 + d: 0x30 + d for d in range(10)} | {0xFF03: ord("#")}  # as answers take them


def parse_quiz_id(text: str | int) -> int:
    """A quiz id as a positive integer below 2**63 (``#3`` and `` 3 `` are quiz 3). Only
    ASCII and full-width digits, as in answers: Python's int() would also read ``1_0`` as
    10, and digits of other scripts."""
    digits = str(text).translate(_FULL_WIDTH).strip().lstrip("#")
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    elif _DIGITS.fullmatch(digits) or (digits.startswith("-") and _DIGITS.fullmatch(digits[1:])):
        if len(digits.lstrip("-0")) > 19:  # beyond 2**63 (and int() refuses 4,300 digits and more)
            raise NotFoundError(f"there is no quiz {clip(digits, 30)} (see 'quizgen list')")
        value = int(digits)
    else:
        raise NotFoundError(f"{text!r} is not a quiz id (quiz ids are numbers; see 'quizgen list')")
    if value <= 0:
        raise NotFoundError(f"{text!r} is not a quiz id (quiz ids are positive numbers)")
    if value >= 2**63:  # no database holds such an id, and the drivers refuse to send it
        raise NotFoundError(f"there is no quiz {value} (see 'quizgen list')")
    return value


def student_quiz_id(text: str | int) -> int:
    """``parse_quiz_id`` for the student's commands: refused in the student's own words and
    language (data/messages.json), without pointing at the instructor's ``quizgen list``."""
    try:
        return parse_quiz_id(text)
    except NotFoundError:
        shown = clip(str(text).strip(), 30)
        digits = str(text).translate(_FULL_WIDTH).strip().lstrip("#")
        if _DIGITS.fullmatch(digits) and digits.strip("0"):  # a number, just not one of a quiz
            raise NotFoundError(phrase("student_no_quiz", quiz=shown)) from None
        raise NotFoundError(phrase("student_not_quiz_id", given=repr(shown))) from None
