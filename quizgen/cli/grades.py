"""Commands about grades: batch grading, importing submissions, the gradebook and the report."""

from __future__ import annotations

import click

from .options import Bar, emit_json, open_store


@click.command()
@click.argument("quiz")
@click.option("--regrade", is_flag=True, help="Grade graded submissions again (after a key was corrected).")
@click.option("--apply", "apply_changes", is_flag=True, help="With --regrade: write the new grades (default: dry run).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def grade(ctx: click.Context, quiz: str, regrade: bool, apply_changes: bool, as_json: bool) -> None:
    """Grade every ungraded submission of a quiz (safe to rerun or interrupt)."""
    from ..grading.batch import grade_quiz, regrade as do_regrade

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
            emit_json({"applied": report.applied, "changed_grades": report.changed_grades,
                       "refreshed_keys": report.refreshed_keys,
                       "changes": [{"student": c.student, "old": c.old, "new": c.new} for c in report.changes]})
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
        emit_json({"graded": result.graded, "chunks": result.chunks, "remaining": result.remaining})
    else:
        click.echo(f"Graded {result.graded:,} submission(s) in {result.chunks} transaction(s).", err=True)


@click.command("import-submissions")
@click.argument("quiz")
@click.argument("file", metavar="FILE.csv|FILE.json")
@click.pass_context
def import_submissions(ctx: click.Context, quiz: str, file: str) -> None:
    """Import answers collected elsewhere (student,question,answer); all rows or none."""
    from ..classroom.submissions import import_submissions as do_import

    report = do_import(open_store(ctx), quiz, file)
    click.echo(f"Imported {report.imported:,} answer(s) from {report.students} student(s).", err=True)


@click.command()
@click.argument("quiz")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--questions/--no-questions", default=True, show_default=True,
              help="CSV: a column per question after the quiz total (Canvas imports each as an assignment).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to FILE instead of stdout.")
@click.pass_context
def gradebook(ctx: click.Context, quiz: str, fmt: str, questions: bool, output: str | None) -> None:
    """A row per student: each question's score and the total (CSV imports into Canvas)."""
    from ..classroom.results import gradebook as build
    from ..exports import write_export
    from ..exports.gradebook import gradebook_csv, gradebook_json

    book = build(open_store(ctx), quiz)
    text = gradebook_csv(book, questions) if fmt == "csv" else gradebook_json(book)
    if output:
        for path in write_export(output, text):
            click.echo(f"Wrote {path}", err=True)
    else:
        click.echo(text, nl=False)


@click.command()
@click.argument("quiz")
@click.option("--png", "png_path", type=click.Path(dir_okay=False), help="Also draw the charts into a PNG file.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False),
              help="Also write a self-contained HTML report (charts as inline SVG).")
@click.option("--lang", type=click.Choice(["ko", "en"]), help="Language of the report [default: the quiz's].")
@click.option("--json", "as_json", is_flag=True, help="Print the analysis as JSON (data only) instead of the text.")
@click.pass_context
def report(ctx: click.Context, quiz: str, png_path: str | None, html_path: str | None, lang: str | None,
           as_json: bool) -> None:
    """Item analysis: correct rate, discrimination, common wrong answers and slips, score distribution.

    \b
    Example:
        quizgen report 1 --png report.png --html report.html
        quizgen report 1 --lang en --json
    """
    from ..classroom.results import analysis as analyse
    from ..exports.analysis import format_report, report_json

    analysis = analyse(open_store(ctx), quiz)
    lang = lang or analysis.book.info.language
    # files first: a path that cannot be written fails before anything is printed
    written = []
    if png_path is not None:
        from ..exports.charts import report_png
        from ..files import write_file

        drawing = report_png(analysis, lang)
        _note_missing_glyphs(drawing.missing, png_path)
        written.append(write_file(png_path, drawing.data))
    if html_path is not None:
        from ..exports.html_report import report_html
        from ..files import write_file

        page = report_html(analysis, lang)
        _note_missing_glyphs(page.missing, html_path)
        written.append(write_file(html_path, page.html))
    if as_json:
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
