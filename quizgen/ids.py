"""Reading the quiz ids users type: one parser and one message for every front end
(the store's lookups and the HTTP client alike), importing nothing heavy."""

from __future__ import annotations

from .errors import NotFoundError


def parse_quiz_id(text: str | int) -> int:
    """A quiz id as a positive integer below 2**63 (``#3`` and `` 3 `` are quiz 3)."""
    try:
        value = int(str(text).strip().lstrip("#"))
    except ValueError:
        raise NotFoundError(f"{text!r} is not a quiz id (quiz ids are numbers; see 'quizgen list')") from None
    if value <= 0:
        raise NotFoundError(f"{text!r} is not a quiz id (quiz ids are positive numbers)")
    if value >= 2**63:  # no database holds such an id, and the drivers refuse to send it
        raise NotFoundError(f"there is no quiz {value} (see 'quizgen list')")
    return value
