"""``quizgen verify``: is every stored key whole, and true?

A question's key is its answer, its grading key (``expected`` and ``slips``) and its
per-layer breakdown. Comparing only the breakdown with Keras once let a hand-edited
answer (529,313 where the working says 529,441) pass as "ready". So each question is
checked in full:

1. its spec is solved afresh, and the stored answer must equal the answer the
   generator makes from that solution (``questions.generator.right_answer``: one
   derivation for both); the stored breakdown must equal the solution's;
2. its grading key must equal the key made afresh from the stored answer
   (``grading.misconceptions.grading_key``), accepted alternatives included;
3. its breakdown must equal what real Keras builds (for questions not yet confirmed
   with the installed Keras, or all of them with ``force``), and what a kind asks beyond
   the model must be what confirms it: an rnn-step's hidden state the numpy reference's,
   a gate-weights question's shapes the weights Keras makes (questions.confirm).

Labels of parts are wording, not answers, and are not compared. An answer that
``quizgen quiz correct`` set to a value other than the solution's records the
solution's value (``analytic``): that value is what must follow from the spec, and
the override is listed in the report. Any mismatch is reported per question with
both values; the quiz is then not ready, and the questions concerned lose their
confirmation until they are checked again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from ..clock import now
from ..errors import QuizgenError, clip
from ..questions.records import ACCEPTED_FIELD, ANALYTIC_FIELD, CARRY_FIELD, answer_units
from ..store.db import Store
from ..store.tables import Question, Quiz, Student, Variant
from .quizzes import quiz_info

Progress = Callable[[int, int], None]  # (done, total)

_NOT_ANSWERS = ("label", ACCEPTED_FIELD, ANALYTIC_FIELD, CARRY_FIELD, "value", "parts")


@dataclass(frozen=True)
class Mismatch:
    """One thing about one question that is not what it should be: the stored value, and
    what a fresh solution (or Keras) gives instead."""

    question_id: int
    slot: int
    student: str | None  # None: the shared variant
    what: str  # "answer", "answer part L2.params", "breakdown", "grading key (slips)", "Keras"...
    stored: Any
    fresh: Any
    source: str = "fresh solution"  # where ``fresh`` comes from: "fresh solution", "fresh key", "Keras"
    stored_as: str = "stored"  # what ``stored`` is: the stored value, or quizgen's solution (against Keras)

    def line(self) -> str:
        who = f"student {self.student}" if self.student else "shared variant"
        return (f"question {self.slot} ({who}, id {self.question_id}): {self.what}: {self.stored_as} "
                f"{_shown(self.stored)}, {self.source} {_shown(self.fresh)}")

    def to_json(self) -> dict[str, Any]:
        return {"question_id": self.question_id, "slot": self.slot, "student": self.student, "what": self.what,
                "stored": self.stored, "fresh": self.fresh, "source": self.source, "stored_as": self.stored_as}


@dataclass(frozen=True)
class Override:
    """An answer the instructor set (``quizgen quiz correct``) that differs from the solution's."""

    question_id: int
    slot: int
    student: str | None
    part: str | None
    value: Any
    analytic: Any

    def line(self) -> str:
        who = f"student {self.student}" if self.student else "shared variant"
        part = f" part {self.part}" if self.part else ""
        return (f"question {self.slot}{part} ({who}): answer set by the instructor {_shown(self.value)}; "
                f"the solution gives {_shown(self.analytic)}")

    def to_json(self) -> dict[str, Any]:
        return {"question_id": self.question_id, "slot": self.slot, "student": self.student, "part": self.part,
                "value": self.value, "analytic": self.analytic}


@dataclass(frozen=True)
class VerifyReport:
    questions: int  # every question's answer and grading key checked against a fresh solution
    checked: int  # of them, confirmed by Keras in this run
    skipped: int  # already confirmed with the installed Keras (not built again)
    problems: list[Mismatch]
    overrides: list[Override]
    keras_version: str
    tensorflow_version: str
    status: str

    @property
    def disagreements(self) -> list[str]:
        return [p.line() for p in self.problems]

    def to_json(self) -> dict[str, Any]:
        return {"questions": self.questions, "checked": self.checked, "skipped": self.skipped, "status": self.status,
                "keras": self.keras_version, "tensorflow": self.tensorflow_version,
                "disagreements": self.disagreements, "problems": [p.to_json() for p in self.problems],
                "overrides": [o.to_json() for o in self.overrides]}


def verify_quiz(store: Store, quiz_id: str | int, progress: Progress | None = None,
                force: bool = False) -> VerifyReport:
    """Check every question's whole key (see the module docstring); confirm with Keras the
    questions not yet confirmed with the installed version (all of them if ``force``).
    The quiz is ready only if nothing is wrong anywhere."""
    from ..nn.keras_check import KerasChecker, versions
    from ..questions.confirm import extra_mismatches

    info = quiz_info(store, quiz_id)
    v = versions()
    with store.read() as session:
        rows = session.execute(
            select(Question.id, Question.slot, Question.kind, Question.template, Question.spec, Question.answer,
                   Question.expected, Question.slips, Question.breakdown, Question.keras_version,
                   Question.tensorflow_version, Question.verified_at, Student.external_id.label("student"))
            .join(Variant, Question.variant_id == Variant.id)
            .outerjoin(Student, Variant.student_id == Student.id)
            .where(Variant.quiz_id == info.id).order_by(Variant.id, Question.slot)).all()
    todo = [r for r in rows if force or r.verified_at is None or r.keras_version != v["keras"]
            or r.tensorflow_version != v["tensorflow"]]
    total = len(rows) + len(todo)
    problems: dict[int, list[Mismatch]] = {}
    overrides: list[Override] = []
    for n, r in enumerate(rows, start=1):
        found, overridden = check_question(r)
        if found:
            problems[r.id] = found
        overrides += overridden
        if progress:
            progress(n, total)
    checker = KerasChecker()
    confirmed = []
    for n, r in enumerate(todo, start=len(rows) + 1):
        found = _keras_mismatches(r, checker.check(r.spec))
        if not found:
            found = [Mismatch(r.id, r.slot, r.student, what, stored, seen, "Keras" if "Keras" in what else
                              "numpy reference") for what, stored, seen in extra_mismatches(r.kind, r.spec, r.answer,
                                                                                            checker)]
        if found:
            problems.setdefault(r.id, []).extend(found)
        elif r.id not in problems:
            confirmed.append(r.id)
        if progress:
            progress(n, total)
    stamp = now()
    status = "ready" if not problems else "unverified"
    with store.write() as session:
        for chunk in _chunks(confirmed, 500):
            session.execute(update(Question).where(Question.id.in_(chunk)).values(
                keras_version=v["keras"], tensorflow_version=v["tensorflow"], verified_at=stamp))
        for chunk in _chunks(sorted(problems), 500):  # checked again by the next plain verify
            session.execute(update(Question).where(Question.id.in_(chunk)).values(verified_at=None))
        session.execute(update(Quiz).where(Quiz.id == info.id).values(status=status))
    flat = [m for r in rows for m in problems.get(r.id, [])]
    return VerifyReport(len(rows), len(todo), len(rows) - len(todo), flat, overrides, v["keras"], v["tensorflow"],
                        status)


def check_question(row: Any) -> tuple[list[Mismatch], list[Override]]:
    """A stored question (id, slot, student, kind, template, spec, answer, expected, slips,
    breakdown) against a fresh solution of its spec: what differs, and the instructor's
    overrides."""
    from ..grading.misconceptions import grading_key
    from ..nn.solver import solve_raw
    from ..questions.generator import asked_of, breakdown_of, right_answer

    def mismatch(what: str, stored: Any, fresh: Any, source: str = "fresh solution") -> Mismatch:
        return Mismatch(row.id, row.slot, row.student, what, stored, fresh, source)

    out: list[Mismatch] = []
    overrides: list[Override] = []
    try:
        solution = solve_raw(row.spec)
        fresh = right_answer(row.kind, row.template, row.spec, solution, asked_of(row.answer))
    except (QuizgenError, LookupError, TypeError, ValueError, AttributeError) as exc:
        return [mismatch("spec", row.spec, f"cannot be solved: {exc}")], []
    try:
        diffs, overridden = answer_differences(row.answer, fresh)
    except (LookupError, TypeError, AttributeError) as exc:
        return [mismatch("answer", row.answer, f"not an answer quizgen can read ({exc})")], []
    out += [mismatch(what, stored, new) for what, stored, new in diffs]
    overrides += [Override(row.id, row.slot, row.student, part, value, analytic)
                  for part, value, analytic in overridden]
    out += [mismatch(f"breakdown {what}", stored, new)
            for what, stored, new in _differences(row.breakdown, breakdown_of(solution))]
    try:
        expected, slips = grading_key(row.kind, row.spec, row.answer, None if row.kind == "inverse" else solution)
    except (QuizgenError, LookupError, TypeError, ValueError, AttributeError) as exc:
        return out + [mismatch("grading key", row.expected, f"cannot be made from the answer ({exc})",
                               "fresh key")], overrides
    if row.expected != expected:
        out.append(mismatch("grading key (expected text)", row.expected, expected, "fresh key"))
    if row.slips != slips:
        stored_slips, fresh_slips = _changed_entries(row.slips or {}, slips)
        out.append(mismatch("grading key (slips)", stored_slips, fresh_slips, "fresh key"))
    return out, overrides


def answer_differences(stored: dict[str, Any],
                       fresh: dict[str, Any]) -> tuple[list[tuple[str, Any, Any]], list[tuple[str | None, Any, Any]]]:
    """(what, stored, fresh) for every way a stored answer differs from the fresh one, and
    (part, value, analytic) for every value the instructor set over the solution's.

    A value set by ``quiz correct`` is compared through the solution's value it recorded;
    part labels and accepted alternatives are not answers and are not compared."""
    diffs: list[tuple[str, Any, Any]] = []
    overrides: list[tuple[str | None, Any, Any]] = []
    diffs += _differences(_fields(stored), _fields(fresh), "answer")
    stored_units, fresh_units = answer_units(stored), answer_units(fresh)
    if [k for k, _ in stored_units] != [k for k, _ in fresh_units]:
        return diffs + [("answer parts", [k for k, _ in stored_units], [k for k, _ in fresh_units])], overrides
    for (key, unit), (_, new) in zip(stored_units, fresh_units):
        where = f"answer part {key}" if key else "answer"
        if key is not None:
            diffs += _differences(_fields(unit), _fields(new), where)
        value = unit["value"]
        if ANALYTIC_FIELD in unit:
            overrides.append((key, value, unit[ANALYTIC_FIELD]))
            value = unit[ANALYTIC_FIELD]
            where += " (the solution's value recorded when it was corrected)"
        if not _same(value, new["value"]):
            diffs.append((where, value, new["value"]))
    return diffs, overrides


def _fields(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k not in _NOT_ANSWERS}


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b  # 1 == True, but a count is not a flag


def _differences(stored: Any, fresh: Any, where: str = "") -> list[tuple[str, Any, Any]]:
    """(path, stored, fresh) for each leaf where two JSON values differ."""
    if isinstance(stored, dict) and isinstance(fresh, dict):
        out = []
        for key in [*stored, *(k for k in fresh if k not in stored)]:
            path = f"{where} {key}".strip() if where else str(key)
            if key not in fresh:
                out.append((path, stored[key], None))
            elif key not in stored:
                out.append((path, None, fresh[key]))
            else:
                out += _differences(stored[key], fresh[key], path)
        return out
    if isinstance(stored, list) and isinstance(fresh, list) and len(stored) == len(fresh) and any(
            isinstance(x, (dict, list)) for x in stored):
        return [d for i, (a, b) in enumerate(zip(stored, fresh), start=1) for d in _differences(a, b, f"{where}[{i}]")]
    return [] if _same(stored, fresh) else [(where, stored, fresh)]


def _changed_entries(stored: dict[str, Any], fresh: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The parts of two slip tables that differ (each part's entries that differ)."""
    a: dict[str, Any] = {}
    b: dict[str, Any] = {}
    for part in [*stored, *(p for p in fresh if p not in stored)]:
        old, new = stored.get(part) or {}, fresh.get(part) or {}
        for value in [*old, *(v for v in new if v not in old)]:
            if old.get(value) != new.get(value):
                a.setdefault(part, {})[value] = old.get(value)
                b.setdefault(part, {})[value] = new.get(value)
    return a, b


def _keras_mismatches(row: Any, verdict: Any) -> list[Mismatch]:
    """The stored breakdown against what Keras built (and the solver against Keras)."""
    if verdict.keras_error or verdict.solver_error:
        return [Mismatch(row.id, row.slot, row.student, "building the spec", verdict.solver_error or "solves it",
                         verdict.keras_error or "builds it", "Keras", "quizgen")]
    if not verdict.agree:
        return [Mismatch(row.id, row.slot, row.student, f"solution layer {d.index} {d.field}", d.analytic, d.keras,
                         "Keras", "quizgen") for d in verdict.diffs]
    layers = (row.breakdown or {}).get("layers", [])
    if len(layers) != len(verdict.observed):
        return [Mismatch(row.id, row.slot, row.student, "breakdown layer count", len(layers), len(verdict.observed),
                         "Keras")]
    out = []
    for i, (layer, seen) in enumerate(zip(layers, verdict.observed), start=1):
        for field, keras_value in (("output_shape", _listed(seen.output_shape)), ("trainable", seen.trainable),
                                   ("non_trainable", seen.non_trainable)):
            if layer.get(field) != keras_value:
                out.append(Mismatch(row.id, row.slot, row.student, f"breakdown layers[{i}] {field}",
                                    layer.get(field), keras_value, "Keras"))
    return out


def _listed(shape: Any) -> Any:
    """A shape as a stored breakdown holds it (JSON: lists all the way down). A layer that
    returns several tensors has a shape per tensor, which Keras gives as tuples."""
    return [_listed(s) for s in shape] if isinstance(shape, (list, tuple)) else shape


def _shown(value: Any) -> str:
    """A value as the report line shows it: counts with separators, shapes as tuples."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, str):
        return clip(value, 200)
    if isinstance(value, list) and all(x is None or (isinstance(x, int) and not isinstance(x, bool)) for x in value):
        from ..nn.shapes import format_shape

        return format_shape(tuple(value))
    return clip(json.dumps(value, ensure_ascii=False, sort_keys=True), 200)


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


__all__ = ["verify_quiz", "VerifyReport", "Mismatch", "Override", "check_question", "answer_differences"]
