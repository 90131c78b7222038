"""``quizgen db backup``: a consistent copy of the store, made while the service runs,
checked before it counts, and described (what it holds, and the audit of every quiz's
chain of attempts as the copy has it).

The copy is written beside its destination and renamed onto it only once every check
passed, so a backup file is whole and checked or it is not there; it is created 0600,
as the database is (it holds the answer key). Outputs follow the rules of every other
output (files.check_target): never the store in use or its journals, never a link or
device, an existing file replaced only with ``force``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from ..errors import InputFileError
from ..files import staged_file
from ..store.backup import copy_sqlite, dump_postgresql, restored_copy
from ..store.db import Store, open_store
from ..store.tables import Attempt, Grade, Quiz, Student, Submission
from .audit import audit_quiz, trust_from_database


@dataclass(frozen=True)
class QuizCheck:
    """One quiz in the copy, and what ``quizgen audit`` makes of its log of attempts there."""

    quiz: int
    title: str
    attempts: int
    problems: int

    @property
    def intact(self) -> bool:
        return self.problems == 0

    def to_json(self) -> dict[str, Any]:
        return {"quiz": self.quiz, "title": self.title, "attempts": self.attempts, "intact": self.intact,
                "problems": self.problems}


@dataclass(frozen=True)
class Holdings:
    quizzes: int
    students: int
    attempts: int
    answers: int  # submission rows: one per question answered in an attempt
    grades: int  # current grades

    def to_json(self) -> dict[str, int]:
        return {"quizzes": self.quizzes, "students": self.students, "attempts": self.attempts,
                "answers": self.answers, "grades": self.grades}


@dataclass(frozen=True)
class BackupReport:
    path: str
    backend: str  # "sqlite" or "postgresql"
    method: str  # what made the copy
    revision: str
    checked: str  # what was checked about the copy itself
    holds: Holdings | None  # None: the copy could not be read back (PostgreSQL, no scratch database allowed)
    quizzes: list[QuizCheck]

    @property
    def broken(self) -> list[QuizCheck]:
        return [q for q in self.quizzes if not q.intact]

    def to_json(self) -> dict[str, Any]:
        return {"backup": self.path, "backend": self.backend, "method": self.method, "revision": self.revision,
                "checked": self.checked, "holds": self.holds.to_json() if self.holds else None,
                "audit": [q.to_json() for q in self.quizzes]}


def back_up(store: Store, output: str, force: bool = False, protect: tuple[Path, ...] = ()) -> BackupReport:
    """Copy the store to ``output``, check the copy, and describe it. ``protect``: files no
    output may replace (the store's own). Nothing is left at ``output`` unless every check passed."""
    if output == "-":
        raise InputFileError("a backup is written to a file and checked there: give -o FILE, not -")
    holds: Holdings | None
    quizzes: list[QuizCheck]
    with staged_file(output, force, protect, database=True) as staged:
        if store.is_sqlite:
            made = copy_sqlite(store, staged)
            copy = open_store(str(staged), create=False, read_only=True)
            try:
                holds, quizzes = _read_back(copy)
            finally:
                copy.dispose()
        else:
            made = dump_postgresql(store, staged)
            with restored_copy(store, staged) as restored:
                holds, quizzes = _read_back(restored) if restored is not None else (None, [])
    checked = made.checked if holds is not None or store.is_sqlite else (
        f"{made.checked}; not restored to be read back (the role may not create a scratch database)")
    return BackupReport(str(output), "sqlite" if store.is_sqlite else "postgresql", made.method, made.revision,
                        checked, holds, quizzes)


def _read_back(copy: Store) -> tuple[Holdings, list[QuizCheck]]:
    with copy.read() as session:
        def count(*what: Any) -> int:
            return session.scalar(select(func.count()).select_from(*what)) or 0

        holds = Holdings(count(Quiz), count(Student), count(Attempt), count(Submission),
                         session.scalar(select(func.count()).select_from(Grade).where(Grade.current.is_(True))) or 0)
        quizzes = session.execute(select(Quiz.id, Quiz.title).order_by(Quiz.id)).all()
    checks = []
    for quiz_id, title in quizzes:
        # the copy against its own registered keys: is it whole and consistent (quizgen audit
        # with the server's key file is the independent check, on either)
        report = audit_quiz(copy, quiz_id, trust_from_database(copy))
        checks.append(QuizCheck(quiz_id, title, report.attempts, len(report.problems)))
    return holds, checks
