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
from json.encoder import encode_basestring as _enc  # what json.dumps(..., ensure_ascii=False) writes for a str
from typing import Any

from ..errors import SpecError
from . import layers as _layers
from .derivation import Derivation, add, evaluate, frozen
from .layers import KERAS_NAMES, KINDS, apply
from .layers import models as _models
from .layers.base import Fail, Outputs, is_multi
from .layerspec import LayerSpec
from .shapes import Shape, format_shape
from .spec import Spec


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
        """What it is called on, as Keras's summary prints it: ``enc_lstm[0][1]`` (``lstm[1][0]``
        for the output of a shared layer's second call)."""
        out = []
        for name, index in self.inbound:
            base, _, node = name.partition("@")
            out.append(f"{base}[{node or 0}][{index or 0}]")
        return out


@dataclass(slots=True)
class GraphLayout:
    """What the functional summary needs beyond the rows: the inputs, and the order in
    which ``model.layers`` lists inputs and layers; ``chain`` when Keras would print
    the model as "sequential-like" (no Connected to column)."""

    order: tuple[str, ...]
    inputs: dict[str, Shape]
    depth: dict[str, int]
    rows: tuple[LayerResult, ...]
    node_inputs: dict[str, int] | None = None  # with masks: each node's input tensors (graph.Layout.inputs)
    nodes: tuple[str, ...] = ()  # with masks: inputs, layers and mask operations ("#n"), as Keras's summary
    operations: dict[str, Any] | None = None  # with masks: each "#n" as a masks.Operation
    mask_inputs: dict[str, tuple[str, ...]] | None = None  # with masks: the masks a layer's node also takes
    shared: bool = False  # a layer is called more than once in the model
    spec: Any = None  # with masks: the graph spec and its tensors, to make the operations' shapes again
    tensors: Any = None

    def mask_operations(self) -> dict[str, Any]:
        """The mask operations in the model ("#n" -> masks.Operation), with this model's shapes
        (a remembered layout holds the operations of the first model of its structure)."""
        if self.operations is None:
            return {}
        from .masks import mask_graph

        made = mask_graph(self.spec, self.tensors).operations
        return {node: made[node] for node in self.operations}

    @property
    def chain(self) -> bool:
        # summary_utils: one node per depth, each called on at most one tensor (mask tensors
        # and mask operations included), no layer called twice
        if self.shared:
            return False
        if self.node_inputs is not None:
            if any(n > 1 for n in self.node_inputs.values()):
                return False
        elif any(len(r.inbound) > 1 for r in self.rows):
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

    def frozen_params(self) -> int:
        """Weights that only trainable=False made non-trainable (not BatchNormalization's moving
        statistics nor a Normalization's, which never train): what a student who ignores the
        freeze counts as trainable."""
        total = 0
        for row in self.layers:
            notes = row.derivation.notes
            if "frozen" not in notes or "normalization_stats" in notes:
                continue
            stats = 2 * row.derivation.symbol_values().get("c", 0) if "bn_stats" in notes else 0
            total += row.params - stats
        return total

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


    def to_json_text(self, lang: str = "ko") -> str:
        """Exactly ``json.dumps(self.to_json(lang), ensure_ascii=False)``, put together from
        pieces made once (each row's JSON is kept in its derivation, each shape's text here):
        ``solve --json`` prints one per spec, and building and encoding the dict was most
        of its time."""
        return self._json_line(lang, 0)  # type: ignore[return-value]

    def to_json_bytes(self, lang: str = "ko") -> bytes:
        """``to_json_text(lang)`` in UTF-8, from pieces encoded once (UnicodeEncodeError if a
        name holds a lone surrogate): what ``solve --json`` writes."""
        return self._json_line(lang, 1)  # type: ignore[return-value]

    def _json_line(self, lang: str, binary: int) -> str | bytes:
        graph = self.graph is not None
        rows = []
        for r in self.layers:
            hit: Any = r.derivation._rows
            if hit is not None:  # _row_json's cache lookup, inlined: once per row
                hit = hit.get(r.name)
            if (hit is None or hit[2] != lang or not (hit[0] is r.output_shape or hit[0] == r.output_shape)
                    or hit[1] != r.type or not (hit[3] is r.inbound or hit[3] == r.inbound)):
                hit = _row_json(r, lang, graph)
            row = hit[4][binary]
            if row is None:
                row = hit[4][0].encode()  # raises: a lone surrogate in a name
            rows.append(row)
        totals = (f'], "total_params": {self.total_params}, "trainable_params": {self.trainable_params}, '
                  f'"non_trainable_params": {self.non_trainable_params}}}')
        if binary:
            return b'{"layers": [' + b", ".join(rows) + totals.encode()
        return '{"layers": [' + ", ".join(rows) + totals


def _utf8(text: str) -> bytes | None:
    """UTF-8, or None for text with a lone surrogate (to_json_bytes then raises, encoding it again)."""
    try:
        return text.encode()
    except UnicodeEncodeError:
        return None


def _row_json(r: LayerResult, lang: str, graph: bool) -> tuple[Any, ...]:
    """A row's JSON as text and UTF-8, kept in its derivation under the layer's name with what
    it was made from. Every row of a layer on an input shares that derivation (the solver's
    memo), so only the name and the tensors it is called on tell such rows apart (a graph
    layer is always called on one at least, a Sequential row on none)."""
    d = r.derivation
    shape = r.output_shape
    text = (f'{{"type": {_enc(r.type)}, "name": {_enc(r.name)}, "output_shape": {_shape_text(shape)}, '
            f'"params": {r.params}, "trainable": {r.trainable}, "non_trainable": {r.non_trainable}, '
            f'"derivation": {d.to_json_text(lang)}')
    if graph:
        text += f', "connected_to": [{", ".join([_enc(c) for c in r.connected_to()])}]'
    text += "}"
    entry = (shape, r.type, lang, r.inbound, (text, _utf8(text)))
    if d._rows is None:
        d._rows = {}
    d._rows[r.name] = entry
    return entry


_SHAPE_TEXT: dict[Any, str] = {}


def _shape_text(shape: Any) -> str:
    """A shape (or several) as json.dumps writes shape_json(shape)."""
    text = _SHAPE_TEXT.get(shape)
    if text is None:
        if is_multi(shape):
            text = f'[{", ".join([_shape_text(tuple(s)) for s in shape])}]'
        else:
            text = f'[{", ".join(["null" if d is None else str(d) for d in shape])}]'
        if len(_SHAPE_TEXT) >= 50_000:
            _SHAPE_TEXT.clear()
        _SHAPE_TEXT[shape] = text
    return text


def clear_cache() -> None:
    """Forget every remembered result: parsed layers (Sequential and graph) and layer rules."""
    from . import graph, layerspec

    _layers.clear_cache()
    layerspec._PARSED.clear()
    graph._PARSED.clear()
    graph._LAYOUTS.clear()


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
    frozen_model = not spec.trainable
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
        if frozen_model:
            deriv = frozen(deriv)
        expr = deriv.expr  # deriv.total, inlined: once per row
        total = 0 if expr is None else expr if isinstance(expr, int) else expr.value
        nt = 0 if deriv.non_trainable is None else evaluate(deriv.non_trainable)
        name = layer.args.get("name")
        if name is None:
            base = KERAS_NAMES[layer.type]
            seen = counts.get(base, 0)
            counts[base] = seen + 1
            name = base if not seen else f"{base}_{seen}"
        rows.append(LayerResult(index, layer.type, name, shape, total, total - nt, nt, deriv, (), layer))
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

    tensors, solved = walk(spec)
    lay = layout(spec, tensors)
    layers = spec.layers
    rows: list[Any] = []
    trainable = non_trainable = 0
    frozen_model = not spec.trainable
    calls = lay.calls or {}
    last_call = lay.last_calls or {}
    for i in lay.rows:
        gl = layers[i]
        out, deriv = solved[i]
        inbound = gl.inbound
        if gl.name in last_call:
            out = solved[last_call[gl.name]][0]
        nodes = calls.get(gl.name)
        if nodes:  # a shared layer: the inputs of its calls in the model
            inbound = tuple([r for j in nodes for r in layers[j].inbound])
        if frozen_model:
            deriv = frozen(deriv)
        expr = deriv.expr  # deriv.total, inlined: once per row
        total = 0 if expr is None else expr if type(expr) is int else expr.value
        nt = 0 if deriv.non_trainable is None else evaluate(deriv.non_trainable)
        trainable += total - nt
        non_trainable += nt
        rows.append(LayerResult(len(rows) + 1, gl.layer.type, gl.name, out, total, total - nt, nt, deriv,
                                inbound, gl.layer))
    rows_t = tuple(rows)
    inputs = {i.name: i.shape for i in spec.inputs}
    return Solution(spec.inputs[0].shape, rows_t, trainable + non_trainable, trainable, non_trainable,
                    GraphLayout(lay.order, inputs, lay.depth, rows_t, lay.inputs, lay.nodes, lay.operations,
                                lay.mask_inputs, any(len(nodes) > 1 for nodes in calls.values()),
                                spec if lay.operations is not None else None,
                                tensors if lay.operations is not None else None))


def _nested(model: Any, x: Any) -> tuple[Any, Derivation]:
    """A model used as a layer (layers/models.py): its output on this call, and its parameters,
    which it made when it was built (on its Input, or on the shape it was first called on)."""
    try:
        if type(model) is Spec:
            if type(x) is not tuple or (x and type(x[0]) is tuple):
                raise Fail("a Sequential model is called on one tensor")
            if model.input_shape:
                _fits(model.input_shape, x, "its Input")
            built = solve(model) if model.input_shape else None
            called = solve(Spec(x, model.layers, x[0] is not None, model.trainable))
            out: Any = called.output_shape
        else:
            from .graph import GraphInput, GraphSpec, _resolve, walk

            xs = x if type(x) is tuple and x and type(x[0]) is tuple else (x,)
            if len(xs) != len(model.inputs):
                raise Fail(f"the model has {len(model.inputs)} input{'s' if len(model.inputs) > 1 else ''} and "
                           f"is called on {len(xs)}")
            for declared, shape in zip(model.inputs, xs):
                _fits(declared.shape, shape, f"its Input {declared.name!r}")
            built = solve(model)
            on_call = GraphSpec(tuple([GraphInput(i.name, shape, shape[0] is not None)
                                       for i, shape in zip(model.inputs, xs)]), model.layers, model.outputs,
                                model.name, model.trainable)
            tensors, _ = walk(on_call)
            outs = [_resolve(r, tensors) for r in model.outputs]
            out = outs[0] if len(outs) == 1 else Outputs(outs)
            called = built
    except SpecError as exc:
        raise Fail(f"inside it: {exc.message}") from None
    counted = built or called
    parts = [r.params for r in counted.layers if r.params]
    expr: Any = (parts[0] if len(parts) == 1 else add(*parts)) if parts else None
    nt = counted.non_trainable_params
    return out, Derivation("Sequential" if type(model) is Spec else "Functional", expr, nt or None,
                           notes=("nested_model",))


def _fits(declared: Shape, given: Shape, what: str) -> None:
    if len(declared) != len(given) or any(d is not None and g is not None and d != g
                                          for d, g in zip(declared, given)):
        raise Fail(f"it is called on {format_shape(given)}, which does not fit {what} {format_shape(declared)}")


_models.SOLVE = _nested  # the layer family of models used as layers solves them through this module


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
