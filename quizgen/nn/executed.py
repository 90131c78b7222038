"""``quizgen solve --from-code FILE --execute``: the instructor's own file, run by Keras.

The analytic reader (``code/``) never runs code; what it cannot read (a subclassed model,
``Lambda``, arithmetic on tensors, ``tf.*`` calls, sizes computed from data) only running
can answer. This runs the file in a child process and reports every ``keras.Model`` it
leaves in its variables, in the JSON of the analytic path marked ``"source": "keras"``
(no derivation, no slips: Keras gives counts, not reasons).

Trusted input only: the instructor's own file, never anything a student sent, never in the
service (nothing but the ``solve`` command calls this). Still, the child is fenced in:

- a temporary directory as its working directory and ``HOME`` (Keras's caches land there
  and go with it), and nothing of the caller's environment but ``PATH``;
- no network: an audit hook (PEP 578), installed before the file runs, refuses every
  socket connection, name lookup and datagram except local (AF_UNIX) ones, so
  ``keras.datasets...load_data()`` or ``weights="imagenet"`` fail with one clear line
  instead of downloading (no ``unshare`` or root needed);
- limits: address space (``RLIMIT_AS``, ``--memory``), CPU seconds (``RLIMIT_CPU``) and
  wall-clock time (the parent kills the child's whole process group after ``--timeout``).

The parent never imports TensorFlow: it writes the runner, starts ``python -I``, waits, and
reads back a JSON file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CodeParseError

DEFAULT_TIMEOUT = 300  # seconds: a textbook file builds its models in seconds; training loops do not
DEFAULT_MEMORY_MB = 4096  # TensorFlow reserves about 1.5 GB of address space before any model


@dataclass(frozen=True)
class Limits:
    """What the child may use: wall-clock seconds and address space in MB."""

    timeout: float = DEFAULT_TIMEOUT
    memory_mb: int = DEFAULT_MEMORY_MB


@dataclass(frozen=True)
class ExecutedModel:
    """One keras.Model the file left: its JSON (or why it has no answer) and Keras's own summary."""

    label: str
    data: dict[str, Any] | None
    error: str | None
    summary: str


def run_code(path: str, source: str, limits: Limits) -> list[ExecutedModel]:
    """Run ``source`` (the text of ``path``: Python, or a notebook's JSON) and report its models."""
    from .code.notebook import notebook_python, strip_ipython

    python = notebook_python(source, path) if path.endswith(".ipynb") else strip_ipython(source)
    with tempfile.TemporaryDirectory(prefix="quizgen-execute-") as tmp:
        work = Path(tmp)
        code = work / (Path(path).stem or "model_code") if path != "-" else work / "model_code"
        code = code.with_suffix(".py")
        code.write_text(python, encoding="utf-8")
        runner = work / "_quizgen_runner.py"
        runner.write_text(_RUNNER, encoding="utf-8")
        result = work / "_quizgen_result.json"
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work), "KERAS_HOME": str(work / ".keras"),
               "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0", "KERAS_BACKEND": "tensorflow",
               "CUDA_VISIBLE_DEVICES": "", "COLUMNS": "104", "PYTHONDONTWRITEBYTECODE": "1",
               "MPLBACKEND": "Agg", "LANG": "C.UTF-8"}
        args = [sys.executable, "-I", str(runner), str(code), str(result), str(limits.memory_mb),
                str(int(limits.timeout) + 5)]
        proc = subprocess.Popen(args, cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
        try:
            _, err = proc.communicate(timeout=limits.timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            raise CodeParseError(f"--execute: the code ran longer than {limits.timeout:g} s and was stopped "
                                 "(give more with --timeout, or leave the training out)") from None
        finally:
            _kill(proc)
        if not result.exists():
            raise CodeParseError(f"--execute: {_failure(proc.returncode, err, limits)}")
        report = json.loads(result.read_text(encoding="utf-8"))
    models = [ExecutedModel(m["label"], m.get("data"), m.get("error"), m.get("summary", ""))
              for m in report["models"]]
    if report.get("error"):
        models.append(ExecutedModel("the file", None, f"running it stopped: {report['error']}", ""))
    if not models:
        raise CodeParseError("--execute: the file ran, and left no keras.Model in its variables")
    return models


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def _failure(returncode: int, err: bytes, limits: Limits) -> str:
    text = err.decode("utf-8", "replace").strip().splitlines()
    last = text[-1] if text else ""
    if returncode in (-signal.SIGKILL, -signal.SIGXCPU) or "MemoryError" in last or "bad_alloc" in last:
        return (f"the code was stopped by its limits ({limits.memory_mb:,} MB of memory, "
                f"{limits.timeout:g} s; see --memory and --timeout)")
    return f"the code could not be run ({last or f'exit status {returncode}'})"


# The child's program: limits and the network fence first, then the file, then every model it left.
_RUNNER = r'''
import gc, json, math, resource, socket, sys, traceback

code_path, result_path, memory_mb, cpu_seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
resource.setrlimit(resource.RLIMIT_AS, (memory_mb * 1024 * 1024, memory_mb * 1024 * 1024))
resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))

_NETWORK = {"socket.connect", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo", "socket.gethostbyname",
            "socket.gethostbyaddr", "socket.getnameinfo", "urllib.Request"}

def _no_network(event, args):
    if event in _NETWORK:
        if event == "socket.connect" and args and getattr(args[0], "family", None) == socket.AF_UNIX:
            return
        raise PermissionError("network access is refused while quizgen runs the code (--execute)")

sys.addaudithook(_no_network)
sys.argv = [code_path]

namespace = {"__name__": "__main__", "__file__": code_path, "__builtins__": __builtins__}
error = None
try:
    with open(code_path, encoding="utf-8") as f:
        exec(compile(f.read(), code_path, "exec"), namespace)
except BaseException as exc:  # the models built before it stopped are still reported
    tb = traceback.extract_tb(exc.__traceback__)
    line = next((f.lineno for f in reversed(tb) if f.filename == code_path), None)
    where = f"line {line}: " if line else ""
    error = f"{where}{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"[:300]

models = []
try:
    import keras
except Exception:
    keras = None


def shape_of(layer):
    try:
        out = layer.output
    except Exception:
        return None
    if isinstance(out, (list, tuple)):
        return [list(t.shape) for t in out]
    return list(out.shape)


def count(weights):
    seen, total = set(), 0
    for w in weights:
        if id(w) not in seen:
            seen.add(id(w))
            total += math.prod(int(d) for d in w.shape)
    return total


def describe(label, model):
    item = {"label": label}
    if not model.built:
        item["error"] = ("Keras has not built this model: it has no input shape yet (give it an Input or "
                         "input_shape, or call model.build(...))")
        return item
    rows = []
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":  # as the analytic JSON: inputs are not rows
            continue
        trainable, non_trainable = count(layer.trainable_weights), count(layer.non_trainable_weights)
        rows.append({"type": type(layer).__name__, "name": layer.name, "output_shape": shape_of(layer),
                     "params": trainable + non_trainable, "trainable": trainable, "non_trainable": non_trainable})
    trainable, non_trainable = count(model.trainable_weights), count(model.non_trainable_weights)
    item["data"] = {"source": "keras", "model": label, "name": model.name, "class": type(model).__name__,
                    "layers": rows, "total_params": trainable + non_trainable, "trainable_params": trainable,
                    "non_trainable_params": non_trainable}
    lines = []
    try:
        model.summary(print_fn=lambda text, **_: lines.append(text))
    except Exception as exc:
        lines.append(f"(Keras could not print its summary: {exc})")
    item["summary"] = "".join(lines).rstrip("\n")
    return item


if keras is not None:
    seen = set()
    for name, value in list(namespace.items()):
        found = [(name, value)]
        if isinstance(value, (list, tuple)):
            found = [(f"{name}[{i}]", v) for i, v in enumerate(value)]
        elif isinstance(value, dict):
            found = [(f"{name}[{k!r}]", v) for k, v in value.items()]
        for label, candidate in found:
            if isinstance(candidate, keras.Model) and id(candidate) not in seen:
                seen.add(id(candidate))
                try:
                    models.append(describe(label, candidate))
                except Exception as exc:
                    models.append({"label": label, "error": f"{type(exc).__name__}: {exc}"[:300]})

with open(result_path, "w", encoding="utf-8") as f:
    json.dump({"models": models, "error": error}, f)
'''
