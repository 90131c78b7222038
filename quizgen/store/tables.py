"""SQLAlchemy tables: quizzes, students, per-student variants, questions, submissions, grades.

The schema is owned by Alembic (migrations/); ``tests/test_migrations.py`` checks
that autogenerate finds no difference between these classes and the migrated
database, so the two cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Integer, MetaData, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: DateTime(timezone=True)}


class Quiz(Base):
    __tablename__ = "quizzes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    seed: Mapped[int] = mapped_column(BigInteger)
    language: Mapped[str] = mapped_column(String(8))
    difficulty: Mapped[str] = mapped_column(String(16))
    kinds: Mapped[list[Any]] = mapped_column(JSON)
    ranges: Mapped[dict[str, Any]] = mapped_column(JSON)
    question_count: Mapped[int] = mapped_column(Integer)
    # settings used by submission and grading
    deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempt_limit: Mapped[int | None] = mapped_column(Integer)
    feedback: Mapped[str] = mapped_column(String(16), default="full")
    counting: Mapped[str] = mapped_column(String(16), default="last")
    status: Mapped[str] = mapped_column(String(16))  # "ready" or "unverified"
    generator_version: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    variants: Mapped[list["Variant"]] = relationship(back_populates="quiz", cascade="all, delete-orphan",
                                                     order_by="Variant.id")


class Student(Base):
    __tablename__ = "students"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    token_hash: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Variant(Base):
    """One student's copy of a quiz (student NULL: the shared copy for ``show QUIZ``)."""

    __tablename__ = "variants"
    __table_args__ = (UniqueConstraint("quiz_id", "student_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"), index=True)
    student_id: Mapped[int | None] = mapped_column(ForeignKey("students.id"))

    quiz: Mapped[Quiz] = relationship(back_populates="variants")
    student: Mapped[Student | None] = relationship()
    questions: Mapped[list["Question"]] = relationship(back_populates="variant", cascade="all, delete-orphan",
                                                      order_by="Question.slot")


class Question(Base):
    __tablename__ = "questions"
    __table_args__ = (UniqueConstraint("variant_id", "slot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"), index=True)
    slot: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    template: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    prompt: Mapped[dict[str, Any]] = mapped_column(JSON)
    answer: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The answer's form without its values (type, parts and their labels): all that
    # student commands need to parse a submission, so they never read ``answer``.
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The grading key: the right answer as the JSON text a right submission is stored as,
    # and the wrong values known slips produce (misconceptions.grading_key).
    expected: Mapped[str] = mapped_column(Text)
    slips: Mapped[dict[str, Any]] = mapped_column(JSON)
    breakdown: Mapped[dict[str, Any]] = mapped_column(JSON)
    derivation: Mapped[dict[str, Any]] = mapped_column(JSON)
    points: Mapped[int] = mapped_column(Integer)
    generator_version: Mapped[str] = mapped_column(String(32))
    keras_version: Mapped[str | None] = mapped_column(String(32))
    tensorflow_version: Mapped[str | None] = mapped_column(String(32))
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    variant: Mapped[Variant] = relationship(back_populates="questions")


class Submission(Base):
    """One answer to one question in one attempt; rows are only ever added."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("student_id", "question_id", "attempt"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"))
    attempt: Mapped[int] = mapped_column(Integer)
    raw: Mapped[str] = mapped_column(Text)
    parsed: Mapped[Any] = mapped_column(JSON, nullable=True)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Grade(Base):
    """A grade of one submission; regrading adds a row and marks the old one not current."""

    __tablename__ = "grades"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    correct: Mapped[bool] = mapped_column(Boolean)
    misconception: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    grader_version: Mapped[str] = mapped_column(String(32))
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    graded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
