"""Follow-through credit for summary questions (issue #19 item 8): with ``--carry-forward`` a
Total params that is the sum of the student's own layer counts earns its part, even when a
layer count above it is wrong; without it the total is simply wrong."""

from __future__ import annotations

import json

from quizgen.grading.misconceptions import grading_key
from quizgen.grading.scoring import CARRY, grade_answer
from quizgen.nn.solver import solve_raw

from .helpers import make_class

SEED = {"input": {"shape": [30]},
        "layers": [{"type": "Embedding", "input_dim": 5000, "output_dim": 100},
                   {"type": "SimpleRNN", "units": 128}, {"type": "Dense", "units": 1, "activation": "sigmoid"}]}


def _summary(carry: bool) -> dict:
    from quizgen.questions.generator import right_answer

    answer = right_answer("summary", "model", SEED, solve_raw(SEED))
    return {**answer, "carry_forward": True} if carry else answer


def _given(**changes):
    right = {p["key"]: p["value"] for p in _summary(False)["parts"]}
    return {**right, **changes}


def test_a_total_carried_from_a_wrong_layer_earns_its_part_only_with_carry_forward():
    given = _given(**{"L2.params": 29_184, "total": 500_000 + 29_184 + 129})  # the bias forgotten, carried down
    for carry, score in ((True, 6 / 7 * 2), (False, 5 / 7 * 2)):
        expected, slips = grading_key("summary", SEED, _summary(carry))
        assert (CARRY in slips["total"]) == carry
        graded, correct, _, details = grade_answer(json.dumps(given), expected, json.dumps(slips), 2)
        assert abs(graded - score) < 1e-9 and not correct
        total = json.loads(details)["parts"]["total"]
        assert total == ({"correct": True, "carried_forward": True} if carry else
                         {"correct": False, "misconception": "no_bias@2:SimpleRNN"})


def test_carry_forward_needs_the_students_own_sum_and_a_wrong_layer():
    expected, slips = grading_key("summary", SEED, _summary(True))
    wrong_sum = _given(**{"L2.params": 29_184, "total": 529_000})
    assert json.loads(grade_answer(json.dumps(wrong_sum), expected, json.dumps(slips), 2)[3])["parts"]["total"] == \
        {"correct": False}
    missing = _given(**{"L2.params": 29_184, "total": 529_313})
    del missing["L1.params"]  # a layer left blank: nothing to carry from
    assert not json.loads(grade_answer(json.dumps(missing), expected, json.dumps(slips), 2)[3])["parts"]["total"][
        "correct"]


def test_generate_with_carry_forward_grades_so_and_verifies(tmp_path, checker):
    klass = make_class(tmp_path, "--carry-forward")
    quiz, sid, token = str(klass.quiz), "20260001", klass.tokens["20260001"]
    info = json.loads(klass.run("list", "--json").stdout)[0]
    assert info["carry_forward"] is True
    entry = next(e for e in klass.key(sid) if e["kind"] == "summary")
    slot = entry["slot"]
    parts = entry["answer"]["parts"]
    values = {p["key"]: p["value"] for p in parts}
    first_layer = next(k for k in values if k.endswith(".params") and values[k] > 0)
    values[first_layer] += 1
    values["total"] += 1  # the student's own sum
    args = []
    for n, p in enumerate(parts, start=1):
        v = values[p["key"]]
        args += ["--answer", f"{slot}.{n}={v if isinstance(v, int) else tuple(v)}"]
    out = klass.run("submit", quiz, "--allow-blank", "--student", sid, "--token", token, *args)
    assert out.exit_code == 0, out.output
    klass.run("grade", quiz)
    status = json.loads(klass.run("status", quiz, "--student", sid, "--token", token, "--json").stdout)
    question = next(q for q in status["questions"] if q["slot"] == slot)
    assert question["score"] == round(2 * (len(parts) - 1) / len(parts), 2)
    assert json.loads(klass.run("verify", quiz, "--json").stdout)["status"] == "ready"
