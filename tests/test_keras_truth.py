"""#18's findings as regression tests, each against the installed Keras building whole models:
model.layers in Keras's order when masks add operations to the graph, merges Keras builds but
cannot run refused, layers no output uses never refusing the model, the names Keras's mask
operations take; and a seeded fuzz of random graphs (bench/bench_graph_fuzz.py runs hundreds)."""

from __future__ import annotations

import random

import pytest

from quizgen.errors import SpecError
from quizgen.nn.layers import KINDS
from quizgen.nn.solver import solve_raw

from .graph_specs import NER, as_sequential, random_graph, random_masked_graph


def _agrees(naive_checker, spec: dict) -> None:
    verdict = naive_checker.check(spec)
    assert verdict.agree, verdict.describe()


def test_masked_concatenate_orders_model_layers_as_keras(naive_checker):
    solution = solve_raw(NER)
    assert [r.name for r in solution.layers] == ["l0", "l2", "l3", "l4", "l5"]
    model, _ = naive_checker.build_model(NER)
    assert [layer.name for layer in model.layers][1:] == ["l0", "l2", "l3", "l4", "l5"]
    _agrees(naive_checker, NER)


def test_the_order_check_sees_a_wrong_order(naive_checker, monkeypatch):
    """The naive checker compares positions in model.layers: without the mask operations the
    solver's order is wrong, and the checker says so."""
    from quizgen.nn import graph
    from quizgen.nn.solver import clear_cache

    monkeypatch.setattr(graph, "MASK_SOURCES", frozenset())  # no layer seen to make a mask
    clear_cache()
    verdict = naive_checker.check(NER)
    clear_cache()
    assert not verdict.agree and "position in model.layers" in verdict.describe()


MERGES_THAT_CANNOT_RUN = {
    # Minimum([Flatten(in1 (None, None, 16)), in0 (None, 8, 6, 3)]): L×16 never broadcasts against 3
    "flatten of a free length against 3": {
        "inputs": [{"name": "in0", "shape": [8, 6, 3]}, {"name": "in1", "shape": [None, 16]}],
        "layers": [{"name": "f", "type": "Flatten", "call": ["in1"]},
                   {"name": "mn", "type": "Minimum", "call": [["f", "in0"]]}], "outputs": ["mn"]},
    "Average of an attention output and its scores": {
        "inputs": [{"name": "q", "shape": [None, 8]}, {"name": "v", "shape": [None, 8]}],
        "layers": [{"name": "att", "type": "Attention", "call": [["q", "v"]],
                    "call_kwargs": {"return_attention_scores": True}},
                   {"name": "avg", "type": "Average", "call": [["att:0", "att:1"]]}], "outputs": ["avg"]},
    "Minimum of a fixed-batch and a free-length input": {
        "inputs": [{"name": "a", "batch_shape": [4, 5]}, {"name": "b", "shape": [None]}],
        "layers": [{"name": "mn", "type": "Minimum", "call": [["a", "b"]]}], "outputs": ["mn"]},
    "Concatenate of a free and a fixed length": {
        "inputs": [{"name": "a", "shape": [None, 3]}, {"name": "b", "shape": [7, 3]}],
        "layers": [{"name": "c", "type": "Concatenate", "call": [["a", "b"]]}], "outputs": ["c"]},
}


@pytest.mark.parametrize("label", list(MERGES_THAT_CANNOT_RUN))
def test_merges_keras_builds_but_cannot_run_are_refused(naive_checker, checker, label):
    spec = MERGES_THAT_CANNOT_RUN[label]
    with pytest.raises(SpecError, match="only runs when that free size happens to be"):
        solve_raw(spec)
    for c in (naive_checker, checker):
        verdict = c.check(spec)
        assert verdict.agree and verdict.keras_error, verdict.describe()


def test_unused_layers_that_would_fail_on_data_do_not_refuse_the_model(naive_checker, checker):
    """Three attention layers with mismatched inputs that no output uses: Keras builds them (it
    infers their outputs) and never runs them; quizgen refused the model."""
    spec = {"inputs": [{"name": "a", "shape": [5, 8]}, {"name": "b", "shape": [7, 3]}],
            "layers": [{"name": "att", "type": "Attention", "call": [["a", "b"]]},
                       {"name": "add", "type": "AdditiveAttention", "call": [["b", "a"]]},
                       {"name": "att2", "type": "Attention", "call": [["att", "b"]]},
                       {"name": "d", "type": "Dense", "units": 2, "call": ["a"]}],
            "outputs": ["d"]}
    assert [r.name for r in solve_raw(spec).layers] == ["d"]
    for c in (naive_checker, checker):
        _agrees(c, spec)
    used = {**spec, "outputs": ["att2"]}
    with pytest.raises(SpecError, match="att"):
        solve_raw(used)
    for c in (naive_checker, checker):
        verdict = c.check(used)
        assert verdict.agree and verdict.keras_error, verdict.describe()


def test_a_layer_named_like_a_mask_operation_is_refused_as_keras_refuses(naive_checker):
    spec = {"inputs": [{"name": "x", "shape": [6]}], "layers": [
        {"name": "e", "type": "Embedding", "input_dim": 9, "output_dim": 2, "mask_zero": True, "call": ["x"]},
        {"name": "not_equal", "type": "Dense", "units": 2, "call": ["e"]},
        {"name": "l", "type": "LSTM", "units": 2, "call": ["not_equal"]}], "outputs": ["l"]}
    with pytest.raises(SpecError, match="'not_equal'"):
        solve_raw(spec)
    verdict = naive_checker.check(spec)
    assert verdict.agree and verdict.keras_error, verdict.describe()


def test_a_concatenate_named_as_keras_names_it_keeps_its_name(naive_checker):
    """In code, Concatenate() is "concatenate" and its mask operation "concatenate_1": a spec
    naming its layer so is what that code builds, not a clash."""
    spec = {"inputs": [{"name": "x", "shape": [6]}], "layers": [
        {"name": "embedding", "type": "Embedding", "input_dim": 9, "output_dim": 2, "mask_zero": True,
         "call": ["x"]},
        {"name": "concatenate", "type": "Concatenate", "call": [["embedding", "embedding"]]},
        {"name": "lstm", "type": "LSTM", "units": 2, "call": ["concatenate"]}], "outputs": ["lstm"]}
    solve_raw(spec)
    _agrees(naive_checker, spec)


def test_every_layer_kind_treats_masks_as_keras_does(checker):
    """LayerKind.mask / mask_arg against the Keras class: supports_masking, whether compute_mask
    is Layer's default, and whether call() takes a mask."""
    from keras.src import utils

    keras = checker.keras
    required = {"Embedding": {"input_dim": 5, "output_dim": 2, "mask_zero": True}, "Dense": {"units": 1},
                "SimpleRNN": {"units": 1}, "LSTM": {"units": 1}, "GRU": {"units": 1}, "Dropout": {"rate": 0.1},
                "SpatialDropout1D": {"rate": 0.1}, "AlphaDropout": {"rate": 0.1}, "GaussianDropout": {"rate": 0.1},
                "GaussianNoise": {"stddev": 0.1}, "Activation": {"activation": "relu"},
                "Reshape": {"target_shape": (1,)},
                "Permute": {"dims": (1,)}, "RepeatVector": {"n": 2}, "Dot": {"axes": 1},
                "MultiHeadAttention": {"num_heads": 1, "key_dim": 1}, "Rescaling": {"scale": 1.0},
                "CategoryEncoding": {"num_tokens": 2},
                "Bidirectional": {"layer": keras.layers.LSTM(1)}, "TimeDistributed": {"layer": keras.layers.Dense(1)},
                **{t: {"filters": 1, "kernel_size": 1} for t in ("Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose",
                                                                 "Conv2DTranspose", "SeparableConv1D",
                                                                 "SeparableConv2D")},
                "DepthwiseConv2D": {"kernel_size": 1}, "AveragePooling1D": {"pool_size": 2},
                "AveragePooling2D": {"pool_size": 2}}
    for name, kind in KINDS.items():
        if name in ("Sequential", "Functional"):  # models used as layers: keras.Sequential, keras.Model
            continue
        layer = getattr(keras.layers, name)(**required.get(name, {}))
        params = layer._call_signature.parameters
        assert kind.mask_arg == ("mask" in params), name
        if kind.mask == "drop":
            assert not layer.supports_masking, name
        else:
            assert layer.supports_masking, name
            assert (kind.mask == "keep") == utils.is_default(layer.compute_mask), name


def test_seeded_random_graphs_agree_with_keras(naive_checker):
    """A few dozen random graphs (and their Sequential chains), and graphs where masks branch
    and merge, each a whole keras.Model: shapes, counts, model.layers order, refusals."""
    rng = random.Random(1818)
    specs = []
    for _ in range(30):
        graph = random_graph(rng, n_layers=10)
        specs += [s for s in (graph, as_sequential(graph)) if s is not None]
    specs += [random_masked_graph(rng) for _ in range(15)]
    outcomes = {"agree": 0, "answered": 0}
    for spec in specs:
        verdict = naive_checker.check(spec)
        assert verdict.agree, (verdict.describe(), spec)
        outcomes["agree"] += 1
        outcomes["answered"] += verdict.keras_error is None
    assert outcomes["answered"] >= 25, outcomes
