"""The layers #18.5 added, each against the installed Keras: shapes, counts (trainable and not),
the arguments Keras refuses, and the slips a reader plausibly makes with them."""

from __future__ import annotations

import pytest

from quizgen.errors import SpecError
from quizgen.grading.misconceptions import layer_slips, shape_slips
from quizgen.nn.layers import KINDS
from quizgen.nn.solver import solve_raw


def seq(shape: list, *layers: dict) -> dict:
    return {"input": {"shape": shape}, "layers": list(layers)}


ACCEPTED = {
    "ReLU": seq([5, 4], {"type": "ReLU", "max_value": 6.0, "negative_slope": 0.1, "threshold": 0.5},
                {"type": "Dense", "units": 2}),
    "LeakyReLU": seq([4], {"type": "Dense", "units": 3}, {"type": "LeakyReLU", "negative_slope": 0.2}),
    "LeakyReLU Keras 2 alpha": seq([4], {"type": "LeakyReLU", "alpha": 0.1}),
    "PReLU": seq([6, 5], {"type": "PReLU"}),
    "PReLU shared": seq([8, 8, 3], {"type": "PReLU", "shared_axes": [1, 2]}),
    "PReLU shared one": seq([8, 8, 3], {"type": "PReLU", "shared_axes": 1}),
    "PReLU on unknown length, shared": seq([None, 3], {"type": "PReLU", "shared_axes": [1]}),
    "ELU": seq([4], {"type": "ELU", "alpha": 0.5}),
    "Softmax": seq([3, 4], {"type": "Softmax", "axis": 1}),
    "Conv1DTranspose valid": seq([10, 3], {"type": "Conv1DTranspose", "filters": 4, "kernel_size": 3,
                                           "strides": 2}),
    "Conv1DTranspose same": seq([10, 3], {"type": "Conv1DTranspose", "filters": 4, "kernel_size": 3,
                                          "strides": 2, "padding": "same"}),
    "Conv1DTranspose output_padding": seq([None, 3], {"type": "Conv1DTranspose", "filters": 4, "kernel_size": 4,
                                                      "strides": 3, "padding": "same", "output_padding": 1}),
    "Conv1DTranspose dilated": seq([7, 2], {"type": "Conv1DTranspose", "filters": 2, "kernel_size": 3,
                                            "dilation_rate": 2, "use_bias": False}),
    "Conv2DTranspose": seq([7, 7, 64], {"type": "Conv2DTranspose", "filters": 32, "kernel_size": 3, "strides": 2,
                                        "padding": "same", "activation": "relu"}),
    "Conv2DTranspose valid": seq([5, 6, 3], {"type": "Conv2DTranspose", "filters": 2, "kernel_size": [3, 2],
                                             "strides": [2, 3], "output_padding": [1, 0]}),
    "Conv2DTranspose channels_first": seq([3, 5, 6], {"type": "Conv2DTranspose", "filters": 2, "kernel_size": 2,
                                                      "data_format": "channels_first"}),
    "Conv3D": seq([8, 8, 8, 2], {"type": "Conv3D", "filters": 4, "kernel_size": 3}),
    "Conv3D same strided": seq([9, 8, 7, 2], {"type": "Conv3D", "filters": 4, "kernel_size": [3, 2, 1],
                                              "strides": 2, "padding": "same"}),
    "UpSampling1D": seq([5, 3], {"type": "UpSampling1D", "size": 3}),
    "UpSampling2D": seq([5, None, 3], {"type": "UpSampling2D", "size": [2, 3], "interpolation": "bilinear"}),
    "ZeroPadding1D": seq([5, 3], {"type": "ZeroPadding1D", "padding": [1, 2]}),
    "ZeroPadding2D": seq([5, 6, 3], {"type": "ZeroPadding2D", "padding": [[1, 2], [0, 3]]}),
    "ZeroPadding2D int": seq([5, 6, 3], {"type": "ZeroPadding2D", "padding": 2}),
    "Cropping1D": seq([6, 3], {"type": "Cropping1D", "cropping": [1, 2]}),
    "Cropping2D": seq([28, 28, 1], {"type": "Cropping2D", "cropping": [[2, 2], [4, 4]]}),
    "Cropping2D symmetric": seq([6, 7, 1], {"type": "Cropping2D", "cropping": [1, 2]}),
    "GlobalMaxPooling1D keepdims": seq([6, 3], {"type": "GlobalMaxPooling1D", "keepdims": True}),
    "GlobalAveragePooling2D keepdims": seq([6, 5, 3], {"type": "GlobalAveragePooling2D", "keepdims": True}),
    "GaussianNoise": seq([4], {"type": "GaussianNoise", "stddev": 0.1}, {"type": "Dense", "units": 2}),
    "GaussianDropout": seq([4], {"type": "GaussianDropout", "rate": 0.3}),
    "AlphaDropout": seq([4], {"type": "AlphaDropout", "rate": 0.2}),
    "Rescaling": seq([28, 28, 1], {"type": "Rescaling", "scale": 0.00392156862745098}, {"type": "Flatten"}),
    "Normalization": seq([4, 3], {"type": "Normalization"}, {"type": "Dense", "units": 1}),
    "Normalization two axes": seq([4, 3], {"type": "Normalization", "axis": [1, 2]}),
    "Normalization no axis": seq([4, 3], {"type": "Normalization", "axis": None}),
    "Normalization given": seq([3], {"type": "Normalization", "mean": 2.0, "variance": 4.0}),
    "CategoryEncoding": seq([3], {"type": "CategoryEncoding", "num_tokens": 10}),
    "CategoryEncoding one_hot": seq([3], {"type": "CategoryEncoding", "num_tokens": 10, "output_mode": "one_hot"}),
    "Embedding input_length": seq([None], {"type": "Embedding", "input_dim": 100, "output_dim": 8,
                                           "input_length": 30}),
    "MultiHeadAttention attention_axes": {
        "inputs": [{"name": "x", "shape": [5, 6, 8]}],
        "layers": [{"name": "mha", "type": "MultiHeadAttention", "num_heads": 2, "key_dim": 4,
                    "attention_axes": [1, 2], "call": ["x", "x"]}], "outputs": ["mha"]},
    "MultiHeadAttention attention_axes one": {
        "inputs": [{"name": "x", "shape": [5, 6, 8]}],
        "layers": [{"name": "mha", "type": "MultiHeadAttention", "num_heads": 2, "key_dim": 4,
                    "attention_axes": 2, "call": ["x", "x"]}], "outputs": ["mha"]},
}


@pytest.mark.parametrize("label", list(ACCEPTED))
def test_new_layers_agree_with_keras(checker, naive_checker, label):
    spec = ACCEPTED[label]
    solution = solve_raw(spec)
    for c in (checker, naive_checker):
        verdict = c.check(spec, solution)
        assert verdict.agree and verdict.keras_error is None, (label, verdict.describe())
    for row in solution.layers:  # every row derives in both languages
        row.derivation.to_text("ko"), row.derivation.to_text("en")


REJECTED = {
    "ReLU negative max_value": seq([4], {"type": "ReLU", "max_value": -1}),
    "LeakyReLU negative slope": seq([4], {"type": "LeakyReLU", "negative_slope": -0.1}),
    "PReLU on an unknown length": seq([None, 3], {"type": "PReLU"}),
    "Conv1DTranspose output_padding too large": seq([5, 2], {"type": "Conv1DTranspose", "filters": 2,
                                                             "kernel_size": 3, "strides": 2, "output_padding": 2}),
    "Conv2DTranspose on 3-D": seq([5, 2], {"type": "Conv2DTranspose", "filters": 2, "kernel_size": 3}),
    "Conv3D unknown channels": seq([4, 4, 4, None], {"type": "Conv3D", "filters": 2, "kernel_size": 2}),
    "Conv3D kernel too large": seq([4, 4, 2, 1], {"type": "Conv3D", "filters": 2, "kernel_size": 3}),
    "Cropping1D everything": seq([3, 2], {"type": "Cropping1D", "cropping": [2, 1]}),
    "Cropping2D everything": seq([3, 4, 2], {"type": "Cropping2D", "cropping": [[1, 1], [2, 2]]}),
    "UpSampling1D on 2-D": seq([4], {"type": "UpSampling1D"}),
    "GaussianNoise stddev 2": seq([4], {"type": "GaussianNoise", "stddev": 2}),
    "GaussianDropout rate 1.5": seq([4], {"type": "GaussianDropout", "rate": 1.5}),
    "Normalization unknown axis": seq([None, 3], {"type": "Normalization", "axis": 1}),
    "Normalization mean only": seq([3], {"type": "Normalization", "mean": 1.0}),
    "ZeroPadding2D negative": seq([4, 4, 1], {"type": "ZeroPadding2D", "padding": -1}),
}


@pytest.mark.parametrize("label", list(REJECTED))
def test_what_keras_refuses_is_refused(checker, label):
    spec = REJECTED[label]
    with pytest.raises(SpecError):
        solve_raw(spec)
    verdict = checker.check(spec)
    assert verdict.agree and verdict.keras_error, (label, verdict.describe())


def test_counts_and_derivations():
    conv3d = solve_raw(ACCEPTED["Conv3D"]).layers[0]
    assert conv3d.params == 3 * 3 * 3 * 2 * 4 + 4
    assert conv3d.derivation.formula() == "k_d×k_h×k_w×c×f+f"
    tconv = solve_raw(ACCEPTED["Conv2DTranspose"]).layers[0]
    assert tconv.output_shape == (None, 14, 14, 32) and tconv.params == 3 * 3 * 64 * 32 + 32
    prelu = solve_raw(ACCEPTED["PReLU shared"]).layers[0]
    assert prelu.params == 3 and prelu.derivation.formula() == "n3"
    norm = solve_raw(ACCEPTED["Normalization"]).layers[0]
    assert (norm.params, norm.trainable, norm.non_trainable) == (7, 0, 7)
    assert norm.derivation.formula() == "2×c+1"
    emb = solve_raw(ACCEPTED["Embedding input_length"]).layers[0]
    assert "embedding_input_length" in emb.derivation.notes
    assert "Keras 3 ignores it" in emb.derivation.to_text("en")


def test_slips_of_the_new_layers():
    prelu = solve_raw(ACCEPTED["PReLU"]).layers[0]
    assert prelu.params == 30 and layer_slips(prelu) == {"prelu_one_alpha": 1, "prelu_per_channel": 5}
    tconv = solve_raw(ACCEPTED["Conv2DTranspose"])
    assert shape_slips(tconv, 1)["transpose_as_conv"] == (None, 4, 4, 32)  # ceil(7 / 2) with padding="same"
    up = solve_raw(ACCEPTED["UpSampling1D"])
    assert shape_slips(up, 1)["upsampling_added"] == (None, 8, 3)
    pad = solve_raw(ACCEPTED["ZeroPadding2D"])
    assert shape_slips(pad, 1)["padding_one_side"] == (None, 6, 6, 3)
    crop = solve_raw(ACCEPTED["Cropping2D"])
    assert shape_slips(crop, 1)["cropping_one_side"] == (None, 26, 24, 1)
    norm = solve_raw(ACCEPTED["Normalization"]).layers[0]
    assert layer_slips(norm) == {"normalization_no_count": 6}


def test_every_layer_kind_has_a_snake_case_name_keras_agrees_with(checker):
    keras = checker.keras
    for name, kind in KINDS.items():
        if name in ("Sequential", "Functional"):  # models used as layers: keras.Sequential, keras.Model
            continue
        cls = getattr(keras.layers, name)
        assert kind.keras_name == keras.src.utils.naming.to_snake_case(cls.__name__), name


def test_a_vocabulary_only_adapt_decides_is_refused_pointing_to_execute():
    spec = seq([1], {"type": "TextVectorization", "max_tokens": 100, "output_mode": "multi_hot"},
               {"type": "Dense", "units": 1})
    with pytest.raises(SpecError, match=r"only known once adapt\(\) has run.*--execute"):
        solve_raw(spec)
    padded = seq([1], {"type": "TextVectorization", "max_tokens": 100, "output_mode": "multi_hot",
                       "pad_to_max_tokens": True})
    assert solve_raw(padded).layers[0].output_shape == (None, 1, 100)  # as Keras's compute_output_shape
