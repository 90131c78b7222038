"""Receipts are checked with real Ed25519 keys: only a receipt signed by the pinned key and
saying exactly what was sent and answered is accepted; everything else is refused, kept
aside and reported in one loud line."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from quizgen.cli.main import cli
from quizgen.client import outbox
from quizgen.client.credentials import parse_receipt_key, pin_key, pinned_keys
from quizgen.client.delivery import SuspiciousReceipt, accept
from quizgen.client.receipts import Expected, ReceiptError, answers_sha256, canonical_json, keep, kept, verify
from quizgen.servers import parse_server

from .clientside import new_key, public_json, signed

ANSWERS = {"1": "529,441", "3": "(None, 30, 100)", "4.2": "500000"}
EXPECTED = Expected(3, "20260001", ANSWERS, attempt=2, received_at="2026-11-29T12:00:01.250000+00:00")


@pytest.fixture(scope="module")
def server_key():
    return new_key()


def _keys(private, key_id="k1"):
    key = parse_receipt_key(public_json(private, key_id))
    return {key.key_id: key}


def _receipt(private, key_id="k1", **fields):
    return signed(private, key_id, **{"answers": ANSWERS, "attempt": 2, **fields})


def test_a_genuine_receipt_verifies(server_key):
    assert verify(_receipt(server_key), _keys(server_key), EXPECTED).key_id == "k1"


def test_the_answers_hash_is_over_the_form_the_server_stores():
    import hashlib

    assert canonical_json({"b": "점검", "a": 1}) == '{"a":1,"b":"점검"}'
    assert answers_sha256({"3": "x", "1": "y"}) == answers_sha256({"1": "y", "3": "x"})
    # a multi-part answer is stored (and hashed) as the JSON of its parts by label
    stored = {"1": "529,441", "4": '{"1": "(None, 30)", "2": "500000"}'}
    digest = hashlib.sha256(canonical_json(stored).encode("utf-8")).hexdigest()
    assert answers_sha256({"1": "529,441", "4.2": "500000", "4.1": "(None, 30)"}) == digest
    assert answers_sha256({"01": "529,441", "4.02": "500000", "04.1": "(None, 30)"}) == digest


def test_a_receipt_signed_by_another_key_is_refused(server_key):
    impostor = new_key()
    forged = _receipt(impostor, key_id="k1")  # claims the pinned key's id
    with pytest.raises(ReceiptError, match="does not verify"):
        verify(forged, _keys(server_key), EXPECTED)
    with pytest.raises(ReceiptError, match="not a key pinned"):
        verify(_receipt(impostor, key_id="k2"), _keys(server_key), EXPECTED)


@pytest.mark.parametrize("name, value", [
    ("attempt", 3), ("quiz", 4), ("student", "20260002"), ("received_at", "2026-11-29T12:00:02+00:00"),
    ("answers_sha256", "0" * 64), ("leaf_hash", "cd" * 32), ("v", 1), ("request", "another-key"),
])
def test_a_tampered_field_breaks_the_signature(server_key, name, value):
    receipt = _receipt(server_key)
    receipt[name] = value
    with pytest.raises(ReceiptError, match="does not verify"):
        verify(receipt, _keys(server_key), EXPECTED)


@pytest.mark.parametrize("fields, wrong", [
    ({"attempt": 1}, "attempt"),  # the server answered attempt 2 but signed attempt 1
    ({"quiz": 4}, "quiz"),
    ({"student": "20260002"}, "student"),
    ({"answers": {"1": "529441"}}, "answers_sha256"),  # other answers than the ones sent
    ({"received_at": "2026-11-29T12:00:09+00:00"}, "received_at"),
    ({"attempt": True}, "attempt"),  # JSON true is not attempt 1
])
def test_a_genuine_signature_over_other_content_is_refused(server_key, fields, wrong):
    receipt = _receipt(server_key, **fields)
    with pytest.raises(ReceiptError, match=f"does not match this submission \\(.*{wrong}"):
        verify(receipt, _keys(server_key), EXPECTED)


@pytest.mark.parametrize("mangle", [
    lambda r: {k: v for k, v in r.items() if k != "signature"},
    lambda r: {**r, "signature": "not base64!"},
    lambda r: {**r, "signature": r["signature"][:-8] + "AAAAAAA="},
    lambda r: None, lambda r: [r], lambda r: {**r, "key_id": 7},
])
def test_malformed_receipts_are_refused(server_key, mangle):
    with pytest.raises(ReceiptError):
        verify(mangle(_receipt(server_key)), _keys(server_key), EXPECTED)


def test_an_extra_signed_field_is_covered_too(server_key):
    receipt = _receipt(server_key, note="signed")
    assert verify(receipt, _keys(server_key), EXPECTED)
    with pytest.raises(ReceiptError, match="does not verify"):
        verify({**receipt, "note": "changed"}, _keys(server_key), EXPECTED)


def _entry(server):
    return outbox.put(outbox.new_entry(server.url, "20260001", 3, ANSWERS))


def _response(receipt, attempt=2, received_at="2026-11-29T12:00:01.250000+00:00"):
    return {"quiz": 3, "student": "20260001", "attempt": attempt, "answers": 3, "received_at": received_at,
            "receipt": receipt}


def test_accept_keeps_a_good_receipt_and_sets_a_bad_one_aside(home, server_key):
    server = parse_server("https://quiz.example.ac.kr")
    pin_key(server, parse_receipt_key(public_json(server_key, "k1")))
    good = _entry(server)
    now = datetime.now(UTC).isoformat()
    receipt = _receipt(server_key, request=good.idempotency_key, received_at=now)
    delivered = accept(good, _response(receipt, received_at=now), False, pinned_keys(server))
    assert delivered.receipt_path.parent == home.receipts and not good.path.exists()
    bad = _entry(server)
    with pytest.raises(SuspiciousReceipt, match="RECEIPT REJECTED.*attempt"):
        accept(bad, _response(_receipt(server_key, request=bad.idempotency_key, received_at=now), attempt=3,
                              received_at=now), False, pinned_keys(server))
    assert not bad.path.exists()  # the server answered: nothing left to send
    aside = home.receipts / "suspicious" / f"{bad.idempotency_key}.json"
    assert "attempt" in json.loads(aside.read_text())["suspicious"]
    assert sorted(k.suspicious is None for k in kept()) == [False, True]


def test_receipts_command_lists_and_reverifies(home, server_key):
    server = parse_server("https://quiz.example.ac.kr/")
    pin_key(server, parse_receipt_key(public_json(server_key, "k1")))
    path = keep(server.url, "key-1", _receipt(server_key), EXPECTED)
    runner = CliRunner()
    listed = runner.invoke(cli, ["receipts", "--json"])
    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(listed.stdout)
    assert (row["quiz"], row["attempt"], row["server"], row["suspicious"]) == (3, 2, "https://quiz.example.ac.kr", None)
    ok = runner.invoke(cli, ["receipts", "--verify"])
    assert ok.exit_code == 0 and "✓" in ok.stdout, ok.output
    assert runner.invoke(cli, ["receipts", "--server", "https://other.example.ac.kr", "--json"]).stdout.strip() == "[]"
    record = json.loads(path.read_text())
    record["sent"]["answers"]["1"] = "529441"  # the kept answers no longer match what was signed
    path.write_text(json.dumps(record))
    failed = runner.invoke(cli, ["receipts", "--verify"])
    assert failed.exit_code == 1 and "answers_sha256" in failed.stdout
    assert failed.stderr.strip() == "Error: 1 of 1 receipt(s) do not verify"


def test_a_changed_key_under_a_pinned_id_is_refused(home, server_key):
    from quizgen.client.credentials import CredentialsError

    server = parse_server("https://quiz.example.ac.kr")
    assert pin_key(server, parse_receipt_key(public_json(server_key, "k1"))) is True
    assert pin_key(server, parse_receipt_key(public_json(server_key, "k1"))) is False
    with pytest.raises(CredentialsError, match="impostor"):
        pin_key(server, parse_receipt_key(public_json(new_key(), "k1")))
    assert pin_key(server, parse_receipt_key(public_json(new_key(), "k2"))) is True  # a rotation: both kept
    assert set(pinned_keys(server)) == {"k1", "k2"}


@pytest.mark.parametrize("data", [
    {"key_id": "k", "algorithm": "rsa", "public_key": "AAAA"},
    {"key_id": "k", "algorithm": "ed25519", "public_key": "AAAA"},  # 3 bytes
    {"key_id": "", "algorithm": "ed25519", "public_key": "A" * 43 + "="},
    {"algorithm": "ed25519"}, "a string", None,
])
def test_receipt_keys_that_are_not_ed25519_are_refused(data):
    from quizgen.client.credentials import CredentialsError

    with pytest.raises(CredentialsError):
        parse_receipt_key(data)


def test_a_fresh_receipt_must_be_made_near_this_clock():
    """A receipt answers this request now: a time far from the client's clock is refused
    (a replay, the original answer to an earlier send, may be older, never in the future)."""
    from datetime import UTC, datetime, timedelta

    from quizgen.client.receipts import check_time

    at = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    fresh = {"received_at": (at - timedelta(seconds=3)).isoformat()}
    check_time(fresh, replayed=False, at=at)
    stale = {"received_at": (at - timedelta(hours=2)).isoformat()}
    with pytest.raises(ReceiptError, match="more than 10 minutes"):
        check_time(stale, replayed=False, at=at)
    check_time(stale, replayed=True, at=at)
    with pytest.raises(ReceiptError, match="more than 10 minutes"):
        check_time({"received_at": (at + timedelta(hours=1)).isoformat()}, replayed=True, at=at)
    with pytest.raises(ReceiptError, match="no zone"):
        check_time({"received_at": "2026-12-07T12:00:00"}, replayed=False, at=at)


def test_a_receipt_for_another_request_is_refused(server_key):
    """The server signs the Idempotency-Key it answered: a receipt from another submission
    of the same answers (replayed to this client) does not pass for this one."""
    receipt = _receipt(server_key, request="key-of-another-send")
    with pytest.raises(ReceiptError, match="request"):
        verify(receipt, _keys(server_key), Expected(**{**EXPECTED.__dict__, "request": "this-send"}))
