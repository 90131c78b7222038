"""Batch grading: scores, partial credit, slips, idempotence, interruption, regrading."""

from __future__ import annotations

import json
import random
import sqlite3

from quizgen.grading.batch import GRADER_VERSION, grade_quiz
from quizgen.grading.misconceptions import canonical, diagnose_table
from quizgen.questions.generator import KINDS, generate_question
from quizgen.store.db import open_store

from .helpers import make_class, right_answers

SEED_QUIZ = {"input": {"shape": [30]}, "layers": [
    {"type": "Embedding", "input_dim": 5000, "output_dim": 100},
    {"type": "SimpleRNN", "units": 128},
    {"type": "Dense", "units": 1, "activation": "sigmoid"}]}


def test_the_seed_quiz_slips():
    # A slip only one layer can make is that layer's: stored with the layer named (grader 2;
    # quizgen 0.1 stored "embedding_bias", "no_recurrent"... and named no layer).
    table = diagnose_table("total-params", "checkquiz", SEED_QUIZ, {"type": "count", "value": 529441})[None]
    assert table[529312] == "no_bias"            # 500,000 + 128×228 + 128: every bias forgotten
    assert table[534441] == "embedding_bias@1:Embedding"  # 5000×101
    assert table[513057] == "no_recurrent@2:SimpleRNN"    # 128×101 instead of 128×229
    assert table[529471] == "adds_seq_len"       # + 30
    lstm = {**SEED_QUIZ, "layers": [SEED_QUIZ["layers"][0], {"type": "LSTM", "units": 128}, SEED_QUIZ["layers"][2]]}
    right = 500000 + 4 * 128 * 229 + 129
    assert (
        diagnose_table("total-params", "", lstm, {"type": "count", "value": right})[None][529441]
        == "lstm_one_gate@2:LSTM"
    )
    gru = {**SEED_QUIZ, "layers": [SEED_QUIZ["layers"][0], {"type": "GRU", "units": 128}, SEED_QUIZ["layers"][2]]}
    right = 500000 + 3 * 128 * 230 + 129
    assert (
        diagnose_table("total-params", "", gru, {"type": "count", "value": right})[None][500000 + 3 * 128 * 229 + 129]
        == "gru_reset_after@2:GRU"
    )
    bidi = {
        **SEED_QUIZ,
        "layers": [
            SEED_QUIZ["layers"][0],
            {"type": "Bidirectional", "layer": {"type": "SimpleRNN", "units": 128}},
            SEED_QUIZ["layers"][2],
        ],
    }
    right = 500000 + 2 * 29312 + 257
    assert (diagnose_table("total-params", "", bidi, {"type": "count", "value": right})[None][500000 + 29312 + 257]
            == "bidi_not_doubled@2:Bidirectional")


def test_a_slip_is_never_named_when_it_equals_the_answer_or_another_slip():
    rng = random.Random(5)
    for _ in range(300):
        q = generate_question(rng.randrange(10**9), 1, rng.choice(KINDS), None, rng.choice(["easy", "medium", "hard"]))
        table = diagnose_table(q.kind, q.template, q.spec, q.answer)
        parts = q.answer["parts"] if q.answer["type"] == "parts" else [dict(q.answer, key=None)]
        for part in parts:
            slips = table.get(part["key"], {})
            assert canonical(part["value"]) not in slips
            assert len(set(slips.values())) == len(slips)  # one value per slip, one slip per value


def test_a_coinciding_slip_is_not_named():
    # Dense(1) on 1 feature: the right count is 2; no bias gives 1, adding the length (1) gives 3.
    spec = {"input": {"shape": [1]}, "layers": [{"type": "Dense", "units": 1}]}
    table = diagnose_table("layer-params", "", spec, {"type": "count", "value": 2, "layer": 1})[None]
    assert table == {1: "no_bias@1:Dense", 3: "adds_seq_len"}
    from quizgen.grading.misconceptions import _unique

    # two slips giving the same wrong value are both dropped; one giving the right value too
    assert _unique(10, {"a": 10, "b": 11, "c": 12, "d": 12}) == {11: "b"}


def _submit(klass, sid, answers):
    args = []
    for k, v in answers.items():
        args += ["--answer", f"{k}={v}"]
    result = klass.run("submit", "--allow-blank", str(klass.quiz), "--student", sid, "--token", klass.tokens[sid],
                       *args)
    assert result.exit_code == 0, result.output


def test_grading_is_idempotent_and_scores_parts(tmp_path):
    klass = make_class(tmp_path)
    key = klass.key("20260001")
    answers = right_answers(key)
    summary = next(a for a in key if a["kind"] == "summary")
    n_parts = len(summary["answer"]["parts"])
    answers[f"{summary['slot']}.1"] = "(1, 2, 3)"  # one part wrong
    _submit(klass, "20260001", answers)
    first = json.loads(klass.run("grade", str(klass.quiz), "--json").stdout)
    assert first["graded"] == 6 and first["remaining"] == 0
    second = json.loads(klass.run("grade", str(klass.quiz), "--json").stdout)
    assert second["graded"] == 0
    assert klass.count("grades") == 6
    status = json.loads(klass.run("status", str(klass.quiz), "--student", "20260001", "--token",
                                  klass.tokens["20260001"], "--json").stdout)
    got = {q["slot"]: q["score"] for q in status["questions"]}
    assert got[summary["slot"]] == round(2 * (n_parts - 1) / n_parts, 2)  # shown rounded
    assert status["score"] == round(status["max_score"] - 2 / n_parts, 2)


def test_interrupted_grading_finishes_on_rerun_and_grades_each_once(tmp_path):
    klass = make_class(tmp_path)
    for sid in klass.tokens:
        _submit(klass, sid, right_answers(klass.key(sid)))
    store = open_store(str(klass.db))
    partial = grade_quiz(store, klass.quiz, chunk=5, limit_chunks=2)
    assert partial.graded == 10 and partial.remaining == klass.count("submissions") - 10
    rest = grade_quiz(store, klass.quiz, chunk=5)
    store.dispose()
    assert rest.remaining == 0
    con = sqlite3.connect(klass.db)
    per_submission = con.execute("SELECT submission_id, count(*) FROM grades GROUP BY submission_id").fetchall()
    con.close()
    assert len(per_submission) == klass.count("submissions") and {c for _, c in per_submission} == {1}


def test_misconception_named_in_full_feedback(tmp_path):
    klass = make_class(tmp_path)
    key = klass.key("20260002")
    total = next(a for a in key if a["kind"] == "total-params")
    from quizgen.grading.misconceptions import diagnose_table as table_of

    slips = table_of("total-params", "", _spec_of(klass, "20260002", total["slot"]), total["answer"])[None]
    value, slip = next(iter(slips.items()))
    _submit(klass, "20260002", {str(total["slot"]): str(value)})
    klass.run("grade", str(klass.quiz))
    text = klass.run("status", str(klass.quiz), "--student", "20260002", "--token", klass.tokens["20260002"])
    from quizgen.exports.analysis import slip_name
    from quizgen.grading.slip_messages import slip_feedback

    assert slip_feedback(slip, "ko") in text.stdout  # a slip reference: the layer named, in Korean
    report = klass.run("report", str(klass.quiz))
    assert slip_name(slip, "ko") in report.stdout


def _spec_of(klass, sid, slot):
    con = sqlite3.connect(klass.db)
    row = con.execute("SELECT q.spec FROM questions q JOIN variants v ON q.variant_id = v.id "
                      "JOIN students s ON v.student_id = s.id WHERE s.external_id = ? AND q.slot = ?",
                      (sid, slot)).fetchone()
    con.close()
    return json.loads(row[0])


def test_feedback_policies(tmp_path):
    for policy, expect_score, expect_questions in (
        ("none", False, False),
        ("score", True, False),
        ("full", True, True),
    ):
        (tmp_path / policy).mkdir()
        klass = make_class(tmp_path / policy, "--feedback", policy)
        _submit(klass, "20260001", right_answers(klass.key("20260001")))
        klass.run("grade", str(klass.quiz))
        status = json.loads(klass.run("status", str(klass.quiz), "--student", "20260001", "--token",
                                      klass.tokens["20260001"], "--json").stdout)
        assert (status["score"] is not None) == expect_score
        assert (status["questions"] is not None) == expect_questions


def test_best_attempt_counting(tmp_path):
    klass = make_class(tmp_path, "--counting", "best")
    answers = right_answers(klass.key("20260001"))
    _submit(klass, "20260001", answers)
    _submit(klass, "20260001", {"1": "1"})
    klass.run("grade", str(klass.quiz))
    status = json.loads(klass.run("status", str(klass.quiz), "--student", "20260001", "--token",
                                  klass.tokens["20260001"], "--json").stdout)
    assert status["score"] == status["max_score"]


def test_regrade_dry_run_then_apply_keeps_old_grades(tmp_path):
    klass = make_class(tmp_path)
    for sid in ("20260001", "20260002"):
        _submit(klass, sid, right_answers(klass.key(sid)))
    klass.run("grade", str(klass.quiz))
    # The instructor corrects question 1's key for student 20260001 (say it had been entered wrong).
    con = sqlite3.connect(klass.db)
    qid, answer = con.execute(
        "SELECT q.id, q.answer FROM questions q JOIN variants v ON q.variant_id = v.id "
        "JOIN students s ON v.student_id = s.id WHERE s.external_id = '20260001' AND q.slot = 1"
    ).fetchone()
    answer = json.loads(answer)
    answer["value"] += 1
    con.execute("UPDATE questions SET answer = ? WHERE id = ?", (json.dumps(answer), qid))
    con.commit()
    con.close()
    dry = klass.run("grade", str(klass.quiz), "--regrade", "--json")
    report = json.loads(dry.stdout)
    assert report["applied"] is False and report["changed_grades"] == 1 and report["refreshed_keys"] == 1
    assert "1 question key(s) differ" in klass.run("grade", str(klass.quiz), "--regrade").stderr
    assert [(c["student"], c["new"] - c["old"]) for c in report["changes"]] == [("20260001", -1)]
    assert klass.count("grades") == 12
    applied = json.loads(klass.run("grade", str(klass.quiz), "--regrade", "--apply", "--json").stdout)
    assert applied["applied"] is True
    con = sqlite3.connect(klass.db)
    rows = con.execute(
        "SELECT current, grader_version, score FROM grades g JOIN submissions s ON g.submission_id = s.id "
        "WHERE s.question_id = ? ORDER BY g.id",
        (qid,),
    ).fetchall()
    con.close()
    assert rows == [(0, GRADER_VERSION, 1.0), (1, GRADER_VERSION, 0.0)]
    again = json.loads(klass.run("grade", str(klass.quiz), "--regrade", "--json").stdout)
    assert again["changed_grades"] == 0 and again["refreshed_keys"] == 0
    # the refreshed key is the one later grading uses: a new attempt with the old answer is wrong
    _submit(klass, "20260001", {"1": str(answer["value"] - 1)})
    klass.run("grade", str(klass.quiz))
    con = sqlite3.connect(klass.db)
    latest = con.execute("SELECT g.score FROM grades g JOIN submissions s ON g.submission_id = s.id "
                         "WHERE s.question_id = ? AND s.attempt = 2", (qid,)).fetchone()
    con.close()
    assert latest == (0.0,)


def test_import_submissions_all_or_nothing(tmp_path):
    klass = make_class(tmp_path)
    good = tmp_path / "lms.csv"
    rows = ["student,question,answer"]
    for sid in ("20260001", "20260002"):
        rows += [f'{sid},{k},"{v}"' for k, v in right_answers(klass.key(sid)).items()]
    good.write_text("\n".join(rows) + "\n", encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(rows + ["ghost,1,5", "20260003,1,5.5"]) + "\n", encoding="utf-8")
    longnumber = tmp_path / "long.json"
    longnumber.write_text('[{"student": "20260001", "question": 1, "answer": ' + "9" * 5000 + "}]", encoding="utf-8")
    refused = klass.run("import-submissions", str(klass.quiz), str(longnumber))
    assert refused.exit_code == 1 and "more than 4,300 digits" in refused.stderr and "Traceback" not in refused.output
    refused = klass.run("import-submissions", str(klass.quiz), str(bad))
    assert refused.exit_code == 1 and "nothing imported" in refused.stderr and "ghost" in refused.stderr
    assert "20260003" in refused.stderr and klass.count("submissions") == 0
    ok = klass.run("import-submissions", str(klass.quiz), str(good))
    assert ok.exit_code == 0, ok.output
    assert klass.count("submissions") == 2 * 6  # one row per question (a multi-part answer is one row)
    klass.run("grade", str(klass.quiz))
    book = json.loads(klass.run("gradebook", str(klass.quiz), "--format", "json").stdout)
    totals = {s["id"]: s["total"] for s in book["students"]}
    assert totals["20260001"] == totals["20260002"] == book["max_score"]


def _reference_grade(q, parsed):
    """Grading as defined: values compared as canonical forms, slips from a fresh solve."""
    tables = diagnose_table(q.kind, q.template, q.spec, q.answer)
    if q.answer["type"] != "parts":
        if canonical(parsed) == canonical(q.answer["value"]):
            return float(q.points), True, None, {}
        return 0.0, False, _lookup(tables.get(None, {}), parsed), {}
    given = parsed if isinstance(parsed, dict) else {}
    results, right, first = {}, 0, None
    for part in q.answer["parts"]:
        value = given.get(part["key"])
        if value is None:
            results[part["key"]] = {"correct": False, "answered": False}
            continue
        ok = canonical(value) == canonical(part["value"])
        slip = None if ok else _lookup(tables[part["key"]], value)
        right += ok
        first = first or slip
        results[part["key"]] = {"correct": ok, "misconception": slip} if slip else {"correct": ok}
    n = len(q.answer["parts"])
    return q.points * right / n, right == n, first, {"parts": results}  # stored exactly


def _lookup(table, value):
    try:
        return table.get(canonical(value))
    except TypeError:  # an unhashable value (a dict where a number belongs) is no slip
        return None


def _variants(rng, value, slips):
    """Right values, slip values and other wrong ones, for one answer or part."""
    out = [value, *slips]
    if isinstance(value, list):
        out += [value[1:], [None, *value], [7] * len(value)]
    elif isinstance(value, str):  # a memory figure, "4.82 KB"
        out += ["0.00 B", "1.00 KB", value.replace(".", "0.", 1)]
    else:
        out += [value + rng.choice((1, 2, 30, 128)), 0, value * 2]
    return out


def test_stored_keys_grade_exactly_as_a_fresh_solve_does():
    """The stored grading key (expected text, slip tables) against the definition, on
    random questions of every kind and right, slipped, wrong, partial, reordered and
    oddly spaced answers."""
    from quizgen.grading.batch import grade_answer
    from quizgen.grading.misconceptions import grading_key

    rng = random.Random(11)
    checked = slipped = 0
    for _ in range(400):
        q = generate_question(rng.randrange(10**9), 1, rng.choice(KINDS), None, rng.choice(["easy", "medium", "hard"]))
        expected, slips = grading_key(q.kind, q.spec, q.answer, q.solution)
        assert (expected, slips) == grading_key(q.kind, q.spec, q.answer)  # generator's solution = a fresh solve
        tables = diagnose_table(q.kind, q.template, q.spec, q.answer)
        if q.answer["type"] == "parts":
            choices = {p["key"]: _variants(rng, p["value"], list(tables.get(p["key"], {}))) for p in q.answer["parts"]}
            answers = []
            for _ in range(12):
                keys = [k for k in choices if rng.random() < 0.85]
                rng.shuffle(keys)
                answers.append(
                    {k: (lambda v: list(v) if isinstance(v, tuple) else v)(rng.choice(choices[k])) for k in keys}
                )
            answers += [{p["key"]: p["value"] for p in q.answer["parts"]}, 5, None]
        else:
            answers = [list(v) if isinstance(v, tuple) else v
                       for v in _variants(rng, q.answer["value"], list(tables.get(None, {})))] + [None, {"a": 1}]
        for parsed in answers:
            want = _reference_grade(q, parsed)
            for text in (json.dumps(parsed), json.dumps(parsed, separators=(",", ":"))):
                got = grade_answer(text, expected, json.dumps(slips), q.points)
                assert got[:3] == want[:3] and json.loads(got[3]) == want[3], (q.kind, q.spec, parsed, got, want)
                assert got[3] == json.dumps(want[3])  # stored as SQLAlchemy would store it
            checked += 1
            slipped += want[2] is not None
    assert checked > 3000 and slipped > 300, (checked, slipped)


def test_grade_rows_are_stored_as_the_orm_stores_them(tmp_path):
    """Grades go to the driver directly; their time stamps must still look like every other."""
    import re

    klass = make_class(tmp_path)
    _submit(klass, "20260001", right_answers(klass.key("20260001")))
    klass.run("grade", str(klass.quiz))
    con = sqlite3.connect(klass.db)
    graded = con.execute("SELECT graded_at FROM grades LIMIT 1").fetchone()[0]
    submitted = con.execute("SELECT submitted_at FROM submissions LIMIT 1").fetchone()[0]
    con.close()
    stamp = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}")
    assert stamp.fullmatch(submitted) and stamp.fullmatch(graded), (submitted, graded)
