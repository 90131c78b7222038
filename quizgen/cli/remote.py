"""The student's commands over HTTP: login, sync and receipts, and the remote halves of
submit, show and status (``--server``). They parse, call quizgen.client and print;
they import neither the store (SQLAlchemy) nor numpy nor TensorFlow."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..resources import message
from ..servers import Server
from .options import emit_json, json_option, token_option, tries_option, warn_command_line_token


def _note(message: str) -> None:
    click.echo(message, err=True)


def _server(url: str, insecure_http: bool) -> Server:
    from ..servers import check_transport, parse_server

    server = parse_server(url)
    warning = check_transport(server, insecure_http)
    if warning:
        _note(warning)
    return server


def _prompt(label: str) -> str | None:
    """A hidden prompt, only where someone can answer it (a terminal)."""
    if not sys.stdin.isatty():
        return None
    return click.prompt(label, hide_input=True, default="", show_default=False) or None


def _credentials(server: Server, student: str | None, token: str | None):
    from ..client.credentials import resolve

    warn_command_line_token()
    return resolve(server, student, token, _prompt)


def _policy(tries: int = 1):
    from ..client.retry import RetryPolicy

    return RetryPolicy(tries=tries)


def _results_lines(data: dict[str, Any], language: str | None = None) -> list[str]:
    """Score and per-question feedback, as far as the server's answer carries them (the
    server already applied the quiz's feedback policy); a slip the server names only by
    its code is worded from data/misconceptions.json in the quiz's language."""
    if data.get("score") is None:
        return []
    slips: dict[str, str] = {}
    if language is not None:
        from ..resources import load_json

        slips = load_json("misconceptions.json").get(language, {})
    lines = [message(language or "en", "score", score=_number(data["score"]), max=_number(data.get("max_score")))]
    for q in data.get("questions") or []:
        answered = q.get("correct") is not None or q.get("score") is not None
        mark = "–" if not answered else ("✓" if q.get("correct") else "✗")
        line = f"  {q.get('slot')}. {mark} {_number(q.get('score') or 0)}/{_number(q.get('points'))}"
        slip = q.get("feedback") or slips.get(q.get("misconception") or "") or q.get("misconception")
        if slip and not q.get("correct"):
            line += f" — {slip}"
        lines.append(line)
    return lines


def _number(value: Any) -> str:
    """A score as the local commands print it (``7.5``, ``8``); whatever else a server sent, as text."""
    return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def _receipt_line(delivered: Any) -> str:
    """The receipt line the local ``submit`` prints, in the quiz's language (the server says which)."""
    r = delivered.response
    lang = r.get("language") or "en"
    told = message(lang, "recorded_late" if r.get("late") else "recorded", attempt=r.get("attempt"),
                   quiz=r.get("quiz"), answers=r.get("answers"), time=r.get("received_local") or r.get("received_at"))
    again = message(lang, "replayed") if delivered.replayed else ""
    return told.rstrip(".") + message(lang, "receipt_verified") + again + "."


def submit_remote(server_url: str, insecure_http: bool, student: str | None, token: str | None, quiz: str,
                  answers: dict[str, str], tries: int, as_json: bool) -> None:
    """``quizgen submit --server``: outbox, send (with retries), verify and keep the receipt."""
    from ..client.delivery import submit
    from ..client.outbox import pending
    from ..ids import parse_quiz_id

    server = _server(server_url, insecure_http)
    quiz_id = parse_quiz_id(quiz)
    credentials = _credentials(server, student, token)
    delivered = submit(credentials, quiz_id, answers, _policy(tries), note=_note)
    if as_json:
        emit_json(delivered.response)
    else:
        click.echo(_receipt_line(delivered))
        for line in _results_lines(delivered.response, delivered.response.get("language")):
            click.echo(line)
    waiting = [e for e in pending(server.url) if e.student == credentials.student]
    if waiting:
        _note(f"{len(waiting)} earlier submission(s) still wait in the outbox; run 'quizgen sync'.")


def show_remote(server_url: str, insecure_http: bool, student: str | None, token: str | None, quiz: str,
                as_json: bool) -> None:
    """``quizgen show --server``: this student's questions and the quiz's rules."""
    from ..client.api import Api
    from ..ids import parse_quiz_id

    server = _server(server_url, insecure_http)
    credentials = _credentials(server, student, token)
    with Api(server, credentials, _policy()) as api:
        data = api.quiz(parse_quiz_id(quiz))
    if as_json:
        emit_json(data)
        return
    info = data.get("quiz") or {}
    click.echo(f"# {info.get('title')}  (quiz {info.get('id')}, student {data.get('student')})")
    rules = []
    if info.get("deadline_local") or info.get("deadline"):
        rules.append(f"deadline {info.get('deadline_local') or info.get('deadline')}")
    if info.get("attempt_limit") is not None:
        rules.append(f"attempts left {info.get('attempts_left')} of {info.get('attempt_limit')}")
    if info.get("feedback"):
        rules.append(f"feedback: {info['feedback']}")
    if info.get("open") is False:
        rules.append("closed")
    lang = info.get("language") or "en"
    if info.get("counting") in ("last", "best"):
        rules.append(message(lang, f"counting_{info['counting']}"))
    click.echo((", ".join(rules) + "\n") if rules else "")
    for q in data.get("questions") or []:
        click.echo(f"## {q.get('slot')}. [{q.get('kind')}, {q.get('points')} pt]\n{q.get('prompt')}")
        response = q.get("response") or {}
        for n, part in enumerate(response.get("parts") or [], start=1):
            label = part.get("label")
            label = label.get(lang) or label.get("en") if isinstance(label, dict) else label
            click.echo(f"  {q.get('slot')}.{n}: {label or part.get('key')}")
        click.echo()


def status_remote(server_url: str, insecure_http: bool, student: str | None, token: str | None, quiz: str,
                  as_json: bool) -> None:
    """``quizgen status --server``: this student's attempts and results, as the quiz allows,
    each attempt's receipt checked against the pinned key; printed as the local command
    prints them (the quiz's title, times in its zone, slips in its language)."""
    from ..client.api import Api
    from ..client.credentials import pinned_keys
    from ..client.receipts import ReceiptError, verify_signature
    from ..ids import parse_quiz_id

    server = _server(server_url, insecure_http)
    credentials = _credentials(server, student, token)
    quiz_id = parse_quiz_id(quiz)
    with Api(server, credentials, _policy()) as api:
        data = api.submissions(quiz_id)
        if as_json:
            emit_json(data)
            return
        info = api.quiz(quiz_id).get("quiz") or {}
    keys = pinned_keys(server)
    zone, language = info.get("time_zone") or "UTC", info.get("language") or "en"
    attempts = data.get("attempts") or []
    limit = message(language, "status_limit", limit=data["attempt_limit"]) if data.get("attempt_limit") else ""
    click.echo(message(language, "status_head", title=info.get("title"), quiz=data.get("quiz"),
                       student=data.get("student"), count=len(attempts), limit=limit))
    bad = 0
    for a in attempts:
        mark = ""
        receipt = a.get("receipt")
        if receipt is not None:
            try:
                verify_signature(receipt, keys)
                if (receipt.get("quiz"), receipt.get("student"), receipt.get("attempt")) != \
                        (data.get("quiz"), data.get("student"), a.get("attempt")):
                    raise ReceiptError("the receipt names another quiz, student or attempt")
                mark = message(language, "receipt_verified")
            except ReceiptError as exc:
                bad += 1
                mark = message(language, "receipt_rejected", why=exc)
        click.echo(message(language, "status_attempt", attempt=a.get("attempt"), answers=a.get("answers"),
                           time=_local_time(a.get("submitted_at"), zone)) + mark)
    lines = _results_lines(data, language)
    if lines:
        for line in lines:
            click.echo(line)
    elif data.get("graded") and data.get("score") is None:
        click.echo(message(language, "graded_hidden"))
    else:
        click.echo(message(language, "not_graded" if attempts else "no_attempts"))
    if bad:
        raise click.ClickException(f"{bad} receipt(s) from {server} do not verify against its pinned key")


def _local_time(stamp: Any, zone: str) -> str:
    """An ISO instant from the server as the quiz's people read it (as it came, if unreadable)."""
    from datetime import datetime

    from ..clock import show
    from ..errors import QuizgenError

    try:
        return show(datetime.fromisoformat(stamp), zone, seconds=True)
    except (TypeError, ValueError, QuizgenError):  # not a time, or a zone this machine cannot read
        return str(stamp)


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
    from ..client.api import Api
    from ..client.credentials import (
        Credentials,
        CredentialsError,
        check_token,
        parse_receipt_key,
        pin_key,
        pinned_keys,
        save_login,
    )
    from ..ids import parse_quiz_id

    where = _server(server, insecure_http)
    quiz_id = parse_quiz_id(quiz) if quiz is not None else None
    warn_command_line_token()
    token = token if token is not None else _prompt(f"Token for {student_id} on {where}")
    if token is None:
        raise CredentialsError("no token: set QUIZGEN_TOKEN (or run this in a terminal to be asked for it)")
    check_token(student_id, token)
    credentials = Credentials(where, student_id, token)
    with Api(where, credentials, _policy()) as api:
        key = parse_receipt_key(api.receipt_key())
        if quiz_id is not None:
            api.quiz(quiz_id)
    before = pinned_keys(where)
    pin_key(where, key)
    path = save_login(credentials)
    if as_json:
        emit_json({"server": where.url, "student_id": student_id, "credentials": str(path), "checked_quiz": quiz_id,
                   "receipt_key_id": key.key_id, "key_changed": bool(before) and key.key_id not in before})
        return
    checked = f"checked on quiz {quiz_id}" if quiz_id is not None else "not checked: add --quiz QUIZ to check them"
    _note(f"Logged in to {where} as {student_id}; id and token saved in {path}, readable only by you ({checked}).")
    if before and key.key_id not in before:
        _note(f"Warning: {where} signs receipts with a new key {key.key_id} (pinned before: "
              f"{', '.join(sorted(before))}); receipts signed with the old key still verify. If your instructor "
              "did not announce a new key, tell them.")
    elif not before:
        _note(f"Pinned its receipt key {key.key_id}.")


@click.command()
@click.option("--server", envvar="QUIZGEN_SERVER", show_envvar=True, metavar="URL",
              help="Only the submissions for this server [default: every server].")
@click.option("--student", "student_id", help="Only this student's submissions.")
@token_option
@click.option("--insecure-http", is_flag=True,
              help="Allow plain http:// to another machine (anyone on the network could read your token).")
@tries_option
@json_option
def sync(server: str | None, student_id: str | None, token: str | None, insecure_http: bool, tries: int,
         as_json: bool) -> None:
    """Send the submissions waiting in the outbox (same idempotency keys).

    Each is sent under the key it got when you submitted, so the server stores it
    once however often it is sent. Exit 0: all delivered; 75: some still wait
    (try again later); 1: some were refused.

    \b
    Example:
      quizgen sync
    """
    from ..client import outbox
    from ..client.delivery import SuspiciousReceipt, Undelivered
    from ..client.delivery import sync as send_all
    from ..servers import parse_server

    only = parse_server(server).url if server is not None else None
    entries = [e for e in outbox.pending(only) if student_id is None or e.student == student_id]
    if not entries:
        _note("The outbox is empty; nothing to send.")
        if as_json:
            emit_json([])
        return
    cache: dict[tuple[str, str], Any] = {}

    def credentials_for(entry: Any) -> Any:
        if (entry.server, entry.student) not in cache:
            where = _server(entry.server, insecure_http)
            cache[entry.server, entry.student] = _credentials(where, entry.student, token)
        return cache[entry.server, entry.student]

    outcomes = send_all(entries, credentials_for, _policy(tries), note=_note)
    rows = []
    for o in outcomes:
        e = o.entry
        state = ("delivered" if o.delivered else "pending" if o.pending
                 else "suspicious" if isinstance(o.error, SuspiciousReceipt) else "refused")
        rows.append({"quiz": e.quiz, "student": e.student, "server": e.server, "idempotency_key": e.idempotency_key,
                     "created_at": e.created_at, "status": state,
                     "error": str(o.error) if o.error else None,
                     "response": o.delivered.response if o.delivered else None})
        if as_json:
            continue
        if o.delivered:
            click.echo(_receipt_line(o.delivered))
        else:
            what = {"pending": "Still waiting", "refused": "Refused", "suspicious": "Stored, but"}[state]
            _note(f"{what}: quiz {e.quiz} for {e.student} (submitted {e.created_at}) on {e.server}: {o.error}")
    if as_json:
        emit_json(rows)
    pending = sum(r["status"] == "pending" for r in rows)
    refused = sum(r["status"] in ("refused", "suspicious") for r in rows)
    _note(f"Delivered {len(rows) - pending - refused}, refused {refused}, still waiting {pending}.")
    if pending:
        sys.exit(Undelivered.exit_code)
    if refused:
        sys.exit(1)


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

    \b
    Example:
      quizgen receipts --verify
    """
    from ..client.credentials import pinned_keys
    from ..client.receipts import ReceiptError, kept, verify
    from ..servers import parse_server

    only = parse_server(server).url if server is not None else None
    items = kept(only)
    rows, failed = [], 0
    for k in items:
        problem = k.suspicious
        if check and problem is None:
            try:
                verify(k.receipt, pinned_keys(parse_server(k.server)), k.expected)
            except ReceiptError as exc:
                problem = str(exc)
        failed += problem is not None
        row = {**k.to_json(), "verified": (problem is None) if check else None, "problem": problem}
        rows.append(row)
        if not as_json:
            mark = ("✗ " + problem if problem else "✓") if check else ("SUSPICIOUS: " + problem if problem else "")
            click.echo(f"quiz {row['quiz']}  attempt {row['attempt']}  {row['student']}  {row['received_at']}  "
                       f"{row['server']}" + (f"  {mark}" if mark else ""))
    if as_json:
        emit_json(rows)
    elif not rows:
        _note("No receipts kept yet.")
    if check and failed:
        raise click.ClickException(f"{failed} of {len(rows)} receipt(s) do not verify")
