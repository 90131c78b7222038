"""What the Keras 3 names that model-building code uses mean, for the code reader.

Constructor and call signatures, the names Keras gives layers, and how many
tensors a call returns, copied from Keras 3.15's own source
(``tests/test_codeparse_keras.py`` compares every table with the installed Keras).
Nothing here imports Keras: the reader never runs the code it reads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..layers import LAYER_ARGS, POSITIONAL
from ..layers.recurrent import RNN_TYPES
from ..layerspec import NESTED_TYPES


def snake_case(class_name: str) -> str:
    """keras.src.utils.naming.to_snake_case: SimpleRNN → simple_rnn, Conv1D → conv1d, HeNormal → he_normal."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


# Positional constructor order of the layers the functional reader adds to the
# 16 that nn/spec.py knows (keras.layers.X.__init__, positional-or-keyword part).
GRAPH_POSITIONAL: dict[str, tuple[str, ...]] = {
    "Masking": ("mask_value",),
    "Concatenate": ("axis",),
    "Add": (), "Subtract": (), "Multiply": (), "Average": (), "Maximum": (),
    "Dot": ("axes", "normalize"),
    "Reshape": ("target_shape",),
    "Permute": ("dims",),
    "RepeatVector": ("n",),
    "Activation": ("activation",),
    "Attention": ("use_scale", "score_mode", "dropout", "seed"),
    "AdditiveAttention": ("use_scale", "dropout"),
    "MultiHeadAttention": (
        "num_heads", "key_dim", "value_dim", "dropout", "use_bias", "output_shape",
        "attention_axes", "sliding_window", "flash_attention", "kernel_initializer",
        "bias_initializer", "kernel_regularizer", "bias_regularizer", "activity_regularizer",
        "kernel_constraint", "bias_constraint", "use_gate", "seed"),
    "Conv2D": (
        "filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "groups",
        "activation", "use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer",
        "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint"),
    "MaxPooling2D": ("pool_size", "strides", "padding", "data_format", "name"),
    "AveragePooling2D": ("pool_size", "strides", "padding", "data_format", "name"),
    "AveragePooling1D": ("pool_size", "strides", "padding", "data_format", "name"),
    "GlobalAveragePooling2D": ("data_format", "keepdims"),
    "GlobalMaxPooling2D": ("data_format", "keepdims"),
    "SeparableConv1D": (
        "filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
        "depth_multiplier", "activation", "use_bias", "depthwise_initializer",
        "pointwise_initializer", "bias_initializer", "depthwise_regularizer",
        "pointwise_regularizer", "bias_regularizer", "activity_regularizer",
        "depthwise_constraint", "pointwise_constraint", "bias_constraint"),
    "SeparableConv2D": (
        "filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
        "depth_multiplier", "activation", "use_bias", "depthwise_initializer",
        "pointwise_initializer", "bias_initializer", "depthwise_regularizer",
        "pointwise_regularizer", "bias_regularizer", "activity_regularizer",
        "depthwise_constraint", "pointwise_constraint", "bias_constraint"),
    "DepthwiseConv2D": (
        "kernel_size", "strides", "padding", "depth_multiplier", "data_format", "dilation_rate",
        "activation", "use_bias", "depthwise_initializer", "bias_initializer",
        "depthwise_regularizer", "bias_regularizer", "activity_regularizer", "depthwise_constraint",
        "bias_constraint"),
}

# (a model used as a layer is made by Sequential(...) / Model(...), which the reader reads as models)
LAYER_TYPES: frozenset[str] = (frozenset(LAYER_ARGS) - NESTED_TYPES) | frozenset(GRAPH_POSITIONAL)

# keras.Input's positional order (shape first, as textbooks write Input((30,))).
INPUT_POSITIONAL = ("shape", "batch_size", "dtype", "sparse", "ragged", "batch_shape", "name", "tensor", "optional")

# The lowercase functional helpers: keras.layers.concatenate(inputs, axis=-1, **kwargs)
# builds Concatenate(axis=axis, **kwargs) and calls it on inputs. Value: the layer type
# and the constructor defaults the helper passes itself.
MERGE_HELPERS: dict[str, tuple[str, tuple[str, ...], dict[str, Any]]] = {
    "concatenate": ("Concatenate", ("axis",), {}),
    "add": ("Add", (), {}),
    "subtract": ("Subtract", (), {}),
    "multiply": ("Multiply", (), {}),
    "average": ("Average", (), {}),
    "maximum": ("Maximum", (), {}),
    "dot": ("Dot", ("axes",), {"axes": -1}),
}

MODEL_BUILDERS = frozenset({"Model", "Functional"})
SESSION_RESETS = frozenset({"clear_session"})
SUBCLASS_BASES = frozenset({"Layer", "Model", "Sequential", "Functional"})
# Bare names pasted without their import still mean Keras, as the textbook cells assume.
KNOWN_NAMES = (
    LAYER_TYPES | {"Input", "InputLayer", "Sequential"} | MODEL_BUILDERS | frozenset(MERGE_HELPERS) | SESSION_RESETS
)
# Module names a pasted cell uses without importing them.
DEFAULT_MODULES = {"tf": "tensorflow", "tensorflow": "tensorflow", "keras": "keras",
                   "layers": "keras.layers", "models": "keras.models", "K": "keras.backend"}

# Activation functions passed as objects (activation=tf.nn.relu) instead of names.
_ACTIVATION_MODULES = ("keras.activations.", "tensorflow.nn.")
_ACTIVATION_ALIASES = {"sigmoid", "tanh", "relu", "softmax", "elu", "selu", "gelu", "swish", "silu",
                       "softplus", "softsign", "linear", "leaky_relu", "relu6", "exponential",
                       "hard_sigmoid", "mish", "log_softmax"}

# Layer.call signatures: which arguments a call takes, in order, and which of them
# are the tensors the layer is applied to ("call" in the spec); the rest become
# "call_kwargs". ``training`` never reaches the spec: it changes no shape or count.
_RNN_CALL = ("sequences", "initial_state", "mask", "training")
_ATTENTION_CALL = ("inputs", "mask", "training", "return_attention_scores", "use_causal_mask")
CALL_PARAMS: dict[str, tuple[str, ...]] = {
    **{t: _RNN_CALL for t in RNN_TYPES}, "Bidirectional": _RNN_CALL,
    "TimeDistributed": ("inputs", "training", "mask"),
    "Dense": ("inputs", "training"),
    "Dropout": ("inputs", "training"),
    "SpatialDropout1D": ("inputs", "training"),
    "GlobalAveragePooling1D": ("inputs", "mask"),
    "BatchNormalization": ("inputs", "training", "mask"),
    "GaussianNoise": ("inputs", "training"),
    "GaussianDropout": ("inputs", "training"),
    "AlphaDropout": ("inputs", "training"),
    "Softmax": ("inputs", "mask"),
    "CategoryEncoding": ("inputs", "count_weights"),
    "Attention": _ATTENTION_CALL,
    "AdditiveAttention": _ATTENTION_CALL,
    "MultiHeadAttention": ("query", "value", "key", "query_mask", "value_mask", "key_mask",
                           "attention_mask", "return_attention_scores", "training", "use_causal_mask"),
}
DEFAULT_CALL = ("inputs",)
PRIMARY_CALL_ARGS: dict[str, tuple[str, ...]] = {"MultiHeadAttention": ("query", "value")}
# Call arguments that hold tensors (the others are constants such as use_causal_mask).
TENSOR_CALL_ARGS = frozenset({"inputs", "sequences", "initial_state", "mask", "query", "value", "key",
                              "query_mask", "value_mask", "key_mask", "attention_mask"})
DROPPED_CALL_ARGS = frozenset({"training"})

# Sub-layers some layers create, unnamed, the first time they are called (in build()),
# each taking the next Keras auto-name of its kind: MultiHeadAttention's softmax and
# dropout make a later Dropout() "dropout_1".
BUILD_TIME_NAMES: dict[str, tuple[str, ...]] = {"MultiHeadAttention": ("softmax", "dropout")}

_STATE_COUNT = {"SimpleRNN": 1, "GRU": 1, "LSTM": 2}

# Regularizer, constraint and initializer objects given to a layer
# (kernel_regularizer=regularizers.l2(0.002)): each callable's class and arguments,
# as keras.regularizers / constraints / initializers define them. The spec carries
# them as Keras serializes them, {"class_name": "L2", "config": {"l2": 0.002}}.
_SEED_AXES = ("seed", "input_axes", "output_axes")
CONFIG_OBJECTS: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    "regularizers": {
        "L1": ("L1", ("l1",)), "l1": ("L1", ("l1",)),
        "L2": ("L2", ("l2",)), "l2": ("L2", ("l2",)),
        "L1L2": ("L1L2", ("l1", "l2")), "l1_l2": ("L1L2", ("l1", "l2")),
        "OrthogonalRegularizer": ("OrthogonalRegularizer", ("factor", "mode")),
        "orthogonal_regularizer": ("OrthogonalRegularizer", ("factor", "mode")),
    },
    "constraints": {
        "MaxNorm": ("MaxNorm", ("max_value", "axis")), "max_norm": ("MaxNorm", ("max_value", "axis")),
        "MinMaxNorm": ("MinMaxNorm", ("min_value", "max_value", "rate", "axis")),
        "min_max_norm": ("MinMaxNorm", ("min_value", "max_value", "rate", "axis")),
        "NonNeg": ("NonNeg", ()), "non_neg": ("NonNeg", ()),
        "UnitNorm": ("UnitNorm", ("axis",)), "unit_norm": ("UnitNorm", ("axis",)),
    },
    "initializers": {
        **{name: (cls, _SEED_AXES) for cls in ("GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform",
                                                "LecunNormal", "LecunUniform")
           for name in (cls, snake_case(cls))},
        "Constant": ("Constant", ("value",)), "constant": ("Constant", ("value",)),
        "Identity": ("Identity", ("gain",)), "identity": ("Identity", ("gain",)),
        "Ones": ("Ones", ()), "ones": ("Ones", ()), "Zeros": ("Zeros", ()), "zeros": ("Zeros", ()),
        "Orthogonal": ("Orthogonal", ("gain", "seed")), "orthogonal": ("Orthogonal", ("gain", "seed")),
        "RandomNormal": ("RandomNormal", ("mean", "stddev", "seed")),
        "random_normal": ("RandomNormal", ("mean", "stddev", "seed")),
        "RandomUniform": ("RandomUniform", ("minval", "maxval", "seed")),
        "random_uniform": ("RandomUniform", ("minval", "maxval", "seed")),
        "TruncatedNormal": ("TruncatedNormal", ("mean", "stddev", "seed")),
        "truncated_normal": ("TruncatedNormal", ("mean", "stddev", "seed")),
        "VarianceScaling": ("VarianceScaling", ("scale", "mode", "distribution", *_SEED_AXES)),
        "variance_scaling": ("VarianceScaling", ("scale", "mode", "distribution", *_SEED_AXES)),
    },
}


def call_params(layer_type: str) -> tuple[str, ...]:
    return CALL_PARAMS.get(layer_type, DEFAULT_CALL)


def primary_call_args(layer_type: str) -> tuple[str, ...]:
    return PRIMARY_CALL_ARGS.get(layer_type, call_params(layer_type)[:1])


def constructor_positional(layer_type: str) -> tuple[str, ...]:
    return POSITIONAL.get(layer_type) or GRAPH_POSITIONAL.get(layer_type, ())


def config_object(path: str) -> tuple[str, tuple[str, ...]] | None:
    """``keras.regularizers.l2`` → ("L2", ("l2",)): the class a call makes and its positional order."""
    inside = keras_path(path)
    if inside is None:
        return None
    parts = inside.split(".")
    if len(parts) < 3:
        return None
    return CONFIG_OBJECTS.get(parts[-2], {}).get(parts[-1])


def output_count(layer_type: str, args: Mapping[str, Any], call_kwargs: Mapping[str, Any]) -> int:
    """How many tensors calling the layer returns (Keras returns a list when more than one).

    An RNN with return_state gives its output then its states (one for SimpleRNN and
    GRU, h and c for LSTM); a Bidirectional doubles the states, and with
    merge_mode=None also returns the two directions' outputs separately. Attention
    layers asked for their scores return them second.
    """
    if layer_type in RNN_TYPES:
        return 1 + _STATE_COUNT[layer_type] if args.get("return_state") else 1
    if layer_type == "Bidirectional":
        inner = args.get("layer")
        inner_type = inner.get("type") if isinstance(inner, dict) else None
        outputs = 2 if "merge_mode" in args and args["merge_mode"] is None else 1
        if isinstance(inner, dict) and inner_type in RNN_TYPES and inner.get("return_state"):
            return outputs + 2 * _STATE_COUNT[inner_type]
        return outputs
    if layer_type in ("MultiHeadAttention", "Attention", "AdditiveAttention"):
        return 2 if call_kwargs.get("return_attention_scores") is True else 1
    return 1


def keras_path(path: str) -> str | None:
    """``tensorflow.keras.layers.Dense`` → ``keras.layers.Dense``; None for a path outside Keras."""
    for prefix in ("tensorflow.python.keras", "tensorflow.keras", "tf_keras"):
        if path == prefix or path.startswith(prefix + "."):
            path = "keras" + path[len(prefix):]
            break
    return path if path == "keras" or path.startswith("keras.") else None


# Keras's other names for its layer classes (keras.layers.MaxPool2D is MaxPooling2D): the same
# class, so the summary and the auto name are the class's.
ALIASES = {
    "MaxPool1D": "MaxPooling1D", "MaxPool2D": "MaxPooling2D", "AvgPool1D": "AveragePooling1D",
    "AvgPool2D": "AveragePooling2D", "GlobalAvgPool1D": "GlobalAveragePooling1D",
    "GlobalAvgPool2D": "GlobalAveragePooling2D", "GlobalMaxPool1D": "GlobalMaxPooling1D",
    "GlobalMaxPool2D": "GlobalMaxPooling2D", "Convolution1D": "Conv1D", "Convolution2D": "Conv2D",
    "Convolution3D": "Conv3D", "Convolution1DTranspose": "Conv1DTranspose",
    "Convolution2DTranspose": "Conv2DTranspose", "SeparableConvolution1D": "SeparableConv1D",
    "SeparableConvolution2D": "SeparableConv2D", "DepthwiseConvolution2D": "DepthwiseConv2D",
}


def keras_name(path: str) -> str | None:
    """The Keras name a dotted path stands for, if the reader knows it (``keras.layers.LSTM`` → ``LSTM``)."""
    inside = keras_path(path)
    if inside is None or "." not in inside:
        return None
    last = inside.rsplit(".", 1)[1]
    last = ALIASES.get(last, last)
    return last if last in KNOWN_NAMES or last in SUBCLASS_BASES else None


def activation_name(path: str) -> str | None:
    """``tf.nn.relu`` / ``keras.activations.softmax`` passed as an activation → its Keras name."""
    normal = keras_path(path) or path
    for prefix in _ACTIVATION_MODULES:
        if normal.startswith(prefix):
            name = normal[len(prefix):]
            return name if name in _ACTIVATION_ALIASES else None
    return None
