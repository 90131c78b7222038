"""The tool's own keys: an RS256 key pair the LMS knows quizgen by, and a secret for what
quizgen signs only for itself (the login's state, a student's short-lived credential).

They live in one JSON file, mode 0600, beside the receipt key and never in the database
(a database dump must not let anyone launch as the tool). Every server process and
host reads the same file (``--lti-key-file``), and notices a rotation by the file's
modification time. ``rotate`` makes a new key pair current and keeps the old public
key in the JWKS until ``expires`` (what it signed lives minutes, but a platform that
cached the old set must still find it), then drops it.

Every signature is made and checked by PyJWT (``jwt``), never by hand.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import stat
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from ...clock import as_utc, now
from ...errors import QuizgenError, clip
from ..keys import key_file_beside

KEY_BITS = 2048
KEEP_OLD = timedelta(days=1)  # how long a rotated-out public key stays in the JWKS, by default


class ToolKeyError(QuizgenError):
    """A tool key file that cannot be read, created or trusted."""


def default_key_file(db: str | None) -> str:
    """Beside a SQLite database (``class.db.lti-key``, next to ``class.db.receipt-key``); for a
    server database, in the user's config folder named for the database (keys.key_file_beside)."""
    return key_file_beside(db, "lti")


@dataclass(frozen=True)
class PublishedKey:
    """A public key in the JWKS: the current one (``expires`` None) or a rotated-out one."""

    kid: str
    jwk: dict[str, Any]
    created: datetime
    expires: datetime | None


@dataclass(frozen=True)
class ToolKeys:
    """The current private key, every public key still published, and the tool's own secret."""

    kid: str
    private_pem: bytes
    published: tuple[PublishedKey, ...]
    secret: bytes

    @property
    def private_key(self) -> Any:
        return _private(self.private_pem)

    def jwks(self, at: datetime | None = None) -> dict[str, Any]:
        """The public JWKS (``/lti/jwks.json``): the current key and rotated keys not yet expired."""
        at = at or now()
        return {"keys": [k.jwk for k in self.published if k.expires is None or as_utc(k.expires) > as_utc(at)]}

    def sign(self, claims: dict[str, Any]) -> str:
        """An RS256 JWT the LMS checks against the JWKS (client assertions, deep-linking responses)."""
        return jwt.encode(claims, _private(self.private_pem), algorithm="RS256", headers={"kid": self.kid})

    def seal(self, claims: dict[str, Any]) -> str:
        """An HS256 JWT only quizgen reads back (state, a student's credential)."""
        return jwt.encode(claims, self.secret, algorithm="HS256")

    def unseal(self, token: str, audience: str) -> dict[str, Any]:
        """The claims of a token ``seal`` made for ``audience``; jwt.InvalidTokenError otherwise."""
        return jwt.decode(token, self.secret, algorithms=["HS256"], audience=audience,
                          options={"require": ["exp", "aud"]})


_PRIVATE_CACHE: dict[bytes, Any] = {}


def _private(pem: bytes) -> Any:
    """The parsed private key (parsing an RSA key costs milliseconds; it is parsed once)."""
    key = _PRIVATE_CACHE.get(pem)
    if key is None:
        key = _PRIVATE_CACHE[pem] = serialization.load_pem_private_key(pem, password=None)
    return key


def _new_pair(at: datetime) -> tuple[str, bytes, PublishedKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    thumbprint = json.dumps({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"))  # RFC 7638
    kid = jwt.utils.base64url_encode(hashlib.sha256(thumbprint.encode()).digest()).decode()[:22]
    jwk.update({"kid": kid, "alg": "RS256", "use": "sig"})
    return kid, pem, PublishedKey(kid, jwk, at, None)


def _to_file(keys: ToolKeys) -> str:
    return json.dumps({"version": 1, "kid": keys.kid, "private_pem": keys.private_pem.decode(),
                       "secret": base64.b64encode(keys.secret).decode(),
                       "published": [{"kid": k.kid, "jwk": k.jwk, "created": k.created.isoformat(),
                                      "expires": k.expires.isoformat() if k.expires else None}
                                     for k in keys.published]}, indent=1)


def _from_file(text: str, path: str) -> ToolKeys:
    try:
        data = json.loads(text)
        published = tuple(PublishedKey(k["kid"], k["jwk"], datetime.fromisoformat(k["created"]),
                                       datetime.fromisoformat(k["expires"]) if k["expires"] else None)
                          for k in data["published"])
        keys = ToolKeys(data["kid"], data["private_pem"].encode(), published, base64.b64decode(data["secret"]))
        _private(keys.private_pem)
    except (ValueError, KeyError, TypeError):
        raise ToolKeyError(f"{clip(path, 80)} is not a quizgen LTI key file") from None
    if len(keys.secret) < 32 or keys.kid not in {k.kid for k in keys.published}:
        raise ToolKeyError(f"{clip(path, 80)} is not a quizgen LTI key file")
    return keys


def _check_private(path: Path) -> None:
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        raise ToolKeyError(f"{clip(str(path), 80)} is not a regular file; the LTI key must be one")
    if st.st_mode & 0o077:
        raise ToolKeyError(f"{clip(str(path), 80)} can be read by other users (mode {stat.S_IMODE(st.st_mode):o}); "
                           "chmod 600 it")


def _write_new(path: Path, text: str) -> None:
    """Write ``text`` to a new 0600 file at ``path`` (refused if it exists), fsync'd."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def load_keys(path: str, create: bool = True) -> ToolKeys:
    """The tool's keys in ``path``, made (0600) on first use when ``create``."""
    target = Path(path)
    try:
        if not target.exists():
            if not create:
                raise ToolKeyError(f"no LTI key at {clip(path, 80)} (quizgen makes it on first use)")
            at = now()
            kid, pem, public = _new_pair(at)
            try:
                _write_new(target, _to_file(ToolKeys(kid, pem, (public,), secrets.token_bytes(32))))
            except FileExistsError:  # another process made it first: use theirs
                pass
        _check_private(target)
        return _from_file(target.read_text(encoding="utf-8"), path)
    except OSError as exc:
        raise ToolKeyError(f"cannot use the LTI key {clip(path, 80)}: {exc.strerror}") from None


def rotate(path: str, keep: timedelta = KEEP_OLD) -> tuple[ToolKeys, str]:
    """A new current key pair; the old public key stays published for ``keep``, rotated-out
    keys past their expiry are dropped. Returns the new keys and the retired kid. The file
    is replaced atomically (a new 0600 file renamed over it), so a server reading it sees
    the old set or the new one, never half of one."""
    old = load_keys(path, create=False)
    at = now()
    kid, pem, public = _new_pair(at)
    kept = tuple(PublishedKey(k.kid, k.jwk, k.created, at + keep if k.kid == old.kid else k.expires)
                 for k in old.published if k.expires is None or as_utc(k.expires) > as_utc(at) or k.kid == old.kid)
    fresh = ToolKeys(kid, pem, (public, *kept), old.secret)
    temp = Path(f"{path}.new-{secrets.token_hex(4)}")
    try:
        _write_new(temp, _to_file(fresh))
        os.replace(temp, path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise ToolKeyError(f"cannot write the LTI key {clip(path, 80)}: {exc.strerror}") from None
    return fresh, old.kid


class KeyRing:
    """The keys of one file as a server process uses them: read again when the file changes
    (a rotation by ``quizgen lti rotate-key`` reaches running servers within a request)."""

    def __init__(self, path: str):
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._keys = load_keys(path)
        self._stamp = self._file_stamp()

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_mtime_ns, st.st_ino

    def get(self) -> ToolKeys:
        stamp = self._file_stamp()
        if stamp != self._stamp and stamp is not None:
            with self._lock:
                if stamp != self._stamp:
                    self._keys, self._stamp = load_keys(self.path, create=False), stamp
        return self._keys
