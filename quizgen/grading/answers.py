"""Parsing what students type: exact counts and tensor shapes. Never ``eval``.

Counts accept the ways people write big integers (``529441``, ``529,441``,
``529 441``, ``529_441``, full-width digits, a non-breaking space, a trailing 개)
and nothing that could hide a different number: ``529.441`` (a decimal point or a
European thousands mark?), ``52,9441`` (misplaced grouping), ``5.3e5``, ``NaN``.
Shapes accept ``(None, 30, 100)``, ``[None, 30, 100]``, ``None, 30, 100``, ``(8, 3)``.
Memory figures are what Keras's summary prints after ``Total params``: ``4.82 KB``
(see parse_memory).

Every refusal is one sentence from data/messages.json in the language asked for
(``lang``: the quiz's, where a student reads it; English by default).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import QuizgenError, clip, unstorable
from ..resources import message

MAX_ANSWER = 32
MAX_SHAPE = 80


class AnswerError(QuizgenError):
    """An answer that is not a well-formed count, shape or memory figure (the sentence is
    in the language the parser was asked for)."""


def _refused(lang: str, key: str, hint: str | None = None, **values: object) -> AnswerError:
    """The refusal ``key`` in ``lang``; ``hint``: the kind of answer (count, shape, memory)
    whose well-formed example ends the sentence."""
    if hint is not None:
        values["hint"] = message(lang, f"answer_{hint}_hint")
    return AnswerError(message(lang, key, **values))


_SPACES = dict.fromkeys(map(ord, "\u00a0\u202f\u2009\u2007\u3000"), " ")
_PLAIN = re.compile(r"[0-9]+")
_GROUPED = re.compile(r"[0-9]{1,3}(?:(?P<sep>[, _])[0-9]{3})(?:(?P=sep)[0-9]{3})*")


_FULL_WIDTH_DIGITS = frozenset("０１２３４５６７８９")


def _normalise(text: str, lang: str) -> str:
    """Full-width digits and punctuation become ASCII (NFKC), odd spaces plain ones.

    NFKC would also turn superscripts and circled digits into digits (``10³`` into
    ``103``, ``①`` into ``1``): any numeric character other than 0-9 and full-width
    ０-９ is refused before it can change the number."""
    for ch in text:
        if unicodedata.category(ch) in ("Nd", "Nl", "No") and not ("0" <= ch <= "9" or ch in _FULL_WIDTH_DIGITS):
            raise _refused(lang, "answer_not_a_digit", char=ch,
                           name=unicodedata.name(ch, "a numeric character").lower())
    return unicodedata.normalize("NFKC", text.translate(_SPACES)).strip()


def _prepared(text: str, lang: str, hint: str, limit: int) -> str:
    """The answer text normalised (see _normalise), once it is text of at most ``limit``
    characters; the refusals carry the hint of the answer type ``hint``."""
    if not isinstance(text, str):
        raise _refused(lang, "answer_wrong_type", hint, type=type(text).__name__)
    if len(text) > limit:
        raise _refused(lang, "answer_too_long", hint, limit=limit)
    if unstorable(text):
        raise _refused(lang, "answer_unstorable", hint)
    return _normalise(text, lang)


def parse_count(text: str, lang: str = "en") -> int:
    """An exact, non-negative integer count; AnswerError says why not, in ``lang``."""
    value = _prepared(text, lang, "count", MAX_ANSWER)
    if value.endswith("개"):
        value = value[:-1].rstrip()
    if not value:
        raise _refused(lang, "answer_empty", "count")
    if _PLAIN.fullmatch(value) or _GROUPED.fullmatch(value):
        return int(re.sub(r"[, _]", "", value))
    if value.startswith(("-", "−")):
        raise _refused(lang, "answer_count_negative", answer=repr(text.strip()))
    if re.fullmatch(r"[0-9]+\.[0-9]+", value) or re.search(r"[0-9][eE][+-]?[0-9]", value):
        raise _refused(lang, "answer_count_not_whole", "count", answer=repr(text.strip()))
    if re.fullmatch(r"[0-9][0-9, _]*", value):
        raise _refused(lang, "answer_count_misplaced", "count", answer=repr(text.strip()))
    raise _refused(lang, "answer_count_not_number", "count", answer=repr(_shorten(text)))


_DIM = re.compile(r"(?:none|null|[0-9]+)", re.I)


def parse_shape(text: str, lang: str = "en") -> list[int | None]:
    """A shape: dimensions (``None`` for unknown) separated by commas, brackets optional;
    AnswerError says why not, in ``lang``."""
    value = _prepared(text, lang, "shape", MAX_SHAPE)
    if not value:
        raise _refused(lang, "answer_empty", "shape")
    if value[0] in "([":
        close = ")" if value[0] == "(" else "]"
        if value[-1] != close:
            raise _refused(lang, "answer_shape_unbalanced", "shape", answer=repr(_shorten(text)))
        value = value[1:-1].strip()
    if any(c in value for c in "()[]{}"):
        raise _refused(lang, "answer_shape_nested", "shape", answer=repr(_shorten(text)))
    items = [item.strip() for item in value.split(",")]
    if items and items[-1] == "" and len(items) > 1:
        items.pop()  # a trailing comma, as in (8,)
    if not items or any(not _DIM.fullmatch(item) for item in items):
        raise _refused(lang, "answer_shape_not_shape", "shape", answer=repr(_shorten(text)))
    return [None if item.lower() in ("none", "null") else int(item) for item in items]


_MEMORY = re.compile(r"\(?\s*(?P<number>[0-9][0-9, _]*(?:\.[0-9]*)?)\s*(?P<unit>[^\s0-9().,]*)\s*\)?")
_UNITS = {"b": "B", "byte": "B", "bytes": "B", "바이트": "B",
          **{u.lower(): u for u in ("KB", "MB", "GB", "TB", "PB")},
          **{f"{u[0].lower()}ib": u for u in ("KB", "MB", "GB", "TB", "PB")}}


def parse_memory(text: str, lang: str = "en") -> str:
    """A memory figure as Keras 3's summary prints it: the canonical text ``"4.82 KB"``.

    The number has at most two decimals (Keras prints two; more would need a rounding
    rule that could disagree with Keras's) and a unit: B, KB, MB, GB, TB or PB in any
    case, KiB... or bytes/바이트 for B (Keras's KB is 1,024 bytes). An exact byte count
    (``4936 B``, ``4,936 bytes``) is accepted and printed as Keras would print it
    (``4.82 KB``); parentheses around the figure, as the summary shows it, are allowed.
    AnswerError says why not, in ``lang``."""
    value = _prepared(text, lang, "memory", MAX_ANSWER)
    if not value:
        raise _refused(lang, "answer_empty", "memory")
    if value.startswith(("-", "−")):
        raise _refused(lang, "answer_memory_negative", "memory", answer=repr(text.strip()))
    match = _MEMORY.fullmatch(value)
    if match is None or (value.startswith("(") != value.endswith(")")):
        raise _refused(lang, "answer_memory_not_figure", "memory", answer=repr(_shorten(text)))
    number, unit_text = match.group("number").strip(), match.group("unit")
    if not unit_text:
        raise _refused(lang, "answer_memory_no_unit", "memory", answer=repr(_shorten(text)))
    unit = _UNITS.get(unit_text.lower())
    if unit is None:
        raise _refused(lang, "answer_memory_unknown_unit", "memory", unit=repr(_shorten(unit_text)))
    whole, point, decimals = number.partition(".")
    if re.search(r"[, _]", whole):
        if unit != "B" or point or not _GROUPED.fullmatch(whole):
            raise _refused(lang, "answer_memory_separators", "memory", answer=repr(_shorten(text)))
        whole = re.sub(r"[, _]", "", whole)
    if point and not decimals:
        raise _refused(lang, "answer_memory_trailing_point", "memory", answer=repr(_shorten(text)))
    if len(decimals) > 2:
        raise _refused(lang, "answer_memory_decimals", answer=repr(_shorten(text)))
    if unit == "B" and not decimals.strip("0"):
        from ..nn.memory import readable_size

        return readable_size(int(whole))
    return f"{int(whole)}.{decimals.ljust(2, '0')} {unit}"


_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def parse_decimal(text: str, lang: str = "en") -> str:
    """A real number as the canonical text of two decimals (``"0.76"``, ``"-0.46"``): what an
    answer rounded to two decimals is stored as. More decimals are rounded half up, as a
    student rounding by hand does (``0.7616`` is ``0.76``); ``−`` counts as a minus sign.
    AnswerError says why not, in ``lang``."""
    from decimal import ROUND_HALF_UP, Decimal

    value = _prepared(text, lang, "decimal", MAX_ANSWER).replace("\u2212", "-")
    if not value:
        raise _refused(lang, "answer_empty", "decimal")
    if re.fullmatch(r"[+-]?[0-9]+,[0-9]+", value):
        raise _refused(lang, "answer_decimal_comma", "decimal", answer=repr(_shorten(text)))
    if not _DECIMAL.fullmatch(value):
        raise _refused(lang, "answer_decimal_not_number", "decimal", answer=repr(_shorten(text)))
    rounded = Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return decimal_text(rounded)


def decimal_text(value: Any) -> str:
    """Two decimals, and no minus sign on zero (``-0.001`` rounds to ``0.00``)."""
    text = f"{value:.2f}"
    return "0.00" if text == "-0.00" else text


def parse_answer(kind: str, text: str, lang: str = "en") -> Any:
    """Parse by answer type: ``count``, ``shape``, ``memory`` or ``decimal``; refusals in ``lang``."""
    if kind == "count":
        return parse_count(text, lang)
    if kind == "shape":
        return parse_shape(text, lang)
    if kind == "memory":
        return parse_memory(text, lang)
    if kind == "decimal":
        return parse_decimal(text, lang)
    raise _refused(lang, "answer_unknown_type", kind=repr(kind))


_PART_NUMBER = re.compile(r"[0-9]{1,9}")


def find_part(parts: Sequence[Mapping[str, Any]], label: str) -> Mapping[str, Any] | None:
    """The part of a multi-part answer form that ``label`` names: its number (from 1) or its key."""
    if _PART_NUMBER.fullmatch(label):
        n = int(label)
        return parts[n - 1] if 1 <= n <= len(parts) else None
    return next((p for p in parts if p.get("key") == label), None)


def parse_stored(response: dict[str, Any], raw: str) -> Any:
    """The value an answer stored as ``raw`` parses to, which ``submissions.parsed`` caches
    (a multi-part answer's raw text is the JSON of its parts' texts by label; the value is
    a dict by part key, in the form's order). AnswerError or ValueError when it does not
    parse: a stored text that no longer parses was not stored by quizgen."""
    if response["type"] != "parts":
        return parse_answer(response["type"], raw)
    texts = json.loads(raw)
    if not isinstance(texts, dict):
        raise ValueError("a multi-part answer is stored as a JSON object")
    values = {}
    for label, text in texts.items():
        part = find_part(response["parts"], str(label))
        if part is None or not isinstance(text, str):
            raise ValueError(f"no part {label!r}")
        values[part["key"]] = parse_answer(part["type"], text)
    return {p["key"]: values[p["key"]] for p in response["parts"] if p["key"] in values}


def format_count(value: int) -> str:
    return f"{value:,}"


def _shorten(text: str) -> str:
    return clip("".join(c if c.isprintable() else "?" for c in text.strip()), 40)
