"""Architecture specs: the JSON contract for a Keras model.

A Sequential spec is ``{"input": {"shape"|"batch_shape": [...]}, "layers": [{"type": ..., **kwargs}]}``
with keyword arguments named exactly as the Keras 3 constructors name them. A
spec with an ``"inputs"`` key is a graph (functional model, see ``graph.py``).
Parsing validates every argument the way Keras 3 would, so that a spec quizgen
accepts can be built by Keras and a spec Keras rejects never reaches a student.
Each layer family keeps its own argument table and checks (``layers/``); checks
that depend on the incoming tensor shape (an RNN on 2-D input, a kernel longer
than the sequence) live in the families' rules, which the solver applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import files
from ..errors import SpecError
from . import layerspec
from .graph import parse_graph
from .layers import KINDS, LAYER_ARGS, REQUIRED_ARGS  # noqa: F401  (what questions/ reads from here)
from .layers.base import ACTIVATIONS, CONSTRAINTS, INITIALIZERS, MAX_DIM, REGULARIZERS, REQUIRED  # noqa: F401
from .layers.base import short as _short
from .layers.recurrent import MERGE_MODES, RNN_TYPES  # noqa: F401
from .layerspec import LayerSpec, layer_to_json, model_trainable, parse_layer
from .shapes import Shape


@dataclass(slots=True)
class Spec:
    """A validated model: the full input shape (batch dimension first) and its layers."""

    input_shape: Shape
    layers: tuple[LayerSpec, ...]
    batch_fixed: bool = False
    trainable: bool = True  # False: the whole model frozen (model.trainable = False)

    def to_json(self) -> dict[str, Any]:
        """The canonical JSON form (what parse_spec reads back to an equal Spec)."""
        out: dict[str, Any] = {}
        if self.input_shape:  # () for a nested Sequential built on its first call
            out["input"] = {"batch_shape": list(self.input_shape)} if self.batch_fixed else \
                {"shape": list(self.input_shape[1:])}
        out["layers"] = [layer_to_json(layer) for layer in self.layers]
        if not self.trainable:
            out["trainable"] = False
        return out


def parse_spec(obj: Any, nested: bool = False) -> Any:
    """Validate a spec object (already decoded from JSON): a Spec, or a GraphSpec when it has "inputs".
    ``nested``: a Sequential model used as a layer, which may have no "input" (Keras builds it
    on the shape it is first called on: its input_shape is then ())."""
    if not isinstance(obj, dict):
        raise SpecError(f'a spec is a JSON object with "input" and "layers", got {_short(obj)}')
    if "inputs" in obj:
        return parse_graph(obj)
    unknown = set(obj) - {"input", "layers", "name", "trainable"}
    if unknown:
        hint = ' (a graph spec has "inputs", "layers" and "outputs")' if "outputs" in unknown else ""
        raise SpecError(
            f'unknown top-level key(s) {", ".join(sorted(map(repr, unknown)))} (expected "input" and "layers"){hint}'
        )
    raw_layers = obj.get("layers")
    if not isinstance(raw_layers, list) or not raw_layers:
        raise SpecError('"layers" must be a non-empty list of layer objects')
    layers = tuple([parse_layer(raw, i) for i, raw in enumerate(raw_layers, start=1)])
    if nested and obj.get("input") is None and layers[0].args.get("input_shape") is None and (
            layers[0].type == "Embedding" or layers[0].args.get("input_dim") is None):
        return Spec((), layers, False, model_trainable(obj))
    input_shape, fixed = _parse_input(obj.get("input"), layers)
    return Spec(input_shape, layers, fixed, model_trainable(obj))



def _parse_input(inp: Any, layers: tuple[LayerSpec, ...]) -> tuple[Shape, bool]:
    if inp is None:
        first = layers[0]
        # Keras 2 style: the first layer carries input_shape / input_dim.
        if first.args.get("input_shape") is not None:
            return (None, *first.args["input_shape"]), False
        if first.type != "Embedding" and first.args.get("input_dim") is not None:
            return (None, first.args["input_dim"]), False
        raise SpecError('the spec needs an "input": {"shape": [...]} or {"batch_shape": [...]}')
    if not isinstance(inp, dict) or len(inp) != 1 or not ({"shape", "batch_shape"} & set(inp)):
        raise SpecError('"input" must be {"shape": [...]} or {"batch_shape": [...]}, exactly one of them')
    key, dims = next(iter(inp.items()))
    if not isinstance(dims, list) or not all(d is None or (type(d) is int and 0 <= d <= MAX_DIM) for d in dims):
        raise SpecError(f'input {key} must be a list of non-negative integers or null, got {_short(dims)}')
    if key == "batch_shape":
        if not dims:
            raise SpecError("input batch_shape needs at least the batch dimension")
        return tuple(dims), dims[0] is not None
    return (None, *dims), False


def loads(text: str) -> Any:
    """Parse a spec from JSON text, turning a JSON syntax error into a SpecError."""
    return parse_spec(decode_json(text))


def decode_json(text: str) -> Any:
    try:
        return files.decode_json(text)
    except files.MalformedJSON as exc:
        raise SpecError(f"malformed JSON: {exc}") from None


def spec_from_generator(obj: dict[str, Any]) -> Spec:
    """A Spec from a spec object quizgen's own generator just built, without re-checking
    every argument: the generator only ever writes valid arguments (tests/test_generator.py
    holds both paths to identical solutions), and checking them again was a sixth of the
    cost of a question. Shape rules still apply when the spec is solved."""
    (key, dims), = obj["input"].items()
    shape = tuple(dims) if key == "batch_shape" else (None, *dims)
    return Spec(shape, tuple([_generated_layer(layer) for layer in obj["layers"]]),
                key == "batch_shape" and dims[0] is not None)


def _generated_layer(obj: dict[str, Any]) -> LayerSpec:
    args = {k: v for k, v in obj.items() if k != "type" and k != "layer"}
    inner = obj.get("layer")
    return LayerSpec(obj["type"], args, None if inner is None else _generated_layer(inner))


layerspec.PARSE_MODEL = parse_spec  # a model used as a layer is a spec of its own (layers/models.py)
