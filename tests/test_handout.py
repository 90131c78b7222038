"""Printed handouts (quizgen handout), read back the way a person or a grader would: the PDF's
text with pypdf (every student's name and the Hangul intact, each student on their own
pages with "n/N" footers), the QR code decoded, and printed tokens tried against the
library's own ``authenticate``. A token reaches the database only after its PDF is written;
if it cannot be saved, the PDF is removed again."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quizgen.classroom.handouts import HandoutRequest, key_path, print_handouts
from quizgen.classroom.students import AuthError, authenticate
from quizgen.exports import handout as handout_module
from quizgen.exports.handout import Handouts, Sheet, SheetQuestion, handout_pdf, prompt_segments
from quizgen.exports.typeset import CODE, Fonts, font_files, new_pdf, wrap, wrap_code
from quizgen.questions.records import QuizInfo
from quizgen.resources import load_json
from quizgen.store.db import open_store

from .helpers import Klass, make_class

pypdf = pytest.importorskip("pypdf")

URL = "https://quiz.example.ac.kr"
LONG_NAME = "가나다라마바사아자차카타파하거너더러머버서어저처커터퍼허고노"  # 30 syllables
TOKEN = re.compile(r"^[A-Za-z0-9_-]{22}$")


@pytest.fixture(scope="module")
def klass(tmp_path_factory) -> Klass:
    tmp = tmp_path_factory.mktemp("handout")
    k = make_class(tmp, "--deadline", "2027-12-01 18:00", "--tz", "Asia/Seoul")
    assert k.run("roster", "add", "--id", "20260005", "--name", LONG_NAME).exit_code == 0
    assert k.run("quiz", "add-students", str(k.quiz), "--student", "20260005", "--no-verify").exit_code == 0
    return k


def names(klass: Klass) -> dict[str, str]:
    return {s["id"]: s["name"] for s in json.loads(klass.run("roster", "list", "--json").stdout)}


def pages(path: Path) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(str(path)).pages]


FOOTER = re.compile(r"\((\d+)\) (\d+)/(\d+)쪽$")


def groups(texts: list[str]) -> list[tuple[str, list[str]]]:
    """The pages, grouped by the student their footer names; the footers' n/N checked."""
    out: list[tuple[str, list[str]]] = []
    for text in texts:
        m = FOOTER.search(text.rstrip())
        assert m, text[-200:]
        student, n, total = m.group(1), int(m.group(2)), int(m.group(3))
        if n == 1:
            out.append((student, []))
        assert out and out[-1][0] == student and len(out[-1][1]) == n - 1, "a student's pages run together"
        out[-1][1].append(text)
        assert n <= total
    for _, group in out:
        assert FOOTER.search(group[-1].rstrip()).group(2) == FOOTER.search(group[-1].rstrip()).group(3)  # type: ignore[union-attr]
    return out


def works(db: Path | str, student: str, token: str) -> bool:
    store = open_store(str(db))
    try:
        with store.read() as session:
            authenticate(session, student, token)
        return True
    except AuthError:
        return False
    finally:
        store.dispose()


def test_each_student_from_a_new_page_with_name_hangul_and_footers(klass, tmp_path):
    out = tmp_path / "handouts.pdf"
    result = klass.run("handout", str(klass.quiz), "-o", str(out), "--server-url", URL)
    assert result.exit_code == 0, result.output
    assert "5 student(s)" in result.stderr
    grouped = groups(pages(out))
    everyone = names(klass)
    assert [s for s, _ in grouped] == sorted(everyone)
    for student, group in grouped:
        first, whole = group[0], "\n".join(group)
        assert "점검 퀴즈" in first and f"퀴즈 {klass.quiz} · 6문항" in first
        assert "마감: 2027-12-01 18:00 +09:00 (Asia/Seoul)" in first
        assert everyone[student] in first and student in first
        assert everyone[student] in group[-1].rstrip().splitlines()[-1]  # the footer names them too
        for slot in range(1, 7):
            assert f"문제 {slot} " in whole
        assert "파라미터" in whole and "은닉 상태" in whole  # Hangul text intact
        assert "제출 방법" in whole and URL in whole
        assert "자르는 선" not in whole  # no token slip without --with-tokens
        assert "풀이" not in whole and "정답" not in whole  # never the key
    assert LONG_NAME in "\n".join(dict(grouped)["20260005"][0].splitlines()[:12])


def test_the_qr_code_is_the_url_and_nothing_else(klass, tmp_path):
    zxingcpp = pytest.importorskip("zxingcpp", reason="no QR decoder installed (pip install zxing-cpp)")
    out = tmp_path / "one.pdf"
    assert klass.run("handout", str(klass.quiz), "-o", str(out), "--server-url", URL + "/",
                     "--student", "20260001", "--with-tokens").exit_code == 0
    reader = pypdf.PdfReader(str(out))
    images = [img for page in reader.pages for img in page.images]
    assert images, "the first page shows the QR code"
    decoded = {r.text for img in images for r in zxingcpp.read_barcodes(img.image)}
    assert decoded == {URL}  # the canonical URL: no token, no student id, no query


def test_with_tokens_issues_fresh_tokens_on_slips(klass, tmp_path):
    out = tmp_path / "tokens.pdf"
    before = {s: _token_hash(klass, s) for s in ("20260001", "20260002")}
    result = klass.run("handout", str(klass.quiz), "-o", str(out), "--server-url", URL, "--student", "20260002",
                       "--student", "20260001", "--with-tokens", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["tokens_issued"] == 2 and report["students"] == ["20260001", "20260002"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    for student, group in groups(pages(out)):
        slip = next(p for p in group if "자르는 선" in p)
        token = slip.split("\n토큰\n")[1].split("\n")[0]
        assert TOKEN.match(token), slip
        assert sum(token in p for p in group) == 1  # only on the slip, never in a URL or command
        page = int(re.search(r"토큰은 (\d+)쪽 아래의 토큰 쪽지에 있습니다", "\n".join(group)).group(1))  # type: ignore[union-attr]
        assert "자르는 선" in group[page - 1]
        assert works(klass.db, student, token)
        assert not works(klass.db, student, klass.tokens[student])
        klass.tokens[student] = token  # for the tests after this one
    assert {s: _token_hash(klass, s) for s in before} != before
    assert works(klass.db, "20260003", klass.tokens["20260003"])  # not printed: untouched


def _token_hash(klass: Klass, student: str) -> str:
    con = sqlite3.connect(klass.db)
    try:
        return con.execute("SELECT token_hash FROM students WHERE external_id = ?", (student,)).fetchone()[0]
    finally:
        con.close()


def test_a_pdf_that_cannot_be_written_changes_no_token(klass, tmp_path):
    hashes = {s: _token_hash(klass, s) for s in klass.tokens}
    result = klass.run("handout", str(klass.quiz), "-o", str(tmp_path / "missing" / "h.pdf"), "--server-url", URL,
                       "--with-tokens")
    assert result.exit_code == 1 and "does not exist" in result.stderr
    assert {s: _token_hash(klass, s) for s in klass.tokens} == hashes


def test_tokens_that_cannot_be_saved_take_their_pdf_with_them(klass, tmp_path, monkeypatch):
    monkeypatch.setenv("QUIZGEN_BUSY_TIMEOUT_MS", "300")
    out = tmp_path / "busy.pdf"
    store = open_store(str(klass.db))
    blocker = sqlite3.connect(klass.db, timeout=0, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the database past the busy timeout
    written: list[str] = []

    def save(files, mode):
        from quizgen.files import write_file

        written.extend(write_file(p, d, mode=mode) for p, d in files)
        assert out.exists()
        return written

    try:
        with pytest.raises(Exception, match="could not be saved.*removed, and every old token still works"):
            print_handouts(store, HandoutRequest(str(klass.quiz), str(out), ("20260003",), URL, False, True, False),
                           save)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        store.dispose()
    assert written == [str(out)] and not out.exists()
    assert works(klass.db, "20260003", klass.tokens["20260003"])


def test_the_answer_key_goes_beside_and_only_there(klass, tmp_path):
    out = tmp_path / "sheets.pdf"
    result = klass.run("handout", str(klass.quiz), "-o", str(out), "--student", "20260004", "--answer-key")
    assert result.exit_code == 0, result.output
    key = Path(key_path(str(out)))
    assert key.name == "sheets.key.pdf" and "answer key" in result.stderr
    key_text = "\n".join(pages(key))
    answers = json.loads(klass.run("key", str(klass.quiz), "--student", "20260004", "--json").stdout)["answers"]
    first = answers[0]["answer"]
    assert f"정답: {first['value']:,}" in key_text and "교수자용" in key_text
    assert "=HYPERLINK" in key_text and "총 파라미터 수" in key_text  # derivations, Hangul intact
    sheets = "\n".join(pages(out))
    assert "교수자용" not in sheets and "총 파라미터 수" not in sheets
    assert "답을 칸 안에 쓰고 이 문제지를 교수자에게 제출하세요" in sheets  # no --server-url: on paper


def test_an_english_quiz(tmp_path):
    k = make_class(tmp_path, "--lang", "en", "--deadline", "2027-03-28 03:30", "--tz", "Europe/Berlin")
    out = tmp_path / "en.pdf"
    assert k.run("handout", str(k.quiz), "-o", str(out), "--server-url", "http://127.0.0.1:8080").exit_code == 0
    grouped = [(m, g) for m, g in _groups_en(pages(out))]
    assert len(grouped) == 4
    first = grouped[0][1][0]
    assert "Question 1" in "\n".join(grouped[0][1]) and "Deadline: 2027-03-28 03:30 +02:00 (Europe/Berlin)" in first
    assert "김민준" in first and "How to submit" in "\n".join(grouped[0][1])


def _groups_en(texts: list[str]):
    footer = re.compile(r"\((\d+)\) page (\d+)/(\d+)$")
    out: list[tuple[str, list[str]]] = []
    for text in texts:
        m = footer.search(text.rstrip())
        assert m
        if m.group(2) == "1":
            out.append((m.group(1), []))
        out[-1][1].append(text)
    return out


def test_refusals_write_nothing(klass, tmp_path):
    out = tmp_path / "no.pdf"
    cases = {
        ("--with-tokens",): "--with-tokens needs --server-url",
        ("--server-url", "http://quiz.example.ac.kr"): "plain http",
        ("--server-url", f"{URL}/?student=20260001"): "query or fragment",
        ("--student", "20269999"): "not on quiz 1",
    }
    for args, message in cases.items():
        result = klass.run("handout", str(klass.quiz), "-o", str(out), *args)
        assert result.exit_code in (1, 2) and message in result.stderr, (args, result.output)
        assert not out.exists()
    out.write_bytes(b"keep me")
    result = klass.run("handout", str(klass.quiz), "-o", str(out))
    assert result.exit_code == 1 and "--force" in result.stderr and out.read_bytes() == b"keep me"
    db = klass.db
    result = klass.run("handout", str(klass.quiz), "-o", str(db), "--force")
    assert result.exit_code == 1 and Path(db).read_bytes()[:16] == b"SQLite format 3\x00"


# ------------------------------------------------------------------ the renderer on its own

QUIZ = QuizInfo(7, "코드 주석", 1, "ko", "medium", ["code"], 1, 1, "ready", datetime(2026, 1, 1, tzinfo=UTC), None,
                None, "full", "last")
COMMENTED = ("다음 코드를 보고 답하여라.\n\n```python\n# (8,4) 크기의 2D 텐서 생성 - 입력에 대한 가중치\n"
             "W_x = np.random.random((8, 4))\n```")


@pytest.mark.parametrize("coding", [True, False], ids=["NanumGothicCoding", "DejaVu-Sans-Mono+NanumGothic"])
def test_hangul_comments_in_code_in_either_monospace_font(monkeypatch, coding):
    files = font_files()
    if coding and files.coding is None:
        pytest.skip("NanumGothicCoding is not installed here (Debian: apt-get install fonts-nanum-coding)")
    if not coding:
        monkeypatch.setattr(handout_module, "font_files", lambda: files.__class__(**{**files.__dict__, "coding": None}))
    sheet = Sheet("s1", "김하늘", (SheetQuestion(1, 1, COMMENTED, ()),))
    printed = handout_pdf(Handouts(QUIZ, None, (sheet,)))
    text = pypdf.PdfReader(io.BytesIO(printed.data)).pages[0].extract_text()
    assert "# (8,4) 크기의 2D 텐서 생성 - 입력에 대한 가중치" in text
    fonts = {str(f.get_object()["/BaseFont"]) for f in
             pypdf.PdfReader(io.BytesIO(printed.data)).pages[0]["/Resources"]["/Font"].values()}
    assert any(("Coding" if coding else "DejaVuSansMono") in f for f in fonts), fonts


def test_duplex_pads_an_odd_page_count_with_a_blank_page():
    short = Sheet("s1", "김하늘", (SheetQuestion(1, 1, "짧은 문제", ()),))
    long = Sheet("s2", "이서연", tuple(SheetQuestion(n, 1, COMMENTED, ()) for n in range(1, 9)))
    for duplex, counts in ((False, [1, 2]), (True, [2, 2])):
        printed = handout_pdf(Handouts(QUIZ, None, (short, long), duplex))
        texts = [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(printed.data)).pages]
        assert [len(g) for _, g in groups_by(texts, r"\((s\d)\) (\d+)/(\d+)쪽$")] == counts, texts


def groups_by(texts: list[str], footer: str) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for text in texts:
        m = re.search(footer, text.rstrip())
        assert m, text
        if m.group(2) == "1":
            out.append((m.group(1), []))
        out[-1][1].append(text)
    return out


def test_prompt_segments_keep_code_and_drop_part_lines():
    from quizgen.questions.prompts import t

    hint = t("ko")["answer_hint"]["parts"]  # the templates' own wording of "answer each part"
    prompt = f"설명\n\n```\n입력: Input(shape=(30,))\n```\n\n(1) A의 크기\n(2) B의 크기\n{hint}"
    assert prompt_segments(prompt, ("A의 크기", "B의 크기")) == [
        ("text", "설명"), ("gap", None), ("code", ["입력: Input(shape=(30,))"])]


@pytest.fixture(scope="module")
def fonts():
    return Fonts(new_pdf("t", "ko"), font_files())


@given(st.lists(st.text(alphabet="가나다라abcXYZ012,()_=.'", min_size=1, max_size=30), min_size=1, max_size=40),
       st.floats(min_value=20, max_value=170))
def test_wrapped_lines_fit_and_keep_every_word(fonts, words, width):
    text = " ".join(words)
    lines = wrap(fonts, text, "text", 10, width)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    for line in lines:
        assert fonts.width(line, "text", 10) <= width + 1e-6 or len(line) == 1


@given(st.text(alphabet="abc ,()=_'가", min_size=1, max_size=300), st.floats(min_value=30, max_value=170))
def test_wrapped_code_fits_and_loses_nothing(fonts, line, width):
    pieces = wrap_code(fonts, line, 8.6, width)
    assert "".join(pieces).replace(" ", "") == line.replace(" ", "")  # only spaces at the cuts change
    for piece in pieces:
        assert fonts.width(piece, CODE, 8.6) <= width + 1e-6 or len(piece.strip()) == 1


def test_both_languages_have_the_same_wording_keys_and_placeholders():
    table = load_json("handouts.json")
    fields = re.compile(r"{(\w+)}")
    for section in table["ko"]:
        assert table["ko"][section].keys() == table["en"][section].keys(), section
        for key, text in table["ko"][section].items():
            assert set(fields.findall(text)) == set(fields.findall(table["en"][section][key])), (section, key)
