"""Exports parse as their importers expect: Moodle XML structure, GIFT escaping, Markdown, JSON."""

from __future__ import annotations

import json
import re
from xml.etree import ElementTree as ET

import pytest

from quizgen.classroom.quizzes import QuizPlan, create_quiz, quiz_key
from quizgen.classroom.roster import RosterEntry
from quizgen.exports.gift import gift, gift_escape
from quizgen.exports.json_export import json_export
from quizgen.exports.markdown import markdown_key, markdown_worksheet
from quizgen.exports.moodle import moodle_xml
from quizgen.questions.generator import KINDS
from quizgen.store.db import open_store

STUDENTS = [RosterEntry("s1", "김민준"), RosterEntry("s2", "Ada {Lovelace}: #1 ~ =")]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    store = open_store(str(tmp_path_factory.mktemp("exp") / "q.db"))
    plan = QuizPlan(title="RNN: {quiz} #3 ~ =", seed=77, count=len(KINDS) * 2, kinds=KINDS, difficulty="hard")
    quiz_id = create_quiz(store, plan, STUDENTS, verify=False).quiz_id
    info, variants = quiz_key(store, quiz_id, all_variants=True)
    store.dispose()
    return info, variants


def _number(text: str) -> float:
    return float(text)


def test_moodle_xml_has_the_structure_moodles_importer_reads(exported):
    info, variants = exported
    root = ET.fromstring(moodle_xml(info, variants).encode("utf-8"))
    assert root.tag == "quiz"
    questions = root.findall("question")
    categories = [q for q in questions if q.get("type") == "category"]
    assert len(categories) == len(variants) == 3
    for c in categories:
        assert c.find("category/text").text.startswith("$course$/quizgen/")
    real = [q for q in questions if q.get("type") != "category"]
    # a multi-part question is one Cloze when whole weights can carry its points, else one question per part
    expected = sum(1 if e.answer["type"] != "parts" or e.points % len(e.answer["parts"]) == 0
                   else len(e.answer["parts"]) for v in variants for e in v.entries)
    assert len(real) == expected > 3 * len(KINDS) * 2
    seen = set()
    for q in real:
        qtype = q.get("type")
        seen.add(qtype)
        assert qtype in {"numerical", "shortanswer", "cloze"}
        assert q.find("name/text").text
        text = q.find("questiontext")
        assert text.get("format") == "html" and text.find("text").text
        assert q.find("generalfeedback/text") is not None
        if qtype == "numerical":
            (answer,) = q.findall("answer")
            assert answer.get("fraction") == "100"
            _number(answer.find("text").text)
            assert answer.find("tolerance").text == "0"
            assert float(q.find("defaultgrade").text) > 0
        elif qtype == "shortanswer":
            answers = q.findall("answer")
            assert answers and all(a.get("fraction") == "100" for a in answers)
            assert any(re.fullmatch(r"\((None|\d+)(, (None|\d+))*,?\)", a.find("text").text)  # a shape
                       or re.fullmatch(r"\d+\.\d\d [KMGTP]?B", a.find("text").text)  # a memory figure
                       or re.fullmatch(r"-?\d*\.\d\d", a.find("text").text)  # a decimal (rnn-step)
                       for a in answers)
        else:
            body = text.find("text").text
            fields = re.findall(r"\{1:(NUMERICAL|SHORTANSWER):([^}]*)\}", body)
            assert len(fields) >= 2
    assert seen == {"numerical", "shortanswer", "cloze"}


def test_gift_escapes_and_answers(exported):
    info, variants = exported
    text = gift(info, variants)
    # Moodle never unescapes a $CATEGORY line: the title goes in as it is
    assert "\n$CATEGORY: $course$/quizgen/RNN: {quiz} #3 ~ = [quizgen 1]/shared\n" in text
    assert "student s2" in text
    numeric = re.findall(r"\{#(\d+):0", text)
    assert numeric and any(int(n) > 0 for n in numeric)  # 0 is a count too: a change that adds no weight
    # no unescaped specials in question bodies: every { opens an answer block
    for block in [b for b in text.split("\n\n") if b.startswith("::")]:
        assert "\n" not in block.strip()  # one question, one line
        body = block[2:].split("::", 1)[1]
        opens = [m.start() for m in re.finditer(r"(?<!\\)\{", body)]
        assert len(opens) == 1, body[:200]
    assert gift_escape("a~b=c#d{e}f:g") == "a\\~b\\=c\\#d\\{e\\}f\\:g"


def test_markdown_and_json(exported):
    info, variants = exported
    sheet = markdown_worksheet(info, variants)
    key = markdown_key(info, variants)
    assert sheet.count("## 1.") == 3 and "풀이" not in sheet
    assert "정답과 풀이" in key and "풀이:" in key
    data = json.loads(json_export(info, variants))
    q = data["variants"][1]["questions"][0]
    assert {"slot", "kind", "prompt", "spec", "answer", "derivation", "breakdown"} <= set(q)
    assert data["variants"][1]["student"] == "s1"
