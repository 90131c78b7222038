"""Functional models built call by call, as textbook code builds them.

A question about a seq2seq translator or a transformer block shows students Keras
code, and must store the graph spec that code means. ``Functional`` records both
at once: every ``call`` adds one line of code and one spec layer, named as Keras
names layers in a fresh session (``lstm``, ``lstm_1``...: the order the code
creates them in, a wrapped layer before its wrapper, and the sub-layers Keras names
when a layer is first called, as MultiHeadAttention's dropout). ``finish`` lists the layers in the order of Keras's
``model.layers``, which is how the code reader (nn/code/) reads the code
back, so the code shown and the spec stored are the same model (the tests read
every generated code back).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..nn.code.keras_names import BUILD_TIME_NAMES
from ..nn.layers import KERAS_NAMES
from ..nn.solver import Solution, solve_raw
from .render import layer_call, py

Target = str | Sequence[str]


class Functional:
    """One model's code and graph spec, built together (see module docstring)."""

    def __init__(self, package: str = "tensorflow.keras"):
        self.package = package
        self.inputs: dict[str, dict[str, Any]] = {}
        self.layers: list[dict[str, Any]] = []  # in call order
        self.lines: list[str] = []
        self.types: list[str] = ["Input"]
        self._refs: dict[str, Any] = {}  # code variable -> tensor reference (a list for several)
        self.consts: dict[str, Any] = {}
        self._counts: dict[str, int] = {}
        self._model: tuple[list[str], list[str], str] | None = None

    def line(self, text: str = "") -> None:
        self.lines.append(text)

    def const(self, name: str, value: Any) -> None:
        """``name = value`` at the top of the code (constructors may then be written with it)."""
        self.consts[name] = value
        self.lines.append(f"{name} = {py(value)}")

    def input(self, var: str, dims: Sequence[int | None], batch: int | None = None, code: str | None = None) -> str:
        """``var = Input(shape=dims)`` (``batch_shape`` with a fixed batch size)."""
        if batch is None:
            entry: dict[str, Any] = {"name": var, "shape": list(dims)}
            text = f"Input(shape={py(list(dims), as_tuple=True)})"
        else:
            entry = {"name": var, "batch_shape": [batch, *dims]}
            text = f"Input(batch_shape={py([batch, *dims], as_tuple=True)})"
        self.inputs[var] = entry
        self._refs[var] = var
        self.line(f"{var} = {code or text}")
        return var

    def _name(self, layer_type: str) -> str:
        return self._auto(KERAS_NAMES[layer_type])

    def _auto(self, base: str) -> str:
        seen = self._counts.get(base, 0)
        self._counts[base] = seen + 1
        return base if not seen else f"{base}_{seen}"

    def _use(self, obj: dict[str, Any]) -> None:
        if obj["type"] not in self.types:
            self.types.append(obj["type"])
        if "layer" in obj:
            self._use(obj["layer"])

    def ref(self, var: Any) -> Any:
        """The tensor reference(s) a code variable (or a list of them) stands for."""
        if isinstance(var, (list, tuple)):
            return [self.ref(v) for v in var]
        return self._refs[var]

    def call(self, target: Target, obj: dict[str, Any], args: Sequence[Any], kwargs: dict[str, Any] | None = None,
             ctor: str | None = None, outputs: int = 1, code: bool = True) -> str:
        """``target = Layer(...)(args, **kwargs)``; returns the layer's name.

        ``target`` is a variable, or a list of variables to unpack several tensors into
        (``"_"`` for one not used); ``outputs`` says how many tensors a layer assigned to one
        variable returns. ``ctor`` writes the constructor as given (its keywords in the
        order of ``obj``'s arguments); ``code=False`` adds the layer to the spec only, for
        code the caller writes itself (a ``for`` loop)."""
        inner = obj.get("layer")
        while inner is not None:  # a wrapped layer is created (and named) first: Bidirectional(GRU(...))
            self._name(inner["type"])
            inner = inner.get("layer")
        name = self._name(obj["type"])
        for base in BUILD_TIME_NAMES.get(obj["type"], ()):  # sub-layers named when it is first called
            self._auto(base)
        entry: dict[str, Any] = {"name": name, **obj, "call": [self.ref(a) for a in args]}
        if kwargs:
            refs = {k: self.ref(v) for k, v in kwargs.items()}
            if isinstance(refs.get("initial_state"), str):
                refs["initial_state"] = [refs["initial_state"]]  # one state: the reader lists it, as Keras does
            entry["call_kwargs"] = refs
        self.layers.append(entry)
        self._use(obj)
        if isinstance(target, str):
            self._refs[target] = name if outputs == 1 else [f"{name}:{i}" for i in range(outputs)]
        else:
            for i, var in enumerate(target):
                if var != "_":
                    self._refs[var] = f"{name}:{i}"
        if code:
            written = [_code(a) for a in args] + [f"{k}={_code(v)}" for k, v in (kwargs or {}).items()]
            lhs = target if isinstance(target, str) else ", ".join(target)
            self.line(f"{lhs} = {ctor or layer_call(obj)}({', '.join(written)})")
        return name

    def alias(self, var: str, ref: Any) -> None:
        """A variable the caller's own code binds (``conv_blocks.append(conv)``...)."""
        self._refs[var] = ref

    def model(self, inputs: Sequence[str], outputs: Any, var: str = "model") -> None:
        """``model = Model(inputs, outputs)``: a list only where there are several."""
        ins = inputs[0] if len(inputs) == 1 else f"[{', '.join(inputs)}]"
        outs = outputs if isinstance(outputs, str) else f"[{', '.join(outputs)}]"
        self.line(f"{var} = Model({ins}, {outs})")
        refs = self.ref(outputs)
        self._model = (list(inputs), refs if isinstance(refs, list) else [refs], var)

    def finish(self) -> tuple[dict[str, Any], str, Solution]:
        """(graph spec in model.layers order, the code, its solution)."""
        assert self._model is not None, "call model() first"
        inputs, outputs, var = self._model
        spec = {"inputs": [self.inputs[v] for v in inputs], "layers": self.layers, "outputs": outputs}
        order = solve_raw(spec).graph.order  # type: ignore[union-attr]
        by_name = {layer["name"]: layer for layer in self.layers}
        spec["layers"] = [by_name[n] for n in order if n in by_name]
        layers_module = f"{self.package}.layers"
        head = [f"from {layers_module} import {', '.join(self.types)}", f"from {self.package}.models import Model", ""]
        return spec, "\n".join([*head, *self.lines, f"{var}.summary()"]), solve_raw(spec)


def _code(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return f"[{', '.join(_code(v) for v in value)}]"
    return str(value)
