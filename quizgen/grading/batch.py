"""Batch grading: scores, partial credit, misconception feedback, regrading.

``grade_quiz`` grades every submission that has no current grade, a chunk per
transaction, so it is idempotent (a second run finds nothing to do) and safe to
interrupt (a rerun finishes the job; no chunk is ever half-written). Regrading
never overwrites: it adds new grade rows and marks the old ones not current, so
every grade a student ever saw is kept with the grader version that gave it.

Grading of one quiz is serialised: every transaction that writes its grades or
keys takes the quiz's grading lock (SQLite's write lock, a PostgreSQL advisory
lock) and decides from what it reads under that lock. A grader whose keys were
read before a key change (``quizzes.key_revision`` moved) grades its chunk again
with the keys it then reads; a regrade supersedes only grades that are still
current. A partial unique index makes two current grades for one answer
impossible whatever happens.
"""

from __future__ import annotations

import gc
import json
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    Integer,
    String,
    Text,
    and_,
    bindparam,
    cast,
    column,
    exists,
    func,
    insert,
    select,
    true,
    update,
    values,
)

from ..clock import now
from ..errors import QuizgenError
from ..store.db import GRADING_LOCK, Store, lock_for_writing
from ..store.prepared import Cursor, Prepared
from ..store.tables import Grade, Question, Quiz, Student, Submission, UTCDateTime, Variant, get_quiz
from .passback import queue_for_submissions
from .scoring import Row, compute_grades, counts_over, grade_answer

# 2: slips named per layer (no_bias@2:SimpleRNN), partial credit stored exactly (1: rounded to 4 decimals)
GRADER_VERSION = "3"
CHUNK = 2000  # rows per write transaction: a submitter waits for at most one

Progress = Callable[[int, int], None]
AnswerChange = tuple[dict[str, Any], dict[str, Any]]  # a question's stored answer, and what replaces it


class AnswerChangedError(QuizgenError):
    """A question's answer changed between reading it and writing its replacement."""


def _ungraded():
    return ~exists().where(and_(Grade.submission_id == Submission.id, Grade.current.is_(True)))


@dataclass(frozen=True)
class GradeReport:
    graded: int  # answers graded (a multi-part answer is one)
    chunks: int
    remaining: int

    def to_json(self) -> dict[str, int]:
        return {"graded": self.graded, "chunks": self.chunks, "remaining": self.remaining}


@contextmanager
def _no_gc_pauses() -> Iterator[None]:
    """Batch grading makes millions of short-lived, acyclic objects (decoded JSON, rows);
    the cyclic collector's full passes over them cost a quarter of the run and free
    nothing, so it is paused for the batch and restored (and run once) afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
            gc.collect(1)


def grade_quiz(store: Store, quiz: str | int, chunk: int = CHUNK, progress: Progress | None = None,
               limit_chunks: int | None = None) -> GradeReport:
    """Grade every ungraded submission of a quiz, one transaction per chunk.

    A chunk is read (with each question's stored grading key) outside any write
    lock and graded; the write transaction then skips whatever a concurrent grader
    wrote meanwhile, so two graders never grade a submission twice, and grades the
    chunk again if the quiz's keys changed since they were read.

    One process does it all: scoring takes about as long as reading or writing the
    rows, and worker processes (tried) only competed with this one for the CPUs."""
    with store.read() as session:
        info = get_quiz(session, quiz)
        total = _ungraded_count(session, info.id)
    graded = chunks = last_id = 0
    with _no_gc_pauses():
        while limit_chunks is None or chunks < limit_chunks:
            revision, rows = _read_chunk(store, info.id, last_id, chunk)
            if not rows:
                break
            last_id = rows[-1][0]
            graded += _write_chunk(store, info.id, revision, rows)
            chunks += 1
            if progress:
                progress(min(graded, total), total)
    with store.read() as session:
        remaining = _ungraded_count(session, info.id)
    return GradeReport(graded, chunks, remaining)


def _key_revision(session: Any, quiz_id: int) -> int:
    return session.scalar(select(Quiz.key_revision).where(Quiz.id == quiz_id)) or 0


def _chunk_query(quiz_id: int):
    return (select(Submission.id, cast(Submission.parsed, Text), Question.points, Question.expected,
                   cast(Question.slips, Text))
            .join(Question, Question.id == Submission.question_id)
            .where(Submission.quiz_id == quiz_id, _ungraded()))


def _fetch(session: Any, query: Any) -> list[Row]:
    # Every column is an integer or text as selected, so the driver's own tuples will do:
    # making a Row of each cost a quarter of the read.
    result = session.connection().execute(query)
    rows: list[Row] = result.cursor.fetchall()
    result.close()
    return rows


def _read_chunk(store: Store, quiz_id: int, after: int, chunk: int) -> tuple[int, list[Row]]:
    """The quiz's key revision, and the next ungraded submissions in id order with their
    questions' grading keys as text."""
    with store.read() as session:
        revision = _key_revision(session, quiz_id)
        return revision, _fetch(session, _chunk_query(quiz_id).where(Submission.id > after)
                                .order_by(Submission.id).limit(chunk))


def lock_grading(session: Any, quiz_id: int) -> None:
    """The quiz's grading lock, for the rest of the caller's write transaction."""
    lock_for_writing(session.connection(), GRADING_LOCK, quiz_id)


def lock_grading_shared(session: Any, quiz_id: int) -> None:
    """The grading lock as a new attempt takes it: beside other attempts (each grades only
    its own new answers), never beside a batch grader or a key change."""
    lock_for_writing(session.connection(), GRADING_LOCK, quiz_id, shared=True)


def _write_chunk(store: Store, quiz_id: int, revision: int, rows: list[Row]) -> int:
    """One transaction: the chunk's grades, minus any a concurrent grader wrote meanwhile,
    made again from the keys as they are now if they changed since the chunk was read."""
    with store.write() as session:
        lock_grading(session, quiz_id)
        if _key_revision(session, quiz_id) != revision:
            rows = _fetch(session, _chunk_query(quiz_id).where(Submission.id.in_([r[0] for r in rows]))
                          .order_by(Submission.id))
        grades = compute_grades(rows)
        done = set(session.scalars(select(Grade.submission_id).where(
            Grade.submission_id.in_([g[0] for g in grades]), Grade.current.is_(True)))) if grades else set()
        fresh = [g for g in grades if g[0] not in done] if done else grades
        if fresh:
            insert_grades(session.connection(), quiz_id, fresh, now())
    store.checkpoint()
    return len(fresh)


_GRADE_COLUMNS = ("submission_id", "score", "max_score", "correct", "misconception", "details", "grader_version",
                  "current", "graded_at")


def insert_grades(conn: Any, quiz_id: int, grades: list[tuple[Any, ...]], stamp: Any) -> None:
    """Insert current grade rows (submission id, score, max score, correct, misconception,
    details as JSON text) of one quiz in one executemany, and queue the current scores of
    their students for the quiz's LMS gradebook columns (grading.passback) in the same
    transaction: every path that grades (``grade``, a regrade, ``quiz accept/correct
    --apply``) writes grades here, and grading on arrival in insert_attempt_grades below.

    On SQLite the rows go straight to the driver, the time stamp converted once the
    way SQLAlchemy would have it converted: SQLAlchemy's per-row parameter handling
    cost more than the insert itself.
    """
    if conn.dialect.name != "sqlite":
        conn.execute(insert(Grade), [
            dict(zip(_GRADE_COLUMNS, (sid, score, top, ok, slip, json.loads(details), GRADER_VERSION, True, stamp)))
            for sid, score, top, ok, slip, details in grades])
        queue_for_submissions(conn, quiz_id, [g[0] for g in grades], stamp)
        return
    # the column's SQLite type formats the stamp (once per chunk) as it does through the ORM
    bind: Any = Grade.__table__.c.graded_at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    stamp_at, stamp = stamp, bind(stamp)
    values = [(sid, score, top, int(ok), slip, details, GRADER_VERSION, 1, stamp)
              for sid, score, top, ok, slip, details in grades]
    columns = ", ".join(_GRADE_COLUMNS)
    conn.exec_driver_sql(f"INSERT INTO grades ({columns}) VALUES ({', '.join('?' * len(_GRADE_COLUMNS))})", values)
    queue_for_submissions(conn, quiz_id, [g[0] for g in grades], stamp_at)


@cache
def _attempt_grades(count: int) -> Prepared:
    """The grades of one attempt's answers in one statement."""
    rows: list[dict[str, Any]] = [{c: bindparam(f"{c}_{n}") for c in _GRADE_COLUMNS} for n in range(count)]
    return Prepared(insert(Grade).values(rows))


def insert_attempt_grades(cur: Cursor, quiz_id: int, grades: list[tuple[Any, ...]], stamp: Any,
                          lms_columns: bool) -> None:
    """insert_grades for one attempt just recorded, on the submission path's cursor
    (store.prepared): ``grades`` as insert_grades takes them. The LMS passback is queued in
    the same transaction when the quiz has gradebook columns (``lms_columns``, read by the
    caller in that transaction)."""
    values: dict[str, Any] = {}
    for n, (sid, score, top, ok, slip, details) in enumerate(grades):
        values.update(zip((f"{c}_{n}" for c in _GRADE_COLUMNS),
                          (sid, score, top, ok, slip, details, GRADER_VERSION, True, stamp)))
    cur.run(_attempt_grades(len(grades)), **values)
    if lms_columns:
        queue_passback(cur, quiz_id, [g[0] for g in grades], stamp)


def queue_passback(cur: Cursor, quiz_id: int, submission_ids: list[int], stamp: Any) -> None:
    """The LMS passback of grades just written on the submission path's cursor, in its transaction."""
    queue_for_submissions(cur.connection, quiz_id, submission_ids, stamp)


_GRADED = (("question_id", Integer), ("score", Float), ("max_score", Float), ("correct", Boolean),
           ("misconception", String), ("details", JSON))


def grades_of_new_answers(answers: Any, count: int) -> Any:
    """PostgreSQL: the INSERT of one attempt's grades whose ``count`` answers the CTE
    ``answers`` (id, question_id) inserts in the same statement, the grades given by
    question (``attempt_grade_values``); it returns the graded submissions' ids."""
    graded = values(*(column(name, kind) for name, kind in _GRADED), name="graded").data(
        [tuple(cast(bindparam(f"g_{name}_{n}", type_=kind), kind) for name, kind in _GRADED) for n in range(count)])
    rows = (select(answers.c.id, graded.c.score, graded.c.max_score, graded.c.correct, graded.c.misconception,
                   graded.c.details, bindparam("grader_version", GRADER_VERSION, type_=String), true(),
                   bindparam("graded_at", type_=UTCDateTime()))
            .select_from(answers.join(graded, graded.c.question_id == answers.c.question_id)))
    return insert(Grade).from_select(list(_GRADE_COLUMNS), rows).returning(Grade.submission_id)


def attempt_grade_values(grades: list[tuple[Any, ...]], stamp: Any) -> dict[str, Any]:
    """The parameters of grades_of_new_answers: ``grades`` as insert_grades takes them,
    with the question's id in place of the submission's."""
    out: dict[str, Any] = {"graded_at": stamp}
    for n, grade in enumerate(grades):
        out.update(zip((f"g_{name}_{n}" for name, _ in _GRADED), grade))
    return out


def _ungraded_count(session: Any, quiz_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Submission)
                          .where(Submission.quiz_id == quiz_id, _ungraded())) or 0


# ---------------------------------------------------------------- regrading

@dataclass(frozen=True)
class ScoreChange:
    student: str
    name: str
    old: float
    new: float


@dataclass(frozen=True)
class RegradeReport:
    changed_grades: int
    changes: list[ScoreChange]
    applied: bool
    refreshed_keys: int = 0  # questions whose stored grading key differed from their answer

    def to_json(self) -> dict[str, Any]:
        return {"applied": self.applied, "changed_grades": self.changed_grades, "refreshed_keys": self.refreshed_keys,
                "changes": [{"student": c.student, "old": c.old, "new": c.new} for c in self.changes]}


def regrade(store: Store, quiz: str | int, apply: bool = False, chunk: int = CHUNK,
            progress: Progress | None = None, answers: Mapping[int, AnswerChange] | None = None) -> RegradeReport:
    """Grade every graded submission again, with grading keys made afresh from each
    question's answer and spec (what an instructor corrects); a dry run unless
    ``apply``, which also stores the refreshed keys so later grading uses them.

    ``answers`` (question id → (stored answer, new answer)) regrades as if the new
    answers were stored; with ``apply`` they are written with the refreshed keys, in
    the same transaction, unless a stored answer is no longer the one given
    (AnswerChangedError: nothing is written)."""
    answers = dict(answers or {})
    with store.read() as session:
        info = get_quiz(session, quiz)
        rows = session.execute(
            select(Submission.id, Submission.student_id, Submission.question_id, Submission.attempt,
                   cast(Submission.parsed, Text).label("parsed"), Grade.id.label("grade_id"), Grade.score,
                   Grade.correct, Grade.misconception, Grade.details)
            .join(Grade, and_(Grade.submission_id == Submission.id, Grade.current.is_(True)))
            .where(Submission.quiz_id == info.id).order_by(Submission.id)).all()
        keys, stale = _fresh_keys(session, info.id, progress, answers)
        names = {r.id: (r.external_id, r.name) for r in session.execute(select(Student.id, Student.external_id,
                                                                                Student.name))}
    changed = []
    old_scores: dict[tuple[int, int], list[tuple[int, float]]] = defaultdict(list)
    new_scores: dict[tuple[int, int], list[tuple[int, float]]] = defaultdict(list)
    with _no_gc_pauses():
        new_grades = compute_grades([(r.id, r.parsed, *keys[r.question_id]) for r in rows])
    for r, grade in zip(rows, new_grades):
        _, score, _, correct, slip, details = grade
        old_scores[(r.student_id, r.question_id)].append((r.attempt, r.score))
        new_scores[(r.student_id, r.question_id)].append((r.attempt, score))
        if (score, correct, slip, json.loads(details)) != (r.score, r.correct, r.misconception, r.details or {}):
            changed.append((r.grade_id, grade))
    old_totals = _totals(old_scores, info.counting)
    new_totals = _totals(new_scores, info.counting)
    changes = [ScoreChange(names[s][0], names[s][1], old_totals.get(s, 0.0), new_totals.get(s, 0.0))
               for s in sorted(set(old_totals) | set(new_totals), key=lambda s: names[s][0])
               if abs(old_totals.get(s, 0.0) - new_totals.get(s, 0.0)) > 1e-9]
    written = _apply(store, info.id, keys, stale, chunk, answers) if apply else len(changed)
    return RegradeReport(written, changes, apply, len(stale))


def _apply(store: Store, quiz_id: int, keys: dict[int, tuple[int, str, Any]], stale: list[int], chunk: int,
           answers: Mapping[int, AnswerChange]) -> int:
    """Store the refreshed keys, then grade every graded submission again under the quiz's
    grading lock, a chunk per transaction, from the grades and keys as they are then:
    whatever another grader or regrade did meanwhile, each answer keeps one current
    grade, made with the current key. Returns the number of grades replaced.

    The answers to regrade are those graded when the keys are stored (in the same
    transaction): any grade written later was made with the new keys (graders check
    ``key_revision``), so none is left behind with an old one."""
    stamp = now()
    with store.write() as session:
        lock_grading(session, quiz_id)
        if answers:
            _replace_answers(session, answers)
        if stale:  # one UPDATE by primary key for them all; graders holding older keys notice
            session.execute(update(Question), [{"id": qid, "expected": keys[qid][1], "slips": keys[qid][2]}
                                               for qid in stale])
            session.execute(update(Quiz).where(Quiz.id == quiz_id).values(key_revision=Quiz.key_revision + 1))
        submission_ids = list(session.scalars(
            select(Grade.submission_id).join(Submission, Submission.id == Grade.submission_id)
            .where(Submission.quiz_id == quiz_id, Grade.current.is_(True)).order_by(Grade.submission_id)))
    replaced = 0
    for start in range(0, len(submission_ids), chunk):
        ids = submission_ids[start:start + chunk]
        with store.write() as session:
            lock_grading(session, quiz_id)
            current = session.execute(
                select(Grade.id, Grade.submission_id, Grade.score, Grade.correct, Grade.misconception,
                       Grade.details, cast(Submission.parsed, Text), Question.points, Question.expected,
                       cast(Question.slips, Text))
                .join(Submission, Submission.id == Grade.submission_id)
                .join(Question, Question.id == Submission.question_id)
                .where(Grade.submission_id.in_(ids), Grade.current.is_(True))).all()
            grades = compute_grades([(r[1], r[6], r[7], r[8], r[9]) for r in current])
            superseded, fresh = [], []
            for r, grade in zip(current, grades):
                _, score, _, correct, slip, details = grade
                if (score, correct, slip, json.loads(details)) != (r[2], r[3], r[4], r[5] or {}):
                    superseded.append(r[0])
                    fresh.append(grade)
            if superseded:
                session.execute(update(Grade).where(Grade.id.in_(superseded), Grade.current.is_(True))
                                .values(current=False))
                insert_grades(session.connection(), quiz_id, fresh, stamp)
                replaced += len(fresh)
        store.checkpoint()
    return replaced


def _replace_answers(session: Any, answers: Mapping[int, AnswerChange]) -> None:
    """Write the new answers, if every stored one is still the answer they replace."""
    stored = dict(session.execute(select(Question.id, Question.answer).where(Question.id.in_(list(answers)))).all())
    for qid, (before, _) in answers.items():
        if stored.get(qid) != before:
            raise AnswerChangedError(f"question id {qid}'s answer changed meanwhile (another command?); nothing "
                                     "was written, run the command again")
    session.execute(update(Question), [{"id": qid, "answer": after} for qid, (_, after) in answers.items()])


def _fresh_keys(session: Any, quiz_id: int, progress: Progress | None = None,
                answers: Mapping[int, AnswerChange] | None = None) -> tuple[dict[int, tuple[int, str, Any]], list[int]]:
    """question id → (points, expected, slips) made from its answer (or the new answer
    ``answers`` gives it) and spec, and the ids whose stored key differs. Every spec is
    solved again (about 0.1 ms each), so a big class reports progress."""
    from .misconceptions import grading_key  # the solver: only regrading needs it

    rows = session.execute(select(Question.id, Question.kind, Question.spec, Question.answer, Question.points,
                                  Question.expected, Question.slips)
                           .join(Variant, Question.variant_id == Variant.id).where(Variant.quiz_id == quiz_id)).all()
    answers = answers or {}
    keys, stale = {}, []
    for n, r in enumerate(rows, start=1):
        answer = r.answer
        if r.id in answers:
            if answers[r.id][0] != answer:
                raise AnswerChangedError(f"question id {r.id}'s answer changed meanwhile (another command?); "
                                         "run the command again")
            answer = answers[r.id][1]
        expected, slips = grading_key(r.kind, r.spec, answer)
        keys[r.id] = (r.points, expected, slips)
        if (expected, slips) != (r.expected, r.slips):
            stale.append(r.id)
        if progress and (n % 1000 == 0 or n == len(rows)):
            progress(n, len(rows))
    if not answers.keys() <= keys.keys():
        raise AnswerChangedError(f"question id {min(answers.keys() - keys.keys())} is not a question of this quiz")
    return keys, stale


def _totals(scores: dict[tuple[int, int], list[tuple[int, float]]], counting: str) -> dict[int, float]:
    """student → total over the answers that count (the same rule as counted_results)."""
    totals: dict[int, float] = defaultdict(float)
    for (student, _), attempts in scores.items():
        attempt, score = attempts[0]
        for a, s in attempts[1:]:
            if counts_over(s, a, score, attempt, counting):
                attempt, score = a, s
        totals[student] += score
    return dict(totals)


__all__ = ["grade_quiz", "regrade", "grade_answer", "GRADER_VERSION"]
