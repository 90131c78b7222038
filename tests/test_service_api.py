"""The checking service's JSON API, against a real `quizgen serve` on 127.0.0.1, on SQLite
and PostgreSQL: submissions graded on arrival with signed receipts, idempotent replays,
the quiz's rules, every kind of bad request answered with the right 4xx and no row."""

from __future__ import annotations

import json
import uuid

import pytest

from quizgen.receipts import answers_sha256, stored_answers, verify_receipt

from .helpers import make_class, right_answers
from .server import bearer, start_server


@pytest.fixture()
def served(db_url, tmp_path):
    klass = make_class(tmp_path, "--attempts", "3", "--deadline", "2099-01-01 00:00", db=db_url)
    server = start_server(str(klass.db), tmp_path)
    yield klass, server
    server.stop()


def _post(client, quiz, student, token, answers, key=None, **headers):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/quizzes/{quiz}/submissions", json={"answers": answers},
                       headers={**bearer(student, token), "Idempotency-Key": key or str(uuid.uuid4()), **headers})


def test_health_key_and_the_openapi_contract(served):
    klass, server = served
    with server.client() as c:
        health = c.get("/api/v1/health").json()
        assert health["status"] == "ok" and health["database"] == "ok" and health["version"]
        key = c.get("/api/v1/receipt-key").json()
        assert key["algorithm"] == "ed25519" and len(key["key_id"]) == 16
        spec = c.get("/api/v1/openapi.json").json()
        # no page that would need scripts the CSP forbids (FastAPI's Swagger UI loads them from a CDN)
        assert c.get("/api/docs").status_code == 404 and c.get("/docs").status_code == 404
    paths = spec["paths"]
    assert {"/api/v1/health", "/api/v1/receipt-key", "/api/v1/quizzes/{quiz}",
            "/api/v1/quizzes/{quiz}/submissions"} <= set(paths)
    post = paths["/api/v1/quizzes/{quiz}/submissions"]["post"]
    assert {"201", "200", "401", "409", "413", "415", "422", "429", "503"} <= set(post["responses"])
    assert "answers" in json.dumps(post["requestBody"])


def test_a_submission_is_graded_on_arrival_with_a_signed_receipt(served):
    klass, server = served
    sid, token = "20260001", klass.tokens["20260001"]
    answers = right_answers(klass.key(sid))
    answers["1"] = str(int(answers["1"].replace(",", "")) + 1)  # one wrong answer
    with server.client() as c:
        view = c.get(f"/api/v1/quizzes/{klass.quiz}", headers=bearer(sid, token)).json()
        assert view["quiz"]["attempts_left"] == 3 and view["quiz"]["open"] and len(view["questions"]) == 6
        r = _post(c, klass.quiz, sid, token, answers)
        key = c.get("/api/v1/receipt-key").json()
    assert r.status_code == 201, r.text
    body = r.json()
    points = {q["slot"]: q["points"] for q in view["questions"]}
    assert body["attempt"] == 1 and body["graded"] and body["max_score"] == sum(points.values())
    assert body["score"] == sum(points.values()) - points[1]
    assert [q["correct"] for q in body["questions"]].count(False) == 1
    receipt = body["receipt"]
    assert verify_receipt(receipt, key["public_key"])
    assert receipt["answers_sha256"] == answers_sha256(stored_answers(answers))  # what the client can check
    assert (receipt["quiz"], receipt["student"], receipt["attempt"]) == (klass.quiz, sid, 1)
    tampered = {**receipt, "attempt": 2}
    assert not verify_receipt(tampered, key["public_key"])
    # batch grading agrees with the grades given on arrival: nothing left to do or change
    graded = json.loads(klass.run("grade", str(klass.quiz), "--json").stdout)
    assert graded["graded"] == 0
    regrade = json.loads(klass.run("grade", str(klass.quiz), "--regrade", "--json").stdout)
    assert regrade["changed_grades"] == 0
    assert klass.run("audit", str(klass.quiz)).exit_code == 0


def test_replays_and_reused_keys(served):
    klass, server = served
    sid, token = "20260002", klass.tokens["20260002"]
    with server.client() as c:
        first = _post(c, klass.quiz, sid, token, {"1": "5"}, key="one-key")
        again = _post(c, klass.quiz, sid, token, {"1": "5"}, key="one-key")
        other = _post(c, klass.quiz, sid, token, {"1": "6"}, key="one-key")
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == {**first.json(), "replayed": True,  # the grades as first given, and where the current are
                            "current": f"/api/v1/quizzes/{klass.quiz}/submissions"}
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert klass.count("attempts") == 1


def test_the_quizs_rules_hold_over_http(served):
    klass, server = served
    sid, token = "20260003", klass.tokens["20260003"]
    with server.client() as c:
        for n in range(3):
            assert _post(c, klass.quiz, sid, token, {"1": str(n)}).status_code == 201
        spent = _post(c, klass.quiz, sid, token, {"1": "9"})
        view = c.get(f"/api/v1/quizzes/{klass.quiz}", headers=bearer(sid, token)).json()
    assert spent.status_code == 409 and spent.json()["error"]["code"] == "attempts_exhausted"
    assert view["quiz"]["attempts_left"] == 0 and not view["quiz"]["open"]
    assert klass.count("attempts") == 3


def _bad_requests(klass):  # type: ignore[no-untyped-def]
    sid, token = "20260001", klass.tokens["20260001"]
    other = klass.tokens["20260002"]
    url = f"/api/v1/quizzes/{klass.quiz}/submissions"
    auth = {**bearer(sid, token), "Idempotency-Key": "k"}
    json_type = {"Content-Type": "application/json"}
    return [
        (
            "malformed JSON",
            dict(url=url, content=b'{"answers": {"1": ', headers={**auth, **json_type}),
            400,
            "bad_request",
        ),
        ("not an object", dict(url=url, content=b"[1, 2]", headers={**auth, **json_type}), 400, "bad_request"),
        ("no answers", dict(url=url, json={"answers": {}}, headers=auth), 400, "bad_request"),
        (
            "wrong content type",
            dict(url=url, content=b'{"answers": {"1": "5"}}', headers={**auth, "Content-Type": "text/plain"}),
            415,
            "unsupported_media_type",
        ),
        (
            "huge body",
            dict(url=url, content=b'{"answers": {"1": "' + b"5" * 200_000 + b'"}}', headers={**auth, **json_type}),
            413,
            "payload_too_large",
        ),
        (
            "huge body, no length",
            dict(
                url=url,
                content=iter([b'{"answers": {"1": "'] + [b"5" * 8192] * 20 + [b'"}}']),
                headers={**auth, **json_type},
            ),
            413,
            "payload_too_large",
        ),
        (
            "no idempotency key",
            dict(url=url, json={"answers": {"1": "5"}}, headers=bearer(sid, token)),
            400,
            "idempotency_key_required",
        ),
        (
            "unknown quiz",
            dict(url="/api/v1/quizzes/999/submissions", json={"answers": {"1": "5"}}, headers=auth),
            404,
            "not_found",
        ),
        (
            "no credentials",
            dict(url=url, json={"answers": {"1": "5"}}, headers={"Idempotency-Key": "k"}),
            401,
            "unauthorized",
        ),
        (
            "wrong token",
            dict(url=url, json={"answers": {"1": "5"}}, headers={**bearer(sid, "nope"), "Idempotency-Key": "k"}),
            401,
            "unauthorized",
        ),
        (
            "someone else's token",
            dict(url=url, json={"answers": {"1": "5"}}, headers={**bearer(sid, other), "Idempotency-Key": "k"}),
            401,
            "unauthorized",
        ),
        (
            "token in the URL only",
            dict(url=url + f"?token={token}", json={"answers": {"1": "5"}}, headers={"Idempotency-Key": "k"}),
            401,
            "unauthorized",
        ),
        ("no such question", dict(url=url, json={"answers": {"99": "5"}}, headers=auth), 422, "invalid_answers"),
        ("not a number", dict(url=url, json={"answers": {"1": "5.3e5"}}, headers=auth), 422, "invalid_answers"),
        (
            "too many answers",
            dict(url=url, json={"answers": {str(n): "1" for n in range(1, 400)}}, headers=auth),
            422,
            "invalid_answers",
        ),
        ("an answer too long", dict(url=url, json={"answers": {"1": "1" * 300}}, headers=auth), 422, "invalid_answers"),
        ("an object answer", dict(url=url, json={"answers": {"1": {"x": 1}}}, headers=auth), 422, "invalid_answers"),
        (
            "one question twice",
            dict(url=url, content=b'{"answers": {"1": "529,441", "1": "5"}}', headers={**auth, **json_type}),
            422,
            "invalid_answers",
        ),
        (
            "the answers twice",
            dict(url=url, content=b'{"answers": {"1": "5"}, "answers": {"2": "5"}}', headers={**auth, **json_type}),
            400,
            "bad_request",
        ),
    ]


def test_bad_requests_get_the_right_4xx_one_sentence_and_no_row(served):
    klass, server = served
    with server.client() as c:
        for label, request, status, code in _bad_requests(klass):
            r = c.post(**request)
            assert r.status_code == status, (label, r.status_code, r.text[:300])
            error = r.json()["error"]
            assert error["code"] == code, (label, error)
            assert "\n" not in error["message"] and len(error["message"]) < 600, label
    assert klass.count("attempts") == 0 and klass.count("submissions") == 0


def test_unknown_student_and_wrong_token_look_the_same(served):
    klass, server = served
    with server.client() as c:
        a = c.get(f"/api/v1/quizzes/{klass.quiz}", headers=bearer("nobody", klass.tokens["20260001"]))
        b = c.get(f"/api/v1/quizzes/{klass.quiz}", headers=bearer("20260001", "wrong"))
    assert a.status_code == b.status_code == 401 and a.json() == b.json()


def test_a_closed_quiz_and_a_late_window(db_url, tmp_path):
    closed = make_class(tmp_path / "closed" if (tmp_path / "closed").mkdir() is None else tmp_path,
                        "--deadline", "2020-01-01 00:00", "--allow-past", "--tz", "Asia/Seoul", db=db_url)
    server = start_server(str(closed.db), tmp_path)
    try:
        sid, token = "20260001", closed.tokens["20260001"]
        with server.client() as c:
            r = _post(c, closed.quiz, sid, token, {"1": "5"})
        assert r.status_code == 409 and r.json()["error"]["code"] == "quiz_closed"
        assert "2020-01-01 00:00 +09:00 (Asia/Seoul)" in r.json()["error"]["message"]
        late = json.loads(closed.run("generate", "--title", "late", "--count", "1", "--seed", "3", "--no-verify",
                                     "--students", str(tmp_path / "closed" / "roster.csv"), "--deadline",
                                     "2020-01-01 00:00", "--allow-past", "--late-until", "2099-01-01 00:00",
                                     "--json").stdout)["id"]
        with server.client() as c:
            r = _post(c, late, sid, token, {"1": "5"})
        assert r.status_code == 201 and r.json()["late"] is True
    finally:
        server.stop()


def test_graded_submissions_are_rate_limited_in_the_database(db_url, tmp_path):
    klass = make_class(tmp_path, db=db_url)
    server = start_server(str(klass.db), tmp_path, "--rate-limit", "2/600")
    try:
        sid, token = "20260001", klass.tokens["20260001"]
        with server.client() as c:
            codes = [_post(c, klass.quiz, sid, token, {"1": str(n)}).status_code for n in range(3)]
            limited = _post(c, klass.quiz, sid, token, {"1": "9"})
            other = _post(c, klass.quiz, "20260002", klass.tokens["20260002"], {"1": "9"})
    finally:
        server.stop()
    assert codes == [201, 201, 429]
    assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 601
    assert other.status_code == 201  # per student and quiz
    assert klass.count("attempts") == 3


def test_failed_logins_are_throttled(served):
    klass, server = served
    with server.client() as c:
        codes = [c.get(f"/api/v1/quizzes/{klass.quiz}", headers=bearer("20260001", f"guess{n}")).status_code
                 for n in range(25)]
        right = c.get(f"/api/v1/quizzes/{klass.quiz}", headers=bearer("20260001", klass.tokens["20260001"]))
    assert codes[:20] == [401] * 20 and set(codes[20:]) == {429}
    assert right.status_code == 200  # the guesses are throttled, never the right token (issue #17)


def test_the_access_log_holds_no_token_and_no_answer(db_url, tmp_path):
    klass = make_class(tmp_path, db=db_url)
    server = start_server(str(klass.db), tmp_path)
    server.proc.args  # noqa: B018
    server.stop()
    server = None
    # the info level includes uvicorn's access log
    from .server import start_server as start

    server = start(str(klass.db), tmp_path, "--log-level", "info")
    try:
        sid, token = "20260001", klass.tokens["20260001"]
        with server.client() as c:
            _post(c, klass.quiz, sid, token, {"1": "424242"})
            c.get(f"/api/v1/quizzes/{klass.quiz}", headers=bearer(sid, token))
    finally:
        server.stop()
    log = server.log.read_text()
    assert "/api/v1/quizzes" in log and token not in log and "424242" not in log


def test_serve_refuses_plain_http_on_the_network_and_outdated_databases(tmp_path):
    from click.testing import CliRunner

    from quizgen.cli.main import cli

    klass = make_class(tmp_path)
    out = CliRunner().invoke(cli, ["--db", str(klass.db), "serve", "--host", "0.0.0.0", "--port", "0"])
    assert out.exit_code == 2 and "clear text" in out.stderr and "--insecure-http" in out.stderr
    missing = CliRunner().invoke(cli, ["--db", str(tmp_path / "none.db"), "serve", "--port", "0"])
    assert missing.exit_code == 1 and "no quizgen database" in missing.stderr
    from quizgen.store.db import downgrade_store, open_store

    store = open_store(str(klass.db))
    downgrade_store(store, "0004")
    store.dispose()
    old = CliRunner().invoke(cli, ["--db", str(klass.db), "serve", "--port", "0"])
    assert old.exit_code == 1 and "quizgen db upgrade" in old.stderr


def test_a_student_id_in_hangul_logs_in_over_http(tmp_path):
    from click.testing import CliRunner

    from quizgen.cli.main import cli

    klass = make_class(tmp_path)
    added = CliRunner().invoke(cli, ["--db", str(klass.db), "roster", "add", "--id", "학번가01", "--name", "한글 학번",
                                     "--json"])
    token = json.loads(added.stdout)[0]["token"]
    assert klass.run("quiz", "add-students", str(klass.quiz), "--student", "학번가01", "--no-verify").exit_code == 0
    server = start_server(str(klass.db), tmp_path)
    try:
        with server.client() as c:
            auth = {"Authorization": f"Bearer 학번가01:{token}".encode()}
            view = c.get(f"/api/v1/quizzes/{klass.quiz}", headers=auth)
            sent = c.post(f"/api/v1/quizzes/{klass.quiz}/submissions", json={"answers": {"1": "5"}},
                          headers={**auth, "Idempotency-Key": "k"})
    finally:
        server.stop()
    assert view.status_code == 200 and view.json()["student"] == "학번가01"
    assert sent.status_code == 201 and sent.json()["receipt"]["student"] == "학번가01"
