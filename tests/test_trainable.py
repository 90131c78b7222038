"""Frozen weights (#18.1): ``trainable=False`` on a layer, inside a wrapper, or on the whole
model moves every weight it covers to the non-trainable count, as Keras does; the table,
the derivation and the split follow. Every case is also built by the installed Keras."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from quizgen.cli.main import cli
from quizgen.nn.solver import solve_raw

# The issue's minimal case: quizgen answered 10,000 trainable; Keras says 0.
FROZEN_EMBEDDING = {"input": {"shape": [5]}, "layers": [
    {"type": "Embedding", "input_dim": 1000, "output_dim": 10, "trainable": False}, {"type": "Flatten"}]}

# keras.io "Using pre-trained word embeddings": a frozen 20,002 × 100 GloVe table under a 1-D CNN.
# quizgen answered 2,247,516 trainable / 0 non-trainable; Keras: 247,316 / 2,000,200.
GLOVE_CNN = {
    "inputs": [{"name": "input_layer", "shape": [None]}],
    "layers": [
        {"name": "embedding", "type": "Embedding", "input_dim": 20002, "output_dim": 100, "trainable": False,
         "call": ["input_layer"]},
        {"name": "conv1d", "type": "Conv1D", "filters": 128, "kernel_size": 5, "activation": "relu",
         "call": ["embedding"]},
        {"name": "max_pooling1d", "type": "MaxPooling1D", "pool_size": 5, "call": ["conv1d"]},
        {"name": "conv1d_1", "type": "Conv1D", "filters": 128, "kernel_size": 5, "activation": "relu",
         "call": ["max_pooling1d"]},
        {"name": "max_pooling1d_1", "type": "MaxPooling1D", "pool_size": 5, "call": ["conv1d_1"]},
        {"name": "conv1d_2", "type": "Conv1D", "filters": 128, "kernel_size": 5, "activation": "relu",
         "call": ["max_pooling1d_1"]},
        {"name": "global_max_pooling1d", "type": "GlobalMaxPooling1D", "call": ["conv1d_2"]},
        {"name": "dense", "type": "Dense", "units": 128, "activation": "relu", "call": ["global_max_pooling1d"]},
        {"name": "dropout", "type": "Dropout", "rate": 0.5, "call": ["dense"]},
        {"name": "dense_1", "type": "Dense", "units": 20, "activation": "softmax", "call": ["dropout"]},
    ],
    "outputs": ["dense_1"],
}


def test_the_issue_s_frozen_embedding_is_non_trainable(checker):
    solution = solve_raw(FROZEN_EMBEDDING)
    assert (solution.trainable_params, solution.non_trainable_params) == (0, 10_000)
    row = solution.layers[0]
    assert (row.trainable, row.non_trainable) == (0, 10_000)
    assert "frozen" in row.derivation.notes
    assert "Frozen (trainable=False)" in row.derivation.to_text("en")
    assert "동결" in row.derivation.to_text("ko")
    verdict = checker.check(FROZEN_EMBEDDING)
    assert verdict.agree and verdict.keras_error is None, verdict.describe()


def test_glove_cnn_counts_as_keras_does(checker, naive_checker):
    solution = solve_raw(GLOVE_CNN)
    assert (solution.trainable_params, solution.non_trainable_params) == (247_316, 2_000_200)
    for c in (checker, naive_checker):
        verdict = c.check(GLOVE_CNN)
        assert verdict.agree and verdict.keras_error is None, verdict.describe()


CASES = {
    "frozen Dense": {"input": {"shape": [4]}, "layers": [{"type": "Dense", "units": 3, "trainable": False},
                                                         {"type": "Dense", "units": 1}]},
    "frozen BatchNormalization": {"input": {"shape": [4]}, "layers": [
        {"type": "BatchNormalization", "trainable": False}]},
    "TimeDistributed of a frozen Dense": {"input": {"shape": [5, 4]}, "layers": [
        {"type": "TimeDistributed", "layer": {"type": "Dense", "units": 3, "trainable": False}}]},
    "frozen TimeDistributed": {"input": {"shape": [5, 4]}, "layers": [
        {"type": "TimeDistributed", "trainable": False, "layer": {"type": "Dense", "units": 3}}]},
    "Bidirectional of a frozen LSTM": {"input": {"shape": [5, 4]}, "layers": [
        {"type": "Bidirectional", "layer": {"type": "LSTM", "units": 3, "trainable": False}},
        {"type": "Dense", "units": 1}]},
    "frozen Bidirectional": {"input": {"shape": [5, 4]}, "layers": [
        {"type": "Bidirectional", "trainable": False, "layer": {"type": "GRU", "units": 3}}]},
    "frozen model": {"input": {"shape": [4]}, "trainable": False, "layers": [
        {"type": "Dense", "units": 3}, {"type": "BatchNormalization"}, {"type": "Dense", "units": 1}]},
    "frozen graph model": {
        "inputs": [{"name": "x", "shape": [4]}], "trainable": False,
        "layers": [{"name": "d", "type": "Dense", "units": 3, "call": ["x"]},
                   {"name": "bn", "type": "BatchNormalization", "call": ["d"]}],
        "outputs": ["bn"]},
}


@pytest.mark.parametrize("label", list(CASES))
def test_frozen_cases_agree_with_keras_both_ways(checker, naive_checker, label):
    spec = CASES[label]
    solution = solve_raw(spec)
    assert solution.non_trainable_params > 0
    for c in (checker, naive_checker):
        verdict = c.check(spec, solution)
        assert verdict.agree and verdict.keras_error is None, (label, verdict.describe())


def test_the_frozen_model_summary_and_working(tmp_path):
    path = tmp_path / "glove.json"
    path.write_text(json.dumps(GLOVE_CNN), encoding="utf-8")
    result = CliRunner().invoke(cli, ["solve", str(path), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "Trainable params: 247,316" in result.output
    assert "Non-trainable params: 2,000,200" in result.output
    assert "of which trainable 247,316, non-trainable 2,000,200" in result.output
    assert "1. embedding — Embedding: V×E = 20002×100 = 2,000,200" in result.output
    data = json.loads(CliRunner().invoke(cli, ["solve", str(path), "--json"]).stdout)
    assert (data["trainable_params"], data["non_trainable_params"]) == (247_316, 2_000_200)
    assert data["layers"][0]["non_trainable"] == 2_000_200


def test_trainable_must_be_a_boolean():
    from quizgen.errors import SpecError

    with pytest.raises(SpecError, match='"trainable" must be true or false'):
        solve_raw({**CASES["frozen model"], "trainable": "no"})


def test_a_frozen_layer_counted_as_trainable_is_a_named_slip():
    from quizgen.grading.misconceptions import slip_tables

    spec = {"input": {"shape": [4]}, "layers": [
        {"type": "Dense", "units": 3, "trainable": False}, {"type": "BatchNormalization"},
        {"type": "Dense", "units": 1}]}
    solution = solve_raw(spec)
    assert solution.frozen_params() == 15
    assert (solution.trainable_params, solution.non_trainable_params) == (6 + 4, 15 + 6)
    answer = {"type": "parts", "parts": [{"key": "trainable", "value": 10}, {"key": "non_trainable", "value": 21}]}
    tables = slip_tables("trainable-split", answer, solution)
    assert tables["trainable"][25] == "frozen_counted_trainable"
    assert tables["non_trainable"][6] == "frozen_counted_trainable"
