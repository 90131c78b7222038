"""Reshaping layers: Flatten, Reshape, Permute, RepeatVector. None has weights.

Shapes as keras/src/layers/reshaping/*.py compute them: Flatten multiplies every
axis but the batch (None if one is unknown), Reshape resolves one -1 and checks
the element count when every size is known, Permute reorders axes 1..n, and
RepeatVector turns (batch, d) into (batch, n, d).
"""

from __future__ import annotations

import math
from typing import Any

from ..derivation import Derivation
from ..shapes import Shape, format_shape
from .base import DATA_FORMAT, MAX_DIM, REQUIRED, Fail, is_int, kind, rank, short


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


def _n(v: Any) -> int:
    if not is_int(v) or isinstance(v, bool) or v <= 0 or v > MAX_DIM:
        raise ValueError(f"expected a positive integer, got {short(v)}")
    return v


def repeat_vector(layer: Any, s: Shape) -> tuple[Shape, Derivation]:
    rank(s, 2, "(batch, features)")
    return (s[0], layer.get("n"), s[1]), Derivation("RepeatVector", None, notes=("repeat_vector",))


KINDS = (
    kind("Flatten", {"data_format": None}, flatten, "flatten", ("data_format",), checks={"data_format": DATA_FORMAT},
         shape_slips=flatten_shape_slips),
    kind("Reshape", {"target_shape": REQUIRED}, reshape, "reshape", ("target_shape",),
         checks={"target_shape": _target_shape}),
    kind("Permute", {"dims": REQUIRED}, permute, "permute", ("dims",), checks={"dims": _dims}),
    kind("RepeatVector", {"n": REQUIRED}, repeat_vector, "repeat_vector", ("n",), checks={"n": _n}),
)
