"""Where the client keeps things on the student's machine, and how it writes them.

Credentials and pinned keys live in the config folder (``$XDG_CONFIG_HOME/quizgen`` or
``~/.config/quizgen``); the outbox and receipts in the data folder
(``$XDG_DATA_HOME/quizgen`` or ``~/.local/share/quizgen``). Every file is written whole
(a temporary file created 0600 with O_EXCL, fsync'd, renamed over the old one, then the
folder fsync'd), so a crash or a kill -9 leaves the old file or the new one, never half
of one, and a token is never readable by other users, not even for a moment.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any

from ..errors import QuizgenError, clip
from ..files import MalformedJSON, decode_json
from ..resources import Phrase, phrase

MAX_STATE_BYTES = 1_000_000  # a credentials, outbox or receipt file; anything bigger is not ours


class StorageError(QuizgenError):
    """A file or folder of the client's own state that cannot be read or written."""


def _xdg(variable: str, fallback: str) -> Path:
    """An XDG base folder: the variable when it holds an absolute path (the spec says a
    relative one is to be ignored), else the fallback under the home folder."""
    value = os.environ.get(variable, "")
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / fallback


def config_dir() -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config") / "quizgen"


def data_dir() -> Path:
    return _xdg("XDG_DATA_HOME", ".local/share") / "quizgen"


def _shown(path: Path) -> str:
    return clip(str(path), 120)


# The causes a student can fix, worded; any other is the system's own text.
_OS_REASONS = {errno.EACCES: "os_permission", errno.EPERM: "os_permission", errno.ENOSPC: "os_no_space",
               errno.EDQUOT: "os_no_space", errno.EROFS: "os_read_only"}


def os_reason(exc: OSError) -> Phrase | str:
    """Why a file operation failed, in a few words."""
    if exc.errno in _OS_REASONS:
        return phrase(_OS_REASONS[exc.errno])
    return exc.strerror or type(exc).__name__


def private_dir(path: Path) -> Path:
    """The folder, created (mode 0700) if missing; a StorageError if it cannot be."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except FileExistsError:
        raise StorageError(phrase("storage_not_folder", path=_shown(path))) from None
    except OSError as exc:
        raise StorageError(phrase("storage_cannot_create", path=_shown(path), why=os_reason(exc))) from None
    if not path.is_dir():
        raise StorageError(phrase("storage_not_folder", path=_shown(path)))
    return path


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink in ``path`` durable (POSIX: the folder's own entry list)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_private(path: Path, data: bytes) -> None:
    """Write ``path`` whole and durably, readable only by its owner (0600 from creation)."""
    folder = private_dir(path.parent)
    tmp = folder / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            getattr(os, "fdatasync", os.fsync)(fd)  # the data and size; mtime need not reach the disk
        finally:
            os.close(fd)
        os.replace(tmp, path)
        fsync_dir(folder)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StorageError(phrase("storage_cannot_write", path=_shown(path), why=os_reason(exc))) from None


def write_json(path: Path, obj: Any) -> None:
    write_private(path, (json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8"))


def remove(path: Path) -> None:
    """Delete a file (a missing one is already gone). Not fsync'd: every file the client
    removes is one whose return after a crash is harmless (an outbox entry sent again
    under its idempotency key is answered with the original receipt)."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise StorageError(phrase("storage_cannot_remove", path=_shown(path), why=os_reason(exc))) from None


def read_json(path: Path, private: bool = False) -> Any:
    """A JSON file of the client's own (None if it does not exist). ``private``: refuse a
    file other users can read or write, as ssh refuses such a key."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StorageError(phrase("storage_cannot_read", path=_shown(path), why=os_reason(exc))) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise StorageError(phrase("storage_not_regular", path=_shown(path)))
        if private and st.st_mode & 0o077:
            raise StorageError(phrase("storage_readable", path=_shown(path), mode=f"{stat.S_IMODE(st.st_mode):04o}"))
        with os.fdopen(fd, "rb", closefd=True) as fh:
            fd = -1
            data = fh.read(MAX_STATE_BYTES + 1)
    except OSError as exc:
        raise StorageError(phrase("storage_cannot_read", path=_shown(path), why=os_reason(exc))) from None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > MAX_STATE_BYTES:
        raise StorageError(phrase("storage_too_large", path=_shown(path), kb=f"{MAX_STATE_BYTES // 1000:,}"))
    try:
        return decode_json(data.decode("utf-8"))
    except (UnicodeDecodeError, MalformedJSON) as exc:
        raise StorageError(phrase("storage_damaged", path=_shown(path), why=clip(str(exc), 100))) from None
