"""Commands about grades: batch grading, importing submissions, the gradebook and the report."""

from __future__ import annotations

import click

from .options import (
    STDOUT,
    Bar,
    emit_json,
    json_option,
    key_file_option,
    lang_option,
    open_signing,
    open_store,
    output_options,
    quiz_argument,
    refuse_binary_on_terminal,
    write_outputs,
)


@click.command()
@quiz_argument
@click.option("--regrade", is_flag=True, help="Grade graded submissions again (after a key was corrected).")
@click.option("--apply", "apply_changes", is_flag=True, help="With --regrade: write the new grades (default: dry run).")
@json_option
@click.pass_context
def grade(ctx: click.Context, quiz: str, regrade: bool, apply_changes: bool, as_json: bool) -> None:
    """Grade every ungraded submission of a quiz (safe to rerun or interrupt).

    \b
    Example:
      quizgen grade 1
      quizgen grade 1 --regrade          # after correcting a key: what would change
      quizgen grade 1 --regrade --apply
    """
    from ..grading.batch import grade_quiz
    from ..grading.batch import regrade as do_regrade

    store = open_store(ctx)
    if apply_changes and not regrade:
        raise click.UsageError("--apply goes with --regrade")
    if regrade:
        bar = Bar("Making keys afresh")
        try:
            report = do_regrade(store, quiz, apply=apply_changes, progress=bar)
        finally:
            bar.close()
        if as_json:
            emit_json(report.to_json())
            return
        for c in report.changes:
            click.echo(f"{c.student}\t{c.name}\t{c.old:g} -> {c.new:g}\t({c.new - c.old:+g})")
        verb = "Applied" if report.applied else "Dry run:"
        tail = "" if report.applied else " Run again with --apply to write them."
        keys = f" {report.refreshed_keys} question key(s) differ from their answer." if report.refreshed_keys else ""
        click.echo(f"{verb} {report.changed_grades} grade(s) change, {len(report.changes)} student total(s)."
                   f"{keys}{tail}", err=True)
        return
    bar = Bar("Grading")
    try:
        result = grade_quiz(store, quiz, progress=bar)
    finally:
        bar.close()
    if as_json:
        emit_json(result.to_json())
    else:
        click.echo(f"Graded {result.graded:,} answer(s) in {result.chunks} transaction(s).", err=True)


@click.command("import-submissions")
@quiz_argument
@click.argument("file", metavar="FILE.csv|FILE.json")
@click.option("--ignore-deadline", is_flag=True, help="Import answers given after the deadline too.")
@click.option("--ignore-attempt-limit", is_flag=True, help="Import for students who have used every attempt too.")
@key_file_option
@json_option
@click.pass_context
def import_submissions(ctx: click.Context, quiz: str, file: str, ignore_deadline: bool, ignore_attempt_limit: bool,
                       key_file: str | None, as_json: bool) -> None:
    """Import answers collected elsewhere (student,question,answer[,submitted_at]); all rows or none.

    The deadline and the attempt limit apply unless overridden; importing the same
    file again adds nothing.

    \b
    Example:
      quizgen import-submissions 1 lms-export.csv
    """
    from ..classroom.imports import import_submissions as do_import

    report = do_import(open_store(ctx), quiz, file, open_signing(ctx, key_file), ignore_deadline,
                       ignore_attempt_limit)
    if as_json:
        emit_json(report.to_json())
        return
    click.echo(f"Imported {report.imported:,} answer(s) from {report.students} student(s).", err=True)
    if report.already_imported:
        click.echo(f"Skipped {report.already_imported} student(s) whose answers from this file were already "
                   "imported.", err=True)
    if report.late > report.after_close:
        click.echo(f"{report.late - report.after_close:,} answer(s) were given in the late window (marked late, as "
                   "'submit' records them).", err=True)
    if report.after_close:
        click.echo(f"{report.after_close:,} answer(s) were given after the deadline and any late window "
                   "(--ignore-deadline).", err=True)
    if report.over_limit:
        click.echo(f"{report.over_limit:,} answer(s) go past the attempt limit (--ignore-attempt-limit).", err=True)


@click.command()
@quiz_argument
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "xlsx"]), default="csv", show_default=True,
              help="Canvas CSV, JSON with every question's score, or an Excel workbook of the CSV's table.")
@click.option("--questions/--no-questions", default=False, show_default=True,
              help="CSV and xlsx: also a column per question, marked read only, which Canvas's importer skips "
                   "(the quiz's own column is the one it grades).")
@click.option("--excel", is_flag=True,
              help="CSV: start with a UTF-8 byte order mark, so that Excel shows Korean names (give Canvas the "
                   "CSV without it).")
@output_options
@json_option
@click.pass_context
def gradebook(ctx: click.Context, quiz: str, fmt: str, questions: bool, excel: bool, output: str | None,
              force: bool, as_json: bool) -> None:
    """A row per student with the quiz total (CSV imports into Canvas; JSON has every question).

    \b
    Example:
      quizgen gradebook 1 -o grades.csv
      quizgen gradebook 1 --format xlsx -o grades.xlsx
    """
    from ..classroom.results import gradebook as build
    from ..exports.gradebook import gradebook_csv, gradebook_json, gradebook_xlsx

    fmt = "json" if as_json else fmt  # --json is --format json, as on every other command
    if excel and fmt != "csv":
        raise click.UsageError("--excel goes with --format csv (an xlsx workbook needs no byte order mark)")
    if fmt == "xlsx" and not output:
        refuse_binary_on_terminal("an xlsx workbook")
    book = build(open_store(ctx), quiz)
    data: str | bytes = (gradebook_csv(book, questions, excel) if fmt == "csv" else
                         gradebook_xlsx(book, questions) if fmt == "xlsx" else gradebook_json(book))
    if output:
        for path in write_outputs(ctx, [(output, data)], force):
            click.echo(f"Wrote {path}", err=True)
    else:
        click.echo(data, nl=False)


@click.command()
@quiz_argument
@click.option("--png", "png_path", metavar="FILE", help="Also draw the charts into a PNG file.")
@click.option("--html", "html_path", metavar="FILE",
              help="Also write a self-contained HTML report (charts as inline SVG); - prints it instead of the "
                   "text report.")
@click.option("--force", is_flag=True, help="Replace the files if they exist (never a database, link or device).")
@lang_option(None, help="Language of the report [default: the quiz's].")
@json_option
@click.pass_context
def report(ctx: click.Context, quiz: str, png_path: str | None, html_path: str | None, force: bool,
           lang: str | None, as_json: bool) -> None:
    """Item analysis: correct rate, discrimination, common wrong answers and slips, score distribution.

    \b
    Example:
      quizgen report 1 --png report.png --html report.html
      quizgen report 1 --lang en --json
    """
    from ..classroom.results import analysis as analyse
    from ..exports.analysis import format_report, report_json

    if png_path == STDOUT:
        raise click.BadParameter("a PNG is a binary file and stdout carries the report: give a file name",
                                 param_hint="'--png'")
    if html_path == STDOUT and as_json:
        raise click.UsageError("--html - and --json would both print to stdout: give --html a file name")
    analysis = analyse(open_store(ctx), quiz)
    lang = lang or analysis.book.info.language
    # files first: a path that cannot be written fails before anything is printed
    files: list[tuple[str, str | bytes]] = []
    if png_path is not None:
        from ..exports.charts import report_png

        drawing = report_png(analysis, lang)
        _note_missing_glyphs(drawing.missing, png_path)
        files.append((png_path, drawing.data))
    if html_path is not None:
        from ..exports.html_report import report_html

        page = report_html(analysis, lang)
        _note_missing_glyphs(page.missing, "the HTML report" if html_path == STDOUT else html_path)
        files.append((html_path, page.html))
    written = write_outputs(ctx, [(path, data) for path, data in files if path != STDOUT], force)
    if html_path == STDOUT:
        click.echo(dict(files)[STDOUT], nl=False)
    elif as_json:
        emit_json(report_json(analysis))
    else:
        click.echo(format_report(analysis, lang))
    for path in written:
        click.echo(f"Wrote {path}", err=True)


def _note_missing_glyphs(missing: tuple[str, ...], path: str) -> None:
    if missing:
        from ..exports.charts import FONT_HINT

        shown = " ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
        click.echo(f"Note: no installed font has {shown}; {path} shows them as boxes. {FONT_HINT}", err=True)
