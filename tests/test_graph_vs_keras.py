"""Graph specs and the new layers against real Keras: shapes, counts, order, rejections.

Keras is the truth here: every layer of every spec is built by the installed Keras
(tests/conftest.py's session checker) and compared with the solver; a spec one
of them refuses must be refused by the other.
"""

from __future__ import annotations

import json
import os
import random

import pytest

from quizgen.errors import SpecError
from quizgen.nn.layers import KINDS
from quizgen.nn.solver import solve_raw

from .graph_specs import as_sequential, random_graph, textbook_graphs

GRAPHS = os.path.join(os.path.dirname(__file__), "fixtures", "graphs")


def _load(name: str) -> dict:
    with open(os.path.join(GRAPHS, name), encoding="utf-8") as f:
        return json.load(f)


def _types(obj: dict) -> set[str]:
    out = {obj["type"]}
    if "layer" in obj:
        out |= _types(obj["layer"])
    return out


def _options(obj: dict) -> set[str]:
    found = {k for k in obj if k not in ("type", "name", "call", "call_kwargs", "layer")}
    found |= {f"call.{k}" for k in obj.get("call_kwargs", {})}
    found |= {f"layer.{k}" for k in obj.get("layer", {})}
    return found


@pytest.mark.slow
def test_hundreds_of_random_graphs_agree_with_keras(checker):
    rng = random.Random(20261201)
    failures, accepted, rejected = [], 0, 0
    seen_types: set[str] = set()
    seen_options: set[str] = set()
    sequential = 0
    for _ in range(600):
        graph = random_graph(rng, n_layers=10)
        for spec in (graph, as_sequential(graph)):
            if spec is None:
                continue
            sequential += "input" in spec
            verdict = checker.check(spec)
            if not verdict.agree:
                failures.append((spec, verdict.describe()))
            if verdict.keras_error is None:
                accepted += 1
                for layer in [obj for obj in spec["layers"] if "type" in obj]:
                    seen_types |= _types(layer)
                    seen_options |= {f"{layer['type']}.{o}" for o in _options(layer)}
            else:
                rejected += 1
    assert not failures, failures[:3]
    assert accepted >= 350 and rejected >= 100 and sequential >= 30, (accepted, rejected, sequential)
    # the lookups take text or integer ids, which the generator never makes (tests/test_new_layers.py has them)
    lookups = {"CategoryEncoding", "IntegerLookup", "StringLookup", "TextVectorization"}
    lookups |= {"Functional"}  # tests/test_nested.py builds functional models used as layers
    assert not set(KINDS) - seen_types - lookups, sorted(set(KINDS) - seen_types - lookups)
    for option in ("LSTM.return_state", "GRU.call.initial_state", "LSTM.call.initial_state",
                   "Bidirectional.merge_mode", "Bidirectional.layer.return_state",
                   "Attention.use_scale", "Attention.score_mode", "Attention.call.return_attention_scores",
                   "AdditiveAttention.use_scale", "MultiHeadAttention.call.key", "MultiHeadAttention.value_dim",
                   "MultiHeadAttention.output_shape", "MultiHeadAttention.use_bias", "MultiHeadAttention.use_gate",
                   "MultiHeadAttention.call.use_causal_mask", "MultiHeadAttention.call.return_attention_scores",
                   "Conv2D.strides", "Conv2D.padding", "Conv2D.dilation_rate", "Conv2D.groups",
                   "Conv2D.data_format", "DepthwiseConv2D.depth_multiplier", "SeparableConv2D.depth_multiplier",
                   "MaxPooling2D.strides", "AveragePooling2D.pool_size", "GlobalMaxPooling2D.keepdims",
                   "Concatenate.axis", "Dot.axes", "Dot.normalize", "Reshape.target_shape", "Permute.dims",
                   "RepeatVector.n", "Masking.mask_value", "Conv1D.data_format", "SeparableConv1D.strides"):
        assert option in seen_options, option


@pytest.mark.slow
def test_textbook_graphs_agree_with_keras(checker):
    for spec in textbook_graphs(60, seed=3):
        solution = solve_raw(spec)
        assert len(solution.layers) == 10
        verdict = checker.check(spec, solution)
        assert verdict.agree and verdict.keras_error is None, (verdict.describe(), spec)


@pytest.mark.slow
def test_memoised_checker_matches_naive_functional_models(checker, naive_checker):
    """Both paths reach the same verdict, and the naive one reads Keras's own model.layers
    order, which the solver's row order must equal (a different order is a disagreement)."""
    rng = random.Random(77)
    for _ in range(120):
        spec = random_graph(rng, n_layers=10)
        fast, naive = checker.check(spec), naive_checker.check(spec)
        assert fast.agree == naive.agree, (spec, fast.describe(), naive.describe())
        assert (fast.keras_error is None) == (naive.keras_error is None), spec
        assert fast.observed == naive.observed, spec
        assert naive.agree, (spec, naive.describe())


TEXTBOOK = [
    # file, total, {layer: output shape}, Keras must agree
    ("seq2seq.json", 3_738_480, {"enc_lstm": [[None, 256], [None, 256], [None, 256]],
                                 "dec_lstm": [None, None, 256]}),
    ("text_cnn.json", 1_434_201, {"concat": [None, 300], "conv5": [None, 96, 100]}),
    ("bilstm_attention.json", 739_073, {"bilstm": [[None, None, 128], [None, 64], [None, 64], [None, 64], [None, 64]],
                                        "attention": [None, 1, 128]}),
    ("transformer_key_dim_64.json", 3_152_384, {"mha": [None, 100, 512]}),
    ("transformer_key_dim_512.json", 10_503_168, {"mha": [None, 100, 512]}),
    ("mnist_cnn.json", 34_826, {"pool2": [None, 5, 5, 64], "flatten": [None, 1600]}),
    ("mnist_cnn_sequential.json", 34_826, {"max_pooling2d_1": [None, 5, 5, 64]}),
]


@pytest.mark.parametrize("name,total,shapes", TEXTBOOK, ids=[t[0] for t in TEXTBOOK])
def test_textbook_patterns(checker, name, total, shapes):
    spec = _load(name)
    solution = solve_raw(spec)
    data = solution.to_json("en")
    assert data["total_params"] == total
    by_name = {row["name"]: row for row in data["layers"]}
    for layer, shape in shapes.items():
        assert by_name[layer]["output_shape"] == shape, layer
    verdict = checker.check(spec, solution)
    assert verdict.agree and verdict.keras_error is None, verdict.describe()


def test_transformer_attention_counts_both_conventions():
    """key_dim = d/H: four d×d projections with biases, 4(d²+d); key_dim = d: H times as wide."""
    small = solve_raw(_load("transformer_key_dim_64.json")).layers[0]
    wide = solve_raw(_load("transformer_key_dim_512.json")).layers[0]
    d, h = 512, 8
    assert small.params == 4 * (d * d + d)
    assert wide.params == 3 * h * d * (d + 1) + h * d * d + d
    assert small.derivation.formula() == "H×k×(d+1)+H×k×(d+1)+H×k×(d+1)+H×k×d+d"


def _graph(layers: list[dict], inputs: list[dict] | None = None, outputs: list[str] | None = None) -> dict:
    return {"inputs": inputs or [{"name": "x", "shape": [7, 16]}], "layers": layers,
            "outputs": outputs or [layers[-1]["name"]]}


def _l(name: str, call: list, kwargs: dict | None = None, **ctor) -> dict:
    obj = {"name": name, **ctor, "call": call}
    if kwargs is not None:
        obj["call_kwargs"] = kwargs
    return obj


SEQ = [{"name": "x", "shape": [7, 16]}]
TWO = [{"name": "x", "shape": [7, 16]}, {"name": "y", "shape": [9, 16]}]
STATES = [{"name": "x", "shape": [7, 16]}, {"name": "h", "shape": [32]}, {"name": "c", "shape": [32]}]

ACCEPTED = [
    ("unused input is kept", _graph([_l("d", ["x"], type="Dense", units=3)], TWO)),
    (
        "a layer no output needs is left out",
        _graph([_l("a", ["x"], type="Dense", units=3), _l("b", ["x"], type="Dense", units=2)], outputs=["b"]),
    ),
    (
        "an input as the output",
        {"inputs": SEQ, "layers": [_l("d", ["x"], type="Dense", units=3)], "outputs": ["x", "d"]},
    ),
    (
        "Bidirectional merge_mode None",
        _graph(
            [
                _l("bi", ["x"], type="Bidirectional", merge_mode=None, layer={"type": "GRU", "units": 4}),
                _l("add", [["bi:0", "bi:1"]], type="Add"),
            ]
        ),
    ),
    (
        "Bidirectional LSTM return_state: 5 tensors",
        _graph(
            [_l("bi", ["x"], type="Bidirectional", layer={"type": "LSTM", "units": 4, "return_state": True})],
            outputs=["bi:0", "bi:4"],
        ),
    ),
    (
        "Bidirectional GRU return_state: 3 tensors",
        _graph(
            [
                _l(
                    "bi",
                    ["x"],
                    type="Bidirectional",
                    merge_mode="sum",
                    layer={"type": "GRU", "units": 4, "return_state": True},
                )
            ],
            outputs=["bi:2"],
        ),
    ),
    (
        "LSTM initial_state from inputs",
        _graph([_l("l", ["x"], {"initial_state": ["h", "c"]}, type="LSTM", units=32)], STATES),
    ),
    ("GRU initial_state as one tensor", _graph([_l("g", ["x"], {"initial_state": "h"}, type="GRU", units=32)], STATES)),
    (
        "initial_state positionally",
        _graph([_l("g", ["x", ["h"]], type="SimpleRNN", units=32, return_state=True)], STATES, outputs=["g:1"]),
    ),
    (
        "Bidirectional initial_state: 4 tensors",
        _graph(
            [
                _l(
                    "bi",
                    ["x"],
                    {"initial_state": ["h", "c", "h", "c"]},
                    type="Bidirectional",
                    layer={"type": "LSTM", "units": 32},
                )
            ],
            STATES,
        ),
    ),
    (
        "Attention with scale and concat scores",
        _graph([_l("a", [["x", "x"]], type="Attention", use_scale=True, score_mode="concat")]),
    ),
    ("Attention query and value of different lengths", _graph([_l("a", [["x", "y"]], type="Attention")], TWO)),
    (
        "Attention returns its scores",
        _graph([_l("a", [["x", "y", "y"]], {"return_attention_scores": True}, type="Attention")], TWO, outputs=["a:1"]),
    ),
    (
        "AdditiveAttention without scale",
        _graph([_l("a", [["x", "y"]], type="AdditiveAttention", use_scale=False)], TWO),
    ),
    (
        "MultiHeadAttention cross attention",
        _graph(
            [
                _l(
                    "m",
                    ["x", "y"],
                    {"key": "y"},
                    type="MultiHeadAttention",
                    num_heads=4,
                    key_dim=8,
                    value_dim=6,
                    output_shape=[4, 2],
                )
            ],
            TWO,
        ),
    ),
    (
        "MultiHeadAttention of different widths",
        _graph(
            [_l("m", ["x", "y"], type="MultiHeadAttention", num_heads=2, key_dim=3, use_bias=False, use_gate=True)],
            [{"name": "x", "shape": [7, 16]}, {"name": "y", "shape": [9, 5]}],
        ),
    ),
    (
        "MultiHeadAttention scores, equal lengths",
        _graph(
            [
                _l(
                    "m",
                    ["x", "x"],
                    {"return_attention_scores": True, "use_causal_mask": True},
                    type="MultiHeadAttention",
                    num_heads=2,
                    key_dim=4,
                )
            ],
            outputs=["m:1"],
        ),
    ),
    ("Concatenate along time", _graph([_l("c", [["x", "y"]], type="Concatenate", axis=1)], TWO)),
    (
        "Add broadcasts a length of 1",
        _graph([_l("g", ["x"], type="GlobalAveragePooling1D", keepdims=True), _l("a", [["g", "x"]], type="Add")]),
    ),
    ("Add of one tensor", _graph([_l("a", [["x"]], type="Add")])),
    ("Dot over the feature axes", _graph([_l("d", [["x", "y"]], type="Dot", axes=[2, 2])], TWO)),
    (
        "Dot of vectors, normalized",
        _graph([_l("d", [["x", "x"]], type="Dot", axes=1, normalize=True)], [{"name": "x", "shape": [8]}]),
    ),
    (
        "Reshape on an unknown length",
        _graph([_l("r", ["x"], type="Reshape", target_shape=[-1, 4])], [{"name": "x", "shape": [None, 8]}]),
    ),
    ("Permute 4-D", _graph([_l("p", ["x"], type="Permute", dims=[3, 1, 2])], [{"name": "x", "shape": [4, 5, 6]}])),
    ("RepeatVector", _graph([_l("r", ["x"], type="RepeatVector", n=3)], [{"name": "x", "shape": [8]}])),
    (
        "Masking then LSTM",
        _graph([_l("m", ["x"], type="Masking", mask_value=0.0), _l("l", ["m"], type="LSTM", units=3)]),
    ),
    ("Activation", _graph([_l("a", ["x"], type="Activation", activation="softmax")])),
    (
        "Conv2D channels_first",
        _graph(
            [_l("c", ["x"], type="Conv2D", filters=4, kernel_size=3, data_format="channels_first")],
            [{"name": "x", "shape": [3, 12, 12]}],
        ),
    ),
    (
        "DepthwiseConv2D strides and dilation",
        _graph(
            [_l("c", ["x"], type="DepthwiseConv2D", kernel_size=3, strides=2, dilation_rate=2)],
            [{"name": "x", "shape": [20, 20, 3]}],
        ),
    ),
    ("SeparableConv1D", _graph([_l("c", ["x"], type="SeparableConv1D", filters=4, kernel_size=3, depth_multiplier=2)])),
    (
        "pooling with same padding",
        _graph(
            [_l("p", ["x"], type="AveragePooling2D", pool_size=3, strides=2, padding="same")],
            [{"name": "x", "shape": [9, 9, 2]}],
        ),
    ),
    (
        "Flatten of an image of unknown width",
        _graph([_l("f", ["x"], type="Flatten")], [{"name": "x", "shape": [4, None, 3]}]),
    ),
    (
        "a fixed batch",
        _graph(
            [_l("l", ["x"], {"initial_state": ["h"]}, type="GRU", units=32)],
            [{"name": "x", "batch_shape": [4, 7, 16]}, {"name": "h", "batch_shape": [4, 32]}],
        ),
    ),
    (
        "Sequential Conv2D stack",
        {
            "input": {"shape": [32, 32, 3]},
            "layers": [
                {"type": "Conv2D", "filters": 8, "kernel_size": 3, "padding": "same"},
                {"type": "MaxPooling2D"},
                {"type": "SeparableConv2D", "filters": 4, "kernel_size": [3, 1]},
                {"type": "GlobalAveragePooling2D", "keepdims": True},
                {"type": "Flatten"},
            ],
        },
    ),
]


@pytest.mark.parametrize("label,spec", ACCEPTED, ids=[a for a, _ in ACCEPTED])
def test_edge_cases_keras_accepts(checker, label, spec):
    solution = solve_raw(spec)
    verdict = checker.check(spec, solution)
    assert verdict.agree and verdict.keras_error is None, verdict.describe()


REJECTED = [
    (
        "LSTM initial_state with one state",
        _graph([_l("l", ["x"], {"initial_state": ["h"]}, type="LSTM", units=32)], STATES),
        "initial_state needs 2 tensors",
    ),
    (
        "LSTM initial_state of the wrong width",
        _graph([_l("l", ["x"], {"initial_state": ["h", "c"]}, type="LSTM", units=16)], STATES),
        "initial_state[0] must have shape (None, 16)",
    ),
    (
        "Bidirectional LSTM with two states",
        _graph(
            [_l("bi", ["x"], {"initial_state": ["h", "c"]}, type="Bidirectional", layer={"type": "LSTM", "units": 32})],
            STATES,
        ),
        "initial_state needs 4 tensors",
    ),
    (
        "SimpleRNN with two states",
        _graph([_l("s", ["x"], {"initial_state": ["h", "c"]}, type="SimpleRNN", units=32)], STATES),
        "initial_state needs 1 tensor",
    ),
    (
        "Attention widths differ",
        _graph(
            [_l("a", [["x", "y"]], type="Attention")], [{"name": "x", "shape": [7, 16]}, {"name": "y", "shape": [9, 8]}]
        ),
        "query and key must have the same last dimension",
    ),
    (
        "Attention key and value lengths differ",
        _graph([_l("a", [["x", "x", "y"]], type="Attention")], TWO),
        "key and value must have the same length",
    ),
    ("Attention on one tensor", _graph([_l("a", ["x"], type="Attention")]), "is called on ONE list"),
    (
        "MultiHeadAttention key and value lengths differ",
        _graph([_l("m", ["x", "x"], {"key": "y"}, type="MultiHeadAttention", num_heads=2, key_dim=4)], TWO),
        "all dimensions of value and key",
    ),
    (
        "MultiHeadAttention on 2-D",
        _graph([_l("m", ["x", "x"], type="MultiHeadAttention", num_heads=2, key_dim=4)], [{"name": "x", "shape": [8]}]),
        "at least 3 dimensions",
    ),
    (
        "MultiHeadAttention scores of different lengths",
        _graph(
            [_l("m", ["x", "y"], {"return_attention_scores": True}, type="MultiHeadAttention", num_heads=2, key_dim=4)],
            TWO,
        ),
        "scores",
    ),
    (
        "Concatenate of different lengths",
        _graph([_l("c", [["x", "y"]], type="Concatenate")], TWO),
        "must match on every axis except",
    ),
    (
        "Add of different widths",
        _graph([_l("a", [["x", "y"]], type="Add")], [{"name": "x", "shape": [7, 16]}, {"name": "y", "shape": [7, 8]}]),
        "incompatible shapes",
    ),
    ("Subtract of three", _graph([_l("s", [["x", "x", "x"]], type="Subtract")]), "exactly 2"),
    ("Dot of different sizes", _graph([_l("d", [["x", "y"]], type="Dot", axes=1)], TWO), "differ"),
    ("Dot over the batch axis", _graph([_l("d", [["x", "x"]], type="Dot", axes=0)]), "batch axis"),
    ("Reshape to another size", _graph([_l("r", ["x"], type="Reshape", target_shape=[5, 5])]), "cannot reshape"),
    ("Permute of the wrong rank", _graph([_l("p", ["x"], type="Permute", dims=[3, 2, 1])]), "expects 4-D"),
    ("RepeatVector on 3-D", _graph([_l("r", ["x"], type="RepeatVector", n=2)]), "expects 2-D"),
    ("Conv2D on a sequence", _graph([_l("c", ["x"], type="Conv2D", filters=2, kernel_size=3)]), "expects 4-D"),
    (
        "Conv2D kernel larger than the image",
        _graph([_l("c", ["x"], type="Conv2D", filters=2, kernel_size=[3, 9])], [{"name": "x", "shape": [8, 8, 1]}]),
        "spans 9 columns",
    ),
    (
        "Conv2D strides with dilation",
        _graph(
            [_l("c", ["x"], type="Conv2D", filters=2, kernel_size=3, strides=[1, 2], dilation_rate=[2, 1])],
            [{"name": "x", "shape": [20, 20, 1]}],
        ),
        "strides > 1",
    ),
    (
        "Conv2D groups",
        _graph(
            [_l("c", ["x"], type="Conv2D", filters=4, kernel_size=1, groups=2)], [{"name": "x", "shape": [5, 5, 3]}]
        ),
        "divisible by groups",
    ),
    (
        "MaxPooling2D larger than the image",
        _graph([_l("p", ["x"], type="MaxPooling2D", pool_size=3)], [{"name": "x", "shape": [2, 2, 1]}]),
        "pool spans 3",
    ),
    ("GlobalAveragePooling2D on a sequence", _graph([_l("g", ["x"], type="GlobalAveragePooling2D")]), "expects 4-D"),
    (
        "AdditiveAttention on an unknown width",
        _graph([_l("a", [["x", "x"]], type="AdditiveAttention")], [{"name": "x", "shape": [7, None]}]),
        "unknown",
    ),
    (
        "Concatenate in a Sequential model",
        {"input": {"shape": [4]}, "layers": [{"type": "Concatenate"}]},
        "cannot be one step of a Sequential model",
    ),
    (
        "MultiHeadAttention in a Sequential model",
        {"input": {"shape": [3, 4]}, "layers": [{"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 2}]},
        "cannot be one step of a Sequential model",
    ),
    (
        "Bidirectional merge_mode None in a Sequential model",
        {
            "input": {"shape": [3, 4]},
            "layers": [{"type": "Bidirectional", "layer": {"type": "GRU", "units": 2}, "merge_mode": None}],
        },
        "returns 2 tensors",
    ),
]


@pytest.mark.parametrize("label,spec,reason", REJECTED, ids=[a for a, _, _ in REJECTED])
def test_specs_keras_rejects_are_rejected(checker, label, spec, reason):
    with pytest.raises(SpecError) as info:
        solve_raw(spec)
    message = info.value.message
    assert reason in message, message
    assert "\n" not in message
    if "inputs" in spec:
        name, kind = spec["layers"][-1]["name"], spec["layers"][-1]["type"]
        assert message.startswith(f"layer '{name}' ({kind}"), message
    verdict = checker.check(spec)
    assert verdict.keras_error is not None, f"Keras accepted {label}"
    assert verdict.agree


def test_keras_order_of_a_branching_model(naive_checker):
    """model.layers of a graph with branches, an unused input and outputs of several depths."""
    spec = {"inputs": [{"name": "x", "shape": [7, 16]}, {"name": "unused", "shape": [3]}],
            "layers": [_l("bi", ["x"], type="Bidirectional", layer={"type": "LSTM", "units": 8, "return_state": True}),
                       _l("att", [["x", "x"]], type="Attention"),
                       _l("mha", ["x", "x"], {"key": "x"}, type="MultiHeadAttention", num_heads=2, key_dim=4),
                       _l("cat", [["bi:0", "bi:1", "bi:3"]], type="Concatenate"),
                       _l("gap", ["att"], type="GlobalAveragePooling1D")],
            "outputs": ["cat", "gap", "mha", "bi:2"]}
    solution = solve_raw(spec)
    assert list(solution.graph.order) == ["x", "bi", "att", "unused", "cat", "gap", "mha"]
    model, _ = naive_checker.build_model(spec)
    assert [layer.name for layer in model.layers] == list(solution.graph.order)
