"""Reading the files users hand to quizgen, and writing the files they ask for: one place
for every way that can go wrong.

Reads are bounded by bytes actually read, never by ``st_size`` (a device such as
/dev/zero reports 0 and never ends), and only regular files (or stdin) are read.
Writes are whole or not at all (a temporary file, then a rename), never go through
a symlink or onto a device or FIFO, never onto an SQLite database (above all not
the store in use), and replace an existing file only when the user said so.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from .errors import InputFileError, clip

_SQLITE_MAGIC = b"SQLite format 3\x00"
DEFAULT_MAX_BYTES = 10_000_000


def _name(path: str | Path) -> str:
    return clip(str(path), 80) or "(empty path)"


def read_file_bytes(path: str, kind: str = "file", max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """At most ``max_bytes`` of a regular file (``-``: standard input); InputFileError otherwise."""
    if path == "-":
        return _bounded(sys.stdin.buffer, "standard input", kind, max_bytes)
    if not path:  # "" names the current folder
        raise InputFileError(f"(empty path) is a directory, not a {kind}")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputFileError(f"{_name(path)}: no such file") from None
    except IsADirectoryError:
        raise InputFileError(f"{_name(path)} is a directory, not a {kind}") from None
    except OSError as exc:  # too long a name, no permission, ...
        raise InputFileError(f"{_name(path)}: {exc.strerror}") from None
    except ValueError:  # a NUL byte in the name
        raise InputFileError(f"{_name(path)!r} is not a usable file name") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise InputFileError(f"{_name(path)} is a directory, not a {kind}")
        if not stat.S_ISREG(mode):  # a FIFO would block, a device would never end
            raise InputFileError(f"{_name(path)} is not a regular file (a device, FIFO or socket); "
                                 f"give a {kind} saved on disk")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=True) as fh:
            fd = -1
            return _bounded(fh, _name(path), kind, max_bytes)
    except OSError as exc:
        raise InputFileError(f"{_name(path)}: {exc.strerror}") from None
    finally:
        if fd >= 0:
            os.close(fd)


def _bounded(fh: IO[bytes], shown: str, kind: str, max_bytes: int) -> bytes:
    data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InputFileError(f"{shown} is larger than {max_bytes // 1000:,} kB; that is not a {kind}")
    return data


def read_text_file(path: str, kind: str = "file", max_bytes: int | None = None) -> str:
    """UTF-8 text (a leading BOM dropped), or an InputFileError saying why not."""
    data = read_file_bytes(path, kind, DEFAULT_MAX_BYTES if max_bytes is None else max_bytes)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputFileError(f"{_name(path)}: not UTF-8 text (save the {kind} as UTF-8)") from None


def _refuse_target(target: Path, force: bool, protect: tuple[Path, ...], database: bool = False) -> None:
    """Why ``target`` must not be written, if it must not (InputFileError). ``database``: the
    output is itself a database (a backup), which may replace another SQLite file with --force."""
    if any(_same_name(target, kept) for kept in protect):
        # by name too, existing or not: SQLite creates and deletes its journals as it goes
        # (a -journal, or a -wal when the last connection closed), and would later take a
        # file of that name for its own, or delete it
        raise InputFileError(f"cannot write {_name(target)}: it is the quiz database in use or one of its files")
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise InputFileError(f"cannot write {_name(target)}: it is a symbolic link (quizgen does not write "
                             "through links; give the real path)")
    if stat.S_ISDIR(st.st_mode):
        raise InputFileError(f"cannot write {_name(target)}: it is a folder, not a file name")
    if not stat.S_ISREG(st.st_mode):
        raise InputFileError(f"cannot write {_name(target)}: it is a device, FIFO or socket, not a file")
    for kept in protect:  # another name for one of them (a hard link)
        try:
            if os.path.samefile(target, kept):
                raise InputFileError(f"cannot write {_name(target)}: it is the quiz database in use or one of its "
                                     "files")
        except OSError:
            continue
    try:
        with open(target, "rb") as fh:
            head = fh.read(len(_SQLITE_MAGIC))
    except OSError:
        head = b""
    if head == _SQLITE_MAGIC and not database:
        raise InputFileError(f"cannot write {_name(target)}: it is an SQLite database; choose another file name")
    if not force:
        raise InputFileError(f"{_name(target)} already exists; add --force to replace it")


def _same_name(target: Path, kept: Path) -> bool:
    """Whether two paths name the same file, whether or not it exists (links in the
    folders resolved)."""
    return os.path.realpath(target) == os.path.realpath(kept)


def check_target(path: str | Path, force: bool = False, protect: tuple[Path, ...] = (), database: bool = False) -> Path:
    """The path, if quizgen may write a file there (see write_file); InputFileError otherwise."""
    target = Path(path)
    try:
        if not str(path) or target.name in ("", ".", ".."):
            raise InputFileError(f"cannot write {_name(path)}: it is a folder, not a file name")
        if not target.parent.is_dir():
            raise InputFileError(f"cannot write {_name(target)}: folder {_name(target.parent)} does not exist")
        _refuse_target(target, force, protect, database)
    except OSError as exc:
        raise InputFileError(f"cannot write {_name(path)}: {exc.strerror}") from None
    except ValueError:  # a NUL byte
        raise InputFileError(f"cannot write {_name(path)!r}: not a usable file name") from None
    return target


def write_file(path: str | Path, data: str | bytes, force: bool = False, protect: tuple[Path, ...] = (),
               mode: int = 0o644) -> str:
    """Write a file the user named, whole or not at all (a temporary file, then a rename);
    returns the path. ``protect``: files that must never be replaced (the open store and
    its journals). ``mode``: 0o600 for a file that holds secrets (it is never readable by
    others, not even for a moment). Every way that fails is an InputFileError naming the path."""
    target = check_target(path, force, protect)
    try:
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        payload = data if isinstance(data, bytes) else data.encode("utf-8")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), mode)
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise InputFileError(f"cannot write {_name(path)}: {exc.strerror}") from None
    except ValueError:  # a NUL byte
        raise InputFileError(f"cannot write {_name(path)!r}: not a usable file name") from None
    return str(target)


@contextmanager
def staged_file(path: str | Path, force: bool = False, protect: tuple[Path, ...] = (),
                database: bool = False) -> Iterator[Path]:
    """An empty private (0600) file beside ``path`` for the caller to fill; when the block
    ends without an error it is fsynced and renamed onto ``path`` (checked again first),
    otherwise removed: ``path`` is replaced whole or not at all. Refusals as write_file's."""
    target = check_target(path, force, protect, database)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            os.close(fd)
            yield tmp
            check_target(path, force, protect, database)  # nothing that must stay appeared there meanwhile
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, target)
            _fsync_folder(target.parent)
        finally:
            for leftover in (tmp, *(Path(f"{tmp}{s}") for s in ("-journal", "-wal", "-shm"))):
                leftover.unlink(missing_ok=True)
    except OSError as exc:
        raise InputFileError(f"cannot write {_name(path)}: {exc.strerror}") from None


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the platform allows opening a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class MalformedJSON(ValueError):
    """JSON text that could not be decoded; the message is one line, without the file's name."""


class DuplicateKey(MalformedJSON):
    """An object that gives one key twice: JSON leaves open which value counts (Python's
    json keeps the last), so text a user hands over is refused instead."""

    def __init__(self, key: str):
        super().__init__(f"duplicate key {key!r}")
        self.key = key


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An ``object_pairs_hook`` for decode_json that refuses a key given twice (DuplicateKey)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKey(key)
        out[key] = value
    return out


def decode_json(text: str, object_pairs_hook: Any = None) -> Any:
    """json.loads for text a user handed over. Besides syntax errors, Python's own limits
    fail it: nesting deeper than the recursion limit, and integers of more than 4,300
    digits (a ValueError, not a JSONDecodeError). Each becomes a MalformedJSON."""
    try:
        return json.loads(text, object_pairs_hook=object_pairs_hook)
    except json.JSONDecodeError as exc:
        raise MalformedJSON(f"{exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise MalformedJSON("nested too deeply") from None
    except ValueError as exc:
        if "integer string conversion" in str(exc):
            raise MalformedJSON("a number with more than 4,300 digits") from None
        raise
