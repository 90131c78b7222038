"""Tokens by e-mail (quizgen roster send-tokens), against a real SMTP server on 127.0.0.1.

What is checked is the state the rule protects: which token authenticates afterwards,
through the library's own ``authenticate``. A token reaches the database only once the
SMTP server accepted its message; a student whose message failed keeps the old token."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from quizgen.classroom.mailing import MailError, MailRequest, SmtpServer, mail_tokens
from quizgen.classroom.students import AuthError, authenticate
from quizgen.store.db import open_store

from .helpers import Klass, make_class
from .smtpserver import PASSWORD, USER
from .smtpserver import SmtpTestServer as Smtp

URL = "https://quiz.example.ac.kr"
EMAILS = {"20260001": "a@example.ac.kr", "20260002": "b@example.ac.kr", "20260003": "c@example.ac.kr",
          "20260004": "d@example.ac.kr"}


@pytest.fixture
def klass(tmp_path: Path) -> Klass:
    return make_class(tmp_path, "--deadline", "2027-12-01 18:00", "--tz", "Asia/Seoul",
                      "--late-until", "2027-12-02 09:00")


def works(db: Path | str, student: str, token: str) -> bool:
    """Whether this token authenticates this student, asked of the library."""
    store = open_store(str(db))
    try:
        with store.read() as session:
            authenticate(session, student, token)
        return True
    except AuthError:
        return False
    finally:
        store.dispose()


def mailed_token(body: str) -> str:
    return re.search(r"^(?:토큰|Token): (\S+)$", body, re.M).group(1)  # type: ignore[union-attr]


def send(klass: Klass, smtp: Smtp, *args: str, env: dict[str, str] | None = None):
    return klass.run("roster", "send-tokens", "--smtp-host", "127.0.0.1", "--smtp-port", str(smtp.port),
                     "--from", "강의 조교 <quiz@example.ac.kr>", "--server-url", URL, *args, env=env)


def test_without_yes_it_lists_and_sends_nothing(klass, tmp_path):
    with Smtp(tmp_path) as smtp:
        out = send(klass, smtp, "--all", "--quiz", str(klass.quiz))
    assert out.exit_code == 0, out.output
    assert [line.split("\t")[0] for line in out.stdout.splitlines()] == sorted(EMAILS)
    assert "Add --yes to send" in out.stderr
    assert smtp.handler.received == []
    assert all(works(klass.db, s, t) for s, t in klass.tokens.items())


def test_starttls_and_login_each_student_gets_a_working_token(klass, tmp_path):
    with Smtp(tmp_path, mode="starttls", login=True) as smtp:
        out = send(klass, smtp, "--all", "--quiz", str(klass.quiz), "--starttls", "--smtp-user", USER, "--yes",
                   env={"QUIZGEN_SMTP_PASSWORD": PASSWORD, "SSL_CERT_FILE": str(smtp.cert)})
    assert out.exit_code == 0, out.output
    assert smtp.handler.logins == [USER]
    assert sorted(r.recipients[0] for r in smtp.handler.received) == sorted(EMAILS.values())
    for student, address in EMAILS.items():
        got = smtp.handler.to(address)
        assert got.raw.isascii(), "MIME: headers encoded, body in a transfer encoding"
        msg = got.message
        assert msg.get_content_type() == "text/plain" and msg.get_content_charset() == "utf-8"
        assert msg["Subject"] == f"점검 퀴즈 (퀴즈 {klass.quiz}) 제출 토큰"
        assert msg["From"].addresses[0].display_name == "강의 조교"
        assert msg["To"].addresses[0].addr_spec == address
        assert msg["Message-ID"] and msg["Date"] and msg["Content-Language"] == "ko"
        body = got.body
        token = mailed_token(body)
        assert f"학번: {student}" in body and f"서버 주소: {URL}" in body
        assert "마감: 2027-12-01 18:00 +09:00 (Asia/Seoul)" in body
        assert "지각 제출: 2027-12-02 09:00 +09:00 (Asia/Seoul)까지" in body
        assert f"quizgen login --server {URL} --student {student} --quiz {klass.quiz}" in body
        assert token not in URL and "?" not in body.split("서버 주소: ")[1].split()[0]
        assert works(klass.db, student, token)
        assert not works(klass.db, student, klass.tokens[student])
    first = smtp.handler.to(EMAILS["20260001"])
    assert b"=?utf-8?" in first.raw.split(b"\r\n\r\n")[0]  # the Korean name and subject, RFC 2047
    assert first.message["To"].addresses[0].display_name == "김민준"


def test_a_refused_recipient_keeps_the_old_token(klass, tmp_path):
    refused = EMAILS["20260002"]
    with Smtp(tmp_path, mode="starttls", refuse={refused}) as smtp:
        out = send(klass, smtp, "--all", "--quiz", str(klass.quiz), "--starttls", "--yes",
                   env={"SSL_CERT_FILE": str(smtp.cert)})
    assert out.exit_code == 1
    assert "Not sent (1; their old tokens still work)" in out.stderr
    assert re.search(r"20260002\t이서연\tb@example.ac.kr: recipient refused: 550", out.stderr)
    assert works(klass.db, "20260002", klass.tokens["20260002"])
    for student, address in EMAILS.items():
        if address == refused:
            continue
        assert works(klass.db, student, mailed_token(smtp.handler.to(address).body))
        assert not works(klass.db, student, klass.tokens[student])


class _Closing:
    """A handler that answers one message's DATA with 421 (the server is closing the link)."""

    def __init__(self, recorder, address):
        self.recorder, self.address = recorder, address

    async def handle_RCPT(self, *args):
        return await self.recorder.handle_RCPT(*args)

    async def handle_DATA(self, server, session, envelope):
        if self.address in envelope.rcpt_tos:
            return "421 4.3.2 closing the connection"
        return await self.recorder.handle_DATA(server, session, envelope)


def test_a_dropped_connection_fails_that_message_and_the_rest_go_out(klass, tmp_path):
    smtp = Smtp(tmp_path)
    smtp.controller.handler = _Closing(smtp.handler, EMAILS["20260003"])
    with smtp:
        report = mail_tokens(_store(klass), MailRequest(URL, False, None, str(klass.quiz)),
                             SmtpServer("127.0.0.1", smtp.port, "plain", "quiz@example.ac.kr"), send=True)
    assert [a.student for a in report.sent] == ["20260001", "20260002", "20260004"]
    assert [(a.student, why[:3]) for a, why in report.failed] == [("20260003", "421")]
    assert works(klass.db, "20260003", klass.tokens["20260003"])
    assert works(klass.db, "20260004", mailed_token(smtp.handler.to(EMAILS["20260004"]).body))


def _store(klass: Klass):
    return open_store(str(klass.db))


def test_implicit_tls_in_english_and_students_without_an_address(klass, tmp_path):
    assert klass.run("roster", "add", "--id", "20260005", "--name", "Nobody Withoutmail").exit_code == 0
    store = _store(klass)
    with Smtp(tmp_path, mode="ssl") as smtp:
        report = mail_tokens(store, MailRequest(URL, False, None, None, "en"),
                             SmtpServer("127.0.0.1", smtp.port, "ssl", "quiz@example.ac.kr",
                                        context=smtp.client_context()), send=True)
    assert [a.student for a in report.no_address] == ["20260005"]
    assert len(report.sent) == 4 and report.failed == []
    body = smtp.handler.to(EMAILS["20260003"]).body
    assert body.startswith("Dear 박지후,") and "Student id: 20260003" in body and "Deadline" not in body
    assert "quizgen login --server https://quiz.example.ac.kr --student 20260003\n" in body
    assert smtp.handler.to(EMAILS["20260003"]).message["Subject"] == "Your quizgen submission token"


def test_the_cli_names_students_without_an_address(klass, tmp_path):
    assert klass.run("roster", "add", "--id", "20260005", "--name", "Nobody Withoutmail").exit_code == 0
    with Smtp(tmp_path) as smtp:
        out = send(klass, smtp, "--student", "20260005", "--student", "20260001", "--lang", "en", "--yes")
    assert out.exit_code == 0, out.output
    assert "No e-mail address (1;" in out.stderr and "20260005\tNobody Withoutmail" in out.stderr
    assert [r.recipients for r in smtp.handler.received] == [[EMAILS["20260001"]]]


def test_an_untrusted_certificate_stops_before_anything_is_sent(klass, tmp_path):
    with Smtp(tmp_path, mode="starttls") as smtp:
        out = send(klass, smtp, "--all", "--quiz", str(klass.quiz), "--starttls", "--yes")
    assert out.exit_code == 1
    assert out.stderr.startswith(f"Error: cannot use the SMTP server 127.0.0.1:{smtp.port}: ")
    assert "CERTIFICATE_VERIFY_FAILED" in out.stderr and len(out.stderr.splitlines()) == 1
    assert smtp.handler.received == []
    assert all(works(klass.db, s, t) for s, t in klass.tokens.items())


def test_a_refused_login_stops_before_anything_is_sent(klass, tmp_path):
    with Smtp(tmp_path, mode="starttls", login=True) as smtp:
        out = send(klass, smtp, "--all", "--quiz", str(klass.quiz), "--starttls", "--smtp-user", USER, "--yes",
                   env={"QUIZGEN_SMTP_PASSWORD": "wrong", "SSL_CERT_FILE": str(smtp.cert)})
    assert out.exit_code == 1
    assert f"refused the login of '{USER}' (535" in out.stderr
    assert "wrong" not in out.stderr
    assert smtp.handler.received == []
    assert all(works(klass.db, s, t) for s, t in klass.tokens.items())


def test_no_password_over_a_plain_connection_to_another_machine(klass):
    smtp = SmtpServer("smtp.example.invalid", None, "plain", "quiz@example.ac.kr", USER, PASSWORD)
    with pytest.raises(MailError, match="without TLS"):
        mail_tokens(_store(klass), MailRequest(URL, False, None, str(klass.quiz)), smtp, send=True)
    assert all(works(klass.db, s, t) for s, t in klass.tokens.items())


def test_refusals_before_anything_is_sent(klass, tmp_path):
    with Smtp(tmp_path) as smtp:
        cases = {
            ("--all",): "give --lang",
            ("--all", "--quiz", str(klass.quiz), "--server-url", "http://quiz.example.ac.kr"): "plain http",
            ("--student", "20269999", "--quiz", str(klass.quiz)): "not on quiz 1",
            ("--all", "--quiz", str(klass.quiz), "--from", "not an address"): "is not an e-mail address",
        }
        for args, message in cases.items():
            out = send(klass, smtp, *args, "--yes")
            assert out.exit_code in (1, 2) and message in out.stderr, (args, out.output)
        out = send(klass, smtp, "--quiz", str(klass.quiz), "--yes")
        assert out.exit_code == 2 and "--all, or --student" in out.stderr
        out = send(klass, smtp, "--all", "--quiz", str(klass.quiz), "--smtp-user", USER, "--yes")
        assert out.exit_code == 2 and "QUIZGEN_SMTP_PASSWORD" in out.stderr
    assert smtp.handler.received == []
    assert all(works(klass.db, s, t) for s, t in klass.tokens.items())


def test_json_report(klass, tmp_path):
    with Smtp(tmp_path, refuse={EMAILS["20260004"]}) as smtp:
        out = send(klass, smtp, "--all", "--quiz", str(klass.quiz), "--yes", "--json")
    assert out.exit_code == 1
    report = json.loads(out.stdout)
    assert [s["id"] for s in report["sent"]] == ["20260001", "20260002", "20260003"]
    assert report["failed"][0]["id"] == "20260004" and "550" in report["failed"][0]["reason"]
    assert all(mailed_token(r.body) not in out.stdout for r in smtp.handler.received)
