"""Reshaping layers: Flatten, Reshape, Permute, RepeatVector, UpSampling1D/2D,
ZeroPadding1D/2D, Cropping1D/2D. None has weights.

Shapes as keras/src/layers/reshaping/*.py compute them: Flatten multiplies every
axis but the batch (None if one is unknown), Reshape resolves one -1 and checks
the element count when every size is known, Permute reorders axes 1..n, and
RepeatVector turns (batch, d) into (batch, n, d). UpSampling multiplies each
spatial axis by its size, ZeroPadding adds its two paddings to it, Cropping takes
its two croppings off (and refuses to leave nothing); an unknown size stays unknown.
"""

from __future__ import annotations

import math
from typing import Any

from ..derivation import Derivation
from ..shapes import Shape, format_shape
from .base import DATA_FORMAT, MAX_DIM, REQUIRED, Fail, choice, int_tuple, is_int, kind, rank, short


def flatten(layer: Any, s: Shape) -> tuple[Shape, Derivation]:
    flat: int | None = 1
    for d in s[1:]:
        flat = None if d is None or flat is None else flat * d
    return (s[0], flat), Derivation("Flatten", None, notes=("flatten",))


def flatten_shape_slips(row: Any, incoming: Shape) -> dict[str, tuple[Any, ...]]:
    """The channels (the last axis) left out of the product."""
    if len(incoming) < 3 or any(d is None for d in incoming[1:]):
        return {}
    first = row.layer is not None and row.layer.get("data_format") == "channels_first"
    return {"flatten_no_channels": (incoming[0], math.prod(incoming[2:] if first else incoming[1:-1]))}


def _target_shape(v: Any) -> tuple[int, ...]:
    if not isinstance(v, (list, tuple)) or not all(is_int(d) and not isinstance(d, bool) for d in v):
        raise ValueError(f"expected a list of integers (one of them may be -1), got {short(v)}")
    if any(d < -1 or d > MAX_DIM for d in v):
        raise ValueError(f"each size must be a non-negative integer or -1, got {short(v)}")
    if list(v).count(-1) > 1:
        raise ValueError(f"at most one size may be -1 (unknown), got {short(v)}")
    return tuple(v)


def reshape(layer: Any, s: Shape) -> tuple[Shape, Derivation]:
    target = layer.get("target_shape")
    inner = s[1:]
    deriv = Derivation("Reshape", None, notes=("reshape",))
    if None in inner:
        return (s[0], *[None if d == -1 else d for d in target]), deriv
    size = math.prod(d for d in inner if d is not None)  # every one is known here
    if -1 not in target:
        if size != math.prod(target):
            raise Fail(f"cannot reshape {format_shape(s)} ({size:,} values per sample) "
                       f"to {format_shape(target)} ({math.prod(target):,} values)")
        return (s[0], *target), deriv
    rest = math.prod(d for d in target if d != -1)
    if rest == 0 or size % rest:
        raise Fail(f"cannot reshape {format_shape(s)} ({size:,} values per sample) to {format_shape(target)}: "
                   f"{size:,} is not a multiple of {rest:,}")
    return (s[0], *[size // rest if d == -1 else d for d in target]), deriv


def _dims(v: Any) -> tuple[int, ...]:
    if (not isinstance(v, (list, tuple)) or not all(is_int(d) and not isinstance(d, bool) for d in v)
            or sorted(v) != list(range(1, len(v) + 1))):
        raise ValueError(f"expected a permutation of 1, 2, ..., n (the batch axis stays first), got {short(v)}")
    return tuple(v)


def permute(layer: Any, s: Shape) -> tuple[Shape, Derivation]:
    dims = layer.get("dims")
    if len(s) != len(dims) + 1:
        raise Fail(f"dims {format_shape(dims)} reorder {len(dims)} axes, so it expects {len(dims) + 1}-D input, "
                   f"got {format_shape(s)} ({len(s)}-D)")
    return (s[0], *[s[d] for d in dims]), Derivation("Permute", None, notes=("permute",))


def _positive(v: Any) -> int:
    if not is_int(v) or isinstance(v, bool) or v <= 0 or v > MAX_DIM:
        raise ValueError(f"expected a positive integer, got {short(v)}")
    return v


def repeat_vector(layer: Any, s: Shape) -> tuple[Shape, Derivation]:
    rank(s, 2, "(batch, features)")
    return (s[0], layer.get("n"), s[1]), Derivation("RepeatVector", None, notes=("repeat_vector",))


def _spatial_axes(layer: Any, s: Shape, n: int) -> list[int]:
    what = "(batch, steps, channels)" if n == 1 else "(batch, rows, cols, channels)"
    rank(s, n + 2, what)
    if n == 2 and layer.get("data_format") == "channels_first":
        return [2, 3]
    if n == 1 and layer.type == "ZeroPadding1D" and layer.get("data_format") == "channels_first":
        return [2]
    return list(range(1, n + 1))


def _n(layer: Any) -> int:
    return 2 if layer.type.endswith("2D") else 1


def upsampling(layer: Any, s: Shape) -> tuple[Shape, Derivation]:
    n = _n(layer)
    axes = _spatial_axes(layer, s, n)
    size = layer.get("size")
    sizes = (size,) if n == 1 else size
    out = list(s)
    for a, k in zip(axes, sizes):
        out[a] = None if s[a] is None else s[a] * k
    return tuple(out), Derivation(layer.type, None, notes=("upsampling",))


def _pairs(v: Any, n: int, what: str) -> Any:
    """ZeroPadding/Cropping's amounts: (before, after) in 1-D, ((top, bottom), (left, right)) in 2-D."""
    if n == 1:
        return int_tuple(2, allow_zero=True)(v)
    if is_int(v) and not isinstance(v, bool):
        one = int_tuple(2, allow_zero=True)(v)
        return (one, one)
    if not isinstance(v, (list, tuple)) or len(v) != 2:
        raise ValueError(f"{what} should be an integer, a list of 2 integers (rows, columns), or a list of 2 "
                         f"lists of 2 integers ((top, bottom), (left, right)); got {short(v)}")
    return int_tuple(2, allow_zero=True)(v[0]), int_tuple(2, allow_zero=True)(v[1])


def _per_axis(layer: Any, name: str, n: int) -> Any:
    value = _pairs(layer.get(name), n, name)  # a default is Keras's as written (padding=1)
    return (value,) if n == 1 else value


def _padding_check(n: int, what: str) -> Any:
    return lambda v: _pairs(v, n, what)


def zero_padding(layer: Any, s: Shape) -> tuple[Shape, Derivation]:
    n = _n(layer)
    axes = _spatial_axes(layer, s, n)
    out = list(s)
    for a, (before, after) in zip(axes, _per_axis(layer, "padding", n)):
        out[a] = None if s[a] is None else s[a] + before + after
    return tuple(out), Derivation(layer.type, None, notes=("zero_padding",))


def cropping(layer: Any, s: Shape) -> tuple[Shape, Derivation]:
    n = _n(layer)
    axes = _spatial_axes(layer, s, n)
    out = list(s)
    for a, (before, after) in zip(axes, _per_axis(layer, "cropping", n)):
        if s[a] is None:
            continue
        left = s[a] - before - after
        if left <= 0:
            raise Fail(f"cropping {before} and {after} leaves nothing of an axis of size {s[a]} "
                       f"(input {format_shape(s)})")
        out[a] = left
    return tuple(out), Derivation(layer.type, None, notes=("cropping",))


def resize_shape_slips(row: Any, incoming: Shape) -> dict[str, tuple[Any, ...]]:
    """Padding or cropping counted on one side only; an upsampling size added instead of multiplied."""
    layer = row.layer
    if layer is None:
        return {}
    n = _n(layer)
    if len(incoming) != n + 2:
        return {}
    axes = _spatial_axes(layer, incoming, n)
    shape = tuple(row.output_shape)
    wrong = list(shape)
    if layer.type.startswith("UpSampling"):
        size = layer.get("size")
        for a, k in zip(axes, (size,) if n == 1 else size):
            if incoming[a] is not None:
                wrong[a] = incoming[a] + k
        name = "upsampling_added"
    else:
        pairs = _per_axis(layer, "padding" if layer.type.startswith("Zero") else "cropping", n)
        sign = 1 if layer.type.startswith("Zero") else -1
        for a, (before, _) in zip(axes, pairs):
            if incoming[a] is not None:
                wrong[a] = incoming[a] + sign * before
        name = "padding_one_side" if sign == 1 else "cropping_one_side"
    return {name: tuple(wrong)} if tuple(wrong) != shape else {}


KINDS = (
    kind("Flatten", {"data_format": None}, flatten, "flatten", ("data_format",), checks={"data_format": DATA_FORMAT},
         shape_slips=flatten_shape_slips),
    kind("Reshape", {"target_shape": REQUIRED}, reshape, "reshape", ("target_shape",),
         checks={"target_shape": _target_shape}),
    kind("Permute", {"dims": REQUIRED}, permute, "permute", ("dims",), checks={"dims": _dims}),
    kind("RepeatVector", {"n": REQUIRED}, repeat_vector, "repeat_vector", ("n",), checks={"n": _positive}),
    kind("UpSampling1D", {"size": 2}, upsampling, "up_sampling1d", ("size",), checks={"size": _positive},
         shape_slips=resize_shape_slips),
    kind("UpSampling2D", {"size": (2, 2), "data_format": None, "interpolation": "nearest"}, upsampling,
         "up_sampling2d", ("size", "data_format", "interpolation"),
         checks={"size": int_tuple(2), "interpolation": choice("nearest", "bilinear", "bicubic", "lanczos3",
                                                                "lanczos5", "area")},
         shape_slips=resize_shape_slips),
    kind("ZeroPadding1D", {"padding": 1, "data_format": None}, zero_padding, "zero_padding1d",
         ("padding", "data_format"), checks={"padding": _padding_check(1, "padding")},
         shape_slips=resize_shape_slips),
    kind("ZeroPadding2D", {"padding": (1, 1), "data_format": None}, zero_padding, "zero_padding2d",
         ("padding", "data_format"), checks={"padding": _padding_check(2, "padding")},
         shape_slips=resize_shape_slips, runtime_checked=True),  # ZeroPadding2D(-1) builds, and fails on data
    kind("Cropping1D", {"cropping": (1, 1)}, cropping, "cropping1d", ("cropping",),
         checks={"cropping": _padding_check(1, "cropping")}, shape_slips=resize_shape_slips),
    kind("Cropping2D", {"cropping": ((0, 0), (0, 0)), "data_format": None}, cropping, "cropping2d",
         ("cropping", "data_format"), checks={"cropping": _padding_check(2, "cropping")},
         shape_slips=resize_shape_slips),
)
