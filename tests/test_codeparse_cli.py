"""``quizgen solve --from-code`` as users run it: textbook files in, one clear line out when unreadable."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from quizgen.cli.main import cli

CODE = os.path.join(os.path.dirname(__file__), "fixtures", "code")
UNSUPPORTED = os.path.join(CODE, "unsupported")
HINT = "; rewrite or remove that line, or run the file in Keras with --execute"


@pytest.mark.parametrize("name,line", [
    ("subclassed_model.py",
     "Error: line 27: subclassed models are not supported (CustomerTicketModel, line 6, subclasses keras.Model); "
     "quizgen reads the layers Keras provides" + HINT),
    ("bahdanau_subclass.py",
     "Error: line 33: subclassed models are not supported (BahdanauAttention, line 10, subclasses tf.keras.Model); "
     "quizgen reads the layers Keras provides" + HINT),
    ("runtime_loop.py",
     "Error: line 10: a for loop over range(num_blocks), which quizgen cannot know without running the code: "
     "'num_blocks' is not a constant quizgen can read (set at line 6)" + HINT),
    ("kwargs_block.py",
     "Error: line 7 (in dense_block(), called at line 12): **kwargs cannot be read without running the code "
     "(layers.Dense(units, **kwargs))" + HINT),
    ("unknown_call.py",
     "Error: line 8: unsupported call tf.expand_dims(...) on a Keras tensor; quizgen traces Keras layers only" + HINT),
    ("tensor_arithmetic.py",
     "Error: line 7: arithmetic on tensors (x + inputs) is not supported; use a Keras layer such as layers.Add() "
     "or layers.Multiply()" + HINT),
])
def test_unsupported_textbook_code_gives_one_line_and_exit_1(name, line):
    result = CliRunner().invoke(cli, ["solve", "--from-code", os.path.join(UNSUPPORTED, name)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == line + "\n"


def test_a_file_without_a_model(tmp_path):
    path = tmp_path / "prep.py"
    path.write_text("import numpy as np\nX = np.zeros((3, 4))\nprint(X.shape)\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["solve", "--from-code", str(path)])
    assert (result.exit_code, result.stderr) == (1, "Error: no Keras model found in the code\n")


def test_sequential_models_from_a_file_with_functional_ones_are_solved_in_order():
    """Sequential specs solve today; each model is labelled with the line it is built on."""
    path = os.path.join(CODE, "sequential_cells.py")
    result = CliRunner().invoke(cli, ["solve", "--from-code", path, "--json"])
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 5
    assert lines[0]["total_params"] == 529_441
    assert lines[1]["layers"][-1]["output_shape"] == [None, 70, 18]
    assert "total_params" in lines[3] and "total_params" in lines[4]


def test_piped_code_through_a_real_process():
    """Python's own warnings while parsing (here "invalid decimal literal") never reach the user's screen."""
    code = ("from keras import layers, Input, Model\nn = 3\nk = 1if n else 2\n\n"
            "x = Input(shape=(4,))\ny = layers.Dense(2)(x + 1)\n")
    proc = subprocess.run([sys.executable, "-m", "quizgen.cli.main", "solve", "--from-code", "-"],
                          input=code, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr == "Error: line 6: arithmetic on tensors (x + 1) is not supported; use a Keras layer such as " \
                          "layers.Add() or layers.Multiply()" + HINT + "\n"


def test_a_notebook_saved_as_text_says_what_to_do(tmp_path):
    """#21.11: the seed notebook as Jupyter saves it as text ("In [1]:" lines) is not Python."""
    seed = os.path.join(os.path.dirname(__file__), "fixtures", "seed_notebook.txt")
    result = CliRunner().invoke(cli, ["solve", "--from-code", seed])
    assert result.exit_code == 1 and result.stdout == ""
    assert "this is a notebook saved as text" in result.stderr
    assert "give --from-code the notebook itself (.ipynb), or its code saved as a .py file" in result.stderr
    other = tmp_path / "notes.txt"
    other.write_text("Build an LSTM with 128 units.\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["solve", "--from-code", str(other)])
    assert "--from-code reads Python code (.py) or a Jupyter notebook (.ipynb)" in result.stderr
