"""Every command, driven with hostile arguments (bytes that are not UTF-8, control
characters, a NUL, 100 KB strings, numbers past 64 bits, odd dates) and odd TZ values:
one bounded line and an exit code, never a traceback, never a half-written database."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from quizgen.cli.main import cli
from quizgen.errors import MAX_MESSAGE

from .helpers import make_class

HOSTILE = ["\udcff\udcfe", "x" * 100_000, "\x1b[31mred\nline", "a\x00b", "", "-1", "9" * 40, "①",
           "../../etc/passwd", "1=" + "5" * 5000, "0_1=5", "1.01=5", "2030-12-01 18:00", "0001-01-01",
           "9999-12-31 23:59"]

# {H}: where the hostile value goes; {Q} the quiz; {T} a valid token
TEMPLATES = [
    ["show", "{H}"], ["show", "{Q}", "--student", "{H}"], ["key", "{Q}", "--student", "{H}"],
    ["list", "--json"], ["roster", "add", "--id", "{H}", "--name", "{H}"], ["roster", "add", "--id", "ok1",
                                                                            "--name", "n", "--email", "{H}"],
    ["roster", "reset-token", "{H}"], ["roster", "import", "{H}"],
    ["submit", "--allow-blank", "{Q}", "--student", "{H}", "--token", "{T}", "--answer", "1=5"],
    ["submit", "--allow-blank", "{Q}", "--student", "20260001", "--token", "{H}", "--answer", "1=5"],
    ["submit", "--allow-blank", "{Q}", "--student", "20260001", "--token", "{T}", "--answer", "{H}"],
    ["submit", "--allow-blank", "{Q}", "--student", "20260001", "--token", "{T}", "--answer", "1={H}"],
    ["submit", "--allow-blank", "{Q}", "--student", "20260001", "--token", "{T}", "--file", "{H}"],
    ["status", "{H}", "--student", "20260001", "--token", "{T}"],
    ["generate", "--title", "{H}", "--count", "1", "--seed", "1", "--no-verify"],
    ["generate", "--title", "t", "--count", "{H}", "--seed", "1", "--no-verify"],
    ["generate", "--title", "t", "--count", "1", "--seed", "{H}", "--no-verify"],
    ["generate", "--title", "t", "--count", "1", "--seed", "1", "--no-verify", "--deadline", "{H}"],
    ["generate", "--title", "t", "--count", "1", "--seed", "1", "--no-verify", "--tz", "{H}"],
    ["generate", "--title", "t", "--count", "1", "--seed", "1", "--no-verify", "--range", "{H}"],
    ["generate", "--title", "t", "--count", "1", "--seed", "1", "--no-verify", "--kind", "{H}"],
    ["generate", "--title", "t", "--count", "1", "--seed", "1", "--no-verify", "--students", "{H}"],
    ["generate", "--title", "t", "--count", "1", "--seed", "1", "--no-verify", "--attempts", "{H}"],
    ["export", "{Q}", "--format", "json", "-o", "{H}"], ["export", "{Q}", "--format", "{H}"],
    ["gradebook", "{H}"], ["gradebook", "{Q}", "-o", "{H}"], ["report", "{Q}", "--png", "{H}"],
    ["grade", "{H}"], ["import-submissions", "{Q}", "{H}"], ["solve", "{H}"], ["solve", "--from-code", "{H}"],
    ["db", "upgrade", "--tz", "{H}"], ["{H}"],
    # the student's client (no token anywhere, so nothing reaches a network)
    ["submit", "--allow-blank", "{Q}", "--server", "{H}", "--student", "20260001", "--answer", "1=5"],
    ["submit", "--allow-blank", "{Q}", "--server", "http://127.0.0.1:9", "--student", "{H}", "--answer", "1=5",
     "--tries", "1"],
    ["submit", "--allow-blank", "{Q}", "--server", "http://127.0.0.1:9", "--answer", "1=5", "--tries", "{H}"],
    ["show", "{H}", "--server", "http://127.0.0.1:9", "--student", "20260001"],
    ["status", "{Q}", "--server", "{H}"], ["login", "--server", "{H}", "--student", "20260001"],
    ["login", "--server", "http://127.0.0.1:9", "--student", "{H}"], ["sync", "--server", "{H}"],
    ["sync", "--student", "{H}"], ["receipts", "--server", "{H}"],
]


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    return make_class(tmp_path_factory.mktemp("hostile"))


def _check(result, label: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code in (0, 1, 2, 75), (label, result.exit_code, result.output[-500:])
    assert "Traceback" not in result.output, (label, result.output[-2000:])
    assert result.exception is None or isinstance(result.exception, SystemExit), (label, repr(result.exception))
    if result.exit_code:
        lines = result.stderr.strip().splitlines()
        # in the language of what it says: the quiz's (a Korean quiz here) once known, else the locale's
        prefix = next((p for p in ("Error: ", "오류: ") if lines and lines[0].startswith(p)), None)
        assert len(lines) == 1 and prefix is not None, (label, result.stderr[:1000])
        assert len(lines[0]) <= MAX_MESSAGE + len(prefix), (label, len(lines[0]))
        assert not any(ord(c) < 32 for c in lines[0]), (label, lines[0][:200])
        assert "internal error" not in lines[0], (label, lines[0])  # the catch-all is for bugs, not inputs


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: " ".join(t)[:40])
def test_hostile_arguments_get_one_line(klass, template, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # hostile -o values are relative file names: write them here
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # the client's files, if any: here too
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    for name in ("QUIZGEN_TOKEN", "QUIZGEN_SERVER"):
        monkeypatch.delenv(name, raising=False)
    questions = klass.count("questions")
    for value in HOSTILE:
        args = [a.replace("{H}", value).replace("{Q}", str(klass.quiz)).replace("{T}", klass.tokens["20260001"])
                for a in template]
        result = CliRunner().invoke(cli, ["--db", str(klass.db), *args])
        _check(result, f"{template} with {value[:20]!r}")
    # nothing half-written: the class is intact
    assert klass.count("questions") >= questions


@pytest.mark.parametrize("tz", ["UTC-99", "garbage/zone", ":", "EST5EDT", "<+14>-14", "\udcff"])
def test_odd_tz_values_never_crash_a_command(klass, tz, monkeypatch):
    monkeypatch.setenv("TZ", tz)
    token = klass.tokens["20260002"]
    for args in (["list"], ["show", str(klass.quiz)], ["status", str(klass.quiz), "--student", "20260002",
                                                      "--token", token],
                 ["submit", "--allow-blank", str(klass.quiz), "--student", "20260002", "--token", token, "--answer",
                  "1=5"],
                 ["generate", "--title", "t", "--count", "1", "--seed", "1", "--no-verify",
                  "--deadline", "2030-01-01 10:00"]):
        _check(CliRunner().invoke(cli, ["--db", str(klass.db), *args]), f"TZ={tz!r} {args[0]}")


def test_non_utf8_bytes_in_a_real_command_line(klass):
    """The bytes a shell passes for $'\\xff' reach Python as surrogates; a real process must
    answer with one line (this is the traceback the hostile test found in --student)."""
    for args in ([b"submit", "--allow-blank", str(klass.quiz).encode(), b"--student", b"\xff", b"--token", b"x",
                  b"--answer", b"1=5"],
                 [b"generate", b"--title", b"\xfe\xff", b"--count", b"1", b"--seed", b"1", b"--no-verify"]):
        out = subprocess.run([sys.executable.encode(), b"-m", b"quizgen", b"--db", str(klass.db).encode(), *args],
                             capture_output=True, timeout=60)
        assert out.returncode == 2, out.stderr
        lines = out.stderr.decode("utf-8", "replace").strip().splitlines()
        assert len(lines) == 1 and "not UTF-8" in lines[0]


def test_a_non_utf8_environment_variable(klass):
    env = {**os.environ, "QUIZGEN_TOKEN": "abc"}
    env_bytes = {k.encode(): v.encode() for k, v in env.items()}
    env_bytes[b"QUIZGEN_TOKEN"] = b"\xff\xfe"
    out = subprocess.run([sys.executable, "-m", "quizgen", "--db", str(klass.db), "status", str(klass.quiz),
                          "--student", "20260001"], capture_output=True, timeout=60, env=env_bytes)
    assert out.returncode == 2 and b"QUIZGEN_TOKEN is not UTF-8" in out.stderr


def test_an_error_about_a_huge_or_multi_line_field_is_one_bounded_line(tmp_path):
    db = str(tmp_path / "q.db")
    roster = tmp_path / "r.csv"
    roster.write_text('id,name\n"a\nb",' + "N" * 900_000 + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--db", db, "roster", "import", str(roster)])
    _check(result, "roster with a multi-line id and a 900 KB name")
    assert result.exit_code == 1


def test_generate_students_updates_changed_names_and_issues_missing_tokens(tmp_path):
    import json

    klass = make_class(tmp_path)
    changed = tmp_path / "changed.csv"
    changed.write_text("id,name,email\n20260001,김민준 (개명),new@example.ac.kr\n20260009,새 학생,\n", encoding="utf-8")
    made = klass.run("generate", "--title", "2", "--count", "1", "--seed", "2", "--no-verify", "--students",
                     str(changed), "--json")
    assert made.exit_code == 0, made.output
    data = json.loads(made.stdout)
    assert data["updated_students"] == ["20260001"]
    assert [t["id"] for t in data["tokens"]] == ["20260009"]
    listed = {s["id"]: s for s in json.loads(klass.run("roster", "list", "--json").stdout)}
    assert listed["20260001"]["name"] == "김민준 (개명)" and listed["20260001"]["email"] == "new@example.ac.kr"
    assert listed["20260009"]["has_token"]
    new_token = data["tokens"][0]["token"]
    ok = klass.run("submit", "--allow-blank", str(data["id"]), "--student", "20260009", "--token", new_token,
                   "--answer", "1=5")
    assert ok.exit_code == 0, ok.output
