"""A malformed answer is refused in the quiz's language, on every front end a student
uses: ``quizgen submit`` on the quiz's database, the HTTP API's JSON error, and
``quizgen submit --server`` printing what the server said. The wording lives once, in
data/messages.json, with the same keys and placeholders in Korean and English."""

from __future__ import annotations

import json
import re
import string
import uuid

import pytest

from quizgen.grading.answers import AnswerError, parse_answer
from quizgen.resources import load_json

from .helpers import Klass, make_class
from .server import bearer, start_server

SID = "20260001"
HANGUL = re.compile(r"[가-힣]")
ENGLISH = {"is", "not", "has", "have", "expected", "empty", "answer", "number", "shape", "unit", "write", "decimal",
           "decimals", "separators", "brackets", "negative", "got", "unknown", "longer", "such", "whole", "figure",
           "prints", "round", "digit", "reads", "no", "or", "and", "the", "a", "ends", "never"}
KO_NOTHING = " (아무것도 제출되지 않았습니다)"
EN_NOTHING = " (nothing was submitted)"


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_language_has_every_message_with_the_same_placeholders():
    tables = load_json("messages.json")
    assert set(tables) == {"ko", "en"}
    for key, english in tables["en"].items():
        assert key in tables["ko"], key
        assert _fields(tables["ko"][key]) == _fields(english), key
    assert set(tables["ko"]) == set(tables["en"])


MALFORMED = [  # (answer type, what the student typed)
    ("count", "12.5"), ("count", "5.3e5"), ("count", "abc"), ("count", "52,9441"), ("count", "-5"), ("count", ""),
    ("count", "9" * 40), ("count", "10³"), ("shape", "(None, 3"), ("shape", "((None, 3))"), ("shape", "(None, x)"),
    ("shape", ""), ("memory", "4.821 KB"), ("memory", "4 XB"), ("memory", "4936"), ("memory", "4. KB"),
    ("memory", "-1 KB"), ("memory", "4,82 KB"), ("memory", "NaN KB"),
]


@pytest.mark.parametrize("kind,text", MALFORMED)
def test_each_refusal_is_one_korean_line_quoting_what_was_typed(kind, text):
    def said(*lang: str) -> str:
        with pytest.raises(AnswerError) as info:
            parse_answer(kind, text, *lang)
        return str(info.value)

    en, ko = said(), said("ko")
    assert said("en") == en  # English stays the default, for the instructor's tools and old callers
    assert HANGUL.search(ko) and not HANGUL.search(en)
    typed = re.sub(r"'[^']*'", "", ko)  # the student's own text may be anything
    assert not set(re.findall(r"[a-z]+", typed.lower())) & ENGLISH, ko  # not English with a Korean hint inside
    assert "\n" not in ko and len(ko) < 200
    assert all(quoted in ko for quoted in re.findall(r"'[^']*'", en))  # what was typed, as bounded as before


def test_the_korean_wording():
    def ko(kind: str, text: str) -> str:
        with pytest.raises(AnswerError) as info:
            parse_answer(kind, text, "ko")
        return str(info.value)

    assert (
        ko("count", "12.5")
        == "'12.5'는 정수가 아닙니다; 529441이나 529,441처럼 정수로 쓰세요 (소수점이나 지수 표기 없이)"
    )
    assert ko("shape", "(None, 3") == "'(None, 3'의 괄호 짝이 맞지 않습니다; (None, 30, 100)처럼 모양을 쓰세요"
    assert ko("memory", "4 XB") == ("'XB'는 알 수 없는 단위입니다; model.summary()가 출력하는 값처럼 "
                                    "4.82 KB 형식으로 쓰세요 (B, KB, MB 또는 GB)")
    long = ko("count", "x" * 40)
    assert long == "답이 32자보다 깁니다; 529441이나 529,441처럼 정수로 쓰세요"
    # a language quizgen does not have falls back to English, as every other message does
    with pytest.raises(AnswerError, match="is not a whole number"):
        parse_answer("count", "12.5", "fr")


# ---------------------------------------------------------------- quizgen submit (local)

def _class(tmp_path, lang: str) -> tuple[Klass, Klass]:
    """A quiz of count, shape and multi-part questions, and a memory quiz, both in ``lang``."""
    klass = make_class(tmp_path, "--attempts", "3", "--lang", lang)
    made = klass.run("generate", "--title", "M", "--count", "1", "--seed", "3", "--kind", "memory", "--students",
                     str(tmp_path / "roster.csv"), "--no-verify", "--lang", lang, "--json")
    assert made.exit_code == 0, made.output
    return klass, Klass(klass.db, klass.tokens, json.loads(made.stdout)["id"])


def _slot(klass: Klass, kind: str) -> int:
    return next(a["slot"] for a in klass.key(SID) if a["kind"] == kind)


def _submit(klass: Klass, *answers: str):  # type: ignore[no-untyped-def]
    args = [a for answer in answers for a in ("--answer", answer)]
    return klass.run("submit", str(klass.quiz), "--student", SID, "--token", klass.tokens[SID], "--allow-blank",
                     *args)


def _refused_line(result) -> str:  # type: ignore[no-untyped-def]
    """The one line of a refusal, without its prefix, which is in the same language (오류: or Error:)."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and result.stdout == "", result.output
    prefix, _, said = lines[0].partition(": ")
    assert prefix == ("오류" if HANGUL.search(said) else "Error"), result.output
    return said


def test_a_korean_quiz_refuses_malformed_answers_in_korean(tmp_path):
    klass, memory = _class(tmp_path, "ko")
    shape = _slot(klass, "output-shape")
    count = _refused_line(_submit(klass, "1=12.5"))
    assert count == ("문제 1: '12.5'는 정수가 아닙니다; 529441이나 529,441처럼 정수로 쓰세요 "
                     "(소수점이나 지수 표기 없이)" + KO_NOTHING)
    shaped = _refused_line(_submit(klass, f"{shape}=(None, 3"))
    assert (
        shaped == f"문제 {shape}: '(None, 3'의 괄호 짝이 맞지 않습니다; (None, 30, 100)처럼 모양을 쓰세요" + KO_NOTHING
    )
    sized = _refused_line(_submit(memory, "1.1=438340", "1.2=1.671 MB", "1.3=856.13 KB"))
    assert sized == ("문제 1.2: '1.671 MB'는 소수점 아래가 두 자리를 넘습니다; Keras는 두 자리까지 출력합니다 "
                     "(예: 4.82 KB, 같은 방식으로 반올림하세요)" + KO_NOTHING)
    # several problems: each in Korean, one line, said once that nothing was submitted
    both = _refused_line(_submit(klass, "1=abc", f"{shape}=(None, x)", "99=5"))
    assert both == (f"문제 99는 없습니다 (이 퀴즈의 문제는 6개입니다); "
                    f"문제 1: 'abc'은(는) 숫자가 아닙니다; 529441이나 529,441처럼 정수로 쓰세요; "
                    f"문제 {shape}: '(None, x)'는 모양이 아닙니다; (None, 30, 100)처럼 모양을 쓰세요 "
                    f"(숫자나 None을 쉼표로 구분)" + KO_NOTHING)
    empty = tmp_path / "empty.json"
    empty.write_text("{}", encoding="utf-8")
    none = klass.run("submit", str(klass.quiz), "--student", SID, "--token", klass.tokens[SID], "--file", str(empty))
    assert _refused_line(none) == "답이 없습니다 (--answer N=값 또는 --file로 답을 주세요)"
    for line in (count, shaped, sized, both):
        assert "nothing was submitted" not in line and "expected" not in line
    assert klass.count("attempts") == 0 and klass.count("submissions") == 0  # nothing recorded, no attempt used
    assert _submit(klass, "1=529,441").exit_code == 0  # the first attempt is still there to use
    assert klass.count("attempts") == 1


def test_an_english_quiz_keeps_english(tmp_path):
    klass, memory = _class(tmp_path, "en")
    shape = _slot(klass, "output-shape")
    assert _refused_line(_submit(klass, "1=12.5")) == (
        "answer 1: '12.5' is not a whole number; expected a whole number such as 529441 or 529,441 "
        "(no decimal point or exponent)" + EN_NOTHING)
    assert _refused_line(_submit(klass, f"{shape}=(None, 3")) == (
        f"answer {shape}: '(None, 3' has unbalanced brackets; expected a shape such as (None, 30, 100)" + EN_NOTHING)
    assert _refused_line(_submit(memory, "1.2=1.671 MB")) == (
        "answer 1.2: '1.671 MB' has more than two decimals; Keras prints two, e.g. 4.82 KB (round the same way)"
        + EN_NOTHING)
    assert _refused_line(_submit(klass, "99=5")) == "there is no question 99 (this quiz has 6)" + EN_NOTHING
    assert klass.count("attempts") == 0 and klass.count("submissions") == 0


# ---------------------------------------------------------------- the HTTP API and its client

@pytest.fixture
def served_two(tmp_path):
    """A Korean quiz (1) and an English one (2) for the same students, served."""
    klass = make_class(tmp_path, "--attempts", "3")
    made = klass.run("generate", "--title", "Check", "--count", "2", "--seed", "5", "--kind",
                     "total-params,output-shape", "--students", str(tmp_path / "roster.csv"), "--no-verify",
                     "--lang", "en", "--json")
    assert made.exit_code == 0, made.output
    english = Klass(klass.db, klass.tokens, json.loads(made.stdout)["id"])
    server = start_server(str(klass.db), tmp_path)
    yield klass, english, server
    server.stop()


def test_the_api_refuses_in_the_quizs_language_and_the_client_prints_it(served_two, home):
    from click.testing import CliRunner

    from quizgen.cli.main import cli

    korean, english, server = served_two
    token = korean.tokens[SID]
    shape = _slot(korean, "output-shape")
    with server.client() as c:
        def post(quiz: int, answers: dict[str, str]):  # type: ignore[no-untyped-def]
            return c.post(f"/api/v1/quizzes/{quiz}/submissions", json={"answers": answers},
                          headers={**bearer(SID, token), "Idempotency-Key": str(uuid.uuid4())})

        ko = post(korean.quiz, {"1": "12.5", str(shape): "(None, 3"})
        en = post(english.quiz, {"1": "12.5"})
    assert ko.status_code == 422 and en.status_code == 422
    assert ko.json() == {"error": {"code": "invalid_answers", "message": (
        "문제 1: '12.5'는 정수가 아닙니다; 529441이나 529,441처럼 정수로 쓰세요 (소수점이나 지수 표기 없이); "
        f"문제 {shape}: '(None, 3'의 괄호 짝이 맞지 않습니다; (None, 30, 100)처럼 모양을 쓰세요" + KO_NOTHING)}}
    assert en.json() == {"error": {"code": "invalid_answers", "message": (
        "answer 1: '12.5' is not a whole number; expected a whole number such as 529441 or 529,441 "
        "(no decimal point or exponent)" + EN_NOTHING)}}

    def run(*args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(cli, [*args, "--allow-blank"] if args[0] == "submit" else list(args),
                                  env={"QUIZGEN_TOKEN": token})

    assert run("login", "--server", server.url, "--student", SID, "--quiz", str(korean.quiz)).exit_code == 0
    said = _refused_line(run("submit", str(korean.quiz), "--server", server.url, "--answer", "1=abc"))
    assert said == "문제 1: 'abc'은(는) 숫자가 아닙니다; 529441이나 529,441처럼 정수로 쓰세요" + KO_NOTHING
    said = _refused_line(run("submit", str(english.quiz), "--server", server.url, "--answer", "1=abc"))
    assert said == "answer 1: 'abc' is not a number; expected a whole number such as 529441 or 529,441" + EN_NOTHING
    assert korean.count("attempts") == 0 and list(home.outbox.glob("*.json")) == []
