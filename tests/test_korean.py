"""Korean as a textbook prints it (issue #19, item 4): numbers read aloud, the particle that
follows a number by how it is read, native ordinals for a layer's place."""

from __future__ import annotations

import pytest

from quizgen.korean import ordinal, particle, particles, read_number


@pytest.mark.parametrize("n,reading", [
    (1, "일"), (2, "이"), (10, "십"), (100, "백"), (1_032, "천삼십이"), (529_441, "오십이만 구천사백사십일"),
    (10_000, "만"), (0, "영"), (11, "십일"), (5_000, "오천"), (128, "백이십팔"), (10_001, "만 일"),
    (100_000_000, "일억"), (29_312, "이만 구천삼백십이"),
])
def test_numbers_read_in_korean(n, reading):
    assert read_number(n) == reading


@pytest.mark.parametrize("n,ga,neun,reul,ro", [
    (1, "이", "은", "을", "로"),        # 일: ㄹ takes 로
    (2, "가", "는", "를", "로"),        # 이
    (10, "이", "은", "을", "으로"),     # 십
    (100, "이", "은", "을", "으로"),    # 백
    (1_032, "가", "는", "를", "로"),    # 천삼십이: the "1,032이 되며" is wrong
    (529_441, "이", "은", "을", "로"),  # ...사십일
    (10_000, "이", "은", "을", "으로"),  # 만
    (30, "이", "은", "을", "으로"), (5, "가", "는", "를", "로"), (128, "이", "은", "을", "로"),
])
def test_particles_after_numbers_follow_the_reading(n, ga, neun, reul, ro):
    word = f"{n:,}"
    assert [particle(word, p) for p in ("이(가)", "은(는)", "을(를)", "(으)로")] == [ga, neun, reul, ro]


def test_particles_in_text_and_after_words():
    text = "총 1,032이(가) 되며 LSTM을(를) 쓰고 GRU을(를) 쓰며 Dense은(는) (None, 128)이(가) 크기은(는) 30(으)로"
    assert particles(text) == "총 1,032가 되며 LSTM을 쓰고 GRU를 쓰며 Dense는 (None, 128)이 크기는 30으로"
    assert particles("```\nx이(가)\n```") == "```\nx이(가)\n```"  # code is left alone
    assert particles("¿이(가)") == "¿이(가)"  # a word it cannot read keeps both forms


@pytest.mark.parametrize("n,text", [(1, "첫 번째"), (2, "두 번째"), (3, "세 번째"), (4, "네 번째"), (10, "열 번째"),
                                    (11, "열한 번째"), (20, "스무 번째"), (21, "스물한 번째"), (100, "100번째")])
def test_ordinals(n, text):
    assert ordinal(n) == text


@pytest.mark.parametrize("word", ["9" * 20, "9" * 40, "1" + "0" * 5000, "x" + "9" * 5000, "-" + "9" * 30])
def test_numbers_past_every_unit_still_take_a_particle(word):
    """A student id or answer of any length is still read: no unit runs out, no int limit."""
    assert particle(word, "은(는)") in ("은", "는")
