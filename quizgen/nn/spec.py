"""Architecture specs: the JSON contract for a ``keras.Sequential`` model.

A spec is ``{"input": {"shape"|"batch_shape": [...]}, "layers": [{"type": ..., **kwargs}]}``
with keyword arguments named exactly as the Keras 3 constructors name them.
Parsing validates every argument the way Keras 3 would, so that a spec quizgen
accepts can be built by Keras and a spec Keras rejects never reaches a student.
Checks that depend on the incoming tensor shape (an RNN on 2-D input, a kernel
longer than the sequence) live in ``solver.py``, which knows the shapes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .. import files
from ..errors import SpecError, clip

from .shapes import Shape

# Names accepted by keras.activations.get / initializers.get / ... in Keras 3.15
# (tests/test_keras_contract.py compares them with the installed Keras).
ACTIVATIONS = frozenset(
    "celu elu exponential gelu glu hard_shrink hard_sigmoid hard_silu hard_swish hard_tanh "
    "leaky_relu linear log_sigmoid log_softmax mish relu relu6 selu sigmoid silu soft_shrink "
    "softmax softplus softsign sparse_plus sparse_sigmoid sparsemax squareplus swish tanh "
    "tanh_shrink threshold".split()
)
INITIALIZERS = frozenset(
    "Constant GlorotNormal GlorotUniform HeNormal HeUniform Identity IdentityInitializer "
    "LecunNormal LecunUniform Ones Orthogonal OrthogonalInitializer RandomNormal RandomUniform "
    "STFT STFTInitializer TruncatedNormal VarianceScaling Zeros constant glorot_normal "
    "glorot_uniform he_normal he_uniform identity lecun_normal lecun_uniform normal one ones "
    "orthogonal random_normal random_uniform stft truncated_normal uniform variance_scaling "
    "zero zeros".split()
)
REGULARIZERS = frozenset("L1 L1L2 L2 OrthogonalRegularizer l1 l1l2 l2 orthogonal_regularizer".split())
CONSTRAINTS = frozenset("MaxNorm MinMaxNorm NonNeg UnitNorm max_norm min_max_norm non_neg unit_norm".split())

RNN_TYPES = frozenset({"SimpleRNN", "LSTM", "GRU"})
WRAPPER_TYPES = frozenset({"Bidirectional", "TimeDistributed"})
MERGE_MODES = ("concat", "sum", "mul", "ave")

REQUIRED = object()

# Keyword arguments every Keras 3 layer takes (keras.layers.Layer.__init__, plus the
# Keras 2 input_shape/input_dim that the base class still pops and warns about).
_BASE_ARGS: dict[str, Any] = {
    "name": None, "dtype": None, "trainable": True, "autocast": True,
    "activity_regularizer": None, "input_shape": None, "input_dim": None,
}
_RNN_ARGS: dict[str, Any] = {
    "units": REQUIRED, "activation": "tanh", "use_bias": True,
    "kernel_initializer": "glorot_uniform", "recurrent_initializer": "orthogonal",
    "bias_initializer": "zeros", "kernel_regularizer": None, "recurrent_regularizer": None,
    "bias_regularizer": None, "kernel_constraint": None, "recurrent_constraint": None,
    "bias_constraint": None, "dropout": 0.0, "recurrent_dropout": 0.0,
    "return_sequences": False, "return_state": False, "go_backwards": False,
    "stateful": False, "unroll": False, "seed": None,
}
_DENSE_LIKE = {
    "kernel_initializer": "glorot_uniform", "bias_initializer": "zeros",
    "kernel_regularizer": None, "bias_regularizer": None,
    "kernel_constraint": None, "bias_constraint": None,
}
_NORM_ARGS = {
    "axis": -1, "epsilon": 0.001, "center": True, "scale": True,
    "beta_initializer": "zeros", "gamma_initializer": "ones",
    "beta_regularizer": None, "gamma_regularizer": None,
    "beta_constraint": None, "gamma_constraint": None,
}

# Constructor arguments and defaults of each supported layer, as in Keras 3.
LAYER_ARGS: dict[str, dict[str, Any]] = {
    "Embedding": {
        "input_dim": REQUIRED, "output_dim": REQUIRED, "embeddings_initializer": "uniform",
        "embeddings_regularizer": None, "embeddings_constraint": None, "mask_zero": False,
        "weights": None, "lora_rank": None, "lora_alpha": None, "quantization_config": None,
        "input_length": None,
    },
    "SimpleRNN": dict(_RNN_ARGS),
    "LSTM": {**_RNN_ARGS, "recurrent_activation": "sigmoid", "unit_forget_bias": True, "use_cudnn": "auto"},
    "GRU": {**_RNN_ARGS, "recurrent_activation": "sigmoid", "reset_after": True, "use_cudnn": "auto"},
    "Bidirectional": {"layer": REQUIRED, "merge_mode": "concat", "weights": None, "backward_layer": None},
    "TimeDistributed": {"layer": REQUIRED},
    "Dense": {
        "units": REQUIRED, "activation": None, "use_bias": True, **_DENSE_LIKE,
        "lora_rank": None, "lora_alpha": None, "quantization_config": None,
    },
    "Dropout": {"rate": REQUIRED, "noise_shape": None, "seed": None},
    "SpatialDropout1D": {"rate": REQUIRED, "seed": None},
    "Flatten": {"data_format": None},
    "GlobalAveragePooling1D": {"data_format": None, "keepdims": False},
    "GlobalMaxPooling1D": {"data_format": None, "keepdims": False},
    "Conv1D": {
        "filters": REQUIRED, "kernel_size": REQUIRED, "strides": 1, "padding": "valid",
        "data_format": None, "dilation_rate": 1, "groups": 1, "activation": None,
        "use_bias": True, **_DENSE_LIKE,
    },
    "MaxPooling1D": {"pool_size": 2, "strides": None, "padding": "valid", "data_format": None},
    "BatchNormalization": {
        **_NORM_ARGS, "momentum": 0.99, "moving_mean_initializer": "zeros",
        "moving_variance_initializer": "ones", "renorm": False, "renorm_clipping": None,
        "renorm_momentum": 0.99, "synchronized": False,
    },
    "LayerNormalization": {**_NORM_ARGS, "rms_scaling": False},
}
for _args in LAYER_ARGS.values():
    for _k, _v in _BASE_ARGS.items():
        _args.setdefault(_k, _v)

# Keras 3's positional order, used when reading code such as ``Embedding(5000, 100)``.
POSITIONAL: dict[str, tuple[str, ...]] = {
    "Embedding": ("input_dim", "output_dim"),
    "SimpleRNN": ("units", "activation", "use_bias"),
    "LSTM": ("units", "activation", "recurrent_activation", "use_bias"),
    "GRU": ("units", "activation", "recurrent_activation", "use_bias"),
    "Bidirectional": ("layer", "merge_mode"),
    "TimeDistributed": ("layer",),
    "Dense": ("units", "activation", "use_bias"),
    "Dropout": ("rate", "noise_shape", "seed"),
    "SpatialDropout1D": ("rate", "seed"),
    "Flatten": ("data_format",),
    "GlobalAveragePooling1D": ("data_format", "keepdims"),
    "GlobalMaxPooling1D": ("data_format", "keepdims"),
    "Conv1D": ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "groups", "activation", "use_bias"),
    "MaxPooling1D": ("pool_size", "strides", "padding", "data_format"),
    "BatchNormalization": ("axis", "momentum", "epsilon", "center", "scale"),
    "LayerNormalization": ("axis", "epsilon", "center", "scale"),
}

# Keras 2 arguments that Keras 3 dropped: named so the message can say what to do instead.
_KERAS2_ONLY = {
    "batch_input_shape": 'Keras 3 no longer accepts batch_input_shape on a layer; put it in the spec\'s "input": {"batch_shape": [...]}',
    "input_length": "input_length is only an Embedding argument",
    "batch_size": 'Keras 3 no longer accepts batch_size on a layer; use "input": {"batch_shape": [...]}',
}


@dataclass(slots=True)
class LayerSpec:
    """One validated layer: its Keras class name and the arguments given for it."""

    type: str
    args: Mapping[str, Any] = field(default_factory=dict)
    inner: "LayerSpec | None" = None

    def get(self, name: str) -> Any:
        """The argument as given, or Keras's default for it."""
        if name in self.args:
            return self.args[name]
        return LAYER_ARGS[self.type][name]

    def key(self) -> tuple[Any, ...]:
        """A hashable identity of the layer's configuration (TypeError if an argument is unhashable)."""
        return (self.type, tuple(self.args.items()), None if self.inner is None else self.inner.key())


@dataclass(slots=True)
class Spec:
    """A validated model: the full input shape (batch dimension first) and its layers."""

    input_shape: Shape
    layers: tuple[LayerSpec, ...]
    batch_fixed: bool = False

    def to_json(self) -> dict[str, Any]:
        """The canonical JSON form (what parse_spec reads back to an equal Spec)."""
        inp = {"batch_shape": list(self.input_shape)} if self.batch_fixed else {"shape": list(self.input_shape[1:])}
        return {"input": inp, "layers": [layer_to_json(layer) for layer in self.layers]}


def layer_to_json(layer: LayerSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"type": layer.type}
    for key, value in layer.args.items():
        out[key] = list(value) if isinstance(value, tuple) else value
    if layer.inner is not None:
        out["layer"] = layer_to_json(layer.inner)
    return out


# ---------------------------------------------------------------- argument checks
# Each check returns the normalised value or raises ValueError(reason).

def _is_int(v: Any) -> bool:
    return isinstance(v, int)  # bool included: Keras accepts Dense(True) as one unit


MAX_DIM = 2**31 - 1  # no model with a larger dimension can be allocated; refusing keeps numbers printable


def _positive_int(v: Any) -> int:
    if not _is_int(v) or v <= 0:
        raise ValueError(f"expected a positive integer, got {_short(v)}")
    if v > MAX_DIM:
        raise ValueError(f"{_short(v)} is larger than {MAX_DIM:,}; no layer that size can be built")
    return v


def _int_tuple1(v: Any) -> int:
    """Conv1D's kernel_size/strides/dilation_rate: an int or a 1-element list of one."""
    if isinstance(v, (list, tuple)):
        if len(v) != 1:
            raise ValueError(f"expected an integer or a list of 1 integer, got {v!r}")
        v = v[0]
    return _positive_int(v)


def _optional_int_tuple1(v: Any) -> int | None:
    return None if v is None else _int_tuple1(v)


def _bool(v: Any) -> bool:
    if isinstance(v, bool) or v in (0, 1):
        return bool(v)
    raise ValueError(f"expected true or false, got {v!r}")


def _number(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:
        raise ValueError(f"expected a number, got {v!r}")
    return v


def _rate(v: Any) -> float:
    v = _number(v)
    if not 0 <= v <= 1:
        raise ValueError(f"expected a rate between 0 and 1, got {v!r}")
    return v


def _named(kind: str, names: frozenset[str], allow_none: bool = True) -> Callable[[Any], Any]:
    def check(v: Any) -> Any:
        if v is None and allow_none:
            return v
        if isinstance(v, str) and v in names:
            return v
        if isinstance(v, dict) and v.get("class_name") in names:
            return v
        raise ValueError(f"unknown {kind} {v!r}")
    return check


def _choice(*options: Any) -> Callable[[Any], Any]:
    def check(v: Any) -> Any:
        if v in options and (v is None or isinstance(v, str)):
            return v
        shown = ", ".join(repr(o) if o is not None else "null" for o in options)
        raise ValueError(f"expected one of {shown}, got {v!r}")
    return check


def _must_be_none(why: str) -> Callable[[Any], Any]:
    def check(v: Any) -> Any:
        if v is not None:
            raise ValueError(why)
        return v
    return check


def _optional_int(v: Any) -> int | None:
    if v is not None and not _is_int(v):
        raise ValueError(f"expected an integer or null, got {v!r}")
    return v


def _optional_str(v: Any) -> str | None:
    if v is not None and not isinstance(v, str):
        raise ValueError(f"expected a string, got {v!r}")
    return v


def _axis(v: Any) -> int | tuple[int, ...]:
    if _is_int(v) and not isinstance(v, bool):
        return v
    raise ValueError(f"expected an integer axis, got {v!r}")


def _axes(v: Any) -> int | tuple[int, ...]:
    if isinstance(v, (list, tuple)) and v and all(_is_int(a) and not isinstance(a, bool) for a in v):
        return tuple(v)
    return _axis(v)


def _shape_arg(v: Any) -> tuple[int | None, ...]:
    if isinstance(v, int) and not isinstance(v, bool):
        v = [v]
    if not isinstance(v, (list, tuple)) or not all(d is None or (_is_int(d) and 0 <= d <= MAX_DIM) for d in v):
        raise ValueError(f"expected a shape (a list of non-negative integers or null), got {_short(v)}")
    return tuple(v)


def _return_state(v: Any) -> bool:
    if _bool(v):
        raise ValueError("return_state=true makes the layer return several tensors, which a Sequential model cannot pass on")
    return False


_REGULARIZER = _named("regularizer", REGULARIZERS)
_CONSTRAINT = _named("constraint", CONSTRAINTS)
_INITIALIZER = _named("initializer", INITIALIZERS)
_ACTIVATION = _named("activation", ACTIVATIONS)

_CHECKS: dict[str, Callable[[Any], Any]] = {
    "units": _positive_int, "input_dim": _positive_int, "output_dim": _positive_int,
    "filters": _positive_int, "groups": _positive_int,
    "kernel_size": _int_tuple1, "dilation_rate": _int_tuple1, "pool_size": _int_tuple1,
    "activation": _ACTIVATION, "recurrent_activation": _ACTIVATION,
    "return_state": _return_state,
    "dropout": _number, "recurrent_dropout": _number,  # Keras clips these into [0, 1]
    "rate": _rate,
    "momentum": _number, "epsilon": _number, "renorm_momentum": _number,
    "seed": _optional_int, "name": _optional_str, "dtype": _optional_str,
    "data_format": _choice(None, "channels_last", "channels_first"),
    "merge_mode": _choice(*MERGE_MODES),
    "weights": _must_be_none("quizgen specs cannot carry initial weights; leave weights out"),
    "backward_layer": _must_be_none("quizgen does not support a custom backward_layer; leave it out"),
    "lora_rank": _must_be_none("quizgen does not model LoRA layers; leave lora_rank out"),
    "lora_alpha": _must_be_none("quizgen does not model LoRA layers; leave lora_alpha out"),
    "quantization_config": _must_be_none("quizgen does not model quantized layers; leave quantization_config out"),
    "renorm_clipping": lambda v: v if v is None or isinstance(v, dict) else _must_be_none("expected an object or null")(v),
    "use_cudnn": lambda v: v if v == "auto" else _bool(v),
    "noise_shape": lambda v: None if v is None else _shape_arg(v),
    "input_shape": lambda v: None if v is None else _shape_arg(v),
    "input_length": _optional_int,
}
for _name in ("use_bias", "return_sequences", "go_backwards", "stateful", "unroll", "mask_zero",
              "unit_forget_bias", "reset_after", "center", "scale", "renorm", "synchronized",
              "keepdims", "trainable", "autocast", "rms_scaling"):
    _CHECKS[_name] = _bool


def _check_for(layer_type: str, name: str) -> Callable[[Any], Any] | None:
    """The validator of one argument of one layer type (None: accepted as given)."""
    if name.endswith("_initializer"):
        return _INITIALIZER
    if name.endswith("_regularizer"):
        return _REGULARIZER
    if name.endswith("_constraint"):
        return _CONSTRAINT
    if name == "axis":
        return _axes if layer_type == "LayerNormalization" else _axis
    if name == "strides":
        return _optional_int_tuple1 if layer_type == "MaxPooling1D" else _int_tuple1
    if name == "padding":
        return _choice(*(("valid", "same", "causal") if layer_type == "Conv1D" else ("valid", "same")))
    if name == "input_dim" and layer_type != "Embedding":
        return lambda v: None if v is None else _positive_int(v)
    return _CHECKS.get(name)


# Resolved once at import: parsing is on the generator's hot path.
_LAYER_CHECKS = {t: {n: _check_for(t, n) for n in args} for t, args in LAYER_ARGS.items()}
REQUIRED_ARGS = {t: tuple(n for n, d in args.items() if d is REQUIRED) for t, args in LAYER_ARGS.items()}


# ---------------------------------------------------------------- parsing

def parse_layer(obj: Any, index: int, inside: str | None = None) -> LayerSpec:
    """Validate one layer object; ``index`` is its 1-based position in the model."""
    if not isinstance(obj, dict):
        raise SpecError(f"expected a layer object like {{\"type\": \"Dense\", ...}}, got {_short(obj)}", index)
    layer_type = obj.get("type")
    if not isinstance(layer_type, str):
        raise SpecError('a layer needs a "type" naming its Keras class, e.g. "SimpleRNN"', index)
    where_type = f"{inside} > {layer_type}" if inside else layer_type
    known = _LAYER_CHECKS.get(layer_type)
    if known is None:
        supported = ", ".join(sorted(LAYER_ARGS))
        raise SpecError(f"unknown layer type {layer_type!r} (quizgen knows {supported})", index, where_type)
    args: dict[str, Any] = {}
    inner = None
    for name, value in obj.items():
        if name == "type":
            continue
        if name not in known:
            hint = _KERAS2_ONLY.get(name)
            raise SpecError(hint or f"unrecognized keyword argument {name!r} (not a Keras 3 {layer_type} argument)", index, where_type)
        if name == "layer":
            inner = parse_layer(value, index, where_type)
            continue
        check = known[name]
        try:
            args[name] = check(value) if check is not None else value
        except ValueError as exc:
            raise SpecError(f"{name}: {exc}", index, where_type) from None
    for name in REQUIRED_ARGS[layer_type]:
        if name not in obj:
            raise SpecError(f"missing required argument {name!r}", index, where_type)
    layer = LayerSpec(layer_type, args, inner)
    _check_wrapper(layer, index, where_type)
    return layer


def _check_wrapper(layer: LayerSpec, index: int, where: str) -> None:
    inner = layer.inner
    if layer.type == "Bidirectional":
        assert inner is not None
        if inner.type not in RNN_TYPES:
            raise SpecError(f"Bidirectional wraps a recurrent layer (SimpleRNN, LSTM or GRU), not {inner.type}", index, where)
        if inner.get("go_backwards"):
            raise SpecError("the wrapped layer must not set go_backwards=true (Bidirectional makes the backward copy itself)", index, where)


def parse_spec(obj: Any) -> Spec:
    """Validate a spec object (already decoded from JSON)."""
    if not isinstance(obj, dict):
        raise SpecError(f'a spec is a JSON object with "input" and "layers", got {_short(obj)}')
    unknown = set(obj) - {"input", "layers", "name"}
    if unknown:
        raise SpecError(f"unknown top-level key(s) {', '.join(sorted(map(repr, unknown)))} (expected \"input\" and \"layers\")")
    raw_layers = obj.get("layers")
    if not isinstance(raw_layers, list) or not raw_layers:
        raise SpecError('"layers" must be a non-empty list of layer objects')
    layers = tuple([parse_layer(raw, i) for i, raw in enumerate(raw_layers, start=1)])
    input_shape, fixed = _parse_input(obj.get("input"), layers)
    return Spec(input_shape, layers, fixed)


def _parse_input(inp: Any, layers: tuple[LayerSpec, ...]) -> tuple[Shape, bool]:
    if inp is None:
        first = layers[0]
        # Keras 2 style: the first layer carries input_shape / input_dim.
        if first.args.get("input_shape") is not None:
            return (None, *first.args["input_shape"]), False
        if first.type != "Embedding" and first.args.get("input_dim") is not None:
            return (None, first.args["input_dim"]), False
        raise SpecError('the spec needs an "input": {"shape": [...]} or {"batch_shape": [...]}')
    if not isinstance(inp, dict) or len(inp) != 1 or not ({"shape", "batch_shape"} & set(inp)):
        raise SpecError('"input" must be {"shape": [...]} or {"batch_shape": [...]}, exactly one of them')
    key, dims = next(iter(inp.items()))
    if not isinstance(dims, list) or not all(d is None or (type(d) is int and 0 <= d <= MAX_DIM) for d in dims):
        raise SpecError(f'input {key} must be a list of non-negative integers or null, got {_short(dims)}')
    if key == "batch_shape":
        if not dims:
            raise SpecError("input batch_shape needs at least the batch dimension")
        return tuple(dims), dims[0] is not None
    return (None, *dims), False


def loads(text: str) -> Spec:
    """Parse a spec from JSON text, turning a JSON syntax error into a SpecError."""
    return parse_spec(decode_json(text))


def decode_json(text: str) -> Any:
    try:
        return files.decode_json(text)
    except files.MalformedJSON as exc:
        raise SpecError(f"malformed JSON: {exc}") from None


def _short(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**60:
        return f"a {len(str(abs(value))) if abs(value) < 10**4000 else 'huge'}-digit number"
    try:
        text = json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, str) else repr(value)
    except (ValueError, RecursionError):
        text = f"a {type(value).__name__}"
    return clip(text, 60)


def spec_from_generator(obj: dict[str, Any]) -> Spec:
    """A Spec from a spec object quizgen's own generator just built, without re-checking
    every argument: the generator only ever writes valid arguments (tests/test_generator.py
    holds both paths to identical solutions), and checking them again was a sixth of the
    cost of a question. Shape rules still apply when the spec is solved."""
    (key, dims), = obj["input"].items()
    shape = tuple(dims) if key == "batch_shape" else (None, *dims)
    return Spec(shape, tuple([_generated_layer(layer) for layer in obj["layers"]]),
                key == "batch_shape" and dims[0] is not None)


def _generated_layer(obj: dict[str, Any]) -> LayerSpec:
    args = {k: v for k, v in obj.items() if k != "type" and k != "layer"}
    inner = obj.get("layer")
    return LayerSpec(obj["type"], args, None if inner is None else _generated_layer(inner))
