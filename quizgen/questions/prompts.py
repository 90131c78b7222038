"""What every question kind builds its prompt and answer from: the wording in
data/templates.json, answer records (a count, a shape, a printed memory figure, a decimal,
parts), the Markdown blocks prompts are made of, and the conventions a question states.

A question states every convention that decides its answer, where it decides it: a GRU
counted as Keras 3 builds it (``reset_after=True``), a Bidirectional layer's units per
direction, whether a shape is written with its batch axis (and that a fixed batch size
stays in it), a memory figure's unit and rounding. ``finish`` is the last step of every
Korean text: the particle after each number is chosen by how the number is read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..korean import ordinal, particles
from ..resources import load_json
from .catalog import LANGS
from .render import listing


def t(lang: str) -> dict[str, Any]:
    """The templates of one language."""
    return load_json("templates.json")[lang]


def finish(text: str, lang: str) -> str:
    """A text as students read it: in Korean, each ``이(가)``-style particle chosen by the
    word before it (korean.particles)."""
    return particles(text) if lang == "ko" else text


def nth(index: int, lang: str) -> str:
    """A layer's place as the language writes it: ``두 번째`` / ``2``."""
    return ordinal(index) if lang == "ko" else str(index)


def count(value: int) -> dict[str, Any]:
    return {"type": "count", "value": value}


def shape(value: tuple[int | None, ...] | list[int | None]) -> dict[str, Any]:
    return {"type": "shape", "value": list(value)}


def memory(value: str) -> dict[str, Any]:
    """A memory figure as Keras's summary prints it (nn/memory.py), e.g. ``"4.82 KB"``."""
    return {"type": "memory", "value": value}


def decimal(value: str) -> dict[str, Any]:
    """A real number to two decimals, as text (``"0.76"``, ``"-0.46"``): grading/answers.parse_decimal
    reads what a student writes into the same text."""
    return {"type": "decimal", "value": value}


def part(key: str, answer: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    return {"key": key, **answer, "label": labels}


def labels(name: str, **values: Any) -> dict[str, str]:
    """A part's label in every language, from templates.json's "parts"; ``index`` also gives
    ``nth`` (``두 번째``) to the Korean label."""
    out = {}
    for lang in LANGS:
        extra = {"nth": nth(values["index"], lang)} if "index" in values else {}
        out[lang] = finish(t(lang)["parts"][name].format(**values, **extra), lang)
    return out


# ---------------------------------------------------------------- conventions

def _layers(spec: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for layer in spec.get("layers", ()):
        while isinstance(layer, dict):
            yield layer
            layer = layer.get("layer")


def batch_of(spec: dict[str, Any]) -> int | None:
    """The fixed batch size a spec's input gives (``batch_shape``), or None when it is open."""
    inputs = spec["inputs"] if "inputs" in spec else [spec.get("input", {})]
    for entry in inputs:
        if "batch_shape" in entry:
            return entry["batch_shape"][0]
    return None


def conventions(specs: Iterable[dict[str, Any]], lang: str, stated: Iterable[str] = (),
                counts: bool = True) -> list[str]:
    """The conventions the models in ``specs`` need stated, as sentences (the ones already
    stated in the question, by key, left out): a Bidirectional layer's units, and, when the
    question asks a count (``counts``), how a GRU is counted."""
    words = t(lang)["conventions"]
    found: list[str] = []
    for spec in specs:
        for layer in _layers(spec):
            if layer["type"] == "GRU" and counts:
                found.append("gru" if layer.get("reset_after", True) else "gru_textbook")
            elif layer["type"] == "Bidirectional":
                found.append("bidirectional")
    skip = set(stated)
    return [words[k] for k in dict.fromkeys(found) if k not in skip]


def shape_hint(lang: str, spec: dict[str, Any] | None) -> str:
    """How to write a tensor's shape: from the batch axis, None when the batch size is open;
    a fixed batch size's example shows a number, never None."""
    hints = t(lang)["answer_hint"]
    batch = batch_of(spec) if spec is not None else None
    if batch is None:
        return hints["shape"]
    return hints["shape_fixed"].format(example=4 if batch != 4 else 16)


def hint(lang: str, answer_type: str, spec: dict[str, Any] | None = None) -> str:
    if answer_type == "shape":
        return shape_hint(lang, spec)
    return t(lang)["answer_hint"][answer_type]


def with_hint(text: str, lang: str, answer_type: str, spec: dict[str, Any] | None = None,
              notes: Iterable[str] = ()) -> str:
    """The prompt: its text, the conventions it needs (``notes``), then how to write the answer."""
    lines = [text, *notes, hint(lang, answer_type, spec)]
    return finish("\n".join(lines), lang)


def listing_block(spec: dict[str, Any], lang: str) -> str:
    """A Sequential spec as the numbered listing questions refer to ("layer 2"), fenced."""
    return fenced(listing(spec, t(lang)["input_label"]))


def fenced(body: str, language: str = "") -> str:
    """A code block: prompts are Markdown, so worksheets and terminals both show them intact."""
    return f"```{language}\n{body}\n```"


def parts_prompt(head: str, body: str, parts: list[dict[str, Any]], lang: str, spec: dict[str, Any] | None = None,
                 notes: Iterable[str] = (), arrays: bool = False) -> str:
    """A multi-part question: text, code or listing, the conventions, the numbered parts, and
    how to write each type of answer it asks (``arrays``: shapes of arrays, no batch axis)."""
    lines = [head, "", body, ""]
    lines += [f"({i}) {p['label'][lang]}" for i, p in enumerate(parts, start=1)]
    lines += list(notes)
    hints = t(lang)["answer_hint"]
    lines.append(hints["parts"])
    types = {p["type"] for p in parts}
    if "shape" in types:
        lines.append(hints["array"] if arrays else shape_hint(lang, spec))
    for other in ("memory", "decimal"):
        if other in types:
            lines.append(hints[other])
    return finish("\n".join(lines), lang)


def answer_hint(lang: str, answer_type: str) -> str:
    """How an answer of ``answer_type`` is written (``답: 정수, 예: 529441 또는 529,441``),
    without the brackets a prompt's last line puts round it."""
    return _unbracketed(t(lang)["answer_hint"].get(answer_type, ""))


def _unbracketed(line: str) -> str:
    line = line.strip()
    return line[1:-1].strip() if line.startswith("(") and line.endswith(")") else line


def _is_hint(line: str) -> bool:
    line = line.strip()
    return line.startswith("(") and line.endswith(")")


def prompt_sections(text: str, part_labels: list[str]) -> tuple[str, list[str]]:
    """(body, hints) of a stored prompt as with_hint and parts_prompt made it: the body
    without the answer hints on its last lines (how to write each type of answer, in
    brackets) and without the "(1) label" lines of a multi-part question's parts
    (``part_labels``, in order: a form names each part at its own field instead); the
    conventions the question states stay in the body. A prompt that does not end as they
    make it is all body."""
    lines = text.rstrip("\n").split("\n")
    hints: list[str] = []
    while len(lines) > 1 and _is_hint(lines[-1]):
        hints.insert(0, _unbracketed(lines.pop()))
    listed = {f"({n}) {label}" for n, label in enumerate(part_labels, start=1)}
    if listed:
        lines = [line for line in lines if line.strip() not in listed]
    return "\n".join(lines).rstrip(), hints


def field_hint(hints: list[str], answer_type: str, lang: str) -> str:
    """How to write one answer (a question's, or one part's): the question's own hint for
    its type where the prompt gives one (a fixed batch's example has no None), else the
    general one."""
    templates = t(lang)["answer_hint"]
    if answer_type == "shape":
        heads = [_unbracketed(templates[k]).split("{")[0][:12] for k in ("shape", "shape_fixed")]
        own = next((h for h in hints if any(h.startswith(head) for head in heads)), None)
        if own is not None:
            return own
    return answer_hint(lang, answer_type)
