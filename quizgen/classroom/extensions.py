"""Per-student extensions (``quizgen quiz extend``): one student's own deadline, late
window or attempt limit on one quiz, for an illness or an accommodation.

The extension is stored beside the quiz (store.tables.Extension) and applied by the
one policy every front end goes through (policies.student_rules): ``submit``, the
HTTP API, the page and ``import-submissions`` all see the same rules for that student,
and the student's own views (``show``, ``status``, the page, the API's JSON) show it.
An extension only gives more than the quiz (a later deadline or late window, more
attempts); it is checked with the same settings validator as ``generate``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from ..clock import now, parse_deadline, show
from ..errors import NotFoundError, QuizgenError, clip
from ..grading.batch import lock_grading
from ..store.db import Store
from ..store.tables import Extension as ExtensionRow
from ..store.tables import Quiz, Student, Variant, get_quiz
from .policies import Extension, QuizSettings, Rules, check_settings, rules_of


class ExtensionRefused(QuizgenError):
    """An extension that would give the student nothing, or that cannot be applied."""


class ExtensionUsageError(ExtensionRefused):
    """``quiz extend`` asked for nothing, or for something and ``--clear`` together."""

    exit_code = 2


@dataclass(frozen=True)
class ExtensionChange:
    """What ``quiz extend`` asks for: times as typed (read in the quiz's zone), or ``clear``."""

    deadline: str | None
    late_until: str | None
    attempt_limit: int | None
    clear: bool


@dataclass(frozen=True)
class ExtensionReport:
    """A student's extension before and after, and the rules they now submit under."""

    quiz_id: int
    student: str
    before: Extension | None
    after: Extension | None
    rules: Rules

    def to_json(self) -> dict[str, Any]:
        zone = self.rules.time_zone
        return {"quiz": self.quiz_id, "student": self.student,
                "before": self.before.to_json(zone) if self.before else None,
                "after": self.after.to_json(zone) if self.after else None, "rules": self.rules.to_json()}

    def lines(self) -> list[str]:
        """What ``quiz extend`` prints: the extension, then what it means for the student."""
        r = self.rules
        if self.after is None:
            head = (f"Cleared the extension of {self.student} on quiz {self.quiz_id}" if self.before
                    else f"{self.student} had no extension on quiz {self.quiz_id}")
        else:
            head = f"Extension of {self.student} on quiz {self.quiz_id}: {_what(self.after, r.time_zone)}"
        until = show(r.deadline, r.time_zone) if r.deadline else "any time (no deadline)"
        late = f", late until {show(r.late_until, r.time_zone)}" if r.late_until else ""
        attempts = f"{r.attempt_limit:,} attempt(s)" if r.attempt_limit is not None else "no attempt limit"
        return [head, f"{self.student} may submit until {until}{late}; {attempts}."]


def _what(ext: Extension, zone: str) -> str:
    parts = []
    if ext.deadline is not None:
        parts.append(f"deadline {show(ext.deadline, zone)}")
    if ext.late_until is not None:
        parts.append(f"late until {show(ext.late_until, zone)}")
    if ext.attempt_limit is not None:
        parts.append(f"{ext.attempt_limit:,} attempt(s)")
    return ", ".join(parts)


def extend(store: Store, quiz: str | int, student: str, change: ExtensionChange) -> ExtensionReport:
    """Give ``student`` their own deadline, late window or attempt limit on ``quiz`` (what
    is not given keeps an earlier extension's value), or remove it (``clear``). One
    transaction, under the locks every submission takes, so a submission in flight is
    judged wholly before or wholly after the change."""
    given = (change.deadline, change.late_until, change.attempt_limit)
    if change.clear and any(v is not None for v in given):
        raise ExtensionUsageError("--clear removes the whole extension: give it alone")
    if not change.clear and all(v is None for v in given):
        raise ExtensionUsageError("nothing to extend: give --deadline, --late-until or --attempts (or --clear)")
    with store.write() as session:
        row = get_quiz(session, quiz)
        lock_grading(session, row.id)  # the order submissions take their locks in (classroom.attempts)
        session.execute(select(Quiz.id).where(Quiz.id == row.id).with_for_update())
        student_pk = _student_on_quiz(session, row.id, student)
        current = session.scalar(select(ExtensionRow).where(ExtensionRow.quiz_id == row.id,
                                                             ExtensionRow.student_id == student_pk))
        before = Extension(current.deadline, current.late_until, current.attempt_limit) if current else None
        if change.clear:
            session.execute(delete(ExtensionRow).where(ExtensionRow.quiz_id == row.id,
                                                       ExtensionRow.student_id == student_pk))
            return ExtensionReport(row.id, student, before, None, rules_of(row, None))
        after = _merged(row, before, change)
        if current is None:
            current = ExtensionRow(quiz_id=row.id, student_id=student_pk, created_at=now())
            session.add(current)
        current.deadline, current.late_until, current.attempt_limit = (after.deadline, after.late_until,
                                                                       after.attempt_limit)
        session.flush()
        return ExtensionReport(row.id, student, before, after, rules_of(row, current))


def _student_on_quiz(session: Any, quiz_id: int, student: str) -> int:
    pk = session.scalar(select(Student.id).join(Variant, Variant.student_id == Student.id)
                        .where(Variant.quiz_id == quiz_id, Student.external_id == student))
    if pk is None:
        raise NotFoundError(f"student {clip(student, 64)!r} has no variant of quiz {quiz_id} (give them one with "
                            f"'quizgen quiz add-students {quiz_id} --student {clip(student, 64)}')")
    return pk


def _merged(quiz: Quiz, before: Extension | None, change: ExtensionChange) -> Extension:
    """The extension after the change, refused unless each value it sets gives more than the quiz."""
    zone = quiz.time_zone

    def instant(text: str | None, kept: datetime | None) -> datetime | None:
        return kept if text is None else parse_deadline(text, zone)

    after = Extension(instant(change.deadline, before.deadline if before else None),
                      instant(change.late_until, before.late_until if before else None),
                      change.attempt_limit if change.attempt_limit is not None
                      else (before.attempt_limit if before else None))
    if (after.deadline is not None or after.late_until is not None) and quiz.deadline is None:
        raise ExtensionRefused(f"quiz {quiz.id} has no deadline: every student may already submit at any time")
    if after.attempt_limit is not None and quiz.attempt_limit is None:
        raise ExtensionRefused(f"quiz {quiz.id} has no attempt limit: every student may already submit as often "
                               "as they like")
    deadline = after.deadline or quiz.deadline
    # the student's own settings hold together (the validator generate and quiz set use)
    check_settings(QuizSettings(deadline, zone, after.late_until, after.attempt_limit, quiz.feedback, quiz.counting),
                   None)
    if after.deadline is not None and quiz.deadline is not None and after.deadline <= quiz.deadline:
        raise ExtensionRefused(f"an extension gives more time: {show(after.deadline, zone)} is not after the quiz's "
                               f"deadline {show(quiz.deadline, zone)}")
    if after.late_until is not None and quiz.late_until is not None and after.late_until <= quiz.late_until:
        raise ExtensionRefused(f"an extension gives more time: late until {show(after.late_until, zone)} is not "
                               f"after the quiz's late window ({show(quiz.late_until, zone)})")
    if after.attempt_limit is not None and quiz.attempt_limit is not None and after.attempt_limit <= quiz.attempt_limit:
        raise ExtensionRefused(f"an extension gives more attempts: {after.attempt_limit:,} is not more than the "
                               f"quiz's {quiz.attempt_limit:,}")
    return after
