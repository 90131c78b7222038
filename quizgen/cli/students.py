"""Commands about students: the roster, submitting, and a student's own status."""

from __future__ import annotations

import click

from .options import (
    StudentUsageError,
    allow_blank_option,
    blank_policy,
    emit_json,
    json_option,
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


@roster.command("import")
@click.argument("file", metavar="FILE.csv")
@json_option
@click.pass_context
def roster_import(ctx: click.Context, file: str, as_json: bool) -> None:
    """Import students from a CSV (id,name,email; UTF-8, BOM or not); all or none.

    \b
    Example:
      quizgen roster import class.csv > tokens.tsv
    """
    from ..classroom.roster import read_roster
    from ..classroom.students import add_students

    _print_tokens(add_students(open_store(ctx, create=True), read_roster(file)), as_json)


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
    from ..classroom.submissions import submit_sheet
    from ..resources import locale_language

    assert student_id is not None  # require_student above
    receipt = submit_sheet(open_store(ctx), quiz, student_id, token, given, blanks=blank_policy(allow_blank),
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
