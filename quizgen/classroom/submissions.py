"""Students submitting answers, and seeing their own attempts.

Nothing a student command does reads the answer key: questions are loaded
through their ``response`` column (the answer's form, without values), and
scores come from the grades table. Every submission is appended, never
overwritten; an attempt is written whole or not at all (its ``attempts`` row and
one ``submissions`` row per answered question, in one transaction), and a
malformed answer rejects the attempt before anything is written (it does not use
up an attempt). The quiz's rules (deadline, attempt limit, feedback policy) come
from classroom.policies, the same for every front end.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from ..clock import now, show
from ..errors import NotFoundError, clip
from ..grading.answers import AnswerError, find_part, parse_answer
from ..grading.slip_messages import shown_score
from ..ids import parse_quiz_id, student_quiz_id
from ..receipts import parts_text
from ..resources import message, phrase
from ..store.db import Store
from ..store.tables import Attempt, Question, Quiz, Submission, Variant
from .answer_results import PartResult, part_results, parts_json, question_feedback
from .answersheets import BlankAnswers, answer_position
from .policies import (
    Rules,
    SubmissionRefused,
    attempts_left,
    counting_rule,
    extension_line,
    is_open,
    not_on_quiz,
    student_rules,
    visibility,
)
from .students import AUTH_FAILED, AuthError, Vouched, authenticate


@dataclass(frozen=True)
class Receipt:
    """What the student is told once the attempt is committed: made before the commit, so
    telling it cannot fail after the attempt is stored."""

    quiz_id: int
    student: str
    attempt: int
    answered: int
    submitted_at: datetime
    time_zone: str
    submitted_local: str  # submitted_at as the quiz's people read it, with the offset
    replayed: bool = False  # the same attempt sent again (same idempotency key): nothing new stored
    language: str = "en"  # the quiz's, for what the student is told
    late: bool = False  # received after the deadline, inside the late window
    feedback: str = "full"  # the quiz's feedback policy, for what the student is told next
    counting: str = "last"  # the quiz's counting policy: which answer to each question counts

    def lines(self) -> list[str]:
        """What a student is told, in the quiz's language and as its feedback policy allows."""
        key = "recorded_late" if self.late else "recorded"
        told = [message(self.language, key, attempt=self.attempt, quiz=self.quiz_id, answers=self.answered,
                        time=self.submitted_local)]
        told.append(message(self.language, "scores_later" if visibility(self.feedback).score else "scores_hidden"))
        told.append(counting_rule(self.counting, self.language))
        return told

    def to_json(self) -> dict[str, Any]:
        return {"quiz": self.quiz_id, "student": self.student, "attempt": self.attempt, "answers": self.answered,
                "submitted_at": self.submitted_at.isoformat()}


@dataclass(frozen=True)
class Slot:
    """A question as submission needs it: its id, number and answer form (never its key)."""

    question_id: int
    slot: int
    response: dict[str, Any]


def load_slots(session: Any, quiz_id: int, student_pk: int) -> dict[int, Slot]:
    """The student's questions by number (empty: the student has no variant of the quiz)."""
    variant = session.scalar(select(Variant.id).where(Variant.quiz_id == quiz_id, Variant.student_id == student_pk))
    if variant is None:
        return {}
    rows = session.execute(select(Question.id, Question.slot, Question.response)
                           .where(Question.variant_id == variant)).all()
    return {r.slot: Slot(r.id, r.slot, r.response) for r in rows}


def _shown(key: str) -> str:
    return repr(clip(key, 20))


def parse_submission(slots: Mapping[int, Slot], answers: Mapping[str, str],
                     lang: str = "en") -> dict[int, tuple[str, Any]]:
    """slot → (raw text, parsed value); every problem reported together in one line, in
    ``lang`` (the quiz's, for a student; the instructor's tools keep English).

    Question and part numbers are plain integers (``3``, ``3.1``; ``03.01`` is the same
    part, and giving it twice under two spellings is refused as a duplicate)."""
    errors: list[str] = []
    by_slot: dict[int, dict[str, tuple[str, str]]] = {}  # slot → part label → (key as given, raw)
    for key, raw in answers.items():
        position = answer_position(key)
        if position is None:
            errors.append(message(lang, "submission_not_a_question", given=_shown(key)))
            continue
        slot, label = position
        if slot not in slots:
            errors.append(message(lang, "submission_no_question", slot=slot, count=len(slots)))
            continue
        given = by_slot.setdefault(slot, {})
        if label in given:
            errors.append(message(lang, "submission_answered_twice", question=f"{slot}{'.' + label if label else ''}",
                                  first=_shown(given[label][0]), second=_shown(key)))
            continue
        given[label] = (key, raw)
    parsed: dict[int, tuple[str, Any]] = {}
    for slot, given in sorted(by_slot.items()):
        response = slots[slot].response
        if response["type"] != "parts":
            if set(given) != {""}:
                errors.append(message(lang, "submission_one_answer", slot=slot))
                continue
            text = given[""][1]
            try:
                parsed[slot] = (text, parse_answer(response["type"], text, lang))
            except AnswerError as exc:
                errors.append(message(lang, "submission_answer", label=slot, problem=exc))
            continue
        parts = response["parts"]
        if "" in given:
            errors.append(message(lang, "submission_has_parts", slot=slot, count=len(parts)))
            continue
        values: dict[str, Any] = {}
        texts: dict[str, str] = {}
        for label, (_, raw) in given.items():
            found = find_part(parts, label)
            if found is None:
                errors.append(message(lang, "submission_no_part", slot=slot, part=_shown(label), count=len(parts)))
                continue
            if found["key"] in values:
                errors.append(message(lang, "submission_part_twice", slot=slot, part=found["key"]))
                continue
            try:
                values[found["key"]] = parse_answer(found["type"], raw, lang)
                texts[label] = raw
            except AnswerError as exc:
                errors.append(message(lang, "submission_answer", label=f"{slot}.{label}", problem=exc))
        # in the key's part order, so a right answer's stored text equals the key's expected text
        in_order = {p["key"]: values[p["key"]] for p in parts if p["key"] in values}
        parsed[slot] = (parts_text(texts), in_order)
    if errors:
        raise AnswerError("; ".join(errors) + message(lang, "nothing_submitted"))
    if not parsed:
        raise AnswerError(message(lang, "submission_no_answers"))
    return parsed


def attempts_used(session: Any, quiz_id: int, student_pk: int) -> int:
    return session.scalar(select(func.coalesce(func.max(Attempt.attempt), 0))
                          .where(Attempt.quiz_id == quiz_id, Attempt.student_id == student_pk)) or 0


def get_quiz_row(session: Any, quiz_id: int) -> Quiz:
    quiz = session.get(Quiz, quiz_id)
    if quiz is None:
        raise NotFoundError(f"no quiz {quiz_id}")
    return quiz


@dataclass(frozen=True)
class StudentQuestion:
    """A question as its student sees it: prompt and answer form, never its key."""

    slot: int
    kind: str
    points: int
    prompt: str
    response: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"slot": self.slot, "kind": self.kind, "points": self.points, "prompt": self.prompt,
                "response": self.response}


@dataclass(frozen=True)
class StudentQuiz:
    """One student's view of a quiz: its rules as they apply to them now (their
    extension included), and their questions."""

    quiz_id: int
    title: str
    student: str
    rules: Rules
    attempts_used: int
    counting: str
    server_time: datetime
    questions: list[StudentQuestion]

    @property
    def language(self) -> str:
        return self.rules.language

    @property
    def time_zone(self) -> str:
        return self.rules.time_zone

    @property
    def deadline(self) -> datetime | None:
        return self.rules.deadline

    @property
    def late_until(self) -> datetime | None:
        return self.rules.late_until

    @property
    def attempt_limit(self) -> int | None:
        return self.rules.attempt_limit

    @property
    def feedback(self) -> str:
        return self.rules.feedback

    @property
    def open(self) -> bool:
        return is_open(self.rules, self.server_time) and attempts_left(self.attempt_limit, self.attempts_used) != 0

    def extension_line(self) -> str | None:
        """The student's extension, in the quiz's language (None: they have none)."""
        return extension_line(self.rules)

    def to_json(self) -> dict[str, Any]:
        return {"quiz": {"id": self.quiz_id, "title": self.title, "language": self.language,
                         **self.rules.to_json(),
                         "attempts_used": self.attempts_used,
                         "attempts_left": attempts_left(self.attempt_limit, self.attempts_used),
                         "feedback": self.feedback, "counting": self.counting, "open": self.open},
                "student": self.student, "server_time": self.server_time.isoformat(),
                "questions": [q.to_json() for q in self.questions]}


def quiz_for_student(store: Store, quiz: str | int, student_id: str, token: str | Vouched | None) -> StudentQuiz:
    """What a student may see of a quiz (never a key column: only prompts and answer forms)."""
    quiz_id = parse_quiz_id(quiz)
    at = now()
    with store.read() as session:
        student = authenticate(session, student_id, token, quiz_id)
        quiz_row = get_quiz_row(session, quiz_id)
        variant = session.scalar(select(Variant.id).where(Variant.quiz_id == quiz_id, Variant.student_id == student.id))
        if variant is None:
            raise not_on_quiz(quiz_id, student_id, quiz_row.language)
        rows = session.execute(select(Question.slot, Question.kind, Question.points, Question.prompt,
                                      Question.response).where(Question.variant_id == variant)
                               .order_by(Question.slot)).all()
        used = attempts_used(session, quiz_id, student.id)
        return StudentQuiz(quiz_id, quiz_row.title, student_id, student_rules(session, quiz_row, student.id), used,
                           quiz_row.counting, at,
                           [StudentQuestion(r.slot, r.kind, r.points, r.prompt[quiz_row.language], r.response)
                            for r in rows])


@dataclass(frozen=True)
class QuestionStatus:
    slot: int
    points: int
    answered: bool  # whether a graded answer counts for this question
    score: float | None  # None: hidden by the feedback policy, or not answered
    correct: bool | None  # None: hidden (only shown under full feedback), or not answered
    misconception: str | None  # the slip a wrong answer shows, as stored (full feedback only)
    parts: list[PartResult] | None  # per-part results of a multi-part answer (full feedback only)
    feedback: str | None = None  # the answer's feedback in the quiz's language (full feedback only)


@dataclass(frozen=True)
class AttemptInfo:
    attempt: int
    submitted_at: datetime
    answers: int
    receipt: dict[str, Any] | None = None  # the server-signed receipt, for attempts sent over HTTP


@dataclass(frozen=True)
class StatusReport:
    """A student's own view of a quiz, already filtered by its feedback policy: a front
    end shows what is here and cannot show what the policy hides."""

    quiz_id: int
    title: str
    language: str
    student: str
    feedback: str
    counting: str
    time_zone: str
    attempts: list[AttemptInfo]
    attempt_limit: int | None
    deadline: datetime | None
    graded: bool
    score: float | None  # None unless the policy shows scores and something is graded
    max_score: int
    questions: list[QuestionStatus] | None  # None unless the policy shows scores
    rules: Rules  # the student's own (deadline and attempt_limit above are its)

    def lines(self) -> list[str]:
        """What ``status`` prints, in the quiz's language, as its feedback policy allows."""
        lang = self.language
        limit = message(lang, "status_limit", limit=self.attempt_limit) if self.attempt_limit else ""
        out = [message(lang, "status_head", title=self.title, quiz=self.quiz_id, student=self.student,
                       count=len(self.attempts), limit=limit)]
        extension = extension_line(self.rules)
        if extension is not None:
            out.append(extension)
        out += [message(lang, "status_attempt", attempt=a.attempt, answers=a.answers,
                        time=show(a.submitted_at, self.time_zone)) for a in self.attempts]
        if not self.graded:
            out.append(message(lang, "not_graded" if self.attempts else "no_attempts"))
        elif self.questions is None:
            out.append(message(lang, "graded_hidden"))
        else:
            out.append(message(lang, "score", score=f"{self.score or 0:.2f}".rstrip("0").rstrip("."),
                               max=self.max_score))
        return out

    def to_json(self) -> dict[str, Any]:
        """What ``status --json`` prints: per-question results only under full feedback."""
        return {
            "quiz": self.quiz_id, "student": self.student, "feedback": self.feedback,
            "attempts": [{"attempt": a.attempt, "submitted_at": a.submitted_at.isoformat(), "answers": a.answers,
                          **({"receipt": a.receipt} if a.receipt else {})} for a in self.attempts],
            "attempt_limit": self.attempt_limit, **{k: v for k, v in self.rules.to_json().items()
                                                     if k in ("deadline", "late_until", "extension")},
            "graded": self.graded, "score": shown_score(self.score),
            "max_score": self.max_score,
            "questions": None if self.questions is None or self.feedback != "full" else [
                {"slot": q.slot, "points": q.points, "score": shown_score(q.score), "correct": q.correct,
                 "misconception": q.misconception, "feedback": q.feedback, "parts": parts_json(q.parts)}
                for q in self.questions],
        }


def status(store: Store, quiz: str | int, student_id: str, token: str | Vouched | None) -> StatusReport:
    """A student's own attempts and, as the quiz's feedback policy allows, their grades."""
    from .results import counted_results

    quiz_id = parse_quiz_id(quiz)
    with store.read() as session:
        student = authenticate(session, student_id, token, quiz_id)
        quiz_row = get_quiz_row(session, quiz_id)
        slots = load_slots(session, quiz_id, student.id)
        if not slots:
            raise not_on_quiz(quiz_id, student_id, quiz_row.language)
        counts = dict(session.execute(select(Submission.attempt, func.count())
                                      .where(Submission.quiz_id == quiz_id, Submission.student_id == student.id)
                                      .group_by(Submission.attempt)).all())
        attempts = [AttemptInfo(r.attempt, r.received_at, counts.get(r.attempt, 0),
                                json.loads(r.receipt) if r.receipt else None) for r in session.execute(
            select(Attempt.attempt, Attempt.received_at, Attempt.receipt)
            .where(Attempt.quiz_id == quiz_id, Attempt.student_id == student.id).order_by(Attempt.attempt))]
        points = dict(session.execute(select(Question.slot, Question.points)
                                      .where(Question.id.in_([s.question_id for s in slots.values()]))).all())
        results = counted_results(session, quiz_id, quiz_row.counting, [student.id]).get(student.id, {})
        rules = student_rules(session, quiz_row, student.id)
        seen = visibility(quiz_row.feedback)
        graded = bool(results)
        questions = None
        if seen.score:
            questions = []
            for slot in sorted(slots):
                r = results.get(slots[slot].question_id)
                if seen.details and r is not None:
                    parts = part_results(slot, slots[slot].response, r.details, quiz_row.language)
                    questions.append(QuestionStatus(
                        slot, points[slot], True, r.score, r.correct, r.misconception, parts,
                        question_feedback(r.misconception, parts, quiz_row.language)))
                else:
                    questions.append(QuestionStatus(slot, points[slot], r is not None,
                                                    None if r is None else r.score, None, None, None))
        total = sum(q.score or 0 for q in questions) if (questions is not None and graded) else None
        return StatusReport(quiz_id, quiz_row.title, quiz_row.language, student_id, quiz_row.feedback,
                            quiz_row.counting, quiz_row.time_zone, attempts, rules.attempt_limit, rules.deadline,
                            graded, total, sum(points.values()), questions, rules)


# ---------------------------------------------------------------- the student's own commands
#
# What a student runs on the quiz's database (``submit``, ``status``, ``show``) speaks one
# language: the quiz's, once it is known, and before that (a wrong token, a quiz that does
# not exist) the language of the student's locale, which the caller passes.

def _quiz_language(store: Store, quiz_id: int) -> str | None:
    with store.read() as session:
        return session.scalar(select(Quiz.language).where(Quiz.id == quiz_id))


def quiz_id_for(quiz: str | int, lang: str) -> int:
    try:
        return student_quiz_id(quiz)
    except NotFoundError as exc:
        exc.speak(lang)
        raise


@contextmanager
def told_to_student(store: Store, quiz_id: int, lang: str) -> Iterator[None]:
    """Refusals as the student reads them: a wrong token and a missing quiz in ``lang``;
    the refusals the classroom words in the quiz's language (closed, spent, not on the
    quiz, unreadable or blank answers) marked as said in it, so the whole screen,
    ``Error:`` included, is in one language. Anything else (a database that cannot be
    read) is said as it is, in English, with an English prefix."""
    try:
        yield
    except AuthError as exc:
        key = "auth_failed" if str(exc) == AUTH_FAILED else "auth_token_required"
        raise AuthError(phrase(key)).speak(lang) from None
    except NotFoundError as exc:
        known = _quiz_language(store, quiz_id)
        if known is None:
            raise NotFoundError(phrase("student_no_quiz", quiz=quiz_id)).speak(lang) from None
        exc.speak(known)
        raise
    except (SubmissionRefused, AnswerError, BlankAnswers) as exc:  # worded in the quiz's language
        exc.speak(_quiz_language(store, quiz_id) or lang)
        raise


def student_status(store: Store, quiz: str | int, student_id: str, token: str | None, lang: str) -> StatusReport:
    """The local ``status`` (see ``status``), its refusals as the student reads them."""
    quiz_id = quiz_id_for(quiz, lang)
    with told_to_student(store, quiz_id, lang):
        return status(store, quiz_id, student_id, token)


def student_questions(store: Store, quiz: str | int, student: str | None, lang: str) -> Any:
    """The local ``show``: the quiz as a student sees it (quizzes.ShownQuiz), for one student's
    variant or the shared one; a student without a variant is told they are not on the quiz."""
    from .quizzes import show_quiz

    quiz_id = quiz_id_for(quiz, lang)
    with told_to_student(store, quiz_id, lang):
        try:
            return show_quiz(store, quiz_id, student)
        except NotFoundError:
            known = _quiz_language(store, quiz_id)
            if known is None or student is None:
                raise
            raise not_on_quiz(quiz_id, student, known) from None
