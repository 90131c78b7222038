"""Recording an attempt: the one path every front end (local CLI, HTTP API, web page,
imports) takes, with the quiz's rules applied inside the transaction that writes it.

After the student is authenticated and the answers parse (graded too, where the policy
shows scores, from the grading keys as last read), in one write transaction:

1. locks, always in this order so two writers can never wait on each other: the quiz's
   grading lock, shared (attempts of one quiz commit in parallel; batch grading and key
   changes take it alone), then the student's row (their attempts are numbered one at a
   time); SQLite's write lock already serialises everything;
2. one read of everything the rules need: the quiz's settings, the student's extension,
   their attempts so far and recent graded ones, a request seen before (same idempotency
   key: its stored response is returned, or it is refused if its answers differ);
3. the deadline (and late window), the attempt limit and the rate limit on graded
   submissions are checked;
4. the attempt is written with its answers and its leaf hash, and its receipt signed:
   the leaf, and a promise that the quiz's transparency log (classroom.tlog) will
   include it by a stated time; the sequencer gives it its place in the log later;
5. where the feedback policy shows scores and the caller asked for it, its grades are
   stored (graded from the stored grading keys, the same scoring ``quizgen grade``
   uses, so batch grading later finds nothing to do and agrees);
6. the response a replay will return is stored with it, as the JSON text sent.

Everything the caller will tell the student is made before the commit, so nothing
can fail after it.

A student's questions as recording needs them (answer forms, points, grading keys) are
kept in memory between requests (``Store.memo``), stamped with the quiz's ``created_at``
and ``key_revision``: the quiz row is read in every attempt's transaction (step 2), and
a stamp that differs from it (keys changed by a regrade, an accepted answer) has the
questions read again there and the attempt graded with them. Tokens are read every time.

``record_attempts`` records several requests at once, in one transaction with one
commit (one fsync for them all); a refused one leaves the others: on SQLite each is in
its own savepoint, on PostgreSQL (where a savepoint costs two statements and a
subtransaction) a refusal comes before any write of its attempt, and anything refused
after one fails the batch. On PostgreSQL several such transactions run at once
(service.recorder's threads, other processes): each takes the grading locks of its quizzes first (shared,
by quiz id), then records its attempts in the order of their students' row ids, so
two batches lock their students in one order and never wait on each other.
The statements run on the driver's cursor (store.prepared).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache, partial
from typing import Any

from sqlalchemy import String, Text, and_, bindparam, cast, exists, func, insert, select, text, true
from sqlalchemy.orm import aliased

from ..clock import as_utc, now, show
from ..errors import NotFoundError, QuizgenError, StoreError, clip
from ..grading.batch import (
    GRADER_VERSION,
    attempt_grade_values,
    grades_of_new_answers,
    insert_attempt_grades,
    lock_grading_shared,
    queue_passback,
)
from ..grading.scoring import compute_grades
from ..grading.slip_messages import shown_score
from ..ids import parse_quiz_id
from ..receipts import RECEIPT_VERSION, Signer, answers_sha256, leaf_hash_hex, leaf_record, request_sha256
from ..resources import phrase
from ..store.db import GRADING_LOCK, Store
from ..store.prepared import Cursor, Prepared
from ..store.tables import Attempt, Extension, LtiLineItem, Question, Quiz, Student, Submission, UTCDateTime, Variant
from .answer_results import part_results, parts_json, question_feedback
from .answersheets import BlankAnswers, BlankPolicy, blank_answers
from .keys import Signing
from .policies import Rules, not_on_quiz, refuse_if_closed, refuse_if_spent, rules_of, visibility
from .students import Vouched, authenticated_pk
from .submissions import (
    Receipt,
    Slot,
    attempts_used,
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
    response body (graded results as the policy allows, the signed receipt), as data and
    as the JSON text stored for replays."""

    receipt: Receipt
    response: dict[str, Any] = field(default_factory=dict)
    replayed: bool = False
    body: str | None = None  # ``response`` as JSON text (None: not made)

    def json_text(self) -> str:
        return self.body if self.body is not None else _json(self.response)


@dataclass(frozen=True)
class AttemptRequest:
    """One attempt as a front end hands it over (the arguments of ``submit_attempt``)."""

    quiz: str | int
    student_id: str
    token: str | Vouched | None
    answers: Mapping[str, str]
    source: str
    at: datetime | None = None  # None: stamped when recorded, under the locks
    idempotency_key: str | None = None
    grade_on_arrival: bool = False
    rate_limit: RateLimit | None = None


def lock_for_attempts(session: Any, quiz_id: int, student_pk: int) -> None:
    """The locks an attempt needs, in the one order every writer takes them (see module doc)."""
    lock_grading_shared(session, quiz_id)  # on SQLite, this starts the transaction (BEGIN IMMEDIATE)
    if session.get_bind().dialect.name == "sqlite":
        # SQLite has no row locks (it drops FOR UPDATE): the database's write lock, held
        # since BEGIN IMMEDIATE, already covers the row, and the read would only
        # lengthen the time every other writer waits for it.
        return
    session.execute(select(Student.id).where(Student.id == student_pk).with_for_update())


def signed_attempt(quiz_id: int, student_id: str, attempt: int, source: str, at: datetime,
                   parsed: Mapping[int, tuple[str, Any]], signer: Signer,
                   idempotency_key: str | None) -> tuple[str, str, dict[str, Any]]:
    """(answers hash, leaf hash, signed receipt) of an attempt: its leaf, and the promise
    of inclusion in the quiz's log by a stated time (every path that records one signs it)."""
    digest = answers_sha256({str(slot): raw for slot, (raw, _) in parsed.items()})
    received = as_utc(at).isoformat()
    leaf = leaf_hash_hex(leaf_record(quiz_id, student_id, attempt, source, received, digest))
    signed = signer.sign({"v": RECEIPT_VERSION, "quiz": quiz_id, "student": student_id, "attempt": attempt,
                          "source": source, "received_at": received, "answers_sha256": digest, "leaf_hash": leaf,
                          "integrate_by": integrate_by(at), "request": idempotency_key})
    return digest, leaf, signed


def record_attempt(session: Any, quiz_id: int, student_pk: int, student_id: str, slots: Mapping[int, Slot],
                   parsed: Mapping[int, tuple[str, Any]], at: datetime, source: str, signer: Signer,
                   idempotency_key: str | None = None, request_hash: str | None = None,
                   used: int | None = None) -> Attempt:
    """Write one attempt (its row and leaf hash, its answers, its signed receipt) in the
    caller's ORM transaction, which holds lock_for_attempts; returns the new row (imports
    record this way). ``used``: the student's attempts so far, if the caller has just
    counted them under the same locks. Every attempt is signed, whoever records it:
    ``quizgen audit`` takes an unsigned one for a row someone inserted."""
    attempt = (attempts_used(session, quiz_id, student_pk) if used is None else used) + 1
    digest, leaf, signed = signed_attempt(quiz_id, student_id, attempt, source, at, parsed, signer, idempotency_key)
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
    done = record_attempts(store, [AttemptRequest(quiz, student_id, token, answers, source, at, idempotency_key,
                                                  grade_on_arrival, rate_limit)], signer)[0]
    if isinstance(done, BaseException):
        raise done
    return done


def record_attempts(store: Store, requests: Sequence[AttemptRequest],
                    signer: Signer) -> list[Submitted | QuizgenError]:
    """Record each request (see the module doc): its Submitted, or the refusal that left
    nothing of it written. A database error (StoreError) fails them all, none committed."""
    if not store.is_sqlite and len(requests) == 1:  # its own transaction, reads and writes
        try:
            with store.cursor() as cur:
                return [_record(cur, store, _prepare(cur, store, requests[0]), signer)]
        except StoreError:
            raise
        except QuizgenError as exc:
            return [exc]
    with store.cursor(write=False) as cur:  # reads outside the write lock: another process may write meanwhile
        prepared = [_attempt_or_refusal(_prepare, cur, store, r) for r in requests]
    if not any(isinstance(p, _Ready) for p in prepared):
        return [p for p in prepared if not isinstance(p, _Ready)]
    if len(prepared) == 1:  # the transaction is the attempt's own: nothing else to keep
        return [_attempt_or_refusal(_record_alone, store, prepared[0], signer)]
    results: list[Any] = list(prepared)  # each _Ready replaced below by what became of it
    order = [n for n, p in enumerate(prepared) if isinstance(p, _Ready)]
    with store.cursor() as cur:
        if not store.is_sqlite:
            # Several transactions (this process's other recording threads, other
            # processes) each lock several students: all in one order, so none waits on
            # another that waits on it. The grading locks (shared) first, by quiz, then
            # the students' rows by id (the module doc's order, for the whole batch).
            order.sort(key=lambda n: results[n].student_pk)
            for quiz_id in sorted({results[n].quiz_id for n in order}):
                cur.first(_sql().grading, quiz=quiz_id)
        for n in order:
            ready = results[n]
            if not store.is_sqlite:
                # No savepoints: a refusal comes before the attempt's first write (steps
                # 1-3), so it leaves nothing to undo; one after it (none is known) fails
                # the batch, nothing of it committed. Two statements and a subtransaction
                # less per attempt.
                wrote: list[bool] = []
                try:
                    results[n] = _record(cur, store, ready, signer, partial(wrote.append, True))
                except StoreError:
                    raise
                except QuizgenError as exc:
                    if wrote:
                        raise
                    results[n] = exc
                continue
            cur.sql(f"SAVEPOINT attempt_{n}")
            try:
                results[n] = _record(cur, store, ready, signer)
            except StoreError:
                raise
            except QuizgenError as exc:
                cur.sql(f"ROLLBACK TO SAVEPOINT attempt_{n}")
                results[n] = exc
            cur.sql(f"RELEASE SAVEPOINT attempt_{n}")
    return results


def _record_alone(store: Store, ready: _Ready, signer: Signer) -> Submitted:
    with store.cursor() as cur:
        return _record(cur, store, ready, signer)


def _attempt_or_refusal(step: Any, *args: Any) -> Any:
    try:
        return step(*args)
    except StoreError:
        raise
    except QuizgenError as exc:
        return exc


# ---------------------------------------------------------------- the statements (store.prepared)

@dataclass(frozen=True)
class _Statements:
    variant: Prepared  # the quiz's stamp and language, the student's questions (no grading keys)
    variant_keys: Prepared  # the same with their grading keys, read only to grade
    check: Prepared  # step 2 of the module doc, in one read
    locks: Prepared  # PostgreSQL: step 1 in one statement
    grading: Prepared  # PostgreSQL: the grading lock alone (a batch takes its quizzes' first)
    attempt: Prepared


@cache
def _sql() -> _Statements:
    quiz: Any = bindparam("quiz")
    student: Any = bindparam("student")
    # A submission that is not graded on arrival (the local submit) never reads the grading
    # keys (tests/test_security.py): they are another statement's columns.
    questions = (select(Quiz.created_at, Quiz.key_revision, Quiz.language, Question.id, Question.slot,
                        cast(Question.response, Text), Question.points)
                 .select_from(Quiz)
                 .outerjoin(Variant, and_(Variant.quiz_id == Quiz.id, Variant.student_id == student))
                 .outerjoin(Question, Question.variant_id == Variant.id)
                 .where(Quiz.id == quiz))
    with_keys = questions.add_columns(Question.expected, cast(Question.slips, Text))
    # the student's attempts so far, and their graded ones since the rate limit's window began, in one pass
    recent = and_(Attempt.source == "http", Attempt.received_at > bindparam("since", type_=UTCDateTime()))
    mine = (select(func.coalesce(func.max(Attempt.attempt), 0).label("used"),
                   func.count().filter(recent).label("recent"),
                   func.min(Attempt.received_at).filter(recent).label("oldest"))
            .where(Attempt.quiz_id == quiz, Attempt.student_id == student).subquery())
    seen = aliased(Attempt)
    check = (select(Quiz.id, Quiz.deadline, Quiz.late_until, Quiz.attempt_limit, Quiz.feedback, Quiz.counting,
                    Quiz.archived, Quiz.language, Quiz.time_zone, Quiz.created_at, Quiz.key_revision,
                    Extension.id, Extension.deadline, Extension.late_until, Extension.attempt_limit,
                    mine.c.used, mine.c.recent, mine.c.oldest, exists().where(LtiLineItem.quiz_id == quiz),
                    seen.attempt, seen.request_hash, seen.response, seen.received_at)
             .select_from(Quiz)
             .join(mine, true())
             .outerjoin(Extension, and_(Extension.quiz_id == Quiz.id, Extension.student_id == student))
             .outerjoin(seen, and_(seen.quiz_id == Quiz.id, seen.student_id == student,
                                   seen.idempotency_key == bindparam("key", type_=String)))
             .where(Quiz.id == quiz))
    attempt = insert(Attempt).values({c: bindparam(c) for c in _ATTEMPT_COLUMNS})
    # The grading lock (shared) is computed in the target list, before the row is locked:
    # the order of the module doc (tests/test_submission_path.py holds PostgreSQL to it).
    locks = (text("SELECT pg_advisory_xact_lock_shared(:key, :quiz) FROM students WHERE id = :student FOR UPDATE")
             .bindparams(key=GRADING_LOCK))
    # check reads attempts, which grow from empty: replanned as they grow (store.prepared)
    grading = text("SELECT pg_advisory_xact_lock_shared(:key, :quiz)").bindparams(key=GRADING_LOCK)
    return _Statements(Prepared(questions), Prepared(with_keys), Prepared(check, replanned_after=64),
                       Prepared(locks), Prepared(grading), Prepared(attempt))


_SUBMISSION_COLUMNS = ("quiz_id", "student_id", "question_id", "attempt", "raw", "parsed", "submitted_at")


def _answers_insert(count: int) -> Any:
    rows: list[dict[str, Any]] = [{c: bindparam(f"{c}_{n}") for c in _SUBMISSION_COLUMNS} for n in range(count)]
    return insert(Submission).values(rows)


@cache
def _submissions(count: int) -> Prepared:
    """The answers of one attempt in one statement, returning their ids by question."""
    return Prepared(_answers_insert(count).returning(Submission.id, Submission.question_id))


_ATTEMPT_COLUMNS = ("quiz_id", "student_id", "attempt", "received_at", "source", "idempotency_key", "request_hash",
                    "answers_sha256", "leaf_hash", "receipt", "key_id", "response")


@cache
def _new_attempt(count: int, graded: bool) -> Prepared:
    """PostgreSQL: the attempt, its ``count`` answers and (``graded``) their grades in one
    statement (data-modifying CTEs; the foreign keys are checked at its end), returning
    the graded answers' ids. One round trip and one statement instead of three."""
    attempt = insert(Attempt).values({c: bindparam(c) for c in _ATTEMPT_COLUMNS}).cte("new_attempt")
    if not graded:
        return Prepared(_answers_insert(count).add_cte(attempt))
    answers = _answers_insert(count).returning(Submission.id, Submission.question_id).cte("new_answers")
    return Prepared(grades_of_new_answers(answers, count).add_cte(attempt))


# ---------------------------------------------------------------- a student's questions, kept between requests

@dataclass(frozen=True)
class _Variant:
    """A student's questions as recording an attempt needs them, and the quiz they were read from."""

    stamp: tuple[Any, int]  # the quiz's created_at and key_revision when read
    language: str
    slots: dict[int, Slot]
    keys: dict[int, tuple[int, str, str]] | None  # question id → (points, expected, slips as JSON); None: not read
    points: int  # the variant's total


_MEMO_LIMIT = 50_000  # students × quizzes kept per store; beyond it the memo starts again


def _variant(cur: Cursor, store: Store, quiz_id: int, student_pk: int, student_id: str,
             stamp: tuple[Any, int] | None = None, keys: bool = False) -> _Variant:
    """The student's questions (with their grading keys if ``keys``), from memory when their
    stamp is ``stamp`` (None: any), else read."""
    key = ("attempt-variant", quiz_id, student_pk)
    held = store.memo.get(key)
    if isinstance(held, _Variant) and (stamp is None or held.stamp == stamp) and (held.keys is not None or not keys):
        return held
    rows = cur.all(_sql().variant_keys if keys else _sql().variant, quiz=quiz_id, student=student_pk)
    if not rows:
        raise NotFoundError(f"no quiz {quiz_id}")
    created, revision, language = rows[0][:3]
    if rows[0][3] is None:
        raise not_on_quiz(quiz_id, student_id, language)
    slots = {row[4]: Slot(row[3], row[4], json.loads(row[5])) for row in rows}
    grading_keys = {row[3]: (row[6], row[7], row[8]) for row in rows} if keys else None
    found = _Variant((created, revision), language, slots, grading_keys, sum(row[6] for row in rows))
    if len(store.memo) >= _MEMO_LIMIT:
        store.memo.clear()
    store.memo[key] = found
    return found


# ---------------------------------------------------------------- recording

@dataclass(frozen=True)
class _Ready:
    """A request authenticated and parsed (graded, where asked, with the keys last read)."""

    request: AttemptRequest
    quiz_id: int
    student_pk: int
    variant: _Variant
    parsed: dict[int, tuple[str, Any]]
    digest: str  # of the request as sent
    grades: dict[int, tuple[Any, ...]] | None  # slot → (question id, score, max, correct, slip, details)


@dataclass(frozen=True)
class _QuizRead:
    """The quiz's settings as read in an attempt's transaction (what policies.rules_of reads)."""

    id: int
    deadline: datetime | None
    late_until: datetime | None
    attempt_limit: int | None
    feedback: str
    counting: str
    archived: bool
    language: str
    time_zone: str


@dataclass(frozen=True)
class _ExtensionRead:
    deadline: datetime | None
    late_until: datetime | None
    attempt_limit: int | None


def _rules(row: tuple[Any, ...]) -> Rules:
    quiz = _QuizRead(*row[:9])
    return rules_of(quiz, _ExtensionRead(*row[12:15]) if row[11] is not None else None)


def _check(cur: Cursor, quiz_id: int, student_pk: int, key: str | None, since: datetime) -> tuple[Any, ...]:
    row = cur.first(_sql().check, quiz=quiz_id, student=student_pk, key=key, since=since)
    if row is None:
        raise NotFoundError(f"no quiz {quiz_id}")
    return row


def _prepare(cur: Cursor, store: Store, request: AttemptRequest) -> _Ready:
    """Everything that needs no lock: the quiz id, the request's size, the student, their
    questions, the answers parsed (and graded where asked); a request without an idempotency
    key is refused at once if the quiz is closed (a replay is answered even after)."""
    quiz_id = parse_quiz_id(request.quiz)
    _check_request(request.answers)
    student_pk = authenticated_pk(cur, request.student_id, request.token, quiz_id)
    variant = _variant(cur, store, quiz_id, student_pk, request.student_id, keys=request.grade_on_arrival)
    if request.idempotency_key is None:
        refuse_if_closed(_rules(_check(cur, quiz_id, student_pk, None, request.at or now())), request.at or now())
    parsed = parse_submission(variant.slots, request.answers, variant.language)  # before any lock: a typo costs nothing
    grades = _grades(variant, parsed) if request.grade_on_arrival else None
    return _Ready(request, quiz_id, student_pk, variant, parsed, request_sha256(request.answers), grades)


def _grades(variant: _Variant, parsed: Mapping[int, tuple[str, Any]]) -> dict[int, tuple[Any, ...]]:
    """The answers graded from the variant's stored grading keys (grading.scoring), as text
    exactly as they are stored, so a regrade from the rows gives the same grades."""
    rows = []
    for slot, (_, value) in parsed.items():
        qid = variant.slots[slot].question_id
        assert variant.keys is not None, "read with keys=True to grade"
        points, expected, slips = variant.keys[qid]
        rows.append((qid, _stored_json(value), points, expected, slips))
    return dict(zip(parsed, compute_grades(rows)))


def _stored_json(value: Any) -> str:
    """A parsed answer as the submissions.parsed column holds it (SQLAlchemy's JSON text)."""
    return json.dumps(value)


def _json(response: Mapping[str, Any]) -> str:
    return json.dumps(response, ensure_ascii=False, separators=(",", ":"))


def _record(cur: Cursor, store: Store, ready: _Ready, signer: Signer,
            writing: Callable[[], None] | None = None) -> Submitted:
    """Steps 1-6 of the module doc in the caller's write transaction (``writing`` is
    called before the first write: every refusal comes before it)."""
    request, quiz_id, student_pk = ready.request, ready.quiz_id, ready.student_pk
    if cur.dialect.name != "sqlite":  # SQLite's write lock, taken at BEGIN IMMEDIATE, covers both
        cur.first(_sql().locks, quiz=quiz_id, student=student_pk)
    # Received when recorded, under the locks: an attempt that waited for them is stamped
    # when it was taken, not when its request began.
    at = request.at or now()
    limit = request.rate_limit
    row = _check(cur, quiz_id, student_pk, request.idempotency_key,
                 at - timedelta(seconds=limit.seconds) if limit is not None else at)
    if row[19] is not None:  # this request was recorded before
        return _replay(row, ready)
    rules = _rules(row)
    late = refuse_if_closed(rules, at)
    used = row[15]
    refuse_if_spent(rules, used)
    seen_policy = visibility(rules.feedback)
    grading = request.grade_on_arrival and seen_policy.score
    if grading and limit is not None and row[16] >= limit.count:
        retry = max(1, int((as_utc(row[17]) + timedelta(seconds=limit.seconds) - as_utc(at)).total_seconds()) + 1)
        raise RateLimited(f"{limit.count} graded submissions in {limit.seconds // 60} minutes is the limit "
                          f"for this quiz; try again in {retry} s", retry)
    variant, parsed, grades = ready.variant, ready.parsed, ready.grades
    if variant.stamp != (row[9], row[10]) or (grading and variant.keys is None):  # the keys changed: read again
        variant = _variant(cur, store, quiz_id, student_pk, request.student_id, (row[9], row[10]), keys=grading)
        parsed = parse_submission(variant.slots, request.answers, variant.language)
        grades = _grades(variant, parsed) if grading else None
    attempt = used + 1
    digest, leaf, signed = signed_attempt(quiz_id, request.student_id, attempt, request.source, at, parsed, signer,
                                          request.idempotency_key)
    zone = rules.time_zone
    receipt = Receipt(quiz_id, request.student_id, attempt, len(parsed), at, zone, show(at, zone, seconds=True),
                      language=rules.language, late=late, feedback=rules.feedback, counting=row[5])
    results = (grades or _grades(variant, parsed)) if grading else None
    response = _response(receipt, rules.language, variant.points, results, seen_policy, late, signed, variant.slots)
    body = _json(response)
    if writing is not None:
        writing()
    attempt_row = {"quiz_id": quiz_id, "student_id": student_pk, "attempt": attempt, "received_at": at,
                   "source": request.source, "idempotency_key": request.idempotency_key,
                   "request_hash": ready.digest, "answers_sha256": digest, "leaf_hash": leaf,
                   "receipt": json.dumps(signed, ensure_ascii=False), "key_id": signer.key_id, "response": body}
    answers: dict[str, Any] = {}
    for n, (slot, (raw, value)) in enumerate(parsed.items()):
        answers.update({f"quiz_id_{n}": quiz_id, f"student_id_{n}": student_pk, f"attempt_{n}": attempt,
                        f"question_id_{n}": variant.slots[slot].question_id, f"raw_{n}": raw,
                        f"parsed_{n}": _stored_json(value), f"submitted_at_{n}": at})
    stamp = now()
    if cur.dialect.name == "postgresql" and parsed:  # one statement: the attempt, its answers, their grades
        if results is None:
            cur.run(_new_attempt(len(parsed), False), **attempt_row, **answers)
        else:
            graded = cur.all(_new_attempt(len(parsed), True), **attempt_row, **answers,
                             **attempt_grade_values(list(results.values()), stamp))
            if row[18]:
                queue_passback(cur, quiz_id, [g[0] for g in graded], stamp)
        return Submitted(receipt, response, body=body)
    cur.run(_sql().attempt, **attempt_row)
    ids = {question: sid for sid, question in cur.all(_submissions(len(parsed)), **answers)}
    if results is not None:
        insert_attempt_grades(cur, quiz_id, [(ids[g[0]], *g[1:]) for g in results.values()], stamp, bool(row[18]))
    return Submitted(receipt, response, body=body)


def _replay(row: tuple[Any, ...], ready: _Ready) -> Submitted:
    """The stored answer to a request seen before (or IdempotencyConflict if its answers differ)."""
    attempt, request_hash, stored, received = row[19:23]
    if request_hash != ready.digest:
        raise IdempotencyConflict("this Idempotency-Key was used for another submission with different answers; "
                                  "use a new key for a new submission")
    response = json.loads(stored) if stored else {}
    zone, lang = row[8], row[7]
    receipt = Receipt(ready.quiz_id, response.get("student", ""), attempt, response.get("answers", 0), received, zone,
                      show(received, zone, seconds=True), True, lang, bool(response.get("late")), row[4], row[5])
    return Submitted(receipt, {**response, "replayed": True}, replayed=True)


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


def _response(receipt: Receipt, language: str, points: int, results: dict[int, tuple[Any, ...]] | None,
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
                parts = part_results(slot, slots[slot].response, json.loads(details), language)
                questions.append({"slot": slot, "points": int(top), "score": shown_score(s), "correct": ok,
                                  "misconception": slip, "feedback": question_feedback(slip, parts, language),
                                  "parts": parts_json(parts)})
    return {"quiz": receipt.quiz_id, "student": receipt.student, "attempt": receipt.attempt, "language": language,
            "answers": receipt.answered, "received_at": as_utc(receipt.submitted_at).isoformat(),
            "received_local": receipt.submitted_local, "late": late, "replayed": False, "graded": results is not None,
            "score": score, "max_score": max_score, "questions": questions, "receipt": signed}


__all__ = ["submit", "submit_attempt", "record_attempts", "record_attempt", "signed_attempt", "lock_for_attempts",
           "AttemptRequest", "Submitted", "RateLimit", "RateLimited", "IdempotencyConflict", "SubmissionTooLarge",
           "GRADER_VERSION"]
