"""Students submitting answers, and seeing their own attempts.

Nothing a student command does reads the answer key: questions are loaded
through their ``response`` column (the answer's form, without values), and
scores come from the grades table that ``quizgen grade`` writes. Every
submission is appended, never overwritten; an attempt is written whole or not at
all, and a malformed answer rejects the attempt before anything is written (it
does not use up an attempt).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

from sqlalchemy import func, insert, select

from ..grading.answers import AnswerError, parse_answer
from ..store.db import Store, now
from ..errors import InputFileError, NotFoundError, QuizgenError
from ..files import MalformedJSON, decode_json, read_text_file
from ..store.tables import Question, Quiz, Student, Submission, Variant
from ..store.lookup import parse_quiz_id
from .students import authenticate

MAX_FILE_BYTES = 1_000_000


class SubmissionRefused(QuizgenError):
    """A closed quiz, a spent attempt limit, or a student not on the quiz."""


def utc(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back without their zone; quizgen stores UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Receipt:
    quiz_id: int
    student: str
    attempt: int
    answered: int
    submitted_at: datetime


def parse_answer_args(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``1=529,441`` / ``3.2=(None, 30, 100)`` pairs from the command line."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise AnswerError(f"--answer {pair[:40]!r} should look like N=VALUE, e.g. --answer 1=529441")
        if key in out:
            raise AnswerError(f"question {key} is answered twice")
        out[key] = value
    return out


def read_answers_file(path: str) -> dict[str, str]:
    """Answers from ``answers.json`` ({"1": "529441", ...}) or ``answers.csv`` (question,answer)."""
    text = read_text_file(path, "answers file", MAX_FILE_BYTES)
    if path.lower().endswith(".csv"):
        return _answers_from_csv(text, path)
    return _answers_from_json(text, path)


def _decode(text: str, path: str, object_pairs_hook: Any = None) -> Any:
    try:
        return decode_json(text, object_pairs_hook)
    except MalformedJSON as exc:
        raise InputFileError(f"{path}: malformed JSON ({exc})") from None


def _answers_from_json(text: str, path: str) -> dict[str, str]:
    data = _decode(text, path, _no_duplicates)
    if isinstance(data, dict) and isinstance(data.get("answers"), (dict, list)):
        data = data["answers"]
    if isinstance(data, list):
        pairs = {}
        for item in data:
            if not isinstance(item, dict) or "question" not in item or "answer" not in item:
                raise InputFileError(f"{path}: a list of answers needs objects with \"question\" and \"answer\"")
            key = str(item["question"])
            if key in pairs:
                raise InputFileError(f"{path}: question {key} is answered twice")
            pairs[key] = item["answer"]
        data = pairs
    if not isinstance(data, dict):
        raise InputFileError(f'{path}: expected an object like {{"1": "529441", "3": "(None, 30, 100)"}}')
    out = {}
    for key, value in data.items():
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise InputFileError(f"{path}: the answer to {key} must be text or a whole number")
        out[str(key)] = str(value)
    return out


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise InputFileError(f"duplicate key {key!r} in the answers file")
        seen[key] = value
    return seen


def _answers_from_csv(text: str, path: str) -> dict[str, str]:
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InputFileError(f"{path}: not a readable CSV file ({exc})") from None
    if not rows or [c.strip().lower() for c in rows[0]][:2] != ["question", "answer"]:
        raise InputFileError(f"{path}: the header must be question,answer")
    out: dict[str, str] = {}
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != 2:
            raise InputFileError(f"{path}, line {n}: expected 2 cells (question, answer), found {len(row)}")
        key = row[0].strip()
        if key in out:
            raise InputFileError(f"{path}, line {n}: question {key} is answered twice")
        out[key] = row[1]
    return out


@dataclass(frozen=True)
class _Slot:
    question_id: int
    slot: int
    response: dict[str, Any]


def _load_slots(session: Any, quiz_id: int, student_pk: int) -> dict[int, _Slot]:
    variant = session.scalar(select(Variant.id).where(Variant.quiz_id == quiz_id, Variant.student_id == student_pk))
    if variant is None:
        return {}
    rows = session.execute(select(Question.id, Question.slot, Question.response)
                           .where(Question.variant_id == variant)).all()
    return {r.slot: _Slot(r.id, r.slot, r.response) for r in rows}


def parse_submission(slots: Mapping[int, _Slot], answers: Mapping[str, str]) -> dict[int, tuple[str, Any]]:
    """slot → (raw text, parsed value); every problem reported together in one line."""
    errors: list[str] = []
    by_slot: dict[int, dict[str, str]] = {}
    for key, raw in answers.items():
        number, _, part = key.partition(".")
        try:
            slot = int(number)
        except ValueError:
            errors.append(f"{key!r} is not a question number")
            continue
        if slot not in slots:
            errors.append(f"there is no question {slot} (this quiz has {len(slots)})")
            continue
        by_slot.setdefault(slot, {})[part] = raw
    parsed: dict[int, tuple[str, Any]] = {}
    for slot, given in sorted(by_slot.items()):
        response = slots[slot].response
        if response["type"] != "parts":
            if set(given) != {""}:
                errors.append(f"question {slot} takes one answer: write {slot}=VALUE")
                continue
            try:
                parsed[slot] = (given[""], parse_answer(response["type"], given[""]))
            except AnswerError as exc:
                errors.append(f"answer {slot}: {exc}")
            continue
        parts = response["parts"]
        if "" in given:
            errors.append(f"question {slot} has {len(parts)} parts: answer them as {slot}.1=..., {slot}.2=...")
            continue
        values: dict[str, Any] = {}
        for label, raw in given.items():
            part = _find_part(parts, label)
            if part is None:
                errors.append(f"question {slot} has no part {label!r} (parts 1-{len(parts)})")
                continue
            try:
                values[part["key"]] = parse_answer(part["type"], raw)
            except AnswerError as exc:
                errors.append(f"answer {slot}.{label}: {exc}")
        # in the key's part order, so a right answer's stored text equals the key's expected text
        in_order = {p["key"]: values[p["key"]] for p in parts if p["key"] in values}
        parsed[slot] = (json.dumps(given, ensure_ascii=False, sort_keys=True), in_order)
    if errors:
        raise AnswerError("; ".join(errors) + " (nothing was submitted)")
    if not parsed:
        raise AnswerError("no answers given (use --answer N=VALUE or --file)")
    return parsed


def _find_part(parts: list[dict[str, Any]], label: str) -> dict[str, Any] | None:
    if label.isdigit() and 1 <= int(label) <= len(parts):
        return parts[int(label) - 1]
    return next((p for p in parts if p["key"] == label), None)


def _attempts_used(session: Any, quiz_id: int, student_pk: int) -> int:
    return session.scalar(select(func.coalesce(func.max(Submission.attempt), 0))
                          .where(Submission.quiz_id == quiz_id, Submission.student_id == student_pk)) or 0


def _open_quiz(session: Any, quiz_id: int, at: datetime) -> Quiz:
    quiz = session.get(Quiz, quiz_id)
    if quiz is None:
        raise NotFoundError(f"no quiz {quiz_id}")
    deadline = utc(quiz.deadline)
    if deadline is not None and at > deadline:
        raise SubmissionRefused(f"quiz {quiz_id} closed at {deadline.astimezone():%Y-%m-%d %H:%M}; "
                                "submissions are no longer accepted")
    return quiz


def submit(store: Store, quiz: str | int, student_id: str, token: str | None, answers: Mapping[str, str],
           at: datetime | None = None) -> Receipt:
    """Record one attempt: all its answers, or (on any problem) nothing."""
    quiz_id = parse_quiz_id(quiz)
    at = at or now()
    with store.read() as session:
        student = authenticate(session, student_id, token)
        _open_quiz(session, quiz_id, at)
        slots = _load_slots(session, quiz_id, student.id)
        if not slots:
            raise SubmissionRefused(f"student {student_id!r} is not on quiz {quiz_id}")
        student_pk = student.id
    parsed = parse_submission(slots, answers)  # before any lock: a typo costs nothing
    with store.write() as session:
        # One attempt number per student at a time: SQLite's write lock is already held
        # (BEGIN IMMEDIATE); on PostgreSQL the student's row is locked instead.
        session.execute(select(Student.id).where(Student.id == student_pk).with_for_update())
        quiz_row = _open_quiz(session, quiz_id, at)
        used = _attempts_used(session, quiz_id, student_pk)
        if quiz_row.attempt_limit is not None and used >= quiz_row.attempt_limit:
            raise SubmissionRefused(f"all {quiz_row.attempt_limit} attempt(s) on quiz {quiz_id} are used")
        attempt = used + 1
        session.execute(insert(Submission), [
            {"quiz_id": quiz_id, "student_id": student_pk, "question_id": slots[slot].question_id,
             "attempt": attempt, "raw": raw, "parsed": value, "submitted_at": at}
            for slot, (raw, value) in parsed.items()])
    return Receipt(quiz_id, student_id, attempt, len(parsed), at)


@dataclass(frozen=True)
class QuestionStatus:
    slot: int
    points: int
    answered: bool
    score: float | None
    correct: bool | None
    misconception: str | None
    parts: dict[str, Any] | None


@dataclass(frozen=True)
class StatusReport:
    quiz_id: int
    title: str
    language: str
    student: str
    feedback: str
    counting: str
    attempts: list[tuple[int, datetime, int]]  # (attempt, submitted at, answers)
    attempt_limit: int | None
    deadline: datetime | None
    graded: bool
    score: float | None
    max_score: int
    questions: list[QuestionStatus]


def status(store: Store, quiz: str | int, student_id: str, token: str | None) -> StatusReport:
    """A student's own attempts and, as the quiz's feedback policy allows, their grades."""
    from ..grading.batch import counted_results

    quiz_id = parse_quiz_id(quiz)
    with store.read() as session:
        student = authenticate(session, student_id, token)
        quiz_row = session.get(Quiz, quiz_id)
        if quiz_row is None:
            raise NotFoundError(f"no quiz {quiz_id}")
        slots = _load_slots(session, quiz_id, student.id)
        if not slots:
            raise SubmissionRefused(f"student {student_id!r} is not on quiz {quiz_id}")
        attempts = [(r[0], utc(r[1]), r[2]) for r in session.execute(
            select(Submission.attempt, func.min(Submission.submitted_at), func.count())
            .where(Submission.quiz_id == quiz_id, Submission.student_id == student.id)
            .group_by(Submission.attempt).order_by(Submission.attempt)).all()]
        points = dict(session.execute(select(Question.slot, Question.points)
                                      .where(Question.id.in_([s.question_id for s in slots.values()]))).all())
        results = counted_results(session, quiz_id, quiz_row.counting, [student.id]).get(student.id, {})
        questions = []
        graded = bool(results)
        for slot in sorted(slots):
            r = results.get(slots[slot].question_id)
            questions.append(QuestionStatus(slot, points[slot], r is not None,
                                            None if r is None else r.score, None if r is None else r.correct,
                                            None if r is None else r.misconception,
                                            None if r is None else r.details.get("parts")))
        total = sum(q.score or 0 for q in questions) if graded else None
        return StatusReport(quiz_id, quiz_row.title, quiz_row.language, student_id, quiz_row.feedback, quiz_row.counting, attempts,
                            quiz_row.attempt_limit, utc(quiz_row.deadline), graded, total,
                            sum(points.values()), questions)


# ---------------------------------------------------------------- importing an LMS export

class ImportRefused(QuizgenError):
    """Some rows of an import could not be taken; nothing was imported."""


@dataclass(frozen=True)
class ImportReport:
    imported: int
    students: int


@dataclass(frozen=True)
class _ImportRow:
    """One row of an import; a row that is not (student, question, answer) keeps its line for the report."""

    line: int
    student: str = ""
    question: str = ""
    answer: str = ""
    malformed: bool = False


def _import_rows(path: str) -> list[_ImportRow]:
    """The rows of a CSV (student,question,answer) or JSON file of answers."""
    text = read_text_file(path, "submissions file", 50 * MAX_FILE_BYTES)
    if path.lower().endswith(".csv"):
        try:
            rows = list(csv.reader(io.StringIO(text, newline="")))
        except csv.Error as exc:
            raise InputFileError(f"{path}: not a readable CSV file ({exc})") from None
        header = [c.strip().lower() for c in rows[0]] if rows else []
        if header[:3] != ["student", "question", "answer"]:
            raise InputFileError(f"{path}: the header must be student,question,answer")
        out = []
        for n, row in enumerate(rows[1:], start=2):
            if not any(c.strip() for c in row):
                continue
            out.append(_ImportRow(n, *row) if len(row) == 3 else _ImportRow(n, malformed=True))
        return out
    data = _decode(text, path)
    if not isinstance(data, list):
        raise InputFileError(f'{path}: expected a list of {{"student": ..., "question": ..., "answer": ...}}')
    out = []
    for n, item in enumerate(data, start=1):
        if not isinstance(item, dict) or not {"student", "question", "answer"} <= set(item):
            out.append(_ImportRow(n, malformed=True))
            continue
        out.append(_ImportRow(n, str(item["student"]), str(item["question"]), str(item["answer"])))
    return out


def import_submissions(store: Store, quiz: str | int, path: str) -> ImportReport:
    """Load answers collected elsewhere: every row, or (if any is refused) none."""
    quiz_id = parse_quiz_id(quiz)
    rows = _import_rows(path)
    if not rows:
        raise ImportRefused(f"{path} has no rows to import")
    refused: list[str] = []
    per_student: dict[str, dict[str, str]] = {}
    for row in rows:
        if row.malformed:
            refused.append(f"row {row.line}: expected student, question and answer")
            continue
        answers = per_student.setdefault(row.student.strip(), {})
        if row.question.strip() in answers:
            refused.append(f"row {row.line}: student {row.student!r} answers question {row.question} twice")
            continue
        answers[row.question.strip()] = row.answer
    with store.read() as session:
        if session.get(Quiz, quiz_id) is None:
            raise NotFoundError(f"no quiz {quiz_id}")
        students = {s.external_id: s.id for s in session.execute(
            select(Student.id, Student.external_id).where(Student.external_id.in_(list(per_student))))}
        parsed_all: dict[int, dict[int, tuple[str, Any]]] = {}
        slots_all: dict[int, dict[int, _Slot]] = {}
        for sid, answers in per_student.items():
            if sid not in students:
                refused.append(f"student {sid!r} is not on the roster")
                continue
            slots = _load_slots(session, quiz_id, students[sid])
            if not slots:
                refused.append(f"student {sid!r} is not on quiz {quiz_id}")
                continue
            try:
                parsed_all[students[sid]] = parse_submission(slots, answers)
                slots_all[students[sid]] = slots
            except AnswerError as exc:
                refused.append(f"student {sid!r}: {str(exc).removesuffix(' (nothing was submitted)')}")
    if refused:
        shown = "; ".join(refused[:10]) + (f"; and {len(refused) - 10} more" if len(refused) > 10 else "")
        raise ImportRefused(f"{len(refused)} problem(s), nothing imported: {shown}")
    at = now()
    count = 0
    with store.write() as session:
        session.execute(select(Student.id).where(Student.id.in_(list(parsed_all))).with_for_update())
        for student_pk, parsed in parsed_all.items():
            attempt = _attempts_used(session, quiz_id, student_pk) + 1
            slots = slots_all[student_pk]
            session.execute(insert(Submission), [
                {"quiz_id": quiz_id, "student_id": student_pk, "question_id": slots[slot].question_id,
                 "attempt": attempt, "raw": raw, "parsed": value, "submitted_at": at}
                for slot, (raw, value) in parsed.items()])
            count += len(parsed)
    return ImportReport(count, len(parsed_all))
