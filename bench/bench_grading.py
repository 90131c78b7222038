"""Benchmarks for issue #4: batch grading throughput and ``quizgen submit`` start-up.

- Batch grading of 100,000 answers (5,000 students x 20 questions) end to end
  through the database: answers/s, and the ratio to a raw ``sqlite3``
  ``executemany`` of the same grade rows (targets: >= 20,000 answers/s, within 3x).
- ``quizgen submit`` wall time (median of several runs) next to
  ``python -c "import click, sqlalchemy"``, and proof it imports neither
  TensorFlow nor numpy.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select  # noqa: E402

from quizgen.classroom.quizzes import QuizPlan, create_quiz  # noqa: E402
from quizgen.classroom.roster import RosterEntry  # noqa: E402
from quizgen.grading.batch import grade_quiz  # noqa: E402
from quizgen.questions.generator import KINDS  # noqa: E402
from quizgen.store.db import now, open_store  # noqa: E402
from quizgen.store.tables import Question, Submission, Variant  # noqa: E402


def _wrong(value, rng):
    """A wrong answer of the same type: a shape with an axis too few or too many, a count
    off by a little, a memory size ('1.27 MB') twice or four times too big."""
    if isinstance(value, list):
        return value[1:] if rng.random() < 0.5 else [None, *value]
    if isinstance(value, str):
        amount, _, unit = value.partition(" ")
        return f"{float(amount) * rng.choice((2, 4)):.2f} {unit}"
    return value + rng.choice((1, 30, 100))


def build_class(path: Path, students: int, questions: int) -> tuple[int, float]:
    store = open_store(str(path))
    roster = [RosterEntry(f"s{i:05d}", f"student {i}") for i in range(students)]
    t = time.perf_counter()
    quiz_id = create_quiz(store, QuizPlan(title="bench", seed=7, count=questions, kinds=KINDS, difficulty="medium"),
                             roster, verify=False).quiz_id
    setup = time.perf_counter() - t
    rng = random.Random(1)
    stamp = now()
    with store.read() as session:
        rows = session.execute(select(Question.id, Question.answer, Variant.student_id)
                               .join(Variant, Question.variant_id == Variant.id)
                               .where(Variant.quiz_id == quiz_id, Variant.student_id.is_not(None))).all()
    subs = []
    for qid, answer, student in rows:
        if answer["type"] == "parts":
            parsed = {
                p["key"]: (p["value"] if rng.random() < 0.75 else _wrong(p["value"], rng)) for p in answer["parts"]
            }
        else:
            parsed = answer["value"] if rng.random() < 0.7 else _wrong(answer["value"], rng)
        subs.append({"quiz_id": quiz_id, "student_id": student, "question_id": qid, "attempt": 1,
                     "raw": json.dumps(parsed), "parsed": parsed, "submitted_at": stamp})
    with store.write() as session:
        for start in range(0, len(subs), 10000):
            session.execute(insert(Submission), subs[start:start + 10000])
    store.dispose()
    return quiz_id, setup


def raw_insert_baseline(path: Path) -> float:
    """The same grade rows, inserted with sqlite3.executemany into an empty copy of the table."""
    src = sqlite3.connect(path)
    rows = src.execute("SELECT submission_id, score, max_score, correct, misconception, details, grader_version, "
                       "current, graded_at FROM grades").fetchall()
    src.close()
    target = path.with_name("raw.db")
    for leftover in (target, target.with_name("raw.db-wal"), target.with_name("raw.db-shm")):
        leftover.unlink(missing_ok=True)
    con = sqlite3.connect(target)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = FULL")
    # the same columns and index as quizgen's grades table, without the foreign key
    con.execute(
        "CREATE TABLE grades_raw (id INTEGER PRIMARY KEY, submission_id INTEGER NOT NULL, score FLOAT NOT NULL, "
        "max_score FLOAT NOT NULL, correct BOOLEAN NOT NULL, misconception VARCHAR(64), details JSON NOT NULL, "
        "grader_version VARCHAR(32) NOT NULL, current BOOLEAN NOT NULL, graded_at DATETIME NOT NULL)"
    )
    con.execute("CREATE INDEX ix_grades_raw_submission_id ON grades_raw (submission_id)")
    t = time.perf_counter()
    with con:
        con.executemany("INSERT INTO grades_raw (submission_id, score, max_score, correct, misconception, details, "
                        "grader_version, current, graded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    dt = time.perf_counter() - t
    con.close()
    return dt


def raw_read_baseline(path: Path, quiz_id: int) -> float:
    """What grading must read, with plain sqlite3: every submission with its question's key."""
    con = sqlite3.connect(path)
    t = time.perf_counter()
    rows = con.execute("SELECT s.id, CAST(s.parsed AS TEXT), q.points, q.expected, CAST(q.slips AS TEXT) "
                       "FROM submissions s JOIN questions q ON q.id = s.question_id WHERE s.quiz_id = ? "
                       "ORDER BY s.id", (quiz_id,)).fetchall()
    dt = time.perf_counter() - t
    con.close()
    assert rows
    return dt


def _timed(phases: dict[str, float], name: str, f):
    def timed(*args, **kwargs):
        t = time.perf_counter()
        try:
            return f(*args, **kwargs)
        finally:
            phases[name] += time.perf_counter() - t
    return timed


def grade_copy(pristine: Path, work: Path, quiz_id: int) -> tuple[float, dict[str, float]]:
    """Grade a fresh copy of the class; wall time and where it went (read, grade, write)."""
    import quizgen.grading.batch as grading

    for leftover in (work, work.with_name(work.name + "-wal"), work.with_name(work.name + "-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copy(pristine, work)
    store = open_store(str(work))
    phases: dict[str, float] = defaultdict(float)
    originals = {name: getattr(grading, name) for name in ("_read_chunk", "compute_grades", "_write_chunk")}
    for name, label in (("_read_chunk", "read"), ("compute_grades", "grade"), ("_write_chunk", "write")):
        setattr(grading, name, _timed(phases, label, originals[name]))
    try:
        t = time.perf_counter()
        report = grade_quiz(store, quiz_id)
        dt = time.perf_counter() - t
    finally:
        for name, f in originals.items():
            setattr(grading, name, f)
        store.dispose()
    assert report.remaining == 0
    return dt, dict(phases)


def bench_grading(students: int, questions: int, runs: int = 3) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pristine = Path(tmp) / "class.db"
        quiz_id, setup = build_class(pristine, students, questions)
        n = students * questions
        print(f"set-up: {students:,} students x {questions} questions generated and stored in {setup:.1f} s; "
              f"{n:,} submissions inserted")
        work = Path(tmp) / "bench.db"
        results = []
        for _ in range(runs):  # this machine's speed drifts: alternate grading and the raw insert
            dt, phases = grade_copy(pristine, work, quiz_id)
            raw = raw_insert_baseline(work)
            read = raw_read_baseline(work, quiz_id)
            results.append((dt, raw, phases, read))
        for dt, raw, phases, read in results:
            where = ", ".join(f"{k} {v:.2f} s" for k, v in phases.items())
            print(f"  run: grading {dt:.2f} s ({where}); raw executemany {raw:.2f} s; ratio {dt / raw:.1f}x; "
                  f"a raw sqlite3 read of the same rows and keys {read:.2f} s, so reading and inserting alone "
                  f"take {(read + raw) / raw:.1f}x")
        best = min(results, key=lambda r: r[0] / r[1])
        median = statistics.median(r[0] for r in results)
        print(f"batch grading: {n:,} answers, median {median:.2f} s = {n / median:,.0f} answers/s (target >= 20,000: "
              f"{n / median / 20000:.2f}x); ratio to a raw sqlite3 executemany of the same {n:,} grade rows, "
              f"run by run: {', '.join(f'{r[0] / r[1]:.1f}x' for r in results)} (best {best[0] / best[1]:.1f}x; "
              f"aim <= 3x)")


def median_wall(cmd: list[str], runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_submit(runs: int) -> None:
    from click.testing import CliRunner

    from quizgen.cli.main import cli

    exe = Path(sys.executable)
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "s.db")
        roster = Path(tmp) / "r.csv"
        roster.write_text("id,name\ns1,학생\n", encoding="utf-8")
        token = json.loads(CliRunner().invoke(cli, ["--db", db, "roster", "import", str(roster), "--json"]).stdout)[0][
            "token"
        ]
        CliRunner().invoke(cli, ["--db", db, "generate", "--title", "t", "--count", "3", "--seed", "1",
                                 "--students", str(roster), "--no-verify"])
        base = median_wall([str(exe), "-c", "import click, sqlalchemy"], runs)
        cmd = [str(exe.parent / "quizgen"), "--db", db, "submit", "--allow-blank", "1", "--student", "s1", "--token",
               token,
               "--answer", "1=12345"]
        sub = median_wall(cmd, runs)
        probe = subprocess.run(
            [
                str(exe),
                "-c",
                "import sys, runpy; sys.argv = "
                + repr(["quizgen", *cmd[1:]])
                + "\ntry:\n    runpy.run_module('quizgen', run_name='__main__')\nexcept SystemExit:\n    pass\n"
                "print('HEAVY', sorted(m for m in ('tensorflow', 'numpy') if m in sys.modules))",
            ],
            capture_output=True,
            text=True,
        )
        heavy = probe.stdout.strip().splitlines()[-1]
    print(f"quizgen submit (median of {runs}): {sub * 1000:.0f} ms vs python -c 'import click, sqlalchemy' "
          f"{base * 1000:.0f} ms ({sub / base:.2f}x); modules loaded: {heavy}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="200 students and 3 runs: a smoke run of seconds")
    args = parser.parse_args()
    bench_submit(3 if args.quick else 7)
    bench_grading(200 if args.quick else 5000, 20)


if __name__ == "__main__":
    main()
