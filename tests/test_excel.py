"""Korean Excel, both ways: rosters saved by Excel on Korean Windows (CP949, Korean
headers) import as they are, and the gradebook opens in Excel with Korean names intact
(an xlsx workbook, read back here with openpyxl; or the CSV with a UTF-8 BOM), while the
plain CSV stays exactly what Canvas's importer reads."""

from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner

from quizgen.cli.main import cli

from .helpers import make_class, right_answers
from .lms_canvas import import_csv

KOREAN = ("학번,이름,이메일\r\n20260101,김하늘,sky@example.ac.kr\r\n20260102,이바다,\r\n"
          "20260103,박솔,sol@example.ac.kr\r\n")


def _import(db, path, *extra: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["--db", str(db), "roster", "import", str(path), "--json", *extra])


def _names(db) -> dict[str, str]:  # type: ignore[no-untyped-def]
    listed = CliRunner().invoke(cli, ["--db", str(db), "roster", "list", "--json"])
    return {s["id"]: s["name"] for s in json.loads(listed.stdout)}


@pytest.mark.parametrize("encoding", ["cp949", "euc-kr", "utf-8", "utf-8-sig"])
def test_a_korean_roster_imports_in_every_encoding_excel_saves(tmp_path, encoding):
    roster = tmp_path / "class.csv"
    roster.write_bytes(KOREAN.encode(encoding))  # Python's own codecs: what Excel on Korean Windows writes
    if encoding in ("cp949", "euc-kr"):
        with pytest.raises(UnicodeDecodeError):
            roster.read_bytes().decode("utf-8")  # the file is really not UTF-8
    out = _import(tmp_path / "q.db", roster)
    assert out.exit_code == 0, out.output
    assert [t["id"] for t in json.loads(out.stdout)] == ["20260101", "20260102", "20260103"]
    assert _names(tmp_path / "q.db") == {"20260101": "김하늘", "20260102": "이바다", "20260103": "박솔"}


def test_headers_in_english_or_korean_any_case_and_spacing(tmp_path):
    headers = ["Student ID,Name,E-mail", " 학번 , 이름 ,이메일", "ID,NAME,EMAIL", "studentid,성명,email"]
    for n, header in enumerate(headers):
        roster = tmp_path / f"r{n}.csv"
        roster.write_text(f"{header}\n2026{n:04d},김{n},k{n}@example.ac.kr\n", encoding="utf-8")
        out = _import(tmp_path / "q.db", roster)
        assert out.exit_code == 0, (header, out.output)
    assert len(_names(tmp_path / "q.db")) == 4
    twice = tmp_path / "twice.csv"
    twice.write_text("학번,id,이름\n1,2,김\n", encoding="utf-8")
    out = _import(tmp_path / "q.db", twice)
    assert out.exit_code == 1 and "id column twice" in out.stderr
    nothing = tmp_path / "nothing.csv"
    nothing.write_text("번호,성\n1,김\n", encoding="utf-8")
    out = _import(tmp_path / "q.db", nothing)
    assert out.exit_code == 1 and "학번 and 이름" in out.stderr and len(out.stderr.splitlines()) == 1


def test_an_encoding_can_be_given_and_a_wrong_one_is_one_line(tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_bytes(KOREAN.encode("cp949"))
    given = _import(tmp_path / "a.db", roster, "--encoding", "EUC-KR")
    assert given.exit_code == 0 and _names(tmp_path / "a.db")["20260101"] == "김하늘"
    wrong = _import(tmp_path / "b.db", roster, "--encoding", "utf-8")
    assert wrong.exit_code == 1 and "not utf-8 text" in wrong.stderr and len(wrong.stderr.splitlines()) == 1
    unknown = _import(tmp_path / "b.db", roster, "--encoding", "klingon")
    assert unknown.exit_code == 2 and "not an encoding" in unknown.stderr
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"id,name\n1,\xff\xfe\n")
    out = _import(tmp_path / "b.db", latin)
    assert out.exit_code == 1 and "--encoding" in out.stderr
    assert not (tmp_path / "b.db").exists() or _names(tmp_path / "b.db") == {}


def _graded(tmp_path):  # type: ignore[no-untyped-def]
    klass = make_class(tmp_path)
    sid = "20260001"  # 김민준
    answers = right_answers(klass.key(sid))
    args = [a for k, v in answers.items() for a in ("--answer", f"{k}={v}")]
    assert klass.run("submit", str(klass.quiz), "--student", sid, "--token", klass.tokens[sid], *args).exit_code == 0
    assert klass.run("grade", str(klass.quiz)).exit_code == 0
    return klass


def test_the_xlsx_gradebook_reads_back_with_korean_names_and_numbers(tmp_path):
    from openpyxl import load_workbook

    klass = _graded(tmp_path)
    target = tmp_path / "grades.xlsx"
    out = klass.run("gradebook", str(klass.quiz), "--format", "xlsx", "--questions", "-o", str(target))
    assert out.exit_code == 0, out.output
    sheet = load_workbook(target).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    import csv

    csv_rows = list(csv.reader(io.StringIO(klass.run("gradebook", str(klass.quiz), "--questions").stdout)))
    assert rows[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert rows[1][0] == "Points Possible" and isinstance(rows[1][5], int)
    by_id = {r[2]: r for r in rows[2:]}
    assert by_id["20260001"][0] == "김민준" and by_id["20260002"][0] == "이서연"
    assert isinstance(by_id["20260001"][5], (int, float)) and by_id["20260001"][5] > 0  # a number, not text
    assert by_id["20260002"][5] is None  # no submission: blank, as in the CSV
    hostile = by_id["20260004"]  # a name that a spreadsheet would run as a formula
    assert hostile[0] == '=HYPERLINK("x")'
    cell = next(c for c in sheet.iter_rows(min_row=2) if c[2].value == "20260004")[0]
    assert cell.data_type == "s"  # stored as text: Excel shows it, never runs it
    assert [r[1:5] for r in rows[2:]] == [[c or None for c in r[1:5]] for r in csv_rows[2:]]  # the CSV's table


def test_the_csv_stays_canvas_s_and_excel_gets_a_bom(tmp_path):
    klass = _graded(tmp_path)
    plain = klass.run("gradebook", str(klass.quiz))
    excel = klass.run("gradebook", str(klass.quiz), "--excel")
    assert plain.exit_code == excel.exit_code == 0
    assert not plain.stdout.startswith("\ufeff")
    assert import_csv(plain.stdout).names["20260001"] == "김민준"  # what Canvas's importer reads
    assert excel.stdout == "\ufeff" + plain.stdout
    target, canvas = tmp_path / "excel.csv", tmp_path / "canvas.csv"
    assert klass.run("gradebook", str(klass.quiz), "--excel", "-o", str(target)).exit_code == 0
    assert klass.run("gradebook", str(klass.quiz), "-o", str(canvas)).exit_code == 0
    assert target.read_bytes() == b"\xef\xbb\xbf" + canvas.read_bytes()
    import csv

    read = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert read[0][0] == "Student" and any(r[0] == "김민준" for r in read)
    refused = klass.run("gradebook", str(klass.quiz), "--format", "xlsx", "--excel")
    assert refused.exit_code == 2 and len(refused.stderr.splitlines()) == 1
