"""the checking service: a hash chain and receipts on attempts, a late window, server keys, login failures

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

* ``attempts.seq`` / ``answers_sha256`` / ``chain_sha256``: each quiz's attempts form a
  hash chain (``quizgen audit`` recomputes it). Existing attempts are chained in the
  order they arrived (received_at, then id), their answers hashed from the stored
  submissions the way quizgen 0.2 hashes them (the rule is frozen below).
* ``attempts.receipt`` / ``key_id`` / ``response``: the signed receipt a server gave
  and the response an idempotent replay returns (null for attempts made locally).
* ``quizzes.late_until``: submissions after the deadline are accepted, marked late,
  until then (null: not at all).
* ``server_keys``: the public keys receipts are signed with (private keys never
  enter the database).
* ``login_failures``: failed authentications, counted per client and per student id
  so every server process throttles alike.
"""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import UTC

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def _canonical(obj) -> str:  # type: ignore[no-untyped-def]
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _stamp(value) -> str:  # type: ignore[no-untyped-def]
    """An instant as quizgen 0.2 writes it into a chain record: ISO 8601 in UTC."""
    from datetime import datetime

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def upgrade() -> None:
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("answers_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("chain_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("receipt", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("key_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("response", sa.Text(), nullable=True))
    with op.batch_alter_table("quizzes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("late_until", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "server_keys",
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("public_key", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_server_keys")),
    )
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_failures_subject"), ["subject"], unique=False)

    # chain the attempts already there, per quiz, in arrival order
    conn = op.get_bind()
    attempts = sa.table("attempts", sa.column("id", sa.Integer), sa.column("quiz_id", sa.Integer),
                        sa.column("student_id", sa.Integer), sa.column("attempt", sa.Integer),
                        sa.column("received_at", sa.DateTime(timezone=True)), sa.column("seq", sa.Integer),
                        sa.column("answers_sha256", sa.String), sa.column("chain_sha256", sa.String))
    submissions = sa.table("submissions", sa.column("quiz_id", sa.Integer), sa.column("student_id", sa.Integer),
                           sa.column("attempt", sa.Integer), sa.column("question_id", sa.Integer),
                           sa.column("raw", sa.Text))
    questions = sa.table("questions", sa.column("id", sa.Integer), sa.column("slot", sa.Integer))
    students = sa.table("students", sa.column("id", sa.Integer), sa.column("external_id", sa.String))
    external = dict(conn.execute(sa.select(students.c.id, students.c.external_id)).all())
    answers: dict[tuple[int, int, int], dict[str, str]] = defaultdict(dict)
    for quiz_id, student_id, attempt, slot, raw in conn.execute(
            sa.select(submissions.c.quiz_id, submissions.c.student_id, submissions.c.attempt, questions.c.slot,
                      submissions.c.raw).join(questions, questions.c.id == submissions.c.question_id)):
        answers[(quiz_id, student_id, attempt)][str(slot)] = raw
    rows = conn.execute(sa.select(attempts.c.id, attempts.c.quiz_id, attempts.c.student_id, attempts.c.attempt,
                                  attempts.c.received_at)
                        .order_by(attempts.c.quiz_id, attempts.c.received_at, attempts.c.id)).all()
    heads: dict[int, tuple[int, str]] = {}
    updates = []
    for aid, quiz_id, student_id, attempt, received_at in rows:
        seq, prev = heads.get(quiz_id, (0, GENESIS))
        seq += 1
        digest = _sha256(_canonical(answers.get((quiz_id, student_id, attempt), {})))
        record = {"quiz": quiz_id, "student": external[student_id], "attempt": attempt, "seq": seq,
                  "received_at": _stamp(received_at), "answers_sha256": digest}
        chain = _sha256(prev + "\n" + _canonical(record))
        heads[quiz_id] = (seq, chain)
        updates.append({"aid": aid, "seq": seq, "digest": digest, "chain": chain})
    if updates:
        conn.execute(attempts.update().where(attempts.c.id == sa.bindparam("aid"))
                     .values(seq=sa.bindparam("seq"), answers_sha256=sa.bindparam("digest"),
                             chain_sha256=sa.bindparam("chain")), updates)
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("answers_sha256", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("chain_sha256", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint("uq_attempts_quiz_id_seq", ["quiz_id", "seq"])


def downgrade() -> None:
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_failures_subject"))
    op.drop_table("login_failures")
    op.drop_table("server_keys")
    with op.batch_alter_table("quizzes", schema=None) as batch_op:
        batch_op.drop_column("late_until")
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_constraint("uq_attempts_quiz_id_seq", type_="unique")
        batch_op.drop_column("response")
        batch_op.drop_column("key_id")
        batch_op.drop_column("receipt")
        batch_op.drop_column("chain_sha256")
        batch_op.drop_column("answers_sha256")
        batch_op.drop_column("seq")
