"""Convolution layers: Conv1D/2D/3D, Conv1D/2DTranspose, SeparableConv1D/2D, DepthwiseConv2D.

Counts (keras/src/layers/convolutional/base_*conv.py): a convolution's kernel is
k×c×f (k_h×k_w×c×f in 2-D, k_d×k_h×k_w×c×f in 3-D; c/groups with groups) plus f
biases; a transposed convolution's kernel is the same size, stored as k×f×c, plus f
biases; a depthwise kernel is k×c×m (m = depth_multiplier) plus c·m biases; a
separable convolution is a depthwise kernel, then a 1×1 pointwise kernel (c·m)×f,
plus f biases. Output sizes (ops/operation_utils.compute_conv_output_shape): 'valid'
gives floor((L − (k−1)·dilation − 1) / strides) + 1, 'same' (and Conv1D's 'causal')
ceil(L / strides), per spatial axis; a transposed convolution grows instead
(backend_utils.compute_conv_transpose_output_shape): 'valid' gives
(L − 1)·strides + k' + output_padding, with k' = (k−1)·dilation + 1 and
output_padding defaulting to max(k', strides) − k'; 'same' gives L·strides, or
(L − 1)·strides + k' mod 2 + output_padding when output_padding is given.
"""

from __future__ import annotations

from typing import Any

from ..derivation import Derivation, Expr, Sym, add, mul
from ..shapes import Shape
from .base import (
    REQUIRED,
    Fail,
    choice,
    int_tuple,
    int_tuple1,
    int_tuple2,
    kind,
    known,
    optional_int_tuple,
    positive_int,
    rank,
)

_KERNEL_ARGS = {
    "kernel_initializer": "glorot_uniform", "bias_initializer": "zeros",
    "kernel_regularizer": None, "bias_regularizer": None,
    "kernel_constraint": None, "bias_constraint": None,
}
SPATIAL = {1: "(batch, steps, channels)", 2: "(batch, rows, cols, channels)",
           3: "(batch, depth, rows, cols, channels)"}
AXIS_WORDS = {1: ("steps",), 2: ("rows", "columns"), 3: ("depth", "rows", "columns")}
# Spatial axes of each convolution (the others are read from the type's 1D/2D suffix).
RANK = {"Conv1D": 1, "Conv2D": 2, "Conv3D": 3, "Conv1DTranspose": 1, "Conv2DTranspose": 2}


def spatial(layer: Any, s: Shape, n: int, what: str | None = None) -> tuple[tuple[int | None, ...], int | None, bool]:
    """(spatial sizes, channels, channels_first) of an (n+2)-D input."""
    rank(s, n + 2, what or SPATIAL[n])
    first = layer.get("data_format") == "channels_first"
    if first:
        return s[2:], s[1], True
    return s[1:-1], s[-1], False


def join(batch: int | None, dims: tuple[int | None, ...], channels: int | None, first: bool) -> Shape:
    return (batch, channels, *dims) if first else (batch, *dims, channels)


def window(size: int | None, span: int, stride: int, padding: str, what: str, unit: str) -> int | None:
    """Output size along one axis of a window of ``span`` moved by ``stride``."""
    if size is None:
        return None
    out = (size - span) // stride + 1 if padding == "valid" else -(-size // stride)
    if out <= 0:
        raise Fail(f"the {what} spans {span} {unit} but the input has only {size}: "
                   f"the output length would be {out} (padding='{padding}')")
    return out


def _tuple(v: Any, n: int) -> tuple[int, ...]:
    return (v,) if n == 1 else v


def _shown(t: tuple[int, ...], n: int) -> object:
    return t[0] if n == 1 else t


def _windows(layer: Any, dims: tuple[int | None, ...], n: int) -> tuple[int | None, ...]:
    kernel, strides = _tuple(layer.get("kernel_size"), n), _tuple(layer.get("strides"), n)
    dilation = _tuple(layer.get("dilation_rate"), n)
    padding = layer.get("padding")
    return tuple(window(d, (k - 1) * r + 1, st, padding, "kernel", unit)
                 for d, k, st, r, unit in zip(dims, kernel, strides, dilation, AXIS_WORDS[n]))


def _kernel_syms(layer: Any, n: int) -> list[Sym]:
    if n == 1:
        return [Sym("k", layer.get("kernel_size"), "kernel_size")]
    if n == 3:
        kd, kh, kw = layer.get("kernel_size")
        return [Sym("k_d", kd, "kernel_depth"), Sym("k_h", kh, "kernel_height"), Sym("k_w", kw, "kernel_width")]
    kh, kw = layer.get("kernel_size")
    return [Sym("k_h", kh, "kernel_height"), Sym("k_w", kw, "kernel_width")]


def _padding_note(layer: Any, n: int) -> str:
    valid = layer.get("padding") == "valid"
    if n == 1:
        return "conv_valid" if valid else "conv_same"
    return "conv2d_valid" if valid else "conv2d_same"


def conv(layer: Any, s: Shape) -> tuple[Shape, Derivation]:
    n = RANK[layer.type]
    dims, channels, first = spatial(layer, s, n)
    c = known(channels, "channel dimension", s)
    f, groups = layer.get("filters"), layer.get("groups")
    stride, dil = _tuple(layer.get("strides"), n), _tuple(layer.get("dilation_rate"), n)
    if max(stride) > 1 and max(dil) > 1:
        raise Fail(f"strides > 1 is not supported together with dilation_rate > 1 "
                   f"(strides={_shown(stride, n)}, dilation_rate={_shown(dil, n)})")
    if f % groups:
        raise Fail(f"filters ({f}) must be divisible by groups ({groups})")
    if c % groups:
        raise Fail(f"the input's {c} channels must be divisible by groups ({groups})")
    out = _windows(layer, dims, n)
    ff = Sym("f", f, "filters")
    cc = Sym("c", c, "in_channels") if groups == 1 else Sym("c/g", c // groups, "in_channels_per_group")
    kernel = mul(*_kernel_syms(layer, n), cc, ff)
    expr = add(kernel, ff) if layer.get("use_bias") else kernel
    notes: tuple[str, ...] = (_padding_note(layer, n),)
    if not layer.get("use_bias"):
        notes += ("no_bias",)
    return join(s[0], out, f, first), Derivation(layer.type, expr, notes=notes)


def transposed_size(size: int | None, k: int, stride: int, dil: int, padding: str, out_pad: int | None) -> int | None:
    """One spatial output size of a transposed convolution (backend_utils._get_output_shape_given_tf_padding)."""
    if size is None:
        return None
    span = (k - 1) * dil + 1
    if padding == "valid":
        return (size - 1) * stride + span + (max(span, stride) - span if out_pad is None else out_pad)
    return size * stride if out_pad is None else (size - 1) * stride + span % 2 + out_pad


def conv_transpose(layer: Any, s: Shape) -> tuple[Shape, Derivation]:
    n = RANK[layer.type]
    dims, channels, first = spatial(layer, s, n)
    c = known(channels, "channel dimension", s)
    f = layer.get("filters")
    kernel = _tuple(layer.get("kernel_size"), n)
    stride, dil = _tuple(layer.get("strides"), n), _tuple(layer.get("dilation_rate"), n)
    if max(stride) > 1 and max(dil) > 1:
        raise Fail(f"strides > 1 is not supported together with dilation_rate > 1 "
                   f"(strides={_shown(stride, n)}, dilation_rate={_shown(dil, n)})")
    pads = layer.get("output_padding")
    pads = (None,) * n if pads is None else _tuple(pads, n)
    for i, (p, st) in enumerate(zip(pads, stride)):
        if p is not None and p >= st:
            raise Fail(f"output_padding must be smaller than strides on every axis; on axis {i} it is {p} "
                       f"and strides is {st}")
    out = tuple(transposed_size(d, k, st, r, layer.get("padding"), p)
                for d, k, st, r, p in zip(dims, kernel, stride, dil, pads))
    for size, d in zip(out, dims):
        if size is not None and size <= 0:
            raise Fail(f"the output would have a size of {size} along an axis of size {d}")
    ff, cc = Sym("f", f, "filters"), Sym("c", c, "in_channels")
    weights = mul(*_kernel_syms(layer, n), cc, ff)
    expr = add(weights, ff) if layer.get("use_bias") else weights
    notes: tuple[str, ...] = ("conv_transpose_valid" if layer.get("padding") == "valid" else "conv_transpose_same",)
    if not layer.get("use_bias"):
        notes += ("no_bias",)
    return join(s[0], out, f, first), Derivation(layer.type, expr, notes=notes)


def transpose_shape_slips(row: Any, incoming: Shape) -> dict[str, tuple[Any, ...]]:
    """The size a plain convolution would give (shrinking instead of growing), and the
    stride taken as 1."""
    layer = row.layer
    n = RANK.get(row.type, 0)
    if layer is None or len(incoming) != n + 2:
        return {}
    dims, _, first = spatial(layer, incoming, n)
    shape = tuple(row.output_shape)
    channels = shape[1] if first else shape[-1]
    as_conv = _dims_with(layer, dims, n)
    kernel, dil = _tuple(layer.get("kernel_size"), n), _tuple(layer.get("dilation_rate"), n)
    pads = layer.get("output_padding")
    pads = (None,) * n if pads is None else _tuple(pads, n)
    one = tuple(transposed_size(d, k, 1, r, layer.get("padding"), None if p is None else 0)
                for d, k, r, p in zip(dims, kernel, dil, pads))
    variants = {"transpose_as_conv": as_conv, "conv_stride_ignored": one}
    return {k: join(incoming[0], v, channels, first) for k, v in variants.items()
            if v is not None and join(incoming[0], v, channels, first) != shape}


def depthwise(layer: Any, s: Shape) -> tuple[Shape, Derivation]:
    n = 2 if layer.type.endswith("2D") else 1
    dims, channels, first = spatial(layer, s, n)
    c = known(channels, "channel dimension", s)
    m = layer.get("depth_multiplier")
    out = _windows(layer, dims, n)
    cc, mm = Sym("c", c, "in_channels"), Sym("m", m, "depth_multiplier")
    depth: Expr = mul(*_kernel_syms(layer, n), cc, mm)
    notes: tuple[str, ...] = ("depthwise", _padding_note(layer, n))
    if layer.type.startswith("Separable"):
        ff = Sym("f", layer.get("filters"), "filters")
        expr: Expr = add(depth, mul(cc, mm, ff), ff) if layer.get("use_bias") else add(depth, mul(cc, mm, ff))
        notes = ("separable", _padding_note(layer, n))
        channels_out = layer.get("filters")
    else:
        expr = add(depth, mul(cc, mm)) if layer.get("use_bias") else depth
        channels_out = c * m
    if not layer.get("use_bias"):
        notes += ("no_bias",)
    return join(s[0], out, channels_out, first), Derivation(layer.type, expr, notes=notes)


def conv_slips(row: Any) -> dict[str, int]:
    """A forgotten bias; the input channels left out of the kernel (k_h×k_w×f+f, or k×f+f in 1-D)."""
    notes = row.derivation.notes
    s = row.derivation.symbol_values()
    out: dict[str, int] = {}
    if "no_bias" not in notes:
        out["no_bias"] = row.params - s["f"]
    if "c" in s:
        window = s.get("k_d", 1) * s["k_h"] * s["k_w"] if "k_h" in s else s["k"]
        out["conv_no_channels"] = window * s["f"] + (0 if "no_bias" in notes else s["f"])
    return out


def _dims_with(layer: Any, dims: tuple[int | None, ...], n: int, padding: str | None = None,
               strides: tuple[int, ...] | None = None, round_up: bool = False) -> tuple[int | None, ...] | None:
    """The spatial output sizes with one thing done differently (None if that fits no window)."""
    kernel, dilation = _tuple(layer.get("kernel_size"), n), _tuple(layer.get("dilation_rate"), n)
    strides = strides or _tuple(layer.get("strides"), n)
    padding = padding or layer.get("padding")
    out: list[int | None] = []
    for d, k, st, r in zip(dims, kernel, strides, dilation):
        if d is None:
            out.append(None)
            continue
        span = (k - 1) * r + 1
        if padding == "valid":
            size = -(-(d - span) // st) + 1 if round_up else (d - span) // st + 1
        else:
            size = -(-d // st)
        if size <= 0:
            return None
        out.append(size)
    return tuple(out)


def conv_shape_slips(row: Any, incoming: Shape) -> dict[str, tuple[Any, ...]]:
    """Wrong output sizes: padding taken the other way, strides taken as 1, a 'valid' size
    rounded up instead of down."""
    layer = row.layer
    n = RANK.get(row.type, 0)
    if layer is None or len(incoming) != n + 2:
        return {}
    dims, _, first = spatial(layer, incoming, n)
    shape = tuple(row.output_shape)
    channels = shape[1] if first else shape[-1]
    padding = layer.get("padding")
    stride = _tuple(layer.get("strides"), n)
    variants = {"conv_padding_swapped": _dims_with(layer, dims, n, padding="same" if padding == "valid" else "valid")}
    if max(stride) > 1:
        variants["conv_stride_ignored"] = _dims_with(layer, dims, n, strides=(1,) * n)
        if padding == "valid":
            variants["conv_rounds_up"] = _dims_with(layer, dims, n, round_up=True)
    return {k: join(incoming[0], v, channels, first) for k, v in variants.items()
            if v is not None and join(incoming[0], v, channels, first) != shape}


def _conv_args(n: int) -> dict[str, Any]:
    one: Any = 1 if n == 1 else (1, 1)
    return {
        "filters": REQUIRED, "kernel_size": REQUIRED, "strides": one, "padding": "valid",
        "data_format": None, "dilation_rate": one, "groups": 1, "activation": None,
        "use_bias": True, **_KERNEL_ARGS,
    }


def _depthwise_args(n: int, separable: bool) -> dict[str, Any]:
    one: Any = 1 if n == 1 else (1, 1)
    args: dict[str, Any] = {"filters": REQUIRED} if separable else {}
    args.update({
        "kernel_size": REQUIRED, "strides": one, "padding": "valid", "data_format": None,
        "dilation_rate": one, "depth_multiplier": 1, "activation": None, "use_bias": True,
        "depthwise_initializer": "glorot_uniform", "bias_initializer": "zeros",
        "depthwise_regularizer": None, "bias_regularizer": None,
        "depthwise_constraint": None, "bias_constraint": None,
    })
    if separable:
        args.update({"pointwise_initializer": "glorot_uniform", "pointwise_regularizer": None,
                     "pointwise_constraint": None})
    return args


def _conv_transpose_args(n: int) -> dict[str, Any]:
    one: Any = 1 if n == 1 else (1,) * n
    return {
        "filters": REQUIRED, "kernel_size": REQUIRED, "strides": one, "padding": "valid", "output_padding": None,
        "data_format": None, "dilation_rate": one, "activation": None, "use_bias": True, **_KERNEL_ARGS,
    }


_CHECKS_1D = {"kernel_size": int_tuple1, "strides": int_tuple1, "dilation_rate": int_tuple1}
_CHECKS_2D = {"kernel_size": int_tuple2, "strides": int_tuple2, "dilation_rate": int_tuple2}
_CHECKS_3D = {"kernel_size": int_tuple(3), "strides": int_tuple(3), "dilation_rate": int_tuple(3)}
_TRANSPOSE_POSITIONAL = ("filters", "kernel_size", "strides", "padding", "output_padding", "data_format",
                         "dilation_rate", "activation", "use_bias")
_CONV_POSITIONAL = ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "groups",
                    "activation", "use_bias")

KINDS = (
    kind("Conv1D", _conv_args(1), conv, "conv1d", _CONV_POSITIONAL, slips=conv_slips, shape_slips=conv_shape_slips,
         checks={**_CHECKS_1D, "padding": choice("valid", "same", "causal")}),
    kind("Conv2D", _conv_args(2), conv, "conv2d", _CONV_POSITIONAL, slips=conv_slips, shape_slips=conv_shape_slips,
         checks=_CHECKS_2D),
    kind("Conv3D", {**_conv_args(3), "strides": (1, 1, 1), "dilation_rate": (1, 1, 1)}, conv, "conv3d",
         _CONV_POSITIONAL, slips=conv_slips, shape_slips=conv_shape_slips, checks=_CHECKS_3D),
    kind("Conv1DTranspose", _conv_transpose_args(1), conv_transpose, "conv1d_transpose", _TRANSPOSE_POSITIONAL,
         slips=conv_slips, shape_slips=transpose_shape_slips,
         checks={**_CHECKS_1D, "output_padding": optional_int_tuple(1, allow_zero=True)}),
    kind("Conv2DTranspose", _conv_transpose_args(2), conv_transpose, "conv2d_transpose", _TRANSPOSE_POSITIONAL,
         slips=conv_slips, shape_slips=transpose_shape_slips,
         checks={**_CHECKS_2D, "output_padding": optional_int_tuple(2, allow_zero=True)}),
    kind("SeparableConv1D", _depthwise_args(1, True), depthwise, "separable_conv1d",
         ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "depth_multiplier"),
         checks={**_CHECKS_1D, "depth_multiplier": positive_int}),
    kind("SeparableConv2D", _depthwise_args(2, True), depthwise, "separable_conv2d",
         ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "depth_multiplier"),
         checks={**_CHECKS_2D, "depth_multiplier": positive_int}),
    kind("DepthwiseConv2D", _depthwise_args(2, False), depthwise, "depthwise_conv2d",
         ("kernel_size", "strides", "padding", "depth_multiplier", "data_format", "dilation_rate"),
         checks={**_CHECKS_2D, "depth_multiplier": positive_int}),
)
