"""What ``make demo`` shows: the textbook's 점검 퀴즈 solved, explained and confirmed by Keras."""

from __future__ import annotations

from typing import Callable

from .codeparse import models_from_code
from .solver import solve_raw
from .summary import format_summary, format_working

SEED_QUIZ = {
    "input": {"shape": [30]},
    "layers": [
        {"type": "Embedding", "input_dim": 5000, "output_dim": 100},
        {"type": "SimpleRNN", "units": 128},
        {"type": "Dense", "units": 1, "activation": "sigmoid"},
    ],
}

SEED_CODE = """\
model = Sequential()
model.add(SimpleRNN(3, batch_input_shape=(8, 2, 10), return_sequences=True))
"""


def run_demo(lang: str, echo: Callable[..., None]) -> None:
    from .keras_check import KerasChecker, versions

    echo("점검 퀴즈 / check quiz: Embedding(5000, 100) → SimpleRNN(128) → Dense(1, sigmoid), samples of length 30\n")
    solution = solve_raw(SEED_QUIZ)
    echo(format_summary(solution))
    echo(format_working(solution, lang))
    echo("\nConfirming with real Keras…", err=True)
    checker = KerasChecker()
    v = versions()
    verdict = checker.check(SEED_QUIZ, solution)
    echo(f"Keras {v['keras']} (TensorFlow {v['tensorflow']}): {verdict.describe()}")
    echo("\nFrom code (the seed's batch_input_shape cell):\n" + SEED_CODE)
    for model in models_from_code(SEED_CODE):
        code_solution = solve_raw(model.spec)
        echo(format_summary(code_solution))
        echo(f"Keras: {checker.check(model.spec, code_solution).describe()}")
    echo("\nNext: quizgen solve --help · quizgen solve spec.json --verify · quizgen solve --from-code cell.py")
