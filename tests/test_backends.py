"""The store and grading on both backends: a SQLite file and a real PostgreSQL server."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from quizgen.store.db import open_store, schema_head
from quizgen.store.tables import Base

from .helpers import grading_key_0_1, make_class, right_answers


def test_migrations_from_code_match_the_models(db_url):
    store = open_store(db_url)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == schema_head()
        assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata) == []
    with store.write_engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    store.dispose()
    from quizgen.errors import StoreError

    with pytest.raises(StoreError, match="newer quizgen"):
        open_store(db_url)


def test_two_processes_initialise_one_database_at_once(db_url):
    def init(_):
        return subprocess.run([sys.executable, "-m", "quizgen", "--db", db_url, "init"], capture_output=True, text=True)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(init, range(2)))
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    store = open_store(db_url)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    store.dispose()


def _submit(klass, sid, answers):
    args = [a for k, v in answers.items() for a in ("--answer", f"{k}={v}")]
    return klass.run("submit", "--allow-blank", str(klass.quiz), "--student", sid, "--token", klass.tokens[sid], *args)


def test_class_flow_submit_grade_regrade_report(db_url, tmp_path):
    klass = make_class(tmp_path, "--attempts", "2", db=db_url)
    for n, sid in enumerate(sorted(klass.tokens)):
        answers = right_answers(klass.key(sid))
        if n % 2:
            answers["1"] = "1"
        assert _submit(klass, sid, answers).exit_code == 0
    bad = _submit(klass, "20260001", {"1": "5.3e5"})
    assert bad.exit_code == 1 and "'5.3e5'는 정수가 아닙니다" in bad.stderr  # the quiz is Korean
    assert klass.count("submissions") == 4 * 6
    graded = json.loads(klass.run("grade", str(klass.quiz), "--json").stdout)
    assert graded["graded"] == 24 and graded["remaining"] == 0
    assert json.loads(klass.run("grade", str(klass.quiz), "--json").stdout)["graded"] == 0
    book = json.loads(klass.run("gradebook", str(klass.quiz), "--format", "json").stdout)
    assert sorted(s["total"] for s in book["students"]) == [8, 8, 9, 9]
    status = json.loads(klass.run("status", str(klass.quiz), "--student", "20260002", "--token",
                                  klass.tokens["20260002"], "--json").stdout)
    assert status["score"] == 8 and status["questions"][0]["correct"] is False
    assert _submit(klass, "20260001", {"1": "1"}).exit_code == 0
    spent = _submit(klass, "20260001", {"1": "1"})
    assert spent.exit_code == 1 and "제출 기회 2번을 모두 사용했습니다" in spent.stderr
    regrade = json.loads(klass.run("grade", str(klass.quiz), "--regrade", "--json").stdout)
    assert regrade["changed_grades"] == 0 and regrade["refreshed_keys"] == 0  # stored keys = fresh solves
    report = klass.run("report", str(klass.quiz), "--lang", "en")
    assert report.exit_code == 0 and "score distribution" in report.stdout
    shown = klass.run("show", str(klass.quiz), "--student", "20260003")
    assert shown.exit_code == 0 and "모델에 대한 설명" in shown.stdout


def test_concurrent_submissions(db_url, tmp_path):
    klass = make_class(tmp_path, db=db_url)
    # every student submits 3 attempts, all 4 students at once, each from its own process
    def submit(sid):
        outs = []
        for _ in range(3):
            outs.append(subprocess.run([sys.executable, "-m", "quizgen", "--db", str(klass.db), "submit",
                                        "--allow-blank", str(klass.quiz), "--student", sid, "--token",
                                        klass.tokens[sid], "--answer", "1=123"], capture_output=True, text=True))
        return outs

    with ThreadPoolExecutor(4) as pool:
        results = [r for outs in pool.map(submit, sorted(klass.tokens)) for r in outs]
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results if r.returncode]
    assert klass.count("submissions") == 12
    store = open_store(str(klass.db))
    with store.engine.connect() as conn:
        attempts = conn.execute(text("SELECT student_id, attempt FROM submissions ORDER BY 1, 2")).all()
    store.dispose()
    assert len(set(attempts)) == 12 and {a for _, a in attempts} == {1, 2, 3}


def test_upgrade_to_the_grading_keys_backfills_them(db_url, tmp_path):
    """Migration 0003 on a class with questions: the keys it writes are quizgen 0.1's (its
    backfill is frozen); ``grade --regrade --apply`` makes them the live rule's again."""
    from quizgen.grading.misconceptions import grading_key
    from quizgen.store.db import downgrade_store, upgrade_store

    klass = make_class(tmp_path, db=db_url)
    store = open_store(db_url)
    with store.engine.connect() as conn:
        stored = {r.id: (r.expected, r.slips) for r in conn.execute(text("SELECT id, expected, slips FROM questions"))}
    downgrade_store(store, "0002")
    store.dispose()
    refused = klass.run("show", str(klass.quiz))
    assert refused.exit_code == 1 and "quizgen db upgrade" in refused.stderr
    result = upgrade_store(db_url)
    assert (result.from_revision, result.to_revision) == ("0002", schema_head())
    store = open_store(db_url)
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, kind, spec, answer, breakdown, expected, slips FROM questions")).all()
    store.dispose()
    assert len(rows) == len(stored) > 0
    stale = 0
    for r in rows:
        spec, answer, breakdown, slips = map(_decoded, (r.spec, r.answer, r.breakdown, r.slips))
        assert (r.expected, slips) == grading_key_0_1(r.kind, spec, answer, breakdown)
        assert grading_key(r.kind, spec, answer) == (stored[r.id][0], _decoded(stored[r.id][1]))
        stale += (r.expected, slips) != grading_key(r.kind, spec, answer)
    assert stale > 0  # per-layer slips are newer than 0.1
    refreshed = json.loads(klass.run("grade", str(klass.quiz), "--regrade", "--apply", "--json").stdout)
    assert refreshed["refreshed_keys"] == stale
    store = open_store(db_url)
    with store.engine.connect() as conn:
        now_stored = {
            r.id: (r.expected, _decoded(r.slips))
            for r in conn.execute(text("SELECT id, expected, slips FROM questions"))
        }
    store.dispose()
    assert now_stored == {qid: (e, _decoded(sl)) for qid, (e, sl) in stored.items()}


def _decoded(value):
    return json.loads(value) if isinstance(value, str) else value
