"""``quizgen solve --from-code FILE --execute`` (#18.6): the instructor's own file run by Keras in a
child process, fenced in (no network, a temporary directory, time and memory limits), every
keras.Model it leaves reported; the parent never imports TensorFlow."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from quizgen.cli.main import cli

pytestmark = pytest.mark.slow


def _run(path: Path, *extra: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "quizgen", "solve", "--from-code", str(path), "--execute", *extra],
                          capture_output=True, text=True, timeout=300, cwd=cwd)


def test_every_model_the_file_leaves_is_reported_as_keras_counts_it(tmp_path):
    path = tmp_path / "models.py"
    path.write_text("""
import keras
from keras import layers

class Scale(layers.Layer):          # a subclassed layer: only running the code counts it
    def build(self, shape):
        self.w = self.add_weight(shape=(shape[-1],))
    def call(self, x):
        return x * self.w

inputs = keras.Input(shape=(6,))
x = Scale()(inputs)
x = layers.Lambda(lambda t: t + 1)(x)
outputs = layers.Dense(2)(x + inputs)  # arithmetic on tensors
model = keras.Model(inputs, outputs)
models = {"small": keras.Sequential([keras.Input(shape=(3,)), layers.Dense(1)])}
unbuilt = keras.Sequential([layers.Dense(2)])
""", encoding="utf-8")
    done = _run(path, "--json")
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 1  # the unbuilt model has no answer
    model, small, unbuilt = lines
    assert model["source"] == "keras" and model["model"] == "model" and model["class"] == "Functional"
    assert model["total_params"] == 6 + 14 and [r["type"] for r in model["layers"]] == ["Scale", "Lambda", "Dense"]
    assert small["model"] == "models['small']" and small["total_params"] == 4
    assert unbuilt["model"] == "unbuilt" and "has not built this model" in unbuilt["error"]
    text = _run(path)
    assert "# model 'model' (built and counted by Keras)" in text.stdout and "Total params: 20" in text.stdout
    assert "Error: model 'unbuilt': Keras has not built this model" in text.stderr


def test_the_network_is_refused(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    accepted: list[bool] = []

    def accept() -> None:
        listener.settimeout(60)
        try:
            conn, _ = listener.accept()
            accepted.append(True)
            conn.close()
        except OSError:
            pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    path = tmp_path / "net.py"
    path.write_text(f"""
import socket
import keras
model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1)])
socket.create_connection(("127.0.0.1", {port}), timeout=10)
""", encoding="utf-8")
    done = _run(path, "--json")
    listener.close()
    thread.join(5)
    assert not accepted  # nothing reached the listening socket
    model, stopped = [json.loads(line) for line in done.stdout.splitlines()]
    assert model["total_params"] == 4  # the model built before the refused line is still reported
    assert "line 5: PermissionError: network access is refused" in stopped["error"]


def test_time_and_memory_limits_stop_the_code_and_leave_nothing_running(tmp_path):
    pid_file = tmp_path / "pid"
    path = tmp_path / "forever.py"
    path.write_text(f"import os\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\nwhile True:\n    pass\n",
                    encoding="utf-8")
    done = _run(path, "--timeout", "5")
    assert done.returncode == 1 and "ran longer than 5 s and was stopped" in done.stderr
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    path = tmp_path / "greedy.py"
    path.write_text("hog = bytearray(8 * 1024 ** 3)\n", encoding="utf-8")
    done = _run(path, "--memory", "2048")
    assert done.returncode == 1 and "MemoryError" in done.stderr


def test_the_code_runs_in_a_temporary_directory_and_the_parent_never_imports_tensorflow(tmp_path):
    path = tmp_path / "writes.py"
    path.write_text("import keras\nopen('left_behind.txt', 'w').write('x')\n"
                    "model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])\n", encoding="utf-8")
    probe = ("import sys\nfrom quizgen.cli.main import cli\n"
             f"code = cli.main(['solve', '--from-code', {str(path)!r}, '--execute', '--json'], standalone_mode=False)\n"
             "print('TF' if 'tensorflow' in sys.modules or 'keras' in sys.modules else 'clean', code)\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.stdout.splitlines()[-1] == "clean 0", done.stdout + done.stderr
    assert not (tmp_path / "left_behind.txt").exists()


def test_execute_is_for_code_only():
    result = CliRunner().invoke(cli, ["solve", "spec.json", "--execute"])
    assert result.exit_code == 2 and "--execute runs the code of --from-code" in result.stderr
    result = CliRunner().invoke(cli, ["solve", "--from-code", "x.py", "--execute", "--verify"])
    assert result.exit_code == 2 and "leave --verify out" in result.stderr
