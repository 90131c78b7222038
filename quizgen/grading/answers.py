"""Parsing what students type: exact counts and tensor shapes. Never ``eval``.

Counts accept the ways people write big integers (``529441``, ``529,441``,
``529 441``, ``529_441``, full-width digits, a non-breaking space, a trailing 개)
and nothing that could hide a different number: ``529.441`` (a decimal point or a
European thousands mark?), ``52,9441`` (misplaced grouping), ``5.3e5``, ``NaN``.
Shapes accept ``(None, 30, 100)``, ``[None, 30, 100]``, ``None, 30, 100``, ``(8, 3)``.
Memory figures are what Keras's summary prints after ``Total params``: ``4.82 KB``
(see parse_memory).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from ..errors import QuizgenError, clip

MAX_ANSWER = 32
MAX_SHAPE = 80


class AnswerError(QuizgenError):
    """An answer that is not a well-formed count or shape."""


_SPACES = dict.fromkeys(map(ord, "\u00a0\u202f\u2009\u2007\u3000"), " ")
_PLAIN = re.compile(r"[0-9]+")
_GROUPED = re.compile(r"[0-9]{1,3}(?:(?P<sep>[, _])[0-9]{3})(?:(?P=sep)[0-9]{3})*")
_COUNT_HINT = "expected a whole number such as 529441 or 529,441"


_FULL_WIDTH_DIGITS = frozenset("０１２３４５６７８９")


def _normalise(text: str) -> str:
    """Full-width digits and punctuation become ASCII (NFKC), odd spaces plain ones.

    NFKC would also turn superscripts and circled digits into digits (``10³`` into
    ``103``, ``①`` into ``1``): any numeric character other than 0-9 and full-width
    ０-９ is refused before it can change the number."""
    for ch in text:
        if unicodedata.category(ch) in ("Nd", "Nl", "No") and not ("0" <= ch <= "9" or ch in _FULL_WIDTH_DIGITS):
            raise AnswerError(f"'{ch}' ({unicodedata.name(ch, 'a numeric character').lower()}) is not a "
                              "digit quizgen reads; write numbers with the digits 0-9")
    return unicodedata.normalize("NFKC", text.translate(_SPACES)).strip()


def parse_count(text: str) -> int:
    """An exact, non-negative integer count."""
    if not isinstance(text, str):
        raise AnswerError(f"{_COUNT_HINT}, got {type(text).__name__}")
    if len(text) > MAX_ANSWER:
        raise AnswerError(f"answer is longer than {MAX_ANSWER} characters; {_COUNT_HINT}")
    value = _normalise(text)
    if value.endswith("개"):
        value = value[:-1].rstrip()
    if not value:
        raise AnswerError(f"empty answer; {_COUNT_HINT}")
    if _PLAIN.fullmatch(value) or _GROUPED.fullmatch(value):
        return int(re.sub(r"[, _]", "", value))
    if value.startswith(("-", "−")):
        raise AnswerError(f"{text.strip()!r} is negative; parameter counts and sizes are never negative")
    if re.fullmatch(r"[0-9]+\.[0-9]+", value) or re.search(r"[0-9][eE][+-]?[0-9]", value):
        raise AnswerError(f"{text.strip()!r} is not a whole number; {_COUNT_HINT} (no decimal point or exponent)")
    if re.fullmatch(r"[0-9][0-9, _]*", value):
        raise AnswerError(f"{text.strip()!r} has misplaced separators; {_COUNT_HINT} (groups of three digits)")
    raise AnswerError(f"{_shorten(text)!r} is not a number; {_COUNT_HINT}")


_SHAPE_HINT = "expected a shape such as (None, 30, 100)"
_DIM = re.compile(r"(?:none|null|[0-9]+)", re.I)


def parse_shape(text: str) -> list[int | None]:
    """A shape: dimensions (``None`` for unknown) separated by commas, brackets optional."""
    if not isinstance(text, str):
        raise AnswerError(f"{_SHAPE_HINT}, got {type(text).__name__}")
    if len(text) > MAX_SHAPE:
        raise AnswerError(f"answer is longer than {MAX_SHAPE} characters; {_SHAPE_HINT}")
    value = _normalise(text)
    if not value:
        raise AnswerError(f"empty answer; {_SHAPE_HINT}")
    if value[0] in "([":
        close = ")" if value[0] == "(" else "]"
        if value[-1] != close:
            raise AnswerError(f"{_shorten(text)!r} has unbalanced brackets; {_SHAPE_HINT}")
        value = value[1:-1].strip()
    if any(c in value for c in "()[]{}"):
        raise AnswerError(f"{_shorten(text)!r} has nested brackets; {_SHAPE_HINT}")
    items = [item.strip() for item in value.split(",")]
    if items and items[-1] == "" and len(items) > 1:
        items.pop()  # a trailing comma, as in (8,)
    if not items or any(not _DIM.fullmatch(item) for item in items):
        raise AnswerError(f"{_shorten(text)!r} is not a shape; {_SHAPE_HINT} (numbers or None, separated by commas)")
    return [None if item.lower() in ("none", "null") else int(item) for item in items]


_MEMORY_HINT = "expected the figure model.summary() prints, such as 4.82 KB"
_MEMORY = re.compile(r"\(?\s*(?P<number>[0-9][0-9, _]*(?:\.[0-9]*)?)\s*(?P<unit>[^\s0-9().,]*)\s*\)?")
_UNITS = {"b": "B", "byte": "B", "bytes": "B", "바이트": "B",
          **{u.lower(): u for u in ("KB", "MB", "GB", "TB", "PB")},
          **{f"{u[0].lower()}ib": u for u in ("KB", "MB", "GB", "TB", "PB")}}


def parse_memory(text: str) -> str:
    """A memory figure as Keras 3's summary prints it: the canonical text ``"4.82 KB"``.

    The number has at most two decimals (Keras prints two; more would need a rounding
    rule that could disagree with Keras's) and a unit: B, KB, MB, GB, TB or PB in any
    case, KiB... or bytes/바이트 for B (Keras's KB is 1,024 bytes). An exact byte count
    (``4936 B``, ``4,936 bytes``) is accepted and printed as Keras would print it
    (``4.82 KB``); parentheses around the figure, as the summary shows it, are allowed."""
    if not isinstance(text, str):
        raise AnswerError(f"{_MEMORY_HINT}, got {type(text).__name__}")
    if len(text) > MAX_ANSWER:
        raise AnswerError(f"answer is longer than {MAX_ANSWER} characters; {_MEMORY_HINT}")
    value = _normalise(text)
    if not value:
        raise AnswerError(f"empty answer; {_MEMORY_HINT}")
    if value.startswith(("-", "−")):
        raise AnswerError(f"{text.strip()!r} is negative; {_MEMORY_HINT}")
    match = _MEMORY.fullmatch(value)
    if match is None or (value.startswith("(") != value.endswith(")")):
        raise AnswerError(f"{_shorten(text)!r} is not a memory figure; {_MEMORY_HINT}")
    number, unit_text = match.group("number").strip(), match.group("unit")
    if not unit_text:
        raise AnswerError(f"{_shorten(text)!r} has no unit; {_MEMORY_HINT} (B, KB, MB or GB)")
    unit = _UNITS.get(unit_text.lower())
    if unit is None:
        raise AnswerError(f"unknown unit {_shorten(unit_text)!r}; {_MEMORY_HINT} (B, KB, MB or GB)")
    whole, point, decimals = number.partition(".")
    if re.search(r"[, _]", whole):
        if unit != "B" or point or not _GROUPED.fullmatch(whole):
            raise AnswerError(f"{_shorten(text)!r}: write the number as the summary does, with a decimal "
                              f"point and no separators; {_MEMORY_HINT}")
        whole = re.sub(r"[, _]", "", whole)
    if point and not decimals:
        raise AnswerError(f"{_shorten(text)!r} ends in a decimal point; {_MEMORY_HINT}")
    if len(decimals) > 2:
        raise AnswerError(f"{_shorten(text)!r} has more than two decimals; Keras prints two, "
                          f"e.g. 4.82 KB (round the same way)")
    if unit == "B" and not decimals.strip("0"):
        from ..nn.memory import readable_size

        return readable_size(int(whole))
    return f"{int(whole)}.{decimals.ljust(2, '0')} {unit}"


def parse_answer(kind: str, text: str) -> Any:
    """Parse by answer type: ``count``, ``shape`` or ``memory``."""
    if kind == "count":
        return parse_count(text)
    if kind == "shape":
        return parse_shape(text)
    if kind == "memory":
        return parse_memory(text)
    raise AnswerError(f"unknown answer type {kind!r}")


def format_count(value: int) -> str:
    return f"{value:,}"


def _shorten(text: str) -> str:
    return clip("".join(c if c.isprintable() else "?" for c in text.strip()), 40)
