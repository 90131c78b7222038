"""Printed handouts: every chosen student's variant as one PDF (and, on request, the answer
key beside it), with a tear-off token slip when tokens are printed.

Tokens are stored hashed, so printing one means issuing a new one: with ``with_tokens``
each chosen student gets a fresh token, and the old one stops working (a student's saved
``quizgen login`` too). The new tokens are saved only after the PDF was written, and the
PDF is written readable by its owner only (0600): if saving them fails, the PDF, whose
tokens would not work, is removed again, and every old token keeps working.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ..errors import NotFoundError, QuizgenError, clip
from ..exports.handout import Handouts, Sheet, SheetQuestion, handout_pdf, key_pdf
from ..questions.records import QuizInfo
from ..servers import handed_out_server
from ..store.db import Store
from ..store.tables import Question, Student, Variant
from .quizzes import quiz_info, quiz_key
from .students import FreshToken, commit_tokens, fresh_token

# Writes (path, bytes) files whole, all or none, with the given mode; returns the paths written.
Save = Callable[[Sequence[tuple[str, bytes]], int], list[str]]


class HandoutError(QuizgenError):
    """Handouts that cannot be made as asked."""


@dataclass(frozen=True)
class HandoutRequest:
    quiz: str
    output: str  # the students' PDF; the key, if asked for, goes beside it as NAME.key.pdf
    students: tuple[str, ...] | None  # None: everyone on the quiz
    server_url: str | None  # None: answers are handed in on paper
    insecure_http: bool
    with_tokens: bool
    answer_key: bool
    duplex: bool = False  # pad each student's pages to an even count, for two-sided printing


@dataclass(frozen=True)
class HandoutResult:
    quiz: QuizInfo
    students: list[str]
    pages: int
    written: list[str]  # the students' PDF, then the key
    key_pages: int | None
    tokens_issued: int  # students whose old token no longer works

    def to_json(self) -> dict[str, Any]:
        return {"quiz": self.quiz.id, "students": self.students, "pages": self.pages, "written": self.written,
                "key_pages": self.key_pages, "tokens_issued": self.tokens_issued}


def key_path(output: str) -> str:
    """Where the answer key of ``output`` goes: ``handouts.pdf`` → ``handouts.key.pdf``."""
    base = Path(output)
    stem = base.name[:-4] if base.name.lower().endswith(".pdf") else base.name
    return str(base.with_name(f"{stem}.key.pdf"))


def _sheets(store: Store, quiz: QuizInfo, wanted: tuple[str, ...] | None) -> list[Sheet]:
    """Each chosen student's questions, in id order: prompts and part labels only, never answers."""
    query = (select(Student.external_id, Student.name, Question.slot, Question.points, Question.prompt,
                    Question.response)
             .join(Variant, Variant.student_id == Student.id).join(Question, Question.variant_id == Variant.id)
             .where(Variant.quiz_id == quiz.id))
    if wanted is not None:
        query = query.where(Student.external_id.in_(wanted))
    with store.read() as session:
        rows = session.execute(query.order_by(Student.external_id, Question.slot)).all()
    by_student: dict[str, tuple[str, list[SheetQuestion]]] = {}
    lang = quiz.language
    for sid, name, slot, points, prompt, response in rows:
        parts = tuple(p["label"][lang] for p in response.get("parts", ())) if response["type"] == "parts" else ()
        by_student.setdefault(sid, (name, []))[1].append(SheetQuestion(slot, points, prompt[lang], parts))
    missing = sorted(set(wanted or ()) - set(by_student))
    if missing:
        raise NotFoundError(f"not on quiz {quiz.id} (add them with 'quizgen quiz add-students {quiz.id}'): "
                            f"{clip(', '.join(missing), 200)}")
    if not by_student:
        raise HandoutError(f"quiz {quiz.id} has no students to print for (add them with 'quizgen quiz "
                           f"add-students {quiz.id} --roster-all')")
    return [Sheet(sid, name, tuple(questions)) for sid, (name, questions) in by_student.items()]


def print_handouts(store: Store, request: HandoutRequest, save: Save) -> HandoutResult:
    """Render the handouts (and key), hand them to ``save``, then save any new tokens."""
    if request.with_tokens and request.server_url is None:
        raise HandoutError("--with-tokens needs --server-url: a token is only of use on the quiz server")
    url = handed_out_server(request.server_url, "--server-url", request.insecure_http).url \
        if request.server_url is not None else None
    quiz = quiz_info(store, request.quiz)
    sheets = _sheets(store, quiz, request.students)
    fresh: list[FreshToken] = []
    if request.with_tokens:
        fresh = [fresh_token(s.student, s.name) for s in sheets]
        sheets = [Sheet(s.student, s.name, s.questions, f.token) for s, f in zip(sheets, fresh)]
    printed = handout_pdf(Handouts(quiz, url, tuple(sheets), request.duplex))
    files = [(request.output, printed.data)]
    key_pages = None
    if request.answer_key:
        chosen = {s.student for s in sheets}
        _, variants = quiz_key(store, quiz.id, all_variants=True)
        rendered = key_pdf(quiz, sorted((v for v in variants if v.student in chosen),
                                        key=lambda v: v.student or ""), request.duplex)
        files.append((key_path(request.output), rendered.data))
        key_pages = rendered.pages
    written = save(files, 0o600 if fresh or request.answer_key else 0o644)
    if fresh:
        try:
            commit_tokens(store, fresh)
        except QuizgenError as exc:
            for path in written:  # its tokens would not work: nobody may hand it out
                try:
                    os.unlink(path)
                except OSError:
                    pass
            raise HandoutError(f"the new tokens could not be saved ({exc}); {', '.join(written)} removed, and every "
                               "old token still works") from None
    return HandoutResult(quiz, [s.student for s in sheets], printed.pages, written, key_pages, len(fresh))

