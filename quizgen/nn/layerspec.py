"""One layer of a spec: its Keras class and validated constructor arguments.

Shared by Sequential specs (``spec.py``) and graph specs (``graph.py``): each layer
object is checked against its family's argument table (``layers/``), the way Keras 3's
constructor would check it, and kept as a ``LayerSpec`` value.
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import SpecError
from .layers import KINDS, LAYER_ARGS, REQUIRED_ARGS
from .layers.base import short as _short

# Keras 2 arguments that Keras 3 dropped: named so the message can say what to do instead.
_KERAS2_ONLY = {
    "batch_input_shape": 'Keras 3 no longer accepts batch_input_shape on a layer; '
    'put it in the spec\'s "input": {"batch_shape": [...]}',
    "input_length": "input_length is only an Embedding argument",
    "batch_size": 'Keras 3 no longer accepts batch_size on a layer; use "input": {"batch_shape": [...]}',
}


@dataclass(slots=True)
class LayerSpec:
    """One validated layer: its Keras class name and the arguments given for it."""

    type: str
    args: Mapping[str, Any] = field(default_factory=dict)
    inner: LayerSpec | None = None
    _key: tuple[Any, ...] | None = field(default=None, repr=False, compare=False)
    _token: int | None = field(default=None, repr=False, compare=False)

    def get(self, name: str) -> Any:
        """The argument as given, or Keras's default for it."""
        if name in self.args:
            return self.args[name]
        return LAYER_ARGS[self.type][name]

    def key(self) -> tuple[Any, ...]:
        """A hashable identity of the layer's configuration (TypeError if an argument is unhashable)."""
        key = self._key
        if key is None:
            key = self._key = (self.type, tuple(self.args.items()),
                               None if self.inner is None else self.inner.key())
        return key

    def token(self) -> int:
        """A number that stands for key(): equal configurations, equal numbers (TypeError if an
        argument is unhashable). The solver's memo is keyed by it, as hashing the nested key
        on every lookup was a tenth of solving."""
        token = self._token
        if token is None:
            key = self.key()
            token = _TOKENS.get(key)
            if token is None:
                if len(_TOKENS) >= 100_000:
                    _TOKENS.clear()  # later equal keys get new numbers; a number is never reused
                token = _TOKENS[key] = next(_NEXT_TOKEN)
            self._token = token
        return token


_TOKENS: dict[tuple[Any, ...], int] = {}
_NEXT_TOKEN = itertools.count()


def layer_to_json(layer: LayerSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"type": layer.type}
    for key, value in layer.args.items():
        if key == "model" and layer.type in NESTED_TYPES:  # a model used as a layer: its own spec, inline
            out.update(value.to_json())
            continue
        out[key] = list(value) if isinstance(value, tuple) else value
    if layer.inner is not None:
        out["layer"] = layer_to_json(layer.inner)
    return out


# ---------------------------------------------------------------- parsing

# Models used as layers (layers/models.py): their entry is a whole spec. nn/spec.py installs
# PARSE_MODEL (it parses specs, and imports this module).
NESTED_TYPES = frozenset({"Sequential", "Functional"})
PARSE_MODEL: Any = None


def _parse_nested(obj: dict[str, Any], index: int | str, layer_type: str, skip: frozenset[str]) -> LayerSpec:
    own = {k: v for k, v in obj.items() if k not in skip and k not in ("type", "name", "trainable")}
    graph = layer_type == "Functional"
    if graph != ("inputs" in own):
        want = '"inputs", "layers" and "outputs"' if graph else '"layers" (and an "input" if it has one)'
        raise SpecError(f"a {layer_type} used as a layer is written as its own spec: {want}", index, layer_type)
    if PARSE_MODEL is None:  # nn.spec installs it when imported (a caller may have parsed graphs alone)
        importlib.import_module("quizgen.nn.spec")
    try:
        model = PARSE_MODEL(own, nested=True)
    except SpecError as exc:
        raise SpecError(f"inside it: {exc.message}", index, layer_type) from None
    args: dict[str, Any] = {"model": model}
    for key in ("name", "trainable"):
        if key in obj and key not in skip:
            value = obj[key]
            if key == "trainable" and type(value) is not bool or key == "name" and type(value) is not str:
                raise SpecError(f"{key}: expected {'true or false' if key == 'trainable' else 'a string'}, "
                                f"got {_short(value)}", index, layer_type)
            args[key] = value
    return LayerSpec(layer_type, args)

# Parsed layers by content: textbook models repeat the same layers constantly, and a
# LayerSpec is a value (never mutated once parsed), so specs may share one. The key
# holds each value's type (1, 1.0 and True are equal in Python but not to Keras); a
# layer with a list or object argument is simply not remembered.
_PARSED: dict[tuple[Any, ...], LayerSpec] = {}
_PARSED_LIMIT = 50_000


def parse_layer(obj: Any, index: int | str, inside: str | None = None, skip: frozenset[str] = frozenset()) -> LayerSpec:
    """Validate one layer object's constructor arguments; ``index`` says where it is (its
    1-based position in a Sequential model, or its quoted name in a graph). Keys in
    ``skip`` are not constructor arguments (a graph layer's name and call)."""
    if inside is not None or type(obj) is not dict:
        return _parse_layer(obj, index, inside, skip)
    key = tuple([(k, v.__class__, v) for k, v in obj.items() if k not in skip])
    try:
        hit = _PARSED.get(key)
    except TypeError:  # a list or object argument
        return _parse_layer(obj, index, inside, skip)
    if hit is None:
        hit = _parse_layer(obj, index, inside, skip)
        if len(_PARSED) >= _PARSED_LIMIT:
            _PARSED.clear()
        _PARSED[key] = hit
    return hit


def _parse_layer(obj: Any, index: int | str, inside: str | None, skip: frozenset[str]) -> LayerSpec:
    if not isinstance(obj, dict):
        raise SpecError(f"expected a layer object like {{\"type\": \"Dense\", ...}}, got {_short(obj)}", index)
    layer_type = obj.get("type")
    if not isinstance(layer_type, str):
        raise SpecError('a layer needs a "type" naming its Keras class, e.g. "SimpleRNN"', index)
    if layer_type in NESTED_TYPES:
        return _parse_nested(obj, index, layer_type, skip)
    where_type = f"{inside} > {layer_type}" if inside else layer_type
    kind = KINDS.get(layer_type)
    if kind is None:
        supported = ", ".join(sorted(LAYER_ARGS))
        raise SpecError(f"unknown layer type {layer_type!r} (quizgen knows {supported})", index, where_type)
    known = kind.checks
    args: dict[str, Any] = {}
    inner = None
    for name, value in obj.items():
        if name == "type" or name in skip:
            continue
        if name not in known:
            hint = _KERAS2_ONLY.get(name)
            if hint is None and name in ("call", "call_kwargs"):
                hint = f"{name!r} belongs to a graph spec (one with \"inputs\"), not a Sequential one"
            raise SpecError(
                hint or f"unrecognized keyword argument {name!r} (not a Keras 3 {layer_type} argument)",
                index,
                where_type,
            )
        if name == "layer":
            inner = _parse_layer(value, index, where_type, frozenset())
            continue
        check = known[name]
        try:
            args[name] = check(value) if check is not None else value
        except ValueError as exc:
            raise SpecError(f"{name}: {exc}", index, where_type) from None
    for name in REQUIRED_ARGS[layer_type]:
        if name not in obj:
            raise SpecError(f"missing required argument {name!r}", index, where_type)
    layer = LayerSpec(layer_type, args, inner)
    if kind.validate is not None:
        reason = kind.validate(layer)
        if reason is not None:
            raise SpecError(reason, index, where_type)
    return layer


def model_trainable(obj: dict[str, Any]) -> bool:
    """A spec's top-level ``"trainable"`` (``model.trainable = False`` freezes every layer)."""
    value = obj.get("trainable", True)
    if type(value) is not bool:
        raise SpecError(f'"trainable" must be true or false, got {_short(value)}')
    return value
