"""#18.4: textbook code read as written, each case also run by the installed Keras (in this
process, tests/corpus_check.py) and compared model by model."""

from __future__ import annotations

import re

import pytest

from quizgen.nn.code import models_from_code
from quizgen.nn.solver import solve_raw

from .corpus_check import compare

SNIPPETS = {
    # keras.io's character seq2seq: the sampling models read back from the trained model
    "seq2seq sampling models": """
import keras
num_encoder_tokens, num_decoder_tokens, latent_dim = 71, 93, 256
encoder_inputs = keras.Input(shape=(None, num_encoder_tokens))
encoder = keras.layers.LSTM(latent_dim, return_state=True)
encoder_outputs, state_h, state_c = encoder(encoder_inputs)
encoder_states = [state_h, state_c]
decoder_inputs = keras.Input(shape=(None, num_decoder_tokens))
decoder_lstm = keras.layers.LSTM(latent_dim, return_sequences=True, return_state=True)
decoder_outputs, _, _ = decoder_lstm(decoder_inputs, initial_state=encoder_states)
decoder_dense = keras.layers.Dense(num_decoder_tokens, activation="softmax")
decoder_outputs = decoder_dense(decoder_outputs)
model = keras.Model([encoder_inputs, decoder_inputs], decoder_outputs)

encoder_inputs = model.input[0]  # input_1
encoder_outputs, state_h_enc, state_c_enc = model.layers[2].output  # lstm_1
encoder_states = [state_h_enc, state_c_enc]
encoder_model = keras.Model(encoder_inputs, encoder_states)

decoder_inputs = model.input[1]  # input_2
decoder_state_input_h = keras.Input(shape=(latent_dim,))
decoder_state_input_c = keras.Input(shape=(latent_dim,))
decoder_states_inputs = [decoder_state_input_h, decoder_state_input_c]
decoder_lstm = model.layers[3]
decoder_outputs, state_h_dec, state_c_dec = decoder_lstm(decoder_inputs, initial_state=decoder_states_inputs)
decoder_states = [state_h_dec, state_c_dec]
decoder_dense = model.get_layer(index=4)
decoder_outputs = decoder_dense(decoder_outputs)
decoder_model = keras.Model([decoder_inputs] + decoder_states_inputs, [decoder_outputs] + decoder_states)
""",
    "constants folded": """
import keras
text = "hello world"
chars = sorted(list(set(text)))
n = len(chars)
widths = {c: i + 1 for i, c in enumerate(chars)}
name = f"{chars[0]}_model".strip().upper().lower()
model = keras.Sequential([keras.Input(shape=(max(4, n), min(3, n))), keras.layers.LSTM(n * 2 // 3),
                          keras.layers.Dense(widths[chars[-1]], name=name)])
""",
    "frozen pretrained embedding from a matrix": """
import numpy as np
import keras
embedding_matrix = np.zeros((2001, 50))
embedding_layer = keras.layers.Embedding(2001, 50, embeddings_initializer=keras.initializers.Constant(embedding_matrix),
                                         trainable=False)
inputs = keras.Input(shape=(None,), dtype="int64")
x = embedding_layer(inputs)
x = keras.layers.Bidirectional(keras.layers.LSTM(16))(x)
model = keras.Model(inputs, keras.layers.Dense(1)(x))
frozen_after = keras.layers.Dense(4)
seq = keras.Sequential([keras.Input(shape=(3,)), frozen_after, keras.layers.Dense(1)])
frozen_after.trainable = False
""",
    "a model frozen, then used inside another": """
import keras
base = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(4), keras.layers.BatchNormalization()],
                        name="base")
base.trainable = False
inputs = keras.Input(shape=(8,))
x = base(inputs, training=False)
outputs = keras.layers.Dense(1)(x)
model = keras.Model(inputs, outputs)
""",
    "a shared layer and a shared model (Siamese)": """
import keras
from keras import layers
encoder = keras.Sequential([layers.Dense(16, activation="relu"), layers.Dense(8)])
a = keras.Input(shape=(10,))
b = keras.Input(shape=(10,))
shared = layers.Dense(10)
ea = encoder(shared(a))
eb = encoder(shared(b))
distance = layers.Subtract()([ea, eb])
model = keras.Model([a, b], layers.Dense(1, activation="sigmoid")(distance))
""",
    "preprocessing layers where model code puts them": """
import keras
inputs = keras.Input(shape=(1,), dtype="string")
x = keras.layers.StringLookup(vocabulary=["a", "b", "c"], output_mode="one_hot")(inputs)
model = keras.Model(inputs, keras.layers.Dense(2)(x))
ids = keras.Input(shape=(3,), dtype="int64")
y = keras.layers.IntegerLookup(vocabulary=[10, 20, 30], output_mode="multi_hot")(ids)
model2 = keras.Model(ids, keras.layers.Dense(1)(y))
text = keras.Input(shape=(), dtype="string")
v = keras.layers.TextVectorization(max_tokens=100, output_mode="int", output_sequence_length=12)(text)
model3 = keras.Model(text, keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(100, 8)(v)))
counts = keras.layers.CategoryEncoding(num_tokens=6, output_mode="count")(ids)
model4 = keras.Model(ids, keras.layers.Dense(1)(counts))
""",
    "one unreadable model does not refuse the others": """
import keras
from keras import layers
ok = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(2)])
inputs = keras.Input(shape=(4,))
doubled = layers.Lambda(lambda t: t * 2)(inputs)
bad = keras.Model(inputs, layers.Dense(1)(doubled))
also_ok = keras.Sequential([keras.Input(shape=(3,)), layers.Dense(5)])
""",
}


@pytest.mark.parametrize("title", list(SNIPPETS))
def test_textbook_idioms_agree_with_keras(checker, tmp_path, title):
    path = tmp_path / "snippet.py"
    path.write_text(SNIPPETS[title], encoding="utf-8")
    outcomes, stopped = compare(path)
    assert stopped is None, stopped
    kinds = [o.kind for o in outcomes]
    if title.startswith("one unreadable"):
        assert kinds == ["agree", "keras only", "agree"], outcomes
        assert re.search(r"line 6: unsupported call layers.Lambda\(...\).*--execute$",
                         outcomes[1].detail)
    else:
        assert set(kinds) == {"agree"}, outcomes


def test_the_seq2seq_sampling_models_read_back_layers():
    _, encoder, decoder = models_from_code(SNIPPETS["seq2seq sampling models"])
    assert encoder.spec["outputs"] == ["lstm:1", "lstm:2"]
    assert [i["name"] for i in decoder.spec["inputs"]] == ["decoder_inputs", "decoder_state_input_h",
                                                           "decoder_state_input_c"]
    assert solve_raw(decoder.spec).total_params == 4 * 256 * (256 + 93 + 1) + 256 * 93 + 93


def test_frozen_layers_count_as_keras_counts_them():
    model, seq = models_from_code(SNIPPETS["frozen pretrained embedding from a matrix"])
    assert "embeddings_initializer" not in model.spec["layers"][0]  # a matrix changes no count: left out
    solution = solve_raw(model.spec)
    assert solution.non_trainable_params == 2001 * 50
    assert solve_raw(seq.spec).non_trainable_params == 3 * 4 + 4  # frozen after the model was built
    base, outer = models_from_code(SNIPPETS["a model frozen, then used inside another"])
    assert solve_raw(outer.spec).trainable_params == 5 and solve_raw(base.spec).trainable_params == 0


def test_helpers_partials_and_builds(checker, tmp_path):
    code = """
from functools import partial
from tensorflow import keras

def model_fn(a_layer=None):
    model = keras.Sequential()
    model.add(keras.layers.Flatten(input_shape=(28, 28)))
    model.add(keras.layers.Dense(100, activation='relu'))
    if a_layer:
        model.add(a_layer)
    model.add(keras.layers.Dense(10, activation='softmax'))
    return model

model = model_fn(keras.layers.Dropout(0.3))
DefaultConv2D = partial(keras.layers.Conv2D, kernel_size=3, padding="same", activation="relu")
cnn = keras.Sequential([DefaultConv2D(filters=8, input_shape=[28, 28, 1]), keras.layers.MaxPool2D(), DefaultConv2D(16)])
late = keras.Sequential([keras.layers.Dense(3), keras.layers.Dense(1)])
late.build(input_shape=(None, 3))
"""
    path = tmp_path / "idioms.py"
    path.write_text(code, encoding="utf-8")
    outcomes, stopped = compare(path)
    assert stopped is None and [o.kind for o in outcomes] == ["agree", "agree", "agree"], outcomes


@pytest.mark.parametrize("code,internal", [
    ("import keras\nm = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2)])\n"
     "x = keras.Model(m.summary, m.layers[0].output)\n", "ModelMethod"),
    ("import keras\nd = keras.layers.Dense(2)\nx = keras.Model(d, d)\n", "Layer"),
    ("import keras\nx = keras.Input(shape=(3,))\nm = keras.Model(x, keras.layers.Dense)\n", "KerasName"),
])
def test_no_internal_class_name_reaches_a_message(code, internal):
    (model,) = models_from_code(code) if "Sequential" not in code else models_from_code(code)[1:]
    assert model.error is not None and internal not in model.error and "got a " in model.error
