"""The values the code reader computes in place of running the code.

Constants stay Python values (int, float, str, bool, None, tuple, list, dict).
Everything Keras is symbolic: a layer object, the tensor a call returns, a model.
What cannot be known without running the code is an :class:`Unknown` carrying why;
it travels harmlessly through statements that do not build a model (data loading,
training loops) and becomes an error only where a model needs it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Unknown:
    """A value quizgen cannot know without running the code: where it arose and why."""

    line: int
    reason: str


@dataclass(frozen=True)
class Refused(Unknown):
    """What a statement quizgen could not read would have made: ``reason`` is that statement's
    whole refusal (its line named), which every model built from the value repeats."""


@dataclass(frozen=True)
class ModuleRef:
    """A module or an attribute path in one (``numpy``, ``tensorflow.nn.relu``) that is not a Keras name
    the reader knows."""

    path: str


@dataclass(frozen=True)
class KerasName:
    """A Keras class or function the reader understands (``Dense``, ``Model``, ``concatenate``)."""

    name: str


@dataclass(frozen=True)
class Builtin:
    """One of the pure Python builtins the reader evaluates (len, range, str...)."""

    name: str


@dataclass(eq=False)
class Layer:
    """A layer object: its Keras class, constructor arguments and name.

    ``args`` are constructor arguments as Keras 3 names them, without ``name``;
    ``keras2_input`` is a Keras 2 input argument (``input_shape=``...) that only a
    Sequential model's first layer turns into the model's input.
    """

    type: str
    args: dict[str, Any]
    name: str
    name_given: bool
    line: int
    keras2_input: tuple[str, str, list[Any]] | None = None  # (argument, spec input key, dims)
    built: bool = False  # called at least once (some layers make sub-layers then)
    nodes: list[Any] = field(default_factory=list)  # its calls, in order (a shared layer has several)
    dropped: tuple[str, ...] = ()  # arguments left out: values that change no shape or count


@dataclass(eq=False)
class InputNode:
    """``Input(...)``: the tensor's shape and the names it may go by in a spec."""

    line: int
    key: str  # "shape" or "batch_shape"
    dims: list[Any]
    name: str | None  # the name= given
    keras_name: str  # what Keras calls it without a name= (input_layer, input_layer_1...)
    var_name: str | None = None  # the variable it was first assigned to


@dataclass(eq=False)
class Node:
    """One call of a layer on tensors.

    ``args``/``kwargs`` are the call's arguments bound to the layer's call
    signature; ``keras_parents`` lists the tensors in the order Keras records them
    (positional arguments, then keyword arguments by name), which decides the order
    of ``model.layers``.
    """

    layer: Any  # a Layer, or a model called as a layer (SequentialModel, FunctionalModel)
    args: dict[str, Any]
    line: int
    outputs: int
    keras_parents: tuple[Tensor, ...]
    kwargs_given: bool = False  # called with keyword arguments (Keras then keeps no mask in the node)
    seq: int = 0  # when it was called, among all calls the reader saw


@dataclass(frozen=True, eq=False)
class Tensor:
    """Output ``index`` of a layer call, or the tensor of an Input."""

    node: Node | InputNode
    index: int = 0


@dataclass(eq=False)
class SequentialModel:
    """``Sequential()``: layers (and models used as layers) added in order, its input once known.
    Its spec is made when the whole code has been read, from what its layers are then (a layer
    frozen after the model was built is frozen in it, as in Keras)."""

    line: int
    layers: list[Any] = field(default_factory=list)
    input: dict[str, list[Any]] | None = None
    name: str | None = None
    trainable: bool = True
    nodes: list[Any] = field(default_factory=list)  # its calls as a layer of another model
    refused: str | None = None  # why it cannot be answered (an unreadable statement built it)
    trace: Any = None  # its own graph (input tensor, each layer called), made when code reads one
    keras2_input: tuple[str, list[Any]] | None = None  # Keras 2's Embedding input_length: as Keras 2 built it
    containers: list[Any] = field(default_factory=list)  # (a Sequential model it is a layer of, its position)


@dataclass(eq=False)
class FunctionalModel:
    """``Model(inputs, outputs)``: its tensors, read into a spec when the whole code has been read."""

    line: int
    inputs: list[Tensor]
    outputs: list[Tensor]
    name: str | None = None
    trainable: bool = True
    nodes: list[Any] = field(default_factory=list)
    refused: str | None = None


@dataclass(eq=False)
class RefusedModel:
    """A model an unreadable statement would have built."""

    line: int
    refused: str


@dataclass(frozen=True, eq=False)
class InputLayerRef:
    """A functional model's InputLayer, as ``model.layers[0]`` gives it."""

    node: InputNode


@dataclass(frozen=True, eq=False)
class Partial:
    """``functools.partial(keras.layers.Conv2D, kernel_size=3, ...)``: a layer class with arguments."""

    func: Any
    positional: tuple[Any, ...]
    keywords: dict[str, Any]


@dataclass(frozen=True, eq=False)
class UserFunction:
    """A ``def`` in the code, run by the reader when called (a block-building helper)."""

    node: ast.FunctionDef
    defaults: tuple[Any, ...]
    kw_defaults: dict[str, Any]
    scope: Any


@dataclass(frozen=True)
class SubclassDef:
    """A class deriving from a Keras Layer or Model: its code runs only in Keras."""

    name: str
    line: int
    kind: str  # "layers" or "models"
    base: str


@dataclass(frozen=True)
class OpaqueClass:
    """Any other class: instances are Unknown."""

    name: str


@dataclass(frozen=True, eq=False)
class BoundMethod:
    """``convs.append``, ``model.add``, ``'conv_{}'.format``: a method of a value the reader holds."""

    owner: Any
    name: str


@dataclass(frozen=True, eq=False)
class ModelMethod:
    """``model.summary``, ``model.fit``...: calling it builds nothing."""

    name: str


def leaves(value: Any) -> Iterator[Any]:
    """The values inside nested lists and tuples (a merge layer's inputs, a list of states)."""
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from leaves(item)
    else:
        yield value


def holds_keras(value: Any) -> bool:
    """Whether a value is, or contains, a tensor or a layer."""
    return any(isinstance(v, (Tensor, Layer)) for v in leaves(value))


def first_unknown(value: Any) -> Unknown | None:
    return next((v for v in leaves(value) if isinstance(v, Unknown)), None)
