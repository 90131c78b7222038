"""The classroom's rules have one owner each (issue #20.6, #21.4, #21.5), on SQLite and
PostgreSQL: the closing rule takes a student's whole rules (the quiz's deadline, late
window, zone, language and their extension), so ``submit``, the HTTP API, the page and
``import-submissions`` judge alike; one settings validator, one wording, for
``generate``, ``quiz set`` and ``quiz extend``; deadlines in the past and with seconds."""

from __future__ import annotations

import inspect
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx
import pytest

from .helpers import make_class, right_answers
from .server import bearer, start_server

PAST, FUTURE, LATER = "2020-01-01 00:00", "2099-01-01 00:00", "2099-06-01 00:00"
A, B, C = "20260001", "20260002", "20260003"


def _submit(klass, student, answers=None):  # type: ignore[no-untyped-def]
    answers = answers or {"1": "5"}
    args = [a for k, v in answers.items() for a in ("--answer", f"{k}={v}")]
    return klass.run("submit", str(klass.quiz), "--allow-blank", "--student", student, "--token", klass.tokens[student],
                     *args)


def _post(client, quiz, student, token, answers):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/quizzes/{quiz}/submissions", json={"answers": answers},
                       headers={**bearer(student, token), "Idempotency-Key": str(uuid.uuid4())})


def _import_file(klass, tmp_path, students, when, name):  # type: ignore[no-untyped-def]
    rows = ["student,question,answer,submitted_at"]
    for sid in students:
        for k, v in right_answers(klass.key(sid)).items():
            rows.append(f'{sid},{k},"{v}",{when}')
    path = tmp_path / name
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _attempts(klass, student: str) -> int:
    from .test_cli_manage import sql

    return sql(klass.db, "SELECT count(*) FROM attempts a JOIN students s ON s.id = a.student_id "
                         "WHERE s.external_id = :s", s=student)[0][0]


def _quiz_row(klass):  # type: ignore[no-untyped-def]
    from .test_cli_manage import sql

    return sql(klass.db, "SELECT deadline, late_until, time_zone, attempt_limit FROM quizzes WHERE id = :q",
               q=klass.quiz)


# ---------------------------------------------------------------- the closing rule's owner

def test_the_closing_rule_takes_whole_rules_with_nothing_left_to_a_default():
    from quizgen.classroom import policies

    for rule in (policies.refuse_if_closed, policies.is_open, policies.refuse_if_spent, policies.rules_of,
                 policies.student_rules, policies.check_settings):
        params = inspect.signature(rule).parameters.values()
        assert all(p.default is inspect.Parameter.empty for p in params), rule.__name__
    assert list(inspect.signature(policies.refuse_if_closed).parameters) == ["rules", "at"]


def test_an_import_inside_the_late_window_is_taken_as_late_as_submit_takes_it(db_url, tmp_path):
    klass = make_class(tmp_path, "--deadline", PAST, "--allow-past", "--late-until", FUTURE, "--tz", "Asia/Seoul",
                       db=db_url)
    late = _submit(klass, A)
    assert late.exit_code == 0 and "마감 후 제출" in late.stdout  # submit records it as late
    inside = _import_file(klass, tmp_path, [B], "2030-06-01 12:00", "inside.csv")
    report = klass.run("import-submissions", str(klass.quiz), str(inside), "--json")
    assert report.exit_code == 0, report.output
    body = json.loads(report.stdout)
    assert body["late"] == body["imported"] > 0 and body["after_close"] == 0 and body["students"] == 1
    assert _attempts(klass, B) == 1
    # after the late window: refused, in the quiz's language, naming the late window
    after = _import_file(klass, tmp_path, [C], "2099-01-01 00:01", "after.csv")
    refused = klass.run("import-submissions", str(klass.quiz), str(after))
    assert refused.exit_code == 1 and "마감되었습니다" in refused.stderr
    assert "지각 제출은 2099-01-01 00:00 +09:00 (Asia/Seoul)까지" in refused.stderr
    assert "--ignore-deadline" in refused.stderr and _attempts(klass, C) == 0


# ---------------------------------------------------------------- one settings validator

def test_generate_and_quiz_set_refuse_a_deadline_past_the_late_window_in_one_wording(db_url, tmp_path):
    klass = make_class(tmp_path, "--deadline", "2099-01-01 00:00", "--late-until", "2099-01-01 12:00",
                       "--tz", "UTC", db=db_url)
    before = _quiz_row(klass)
    moved = klass.run("quiz", "set", str(klass.quiz), "--deadline", "2099-01-02 00:00")
    assert moved.exit_code == 1, moved.output
    assert _quiz_row(klass) == before  # the late window is not cleared behind the instructor's back
    made = klass.run("generate", "--title", "T", "--count", "1", "--seed", "1", "--no-verify", "--tz", "UTC",
                     "--deadline", "2099-01-02 00:00", "--late-until", "2099-01-01 12:00")
    assert made.exit_code == 1
    expected = ("Error: late submissions must close after the deadline, but the late window ends 2099-01-01 12:00 "
                "+00:00 and the deadline is 2099-01-02 00:00 +00:00; give a later --late-until, or no late window\n")
    assert moved.stderr == made.stderr == expected
    # the extension of one student is held to the same sentence
    ext = klass.run("quiz", "extend", str(klass.quiz), "--student", A, "--deadline", "2099-01-02 00:00",
                    "--late-until", "2099-01-01 18:00")
    assert ext.exit_code == 1 and ext.stderr.startswith("Error: late submissions must close after the deadline")
    # removing the deadline under a late window is refused too (generate refuses a late window without one)
    removed = klass.run("quiz", "set", str(klass.quiz), "--no-deadline")
    alone = klass.run("generate", "--title", "T", "--count", "1", "--seed", "1", "--no-verify",
                      "--late-until", "2099-01-01 12:00")
    assert removed.exit_code == alone.exit_code == 1 and removed.stderr == alone.stderr
    assert "a late window needs a deadline" in removed.stderr and _quiz_row(klass) == before
    both = klass.run("quiz", "set", str(klass.quiz), "--no-deadline", "--no-late")
    assert both.exit_code == 0 and both.stdout.splitlines() == [
        "deadline: 2099-01-01 00:00 +00:00 -> no deadline", "late_until: 2099-01-01 12:00 +00:00 -> none"]
    assert _quiz_row(klass)[0][:2] == (None, None)


def test_the_validator_is_the_library_s_for_every_caller():
    from quizgen.classroom.policies import QuizSettings, SettingsError, check_settings
    from quizgen.classroom.quizzes import QuizPlan

    deadline = datetime(2099, 1, 2, tzinfo=UTC)
    for bad, words in ((dict(attempt_limit=0), "attempt limit"), (dict(feedback="loud"), "feedback"),
                       (dict(counting="worst"), "counting"),
                       (dict(late_until=deadline - timedelta(hours=1)), "late window ends")):
        settings = {"deadline": deadline, "time_zone": "UTC", "late_until": None, "attempt_limit": None,
                    "feedback": "full", "counting": "last", **bad}
        with pytest.raises(SettingsError) as direct:
            check_settings(QuizSettings(**settings), None)
        with pytest.raises(SettingsError) as planned:
            QuizPlan(title="t", seed=1, count=1, **settings).validate()
        assert str(direct.value) == str(planned.value) and words in str(direct.value)


# ---------------------------------------------------------------- deadlines (#21.4)

def test_generate_refuses_a_past_deadline_unless_allow_past(tmp_path):
    from .test_cli_manage import run, sql

    db = tmp_path / "q.db"
    past = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%d %H:%M")
    refused = run(db, "generate", "--title", "T", "--count", "1", "--seed", "1", "--no-verify", "--tz", "UTC",
                  "--deadline", past)
    assert refused.exit_code == 1 and "has already passed" in refused.stderr and "--allow-past" in refused.stderr
    assert refused.stderr.count("\n") == 1
    assert not db.exists() or sql(db, "SELECT count(*) FROM quizzes") == [(0,)]
    made = run(db, "generate", "--title", "T", "--count", "1", "--seed", "1", "--no-verify", "--tz", "UTC",
               "--deadline", past, "--allow-past", "--json")
    assert made.exit_code == 0 and sql(db, "SELECT count(*) FROM quizzes") == [(1,)]


def test_seconds_may_be_given_wherever_a_time_is_typed(db_url, tmp_path):
    klass = make_class(tmp_path, "--deadline", "2099-12-08 18:00:30", "--tz", "Asia/Seoul", "--attempts", "1",
                       db=db_url)
    info = json.loads(klass.run("list", "--json").stdout)[0]
    assert info["deadline"] == "2099-12-08T09:00:30+00:00"
    shown = klass.run("quiz", "set", str(klass.quiz), "--deadline", "2099-12-09T18:00:45")
    assert shown.stdout == ("deadline: 2099-12-08 18:00:30 +09:00 (Asia/Seoul) -> "
                            "2099-12-09 18:00:45 +09:00 (Asia/Seoul)\n")
    ext = klass.run("quiz", "extend", str(klass.quiz), "--student", A, "--deadline", "2099-12-10 18:00:15", "--json")
    assert json.loads(ext.stdout)["after"]["deadline"] == "2099-12-10T09:00:15+00:00"
    # a time of import to the second: 18:00:45 is on time, 18:00:46 is after the deadline
    on_time = _import_file(klass, tmp_path, [B], "2099-12-09 18:00:45", "on.csv")
    assert klass.run("import-submissions", str(klass.quiz), str(on_time)).exit_code == 0
    late = _import_file(klass, tmp_path, [C], "2099-12-09 18:00:46", "late.csv")
    refused = klass.run("import-submissions", str(klass.quiz), str(late))
    assert refused.exit_code == 1 and "2099-12-09 18:00:45 +09:00 (Asia/Seoul)에 마감" in refused.stderr


# ---------------------------------------------------------------- extensions (#21.5)

def test_an_extension_is_applied_by_every_front_end_and_shown_to_the_student(db_url, tmp_path):
    klass = make_class(tmp_path, "--deadline", PAST, "--allow-past", "--tz", "Asia/Seoul", "--attempts", "1",
                       db=db_url)
    q = str(klass.quiz)
    assert _submit(klass, A).exit_code == 1  # closed for everyone
    given = klass.run("quiz", "extend", q, "--student", A, "--deadline", FUTURE, "--attempts", "3", "--json")
    assert given.exit_code == 0, given.output
    body = json.loads(given.stdout)
    assert body["before"] is None and body["after"]["attempt_limit"] == 3
    assert body["rules"]["deadline"] == "2098-12-31T15:00:00+00:00" and body["rules"]["attempt_limit"] == 3
    told = klass.run("quiz", "extend", q, "--student", B, "--attempts", "2")
    assert told.exit_code == 0 and "20260002 may submit until 2020-01-01 00:00 +09:00 (Asia/Seoul)" in told.stderr

    # the command line
    first = _submit(klass, A)
    assert first.exit_code == 0 and "마감 후" not in first.stdout
    refused = _submit(klass, B)
    assert refused.exit_code == 1 and "마감되었습니다" in refused.stderr and _attempts(klass, B) == 0
    status = json.loads(klass.run("status", q, "--student", A, "--token", klass.tokens[A], "--json").stdout)
    assert status["extension"]["attempt_limit"] == 3 and status["attempt_limit"] == 3
    assert status["deadline"] == "2098-12-31T15:00:00+00:00"
    lines = klass.run("status", q, "--student", A, "--token", klass.tokens[A]).stdout
    # (the student's screen adds this machine's own time where its clock reads otherwise)
    assert "연장 적용: 마감 2099-01-01 00:00 +09:00 (Asia/Seoul)" in lines and "제출 기회 3번" in lines
    assert "연장" not in klass.run("status", q, "--student", C, "--token", klass.tokens[C]).stdout
    shown = klass.run("show", q, "--student", A)
    assert "연장 적용: 마감 2099-01-01 00:00 +09:00 (Asia/Seoul)" in shown.stdout
    assert json.loads(klass.run("show", q, "--student", A, "--json").stdout)["extension"]["attempt_limit"] == 3

    # the HTTP API and the page, through a real quizgen serve
    server = start_server(str(klass.db), tmp_path)
    try:
        with server.client() as c:
            mine = c.get(f"/api/v1/quizzes/{q}", headers=bearer(A, klass.tokens[A])).json()["quiz"]
            other = c.get(f"/api/v1/quizzes/{q}", headers=bearer(C, klass.tokens[C])).json()["quiz"]
            assert mine["open"] and mine["attempts_left"] == 2 and mine["extension"]["attempt_limit"] == 3
            assert mine["deadline_local"] == "2099-01-01 00:00 +09:00 (Asia/Seoul)"
            assert not other["open"] and other["extension"] is None
            r = _post(c, q, A, klass.tokens[A], {"1": "6"})
            assert r.status_code == 201 and r.json()["late"] is False
            r = _post(c, q, C, klass.tokens[C], {"1": "6"})
            assert r.status_code == 409 and r.json()["error"]["code"] == "quiz_closed"
            mine = c.get(f"/api/v1/quizzes/{q}/submissions", headers=bearer(A, klass.tokens[A])).json()
            assert mine["extension"]["deadline"] == "2098-12-31T15:00:00+00:00"
            form = {"content-type": "application/x-www-form-urlencoded"}
            page = c.post("/quiz", content=urlencode({"student": A, "token": klass.tokens[A], "quiz": q}),
                          headers=form)
            assert page.status_code == 200 and "연장 적용: 마감 2099-01-01 00:00 +09:00 (Asia/Seoul)" in page.text
            assert 'action="review"' in page.text  # open for them
            fields = {"student": A, "token": klass.tokens[A], "quiz": q, "idempotency_key": str(uuid.uuid4()),
                      "a:1": "7"}
            review = c.post("/review", content=urlencode(fields), headers=form)
            blanks = re.search(r'name="blank" value="([^"]*)"', review.text)  # the blanks the student confirms
            sent = c.post("/submit", content=urlencode({**fields, "blank": blanks.group(1) if blanks else ""}),
                          headers=form)
            assert sent.status_code == 200, sent.text
            closed = c.post("/quiz", content=urlencode({"student": C, "token": klass.tokens[C], "quiz": q}),
                            headers=form)
            assert 'action="review"' not in closed.text and "연장" not in closed.text
    finally:
        server.stop()
    assert _attempts(klass, A) == 3 and _attempts(klass, C) == 0
    assert _submit(klass, A).exit_code == 1  # the extension's 3 attempts are used

    # imports: the extension's deadline for A's rows, the quiz's for C's
    path = _import_file(klass, tmp_path, [C], "2030-01-01 00:00", "c.csv")
    assert klass.run("import-submissions", q, str(path)).exit_code == 1
    klass.run("quiz", "extend", q, "--student", C, "--deadline", LATER)
    imported = klass.run("import-submissions", q, str(path), "--json")
    assert imported.exit_code == 0 and json.loads(imported.stdout)["late"] == 0 and _attempts(klass, C) == 1

    # the instructor sees it; --clear takes it back
    progress = json.loads(klass.run("progress", q, "--json").stdout)
    ext = {s["student"]: s["extension"] for s in progress["students"]}
    assert ext[A]["attempt_limit"] == 3 and ext[B] == {**ext[B], "attempt_limit": 2} and ext["20260004"] is None
    cleared = klass.run("quiz", "extend", q, "--student", C, "--clear", "--json")
    assert json.loads(cleared.stdout)["after"] is None
    assert _submit(klass, C).exit_code == 1 and _attempts(klass, C) == 1


def test_an_extension_only_gives_more_and_refusals_store_nothing(db_url, tmp_path):
    from .test_cli_manage import sql

    klass = make_class(tmp_path, "--deadline", FUTURE, "--tz", "UTC", "--attempts", "2", db=db_url)
    q = str(klass.quiz)
    for args, code, words in (
            (["--student", A], 2, "nothing to extend"),
            (["--student", A, "--attempts", "3", "--clear"], 2, "--clear removes the whole extension"),
            (["--student", A, "--deadline", "2098-01-01 00:00"], 1, "is not after the quiz's deadline"),
            (["--student", A, "--attempts", "2"], 1, "is not more than the quiz's 2"),
            (["--student", "nobody", "--attempts", "3"], 1, "has no variant of quiz"),
            (["--student", A, "--deadline", "someday"], 1, "is not a date and time")):
        out = klass.run("quiz", "extend", q, *args)
        assert out.exit_code == code and words in out.stderr and out.stderr.count("\n") == 1, out.output
    assert sql(klass.db, "SELECT count(*) FROM extensions") == [(0,)]
    open_ended = make_class(tmp_path / "x" if (tmp_path / "x").mkdir() is None else tmp_path, db=None)
    out = open_ended.run("quiz", "extend", str(open_ended.quiz), "--student", A, "--deadline", FUTURE)
    assert out.exit_code == 1 and "has no deadline" in out.stderr
    # a later quiz deadline never takes from the student what the extension gave
    assert klass.run("quiz", "extend", q, "--student", A, "--deadline", LATER).exit_code == 0
    assert klass.run("quiz", "set", q, "--deadline", "2099-03-01 00:00").exit_code == 0
    rules = json.loads(klass.run("show", q, "--student", A, "--json").stdout)
    assert rules["extension"]["deadline"] == "2099-06-01T00:00:00+00:00"
    assert klass.run("quiz", "set", q, "--deadline", "2099-09-01 00:00").exit_code == 0
    server = start_server(str(klass.db), tmp_path)
    try:
        with httpx.Client(base_url=server.url, trust_env=False, timeout=30) as c:
            view = c.get(f"/api/v1/quizzes/{q}", headers=bearer(A, klass.tokens[A])).json()["quiz"]
    finally:
        server.stop()
    assert view["deadline"] == "2099-09-01T00:00:00+00:00"  # the later of the two
