"""The LMS's people as quizgen knows them: the course roster read through NRPS (``quizgen
lti roster``), LMS users not matched to a student (``quizgen lti unmatched``), and an
instructor's view of a quiz's progress (an instructor's launch)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from ...clock import as_utc, now
from ...errors import QuizgenError, clip
from ...grading.passback import current_scores, upsert
from ...store.db import Store
from ...store.tables import Attempt, LtiLineItem, LtiPlatform, LtiScore, LtiUser, Student, Variant, get_quiz
from ..roster import make_entry
from ..students import IssuedToken, sync_students
from .keys import ToolKeys
from .launch import match_student
from .platforms import get_platform
from .services import LmsClient, ServiceError

NRPS_MEDIA = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
MAX_PAGES = 1000
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?', re.I)


class RosterError(QuizgenError):
    """A course roster that cannot be read."""


@dataclass(frozen=True)
class RosterImport:
    members: int  # learners the LMS listed
    added: list[IssuedToken]  # new roster students (with their new token, shown once)
    linked: int  # LMS users now tied to a roster student
    unmatched: list[str]  # LMS users with no student id to put them on the roster by

    def to_json(self) -> dict[str, Any]:
        return {"members": self.members, "added": [t.to_json() for t in self.added], "linked": self.linked,
                "unmatched": self.unmatched}


def next_page(link_header: str | None) -> str | None:
    """The ``rel="next"`` URL of a Link header (RFC 8288), if any."""
    for part in (link_header or "").split(","):
        m = _NEXT.search(part)
        if m:
            return m.group(1).strip()
    return None


def import_roster(store: Store, keys: ToolKeys, client: LmsClient, quiz: str | int) -> RosterImport:
    """Read the members of every course the quiz is linked in (NRPS, following ``Link:
    rel="next"``) and bring the learners onto the roster: a new student for one with a
    student id (the LMS's person sourcedid) the roster lacks, names and e-mails kept up to
    date, and each LMS user tied to their student. All in one transaction, after every
    page has been read."""
    with store.read() as session:
        quiz_id = get_quiz(session, quiz).id
        courses = session.execute(select(LtiLineItem.platform_id, LtiLineItem.memberships_url)
                                  .where(LtiLineItem.quiz_id == quiz_id, LtiLineItem.memberships_url.is_not(None))
                                  ).all()
        platforms = {pid: get_platform(session, pid) for pid, _ in courses}
    if not courses:
        raise RosterError(f"quiz {quiz_id} has not been launched from a course whose LMS offers its roster (NRPS); "
                          "open it once from the LMS")
    members: list[tuple[int, dict[str, Any]]] = []
    for pid, url in courses:
        page: str | None = url
        for _ in range(MAX_PAGES):
            if page is None:
                break
            try:
                response = client.call(platforms[pid], keys, "GET", page, media=NRPS_MEDIA, accept=NRPS_MEDIA)
                body = response.json()
            except (ServiceError, ValueError) as exc:
                raise RosterError(f"cannot read the course roster from {platforms[pid].name}: {exc}") from None
            members += [(pid, m) for m in body.get("members", []) if isinstance(m, dict)]
            page = next_page(response.headers.get("link"))
    learners = [(pid, m) for pid, m in members if m.get("user_id") and m.get("status", "Active") == "Active"
                and any(r in (LEARNER, "Learner") for r in m.get("roles", []))]
    stamp = now()
    with store.write() as session:
        entries, unmatched = [], []
        for _, m in learners:
            sid = m.get("lis_person_sourcedid")
            if sid:
                try:
                    entries.append(make_entry(str(sid), clip(str(m.get("name") or sid), 200), m.get("email") or None,
                                              "the LMS's roster"))
                except QuizgenError:
                    m.pop("lis_person_sourcedid")  # not an id quizgen can take: matched by the platform's rule
        before = set(session.scalars(select(Student.external_id).where(
            Student.external_id.in_([e.id for e in entries]))))
        synced = sync_students(session, list({e.id: e for e in entries}.values()), stamp)
        linked = 0
        for pid, m in learners:
            sub = str(m["user_id"])[:255]
            sid = str(m["lis_person_sourcedid"])[:64] if m.get("lis_person_sourcedid") else None
            student = match_student(session, platforms[pid].match if sid is None else "student-id", sub, sid,
                                    m.get("email"))
            if student is None and sid is None:
                unmatched.append(clip(str(m.get("name") or sub), 80))
            upsert(session.connection(), LtiUser.__table__, [{
                "platform_id": pid, "sub": sub, "student_id": student.id if student else None,
                "name": clip(str(m.get("name")), 200) if m.get("name") else None,
                "email": str(m["email"])[:254] if m.get("email") else None, "sourcedid": sid, "seen_at": stamp}],
                ("platform_id", "sub"), ("student_id", "name", "email", "sourcedid"))
            linked += student is not None
        added = [t for t in synced.issued if t.student not in before]
    return RosterImport(len(learners), added, linked, unmatched)


@dataclass(frozen=True)
class UnmatchedUser:
    platform: str
    sub: str
    name: str | None
    email: str | None
    sourcedid: str | None
    seen_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"platform": self.platform, "sub": self.sub, "name": self.name, "email": self.email,
                "student_id": self.sourcedid, "seen_at": as_utc(self.seen_at).isoformat()}


def unmatched(store: Store) -> list[UnmatchedUser]:
    with store.read() as session:
        return [UnmatchedUser(*r) for r in session.execute(
            select(LtiPlatform.name, LtiUser.sub, LtiUser.name, LtiUser.email, LtiUser.sourcedid, LtiUser.seen_at)
            .join(LtiPlatform, LtiPlatform.id == LtiUser.platform_id).where(LtiUser.student_id.is_(None))
            .order_by(LtiPlatform.name, LtiUser.seen_at))]


# ---------------------------------------------------------------- an instructor's launch

@dataclass(frozen=True)
class ProgressRow:
    student: str
    name: str
    attempts: int
    score: float | None
    max_score: float | None
    lms: str  # "sent", "pending", "failed", "not linked" (no LMS user), "no score"
    error: str | None


@dataclass(frozen=True)
class Progress:
    quiz_id: int
    title: str
    language: str
    rows: list[ProgressRow]

    @property
    def submitted(self) -> int:
        return sum(1 for r in self.rows if r.attempts)


def progress(store: Store, quiz_id: int, platform_id: int) -> Progress:
    """Who submitted the quiz, their current scores, and where each stands with this LMS."""
    with store.read() as session:
        quiz = get_quiz(session, quiz_id)
        students = session.execute(select(Student.id, Student.external_id, Student.name)
                                   .join(Variant, Variant.student_id == Student.id)
                                   .where(Variant.quiz_id == quiz.id).order_by(Student.external_id)).all()
        used = dict(session.execute(select(Attempt.student_id, func.max(Attempt.attempt))
                                    .where(Attempt.quiz_id == quiz.id).group_by(Attempt.student_id)).all())
        scores = current_scores(session.connection(), quiz.id, [s.id for s in students])
        linked = set(session.scalars(select(LtiUser.student_id).where(LtiUser.platform_id == platform_id,
                                                                      LtiUser.student_id.is_not(None))))
        queue = {r.student_id: r for r in session.execute(
            select(LtiScore.student_id, LtiScore.revision, LtiScore.sent_revision, LtiScore.tries, LtiScore.last_error)
            .join(LtiLineItem, LtiLineItem.id == LtiScore.line_item_id)
            .where(LtiLineItem.quiz_id == quiz.id, LtiLineItem.platform_id == platform_id))}
        rows = []
        for s in students:
            held = scores.get(s.id)
            q = queue.get(s.id)
            if s.id not in linked:
                state, error = "not linked", None
            elif q is None:
                state, error = "no score", None
            elif q.sent_revision >= q.revision:
                state, error = "sent", None
            else:
                state, error = ("failed" if q.tries else "pending"), q.last_error
            rows.append(ProgressRow(s.external_id, s.name, used.get(s.id, 0), held[0] if held else None,
                                    held[1] if held else None, state, error))
        return Progress(quiz.id, quiz.title, quiz.language, rows)
