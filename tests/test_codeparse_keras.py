"""Textbook model code read by quizgen, confirmed by running the same code in real Keras.

The product never executes code; these tests do, to hold the reader to Keras: every
model the reader finds must be a model Keras builds from the same file, with the
same layer names (Keras's own auto-names), types, constructor arguments, wiring
(each call's tensors, bound to the layer's call signature), inputs and outputs,
in the order of ``model.layers``. The reader's specs are also pinned as golden files.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
from typing import Any

import pytest

from quizgen.errors import SpecError
from quizgen.nn.code import keras_names as keras_api
from quizgen.nn.code import models_from_code
from quizgen.nn.code.notebook import parse_notebook
from quizgen.nn.solver import solve_raw

CODE = os.path.join(os.path.dirname(__file__), "fixtures", "code")
FIXTURES = sorted(f for f in os.listdir(CODE) if f.endswith((".py", ".ipynb")))

# nn.solver solves Sequential specs of its 16 layer types until the graph solver and the
# new layers land; then set this to True and every spec read is also solved and compared
# with Keras's counts and shapes.
SOLVER_SOLVES_GRAPHS = True


def _solvable_today(spec: dict[str, Any]) -> bool:
    from quizgen.nn.spec import LAYER_ARGS

    types = {layer["type"] for layer in spec.get("layers", [])} | \
        {layer["layer"]["type"] for layer in spec.get("layers", []) if "layer" in layer}
    return "input" in spec and types <= set(LAYER_ARGS)


@pytest.fixture(scope="module")
def keras(checker):
    return checker.keras


def _read(name: str) -> str:
    with open(os.path.join(CODE, name), encoding="utf-8") as fh:
        return fh.read()


def _statements(name: str, text: str) -> list[ast.stmt]:
    """The file's statements as Python would run them (a notebook's cells in order, magics skipped)."""
    if name.endswith(".ipynb"):
        return [stmt for module in parse_notebook(text).modules for stmt in module.body]
    return ast.parse(text).body


def keras_models(keras: Any, name: str, text: str) -> list[Any]:
    """Run the code statement by statement in a fresh Keras session; every model it binds, in order."""
    keras.backend.clear_session()
    namespace: dict[str, Any] = {"__name__": "textbook"}
    seen: set[int] = set()
    models = []
    for stmt in _statements(name, text):
        exec(compile(ast.Module([stmt], type_ignores=[]), name, "exec"), namespace)  # noqa: S102 - the test's own fixtures
        for value in list(namespace.values()):
            if isinstance(value, keras.Model) and id(value) not in seen:
                seen.add(id(value))
                models.append(value)
    return models


# ---------------------------------------------------------------- comparing a spec with a built model
def _same_value(ours: Any, theirs: Any) -> bool:
    """A spec argument against the value in Keras's get_config (tuples as lists, 3 as (3, 3))."""
    if isinstance(theirs, tuple):
        theirs = list(theirs)
    if isinstance(theirs, list) and not isinstance(ours, list):
        return all(_same_value(ours, t) for t in theirs)
    if isinstance(ours, list) and isinstance(theirs, list):
        return len(ours) == len(theirs) and all(_same_value(a, b) for a, b in zip(ours, theirs))
    if isinstance(theirs, dict) and "class_name" in theirs and isinstance(ours, str):
        return keras_api.snake_case(theirs["class_name"]) == ours or theirs["class_name"] == ours
    if isinstance(theirs, dict) and isinstance(ours, dict) and "class_name" in ours:  # regularizers...
        return ours["class_name"] == theirs["class_name"] and \
            all(_same_value(v, theirs["config"][k]) for k, v in ours["config"].items())
    return ours == theirs


def assert_same_layer_args(obj: dict[str, Any], class_name: str, config: dict[str, Any], where: str) -> None:
    assert obj["type"] == class_name, where
    for key, value in obj.items():
        if key in ("type", "name", "call", "call_kwargs"):
            continue
        if key in ("layer", "backward_layer"):
            inner = config[key]
            assert_same_layer_args(value, inner["class_name"], inner["config"], f"{where}.{key}")
            continue
        assert key in config, f"{where}: Keras has no {key!r} in its config"
        assert _same_value(value, config[key]), f"{where}.{key}: spec {value!r}, Keras {config[key]!r}"


def _history_ref(
    item: Any, input_names: dict[str, str], layer_names: set[str], multi: frozenset[str] = frozenset()
) -> Any:
    """A serialized call argument as the spec writes it: a tensor's layer name, with ":i" for
    output i of a layer that returns several tensors."""
    if isinstance(item, dict) and item.get("class_name") == "__keras_tensor__":
        name, _, index = item["config"]["keras_history"]
        if name in input_names:
            return input_names[name]
        if name not in layer_names:
            return None  # a mask Keras computes with an op (not_equal...), not a layer
        return name if name not in multi else f"{name}:{index}"
    if isinstance(item, (list, tuple)):
        return [_history_ref(i, input_names, layer_names, multi) for i in item]
    return item


def _bound_call(layer: Any, args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Call arguments bound to the layer's call signature, without training and masks Keras adds."""
    bound = inspect.signature(layer.call).bind_partial(*args, **kwargs).arguments
    out = {}
    for key, value in bound.items():
        if key == "training" or value is None:
            continue
        if key == "initial_state" and isinstance(value, str):
            value = [value]
        out[key] = value
    return out


def _entries(value: list[Any]) -> list[list[Any]]:
    """config["input_layers"] / ["output_layers"]: one [name, node, index] entry, or a list of them."""
    return [value] if value and isinstance(value[0], str) else value


def assert_same_graph(spec: dict[str, Any], model: Any) -> None:
    config = model.get_config()
    assert [list(t.shape) for t in model.inputs] == [
        [None, *i["shape"]] if "shape" in i else i["batch_shape"] for i in spec["inputs"]]
    input_names = {
        entry[0]: spec_in["name"] for entry, spec_in in zip(_entries(config["input_layers"]), spec["inputs"])
    }
    # The spec lists layers as the code calls them; the solver puts them in model.layers' order,
    # which must be Keras's (config["layers"] also lists the ops masks are computed with).
    order = [layer.name for layer in model.layers if type(layer).__name__ != "InputLayer"]
    try:
        assert order == [row.name for row in solve_raw(spec).layers]
    except SpecError:  # a spec the solver refuses (a custom backward_layer): its wiring is still checked
        assert sorted(order) == sorted(obj["name"] for obj in spec["layers"] if "name" in obj)
    by_spec = {obj["name"]: obj for obj in spec["layers"] if "name" in obj}
    spec = {**spec, "layers": [by_spec[name] for name in order]}
    layers = [next(c for c in config["layers"] if c["name"] == name) for name in order]
    names = set(order)
    by_name = {layer.name: layer for layer in model.layers}
    multi = frozenset(layer.name for layer in model.layers if isinstance(getattr(layer, "output", None), (list, tuple)))
    for obj, layer_config in zip(spec["layers"], layers):
        where = f"layer {obj['name']}"
        assert_same_layer_args(obj, layer_config["class_name"], layer_config["config"], where)
        (node,) = layer_config["inbound_nodes"]
        args = _history_ref(list(node["args"]), input_names, names, multi)
        kwargs = {k: _history_ref(v, input_names, names, multi) for k, v in node["kwargs"].items()}
        layer = by_name[obj["name"]]
        theirs = _bound_call(layer, args, {k: v for k, v in kwargs.items() if v is not None})
        ours = _bound_call(layer, obj["call"], obj.get("call_kwargs", {}))
        assert ours == theirs, where
    outputs = [_history_ref({"class_name": "__keras_tensor__", "config": {"keras_history": o}}, input_names, names,
                            multi)
               for o in _entries(config["output_layers"])]
    assert outputs == spec["outputs"]


def assert_same_sequential(spec: dict[str, Any], model: Any) -> None:
    shape = [None, *spec["input"]["shape"]] if "shape" in spec["input"] else spec["input"]["batch_shape"]
    if not model.built:  # Sequential() with an Embedding first and no input: built when it first sees data
        assert spec["input"] == {"shape": [None]} and spec["layers"][0]["type"] == "Embedding"
        model.build(tuple(shape))
    assert list(model.inputs[0].shape) == shape
    layers = [c for c in model.get_config()["layers"] if c["class_name"] != "InputLayer"]
    assert len(layers) == len(spec["layers"])
    for i, (obj, layer_config) in enumerate(zip(spec["layers"], layers), start=1):
        assert_same_layer_args(obj, layer_config["class_name"], layer_config["config"], f"layer {i}")


def _shapes(shape: Any) -> list[tuple[Any, ...]]:
    """One output's shape, or a layer's several output shapes, as a list of tuples."""
    shape = list(shape)
    return [tuple(s) for s in shape] if shape and isinstance(shape[0], (list, tuple)) else [tuple(shape)]


def _output_shapes(model: Any, layer: Any) -> list[tuple[Any, ...]]:
    """The shapes of the layer's call in this model (a layer reused by an inference model has several calls)."""
    from keras.src.ops.function import make_node_key

    nodes = getattr(model, "_nodes", set())
    node = next((n for i, n in enumerate(layer._inbound_nodes) if make_node_key(layer, i) in nodes),
                layer._inbound_nodes[-1])
    return [tuple(t.shape) for t in node.output_tensors]


def assert_solution_matches_keras(spec: dict[str, Any], model: Any) -> None:
    """quizgen's analytic answer equals Keras's counts and shapes, layer by layer."""
    solution = solve_raw(spec)
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    assert solution.total_params == model.count_params()
    assert len(solution.layers) == len(layers)
    for row, layer in zip(solution.layers, layers):
        assert row.params == layer.count_params(), layer.name
        assert _shapes(row.output_shape) == _output_shapes(model, layer), layer.name


# ---------------------------------------------------------------- the fixtures
@pytest.mark.parametrize("name", FIXTURES)
def test_textbook_code_is_read_as_keras_builds_it(keras, name):
    text = _read(name)
    ours = models_from_code(text, name)
    theirs = keras_models(keras, name, text)
    assert len(ours) == len(theirs)
    for found, model in zip(ours, theirs):
        if "inputs" in found.spec:
            assert_same_graph(found.spec, model)
        else:
            assert_same_sequential(found.spec, model)
        if SOLVER_SOLVES_GRAPHS or _solvable_today(found.spec):
            assert_solution_matches_keras(found.spec, model)


@pytest.mark.parametrize("name", FIXTURES)
def test_textbook_specs_are_pinned(name):
    """The specs read from each fixture, as reviewed (tests/fixtures/code/NAME.specs.json)."""
    with open(os.path.join(CODE, name + ".specs.json"), encoding="utf-8") as fh:
        expected = json.load(fh)
    assert [m.spec for m in models_from_code(_read(name), name)] == expected


def pin_text(specs: list[dict[str, Any]]) -> str:
    """Specs as a pin file: one layer per line, so a change in reading shows as a readable diff."""
    blocks = []
    for spec in specs:
        fields = []
        for key, value in spec.items():
            if key == "layers":
                rows = ",\n".join("      " + json.dumps(layer, ensure_ascii=False) for layer in value)
                fields.append(f'    "layers": [\n{rows}\n    ]')
            else:
                fields.append(f"    {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}")
        blocks.append("  {\n" + ",\n".join(fields) + "\n  }")
    return "[\n" + ",\n".join(blocks) + "\n]\n"


if __name__ == "__main__":  # python -m tests.test_codeparse_keras: rewrite the pins (review the diff!)
    for fixture in FIXTURES:
        with open(os.path.join(CODE, fixture + ".specs.json"), "w", encoding="utf-8") as out:
            out.write(pin_text([m.spec for m in models_from_code(_read(fixture), fixture)]))


SNIPPETS = {
    "keyword call arguments, recorded by name": """
from keras import Input, Model, layers
q_in = Input(shape=(5, 8)); v_in = Input(shape=(7, 8))
v = layers.Dense(8, name="v_proj")(v_in)
q = layers.Dense(8, name="q_proj")(q_in)
out = layers.MultiHeadAttention(2, 4)(value=v, query=q)
model = Model([q_in, v_in], out)
""",
    "a diamond with branches of different depth": """
from keras import Input, Model, layers
x = Input(shape=(16,))
a = layers.Dense(8)(x)
b = layers.Dense(8)(layers.Dense(8)(layers.Dense(8)(x)))
c = layers.Dense(8)(a)
y = layers.Concatenate()([c, b, a])
model = Model(inputs=x, outputs=[y, a])
""",
    "a layer feeding a shallow and a deep branch": """
from keras import Input, Model
from keras.layers import Dense
x = Input(shape=(4,))
p = Dense(4, name="p")(x)
b = Dense(2, name="b")(p)
a = Dense(4, name="a3")(Dense(4, name="a2")(Dense(4, name="a1")(p)))
model = Model(x, [b, a])
""",
    "an unused input, outputs that are inputs and states": """
import keras
from keras import layers
seq = keras.Input(shape=(None, 4)); spare = keras.Input(shape=(3,), name="spare")
out, h = layers.GRU(6, return_state=True)(seq)
model = keras.Model([seq, spare], [h, out, spare])
""",
    "layers made inside a helper called in a loop": """
import keras
from keras import layers
def residual(x, units):
    y = layers.Dense(units, activation="relu")(x)
    y = layers.Dense(units)(y)
    return layers.Add()([x, y])
inputs = keras.Input(shape=(32,))
x = inputs
for _ in range(3):
    x = residual(x, 32)
model = keras.Model(inputs, layers.Dense(1)(x))
""",
}


SNIPPETS.update(
    {  # every new layer type, its arguments and call forms
        "misc layers": """
import keras
from keras import layers
a = keras.Input(shape=(6, 8)); b = keras.Input(shape=(6, 8))
m = layers.Masking(mask_value=0.)(a)
r = layers.LSTM(8, return_sequences=True)(m)
p = layers.Permute((2, 1))(r)
rv = layers.RepeatVector(3)(layers.Flatten()(b))
d = layers.Dot(axes=(2, 2))([r, b])
mu = layers.Multiply()([r, b]); su = layers.Subtract()([r, b]); av = layers.Average()([r, b, mu]); mx = layers.Maximum()([su, av])
act = layers.Activation('softmax')(mx)
bi = layers.Bidirectional(layers.GRU(4, return_sequences=True), merge_mode='sum')(act)
td = layers.TimeDistributed(layers.Dense(2))(bi)
rs = layers.Reshape((-1,))(td)
model = keras.Model([a, b], [p, rv, d, rs])
""",
        "mha options": """
import keras
from keras import layers
q = keras.Input(shape=(5, 16)); v = keras.Input(shape=(7, 12))
x = layers.MultiHeadAttention(num_heads=3, key_dim=4, value_dim=6, output_shape=10, use_bias=False)(q, v)
y = layers.MultiHeadAttention(2, 8, attention_axes=(1,))(q, v, v)
model = keras.Model([q, v], [x, y])
""",
        "conv options": """
import keras
from keras import layers
x = keras.Input(shape=(64, 64, 3))
y = layers.Conv2D(16, (5, 5), strides=(2, 2), padding='same', dilation_rate=1)(x)
y = layers.Conv2D(16, 3, dilation_rate=2)(y)
y = layers.MaxPooling2D(pool_size=(3, 3), strides=2, padding='same')(y)
y = layers.DepthwiseConv2D((3, 3), strides=2, depth_multiplier=2, use_bias=False)(y)
y = layers.SeparableConv2D(8, 3, depth_multiplier=2)(y)
g = layers.GlobalMaxPooling2D()(y)
s = keras.Input(shape=(100, 8))
t = layers.SeparableConv1D(4, 5, strides=2, padding='same')(s)
t = layers.AveragePooling1D(pool_size=3, strides=1, padding='same')(t)
t = layers.Conv1D(4, 3, groups=2)(t)
model = keras.Model([x, s], [g, layers.GlobalAveragePooling1D()(t)])
""",
        "rnn stack with states": """
import tensorflow as tf
inp = tf.keras.Input(shape=(None, 10), batch_size=16)
x, h1 = tf.keras.layers.SimpleRNN(8, return_sequences=True, return_state=True, stateful=True)(inp)
x, h2, c2 = tf.keras.layers.LSTM(8, return_sequences=True, return_state=True, go_backwards=True)(x, initial_state=[h1, h1])
out = tf.keras.layers.Bidirectional(tf.keras.layers.LSTM(4), backward_layer=tf.keras.layers.LSTM(4, go_backwards=True))(x)
model = tf.keras.Model(inp, [out, h2, c2])
""",
        "norm layers": """
from tensorflow.keras.layers import *
from tensorflow.keras.models import Model
i = Input((20, 4))
x = BatchNormalization(momentum=0.9)(i)
x = LayerNormalization(axis=-1, epsilon=1e-5)(x)
x = Conv1D(8, 3, padding="same", activation="relu")(x)
x = MaxPooling1D(2)(x)
x = SpatialDropout1D(0.1)(x)
x = GlobalAveragePooling1D()(x)
x = Dropout(0.3)(x, training=True)
o = Dense(2, activation="softmax", use_bias=False)(x)
model = Model(i, o)
""",
        "attention variants": """
from tensorflow.keras import layers, Model, Input
q = Input(shape=(4, 8)); v = Input(shape=(6, 8))
a1 = layers.Attention(use_scale=True, score_mode="concat", dropout=0.1)([q, v])
a2, w = layers.AdditiveAttention(use_scale=False)([q, v], return_attention_scores=True)
a3 = layers.Attention()([q, v, v], use_causal_mask=False)
model = Model([q, v], [a1, a2, w, a3])
""",
    }
)

SNIPPETS["Inputs named by Keras after a Sequential model built from input_shape"] = """
from keras import Input, Model, Sequential, layers
first = Sequential([layers.Dense(2, input_shape=(3,))])
second = Sequential()
second.add(layers.Embedding(10, 2, input_length=5))
inputs = [Input(shape=(3,)) for _ in range(2)]
model = Model(inputs, layers.Add()(inputs))
"""


@pytest.mark.parametrize("title", SNIPPETS)
def test_graph_shapes_keras_orders_and_wires_the_same(keras, title):
    ours = models_from_code(SNIPPETS[title])[-1]
    theirs = keras_models(keras, "snippet.py", SNIPPETS[title])[-1]
    assert_same_graph(ours.spec, theirs)
    if title.startswith("Inputs named by Keras"):
        assert (
            [i["name"] for i in ours.spec["inputs"]]
            == [t._keras_history.operation.name for t in theirs.inputs]
            == ["input_layer_1", "input_layer_2"]
        )


def test_seq2seq_training_encoder_and_decoder_models():
    """The textbook's three models, spelled out: states by index, initial_state, layers reused across models."""
    training, encoder, decoder = (m.spec for m in models_from_code(_read("seq2seq_translator.py")))
    by_name = {layer["name"]: layer for layer in training["layers"]}
    lstm, dec_lstm = by_name["lstm"], by_name["lstm_1"]
    assert lstm == {"name": "lstm", "type": "LSTM", "units": 64, "return_state": True, "call": ["masking"]}
    assert dec_lstm["call_kwargs"] == {"initial_state": ["lstm:1", "lstm:2"]}
    assert training["outputs"] == ["dense"]
    assert encoder["outputs"] == ["lstm:1", "lstm:2"]
    assert [i["name"] for i in decoder["inputs"]] == [
        "decoder_inputs",
        "decoder_state_input_h",
        "decoder_state_input_c",
    ]
    assert [layer["name"] for layer in decoder["layers"]] == ["embedding_1", "lstm_1", "dense"]
    assert decoder["layers"][1]["call"] == ["embedding_1"]
    assert decoder["outputs"] == ["dense", "lstm_1:1", "lstm_1:2"]


# ---------------------------------------------------------------- the reader's tables against Keras
def test_constructor_positional_orders_match_keras(keras):
    for layer_type, order in keras_api.GRAPH_POSITIONAL.items():
        params = [p for p in inspect.signature(getattr(keras.layers, layer_type).__init__).parameters.values()
                  if p.name != "self" and p.kind == p.POSITIONAL_OR_KEYWORD]
        assert tuple(p.name for p in params) == order, layer_type
    params = inspect.signature(keras.Input).parameters
    assert tuple(params) == keras_api.INPUT_POSITIONAL


def test_call_signatures_match_keras(keras):
    for layer_type in sorted(keras_api.LAYER_TYPES):
        params = [p for p in inspect.signature(getattr(keras.layers, layer_type).call).parameters if p != "self"]
        assert tuple(params) == keras_api.call_params(layer_type), layer_type


def test_config_objects_match_keras(keras):
    for module, table in keras_api.CONFIG_OBJECTS.items():
        for name, (class_name, params) in table.items():
            made = getattr(getattr(keras, module), name)
            assert made.__name__ == class_name, name
            assert tuple(p for p in inspect.signature(made).parameters if p not in ("self", "kwargs")) == params, name


def test_merge_helpers_match_keras(keras):
    for helper, (layer_type, positional, defaults) in keras_api.MERGE_HELPERS.items():
        params = inspect.signature(getattr(keras.layers, helper)).parameters
        assert tuple(params)[1:1 + len(positional)] == positional, helper
        assert {k: params[k].default for k in defaults} == defaults, helper
        assert hasattr(keras.layers, layer_type)


def test_auto_names_match_keras(keras):
    keras.backend.clear_session()
    for layer_type in sorted(keras_api.LAYER_TYPES - {"Bidirectional", "TimeDistributed"}):
        positional = keras_api.constructor_positional(layer_type)
        required = {"SimpleRNN": (1,), "LSTM": (1,), "GRU": (1,), "Embedding": (2, 2), "Dense": (1,),
                    "Dropout": (0.1,), "SpatialDropout1D": (0.1,), "Conv1D": (1, 1), "Conv2D": (1, 1),
                    "SeparableConv1D": (1, 1), "SeparableConv2D": (1, 1), "DepthwiseConv2D": (1,),
                    "Dot": (1,), "Reshape": ((1,),), "Permute": ((1,),), "RepeatVector": (2,),
                    "Activation": ("relu",), "MultiHeadAttention": (1, 1), "AveragePooling2D": (2,),
                    "AveragePooling1D": (2,), "AlphaDropout": (0.1,), "GaussianDropout": (0.1,),
                    "GaussianNoise": (0.1,), "Conv3D": (1, 1), "Conv1DTranspose": (1, 1), "Conv2DTranspose": (1, 1),
                    "Rescaling": (1.0,), "CategoryEncoding": (2,)}.get(layer_type, ())
        assert len(required) <= len(positional)
        assert getattr(keras.layers, layer_type)(*required).name == keras_api.snake_case(layer_type)


def test_build_time_names_match_keras(keras):
    """MultiHeadAttention makes its softmax and dropout when first called: the next Dropout is dropout_1."""
    keras.backend.clear_session()
    x = keras.Input(shape=(4, 8))
    keras.layers.MultiHeadAttention(2, 4)(x, x)
    assert keras.layers.Dropout(0.1).name == "dropout_1"
    assert keras.layers.Softmax().name == "softmax_1"
    code = "x = Input(shape=(4, 8))\ny = MultiHeadAttention(2, 4)(x, x)\nz = Dropout(0.1)(y)\nm = Model(x, z)\n"
    (model,) = models_from_code(code)
    assert [layer["name"] for layer in model.spec["layers"]] == ["multi_head_attention", "dropout_1"]
