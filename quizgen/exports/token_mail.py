"""The e-mail that carries a student's token: its wording (data/handouts.json, Korean or
English) and its MIME form.

The message is plain text in UTF-8 (``email.policy.SMTP``: CRLF line ends, long lines
folded, non-ASCII bodies in quoted-printable or base64), with the headers mail readers
expect (Date, Message-ID, Content-Language, Auto-Submitted); a Korean name in To or a
Korean subject is written as an RFC 2047 encoded word by the policy, never as raw bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid, parseaddr

from ..clock import show
from ..errors import QuizgenError, clip
from ..questions.records import QuizInfo
from .submitting import submit_steps, wording


class AddressError(QuizgenError):
    """An e-mail address a message cannot be sent from or to."""


@dataclass(frozen=True)
class TokenLetter:
    """Everything one token message says, as plain data."""

    lang: str
    student: str
    name: str
    email: str
    token: str
    server_url: str
    quiz: QuizInfo | None  # the quiz the message is about, if any


def parse_sender(text: str) -> Address:
    """``--from``: ``quiz@example.ac.kr`` or ``강의 조교 <quiz@example.ac.kr>``."""
    name, addr = parseaddr(text)
    if addr.count("@") != 1 or any(c.isspace() or c in "<>,;\"()" for c in addr) or not addr.isascii():
        raise AddressError(f"--from {clip(text, 80)!r} is not an e-mail address (write it as "
                           "quiz@example.ac.kr or \"Name <quiz@example.ac.kr>\")")
    user, _, domain = addr.rpartition("@")
    return Address(display_name=name, username=user, domain=domain)


def recipient(name: str, email: str) -> Address:
    """The student's address, their name shown (encoded) beside it."""
    user, at, domain = email.strip().rpartition("@")
    if not at or not user or not domain or any(c.isspace() or c in "<>,;\"" for c in email.strip()):
        raise AddressError(f"{clip(email, 80)!r} is not an e-mail address")
    return Address(display_name=header_text(name), username=user, domain=domain)


def header_text(text: str) -> str:
    """Text shown in a header (a name, a title): one line, control characters as spaces,
    since a line break would end the header."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def letter_text(letter: TokenLetter) -> str:
    """The message body."""
    w = wording(letter.lang, "mail")
    quiz = letter.quiz
    out = [w["greeting"].format(name=letter.name), "", w["intro"], ""]
    if quiz is not None:
        out.append(w["quiz"].format(title=quiz.title, quiz=quiz.id))
        out.append(w["deadline"].format(deadline=show(quiz.deadline, quiz.time_zone)) if quiz.deadline
                   else w["no_deadline"])
        if quiz.deadline and quiz.late_until:
            out.append(w["late_until"].format(late_until=show(quiz.late_until, quiz.time_zone)))
        out.append("")
    out += [w["server"].format(url=letter.server_url), w["student"].format(student=letter.student),
            w["token"].format(token=letter.token), ""]
    steps = submit_steps(letter.lang, letter.server_url, quiz.id if quiz else None, letter.student)
    out += [f"■ {steps.page_heading}", *steps.page, "", f"■ {steps.cli_heading}",
            *(f"  {c}" for c in steps.commands), steps.cli_note, "", w["closing"]]
    return "\n".join(out) + "\n"


def token_message(letter: TokenLetter, sender: Address, at: datetime) -> EmailMessage:
    """The whole message, ready for ``smtplib.SMTP.send_message``."""
    w = wording(letter.lang, "mail")
    quiz = letter.quiz
    msg = EmailMessage(policy=SMTP)
    msg["Subject"] = w["subject_quiz"].format(title=header_text(quiz.title), quiz=quiz.id) if quiz else w["subject"]
    msg["From"] = sender
    msg["To"] = recipient(letter.name, letter.email)
    msg["Date"] = format_datetime(at)
    msg["Message-ID"] = make_msgid(domain=sender.domain)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to the sender
    msg.set_content(letter_text(letter), charset="utf-8")
    msg["Content-Language"] = letter.lang  # after set_content, which replaces every Content-* header
    return msg
