"""Benchmarks for issue #2: analytic solving, Keras confirmation, start-up time.

Prints figures and ratios against the targets; it does not assert (timed tests
are flaky on a shared 2-core machine). Run with ``make bench`` or
``.venv/bin/python bench/bench_solver.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from timing import bench_keras, best_pass  # noqa: E402

from quizgen.questions.architectures import random_spec  # noqa: E402


def distinct_specs(n: int, seed: int, layers: int | None = None, exotic: bool = False) -> list[dict]:
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[dict] = []
    while len(out) < n:
        spec = random_spec(rng, rng.choice(("easy", "medium", "hard")), exotic=exotic)
        if layers is not None and len(spec["layers"]) != layers:
            continue
        key = json.dumps(spec, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(spec)
    return out


def bench_analytic(n: int) -> float:
    specs = distinct_specs(n, seed=1, layers=4)
    best = best_pass(specs, 5)
    rate = n / best
    print(f"analytic solving: {n:,} distinct four-layer specs, best of 5: {best:.3f} s "
          f"= {rate:,.0f} specs/s (target >= 20,000: {rate / 20000:.2f}x)")
    return best / n


def median_wall(cmd: list[str], runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_startup(runs: int) -> None:
    exe = Path(sys.executable)
    quizgen = exe.parent / "quizgen"
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "quiz.json"
        spec.write_text(json.dumps(random_spec(random.Random(0), "easy", "classifier")))
        base = median_wall([str(exe), "-c", "import click, sqlalchemy"], runs)
        help_s = median_wall([str(quizgen), "--help"], runs)
        solve_s = median_wall([str(quizgen), "solve", str(spec)], runs)
    print(f"start-up (median of {runs}): python -c 'import click, sqlalchemy' {base * 1000:.0f} ms; "
          f"quizgen --help {help_s * 1000:.0f} ms ({help_s / base:.2f}x); "
          f"quizgen solve {solve_s * 1000:.0f} ms ({solve_s / base:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a twentieth of the sizes, for a smoke run (seconds)")
    args = parser.parse_args()
    scale = 20 if args.quick else 1
    per_spec = bench_analytic(20000 // scale)
    bench_startup(3 if args.quick else 7)
    bench_keras(distinct_specs(5 if args.quick else 20, seed=99), distinct_specs(1000 // scale, seed=2, exotic=True),
                distinct_specs(2000 // scale, seed=3, exotic=True), per_spec, "Sequential specs")


if __name__ == "__main__":
    main()
