"""Input before the database (issue 20.4), on SQLite and PostgreSQL against a real
`quizgen serve`: every field of the API and the students' page that holds NUL or an
unpaired surrogate (a value PostgreSQL cannot store, or no backend can encode) is a
4xx with one sentence, the same on both backends, and nothing is written; answers are
JSON strings, never numbers; a body in a charset other than UTF-8 is refused with 415."""

from __future__ import annotations

import socket
import uuid
from urllib.parse import urlencode, urlsplit

import pytest

from .helpers import make_class
from .server import bearer, start_server

FORM = {"content-type": "application/x-www-form-urlencoded"}
JSON = {"content-type": "application/json"}


@pytest.fixture()
def served(db_url, tmp_path):
    klass = make_class(tmp_path, "--attempts", "3", db=db_url)
    server = start_server(str(klass.db), tmp_path)
    yield klass, server
    server.stop()


def _nothing_written(klass) -> None:  # type: ignore[no-untyped-def]
    assert klass.count("attempts") == 0 and klass.count("submissions") == 0


def _raw(server, head: bytes, body: bytes = b"") -> bytes:  # type: ignore[no-untyped-def]
    """One request written byte for byte (httpx refuses to send NUL in a header)."""
    port = urlsplit(server.url).port
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(head + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data


def test_unstorable_text_in_every_api_field_is_a_4xx_sentence(served):
    klass, server = served
    sid, token, quiz = "20260001", klass.tokens["20260001"], klass.quiz
    url = f"/api/v1/quizzes/{quiz}/submissions"
    auth = bearer(sid, token)
    with server.client() as c:
        def post(body: bytes, headers: dict | None = None, path: str = url):  # type: ignore[no-untyped-def]
            return c.post(path, content=body, headers={**auth, **JSON, "Idempotency-Key": str(uuid.uuid4()),
                                                        **(headers or {})})

        cases = [  # (what, response, status, code)
            ("an answer with NUL", post(b'{"answers": {"1": "5\\u0000"}}'), 422, "invalid_answers"),
            ("an answer with a lone surrogate", post(b'{"answers": {"1": "\\ud800"}}'), 422, "invalid_answers"),
            ("a part's answer with NUL", post(b'{"answers": {"3.1": "(None,\\u0000 5)"}}'), 422, "invalid_answers"),
            ("a question number with NUL", post(b'{"answers": {"1\\u0000": "5"}}'), 422, "invalid_answers"),
            ("a question number that is a surrogate", post(b'{"answers": {"\\udc80": "5"}}'), 422,
             "invalid_answers"),
            ("a quiz number with NUL", post(b'{"answers": {"1": "5"}}', path=f"/api/v1/quizzes/{quiz}%00/submissions"),
             404, "not_found"),
            ("an idempotency key that is not printable ASCII", post(b'{"answers": {"1": "5"}}',
                                                                    {"Idempotency-Key": "k\u00e9y".encode()}), 400,
             "bad_request"),
        ]
        for what, r, status, code in cases:
            assert (r.status_code, r.json()["error"]["code"]) == (status, code), (what, r.text)
            message = r.json()["error"]["message"]
            assert "\n" not in message and "\x00" not in message and len(message) < 400, what
        assert "저장할 수 없는 문자" in cases[0][1].json()["error"]["message"]  # in the quiz's language
        for path in (f"/api/v1/quizzes/{quiz}", f"/api/v1/quizzes/{quiz}/submissions"):
            assert c.get(path, headers=auth).status_code == 200  # the same student, unharmed
    # headers used as data (the student id and token in Authorization, the idempotency key):
    # NUL cannot travel in an HTTP header; the server's HTTP parser refuses the request
    body = b'{"answers": {"1": "5"}}'
    for auth_value in (b"Bearer 2026\x000001:" + token.encode(), b"Bearer 20260001:" + token.encode() + b"\x00"):
        reply = _raw(server, f"POST {url} HTTP/1.1\r\nHost: q\r\nContent-Type: application/json\r\n"
                     "Idempotency-Key: k1\r\n".encode() + b"Authorization: " + auth_value + b"\r\n", body)
        assert reply.startswith(b"HTTP/1.1 400 "), reply[:200]
    reply = _raw(server, f"POST {url} HTTP/1.1\r\nHost: q\r\nContent-Type: application/json\r\n"
                 f"Authorization: Bearer {sid}:{token}\r\n".encode() + b"Idempotency-Key: k\x001\r\n", body)
    assert reply.startswith(b"HTTP/1.1 400 "), reply[:200]
    _nothing_written(klass)


def test_unstorable_text_in_every_page_field_is_a_4xx_sentence(served):
    klass, server = served
    sid, token, quiz = "20260001", klass.tokens["20260001"], str(klass.quiz)
    login = {"student": sid, "token": token, "quiz": quiz, "lang": "en"}
    with server.client() as c:  # the blanks the review page would have shown, so the library is reached
        view = c.get(f"/api/v1/quizzes/{quiz}", headers=bearer(sid, token)).json()
    keys = [f"{q['slot']}.{n}" if q["response"]["type"] == "parts" else str(q["slot"])
            for q in view["questions"] for n in range(1, len(q["response"].get("parts") or [1]) + 1)]
    submit = {**login, "idempotency_key": "k-1", "a:1": "5", "blank": ",".join(sorted(set(keys) - {"1"}))}
    expected = {  # field → (status on /quiz, status on /submit): the same on both backends
        "student": (400, 400), "token": (401, 401), "quiz": (404, 404), "lang": (200, 200),
        "idempotency_key": (None, 400), "a:1": (None, 422), "a:3.1": (None, 422), "a:9\x00": (None, 422)}
    with server.client() as c:
        for field, (on_quiz, on_submit) in expected.items():
            for route, form, status in (("/quiz", login, on_quiz), ("/submit", submit, on_submit)):
                if status is None:
                    continue
                sent = dict(form)
                sent[field] = sent.get(field, "5") + "\x00"
                r = c.post(route, content=urlencode(sent), headers=FORM)
                assert r.status_code == status, (route, field, r.status_code, r.text[:500])
                assert "text/html" in r.headers["content-type"] and "\x00" not in r.text, (route, field)
        r = c.post("/quiz", content=urlencode({**login, "student": "2026\x000001"}), headers=FORM)
        assert "The student id holds a character that cannot be stored" in r.text
        assert 'id="student" name="student" ' in r.text and 'value="2026' not in r.text  # typed again
    # only the form whose NUL was in ``lang`` (not data: a language it does not know is
    # ignored) was taken; every other one wrote nothing
    assert klass.count("attempts") == 1 and klass.count("submissions") == 1
    failures = klass.count("login_failures")
    assert failures == 6  # the two wrong tokens (each under address+id, id and address), never the id with NUL


def test_answers_are_json_strings_and_bodies_utf8(served):
    klass, server = served
    sid, token, quiz = "20260001", klass.tokens["20260001"], klass.quiz
    url = f"/api/v1/quizzes/{quiz}/submissions"
    with server.client() as c:
        def post(body: bytes, content_type: str = "application/json"):  # type: ignore[no-untyped-def]
            return c.post(url, content=body, headers={**bearer(sid, token), "content-type": content_type,
                                                      "Idempotency-Key": str(uuid.uuid4())})

        for value in (b"673155", b"-0", b"1e3", b"673155.0", b"true", b"null", b"[1]", b'{"a": "1"}'):
            r = post(b'{"answers": {"1": ' + value + b"}}")
            assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_answers", (value, r.text)
            assert 'must be a JSON string such as "529,441"' in r.json()["error"]["message"]
        for charset in ("utf-16", "latin-1", "EUC-KR", '"cp949"'):
            r = post(b'{"answers": {"1": "5"}}', f"application/json; charset={charset}")
            assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type", charset
            assert "must be UTF-8" in r.json()["error"]["message"]
        r = c.post("/quiz", content=urlencode({"student": sid, "token": token, "quiz": quiz}),
                   headers={"content-type": "application/x-www-form-urlencoded; charset=utf-16"})
        assert r.status_code == 415 and "text/html" in r.headers["content-type"]
        _nothing_written(klass)
        for charset in ("utf-8", "UTF-8", '"utf-8"'):  # UTF-8, named or not, is taken
            r = post(b'{"answers": {"1": "5"}}', f"application/json; charset={charset}")
            assert r.status_code == 201, r.text
    assert klass.count("attempts") == 3
