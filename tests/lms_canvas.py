"""Canvas's gradebook CSV importer, ported to Python for the gradebook tests.

Follows instructure/canvas-lms app/models/gradebook_importer.rb (header detection,
non-assignment and read-only columns, the "Points Possible" and muted rows, the
decimal-comma converter) and Assignment.title_and_id, the rule that a column title
ending in " (digits)" names an existing assignment by id.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

# Assignment.title_and_id: /\A(.*)\s\((\d+)\)\z/ in Ruby, where . stops at a newline
# and \s, \d are ASCII.
TITLE_AND_ID = re.compile(r"\A(.*)\s\((\d+)\)\Z", re.ASCII)

NON_ASSIGNMENT = re.compile("|".join([
    "Current Score", "Current Points", "Current Grade", "Final Score", "Final Points", "Final Grade",
    "Override Score", "Override Grade", "Override Status"]))


def title_and_id(header: str) -> tuple[str, str | None]:
    m = TITLE_AND_ID.match(header)
    return (m.group(1), m.group(2)) if m else (header, None)


def _decimal_comma_to_period(cell: str | None) -> str | None:
    if cell is not None and re.match(r"^-?[0-9.,]+%?$", cell):
        parts = re.split(r"[,.]", cell)
        last = parts.pop()
        return last if not parts else "".join(parts) + "." + last
    return cell


@dataclass(frozen=True)
class Column:
    header: str
    title: str
    assignment_id: str | None  # an existing assignment the column would write into
    points: str | None
    read_only: bool


@dataclass(frozen=True)
class Upload:
    columns: list[Column]  # every assignment column the importer recognised
    grades: dict[str, dict[str, str]]  # SIS User ID -> column header -> grade text ("" = no grade)
    names: dict[str, str]

    @property
    def imported(self) -> list[Column]:
        """The columns Canvas writes grades into (read-only ones are dropped)."""
        return [c for c in self.columns if not c.read_only]


def _rows_kept(text: str) -> list[list[str]]:
    """The rows Ruby's CSV yields with skip_lines: /^[;, ]*$/: a row whose raw text (its
    physical lines, quotes and all, without the line ending) is only semicolons, commas
    and spaces is skipped before it is parsed."""
    consumed: list[str] = []

    def lines():  # type: ignore[no-untyped-def]
        for line in io.StringIO(text, newline=""):
            consumed.append(line)
            yield line

    kept = []
    for row in csv.reader(lines()):
        raw = "".join(consumed).rstrip("\r\n")
        consumed.clear()
        if not re.fullmatch(r"[;, ]*", raw):
            kept.append(row)
    return kept


def import_csv(text: str) -> Upload:
    """Read a gradebook CSV as GradebookImporter#parse! does, up to the grades it would apply."""
    rows = [[_decimal_comma_to_period(c if c != "" else None) for c in row] for row in _rows_kept(text)]
    header = [c or "" for c in rows[0]]
    assert len(header) > 3 and "Student" in header[0] and "ID" in header[1], "Canvas: invalid header row"
    student_columns = 3
    if re.search(r"SIS\s+Login\s+ID", header[2]):
        sis_user, sis_login = None, 2
        student_columns += 1
    elif re.search(r"SIS\s+User\s+ID", header[2]) and re.search(r"SIS\s+Login\s+ID", header[3]):
        sis_user, sis_login = 2, 3
        student_columns += 2
    else:
        sis_user = sis_login = None
    assert "Section" in header[student_columns - 1], "Canvas: invalid header row (no Section)"
    rest = [(i, h) for i, h in enumerate(header) if i >= student_columns and not NON_ASSIGNMENT.search(h)]
    pp: list[str | None] = []
    students = []
    for row in rows[1:]:
        if row[0] is not None and "Points Possible" in row[0]:
            pp = row
            continue
        if all(re.fullmatch(r"\s*(Muted|Manual Posting.*)?\s*", c, re.I) for c in row if c is not None):
            continue
        students.append(row)
    columns = []
    for i, h in rest:
        title, aid = title_and_id(h)
        points = pp[i] if i < len(pp) else None
        columns.append(Column(h, title, aid, points, bool(points and re.search(r"read\s+only", points))))
    grades: dict[str, dict[str, str]] = {}
    names: dict[str, str] = {}
    for row in students:
        key = row[sis_user] if sis_user is not None else row[sis_login]
        assert key, f"Canvas: a student row without an id: {row}"
        grades[key] = {h: (row[i] or "").strip() for i, h in rest}
        names[key] = row[0] or ""
    return Upload(columns, grades, names)
