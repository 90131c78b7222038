"""Several `quizgen serve` on one PostgreSQL behind PgBouncer in transaction mode (#17.3, the
README's way past one machine): students submit to any server at once, each request may
run on any of PgBouncer's server connections, and still every attempt is recorded once,
the attempt limit holds across servers, every acknowledged attempt is stored with its
receipt, and the log every server sequences is one log that audit finds intact."""

from __future__ import annotations

import json
import random
import threading
import uuid

import httpx
import pytest

from .helpers import make_class, right_answers
from .pgbouncer import PgBouncer, pgbouncer_bin
from .server import bearer, start_server

pytestmark = pytest.mark.slow


@pytest.fixture()
def bouncer(pg_server):
    if pgbouncer_bin() is None:
        pytest.skip("pgbouncer is not installed (Debian package 'pgbouncer'; make test installs it where apt-get can)")
    b = PgBouncer(pg_server, pool_size=3).start()  # fewer server connections than clients: transactions move
    yield b
    b.stop()


def test_three_servers_behind_pgbouncer_record_each_attempt_once(pg_server, bouncer, tmp_path):
    direct = pg_server.new_database()
    limit = 4
    klass = make_class(tmp_path, "--attempts", str(limit), "--feedback", "full", db=direct)
    pooled = bouncer.url(direct.rsplit("/", 1)[1]) + "?pooler=transaction"
    servers = [start_server(pooled, tmp_path), start_server(pooled, tmp_path),
               start_server(pooled, tmp_path, "--workers", "2")]
    students = sorted(klass.tokens)
    answers = {s: right_answers(klass.key(s)) for s in students}
    lock = threading.Lock()
    acked: list[tuple[str, int, str, dict]] = []  # student, attempt, key, receipt
    statuses: list[int] = []
    replays: list[tuple[int, int]] = []

    def submitter(n: int) -> None:
        rng = random.Random(n)
        clients = [httpx.Client(base_url=s.url, trust_env=False, timeout=60) for s in servers]
        try:
            for _ in range(16):
                sid = rng.choice(students)
                key = uuid.uuid4().hex
                body = {"answers": answers[sid]}
                headers = {**bearer(sid, klass.tokens[sid]), "Idempotency-Key": key}
                first = rng.choice(clients).post(f"/api/v1/quizzes/{klass.quiz}/submissions", json=body,
                                                 headers=headers)
                again = rng.choice(clients).post(f"/api/v1/quizzes/{klass.quiz}/submissions", json=body,
                                                 headers=headers)  # a retry, to any server
                with lock:
                    statuses.extend([first.status_code, again.status_code])
                    for r in (first, again):
                        if r.status_code == 201:
                            b = r.json()
                            acked.append((sid, b["attempt"], key, b["receipt"]))
                    if first.status_code in (200, 201) and again.status_code in (200, 201):
                        replays.append((first.json()["attempt"], again.json()["attempt"]))
        finally:
            for c in clients:
                c.close()

    threads = [threading.Thread(target=submitter, args=(n,)) for n in range(12)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
    finally:
        for s in servers:
            s.stop()
    assert not any(t.is_alive() for t in threads)
    # every answer is 201 (new), 200 (a replay) or 409 (the attempt limit): nothing failed
    assert set(statuses) <= {200, 201, 409}, sorted(set(statuses))
    assert all(a == b for a, b in replays)  # a retry is answered with the same attempt
    per_student: dict[str, list[int]] = {}
    for sid, attempt, _, _ in acked:
        per_student.setdefault(sid, []).append(attempt)
    assert all(sorted(v) == list(range(1, len(v) + 1)) for v in per_student.values()), per_student
    assert all(len(v) <= limit for v in per_student.values())
    assert sum(len(v) for v in per_student.values()) == len(students) * limit  # 384 tries: every attempt used
    assert len({k for _, _, k, _ in acked}) == len(acked)  # one 201 per idempotency key
    assert klass.count("attempts") == len(acked)
    stored = _stored_receipts(direct, klass.quiz)
    assert all(stored[(sid, attempt)] == receipt for sid, attempt, _, receipt in acked)
    audit = klass.run("audit", str(klass.quiz), "--key-file", str(tmp_path / "receipt.key"), "--json")
    report = json.loads(audit.stdout)
    assert audit.exit_code == 0 and report["size"] == len(acked) and report["pending"] == [], audit.output


def _stored_receipts(db: str, quiz: int) -> dict[tuple[str, int], dict]:
    import psycopg

    with psycopg.connect(db) as con:
        rows = con.execute("SELECT s.external_id, a.attempt, a.receipt FROM attempts a JOIN students s "
                           "ON s.id = a.student_id WHERE a.quiz_id = %s", (quiz,)).fetchall()
    return {(sid, attempt): json.loads(receipt) for sid, attempt, receipt in rows}


def test_statements_are_never_prepared_behind_the_pooler(pg_server, bouncer, tmp_path):
    """Prepared statements live on one server connection, and behind a transaction-mode pooler
    the next transaction may run on another: with ``?pooler=transaction`` psycopg never
    prepares, so six stores recording many attempts at once through PgBouncer see no
    'prepared statement does not exist / already exists' (without it, they do)."""
    from quizgen.classroom.attempts import AttemptRequest, Submitted, record_attempts
    from quizgen.classroom.keys import load_signer
    from quizgen.store.db import open_store

    direct = pg_server.new_database()
    klass = make_class(tmp_path, "--attempts", "1000", db=direct)
    students = sorted(klass.tokens) * 2  # six stores, two per student
    pooled = bouncer.url(direct.rsplit("/", 1)[1]) + "?pooler=transaction"
    signer = load_signer(str(tmp_path / "key"))
    answers = {sid: right_answers(klass.key(sid)) for sid in klass.tokens}  # before the threads: CliRunner is not
    outcomes: list[object] = []

    def record(sid: str) -> None:
        store = open_store(pooled, create=False)
        try:
            for _ in range(40):
                try:
                    outcomes.extend(record_attempts(store, [AttemptRequest(
                        klass.quiz, sid, klass.tokens[sid], answers[sid], "http", idempotency_key=uuid.uuid4().hex,
                        grade_on_arrival=True)], signer))
                except Exception as exc:  # noqa: BLE001 - a database error is what this test looks for
                    outcomes.append(exc)
        finally:
            store.dispose()

    threads = [threading.Thread(target=record, args=(sid,)) for sid in students[:6]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    failed = [o for o in outcomes if not isinstance(o, Submitted)]
    assert not failed and len(outcomes) == 240, failed[:3]
    assert klass.count("attempts") == 240 and klass.count("grades") == 240 * 6
