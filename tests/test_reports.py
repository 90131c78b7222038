"""Gradebook (Canvas CSV, JSON) and the item-analysis report (text and PNG)."""

from __future__ import annotations

import csv
import io
import json
import struct

from .helpers import make_class, right_answers


def _class_with_submissions(tmp_path):
    klass = make_class(tmp_path)
    for n, sid in enumerate(sorted(klass.tokens)):
        answers = right_answers(klass.key(sid))
        if n % 2:
            answers["1"] = "1"
        args = [a for k, v in answers.items() for a in ("--answer", f"{k}={v}")]
        assert klass.run("submit", str(klass.quiz), "--student", sid, "--token", klass.tokens[sid], *args).exit_code == 0
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


def test_report_text_and_png(tmp_path):
    klass = _class_with_submissions(tmp_path)
    png = tmp_path / "report.png"
    result = klass.run("report", str(klass.quiz), "--png", str(png), "--lang", "en")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("# 점검 퀴즈 (quiz 1) — 4 students, max 9")
    row = next(line for line in lines if line.split()[:1] == ["1"])
    assert "50%" in row
    assert "score distribution:" in result.stdout and "█" in result.stdout
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (900, 360)
