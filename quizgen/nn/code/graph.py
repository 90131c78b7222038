"""Specs of the models the code reader followed: a functional model traced from its outputs back
to its inputs, a Sequential model's layers, and the models used as layers inside them.

Layers are listed in the order they were called (a valid order for a graph spec); the solver
puts them in the order of Keras's ``model.layers`` (nn/graph.py: Keras's map_graph over every
node, masks included). A layer called twice in one model is one layer with two calls: its
later calls become ``{"call_of": name, ...}`` entries, referred to as ``name@1``. Specs are made
after the whole code is read, from what the layers are then (``layer.trainable = False``
written after the model is built freezes it there too, as in Keras).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from ...errors import CodeParseError, SpecError
from .keras_names import DROPPED_CALL_ARGS, TENSOR_CALL_ARGS, call_params, primary_call_args, snake_case
from .values import FunctionalModel, InputNode, Layer, Node, SequentialModel, Tensor


def functional_spec(model: FunctionalModel, where: Callable[[int], str]) -> dict[str, Any]:
    """The graph spec of ``Model(inputs, outputs)`` built at ``model.line``."""
    line = model.line

    def fail(text: str) -> CodeParseError:
        return CodeParseError(f"{where(line)}: {text}")

    input_nodes: list[Any] = [t.node for t in model.inputs]
    if len(set(map(id, input_nodes))) != len(input_nodes):
        raise fail("the same Input is given twice in the model's inputs")
    nodes = _nodes_of(model.outputs, input_nodes)
    for node in nodes:
        if isinstance(node, InputNode) and node not in input_nodes:
            raise fail(f"the model's outputs depend on the Input at {where(node.line)}, which is not "
                       "among the model's inputs (Keras: graph disconnected)")
    calls = sorted([n for n in nodes if isinstance(n, Node)], key=lambda n: n.seq)
    owners: list[Any] = []
    for node in calls:
        if not any(o is node.layer for o in owners):
            owners.append(node.layer)
    layer_names = [o.name for o in owners]
    input_names = _input_names(input_nodes, set(layer_names))
    counts = Counter(layer_names + list(input_names.values()))
    duplicate = next((name for name, k in counts.items() if k > 1), None)
    if duplicate is not None:
        raise fail(f'the name "{duplicate}" is used {counts[duplicate]} times in the model; '
                   "Keras requires every layer name to be unique")
    call_index: dict[int, int] = {}  # id(node) -> its place among its layer's calls in this model
    seen_calls: Counter[int] = Counter()
    for node in calls:
        call_index[id(node)] = seen_calls[id(node.layer)]
        seen_calls[id(node.layer)] += 1

    def ref(t: Tensor) -> str:
        if isinstance(t.node, InputNode):
            return input_names[id(t.node)]
        k = call_index[id(t.node)]
        base = t.node.layer.name if k == 0 else f"{t.node.layer.name}@{k}"
        # a layer that returns several tensors is always referred to with the index (nn.graph's rule)
        return base if t.node.outputs == 1 else f"{base}:{t.index}"

    entries = [_call_entry(node, ref, where) if call_index[id(node)] else _layer_entry(node, ref, where)
               for node in calls]
    spec: dict[str, Any] = {
        "inputs": [{"name": input_names[id(n)], n.key: n.dims} for n in input_nodes],
        "layers": entries,
        "outputs": [ref(t) for t in model.outputs],
    }
    if not model.trainable:
        spec["trainable"] = False
    return _in_keras_order(spec)


def _in_keras_order(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with its layers in model.layers' order (the solver's: Keras's map_graph, masks
    included), a valid order too (a layer is always deeper than what it is called on), so the
    spec reads like Keras's summary. A spec with a shared layer's later calls, or one the solver
    refuses, keeps the order of the calls."""
    from ..solver import solve_raw

    if any("call_of" in entry for entry in spec["layers"]):
        return spec
    try:
        order = solve_raw(spec).graph.order  # type: ignore[union-attr]
    except SpecError:
        return spec
    position = {name: i for i, name in enumerate(order)}
    layers = sorted(spec["layers"], key=lambda entry: position.get(entry["name"], len(position)))
    return {**spec, "layers": layers}


def sequential_spec(model: SequentialModel, where: Callable[[int], str], input_shape: Any = None) -> dict[str, Any]:
    """A Sequential model's spec: its input (``input_shape``: the one it was first called on, when
    it was built that way) and its layers, models used as layers written inline."""
    spec: dict[str, Any] = {}
    if model.input is not None:
        spec["input"] = model.input
    elif input_shape is not None:
        spec["input"] = input_shape
    fresh: Counter[str] = Counter()  # the names the solver gives a spec's layers that have none
    layers = []
    for item in model.layers:
        if not isinstance(item, Layer):
            layers.append(_nested_entry(item, where))
            continue
        base = snake_case(item.type)
        guess = base if not fresh[base] else f"{base}_{fresh[base]}"
        fresh[base] += 1
        # a layer's name is written when it is not the one the solver would give it (a file that
        # builds several models names their layers dense_3, dense_4..., as Keras's summary shows)
        layers.append(layer_object(item, named=item.name != guess))
    spec["layers"] = layers
    if not model.trainable:
        spec["trainable"] = False
    return spec


def _nested_entry(model: Any, where: Callable[[int], str]) -> dict[str, Any]:
    """A model used as a layer: its type, its name if given, and its own spec inline."""
    if isinstance(model, SequentialModel):
        if model.refused:
            raise CodeParseError(model.refused)
        return {"type": "Sequential", "name": model.name, **sequential_spec(model, where)}
    if model.refused:
        raise CodeParseError(model.refused)
    return {"type": "Functional", "name": model.name, **functional_spec(model, where)}


def _nodes_of(outputs: list[Tensor], stop: list[Any]) -> list[Any]:
    """Every node the outputs depend on (layer calls and Inputs), each once."""
    found: dict[int, Any] = {}
    stack = [t.node for t in outputs]
    while stack:
        node = stack.pop()
        if id(node) in found:
            continue
        found[id(node)] = node
        if isinstance(node, Node):
            stack.extend(t.node for t in node.keras_parents)
    return list(found.values())


def _input_names(input_nodes: list[Any], layer_names: set[str]) -> dict[int, str]:
    """Each Input's name: name= if given, else its variable's name unless a layer or
    another Input already has that name, in which case Keras's own (input_layer_1...)."""
    names: dict[int, str] = {}
    taken = set(layer_names) | {n.name for n in input_nodes if n.name}
    for node in input_nodes:
        if node.name:
            names[id(node)] = node.name
        elif node.var_name and node.var_name not in taken:
            names[id(node)] = node.var_name
            taken.add(node.var_name)
        else:
            names[id(node)] = node.keras_name
    return names


def _arguments(node: Node, ref: Callable[[Tensor], str]) -> tuple[list[Any], dict[str, Any]]:
    """A call's "call" and "call_kwargs", tensors as references."""
    layer = node.layer

    def refs(value: Any) -> Any:
        if isinstance(value, Tensor):
            return ref(value)
        return [refs(v) for v in value]

    layer_type = layer.type if isinstance(layer, Layer) else "Sequential"
    if isinstance(layer, FunctionalModel):  # called on ONE list of its inputs: model([a, b])
        given = refs(node.args["inputs"])
        return [given if isinstance(given, list) else [given]], {}
    if not isinstance(layer, Layer):
        return [refs(node.args["inputs"])], {}
    primary = primary_call_args(layer_type)
    call = [refs(node.args[p]) for p in primary if p in node.args]
    kwargs: dict[str, Any] = {}
    for param in call_params(layer_type):
        if param in primary or param not in node.args or param in DROPPED_CALL_ARGS:
            continue
        value = node.args[param]
        if param in TENSOR_CALL_ARGS:
            if value is None:
                continue
            value = refs(value)
            if param == "initial_state" and isinstance(value, str):
                value = [value]
        kwargs[param] = json_value(value)
    return call, kwargs


def _layer_entry(node: Node, ref: Callable[[Tensor], str], where: Callable[[int], str]) -> dict[str, Any]:
    layer = node.layer
    if isinstance(layer, Layer):
        entry: dict[str, Any] = {"name": layer.name, "type": layer.type}
        entry.update(layer_args_json(layer))
    else:  # a model called as a layer
        entry = _nested_entry(layer, where)
    call, kwargs = _arguments(node, ref)
    entry["call"] = call
    if kwargs:
        entry["call_kwargs"] = kwargs
    return entry


def _call_entry(node: Node, ref: Callable[[Tensor], str], where: Callable[[int], str]) -> dict[str, Any]:
    call, kwargs = _arguments(node, ref)
    entry: dict[str, Any] = {"call_of": node.layer.name, "call": call}
    if kwargs:
        entry["call_kwargs"] = kwargs
    return entry


def layer_args_json(layer: Layer, functional: bool = True) -> dict[str, Any]:
    """A layer's constructor arguments as spec JSON (nested layers as objects).

    In a functional model Keras 3 ignores the Keras 2 input_shape/input_dim/
    input_length arguments; a batch_input_shape it refuses, so it is kept for
    the spec validator to explain.
    """
    out: dict[str, Any] = {}
    for key, value in layer.args.items():
        out[key] = layer_object(value) if isinstance(value, Layer) else json_value(value)
    if functional and layer.keras2_input and layer.keras2_input[0] == "batch_input_shape":
        out["batch_input_shape"] = json_value(layer.keras2_input[2])
    return out


def layer_object(layer: Layer, named: bool = False) -> dict[str, Any]:
    """A layer as a spec's layer object: type, then its arguments; its name when given, or always
    (``named``: a Sequential model's layers, which Keras names in the code's session)."""
    obj: dict[str, Any] = {"type": layer.type}
    if layer.name_given or named:
        obj["name"] = layer.name
    obj.update(layer_args_json(layer, functional=False))
    return obj


def json_value(value: Any) -> Any:
    """Tuples become lists, as JSON has no tuples."""
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    return value
