"""``quizgen demo``: the whole class workflow, end to end."""

from __future__ import annotations

import click

from .options import lang_option


@click.command()
@lang_option(help="Language of the quiz and the report.")
@click.pass_context
def demo(ctx: click.Context, lang: str) -> None:
    """A class of 30 end to end: roster, Keras-confirmed quiz, submissions, grading, report.

    Uses a fresh temporary database unless --db names one.

    \b
    Example:
      quizgen demo --lang en
    """
    from ..classroom.demo import run_demo

    run_demo(lang, echo=click.echo, db=ctx.find_root().obj["db"])
