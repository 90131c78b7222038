"""The classroom's rules, in one home that every front end (CLI, HTTP API, web page) obeys:
when a quiz is open, how many attempts a student has and what feedback they may see.
Which attempt counts is grading's rule (grading.scoring.counts_over), used by both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..clock import as_utc, show
from ..errors import QuizgenError, clip
from ..resources import message

FEEDBACK_POLICIES = ("none", "score", "full")
MAX_ATTEMPTS = 1_000_000  # beyond it, leave --attempts out: no limit


class SubmissionRefused(QuizgenError):
    """A closed quiz, a spent attempt limit, or a student not on the quiz."""


class QuizClosed(SubmissionRefused):
    """Past the deadline and any late window."""


class AttemptsExhausted(SubmissionRefused):
    """Every attempt the quiz allows is used."""


class NotOnQuiz(SubmissionRefused):
    """The student has no variant of the quiz."""


@dataclass(frozen=True)
class Visibility:
    """What a student may see of their graded attempts under a quiz's feedback policy."""

    score: bool  # their total and per-question scores
    details: bool  # which answers were right, and the slip each wrong one shows


def visibility(feedback: str) -> Visibility:
    """``none``: only that an attempt was recorded; ``score``: scores; ``full``: scores and feedback."""
    return Visibility(score=feedback in ("score", "full"), details=feedback == "full")


def refuse_if_closed(quiz_id: int, deadline: datetime | None, time_zone: str, at: datetime,
                     late_until: datetime | None = None, lang: str = "en") -> bool:
    """Whether a submission received at ``at`` is late; refused (QuizClosed) when it is after
    the deadline and after any late window. Times are shown in the quiz's zone, the
    sentence in the quiz's language."""
    if deadline is None or as_utc(at) <= as_utc(deadline):
        return False
    if late_until is not None and as_utc(at) <= as_utc(late_until):
        return True
    late = message(lang, "closed_late", late_until=show(late_until, time_zone)) if late_until is not None else ""
    raise QuizClosed(message(lang, "closed", quiz=quiz_id, deadline=show(deadline, time_zone), late=late))


def is_open(deadline: datetime | None, late_until: datetime | None, at: datetime) -> bool:
    """Whether a submission received at ``at`` would be accepted (on time or late)."""
    end = late_until if late_until is not None and deadline is not None else deadline
    return end is None or as_utc(at) <= as_utc(end)


def refuse_if_spent(quiz_id: int, attempt_limit: int | None, used: int, lang: str = "en") -> None:
    """A student who has used every attempt gets no more."""
    if attempt_limit is not None and used >= attempt_limit:
        raise AttemptsExhausted(message(lang, "exhausted", limit=attempt_limit, quiz=quiz_id))


def not_on_quiz(quiz_id: int, student_id: str, lang: str = "en") -> NotOnQuiz:
    """The refusal for a student who has no variant of the quiz."""
    return NotOnQuiz(message(lang, "not_on_quiz", student=repr(clip(student_id, 64)), quiz=quiz_id,
                             sid=clip(student_id, 64)))


def attempts_left(attempt_limit: int | None, used: int) -> int | None:
    """How many attempts remain (None: no limit)."""
    return None if attempt_limit is None else max(0, attempt_limit - used)


def counting_rule(counting: str, lang: str) -> str:
    """Which answer counts for a question, said to the student: under ``last`` the last answer
    given to each question (a question left out of a later attempt keeps its earlier answer;
    one answered again is graded on the new answer as a whole), under ``best`` the best-scoring
    one. Per question, not per attempt: a student may send again only what they revise."""
    return message(lang, f"counting_{counting}")
