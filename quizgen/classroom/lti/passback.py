"""Sending queued scores to the LMS (AGS 2.0 score publish service), and what is still
waiting (``quizgen lti pending``).

The queue (``lti_scores``) is written by grading (grading.passback). A sender claims the
due rows for a minute (so two server processes never send one row at once), posts each
score to its column's ``/scores`` endpoint, then records the outcome: sent, if the row
still holds the revision it sent (a newer score queued meanwhile stays due), or the
error and the next try, backing off 2, 4, 8 … seconds up to an hour, with jitter.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import and_, or_, select, update

from ...clock import as_utc, now
from ...errors import clip
from ...store.db import Store
from ...store.tables import LtiLineItem, LtiPlatform, LtiScore, Student, get_quiz
from .keys import ToolKeys
from .platforms import get_platform
from .services import LmsClient, ServiceError

CLAIM_S = 60
BATCH = 500
MAX_BACKOFF_S = 3600
SCORE_MEDIA = "application/vnd.ims.lis.v1.score+json"


def backoff(tries: int) -> timedelta:
    """2, 4, 8 … seconds after the n-th failure, at most an hour, with ±25 % jitter."""
    base = min(MAX_BACKOFF_S, 2 ** min(tries, 12))
    return timedelta(seconds=base * random.uniform(0.75, 1.25))


def scores_url(lineitem: str) -> str:
    """``{lineitem}/scores``, keeping the line item URL's query (AGS 2.0, section 3.4)."""
    parts = urlsplit(lineitem)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + "/scores", parts.query, ""))


@dataclass(frozen=True)
class _Due:
    id: int
    revision: int
    tries: int
    platform_id: int
    lineitem: str | None
    user: str
    score: float
    top: float
    received: datetime
    activity: str
    grading: str


@dataclass(frozen=True)
class SendReport:
    sent: int
    failed: int
    waiting: int  # rows with no column URL yet

    def to_json(self) -> dict[str, int]:
        return {"sent": self.sent, "failed": self.failed, "waiting": self.waiting}


def _claim(store: Store, force: bool, limit: int) -> list[_Due]:
    stamp = now()
    due = [LtiScore.sent_revision < LtiScore.revision,
           or_(LtiScore.claimed_until.is_(None), LtiScore.claimed_until < stamp)]
    if not force:
        due.append(LtiScore.next_try_at <= stamp)
    with store.read() as session:  # most rounds find nothing: no write lock for them
        if session.execute(select(LtiScore.id).where(and_(*due)).limit(1)).first() is None:
            return []
    with store.write() as session:
        rows = session.execute(
            select(LtiScore.id, LtiScore.revision, LtiScore.tries, LtiLineItem.platform_id, LtiLineItem.lineitem_url,
                   LtiScore.user_sub, LtiScore.score, LtiScore.max_score, LtiScore.received_at, LtiScore.activity,
                   LtiScore.grading)
            .join(LtiLineItem, LtiLineItem.id == LtiScore.line_item_id).where(and_(*due))
            .order_by(LtiScore.next_try_at, LtiScore.id).limit(limit)).all()
        if rows:
            session.execute(update(LtiScore).where(LtiScore.id.in_([r[0] for r in rows]))
                            .values(claimed_until=stamp + timedelta(seconds=CLAIM_S)))
    return [_Due(*r) for r in rows]


def send_due(store: Store, keys: ToolKeys, client: LmsClient, *, force: bool = False,
             limit: int = BATCH) -> SendReport:
    """Send what is due (everything waiting, with ``force``: ``quizgen lti push``), one batch."""
    rows = _claim(store, force, limit)
    if not rows:
        return SendReport(0, 0, 0)
    with store.read() as session:
        platforms = {pid: get_platform(session, pid) for pid in {r.platform_id for r in rows}}
    done: list[tuple[int, int]] = []
    failed: list[tuple[_Due, str]] = []
    waiting: list[_Due] = []
    for row in rows:
        if row.lineitem is None:
            waiting.append(row)
            continue
        body = {"userId": row.user, "scoreGiven": row.score, "scoreMaximum": row.top,
                "activityProgress": row.activity, "gradingProgress": row.grading,
                "timestamp": as_utc(row.received).isoformat(timespec="milliseconds").replace("+00:00", "Z")}
        try:
            client.call(platforms[row.platform_id], keys, "POST", scores_url(row.lineitem), media=SCORE_MEDIA,
                        body=body)
        except ServiceError as exc:
            failed.append((row, str(exc)))
            continue
        done.append((row.id, row.revision))
    _record(store, done, failed, waiting)
    return SendReport(len(done), len(failed), len(waiting))


def _record(store: Store, done: list[tuple[int, int]], failed: list[tuple[_Due, str]], waiting: list[_Due]) -> None:
    stamp = now()
    with store.write() as session:
        _mark_sent(session, done, stamp)
        for row, error in failed:
            session.execute(update(LtiScore).where(LtiScore.id == row.id).values(
                tries=LtiScore.tries + 1, next_try_at=stamp + backoff(row.tries + 1), last_error=clip(error, 500),
                claimed_until=None))
        for row in waiting:
            session.execute(update(LtiScore).where(LtiScore.id == row.id).values(
                tries=LtiScore.tries + 1, next_try_at=stamp + backoff(row.tries + 1), claimed_until=None,
                last_error="the LMS has not given this link a gradebook column yet; add the quiz through deep "
                           "linking, or open the link once as the instructor"))


def _mark_sent(session: Any, done: list[tuple[int, int]], stamp: datetime) -> None:
    """Each row sent is marked with the revision sent (a newer one queued meanwhile stays due)."""
    by_revision: dict[int, list[int]] = defaultdict(list)
    for rid, rev in done:
        by_revision[rev].append(rid)
    for rev, ids in by_revision.items():
        session.execute(update(LtiScore).where(LtiScore.id.in_(ids)).values(
            sent_revision=rev, sent_at=stamp, tries=0, last_error=None, claimed_until=None))


def send_all(store: Store, keys: ToolKeys, client: LmsClient, *, force: bool = False,
             progress: Callable[[SendReport], None] | None = None) -> SendReport:
    """Batches until nothing more is due (``quizgen lti push``, and the server's sender)."""
    sent = failed = waiting = 0
    while True:
        report = send_due(store, keys, client, force=force)
        if report.sent + report.failed + report.waiting == 0:
            break
        sent, failed, waiting = sent + report.sent, failed + report.failed, waiting + report.waiting
        if progress:
            progress(report)
        if force and report.sent == 0:
            break  # everything left failed just now: the next push tries again
    return SendReport(sent, failed, waiting)


# ---------------------------------------------------------------- what has not reached the LMS

@dataclass(frozen=True)
class PendingScore:
    quiz_id: int
    student: str
    platform: str
    score: float
    max_score: float
    tries: int
    next_try: datetime
    error: str | None

    def to_json(self) -> dict[str, Any]:
        return {"quiz": self.quiz_id, "student": self.student, "platform": self.platform, "score": self.score,
                "max_score": self.max_score, "tries": self.tries, "next_try": as_utc(self.next_try).isoformat(),
                "error": self.error}


def pending(store: Store, quiz: str | int | None = None) -> list[PendingScore]:
    query = (select(LtiLineItem.quiz_id, Student.external_id, LtiPlatform.name, LtiScore.score, LtiScore.max_score,
                    LtiScore.tries, LtiScore.next_try_at, LtiScore.last_error)
             .join(LtiLineItem, LtiLineItem.id == LtiScore.line_item_id)
             .join(LtiPlatform, LtiPlatform.id == LtiLineItem.platform_id)
             .join(Student, Student.id == LtiScore.student_id)
             .where(LtiScore.sent_revision < LtiScore.revision)
             .order_by(LtiLineItem.quiz_id, Student.external_id))
    with store.read() as session:
        if quiz is not None:
            query = query.where(LtiLineItem.quiz_id == get_quiz(session, quiz).id)
        return [PendingScore(*r) for r in session.execute(query)]


__all__ = ["send_due", "send_all", "pending", "PendingScore", "SendReport", "backoff", "scores_url"]


class Sender:
    """A server process's background sender: sends what is due, then waits a second (or
    until ``wake`` says a score was just queued). Every process of a server runs one;
    claims keep them from sending one row twice. Failures are recorded on the rows and
    logged, and never stop the loop."""

    def __init__(self, store: Store, keys: Callable[[], ToolKeys], client: LmsClient, interval_s: float = 1.0):
        import threading

        self.store, self.keys, self.client, self.interval_s = store, keys, client, interval_s
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, name="quizgen-lti-sender", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        import logging

        log = logging.getLogger("quizgen.service")
        while not self._stop.is_set():
            self._wake.clear()
            try:
                report = send_all(self.store, self.keys(), self.client)
                if report.failed or report.waiting:
                    log.warning("LTI passback: %d score(s) sent, %d failed, %d without a column (see 'quizgen lti "
                                "pending')", report.sent, report.failed, report.waiting)
            except Exception:  # a busy or unreachable database: try again next round
                log.exception("LTI passback: sending failed")
            self._wake.wait(self.interval_s)
