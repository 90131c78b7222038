"""``quizgen audit``: recompute a quiz's hash chain and name every attempt that was
changed, deleted, inserted or back-dated since it was recorded.

Each attempt's row carries its position in the chain, the hash of its answers and
the chain hash that links it to the attempt before (classroom.attempts writes them,
migration 0005 chained older attempts). The audit recomputes all three from the rows
as they are now, and checks each signed receipt against the server key it names. A
person who edits the database can recompute hashes, but cannot sign: the receipts
students keep, and the signatures stored beside them, still give them away.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ..clock import as_utc
from ..receipts import GENESIS, answers_sha256, chain_next, chain_record, verify_receipt
from ..store.db import Store
from ..store.tables import Attempt, Question, ServerKey, Student, Submission, get_quiz


@dataclass(frozen=True)
class AuditProblem:
    seq: int | None
    student: str | None
    attempt: int | None
    what: str

    def __str__(self) -> str:
        where = f"position {self.seq}: " if self.seq is not None else ""
        who = f"student {self.student}, attempt {self.attempt}: " if self.student is not None else ""
        return f"{where}{who}{self.what}"


@dataclass(frozen=True)
class AuditReport:
    quiz_id: int
    attempts: int
    signed: int  # attempts with a server-signed receipt, each checked
    head: str  # the last chain hash, for an instructor to note down
    problems: list[AuditProblem]

    @property
    def intact(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {"quiz": self.quiz_id, "attempts": self.attempts, "signed_receipts": self.signed, "head": self.head,
                "intact": self.intact,
                "problems": [{"seq": p.seq, "student": p.student, "attempt": p.attempt, "problem": p.what}
                             for p in self.problems]}


def audit_quiz(store: Store, quiz: str | int) -> AuditReport:
    with store.read() as session:
        quiz_id = get_quiz(session, quiz).id
        names = dict(session.execute(select(Student.id, Student.external_id)).all())
        rows = session.execute(select(Attempt).where(Attempt.quiz_id == quiz_id).order_by(Attempt.seq)).scalars().all()
        stored: dict[tuple[int, int], dict[str, str]] = defaultdict(dict)
        for student_pk, attempt, slot, raw in session.execute(
                select(Submission.student_id, Submission.attempt, Question.slot, Submission.raw)
                .join(Question, Question.id == Submission.question_id).where(Submission.quiz_id == quiz_id)):
            stored[(student_pk, attempt)][str(slot)] = raw
        keys = dict(session.execute(select(ServerKey.key_id, ServerKey.public_key)).all())
    problems: list[AuditProblem] = []
    previous, expected_seq, previous_time = GENESIS, 1, None
    signed = 0
    for row in rows:
        student = names.get(row.student_id, f"#{row.student_id}")
        def problem(what: str) -> None:
            problems.append(AuditProblem(row.seq, student, row.attempt, what))  # noqa: B023 - used at once

        if row.seq != expected_seq:
            missing = f"{expected_seq}" if row.seq == expected_seq + 1 else f"{expected_seq}-{row.seq - 1}"
            problems.append(AuditProblem(expected_seq, None, None,
                                         f"attempt(s) at position {missing} are missing: deleted"))
        answers = stored.pop((row.student_id, row.attempt), {})
        if answers_sha256(answers) != row.answers_sha256:
            problem("its answers were changed, added or deleted after it was recorded")
        received = as_utc(row.received_at)
        record = chain_record(quiz_id, student, row.attempt, row.seq, received.isoformat(), row.answers_sha256)
        if chain_next(previous, record) != row.chain_sha256:
            problem("its row was changed (time, student, attempt number or position) or its chain hash rewritten")
        if previous_time is not None and received < previous_time:
            problem(f"back-dated: received at {received.isoformat()}, before the attempt recorded before it")
        if row.receipt:
            signed += 1
            problem_text = _receipt_problem(json.loads(row.receipt), row, quiz_id, student, keys)
            if problem_text:
                problem(problem_text)
        previous, expected_seq = row.chain_sha256, row.seq + 1
        previous_time = max(previous_time, received) if previous_time else received
    for (student_pk, attempt), _ in sorted(stored.items()):
        problems.append(AuditProblem(None, names.get(student_pk, f"#{student_pk}"), attempt,
                                     "answers with no attempt in the chain: inserted"))
    return AuditReport(quiz_id, len(rows), signed, previous, problems)


def _receipt_problem(receipt: dict[str, Any], row: Attempt, quiz_id: int, student: str,
                     keys: dict[str, str]) -> str | None:
    public = keys.get(str(receipt.get("key_id")))
    if public is None:
        return f"its receipt names a server key ({receipt.get('key_id')}) this database does not know"
    if not verify_receipt(receipt, public):
        return "its receipt's signature does not verify"
    expected = {"quiz": quiz_id, "student": student, "attempt": row.attempt,
                "received_at": as_utc(row.received_at).isoformat(), "answers_sha256": row.answers_sha256,
                "chain_sha256": row.chain_sha256}
    differ = [k for k, v in expected.items() if receipt.get(k) != v]
    return f"the row no longer matches its signed receipt ({', '.join(differ)})" if differ else None
