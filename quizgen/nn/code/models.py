"""Read Keras model-building code (as in textbook cells and notebooks) into specs.

The code is parsed with ``ast`` and interpreted symbolically (``reader``); it
is never run. Sequential models (``Sequential()`` with ``model.add``,
``Sequential([...])``) become ``{"input", "layers"}`` specs as they always have,
Keras 2's ``input_shape`` / ``batch_input_shape`` / ``input_dim`` / an Embedding's
``input_length`` becoming the input; a first Embedding without any takes
sequences of unknown length, as in the seed's 점검 퀴즈 answer. Functional models
(``Input``, layers called on tensors, ``Model(inputs, outputs)``) become graph
specs ``{"inputs", "layers", "outputs"}`` with every layer named as Keras would
name it in a fresh session. Each model built is one spec, in source order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...errors import CodeParseError, SpecError
from .graph import functional_spec, sequential_spec
from .notebook import parse_notebook, parse_python
from .reader import Reader
from .values import FunctionalModel, SequentialModel, Tensor

# What a refusal adds: the file is the instructor's own, so running it is always an answer.
EXECUTE_HINT = "; rewrite or remove that line, or run the file in Keras with --execute"


@dataclass(frozen=True)
class CodeModel:
    """One model found in the code: the line it is built on, its spec (or why it has none), that
    line named for a message, and a note for the reader of the answer."""

    line: int
    spec: dict[str, Any] | None
    location: str = ""
    error: str | None = None
    note: str | None = None


def models_from_code(source: str, filename: str = "<code>") -> list[CodeModel]:
    """Every model the code builds, in source order, as spec objects; a model that cannot be read
    without running the code is listed with its reason (CodeParseError if the code has none)."""
    program = parse_notebook(source, filename) if filename.endswith(".ipynb") else parse_python(source, filename)
    reader = Reader(program.where)
    try:
        for module in program.modules:
            reader.run_module(module.body)
        models = [_code_model(m, reader, program.where) for m in reader.models]
    except RecursionError:
        raise CodeParseError("the code is nested too deeply to read without running it") from None
    if not models:
        if reader.failures:  # nothing built a model, but something could not be read: say the first
            raise CodeParseError(reader.failures[0] + EXECUTE_HINT)
        if reader.subclasses:
            sub = reader.subclasses[0]
            raise CodeParseError(f"{program.where(sub.line)}: subclassed {sub.kind} are not supported "
                                 f"({sub.name} subclasses {sub.base}); quizgen reads models built from Keras's "
                                 f"layers{EXECUTE_HINT}")
        raise CodeParseError("no Keras model found in the code")
    return models


def _code_model(model: Any, reader: Reader, where: Any) -> CodeModel:
    location = where(model.line)
    if model.refused is not None:  # a RefusedModel always is
        return CodeModel(model.line, None, location, str(model.refused) + EXECUTE_HINT)
    try:
        if isinstance(model, FunctionalModel):
            return CodeModel(model.line, functional_spec(model, where), location)
        return _sequential(model, reader, where, location)
    except CodeParseError as exc:
        return CodeModel(model.line, None, location, str(exc) + EXECUTE_HINT)


def _sequential(model: SequentialModel, reader: Reader, where: Any, location: str) -> CodeModel:
    """A Sequential model: with its input; built on the shape it was first called on as a layer; as
    Keras 2 built it from an Embedding's input_length (Keras 3 leaves it unbuilt: said in a note);
    or, starting with an Embedding and nothing else, on sequences of unknown length."""
    note = None
    shape = None
    if model.input is None and model.nodes:
        shape = _first_call_input(model.nodes[0], reader, where)
    elif model.input is None and model.containers:
        container, position = model.containers[0]
        shape = _input_in_container(container, position, reader, where)
    elif model.input is None and model.keras2_input is not None:
        key, dims = model.keras2_input
        shape = {key: dims}
        note = ("Keras 3 ignores input_length and leaves this model unbuilt until it sees data; quizgen answers "
                "as Keras 2 built it, on sequences of that length")
    elif model.input is None and model.layers and getattr(model.layers[0], "type", None) == "Embedding":
        shape = {"shape": [None]}
        note = "Keras 3 leaves this model unbuilt until it sees data; quizgen answers for sequences of any length"
    if model.input is None and shape is None:
        return CodeModel(model.line, None, location,
                         f"{location}: the model has no input shape, so Keras cannot build it (give the first "
                         "layer input_shape=..., start with Input(shape=...), or call model.build(...))")
    return CodeModel(model.line, sequential_spec(model, where, shape), location, note=note)


def _first_call_input(call: Any, reader: Reader, where: Any) -> dict[str, Any]:
    """The input a Sequential model was built on: the shape of the tensor it was first called on,
    found by walking the graph that makes that tensor."""
    from ..graph import Ref, _resolve, walk
    from ..spec import parse_spec

    tensor = call.keras_parents[0]
    probe = FunctionalModel(call.line, [Tensor(n) for n in _inputs_of(tensor)], [tensor], "probe")
    spec = functional_spec(probe, where)
    try:
        tensors, _ = walk(parse_spec(spec))
        ref = spec["outputs"][0]
        name, sep, index = ref.rpartition(":")
        out = _resolve(Ref(name, int(index)) if sep else Ref(ref), tensors)
    except SpecError as exc:
        raise CodeParseError(f"{where(call.line)}: {exc.message}") from None
    return {"batch_shape": list(out)} if out[0] is not None else {"shape": list(out[1:])}


def _input_in_container(container: SequentialModel, position: int, reader: Reader, where: Any) -> dict[str, Any] | None:
    """The input a Sequential model used as a layer of another one was built on: what comes out of
    the layer before it (or the container's own input)."""
    from ..solver import solve_raw

    outer = _sequential(container, reader, where, where(container.line))
    if outer.spec is None:
        return None
    if position == 0:
        return outer.spec["input"]
    try:
        out = solve_raw(outer.spec).layers[position - 1].output_shape
    except SpecError:
        return None
    return {"batch_shape": list(out)} if out[0] is not None else {"shape": list(out[1:])}


def _inputs_of(tensor: Tensor) -> list[Any]:
    from .values import InputNode, Node

    found: list[Any] = []
    stack = [tensor.node]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, InputNode):
            found.append(node)
        elif isinstance(node, Node):
            stack.extend(t.node for t in node.keras_parents)
    return sorted(found, key=lambda n: n.line)
