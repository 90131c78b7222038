"""The student's client against servers that misbehave, on real sockets on 127.0.0.1: one
that trickles its answer a byte at a time (the deadline covers the whole answer), one
whose proxy answers a 500 page after the server stored the submission (the outcome is
unknown: the submission stays for sync, which says why), and one whose titles, prompts,
labels and messages carry terminal escape sequences (printed harmless)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from typing import Any

import pytest
from click.testing import CliRunner

from quizgen.classroom.answersheets import BlankPolicy
from quizgen.cli.main import cli
from quizgen.client import outbox
from quizgen.client.api import Api, ServerUnavailable
from quizgen.client.credentials import Credentials, parse_receipt_key, pin_key
from quizgen.client.delivery import Undelivered, submit
from quizgen.client.retry import RetryPolicy
from quizgen.servers import parse_server

from .clientside import Proxy, Trickle, http_answer, new_key, public_json, quiz_answer, wait_for
from .helpers import make_class, right_answers
from .server import start_server

TOKEN = "tok-abcdefghijklmnop"
SID = "20260001"


def _finishes(call: Any, hang: float = 120.0) -> Any:
    """``call()``'s result or exception; a call still running after ``hang`` seconds is a
    hang (the bound only catches one: it asserts no duration)."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            out["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(hang)
    assert not worker.is_alive(), "the client is still waiting: it hangs"
    return out


# --- one deadline for the whole answer ---------------------------------------------------

def test_a_trickling_server_cannot_hold_submit_past_its_deadline(home, scripted):
    """The issue's server: 200 with Content-Length: 100000, then a byte every 0.5 s (the
    whole answer would take 14 hours). ``quizgen submit --server … --tries 2`` gives up
    within its budget: each request ends at its deadline, says so, and the submission is
    kept for sync. (No duration is asserted: the subprocess timeout only catches a hang.)"""
    slow = Trickle()
    server = scripted(lambda request: slow)
    done = subprocess.run([sys.executable, "-m", "quizgen", "submit", "3", "--server", server.url, "--student", SID,
                           "--answer", "1=5", "--tries", "2"], env=home.env(QUIZGEN_TOKEN=TOKEN),
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 75, done.stderr
    note, error = done.stderr.strip().splitlines()
    # the first request had the whole 20 s; the second what was left of the 30 s
    assert note.startswith(f"{server.url} did not answer within 20 s (connecting, sending and reading its whole "
                           "answer); trying again in ")
    assert re.fullmatch(rf"Error: {re.escape(server.url)} did not answer within [0-9.]+ s \(connecting, sending "
                        r"and reading its whole answer\) \(tried 2 time\(s\)\); saved in the outbox, not yet checked "
                        r"for blank answers; run 'quizgen sync', which checks them against the quiz before sending",
                        error), error
    assert server.paths() == ["/api/v1/quizzes/3", "/api/v1/quizzes/3"]
    wait_for(lambda: slow.hung_up == 2)  # the client shut both answers, 14 hours early
    (entry,) = home.entries()
    assert entry["answers"] == {"1": "5"} and entry["last_try"]["why"]["values"]["why"]["key"] == "client_timeout"


def test_the_deadline_covers_the_submissions_answer_too(home, scripted):
    """The quiz is fetched; the submission's answer trickles. Every try ends at its
    deadline, all under one Idempotency-Key, and the entry stays in the outbox saying why."""
    slow = Trickle(every=0.05)
    server = scripted(lambda r: http_answer(200, quiz_answer(slots=1, parts=False, language="en"))
                      if r["method"] == "GET" else slow)
    where = parse_server(server.url)
    pin_key(where, parse_receipt_key(public_json(new_key(), "k1")))  # so every POST is the submission itself
    policy = RetryPolicy(tries=3, base=0.05, cap=0.1, budget=6.0, request_timeout=1.5)
    got = _finishes(lambda: submit(Credentials(where, SID, TOKEN), 3, {"1": "529,441"}, policy, BlankPolicy(False)))
    assert isinstance(got.get("error"), Undelivered), got
    assert "did not answer within 1.5 s (connecting, sending and reading its whole answer)" in str(got["error"])
    posts = [r for r in server.requests if r["method"] == "POST"]
    assert 1 <= len(posts) <= 3 and len({r["headers"]["idempotency-key"] for r in posts}) == 1
    (entry,) = outbox.pending()
    assert entry.idempotency_key == posts[0]["headers"]["idempotency-key"] and entry.checked
    why = entry.why()
    assert why is not None and not isinstance(why, str) and dict(why.values)["why"].key == "client_timeout"


def test_the_deadline_covers_an_answer_whose_head_itself_trickles(scripted):
    """A server that sends its status line and then its headers a byte at a time never
    lets a read time out, and no body loop runs yet: the deadline's own timer ends it."""
    def write(conn: Any, closed: threading.Event) -> None:
        try:
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            while not closed.wait(0.05):
                conn.sendall(b"X")
        except OSError:
            pass

    server = scripted(lambda request: write)
    policy = RetryPolicy(tries=1, budget=3.0, request_timeout=1.0)
    api = Api(parse_server(server.url), None, policy)
    got = _finishes(api.receipt_key)
    api.close()
    assert isinstance(got.get("error"), ServerUnavailable), got
    assert str(got["error"]) == f"{server.url} did not answer within 1 s (connecting, sending and reading its " \
                                "whole answer)"


# --- an unknown outcome is never forgotten -------------------------------------------------

@pytest.fixture
def english_class(tmp_path):
    klass = make_class(tmp_path, "--lang", "en", "--deadline", "2099-01-01 00:00", "--attempts", "3")
    server = start_server(str(klass.db), tmp_path)
    yield klass, server
    server.stop()


def _attempts(klass) -> int:  # type: ignore[no-untyped-def]
    return klass.count("attempts")


def test_a_proxys_500_page_keeps_the_submission_and_sync_says_why(english_class, home):
    """The server stores the attempt; the proxy in front of it answers a 500 HTML page.
    Whether it was stored cannot be known from that: the entry stays (exit 75), sync says
    it is pending and why while the proxy keeps failing, and once it passes the server's
    original answer comes back: one attempt, not two."""
    klass, server = english_class
    port = int(server.url.rsplit(":", 1)[1])
    failing = {"on": True}
    proxy = Proxy(port, lambda n, r: "page500" if r["method"] == "POST" and failing["on"] else "pass")
    token = klass.tokens[SID]
    answers = right_answers(klass.key(SID))
    args = [a for k, v in answers.items() for a in ("--answer", f"{k}={v}")]
    try:
        first = CliRunner().invoke(cli, ["submit", str(klass.quiz), "--server", proxy.url, "--student", SID, *args],
                                   env={"QUIZGEN_TOKEN": token})
        assert first.exit_code == 75, first.output
        assert first.stderr.strip() == (
            "Error: the server answered 500 Internal Server Error with an HTML page (a proxy or web server in front "
            "of quizgen?); whether the server stored the submission is unknown (tried 1 time(s)); saved in the "
            "outbox; run 'quizgen sync'")
        assert _attempts(klass) == 1  # it was stored
        (entry,) = home.entries()
        assert entry["last_try"]["why"]["values"]["why"]["key"] == "client_unknown_outcome"

        pending = CliRunner().invoke(cli, ["sync"], env={"QUIZGEN_TOKEN": token})
        assert pending.exit_code == 75
        said, total = pending.stderr.strip().splitlines()
        assert said.startswith(f"Still waiting: quiz {klass.quiz} for {SID} (submitted ")
        assert said.endswith(f"on {proxy.url}: the server answered 500 Internal Server Error with an HTML page (a "
                             "proxy or web server in front of quizgen?); whether the server stored the submission "
                             "is unknown (tried 1 time(s))")
        assert total == "Delivered 0, refused 0, still waiting 1."
        assert _attempts(klass) == 1 and len(home.entries()) == 1

        failing["on"] = False
        delivered = CliRunner().invoke(cli, ["sync"], env={"QUIZGEN_TOKEN": token})
        assert delivered.exit_code == 0, delivered.output
        assert delivered.stdout.startswith(f"Recorded attempt 1 on quiz {klass.quiz}")
        assert ("the server had it already (its original receipt, with the grades as first given; if it was "
                f"regraded since, quizgen status {klass.quiz} shows the current grade)") in delivered.stdout
    finally:
        proxy.close()
    assert _attempts(klass) == 1 and home.entries() == []
    keys = {r["headers"]["idempotency-key"] for _, r, _ in proxy.seen if r["method"] == "POST"}
    assert keys == {entry["idempotency_key"]}


def test_quizgens_own_refusal_ends_the_entry(english_class, home):
    """quizgen's JSON refusal (here: spent attempts) is final: nothing is kept to resend."""
    klass, server = english_class
    env = {"QUIZGEN_TOKEN": klass.tokens[SID]}
    for _ in range(3):
        assert CliRunner().invoke(cli, ["submit", str(klass.quiz), "--server", server.url, "--student", SID,
                                        "--answer", "1=5", "--allow-blank"], env=env).exit_code == 0
    refused = CliRunner().invoke(cli, ["submit", str(klass.quiz), "--server", server.url, "--student", SID,
                                       "--answer", "1=5", "--allow-blank"], env=env)
    assert refused.exit_code == 1 and refused.stderr.strip() == f"Error: all 3 attempt(s) on quiz {klass.quiz} are used"
    assert home.entries() == [] and _attempts(klass) == 3


# --- what a hostile server says reaches the terminal harmless ------------------------------

PWN = "\x1b]0;pwn\x07"  # sets the terminal's title
CLEAR = "\x1b[2J"  # clears the screen
CSI = "\x9b31m"  # the one-character CSI of C1
RAW = ("\x1b", "\x07", "\x9b", "\u202e")


def _hostile(request: dict[str, Any]) -> bytes:
    path = request["path"]
    if path.endswith("/submissions") and request["method"] == "GET":
        return http_answer(200, {
            "quiz": 3, "student": SID + PWN, "feedback": "full", "attempt_limit": 3, "graded": True,
            "score": 0, "max_score": 2,
            "attempts": [{"attempt": 1, "submitted_at": "2026-11-29T12:00:01+00:00", "answers": 2}],
            "questions": [{"slot": 1, "points": 1, "score": 0, "correct": False, "misconception": "x" + CLEAR,
                           "feedback": "틀렸습니다 " + PWN, "parts": None},
                          {"slot": 2, "points": 1, "score": 0, "correct": False, "misconception": None,
                           "feedback": None, "parts": {"L1": {
                               "number": "2.1", "label": "층 1" + CSI, "answered": True, "correct": False,
                               "misconception": None, "feedback": "\u202e거꾸로"}}}]})
    if path.endswith("/quizzes/3"):
        return http_answer(200, quiz_answer(title="점검 퀴즈" + PWN, prompt="첫 줄\n둘째 줄 " + CLEAR + "\r\n셋째 줄",
                                            label="층 1" + CSI, time_zone="Asia/Seoul" + PWN))
    return http_answer(409, {"error": {"code": "quiz_closed", "message": "마감되었습니다" + PWN}})


def _no_raw_escapes(text: str) -> None:
    assert not any(c in text for c in RAW), repr(text)


def test_titles_prompts_labels_and_messages_cannot_steer_the_terminal(home, scripted):
    server = scripted(_hostile)
    env = {"QUIZGEN_TOKEN": TOKEN}
    base = ["--server", server.url, "--student", SID]
    shown = CliRunner().invoke(cli, ["show", "3", *base], env=env)
    assert shown.exit_code == 0, shown.output
    _no_raw_escapes(shown.output)
    lines = shown.stdout.splitlines()
    assert lines[0] == "# 점검 퀴즈\\x1b]0;pwn\\x07  (퀴즈 3, 학번 20260001)"  # shown, not obeyed
    assert "첫 줄\n둘째 줄 \\x1b[2J\n셋째 줄" in shown.stdout  # a prompt keeps its lines and its Korean
    assert lines[1].startswith("마감: 2099-01-01 00:00 +00:00")  # a zone that is not one is not used (nor shown)

    status = CliRunner().invoke(cli, ["status", "3", *base], env=env)
    assert status.exit_code == 0, status.output
    _no_raw_escapes(status.output)
    assert "20260001\\x1b]0;pwn\\x07" in status.stdout and "틀렸습니다 \\x1b]0;pwn\\x07" in status.stdout
    assert "층 1\\x9b31m" in status.stdout and "\\u202e거꾸로" in status.stdout

    refused = CliRunner().invoke(cli, ["submit", "3", *base, "--answer", "1=5", "--allow-blank"], env=env)
    assert refused.exit_code == 1
    _no_raw_escapes(refused.output)
    assert refused.stderr.strip() == "오류: 마감되었습니다\\x1b]0;pwn\\x07"

    raw = CliRunner().invoke(cli, ["show", "3", *base, "--json"], env=env)
    _no_raw_escapes(raw.stdout)  # JSON escapes C0 itself; C1 and bidi controls are escaped too
    assert json.loads(raw.stdout)["questions"][-1]["response"]["parts"][0]["label"]["ko"] == "층 1" + CSI
