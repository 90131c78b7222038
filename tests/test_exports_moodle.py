"""GIFT and Moodle XML read back the way Moodle's importers read them (tests/lms_moodle.py):
questions whole, code intact, categories one level per name and the same in both
formats, marks equal to quizgen's points, answers that accept the key."""

from __future__ import annotations

import dataclasses
import html
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quizgen.classroom.quizzes import QuizPlan, create_quiz, quiz_key
from quizgen.classroom.roster import RosterEntry
from quizgen.exports.gift import gift
from quizgen.exports.moodle import answer_spellings, moodle_xml
from quizgen.grading.answers import parse_memory
from quizgen.questions.generator import KINDS
from quizgen.store.db import open_store

from .lms_moodle import by_category, import_gift, import_xml, pre_blocks

TITLE = "점검/퀴즈: {RNN} #3 ~ = \\: 1//2 (1)"
STUDENTS = [RosterEntry("s1", "김민준"), RosterEntry("s/2:{x}#~=\\", "Ada {Lovelace}: #1 ~ =")]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    store = open_store(str(tmp_path_factory.mktemp("moodle") / "q.db"))
    plan = QuizPlan(title=TITLE, seed=77, count=len(KINDS) * 2, kinds=KINDS, difficulty="hard")
    quiz_id = create_quiz(store, plan, STUDENTS, verify=False).quiz_id
    info, variants = quiz_key(store, quiz_id, all_variants=True)
    store.dispose()
    return info, variants


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _expected_levels(info, variant) -> list[str]:  # type: ignore[no-untyped-def]
    who = "shared" if variant.student is None else f"student {_collapse(variant.student)}"
    return ["top", "quizgen", f"{_collapse(info.title)} [quizgen {info.id}]", who]


def _questions_expected(variants) -> int:  # type: ignore[no-untyped-def]
    return sum(len(e.answer["parts"]) if e.answer["type"] == "parts" else 1 for v in variants for e in v.entries)


# ------------------------------------------------------------------ GIFT

def test_gift_questions_stay_whole(exported):
    """Blank lines end a question in Moodle: every question must come through as one, none as a description."""
    info, variants = exported
    imported = by_category(import_gift(gift(info, variants)))
    kinds = [q.qtype for _, q in imported]
    assert "description" not in kinds and "essay" not in kinds and "error" not in kinds
    assert len(imported) == _questions_expected(variants)
    assert set(kinds) == {"numerical", "shortanswer"}
    assert all(q.name and q.text_format == "html" for _, q in imported)


def test_gift_keeps_code_readable(exported):
    """Every fenced block of a prompt reaches Moodle as a <pre> with its lines and indentation."""
    info, variants = exported
    imported = [q for _, q in by_category(import_gift(gift(info, variants)))]
    seen = 0
    for variant in variants:
        for e in variant.entries:
            blocks = re.findall(r"```[a-z]*\n(.*?)\n```", e.prompt, flags=re.S)
            if not blocks:
                continue
            name = f"Q{e.slot}" + (".1" if e.answer["type"] == "parts" else "")
            who = variant.student or "shared"
            (q,) = [q for q in imported if q.name == f"{name} · {_collapse(who)}"]
            assert pre_blocks(q.text)[:len(blocks)] == blocks
            seen += any("\n    " in b for b in blocks)
    assert seen, "the quiz has no indented code to check"


def test_gift_categories_read_back_as_written(exported):
    """Moodle never unescapes \\: in $CATEGORY and splits on '/': the title must stay one level, verbatim."""
    info, variants = exported
    imported = import_gift(gift(info, variants))
    categories = [q.category for q in imported if q.qtype == "category"]
    from .lms_moodle import category_levels

    assert [category_levels(c) for c in categories] == [_expected_levels(info, v) for v in variants]


def test_gift_answers_accept_the_key(exported):
    info, variants = exported
    imported = by_category(import_gift(gift(info, variants)))
    answers = {}
    for variant in variants:
        for e in variant.entries:
            parts = e.answer["parts"] if e.answer["type"] == "parts" else [e.answer]
            for i, part in enumerate(parts, start=1):
                name = f"Q{e.slot}.{i}" if e.answer["type"] == "parts" else f"Q{e.slot}"
                who = _collapse(variant.student or "shared")
                answers[(tuple(_expected_levels(info, variant)), f"{name} · {who}")] = part, e
    assert len(answers) == len(imported)
    for levels, q in imported:
        part, e = answers[(tuple(levels), q.name)]
        assert q.fractions and all(f == 1.0 for f in q.fractions)
        if part["type"] == "count":
            assert q.qtype == "numerical" and q.answers == [str(part["value"])] and q.tolerances == [0.0]
        else:
            assert q.qtype == "shortanswer" and set(q.answers) == set(answer_spellings(part))
            if part["type"] == "memory":  # every spelling Moodle accepts, quizgen grades right too
                assert part["value"] in q.answers and {parse_memory(a) for a in q.answers} == {part["value"]}
        assert pre_blocks(q.feedback) == [e.derivation]  # the worked derivation, whole


# ------------------------------------------------------------------ Moodle XML

def test_xml_marks_equal_quizgen_points(exported):
    """A Cloze question's mark is the sum of its parts' weights (Moodle ignores <defaultgrade> for it):
    every question's mark, and every slot's, must equal quizgen's points."""
    info, variants = exported
    imported = by_category(import_xml(moodle_xml(info, variants)))
    for variant in variants:
        levels = _expected_levels(info, variant)
        mine = [q for lv, q in imported if lv == levels]
        who = _collapse(variant.student or "shared")
        assert mine
        for e in variant.entries:
            slot = [q for q in mine if re.fullmatch(rf"Q{e.slot}(\.\d+)? · {re.escape(who)}", q.name)]
            assert slot, (e.slot, [q.name for q in mine])
            assert sum(q.mark for q in slot) == pytest.approx(e.points, abs=1e-6)
            assert all(q.mark > 0 for q in slot)
            for q in slot:
                assert all(s.mark > 0 for s in q.sub)
        assert sum(q.mark for q in mine) == pytest.approx(sum(e.points for e in variant.entries), abs=1e-6)


def test_xml_answers_accept_the_key(exported):
    info, variants = exported
    imported = by_category(import_xml(moodle_xml(info, variants)))
    kinds = {q.qtype for _, q in imported}
    assert kinds <= {"numerical", "shortanswer", "multianswer"} and "numerical" in kinds
    for variant in variants:
        levels = _expected_levels(info, variant)
        who = _collapse(variant.student or "shared")
        for e in variant.entries:
            named = re.compile(rf"Q{e.slot}(\.\d+)? · {re.escape(who)}")
            qs = [q for lv, q in imported if lv == levels and named.fullmatch(q.name)]
            subs = [s for q in qs for s in (q.sub or [q])]
            parts = e.answer["parts"] if e.answer["type"] == "parts" else [e.answer]
            assert len(subs) == len(parts)
            for sub, part in zip(subs, parts):
                assert all(f == 1.0 for f in sub.fractions)
                if part["type"] == "count":
                    assert sub.qtype == "numerical" and sub.answers == [str(part["value"])]
                    assert sub.tolerances == [0.0]
                else:
                    assert sub.qtype == "shortanswer" and set(sub.answers) == set(answer_spellings(part))
                    if part["type"] == "memory":
                        assert part["value"] in sub.answers and {parse_memory(a) for a in sub.answers} == {
                            part["value"]
                        }


def test_xml_and_gift_name_categories_alike(exported):
    info, variants = exported
    from .lms_moodle import category_levels

    xml_cats = [category_levels(q.category) for q in import_xml(moodle_xml(info, variants)) if q.qtype == "category"]
    gift_cats = [category_levels(q.category) for q in import_gift(gift(info, variants)) if q.qtype == "category"]
    assert xml_cats == gift_cats == [_expected_levels(info, v) for v in variants]


def test_xml_keeps_code_readable(exported):
    info, variants = exported
    imported = [q for _, q in by_category(import_xml(moodle_xml(info, variants)))]
    code = [(v, e) for v in variants for e in v.entries if "```python" in e.prompt]
    assert code
    for variant, e in code:
        block = re.search(r"```python\n(.*?)\n```", e.prompt, flags=re.S).group(1)
        who = _collapse(variant.student or "shared")
        q = next(q for q in imported if re.fullmatch(rf"Q{e.slot}(\.1)? · {re.escape(who)}", q.name))
        assert block in pre_blocks(q.text)


# ------------------------------------------------------------------ per-slot categories

def test_categories_per_slot_for_random_questions(exported):
    """--categories slot: one category per question slot holding every student's variant of it."""
    info, variants = exported
    for text, reader in ((gift(info, variants, categories="slot"), import_gift),
                         (moodle_xml(info, variants, categories="slot"), import_xml)):
        imported = by_category(reader(text))
        groups: dict[str, set[str]] = {}
        for levels, q in imported:
            assert levels[:3] == ["top", "quizgen", f"{_collapse(info.title)} [quizgen {info.id}]"]
            groups.setdefault(levels[3], set()).add(q.name.split(" · ", 1)[0])
        for group, names in groups.items():
            assert len(names) == 1 and group == names.pop()  # a category holds one slot (or part) only
        assert "Q1" in groups


# ------------------------------------------------------------------ fuzz: awkward titles and student ids

_AWKWARD = st.lists(st.sampled_from(list("/:#{}~=\\\n\t ab가나(1)[]%&$<>.,'\"-_*|") + ["//", "\\n", "&&058;"]),
                    min_size=1, max_size=20).map("".join)


def _label_chars(text: str) -> str:
    return _collapse(text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=_AWKWARD, student=_AWKWARD)
def test_awkward_titles_and_ids_survive_both_importers(exported, title, student):
    info, variants = exported
    if not _collapse(student):
        student = student + "x"
    if not _collapse(title):
        title = title + "t"
    info = dataclasses.replace(info, title=title)
    variant = dataclasses.replace(variants[2], student=student)
    g = import_gift(gift(info, [variant]))
    x = import_xml(moodle_xml(info, [variant]))
    assert [q.qtype for q in g].count("category") == 1 == [q.qtype for q in x].count("category")
    for questions in (g, x):
        (levels, _), *_ = by_category(questions)
        assert len(levels) == 4 and levels[:2] == ["top", "quizgen"]
        assert levels[2].endswith(f" [quizgen {info.id}]") and levels[3].startswith("student ")
        if not set(title) & set("<>&"):
            assert levels[2] == f"{_collapse(title)} [quizgen {info.id}]"
        if not set(student) & set("<>&"):
            assert levels[3] == f"student {_collapse(student)}"
    assert by_category(g)[0][0] == by_category(x)[0][0]
    assert len(by_category(g)) == _questions_expected([variant])
    assert {q.qtype for _, q in by_category(g)} <= {"numerical", "shortanswer"}
    names = {q.name for _, q in by_category(g)}
    whose = {n.split(" · ", 1)[1] for n in names}
    assert len(whose) == 1 and whose == {q.name.split(" · ", 1)[1] for _, q in by_category(x)}
    assert len(names) == len(by_category(g))  # distinct names
    if not set(student) & set("<>&"):
        assert all(n.endswith(" · " + _collapse(student)) for n in names)


def test_cloze_text_never_reads_as_a_field(exported):
    """Prompt text that looks like a Cloze field stays text: the question keeps exactly its own parts."""
    info, variants = exported
    variant = variants[1]
    e = next(e for e in variant.entries if e.answer["type"] == "parts" and e.points % len(e.answer["parts"]) == 0)
    fake = "{1:NUMERICAL:=5} {1:SHORTANSWER:=x}"
    e = dataclasses.replace(e, prompt=e.prompt.replace("\n\n(1) ", f"\n{fake}\n\n(1) ", 1))
    (q,) = [q for _, q in by_category(import_xml(moodle_xml(info, [dataclasses.replace(variant, entries=[e])])))]
    assert q.qtype == "multianswer" and len(q.sub) == len(e.answer["parts"]) and q.mark == e.points
    assert "{1:NUMERICAL:=5}" in html.unescape(q.text)


def test_cli_categories_option(tmp_path):
    from .helpers import make_class

    klass = make_class(tmp_path)
    out = klass.run("export", str(klass.quiz), "--format", "gift", "--categories", "slot")
    assert out.exit_code == 0, out.output
    levels = [lv for lv, _ in by_category(import_gift(out.stdout))]
    assert {lv[3] for lv in levels} >= {"Q1", "Q2"}
    assert all(lv[2] == f"점검 퀴즈 [quizgen {klass.quiz}]" for lv in levels)
    bad = klass.run("export", str(klass.quiz), "--format", "markdown", "--categories", "slot")
    assert bad.exit_code == 2 and "--categories goes with --format moodle-xml or gift" in bad.output
