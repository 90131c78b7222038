"""The LMS's copy of a grade: every time grades are written (grading.batch.insert_grades,
the one place any path writes them), the students whose grades changed get their
current score queued for each LMS gradebook column of the quiz, in the same
transaction. So nothing graded is forgotten (the queue row commits with the grade or
not at all), and there is one row per column and student: whatever several graders do,
the LMS is sent one current score, the latest.

The score is the student's total under the quiz's counting policy (the same
``counts_over`` rule as the gradebook) out of their variant's points; its timestamp
is when the latest counted attempt arrived, so the LMS applies its own late rules
(never earlier than a timestamp already queued: an LMS ignores a score older than the
one it holds). Sending is classroom.lti.passback's job.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, select

from ..clock import as_utc
from ..store.tables import (
    Attempt,
    Grade,
    LtiLineItem,
    LtiScore,
    LtiUser,
    Question,
    Quiz,
    Submission,
    Variant,
)
from .scoring import counts_over


def upsert(conn: Any, table: Any, rows: Sequence[dict[str, Any]], keys: Sequence[str],
           update: Sequence[str] | None = None) -> int:
    """INSERT rows, updating ``update`` columns (or doing nothing) where ``keys`` conflict:
    one statement that two writers cannot both insert through, on SQLite and PostgreSQL.
    Returns the rows inserted or updated (0: a single row that conflicted, left alone)."""
    if not rows:
        return 0
    from sqlalchemy.dialects import postgresql, sqlite

    stmt: Any = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)
    if update:
        stmt = stmt.on_conflict_do_update(index_elements=list(keys),
                                          set_={c: getattr(stmt.excluded, c) for c in update})
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    # counted from RETURNING: rowcount is -1 through psycopg here, and a conflict left alone returns no row
    return len(conn.execute(stmt.returning(table.c[keys[0]]), list(rows)).all())


def queue_for_submissions(conn: Any, quiz_id: int, submission_ids: Iterable[int], stamp: datetime) -> int:
    """Queue the current scores of the students these (just graded) submissions belong to."""
    if not _has_columns(conn, quiz_id):
        return 0
    ids = list(submission_ids)
    students: set[int] = set()
    for start in range(0, len(ids), 5000):
        students.update(conn.execute(select(Submission.student_id).where(Submission.id.in_(ids[start:start + 5000]))
                                     .distinct()).scalars())
    return queue_students(conn, quiz_id, sorted(students), stamp)


def _has_columns(conn: Any, quiz_id: int) -> bool:
    return conn.execute(select(LtiLineItem.id).where(LtiLineItem.quiz_id == quiz_id).limit(1)).first() is not None


def queue_students(conn: Any, quiz_id: int, student_ids: Sequence[int], stamp: datetime) -> int:
    """Queue the current score of each of these students for every LMS column of the quiz
    their LMS account is linked to; rows whose score is unchanged are left as they are.
    The caller holds the quiz's grading lock. Returns the number of rows queued."""
    items = conn.execute(select(LtiLineItem.id, LtiLineItem.platform_id).where(LtiLineItem.quiz_id == quiz_id)).all()
    if not items or not student_ids:
        return 0
    users = conn.execute(select(LtiUser.platform_id, LtiUser.student_id, LtiUser.sub).where(
        LtiUser.student_id.in_(list(student_ids)), LtiUser.platform_id.in_({i.platform_id for i in items}))).all()
    if not users:
        return 0
    linked = sorted({u.student_id for u in users})
    scores = current_scores(conn, quiz_id, linked)
    existing = {(r.line_item_id, r.student_id): r for r in conn.execute(
        select(LtiScore.line_item_id, LtiScore.student_id, LtiScore.score, LtiScore.max_score, LtiScore.received_at,
               LtiScore.activity, LtiScore.grading, LtiScore.revision)
        .where(LtiScore.line_item_id.in_([i.id for i in items]), LtiScore.student_id.in_(linked)))}
    subs = defaultdict(list)
    for u in users:
        subs[u.platform_id].append(u)
    rows = []
    for item in items:
        for u in subs.get(item.platform_id, []):
            current = scores.get(u.student_id)
            if current is None:
                continue
            score, top, received, activity, grading = current
            old = existing.get((item.id, u.student_id))
            if old is not None:
                if as_utc(old.received_at) > as_utc(received):
                    received = old.received_at
                if (old.score, old.max_score, as_utc(old.received_at), old.activity, old.grading) == (
                        score, top, as_utc(received), activity, grading):
                    continue
            rows.append({"line_item_id": item.id, "student_id": u.student_id, "user_sub": u.sub, "score": score,
                         "max_score": top, "received_at": received, "activity": activity, "grading": grading,
                         "revision": (old.revision if old is not None else 0) + 1, "sent_revision": 0, "tries": 0,
                         "next_try_at": stamp, "claimed_until": None, "last_error": None, "sent_at": None})
    # sent_revision, claimed_until and sent_at are the sender's: an update keeps them
    upsert(conn, LtiScore.__table__, rows, ("line_item_id", "student_id"),
           ("user_sub", "score", "max_score", "received_at", "activity", "grading", "revision", "tries",
            "next_try_at", "last_error"))
    return len(rows)


Current = tuple[float, float, datetime, str, str]  # score, max, timestamp, activityProgress, gradingProgress


def current_scores(conn: Any, quiz_id: int, student_ids: Sequence[int]) -> dict[int, Current]:
    """student → their current score under the quiz's counting policy, for students with a grade."""
    counting, limit = conn.execute(select(Quiz.counting, Quiz.attempt_limit).where(Quiz.id == quiz_id)).one()
    rows = conn.execute(
        select(Submission.student_id, Submission.question_id, Submission.attempt, Grade.score, Attempt.received_at)
        .join(Grade, and_(Grade.submission_id == Submission.id, Grade.current.is_(True)))
        .join(Attempt, and_(Attempt.quiz_id == Submission.quiz_id, Attempt.student_id == Submission.student_id,
                            Attempt.attempt == Submission.attempt))
        .where(Submission.quiz_id == quiz_id, Submission.student_id.in_(list(student_ids)))).all()
    counted: dict[int, dict[int, tuple[int, float, datetime]]] = defaultdict(dict)
    for student, question, attempt, score, received in rows:
        held = counted[student].get(question)
        if held is None or counts_over(score, attempt, held[1], held[0], counting):
            counted[student][question] = (attempt, score, received)
    points = dict(conn.execute(
        select(Variant.student_id, func.sum(Question.points)).join(Question, Question.variant_id == Variant.id)
        .where(Variant.quiz_id == quiz_id, Variant.student_id.in_(list(student_ids)))
        .group_by(Variant.student_id)).all())
    used = dict(conn.execute(select(Attempt.student_id, func.max(Attempt.attempt))
                             .where(Attempt.quiz_id == quiz_id, Attempt.student_id.in_(list(student_ids)))
                             .group_by(Attempt.student_id)).all())
    ungraded = set(conn.execute(select(Submission.student_id).where(
        Submission.quiz_id == quiz_id, Submission.student_id.in_(list(student_ids)),
        ~exists().where(and_(Grade.submission_id == Submission.id, Grade.current.is_(True)))).distinct()).scalars())
    out = {}
    for student, questions in counted.items():
        total = sum(s for _, s, _ in questions.values())
        latest = max((as_utc(r) for _, _, r in questions.values()))
        activity = "Completed" if limit is not None and used.get(student, 0) >= limit else "Submitted"
        out[student] = (total, float(points.get(student) or 0), latest, activity,
                        "Pending" if student in ungraded else "FullyGraded")
    return out
