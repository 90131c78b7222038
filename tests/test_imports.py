"""Start-up stays light: no TensorFlow (or numpy) unless a command builds Keras models."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import sys, json
from click.testing import CliRunner
import quizgen.cli.main
after_import = sorted(m for m in ("tensorflow", "keras", "numpy") if m in sys.modules)
r1 = CliRunner().invoke(quizgen.cli.main.cli, ["--help"])
r2 = CliRunner().invoke(quizgen.cli.main.cli, ["solve", "-", "--json"], input='{"input": {"shape": [30]}, "layers": [{"type": "Embedding", "input_dim": 5000, "output_dim": 100}]}')
after_solve = sorted(m for m in ("tensorflow", "keras", "numpy") if m in sys.modules)
print(json.dumps([after_import, after_solve, r1.exit_code, r2.exit_code]))
"""


STUDENT = """
import sys, json
from click.testing import CliRunner
import quizgen.cli.main
db, quiz, sid, token = sys.argv[1:5]
results = [CliRunner().invoke(quizgen.cli.main.cli, ["--db", db] + args).exit_code for args in (
    ["submit", "--allow-blank", quiz, "--student", sid, "--token", token, "--answer", "1=123"],
    ["status", quiz, "--student", sid, "--token", token],
    ["show", quiz, "--student", sid],
    ["grade", quiz],
    ["gradebook", quiz],
    ["report", quiz],
)]
print(json.dumps([results, sorted(m for m in ("tensorflow", "keras", "numpy") if m in sys.modules)]))
"""


def test_student_and_grading_commands_import_neither_tensorflow_nor_numpy(tmp_path):
    from .helpers import make_class

    klass = make_class(tmp_path)
    sid = "20260001"
    out = subprocess.run([sys.executable, "-c", STUDENT, str(klass.db), str(klass.quiz), sid, klass.tokens[sid]],
                         capture_output=True, text=True, check=True)
    codes, heavy = json.loads(out.stdout)
    assert codes == [0] * 6 and heavy == []


def test_cli_import_help_and_solve_leave_tensorflow_out():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    after_import, after_solve, help_rc, solve_rc = json.loads(out.stdout)
    assert after_import == [] and after_solve == []
    assert help_rc == 0 and solve_rc == 0
