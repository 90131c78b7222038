"""Answer sheets students hand in: ``--answer N=VALUE`` pairs, ``answers.json`` or ``answers.csv``,
and which questions a sheet leaves blank.

Only the sheet's shape is checked here (one answer per key, text or whole numbers);
what the keys and values mean is checked against the quiz by submissions.parse_submission,
which reads keys (``3``, ``3.1``, ``03.01``, ``4.L1.shape``) as ``answer_position`` and
``find_part`` do. ``blank_answers`` is the one rule for "what did the student leave
blank", for every front end that asks before an attempt is spent (``submit``, local and
``--server``, and the students' page). Nothing here touches the database, so the
student's HTTP client uses it too.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InputFileError, QuizgenError, clip
from ..files import DuplicateKey, MalformedJSON, decode_json, read_file_bytes, unique_keys
from ..grading.answers import AnswerError, find_part
from ..receipts import part_label
from ..resources import phrase

MAX_FILE_BYTES = 1_000_000
QUESTION_NUMBER = re.compile(r"[0-9]{1,9}")  # question and part numbers: plain ASCII integers


def answer_position(key: str) -> tuple[int, str] | None:
    """(question number, part label) an answer's key names: ``3`` → (3, ""), ``3.01`` →
    (3, "1"), ``4.L1.shape`` → (4, "L1.shape"); None when it names no question."""
    number, dot, part = key.strip().partition(".")
    if not QUESTION_NUMBER.fullmatch(number) or (dot and not part):
        return None
    return int(number), part_label(part)


class BlankAnswers(QuizgenError):
    """Questions left blank that the student did not agree to send (nothing was sent)."""


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


@dataclass(frozen=True)
class Blanks:
    """Every question and part a sheet leaves blank, in the quiz's order (``missing``), and
    how a student names them (``items``: ``2``, ``4.3``; a question none of whose parts is
    answered is named whole)."""

    missing: tuple[Blank, ...]
    whole: frozenset[int] = frozenset()  # multi-part questions with no part answered

    def __bool__(self) -> bool:
        return bool(self.missing)

    @property
    def items(self) -> tuple[str, ...]:
        out: list[str] = []
        for b in self.missing:
            if b.slot in self.whole:
                if str(b.slot) not in out:
                    out.append(str(b.slot))
            else:
                out.append(b.key)
        return tuple(out)

    def text(self) -> str:
        """``2, 4.3, 4.5``: as a student names them in ``--answer``."""
        return ", ".join(self.items)


@dataclass(frozen=True)
class BlankPolicy:
    """How a front end answers "send it with these questions blank?": yes up front
    (``--allow-blank``), else ``ask`` (a question on a terminal, a confirmation page;
    None: no one to ask, so no)."""

    allowed: bool
    ask: Callable[[Blanks, str], bool] | None = None

    def accepts(self, blanks: Blanks, lang: str) -> bool:
        """Whether to send answers that leave ``blanks`` (asked in the quiz's language ``lang``)."""
        return not blanks or self.allowed or (self.ask is not None and self.ask(blanks, lang))


def blank_answers(forms: Mapping[int, Mapping[str, Any]], answers: Mapping[str, str]) -> Blanks:
    """What ``answers`` leaves blank of a quiz whose questions have these answer forms
    (slot → the ``response`` a student sees: ``{"type": "count"}``, or ``{"type":
    "parts", "parts": [{"key": ...}, ...]}``). An answer of only spaces is blank; a key
    that names no question or part of this quiz answers nothing (the parser refuses it).
    The one rule for every front end that asks before an attempt is spent."""
    given: dict[int, set[str]] = {}
    for key, value in answers.items():
        position = answer_position(str(key))
        if position is None or position[0] not in forms or not str(value).strip():
            continue
        given.setdefault(position[0], set()).add(position[1])
    missing: list[Blank] = []
    whole: set[int] = set()
    for slot in sorted(forms):
        labels = given.get(slot, set())
        form = forms[slot]
        if form.get("type") != "parts":
            if not labels:
                missing.append(Blank(slot, None))
            continue
        parts = list(form.get("parts") or [])
        answered = {id(found) for label in labels if label and (found := find_part(parts, label)) is not None}
        blank = [n for n, part in enumerate(parts, start=1) if id(part) not in answered]
        if parts and len(blank) == len(parts):
            whole.add(slot)
        missing += [Blank(slot, n) for n in blank]
    return Blanks(tuple(missing), frozenset(whole))


def parse_answer_args(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``1=529,441`` / ``3.2=(None, 30, 100)`` pairs from the command line."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise AnswerError(phrase("sheet_pair", pair=repr(pair[:40])))
        if key in out:
            raise AnswerError(phrase("sheet_twice", key=clip(key, 20)))
        out[key] = value
    return out


def read_answers_file(path: str) -> dict[str, str]:
    """Answers from ``answers.json`` ({"1": "529441", ...}) or ``answers.csv`` (question,answer)."""
    if not os.path.lexists(path) and path != "-":
        raise InputFileError(phrase("sheet_no_file", path=clip(path, 120)))
    try:
        text = read_file_bytes(path, "answers file", MAX_FILE_BYTES).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputFileError(phrase("sheet_not_utf8", path=clip(path, 120))) from None
    if path.lower().endswith(".csv"):
        return _answers_from_csv(text, path)
    return _answers_from_json(text, path)


def _decode(text: str, path: str, object_pairs_hook: Any = None) -> Any:
    try:
        return decode_json(text, object_pairs_hook)
    except DuplicateKey as exc:
        raise InputFileError(phrase("sheet_duplicate_key", key=repr(clip(str(exc.key), 20)))) from None
    except MalformedJSON as exc:
        at = re.search(r" at line (\d+), column (\d+)$", str(exc))
        if at is not None:  # a syntax error: where it is says it in any language
            raise InputFileError(phrase("sheet_malformed_at", path=clip(path, 120), line=at[1], column=at[2])) \
                from None
        raise InputFileError(phrase("sheet_malformed", path=clip(path, 120), why=clip(str(exc), 100))) from None


def _answers_from_json(text: str, path: str) -> dict[str, str]:
    data = _decode(text, path, unique_keys)
    if isinstance(data, dict) and isinstance(data.get("answers"), (dict, list)):
        data = data["answers"]
    if isinstance(data, list):
        pairs = {}
        for item in data:
            if not isinstance(item, dict) or "question" not in item or "answer" not in item:
                raise InputFileError(phrase("sheet_list_items", path=clip(path, 120)))
            key = str(item["question"])
            if key in pairs:
                raise InputFileError(phrase("sheet_twice_in", path=clip(path, 120), key=clip(key, 20)))
            pairs[key] = item["answer"]
        data = pairs
    if not isinstance(data, dict):
        raise InputFileError(phrase("sheet_object", path=clip(path, 120)))
    out = {}
    for key, value in data.items():
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise InputFileError(phrase("sheet_value", path=clip(path, 120), key=clip(str(key), 20)))
        out[str(key)] = str(value)
    return out


def _answers_from_csv(text: str, path: str) -> dict[str, str]:
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InputFileError(phrase("sheet_csv_unreadable", path=clip(path, 120), why=clip(str(exc), 100))) from None
    if not rows or [c.strip().lower() for c in rows[0]][:2] != ["question", "answer"]:
        raise InputFileError(phrase("sheet_csv_header", path=clip(path, 120)))
    out: dict[str, str] = {}
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != 2:
            raise InputFileError(phrase("sheet_csv_cells", path=clip(path, 120), line=n, found=len(row)))
        key = row[0].strip()
        if key in out:
            raise InputFileError(phrase("sheet_csv_twice", path=clip(path, 120), line=n, key=clip(key, 20)))
        out[key] = row[1]
    return out
