"""The students' page with a keyboard and a screen reader (WCAG 2.2 AA), in a real
headless Chromium against a real `quizgen serve`: axe-core finds no violation in any
state a student meets (login, wrong token, questions, review, refusal, result), in
Korean and English, 390 px wide and on a desktop; a keyboard-only walk shows that
Enter in a field never spends an attempt (the attempts are counted in the database);
after a refusal the title starts with it and focus is on what to fix; the result table
has real headers. Screenshots of every state are saved (``QUIZGEN_SCREENSHOTS=DIR``
keeps them) for a person to look at."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from .axe import audit, axe_script
from .test_service_page import WORDS, Site, Visit, _open, make_site

WIDTHS = (390, 1280)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("access")
    s = make_site(tmp, str(tmp / "class.db"), only=("ko_full", "en_score", "once"))
    yield s
    s.close()


@pytest.fixture(scope="module")
def screens(tmp_path_factory) -> Path:
    kept = os.environ.get("QUIZGEN_SCREENSHOTS")
    path = Path(kept) if kept else tmp_path_factory.mktemp("screens")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture()
def visit(browser) -> Iterator[Visit]:
    v = _open(browser)
    yield v
    v.context.close()


def _key(page: Any, key: str) -> Any:
    """Press ``key`` and wait for the page it leads to (None when it leads nowhere)."""
    try:
        with page.expect_navigation(timeout=3000) as nav:
            page.keyboard.press(key)
        return nav.value
    except Exception:  # noqa: BLE001 - Playwright's TimeoutError: the key did not navigate
        return None


def _tab_to(page: Any, css: str, limit: int = 80) -> None:
    """Tab (only the keyboard) until the focused element matches ``css``."""
    for _ in range(limit):
        if page.evaluate("sel => document.activeElement && document.activeElement.matches(sel)", css):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {css}")


def _focused(page: Any) -> str:
    return page.evaluate("document.activeElement.id || document.activeElement.tagName")


def _focus_lands_on(page: Any, expected: str) -> str:
    """Where focus is once Chromium has run autofocus: it does so at a rendering update after the
    load event, later on a busy machine; waits (not a timed assertion) up to 30 s, then says where."""
    try:
        page.wait_for_function("id => (document.activeElement.id || document.activeElement.tagName) === id",
                               arg=expected, timeout=30_000)
    except Exception:  # noqa: BLE001 - the assertion below says where focus is instead
        pass
    return _focused(page)


# ---------------------------------------------------------------- the keyboard

def test_enter_in_a_field_never_spends_an_attempt(visit, site):
    sid, quiz = "20260010", "ko_full"
    page = visit.page
    page.goto(site.url + "/?lang=ko")
    assert _focus_lands_on(page, "student") == "student"  # the first field has focus: typing starts at once
    page.keyboard.type(sid)
    page.keyboard.press("Tab")
    page.keyboard.type(site.tokens[sid])
    page.keyboard.press("Tab")
    page.keyboard.type(str(site.quizzes[quiz]))
    assert _key(page, "Enter").status == 200 and page.inner_text("h1") == "점검 퀴즈"
    answers = site.right(quiz, sid)
    # one answer typed, Enter in its field: the review page, nothing spent
    _tab_to(page, "input[name='a:1']")
    page.keyboard.type(answers["1"])
    response = _key(page, "Enter")
    assert response.url.endswith("/review") and page.inner_text("h1") == WORDS["ko"]["review_heading"]
    assert site.attempts(quiz, sid) == 0
    assert page.title().startswith("빈칸 ")  # the blanks are asked about, by name
    note = page.inner_text("#blanks")
    assert "문제 2, 문제 3, " in note  # a question whose every part is blank: by its number
    assert _focused(page) == "BODY"  # nothing focused that Enter would press
    assert _key(page, "Enter") is None and site.attempts(quiz, sid) == 0
    # back to the answers (kept), every one typed with the keyboard, Enter again: review
    _tab_to(page, "form[action=quiz] button")
    assert _key(page, "Enter").url.endswith("/quiz")
    assert page.input_value("input[name='a:1']") == answers["1"]
    for name, value in answers.items():
        _tab_to(page, f"input[name='a:{name}']")
        page.keyboard.press("Control+A")
        page.keyboard.type(value)
    assert _key(page, "Enter").url.endswith("/review") and site.attempts(quiz, sid) == 0
    assert page.locator("#blanks").count() == 0 and WORDS["ko"]["all_answered"] in page.inner_text("main")
    # the one button that submits, reached and pressed with the keyboard
    _tab_to(page, "form[action=submit] button")
    assert page.evaluate("document.activeElement.textContent") == WORDS["ko"]["submit"]
    assert _key(page, "Enter").url.endswith("/submit")
    assert page.inner_text("h1") == WORDS["ko"]["receipt_heading"]
    assert site.attempts(quiz, sid) == 1
    visit.assert_clean(site.url)


def test_blanks_are_asked_about_and_only_a_confirmed_submission_counts(visit, site):
    sid, quiz = "20260011", "en_score"
    visit.login(site, sid, quiz)
    visit.fill({"1": "529,441"})
    visit.review()
    blank = visit.page.input_value("form[action=submit] input[name=blank]").split(",")
    assert "1" not in blank and "2" in blank
    button = visit.page.inner_text("form[action=submit] button")
    assert button == WORDS["en"]["submit_blanks"].format(count=len(blank))
    rows = visit.page.locator("table.results tbody tr").all_inner_texts()
    assert sum(WORDS["en"]["blank"] in r for r in rows) == len(blank)
    # a form that confirms other blanks than the answers leave (an old one-step form, a
    # form changed on the way) is not taken: the review page asks again
    body = {"student": sid, "token": site.tokens[sid], "quiz": site.quizzes[quiz], "lang": "en",
            "idempotency_key": "direct-1", "a:1": "529,441"}
    headers = {"content-type": "application/x-www-form-urlencoded"}
    with httpx.Client(base_url=site.url, trust_env=False) as c:
        for confirmed in (None, ",".join(blank[1:]), ",".join(["9", *blank])):
            sent = body if confirmed is None else {**body, "blank": confirmed}
            r = c.post("/submit", content=urlencode(sent), headers=headers)
            assert r.status_code == 200 and WORDS["en"]["review_heading"] in r.text, confirmed
    assert site.attempts(quiz, sid) == 0
    response = visit.page.expect_navigation
    with response() as nav:
        visit.page.click("form[action=submit] button")
    assert nav.value.status == 200 and visit.page.inner_text("h1") == WORDS["en"]["receipt_heading"]
    assert site.attempts(quiz, sid) == 1
    visit.assert_clean(site.url)


def test_a_refusal_titles_the_page_and_focuses_what_to_fix(visit, site):
    sid, quiz = "20260012", "ko_full"
    page = visit.page
    response = visit.login(site, sid, quiz, token="wrong-token")
    assert response.status == 401
    unauthorized = WORDS["ko"]["errors"]["unauthorized"]
    assert page.title().startswith(unauthorized.split(". ")[0])
    assert _focus_lands_on(page, "token") == "token"
    assert page.get_attribute("#token", "aria-invalid") == "true"
    assert page.get_attribute("#token", "aria-describedby") == "alert"
    assert page.inner_text("#alert").startswith(unauthorized)
    assert page.get_attribute("#student", "aria-invalid") is None
    visit.login(site, sid, quiz)
    answers = site.right(quiz, sid)
    part = next(k for k in answers if "." in k)
    visit.fill({"1": answers["1"], "2": "(None, 32", part: "many"})
    response = visit.review()
    assert response.status == 422 and response.url.endswith("/review")
    assert page.title().startswith(WORDS["ko"]["fix_title"].format(count=2))
    assert _focus_lands_on(page, "a2") == "a2"  # the first answer to fix, in the order of the page
    described = page.get_attribute("#a2", "aria-describedby").split()
    assert described == ["a2_hint", "a2_err"] and page.get_attribute("#a2", "aria-invalid") == "true"
    assert page.input_value(f"input[name='a:{part}']") == "many"  # nothing to type again
    # no answer at all: the alert has focus and names the problem in the title
    for name in ("1", "2", part):
        visit.fill({name: ""})
    assert visit.review().status == 422
    assert page.title().startswith(WORDS["ko"]["errors"]["no_answers"].split(". ")[0])
    assert _focus_lands_on(page, "alert") == "alert"
    assert site.attempts(quiz, sid) == 0
    visit.assert_clean(site.url)


def test_the_result_table_has_real_headers(visit, site):
    sid, quiz = "20260009", "ko_full"
    visit.login(site, sid, quiz)
    answers = site.right(quiz, sid)
    part = next(k for k in answers if "." in k)
    del answers[part]
    visit.fill(answers)
    visit.submit()
    table = visit.page.locator("table.results")
    headers = table.locator("th")
    assert headers.count() > 8
    for n in range(headers.count()):
        th = headers.nth(n)
        assert th.text_content().strip() and th.get_attribute("scope") in ("col", "row")
    assert table.locator("thead th").all_text_contents() == [WORDS["ko"]["question_col"],
                                                             WORDS["ko"]["your_answers"], WORDS["ko"]["result"]]
    slot, n = part.split(".")
    row = table.locator("tbody th").filter(has_text=re.compile(rf"^문제 {slot} \({n}\) "))
    assert row.count() == 1  # a part named by its question, number and wording, not a bare "(1)"
    assert WORDS["ko"]["blank"] in row.locator("xpath=..").inner_text()
    visit.assert_clean(site.url)


# ---------------------------------------------------------------- axe-core, every state

def _states(page: Any, site: Site, quiz: str, sid: str, lang: str) -> Iterator[str]:
    """Walk one student through every state of the page, yielding each state's name."""
    page.goto(f"{site.url}/?lang={lang}")
    yield "login"
    page.fill("#student", sid)
    page.fill("#token", "wrong-token")
    page.fill("#quiz", str(site.quizzes[quiz]))
    with page.expect_navigation():
        page.click("button[type=submit]")
    yield "wrong-token"
    page.fill("#token", site.tokens[sid])
    with page.expect_navigation():
        page.click("button[type=submit]")
    yield "quiz"
    answers = site.right(quiz, sid)
    part = next(k for k in answers if "." in k)
    page.fill("input[name='a:1']", "5.3e5")
    page.fill(f"input[name='a:{part}']", answers[part])
    with page.expect_navigation():
        page.click("form[action=review] button")
    yield "refusal"
    page.fill("input[name='a:1']", answers["1"])
    with page.expect_navigation():
        page.click("form[action=review] button")
    yield "review"
    with page.expect_navigation():
        page.click("form[action=submit] button")
    yield "result"


@pytest.mark.parametrize("lang,quiz", [("ko", "ko_full"), ("en", "en_score")])
def test_axe_finds_no_violation_in_any_student_page_state(browser, site, screens, lang, quiz):
    script = axe_script()
    found = {}
    for width, sid in zip(WIDTHS, ("20260001", "20260002") if lang == "ko" else ("20260003", "20260004")):
        context = browser.new_context(locale=f"{lang}-KR" if lang == "ko" else "en-US", bypass_csp=True,
                                      viewport={"width": width, "height": 900})  # for the audit only
        page = context.new_page()
        try:
            for state in _states(page, site, quiz, sid, lang):
                assert page.get_attribute("html", "lang") == lang
                found[(state, width)] = audit(page, script)
                page.screenshot(path=str(screens / f"page-{lang}-{width}-{state}.png"), full_page=True)
                wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert wide <= 0, (state, width, wide)  # no sideways scroll, 390 px wide too
        finally:
            context.close()
    assert [k for k, v in found.items() if v] == [], {k: v for k, v in found.items() if v}
    assert len(found) == 12


def test_the_audit_finds_what_it_should(browser, site):
    """The positive control: axe in this set-up reports a field with no label and text
    too pale to read, so an empty list above means something."""
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    try:
        page.goto(site.url + "/?lang=en")
        page.evaluate("document.querySelector('label[for=token]').remove();"
                      "document.querySelector('h1').style.color = '#bbb'")
        rules = {v["id"] for v in audit(page, axe_script())}
    finally:
        context.close()
    assert {"label", "color-contrast"} <= rules
