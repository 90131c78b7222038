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

from dataclasses import dataclass
from typing import Any

from ..errors import SpecError
from .layers import KINDS, apply
from .layers.base import Bound, Fail, MAX_DIM, Outputs, is_multi, short
from .shapes import Shape

_GRAPH_KEYS = {"inputs", "layers", "outputs", "name"}
_CALL_KEYS = ("name", "call", "call_kwargs")
_MASKS = {"mask", "query_mask", "value_mask", "key_mask", "attention_mask"}
_NO_EFFECT = {"training"}  # call options that change no shape: dropped from the memo key


@dataclass(frozen=True, slots=True)
class Ref:
    """A reference to a tensor: a name, and which of its tensors (None: it returns one)."""

    name: str
    index: int | None = None

    def text(self) -> str:
        return self.name if self.index is None else f"{self.name}:{self.index}"


@dataclass(slots=True)
class GraphInput:
    name: str
    shape: Shape
    batch_fixed: bool = False


@dataclass(slots=True)
class GraphLayer:
    """One layer of a graph: its name, its validated configuration, and how it is called.

    ``args`` has one entry per tensor parameter of the layer's CallSig (a Ref, a
    tuple of Refs for a list, or None when not given); ``options`` the plain call
    keywords."""

    name: str
    layer: Any  # spec.LayerSpec
    args: tuple[Any, ...]
    options: tuple[tuple[str, Any], ...] = ()
    call: tuple[Any, ...] = ()      # as written, for to_json
    kwargs: tuple[tuple[str, Any], ...] = ()

    def refs(self) -> list[Ref]:
        """Every tensor it is called on, in the order Keras records them (positional, then by keyword)."""
        out: list[Ref] = []
        for value in self.call:
            out.extend(value if isinstance(value, tuple) else (value,))
        for _, value in sorted(self.kwargs):
            if isinstance(value, Ref) or (isinstance(value, tuple) and value and isinstance(value[0], Ref)):
                out.extend(value if isinstance(value, tuple) else (value,))
        return out


@dataclass(slots=True)
class GraphSpec:
    """A validated functional model."""

    inputs: tuple[GraphInput, ...]
    layers: tuple[GraphLayer, ...]
    outputs: tuple[Ref, ...]
    name: str | None = None

    def to_json(self) -> dict[str, Any]:
        from .spec import layer_to_json

        def ref_json(v: Any) -> Any:
            if isinstance(v, Ref):
                return v.text()
            if isinstance(v, tuple):
                return [ref_json(x) for x in v]
            return v

        layers = []
        for gl in self.layers:
            obj = {"name": gl.name, **layer_to_json(gl.layer), "call": [ref_json(a) for a in gl.call]}
            if gl.kwargs:
                obj["call_kwargs"] = {k: ref_json(v) for k, v in gl.kwargs}
            layers.append(obj)
        inputs = [{"name": i.name, **({"batch_shape": list(i.shape)} if i.batch_fixed else {"shape": list(i.shape[1:])})}
                  for i in self.inputs]
        out: dict[str, Any] = {"inputs": inputs, "layers": layers, "outputs": [r.text() for r in self.outputs]}
        if self.name is not None:
            out["name"] = self.name
        return out


# ---------------------------------------------------------------- parsing

def _name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise SpecError(f'{what} needs a "name": a non-empty string such as "enc_lstm", got {short(value)}')
    if "/" in value:
        raise SpecError(f"{what} name {value!r} cannot contain '/' (Keras refuses it)")
    if ":" in value:
        raise SpecError(f"{what} name {value!r} cannot contain ':' (it separates a name from an output index)")
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


def parse_graph(obj: dict[str, Any], parse_layer: Any) -> GraphSpec:
    """Validate a graph spec object; ``parse_layer`` is spec.parse_layer (constructor arguments)."""
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
    names_in_order = [raw.get("name") if isinstance(raw, dict) else None for raw in raw_layers]
    layers = []
    for position, raw in enumerate(raw_layers, start=1):
        layers.append(_parse_layer(raw, position, seen, names_in_order, parse_layer))
    outputs = _parse_outputs(obj.get("outputs"), seen, names_in_order)
    model_name = obj.get("name")
    if model_name is not None and not isinstance(model_name, str):
        raise SpecError(f'"name" must be a string, got {short(model_name)}')
    return GraphSpec(inputs, tuple(layers), outputs, model_name)


def _parse_input(raw: Any, seen: dict[str, str]) -> GraphInput:
    if not isinstance(raw, dict):
        raise SpecError(f'each input is an object like {{"name": "x", "shape": [30]}}, got {short(raw)}')
    name = _name(raw.get("name"), "an input")
    keys = set(raw) - {"name"}
    if len(keys) != 1 or not keys & {"shape", "batch_shape"}:
        raise SpecError(f'input {name!r} needs exactly one of "shape" or "batch_shape" (and nothing else), '
                        f"got {', '.join(sorted(keys)) or 'neither'}")
    (key,) = keys
    dims = raw[key]
    if not isinstance(dims, list) or not all(d is None or (type(d) is int and 0 <= d <= MAX_DIM) for d in dims):
        raise SpecError(f"input {name!r}: {key} must be a list of non-negative integers or null, got {short(dims)}")
    if key == "batch_shape" and not dims:
        raise SpecError(f"input {name!r}: batch_shape needs at least the batch dimension")
    if name in seen:
        raise SpecError(f"the name {name!r} is used twice; every input and layer needs its own")
    seen[name] = "input"
    if key == "batch_shape":
        return GraphInput(name, tuple(dims), dims[0] is not None)
    return GraphInput(name, (None, *dims), False)


def _parse_layer(raw: Any, position: int, seen: dict[str, str], order: list[Any], parse_layer: Any) -> GraphLayer:
    if not isinstance(raw, dict):
        raise SpecError(f'layer {position}: expected a layer object like {{"name": "d", "type": "Dense", '
                        f'"units": 2, "call": ["x"]}}, got {short(raw)}')
    name = _name(raw.get("name"), f"layer {position}")
    where = f"'{name}'"
    ctor = {k: v for k, v in raw.items() if k not in _CALL_KEYS}
    layer = parse_layer(ctor, where)
    if name in seen:
        raise SpecError(f"the name {name!r} is used twice; every input and layer needs its own", where, layer.type)
    seen[name] = layer.type
    sig = KINDS[layer.type].call

    def fail(reason: str) -> SpecError:
        return SpecError(reason, where, layer.type)

    def ref(value: Any) -> Ref:
        try:
            r = _ref(value, "call")
        except SpecError as exc:
            raise fail(exc.reason) from None
        _check_known(r, name, seen, order, fail)
        return r

    def tensors(value: Any, param: str, as_list: bool) -> Any:
        if isinstance(value, list):
            if not as_list:
                raise fail(f"{param} takes one tensor, not a list ({short(value)})")
            return tuple(ref(v) for v in value)
        if as_list and sig.list_input:
            raise fail(f"{layer.type} is called on ONE list of tensors, e.g. \"call\": [[\"a\", \"b\"]]; "
                       f"got {short(value)}")
        return ref(value)

    call = raw.get("call")
    if not isinstance(call, list):
        raise fail(f'needs "call": the list of tensors it is called on, e.g. ["x"]; got {short(call)}')
    kwargs_raw = raw.get("call_kwargs", {})
    if not isinstance(kwargs_raw, dict):
        raise fail(f'"call_kwargs" must be an object of keyword arguments, got {short(kwargs_raw)}')
    if len(call) > len(sig.params):
        raise fail(f"{layer.type} takes at most {len(sig.params)} positional tensor argument"
                   f"{'s' if len(sig.params) > 1 else ''} ({', '.join(sig.params)}), got {len(call)}")
    bound: dict[str, Any] = {}
    written_call = []
    for param, value in zip(sig.params, call):
        bound[param] = tensors(value, param, sig.list_input or param == "initial_state")
        written_call.append(bound[param])
    options: dict[str, Any] = {}
    written_kwargs = []
    for key, value in kwargs_raw.items():
        if key in sig.params:
            if key in bound:
                raise fail(f"{key} is given twice (in \"call\" and in \"call_kwargs\")")
            bound[key] = tensors(value, key, sig.list_input or key == "initial_state")
            written_kwargs.append((key, bound[key]))
        elif key in sig.options:
            try:
                options[key] = sig.options[key](value)
            except ValueError as exc:
                raise fail(f"call_kwargs {key}: {exc}") from None
            written_kwargs.append((key, options[key]))
        elif key in _MASKS:
            raise fail(f"quizgen does not model explicit masks; leave {key} out (masks change no shape or count)")
        else:
            known = ", ".join([*sig.params[1:], *sig.options]) or "none"
            raise fail(f"unexpected call keyword {key!r} (keywords {layer.type} takes here: {known})")
    for param in sig.params[:sig.required]:
        if param not in bound:
            raise fail(f"missing call argument {param!r}: {layer.type} is called as "
                       f"{layer.type.lower()}({', '.join(sig.params[:sig.required])})")
    if sig.list_input:
        items = bound[sig.params[0]]
        if not sig.min_list <= len(items) <= (sig.max_list or len(items)):
            if sig.max_list:
                raise fail(f"{layer.type} is called on a list of {sig.min_list} to {sig.max_list} tensors "
                           f"(query, value[, key]), got {len(items)}")
            raise fail(f"{layer.type} needs a list of at least {sig.min_list} tensor, got an empty list")
    args = tuple(bound.get(p) for p in sig.params)
    kept = tuple(sorted((k, v) for k, v in options.items() if k not in _NO_EFFECT))
    return GraphLayer(name, layer, args, kept, tuple(written_call), tuple(written_kwargs))


def _check_known(r: Ref, name: str, seen: dict[str, str], order: list[Any], fail: Any) -> None:
    if r.name in seen and r.name != name:
        return
    if r.name == name:
        raise fail(f"it is called on its own output {r.text()!r} (a cycle)")
    if r.name in order:
        raise fail(f"it is called on {r.text()!r}, which is defined later; list layers in the order "
                   f"they are called (a cycle cannot be built)")
    raise fail(f"it is called on {r.text()!r}, which is no input or layer of this spec")


def _parse_outputs(raw: Any, seen: dict[str, str], order: list[Any]) -> tuple[Ref, ...]:
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
    value = tensors[r.name]
    if is_multi(value):
        if r.index is None:
            raise Fail(f"{r.name!r} returns {len(value)} tensors; refer to one of them as "
                       f"'{r.name}:0' ... '{r.name}:{len(value) - 1}' (for an RNN with return_state: "
                       f"the output, then the states)")
        if r.index >= len(value):
            raise Fail(f"{r.text()!r} does not exist: {r.name!r} returns {len(value)} tensors "
                       f"('{r.name}:0' ... '{r.name}:{len(value) - 1}')")
        return value[r.index]
    if r.index is not None:
        raise Fail(f"{r.name!r} returns one tensor; refer to it as {r.name!r}, not {r.text()!r}")
    return value


def call_shapes(gl: GraphLayer, tensors: dict[str, Any]) -> Any:
    """What the layer rule receives: the bare shape(s) of a plain call, or a Bound."""
    values = []
    for a in gl.args:
        if a is None:
            values.append(None)
        elif isinstance(a, tuple):
            values.append(tuple(_resolve(r, tensors) for r in a))
        else:
            values.append(_resolve(a, tensors))
    if not gl.options and all(v is None for v in values[1:]):
        return values[0]
    return Bound(tuple(values), gl.options)


def walk(spec: GraphSpec) -> tuple[dict[str, Any], dict[str, Any]]:
    """(tensor shapes by name, derivations by layer name), every layer solved in call order."""
    tensors: dict[str, Any] = {i.name: i.shape for i in spec.inputs}
    derivs: dict[str, Any] = {}
    for gl in spec.layers:
        try:
            out, deriv = apply(gl.layer, call_shapes(gl, tensors))
        except Fail as exc:
            where = f"{gl.layer.type} > {exc.inner}" if exc.inner else gl.layer.type
            raise SpecError(str(exc), f"'{gl.name}'", where) from None
        tensors[gl.name] = out
        derivs[gl.name] = deriv
    for r in spec.outputs:
        try:
            _resolve(r, tensors)
        except Fail as exc:
            raise SpecError(f"outputs: {exc}") from None
    return tensors, derivs


@dataclass(frozen=True, slots=True)
class Layout:
    """The built model's inputs and layers in ``model.layers`` order, with their depths
    (0 at the outputs), as keras/src/ops/function.py ``map_graph`` computes them."""

    order: tuple[str, ...]
    depth: dict[str, int]


def layout(spec: GraphSpec) -> Layout:
    by_name = {gl.name: gl for gl in spec.layers}
    refs = {gl.name: gl.refs() for gl in spec.layers}
    index: dict[str, int] = {}
    post: list[str] = []
    finished: set[str] = set()
    for out in spec.outputs:  # depth-first from each output, numbering operations on first visit
        stack: list[tuple[str, int]] = [(out.name, 0)]
        while stack:
            name, i = stack.pop()
            if i == 0:
                if name in finished:
                    continue
                index.setdefault(name, len(index))
            parents = refs.get(name, ())
            while i < len(parents) and parents[i].name in finished:
                i += 1
            if i < len(parents):
                stack.append((name, i + 1))
                stack.append((parents[i].name, 0))
                continue
            if name not in finished:
                finished.add(name)
                post.append(name)
    depth: dict[str, int] = {}
    for name in reversed(post):
        d = depth.setdefault(name, 0)
        for r in refs.get(name, ()):
            if depth.get(r.name, 0) < d + 1:
                depth[r.name] = d + 1
    for i in spec.inputs:
        if i.name not in depth:  # an input no output depends on: Keras keeps it, at depth 0
            depth[i.name] = 0
            index[i.name] = -1
    order = tuple(sorted(depth, key=lambda n: (-depth[n], index[n])))
    del by_name
    return Layout(order, depth)


def connections(gl: GraphLayer) -> list[str]:
    """``name[0][i]`` for every tensor the layer is called on, as Keras's summary prints them."""
    return [f"{r.name}[0][{r.index or 0}]" for r in gl.refs()]


def is_chain(spec: GraphSpec, lay: Layout) -> bool:
    """Keras's summary test for a "sequential-like" functional model (one node per depth,
    each called on at most one tensor): Keras then prints the Sequential table."""
    by_name = {gl.name: gl for gl in spec.layers}
    per_depth: dict[int, int] = {}
    for name in lay.order:
        d = lay.depth[name]
        per_depth[d] = per_depth.get(d, 0) + 1
        gl = by_name.get(name)
        if gl is not None and len(gl.refs()) > 1:
            return False
    return all(v == 1 for v in per_depth.values())


__all__ = ["GraphSpec", "GraphLayer", "GraphInput", "Ref", "Layout", "parse_graph", "walk", "layout",
           "connections", "is_chain", "Outputs"]
