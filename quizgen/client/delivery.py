"""A submission's journey: written to the outbox, sent (again, if need be), its receipt
checked and kept, and only then forgotten.

``submit`` writes the outbox entry before anything is sent; ``send`` tries to deliver
an entry under its one Idempotency-Key, waiting between tries as ``retry`` says, and
ends in one of four ways:

- delivered: a 2xx whose receipt verifies; the receipt is kept, the entry removed;
- refused: a final answer (a closed quiz, spent attempts, answers that do not parse);
  the entry is removed and the server's message raised (``ServerRefused``);
- suspicious: a 2xx whose receipt does not verify; the receipt is kept aside, the
  entry removed (the server did answer) and a ``SuspiciousReceipt`` raised;
- undelivered: still no answer after the tries or the time budget; the entry stays for
  ``quizgen sync`` (``Undelivered``, exit 75).

A 401 is a refusal of the credentials, not of the submission. ``submit`` treats it as
final (the student runs the command again with the right token, which makes a new
submission); ``sync`` keeps the entry, so fixing the token and syncing again sends it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import QuizgenError, clip
from ..servers import Server, ServerURLError
from . import outbox
from .api import Api, ServerRefused, ServerUnavailable
from .credentials import Credentials, CredentialsError, ReceiptKey, parse_receipt_key, pin_key, pinned_keys
from .outbox import Entry
from .receipts import Expected, ReceiptError, check_time, keep, request_body, verify
from .retry import RetryPolicy, next_wait

Note = Callable[[str], None]

PENDING_HINT = "saved in the outbox; run 'quizgen sync'"


class Undelivered(QuizgenError):
    """The submission could not be delivered now; it waits in the outbox."""

    exit_code = 75  # EX_TEMPFAIL: try again later


class SuspiciousReceipt(ReceiptError):
    """The server answered, but its receipt does not prove the submission."""


@dataclass(frozen=True)
class Delivered:
    """A submission the server stored, with its verified receipt kept at ``receipt_path``."""

    entry: Entry
    response: dict[str, Any]  # the server's answer, as docs/api.md shows it
    replayed: bool  # the original answer to an earlier send of the same submission
    key_id: str
    receipt_path: Path


def _quiet(_: str) -> None:
    return None


def known_keys(api: Api, server: Server) -> tuple[dict[str, ReceiptKey], ReceiptKey | None]:
    """The receipt keys pinned for the server, and None; or, on first contact without a
    login, the server's key fetched now (trust on first use), to be pinned once it has
    verified a receipt."""
    keys = pinned_keys(server)
    if keys:
        return keys, None
    key = parse_receipt_key(api.receipt_key())
    return {key.key_id: key}, key


def submit(credentials: Credentials, quiz: int, answers: Mapping[str, str], policy: RetryPolicy,
           note: Note = _quiet, **waiting: Any) -> Delivered:
    """Write the submission to the outbox (durably), then send it."""
    entry = outbox.put(outbox.new_entry(credentials.server.url, credentials.student, quiz, answers))
    try:
        return send(entry, credentials, policy, note, **waiting)
    except Undelivered as exc:
        raise Undelivered(f"{exc}; {PENDING_HINT}") from None


def send(entry: Entry, credentials: Credentials, policy: RetryPolicy, note: Note = _quiet,
         keep_on_auth_failure: bool = False, rng: random.Random | None = None,
         sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> Delivered:
    """Deliver one outbox entry (see the module's docstring for the four endings)."""
    if credentials.server.url != entry.server or credentials.student != entry.student:
        raise CredentialsError("credentials for another server or student")  # a bug: never send a token astray
    rng = rng or random.SystemRandom()
    body = request_body(entry.answers)
    start = clock()
    failures = 0
    with Api(credentials.server, credentials, policy) as api:
        while True:
            try:
                keys, fresh = known_keys(api, credentials.server)
                reply = api.submit(entry.quiz, body, entry.idempotency_key)
                break
            except ServerUnavailable as exc:
                failures += 1
                if failures >= policy.tries:
                    raise Undelivered(f"{exc} (tried {failures} time(s))") from None
                wait = next_wait(policy, failures, exc.retry_after, rng)
                if clock() - start + wait > policy.budget:
                    asked = f"; it asks to wait {exc.retry_after:.0f} s" if exc.retry_after else ""
                    raise Undelivered(f"{exc} (tried {failures} time(s){asked})") from None
                note(f"{exc}; trying again in {wait:.1f} s (try {failures + 1} of {policy.tries})")
                sleep(wait)
            except ServerRefused as exc:
                if exc.status == 401 and keep_on_auth_failure:
                    raise ServerRefused(f"{exc}; the submission stays in the outbox: log in again "
                                        "('quizgen login') and run 'quizgen sync'", 401, exc.code) from None
                outbox.done(entry)
                raise
    delivered = accept(entry, reply.data, reply.replayed, keys)
    if fresh is not None:
        pin_key(credentials.server, fresh)
        note(f"Pinned the receipt key {clip(fresh.key_id, 40)} of {credentials.server} on first use "
             "('quizgen login' pins it on purpose).")
    return delivered


def accept(entry: Entry, response: dict[str, Any], replayed: bool, keys: Mapping[str, ReceiptKey]) -> Delivered:
    """Check the receipt in the server's answer and keep it (aside, if it fails), then
    forget the entry."""
    attempt, received = response.get("attempt"), response.get("received_at")
    expected = Expected(entry.quiz, entry.student, entry.answers,
                        attempt if isinstance(attempt, int) and not isinstance(attempt, bool) else -1,
                        received if isinstance(received, str) else "(missing)", entry.idempotency_key)
    receipt = response.get("receipt")
    try:
        key = verify(receipt, keys, expected)
        check_time(receipt, replayed)
    except ReceiptError as exc:
        path = keep(entry.server, entry.idempotency_key, receipt, expected, suspicious=str(exc))
        outbox.done(entry)
        raise SuspiciousReceipt(f"RECEIPT REJECTED for quiz {entry.quiz}: {exc}; the server said it stored the "
                                f"submission, but keep this in mind and tell your instructor (kept aside in "
                                f"{clip(str(path), 120)})") from None
    path = keep(entry.server, entry.idempotency_key, receipt, expected)
    outbox.done(entry)
    return Delivered(entry, response, replayed, key.key_id, path)


@dataclass(frozen=True)
class Outcome:
    """What ``sync`` did with one entry: delivered, or the error that ended its try."""

    entry: Entry
    delivered: Delivered | None = None
    error: QuizgenError | None = None

    @property
    def pending(self) -> bool:
        """Whether the entry is still in the outbox."""
        return self.entry.path is not None and self.entry.path.exists()


def sync(entries: list[Entry], credentials_for: Callable[[Entry], Credentials], policy: RetryPolicy,
         note: Note = _quiet, **waiting: Any) -> list[Outcome]:
    """Send every entry (same keys as before), oldest first; one entry's failure does not
    stop the others. Once a server could not be reached, its remaining entries get one
    try each (no backoff): a sync of many entries to a server that is down stays short."""
    out = []
    unreachable: set[str] = set()
    for entry in entries:
        tries = replace(policy, tries=1) if entry.server in unreachable else policy
        try:
            out.append(Outcome(entry, send(entry, credentials_for(entry), tries, note, keep_on_auth_failure=True,
                                           **waiting)))
        except Undelivered as exc:
            unreachable.add(entry.server)
            out.append(Outcome(entry, error=exc))
        except (ServerRefused, ServerURLError, CredentialsError, ReceiptError) as exc:
            out.append(Outcome(entry, error=exc))
    return out
