"""Attention layers: Attention (Luong), AdditiveAttention (Bahdanau), MultiHeadAttention.

Attention and AdditiveAttention are called on ONE list ``[query, value]`` or
``[query, value, key]`` (key defaults to value) and return ``(*query[:-1], value[-1])``.
Their weights (keras/src/layers/attention/attention.py, additive_attention.py):
one scalar for ``use_scale=True`` and one more for ``score_mode="concat"``;
AdditiveAttention's scale is a vector as wide as the query. Keras 3 infers their
output shape without computing the scores, so the widths that must agree when
data flows (query and key features, key and value lengths) are checked here as
the computation will, and keras_check confirms them with a forward pass.

MultiHeadAttention (multi_head_attention.py) is called as ``mha(query, value,
key=None)``: query, key and value each get a projection to H heads of key_dim
(value_dim for the value) with biases, and the output projection maps H×value_dim
back to the query's width (or ``output_shape``) with one bias per output.
"""

from __future__ import annotations

import math
from typing import Any

from ..derivation import Derivation, Expr, Sym, add, mul
from ..shapes import Shape, format_shape
from .base import (
    REQUIRED,
    Bound,
    CallSig,
    Fail,
    Outputs,
    boolean,
    choice,
    is_int,
    kind,
    known,
    must_be_none,
    number,
    optional_positive_int,
    positive_int,
    rate,
    runtime_check,
    short,
)


def _flag(v: Any) -> bool | None:
    return None if v is None else boolean(v)


_OPTIONS = {"return_attention_scores": boolean, "use_causal_mask": boolean, "training": _flag}


def _unpack(x: Any) -> tuple[tuple[Shape, ...], Bound | None]:
    if type(x) is Bound:
        return x.args[0], x
    return x, None


def _batch_ok(a: int | None, b: int | None) -> bool:
    return a is None or b is None or a == b


def _shapes(*xs: Shape) -> str:
    return ", ".join(format_shape(x) for x in xs)


def _check_lists(q: Shape, v: Shape, k: Shape, mode: str) -> None:
    """What the score and output matmuls need once data flows (Keras's symbolic pass skips them)."""
    if not len(q) == len(v) == len(k):
        raise Fail(f"query, value and key must have the same rank, got {_shapes(q, v, k)}")
    if len(q) < 2:
        raise Fail(f"expects inputs with at least 2 dimensions (batch, ..., features), got {_shapes(q, v, k)}")
    n = len(q)
    for t, name in ((v, "value"), (k, "key")):
        for i in range(n - 2):
            a, b = q[i], t[i]
            fits = b == 1 or (_batch_ok(a, b) if i == 0 else a == b)
            if not fits:
                raise Fail(f"the {name}'s leading axes {format_shape(t[:n - 2])} do not fit the query's "
                           f"{format_shape(q[:n - 2])}")
    qd, kd = q[-1], k[-1]
    if mode == "dot":
        if qd != kd:
            raise Fail(f"query and key must have the same last dimension for the dot-product scores, "
                       f"got {qd} and {kd} ({_shapes(q, k)})")
    elif not (qd == kd or qd == 1 or kd == 1):
        raise Fail(f"query and key last dimensions {qd} and {kd} do not broadcast for additive scores "
                   f"({_shapes(q, k)})")
    kt, vt = k[-2], v[-2]
    if not (_batch_ok(kt, vt) if n == 2 else kt == vt):
        raise Fail(f"key and value must have the same length (axis {n - 2}), got {kt} and {vt} ({_shapes(k, v)})")


def attention(layer: Any, x: Any) -> tuple[Any, Derivation]:
    xs, bound = _unpack(x)
    if type(xs[0]) is not tuple:
        raise Fail(f"{layer.type} must be called on a list [query, value] or [query, value, key], not one tensor")
    q, v = xs[0], xs[1]
    k = xs[2] if len(xs) > 2 else v
    additive = layer.type == "AdditiveAttention"
    mode = "concat" if additive or layer.get("score_mode") == "concat" else "dot"
    if len(k) < 2:
        raise Fail(f"expects inputs with at least 2 dimensions (batch, ..., features), got {_shapes(q, v, k)}")
    notes: list[str] = []
    if additive:
        if layer.get("use_scale"):
            d = known(q[-1], "query's last dimension", q)
            expr: Expr | None = Sym("d", d, "query_dim")
            notes.append("additive_scale")
        else:
            expr = None
            notes.append("attention_no_weights")
    else:
        scalars = int(bool(layer.get("use_scale"))) + int(mode == "concat")
        expr = scalars or None
        notes.append("attention_scalars" if scalars else "attention_no_weights")
    notes.append("attention_output")
    out: Shape = (*q[:-1], v[-1])
    deriv = Derivation(layer.type, expr, notes=tuple(notes))
    result: tuple[Any, Derivation] = (out, deriv)
    if bound is not None and bound.option("return_attention_scores"):
        result = (Outputs((out, (*q[:-1], k[-2]))), deriv)
    return runtime_check(lambda: _check_lists(q, v, k, mode), result)


def _output_shape(v: Any) -> tuple[int, ...] | None:
    if v is None or v == 0 or v == []:
        return None  # Keras tests ``if output_shape:``
    if is_int(v) and not isinstance(v, bool):
        return (positive_int(v),)
    if isinstance(v, (list, tuple)) and all(is_int(d) and not isinstance(d, bool) for d in v):
        return tuple(positive_int(d) for d in v)
    raise ValueError(f"expected a positive integer or a list of them, got {short(v)}")


def _attention_axes(v: Any) -> tuple[int, ...] | None:
    if v is None:
        return None
    items = [v] if is_int(v) and not isinstance(v, bool) else v
    if not isinstance(items, (list, tuple)) or not items or \
            not all(is_int(a) and not isinstance(a, bool) for a in items):
        raise ValueError(f"expected an axis or a list of axes, got {short(v)}")
    return tuple(items)


def multi_head(layer: Any, x: Any) -> tuple[Any, Derivation]:
    if type(x) is not Bound:
        raise Fail("MultiHeadAttention is called as mha(query, value) or mha(query, value, key=...); "
                   "it cannot be one step of a Sequential model")
    q, v, k = x.args
    key = v if k is None else k
    if v[1:-1] != key[1:-1]:
        raise Fail(f"all dimensions of value and key except the last must be equal, got {_shapes(v, key)}")
    if not len(q) == len(v):
        raise Fail(f"query and value must have the same rank, got {_shapes(q, v)}")
    if len(q) < 3:
        raise Fail(f"expects inputs with at least 3 dimensions (batch, length, features), got {_shapes(q, v, key)}")
    if not _batch_ok(q[0], v[0]):
        raise Fail(f"query and value have different batch sizes, {_shapes(q, v)}")
    dq = known(q[-1], "query's last dimension", q)
    dv = known(v[-1], "value's last dimension", v)
    dk = known(key[-1], "key's last dimension", key)
    heads, key_dim = layer.get("num_heads"), layer.get("key_dim")
    value_dim = layer.get("value_dim") or key_dim
    out_dims = layer.get("output_shape")
    width = math.prod(out_dims) if out_dims else dq
    bias = layer.get("use_bias")
    H, K = Sym("H", heads, "num_heads"), Sym("k", key_dim, "key_dim")
    V = K if value_dim == key_dim else Sym("v", value_dim, "value_dim")
    D_q, D_k, D_v = Sym("d_q", dq, "query_dim"), Sym("d_k", dk, "key_input_dim"), Sym("d_v", dv, "value_input_dim")
    D_o = D_q if not out_dims else Sym("d_o", width, "output_width")
    if dq == dk == dv and not out_dims:
        D_q = D_k = D_v = D_o = Sym("d", dq, "model_dim")

    def proj(inp: Sym, per_head: Sym) -> Expr:
        return mul(H, per_head, add(inp, 1)) if bias else mul(H, per_head, inp)

    parts: list[Expr] = [proj(D_q, K), proj(D_k, K), proj(D_v, V)]
    notes = ["mha_projections"]
    if layer.get("use_gate"):
        parts.append(proj(D_q, V))
        notes.append("mha_gate")
    parts.append(add(mul(H, V, D_o), D_o) if bias else mul(H, V, D_o))
    notes.append("mha_output")
    if not bias:
        notes.append("no_bias")
    axes = layer.get("attention_axes")
    if axes is not None:
        rank = len(q) + 1  # the projected query: (batch, ..., heads, key_dim)
        normal = [a if a >= 0 else rank - 1 + a for a in axes]
        if len(set(normal)) != len(normal) or not all(1 <= a <= rank - 3 for a in normal):
            raise Fail(f"attention_axes {short(list(axes))} must name axes between the batch and the feature "
                       f"axis of its {len(q)}-D inputs (1 to {len(q) - 2}, or -2 and below), each once")
        notes.append("mha_attention_axes")
    out: Shape = (*q[:-1], *(out_dims or (q[-1],)))
    deriv = Derivation("MultiHeadAttention", add(*parts), notes=tuple(notes))
    if x.option("return_attention_scores"):
        if axes is not None:
            raise Fail("quizgen asks about the attention scores of attention over the default axes only; "
                       "leave return_attention_scores out or attention_axes out")
        if len(q) != 3 or q[1] != v[1]:
            raise Fail(f"Keras 3 reports the attention scores of a query and value of different lengths "
                       f"with the wrong shape ({_shapes(q, v)}); quizgen asks about scores of "
                       f"equal-length 3-D inputs only")
        return Outputs((out, (q[0], heads, q[1], q[1]))), deriv
    return out, deriv


def _mha_count(h: int, k: int, v: int, dims: tuple[int, int, int, int], bias: bool, gate: bool) -> int:
    """MultiHeadAttention's count from its sizes: query, key and value projections (and the
    gate), then the output projection (multi_head_attention.py)."""
    dq, dk, dv, do = dims
    b = 1 if bias else 0
    total = h * k * (dq + b) + h * k * (dk + b) + h * v * (dv + b) + h * v * do + (do if bias else 0)
    if gate:
        total += h * v * (dq + b)
    return total


def mha_slips(row: Any) -> dict[str, int]:
    """No output projection; one head's projections only (H left out); the biases left out;
    key_dim taken as the width of all heads together (each head key_dim/H wide)."""
    s = row.derivation.symbol_values()
    notes = row.derivation.notes
    h = s["H"]
    out_part = _output_part(row)
    slips = {"mha_no_output": row.params - out_part}
    gate = "mha_gate" in notes
    if h > 1 and not gate:
        slips["mha_one_head"] = (row.params - out_part) // h + out_part
    k = s["k"]
    v = s.get("v", k)
    d = s.get("d")
    dims = (d, d, d, d) if d is not None else (s["d_q"], s["d_k"], s["d_v"], s.get("d_o", s["d_q"]))
    bias = "no_bias" not in notes
    if bias:
        slips["no_bias"] = _mha_count(h, k, v, dims, False, gate)
    if h > 1 and k % h == 0 and v % h == 0:
        slips["mha_key_dim_split"] = _mha_count(h, k // h, v // h, dims, bias, gate)
    return slips


def _output_part(row: Any) -> int:
    expr = row.derivation.expr
    return expr.args[-1].value  # the last addend is the output projection


KINDS = (
    kind("Attention", {"use_scale": False, "score_mode": "dot", "dropout": 0.0, "seed": None}, attention,
         "attention", ("use_scale", "score_mode", "dropout", "seed"),
         call=CallSig(list_input=True, min_list=2, max_list=3, options=_OPTIONS), runtime_checked=True,
         checks={"score_mode": choice("dot", "concat"), "dropout": number}, mask="attention", mask_arg=True),
    kind("AdditiveAttention", {"use_scale": True, "dropout": 0.0}, attention, "additive_attention",
         ("use_scale", "dropout"),
         call=CallSig(list_input=True, min_list=2, max_list=3, options=_OPTIONS), runtime_checked=True,
         checks={"dropout": number}, mask="attention", mask_arg=True),
    kind("MultiHeadAttention", {
        "num_heads": REQUIRED, "key_dim": REQUIRED, "value_dim": None, "dropout": 0.0, "use_bias": True,
        "output_shape": None, "attention_axes": None, "sliding_window": None, "flash_attention": None,
        "kernel_initializer": "glorot_uniform", "bias_initializer": "zeros", "kernel_regularizer": None,
        "bias_regularizer": None, "kernel_constraint": None, "bias_constraint": None,
        "use_gate": False, "seed": None,
    }, multi_head, "multi_head_attention", ("num_heads", "key_dim", "value_dim", "dropout", "use_bias", "output_shape"),
        call=CallSig(params=("query", "value", "key"), required=2, options=_OPTIONS), runtime_checked=True,
        slips=mha_slips, mask="keep",
        checks={"num_heads": positive_int, "key_dim": positive_int, "value_dim": optional_positive_int,
                "dropout": rate, "output_shape": _output_shape,
                "attention_axes": _attention_axes,
                "sliding_window": optional_positive_int,
                "flash_attention": must_be_none("flash attention does not change any shape or count; "
                                                "leave flash_attention out")}),
)
