"""Pooling layers: Max/AveragePooling1D/2D and GlobalMax/GlobalAveragePooling1D/2D.

No weights. A window of pool_size moved by strides (pool_size when not given):
'valid' gives floor((L − pool) / strides) + 1, 'same' ceil(L / strides), per
spatial axis (ops/operation_utils.compute_pooling_output_shape). Global pooling
removes the spatial axes, or keeps them as 1s with keepdims=True.
"""

from __future__ import annotations

from typing import Any

from ..derivation import Derivation
from ..shapes import Shape
from .base import REQUIRED, boolean, int_tuple1, int_tuple2, kind, optional_int_tuple1, optional_int_tuple2
from .convolution import AXIS_WORDS, join, spatial, window
from .core import RNN_INPUT


def _n(layer: Any) -> int:
    return 2 if layer.type.endswith("2D") else 1


def pool(layer: Any, s: Shape) -> tuple[Shape, Derivation]:
    n = _n(layer)
    dims, channels, first = spatial(layer, s, n, RNN_INPUT if n == 1 else None)
    size = layer.get("pool_size")
    sizes = (size,) if n == 1 else size
    strides = layer.get("strides") or size
    strides = (strides,) if n == 1 else strides
    out = tuple(window(d, p, st, layer.get("padding"), "pool", unit)
                for d, p, st, unit in zip(dims, sizes, strides, AXIS_WORDS[n]))
    return join(s[0], out, channels, first), Derivation(layer.type, None, notes=("pool",) if n == 1 else ("pool2d",))


def pool_shape_slips(row: Any, incoming: Shape) -> dict[str, tuple[Any, ...]]:
    """Wrong output sizes: the stride taken as 1 (it defaults to pool_size), a 'valid' size
    rounded up instead of down."""
    layer = row.layer
    n = _n(layer) if layer is not None else 0
    if layer is None or len(incoming) != n + 2:
        return {}
    dims, channels, first = spatial(layer, incoming, n, RNN_INPUT if n == 1 else None)
    size = layer.get("pool_size")
    sizes = (size,) if n == 1 else size
    strides = layer.get("strides") or size
    strides = (strides,) if n == 1 else strides
    valid = layer.get("padding") == "valid"
    shape = tuple(row.output_shape)

    def sized(stride_of: Any, round_up: bool = False) -> tuple[Any, ...] | None:
        out: list[int | None] = []
        for d, p, st in zip(dims, sizes, strides):
            st = stride_of(st)
            if d is None:
                out.append(None)
                continue
            if valid:
                got = -(-(d - p) // st) + 1 if round_up else (d - p) // st + 1
            else:
                got = -(-d // st)
            if got <= 0:
                return None
            out.append(got)
        return join(incoming[0], tuple(out), channels, first)

    variants = {"pool_stride_one": sized(lambda st: 1)}
    if valid:
        variants["pool_rounds_up"] = sized(lambda st: st, round_up=True)
    return {k: v for k, v in variants.items() if v is not None and v != shape}


def global_pool(layer: Any, s: Shape) -> tuple[Shape, Derivation]:
    n = _n(layer)
    _, channels, first = spatial(layer, s, n, RNN_INPUT if n == 1 else None)
    if layer.get("keepdims"):
        out: Shape = join(s[0], (1,) * n, channels, first)
    else:
        out = (s[0], channels)
    return out, Derivation(layer.type, None, notes=("global_pool",) if n == 1 else ("global_pool2d",))


def _pool_kind(type_: str, keras_name: str, n: int, default: Any) -> Any:
    return kind(type_, {"pool_size": default, "strides": None, "padding": "valid", "data_format": None},
                pool, keras_name, ("pool_size", "strides", "padding", "data_format"), shape_slips=pool_shape_slips,
                checks={"pool_size": int_tuple1 if n == 1 else int_tuple2,
                        "strides": optional_int_tuple1 if n == 1 else optional_int_tuple2})


def _global_kind(type_: str, keras_name: str) -> Any:
    # GlobalAveragePooling1D averages the unmasked steps only: it takes the mask, and returns none
    masked = type_ == "GlobalAveragePooling1D"
    return kind(type_, {"data_format": None, "keepdims": False}, global_pool, keras_name,
                ("data_format", "keepdims"), checks={"keepdims": boolean},
                mask="none" if masked else "drop", mask_arg=masked)


KINDS = (
    _pool_kind("MaxPooling1D", "max_pooling1d", 1, 2),
    _pool_kind("MaxPooling2D", "max_pooling2d", 2, (2, 2)),
    _pool_kind("AveragePooling1D", "average_pooling1d", 1, REQUIRED),
    _pool_kind("AveragePooling2D", "average_pooling2d", 2, REQUIRED),
    _global_kind("GlobalAveragePooling1D", "global_average_pooling1d"),
    _global_kind("GlobalMaxPooling1D", "global_max_pooling1d"),
    _global_kind("GlobalAveragePooling2D", "global_average_pooling2d"),
    _global_kind("GlobalMaxPooling2D", "global_max_pooling2d"),
)
