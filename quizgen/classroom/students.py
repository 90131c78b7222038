"""Students in the store, and their submission tokens.

A token is 128 random bits (``secrets.token_urlsafe``) shown once when it is
issued; the database keeps only a salted SHA-256 of it. A slow password hash is
not needed for a random token (there is nothing to guess), and the fast hash
keeps ``quizgen submit`` quick. Comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, select

from ..clock import now
from ..errors import NotFoundError, QuizgenError, refuse_unstorable
from ..store.db import Store
from ..store.prepared import Cursor, Prepared
from ..store.tables import Student
from .roster import RosterEntry


class AuthError(QuizgenError):
    """A wrong token or an unknown student."""


def new_token() -> str:
    return secrets.token_urlsafe(16)


def hash_token(token: str) -> str:
    salt = secrets.token_hex(8)
    return f"sha256${salt}${hashlib.sha256((salt + token).encode()).hexdigest()}"


def token_matches(stored: str | None, token: str) -> bool:
    if not stored or not token:
        return False
    try:
        scheme, salt, digest = stored.split("$")
    except ValueError:
        return False
    candidate = hashlib.sha256((salt + token).encode("utf-8", "surrogatepass")).hexdigest()
    return scheme == "sha256" and hmac.compare_digest(candidate, digest)


@dataclass(frozen=True)
class IssuedToken:
    student: str
    name: str
    token: str

    def to_json(self) -> dict[str, str]:
        return {"id": self.student, "name": self.name, "token": self.token}


@dataclass(frozen=True)
class StudentInfo:
    id: str
    name: str
    email: str | None
    has_token: bool

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "email": self.email, "has_token": self.has_token}


def add_students(store: Store, entries: Sequence[RosterEntry], replace: bool = False) -> list[IssuedToken]:
    """Add students (all or none) and issue each a token. An existing id is an error unless ``replace``."""
    stamp = now()
    issued = []
    with store.write() as session:
        ids = [e.id for e in entries]
        existing = {s.external_id: s for s in session.scalars(select(Student).where(Student.external_id.in_(ids)))}
        for entry in entries:
            token = new_token()
            student = existing.get(entry.id)
            if student is not None and student.token_hash and not replace:
                raise QuizgenError(f"student {entry.id!r} is already on the roster (use 'roster reset-token' "
                                   "for a new token)")
            if student is None:
                student = Student(external_id=entry.id, name=entry.name, email=entry.email, created_at=stamp)
                session.add(student)
            else:
                student.name, student.email = entry.name, entry.email or student.email
            student.token_hash = hash_token(token)
            issued.append(IssuedToken(entry.id, entry.name, token))
    return issued


@dataclass(frozen=True)
class RosterSync:
    ids: dict[str, int]  # external id → primary key, for every entry
    issued: list[IssuedToken]  # new tokens, for students who had none
    updated: list[str]  # students whose name or email changed


def sync_students(session: Any, entries: Sequence[RosterEntry], stamp: datetime) -> RosterSync:
    """Bring the roster in line with ``entries`` inside the caller's transaction: new
    students are added, changed names and emails are updated (and reported), and every
    student without a token is issued one, so nobody ends up silently tokenless."""
    ids = [e.id for e in entries]
    existing = {s.external_id: s for s in session.scalars(select(Student).where(Student.external_id.in_(ids)))}
    issued, updated = [], []
    for entry in entries:
        student = existing.get(entry.id)
        if student is None:
            student = Student(external_id=entry.id, name=entry.name, email=entry.email, created_at=stamp)
            session.add(student)
            existing[entry.id] = student
        elif (student.name, student.email) != (entry.name, entry.email or student.email):
            student.name, student.email = entry.name, entry.email or student.email
            updated.append(entry.id)
        if not student.token_hash:
            token = new_token()
            student.token_hash = hash_token(token)
            issued.append(IssuedToken(entry.id, entry.name, token))
    session.flush()
    return RosterSync({sid: s.id for sid, s in existing.items()}, issued, updated)


def reset_token(store: Store, student_id: str) -> IssuedToken:
    token = new_token()
    with store.write() as session:
        student = session.scalar(select(Student).where(Student.external_id == student_id))
        if student is None:
            raise NotFoundError(f"no student {student_id!r} on the roster")
        student.token_hash = hash_token(token)
        return IssuedToken(student.external_id, student.name, token)


@dataclass(frozen=True)
class FreshToken:
    """A token made for a student but not yet saved: it replaces the old one only when
    ``commit_tokens`` writes its hash, after it reached the student (a message the mail
    server accepted, a PDF written). Until then the old token keeps working."""

    student: str
    name: str
    token: str
    token_hash: str


def fresh_token(student: str, name: str) -> FreshToken:
    token = new_token()
    return FreshToken(student, name, token, hash_token(token))


def commit_tokens(store: Store, fresh: Sequence[FreshToken]) -> None:
    """Save fresh tokens in one transaction (the students' old tokens stop working); all or
    none: a student no longer on the roster is an error and nothing is saved."""
    with store.write() as session:
        students = {s.external_id: s for s in session.scalars(
            select(Student).where(Student.external_id.in_([f.student for f in fresh])))}
        for f in fresh:
            student = students.get(f.student)
            if student is None:
                raise NotFoundError(f"no student {f.student!r} on the roster")
            student.token_hash = f.token_hash


def roster_entries(store: Store) -> list[RosterEntry]:
    """Every student on the stored roster, in id order, as roster entries."""
    with store.read() as session:
        rows = session.execute(select(Student.external_id, Student.name, Student.email)
                               .order_by(Student.external_id)).all()
    return [RosterEntry(r[0], r[1], r[2]) for r in rows]


def list_students(store: Store) -> list[StudentInfo]:
    with store.read() as session:
        rows = session.execute(select(Student.external_id, Student.name, Student.email, Student.token_hash)
                               .order_by(Student.external_id)).all()
    return [StudentInfo(r[0], r[1], r[2], r[3] is not None) for r in rows]


# Hashed when the student id is unknown, so that failure costs what a wrong token costs.
_DUMMY_HASH = hash_token(new_token())
AUTH_FAILED = "unknown student id or wrong token"


@dataclass(frozen=True)
class Vouched:
    """A student the library has already authenticated for one quiz by a credential it
    signed and checked itself (an LMS launch's, classroom.lti.credentials), standing in
    for their token on that quiz only."""

    student: str
    quiz_id: int


def authenticate(session, student_id: str, token: str | Vouched | None, quiz_id: int | None = None) -> Student:
    """The student whose token this is; AuthError otherwise, with one message whether the
    id or the token was wrong (so ids cannot be probed for), after the same hashing work.
    A Vouched credential stands for this student on its own quiz (``quiz_id``) only."""
    _check_credential(student_id, token)
    student = session.scalar(select(Student).where(Student.external_id == student_id))
    _check_token(student_id, token, quiz_id, student.token_hash if student is not None else None, student is not None)
    assert student is not None
    return student


def authenticated_pk(cur: Cursor, student_id: str, token: str | Vouched | None, quiz_id: int | None = None) -> int:
    """``authenticate`` on the submission path's cursor (store.prepared): the student's
    row id. The token is read from the database every time, never remembered."""
    _check_credential(student_id, token)
    row = cur.first(_by_external_id(), student=student_id)
    _check_token(student_id, token, quiz_id, row[1] if row is not None else None, row is not None)
    assert row is not None
    return int(row[0])


@cache
def _by_external_id() -> Prepared:
    return Prepared(select(Student.id, Student.token_hash).where(Student.external_id == bindparam("student")))


def _check_credential(student_id: str, token: str | Vouched | None) -> None:
    if isinstance(token, Vouched):
        return
    if not token:
        raise AuthError("a token is required (--token or QUIZGEN_TOKEN)")
    refuse_unstorable(student_id, "the student id")


def _check_token(student_id: str, token: str | Vouched | None, quiz_id: int | None, stored: str | None,
                 found: bool) -> None:
    if isinstance(token, Vouched):
        if token.student != student_id or quiz_id is None or token.quiz_id != quiz_id or not found:
            raise AuthError(AUTH_FAILED)
        return
    assert token is not None
    if not token_matches(stored if found else _DUMMY_HASH, token) or not found:
        raise AuthError(AUTH_FAILED)
