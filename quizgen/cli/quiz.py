"""Commands about quizzes: generate, list, show, key, export, verify."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..classroom.policies import FEEDBACK_POLICIES, MAX_ATTEMPTS
from ..exports import FORMATS
from ..grading.scoring import COUNTING_POLICIES
from ..questions.catalog import DEFAULT_KINDS, DIFFICULTIES, KINDS, MAX_QUESTIONS
from .options import Bar as _Bar
from .options import emit_json as _emit_json
from .options import (
    json_option,
    lang_option,
    output_options,
    parsed_by,
    quiz_argument,
    server_options,
    token_option,
    write_outputs,
)
from .options import open_store as _store


def _kinds(values: tuple[str, ...]) -> tuple[str, ...]:
    from ..errors import GenerationError

    kinds: list[str] = []
    for value in values:
        kinds += [k.strip() for k in value.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise GenerationError(f"unknown question kind {unknown[0]!r}; kinds are {', '.join(KINDS)}")
    return tuple(kinds)


def _ranges(values: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    from ..questions.architectures import parse_range

    return dict(parse_range(r) for r in values)


def _wall_clock(value: str) -> str:
    """A deadline's form is checked here (a usage error); its meaning in a zone by clock.parse_deadline."""
    from ..clock import wall_clock

    wall_clock(value)
    return value


@click.command()
@click.option("--title", required=True, help="The quiz's title.")
@click.option("--count", type=click.IntRange(1, MAX_QUESTIONS), default=10, show_default=True,
              help="Questions per student.")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), required=True,
              help="Same seed and options: the same quiz, byte for byte.")
@click.option("--kind", "kinds", multiple=True, metavar="KIND", callback=parsed_by(_kinds),
              help=f"Question kinds (repeat or comma-separate): {', '.join(KINDS)}. Default: the first eight "
                   f"({DEFAULT_KINDS[0]} to {DEFAULT_KINDS[-1]}), in turn.")
@click.option("--difficulty", type=click.Choice(DIFFICULTIES), default="medium", show_default=True,
              help="easy: one idea with round textbook numbers; medium: the textbook's own models; hard: stacked, "
                   "bidirectional, functional or inverse reasoning.")
@lang_option(help="Language of the questions.")
@click.option("--students", "roster", metavar="ROSTER.csv",
              help="Give every student on this roster a variant (new ones join the stored roster). "
                   "Default: every student already on the stored roster.")
@click.option("--shared-only", is_flag=True,
              help="Give no student a variant yet, only make the shared one ('quizgen quiz add-students' later).")
@click.option("--range", "ranges", multiple=True, metavar="NAME=LO-HI", callback=parsed_by(_ranges),
              help="Limit a size, e.g. --range hidden=32-256 --range vocab=5000-20000.")
@click.option("--deadline", metavar="'YYYY-MM-DD HH:MM[:SS]'", callback=parsed_by(_wall_clock),
              help="Submissions close then: wall-clock time in --tz (default: this machine's zone).")
@click.option("--allow-past", is_flag=True, help="Accept a --deadline that has already passed.")
@click.option("--tz", "time_zone", metavar="ZONE",
              help="Time zone of the deadline, recorded on the quiz: an IANA name (Asia/Seoul) or +09:00.")
@click.option("--late-until", metavar="'YYYY-MM-DD HH:MM[:SS]'", callback=parsed_by(_wall_clock),
              help="Accept late submissions (marked late) until then, in the same zone as --deadline.")
@click.option("--attempts", "attempt_limit", type=click.IntRange(1, MAX_ATTEMPTS),
              help="Attempts allowed per student (leave out for no limit).")
@click.option("--feedback", type=click.Choice(FEEDBACK_POLICIES), default="full", show_default=True,
              help="What students see of their graded attempts: nothing, scores, or scores and slips.")
@click.option("--counting", type=click.Choice(COUNTING_POLICIES), default="last", show_default=True,
              help="Which answer to each question counts: last, the last answer given to it (a question left "
                   "out of a later attempt keeps its earlier answer); best, the best-scoring one.")
@click.option("--carry-forward", is_flag=True,
              help="Follow-through credit in summary questions: a Total params that is the sum of the student's "
                   "own layer counts earns its part, even when an earlier layer is wrong.")
@click.option("--no-verify", is_flag=True, help="Store without Keras confirmation (run 'quizgen verify' later).")
@json_option
@click.pass_context
def generate(ctx: click.Context, title: str, count: int, seed: int, kinds: tuple[str, ...], difficulty: str,
             lang: str, roster: str | None, shared_only: bool, ranges: dict[str, tuple[int, int]],
             deadline: str | None, allow_past: bool, time_zone: str | None, late_until: str | None,
             attempt_limit: int | None, feedback: str, counting: str, carry_forward: bool, no_verify: bool,
             as_json: bool) -> None:
    """Generate a quiz, a variant per student, and confirm its key with Keras.

    Who gets a variant: the students of --students ROSTER.csv; without it, every
    student already on the stored roster ('quizgen roster import'); with
    --shared-only, nobody yet. Add students later with 'quizgen quiz add-students':
    they get the same variant they would have got now.

    \b
    Example:
      quizgen generate --title "점검 퀴즈" --count 10 --seed 2026 --students class.csv \\
          --deadline "2027-06-01 18:00" --tz Asia/Seoul --attempts 3
    """
    from ..classroom.quizzes import QuizPlan, create_quiz
    from ..classroom.roster import read_roster
    from ..clock import parse_deadline, quiz_zone

    zone = quiz_zone(time_zone, deadline is not None)
    plan = QuizPlan(title=title, seed=seed, count=count, kinds=kinds or DEFAULT_KINDS, difficulty=difficulty,
                    language=lang, ranges=ranges or {},
                    deadline=parse_deadline(deadline, zone) if deadline is not None else None, time_zone=zone,
                    late_until=parse_deadline(late_until, zone) if late_until is not None else None,
                    attempt_limit=attempt_limit, feedback=feedback, counting=counting, carry_forward=carry_forward)
    plan.validate()
    if roster and shared_only:
        raise click.UsageError("--students and --shared-only exclude each other")
    students = read_roster(roster) if roster else ([] if shared_only else None)
    store = _store(ctx, create=True)
    bar = _Bar("Confirming answers with Keras")
    try:
        created = create_quiz(store, plan, students, verify=not no_verify, progress=bar, allow_past=allow_past)
    finally:
        bar.close()
    confirmation = created.confirmation
    if as_json:
        _emit_json(created.to_json())
        return
    click.echo(created.quiz_id)
    if created.same_title:
        others = ", ".join(map(str, created.same_title))
        click.echo(f"Warning: quiz {others} already had the title {created.title!r}; if this one was made by "
                   f"mistake, 'quizgen quiz delete {created.quiz_id} --yes' removes it (nobody has submitted yet).",
                   err=True)
    if confirmation:
        click.echo(f"{confirmation.checked:,} questions confirmed by Keras {confirmation.keras_version}", err=True)
    else:
        click.echo("Stored unverified; run 'quizgen verify' to confirm the key with Keras.", err=True)
    if created.students_from == "roster" and created.students:
        click.echo(f"Gave each of the {created.students:,} student(s) on the stored roster their own variant "
                   "(--students ROSTER.csv for other students, --shared-only for none).", err=True)
    elif created.students == 0:
        why = "--shared-only" if shared_only else "the stored roster is empty"
        click.echo(f"No student has a variant yet ({why}): give them one with "
                   f"'quizgen quiz add-students {created.quiz_id} --roster-all' (or --students ROSTER.csv).",
                   err=True)
    if created.updated:
        click.echo(f"Updated the name or email of {len(created.updated)} student(s) from the roster: "
                   f"{', '.join(created.updated[:10])}{' ...' if len(created.updated) > 10 else ''}", err=True)
    if created.issued:
        click.echo(f"Tokens for {len(created.issued)} student(s) who had none (shown once; hand each student "
                   "their own):", err=True)
        for t in created.issued:
            click.echo(f"{t.student}\t{t.name}\t{t.token}", err=True)


@click.command("list")
@click.option("--all", "include_archived", is_flag=True, help="Archived quizzes too.")
@json_option
@click.pass_context
def list_cmd(ctx: click.Context, include_archived: bool, as_json: bool) -> None:
    """List the quizzes in the store.

    \b
    Example:
      quizgen list --json
      quizgen list --all
    """
    from ..classroom.quizzes import list_quizzes
    from ..clock import show

    quizzes = list_quizzes(_store(ctx), include_archived)
    if as_json:
        _emit_json([q.to_json() for q in quizzes])
        return
    if not quizzes:
        click.echo("No quizzes yet; create one with 'quizgen generate'." if not include_archived
                   else "No quizzes at all; create one with 'quizgen generate'.", err=True)
        return
    deadlines = [show(q.deadline, q.time_zone) if q.deadline else "-" for q in quizzes]
    wide = max(len("deadline"), *map(len, deadlines))
    click.echo(f"{'id':>4}  {'created':16}  {'lang':4}  {'questions':>9}  {'students':>8}  {'submitted':>9}  "
               f"{'attempts':>8}  {'deadline':{wide}}  {'status':10}  title")
    for q, deadline in zip(quizzes, deadlines):
        attempts = f"{q.attempt_limit:,}" if q.attempt_limit is not None else "-"
        status = "archived" if q.archived else q.status
        click.echo(f"{q.id:>4}  {q.created_at:%Y-%m-%d %H:%M}  {q.language:4}  {q.question_count:>9}  "
                   f"{q.students:>8}  {q.submitted:>9}  {attempts:>8}  {deadline:{wide}}  {status:10}  {q.title}")


@click.command()
@quiz_argument
@click.option("--student", help="Show this student's variant (with --server: yours; default, the one you "
                                "logged in with).")
@token_option
@server_options
@json_option
@click.pass_context
def show(ctx: click.Context, quiz: str, student: str | None, token: str | None, server: str | None,
         insecure_http: bool, as_json: bool) -> None:
    """Show a quiz's questions (never the answers), from the store or a quiz server.

    \b
    Example:
      quizgen show 1 --student 20260001
      quizgen show 1 --server https://quiz.example.ac.kr
    """
    if server is not None:
        from .remote import show_remote

        show_remote(server, insecure_http, student, token, quiz, as_json)
        return
    from ..classroom.submissions import student_questions
    from ..client.screens import local_screen
    from ..resources import locale_language

    shown = student_questions(_store(ctx), quiz, student, locale_language())
    info, questions = shown.info, shown.questions
    if as_json:
        _emit_json(shown.to_json())
        return
    ext = shown.extension
    extension = None if ext is None else {"deadline": ext.deadline, "late_until": ext.late_until,
                                          "attempt_limit": ext.attempt_limit}
    for line in local_screen(info, student, questions, extension).lines():
        click.echo(line)


@click.command()
@quiz_argument
@click.option("--student", help="The key of this student's variant.")
@json_option
@click.pass_context
def key(ctx: click.Context, quiz: str, student: str | None, as_json: bool) -> None:
    """Show a quiz's answer key with worked derivations.

    \b
    Example:
      quizgen key 1 --student 20260001
    """
    from ..classroom.quizzes import quiz_key
    from ..questions.records import format_answer, instructor_notes

    info, (variant,) = quiz_key(_store(ctx), quiz, student)
    if as_json:
        _emit_json({"quiz": info.to_json(), "student": student, "answers": [e.to_json() for e in variant.entries]})
        return
    for e in variant.entries:
        confirmed = f"Keras {e.keras_version}" if e.verified_at else "not confirmed by Keras"
        answer = format_answer(e.answer, info.language)
        click.echo(f"{e.slot}. [{e.kind}] ({confirmed})" + (f"\n{answer}" if "\n" in answer else f" {answer}"))
        for note in instructor_notes(e.answer):
            click.echo(f"   {note}")
        click.echo(f"{e.derivation}\n")


@click.command()
@quiz_argument
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), required=True, help="The file format to write.")
@click.option("--student", help="Export only this student's variant (default: every variant).")
@click.option("--key", "key_only", is_flag=True, help="Markdown: the answer key instead of the worksheet.")
@click.option("--categories", type=click.Choice(["student", "slot"]),
              help="Moodle XML and GIFT: a question category per student's variant [default], or per "
                   "question slot holding every student's variant of it (for Moodle's random questions).")
@output_options
@json_option
@click.pass_context
def export(ctx: click.Context, quiz: str, fmt: str, student: str | None, key_only: bool, categories: str | None,
           output: str | None, force: bool, as_json: bool) -> None:
    """Export a quiz: Markdown worksheet + key, JSON, Moodle XML or GIFT.

    \b
    Example:
      quizgen export 1 --format moodle-xml -o quiz.xml
    """
    from functools import partial

    from ..classroom.quizzes import quiz_key
    from ..exports.markdown import markdown_key

    if categories is not None and fmt not in ("moodle-xml", "gift"):
        raise click.UsageError("--categories goes with --format moodle-xml or gift")
    if as_json and output is None:
        raise click.UsageError("--json reports the files written: it goes with -o FILE")
    info, variants = quiz_key(_store(ctx), quiz, student, all_variants=student is None)
    render: Any = markdown_key if (fmt == "markdown" and key_only) else FORMATS[fmt]
    if categories is not None:
        render = partial(render, categories=categories)
    text = render(info, variants)
    if output is None:
        click.echo(text, nl=False)
        return
    from ..exports import export_files

    key_text = markdown_key(info, variants) if fmt == "markdown" and not key_only else None
    written = write_outputs(ctx, export_files(output, text, key_text), force)
    if as_json:
        _emit_json({"quiz": info.id, "format": fmt, "variants": len(variants), "written": written})
        return
    for path in written:
        click.echo(f"Wrote {path}", err=True)


@click.command()
@quiz_argument
@click.option("--force", is_flag=True, help="Re-confirm every question, not only unconfirmed or outdated ones.")
@json_option
@click.pass_context
def verify(ctx: click.Context, quiz: str, force: bool, as_json: bool) -> None:
    """Check a quiz's whole key: answers and grading keys against a fresh solution, and Keras.

    Every question's stored answer must equal the answer solved afresh from its spec,
    its grading key the key made afresh from that answer, and its per-layer breakdown
    what real Keras builds (questions not yet confirmed with the installed Keras; all
    with --force). Each mismatch is listed with both values; the quiz is ready only
    when there is none (exit 1 otherwise).

    \b
    Example:
      quizgen verify 1 --force
    """
    from ..classroom.verify import verify_quiz

    bar = _Bar("Checking the key")
    try:
        report = verify_quiz(_store(ctx), quiz, bar, force)
    finally:
        bar.close()
    if as_json:
        _emit_json(report.to_json())
    else:
        click.echo(f"Checked {report.questions:,} answers and grading keys against a fresh solution, and "
                   f"{report.checked:,} questions with Keras {report.keras_version} ({report.skipped:,} already "
                   f"confirmed with it); quiz is {report.status}.", err=True)
        for line in report.disagreements:
            click.echo(f"  {line}", err=True)
        for override in report.overrides:
            click.echo(f"  note: {override.line()}", err=True)
    if report.problems:
        sys.exit(1)


@click.command()
@quiz_argument
@click.option("-o", "--output", required=True, metavar="FILE.pdf", help="The PDF to write.")
@click.option("--force", is_flag=True, help="Replace FILE if it exists (never a database, link or device).")
@click.option("--student", "students", multiple=True, metavar="ID",
              help="Only this student (repeatable) [default: every student on the quiz].")
@click.option("--server-url", metavar="URL",
              help="The quiz server students submit to (https://...): printed with its QR code [default: answers "
                   "are handed in on paper].")
@click.option("--insecure-http", is_flag=True, help="Allow a plain http:// server URL for another machine.")
@click.option("--with-tokens", is_flag=True,
              help="Add a tear-off slip with a NEW token for each student: their old token stops working.")
@click.option("--answer-key", is_flag=True,
              help="Also write the key with derivations beside FILE, as NAME.key.pdf (for the instructor).")
@click.option("--duplex", is_flag=True,
              help="For two-sided printing: a blank page after a student's odd page count, so each student "
                   "starts on a sheet of their own.")
@json_option
@click.pass_context
def handout(ctx: click.Context, quiz: str, output: str, force: bool, students: tuple[str, ...],
            server_url: str | None, insecure_http: bool, with_tokens: bool, answer_key: bool, duplex: bool,
            as_json: bool) -> None:
    """Print a quiz: one PDF, each student's questions from a new page, with answer boxes.

    Each student's pages carry the quiz's title, number and deadline, the student's
    name and id, their questions (code in monospace), a box per answer part and how
    to submit (with --server-url: the URL and its QR code; never a token in a URL).

    Tokens are stored hashed and cannot be printed as they are: --with-tokens issues
    each printed student a NEW token on a tear-off slip, and their old token (and any
    'quizgen login' saved with it) stops working. The new tokens are saved only after
    the PDF is written, which is then readable by you alone; keep it safe until it
    is handed out.

    \b
    Example:
      quizgen handout 1 -o handouts.pdf --server-url https://quiz.example.ac.kr --with-tokens
      quizgen handout 1 -o handouts.pdf --student 20260001 --answer-key
    """
    from ..classroom.handouts import HandoutRequest, print_handouts

    request = HandoutRequest(quiz, output, tuple(dict.fromkeys(students)) or None, server_url, insecure_http,
                             with_tokens, answer_key, duplex)
    result = print_handouts(_store(ctx), request, lambda files, mode: write_outputs(ctx, files, force, mode))
    if as_json:
        _emit_json(result.to_json())
        return
    click.echo(f"Wrote {result.written[0]}: {len(result.students)} student(s), {result.pages} page(s).", err=True)
    if result.key_pages is not None:
        click.echo(f"Wrote {result.written[1]}: the answer key, {result.key_pages} page(s); for the instructor "
                   "only.", err=True)
    if result.tokens_issued:
        click.echo(f"Issued {result.tokens_issued} new token(s), printed only in {result.written[0]} (readable by "
                   "you alone): the old tokens of these students no longer work. Keep the PDF safe until it is "
                   "handed out.", err=True)
