"""questions.response: the answer's form without its values, for student commands

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""
from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def response_of(answer: dict) -> dict:
    """The answer without values: what a student needs to know to answer."""
    if answer.get("type") == "parts":
        return {"type": "parts", "parts": [{"key": p["key"], "type": p["type"], "label": p["label"]}
                                           for p in answer["parts"]]}
    return {"type": answer["type"]}


def upgrade() -> None:
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("response", sa.JSON(), nullable=True))
    questions = sa.table("questions", sa.column("id", sa.Integer), sa.column("answer", sa.JSON),
                         sa.column("response", sa.JSON))
    conn = op.get_bind()
    rows = conn.execute(sa.select(questions.c.id, questions.c.answer)).all()
    for qid, answer in rows:
        if isinstance(answer, str):
            answer = json.loads(answer)
        conn.execute(questions.update().where(questions.c.id == qid).values(response=response_of(answer)))
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.alter_column("response", existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.drop_column("response")
