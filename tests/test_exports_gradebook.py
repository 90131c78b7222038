"""The Canvas gradebook CSV read back as Canvas's importer reads it (tests/lms_canvas.py):
no column is taken for an assignment id, one graded column per quiz worth the quiz's
points, titles unique per quiz, blanks for students with no submission."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from hypothesis import example, given, settings
from hypothesis import strategies as st

from quizgen.exports.gradebook import Gradebook, GradebookRow, gradebook_csv
from quizgen.questions.records import QuizInfo

from .helpers import make_class, right_answers
from .lms_canvas import import_csv, title_and_id


def _class(tmp_path, *generate_args):  # type: ignore[no-untyped-def]
    """Students 1 and 2 answer everything right, student 3 everything wrong, student 4 never submits."""
    klass = make_class(tmp_path, *generate_args)
    for n, sid in enumerate(sorted(klass.tokens)[:3]):
        answers = right_answers(klass.key(sid))
        if n == 2:
            answers = {k: "1" if "(" not in v else "(None, 1)" for k, v in answers.items()}
        args = [a for k, v in answers.items() for a in ("--answer", f"{k}={v}")]
        result = klass.run("submit", "--allow-blank", str(klass.quiz), "--student", sid, "--token", klass.tokens[sid],
                           *args)
        assert result.exit_code == 0, result.output
    assert klass.run("grade", str(klass.quiz)).exit_code == 0
    return klass


def test_one_column_per_quiz_that_canvas_never_reads_as_an_assignment_id(tmp_path):
    klass = _class(tmp_path)
    upload = import_csv(klass.run("gradebook", str(klass.quiz)).stdout)
    (column,) = upload.imported
    assert column.assignment_id is None  # "점검 퀴즈 (1)" would overwrite assignment 1
    assert column.header == f"점검 퀴즈 [quizgen {klass.quiz}]"
    assert column.points == "9"
    assert upload.columns == upload.imported


def test_blank_for_no_submission_zero_for_a_zero_score(tmp_path):
    klass = _class(tmp_path)
    upload = import_csv(klass.run("gradebook", str(klass.quiz)).stdout)
    (column,) = upload.imported
    grades = {sid: g[column.header] for sid, g in upload.grades.items()}
    assert grades == {"20260001": "9", "20260002": "9", "20260003": "0", "20260004": ""}


def test_question_columns_on_request_add_no_points(tmp_path):
    """--questions: per-question columns for the instructor's eyes, marked read only, which
    Canvas's importer drops, so an 9-point quiz stays 9 points in Canvas (not 18)."""
    klass = _class(tmp_path)
    upload = import_csv(klass.run("gradebook", str(klass.quiz), "--questions").stdout)
    assert len(upload.columns) == 7
    (graded,) = upload.imported
    assert sum(float(c.points) for c in upload.imported) == 9
    assert all(c.assignment_id is None for c in upload.columns)
    assert len({c.header for c in upload.columns}) == 7
    assert all(f"[quizgen {klass.quiz}" in c.header for c in upload.columns)  # never a bare "Q1"
    row = upload.grades["20260004"]
    assert all(row[c.header] == "" for c in upload.columns)
    assert upload.grades["20260003"][graded.header] == "0"


def test_titles_are_unique_per_quiz(tmp_path):
    """Two quizzes with the same title get two columns (Canvas matches an existing assignment by title)."""
    klass = _class(tmp_path)
    made = klass.run("generate", "--title", "점검 퀴즈", "--count", "2", "--seed", "12", "--no-verify",
                     "--students", str(tmp_path / "roster.csv"))
    assert made.exit_code == 0, made.output
    second = int(made.stdout.strip())
    first = import_csv(klass.run("gradebook", str(klass.quiz), "--questions").stdout)
    other = import_csv(klass.run("gradebook", str(second), "--questions").stdout)
    assert not {c.header for c in first.columns} & {c.header for c in other.columns}


def test_formula_cells_stay_neutralised(tmp_path):
    klass = _class(tmp_path)
    text = klass.run("gradebook", str(klass.quiz), "--questions").stdout
    upload = import_csv(text)
    assert upload.names["20260004"] == "'=HYPERLINK(\"x\")"
    import csv
    import io

    assert all(not cell.startswith(("=", "+", "-", "@")) for row in csv.reader(io.StringIO(text)) for cell in row)


# ------------------------------------------------------------------ fuzz: awkward titles and student ids

_INFO = QuizInfo(id=7, title="t", seed=1, language="ko", difficulty="easy", kinds=["total-params"], question_count=2,
                 students=1, status="ready", created_at=datetime(2026, 1, 1), deadline=None, attempt_limit=None,
                 feedback="full", counting="last")
_AWKWARD = st.lists(st.sampled_from(list("()0123456789 \n\t/:#{}~=\\ab가나,;\"'=+-@") +
                                     [" (1)", "(12)", "Final Score", "Points Possible"]),
                    min_size=1, max_size=20).map("".join)


@settings(max_examples=150, deadline=None)
@given(title=_AWKWARD, student=_AWKWARD.filter(str.strip), name=_AWKWARD.filter(str.strip), submitted=st.booleans(),
       questions=st.booleans())
# found by Hypothesis in CI: a row that is only ';' and ',' is one Canvas skips unread
@example(title="(", student=";", name=";", submitted=False, questions=False)
@example(title="x", student=", ;", name=";;", submitted=False, questions=True)
def test_awkward_titles_and_ids(title, student, name, submitted, questions):
    # names are never blank (roster.make_entry requires one); Canvas skips a row with a blank name
    info = dataclasses.replace(_INFO, title=title)
    scores = [1.0, 0.5] if submitted else [None, None]
    row = GradebookRow(student, name, None, scores, sum(s or 0 for s in scores),
                       [True, False] if submitted else [None, None])
    book = Gradebook(info, [1, 2], [row], {})
    upload = import_csv(gradebook_csv(book, questions=questions))
    assert all(title_and_id(c.header)[1] is None for c in upload.columns)
    (graded,) = upload.imported
    assert graded.points == "3"
    assert len(upload.columns) == (3 if questions else 1)
    assert len({c.header for c in upload.columns}) == len(upload.columns)
    assert all(c.header.endswith("]") and "[quizgen 7" in c.header for c in upload.columns)
    sis = student if not student.startswith(("=", "+", "-", "@", "\t", "\r")) else "'" + student
    (got,) = upload.grades
    assert got.strip() == sis.strip() or got.replace(",", ".") == sis.replace(",", ".")
    assert upload.grades[got][graded.header] == ("1.5" if submitted else "")
