"""The student's client holds the server to its transparency log (issue #17): ``quizgen
receipts --verify`` checks each receipt's leaf against a signed checkpoint that extends
the last one this machine saw, against a real ``quizgen serve``."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from quizgen.cli.main import cli

from .helpers import make_class
from .server import start_server

SID = "20260001"


def _run(*args: str, token: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), env={"QUIZGEN_TOKEN": token} if token else None)


def _logged(server, klass, size: int) -> None:  # type: ignore[no-untyped-def]
    """Wait (a hang catcher only) until the server's sequencer has signed a checkpoint of ``size``."""
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        cp = httpx.get(f"{server.url}/api/v1/quizzes/{klass.quiz}/checkpoint", trust_env=False)
        if cp.status_code == 200 and cp.json()["size"] >= size:
            return
        time.sleep(0.1)
    raise AssertionError("the sequencer never integrated the attempts")


def _submit(server, klass, value: str) -> None:  # type: ignore[no-untyped-def]
    out = _run("submit", str(klass.quiz), "--server", server.url, "--allow-blank", "--answer", f"1={value}",
               token=klass.tokens[SID])
    assert out.exit_code == 0, out.output


def test_receipts_are_checked_against_the_log_and_a_rewritten_log_is_named(tmp_path, home):
    klass = make_class(tmp_path, "--deadline", "2099-01-01 00:00", "--attempts", "5")
    server = start_server(str(klass.db), tmp_path)
    try:
        assert _run("login", "--server", server.url, "--student", SID, "--quiz", str(klass.quiz),
                    token=klass.tokens[SID]).exit_code == 0
        _submit(server, klass, "5")
        _logged(server, klass, 1)
        first = _run("receipts", "--verify", "--json")
        assert first.exit_code == 0, first.output
        (row,) = json.loads(first.stdout)
        assert row["verified"] is True and row["note"] is None
        seen = json.loads((home.data / "quizgen" / "checkpoints.json").read_text())["seen"]
        assert [v["size"] for v in seen.values()] == [1]  # the checkpoint this machine saw, kept

        _submit(server, klass, "6")
        _logged(server, klass, 2)
        assert _run("receipts", "--verify").exit_code == 0  # the log grew: consistent with the one seen
    finally:
        server.stop()

    # someone with the database rewrites history: the first attempt's answers changed (its
    # leaf hash recomputed to match) and the log made again from the rows, which the server
    # then signs as it signs whatever the rows hold; this machine still holds the checkpoint it saw
    con = sqlite3.connect(klass.db)
    con.execute("DELETE FROM checkpoints")
    con.execute("UPDATE attempts SET leaf_index = NULL")
    con.execute("UPDATE attempts SET leaf_hash = ? WHERE attempt = 1", ("cd" * 32,))
    con.commit()
    con.close()
    port = server.url.rsplit(":", 1)[1]
    server = start_server(str(klass.db), tmp_path, "--port", port)  # the same server, as students know it
    try:
        _logged(server, klass, 2)
        rewritten = _run("receipts", "--verify")
    finally:
        server.stop()
    assert rewritten.exit_code == 1
    assert "로그가 전에 본 것과 이어지지 않습니다" in rewritten.stdout  # the quiz is Korean


def test_a_leaf_missing_from_the_log_is_pending_until_its_promise_then_broken(tmp_path, home):
    from quizgen.client.api import Api
    from quizgen.client.credentials import pinned_keys
    from quizgen.client.retry import RetryPolicy
    from quizgen.client.transparency import checked_checkpoint, leaf_problem
    from quizgen.servers import parse_server

    klass = make_class(tmp_path, "--deadline", "2099-01-01 00:00", "--attempts", "5")
    server = start_server(str(klass.db), tmp_path)
    try:
        assert _run("login", "--server", server.url, "--student", SID, "--quiz", str(klass.quiz),
                    token=klass.tokens[SID]).exit_code == 0
        _submit(server, klass, "5")
        _logged(server, klass, 1)
        (kept,) = home.receipts.glob("*.json")
        receipt = json.loads(kept.read_text())["receipt"]
        api = Api(parse_server(server.url), None, RetryPolicy(tries=1))
        try:
            seen = checked_checkpoint(api, klass.quiz, pinned_keys(parse_server(server.url)))
            assert leaf_problem(api, receipt, seen) == (None, False)
            # a receipt for a leaf the log does not hold (its answers hash changed, as if forged)
            other = {**receipt, "leaf_hash": "ab" * 32}
            due = datetime.fromisoformat(receipt["integrate_by"])
            said, pending = leaf_problem(api, other, seen, at=due - timedelta(seconds=1))
            assert pending and said is not None and said.key == "log_pending"
            said, pending = leaf_problem(api, other, seen, at=due + timedelta(seconds=1))
            assert not pending and said is not None and said.key == "log_promise_broken"
        finally:
            api.close()
    finally:
        server.stop()
    assert datetime.fromisoformat(receipt["integrate_by"]) > datetime.fromisoformat(receipt["received_at"])
    assert datetime.fromisoformat(receipt["received_at"]).tzinfo == UTC or receipt["received_at"].endswith("+00:00")
