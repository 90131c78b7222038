"""What the service promises under pressure: an attempt limit that holds across server
processes sharing PostgreSQL, a busy database answered with 503 and nothing half-written,
no HTTP route reading a key column, and an audit that names a changed or inserted answer
(tests/test_tlog.py has the rest of the transparency log's)."""

from __future__ import annotations

import sqlite3
import threading
import uuid

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .helpers import make_class, right_answers
from .server import bearer, start_server


def _submit(
    url: str, quiz: int, sid: str, token: str, answers: dict[str, str], key: str | None = None
) -> httpx.Response:
    return httpx.post(f"{url}/api/v1/quizzes/{quiz}/submissions", json={"answers": answers}, timeout=60,
                      trust_env=False, headers={**bearer(sid, token), "Idempotency-Key": key or str(uuid.uuid4())})


@pytest.mark.slow
def test_twenty_racing_submits_on_two_servers_sharing_postgresql_accept_exactly_three(pg_server, tmp_path):
    db = pg_server.new_database()
    klass = make_class(tmp_path, "--attempts", "3", db=db)
    servers = [start_server(db, tmp_path), start_server(db, tmp_path, "--workers", "2")]
    try:
        sid, token = "20260001", klass.tokens["20260001"]
        barrier = threading.Barrier(20)
        results: list[int] = []

        def one(n: int) -> None:
            barrier.wait()
            results.append(_submit(servers[n % 2].url, klass.quiz, sid, token, {"1": str(n)}).status_code)

        threads = [threading.Thread(target=one, args=(n,)) for n in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for server in servers:
            server.stop()
    assert sorted(results) == [201] * 3 + [409] * 17
    assert klass.count("attempts") == 3 and klass.count("submissions") == 3
    assert klass.run("audit", str(klass.quiz)).exit_code == 0


@pytest.mark.slow
def test_one_idempotency_key_sent_to_two_servers_at_once_stores_one_attempt(pg_server, tmp_path):
    db = pg_server.new_database()
    klass = make_class(tmp_path, db=db)
    servers = [start_server(db, tmp_path), start_server(db, tmp_path)]
    try:
        sid, token = "20260002", klass.tokens["20260002"]
        barrier = threading.Barrier(10)
        bodies: list[tuple[int, dict]] = []

        def one(n: int) -> None:
            barrier.wait()
            r = _submit(servers[n % 2].url, klass.quiz, sid, token, {"1": "7"}, key="the-same-key")
            bodies.append((r.status_code, r.json()))

        threads = [threading.Thread(target=one, args=(n,)) for n in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for server in servers:
            server.stop()
    assert sorted(code for code, _ in bodies) == [200] * 9 + [201]
    receipts = {str(body["receipt"]) for _, body in bodies}
    assert len(receipts) == 1 and klass.count("attempts") == 1


def test_a_busy_database_is_503_with_retry_after_and_nothing_written(tmp_path):
    klass = make_class(tmp_path)
    server = start_server(str(klass.db), tmp_path, env={"QUIZGEN_BUSY_TIMEOUT_MS": "300"})
    blocker = sqlite3.connect(klass.db, timeout=0, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        r = _submit(server.url, klass.quiz, "20260001", klass.tokens["20260001"], {"1": "5"})
        blocker.execute("ROLLBACK")
        assert r.status_code == 503 and r.json()["error"]["code"] == "database_busy"
        assert int(r.headers["retry-after"]) >= 1
        assert klass.count("attempts") == 0 and klass.count("submissions") == 0
        again = _submit(server.url, klass.quiz, "20260001", klass.tokens["20260001"], {"1": "5"})
        assert again.status_code == 201
    finally:
        blocker.close()
        server.stop()


KEY_COLUMNS = ("answer", "derivation", "breakdown", "spec")
GRADING_KEY = ("expected", "slips")


def _reads(statements: list[str], columns: tuple[str, ...]) -> list[str]:
    import re

    return [s for s in statements for c in columns
            if re.search(rf"\bquestions\.{c}\b", s) or re.search(r"\bquestions\.\*", s)]


def test_no_http_route_reads_a_key_column(tmp_path):
    """Record every SQL statement the app runs for each route (a real uvicorn in this process,
    on 127.0.0.1): no route reads the answer key, and only grading on arrival (inside the
    library, from the stored grading key) reads expected/slips; the check is shown able to fail."""
    import uvicorn

    from quizgen.service.app import create_app
    from quizgen.service.settings import ServiceSettings

    klass = make_class(tmp_path, "--feedback", "full")
    none = make_class(tmp_path / "n" if (tmp_path / "n").mkdir() is None else tmp_path, "--feedback", "none")
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    settings = ServiceSettings(db=str(klass.db), key_file=str(tmp_path / "key"))
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.02)
    url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    event.listen(Engine, "before_cursor_execute", record)
    try:
        sid, token = "20260001", klass.tokens["20260001"]
        answers = right_answers(klass.key(sid))
        statements.clear()
        with httpx.Client(base_url=url, trust_env=False) as c:
            c.get("/api/v1/health")
            c.get(f"/api/v1/quizzes/{klass.quiz}", headers=bearer(sid, token))
            c.get(f"/api/v1/quizzes/{klass.quiz}/submissions", headers=bearer(sid, token))
            c.post("/quiz", data={"student": sid, "token": token, "quiz": str(klass.quiz)})
            read_routes = list(statements)
            statements.clear()
            r = c.post(f"/api/v1/quizzes/{klass.quiz}/submissions", json={"answers": answers},
                       headers={**bearer(sid, token), "Idempotency-Key": "k"})
            assert r.status_code == 201
            graded_submit = list(statements)
        statements.clear()
        klass.run("key", str(klass.quiz), "--student", sid)  # the instructor's key: the positive control
        instructor = list(statements)
    finally:
        event.remove(Engine, "before_cursor_execute", record)
        server.should_exit = True
        thread.join(timeout=10)
    assert read_routes and any("questions" in s for s in read_routes)
    assert _reads(read_routes, KEY_COLUMNS + GRADING_KEY) == []
    assert _reads(graded_submit, KEY_COLUMNS) == []  # grading reads only the stored grading key
    assert _reads(graded_submit, GRADING_KEY)  # ... and does read it: on arrival, inside the transaction
    assert _reads(instructor, KEY_COLUMNS)  # the check would notice a key read
    assert none.quiz  # (a quiz that hides scores is never graded on arrival: see test_service_api)


def _tamper(klass, sql: str) -> list[str]:  # type: ignore[no-untyped-def]
    con = sqlite3.connect(klass.db)
    con.execute(sql)
    con.commit()
    con.close()
    out = klass.run("audit", str(klass.quiz))
    assert out.exit_code == 1, out.output
    return out.stdout.strip().splitlines()


@pytest.fixture()
def audited(tmp_path):
    klass = make_class(tmp_path)
    server = start_server(str(klass.db), tmp_path)
    try:
        for n, sid in enumerate(sorted(klass.tokens)):
            for attempt in range(2):
                assert (
                    _submit(server.url, klass.quiz, sid, klass.tokens[sid], {"1": str(100 * n + attempt)}).status_code
                    == 201
                )
    finally:
        server.stop()
    ok = klass.run("audit", str(klass.quiz), "--json")
    assert ok.exit_code == 0 and '"intact": true' in ok.stdout
    return klass


def test_audit_names_a_changed_answer(audited):
    lines = _tamper(audited, "UPDATE submissions SET raw = '999' WHERE id = 3")
    assert any("answers were changed" in line and "attempt 1" in line for line in lines)


def test_audit_names_inserted_answers(audited):
    lines = _tamper(audited, "INSERT INTO submissions (quiz_id, student_id, question_id, attempt, raw, parsed, "
                             "submitted_at) SELECT quiz_id, student_id, question_id, 9, '1', '1', submitted_at "
                             "FROM submissions WHERE id = 1")
    assert any("inserted" in line for line in lines)
