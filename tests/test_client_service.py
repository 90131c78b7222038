"""The student's client against a real ``quizgen serve`` on 127.0.0.1: login, show, submit
(graded on arrival, receipt verified), status, sync; and the faults a student's network
and the server really have: a connection cut after the server committed, a client killed
before its answer came, a server killed in the middle of a class's submissions."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from quizgen.cli.main import cli

from .clientside import Home, Proxy, wait_for
from .helpers import make_class, right_answers
from .server import start_server

SID = "20260001"


@pytest.fixture
def served(db_url, tmp_path):
    klass = make_class(tmp_path, "--attempts", "3", "--deadline", "2099-01-01 00:00", db=db_url)
    # the key of a PostgreSQL-backed server would otherwise go to the current folder
    server = start_server(str(klass.db), tmp_path, "--key-file", str(tmp_path / "receipt.key"))
    yield klass, server
    server.stop()


@pytest.fixture
def served_sqlite(tmp_path):
    klass = make_class(tmp_path, "--deadline", "2099-01-01 00:00")
    server = start_server(str(klass.db), tmp_path)
    yield klass, server
    server.stop()


def _run(*args: str, token: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), env={"QUIZGEN_TOKEN": token} if token else None)


def _attempts(klass, student: str = SID) -> list[tuple]:  # type: ignore[no-untyped-def]
    """(attempt, idempotency key, received_at) of a student's stored attempts, read from the database."""
    sql = ("SELECT a.attempt, a.idempotency_key, a.received_at FROM attempts a JOIN students s "
           "ON s.id = a.student_id WHERE a.quiz_id = {q} AND s.external_id = '{s}' ORDER BY a.attempt")
    if "://" in str(klass.db):
        from sqlalchemy import create_engine, text

        from quizgen.store.db import resolve_url

        engine = create_engine(resolve_url(str(klass.db)))
        try:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(text(sql.format(q=klass.quiz, s=student)))]
        finally:
            engine.dispose()
    con = sqlite3.connect(klass.db)
    try:
        return con.execute(sql.format(q=klass.quiz, s=student)).fetchall()
    finally:
        con.close()


def test_a_student_works_through_a_quiz_over_http(served, home):
    klass, server = served
    token, quiz = klass.tokens[SID], str(klass.quiz)
    login = _run("login", "--server", server.url + "/", "--student", SID, "--quiz", quiz, token=token)
    assert login.exit_code == 0, login.output
    # the quiz it was checked on is Korean: login speaks it
    assert f"(퀴즈 {quiz}로 확인함)" in login.stderr and "를 고정했습니다." in login.stderr
    creds = home.config / "quizgen" / "credentials.json"
    assert stat.S_IMODE(os.stat(creds).st_mode) == 0o600
    with server.client() as c:
        key = c.get("/api/v1/receipt-key").json()
    pinned = json.loads((home.config / "quizgen" / "receipt-keys.json").read_text())
    assert pinned["servers"][server.url]["keys"][key["key_id"]]["public_key"] == key["public_key"]

    # from here on the saved login is the student's only credential
    shown = _run("show", quiz, "--server", server.url)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.startswith(f"# 점검 퀴즈  (퀴즈 {quiz}, 학번 {SID})\n마감: 2099-01-01 ")
    assert "\n제출 기회: 3회 중 3회 남음\n" in shown.stdout and "\n## 문제 1 (1점)\n" in shown.stdout
    data = json.loads(_run("show", quiz, "--server", server.url, "--json").stdout)
    assert data["quiz"]["attempts_left"] == 3 and len(data["questions"]) == 6

    answers = right_answers(klass.key(SID))
    wrong = dict(answers, **{"1": str(int(answers["1"].replace(",", "")) + 1)})
    args = [a for k, v in wrong.items() for a in ("--answer", f"{k}={v}")]
    first = _run("submit", quiz, "--server", server.url, *args)
    assert first.exit_code == 0, first.output
    lines = first.stdout.splitlines()
    # the quiz is Korean: the client speaks its language, as the local commands do
    assert lines[0].startswith(f"퀴즈 {quiz}에 첫 번째 시도를 기록했습니다: 답 {len(data['questions'])}개, ")
    assert lines[0].endswith("; 영수증 확인됨.")
    points = {q["slot"]: q["points"] for q in data["questions"]}
    assert lines[1] == f"점수: {sum(points.values()) - points[1]:g} / {sum(points.values())}"
    assert lines[2].startswith("  1. ✗ 0/1")
    assert list(home.outbox.glob("*.json")) == []
    (kept,) = home.receipts.glob("*.json")
    receipt = json.loads(kept.read_text())["receipt"]
    assert (receipt["quiz"], receipt["student"], receipt["attempt"]) == (klass.quiz, SID, 1)
    assert _attempts(klass)[0][1] == kept.stem  # stored under the idempotency key the outbox gave it

    second = _run("submit", quiz, "--server", server.url, "--json",
                  *[a for k, v in answers.items() for a in ("--answer", f"{k}={v}")])
    assert second.exit_code == 0, second.output
    body = json.loads(second.stdout)
    assert body["attempt"] == 2 and body["score"] == body["max_score"] and body["replayed"] is False

    status = _run("status", quiz, "--server", server.url)
    assert status.exit_code == 0, status.output
    out = status.stdout.splitlines()
    assert out[0] == f"점검 퀴즈 (퀴즈 {quiz}) — {SID}: 시도 2회 / 최대 3회"
    assert all(line.endswith("; 영수증 확인됨") for line in out[1:3])
    assert out[3] == f"점수: {sum(points.values()):g} / {sum(points.values())}"
    listed = json.loads(_run("receipts", "--server", server.url, "--json").stdout)
    assert [r["attempt"] for r in listed] == [1, 2]
    assert _run("receipts", "--verify").exit_code == 0

    blank = _run("submit", quiz, "--server", server.url, "--answer", "1=5")
    assert blank.exit_code == 1 and blank.stderr.startswith("오류: 답하지 않은 문제가 있습니다: 2, 3, 4, 5, 6.")
    third = _run("submit", quiz, "--server", server.url, "--answer", "1=5", "--allow-blank")
    assert third.exit_code == 0
    refused = _run("submit", quiz, "--server", server.url, "--answer", "1=5", "--allow-blank")
    assert refused.exit_code == 1
    assert refused.stderr.strip() == f"오류: 퀴즈 {quiz}의 제출 기회 3번을 모두 사용했습니다"
    assert list(home.outbox.glob("*.json")) == []  # a final refusal leaves nothing to send
    malformed = _run("submit", quiz, "--server", server.url, "--answer", "1=529.441", "--allow-blank")
    assert (
        malformed.exit_code == 1 and "(아무것도 제출되지 않았습니다)" in malformed.stderr
    )  # the server says it in Korean
    assert [a[0] for a in _attempts(klass)] == [1, 2, 3]
    for result in (login, shown, first, second, status, third, refused):
        assert klass.tokens[SID] not in result.output
    assert klass.run("audit", quiz).exit_code == 0


def test_wrong_credentials_and_unknown_quizzes_are_one_line(served, home):
    klass, server = served
    quiz = str(klass.quiz)
    login = _run("login", "--server", server.url, "--student", SID, "--quiz", quiz, token="wrong-token")
    assert login.exit_code == 1 and login.stderr.startswith("Error: ")
    assert not (home.config / "quizgen" / "credentials.json").exists()  # nothing saved when the check fails
    other = _run("submit", quiz, "--server", server.url, "--student", "20260002", "--answer", "1=5",
                 token=klass.tokens[SID])  # someone else's token
    assert other.exit_code == 1 and len(other.stderr.strip().splitlines()) == 1
    assert list(home.outbox.glob("*.json")) == []  # submit: a refusal is final
    missing = _run("show", "999", "--server", server.url, "--student", SID, token=klass.tokens[SID])
    assert missing.exit_code == 1 and missing.stderr.startswith("Error: ") and "999" in missing.stderr
    assert _attempts(klass, "20260002") == []


def test_an_undelivered_submission_is_sent_by_sync_once_the_server_is_back(served_sqlite, home, tmp_path):
    klass, server = served_sqlite
    token, quiz, url = klass.tokens[SID], str(klass.quiz), server.url
    logged = _run("login", "--server", url, "--student", SID, "--json", token=token)
    assert logged.exit_code == 0 and logged.stderr == "", logged.output
    said = json.loads(logged.stdout)
    assert said["student_id"] == SID and said["checked_quiz"] is None and not said["key_changed"]
    assert said["receipt_key_id"] and token not in logged.stdout
    server.stop()
    down = _run("submit", quiz, "--server", url, "--answer", "1=529,441", "--tries", "2")
    assert down.exit_code == 75 and "saved in the outbox, not yet checked for blank answers" in down.stderr
    (entry,) = home.entries()
    assert entry["checked"] is False
    port = url.rsplit(":", 1)[1]
    again = start_server(str(klass.db), tmp_path, "--port", port)
    try:
        # the quiz can be fetched now: questions 2-6 are blank, and no one was asked
        held = _run("sync", "--json")
        assert held.exit_code == 1, held.output
        (row,) = json.loads(held.stdout)
        assert row["status"] == "held" and "답하지 않은 문제가 있어 보내지 않았습니다: 2, 3, 4, 5, 6." in row["error"]
        assert "'quizgen sync --allow-blank'를 실행하세요" in held.stderr  # a Korean quiz: said in Korean
        assert held.stderr.strip().splitlines()[-1] == "보냄 0, 거절 1, 남음 0."
        assert home.entries()[0]["idempotency_key"] == entry["idempotency_key"] and _attempts(klass) == []
        synced = _run("sync", "--json", "--allow-blank")
        assert synced.exit_code == 0, synced.output
        (row,) = json.loads(synced.stdout)
        assert row["status"] == "delivered" and row["response"]["attempt"] == 1
        assert home.entries() == []
        assert [(a[0], a[1]) for a in _attempts(klass)] == [(1, entry["idempotency_key"])]
        assert _run("sync").exit_code == 0  # nothing left: nothing sent twice
        assert len(_attempts(klass)) == 1
    finally:
        again.stop()


def test_a_connection_cut_after_the_commit_gets_the_original_receipt_and_one_attempt(served_sqlite, home):
    """The server stores the attempt and answers; the answer never reaches the student (the
    connection is cut in between). The client sends again under the same key and gets the
    server's original answer: one attempt, the receipt the server first signed."""
    klass, server = served_sqlite
    port = int(server.url.rsplit(":", 1)[1])
    cuts: list[int] = []

    def first_post_cut(n: int, r: dict) -> str:
        if r["method"] == "POST" and not cuts:
            cuts.append(n)
            return "cut"
        return "pass"

    cut_once = Proxy(port, first_post_cut)
    try:
        result = _run("submit", str(klass.quiz), "--server", cut_once.url, "--student", SID, "--answer",
                      "1=529,441", "--answer", "2=100", "--allow-blank", token=klass.tokens[SID])
    finally:
        cut_once.close()
    assert result.exit_code == 0, result.output
    assert "연결이 답을 받기 전에 끊겼습니다" in result.stderr and "초 뒤에 다시 보냅니다" in result.stderr
    assert "서버가 이미 받은 제출입니다 (처음 받은 영수증과 그때의 채점이며" in result.stdout  # a Korean quiz
    assert f"현재 점수는 'quizgen status {klass.quiz}' 명령으로 보세요" in result.stdout  # regraded since?
    posts = [(action, req, answer) for action, req, answer in cut_once.seen if req["method"] == "POST"]
    assert [p[0] for p in posts] == ["cut", "pass"]
    assert posts[0][1]["headers"]["idempotency-key"] == posts[1][1]["headers"]["idempotency-key"]
    first_answer = json.loads(posts[0][2].split(b"\r\n\r\n", 1)[1])  # what the server said, unheard
    (kept,) = home.receipts.glob("*.json")
    assert json.loads(kept.read_text())["receipt"] == first_answer["receipt"]
    assert len(_attempts(klass)) == 1


def test_kill_9_while_the_request_is_held_leaves_an_entry_that_sync_delivers_once(served_sqlite, home):
    klass, server = served_sqlite
    port = int(server.url.rsplit(":", 1)[1])
    holding = {"on": True}
    gate = Proxy(port, lambda n, r: "hold" if r["method"] == "POST" and holding["on"] else "pass")
    try:
        proc = subprocess.Popen([sys.executable, "-m", "quizgen", "submit", str(klass.quiz), "--server", gate.url,
                                 "--student", SID, "--answer", "1=529,441", "--allow-blank"],
                                env=home.env(QUIZGEN_TOKEN=klass.tokens[SID]), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        try:
            wait_for(lambda: any(r["method"] == "POST" for _, r, _ in gate.seen), timeout=60)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        held_key = next(r["headers"]["idempotency-key"] for _, r, _ in gate.seen if r["method"] == "POST")
        (entry,) = home.entries()
        assert entry["idempotency_key"] == held_key and _attempts(klass) == []
        holding["on"] = False
        synced = _run("sync", token=klass.tokens[SID])
        assert synced.exit_code == 0, synced.output
    finally:
        gate.close()
    assert [(a[0], a[1]) for a in _attempts(klass)] == [(1, held_key)]
    assert home.entries() == [] and len(list(home.receipts.glob("*.json"))) == 1


def test_the_server_killed_mid_load_loses_nothing_acknowledged(tmp_path):
    """A class submits from their own machines (one process and home each) while the server
    is killed with SIGKILL. Afterwards every receipt a student holds is in the database,
    every submission not acknowledged is still in its outbox, and after a restart sync
    completes them: each logical submission stored exactly once."""
    klass = make_class(tmp_path, "--deadline", "2099-01-01 00:00")
    server = start_server(str(klass.db), tmp_path)
    port = server.url.rsplit(":", 1)[1]
    students = sorted(klass.tokens)
    homes = [Home(tmp_path / f"machine-{n}") for n in range(24)]
    procs = []
    try:
        for n, h in enumerate(homes):
            h.root.mkdir()
            sid = students[n % len(students)]
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "quizgen", "submit", str(klass.quiz), "--server", server.url, "--student", sid,
                 "--answer", f"1={500000 + n}", "--tries", "3", "--allow-blank"],
                env=h.env(QUIZGEN_TOKEN=klass.tokens[sid]), stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        wait_for(lambda: sum(len(_attempts(klass, s)) for s in students) >= 4, timeout=120)
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait()
        codes = [p.wait(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        server.stop(expect_clean=False)
    assert set(codes) <= {0, 75}, [p.stderr.read() for p in procs]
    assert 75 in codes, "the server was killed after every client had finished; nothing was tested"
    stored = {a[1]: a for s in students for a in _attempts(klass, s)}
    for h, code in zip(homes, codes):
        receipts = [json.loads(p.read_text()) for p in h.receipts.glob("*.json")]
        entries = h.entries()
        assert len(receipts) + len(entries) == 1, (code, receipts, entries)
        if code == 0:
            (r,) = receipts
            assert r["idempotency_key"] in stored  # acknowledged: in the database
            assert stored[r["idempotency_key"]][0] == r["receipt"]["attempt"]
        else:
            assert entries and not receipts  # not acknowledged: still in its outbox
    again = start_server(str(klass.db), tmp_path, "--port", port)
    try:
        for n, (h, code) in enumerate(zip(homes, codes)):
            if code == 75:
                sid = students[n % len(students)]
                done = subprocess.run([sys.executable, "-m", "quizgen", "sync"], capture_output=True, text=True,
                                      env=h.env(QUIZGEN_TOKEN=klass.tokens[sid]), timeout=120)
                assert done.returncode == 0, done.stderr
                assert h.entries() == [] and len(list(h.receipts.glob("*.json"))) == 1
    finally:
        again.stop()
    keys = [a[1] for s in students for a in _attempts(klass, s)]
    assert len(keys) == len(homes) == len(set(keys))  # every submission once, none twice
    assert klass.run("audit", str(klass.quiz)).exit_code == 0


def test_retry_after_from_a_rate_limit_is_honoured(tmp_path, home):
    """A real 429: the server allows 1 graded submission per 10 minutes here; the client
    will not wait that long inside one command, so it says so and keeps the submission."""
    klass = make_class(tmp_path, "--deadline", "2099-01-01 00:00")
    server = start_server(str(klass.db), tmp_path, "--rate-limit", "1/600")
    try:
        token = klass.tokens[SID]
        assert _run("submit", str(klass.quiz), "--server", server.url, "--student", SID, "--answer", "1=5",
                    "--allow-blank", token=token).exit_code == 0
        start = time.monotonic()
        limited = _run("submit", str(klass.quiz), "--server", server.url, "--student", SID, "--answer", "1=6",
                       "--allow-blank", token=token)
        # the server asks for 600 s: a client that slept it out would take that long (a hang, not a timing)
        assert time.monotonic() - start < 300
    finally:
        server.stop()
    assert limited.exit_code == 75
    assert "서버가 600초 기다리라고 합니다" in limited.stderr and "발신함에 저장했습니다" in limited.stderr
    assert len(home.entries()) == 1 and len(_attempts(klass)) == 1


def test_a_receipt_that_does_not_verify_is_loud_and_kept_aside(served_sqlite, home):
    """The server is real but the key pinned for it is not its key (an impostor's key was
    pinned, or the server's key was swapped): every receipt must be refused."""
    from quizgen.client.credentials import parse_receipt_key, pin_key
    from quizgen.servers import parse_server

    from .clientside import new_key, public_json

    klass, server = served_sqlite
    pin_key(parse_server(server.url), parse_receipt_key(public_json(new_key(), "someone-else")))
    result = _run("submit", str(klass.quiz), "--server", server.url, "--student", SID, "--answer", "1=5",
                  "--allow-blank", token=klass.tokens[SID])
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"오류: 영수증 거부! 퀴즈 {klass.quiz}의 영수증을 믿을 수 없습니다")
    assert "고정한 키가 아닙니다" in line
    (aside,) = (home.receipts / "suspicious").glob("*.json")
    assert "고정한 키가 아닙니다" in json.loads(aside.read_text())["suspicious"]
    assert list(home.receipts.glob("*.json")) == [] and home.entries() == []
    assert _run("receipts", "--verify").exit_code == 1


REMOTE_PROBE = """
import json, sys
from click.testing import CliRunner
from quizgen.cli.main import cli
url, quiz, sid, token = sys.argv[1:5]
env = {"QUIZGEN_TOKEN": token}
codes = [CliRunner().invoke(cli, args, env=env).exit_code for args in (
    ["login", "--server", url, "--student", sid, "--quiz", quiz],
    ["show", quiz, "--server", url],
    ["submit", quiz, "--server", url, "--answer", "1=529,441", "--allow-blank"],
    ["status", quiz, "--server", url],
    ["sync"],
    ["receipts", "--verify"],
)]
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("sqlalchemy", "numpy", "tensorflow", "keras", "alembic"))
print(json.dumps([codes, heavy]))
"""


def test_remote_commands_against_a_real_server_import_no_store_numpy_or_tensorflow(served_sqlite, home):
    klass, server = served_sqlite
    done = subprocess.run([sys.executable, "-c", REMOTE_PROBE, server.url, str(klass.quiz), SID, klass.tokens[SID]],
                          capture_output=True, text=True, env=home.env(), check=True)
    codes, heavy = json.loads(done.stdout)
    assert codes == [0, 0, 0, 0, 0, 0] and heavy == []
