"""Class rosters: CSV files of students (id, name, email).

A roster is what the school's system or a spreadsheet saves: UTF-8 with or without a
BOM, or, from Excel on Korean Windows ("CSV (쉼표로 분리)"), CP949, the superset of
EUC-KR that Windows calls code page 949. The encoding is detected (a BOM, then strict
UTF-8, then CP949) or given. Headers may be English or Korean, in any case and spacing:
id / student id / 학번, name / 이름 / 성명, email / e-mail / 이메일.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass

from ..errors import InputFileError
from ..files import read_file_bytes

MAX_ROSTER = 10_000
MAX_ROSTER_BYTES = 10_000_000


@dataclass(frozen=True)
class RosterEntry:
    id: str
    name: str
    email: str | None = None


def read_roster(path: str, encoding: str | None = None) -> list[RosterEntry]:
    """Students from a CSV with a header naming at least the id and the name; all rows or none.
    ``encoding``: the file's, when detection will not do (None: detect)."""
    return parse_roster(decode_roster(read_file_bytes(path, "roster file", MAX_ROSTER_BYTES), path, encoding), path)


# Detected in this order (after a BOM, which settles it). CP949 Hangul is almost never
# valid UTF-8 (its two-byte codes are not UTF-8 sequences), so strict UTF-8 goes first.
_DETECTED = ("utf-8", "cp949")


def check_encoding(name: str) -> str:
    """Python's name for an encoding a user named (``euc-kr``, ``CP949``, ``utf-8-sig``...)."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise InputFileError(f"{name[:40]!r} is not an encoding quizgen knows (try utf-8 or cp949)") from None


def decode_roster(data: bytes, source: str, encoding: str | None = None) -> str:
    """The roster's text: in ``encoding`` if given, else detected (a UTF-8 BOM, UTF-8, CP949)."""
    if encoding is not None:
        name = check_encoding(encoding)
        if name in ("euc_kr", "euc-kr"):  # what Excel writes as EUC-KR is code page 949, a superset
            name = "cp949"
        try:
            return data.decode("utf-8-sig" if name == "utf-8" else name)
        except UnicodeDecodeError as exc:
            raise InputFileError(f"{source}: not {encoding} text (byte {exc.start + 1:,} does not decode)") from None
    for name in ("utf-8-sig",) if data.startswith(codecs.BOM_UTF8) else _DETECTED:
        try:
            return data.decode(name)
        except UnicodeDecodeError:
            continue
    raise InputFileError(f"{source}: neither UTF-8 nor CP949/EUC-KR text; save it as CSV UTF-8, or give its "
                         "encoding with --encoding")


# Header names, compared without case and spaces: each column's English and Korean names.
_COLUMNS = {
    "id": ("id", "studentid", "student_id", "학번"),
    "name": ("name", "studentname", "이름", "성명"),
    "email": ("email", "e-mail", "emailaddress", "이메일", "메일"),
}
_COLUMN_OF = {alias: column for column, aliases in _COLUMNS.items() for alias in aliases}


def _column(header: str) -> str:
    """The roster column a header cell names (``Student ID`` and ``학번`` are ``id``), or the
    cell itself, normalised, when it names none (the column is then ignored)."""
    key = "".join(header.split()).lower()
    return _COLUMN_OF.get(key, key)


def make_entry(sid: str, name: str, email: str | None, where: str) -> RosterEntry:
    """A validated roster entry; ``where`` names the source in the error message."""
    sid, name, email = sid.strip(), name.strip(), (email or "").strip() or None
    if not sid or not name:
        raise InputFileError(f"{where}: every student needs an id and a name")
    if len(sid) > 64 or any(c.isspace() or not c.isprintable() for c in sid):
        raise InputFileError(f"{where}: student id {sid[:70]!r} must be at most 64 printable characters without spaces")
    if len(name) > 200 or not name.isprintable():
        raise InputFileError(f"{where}: the name must be at most 200 printable characters")
    if email is not None and ("@" not in email or len(email) > 254 or not email.isprintable()):
        raise InputFileError(f"{where}: {email[:60]!r} is not an email address")
    return RosterEntry(sid, name, email)


def parse_roster(text: str, source: str = "roster") -> list[RosterEntry]:
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = [_column(h) for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise InputFileError(f"{source}: not a readable CSV file ({exc})") from None
    if "id" not in header or "name" not in header:
        raise InputFileError(f"{source}: the header must name the columns id and name, or 학번 and 이름 "
                             "(and optionally email or 이메일)")
    for column in _COLUMNS:
        if header.count(column) > 1:
            raise InputFileError(f"{source}: the header names the {column} column twice")
    reader.fieldnames = header
    entries: list[RosterEntry] = []
    seen: set[str] = set()
    try:
        for row in reader:
            line = reader.line_num
            if None in row:
                raise InputFileError(f"{source}, line {line}: more cells than header columns")
            if not any((row.get(k) or "").strip() for k in ("id", "name", "email")):
                continue
            entry = make_entry(row.get("id") or "", row.get("name") or "", row.get("email"), f"{source}, line {line}")
            if entry.id in seen:
                raise InputFileError(f"{source}, line {line}: student id {entry.id!r} appears twice")
            seen.add(entry.id)
            entries.append(entry)
            if len(entries) > MAX_ROSTER:
                raise InputFileError(f"{source}: more than {MAX_ROSTER:,} students")
    except csv.Error as exc:
        raise InputFileError(f"{source}: not a readable CSV file ({exc})") from None
    if not entries:
        raise InputFileError(f"{source}: the roster has no students")
    return entries
