"""Read Keras model-building code (as in the textbook's cells) into specs.

The code is parsed with ``ast`` and interpreted symbolically; it is never run.
Only what a textbook cell does is understood: constants assigned to names,
``Sequential()`` / ``Sequential([...])``, ``model.add(Layer(...))`` and
``Input(...)``. Keras 2 arguments become the spec's input: ``input_shape``,
``batch_input_shape``, ``input_dim`` on a first non-Embedding layer, and an
Embedding's ``input_length``. A first Embedding without any of these takes
sequences of unknown length, as in the seed's 점검 퀴즈 answer.
"""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass, field
from typing import Any

from ..errors import CodeParseError
from ..files import MalformedJSON, decode_json
from .spec import LAYER_ARGS, POSITIONAL

_UNKNOWN = object()
_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.FloorDiv: operator.floordiv, ast.Div: operator.truediv, ast.Pow: operator.pow}


@dataclass
class _Layer:
    """A layer call found in the code, before it is placed in a model."""

    obj: dict[str, Any]
    input_key: str | None = None
    input_dims: list[Any] | None = None


@dataclass
class _Model:
    line: int
    layers: list[dict[str, Any]] = field(default_factory=list)
    input: dict[str, list[Any]] | None = None

    def add(self, layer: _Layer) -> None:
        if isinstance(layer.obj, dict) and layer.obj.get("type") == "Input":
            self.input = {layer.input_key or "shape": layer.input_dims or []}
            return
        if not self.layers and self.input is None and layer.input_key:
            self.input = {layer.input_key: layer.input_dims or []}
        self.layers.append(layer.obj)

    def to_spec(self) -> dict[str, Any]:
        inp = self.input
        if inp is None and self.layers and self.layers[0].get("type") == "Embedding":
            inp = {"shape": [None]}
        if inp is None:
            raise CodeParseError(
                f"line {self.line}: the model has no input shape; give the first layer "
                "input_shape=... or start with Input(shape=...)")
        return {"input": inp, "layers": self.layers}


@dataclass(frozen=True)
class CodeModel:
    """One model found in the code: the line it starts on and its spec."""

    line: int
    spec: dict[str, Any]


def models_from_code(source: str, filename: str = "<code>") -> list[CodeModel]:
    """Every Sequential model the code builds, in order, as spec objects."""
    if filename.endswith(".ipynb"):
        source = _notebook_source(source)
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as exc:
        raise CodeParseError(f"line {exc.lineno}: not valid Python ({exc.msg})") from None
    reader = _Reader()
    for stmt in tree.body:
        reader.statement(stmt)
    if not reader.models:
        raise CodeParseError("no Sequential model found in the code")
    return [CodeModel(m.line, m.to_spec()) for m in reader.models]


def _notebook_source(text: str) -> str:
    try:
        nb = decode_json(text)
        cells = [c for c in nb["cells"] if c.get("cell_type") == "code"]
        return "\n".join("".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in cells)
    except MalformedJSON as exc:
        raise CodeParseError(f"not a Jupyter notebook: malformed JSON ({exc})") from None
    except (KeyError, TypeError, AttributeError) as exc:
        raise CodeParseError(f"not a Jupyter notebook: {exc}") from None


def _callee(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


class _Reader:
    def __init__(self) -> None:
        self.env: dict[str, Any] = {}
        self.models: list[_Model] = []
        self.model_vars: dict[str, _Model] = {}

    def statement(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.Assign):
            # A model or layer being built must be read exactly; anything else
            # (numpy arrays, data loading) is simply not a constant.
            value = self.value(stmt.value, lenient=not self._builds_keras(stmt.value))
            for target in stmt.targets:
                self.assign(target, value)
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value:
            self.bind(stmt.target.id, self.value(stmt.value, lenient=True))
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            self.call_statement(stmt.value)

    @staticmethod
    def _builds_keras(node: ast.expr) -> bool:
        name = _callee(node.func) if isinstance(node, ast.Call) else None
        return name is not None and (name in LAYER_ARGS or name in ("Sequential", "Input", "InputLayer"))

    def assign(self, target: ast.expr, value: Any) -> None:
        if isinstance(target, ast.Name):
            self.bind(target.id, value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            parts = value if isinstance(value, list) and len(value) == len(target.elts) else None
            for i, elt in enumerate(target.elts):
                self.assign(elt, parts[i] if parts is not None else _UNKNOWN)

    def bind(self, name: str, value: Any) -> None:
        self.env[name] = value
        if isinstance(value, _Model):
            self.model_vars[name] = value
        else:
            self.model_vars.pop(name, None)

    def call_statement(self, call: ast.Call) -> None:
        func = call.func
        if (isinstance(func, ast.Attribute) and func.attr == "add" and isinstance(func.value, ast.Name)
                and func.value.id in self.model_vars):
            if len(call.args) != 1 or call.keywords:
                raise CodeParseError(f"line {call.lineno}: model.add takes exactly one layer")
            layer = self.value(call.args[0])
            if not isinstance(layer, _Layer):
                raise CodeParseError(f"line {call.lineno}: model.add needs a layer, e.g. model.add(Dense(1))")
            self.model_vars[func.value.id].add(layer)

    def value(self, node: ast.expr, lenient: bool = False) -> Any:
        """The constant a node stands for; ``lenient`` turns what cannot be read into _UNKNOWN."""
        try:
            return self._value(node)
        except CodeParseError:
            if lenient:
                return _UNKNOWN
            raise

    def _value(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in self.env:
                raise CodeParseError(f"line {node.lineno}: name {node.id!r} is not assigned a constant before it is used")
            value = self.env[node.id]
            if value is _UNKNOWN:
                raise CodeParseError(f"line {node.lineno}: {node.id!r} is not a constant quizgen can read")
            return value
        if isinstance(node, (ast.Tuple, ast.List)):
            return [self._value(e) for e in node.elts]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = self._value(node.operand)
            return -v if isinstance(node.op, ast.USub) else +v
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            left, right = self._value(node.left), self._value(node.right)
            if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (left, right)):
                raise CodeParseError(f"line {node.lineno}: arithmetic on non-numbers")
            if isinstance(node.op, ast.Pow) and abs(right) > 64:
                raise CodeParseError(f"line {node.lineno}: exponent too large")
            return _BINOPS[type(node.op)](left, right)
        if isinstance(node, ast.Call):
            return self.call_value(node)
        raise CodeParseError(f"line {node.lineno}: cannot read {ast.unparse(node)!r} without running the code")

    def call_value(self, call: ast.Call) -> Any:
        name = _callee(call.func)
        if name == "Sequential":
            model = _Model(call.lineno)
            items = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "layers"), None)
            if items is not None:
                layers = self._value(items)
                if not isinstance(layers, list) or not all(isinstance(x, _Layer) for x in layers):
                    raise CodeParseError(f"line {call.lineno}: Sequential([...]) takes a list of layers")
                for layer in layers:
                    model.add(layer)
            self.models.append(model)
            return model
        if name in ("Input", "InputLayer"):
            return self.input_call(call)
        if name in LAYER_ARGS:
            return self.layer_call(name, call)
        raise CodeParseError(f"line {call.lineno}: unsupported call {ast.unparse(call.func)}(...)")

    def input_call(self, call: ast.Call) -> _Layer:
        kw = {k.arg: self._value(k.value) for k in call.keywords if k.arg}
        shape = self._value(call.args[0]) if call.args else kw.get("shape", kw.get("input_shape"))
        batch_shape = kw.get("batch_shape", kw.get("batch_input_shape"))
        if batch_shape is not None:
            return _Layer({"type": "Input"}, "batch_shape", list(batch_shape))
        if shape is None:
            raise CodeParseError(f"line {call.lineno}: Input(...) needs a shape")
        shape = [shape] if isinstance(shape, int) else list(shape)
        if kw.get("batch_size") is not None:
            return _Layer({"type": "Input"}, "batch_shape", [kw["batch_size"], *shape])
        return _Layer({"type": "Input"}, "shape", shape)

    def layer_call(self, layer_type: str, call: ast.Call) -> _Layer:
        positional = POSITIONAL[layer_type]
        if len(call.args) > len(positional):
            raise CodeParseError(f"line {call.lineno}: too many positional arguments for {layer_type}")
        obj: dict[str, Any] = {"type": layer_type}
        for pname, arg in zip(positional, call.args):
            obj[pname] = self._value(arg)
        for kw in call.keywords:
            if kw.arg is None:
                raise CodeParseError(f"line {call.lineno}: **kwargs cannot be read without running the code")
            obj[kw.arg] = self._value(kw.value)
        for key in ("layer", "backward_layer"):
            if isinstance(obj.get(key), _Layer):
                obj[key] = obj[key].obj
        layer = _Layer(obj)
        # Keras 2 input arguments become the model's input.
        if "batch_input_shape" in obj:
            layer.input_key, layer.input_dims = "batch_shape", list(obj.pop("batch_input_shape"))
        elif obj.get("input_shape") is not None:
            layer.input_key, layer.input_dims = "shape", _dims(obj.pop("input_shape"))
        elif layer_type != "Embedding" and obj.get("input_dim") is not None:
            layer.input_key, layer.input_dims = "shape", [obj.pop("input_dim")]
        elif layer_type == "Embedding" and "input_length" in obj:
            length = obj.pop("input_length")
            layer.input_key, layer.input_dims = "shape", [length]
        return layer


def _dims(value: Any) -> list[Any]:
    return [value] if isinstance(value, int) else list(value)
