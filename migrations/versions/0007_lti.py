"""LTI 1.3: registered platforms and deployments, used launch nonces, LMS users, gradebook columns, the score queue

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

* ``lti_platforms`` / ``lti_deployments``: the LMSs registered with ``quizgen lti add-platform``.
* ``lti_nonces``: each launch's nonce once used (replays are refused on every worker and host).
* ``lti_users``: the LMS's users (``sub``) and the roster student each one is (NULL: unmatched).
* ``lti_line_items``: one gradebook column per platform, course and quiz.
* ``lti_scores``: the passback queue, one current score per column and student, written in the
  grading transaction.
Nothing existing changes; downgrading drops the six tables.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "lti_platforms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("auth_url", sa.Text(), nullable=False),
        sa.Column("token_url", sa.Text(), nullable=False),
        sa.Column("jwks_url", sa.Text(), nullable=False),
        sa.Column("match", sa.String(length=16), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_platforms")),
        sa.UniqueConstraint("issuer", "client_id", name="uq_lti_platforms_issuer_client_id"),
        sa.UniqueConstraint("name", name=op.f("uq_lti_platforms_name")),
    )
    op.create_table(
        "lti_deployments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("deployment_id", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["platform_id"], ["lti_platforms.id"], ondelete="CASCADE",
                                name=op.f("fk_lti_deployments_platform_id_lti_platforms")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_deployments")),
        sa.UniqueConstraint("platform_id", "deployment_id", name="uq_lti_deployments_platform_id"),
    )
    op.create_table(
        "lti_nonces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("expires_at", _AT, nullable=False),
        sa.ForeignKeyConstraint(["platform_id"], ["lti_platforms.id"], ondelete="CASCADE",
                                name=op.f("fk_lti_nonces_platform_id_lti_platforms")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_nonces")),
        sa.UniqueConstraint("platform_id", "nonce", name="uq_lti_nonces_platform_id"),
    )
    with op.batch_alter_table("lti_nonces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lti_nonces_expires_at"), ["expires_at"], unique=False)
    op.create_table(
        "lti_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("sub", sa.String(length=255), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("sourcedid", sa.String(length=255), nullable=True),
        sa.Column("seen_at", _AT, nullable=False),
        sa.ForeignKeyConstraint(["platform_id"], ["lti_platforms.id"], ondelete="CASCADE",
                                name=op.f("fk_lti_users_platform_id_lti_platforms")),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"], name=op.f("fk_lti_users_student_id_students")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_users")),
        sa.UniqueConstraint("platform_id", "sub", name="uq_lti_users_platform_id"),
    )
    with op.batch_alter_table("lti_users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lti_users_student_id"), ["student_id"], unique=False)
    op.create_table(
        "lti_line_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("context_id", sa.String(length=255), nullable=False),
        sa.Column("quiz_id", sa.Integer(), nullable=False),
        sa.Column("lineitem_url", sa.Text(), nullable=True),
        sa.Column("lineitems_url", sa.Text(), nullable=True),
        sa.Column("memberships_url", sa.Text(), nullable=True),
        sa.Column("created_at", _AT, nullable=False),
        sa.ForeignKeyConstraint(["platform_id"], ["lti_platforms.id"], ondelete="CASCADE",
                                name=op.f("fk_lti_line_items_platform_id_lti_platforms")),
        sa.ForeignKeyConstraint(["quiz_id"], ["quizzes.id"], ondelete="CASCADE",
                                name=op.f("fk_lti_line_items_quiz_id_quizzes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_line_items")),
        sa.UniqueConstraint("platform_id", "context_id", "quiz_id", name="uq_lti_line_items_platform_id"),
    )
    with op.batch_alter_table("lti_line_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lti_line_items_quiz_id"), ["quiz_id"], unique=False)
    op.create_table(
        "lti_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_item_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("user_sub", sa.String(length=255), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("max_score", sa.Float(), nullable=False),
        sa.Column("received_at", _AT, nullable=False),
        sa.Column("activity", sa.String(length=16), nullable=False),
        sa.Column("grading", sa.String(length=16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("sent_revision", sa.Integer(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("next_try_at", _AT, nullable=False),
        sa.Column("claimed_until", _AT, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", _AT, nullable=True),
        sa.ForeignKeyConstraint(["line_item_id"], ["lti_line_items.id"], ondelete="CASCADE",
                                name=op.f("fk_lti_scores_line_item_id_lti_line_items")),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"], name=op.f("fk_lti_scores_student_id_students")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_scores")),
        sa.UniqueConstraint("line_item_id", "student_id", name="uq_lti_scores_line_item_id"),
    )
    with op.batch_alter_table("lti_scores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lti_scores_next_try_at"), ["next_try_at"], unique=False)


def downgrade() -> None:
    for table, index in (("lti_scores", "ix_lti_scores_next_try_at"), ("lti_line_items", "ix_lti_line_items_quiz_id"),
                         ("lti_users", "ix_lti_users_student_id"), ("lti_nonces", "ix_lti_nonces_expires_at")):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(index))
        op.drop_table(table)
    op.drop_table("lti_deployments")
    op.drop_table("lti_platforms")
