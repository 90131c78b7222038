"""Moodle XML, following the importer's format (question/format/xml).

A category question, then per question a ``name``, ``questiontext`` (HTML, CDATA),
and either a numerical question (answer with ``tolerance`` 0), a short-answer
question for shapes, or a Cloze (``multianswer``) question for multi-part ones.
Every student's variant is its own set of questions in a sub-category, so a course
can draw each student's own version.
"""

from __future__ import annotations

import html
import re
from typing import Any
from xml.etree import ElementTree as ET

from ..nn.shapes import format_shape
from ..questions.records import QuizInfo, VariantKey


def shape_spellings(value: list[Any]) -> list[str]:
    """The ways a student may write a shape that a short-answer question should accept."""
    text = format_shape(tuple(value))
    compact = text.replace(" ", "")
    return list(dict.fromkeys([text, compact, "[" + text[1:-1].rstrip(",") + "]",
                               "[" + compact[1:-1].rstrip(",") + "]"]))



def _prompt_html(prompt: str) -> str:
    """Markdown-ish prompt to simple HTML: fenced blocks become <pre>, the rest paragraphs."""
    parts = re.split(r"```[a-z]*\n(.*?)\n```", prompt, flags=re.S)
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(f"<pre>{html.escape(part)}</pre>")
        else:
            out += [f"<p>{html.escape(p).replace(chr(10), '<br/>')}</p>" for p in part.strip().split("\n\n") if p.strip()]
    return "".join(out)


def _text(parent: ET.Element, tag: str, value: str, **attrib: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrib)
    ET.SubElement(el, "text").text = value
    return el


def _cloze_escape(text: str) -> str:
    return re.sub(r"([}#~/\"\\])", r"\\\1", text)


def moodle_xml(info: QuizInfo, variants: list[VariantKey]) -> str:
    quiz = ET.Element("quiz")
    base = f"$course$/quizgen/{info.title} (#{info.id})"
    for variant in variants:
        category = ET.SubElement(quiz, "question", type="category")
        sub = "shared" if variant.student is None else f"student {variant.student}"
        _text(category, "category", f"{base}/{sub}")
        for e in variant.entries:
            name = f"Q{e.slot} · {variant.student or 'shared'}"
            answer = e.answer
            if answer["type"] == "count":
                q = ET.SubElement(quiz, "question", type="numerical")
                _common(q, name, _prompt_html(e.prompt), e)
                a = _text(q, "answer", str(answer["value"]), fraction="100", format="moodle_auto_format")
                ET.SubElement(a, "tolerance").text = "0"
                _text(a, "feedback", "", format="html")
                units = ET.SubElement(q, "units")
                units.text = None
                ET.SubElement(q, "unitgradingtype").text = "0"
                ET.SubElement(q, "unitpenalty").text = "0.1000000"
                ET.SubElement(q, "showunits").text = "3"
                ET.SubElement(q, "unitsleft").text = "0"
            elif answer["type"] == "shape":
                q = ET.SubElement(quiz, "question", type="shortanswer")
                _common(q, name, _prompt_html(e.prompt), e)
                ET.SubElement(q, "usecase").text = "0"
                for spelling in shape_spellings(answer["value"]):
                    a = _text(q, "answer", spelling, fraction="100", format="moodle_auto_format")
                    _text(a, "feedback", "", format="html")
            else:
                q = ET.SubElement(quiz, "question", type="cloze")
                fields = []
                for i, part in enumerate(answer["parts"], start=1):
                    label = html.escape(part["label"][info.language])
                    if part["type"] == "count":
                        field = f"{{1:NUMERICAL:={part['value']}:0}}"
                    else:
                        alts = "~".join(f"={_cloze_escape(s)}" for s in shape_spellings(part["value"]))
                        field = f"{{1:SHORTANSWER:{alts}}}"
                    fields.append(f"<p>({i}) {label}: {field}</p>")
                body = _prompt_html(e.prompt.rsplit("\n\n(1)", 1)[0]) + "".join(fields)
                _common(q, name, body, e, cloze=True)
    ET.indent(quiz)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(quiz, encoding="unicode") + "\n"


def _common(q: ET.Element, name: str, body: str, e: Any, cloze: bool = False) -> None:
    _text(q, "name", name)
    _text(q, "questiontext", body, format="html")
    _text(q, "generalfeedback", f"<pre>{html.escape(e.derivation)}</pre>", format="html")
    if not cloze:
        ET.SubElement(q, "defaultgrade").text = f"{e.points:.7f}"
    ET.SubElement(q, "penalty").text = "0.3333333"
    ET.SubElement(q, "hidden").text = "0"
