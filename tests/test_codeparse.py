"""Reading Keras code without running it."""

from __future__ import annotations

import json

import pytest

from quizgen.nn.codeparse import models_from_code
from quizgen.errors import CodeParseError
from quizgen.nn.solver import solve_raw


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
    assert model.spec["layers"][1] == {"type": "Bidirectional", "layer": {"type": "LSTM", "units": 64, "return_sequences": True}}
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
    nb = {"cells": [{"cell_type": "markdown", "source": ["# hi"]},
                    {"cell_type": "code", "source": ["model = Sequential()\n", "model.add(SimpleRNN(3, input_shape=(2,10)))"]}]}
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
    ("x = 1\n", "no Sequential model"),
    ("model = Sequential()\nmodel.add(SimpleRNN(h, input_shape=(2, 10)))\n", "name 'h' is not assigned"),
    ("h = int(input())\nmodel = Sequential()\nmodel.add(SimpleRNN(h, input_shape=(2, 10)))\n", "not a constant"),
    ("model = Sequential()\nmodel.add(Conv3D(3, 3))\n", "unsupported call Conv3D"),
    ("model = Sequential()\nmodel.add(Dense(3))\n", "no input shape"),
    ("model = Sequential()\nmodel.add(Dense(1, 'relu', True, 4))\n", "too many positional"),
    ("kw = {}\nmodel = Sequential()\nmodel.add(Dense(1, **kw))\n", "**kwargs"),
])
def test_unreadable_code_is_explained(code, message):
    with pytest.raises(CodeParseError, match=message.replace("*", r"\*")):
        models_from_code(code)
