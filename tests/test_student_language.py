"""One language per quiz on every student screen (issue 21.2): a Korean quiz's students
see Korean from every command they run, locally and with ``--server``, refusals
included; before the quiz is known (login, a wrong token) the locale decides; times are
shown in a zone that is named, never as UTC ISO stamps.

The walk fails on any English word in what a student is shown, except what is not
wording: ids, numbers, URLs, file paths, time zone names, ``quizgen`` command lines and
options, what the student typed (quoted back), and the quiz's own content (its prompts
and part labels hold Keras code and layer names such as SimpleRNN)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from click.testing import CliRunner

from quizgen.cli.main import cli

from .helpers import make_class, right_answers
from .server import start_server

SID = "20260001"
KO = {"LANG": "ko_KR.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}
HANGUL = re.compile(r"[가-힣]")
# Words that are not English wording: acronyms and names a Korean text prints as they are
NOT_WORDING = {"ID", "QUIZ", "QUIZGEN_TOKEN", "URL", "ASCII", "HTML", "JSON", "CSV", "UTF", "KB", "MB", "GB", "kB",
               "None", "UTC", "Etc", "http", "https", "Asia", "Seoul", "ps", "proc", "base64", "ed25519", "Ed25519",
               "N"}
QUOTED = re.compile(r"'[^'\n]*'")  # a quizgen command line, or what the student typed
URL = re.compile(r"https?://[A-Za-z0-9.:\[\]/_%-]*")
HOST = re.compile(r"(?<![\w.])[a-z0-9-]+(?:\.[a-z0-9-]+)+")  # quiz.example.ac.kr
PATH = re.compile(r"(?<![\w.])/[\w./-]+")
OPTION = re.compile(r"--[a-z][a-z-]*")
HEX = re.compile(r"(?<![0-9a-f])[0-9a-f]{12,}(?![0-9a-f])")  # a key id


def english_words(text: str, content: set[str]) -> list[str]:
    """The English words left in ``text`` once what is not wording is taken out."""
    rest = QUOTED.sub(" ", text)
    for pattern in (URL, PATH, OPTION, HEX, HOST):
        rest = pattern.sub(" ", rest)
    words = re.findall(r"[A-Za-z][A-Za-z_]+", rest)
    return [w for w in words if w not in NOT_WORDING and w not in content]


@pytest.fixture
def korean(tmp_path, home):
    klass = make_class(tmp_path, "--attempts", "3", "--deadline", "2099-01-01 18:00", "--late-until",
                       "2099-01-02 09:00", "--tz", "Asia/Seoul")
    server = start_server(str(klass.db), tmp_path)
    yield klass, server
    server.stop()


class Walk:
    """Runs a student's commands and checks each screen for English."""

    def __init__(self, klass: Any, content: set[str], env: dict[str, str]):
        self.klass, self.content, self.env = klass, content, env
        self.seen: list[tuple[str, str]] = []

    def run(self, *args: str, code: int = 0, token: str | None = None, local: bool = False) -> Any:
        env = {**self.env, **({"QUIZGEN_TOKEN": token} if token else {})}
        argv = ["--db", str(self.klass.db), *args] if local else list(args)
        result = CliRunner().invoke(cli, argv, env=env)
        label = " ".join(args)
        assert result.exit_code == code, (label, result.output)
        assert result.output.strip() and HANGUL.search(result.output), (label, result.output)
        left = english_words(result.output, self.content)
        assert not left, (label, left, result.output)
        self.seen.append((label, result.output))
        return result


def _content(klass: Any, server_url: str | None = None) -> set[str]:
    """Every word of the quiz's own content: its prompts and part labels, in both languages."""
    shown = json.loads(klass.run("show", str(klass.quiz), "--student", SID, "--json").stdout)
    text = " ".join(q["prompt"] for q in shown["questions"])
    key = klass.key(SID)
    text += " " + json.dumps([a["answer"] for a in key], ensure_ascii=False)
    return set(re.findall(r"[A-Za-z][A-Za-z_]+", text)) | {"Output", "Shape", "Param", "Total", "params"}


def test_every_student_command_speaks_the_quizs_korean(korean, home):
    klass, server = korean
    quiz, token, url = str(klass.quiz), klass.tokens[SID], server.url
    walk = Walk(klass, _content(klass), KO)
    answers = right_answers(klass.key(SID))
    full = [a for k, v in answers.items() for a in ("--answer", f"{k}={v}")]
    empty = home.root / "empty.json"
    empty.write_text("{}", encoding="utf-8")
    broken = home.root / "broken.json"
    broken.write_text('{"1": ', encoding="utf-8")

    # --- on the quiz's database
    walk.run("show", quiz, "--student", SID, local=True)
    walk.run("show", quiz, local=True)
    walk.run("submit", quiz, "--student", SID, "--answer", "1=5", code=1, token=token, local=True)  # blanks
    walk.run("submit", quiz, "--student", SID, "--answer", "1=5.5", code=1, token=token, local=True)  # malformed
    walk.run("submit", quiz, "--student", SID, "--answer", "99=5", code=1, token=token, local=True)
    walk.run("submit", quiz, "--student", SID, "--file", str(empty), code=1, token=token, local=True)
    walk.run("submit", quiz, "--student", SID, "--file", str(broken), code=1, token=token, local=True)
    walk.run("submit", quiz, "--student", SID, "--file", str(home.root / "none.json"), code=1, token=token,
             local=True)
    walk.run("submit", quiz, "--student", SID, code=2, token=token, local=True)  # no answers at all
    walk.run("submit", quiz, "--answer", "1=5", code=2, token=token, local=True)  # no --student
    walk.run("submit", quiz, "--student", SID, "--answer", "1=5", code=1, token="wrong-token", local=True)
    walk.run("submit", quiz, "--student", SID, "--answer", "1=5", code=1, local=True)  # no token at all
    walk.run("submit", "99", "--student", SID, "--answer", "1=5", code=1, token=token, local=True)
    walk.run("submit", "abc", "--student", SID, "--answer", "1=5", code=1, token=token, local=True)
    walk.run("show", "99", local=True, code=1)
    walk.run("status", quiz, "--student", SID, token=token, local=True)  # no attempts yet
    walk.run("submit", quiz, "--student", SID, "--answer", "1=5", "--allow-blank", token=token, local=True)
    walk.run("status", quiz, "--student", SID, token=token, local=True)
    walk.run("status", quiz, "--student", SID, code=1, token="wrong-token", local=True)

    # --- over HTTP
    walk.run("login", "--server", url, "--student", SID, token=token)  # no quiz yet: the locale's Korean
    walk.run("login", "--server", url, "--student", SID, "--quiz", quiz, token=token)
    walk.run("login", "--server", url, "--student", SID, "--quiz", quiz, code=1, token="wrong-token")
    walk.run("login", "--server", "http://quiz.example.ac.kr", "--student", SID, code=2, token=token)
    walk.run("show", quiz, "--server", url)
    walk.run("show", "99", "--server", url, code=1)
    walk.run("submit", quiz, "--server", url, "--answer", "1=5", code=1)  # blanks
    walk.run("submit", quiz, "--server", url, "--answer", "1=5.5", "--allow-blank", code=1)  # the server refuses
    walk.run("submit", quiz, "--server", url, *full)
    walk.run("status", quiz, "--server", url)
    walk.run("status", quiz, "--server", url, "--student", SID, "--token", token)  # warned about --token
    walk.run("status", quiz, "--server", url, "--student", "20260002", code=1, token=token)  # wrong token
    walk.run("receipts")
    walk.run("receipts", "--verify")
    walk.run("sync")  # nothing waits
    server.stop()
    walk.run("submit", quiz, "--server", url, "--answer", "1=5", "--allow-blank", "--tries", "1", code=75)
    walk.run("sync", "--tries", "1", code=75)
    again = start_server(str(klass.db), klass.db.parent, "--port", url.rsplit(":", 1)[1])  # same receipt key
    try:
        walk.run("sync")  # delivered: its receipt line
        walk.run("submit", quiz, "--server", url, "--answer", "1=5", "--allow-blank", code=1)  # attempts spent
    finally:
        again.stop()
    commands = {label.split()[0] for label, _ in walk.seen}
    assert commands == {"show", "submit", "status", "login", "receipts", "sync"}
    # times are shown in a named zone, never as ISO stamps
    for label, output in walk.seen:
        assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", output), (label, output)


def test_the_walk_can_fail():
    """The check finds English wording, and only wording."""
    assert english_words("Logged in to http://127.0.0.1:8080 as 20260001", set()) == ["Logged", "in", "to", "as"]
    assert english_words("퀴즈 1에 'quizgen sync --allow-blank'를 실행하세요 /tmp/x.json Asia/Seoul", set()) == []
    assert english_words("1번째 층 SimpleRNN의 Output Shape", {"SimpleRNN", "Output", "Shape"}) == []
    assert english_words("1번째 층 SimpleRNN의 Output Shape", {"SimpleRNN"}) == ["Output", "Shape"]


def test_a_korean_quiz_stays_korean_under_an_english_locale(korean, home):
    """The quiz's language rules its screens whatever the student's locale; only what is
    said before the quiz is known follows the locale."""
    klass, server = korean
    quiz, token, url = str(klass.quiz), klass.tokens[SID], server.url
    walk = Walk(klass, _content(klass), {"LANG": "en_US.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""})
    walk.run("show", quiz, "--student", SID, local=True)
    walk.run("submit", quiz, "--student", SID, "--answer", "1=5", code=1, token=token, local=True)
    walk.run("show", quiz, "--server", url, "--student", SID, token=token)
    walk.run("submit", quiz, "--server", url, "--student", SID, "--answer", "1=5", code=1, token=token)
    english = CliRunner().invoke(cli, ["--db", str(klass.db), "submit", quiz, "--student", SID, "--answer", "1=5",
                                       "--token", "wrong-token"], env={"LANG": "en_US.UTF-8"})
    assert english.stderr == "Error: unknown student id or wrong token\n"  # the quiz is not known to a stranger
    korean_locale = CliRunner().invoke(cli, ["--db", str(klass.db), "submit", quiz, "--student", SID, "--answer",
                                             "1=5", "--token", "wrong-token"], env=KO)
    assert korean_locale.stderr == "오류: 학번이나 토큰이 맞지 않습니다\n"
    for variable in ("LC_ALL", "LC_MESSAGES"):  # POSIX's order: LC_ALL, then LC_MESSAGES, then LANG
        said = CliRunner().invoke(cli, ["--db", str(klass.db), "submit", "abc", "--student", SID, "--answer", "1=5"],
                                  env={"LANG": "en_US.UTF-8", "LC_ALL": "", "LC_MESSAGES": "", variable: "ko_KR.UTF-8"})
        assert said.stderr.startswith("오류: 'abc'은(는) 퀴즈 번호가 아닙니다"), (variable, said.stderr)


def test_receipts_show_times_in_a_named_zone_yours_too_when_it_differs(korean, home, monkeypatch):
    klass, server = korean
    token, url = klass.tokens[SID], server.url
    sent = CliRunner().invoke(cli, ["submit", str(klass.quiz), "--server", url, "--student", SID, "--answer", "1=5",
                                    "--allow-blank"], env={"QUIZGEN_TOKEN": token, "TZ": "Asia/Seoul"})
    assert sent.exit_code == 0, sent.output
    seoul = CliRunner().invoke(cli, ["receipts"], env={"TZ": "Asia/Seoul"}).stdout
    assert re.search(r"  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+09:00 \(Asia/Seoul\)  http://", seoul), seoul
    abroad = CliRunner().invoke(cli, ["receipts"], env={"TZ": "America/New_York"}).stdout
    assert re.search(r"\+09:00 \(Asia/Seoul\), 이 컴퓨터 시각으로 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d -0[45]:00 "
                     r"\(America/New_York\)", abroad), abroad
    shown = CliRunner().invoke(cli, ["show", str(klass.quiz), "--server", url, "--student", SID],
                               env={"QUIZGEN_TOKEN": token, "TZ": "America/New_York"}).stdout
    assert "마감: 2099-01-01 18:00 +09:00 (Asia/Seoul), 이 컴퓨터 시각으로 2099-01-01 04:00 -05:00 " \
           "(America/New_York)" in shown
