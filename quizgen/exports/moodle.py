"""Moodle XML, written for the importer's rules (question/format/xml, qtype_multianswer).

A category question, then per question a ``name``, ``questiontext`` (HTML, CDATA),
``generalfeedback`` (the worked derivation) and ``defaultgrade`` (quizgen's points):
a numerical question (tolerance 0) for counts, a short-answer question for shapes.

Marks: Moodle takes a Cloze question's mark from its parts' weights ({N:...}, whole
numbers) and ignores ``defaultgrade`` for it. A multi-part question is therefore one
Cloze question only when its parts can carry equal whole weights that add up to its
points (2 parts of a 2-point question); otherwise each part is its own question named
``Q4.1 ...``, worth its share of the points, so every mark in Moodle equals quizgen's.

Categories: ``$course$/quizgen/<title> [quizgen N]/student <id>`` (a category per
student's variant), or with ``categories="slot"`` one per question slot holding every
student's variant of it, for Moodle's "random question from a category". GIFT (gift.py)
uses the same layout, names and categories.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree as ET

from ..nn.shapes import format_shape
from ..questions.records import KeyEntry, QuizInfo, VariantKey
from ..resources import load_json
from .naming import question_name, quiz_label, variant_group

CATEGORIES = ("student", "slot")


def shape_spellings(value: list[Any]) -> list[str]:
    """The ways a student may write a shape that a short-answer question should accept."""
    text = format_shape(tuple(value))
    compact = text.replace(" ", "")
    return list(dict.fromkeys([text, compact, "[" + text[1:-1].rstrip(",") + "]",
                               "[" + compact[1:-1].rstrip(",") + "]"]))


def memory_spellings(value: str) -> list[str]:
    """The ways a student may write a memory figure (``4.82 KB``): Moodle's short answers
    ignore case, so ``4.82 kb`` needs no entry of its own."""
    number, unit = value.split(" ")
    binary = f"{unit[0]}iB" if unit != "B" else "bytes"
    return [value, f"{number}{unit}", f"({value})", f"{number} {binary}", f"{number}{binary}"]


def answer_spellings(answer: dict[str, Any]) -> list[str]:
    """The accepted spellings of a shape, memory or decimal answer (a short-answer question)."""
    if answer["type"] == "memory":
        return memory_spellings(answer["value"])
    if answer["type"] == "decimal":
        value = answer["value"]
        return [value, value.replace("0.", ".", 1)] if value.startswith("0.") else [value]
    return shape_spellings(answer["value"])


def prompt_html(prompt: str) -> str:
    """A Markdown-ish prompt as simple HTML: fenced blocks become <pre> (lines and indentation
    kept), the rest paragraphs with line breaks."""
    parts = re.split(r"```[a-z]*\n(.*?)\n```", prompt, flags=re.S)
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(f"<pre>{html.escape(part, quote=False)}</pre>")
        else:
            out += [f"<p>{html.escape(p, quote=False).replace(chr(10), '<br/>')}</p>"
                    for p in part.strip().split("\n\n") if p.strip()]
    return "".join(out)


def category_path(*names: str) -> str:
    """A category path as Moodle's split_category_path reads it back: levels joined by '/',
    a '/' inside a name doubled, a name that starts or ends with '/' padded with a space
    (qformat_default::assemble_category_path)."""
    escaped = []
    for name in names:
        name = name.replace("/", "//")
        if name.startswith("/"):
            name = " " + name
        if name.endswith("/"):
            name += " "
        escaped.append(name)
    return "/".join(escaped)


@dataclass(frozen=True)
class Item:
    """One Moodle question: a whole quizgen question, or one part of a multi-part one."""

    name: str
    entry: KeyEntry
    part: int | None  # 1-based part asked on its own; None: the whole question
    mark: str  # Moodle's defaultgrade, 7 decimals as Moodle stores it

    @property
    def answer(self) -> dict[str, Any]:
        return self.entry.answer if self.part is None else self.entry.answer["parts"][self.part - 1]


def cloze_weight(entry: KeyEntry) -> int | None:
    """The whole weight of each part when a Cloze question can carry the points exactly, else None."""
    n = len(entry.answer["parts"])
    return entry.points // n if entry.points % n == 0 else None


def _items(variant: VariantKey, cloze: bool) -> list[Item]:
    items = []
    for e in variant.entries:
        if e.answer["type"] != "parts" or (cloze and cloze_weight(e) is not None):
            items.append(Item(question_name(e.slot, None, variant.student), e, None, f"{e.points:.7f}"))
            continue
        n = len(e.answer["parts"])
        share = round(e.points / n, 7)
        for i in range(1, n + 1):  # the last part takes the rounding, so the marks add up exactly
            mark = share if i < n else round(e.points - share * (n - 1), 7)
            items.append(Item(question_name(e.slot, i, variant.student), e, i, f"{mark:.7f}"))
    return items


def layout(info: QuizInfo, variants: list[VariantKey], categories: str = "student",
           cloze: bool = True) -> list[tuple[str, list[Item]]]:
    """(category path, its questions), in order. ``cloze=False`` (GIFT) asks every part on its own."""
    if categories not in CATEGORIES:
        raise ValueError(f"categories must be one of {CATEGORIES}, not {categories!r}")
    base = ("$course$", "quizgen", quiz_label(info))
    per_variant = [(variant, _items(variant, cloze)) for variant in variants]
    if categories == "student":
        return [(category_path(*base, variant_group(v.student)), items) for v, items in per_variant]
    slots: dict[str, list[Item]] = {}
    for _, items in per_variant:
        for item in items:
            slots.setdefault(item.name.split(" · ", 1)[0], []).append(item)
    return [(category_path(*base, slot), items) for slot, items in slots.items()]


def part_prompt(item: Item, lang: str) -> str:
    """The prompt of one part asked on its own: the shared head, the part, its answer format."""
    head = re.split(r"\n\n\(1\) ", item.entry.prompt, maxsplit=1)[0]
    part = item.answer
    hint = load_json("templates.json")[lang]["answer_hint"][part["type"]]
    return f"{head}\n\n({item.part}) {part['label'][lang]}\n{hint}"


def item_prompt(item: Item, lang: str) -> str:
    return item.entry.prompt if item.part is None else part_prompt(item, lang)


def _text(parent: ET.Element, tag: str, value: str, **attrib: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrib)
    ET.SubElement(el, "text").text = value
    return el


def _cloze_escape(text: str) -> str:
    """An answer inside a Cloze field: Moodle unescapes only \\} and \\#."""
    return re.sub(r"([}#])", r"\\\1", text)


def _no_fields(html_text: str) -> str:
    """Text around Cloze fields, with braces as entities so nothing in it reads as a field."""
    return html_text.replace("{", "&#123;").replace("}", "&#125;")


def moodle_xml(info: QuizInfo, variants: list[VariantKey], categories: str = "student") -> str:
    quiz = ET.Element("quiz")
    for path, items in layout(info, variants, categories, cloze=True):
        category = ET.SubElement(quiz, "question", type="category")
        _text(category, "category", path)
        for item in items:
            answer = item.answer
            if answer["type"] == "count":
                q = ET.SubElement(quiz, "question", type="numerical")
                _common(q, item, prompt_html(item_prompt(item, info.language)))
                a = _text(q, "answer", str(answer["value"]), fraction="100", format="moodle_auto_format")
                ET.SubElement(a, "tolerance").text = "0"
                _text(a, "feedback", "", format="html")
                units = ET.SubElement(q, "units")
                units.text = None
                ET.SubElement(q, "unitgradingtype").text = "0"
                ET.SubElement(q, "unitpenalty").text = "0.1000000"
                ET.SubElement(q, "showunits").text = "3"
                ET.SubElement(q, "unitsleft").text = "0"
            elif answer["type"] in ("shape", "memory", "decimal"):
                q = ET.SubElement(quiz, "question", type="shortanswer")
                _common(q, item, prompt_html(item_prompt(item, info.language)))
                ET.SubElement(q, "usecase").text = "0"
                for spelling in answer_spellings(answer):
                    a = _text(q, "answer", spelling, fraction="100", format="moodle_auto_format")
                    _text(a, "feedback", "", format="html")
            else:
                q = ET.SubElement(quiz, "question", type="cloze")
                weight = cloze_weight(item.entry)
                fields = []
                for i, part in enumerate(answer["parts"], start=1):
                    label = _no_fields(html.escape(part["label"][info.language], quote=False))
                    if part["type"] == "count":
                        field = f"{{{weight}:NUMERICAL:={part['value']}:0}}"
                    else:
                        alts = "~".join(f"={_cloze_escape(s)}" for s in answer_spellings(part))
                        field = f"{{{weight}:SHORTANSWER:{alts}}}"
                    fields.append(f"<p>({i}) {label}: {field}</p>")
                head = re.split(r"\n\n\(1\) ", item.entry.prompt, maxsplit=1)[0]
                _common(q, item, _no_fields(prompt_html(head)) + "".join(fields))
    ET.indent(quiz)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(quiz, encoding="unicode") + "\n"


def _common(q: ET.Element, item: Item, body: str) -> None:
    _text(q, "name", item.name)
    _text(q, "questiontext", body, format="html")
    _text(q, "generalfeedback", f"<pre>{html.escape(item.entry.derivation, quote=False)}</pre>", format="html")
    ET.SubElement(q, "defaultgrade").text = item.mark  # a Cloze's mark comes from its weights, which equal it
    ET.SubElement(q, "penalty").text = "0.3333333"
    ET.SubElement(q, "hidden").text = "0"
