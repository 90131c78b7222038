"""The Markdown worksheet and key as a CommonMark renderer (markdown-it-py) shows them."""

from __future__ import annotations

import dataclasses
import re

import pytest
from markdown_it import MarkdownIt

from quizgen.classroom.quizzes import QuizPlan, create_quiz, quiz_key
from quizgen.classroom.roster import RosterEntry
from quizgen.exports.markdown import markdown_key, markdown_worksheet
from quizgen.questions.generator import KINDS
from quizgen.resources import load_json
from quizgen.store.db import open_store

MD = MarkdownIt("commonmark")


@pytest.fixture(scope="module", params=["ko", "en"])
def exported(request, tmp_path_factory):
    store = open_store(str(tmp_path_factory.mktemp("md") / "q.db"))
    plan = QuizPlan(title="점검 퀴즈", seed=5, count=len(KINDS) * 2, kinds=KINDS, language=request.param)
    quiz_id = create_quiz(store, plan, [RosterEntry("s1", "김민준")], verify=False).quiz_id
    info, variants = quiz_key(store, quiz_id, all_variants=True)
    store.dispose()
    return info, variants


def _hints(lang: str) -> list[str]:
    return list(load_json("templates.json")[lang]["answer_hint"].values())


def test_answer_hint_is_not_swallowed_by_a_list(exported):
    """A hint right under a numbered list is a lazy continuation of its last item in every renderer."""
    info, variants = exported
    page = MD.render(markdown_worksheet(info, variants))
    items = re.findall(r"<li>(.*?)</li>", page, flags=re.S)
    assert items, "the quiz has no list to check"
    hints = [h for h in _hints(info.language)]
    for item in items:
        assert not any(h in item for h in hints), item
    for hint in hints:
        if hint in markdown_worksheet(info, variants):
            assert f"<p>{hint}</p>" in page


def test_parts_are_shown_one_per_line(exported):
    """(1) ... (2) ... lines are one paragraph in CommonMark; each must still be on its own line."""
    info, variants = exported
    page = MD.render(markdown_worksheet(info, variants))
    numbered = re.findall(r"\(\d+\) [^<\n]*", page)
    assert numbered
    for a, b in zip(numbered, numbered[1:]):
        if int(b[1:b.index(")")]) == int(a[1:a.index(")")]) + 1:
            assert re.search(re.escape(a.rstrip()) + r"\s*<br />\s*" + re.escape(b[:4]), page), (a, b)


def test_titles_and_names_are_text_not_markup(exported):
    info, variants = exported
    info = dataclasses.replace(info, title="<b>x</b> *y* #1 [z](http://e)\n# z")
    variant = dataclasses.replace(variants[1], student="<i>s</i>", student_name="_n_ `c`")
    for text in (markdown_worksheet(info, [variant]), markdown_key(info, [variant])):
        page = MD.render(text)
        assert "<b>" not in page and "<i>" not in page and "<em>" not in page.split("<h2")[0]
        assert "<a " not in page and "<code>c</code>" not in page
        assert page.count("<h1>") == 1
        assert "&lt;b&gt;x&lt;/b&gt; *y* #1 [z](http://e) # z" in page


@pytest.mark.parametrize("lang, quiz_word, deadline_word", [("ko", "퀴즈", "마감"), ("en", "Quiz", "Deadline")])
def test_the_worksheet_says_which_quiz_when_it_is_due_and_how_to_submit(tmp_path, lang, quiz_word, deadline_word):
    """Issue #21 item 12: a printed worksheet carries the quiz's number, title, deadline (with its
    zone) and how to hand the answers in, on every student's page."""
    from quizgen.clock import parse_deadline

    store = open_store(str(tmp_path / "q.db"))
    deadline = parse_deadline("2026-12-08 18:00", "Asia/Seoul")
    plan = QuizPlan(title="점검 퀴즈 *3*", seed=5, count=2, language=lang, deadline=deadline, time_zone="Asia/Seoul")
    quiz_id = create_quiz(store, plan, [RosterEntry("s1", "김민준"), RosterEntry("s2", "이서연")],
                          verify=False).quiz_id
    info, variants = quiz_key(store, quiz_id, all_variants=True)
    store.dispose()
    text = markdown_worksheet(info, variants)
    pages = text.split('<div style="page-break-after: always"></div>')
    assert len(pages) == 3
    for page in pages:
        html = MD.render(page)
        assert f"{quiz_word} {quiz_id}: 점검 퀴즈 *3*" in html  # the title escaped, shown as written
        assert f"{deadline_word}: 2026-12-08 18:00 +09:00 (Asia/Seoul)" in html
        assert f"quizgen submit {quiz_id} --answer 1=" in html
