"""Class rosters: CSV files of students (id, name, email), UTF-8 with or without a BOM."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from ..errors import InputFileError
from ..files import read_text_file

MAX_ROSTER = 10_000
MAX_ROSTER_BYTES = 10_000_000


@dataclass(frozen=True)
class RosterEntry:
    id: str
    name: str
    email: str | None = None


def read_roster(path: str) -> list[RosterEntry]:
    """Students from a CSV with a header naming at least ``id`` and ``name``; all rows or none."""
    return parse_roster(read_text_file(path, "roster file", MAX_ROSTER_BYTES), path)


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
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise InputFileError(f"{source}: not a readable CSV file ({exc})") from None
    if "id" not in header or "name" not in header:
        raise InputFileError(f"{source}: the header must name the columns id and name (and optionally email)")
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
