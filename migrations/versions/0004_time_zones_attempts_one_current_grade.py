"""deadlines in their quiz's time zone, an attempts table, one current grade per answer

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29

* ``quizzes.time_zone`` records the zone a deadline was given in. Before this
  revision quizgen stored a deadline as the instructor's local wall-clock time
  with its zone dropped on SQLite (SQLAlchemy's SQLite DATETIME keeps no zone), and
  read it back as UTC. The rule: on SQLite an existing deadline is taken to be
  wall-clock time in the zone of the machine that upgrades (``quizgen db upgrade
  --tz ZONE`` names another; by hand: ``alembic -x tz=ZONE upgrade head``) and is
  converted to UTC; on PostgreSQL (``timestamptz``) it was stored correctly and is
  kept. Either way that zone is recorded on the quiz. Other time stamps were always
  written in UTC and are unchanged.
* ``quizzes.key_revision``: bumped whenever a grading key changes, so graders notice.
* ``attempts``: one row per attempt (arrival time, source, idempotency key),
  backfilled from existing submissions as source ``legacy``.
* ``grades``: at most one current grade per submission, by a partial unique index.
  Where two concurrent regrades had left two current grades, the newest is kept
  current and the others are marked not current (nothing is deleted).
"""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import context, op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _zone_name() -> str:
    """The zone old deadlines are read in: handed over by ``quizgen db upgrade``, else -x tz=…, else UTC."""
    name = context.config.attributes.get("time_zone") or context.get_x_argument(as_dictionary=True).get("tz")
    return name or "UTC"


def _zone(name: str):  # type: ignore[no-untyped-def]
    m = re.fullmatch(r"([+-])(\d{2}):(\d{2})", name)
    if m:
        delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
        return timezone(-delta if m.group(1) == "-" else delta)
    return UTC if name == "UTC" else ZoneInfo(name)


def _naive(value):  # type: ignore[no-untyped-def]
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=None)


def upgrade() -> None:
    conn = op.get_bind()
    zone_name = _zone_name()
    zone = _zone(zone_name)
    with op.batch_alter_table("quizzes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("key_revision", sa.Integer(), server_default=sa.text("0"), nullable=False))
    quizzes = sa.table("quizzes", sa.column("id", sa.Integer), sa.column("deadline", sa.DateTime(timezone=True)),
                       sa.column("time_zone", sa.String))
    if conn.dialect.name == "sqlite":
        raw = sa.table("quizzes", sa.column("id", sa.Integer), sa.column("deadline", sa.String))
        for qid, deadline in conn.execute(sa.select(raw.c.id, raw.c.deadline).where(raw.c.deadline.is_not(None))).all():
            wall = _naive(deadline)
            instant = wall.replace(tzinfo=zone, fold=1).astimezone(UTC).replace(tzinfo=None)
            conn.execute(raw.update().where(raw.c.id == qid).values(deadline=f"{instant:%Y-%m-%d %H:%M:%S.%f}"))
    conn.execute(quizzes.update().values(time_zone=zone_name))
    with op.batch_alter_table("quizzes", schema=None) as batch_op:
        batch_op.alter_column("time_zone", existing_type=sa.String(length=64), nullable=False)

    grades = sa.table("grades", sa.column("id", sa.Integer), sa.column("submission_id", sa.Integer),
                      sa.column("current", sa.Boolean))
    newest = (sa.select(sa.func.max(grades.c.id)).where(grades.c.current.is_(True))
              .group_by(grades.c.submission_id).having(sa.func.count() > 1))
    doubled = [row[0] for row in conn.execute(newest)]
    if doubled:
        dup_subs = sa.select(grades.c.submission_id).where(grades.c.id.in_(doubled))
        conn.execute(grades.update().where(grades.c.submission_id.in_(dup_subs), grades.c.current.is_(True),
                                           grades.c.id.not_in(doubled)).values(current=False))
    with op.batch_alter_table("grades", schema=None) as batch_op:
        batch_op.create_index("uq_grades_current_submission", ["submission_id"], unique=True,
                              sqlite_where=sa.text('"current" = 1'), postgresql_where=sa.text('"current"'))

    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quiz_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["quiz_id"], ["quizzes.id"], name=op.f("fk_attempts_quiz_id_quizzes")),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"], name=op.f("fk_attempts_student_id_students")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attempts")),
        sa.UniqueConstraint("quiz_id", "student_id", "attempt", name=op.f("uq_attempts_quiz_id")),
        sa.UniqueConstraint("quiz_id", "student_id", "idempotency_key", name="uq_attempts_quiz_id_idempotency_key"),
    )
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attempts_quiz_id"), ["quiz_id"], unique=False)
    submissions = sa.table("submissions", sa.column("quiz_id", sa.Integer), sa.column("student_id", sa.Integer),
                           sa.column("attempt", sa.Integer), sa.column("submitted_at", sa.DateTime(timezone=True)))
    attempts = sa.table("attempts", sa.column("quiz_id", sa.Integer), sa.column("student_id", sa.Integer),
                        sa.column("attempt", sa.Integer), sa.column("received_at", sa.DateTime(timezone=True)),
                        sa.column("source", sa.String))
    conn.execute(attempts.insert().from_select(
        ["quiz_id", "student_id", "attempt", "received_at", "source"],
        sa.select(submissions.c.quiz_id, submissions.c.student_id, submissions.c.attempt,
                  sa.func.min(submissions.c.submitted_at), sa.literal("legacy"))
        .group_by(submissions.c.quiz_id, submissions.c.student_id, submissions.c.attempt)))


def downgrade() -> None:
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attempts_quiz_id"))
    op.drop_table("attempts")
    with op.batch_alter_table("grades", schema=None) as batch_op:
        batch_op.drop_index("uq_grades_current_submission")
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":  # back to the old reading: wall-clock time in the quiz's zone
        raw = sa.table("quizzes", sa.column("id", sa.Integer), sa.column("deadline", sa.String),
                       sa.column("time_zone", sa.String))
        for qid, deadline, zone_name in conn.execute(
                sa.select(raw.c.id, raw.c.deadline, raw.c.time_zone).where(raw.c.deadline.is_not(None))).all():
            instant = _naive(deadline).replace(tzinfo=UTC)
            wall = instant.astimezone(_zone(zone_name)).replace(tzinfo=None)
            conn.execute(raw.update().where(raw.c.id == qid).values(deadline=f"{wall:%Y-%m-%d %H:%M:%S.%f}"))
    with op.batch_alter_table("quizzes", schema=None) as batch_op:
        batch_op.drop_column("key_revision")
        batch_op.drop_column("time_zone")
