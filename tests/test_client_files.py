"""What the client leaves on the student's machine: a credentials file that is 0600 from
its first byte, outbox entries written durably before anything is sent (and surviving a
kill -9), and never the token outside the credentials file."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import uuid

import pytest
from click.testing import CliRunner

from quizgen.cli.main import cli
from quizgen.client import storage
from quizgen.client.credentials import Credentials, CredentialsError, resolve, save_login, saved_login
from quizgen.client.storage import StorageError
from quizgen.servers import parse_server

from .clientside import wait_for

TOKEN = "Zk3xQ9vLr2s8TtYwq0AbCd"  # shaped like secrets.token_urlsafe(16)
SERVER = "https://quiz.example.ac.kr"


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_credentials_are_0600_from_creation_even_under_a_permissive_umask(home, monkeypatch):
    seen = []
    real_replace = os.replace

    def replace(src, dst):  # the moment before the temporary file takes the real name
        seen.append(_mode(src))
        return real_replace(src, dst)

    monkeypatch.setattr(storage.os, "replace", replace)
    old = os.umask(0)
    try:
        path = save_login(Credentials(parse_server(SERVER), "20260001", TOKEN))
    finally:
        os.umask(old)
    assert seen == [0o600] and _mode(path) == 0o600 and _mode(home.config / "quizgen") == 0o700
    assert saved_login(parse_server(SERVER + "/")) == ("20260001", TOKEN)


def test_a_credentials_file_others_can_read_is_refused(home):
    path = save_login(Credentials(parse_server(SERVER), "20260001", TOKEN))
    os.chmod(path, 0o644)
    with pytest.raises(StorageError, match=r"can be read by other users \(mode 0644\); run 'chmod 600"):
        saved_login(parse_server(SERVER))


def test_login_entries_are_per_server(home):
    save_login(Credentials(parse_server(SERVER), "20260001", TOKEN))
    save_login(Credentials(parse_server("http://127.0.0.1:8080"), "20260002", TOKEN + "x"))
    assert saved_login(parse_server("HTTPS://Quiz.Example.ac.kr:443/")) == ("20260001", TOKEN)
    assert saved_login(parse_server("http://127.0.0.1:8080/api/v1")) == ("20260002", TOKEN + "x")
    assert saved_login(parse_server("https://other.example.ac.kr")) is None


def test_which_credentials_a_command_uses(home):
    server = parse_server(SERVER)
    with pytest.raises(CredentialsError, match="give --student ID, or run 'quizgen login"):
        resolve(server, None, None)
    save_login(Credentials(server, "20260001", TOKEN))
    assert resolve(server, None, None).token == TOKEN
    assert resolve(server, None, "other-token").token == "other-token"  # QUIZGEN_TOKEN / --token first
    with pytest.raises(CredentialsError, match="no token for 20260002"):
        resolve(server, "20260002", None)  # the saved token is only for its own student
    assert resolve(server, "20260002", None, prompt=lambda label: "typed-token").token == "typed-token"
    assert TOKEN not in repr(resolve(server, None, None))


@pytest.mark.parametrize("token", ["with:colon", "with space", "", "한글토큰", "x" * 300, "tab\there"])
def test_tokens_that_cannot_be_quizgens_are_refused(home, token):
    with pytest.raises(CredentialsError):
        resolve(parse_server(SERVER), "20260001", token)


def _free_url() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_an_undelivered_submission_waits_in_the_outbox_without_the_token(home):
    url = _free_url()
    result = CliRunner().invoke(cli, ["submit", "3", "--server", url, "--student", "20260001", "--answer",
                                      "1=529,441", "--answer", "3=(None, 30, 100)", "--tries", "1"],
                                env={"QUIZGEN_TOKEN": TOKEN})
    assert result.exit_code == 75
    assert result.stderr.strip().splitlines() == [
        f"Error: could not connect to {url} (connection refused) (tried 1 time(s)); saved in the outbox, not yet "
        "checked for blank answers; run 'quizgen sync', which checks them against the quiz before sending"]
    (entry,) = home.entries()
    assert set(entry) == {"v", "idempotency_key", "server", "student", "quiz", "answers", "created_at", "checked",
                          "last_try"}
    assert entry["checked"] is False  # the quiz could not be fetched: sync checks for blanks before sending
    assert entry["last_try"]["why"]["values"]["why"]["key"] == "client_connect_failed"
    assert (entry["server"], entry["student"], entry["quiz"]) == (url, "20260001", 3)
    assert entry["answers"] == {"1": "529,441", "3": "(None, 30, 100)"}
    assert uuid.UUID(entry["idempotency_key"]).version == 4
    (path,) = home.outbox.glob("*.json")
    assert _mode(path) == 0o600 and _mode(home.outbox) == 0o700
    again = CliRunner().invoke(cli, ["sync", "--tries", "1", "--json"], env={"QUIZGEN_TOKEN": TOKEN})
    assert again.exit_code == 75
    (row,) = json.loads(again.stdout)
    assert row["status"] == "pending" and row["idempotency_key"] == entry["idempotency_key"]
    (kept,) = home.entries()  # the same key and answers next time; only the last try's time and reason move on
    assert {k: v for k, v in kept.items() if k != "last_try"} == {k: v for k, v in entry.items() if k != "last_try"}
    for output in (result.output, again.output):
        assert TOKEN not in output
    for path in home.files():
        assert TOKEN.encode() not in path.read_bytes(), path


def test_no_token_in_any_file_or_output_but_the_credentials(home, listener):
    dead = listener()
    runner = CliRunner()
    env = {"QUIZGEN_TOKEN": TOKEN}
    outputs = [
        runner.invoke(cli, ["submit", "3", "--server", dead.url, "--student", "20260001", "--answer", "1=5",
                            "--tries", "2"], env=env),
        runner.invoke(cli, ["show", "3", "--server", dead.url, "--student", "20260001"], env=env),
        runner.invoke(cli, ["status", "3", "--server", dead.url, "--student", "20260001", "--json"], env=env),
        runner.invoke(cli, ["sync", "--tries", "1"], env=env),
        runner.invoke(cli, ["sync", "--tries", "1", "--token", TOKEN]),
        runner.invoke(cli, ["receipts", "--verify"]),
    ]
    assert [o.exit_code for o in outputs] == [75, 75, 75, 75, 75, 0]
    assert "--token can be read by other users" in outputs[4].stderr
    for o in outputs:
        assert TOKEN not in o.output
    save_login(Credentials(parse_server(dead.url), "20260001", TOKEN))
    for path in home.files():
        assert (TOKEN.encode() in path.read_bytes()) == (path.name == "credentials.json"), path
    # it did go to the server given, in the header and nowhere else (not the URL)
    auth = [r["headers"].get("authorization") for r in dead.requests]
    assert set(auth) == {f"Bearer 20260001:{TOKEN}"}  # (the receipt key, fetched without it, is never reached)
    assert all(r["path"] == "/api/v1/receipt-key" for r in dead.requests if "authorization" not in r["headers"])
    assert not any(TOKEN in r["path"] for r in dead.requests)


def test_kill_9_after_the_outbox_write_leaves_the_entry_for_sync(home, scripted, listener):
    """The client is killed while its request is on the wire (the server has not answered):
    the entry is on disk, with the key that went out, and sync sends it again under it."""
    from quizgen.client.credentials import parse_receipt_key, pin_key

    from .clientside import http_answer, new_key, public_json, quiz_answer

    # the quiz is answered (one question), the submission is read and never answered
    stuck = scripted(lambda r: http_answer(200, quiz_answer(slots=1, parts=False)) if r["method"] == "GET" else None)
    pin_key(parse_server(stuck.url), parse_receipt_key(public_json(new_key(), "k1")))
    proc = subprocess.Popen([sys.executable, "-m", "quizgen", "submit", "3", "--server", stuck.url, "--student",
                             "20260001", "--answer", "1=529,441"], env=home.env(QUIZGEN_TOKEN=TOKEN),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: stuck.paths("POST"), timeout=60)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    (sent,) = [r for r in stuck.requests if r["method"] == "POST"]
    (entry,) = home.entries()
    assert entry["checked"] is True and entry["language"] == "ko"
    assert sent["headers"]["idempotency-key"] == entry["idempotency_key"]
    assert json.loads(sent["body"]) == {"answers": entry["answers"]}
    dropper = listener()  # the next send: wherever the entry's server is, same key
    entry_path = next(home.outbox.glob("*.json"))
    moved = {**entry, "server": dropper.url}
    entry_path.write_text(json.dumps(moved), encoding="utf-8")
    pin_key(parse_server(dropper.url), parse_receipt_key(public_json(new_key(), "k1")))
    result = CliRunner().invoke(cli, ["sync", "--tries", "1"], env={"QUIZGEN_TOKEN": TOKEN})
    assert result.exit_code == 75
    assert [r["headers"]["idempotency-key"] for r in dropper.requests] == [entry["idempotency_key"]]


@pytest.mark.parametrize("content", [b"{not json", b'{"v": 1}', b"\xff\xfe", b'{"v": 99, "answers": {}}'])
def test_a_damaged_outbox_entry_is_one_line(home, content):
    home.outbox.mkdir(parents=True)
    (home.outbox / "0001-x.json").write_bytes(content)
    result = CliRunner().invoke(cli, ["sync"])
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: ") and "0001-x.json" in line and "move it aside" in line


def test_an_empty_outbox_syncs_nothing(home):
    result = CliRunner().invoke(cli, ["sync"])
    assert result.exit_code == 0 and "outbox is empty" in result.stderr
