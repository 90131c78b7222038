"""Korean a textbook would print, and English likewise (issue #19 item 4): generated questions,
their workings and the feedback on their slips are read sentence by sentence. One speech
level in a quiz (the polite 합니다/하세요 register, as the page and messages use), a particle
after a number chosen by how the number is read, no "x = x" line, sentences spaced, one set
of gate names, native ordinals for a layer's place."""

from __future__ import annotations

import re

import pytest

from quizgen.grading.misconceptions import grading_key, slips_apart
from quizgen.grading.scoring import ACCEPTED, CARRY
from quizgen.grading.slip_messages import slip_feedback
from quizgen.korean import particle
from quizgen.questions.catalog import DIFFICULTIES, KINDS
from quizgen.questions.generator import generate_question

PAIRS = {"이": "이(가)", "가": "이(가)", "은": "은(는)", "는": "은(는)", "을": "을(를)", "를": "을(를)",
         "과": "과(와)", "와": "과(와)", "으로": "(으)로", "로": "(으)로"}
NUMBER_PARTICLE = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(으로|로|이|가|은|는|을|를|과|와)(?=[\s.,;:)\]]|$)")


def _questions():
    """Every kind at every difficulty: 66 questions in each language, at least 20 per language."""
    for i, kind in enumerate(KINDS):
        for difficulty in DIFFICULTIES:
            yield generate_question(100 + i, 1, kind, f"2026{i:04d}", difficulty, langs=("ko", "en"),
                                    keep_apart=slips_apart)


def _texts(q, lang: str) -> list[str]:
    texts = [q.prompt[lang], q.derivation[lang]]
    parts = q.answer["parts"] if q.answer["type"] == "parts" else []
    texts += [p["label"][lang] for p in parts]
    if q.solution is not None and q.kind != "inverse":
        _, slips = grading_key(q.kind, q.spec, q.answer, q.solution)
        texts += [slip_feedback(s, lang) or "" for table in slips.values() for s in table.values()
                  if isinstance(s, str) and s not in (ACCEPTED, CARRY)]
    return texts


def _prose(text: str) -> list[str]:
    """The lines of a text outside its code blocks."""
    return [line for line in re.sub(r"```.*?```", "", text, flags=re.S).split("\n") if line.strip()]


def _sentences(line: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.?!])\s+", line.strip()) if s]


QUESTIONS = list(_questions())


def test_enough_questions_are_read():
    assert len(QUESTIONS) >= 20 and {q.kind for q in QUESTIONS} == set(KINDS)


def test_korean_speaks_one_level_and_reads_numbers_right():
    problems = []
    for q in QUESTIONS:
        for text in _texts(q, "ko"):
            for line in _prose(text):
                for sentence in _sentences(line):
                    body = sentence.rstrip(")]\"'")
                    if re.search(r"[가-힣][.?!]$", body):
                        end = body[-2]
                        plain = (end == "다" and body[-3:-1] not in ("니다",)) or end == "라" or \
                            re.search(r"(는가|인가|은가|한가)\?$", body)
                        if plain:
                            problems.append(("speech level", q.kind, sentence))
                for m in NUMBER_PARTICLE.finditer(line):
                    number, word = m.group(1), m.group(2)
                    if particle(number, PAIRS[word]) != word:
                        problems.append(("particle", q.kind, m.group(0), line))
                if re.search(r"[가-힣][.?!][가-힣A-Za-z]", line):
                    problems.append(("sentences run together", q.kind, line))
                if "망각" in line or re.search(r"\d번째 층", line):
                    problems.append(("gate name or ordinal", q.kind, line))
    assert problems == []


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_no_line_ends_in_x_equals_x(lang):
    problems = []
    for q in QUESTIONS:
        for text in _texts(q, lang):
            for line in _prose(text):
                if re.search(r"= ([\d,.]+) = \1(?![\d,.])", line) or re.match(r"\s*([\d,]+) = \1(?![\d,.])", line):
                    problems.append((q.kind, line))
    assert problems == []


def test_english_is_english():
    for q in QUESTIONS:
        for text in _texts(q, "en"):
            assert not re.search(r"[가-힣]", text), (q.kind, text)
            for line in _prose(text):
                assert not re.search(r"[a-z][.?!][A-Z]", line), (q.kind, line)


def test_the_checks_can_fail():
    """Each check above finds what the issue quoted."""
    assert NUMBER_PARTICLE.search("총 1,032이 되며") and particle("1,032", "이(가)") != "이"
    assert re.search(r"= ([\d,.]+) = \1(?![\d,.])", "총 파라미터 수 = 1,032 = 1,032")
    assert re.search(r"[가-힣][.?!][가-힣A-Za-z]", "아직 채점되지 않았습니다.채점되면")
    body = "표를 채워라."
    assert body[-2] == "라"
