"""Answer sheets students hand in: ``--answer N=VALUE`` pairs, ``answers.json`` or ``answers.csv``,
and which questions and parts a sheet leaves blank.

Only the sheet's shape is checked here (one answer per key, text or whole numbers);
what the keys and values mean is checked against the quiz by submissions.parse_submission.
No database code: the student's remote client uses this module too.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InputFileError
from ..files import DuplicateKey, MalformedJSON, decode_json, read_text_file, unique_keys
from ..grading.answers import AnswerError
from ..receipts import part_label

MAX_FILE_BYTES = 1_000_000


def parse_answer_args(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``1=529,441`` / ``3.2=(None, 30, 100)`` pairs from the command line."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise AnswerError(f"--answer {pair[:40]!r} should look like N=VALUE, e.g. --answer 1=529441")
        if key in out:
            raise AnswerError(f"question {key} is answered twice")
        out[key] = value
    return out


def read_answers_file(path: str) -> dict[str, str]:
    """Answers from ``answers.json`` ({"1": "529441", ...}) or ``answers.csv`` (question,answer)."""
    text = read_text_file(path, "answers file", MAX_FILE_BYTES)
    if path.lower().endswith(".csv"):
        return _answers_from_csv(text, path)
    return _answers_from_json(text, path)


def _decode(text: str, path: str, object_pairs_hook: Any = None) -> Any:
    try:
        return decode_json(text, object_pairs_hook)
    except DuplicateKey as exc:
        raise InputFileError(f"duplicate key {exc.key!r} in the answers file") from None
    except MalformedJSON as exc:
        raise InputFileError(f"{path}: malformed JSON ({exc})") from None


def _answers_from_json(text: str, path: str) -> dict[str, str]:
    data = _decode(text, path, unique_keys)
    if isinstance(data, dict) and isinstance(data.get("answers"), (dict, list)):
        data = data["answers"]
    if isinstance(data, list):
        pairs = {}
        for item in data:
            if not isinstance(item, dict) or "question" not in item or "answer" not in item:
                raise InputFileError(f"{path}: a list of answers needs objects with \"question\" and \"answer\"")
            key = str(item["question"])
            if key in pairs:
                raise InputFileError(f"{path}: question {key} is answered twice")
            pairs[key] = item["answer"]
        data = pairs
    if not isinstance(data, dict):
        raise InputFileError(f'{path}: expected an object like {{"1": "529441", "3": "(None, 30, 100)"}}')
    out = {}
    for key, value in data.items():
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise InputFileError(f"{path}: the answer to {key} must be text or a whole number")
        out[str(key)] = str(value)
    return out


def _answers_from_csv(text: str, path: str) -> dict[str, str]:
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InputFileError(f"{path}: not a readable CSV file ({exc})") from None
    if not rows or [c.strip().lower() for c in rows[0]][:2] != ["question", "answer"]:
        raise InputFileError(f"{path}: the header must be question,answer")
    out: dict[str, str] = {}
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != 2:
            raise InputFileError(f"{path}, line {n}: expected 2 cells (question, answer), found {len(row)}")
        key = row[0].strip()
        if key in out:
            raise InputFileError(f"{path}, line {n}: question {key} is answered twice")
        out[key] = row[1]
    return out


# ---------------------------------------------------------------- blank answers

@dataclass(frozen=True)
class Blank:
    """A question, or one part of a multi-part question, that an answer sheet leaves
    unanswered (no key for it, or only spaces)."""

    slot: int
    part: int | None  # 1-based; None for a single-answer question

    @property
    def key(self) -> str:
        """How the answer would be given: ``2``, ``4.3`` (``quizgen submit --answer 4.3=…``)."""
        return str(self.slot) if self.part is None else f"{self.slot}.{self.part}"


def blank_parts(responses: Mapping[int, Mapping[str, Any]], answers: Mapping[str, str]) -> list[Blank]:
    """Every question and part of a quiz that ``answers`` leaves blank, in order.

    ``responses``: each question's answer form by number (``{"type": "count"}``, or
    ``{"type": "parts", "parts": [{"key": "L1.shape", ...}, ...]}``) as the student's
    view of the quiz carries it; ``answers``: keyed as ``quizgen submit`` takes them (``1``,
    ``4.2``, ``04.02``, or a part by its key, ``4.L1.shape``). A key that names nothing in
    the quiz answers nothing here (the submission's own parser refuses it)."""
    given: set[tuple[int, str]] = set()
    for key, value in answers.items():
        if not str(value).strip():
            continue
        number, _, part = key.strip().partition(".")
        if number.isascii() and number.isdigit():
            given.add((int(number), part_label(part) if part else ""))
    out = []
    for slot in sorted(responses):
        response = responses[slot]
        if response.get("type") != "parts":
            if (slot, "") not in given:
                out.append(Blank(slot, None))
            continue
        for n, p in enumerate(response.get("parts") or [], start=1):
            if (slot, str(n)) not in given and (slot, str(p.get("key"))) not in given:
                out.append(Blank(slot, n))
    return out
