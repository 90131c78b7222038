"""Migrations from code: fresh databases, old and new revisions, foreign files, models == schema."""

from __future__ import annotations

import json
import sqlite3

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from quizgen.errors import OutdatedDatabaseError, StoreError
from quizgen.store.db import downgrade_store, open_store, schema_head, upgrade_store
from quizgen.store.tables import Base

from .helpers import grading_key_0_1


def test_schema_head_is_read_from_the_scripts_as_alembic_reads_them():
    from alembic.script import ScriptDirectory

    from quizgen.store.db import _alembic_config, _script_revisions

    scripts = ScriptDirectory.from_config(_alembic_config())
    assert scripts.get_heads() == [schema_head()]
    assert _script_revisions() == {rev.revision: rev.down_revision for rev in scripts.walk_revisions()}


def test_fresh_database_is_created_at_head_and_matches_the_models(tmp_path):
    store = open_store(str(tmp_path / "q.db"))
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == schema_head()
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.dispose()


def test_downgrade_to_base_and_up_again(tmp_path):
    path = tmp_path / "q.db"
    store = open_store(str(path))
    downgrade_store(store)
    with store.engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    store.dispose()
    store = open_store(str(path))  # an emptied database is migrated again
    with store.engine.connect() as conn:
        assert {"quizzes", "questions", "students", "variants", "submissions", "grades"} <= set(
            inspect(conn).get_table_names()
        )
    store.dispose()


def test_a_newer_revision_is_refused_untouched(tmp_path):
    path = tmp_path / "q.db"
    store = open_store(str(path))
    with store.write_engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffff_future'"))
    store.dispose()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="made by a newer quizgen"):
        open_store(str(path))
    with pytest.raises(StoreError, match="made by a newer quizgen"):
        upgrade_store(str(path))
    assert path.read_bytes() == before


@pytest.mark.parametrize("revision", ["0001", "0002", "0003"])
def test_an_older_revision_names_both_revisions_and_the_command(tmp_path, revision):
    path = tmp_path / "q.db"
    store = open_store(str(path))
    downgrade_store(store, revision)
    store.dispose()
    with pytest.raises(OutdatedDatabaseError) as info:
        open_store(str(path))
    assert f"revision {revision}" in str(info.value) and f"expects {schema_head()}" in str(info.value)
    assert "quizgen db upgrade" in str(info.value)


@pytest.mark.parametrize("content,message", [
    (b"this is a text file, not a database" * 10, "not an SQLite file"),
    (b"SQLite format 3\x00" + b"\xff" * 4000, "not a quizgen database"),
])
def test_foreign_and_corrupt_files_are_refused_untouched(tmp_path, content, message):
    path = tmp_path / "q.db"
    path.write_bytes(content)
    with pytest.raises(StoreError, match=message):
        open_store(str(path))
    assert path.read_bytes() == content


def test_a_foreign_sqlite_database_is_refused(tmp_path):
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE customers (id INTEGER)")
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not a quizgen database.*customers"):
        open_store(str(path))
    assert path.read_bytes() == before


def test_paths_that_cannot_be_databases(tmp_path):
    with pytest.raises(StoreError, match="is a directory"):
        open_store(str(tmp_path))
    with pytest.raises(StoreError, match="does not exist"):
        open_store(str(tmp_path / "missing" / "q.db"))
    assert not (tmp_path / "missing").exists()
    with pytest.raises(StoreError, match="File name too long"):
        open_store(str(tmp_path / ("q" * 300)))
    with pytest.raises(StoreError, match="mysql:// databases are not supported"):
        open_store("mysql://someone@localhost/quizzes")


def test_zero_byte_file_becomes_a_database(tmp_path):
    path = tmp_path / "q.db"
    path.write_bytes(b"")
    open_store(str(path)).dispose()
    assert path.stat().st_size > 0


def test_upgrade_backs_up_and_data_survives(tmp_path):
    from quizgen.classroom.quizzes import QuizPlan, create_quiz, list_quizzes

    path = tmp_path / "q.db"
    store = open_store(str(path))
    quiz_id = create_quiz(store, QuizPlan(title="t", seed=1, count=2), verify=False).quiz_id
    store.dispose()
    result = upgrade_store(str(path))  # already at head: nothing to do, no backup
    assert result.backup is None
    store = open_store(str(path))
    assert [q.id for q in list_quizzes(store)] == [quiz_id]
    store.dispose()


def _quiz_at_0001(path):
    """A database with a quiz in it, migrated back to revision 0001 (as an older quizgen left it)."""
    from quizgen.classroom.quizzes import QuizPlan, create_quiz
    from quizgen.classroom.roster import RosterEntry

    store = open_store(str(path))
    create_quiz(store, QuizPlan(title="old", seed=3, count=8), [RosterEntry("s1", "김민준")], verify=False)
    downgrade_store(store, "0001")
    store.dispose()


def test_upgrade_from_0001_backs_up_backfills_and_keeps_data(tmp_path):
    from click.testing import CliRunner

    from quizgen.classroom.quizzes import response_of, show_quiz
    from quizgen.cli.main import cli
    from quizgen.grading.misconceptions import grading_key

    path = tmp_path / "q.db"
    _quiz_at_0001(path)
    refused = CliRunner().invoke(cli, ["--db", str(path), "show", "1"])
    assert refused.exit_code == 1
    assert (
        "revision 0001" in refused.stderr
        and f"expects {schema_head()}" in refused.stderr
        and "quizgen db upgrade" in refused.stderr
    )
    result = CliRunner().invoke(cli, ["--db", str(path), "db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "Backed up to" in result.stderr and f"from revision 0001 to {schema_head()}" in result.stderr
    backups = list(tmp_path.glob("q.db.bak-*"))
    assert len(backups) == 1
    con = sqlite3.connect(backups[0])
    assert con.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0001"
    con.close()
    store = open_store(str(path))
    shown = show_quiz(store, 1, "s1")
    info, questions = shown.info, shown.questions
    assert info.title == "old" and len(questions) == 8
    with store.engine.connect() as conn:
        stale = 0
        for kind, spec, answer, response, breakdown, expected, slips in conn.execute(
                text("SELECT kind, spec, answer, response, breakdown, expected, slips FROM questions")):
            spec, answer, breakdown, slips = map(json.loads, (spec, answer, breakdown, slips))
            assert json.loads(response) == response_of(answer)
            # what quizgen 0.1 stored (0003's backfill is frozen); stale until grade --regrade --apply
            assert (expected, slips) == grading_key_0_1(kind, spec, answer, breakdown)
            stale += (expected, slips) != grading_key(kind, spec, answer)
    store.dispose()
    regrade = CliRunner().invoke(cli, ["--db", str(path), "grade", "1", "--regrade", "--json"])
    assert regrade.exit_code == 0, regrade.output
    assert json.loads(regrade.stdout)["refreshed_keys"] == stale


def _dump(path) -> list[str]:
    con = sqlite3.connect(path)
    try:
        return list(con.iterdump())
    finally:
        con.close()


def test_a_migration_failing_halfway_restores_the_backup(tmp_path):
    from quizgen.errors import StoreError

    path = tmp_path / "q.db"
    _quiz_at_0001(path)
    con = sqlite3.connect(path)
    con.execute("UPDATE questions SET answer = '{\"broken\": true}' WHERE id = 3")  # the backfill will fail on it
    con.commit()
    con.close()
    before = _dump(path)
    with pytest.raises(StoreError, match="restored from"):
        upgrade_store(str(path))
    assert _dump(path) == before
    con = sqlite3.connect(path)
    assert con.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0001"
    assert "response" not in [r[1] for r in con.execute("PRAGMA table_info(questions)")]
    con.close()


_HALF_DONE = '''"""A migration that commits its first step before the second fails, as one with an
autocommit step does (Alembic commits the transaction before such a step): SQLite's
rollback undoes only the second step."""

from alembic import op

revision = "9999"
down_revision = "{head}"


def upgrade():
    op.execute("UPDATE quizzes SET title = 'half-upgraded'")
    op.execute("DELETE FROM grades")
    bind = op.get_bind()
    bind.exec_driver_sql("COMMIT")
    bind.exec_driver_sql("BEGIN IMMEDIATE")
    op.execute("UPDATE students SET name = 'second step'")
    raise RuntimeError("the second step failed")


def downgrade():
    pass
'''


def test_an_upgrade_failing_after_a_commit_is_undone_by_the_backup(tmp_path, monkeypatch):
    """The restore is what undoes a failed upgrade whose work was partly committed (which
    SQLite's rollback cannot undo): afterwards the database holds what it held before,
    row for row, and quizgen works with it."""
    import shutil

    from click.testing import CliRunner

    import quizgen.store.db as db
    from quizgen.cli.main import cli

    from .helpers import make_class

    klass = make_class(tmp_path)
    sid = "20260001"
    assert klass.run("submit", str(klass.quiz), "--allow-blank", "--student", sid, "--token", klass.tokens[sid],
                     "--answer", "1=1").exit_code == 0
    assert klass.run("grade", str(klass.quiz)).exit_code == 0
    before = _dump(klass.db)
    assert klass.count("grades") == 1
    scripts = tmp_path / "migrations"
    shutil.copytree(db.migrations_dir(), scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "9999_half_done.py").write_text(_HALF_DONE.replace("{head}", schema_head()))
    monkeypatch.setattr(db, "migrations_dir", lambda: scripts)
    db._script_revisions.cache_clear()
    db.schema_head.cache_clear()
    try:
        assert db.schema_head() == "9999"
        with pytest.raises(StoreError):
            upgrade_store(str(klass.db))
    finally:
        monkeypatch.undo()
        db._script_revisions.cache_clear()
        db.schema_head.cache_clear()
    assert _dump(klass.db) == before
    con = sqlite3.connect(klass.db)
    assert con.execute("SELECT title FROM quizzes").fetchall() == [("점검 퀴즈",)]
    assert con.execute("SELECT count(*) FROM grades").fetchone()[0] == 1
    con.close()
    book = CliRunner().invoke(cli, ["--db", str(klass.db), "gradebook", str(klass.quiz), "--format", "json"])
    assert book.exit_code == 0, book.output
    assert [s["id"] for s in json.loads(book.stdout)["students"] if s["total"] is not None] == [sid]
