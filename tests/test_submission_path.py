"""The submission path made fast (#17.3) keeps every rule: what a server process keeps in
memory (a student's questions and grading keys) gives way at once to an instructor's
change made by another process, settings and tokens are read every time, several
attempts recorded in one SQLite transaction stay apart (a refusal, even one after its rows
were written, leaves the others), and on PostgreSQL the two locks come in their order."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path

from quizgen.classroom import attempts
from quizgen.classroom.attempts import AttemptRequest, RateLimit, Submitted, record_attempts
from quizgen.classroom.keys import load_signer
from quizgen.classroom.policies import AttemptsExhausted
from quizgen.classroom.students import AuthError
from quizgen.errors import QuizgenError
from quizgen.grading.answers import AnswerError
from quizgen.store.db import open_store

from .helpers import make_class, right_answers
from .server import bearer, start_server


def _post(client, quiz, student, token, answers):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/quizzes/{quiz}/submissions", json={"answers": answers},
                       headers={**bearer(student, token), "Idempotency-Key": str(uuid.uuid4())})


def _q1(body: dict) -> dict:
    return next(q for q in body["questions"] if q["slot"] == 1)


def test_an_accepted_answer_counts_at_once_in_a_running_server(db_url, tmp_path):
    """Both workers have read the student's grading keys (a wrong value graded wrong); the
    instructor accepts that value from the command line (another process); the very next
    submission of it is graded right, and batch grading agrees."""
    klass = make_class(tmp_path, "--attempts", "20", db=db_url)
    sid, token = "20260001", klass.tokens["20260001"]
    right = klass.key(sid)[0]["answer"]["value"]
    wrong = right - 128
    server = start_server(str(klass.db), tmp_path, "--workers", "2")
    try:
        with server.client() as c:
            for _ in range(6):  # new connections: both workers answer some
                with server.client() as fresh:
                    r = _post(fresh, klass.quiz, sid, token, {"1": str(wrong)})
                assert r.status_code == 201 and _q1(r.json())["correct"] is False
            accepted = klass.run("quiz", "accept", str(klass.quiz), "1", str(wrong), "--student", sid, "--apply",
                                 "--json")
            assert accepted.exit_code == 0, accepted.output
            for _ in range(4):
                with server.client() as fresh:
                    r = _post(fresh, klass.quiz, sid, token, {"1": str(wrong)})
                assert r.status_code == 201 and _q1(r.json())["correct"] is True, r.json()
            assert c.get("/api/v1/health").status_code == 200
    finally:
        server.stop()
    regrade = json.loads(klass.run("grade", str(klass.quiz), "--regrade", "--json").stdout)
    assert regrade["changed_grades"] == 0  # the grades given on arrival are the stored keys' grades


def test_settings_extensions_and_tokens_are_read_every_time(db_url, tmp_path):
    """A running server (two workers) obeys the instructor's changes at once: an attempt
    limit lowered, an extension given, a token reset."""
    klass = make_class(tmp_path, "--attempts", "5", db=db_url)
    sid, token = "20260002", klass.tokens["20260002"]
    answers = right_answers(klass.key(sid))
    server = start_server(str(klass.db), tmp_path, "--workers", "2")
    try:
        def post(tok: str) -> int:
            with server.client() as c:
                return _post(c, klass.quiz, sid, tok, answers).status_code

        assert [post(token) for _ in range(4)] == [201] * 4
        assert klass.run("quiz", "set", str(klass.quiz), "--attempts", "2").exit_code == 0
        assert [post(token) for _ in range(3)] == [409] * 3
        assert klass.run("quiz", "extend", str(klass.quiz), "--student", sid, "--attempts", "5").exit_code == 0
        assert post(token) == 201
        reset = klass.run("roster", "reset-token", sid, "--json")
        assert reset.exit_code == 0, reset.output
        fresh = json.loads(reset.stdout)[0]["token"]
        assert [post(token) for _ in range(3)] == [401] * 3
        assert post(fresh) == 409  # the new token works: the extension's five are used
    finally:
        server.stop()
    assert klass.count("attempts") == 5


def _requests(klass, quiz: int) -> tuple[list[AttemptRequest], dict[str, str]]:  # type: ignore[no-untyped-def]
    one, two = "20260001", "20260003"
    right = {s: right_answers(klass.key(s)) for s in (one, two)}
    limit = RateLimit(30, 600)

    def request(sid: str, answers: dict[str, str], key: str | None, token: str | None = None) -> AttemptRequest:
        return AttemptRequest(quiz, sid, token or klass.tokens[sid], answers, "http", idempotency_key=key,
                              grade_on_arrival=True, rate_limit=limit)

    return [
        request(one, right[one], "a"),  # recorded
        request(one, right[one], "a"),  # the same request again, in the same transaction: a replay
        request(one, right[one], "b"),  # beyond the attempt limit of 1: refused
        request(two, {"1": "not a number"}, "c"),  # refused before any lock
        request(two, right[two], "d", token="wrong"),  # refused: the token
        request(two, right[two], "e"),  # recorded
    ], right


def test_a_batch_keeps_each_attempt_apart(db_url, tmp_path):
    """Several requests recorded together (one SQLite transaction; PostgreSQL: one each):
    the limit and the idempotency key are held within the batch, and refused requests
    leave no row while the others are stored whole and graded."""
    klass = make_class(tmp_path, "--attempts", "1", "--feedback", "full", db=db_url)
    store = open_store(str(klass.db), create=False)
    try:
        batch, _ = _requests(klass, klass.quiz)
        out = record_attempts(store, batch, load_signer(str(tmp_path / "key")))
    finally:
        store.dispose()
    kinds = [type(o) for o in out]
    assert kinds == [Submitted, Submitted, AttemptsExhausted, AnswerError, AuthError, Submitted], out
    first, replay = out[0], out[1]
    assert isinstance(first, Submitted) and isinstance(replay, Submitted)
    assert replay.replayed and replay.response["receipt"] == first.response["receipt"]
    assert klass.count("attempts") == 2 and klass.count("submissions") == 12 and klass.count("grades") == 12


def test_a_refusal_after_its_rows_are_written_leaves_the_others(tmp_path, monkeypatch):
    """SQLite, one transaction for the batch: a request refused after its attempt and
    answers were written (a fault made to happen in grading) is rolled back to its
    savepoint alone; the requests before and after it are committed whole."""
    klass = make_class(tmp_path, "--attempts", "5", "--feedback", "full")
    real = attempts.insert_attempt_grades

    def failing_for_student_2(cur, quiz_id, grades, stamp, lms):  # type: ignore[no-untyped-def]
        real(cur, quiz_id, grades, stamp, lms)
        owner = cur.raw.execute("SELECT st.external_id FROM submissions s JOIN students st ON st.id = s.student_id "
                                "WHERE s.id = ?", (grades[0][0],)).fetchone()[0]
        if owner == "20260002":
            raise QuizgenError("refused after its rows were written")

    monkeypatch.setattr(attempts, "insert_attempt_grades", failing_for_student_2)
    limit = RateLimit(30, 600)
    batch = [AttemptRequest(klass.quiz, sid, klass.tokens[sid], right_answers(klass.key(sid)), "http",
                            idempotency_key=sid, grade_on_arrival=True, rate_limit=limit)
             for sid in ("20260001", "20260002", "20260003")]
    store = open_store(str(klass.db), create=False)
    try:
        out = record_attempts(store, batch, load_signer(str(tmp_path / "key")))
    finally:
        store.dispose()
    assert [type(o) for o in out] == [Submitted, QuizgenError, Submitted]
    import sqlite3

    con = sqlite3.connect(klass.db)
    try:
        stored = con.execute("SELECT st.external_id, count(DISTINCT a.id), count(DISTINCT s.id), count(g.id) "
                             "FROM attempts a JOIN students st ON st.id = a.student_id "
                             "JOIN submissions s ON s.quiz_id = a.quiz_id AND s.student_id = a.student_id "
                             "AND s.attempt = a.attempt JOIN grades g ON g.submission_id = s.id "
                             "GROUP BY st.external_id ORDER BY 1").fetchall()
        loose = con.execute("SELECT count(*) FROM submissions s JOIN students st ON st.id = s.student_id "
                            "WHERE st.external_id = '20260002'").fetchone()[0]
    finally:
        con.close()
    assert stored == [("20260001", 1, 6, 6), ("20260003", 1, 6, 6)] and loose == 0


def test_postgresql_takes_the_grading_lock_before_the_students_row(pg_server, tmp_path):
    """Every writer takes its locks in one order (classroom.attempts): while a submission
    waits for its student's row, it already holds the quiz's grading lock (shared), so a
    batch grader (exclusive) waits for it, never the other way round."""
    import psycopg

    from quizgen.grading.batch import GRADING_LOCK

    db = pg_server.new_database()
    klass = make_class(tmp_path, db=db)
    sid = "20260004"
    holder = psycopg.connect(db)
    probe = psycopg.connect(db, autocommit=True)
    store = open_store(db, create=False)
    try:
        holder.execute("SELECT id FROM students WHERE external_id = %s FOR UPDATE", (sid,))
        done: list[object] = []
        request = AttemptRequest(klass.quiz, sid, klass.tokens[sid], {"1": "5"}, "http", idempotency_key="k",
                                 grade_on_arrival=True)
        thread = threading.Thread(target=lambda: done.extend(
            record_attempts(store, [request], load_signer(str(tmp_path / "key")))))
        thread.start()
        deadline = time.monotonic() + 30
        waiting = False
        while time.monotonic() < deadline and not waiting:  # the submission waits for the row
            waiting = bool(probe.execute("SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = "
                                         "'transactionid'").fetchone()[0])  # type: ignore[index]
            time.sleep(0.05)
        assert waiting
        exclusive = probe.execute("SELECT pg_try_advisory_lock(%s, %s)", (GRADING_LOCK, klass.quiz)).fetchone()
        assert exclusive is not None and exclusive[0] is False  # the waiting submission holds it, shared
        holder.commit()
        thread.join(timeout=30)
        assert len(done) == 1 and isinstance(done[0], Submitted)
    finally:
        holder.close()
        probe.close()
        store.dispose()


def test_a_store_remembers_nothing_of_another_database(tmp_path):
    """The memory of students' questions is the store's own: two databases with the same
    quiz and student ids, opened in one process, never answer from each other's."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = make_class(tmp_path / "a")
    b = make_class(tmp_path / "b", "--seed", "12")  # the same ids, other numbers
    signer = load_signer(str(tmp_path / "key"))
    for klass in (a, b, a):
        store = open_store(str(klass.db), create=False)
        try:
            sid = "20260001"
            out = record_attempts(store, [AttemptRequest(klass.quiz, sid, klass.tokens[sid],
                                                         right_answers(klass.key(sid)), "http",
                                                         idempotency_key=str(uuid.uuid4()),
                                                         grade_on_arrival=True)], signer)[0]
        finally:
            store.dispose()
        assert isinstance(out, Submitted) and out.response["score"] == out.response["max_score"], out
    assert Path(a.db) != Path(b.db)
