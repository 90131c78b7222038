"""Tidying the list of quizzes: archive a finished one, delete one made by mistake.

An archived quiz keeps everything (attempts, grades, receipts: the gradebook, report
and audit still read it) but takes no more submissions (policies.refuse_if_closed)
and is left out of ``quizgen list`` unless ``--all``. Only a quiz nobody submitted to
can be deleted: a quiz with attempts holds grades and a hash chain of receipts that
students may hold, so it is archived instead. Both run under the locks every
submission takes (classroom.attempts), so a submission in flight is either counted
by the delete's check or refused after the change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select

from ..errors import QuizgenError
from ..grading.batch import lock_grading
from ..store.db import Store
from ..store.tables import Attempt, Extension, Question, Quiz, Submission, Variant, get_quiz


class DeleteRefused(QuizgenError):
    """A quiz that holds submissions: archive it instead."""


def _locked(session: Any, quiz: str | int) -> Quiz:
    row = get_quiz(session, quiz)
    lock_grading(session, row.id)  # the order submissions take their locks in
    session.execute(select(Quiz.id).where(Quiz.id == row.id).with_for_update())
    session.refresh(row)
    return row


@dataclass(frozen=True)
class Archived:
    quiz_id: int
    title: str
    archived: bool  # afterwards
    changed: bool

    def to_json(self) -> dict[str, Any]:
        return {"quiz": self.quiz_id, "title": self.title, "archived": self.archived, "changed": self.changed}

    def line(self) -> str:
        if not self.changed:
            return f"Quiz {self.quiz_id} is already {'archived' if self.archived else 'not archived'}."
        if self.archived:
            return (f"Archived quiz {self.quiz_id}: it takes no more submissions and 'quizgen list' leaves it out "
                    f"(--all shows it; 'quizgen quiz archive {self.quiz_id} --undo' brings it back).")
        return f"Quiz {self.quiz_id} is no longer archived: its own deadline and attempt limit apply again."


def archive_quiz(store: Store, quiz: str | int, archived: bool) -> Archived:
    """Archive a quiz (``archived``) or bring it back; nothing else about it changes."""
    with store.write() as session:
        row = _locked(session, quiz)
        changed = bool(row.archived) != archived
        row.archived = archived
        return Archived(row.id, row.title, archived, changed)


@dataclass(frozen=True)
class Deleted:
    quiz_id: int
    title: str
    variants: int
    questions: int

    def to_json(self) -> dict[str, Any]:
        return {"quiz": self.quiz_id, "title": self.title, "deleted": True, "variants": self.variants,
                "questions": self.questions}

    def line(self) -> str:
        return (f"Deleted quiz {self.quiz_id} ({self.title}): {self.variants} variant(s), {self.questions} "
                "question(s). Its students stay on the roster.")


def delete_quiz(store: Store, quiz: str | int) -> Deleted:
    """Delete a quiz nobody submitted to, with its variants, questions and extensions, in
    one transaction; a quiz with any attempt is refused (DeleteRefused: archive it)."""
    with store.write() as session:
        row = _locked(session, quiz)
        students = session.scalar(select(func.count(func.distinct(Attempt.student_id)))
                                  .where(Attempt.quiz_id == row.id)) or 0
        answers = session.scalar(select(func.count()).select_from(Submission).where(Submission.quiz_id == row.id))
        if students or answers:
            raise DeleteRefused(f"quiz {row.id} has submissions (from {students} student(s)); a quiz with "
                                f"submissions is kept: archive it instead with 'quizgen quiz archive {row.id}'")
        variants = select(Variant.id).where(Variant.quiz_id == row.id).scalar_subquery()
        questions = session.scalar(select(func.count()).select_from(Question).where(Question.variant_id.in_(variants)))
        n_variants = session.scalar(select(func.count()).select_from(Variant).where(Variant.quiz_id == row.id))
        session.execute(delete(Question).where(Question.variant_id.in_(variants)))
        session.execute(delete(Variant).where(Variant.quiz_id == row.id))
        session.execute(delete(Extension).where(Extension.quiz_id == row.id))
        quiz_id, title = row.id, row.title
        session.execute(delete(Quiz).where(Quiz.id == quiz_id))
        return Deleted(quiz_id, title, n_variants or 0, questions or 0)
