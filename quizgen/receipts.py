"""Receipts and the hash chain: what proves an attempt was received, and as what.

Pure functions over JSON-able values (``cryptography`` is imported only to sign or
verify), shared by the server that signs, the student's client that verifies (which
must not load the database code) and ``quizgen audit`` that recomputes the chain.

* The answers of an attempt are hashed in the form quizgen stores them: one text per
  question, keyed by its number; a multi-part answer's text is the JSON of its parts
  keyed by part label (``{"1": "529,441", "4": "{\\"2\\": \\"500000\\"}"}``).
  ``stored_answers`` derives that form from a request's ``{"4.2": "500000"}`` keys, so
  the client can check the hash of what it sent.
* Each quiz's attempts form a chain: ``chain_sha256 = SHA-256(previous hex + "\\n" +
  canonical record)``, starting from 64 zeros; the record names the quiz, student,
  attempt, position, arrival time and answers hash.
* A receipt is signed with Ed25519 over the canonical JSON of its other fields.
* The transparency log (issue #17) replaces the chain: each attempt is a leaf whose
  record names the quiz, student, attempt, source, arrival time and answers hash; the
  leaf hash is RFC 9162's (quizgen.merkle). A quiz's leaves form a Merkle tree whose
  checkpoints (tree size, root, time) are signed notes in the C2SP tlog-checkpoint
  format, signed as Go's ``sumdb/note`` signs them (Ed25519, a 4-byte key hash).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

RECEIPT_VERSION = 2  # 1: receipts of the hash chain (chain_sha256); 2: of the transparency log (leaf_hash)
GENESIS = "0" * 64
_NUMBER = re.compile(r"[0-9]{1,9}")


def canonical_json(obj: Any) -> str:
    """Sorted keys, no whitespace, non-ASCII kept: one text per value, on every machine."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def part_label(part: str) -> str:
    """A part as stored: numbers without leading zeros (``01`` is ``1``), names as given."""
    return str(int(part)) if _NUMBER.fullmatch(part) else part


def parts_text(texts: Mapping[str, str]) -> str:
    """The stored text of a multi-part answer: its parts' texts by label, as JSON."""
    return json.dumps(dict(texts), ensure_ascii=False, sort_keys=True)


def stored_answers(answers: Mapping[str, str]) -> dict[str, str]:
    """A request's answers (``{"1": "…", "4.2": "…"}``) in the form they are stored and hashed."""
    singles: dict[str, str] = {}
    parts: dict[str, dict[str, str]] = {}
    for key, raw in answers.items():
        number, dot, part = key.strip().partition(".")
        slot = str(int(number)) if _NUMBER.fullmatch(number) else number
        if dot:
            parts.setdefault(slot, {})[part_label(part)] = raw
        else:
            singles[slot] = raw
    return {**singles, **{slot: parts_text(texts) for slot, texts in parts.items()}}


def answers_sha256(stored: Mapping[str, str]) -> str:
    """The hash of an attempt's answers in their stored form (see stored_answers)."""
    return sha256_hex(canonical_json(dict(stored)))


def request_sha256(answers: Mapping[str, str]) -> str:
    """The hash of a request's answers exactly as sent: an idempotency key reused with a
    different body is told apart by it."""
    return sha256_hex(canonical_json(dict(answers)))


def chain_record(quiz: int, student: str, attempt: int, seq: int, received_at: str, answers: str) -> dict[str, Any]:
    return {"quiz": quiz, "student": student, "attempt": attempt, "seq": seq, "received_at": received_at,
            "answers_sha256": answers}


def chain_next(previous: str, record: Mapping[str, Any]) -> str:
    """The chain hash of ``record`` following the attempt whose chain hash is ``previous``."""
    return sha256_hex(previous + "\n" + canonical_json(dict(record)))


# ---------------------------------------------------------------- the transparency log

def leaf_record(quiz: int, student: str, attempt: int, source: str, received_at: str,
                answers: str) -> dict[str, Any]:
    """What one attempt's leaf says: everything audit must find unchanged in its row."""
    return {"quiz": quiz, "student": student, "attempt": attempt, "source": source, "received_at": received_at,
            "answers_sha256": answers}


def leaf_hash_hex(record: Mapping[str, Any]) -> str:
    """RFC 9162's leaf hash, SHA-256(0x00 || canonical JSON of the record), in hex."""
    return hashlib.sha256(b"\x00" + canonical_json(dict(record)).encode("utf-8")).hexdigest()


def log_origin(quiz: int) -> str:
    """The name of a quiz's log, the first line of each of its checkpoints."""
    return f"quizgen/quiz/{quiz}"


def checkpoint_body(quiz: int, size: int, root: bytes, time: str) -> str:
    """A checkpoint's text (C2SP tlog-checkpoint): origin, tree size, base64 root hash, then
    an extension line with the time it was signed."""
    return f"{log_origin(quiz)}\n{size}\n{base64.b64encode(root).decode('ascii')}\ntime {time}\n"


def note_key_hash(name: str, public_raw: bytes) -> bytes:
    """sumdb/note's key hash: the first 4 bytes of SHA-256(name + "\\n" + 0x01 + public key)."""
    return hashlib.sha256(name.encode("utf-8") + b"\n\x01" + public_raw).digest()[:4]


def parse_checkpoint(note: str) -> tuple[str, int, bytes, str, str, bytes]:
    """(origin, size, root, time, signer name, signature bytes with the 4-byte key hash) of a
    signed checkpoint note; ValueError when it is not one."""
    body, sep, signatures = note.partition("\n\n")
    if not sep:
        raise ValueError("a signed note has a blank line between its text and its signatures")
    lines = body.split("\n")
    if len(lines) != 4 or not lines[1].isdigit() or not lines[3].startswith("time "):
        raise ValueError("not a quizgen checkpoint (origin, size, root, time)")
    root = base64.b64decode(lines[2], validate=True)
    if len(root) != 32:
        raise ValueError("a checkpoint's root is 32 bytes")
    first = signatures.split("\n")[0]
    if not first.startswith("\u2014 "):
        raise ValueError("a signature line starts with an em dash")
    name, _, sig = first[2:].rpartition(" ")
    return lines[0], int(lines[1]), root, lines[3][5:], name, base64.b64decode(sig, validate=True)


def verify_checkpoint(note: str, public_b64: str) -> tuple[int, bytes, str] | None:
    """(size, root, time) of a checkpoint note signed by the key ``public_b64``; None when it
    is malformed or its signature does not verify."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        origin, size, root, time, name, sig = parse_checkpoint(note)
        public_raw = base64.b64decode(public_b64, validate=True)
        if sig[:4] != note_key_hash(name, public_raw):
            return None
        body = note.partition("\n\n")[0] + "\n"
        Ed25519PublicKey.from_public_bytes(public_raw).verify(sig[4:], body.encode("utf-8"))
    except (InvalidSignature, ValueError, TypeError):
        return None
    return size, root, time


# ---------------------------------------------------------------- signing

def signed_bytes(receipt: Mapping[str, Any]) -> bytes:
    """What a receipt's signature covers: every field but the signature, canonically."""
    return canonical_json({k: v for k, v in receipt.items() if k != "signature"}).encode("utf-8")


def key_id(public_raw: bytes) -> str:
    """A public key's name in receipts: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


class Signer:
    """An Ed25519 private key that signs receipts (loaded from, or created in, a 0600 file)."""

    def __init__(self, private_raw: bytes):
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        self._key = Ed25519PrivateKey.from_private_bytes(private_raw)
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        self.public_raw = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = key_id(self.public_raw)

    @property
    def public_b64(self) -> str:
        return base64.b64encode(self.public_raw).decode("ascii")

    @property
    def note_name(self) -> str:
        """The name a checkpoint's signature line carries: this key's id."""
        return f"quizgen-{self.key_id}"

    def sign_note(self, body: str) -> str:
        """``body`` as a signed note (sumdb/note): the text, a blank line, and one signature line."""
        if not body.endswith("\n"):
            raise ValueError("a note's text ends with a newline")
        signature = note_key_hash(self.note_name, self.public_raw) + self._key.sign(body.encode("utf-8"))
        return f"{body}\n\u2014 {self.note_name} {base64.b64encode(signature).decode('ascii')}\n"

    def sign(self, receipt: Mapping[str, Any]) -> dict[str, Any]:
        """The receipt with its key id and signature."""
        body = {**{k: v for k, v in receipt.items() if k != "signature"}, "key_id": self.key_id}
        signature = self._key.sign(signed_bytes(body))
        return {**body, "signature": base64.b64encode(signature).decode("ascii")}


def verify_receipt(receipt: Mapping[str, Any], public_b64: str) -> bool:
    """Whether ``receipt`` was signed by the key ``public_b64`` (and not altered since)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        public_raw = base64.b64decode(public_b64, validate=True)
        signature = base64.b64decode(str(receipt.get("signature", "")), validate=True)
        if receipt.get("key_id") != key_id(public_raw):
            return False
        Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, signed_bytes(receipt))
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False
