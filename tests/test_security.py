"""Security properties: tokens, isolation between students, and what student commands read."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from quizgen.classroom.students import hash_token, new_token, token_matches

from .helpers import make_class, right_answers

ANSWER_COLUMNS = ("answer", "derivation", "breakdown", "spec", "expected", "slips")


def test_tokens_are_random_hashed_and_checked():
    tokens = {new_token() for _ in range(1000)}
    assert len(tokens) == 1000 and all(len(t) >= 22 for t in tokens)
    token = new_token()
    stored = hash_token(token)
    assert token not in stored and stored.startswith("sha256$")
    assert hash_token(token) != stored  # salted
    assert token_matches(stored, token) and not token_matches(stored, token + "x")
    assert not token_matches(stored, "") and not token_matches(None, token) and not token_matches("garbage", token)


class _Recorder:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        self.statements.append(statement)


def _reads_answer_columns(statements: list[str]) -> list[str]:
    bad = []
    for sql in statements:
        for column in ANSWER_COLUMNS:
            if re.search(rf"\bquestions\.{column}\b", sql) or re.search(r"\bquestions\.\*", sql):
                bad.append(sql)
    return bad


def test_student_commands_never_read_the_answer_columns(tmp_path):
    klass = make_class(tmp_path)
    sid, token = "20260001", klass.tokens["20260001"]
    answers = right_answers(klass.key(sid))  # the instructor's view, outside the recording
    klass.run("grade", str(klass.quiz))
    recorder = _Recorder()
    event.listen(Engine, "before_cursor_execute", recorder)
    try:
        args = [a for k, v in answers.items() for a in ("--answer", f"{k}={v}")]
        assert klass.run("submit", "--allow-blank", str(klass.quiz), "--student", sid, "--token", token,
                         *args).exit_code == 0
        assert klass.run("status", str(klass.quiz), "--student", sid, "--token", token).exit_code == 0
        assert klass.run("show", str(klass.quiz), "--student", sid).exit_code == 0
        student_sql = list(recorder.statements)
        recorder.statements.clear()
        klass.run("key", str(klass.quiz), "--student", sid)
        instructor_sql = list(recorder.statements)
    finally:
        event.remove(Engine, "before_cursor_execute", recorder)
    assert any("submissions" in s for s in student_sql) and any("questions" in s for s in student_sql)
    assert _reads_answer_columns(student_sql) == []
    assert _reads_answer_columns(instructor_sql)  # the check would notice: the key does read them


def test_status_shows_only_your_own_submissions(tmp_path):
    """Another student's attempts, answers and scores never reach your status (this test fails
    if any of status's queries loses its student filter: checked by removing each)."""
    klass = make_class(tmp_path)
    mine, theirs = "20260001", "20260002"
    assert klass.run("submit", "--allow-blank", str(klass.quiz), "--student", mine, "--token", klass.tokens[mine],
                     "--answer", "1=7").exit_code == 0
    right = right_answers(klass.key(theirs))
    args = [a for k, v in right.items() for a in ("--answer", f"{k}={v}")]
    for _ in range(2):
        assert klass.run("submit", "--allow-blank", str(klass.quiz), "--student", theirs, "--token",
                         klass.tokens[theirs],
                         *args).exit_code == 0
    klass.run("grade", str(klass.quiz))
    out = klass.run("status", str(klass.quiz), "--student", mine, "--token", klass.tokens[mine], "--json")
    data = json.loads(out.stdout)
    assert data["student"] == mine
    assert [(a["attempt"], a["answers"]) for a in data["attempts"]] == [(1, 1)]
    assert data["score"] == 0
    assert [q["slot"] for q in data["questions"] if q["score"] is not None] == [1]


def test_unknown_student_and_wrong_token_get_the_same_answer(tmp_path):
    klass = make_class(tmp_path)
    unknown = klass.run("submit", "--allow-blank", str(klass.quiz), "--student", "nobody", "--token",
                        klass.tokens["20260001"],
                        "--answer", "1=1")
    wrong = klass.run("submit", "--allow-blank", str(klass.quiz), "--student", "20260001", "--token", "wrong-token",
                      "--answer", "1=1")
    assert unknown.exit_code == wrong.exit_code == 1
    assert unknown.stderr == wrong.stderr == "Error: unknown student id or wrong token\n"
    for command in ("status",):
        a = klass.run(command, str(klass.quiz), "--student", "nobody", "--token", "x")
        b = klass.run(command, str(klass.quiz), "--student", "20260001", "--token", "x")
        assert a.stderr == b.stderr


def test_an_unknown_student_costs_the_same_hashing_as_a_wrong_token(tmp_path, monkeypatch):
    """The same SHA-256 work, counted (not timed), whether the id or the token was wrong:
    without the dummy hash an unknown id would skip hashing, and answer measurably sooner."""
    import hashlib

    from quizgen.classroom import students
    from quizgen.store.db import open_store

    klass = make_class(tmp_path)
    hashed: list[int] = []

    class CountingHashlib:
        @staticmethod
        def sha256(data: bytes = b""):  # type: ignore[no-untyped-def]
            hashed.append(len(data))
            return hashlib.sha256(data)

    monkeypatch.setattr(students, "hashlib", CountingHashlib)
    store = open_store(str(klass.db))

    def work(student: str, token: str) -> tuple[list[int], str]:
        hashed.clear()
        with store.read() as session, pytest.raises(students.AuthError) as refused:
            students.authenticate(session, student, token)
        return list(hashed), str(refused.value)

    try:
        token = klass.tokens["20260001"]
        wrong_token = work("20260001", token[::-1])
        unknown_id = work("nobody", token)
        assert wrong_token == unknown_id  # as many bytes hashed as many times, and the same words
        assert len(wrong_token[0]) == 1 and wrong_token[0][0] > len(token)  # salt and token, hashed once
        with store.read() as session:  # and the right token still works (the counter did not change hashing)
            assert students.authenticate(session, "20260001", token).external_id == "20260001"
    finally:
        store.dispose()


def test_every_response_carries_the_security_headers(tmp_path):
    """Over HTTP from a real ``quizgen serve`` (no browser): pages, the API, errors, the font."""
    import httpx

    from quizgen.service.page_views import FONT_PATH

    from .server import bearer, start_server

    klass = make_class(tmp_path, "--deadline", "2099-01-01 00:00")
    server = start_server(str(klass.db), tmp_path)
    try:
        with server.client() as client:
            sid, token = "20260001", klass.tokens["20260001"]
            responses = {
                "page": client.get("/"),
                "page in English": client.get("/?lang=en"),
                "a quiz page": client.post("/quiz", data={"student": sid, "token": token, "quiz": str(klass.quiz)},
                                           headers={"Origin": server.url}),
                "a refused login": client.post("/quiz", data={"student": sid, "token": "wrong", "quiz": "1"},
                                               headers={"Origin": server.url}),
                "health": client.get("/api/v1/health"),
                "the quiz": client.get(f"/api/v1/quizzes/{klass.quiz}", headers=bearer(sid, token)),
                "401": client.get(f"/api/v1/quizzes/{klass.quiz}", headers=bearer(sid, "wrong")),
                "404": client.get("/no/such/thing"),
                "405": client.delete("/api/v1/health"),
                "413": client.post(f"/api/v1/quizzes/{klass.quiz}/submissions", content=b"x" * 2_000_000,
                                   headers={**bearer(sid, token), "Content-Type": "application/json"}),
                "font": client.get("/" + FONT_PATH),
            }
    finally:
        server.stop()
    assert responses["page"].status_code == 200 and responses["a quiz page"].status_code == 200
    assert responses["401"].status_code == 401 and responses["413"].status_code == 413
    for what, response in responses.items():
        headers = response.headers
        csp = {d.split()[0]: d.strip() for d in headers.get("content-security-policy", "").split(";") if d.strip()}
        assert csp.get("default-src") == "default-src 'none'" and "script-src" not in csp, what
        assert csp.get("frame-ancestors") == "frame-ancestors 'none'", what
        assert csp.get("form-action") == "form-action 'self'" and csp.get("base-uri") == "base-uri 'none'", what
        assert headers.get("x-frame-options") == "DENY", what
        assert headers.get("x-content-type-options") == "nosniff", what
        assert headers.get("referrer-policy") == "no-referrer", what
        assert "set-cookie" not in headers, what
        if what != "font":  # pages carry the token in their forms: never cached
            assert headers.get("cache-control") == "no-store", what
    assert isinstance(responses["font"], httpx.Response) and responses["font"].status_code == 200


def test_a_new_database_and_its_journals_are_private(tmp_path):
    """Created 0600 whatever the umask lets through (the usual 022 here), the -wal and -shm
    too, and the backup db upgrade makes: whoever reads them reads the answer key."""
    import os
    import stat

    from quizgen.store.db import _backup, open_store

    old = os.umask(0o022)
    try:
        klass = make_class(tmp_path)
        store = open_store(str(klass.db))
        try:
            with store.write():
                files = [klass.db, Path(f"{klass.db}-wal"), Path(f"{klass.db}-shm")]
                assert {f.name: stat.S_IMODE(f.stat().st_mode) for f in files} == {f.name: 0o600 for f in files}
            backup = _backup(store)
            assert stat.S_IMODE(backup.stat().st_mode) == 0o600
        finally:
            store.dispose()
    finally:
        os.umask(old)


def test_a_world_readable_database_is_warned_about_once(tmp_path):
    import os

    klass = make_class(tmp_path)
    quiet = klass.run("list", "--json")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    os.chmod(klass.db, 0o644)
    for args in (["list", "--json"], ["gradebook", str(klass.quiz)], ["init"]):
        warned = klass.run(*args)
        assert warned.exit_code == 0, warned.output
        lines = [line for line in warned.stderr.splitlines() if "every user of this machine can read" in line]
        assert len(lines) == 1 and lines[0].startswith("Warning: ") and f"chmod 600 {klass.db}*" in lines[0], args
    assert json.loads(klass.run("list", "--json").stdout) == json.loads(quiet.stdout)  # stdout is still data only
    os.chmod(klass.db, 0o640)  # the group may read it (a course's TAs): not every user
    assert klass.run("list", "--json").stderr == ""


def test_a_database_password_is_never_printed():
    from click.testing import CliRunner

    from quizgen.cli.main import cli

    url = "postgresql://quizuser:s3cr3t-pw@127.0.0.1:1/quizzes"  # nothing listens on port 1
    result = CliRunner().invoke(cli, ["--db", url, "list"])
    assert result.exit_code == 1 and "s3cr3t-pw" not in result.output
    assert "***" in result.stderr or "quizuser" in result.stderr


@pytest.mark.parametrize("feedback", ["none", "score", "full"])
def test_the_library_itself_hides_what_the_feedback_policy_hides(tmp_path, feedback):
    """classroom.submissions.status, called as any front end calls it (no CLI in between):
    under 'none' no score and no question results, under 'score' the score but no
    per-question correctness, slips or feedback, under 'full' everything."""
    from quizgen.classroom.submissions import status
    from quizgen.store.db import open_store

    klass = make_class(tmp_path, "--feedback", feedback)
    sid = "20260001"
    right = right_answers(klass.key(sid))
    first = sorted(right)[0]
    args = [a for k, v in right.items() for a in ("--answer", f"{k}={'1' if k == first else v}")]
    assert klass.run("submit", "--allow-blank", str(klass.quiz), "--student", sid, "--token", klass.tokens[sid],
                     *args).exit_code == 0
    assert klass.run("grade", str(klass.quiz)).exit_code == 0
    store = open_store(str(klass.db))
    try:
        report = status(store, klass.quiz, sid, klass.tokens[sid])
    finally:
        store.dispose()
    shown = json.dumps(report.to_json(), ensure_ascii=False)
    assert report.graded
    if feedback == "none":
        assert report.score is None and report.questions is None
        assert report.to_json()["score"] is None and report.to_json()["questions"] is None
    elif feedback == "score":
        assert report.score is not None and 0 < report.score < report.max_score
        assert report.questions is not None
        assert all(q.correct is None and q.misconception is None and q.parts is None and q.feedback is None
                   for q in report.questions)
        assert report.to_json()["questions"] is None
    else:
        assert report.score is not None and 0 < report.score < report.max_score
        assert [q.correct for q in report.questions][0] is False and all(q.correct for q in report.questions[1:])
    if feedback != "full":
        assert '"correct": false' not in shown and "misconception" not in shown.replace('"misconception": null', "")
