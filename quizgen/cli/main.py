"""The ``quizgen`` command line: parse options, call the library, print.

Nothing heavy is imported at module level: TensorFlow arrives only with
``--verify`` (through quizgen.keras_check), so ``--help`` stays instant. The
commands that live in other modules are loaded lazily (click's LazyGroup pattern):
``quizgen submit --server`` imports the student's commands and the HTTP client, not
the quiz, grading or export modules, and ``quizgen --help`` lists every command with
its short help from the table below without importing any of them.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import Any

import click

from .. import __version__
from ..errors import QuizgenError, one_line, undecodable
from .options import emit_json as _emit_json
from .options import json_option, lang_option

# The commands defined in other modules, loaded when invoked: name → (module in quizgen.cli,
# attribute, the first paragraph of the command's help, which ``quizgen --help`` lists;
# a test holds each to the command's own docstring).
LAZY_COMMANDS: dict[str, tuple[str, str, str]] = {
    "generate": ("quiz", "generate", "Generate a quiz, a variant per student, and confirm its key with Keras."),
    "list": ("quiz", "list_cmd", "List the quizzes in the store."),
    "show": ("quiz", "show", "Show a quiz's questions (never the answers), from the store or a quiz server."),
    "key": ("quiz", "key", "Show a quiz's answer key with worked derivations."),
    "export": ("quiz", "export", "Export a quiz: Markdown worksheet + key, JSON, Moodle XML or GIFT."),
    "verify": (
        "quiz",
        "verify",
        "Check a quiz's whole key: answers and grading keys against a fresh solution, and Keras.",
    ),
    "handout": (
        "quiz",
        "handout",
        "Print a quiz: one PDF, each student's questions from a new page, with answer boxes.",
    ),
    "demo": (
        "demo",
        "demo",
        "A class of 30 end to end: roster, Keras-confirmed quiz, students submitting to a real\n"
        "quizgen serve on 127.0.0.1 (API and page), grading, audit, gradebook and report.",
    ),
    "roster": ("students", "roster", "The class roster and submission tokens."),
    "submit": ("students", "submit", "Submit answers to a quiz (one attempt), locally or to a quiz server."),
    "status": ("students", "status", "Your attempts on a quiz and, as the quiz allows, your scores and feedback."),
    "grade": ("grades", "grade", "Grade every ungraded submission of a quiz (safe to rerun or interrupt)."),
    "import-submissions": (
        "grades",
        "import_submissions",
        "Import answers collected elsewhere (student,question,answer[,submitted_at]); all rows or none.",
    ),
    "gradebook": (
        "grades",
        "gradebook",
        "A row per student with the quiz total (CSV imports into Canvas; JSON has every question).",
    ),
    "report": (
        "grades",
        "report",
        "Item analysis: correct rate, discrimination, common wrong answers and slips, score distribution.",
    ),
    "serve": ("serve", "serve", "Serve the checking service: students submit over HTTP and are graded on arrival."),
    "audit": ("serve", "audit", "Rebuild a quiz's transparency log from its rows; check every checkpoint and receipt."),
    "checkpoints": ("serve", "checkpoints", "Print a quiz's signed checkpoints, for publishing."),
    "login": ("remote", "login", "Save your student id and token for a quiz server, and pin its receipt key."),
    "sync": ("remote", "sync", "Send the submissions waiting in the outbox (same idempotency keys)."),
    "receipts": ("remote", "receipts", "List the receipts the quiz servers signed for you (--verify: check them)."),
    "quiz": ("manage", "quiz_group", "Manage a generated quiz: its students, settings and answers."),
    "progress": (
        "manage",
        "progress",
        "How a quiz is going: who submitted and who not yet, late, attempts, scores, extensions.",
    ),
    "lti": ("lti", "lti_group", "Bring a class in through an LMS (LTI 1.3): platforms, keys, roster, grade passback."),
}


class _Group(click.Group):
    """Every failure a user can cause ends in one ``Error: ...`` line and an exit code:
    QuizgenError (1, or 75 for a busy database), click's usage errors (2), and
    arguments or variables that are not UTF-8 text (2)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in LAZY_COMMANDS:
            from importlib import import_module

            module, attribute, _ = LAZY_COMMANDS[cmd_name]
            self.add_command(getattr(import_module(f"{__package__}.{module}"), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list, with lazy commands' short help from LAZY_COMMANDS (nothing imported)."""
        commands = [self.commands.get(name) or click.Command(name, help=LAZY_COMMANDS[name][2])
                    for name in self.list_commands(ctx)]
        commands = [c for c in commands if not c.hidden]
        if commands:
            limit = formatter.width - 6 - max(len(c.name or "") for c in commands)
            with formatter.section("Commands"):
                formatter.write_dl([(c.name or "", c.get_short_help_str(limit)) for c in commands])

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except QuizgenError as exc:
            _fail(str(exc), exc.language)
            ctx.exit(exc.exit_code)

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        code = _run(super().main, argv, prog_name, complete_var, extra)
        if standalone_mode:
            sys.exit(code)
        return code


def _fail(message: str, lang: str | None = None) -> None:
    """One ``Error: ...`` line on stderr; ``lang``: the language the message is said in
    (a student's screen is in one language, its prefix too)."""
    from ..resources import message as worded

    prefix = worded(lang, "error_prefix") if lang is not None else "Error: "
    click.echo(f"{prefix}{one_line(message)}", err=True)


def _run(main: Any, argv: list[str], prog_name: str | None, complete_var: str | None, extra: Any) -> int:
    for n, arg in enumerate(argv, start=1):
        if undecodable(arg):
            _fail(f"argument {n} ({arg!r}) is not UTF-8 text; quizgen reads its arguments as UTF-8")
            return 2
    for name in ENV_VARIABLES:
        if undecodable(os.environ.get(name, "")):
            _fail(f"the environment variable {name} is not UTF-8 text")
            return 2
    try:
        result = main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        return result if isinstance(result, int) else 0
    except click.exceptions.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "quizgen"
        _fail(f"{exc.format_message()} (see '{where} --help')")
        return 2
    except click.ClickException as exc:
        _fail(exc.format_message())
        return exc.exit_code
    except click.exceptions.Abort:
        _fail("interrupted")
        return 130
    except QuizgenError as exc:  # raised while parsing (a callback) rather than in a command
        _fail(str(exc), exc.language)
        return exc.exit_code
    except Exception as exc:  # a bug: still one line (QUIZGEN_DEBUG=1 shows the traceback)
        if os.environ.get("QUIZGEN_DEBUG"):
            raise
        _fail(f"internal error ({type(exc).__name__}: {exc}); please report it")
        return 1


# Variables quizgen reads: checked for undecodable bytes before anything uses them.
ENV_VARIABLES = ("QUIZGEN_DB", "QUIZGEN_TOKEN", "QUIZGEN_SERVER", "QUIZGEN_BUSY_TIMEOUT_MS")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="quizgen")
@click.option("--db", envvar="QUIZGEN_DB", metavar="PATH_OR_URL", show_envvar=True,
              help="SQLite file or SQLAlchemy URL of the quiz store [default: ./quizgen.db].")
@click.pass_context
def cli(ctx: click.Context, db: str | None) -> None:
    """Randomized neural-network parameter-count quizzes, solved and confirmed by Keras.

    \b
    Example:
      quizgen solve quiz.json
      quizgen --db class.db generate --title "점검 퀴즈" --seed 1 --students class.csv
    """
    ctx.obj = {"db": db}


@cli.command()
@click.argument("file", required=False)
@click.option("--from-code", "code_file", metavar="FILE.py",
              help="Read Keras model-building code (never executed) instead of a JSON spec.")
@json_option
@lang_option(help="Language of the worked derivations.")
@click.option("--verify", is_flag=True, help="Also build each model in real Keras and compare.")
@click.option("--execute", is_flag=True,
              help="With --from-code: RUN the file (your own, trusted) in Keras in a child process, without "
                   "network, and report every keras.Model it leaves.")
@click.option("--timeout", type=click.FloatRange(min=1), default=300, show_default=True, metavar="SECONDS",
              help="With --execute: stop the code after this long.")
@click.option("--memory", type=click.IntRange(min=256), default=4096, show_default=True, metavar="MB",
              help="With --execute: the code's address space (TensorFlow alone takes about 1,500 MB).")
def solve(file: str | None, code_file: str | None, as_json: bool, lang: str, verify: bool, execute: bool,
          timeout: float, memory: int) -> None:
    """Solve architecture specs: output shapes, parameter counts and the working.

    FILE is a .json spec (or a list of specs), a .jsonl file with one spec per
    line, or - for stdin.

    \b
    Example:
      quizgen solve quiz.json --lang en
      quizgen solve --from-code cell.py --verify
    """
    if (file is None) == (code_file is None):
        raise click.UsageError("give exactly one of FILE or --from-code FILE.py")
    if execute and code_file is None:
        raise click.UsageError("--execute runs the code of --from-code FILE.py; give --from-code")
    if execute and verify:
        raise click.UsageError("--execute already takes every answer from Keras; leave --verify out")
    limits = None
    if execute:
        from ..nn.executed import Limits

        limits = Limits(timeout, memory)
    if verify or execute:  # TensorFlow leaves cycles behind: the collector stays on
        _solve(file, code_file, as_json, lang, verify, limits)
        return
    # Reading and solving leave nothing in a reference cycle (tests/test_solve_json_lines.py),
    # while the decoded specs and the solver's memo are millions of objects that the cyclic
    # collector would walk again and again: a third of the time of 20,000 specs.
    gc.disable()
    try:
        _solve(file, code_file, as_json, lang, verify, None)
    finally:
        gc.enable()


def _solve(file: str | None, code_file: str | None, as_json: bool, lang: str, verify: bool, limits: Any) -> None:
    from ..nn.solving import JsonLines, solve_file

    stdin = _stdin_text() if "-" in (file, code_file) else None
    if limits is not None:
        click.echo("Running the code in Keras (a child process, no network)…", err=True)
    run = solve_file(file, code_file, stdin, verify=verify, execute=limits)
    if verify:
        click.echo("Loading Keras to confirm the answers…", err=True)
    heading = len(run) > 1
    failed = False
    lines = JsonLines(lambda chunk: click.echo(chunk, nl=False), _is_utf8(sys.stdout), 1 if verify else 2000) \
        if as_json else None
    try:
        for n, item in enumerate(run):
            failed |= item.failed
            if lines is not None:
                lines.add(item, lang)
                continue
            out, err = item.text(lang, heading)
            if err:
                click.echo(err, err=True)
            if out:
                if n:
                    click.echo()
                click.echo(out)
    finally:  # what was solved is printed, whatever stops the loop
        if lines is not None:
            lines.flush()
    if failed:
        sys.exit(1)


def _is_utf8(stream: Any) -> bool:
    """Whether click writes text to this stdout as UTF-8, so that a line's UTF-8 bytes may stand
    for it. (Its error handler, surrogateescape under a C locale, only matters for text that
    is not valid UTF-8, and such a line is handed over as text: see nn.solving.JsonLines.)"""
    import codecs

    try:
        return getattr(stream, "buffer", None) is not None and codecs.lookup(stream.encoding).name == "utf-8"
    except (LookupError, AttributeError, TypeError):
        return False


def _stdin_text() -> str:
    from ..errors import InputFileError
    from ..files import read_file_bytes

    try:
        return read_file_bytes("-", "spec").decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputFileError("standard input is not UTF-8 text") from None


@cli.command()
@json_option
@click.pass_context
def init(ctx: click.Context, as_json: bool) -> None:
    """Create a new quiz database at the current schema revision.

    \b
    Example:
      quizgen --db class.db init
    """
    from ..store.db import init_store

    store, created = init_store(ctx.find_root().obj["db"])
    ctx.call_on_close(store.dispose)
    from .options import warn_if_readable_by_others

    warn_if_readable_by_others(store)
    from ..store.db import redact_url, schema_head

    where = str(store.path) if store.path else redact_url(store.url)
    if as_json:
        _emit_json({"db": where, "created": created, "revision": schema_head()})
        return
    click.echo(f"Created {where}" if created else f"{where} is already a quizgen database (up to date)", err=True)


@cli.group()
def db() -> None:
    """Database maintenance.

    \b
    Example:
      quizgen db upgrade
      quizgen db backup -o class-backup.db
    """


@db.command("upgrade")
@click.option("--tz", "time_zone", metavar="ZONE",
              help="Zone in which deadlines stored by quizgen before 0.2 were typed [default: this machine's].")
@json_option
@click.pass_context
def db_upgrade(ctx: click.Context, time_zone: str | None, as_json: bool) -> None:
    """Migrate an older database to this quizgen's schema (backs the file up first).

    \b
    Example:
      quizgen --db class.db db upgrade --tz Asia/Seoul
    """
    from ..store.db import upgrade_store

    result = upgrade_store(ctx.find_root().obj["db"], time_zone)
    if as_json:
        _emit_json({"from": result.from_revision, "to": result.to_revision,
                    "backup": str(result.backup) if result.backup else None})
        return
    if result.backup is None and result.from_revision == result.to_revision:
        click.echo(f"Already at revision {result.to_revision}; nothing to do.", err=True)
        return
    if result.backup is not None:
        click.echo(f"Backed up to {result.backup}", err=True)
    click.echo(f"Upgraded from revision {result.from_revision} to {result.to_revision}", err=True)


@db.command("backup")
@click.option("-o", "--output", metavar="FILE", required=True,
              help="The backup file (SQLite: a database file; PostgreSQL: a pg_dump custom-format archive).")
@click.option("--force", is_flag=True, help="Replace FILE if it exists (never the database in use, a link or device).")
@json_option
@click.pass_context
def db_backup(ctx: click.Context, output: str, force: bool, as_json: bool) -> None:
    """Copy the database while it is in use, check the copy, and say what it holds.

    \b
    Example:
      quizgen --db class.db db backup -o class-2026-12-08.db
    """
    from ..classroom.backups import back_up
    from .options import open_store, protected_paths

    report = back_up(open_store(ctx), output, force, protected_paths(ctx))
    if as_json:
        _emit_json(report.to_json())
        return
    click.echo(f"Backed up to {report.path} with {report.method}")
    click.echo(f"Checked: {report.checked}; schema revision {report.revision}")
    if report.holds is not None:
        h = report.holds
        click.echo(f"It holds {_count(h.quizzes, 'quiz', 'quizzes')}, {_count(h.students, 'student')}, "
                   f"{_count(h.attempts, 'attempt')} ({_count(h.answers, 'answer')}, "
                   f"{_count(h.grades, 'current grade')})")
        intact = len(report.quizzes) - len(report.broken)
        quizzes = _count(len(report.quizzes), "quiz", "quizzes")
        click.echo(f"Audit: the chain of attempts is intact in {intact} of {quizzes}")
    for q in report.broken:
        click.echo(f"Warning: quiz {q.quiz}: {q.problems} problem(s) in its chain of attempts, in the database "
                   f"as copied; 'quizgen audit {q.quiz}' names them", err=True)


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def main() -> None:
    cli(prog_name="quizgen")


if __name__ == "__main__":
    main()
