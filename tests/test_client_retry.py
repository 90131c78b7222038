"""When the client sends again: exponential backoff with full jitter inside its bounds,
Retry-After (seconds or an HTTP date) as a floor, only the retryable answers retried,
always under the submission's one Idempotency-Key, and the whole journey bounded."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime

import httpx
import pytest

from quizgen.client import outbox
from quizgen.client.api import Api, OutcomeUnknown, ServerRefused, ServerUnavailable
from quizgen.client.credentials import Credentials
from quizgen.client.delivery import Outcome, Undelivered, send
from quizgen.client.retry import RETRYABLE_STATUS, RetryPolicy, next_wait, parse_retry_after, retryable
from quizgen.resources import phrase
from quizgen.servers import parse_server

TOKEN = "tok-abcdefghijklmnop"


@pytest.mark.parametrize("failures, ceiling", [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0), (9, 10.0),
                                               (500, 10.0)])
def test_backoff_stays_within_its_capped_exponential_bound(failures, ceiling):
    policy = RetryPolicy(base=1.0, cap=10.0)
    rng = random.Random(failures)
    draws = [policy.backoff(failures, rng) for _ in range(2000)]
    assert policy.ceiling(failures) == ceiling
    assert all(0.0 <= d <= ceiling for d in draws)
    # full jitter: the draws spread over the whole interval, not bunched at the top
    assert min(draws) < 0.05 * ceiling and max(draws) > 0.95 * ceiling
    assert 0.4 * ceiling < sum(draws) / len(draws) < 0.6 * ceiling


def test_two_clients_that_failed_together_do_not_come_back_together():
    policy = RetryPolicy()
    a, b = random.Random(1), random.Random(2)
    assert [policy.backoff(n, a) for n in range(1, 5)] != [policy.backoff(n, b) for n in range(1, 5)]


NOW = datetime(2015, 10, 21, 7, 27, 30, tzinfo=UTC)


@pytest.mark.parametrize("header, seconds", [
    ("120", 120.0), (" 5 ", 5.0), ("0", 0.0),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 30.0),  # IMF-fixdate
    ("Wednesday, 21-Oct-15 07:28:00 GMT", 30.0),  # obsolete RFC 850 form
    ("Wed Oct 21 07:28:00 2015", 30.0),  # asctime form
    ("Wed, 21 Oct 2015 07:00:00 GMT", 0.0),  # in the past: now
    ("99999999", 86400.0),  # absurd: capped
    ("soon", None), ("-5", None), ("1.5", None), ("", None), (None, None),
])
def test_retry_after_reads_seconds_and_http_dates(header, seconds):
    assert parse_retry_after(header, NOW) == seconds


def test_retry_after_is_a_floor_under_the_jittered_wait():
    policy = RetryPolicy(base=1.0, cap=2.0)
    rng = random.Random(3)
    assert all(next_wait(policy, 1, 7.0, rng) == 7.0 for _ in range(100))
    assert all(next_wait(policy, 3, 0.5, rng) >= 0.5 for _ in range(100))


def test_only_transient_statuses_are_retried():
    assert {408, 429, 502, 503, 504} == RETRYABLE_STATUS
    assert not any(retryable(s) for s in (400, 401, 403, 404, 409, 413, 415, 422, 500, 501))


def _api() -> Api:
    server = parse_server("http://127.0.0.1:9")
    return Api(server, Credentials(server, "20260001", TOKEN), RetryPolicy())


def _error(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


@pytest.mark.parametrize("status", [408, 429, 502, 503, 504])
def test_transient_answers_are_unavailable_with_their_retry_after(status):
    response = httpx.Response(status, headers={"retry-after": "3", "content-type": "application/json"})
    with pytest.raises(ServerUnavailable) as caught:
        _api()._read(response, _error("database_busy", "the database is busy; try again in 3 s"))
    assert caught.value.retry_after == 3.0 and caught.value.exit_code == 75
    assert not isinstance(caught.value, OutcomeUnknown)
    # quizgen's own refusal, worded by the client in the student's language
    assert str(caught.value) == "the server is busy (http://127.0.0.1:9); try again shortly"
    caught.value.speak("ko")
    assert str(caught.value) == "서버가 바쁩니다 (http://127.0.0.1:9). 잠시 뒤 다시 시도하세요"


@pytest.mark.parametrize("status, code, said", [
    (403, "not_on_quiz", None), (409, "quiz_closed", None), (409, "attempts_exhausted", None),
    (422, "invalid_answers", None),  # worded by the server, which knows the quiz's language
    (400, "bad_request", "http://127.0.0.1:9 refused the request (400): the server's own sentence\\nfor bad_request"),
    (401, "unauthorized", "unknown student id or wrong token on http://127.0.0.1:9; check the token you were given"),
    (404, "not_found", "there is no quiz ? on http://127.0.0.1:9; check the quiz number"),
    (413, "payload_too_large", "http://127.0.0.1:9 refused the request (413): the server's own sentence\\n"
                               "for payload_too_large"),
    (500, "internal", "the server failed (http://127.0.0.1:9); try again later or tell your instructor"),
])
def test_every_other_answer_of_quizgens_is_final(status, code, said):
    with pytest.raises(ServerRefused) as caught:
        _api()._read(httpx.Response(status), _error(code, f"the server's own sentence\nfor {code}"))
    assert (caught.value.status, caught.value.code, caught.value.exit_code) == (status, code, 1)
    # one line, whatever it sent
    assert str(caught.value) == (said or f"the server's own sentence\\nfor {code}")


@pytest.mark.parametrize("status, body, content_type, expected, kind", [
    (502, b"<html><body>Bad Gateway</body></html>", "text/html", "502 Bad Gateway with an HTML page",
     ServerUnavailable),
    (500, b"<html><body>Internal Server Error</body></html>", "text/html",
     "500 Internal Server Error with an HTML page", OutcomeUnknown),
    (500, b'{"error": {"code": "x", "mess', "application/json", "500 Internal Server Error with an answer that is not",
     OutcomeUnknown),
    (501, b"", "text/plain", "501 Not Implemented with an empty answer", OutcomeUnknown),
    (404, b"", "text/plain", "404 Not Found with an empty answer", ServerRefused),
    (403, b'{"detail": "Forbidden"}', "application/json", "403 Forbidden with an answer that is not quizgen",
     ServerRefused),
])
def test_answers_that_are_not_quizgens_name_the_status(status, body, content_type, expected, kind):
    """A 5xx that is not quizgen's own refusal leaves the outcome unknown (a proxy's 500
    page: the submission may be stored); a 4xx that is not quizgen's is final."""
    with pytest.raises(kind, match=expected) as caught:
        _api()._read(httpx.Response(status, headers={"content-type": content_type}), body)
    assert type(caught.value) is kind


def test_redirects_are_reported_never_followed():
    response = httpx.Response(308, headers={"location": "https://elsewhere.example/api/v1/quizzes/3"})
    with pytest.raises(ServerRefused, match="redirect to https://elsewhere.example.*never follows"):
        _api()._read(response, b"")
    assert _api().client.follow_redirects is False


def test_a_2xx_that_is_not_json_may_have_been_stored_so_it_is_not_final():
    with pytest.raises(ServerUnavailable, match="not quizgen's JSON"):
        _api()._read(httpx.Response(201), b"<html>ok</html>")


class FakeTime:
    """The clock and sleep of one delivery: sleeping advances the clock, instantly."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def _pending_entry(url: str):
    return outbox.put(outbox.new_entry(parse_server(url).url, "20260001", 3, {"1": "529,441"}))


def test_every_try_carries_the_same_key_and_body_and_the_waits_stay_in_bounds(home, listener):
    from quizgen.client.credentials import parse_receipt_key, pin_key

    from .clientside import new_key, public_json

    dead = listener()  # reads each request, then drops the connection unanswered
    server = parse_server(dead.url)
    pin_key(server, parse_receipt_key(public_json(new_key(), "k1")))  # so every try is the POST itself
    entry = _pending_entry(dead.url)
    policy = RetryPolicy(tries=5, base=1.0, cap=3.0, budget=1000.0)
    t = FakeTime()
    with pytest.raises(Undelivered, match="broke before its answer arrived.*tried 5 time"):
        send(entry, Credentials(server, "20260001", TOKEN), policy, rng=random.Random(7), sleep=t.sleep,
             clock=t.clock)
    assert len(dead.requests) == 5
    keys = {r["headers"]["idempotency-key"] for r in dead.requests}
    assert keys == {entry.idempotency_key}
    assert len({r["body"] for r in dead.requests}) == 1
    assert json.loads(dead.requests[0]["body"]) == {"answers": {"1": "529,441"}}
    assert all(r["path"] == "/api/v1/quizzes/3/submissions" for r in dead.requests)
    assert len(t.waits) == 4 and all(0 <= w <= policy.ceiling(n) for n, w in enumerate(t.waits, start=1))
    assert entry.path.exists()  # still in the outbox, for sync


def test_the_time_budget_ends_the_tries_early(home, listener):
    dead = listener()
    entry = _pending_entry(dead.url)
    server = parse_server(dead.url)
    policy = RetryPolicy(tries=50, base=1.0, cap=1.0, budget=3.0)  # waits of at most 1 s, 3 s in all
    t = FakeTime()
    with pytest.raises(Undelivered):
        send(entry, Credentials(server, "20260001", TOKEN), policy, rng=random.Random(1), sleep=t.sleep,
             clock=t.clock)
    assert sum(t.waits) <= 3.0 and len(t.waits) < 49
    assert len(dead.requests) == len(t.waits) + 1


def test_nothing_listening_is_retried_too(home):
    import socket

    with socket.socket() as s:  # a port that was free a moment ago: connection refused
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    entry = _pending_entry(url)
    t = FakeTime()
    with pytest.raises(Undelivered, match="could not connect.*connection refused.*tried 3 time"):
        send(entry, Credentials(parse_server(url), "20260001", TOKEN), RetryPolicy(tries=3), sleep=t.sleep,
             clock=t.clock)
    assert len(t.waits) == 2


def test_sync_leaves_the_rest_for_later_once_a_server_is_unreachable(home, listener):
    """A server that cannot be reached costs one entry's tries, not every entry's: the
    others stay in the outbox, saying why they were not sent."""
    from quizgen.client.credentials import parse_receipt_key, pin_key
    from quizgen.client.delivery import sync

    from .clientside import new_key, public_json

    dead = listener()
    server = parse_server(dead.url)
    pin_key(server, parse_receipt_key(public_json(new_key(), "k1")))
    entries = [_pending_entry(dead.url) for _ in range(3)]
    t = FakeTime()
    outcomes = sync(entries, lambda e: Credentials(server, e.student, TOKEN), RetryPolicy(tries=4), sleep=t.sleep,
                    clock=t.clock)
    assert [o.state for o in outcomes] == ["pending", "pending", "pending"]
    assert len(dead.requests) == 4 and len(t.waits) == 3
    assert {r["headers"]["idempotency-key"] for r in dead.requests} == {entries[0].idempotency_key}
    assert "did not answer for an earlier submission" in str(outcomes[1].error)
    # the entry that was tried records why it is still pending; the others are untouched
    first, *rest = (json.loads(e.path.read_text()) for e in entries)
    assert first["last_try"]["why"]["values"]["why"]["key"] == "client_broken"
    assert all("last_try" not in r for r in rest)
    # sync says what is pending and why: this try's failure, or why it was not tried (and,
    # for one tried before, why that try failed)
    from quizgen.client.syncing import SyncReport

    again = sync(outbox.pending(), lambda e: Credentials(server, e.student, TOKEN), RetryPolicy(tries=1))
    notes = SyncReport(again).notes()
    assert len(notes) == 4 and notes[-1] == "Delivered 0, refused 0, still waiting 3."
    assert notes[0].endswith(f"on {dead.url}: the connection to {dead.url} broke before its answer arrived (the "
                             "server closed the connection without answering) (tried 1 time(s))")
    assert notes[1].endswith(f"on {dead.url}: not sent: {dead.url} did not answer for an earlier submission in "
                             "this sync")
    assert notes[1].startswith(f"Still waiting: quiz 3 for 20260001 (submitted {datetime.now(UTC):%Y-%m-%d}")
    skipped_before = outbox.tried(again[2].entry, Undelivered(phrase("client_undelivered", why=phrase(
        "client_timeout", server=dead.url, seconds="20"), tries=5, asked="")))
    notes = SyncReport([again[0], again[1], Outcome(skipped_before, error=again[2].error)]).notes()
    assert re.search(rf"this sync; {re.escape(dead.url)} did not answer within 20 s \(connecting, sending and "
                     r"reading its whole answer\) \(tried 5 time\(s\)\) \(last tried \d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? "
                     r"[+-]\d\d:\d\d[^)]*\)+$", notes[2]), notes[2]
