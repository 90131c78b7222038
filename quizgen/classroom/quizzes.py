"""The instructor's operations on the store: generate, list, show, key
(verify is classroom.verify; later changes to a quiz are classroom.manage).

Generation happens entirely in memory (and, unless told otherwise, is confirmed
by real Keras) before one write transaction stores the quiz, its students'
variants and every question; an error anywhere leaves the database unchanged.
Without a list of students, every student on the stored roster gets a variant.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import distinct, func, insert, select

from ..clock import now
from ..errors import GenerationError, NotFoundError
from ..ids import parse_quiz_id
from ..questions.catalog import DEFAULT_KINDS, DIFFICULTIES, GENERATOR_VERSION, KINDS, LANGS, MAX_QUESTIONS
from ..questions.records import (  # noqa: F401
    CARRY_FIELD,
    CARRY_KINDS,
    KeyEntry,
    QuizInfo,
    ShownQuestion,
    VariantKey,
    format_answer,
    response_of,
)
from ..store.db import Store
from ..store.tables import Attempt, Quiz, Student, Variant, get_quiz
from ..store.tables import Question as QuestionRow
from .policies import Extension, QuizSettings, check_settings, extension_line, student_rules
from .roster import RosterEntry
from .students import IssuedToken, roster_entries, sync_students

MAX_REGENERATE = 3

Progress = Callable[[int, int], None]  # (done, total)


@dataclass(frozen=True)
class QuizPlan:
    """Everything that determines a quiz's questions (with the generator version)."""

    title: str
    seed: int
    count: int
    kinds: tuple[str, ...] = DEFAULT_KINDS
    difficulty: str = "medium"
    language: str = "ko"
    ranges: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    deadline: datetime | None = None  # an instant (aware); clock.parse_deadline reads what was typed
    time_zone: str = "UTC"  # the zone the deadline was given in, recorded on the quiz
    late_until: datetime | None = None  # late submissions accepted (and marked late) until then
    attempt_limit: int | None = None
    feedback: str = "full"
    counting: str = "last"
    carry_forward: bool = False  # a summary's total right by the student's own layer counts earns its part

    def validate(self) -> None:
        if not self.title.strip():
            raise GenerationError("the quiz needs a title")
        if len(self.title) > 200:
            raise GenerationError("the title is longer than 200 characters")
        if not 1 <= self.count <= MAX_QUESTIONS:
            raise GenerationError(f"--count must be between 1 and {MAX_QUESTIONS}, got {self.count:,}")
        if not 0 <= self.seed < 2**63:
            raise GenerationError("--seed must be a non-negative integer below 2**63")
        unknown = [k for k in self.kinds if k not in KINDS]
        if unknown or not self.kinds:
            raise GenerationError(
                f"unknown question kind {unknown[0] if unknown else ''!r}; kinds are {', '.join(KINDS)}"
            )
        if self.difficulty not in DIFFICULTIES:
            raise GenerationError(f"unknown difficulty {self.difficulty!r}; expected easy, medium or hard")
        if self.language not in LANGS:
            raise GenerationError(f"unknown language {self.language!r}; expected ko or en")
        check_settings(self.settings, None)

    @property
    def settings(self) -> QuizSettings:
        return QuizSettings(self.deadline, self.time_zone, self.late_until, self.attempt_limit, self.feedback,
                            self.counting)


@dataclass
class Draft:
    """A variant being generated: whose it is and its questions (generator.Question)."""

    student: RosterEntry | None
    questions: list[Any]


def _generate(plan: QuizPlan, student: str | None, slot: int, kind: str, attempt: int = 0) -> Any:
    """One student's question, drawn so that each slip it names gives its own number."""
    from ..grading.misconceptions import slips_apart
    from ..questions.generator import generate_question

    question = generate_question(plan.seed, slot, kind, student, plan.difficulty, plan.ranges, attempt,
                                 langs=(plan.language,), keep_apart=slips_apart)
    if plan.carry_forward and kind in CARRY_KINDS:
        question.answer[CARRY_FIELD] = True  # its grading key gets the follow-through rule
    return question


def draft_variants(plan: QuizPlan, students: Sequence[RosterEntry | None]) -> list[Draft]:
    """Variants in memory, one per entry (None: the shared variant). A student's variant
    depends only on the plan and their id, so one drafted later (``quiz add-students``)
    is the one they would have got with the quiz."""
    from ..questions.generator import slot_kinds

    plan.validate()
    kinds = slot_kinds(plan.count, plan.kinds)
    drafts = []
    for entry in students:
        sid = entry.id if entry else None
        drafts.append(Draft(entry, [_generate(plan, sid, slot, kind) for slot, kind in enumerate(kinds, start=1)]))
    return drafts


def draft_quiz(plan: QuizPlan, students: Sequence[RosterEntry] = ()) -> list[Draft]:
    """All variants of a quiz in memory: the shared one, then one per student."""
    return draft_variants(plan, [None, *students])


def plan_of(quiz: Quiz) -> QuizPlan:
    """The plan a stored quiz was generated from (what its variants depend on, and its settings)."""
    return QuizPlan(title=quiz.title, seed=quiz.seed, count=quiz.question_count, kinds=tuple(quiz.kinds),
                    difficulty=quiz.difficulty, language=quiz.language,
                    ranges={k: (int(v[0]), int(v[1])) for k, v in (quiz.ranges or {}).items()},
                    deadline=quiz.deadline, time_zone=quiz.time_zone, late_until=quiz.late_until,
                    attempt_limit=quiz.attempt_limit, feedback=quiz.feedback, counting=quiz.counting,
                    carry_forward=quiz.carry_forward)


@dataclass
class Confirmation:
    keras_version: str
    tensorflow_version: str
    checked: int
    regenerated: int


def confirm_drafts(plan: QuizPlan, drafts: list[Draft], progress: Progress | None = None) -> Confirmation:
    """Confirm every answer with real Keras; a question Keras disagrees with is drawn again.

    Regeneration is deterministic (the attempt number is part of the seed); a
    question that still disagrees after a few attempts stops the whole quiz.
    """
    from ..nn.keras_check import KerasChecker, versions
    from ..questions.confirm import extra_mismatches

    checker = KerasChecker()
    v = versions()
    pending = [(d, i) for d in drafts for i in range(len(d.questions))]
    total = len(pending)
    regenerated = 0
    for attempt in range(MAX_REGENERATE + 1):
        failed = []
        for n, (draft, i) in enumerate(pending, start=1):
            q = draft.questions[i]
            verdict = checker.check(q.spec)
            if not verdict.agree or verdict.keras_error:
                failed.append((draft, i, verdict.describe()))
            elif extra := extra_mismatches(q.kind, q.spec, q.answer, checker):
                failed.append((draft, i, "; ".join(f"{what}: {stored} != {seen}" for what, stored, seen in extra)))
            if progress and attempt == 0:
                progress(n, total)
        if not failed:
            return Confirmation(v["keras"], v["tensorflow"], total, regenerated)
        if attempt == MAX_REGENERATE:
            draft, i, why = failed[0]
            raise GenerationError(f"question {i + 1} could not be confirmed by Keras after "
                                  f"{MAX_REGENERATE} new draws: {why}")
        pending = []
        for draft, i, _ in failed:
            q = draft.questions[i]
            draft.questions[i] = _generate(plan, draft.student.id if draft.student else None, q.slot, q.kind,
                                           attempt + 1)
            pending.append((draft, i))
            regenerated += 1
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class CreatedQuiz:
    """A stored quiz, and what storing it did to the roster."""

    quiz_id: int
    title: str
    questions: int
    students: int
    confirmation: Confirmation | None
    issued: list[IssuedToken]  # tokens for students who had none (shown once)
    updated: list[str]  # ids of students whose name or email the roster changed
    students_from: str = "list"  # "list": the students given; "roster": the stored roster (none given)
    same_title: list[int] = field(default_factory=list)  # other quizzes with this title (a re-run by mistake?)

    def to_json(self) -> dict[str, Any]:
        c = self.confirmation
        return {"id": self.quiz_id, "title": self.title, "questions": self.questions, "students": self.students,
                "students_from": self.students_from, "same_title": self.same_title,
                "status": "ready" if c else "unverified", "keras": c.keras_version if c else None,
                "tokens": [t.to_json() for t in self.issued], "updated_students": self.updated}


def question_rows(variant_id: int, questions: Sequence[Any], confirmation: Confirmation | None,
                  stamp: datetime) -> list[dict[str, Any]]:
    """The questions table's rows for one variant's generated questions, grading keys made."""
    from ..grading.misconceptions import grading_key  # the solver: not for student commands

    rows = []
    for q in questions:
        expected, slips = grading_key(q.kind, q.spec, q.answer, q.solution)
        rows.append({
            "variant_id": variant_id, "slot": q.slot, "kind": q.kind, "template": q.template,
            "params": q.params, "spec": q.spec, "prompt": q.prompt, "answer": q.answer,
            "response": response_of(q.answer), "expected": expected, "slips": slips,
            "breakdown": q.breakdown, "derivation": q.derivation, "points": q.points,
            "generator_version": GENERATOR_VERSION,
            "keras_version": confirmation.keras_version if confirmation else None,
            "tensorflow_version": confirmation.tensorflow_version if confirmation else None,
            "verified_at": stamp if confirmation else None,
        })
    return rows


def store_quiz(store: Store, plan: QuizPlan, drafts: list[Draft], confirmation: Confirmation | None) -> CreatedQuiz:
    """Write the quiz, its students and all questions in one transaction."""
    stamp = now()
    with store.write() as session:
        same_title = list(session.scalars(select(Quiz.id).where(Quiz.title == plan.title).order_by(Quiz.id)))
        quiz = Quiz(
            title=plan.title,
            seed=plan.seed,
            language=plan.language,
            difficulty=plan.difficulty,
            kinds=list(plan.kinds),
            ranges={k: list(v) for k, v in plan.ranges.items()},
            question_count=plan.count,
            deadline=plan.deadline,
            time_zone=plan.time_zone,
            late_until=plan.late_until,
            attempt_limit=plan.attempt_limit,
            feedback=plan.feedback,
            counting=plan.counting,
            carry_forward=plan.carry_forward,
            status="ready" if confirmation else "unverified",
            generator_version=GENERATOR_VERSION,
            created_at=stamp,
        )
        session.add(quiz)
        session.flush()
        roster = sync_students(session, [d.student for d in drafts if d.student], stamp)
        rows = []
        for draft in drafts:
            variant = Variant(quiz_id=quiz.id, student_id=roster.ids[draft.student.id] if draft.student else None)
            session.add(variant)
            session.flush()
            rows += question_rows(variant.id, draft.questions, confirmation, stamp)
        session.execute(insert(QuestionRow), rows)
        return CreatedQuiz(quiz.id, plan.title, plan.count, len(roster.ids), confirmation, roster.issued,
                           roster.updated, same_title=same_title)


def create_quiz(store: Store, plan: QuizPlan, students: Sequence[RosterEntry] | None = None, verify: bool = True,
                progress: Progress | None = None, allow_past: bool = False) -> CreatedQuiz:
    """Generate, confirm (unless ``verify`` is false) and store a quiz.

    Who gets a variant: the ``students`` given (added to the roster if new; ``()`` for
    none, only the shared variant), or, when none are given (``None``), every student
    already on the stored roster. Students can be added later with
    classroom.manage.add_students_to_quiz; a student's variant is the same either way.
    A deadline already past is refused unless ``allow_past`` (students would be closed
    out, or late, from the start)."""
    plan.validate()
    check_settings(plan.settings, None if allow_past else now())
    from_roster = students is None
    if students is None:
        students = roster_entries(store)
    drafts = draft_quiz(plan, students)
    confirmation = confirm_drafts(plan, drafts, progress) if verify else None
    created = store_quiz(store, plan, drafts, confirmation)
    return replace(created, students_from="roster") if from_roster else created


# ---------------------------------------------------------------- reading

def _info(quiz: Quiz, students: int, submitted: int) -> QuizInfo:
    return QuizInfo(quiz.id, quiz.title, quiz.seed, quiz.language, quiz.difficulty, list(quiz.kinds),
                    quiz.question_count, students, quiz.status, quiz.created_at, quiz.deadline,
                    quiz.attempt_limit, quiz.feedback, quiz.counting, quiz.time_zone, quiz.late_until, submitted,
                    bool(quiz.archived), quiz.carry_forward)


def _submitted(session: Any, quiz_id: int | None = None) -> dict[int, int]:
    """quiz → how many students have made at least one attempt."""
    query = select(Attempt.quiz_id, func.count(distinct(Attempt.student_id))).group_by(Attempt.quiz_id)
    if quiz_id is not None:
        query = query.where(Attempt.quiz_id == quiz_id)
    return dict(session.execute(query).all())


def list_quizzes(store: Store, include_archived: bool = False) -> list[QuizInfo]:
    """The quizzes in the store, oldest first; archived ones only with ``include_archived``."""
    with store.read() as session:
        counts = dict(session.execute(
            select(Variant.quiz_id, func.count(Variant.student_id)).group_by(Variant.quiz_id)).all())
        submitted = _submitted(session)
        query = select(Quiz).order_by(Quiz.id)
        if not include_archived:
            query = query.where(Quiz.archived.is_(False))
        return [_info(q, counts.get(q.id, 0), submitted.get(q.id, 0)) for q in session.scalars(query)]


def quiz_info(store: Store, quiz_id: str | int) -> QuizInfo:
    qid = parse_quiz_id(quiz_id)
    with store.read() as session:
        quiz = session.get(Quiz, qid)
        if quiz is None:
            raise NotFoundError(f"no quiz {qid} (see 'quizgen list')")
        students = session.scalar(select(func.count(Variant.student_id)).where(Variant.quiz_id == qid)) or 0
        return _info(quiz, students, _submitted(session, qid).get(qid, 0))


def _variant_id(session: Any, quiz_id: int, student: str | None) -> int:
    if student is None:
        vid = session.scalar(select(Variant.id).where(Variant.quiz_id == quiz_id, Variant.student_id.is_(None)))
    else:
        vid = session.scalar(select(Variant.id).join(Student, Variant.student_id == Student.id)
                             .where(Variant.quiz_id == quiz_id, Student.external_id == student))
        if vid is None:
            raise NotFoundError(f"student {student!r} has no variant of quiz {quiz_id} (give them one with "
                                f"'quizgen quiz add-students {quiz_id} --student {student}')")
    if vid is None:
        raise NotFoundError(f"quiz {quiz_id} has no shared variant")
    return vid


@dataclass(frozen=True)
class ShownQuiz:
    """A quiz's questions as ``show`` prints them (never an answer), and for one student's
    variant the extension they have (in the quiz's language)."""

    info: QuizInfo
    student: str | None
    questions: list[ShownQuestion]
    extension: Extension | None
    extension_line: str | None

    def to_json(self) -> dict[str, Any]:
        return {"quiz": self.info.to_json(), "student": self.student,
                "extension": self.extension.to_json(self.info.time_zone) if self.extension else None,
                "questions": [q.to_json() for q in self.questions]}


def show_quiz(store: Store, quiz_id: str | int, student: str | None = None) -> ShownQuiz:
    info = quiz_info(store, quiz_id)
    with store.read() as session:
        vid = _variant_id(session, info.id, student)
        # Only the columns a student may see are selected, never answer or derivation.
        rows = session.execute(select(QuestionRow.slot, QuestionRow.kind, QuestionRow.points, QuestionRow.prompt)
                               .where(QuestionRow.variant_id == vid).order_by(QuestionRow.slot)).all()
        rules = None
        if student is not None:
            pk: int = session.scalar(select(Variant.student_id).where(Variant.id == vid))  # a student's variant
            rules = student_rules(session, get_quiz(session, info.id), pk)
    return ShownQuiz(info, student, [ShownQuestion(r.slot, r.kind, r.points, r.prompt[info.language]) for r in rows],
                     rules.extension if rules else None, extension_line(rules) if rules else None)


def quiz_key(store: Store, quiz_id: str | int, student: str | None = None,
             all_variants: bool = False) -> tuple[QuizInfo, list[VariantKey]]:
    """Answers with derivations: one variant, or every variant (for exports)."""
    info = quiz_info(store, quiz_id)
    with store.read() as session:
        if all_variants:
            variants = session.execute(select(Variant.id, Student.external_id, Student.name)
                                       .outerjoin(Student, Variant.student_id == Student.id)
                                       .where(Variant.quiz_id == info.id).order_by(Variant.id)).all()
        else:
            vid = _variant_id(session, info.id, student)
            name = session.scalar(select(Student.name).where(Student.external_id == student)) if student else None
            variants = [(vid, student, name)]  # type: ignore[list-item]  # rows of the same three columns
        out = []
        for vid, sid, name in variants:
            rows = session.scalars(select(QuestionRow).where(QuestionRow.variant_id == vid)
                                   .order_by(QuestionRow.slot)).all()
            out.append(VariantKey(sid, name, [KeyEntry(
                r.slot, r.kind, r.points, r.prompt[info.language], r.answer, r.derivation[info.language],
                r.spec, r.breakdown, r.keras_version, r.tensorflow_version, r.verified_at) for r in rows]))
    return info, out


__all__ = ["QuizPlan", "create_quiz", "list_quizzes", "show_quiz", "quiz_key"]
