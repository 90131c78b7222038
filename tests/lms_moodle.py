"""Moodle's question importers, ported to Python for the export tests.

Each function follows the PHP it names, line for line where it matters (moodle/moodle:
question/format.php, question/format/gift/format.php, question/format/xml/format.php,
question/type/multianswer/questiontype.php), so a test reads an export the way Moodle
would, instead of comparing it with strings the exporter wrote. Only the question
types quizgen writes are ported (category, description, essay, numerical, shortanswer,
cloze); anything else is reported as its type so a test can fail on it.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

_PHP_TRIM = " \t\n\r\0\x0b"


def _trim(text: str) -> str:
    return text.strip(_PHP_TRIM)


def _php_empty(text: str) -> bool:
    return text in ("", "0")  # PHP's empty() holds for "0" too


@dataclass
class Imported:
    """One question (or category switch) as the importer builds it."""

    qtype: str
    name: str = ""
    text: str = ""
    text_format: str = "moodle"
    feedback: str = ""
    answers: list[str] = field(default_factory=list)
    fractions: list[float] = field(default_factory=list)
    tolerances: list[float] = field(default_factory=list)
    mark: float = 1.0
    category: str = ""
    sub: list[Imported] = field(default_factory=list)  # cloze parts


# ------------------------------------------------------------------ question/format.php

def readdata(content: str) -> list[str]:
    """qformat_default::readdata: PHP's file() (lines keep their "\\n"), BOM removed, old Mac files split on \\r."""
    lines = content.split("\n")
    lines = [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    if lines:
        lines[0] = lines[0].removeprefix("\ufeff")
        if "\r" in lines[0] and "\n" not in lines[0]:
            return lines[0].split("\r")
    return lines


def readquestions(lines: list[str], readquestion) -> list[Imported]:  # type: ignore[no-untyped-def]
    """qformat_default::readquestions: questions are whatever lies between blank lines;
    every line is trimmed first (so leading indentation never reaches readquestion)."""
    questions, current = [], []
    for line in lines:
        line = _trim(line)
        if _php_empty(line):
            if current:
                q = readquestion(current)
                if q:
                    questions.append(q)
                current = []
        else:
            current.append(line)
    if current:
        q = readquestion(current)
        if q:
            questions.append(q)
    return questions


def strip_tags(text: str) -> str:
    """PHP strip_tags, close enough: a '<' not followed by white space starts a tag that runs to '>' or the end."""
    return re.sub(r"<(?!\s)[^>]*(?:>|$)", "", text)


def split_category_path(path: str) -> list[str]:
    """qformat_default::split_category_path: '/' separates levels, '//' is a literal slash;
    each name is trimmed and cleaned as PARAM_TEXT (tags stripped)."""
    return [strip_tags(_trim(raw.replace("//", "/"))) for raw in re.split(r"(?<!/)/(?!/)", path)]


def category_levels(path: str) -> list[str]:
    """The categories create_category_path makes: the context ($course$) removed, under 'top'."""
    names = split_category_path(path)
    if re.fullmatch(r"\$([a-z]+)\$", names[0]):
        names.pop(0)
    if names and (names[0] != "top" or len(names) < 3):
        names.insert(0, "top")
    return names


def clean_question_name(name: str) -> str:
    return _trim(strip_tags(name))


# ------------------------------------------------------------------ question/format/gift/format.php

_PLACEHOLDERS = {"\\:": "&&058;", "\\#": "&&035;", "\\=": "&&061;", "\\{": "&&123;", "\\}": "&&125;",
                 "\\~": "&&126;", "\\n": "&&010"}
_CHARACTERS = {"&&058;": ":", "&&035;": "#", "&&061;": "=", "&&123;": "{", "&&125;": "}", "&&126;": "~",
               "&&010": "\n"}


def escapedchar_pre(text: str) -> str:
    text = text.replace("\\\\", "&&092;")
    for escaped, placeholder in _PLACEHOLDERS.items():  # PHP str_replace with arrays: one pass per pair, in order
        text = text.replace(escaped, placeholder)
    return text.replace("&&092;", "\\")


def escapedchar_post(text: str) -> str:
    for placeholder, char in _CHARACTERS.items():
        text = text.replace(placeholder, char)
    return text


def _parse_text_with_format(text: str, default: str = "moodle") -> tuple[str, str]:
    fmt = default
    if text.startswith("["):
        end = text.find("]")
        name = text[1:end]
        if name in ("moodle", "html", "plain", "markdown"):
            fmt, text = name, text[end + 1:]
    return _trim(escapedchar_post(text)), fmt


def _commentparser(answer: str, fmt: str) -> tuple[str, str]:
    bits = answer.split("#", 1)
    ans = _parse_text_with_format(_trim(bits[0]), fmt)[0]
    feedback = _parse_text_with_format(_trim(bits[1]), fmt)[0] if len(bits) > 1 else ""
    return ans, feedback


_WEIGHT = re.compile(r"^%\-*([0-9]{1,2})\.?([0-9]*)%")


def _answerweight(answer: str) -> tuple[float, str]:
    answer = answer[1:]
    end = answer.find("%")
    return float(answer[:end]) / 100, answer[end + 1:]


def gift_readquestion(lines: list[str]) -> Imported | None:
    """qformat_gift::readquestion for the types quizgen writes."""
    lines = [" " if _trim(line)[:2] == "//" else line for line in lines]
    text = _trim("\n".join(lines))
    if text == "":
        return None
    text = escapedchar_pre(text)
    if re.match(r"\$CATEGORY:", text):
        return Imported("category", category=_trim(text[10:]))  # never unescaped (no escapedchar_post)
    name = None
    if text[:2] == "::":
        text = text[2:]
        finish = text.find("::")
        if finish >= 0:
            name = clean_question_name(escapedchar_post(text[:finish]))
            text = _trim(text[finish + 2:])
    start, finish = text.find("{"), text.find("}")
    description = start < 0 and finish < 0
    if description:
        questiontext, answertext = text, ""
    elif start < 0 or finish < 0:
        return Imported("error", text=text)
    else:
        answertext = _trim(text[start + 1:finish])
        if text[-1:] == "}":
            questiontext = text[:start] + text[finish + 1:]
        else:
            questiontext = text[:start] + "_____" + text[finish + 1:]
    generalfeedback = ""
    sep = answertext.rfind("####")
    if sep >= 0:
        generalfeedback = answertext[sep + 4:]
        answertext = _trim(answertext[:sep])
    qtext, fmt = _parse_text_with_format(questiontext)
    feedback, _ = _parse_text_with_format(generalfeedback, fmt)
    q = Imported("", name=name if name is not None else qtext[:80], text=qtext, text_format=fmt, feedback=feedback)
    if description:
        q.qtype, q.mark = "description", 0.0
        return q
    if answertext == "":
        q.qtype = "essay"
        return q
    if answertext[0] == "#":
        q.qtype = "numerical"
        body = answertext[1:]
        if "~" in body:
            body = body[:body.find("~")]
        answers = body.split("=")
        answers[0] = _trim(answers[0])
        if answers[0] == "":
            answers.pop(0)
        for answer in answers:
            answer = _trim(answer)
            weight = 1.0
            if _WEIGHT.match(answer):
                weight, answer = _answerweight(answer)
            value, _ = _commentparser(answer, fmt)
            if ".." in value[1:]:
                lo, hi = value.split("..", 1)
                ans, tol = (float(hi) + float(lo)) / 2, float(hi) - (float(hi) + float(lo)) / 2
            elif ":" in value[1:]:
                a, t = value.split(":", 1)
                ans, tol = float(_trim(a)), float(_trim(t))
            else:
                ans, tol = float(_trim(value)), 0.0
            q.answers.append(repr(ans) if ans != int(ans) else str(int(ans)))
            q.tolerances.append(tol)
            q.fractions.append(weight)
        return q
    if "~" in answertext:
        q.qtype = "multichoice"
        return q
    if "=" in answertext and "->" in answertext:
        q.qtype = "match"
        return q
    check = _trim(answertext[:answertext.find("#")]) if answertext.find("#") > 0 else answertext
    if check in ("T", "TRUE", "F", "FALSE"):
        q.qtype = "truefalse"
        return q
    q.qtype = "shortanswer"
    answers = answertext.split("=")
    answers[0] = _trim(answers[0])
    if answers[0] == "":
        answers.pop(0)
    for answer in answers:
        answer = _trim(answer)
        weight = 1.0
        if _WEIGHT.match(answer):
            weight, answer = _answerweight(answer)
        value, _ = _commentparser(answer, fmt)
        q.answers.append(value)
        q.fractions.append(weight)
    return q


def import_gift(content: str) -> list[Imported]:
    """A GIFT file as Moodle's importer reads it: category switches and questions, in order."""
    return readquestions(readdata(content), gift_readquestion)


# ------------------------------------------------------------------ question/type/multianswer

_FRACTION = r"=|%(-?[0-9]+(?:[.,][0-9]*)?)%"
_ANSWER = r".+?(?<!\\)(?<!&)(?<!&amp;)(?=[~#}]|$)"  # PHP's (?<!\\|&|&amp;), split: Python needs fixed widths
_FEEDBACK = r".*?(?<!\\)(?=[~}]|$)"
_ALTERNATIVE = f"({_FRACTION})?({_ANSWER})(#({_FEEDBACK}))?"
_TYPES = ("(NUMERICAL|NM)|(MULTICHOICE|MC)|(MULTICHOICE_V|MCV)|(MULTICHOICE_H|MCH)|"
          "(SHORTANSWER|SA|MW)|(SHORTANSWER_C|SAC|MWC)|"
          "(MULTICHOICE_S|MCS)|(MULTICHOICE_VS|MCVS)|(MULTICHOICE_HS|MCHS)|"
          "(MULTIRESPONSE|MR)|(MULTIRESPONSE_H|MRH)|(MULTIRESPONSE_S|MRS)|(MULTIRESPONSE_HS|MRHS)")
ANSWER_REGEX = re.compile(r"\{([0-9]*):(" + _TYPES + "):(" + _ALTERNATIVE + "(~" + _ALTERNATIVE + r")*)\}", re.S)
_ALT_REGEX = re.compile("~?" + _ALTERNATIVE, re.S)
_NUMBER = r"-?(([0-9]+[.,]?[0-9]*|[.,][0-9]+)([eE][-+]?[0-9]+)?)"
_NUMERICAL_ALT = re.compile(f"^({_NUMBER})(:{_NUMBER})?$", re.S)


def extract_cloze(text: str) -> Imported:
    """qtype_multianswer_extract_question: the parts and the question's mark, which is the
    sum of the parts' weights ({N:...}, 1 when N is empty) whatever <defaultgrade> says."""
    q = Imported("multianswer", mark=0.0)
    position = 1
    while (m := ANSWER_REGEX.search(text)) is not None:
        norm = m.group(1)
        sub = Imported("numerical" if m.group(3) else "shortanswer" if (m.group(7) or m.group(8)) else "other",
                       mark=float(norm) if norm != "" else 1.0)
        remaining = m.group(16)
        while (alt := _ALT_REGEX.search(remaining)) is not None:
            fraction = 1.0 if alt.group(1) == "=" else (float(alt.group(2).replace(",", ".")) / 100
                                                           if alt.group(2) else 0.0)
            answer = alt.group(3)
            if sub.qtype == "numerical" and (num := _NUMERICAL_ALT.match(answer)):
                sub.answers.append(num.group(1))
                sub.tolerances.append(float(num.group(6)) if num.group(6) else 0.0)
            else:
                answer = html.unescape(answer).replace("\\}", "}")
                sub.answers.append(answer.replace("\\#", "#"))
            sub.fractions.append(fraction)
            remaining = remaining.split(alt.group(0), 1)[1]
        q.mark += sub.mark
        q.sub.append(sub)
        text = text.replace(m.group(0), f"{{#{position}}}", 1)
        position += 1
    q.text = text
    return q


# ------------------------------------------------------------------ question/format/xml/format.php

def _xml_text(el: ET.Element | None, default: str = "") -> str:
    if el is None:
        return default
    text = el.find("text")
    return _trim(text.text or "") if text is not None else default


def import_xml(content: str) -> list[Imported]:
    """A Moodle XML file as qformat_xml reads it (import_question's dispatch, import_headers' defaults)."""
    root = ET.fromstring(content.encode("utf-8"))
    assert root.tag == "quiz"
    out = []
    for question in root.findall("question"):
        qtype = question.get("type")
        if qtype == "category":
            out.append(Imported("category", category=_xml_text(question.find("category"))))
            continue
        name = clean_question_name(_xml_text(question.find("name")))
        text_el = question.find("questiontext")
        text = _xml_text(text_el)
        fmt = text_el.get("format", "html") if text_el is not None else "html"
        feedback = _xml_text(question.find("generalfeedback"))
        if qtype in ("cloze", "multianswer"):
            q = extract_cloze(text)  # import_multianswer never reads <defaultgrade>
            q.name, q.text_format, q.feedback = name, fmt, feedback
            out.append(q)
            continue
        grade = question.find("defaultgrade")
        q = Imported(qtype or "", name=name, text=text, text_format=fmt, feedback=feedback,
                     mark=float(grade.text) if grade is not None and grade.text else 1.0)
        if qtype == "description":
            q.mark = 0.0
        for answer in question.findall("answer"):
            q.answers.append(_xml_text(answer))
            q.fractions.append(float(answer.get("fraction", "0")) / 100)
            tolerance = answer.find("tolerance")
            q.tolerances.append(float(tolerance.text) if tolerance is not None and tolerance.text else 0.0)
        out.append(q)
    return out


def by_category(questions: list[Imported]) -> list[tuple[list[str], Imported]]:
    """Every real question with the category levels it lands in."""
    current: list[str] = ["top"]
    out = []
    for q in questions:
        if q.qtype == "category":
            current = category_levels(q.category)
        else:
            out.append((current, q))
    return out


def pre_blocks(html_text: str) -> list[str]:
    """The text inside each <pre> of an HTML question text, as a browser shows it."""
    return [html.unescape(b) for b in re.findall(r"<pre>(.*?)</pre>", html_text, flags=re.S)]
