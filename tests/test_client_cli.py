"""The student's commands as a student meets them: which server URLs are used and how
they are spelled, the lazily loaded command list, and start-up without the store."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from quizgen.cli.main import LAZY_COMMANDS, cli
from quizgen.servers import ServerURLError, check_transport, is_loopback, parse_server


@pytest.mark.parametrize("given, canonical, loopback", [
    ("HTTPS://Quiz.Example.ac.kr:443/", "https://quiz.example.ac.kr", False),
    ("https://quiz.example.ac.kr:8443", "https://quiz.example.ac.kr:8443", False),
    ("http://127.0.0.1:8080/api/v1/", "http://127.0.0.1:8080", True),
    ("http://localhost:80", "http://localhost", True),
    ("http://[::1]:8080", "http://[::1]:8080", True),
    ("https://school.example/quizgen/", "https://school.example/quizgen", False),
    ("  https://quiz.example.ac.kr  ", "https://quiz.example.ac.kr", False),
])
def test_server_urls_have_one_spelling(given, canonical, loopback):
    server = parse_server(given)
    assert (server.url, server.loopback) == (canonical, loopback)
    assert server.api("quizzes", "3", "submissions") == canonical + "/api/v1/quizzes/3/submissions"


@pytest.mark.parametrize("given, why", [
    ("quiz.example.ac.kr", "must start with https://"), ("ftp://quiz.example.ac.kr", "must start with https://"),
    ("https://", "names no host"), ("https://20260001:token@quiz.example.ac.kr", "user name or password"),
    ("https://quiz.example.ac.kr/?token=x", "query or fragment"), ("https://quiz.example.ac.kr:99999", "not a URL"),
    ("https://quiz example.ac.kr", "spaces, control"), ("https://퀴즈.example", "non-ASCII"),
    ("https://quiz.example.ac.kr\n", None),
])
def test_urls_that_are_not_a_server_are_refused(given, why):
    if why is None:  # a trailing newline from copy and paste is only whitespace
        assert parse_server(given).url == "https://quiz.example.ac.kr"
        return
    with pytest.raises(ServerURLError, match=why):
        parse_server(given)


@pytest.mark.parametrize("host, loopback", [("localhost", True), ("127.0.0.1", True), ("127.8.9.10", True),
                                            ("::1", True), ("evil.localhost", False), ("127.0.0.1.evil.example", False),
                                            ("10.0.0.1", False), ("::ffff:8.8.8.8", False), ("0.0.0.0", False)])
def test_only_this_machine_counts_as_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_plain_http_to_another_machine_needs_insecure_http():
    assert check_transport(parse_server("https://quiz.example.ac.kr"), False) is None
    assert check_transport(parse_server("http://127.0.0.1:8080"), False) is None
    with pytest.raises(ServerURLError, match="anyone on the network .* can read your token.*--insecure-http"):
        check_transport(parse_server("http://quiz.example.ac.kr"), False)
    warning = check_transport(parse_server("http://quiz.example.ac.kr"), True).say("en")
    assert warning.startswith("Warning: ") and "can read your token" in warning


@pytest.mark.parametrize("command", [
    ["submit", "3", "--student", "20260001", "--answer", "1=5"], ["show", "3", "--student", "20260001"],
    ["status", "3", "--student", "20260001"], ["login", "--student", "20260001"],
])
def test_plain_http_is_refused_before_anything_is_written_or_sent(home, command):
    result = CliRunner().invoke(cli, [*command, "--server", "http://quiz.example.ac.kr"],
                                env={"QUIZGEN_TOKEN": "tok"})
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: refusing to send your token: http://quiz.example.ac.kr is plain http")
    assert home.files() == []


def test_quizgen_server_variable_routes_to_the_server(home):
    result = CliRunner().invoke(cli, ["submit", "3", "--student", "20260001", "--answer", "1=5"],
                                env={"QUIZGEN_SERVER": "http://quiz.example.ac.kr", "QUIZGEN_TOKEN": "tok"})
    assert result.exit_code == 2 and "plain http" in result.stderr


def test_a_remote_command_without_a_student_or_token_says_how_to_log_in(home):
    url = "http://127.0.0.1:9"
    no_student = CliRunner().invoke(cli, ["status", "3", "--server", url])
    assert no_student.exit_code == 1
    assert no_student.stderr.strip() == (f"Error: who are you on {url}? give --student ID, or run "
                                         f"'quizgen login --server {url} --student ID' once")
    no_token = CliRunner().invoke(cli, ["status", "3", "--server", url, "--student", "20260001"])
    assert no_token.exit_code == 1 and "set QUIZGEN_TOKEN, or run 'quizgen login" in no_token.stderr
    local = CliRunner().invoke(cli, ["status", "3"])
    assert local.exit_code == 2 and "Missing option '--student'" in local.stderr
    bad_quiz = CliRunner().invoke(cli, ["status", "../3", "--server", url, "--student", "1"],
                                  env={"QUIZGEN_TOKEN": "tok"})
    assert bad_quiz.exit_code == 1 and "is not a quiz id" in bad_quiz.stderr


def test_help_lists_every_command_with_its_short_help_without_importing_them():
    probe = ("import sys, json\nfrom click.testing import CliRunner\nimport quizgen.cli.main as m\n"
             "out = CliRunner().invoke(m.cli, ['--help']).stdout\n"
             "print(json.dumps([out, sorted(n for n in sys.modules if n.startswith('quizgen.cli.'))]))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    shown, loaded = json.loads(done.stdout)
    assert loaded == ["quizgen.cli.main", "quizgen.cli.options"]
    listed = shown.split("Commands:")[1]
    for name in [*LAZY_COMMANDS, "solve", "init", "db"]:
        assert f"\n  {name} " in listed, name


@pytest.mark.parametrize("name", sorted(LAZY_COMMANDS))
def test_the_lazy_table_agrees_with_each_command(name):
    """The table's short help is the command's own first paragraph, so --help says what the
    command's docstring says, loaded or not."""
    ctx = click.Context(cli)
    placeholder = click.Command(name, help=LAZY_COMMANDS[name][2])
    command = cli.get_command(ctx, name)
    assert command is not None and command.name == name
    assert LAZY_COMMANDS[name][2] == inspect.cleandoc(command.help or "").split("\n\n")[0]
    for width in (30, 45, 80, 200):
        assert placeholder.get_short_help_str(width) == command.get_short_help_str(width)


HEAVY_PROBE = """
import json, sys
from click.testing import CliRunner
from quizgen.cli.main import cli
url = sys.argv[1]
env = {"QUIZGEN_TOKEN": "tok-abcdefgh"}
codes = [CliRunner().invoke(cli, args, env=env).exit_code for args in (
    ["submit", "3", "--server", url, "--student", "20260001", "--answer", "1=5", "--tries", "1"],
    ["show", "3", "--server", url, "--student", "20260001"],
    ["status", "3", "--server", url, "--student", "20260001"],
    ["login", "--server", url, "--student", "20260001"],
    ["sync", "--tries", "1"],
    ["receipts", "--verify"],
)]
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("sqlalchemy", "numpy", "tensorflow", "keras", "alembic"))
print(json.dumps([codes, heavy]))
"""


def test_remote_commands_import_neither_the_store_nor_numpy_nor_tensorflow(home):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"  # nothing listens: connection refused
    done = subprocess.run([sys.executable, "-c", HEAVY_PROBE, url], capture_output=True, text=True,
                          env=home.env(), check=True)
    codes, heavy = json.loads(done.stdout)
    assert codes == [75, 75, 75, 75, 75, 0]
    assert heavy == []
