"""Benchmark for issue #9: ``quizgen submit --server`` start-up against its HTTP client's.

Aim: the median wall time of a real ``quizgen submit --server`` invocation is at most
1.3× that of ``python -c "import click, httpx"`` (the floor any click + httpx client
pays), and SQLAlchemy, numpy and TensorFlow are never imported.

Two kinds of real invocation are timed, interleaved with the baseline run for run:

- ``unreachable``: a submit to 127.0.0.1 on a port where nothing listens, with
  ``--tries 1``: parse, write the outbox entry (fsync), fail to connect, exit 75;
- ``served``: a submit to a real ``quizgen serve`` on 127.0.0.1 after ``quizgen login``
  (saved credentials, pinned key): outbox, POST, grading on arrival, receipt verified
  (Ed25519) and kept, outbox entry removed, exit 0.

Prints medians and ratios; it does not assert (timed tests are flaky on a shared
2-core machine). Run ``.venv/bin/python bench/bench_client.py [--runs N | --quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AIM = 1.3
HEAVY = ("sqlalchemy", "numpy", "tensorflow")
PROBE = ("import runpy, sys, json, atexit\n"
         "atexit.register(lambda: print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
         f"{HEAVY!r})), file=sys.stderr))\n"
         "sys.argv = ['quizgen'] + sys.argv[1:]\n"
         "runpy.run_module('quizgen', run_name='__main__')\n")


def quizgen_command() -> list[str]:
    script = Path(sys.executable).with_name("quizgen")
    return [str(script)] if script.exists() else [sys.executable, "-m", "quizgen"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(argv: list[str], env: dict[str, str], ok: tuple[int, ...]) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system) of one run. On a busy shared machine the
    CPU time is the steadier of the two; both are reported."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in ok:
        raise SystemExit(f"{' '.join(argv[:4])}... exited {done.returncode}: {done.stderr.decode()[-500:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def heavy_modules(args: list[str], env: dict[str, str]) -> list[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True)
    return json.loads(done.stderr.strip().splitlines()[-1])


def served_class(work: Path):
    """A class database and a real ``quizgen serve`` on it (the tests' own launcher), or None
    when this quizgen has no ``serve``."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    try:
        from tests.server import start_server
    except ImportError:
        return None
    from tests.helpers import make_class

    klass = make_class(work, "--deadline", "2099-01-01 00:00")  # full feedback: graded on arrival
    return klass, start_server(str(klass.db), work, "--rate-limit", "100000/60")


BASELINE = "import click, httpx"
# The same, without httpx's own command-line client (rich, pygments), which httpx imports
# whenever they are installed and which quizgen keeps out (quizgen.client.api._httpx):
# shown so the ratio can be read both ways.
BASELINE_NO_CLI = "import sys; sys.modules['httpx._main'] = None; import click, httpx"


def compare(label: str, argv: list[str], env: dict[str, str], ok: tuple[int, ...], runs: int) -> None:
    commands = {"base": ([sys.executable, "-c", BASELINE], (0,)),
                "base_no_cli": ([sys.executable, "-c", BASELINE_NO_CLI], (0,)), "ours": (argv, ok)}
    for _ in range(2):  # warm the page cache and .pyc files
        for command, codes in commands.values():
            timed(command, env, codes)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(runs):  # interleaved, so a busy moment hits all three alike
        for name, (command, codes) in commands.items():
            times[name].append(timed(command, env, codes))
    for what, i in (("wall", 0), ("cpu", 1)):
        b, n, o = (statistics.median(t[i] for t in times[k]) for k in ("base", "base_no_cli", "ours"))
        verdict = "meets" if o / b <= AIM else "misses"
        print(f"{label:12} {what:4} quizgen submit --server: {o * 1000:6.1f} ms   python -c '{BASELINE}': "
              f"{b * 1000:6.1f} ms   ratio {o / b:.2f} (aim ≤ {AIM}: {verdict})   [median of {runs}]")
        print(f"{'':17} against httpx without its CLI ({n * 1000:.1f} ms): ratio {o / n:.2f}")
    print(f"{'':12} load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'':12} heavy modules imported: {heavy_modules(argv[len(quizgen_command()):], env) or 'none'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21, help="runs of each command (median; at least 15)")
    parser.add_argument("--quick", action="store_true", help="3 runs of each command, for a smoke run (seconds)")
    args = parser.parse_args()
    runs = 3 if args.quick else max(15, args.runs)
    work = Path(tempfile.mkdtemp(prefix="bench-client-"))
    env = {**os.environ, "XDG_CONFIG_HOME": str(work / "config"), "XDG_DATA_HOME": str(work / "data"),
           "QUIZGEN_TOKEN": "bench-token-not-real"}
    env.pop("QUIZGEN_SERVER", None)
    # as installed: pip compiles every module, so the runs read .pyc files (the warm-up writes ours)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    try:
        port = free_port()
        argv = [*quizgen_command(), "submit", "--allow-blank", "1", "--server", f"http://127.0.0.1:{port}",
                "--student", "20260001",
                "--answer", "1=529,441", "--tries", "1"]
        compare("unreachable", argv, env, (75,), runs)
        served = served_class(work)
        if served is None:
            print("served       (skipped: this quizgen has no 'quizgen serve' yet)")
            return
        klass, server = served
        try:
            sid = "20260001"
            env_s = {**env, "QUIZGEN_TOKEN": klass.tokens[sid]}
            subprocess.run([*quizgen_command(), "login", "--server", server.url, "--student", sid], env=env_s,
                           check=True, capture_output=True)
            env_s.pop("QUIZGEN_TOKEN")  # as a student works after login: the saved credentials
            argv = [*quizgen_command(), "submit", "--allow-blank", str(klass.quiz), "--server", server.url,
                    "--answer", "1=529,441",
                    "--tries", "1"]
            compare("served", argv, env_s, (0,), runs)
        finally:
            server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
