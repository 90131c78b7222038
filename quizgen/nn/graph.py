"""Graph specs: functional models with named inputs, layers called on tensors, outputs.

A graph spec is recognised by its ``"inputs"`` key::

    {"inputs": [{"name": "enc_in", "shape": [null]}, ...],
     "layers": [{"name": "enc_lstm", "type": "LSTM", "units": 256, "return_state": true,
                 "call": ["enc_emb"]},
                {"name": "dec_lstm", "type": "LSTM", "units": 256, "call": ["dec_emb"],
                 "call_kwargs": {"initial_state": ["enc_lstm:1", "enc_lstm:2"]}}, ...],
     "outputs": ["out"]}

``call`` holds the positional call arguments (merge layers and Attention take ONE
argument that is a list); ``call_kwargs`` the keyword ones, named as Keras's
``call`` names them. A tensor reference is an input's or a layer's name, or
``"name:i"`` for the i-th tensor of a layer that returns several (an RNN with
``return_state``: the output, then the states). Naming such a layer bare is an
error, as unpacking ``out, h, c = lstm(x)`` is the Keras idiom; a layer that
returns one tensor is named bare. Layers are listed in the order they are
called, so a reference to a later layer (or a cycle) is refused.

This module parses a graph spec and walks it: shapes in call order through the
layer rules, then the model's layers in the order Keras 3's functional model
lists them (keras/src/ops/function.py ``map_graph``: deepest first, ties broken
by first visit in a depth-first walk from the outputs). Layers no output depends
on are checked (Keras calls them too) but, as in Keras, are not in the model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..errors import SpecError
from .layers import KINDS, apply
from .layers.base import MAX_DIM, Bound, Fail, Outputs, RuntimeFail, short
from .layerspec import layer_to_json, model_trainable, parse_layer
from .masks import MASK_SOURCES, MaskGraph, mask_graph
from .shapes import Shape

_GRAPH_KEYS = {"inputs", "layers", "outputs", "name", "trainable"}
_CALL_KEYS = frozenset({"name", "call", "call_kwargs"})
_MASKS = {"mask", "query_mask", "value_mask", "key_mask", "attention_mask"}
_NO_EFFECT = {"training"}  # call options that change no shape: dropped from the memo key


class Ref(NamedTuple):
    """A reference to a tensor: a name, and which of its tensors (None: it returns one)."""

    name: str
    index: int | None = None  # type: ignore[assignment]  # the field shadows tuple.index, as NamedTuple allows

    def text(self) -> str:
        return self.name if self.index is None else f"{self.name}:{self.index}"


@dataclass(slots=True)
class GraphInput:
    name: str
    shape: Shape
    batch_fixed: bool = False


class GraphLayer(NamedTuple):
    """One layer of a graph: its name, its validated configuration, and how it is called.

    ``args`` has one entry per tensor parameter of the layer's CallSig (a Ref, a
    tuple of Refs for a list, or None when not given); ``options`` the plain call
    keywords. (A named tuple, not a dataclass: graphs are parsed tens of thousands
    of times a second, and a tuple is the cheapest record to build.)"""

    name: str
    layer: Any  # spec.LayerSpec
    args: tuple[Any, ...]
    options: tuple[tuple[str, Any], ...] = ()
    call: tuple[Any, ...] = ()      # as written, for to_json
    kwargs: tuple[tuple[str, Any], ...] = ()
    # every tensor it is called on, in the order Keras records them (positional, then by keyword)
    inbound: tuple[Ref, ...] = ()
    parents: tuple[str, ...] = ()   # the names in inbound

    def refs(self) -> tuple[Ref, ...]:
        return self.inbound


def _inbound(call: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...]) -> tuple[Ref, ...]:
    out: list[Ref] = []
    for value in call:
        out.extend(value) if type(value) is tuple and not isinstance(value, Ref) else out.append(value)
    for _, value in sorted(kwargs):
        if isinstance(value, Ref):
            out.append(value)
        elif type(value) is tuple and value and isinstance(value[0], Ref):
            out.extend(value)
    return tuple(out)


@dataclass(slots=True)
class GraphSpec:
    """A validated functional model."""

    inputs: tuple[GraphInput, ...]
    layers: tuple[GraphLayer, ...]
    outputs: tuple[Ref, ...]
    name: str | None = None
    trainable: bool = True  # False: the whole model frozen (model.trainable = False)
    masked: bool = False  # a layer can make a mask (Keras then adds mask operations: masks.py)

    def to_json(self) -> dict[str, Any]:
        def ref_json(v: Any) -> Any:
            if isinstance(v, Ref):
                return v.text()
            if isinstance(v, tuple):
                return [ref_json(x) for x in v]
            return v

        layers = []
        for gl in self.layers:
            obj: dict[str, Any]
            if "@" in gl.name:
                obj = {"call_of": _base(gl.name), "call": [ref_json(a) for a in gl.call]}
            else:
                obj = {"name": gl.name, **layer_to_json(gl.layer), "call": [ref_json(a) for a in gl.call]}
            if gl.kwargs:
                obj["call_kwargs"] = {k: ref_json(v) for k, v in gl.kwargs}
            layers.append(obj)
        inputs = [
            {"name": i.name, **({"batch_shape": list(i.shape)} if i.batch_fixed else {"shape": list(i.shape[1:])})}
            for i in self.inputs
        ]
        out: dict[str, Any] = {"inputs": inputs, "layers": layers, "outputs": [r.text() for r in self.outputs]}
        if self.name is not None:
            out["name"] = self.name
        if not self.trainable:
            out["trainable"] = False
        return out


# ---------------------------------------------------------------- parsing

def _name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise SpecError(f'{what} needs a "name": a non-empty string such as "enc_lstm", got {short(value)}')
    if "/" in value:
        raise SpecError(f"{what} name {value!r} cannot contain '/' (Keras refuses it)")
    if ":" in value:
        raise SpecError(f"{what} name {value!r} cannot contain ':' (it separates a name from an output index)")
    if "@" in value:
        raise SpecError(f"{what} name {value!r} cannot contain '@' (it names a shared layer's later call: "
                        f"'lstm@1')")
    return value


def _ref(value: Any, where: str) -> Ref:
    if not isinstance(value, str) or not value:
        raise SpecError(f"{where}: expected a tensor name such as \"enc_lstm\" or \"enc_lstm:1\", got {short(value)}")
    name, sep, index = value.rpartition(":")
    if not sep:
        return Ref(value)
    if not index.isdigit() or not index.isascii() or not name:
        raise SpecError(f"{where}: {value!r} is not a tensor name (\"name\" or \"name:i\" with i = 0, 1, ...)")
    return Ref(name, int(index))


def parse_graph(obj: dict[str, Any]) -> GraphSpec:
    """Validate a graph spec object."""
    unknown = set(obj) - _GRAPH_KEYS
    if unknown:
        raise SpecError(f"unknown top-level key(s) {', '.join(sorted(map(repr, unknown)))} "
                        f'(a graph spec has "inputs", "layers" and "outputs")')
    raw_inputs = obj.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise SpecError('"inputs" must be a non-empty list like [{"name": "x", "shape": [30]}]')
    seen: dict[str, str] = {}
    inputs = tuple(_parse_input(raw, seen) for raw in raw_inputs)
    raw_layers = obj.get("layers")
    if not isinstance(raw_layers, list):
        raise SpecError('"layers" must be a list of layer objects')
    layers: list[GraphLayer] = []
    calls: dict[str, int] = {}  # a shared layer's calls so far
    masked = False
    for position, raw in enumerate(raw_layers, start=1):
        if type(raw) is dict and "call_of" in raw:
            layers.append(_parse_shared_call(raw, position, seen, raw_layers, layers, calls))
        else:
            gl = _parse_layer(raw, position, seen, raw_layers)
            layers.append(gl)
            if gl.layer.type in MASK_SOURCES:
                masked = masked or gl.layer.type == "Masking" or bool(gl.layer.get("mask_zero"))
    outputs = _parse_outputs(obj.get("outputs"), seen)
    model_name = obj.get("name")
    if model_name is not None and not isinstance(model_name, str):
        raise SpecError(f'"name" must be a string, got {short(model_name)}')
    return GraphSpec(inputs, tuple(layers), outputs, model_name, model_trainable(obj), masked)


def _parse_input(raw: Any, seen: dict[str, str]) -> GraphInput:
    if not isinstance(raw, dict):
        raise SpecError(f'each input is an object like {{"name": "x", "shape": [30]}}, got {short(raw)}')
    name = _name(raw.get("name"), "an input")
    if len(raw) == 2 and "shape" in raw:
        key = "shape"
    elif len(raw) == 2 and "batch_shape" in raw:
        key = "batch_shape"
    else:
        keys = set(raw) - {"name"}
        raise SpecError(f'input {name!r} needs exactly one of "shape" or "batch_shape" (and nothing else), '
                        f"got {', '.join(sorted(keys)) or 'neither'}")
    dims = raw[key]
    valid = type(dims) is list
    if valid:
        for d in dims:
            if d is not None and (type(d) is not int or not 0 <= d <= MAX_DIM):
                valid = False
                break
    if not valid:
        raise SpecError(f"input {name!r}: {key} must be a list of non-negative integers or null, got {short(dims)}")
    if key == "batch_shape" and not dims:
        raise SpecError(f"input {name!r}: batch_shape needs at least the batch dimension")
    if name in seen:
        raise SpecError(f"the name {name!r} is used twice; every input and layer needs its own")
    seen[name] = "input"
    if key == "batch_shape":
        return GraphInput(name, tuple(dims), dims[0] is not None)
    return GraphInput(name, (None, *dims), False)


def _parse_shared_call(raw: dict[str, Any], position: int, seen: dict[str, str], raw_layers: list[Any],
                       layers: list[GraphLayer], calls: dict[str, int]) -> GraphLayer:
    """``{"call_of": "lstm", "call": ["x2"]}``: an earlier layer called again (a shared layer, one
    set of weights). Its output is ``"lstm@1"`` (``"lstm@2"``... for later calls), as Keras's
    summary names it ``lstm[1][0]``."""
    of = raw["call_of"]
    extra = set(raw) - {"call_of", "call", "call_kwargs"}
    if extra:
        raise SpecError(f"layer {position}: a call of an earlier layer ({{\"call_of\": ...}}) takes only \"call\" "
                        f"and \"call_kwargs\", not {', '.join(sorted(map(repr, extra)))}")
    first = next((gl for gl in layers if gl.name == of), None) if type(of) is str else None
    if first is None:
        raise SpecError(f"layer {position}: call_of {short(of)} names no earlier layer of this spec")
    k = calls[of] = calls.get(of, 0) + 1
    name = f"{of}@{k}"
    where = f"'{name}'"
    seen[name] = first.layer.type
    parsed = _parse_call(raw, name, where, first.layer, KINDS[first.layer.type].call, seen, raw_layers,
                         raw.get("call"), raw.get("call_kwargs"))
    return parsed


# The layers whose input_spec, once built, names the size of the feature axis (keras Dense,
# the convolutions, BatchNormalization): called again on another size, Keras refuses the call.
PINNED_INPUTS = frozenset({"Dense", "Conv1D", "Conv2D", "Conv3D", "SeparableConv1D", "SeparableConv2D",
                           "DepthwiseConv2D", "Conv1DTranspose", "Conv2DTranspose", "BatchNormalization"})


def _base(name: str) -> str:
    """The layer a node belongs to: ``"lstm"`` for ``"lstm@1"``."""
    return name.partition("@")[0]


# Parsed graph layers by content (name, constructor arguments, call): textbook graphs repeat
# them constantly ("drop": Dropout(0.5) on "concat"...). A GraphLayer is a value; one found
# here is reused only when every tensor it is called on is an earlier name of this spec.
_PARSED: dict[tuple[Any, ...], GraphLayer] = {}
_PARSED_LIMIT = 50_000


def _parse_layer(raw: Any, position: int, seen: dict[str, str], order: list[Any]) -> GraphLayer:
    if type(raw) is not dict:
        raise SpecError(f'layer {position}: expected a layer object like {{"name": "d", "type": "Dense", '
                        f'"units": 2, "call": ["x"]}}, got {short(raw)}')
    name = raw.get("name")
    if type(name) is not str or not name or "/" in name or ":" in name or "@" in name:
        name = _name(name, f"layer {position}")
    call = raw.get("call")
    key: tuple[Any, ...] | None = None
    if "call_kwargs" not in raw and type(call) is list and name not in seen:
        if len(call) == 1 and type(call[0]) is str:
            called: Any = call[0]
        else:
            called = tuple([v if type(v) is str else tuple(v) if type(v) is list else v for v in call])
        key = (name, called, *[(k, v.__class__, v) for k, v in raw.items() if k not in _CALL_KEYS])
        try:
            hit = _PARSED.get(key)
        except TypeError:  # a list or object argument
            hit = key = None
        if hit is not None:
            for p in hit.parents:
                if p not in seen:
                    break
            else:
                seen[name] = hit.layer.type
                return hit
    where = f"'{name}'"
    layer = parse_layer(raw, where, skip=_CALL_KEYS)
    if name in seen:
        raise SpecError(f"the name {name!r} is used twice; every input and layer needs its own", where, layer.type)
    seen[name] = layer.type
    sig = KINDS[layer.type].call
    kwargs_raw = raw.get("call_kwargs")
    parsed = None
    if kwargs_raw is None and type(call) is list:
        fast = _plain_call(call, sig, seen, name)
        if fast is not None:
            parsed = GraphLayer(name, layer, *fast)
    if parsed is None:
        parsed = _parse_call(raw, name, where, layer, sig, seen, order, call, kwargs_raw)
    if key is not None:
        if len(_PARSED) >= _PARSED_LIMIT:
            _PARSED.clear()
        _PARSED[key] = parsed
    return parsed


def _plain_call(call: list[Any], sig: Any, seen: dict[str, str], name: str) -> tuple[Any, ...] | None:
    """The common calls, without keywords, by plain names of earlier tensors: ``["x"]``,
    ``[["a", "b"]]``, ``["q", "v"]``; None for anything else (``_parse_call`` then checks
    it and says what is wrong)."""
    n = len(call)
    if n == 1 and not sig.list_input and sig.required == 1:  # by far the most common: layer(x)
        only = call[0]
        if type(only) is str and only in seen and only != name and ":" not in only:
            r = Ref(only)
            one = (r,)
            return (one if len(sig.params) == 1 else (r, None), (), one, (), one, (only,))
        return None
    if not sig.required <= n <= len(sig.params):
        return None
    refs: list[Ref] = []
    args: list[Any] = []
    for i, value in enumerate(call):
        if type(value) is str:
            if (i == 0 and sig.list_input) or ":" in value or value == name or value not in seen:
                return None
            r = Ref(value)
            refs.append(r)
            args.append(r)
        elif type(value) is list and i == 0 and sig.list_input:
            if not sig.min_list <= len(value) <= (sig.max_list or len(value)):
                return None
            group = []
            for v in value:
                if type(v) is not str or ":" in v or v == name or v not in seen:
                    return None
                group.append(Ref(v))
            refs.extend(group)
            args.append(tuple(group))
        else:
            return None
    written = tuple(args)
    if n < len(sig.params):
        args.extend([None] * (len(sig.params) - n))
    return tuple(args), (), written, (), tuple(refs), tuple([r[0] for r in refs])


def _parse_call(raw: dict[str, Any], name: str, where: str, layer: Any, sig: Any, seen: dict[str, str],
                raw_layers: list[Any], call: Any, kwargs_raw: Any) -> GraphLayer:
    ctx = (name, where, layer.type, seen, raw_layers)
    if not isinstance(call, list):
        raise SpecError(f'needs "call": the list of tensors it is called on, e.g. ["x"]; got {short(call)}',
                        where, layer.type)
    if kwargs_raw is None:
        kwargs_raw = {}
    if not isinstance(kwargs_raw, dict):
        raise SpecError(f'"call_kwargs" must be an object of keyword arguments, got {short(kwargs_raw)}',
                        where, layer.type)
    params = sig.params
    if len(call) > len(params):
        raise SpecError(f"{layer.type} takes at most {len(params)} positional tensor argument"
                        f"{'s' if len(params) > 1 else ''} ({', '.join(params)}), got {len(call)}", where, layer.type)
    bound: dict[str, Any] = {}
    written_call = []
    for param, value in zip(params, call):
        bound[param] = _tensors(value, param, sig, ctx)
        written_call.append(bound[param])
    options: dict[str, Any] = {}
    written_kwargs = []
    for key, value in kwargs_raw.items():
        if key in params:
            if key in bound:
                raise SpecError(f"{key} is given twice (in \"call\" and in \"call_kwargs\")", where, layer.type)
            bound[key] = _tensors(value, key, sig, ctx)
            written_kwargs.append((key, bound[key]))
        elif key in sig.options:
            try:
                options[key] = sig.options[key](value)
            except ValueError as exc:
                raise SpecError(f"call_kwargs {key}: {exc}", where, layer.type) from None
            written_kwargs.append((key, options[key]))
        elif key in _MASKS:
            raise SpecError(f"quizgen does not model explicit masks; leave {key} out (masks change no shape "
                            f"or count)", where, layer.type)
        else:
            known = ", ".join([*params[1:], *sig.options]) or "none"
            raise SpecError(f"unexpected call keyword {key!r} (keywords {layer.type} takes here: {known})",
                            where, layer.type)
    for param in params[:sig.required]:
        if param not in bound:
            raise SpecError(f"missing call argument {param!r}: {layer.type} is called as "
                            f"{layer.type.lower()}({', '.join(params[:sig.required])})", where, layer.type)
    if sig.list_input:
        items = bound[params[0]]
        if not sig.min_list <= len(items) <= (sig.max_list or len(items)):
            if sig.max_list:
                raise SpecError(f"{layer.type} is called on a list of {sig.min_list} to {sig.max_list} tensors "
                                f"(query, value[, key]), got {len(items)}", where, layer.type)
            raise SpecError(f"{layer.type} needs a list of at least {sig.min_list} tensor, got an empty list",
                            where, layer.type)
    args = tuple([bound.get(p) for p in params])
    kept = tuple(sorted((k, v) for k, v in options.items() if k not in _NO_EFFECT)) if options else ()
    call_t, kwargs_t = tuple(written_call), tuple(written_kwargs)
    inbound = _inbound(call_t, kwargs_t)
    return GraphLayer(name, layer, args, kept, call_t, kwargs_t, inbound, tuple([r[0] for r in inbound]))


def _tensors(value: Any, param: str, sig: Any, ctx: tuple[Any, ...]) -> Any:
    """One call argument as a Ref, or a tuple of Refs where the parameter takes a list."""
    as_list = sig.list_input or param == "initial_state"
    if type(value) is list:
        if not as_list:
            raise SpecError(f"{param} takes one tensor, not a list ({short(value)})", ctx[1], ctx[2])
        return tuple([_call_ref(v, ctx) for v in value])
    if as_list and sig.list_input:
        raise SpecError(f"{ctx[2]} is called on ONE list of tensors, e.g. \"call\": [[\"a\", \"b\"]]; "
                        f"got {short(value)}", ctx[1], ctx[2])
    return _call_ref(value, ctx)


def _call_ref(value: Any, ctx: tuple[Any, ...]) -> Ref:
    name, where, layer_type, seen, raw_layers = ctx
    if type(value) is str and ":" not in value and value != name and value in seen:
        return Ref(value)
    try:
        r = _ref(value, "call")
    except SpecError as exc:
        raise SpecError(exc.reason, where, layer_type) from None
    _check_known(r, name, seen, raw_layers, lambda reason: SpecError(reason, where, layer_type))
    return r


def _check_known(r: Ref, name: str, seen: dict[str, str], raw_layers: list[Any], fail: Any) -> None:
    if r.name in seen and r.name != name:
        return
    if r.name == name:
        raise fail(f"it is called on its own output {r.text()!r} (a cycle)")
    if r.name in [raw.get("name") for raw in raw_layers if isinstance(raw, dict)]:
        raise fail(f"it is called on {r.text()!r}, which is defined later; list layers in the order "
                   f"they are called (a cycle cannot be built)")
    raise fail(f"it is called on {r.text()!r}, which is no input or layer of this spec")


def _parse_outputs(raw: Any, seen: dict[str, str]) -> tuple[Ref, ...]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise SpecError('"outputs" must name the model\'s output tensors, e.g. ["out"] or ["enc_lstm:1"]')
    refs = []
    for value in raw:
        r = _ref(value, "outputs")
        if r.name not in seen:
            raise SpecError(f"outputs: {r.text()!r} is no input or layer of this spec")
        refs.append(r)
    return tuple(refs)


# ---------------------------------------------------------------- walking

def _resolve(r: Ref, tensors: dict[str, Any]) -> Shape:
    value = tensors[r[0]]
    if type(value) is Outputs:
        if r[1] is None:
            raise Fail(f"{r.name!r} returns {len(value)} tensors; refer to one of them as "
                       f"'{r.name}:0' ... '{r.name}:{len(value) - 1}' (for an RNN with return_state: "
                       f"the output, then the states)")
        if r[1] >= len(value):
            raise Fail(f"{r.text()!r} does not exist: {r.name!r} returns {len(value)} tensors "
                       f"('{r.name}:0' ... '{r.name}:{len(value) - 1}')")
        return value[r[1]]
    if r[1] is not None:
        raise Fail(f"{r.name!r} returns one tensor; refer to it as {r.name!r}, not {r.text()!r}")
    return value


def call_shapes(gl: GraphLayer, tensors: dict[str, Any]) -> Any:
    """What the layer rule receives: the bare shape(s) of a plain call, or a Bound."""
    args = gl.args
    first = args[0]
    if not gl.options and all(a is None for a in args[1:]):
        if type(first) is Ref:
            return _resolve(first, tensors)
        return tuple([_resolve(r, tensors) for r in first])
    values: list[Any] = []
    for a in args:
        if a is None:
            values.append(None)
        elif type(a) is Ref:
            values.append(_resolve(a, tensors))
        else:
            values.append(tuple([_resolve(r, tensors) for r in a]))
    return Bound(tuple(values), gl.options)


def walk(spec: GraphSpec) -> tuple[dict[str, Any], list[Any]]:
    """(tensor shapes by name, each layer's (output, derivation) in the spec's order), every
    layer solved in call order."""
    tensors: dict[str, Any] = {i.name: i.shape for i in spec.inputs}
    solved: list[Any] = []
    used: set[str] | None = None
    for gl in spec.layers:
        try:
            args = gl.args
            first = args[0]
            if len(args) == 1 and type(first) is Ref and first[1] is None and not gl.options:
                x = tensors[first[0]]  # the common call, layer(x): _resolve inlined
                if type(x) is Outputs:
                    x = _resolve(first, tensors)
            else:
                x = call_shapes(gl, tensors)
            out, deriv = apply(gl.layer, x)
        except RuntimeFail as exc:
            # Keras builds it; it fails only when data flows through it, which never happens to
            # a layer no output uses.
            if used is None:
                used = reachable(spec)
            if gl.name in used:
                where = f"{gl.layer.type} > {exc.inner}" if exc.inner else gl.layer.type
                raise SpecError(str(exc), f"'{gl.name}'", where) from None
            out, deriv = exc.result
        except Fail as exc:
            where = f"{gl.layer.type} > {exc.inner}" if exc.inner else gl.layer.type
            raise SpecError(str(exc), f"'{gl.name}'", where) from None
        if "@" in gl.name:  # a shared layer called again: its weights must fit this input too
            first = solved[next(i for i, other in enumerate(spec.layers) if other.name == _base(gl.name))][1]
            if deriv.total != first.total:
                if used is None:
                    used = reachable(spec)
                # Layers whose InputSpec pins the feature size once built refuse the call when the
                # model is built; the others (RNNs, LayerNormalization...) build it and fail on data.
                if gl.layer.type in PINNED_INPUTS or gl.name in used:
                    raise SpecError(f"its weights were made for its first call ({first.total:,} parameters) and "
                                    f"do not fit this input (they would be {deriv.total:,}): a shared layer needs "
                                    f"inputs of the same feature size", f"'{gl.name}'", gl.layer.type)
        tensors[gl.name] = out
        solved.append((out, deriv))
    for r in spec.outputs:
        try:
            _resolve(r, tensors)
        except Fail as exc:
            raise SpecError(f"outputs: {exc}") from None
    return tensors, solved


def reachable(spec: GraphSpec) -> set[str]:
    """The nodes (layers, inputs, shared layers' later calls) some output depends on."""
    parents = {gl.name: gl.parents for gl in spec.layers}
    seen: set[str] = set()
    stack = [r[0] for r in spec.outputs]
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(parents.get(name, ()))
    return seen


class Layout(NamedTuple):
    """The built model's inputs and layers in ``model.layers`` order, with their depths
    (0 at the outputs), as keras/src/ops/function.py ``map_graph`` computes them; ``rows``:
    the positions in the spec's layers of the layers in the model, in that order."""

    order: tuple[str, ...]
    depth: dict[str, int]
    rows: tuple[int, ...] = ()
    # with masks: every node's number of input tensors, mask operations ("#n") included; every
    # node in the order of model.operations (what Keras's summary lists); the mask operations;
    # the mask tensors a layer's node takes after its own inputs
    inputs: dict[str, int] | None = None
    nodes: tuple[str, ...] = ()
    operations: dict[str, Any] | None = None
    mask_inputs: dict[str, tuple[str, ...]] | None = None
    # a shared layer's calls in the model (their positions in the spec's layers), when it has
    # more than one or only later ones; and its last call in the spec (whose shape its row shows,
    # as Keras's summary)
    calls: dict[str, tuple[int, ...]] | None = None
    last_calls: dict[str, int] | None = None


# Layouts by structure (names, what each layer is called on, outputs, inputs): the order does
# not depend on sizes, and textbook graphs share a handful of structures. A Layout is a value
# (its depth map is read, never written).
_LAYOUTS: dict[tuple[Any, ...], Layout] = {}
_LAYOUTS_LIMIT = 20_000


def layout(spec: GraphSpec, tensors: dict[str, Any] | None = None) -> Layout:
    """The model's layout; ``tensors`` (the walk's shapes) lets a graph with masks add Keras's
    mask operations (masks.py) to the graph it orders."""
    key: tuple[Any, ...] = (tuple([(gl.name, gl.parents) for gl in spec.layers]), tuple([r[0] for r in spec.outputs]),
                            tuple([i.name for i in spec.inputs]))
    if tensors is not None and spec.masked:
        # Masks add operations that depend on each layer's configuration and on the ranks of the
        # tensors (fixed by the inputs' ranks): a layout is remembered by those too. (Their shapes,
        # which only the summary shows, are made again by mask_operations.)
        try:
            key = (key, tuple([gl.layer.token() for gl in spec.layers]), tuple([len(i.shape) for i in spec.inputs]))
            hit = _LAYOUTS.get(key)
        except TypeError:  # an unhashable argument: not remembered
            key, hit = (), None
        if hit is None:
            try:
                hit = _layout(spec, mask_graph(spec, tensors))
            except Fail as exc:
                raise SpecError(str(exc)) from None
            if key:
                if len(_LAYOUTS) >= _LAYOUTS_LIMIT:
                    _LAYOUTS.clear()
                _LAYOUTS[key] = hit
        return hit
    hit = _LAYOUTS.get(key)
    if hit is None:
        if len(_LAYOUTS) >= _LAYOUTS_LIMIT:
            _LAYOUTS.clear()
        hit = _LAYOUTS[key] = _layout(spec)
    return hit


def _layout(spec: GraphSpec, masked: MaskGraph | None = None) -> Layout:
    parents: dict[str, tuple[str, ...]] = {gl.name: gl.parents for gl in spec.layers}
    if masked is not None:
        for name, more in masked.extra.items():
            parents[name] = (*parents[name], *more)
        for node, operation in masked.operations.items():
            parents[node] = operation.parents
    index: dict[str, int] = {}   # first-visit order: insertion order is the index
    post: list[str] = []
    calls: dict[str, list[int]] = {}  # a shared layer's calls in the model: their positions
    if len(parents) < 500:
        for out in spec.outputs:
            if out[0] not in index:
                _visit(out[0], parents, index, post)
    else:
        _visit_iteratively(spec, parents, index, post)
    depth: dict[str, int] = {}
    shared = any("@" in n for n in index)
    if not shared:
        for name in reversed(post):
            d = depth.setdefault(name, 0) + 1
            for p in parents.get(name, ()):
                if depth.get(p, 0) < d:
                    depth[p] = d
    else:
        # keras/src/ops/function.py map_graph: a shared layer's depth is the deepest of its nodes,
        # taken as its nodes are met, and ordered by the first visit of any of its nodes
        node_depth: dict[str, int] = {}
        for name in reversed(post):
            op = _base(name)
            d = max(node_depth.setdefault(name, 0), depth.get(op, 0))
            depth[op] = node_depth[name] = d
            for p in parents.get(name, ()):
                if node_depth.get(p, 0) < d + 1:
                    node_depth[p] = d + 1
        first_seen: dict[str, int] = {}
        for name in index:
            first_seen.setdefault(_base(name), 0)
        index = first_seen
        where = {gl.name: i for i, gl in enumerate(spec.layers)}
        for name in post:
            if name in where:
                calls.setdefault(_base(name), []).append(where[name])
        calls = {op: sorted(nodes) for op, nodes in calls.items() if len(nodes) > 1 or "@" in
                 spec.layers[nodes[0]].name}
    last_calls = {_base(gl.name): i for i, gl in enumerate(spec.layers) if "@" in gl.name} if shared or any(
        "@" in gl.name for gl in spec.layers) else None
    unused = [i.name for i in spec.inputs if i.name not in depth]
    for name in unused:  # an input no output depends on: Keras keeps it, at depth 0, first
        depth[name] = 0
    # deepest first; within a depth, in first-visit order (the sort is stable, also reversed)
    order = sorted([*unused, *index], key=depth.__getitem__, reverse=True)
    position = {gl.name: i for i, gl in enumerate(spec.layers)}
    if masked is not None:  # the mask operations are in the graph, not in model.layers
        operations = {n: masked.operations[n] for n in depth if n[0] == "#"}
        for operation in operations.values():
            if operation.name in depth:
                name = operation.name
                raise SpecError(f"Keras names one of the operations its masks add to this model {name!r}, which "
                                f"is also the name of {'an input' if name not in position else 'a layer'} of the "
                                f"model, and refuses the model (every name must be unique); rename {name!r}")
        inputs = {n: len(parents.get(n, ())) for n in depth}
        return Layout(tuple([n for n in order if n[0] != "#"]), depth,
                      tuple([position[n] for n in order if n in position]), inputs, tuple(order), operations,
                      {n: more for n, more in masked.extra.items() if n in depth},
                      {k: tuple(v) for k, v in calls.items()}, last_calls)
    return Layout(tuple(order), depth, tuple([position[n] for n in order if n in position]),
                  calls={k: tuple(v) for k, v in calls.items()}, last_calls=last_calls)


def _visit(name: str, parents: dict[str, Any], index: dict[str, int], post: list[str]) -> None:
    """Depth-first, numbering each operation on its first visit. (A function of its own, not a
    closure: a recursive closure is a reference cycle, left for the cyclic collector per graph.)"""
    index[name] = 0
    for p in parents.get(name, ()):
        if p not in index:
            _visit(p, parents, index, post)
    post.append(name)


def _visit_iteratively(spec: GraphSpec, parents: Mapping[str, Sequence[str]], index: dict[str, int],
                       post: list[str]) -> None:
    """layout()'s depth-first walk without recursion, for graphs deeper than Python's stack."""
    for out in spec.outputs:
        if out[0] in index:
            continue
        index[out[0]] = 0
        stack: list[tuple[str, int]] = [(out[0], 0)]
        while stack:
            name, i = stack.pop()
            ps = parents.get(name, ())
            while i < len(ps) and ps[i] in index:
                i += 1
            if i < len(ps):
                stack.append((name, i + 1))
                index[ps[i]] = 0
                stack.append((ps[i], 0))
            else:
                post.append(name)


__all__ = ["GraphSpec", "GraphLayer", "GraphInput", "Ref", "Layout", "parse_graph", "walk", "layout"]
