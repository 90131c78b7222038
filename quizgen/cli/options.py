"""What the command modules share: options declared once (sqlite-utils style decorators),
the lazily opened store, JSON output, progress bars and output files."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from ..errors import QuizgenError
from ..resources import phrase

F = TypeVar("F", bound=Callable[..., Any])


def json_option(fn: F) -> F:
    """``--json``: data, and only data, on stdout."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout (data only).")(fn)


def quiz_argument(fn: F) -> F:
    """QUIZ: a quiz id, as ``quizgen list`` shows them."""
    return click.argument("quiz", metavar="QUIZ")(fn)


def lang_option(default: str | None = "ko", help: str = "Language of the text.") -> Callable[[F], F]:
    """``--lang`` with the languages quizgen has wording for."""
    from ..questions.catalog import LANGS

    return click.option("--lang", type=click.Choice(LANGS), default=default, show_default=default is not None,
                        help=help)


def _note_command_line_token(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and ctx.get_parameter_source(param.name or "") == click.core.ParameterSource.COMMANDLINE:
        ctx.meta["quizgen.token_on_command_line"] = True
    return value


def warn_command_line_token() -> None:
    """Warn (stderr) when the token came on the command line. Said by the commands that
    send it over the network (--server, login, sync), where a student's token matters most."""
    from ..resources import locale_language, message

    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.meta.pop("quizgen.token_on_command_line", False):  # once per command
        click.echo(message(locale_language(), "token_on_command_line"), err=True)


def token_option(fn: F) -> F:
    """``--token`` (QUIZGEN_TOKEN); given on the command line, it works, and the remote
    commands warn that other local users can read command lines."""
    return click.option("--token", envvar="QUIZGEN_TOKEN", show_envvar=True, callback=_note_command_line_token,
                        help="Your submission token (prefer QUIZGEN_TOKEN or 'quizgen login': other users can "
                             "see command lines).")(fn)


def student_options(fn: F) -> F:
    """``--student`` and ``--token`` (QUIZGEN_TOKEN), for the commands a student runs.
    ``--student`` is required locally; with ``--server`` it may come from ``quizgen login``."""
    fn = token_option(fn)
    return click.option("--student", "student_id",
                        help="Your student id (with --server: default, the one you logged in with).")(fn)


class StudentUsageError(QuizgenError):
    """A student's command called without what it needs (said in the student's language)."""

    exit_code = 2


def require_student(student_id: str | None) -> str:
    """The student id a local command needs."""
    if student_id is None:
        raise StudentUsageError(phrase("student_missing_student"))
    return student_id


def key_file_option(fn: F) -> F:
    """``--key-file`` (QUIZGEN_KEY_FILE): the key that signs attempts and checkpoints, and
    that ``quizgen audit`` trusts; the same file for ``serve``, local ``submit``, imports
    and audit."""
    return click.option("--key-file", envvar="QUIZGEN_KEY_FILE", show_envvar=True, metavar="FILE",
                        help="The server's signing key (made on first use, mode 0600) [default: beside a SQLite "
                             "database; for PostgreSQL, in your config folder].")(fn)


def open_signing(ctx: click.Context, key_file: str | None) -> Any:
    """The store's signing key (classroom.keys.open_signing) for a command that records attempts."""
    from ..classroom.keys import open_signing as opened

    return opened(open_store(ctx), ctx.find_root().obj["db"], key_file)


def server_options(fn: F) -> F:
    """``--server`` (QUIZGEN_SERVER) and ``--insecure-http``: talk to a quiz server over HTTP."""
    fn = click.option("--insecure-http", is_flag=True,
                      help="Allow plain http:// to another machine (anyone on the network could read your "
                           "token).")(fn)
    return click.option("--server", envvar="QUIZGEN_SERVER", show_envvar=True, metavar="URL",
                        help="The quiz server's URL (https://...): work over HTTP instead of a local "
                             "database.")(fn)


def allow_blank_option(fn: F) -> F:
    """``--allow-blank``: send answers that leave questions or parts blank without asking."""
    return click.option("--allow-blank", is_flag=True,
                        help="Submit even if some questions or parts are unanswered (otherwise they are named "
                             "and, on a terminal, you are asked; elsewhere nothing is sent).")(fn)


def blank_policy(allow_blank: bool) -> Any:
    """Whether to send answers that leave questions blank: yes with --allow-blank; else
    asked, in the quiz's language, when someone at a terminal can answer; else no (the
    library then refuses, naming them, and nothing is spent)."""
    from ..classroom.answersheets import BlankPolicy
    from ..resources import message

    def ask(blanks: Any, lang: str) -> bool:
        return click.confirm(message(lang, "blank_confirm", blanks=blanks.text()), default=False, err=True)

    return BlankPolicy(allow_blank, ask if sys.stdin.isatty() and sys.stderr.isatty() else None)


def tries_option(fn: F) -> F:
    """``--tries N``: how many sends before a submission is left in the outbox."""
    return click.option("--tries", type=click.IntRange(1, 20), default=5, show_default=True,
                        help="Sends before giving up for now (with backoff; 30 s in all for one server, 20 s "
                             "for one request); what is not delivered waits in the outbox.")(fn)


STDOUT = "-"


def _stdout_is_none(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    return None if value == STDOUT else value


def output_options(fn: F) -> F:
    """``-o/--output FILE`` and ``--force`` (replace an existing file). ``-o -`` is standard
    output, the same as leaving ``-o`` out: the command sees None."""
    fn = click.option("--force", is_flag=True, help="Replace FILE if it exists (never a database, link or device).")(fn)
    return click.option("-o", "--output", metavar="FILE", callback=_stdout_is_none,
                        help="Write to FILE instead of stdout (- is stdout).")(fn)


def refuse_binary_on_terminal(what: str) -> None:
    """Binary output (a PNG, an xlsx workbook) goes to a file or a redirected stdout, never
    onto a terminal, where it would be noise that can garble the terminal."""
    if sys.stdout.isatty():
        raise click.UsageError(f"{what} is a binary file: give -o FILE, or redirect stdout to a file")


def parsed_by(parse: Callable[[Any], Any]) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A click callback that reads an option's value with the library's own parser: a value
    that does not parse is a usage error (exit 2), in the parser's one sentence."""
    from ..errors import QuizgenError

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is None or value == ():
            return value
        try:
            return parse(value)
        except QuizgenError as exc:
            raise click.BadParameter(str(exc)) from None

    return callback


def apply_option(fn: F) -> F:
    """``--apply``: write the change (default: a dry run that shows whose scores would move)."""
    return click.option("--apply", "apply_changes", is_flag=True,
                        help="Write the change and the new grades (default: a dry run).")(fn)


# Characters JSON may carry raw that a terminal would act on (C1 controls such as the
# one-character CSI U+009B, bidi controls): written as \u escapes, the same JSON value.
_TERMINAL_UNSAFE = re.compile("[\u0080-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def emit_json(obj: Any) -> None:
    """JSON, and only JSON, on stdout (C0 controls are escaped by json; C1 and bidi
    controls too, so a server's text cannot steer the terminal through ``--json``)."""
    text = json.dumps(obj, ensure_ascii=False)
    click.echo(_TERMINAL_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


def open_store(ctx: click.Context, create: bool = False):
    """The opened store; opened on first use so --help never touches a database.
    Only the commands that build a class (``create=True``) may create a new database."""
    from ..store.db import open_store as _open

    obj = ctx.find_root().obj
    if "store" not in obj:
        obj["store"] = _open(obj["db"], create=create)
        ctx.call_on_close(obj["store"].dispose)
        warn_if_readable_by_others(obj["store"])
    return obj["store"]


READABLE_BY_OTHERS = ("Warning: every user of this machine can read {path} (mode {mode:o}), which holds the quizzes' "
                      "answers; make it private with: chmod 600 {pattern}")


def warn_if_readable_by_others(store: Any) -> None:
    """One line on stderr when the database file (or its -wal/-shm) is world-readable;
    said once per command, when the store is opened."""
    exposed = store.readable_by_others()
    if exposed:
        import os
        import shlex

        mode = os.stat(exposed[0]).st_mode & 0o777
        pattern = shlex.quote(str(store.path)) + "*"  # the database, its journals and backups (.bak-...)
        click.echo(READABLE_BY_OTHERS.format(path=exposed[0], mode=mode, pattern=pattern), err=True)


def protected_paths(ctx: click.Context) -> tuple[Path, ...]:
    """The store's files, which no output may replace (the database and its journals)."""
    from ..store.db import resolve_url, sqlite_path

    try:
        path = sqlite_path(resolve_url(ctx.find_root().obj["db"]))
    except Exception:  # an unusable --db: nothing of ours to protect
        return ()
    if path is None:
        return ()
    # the journals SQLite keeps beside the database, and the service's receipt-signing key
    return (path, *(Path(f"{path}{suffix}") for suffix in ("-wal", "-shm", "-journal", ".receipt-key")))


def write_outputs(ctx: click.Context, files: Sequence[tuple[str, str | bytes]], force: bool,
                  mode: int = 0o644) -> list[str]:
    """Write every file (each atomically), after checking them all first: none is written
    if any would be refused. ``mode`` 0o600: files that hold secrets (printed tokens)."""
    from ..files import check_target, write_file

    protect = protected_paths(ctx)
    for path, _ in files:
        check_target(path, force, protect)
    return [write_file(path, data, force=force, protect=protect, mode=mode) for path, data in files]


class Bar:
    """A progress callback that draws click's bar on stderr."""

    def __init__(self, label: str):
        self.label = label
        self.bar: Any = None  # click's ProgressBar, entered on the first call
        self.done = 0

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
