"""Submissions written down before they are sent, until the server has answered them.

One file per pending submission in ``outbox/`` under the data folder, written whole and
fsync'd (the folder too) before the first byte goes on the wire: whatever happens next
(the laptop's battery, a kill -9, the server dying), either the server has the
submission and the student has its receipt, or the submission is still here and
``quizgen sync`` sends it again. Each entry carries its Idempotency-Key, chosen once
(uuid4) when the student submitted, and every resend uses it, so the server stores the
submission at most once.

An entry holds the server URL, the student id, the quiz and the answers (and whether
the student let blank answers go, or the client has yet to check); never the token,
which comes from the credentials at send time. After a try that did not end it, the
entry also records when and why (the deadline passed, the connection was cut, a proxy's
500 page), so ``sync`` can say what is pending and why.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import QuizgenError, clip
from ..resources import Phrase, phrase
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
    # True: blank answers are the student's choice (--allow-blank, a yes), or none were
    # found; False: not yet checked against the quiz (it could not be fetched), so sync checks
    checked: bool = True
    language: str | None = None  # the quiz's, once known: what sync says about the entry is said in it
    time_zone: str | None = None  # the quiz's, once known
    last_try: dict[str, Any] | None = None  # {"at": ISO time, "why": a Phrase's JSON or text}

    def to_json(self) -> dict[str, Any]:
        out = {"v": FORMAT, "idempotency_key": self.idempotency_key, "server": self.server,
               "student": self.student, "quiz": self.quiz, "answers": self.answers, "created_at": self.created_at,
               "checked": self.checked}
        if self.language is not None:
            out["language"] = self.language
        if self.time_zone is not None:
            out["time_zone"] = self.time_zone
        if self.last_try is not None:
            out["last_try"] = self.last_try
        return out

    def why(self) -> Phrase | str | None:
        """Why the last try did not end the entry (None: never tried, or not recorded)."""
        why = (self.last_try or {}).get("why")
        return Phrase.from_json(why) if isinstance(why, dict) else (clip(why, 300) if isinstance(why, str) else None)


def outbox_dir() -> Path:
    return data_dir() / "outbox"


def new_entry(server: str, student: str, quiz: int, answers: Mapping[str, str], checked: bool = True,
              language: str | None = None, time_zone: str | None = None) -> Entry:
    """A new logical submission, with its own idempotency key (not yet written)."""
    return Entry(str(uuid.uuid4()), server, student, quiz, dict(answers),
                 datetime.now(UTC).isoformat(timespec="microseconds"), checked=checked, language=language,
                 time_zone=time_zone)


def put(entry: Entry) -> Entry:
    """Write the entry durably; returns it with its path. Names sort by creation time,
    so ``sync`` sends a student's submissions in the order they were made."""
    path = outbox_dir() / f"{time.time_ns():020d}-{entry.idempotency_key}.json"
    write_json(path, entry.to_json())
    return replace(entry, path=path)


def _rewrite(entry: Entry) -> None:
    if entry.path is not None and entry.path.exists():
        write_json(entry.path, entry.to_json())


def checked(entry: Entry, language: str, time_zone: str) -> Entry:
    """Record that the entry was checked against its quiz (its blanks sent by the
    student's choice), and the quiz's language and zone."""
    updated = replace(entry, checked=True, language=language, time_zone=time_zone)
    _rewrite(updated)
    return updated


def tried(entry: Entry, error: QuizgenError) -> Entry:
    """Record on a pending entry that a try did not end it, and why (said again by
    ``sync``). Rewritten whole; an entry already gone (another process delivered it) is
    left gone."""
    why = error.args[0] if error.args else str(error)
    last = {"at": datetime.now(UTC).isoformat(timespec="seconds"),
            "why": why.to_json() if isinstance(why, Phrase) else str(error)}
    updated = replace(entry, last_try=last)
    _rewrite(updated)
    return updated


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
        last, lang, zone = data.get("last_try"), data.get("language"), data.get("time_zone")
        entry = Entry(str(data["idempotency_key"]), str(data["server"]), str(data["student"]), int(data["quiz"]),
                      answers, str(data["created_at"]), path, data.get("checked") is not False,
                      lang if lang in ("ko", "en") else None, zone if isinstance(zone, str) else None,
                      last if isinstance(last, dict) else None)
    except (KeyError, TypeError, ValueError):
        raise StorageError(phrase("storage_not_entry", path=clip(str(path), 120))) from None
    return entry


def pending(server: str | None = None) -> list[Entry]:
    """Entries still waiting (for one server, if given), oldest first."""
    folder = outbox_dir()
    if not folder.is_dir():
        return []
    entries = [_read(p) for p in sorted(folder.glob("*.json"))]
    return [e for e in entries if server is None or e.server == server]
