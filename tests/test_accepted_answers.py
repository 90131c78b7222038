"""Accepted alternatives in the grading key: marked in the slip tables, scored as right,
with the right answer's exact-text fast path untouched."""

from __future__ import annotations

import json

from quizgen.grading.misconceptions import grading_key, value_text
from quizgen.grading.scoring import ACCEPTED, compute_grades, grade_answer
from quizgen.nn.solver import solve_raw

SEED = {"input": {"shape": [30]},
        "layers": [{"type": "Embedding", "input_dim": 5000, "output_dim": 100},
                   {"type": "SimpleRNN", "units": 128}, {"type": "Dense", "units": 1, "activation": "sigmoid"}]}


def test_an_accepted_count_is_right_and_other_values_keep_their_slips():
    answer = {"type": "count", "value": 529_441}
    expected, slips = grading_key("total-params", SEED, answer)
    no_bias = next(int(v) for v, s in slips[""].items() if s == "no_bias")
    assert grade_answer(str(no_bias), expected, json.dumps(slips), 1)[:3] == (0.0, False, "no_bias")
    accepted = {**answer, "accepted": [no_bias, 529_313]}
    expected2, slips2 = grading_key("total-params", SEED, accepted)
    assert expected2 == expected == "529441"  # the usual right answer is still matched by its text
    assert slips2[""][value_text(no_bias)] == ACCEPTED and slips2[""]["529313"] == ACCEPTED
    for value in (no_bias, 529_313, 529_441):
        assert grade_answer(json.dumps(value), expected2, json.dumps(slips2), 1) == (1.0, True, None, "{}")
    assert no_bias == 529_312
    assert grade_answer("529000", expected2, json.dumps(slips2), 1)[:2] == (0.0, False)
    rows = [(1, "529441", 1, expected2, json.dumps(slips2)), (2, str(no_bias), 1, expected2, json.dumps(slips2)),
            (3, "7", 1, expected2, json.dumps(slips2))]
    assert [g[1:4] for g in compute_grades(rows)] == [(1.0, 1.0, True), (1.0, 1.0, True), (0.0, 1.0, False)]


def test_an_accepted_part_and_shape():
    solution = solve_raw(SEED)
    parts = [{"key": "L1.shape", "type": "shape", "value": [None, 30, 100], "label": {}},
             {"key": "total", "type": "count", "value": 529_441, "label": {}, "accepted": [529_313]}]
    answer = {"type": "parts", "parts": parts}
    expected, slips = grading_key("summary", SEED, answer, solution)
    assert slips["total"]["529313"] == ACCEPTED
    given = json.dumps({"L1.shape": [None, 30, 100], "total": 529_313})
    score, correct, slip, details = grade_answer(given, expected, json.dumps(slips), 2)
    assert (score, correct, slip) == (2.0, True, None)
    assert json.loads(details) == {"parts": {"L1.shape": {"correct": True}, "total": {"correct": True}}}
    parts[0]["accepted"] = [[None, 100]]
    expected, slips = grading_key("summary", SEED, answer, solution)
    half = json.dumps({"L1.shape": [None, 100], "total": 1})
    assert grade_answer(half, expected, json.dumps(slips), 2)[:2] == (1.0, False)
