"""What every layer family is made of: argument checks, shape-rule helpers, and ``LayerKind``.

A family module (``core``, ``recurrent``, ``convolution``...) describes each of its
layers as one ``LayerKind``: the Keras 3 constructor arguments and their defaults
(validated by the checks here), the positional order code uses, how the layer is
called, the shape-and-count rule, and the slips students make with it. The
registry (``layers/__init__.py``) collects the kinds; ``spec.py`` and ``solver.py``
only dispatch to them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ...errors import clip
from ..derivation import Derivation
from ..shapes import Shape, format_shape

REQUIRED = object()
MAX_DIM = 2**31 - 1  # no model with a larger dimension can be allocated; refusing keeps numbers printable

# Keyword arguments every Keras 3 layer takes (keras.layers.Layer.__init__, plus the
# Keras 2 input_shape/input_dim that the base class still pops and warns about).
BASE_ARGS: dict[str, Any] = {
    "name": None, "dtype": None, "trainable": True, "autocast": True,
    "activity_regularizer": None, "input_shape": None, "input_dim": None,
}

# Names accepted by keras.activations.get / initializers.get / ... in Keras 3.15
# (tests/test_keras_contract.py compares them with the installed Keras).
ACTIVATIONS = frozenset(
    [
        "celu",
        "elu",
        "exponential",
        "gelu",
        "glu",
        "hard_shrink",
        "hard_sigmoid",
        "hard_silu",
        "hard_swish",
        "hard_tanh",
        "leaky_relu",
        "linear",
        "log_sigmoid",
        "log_softmax",
        "mish",
        "relu",
        "relu6",
        "selu",
        "sigmoid",
        "silu",
        "soft_shrink",
        "softmax",
        "softplus",
        "softsign",
        "sparse_plus",
        "sparse_sigmoid",
        "sparsemax",
        "squareplus",
        "swish",
        "tanh",
        "tanh_shrink",
        "threshold",
    ]
)
INITIALIZERS = frozenset(
    [
        "Constant",
        "GlorotNormal",
        "GlorotUniform",
        "HeNormal",
        "HeUniform",
        "Identity",
        "IdentityInitializer",
        "LecunNormal",
        "LecunUniform",
        "Ones",
        "Orthogonal",
        "OrthogonalInitializer",
        "RandomNormal",
        "RandomUniform",
        "STFT",
        "STFTInitializer",
        "TruncatedNormal",
        "VarianceScaling",
        "Zeros",
        "constant",
        "glorot_normal",
        "glorot_uniform",
        "he_normal",
        "he_uniform",
        "identity",
        "lecun_normal",
        "lecun_uniform",
        "normal",
        "one",
        "ones",
        "orthogonal",
        "random_normal",
        "random_uniform",
        "stft",
        "truncated_normal",
        "uniform",
        "variance_scaling",
        "zero",
        "zeros",
    ]
)
REGULARIZERS = frozenset(["L1", "L1L2", "L2", "OrthogonalRegularizer", "l1", "l1l2", "l2", "orthogonal_regularizer"])
CONSTRAINTS = frozenset(
    ["MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "max_norm", "min_max_norm", "non_neg", "unit_norm"]
)


# ---------------------------------------------------------------- shape rules

class Fail(Exception):
    """A shape rule broken inside one layer; the solver adds which layer it was."""

    inner: str | None = None


class RuntimeFail(Fail):
    """Keras builds the layer (it infers the output without computing it) but the layer fails
    as soon as data flows. ``result`` is what Keras infers: a layer that no output uses
    never runs, so its model is still fine (graph.walk decides)."""

    def __init__(self, message: str, result: tuple[Any, Derivation]) -> None:
        super().__init__(message)
        self.result = result


def runtime_check(check: Callable[[], None], result: tuple[Any, Derivation]) -> tuple[Any, Derivation]:
    """``result``, unless ``check`` (a check data flowing through the layer makes) fails."""
    try:
        check()
    except RuntimeFail:
        raise
    except Fail as exc:
        raise RuntimeFail(str(exc), result) from None
    return result


class Outputs(tuple):
    """The shapes of a layer that returns several tensors (an RNN with return_state...).

    A tuple subclass so that a single shape (a tuple of ints) and several shapes
    are told apart by type alone, on the solver's hot path."""

    __slots__ = ()


def is_multi(out: Any) -> bool:
    return type(out) is Outputs


def rank(shape: Shape, ndim: int, what: str) -> None:
    if len(shape) != ndim:
        raise Fail(f"expects {ndim}-D input {what}, got {format_shape(shape)} ({len(shape)}-D)")


def known(dim: int | None, what: str, shape: Shape) -> int:
    if dim is None:
        raise Fail(f"the {what} of its input {format_shape(shape)} is unknown (None), so Keras cannot size its weights")
    return dim


Rule = Callable[[Any, Any], tuple[Any, Derivation]]


@dataclass(frozen=True, slots=True)
class Bound:
    """A graph call's shapes bound to the layer's tensor parameters, and its plain options.

    ``args`` holds one entry per parameter of the kind's CallSig: a shape, a tuple
    of shapes (a list was passed), or None (not given). Hashable: it is part of
    the solver's memo key. A call with only its first tensor and no options is
    passed to the rule as that bare shape instead, exactly as in a Sequential
    model, so both share one memo entry."""

    args: tuple[Any, ...]
    options: tuple[tuple[str, Any], ...] = ()

    def option(self, name: str, default: Any = None) -> Any:
        for key, value in self.options:
            if key == name:
                return value
        return default


@dataclass(frozen=True, slots=True)
class CallSig:
    """How a layer is called: its tensor parameters in Keras's order, and its plain options.

    ``list_input``: the first parameter is ONE list of tensors (merge layers,
    Attention), as ``Concatenate()([a, b])``. ``required``: how many leading
    parameters must be given. ``options``: call keywords that carry plain values
    (``return_attention_scores=True``), with their checks."""

    params: tuple[str, ...] = ("inputs",)
    required: int = 1
    list_input: bool = False
    min_list: int = 1
    max_list: int | None = None
    options: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)


SINGLE = CallSig()


@dataclass(frozen=True, slots=True)
class LayerKind:
    """Everything quizgen knows about one Keras layer class."""

    type: str
    args: dict[str, Any]
    rule: Rule
    keras_name: str
    positional: tuple[str, ...] = ()
    checks: Mapping[str, Callable[[Any], Any] | None] = field(default_factory=dict)
    call: CallSig = SINGLE
    # why Keras refuses this combination of arguments at construction (None: it does not)
    validate: Callable[[Any], str | None] | None = None
    # wrong parameter counts / output shapes by slip name, from a solved row (see grading.misconceptions)
    slips: Callable[[Any], dict[str, int]] | None = None
    shape_slips: Callable[[Any, Shape], dict[str, tuple[Any, ...]]] | None = None
    # Keras 3 infers this layer's output without running it, and so skips checks its
    # call() makes (attention widths, initial states): keras_check confirms it with a
    # forward pass. True: always; a parameter name: when that parameter is given.
    runtime_checked: bool | str = False
    # What the layer does with a mask on its input (keras Layer.supports_masking and
    # compute_mask; nn/masks.py reads it): "drop" (no masking support), "keep" (passes the
    # mask on), "none" (supports masks, returns none), or the name of its own compute_mask.
    mask: str = "drop"
    mask_arg: bool = False  # its call() takes ``mask``, which Keras fills from the input's mask


def kind(type_: str, args: dict[str, Any], rule: Rule, keras_name: str, positional: tuple[str, ...] = (),
         base: tuple[str, ...] | None = None, **extra: Any) -> LayerKind:
    """A LayerKind with the base Layer arguments added (only ``base`` of them for a class whose
    constructor takes no ``**kwargs``) and every argument check resolved once."""
    full = dict(args)
    for k, v in BASE_ARGS.items():
        if base is None or k in base:
            full.setdefault(k, v)
    overrides = extra.pop("checks", {})
    checks = {name: overrides[name] if name in overrides else check_for(name) for name in full}
    return LayerKind(type_, full, rule, keras_name, positional, checks, **extra)


# ---------------------------------------------------------------- argument checks
# Each check returns the normalised value or raises ValueError(reason).

def is_int(v: Any) -> bool:
    return isinstance(v, int)  # bool included: Keras accepts Dense(True) as one unit


def short(value: Any) -> str:
    """A value as a user wrote it, cut short for a one-line message."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**60:
        return f"a {len(str(abs(value))) if abs(value) < 10**4000 else 'huge'}-digit number"
    try:
        text = json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, str) else repr(value)
    except (ValueError, RecursionError):
        text = f"a {type(value).__name__}"
    return clip(text, 60)


def positive_int(v: Any) -> int:
    if not is_int(v) or v <= 0:
        raise ValueError(f"expected a positive integer, got {short(v)}")
    if v > MAX_DIM:
        raise ValueError(f"{short(v)} is larger than {MAX_DIM:,}; no layer that size can be built")
    return v


def optional_positive_int(v: Any) -> int | None:
    return None if v is None else positive_int(v)


def int_tuple1(v: Any) -> int:
    """Conv1D's kernel_size/strides/dilation_rate: an int or a 1-element list of one."""
    if isinstance(v, (list, tuple)):
        if len(v) != 1:
            raise ValueError(f"expected an integer or a list of 1 integer, got {short(v)}")
        v = v[0]
    return positive_int(v)


def optional_int_tuple1(v: Any) -> int | None:
    return None if v is None else int_tuple1(v)


def int_tuple2(v: Any) -> tuple[int, int]:
    """A 2-D window (kernel_size, strides, pool_size...): an int for both axes or a list of 2."""
    if isinstance(v, (list, tuple)):
        if len(v) != 2:
            raise ValueError(f"expected an integer or a list of 2 integers, got {short(v)}")
        return positive_int(v[0]), positive_int(v[1])
    v = positive_int(v)
    return v, v


def optional_int_tuple2(v: Any) -> tuple[int, int] | None:
    return None if v is None else int_tuple2(v)


def int_tuple(n: int, allow_zero: bool = False) -> Callable[[Any], Any]:
    """keras.src.utils.argument_validation.standardize_tuple: an int for every axis or a list of
    n of them, each positive (or >= 0 with allow_zero); a 1-D size stays a plain int."""
    def check(v: Any) -> Any:
        items = [v] * n if is_int(v) and not isinstance(v, bool) else v
        if not isinstance(items, (list, tuple)) or len(items) != n or \
                not all(is_int(d) and not isinstance(d, bool) for d in items):
            raise ValueError(f"expected an integer or a list of {n} integers, got {short(v)}")
        low = 0 if allow_zero else 1
        if any(d < low or d > MAX_DIM for d in items):
            raise ValueError(f"each value must be {'>= 0' if allow_zero else '> 0'}, got {short(v)}")
        return items[0] if n == 1 else tuple(items)
    return check


def optional_int_tuple(n: int, allow_zero: bool = False) -> Callable[[Any], Any]:
    check = int_tuple(n, allow_zero)
    return lambda v: None if v is None else check(v)


def boolean(v: Any) -> bool:
    if isinstance(v, bool) or v in (0, 1):
        return bool(v)
    raise ValueError(f"expected true or false, got {short(v)}")


def number(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:
        raise ValueError(f"expected a number, got {short(v)}")
    return v


def rate(v: Any) -> float:
    v = number(v)
    if not 0 <= v <= 1:
        raise ValueError(f"expected a rate between 0 and 1, got {v!r}")
    return v


def named(kind_: str, names: frozenset[str], allow_none: bool = True) -> Callable[[Any], Any]:
    def check(v: Any) -> Any:
        if v is None and allow_none:
            return v
        if isinstance(v, str) and v in names:
            return v
        if isinstance(v, dict) and v.get("class_name") in names:
            return v
        raise ValueError(f"unknown {kind_} {short(v)}")
    return check


def choice(*options: Any) -> Callable[[Any], Any]:
    def check(v: Any) -> Any:
        if v in options and (v is None or isinstance(v, str)):
            return v
        shown = ", ".join(repr(o) if o is not None else "null" for o in options)
        raise ValueError(f"expected one of {shown}, got {short(v)}")
    return check


def must_be_none(why: str) -> Callable[[Any], Any]:
    def check(v: Any) -> Any:
        if v is not None:
            raise ValueError(why)
        return v
    return check


def optional_int(v: Any) -> int | None:
    if v is not None and not is_int(v):
        raise ValueError(f"expected an integer or null, got {short(v)}")
    return v


def optional_str(v: Any) -> str | None:
    if v is not None and not isinstance(v, str):
        raise ValueError(f"expected a string, got {short(v)}")
    return v


def axis(v: Any) -> int:
    if is_int(v) and not isinstance(v, bool):
        return v
    raise ValueError(f"expected an integer axis, got {short(v)}")


def axes(v: Any) -> int | tuple[int, ...]:
    if isinstance(v, (list, tuple)) and v and all(is_int(a) and not isinstance(a, bool) for a in v):
        return tuple(v)
    return axis(v)


def shape_arg(v: Any) -> tuple[int | None, ...]:
    if isinstance(v, int) and not isinstance(v, bool):
        v = [v]
    if not isinstance(v, (list, tuple)) or not all(d is None or (is_int(d) and 0 <= d <= MAX_DIM) for d in v):
        raise ValueError(f"expected a shape (a list of non-negative integers or null), got {short(v)}")
    return tuple(v)


REGULARIZER = named("regularizer", REGULARIZERS)
CONSTRAINT = named("constraint", CONSTRAINTS)
INITIALIZER = named("initializer", INITIALIZERS)
ACTIVATION = named("activation", ACTIVATIONS)
DATA_FORMAT = choice(None, "channels_last", "channels_first")

# Checks by argument name, shared by every layer that takes the argument; a kind
# overrides one through its ``checks`` (Conv1D's padding allows "causal"...).
CHECKS: dict[str, Callable[[Any], Any]] = {
    "units": positive_int, "input_dim": positive_int, "output_dim": positive_int,
    "filters": positive_int, "groups": positive_int,
    "activation": ACTIVATION, "recurrent_activation": ACTIVATION,
    "dropout": number, "recurrent_dropout": number,  # Keras clips an RNN's into [0, 1]
    "rate": rate,
    "momentum": number, "epsilon": number, "renorm_momentum": number,
    "seed": optional_int, "name": optional_str, "dtype": optional_str,
    "data_format": DATA_FORMAT,
    "weights": must_be_none("quizgen specs cannot carry initial weights; leave weights out"),
    "lora_rank": must_be_none("quizgen does not model LoRA layers; leave lora_rank out"),
    "lora_alpha": must_be_none("quizgen does not model LoRA layers; leave lora_alpha out"),
    "quantization_config": must_be_none("quizgen does not model quantized layers; leave quantization_config out"),
    "noise_shape": lambda v: None if v is None else shape_arg(v),
    "input_shape": lambda v: None if v is None else shape_arg(v),
    "padding": choice("valid", "same"),
}
for _name in ("use_bias", "return_sequences", "go_backwards", "stateful", "unroll", "mask_zero",
              "unit_forget_bias", "reset_after", "center", "scale", "renorm", "synchronized",
              "keepdims", "trainable", "autocast", "rms_scaling", "use_scale", "normalize", "use_gate"):
    CHECKS[_name] = boolean


def check_for(name: str) -> Callable[[Any], Any] | None:
    """The validator of an argument by its name (None: accepted as given)."""
    if name.endswith("_initializer"):
        return INITIALIZER
    if name.endswith("_regularizer"):
        return REGULARIZER
    if name.endswith("_constraint"):
        return CONSTRAINT
    if name == "input_dim":
        return optional_positive_int  # the Keras 2 argument every layer but Embedding may carry
    return CHECKS.get(name)
