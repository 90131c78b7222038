"""Batch grading: scores, partial credit, misconception feedback, regrading.

``grade_quiz`` grades every submission that has no current grade, a chunk per
transaction, so it is idempotent (a second run finds nothing to do) and safe to
interrupt (a rerun finishes the job; no chunk is ever half-written). Regrading
never overwrites: it adds new grade rows and marks the old ones not current, so
every grade a student ever saw is kept with the grader version that gave it.
"""

from __future__ import annotations

import gc
import json
import os
from collections import defaultdict, deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Sequence

from sqlalchemy import Text, and_, exists, func, insert, select, type_coerce, update

from .db import GRADING_LOCK, Store, lock_for_writing, now
from .misconceptions import canonical, slip_table
from .models import Grade, Question, Student, Submission
from .quizzes import quiz_info
from .solver import Solution, solve_raw

GRADER_VERSION = "1"
CHUNK = 2000

Progress = Callable[[int, int], None]


@dataclass
class QuestionKey:
    """What grading one question needs. The spec and the slip table are only fetched
    and computed for a question that someone got wrong (most answers are right)."""

    id: int
    kind: str
    template: str
    answer: dict[str, Any]
    points: int
    spec: Any = None  # the spec, or its JSON text until a diagnosis needs it
    _solution: Solution | None = field(default=None, repr=False)
    _tables: dict[str | None, dict[Any, str]] = field(default_factory=dict, repr=False)

    def slips(self, part: str | None = None) -> dict[Any, str]:
        """Wrong value → slip for one part, computed the first time a student gets it wrong."""
        table = self._tables.get(part)
        if table is None:
            if self._solution is None and self.kind != "inverse":
                assert self.spec is not None, "load the spec before diagnosing"
                self._solution = solve_raw(_loads(self.spec))
            table = self._tables[part] = slip_table(self.kind, self.answer, self._solution, part)  # type: ignore[arg-type]
        return table


@dataclass(frozen=True)
class Graded:
    score: float
    correct: bool
    misconception: str | None
    details: dict[str, Any]


def grade_answer(key: QuestionKey, parsed: Any) -> Graded:
    """Score one submitted answer against its key, naming a known slip if it explains it."""
    answer = key.answer
    if answer["type"] != "parts":
        right = canonical(answer["value"])
        given = canonical(parsed)
        if given == right:
            return Graded(float(key.points), True, None, {})
        return Graded(0.0, False, key.slips(None).get(given), {})
    parts = answer["parts"]
    given_parts = parsed if isinstance(parsed, dict) else {}
    results: dict[str, Any] = {}
    right_count = 0
    first_slip = None
    for part in parts:
        value = given_parts.get(part["key"])
        if value is None:
            results[part["key"]] = {"correct": False, "answered": False}
            continue
        ok = canonical(value) == canonical(part["value"])
        slip = None if ok else key.slips(part["key"]).get(canonical(value))
        right_count += ok
        first_slip = first_slip or slip
        results[part["key"]] = {"correct": ok, "misconception": slip} if slip else {"correct": ok}
    score = round(key.points * right_count / len(parts), 4)
    return Graded(score, right_count == len(parts), first_slip, {"parts": results})


def _ungraded():
    return ~exists().where(and_(Grade.submission_id == Submission.id, Grade.current.is_(True)))


@dataclass(frozen=True)
class GradeReport:
    graded: int
    chunks: int
    remaining: int


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
               limit_chunks: int | None = None, workers: int = 1) -> GradeReport:
    """Grade every ungraded submission of a quiz, one transaction per chunk.

    ``workers`` > 1 computes chunks in that many worker processes (spawned, so the
    calling program's main module must be import-safe: ``quizgen grade`` is) when
    there are at least PARALLEL_FROM submissions to grade; this process still does
    all reading and writing, in the same order and transactions.
    """
    with _no_gc_pauses():
        return _grade_quiz(store, quiz, chunk, progress, limit_chunks, workers)


def _grade_quiz(store: Store, quiz: str | int, chunk: int, progress: Progress | None,
                limit_chunks: int | None, workers: int) -> GradeReport:
    info = quiz_info(store, quiz)
    with store.read() as session:
        total = _ungraded_count(session, info.id)
    parallel = workers if workers > 1 and total >= PARALLEL_FROM and limit_chunks is None else 0
    graded = chunks = 0
    with _Computer(parallel) as computer:
        reader = _ChunkReader(store, info.id, chunk)
        pending: deque[Any] = deque()
        while True:
            # Keep a few chunks computing ahead while this process reads and writes.
            while len(pending) < computer.depth and (rows := reader.next()) is not None:
                pending.append(computer.submit(rows, reader.keys_for(rows)))
            if not pending or (limit_chunks is not None and chunks >= limit_chunks):
                break
            grades = pending.popleft().result()
            graded += _write_chunk(store, info.id, grades)
            chunks += 1
            if progress:
                progress(min(graded, total), total)
    with store.read() as session:
        remaining = _ungraded_count(session, info.id)
    return GradeReport(graded, chunks, remaining)


# Below this many ungraded submissions a second process costs more to start than it saves.
PARALLEL_FROM = 20_000


def _loads(value: Any) -> Any:
    """JSON columns arrive as text from SQLite and already decoded from PostgreSQL."""
    return json.loads(value) if isinstance(value, str) else value


class _ChunkReader:
    """Reads ungraded submissions in id order, a chunk at a time, as raw JSON text:
    decoding happens where the grading is computed (possibly another process)."""

    def __init__(self, store: Store, quiz_id: int, chunk: int):
        self.store, self.quiz_id, self.chunk = store, quiz_id, chunk
        self.last_id = 0

    def next(self) -> list[tuple[int, int, Any]] | None:
        with self.store.read() as session:
            rows = session.execute(select(Submission.id, Submission.question_id, type_coerce(Submission.parsed, Text))
                                   .where(Submission.quiz_id == self.quiz_id, Submission.id > self.last_id,
                                          _ungraded()).order_by(Submission.id).limit(self.chunk)).all()
        if not rows:
            return None
        self.last_id = rows[-1][0]
        return [tuple(r) for r in rows]

    def keys_for(self, rows: list[tuple[int, int, Any]]) -> dict[int, tuple[Any, ...]]:
        with self.store.read() as session:
            return read_keys(session, {r[1] for r in rows})


def read_keys(session: Any, ids: Iterable[int]) -> dict[int, tuple[Any, ...]]:
    """question id → (kind, template, answer, points, spec), the JSON left as text for compute_grades."""
    ids = list(ids)
    keys: dict[int, tuple[Any, ...]] = {}
    for start in range(0, len(ids), 500):
        for r in session.execute(select(Question.id, Question.kind, Question.template,
                                        type_coerce(Question.answer, Text), Question.points,
                                        type_coerce(Question.spec, Text))
                                 .where(Question.id.in_(ids[start:start + 500]))):
            keys[r[0]] = tuple(r[1:])
    return keys


def compute_grades(rows: list[tuple[int, int, Any]], keys: dict[int, tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """(submission id, score, max score, correct, misconception, details) for each row.

    A plain function of plain data, so it can run in a worker process."""
    questions: dict[int, QuestionKey] = {}
    out = []
    for sid, qid, parsed in rows:
        key = questions.get(qid)
        if key is None:
            kind, template, answer, points, spec = keys[qid]
            key = questions[qid] = QuestionKey(qid, kind, template, _loads(answer), points, spec)
        g = grade_answer(key, _loads(parsed))
        out.append((sid, g.score, float(key.points), g.correct, g.misconception, g.details))
    return out


class _Immediate:
    def __init__(self, value: Any):
        self.value = value

    def result(self) -> Any:
        return self.value


class _Computer:
    """Computes chunks in this process, or in a pool of ``workers`` worker processes."""

    def __init__(self, workers: int):
        self.pool = None
        self.depth = 1
        if workers > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self.pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_worker_start, initargs=(os.getpid(),))
            self.depth = 2 * workers

    def submit(self, rows: list[tuple[int, int, Any]], keys: dict[int, tuple[Any, ...]]) -> Any:
        if self.pool is None:
            return _Immediate(compute_grades(rows, keys))
        return self.pool.submit(compute_grades, rows, keys)

    def __enter__(self) -> "_Computer":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=exc[0] is None, cancel_futures=True)


def _worker_start(parent: int) -> None:
    """A worker never pauses for the GC (see _no_gc_pauses), and exits by itself when its
    grader is killed (kill -9 leaves no one to tell it)."""
    import threading

    gc.disable()
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def _write_chunk(store: Store, quiz_id: int, grades: list[tuple[Any, ...]]) -> int:
    """One transaction: the chunk's grades, minus any a concurrent grader wrote meanwhile."""
    stamp = now()
    with store.write() as session:
        lock_for_writing(session.connection(), GRADING_LOCK, quiz_id)
        done = set(session.scalars(select(Grade.submission_id).where(
            Grade.submission_id.in_([g[0] for g in grades]), Grade.current.is_(True))))
        batch = [{"submission_id": sid, "score": score, "max_score": top, "correct": ok, "misconception": slip,
                  "details": details, "grader_version": GRADER_VERSION, "current": True, "graded_at": stamp}
                 for sid, score, top, ok, slip, details in grades if sid not in done]
        if batch:
            _insert_grades(session.connection(), batch)
    store.checkpoint()
    return len(batch)


_GRADE_COLUMNS = ("submission_id", "score", "max_score", "correct", "misconception", "details", "grader_version",
                  "current", "graded_at")


def _insert_grades(conn: Any, rows: list[dict[str, Any]]) -> None:
    """Insert grade rows in one executemany.

    On SQLite the values are converted with the column types' own bind processors
    (so they are stored exactly as SQLAlchemy stores them) and handed straight to
    the driver: a third of a chunk's time was SQLAlchemy's per-row parameter handling.
    """
    table = Grade.__table__
    if conn.dialect.name != "sqlite":
        conn.execute(insert(table), rows)
        return
    processors = {c: table.c[c].type.bind_processor(conn.dialect) for c in _GRADE_COLUMNS}
    stamp_raw = rows[0]["graded_at"]
    stamp = processors["graded_at"](stamp_raw) if processors["graded_at"] else stamp_raw
    dump_details = processors["details"]
    empty = dump_details({}) if dump_details else "{}"
    values = [(r["submission_id"], r["score"], r["max_score"], int(r["correct"]), r["misconception"],
               empty if not r["details"] else dump_details(r["details"]), r["grader_version"], int(r["current"]),
               stamp if r["graded_at"] is stamp_raw else processors["graded_at"](r["graded_at"]))
              for r in rows]
    columns = ", ".join(_GRADE_COLUMNS)
    conn.exec_driver_sql(f"INSERT INTO grades ({columns}) VALUES ({', '.join('?' * len(_GRADE_COLUMNS))})", values)


def _ungraded_count(session: Any, quiz_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Submission)
                          .where(Submission.quiz_id == quiz_id, _ungraded())) or 0


@dataclass(frozen=True)
class Result:
    """The grade of the answer that counts for one student and question."""

    submission_id: int
    attempt: int
    score: float
    max_score: float
    correct: bool
    misconception: str | None
    details: dict[str, Any]
    raw: str
    parsed: Any


def counted_results(session: Any, quiz_id: int, counting: str,
                    student_ids: Sequence[int] | None = None) -> dict[int, dict[int, Result]]:
    """student → question → the graded answer that counts (last or best attempt)."""
    q = (select(Submission.id, Submission.student_id, Submission.question_id, Submission.attempt, Submission.raw,
                Submission.parsed, Grade.score, Grade.max_score, Grade.correct, Grade.misconception, Grade.details)
         .join(Grade, and_(Grade.submission_id == Submission.id, Grade.current.is_(True)))
         .where(Submission.quiz_id == quiz_id))
    if student_ids is not None:
        q = q.where(Submission.student_id.in_(list(student_ids)))
    out: dict[int, dict[int, Result]] = defaultdict(dict)
    for r in session.execute(q):
        candidate = Result(r.id, r.attempt, r.score, r.max_score, r.correct, r.misconception, r.details or {},
                           r.raw, r.parsed)
        current = out[r.student_id].get(r.question_id)
        if current is None or _better(candidate, current, counting):
            out[r.student_id][r.question_id] = candidate
    return out


def _better(a: Result, b: Result, counting: str) -> bool:
    if counting == "best" and a.score != b.score:
        return a.score > b.score
    return a.attempt > b.attempt


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


def regrade(store: Store, quiz: str | int, apply: bool = False, chunk: int = CHUNK) -> RegradeReport:
    """Grade every graded submission again with the current key; a dry run unless ``apply``."""
    info = quiz_info(store, quiz)
    with store.read() as session:
        rows = session.execute(
            select(Submission.id, Submission.student_id, Submission.question_id, Submission.attempt,
                   type_coerce(Submission.parsed, Text).label("parsed"), Grade.id.label("grade_id"), Grade.score,
                   Grade.correct, Grade.misconception, Grade.details)
            .join(Grade, and_(Grade.submission_id == Submission.id, Grade.current.is_(True)))
            .where(Submission.quiz_id == info.id).order_by(Submission.id)).all()
        keys = read_keys(session, {r.question_id for r in rows})
        names = {r.id: (r.external_id, r.name) for r in session.execute(select(Student.id, Student.external_id,
                                                                                Student.name))}
    stamp = now()
    changed = []
    old_scores: dict[tuple[int, int], list[tuple[int, float]]] = defaultdict(list)
    new_scores: dict[tuple[int, int], list[tuple[int, float]]] = defaultdict(list)
    with _no_gc_pauses():
        new_grades = compute_grades([(r.id, r.question_id, r.parsed) for r in rows], keys)
    for r, (_, score, top, correct, slip, details) in zip(rows, new_grades):
        old_scores[(r.student_id, r.question_id)].append((r.attempt, r.score))
        new_scores[(r.student_id, r.question_id)].append((r.attempt, score))
        if (score, correct, slip, details) != (r.score, r.correct, r.misconception, r.details or {}):
            changed.append((r.grade_id, {"submission_id": r.id, "score": score, "max_score": top, "correct": correct,
                                         "misconception": slip, "details": details,
                                         "grader_version": GRADER_VERSION, "current": True, "graded_at": stamp}))
    old_totals = _totals(old_scores, info.counting)
    new_totals = _totals(new_scores, info.counting)
    changes = [ScoreChange(names[s][0], names[s][1], old_totals.get(s, 0.0), new_totals.get(s, 0.0))
               for s in sorted(set(old_totals) | set(new_totals), key=lambda s: names[s][0])
               if abs(old_totals.get(s, 0.0) - new_totals.get(s, 0.0)) > 1e-9]
    if apply and changed:
        for start in range(0, len(changed), chunk):
            part = changed[start:start + chunk]
            with store.write() as session:
                lock_for_writing(session.connection(), GRADING_LOCK, info.id)
                session.execute(update(Grade).where(Grade.id.in_([gid for gid, _ in part])).values(current=False))
                _insert_grades(session.connection(), [row for _, row in part])
    return RegradeReport(len(changed), changes, apply)


def _totals(scores: dict[tuple[int, int], list[tuple[int, float]]], counting: str) -> dict[int, float]:
    totals: dict[int, float] = defaultdict(float)
    for (student, _), attempts in scores.items():
        if counting == "best":
            totals[student] += max(score for _, score in attempts)
        else:
            totals[student] += max(attempts)[1]
    return dict(totals)


__all__ = ["grade_quiz", "regrade", "grade_answer", "counted_results", "GRADER_VERSION"]
