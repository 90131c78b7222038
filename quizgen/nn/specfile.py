"""Reading specs from files: ``.json`` (one spec or a list), ``.jsonl``, stdin, or Keras code."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import InputFileError, QuizgenError, SpecError
from ..files import read_text_file
from .spec import decode_json


@dataclass(frozen=True)
class SpecInput:
    """One spec to solve, or the reason it could not even be read."""

    label: str
    raw: Any = None
    error: str | None = None
    note: str | None = None  # said beside the answer (a model read from Keras 2 code, say)


# A .jsonl file holds one spec a line: 20,000 textbook graph specs take 13 MB, past the
# 10 MB that bounds every other file quizgen reads (stdin keeps that bound).
JSONL_MAX_BYTES = 100_000_000


def read_text(path: str, stdin_text: str | None = None) -> str:
    if path == "-":
        return stdin_text or ""
    return read_text_file(path, max_bytes=JSONL_MAX_BYTES if path.endswith(".jsonl") else None)


def read_specs(path: str, stdin_text: str | None = None) -> Sequence[SpecInput] | JsonLines:
    """The specs in a file; a bad line of a .jsonl file becomes an error entry, not an abort
    (decoded as it is reached: see JsonLines)."""
    text = read_text(path, stdin_text)
    if not text.strip():
        raise InputFileError(f"{'stdin' if path == '-' else path} is empty: expected a JSON spec")
    if path.endswith(".jsonl") or (path == "-" and _looks_like_lines(text)):
        return _jsonl(text)
    try:
        obj = decode_json(text)
    except SpecError as exc:
        raise InputFileError(f"{'stdin' if path == '-' else path}: {exc.message}") from None
    if isinstance(obj, list):
        return [SpecInput(f"spec {i}", raw) for i, raw in enumerate(obj, start=1)]
    return [SpecInput("spec", obj)]


def _looks_like_lines(text: str) -> bool:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) < 2:
        return False
    try:
        json.loads(text)
        return False
    except json.JSONDecodeError:
        return True
    except (RecursionError, ValueError):  # too deep or too long a number: report the whole text
        return False


_raw_decode = json.JSONDecoder().raw_decode


class JsonLines:
    """The specs of a .jsonl text, each line decoded when it is reached: a spec is solved while
    its objects are fresh in memory, and the ones solved are let go (20,000 decoded specs held
    at once were 200 MB, and walking them again cost more than decoding them). ``len`` is the
    number of non-empty lines, known before any is decoded."""

    def __init__(self, text: str) -> None:
        self._lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]

    def __len__(self) -> int:
        return len(self._lines)

    def __iter__(self) -> Iterator[SpecInput]:
        for n, line in self._lines:
            yield _decode_line(n, line)

    def __getitem__(self, index: int) -> SpecInput:
        return _decode_line(*self._lines[index])


def _decode_line(n: int, line: str) -> SpecInput:
    label = f"line {n}"
    try:  # the common line, one JSON value and nothing around it, without json.loads's checks
        value, end = _raw_decode(line)
        if end == len(line):
            return SpecInput(label, value)
    except (ValueError, RecursionError):
        pass
    try:  # anything else: decode_json says what is wrong, as it always has
        return SpecInput(label, decode_json(line))
    except QuizgenError as exc:
        return SpecInput(label, error=str(exc))


def _jsonl(text: str) -> JsonLines:
    return JsonLines(text)


def read_code(path: str, stdin_text: str | None = None) -> list[SpecInput]:
    from .code import models_from_code

    text = read_text(path, stdin_text)
    return [SpecInput(f"model at {m.location}", m.spec, m.error, m.note) for m in models_from_code(text, path)]
