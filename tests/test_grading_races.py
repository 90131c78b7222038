"""Grading is serialised per quiz: two `grade --regrade --apply` and a `grade` racing on one
quiz leave every answer with exactly one current grade, made with the current key, on
SQLite and on PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from quizgen.grading.batch import grade_quiz, regrade
from quizgen.store.db import open_store
from quizgen.store.tables import Grade, Question, Submission, Variant

from .helpers import make_class, right_answers

WORKER = str(Path(__file__).with_name("workers.py"))


def _submit_all(klass, attempt_tag: str) -> None:  # type: ignore[no-untyped-def]
    for n, sid in enumerate(sorted(klass.tokens)):
        answers = right_answers(klass.key(sid))
        if (n + len(attempt_tag)) % 2:
            answers["1"] = str(n + 7)  # some wrong answers too
        args = [a for k, v in answers.items() for a in ("--answer", f"{k}={v}")]
        out = klass.run("submit", "--allow-blank", str(klass.quiz), "--student", sid, "--token", klass.tokens[sid],
                        *args)
        assert out.exit_code == 0, out.output


def _change_the_key(store, quiz: int) -> None:  # type: ignore[no-untyped-def]
    """An instructor's correction: question 1's stored answer moves by one (its key is now stale)."""
    with store.write() as session:
        rows = session.execute(select(Question.id, Question.answer).join(Variant, Question.variant_id == Variant.id)
                               .where(Variant.quiz_id == quiz, Question.slot == 1)).all()
        for qid, answer in rows:
            answer = dict(answer)
            answer["value"] = answer["value"] + 1
            session.execute(update(Question).where(Question.id == qid).values(answer=answer))


def _current_counts(store, quiz: int) -> list[int]:  # type: ignore[no-untyped-def]
    with store.read() as session:
        counts = dict(session.execute(
            select(Submission.id, func.count(Grade.id)).outerjoin(
                Grade, (Grade.submission_id == Submission.id) & Grade.current.is_(True))
            .where(Submission.quiz_id == quiz).group_by(Submission.id)).all())
    return list(counts.values())


@pytest.mark.slow
def test_two_regrades_and_a_grade_race_to_one_current_grade_each(db_url, tmp_path):
    klass = make_class(tmp_path, db=db_url)
    _submit_all(klass, "a")
    store = open_store(db_url)
    try:
        grade_quiz(store, klass.quiz)
        for round_ in range(3):
            _change_the_key(store, klass.quiz)
            for extra in range(4):  # new, ungraded answers for `grade` to race on
                _submit_all(klass, "b" * (round_ + extra))
            go = tmp_path / f"go-{round_}"
            procs = [subprocess.Popen([sys.executable, WORKER, command, str(db_url), str(klass.quiz), "2", str(go)],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for command in ("regrade", "regrade", "grade")]
            go.touch()
            for proc in procs:
                out, err = proc.communicate(timeout=300)
                assert proc.returncode == 0 and out.strip() == "OK", err
            counts = _current_counts(store, klass.quiz)
            assert counts and set(counts) <= {0, 1}, f"round {round_}: an answer has two current grades"
            grade_quiz(store, klass.quiz)  # what the race left ungraded (the grade may have finished first)
            assert set(_current_counts(store, klass.quiz)) == {1}
            after = regrade(store, klass.quiz)  # a dry run: every grade was made with the current key
            assert (after.changed_grades, after.refreshed_keys) == (0, 0), f"round {round_}: stale grades"
    finally:
        store.dispose()


def test_the_database_refuses_a_second_current_grade(db_url, tmp_path):
    """The partial unique index holds even against a writer that skips quizgen's lock."""
    from sqlalchemy.exc import IntegrityError

    klass = make_class(tmp_path, db=db_url)
    _submit_all(klass, "a")
    store = open_store(db_url)
    try:
        grade_quiz(store, klass.quiz)
        with pytest.raises(IntegrityError):
            with store.write_engine.begin() as conn:
                conn.execute(Grade.__table__.insert().from_select(
                    ["submission_id", "score", "max_score", "correct", "misconception", "details", "grader_version",
                     "current", "graded_at"],
                    select(Grade.submission_id, Grade.score, Grade.max_score, Grade.correct, Grade.misconception,
                           Grade.details, Grade.grader_version, Grade.current, Grade.graded_at).limit(1)))
    finally:
        store.dispose()


def _rival_after_first_read(monkeypatch, rival) -> None:  # type: ignore[no-untyped-def]
    """Let ``rival`` run once, right after the grader has read its first chunk and before it
    writes it: the moment a concurrent grader would get in."""
    import quizgen.grading.batch as batch

    real = batch._read_chunk
    pending = [rival]

    def read_chunk(*args):  # type: ignore[no-untyped-def]
        chunk = real(*args)
        if chunk[1] and pending:
            pending.pop()()
        return chunk

    monkeypatch.setattr(batch, "_read_chunk", read_chunk)


def test_answers_graded_while_a_grader_held_them_are_not_graded_again(db_url, tmp_path, monkeypatch):
    """The grader decides under the quiz's grading lock what is still ungraded: another
    grader that got in between its read and its write leaves it nothing to write."""
    klass = make_class(tmp_path, db=db_url)
    _submit_all(klass, "a")
    store, other = open_store(db_url), open_store(db_url)
    try:
        _rival_after_first_read(monkeypatch, lambda: grade_quiz(other, klass.quiz))
        report = grade_quiz(store, klass.quiz)
        assert (report.graded, report.remaining) == (0, 0)
        assert set(_current_counts(store, klass.quiz)) == {1}
    finally:
        store.dispose()
        other.dispose()


def test_a_key_corrected_while_a_grader_held_its_chunk_is_the_key_it_grades_with(db_url, tmp_path, monkeypatch):
    """Keys corrected (and stored by regrade) between a grader's read and its write: the
    grader notices under the lock and grades with the corrected keys."""
    klass = make_class(tmp_path, db=db_url)
    _submit_all(klass, "a")  # right answers to question 1, by the key as it was
    store, other = open_store(db_url), open_store(db_url)
    try:
        def correct_the_key() -> None:
            _change_the_key(other, klass.quiz)
            assert regrade(other, klass.quiz, apply=True).refreshed_keys > 0

        _rival_after_first_read(monkeypatch, correct_the_key)
        report = grade_quiz(store, klass.quiz)
        assert report.graded > 0 and report.remaining == 0
        after = regrade(store, klass.quiz)  # a dry run: nothing to change if every grade used the corrected key
        assert (after.changed_grades, after.refreshed_keys) == (0, 0)
        with store.read() as session:  # question 1's old right answers are wrong by the corrected key
            wrong = session.scalar(select(func.count()).select_from(Grade)
                                   .join(Submission, Submission.id == Grade.submission_id)
                                   .join(Question, Question.id == Submission.question_id)
                                   .where(Question.slot == 1, Grade.correct.is_(False)))
        assert wrong == len(klass.tokens)
    finally:
        store.dispose()
        other.dispose()
