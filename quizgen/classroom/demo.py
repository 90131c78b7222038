"""``quizgen demo`` (what ``make demo`` runs): a whole class, end to end, in under a minute.

A fresh database gets a roster of 30 students (Faker ko_KR names, seeded), a
점검 퀴즈-style quiz generated per student and confirmed by real Keras, and a
submission from every simulated student: mostly right answers, some of the
classic slips (a forgotten bias, an LSTM counted as one gate...), and some
malformed input that quizgen refuses without using up the attempt. Then the
class is graded and the gradebook and item analysis are printed.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import Callable

from ..nn.shapes import format_shape
from ..store.db import open_store
from ..errors import QuizgenError
from ..grading.misconceptions import diagnose_table
from .quizzes import QuizPlan, create_quiz, quiz_key
from .roster import RosterEntry
from .students import add_students

KINDS = ("total-params", "layer-params", "output-shape", "weight-shapes", "code", "inverse")
MALFORMED = ("529.441", "5.3e5", "NaN", "약 50만", "", "52,9441", "((None, 3))")


def _roster(seed: int, n: int) -> list[RosterEntry]:
    from faker import Faker

    fake = Faker("ko_KR")
    fake.seed_instance(seed)
    return [RosterEntry(f"2026{i:04d}", fake.name(), f"s2026{i:04d}@example.ac.kr") for i in range(1, n + 1)]


def _as_text(value: object) -> str:
    if isinstance(value, list):
        return format_shape(value)
    return f"{value:,}" if isinstance(value, int) and random.random() < 0.5 else str(value)


def _student_answers(rng: random.Random, entries, skill: float) -> tuple[dict[str, str], dict[str, str]]:  # type: ignore[no-untyped-def]
    """(first try, possibly malformed; corrected retry) answers for one simulated student."""
    first: dict[str, str] = {}
    retry: dict[str, str] = {}
    for e in entries:
        answer = e.answer
        table = diagnose_table(e.kind, "", e.spec, answer)
        parts = answer["parts"] if answer["type"] == "parts" else [dict(answer, key=None)]
        for n, part in enumerate(parts, start=1):
            key = str(e.slot) if part["key"] is None else f"{e.slot}.{n}"
            slips = list(table.get(part["key"], {}))
            roll = rng.random()
            if roll < skill:
                value = part["value"]
            elif slips and roll < skill + 0.25:
                value = rng.choice(slips)
            else:
                value = part["value"] if rng.random() < 0.5 else (
                    part["value"] + rng.choice((1, 100, 1000)) if part["type"] == "count" else [None])
            text = _as_text(list(value) if isinstance(value, tuple) else value)
            retry[key] = text
            first[key] = rng.choice(MALFORMED) if rng.random() < 0.04 else text
    return first, retry


def _command_name() -> str:
    """How the user can run quizgen from here: ``.venv/bin/quizgen`` after ``make demo``."""
    import os
    import shutil
    import sys

    beside = Path(sys.executable).parent / "quizgen"
    if beside.exists() and shutil.which("quizgen") != str(beside):
        return os.path.relpath(beside)
    return "quizgen"


def run_demo(lang: str, echo: Callable[..., None], db: str | None = None, students: int = 30) -> str:
    from ..grading.batch import grade_quiz
    from ..exports.analysis import format_report, item_analysis
    from ..exports.gradebook import gradebook_csv
    from .results import gradebook
    from .submissions import submit

    path = db or str(Path(tempfile.mkdtemp(prefix="quizgen-demo-")) / "demo.db")
    store = open_store(path)
    try:
        roster = _roster(2026, students)
        tokens = {t.student: t.token for t in add_students(store, roster, replace=True)}
        echo(f"Roster: {len(roster)} students (Faker ko_KR, seeded), e.g. {roster[0].name}, {roster[1].name}")
        plan = QuizPlan(title="점검 퀴즈 (demo)" if lang == "ko" else "Check quiz (demo)", seed=2026,
                        count=len(KINDS), kinds=KINDS, difficulty="easy", language=lang)
        echo("Generating a quiz per student and confirming every answer with real Keras…", err=True)
        created = create_quiz(store, plan, roster, verify=True)
        quiz_id, confirmation = created.quiz_id, created.confirmation
        assert confirmation is not None
        echo(f"Quiz {quiz_id}: {plan.count} questions × {len(roster)} students, "
             f"{confirmation.checked} answers confirmed by Keras {confirmation.keras_version}")
        _, shared = quiz_key(store, quiz_id)
        echo("\nQuestion 1 (shared copy):\n" + shared[0].entries[0].prompt + "\n")

        rng = random.Random(2026)
        refused = 0
        _, variants = quiz_key(store, quiz_id, all_variants=True)
        for variant in variants:
            if variant.student is None:
                continue
            first, retry = _student_answers(rng, variant.entries, skill=rng.uniform(0.35, 0.95))
            try:
                submit(store, quiz_id, variant.student, tokens[variant.student], first)
            except QuizgenError:
                refused += 1  # a malformed answer: nothing recorded, the student fixes it and resubmits
                submit(store, quiz_id, variant.student, tokens[variant.student], retry)
        echo(f"{len(variants) - 1} students submitted; {refused} first tries were refused as malformed "
             "(e.g. '529.441', '5.3e5') and resubmitted")
        result = grade_quiz(store, quiz_id)
        echo(f"Graded {result.graded} answers.\n")
        book = gradebook(store, quiz_id)
        lines = gradebook_csv(book).splitlines()
        echo("Gradebook (Canvas CSV, first rows):\n" + "\n".join(lines[:7]) + f"\n… {len(lines) - 7} more rows\n")
        echo(format_report(item_analysis(book), lang))
    finally:
        store.dispose()
    exe = _command_name()
    echo(f"\nThe demo database is {path}. Try next:\n"
         f"  {exe} --db {path} show 1 --student {roster[0].id}\n"
         f"  {exe} --db {path} key 1 --student {roster[0].id}\n"
         f"  {exe} --db {path} report 1 --png report.png --html report.html\n"
         f"  {exe} --db {path} export 1 --format moodle-xml -o quiz.xml\n"
         f"  {exe} solve --help")
    return path
