"""The textbook's numpy RNN (the seed's In[7]–In[10]) as library code, plus LSTM and GRU.

``simple_rnn`` keeps the seed's convention: ``W_x`` is (hidden_units, input_dim) and
the step is ``tanh(W_x·x_t + W_h·h_{t-1} + b)``. Keras stores the transpose
(kernel is (input_dim, units)); ``seed_weights_from_keras`` converts, which is the
very confusion the weight-shape questions probe. LSTM and GRU take Keras's own
layout (gates concatenated along the last axis in Keras's order) so a Keras layer's
weights drop straight in.
"""

from __future__ import annotations

import numpy as np


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def simple_rnn(inputs: np.ndarray, W_x: np.ndarray, W_h: np.ndarray, b: np.ndarray,
               h0: np.ndarray | None = None) -> np.ndarray:
    """Hidden states of every timestep, shape (timesteps, hidden_units)."""
    hidden = np.zeros(W_h.shape[0]) if h0 is None else h0
    states = []
    for x_t in inputs:
        hidden = np.tanh(W_x @ x_t + W_h @ hidden + b)
        states.append(hidden)
    return np.stack(states, axis=0)


def seed_weights_from_keras(kernel: np.ndarray, recurrent_kernel: np.ndarray,
                            bias: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keras's SimpleRNN weights in the seed's orientation: (W_x, W_h, b).

    h_t = tanh(x_t·K + h·U + b) in Keras equals tanh(Kᵀ·x_t + Uᵀ·h + b), so W_x = Kᵀ, W_h = Uᵀ.
    """
    return kernel.T, recurrent_kernel.T, bias


def lstm(inputs: np.ndarray, kernel: np.ndarray, recurrent_kernel: np.ndarray,
         bias: np.ndarray) -> np.ndarray:
    """Keras LSTM (gate order i, f, c, o; sigmoid and tanh), every hidden state."""
    units = recurrent_kernel.shape[0]
    h = np.zeros(units)
    c = np.zeros(units)
    states = []
    for x_t in inputs:
        z = x_t @ kernel + h @ recurrent_kernel + bias
        i, f, g, o = (z[k * units:(k + 1) * units] for k in range(4))
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        states.append(h)
    return np.stack(states, axis=0)


def gru(inputs: np.ndarray, kernel: np.ndarray, recurrent_kernel: np.ndarray,
        bias: np.ndarray, reset_after: bool = True) -> np.ndarray:
    """Keras GRU (gate order z, r, h), every hidden state.

    With reset_after=True Keras keeps two bias rows (input and recurrent) and applies
    the reset gate after the recurrent matrix product; that second bias is why a
    Keras 3 GRU has 3h(h+d+2) parameters rather than 3h(h+d+1).
    """
    units = recurrent_kernel.shape[0]
    h = np.zeros(units)
    in_bias, rec_bias = (bias[0], bias[1]) if reset_after else (bias, np.zeros(3 * units))
    states = []
    for x_t in inputs:
        x = x_t @ kernel + in_bias
        xz, xr, xh = x[:units], x[units:2 * units], x[2 * units:]
        if reset_after:
            rec = h @ recurrent_kernel + rec_bias
            z = _sigmoid(xz + rec[:units])
            r = _sigmoid(xr + rec[units:2 * units])
            hh = np.tanh(xh + r * rec[2 * units:])
        else:
            z = _sigmoid(xz + h @ recurrent_kernel[:, :units])
            r = _sigmoid(xr + h @ recurrent_kernel[:, units:2 * units])
            hh = np.tanh(xh + (r * h) @ recurrent_kernel[:, 2 * units:])
        h = z * h + (1 - z) * hh
        states.append(h)
    return np.stack(states, axis=0)
