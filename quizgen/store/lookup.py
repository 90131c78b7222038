"""Finding rows by the ids users type: one parser and one message for every command."""

from __future__ import annotations

from typing import Any

from ..errors import NotFoundError
from ..ids import parse_quiz_id
from .tables import Quiz


def get_quiz(session: Any, quiz: str | int) -> Quiz:
    """The quiz row a user's id names, or NotFoundError."""
    quiz_id = parse_quiz_id(quiz)
    row = session.get(Quiz, quiz_id)
    if row is None:
        raise NotFoundError(f"no quiz {quiz_id} (see 'quizgen list')")
    return row
