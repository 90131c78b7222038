"""The summary table is Keras 3's ``model.summary()``, for Sequential and functional models
alike (#21.11), and ``solve`` prints it.

The table is compared character for character with the summary the installed Keras prints
for the same model built as textbook code builds it, in a terminal of 104 columns (Keras
draws min(88, columns - 4) or min(108, columns - 4)): at most 100 wide. Masked models list
the operations Keras adds for their masks, as Keras does.
"""

from __future__ import annotations

import json
import os
import random

import pytest
from click.testing import CliRunner

from quizgen.cli.main import cli
from quizgen.errors import SpecError
from quizgen.nn.solver import solve_raw
from quizgen.nn.summary import format_summary, readable_size

from .graph_specs import NER, random_graph, random_masked_graph

GRAPHS = os.path.join(os.path.dirname(__file__), "fixtures", "graphs")
FIXTURES = ["seq2seq.json", "text_cnn.json", "bilstm_attention.json", "transformer_key_dim_64.json", "mnist_cnn.json"]


def _load(name: str) -> dict:
    with open(os.path.join(GRAPHS, name), encoding="utf-8") as f:
        return json.load(f)


def _keras_summary(checker, spec: dict) -> str:
    if "inputs" in spec:
        model, _ = checker.build_model(spec, name="functional")
    else:
        from keras.src.utils import naming

        naming.reset_uids()  # layer names as in a fresh session: dense, dense_1...
        keras = checker.keras
        model = keras.Sequential([keras.Input(**spec["input"]), *[checker.build_layer(o) for o in spec["layers"]]],
                                 name="sequential")
    lines: list[str] = []
    model.summary(print_fn=lambda text, **_: lines.append(text))
    return "".join(lines).rstrip("\n")


def _random_graphs(n: int, masked: bool = False) -> list[dict]:
    rng, out = random.Random(4), []
    while len(out) < n:
        spec = random_masked_graph(rng) if masked else random_graph(rng, 9)
        try:
            solve_raw(spec)
        except SpecError:
            continue
        out.append(spec)
    return out


@pytest.fixture
def wide_terminal(monkeypatch):
    # Keras sizes its table by the terminal: min(108, columns - 4), 88 for a chain.
    monkeypatch.setenv("COLUMNS", "104")


@pytest.mark.parametrize("name", FIXTURES)
def test_summary_matches_keras(naive_checker, wide_terminal, name):
    spec = _load(name)
    assert format_summary(solve_raw(spec)) == _keras_summary(naive_checker, spec)


def test_summary_of_random_graphs_matches_keras(naive_checker, wide_terminal):
    for spec in _random_graphs(12) + _random_graphs(8, masked=True):
        assert format_summary(solve_raw(spec)) == _keras_summary(naive_checker, spec), json.dumps(spec)


def test_summary_of_sequential_models_matches_keras(naive_checker, wide_terminal):
    from quizgen.questions.architectures import random_spec

    rng = random.Random(21)
    specs = [random_spec(rng, rng.choice(("easy", "medium", "hard"))) for _ in range(10)]
    specs.append({"input": {"shape": [30]}, "layers": [
        {"type": "Embedding", "input_dim": 5000, "output_dim": 100}, {"type": "SimpleRNN", "units": 128},
        {"type": "Dense", "units": 1, "activation": "sigmoid"}]})
    specs.append({"input": {"shape": [4, 3]}, "layers": [{"type": "Normalization"}, {"type": "Flatten"}]})
    for spec in specs:
        assert format_summary(solve_raw(spec)) == _keras_summary(naive_checker, spec), json.dumps(spec)


def test_the_issue_s_masked_model_lists_what_keras_lists(naive_checker, wide_terminal):
    """#18's BiLSTM-CNN NER case: a masked Embedding feeding a Concatenate; Keras lists l2 before l3."""
    spec = NER
    solution = solve_raw(spec)
    assert [r.name for r in solution.layers] == ["l0", "l2", "l3", "l4", "l5"]
    model, _ = naive_checker.build_model(spec)
    assert [layer.name for layer in model.layers] == ["in0", *[r.name for r in solution.layers]]
    table = format_summary(solve_raw(spec))
    assert table == _keras_summary(naive_checker, spec)
    assert "not_equal (NotEqual)" in table and "l5[0][0]" not in table and "any[0][0]" in table


def test_summary_columns():
    table = format_summary(solve_raw(_load("seq2seq.json"))).splitlines()
    assert table[0] == 'Model: "functional"'
    assert [h.strip() for h in table[2].strip("┃").split("┃")] == ["Layer (type)", "Output Shape", "Param #",
                                                                   "Connected to"]
    assert all(len(line) == 100 for line in table[1:-3])
    assert table[-3] == " Total params: 3,738,480 (14.26 MB)"
    chain = format_summary(solve_raw(_load("mnist_cnn.json"))).splitlines()
    assert "Connected to" not in chain[2] and len(chain[1]) == 88


def test_readable_size_is_keras_1024_based():
    assert readable_size(0) == "0.00 B"
    assert readable_size(1023) == "1023.00 B"
    assert readable_size(2152 * 4) == "8.41 KB"
    assert readable_size(3_738_480 * 4) == "14.26 MB"
    assert readable_size(1024 ** 3) == "1.00 GB"


def _write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_solve_json_for_a_graph(tmp_path):
    path = _write(tmp_path, "s2s.json", json.dumps(_load("seq2seq.json")))
    result = CliRunner().invoke(cli, ["solve", path, "--json", "--lang", "en"])
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    data = json.loads(line)
    assert (data["total_params"], data["trainable_params"], data["non_trainable_params"]) == (3_738_480, 3_738_480, 0)
    assert [r["name"] for r in data["layers"]] == ["enc_emb", "dec_emb", "enc_lstm", "dec_lstm", "out"]
    assert [r["type"] for r in data["layers"]] == ["Embedding", "Embedding", "LSTM", "LSTM", "Dense"]
    lstm = data["layers"][2]
    assert lstm["output_shape"] == [[None, 256], [None, 256], [None, 256]]
    assert lstm["params"] == 394_240 and lstm["derivation"]["formula"] == "4×h×(h+d+1)"
    assert data["layers"][3]["connected_to"] == ["dec_emb[0][0]", "enc_lstm[0][1]", "enc_lstm[0][2]"]


def test_solve_jsonl_mixes_sequential_and_graph_specs(tmp_path):
    lines = [json.dumps(_load("mnist_cnn_sequential.json")), json.dumps(_load("text_cnn.json")),
             json.dumps({"inputs": [{"name": "x", "shape": [3]}], "layers": [
                 {"name": "d", "type": "Dense", "units": 2, "call": ["nope"]}], "outputs": ["d"]})]
    path = _write(tmp_path, "many.jsonl", "\n".join(lines) + "\n")
    result = CliRunner().invoke(cli, ["solve", path, "--json"])
    assert result.exit_code == 1
    first, second, third = [json.loads(x) for x in result.stdout.splitlines()]
    assert first["total_params"] == 34_826 and "connected_to" not in first["layers"][0]
    assert second["total_params"] == 1_434_201
    assert third == {"error": "layer 'd' (Dense): it is called on 'nope', which is no input or layer of this spec"}


def test_solve_prints_the_functional_table_and_named_working(tmp_path):
    path = _write(tmp_path, "s2s.json", json.dumps(_load("seq2seq.json")))
    result = CliRunner().invoke(cli, ["solve", path, "--lang", "en"])
    assert result.exit_code == 0
    assert "Connected to" in result.output and "enc_lstm[0][1]," in result.output
    assert "3. enc_lstm — LSTM: 4×h×(h+d+1) = 4×256×(256+128+1) = 394,240" in result.output
    assert "Total parameters = 640,000 + 768,000 + 394,240 + 394,240 + 1,542,000 = 3,738,480" in result.output


def test_solve_bad_graph_is_one_line(tmp_path):
    spec = {"inputs": [{"name": "x", "shape": [5]}], "layers": [
        {"name": "l", "type": "LSTM", "units": 3, "call": ["x"]}], "outputs": ["l"]}
    path = _write(tmp_path, "bad.json", json.dumps(spec))
    result = CliRunner().invoke(cli, ["solve", path])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.strip() == ("Error: layer 'l' (LSTM): expects 3-D input (batch, timesteps, features), "
                                     "got (None, 5) (2-D)")


def test_solve_verify_confirms_a_graph(checker, tmp_path):
    path = _write(tmp_path, "cnn.json", json.dumps(_load("text_cnn.json")))
    result = CliRunner().invoke(cli, ["solve", path, "--verify", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["keras"]["agree"] is True
