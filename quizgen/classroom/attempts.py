"""Recording an attempt: the one path every front end (local CLI, HTTP API, web page,
imports) takes, with the quiz's rules applied inside the transaction that writes it.

One write transaction, after the student is authenticated and the answers parse:

1. locks, always in this order so two writers can never wait on each other: the quiz's
   grading lock, shared (attempts of one quiz commit in parallel; batch grading and key
   changes take it alone), then the student's row (their attempts are numbered one at a
   time); SQLite's write lock already serialises everything;
2. a request seen before (same idempotency key) returns its stored response, or is
   refused if its answers differ;
3. the deadline (and late window), the attempt limit and the rate limit on graded
   submissions are checked;
4. the attempt is written with its answers and its leaf hash, and its receipt signed:
   the leaf, and a promise that the quiz's transparency log (classroom.tlog) will
   include it by a stated time; the sequencer gives it its place in the log later;
5. where the feedback policy shows scores and the caller asked for it, it is graded
   from the stored grading key (the same scoring ``quizgen grade`` uses), so batch
   grading later finds nothing to do and agrees;
6. the response a replay will return is stored with it.

Everything the caller will tell the student is made before the commit, so nothing
can fail after it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Text, cast, func, insert, select

from ..clock import as_utc, now, show
from ..errors import QuizgenError, clip
from ..grading.batch import GRADER_VERSION, insert_grades, lock_grading_shared
from ..grading.scoring import compute_grades
from ..grading.slip_messages import shown_score
from ..ids import parse_quiz_id
from ..receipts import RECEIPT_VERSION, Signer, answers_sha256, leaf_hash_hex, leaf_record, request_sha256
from ..resources import phrase
from ..store.db import Store
from ..store.tables import Attempt, Question, Quiz, Student, Submission
from .answer_results import part_results, parts_json, question_feedback
from .answersheets import BlankAnswers, BlankPolicy, blank_answers
from .keys import Signing
from .policies import not_on_quiz, refuse_if_closed, refuse_if_spent, student_rules, visibility
from .students import Vouched, authenticate
from .submissions import (
    Receipt,
    Slot,
    attempts_used,
    get_quiz_row,
    load_slots,
    parse_submission,
    quiz_for_student,
    quiz_id_for,
    told_to_student,
)
from .tlog import integrate_by, sequence_quietly

MAX_ANSWERS = 200
MAX_ANSWER_CHARS = 200


class IdempotencyConflict(QuizgenError):
    """An idempotency key used again with different answers."""


class RateLimited(QuizgenError):
    """Too many graded submissions (or failed logins) in a window; try again after ``retry_after``."""

    exit_code = 75

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class RateLimit:
    """At most ``count`` graded submissions per student and quiz within ``seconds``
    (feedback on every attempt would otherwise let a student guess an answer)."""

    count: int = 30
    seconds: int = 600


@dataclass(frozen=True)
class Submitted:
    """An attempt as recorded: the receipt the CLI prints, and for the HTTP API the
    response body (graded results as the policy allows, the signed receipt)."""

    receipt: Receipt
    response: dict[str, Any] = field(default_factory=dict)
    replayed: bool = False


def lock_for_attempts(session: Any, quiz_id: int, student_pk: int) -> None:
    """The locks an attempt needs, in the one order every writer takes them (see module doc)."""
    lock_grading_shared(session, quiz_id)  # on SQLite, this starts the transaction (BEGIN IMMEDIATE)
    if session.get_bind().dialect.name == "sqlite":
        # SQLite has no row locks (it drops FOR UPDATE): the database's write lock, held
        # since BEGIN IMMEDIATE, already covers the row, and the read would only
        # lengthen the time every other writer waits for it.
        return
    session.execute(select(Student.id).where(Student.id == student_pk).with_for_update())


def record_attempt(session: Any, quiz_id: int, student_pk: int, student_id: str, slots: Mapping[int, Slot],
                   parsed: Mapping[int, tuple[str, Any]], at: datetime, source: str, signer: Signer,
                   idempotency_key: str | None = None, request_hash: str | None = None,
                   used: int | None = None) -> Attempt:
    """Write one attempt (its row and leaf hash, its answers, its signed receipt) in the
    caller's transaction, which holds lock_for_attempts; returns the new row. ``used``: the
    student's attempts so far, if the caller has just counted them under the same locks.
    Every attempt is signed, whoever records it: ``quizgen audit`` takes an unsigned one
    for a row someone inserted."""
    attempt = (attempts_used(session, quiz_id, student_pk) if used is None else used) + 1
    digest = answers_sha256({str(slot): raw for slot, (raw, _) in parsed.items()})
    received = as_utc(at).isoformat()
    leaf = leaf_hash_hex(leaf_record(quiz_id, student_id, attempt, source, received, digest))
    signed = signer.sign({"v": RECEIPT_VERSION, "quiz": quiz_id, "student": student_id, "attempt": attempt,
                          "source": source, "received_at": received, "answers_sha256": digest, "leaf_hash": leaf,
                          "integrate_by": integrate_by(at), "request": idempotency_key})
    row = Attempt(quiz_id=quiz_id, student_id=student_pk, attempt=attempt, received_at=at, source=source,
                  idempotency_key=idempotency_key, request_hash=request_hash, answers_sha256=digest,
                  leaf_hash=leaf, receipt=json.dumps(signed, ensure_ascii=False), key_id=signer.key_id)
    session.add(row)
    session.execute(insert(Submission), [
        {"quiz_id": quiz_id, "student_id": student_pk, "question_id": slots[slot].question_id,
         "attempt": attempt, "raw": raw, "parsed": value, "submitted_at": at}
        for slot, (raw, value) in parsed.items()])
    session.flush()
    return row


def _check_request(answers: Mapping[str, str]) -> None:
    if len(answers) > MAX_ANSWERS:
        raise SubmissionTooLarge(f"{len(answers):,} answers; at most {MAX_ANSWERS} are taken in one attempt")
    for key, value in answers.items():
        if len(key) > 20 or len(value) > MAX_ANSWER_CHARS:
            raise SubmissionTooLarge(f"answer {clip(key, 20)!r} is longer than {MAX_ANSWER_CHARS} characters")


class SubmissionTooLarge(QuizgenError):
    """More answers, or longer ones, than one attempt can hold."""


def submit_attempt(store: Store, quiz: str | int, student_id: str, token: str | Vouched | None,
                   answers: Mapping[str, str], *, source: str, signer: Signer, at: datetime | None = None,
                   idempotency_key: str | None = None, grade_on_arrival: bool = False,
                   rate_limit: RateLimit | None = None) -> Submitted:
    """Record one attempt: all its answers, or (on any problem) nothing. See the module doc."""
    quiz_id = parse_quiz_id(quiz)
    stamp_when_recorded = at is None
    at = at or now()  # provisional (the quick refusal below); replaced once the write lock is held
    _check_request(answers)
    with store.read() as session:
        student = authenticate(session, student_id, token, quiz_id)
        quiz_row = get_quiz_row(session, quiz_id)
        slots = load_slots(session, quiz_id, student.id)
        lang = quiz_row.language
        if not slots:
            raise not_on_quiz(quiz_id, student_id, lang)
        student_pk, zone = student.id, quiz_row.time_zone
        if idempotency_key is None:  # a replay is answered even after the quiz has closed
            refuse_if_closed(student_rules(session, quiz_row, student_pk), at)
    parsed = parse_submission(slots, answers, lang)  # before any lock: a typo costs nothing
    digest = request_sha256(answers)
    with store.write() as session:
        lock_for_attempts(session, quiz_id, student_pk)
        if stamp_when_recorded:
            # Received when recorded, under the locks: an attempt that waited for them is
            # stamped when it was taken, not when its request began.
            at = now()
        shown = show(at, zone, seconds=True)
        if idempotency_key is not None:
            seen = _seen(session, quiz_id, student_pk, idempotency_key, digest)
            if seen is not None:
                return seen
        quiz_row = get_quiz_row(session, quiz_id)
        rules = student_rules(session, quiz_row, student_pk)  # read again under the lock, as the quiz row
        late = refuse_if_closed(rules, at)
        used = attempts_used(session, quiz_id, student_pk)
        refuse_if_spent(rules, used)
        seen_policy = visibility(quiz_row.feedback)
        grading = grade_on_arrival and seen_policy.score
        if grading and rate_limit is not None:
            _refuse_if_rate_limited(session, quiz_id, student_pk, at, rate_limit)
        row = record_attempt(session, quiz_id, student_pk, student_id, slots, parsed, at, source, signer,
                             idempotency_key, digest, used)
        receipt = Receipt(quiz_id, student_id, row.attempt, len(parsed), at, zone, shown, language=lang, late=late,
                          feedback=quiz_row.feedback, counting=quiz_row.counting)
        results = _grade(session, slots, parsed, row) if grading else None
        # read before the row is changed below, so that the receipt and the response reach
        # it in one UPDATE at the commit (a query in between would flush the first half)
        max_score = session.scalar(select(func.sum(Question.points))
                                   .where(Question.id.in_([s.question_id for s in slots.values()]))) or 0
        signed = json.loads(row.receipt or "null")
        response = _response(receipt, quiz_row, max_score, results, seen_policy, late, signed, slots)
        row.response = json.dumps(response, ensure_ascii=False)
        return Submitted(receipt, response)


def submit(store: Store, quiz: str | int, student_id: str, token: str | None, answers: Mapping[str, str],
           signing: Signing, at: datetime | None = None) -> Receipt:
    """Record one attempt from the local command line: all its answers, or nothing; signed
    as the service signs (graded later), and integrated into the quiz's log after the
    commit (or left for the next sequencer when the database is busy)."""
    receipt = submit_attempt(store, quiz, student_id, token, answers, source="cli", signer=signing.signer,
                             at=at).receipt
    sequence_quietly(store, signing, [receipt.quiz_id])
    return receipt


def submit_sheet(store: Store, quiz: str | int, student_id: str, token: str | None, answers: Mapping[str, str],
                 signing: Signing, *, blanks: BlankPolicy, lang: str) -> Receipt:
    """The local ``submit``: answers that do not parse are refused before anything else, then
    the questions and parts left blank (answersheets.blank_answers) are sent only if the
    ``blanks`` policy accepts them (``--allow-blank``, or a yes on a terminal); otherwise
    BlankAnswers and nothing is written. A quiz that is closed or
    spent is not asked about: its refusal comes as it would. ``lang``: the student's
    locale, for refusals before the quiz is known."""
    quiz_id = quiz_id_for(quiz, lang)
    with told_to_student(store, quiz_id, lang):
        view = quiz_for_student(store, quiz_id, student_id, token)
        if view.open:
            slots = {q.slot: Slot(0, q.slot, q.response) for q in view.questions}
            parse_submission(slots, answers, view.language)
            left = blank_answers({q.slot: q.response for q in view.questions}, answers)
            if not blanks.accepts(left, view.language):
                raise BlankAnswers(phrase("blank_refused", blanks=left.text()))
        return submit(store, quiz_id, student_id, token, answers, signing)


def _seen(session: Any, quiz_id: int, student_pk: int, key: str, digest: str) -> Submitted | None:
    row = session.scalar(select(Attempt).where(Attempt.quiz_id == quiz_id, Attempt.student_id == student_pk,
                                               Attempt.idempotency_key == key))
    if row is None:
        return None
    if row.request_hash != digest:
        raise IdempotencyConflict("this Idempotency-Key was used for another submission with different answers; "
                                  "use a new key for a new submission")
    response = json.loads(row.response) if row.response else {}
    quiz = session.get(Quiz, quiz_id)
    receipt = Receipt(quiz_id, response.get("student", ""), row.attempt, response.get("answers", 0),
                      row.received_at, quiz.time_zone, show(row.received_at, quiz.time_zone, seconds=True), True,
                      quiz.language, bool(response.get("late")), quiz.feedback, quiz.counting)
    return Submitted(receipt, {**response, "replayed": True}, replayed=True)


def _refuse_if_rate_limited(session: Any, quiz_id: int, student_pk: int, at: datetime, limit: RateLimit) -> None:
    since = at - timedelta(seconds=limit.seconds)
    recent = session.execute(select(func.count(), func.min(Attempt.received_at)).where(
        Attempt.quiz_id == quiz_id, Attempt.student_id == student_pk, Attempt.source == "http",
        Attempt.received_at > since)).one()
    if recent[0] >= limit.count:
        retry = max(1, int((as_utc(recent[1]) + timedelta(seconds=limit.seconds) - as_utc(at)).total_seconds()) + 1)
        raise RateLimited(f"{limit.count} graded submissions in {limit.seconds // 60} minutes is the limit "
                          f"for this quiz; try again in {retry} s", retry)


def _grade(session: Any, slots: Mapping[int, Slot], parsed: Mapping[int, tuple[str, Any]],
           row: Attempt) -> dict[int, tuple[Any, ...]]:
    """Grade the attempt's answers from the stored keys (read under the grading lock) and
    store the grades; slot → (submission id, score, max, correct, slip, details text)."""
    subs = session.execute(
        select(Submission.id, cast(Submission.parsed, Text), Question.points, Question.expected,
               cast(Question.slips, Text), Question.slot)
        .join(Question, Question.id == Submission.question_id)
        .where(Submission.quiz_id == row.quiz_id, Submission.student_id == row.student_id,
               Submission.attempt == row.attempt)).all()
    grades = compute_grades([tuple(s[:5]) for s in subs])
    insert_grades(session.connection(), row.quiz_id, grades, now())
    return {s[5]: g for s, g in zip(subs, grades)}


def _response(receipt: Receipt, quiz: Quiz, points: int, results: dict[int, tuple[Any, ...]] | None,
              seen: Any, late: bool, signed: dict[str, Any] | None, slots: Mapping[int, Slot]) -> dict[str, Any]:
    """The API's response body for a recorded attempt, filtered by the feedback policy:
    this attempt's score out of every point of the student's variant (rounded as shown;
    the grades hold it exactly), and under full feedback each answer's feedback, part by
    part for a multi-part answer (classroom.answer_results)."""
    questions = None
    score = max_score = None
    if results is not None and seen.score:
        score = shown_score(sum(g[1] for g in results.values()))
        max_score = int(points)
        if seen.details:
            questions = []
            for slot in sorted(results):
                _, s, top, ok, slip, details = results[slot]
                parts = part_results(slot, slots[slot].response, json.loads(details), quiz.language)
                questions.append({"slot": slot, "points": int(top), "score": shown_score(s), "correct": ok,
                                  "misconception": slip, "feedback": question_feedback(slip, parts, quiz.language),
                                  "parts": parts_json(parts)})
    return {"quiz": receipt.quiz_id, "student": receipt.student, "attempt": receipt.attempt, "language": quiz.language,
            "answers": receipt.answered, "received_at": as_utc(receipt.submitted_at).isoformat(),
            "received_local": receipt.submitted_local, "late": late, "replayed": False, "graded": results is not None,
            "score": score, "max_score": max_score, "questions": questions, "receipt": signed}


__all__ = ["submit", "submit_attempt", "record_attempt", "lock_for_attempts", "Submitted", "RateLimit", "RateLimited",
           "IdempotencyConflict", "SubmissionTooLarge", "GRADER_VERSION"]
