"""Recurrent layers: SimpleRNN, LSTM, GRU, and Bidirectional around one of them.

Counts (keras/src/layers/rnn/*.py): a cell holds a kernel d×h, a recurrent kernel
h×h and h biases per gate; an LSTM has 4 gates, a GRU 3, and Keras 3's GRU
(reset_after=True) keeps two biases per gate. Bidirectional holds a forward and a
backward copy. ``return_state=True`` makes the layer return its output and then
its final states (h for SimpleRNN/GRU, h and c for an LSTM; a Bidirectional layer
returns the forward states, then the backward ones), each ``(batch, units)``.
``initial_state`` must be those states: Keras 3 builds a model whatever is passed
there and fails only when data flows, so quizgen checks them as the cell will.
"""

from __future__ import annotations

from typing import Any

from ..derivation import Derivation, Expr, Sym, add, frozen, mul
from ..shapes import Shape, format_shape
from .base import (
    REQUIRED,
    Bound,
    CallSig,
    Fail,
    Outputs,
    boolean,
    choice,
    is_multi,
    kind,
    known,
    must_be_none,
    rank,
    runtime_check,
)
from .core import RNN_INPUT

GATES = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}
STATES = {"SimpleRNN": ("h",), "LSTM": ("h", "c"), "GRU": ("h",)}
RNN_TYPES = frozenset(GATES)
MERGE_MODES = ("concat", "sum", "mul", "ave")

_RNN_ARGS: dict[str, Any] = {
    "units": REQUIRED, "activation": "tanh", "use_bias": True,
    "kernel_initializer": "glorot_uniform", "recurrent_initializer": "orthogonal",
    "bias_initializer": "zeros", "kernel_regularizer": None, "recurrent_regularizer": None,
    "bias_regularizer": None, "kernel_constraint": None, "recurrent_constraint": None,
    "bias_constraint": None, "dropout": 0.0, "recurrent_dropout": 0.0,
    "return_sequences": False, "return_state": False, "go_backwards": False,
    "stateful": False, "unroll": False, "seed": None,
}


def _split(x: Any) -> tuple[Shape, tuple[Shape, ...] | None]:
    """(sequence shape, initial state shapes or None) from what the solver passes."""
    if type(x) is not Bound:
        return x, None
    seq, states = x.args[0], x.args[1]
    if states is not None and states and type(states[0]) is not tuple:
        states = (states,)  # one tensor: Keras wraps it in a list
    return seq, states


def cell(layer: Any, s: Shape) -> tuple[Shape, Derivation, list[Shape]]:
    """The output shape, the derivation and the state shapes of one recurrent layer."""
    rank(s, 3, RNN_INPUT)
    d = known(s[2], "feature dimension", s)
    if layer.get("stateful") and s[0] is None:
        raise Fail('stateful=true needs a fixed batch size; give the input as {"batch_shape": [...]}')
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
    if layer.get("return_state"):
        notes.append("lstm_return_state" if layer.type == "LSTM" else "rnn_return_state")
    states: list[Shape] = [(s[0], units)] * len(STATES[layer.type])
    return out, Derivation(layer.type, expr, notes=tuple(notes)), states


def check_states(given: tuple[Shape, ...], expected: list[Shape], what: str) -> None:
    """Keras feeds initial_state to the cell as its previous states: their number and shapes must fit."""
    if len(given) != len(expected):
        raise Fail(f"initial_state needs {len(expected)} tensor{'s' if len(expected) > 1 else ''} ({what}), "
                   f"got {len(given)}")
    for i, (g, e) in enumerate(zip(given, expected)):
        if len(g) != 2 or g[1] != e[1] or (g[0] is not None and e[0] is not None and g[0] != e[0]):
            raise Fail(f"initial_state[{i}] must have shape {format_shape(e)} (batch, units), "
                       f"got {format_shape(g)}")


def recurrent(layer: Any, x: Any) -> tuple[Any, Derivation]:
    s, given = _split(x)
    out, deriv, states = cell(layer, s)
    if given is not None:
        deriv = Derivation(deriv.layer_type, deriv.expr, notes=(*deriv.notes, "rnn_initial_state"))
    result: tuple[Any, Derivation] = (Outputs((out, *states)), deriv) if layer.get("return_state") else (out, deriv)
    if given is not None:
        return runtime_check(lambda: check_states(given, states, ", ".join(STATES[layer.type])), result)
    return result


def bidirectional(layer: Any, x: Any) -> tuple[Any, Derivation]:
    inner = layer.inner
    s, given = _split(x)
    try:
        out, deriv, states = cell(inner, s)
    except Fail as exc:
        exc.inner = inner.type
        raise
    notes = ["bidi_doubles", *deriv.notes]
    if given is not None:
        notes.append("rnn_initial_state")
    mode = layer.get("merge_mode")
    if mode == "concat":
        merged: Any = (*out[:-1], None if out[-1] is None else 2 * out[-1])
        notes.append("bidi_concat")
    elif mode is None:
        merged = (out, out)
        notes.append("bidi_none")
    else:
        merged = out
        notes.append("bidi_merge")
    if inner.get("return_state"):
        notes.append("bidi_states")
    assert deriv.expr is not None
    deriv = Derivation(f"Bidirectional({inner.type})", mul(2, deriv.expr), notes=tuple(notes))
    if inner.get("trainable") is False:  # both copies are made from the frozen layer's config
        deriv = frozen(deriv)
    if inner.get("return_state"):
        head = merged if mode is None else (merged,)
        result: tuple[Any, Derivation] = (Outputs((*head, *states, *states)), deriv)
    elif mode is None:
        result = (Outputs(merged), deriv)
    else:
        result = (merged, deriv)
    if given is not None:
        # Keras gives the first half of the list to the forward layer, the rest to the backward one
        names = STATES[inner.type]
        what = ", ".join([f"{n} forward" for n in names] + [f"{n} backward" for n in names])
        return runtime_check(lambda: check_states(given, states + states, what), result)
    return result


def validate_bidirectional(layer: Any) -> str | None:
    """Why Keras refuses this Bidirectional at construction, or None."""
    inner = layer.inner
    if inner.type not in RNN_TYPES:
        return f"Bidirectional wraps a recurrent layer (SimpleRNN, LSTM or GRU), not {inner.type}"
    if inner.get("go_backwards"):
        return "the wrapped layer must not set go_backwards=true (Bidirectional makes the backward copy itself)"
    return None


# ---------------------------------------------------------------- slips

def _cell_of(row: Any) -> tuple[str, bool] | None:
    """(cell type, bidirectional) for a recurrent row."""
    t = row.derivation.layer_type
    if t in GATES:
        return t, False
    if t.startswith("Bidirectional(") and t[14:-1] in GATES:
        return t[14:-1], True
    return None


def slips(row: Any) -> dict[str, int]:
    """Forgotten bias, no recurrent kernel, an LSTM counted as one gate, Keras 2's GRU, an undoubled
    Bidirectional, PyTorch's two biases per gate."""
    found = _cell_of(row)
    if found is None:
        return {}
    out: dict[str, int] = {}
    cell_type, bidi = found
    s = row.derivation.symbol_values()
    notes = row.derivation.notes
    h, d = s["h"], s["d"]
    gates = GATES[cell_type]
    biased = "no_bias" not in notes
    reset_after = "gru_reset_after" in notes
    per = 2 if bidi else 1
    bias_terms = (2 if reset_after else 1) if biased else 0
    if biased:
        out["no_bias"] = per * gates * h * (h + d)
    out["no_recurrent"] = per * gates * h * (d + bias_terms)
    if cell_type == "LSTM":
        out["lstm_one_gate"] = per * h * (h + d + bias_terms)
    if reset_after:
        out["gru_reset_after"] = per * 3 * h * (h + d + 1)
    if bidi:
        out["bidi_not_doubled"] = row.params // 2
    if biased:
        # torch.nn.RNN/LSTM/GRU keep b_ih and b_hh; Keras one bias per gate (two only in a reset_after GRU)
        out["pytorch_rnn_biases"] = per * gates * h * (h + d + 2)
    return out


def shape_slips(row: Any, incoming: Shape) -> dict[str, tuple[Any, ...]]:
    """return_sequences the wrong way round; a concatenated Bidirectional output not doubled."""
    found = _cell_of(row)
    if found is None:
        return {}
    out: dict[str, tuple[Any, ...]] = {}
    shape = tuple(row.output_shape)
    if len(shape) == 3:
        out["return_sequences"] = (shape[0], shape[2])
    elif len(incoming) == 3:
        out["return_sequences"] = (shape[0], incoming[1], shape[1])
    if found[1] and "bidi_concat" in row.derivation.notes:
        out["bidi_concat"] = (*shape[:-1], shape[-1] // 2)
    return out


def output_slips(row: Any, incoming: Shape) -> tuple[dict[str, tuple[Any, ...]], ...]:
    """Wrong shapes for each tensor of a recurrent layer with ``return_state`` (output(s), then states):
    the output's return_sequences and concat slips; a state given the time axis, or the width of
    the concatenated Bidirectional output (each direction's state is (batch, units))."""
    found = _cell_of(row)
    shapes = row.output_shape
    if found is None or not is_multi(shapes):
        return tuple({} for _ in shapes) if is_multi(shapes) else ()
    bidi = found[1]
    n_outputs = len(shapes) - (2 * len(STATES[found[0]]) if bidi else len(STATES[found[0]]))
    out: list[dict[str, tuple[Any, ...]]] = []
    for i, shape in enumerate(shapes):
        slips: dict[str, tuple[Any, ...]] = {}
        if i < n_outputs:
            if len(shape) == 3:
                slips["return_sequences"] = (shape[0], shape[2])
            elif len(incoming) == 3:
                slips["return_sequences"] = (shape[0], incoming[1], shape[1])
            if bidi and "bidi_concat" in row.derivation.notes:
                slips["bidi_concat"] = (*shape[:-1], shape[-1] // 2)
        else:
            if len(incoming) == 3:
                slips["state_has_time_axis"] = (shape[0], incoming[1], shape[1])
            if bidi:
                slips["bidi_state_concat"] = (shape[0], 2 * shape[1])
        out.append(slips)
    return tuple(out)


def _flag(v: Any) -> bool | None:
    return None if v is None else boolean(v)


_RNN_OPTIONS = {"training": _flag}
_CALL = CallSig(params=("sequences", "initial_state"), options=_RNN_OPTIONS)
_POSITIONAL_GATED = ("units", "activation", "recurrent_activation", "use_bias")

KINDS = (
    kind("SimpleRNN", dict(_RNN_ARGS), recurrent, "simple_rnn", ("units", "activation", "use_bias"),
         call=_CALL, slips=slips, shape_slips=shape_slips, runtime_checked="initial_state", mask="rnn",
         mask_arg=True),
    kind("LSTM", {**_RNN_ARGS, "recurrent_activation": "sigmoid", "unit_forget_bias": True, "use_cudnn": "auto"},
         recurrent, "lstm", _POSITIONAL_GATED, call=_CALL, slips=slips, shape_slips=shape_slips,
         checks={"use_cudnn": lambda v: v if v == "auto" else boolean(v)}, runtime_checked="initial_state",
         mask="rnn", mask_arg=True),
    kind("GRU", {**_RNN_ARGS, "recurrent_activation": "sigmoid", "reset_after": True, "use_cudnn": "auto"},
         recurrent, "gru", _POSITIONAL_GATED, call=_CALL, slips=slips, shape_slips=shape_slips,
         checks={"use_cudnn": lambda v: v if v == "auto" else boolean(v)}, runtime_checked="initial_state",
         mask="rnn", mask_arg=True),
    kind("Bidirectional", {"layer": REQUIRED, "merge_mode": "concat", "weights": None, "backward_layer": None},
         bidirectional, "bidirectional", ("layer", "merge_mode"), call=_CALL, slips=slips,
         shape_slips=shape_slips, runtime_checked="initial_state", validate=validate_bidirectional,
         mask="bidirectional", mask_arg=True,
         checks={"merge_mode": choice(*MERGE_MODES, None),
                 "backward_layer": must_be_none("quizgen does not support a custom backward_layer; leave it out")}),
)
