"""``quizgen show --server``: the student's questions and the quiz's rules, from the server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import QuizgenError
from ..resources import locale_language
from .api import Api
from .credentials import Credentials
from .retry import RetryPolicy
from .screens import QuizScreen, read_quiz


@dataclass(frozen=True)
class RemoteQuiz:
    """A quiz as the server showed it to the student: the screen, and the answer itself
    (``--json`` prints it as it came)."""

    screen: QuizScreen
    data: dict[str, Any]

    def lines(self) -> list[str]:
        return self.screen.lines()


def show(credentials: Credentials, quiz: int, policy: RetryPolicy) -> RemoteQuiz:
    """This student's questions on the server (refusals in the student's locale's language:
    the quiz is not known until it answers)."""
    try:
        with Api(credentials.server, credentials, policy) as api:
            data = api.quiz(quiz)
    except QuizgenError as exc:
        exc.speak(locale_language())
        raise
    return RemoteQuiz(read_quiz(data), data)
