"""Blank answers: ``submit`` (local and ``--server``) names the questions and parts left
blank and spends an attempt on them only with ``--allow-blank`` or a yes typed on a
terminal (a real pseudo-terminal here); anywhere else it refuses in one line, exit 1,
with nothing stored, sent or kept. The rule itself (answersheets.blank_answers) is the
one the page uses too."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

import pytest

from quizgen.classroom.answersheets import Blank, BlankPolicy, Blanks, blank_answers

from .helpers import make_class, right_answers
from .server import start_server

SID = "20260001"
PARTS = {"type": "parts", "parts": [{"key": "L1.shape"}, {"key": "L1.params"}, {"key": "total"}]}
FORMS = {1: {"type": "count"}, 2: {"type": "shape"}, 4: PARTS}


@pytest.mark.parametrize("answers, blank", [
    ({"1": "5", "2": "(None, 3)", "4.1": "a", "4.2": "b", "4.3": "c"}, ()),
    ({"1": "5"}, ("2", "4")),  # a multi-part question none of whose parts is answered is named whole
    ({"1": "5", "2": "x", "4.2": "b"}, ("4.1", "4.3")),
    ({"01": "5", "2": "x", "04.01": "a", "4.L1.params": "b", "4.total": "c"}, ()),  # every spelling of a key
    ({"1": "  ", "2": "x", "4.1": "a", "4.2": "", "4.3": "c"}, ("1", "4.2")),  # spaces are no answer
    ({"1": "5", "2": "x", "4.1": "a", "4.2": "b", "4.3": "c", "9": "5", "4.9": "1", "x": "1"}, ()),  # not ours
    ({}, ("1", "2", "4")),
])
def test_which_questions_and_parts_are_blank(answers, blank):
    found = blank_answers(FORMS, answers)
    assert found.items == blank and bool(found) == bool(blank)
    assert found.text() == ", ".join(blank)


def test_a_policy_sends_blanks_only_when_allowed_or_agreed():
    asked: list[str] = []

    def ask(blanks: Blanks, lang: str) -> bool:
        asked.append(f"{lang}:{blanks.text()}")
        return lang == "ko"

    some, none = Blanks((Blank(2, None),)), Blanks(())
    assert BlankPolicy(True).accepts(some, "ko") and BlankPolicy(False).accepts(none, "ko")
    assert not BlankPolicy(False).accepts(some, "ko")  # no one to ask: no
    assert BlankPolicy(False, ask).accepts(some, "ko") and not BlankPolicy(False, ask).accepts(some, "en")
    assert asked == ["ko:2", "en:2"]
    assert BlankPolicy(False, ask).accepts(none, "en") and len(asked) == 2  # nothing blank: nothing asked


# --- on a terminal ------------------------------------------------------------------------

def _on_a_terminal(argv: list[str], env: dict[str, str], reply: str, expect: str) -> tuple[int, str]:
    """Run ``argv`` with a pseudo-terminal as stdin, stdout and stderr, wait for ``expect``
    on it and type ``reply``; the exit code and everything shown. (The deadlines only
    catch a hang.)"""
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    shown, replied = b"", False
    end = time.monotonic() + 120
    try:
        while time.monotonic() < end:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the terminal closed: the command ended
                    break
                if not chunk:
                    break
                shown += chunk
            if not replied and expect.encode() in shown:
                os.write(master, reply.encode() + b"\r")
                replied = True
            if proc.poll() is not None and not ready:
                break
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert replied, shown.decode(errors="replace")
    return code, shown.decode(errors="replace")


@pytest.fixture
def klass(tmp_path):
    return make_class(tmp_path, "--attempts", "3", "--deadline", "2099-01-01 00:00")


def _local(klass, *answers: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [sys.executable, "-m", "quizgen", "--db", str(klass.db), "submit", str(klass.quiz), "--student", SID,
            *[a for answer in answers for a in ("--answer", answer)]]


def _summary(klass) -> int:  # type: ignore[no-untyped-def]
    return next(a["slot"] for a in klass.key(SID) if a["kind"] == "summary")


def test_local_submit_refuses_blanks_off_a_terminal_and_names_them(klass):
    env = {"QUIZGEN_TOKEN": klass.tokens[SID]}
    summary = _summary(klass)
    answers = {k: v for k, v in right_answers(klass.key(SID)).items() if k not in ("2", f"{summary}.3")}
    args = [a for k, v in answers.items() for a in ("--answer", f"{k}={v}")]
    refused = klass.run("submit", str(klass.quiz), "--student", SID, *args, env=env)
    assert refused.exit_code == 1 and refused.stdout == ""
    assert refused.stderr == (f"오류: 답하지 않은 문제가 있습니다: 2, {summary}.3. 이대로 제출하려면 --allow-blank를 "
                              "붙이세요 (아무것도 제출되지 않았습니다)\n")
    assert klass.count("attempts") == 0 and klass.count("submissions") == 0  # nothing spent
    sent = klass.run("submit", str(klass.quiz), "--student", SID, *args, "--allow-blank", env=env)
    assert sent.exit_code == 0 and "첫 번째 시도를 기록했습니다: 답 5개" in sent.stdout
    assert klass.count("attempts") == 1


def test_local_submit_asks_on_a_terminal(klass, home):
    env = home.env(QUIZGEN_TOKEN=klass.tokens[SID])
    code, shown = _on_a_terminal(_local(klass, "1=5"), env, "n", "이대로 제출할까요?")
    assert code == 1
    assert "답하지 않은 문제가 있습니다: 2, 3, 4, 5, 6. 이대로 제출할까요? 제출하면 시도 1회로 셉니다" in shown
    assert klass.count("attempts") == 0
    code, shown = _on_a_terminal(_local(klass, "1=5"), env, "y", "이대로 제출할까요?")
    assert code == 0 and "첫 번째 시도를 기록했습니다: 답 1개" in shown
    assert klass.count("attempts") == 1


def test_a_full_sheet_is_not_asked_about(klass):
    answers = right_answers(klass.key(SID))
    args = [a for k, v in answers.items() for a in ("--answer", f"{k}={v}")]
    done = klass.run("submit", str(klass.quiz), "--student", SID, *args, env={"QUIZGEN_TOKEN": klass.tokens[SID]})
    assert done.exit_code == 0 and klass.count("attempts") == 1


def test_remote_submit_refuses_blanks_before_anything_is_kept_or_sent(klass, home, tmp_path):
    server = start_server(str(klass.db), tmp_path)
    try:
        env = home.env(QUIZGEN_TOKEN=klass.tokens[SID])
        remote = [sys.executable, "-m", "quizgen", "submit", str(klass.quiz), "--server", server.url, "--student",
                  SID, "--answer", "1=5"]
        refused = subprocess.run(remote, env=env, capture_output=True, text=True, timeout=120)
        assert refused.returncode == 1 and refused.stdout == ""
        assert refused.stderr == ("오류: 답하지 않은 문제가 있습니다: 2, 3, 4, 5, 6. 이대로 제출하려면 --allow-blank를 "
                                  "붙이세요 (아무것도 제출되지 않았습니다)\n")
        assert home.entries() == [] and klass.count("attempts") == 0
        code, shown = _on_a_terminal(remote, env, "n", "이대로 제출할까요?")
        assert code == 1 and home.entries() == [] and klass.count("attempts") == 0
        code, shown = _on_a_terminal(remote, env, "y", "이대로 제출할까요?")
        assert code == 0 and "첫 번째 시도를 기록했습니다: 답 1개" in shown and "영수증 확인됨" in shown
        assert klass.count("attempts") == 1 and home.entries() == []
    finally:
        server.stop()
