"""``quizgen solve FILE.jsonl --json`` made faster without changing a byte: each line is
``json.dumps(solution.to_json(lang))`` (or ``{"error": ...}``), the same bytes as before the
speed-up, large .jsonl files are read, and solving leaves nothing for the cyclic collector
(which solve turns off)."""

from __future__ import annotations

import gc
import hashlib
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from quizgen.cli.main import cli
from quizgen.errors import SpecError
from quizgen.nn.solver import solve_raw
from quizgen.questions.architectures import random_spec
from quizgen.questions.catalog import ZOO_KINDS
from quizgen.questions.generator import generate_question

from .graph_specs import random_specs, textbook_graphs


def _sample_lines() -> list[str]:
    """300 textbook specs (Sequential and graph, as bench/bench_cli_solve.py mixes them), 60
    random graphs over every layer kind, a rejected spec, a malformed line, a blank one and one
    with spaces around it."""
    rng = random.Random(3)
    sequential = [random_spec(rng, rng.choice(("easy", "medium", "hard"))) for _ in range(150)]
    specs = sequential + textbook_graphs(150, 3)
    rng.shuffle(specs)
    specs += random_specs(60, seed=4)
    random.Random(5).shuffle(specs)
    lines = [json.dumps(s) for s in specs]
    lines.insert(7, '{"input": {"shape": [30]}, "layers": [{"type": "LSTM", "units": 4}]}')
    lines.insert(50, '{"input": ')
    lines.insert(51, "")
    lines.insert(120, '  {"input": {"shape": [5]}, "layers": [{"type": "Dense", "units": 3}]}  ')
    return lines


def _run(path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "quizgen", "solve", str(path), "--json", *args],
                          capture_output=True, timeout=300)


# sha256 of quizgen solve's stdout for _sample_lines(): first made by the code before the
# speed-up (a82950e); retaken when issue #19 reworded the derivations (the textbook's gate
# names 입력·삭제·셀·출력, state_h/state_c for the states) and when tests/graph_specs.py learned
# the layers of #18 (the random graphs of the sample changed), the lines otherwise identical
BEFORE = {"ko": "4655be74cb21797af9cb951b90e2f304f9d9bc174d96901c1aafd1055135c2d9",
          "en": "1e8690e784f5c7ead77b52cf4e8b83f7949c65c1b42fbbce7e93dfd5b0f29b22"}


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_output_is_byte_for_byte_what_it_was(tmp_path, lang):
    path = tmp_path / "sample.jsonl"
    path.write_text("\n".join(_sample_lines()) + "\n", encoding="utf-8")
    done = _run(path, "--lang", lang)
    assert done.returncode == 1  # the rejected and malformed lines
    assert hashlib.sha256(done.stdout).hexdigest() == BEFORE[lang]


def test_each_line_is_json_dumps_of_the_solution(tmp_path):
    """Every line against the definition, through the command line in a process of its own and
    in this one (click's test runner: another stdout), including graphs whose layers return
    several tensors (the later question kinds)."""
    lines = _sample_lines()
    lines += [json.dumps(generate_question(seed, 1, kind, None, "hard").spec)
              for kind in ZOO_KINDS for seed in range(3)]
    path = tmp_path / "specs.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    want = []
    for line in lines:
        if not line.strip():
            continue
        try:
            want.append(json.dumps(solve_raw(json.loads(line)).to_json("en"), ensure_ascii=False))
        except SpecError as exc:
            want.append(json.dumps({"error": exc.message}, ensure_ascii=False))
        except json.JSONDecodeError:
            want.append(None)  # the malformed line: its message is checked below
    expected = want
    for stdout in (_run(path, "--lang", "en").stdout.decode("utf-8"),
                   CliRunner().invoke(cli, ["solve", str(path), "--json", "--lang", "en"]).stdout):
        got = stdout.splitlines()
        assert len(got) == len(expected)
        for g, w in zip(got, expected):
            if w is None:
                assert json.loads(g)["error"].startswith("malformed JSON")
            else:
                assert g == w


def test_solving_leaves_no_cyclic_garbage():
    """solve turns the cyclic collector off: nothing it makes may need it (a recursive closure
    in the graph walk once left 9 objects per graph)."""
    lines = _sample_lines()
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for line in lines:
            try:
                solve_raw(json.loads(line)).to_json_bytes("ko")
            except (SpecError, ValueError):
                pass
        gc.collect()
        left = len(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert left <= 20, left  # a few type objects made once, never per spec


def test_a_jsonl_file_larger_than_ten_megabytes_is_read(tmp_path):
    """20,000 textbook graph specs take 13 MB; a .jsonl may hold 100 MB (a .json file and stdin
    keep the 10 MB bound)."""
    line = '{"input": {"shape": [30]},' + " " * 1_000_000 + '"layers": [{"type": "Dense", "units": 2}]}'
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join([line] * 11) + "\n", encoding="utf-8")
    done = _run(path)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 11 and json.loads(done.stdout.splitlines()[0])["total_params"] == 62
    big_json = tmp_path / "big.json"
    big_json.write_text(line.replace(" " * 1_000_000, " " * 11_000_000), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "quizgen", "solve", str(big_json)], capture_output=True)
    assert done.returncode == 1 and b"larger than 10,000 kB" in done.stderr


def test_the_collector_is_on_again_after_solve(tmp_path):
    path = tmp_path / "one.json"
    path.write_text('{"input": {"shape": [3]}, "layers": [{"type": "Dense", "units": 2}]}', encoding="utf-8")
    assert gc.isenabled()
    assert CliRunner().invoke(cli, ["solve", str(path), "--json"]).exit_code == 0
    assert gc.isenabled()
    assert CliRunner().invoke(cli, ["solve", str(tmp_path / "missing.json"), "--json"]).exit_code == 1
    assert gc.isenabled()


def test_a_line_that_is_not_valid_utf8_is_written_as_the_text_stream_writes_it(tmp_path):
    """Names decoded from JSON escapes may hold lone surrogates. Such a line cannot be the
    solver's UTF-8 bytes; it goes to stdout as text, as one click.echo per line always did
    (here with surrogateescape: the raw bytes)."""
    path = tmp_path / "odd.jsonl"
    graph = {"inputs": [{"name": "x\udc80", "shape": [3]}],
             "layers": [{"name": "d\udcff", "type": "Dense", "units": 2, "call": ["x\udc80"]}], "outputs": ["d\udcff"]}
    plain = {"input": {"shape": [3]}, "layers": [{"type": "Dense", "units": 2}]}
    path.write_text(json.dumps(plain) + "\n" + json.dumps(graph) + "\n" + json.dumps(plain) + "\n", encoding="utf-8")
    env = {**__import__("os").environ, "PYTHONIOENCODING": "utf-8:surrogateescape"}
    done = subprocess.run([sys.executable, "-m", "quizgen", "solve", str(path), "--json"], capture_output=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    want = [json.dumps(solve_raw(spec).to_json("ko"), ensure_ascii=False).encode("utf-8", "surrogateescape")
            for spec in (plain, graph, plain)]
    assert done.stdout.splitlines() == want and b'"d\xff"' in want[1]
