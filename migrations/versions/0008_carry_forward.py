"""follow-through credit: a quiz may give a summary's total its part when it is wrong only
because of an earlier wrong layer

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

* ``quizzes.carry_forward``: whether the quiz was generated with ``--carry-forward``. Its
  summary questions' grading keys then carry the rule (grading.misconceptions), so a
  regrade keeps it; existing quizzes get false, which is what they were graded with.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("quizzes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("carry_forward", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("quizzes", schema=None) as batch_op:
        batch_op.drop_column("carry_forward")
