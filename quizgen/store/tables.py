"""SQLAlchemy tables: quizzes, students, per-student variants, questions, submissions, grades.

The schema is owned by Alembic (migrations/); ``tests/test_migrations.py`` checks
that autogenerate finds no difference between these classes and the migrated
database, so the two cannot drift apart.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from ..errors import NotFoundError
from ..ids import parse_quiz_id

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """An instant, always UTC: aware datetimes in, aware UTC datetimes out.

    SQLite has no time zones: SQLAlchemy writes the wall-clock fields and drops the
    zone, so an aware local time was once stored as if it were UTC (deadlines hours
    off). Converting on the way in, and refusing naive values, makes the stored text
    mean one thing on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("quizgen stores instants, not wall-clock times: give an aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UTCDateTime()}


class Quiz(Base):
    __tablename__ = "quizzes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    seed: Mapped[int] = mapped_column(BigInteger)
    language: Mapped[str] = mapped_column(String(8))
    difficulty: Mapped[str] = mapped_column(String(16))
    kinds: Mapped[list[Any]] = mapped_column(JSON)
    ranges: Mapped[dict[str, Any]] = mapped_column(JSON)
    question_count: Mapped[int] = mapped_column(Integer)
    # settings used by submission and grading
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The zone the deadline was given in and is shown in (an IANA name or "+09:00").
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Submissions after the deadline are accepted (and marked late) until then; None: not at all.
    late_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempt_limit: Mapped[int | None] = mapped_column(Integer)
    feedback: Mapped[str] = mapped_column(String(16), default="full")
    counting: Mapped[str] = mapped_column(String(16), default="last")
    # Follow-through credit: a summary's total right by the student's own layer counts earns
    # its part (migration 0008); the summary questions' grading keys carry the rule.
    carry_forward: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    status: Mapped[str] = mapped_column(String(16))  # "ready" or "unverified"
    generator_version: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Bumped whenever a question's grading key changes, so a grader that read keys
    # before the change notices before it writes grades made with them.
    key_revision: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # Archived: closed to submissions and left out of ``quizgen list`` (``--all`` shows it).
    archived: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    variants: Mapped[list[Variant]] = relationship(back_populates="quiz", cascade="all, delete-orphan",
                                                     order_by="Variant.id")


class Student(Base):
    __tablename__ = "students"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    token_hash: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Variant(Base):
    """One student's copy of a quiz (student NULL: the shared copy for ``show QUIZ``)."""

    __tablename__ = "variants"
    __table_args__ = (UniqueConstraint("quiz_id", "student_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"), index=True)
    student_id: Mapped[int | None] = mapped_column(ForeignKey("students.id"))

    quiz: Mapped[Quiz] = relationship(back_populates="variants")
    student: Mapped[Student | None] = relationship()
    questions: Mapped[list[Question]] = relationship(back_populates="variant", cascade="all, delete-orphan",
                                                      order_by="Question.slot")


class Question(Base):
    __tablename__ = "questions"
    __table_args__ = (UniqueConstraint("variant_id", "slot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"), index=True)
    slot: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    template: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    prompt: Mapped[dict[str, Any]] = mapped_column(JSON)
    answer: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The answer's form without its values (type, parts and their labels): all that
    # student commands need to parse a submission, so they never read ``answer``.
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The grading key: the right answer as the JSON text a right submission is stored as,
    # and the wrong values known slips produce (misconceptions.grading_key).
    expected: Mapped[str] = mapped_column(Text)
    slips: Mapped[dict[str, Any]] = mapped_column(JSON)
    breakdown: Mapped[dict[str, Any]] = mapped_column(JSON)
    derivation: Mapped[dict[str, Any]] = mapped_column(JSON)
    points: Mapped[int] = mapped_column(Integer)
    generator_version: Mapped[str] = mapped_column(String(32))
    keras_version: Mapped[str | None] = mapped_column(String(32))
    tensorflow_version: Mapped[str | None] = mapped_column(String(32))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    variant: Mapped[Variant] = relationship(back_populates="questions")


class Submission(Base):
    """One answer to one question in one attempt; rows are only ever added."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("student_id", "question_id", "attempt"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"))
    attempt: Mapped[int] = mapped_column(Integer)
    raw: Mapped[str] = mapped_column(Text)
    parsed: Mapped[Any] = mapped_column(JSON, nullable=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Grade(Base):
    """A grade of one submission; regrading adds a row and marks the old one not current.

    At most one grade per submission is current: a partial unique index makes a
    second impossible, whatever two graders do at once."""

    __tablename__ = "grades"
    __table_args__ = (
        Index("uq_grades_current_submission", "submission_id", unique=True,
              sqlite_where=text('"current" = 1'), postgresql_where=text('"current"')),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    correct: Mapped[bool] = mapped_column(Boolean)
    misconception: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    grader_version: Mapped[str] = mapped_column(String(32))
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    graded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Attempt(Base):
    """One attempt of one student at one quiz: when it arrived, from where, the key that
    makes resending it harmless (a client's idempotency key, or an import's file and
    student), and its place in the quiz's hash chain (``quizgen audit`` recomputes it)."""

    __tablename__ = "attempts"
    __table_args__ = (UniqueConstraint("quiz_id", "student_id", "attempt"),
                      UniqueConstraint("quiz_id", "student_id", "idempotency_key",
                                       name="uq_attempts_quiz_id_idempotency_key"),
                      UniqueConstraint("quiz_id", "leaf_index", name="uq_attempts_quiz_id_leaf_index"),
                      # what the sequencer looks for, without reading every integrated attempt
                      Index("ix_attempts_unsequenced", "quiz_id", sqlite_where=text("leaf_index IS NULL"),
                            postgresql_where=text("leaf_index IS NULL")))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"))
    attempt: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(16))  # "cli", "import", "http"; "legacy" for rows before 0004
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_hash: Mapped[str | None] = mapped_column(String(64))  # SHA-256 of the request as sent
    answers_sha256: Mapped[str] = mapped_column(String(64))  # of the answers as stored (receipts.answers_sha256)
    leaf_hash: Mapped[str] = mapped_column(String(64))  # RFC 9162 leaf hash of its record (receipts.leaf_record)
    leaf_index: Mapped[int | None] = mapped_column(Integer)  # its place in the quiz's log; None until sequenced
    receipt: Mapped[str | None] = mapped_column(Text)  # the signed receipt a server gave (JSON)
    key_id: Mapped[str | None] = mapped_column(String(64))
    response: Mapped[str | None] = mapped_column(Text)  # what a replay of the same request returns (JSON)


class Extension(Base):
    """One student's own deadline, late window or attempt limit on one quiz (``quizgen quiz
    extend``); a column left null keeps the quiz's. classroom.policies.rules_of applies it."""

    __tablename__ = "extensions"
    __table_args__ = (UniqueConstraint("quiz_id", "student_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"))
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    late_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempt_limit: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Checkpoint(Base):
    """A signed tree head of a quiz's transparency log: its size and root, the frontier the
    sequencer resumes from (JSON list of hex subtree roots), and the signed note (C2SP
    tlog-checkpoint). A checkpoint without a note is the base an upgrade made from the old
    hash chain (``origin`` says what its verification found)."""

    __tablename__ = "checkpoints"
    __table_args__ = (UniqueConstraint("quiz_id", "tree_size", name="uq_checkpoints_quiz_id_tree_size"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"))
    tree_size: Mapped[int] = mapped_column(Integer)
    root_sha256: Mapped[str] = mapped_column(String(64))
    frontier: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    key_id: Mapped[str | None] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    origin: Mapped[str | None] = mapped_column(Text)


class ServerKey(Base):
    """A public key receipts are signed with; the private key stays with the server."""

    __tablename__ = "server_keys"

    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    public_key: Mapped[str] = mapped_column(String(128))  # base64 of the raw key
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LoginFailure(Base):
    """A failed authentication, counted per subject ("ip:…", "student:…") to throttle guessing."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(200), index=True)
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime())


# ---------------------------------------------------------------- LTI 1.3 (the LMS route; classroom.lti)

class LtiPlatform(Base):
    """An LMS registered with ``quizgen lti add-platform``: where its keys, logins and tokens are,
    and how its users are matched to roster students (``match``: student-id, email or sub)."""

    __tablename__ = "lti_platforms"
    __table_args__ = (UniqueConstraint("issuer", "client_id", name="uq_lti_platforms_issuer_client_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(255))
    auth_url: Mapped[str] = mapped_column(Text)
    token_url: Mapped[str] = mapped_column(Text)
    jwks_url: Mapped[str] = mapped_column(Text)
    match: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LtiDeployment(Base):
    """A deployment id the platform launches quizgen under; launches from any other are refused."""

    __tablename__ = "lti_deployments"
    __table_args__ = (UniqueConstraint("platform_id", "deployment_id", name="uq_lti_deployments_platform_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    deployment_id: Mapped[str] = mapped_column(String(255))


class LtiNonce(Base):
    """A launch's nonce, once used: a second launch with it is a replay, on every worker and host."""

    __tablename__ = "lti_nonces"
    __table_args__ = (UniqueConstraint("platform_id", "nonce", name="uq_lti_nonces_platform_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    nonce: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class LtiUser(Base):
    """An LMS user (the platform's ``sub``) as quizgen last saw them, and the roster student
    they are (NULL: unmatched, listed by ``quizgen lti unmatched``)."""

    __tablename__ = "lti_users"
    __table_args__ = (UniqueConstraint("platform_id", "sub", name="uq_lti_users_platform_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    sub: Mapped[str] = mapped_column(String(255))
    student_id: Mapped[int | None] = mapped_column(ForeignKey("students.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    sourcedid: Mapped[str | None] = mapped_column(String(255))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LtiLineItem(Base):
    """A quiz's gradebook column in one course of one platform: one per (platform, course,
    quiz), so launching a link again never makes a second."""

    __tablename__ = "lti_line_items"
    __table_args__ = (UniqueConstraint("platform_id", "context_id", "quiz_id", name="uq_lti_line_items_platform_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    context_id: Mapped[str] = mapped_column(String(255))
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"), index=True)
    lineitem_url: Mapped[str | None] = mapped_column(Text)  # the column's URL (AGS), once known
    lineitems_url: Mapped[str | None] = mapped_column(Text)  # the course's columns (AGS)
    memberships_url: Mapped[str | None] = mapped_column(Text)  # the course's members (NRPS)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LtiScore(Base):
    """The score waiting to reach (or last sent to) an LMS column for one student: written in
    the grading transaction (grading.passback), one row per student and column, so there
    is only ever one current score to send. ``revision`` grows with every new score; the
    sender marks a row sent only if it is still the revision it sent."""

    __tablename__ = "lti_scores"
    __table_args__ = (UniqueConstraint("line_item_id", "student_id", name="uq_lti_scores_line_item_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_item_id: Mapped[int] = mapped_column(ForeignKey("lti_line_items.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"))
    user_sub: Mapped[str] = mapped_column(String(255))
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the AGS timestamp: the attempt's arrival
    activity: Mapped[str] = mapped_column(String(16))  # AGS activityProgress: Submitted or Completed
    grading: Mapped[str] = mapped_column(String(16))  # AGS gradingProgress: FullyGraded or Pending
    revision: Mapped[int] = mapped_column(Integer)
    sent_revision: Mapped[int] = mapped_column(Integer, default=0)
    tries: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def get_quiz(session: Any, quiz: str | int) -> Quiz:
    """The quiz row a user's id names (parsed by ``ids.parse_quiz_id``), or NotFoundError."""
    quiz_id = parse_quiz_id(quiz)
    row = session.get(Quiz, quiz_id)
    if row is None:
        raise NotFoundError(f"no quiz {quiz_id} (see 'quizgen list')")
    return row
