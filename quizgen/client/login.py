"""``quizgen login``: the student's id and token saved for a server, checked on a quiz if
asked, and the server's receipt key pinned."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import QuizgenError, one_line
from ..resources import Phrase, locale_language, message, phrase
from ..servers import Server
from .api import Api
from .credentials import Credentials, CredentialsError, check_token, parse_receipt_key, pin_key, pinned_keys, save_login
from .retry import RetryPolicy
from .screens import read_quiz


@dataclass(frozen=True)
class LoggedIn:
    """What ``login`` did: where the credentials are, the quiz they were checked on (if
    any), and the receipt key pinned (and those pinned before)."""

    server: Server
    student: str
    path: str
    quiz: int | None
    key_id: str
    before: tuple[str, ...]  # key ids pinned before this login
    language: str  # the quiz's, when one was checked; else the locale's

    @property
    def key_changed(self) -> bool:
        return bool(self.before) and self.key_id not in self.before

    def notes(self) -> list[str]:
        lang = self.language
        checked = message(lang, "login_checked", quiz=self.quiz) if self.quiz is not None else \
            message(lang, "login_unchecked")
        out = [message(lang, "login_done", server=self.server.url, student=one_line(self.student, 64), path=self.path,
                       checked=checked)]
        if self.key_changed:
            out.append(message(lang, "login_key_changed", server=self.server.url, key=one_line(self.key_id, 40),
                               before=", ".join(sorted(self.before))))
        elif not self.before:
            out.append(message(lang, "login_pinned", key=one_line(self.key_id, 40)))
        return out

    def to_json(self) -> dict[str, Any]:
        return {"server": self.server.url, "student_id": self.student, "credentials": self.path,
                "checked_quiz": self.quiz, "receipt_key_id": self.key_id, "key_changed": self.key_changed}


def login(server: Server, student: str, token: str | None, quiz: int | None, policy: RetryPolicy,
          prompt: Callable[[Phrase], str | None]) -> LoggedIn:
    """Check what can be checked (the token's form; with ``quiz``, that the server accepts
    them by opening it), pin the server's receipt key and save the id and token. Nothing
    is saved when a check fails. ``prompt`` asks for the token when none is given (None:
    no one to ask)."""
    lang = locale_language()
    try:
        token = token if token is not None else prompt(phrase("token_prompt", student=one_line(student, 64),
                                                              server=server.url))
        if token is None:
            raise CredentialsError(phrase("login_no_token"))
        check_token(student, token)
        credentials = Credentials(server, student, token)
        with Api(server, credentials, policy) as api:
            key = parse_receipt_key(api.receipt_key())
            if quiz is not None:
                lang = read_quiz(api.quiz(quiz)).language
        before = tuple(pinned_keys(server))
        pin_key(server, key)
        path = save_login(credentials)
    except QuizgenError as exc:
        exc.speak(lang)
        raise
    return LoggedIn(server, student, path, quiz, key.key_id, before, lang)
