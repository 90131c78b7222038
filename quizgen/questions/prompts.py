"""What every question kind builds its prompt and answer from: the wording in
data/templates.json, answer records (a count, a shape, a printed memory figure, parts)
and the Markdown blocks prompts are made of."""

from __future__ import annotations

from typing import Any

from ..resources import load_json
from .catalog import LANGS


def t(lang: str) -> dict[str, Any]:
    """The templates of one language."""
    return load_json("templates.json")[lang]


def count(value: int) -> dict[str, Any]:
    return {"type": "count", "value": value}


def shape(value: tuple[int | None, ...] | list[int | None]) -> dict[str, Any]:
    return {"type": "shape", "value": list(value)}


def memory(value: str) -> dict[str, Any]:
    """A memory figure as Keras's summary prints it (nn/memory.py), e.g. ``"4.82 KB"``."""
    return {"type": "memory", "value": value}


def part(key: str, answer: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    return {"key": key, **answer, "label": labels}


def labels(name: str, **values: Any) -> dict[str, str]:
    """A part's label in every language, from templates.json's "parts"."""
    return {lang: t(lang)["parts"][name].format(**values) for lang in LANGS}


def with_hint(text: str, lang: str, answer_type: str) -> str:
    return f"{text}\n{t(lang)['answer_hint'][answer_type]}"


def fenced(body: str, language: str = "") -> str:
    """A code block: prompts are Markdown, so worksheets and terminals both show them intact."""
    return f"```{language}\n{body}\n```"


def parts_prompt(head: str, body: str, parts: list[dict[str, Any]], lang: str) -> str:
    lines = [head, "", body, ""]
    lines += [f"({i}) {p['label'][lang]}" for i, p in enumerate(parts, start=1)]
    lines.append(t(lang)["answer_hint"]["parts"])
    return "\n".join(lines)


def answer_hint(lang: str, answer_type: str) -> str:
    """How an answer of ``answer_type`` is written (``답: 정수, 예: 529441 또는 529,441``),
    without the brackets a prompt's last line puts round it."""
    return _unbracketed(t(lang)["answer_hint"].get(answer_type, ""))


def _unbracketed(line: str) -> str:
    line = line.strip()
    return line[1:-1].strip() if line.startswith("(") and line.endswith(")") else line


def prompt_sections(text: str, part_labels: list[str]) -> tuple[str, str | None]:
    """(body, hint) of a stored prompt as with_hint and parts_prompt made it: the body
    without the answer hint on its last line, and without the "(1) label" lines of a
    multi-part question's parts (``part_labels``, in order: a form names each part at its
    own field instead). A prompt that does not end as they make it is all body."""
    lines = text.rstrip("\n").split("\n")
    hint = None
    last = lines[-1].strip() if lines else ""
    if len(lines) > 1 and last.startswith("(") and last.endswith(")"):
        hint = _unbracketed(last)
        lines = lines[:-1]
    listed = [f"({n}) {label}" for n, label in enumerate(part_labels, start=1)]
    if listed and [line.strip() for line in lines[-len(listed):]] == listed:
        lines = lines[:-len(listed)]
    return "\n".join(lines).rstrip(), hint
