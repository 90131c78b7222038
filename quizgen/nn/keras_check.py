"""Confirmation by real Keras: build the model a spec describes and compare.

This is the only module that imports TensorFlow, and it does so on first use, so
``quizgen --help``, ``submit`` and ``grade`` never pay for it.

Speed without cutting corners: a Sequential model is its layers called one after
another on symbolic tensors, so Keras's answer for a layer depends only on that
layer's arguments and the shape it receives. ``KerasChecker`` builds each distinct
(layer, input shape) pair once with Keras, feeding it the shape Keras itself
produced for the previous layer, and remembers what Keras reported. Generated
quizzes repeat textbook layers constantly, so most checks cost a dictionary
lookup; every number still comes from Keras. ``naive=True`` builds a whole fresh
``keras.Sequential`` per spec instead (the benchmark's baseline, and a test
proves both paths give identical verdicts).
"""

from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass, field
from typing import Any

from ..errors import SpecError
from .shapes import format_shape
from .solver import Solution, solve
from .spec import Shape, parse_spec

_keras: Any = None


def keras_module() -> Any:
    """Import Keras (TensorFlow backend) once, quietly."""
    global _keras
    if _keras is None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        import logging

        import keras  # noqa: PLC0415 - deliberately lazy

        logging.getLogger("absl").setLevel(logging.ERROR)
        _keras = keras
    return _keras


def versions() -> dict[str, str]:
    """Keras and TensorFlow versions, recorded with every confirmed answer."""
    keras = keras_module()
    import tensorflow as tf  # noqa: PLC0415

    return {"keras": keras.__version__, "tensorflow": tf.__version__}


@dataclass(frozen=True)
class Observed:
    """What Keras reported for one layer."""

    output_shape: Shape
    trainable: int
    non_trainable: int


@dataclass(frozen=True)
class LayerDiff:
    index: int
    field: str
    analytic: Any
    keras: Any


@dataclass(frozen=True)
class Verdict:
    """Agreement between the solver and Keras for one spec.

    Both rejecting the spec counts as agreement; so does both building it with the
    same shape and trainable/non-trainable counts for every layer.
    """

    agree: bool
    solver_error: str | None = None
    keras_error: str | None = None
    diffs: tuple[LayerDiff, ...] = ()
    observed: tuple[Observed, ...] = field(default=(), compare=False)

    def describe(self) -> str:
        if self.agree:
            if self.keras_error:
                return "agree: both reject the spec"
            return "agree: every layer's output shape and parameter counts match Keras"
        if self.solver_error and not self.keras_error:
            return f"DISAGREE: quizgen rejected the spec ({self.solver_error}) but Keras builds it"
        if self.keras_error and not self.solver_error:
            return f"DISAGREE: Keras rejected the spec ({self.keras_error}) but quizgen accepted it"
        return "DISAGREE: " + "; ".join(
            f"layer {d.index} {d.field}: quizgen {d.analytic}, Keras {d.keras}" for d in self.diffs)


def _count(weights: list[Any]) -> int:
    return sum(math.prod(int(d) for d in w.shape) for w in weights)


def _input_of(raw: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
    """("shape"|"batch_shape", dims), read the way Keras's Sequential reads it."""
    inp = raw.get("input")
    if isinstance(inp, dict) and len(inp) == 1:
        key, dims = next(iter(inp.items()))
        if key in ("shape", "batch_shape") and isinstance(dims, list):
            return key, tuple(dims)
    if inp is None and raw.get("layers"):
        first = raw["layers"][0]
        if isinstance(first, dict) and first.get("input_shape") is not None:
            return "shape", tuple(first["input_shape"])
        if isinstance(first, dict) and first.get("type") != "Embedding" and first.get("input_dim") is not None:
            return "shape", (first["input_dim"],)
    raise ValueError(f"the model has no usable input: {inp!r}")


class KerasChecker:
    """Builds specs in Keras and compares them with the solver (see module docstring)."""

    def __init__(self, naive: bool = False):
        self.naive = naive
        self.keras = keras_module()
        self._memo: dict[tuple[str, Shape], Observed | str] = {}
        self.builds = 0

    # -- building ----------------------------------------------------------------
    def build_layer(self, obj: dict[str, Any]) -> Any:
        """A Keras layer from a raw layer object (wrappers recursively)."""
        if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
            raise ValueError(f"not a layer object: {obj!r}")
        cls = getattr(self.keras.layers, obj["type"], None)
        if cls is None:
            raise ValueError(f"Keras has no layer {obj['type']!r}")
        kwargs = {k: (tuple(v) if isinstance(v, list) and k != "axis" else v)
                  for k, v in obj.items() if k != "type"}
        if "layer" in kwargs:
            kwargs["layer"] = self.build_layer(obj["layer"])
        return cls(**kwargs)

    def observe(self, raw: dict[str, Any]) -> tuple[Observed, ...]:
        """Keras's per-layer output shapes and weight counts; raises if Keras rejects it."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self.naive:
                return self._observe_model(raw)
            return self._observe_layers(raw)

    def _observe_model(self, raw: dict[str, Any]) -> tuple[Observed, ...]:
        keras = self.keras
        key, dims = _input_of(raw)
        layers = [self.build_layer(obj) for obj in raw["layers"]]
        model = keras.Sequential([keras.Input(**{key: dims}), *layers])
        self.builds += 1
        model.count_params()
        return tuple(Observed(tuple(layer.output.shape), _count(layer.trainable_weights),
                              _count(layer.non_trainable_weights)) for layer in model.layers)

    def _observe_layers(self, raw: dict[str, Any]) -> tuple[Observed, ...]:
        keras = self.keras
        key, dims = _input_of(raw)
        if key == "shape":
            dims = (None, *dims)
        shape: Shape = tuple(keras.Input(batch_shape=dims).shape)
        out = []
        for obj in raw["layers"]:
            memo_key = (json.dumps(obj, sort_keys=True), shape)
            seen = self._memo.get(memo_key)
            if seen is None:
                seen = self._build_one(obj, shape)
                self._memo[memo_key] = seen
            if isinstance(seen, str):
                raise ValueError(seen)
            out.append(seen)
            shape = seen.output_shape
        return tuple(out)

    def _build_one(self, obj: dict[str, Any], shape: Shape) -> Observed | str:
        # Inside a StatelessScope that does not initialise variables, Keras runs the
        # layer's own build() and creates every weight with its real shape but defers
        # filling it with random numbers (the path JAX training uses), so a
        # 50,000×300 embedding costs nothing to confirm. A layer that cannot be built
        # that way (a stateful RNN's state has a concrete initial value) is built
        # again eagerly, and only an eager failure counts as Keras rejecting it.
        try:
            try:
                with self.keras.StatelessScope(initialize_variables=False):
                    return self._build_once(obj, shape)
            finally:
                _forget_deferred_variables()
        except Exception:
            pass
        try:
            return self._build_once(obj, shape)
        except Exception as exc:  # Keras signals rejection with many exception types
            return _first_line(exc)

    def _build_once(self, obj: dict[str, Any], shape: Shape) -> Observed:
        layer = self.build_layer(obj)
        result = layer(self.keras.KerasTensor(shape))
        self.builds += 1
        return Observed(tuple(result.shape), _count(layer.trainable_weights), _count(layer.non_trainable_weights))

    # -- comparing ---------------------------------------------------------------
    def check(self, raw: dict[str, Any], solution: Solution | None = None) -> Verdict:
        """Compare the solver's answer for ``raw`` with what Keras builds."""
        solver_error = None
        if solution is None:
            try:
                solution = solve(parse_spec(raw))
            except SpecError as exc:
                solver_error = exc.message
        try:
            observed = self.observe(raw)
        except Exception as exc:
            keras_error = _first_line(exc)
            return Verdict(agree=solver_error is not None, solver_error=solver_error, keras_error=keras_error)
        if solution is None:
            return Verdict(agree=False, solver_error=solver_error, observed=observed)
        return Verdict(agree=not (diffs := _diffs(solution, observed)), diffs=diffs, observed=observed)


def _forget_deferred_variables() -> None:
    from keras.src.backend.common import global_state  # noqa: PLC0415

    global_state.set_global_attribute("uninitialized_variables", [])


def _diffs(solution: Solution, observed: tuple[Observed, ...]) -> tuple[LayerDiff, ...]:
    if len(observed) != len(solution.layers):
        return (LayerDiff(0, "layer count", len(solution.layers), len(observed)),)
    diffs = []
    for row, seen in zip(solution.layers, observed):
        if row.output_shape != seen.output_shape:
            diffs.append(LayerDiff(row.index, "output shape", format_shape(row.output_shape), format_shape(seen.output_shape)))
        if row.trainable != seen.trainable:
            diffs.append(LayerDiff(row.index, "trainable", row.trainable, seen.trainable))
        if row.non_trainable != seen.non_trainable:
            diffs.append(LayerDiff(row.index, "non-trainable", row.non_trainable, seen.non_trainable))
    return tuple(diffs)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]
