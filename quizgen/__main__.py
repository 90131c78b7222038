"""``python -m quizgen``: the same as the ``quizgen`` command."""

from quizgen.cli.main import main

main()
