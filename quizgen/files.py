"""Reading the files users hand to quizgen: one place for every way that can fail."""

from __future__ import annotations

from pathlib import Path

from .errors import InputFileError


def read_text_file(path: str, kind: str = "file", max_bytes: int | None = None) -> str:
    """UTF-8 text (a leading BOM dropped), or an InputFileError saying why not."""
    p = Path(path)
    if p.is_dir():
        raise InputFileError(f"{path} is a directory, not a {kind}")
    try:
        if max_bytes is not None and p.stat().st_size > max_bytes:
            raise InputFileError(f"{path} is larger than {max_bytes // 1000:,} kB; that is not a {kind}")
        return p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise InputFileError(f"{path}: not UTF-8 text (save the {kind} as UTF-8)") from None
    except OSError as exc:
        raise InputFileError(f"{path}: {exc.strerror}") from None
