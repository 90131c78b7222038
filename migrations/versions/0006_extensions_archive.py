"""per-student extensions, archived quizzes

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

* ``extensions``: one student's own deadline, late window or attempt limit on one
  quiz (``quizgen quiz extend``); a null column keeps the quiz's setting. At most one
  row per quiz and student.
* ``quizzes.archived``: an archived quiz takes no submissions and is left out of
  ``quizgen list`` unless ``--all``. Existing quizzes are not archived.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "extensions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quiz_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("late_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempt_limit", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["quiz_id"], ["quizzes.id"], name=op.f("fk_extensions_quiz_id_quizzes"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"], name=op.f("fk_extensions_student_id_students")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_extensions")),
        sa.UniqueConstraint("quiz_id", "student_id", name=op.f("uq_extensions_quiz_id")),
    )
    with op.batch_alter_table("extensions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_extensions_quiz_id"), ["quiz_id"], unique=False)
    with op.batch_alter_table("quizzes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("archived", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("quizzes", schema=None) as batch_op:
        batch_op.drop_column("archived")
    with op.batch_alter_table("extensions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_extensions_quiz_id"))
    op.drop_table("extensions")
