"""Results of a quiz read from the store: the gradebook every report is made from."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, select

from ..exports.analysis import Report, item_analysis
from ..exports.gradebook import Gradebook, GradebookRow, SlotAbout
from ..grading.scoring import counts_over
from ..store.db import Store
from ..store.tables import Grade, Question, Student, Submission, Variant
from .quizzes import quiz_info


@dataclass(frozen=True)
class Result:
    """The grade of the answer that counts for one student and question."""

    submission_id: int
    attempt: int
    score: float
    max_score: float
    correct: bool
    misconception: str | None
    details: dict[str, Any]
    raw: str
    parsed: Any


def counted_results(session: Any, quiz_id: int, counting: str,
                    student_ids: Sequence[int] | None = None) -> dict[int, dict[int, Result]]:
    """student → question → the graded answer that counts (last or best attempt)."""
    q = (select(Submission.id, Submission.student_id, Submission.question_id, Submission.attempt, Submission.raw,
                Submission.parsed, Grade.score, Grade.max_score, Grade.correct, Grade.misconception, Grade.details)
         .join(Grade, and_(Grade.submission_id == Submission.id, Grade.current.is_(True)))
         .where(Submission.quiz_id == quiz_id))
    if student_ids is not None:
        q = q.where(Submission.student_id.in_(list(student_ids)))
    out: dict[int, dict[int, Result]] = defaultdict(dict)
    for r in session.execute(q):
        candidate = Result(r.id, r.attempt, r.score, r.max_score, r.correct, r.misconception, r.details or {},
                           r.raw, r.parsed)
        current = out[r.student_id].get(r.question_id)
        if current is None or counts_over(candidate.score, candidate.attempt, current.score, current.attempt,
                                              counting):
            out[r.student_id][r.question_id] = candidate
    return out


def gradebook(store: Store, quiz: str | int) -> Gradebook:
    info = quiz_info(store, quiz)
    with store.read() as session:
        variants = session.execute(select(Variant.id, Student.id, Student.external_id, Student.name, Student.email)
                                   .join(Student, Variant.student_id == Student.id)
                                   .where(Variant.quiz_id == info.id).order_by(Student.external_id)).all()
        questions = session.execute(select(Question.id, Question.variant_id, Question.slot, Question.points)
                                    .join(Variant, Question.variant_id == Variant.id)
                                    .where(Variant.quiz_id == info.id)).all()
        results = counted_results(session, info.id, info.counting)
        first = min((v[0] for v in variants), default=None)
        about = session.execute(select(Question.slot, Question.kind, Question.spec)
                                .where(Question.variant_id == first).order_by(Question.slot)).all()
    slot_of = {q.id: q.slot for q in questions}
    points_by_slot: dict[int, int] = {}
    for q in questions:
        points_by_slot.setdefault(q.slot, q.points)
    points = [points_by_slot[s] for s in sorted(points_by_slot)]
    wrong: dict[str, dict[int, list[tuple[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    rows = []
    for v in variants:
        scores: list[float | None] = [None] * len(points)
        correct: list[bool | None] = [None] * len(points)
        for qid, r in results.get(v[1], {}).items():
            i = slot_of[qid] - 1
            scores[i] = r.score
            correct[i] = r.correct
            if not r.correct:
                wrong[v[2]][slot_of[qid]].extend(_wrong_answers(slot_of[qid], r))
        rows.append(GradebookRow(v[2], v[3], v[4], scores, sum(s or 0 for s in scores), correct))
    return Gradebook(info, points, rows, wrong, [SlotAbout(a.kind, a.spec or {}) for a in about])


def _wrong_answers(slot: int, result: Result) -> list[tuple[str, str]]:
    """(slip or "", the answer as written) for each wrong answer in a graded result. A
    multi-part answer gives one per wrong part, written as the student answered it
    ("3.1 = 5"), so the report names the part and its slip instead of quoting the JSON."""
    parts = result.details.get("parts") if isinstance(result.details, dict) else None
    if not isinstance(parts, dict):
        return [(result.misconception or "", result.raw)]
    try:
        given = json.loads(result.raw)
    except ValueError:
        given = None
    if not isinstance(given, dict):
        given = {}
    out = []
    for n, (key, part) in enumerate(parts.items(), start=1):
        if part.get("correct") or part.get("answered") is False:
            continue
        text = given.get(str(n), given.get(key, ""))
        out.append((part.get("misconception") or "", f"{slot}.{n} = {text}"))
    return out


def analysis(store: Store, quiz: str | int) -> Report:
    """The item analysis of a quiz's counted grades."""
    return item_analysis(gradebook(store, quiz))
