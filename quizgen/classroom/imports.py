"""Importing answers collected elsewhere (an LMS export): every row, or none.

The quiz's rules apply as they do to ``submit``: a student at their attempt limit,
or answers after the deadline, are refused unless the instructor overrides that
rule explicitly (the report counts the rows let through). Importing the same file
again adds nothing: each student's rows of a file are one attempt whose
idempotency key is the file's SHA-256, so the second import finds it and skips it.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from ..clock import MAX_YEAR, MIN_YEAR, DeadlineError, as_utc, deadline_from_wall, now, parse_deadline
from ..errors import InputFileError, NotFoundError, QuizgenError, clip
from ..files import MalformedJSON, decode_json, read_file_bytes
from ..grading.answers import AnswerError
from ..ids import parse_quiz_id
from ..receipts import request_sha256
from ..resources import message
from ..store.db import Store
from ..store.tables import Attempt, Student, get_quiz
from .attempts import lock_for_attempts, record_attempt
from .keys import Signing
from .policies import AttemptsExhausted, QuizClosed, refuse_if_closed, refuse_if_spent, student_rules
from .submissions import Slot, attempts_used, load_slots, parse_submission
from .tlog import sequence_quietly

MAX_IMPORT_BYTES = 50_000_000
_SHOWN_PROBLEMS = 10


class ImportRefused(QuizgenError):
    """Some rows of an import could not be taken; nothing was imported."""


@dataclass(frozen=True)
class ImportReport:
    imported: int  # answers stored
    students: int  # students given a new attempt
    already_imported: int  # students whose rows of this file were imported before (skipped)
    late: int  # answers given after the student's deadline: in the late window (as submit takes them) or forced
    after_close: int  # of those, answers given after the late window too, let through by ignore_deadline
    over_limit: int  # answers let through by ignore_attempt_limit

    def to_json(self) -> dict[str, int]:
        return {"imported": self.imported, "students": self.students, "already_imported": self.already_imported,
                "late": self.late, "after_close": self.after_close, "over_attempt_limit": self.over_limit}


@dataclass(frozen=True)
class _Row:
    """One row of an import; a row that is not (student, question, answer) keeps its line for the report."""

    line: int
    student: str = ""
    question: str = ""
    answer: str = ""
    submitted_at: str = ""
    malformed: bool = False


def _rows(path: str, data: bytes) -> list[_Row]:
    """The rows of a CSV (student,question,answer[,submitted_at]) or JSON file of answers."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputFileError(f"{clip(path, 80)}: not UTF-8 text (save the submissions file as UTF-8)") from None
    if path.lower().endswith(".csv"):
        try:
            rows = list(csv.reader(io.StringIO(text, newline="")))
        except csv.Error as exc:
            raise InputFileError(f"{clip(path, 80)}: not a readable CSV file ({exc})") from None
        header = [c.strip().lower() for c in rows[0]] if rows else []
        if header[:3] != ["student", "question", "answer"] or header[3:] not in ([], ["submitted_at"]):
            raise InputFileError(f"{clip(path, 80)}: the header must be student,question,answer "
                                 "(and optionally submitted_at)")
        width = len(header)
        out = []
        for n, row in enumerate(rows[1:], start=2):
            if not any(c.strip() for c in row):
                continue
            out.append(_Row(n, *row) if len(row) == width else _Row(n, malformed=True))  # type: ignore[arg-type]
        return out
    try:
        data_ = decode_json(text)
    except MalformedJSON as exc:
        raise InputFileError(f"{clip(path, 80)}: malformed JSON ({exc})") from None
    if not isinstance(data_, list):
        raise InputFileError(f'{clip(path, 80)}: expected a list of {{"student": ..., "question": ..., '
                             '"answer": ...}}')
    out = []
    for n, item in enumerate(data_, start=1):
        if not isinstance(item, dict) or not {"student", "question", "answer"} <= set(item):
            out.append(_Row(n, malformed=True))
            continue
        out.append(_Row(n, str(item["student"]), str(item["question"]), str(item["answer"]),
                        str(item.get("submitted_at") or "")))
    return out


@dataclass
class _Pending:
    """One student's rows of the file: their answers and when the file says they were given."""

    answers: dict[str, str]
    latest: datetime | None = None
    pk: int = 0
    slots: dict[int, Slot] | None = None
    parsed: dict[int, tuple[str, Any]] | None = None


def import_submissions(store: Store, quiz: str | int, path: str, signing: Signing, ignore_deadline: bool = False,
                       ignore_attempt_limit: bool = False) -> ImportReport:
    """Load answers collected elsewhere: every row, or (if any is refused) none. Each
    student's answer set is an attempt, signed and logged as any other."""
    quiz_id = parse_quiz_id(quiz)
    data = read_file_bytes(path, "submissions file", MAX_IMPORT_BYTES)
    rows = _rows(path, data)
    if not rows:
        raise ImportRefused(f"{clip(path, 80)} has no rows to import")
    file_key = "import:" + hashlib.sha256(data).hexdigest()
    with store.read() as session:
        quiz_row = get_quiz(session, quiz_id)
        if quiz_row is None:
            raise NotFoundError(f"no quiz {quiz_id}")
        zone = quiz_row.time_zone
    refused: list[str] = []
    pending: dict[str, _Pending] = {}
    for row in rows:
        if row.malformed:
            refused.append(f"row {row.line}: expected student, question and answer")
            continue
        sid = row.student.strip()
        entry = pending.setdefault(sid, _Pending({}))
        if row.question.strip() in entry.answers:
            refused.append(f"row {row.line}: student {clip(sid, 40)!r} answers question "
                           f"{clip(row.question, 10)} twice")
            continue
        entry.answers[row.question.strip()] = row.answer
        if row.submitted_at.strip():
            try:
                when = _instant(row.submitted_at, zone)
            except DeadlineError:
                refused.append(f"row {row.line}: submitted_at {clip(row.submitted_at, 30)!r} is not a date and time")
                continue
            entry.latest = max(entry.latest, when) if entry.latest else when
    with store.read() as session:
        students = {s.external_id: s.id for s in session.execute(
            select(Student.id, Student.external_id).where(Student.external_id.in_(list(pending))))}
        for sid, entry in pending.items():
            if sid not in students:
                refused.append(f"student {clip(sid, 40)!r} is not on the roster")
                continue
            entry.pk = students[sid]
            entry.slots = load_slots(session, quiz_id, entry.pk)
            if not entry.slots:
                refused.append(f"student {clip(sid, 40)!r} is not on quiz {quiz_id} ('quizgen quiz add-students "
                               f"{quiz_id} --student {clip(sid, 40)}' adds them)")
                continue
            try:
                entry.parsed = parse_submission(entry.slots, entry.answers)
            except AnswerError as exc:
                problems = str(exc).removesuffix(message("en", "nothing_submitted"))  # said once, for the file
                refused.append(f"student {clip(sid, 40)!r}: {problems}")
    _refuse(refused)
    at = now()
    imported = students_new = skipped = late = after_close = over = 0
    with store.write() as session:
        quiz_row = get_quiz(session, quiz_id)
        for sid, entry in pending.items():
            assert entry.parsed is not None and entry.slots is not None
            lock_for_attempts(session, quiz_id, entry.pk)
            done = session.scalar(select(Attempt.id).where(Attempt.quiz_id == quiz_id, Attempt.student_id == entry.pk,
                                                           Attempt.idempotency_key == file_key))
            if done is not None:
                skipped += 1
                continue
            when = entry.latest or at
            rules = student_rules(session, quiz_row, entry.pk)  # the student's extension included
            try:  # an archived quiz (QuizArchived) refuses the whole import
                if refuse_if_closed(rules, when):
                    late += len(entry.parsed)  # inside the late window: taken, as submit takes it
            except QuizClosed as exc:
                if not ignore_deadline:
                    refused.append(f"student {clip(sid, 40)!r}: {exc} (--ignore-deadline imports it anyway)")
                    continue
                late += len(entry.parsed)
                after_close += len(entry.parsed)
            try:
                refuse_if_spent(rules, attempts_used(session, quiz_id, entry.pk))
            except AttemptsExhausted as exc:
                if not ignore_attempt_limit:
                    refused.append(f"student {clip(sid, 40)!r}: {exc} (--ignore-attempt-limit imports it anyway)")
                    continue
                over += len(entry.parsed)
            record_attempt(session, quiz_id, entry.pk, sid, entry.slots, entry.parsed, when, "import",
                           signing.signer, file_key, request_sha256(entry.answers))
            imported += len(entry.parsed)
            students_new += 1
        _refuse(refused)  # raising here rolls the whole transaction back
    if students_new:
        sequence_quietly(store, signing, [quiz_id])
    return ImportReport(imported, students_new, skipped, late, after_close, over)


def _instant(text: str, zone: str) -> datetime:
    """When an LMS says an answer was given: ISO 8601 with an offset, or wall-clock time in the quiz's zone."""
    clean = text.strip()
    try:
        value = datetime.fromisoformat(clean.replace("Z", "+00:00"))
    except ValueError:
        return parse_deadline(clean, zone)
    if value.tzinfo is None:
        return deadline_from_wall(value, zone)
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise DeadlineError(f"year {value.year} is out of range")
    return as_utc(value)


def _refuse(refused: list[str]) -> None:
    if refused:
        shown = "; ".join(refused[:_SHOWN_PROBLEMS])
        more = f"; and {len(refused) - _SHOWN_PROBLEMS} more" if len(refused) > _SHOWN_PROBLEMS else ""
        raise ImportRefused(f"{len(refused)} problem(s), nothing imported: {shown}{more}")
