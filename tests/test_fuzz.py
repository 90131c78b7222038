"""Property-based tests (Hypothesis) of everything that reads untrusted input.

Only quizgen's own input errors may come out; each input is handled in under a
second (a guard against runaway work, such as backtracking or quadratic scans:
inputs take well under 1 ms here, but a shared machine's pauses reached 0.4 s,
so a tighter bound failed at random); and for valid values parse(format(x)) == x.
"""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from quizgen.classroom.answersheets import _answers_from_csv, _answers_from_json
from quizgen.classroom.roster import parse_roster
from quizgen.errors import QuizgenError
from quizgen.grading.answers import AnswerError, format_count, parse_count, parse_shape
from quizgen.nn.shapes import format_shape
from quizgen.nn.solver import solve_raw
from quizgen.nn.specfile import read_specs

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CLASSICS = ["NaN", "nan", "inf", "-inf", "Infinity", "9" * 5000, "(" * 100_000, "[" * 100_000 + "]" * 100_000,
            "\u202e529441", "\ufeff529441", "\x00", "\x1b[31m5\x1b[0m", "529\u00a0441", "５２９４４１", "1e309",
            "0x10", "1_000", "١٢٣", "𝟓𝟐𝟗", "5" * 10_000_000]


def _timed(fn, *args):
    started = time.perf_counter()
    try:
        return fn(*args)
    finally:
        # only a runaway (a backtracking regex, a quadratic scan of 10 MB) takes this long, however busy the machine
        assert time.perf_counter() - started < 60, f"{fn.__name__} ran away"


@FAST
@given(st.text())
@example("529,441")
def test_count_parser_only_raises_its_own_error(text):
    try:
        value = _timed(parse_count, text)
    except AnswerError:
        return
    assert isinstance(value, int) and value >= 0


@pytest.mark.parametrize("text", CLASSICS, ids=lambda t: repr(t[:12]))
def test_count_parser_classics(text):
    try:
        _timed(parse_count, text)
    except AnswerError:
        pass


@FAST
@given(st.integers(min_value=0, max_value=10**30))
def test_count_round_trip(value):
    text = format_count(value)
    assume(len(text) <= 32)
    assert parse_count(text) == value
    assert parse_count(str(value)) == value


@FAST
@given(st.text())
def test_shape_parser_only_raises_its_own_error(text):
    try:
        value = _timed(parse_shape, text)
    except AnswerError:
        return
    assert all(d is None or (isinstance(d, int) and d >= 0) for d in value)


@pytest.mark.parametrize("text", CLASSICS, ids=lambda t: repr(t[:12]))
def test_shape_parser_classics(text):
    try:
        _timed(parse_shape, text)
    except AnswerError:
        pass


@FAST
@given(st.lists(st.one_of(st.none(), st.integers(0, 10**6)), min_size=1, max_size=6))
def test_shape_round_trip(dims):
    assert parse_shape(format_shape(dims)) == dims


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**12), st.floats(allow_nan=True),
              st.text(max_size=20), st.sampled_from(["Dense", "SimpleRNN", "LSTM", "GRU", "Embedding", "Conv1D",
                                                     "Bidirectional", "TimeDistributed", "relu", "same", "valid"])),
    lambda children: st.one_of(st.lists(children, max_size=5), st.dictionaries(
        st.sampled_from(["type", "units", "input_dim", "output_dim", "layer", "layers", "input", "shape",
                         "batch_shape", "activation", "return_sequences", "filters", "kernel_size", "rate",
                         "merge_mode", "axis", "use_bias", "padding", "strides", "x"]), children, max_size=6)),
    max_leaves=30)


@FAST
@given(json_values)
def test_spec_parser_and_solver_only_raise_spec_errors(obj):
    try:
        _timed(solve_raw, obj)
    except QuizgenError:
        pass


@FAST
@given(st.integers(1, 4), st.lists(st.sampled_from([1, 2, 8, 64, 10**6, 2**31 - 1, 2**40, 10**5000]), min_size=1,
                                    max_size=3))
def test_huge_sizes_are_refused_or_solved_quickly(kind, sizes):
    layer = [
        {"type": "Dense", "units": sizes[0]},
        {"type": "Embedding", "input_dim": sizes[0], "output_dim": sizes[-1]},
        {"type": "SimpleRNN", "units": sizes[-1]},
        {"type": "Conv1D", "filters": sizes[0], "kernel_size": 3},
    ][kind - 1]
    spec = {"input": {"shape": [sizes[-1] if kind != 3 else 5, sizes[0]] if kind != 2 else [10]}, "layers": [layer]}
    try:
        solution = _timed(solve_raw, spec)
    except QuizgenError:
        return
    from quizgen.nn.summary import format_summary, format_working

    format_summary(solution)
    format_working(solution, "en")


@pytest.mark.parametrize("text", [
    "[" * 100_000 + "]" * 100_000, '{"input": ' * 50_000, '{"a": 1, "a": 2}', "\ufeff{}", '{"layers": NaN}',
    '{"input": {"shape": [' + "9" * 5000 + ']}}', '{\n"input": ' + "9" * 5000 + '\n}',  # Python's 4,300-digit limit
    json.dumps({"input": {"shape": [30]}, "layers": [{"type": "Dense", "units": 1}]}) + "\n" + "{" * 10_000,
])
def test_spec_file_classics(tmp_path, text):
    path = tmp_path / "spec.jsonl"
    path.write_text(text, encoding="utf-8")
    for name in ("spec.jsonl", "spec.json"):
        (tmp_path / name).write_text(text, encoding="utf-8")
        try:
            for item in _timed(read_specs, str(tmp_path / name)):
                if item.error is None:
                    try:
                        solve_raw(item.raw)
                    except QuizgenError:
                        pass
        except QuizgenError:
            pass


@FAST
@given(st.text(max_size=400))
@example("id,name\n1,A\n1,B\n")
@example("\ufeffid,name,email\n1,김민준,a@b.c\n2,\"ragged\",x,y,z\n")
@example('id,name\n1,"' + "x" * 200_000 + '"\n')
def test_roster_parser_only_raises_its_own_error(text):
    try:
        _timed(parse_roster, text, "roster.csv")
    except QuizgenError:
        pass


@FAST
@given(st.text(max_size=400))
@example('{"1": "5", "1": "6"}')
@example('{"answers": [{"question": 1}]}')
@example("[" * 100_000)
@example('{"1": ' + "9" * 5000 + "}")
def test_answers_json_only_raises_its_own_error(text):
    try:
        _timed(_answers_from_json, text, "answers.json")
    except QuizgenError:
        pass


@FAST
@given(st.text(max_size=400))
@example("question,answer\n1,5,6\n")
@example("question,answer\n1,\"" + "9" * 200_000 + "\"\n")
def test_answers_csv_only_raises_its_own_error(text):
    try:
        _timed(_answers_from_csv, text, "answers.csv")
    except QuizgenError:
        pass
