"""Many students submitting at once to one SQLite file: nothing lost, nothing 'locked'."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest


@pytest.mark.slow
def test_sixteen_processes_submit_at_once(tmp_path):
    from click.testing import CliRunner

    from quizgen.cli.main import cli

    db = tmp_path / "c.db"
    roster = tmp_path / "roster.csv"
    ids = [f"c{i:02d}" for i in range(16)]
    roster.write_text("id,name\n" + "".join(f"{i},학생 {i}\n" for i in ids), encoding="utf-8")
    tokens = {t["id"]: t["token"] for t in json.loads(
        CliRunner().invoke(cli, ["--db", str(db), "roster", "import", str(roster), "--json"]).stdout)}
    assert CliRunner().invoke(cli, ["--db", str(db), "generate", "--title", "c", "--count", "2", "--seed", "1",
                                    "--kind", "total-params", "--students", str(roster), "--no-verify"]).exit_code == 0

    def submit(sid: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "quizgen", "--db", str(db), "submit", "--allow-blank", "1",
                               "--student", sid,
                               "--token", tokens[sid], "--answer", "1=12345", "--answer", "2=678", "--json"],
                              capture_output=True, text=True)

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(submit, ids))
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results if r.returncode]
    assert not any("locked" in r.stderr for r in results)
    import sqlite3

    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM submissions").fetchone()[0] == 32
    assert con.execute("SELECT count(DISTINCT student_id) FROM submissions").fetchone()[0] == 16
    con.close()



def test_threads_of_one_process_take_turns_and_time_out_as_busy(tmp_path, monkeypatch):
    """Writers in one process queue on the store's own lock before SQLite's (so only one of
    them polls the file's lock); a writer that waits past the busy timeout gets the usual
    'database is busy', and every write that got its turn is committed."""
    import threading
    import time

    from sqlalchemy import text

    from quizgen.errors import BusyError
    from quizgen.store.db import open_store

    monkeypatch.setenv("QUIZGEN_BUSY_TIMEOUT_MS", "200")  # read when the store is opened
    store = open_store(str(tmp_path / "t.db"))
    with store.write() as session:
        session.execute(text("CREATE TABLE n (i INTEGER)"))
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store.write() as session:
            session.execute(text("INSERT INTO n VALUES (0)"))
            inside.set()
            release.wait(120)

    holder = threading.Thread(target=hold)
    holder.start()
    assert inside.wait(120)
    started = time.monotonic()
    with pytest.raises(BusyError, match="database is busy"):
        with store.write() as session:
            session.execute(text("INSERT INTO n VALUES (-1)"))
    assert time.monotonic() - started > 0.15  # it waited its busy timeout before giving up (an upper bound
    # would measure the machine's load, not the code; a writer that never gave up would hang the test)
    release.set()
    holder.join()

    def add(i: int) -> None:
        with store.write() as session:
            session.execute(text("INSERT INTO n VALUES (:i)"), {"i": i})

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(add, range(1, 41)))
    with store.read() as session:
        assert sorted(session.execute(text("SELECT i FROM n")).scalars()) == list(range(41))
    store.dispose()
