"""Managing a quiz without SQL (issue #11): who gets a variant, ``quiz add-students``,
``quiz set``, ``quiz accept`` and ``quiz correct``, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from quizgen.cli.main import cli

from .helpers import ROSTER, make_class, right_answers

STUDENTS = ("20260001", "20260002", "20260003", "20260004")
SMALL = ("--count", "4", "--seed", "11", "--kind", "total-params,summary,output-shape,inverse")


def run(db, *args, env=None):
    return CliRunner().invoke(cli, ["--db", str(db), *args], env=env)


def sql(db, query: str, **params):
    """Rows of a query on either backend (for checking what the commands stored)."""
    from sqlalchemy import create_engine, text

    from quizgen.store.db import resolve_url

    engine = create_engine(resolve_url(str(db)))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(query), params)]
    finally:
        engine.dispose()


def _roster(tmp_path: Path, db) -> dict[str, str]:
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER, encoding="utf-8")
    out = run(db, "roster", "import", str(path), "--json")
    assert out.exit_code == 0, out.output
    return {t["id"]: t["token"] for t in json.loads(out.stdout)}


def _db(db_url, tmp_path):
    return db_url if "://" in str(db_url) else tmp_path / "class.db"


def _answers(db, quiz: int, student: str) -> list[dict]:
    out = run(db, "key", str(quiz), "--student", student, "--json")
    assert out.exit_code == 0, out.output
    return [{k: a[k] for k in ("slot", "kind", "answer", "derivation", "breakdown")}
            for a in json.loads(out.stdout)["answers"]]


def _submit(db, quiz, student, token, answers):
    args = [a for k, v in answers.items() for a in ("--answer", f"{k}={v}")]
    out = run(db, "submit", "--allow-blank", str(quiz), "--student", student, *args, env={"QUIZGEN_TOKEN": token})
    assert out.exit_code == 0, out.output
    return out


# ---------------------------------------------------------------- who gets a variant

def test_generate_without_students_gives_everyone_on_the_roster_a_variant(db_url, tmp_path):
    db = _db(db_url, tmp_path)
    tokens = _roster(tmp_path, db)
    made = run(db, "generate", "--title", "T", *SMALL, "--no-verify", "--json")
    assert made.exit_code == 0, made.output
    created = json.loads(made.stdout)
    assert created["students"] == 4 and created["students_from"] == "roster"
    assert "on the stored roster" in run(db, "generate", "--title", "T", *SMALL, "--no-verify").stderr
    for sid in STUDENTS:  # each can see and submit to their own variant
        assert run(db, "show", str(created["id"]), "--student", sid).exit_code == 0
        _submit(db, created["id"], sid, tokens[sid], {"1": "12345"})
    assert sql(db, "SELECT count(*) FROM variants WHERE quiz_id = :q AND student_id IS NULL", q=created["id"]) == [(1,)]


def test_shared_only_and_the_message_a_student_not_on_the_quiz_gets(db_url, tmp_path):
    db = _db(db_url, tmp_path)
    tokens = _roster(tmp_path, db)
    made = run(db, "generate", "--title", "T", *SMALL, "--no-verify", "--shared-only", "--json")
    quiz = json.loads(made.stdout)
    assert quiz["students"] == 0
    refused = run(db, "submit", "--allow-blank", str(quiz["id"]), "--student", "20260001", "--answer", "1=5",
                  env={"QUIZGEN_TOKEN": tokens["20260001"]})
    assert refused.exit_code == 1
    assert f"quizgen quiz add-students {quiz['id']} --student 20260001" in refused.stderr
    status = run(db, "status", str(quiz["id"]), "--student", "20260001", env={"QUIZGEN_TOKEN": tokens["20260001"]})
    assert "quizgen quiz add-students" in status.stderr
    assert "quizgen quiz add-students" in run(db, "show", str(quiz["id"]), "--student", "20260001").stderr
    hint = run(db, "generate", "--title", "T", *SMALL, "--no-verify", "--shared-only")
    assert "quizgen quiz add-students" in hint.stderr
    both = run(db, "generate", "--title", "T", *SMALL, "--no-verify", "--shared-only", "--students", "x.csv")
    assert both.exit_code == 2


def test_generate_on_an_empty_roster_says_how_to_add_students(tmp_path):
    db = tmp_path / "q.db"
    made = run(db, "generate", "--title", "T", *SMALL, "--no-verify")
    assert made.exit_code == 0 and "the stored roster is empty" in made.stderr and "add-students" in made.stderr


# ---------------------------------------------------------------- add-students

def test_add_students_gives_the_variant_of_generation_and_is_idempotent(db_url, tmp_path):
    db = _db(db_url, tmp_path)
    tokens = _roster(tmp_path, db)
    options = ("--title", "T", "--count", "8", "--seed", "2026", "--difficulty", "hard", "--lang", "en",
               "--range", "hidden=32-64", "--range", "vocab=1000-3000", "--no-verify")
    everyone = json.loads(run(db, "generate", *options, "--json").stdout)["id"]
    later = json.loads(run(db, "generate", *options, "--shared-only", "--json").stdout)["id"]
    first = run(db, "quiz", "add-students", str(later), "--student", "20260002", "--student", "20260001",
                "--no-verify", "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["added"] == ["20260002", "20260001"]
    second = json.loads(run(db, "quiz", "add-students", str(later), "--roster-all", "--no-verify", "--json").stdout)
    assert second["added"] == ["20260003", "20260004"]
    assert second["already_on_quiz"] == ["20260001", "20260002"] and second["tokens"] == []
    again = run(db, "quiz", "add-students", str(later), "--roster-all", "--no-verify")
    assert again.exit_code == 0 and "Nobody added" in again.stderr
    for sid in STUDENTS:  # the same variant, question for question, as at generation
        assert _answers(db, later, sid) == _answers(db, everyone, sid)
    assert sql(db, "SELECT count(*) FROM variants WHERE quiz_id = :q", q=later) == [(5,)]
    assert sql(db, "SELECT count(*) FROM questions q JOIN variants v ON q.variant_id = v.id "
                   "WHERE v.quiz_id = :q", q=later) == [(40,)]
    _submit(db, later, "20260003", tokens["20260003"], {"1": "1"})


def test_add_students_from_a_file_adds_them_to_the_roster_with_a_token(db_url, tmp_path):
    db = _db(db_url, tmp_path)
    _roster(tmp_path, db)
    quiz = json.loads(run(db, "generate", "--title", "T", *SMALL, "--no-verify", "--shared-only",
                          "--json").stdout)["id"]
    late = tmp_path / "late.csv"
    late.write_text("id,name,email\n20260031,김하늘,sky@example.ac.kr\n20260001,김민준 (개명),\n", encoding="utf-8")
    out = run(db, "quiz", "add-students", str(quiz), "--students", str(late), "--no-verify")
    assert out.exit_code == 0, out.output
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("20260031\t김하늘\t")  # one token, shown once, on stdout
    assert "New on the roster: 20260031" in out.stderr and "Updated the name or email of: 20260001" in out.stderr
    token = lines[0].split("\t")[2]
    _submit(db, quiz, "20260031", token, {"1": "1"})
    again = json.loads(run(db, "quiz", "add-students", str(quiz), "--students", str(late), "--no-verify",
                           "--json").stdout)
    assert again["added"] == [] and again["tokens"] == [] and sorted(again["already_on_quiz"]) == ["20260001",
                                                                                                  "20260031"]


def test_add_students_confirmed_by_keras_matches_a_confirmed_generation(tmp_path, checker):
    db = tmp_path / "q.db"
    _roster(tmp_path, db)
    args = ("--title", "T", "--count", "3", "--seed", "5", "--kind", "total-params,summary,trainable-split")
    full = json.loads(run(db, "generate", *args, "--json").stdout)
    later = json.loads(run(db, "generate", *args, "--shared-only", "--json").stdout)
    assert full["status"] == later["status"] == "ready"
    out = run(db, "quiz", "add-students", str(later["id"]), "--student", "20260004")
    assert out.exit_code == 0 and "confirmed by Keras" in out.stderr
    assert _answers(db, later["id"], "20260004") == _answers(db, full["id"], "20260004")
    assert json.loads(run(db, "list", "--json").stdout)[1]["status"] == "ready"
    unconfirmed = run(db, "quiz", "add-students", str(later["id"]), "--student", "20260003", "--no-verify", "--json")
    assert json.loads(unconfirmed.stdout)["status"] == "unverified"


def test_a_student_added_meanwhile_is_not_added_twice(tmp_path, checker):
    """Variants are drafted and confirmed outside the write transaction; a student another
    command added meanwhile is found again under the lock and reported, not duplicated."""
    from quizgen.classroom.manage import add_students_to_quiz
    from quizgen.store.db import open_store

    db = tmp_path / "q.db"
    _roster(tmp_path, db)
    run(db, "generate", "--title", "T", "--count", "1", "--seed", "3", "--kind", "total-params", "--no-verify",
        "--shared-only")
    store = open_store(str(db))
    meanwhile = []

    def progress(done: int, total: int) -> None:  # called while Keras confirms, before the write
        if not meanwhile:
            meanwhile.append(add_students_to_quiz(store, 1, ids=["20260001"], verify=False))

    try:
        result = add_students_to_quiz(store, 1, ids=["20260001", "20260002"], progress=progress)
    finally:
        store.dispose()
    assert meanwhile[0].added == ["20260001"]
    assert result.added == ["20260002"] and result.already == ["20260001"]
    assert sql(db, "SELECT count(*) FROM variants") == [(3,)]


@pytest.mark.parametrize("args, code, message", [
    ([], 2, "name the students one way"),
    (["--roster-all", "--student", "20260001"], 2, "name the students one way"),
    (["--student", "nobody"], 1, "no student 'nobody' on the roster"),
    (["--students", "missing.csv"], 1, "missing.csv"),
])
def test_add_students_errors(tmp_path, args, code, message):
    db = tmp_path / "q.db"
    _roster(tmp_path, db)
    run(db, "generate", "--title", "T", *SMALL, "--no-verify", "--shared-only")
    out = run(db, "quiz", "add-students", "1", *args)
    assert out.exit_code == code and message in out.stderr and out.stderr.count("\n") == 1, out.output
    assert sql(db, "SELECT count(*) FROM variants") == [(1,)]


def test_add_students_refuses_a_quiz_from_another_generator_version(tmp_path):
    db = tmp_path / "q.db"
    _roster(tmp_path, db)
    run(db, "generate", "--title", "T", *SMALL, "--no-verify", "--shared-only")
    import sqlite3

    con = sqlite3.connect(db)
    con.execute("UPDATE quizzes SET generator_version = '0'")
    con.commit()
    con.close()
    out = run(db, "quiz", "add-students", "1", "--roster-all", "--no-verify")
    assert out.exit_code == 1 and "generator version 0" in out.stderr
    assert sql(db, "SELECT count(*) FROM variants") == [(1,)]


# ---------------------------------------------------------------- set

def test_set_changes_each_setting_and_shows_before_and_after(db_url, tmp_path):
    db = _db(db_url, tmp_path)
    tokens = _roster(tmp_path, db)
    quiz = json.loads(run(db, "generate", "--title", "T", *SMALL, "--no-verify", "--tz", "Asia/Seoul",
                          "--deadline", "2099-12-01 18:00", "--attempts", "3", "--json").stdout)["id"]
    q = str(quiz)
    moved = run(db, "quiz", "set", q, "--deadline", "2099-12-08 18:00")  # read in the quiz's zone
    assert moved.exit_code == 0, moved.output
    assert moved.stdout == ("deadline: 2099-12-01 18:00 +09:00 (Asia/Seoul) -> "
                            "2099-12-08 18:00 +09:00 (Asia/Seoul)\n")
    assert sql(db, "SELECT time_zone FROM quizzes WHERE id = :q", q=quiz) == [("Asia/Seoul",)]
    info = json.loads(run(db, "list", "--json").stdout)[0]
    assert info["deadline"] == "2099-12-08T09:00:00+00:00"  # stored as the UTC instant

    zoned = json.loads(run(db, "quiz", "set", q, "--deadline", "2099-12-08 18:00", "--tz", "America/New_York",
                           "--json").stdout)
    assert [(c["setting"], c["before"], c["after"]) for c in zoned["changes"]] == [
        ("time_zone", "Asia/Seoul", "America/New_York"),
        ("deadline", "2099-12-08T09:00:00+00:00", "2099-12-08T23:00:00+00:00")]

    for sid in ("20260001", "20260002"):
        _submit(db, quiz, sid, tokens[sid], {"1": "1"})
    _submit(db, quiz, "20260001", tokens["20260001"], {"1": "2"})
    lowered = run(db, "quiz", "set", q, "--attempts", "1", "--feedback", "none", "--counting", "best")
    assert lowered.stdout.splitlines() == ["attempt_limit: 3 -> 1", "feedback: full -> none", "counting: last -> best"]
    assert "2 student(s) have used every attempt" in lowered.stderr and "20260001, 20260002" in lowered.stderr
    refused = run(
        db, "submit", "--allow-blank", q, "--student", "20260001", "--answer", "1=3",
            env={"QUIZGEN_TOKEN": tokens["20260001"]}
    )
    assert refused.exit_code == 1 and "제출 기회 1번을 모두 사용했습니다" in refused.stderr  # the quiz is Korean
    assert sql(db, "SELECT attempt_limit, feedback, counting FROM quizzes WHERE id = :q", q=quiz) == [
        (1, "none", "best")
    ]

    unchanged = run(db, "quiz", "set", q, "--attempts", "1")
    assert unchanged.exit_code == 0 and unchanged.stdout == "" and "Nothing changed" in unchanged.stderr

    removed = json.loads(run(db, "quiz", "set", q, "--no-deadline", "--no-attempt-limit", "--json").stdout)
    assert [(c["setting"], c["after"]) for c in removed["changes"]] == [("deadline", None), ("attempt_limit", None)]
    _submit(db, quiz, "20260001", tokens["20260001"], {"1": "3"})

    past = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    closed = run(db, "quiz", "set", q, "--deadline", past, "--tz", "UTC")
    assert "closed to submissions" in closed.stderr
    late = run(db, "submit", "--allow-blank", q, "--student", "20260002", "--answer", "1=3",
               env={"QUIZGEN_TOKEN": tokens["20260002"]})
    assert late.exit_code == 1 and "마감되었습니다" in late.stderr  # the quiz is Korean


@pytest.mark.parametrize("args, code, message", [
    ([], 2, "nothing to change"),
    (["--deadline", "2099-01-01 10:00", "--no-deadline"], 2, "exclude each other"),
    (["--attempts", "2", "--no-attempt-limit"], 2, "exclude each other"),
    (["--tz", "Asia/Seoul"], 2, "--tz goes with --deadline"),
    (["--attempts", "0"], 2, "--attempts"),
    (["--feedback", "loud"], 2, "--feedback"),
    (["--deadline", "next friday"], 1, "is not a date and time"),
    (["--deadline", "2099-01-01 10:00", "--tz", "Mars/Olympus"], 1, "is not a time zone"),
])
def test_set_errors_change_nothing(tmp_path, args, code, message):
    db = tmp_path / "q.db"
    run(db, "generate", "--title", "T", *SMALL, "--no-verify", "--attempts", "3")
    before = sql(db, "SELECT deadline, time_zone, attempt_limit, feedback, counting FROM quizzes")
    out = run(db, "quiz", "set", "1", *args)
    assert out.exit_code == code and message in out.stderr and out.stderr.count("\n") == 1, out.output
    assert sql(db, "SELECT deadline, time_zone, attempt_limit, feedback, counting FROM quizzes") == before
    assert run(db, "quiz", "set", "7", "--attempts", "2").stderr == "Error: no quiz 7 (see 'quizgen list')\n"


# ---------------------------------------------------------------- accept and correct

def _graded_class(tmp_path, db_url):
    """Four students answer question 1 (a count) and question 2 (a multi-part summary)."""
    klass = make_class(tmp_path, db=db_url)
    keys = {sid: klass.key(sid) for sid in STUDENTS}
    return klass, keys


def _current_grades(klass) -> dict[tuple[str, int, int], float]:
    rows = sql(klass.db, "SELECT st.external_id, q.slot, s.attempt, g.score FROM grades g "
                         "JOIN submissions s ON s.id = g.submission_id JOIN questions q ON q.id = s.question_id "
                         "JOIN students st ON st.id = s.student_id WHERE g.current = :t", t=True)
    return {(sid, slot, attempt): score for sid, slot, attempt, score in rows}


def _one_current_grade_each(klass) -> None:
    assert sql(klass.db, "SELECT count(*) FROM submissions") == sql(
        klass.db, "SELECT count(*) FROM grades WHERE current = :t", t=True)
    assert sql(klass.db, "SELECT s.id FROM submissions s JOIN grades g ON g.submission_id = s.id "
                         "WHERE g.current = :t GROUP BY s.id HAVING count(*) > 1", t=True) == []


def test_accept_a_value_for_one_student_dry_run_then_apply(db_url, tmp_path):
    klass, keys = _graded_class(tmp_path, db_url)
    q = str(klass.quiz)
    right1 = {sid: keys[sid][0]["answer"]["value"] for sid in STUDENTS}
    given = {"20260001": right1["20260001"] - 128, "20260002": right1["20260002"] - 128,
             "20260003": right1["20260003"], "20260004": right1["20260004"] + 7}
    for sid in STUDENTS:
        klass.run(
            "submit", "--allow-blank", q, "--student", sid, "--answer", f"1={given[sid]}",
                env={"QUIZGEN_TOKEN": klass.tokens[sid]}
        )
    assert klass.run("grade", q).exit_code == 0
    before = _current_grades(klass)
    grades_before = klass.count("grades")

    dry = klass.run("quiz", "accept", q, "1", f"{given['20260001']:,}", "--student", "20260001", "--json")
    assert dry.exit_code == 0, dry.output
    report = json.loads(dry.stdout)
    assert report["applied"] is False
    assert [(a["student"], a["right"], a["value"]) for a in report["answers"]] == [
        ("20260001", right1["20260001"], given["20260001"])]
    assert [(c["student"], c["old"], c["new"]) for c in report["regrade"]["changes"]] == [("20260001", 0.0, 1.0)]
    assert _current_grades(klass) == before and klass.count("grades") == grades_before  # a dry run writes nothing
    assert "accepted" not in json.dumps(klass.key("20260001")[0]["answer"])

    text = klass.run("quiz", "accept", q, "1", str(given["20260001"]), "--student", "20260001")
    assert "20260001\t김민준\t0 -> 1\t(+1)" in text.stdout and "Dry run" in text.stderr

    applied = json.loads(klass.run("quiz", "accept", q, "1", str(given["20260001"]), "--student", "20260001",
                                   "--apply", "--json").stdout)
    assert applied["applied"] is True and applied["regrade"]["changed_grades"] == 1
    after = _current_grades(klass)
    assert {k: (before[k], after[k]) for k in before if before[k] != after[k]} == {("20260001", 1, 1): (0.0, 1.0)}
    assert klass.count("grades") == grades_before + 1  # the old grade is kept, not current
    _one_current_grade_each(klass)
    assert klass.key("20260001")[0]["answer"]["accepted"] == [given["20260001"]]
    # the same value in another student's variant is still wrong: accepted per variant
    assert after[("20260002", 1, 1)] == 0.0

    assert json.loads(klass.run("grade", q, "--json").stdout)["graded"] == 0
    again = json.loads(klass.run("grade", q, "--regrade", "--json").stdout)
    assert again["changed_grades"] == 0 and again["refreshed_keys"] == 0
    repeat = json.loads(klass.run("quiz", "accept", q, "1", str(given["20260001"]), "--student", "20260001",
                                  "--apply", "--json").stdout)
    assert (
        repeat["answers"] == [] and repeat["regrade"] is None and "already accepted" in repeat["skipped"][0]["reason"]
    )

    # later submissions of the accepted value are graded right by plain grading (the stored key)
    klass.run("submit", "--allow-blank", q, "--student", "20260001", "--answer", f"1={given['20260001']}",
              env={"QUIZGEN_TOKEN": klass.tokens["20260001"]})
    klass.run("grade", q)
    assert _current_grades(klass)[("20260001", 1, 2)] == 1.0


def test_accept_a_slip_in_every_variant(db_url, tmp_path):
    """The rule for a whole class: accept the value the no-bias slip gives, in each variant."""
    klass, keys = _graded_class(tmp_path, db_url)
    q = str(klass.quiz)
    slips = {}
    for sid in STUDENTS:
        table = sql(klass.db, "SELECT q.slips FROM questions q JOIN variants v ON q.variant_id = v.id "
                              "JOIN students s ON s.id = v.student_id WHERE s.external_id = :s AND q.slot = 1", s=sid)
        stored = table[0][0] if isinstance(table[0][0], dict) else json.loads(table[0][0])
        slips[sid] = {name: int(text) for text, name in stored[""].items()}
    takers = [sid for sid in STUDENTS if "no_bias" in slips[sid]]
    assert len(takers) >= 2
    for sid in STUDENTS:
        value = slips[sid]["no_bias"] if sid in takers[:2] else keys[sid][0]["answer"]["value"] + 1
        klass.run("submit", "--allow-blank", q, "--student", sid, "--answer", f"1={value}",
                  env={"QUIZGEN_TOKEN": klass.tokens[sid]})
    klass.run("grade", q)
    dry = json.loads(klass.run("quiz", "accept", q, "1", "--slip", "no_bias", "--json").stdout)
    accepted = {a["student"]: a["value"] for a in dry["answers"]}
    assert {sid: accepted[sid] for sid in takers} == {sid: slips[sid]["no_bias"] for sid in takers}
    assert None in accepted  # the shared variant too
    assert sorted(c["student"] for c in dry["regrade"]["changes"]) == sorted(takers[:2])
    klass.run("quiz", "accept", q, "1", "--slip", "no_bias", "--apply")
    grades = _current_grades(klass)
    assert {sid for sid in STUDENTS if grades[(sid, 1, 1)] == 1.0} == set(takers[:2])
    _one_current_grade_each(klass)


def test_accept_one_part_of_a_multi_part_answer(db_url, tmp_path):
    klass, keys = _graded_class(tmp_path, db_url)
    q = str(klass.quiz)
    summary = next(a for a in keys["20260002"] if a["kind"] == "summary")
    answers = right_answers([summary])
    slot = summary["slot"]
    part = summary["answer"]["parts"][1]
    assert part["type"] == "count"
    answers[f"{slot}.2"] = str(part["value"] + 1)
    klass.run("submit", "--allow-blank", q, "--student", "20260002",
              *[a for k, v in answers.items() for a in ("--answer", f"{k}={v}")],
              env={"QUIZGEN_TOKEN": klass.tokens["20260002"]})
    klass.run("grade", q)
    parts = len(summary["answer"]["parts"])
    assert _current_grades(klass)[("20260002", slot, 1)] == pytest.approx(2 * (parts - 1) / parts)  # stored exactly
    whole = klass.run("quiz", "accept", q, str(slot), "1", "--student", "20260002")
    assert whole.exit_code == 1 and f"name one, as {slot}.1 to {slot}.{parts}" in whole.stderr
    by_key = json.loads(klass.run("quiz", "accept", q, f"{slot}.{part['key']}", str(part["value"] + 1), "--student",
                                  "20260002", "--apply", "--json").stdout)
    assert by_key["answers"][0]["part"] == part["key"]
    assert _current_grades(klass)[("20260002", slot, 1)] == 2.0
    status = json.loads(klass.run("status", q, "--student", "20260002", "--json",
                                  env={"QUIZGEN_TOKEN": klass.tokens["20260002"]}).stdout)
    assert next(x for x in status["questions"] if x["slot"] == slot)["correct"] is True
    _one_current_grade_each(klass)


def test_correct_replaces_a_wrong_answer_and_verify_lists_the_override(db_url, tmp_path):
    klass, keys = _graded_class(tmp_path, db_url)
    q = str(klass.quiz)
    right = keys["20260003"][0]["answer"]["value"]
    other = right + 1000
    klass.run(
        "submit", "--allow-blank", q, "--student", "20260003", "--answer", f"1={right}",
            env={"QUIZGEN_TOKEN": klass.tokens["20260003"]}
    )
    klass.run(
        "submit", "--allow-blank", q, "--student", "20260004", "--answer", f"1={other}",
            env={"QUIZGEN_TOKEN": klass.tokens["20260004"]}
    )
    klass.run("grade", q)
    dry = json.loads(klass.run("quiz", "correct", q, "1", str(other), "--student", "20260003", "--json").stdout)
    assert [(c["student"], c["old"], c["new"]) for c in dry["regrade"]["changes"]] == [("20260003", 1.0, 0.0)]
    assert dry["answers"][0]["analytic"] == right
    applied = klass.run("quiz", "correct", q, "1", f"{other:,}", "--student", "20260003", "--apply")
    assert applied.exit_code == 0, applied.output
    assert f"answer {right:,} -> {other:,}" in applied.stderr and "verify" in applied.stderr
    answer = klass.key("20260003")[0]["answer"]
    assert (answer["value"], answer["analytic"]) == (other, right)
    assert _current_grades(klass)[("20260003", 1, 1)] == 0.0
    assert _current_grades(klass)[("20260004", 1, 1)] == 0.0  # their variant is not touched
    assert f"answer set by the instructor; the working gives {right:,}" in klass.run(
        "key", q, "--student", "20260003").stdout
    assert json.loads(klass.run("grade", q, "--json").stdout)["graded"] == 0
    assert json.loads(klass.run("grade", q, "--regrade", "--json").stdout)["changed_grades"] == 0
    _one_current_grade_each(klass)
    # back to the solution's own value: the override record goes
    klass.run("quiz", "correct", q, "1", str(right), "--student", "20260003", "--apply")
    assert "analytic" not in klass.key("20260003")[0]["answer"]
    assert _current_grades(klass)[("20260003", 1, 1)] == 1.0
    same = klass.run("quiz", "correct", q, "1", str(right), "--student", "20260003", "--json")
    assert json.loads(same.stdout)["regrade"] is None


def test_verify_accepts_instructor_changes_but_not_hand_edits(tmp_path, checker):
    klass = make_class(tmp_path)
    q = str(klass.quiz)
    right = klass.key("20260001")[0]["answer"]["value"]
    assert klass.run("quiz", "accept", q, "1", str(right - 1), "--student", "20260001", "--apply").exit_code == 0
    assert klass.run("quiz", "correct", q, "1", str(right + 5), "--student", "20260002", "--apply").exit_code == 0
    report = json.loads(klass.run("verify", q, "--json").stdout)
    assert report["status"] == "ready" and report["problems"] == []
    assert [(o["student"], o["value"], o["analytic"]) for o in report["overrides"]] == [
        ("20260002", right + 5, klass.key("20260002")[0]["answer"]["analytic"])]
    assert "note: question 1 (student 20260002): answer set by the instructor" in klass.run("verify", q).stderr
    import sqlite3

    con = sqlite3.connect(klass.db)  # a hand edit of the recorded solution value is still caught
    qid, answer = con.execute("SELECT q.id, q.answer FROM questions q JOIN variants v ON q.variant_id = v.id JOIN "
                              "students s ON s.id = v.student_id WHERE s.external_id = '20260002' AND q.slot = 1"
                              ).fetchone()
    answer = json.loads(answer)
    answer["analytic"] += 1
    con.execute("UPDATE questions SET answer = ? WHERE id = ?", (json.dumps(answer), qid))
    con.commit()
    con.close()
    assert json.loads(klass.run("verify", q, "--json").stdout)["status"] == "unverified"


@pytest.mark.parametrize("args, code, message", [
    (["accept", "{q}", "1", "5"], 2, "give --student ID with VALUE"),
    (["accept", "{q}", "1"], 2, "give VALUE (with --student) or --slip SLIP"),
    (["accept", "{q}", "1", "5", "--slip", "no_bias"], 2, "one of them"),
    (["accept", "{q}", "1", "--slip", "nonsense"], 1, "unknown slip 'nonsense'"),
    (["accept", "{q}", "1", "--slip", "no_bias@two-layers"], 1, "name a layer as feedback does, e.g. no_bias@2"),
    (["accept", "{q}", "1.x.y", "5", "--student", "20260001"], 1, "no parts"),
    (["accept", "{q}", "one", "5", "--student", "20260001"], 2, "is not a question"),
    (["accept", "{q}", "99", "5", "--student", "20260001"], 1, "has no question 99 (it has 6)"),
    (["accept", "{q}", "1", "5", "--student", "nobody"], 1, "has no variant"),
    (["accept", "{q}", "1", "5.3e5", "--student", "20260001"], 1, "is not an answer to question 1"),
    (["accept", "{q}", "3.99", "5", "--student", "20260001"], 1, "has no part '99'"),
    (["accept", "{q}", "{right}", "--student", "20260001"], 1, "is already the right answer"),
    (["correct", "{q}", "1", "5"], 2, "--student"),
    (["correct", "{q}", "2", "five", "--student", "20260001"], 1, "is not an answer"),
])
def test_accept_and_correct_errors_change_nothing(tmp_path, args, code, message):
    klass = make_class(tmp_path)
    right = f"1={klass.key('20260001')[0]['answer']['value']}".split("=")
    filled = [a.replace("{q}", str(klass.quiz)) for a in args]
    if "{right}" in filled:
        i = filled.index("{right}")
        filled[i:i + 1] = right
    before = sql(klass.db, "SELECT id, answer, expected, slips FROM questions ORDER BY id")
    out = klass.run("quiz", *filled)
    assert out.exit_code == code and message in out.stderr and out.stderr.count("\n") == 1, out.output
    assert sql(klass.db, "SELECT id, answer, expected, slips FROM questions ORDER BY id") == before


def test_an_answer_changed_meanwhile_is_not_overwritten(tmp_path):
    """accept/correct write through regrade, which checks the stored answer is still the one
    the change was made from (another command may have changed it since)."""
    from quizgen.grading.batch import AnswerChangedError, regrade
    from quizgen.store.db import open_store

    klass = make_class(tmp_path)
    qid, answer = sql(klass.db, "SELECT id, answer FROM questions WHERE slot = 1 ORDER BY id LIMIT 1")[0]
    answer = json.loads(answer)
    stale = {**answer, "value": answer["value"] + 1}  # what the command read
    store = open_store(str(klass.db))
    try:
        with pytest.raises(AnswerChangedError):
            regrade(store, klass.quiz, answers={qid: (stale, {**answer, "accepted": [1]})})
        with pytest.raises(AnswerChangedError):
            regrade(store, klass.quiz, apply=True, answers={qid: (stale, {**answer, "accepted": [1]})})
        with pytest.raises(AnswerChangedError):  # a question of no such quiz
            regrade(store, klass.quiz, answers={10**6: (answer, answer)})
        assert json.loads(sql(klass.db, "SELECT answer FROM questions WHERE id = :i", i=qid)[0][0]) == answer

        # changed after the keys were made from it, before the write: found under the grading lock
        meanwhile = {**answer, "value": answer["value"] + 2}

        def edit_meanwhile(done: int, total: int) -> None:
            if done == total:
                import sqlite3

                con = sqlite3.connect(klass.db)
                con.execute("UPDATE questions SET answer = ? WHERE id = ?", (json.dumps(meanwhile), qid))
                con.commit()
                con.close()

        revision = sql(klass.db, "SELECT key_revision FROM quizzes")
        with pytest.raises(AnswerChangedError):
            regrade(store, klass.quiz, apply=True, progress=edit_meanwhile,
                    answers={qid: (answer, {**answer, "accepted": [1]})})
    finally:
        store.dispose()
    assert json.loads(sql(klass.db, "SELECT answer FROM questions WHERE id = :i", i=qid)[0][0]) == meanwhile
    assert sql(klass.db, "SELECT key_revision FROM quizzes") == revision


def test_set_a_late_window(tmp_path):
    from .helpers import make_class

    klass = make_class(tmp_path, "--deadline", "2020-01-01 00:00", "--allow-past", "--tz", "UTC")
    sid, token = "20260001", klass.tokens["20260001"]
    assert klass.run("submit", "--allow-blank", str(klass.quiz), "--student", sid, "--token", token, "--answer",
                     "1=5").exit_code == 1
    opened = klass.run("quiz", "set", str(klass.quiz), "--late-until", "2099-01-01 00:00", "--json")
    assert opened.exit_code == 0 and json.loads(opened.stdout)["changes"][0]["setting"] == "late_until"
    late = klass.run("submit", "--allow-blank", str(klass.quiz), "--student", sid, "--token", token, "--answer", "1=5")
    assert late.exit_code == 0 and "마감 후 제출" in late.stdout
    before = klass.run("quiz", "set", str(klass.quiz), "--late-until", "2019-01-01 00:00")
    assert before.exit_code == 1 and "after the deadline" in before.stderr
    closed = klass.run("quiz", "set", str(klass.quiz), "--no-late")
    assert closed.exit_code == 0 and "closed" in closed.stderr
    assert klass.run("submit", "--allow-blank", str(klass.quiz), "--student", sid, "--token", token, "--answer",
                     "1=5").exit_code == 1


SEED_QUIZ = ("--kind", "total-params", "--difficulty", "easy", "--range", "vocab=5000-5000", "--range",
             "embed=100-100", "--range", "hidden=128-128", "--range", "seq_len=30-30")


@pytest.mark.parametrize("rule, accepted", [("no_bias@2", 529_313), ("no_bias@SimpleRNN", 529_313),
                                            ("no_bias@Dense", 529_440), ("no_bias", 529_312)])
def test_accept_a_slip_made_in_one_layer_as_feedback_names_it(tmp_path, rule, accepted):
    """Issue #21 item 7: 529,313 is fed back as "layer 2 (SimpleRNN): forgot the bias"; the
    instructor accepts it for the whole class as --slip no_bias@2 (or no_bias@SimpleRNN, any
    SimpleRNN layer), not one student at a time. The stored answers and the grades change."""
    klass = make_class(tmp_path, *SEED_QUIZ)
    q = str(klass.quiz)
    for sid in STUDENTS:
        klass.run("submit", q, "--allow-blank", "--student", sid, "--answer", f"1={accepted:,}", "--answer", "2=1",
                  env={"QUIZGEN_TOKEN": klass.tokens[sid]})
    klass.run("grade", q)
    assert {_current_grades(klass)[(sid, 1, 1)] for sid in STUDENTS} == {0.0}
    out = klass.run("quiz", "accept", q, "1", "--slip", rule, "--apply", "--json")
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert {a["value"] for a in report["answers"]} == {accepted} and report["applied"]
    stored = sql(klass.db, "SELECT q.answer FROM questions q WHERE q.slot = 1")
    for (answer,) in stored:
        assert (answer if isinstance(answer, dict) else json.loads(answer))["accepted"] == [accepted]
    assert {_current_grades(klass)[(sid, 1, 1)] for sid in STUDENTS} == {1.0}
    _one_current_grade_each(klass)
