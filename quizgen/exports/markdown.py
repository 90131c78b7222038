"""Markdown: a printable worksheet (one page per variant) and its answer key."""

from __future__ import annotations

from ..questions.records import QuizInfo, VariantKey, format_answer


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
