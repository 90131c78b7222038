"""Tokens by e-mail: each chosen student gets a fresh token in a message of their own.

Tokens are stored hashed, so mailing one means issuing a new one. The new token is saved
(and the old one stops working) only after the SMTP server accepted the message that
carries it: a refused recipient, a dropped connection or a full mailbox leaves the
student's old token working, and the run names them at the end. A message is accepted
when the server answered the end of its DATA with 250; what happens after that (a bounce
from the recipient's own server) is beyond what a sender can know.

Students are chosen from the quiz (``--quiz``: everyone on it, or the ids given, who must
be on it) or from the roster. Students without an address are named, never silently
skipped. The password comes from the caller (the CLI reads ``QUIZGEN_SMTP_PASSWORD``) and
is refused over a connection without TLS to another machine.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from email.headerregistry import Address
from typing import Any

from sqlalchemy import select

from ..clock import now
from ..errors import NotFoundError, QuizgenError, clip
from ..exports.token_mail import AddressError, TokenLetter, parse_sender, token_message
from ..questions.catalog import LANGS
from ..questions.records import QuizInfo
from ..servers import handed_out_server, is_loopback
from ..store.db import Store
from ..store.tables import Student, Variant
from .quizzes import quiz_info
from .students import commit_tokens, fresh_token

Progress = Callable[[int, int], None]
SECURITY = ("starttls", "ssl", "plain")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "plain": 25}


class MailError(QuizgenError):
    """The mail server cannot be used as asked (not reached, TLS or login refused, unsafe)."""


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to hand the messages over."""

    host: str
    port: int | None  # None: the usual port for ``security``
    security: str  # "starttls", "ssl" (TLS from the first byte) or "plain"
    sender: str  # --from, as typed
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    context: ssl.SSLContext | None = None  # None: the system's trusted certificates
    timeout: float = 30.0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port or DEFAULT_PORTS[self.security]}"

    def check(self) -> None:
        """Refuse what would be unsafe before anything is sent."""
        if self.security not in SECURITY:
            raise MailError(f"unknown SMTP security {self.security!r} (one of {', '.join(SECURITY)})")
        if self.user is not None and self.password is None:
            raise MailError(f"no password for the SMTP user {clip(self.user, 60)!r}")
        if self.user is not None and self.security == "plain" and not is_loopback(self.host):
            raise MailError(f"refusing to send the SMTP password to {clip(self.host, 60)} without TLS; "
                            "add --starttls or --ssl")


@dataclass(frozen=True)
class MailRequest:
    """Who gets a token, and what their message says."""

    server_url: str
    insecure_http: bool
    students: tuple[str, ...] | None  # None: everyone (on the quiz, else on the roster)
    quiz: str | None = None
    lang: str | None = None  # None: the quiz's language


@dataclass(frozen=True)
class Addressee:
    student: str
    name: str
    email: str | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.student, "name": self.name, "email": self.email}


@dataclass(frozen=True)
class MailReport:
    """What ``mail_tokens`` did (or, in a dry run, would do)."""

    dry_run: bool
    lang: str
    server_url: str
    quiz: QuizInfo | None
    chosen: list[Addressee]  # students with an address, in id order
    sent: list[Addressee]  # accepted by the SMTP server; their new token is saved
    failed: list[tuple[Addressee, str]]  # not sent (or not saved), with the reason; old token still works
    no_address: list[Addressee]

    def to_json(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "lang": self.lang, "server_url": self.server_url,
                "quiz": self.quiz.id if self.quiz else None,
                "chosen": [a.to_json() for a in self.chosen], "sent": [a.to_json() for a in self.sent],
                "failed": [{**a.to_json(), "reason": why} for a, why in self.failed],
                "no_address": [a.to_json() for a in self.no_address]}


def _addressees(store: Store, quiz: QuizInfo | None, wanted: tuple[str, ...] | None) -> list[Addressee]:
    """The chosen students, in id order; every id given must be on the quiz (or the roster)."""
    query = select(Student.external_id, Student.name, Student.email)
    if quiz is not None:
        query = query.join(Variant, Variant.student_id == Student.id).where(Variant.quiz_id == quiz.id)
    if wanted is not None:
        query = query.where(Student.external_id.in_(wanted))
    with store.read() as session:
        rows = session.execute(query.order_by(Student.external_id)).all()
    found = [Addressee(r[0], r[1], r[2]) for r in rows]
    missing = sorted(set(wanted or ()) - {a.student for a in found})
    if missing:
        where = f"on quiz {quiz.id} (add them with 'quizgen quiz add-students {quiz.id}')" if quiz else \
            "on the roster"
        raise NotFoundError(f"not {where}: {clip(', '.join(missing), 200)}")
    return found


def _connect(smtp: SmtpServer) -> smtplib.SMTP:
    """A connection that is encrypted (unless ``plain``) and logged in (if a user is given)."""
    port = smtp.port or DEFAULT_PORTS[smtp.security]
    context = smtp.context or ssl.create_default_context()
    conn: smtplib.SMTP | None = None
    try:
        if smtp.security == "ssl":
            conn = smtplib.SMTP_SSL(smtp.host, port, timeout=smtp.timeout, context=context)
        else:
            conn = smtplib.SMTP(smtp.host, port, timeout=smtp.timeout)
            if smtp.security == "starttls":
                conn.starttls(context=context)
        if smtp.user is not None:
            assert smtp.password is not None  # SmtpServer.check
            conn.login(smtp.user, smtp.password)
        return conn
    except smtplib.SMTPAuthenticationError as exc:
        _close(conn)
        raise MailError(f"the SMTP server {smtp.address} refused the login of {clip(smtp.user or '', 60)!r} "
                        f"({_response(exc)})") from None
    except smtplib.SMTPNotSupportedError:
        _close(conn)
        raise MailError(f"the SMTP server {smtp.address} does not offer STARTTLS; try --ssl (usually port 465)") \
            from None
    except (smtplib.SMTPException, OSError) as exc:  # ssl.SSLError and socket errors are OSErrors
        _close(conn)
        raise MailError(f"cannot use the SMTP server {smtp.address}: {_reason(exc)}") from None


def _close(conn: smtplib.SMTP | None) -> None:
    if conn is None:
        return
    try:
        conn.quit()
    except (smtplib.SMTPException, OSError):
        conn.close()


def _response(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
    return f"{exc.smtp_code} {' '.join(text.split())}"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refusals = list(exc.recipients.values())
        if refusals:
            code, raw = refusals[0]
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            return f"recipient refused: {code} {' '.join(text.split())}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return _response(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def mail_tokens(store: Store, request: MailRequest, smtp: SmtpServer, send: bool,
                progress: Progress | None = None) -> MailReport:
    """Mail each chosen student a fresh token (``send``), or say who would get one (a dry run).

    Messages go over one connection, opened after every check has passed; a server that
    cannot be reached, or refuses TLS or the login, is a MailError before anything is sent
    or saved. When the server drops the connection midway, the message in flight counts as
    not sent and the connection is reopened for the next one; if it cannot be reopened,
    the rest are reported as not sent."""
    smtp.check()
    sender = parse_sender(smtp.sender)
    server = handed_out_server(request.server_url, "--server-url", request.insecure_http)
    quiz = quiz_info(store, request.quiz) if request.quiz is not None else None
    lang = request.lang or (quiz.language if quiz else None)
    if lang not in LANGS:
        raise MailError("give --lang (ko or en): without --quiz there is no quiz language to write in")
    everyone = _addressees(store, quiz, request.students)
    chosen = [a for a in everyone if a.email]
    no_address = [a for a in everyone if not a.email]
    if not send:
        return MailReport(True, lang, server.url, quiz, chosen, [], [], no_address)

    sent: list[Addressee] = []
    failed: list[tuple[Addressee, str]] = []
    link = _Link(smtp, _connect(smtp) if chosen else None)
    stopped: str | None = None  # why nothing more can be sent
    try:
        for n, who in enumerate(chosen, start=1):
            reason = stopped or _send_one(store, link, sender, lang, server.url, quiz, who)
            if reason is None:
                sent.append(who)
            else:
                failed.append((who, reason))
                if link.broken is not None and stopped is None:
                    stopped = f"not sent: {link.broken}"
            if progress is not None:
                progress(n, len(chosen))
    finally:
        _close(link.conn)
    return MailReport(False, lang, server.url, quiz, chosen, sent, failed, no_address)


class _Link:
    """The connection to the SMTP server, reopened for the next message when the server dropped it;
    when it cannot be reopened, nothing more is sent (``broken``)."""

    def __init__(self, smtp: SmtpServer, conn: smtplib.SMTP | None):
        self.smtp = smtp
        self.conn = conn
        self.broken: str | None = None  # set when nothing more can be sent or saved

    def send(self, message: Any, sender: str, to: str) -> None:
        if self.conn is not None and self.conn.sock is None:  # smtplib closed it (the server said 421)
            self.conn = None
        if self.conn is None:
            try:
                self.conn = _connect(self.smtp)
            except MailError as exc:
                self.broken = str(exc)
                raise
        try:
            self.conn.send_message(message, from_addr=sender, to_addrs=[to])
        except smtplib.SMTPException as exc:  # an answer (a refusal) unless the link went
            if isinstance(exc, smtplib.SMTPServerDisconnected):
                self.conn = None
            raise
        except OSError:  # a socket error or timeout: the link is gone
            _close(self.conn)
            self.conn = None
            raise


def _send_one(store: Store, link: _Link, sender: Address, lang: str, url: str, quiz: QuizInfo | None,
              who: Addressee) -> str | None:
    """Mail one student a fresh token and save it once the server accepted the message;
    the reason it was not sent (or not saved) otherwise."""
    assert who.email is not None
    fresh = fresh_token(who.student, who.name)
    try:
        message = token_message(TokenLetter(lang, who.student, who.name, who.email, fresh.token, url, quiz),
                                sender, now())
    except (AddressError, ValueError) as exc:
        return f"cannot address a message: {exc}"
    try:
        link.send(message, sender.addr_spec, who.email)
    except MailError as exc:
        return f"not sent: {exc}"
    except smtplib.SMTPServerDisconnected as exc:
        return f"connection lost while sending ({_reason(exc)})"
    except smtplib.SMTPException as exc:  # the server's answer: a refused recipient, a full mailbox...
        return _reason(exc)
    except OSError as exc:  # (SMTPException is an OSError too, so this comes after it)
        return f"connection lost while sending ({_reason(exc)})"
    try:
        commit_tokens(store, [fresh])
    except QuizgenError as exc:
        link.broken = "stopped after a database error"
        return (f"the message was sent but its token could not be saved ({exc}); the mailed token does not "
                "work: send again")
    return None
