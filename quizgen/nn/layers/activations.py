"""Activation layers: ReLU, LeakyReLU, PReLU, ELU, Softmax.

Shapes never change (keras/src/layers/activations/*.py). Only PReLU has weights:
one slope ``alpha`` per element of a sample, ``input_shape[1:]``, except along its
``shared_axes``, where one slope serves the whole axis (``param_shape[i - 1] = 1``).
ReLU refuses a negative ``max_value``, ``negative_slope`` or ``threshold``, LeakyReLU
a negative ``negative_slope`` (Keras 2's ``alpha`` is still read, with a warning).
"""

from __future__ import annotations

from typing import Any

from ..derivation import Derivation, Sym, mul
from ..shapes import Shape, format_shape
from .base import Fail, is_int, kind, number, short


def no_weights(layer: Any, s: Shape) -> tuple[Shape, Derivation]:
    if layer.type == "Softmax":
        ax = layer.get("axis")
        for a in ax if isinstance(ax, tuple) else (ax,):
            if not -len(s) <= a < len(s):
                raise Fail(f"axis {a} is out of range for input {format_shape(s)}")
    return s, Derivation(layer.type, None, notes=("activation_layer",))


def _shared_axes(v: Any) -> tuple[int, ...] | None:
    if v is None:
        return None
    items = list(v) if isinstance(v, (list, tuple)) else [v]
    if not items or not all(is_int(a) and not isinstance(a, bool) for a in items):
        raise ValueError(f"expected an axis or a list of axes (1 is the first axis after the batch), got {short(v)}")
    return tuple(items)


def prelu(layer: Any, s: Shape) -> tuple[Shape, Derivation]:
    param = list(s[1:])
    shared = layer.get("shared_axes")
    for i in shared or ():
        if not -len(param) <= i - 1 < len(param):
            raise Fail(f"shared_axes {short(list(shared))}: axis {i} does not exist in input {format_shape(s)}")
        param[i - 1] = 1
    sizes: list[int] = []
    for i, d in enumerate(param, start=1):
        if d is None:
            raise Fail(f"axis {i} of its input {format_shape(s)} is unknown (None) and not in shared_axes, "
                       f"so Keras cannot size its slopes")
        sizes.append(d)
    if not param:
        raise Fail(f"expects input with at least 2 dimensions (batch, features), got {format_shape(s)}")
    shared_set = {i - 1 for i in shared or ()} | {i - 1 + len(param) for i in shared or () if i - 1 < 0}
    syms = [Sym(f"n{i + 1}", d, "prelu_axis") for i, d in enumerate(sizes) if i not in shared_set]
    expr: Any = mul(*syms) if syms else 1
    return s, Derivation("PReLU", expr, notes=("prelu_shared",) if shared else ("prelu",))


def prelu_slips(row: Any) -> dict[str, int]:
    """One slope per channel only (the last axis), or a single slope for the whole layer."""
    shape = row.output_shape
    out = {"prelu_one_alpha": 1}
    if len(shape) > 2 and shape[-1] is not None:
        out["prelu_per_channel"] = shape[-1]
    return {k: v for k, v in out.items() if v != row.params}


def _not_negative(what: str, allow_none: bool = False) -> Any:
    def check(v: Any) -> Any:
        if v is None and allow_none:
            return v
        v = number(v)
        if v < 0:
            raise ValueError(f"{what} cannot be negative, got {v!r}")
        return v
    return check


def _softmax_axis(v: Any) -> Any:
    if isinstance(v, (list, tuple)) and v and all(is_int(a) and not isinstance(a, bool) for a in v):
        return tuple(v)
    if is_int(v) and not isinstance(v, bool):
        return v
    raise ValueError(f"expected an integer axis or a list of them, got {short(v)}")


def validate_leaky(layer: Any) -> str | None:
    if "alpha" in layer.args and "negative_slope" in layer.args:
        return "give negative_slope only (alpha is its Keras 2 name)"
    return None


KINDS = (
    kind("ReLU", {"max_value": None, "negative_slope": 0.0, "threshold": 0.0}, no_weights, "re_lu",
         ("max_value", "negative_slope", "threshold"),
         checks={"max_value": _not_negative("max_value", allow_none=True),
                 "negative_slope": _not_negative("negative_slope"), "threshold": _not_negative("threshold")},
         mask="keep"),
    kind("LeakyReLU", {"negative_slope": 0.3, "alpha": None}, no_weights, "leaky_re_lu", ("negative_slope",),
         checks={"negative_slope": _not_negative("negative_slope"), "alpha": _not_negative("alpha")},
         validate=validate_leaky, mask="keep"),
    kind("PReLU", {"alpha_initializer": "Zeros", "alpha_regularizer": None, "alpha_constraint": None,
                   "shared_axes": None}, prelu, "p_re_lu",
         ("alpha_initializer", "alpha_regularizer", "alpha_constraint", "shared_axes"),
         checks={"shared_axes": _shared_axes}, slips=prelu_slips, mask="keep"),
    kind("ELU", {"alpha": 1.0}, no_weights, "elu", ("alpha",), checks={"alpha": number}, mask="keep"),
    kind("Softmax", {"axis": -1}, no_weights, "softmax", ("axis",), checks={"axis": _softmax_axis}, mask="keep",
         mask_arg=True),
)
