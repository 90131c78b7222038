"""How a quiz is going (``quizgen progress``): who is on it, who has submitted and who
not yet, who was late, attempts used, the score that counts now, and extensions.

Late means an attempt received after the student's own deadline (their extension
included, policies.student_rules), whether it came inside the late window or was let
through by ``import-submissions --ignore-deadline``. The score is the sum of the
grades that count under the quiz's counting policy (classroom.results), as the
gradebook adds them; attempts not graded yet are not in it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from ..clock import as_utc, show
from ..errors import one_line
from ..exports.textwidth import display_width, ljust
from ..grading.slip_messages import score_text, shown_score
from ..questions.records import QuizInfo
from ..store.db import Store
from ..store.tables import Attempt, Question, Student, Variant, get_quiz
from ..store.tables import Extension as ExtensionRow
from .policies import Rules, attempts_left, rules_of
from .quizzes import quiz_info
from .results import counted_results


@dataclass(frozen=True)
class StudentProgress:
    student: str
    name: str
    attempts: int
    last_at: datetime | None  # when their latest attempt arrived
    late: int  # attempts received after their own deadline
    graded: bool  # some answer of theirs is graded
    score: float | None  # the counted total (None: nothing graded)
    max_score: int  # every point of their variant
    rules: Rules  # the rules they submit under (their extension included)

    def to_json(self) -> dict[str, Any]:
        return {"student": self.student, "name": self.name, "submitted": self.attempts > 0,
                "attempts": self.attempts, "attempt_limit": self.rules.attempt_limit,
                "attempts_left": attempts_left(self.rules.attempt_limit, self.attempts),
                "last_attempt_at": as_utc(self.last_at).isoformat() if self.last_at else None,
                "late": self.late > 0, "late_attempts": self.late, "graded": self.graded,
                "score": shown_score(self.score), "max_score": self.max_score,
                "deadline": as_utc(self.rules.deadline).isoformat() if self.rules.deadline else None,
                "extension": self.rules.extension.to_json(self.rules.time_zone) if self.rules.extension else None}


@dataclass(frozen=True)
class QuizProgress:
    quiz: QuizInfo
    students: list[StudentProgress]  # by student id

    @property
    def submitted(self) -> list[StudentProgress]:
        return [s for s in self.students if s.attempts]

    @property
    def not_submitted(self) -> list[StudentProgress]:
        return [s for s in self.students if not s.attempts]

    def to_json(self) -> dict[str, Any]:
        return {"quiz": self.quiz.to_json(), "submitted": len(self.submitted),
                "not_submitted": len(self.not_submitted), "late": sum(1 for s in self.students if s.late),
                "extensions": sum(1 for s in self.students if s.rules.extension),
                "students": [s.to_json() for s in self.students]}

    def lines(self) -> list[str]:
        """The table ``quizgen progress`` prints (the instructor's English)."""
        q = self.quiz
        deadline = f"deadline {show(q.deadline, q.time_zone)}" if q.deadline else "no deadline"
        limit = f"{q.attempt_limit:,} attempt(s)" if q.attempt_limit is not None else "no attempt limit"
        late = sum(1 for s in self.students if s.late)
        out = [f"Quiz {q.id}: {one_line(q.title, 80)}{' (archived)' if q.archived else ''} — {deadline}, "
               f"{limit}, counting {q.counting}",
               f"{len(self.students)} student(s): {len(self.submitted)} submitted, {len(self.not_submitted)} not yet, "
               f"{late} late",
               ""]
        rows = [("student", "name", "attempts", "last attempt", "score", "extension")]
        for s in self.students:
            used = f"{s.attempts}/{s.rules.attempt_limit}" if s.rules.attempt_limit is not None else str(s.attempts)
            last = show(s.last_at, q.time_zone) + (" late" if s.late else "") if s.last_at else "-"
            score = f"{score_text(s.score)}/{s.max_score}" if s.score is not None else (
                "not graded" if s.attempts else "-")
            ext = _extension_text(s.rules) if s.rules.extension else "-"
            rows.append((one_line(s.student, 64), one_line(s.name, 40), used, last, score, ext))
        widths = [max(display_width(r[i]) for r in rows) for i in range(5)]  # terminal cells: Hangul takes two
        out += ["  ".join(ljust(c, w) for c, w in zip(r[:5], widths)) + "  " + r[5] for r in rows]
        if self.not_submitted:
            out += ["", "Not submitted yet: " + ", ".join(f"{one_line(s.student, 64)} {one_line(s.name, 40)}"
                                                          for s in self.not_submitted)]
        return out


def _extension_text(rules: Rules) -> str:
    ext = rules.extension
    assert ext is not None
    parts = []
    if ext.deadline is not None:
        parts.append(f"deadline {show(ext.deadline, rules.time_zone)}")
    if ext.late_until is not None:
        parts.append(f"late until {show(ext.late_until, rules.time_zone)}")
    if ext.attempt_limit is not None:
        parts.append(f"{ext.attempt_limit:,} attempt(s)")
    return ", ".join(parts)


def quiz_progress(store: Store, quiz: str | int) -> QuizProgress:
    """Every student on ``quiz`` and how far they are, read in one transaction."""
    info = quiz_info(store, quiz)
    with store.read() as session:
        row = get_quiz(session, info.id)
        students = session.execute(select(Student.id, Student.external_id, Student.name, Variant.id)
                                   .join(Variant, Variant.student_id == Student.id)
                                   .where(Variant.quiz_id == info.id).order_by(Student.external_id)).all()
        extensions = {e.student_id: e for e in session.scalars(
            select(ExtensionRow).where(ExtensionRow.quiz_id == info.id))}
        arrivals: dict[int, list[datetime]] = defaultdict(list)
        for student_pk, received in session.execute(select(Attempt.student_id, Attempt.received_at)
                                                    .where(Attempt.quiz_id == info.id)):
            arrivals[student_pk].append(received)
        points = dict(session.execute(select(Question.variant_id, func.sum(Question.points))
                                      .join(Variant, Question.variant_id == Variant.id)
                                      .where(Variant.quiz_id == info.id).group_by(Question.variant_id)).all())
        results = counted_results(session, info.id, row.counting)
        out = []
        for pk, sid, name, variant in students:
            rules = rules_of(row, extensions.get(pk))
            times = arrivals.get(pk, [])
            late = sum(1 for t in times if rules.deadline is not None and as_utc(t) > as_utc(rules.deadline))
            graded = results.get(pk, {})
            out.append(StudentProgress(sid, name, len(times), max(times) if times else None, late, bool(graded),
                                       sum(r.score for r in graded.values()) if graded else None,
                                       int(points.get(variant) or 0), rules))
    return QuizProgress(info, out)
