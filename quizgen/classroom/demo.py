"""The class ``quizgen demo`` simulates: a seeded roster, a Keras-confirmed quiz per
student, and each simulated student's answers (mostly right, some classic slips — a
forgotten bias, an LSTM counted as one gate — and some malformed input that quizgen
refuses without using up the attempt). The command (cli/demo.py) sends them through a
real ``quizgen serve`` and reports on the result.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..grading.misconceptions import diagnose_table
from ..nn.shapes import format_shape
from ..store.db import open_store
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


def _student_answers(rng: random.Random, entries, skill: float) -> tuple[dict[str, str], dict[str, str]]:
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
        relative = os.path.relpath(beside)
        return str(beside) if relative.startswith("..") else relative  # a path to climb is no help
    return "quizgen"


@dataclass(frozen=True)
class DemoClass:
    """A class ready to submit: where it is stored, the quiz, and each student's token and answers."""

    db: str
    quiz_id: int
    language: str
    tokens: dict[str, str]
    answers: dict[str, tuple[dict[str, str], dict[str, str]]]  # student → (first try, corrected retry)
    roster: list[RosterEntry]


def prepare_class(lang: str, echo: Callable[..., None], db: str | None = None, students: int = 30) -> DemoClass:
    """Roster, quiz (confirmed by Keras) and the simulated answers, in a fresh database unless ``db``."""
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
        confirmation = created.confirmation
        assert confirmation is not None
        echo(f"Quiz {created.quiz_id}: {plan.count} questions × {len(roster)} students, "
             f"{confirmation.checked} answers confirmed by Keras {confirmation.keras_version}")
        _, shared = quiz_key(store, created.quiz_id)
        echo("\nQuestion 1 (shared copy):\n" + shared[0].entries[0].prompt + "\n")
        rng = random.Random(2026)
        _, variants = quiz_key(store, created.quiz_id, all_variants=True)
        answers = {v.student: _student_answers(rng, v.entries, skill=rng.uniform(0.35, 0.95))
                   for v in variants if v.student is not None}
    finally:
        store.dispose()
    return DemoClass(path, created.quiz_id, lang, tokens, answers, roster)


def next_steps(path: str, student: str) -> str:
    exe = _command_name()
    return (f"\nThe demo database is {path}. Try next:\n"
            f"  {exe} --db {path} serve                       # students submit at http://127.0.0.1:8080/\n"
            f"  {exe} --db {path} show 1 --student {student}\n"
            f"  {exe} --db {path} key 1 --student {student}\n"
            f"  {exe} --db {path} report 1 --png report.png --html report.html\n"
            f"  {exe} --db {path} export 1 --format moodle-xml -o quiz.xml\n"
            f"  {exe} --db {path} audit 1\n"
            f"  {exe} solve --help")
