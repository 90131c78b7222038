"""Gradebook (Canvas CSV, JSON) and the item-analysis report (text, JSON, PNG, HTML in a real browser)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import unicodedata
import warnings
from pathlib import Path

import pytest

from .helpers import KINDS, Klass, make_class, right_answers


def _class_with_submissions(tmp_path):
    klass = make_class(tmp_path)
    for n, sid in enumerate(sorted(klass.tokens)):
        answers = right_answers(klass.key(sid))
        if n % 2:
            answers["1"] = "1"
        args = [a for k, v in answers.items() for a in ("--answer", f"{k}={v}")]
        assert (
            klass.run("submit", "--allow-blank", str(klass.quiz), "--student", sid, "--token", klass.tokens[sid],
                      *args).exit_code == 0
        )
    assert klass.run("grade", str(klass.quiz)).exit_code == 0
    return klass


def test_canvas_csv(tmp_path):
    klass = _class_with_submissions(tmp_path)
    result = klass.run("gradebook", str(klass.quiz), "--format", "csv", "--questions")
    rows = list(csv.reader(io.StringIO(result.stdout)))
    # never '점검 퀴즈 (1)': Canvas reads a trailing '(1)' as assignment id 1 (see test_exports_gradebook.py)
    assert rows[0][:6] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "점검 퀴즈 [quizgen 1]"]
    assert rows[0][6:] == [f"점검 퀴즈 [quizgen 1 · Q{i}]" for i in range(1, 7)]
    assert rows[1][0] == "Points Possible" and rows[1][5] == "9" and rows[1][6:] == ["(read only)"] * 6
    by_id = {r[2]: r for r in rows[2:]}
    assert by_id["20260001"][5] == "9" and by_id["20260002"][5] == "8"
    # the student named =HYPERLINK("x") cannot become a formula
    assert by_id["20260004"][0] == "'=HYPERLINK(\"x\")"
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    narrow = list(csv.reader(io.StringIO(klass.run("gradebook", str(klass.quiz)).stdout)))
    assert len(narrow[0]) == 6  # one column per quiz unless --questions


def test_gradebook_json_and_file(tmp_path):
    klass = _class_with_submissions(tmp_path)
    data = json.loads(klass.run("gradebook", str(klass.quiz), "--format", "json").stdout)
    assert data["max_score"] == 9 and len(data["students"]) == 4
    out = tmp_path / "grades.csv"
    assert klass.run("gradebook", str(klass.quiz), "-o", str(out)).exit_code == 0
    assert out.read_text(encoding="utf-8").startswith("Student,ID")


# ---------------------------------------------------------------- the item-analysis report

HOSTILE_TITLE = "<script>window.pwned = 1</script> 점검 퀴즈"
HOSTILE_ROSTER = ("id,name,email\n20260001,김민준,a@example.ac.kr\n20260002,<script>window.pwned = 2</script>,b@x.kr\n"
                  "20260003,\"=HYPERLINK(\"\"http://evil.example\"\")\",c@x.kr\n20260004,박지후,d@x.kr\n"
                  "20260005,최서윤,e@x.kr\n20260006,정하은,f@x.kr\n")


def _spec_of(klass: Klass, sid: str, slot: int) -> dict:
    con = sqlite3.connect(klass.db)
    row = con.execute("SELECT q.spec FROM questions q JOIN variants v ON q.variant_id = v.id "
                      "JOIN students s ON v.student_id = s.id WHERE s.external_id = ? AND q.slot = ?",
                      (sid, slot)).fetchone()
    con.close()
    return json.loads(row[0])


def _slip_answer(klass: Klass, sid: str, slip: str) -> tuple[str, str]:
    """(slot, value) of a wrong total that ``slip`` explains, for this student's variant."""
    from quizgen.grading.misconceptions import diagnose_table

    total = next(a for a in klass.key(sid) if a["kind"] == "total-params")
    table = diagnose_table("total-params", "", _spec_of(klass, sid, total["slot"]), total["answer"])[None]
    value = next(v for v, s in table.items() if s == slip)
    return str(total["slot"]), str(value)


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Klass:
    """A Korean quiz with a hostile title and hostile student names; five of six students
    submitted: two forgot the biases in the total, one wrote a wrong first part of the
    summary question (3.1), one has an unexplained wrong total."""
    from click.testing import CliRunner

    from quizgen.cli.main import cli

    tmp = tmp_path_factory.mktemp("report")
    roster = tmp / "roster.csv"
    roster.write_text(HOSTILE_ROSTER, encoding="utf-8")
    db = tmp / "class.db"
    runner = CliRunner()
    out = runner.invoke(cli, ["--db", str(db), "roster", "import", str(roster), "--json"])
    assert out.exit_code == 0, out.output
    tokens = {t["id"]: t["token"] for t in json.loads(out.stdout)}
    made = runner.invoke(cli, ["--db", str(db), "generate", "--title", HOSTILE_TITLE, "--count", "6", "--seed", "11",
                               "--kind", KINDS, "--students", str(roster), "--no-verify", "--lang", "ko", "--json"])
    assert made.exit_code == 0, made.output
    klass = Klass(db, tokens, json.loads(made.stdout)["id"])
    for n, sid in enumerate(sorted(tokens)[:5]):
        answers = right_answers(klass.key(sid))
        if n in (1, 3):
            slot, value = _slip_answer(klass, sid, "no_bias")
            answers[slot] = value
        if n == 2:
            answers["3.1"] = "(None, 5)"
        if n == 4:
            answers["1"] = "12,345"
        args = [a for k, v in answers.items() for a in ("--answer", f"{k}={v}")]
        assert klass.run("submit", "--allow-blank", str(klass.quiz), "--student", sid, "--token", tokens[sid],
                         *args).exit_code == 0
    assert klass.run("grade", str(klass.quiz)).exit_code == 0
    return klass


def _column_ends(line: str) -> list[int]:
    """Where each space-separated cell of a table line ends, in terminal cells (measured
    here, not by the code under test: a Hangul syllable takes two)."""
    cells = [2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line]
    return [sum(cells[:m.end()]) for m in re.finditer(r"\S+", line)]


def _display_start(line: str, cell: str) -> int:
    """Where ``cell`` starts in ``line``, in terminal cells."""
    before = line[:line.index(cell)]
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in before)


def test_text_report_in_english(graded):
    result = graded.run("report", str(graded.quiz), "--lang", "en")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"# {HOSTILE_TITLE} (quiz 1) — item analysis"
    assert lines[1].startswith("5 students, max 9; mean ")
    header = lines[3]
    assert header.split() == ["Q", "points", "answered", "correct", "discrimination", "about"]
    row = next(line for line in lines if line.split()[:1] == ["1"])
    assert row.split()[3] == "40%"  # 2 slips and 1 unexplained of 5
    assert "bias left out" in result.stdout
    assert (
        "commonest slips:" in result.stdout
        and "bias left out: 2 wrong answers, 2 students (questions 1)" in result.stdout
    )
    assert "score distribution:" in result.stdout and "█" in result.stdout


def test_text_report_header_lines_up_with_korean(graded):
    """Korean headers take two terminal cells a character: each column's header ends where
    its numbers end."""
    result = graded.run("report", str(graded.quiz))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"# {HOSTILE_TITLE} (퀴즈 1) — 문항 분석"
    header = lines[3]
    assert header.split() == ["문항", "배점", "응답", "정답률", "변별도", "내용"]
    rows = [line for line in lines[4:] if re.match(r"\s*\d+\s+\d+\s+\d+\s+(\d+%|-)\s", line)]
    assert len(rows) == 6
    for row in rows:  # the numbers end under their headers; what each question asks follows, left-aligned
        assert _column_ends(row)[:5] == _column_ends(header)[:5], (header, row)
        assert _display_start(row, row.split("  ")[-1]) == _display_start(header, "내용"), (header, row)


def test_text_report_names_slips_and_wrong_parts_in_korean(graded):
    from quizgen.resources import load_json

    out = graded.run("report", str(graded.quiz)).stdout
    assert "편향 누락: 오답 2개, 학생 2명 (문항 1)" in out
    assert load_json("misconceptions.json")["ko"]["no_bias"] in out  # the explanation students get
    assert "'3.1 = (None, 5)'" in out  # the wrong part as written, not the answer's JSON
    assert '{"1"' not in out
    assert "'12,345' — 원인 불명" in out


def test_report_json_is_data_only(graded, tmp_path):
    png = tmp_path / "r.png"
    result = graded.run("report", str(graded.quiz), "--json", "--png", str(png))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # nothing but the JSON on stdout
    assert f"Wrote {png}" in result.stderr
    assert data["quiz"]["title"] == HOSTILE_TITLE and data["students"] == 5 and data["max_score"] == 9
    first = data["items"][0]
    assert (first["question"], first["points"], first["answered"], first["correct_rate"]) == (1, 1, 5, 0.4)
    assert first["discrimination"] is not None
    assert {"misconception": "no_bias", "example": first["wrong_answers"][0]["example"], "answers": 2} \
        in first["wrong_answers"]
    assert data["slips"] == [{"misconception": "no_bias", "answers": 2, "students": 2, "questions": [1]}]
    assert data["unexplained_wrong_answers"] == 2
    assert sum(b["students"] for b in data["score_distribution"]) == 5
    summary = data["items"][2]["wrong_answers"]
    assert summary == [{"misconception": None, "example": "3.1 = (None, 5)", "answers": 1}]


def _glyph_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def test_png_report_is_drawn_with_korean_glyphs(graded, tmp_path):
    from PIL import Image

    from quizgen.classroom.results import analysis
    from quizgen.exports.charts import report_png
    from quizgen.store.db import open_store

    store = open_store(str(graded.db))
    try:
        report = analysis(store, graded.quiz)
    finally:
        store.dispose()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        drawing = report_png(report, "ko")
    assert drawing.missing == () and _glyph_warnings(caught) == []
    path = tmp_path / "report.png"
    path.write_bytes(drawing.data)
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (1200, 800)
        rgb = image.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 16)
    assert colours is not None and len(colours) > 50  # drawn, not blank
    count = dict((c, n) for n, c in colours)
    white = count.get((255, 255, 255), 0)
    assert 0.4 < white / (1200 * 800) < 0.95
    assert count.get((0x4C, 0x72, 0xB0), 0) > 2000 and count.get((0x55, 0xA8, 0x68), 0) > 2000  # bars of both kinds

    cli = graded.run("report", str(graded.quiz), "--png", str(tmp_path / "cli.png"))
    assert cli.exit_code == 0 and "Note:" not in cli.stderr
    assert (tmp_path / "cli.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_glyphs_are_caught_and_reported(graded, tmp_path):
    """The positive control for the test above: a character no font has (an Egyptian
    hieroglyph in the title) is reported, to the caller and on stderr."""
    retitled = tmp_path / "retitled.db"
    retitled.write_bytes(Path(graded.db).read_bytes())
    con = sqlite3.connect(retitled)
    con.execute("UPDATE quizzes SET title = ?", ("\U00013000 점검",))
    con.commit()
    con.close()
    result = Klass(retitled, graded.tokens, graded.quiz).run("report", "1", "--png", str(tmp_path / "r.png"))
    assert result.exit_code == 0, result.output
    assert "Note: no installed font has \U00013000;" in result.stderr and "fonts-nanum" in result.stderr
    assert "한" not in result.stderr.split(";")[0]  # Korean itself was drawn


def test_without_a_hangul_font_the_report_says_what_to_install(graded, tmp_path, monkeypatch):
    """No font with Hangul (no koreanize-matplotlib, no system font): the files are still
    written, and stderr names the missing characters and how to get a font."""
    from quizgen.exports import charts

    monkeypatch.setattr(charts, "hangul_font", lambda: None)
    charts._font_family.cache_clear()
    try:
        result = graded.run("report", str(graded.quiz), "--png", str(tmp_path / "r.png"),
                            "--html", str(tmp_path / "r.html"))
    finally:
        charts._font_family.cache_clear()
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if line.startswith("Note:")]
    assert len(notes) == 2 and all("점" in n and "koreanize-matplotlib" in n and "fonts-nanum" in n for n in notes)
    assert "@font-face" not in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_system_font_fallback_skips_placeholder_fonts():
    """Without the font package, an installed font with Hangul is used, never matplotlib's
    Last Resort font (it has every character, each drawn as a box)."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    from quizgen.exports import charts

    packaged = charts._packaged_font()
    installed = [f for f in font_manager.fontManager.ttflist  # as matplotlib found them, not as the charts added
                 if packaged is None or Path(f.fname).parent != packaged.parent]
    if not any(f.name.startswith("Last Resort") for f in installed):
        pytest.skip("this matplotlib ships no Last Resort font (matplotlib 3.10 added it)")
    font = charts.installed_hangul_font(installed)
    if font is not None:  # this machine has a Korean font (Debian's fonts-nanum, say)
        assert "LastResort" not in font.name
        assert all(ord(ch) in FT2Font(str(font)).get_charmap() for ch in "한글")


def test_report_files_fail_cleanly(graded, tmp_path):
    for option in ("--png", "--html"):
        result = graded.run("report", str(graded.quiz), option, str(tmp_path / "no" / "such" / "dir" / "r.out"))
        assert result.exit_code == 1 and result.stdout == ""
        assert result.stderr.startswith("Error: cannot write") and "Traceback" not in result.output
        result = graded.run("report", str(graded.quiz), option, str(tmp_path))  # a folder
        assert result.exit_code == 1 and "it is a folder" in result.stderr and result.stdout == ""
    assert graded.run("report", str(graded.quiz), "--lang", "fr").exit_code == 2
    assert not list(tmp_path.iterdir())


def test_report_of_a_quiz_nobody_answered(tmp_path):
    klass = make_class(tmp_path, "--lang", "en")
    result = klass.run("report", str(klass.quiz), "--png", str(tmp_path / "r.png"), "--html", str(tmp_path / "r.html"))
    assert result.exit_code == 0, result.output
    assert "No graded answers yet." in result.stdout
    assert json.loads(klass.run("report", str(klass.quiz), "--json").stdout)["students"] == 0
    assert (tmp_path / "r.png").stat().st_size > 1000 and "<svg" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_html_report_is_self_contained_and_escaped(graded, tmp_path):
    path = tmp_path / "report.html"
    result = graded.run("report", str(graded.quiz), "--html", str(path))
    assert result.exit_code == 0, result.output
    page = path.read_text(encoding="utf-8")
    assert "<script" not in page.lower()  # the hostile title and name are text
    assert "&lt;script&gt;window.pwned = 1&lt;/script&gt;" in page and "&lt;script&gt;window.pwned = 2" in page
    assert "=HYPERLINK(&quot;http://evil.example&quot;)" in page
    links = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)""", page, re.I)
    assert links and all(link.startswith("#") for link in links)  # only references inside the page
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))  # unique, although four figures share one page
    assert set(re.findall(r'href="#([^"]+)"', page)) <= set(ids)
    assert not re.search(r"url\((?!data:|#)", page) and "@import" not in page
    assert page.count("<svg") == 4 and "Content-Security-Policy" in page


def test_html_report_shows_in_chromium(graded, tmp_path, browser):
    from PIL import Image

    from .browser import open_page

    path = tmp_path / "report.html"
    made = graded.run("report", str(graded.quiz), "--html", str(path))
    assert made.exit_code == 0 and "Note:" not in made.stderr  # every glyph of the charts found
    requests: list[str] = []
    page, logged = open_page(browser, path.as_uri())
    try:
        page.on("request", lambda r: requests.append(r.url))
        page.reload(wait_until="load")
        assert page.title() == f"{HOSTILE_TITLE} (퀴즈 1) — 문항 분석"
        assert page.inner_text("h1") == page.title()  # the title's <script> is shown, not run
        assert page.evaluate("typeof window.pwned") == "undefined"
        assert page.evaluate("document.scripts.length") == 0
        charts = page.locator(".charts svg")
        assert charts.count() == 4
        for i in range(4):
            box = charts.nth(i).bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 150, box
            assert charts.nth(i).locator("path, rect, use").count() > 10  # bars and axes were drawn
        chart_text = page.evaluate(
            "Array.from(document.querySelectorAll('.charts svg text')).map(t => t.textContent).join(' ')"
        )
        for word in ("점수 분포", "문항별 정답률", "문항별 변별도", "자주 나온 실수", "편향 누락"):
            assert word in chart_text
        body = page.inner_text("body")
        for word in ("문항별 결과", "학생별 점수", "김민준", "<script>window.pwned = 2</script>",
                     '=HYPERLINK("http://evil.example")', "3.1 = (None, 5)"):
            assert word in body
        # Korean is drawn with the embedded font, whatever fonts this machine has
        page.evaluate("document.fonts.ready")
        assert page.evaluate("document.fonts.check('16px NanumGothic', '문항별 정답률')")
        assert page.evaluate(
            "Array.from(document.fonts).some(f => f.family.includes('NanumGothic') && f.status == 'loaded')"
        )
        shot = tmp_path / "report-screenshot.png"
        page.screenshot(path=str(shot), full_page=True)
    finally:
        page.close()
    assert logged == []  # no refused resource, no error
    assert all(url == path.as_uri() or url.startswith("data:") for url in requests), requests
    with Image.open(shot) as image:
        width, height = image.size
        assert width == 1280 and 1200 < height < 20000
        assert len(image.convert("RGB").getcolors(maxcolors=1 << 20) or []) > 100


def test_terminal_cells():
    from quizgen.exports.textwidth import display_width, fit, rjust, table

    assert display_width("문항 Q1") == 7 and display_width("ｆｕｌｌ") == 8 and display_width("é") == 1
    assert rjust("정답률", 8) == "  정답률" and display_width(fit("가나다" * 50, 11)) <= 11
    assert fit("a\nb", 10) == "a b" and fit("가나다라", 5).endswith("…")
    assert [display_width(line) for line in table(["문항", "Q"], [["1", "12345"]])] == [11, 11]


# ---------------------------------------------------------------- issue 21.8 and the report's accessibility

def _book(points: list[int], totals: list[list[float | None]], wrong: dict | None = None):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from quizgen.exports.gradebook import Gradebook, GradebookRow, SlotAbout
    from quizgen.questions.records import QuizInfo

    info = QuizInfo(1, "t", 1, "ko", "normal", ["total-params"], len(points), len(totals), "ready",
                    datetime(2026, 1, 1, tzinfo=UTC), None, None, "full", "last")
    rows = [GradebookRow(f"s{n}", f"s{n}", None, list(scores), sum(s or 0 for s in scores),
                         [s == p if s is not None else None for s, p in zip(scores, points)])
            for n, scores in enumerate(totals)]
    spec = {"input": {"shape": [80]}, "layers": [{"type": "Embedding", "input_dim": 10, "output_dim": 4},
                                                 {"type": "SimpleRNN", "units": 8}, {"type": "Dropout", "rate": 0.2},
                                                 {"type": "Dense", "units": 1}]}
    return Gradebook(info, points, rows, wrong or {}, [SlotAbout("total-params", spec)] * len(points))


def test_a_bin_per_possible_score_up_to_20_points():
    from quizgen.exports.analysis import item_analysis

    # 8 students at 2 and 4 at 1 on a 2-point quiz: two bars (and an empty one at 0), never "1-2 | 12"
    report = item_analysis(_book([1, 1], [[1, 1]] * 8 + [[1, 0]] * 4))
    assert [(b.label, b.students) for b in report.bins] == [("0", 0), ("1", 4), ("2", 8)]
    # 20 points: 21 bins, one per score; a part's partial credit (13.5) in the whole score below it
    report = item_analysis(_book([2] * 10, [[2] * 10, [2] * 6 + [1.5, 0, 0, 0], [0] * 10]))
    assert len(report.bins) == 21 and all(b.exact for b in report.bins)
    assert {b.label: b.students for b in report.bins if b.students} == {"0": 1, "13": 1, "20": 1}
    # 21 points and more: ranges of a round width, at most 10 of them
    report = item_analysis(_book([3] * 7, [[3] * 7, [0] * 7]))
    assert [b.label for b in report.bins][:2] == ["0-4", "4-8"] and len(report.bins) == 6
    assert sum(b.students for b in report.bins) == 2


def test_unexplained_wrong_answers_come_last_and_questions_say_what_they_ask():
    from quizgen.exports.analysis import format_report, item_analysis, report_json

    wrong = {f"s{n}": {1: [("", "12,345")]} for n in range(3)}  # three unexplained, the commonest
    wrong |= {f"s{n}": {1: [("no_bias", "9,000")]} for n in range(3, 5)}
    report = item_analysis(_book([1], [[0]] * 5 + [[1]] * 3, wrong))
    assert [(w.misconception, w.answers) for w in report.items[0].wrong] == [("no_bias", 2), (None, 3)]
    text = format_report(report, "ko")
    assert text.index("2× '9,000' — 편향 누락") < text.index("3× '12,345' — 원인 불명")
    assert "총 파라미터 수 · Embedding → SimpleRNN → Dense" in text  # Dropout left out: a few words
    item = report_json(report)["items"][0]
    assert (item["kind"], item["model"]) == ("total-params", "Embedding → SimpleRNN → Dense")
    assert "total parameters · Embedding → SimpleRNN → Dense" in format_report(report, "en")


@pytest.fixture(scope="module")
def two_points(tmp_path_factory) -> Klass:
    """A 2-point quiz (two 1-point questions): 8 students got both right, 4 one of them."""
    from click.testing import CliRunner

    from quizgen.cli.main import cli

    tmp = tmp_path_factory.mktemp("two")
    roster = tmp / "roster.csv"
    roster.write_text("id,name,email\n" + "".join(f"2026{n:04d},학생{n},s{n}@x.kr\n" for n in range(1, 13)),
                      encoding="utf-8")
    db = tmp / "class.db"
    runner = CliRunner()
    out = runner.invoke(cli, ["--db", str(db), "roster", "import", str(roster), "--json"])
    tokens = {t["id"]: t["token"] for t in json.loads(out.stdout)}
    made = runner.invoke(cli, ["--db", str(db), "generate", "--title", "두 문제", "--count", "2", "--seed", "5",
                               "--kind", "total-params", "--students", str(roster), "--no-verify", "--json"])
    klass = Klass(db, tokens, json.loads(made.stdout)["id"])
    for n, sid in enumerate(sorted(tokens)):
        answers = right_answers(klass.key(sid))
        if n >= 8:
            answers["2"] = "1"
        args = [a for k, v in answers.items() for a in ("--answer", f"{k}={v}")]
        assert klass.run("submit", str(klass.quiz), "--student", sid, "--token", tokens[sid], *args).exit_code == 0
    assert klass.run("grade", str(klass.quiz)).exit_code == 0
    return klass


def _blue_runs(png: Path, box: tuple[int, int, int, int]) -> int:
    """How many separate bars of the charts' blue stand in ``box`` of the PNG."""
    from PIL import Image

    with Image.open(png) as image:
        crop = image.convert("RGB").crop(box)
    width, height = crop.size
    pixels = crop.load()
    columns = [any(pixels[x, y] == (0x4C, 0x72, 0xB0) for y in range(height)) for x in range(width)]
    return sum(1 for x in range(width) if columns[x] and (x == 0 or not columns[x - 1]))


def test_whole_points_are_never_merged_in_text_png_and_html(two_points, tmp_path, browser):
    from .browser import open_page

    png, page_file = tmp_path / "two.png", tmp_path / "two.html"
    result = two_points.run("report", str(two_points.quiz), "--png", str(png), "--html", str(page_file))
    assert result.exit_code == 0, result.output
    histogram = result.stdout.split("점수 분포:")[1].strip().splitlines()
    assert [line.split("|")[0].strip() for line in histogram] == ["0", "1", "2"]
    assert [line.split()[-1] for line in histogram] == ["0", "4", "8"]
    data = json.loads(two_points.run("report", str(two_points.quiz), "--json").stdout)
    assert [(b["from"], b["students"]) for b in data["score_distribution"]] == [(0, 0), (1, 4), (2, 8)]
    assert _blue_runs(png, (0, 0, 600, 400)) == 2  # the score panel (top left): two bars, not one
    page, logged = open_page(browser, page_file.as_uri())
    try:
        rows = page.evaluate("Array.from(document.querySelector('figure details').querySelectorAll('tbody tr'))"
                             ".map(r => Array.from(r.cells).map(c => c.textContent))")
        assert rows == [["0", "0"], ["1", "4"], ["2", "8"]]
        labels = page.evaluate("Array.from(document.querySelectorAll('#scores-axes_1 text, .charts svg')[0]"
                               ".querySelectorAll('text')).map(t => t.textContent)")
        assert {"0", "1", "2"} <= set(labels)
        page.screenshot(path=str(tmp_path / "two-report.png"), full_page=True)
    finally:
        page.close()
    assert logged == []
    shots = os.environ.get("QUIZGEN_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        (Path(shots) / "report-two-points.png").write_bytes(png.read_bytes())


def test_the_report_passes_axe_and_reflows_at_390_px(graded, tmp_path, browser):
    from .axe import audit, axe_script

    path = tmp_path / "report.html"
    assert graded.run("report", str(graded.quiz), "--html", str(path)).exit_code == 0
    script = axe_script()
    shots = Path(os.environ.get("QUIZGEN_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    for width in (390, 1280):
        context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)  # the audit only
        page = context.new_page()
        try:
            page.goto(path.as_uri())
            assert page.locator("main h1").count() == 1 and page.locator("main table").count() >= 3
            assert page.locator("figure details table").count() == 4  # each chart's numbers, as text
            page.screenshot(path=str(shots / f"report-{width}.png"), full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0, width
            assert audit(page, script) == [], width
            for details in page.locator("figure details").all():  # and opened, too
                details.evaluate("d => d.open = true")
            assert audit(page, script) == [], width
            about = page.locator("main .wide table").first.locator("tbody tr").first.locator("td").nth(1).inner_text()
            assert about.startswith("총 파라미터 수 · ") and "→" in about
            slips = page.locator("main .wide table").nth(1).locator("tbody tr").all_inner_texts()
            assert slips[-1].startswith("원인 불명") and slips[0].startswith("편향 누락")
        finally:
            context.close()
