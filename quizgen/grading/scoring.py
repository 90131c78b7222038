"""Scoring one answer against its stored grading key: plain data in, plain data out.

Kept apart from the database code: it imports only ``json``, and the rules of
scoring can be read and tested on plain values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

Row = tuple[int, Any, int, str, Any]  # submission id, parsed, points, expected text, slips


Graded = tuple[float, bool, Any, str]  # score, correct, misconception, details as JSON text


_raw_decode = json.JSONDecoder().raw_decode


def _loads(value: Any) -> Any:
    """JSON read for grading is text (cast so); a caller may also pass decoded values.

    Stored JSON has no surrounding whitespace, so the decoder is called directly,
    without json.loads's checks and whitespace scans: a sixth of scoring time."""
    if not isinstance(value, str):
        return value
    try:
        decoded, end = _raw_decode(value)
        if end == len(value):
            return decoded
    except json.JSONDecodeError:
        pass
    return json.loads(value)  # whitespace around it, or the error to raise


_dumps = json.dumps  # misconceptions.value_text of a value decoded from JSON (no tuples in it)

# In a grading key's slip table, the mark of a value the instructor accepted as right
# (``quizgen quiz accept``) instead of a slip's name; never a slip key. Looked up only for
# answers that differ from the expected one, so right answers cost nothing more.
ACCEPTED = "=accepted"
# In a part's slip table, the parts whose values a right follow-through adds up to (a quiz with
# ``--carry-forward``); never a value's text, which is JSON.
CARRY = "=carry"


def grade_answer(parsed: Any, expected: str, slips: Any, points: int) -> Graded:
    """Score one submitted answer against a stored grading key (misconceptions.grading_key),
    naming the known slip that explains a wrong value. A value the slip table marks
    ACCEPTED is right.

    ``parsed`` and ``slips`` may be JSON text: most answers are right, and a right
    single answer is stored as exactly the expected text, so it is graded without
    decoding anything. Any other text is decoded and compared by value."""
    if parsed == expected and expected[:1] != "{":
        return float(points), True, None, "{}"
    right = _loads(expected)
    value = right if parsed == expected else _loads(parsed)  # a multi-part answer all right
    # Values decoded from JSON compare equal exactly when their canonical forms do.
    if not isinstance(right, dict):
        if value == right:
            return float(points), True, None, "{}"
        table = _loads(slips).get("") if slips else None
        slip = table.get(_dumps(value)) if table else None
        if slip == ACCEPTED:
            return float(points), True, None, "{}"
        return 0.0, False, slip or rule_slip(right, value), "{}"
    given = value if isinstance(value, dict) else {}
    tables = None
    results = []
    right_count = 0
    first_slip = None
    for key, right_value in right.items():
        v = given.get(key)
        if v is None:
            results.append(_part_json(key, _UNANSWERED))
        elif v == right_value:
            right_count += 1
            results.append(_part_json(key, _RIGHT))
        else:
            if tables is None:
                tables = _loads(slips) or {}
            table = tables.get(key, {})
            slip = table.get(_dumps(v)) or rule_slip(right_value, v)
            if slip == ACCEPTED:
                right_count += 1
                results.append(_part_json(key, _RIGHT))
                continue
            if CARRY in table and carried(table[CARRY], given, v, right):
                right_count += 1
                results.append(_part_json(key, _CARRIED))
                continue
            first_slip = first_slip or slip
            results.append(_part_json(key, slip or _WRONG))
    score = points * right_count / len(right)  # stored exactly; shown rounded (grading.slip_messages.shown_score)
    return score, right_count == len(right), first_slip, '{"parts": {' + ", ".join(results) + "}}"


BATCH_NUMBER_FOR_OPEN = "batch_number_for_open"


def rule_slip(right: Any, value: Any) -> str | None:
    """A slip no single wrong value stands for, named by a rule: any number written for a
    batch axis that is None (the shape otherwise right). The value-by-value slips are in the
    grading key (grading.misconceptions); this one would need a value for every number."""
    if (isinstance(right, list) and isinstance(value, list) and len(right) == len(value) > 1
            and right[0] is None and type(value[0]) is int and value[1:] == right[1:]):
        return BATCH_NUMBER_FOR_OPEN
    return None


def carried(keys: list[str], given: dict[str, Any], value: Any, right: dict[str, Any]) -> bool:
    """Follow-through: a total that is the sum of the student's own answers to ``keys`` (every
    one given, a count), when those answers are not all right (else the total is simply
    wrong), earns its part."""
    own: list[Any] = [given.get(k) for k in keys]
    if not all(type(x) is int for x in own) or type(value) is not int:
        return False
    return sum(own) == value and any(x != right.get(k) for x, k in zip(own, keys))


# A part's result in a grade's details: one of five forms, the last once per slip.
_UNANSWERED, _RIGHT, _WRONG, _CARRIED = "", "+", "-", "~"
_PART_RESULTS = {_UNANSWERED: {"correct": False, "answered": False}, _RIGHT: {"correct": True},
                 _WRONG: {"correct": False}, _CARRIED: {"correct": True, "carried_forward": True}}
_PART_JSON: dict[tuple[str, str], str] = {}


def _part_json(key: str, state: str) -> str:
    """'"key": {...}' exactly as json.dumps writes it inside the details, made once per
    (part, result): dumping every student's details was a fifth of grading."""
    text = _PART_JSON.get((key, state))
    if text is None:
        result: dict[str, Any] = _PART_RESULTS.get(state) or {"correct": False, "misconception": state}
        text = _PART_JSON[(key, state)] = json.dumps({key: result})[1:-1]
    return text


def compute_grades(rows: Iterable[Row]) -> list[tuple[Any, ...]]:
    """(submission id, score, max score, correct, misconception, details text) for each row."""
    out: list[tuple[Any, ...]] = []
    append = out.append
    for sid, parsed, points, expected, slips in rows:
        if parsed == expected and expected[:1] != "{":  # grade_answer's first line, inlined: most rows
            append((sid, float(points), float(points), True, None, "{}"))
        else:
            score, ok, slip, details = grade_answer(parsed, expected, slips, points)
            append((sid, score, float(points), ok, slip, details))
    return out


COUNTING_POLICIES = ("last", "best")


def counts_over(candidate_score: float, candidate_attempt: int, current_score: float, current_attempt: int,
                counting: str) -> bool:
    """Whether a graded answer replaces another as the one that counts for the student:
    the later attempt, or under ``best`` the higher score (the later attempt on a tie)."""
    if counting == "best" and candidate_score != current_score:
        return candidate_score > current_score
    return candidate_attempt > current_attempt
