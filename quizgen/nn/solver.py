"""Analytic output shapes and parameter counts, with worked derivations.

Pure Python on purpose: the generator solves thousands of specs per second and
the grader needs the truth without paying TensorFlow's start-up. Every rule here
is what Keras 3 does (tests/test_solver_vs_keras.py holds it to that), including
the shape checks Keras makes when it builds a layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .derivation import Derivation, Expr, Sym, add, evaluate, mul
from .shapes import format_shape
from ..errors import SpecError
from .spec import LayerSpec, Shape, Spec

# Keras's snake_case names, for the summary table.
KERAS_NAMES = {
    "Embedding": "embedding", "SimpleRNN": "simple_rnn", "LSTM": "lstm", "GRU": "gru",
    "Bidirectional": "bidirectional", "TimeDistributed": "time_distributed", "Dense": "dense",
    "Dropout": "dropout", "SpatialDropout1D": "spatial_dropout1d", "Flatten": "flatten",
    "GlobalAveragePooling1D": "global_average_pooling1d", "GlobalMaxPooling1D": "global_max_pooling1d",
    "Conv1D": "conv1d", "MaxPooling1D": "max_pooling1d", "BatchNormalization": "batch_normalization",
    "LayerNormalization": "layer_normalization",
}


@dataclass(slots=True)
class LayerResult:
    """One row of ``model.summary()`` plus how its Param # is derived."""

    index: int
    type: str
    name: str
    output_shape: Shape
    params: int
    trainable: int
    non_trainable: int
    derivation: Derivation


@dataclass(slots=True)
class Solution:
    """Every layer's row, and the totals ``model.summary()`` prints under them."""

    input_shape: Shape
    layers: tuple[LayerResult, ...]
    total_params: int = 0
    trainable_params: int = 0
    non_trainable_params: int = 0

    @property
    def output_shape(self) -> Shape:
        return self.layers[-1].output_shape

    def to_json(self, lang: str = "ko") -> dict[str, Any]:
        return {
            "layers": [
                {
                    "type": r.type, "name": r.name, "output_shape": list(r.output_shape),
                    "params": r.params, "trainable": r.trainable, "non_trainable": r.non_trainable,
                    "derivation": r.derivation.to_json(lang),
                }
                for r in self.layers
            ],
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
        }


class _Fail(Exception):
    """A shape rule broken inside one layer; solve() adds the layer's index and type."""


def solve(spec: Spec) -> Solution:
    """Output shape and parameter counts of every layer, as Keras 3 reports them."""
    shape = spec.input_shape
    rows = []
    counts: dict[str, int] = {}
    for index, layer in enumerate(spec.layers, start=1):
        try:
            shape, deriv = _layer(layer, shape)
        except _Fail as exc:
            raise SpecError(str(exc), index, _where(layer, exc)) from None
        total = deriv.total
        nt = 0 if deriv.non_trainable is None else evaluate(deriv.non_trainable)
        base = KERAS_NAMES[layer.type]
        seen = counts.get(base, 0)
        counts[base] = seen + 1
        rows.append(LayerResult(index, layer.type, base if not seen else f"{base}_{seen}",
                                shape, total, total - nt, nt, deriv))
    trainable = sum(r.trainable for r in rows)
    non_trainable = sum(r.non_trainable for r in rows)
    return Solution(spec.input_shape, tuple(rows), trainable + non_trainable, trainable, non_trainable)


def _where(layer: LayerSpec, exc: _Fail) -> str:
    inner = getattr(exc, "inner", None)
    return f"{layer.type} > {inner}" if inner else layer.type


def _rank(shape: Shape, ndim: int, what: str) -> None:
    if len(shape) != ndim:
        raise _Fail(f"expects {ndim}-D input {what}, got {format_shape(shape)} ({len(shape)}-D)")


def _known(dim: int | None, what: str, shape: Shape) -> int:
    if dim is None:
        raise _Fail(f"the {what} of its input {format_shape(shape)} is unknown (None), so Keras cannot size its weights")
    return dim


# ---------------------------------------------------------------- layer rules

def _embedding(layer: LayerSpec, s: Shape) -> tuple[Shape, Derivation]:
    v, e = layer.get("input_dim"), layer.get("output_dim")
    return (*s, e), Derivation("Embedding", mul(Sym("V", v, "vocab_size"), Sym("E", e, "embedding_dim")),
                               notes=("embedding_mask_zero",) if layer.get("mask_zero") else ())


_RNN_INPUT = "(batch, timesteps, features)"


def _recurrent(layer: LayerSpec, s: Shape) -> tuple[Shape, Derivation]:
    _rank(s, 3, _RNN_INPUT)
    d = _known(s[2], "feature dimension", s)
    if layer.get("stateful") and s[0] is None:
        raise _Fail('stateful=true needs a fixed batch size; give the input as {"batch_shape": [...]}')
    units = layer.get("units")
    h, x = Sym("h", units, "hidden_size"), Sym("d", d, "input_dim")
    bias = layer.get("use_bias")
    notes: list[str] = []
    if layer.type == "SimpleRNN":
        expr: Expr = mul(h, add(h, x, 1) if bias else add(h, x))
    elif layer.type == "LSTM":
        expr = mul(4, h, add(h, x, 1) if bias else add(h, x))
        notes.append("lstm_gates")
    else:
        if bias and layer.get("reset_after"):
            expr = mul(3, h, add(h, x, 2))
            notes.append("gru_reset_after")
        else:
            expr = mul(3, h, add(h, x, 1) if bias else add(h, x))
            notes.append("gru_gates")
    if not bias:
        notes.append("no_bias")
    if layer.get("return_sequences"):
        notes.append("rnn_all_steps")
        out: Shape = (s[0], s[1], units)
    else:
        notes.append("rnn_last_step")
        out = (s[0], units)
    return out, Derivation(layer.type, expr, notes=tuple(notes))


def _bidirectional(layer: LayerSpec, s: Shape) -> tuple[Shape, Derivation]:
    inner = layer.inner
    assert inner is not None
    try:
        out, deriv = _recurrent(inner, s)
    except _Fail as exc:
        exc.inner = inner.type  # type: ignore[attr-defined]
        raise
    if layer.get("merge_mode") == "concat":
        out = (*out[:-1], 2 * out[-1])
        note = "bidi_concat"
    else:
        note = "bidi_merge"
    assert deriv.expr is not None
    return out, Derivation(f"Bidirectional({inner.type})", mul(2, deriv.expr),
                           notes=("bidi_doubles", *deriv.notes, note))


def _time_distributed(layer: LayerSpec, s: Shape) -> tuple[Shape, Derivation]:
    inner = layer.inner
    assert inner is not None
    if len(s) < 3:
        raise _Fail(f"expects input with at least 3 dimensions (batch, timesteps, ...), got {format_shape(s)}")
    try:
        inner_out, deriv = _layer(inner, (s[0], *s[2:]))
    except _Fail as exc:
        exc.inner = inner.type  # type: ignore[attr-defined]
        raise
    return (s[0], s[1], *inner_out[1:]), Derivation(
        f"TimeDistributed({deriv.layer_type})", deriv.expr, deriv.non_trainable,
        notes=(*deriv.notes, "td_shared"))


def _dense(layer: LayerSpec, s: Shape) -> tuple[Shape, Derivation]:
    if len(s) < 2:
        raise _Fail(f"expects input with at least 2 dimensions (batch, features), got {format_shape(s)}")
    d = _known(s[-1], "last dimension", s)
    units = layer.get("units")
    x, u = Sym("d", d, "input_dim"), Sym("u", units, "units")
    expr = add(mul(x, u), u) if layer.get("use_bias") else mul(x, u)
    notes = ("dense_per_step",) if len(s) > 2 else ()
    if not layer.get("use_bias"):
        notes += ("no_bias",)
    return (*s[:-1], units), Derivation("Dense", expr, notes=notes)


def _no_params(layer: LayerSpec, s: Shape) -> tuple[Shape, Derivation]:
    if layer.type == "SpatialDropout1D":
        _rank(s, 3, _RNN_INPUT)
    return s, Derivation(layer.type, None)


def _flatten(layer: LayerSpec, s: Shape) -> tuple[Shape, Derivation]:
    flat: int | None = 1
    for d in s[1:]:
        flat = None if d is None or flat is None else flat * d
    return (s[0], flat), Derivation("Flatten", None, notes=("flatten",))


def _steps_channels(layer: LayerSpec, s: Shape) -> tuple[int | None, int | None, bool]:
    _rank(s, 3, _RNN_INPUT if layer.type != "Conv1D" else "(batch, steps, channels)")
    first = layer.get("data_format") == "channels_first"
    return (s[2], s[1], first) if first else (s[1], s[2], first)


def _global_pool(layer: LayerSpec, s: Shape) -> tuple[Shape, Derivation]:
    _, channels, first = _steps_channels(layer, s)
    if layer.get("keepdims"):
        out: Shape = (s[0], channels, 1) if first else (s[0], 1, channels)
    else:
        out = (s[0], channels)
    return out, Derivation(layer.type, None, notes=("global_pool",))


def _join(batch: int | None, steps: int | None, channels: int | None, first: bool) -> Shape:
    return (batch, channels, steps) if first else (batch, steps, channels)


def _conv1d(layer: LayerSpec, s: Shape) -> tuple[Shape, Derivation]:
    steps, channels, first = _steps_channels(layer, s)
    c = _known(channels, "channel dimension", s)
    f, k = layer.get("filters"), layer.get("kernel_size")
    stride, dil, groups = layer.get("strides"), layer.get("dilation_rate"), layer.get("groups")
    if stride > 1 and dil > 1:
        raise _Fail(f"strides > 1 is not supported together with dilation_rate > 1 (strides={stride}, dilation_rate={dil})")
    if f % groups:
        raise _Fail(f"filters ({f}) must be divisible by groups ({groups})")
    if c % groups:
        raise _Fail(f"the input's {c} channels must be divisible by groups ({groups})")
    out_steps = _window_steps(steps, (k - 1) * dil + 1, stride, layer.get("padding"), "kernel")
    kk, ff = Sym("k", k, "kernel_size"), Sym("f", f, "filters")
    cc = Sym("c", c, "in_channels") if groups == 1 else Sym("c/g", c // groups, "in_channels_per_group")
    expr = add(mul(kk, cc, ff), ff) if layer.get("use_bias") else mul(kk, cc, ff)
    notes = ("conv_valid",) if layer.get("padding") == "valid" else ("conv_same",)
    if not layer.get("use_bias"):
        notes += ("no_bias",)
    return _join(s[0], out_steps, f, first), Derivation("Conv1D", expr, notes=notes)


def _window_steps(steps: int | None, window: int, stride: int, padding: str, what: str) -> int | None:
    if steps is None:
        return None
    if padding == "valid":
        out = (steps - window) // stride + 1
    else:
        out = -(-steps // stride)
    if out <= 0:
        raise _Fail(f"the {what} spans {window} steps but the input has only {steps}: "
                    f"the output length would be {out} (padding='{padding}')")
    return out


def _max_pool(layer: LayerSpec, s: Shape) -> tuple[Shape, Derivation]:
    steps, channels, first = _steps_channels(layer, s)
    pool = layer.get("pool_size")
    stride = layer.get("strides") or pool
    out_steps = _window_steps(steps, pool, stride, layer.get("padding"), "pool")
    return _join(s[0], out_steps, channels, first), Derivation("MaxPooling1D", None, notes=("pool",))


def _norm_size(layer: LayerSpec, s: Shape) -> int:
    axes = layer.get("axis")
    axes = axes if isinstance(axes, tuple) else (axes,)
    size = 1
    for a in axes:
        if not -len(s) <= a < len(s):
            raise _Fail(f"axis {a} is out of range for input {format_shape(s)}")
        size *= _known(s[a], f"size of axis {a}", s)
    return size


def _batch_norm(layer: LayerSpec, s: Shape) -> tuple[Shape, Derivation]:
    c = Sym("c", _norm_size(layer, s), "norm_channels")
    learned = int(bool(layer.get("center"))) + int(bool(layer.get("scale")))
    return s, Derivation("BatchNormalization", mul(learned + 2, c), non_trainable=mul(2, c),
                         notes=("bn_stats",))


def _layer_norm(layer: LayerSpec, s: Shape) -> tuple[Shape, Derivation]:
    c = Sym("c", _norm_size(layer, s), "norm_channels")
    if layer.get("rms_scaling"):
        return s, Derivation("LayerNormalization", mul(1, c), notes=("ln_rms",))
    learned = int(bool(layer.get("center"))) + int(bool(layer.get("scale")))
    if learned == 0:
        return s, Derivation("LayerNormalization", None)
    return s, Derivation("LayerNormalization", mul(learned, c), notes=("ln_params",))


_RULES: dict[str, Callable[[LayerSpec, Shape], tuple[Shape, Derivation]]] = {
    "Embedding": _embedding, "SimpleRNN": _recurrent, "LSTM": _recurrent, "GRU": _recurrent,
    "Bidirectional": _bidirectional, "TimeDistributed": _time_distributed, "Dense": _dense,
    "Dropout": _no_params, "SpatialDropout1D": _no_params, "Flatten": _flatten,
    "GlobalAveragePooling1D": _global_pool, "GlobalMaxPooling1D": _global_pool,
    "Conv1D": _conv1d, "MaxPooling1D": _max_pool,
    "BatchNormalization": _batch_norm, "LayerNormalization": _layer_norm,
}


# A layer's result depends only on its arguments and its input shape, and textbook
# models repeat the same layers constantly (Dense(1, sigmoid) after 128 units...),
# so results are remembered. Derivations are shared between solutions: values, never
# mutated (their rendered text is cached inside them, the same for every sharer).
_MEMO: dict[tuple[Any, ...], tuple[Shape, Derivation]] = {}
_MEMO_LIMIT = 100_000
memo_enabled = True


def clear_cache() -> None:
    _MEMO.clear()


def _layer(layer: LayerSpec, s: Shape) -> tuple[Shape, Derivation]:
    if not memo_enabled:
        return _RULES[layer.type](layer, s)
    try:
        key = (layer.key(), s)
        hit = _MEMO.get(key)
    except TypeError:  # an unhashable argument (an initializer given as a dict)
        return _RULES[layer.type](layer, s)
    if hit is None:
        hit = _RULES[layer.type](layer, s)
        if len(_MEMO) >= _MEMO_LIMIT:
            _MEMO.clear()
        _MEMO[key] = hit
    return hit


def solve_raw(raw: object) -> Solution:
    """Parse and solve a spec object in one step (raises SpecError)."""
    from .spec import parse_spec

    return solve(parse_spec(raw))


def solve_generated(raw: dict[str, Any]) -> Solution:
    """Solve a spec that quizgen's generator built itself (see spec.spec_from_generator)."""
    from .spec import spec_from_generator

    return solve(spec_from_generator(raw))


def seed_weight_shapes(timesteps: int, input_dim: int, hidden_units: int) -> dict[str, tuple[int, ...]]:
    """Shapes in the seed's numpy RNN (In[7]–In[10]); Keras's kernel is W_x transposed."""
    return {
        "inputs": (timesteps, input_dim),
        "W_x": (hidden_units, input_dim),
        "W_h": (hidden_units, hidden_units),
        "b": (hidden_units,),
        "hidden_state_t": (hidden_units,),
        "total_hidden_states": (timesteps, hidden_units),
        "keras_kernel": (input_dim, hidden_units),
    }
