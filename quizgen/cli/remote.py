"""The student's commands over HTTP: login, sync and receipts, and the remote halves of
submit, show and status (``--server``). Each parses, calls one function of
quizgen.client and prints the result it returns; they import neither the store
(SQLAlchemy) nor numpy nor TensorFlow."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..servers import Server
from .options import (
    allow_blank_option,
    blank_policy,
    emit_json,
    json_option,
    token_option,
    tries_option,
    warn_command_line_token,
)


def _note(text: str) -> None:
    click.echo(text, err=True)


def _echo(lines: list[str], err: bool = False) -> None:
    for line in lines:
        click.echo(line, err=err)


def _server(url: str, insecure_http: bool) -> Server:
    from ..resources import locale_language
    from ..servers import check_transport, parse_server

    server = parse_server(url)
    warning = check_transport(server, insecure_http)
    if warning is not None:
        _note(warning.say(locale_language()))
    return server


def _prompt(label: Any) -> str | None:
    """A hidden prompt, only where someone can answer it (a terminal)."""
    from ..resources import locale_language

    if not sys.stdin.isatty():
        return None
    return click.prompt(label.say(locale_language()), hide_input=True, default="", show_default=False) or None


def _credentials(server: Server, student: str | None, token: str | None):
    from ..client.credentials import resolve

    warn_command_line_token()
    return resolve(server, student, token, _prompt)


def _policy(tries: int = 1):
    from ..client.retry import RetryPolicy

    return RetryPolicy(tries=tries)


def submit_remote(server_url: str, insecure_http: bool, student: str | None, token: str | None, quiz: str,
                  answers: dict[str, str], tries: int, allow_blank: bool, as_json: bool) -> None:
    """``quizgen submit --server``: checked against the quiz, outbox, sent (with retries),
    receipt verified and kept."""
    from ..client.delivery import submit
    from ..ids import student_quiz_id

    server = _server(server_url, insecure_http)
    quiz_id = student_quiz_id(quiz)
    done = submit(_credentials(server, student, token), quiz_id, answers, _policy(tries), blank_policy(allow_blank),
                  note=_note)
    if as_json:
        emit_json(done.delivered.response)
    else:
        _echo(done.lines())
    _echo(done.notes(), err=True)


def show_remote(server_url: str, insecure_http: bool, student: str | None, token: str | None, quiz: str,
                as_json: bool) -> None:
    """``quizgen show --server``: this student's questions and the quiz's rules."""
    from ..client.quizzes import show
    from ..ids import student_quiz_id

    server = _server(server_url, insecure_http)
    quiz_id = student_quiz_id(quiz)
    shown = show(_credentials(server, student, token), quiz_id, _policy())
    if as_json:
        emit_json(shown.data)
    else:
        _echo(shown.lines())


def status_remote(server_url: str, insecure_http: bool, student: str | None, token: str | None, quiz: str,
                  as_json: bool) -> None:
    """``quizgen status --server``: this student's attempts and results, each receipt
    checked against the pinned key, printed as the local command prints them."""
    from ..client.status import status
    from ..ids import student_quiz_id

    server = _server(server_url, insecure_http)
    quiz_id = student_quiz_id(quiz)
    result = status(_credentials(server, student, token), quiz_id, _policy())
    if as_json:
        emit_json(result.data)
        return
    _echo(result.lines())
    if result.failure is not None:
        raise result.failure


@click.command()
@click.option("--server", envvar="QUIZGEN_SERVER", show_envvar=True, metavar="URL", required=True,
              help="The quiz server's URL, as your instructor gave it (https://...).")
@click.option("--student", "student_id", required=True, help="Your student id.")
@token_option
@click.option("--quiz", metavar="QUIZ", help="Check the id and token now, by opening this quiz (otherwise "
                                             "they are saved unchecked: no API call checks them alone).")
@click.option("--insecure-http", is_flag=True,
              help="Allow plain http:// to another machine (anyone on the network could read your token).")
@json_option
def login(server: str, student_id: str, token: str | None, quiz: str | None, insecure_http: bool,
          as_json: bool) -> None:
    """Save your student id and token for a quiz server, and pin its receipt key.

    The token is read from QUIZGEN_TOKEN or asked for (hidden); it is saved in
    credentials.json in your config folder (~/.config/quizgen), readable only by
    you. The server's receipt key is pinned: later receipts must be signed with it.

    \b
    Example:
      quizgen login --server https://quiz.example.ac.kr --student 20260001 --quiz 3
    """
    from ..client.login import login as log_in
    from ..ids import student_quiz_id

    where = _server(server, insecure_http)
    quiz_id = student_quiz_id(quiz) if quiz is not None else None
    warn_command_line_token()
    done = log_in(where, student_id, token, quiz_id, _policy(), _prompt)
    if as_json:
        emit_json(done.to_json())
    else:
        _echo(done.notes(), err=True)


@click.command()
@click.option("--server", envvar="QUIZGEN_SERVER", show_envvar=True, metavar="URL",
              help="Only the submissions for this server [default: every server].")
@click.option("--student", "student_id", help="Only this student's submissions.")
@token_option
@click.option("--insecure-http", is_flag=True,
              help="Allow plain http:// to another machine (anyone on the network could read your token).")
@allow_blank_option
@tries_option
@json_option
def sync(server: str | None, student_id: str | None, token: str | None, insecure_http: bool, allow_blank: bool,
         tries: int, as_json: bool) -> None:
    """Send the submissions waiting in the outbox (same idempotency keys).

    Each is sent under the key it got when you submitted, so the server stores it
    once however often it is sent; each one not delivered is listed with why.
    A submission saved while its quiz could not be fetched is checked for blank
    answers first (asked on a terminal, or sent with --allow-blank). Exit 0: all
    delivered; 75: some still wait (try again later); 1: some were refused or held.

    \b
    Example:
      quizgen sync
    """
    from ..client.syncing import sync_outbox
    from ..servers import parse_server

    cache: dict[tuple[str, str], Any] = {}

    def credentials_for(entry: Any) -> Any:
        if (entry.server, entry.student) not in cache:
            where = _server(entry.server, insecure_http)
            cache[entry.server, entry.student] = _credentials(where, entry.student, token)
        return cache[entry.server, entry.student]

    only = parse_server(server).url if server is not None else None
    report = sync_outbox(only, student_id, credentials_for, _policy(tries), blank_policy(allow_blank), _note)
    if as_json:
        emit_json(report.to_json())
    else:
        _echo(report.lines())
    _echo(report.notes(), err=True)
    if report.exit_code:
        sys.exit(report.exit_code)


@click.command()
@click.option("--server", envvar="QUIZGEN_SERVER", show_envvar=True, metavar="URL",
              help="Only the receipts from this server [default: every server].")
@click.option("--verify", "check", is_flag=True,
              help="Check every receipt again: signature (pinned key) and the answers it covers.")
@json_option
def receipts(server: str | None, check: bool, as_json: bool) -> None:
    """List the receipts the quiz servers signed for you (--verify: check them).

    Receipts are kept in receipts/ in your data folder (~/.local/share/quizgen);
    those that failed their check on arrival are kept aside in receipts/suspicious/.
    Times are shown in the quiz's zone (and yours, when it differs).

    \b
    Example:
      quizgen receipts --verify
    """
    from ..client.receipts import listing
    from ..servers import parse_server

    only = parse_server(server).url if server is not None else None
    found = listing(only, check)
    if as_json:
        emit_json([row.to_json() for row in found.rows])
    else:
        _echo(found.lines())
        _echo(found.notes(), err=True)
    if found.failure is not None:
        raise found.failure
