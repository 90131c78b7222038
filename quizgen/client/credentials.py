"""Who the student is on each server, and which key signs that server's receipts.

``quizgen login`` writes ``credentials.json`` in the config folder: per server URL, the
student id and token. The file is created 0600 (never readable by anyone else, not even
while it is written) and refused if it has since become readable by others. The token
never goes anywhere else: not into the outbox, receipts, output or messages.

The server's receipt key is pinned beside it, in ``receipt-keys.json`` (public, so 0600
only by habit): at login, or on first contact when the student never logged in (trust
on first use, said out loud). Keys are kept by key id, so receipts signed before a key
change can still be checked.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import QuizgenError, clip, one_line
from ..resources import Phrase, phrase
from ..servers import Server
from .storage import config_dir, read_json, write_json

FORMAT = 1


class CredentialsError(QuizgenError):
    """No usable student id or token, or a credentials file that cannot be used."""


@dataclass(frozen=True)
class Credentials:
    """A student's id and token for one server. The token never appears in a repr."""

    server: Server
    student: str
    token: str = field(repr=False)

    def authorization(self) -> str:
        """The Authorization header value the API expects: ``Bearer <student id>:<token>``."""
        return f"Bearer {self.student}:{self.token}"


@dataclass(frozen=True)
class ReceiptKey:
    """A server's Ed25519 public key for receipts."""

    key_id: str
    public_key: bytes  # 32 raw bytes

    def to_json(self) -> dict[str, str]:
        return {"key_id": self.key_id, "algorithm": "ed25519",
                "public_key": base64.b64encode(self.public_key).decode("ascii")}


def credentials_path() -> Path:
    return config_dir() / "credentials.json"


def keys_path() -> Path:
    return config_dir() / "receipt-keys.json"


def _servers(data: Any, path: Any) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict) or data.get("v") != FORMAT or not isinstance(data.get("servers"), dict):
        raise CredentialsError(phrase("cred_not_our_file", path=clip(str(path), 120), format=FORMAT))
    return data["servers"]


def check_token(student: str, token: str) -> None:
    """A student id and token the API can carry (``Bearer id:token``, split at the last colon)."""
    if not student.strip() or not student.isprintable() or len(student) > 200:
        raise CredentialsError(phrase("cred_bad_student"))
    if not token or ":" in token or not token.isascii() or not token.isprintable() or " " in token \
            or len(token) > 200:
        raise CredentialsError(phrase("cred_bad_token"))


def saved_login(server: Server) -> tuple[str, str] | None:
    """(student, token) saved by ``quizgen login`` for this server, if any."""
    path = credentials_path()
    entry = _servers(read_json(path, private=True), path).get(server.url)
    if not isinstance(entry, dict) or not isinstance(entry.get("student"), str) \
            or not isinstance(entry.get("token"), str):
        return None
    return entry["student"], entry["token"]


def save_login(credentials: Credentials) -> str:
    """Record the student's id and token for the server; returns the file's path."""
    check_token(credentials.student, credentials.token)
    path = credentials_path()
    servers = _servers(read_json(path, private=True), path)
    servers[credentials.server.url] = {"student": credentials.student, "token": credentials.token,
                                       "saved_at": datetime.now(UTC).isoformat(timespec="seconds")}
    write_json(path, {"v": FORMAT, "servers": servers})
    return str(path)


def parse_receipt_key(data: Any) -> ReceiptKey:
    """The key from ``GET /api/v1/receipt-key`` (or from our own file)."""
    try:
        if data.get("algorithm") != "ed25519":
            raise CredentialsError(phrase("cred_key_algorithm",
                                          algorithm=repr(clip(one_line(str(data.get("algorithm"))), 20))))
        raw = base64.b64decode(data["public_key"], validate=True)
        key_id = data["key_id"]
    except (AttributeError, KeyError, TypeError, binascii.Error, ValueError):
        raise CredentialsError(phrase("cred_key_form")) from None
    if len(raw) != 32 or not isinstance(key_id, str) or not key_id or len(key_id) > 200:
        raise CredentialsError(phrase("cred_key_size"))
    return ReceiptKey(key_id, raw)


def pinned_keys(server: Server) -> dict[str, ReceiptKey]:
    """key id → key, every receipt key pinned for this server."""
    path = keys_path()
    entry = _servers(read_json(path), path).get(server.url) or {}
    keys = entry.get("keys") if isinstance(entry, dict) else None
    if not isinstance(keys, dict):
        return {}
    return {k: parse_receipt_key(v) for k, v in keys.items()}


def pin_key(server: Server, key: ReceiptKey) -> bool:
    """Pin the key (beside any pinned before); returns whether it is new for this server."""
    path = keys_path()
    servers = _servers(read_json(path), path)
    entry = servers.get(server.url)
    keys = dict(entry["keys"]) if isinstance(entry, dict) and isinstance(entry.get("keys"), dict) else {}
    new = key.key_id not in keys
    if not new and parse_receipt_key(keys[key.key_id]).public_key != key.public_key:
        raise CredentialsError(phrase("cred_key_swapped", server=server.url, key=repr(clip(one_line(key.key_id), 40))))
    keys[key.key_id] = {**key.to_json(), "pinned_at": datetime.now(UTC).isoformat(timespec="seconds")}
    servers[server.url] = {"keys": keys, "current": key.key_id}
    write_json(path, {"v": FORMAT, "servers": servers})
    return new


def resolve(server: Server, student: str | None, token: str | None,
            prompt: Callable[[Phrase], str | None] | None = None) -> Credentials:
    """The credentials to use with a server: ``--student``/``--token`` (or QUIZGEN_TOKEN)
    first, then what ``quizgen login`` saved for that server (its token only for its own
    student), then a hidden prompt when there is a terminal to ask on."""
    saved = saved_login(server)
    student = student if student is not None else (saved[0] if saved else None)
    if student is None:
        raise CredentialsError(phrase("cred_who", server=server.url))
    if token is None and saved is not None and saved[0] == student:
        token = saved[1]
    if token is None and prompt is not None:
        token = prompt(phrase("token_prompt", student=one_line(student, 64), server=server.url))
    if token is None:
        raise CredentialsError(phrase("cred_no_token", student=one_line(student, 64), server=server.url))
    check_token(student, token)
    return Credentials(server, student, token)
