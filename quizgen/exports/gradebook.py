"""Gradebooks: a row per student, as Canvas CSV or JSON.

The CSV follows Canvas's gradebook import (app/models/gradebook_importer.rb): Student,
ID, SIS User ID, SIS Login ID, Section, the quiz's column, a "Points Possible" row.

- The column is titled '<title> [quizgen N]'. Canvas reads a title ending in
  '(digits)' as the id of an existing assignment (Assignment.title_and_id), so
  '점검 퀴즈 (1)' would overwrite assignment 1's grades; the bracketed quiz id keeps
  titles unique per quiz and never ends that way. Re-importing the same quiz finds the
  assignment made by the first import by its title and updates it.
- One column per quiz by default. Canvas makes an assignment of every column it does
  not know, so per-question columns (``questions=True``) are marked "read only" in the
  Points Possible row, as Canvas marks its own computed columns: its importer drops
  read-only columns, so they never add points.
- A student with no graded answer gets a blank cell (no grade), not 0; a submission
  that scored 0 gets 0.
- Phrases Canvas treats specially are defused: a column whose title contains "Final
  Score" (and its kin) is skipped as a computed column, and a row whose first cell
  contains "Points Possible" is taken for the points row.
- Cells that a spreadsheet would run as a formula (starting with = + - @, a tab or a
  carriage return) are neutralised.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..questions.records import QuizInfo
from .naming import quiz_label


@dataclass(frozen=True)
class GradebookRow:
    student: str
    name: str
    email: str | None
    scores: list[float | None]  # per slot; None: not answered (or not graded yet)
    total: float
    correct: list[bool | None]

    @property
    def graded(self) -> bool:
        """Whether the student has any graded answer (no submission, or none graded yet: False)."""
        return any(s is not None for s in self.scores)


@dataclass(frozen=True)
class SlotAbout:
    """What a question slot asks, the same for every student (each gets other numbers):
    its kind and the model of the first student's variant, for the report to name."""

    kind: str
    spec: dict[str, Any]


@dataclass(frozen=True)
class Gradebook:
    info: QuizInfo
    points: list[int]  # per slot
    rows: list[GradebookRow]
    misconceptions: dict[str, dict[int, list[tuple[str, Any]]]]  # internal for the report
    about: list[SlotAbout] = field(default_factory=list)  # per slot, for the report (may be empty)

    @property
    def max_score(self) -> int:
        return sum(self.points)



_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
READ_ONLY = "(read only)"
# Canvas skips any column whose title contains one of these (NON_ASSIGNMENT_COLUMN_HEADERS)
# and takes a row whose first cell contains "Points Possible" for the points row.
_CANVAS_PHRASES = re.compile(r"(Current|Final|Override|Points)( )(Score|Points|Grade|Status|Possible)")


def _defuse(text: str) -> str:
    """The same text with a no-break space where Canvas would match one of its phrases."""
    return _CANVAS_PHRASES.sub("\\1\u00a0\\3", text)


def _number(value: float) -> str:
    return format(round(value, 4), "f").rstrip("0").rstrip(".")


def safe_cell(value: Any) -> str:
    """A spreadsheet cell that cannot run as a formula."""
    text = "" if value is None else (_number(value) if isinstance(value, float) else str(value))
    return "'" + text if text.startswith(_FORMULA_START) else text


def column_titles(book: Gradebook, questions: bool = False) -> list[str]:
    """The quiz's column title, then (with ``questions``) one per question."""
    titles = [quiz_label(book.info)]
    if questions:
        titles += [quiz_label(book.info, f"Q{slot}") for slot in range(1, len(book.points) + 1)]
    return [_defuse(t) for t in titles]


# Canvas's importer drops every line that is only semicolons, commas and spaces
# (GradebookImporter's CSV option skip_lines: /^[;, ]*$/), read before the line is
# parsed: a student whose name and id are such characters, with no grade, would vanish.
_CANVAS_SKIPS = re.compile(r"[;, ]*")


def _table(book: Gradebook, questions: bool) -> tuple[list[str], list[Any], list[list[Any]]]:
    """(header, Points Possible row, a row per student) as Canvas lays them out; numbers are
    numbers and a blank is None, for each format to write as it must."""
    titles = column_titles(book, questions)
    header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *titles]
    points = ["Points Possible", "", "", "", "", book.max_score, *([READ_ONLY] * (len(titles) - 1))]
    rows = [[_defuse(r.name), "", r.student, r.email or r.student, "", r.total if r.graded else None,
             *(r.scores if questions else [])] for r in book.rows]
    return header, points, rows


def gradebook_csv(book: Gradebook, questions: bool = False, excel: bool = False) -> str:
    """Canvas's gradebook CSV. ``excel``: with a UTF-8 byte order mark first, which Excel needs
    to read Korean names as UTF-8 (Canvas's importer is given the file without it)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    quoted = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    header, points, rows = _table(book, questions)
    w.writerow([safe_cell(c) for c in header])
    w.writerow(points)
    for row in rows:
        cells = [safe_cell(c) for c in row]
        (quoted if _CANVAS_SKIPS.fullmatch(",".join(cells)) else w).writerow(cells)
    return ("\ufeff" if excel else "") + out.getvalue()


def gradebook_xlsx(book: Gradebook, questions: bool = False) -> bytes:
    """The same table as the CSV, as an Excel workbook (openpyxl): names in Hangul as they are,
    scores as numbers, and every text cell stored as text, so nothing in it runs as a formula."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import TYPE_STRING

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = "Grades"
    header, points, rows = _table(book, questions)
    for values in (header, points, *rows):
        sheet.append([None if v == "" else v for v in values])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):  # openpyxl would take "=..." for a formula
                cell.data_type = TYPE_STRING
    sheet.freeze_panes = "B3"
    for letter, width in zip("ABCD", (16, 4, 14, 24)):
        sheet.column_dimensions[letter].width = width
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def gradebook_json(book: Gradebook) -> str:
    """Every student with per-question scores; ``total`` is null for a student with no graded answer."""
    return json.dumps({
        "quiz": book.info.to_json(), "points": book.points, "max_score": book.max_score,
        "students": [{"id": r.student, "name": r.name, "email": r.email, "scores": r.scores,
                      "total": r.total if r.graded else None}
                     for r in book.rows],
    }, ensure_ascii=False, indent=2) + "\n"
