"""Quiz exports: Markdown worksheet and key, JSON, Moodle XML, GIFT.

Moodle XML follows the importer's format (question/format/xml): a category
question, then per question a ``name``, ``questiontext`` (HTML, CDATA), and
either a numerical question (answer with ``tolerance`` 0), a short-answer
question for shapes, or a Cloze (``multianswer``) question for multi-part ones.
Every student's variant is its own set of questions in a sub-category, so a
course can draw each student's own version.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any
from xml.etree import ElementTree as ET

from .quizzes import QuizInfo, VariantKey, format_answer
from .solver import format_shape

_LABELS = {
    "ko": {"worksheet": "문제지", "key": "정답과 풀이", "name": "이름", "student": "학생", "shared": "공통",
           "points": "점", "answer": "정답", "question": "문제"},
    "en": {"worksheet": "Worksheet", "key": "Answer key", "name": "Name", "student": "Student", "shared": "shared",
           "points": "pt", "answer": "Answer", "question": "Question"},
}


def _who(variant: VariantKey, lang: str) -> str:
    if variant.student is None:
        return _LABELS[lang]["shared"]
    return f"{variant.student_name} ({variant.student})" if variant.student_name else variant.student


def markdown_worksheet(info: QuizInfo, variants: list[VariantKey]) -> str:
    """A printable worksheet: questions only, one section (page) per variant."""
    lab = _LABELS[info.language]
    out = []
    for n, variant in enumerate(variants):
        if n:
            out.append("\n<div style=\"page-break-after: always\"></div>\n")
        out.append(f"# {info.title} — {lab['worksheet']}")
        out.append(f"\n{lab['student']}: {_who(variant, info.language)}  \n{lab['name']}: ____________________\n")
        for e in variant.entries:
            out.append(f"## {e.slot}. ({e.points} {lab['points']})\n\n{e.prompt}\n\n{lab['answer']}: \n")
    return "\n".join(out).rstrip() + "\n"


def markdown_key(info: QuizInfo, variants: list[VariantKey]) -> str:
    lab = _LABELS[info.language]
    out = [f"# {info.title} — {lab['key']}\n"]
    for variant in variants:
        out.append(f"## {lab['student']}: {_who(variant, info.language)}\n")
        for e in variant.entries:
            answer = format_answer(e.answer, info.language)
            answer_md = f"\n\n```\n{answer}\n```" if "\n" in answer else f" **{answer}**"
            out.append(f"### {e.slot}. {lab['answer']}:{answer_md}\n\n```\n{e.derivation}\n```\n")
    return "\n".join(out).rstrip() + "\n"


def json_export(info: QuizInfo, variants: list[VariantKey]) -> str:
    data = {
        "quiz": info.to_json(),
        "variants": [{
            "student": v.student,
            "name": v.student_name,
            "questions": [{
                "slot": e.slot, "kind": e.kind, "points": e.points, "prompt": e.prompt, "spec": e.spec,
                "answer": e.answer, "breakdown": e.breakdown, "derivation": e.derivation,
                "confirmed_by": ({"keras": e.keras_version, "tensorflow": e.tensorflow_version,
                                  "at": e.verified_at.isoformat()} if e.verified_at else None),
            } for e in v.entries],
        } for v in variants],
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


# ---------------------------------------------------------------- Moodle XML

def _shape_spellings(value: list[Any]) -> list[str]:
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
                for spelling in _shape_spellings(answer["value"]):
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
                        alts = "~".join(f"={_cloze_escape(s)}" for s in _shape_spellings(part["value"]))
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


# ---------------------------------------------------------------- GIFT

_GIFT_SPECIAL = re.compile(r"([~=#{}:\\])")


def gift_escape(text: str) -> str:
    """GIFT's special characters ~ = # { } : (and the backslash) escaped with a backslash."""
    return _GIFT_SPECIAL.sub(r"\\\1", text)


def gift(info: QuizInfo, variants: list[VariantKey]) -> str:
    """GIFT questions; a multi-part question becomes one question per part."""
    out = []
    for variant in variants:
        out.append(f"$CATEGORY: $course$/quizgen/{gift_escape(info.title)}/"
                   f"{'shared' if variant.student is None else 'student ' + gift_escape(variant.student)}\n")
        for e in variant.entries:
            title = gift_escape(f"Q{e.slot} {variant.student or 'shared'}")
            prompt = gift_escape(e.prompt)
            feedback = gift_escape(e.derivation)
            answer = e.answer
            if answer["type"] == "parts":
                head = gift_escape(e.prompt.rsplit("\n\n(1)", 1)[0])
                for i, part in enumerate(answer["parts"], start=1):
                    label = gift_escape(part["label"][info.language])
                    out.append(f"::{title} ({i})::[markdown]{head}\n\n({i}) {label} {_gift_answer(part)}\n")
            else:
                out.append(f"::{title}::[markdown]{prompt} {_gift_answer(answer, feedback)}\n")
    return "\n".join(out)


def _gift_answer(answer: dict[str, Any], feedback: str | None = None) -> str:
    general = f"####{feedback}" if feedback else ""
    if answer["type"] == "count":
        return f"{{#{answer['value']}:0{general}}}"
    alts = " ".join(f"={gift_escape(s)}" for s in _shape_spellings(answer["value"]))
    return f"{{{alts}{general}}}"


FORMATS = {"markdown": markdown_worksheet, "json": json_export, "moodle-xml": moodle_xml, "gift": gift}


def write_export(output: str, text: str, key_text: str | None = None) -> list[str]:
    """Write the export (and a Markdown key beside it), each file whole or not at all;
    returns the paths written."""
    from pathlib import Path

    from .errors import InputFileError
    from .files import write_file

    if not Path(output).name:
        raise InputFileError(f"cannot write {output or '(empty path)'}: it is a folder, not a file name")
    paths = [(Path(output), text)]
    if key_text is not None:
        base = Path(output)
        stem = base.name[:-3] if base.name.endswith(".md") else base.name
        paths.append((base.with_name(f"{stem}.key.md"), key_text))
    return [write_file(path, body) for path, body in paths]
