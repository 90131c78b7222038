"""Slips per layer and per-part feedback (issue #11, item 1).

A count slip is made in one layer at a time (the others right) as well as in every
layer that can make it, and is named only when no other slip and not the right
answer give the same number. Students are told which parts of a multi-part answer
were right and which slip each wrong part shows, in the quiz's language, with scores
shown rounded to 2 decimals and stored exactly.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from quizgen.cli.main import cli
from quizgen.grading.misconceptions import diagnose_table, grading_key
from quizgen.grading.scoring import grade_answer
from quizgen.grading.slip_messages import parse_slip, score_text, slip_feedback
from quizgen.korean import ordinal

CHECK_QUIZ = {"input": {"shape": [30]}, "layers": [
    {"type": "Embedding", "input_dim": 5000, "output_dim": 100},
    {"type": "SimpleRNN", "units": 128},
    {"type": "Dense", "units": 1, "activation": "sigmoid"}]}
CHECK_ANSWER = {"type": "count", "value": 529441}


def _table(spec, value, kind="total-params"):
    return diagnose_table(kind, "", spec, {"type": "count", "value": value})[None]


def _graded(spec, value, answer_value, kind="total-params"):
    """(score, correct, slip) of ``answer_value`` graded through the stored grading key."""
    expected, slips = grading_key(kind, spec, {"type": "count", "value": value})
    return grade_answer(json.dumps(answer_value), expected, json.dumps(slips), 2)[:3]


def test_the_check_quiz_names_the_simplernn_bias_forgotten_alone():
    table = _table(CHECK_QUIZ, 529441)
    assert table[529313] == "no_bias@2:SimpleRNN"  # 500,000 + 128×228 + 129
    assert table[529312] == "no_bias"  # every bias forgotten: the SimpleRNN's and the Dense's
    assert _graded(CHECK_QUIZ, 529441, 529313) == (0.0, False, "no_bias@2:SimpleRNN")
    assert slip_feedback("no_bias@2:SimpleRNN", "en") == \
        "layer 2 (SimpleRNN): forgot the bias — h×(h+d) instead of h×(h+d+1)."
    assert slip_feedback("no_bias@2:SimpleRNN", "ko") == \
        "두 번째 층(SimpleRNN): 편향을 빠뜨렸습니다 — h×(h+d+1)이 아니라 h×(h+d)로 셌습니다."


def test_the_dense_bias_forgotten_alone_is_named():
    table = _table(CHECK_QUIZ, 529441)
    assert table[529440] == "no_bias@3:Dense"  # 500,000 + 29,312 + 128
    assert _graded(CHECK_QUIZ, 529441, 529440)[2] == "no_bias@3:Dense"
    assert slip_feedback("no_bias@3:Dense", "en") == "layer 3 (Dense): forgot the bias — d×u instead of d×u+u."
    # a layer question names its layer too
    layer = diagnose_table("layer-params", "", CHECK_QUIZ, {"type": "count", "value": 129, "layer": 3})[None]
    assert layer == {128: "no_bias@3:Dense", 159: "adds_seq_len"}


def test_an_lstm_counted_as_one_gate_in_one_layer_of_a_stack():
    spec = {"input": {"shape": [30]}, "layers": [
        {"type": "Embedding", "input_dim": 5000, "output_dim": 100},
        {"type": "LSTM", "units": 128, "return_sequences": True},
        {"type": "LSTM", "units": 64},
        {"type": "Dense", "units": 1, "activation": "sigmoid"}]}
    first, second = 4 * 128 * (128 + 100 + 1), 4 * 64 * (64 + 128 + 1)
    right = 500000 + first + second + 65
    table = _table(spec, right)
    assert table[right - first + first // 4] == "lstm_one_gate@2:LSTM"
    assert table[right - second + second // 4] == "lstm_one_gate@3:LSTM"
    assert table[right - first - second + (first + second) // 4] == "lstm_one_gate"  # both layers
    assert slip_feedback("lstm_one_gate@3:LSTM", "en").startswith("layer 3 (LSTM): counted one gate — ")
    assert slip_feedback("lstm_one_gate@3:LSTM", "ko").startswith("세 번째 층(LSTM): 게이트 하나만 셌습니다")


def test_a_slip_in_one_layer_that_coincides_is_not_named():
    # Two identical Dense(8) layers: the first's bias or the second's gives the same total,
    # so the slip is named for the kind of layer, not for one of them; both forgotten is "no_bias".
    spec = {"input": {"shape": [8]}, "layers": [{"type": "Dense", "units": 8}, {"type": "Dense", "units": 8}]}
    table = _table(spec, 144)
    assert table[136] == "no_bias@Dense" and table[128] == "no_bias"
    assert _graded(spec, 144, 136) == (0.0, False, "no_bias@Dense")
    assert slip_feedback("no_bias@Dense", "en") == "one of the Dense layers: forgot the bias — d×u instead of d×u+u."
    assert slip_feedback("no_bias@Dense", "ko").startswith("Dense 층 가운데 하나: 편향을 빠뜨렸습니다")
    # A vocabulary as large as the sequence is long: an Embedding bias (+V) and adding the
    # length (+30) give the same total, so neither is named.
    spec = {"input": {"shape": [30]}, "layers": [
        {"type": "Embedding", "input_dim": 30, "output_dim": 8}, {"type": "SimpleRNN", "units": 4},
        {"type": "Dense", "units": 1}]}
    right = 30 * 8 + 4 * (4 + 8 + 1) + 5
    table = _table(spec, right)
    assert right + 30 not in table
    assert "embedding_bias@1:Embedding" not in table.values() and "adds_seq_len" not in table.values()
    assert table[right - 4] == "no_bias@2:SimpleRNN" and table[right - 1] == "no_bias@3:Dense"


def test_slip_references_read_back():
    assert parse_slip("no_bias@2:SimpleRNN") == parse_slip("no_bias@2:SimpleRNN")
    ref = parse_slip("no_bias@12:Bidirectional")
    assert (ref.slip, ref.layer, ref.layer_type) == ("no_bias", 12, "Bidirectional")
    assert (parse_slip("no_bias").layer, parse_slip("no_bias").slip) == (None, "no_bias")  # as 0.1 stored them
    # a slip with no wording for the layer's type falls back to the slip's general sentence
    assert slip_feedback("mha_one_head@4:MultiHeadAttention", "en").startswith("layer 4 (MultiHeadAttention): ")
    assert slip_feedback("made_up_slip@2:Dense", "en") == "layer 2 (Dense): made_up_slip"


def test_scores_are_shown_rounded_and_stored_exactly():
    assert score_text(2 * 4 / 9) == "0.89" and score_text(2.0) == "2" and score_text(123456.78) == "123456.78"
    expected = json.dumps({"a": 1, "b": 2, "c": 3})
    score, correct, _, _ = grade_answer(json.dumps({"a": 1, "b": 2, "c": 4}), expected, "{}", 2)
    assert score == 2 * 2 / 3 and not correct  # not 1.3333


# ---------------------------------------------------------------- through the real CLI

ROSTER = "id,name\n20260001,김민준\n"


def _class(tmp_path: Path, lang: str) -> tuple[str, str]:
    db = str(tmp_path / "class.db")
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    out = CliRunner().invoke(cli, ["--db", db, "roster", "import", str(roster), "--json"])
    assert out.exit_code == 0, out.output
    made = CliRunner().invoke(cli, ["--db", db, "generate", "--title", "점검 퀴즈", "--count", "2", "--seed", "5",
                                    "--kind", "summary,total-params", "--lang", lang, "--students", str(roster),
                                    "--no-verify", "--json"])
    assert made.exit_code == 0, made.output
    return db, json.loads(out.stdout)[0]["token"]


def _run(db: str, *args: str):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(cli, ["--db", db, *args])
    assert result.exit_code == 0, result.output
    return result


def _spec(db: str, slot: int) -> dict:
    con = sqlite3.connect(db)
    row = con.execute("SELECT q.spec FROM questions q JOIN variants v ON q.variant_id = v.id "
                      "WHERE v.student_id IS NOT NULL AND q.slot = ?", (slot,)).fetchone()
    con.close()
    return json.loads(row[0])


def _answers(db: str) -> tuple[dict[str, str], dict, dict]:
    """Answers to the summary question: part 1 right, the last layer's Param # slipped (its
    bias forgotten), one Output Shape wrong with no known slip, the rest right but the
    last part unanswered; and a total with one layer's slip. Returns (answers, the summary's
    key entry, the expected per-part results)."""
    from quizgen.nn.shapes import format_shape

    key = json.loads(_run(db, "key", "1", "--student", "20260001", "--json").stdout)["answers"]
    summary = next(a for a in key if a["kind"] == "summary")
    total = next(a for a in key if a["kind"] == "total-params")
    parts = summary["answer"]["parts"]
    tables = diagnose_table("summary", "", _spec(db, summary["slot"]), summary["answer"])
    slipped = max(i for i, p in enumerate(parts) if p["key"].endswith(".params") and tables.get(p["key"]))
    slip_value, slip = next(iter(tables[parts[slipped]["key"]].items()))
    wrong = next(i for i, p in enumerate(parts) if p["type"] == "shape" and i > 0)
    answers, expected = {}, {}
    for i, p in enumerate(parts[:-1]):
        number = f"{summary['slot']}.{i + 1}"
        text = format_shape(p["value"]) if p["type"] == "shape" else str(p["value"])
        if i == slipped:
            text, expected[number] = str(slip_value), ("✗", slip)
        elif i == wrong:
            text, expected[number] = format_shape([7, *p["value"][1:], 7]), ("✗", None)
        else:
            expected[number] = ("✓", None)
        answers[number] = text
    expected[f"{summary['slot']}.{len(parts)}"] = ("–", None)
    total_table = diagnose_table("total-params", "", _spec(db, total["slot"]), total["answer"])[None]
    total_value, total_slip = next(((v, s) for v, s in total_table.items() if parse_slip(s).layer is not None),
                                   next(iter(total_table.items())))  # one layer's slip (any, before grader 2)
    answers[str(total["slot"])] = f"{total_value:,}"
    expected[str(total["slot"])] = ("✗", total_slip)
    return answers, summary, expected


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_status_names_each_part_right_or_wrong_and_its_slip(tmp_path, lang):
    db, token = _class(tmp_path, lang)
    answers, summary, expected = _answers(db)
    args = [a for k, v in answers.items() for a in ("--answer", f"{k}={v}")]
    _run(db, "submit", "--allow-blank", "1", "--student", "20260001", "--token", token, *args)
    _run(db, "grade", "1")
    text = _run(db, "status", "1", "--student", "20260001", "--token", token).stdout
    labels = {f"{summary['slot']}.{n}": p["label"][lang] for n, p in enumerate(summary["answer"]["parts"], start=1)}
    for number, (mark, slip) in expected.items():
        if number in labels:
            line = f"     {number} {mark} {labels[number]}"
            assert (line + (f" — {slip_feedback(slip, lang)}" if slip else "")) in text.splitlines(), (line, text)
        else:  # the single answer: its slip with the layer named
            assert f" — {slip_feedback(slip, lang)}" in text
    layer = parse_slip(expected[next(n for n in expected if "." in n and expected[n][1])][1])
    assert (
        f"{ordinal(layer.layer)} 층({layer.layer_type})" if lang == "ko"
        else f"layer {layer.layer} ({layer.layer_type})"
    ) in text

    status = json.loads(_run(db, "status", "1", "--student", "20260001", "--token", token, "--json").stdout)
    question = next(q for q in status["questions"] if q["slot"] == summary["slot"])
    parts = {p["number"]: p for p in question["parts"].values()}
    for number, (mark, slip) in expected.items():
        if number in parts:
            p = parts[number]
            assert (p["correct"], p["answered"], p["misconception"]) == (mark == "✓", mark != "–", slip)
            assert p["feedback"] == (slip_feedback(slip, lang) if slip else None)
            assert p["label"] == labels[number]
    wrong_numbers = [n for n, (m, _) in expected.items() if m == "✗" and n in parts]
    assert all(n in question["feedback"] for n in wrong_numbers)

    # stored exactly, shown rounded: the summary's partial credit
    n = len(summary["answer"]["parts"])
    right = sum(m == "✓" for num, (m, _) in expected.items() if num in parts)
    exact = summary["points"] * right / n
    con = sqlite3.connect(db)
    stored = con.execute("SELECT g.score FROM grades g JOIN submissions s ON g.submission_id = s.id "
                         "JOIN questions q ON s.question_id = q.id WHERE q.slot = ?", (summary["slot"],)).fetchone()[0]
    con.close()
    assert stored == exact
    assert question["score"] == round(exact, 2) and status["score"] == round(exact, 2)
    assert f"  {summary['slot']}. ✗ {score_text(exact)}/{summary['points']}" in text
    if exact != round(exact, 2):
        assert f"{exact:.4f}" not in text and repr(exact) not in text

    # the report shows the wrong parts as written, each with its slip and layer, never the JSON
    report = _run(db, "report", "1").stdout
    from quizgen.exports.analysis import slip_name

    slipped = next(n for n, (m, s) in expected.items() if s and n in parts)
    line = next(line for line in report.splitlines() if f"'{slipped} = {answers[slipped]}' — " in line)
    assert line.endswith(f" — {slip_name(expected[slipped][1], lang)}")
    ref = parse_slip(expected[slipped][1])
    where = f"{ordinal(ref.layer)} 층({ref.layer_type})" if lang == "ko" else f"layer {ref.layer} ({ref.layer_type})"
    assert line.endswith(f" — {slip_name(ref.slip, lang)} — {where}")  # which slip, and where
    assert '{"' not in report


def test_the_http_response_carries_each_parts_slip_and_text(tmp_path):
    import uuid

    from .server import bearer, start_server

    db, token = _class(tmp_path, "ko")
    answers, summary, expected = _answers(db)
    server = start_server(db, tmp_path)
    try:
        with server.client() as c:
            r = c.post("/api/v1/quizzes/1/submissions", json={"answers": answers},
                       headers={**bearer("20260001", token), "Idempotency-Key": str(uuid.uuid4())})
            mine = c.get("/api/v1/quizzes/1/submissions", headers=bearer("20260001", token)).json()
    finally:
        server.stop()
    assert r.status_code == 201, r.text
    body = r.json()
    question = next(q for q in body["questions"] if q["slot"] == summary["slot"])
    parts = {p["number"]: p for p in question["parts"].values()}
    for number, (mark, slip) in expected.items():
        if number in parts:
            assert parts[number]["correct"] == (mark == "✓") and parts[number]["misconception"] == slip
            assert parts[number]["feedback"] == (slip_feedback(slip, "ko") if slip else None)
    slipped = next(n for n, (m, s) in expected.items() if s and n in parts)
    assert f"{slipped} ({slip_feedback(expected[slipped][1], 'ko').rstrip('.')})" in question["feedback"]
    assert question["feedback"].startswith("맞음: ")
    single = next(q for q in body["questions"] if q["slot"] != summary["slot"])
    assert single["feedback"] == slip_feedback(single["misconception"], "ko") and " 번째 층(" in single["feedback"]
    assert question["score"] == round(question["score"], 2) and body["score"] == round(body["score"], 2)
    # the student's later view (GET) says the same
    assert {q["slot"]: q["parts"] for q in mine["questions"]} == {q["slot"]: q["parts"] for q in body["questions"]}


def test_grading_and_questions_import_without_a_cycle():
    """grading/question_slips.py and grading/misconceptions.py once imported each other (one
    of them inside a function): the slip values both need live below both, in slip_values."""
    from tests.test_layout import PACKAGE, _imports

    areas = ("grading", "questions")
    modules = {".".join(p.relative_to(PACKAGE).with_suffix("").parts): p
               for area in areas for p in (PACKAGE / area).glob("*.py")}
    graph = {name: {t for t, _ in _imports(path) if t in modules and t != name} for name, path in modules.items()}

    def reaches(start, goal, seen):
        return any(n == goal or (n not in seen and not seen.add(n) and reaches(n, goal, seen)) for n in graph[start])

    cycles = sorted(name for name in graph if reaches(name, name, set()))
    assert cycles == []


def test_the_seed_lesson_on_a_fixed_batch_has_named_slips_and_a_matching_hint():
    """Issue #21 item 7: batch_input_shape=(4, 20, 32) keeps the 4; None written for it is a named
    slip, and so is a number written where the batch is None. The hint of a question with a
    fixed batch shows no None example."""
    fixed = {"input": {"batch_shape": [4, 20, 32]}, "layers": [{"type": "SimpleRNN", "units": 8,
                                                                "return_sequences": True}]}
    answer = {"type": "shape", "value": [4, 20, 8]}
    table = diagnose_table("output-shape", "seed-cell", fixed, answer)[None]
    assert table[(None, 20, 8)] == "batch_none_for_fixed"
    expected, slips = grading_key("output-shape", fixed, answer)
    assert grade_answer(json.dumps([None, 20, 8]), expected, json.dumps(slips), 1)[2] == "batch_none_for_fixed"
    open_batch = {"input": {"shape": [20, 32]}, "layers": [{"type": "SimpleRNN", "units": 8}]}
    expected, slips = grading_key("output-shape", open_batch, {"type": "shape", "value": [None, 8]})
    for number in (4, 32, 1):
        assert grade_answer(json.dumps([number, 8]), expected, json.dumps(slips), 1)[2] == "batch_number_for_open"
    assert grade_answer(json.dumps([4, 9]), expected, json.dumps(slips), 1)[2] is None  # not only the batch wrong
    for lang in ("ko", "en"):
        assert slip_feedback("batch_none_for_fixed", lang) and slip_feedback("batch_number_for_open", lang)
    from quizgen.questions.generator import generate_question

    seen = 0
    for seed in range(40):
        q = generate_question(seed, 1, "output-shape", "s", "medium", langs=("ko", "en"))
        if q.template == "seed-cell" and "batch_shape" in q.spec["input"]:
            seen += 1
            for lang in ("ko", "en"):
                hint = q.prompt[lang].rsplit("\n", 1)[1]
                assert "None" not in hint and ("(4, 20, 32)" in hint or "(16, 20, 32)" in hint), hint
    assert seen >= 5
