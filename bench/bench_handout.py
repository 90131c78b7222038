"""Benchmark for issue #16: ``quizgen handout`` for 200 students x 10 questions, aim <= 10 s.

The real command runs in a subprocess (Python's start, the imports and the fonts included)
on a class made beforehand (not timed), with --server-url and --with-tokens, so the QR code,
the token slips and the saving of 200 new tokens are all in the figure. The floor, measured
in the same run under the same load, is a subprocess in which fpdf2 writes the same number
of A4 pages, each with 45 lines of Korean text in NanumGothic (FPDF.text, the cheapest way
fpdf2 puts text on a page): what any PDF of that size costs. Wall-clock and CPU seconds are
both printed; on a machine shared with other work the CPU figure is the steadier one.

--quick: 20 students (seconds), as ``make test`` runs every bench.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AIM_S = 10.0
FLOOR = """
import sys
from fpdf import FPDF
from quizgen.exports.typeset import font_files, quiet_font_subsetting
pages, out = int(sys.argv[1]), sys.argv[2]
pdf = FPDF(format="A4")
pdf.add_font("nanum", "", str(font_files().hangul))
pdf.set_font("nanum", "", 10)
line = "다음 Keras 모델에서 1번째 층 Embedding의 파라미터 개수(Param #)를 구하여라. (None, 30, 100)"
for p in range(pages):
    pdf.add_page()
    for n in range(45):
        pdf.text(16, 20 + 5.5 * n, f"{p}.{n} {line}")
with quiet_font_subsetting():
    pdf.output(out)
"""


def make_class(db: Path, students: int) -> None:
    from faker import Faker

    from quizgen.classroom.quizzes import QuizPlan, create_quiz
    from quizgen.classroom.roster import RosterEntry
    from quizgen.classroom.students import add_students
    from quizgen.clock import parse_deadline
    from quizgen.store.db import open_store

    fake = Faker("ko_KR")
    fake.seed_instance(16)
    roster = [RosterEntry(f"2026{i:04d}", fake.name(), f"s{i}@example.ac.kr") for i in range(students)]
    store = open_store(str(db), create=True)
    try:
        add_students(store, roster)
        deadline = parse_deadline("2027-12-01 18:00", "Asia/Seoul")
        plan = QuizPlan(title="점검 퀴즈", seed=2026, count=10, deadline=deadline, time_zone="Asia/Seoul")
        create_quiz(store, plan, roster, verify=False)
    finally:
        store.dispose()


def timed(args: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of a subprocess."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run(args, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise SystemExit(f"FAILED: {' '.join(args[:4])}...: {out.stderr[-800:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20 students instead of 200")
    args = parser.parse_args()
    students = 20 if args.quick else 200
    from pypdf import PdfReader

    with tempfile.TemporaryDirectory() as tmp:
        db, out, floor_out = Path(tmp) / "class.db", Path(tmp) / "handouts.pdf", Path(tmp) / "floor.pdf"
        make_class(db, students)
        wall, cpu = timed([sys.executable, "-m", "quizgen", "--db", str(db), "handout", "1", "-o", str(out),
                           "--server-url", "https://quiz.example.ac.kr", "--with-tokens"])
        pages = len(PdfReader(str(out)).pages)
        size = out.stat().st_size
        floor_wall, floor_cpu = timed([sys.executable, "-c", FLOOR, str(pages), str(floor_out)])
    print(f"handout: {students} students x 10 questions, {pages:,} pages ({size / 2**20:.1f} MiB), QR codes and "
          f"{students} token slips (new tokens saved): {wall:.2f} s wall, {cpu:.2f} s CPU")
    if not args.quick:
        print(f"  aim <= {AIM_S:.0f} s: wall {wall / AIM_S:.2f}x of the aim, CPU {cpu / AIM_S:.2f}x of the aim")
    print(f"  floor (fpdf2 writing {pages:,} pages of 45 Korean lines, NanumGothic): {floor_wall:.2f} s wall, "
          f"{floor_cpu:.2f} s CPU; handout / floor: {wall / floor_wall:.2f}x wall, {cpu / floor_cpu:.2f}x CPU")


if __name__ == "__main__":
    main()
