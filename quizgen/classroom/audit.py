"""``quizgen audit``: rebuild a quiz's transparency log from its rows and name every
attempt that was changed, removed, inserted, reordered or relabelled since it was logged.

What is checked, from the rows as they are now:

* each attempt's leaf hash, recomputed from its row (quiz, student, attempt, source,
  arrival time) and from its answers as stored (the hash of their texts);
* each stored parsed answer against its text parsed again (``parsed`` is a cache that
  grading reads; the text is what the student sent);
* the log: the leaves' positions run without a gap, and the Merkle root of the first
  ``size`` leaves equals every checkpoint's root; each checkpoint's signature verifies
  against a trusted key (the server's key file: keys registered only in the database
  prove nothing, since whoever edits the database can add one); every checkpoint the
  server appended to its checkpoints file (outside the database) is still in the
  database with the same root, so removing rows and checkpoints together shows;
* each attempt's signed receipt: present (an attempt recorded by quizgen is always
  signed; one without a valid signature was inserted by someone else), made with a
  trusted key, and saying what the row says.

Attempts not yet in a checkpoint are listed as pending, never passed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from .. import merkle
from ..clock import as_utc
from ..errors import clip
from ..grading.answers import parse_stored
from ..receipts import answers_sha256, leaf_hash_hex, leaf_record, verify_checkpoint, verify_receipt
from ..store.db import Store
from ..store.tables import Attempt, Checkpoint, Question, ServerKey, Student, Submission, get_quiz
from .keys import KeyFileError, checkpoints_file, key_file_for, load_signer
from .tlog import read_checkpoints_file

UNSIGNED_SOURCES = frozenset({"legacy"})  # attempts made before receipts existed (migration 0004)


@dataclass(frozen=True)
class AuditProblem:
    index: int | None  # the attempt's place in the log (from 0), when it has one
    student: str | None
    attempt: int | None
    what: str

    def __str__(self) -> str:
        where = f"leaf {self.index}: " if self.index is not None else ""
        who = f"student {self.student}, attempt {self.attempt}: " if self.student is not None else ""
        return f"{where}{who}{self.what}"


@dataclass(frozen=True)
class Trust:
    """The public keys (base64) whose signatures the audit accepts, and where they came from."""

    keys: dict[str, str]
    source: str  # "the key file FILE" or "the database's registered keys"
    checkpoints_file: Path | None = None


@dataclass(frozen=True)
class AuditReport:
    quiz_id: int
    attempts: int
    signed: int  # attempts whose receipt verified
    checkpoints: int  # signed checkpoints checked
    size: int  # attempts in the latest signed checkpoint
    head: str  # its root, for an instructor to note down or publish
    trust: str
    problems: list[AuditProblem]
    pending: list[AuditProblem] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {"quiz": self.quiz_id, "attempts": self.attempts, "signed_receipts": self.signed,
                "checkpoints": self.checkpoints, "size": self.size, "head": self.head, "trusted_keys": self.trust,
                "intact": self.intact,
                "problems": [{"leaf": p.index, "student": p.student, "attempt": p.attempt, "problem": p.what}
                             for p in self.problems],
                "pending": [{"student": p.student, "attempt": p.attempt} for p in self.pending]}


def trust_from_database(store: Store) -> Trust:
    with store.read() as session:
        keys = dict(session.execute(select(ServerKey.key_id, ServerKey.public_key)).all())
    return Trust(keys, "the database's registered keys (give the server's key file to check independently)")


def trust_for(store: Store, db: str | None, key_file: str | None) -> Trust:
    """What ``quizgen audit`` trusts: the key in the key file (and the checkpoints appended
    beside it) when that file is here; otherwise, saying so, the database's registered keys."""
    path = key_file_for(db, key_file)
    if not Path(path).exists():
        if key_file:
            raise KeyFileError(f"no key file at {clip(path, 80)}")
        return trust_from_database(store)
    signer = load_signer(path, create=False)
    return Trust({signer.key_id: signer.public_b64}, f"the key file {clip(path, 80)}", checkpoints_file(path))


def audit_quiz(store: Store, quiz: str | int, trust: Trust) -> AuditReport:
    with store.read() as session:
        quiz_id = get_quiz(session, quiz).id
        names = dict(session.execute(select(Student.id, Student.external_id)).all())
        rows = session.execute(select(Attempt).where(Attempt.quiz_id == quiz_id)
                               .order_by(Attempt.leaf_index, Attempt.id)).scalars().all()
        stored: dict[tuple[int, int], dict[str, tuple[str, Any, dict[str, Any]]]] = defaultdict(dict)
        for student_pk, attempt, slot, raw, parsed, response in session.execute(
                select(Submission.student_id, Submission.attempt, Question.slot, Submission.raw, Submission.parsed,
                       Question.response)
                .join(Question, Question.id == Submission.question_id).where(Submission.quiz_id == quiz_id)):
            stored[(student_pk, attempt)][str(slot)] = (raw, parsed, response)
        heads = session.scalars(select(Checkpoint).where(Checkpoint.quiz_id == quiz_id)
                                .order_by(Checkpoint.tree_size)).all()
    problems: list[AuditProblem] = []
    pending: list[AuditProblem] = []
    leaves: list[bytes] = []
    signed = 0
    # attempts made before the upgrade to the log: the old chain, verified by the upgrade,
    # vouches for those recorded without a receipt (locally, or by an import)
    vouched = max((cp.tree_size for cp in heads if cp.origin), default=0)
    for row in rows:
        student = names.get(row.student_id, f"#{row.student_id}")

        def problem(what: str, row: Attempt = row, student: str = student) -> None:
            problems.append(AuditProblem(row.leaf_index, student, row.attempt, what))

        answers = stored.pop((row.student_id, row.attempt), {})
        texts = {slot: raw for slot, (raw, _, _) in answers.items()}
        digest = answers_sha256(texts)
        if digest != row.answers_sha256:
            problem("its answers were changed, added or deleted after it was recorded")
        for slot, (raw, parsed, response) in sorted(answers.items()):
            if not _parses_to(response, raw, parsed):
                problem(f"question {slot}'s stored parsed answer is not what its text {raw!r} parses to "
                        "(grading reads the parsed value)")
        received = as_utc(row.received_at).isoformat()
        leaf = leaf_hash_hex(leaf_record(quiz_id, student, row.attempt, row.source, received, digest))
        if leaf != row.leaf_hash:
            problem("its row was changed (student, attempt number, source or time) or its leaf hash rewritten")
        if row.leaf_index is None:
            pending.append(AuditProblem(None, student, row.attempt, "not yet in a signed checkpoint"))
        elif row.leaf_index != len(leaves):
            gap = (f"{len(leaves)}" if row.leaf_index == len(leaves) + 1 else f"{len(leaves)}-{row.leaf_index - 1}")
            problems.append(AuditProblem(len(leaves), None, None, f"the attempt(s) at leaf {gap} are missing: removed"))
            leaves += [b""] * (row.leaf_index - len(leaves))  # keep positions; the roots will not match
        if row.leaf_index is not None:
            leaves.append(bytes.fromhex(row.leaf_hash) if len(row.leaf_hash) == 64 else b"")
        receipt = _receipt_problem(row, quiz_id, student, received, leaf, trust)
        if receipt is None:
            signed += 1
        elif row.receipt or (row.source not in UNSIGNED_SOURCES
                             and not (row.leaf_index is not None and row.leaf_index < vouched)):
            problem(receipt)
    for (student_pk, attempt), _ in sorted(stored.items()):
        problems.append(AuditProblem(None, names.get(student_pk, f"#{student_pk}"), attempt,
                                     "answers with no attempt in the log: inserted"))
    checked, size, head = _check_checkpoints(quiz_id, heads, leaves, trust, problems)
    return AuditReport(quiz_id, len(rows), signed, checked, size, head, trust.source, problems, pending)


def _parses_to(response: dict[str, Any], raw: str, parsed: Any) -> bool:
    try:
        value = parse_stored(response, raw)
    except (ValueError, TypeError, KeyError):
        return False
    # the cache holds JSON: tuples come back as lists
    return json.loads(json.dumps(value)) == parsed


def _check_checkpoints(quiz_id: int, heads: Sequence[Checkpoint], leaves: list[bytes], trust: Trust,
                       problems: list[AuditProblem]) -> tuple[int, int, str]:
    """Every checkpoint's root against the leaves, and its signature; the checkpoints file's
    entries against the database's. (checkpoints checked, latest signed size, its root)."""
    def finding(what: str) -> None:
        problems.append(AuditProblem(None, None, None, what))

    frontier = merkle.Frontier()
    checked, size, head = 0, 0, merkle.EMPTY_ROOT.hex()
    in_db: dict[int, str] = {}
    for cp in heads:
        in_db[cp.tree_size] = cp.root_sha256
        if cp.tree_size > len(leaves):
            finding(f"the checkpoint of size {cp.tree_size} covers attempts that are no longer in the database "
                    f"(only {len(leaves)} are): removed")
            continue
        while frontier.size < cp.tree_size:
            frontier.append(leaves[frontier.size])
        if frontier.root().hex() != cp.root_sha256:
            finding(f"the attempts in the checkpoint of size {cp.tree_size} are not the ones it signed: an attempt "
                    "in it was changed, removed, inserted or reordered")
        if cp.origin and "BROKEN" in cp.origin:
            finding(f"before the upgrade to the transparency log: {cp.origin}")
        if cp.note is None:
            continue
        public = trust.keys.get(cp.key_id or "")
        verified = verify_checkpoint(cp.note, public) if public else None
        if verified is None:
            finding(f"the checkpoint of size {cp.tree_size} is not signed by a trusted key "
                    f"({cp.key_id or 'no key'}): it was not made by this server")
        elif verified[0] != cp.tree_size or verified[1].hex() != cp.root_sha256:
            finding(f"the checkpoint of size {cp.tree_size} says another size or root than its signed note")
        else:
            checked += 1
            size, head = cp.tree_size, cp.root_sha256
    if trust.checkpoints_file is not None:
        for item in read_checkpoints_file(trust.checkpoints_file):
            if item.get("quiz") != quiz_id or not isinstance(item.get("size"), int):
                continue
            public = trust.keys.get(str(item.get("key_id")))
            note = item.get("note")
            if not public or not isinstance(note, str) or verify_checkpoint(note, public) is None:
                continue  # not one this server signed: proves nothing either way
            if item["size"] not in in_db:
                finding(f"the checkpoint of size {item['size']} the server signed at {item.get('time')} is no "
                        "longer in the database: it was removed")
            elif in_db[item["size"]] != item.get("root"):
                finding(f"the checkpoint of size {item['size']} in the database has another root than the one the "
                        "server signed")
    return checked, size, head


def _receipt_problem(row: Attempt, quiz_id: int, student: str, received: str, leaf: str, trust: Trust) -> str | None:
    """None when the attempt's receipt is genuine and says what the row says; else why not."""
    if not row.receipt:
        return "it has no signed receipt: quizgen signs every attempt it records, so this row was inserted"
    try:
        receipt = json.loads(row.receipt)
    except ValueError:
        return "its receipt is not JSON"
    if not isinstance(receipt, dict):
        return "its receipt is not a signed receipt"
    public = trust.keys.get(str(receipt.get("key_id")))
    if public is None:
        return f"its receipt is signed with a key ({receipt.get('key_id')}) that is not trusted here"
    if not verify_receipt(receipt, public):
        return "its receipt's signature does not verify"
    expected = {"quiz": quiz_id, "student": student, "attempt": row.attempt, "source": row.source,
                "received_at": received, "answers_sha256": row.answers_sha256, "leaf_hash": leaf}
    if receipt.get("v") == 1:  # signed before the log (chain_sha256): what it can still vouch for
        expected = {k: v for k, v in expected.items() if k not in ("source", "leaf_hash")}
    differ = [k for k, v in expected.items() if receipt.get(k) != v]
    return f"the row no longer matches its signed receipt ({', '.join(differ)})" if differ else None
