"""The transparency log of a quiz's attempts: sequencing, signed checkpoints, proofs.

Recording an attempt only writes its row with its leaf hash (``receipts.leaf_record``):
no lock is held for the quiz as a whole, so attempts commit in parallel. A sequencer
then integrates the new leaves in batches, as Certificate Transparency and Tessera do:
under a per-quiz lock (PostgreSQL's advisory lock; SQLite's write lock) it gives each
pending attempt the next index of the quiz's log, appends it to the Merkle tree's
frontier (quizgen.merkle), and signs a checkpoint (size, root, time) with the server's
key. Every server process may run it: the lock makes them agree on one sequence.
After the commit the checkpoint is also appended to a file outside the database (beside
the key), so rows removed later are visible against it.

The receipt an attempt gets carries its leaf hash and a signed promise that it will be
in a checkpoint by ``integrate_by`` (the maximum merge delay after its arrival); proofs
of inclusion and of consistency between checkpoints are computed from the leaf hashes
in the database, and checked by anyone with the checkpoints alone.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from .. import merkle
from ..clock import as_utc, now
from ..errors import NotFoundError, QuizgenError, StoreError
from ..receipts import Signer, checkpoint_body
from ..store.db import Store, lock_for_writing
from ..store.tables import Attempt, Checkpoint, get_quiz
from .keys import Signing, register_key

SEQUENCER_LOCK = 0x71_7A_67_10
MAX_MERGE_DELAY = timedelta(seconds=60)  # what a receipt promises: in a checkpoint within this of arriving


class ProofError(QuizgenError):
    """A proof that cannot be given: no such leaf, or sizes that are not checkpoints."""


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint as the API and the client carry it."""

    quiz: int
    size: int
    root: str  # hex
    time: str  # ISO 8601, UTC
    note: str | None  # the signed note; None only for an upgrade's base not yet signed
    key_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {"quiz": self.quiz, "size": self.size, "root": self.root, "time": self.time, "note": self.note,
                "key_id": self.key_id}


def _shown(row: Checkpoint) -> SignedCheckpoint:
    return SignedCheckpoint(row.quiz_id, row.tree_size, row.root_sha256, as_utc(row.signed_at).isoformat(),
                            row.note, row.key_id)


def integrate_by(received: datetime) -> str:
    """The time a receipt promises its attempt will be in a signed checkpoint."""
    return as_utc(received + MAX_MERGE_DELAY).isoformat()


def _latest(session: Any, quiz_id: int) -> Checkpoint | None:
    return session.scalars(select(Checkpoint).where(Checkpoint.quiz_id == quiz_id)
                           .order_by(Checkpoint.tree_size.desc()).limit(1)).first()


def sequence_quiz(session: Any, quiz_id: int, signer: Signer, at: datetime | None = None) -> SignedCheckpoint | None:
    """Integrate the quiz's pending attempts and sign the new checkpoint, in the caller's
    write transaction; None when there was nothing to do."""
    lock_for_writing(session.connection(), SEQUENCER_LOCK, quiz_id)
    latest = _latest(session, quiz_id)
    pending = session.execute(select(Attempt.id, Attempt.leaf_hash)
                              .where(Attempt.quiz_id == quiz_id, Attempt.leaf_index.is_(None))
                              .order_by(Attempt.id)).all()
    if not pending and (latest is None or latest.note is not None):
        return None
    frontier = (merkle.Frontier(latest.tree_size, [bytes.fromhex(h) for h in json.loads(latest.frontier)])
                if latest is not None else merkle.Frontier())
    start = frontier.size
    for _, leaf in pending:
        frontier.append(bytes.fromhex(leaf))
    if pending:
        session.execute(update(Attempt), [{"id": aid, "leaf_index": start + i} for i, (aid, _) in enumerate(pending)])
    at = at or now()
    stamp = as_utc(at).isoformat()
    root = frontier.root()
    note = signer.sign_note(checkpoint_body(quiz_id, frontier.size, root, stamp))
    hashes = json.dumps([h.hex() for h in frontier.hashes or []])
    if latest is not None and latest.tree_size == frontier.size:  # an upgrade's unsigned base: sign it
        latest.note, latest.key_id, latest.signed_at = note, signer.key_id, at
        latest.root_sha256, latest.frontier = root.hex(), hashes
        row = latest
    else:
        row = Checkpoint(quiz_id=quiz_id, tree_size=frontier.size, root_sha256=root.hex(), frontier=hashes,
                         note=note, key_id=signer.key_id, signed_at=at)
        session.add(row)
    session.flush()
    return _shown(row)


def pending_quizzes(store: Store) -> list[int]:
    """Quizzes with attempts not yet in a checkpoint, or an upgrade's base not yet signed."""
    with store.read() as session:
        waiting = set(session.scalars(select(Attempt.quiz_id).where(Attempt.leaf_index.is_(None)).distinct()))
        waiting |= set(session.scalars(select(Checkpoint.quiz_id).where(Checkpoint.note.is_(None)).distinct()))
    return sorted(waiting)


def sequence_pending(store: Store, signing: Signing, quizzes: list[int] | None = None) -> list[SignedCheckpoint]:
    """Sequence every quiz with pending attempts (or only ``quizzes``), one transaction each;
    the checkpoints signed are appended to the checkpoints file after their commits."""
    done = []
    register_key(store, signing.signer)  # once per key: a read when it is there
    for quiz_id in pending_quizzes(store) if quizzes is None else quizzes:
        with store.write() as session:
            made = sequence_quiz(session, quiz_id, signing.signer)
        if made is not None:
            done.append(made)
            if signing.checkpoints is not None:
                append_checkpoint(signing.checkpoints, made)
    return done


def sequence_quietly(store: Store, signing: Signing, quizzes: list[int]) -> None:
    """sequence_pending after a command's own commit: a busy database (or an unwritable
    checkpoints file) leaves the attempts pending for the next sequencer; their receipts
    promise integration by a time, not by this command."""
    try:
        sequence_pending(store, signing, quizzes)
    except (StoreError, OSError):
        pass


def append_checkpoint(path: Path, checkpoint: SignedCheckpoint) -> None:
    """One JSON line per checkpoint, appended and flushed to disk (0600, created if absent)."""
    line = json.dumps(checkpoint.to_json(), ensure_ascii=False, sort_keys=True) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def read_checkpoints_file(path: Path) -> list[dict[str, Any]]:
    """The checkpoints a server appended to ``path`` (lines that are not JSON objects are skipped)."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict):
            out.append(item)
    return out


# ---------------------------------------------------------------- reading the log

def latest_checkpoint(store: Store, quiz: str | int) -> SignedCheckpoint:
    """The quiz's newest signed checkpoint (NotFoundError when none is signed yet)."""
    with store.read() as session:
        quiz_id = get_quiz(session, quiz).id
        row = session.scalars(select(Checkpoint).where(Checkpoint.quiz_id == quiz_id, Checkpoint.note.is_not(None))
                              .order_by(Checkpoint.tree_size.desc()).limit(1)).first()
    if row is None:
        raise NotFoundError(f"quiz {quiz_id} has no signed checkpoint yet")
    return _shown(row)


def checkpoints(store: Store, quiz: str | int) -> list[SignedCheckpoint]:
    """Every checkpoint of the quiz, oldest first (for ``quizgen checkpoints``)."""
    with store.read() as session:
        quiz_id = get_quiz(session, quiz).id
        rows = session.scalars(select(Checkpoint).where(Checkpoint.quiz_id == quiz_id)
                               .order_by(Checkpoint.tree_size)).all()
        return [_shown(r) for r in rows]


def _leaves(session: Any, quiz_id: int, size: int) -> list[bytes]:
    hashes = session.scalars(select(Attempt.leaf_hash).where(Attempt.quiz_id == quiz_id,
                                                             Attempt.leaf_index < size)
                             .order_by(Attempt.leaf_index)).all()
    return [bytes.fromhex(h) for h in hashes]


def _signed_size(session: Any, quiz_id: int, size: int) -> Checkpoint:
    row = session.scalars(select(Checkpoint).where(Checkpoint.quiz_id == quiz_id, Checkpoint.tree_size == size,
                                                   Checkpoint.note.is_not(None))).first()
    if row is None:
        raise ProofError(f"quiz {quiz_id} has no signed checkpoint of size {size}")
    return row


@dataclass(frozen=True)
class Inclusion:
    index: int
    size: int
    path: list[str]  # hex, from the leaf up (RFC 9162)

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "size": self.size, "path": self.path}


def inclusion(store: Store, quiz: str | int, leaf: str, size: int | None = None) -> Inclusion:
    """The inclusion proof of the leaf ``leaf`` (hex) in the checkpoint of ``size`` (the latest by default)."""
    with store.read() as session:
        quiz_id = get_quiz(session, quiz).id
        if size is None:
            size = latest_checkpoint(store, quiz_id).size
        _signed_size(session, quiz_id, size)
        index = session.scalar(select(Attempt.leaf_index).where(Attempt.quiz_id == quiz_id,
                                                                 Attempt.leaf_hash == leaf.lower()))
        if index is None or index >= size:
            raise ProofError(f"no attempt with that leaf hash is in quiz {quiz_id}'s checkpoint of size {size}")
        leaves = _leaves(session, quiz_id, size)
    return Inclusion(index, size, [h.hex() for h in merkle.inclusion_proof(index, leaves)])


def consistency(store: Store, quiz: str | int, old: int, new: int) -> list[str]:
    """The consistency proof (hex) between two of the quiz's signed checkpoints."""
    if not 0 < old <= new:
        raise ProofError("a consistency proof goes from a smaller checkpoint to a larger one")
    with store.read() as session:
        quiz_id = get_quiz(session, quiz).id
        _signed_size(session, quiz_id, old)
        _signed_size(session, quiz_id, new)
        leaves = _leaves(session, quiz_id, new)
    return [h.hex() for h in merkle.consistency_proof(old, leaves)]
