"""A quiz as plain data: its settings, the questions a student sees, and the key.

Shared by the classroom use-cases that read them from the store and the exports
that format them, so neither has to know the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..nn.shapes import format_shape

# What an instructor may add to a stored answer (or to one part of it): values also
# accepted as right (``quizgen quiz accept``), and, when ``quizgen quiz correct`` set a value
# other than the one the question's solution gives, that solution's value (``analytic``).
ACCEPTED_FIELD, ANALYTIC_FIELD = "accepted", "analytic"
# A quiz generated with --carry-forward marks its summary answers so: their grading keys then
# give the total its part when it is the sum of the student's own layer counts.
CARRY_FIELD = "carry_forward"
CARRY_KINDS = ("summary",)


def answer_units(answer: dict[str, Any]) -> list[tuple[str | None, dict[str, Any]]]:
    """(part key, the part) for each part of a multi-part answer, else [(None, answer)]:
    the pieces that carry a value."""
    if answer["type"] == "parts":
        return [(p["key"], p) for p in answer["parts"]]
    return [(None, answer)]


def response_of(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer without values (mirrors migration 0002's backfill)."""
    if answer["type"] == "parts":
        return {"type": "parts", "parts": [{"key": p["key"], "type": p["type"], "label": p["label"]}
                                           for p in answer["parts"]]}
    return {"type": answer["type"]}


@dataclass(frozen=True)
class QuizInfo:
    id: int
    title: str
    seed: int
    language: str
    difficulty: str
    kinds: list[str]
    question_count: int
    students: int
    status: str
    created_at: datetime
    deadline: datetime | None
    attempt_limit: int | None
    feedback: str
    counting: str
    time_zone: str = "UTC"  # the zone the deadline was given in, and is shown in
    late_until: datetime | None = None  # late submissions accepted (marked late) until then
    submitted: int = 0  # students who have made at least one attempt
    archived: bool = False  # closed to submissions, left out of 'quizgen list'
    carry_forward: bool = False  # follow-through credit for a summary's total

    def to_json(self) -> dict[str, Any]:
        """Instants in UTC (ISO 8601 with +00:00); ``deadline_local`` as the quiz's people read it."""
        from ..clock import in_zone

        return {"id": self.id, "title": self.title, "seed": self.seed, "language": self.language,
                "difficulty": self.difficulty, "kinds": self.kinds, "questions": self.question_count,
                "students": self.students, "status": self.status, "created_at": self.created_at.isoformat(),
                "deadline": self.deadline.isoformat() if self.deadline else None,
                "deadline_local": in_zone(self.deadline, self.time_zone).isoformat() if self.deadline else None,
                "time_zone": self.time_zone,
                "late_until": self.late_until.isoformat() if self.late_until else None,
                "attempt_limit": self.attempt_limit, "feedback": self.feedback, "counting": self.counting,
                "submitted": self.submitted, "archived": self.archived, "carry_forward": self.carry_forward}


@dataclass(frozen=True)
class ShownQuestion:
    """What a student may see of a question: never the answer."""

    slot: int
    kind: str
    points: int
    prompt: str

    def to_json(self) -> dict[str, Any]:
        return {"slot": self.slot, "kind": self.kind, "points": self.points, "prompt": self.prompt}


@dataclass(frozen=True)
class KeyEntry:
    slot: int
    kind: str
    points: int
    prompt: str
    answer: dict[str, Any]
    derivation: str
    spec: dict[str, Any]
    breakdown: dict[str, Any]
    keras_version: str | None
    tensorflow_version: str | None
    verified_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {"slot": self.slot, "kind": self.kind, "points": self.points, "answer": self.answer,
                "derivation": self.derivation, "breakdown": self.breakdown, "keras_version": self.keras_version,
                "verified_at": self.verified_at.isoformat() if self.verified_at else None}


@dataclass(frozen=True)
class VariantKey:
    student: str | None
    student_name: str | None
    entries: list[KeyEntry]



def format_answer(answer: dict[str, Any], lang: str) -> str:
    """An answer as a student would write it."""
    if answer["type"] == "count":
        return f"{answer['value']:,}"
    if answer["type"] == "shape":
        return format_shape(tuple(answer["value"]))
    if answer["type"] in ("memory", "decimal"):
        return answer["value"]
    lines = []
    for i, part in enumerate(answer["parts"], start=1):
        lines.append(f"({i}) {part['label'][lang]}: {format_answer(part, lang)}")
    return "\n".join(lines)


def instructor_notes(answer: dict[str, Any]) -> list[str]:
    """What the instructor changed in an answer, one line each: values also accepted,
    and an answer set over the one the question's own working gives."""
    notes = []
    for key, unit in answer_units(answer):
        where = f"part {key}: " if key else ""
        if unit.get(ACCEPTED_FIELD):
            shown = ", ".join(format_answer({**unit, "value": v}, "en") for v in unit[ACCEPTED_FIELD])
            notes.append(f"{where}also accepted: {shown}")
        if ANALYTIC_FIELD in unit:
            notes.append(f"{where}answer set by the instructor; the working gives "
                         f"{format_answer({**unit, 'value': unit[ANALYTIC_FIELD]}, 'en')}")
    return notes
