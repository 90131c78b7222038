"""GIFT, Moodle's plain-text question format, written for its importer's rules.

Moodle's importer (question/format/gift, qformat_default::readquestions) ends a question
at a blank line and trims every line, so each question here is one line: its text is
HTML (``[html]``, the same as the Moodle XML export) with line breaks written as GIFT's
``\\n`` escape, which keeps code blocks whole and indented. ``$CATEGORY:`` lines are
never unescaped by Moodle, so they carry the path as the category code splits it
(moodle.category_path) with only the backslash doubled.

GIFT has no Cloze and no marks: every part of a multi-part question is its own question
(``Q4.1 ...``) and every question imports at Moodle's default mark of 1; use Moodle XML
when marks matter. Categories and names are those of the Moodle XML export.
"""

from __future__ import annotations

import html
import re
from typing import Any

from ..questions.records import QuizInfo, VariantKey
from .moodle import answer_spellings, item_prompt, layout, prompt_html
from .naming import quiz_label

_GIFT_SPECIAL = re.compile(r"([~=#{}:\\])")


def gift_escape(text: str) -> str:
    """Text that GIFT reads back as written: ~ = # { } : and the backslash escaped with a
    backslash, line breaks as \\n so the question stays on one line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _GIFT_SPECIAL.sub(r"\\\1", text).replace("\n", "\\n")


def gift(info: QuizInfo, variants: list[VariantKey], categories: str = "student") -> str:
    """One line per question, a blank line between questions, a $CATEGORY line per category."""
    out = [f"// quizgen: {quiz_label(info)}. One question per line; Moodle imports each "
           "question at mark 1 (GIFT has no marks)."]
    for path, items in layout(info, variants, categories, cloze=False):
        out.append(f"$CATEGORY: {path.replace(chr(92), chr(92) * 2)}")
        for item in items:
            body = gift_escape(prompt_html(item_prompt(item, info.language)))
            feedback = gift_escape(f"<pre>{html.escape(item.entry.derivation, quote=False)}</pre>")
            out.append(f"::{gift_escape(item.name)}::[html]{body}{_gift_answer(item.answer, feedback)}")
    return "\n\n".join(out) + "\n"


def _gift_answer(answer: dict[str, Any], feedback: str) -> str:
    general = f"####{feedback}" if feedback else ""
    if answer["type"] == "count":
        return f"{{#{answer['value']}:0{general}}}"
    alts = " ".join(f"={gift_escape(s)}" for s in answer_spellings(answer))
    return f"{{{alts}{general}}}"
