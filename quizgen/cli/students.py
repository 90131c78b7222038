"""Commands about students: the roster, submitting, and a student's own status."""

from __future__ import annotations

import os

import click

from ..errors import one_line
from ..questions.catalog import LANGS
from .options import (
    Bar,
    StudentUsageError,
    allow_blank_option,
    blank_policy,
    emit_json,
    json_option,
    open_signing,
    open_store,
    parsed_by,
    quiz_argument,
    require_student,
    server_options,
    student_options,
    tries_option,
)


@click.group()
def roster() -> None:
    """The class roster and submission tokens.

    \b
    Example:
      quizgen roster import class.csv
    """


def _print_tokens(issued, as_json: bool) -> None:
    if as_json:
        emit_json([t.to_json() for t in issued])
        return
    click.echo("Tokens are shown once; hand each student their own.", err=True)
    for t in issued:
        click.echo(f"{t.student}\t{t.name}\t{t.token}")


@roster.command("add")
@click.option("--id", "student_id", required=True, help="Student id (as in the school's records).")
@click.option("--name", required=True, help="The student's name.")
@click.option("--email", help="The student's email address.")
@json_option
@click.pass_context
def roster_add(ctx: click.Context, student_id: str, name: str, email: str | None, as_json: bool) -> None:
    """Add one student and print their token (shown once).

    \b
    Example:
      quizgen roster add --id 20260031 --name 김하늘 --email sky@example.ac.kr
    """
    from ..classroom.roster import make_entry
    from ..classroom.students import add_students

    entry = make_entry(student_id, name, email, "roster add")
    _print_tokens(add_students(open_store(ctx, create=True), [entry]), as_json)


def _check_encoding(value: str) -> str:
    from ..classroom.roster import check_encoding

    return check_encoding(value)


@roster.command("import")
@click.argument("file", metavar="FILE.csv")
@click.option("--encoding", metavar="NAME", callback=parsed_by(_check_encoding),
              help="The file's encoding (utf-8, cp949, euc-kr...) [default: detected: UTF-8 with or without a BOM, "
                   "or CP949 as Excel saves on Korean Windows].")
@json_option
@click.pass_context
def roster_import(ctx: click.Context, file: str, encoding: str | None, as_json: bool) -> None:
    """Import students from a CSV (id,name,email or 학번,이름,이메일; UTF-8 or CP949); all or none.

    \b
    Example:
      quizgen roster import class.csv > tokens.tsv
    """
    from ..classroom.roster import read_roster
    from ..classroom.students import add_students

    _print_tokens(add_students(open_store(ctx, create=True), read_roster(file, encoding)), as_json)


@roster.command("list")
@json_option
@click.pass_context
def roster_list(ctx: click.Context, as_json: bool) -> None:
    """List students (never their tokens).

    \b
    Example:
      quizgen roster list --json
    """
    from ..classroom.students import list_students

    students = list_students(open_store(ctx))
    if as_json:
        emit_json([s.to_json() for s in students])
        return
    for s in students:
        click.echo(f"{s.id}\t{s.name}\t{s.email or ''}\t{'token issued' if s.has_token else 'no token'}")


@roster.command("reset-token")
@click.argument("student_id", metavar="ID")
@json_option
@click.pass_context
def roster_reset_token(ctx: click.Context, student_id: str, as_json: bool) -> None:
    """Issue a new token for a student (the old one stops working).

    \b
    Example:
      quizgen roster reset-token 20260001
    """
    from ..classroom.students import reset_token

    _print_tokens([reset_token(open_store(ctx), student_id)], as_json)


@roster.command("send-tokens")
@click.option("--all", "everyone", is_flag=True, help="Every student on the quiz (with --quiz), else on the roster.")
@click.option("--student", "students", multiple=True, metavar="ID", help="A student to mail (repeatable).")
@click.option("--smtp-host", required=True, metavar="HOST", help="The SMTP server that takes the messages.")
@click.option("--smtp-port", type=click.IntRange(1, 65535), metavar="PORT",
              help="Its port [default: 587 with --starttls, 465 with --ssl, else 25].")
@click.option("--starttls", "security", flag_value="starttls", help="Upgrade the connection with STARTTLS.")
@click.option("--ssl", "security", flag_value="ssl", help="TLS from the start (SMTPS).")
@click.option("--smtp-user", metavar="USER",
              help="Log in as USER; the password is read from QUIZGEN_SMTP_PASSWORD (never from the command line).")
@click.option("--from", "sender", required=True, metavar="ADDR",
              help='The sender: quiz@example.ac.kr or "Name <quiz@example.ac.kr>".')
@click.option("--server-url", required=True, metavar="URL", help="The quiz server students submit to (https://...).")
@click.option("--insecure-http", is_flag=True, help="Allow a plain http:// server URL for another machine.")
@click.option("--quiz", metavar="QUIZ", help="Mention this quiz (title, deadline) and mail only students on it.")
@click.option("--lang", type=click.Choice(LANGS), help="The messages' language [default: the quiz's].")
@click.option("--yes", is_flag=True, help="Send (default: list who would get a message and send nothing).")
@json_option
@click.pass_context
def roster_send_tokens(ctx: click.Context, everyone: bool, students: tuple[str, ...], smtp_host: str,
                       smtp_port: int | None, security: str | None, smtp_user: str | None, sender: str,
                       server_url: str, insecure_http: bool, quiz: str | None, lang: str | None, yes: bool,
                       as_json: bool) -> None:
    """E-mail each chosen student a fresh token (their old token stops working).

    Without --yes, lists who would get a message. With --yes, each student with an
    address gets a new token in a message of their own (the server URL, their id, the
    token, how to log in from the page and with 'quizgen login', and with --quiz the
    quiz's title and deadline). A new token is saved only after the SMTP server accepted
    its message, so a student whose message failed keeps their old token; failures and
    students without an address are named at the end (exit 1 if any message failed).

    \b
    Example:
      quizgen roster send-tokens --all --quiz 1 --smtp-host smtp.example.ac.kr --starttls \\
          --smtp-user quiz --from quiz@example.ac.kr --server-url https://quiz.example.ac.kr --yes
    """
    import os

    from ..classroom.mailing import MailRequest, SmtpServer, mail_tokens

    if everyone == bool(students):
        raise click.UsageError("choose the students: --all, or --student ID (repeatable)")
    password = os.environ.get("QUIZGEN_SMTP_PASSWORD")
    if smtp_user is not None and not password:
        raise click.UsageError("--smtp-user needs the password in QUIZGEN_SMTP_PASSWORD")
    smtp = SmtpServer(smtp_host, smtp_port, security or "plain", sender, smtp_user,
                      password if smtp_user is not None else None)
    request = MailRequest(server_url, insecure_http, None if everyone else tuple(dict.fromkeys(students)), quiz,
                          lang)
    bar = Bar("Sending")
    try:
        report = mail_tokens(open_store(ctx), request, smtp, send=yes, progress=None if as_json else bar)
    finally:
        bar.close()
    if as_json:
        emit_json(report.to_json())
    else:
        _print_mail_report(report)
    if report.failed:
        ctx.exit(1)


def _print_mail_report(report) -> None:
    where = f" (quiz {report.quiz.id})" if report.quiz else ""
    if report.dry_run:
        click.echo(f"Would send {len(report.chosen)} message(s) in {report.lang}{where}, each with a new token "
                   "(the old one stops working):", err=True)
        for a in report.chosen:
            click.echo(f"{a.student}\t{a.name}\t{a.email}")
    else:
        click.echo(f"Sent {len(report.sent)} of {len(report.chosen)} message(s){where}; each of these students "
                   "now has a new token (the old one no longer works):", err=True)
        for a in report.sent:
            click.echo(f"{a.student}\t{a.name}\t{a.email}")
    if report.failed:
        click.echo(f"Not sent ({len(report.failed)}; their old tokens still work):", err=True)
        for a, why in report.failed:
            click.echo(f"  {a.student}\t{a.name}\t{a.email}: {one_line(why, 300)}", err=True)
    if report.no_address:
        click.echo(f"No e-mail address ({len(report.no_address)}; put their addresses in a roster CSV and run "
                   "'quizgen quiz add-students QUIZ --students FILE', which updates them):", err=True)
        for a in report.no_address:
            click.echo(f"  {a.student}\t{a.name}", err=True)
    if report.dry_run:
        click.echo("Nothing was sent. Add --yes to send.", err=True)


def _pairs(values: tuple[str, ...]) -> dict[str, str]:
    from ..classroom.answersheets import parse_answer_args

    return parse_answer_args(values)


@click.command()
@quiz_argument
@student_options
@click.option("--answer", "answers", multiple=True, metavar="N=VALUE", callback=parsed_by(_pairs),
              help='An answer, e.g. --answer 1=529,441 --answer 3="(None, 30, 100)" --answer 4.2=500000.')
@click.option("--file", "answers_file", metavar="FILE", help="Answers from answers.json or answers.csv.")
@allow_blank_option
@server_options
@tries_option
@json_option
@click.pass_context
def submit(ctx: click.Context, quiz: str, student_id: str | None, token: str | None, answers: dict[str, str],
           answers_file: str | None, allow_blank: bool, server: str | None, insecure_http: bool, tries: int,
           as_json: bool) -> None:
    """Submit answers to a quiz (one attempt), locally or to a quiz server.

    Questions or parts left unanswered are named first: on a terminal you are asked
    whether to submit anyway; elsewhere nothing is sent unless --allow-blank.
    With --server, the submission is first saved in the outbox, then sent (and sent
    again, under the same idempotency key, if the network fails); the server's signed
    receipt is checked and kept. A submission that could not be delivered waits in
    the outbox for 'quizgen sync' (exit 75).

    \b
    Example:
      export QUIZGEN_TOKEN=...
      quizgen submit 1 --student 20260001 --answer 1=529,441 --answer 2="(None, 128)"
      quizgen submit 1 --server https://quiz.example.ac.kr --file answers.json
    """
    from ..classroom.answersheets import read_answers_file
    from ..resources import phrase

    if bool(answers) == bool(answers_file):
        raise StudentUsageError(phrase("student_answers_how"))
    if server is None:
        student_id = require_student(student_id)
    given = read_answers_file(answers_file) if answers_file else answers
    if server is not None:
        from .remote import submit_remote

        submit_remote(server, insecure_http, student_id, token, quiz, given, tries, allow_blank, as_json)
        return
    from ..classroom.attempts import submit_sheet
    from ..resources import locale_language

    assert student_id is not None  # require_student above
    # signed with the server's key, as the service would (QUIZGEN_KEY_FILE, else the default place)
    receipt = submit_sheet(open_store(ctx), quiz, student_id, token, given,
                           open_signing(ctx, os.environ.get("QUIZGEN_KEY_FILE")), blanks=blank_policy(allow_blank),
                           lang=locale_language())
    if as_json:
        emit_json(receipt.to_json())
        return
    first, *rest = receipt.lines()
    click.echo(first)
    for line in rest:
        click.echo(line, err=True)


@click.command()
@quiz_argument
@student_options
@server_options
@json_option
@click.pass_context
def status(ctx: click.Context, quiz: str, student_id: str | None, token: str | None, server: str | None,
           insecure_http: bool, as_json: bool) -> None:
    """Your attempts on a quiz and, as the quiz allows, your scores and feedback.

    \b
    Example:
      quizgen status 1 --student 20260001
      quizgen status 1 --server https://quiz.example.ac.kr
    """
    if server is not None:
        from .remote import status_remote

        status_remote(server, insecure_http, student_id, token, quiz, as_json)
        return
    from ..classroom.submissions import student_status
    from ..client.screens import status_lines
    from ..resources import locale_language

    student_id = require_student(student_id)
    report = student_status(open_store(ctx), quiz, student_id, token, locale_language())
    if as_json:
        emit_json(report.to_json())
        return
    for line in status_lines(report.to_json(), report.title, report.time_zone, report.language):
        click.echo(line)
