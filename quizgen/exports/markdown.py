"""Markdown: a printable worksheet (one page per variant) and its answer key.

Prompts are written as plain lines; CommonMark would join some of them: a line under a
numbered list continues its last item (so the answer hint ended up inside item 5), and
"(1) ...", "(2) ..." lines are one paragraph. ``prompt_markdown`` keeps each where it
was meant to be. Titles and names are escaped, so they show as text, not markup.
"""

from __future__ import annotations

import re

from ..questions.records import QuizInfo, VariantKey, format_answer
from ..resources import load_json

_LABELS = {
    "ko": {"worksheet": "문제지", "key": "정답과 풀이", "name": "이름", "student": "학생", "shared": "공통",
           "points": "점", "answer": "정답", "question": "문제"},
    "en": {"worksheet": "Worksheet", "key": "Answer key", "name": "Name", "student": "Student", "shared": "shared",
           "points": "pt", "answer": "Answer", "question": "Question"},
}

_LIST_ITEM = re.compile(r"\s{0,3}(\d{1,9}[.)]|[-*+])(\s|$)")
_PART = re.compile(r"\(\d+\) ")
_MARKUP = re.compile(r"([\\`*_\[\]<>#|~&!])")


def md_text(text: str) -> str:
    """Inline text that a Markdown renderer shows as written: one line, markup characters escaped."""
    return _MARKUP.sub(r"\\\1", " ".join(text.split()))


def _hints() -> set[str]:
    return {h for lang in load_json("templates.json").values() for h in lang["answer_hint"].values()}


def _is_hint(line: str) -> bool:
    """A line in parentheses that says how to write the answer: a paragraph of its own."""
    return line in _hints() or (line.startswith("(") and line.endswith(")") and not _PART.match(line))


def prompt_markdown(prompt: str) -> str:
    """A prompt as Markdown that renders the way it reads: the answer hint in a paragraph of
    its own, a line after a list not swallowed by its last item, (n) parts one per line."""
    hints = _hints()
    out: list[str] = []
    fenced = False
    for line in prompt.split("\n"):
        if line.startswith("```"):
            fenced = not fenced
            out.append(line)
            continue
        prev = out[-1] if out and not fenced else ""
        if not fenced and line.strip() and prev.strip() and not prev.startswith("```"):
            if line in hints or _is_hint(line) or (_LIST_ITEM.match(prev) and not _LIST_ITEM.match(line)):
                out.append("")
            elif _PART.match(prev) and _PART.match(line):
                out[-1] = prev + "  "  # a hard line break: each part on its own line
            elif _PART.match(prev):
                out.append("")
        out.append(line)
    return "\n".join(out)


def _who(variant: VariantKey, lang: str) -> str:
    if variant.student is None:
        return _LABELS[lang]["shared"]
    student = md_text(variant.student)
    return f"{md_text(variant.student_name)} ({student})" if variant.student_name else student


def worksheet_header(info: QuizInfo) -> str:
    """What a printed worksheet says under its title: the quiz's number, its deadline in the
    quiz's zone, and how to hand the answers in (wording in data/templates.json)."""
    from ..clock import show

    words = load_json("templates.json")[info.language]["worksheet"]
    deadline = words["deadline"].format(deadline=show(info.deadline, info.time_zone)) if info.deadline \
        else words["no_deadline"]
    return "  \n".join([words["quiz"].format(quiz=info.id, title=md_text(info.title)), md_text(deadline),
                        md_text(words["submit"].format(quiz=info.id))])


def markdown_worksheet(info: QuizInfo, variants: list[VariantKey]) -> str:
    """A printable worksheet: questions only, one section (page) per variant, each headed by the
    quiz's number, deadline and how to submit."""
    lab = _LABELS[info.language]
    header = worksheet_header(info)
    out = []
    for n, variant in enumerate(variants):
        if n:
            out.append("\n<div style=\"page-break-after: always\"></div>\n")
        out.append(f"# {md_text(info.title)} — {lab['worksheet']}")
        out.append(f"\n{header}\n")
        out.append(f"{lab['student']}: {_who(variant, info.language)}  \n{lab['name']}: ____________________\n")
        for e in variant.entries:
            prompt = prompt_markdown(e.prompt)
            out.append(f"## {e.slot}. ({e.points} {lab['points']})\n\n{prompt}\n\n{lab['answer']}: \n")
    return "\n".join(out).rstrip() + "\n"


def markdown_key(info: QuizInfo, variants: list[VariantKey]) -> str:
    lab = _LABELS[info.language]
    out = [f"# {md_text(info.title)} — {lab['key']}\n"]
    for variant in variants:
        out.append(f"## {lab['student']}: {_who(variant, info.language)}\n")
        for e in variant.entries:
            answer = format_answer(e.answer, info.language)
            answer_md = f"\n\n```\n{answer}\n```" if "\n" in answer else f" **{answer}**"
            out.append(f"### {e.slot}. {lab['answer']}:{answer_md}\n\n```\n{e.derivation}\n```\n")
    return "\n".join(out).rstrip() + "\n"
