"""A functional model's spec, traced from its outputs back to its inputs as Keras does.

The layers are listed in the order of Keras 3's ``model.layers`` (the order its
summary prints): ``keras/src/ops/function.py`` walks the graph depth-first from
each output, numbering operations as it first meets them, gives every node a depth
(its distance from the outputs) and sorts by depth, deepest first, ties in the
order met. Doing the same here makes the spec's table read like Keras's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from ...errors import CodeParseError
from .keras_names import DROPPED_CALL_ARGS, TENSOR_CALL_ARGS, call_params, primary_call_args
from .values import InputNode, Layer, Node, Tensor


def functional_spec(inputs: list[Tensor], outputs: list[Tensor], line: int,
                    where: Callable[[int], str]) -> dict[str, Any]:
    """The graph spec of ``Model(inputs, outputs)`` built at ``line``."""

    def fail(text: str) -> CodeParseError:
        return CodeParseError(f"{where(line)}: {text}")

    input_nodes: list[Any] = [t.node for t in inputs]  # InputNodes (checked below, against the graph)
    if len(set(map(id, input_nodes))) != len(input_nodes):
        raise fail("the same Input is given twice in the model's inputs")
    nodes = _nodes_in_keras_order(outputs)
    for node in nodes:
        if isinstance(node, InputNode) and node not in input_nodes:
            raise fail(f"the model's outputs depend on the Input at {where(node.line)}, which is not "
                       "among the model's inputs (Keras: graph disconnected)")
    calls = [n for n in nodes if isinstance(n, Node)]
    seen: dict[int, Node] = {}
    for node in calls:
        other = seen.setdefault(id(node.layer), node)
        if other is not node:
            raise fail(f"layer {node.layer.name!r} is called twice in this model ({where(other.line)} and "
                       f"{where(node.line)}); a layer shared within one model is not supported")
    layer_names = [n.layer.name for n in calls]
    input_names = _input_names(input_nodes, set(layer_names))
    counts = Counter(layer_names + list(input_names.values()))
    duplicate = next((name for name, k in counts.items() if k > 1), None)
    if duplicate is not None:
        raise fail(f'the name "{duplicate}" is used {counts[duplicate]} times in the model; '
                   "Keras requires every layer name to be unique")

    def ref(t: Tensor) -> str:
        if isinstance(t.node, InputNode):
            return input_names[id(t.node)]
        # a layer that returns several tensors is always referred to with the index (nn.graph's rule)
        return t.node.layer.name if t.node.outputs == 1 else f"{t.node.layer.name}:{t.index}"

    return {
        "inputs": [{"name": input_names[id(n)], n.key: n.dims} for n in input_nodes],
        "layers": [_layer_entry(node, ref) for node in calls],
        "outputs": [ref(t) for t in outputs],
    }


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


def _nodes_in_keras_order(outputs: list[Tensor]) -> list[Node | InputNode]:
    """keras.src.ops.function.map_graph's operation order, restricted to what the reader traces."""
    finished: set[int] = set()
    ordered: list[Node | InputNode] = []  # inputs first, as _build_map appends them
    first_met: dict[int, int] = {}
    for out in outputs:
        stack: list[tuple[Node | InputNode, int]] = [(out.node, 0)]
        while stack:
            node, i = stack.pop()
            if i == 0:
                if id(node) in finished:
                    continue
                first_met.setdefault(_operation(node), len(first_met))
            parents = node.keras_parents if isinstance(node, Node) else ()
            if i < len(parents):
                stack.append((node, i + 1))
                parent = parents[i].node
                if id(parent) not in finished:
                    stack.append((parent, 0))
                continue
            if id(node) not in finished:
                finished.add(id(node))
                ordered.append(node)
    # A node's depth: the longest path from it to an output. (Keras also takes the
    # maximum over a shared layer's nodes; a layer is called once per model here.)
    depth: dict[int, int] = {}
    for node in reversed(ordered):
        d = depth.setdefault(id(node), 0)
        keras_parents: Any = node.keras_parents if isinstance(node, Node) else ()
        for parent in keras_parents:
            depth[id(parent.node)] = max(d + 1, depth.get(id(parent.node), 0))
    return sorted(ordered, key=lambda n: (-depth[id(n)], first_met[_operation(n)]))


def _operation(node: Node | InputNode) -> int:
    return id(node.layer) if isinstance(node, Node) else id(node)


def _layer_entry(node: Node, ref: Callable[[Tensor], str]) -> dict[str, Any]:
    layer = node.layer
    entry: dict[str, Any] = {"name": layer.name, "type": layer.type}
    entry.update(layer_args_json(layer))

    def refs(value: Any) -> Any:
        if isinstance(value, Tensor):
            return ref(value)
        return [refs(v) for v in value]

    primary = primary_call_args(layer.type)
    entry["call"] = [refs(node.args[p]) for p in primary if p in node.args]
    kwargs: dict[str, Any] = {}
    for param in call_params(layer.type):
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


def layer_object(layer: Layer) -> dict[str, Any]:
    """A layer as the spec's nested-layer object: type, then its arguments (name only if given)."""
    obj: dict[str, Any] = {"type": layer.type}
    if layer.name_given:
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
