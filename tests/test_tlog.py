"""The transparency log of attempts (issue #17), against a real ``quizgen serve``: every
hole the hostile tester found is a test here, each failing before the log existed, and
the proofs the service gives verify with RFC 9162's rules (quizgen.merkle, itself tested
against the RFC and pymerkle in tests/test_merkle.py)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from quizgen import merkle
from quizgen.receipts import answers_sha256, leaf_hash_hex, leaf_record, verify_checkpoint

from .helpers import make_class
from .server import bearer, start_server


def _submit(url: str, quiz: int, sid: str, token: str, answers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{url}/api/v1/quizzes/{quiz}/submissions", json={"answers": answers}, timeout=60,
                      trust_env=False, headers={**bearer(sid, token), "Idempotency-Key": str(uuid.uuid4())})


def _audit(klass, *args: str) -> tuple[int, list[str], dict]:  # type: ignore[no-untyped-def]
    out = klass.run("audit", str(klass.quiz), "--json", *args)
    return out.exit_code, [p["problem"] for p in json.loads(out.stdout)["problems"]], json.loads(out.stdout)


def _sql(klass, *statements: str) -> None:  # type: ignore[no-untyped-def]
    con = sqlite3.connect(klass.db)
    for stmt in statements:
        con.execute(stmt)
    con.commit()
    con.close()


@pytest.fixture()
def logged(tmp_path):
    """Four students, two attempts each, through a real server; stopped, so all are sequenced."""
    klass = make_class(tmp_path)
    server = start_server(str(klass.db), tmp_path)
    try:
        for n, sid in enumerate(sorted(klass.tokens)):
            for attempt in range(2):
                r = _submit(server.url, klass.quiz, sid, klass.tokens[sid], {"1": str(100 * n + attempt)})
                assert r.status_code == 201, r.text
                receipt = r.json()["receipt"]
                assert receipt["v"] == 2 and len(receipt["leaf_hash"]) == 64 and receipt["integrate_by"]
    finally:
        server.stop()
    code, problems, report = _audit(klass)
    assert code == 0 and problems == [] and report["pending"] == [] and report["size"] == 8, report
    assert report["trusted_keys"].startswith("the key file")
    return klass


def _recompute_leaves(con: sqlite3.Connection) -> None:
    """What someone with write access to the database (and quizgen's source) can redo: every
    attempt's answers hash and leaf hash, from the rows as they now are."""
    rows = con.execute("SELECT a.id, a.quiz_id, s.external_id, a.student_id, a.attempt, a.source, a.received_at "
                       "FROM attempts a JOIN students s ON s.id = a.student_id").fetchall()
    for aid, quiz, sid, spk, attempt, source, received in rows:
        texts = dict(con.execute("SELECT q.slot, sub.raw FROM submissions sub JOIN questions q ON "
                                 "q.id = sub.question_id WHERE sub.quiz_id = ? AND sub.student_id = ? AND "
                                 "sub.attempt = ?", (quiz, spk, attempt)).fetchall())
        digest = answers_sha256({str(k): v for k, v in texts.items()})
        stamp = datetime.fromisoformat(received).replace(tzinfo=UTC).isoformat()
        leaf = leaf_hash_hex(leaf_record(quiz, sid, attempt, source, stamp, digest))
        con.execute("UPDATE attempts SET answers_sha256 = ?, leaf_hash = ? WHERE id = ?", (digest, leaf, aid))


def test_receipts_nulled_and_every_hash_recomputed_is_found(logged):
    """The hostile tester's first hole: NULL the receipts, change an answer, recompute the
    hashes with quizgen's own functions. The audit used to say 'intact'."""
    con = sqlite3.connect(logged.db)
    con.execute("UPDATE attempts SET receipt = NULL, key_id = NULL, response = NULL")
    con.execute("UPDATE submissions SET raw = '12345', parsed = '12345' WHERE id = 3")
    _recompute_leaves(con)
    con.commit()
    con.close()
    code, problems, _ = _audit(logged)
    assert code == 1
    assert sum("no signed receipt" in p for p in problems) == 8
    assert any("not the ones it signed" in p for p in problems)  # the signed checkpoints' roots no longer match


def test_an_unsigned_attempt_appended_is_found(logged):
    """The second hole: an attempt inserted at the end of the log, hashes right, no signature."""
    con = sqlite3.connect(logged.db)
    spk, question = con.execute("SELECT student_id, question_id FROM submissions LIMIT 1").fetchone()
    con.execute("INSERT INTO attempts (quiz_id, student_id, attempt, received_at, source, answers_sha256, leaf_hash, "
                "leaf_index) VALUES (?, ?, 3, '2026-12-07 10:00:00.000000', 'http', '', '', NULL)",
                (logged.quiz, spk))
    con.execute("INSERT INTO submissions (quiz_id, student_id, question_id, attempt, raw, parsed, submitted_at) "
                "VALUES (?, ?, ?, 3, '529441', '529441', '2026-12-07 10:00:00.000000')", (logged.quiz, spk, question))
    _recompute_leaves(con)
    con.commit()
    con.close()
    code, problems, report = _audit(logged)
    assert code == 1 and any("no signed receipt" in p for p in problems)
    assert len(report["pending"]) == 1  # and it is not counted as in the log either


def test_an_edited_parsed_answer_is_found(logged):
    """The third hole: 'parsed' set to the right value under a wrong text raised the grade on regrade."""
    _sql(logged, "UPDATE submissions SET parsed = '999999999' WHERE id = 2")
    code, problems, _ = _audit(logged)
    assert code == 1 and any("stored parsed answer is not what its text" in p for p in problems)


@pytest.mark.parametrize("tamper, finding", [
    ("DELETE FROM attempts WHERE leaf_index = 3", "missing: removed"),
    ("UPDATE attempts SET leaf_index = 100 WHERE leaf_index = 1; UPDATE attempts SET leaf_index = 1 WHERE "
     "leaf_index = 6; UPDATE attempts SET leaf_index = 6 WHERE leaf_index = 100", "not the ones it signed"),
    ("UPDATE attempts SET received_at = '2020-01-01 00:00:00.000000' WHERE leaf_index = 5", "its row was changed"),
    ("UPDATE attempts SET source = 'legacy' WHERE leaf_index = 2", "its row was changed"),
])
def test_removed_reordered_and_relabelled_attempts_are_found(logged, tamper, finding):
    if "DELETE" in tamper:
        _sql(logged, "DELETE FROM grades WHERE submission_id IN (SELECT s.id FROM submissions s JOIN attempts a ON "
                     "a.student_id = s.student_id AND a.attempt = s.attempt WHERE a.leaf_index = 3)",
             "DELETE FROM submissions WHERE id IN (SELECT s.id FROM submissions s JOIN attempts a ON "
             "a.student_id = s.student_id AND a.attempt = s.attempt WHERE a.leaf_index = 3)")
    _sql(logged, *tamper.split("; "))
    code, problems, _ = _audit(logged)
    assert code == 1 and any(finding in p for p in problems), problems


def test_checkpoints_removed_with_their_attempts_show_against_the_file(logged):
    """Rows and checkpoints deleted together leave a consistent database; the checkpoints the
    server appended beside its key still name what was there."""
    _sql(logged, "DELETE FROM grades", "DELETE FROM submissions WHERE attempt = 2",
         "DELETE FROM attempts WHERE attempt = 2", "DELETE FROM checkpoints")
    code, problems, _ = _audit(logged)
    assert code == 1 and any("is no longer in the database: it was removed" in p for p in problems)


def test_a_key_added_to_the_database_is_not_trusted(logged, tmp_path):
    """Whoever can edit the database can register a key of their own and sign with it: the
    audit trusts the key file, so a re-signed forgery is still named."""
    from quizgen.receipts import Signer

    forger = Signer(os.urandom(32))
    con = sqlite3.connect(logged.db)
    con.execute("INSERT INTO server_keys VALUES (?, 'ed25519', ?, '2026-12-07 00:00:00.000000')",
                (forger.key_id, forger.public_b64))
    for aid, receipt in con.execute("SELECT id, receipt FROM attempts").fetchall():
        forged = forger.sign(json.loads(receipt))
        con.execute("UPDATE attempts SET receipt = ?, key_id = ? WHERE id = ?", (json.dumps(forged), forger.key_id,
                                                                                 aid))
    con.commit()
    con.close()
    code, problems, _ = _audit(logged)
    assert code == 1 and sum("not trusted here" in p for p in problems) == 8


def test_proofs_from_the_api_verify_by_rfc_9162(logged, tmp_path):
    server = start_server(str(logged.db), tmp_path)
    try:
        sid, token = "20260001", logged.tokens["20260001"]
        old = httpx.get(f"{server.url}/api/v1/quizzes/{logged.quiz}/checkpoint", trust_env=False).json()
        receipt = _submit(server.url, logged.quiz, sid, token, {"1": "42"}).json()["receipt"]
        public = httpx.get(f"{server.url}/api/v1/receipt-key", trust_env=False).json()["public_key"]
        # the sequencer integrates it within a second or so; wait for a checkpoint that has it
        import time

        deadline = time.monotonic() + 120
        while True:
            new = httpx.get(f"{server.url}/api/v1/quizzes/{logged.quiz}/checkpoint", trust_env=False).json()
            if new["size"] > old["size"] or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert new["size"] == old["size"] + 1
        size, root, _ = verify_checkpoint(new["note"], public)
        assert size == new["size"] and root.hex() == new["root"]
        proof = httpx.get(f"{server.url}/api/v1/quizzes/{logged.quiz}/proof",
                          params={"leaf": receipt["leaf_hash"], "size": size}, trust_env=False).json()
        assert merkle.verify_inclusion(bytes.fromhex(receipt["leaf_hash"]), proof["index"], size,
                                       [bytes.fromhex(h) for h in proof["path"]], root)
        cons = httpx.get(f"{server.url}/api/v1/quizzes/{logged.quiz}/proof",
                         params={"from": old["size"], "to": size}, trust_env=False).json()
        assert merkle.verify_consistency(old["size"], bytes.fromhex(old["root"]), size, root,
                                         [bytes.fromhex(h) for h in cons["path"]])
        bad = httpx.get(f"{server.url}/api/v1/quizzes/{logged.quiz}/proof", params={"leaf": "ab" * 32},
                        trust_env=False)
        assert bad.status_code == 404 and bad.json()["error"]["code"] == "no_such_proof"
        assert httpx.get(f"{server.url}/api/v1/quizzes/{logged.quiz}/proof", params={"leaf": "x"},
                         trust_env=False).status_code == 400
    finally:
        server.stop()
    notes = logged.run("checkpoints", str(logged.quiz))
    assert notes.exit_code == 0 and f"quizgen/quiz/{logged.quiz}\n9\n" in notes.stdout
    assert notes.stdout.count("\u2014 quizgen-") >= 2  # each signed note ends with its signature line


def test_kill_9_during_sequencing_loses_no_acknowledged_attempt(tmp_path):
    """Attempts acknowledged while the server is killed (SIGKILL, no last round) are in the
    log after a restart, and the checkpoints from before stay consistent with the new ones."""
    klass = make_class(tmp_path)
    server = start_server(str(klass.db), tmp_path, "--workers", "2")
    acked: list[str] = []
    stop = threading.Event()

    def submitting(sid: str) -> None:
        while not stop.is_set():
            try:
                r = _submit(server.url, klass.quiz, sid, klass.tokens[sid], {"1": "7"})
            except httpx.HTTPError:
                return
            if r.status_code == 201:
                acked.append(r.json()["receipt"]["leaf_hash"])
            elif r.status_code != 409:  # the attempt limit is the only other answer expected
                return

    threads = [threading.Thread(target=submitting, args=(sid,)) for sid in sorted(klass.tokens)]
    for t in threads:
        t.start()
    import time

    deadline = time.monotonic() + 120
    while len(acked) < 8 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(server.proc.pid, signal.SIGKILL)
    server.proc.wait()
    stop.set()
    for t in threads:
        t.join(120)
    con = sqlite3.connect(klass.db)
    before = con.execute("SELECT tree_size, root_sha256 FROM checkpoints ORDER BY tree_size").fetchall()
    con.close()
    restarted = start_server(str(klass.db), tmp_path)
    restarted.stop()  # its start and its stop each run a sequencing round
    con = sqlite3.connect(klass.db)
    logged = {h for (h,) in con.execute("SELECT leaf_hash FROM attempts WHERE leaf_index IS NOT NULL")}
    leaves = [bytes.fromhex(h) for (h,) in con.execute("SELECT leaf_hash FROM attempts ORDER BY leaf_index")]
    con.close()
    assert acked and set(acked) <= logged
    for size, root in before:
        assert merkle.root(leaves[:size]).hex() == root  # the old checkpoints are prefixes of the new log
    code, problems, report = _audit(klass)
    assert code == 0 and problems == [] and report["pending"] == [], problems


def test_two_servers_on_postgresql_agree_on_one_sequence(pg_server, tmp_path):
    db = pg_server.new_database()
    klass = make_class(tmp_path, "--attempts", "30", db=db)
    servers = [start_server(db, tmp_path, "--key-file", str(tmp_path / "shared.key")) for _ in range(2)]
    try:
        barrier = threading.Barrier(len(klass.tokens) * 2)
        statuses: list[int] = []

        def go(url: str, sid: str) -> None:
            barrier.wait()
            for n in range(5):
                statuses.append(_submit(url, klass.quiz, sid, klass.tokens[sid], {"1": str(n)}).status_code)

        threads = [threading.Thread(target=go, args=(s.url, sid)) for s in servers for sid in sorted(klass.tokens)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
    finally:
        for s in servers:
            s.stop()
    assert statuses.count(201) == 40
    code, problems, report = _audit(klass, "--key-file", str(tmp_path / "shared.key"))
    assert code == 0 and problems == [] and report["size"] == 40 and report["pending"] == []


def test_an_upgraded_chain_becomes_the_logs_first_checkpoint(tmp_path):
    """A database at 0005 (a hash chain) upgrades: the chain is verified and becomes the
    log's base, which the server signs when it next starts; a chain broken before the
    upgrade stays reported."""
    from quizgen.store.db import downgrade_store, open_store, upgrade_store

    klass = make_class(tmp_path)
    for sid in sorted(klass.tokens)[:2]:
        assert klass.run("submit", str(klass.quiz), "--allow-blank", "--student", sid, "--token", klass.tokens[sid],
                         "--answer", "1=5").exit_code == 0
    store = open_store(str(klass.db), create=False)
    downgrade_store(store, "0005")
    con = sqlite3.connect(klass.db)
    assert [r[0] for r in con.execute("SELECT seq FROM attempts ORDER BY seq")] == [1, 2]
    con.execute("UPDATE submissions SET raw = '6' WHERE id = 1")  # broken before the upgrade
    con.commit()
    con.close()
    store.dispose()
    upgrade_store(str(klass.db))
    code, problems, report = _audit(klass)
    assert code == 1 and any("chain was BROKEN" in p for p in problems)
    assert report["checkpoints"] == 0 and report["pending"] == []  # the base is unsigned until a server signs it
    server = start_server(str(klass.db), tmp_path)
    server.stop()
    con = sqlite3.connect(klass.db)
    (note, origin) = con.execute("SELECT note, origin FROM checkpoints").fetchone()
    con.close()
    assert note is not None and f"quizgen/quiz/{klass.quiz}\n2\n" in note and "BROKEN" in origin
    code, problems, report = _audit(klass)
    assert code == 1 and report["checkpoints"] == 1 and any("chain was BROKEN" in p for p in problems)
