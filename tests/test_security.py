"""Security properties: tokens, isolation between students, and what student commands read."""

from __future__ import annotations

import json
import re

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
        assert klass.run("submit", str(klass.quiz), "--student", sid, "--token", token, *args).exit_code == 0
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
    klass = make_class(tmp_path)
    for sid in ("20260001", "20260002"):
        args = ["--answer", f"1={'7' if sid == '20260001' else '123456'}"]
        klass.run("submit", str(klass.quiz), "--student", sid, "--token", klass.tokens[sid], *args)
    klass.run("grade", str(klass.quiz))
    mine = klass.run("status", str(klass.quiz), "--student", "20260001", "--token", klass.tokens["20260001"], "--json")
    data = json.loads(mine.stdout)
    assert data["student"] == "20260001" and len(data["attempts"]) == 1
    assert "123456" not in mine.output
