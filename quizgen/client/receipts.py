"""The server's signed receipts: checked on arrival, kept, and checkable again later.

A receipt (docs/api.md) is Ed25519-signed over the canonical JSON of its other fields.
On arrival it must verify against a key pinned for that server, and say what was sent:
the same quiz, student and attempt as the response, and ``answers_sha256`` equal to
the hash of the answers this client sent, in the form the server stores and hashes
them (quizgen.receipts, shared with the server and ``quizgen audit``: one rule, one
home). A receipt that fails any of these is not evidence of anything; it is kept
aside, in ``receipts/suspicious/``, with the reason, and the command says so loudly.

A verified receipt is kept in ``receipts/`` (one file per logical submission, named
by its idempotency key), together with the answers it covers, so ``quizgen receipts
--verify`` can check it again, signature and answers, at any time.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ..errors import QuizgenError, clip, one_line
from ..receipts import RECEIPT_VERSION, canonical_json, signed_bytes, stored_answers
from ..receipts import answers_sha256 as stored_sha256
from ..resources import Phrase, locale_language, message, phrase
from .credentials import ReceiptKey
from .storage import StorageError, data_dir, read_json, write_json

FORMAT = 1  # of the files kept here
FIELDS = ("v", "quiz", "student", "attempt", "source", "received_at", "answers_sha256", "leaf_hash", "integrate_by",
          "request", "key_id", "signature")
# How far a fresh receipt's time may be from this machine's clock (a server stamping
# attempts at another time than it received them, or a receipt saved up and replayed).
CLOCK_SKEW = timedelta(minutes=10)


class ReceiptError(QuizgenError):
    """A receipt that does not prove what it should: bad signature, unknown key, or other content."""


def request_body(answers: Mapping[str, str]) -> bytes:
    """The POST body for the answers: canonical, so every resend is byte for byte the same."""
    return canonical_json({"answers": dict(answers)}).encode("utf-8")


def answers_sha256(answers: Mapping[str, str]) -> str:
    """What a receipt's ``answers_sha256`` must be for answers sent as ``{"1": ..., "4.2": ...}``."""
    return stored_sha256(stored_answers(answers))


@dataclass(frozen=True)
class Expected:
    """What a receipt must say: what this client sent, and the attempt the server reported."""

    quiz: int
    student: str
    answers: Mapping[str, str]
    attempt: int | None = None
    received_at: str | None = None
    request: str | None = None  # the Idempotency-Key it was sent under: the receipt must answer this request


def verify_signature(receipt: Any, keys: Mapping[str, ReceiptKey]) -> ReceiptKey:
    """The pinned key whose signature the receipt carries (ReceiptError: missing fields,
    an unknown key, or a signature that does not verify)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if not isinstance(receipt, dict) or any(name not in receipt for name in FIELDS):
        raise ReceiptError(phrase("receipt_missing_fields"))
    key = keys.get(receipt["key_id"]) if isinstance(receipt["key_id"], str) else None
    if key is None:
        raise ReceiptError(phrase("receipt_unknown_key", key=repr(clip(one_line(str(receipt["key_id"])), 40))))
    try:
        signature = base64.b64decode(receipt["signature"], validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise ReceiptError(phrase("receipt_not_base64")) from None
    try:
        Ed25519PublicKey.from_public_bytes(key.public_key).verify(signature, signed_bytes(receipt))
    except InvalidSignature:
        raise ReceiptError(phrase("receipt_bad_signature", key=repr(clip(key.key_id, 40)))) from None
    return key


def verify(receipt: Any, keys: Mapping[str, ReceiptKey], expected: Expected) -> ReceiptKey:
    """The key that signed the receipt, if it is genuine and says what it should: the
    quiz, student and answers sent, the attempt and time answered (ReceiptError: what is wrong)."""
    key = verify_signature(receipt, keys)
    wrong = [name for name, want in (("v", RECEIPT_VERSION), ("quiz", expected.quiz), ("student", expected.student),
                                     ("attempt", expected.attempt), ("received_at", expected.received_at),
                                     ("answers_sha256", answers_sha256(expected.answers)),
                                     ("request", expected.request))
             if want is not None and (receipt[name] != want or type(receipt[name]) is not type(want))]
    if wrong:
        raise ReceiptError(phrase("receipt_mismatch", fields=", ".join(wrong)))
    return key


def check_time(receipt: Any, replayed: bool, at: datetime | None = None) -> None:
    """A fresh receipt was made within CLOCK_SKEW of now, by this machine's clock; a replayed
    one (the original answer to an earlier send) at least not in the future. ReceiptError if not."""
    at = at or datetime.now(UTC)
    try:
        made = datetime.fromisoformat(str(receipt["received_at"]))
    except (KeyError, ValueError):
        raise ReceiptError("the receipt's time is not an ISO 8601 instant") from None
    if made.tzinfo is None:
        raise ReceiptError("the receipt's time has no zone")
    if made - at > CLOCK_SKEW or (not replayed and at - made > CLOCK_SKEW):
        raise ReceiptError(f"the receipt says the server received it at {made.isoformat()}, which is more than "
                           f"{CLOCK_SKEW.seconds // 60} minutes from this computer's clock ({at.isoformat()})")


@dataclass(frozen=True)
class Kept:
    """A receipt kept on this machine."""

    path: Path
    server: str
    receipt: dict[str, Any]
    expected: Expected
    suspicious: str | None  # why it was set aside, if it was
    language: str | None = None  # the quiz's, when it was known on arrival
    time_zone: str | None = None

    def to_json(self) -> dict[str, Any]:
        r = self.receipt if isinstance(self.receipt, dict) else {}
        return {"server": self.server, "quiz": r.get("quiz"), "student": r.get("student"),
                "attempt": r.get("attempt"), "received_at": r.get("received_at"), "key_id": r.get("key_id"),
                "suspicious": self.suspicious, "file": str(self.path), "receipt": self.receipt}


def receipts_dir() -> Path:
    return data_dir() / "receipts"


def suspicious_dir() -> Path:
    return receipts_dir() / "suspicious"


def keep(server: str, idempotency_key: str, receipt: Any, expected: Expected, suspicious: str | None = None,
         said: Mapping[str, str | None] | None = None) -> Path:
    """Write a receipt down (with the answers it covers); ``suspicious``: set it aside, with
    why; ``said``: the quiz's language and time zone, when known, for listing it later."""
    folder = suspicious_dir() if suspicious else receipts_dir()
    path = folder / f"{idempotency_key}.json"
    record = {"v": FORMAT, "server": server, "idempotency_key": idempotency_key, "receipt": receipt,
              "sent": {"quiz": expected.quiz, "student": expected.student, "answers": dict(expected.answers),
                       "attempt": expected.attempt, "received_at": expected.received_at},
              "kept_at": datetime.now(UTC).isoformat(timespec="seconds")}
    if suspicious:
        record["suspicious"] = suspicious
    for name, value in (said or {}).items():
        if value is not None:
            record[name] = value
    write_json(path, record)
    return path


def _load(path: Path, suspicious: bool) -> Kept:
    data = read_json(path)
    try:
        sent = data["sent"]
        expected = Expected(sent["quiz"], sent["student"], sent["answers"], sent.get("attempt"),
                            sent.get("received_at"))
        lang, zone = data.get("language"), data.get("time_zone")
        return Kept(path, data["server"], data["receipt"], expected,
                    str(data.get("suspicious") or "?") if suspicious else None,
                    lang if isinstance(lang, str) else None, zone if isinstance(zone, str) else None)
    except (KeyError, TypeError):
        raise StorageError(phrase("storage_not_receipt", path=clip(str(path), 120))) from None


def kept(server: str | None = None) -> list[Kept]:
    """Every kept receipt (for one server, if given), oldest first, suspicious ones too."""
    out = []
    for folder, suspicious in ((receipts_dir(), False), (suspicious_dir(), True)):
        if not folder.is_dir():
            continue
        for path in folder.glob("*.json"):
            item = _load(path, suspicious)
            if server is None or item.server == server:
                out.append(item)
    return sorted(out, key=lambda k: (str(k.receipt.get("received_at", "")) if isinstance(k.receipt, dict) else "",
                                      k.path.name))


@dataclass(frozen=True)
class Listed:
    """A kept receipt as ``quizgen receipts`` shows it: checked again, if asked."""

    kept: Kept
    checked: bool
    problem: str | None  # why it does not verify (or why it was set aside)
    note: str | None = None  # what was not (yet) checked: a leaf still within its promise, a server not reached

    def to_json(self) -> dict[str, Any]:
        return {**self.kept.to_json(), "verified": (self.problem is None) if self.checked else None,
                "problem": self.problem, "note": self.note}

    def line(self) -> str:
        from .screens import here, language_of, text, when

        k = self.kept
        lang = language_of(k.language) if k.language else locale_language()
        r = k.receipt if isinstance(k.receipt, dict) else {}
        stamp = when(r.get("received_at"), k.time_zone, lang, True) if k.time_zone else here(r.get("received_at"))
        row = message(lang, "receipts_row", quiz=text(r.get("quiz"), 20), attempt=text(r.get("attempt"), 12),
                      student=text(r.get("student"), 64), time=stamp, server=text(k.server, 120))
        if self.checked:
            if self.problem:
                return row + "  ✗ " + text(self.problem, 300)
            return row + "  ✓" + (f" ({text(self.note, 300)})" if self.note else "")
        return row + ("  " + message(lang, "receipts_suspicious", why=text(self.problem, 300)) if self.problem else "")


@dataclass(frozen=True)
class Listing:
    """``quizgen receipts``: every receipt kept (for one server), checked again if asked."""

    rows: list[Listed]
    checked: bool

    @property
    def language(self) -> str:
        langs = {k.kept.language for k in self.rows}
        return langs.pop() if len(langs) == 1 and None not in langs else locale_language()  # type: ignore[return-value]

    def lines(self) -> list[str]:
        return [row.line() for row in self.rows]

    def notes(self) -> list[str]:
        return [] if self.rows else [message(self.language, "receipts_none")]

    @property
    def failure(self) -> QuizgenError | None:
        """The error the command ends with: some receipts do not verify."""
        failed = sum(row.problem is not None for row in self.rows)
        if not self.checked or not failed:
            return None
        return ReceiptError(phrase("receipts_failed", failed=failed, count=len(self.rows))).speak(self.language)


def listing(server: str | None, check: bool) -> Listing:
    """The kept receipts (of one canonical server URL, if given); ``check``: verify each
    again, signature against the keys pinned for its server and the answers it covers,
    and its leaf against the quiz's transparency log (client.transparency): in a signed
    checkpoint that extends the last one this machine saw, or pending until its promised
    time. A server that cannot be reached leaves the log unchecked, and says so."""
    from ..servers import parse_server
    from .credentials import pinned_keys

    rows = []
    logs = _LogChecks()
    for k in kept(server):
        problem, note = k.suspicious, None
        lang = k.language or locale_language()
        if check and problem is None:
            try:
                keys = pinned_keys(parse_server(k.server))
                verify(k.receipt, keys, k.expected)
                said, pending = logs.check(k, keys)
                if said is not None:
                    if pending:
                        note = said.say(lang)
                    else:
                        problem = said.say(lang)
            except ReceiptError as exc:
                exc.speak(lang)
                problem = str(exc)
        rows.append(Listed(k, check, problem, note))
    logs.close()
    return Listing(rows, check)


class _LogChecks:
    """One conversation per server, and one checked checkpoint per quiz, for a listing."""

    def __init__(self) -> None:
        self.apis: dict[str, Any] = {}
        self.seen: dict[tuple[str, int], Any] = {}

    def check(self, k: Kept, keys: Any) -> tuple[Phrase | None, bool]:
        from ..servers import parse_server
        from .api import Api, ServerRefused, ServerUnavailable
        from .retry import RetryPolicy
        from .transparency import LogError, checked_checkpoint, leaf_problem

        r = k.receipt
        if not isinstance(r, dict) or not isinstance(r.get("leaf_hash"), str) or not isinstance(r.get("quiz"), int):
            return None, False  # a receipt from before the log: nothing to check against it
        try:
            api = self.apis.get(k.server)
            if api is None:
                api = self.apis[k.server] = Api(parse_server(k.server), None, RetryPolicy(tries=1))
            seen = self.seen.get((k.server, r["quiz"]))
            if seen is None:
                seen = self.seen[(k.server, r["quiz"])] = checked_checkpoint(api, r["quiz"], keys)
            return leaf_problem(api, r, seen)
        except LogError as exc:
            raise ReceiptError(exc.args[0] if exc.args else "the log does not hold up") from None
        except (ServerUnavailable, ServerRefused) as exc:
            return phrase("log_unchecked", why=str(exc)), True

    def close(self) -> None:
        for api in self.apis.values():
            api.close()
