"""Throttling failed authentications, in the database so every server process and host
counts the same failures.

Tokens are 128 random bits, so guessing one is hopeless; the throttle is about
cost: a client that keeps failing (per address) or a student id that keeps being
tried (per id) is told to wait, before quizgen spends a hash on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select

from ..clock import as_utc, now
from ..errors import refuse_unstorable
from ..store.db import Store
from ..store.tables import LoginFailure
from .attempts import RateLimited


@dataclass(frozen=True)
class LoginThrottle:
    failures: int = 20  # per subject within the window
    seconds: int = 300


def subjects(address: str | None, student_id: str | None) -> list[str]:
    """What failures are counted against: the client's address and the student id tried
    (UnstorableText for an id no database could store: the failure is recorded under it)."""
    out = []
    if address:
        out.append(f"ip:{address}"[:200])
    if student_id:
        refuse_unstorable(student_id, "the student id")
        out.append(f"student:{student_id}"[:200])
    return out


def refuse_if_throttled(store: Store, who: list[str], rule: LoginThrottle, at: datetime | None = None) -> None:
    """RateLimited when any subject failed ``rule.failures`` times within the window."""
    if not who:
        return
    at = at or now()
    since = at - timedelta(seconds=rule.seconds)
    with store.read() as session:
        rows = session.execute(select(LoginFailure.subject, func.count(), func.min(LoginFailure.failed_at))
                               .where(LoginFailure.subject.in_(who), LoginFailure.failed_at > since)
                               .group_by(LoginFailure.subject)).all()
    for _, count, oldest in rows:
        if count >= rule.failures:
            retry = max(1, int((as_utc(oldest) + timedelta(seconds=rule.seconds) - as_utc(at)).total_seconds()) + 1)
            raise RateLimited(f"too many failed logins; try again in {retry} s", retry)


def record_failure(store: Store, who: list[str], rule: LoginThrottle, at: datetime | None = None) -> None:
    """Count one failure against each subject (and forget failures older than the window)."""
    if not who:
        return
    at = at or now()
    with store.write() as session:
        session.execute(delete(LoginFailure).where(LoginFailure.failed_at < at - timedelta(seconds=rule.seconds)))
        session.execute(insert(LoginFailure), [{"subject": s, "failed_at": at} for s in who])
