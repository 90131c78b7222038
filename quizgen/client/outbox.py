"""Submissions written down before they are sent, until the server has answered them.

One file per pending submission in ``outbox/`` under the data folder, written whole and
fsync'd (the folder too) before the first byte goes on the wire: whatever happens next
(the laptop's battery, a kill -9, the server dying), either the server has the
submission and the student has its receipt, or the submission is still here and
``quizgen sync`` sends it again. Each entry carries its Idempotency-Key, chosen once
(uuid4) when the student submitted, and every resend uses it, so the server stores the
submission at most once.

An entry holds the server URL, the student id, the quiz and the answers; never the
token, which comes from the credentials at send time.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import clip
from .storage import StorageError, data_dir, read_json, remove, write_json

FORMAT = 1


@dataclass(frozen=True)
class Entry:
    """One submission waiting for the server's answer."""

    idempotency_key: str
    server: str  # canonical URL (servers.parse_server)
    student: str
    quiz: int
    answers: dict[str, str]
    created_at: str  # when the student submitted (ISO 8601, UTC)
    path: Path | None = None  # where it is kept, once written

    def to_json(self) -> dict[str, Any]:
        return {"v": FORMAT, "idempotency_key": self.idempotency_key, "server": self.server,
                "student": self.student, "quiz": self.quiz, "answers": self.answers, "created_at": self.created_at}


def outbox_dir() -> Path:
    return data_dir() / "outbox"


def new_entry(server: str, student: str, quiz: int, answers: Mapping[str, str]) -> Entry:
    """A new logical submission, with its own idempotency key (not yet written)."""
    return Entry(str(uuid.uuid4()), server, student, quiz, dict(answers),
                 datetime.now(UTC).isoformat(timespec="microseconds"))


def put(entry: Entry) -> Entry:
    """Write the entry durably; returns it with its path. Names sort by creation time,
    so ``sync`` sends a student's submissions in the order they were made."""
    path = outbox_dir() / f"{time.time_ns():020d}-{entry.idempotency_key}.json"
    write_json(path, entry.to_json())
    return replace(entry, path=path)


def done(entry: Entry) -> None:
    """The server has answered the entry for good (a receipt or a final refusal): forget it."""
    if entry.path is not None:
        remove(entry.path)


def _read(path: Path) -> Entry:
    data = read_json(path)
    try:
        if data["v"] != FORMAT:
            raise KeyError("v")
        answers = data["answers"]
        if not isinstance(answers, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                    for k, v in answers.items()):
            raise TypeError
        entry = Entry(str(data["idempotency_key"]), str(data["server"]), str(data["student"]), int(data["quiz"]),
                      answers, str(data["created_at"]), path)
    except (KeyError, TypeError, ValueError):
        raise StorageError(f"{clip(str(path), 120)} is not a quizgen outbox entry; move it aside") from None
    return entry


def pending(server: str | None = None) -> list[Entry]:
    """Entries still waiting (for one server, if given), oldest first."""
    folder = outbox_dir()
    if not folder.is_dir():
        return []
    entries = [_read(p) for p in sorted(folder.glob("*.json"))]
    return [e for e in entries if server is None or e.server == server]
