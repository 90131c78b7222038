"""Throttling failed authentications, in the database so every server process and host
counts the same failures.

Tokens are 128 random bits, so guessing one is hopeless; the throttle is about cost
and noise: a client that keeps failing is told to wait (429) instead of being answered
401 again, and its failures stop being written down once it is over the limit. It never
refuses a right token: the token is always checked (a salted SHA-256, microseconds),
so nobody can lock a classmate out by failing in their name, and a class behind one
campus NAT is not blocked by one student's typos. Failures are counted per (address,
student id), per student id and per address; an address is normalised first (an
IPv4-mapped IPv6 address is its IPv4 address, IPv6 addresses count by their /64).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select

from ..clock import as_utc, now
from ..errors import clip, refuse_unstorable
from ..store.db import Store
from ..store.tables import LoginFailure
from .attempts import RateLimited


@dataclass(frozen=True)
class LoginThrottle:
    failures: int = 20  # per subject within the window
    seconds: int = 300


def client_key(address: str | None) -> str | None:
    """The address failures are counted under: IPv4 as written, an IPv4-mapped IPv6
    address as its IPv4 address, other IPv6 addresses as their /64 (one host has them all)."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return clip(address.strip(), 60)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def subjects(address: str | None, student_id: str | None) -> list[str]:
    """What a failure is counted against: (address, id), the id, and the address
    (UnstorableText for an id no database could store: the failure is recorded under it)."""
    if student_id:
        refuse_unstorable(student_id, "the student id")
    addr = client_key(address)
    out = []
    if addr and student_id:
        out.append(f"pair:{addr}|{student_id}"[:200])
    if student_id:
        out.append(f"student:{student_id}"[:200])
    if addr:
        out.append(f"ip:{addr}"[:200])
    return out


def over_limit(store: Store, who: list[str], rule: LoginThrottle, at: datetime | None = None) -> RateLimited | None:
    """The refusal for a failed login when any subject already failed ``rule.failures``
    times within the window (None when none has): asked only after the token was wrong."""
    if not who:
        return None
    at = at or now()
    since = at - timedelta(seconds=rule.seconds)
    with store.read() as session:
        rows = session.execute(select(LoginFailure.subject, func.count(), func.min(LoginFailure.failed_at))
                               .where(LoginFailure.subject.in_(who), LoginFailure.failed_at > since)
                               .group_by(LoginFailure.subject)).all()
    waits = [max(1, int((as_utc(oldest) + timedelta(seconds=rule.seconds) - as_utc(at)).total_seconds()) + 1)
             for _, count, oldest in rows if count >= rule.failures]
    if not waits:
        return None
    retry = max(waits)
    return RateLimited(f"too many failed logins; try again in {retry} s", retry)


def record_failure(store: Store, who: list[str], rule: LoginThrottle, at: datetime | None = None) -> None:
    """Count one failure against each subject (and forget failures older than the window)."""
    if not who:
        return
    at = at or now()
    with store.write() as session:
        session.execute(delete(LoginFailure).where(LoginFailure.failed_at < at - timedelta(seconds=rule.seconds)))
        session.execute(insert(LoginFailure), [{"subject": s, "failed_at": at} for s in who])


def failed_login(store: Store, who: list[str], rule: LoginThrottle) -> RateLimited | None:
    """After a wrong token: the 429 to answer instead of 401 when the client is over the
    limit (the failure is then not written: a flood costs one read each), else None, the
    failure counted."""
    refusal = over_limit(store, who, rule)
    if refusal is None:
        record_failure(store, who, rule)
    return refusal
