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

from ...errors import CodeParseError
from .notebook import parse_notebook, parse_python
from .reader import Reader, sequential_spec
from .values import SequentialModel


@dataclass(frozen=True)
class CodeModel:
    """One model found in the code: the line it is built on, its spec, and that line named for a message."""

    line: int
    spec: dict[str, Any]
    location: str = ""


def models_from_code(source: str, filename: str = "<code>") -> list[CodeModel]:
    """Every model the code builds, in source order, as spec objects (CodeParseError if none can be read)."""
    program = parse_notebook(source, filename) if filename.endswith(".ipynb") else parse_python(source, filename)
    reader = Reader(program.where)
    try:
        for module in program.modules:
            reader.run(module.body)
        models = [CodeModel(m.line, sequential_spec(m, program.where) if isinstance(m, SequentialModel) else m.spec,
                            program.where(m.line))
                  for m in reader.models]
    except RecursionError:
        raise CodeParseError("the code is nested too deeply to read without running it") from None
    if not models:
        if reader.subclasses:
            sub = reader.subclasses[0]
            raise CodeParseError(f"{program.where(sub.line)}: subclassed {sub.kind} are not supported "
                                 f"({sub.name} subclasses {sub.base}); quizgen reads models built from Keras's layers")
        raise CodeParseError("no Keras model found in the code")
    return models
