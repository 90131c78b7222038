"""the transparency log: each attempt a leaf of its quiz's Merkle tree, signed checkpoints

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

* ``attempts.leaf_hash``: RFC 9162's leaf hash of the attempt's record (quiz, student,
  attempt, source, arrival time, answers hash); ``attempts.leaf_index``: its position in
  the quiz's log, given by the sequencer (null until it is integrated into a checkpoint).
  They replace ``seq`` and ``chain_sha256``.
* ``checkpoints``: each signed tree head of a quiz's log (size, root, the frontier the
  sequencer resumes from, the signed note). A checkpoint without a note is the base an
  upgrade made from the old hash chain, which the server signs when it next starts.

Existing attempts keep their order: the old chain is verified first (its answers
hashed again from the stored submissions, every link recomputed, with the rules of
0005 frozen below) and becomes the log's first tree; what the verification found is
written into that base checkpoint, so ``quizgen audit`` reports a chain that was
already broken instead of the upgrade hiding it.
"""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def _canonical(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _stamp(value: datetime | str) -> str:
    """An instant as quizgen writes it into chain and leaf records: ISO 8601 in UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _frontier(leaves: list[bytes]) -> tuple[bytes, list[bytes]]:
    """(root, frontier) of a tree of leaf hashes, as quizgen.merkle.Frontier builds them."""
    hashes: list[bytes] = []
    for size, leaf in enumerate(leaves):
        h, n = leaf, size
        while n & 1:
            h = _node(hashes.pop(), h)
            n >>= 1
        hashes.append(h)
    if not hashes:
        return hashlib.sha256(b"").digest(), []
    root = hashes[-1]
    for h in reversed(hashes[:-1]):
        root = _node(h, root)
    return root, hashes


def upgrade() -> None:
    op.create_table(
        "checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quiz_id", sa.Integer(), nullable=False),
        sa.Column("tree_size", sa.Integer(), nullable=False),
        sa.Column("root_sha256", sa.String(length=64), nullable=False),
        sa.Column("frontier", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("key_id", sa.String(length=64), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("origin", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["quiz_id"], ["quizzes.id"], name=op.f("fk_checkpoints_quiz_id_quizzes"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkpoints")),
        sa.UniqueConstraint("quiz_id", "tree_size", name="uq_checkpoints_quiz_id_tree_size"),
    )
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("leaf_index", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("leaf_hash", sa.String(length=64), nullable=True))

    conn = op.get_bind()
    attempts = sa.table("attempts", sa.column("id", sa.Integer), sa.column("quiz_id", sa.Integer),
                        sa.column("student_id", sa.Integer), sa.column("attempt", sa.Integer),
                        sa.column("received_at", sa.DateTime(timezone=True)), sa.column("source", sa.String),
                        sa.column("seq", sa.Integer), sa.column("answers_sha256", sa.String),
                        sa.column("chain_sha256", sa.String), sa.column("leaf_index", sa.Integer),
                        sa.column("leaf_hash", sa.String))
    submissions = sa.table("submissions", sa.column("quiz_id", sa.Integer), sa.column("student_id", sa.Integer),
                           sa.column("attempt", sa.Integer), sa.column("question_id", sa.Integer),
                           sa.column("raw", sa.Text))
    questions = sa.table("questions", sa.column("id", sa.Integer), sa.column("slot", sa.Integer))
    students = sa.table("students", sa.column("id", sa.Integer), sa.column("external_id", sa.String))
    checkpoints = sa.table("checkpoints", sa.column("quiz_id", sa.Integer), sa.column("tree_size", sa.Integer),
                           sa.column("root_sha256", sa.String), sa.column("frontier", sa.Text),
                           sa.column("note", sa.Text), sa.column("key_id", sa.String),
                           sa.column("signed_at", sa.DateTime(timezone=True)), sa.column("origin", sa.Text))
    external = dict(conn.execute(sa.select(students.c.id, students.c.external_id)).all())
    stored: dict[tuple[int, int, int], dict[str, str]] = defaultdict(dict)
    for quiz_id, student_id, attempt, slot, raw in conn.execute(
            sa.select(submissions.c.quiz_id, submissions.c.student_id, submissions.c.attempt, questions.c.slot,
                      submissions.c.raw).join(questions, questions.c.id == submissions.c.question_id)):
        stored[(quiz_id, student_id, attempt)][str(slot)] = raw
    rows = conn.execute(sa.select(attempts.c.id, attempts.c.quiz_id, attempts.c.student_id, attempts.c.attempt,
                                  attempts.c.received_at, attempts.c.source, attempts.c.seq,
                                  attempts.c.answers_sha256, attempts.c.chain_sha256)
                        .order_by(attempts.c.quiz_id, attempts.c.seq)).all()
    by_quiz: dict[int, list] = defaultdict(list)
    for row in rows:
        by_quiz[row.quiz_id].append(row)
    updates = []
    bases = []
    at = datetime.now(UTC)
    for quiz_id, quiz_rows in by_quiz.items():
        previous, problems, leaves = GENESIS, [], []
        for i, row in enumerate(quiz_rows):
            student = external.get(row.student_id, f"#{row.student_id}")
            if row.seq != i + 1:
                problems.append(f"position {i + 1}: attempt(s) missing from the chain (found {row.seq})")
            if _sha256(_canonical(stored.get((quiz_id, row.student_id, row.attempt), {}))) != row.answers_sha256:
                problems.append(f"position {row.seq}: student {student}, attempt {row.attempt}: its answers were "
                                "changed after it was recorded")
            record = {"quiz": quiz_id, "student": student, "attempt": row.attempt, "seq": row.seq,
                      "received_at": _stamp(row.received_at), "answers_sha256": row.answers_sha256}
            if _sha256(previous + "\n" + _canonical(record)) != row.chain_sha256:
                problems.append(f"position {row.seq}: student {student}, attempt {row.attempt}: its row or chain "
                                "hash was rewritten")
            previous = row.chain_sha256
            leaf = {"quiz": quiz_id, "student": student, "attempt": row.attempt, "source": row.source,
                    "received_at": _stamp(row.received_at), "answers_sha256": row.answers_sha256}
            digest = hashlib.sha256(b"\x00" + _canonical(leaf).encode("utf-8")).digest()
            leaves.append(digest)
            updates.append({"aid": row.id, "index": i, "leaf": digest.hex()})
        root, frontier = _frontier(leaves)
        verdict = "intact" if not problems else "BROKEN: " + "; ".join(problems[:20])
        bases.append({"quiz_id": quiz_id, "tree_size": len(leaves), "root_sha256": root.hex(),
                      "frontier": json.dumps([h.hex() for h in frontier]), "note": None, "key_id": None,
                      "signed_at": at,
                      "origin": f"upgraded from the hash chain (head {previous}); the chain was {verdict}"})
    if updates:
        conn.execute(attempts.update().where(attempts.c.id == sa.bindparam("aid"))
                     .values(leaf_index=sa.bindparam("index"), leaf_hash=sa.bindparam("leaf")), updates)
    if bases:
        conn.execute(checkpoints.insert(), bases)
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_constraint("uq_attempts_quiz_id_seq", type_="unique")
        batch_op.drop_column("seq")
        batch_op.drop_column("chain_sha256")
        batch_op.alter_column("leaf_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint("uq_attempts_quiz_id_leaf_index", ["quiz_id", "leaf_index"])
        batch_op.create_index("ix_attempts_unsequenced", ["quiz_id"], unique=False,
                              sqlite_where=sa.text("leaf_index IS NULL"),
                              postgresql_where=sa.text("leaf_index IS NULL"))


def downgrade() -> None:
    """The log's order becomes the chain's again (attempts not yet sequenced after the
    others, in arrival order); checkpoints are dropped."""
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("chain_sha256", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    attempts = sa.table("attempts", sa.column("id", sa.Integer), sa.column("quiz_id", sa.Integer),
                        sa.column("student_id", sa.Integer), sa.column("attempt", sa.Integer),
                        sa.column("received_at", sa.DateTime(timezone=True)), sa.column("seq", sa.Integer),
                        sa.column("answers_sha256", sa.String), sa.column("chain_sha256", sa.String),
                        sa.column("leaf_index", sa.Integer))
    students = sa.table("students", sa.column("id", sa.Integer), sa.column("external_id", sa.String))
    external = dict(conn.execute(sa.select(students.c.id, students.c.external_id)).all())
    rows = conn.execute(sa.select(attempts.c.id, attempts.c.quiz_id, attempts.c.student_id, attempts.c.attempt,
                                  attempts.c.received_at, attempts.c.answers_sha256, attempts.c.leaf_index)).all()
    rows = sorted(rows, key=lambda r: (r.quiz_id, r.leaf_index is None, r.leaf_index or 0, str(r.received_at), r.id))
    heads: dict[int, tuple[int, str]] = {}
    updates = []
    for row in rows:
        seq, previous = heads.get(row.quiz_id, (0, GENESIS))
        seq += 1
        record = {"quiz": row.quiz_id, "student": external.get(row.student_id, f"#{row.student_id}"),
                  "attempt": row.attempt, "seq": seq, "received_at": _stamp(row.received_at),
                  "answers_sha256": row.answers_sha256}
        chain = _sha256(previous + "\n" + _canonical(record))
        heads[row.quiz_id] = (seq, chain)
        updates.append({"aid": row.id, "seq": seq, "chain": chain})
    if updates:
        conn.execute(attempts.update().where(attempts.c.id == sa.bindparam("aid"))
                     .values(seq=sa.bindparam("seq"), chain_sha256=sa.bindparam("chain")), updates)
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_attempts_unsequenced", sqlite_where=sa.text("leaf_index IS NULL"),
                            postgresql_where=sa.text("leaf_index IS NULL"))
        batch_op.drop_constraint("uq_attempts_quiz_id_leaf_index", type_="unique")
        batch_op.drop_column("leaf_hash")
        batch_op.drop_column("leaf_index")
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("chain_sha256", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint("uq_attempts_quiz_id_seq", ["quiz_id", "seq"])
    op.drop_table("checkpoints")
