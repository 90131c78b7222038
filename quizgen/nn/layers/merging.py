"""Merge layers, called on ONE list of tensors: Concatenate, Add, Subtract, Multiply,
Average, Maximum, Minimum, Dot. None has weights.

Shapes as keras/src/layers/merging/*.py compute them. Element-wise merges
broadcast the per-sample shapes from the right (a 1 stretches, None matches
anything) and refuse two different known batch sizes; Subtract takes exactly two
tensors. Concatenate needs every axis but the concatenation axis to agree (None
matching anything) and sums that axis, keeping the first input's other sizes.
Dot contracts one axis of each of its two inputs.

Keras infers a merge's output from the shapes alone, letting an unknown size (None)
match any size; when data flows (base_merge.call: ranks equalised by inserting
axes after the batch, then NumPy broadcasting) the unknown size must BE that size.
A model that only runs when a free length happens to equal a known size (Minimum of
a free-length and a fixed-length tensor, Flatten of a free length against 3) is
refused: it cannot run on the data its free length promises. Two unknown sizes are
taken to agree (the same free length), as Keras's own probes set them.
"""

from __future__ import annotations

from typing import Any

from ..derivation import Derivation
from ..shapes import Shape, format_shape
from .base import REQUIRED, CallSig, Fail, axis, boolean, is_int, kind, runtime_check, short

_LIST = CallSig(list_input=True)


def _shapes(xs: tuple[Shape, ...]) -> str:
    return ", ".join(format_shape(x) for x in xs)


def _batch(xs: tuple[Shape, ...]) -> int | None:
    sizes = {x[0] for x in xs if x} - {None}
    if len(sizes) > 1:
        raise Fail(f"cannot merge tensors with different batch sizes: {_shapes(xs)}")
    return next(iter(sizes)) if sizes else None


def _broadcast(a: tuple[Any, ...], b: tuple[Any, ...], xs: tuple[Shape, ...]) -> tuple[Any, ...]:
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return a
    out = list(a[: len(a) - len(b)])
    for i, j in zip(a[len(a) - len(b):], b):
        if i is None or j is None:
            out.append(None)
        elif i == 1:
            out.append(j)
        elif j == 1 or i == j:
            out.append(i)
        else:
            raise Fail(f"inputs have incompatible shapes {_shapes(xs)}: {i} and {j} do not broadcast")
    return tuple(out)


def _runs(xs: tuple[Shape, ...], axis: int | None = None) -> None:
    """The sizes data must have for the merge to run (see the module docstring): along each
    axis (right-aligned per sample; for Concatenate every axis but ``axis``), an unknown size
    can only meet another unknown size or 1, never a known size other than 1."""
    n = max(len(x) for x in xs)
    for i in range(1, n):
        if axis is not None and i == axis:
            continue
        sizes = [x[i - n + len(x)] for x in xs if i - n + len(x) >= 1]
        known_sizes = {d for d in sizes if d is not None and (d != 1 or axis is not None)}
        if None in sizes and known_sizes:
            size = next(iter(known_sizes))
            raise Fail(f"inputs {_shapes(xs)}: an unknown size meets {size} on axis {i}, so the model only runs "
                       f"when that free size happens to be {size}; Keras lets it build but it fails on other data")


def elementwise(layer: Any, xs: tuple[Shape, ...]) -> tuple[Shape, Derivation]:
    if layer.type == "Subtract" and len(xs) != 2:
        raise Fail(f"Subtract takes exactly 2 tensors, got {len(xs)}")
    batch = _batch(xs)
    out = xs[0][1:]
    for x in xs[1:]:
        out = _broadcast(out, x[1:], xs)
    return runtime_check(lambda: _runs(xs), ((batch, *out), Derivation(layer.type, None, notes=("merge_elementwise",))))


def concatenate(layer: Any, xs: tuple[Shape, ...]) -> tuple[Shape, Derivation]:
    ax = layer.get("axis")
    ranks = {len(x) for x in xs}
    if any(not -len(x) <= ax < len(x) for x in xs):
        raise Fail(f"axis {ax} is out of range for inputs {_shapes(xs)}")
    if len(ranks) != 1:
        raise Fail(f"inputs must have the same rank to be concatenated, got {_shapes(xs)}")
    (n,) = ranks
    where = ax % n
    for i in range(n):
        if i == where:
            continue
        sizes = {x[i] for x in xs} - {None}
        if len(sizes) > 1:
            raise Fail(f"inputs must match on every axis except the concatenation axis {ax}, got {_shapes(xs)}")
    out = list(xs[0])
    for x in xs[1:]:
        if out[where] is None or x[where] is None:
            out[where] = None
            break
        out[where] += x[where]
    result = (tuple(out), Derivation("Concatenate", None, notes=("concatenate",)))
    return runtime_check(lambda: _runs(xs, where), result)


def concat_shape_slips(row: Any, incoming: Any) -> dict[str, tuple[Any, ...]]:
    """The width of one input only (``incoming``: the shapes it was called on)."""
    if not incoming or type(incoming[0]) is not tuple or len(incoming) < 2:
        return {}
    shape = tuple(row.output_shape)
    where = row.layer.get("axis") % len(shape) if row.layer is not None else len(shape) - 1
    one = (*shape[:where], incoming[0][where], *shape[where + 1:])
    return {"concat_one_input": one} if one != shape else {}


def _axes(v: Any) -> int | tuple[int, int]:
    if isinstance(v, (list, tuple)):
        if len(v) != 2 or not all(is_int(a) and not isinstance(a, bool) for a in v):
            raise ValueError(f"expected an integer or a list of 2 integers, got {short(v)}")
        return tuple(v)
    return axis(v)


def dot(layer: Any, xs: tuple[Shape, ...]) -> tuple[Shape, Derivation]:
    if len(xs) != 2:
        raise Fail(f"Dot takes exactly 2 tensors, got {len(xs)}")
    a, b = xs
    if len(a) < 2 or len(b) < 2:
        raise Fail(f"Dot needs inputs with at least 2 dimensions, got {_shapes(xs)}")
    given = layer.get("axes")
    if isinstance(given, tuple):
        pair = list(given)
    elif given < 0:
        pair = [given % len(a), given % len(b)]
    else:
        pair = [given, given]
    for p, x in zip(pair, xs):
        if not -len(x) <= p < len(x):
            raise Fail(f"axes {short(list(given) if isinstance(given, tuple) else given)} is out of range "
                       f"for inputs {_shapes(xs)}")
    p0, p1 = pair[0] % len(a), pair[1] % len(b)
    if p0 == 0 or p1 == 0:
        raise Fail("Dot cannot take the product over the batch axis (axis 0)")
    if a[p0] != b[p1]:
        raise Fail(f"axis {p0} of {format_shape(a)} and axis {p1} of {format_shape(b)} differ "
                   f"({a[p0]} vs {b[p1]}), so there is no dot product")
    if a[0] is not None and b[0] is not None and a[0] != b[0]:
        raise Fail(f"cannot take a batchwise dot product of different batch sizes: {_shapes(xs)}")
    out = [d for i, d in enumerate(a) if i != p0] + [d for i, d in enumerate(b) if i not in (p1, 0)]
    if len(out) == 1:
        out.append(1)
    return tuple(out), Derivation("Dot", None, notes=("dot",))


KINDS = (
    kind(
        "Concatenate",
        {"axis": -1},
        concatenate,
        "concatenate",
        ("axis",),
        call=_LIST,
        checks={"axis": axis},
        shape_slips=concat_shape_slips,
        runtime_checked=True,
        mask="concatenate",
    ),
    kind("Add", {}, elementwise, "add", call=_LIST, runtime_checked=True, mask="merge"),
    kind("Subtract", {}, elementwise, "subtract", call=_LIST, runtime_checked=True, mask="merge"),
    kind("Multiply", {}, elementwise, "multiply", call=_LIST, runtime_checked=True, mask="merge"),
    kind("Average", {}, elementwise, "average", call=_LIST, runtime_checked=True, mask="merge"),
    kind("Maximum", {}, elementwise, "maximum", call=_LIST, runtime_checked=True, mask="merge"),
    kind("Minimum", {}, elementwise, "minimum", call=_LIST, runtime_checked=True, mask="merge"),
    kind(
        "Dot",
        {"axes": REQUIRED, "normalize": False},
        dot,
        "dot",
        ("axes", "normalize"),
        call=_LIST,
        runtime_checked=True,
        checks={"axes": _axes, "normalize": boolean},
        mask="none",
    ),
)
