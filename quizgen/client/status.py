"""``quizgen status --server``: the student's attempts and results on the server, each
attempt's receipt checked against the key pinned for that server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import QuizgenError
from ..resources import locale_language, message, phrase
from .api import Api
from .credentials import Credentials, pinned_keys
from .receipts import ReceiptError, verify_signature
from .retry import RetryPolicy
from .screens import QuizScreen, read_quiz, status_lines


@dataclass(frozen=True)
class RemoteStatus:
    """What the server says of the student's attempts, with each receipt's verdict."""

    data: dict[str, Any]  # the server's answer, as ``--json`` prints it
    quiz: QuizScreen
    marks: list[str]  # per attempt: "; receipt verified", "; RECEIPT REJECTED: ...", or ""
    bad: int  # receipts that do not verify
    server: str

    def lines(self) -> list[str]:
        return status_lines(self.data, self.quiz.title, self.quiz.zone, self.quiz.language, self.marks)

    @property
    def failure(self) -> QuizgenError | None:
        """The error the command ends with: receipts that do not verify."""
        if not self.bad:
            return None
        return ReceiptError(phrase("status_bad_receipts", bad=self.bad, server=self.server)).speak(self.quiz.language)


def status(credentials: Credentials, quiz: int, policy: RetryPolicy) -> RemoteStatus:
    """The student's status on the server, and the quiz it is about (for its title, zone and language)."""
    try:
        with Api(credentials.server, credentials, policy) as api:
            data = api.submissions(quiz)
            screen = read_quiz(api.quiz(quiz))
    except QuizgenError as exc:
        exc.speak(locale_language())
        raise
    lang = screen.language
    keys = pinned_keys(credentials.server)
    marks, bad = [], 0
    attempts = data.get("attempts")
    for a in attempts if isinstance(attempts, list) else []:
        if not isinstance(a, dict):
            continue
        receipt = a.get("receipt")
        if receipt is None:
            marks.append("")
            continue
        try:
            verify_signature(receipt, keys)
            if (receipt.get("quiz"), receipt.get("student"), receipt.get("attempt")) != \
                    (data.get("quiz"), data.get("student"), a.get("attempt")):
                raise ReceiptError(phrase("receipt_other_content"))
            marks.append(message(lang, "receipt_verified"))
        except ReceiptError as exc:
            bad += 1
            exc.speak(lang)
            marks.append(message(lang, "receipt_rejected", why=exc))
    return RemoteStatus(data, screen, marks, bad, credentials.server.url)
