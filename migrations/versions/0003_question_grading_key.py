"""questions.expected and questions.slips: the grading key, computed once per question

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28

Grading used to decode each answer and re-solve each spec to diagnose a wrong
answer; the key is now stored with the question. The backfill computes it with
the installed quizgen, the same code that writes it for new questions.
"""
from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _decoded(value):  # SQLite hands JSON back as text
    return json.loads(value) if isinstance(value, str) else value


def upgrade() -> None:
    from quizgen.grading.misconceptions import grading_key

    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expected", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("slips", sa.JSON(), nullable=True))
    questions = sa.table("questions", sa.column("id", sa.Integer), sa.column("kind", sa.String),
                         sa.column("spec", sa.JSON), sa.column("answer", sa.JSON),
                         sa.column("expected", sa.Text), sa.column("slips", sa.JSON))
    conn = op.get_bind()
    rows = conn.execute(sa.select(questions.c.id, questions.c.kind, questions.c.spec, questions.c.answer)).all()
    updates = []
    for qid, kind, spec, answer in rows:
        expected, slips = grading_key(kind, _decoded(spec), _decoded(answer))
        updates.append({"qid": qid, "expected": expected, "slips": slips})
    if updates:
        conn.execute(questions.update().where(questions.c.id == sa.bindparam("qid"))
                     .values(expected=sa.bindparam("expected"), slips=sa.bindparam("slips")), updates)
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.alter_column("expected", existing_type=sa.Text(), nullable=False)
        batch_op.alter_column("slips", existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.drop_column("slips")
        batch_op.drop_column("expected")
