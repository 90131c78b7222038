"""Gradebooks: a row per student, as Canvas CSV or JSON.

The CSV gradebook follows Canvas's import layout (Student, ID, SIS User ID, SIS
Login ID, Section, then the quiz column, and a "Points Possible" row). Question
columns follow the quiz column; Canvas makes an assignment of every extra column
it is given, so ``--no-questions`` leaves them out. Cells that a spreadsheet would
run as a formula (starting with = + - @, a tab or a carriage return) are neutralised.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from ..questions.records import QuizInfo


@dataclass(frozen=True)
class GradebookRow:
    student: str
    name: str
    email: str | None
    scores: list[float | None]  # per slot; None: not answered (or not graded yet)
    total: float
    correct: list[bool | None]


@dataclass(frozen=True)
class Gradebook:
    info: QuizInfo
    points: list[int]  # per slot
    rows: list[GradebookRow]
    misconceptions: dict[str, dict[int, list[tuple[str, Any]]]]  # internal for the report

    @property
    def max_score(self) -> int:
        return sum(self.points)



_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """A spreadsheet cell that cannot run as a formula."""
    text = "" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))
    return "'" + text if text.startswith(_FORMULA_START) else text


def gradebook_csv(book: Gradebook, questions: bool = True) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    quiz_col = f"{book.info.title} ({book.info.id})"
    q_cols = [f"Q{i}" for i in range(1, len(book.points) + 1)] if questions else []
    w.writerow([safe_cell(c) for c in ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", quiz_col, *q_cols]])
    w.writerow(["Points Possible", "", "", "", "", book.max_score, *(book.points if questions else [])])
    for r in book.rows:
        cells = [r.name, "", r.student, r.email or r.student, "", r.total, *(r.scores if questions else [])]
        w.writerow([safe_cell(c) for c in cells])
    return out.getvalue()


def gradebook_json(book: Gradebook) -> str:
    return json.dumps({
        "quiz": book.info.to_json(), "points": book.points, "max_score": book.max_score,
        "students": [{"id": r.student, "name": r.name, "email": r.email, "scores": r.scores, "total": r.total}
                     for r in book.rows],
    }, ensure_ascii=False, indent=2) + "\n"
