"""The students' page in a real headless Chromium against a real `quizgen serve` on
127.0.0.1 (SQLite; the whole flow once more on PostgreSQL): log in, see the questions
in the quiz's language, submit, read the receipt and as much of the result as the
quiz's feedback policy allows. Also: a wrong token, an unreadable answer (the form
comes back filled in), a form sent twice (one attempt), hostile titles, ids and answers
(shown as text, never run), no cookie, nothing fetched from anywhere but the server,
the Content-Security-Policy, and a page on another origin that cannot submit for a
student."""

from __future__ import annotations

import csv
import io
import json
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from click.testing import CliRunner

from quizgen.cli.main import cli
from quizgen.receipts import verify_receipt
from quizgen.resources import load_json

from .helpers import KINDS, right_answers
from .server import Server, start_server

HOSTILE = "<script>alert(1)</script>"
HOSTILE_ID = "<script>alert(1)</script>\"'&"  # a valid student id: printable, no spaces
HOSTILE_TITLE = "<script>alert(1)</script> \"따옴표\" & 'apos' 퀴즈"
HOSTILE_NAME = "<img src=x onerror=alert(2)> 김&이"
STUDENTS = [
    (f"202600{n:02d}", name)
    for n, name in enumerate(
        [
            "김민준",
            "이서연",
            "박지후",
            "최수아",
            "정예준",
            "강하은",
            "조도윤",
            "윤지아",
            "장시우",
            "임서준",
            "한지민",
            "오하린",
        ],
        start=1,
    )
] + [(HOSTILE_ID, HOSTILE_NAME)]
WORDS = load_json("pages.json")
# A 4xx answer is the page telling the student something; Chromium logs every one.
_STATUS_LOG = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d")


# ---------------------------------------------------------------- a class, served

@dataclass
class Site:
    server: Server
    db: str
    tokens: dict[str, str]
    quizzes: dict[str, int]
    _engine: Any = None

    @property
    def url(self) -> str:
        return self.server.url

    def run(self, *args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(cli, ["--db", self.db, *args])

    def right(self, quiz: str, student: str) -> dict[str, str]:
        out = self.run("key", str(self.quizzes[quiz]), "--student", student, "--json")
        return right_answers(json.loads(out.stdout)["answers"])

    def sql(self, query: str, **params: Any) -> Any:
        from sqlalchemy import create_engine, text

        from quizgen.store.db import resolve_url

        if self._engine is None:
            self._engine = create_engine(resolve_url(self.db))
        with self._engine.connect() as conn:
            return conn.execute(text(query), params).all()

    def attempts(self, quiz: str, student: str) -> int:
        return self.sql("SELECT count(*) FROM attempts a JOIN students s ON s.id = a.student_id "
                        "WHERE a.quiz_id = :q AND s.external_id = :s", q=self.quizzes[quiz], s=student)[0][0]

    def slip(self, quiz: str, student: str, slot: int) -> tuple[str, str]:
        """A wrong answer to a single-answer question that a known slip produces, and the slip."""
        raw = self.sql("SELECT q.slips FROM questions q JOIN variants v ON v.id = q.variant_id "
                       "JOIN students s ON s.id = v.student_id WHERE v.quiz_id = :q AND s.external_id = :s "
                       "AND q.slot = :slot", q=self.quizzes[quiz], s=student, slot=slot)[0][0]
        table = (json.loads(raw) if isinstance(raw, str) else raw)[""]
        value, slip = next(iter(table.items()))
        return f"{json.loads(value):,}", slip

    def close(self) -> None:
        self.server.stop()
        if self._engine is not None:
            self._engine.dispose()


def _roster(path: Path) -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["id", "name", "email"])
    for n, (sid, name) in enumerate(STUDENTS):
        writer.writerow([sid, name, f"s{n}@example.ac.kr"])
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


# name → generate options; every student of the roster is on every quiz
QUIZZES = {
    "ko_full": ["--title", "점검 퀴즈", "--feedback", "full", "--attempts", "3", "--deadline", "2099-01-01 00:00",
                "--tz", "Asia/Seoul"],
    "en_score": ["--title", "Parameter check", "--lang", "en", "--feedback", "score", "--attempts", "3"],
    "ko_none": ["--title", "비공개 퀴즈", "--feedback", "none"],
    "hostile": ["--title", HOSTILE_TITLE, "--feedback", "full"],
    "late": ["--title", "지각 퀴즈", "--feedback", "full", "--deadline", "2020-01-01 00:00", "--allow-past",
             "--late-until", "2099-01-01 00:00", "--tz", "Asia/Seoul"],
    "closed": ["--title", "마감된 퀴즈", "--deadline", "2020-01-01 00:00", "--allow-past", "--tz", "Asia/Seoul"],
    "once": ["--title", "한 번만", "--feedback", "score", "--attempts", "1"],
}


def make_site(tmp: Path, db: str, *serve_args: str, only: tuple[str, ...] = tuple(QUIZZES)) -> Site:
    roster = _roster(tmp / "roster.csv")
    runner = CliRunner()
    out = runner.invoke(cli, ["--db", db, "roster", "import", str(roster), "--json"])
    assert out.exit_code == 0, out.output
    tokens = {t["id"]: t["token"] for t in json.loads(out.stdout)}
    quizzes = {}
    for n, (name, options) in enumerate(QUIZZES.items()):
        if name not in only:
            continue
        made = runner.invoke(cli, ["--db", db, "generate", "--count", "6", "--seed", str(11 + n), "--kind", KINDS,
                                   "--students", str(roster), "--no-verify", "--json", *options])
        assert made.exit_code == 0, made.output
        quizzes[name] = json.loads(made.stdout)["id"]
    return Site(start_server(db, tmp, *serve_args), db, tokens, quizzes)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("page")
    s = make_site(tmp, str(tmp / "class.db"))
    yield s
    s.close()


# ---------------------------------------------------------------- a student's browser

@dataclass
class Visit:
    """One student's browser window: a fresh context (its own cookie jar), recording every
    request, console message and dialog, so a test can say none went wrong."""

    context: Any
    page: Any
    dialogs: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)

    def login(self, site: Site, student: str, quiz: str | int, token: str | None = None) -> Any:
        self.page.goto(site.url + "/")
        self.page.fill("#student", student)
        self.page.fill("#token", site.tokens.get(student, "") if token is None else token)
        self.page.fill("#quiz", str(site.quizzes.get(quiz, quiz) if isinstance(quiz, str) else quiz))
        with self.page.expect_navigation() as nav:
            self.page.click("button[type=submit]")
        return nav.value

    def fill(self, answers: dict[str, str]) -> None:
        for key, value in answers.items():
            self.page.fill(f"input[name='a:{key}']", value)

    def review(self) -> Any:
        """The questions form's only button: shows the answers back, spends nothing."""
        with self.page.expect_navigation() as nav:
            self.page.click("form[action=review] button[type=submit]")
        return nav.value

    def submit(self) -> Any:
        """Review, then (when the review page came) its submit button, blanks and all:
        the answer of the last step."""
        response = self.review()
        if self.page.locator("form[action=submit] button[type=submit]").count() == 0:
            return response  # the questions came back: nothing to submit
        with self.page.expect_navigation() as nav:
            self.page.click("form[action=submit] button[type=submit]")
        return nav.value

    def text(self) -> str:
        return self.page.inner_text("body")

    def values(self) -> dict[str, str]:
        return {name[2:]: value for name, value in self.page.eval_on_selector_all(
            "input[name^='a:']", "els => els.map(e => [e.name, e.value])")}

    def assert_clean(self, *origins: str) -> None:
        """No dialog opened, no console error but 4xx answers, no cookie, and every request
        went to ``origins`` (the quiz server unless told)."""
        assert self.dialogs == []
        assert [m for m in self.console if not _STATUS_LOG.match(m)] == []
        assert self.context.cookies() == []
        allowed = {urlsplit(o).netloc for o in origins}
        assert self.urls and all(urlsplit(u).hostname == "127.0.0.1" and urlsplit(u).netloc in allowed
                                 for u in self.urls), self.urls


@pytest.fixture()
def visit(browser, site) -> Iterator[Visit]:
    v = _open(browser)
    yield v
    v.context.close()


def _open(browser: Any, locale: str = "ko-KR") -> Visit:
    context = browser.new_context(locale=locale, viewport={"width": 1000, "height": 900})
    page = context.new_page()
    v = Visit(context, page)
    page.on("dialog", lambda d: (v.dialogs.append(d.message), d.dismiss()))
    page.on("console", lambda m: v.console.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: v.console.append(f"pageerror: {e}"))
    context.on("request", lambda r: v.urls.append(r.url))
    return v


def _csp(headers: dict[str, str]) -> dict[str, str]:
    return {d.split()[0]: d.strip() for d in headers["content-security-policy"].split(";") if d.strip()}


# ---------------------------------------------------------------- tests

def test_the_first_page_speaks_the_browsers_language_and_sends_the_policy(browser, site, tmp_path):
    for locale, lang in (("ko-KR", "ko"), ("en-US", "en")):
        v = _open(browser, locale)
        try:
            response = v.page.goto(site.url + "/")
            assert v.page.get_attribute("html", "lang") == lang
            assert v.page.inner_text("h1") == WORDS[lang]["login_heading"]
            assert v.page.locator("label[for=token]").inner_text() == WORDS[lang]["token"]
            other = "en" if lang == "ko" else "ko"
            with v.page.expect_navigation():
                v.page.click(f"a[lang={other}]")
            assert v.page.get_attribute("html", "lang") == other and v.page.url.endswith(f"/?lang={other}")
            if lang == "ko":
                v.page.goto(site.url + "/?lang=ko")
                v.page.screenshot(path=str(tmp_path / "login.png"), full_page=True)
            headers = response.all_headers()
            csp = _csp(headers)
            assert csp["default-src"] == "default-src 'none'" and "script-src" not in csp
            assert csp["frame-ancestors"] == "frame-ancestors 'none'" and csp["form-action"] == "form-action 'self'"
            assert headers["x-frame-options"] == "DENY" and headers["cache-control"] == "no-store"
            assert "set-cookie" not in headers
            assert v.page.evaluate("document.scripts.length") == 0
            v.assert_clean(site.url)
        finally:
            v.context.close()
    assert (tmp_path / "login.png").stat().st_size > 5000


_HANGUL_FONT = re.compile(r"Nanum|Noto Sans (CJK )?KR|Malgun|Apple SD Gothic|Baekmuk|UnDotum|Gulim|Dotum|Batang")


def test_korean_text_is_drawn_with_a_hangul_font(visit, site):
    """Every Hangul syllable of the first page, bold or not, is drawn by a font that has
    Hangul: the student's own, or the one the server offers (never empty boxes)."""
    visit.page.goto(site.url + "/?lang=ko")
    visit.page.evaluate("document.fonts.ready")
    cdp = visit.context.new_cdp_session(visit.page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    for selector in ("h1", "main > p", "label[for=student]", "button"):
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        text = visit.page.inner_text(selector)
        hangul = sum("\uac00" <= ch <= "\ud7a3" for ch in text)
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        drawn = sum(f["glyphCount"] for f in fonts if f["isCustomFont"] or _HANGUL_FONT.search(f["familyName"]))
        # a Hangul font may draw the spaces and Latin letters too (when the machine has one installed);
        # what must never happen is a font without Hangul drawing more than the text's other characters
        others = sum(f["glyphCount"] for f in fonts) - drawn
        assert hangul > 0 and drawn >= hangul and others <= len(text) - hangul, (selector, fonts)
    visit.assert_clean(site.url)


def test_a_student_submits_a_korean_quiz_and_sees_the_full_result(visit, site, tmp_path):
    sid, quiz = "20260001", "ko_full"
    response = visit.login(site, sid, quiz)
    assert response.status == 200 and visit.page.get_attribute("html", "lang") == "ko"
    with httpx.Client(base_url=site.url, trust_env=False) as c:  # what the JSON API shows the same student
        api = c.get(f"/api/v1/quizzes/{site.quizzes[quiz]}",
                    headers={"Authorization": f"Bearer {sid}:{site.tokens[sid]}"}).json()
    assert visit.page.inner_text("h1") == "점검 퀴즈"
    text = visit.text()
    assert "```" not in text and "파라미터" in text
    _assert_rendered(visit.page, api["questions"], "ko")
    assert "2099-01-01 00:00 +09:00 (Asia/Seoul)" in text and "3회 중 0회 사용, 3회 남음" in text
    assert WORDS["ko"]["policy_full"] in text
    # one input per answer or part, labelled with the part's own wording
    parts = [q for q in api["questions"] if q["response"]["type"] == "parts"]
    assert len(visit.values()) == sum(len(q["response"]["parts"]) if q in parts else 1 for q in api["questions"])
    first = parts[0]
    label = first["response"]["parts"][1]["label"]["ko"]
    assert visit.page.text_content(f"label[for=a{first['slot']}_2]") == f"문제 {first['slot']} (2) {label}"
    visit.page.screenshot(path=str(tmp_path / "questions.png"), full_page=True)

    answers = site.right(quiz, sid)
    wrong, slip = site.slip(quiz, sid, 1)
    answers["1"] = wrong
    visit.fill(answers)
    response = visit.submit()
    assert response.status == 200
    assert visit.page.inner_text("h1") == WORDS["ko"]["receipt_heading"]
    summary = visit.page.inner_text("table.summary")
    points = sum(q["points"] for q in api["questions"])
    assert f"{points - api['questions'][0]['points']} / {points}" in summary and "마감 전 제출" in summary
    assert "3회 중 1회 사용, 2회 남음" in summary
    rows = visit.page.locator("table.results tr.qrow").all_inner_texts()
    assert rows[0].startswith("문제 1") and wrong in rows[0] and "오답" in rows[0]
    assert all("정답" in r for r in rows[1:])
    assert load_json("misconceptions.json")["ko"][slip] in visit.text()  # the slip, named in Korean
    receipt = json.loads(visit.page.inner_text("main > pre"))
    with httpx.Client(base_url=site.url, trust_env=False) as c:
        key = c.get("/api/v1/receipt-key").json()
    assert verify_receipt(receipt, key["public_key"]) and receipt["student"] == sid and receipt["attempt"] == 1
    visit.page.screenshot(path=str(tmp_path / "receipt.png"), full_page=True)
    assert site.attempts(quiz, sid) == 1
    visit.assert_clean(site.url)
    for shot in ("questions", "receipt"):
        assert (tmp_path / f"{shot}.png").stat().st_size > 20000


def _assert_rendered(page: Any, questions: list[dict], lang: str) -> None:
    """Each prompt drawn as its Markdown says: prose in paragraphs and lists in the page's
    font, every fenced block as a code block (its text exactly the code), no fence shown,
    and each part's wording once, as its field's label, which a screen reader hears with
    the question's number and the part's ("문제 4 (2) 1번째 층 Embedding의 Param #")."""
    body_font = page.evaluate("getComputedStyle(document.body).fontFamily")
    word = WORDS[lang]["question"]
    for q in questions:
        section = page.locator("section.q").nth(q["slot"] - 1)
        fenced = re.findall(r"```[a-z]*\n(.*?)\n```", q["prompt"], re.S)
        codes = section.locator(".prompt pre code").all_inner_texts()
        assert [c.rstrip("\n") for c in codes] == fenced
        prose = section.locator(".prompt > p, .prompt li")
        assert prose.count() >= 1
        assert prose.first.evaluate("e => getComputedStyle(e).fontFamily") == body_font
        assert "monospace" not in body_font
        assert prose.first.inner_text().strip() == q["prompt"].split("\n")[0].strip()
        parts = q["response"].get("parts") or []
        for n, part in enumerate(parts, start=1):
            label = part["label"][lang]
            assert page.inner_text("main").count(f"({n}) {label}") == 1, label
            field = page.get_by_role("textbox", name=f"{word} {q['slot']} ({n}) {label}", exact=True)
            assert field.count() == 1 and field.get_attribute("name") == f"a:{q['slot']}.{n}"
        if not parts:
            assert page.get_by_role("textbox", name=f"{word} {q['slot']} {WORDS[lang]['answer']}",
                                    exact=True).count() == 1
        for field in section.locator("input[name^='a:']").all():
            hint = field.get_attribute("aria-describedby").split()[0]
            assert section.locator(f"#{hint}").inner_text().strip()
        assert section.locator(".prompt").inner_text().count("(1) ") == 0 or not parts


def test_an_english_quiz_with_the_score_policy_shows_the_score_only(visit, site):
    sid, quiz = "20260002", "en_score"
    visit.login(site, sid, quiz)
    assert visit.page.get_attribute("html", "lang") == "en"
    assert visit.page.inner_text("h1") == "Parameter check"
    text = visit.text()
    assert "Question 1" in text and "Attempts\t0 of 3 used, 3 left" in text and WORDS["en"]["policy_score"] in text
    assert "문제" not in text and "(1 pt)" in text
    visit.fill(site.right(quiz, sid))
    visit.submit()
    assert visit.page.inner_text("h1") == "Submitted"
    summary = visit.page.inner_text("table.summary")
    assert re.search(r"Score\t(\d+) / \1", summary), summary  # all right: full marks
    assert WORDS["en"]["score_only"] in visit.text()
    results = visit.page.inner_text("table.results")
    assert "right" not in results and "wrong" not in results  # the policy hides per-question results
    assert site.attempts(quiz, sid) == 1
    visit.assert_clean(site.url)


def test_the_none_policy_shows_nothing_but_the_receipt(visit, site):
    sid, quiz = "20260003", "ko_none"
    visit.login(site, sid, quiz)
    visit.fill({"1": "5"})
    visit.submit()
    assert visit.page.inner_text("h1") == WORDS["ko"]["receipt_heading"]
    text = visit.text()
    assert WORDS["ko"]["graded_later"] in text and "점수" not in visit.page.inner_text("table.summary")
    assert "정답" not in text and "오답" not in text
    assert json.loads(visit.page.inner_text("main > pre"))["attempt"] == 1
    assert site.attempts(quiz, sid) == 1
    visit.assert_clean(site.url)


def test_a_wrong_token_is_refused_and_nothing_is_stored(visit, site):
    sid, quiz = "20260004", "ko_full"
    response = visit.login(site, sid, quiz, token="not-the-token")
    assert response.status == 401 and visit.page.get_attribute("html", "lang") == "ko"
    assert WORDS["ko"]["errors"]["unauthorized"] in visit.page.inner_text("[role=alert]")
    assert visit.page.input_value("#student") == sid and visit.page.input_value("#token") == ""
    assert visit.page.input_value("#quiz") == str(site.quizzes[quiz])
    # the right token then works; a token changed inside the form is refused at submit
    visit.page.fill("#token", site.tokens[sid])
    with visit.page.expect_navigation():
        visit.page.click("button[type=submit]")
    visit.fill({"1": "5"})
    visit.page.locator("input[name=token]").evaluate("e => e.value = 'forged'")
    response = visit.submit()
    assert response.status == 401 and WORDS["ko"]["errors"]["unauthorized"] in visit.text()
    assert site.attempts(quiz, sid) == 0
    visit.assert_clean(site.url)


def test_an_unreadable_answer_brings_the_form_back_filled_in(visit, site, tmp_path):
    sid, quiz = "20260005", "ko_full"
    visit.login(site, sid, quiz)
    key = visit.page.input_value("input[name=idempotency_key]")
    answers = site.right(quiz, sid)
    part = next(k for k in answers if "." in k)
    answers["1"], answers[part] = "5.3e5", HOSTILE
    visit.fill(answers)
    response = visit.submit()
    assert response.status == 422
    assert visit.values() == answers  # nothing to type again
    assert visit.page.input_value("input[name=idempotency_key]") == key
    alert = visit.page.inner_text("[role=alert]")
    assert WORDS["ko"]["errors"]["invalid_answers"] in alert and "문제 1" in alert
    for name in ("1", part):
        dom = "a" + name.replace(".", "_")
        assert visit.page.get_attribute(f"#{dom}", "aria-invalid") == "true"
        assert visit.page.inner_text(f"#{dom}_err").startswith(WORDS["ko"]["bad_answer"])
    assert "'5.3e5'는 정수가 아닙니다" in visit.page.inner_text("#a1_err")  # the parser speaks the quiz's language
    assert HOSTILE in visit.page.inner_text(f"#a{part.replace('.', '_')}_err")
    others = [k for k in answers if k not in ("1", part)]
    assert all(visit.page.get_attribute(f"#a{k.replace('.', '_')}", "aria-invalid") is None for k in others)
    visit.page.screenshot(path=str(tmp_path / "invalid.png"), full_page=True)
    assert site.attempts(quiz, sid) == 0
    visit.fill({"1": "529,441", part: "1"})
    visit.submit()
    assert visit.page.inner_text("h1") == WORDS["ko"]["receipt_heading"]
    assert site.attempts(quiz, sid) == 1
    visit.assert_clean(site.url)


def test_a_form_sent_twice_is_one_attempt(visit, site):
    sid, quiz = "20260006", "ko_full"
    visit.login(site, sid, quiz)
    visit.fill({"1": "529,441", "2": "(None, 32)"})
    posted = []
    visit.page.on("request", lambda r: posted.append(r.post_data) if r.url.endswith("/submit") else None)
    first = visit.submit()
    receipt = json.loads(visit.page.inner_text("main > pre"))
    assert first.status == 200 and WORDS["ko"]["replayed"] not in visit.text()
    # the browser sends it again (reload of the receipt: "confirm form resubmission")
    again = visit.page.reload()
    assert again.request.method == "POST" and again.status == 200
    assert WORDS["ko"]["replayed"] in visit.text()
    assert json.loads(visit.page.inner_text("main > pre")) == receipt
    # the same form body, posted twice more at once (a double click while the first is on its way)
    body = posted[0]
    headers = {"content-type": "application/x-www-form-urlencoded"}
    results: list[int] = []

    def post() -> None:
        with httpx.Client(base_url=site.url, trust_env=False, timeout=30) as c:
            results.append(c.post("/submit", content=body, headers=headers).status_code)

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200, 200]
    assert site.attempts(quiz, sid) == 1
    # a changed answer under the same key is not a replay: the form comes back, changes kept,
    # with a fresh key, and nothing is stored
    changed = body.replace("a%3A1=529%2C441", "a%3A1=529%2C442")
    assert changed != body
    visit.page.goto(site.url + "/")  # a page of the site, to post from
    response = visit.context.request.post(site.url + "/submit", data=changed, headers=headers)
    assert response.status == 422
    page = response.text()
    assert WORDS["ko"]["errors"]["idempotency_key_reused"] in page and 'value="529,442"' in page
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    assert key not in body
    assert site.attempts(quiz, sid) == 1
    # a form that gives one field twice (the page never does): neither value is taken
    twice = visit.context.request.post(site.url + "/submit", data=changed + "&a%3A1=5", headers=headers)
    assert twice.status == 400 and site.attempts(quiz, sid) == 1
    visit.assert_clean(site.url)


def test_hostile_titles_ids_and_answers_are_text_and_never_run(visit, site):
    quiz = "hostile"
    response = visit.login(site, HOSTILE_ID, quiz)
    assert response.status == 200
    assert visit.page.title() == HOSTILE_TITLE and visit.page.inner_text("h1") == HOSTILE_TITLE
    assert HOSTILE_ID in visit.page.inner_text("main > p.meta")
    assert visit.page.input_value("input[name=student]") == HOSTILE_ID
    assert visit.page.evaluate("document.scripts.length") == 0
    visit.fill({"1": HOSTILE})
    visit.submit()
    assert visit.values()["1"] == HOSTILE and HOSTILE in visit.page.inner_text("#a1_err")
    visit.fill({"1": "1"})
    visit.submit()
    assert visit.page.inner_text("h1") == WORDS["ko"]["receipt_heading"]
    assert HOSTILE_TITLE in visit.text() and HOSTILE_ID in visit.text()
    assert json.loads(visit.page.inner_text("main > pre"))["student"] == HOSTILE_ID
    # typed into the first page: a wrong token and a hostile quiz number come back as text
    number = "\"'><i>x</i>&"  # as much as the quiz field takes
    visit.login(site, HOSTILE_ID, number, token="wrong")
    assert visit.page.input_value("#student") == HOSTILE_ID and visit.page.input_value("#quiz") == number
    visit.login(site, HOSTILE_ID, number)
    assert visit.page.input_value("#quiz") == number and WORDS["ko"]["errors"]["not_found"] in visit.text()
    assert visit.page.locator("i").count() == 0
    assert visit.page.evaluate("document.scripts.length") == 0
    assert site.attempts(quiz, HOSTILE_ID) == 1
    visit.assert_clean(site.url)  # no dialog, no console error (a blocked script would log one)


def test_closed_late_and_spent_quizzes_say_so(visit, site):
    sid = "20260007"
    visit.login(site, sid, "closed")
    assert "2020-01-01 00:00 +09:00 (Asia/Seoul)" in visit.page.inner_text("[role=status]")
    assert visit.page.locator("input[name^='a:']").count() == 0  # no form to fill in vain
    visit.login(site, sid, "late")
    note = visit.page.inner_text("p.note")
    assert "2020-01-01 00:00 +09:00 (Asia/Seoul)" in note and "지각" in note
    assert "지각 제출 가능\t2099-01-01 00:00 +09:00 (Asia/Seoul)" in visit.text()
    visit.fill({"1": "1"})
    visit.submit()
    assert WORDS["ko"]["late"] in visit.page.inner_text("table.summary")
    visit.login(site, sid, "once")
    visit.fill({"1": "1"})
    visit.submit()
    assert visit.page.locator("text=" + WORDS["ko"]["again"]).count() == 0  # no attempt left to offer
    visit.login(site, sid, "once")
    assert WORDS["ko"]["closed_attempts"].format(limit=1) in visit.text()
    assert visit.page.locator("input[name^='a:']").count() == 0
    assert [site.attempts(q, sid) for q in ("closed", "late", "once")] == [0, 1, 1]
    visit.assert_clean(site.url)


# ---------------------------------------------------------------- another site

_ATTACKER = """<!doctype html><html><head><meta charset="utf-8"><title>free answers</title></head><body>
<form id="anon" method="post" action="{url}/submit">{fields}<button id="go-anon">go</button></form>
<form id="with-token" method="post" action="{url}/submit">{fields}
<input type="hidden" name="token" value="{token}"><button id="go-token">go</button></form>
<iframe id="framed" src="{url}/"></iframe></body></html>"""


class _Attacker(BaseHTTPRequestHandler):
    page = b""

    def do_GET(self) -> None:  # noqa: N802 - the http.server hook's name
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, *args: Any) -> None:
        pass


def test_a_page_on_another_origin_cannot_submit_for_a_student(visit, site):
    sid, quiz = "20260008", "ko_full"
    fields = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in {
        "student": sid, "quiz": site.quizzes[quiz], "lang": "ko", "idempotency_key": str(uuid.uuid4()),
        "a:1": "1"}.items())
    handler = type("Handler", (_Attacker,), {"page": _ATTACKER.format(url=site.url, fields=fields,
                                                                        token=site.tokens[sid]).encode()})
    attacker = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=attacker.serve_forever, daemon=True).start()
    other = f"http://127.0.0.1:{attacker.server_address[1]}"
    failures = site.sql("SELECT count(*) FROM login_failures")[0][0]
    try:
        for button in ("#go-anon", "#go-token"):  # without the token, and even with it
            visit.page.goto(other + "/")
            with visit.page.expect_navigation() as nav:
                visit.page.click(button)
            assert nav.value.status == 403 and nav.value.request.all_headers()["sec-fetch-site"] == "same-site"
            assert WORDS["ko"]["errors"]["cross_site"] in visit.text()
        # and nothing of the quiz server shows inside the other page
        visit.page.goto(other + "/")
        frame = visit.page.frame_locator("#framed")
        assert frame.locator("form").count() == 0
        assert any("frame-ancestors" in m or "X-Frame-Options" in m for m in visit.console)
    finally:
        attacker.shutdown()
        attacker.server_close()
    assert site.attempts(quiz, sid) == 0
    assert site.sql("SELECT count(*) FROM login_failures")[0][0] == failures  # refused before any token was read
    visit.console[:] = [m for m in visit.console if "frame" not in m.lower()]
    visit.assert_clean(site.url, other)


# ---------------------------------------------------------------- without a browser

def test_page_errors_in_the_language_asked_for_and_no_cookie_ever(site):
    form = {"content-type": "application/x-www-form-urlencoded"}
    with httpx.Client(base_url=site.url, trust_env=False, follow_redirects=False) as c:
        r = c.post("/quiz", content=urlencode({"student": "20260009", "token": site.tokens["20260009"],
                                               "quiz": "999", "lang": "en"}), headers=form)
        assert r.status_code == 404 and '<html lang="en">' in r.text and WORDS["en"]["errors"]["not_found"] in r.text
        assert f'value="{site.tokens["20260009"]}"' in r.text  # a wrong quiz number costs no retyping
        r = c.post("/quiz", content=b"{}", headers={"content-type": "application/json", "accept-language": "en"})
        assert r.status_code == 415 and WORDS["en"]["errors"]["bad_form"] in r.text
        r = c.post("/submit", content=urlencode({"student": "20260009", "token": site.tokens["20260009"],
                                                 "quiz": site.quizzes["en_score"], "a:1": "5"}), headers=form)
        assert r.status_code == 400 and WORDS["ko"]["errors"]["bad_form"] in r.text  # no idempotency key
        r = c.post("/submit", content=urlencode({"student": "20260009", "token": site.tokens["20260009"],
                                                 "quiz": site.quizzes["en_score"], "lang": "en",
                                                 "idempotency_key": "k1"}), headers=form)
        assert r.status_code == 422 and WORDS["en"]["errors"]["no_answers"] in r.text
        for path in ("/quiz", "/submit"):
            r = c.get(path)
            assert r.status_code == 303 and r.headers["location"] == "./"
        font = c.get("/fonts/hangul.woff")
        assert font.status_code == 200 and font.content[:4] == b"wOFF"
        assert "no-store" not in font.headers["cache-control"] and "content-security-policy" in font.headers
        assert c.cookies.jar is not None and len(c.cookies.jar) == 0
    assert site.attempts("en_score", "20260009") == 0


def _blanks_but_1(site: Site, quiz: str, sid: str) -> str:
    """The review page's confirmation of every answer but question 1's left blank."""
    with httpx.Client(base_url=site.url, trust_env=False) as c:
        view = c.get(f"/api/v1/quizzes/{site.quizzes[quiz]}",
                     headers={"Authorization": f"Bearer {sid}:{site.tokens[sid]}"}).json()
    keys = [f"{q['slot']}.{n}" for q in view["questions"]
            for n in range(1, len(q["response"].get("parts") or []) + 1)]
    keys += [str(q["slot"]) for q in view["questions"] if q["response"]["type"] != "parts"]
    return ",".join(sorted(k for k in keys if k != "1"))


def test_rate_limits_and_login_throttling_read_as_sentences_with_the_answers_kept(tmp_path):
    site = make_site(tmp_path, str(tmp_path / "class.db"), "--rate-limit", "1/600", only=("en_score",))
    form = {"content-type": "application/x-www-form-urlencoded"}
    try:
        sid = "20260001"
        base = {"student": sid, "token": site.tokens[sid], "quiz": site.quizzes["en_score"], "lang": "en",
                "blank": _blanks_but_1(site, "en_score", sid)}  # the rest left blank, as the review page confirms
        with httpx.Client(base_url=site.url, trust_env=False) as c:
            first = c.post("/submit", content=urlencode({**base, "idempotency_key": "a", "a:1": "5"}), headers=form)
            second = c.post("/submit", content=urlencode({**base, "idempotency_key": "b", "a:1": "6"}), headers=form)
            assert first.status_code == 200 and second.status_code == 429
            assert 1 <= int(second.headers["retry-after"]) <= 601
            assert re.search(r"Try again in \d+ s; your answers are kept", second.text)
            assert 'name="a:1"' in second.text and 'value="6"' in second.text and 'value="b"' in second.text
            guesses = [c.post("/quiz", content=urlencode({**base, "student": "20260002", "token": f"guess{n}"}),
                              headers=form).status_code for n in range(21)]
            assert guesses[:20] == [401] * 20 and guesses[20] == 429
            throttled = c.post("/quiz", content=urlencode({**base, "student": "20260002", "token": "x"}), headers=form)
            assert re.search(r"Too many failed logins. Try again in \d+ s", throttled.text)
        assert site.attempts("en_score", sid) == 1
    finally:
        site.close()


def test_the_whole_flow_on_postgresql(browser, pg_server, tmp_path):
    site = make_site(tmp_path, pg_server.new_database(), "--key-file", str(tmp_path / "receipt.key"), only=("ko_full",))
    v = _open(browser)
    try:
        sid, quiz = "20260001", "ko_full"
        v.login(site, sid, quiz)
        v.fill(site.right(quiz, sid))
        v.submit()
        assert re.search(r"점수\t(\d+) / \1", v.page.inner_text("table.summary"))  # full marks
        v.page.reload()
        assert WORDS["ko"]["replayed"] in v.text()
        assert site.attempts(quiz, sid) == 1
        v.assert_clean(site.url)
    finally:
        v.context.close()
        site.close()


def test_a_shape_fields_example_is_its_hints_never_none_for_a_fixed_batch():
    """Issue #21 item 7 on the page: a question whose batch is fixed shows an example with a
    number in its empty field, as its hint does, not the general (None, 30, 100)."""
    from quizgen.service.page_views import AnswerField, _placeholder, words

    w = words("ko")
    fixed = AnswerField("a:2", "a2", 2, None, None, "shape", "답", "크기는 배치 축부터 쓰세요. 예: (4, 20, 32)")
    open_ = AnswerField("a:3", "a3", 3, None, None, "shape", "답",
                        "크기는 배치 축부터 쓰세요. 배치 크기를 정하지 않은 축은 None입니다. 예: (None, 30, 100)")
    count = AnswerField("a:1", "a1", 1, None, None, "count", "답", "답은 정수로 쓰세요. 예: 529441 또는 529,441")
    assert _placeholder(fixed, w) == "예: (4, 20, 32)"
    assert _placeholder(open_, w) == "예: (None, 30, 100)"
    assert _placeholder(count, w) == w["placeholder_count"]
