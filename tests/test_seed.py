"""The seed notebook's model cells, read as code, reproduce its printed summaries exactly."""

from __future__ import annotations

import os
import re

from click.testing import CliRunner

from quizgen.cli.main import cli
from quizgen.nn.code import models_from_code
from quizgen.nn.shapes import format_shape
from quizgen.nn.solver import solve_raw

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")

ROW = re.compile(r"^ (\w+) \((\w+)\)\s+(\([^)]*\))\s+(\d+)\s*$")


def _printed_tables() -> list[list[tuple[str, str, int]]]:
    """(type, output shape, Param #) rows of every model.summary() printed in the seed."""
    tables, current = [], None
    with open(os.path.join(FIXTURES, "seed_notebook.txt"), encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("Model:"):
                current = []
                tables.append(current)
            elif (m := ROW.match(line.rstrip("\n"))) and current is not None:
                current.append((m.group(2), m.group(3), int(m.group(4))))
    return tables


def _seed_code() -> str:
    with open(os.path.join(FIXTURES, "seed_cells.py"), encoding="utf-8") as fh:
        return fh.read()


def test_seed_cells_reproduce_the_printed_summaries():
    expected = _printed_tables()
    assert len(expected) == 4
    got = []
    for model in models_from_code(_seed_code()):
        solution = solve_raw(model.spec)
        got.append([(r.type, format_shape(r.output_shape), r.params) for r in solution.layers])
    assert got == expected


def test_seed_quiz_answer_through_the_cli(tmp_path):
    code = tmp_path / "cells.py"
    code.write_text(_seed_code(), encoding="utf-8")
    result = CliRunner().invoke(cli, ["solve", "--from-code", str(code)])
    assert result.exit_code == 0, result.output
    assert "Total params: 529,441" in result.output
    assert "│ embedding (Embedding)                │ (None, None, 100)           │         500,000 │" in result.output
    assert "SimpleRNN: h×(h+d+1) = 128×(128+100+1) = 29,312" in result.output
    assert "은닉 상태의 크기 h = 128" in result.output


def test_seed_cells_confirmed_by_keras(checker):
    for model in models_from_code(_seed_code()):
        assert checker.check(model.spec).agree
