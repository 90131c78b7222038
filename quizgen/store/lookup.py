"""Finding rows by the ids users type: one parser and one message for every command."""

from __future__ import annotations

from typing import Any

from ..errors import NotFoundError
from .tables import Quiz


def parse_quiz_id(text: str | int) -> int:
    try:
        value = int(str(text).strip().lstrip("#"))
    except ValueError:
        raise NotFoundError(f"{text!r} is not a quiz id (quiz ids are numbers; see 'quizgen list')") from None
    if value <= 0:
        raise NotFoundError(f"{text!r} is not a quiz id (quiz ids are positive numbers)")
    if value >= 2**63:  # no database holds such an id, and the drivers refuse to send it
        raise NotFoundError(f"there is no quiz {value} (see 'quizgen list')")
    return value



def get_quiz(session: Any, quiz: str | int) -> Quiz:
    """The quiz row a user's id names, or NotFoundError."""
    quiz_id = parse_quiz_id(quiz)
    row = session.get(Quiz, quiz_id)
    if row is None:
        raise NotFoundError(f"no quiz {quiz_id} (see 'quizgen list')")
    return row
