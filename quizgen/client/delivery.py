"""A submission's journey: checked against the quiz, written to the outbox, sent (again,
if need be), its receipt checked and kept, and only then forgotten.

``submit`` first fetches the student's quiz (its language, its questions' answer forms):
answers that leave questions or parts blank go only if the command's BlankPolicy accepts
them (nothing is written or sent otherwise). The outbox entry is then written before anything is sent;
``send`` tries to deliver an entry under its one Idempotency-Key, waiting between tries
as ``retry`` says, and ends in one of four ways:

- delivered: a 2xx whose receipt verifies; the receipt is kept, the entry removed;
- refused: a final answer (a closed quiz, spent attempts, answers that do not parse);
  the entry is removed and the refusal raised (``ServerRefused``);
- suspicious: a 2xx whose receipt does not verify; the receipt is kept aside, the
  entry removed (the server did answer) and a ``SuspiciousReceipt`` raised;
- undelivered: no answer within the tries or the time, or an answer that leaves the
  outcome unknown (a proxy's 500 page); the entry stays for ``quizgen sync``, with
  why (``Undelivered``, exit 75).

When the quiz itself cannot be fetched (the server is down), the submission is still
written to the outbox, marked unchecked unless the student allowed blanks up front:
``sync`` fetches the quiz and asks about blanks before it sends it.

A 401 is a refusal of the credentials, not of the submission. ``submit`` meets it when
fetching the quiz, before anything is written; ``sync`` keeps the entry, so fixing the
token and syncing again sends it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..classroom.answersheets import BlankAnswers, BlankPolicy, blank_answers
from ..errors import QuizgenError, clip
from ..resources import Phrase, locale_language, message, phrase
from ..servers import Server, ServerURLError
from . import outbox
from .api import Api, OutcomeUnknown, ServerRefused, ServerUnavailable, _seconds
from .credentials import Credentials, CredentialsError, ReceiptKey, parse_receipt_key, pin_key, pinned_keys
from .outbox import Entry
from .receipts import Expected, ReceiptError, check_time, keep, request_body, verify
from .retry import RetryPolicy, next_wait
from .screens import QuizScreen, read_quiz, receipt_line, results_lines

Note = Callable[[str], None]


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

    def lines(self, zone: str | None = None) -> list[str]:
        """What the student is told: the receipt line and, as the quiz allows, the results."""
        lang = self.response.get("language")
        return [receipt_line(self.response, self.replayed, zone),
                *results_lines(self.response, lang if isinstance(lang, str) else "en")]


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


class _Tries:
    """The tries of one request within one conversation: a retryable failure is tried
    again after a jittered wait, until the tries are spent or the conversation's budget
    would run out during the wait."""

    def __init__(self, api: Api, policy: RetryPolicy, note: Note, lang: str, rng: random.Random | None,
                 sleep: Callable[[float], None]):
        self.api, self.policy, self.note, self.lang = api, policy, note, lang
        self.rng = rng or random.SystemRandom()
        self.sleep = sleep

    def run(self, request: Callable[[], Any]) -> Any:
        failures = 0
        while True:
            try:
                return request()
            except OutcomeUnknown as exc:  # not worth a retry now; sync sends it again
                raise Undelivered(phrase("client_undelivered", why=phrase("client_unknown_outcome", why=_said(exc)),
                                         tries=failures + 1, asked="")) from None
            except ServerUnavailable as exc:
                failures += 1
                asked = phrase("client_asks_wait", seconds=f"{exc.retry_after:.0f}") if exc.retry_after else ""
                if failures >= self.policy.tries:
                    raise Undelivered(phrase("client_undelivered", why=_said(exc), tries=failures, asked="")) \
                        from None
                wait = next_wait(self.policy, failures, exc.retry_after, self.rng)
                if wait >= self.api.remaining():
                    raise Undelivered(phrase("client_undelivered", why=_said(exc), tries=failures, asked=asked)) \
                        from None
                self.note(message(self.lang, "client_retrying", why=_said(exc).say(self.lang), wait=_seconds(wait),
                                  n=failures + 1, tries=self.policy.tries))
                self.sleep(wait)


def _said(exc: QuizgenError) -> Phrase:
    """An error's sentence, as a phrase to be said inside another."""
    first = exc.args[0] if exc.args else ""
    return first if isinstance(first, Phrase) else phrase("client_said", said=str(first))


@dataclass(frozen=True)
class Submitted:
    """What ``submit --server`` did: the delivered submission, the quiz it went to, and how
    many earlier submissions of this student to this server still wait in the outbox."""

    delivered: Delivered
    quiz: QuizScreen
    waiting: int

    def lines(self) -> list[str]:
        return self.delivered.lines(self.quiz.zone)

    def notes(self) -> list[str]:
        return [message(self.quiz.language, "client_waiting_in_outbox", count=self.waiting)] if self.waiting else []


def submit(credentials: Credentials, quiz: int, answers: Mapping[str, str], policy: RetryPolicy,
           blanks: BlankPolicy, note: Note = _quiet, rng: random.Random | None = None,
           sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> Submitted:
    """Check the answers against the student's quiz, write the submission to the outbox
    (durably), then send it (see the module's docstring)."""
    lang = locale_language()  # until the quiz says its own
    with Api(credentials.server, credentials, policy, clock) as api:
        try:
            screen = read_quiz(_Tries(api, policy, note, lang, rng, sleep).run(lambda: api.quiz(quiz)))
        except Undelivered as exc:  # the server cannot be reached: keep the submission, check it later
            why = exc.args[0]
            outbox.tried(outbox.put(outbox.new_entry(credentials.server.url, credentials.student, quiz, answers,
                                                     checked=blanks.allowed)), exc)
            if blanks.allowed:
                raise
            raise Undelivered(phrase("client_unchecked", **dict(why.values))) from None
        except QuizgenError as exc:
            exc.speak(lang)
            raise
        lang = screen.language
        try:
            left = blank_answers(screen.forms(), answers)
            if not blanks.accepts(left, lang):
                raise BlankAnswers(phrase("blank_refused", blanks=left.text()))
            entry = outbox.put(outbox.new_entry(credentials.server.url, credentials.student, quiz, answers,
                                                language=lang, time_zone=screen.zone))
            try:
                delivered = _deliver(api, entry, credentials, policy, note, lang, rng, sleep,
                                     keep_on_auth_failure=False)
            except Undelivered as exc:
                outbox.tried(entry, exc)
                raise
        except QuizgenError as exc:
            exc.speak(lang)
            raise
    waiting = [e for e in outbox.pending(credentials.server.url)
               if e.student == credentials.student and e.idempotency_key != entry.idempotency_key]
    return Submitted(delivered, screen, len(waiting))


def send(entry: Entry, credentials: Credentials, policy: RetryPolicy, note: Note = _quiet,
         keep_on_auth_failure: bool = False, blanks: BlankPolicy | None = None, rng: random.Random | None = None,
         sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> Delivered:
    """Deliver one outbox entry (see the module's docstring for the endings). An entry
    not yet checked for blank answers is checked first: sent if none are blank or the
    ``blanks`` policy accepts them, else held (BlankAnswers; the entry stays)."""
    if credentials.server.url != entry.server or credentials.student != entry.student:
        raise CredentialsError("credentials for another server or student")  # a bug: never send a token astray
    lang = entry.language or locale_language()
    with Api(credentials.server, credentials, policy, clock) as api:
        try:
            if not entry.checked:
                try:
                    data = _Tries(api, policy, note, lang, rng, sleep).run(lambda: api.quiz(entry.quiz))
                except ServerRefused as exc:
                    if exc.status != 401 or not keep_on_auth_failure:
                        outbox.done(entry)  # the quiz refuses this student: so would the submission
                    raise
                screen = read_quiz(data)
                lang = screen.language
                left = blank_answers(screen.forms(), entry.answers)
                if not (blanks or BlankPolicy(False)).accepts(left, lang):
                    raise BlankAnswers(phrase("blank_held", blanks=left.text()))
                entry = outbox.checked(entry, lang, screen.zone)
            return _deliver(api, entry, credentials, policy, note, lang, rng, sleep, keep_on_auth_failure)
        except Undelivered as exc:
            outbox.tried(entry, exc)
            exc.speak(lang)
            raise
        except QuizgenError as exc:
            exc.speak(lang)
            raise


def _deliver(api: Api, entry: Entry, credentials: Credentials, policy: RetryPolicy, note: Note, lang: str,
             rng: random.Random | None, sleep: Callable[[float], None], keep_on_auth_failure: bool) -> Delivered:
    body = request_body(entry.answers)

    def request() -> Any:
        keys, fresh = known_keys(api, credentials.server)
        return keys, fresh, api.submit(entry.quiz, body, entry.idempotency_key)

    try:
        keys, fresh, reply = _Tries(api, policy, note, lang, rng, sleep).run(request)
    except ServerRefused as exc:
        if exc.status == 401 and keep_on_auth_failure:
            raise ServerRefused(phrase("client_auth_kept", said=_said(exc)), 401, exc.code) from None
        outbox.done(entry)
        raise
    delivered = accept(entry, reply.data, reply.replayed, keys)
    if fresh is not None:
        pin_key(credentials.server, fresh)
        note(message(lang, "client_pinned_first_use", key=clip(fresh.key_id, 40), server=credentials.server.url))
    return delivered


def accept(entry: Entry, response: dict[str, Any], replayed: bool, keys: Mapping[str, ReceiptKey]) -> Delivered:
    """Check the receipt in the server's answer and keep it (aside, if it fails), then
    forget the entry."""
    attempt, received = response.get("attempt"), response.get("received_at")
    expected = Expected(entry.quiz, entry.student, entry.answers,
                        attempt if isinstance(attempt, int) and not isinstance(attempt, bool) else -1,
                        received if isinstance(received, str) else "(missing)", entry.idempotency_key)
    receipt = response.get("receipt")
    said = {"language": entry.language, "time_zone": entry.time_zone}
    try:
        key = verify(receipt, keys, expected)
        check_time(receipt, replayed)
    except ReceiptError as exc:
        exc.speak(entry.language or locale_language())
        path = keep(entry.server, entry.idempotency_key, receipt, expected, suspicious=str(exc), said=said)
        outbox.done(entry)
        raise SuspiciousReceipt(phrase("client_receipt_suspicious", quiz=entry.quiz, why=_said(exc),
                                       path=clip(str(path), 120))) from None
    path = keep(entry.server, entry.idempotency_key, receipt, expected, said=said)
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

    @property
    def language(self) -> str:
        """The quiz's language, as far as this sync learned it (else the locale's)."""
        if self.delivered is not None and isinstance(self.delivered.response.get("language"), str):
            return str(self.delivered.response["language"])
        return self.entry.language or (self.error.lang if self.error is not None else None) or locale_language()

    @property
    def state(self) -> str:
        """delivered; held (blank answers the student has not agreed to send) or pending
        (still in the outbox); suspicious or refused."""
        if self.delivered is not None:
            return "delivered"
        if self.pending:
            return "held" if isinstance(self.error, BlankAnswers) else "pending"
        return "suspicious" if isinstance(self.error, SuspiciousReceipt) else "refused"


def sync(entries: list[Entry], credentials_for: Callable[[Entry], Credentials], policy: RetryPolicy,
         note: Note = _quiet, blanks: BlankPolicy | None = None, **waiting: Any) -> list[Outcome]:
    """Send every entry (same keys as before), oldest first; one entry's failure does not
    stop the others. Once a server could not be reached, its remaining entries are not
    tried in this run (they stay, saying so): a sync of many entries to a server that is
    down ends within one budget per server."""
    out = []
    unreachable: set[str] = set()
    for entry in entries:
        if entry.server in unreachable:
            out.append(Outcome(entry, error=Undelivered(phrase("sync_skipped", server=entry.server))))
            continue
        try:
            out.append(Outcome(entry, send(entry, credentials_for(entry), policy, note, keep_on_auth_failure=True,
                                           blanks=blanks, **waiting)))
        except Undelivered as exc:
            unreachable.add(entry.server)
            out.append(Outcome(entry, error=exc))
        except (ServerRefused, ServerURLError, CredentialsError, ReceiptError, BlankAnswers) as exc:
            out.append(Outcome(entry, error=exc))
    return out

