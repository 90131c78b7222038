"""Roster, tokens, submitting and status, end to end through the CLI on a real SQLite file."""

from __future__ import annotations

import json
import sqlite3

import pytest

from .helpers import make_class, right_answers


@pytest.fixture()
def klass(tmp_path):
    return make_class(tmp_path, "--attempts", "3", "--deadline", "2099-01-01 00:00")


def _answer_args(answers: dict[str, str]) -> list[str]:
    args = []
    for k, v in answers.items():
        args += ["--answer", f"{k}={v}"]
    return args


def test_roster_tokens_are_shown_once_and_stored_hashed(klass):
    listed = klass.run("roster", "list", "--json")
    assert all(set(s) == {"id", "name", "email", "has_token"} and s["has_token"] for s in json.loads(listed.stdout))
    data = klass.db.read_bytes()
    for token in klass.tokens.values():
        assert token.encode() not in data and token not in listed.output
    assert "김민준" in listed.stdout


def test_submit_attempts_and_status(klass):
    sid = "20260001"
    answers = right_answers(klass.key(sid))
    first = klass.run("submit", str(klass.quiz), "--student", sid, "--token", klass.tokens[sid],
                      *_answer_args(answers), "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["attempt"] == 1
    second = klass.run("submit", str(klass.quiz), "--student", sid, *_answer_args({"1": "1"}), "--allow-blank",
                       env={"QUIZGEN_TOKEN": klass.tokens[sid]})
    assert second.exit_code == 0 and "두 번째 시도를 기록했습니다" in second.stdout  # a Korean quiz says it in Korean
    status = json.loads(klass.run("status", str(klass.quiz), "--student", sid, "--token", klass.tokens[sid],
                                  "--json").stdout)
    assert [a["attempt"] for a in status["attempts"]] == [1, 2] and status["graded"] is False
    assert klass.run("grade", str(klass.quiz)).exit_code == 0
    status = json.loads(klass.run("status", str(klass.quiz), "--student", sid, "--token", klass.tokens[sid],
                                  "--json").stdout)
    # counting "last": question 1 counts attempt 2's wrong answer, the rest attempt 1's right ones
    assert status["score"] == status["max_score"] - 1
    assert [q["correct"] for q in status["questions"]] == [False, True, True, True, True, True]


def test_submit_from_json_and_csv_files(klass, tmp_path):
    sid = "20260002"
    answers = right_answers(klass.key(sid))
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(answers, ensure_ascii=False), encoding="utf-8")
    ok = klass.run("submit", str(klass.quiz), "--student", sid, "--token", klass.tokens[sid], "--file", str(path))
    assert ok.exit_code == 0, ok.output
    csv_path = tmp_path / "answers.csv"
    csv_path.write_text("question,answer\n" + "".join(f'{k},"{v}"\n' for k, v in answers.items()), encoding="utf-8")
    ok = klass.run("submit", str(klass.quiz), "--student", sid, "--token", klass.tokens[sid], "--file", str(csv_path))
    assert ok.exit_code == 0, ok.output
    klass.run("grade", str(klass.quiz))
    status = json.loads(klass.run("status", str(klass.quiz), "--student", sid, "--token", klass.tokens[sid],
                                  "--json").stdout)
    assert status["score"] == status["max_score"]


def test_reset_token_revokes_the_old_one(klass):
    sid = "20260003"
    old = klass.tokens[sid]
    new = json.loads(klass.run("roster", "reset-token", sid, "--json").stdout)[0]["token"]
    assert new != old
    refused = klass.run("submit", str(klass.quiz), "--student", sid, "--token", old, "--answer", "1=1")
    assert refused.exit_code == 1 and "wrong token" in refused.stderr
    assert klass.run("submit", str(klass.quiz), "--student", sid, "--token", new, "--answer", "1=1",
                     "--allow-blank").exit_code == 0


def test_one_students_token_cannot_act_for_another(klass):
    result = klass.run("submit", str(klass.quiz), "--student", "20260002", "--token", klass.tokens["20260001"],
                       "--answer", "1=1")
    assert result.exit_code == 1 and "wrong token" in result.stderr
    result = klass.run("status", str(klass.quiz), "--student", "20260002", "--token", klass.tokens["20260001"])
    assert result.exit_code == 1 and "wrong token" in result.stderr


def _slot_of(klass, kind: str) -> int:
    return next(a["slot"] for a in klass.key("20260001") if a["kind"] == kind)


MALFORMED = [
    # (extra args, message on an English quiz, on a Korean one: None where it is the same)
    # {t} is student 20260001's token, {S} the summary slot, {O} the output-shape slot. What the
    # answers say is in the quiz's language; the command line's and the files' own syntax, the
    # token and the file system speak English, as click does.
    (["--student", "20260001", "--token", "wrong", "--answer", "1=1"], "wrong token", None),
    (["--student", "nobody", "--token", "{t}", "--answer", "1=1"], "unknown student id or wrong token", None),
    (["--student", "20260001", "--answer", "1=1"], "a token is required", None),
    (["--student", "20260001", "--token", "", "--answer", "1=1"], "a token is required", None),
    (["--student", "20260001", "--token", "{t}", "--answer", "1"], "should look like N=VALUE", None),
    (["--student", "20260001", "--token", "{t}", "--answer", "=5"], "should look like N=VALUE", None),
    (["--student", "20260001", "--token", "{t}", "--answer", "9=5"], "there is no question 9",
     "문제 9는 없습니다 (이 퀴즈의 문제는 6개입니다)"),
    (["--student", "20260001", "--token", "{t}", "--answer", "x=5"], "is not a question number",
     "'x'는 문제 번호가 아닙니다"),
    (["--student", "20260001", "--token", "{t}", "--answer", "1=529.441"], "not a whole number",
     "'529.441'은 정수가 아닙니다"),
    (["--student", "20260001", "--token", "{t}", "--answer", "1=5.3e5"], "not a whole number",
     "'5.3e5'는 정수가 아닙니다"),
    (["--student", "20260001", "--token", "{t}", "--answer", "1=NaN"], "not a number",
     "'NaN'은(는) 숫자가 아닙니다"),
    (["--student", "20260001", "--token", "{t}", "--answer", "1="], "empty answer",
     "답이 비어 있습니다"),
    (["--student", "20260001", "--token", "{t}", "--answer", "1=" + "9" * 40], "longer than 32",
     "답이 32자보다 깁니다"),
    (["--student", "20260001", "--token", "{t}", "--answer", "1=52,9441"], "misplaced separators",
     "자릿수 구분 기호 위치가 맞지 않습니다"),
    (["--student", "20260001", "--token", "{t}", "--answer", "1=-5"], "negative",
     "'-5'는 음수입니다"),
    (["--student", "20260001", "--token", "{t}", "--answer", "1=1", "--answer", "1=2"], "answered twice", None),
    (["--student", "20260001", "--token", "{t}", "--answer", "1.2=5"], "takes one answer",
     "문제 1의 답은 하나입니다"),
    (["--student", "20260001", "--token", "{t}", "--answer", "{S}=5"], "parts",
     "부분으로 되어 있습니다"),
    (["--student", "20260001", "--token", "{t}", "--answer", "{S}.99=5"], "has no part '99'",
     "'99' 부분이 없습니다"),
    (["--student", "20260001", "--token", "{t}", "--answer", "{O}=((None, 3))"], "nested brackets",
     "괄호가 겹쳐 있습니다"),
    (["--student", "20260001", "--token", "{t}", "--answer", "{O}=(None, x)"], "is not a shape",
     "는 모양이 아닙니다"),
    (["--student", "20260001", "--token", "{t}", "--answer", "1=1", "--answer", "{O}=(8, 3]"], "unbalanced",
     "괄호 짝이 맞지 않습니다"),
    (["--student", "20260001", "--token", "{t}", "--file", "{missing}"], "no such file", None),
    (["--student", "20260001", "--token", "{t}", "--file", "{dir}"], "is a directory", None),
    (["--student", "20260001", "--token", "{t}", "--file", "{badjson}"], "malformed JSON", None),
    (["--student", "20260001", "--token", "{t}", "--file", "{dupjson}"], "duplicate key", None),
    (["--student", "20260001", "--token", "{t}", "--file", "{listjson}"], "needs objects with", None),
    (["--student", "20260001", "--token", "{t}", "--file", "{objjson}"], "must be text or a whole number", None),
    (["--student", "20260001", "--token", "{t}", "--file", "{badcsv}"], "header must be question,answer", None),
    (["--student", "20260001", "--token", "{t}", "--file", "{raggedcsv}"], "expected 2 cells", None),
    (["--student", "20260001", "--token", "{t}", "--file", "{latin1}"], "not UTF-8", None),
    (["--student", "20260001", "--token", "{t}", "--file", "{huge}"], "larger than", None),
    (["--student", "20260001", "--token", "{t}", "--file", "{emptyjson}"], "no answers given",
     "답이 없습니다"),
    (["--student", "20260001", "--token", "{t}", "--file", "{longnumber}"], "more than 4,300 digits", None),
]


@pytest.mark.parametrize("lang", ["ko", "en"])
@pytest.mark.parametrize("args,message,korean", MALFORMED, ids=[m for _, m, _ in MALFORMED])
def test_malformed_submissions_write_nothing(tmp_path, lang, args, message, korean):
    klass = make_class(tmp_path, "--attempts", "3", "--deadline", "2099-01-01 00:00", "--lang", lang)
    if lang == "ko" and korean is not None:
        message = korean  # what the answers say is in the quiz's language
    files = {
        "missing": tmp_path / "none.json", "dir": tmp_path,
        "badjson": ("answers.json", '{"1": "5",'), "dupjson": ("dup.json", '{"1": "5", "1": "6"}'),
        "listjson": ("list.json", "[1, 2, 3]"), "objjson": ("obj.json", '{"1": {"x": 1}}'),
        "badcsv": ("bad.csv", "q,a\n1,5\n"), "raggedcsv": ("ragged.csv", "question,answer\n1,5,6\n"),
        "latin1": ("latin.json", b'{"1": "\xff"}'), "huge": ("huge.json", '{"1": "' + "5" * 1_100_000 + '"}'),
        "emptyjson": ("empty.json", "{}"), "longnumber": ("long.json", '{"1": ' + "9" * 5000 + "}"),
    }
    paths = {}
    for name, spec in files.items():
        if isinstance(spec, tuple):
            path = tmp_path / spec[0]
            if isinstance(spec[1], bytes):
                path.write_bytes(spec[1])
            else:
                path.write_text(spec[1], encoding="utf-8")
            paths[name] = str(path)
        else:
            paths[name] = str(spec)
    values = {"t": klass.tokens["20260001"], "S": _slot_of(klass, "summary"), "O": _slot_of(klass, "output-shape"),
              **paths}
    args = [a.format(**values) for a in args]
    before = klass.count("submissions")
    result = klass.run("submit", str(klass.quiz), *args)
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    # the prefix is in the message's language: the quiz's once it is known, else the locale's (English here)
    prefix = "오류: " if lang == "ko" and korean is not None else "Error: "
    assert len(lines) == 1 and lines[0].startswith(prefix) and message in lines[0], result.stderr
    assert "Traceback" not in result.output
    assert klass.count("submissions") == before


@pytest.mark.parametrize("quiz,message", [("99", "no quiz 99"), ("abc", "not a quiz id"), ("0", "not a quiz id"),
                                          ("9" * 30, "no quiz 999")])
def test_unknown_quiz(klass, quiz, message):
    result = klass.run("submit", quiz, "--student", "20260001", "--token", klass.tokens["20260001"], "--answer", "1=1")
    assert result.exit_code == 1 and message in result.stderr and klass.count("submissions") == 0


def test_usage_errors(klass):
    result = klass.run("submit", str(klass.quiz), "--student", "20260001", "--token", "x")
    assert result.exit_code == 2 and result.stderr.strip().splitlines()[-1].startswith("Error:")
    assert klass.count("submissions") == 0


def test_attempt_limit_and_a_student_not_on_the_quiz(klass):
    sid, token = "20260001", klass.tokens["20260001"]
    for _ in range(3):
        assert klass.run("submit", str(klass.quiz), "--student", sid, "--token", token, "--answer", "1=1",
                         "--allow-blank").exit_code == 0
    spent = klass.run("submit", str(klass.quiz), "--student", sid, "--token", token, "--answer", "1=1")
    assert spent.exit_code == 1 and "제출 기회 3번을 모두 사용했습니다" in spent.stderr
    assert klass.count("submissions") == 3
    late = json.loads(klass.run("roster", "add", "--id", "late01", "--name", "늦은 학생", "--json").stdout)[0]
    refused = klass.run("submit", str(klass.quiz), "--student", "late01", "--token", late["token"], "--answer", "1=1")
    assert refused.exit_code == 1 and "응시자가 아닙니다" in refused.stderr and "quiz add-students" in refused.stderr
    assert klass.count("submissions") == 3


def test_a_closed_quiz_refuses(tmp_path):
    klass = make_class(tmp_path, "--deadline", "2020-01-01 00:00", "--allow-past")
    result = klass.run("submit", str(klass.quiz), "--student", "20260001", "--token", klass.tokens["20260001"],
                       "--answer", "1=1")
    assert result.exit_code == 1 and "2020-01-01" in result.stderr and "마감되었습니다" in result.stderr
    assert klass.count("submissions") == 0


def test_submissions_are_append_only_with_raw_text(klass):
    sid, token = "20260001", klass.tokens["20260001"]
    klass.run("submit", str(klass.quiz), "--student", sid, "--token", token, "--answer", "1=529,441", "--allow-blank")
    klass.run("submit", str(klass.quiz), "--student", sid, "--token", token, "--answer", "1=５２９４４２",
              "--allow-blank")
    con = sqlite3.connect(klass.db)
    rows = con.execute("SELECT attempt, raw, parsed FROM submissions ORDER BY id").fetchall()
    con.close()
    assert [(a, r, json.loads(str(p))) for a, r, p in rows] == [(1, "529,441", 529441), (2, "５２９４４２", 529442)]


def test_roster_import_refuses_a_duplicate_and_adds_nothing(klass, tmp_path):
    path = tmp_path / "more.csv"
    path.write_text("id,name\nnew01,새 학생\n20260001,김민준\n", encoding="utf-8")
    before = klass.count("students")
    result = klass.run("roster", "import", str(path))
    assert result.exit_code == 1 and "already on the roster" in result.stderr
    assert klass.count("students") == before


@pytest.mark.parametrize("lang,recorded,later,hidden,score", [
    ("ko", "첫 번째 시도를 기록했습니다", "채점되면", "점수를 공개하지 않습니다", "점수: "),
    ("en", "Recorded attempt 1 on quiz", "once it is graded", "does not show scores", "Score: "),
])
def test_what_a_student_is_told_is_in_the_quizs_language_and_agrees_with_its_policy(tmp_path, lang, recorded, later,
                                                                                     hidden, score):
    for policy in ("full", "none"):
        folder = tmp_path / policy
        folder.mkdir()
        klass = make_class(folder, "--lang", lang, "--feedback", policy)
        sid, token = "20260001", klass.tokens["20260001"]
        out = klass.run("submit", str(klass.quiz), "--student", sid, "--token", token, "--answer", "1=5",
                        "--allow-blank")
        assert out.exit_code == 0 and recorded in out.stdout
        assert (later if policy == "full" else hidden) in out.stderr
        assert (hidden if policy == "full" else later) not in out.stderr
        klass.run("grade", str(klass.quiz))
        shown = klass.run("status", str(klass.quiz), "--student", sid, "--token", token).stdout
        assert (score in shown) == (policy == "full") and (hidden in shown) == (policy == "none")
        other = {"ko": ("Recorded", "Score:", "attempt(s)"), "en": ("시도", "점수", "채점")}[lang]
        assert not any(word in out.output + shown for word in other), (out.output, shown)


@pytest.mark.parametrize("args", [["submit", "{q}", "--student", "20260001", "--token", "t", "--answer", "1"],
                                  ["submit", "{q}", "--student", "20260001", "--token", "t", "--answer", "1=2",
                                   "--answer", "1=3"],
                                  ["generate", "--title", "T", "--seed", "1", "--count", "0"],
                                  ["generate", "--title", "T", "--seed", "1", "--kind", "essay"],
                                  ["generate", "--title", "T", "--seed", "1", "--range", "nonsense"],
                                  ["generate", "--title", "T", "--seed", "1", "--deadline", "tomorrow"],
                                  ["generate", "--title", "T", "--seed", "1", "--attempts", "0"]])
def test_malformed_options_are_usage_errors(klass, args):
    result = klass.run(*[a.format(q=klass.quiz) for a in args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "--help" in lines[0]


@pytest.mark.parametrize("counting", ["last", "best"])
def test_the_counting_rule_is_said_where_students_read_and_is_the_rule_grades_follow(tmp_path, counting):
    """Issue #19 item 6: the rule is per question (an attempt that answers question 1 only keeps
    question 2's earlier answer), and the student is told so: in show, the receipt and the page;
    the instructor in generate's and quiz set's help."""
    from quizgen.classroom.results import gradebook
    from quizgen.classroom.submissions import quiz_for_student
    from quizgen.resources import message
    from quizgen.service.page_views import questions_page
    from quizgen.store.db import open_store

    klass = make_class(tmp_path, "--counting", counting, "--count", "2", "--kind", "total-params")
    quiz, sid, token = str(klass.quiz), "20260001", klass.tokens["20260001"]
    rule = message("ko", f"counting_{counting}")
    assert rule in klass.run("show", quiz, "--student", sid).stdout
    key = {a["slot"]: a["answer"]["value"] for a in klass.key(sid)}
    first = klass.run("submit", quiz, "--student", sid, "--token", token, "--answer", f"1={key[1]}",
                      "--answer", f"2={key[2]}")
    assert first.exit_code == 0 and rule in first.stderr
    klass.run("submit", quiz, "--allow-blank", "--student", sid, "--token", token,
              "--answer", f"1={key[1] + 1}")  # 1 only, wrong
    klass.run("grade", quiz)
    store = open_store(str(klass.db))
    try:
        row = next(r for r in gradebook(store, quiz).rows if r.student == sid)
        # question 2 keeps attempt 1's right answer; question 1 is the last answer (wrong) or the best (right)
        assert row.total == (1.0 if counting == "last" else 2.0)
        page = questions_page(quiz_for_student(store, quiz, sid, token), token, "k").body.decode()
    finally:
        store.dispose()
    assert rule in page
    for command in (["quiz", "set", "--help"], ["generate", "--help"]):
        help_text = " ".join(klass.run(*command).stdout.split())
        assert "the last answer given to it" in help_text and "keeps its earlier answer" in help_text
