"""``quizgen solve`` end to end through click's CliRunner and a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from quizgen.cli.main import cli

QUIZ = {"input": {"shape": [30]}, "layers": [
    {"type": "Embedding", "input_dim": 5000, "output_dim": 100},
    {"type": "SimpleRNN", "units": 128},
    {"type": "Dense", "units": 1, "activation": "sigmoid"}]}
BN = {"input": {"shape": [20, 8]}, "layers": [{"type": "BatchNormalization"}, {"type": "Flatten"}]}


def _runner() -> CliRunner:
    return CliRunner()


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_table_and_working_in_korean_and_english(tmp_path):
    path = _write(tmp_path, "quiz.json", json.dumps(QUIZ))
    ko = _runner().invoke(cli, ["solve", path])
    assert ko.exit_code == 0
    assert "Total params: 529,441" in ko.output and "풀이:" in ko.output
    assert "총 파라미터 수 = 500,000 + 29,312 + 129 = 529,441" in ko.output
    en = _runner().invoke(cli, ["solve", path, "--lang", "en"])
    assert "Total parameters = 500,000 + 29,312 + 129 = 529,441" in en.output
    assert "hidden state size h = 128" in en.output


def test_json_output_is_only_json(tmp_path):
    path = _write(tmp_path, "bn.json", json.dumps(BN))
    result = _runner().invoke(cli, ["solve", path, "--json"])
    assert result.exit_code == 0
    (line,) = result.stdout.splitlines()
    data = json.loads(line)
    assert data["total_params"] == 32 and data["trainable_params"] == 16 and data["non_trainable_params"] == 16
    assert data["layers"][0]["output_shape"] == [None, 20, 8]
    assert data["layers"][1]["output_shape"] == [None, 160]
    assert set(data["layers"][0]) >= {"type", "output_shape", "params", "trainable", "non_trainable", "derivation"}
    assert data["layers"][0]["derivation"]["formula"] == "4×c"


def test_jsonl_keeps_order_and_reports_each_bad_line(tmp_path):
    lines = [
        json.dumps(QUIZ),
        "{not json",
        json.dumps({"input": {"shape": [4]}, "layers": [{"type": "SimpleRNN", "units": 3}]}),
        json.dumps(BN),
    ]
    path = _write(tmp_path, "many.jsonl", "\n".join(lines) + "\n")
    result = _runner().invoke(cli, ["solve", path, "--json"])
    assert result.exit_code == 1
    out = [json.loads(x) for x in result.stdout.splitlines()]
    assert [("error" in o) for o in out] == [False, True, True, False]
    assert out[0]["total_params"] == 529_441
    assert out[1]["error"].startswith("malformed JSON")
    assert out[2]["error"] == "layer 1 (SimpleRNN): expects 3-D input (batch, timesteps, features), got (None, 4) (2-D)"


def test_stdin(tmp_path):
    result = _runner().invoke(cli, ["solve", "-", "--json"], input=json.dumps(QUIZ))
    assert json.loads(result.stdout)["total_params"] == 529_441


def test_verify_reports_agreement(tmp_path, checker):
    path = _write(tmp_path, "quiz.json", json.dumps(QUIZ))
    result = _runner().invoke(cli, ["solve", path, "--verify", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout.splitlines()[-1])
    assert data["keras"]["agree"] is True


@pytest.mark.parametrize(
    "args,content,message",
    [
        (["solve", "{path}"], "{not json", "malformed JSON"),
        (
            ["solve", "{path}"],
            '{"input": {"shape": [3]}, "layers": [{"type": "ConvLSTM2D", "filters": 1}]}',
            "unknown layer type 'ConvLSTM2D'",
        ),
        (
            ["solve", "{path}"],
            '{"input": {"shape": [3, 4]}, "layers": [{"type": "SimpleRNN"}]}',
            "missing required argument 'units'",
        ),
        (
            ["solve", "{path}"],
            '{"input": {"shape": [3, 4]}, "layers": [{"type": "SimpleRNN", "units": "128"}]}',
            "units: expected a positive integer, got '128'",
        ),
        (["solve", "{path}"], '{"input": {"shape": [3, 4]}, "layers": []}', '"layers" must be a non-empty list'),
        (["solve", "{path}"], "[1, 2", "malformed JSON"),
        (["solve", "{path}"], "", "is empty"),
        (["solve", "{path}"], '"just a string"', "a spec is a JSON object"),
        (
            ["solve", "{path}"],
            '{"input": {"shape": 3}, "layers": [{"type": "Dense", "units": 1}]}',
            "input shape must be a list",
        ),
        (["solve", "{path}"], '{"layers": [{"type": "Dense", "units": 1}]}', 'needs an "input"'),
        (["solve", "{dir}"], None, "is a directory"),
        (["solve", "{missing}"], None, "no such file"),
        (["solve", "{long}"], None, "File name too long"),
        (["solve", "--from-code", ""], None, "is a directory"),
        (["solve", "--from-code", "{path}"], "model = Sequential(", "not valid Python"),
        # Python's own JSON limits: an integer of more than 4,300 digits is a ValueError of its own
        (["solve", "{path}"], '{"input": {"shape": [' + "9" * 5000 + ']}, "layers": []}', "more than 4,300 digits"),
    ],
)
def test_bad_input_gives_one_clear_line(tmp_path, args, content, message):
    path = _write(tmp_path, "in.json", content) if content is not None else ""
    args = [
        a.format(path=path, dir=str(tmp_path), missing=str(tmp_path / "nope.json"), long=str(tmp_path / ("x" * 300)))
        for a in args
    ]
    result = _runner().invoke(cli, args)
    assert result.exit_code != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], result.stderr
    assert "Traceback" not in result.output


def test_not_utf8(tmp_path):
    path = tmp_path / "latin.json"
    path.write_bytes(b'{"x": "\xff"}')
    result = _runner().invoke(cli, ["solve", str(path)])
    assert result.exit_code == 1 and "not UTF-8" in result.stderr


def test_usage_errors_exit_2():
    result = _runner().invoke(cli, ["solve"])
    assert result.exit_code == 2
    result = _runner().invoke(cli, ["solve", "x.json", "--lang", "fr"])
    assert result.exit_code == 2


def test_every_command_has_help_with_an_example():
    import click

    def walk(group, path):
        ctx = click.Context(group)
        for name in group.list_commands(ctx):  # lazy commands too (loaded here)
            command = group.get_command(ctx, name)
            where = " ".join([*path, name])
            assert command.help, where
            shown = _runner().invoke(cli, [*path, name, "--help"])
            assert shown.exit_code == 0, where
            assert "Example:" in shown.stdout and "quizgen " in shown.stdout.split("Example:")[1], where
            for param in command.params:
                if isinstance(param, click.Option) and param.name != "help":
                    assert param.help, (where, param.name)
            if isinstance(command, click.Group):
                walk(command, [*path, name])

    assert "Example:" in _runner().invoke(cli, ["--help"]).stdout
    walk(cli, [])


def test_real_subprocess_exit_codes(tmp_path):
    path = _write(tmp_path, "quiz.json", json.dumps(QUIZ))
    ok = subprocess.run(
        [sys.executable, "-m", "quizgen.cli.main", "solve", path, "--json"], capture_output=True, text=True
    )
    assert ok.returncode == 0 and json.loads(ok.stdout)["total_params"] == 529_441
    bad = subprocess.run(
        [sys.executable, "-m", "quizgen.cli.main", "solve", str(tmp_path / "none.json")], capture_output=True, text=True
    )
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


def test_every_command_that_reports_something_has_json():
    import click

    no_report = {"serve", "demo"}  # a server, and a walkthrough printed for people

    def walk(group, path):
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                walk(command, [*path, name])
            elif name not in no_report:
                options = {o for p in command.params if isinstance(p, click.Option) for o in p.opts}
                assert "--json" in options, " ".join([*path, name])

    walk(cli, [])


def test_a_one_layer_working_never_ends_in_x_equals_x():
    """Issue #19/#21: "총 파라미터 수 = 44 = 44" says one number twice; one layer's total is said once."""
    import re

    from click.testing import CliRunner

    from quizgen.cli.main import cli

    for lang in ("ko", "en"):
        out = CliRunner().invoke(cli, ["solve", "-", "--lang", lang],
                                 input='{"input": {"shape": [10]}, "layers": [{"type": "Dense", "units": 4}]}')
        assert out.exit_code == 0, out.output
        assert not re.search(r"= ([\d,]+) = \1\b", out.stdout), out.stdout
        assert out.stdout.rstrip().endswith("= 44")
