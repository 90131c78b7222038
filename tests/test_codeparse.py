"""Reading Keras code without running it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from quizgen.errors import CodeParseError
from quizgen.nn.code import models_from_code
from quizgen.nn.solver import solve_raw


def _refusal(code: str, filename: str = "<code>") -> str:
    """Why quizgen cannot answer the code: the whole file's refusal, or its first model's (#18: each
    model is answered or refused on its own)."""
    try:
        models = models_from_code(code, filename)
    except CodeParseError as exc:
        return str(exc)
    refused = [m.error for m in models if m.error]
    assert refused, [m.spec for m in models]
    return refused[0]


def test_list_form_input_and_wrappers():
    code = """
import keras
from keras import layers
V, E = 10000, 128
model = keras.Sequential([
    keras.Input(shape=(50,)),
    layers.Embedding(V, E, mask_zero=True),
    layers.Bidirectional(layers.LSTM(64, return_sequences=True)),
    layers.TimeDistributed(layers.Dense(9, activation="softmax")),
])
"""
    (model,) = models_from_code(code)
    assert model.spec["input"] == {"shape": [50]}
    assert model.spec["layers"][1] == {
        "type": "Bidirectional",
        "layer": {"type": "LSTM", "units": 64, "return_sequences": True},
    }
    solution = solve_raw(model.spec)
    assert solution.output_shape == (None, 50, 9)
    assert solution.total_params == 10000 * 128 + 2 * 4 * 64 * (64 + 128 + 1) + (128 * 9 + 9)


def test_keras2_arguments_map_to_the_input():
    code = """
m1 = Sequential()
m1.add(Embedding(5000, 32, input_length=40))
m1.add(GRU(16))
m2 = Sequential()
m2.add(Dense(8, input_dim=4, activation='relu'))
layer = Dense(1)
m2.add(layer)
m3 = Sequential([Input(shape=(10, 3), batch_size=4), SimpleRNN(2, stateful=True)])
"""
    specs = [m.spec for m in models_from_code(code)]
    assert specs[0]["input"] == {"shape": [40]} and "input_length" not in specs[0]["layers"][0]
    assert specs[1]["input"] == {"shape": [4]} and len(specs[1]["layers"]) == 2
    assert specs[2]["input"] == {"batch_shape": [4, 10, 3]}
    assert solve_raw(specs[0]).layers[0].output_shape == (None, 40, 32)


def test_code_is_never_executed(tmp_path):
    marker = tmp_path / "ran"
    code = f"open({str(marker)!r}, 'w').write('x')\nmodel = Sequential()\nmodel.add(Dense(1, input_shape=(3,)))\n"
    models_from_code(code)
    assert not marker.exists()


def test_notebook_cells(tmp_path):
    nb = {
        "cells": [
            {"cell_type": "markdown", "source": ["# hi"]},
            {"cell_type": "code", "source": ["model = Sequential()\n", "model.add(SimpleRNN(3, input_shape=(2,10)))"]},
        ]
    }
    (model,) = models_from_code(json.dumps(nb), "quiz.ipynb")
    assert solve_raw(model.spec).total_params == 42


@pytest.mark.parametrize("text,message", [
    ("{", "malformed JSON"),
    ('{"cells": [], "n": ' + "9" * 5000 + "}", "more than 4,300 digits"),
    ('{"cells": [1]}', "has no attribute"),
    ('{"worksheets": []}', "'cells'"),
    ("[" * 100_000, "nested too deeply"),
])
def test_unreadable_notebooks_are_explained(text, message):
    with pytest.raises(CodeParseError, match="not a Jupyter notebook: .*" + message):
        models_from_code(text, "quiz.ipynb")


@pytest.mark.parametrize("code,message", [
    ("model = Sequential(\n", "not valid Python"),
    ("x = 1\n", "no Keras model found"),
    ("model = Sequential()\nmodel.add(SimpleRNN(h, input_shape=(2, 10)))\n", "name 'h' is not assigned"),
    ("h = int(input())\nmodel = Sequential()\nmodel.add(SimpleRNN(h, input_shape=(2, 10)))\n", "not a constant"),
    ("model = Sequential()\nmodel.add(ConvLSTM2D(3, 3))\n", "unsupported call ConvLSTM2D"),
    ("model = Sequential()\nmodel.add(Dense(3))\n", "no input shape"),
    ("model = Sequential()\nmodel.add(Dense(1, 'relu', True, 4))\n", "too many positional"),
    ("kw = {}\nmodel = Sequential()\nmodel.add(Dense(1, **kw))\n", "**kwargs"),
])
def test_unreadable_code_is_explained(code, message):
    assert re.search(message.replace("*", r"\*"), _refusal(code))


# ---------------------------------------------------------------- functional models
def _graph(code: str, index: int = -1) -> dict:
    return models_from_code(code)[index].spec


def _layer(spec: dict, name: str) -> dict:
    return next(layer for layer in spec["layers"] if layer["name"] == name)


def test_functional_spec_shape_of_the_contract():
    spec = _graph("""
from tensorflow.keras.layers import Input, Embedding, LSTM, Dense
from tensorflow.keras.models import Model
enc_in = Input(shape=(None,), name="enc_in")
x = Embedding(5000, 128)(enc_in)
out = Dense(3, activation="softmax")(LSTM(256)(x))
model = Model(inputs=enc_in, outputs=out)
""")
    assert spec == {
        "inputs": [{"name": "enc_in", "shape": [None]}],
        "layers": [
            {"name": "embedding", "type": "Embedding", "input_dim": 5000, "output_dim": 128, "call": ["enc_in"]},
            {"name": "lstm", "type": "LSTM", "units": 256, "call": ["embedding"]},
            {"name": "dense", "type": "Dense", "units": 3, "activation": "softmax", "call": ["lstm"]},
        ],
        "outputs": ["dense"],
    }


@pytest.mark.parametrize(
    "prelude,model_call",
    [
        ("from keras import Input, Model\nfrom keras.layers import Dense", "Model(inp, Dense(1)(inp))"),
        ("import keras", "keras.Model(inputs=inp, outputs=keras.layers.Dense(1)(inp))"),
        ("import tensorflow as tf", "tf.keras.Model(inp, tf.keras.layers.Dense(1)(inp))"),
        (
            "from tensorflow import keras\nfrom tensorflow.keras import layers",
            "keras.models.Model(inp, layers.Dense(1)(inp))",
        ),
        ("from tensorflow.keras import layers, models", "models.Model(inp, layers.Dense(1)(inp))"),
        ("from tensorflow.keras.layers import *\nfrom tensorflow.keras.models import *", "Model(inp, Dense(1)(inp))"),
        ("import tensorflow.keras.layers as L\nimport tensorflow.keras as K", "K.Model(inp, L.Dense(1)(inp))"),
        ("", "Model(inp, Dense(1)(inp))"),  # a cell pasted without its imports
    ],
)
def test_every_spelling_of_keras(prelude, model_call):
    spec = _graph(f"{prelude}\ninp = Input(shape=(4,))\nm = {model_call}\n")
    assert spec["layers"] == [{"name": "dense", "type": "Dense", "units": 1, "call": ["inp"]}]
    assert spec["outputs"] == ["dense"]


def test_names_follow_keras_auto_naming_across_models_and_clear_session():
    specs = [m.spec for m in models_from_code("""
import keras
from keras import layers
a = keras.Input(shape=(3,))
m1 = keras.Model(a, layers.Dense(2, name="head")(layers.Dense(4)(a)))
s = keras.Sequential([keras.Input(shape=(3,)), layers.Dense(5)])
m2 = keras.Model(a, layers.Dense(6)(layers.SimpleRNN(2)(layers.RepeatVector(3)(a))))
keras.backend.clear_session()
m3 = keras.Model(a, layers.Dense(7)(a))
""")]
    assert [layer["name"] for layer in specs[0]["layers"]] == ["dense", "head"]
    assert specs[1]["layers"][0]["name"] == "dense_1"  # not the solver's "dense": Keras's name is written
    assert [layer["name"] for layer in specs[2]["layers"]] == ["repeat_vector", "simple_rnn", "dense_2"]
    assert [layer["name"] for layer in specs[3]["layers"]] == ["dense"]


def test_return_state_outputs_unpack_by_index():
    spec = _graph("""
x = Input(shape=(10, 8))
out, h, c = LSTM(16, return_state=True)(x)
g_out, g_h = GRU(4, return_state=True, return_sequences=True)(x)
b, fh, fc, bh, bc = Bidirectional(LSTM(8, return_state=True))(x)
seq, *states = SimpleRNN(3, return_state=True)(x)
_, last = SimpleRNN(5, return_state=True)(x)
m = Model(x, [h, c, g_h, fh, bc, states[0], last, _])
""")
    assert spec["outputs"] == ["lstm:1", "lstm:2", "gru:1", "bidirectional:1", "bidirectional:4",
                               "simple_rnn:1", "simple_rnn_1:1", "simple_rnn_1:0"]
    assert [layer["name"] for layer in spec["layers"]] == ["lstm", "gru", "bidirectional", "simple_rnn", "simple_rnn_1"]


def test_initial_state_from_a_list_variable_or_one_tensor():
    spec = _graph("""
enc = Input(shape=(None, 8)); dec = Input(shape=(None, 8))
_, h, c = LSTM(16, return_state=True)(enc)
states = [h, c]
y = LSTM(16, return_sequences=True)(dec, initial_state=states)
_, g = GRU(16, return_state=True)(enc)
z = GRU(16)(dec, initial_state=g)
w = GRU(16)(dec, [g])
m = Model([enc, dec], [y, z, w])
""")
    assert _layer(spec, "lstm_1")["call_kwargs"] == {"initial_state": ["lstm:1", "lstm:2"]}
    assert _layer(spec, "gru_1")["call_kwargs"] == {"initial_state": ["gru:1"]}
    assert _layer(spec, "gru_2")["call"] == ["dec"] and _layer(spec, "gru_2")["call_kwargs"] == {
        "initial_state": ["gru:1"]
    }


def test_attention_calls():
    spec = _graph("""
q = Input(shape=(5, 16)); v = Input(shape=(7, 16))
a = MultiHeadAttention(num_heads=2, key_dim=8)(query=q, value=v, key=v, training=False)
b = MultiHeadAttention(2, 8)(q, v, v, use_causal_mask=True)
c, scores = MultiHeadAttention(2, 8, name="mha_scores")(q, v, return_attention_scores=True)
d = Attention(use_scale=True)([q, v])
e = AdditiveAttention()([q, v, v])
m = Model([q, v], [a, b, c, scores, d, e])
""")
    assert _layer(spec, "multi_head_attention")["call"] == ["q", "v"]
    assert _layer(spec, "multi_head_attention")["call_kwargs"] == {"key": "v"}
    assert _layer(spec, "multi_head_attention_1")["call_kwargs"] == {"key": "v", "use_causal_mask": True}
    assert _layer(spec, "mha_scores")["call_kwargs"] == {"return_attention_scores": True}
    assert _layer(spec, "attention")["call"] == [["q", "v"]]
    assert _layer(spec, "additive_attention")["call"] == [["q", "v", "v"]]
    assert spec["outputs"][2:4] == ["mha_scores:0", "mha_scores:1"]


def test_merge_helpers_and_loops():
    spec = _graph("""
from tensorflow.keras import layers
inp = layers.Input(shape=(20,))
emb = layers.Embedding(100, 8)(inp)
branches = []
for k in range(2, 5):
    if k == 3:
        continue
    branches.append(layers.GlobalMaxPooling1D()(layers.Conv1D(4, k)(emb)))
pooled = [layers.GlobalAveragePooling1D()(layers.Conv1D(4, k, name=f"c{k}")(emb)) for k in (2, 3) if k > 0]
cat = layers.concatenate(branches + pooled, axis=-1, name="cat")
summed = layers.add([branches[0], branches[1]])
dotted = layers.dot([branches[0], pooled[0]], axes=1)
both = layers.Concatenate(axis=1)([cat, summed, dotted])
m = layers.Dense(1)(both)
model = keras.Model(inp, m)
""")
    assert [layer["kernel_size"] for layer in spec["layers"] if layer["type"] == "Conv1D"] == [2, 4, 2, 3]
    assert _layer(spec, "cat") == {"name": "cat", "type": "Concatenate", "axis": -1,
                                   "call": [["global_max_pooling1d", "global_max_pooling1d_1",
                                             "global_average_pooling1d", "global_average_pooling1d_1"]]}
    assert _layer(spec, "add")["call"] == [["global_max_pooling1d", "global_max_pooling1d_1"]]
    assert _layer(spec, "dot")["axes"] == 1
    assert _layer(spec, "concatenate")["call"] == [["cat", "add", "dot"]]


def test_constant_conditions_helpers_and_input_shapes():
    spec = _graph("""
import keras
from keras import layers
BINARY = False
CELL = "gru"
sizes = {"hidden": 32, "classes": 3}

def block(x, units, dropout=0.0, *, name=None):
    rnn = layers.GRU if CELL == "gru" else layers.LSTM
    x = rnn(units, return_sequences=True, name=name)(x)
    return layers.Dropout(dropout)(x) if dropout else x

inputs = keras.Input(shape=(12, 6))
x = block(inputs, sizes["hidden"], dropout=0.25, name="rnn1")
x = block(x, inputs.shape[-1] * 2)
x = layers.GlobalMaxPooling1D()(x)
if BINARY:
    outputs = layers.Dense(1, activation="sigmoid")(x)
else:
    outputs = layers.Dense(sizes["classes"], activation="sigmoid" if BINARY else "softmax")(x)
model = keras.Model(inputs, outputs)
""")
    assert [(layer["name"], layer["type"]) for layer in spec["layers"]] == [
        ("rnn1", "GRU"), ("dropout", "Dropout"), ("gru", "GRU"), ("global_max_pooling1d", "GlobalMaxPooling1D"),
        ("dense", "Dense")]
    assert _layer(spec, "gru")["units"] == 12
    assert _layer(spec, "dense")["units"] == 3 and _layer(spec, "dense")["activation"] == "softmax"


def test_data_loading_and_training_code_is_ignored():
    (model,) = models_from_code("""
grid = []
for i in range(1000):
    for j in range(1000):
        grid.append(i * j)
import numpy as np
import pandas as pd
from tensorflow.keras.preprocessing.text import Tokenizer
from tensorflow.keras.preprocessing.sequence import pad_sequences
from tensorflow.keras.callbacks import EarlyStopping, ModelCheckpoint

data = pd.read_csv('spam.csv', encoding='latin1')
tokenizer = Tokenizer()
tokenizer.fit_on_texts(data['v2'])
X = tokenizer.texts_to_sequences(data['v2'])
vocab_size = len(tokenizer.word_index) + 1
max_len = max(len(s) for s in X)
lengths = []
for s in X:
    lengths.append(len(s))
n = 0
while n < 3:
    n += 1
X = pad_sequences(X, maxlen=max_len)

inp = Input(shape=(None,))
out = Dense(1, activation='sigmoid')(GRU(32)(Embedding(1000, 16)(inp)))
model = Model(inp, out)
model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['acc'])
es = EarlyStopping(monitor='val_loss', mode='min', verbose=1, patience=4)
history = model.fit(X, data['v1'], epochs=10, callbacks=[es], validation_split=0.2)
for epoch in range(3):
    loss = model.train_on_batch(X[:32], data['v1'][:32])
print(model.evaluate(X, data['v1'])[1])
""")
    assert [layer["type"] for layer in model.spec["layers"]] == ["Embedding", "GRU", "Dense"]


@pytest.mark.parametrize(
    "code,message",
    [
        # what skipped code sets is not a constant afterwards
        (
            "n = 0\nwhile n < 3:\n    n += 1\nmodel = Sequential([Input(shape=(4,)), Dense(n)])\n",
            r"line 4: 'n' is not a constant quizgen can read \(set at line 2\)",
        ),
        (
            "import sys\nsizes = []\nfor a in sys.argv:\n    sizes.append(int(a))\n"
            "model = Sequential([Input(shape=(4,)), Dense(len(sizes))])\n",
            "line 5: 'sizes' is not a constant",
        ),
        # Keras code quizgen cannot follow
        (
            "import sys\nn = int(sys.argv[1])\ninp = Input(shape=(4,))\nx = inp\nfor i in range(n):\n    x = Dense(4)(x)\n",
            r"line 5: a for loop over range\(n\), which quizgen cannot know without running the code",
        ),
        (
            "import sys\ninp = Input(shape=(4,))\nif sys.argv[1] == 'big':\n    x = Dense(64)(inp)\n",
            "line 3: an if on sys.argv",
        ),
        ("x = Input(shape=(4,))\nwhile True:\n    x = Dense(4)(x)\n", "line 2: a while loop that builds layers"),
        ("x = Input(shape=(4,))\ny = Dense(4)(x)\nz = y[:, 0]\n", r"line 3: indexing a tensor \(y\[:, 0\]\)"),
        (
            "x = Input(shape=(4,))\ny = Dense(4)(x)\nz = Dense(y.shape[-1])(y)\n",
            "line 3: y.shape.*only known by solving the model",
        ),
        ("x = Input(shape=(4,))\ny = Dense(x)\n", "line 2: Dense's units is given a tensor"),
        (
            "y = Dense(4)(features)\n",
            "line 1: a layer called on a tensor quizgen cannot trace: Dense 'dense' gets inputs from "
            "line 1 \\(name 'features' is not assigned",
        ),
        (
            "x = Input(shape=(4,))\ny = Dense(4)(x, mask_zero=True)\n",
            "called with an argument 'mask_zero' it does not take",
        ),
        ("x = Input(shape=(4,))\na, b = Dense(4)(x)\n", "line 2: Dense 'dense' returns 1 tensor here, not 2"),
        (
            "x = Input(shape=(4, 3))\na, b = LSTM(4, return_state=True)(x)\n",
            "line 2: LSTM 'lstm' returns 3 tensors here, not 2",
        ),
        ("x = Input(shape=(4,))\ny = Dense(4)\nm = Model(x, y)\n", "line 3: the model's outputs must be tensors"),
        (
            "x = Input(shape=(4,))\ny = Dense(4)(x)\nm = Model(y, Dense(1)(y))\n",
            "line 3: the model's inputs must be Input",
        ),
        (
            "a = Input(shape=(4,))\nb = Input(shape=(4,))\ny = Add()([a, b])\nm = Model(a, y)\n",
            r"line 4: the model's outputs depend on the Input at line 2, which is not among the model's inputs",
        ),
        (
            "a = Input(shape=(4,))\ny = Dense(4, name='h')(Dense(4, name='h')(a))\nm = Model(a, y)\n",
            'line 3: the name "h" is used 2 times in the model',
        ),
        ("x = Input(4)\ny = Dense(4)(x, **{})\n", r"line 2: \*\*kwargs cannot be read"),
        ("x = Input()\n", r"line 1: Input\(...\) needs a shape"),
        ("m = Model()\n", "line 1: Model\\(...\\) needs inputs and outputs"),
        ("class Block(layers.Layer):\n    pass\n", "line 1: subclassed layers are not supported"),
        ("class Net(tf.keras.Model):\n    pass\nnet = Net()\n", "line 3: subclassed models are not supported"),
        ("x = Input(shape=(4,))\ny = Lambda(lambda t: t * 2)(x)\n", r"line 2: unsupported call Lambda\(...\)"),
        ("x = Input(shape=(4,))\ny = tf.nn.relu(x)\n", r"line 2: unsupported call tf.nn.relu\(...\) on a Keras tensor"),
        ("def f(x):\n    return f(x)\nx = Input(shape=(4,))\ny = f(x)\n", "more than 50 deep"),
        ("for i in range(1000):\n    for j in range(1000):\n        x = Dense(1)\n", "more than 200,000 steps"),
        ("for i in range(10**6):\n    x = Dense(1)\n", r"range\(\) too long to read"),
    ],
)
def test_unreadable_functional_code_is_explained_in_one_line(code, message):
    refusal = _refusal(code)
    assert re.search(message, refusal) and "\n" not in refusal
    assert refusal.endswith("or run the file in Keras with --execute") or "not valid Python" in refusal


def test_errors_inside_helpers_name_the_call():
    code = "def block(x):\n    return x + 1\n\ninp = Input(shape=(4,))\ny = block(inp)\n"
    assert re.search(r"^line 2 \(in block\(\), called at line 5\): arithmetic on tensors", _refusal(code))


def test_hostile_code_ends_in_one_line():
    for code in [
        "x = " + "(" * 300 + "1" + ")" * 300,
        "x = " + "-" * 100_000 + "1",
        "x = 'a' * 10**9\nm = Sequential([Input(shape=(4,)), Dense(len(x))])",
        "x = 9**64\nfor i in range(10):\n    x = x * x\nm = Sequential([Input(shape=(4,)), Dense(x)])",
        "x = f'{1:999999999}'\nm = Sequential([Input(shape=(4,)), Dense(1, name=x)])",
        "x = list(range(10**9))\nm = Sequential([Input(shape=(4,)), Dense(len(x))])",
        "m = Sequential([Input(shape=(4,)), Dense(1 // 0)])",
        "l = []\nfor i in range(1000):\n    l.extend([0] * 100000)\nm = Sequential([Input(shape=(4,)), Dense(len(l))])",
        "l = []\nfor i in range(1000):\n    l.append([0] * 100000)\nm = Sequential([Input(shape=(4,)), Dense(len(l))])",
    ]:
        refusal = _refusal(code)
        assert "\n" not in refusal, code[:40]


# ---------------------------------------------------------------- notebooks
def _notebook(*cells: tuple[str, str]) -> str:
    return json.dumps({"cells": [{"cell_type": kind, "source": source} for kind, source in cells]})


def test_notebook_models_are_located_by_cell(tmp_path):
    text = _notebook(
        ("markdown", "# 제목"),
        ("code", "!pip install tensorflow\n%matplotlib inline\nimport keras"),
        ("code", "%%bash\nls -al"),
        (
            "code",
            "x = keras.Input(shape=(4,))\nif True:\n    !nvidia-smi\ny = keras.layers.Dense(2)(x)\nm = keras.Model(x, y)",
        ),
        ("code", "model.summary?"),
    )
    (model,) = models_from_code(text, "quiz.ipynb")
    assert model.location == "cell 4, line 5"
    assert model.spec["layers"][0]["call"] == ["x"]
    path = tmp_path / "quiz.ipynb"
    path.write_text(text, encoding="utf-8")
    from quizgen.nn.specfile import read_code

    assert [item.label for item in read_code(str(path))] == ["model at cell 4, line 5"]


def test_a_notebook_cell_that_does_not_parse_is_named():
    text = _notebook(("code", "import keras"), ("markdown", "text"), ("code", "x = 1\nmodel = Sequential(\n"))
    with pytest.raises(CodeParseError, match=r"^cell 3, line 2: not valid Python"):
        models_from_code(text, "quiz.ipynb")
    text = _notebook(
        ("code", "import keras\n\n"), ("code", "inp = keras.Input(shape=(4,))\ny = keras.layers.Dense(2)(inp + 1)")
    )
    with pytest.raises(CodeParseError, match=r"^cell 2, line 2: arithmetic on tensors"):
        models_from_code(text, "quiz.ipynb")


def test_mangled_textbook_code_never_crashes_the_reader():
    """Lines deleted, repeated or spliced with tokens: a model, or one line of error, never a traceback."""
    import os
    import random

    folder = os.path.join(os.path.dirname(__file__), "fixtures", "code")
    texts = [Path(root, f).read_text(encoding="utf-8")
             for root, _, files in os.walk(folder) for f in sorted(files) if f.endswith(".py")]
    tokens = ["x", "(", ")", "[", "]", "*", "**kw", "0", "None", "-1", "'a'", ",", ".shape", "[0]", "+",
              "lambda: 1", "Dense", "LSTM(3)", "return_state=True", "if", "for", "range(3)", "_", "\\d"]
    rng = random.Random(2026)
    for _ in range(1500):
        lines = rng.choice(texts).split("\n")
        i = rng.randrange(len(lines))
        op = rng.randrange(3)
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(rng.randrange(len(lines)), lines[i])
        else:
            k = rng.randrange(len(lines[i]) + 1)
            lines[i] = lines[i][:k] + rng.choice(tokens) + lines[i][k:]
        try:
            models_from_code("\n".join(lines))
        except CodeParseError as exc:
            assert "\n" not in str(exc)
