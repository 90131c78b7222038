"""``quizgen verify`` checks the whole key: each stored answer against a fresh solution of its
spec, each grading key against the key made afresh from the answer, and the breakdown
against Keras. (Issue #11: a stored answer changed to 529,313 passed as "ready".)"""

from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner

from quizgen.cli.main import cli

# The textbook's 점검 퀴즈 itself: Embedding(5000, 100) → SimpleRNN(128) → Dense(1), 30 steps.
SEED_QUIZ = ("--title", "점검 퀴즈", "--count", "1", "--seed", "1", "--kind", "total-params", "--difficulty", "easy",
             "--range", "vocab=5000-5000", "--range", "embed=100-100", "--range", "hidden=128-128",
             "--range", "seq_len=30-30")


def run(db, *args):
    return CliRunner().invoke(cli, ["--db", str(db), *args])


def _seed_quiz(tmp_path):
    db = tmp_path / "q.db"
    made = run(db, "generate", *SEED_QUIZ, "--json")
    assert made.exit_code == 0, made.output
    first = json.loads(run(db, "verify", "1", "--json").stdout)
    assert first["status"] == "ready" and first["disagreements"] == []
    return db


def _edit(db, column, change):
    """Change one stored column of the quiz's only question, as a hand edit of the database would."""
    con = sqlite3.connect(db)
    qid, value = con.execute(f"SELECT id, {column} FROM questions").fetchone()
    decoded = json.loads(value) if column != "expected" else value
    new = change(decoded)
    con.execute(
        f"UPDATE questions SET {column} = ? WHERE id = ?", (new if column == "expected" else json.dumps(new), qid)
    )
    con.commit()
    con.close()


def _with(d, **values):
    return {**d, **values}


def test_the_seed_quiz_is_529441_and_verifies(tmp_path, checker):
    db = _seed_quiz(tmp_path)
    key = json.loads(run(db, "key", "1", "--json").stdout)["answers"][0]
    assert key["answer"]["value"] == 529_441


def test_verify_catches_a_changed_answer(tmp_path, checker):
    """The issue's case: the answer changed to 529,313 while the working still ends in 529,441."""
    db = _seed_quiz(tmp_path)
    _edit(db, "answer", lambda a: _with(a, value=529_313))
    result = run(db, "verify", "1", "--force")
    assert result.exit_code == 1
    assert "answer: stored 529,313, fresh solution 529,441" in result.stderr
    assert "quiz is unverified" in result.stderr
    report = json.loads(run(db, "verify", "1", "--force", "--json").stdout)
    assert report["status"] == "unverified"
    answer = next(p for p in report["problems"] if p["what"] == "answer")
    assert (answer["slot"], answer["student"], answer["stored"], answer["fresh"]) == (1, None, 529_313, 529_441)
    assert json.loads(run(db, "list", "--json").stdout)[0]["status"] == "unverified"


def test_verify_catches_a_changed_answer_whose_key_was_refreshed_too(tmp_path, checker):
    """Changed, then regraded: the grading key follows the wrong answer, so only the fresh
    solution shows it is wrong."""
    db = _seed_quiz(tmp_path)
    _edit(db, "answer", lambda a: _with(a, value=529_313))
    assert run(db, "grade", "1", "--regrade", "--apply").exit_code == 0
    report = json.loads(run(db, "verify", "1", "--force", "--json").stdout)
    assert report["status"] == "unverified"
    assert [(p["what"], p["stored"], p["fresh"]) for p in report["problems"]] == [("answer", 529_313, 529_441)]


@pytest.mark.parametrize("column, change, what", [
    ("expected", lambda e: "529313", "grading key (expected text)"),
    ("slips", lambda s: {"": {**s[""], "529313": "no_bias"}}, "grading key (slips)"),
    ("slips", lambda s: {}, "grading key (slips)"),
])
def test_verify_catches_a_changed_grading_key(tmp_path, checker, column, change, what):
    db = _seed_quiz(tmp_path)
    _edit(db, column, change)
    result = run(db, "verify", "1", "--force", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["status"] == "unverified"
    assert [p["what"] for p in report["problems"]] == [what]


def test_verify_catches_a_changed_spec_with_a_consistent_breakdown(tmp_path, checker):
    """The spec (and the per-layer breakdown with it) changed to another model: Keras agrees
    with the breakdown, but the stored answer is no longer the spec's."""
    from quizgen.nn.solver import solve_raw

    db = _seed_quiz(tmp_path)
    con = sqlite3.connect(db)
    spec = json.loads(con.execute("SELECT spec FROM questions").fetchone()[0])
    con.close()
    spec["layers"][1]["units"] = 64
    solution = solve_raw(spec)

    def consistent(breakdown):
        for layer, row in zip(breakdown["layers"], solution.layers):
            layer.update(output_shape=list(row.output_shape), params=row.params, trainable=row.trainable,
                         non_trainable=row.non_trainable)
        return _with(breakdown, total_params=solution.total_params, trainable_params=solution.trainable_params,
                     non_trainable_params=solution.non_trainable_params)

    _edit(db, "spec", lambda _: spec)
    _edit(db, "breakdown", consistent)
    report = json.loads(run(db, "verify", "1", "--force", "--json").stdout)
    assert report["status"] == "unverified"
    answer = next(p for p in report["problems"] if p["what"] == "answer")
    assert (answer["stored"], answer["fresh"]) == (529_441, solution.total_params)


def test_verify_catches_a_changed_spec(tmp_path, checker):
    db = _seed_quiz(tmp_path)
    _edit(db, "spec", lambda s: _with(s, layers=[s["layers"][0], {**s["layers"][1], "units": 64}, s["layers"][2]]))
    report = json.loads(run(db, "verify", "1", "--json").stdout)
    whats = {p["what"] for p in report["problems"]}
    assert "answer" in whats and any(w.startswith("breakdown") for w in whats)
    assert report["status"] == "unverified"


def test_a_broken_question_loses_its_confirmation_until_fixed(tmp_path, checker):
    db = _seed_quiz(tmp_path)
    _edit(db, "answer", lambda a: _with(a, value=529_313))
    assert run(db, "verify", "1").exit_code == 1  # without --force: the answer is checked anyway
    key = json.loads(run(db, "key", "1", "--json").stdout)["answers"][0]
    assert key["verified_at"] is None
    _edit(db, "answer", lambda a: _with(a, value=529_441))
    fixed = json.loads(run(db, "verify", "1", "--json").stdout)
    assert fixed["status"] == "ready" and fixed["checked"] == 1 and fixed["problems"] == []


def test_a_per_student_problem_names_the_student_and_the_part(tmp_path, checker):
    db = tmp_path / "q.db"
    roster = tmp_path / "r.csv"
    roster.write_text("id,name\ns1,김민준\ns2,이서연\n", encoding="utf-8")
    assert run(db, "generate", "--title", "T", "--count", "2", "--seed", "4", "--kind", "summary,weight-shapes",
               "--students", str(roster), "--no-verify").exit_code == 0
    con = sqlite3.connect(db)
    qid, answer = con.execute("SELECT q.id, q.answer FROM questions q JOIN variants v ON q.variant_id = v.id "
                              "JOIN students s ON s.id = v.student_id WHERE s.external_id = 's2' AND q.slot = 2"
                              ).fetchone()
    answer = json.loads(answer)
    answer["parts"][0]["value"] = answer["parts"][0]["value"][::-1]  # W_x transposed
    con.execute("UPDATE questions SET answer = ? WHERE id = ?", (json.dumps(answer), qid))
    con.commit()
    con.close()
    report = json.loads(run(db, "verify", "1", "--json").stdout)
    assert report["status"] == "unverified" and report["questions"] == 6
    part = next(p for p in report["problems"] if p["what"].startswith("answer"))
    assert part["student"] == "s2" and part["slot"] == 2 and part["what"] == "answer part W_x"
    assert part["fresh"] == part["stored"][::-1]
    line = run(db, "verify", "1").stderr
    assert "question 2 (student s2, id" in line and "answer part W_x: stored (" in line


def test_fresh_solutions_agree_with_every_generated_question():
    """No false alarms: for every kind, difficulty and many seeds, a stored question as
    generated passes every check verify makes without Keras."""
    from types import SimpleNamespace

    from quizgen.classroom.verify import check_question
    from quizgen.grading.misconceptions import grading_key
    from quizgen.questions.generator import KINDS, generate_variant

    checked = 0
    for seed in range(12):
        for difficulty in ("easy", "medium", "hard"):
            for q in generate_variant(seed, len(KINDS) * 2, KINDS, f"s{seed}", difficulty):
                expected, slips = grading_key(q.kind, q.spec, q.answer, q.solution)
                row = json.loads(json.dumps({  # as stored: through JSON
                    "id": 1, "slot": q.slot, "student": "s", "kind": q.kind, "template": q.template, "spec": q.spec,
                    "answer": q.answer, "expected": expected, "slips": slips, "breakdown": q.breakdown}))
                problems, overrides = check_question(SimpleNamespace(**row))
                assert problems == [] and overrides == [], (q.kind, q.template, problems)
                checked += 1
    assert checked == 12 * 3 * len(KINDS) * 2


def test_answer_differences_compares_values_not_labels():
    from quizgen.classroom.verify import answer_differences

    fresh = {"type": "parts", "parts": [{"key": "a", "type": "count", "value": 3, "label": {"en": "A"}},
                                        {"key": "b", "type": "shape", "value": [None, 2], "label": {"en": "B"}}]}
    relabelled = json.loads(json.dumps(fresh))
    relabelled["parts"][0]["label"] = {"en": "another wording"}
    relabelled["parts"][1]["accepted"] = [[None, 3]]
    assert answer_differences(relabelled, fresh) == ([], [])
    corrected = json.loads(json.dumps(fresh))
    corrected["parts"][0].update(value=4, analytic=3)
    assert answer_differences(corrected, fresh) == ([], [("a", 4, 3)])
    corrected["parts"][0]["analytic"] = 5  # the recorded solution is not the spec's
    diffs, _ = answer_differences(corrected, fresh)
    assert [(d[1], d[2]) for d in diffs] == [(5, 3)]
    typed = json.loads(json.dumps(fresh))
    typed["parts"][1]["type"] = "count"
    assert answer_differences(typed, fresh)[0] == [("answer part b type", "count", "shape")]
    assert answer_differences({"type": "count", "value": True}, {"type": "count", "value": 1})[0]
    assert answer_differences({"type": "count", "value": 7, "layer": 2},
                              {"type": "count", "value": 7, "layer": 3})[0] == [("answer layer", 2, 3)]


def test_verify_on_both_backends_reports_and_unconfirms(db_url, tmp_path, checker):
    """The same whole-key check on SQLite and PostgreSQL: a hand-edited answer is reported
    and the quiz is not marked ready; fixing it makes it ready again."""
    from sqlalchemy import create_engine, text

    from quizgen.store.db import resolve_url

    db = db_url if "://" in str(db_url) else tmp_path / "q.db"
    assert run(db, "generate", *SEED_QUIZ).exit_code == 0
    assert json.loads(run(db, "verify", "1", "--json").stdout)["status"] == "ready"

    def set_value(value: int) -> None:
        engine = create_engine(resolve_url(str(db)))
        try:
            with engine.begin() as conn:
                answer = json.dumps({"type": "count", "value": value})
                conn.execute(text("UPDATE questions SET answer = :a"), {"a": answer})
        finally:
            engine.dispose()

    set_value(529_313)
    broken = run(db, "verify", "1", "--json")
    assert broken.exit_code == 1
    report = json.loads(broken.stdout)
    assert report["status"] == "unverified"
    found = [(p["what"], p["stored"], p["fresh"]) for p in report["problems"]]
    assert found[:2] == [("answer", 529_313, 529_441), ("grading key (expected text)", "529441", "529313")]
    # 529,313 is also the SimpleRNN's forgotten bias in the stored key: its slips differ too
    assert [what for what, _, _ in found[2:]] == ["grading key (slips)"]
    assert json.loads(run(db, "list", "--json").stdout)[0]["status"] == "unverified"
    set_value(529_441)
    assert json.loads(run(db, "verify", "1", "--json").stdout)["status"] == "ready"


def test_layers_returning_several_tensors_verify_and_a_disagreement_exits_non_zero(tmp_path, checker):
    """Issue #19: an encoder with return_state returns several tensors, whose shapes Keras gives
    as tuples; they are the stored lists of lists, not a disagreement. A real one exits 1."""
    db = tmp_path / "q.db"
    made = run(db, "generate", "--title", "T", "--count", "4", "--seed", "3", "--kind", "seq2seq,return-state",
               "--difficulty", "hard", "--shared-only", "--no-verify")
    assert made.exit_code == 0, made.output
    con = sqlite3.connect(db)
    multi = [json.loads(b) for (b,) in con.execute("SELECT breakdown FROM questions")]
    con.close()
    assert all(any(isinstance(layer["output_shape"][0], list) for layer in b["layers"]) for b in multi)
    checked = run(db, "verify", "1")
    assert checked.exit_code == 0, checked.output
    report = json.loads(run(db, "verify", "1", "--force", "--json").stdout)
    assert report["status"] == "ready" and report["problems"] == [] and report["checked"] == 4
    _edit_first_multi_shape(db)
    broken = run(db, "verify", "1", "--force")
    assert broken.exit_code == 1 and "output_shape" in broken.stderr
    con = sqlite3.connect(db)
    assert con.execute("SELECT status FROM quizzes").fetchone()[0] == "unverified"
    con.close()


def _edit_first_multi_shape(db):
    con = sqlite3.connect(db)
    qid, value = con.execute("SELECT id, breakdown FROM questions ORDER BY id").fetchone()
    breakdown = json.loads(value)
    layer = next(layer for layer in breakdown["layers"] if isinstance(layer["output_shape"][0], list))
    layer["output_shape"][-1][-1] += 1
    con.execute("UPDATE questions SET breakdown = ? WHERE id = ?", (json.dumps(breakdown), qid))
    con.commit()
    con.close()
