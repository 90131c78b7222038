"""The operations Keras adds to a functional model for masks, which decide ``model.layers``' order.

A tensor from ``Embedding(mask_zero=True)`` or ``Masking`` carries a mask, itself a
tensor made by operations (``not_equal``, ``any``...) that are nodes of the model's
graph like any layer call (keras/src/layers/layer.py ``__call__`` and
``_set_mask_metadata``, each layer's ``compute_mask``). ``map_graph`` orders the
model's operations by depth over that whole graph, so a mask can move a layer up or
down in ``model.layers`` and ``summary()`` (a Concatenate of a masked and an
unmasked tensor adds five operations between its inputs and the next layer). This
module replays, for a graph spec, what Keras does with masks when the model is
built, and returns the graph's extra nodes:

- a layer makes a mask for its outputs only if it supports masking; what it makes is
  its ``compute_mask`` (``LayerKind.mask``): the input's mask as is ("keep"), none
  ("none"), or new operations on its inputs and their masks (Embedding, Masking, the
  RNNs, the merge layers, Concatenate, Attention);
- Keras fills a ``mask`` call argument from the input's mask (``LayerKind.mask_arg``),
  and the mask becomes one of the layer node's inputs only when the layer is called on
  one tensor and nothing else (``layer(x)``, no keyword arguments), as ``__call__``
  then records the very ``kwargs`` dict it filled.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .layers import KINDS
from .layers.base import Fail, Outputs
from .shapes import Shape, format_shape

MASK_SOURCES = frozenset({"Embedding", "Masking"})


class Mask(NamedTuple):
    """A mask tensor: the node that makes it (an operation "#n") and its shape."""

    node: str
    shape: Shape

    @property
    def rank(self) -> int:
        return len(self.shape)


class Operation(NamedTuple):
    """One mask operation as Keras's summary lists it: its name, class, output shape, inputs
    (node names: a layer's, an input's or another operation's "#n"), and its inputs as the
    summary's "Connected to" names them (``enc_lstm[0][1]``)."""

    name: str
    type: str
    shape: Shape
    parents: tuple[str, ...]
    connected: tuple[str, ...]


class MaskGraph(NamedTuple):
    """The nodes masks add: every mask operation (by node "#n", in the order Keras creates
    them), and the mask tensors a layer's node takes as inputs after its own (``extra``)."""

    operations: dict[str, Operation]
    extra: dict[str, tuple[str, ...]]


def mask_graph(spec: Any, tensors: dict[str, Any]) -> MaskGraph:
    """The mask operations of a walked graph spec (``tensors``: every tensor's shape(s) by name)."""
    ops: dict[str, Operation] = {}
    extra: dict[str, tuple[str, ...]] = {}
    uids: dict[str, int] = {}
    masks: dict[tuple[str, int | None], Mask | None] = {}

    def op(keras_op: str, shape: Shape, *inputs: Any) -> Mask:
        """A new operation on ``inputs``: Refs of layer outputs and inputs, or mask nodes "#n"."""
        # keras.src.utils.naming.auto_name: not_equal, not_equal_1... per name, in creation order
        node = f"#{len(ops)}"
        n = uids.get(keras_op, 0)
        uids[keras_op] = n + 1
        parents = tuple([i if type(i) is str else i[0] for i in inputs])
        connected = tuple([f"{ops[i].name}[0][0]" if type(i) is str else f"{i[0]}[0][{i[1] or 0}]" for i in inputs])
        ops[node] = Operation(keras_op if not n else f"{keras_op}_{n}", _CLASSES[keras_op], tuple(shape), parents,
                              connected)
        return Mask(node, tuple(shape))

    def mask_of(ref: Any) -> Mask | None:
        return masks.get((ref[0], ref[1]))

    def shape_of(ref: Any) -> Shape:
        value = tensors[ref[0]]
        return value[ref[1]] if type(value) is Outputs else value

    for gl in spec.layers:
        kind = KINDS[gl.layer.type]
        index = auto_index(gl.name, kind.keras_name)
        if index is not None and index >= uids.get(kind.keras_name, 0):
            uids[kind.keras_name] = index + 1  # named as Keras would have named it here: the counter moved
        first = gl.args[0]
        first_is_list = type(first) is tuple  # a list of Refs (a Ref is a tuple subclass)
        previous: Any = [mask_of(r) for r in first] if first_is_list else mask_of(first)
        tensor_args = sum(1 for a in gl.args if a is not None)
        if kind.mask_arg and tensor_args == 1 and not first_is_list and not gl.kwargs and previous is not None:
            extra[gl.name] = (previous.node,)
        outputs = _compute_mask(kind.mask, gl, previous, first, op, shape_of)
        value = tensors[gl.name]
        if type(value) is Outputs:
            flat = outputs if isinstance(outputs, list) else [outputs]
            for i in range(len(value)):
                masks[(gl.name, i)] = flat[i] if i < len(flat) else None
        else:
            masks[(gl.name, None)] = outputs[0] if isinstance(outputs, list) else outputs
    return MaskGraph(ops, extra)


_CLASSES = {"not_equal": "NotEqual", "any": "Any", "logical_or": "LogicalOr", "ones_like": "OnesLike",
            "zeros_like": "ZerosLike", "expand_dims": "ExpandDims", "concatenate": "Concatenate",
            "convert_to_tensor": "ConvertToTensor"}


def _compute_mask(how: str, gl: Any, previous: Any, first: Any, op: Any, shape_of: Any) -> Any:
    """The mask(s) a layer's outputs carry: its ``compute_mask`` replayed (Keras calls it only
    for a layer that supports masking), each operation with the shape Keras gives it."""
    layer = gl.layer
    if how == "drop" or how == "none":
        return None
    if how == "keep":
        return previous
    if how == "embedding":
        return op("not_equal", shape_of(first), first) if layer.get("mask_zero") else None
    if how == "masking":
        found = op("not_equal", shape_of(first), first)
        return op("any", found.shape[:-1], found.node)
    if how == "rnn":
        sequence = previous if layer.get("return_sequences") else None
        if layer.get("return_state"):
            return [sequence] + [None] * (2 if layer.type == "LSTM" else 1)
        return sequence
    if how == "bidirectional":
        inner = layer.inner
        kept = previous if inner.get("return_sequences") else None
        both: list[Any] = [kept, kept] if layer.get("merge_mode") is None else [kept]
        if inner.get("return_state"):
            both += [None] * (4 if inner.type == "LSTM" else 2)
        return both
    if how == "merge":
        if any(m is None for m in previous):
            return None
        result = previous[0]
        for m in previous[1:]:
            result = op("logical_or", broadcast(result.shape, m.shape), result.node, m.node)
        return result
    if how == "concatenate":
        if all(m is None for m in previous):
            return None
        parts: list[Mask] = []
        for ref, m in zip(first, previous):
            shape = shape_of(ref)
            if m is None:
                parts.append(op("ones_like", shape, ref))
            elif m.rank < len(shape):
                expanded = op("expand_dims", (*m.shape, 1), m.node)
                zeros = op("zeros_like", shape, ref)
                parts.append(op("logical_or", broadcast(expanded.shape, zeros.shape), expanded.node, zeros.node))
            else:
                parts.append(m)
        axis = layer.get("axis") % len(parts[0].shape)
        joined = list(parts[0].shape)
        for part in parts[1:]:
            joined[axis] = None if joined[axis] is None or part.shape[axis] is None else joined[axis] + part.shape[axis]
        joint = op("concatenate", tuple(joined), *[m.node for m in parts])
        return op("any", joint.shape[:-1], joint.node)  # any(concatenate(masks), axis=-1)
    if how == "attention":
        if previous is None or previous[0] is None:
            return None
        return op("convert_to_tensor", previous[0].shape, previous[0].node)
    raise ValueError(f"unknown mask behaviour {how!r}")


def auto_index(name: str, base: str) -> int | None:
    """k when ``name`` is the k-th name Keras's auto_name gives ``base`` (base, base_1, base_2...).

    Operations take auto names from the same counters as layers (a Concatenate layer and
    Concatenate's mask operation both count "concatenate"), so a spec's layer named as Keras
    would have named it is taken to have been: the counter moves past it, as it did in the
    code that built the model (keras_check builds such layers the same way)."""
    if name == base:
        return 0
    head, sep, tail = name.rpartition("_")
    if sep and head == base and tail.isdigit() and tail.isascii() and tail[0] != "0":
        return int(tail)
    return None


def broadcast(a: Shape, b: Shape) -> Shape:
    """keras/src/ops/operation_utils.broadcast_shapes (None meeting a size takes the size)."""
    n = max(len(a), len(b))
    pad: list[int | None] = [1] * n
    x = pad[:n - len(a)] + list(a)
    y = pad[:n - len(b)] + list(b)
    out: list[int | None] = []
    for i, j in zip(x, y):
        if i == 1:
            out.append(j)
        elif i is None:
            out.append(None if j == 1 else j)
        elif j == 1 or j is None or j == i:
            out.append(i)
        else:
            raise Fail(f"the masks of shapes {format_shape(a)} and {format_shape(b)} do not broadcast, so Keras "
                       f"cannot combine them")
    return tuple(out)
