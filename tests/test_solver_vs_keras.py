"""The analytic solver against real Keras: shapes and counts per layer, and rejections."""

from __future__ import annotations

import random

import pytest

from quizgen.errors import SpecError
from quizgen.nn.solver import solve_raw
from quizgen.questions.architectures import FAMILIES, random_spec

SEED_QUIZ = {"input": {"shape": [30]}, "layers": [
    {"type": "Embedding", "input_dim": 5000, "output_dim": 100},
    {"type": "SimpleRNN", "units": 128},
    {"type": "Dense", "units": 1, "activation": "sigmoid"}]}


def _random_specs(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    specs = []
    for i in range(n):
        difficulty = ("easy", "medium", "hard")[i % 3]
        specs.append(random_spec(rng, difficulty, FAMILIES[i % len(FAMILIES)], exotic=i % 4 != 0))
    return specs


def _layer_types(obj: dict) -> set[str]:
    out = {obj["type"]}
    if "layer" in obj:
        out |= _layer_types(obj["layer"])
    return out


@pytest.mark.slow
def test_hundreds_of_random_specs_agree_with_keras(checker):
    specs = _random_specs(420, seed=20261128)
    accepted, seen_types, seen_options = 0, set(), set()
    failures = []
    for spec in specs:
        verdict = checker.check(spec)
        if not verdict.agree:
            failures.append((spec, verdict.describe()))
        if verdict.keras_error is None:
            accepted += 1
            for layer in spec["layers"]:
                seen_types |= _layer_types(layer)
                seen_options |= {k for k in layer if k != "type"}
                seen_options |= {f"layer.{k}" for k in layer.get("layer", {})}
    assert not failures, failures[:5]
    assert accepted >= 300
    assert seen_types == {
        "Embedding", "SimpleRNN", "LSTM", "GRU", "Bidirectional", "Dense", "TimeDistributed",
        "Dropout", "SpatialDropout1D", "Flatten", "GlobalAveragePooling1D", "GlobalMaxPooling1D",
        "Conv1D", "MaxPooling1D", "BatchNormalization", "LayerNormalization"}
    for option in ("mask_zero", "input_length", "merge_mode", "return_sequences", "use_bias",
                   "layer.reset_after", "layer.stateful", "stateful", "padding", "strides",
                   "dilation_rate", "groups", "data_format", "axis", "rms_scaling", "keepdims"):
        assert option in seen_options, option


def test_seed_quiz_is_529441(checker):
    solution = solve_raw(SEED_QUIZ)
    assert solution.total_params == 529_441
    assert [r.params for r in solution.layers] == [500_000, 29_312, 129]
    assert checker.check(SEED_QUIZ, solution).agree


ACCEPTED_EDGES = [
    ("Dense(True) is one unit", {"input": {"shape": [4]}, "layers": [{"type": "Dense", "units": True}]}),
    ("Dropout rate 1.0", {"input": {"shape": [4]}, "layers": [{"type": "Dropout", "rate": 1.0}]}),
    (
        "RNN dropout is clipped",
        {"input": {"shape": [3, 4]}, "layers": [{"type": "SimpleRNN", "units": 3, "dropout": 1.5}]},
    ),
    (
        "conv kernel equals length",
        {"input": {"shape": [3, 4]}, "layers": [{"type": "Conv1D", "filters": 2, "kernel_size": 3}]},
    ),
    ("pool equals length", {"input": {"shape": [3, 4]}, "layers": [{"type": "MaxPooling1D", "pool_size": 3}]}),
    (
        "causal stride",
        {
            "input": {"shape": [30, 4]},
            "layers": [{"type": "Conv1D", "filters": 2, "kernel_size": 3, "padding": "causal", "strides": 2}],
        },
    ),
    (
        "conv kernel as list",
        {"input": {"shape": [7, 4]}, "layers": [{"type": "Conv1D", "filters": 3, "kernel_size": [2]}]},
    ),
    (
        "conv on unknown length",
        {"input": {"shape": [None, 4]}, "layers": [{"type": "Conv1D", "filters": 6, "kernel_size": 3}]},
    ),
    ("flatten unknown", {"input": {"shape": [None, 4]}, "layers": [{"type": "Flatten"}]}),
    ("embedding rank 0", {"input": {"shape": []}, "layers": [{"type": "Embedding", "input_dim": 5, "output_dim": 2}]}),
    (
        "embedding on 2-D ids",
        {"input": {"shape": [4, 5]}, "layers": [{"type": "Embedding", "input_dim": 50, "output_dim": 3}]},
    ),
    ("dense on 4-D", {"input": {"shape": [2, 3, 4]}, "layers": [{"type": "Dense", "units": 5}]}),
    (
        "TD over LSTM",
        {
            "input": {"shape": [3, 10, 4]},
            "layers": [{"type": "TimeDistributed", "layer": {"type": "LSTM", "units": 2}}],
        },
    ),
    (
        "TD over Conv1D",
        {
            "input": {"shape": [3, 10, 4]},
            "layers": [{"type": "TimeDistributed", "layer": {"type": "Conv1D", "filters": 2, "kernel_size": 3}}],
        },
    ),
    (
        "TD over Embedding",
        {
            "input": {"shape": [3, 4]},
            "layers": [{"type": "TimeDistributed", "layer": {"type": "Embedding", "input_dim": 10, "output_dim": 2}}],
        },
    ),
    (
        "stateful bidirectional",
        {
            "input": {"batch_shape": [8, 3, 4]},
            "layers": [{"type": "Bidirectional", "layer": {"type": "GRU", "units": 3, "stateful": True}}],
        },
    ),
    (
        "LN rms without scale",
        {"input": {"shape": [3, 4]}, "layers": [{"type": "LayerNormalization", "rms_scaling": True, "scale": False}]},
    ),
    ("LN over two axes", {"input": {"shape": [3, 4]}, "layers": [{"type": "LayerNormalization", "axis": [1, 2]}]}),
    ("BN on the time axis", {"input": {"shape": [3, 4]}, "layers": [{"type": "BatchNormalization", "axis": 1}]}),
    (
        "GAP channels_first keepdims",
        {
            "input": {"shape": [4, 30]},
            "layers": [{"type": "GlobalMaxPooling1D", "data_format": "channels_first", "keepdims": True}],
        },
    ),
    (
        "pool channels_first",
        {"input": {"shape": [4, 30]}, "layers": [{"type": "MaxPooling1D", "data_format": "channels_first"}]},
    ),
    ("zero batch", {"input": {"batch_shape": [0, 3, 4]}, "layers": [{"type": "SimpleRNN", "units": 2}]}),
    ("Keras 2 input_shape on the first layer", {"layers": [{"type": "SimpleRNN", "units": 3, "input_shape": [2, 10]}]}),
    ("Keras 2 input_dim on Dense", {"layers": [{"type": "Dense", "units": 3, "input_dim": 4}]}),
    (
        "initializer and regularizer names",
        {
            "input": {"shape": [3, 4]},
            "layers": [
                {
                    "type": "Dense",
                    "units": 2,
                    "kernel_initializer": "he_normal",
                    "kernel_regularizer": "l2",
                    "bias_constraint": "non_neg",
                }
            ],
        },
    ),
    (
        "GRU without reset_after and bias",
        {"input": {"shape": [3, 4]}, "layers": [{"type": "GRU", "units": 5, "reset_after": False, "use_bias": False}]},
    ),
]


@pytest.mark.parametrize("label,spec", ACCEPTED_EDGES, ids=[a for a, _ in ACCEPTED_EDGES])
def test_edge_cases_keras_accepts(checker, label, spec):
    solve_raw(spec)  # must not raise
    verdict = checker.check(spec)
    assert verdict.agree and verdict.keras_error is None, verdict.describe()


def _one(layer: dict, shape: list | None = None, batch: list | None = None) -> dict:
    return {
        "input": {"batch_shape": batch} if batch else {"shape": [3, 4] if shape is None else shape},
        "layers": [layer],
    }


REJECTED = [
    ("RNN on 2-D input", _one({"type": "SimpleRNN", "units": 3}, [4])),
    ("RNN on 4-D input", _one({"type": "LSTM", "units": 3}, [7, 4, 2])),
    ("units 0", _one({"type": "Dense", "units": 0})),
    ("units 64.0", _one({"type": "Dense", "units": 64.0})),
    ("RNN units 64.0", _one({"type": "SimpleRNN", "units": 64.0})),
    ("LSTM units 0", _one({"type": "LSTM", "units": 0})),
    ("negative vocabulary", _one({"type": "Embedding", "input_dim": -5000, "output_dim": 3}, [4])),
    ("zero embedding dim", _one({"type": "Embedding", "input_dim": 50, "output_dim": 0}, [4])),
    ("float vocabulary", _one({"type": "Embedding", "input_dim": 50.0, "output_dim": 3}, [4])),
    ("unknown activation", _one({"type": "Dense", "units": 3, "activation": "foo"})),
    ("activation with capitals", _one({"type": "Dense", "units": 3, "activation": "ReLU"})),
    ("batch_input_shape on a layer", _one({"type": "Dense", "units": 3, "batch_input_shape": [8, 4]})),
    ("unknown argument", _one({"type": "Dense", "units": 3, "foo": 1})),
    ("stateful without batch size", _one({"type": "SimpleRNN", "units": 3, "stateful": True})),
    ("dropout rate 1.5", _one({"type": "Dropout", "rate": 1.5})),
    ("dropout rate -0.1", _one({"type": "Dropout", "rate": -0.1})),
    ("unknown merge mode", _one({"type": "Bidirectional", "layer": {"type": "LSTM", "units": 3}, "merge_mode": "foo"})),
    (
        "merge_mode None returns two tensors",
        _one({"type": "Bidirectional", "layer": {"type": "LSTM", "units": 3}, "merge_mode": None}),
    ),
    ("Bidirectional over Dense", _one({"type": "Bidirectional", "layer": {"type": "Dense", "units": 3}})),
    (
        "Bidirectional of go_backwards",
        _one({"type": "Bidirectional", "layer": {"type": "GRU", "units": 3, "go_backwards": True}}),
    ),
    ("return_state in Sequential", _one({"type": "LSTM", "units": 5, "return_state": True})),
    ("kernel longer than sequence", _one({"type": "Conv1D", "filters": 2, "kernel_size": 5})),
    ("kernel one longer than sequence", _one({"type": "Conv1D", "filters": 2, "kernel_size": 4})),
    (
        "dilated kernel longer than sequence",
        _one({"type": "Conv1D", "filters": 2, "kernel_size": 3, "dilation_rate": 4}, [8, 4]),
    ),
    (
        "strides with dilation",
        _one({"type": "Conv1D", "filters": 2, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, [30, 4]),
    ),
    ("groups not dividing filters", _one({"type": "Conv1D", "filters": 5, "kernel_size": 3, "groups": 2}, [30, 4])),
    ("groups not dividing channels", _one({"type": "Conv1D", "filters": 6, "kernel_size": 3, "groups": 2}, [30, 3])),
    ("conv padding full", _one({"type": "Conv1D", "filters": 1, "kernel_size": 1, "padding": "full"})),
    ("conv kernel 0", _one({"type": "Conv1D", "filters": 3, "kernel_size": 0}, [7, 4])),
    ("conv strides 0", _one({"type": "Conv1D", "filters": 3, "kernel_size": 2, "strides": 0}, [7, 4])),
    ("conv filters 0", _one({"type": "Conv1D", "filters": 0, "kernel_size": 1})),
    ("pool longer than sequence", _one({"type": "MaxPooling1D", "pool_size": 4})),
    ("pool causal padding", _one({"type": "MaxPooling1D", "pool_size": 1, "padding": "causal"})),
    ("pool strides 0", _one({"type": "MaxPooling1D", "pool_size": 3, "strides": 0}, [7, 4])),
    ("pool size 2.0", _one({"type": "MaxPooling1D", "pool_size": 2.0}, [7, 4])),
    ("SpatialDropout1D on 2-D", _one({"type": "SpatialDropout1D", "rate": 0.1}, [4])),
    ("GlobalAveragePooling1D on 2-D", _one({"type": "GlobalAveragePooling1D"}, [4])),
    ("GlobalAveragePooling1D on 4-D", _one({"type": "GlobalAveragePooling1D"}, [3, 4, 5])),
    ("TimeDistributed on 2-D", _one({"type": "TimeDistributed", "layer": {"type": "Dense", "units": 2}}, [4])),
    ("Dense on 1-D", _one({"type": "Dense", "units": 2}, [])),
    ("Dense on unknown features", _one({"type": "Dense", "units": 5}, [3, None])),
    ("LSTM on unknown features", _one({"type": "LSTM", "units": 5}, [3, None])),
    ("BatchNormalization on unknown channels", _one({"type": "BatchNormalization"}, [3, None])),
    ("BatchNormalization axis out of range", _one({"type": "BatchNormalization", "axis": 5})),
    ("BatchNormalization on the batch axis", _one({"type": "BatchNormalization", "axis": 0})),
    ("LayerNormalization axis out of range", _one({"type": "LayerNormalization", "axis": 5})),
    ("unknown initializer", _one({"type": "Dense", "units": 2, "kernel_initializer": "foo"})),
    ("unknown regularizer", _one({"type": "Dense", "units": 2, "kernel_regularizer": "foo"})),
    ("dropout rate as text", _one({"type": "Dropout", "rate": "0.5"})),
    ("negative input dimension", _one({"type": "Dense", "units": 2}, [-1, 4])),
]


@pytest.mark.parametrize("label,spec", REJECTED, ids=[a for a, _ in REJECTED])
def test_specs_keras_rejects_are_rejected(checker, label, spec):
    with pytest.raises(SpecError) as info:
        solve_raw(spec)
    assert info.value.message.startswith(("layer 1 (", "input ")), info.value.message
    verdict = checker.check(spec)
    assert verdict.keras_error is not None, f"Keras accepted {label}"
    assert verdict.agree


@pytest.mark.slow
def test_memoised_checker_matches_naive_model_building(checker, naive_checker):
    for spec in _random_specs(120, seed=7):
        fast, naive = checker.check(spec), naive_checker.check(spec)
        assert fast.agree == naive.agree
        assert (fast.keras_error is None) == (naive.keras_error is None)
        assert fast.observed == naive.observed
