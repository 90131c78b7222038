"""How a quiz is going and keeping the list tidy (issue #21.6), on SQLite and PostgreSQL:
``quizgen progress``, ``list --json`` with every setting and a count submitted,
``quiz archive`` (closed, hidden from ``list`` unless ``--all``), ``quiz delete`` (only a
quiz nobody submitted to), and ``generate`` warning about a title already used."""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode

from .helpers import make_class, right_answers
from .server import bearer, start_server
from .test_cli_manage import sql

A, B, C, D = "20260001", "20260002", "20260003", "20260004"


def _submit(klass, student, answers=None):  # type: ignore[no-untyped-def]
    answers = answers or {"1": "5"}
    args = [a for k, v in answers.items() for a in ("--answer", f"{k}={v}")]
    return klass.run("submit", str(klass.quiz), "--allow-blank", "--student", student, "--token", klass.tokens[student],
                     *args)


def test_progress_names_who_submitted_who_not_yet_late_attempts_scores_and_extensions(db_url, tmp_path):
    klass = make_class(tmp_path, "--deadline", "2020-01-01 00:00", "--allow-past", "--late-until",
                       "2099-01-01 00:00", "--tz", "Asia/Seoul", "--attempts", "2", db=db_url)
    q = str(klass.quiz)
    assert klass.run("quiz", "extend", q, "--student", A, "--deadline", "2099-01-01 00:00").exit_code == 0
    assert _submit(klass, A, right_answers(klass.key(A))).exit_code == 0  # on time by their extension
    assert _submit(klass, B).exit_code == 0  # in the late window
    assert _submit(klass, B).exit_code == 0
    assert klass.run("grade", q).exit_code == 0
    out = klass.run("progress", q, "--json")
    assert out.exit_code == 0, out.output
    body = json.loads(out.stdout)
    assert (body["submitted"], body["not_submitted"], body["late"], body["extensions"]) == (2, 2, 1, 1)
    assert body["quiz"]["submitted"] == 2 and body["quiz"]["students"] == 4
    rows = {s["student"]: s for s in body["students"]}
    assert [s["student"] for s in body["students"]] == [A, B, C, D]
    assert rows[A]["submitted"] and not rows[A]["late"] and rows[A]["score"] == rows[A]["max_score"] > 0
    assert rows[A]["extension"]["deadline"] == "2098-12-31T15:00:00+00:00" and rows[A]["attempts_left"] == 1
    assert rows[B]["attempts"] == 2 and rows[B]["late"] and rows[B]["late_attempts"] == 2
    assert rows[B]["attempts_left"] == 0 and rows[B]["extension"] is None and rows[B]["graded"]
    assert rows[C] == {**rows[C], "submitted": False, "attempts": 0, "score": None, "last_attempt_at": None}
    assert rows[C]["name"] == "박지후"
    text = klass.run("progress", q).stdout
    assert "4 student(s): 2 submitted, 2 not yet, 1 late" in text
    assert "Not submitted yet: 20260003 박지후, 20260004 =HYPERLINK" in text
    assert "deadline 2099-01-01 00:00 +09:00 (Asia/Seoul)" in text  # A's extension, on A's row
    assert klass.run("progress", "99").stderr == "Error: no quiz 99 (see 'quizgen list')\n"


def test_list_json_carries_every_setting_and_a_count_submitted(db_url, tmp_path):
    klass = make_class(tmp_path, "--deadline", "2099-12-01 18:00", "--tz", "Asia/Seoul", "--attempts", "3",
                       "--feedback", "score", "--counting", "best", db=db_url)
    assert _submit(klass, C).exit_code == 0 and _submit(klass, C).exit_code == 0
    (info,) = json.loads(klass.run("list", "--json").stdout)
    assert {k: info[k] for k in ("deadline", "time_zone", "attempt_limit", "feedback", "counting", "students",
                                 "submitted", "archived", "late_until")} == {
        "deadline": "2099-12-01T09:00:00+00:00", "time_zone": "Asia/Seoul", "attempt_limit": 3,
        "feedback": "score", "counting": "best", "students": 4, "submitted": 1, "archived": False,
        "late_until": None}
    text = klass.run("list").stdout.splitlines()
    assert "submitted" in text[0] and "deadline" in text[0]
    assert "2099-12-01 18:00 +09:00 (Asia/Seoul)" in text[1] and " 1 " in text[1]


def test_an_archived_quiz_takes_nothing_and_leaves_the_list(db_url, tmp_path):
    klass = make_class(tmp_path, db=db_url)
    q = str(klass.quiz)
    assert _submit(klass, A).exit_code == 0
    archived = klass.run("quiz", "archive", q, "--json")
    assert archived.exit_code == 0 and json.loads(archived.stdout) == {
        "quiz": klass.quiz, "title": "점검 퀴즈", "archived": True, "changed": True}
    assert json.loads(klass.run("list", "--json").stdout) == []
    assert [i["archived"] for i in json.loads(klass.run("list", "--all", "--json").stdout)] == [True]
    refused = _submit(klass, B)
    assert refused.exit_code == 1 and "보관되어 더 이상 제출할 수 없습니다" in refused.stderr
    path = tmp_path / "lms.csv"
    path.write_text(f"student,question,answer\n{C},1,5\n", encoding="utf-8")
    imported = klass.run("import-submissions", q, str(path), "--ignore-deadline")
    assert imported.exit_code == 1 and "보관" in imported.stderr
    server = start_server(str(klass.db), tmp_path)
    try:
        with server.client() as c:
            view = c.get(f"/api/v1/quizzes/{q}", headers=bearer(B, klass.tokens[B])).json()["quiz"]
            assert view["archived"] is True and view["open"] is False
            r = c.post(f"/api/v1/quizzes/{q}/submissions", json={"answers": {"1": "5"}},
                       headers={**bearer(B, klass.tokens[B]), "Idempotency-Key": str(uuid.uuid4())})
            assert r.status_code == 409 and r.json()["error"]["code"] == "quiz_archived"
            page = c.post("/quiz", content=urlencode({"student": B, "token": klass.tokens[B], "quiz": q}),
                          headers={"content-type": "application/x-www-form-urlencoded"})
            assert "보관되어 더 이상 제출할 수 없습니다" in page.text and 'action="review"' not in page.text
    finally:
        server.stop()
    assert sql(klass.db, "SELECT count(*) FROM attempts") == [(1,)]
    assert klass.run("gradebook", q).exit_code == 0  # its grades are still read
    back = klass.run("quiz", "archive", q, "--undo")
    assert back.exit_code == 0 and _submit(klass, B).exit_code == 0
    assert len(json.loads(klass.run("list", "--json").stdout)) == 1


def test_only_a_quiz_nobody_submitted_to_can_be_deleted(db_url, tmp_path):
    klass = make_class(tmp_path, db=db_url)
    again = klass.run("generate", "--title", "점검 퀴즈", "--count", "2", "--seed", "12", "--no-verify", "--json")
    assert again.exit_code == 0 and json.loads(again.stdout)["same_title"] == [klass.quiz]
    warned = klass.run("generate", "--title", "점검 퀴즈", "--count", "2", "--seed", "13", "--no-verify")
    assert "already had the title '점검 퀴즈'" in warned.stderr and f"quiz {klass.quiz}, " in warned.stderr
    mistake = json.loads(again.stdout)["id"]
    assert klass.run("quiz", "extend", str(mistake), "--student", A, "--attempts", "2").exit_code == 1  # no limit

    unconfirmed = klass.run("quiz", "delete", str(mistake))
    assert unconfirmed.exit_code == 2 and "--yes" in unconfirmed.stderr
    assert sql(klass.db, "SELECT count(*) FROM quizzes WHERE id = :q", q=mistake) == [(1,)]
    gone = klass.run("quiz", "delete", str(mistake), "--yes", "--json")
    assert gone.exit_code == 0 and json.loads(gone.stdout)["variants"] == 5
    assert sql(klass.db, "SELECT count(*) FROM quizzes WHERE id = :q", q=mistake) == [(0,)]
    assert sql(klass.db, "SELECT count(*) FROM variants WHERE quiz_id = :q", q=mistake) == [(0,)]
    assert sql(klass.db, "SELECT count(*) FROM students") == [(4,)]  # the roster stays

    assert _submit(klass, A).exit_code == 0
    questions = sql(klass.db, "SELECT count(*) FROM questions")
    kept = klass.run("quiz", "delete", str(klass.quiz), "--yes")
    assert kept.exit_code == 1 and f"archive it instead with 'quizgen quiz archive {klass.quiz}'" in kept.stderr
    assert sql(klass.db, "SELECT count(*) FROM quizzes WHERE id = :q", q=klass.quiz) == [(1,)]
    assert sql(klass.db, "SELECT count(*) FROM questions") == questions
    assert sql(klass.db, "SELECT count(*) FROM submissions") != [(0,)]
