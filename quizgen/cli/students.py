"""Commands about students: the roster, submitting, and a student's own status."""

from __future__ import annotations

import click

from .options import emit_json, json_option, open_store, quiz_argument, student_options


@click.group()
def roster() -> None:
    """The class roster and submission tokens.

    \b
    Example:
      quizgen roster import class.csv
    """


def _print_tokens(issued, as_json: bool) -> None:  # type: ignore[no-untyped-def]
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


@click.command()
@quiz_argument
@student_options
@click.option("--answer", "answers", multiple=True, metavar="N=VALUE",
              help='An answer, e.g. --answer 1=529,441 --answer 3="(None, 30, 100)" --answer 4.2=500000.')
@click.option("--file", "answers_file", metavar="FILE", help="Answers from answers.json or answers.csv.")
@json_option
@click.pass_context
def submit(ctx: click.Context, quiz: str, student_id: str, token: str | None, answers: tuple[str, ...],
           answers_file: str | None, as_json: bool) -> None:
    """Submit answers to a quiz (one attempt).

    \b
    Example:
      export QUIZGEN_TOKEN=...
      quizgen submit 1 --student 20260001 --answer 1=529,441 --answer 2="(None, 128)"
    """
    from ..classroom.answersheets import parse_answer_args, read_answers_file
    from ..classroom.submissions import submit as do_submit

    if bool(answers) == bool(answers_file):
        raise click.UsageError("give answers with --answer N=VALUE or --file FILE (one of them)")
    given = read_answers_file(answers_file) if answers_file else parse_answer_args(answers)
    receipt = do_submit(open_store(ctx), quiz, student_id, token, given)
    if as_json:
        emit_json(receipt.to_json())
        return
    click.echo(f"Recorded attempt {receipt.attempt} on quiz {receipt.quiz_id}: {receipt.answered} answer(s) "
               f"at {receipt.submitted_local}.")


@click.command()
@quiz_argument
@student_options
@json_option
@click.pass_context
def status(ctx: click.Context, quiz: str, student_id: str, token: str | None, as_json: bool) -> None:
    """Your attempts on a quiz and, as the quiz allows, your scores and feedback.

    \b
    Example:
      quizgen status 1 --student 20260001
    """
    from ..classroom.submissions import status as get_status
    from ..clock import show
    from ..grading.feedback import score_text

    report = get_status(open_store(ctx), quiz, student_id, token)
    if as_json:
        emit_json(report.to_json())
        return
    limit = f" of {report.attempt_limit}" if report.attempt_limit else ""
    click.echo(f"{report.title} (quiz {report.quiz_id}) — {report.student}: {len(report.attempts)}{limit} attempt(s)")
    for a in report.attempts:
        click.echo(f"  attempt {a.attempt}: {a.answers} answer(s) at {show(a.submitted_at, report.time_zone)}")
    if not report.graded:
        click.echo("Not graded yet." if report.attempts else "No attempts yet.")
        return
    if report.questions is None:
        click.echo("Graded; this quiz does not show scores.")
        return
    click.echo(f"Score: {score_text(report.score or 0)} / {report.max_score}")
    if report.feedback == "full":
        for q in report.questions:
            mark = "–" if not q.answered else ("✓" if q.correct else "✗")
            line = f"  {q.slot}. {mark} {score_text(q.score or 0)}/{q.points}"
            if q.parts is None and q.misconception:
                line += f" — {q.feedback}"
            click.echo(line)
            for p in (q.parts or ()) if not q.correct else ():  # a wrong multi-part answer: part by part
                part_mark = "–" if not p.answered else ("✓" if p.correct else "✗")
                click.echo(f"     {p.number} {part_mark} {p.label}" + (f" — {p.feedback}" if p.feedback else ""))
