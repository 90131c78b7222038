"""The seed's numpy RNN (and LSTM/GRU) equal Keras's return_sequences output."""

from __future__ import annotations

import numpy as np
import pytest

from quizgen.nn import reference
from quizgen.nn.solver import seed_weight_shapes


def _keras_states(checker, layer_json: dict, inputs: np.ndarray):
    layer = checker.build_layer(layer_json)
    out = layer(inputs[None, ...].astype("float32"))
    return layer, np.asarray(out)[0]


def test_simple_rnn_matches_keras_with_transposed_kernel(checker):
    timesteps, input_dim, hidden_units = 10, 4, 8  # the seed's sizes
    rng = np.random.default_rng(0)
    inputs = rng.random((timesteps, input_dim))
    layer, expected = _keras_states(checker, {"type": "SimpleRNN", "units": hidden_units, "return_sequences": True,
                                              "bias_initializer": "random_normal"}, inputs)
    kernel, recurrent, bias = (np.asarray(w) for w in layer.get_weights())
    assert kernel.shape == (input_dim, hidden_units)  # Keras's kernel ...
    W_x, W_h, b = reference.seed_weights_from_keras(kernel, recurrent, bias)
    shapes = seed_weight_shapes(timesteps, input_dim, hidden_units)
    assert W_x.shape == shapes["W_x"] == (8, 4)  # ... is the seed's W_x transposed
    assert W_h.shape == shapes["W_h"] and b.shape == shapes["b"]
    states = reference.simple_rnn(inputs, W_x, W_h, b)
    assert states.shape == shapes["total_hidden_states"]
    np.testing.assert_allclose(states, expected, atol=1e-5)


def test_lstm_matches_keras(checker):
    inputs = np.random.default_rng(1).random((7, 5))
    layer, expected = _keras_states(checker, {"type": "LSTM", "units": 6, "return_sequences": True}, inputs)
    states = reference.lstm(inputs, *(np.asarray(w) for w in layer.get_weights()))
    np.testing.assert_allclose(states, expected, atol=1e-5)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_matches_keras(checker, reset_after):
    inputs = np.random.default_rng(2).random((7, 5))
    layer, expected = _keras_states(checker, {"type": "GRU", "units": 6, "return_sequences": True,
                                              "reset_after": reset_after, "bias_initializer": "random_normal"}, inputs)
    states = reference.gru(inputs, *(np.asarray(w) for w in layer.get_weights()), reset_after=reset_after)
    np.testing.assert_allclose(states, expected, atol=1e-5)
