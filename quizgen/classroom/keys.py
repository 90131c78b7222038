"""The server's signing key: a 0600 file the service creates once, and its public half
registered in the database so that every server process can check receipts. The
private key never enters the database. It signs every attempt's receipt (whoever
records it: the service, a local ``quizgen submit``, an import) and the transparency
log's checkpoints; ``quizgen audit`` trusts the key in this file, not the database's
list, which anyone who can edit the database could extend."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from ..clock import now
from ..errors import QuizgenError, clip
from ..receipts import Signer
from ..store.db import Store, redact_url, resolve_url, sqlite_path
from ..store.tables import ServerKey


@dataclass(frozen=True)
class Signing:
    """What records and sequences attempts needs: the server's key, and the file beside it
    that the checkpoints it signs are appended to."""

    signer: Signer
    checkpoints: Path | None


def checkpoints_file(key_file: str) -> Path:
    """Where a server appends the checkpoints it signs: beside its key, outside the database."""
    return Path(f"{key_file}.checkpoints")


class KeyFileError(QuizgenError):
    """A receipt key file that cannot be read, created or trusted."""


def key_file_beside(db: str | None, what: str) -> str:
    """Where a key of the store ``db`` lives by default (``what``: ``receipt``, ``lti``):
    beside a SQLite database (``class.db.receipt-key``); for a server database, in the
    user's config folder, named for the database (servers on several hosts share one by
    giving its path)."""
    url = resolve_url(db)
    path = sqlite_path(url)
    if path is not None:
        return f"{path}.{what}-key"
    import hashlib

    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "quizgen"
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    return str(base / f"{what}-{hashlib.sha256(redact_url(url).encode()).hexdigest()[:16]}.key")


def default_key_file(db: str | None) -> str:
    """The signing key's default place (key_file_beside)."""
    return key_file_beside(db, "receipt")


def load_signer(path: str, create: bool = True) -> Signer:
    """The key in ``path`` (32 raw bytes, mode 0600), created if absent and ``create``."""
    target = Path(path)
    try:
        if not target.exists():
            if not create:
                raise KeyFileError(f"no receipt key at {clip(path, 80)}")
            raw = os.urandom(32)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(raw)
                fh.flush()
                os.fsync(fh.fileno())
        st = os.lstat(target)
        if not stat.S_ISREG(st.st_mode):
            raise KeyFileError(f"{clip(path, 80)} is not a regular file; the receipt key must be one")
        if st.st_mode & 0o077:
            raise KeyFileError(f"{clip(path, 80)} can be read by other users (mode {stat.S_IMODE(st.st_mode):o}); "
                               f"chmod 600 it, or remove it to make a new key")
        raw = target.read_bytes()
    except FileExistsError:  # another process created it first: use theirs
        raw = target.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot use the receipt key {clip(path, 80)}: {exc.strerror}") from None
    if len(raw) != 32:
        raise KeyFileError(f"{clip(path, 80)} is not a quizgen receipt key (expected 32 bytes)")
    return Signer(raw)


def key_file_for(db: str | None, key_file: str | None) -> str:
    """The key file a command uses: the one given (--key-file, QUIZGEN_KEY_FILE), else the default."""
    return key_file or default_key_file(db)


def open_signing(store: Store, db: str | None, key_file: str | None) -> Signing:
    """The key that signs attempts recorded through ``store`` (made if absent), and the file
    its checkpoints are appended to. Nothing is written to the database here: a command
    refused for bad input leaves it unchanged; the key is registered when the sequencer
    first signs with it (classroom.tlog.sequence_pending)."""
    path = key_file_for(db, key_file)
    return Signing(load_signer(path), checkpoints_file(path))


def register_key(store: Store, signer: Signer) -> None:
    """Record the public key in the database (once), so receipts it signs can be checked.
    Several processes may register the same key at once (local submits in parallel): the
    insert does nothing when the key is there, rather than failing on the primary key."""
    with store.read() as session:
        if session.scalar(select(ServerKey.key_id).where(ServerKey.key_id == signer.key_id)) is not None:
            return  # the usual case: no write transaction, no wait for the write lock
    with store.write() as session:
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as upsert
        else:
            from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
        session.execute(upsert(ServerKey).values(key_id=signer.key_id, algorithm="ed25519",
                                                 public_key=signer.public_b64, created_at=now())
                        .on_conflict_do_nothing(index_elements=["key_id"]))


__all__ = ["load_signer", "register_key", "default_key_file", "key_file_for", "open_signing", "Signing",
           "checkpoints_file", "KeyFileError", "redact_url"]
