"""``quizgen quiz ...``: managing a generated quiz without SQL (students, settings, answers)."""

from __future__ import annotations

from typing import Any

import click

from ..classroom.policies import FEEDBACK_POLICIES, MAX_ATTEMPTS
from ..grading.scoring import COUNTING_POLICIES
from ..resources import load_json
from .options import Bar, apply_option, emit_json, json_option, open_store, quiz_argument


def _slip_names() -> tuple[str, ...]:
    """The known slips, by the keys their explanations are catalogued under (for the help text;
    classroom.manage.slip_rule checks what is given)."""
    return tuple(load_json("misconceptions.json")["en"])


@click.group("quiz")
def quiz_group() -> None:
    """Manage a generated quiz: its students, settings and answers.

    \b
    Example:
      quizgen quiz add-students 1 --roster-all
      quizgen quiz set 1 --deadline "2026-12-08 18:00" --attempts 5
      quizgen quiz extend 1 --student 20260001 --deadline "2026-12-10 18:00"
      quizgen quiz accept 1 2 529,313 --student 20260001 --apply
    """


def _target(ctx: click.Context, param: click.Parameter, value: str) -> Any:
    """SLOT[.PART] as a classroom.manage.Target; a malformed one is a usage error."""
    from ..classroom.manage import ManageError, Target

    try:
        return Target.parse(value)
    except ManageError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


@quiz_group.command("add-students")
@quiz_argument
@click.option("--students", "roster", metavar="ROSTER.csv",
              help="Students from a roster file (id,name,email); new ones join the stored roster.")
@click.option("--roster-all", is_flag=True, help="Every student on the stored roster who is not on the quiz yet.")
@click.option("--student", "ids", multiple=True, metavar="ID", help="A student on the stored roster (repeatable).")
@click.option("--no-verify", is_flag=True, help="Store the new variants without Keras confirmation.")
@json_option
@click.pass_context
def add_students(ctx: click.Context, quiz: str, roster: str | None, roster_all: bool, ids: tuple[str, ...],
                 no_verify: bool, as_json: bool) -> None:
    """Give students a variant of an existing quiz (the one they would have got at generation).

    Students already on the quiz are reported and left as they are. Students without a
    token are issued one: printed once on stdout, hand each student their own.

    \b
    Example:
      quizgen quiz add-students 1 --student 20260031 --student 20260032
      quizgen quiz add-students 1 --students late-enrolment.csv > tokens.tsv
    """
    from ..classroom.manage import add_students_to_quiz
    from ..classroom.roster import read_roster

    if sum(map(bool, (roster, roster_all, ids))) != 1:
        raise click.UsageError("name the students one way: --students ROSTER.csv, --roster-all or --student ID")
    entries = read_roster(roster) if roster else ()
    bar = Bar("Confirming the new variants with Keras")
    try:
        result = add_students_to_quiz(open_store(ctx), quiz, entries, ids, roster_all, verify=not no_verify,
                                      progress=bar)
    finally:
        bar.close()
    if as_json:
        emit_json(result.to_json())
        return
    if result.added:
        confirmed = (f"confirmed by Keras {result.confirmation.keras_version}" if result.confirmation
                     else "not confirmed by Keras (run 'quizgen verify')")
        click.echo(f"Gave {len(result.added)} student(s) a variant of quiz {result.quiz_id} ({confirmed}): "
                   f"{_ids(result.added)}", err=True)
    else:
        click.echo(f"Nobody added: every student named is already on quiz {result.quiz_id}.", err=True)
    if result.already and result.added:
        click.echo(f"Already on the quiz (unchanged): {_ids(result.already)}", err=True)
    if result.new_on_roster:
        click.echo(f"New on the roster: {_ids(result.new_on_roster)}", err=True)
    if result.updated:
        click.echo(f"Updated the name or email of: {_ids(result.updated)}", err=True)
    if result.issued:
        click.echo(f"Tokens for {len(result.issued)} student(s) who had none (shown once; hand each student "
                   "their own):", err=True)
        for t in result.issued:
            click.echo(f"{t.student}\t{t.name}\t{t.token}")


def _ids(ids: list[str], shown: int = 10) -> str:
    return ", ".join(ids[:shown]) + (f" ... ({len(ids)} in all)" if len(ids) > shown else "")


@quiz_group.command("set")
@quiz_argument
@click.option("--deadline", metavar="'YYYY-MM-DD HH:MM[:SS]'",
              help="A new deadline: wall-clock time in the quiz's recorded zone (or --tz).")
@click.option("--tz", "time_zone", metavar="ZONE",
              help="With --deadline: the zone to read it in, recorded on the quiz (Asia/Seoul, +09:00).")
@click.option("--no-deadline", is_flag=True, help="Remove the deadline.")
@click.option("--late-until", metavar="'YYYY-MM-DD HH:MM[:SS]'",
              help="Accept late submissions (marked late) until then, read like --deadline.")
@click.option("--no-late", is_flag=True, help="Accept no late submissions.")
@click.option("--attempts", "attempt_limit", type=click.IntRange(1, MAX_ATTEMPTS), metavar="N",
              help="Attempts allowed per student; below what someone has used, they simply cannot submit more.")
@click.option("--no-attempt-limit", is_flag=True, help="Remove the attempt limit.")
@click.option("--feedback", type=click.Choice(FEEDBACK_POLICIES),
              help="What students see of their graded attempts: nothing, scores, or scores and slips.")
@click.option("--counting", type=click.Choice(COUNTING_POLICIES),
              help="Which answer to each question counts: last, the last answer given to it (a question left out "
                   "of a later attempt keeps its earlier answer; one answered again counts as a whole); best, the "
                   "best-scoring one.")
@json_option
@click.pass_context
def set_settings(ctx: click.Context, quiz: str, as_json: bool, **options: Any) -> None:
    """Change a quiz's deadline, late window, attempt limit, feedback or counting policy (one transaction).

    Prints each setting that changed, before -> after. Settings that would not hold
    together are refused as 'generate' refuses them (a deadline after the late window).

    \b
    Example:
      quizgen quiz set 1 --deadline "2026-12-08 18:00" --tz Asia/Seoul
      quizgen quiz set 1 --attempts 5 --feedback score --counting best
    """
    from ..classroom.manage import SettingsChange, change_settings

    report = change_settings(open_store(ctx), quiz, SettingsChange.from_options(**options))
    if as_json:
        emit_json(report.to_json())
        return
    for line in report.lines():
        click.echo(line)
    for note in report.notes():
        click.echo(note, err=True)


@quiz_group.command("extend")
@quiz_argument
@click.option("--student", required=True, metavar="ID", help="The student the extension is for.")
@click.option("--deadline", metavar="'YYYY-MM-DD HH:MM[:SS]'",
              help="Their own deadline, after the quiz's: wall-clock time in the quiz's zone.")
@click.option("--late-until", metavar="'YYYY-MM-DD HH:MM[:SS]'",
              help="Their own late window (marked late) until then, read like --deadline.")
@click.option("--attempts", "attempt_limit", type=click.IntRange(1, MAX_ATTEMPTS), metavar="N",
              help="Their own attempt limit, above the quiz's.")
@click.option("--clear", is_flag=True, help="Remove the student's extension: the quiz's settings apply again.")
@json_option
@click.pass_context
def extend(ctx: click.Context, quiz: str, student: str, deadline: str | None, late_until: str | None,
           attempt_limit: int | None, clear: bool, as_json: bool) -> None:
    """Give one student their own deadline, late window or attempt limit (or --clear it).

    Every way the student submits (submit, the quiz server's page and API, imports)
    applies it, and the student sees it in show, status and on the page. A value not
    given keeps what an earlier extension gave.

    \b
    Example:
      quizgen quiz extend 1 --student 20260001 --deadline "2026-12-10 18:00" --attempts 5
      quizgen quiz extend 1 --student 20260001 --clear
    """
    from ..classroom.extensions import ExtensionChange
    from ..classroom.extensions import extend as do_extend

    report = do_extend(open_store(ctx), quiz, student, ExtensionChange(deadline, late_until, attempt_limit, clear))
    if as_json:
        emit_json(report.to_json())
        return
    for line in report.lines():
        click.echo(line, err=True)


@quiz_group.command("archive")
@quiz_argument
@click.option("--undo", is_flag=True, help="Bring an archived quiz back.")
@json_option
@click.pass_context
def archive(ctx: click.Context, quiz: str, undo: bool, as_json: bool) -> None:
    """Archive a quiz: closed to submissions, left out of 'quizgen list' (--all shows it).

    Its attempts, grades and receipts stay: gradebook, report and audit still read it.

    \b
    Example:
      quizgen quiz archive 1
      quizgen quiz archive 1 --undo
    """
    from ..classroom.housekeeping import archive_quiz

    result = archive_quiz(open_store(ctx), quiz, archived=not undo)
    if as_json:
        emit_json(result.to_json())
        return
    click.echo(result.line(), err=True)


@quiz_group.command("delete")
@quiz_argument
@click.option("--yes", is_flag=True, help="Really delete it (there is no undo).")
@json_option
@click.pass_context
def delete(ctx: click.Context, quiz: str, yes: bool, as_json: bool) -> None:
    """Delete a quiz nobody submitted to (one made by mistake); otherwise archive it.

    \b
    Example:
      quizgen quiz delete 2 --yes
    """
    from ..classroom.housekeeping import delete_quiz

    if not yes:
        raise click.UsageError("deleting a quiz removes its questions and variants for good: add --yes")
    result = delete_quiz(open_store(ctx), quiz)
    if as_json:
        emit_json(result.to_json())
        return
    click.echo(result.line(), err=True)


@click.command()
@quiz_argument
@json_option
@click.pass_context
def progress(ctx: click.Context, quiz: str, as_json: bool) -> None:
    """How a quiz is going: who submitted and who not yet, late, attempts, scores, extensions.

    \b
    Example:
      quizgen progress 1
      quizgen progress 1 --json
    """
    from ..classroom.progress import quiz_progress

    report = quiz_progress(open_store(ctx), quiz)
    if as_json:
        emit_json(report.to_json())
        return
    for line in report.lines():
        click.echo(line)


def _answer_report(report: Any, as_json: bool) -> None:
    if as_json:
        emit_json(report.to_json())
        return
    verb = "accept" if report.action == "accept" else "answer"
    shown = 10  # a rule over a whole class touches every variant: the first few tell what it does
    for e in report.edits[:shown]:
        who = f"student {e.student}" if e.student else "the shared variant"
        line = f"question {report.target} ({who}): {verb} {_value(e.value)} (right answer {_value(e.right)})"
        if report.action == "correct":
            line = f"question {report.target} ({who}): answer {_value(e.right)} -> {_value(e.value)}"
            if e.analytic is not None:
                line += f" (the question's solution gives {_value(e.analytic)}; 'quizgen verify' lists this override)"
        click.echo(line, err=True)
    if len(report.edits) > shown:
        click.echo(f"... and {len(report.edits) - shown} more variant(s) (--json lists them all)", err=True)
    for s in report.skipped[:shown]:
        click.echo(f"skipped {('student ' + s.student) if s.student else 'the shared variant'}: {s.reason}", err=True)
    if len(report.skipped) > shown:
        click.echo(f"... and {len(report.skipped) - shown} more skipped (--json lists them all)", err=True)
    if report.regrade is None:
        click.echo("Nothing to change.", err=True)
        return
    r = report.regrade
    for c in r.changes:
        click.echo(f"{c.student}\t{c.name}\t{c.old:g} -> {c.new:g}\t({c.new - c.old:+g})")
    if r.applied:
        click.echo(f"Applied: {len(report.edits)} answer(s) changed; {r.changed_grades} grade(s) replaced, "
                   f"{len(r.changes)} student total(s) changed.", err=True)
    else:
        click.echo(f"Dry run: {r.changed_grades} grade(s) would change, {len(r.changes)} student total(s). "
                   "Run again with --apply to write the answer(s) and the new grades.", err=True)


def _value(value: Any) -> str:
    if isinstance(value, list):
        from ..nn.shapes import format_shape

        return format_shape(tuple(value))
    return f"{value:,}" if isinstance(value, int) else str(value)


@quiz_group.command("accept")
@quiz_argument
@click.argument("question", metavar="SLOT[.PART]", callback=_target)
@click.argument("value", metavar="[VALUE]", required=False)
@click.option("--student", help="Whose variant VALUE is for (each student's numbers differ).")
@click.option("--slip", metavar="SLIP[@LAYER]",
              help="Instead of VALUE: in every variant (or --student's), accept the value this known slip gives "
                   "there; SLIP@2 for the slip in layer 2, as feedback names it, SLIP@TYPE (no_bias@SimpleRNN) for "
                   f"it in any layer of that type. Slips: {', '.join(_slip_names())}.")
@apply_option
@json_option
@click.pass_context
def accept(ctx: click.Context, quiz: str, question: Any, value: str | None, student: str | None, slip: str | None,
           apply_changes: bool, as_json: bool) -> None:
    """Accept another answer as right for a question (or a part), and regrade.

    Shows whose score would change; --apply writes the accepted answer, the refreshed
    grading keys and the new grades (old grades are kept, marked not current).

    \b
    Example:
      quizgen quiz accept 1 2 529,313 --student 20260001
      quizgen quiz accept 1 4.3 --slip gru_reset_after --apply
      quizgen quiz accept 4 1 --slip no_bias@2 --apply
    """
    from ..classroom.manage import accept_answer

    if (value is None) == (slip is None):
        raise click.UsageError("give VALUE (with --student) or --slip SLIP, one of them")
    if value is not None and student is None:
        raise click.UsageError("each student's variant has its own numbers: give --student ID with VALUE, or "
                               "--slip SLIP to accept a slip's value in every variant")
    bar = Bar("Making keys afresh")
    try:
        report = accept_answer(open_store(ctx), quiz, question, value, student, slip, apply_changes,
                               progress=bar)
    finally:
        bar.close()
    _answer_report(report, as_json)


@quiz_group.command("correct")
@quiz_argument
@click.argument("question", metavar="SLOT[.PART]", callback=_target)
@click.argument("value", metavar="VALUE")
@click.option("--student", required=True, help="Whose variant to correct.")
@apply_option
@json_option
@click.pass_context
def correct(ctx: click.Context, quiz: str, question: Any, value: str, student: str, apply_changes: bool,
            as_json: bool) -> None:
    """Replace a question's right answer (one student's variant), and regrade.

    Shows whose score would change; --apply writes the answer, its grading key and the
    new grades. If the new answer differs from what the question's own solution gives,
    that value is kept beside it, and 'quizgen verify' lists the override.

    \b
    Example:
      quizgen quiz correct 1 3 "(None, 30, 128)" --student 20260001 --apply
    """
    from ..classroom.manage import correct_answer

    bar = Bar("Making keys afresh")
    try:
        report = correct_answer(open_store(ctx), quiz, question, value, student, apply_changes,
                                progress=bar)
    finally:
        bar.close()
    _answer_report(report, as_json)
