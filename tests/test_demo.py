"""``quizgen demo`` (what ``make demo`` runs): a whole class in under a minute."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from quizgen.cli.main import cli


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path, checker):
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "demo.db"), "demo"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Roster: 30 students" in out and "answers confirmed by Keras" in out
    assert "26 students submitted over the API, 3 through the page and 1 from the LMS" in out
    assert "26 signed receipts received" in out
    assert "the LMS made one gradebook column" in out and "The LMS's gradebook now holds" in out
    assert "0 answer(s) left to grade" in out and "log intact" in out
    assert "Points Possible" in out and "점수 분포" in out
    assert "Try next" in out
