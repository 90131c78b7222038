"""Upgrades of real databases: a class full of submissions and grades, at every earlier
revision, on SQLite and PostgreSQL, upgraded to head with every surviving row intact.

The old databases are built at their own revision (Alembic up to it, nothing newer),
and filled with the rows a real class produced, restricted to the columns that
revision had, and written the way that quizgen wrote them (a deadline as the
instructor's local wall-clock time on SQLite, with its zone dropped).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import JSON, MetaData, Table, create_engine, text

from quizgen.store.db import _alembic_config, open_store, resolve_url, schema_head, upgrade_store

from .helpers import grading_key_0_1, make_class, right_answers

TABLES = ("quizzes", "students", "variants", "questions", "submissions", "grades")
DEADLINE_WALL = datetime(2030, 12, 1, 18, 0)  # what the instructor typed


@pytest.fixture(scope="module")
def class_at_head(tmp_path_factory) -> Path:
    """A real class at head: roster, quiz with a deadline, two attempts by some students, grades."""
    tmp = tmp_path_factory.mktemp("head")
    klass = make_class(tmp, "--deadline", "2030-12-01 18:00", "--tz", "Asia/Seoul", "--attempts", "3")
    for n, sid in enumerate(("20260001", "20260002", "20260003")):
        answers = right_answers(klass.key(sid))
        if n == 1:
            answers["1"] = "7"  # a wrong one
        args = [a for k, v in answers.items() for a in ("--answer", f"{k}={v}")]
        assert (
            klass.run("submit", "--allow-blank", str(klass.quiz), "--student", sid, "--token", klass.tokens[sid],
                      *args).exit_code == 0
        )
        if n == 0:
            assert klass.run("submit", "--allow-blank", str(klass.quiz), "--student", sid, "--token", klass.tokens[sid],
                             "--answer", "1=12").exit_code == 0
    assert klass.run("grade", str(klass.quiz)).exit_code == 0
    return Path(klass.db)


def _engine(url: str):  # type: ignore[no-untyped-def]
    return create_engine(resolve_url(url))


def _build_old(url: str, revision: str, source: Path, zone: str) -> None:
    """An empty database taken to ``revision`` only, then filled with the source class's rows."""
    from alembic import command

    engine = _engine(url)
    try:
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), revision)
        src = _engine(str(source))
        with src.connect() as s, engine.begin() as d:
            for table in TABLES:
                target = Table(table, MetaData(), autoload_with=d)
                columns = [c.name for c in target.columns]
                rows = s.execute(text(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id")).mappings().all()
                for row in rows:
                    values = dict(row)
                    for column in target.columns:
                        value = values[column.name]
                        if isinstance(column.type, JSON) and isinstance(value, str):
                            values[column.name] = json.loads(value)
                        elif column.name in ("current", "correct"):
                            values[column.name] = bool(value)
                        elif column.name.endswith("_at") and isinstance(value, str):
                            values[column.name] = datetime.fromisoformat(value)
                    if table == "quizzes" and values["deadline"] is not None:
                        # as quizgen < 0004 wrote it: local wall-clock time, zone dropped on SQLite
                        values["deadline"] = (DEADLINE_WALL if d.dialect.name == "sqlite"
                                              else DEADLINE_WALL.replace(tzinfo=ZoneInfo(zone)))
                    d.execute(target.insert(), values)
            if d.dialect.name == "postgresql":
                for table in TABLES:
                    d.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                   f"(SELECT max(id) FROM {table}))"))
        src.dispose()
    finally:
        engine.dispose()


def _snapshot(url: str, tables: tuple[str, ...] = TABLES) -> dict[str, list[dict]]:
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            out = {}
            for table in tables:
                rows = conn.execute(text(f"SELECT * FROM {table} ORDER BY id")).mappings().all()
                out[table] = [dict(r) for r in rows]
            return out
    finally:
        engine.dispose()


def _decoded(value):  # type: ignore[no-untyped-def]
    return json.loads(value) if isinstance(value, str) else value


@pytest.mark.parametrize("revision", ["0001", "0002", "0003"])
def test_a_populated_database_upgrades_with_every_row_intact(db_url, class_at_head, revision):
    zone = "Asia/Seoul"
    _build_old(db_url, revision, class_at_head, zone)
    before = _snapshot(db_url)
    assert before["submissions"] and before["grades"]
    result = upgrade_store(db_url, time_zone=zone)
    assert (result.from_revision, result.to_revision) == (revision, schema_head())
    after = _snapshot(db_url)
    for table in TABLES:
        assert len(after[table]) == len(before[table]), table
        for old, new in zip(before[table], after[table]):
            for column, value in old.items():
                if (table, column) == ("quizzes", "deadline"):
                    continue
                assert new[column] == value, (table, column)
    # the deadline now means the instant the instructor meant
    store = open_store(db_url)
    try:
        from quizgen.classroom.quizzes import quiz_info

        info = quiz_info(store, 1)
        assert info.deadline == DEADLINE_WALL.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
        assert info.time_zone == zone
    finally:
        store.dispose()
    # the attempts table holds one row per (student, attempt) that submitted
    attempts = _snapshot(db_url, ("attempts",))["attempts"]
    assert {(a["student_id"], a["attempt"]) for a in attempts} == {
        (s["student_id"], s["attempt"]) for s in before["submissions"]}
    assert all(a["source"] == "legacy" for a in attempts)
    # The keys: from 0001/0002, migration 0003 backfills what quizgen 0.1 stored (its rule
    # is frozen), which names no layer; at 0003 they came with the rows, made by the live
    # rule. Keys that differ from the live rule are stale until a regrade refreshes them.
    from quizgen.grading.misconceptions import grading_key
    from quizgen.questions.records import response_of

    stale = 0
    for q in after["questions"]:
        answer, spec = _decoded(q["answer"]), _decoded(q["spec"])
        assert _decoded(q["response"]) == response_of(answer)
        stored, live = (q["expected"], _decoded(q["slips"])), grading_key(q["kind"], spec, answer)
        if revision == "0003":
            assert stored == live
        else:
            assert stored == grading_key_0_1(q["kind"], spec, answer, _decoded(q["breakdown"]))
        stale += stored != live
    if revision != "0003":
        assert stale > 0  # the class has slips one layer of several can make (no_bias in one layer...)
    _regrade_refreshes_stale_keys(db_url, stale)


def _regrade_refreshes_stale_keys(url: str, stale: int) -> None:
    """``grade --regrade`` reports the stale keys, ``--apply`` stores the live rule's keys
    (and bumps the quiz's key revision) without changing a grade made with them."""
    from click.testing import CliRunner

    from quizgen.cli.main import cli
    from quizgen.grading.misconceptions import grading_key

    revision = _snapshot(url, ("quizzes",))["quizzes"][0]["key_revision"]
    dry = CliRunner().invoke(cli, ["--db", url, "grade", "1", "--regrade", "--json"])
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout)["refreshed_keys"] == stale
    applied = CliRunner().invoke(cli, ["--db", url, "grade", "1", "--regrade", "--apply", "--json"])
    assert applied.exit_code == 0, applied.output
    assert json.loads(applied.stdout)["changed_grades"] == 0  # the grades were made with the live rule
    after = _snapshot(url, ("quizzes", "questions"))
    assert after["quizzes"][0]["key_revision"] == revision + (1 if stale else 0)
    for q in after["questions"]:
        assert (q["expected"], _decoded(q["slips"])) == grading_key(
            q["kind"], _decoded(q["spec"]), _decoded(q["answer"])
        )


def test_doubled_current_grades_are_resolved_by_the_upgrade(tmp_path, class_at_head):
    db = str(tmp_path / "old.db")
    _build_old(db, "0003", class_at_head, "UTC")
    engine = _engine(db)
    with engine.begin() as conn:  # what two racing regrades left behind before 0004
        conn.execute(text("INSERT INTO grades (submission_id, score, max_score, correct, misconception, details, "
                          "grader_version, current, graded_at) SELECT submission_id, score, max_score, correct, "
                          "misconception, details, grader_version, 1, graded_at FROM grades WHERE id <= 3"))
    engine.dispose()
    upgrade_store(db, time_zone="UTC")
    grades = _snapshot(db, ("grades",))["grades"]
    current: dict[int, list[int]] = {}
    for g in grades:
        if g["current"]:
            current.setdefault(g["submission_id"], []).append(g["id"])
    assert all(len(ids) == 1 for ids in current.values())
    newest = {g["submission_id"]: g["id"] for g in grades}
    assert all(ids == [newest[sid]] for sid, ids in current.items())  # the newest grade is the one kept


def test_upgrade_reads_old_deadlines_in_the_machine_zone_by_default(tmp_path, class_at_head, monkeypatch):
    from click.testing import CliRunner

    from quizgen.cli.main import cli

    db = str(tmp_path / "old.db")
    _build_old(db, "0002", class_at_head, "America/New_York")
    monkeypatch.setenv("TZ", "America/New_York")
    result = CliRunner().invoke(cli, ["--db", db, "db", "upgrade"])
    assert result.exit_code == 0, result.output
    quiz = _snapshot(db, ("quizzes",))["quizzes"][0]
    assert quiz["time_zone"] == "America/New_York"
    assert str(quiz["deadline"]).startswith("2030-12-01 23:00")  # 18:00 EST is 23:00 UTC
