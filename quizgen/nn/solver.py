"""Analytic output shapes and parameter counts, with worked derivations.

Pure Python on purpose: the generator solves thousands of specs per second and
the grader needs the truth without paying TensorFlow's start-up. The rules live
with their layer families (``layers/``); this module walks a model through them:
a Sequential spec layer after layer, a graph spec in call order (``graph.py``),
and reports the rows ``model.summary()`` prints. Every rule is what Keras 3 does
(tests/test_solver_vs_keras.py and tests/test_graph_vs_keras.py hold it to that),
including the shape checks Keras makes when it builds a layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import SpecError
from .derivation import Derivation, evaluate
from . import layers as _layers
from .layers import KERAS_NAMES, KINDS, apply
from .layers.base import Fail, Outputs, is_multi
from .spec import LayerSpec, Shape, Spec


@dataclass(slots=True)
class LayerResult:
    """One row of ``model.summary()`` plus how its Param # is derived.

    ``output_shape`` is an ``Outputs`` (a tuple of shapes) for a layer that returns
    several tensors; ``inbound`` the tensors a graph layer is called on (graph.Ref:
    name and output index); ``layer`` the validated layer it was solved from (what a
    slip that redoes the shape rule with one argument changed needs)."""

    index: int
    type: str
    name: str
    output_shape: Any
    params: int
    trainable: int
    non_trainable: int
    derivation: Derivation
    inbound: tuple[Any, ...] = ()
    layer: Any = field(default=None, repr=False, compare=False)

    def connected_to(self) -> list[str]:
        """What it is called on, as Keras's summary prints it: ``enc_lstm[0][1]``."""
        return [f"{name}[0][{index or 0}]" for name, index in self.inbound]


@dataclass(slots=True)
class GraphLayout:
    """What the functional summary needs beyond the rows: the inputs, and the order in
    which ``model.layers`` lists inputs and layers; ``chain`` when Keras would print
    the model as "sequential-like" (no Connected to column)."""

    order: tuple[str, ...]
    inputs: dict[str, Shape]
    depth: dict[str, int]
    rows: tuple["LayerResult", ...]

    @property
    def chain(self) -> bool:
        # summary_utils: one node per depth, each called on at most one tensor
        if any(len(r.inbound) > 1 for r in self.rows):
            return False
        return len(set(self.depth.values())) == len(self.depth)


@dataclass(slots=True)
class Solution:
    """Every layer's row, and the totals ``model.summary()`` prints under them."""

    input_shape: Shape
    layers: tuple[LayerResult, ...]
    total_params: int = 0
    trainable_params: int = 0
    non_trainable_params: int = 0
    graph: GraphLayout | None = field(default=None)

    @property
    def output_shape(self) -> Any:
        return self.layers[-1].output_shape

    def to_json(self, lang: str = "ko") -> dict[str, Any]:
        return {
            "layers": [
                {
                    "type": r.type, "name": r.name, "output_shape": shape_json(r.output_shape),
                    "params": r.params, "trainable": r.trainable, "non_trainable": r.non_trainable,
                    "derivation": r.derivation.to_json(lang),
                    **({"connected_to": r.connected_to()} if self.graph is not None else {}),
                }
                for r in self.layers
            ],
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
        }


def clear_cache() -> None:
    """Forget every remembered result: parsed layers (Sequential and graph) and layer rules."""
    from . import graph, spec

    _layers.clear_cache()
    spec._PARSED.clear()
    graph._PARSED.clear()


def shape_json(shape: Any) -> list[Any]:
    """A shape as a JSON list, or a list of them for a layer that returns several tensors."""
    if is_multi(shape):
        return [list(s) for s in shape]
    return list(shape)


def solve(spec: Any) -> Solution:
    """Output shape and parameter counts of every layer, as Keras 3 reports them."""
    if type(spec) is not Spec:
        return _solve_graph(spec)
    shape = spec.input_shape
    rows = []
    counts: dict[str, int] = {}
    for index, layer in enumerate(spec.layers, start=1):
        try:
            if layer.type in _NOT_SEQUENTIAL:
                raise Fail(_not_sequential(layer.type))
            shape, deriv = apply(layer, shape)
            if type(shape) is Outputs:
                raise Fail(f"it returns {len(shape)} tensors ({_what_multi(layer)}), which a Sequential "
                           f"model cannot pass on; use a graph spec (\"inputs\", \"outputs\")")
        except Fail as exc:
            raise SpecError(str(exc), index, _where(layer, exc)) from None
        total = deriv.total
        nt = 0 if deriv.non_trainable is None else evaluate(deriv.non_trainable)
        base = KERAS_NAMES[layer.type]
        seen = counts.get(base, 0)
        counts[base] = seen + 1
        rows.append(LayerResult(index, layer.type, base if not seen else f"{base}_{seen}",
                                shape, total, total - nt, nt, deriv, (), layer))
    trainable = sum(r.trainable for r in rows)
    non_trainable = sum(r.non_trainable for r in rows)
    return Solution(spec.input_shape, tuple(rows), trainable + non_trainable, trainable, non_trainable)


# Layers called on a list or on several tensors (merge layers, attention): no Sequential step.
_NOT_SEQUENTIAL = frozenset(t for t, k in KINDS.items() if k.call.list_input or k.call.required > 1)


def _not_sequential(layer_type: str) -> str:
    if KINDS[layer_type].call.list_input:
        return (f"{layer_type} is called on a list of tensors, so it cannot be one step of a Sequential model; "
                f"use a graph spec (\"inputs\", \"outputs\")")
    return (f"{layer_type} is called on several tensors, so it cannot be one step of a Sequential model; "
            f"use a graph spec (\"inputs\", \"outputs\")")


def _what_multi(layer: LayerSpec) -> str:
    inner = layer.inner if layer.type == "Bidirectional" else layer
    if inner is not None and inner.args.get("return_state"):
        return "return_state=true: the output, then the states"
    return "merge_mode=null: the forward and the backward output"


def _where(layer: LayerSpec, exc: Fail) -> str:
    inner = getattr(exc, "inner", None)
    return f"{layer.type} > {inner}" if inner else layer.type


def _solve_graph(spec: Any) -> Solution:
    from .graph import layout, walk

    tensors, derivs = walk(spec)
    lay = layout(spec)
    by_name = {gl.name: gl for gl in spec.layers}
    rows = []
    trainable = non_trainable = 0
    for name in lay.order:
        gl = by_name.get(name)
        if gl is None:
            continue
        deriv = derivs[name]
        total = deriv.total
        nt = 0 if deriv.non_trainable is None else evaluate(deriv.non_trainable)
        trainable += total - nt
        non_trainable += nt
        rows.append(LayerResult(len(rows) + 1, gl.layer.type, name, tensors[name], total, total - nt, nt, deriv,
                                gl.inbound, gl.layer))
    rows_t = tuple(rows)
    inputs = {i.name: i.shape for i in spec.inputs}
    return Solution(spec.inputs[0].shape, rows_t, trainable + non_trainable, trainable, non_trainable,
                    GraphLayout(lay.order, inputs, lay.depth, rows_t))


def solve_raw(raw: object) -> Solution:
    """Parse and solve a spec object in one step (raises SpecError)."""
    from .spec import parse_spec

    return solve(parse_spec(raw))


def solve_generated(raw: dict[str, Any]) -> Solution:
    """Solve a spec that quizgen's generator built itself for the first eight kinds (see
    spec.spec_from_generator): arguments already in their canonical form. The later kinds
    (questions/zoo.py) write arguments as code does (``kernel_size=3``) and use solve_raw."""
    from .spec import spec_from_generator

    return solve(spec_from_generator(raw))


def seed_weight_shapes(timesteps: int, input_dim: int, hidden_units: int) -> dict[str, tuple[int, ...]]:
    """Shapes in the seed's numpy RNN (In[7]–In[10]); Keras's kernel is W_x transposed."""
    return {
        "inputs": (timesteps, input_dim),
        "W_x": (hidden_units, input_dim),
        "W_h": (hidden_units, hidden_units),
        "b": (hidden_units,),
        "hidden_state_t": (hidden_units,),
        "total_hidden_states": (timesteps, hidden_units),
        "keras_kernel": (input_dim, hidden_units),
    }
