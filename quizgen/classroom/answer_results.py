"""A graded answer as its student is told it: for a multi-part answer, which parts were
right, which were wrong and the slip each wrong part shows; for any answer, one sentence.

One home for every front end: ``quizgen status`` (CLI and JSON), the HTTP API's
response to a submission and its ``GET .../submissions``, and the student page. Built
from the grade (its ``misconception`` and per-part ``details``) and the question's
answer form (part numbers and labels), never from a key column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..grading.slip_messages import slip_feedback
from ..resources import load_json


@dataclass(frozen=True)
class PartResult:
    """One part of a graded multi-part answer."""

    number: str  # as the student answers it: "3.2"
    key: str  # the part in the key: "L2.params"
    label: str  # what the part asks, in the quiz's language
    answered: bool
    correct: bool
    misconception: str | None  # the stored slip reference a wrong part shows
    feedback: str | None  # that slip explained, in the quiz's language

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "label": self.label, "answered": self.answered, "correct": self.correct,
                "misconception": self.misconception, "feedback": self.feedback}


def part_results(slot: int, response: Mapping[str, Any], details: Mapping[str, Any] | None,
                 lang: str) -> list[PartResult] | None:
    """The parts of a graded answer in the question's order (None: not a multi-part answer)."""
    if response.get("type") != "parts":
        return None
    graded = (details or {}).get("parts") or {}
    out = []
    for n, part in enumerate(response.get("parts", []), start=1):
        result = graded.get(part["key"]) or {"correct": False, "answered": False}
        slip = result.get("misconception")
        label = part.get("label") or {}
        out.append(PartResult(f"{slot}.{n}", part["key"], label.get(lang) or label.get("en") or part["key"],
                              result.get("answered", True), bool(result.get("correct")), slip,
                              slip_feedback(slip, lang)))
    return out


def question_feedback(misconception: str | None, parts: list[PartResult] | None, lang: str) -> str | None:
    """One line for a graded answer: the slip a wrong single answer shows; for a multi-part
    answer, the parts right, wrong (each with its slip) and not answered."""
    if parts is None:
        return slip_feedback(misconception, lang)
    wording = load_json("misconceptions.json")["parts"]
    w = wording.get(lang) or wording["en"]
    right = [p.number for p in parts if p.correct]
    wrong = [f"{p.number} ({p.feedback.rstrip('.')})" if p.feedback else p.number
             for p in parts if p.answered and not p.correct]
    unanswered = [p.number for p in parts if not p.answered]
    groups = [(w["right"], right), (w["wrong"], wrong), (w["unanswered"], unanswered)]
    return w["join"].join(w["list"].format(state=state, parts=", ".join(items)) for state, items in groups if items)


def parts_json(parts: list[PartResult] | None) -> dict[str, Any] | None:
    """Parts as the API and ``status --json`` give them: by the key's part, in order."""
    return None if parts is None else {p.key: p.to_json() for p in parts}
