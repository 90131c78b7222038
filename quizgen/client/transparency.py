"""The quiz's transparency log as the student's client checks it (issue #17).

A receipt says its attempt is leaf ``leaf_hash`` of the quiz's log and promises that the
leaf is in a signed checkpoint by ``integrate_by``. ``quizgen receipts --verify`` holds
the server to it: it fetches the quiz's latest checkpoint, checks its signature against
the key pinned for the server, checks that it extends the last checkpoint this machine
saw of that quiz (an RFC 9162 consistency proof: a log that was rewritten, or shows this
student another history than before, fails here), remembers it, then checks each
receipt's leaf against it with an inclusion proof. A leaf not yet in the log is pending
until its promised time, and a broken promise after it.

The proofs are checked here with quizgen.merkle (RFC 9162); nothing the server says is
taken on trust but the pinned key.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import merkle
from ..errors import QuizgenError
from ..receipts import verify_checkpoint
from ..resources import Phrase, phrase
from .api import Api, ServerRefused
from .credentials import ReceiptKey
from .storage import data_dir, read_json, write_json

FORMAT = 1


class LogError(QuizgenError):
    """The server's log does not hold up: a checkpoint that is not signed by its pinned key,
    or that does not extend the one seen before, or an inclusion proof that does not verify."""


@dataclass(frozen=True)
class SeenCheckpoint:
    size: int
    root: bytes
    time: str


def _path() -> Path:
    return data_dir() / "checkpoints.json"


def _remembered() -> dict[str, Any]:
    path = _path()
    data = read_json(path) if path.exists() else {}
    return data.get("seen", {}) if isinstance(data, dict) else {}


def remembered(server: str, quiz: int) -> SeenCheckpoint | None:
    item = _remembered().get(f"{server} {quiz}")
    if not isinstance(item, dict):
        return None
    try:
        return SeenCheckpoint(int(item["size"]), bytes.fromhex(item["root"]), str(item.get("time", "")))
    except (KeyError, TypeError, ValueError):
        return None


def remember(server: str, quiz: int, seen: SeenCheckpoint) -> None:
    data = _remembered()
    data[f"{server} {quiz}"] = {"size": seen.size, "root": seen.root.hex(), "time": seen.time}
    write_json(_path(), {"v": FORMAT, "seen": data})


def checked_checkpoint(api: Api, quiz: int, keys: dict[str, ReceiptKey]) -> SeenCheckpoint:
    """The quiz's latest checkpoint, signed by a key pinned for this server and consistent
    with the last one this machine saw (which it then replaces); LogError otherwise."""
    data = api.call("GET", ("quizzes", str(quiz), "checkpoint"), auth=False).data
    key = keys.get(str(data.get("key_id")))
    if key is None:
        raise LogError(phrase("log_unknown_key", quiz=quiz, key=str(data.get("key_id"))[:40]))
    note = data.get("note")
    verified = verify_checkpoint(note, base64.b64encode(key.public_key).decode("ascii")) \
        if isinstance(note, str) else None
    if verified is None:
        raise LogError(phrase("log_bad_signature", quiz=quiz))
    size, root, time = verified
    seen = SeenCheckpoint(size, root, time)
    before = remembered(api.server.url, quiz)
    if before is not None:
        if size < before.size or (size == before.size and root != before.root):
            raise LogError(phrase("log_rewritten", quiz=quiz, old=before.size, new=size))
        if size > before.size:
            proof = api.call("GET", ("quizzes", str(quiz), "proof"), auth=False,
                             params={"from": str(before.size), "to": str(size)}).data
            path = _hashes(proof.get("path"))
            if path is None or not merkle.verify_consistency(before.size, before.root, size, root, path):
                raise LogError(phrase("log_rewritten", quiz=quiz, old=before.size, new=size))
    remember(api.server.url, quiz, seen)
    return seen


def _hashes(value: Any) -> list[bytes] | None:
    if not isinstance(value, list):
        return None
    try:
        return [bytes.fromhex(h) for h in value if isinstance(h, str)] if len(value) <= 64 else None
    except ValueError:
        return None


def leaf_problem(api: Api, receipt: dict[str, Any], seen: SeenCheckpoint,
                 at: datetime | None = None) -> tuple[Phrase | None, bool]:
    """(what is wrong with the receipt's place in the log, or None; whether it is only
    pending): its leaf in the checkpoint ``seen`` by a verified inclusion proof; a leaf
    not in it is pending until ``integrate_by`` and a broken promise after."""
    quiz, leaf = receipt.get("quiz"), receipt.get("leaf_hash")
    if not isinstance(leaf, str) or len(leaf) != 64:
        return None, False  # a receipt from before the log (version 1): nothing to check here
    try:
        proof = api.call("GET", ("quizzes", str(quiz), "proof"), auth=False,
                         params={"leaf": leaf, "size": str(seen.size)}).data
    except ServerRefused as exc:
        if exc.code != "no_such_proof":
            raise
        from .screens import here

        due = _instant(receipt.get("integrate_by"))
        now = at or datetime.now(UTC)
        shown = here(receipt.get("integrate_by"))  # as this machine's clock reads it, the zone named
        if due is not None and now <= due:
            return phrase("log_pending", due=shown), True
        return phrase("log_promise_broken", due=shown), False
    path = _hashes(proof.get("path"))
    index = proof.get("index")
    if path is None or not isinstance(index, int) or not merkle.verify_inclusion(
            bytes.fromhex(leaf), index, seen.size, path, seen.root):
        return phrase("log_bad_inclusion", size=seen.size), False
    return None, False


def _instant(value: Any) -> datetime | None:
    try:
        made = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return made if made.tzinfo is not None else None
