"""Reading the files users hand to quizgen: one place for every way that can fail."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .errors import InputFileError, clip


def read_text_file(path: str, kind: str = "file", max_bytes: int | None = None) -> str:
    """UTF-8 text (a leading BOM dropped), or an InputFileError saying why not."""
    p = Path(path)
    try:
        if p.is_dir():
            raise InputFileError(f"{path or '(empty path)'} is a directory, not a {kind}")
        if max_bytes is not None and p.stat().st_size > max_bytes:
            raise InputFileError(f"{path} is larger than {max_bytes // 1000:,} kB; that is not a {kind}")
        return p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise InputFileError(f"{path}: not UTF-8 text (save the {kind} as UTF-8)") from None
    except OSError as exc:  # too long a name, no permission, ...
        raise InputFileError(f"{clip(path, 80)}: {exc.strerror}") from None
    except ValueError:  # pathlib refuses a NUL byte
        raise InputFileError(f"{clip(path, 80)!r} is not a usable file name") from None


def write_file(path: str | Path, data: str | bytes) -> str:
    """Write a file the user named, whole or not at all (a temporary file, then a rename);
    returns the path. Every way that fails is an InputFileError naming the path."""
    target = Path(path)
    try:
        if not str(path) or target.is_dir():
            raise InputFileError(f"cannot write {clip(str(path), 80) or '(empty path)'}: it is a folder, not a file name")
        if not target.parent.is_dir():
            raise InputFileError(f"cannot write {clip(str(target), 80)}: folder {target.parent} does not exist")
        tmp = target.with_name(f".{target.name}.tmp")
        try:
            if isinstance(data, bytes):
                tmp.write_bytes(data)
            else:
                tmp.write_text(data, encoding="utf-8")
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise InputFileError(f"cannot write {clip(str(path), 80)}: {exc.strerror}") from None
    except ValueError:  # a NUL byte
        raise InputFileError(f"cannot write {clip(str(path), 80)!r}: not a usable file name") from None
    return str(target)


class MalformedJSON(ValueError):
    """JSON text that could not be decoded; the message is one line, without the file's name."""


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
