"""``quizgen db backup``: a consistent, checked copy of a store in use. Backups are taken
while a real ``quizgen serve`` takes submissions from concurrent students; each copy is
whole (SQLite's integrity check, every attempt with its answers, no gaps), holds only
attempts the server acknowledged with the same signed receipts, and, restored into
place, is a working store (listed, graded, audited, submitted to). On PostgreSQL the
copy is pg_dump's archive, restored with pg_restore into another database and used."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from .helpers import make_class, right_answers
from .server import bearer, start_server


def _quizgen(db: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "quizgen", "--db", db, *args], capture_output=True, text=True,
                          timeout=300)


class Submitters:
    """One thread per student, each submitting again as soon as it is answered, until stopped."""

    def __init__(self, url: str, quiz: int, tokens: dict[str, str]):
        self.acked: dict[tuple[str, int], dict] = {}  # (student, attempt) -> the signed receipt
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(url, quiz, sid, token), daemon=True)
                        for sid, token in tokens.items()]

    def _run(self, url: str, quiz: int, sid: str, token: str) -> None:
        with httpx.Client(base_url=url, trust_env=False, timeout=60) as client:
            n = 0
            while not self.stop.is_set():
                n += 1
                r = client.post(f"/api/v1/quizzes/{quiz}/submissions", json={"answers": {"1": str(1000 + n)}},
                                headers={**bearer(sid, token), "Idempotency-Key": uuid.uuid4().hex})
                with self.lock:
                    if r.status_code == 201:
                        body = r.json()
                        self.acked[(sid, body["attempt"])] = body["receipt"]
                    else:
                        self.errors.append(f"{r.status_code} {r.text[:200]}")

    def count(self) -> int:
        with self.lock:
            return len(self.acked)

    def __enter__(self) -> Submitters:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=120)


def _wait_for(condition, what: str, limit: float = 120) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + limit  # only catches a hang
    while not condition():
        assert time.monotonic() < deadline, f"waited {limit:.0f} s for {what}"
        time.sleep(0.05)


def _attempts(path: Path) -> dict[tuple[str, int], dict]:
    con = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT s.external_id, a.attempt, a.receipt FROM attempts a "
                           "JOIN students s ON s.id = a.student_id").fetchall()
    finally:
        con.close()
    return {(sid, attempt): json.loads(receipt) for sid, attempt, receipt in rows}


def test_backups_under_a_live_submission_load_are_whole_and_restore_into_a_working_store(tmp_path):
    klass = make_class(tmp_path, "--deadline", "2099-01-01 00:00")
    db = str(klass.db)
    server = start_server(db, tmp_path, "--rate-limit", "100000/60", "--workers", "2")
    backups: list[tuple[Path, int, subprocess.CompletedProcess]] = []
    try:
        with Submitters(server.url, klass.quiz, klass.tokens) as load:
            for n in range(3):
                _wait_for(lambda n=n: load.count() >= 8 * (n + 1), "acknowledged submissions")
                target = tmp_path / f"backup-{n}.db"
                before = load.count()
                done = _quizgen(db, "db", "backup", "-o", str(target), "--json")
                backups.append((target, before, done))
            live_wal = Path(f"{db}-wal")
            assert live_wal.exists()  # the server has the store open: its WAL is there, and refused
            refused = _quizgen(db, "db", "backup", "-o", str(live_wal), "--force")
            assert refused.returncode == 1 and "quiz database in use" in refused.stderr
        assert not load.errors, load.errors[:5]
    finally:
        server.stop()
    final = _attempts(klass.db)
    assert final.keys() >= load.acked.keys() and all(final[k] == r for k, r in load.acked.items())
    for target, before, done in backups:
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["checked"] == "SQLite's integrity_check: ok" and report["backend"] == "sqlite"
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(f".{target.name}")]  # no staged leftovers
        copied = _attempts(target)
        assert report["holds"]["attempts"] == len(copied)
        assert before <= len(copied) <= len(final)  # what was acknowledged before the backup began is in it
        for key, receipt in copied.items():  # only attempts the live store kept, exactly as signed
            assert final[key] == receipt
        for sid in klass.tokens:  # each student's attempts 1..k: no gap, no torn attempt
            mine = sorted(a for s, a in copied if s == sid)
            assert mine == list(range(1, len(mine) + 1))
        con = sqlite3.connect(target)
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert con.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one self-contained file
        orphans = con.execute("SELECT count(*) FROM submissions s LEFT JOIN attempts a ON a.quiz_id = s.quiz_id "
                              "AND a.student_id = s.student_id AND a.attempt = s.attempt "
                              "WHERE a.id IS NULL").fetchone()[0]
        con.close()
        assert orphans == 0
        assert [q["intact"] for q in report["audit"]] == [True]
    # a restore is the backup copied into place: quizgen works with it as with the original
    target = backups[-1][0]
    restored = tmp_path / "restored.db"
    shutil.copyfile(target, restored)
    os.chmod(restored, 0o600)
    assert json.loads(_quizgen(str(restored), "list", "--json").stdout)[0]["id"] == klass.quiz
    audited = _quizgen(str(restored), "audit", str(klass.quiz), "--json")
    assert audited.returncode == 0 and json.loads(audited.stdout)["intact"], audited.stdout
    assert _quizgen(str(restored), "grade", str(klass.quiz)).returncode == 0
    sid = "20260003"
    answers = right_answers(klass.key(sid))
    args = [a for k, v in answers.items() for a in ("--answer", f"{k}={v}")]
    submitted = _quizgen(str(restored), "submit", str(klass.quiz), "--student", sid, "--token", klass.tokens[sid],
                         *args)
    assert submitted.returncode == 0, submitted.stderr
    assert _quizgen(str(restored), "grade", str(klass.quiz)).returncode == 0
    book = json.loads(_quizgen(str(restored), "gradebook", str(klass.quiz), "--json").stdout)
    assert {s["id"]: s["total"] for s in book["students"]}[sid] == book["max_score"]


def test_a_backup_follows_the_output_rules(tmp_path):
    klass = make_class(tmp_path)
    db = str(klass.db)
    target = tmp_path / "backup.db"
    first = _quizgen(db, "db", "backup", "-o", str(target))
    assert first.returncode == 0, first.stderr
    assert "It holds 1 quiz, 4 students, 0 attempts" in first.stdout
    kept = target.read_bytes()
    again = _quizgen(db, "db", "backup", "-o", str(target))
    assert again.returncode == 1 and "--force" in again.stderr and target.read_bytes() == kept
    assert _quizgen(db, "db", "backup", "-o", str(target), "--force").returncode == 0  # a backup replaces a backup
    for refused in (db, f"{db}-journal", f"{db}-wal", "-"):
        out = _quizgen(db, "db", "backup", "-o", refused, "--force")
        assert out.returncode == 1 and len(out.stderr.strip().splitlines()) == 1, (refused, out.stderr)
    assert not Path(f"{db}-journal").exists() and not Path(tmp_path / "-").exists()
    link = tmp_path / "link.db"
    link.symlink_to(target)
    assert "symbolic link" in _quizgen(db, "db", "backup", "-o", str(link), "--force").stderr
    missing = _quizgen(str(tmp_path / "nothing.db"), "db", "backup", "-o", str(tmp_path / "b2.db"))
    assert missing.returncode == 1 and not (tmp_path / "nothing.db").exists() and not (tmp_path / "b2.db").exists()


def test_a_postgresql_backup_is_a_pg_dump_archive_that_restores(pg_server, tmp_path):
    db = pg_server.new_database()
    klass = make_class(tmp_path, db=db)
    sid = "20260001"
    answers = right_answers(klass.key(sid))
    args = [a for k, v in answers.items() for a in ("--answer", f"{k}={v}")]
    assert klass.run("submit", str(klass.quiz), "--student", sid, "--token", klass.tokens[sid], *args).exit_code == 0
    archive = tmp_path / "class.dump"
    done = _quizgen(db, "db", "backup", "-o", str(archive), "--json")
    from quizgen.store.backup import _tool

    if _tool("pg_dump") is None:
        assert done.returncode == 1 and "pg_dump" in done.stderr and not archive.exists()
        pytest.skip("pg_dump is not installed: the refusal was checked, the archive cannot be")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["backend"] == "postgresql" and "pg_dump" in report["method"]
    questions = len({key.split(".")[0] for key in answers})  # one answer row per question, parts and all
    assert report["holds"] == {"quizzes": 1, "students": 4, "attempts": 1, "answers": questions, "grades": 0}
    assert archive.read_bytes()[:5] == b"PGDMP" and stat.S_IMODE(archive.stat().st_mode) == 0o600
    other = pg_server.new_database()
    from quizgen.store.backup import _libpq
    from quizgen.store.db import resolve_url

    uri, env = _libpq(resolve_url(other))
    subprocess.run([str(_tool("pg_restore")), "--no-owner", "--dbname", uri, str(archive)], check=True,
                   env={**os.environ, **env}, capture_output=True, timeout=300)
    assert _quizgen(other, "grade", str(klass.quiz)).returncode == 0
    book = json.loads(_quizgen(other, "gradebook", str(klass.quiz), "--json").stdout)
    assert {s["id"]: s["total"] for s in book["students"]}[sid] == book["max_score"]


def test_a_postgresql_role_without_createdb_gets_a_backup_checked_by_its_table_of_contents(pg_server, tmp_path):
    import psycopg

    from quizgen.store.backup import _tool

    if _tool("pg_dump") is None:
        pytest.skip("pg_dump is not installed (the refusal is checked in the test above)")
    db = pg_server.new_database()
    make_class(tmp_path, db=db)
    role = "reader_" + uuid.uuid4().hex[:8]
    with psycopg.connect(db, autocommit=True) as conn:  # may read everything, may not create a database
        conn.execute(f'CREATE ROLE "{role}" LOGIN NOCREATEDB PASSWORD \'s3cret\'')
        conn.execute(f'GRANT pg_read_all_data TO "{role}"')
    as_role = db.replace("postgres@", f"{role}:s3cret@")
    archive = tmp_path / "class.dump"
    done = _quizgen(as_role, "db", "backup", "-o", str(archive), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["holds"] is None and "not restored" in report["checked"] and "entries" in report["checked"]
    assert archive.read_bytes()[:5] == b"PGDMP"
    assert "s3cret" not in done.stdout + done.stderr
    shown = _quizgen(as_role, "db", "backup", "-o", str(tmp_path / "again.dump"))
    assert shown.returncode == 0 and "not restored" in shown.stdout and "It holds" not in shown.stdout
