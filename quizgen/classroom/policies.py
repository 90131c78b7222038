"""The classroom's rules, in one home that every front end (CLI, HTTP API, web page,
imports) obeys: when a quiz takes submissions, how many attempts a student has, what
feedback they may see, and which settings hold together.

Each rule takes whole objects so that no caller can leave an input out: the closing
rule takes a student's ``Rules`` (the quiz's deadline, late window, zone, language and
archive flag with that student's extension applied), made only by ``rules_of`` /
``student_rules`` from the quiz row and the extension row. Settings are checked by
one validator (``check_settings``) with one wording, whoever changes them
(``generate``, ``quiz set``, ``quiz extend``). Which attempt counts is grading's rule
(grading.scoring.counts_over), used by both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from ..clock import as_utc, show
from ..errors import QuizgenError, clip
from ..grading.scoring import COUNTING_POLICIES
from ..resources import message

if TYPE_CHECKING:  # the rows' types only: the command line's option lists import this module, not SQLAlchemy
    from ..store.tables import Quiz

FEEDBACK_POLICIES = ("none", "score", "full")
MAX_ATTEMPTS = 1_000_000  # beyond it, leave --attempts out: no limit


class SubmissionRefused(QuizgenError):
    """A closed quiz, a spent attempt limit, or a student not on the quiz."""


class QuizClosed(SubmissionRefused):
    """Past the deadline and any late window."""


class QuizArchived(SubmissionRefused):
    """The instructor archived the quiz: it takes no submissions at all."""


class AttemptsExhausted(SubmissionRefused):
    """Every attempt the quiz allows is used."""


class NotOnQuiz(SubmissionRefused):
    """The student has no variant of the quiz."""


class SettingsError(QuizgenError):
    """Quiz settings that do not hold together (one sentence, whoever changes them)."""


# ---------------------------------------------------------------- settings

@dataclass(frozen=True)
class QuizSettings:
    """A quiz's settings as they would be stored: instants (aware), not what was typed."""

    deadline: datetime | None
    time_zone: str  # the zone deadlines are shown in
    late_until: datetime | None
    attempt_limit: int | None
    feedback: str
    counting: str


def check_settings(settings: QuizSettings, now: datetime | None) -> None:
    """Refuse settings that do not hold together, in the one wording every command uses.

    ``now``: refuse a deadline that has already passed at that instant (``generate``
    without ``--allow-past``); None when a past deadline is meant (``quiz set`` reports
    the quiz closed instead)."""
    s = settings
    for value in (s.deadline, s.late_until, now):
        if value is not None and value.tzinfo is None:
            raise ValueError("internal: quiz settings hold instants (aware datetimes)")
    if s.late_until is not None and s.deadline is None:
        raise SettingsError(message("en", "settings_late_needs_deadline"))
    if s.late_until is not None and s.deadline is not None and as_utc(s.late_until) <= as_utc(s.deadline):
        raise SettingsError(message("en", "settings_late_before_deadline", late_until=show(s.late_until, s.time_zone),
                                    deadline=show(s.deadline, s.time_zone)))
    limit = s.attempt_limit
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_ATTEMPTS):
        raise SettingsError(message("en", "settings_attempts", max=f"{MAX_ATTEMPTS:,}", value=clip(repr(limit), 30)))
    if s.feedback not in FEEDBACK_POLICIES:
        raise SettingsError(message("en", "settings_feedback", value=clip(repr(s.feedback), 30),
                                    choices=", ".join(FEEDBACK_POLICIES)))
    if s.counting not in COUNTING_POLICIES:
        raise SettingsError(message("en", "settings_counting", value=clip(repr(s.counting), 30),
                                    choices=", ".join(COUNTING_POLICIES)))
    if now is not None and s.deadline is not None and as_utc(s.deadline) <= as_utc(now):
        raise SettingsError(message("en", "settings_deadline_past", deadline=show(s.deadline, s.time_zone),
                                    now=show(now, s.time_zone)))


def settings_of(quiz: Quiz) -> QuizSettings:
    """A stored quiz's settings."""
    return QuizSettings(quiz.deadline, quiz.time_zone, quiz.late_until, quiz.attempt_limit, quiz.feedback,
                        quiz.counting)


# ---------------------------------------------------------------- one student's rules

@dataclass(frozen=True)
class Extension:
    """A student's own deadline, late window or attempt limit (None: the quiz's)."""

    deadline: datetime | None
    late_until: datetime | None
    attempt_limit: int | None

    def to_json(self, zone: str) -> dict[str, Any]:
        return {"deadline": as_utc(self.deadline).isoformat() if self.deadline else None,
                "deadline_local": show(self.deadline, zone) if self.deadline else None,
                "late_until": as_utc(self.late_until).isoformat() if self.late_until else None,
                "late_until_local": show(self.late_until, zone) if self.late_until else None,
                "attempt_limit": self.attempt_limit}


@dataclass(frozen=True)
class Rules:
    """The rules one student submits under on one quiz: the quiz's settings with the
    student's extension applied. Made only by ``rules_of``."""

    quiz_id: int
    language: str  # the quiz's: every refusal the student sees is in it
    time_zone: str  # the quiz's: every time the student sees is shown in it
    deadline: datetime | None  # the student's own (an extension's, if later than the quiz's)
    late_until: datetime | None  # late submissions accepted until then; None: not at all
    attempt_limit: int | None
    feedback: str
    archived: bool
    extension: Extension | None  # what the student was given beyond the quiz's settings

    def to_json(self) -> dict[str, Any]:
        return {"deadline": as_utc(self.deadline).isoformat() if self.deadline else None,
                "deadline_local": show(self.deadline, self.time_zone) if self.deadline else None,
                "time_zone": self.time_zone,
                "late_until": as_utc(self.late_until).isoformat() if self.late_until else None,
                "attempt_limit": self.attempt_limit, "archived": self.archived,
                "extension": self.extension.to_json(self.time_zone) if self.extension else None}


class ExtensionSettingsRow(Protocol):
    """What rules_of reads of a student's extension."""

    @property
    def deadline(self) -> datetime | None: ...
    @property
    def late_until(self) -> datetime | None: ...
    @property
    def attempt_limit(self) -> int | None: ...


class QuizSettingsRow(ExtensionSettingsRow, Protocol):
    """What rules_of reads of a quiz: its row, or the submission path's read of it (the
    settings an extension can change, and the rest)."""

    @property
    def id(self) -> int: ...
    @property
    def feedback(self) -> str: ...
    @property
    def archived(self) -> bool: ...
    @property
    def language(self) -> str: ...
    @property
    def time_zone(self) -> str: ...


def rules_of(quiz: QuizSettingsRow, extension: ExtensionSettingsRow | None) -> Rules:
    """A student's rules on ``quiz`` given their extension row (None: they have none).

    An extension only ever gives more: the later deadline, the later end of a late
    window, the higher attempt limit of the quiz's and the student's own, so a quiz
    changed later (``quiz set``) never takes from a student what they were given."""
    ext = Extension(extension.deadline, extension.late_until, extension.attempt_limit) if extension else None
    deadline = quiz.deadline
    if deadline is not None and ext is not None and ext.deadline is not None and ext.deadline > deadline:
        deadline = ext.deadline
    ends = [t for t in (quiz.late_until, ext.late_until if ext else None) if t is not None]
    late_until = max(ends) if ends and deadline is not None and max(ends) > deadline else None
    limit = quiz.attempt_limit
    if limit is not None and ext is not None and ext.attempt_limit is not None:
        limit = max(limit, ext.attempt_limit)
    return Rules(quiz.id, quiz.language, quiz.time_zone, deadline, late_until, limit, quiz.feedback,
                 bool(quiz.archived), ext)


def student_rules(session: Any, quiz: Quiz, student_pk: int) -> Rules:
    """The rules ``student_pk`` submits under on ``quiz``, their extension read in ``session``."""
    from sqlalchemy import select

    from ..store.tables import Extension as ExtensionRow

    row = session.scalar(select(ExtensionRow).where(ExtensionRow.quiz_id == quiz.id,
                                                    ExtensionRow.student_id == student_pk))
    return rules_of(quiz, row)


def extension_line(rules: Rules) -> str | None:
    """``Your extension: deadline …, 5 attempt(s)`` in the quiz's language, or None."""
    ext = rules.extension
    if ext is None:
        return None
    lang, zone = rules.language, rules.time_zone
    what = []
    if ext.deadline is not None:
        what.append(message(lang, "extension_deadline", deadline=show(ext.deadline, zone)))
    if ext.late_until is not None:
        what.append(message(lang, "extension_late", late_until=show(ext.late_until, zone)))
    if ext.attempt_limit is not None:
        what.append(message(lang, "extension_attempts", limit=ext.attempt_limit))
    return message(lang, "extension", what=", ".join(what))


def refuse_if_closed(rules: Rules, at: datetime) -> bool:
    """Whether a submission received at ``at`` is late; refused (QuizClosed) after the
    student's deadline and late window, and (QuizArchived) on an archived quiz. Times
    are shown in the quiz's zone, the sentence in the quiz's language."""
    if rules.archived:
        raise QuizArchived(message(rules.language, "archived", quiz=rules.quiz_id))
    if rules.deadline is None or as_utc(at) <= as_utc(rules.deadline):
        return False
    if rules.late_until is not None and as_utc(at) <= as_utc(rules.late_until):
        return True
    late = (message(rules.language, "closed_late", late_until=show(rules.late_until, rules.time_zone))
            if rules.late_until is not None else "")
    raise QuizClosed(message(rules.language, "closed", quiz=rules.quiz_id,
                             deadline=show(rules.deadline, rules.time_zone), late=late))


def is_open(rules: Rules, at: datetime) -> bool:
    """Whether a submission received at ``at`` would be accepted (on time or late)."""
    try:
        refuse_if_closed(rules, at)
    except SubmissionRefused:
        return False
    return True


def refuse_if_spent(rules: Rules, used: int) -> None:
    """A student who has used every attempt they have gets no more."""
    if rules.attempt_limit is not None and used >= rules.attempt_limit:
        raise AttemptsExhausted(message(rules.language, "exhausted", limit=rules.attempt_limit, quiz=rules.quiz_id))


def not_on_quiz(quiz_id: int, student_id: str, lang: str) -> NotOnQuiz:
    """The refusal for a student who has no variant of the quiz."""
    return NotOnQuiz(message(lang, "not_on_quiz", student=repr(clip(student_id, 64)), quiz=quiz_id,
                             sid=clip(student_id, 64)))


def attempts_left(attempt_limit: int | None, used: int) -> int | None:
    """How many attempts remain (None: no limit)."""
    return None if attempt_limit is None else max(0, attempt_limit - used)


@dataclass(frozen=True)
class Visibility:
    """What a student may see of their graded attempts under a quiz's feedback policy."""

    score: bool  # their total and per-question scores
    details: bool  # which answers were right, and the slip each wrong one shows


def visibility(feedback: str) -> Visibility:
    """``none``: only that an attempt was recorded; ``score``: scores; ``full``: scores and feedback."""
    return Visibility(score=feedback in ("score", "full"), details=feedback == "full")


def counting_rule(counting: str, lang: str) -> str:
    """Which answer counts for a question, said to the student: under ``last`` the last answer
    given to each question (a question left out of a later attempt keeps its earlier answer;
    one answered again is graded on the new answer as a whole), under ``best`` the best-scoring
    one. Per question, not per attempt: a student may send again only what they revise."""
    return message(lang, f"counting_{counting}")
