"""``quizgen demo``: the whole class workflow, end to end."""

from __future__ import annotations

import click


@click.command()
@click.option("--lang", type=click.Choice(["ko", "en"]), default="ko", show_default=True)
@click.pass_context
def demo(ctx: click.Context, lang: str) -> None:
    """A class of 30 end to end: roster, Keras-confirmed quiz, submissions, grading, report.

    Uses a fresh temporary database unless --db names one.
    """
    from ..classroom.demo import run_demo

    run_demo(lang, echo=click.echo, db=ctx.find_root().obj["db"])
