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
