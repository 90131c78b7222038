"""GIFT, Moodle's plain-text question format."""

from __future__ import annotations

import re
from typing import Any

from ..questions.records import QuizInfo, VariantKey
from .moodle import shape_spellings


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
    alts = " ".join(f"={gift_escape(s)}" for s in shape_spellings(answer["value"]))
    return f"{{{alts}{general}}}"
