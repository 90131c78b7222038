"""Start-up stays light: no TensorFlow (or numpy) unless a command builds Keras models."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import sys, json
from click.testing import CliRunner
import quizgen.cli
after_import = sorted(m for m in ("tensorflow", "keras", "numpy") if m in sys.modules)
r1 = CliRunner().invoke(quizgen.cli.cli, ["--help"])
r2 = CliRunner().invoke(quizgen.cli.cli, ["solve", "-", "--json"], input='{"input": {"shape": [30]}, "layers": [{"type": "Embedding", "input_dim": 5000, "output_dim": 100}]}')
after_solve = sorted(m for m in ("tensorflow", "keras", "numpy") if m in sys.modules)
print(json.dumps([after_import, after_solve, r1.exit_code, r2.exit_code]))
"""


def test_cli_import_help_and_solve_leave_tensorflow_out():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    after_import, after_solve, help_rc, solve_rc = json.loads(out.stdout)
    assert after_import == [] and after_solve == []
    assert help_rc == 0 and solve_rc == 0
