"""Models used as layers: a Sequential or functional model called on tensors, as textbooks
call a ``data_augmentation = keras.Sequential([...])`` or an encoder inside a bigger model.

The nested model is a whole spec of its own (``{"type": "Sequential", "layers": [...]}``, with
an ``"input"`` or built on the shape it is first called on; ``{"type": "Functional",
"inputs": [...], "layers": [...], "outputs": [...]}``). Its row in the outer model is what
Keras's summary prints for it: the model's class, its output shape on this call, and the
parameters of all its layers (each weight once), trainable or not as its own layers are (or
all frozen: ``"trainable": false``). Solving it is the solver's job: ``nn/solver.py``
installs ``SOLVE`` when it is imported (the layer families stay below the solver).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ..derivation import Derivation
from .base import REQUIRED, CallSig, kind

# (nested spec, what the layer is called on) -> (output shape, derivation); set by nn/solver.py
SOLVE: Callable[[Any, Any], tuple[Any, Derivation]] | None = None


def nested(layer: Any, x: Any) -> tuple[Any, Derivation]:
    if SOLVE is None:  # the solver installs it when imported (a caller may have used the layers alone)
        importlib.import_module("quizgen.nn.solver")
    assert SOLVE is not None
    return SOLVE(layer.args["model"], x)


def _no_check(v: Any) -> Any:
    return v


# A functional model with several inputs is called on one list of them: model([a, b])
_FUNCTIONAL_CALL = CallSig(list_input=True, min_list=1)

KINDS = (
    # a model's call takes a mask (Keras fills it) but it supports no masking: its output has none
    kind("Sequential", {"model": REQUIRED}, nested, "sequential", (), base=("name", "trainable"),
         checks={"model": _no_check}, mask_arg=True),
    kind("Functional", {"model": REQUIRED}, nested, "functional", (), base=("name", "trainable"),
         checks={"model": _no_check}, call=_FUNCTIONAL_CALL, mask_arg=True),
)
