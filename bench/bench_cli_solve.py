"""Benchmark for issue #10: ``quizgen solve FILE.jsonl --json`` as users run it.

20,000 mixed textbook specs in one .jsonl file: half Sequential models as the
generator draws them (the check quiz's RNN classifiers, taggers, 1D CNNs,
normalized models; tests/../questions/architectures.py), half the textbook's
functional models (seq2seq with attention, text CNN, Bi-LSTM with attention,
transformer block, MNIST CNN; tests/graph_specs.py), shuffled. Each run is a fresh
process (``quizgen`` on the PATH of this venv), start-up and output written to a
file included; the figure is the median wall time of several runs. Prints specs/s
and the ratio to the aim (20,000 specs/s), and the sha256 of the output, which an
optimisation must not change. Timing drifts on this shared machine (±30%): compare
runs made side by side.

    .venv/bin/python bench/bench_cli_solve.py [--quick] [--runs N] [--quizgen PATH]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from quizgen.questions.architectures import random_spec  # noqa: E402
from tests.graph_specs import textbook_graphs  # noqa: E402

AIM = 20_000


def mixed_specs(n: int, seed: int = 10, graphs: bool = True) -> list[dict]:
    rng = random.Random(seed)
    n_graphs = n // 2 if graphs else 0
    sequential = [random_spec(rng, rng.choice(("easy", "medium", "hard"))) for _ in range(n - n_graphs)]
    specs = sequential + textbook_graphs(n_graphs, seed) if n_graphs else sequential
    rng.shuffle(specs)
    return specs


def run(quizgen: str, path: Path, out: Path, runs: int) -> tuple[float, float, str]:
    """(median wall time, median CPU time of the child, sha256 of the output)."""
    walls, cpus = [], []
    digest = ""
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        with open(out, "wb") as fh:
            t = time.perf_counter()
            subprocess.run([quizgen, "solve", str(path), "--json"], stdout=fh, check=False)
            walls.append(time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        digest = hashlib.sha256(out.read_bytes()).hexdigest()
    return statistics.median(walls), statistics.median(cpus), digest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2,000 specs and 3 runs, for a smoke run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quizgen", default=str(Path(sys.executable).parent / "quizgen"),
                        help="the command to time (default: this venv's quizgen)")
    args = parser.parse_args()
    n = 2_000 if args.quick else 20_000
    runs = 3 if args.quick else args.runs
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.jsonl"
        for label, graphs in (("mixed Sequential and graph", True), ("Sequential only", False)):
            path = Path(tmp) / f"specs-{graphs}.jsonl"
            path.write_text("".join(json.dumps(s) + "\n" for s in mixed_specs(n, graphs=graphs)), encoding="utf-8")
            wall, cpu, digest = run(args.quizgen, path, out, runs)
            rate = n / wall
            lines = out.read_bytes().count(b"\n")
            print(
                f"quizgen solve FILE.jsonl --json, {n:,} {label} textbook specs "
                f"({path.stat().st_size / 1e6:.1f} MB in, "
                f"{lines:,} lines out), median of {runs} fresh processes: {wall:.2f} s = {rate:,.0f} specs/s "
                f"(aim >= {AIM:,}: {rate / AIM:.2f}x); CPU {cpu:.2f} s = {n / cpu:,.0f} specs/s of CPU; "
                f"output sha256 {digest[:16]}"
            )
    t = time.perf_counter()
    subprocess.run([args.quizgen, "--help"], capture_output=True, check=True)
    print(f"  (start-up alone, quizgen --help: {(time.perf_counter() - t) * 1000:.0f} ms; "
          f"PYTHONHASHSEED={os.environ.get('PYTHONHASHSEED', 'random')})")


if __name__ == "__main__":
    main()
