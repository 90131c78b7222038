"""Reading specs from files: ``.json`` (one spec or a list), ``.jsonl``, stdin, or Keras code."""

from __future__ import annotations

import json
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


def read_text(path: str, stdin_text: str | None = None) -> str:
    if path == "-":
        return stdin_text or ""
    return read_text_file(path)


def read_specs(path: str, stdin_text: str | None = None) -> list[SpecInput]:
    """The specs in a file; a bad line of a .jsonl file becomes an error entry, not an abort."""
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


def _jsonl(text: str) -> list[SpecInput]:
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        label = f"line {n}"
        try:
            out.append(SpecInput(label, decode_json(line)))
        except QuizgenError as exc:
            out.append(SpecInput(label, error=str(exc)))
    return out


def read_code(path: str, stdin_text: str | None = None) -> list[SpecInput]:
    from .codeparse import models_from_code

    text = read_text(path, stdin_text)
    return [SpecInput(f"model at {m.location}", m.spec) for m in models_from_code(text, path)]
