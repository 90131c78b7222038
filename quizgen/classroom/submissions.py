"""Students submitting answers, and seeing their own attempts.

Nothing a student command does reads the answer key: questions are loaded
through their ``response`` column (the answer's form, without values), and
scores come from the grades table. Every submission is appended, never
overwritten; an attempt is written whole or not at all (its ``attempts`` row and
one ``submissions`` row per answered question, in one transaction), and a
malformed answer rejects the attempt before anything is written (it does not use
up an attempt). The quiz's rules (deadline, attempt limit, feedback policy) come
from classroom.policies, the same for every front end.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from sqlalchemy import func, insert, select

from ..clock import now, show
from ..errors import clip
from ..grading.answers import AnswerError, parse_answer
from ..store.db import Store
from ..store.lookup import parse_quiz_id
from ..store.tables import Attempt, Question, Quiz, Student, Submission, Variant
from .policies import SubmissionRefused, refuse_if_closed, refuse_if_spent, visibility
from .students import authenticate

_NUMBER = re.compile(r"[0-9]{1,9}")  # question and part numbers: plain ASCII integers


@dataclass(frozen=True)
class Receipt:
    """What the student is told once the attempt is committed: made before the commit, so
    telling it cannot fail after the attempt is stored."""

    quiz_id: int
    student: str
    attempt: int
    answered: int
    submitted_at: datetime
    time_zone: str
    submitted_local: str  # submitted_at as the quiz's people read it, with the offset
    replayed: bool = False  # the same attempt sent again (same idempotency key): nothing new stored

    def to_json(self) -> dict[str, Any]:
        return {"quiz": self.quiz_id, "student": self.student, "attempt": self.attempt, "answers": self.answered,
                "submitted_at": self.submitted_at.isoformat()}


@dataclass(frozen=True)
class Slot:
    """A question as submission needs it: its id, number and answer form (never its key)."""

    question_id: int
    slot: int
    response: dict[str, Any]


def load_slots(session: Any, quiz_id: int, student_pk: int) -> dict[int, Slot]:
    """The student's questions by number (empty: the student has no variant of the quiz)."""
    variant = session.scalar(select(Variant.id).where(Variant.quiz_id == quiz_id, Variant.student_id == student_pk))
    if variant is None:
        return {}
    rows = session.execute(select(Question.id, Question.slot, Question.response)
                           .where(Question.variant_id == variant)).all()
    return {r.slot: Slot(r.id, r.slot, r.response) for r in rows}


def not_on_quiz(quiz_id: int, student_id: str) -> SubmissionRefused:
    """A student with no variant of the quiz, told how that is fixed."""
    return SubmissionRefused(f"student {clip(student_id, 64)!r} is not on quiz {quiz_id}; the instructor can add "
                             f"them with 'quizgen quiz add-students {quiz_id} --student {clip(student_id, 64)}'")


def _shown(key: str) -> str:
    return repr(clip(key, 20))


def parse_submission(slots: Mapping[int, Slot], answers: Mapping[str, str]) -> dict[int, tuple[str, Any]]:
    """slot → (raw text, parsed value); every problem reported together in one line.

    Question and part numbers are plain integers (``3``, ``3.1``; ``03.01`` is the same
    part, and giving it twice under two spellings is refused as a duplicate)."""
    errors: list[str] = []
    by_slot: dict[int, dict[str, tuple[str, str]]] = {}  # slot → part label → (key as given, raw)
    for key, raw in answers.items():
        number, dot, part = key.strip().partition(".")
        if not _NUMBER.fullmatch(number) or (dot and not part):
            errors.append(f"{_shown(key)} is not a question number (write 3 or 3.1)")
            continue
        slot = int(number)
        if slot not in slots:
            errors.append(f"there is no question {slot} (this quiz has {len(slots)})")
            continue
        label = str(int(part)) if _NUMBER.fullmatch(part) else part
        given = by_slot.setdefault(slot, {})
        if label in given:
            errors.append(f"question {slot}{'.' + label if label else ''} is answered twice "
                          f"(as {_shown(given[label][0])} and {_shown(key)})")
            continue
        given[label] = (key, raw)
    parsed: dict[int, tuple[str, Any]] = {}
    for slot, given in sorted(by_slot.items()):
        response = slots[slot].response
        if response["type"] != "parts":
            if set(given) != {""}:
                errors.append(f"question {slot} takes one answer: write {slot}=VALUE")
                continue
            raw = given[""][1]
            try:
                parsed[slot] = (raw, parse_answer(response["type"], raw))
            except AnswerError as exc:
                errors.append(f"answer {slot}: {exc}")
            continue
        parts = response["parts"]
        if "" in given:
            errors.append(f"question {slot} has {len(parts)} parts: answer them as {slot}.1=..., {slot}.2=...")
            continue
        values: dict[str, Any] = {}
        texts: dict[str, str] = {}
        for label, (_, raw) in given.items():
            part = _find_part(parts, label)
            if part is None:
                errors.append(f"question {slot} has no part {_shown(label)} (parts 1-{len(parts)})")
                continue
            if part["key"] in values:
                errors.append(f"question {slot}, part {part['key']} is answered twice")
                continue
            try:
                values[part["key"]] = parse_answer(part["type"], raw)
                texts[label] = raw
            except AnswerError as exc:
                errors.append(f"answer {slot}.{label}: {exc}")
        # in the key's part order, so a right answer's stored text equals the key's expected text
        in_order = {p["key"]: values[p["key"]] for p in parts if p["key"] in values}
        parsed[slot] = (json.dumps(texts, ensure_ascii=False, sort_keys=True), in_order)
    if errors:
        raise AnswerError("; ".join(errors) + " (nothing was submitted)")
    if not parsed:
        raise AnswerError("no answers given (use --answer N=VALUE or --file)")
    return parsed


def _find_part(parts: list[dict[str, Any]], label: str) -> dict[str, Any] | None:
    if _NUMBER.fullmatch(label):
        n = int(label)
        return parts[n - 1] if 1 <= n <= len(parts) else None
    return next((p for p in parts if p["key"] == label), None)


def request_hash(parsed: Mapping[int, tuple[str, Any]]) -> str:
    """SHA-256 of an attempt's answers in a canonical form: what makes a resent attempt
    recognisable as the same one (and a reused idempotency key with other answers not)."""
    canonical = json.dumps({str(slot): raw for slot, (raw, _) in sorted(parsed.items())},
                           ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def attempts_used(session: Any, quiz_id: int, student_pk: int) -> int:
    return session.scalar(select(func.coalesce(func.max(Attempt.attempt), 0))
                          .where(Attempt.quiz_id == quiz_id, Attempt.student_id == student_pk)) or 0


def _quiz(session: Any, quiz_id: int) -> Quiz:
    from ..errors import NotFoundError

    quiz = session.get(Quiz, quiz_id)
    if quiz is None:
        raise NotFoundError(f"no quiz {quiz_id}")
    return quiz


def lock_student(session: Any, student_pk: int) -> None:
    """One attempt number per student at a time: SQLite's write lock is already held
    (BEGIN IMMEDIATE); on PostgreSQL the student's row is locked."""
    session.execute(select(Student.id).where(Student.id == student_pk).with_for_update())


def record_attempt(session: Any, quiz_id: int, student_pk: int, slots: Mapping[int, Slot],
                   parsed: Mapping[int, tuple[str, Any]], at: datetime, source: str,
                   idempotency_key: str | None = None, digest: str | None = None) -> int:
    """Insert one attempt (its row and its answers) in the caller's transaction; returns its number."""
    attempt = attempts_used(session, quiz_id, student_pk) + 1
    session.execute(insert(Attempt), [{"quiz_id": quiz_id, "student_id": student_pk, "attempt": attempt,
                                       "received_at": at, "source": source, "idempotency_key": idempotency_key,
                                       "request_hash": digest or request_hash(parsed)}])
    session.execute(insert(Submission), [
        {"quiz_id": quiz_id, "student_id": student_pk, "question_id": slots[slot].question_id,
         "attempt": attempt, "raw": raw, "parsed": value, "submitted_at": at}
        for slot, (raw, value) in parsed.items()])
    return attempt


def submit(store: Store, quiz: str | int, student_id: str, token: str | None, answers: Mapping[str, str],
           at: datetime | None = None) -> Receipt:
    """Record one attempt: all its answers, or (on any problem) nothing."""
    quiz_id = parse_quiz_id(quiz)
    at = at or now()
    with store.read() as session:
        student = authenticate(session, student_id, token)
        quiz_row = _quiz(session, quiz_id)
        refuse_if_closed(quiz_id, quiz_row.deadline, quiz_row.time_zone, at)
        slots = load_slots(session, quiz_id, student.id)
        if not slots:
            raise not_on_quiz(quiz_id, student_id)
        student_pk, zone = student.id, quiz_row.time_zone
    parsed = parse_submission(slots, answers)  # before any lock: a typo costs nothing
    shown = show(at, zone, seconds=True)
    with store.write() as session:
        lock_student(session, student_pk)
        quiz_row = _quiz(session, quiz_id)
        refuse_if_closed(quiz_id, quiz_row.deadline, quiz_row.time_zone, at)
        refuse_if_spent(quiz_id, quiz_row.attempt_limit, attempts_used(session, quiz_id, student_pk))
        attempt = record_attempt(session, quiz_id, student_pk, slots, parsed, at, "cli")
        receipt = Receipt(quiz_id, student_id, attempt, len(parsed), at, zone, shown)
    return receipt


@dataclass(frozen=True)
class QuestionStatus:
    slot: int
    points: int
    answered: bool  # whether a graded answer counts for this question
    score: float | None  # None: hidden by the feedback policy, or not answered
    correct: bool | None  # None: hidden (only shown under full feedback), or not answered
    misconception: str | None  # the slip a wrong answer shows (full feedback only)
    parts: dict[str, Any] | None  # per-part results (full feedback only)


@dataclass(frozen=True)
class AttemptInfo:
    attempt: int
    submitted_at: datetime
    answers: int


@dataclass(frozen=True)
class StatusReport:
    """A student's own view of a quiz, already filtered by its feedback policy: a front
    end shows what is here and cannot show what the policy hides."""

    quiz_id: int
    title: str
    language: str
    student: str
    feedback: str
    counting: str
    time_zone: str
    attempts: list[AttemptInfo]
    attempt_limit: int | None
    deadline: datetime | None
    graded: bool
    score: float | None  # None unless the policy shows scores and something is graded
    max_score: int
    questions: list[QuestionStatus] | None  # None unless the policy shows scores

    def to_json(self) -> dict[str, Any]:
        """What ``status --json`` prints: per-question results only under full feedback."""
        return {
            "quiz": self.quiz_id, "student": self.student, "feedback": self.feedback,
            "attempts": [{"attempt": a.attempt, "submitted_at": a.submitted_at.isoformat(), "answers": a.answers}
                         for a in self.attempts],
            "attempt_limit": self.attempt_limit, "graded": self.graded, "score": self.score,
            "max_score": self.max_score,
            "questions": None if self.questions is None or self.feedback != "full" else [
                {"slot": q.slot, "points": q.points, "score": q.score, "correct": q.correct,
                 "misconception": q.misconception} for q in self.questions],
        }


def status(store: Store, quiz: str | int, student_id: str, token: str | None) -> StatusReport:
    """A student's own attempts and, as the quiz's feedback policy allows, their grades."""
    from .results import counted_results

    quiz_id = parse_quiz_id(quiz)
    with store.read() as session:
        student = authenticate(session, student_id, token)
        quiz_row = _quiz(session, quiz_id)
        slots = load_slots(session, quiz_id, student.id)
        if not slots:
            raise not_on_quiz(quiz_id, student_id)
        counts = dict(session.execute(select(Submission.attempt, func.count())
                                      .where(Submission.quiz_id == quiz_id, Submission.student_id == student.id)
                                      .group_by(Submission.attempt)).all())
        attempts = [AttemptInfo(r.attempt, r.received_at, counts.get(r.attempt, 0)) for r in session.execute(
            select(Attempt.attempt, Attempt.received_at)
            .where(Attempt.quiz_id == quiz_id, Attempt.student_id == student.id).order_by(Attempt.attempt))]
        points = dict(session.execute(select(Question.slot, Question.points)
                                      .where(Question.id.in_([s.question_id for s in slots.values()]))).all())
        results = counted_results(session, quiz_id, quiz_row.counting, [student.id]).get(student.id, {})
        seen = visibility(quiz_row.feedback)
        graded = bool(results)
        questions = None
        if seen.score:
            questions = []
            for slot in sorted(slots):
                r = results.get(slots[slot].question_id)
                full = seen.details and r is not None
                questions.append(QuestionStatus(
                    slot, points[slot], r is not None, None if r is None else r.score,
                    r.correct if full else None, r.misconception if full else None,
                    r.details.get("parts") if full else None))
        total = sum(q.score or 0 for q in questions) if (questions is not None and graded) else None
        return StatusReport(quiz_id, quiz_row.title, quiz_row.language, student_id, quiz_row.feedback,
                            quiz_row.counting, quiz_row.time_zone, attempts, quiz_row.attempt_limit,
                            quiz_row.deadline, graded, total, sum(points.values()), questions)
