"""Benchmarks for issue #3: question generation and a Keras-confirmed class set.

Prints figures and ratios against the targets:
- generation without verification: >= 10,000 questions/s;
- 200 students x 10 questions generated and confirmed by Keras, TensorFlow's
  start included, through the real ``quizgen generate`` command: aim < 60 s.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from quizgen.questions.generator import KINDS, generate_variant  # noqa: E402


def bench_generation(students: int) -> None:
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        n = 0
        for s in range(students):
            n += len(generate_variant(2026, 10, KINDS, f"2026{s:04d}", "medium"))
        best = min(best, time.perf_counter() - t)
    rate = n / best
    print(f"generation without verification: {n:,} questions (all 8 kinds, medium) in {best:.2f} s "
          f"= {rate:,.0f} questions/s (target >= 10,000: {rate / 10000:.2f}x)")


def bench_store(students: int) -> None:
    from quizgen.classroom.quizzes import QuizPlan, create_quiz
    from quizgen.classroom.roster import RosterEntry
    from quizgen.store.db import open_store

    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(str(Path(tmp) / "q.db"))
        roster = [RosterEntry(f"2026{i:04d}", f"student {i}") for i in range(students)]
        t = time.perf_counter()
        create_quiz(store, QuizPlan(title="bench", seed=1, count=10), roster, verify=False)
        dt = time.perf_counter() - t
        store.dispose()
    n = (students + 1) * 10
    print(f"generate --no-verify into SQLite: {n:,} questions in {dt:.2f} s = {n / dt:,.0f} questions/s")


def bench_class_set(students: int) -> None:
    exe = Path(sys.executable).parent / "quizgen"
    with tempfile.TemporaryDirectory() as tmp:
        roster = Path(tmp) / "roster.csv"
        with open(roster, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["id", "name", "email"])
            for i in range(students):
                w.writerow([f"2026{i:04d}", f"학생 {i}", ""])
        t = time.perf_counter()
        out = subprocess.run([str(exe), "--db", str(Path(tmp) / "q.db"), "generate", "--title", "class set",
                              "--count", "10", "--seed", "2026", "--students", str(roster), "--json"],
                             capture_output=True, text=True)
        dt = time.perf_counter() - t
    if out.returncode != 0:
        print("class set FAILED:", out.stderr[-500:])
        return
    made = json.loads(out.stdout)
    print(f"class set: {students} students x 10 questions (+ the shared variant) generated and confirmed by "
          f"Keras {made['keras']} through 'quizgen generate', TensorFlow start included: {dt:.1f} s "
          f"(aim < 60 s: {60 / dt:.2f}x headroom)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes, for a smoke run (seconds)")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    bench_generation(2000 // scale)
    bench_store(200 // scale)
    bench_class_set(10 if args.quick else 200)  # TensorFlow's start is most of a quick run


if __name__ == "__main__":
    main()
