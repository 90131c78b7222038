"""Answer parsing: what students type, accepted exactly or refused with a reason."""

from __future__ import annotations

import pytest

from quizgen.grading.answers import AnswerError, format_count, parse_count, parse_shape
from quizgen.nn.shapes import format_shape

COUNTS = [
    ("529441", 529441), ("529,441", 529441), ("529 441", 529441), ("529_441", 529441),
    ("５２９４４１", 529441), ("５２９，４４１", 529441), ("529\u00a0441", 529441), ("529\u202f441", 529441),
    ("  529441  ", 529441), ("0", 0), ("42", 42), ("1,000,000", 1000000), ("1 000 000", 1000000),
    ("529,441개", 529441), ("529441 개", 529441), ("12_345_678", 12345678),
]


@pytest.mark.parametrize("text,value", COUNTS)
def test_counts_accepted(text, value):
    assert parse_count(text) == value


REJECTED_COUNTS = [
    ("529.441", "not a whole number"), ("5.3e5", "not a whole number"), ("5e5", "not a whole number"),
    ("NaN", "not a number"), ("nan", "not a number"), ("inf", "not a number"), ("Infinity", "not a number"),
    ("", "empty answer"), ("   ", "empty answer"), ("1" * 33, "longer than 32"),
    ("52,9441", "misplaced separators"), ("529,44", "misplaced separators"), ("1,00", "misplaced separators"),
    ("529,441,", "misplaced separators"), (",529", "not a number"), ("529,441 000", "misplaced separators"),
    ("529,441_000", "misplaced separators"), ("-5", "negative"), ("−5", "negative"), ("+5", "not a number"),
    ("0x1F", "not a number"), ("1e3", "not a whole number"), ("abc", "not a number"), ("529441a", "not a number"),
    ("오십만", "not a number"), ("(529441)", "not a number"), ("529441\n1", "not a number"),
    ("\u202e144925", "not a number"), ("12.0", "not a whole number"), ("1__000", "misplaced"),
]


@pytest.mark.parametrize("text,message", REJECTED_COUNTS)
def test_counts_rejected_with_a_reason(text, message):
    with pytest.raises(AnswerError) as info:
        parse_count(text)
    assert message in str(info.value)
    assert "expected" in str(info.value) or "negative" in str(info.value)


SHAPES = [
    ("(None, 30, 100)", [None, 30, 100]), ("(None,30,100)", [None, 30, 100]), ("[None, 30, 100]", [None, 30, 100]),
    ("None, 30, 100", [None, 30, 100]), ("(8, 3)", [8, 3]), ("(8,)", [8]), ("(8, )", [8]), ("8", [8]),
    ("(none, 3)", [None, 3]), ("（None, 3）", [None, 3]), ("(None, None, 100)", [None, None, 100]),
    (" ( 8 , 2 , 3 ) ", [8, 2, 3]),
]


@pytest.mark.parametrize("text,value", SHAPES)
def test_shapes_accepted(text, value):
    assert parse_shape(text) == value


REJECTED_SHAPES = [
    ("", "empty"), ("()", "not a shape"), ("((8, 3))", "nested"), ("(8, 3]", "unbalanced"), ("(8, 3", "unbalanced"),
    ("(8,,3)", "not a shape"), ("(x, 3)", "not a shape"), ("(-1, 3)", "not a shape"), ("(8.5, 3)", "not a shape"),
    ("(None; 3)", "not a shape"), ("__import__('os')", "nested"), ("(" * 100, "longer than"), ("{8, 3}", "nested"),
    ("(8 3)", "not a shape"),
]


@pytest.mark.parametrize("text,message", REJECTED_SHAPES)
def test_shapes_rejected_with_a_reason(text, message):
    with pytest.raises(AnswerError, match=message):
        parse_shape(text)


@pytest.mark.parametrize("value", [0, 7, 42, 529441, 10**12])
def test_count_round_trip(value):
    assert parse_count(format_count(value)) == value


@pytest.mark.parametrize("value", [[None, 30, 100], [8], [8, 2, 3], [None, None]])
def test_shape_round_trip(value):
    assert parse_shape(format_shape(value)) == value


def test_non_text_input():
    with pytest.raises(AnswerError):
        parse_count(529441)  # type: ignore[arg-type]
    with pytest.raises(AnswerError):
        parse_shape(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["10³", "5²9441", "①②", "٣٠", "Ⅻ", "½", "𝟓𝟐𝟗"])
def test_only_ascii_and_full_width_digits_count(text):
    with pytest.raises(AnswerError, match="is not a digit quizgen reads"):
        parse_count(text)
    with pytest.raises(AnswerError):
        parse_shape(f"(None, {text})")


def test_full_width_digits_still_count():
    assert parse_count("５２９，４４１") == 529441 and parse_shape("（None，３０）") == [None, 30]


def _slots():
    from quizgen.classroom.submissions import Slot

    parts = {"type": "parts", "parts": [{"key": "a", "type": "count", "label": {}},
                                        {"key": "b", "type": "count", "label": {}}]}
    return {1: Slot(11, 1, {"type": "count"}), 3: Slot(13, 3, parts)}


@pytest.mark.parametrize("answers,message", [
    ({"3.1": "5", "3.01": "6"}, "answered twice"),
    ({"1": "5", "01": "6"}, "answered twice"),
    ({"3.1": "5", "3.a": "6"}, "answered twice"),
    ({"0_1": "5"}, "not a question number"),
    ({"1_0": "5"}, "not a question number"),
    ({"³": "5"}, "not a question number"),
    ({"3.³": "5"}, "no part"),
    ({"１": "5"}, "not a question number"),
    ({"3.": "5"}, "not a question number"),
    ({" 1 ": "5", "1": "6"}, "answered twice"),
])
def test_question_numbers_are_plain_integers_and_never_given_twice(answers, message):
    from quizgen.classroom.submissions import parse_submission

    with pytest.raises(AnswerError, match=message):
        parse_submission(_slots(), answers)


def test_question_and_part_numbers_that_are_fine():
    from quizgen.classroom.submissions import parse_submission

    parsed = parse_submission(_slots(), {"01": "5", "3.2": "7", "3.a": "6"})
    assert parsed[1][1] == 5 and parsed[3][1] == {"a": 6, "b": 7}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("3", 3),
        (" #3 ", 3),
        ("３", 3),
        ("＃１２", 12),
        (7, 7),
        ("1_0", None),
        ("١٢", None),
        ("+3", None),
        ("3.0", None),
        ("0", None),
        ("-1", None),
        (str(2**63), None),
        ("9" * 5000, None),
        ("", None),
        (True, None),
    ],
)
def test_quiz_ids_are_plain_integers_too(text, expected):
    """Quiz ids take the digits answers take (ASCII and full-width); Python's int() alone
    would read '1_0' as quiz 10 and Arabic-Indic digits as a number."""
    from quizgen.errors import NotFoundError
    from quizgen.ids import parse_quiz_id

    if expected is None:
        with pytest.raises(NotFoundError):
            parse_quiz_id(text)
    else:
        assert parse_quiz_id(text) == expected
