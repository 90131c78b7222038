"""The code reader's Keras: what ``--from-code`` follows symbolically, never running it.

A layer constructed is a :class:`Layer` named as Keras would name it in a fresh
session; a layer called on tensors records a :class:`Node` and returns
:class:`Tensor` values (a list of them when it returns several, as Keras does);
``Model(...)`` and ``Sequential(...)`` become models in source order. The Python
around them is read by :class:`quizgen.nn.code.python.Interpreter`. Anything the
reader cannot know is an Unknown that matters only where a model needs it: then
one line names the line and what is not supported.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from ...errors import CodeParseError, SpecError
from .graph import functional_spec, json_value, layer_args_json
from .keras_names import (
    BUILD_TIME_NAMES,
    DEFAULT_MODULES,
    INPUT_POSITIONAL,
    KNOWN_NAMES,
    LAYER_TYPES,
    MERGE_HELPERS,
    MODEL_BUILDERS,
    SESSION_RESETS,
    SUBCLASS_BASES,
    TENSOR_CALL_ARGS,
    activation_name,
    call_params,
    config_object,
    constructor_positional,
    keras_name,
    output_count,
    snake_case,
)
from .python import CallArgs, Interpreter, Scope, is_constant, quote, short
from .values import (
    BoundMethod,
    FunctionalModel,
    InputLayerRef,
    InputNode,
    KerasName,
    Layer,
    ModelMethod,
    ModuleRef,
    Node,
    OpaqueClass,
    Partial,
    Refused,
    RefusedModel,
    SequentialModel,
    SubclassDef,
    Tensor,
    Unknown,
    UserFunction,
    first_unknown,
    holds_keras,
    leaves,
)

_KERAS2_INPUT_ARGS = ("batch_input_shape", "input_shape", "input_dim", "input_length")
_MODELS = (SequentialModel, FunctionalModel)
# Constructor arguments whose values change no shape or count: when the code computes one the
# reader cannot follow (an initializer made from a data matrix, weights=[embedding_matrix]),
# the argument is left out of the spec instead of refusing the model.
_IRRELEVANT_SUFFIXES = ("_initializer", "_regularizer", "_constraint")
_IRRELEVANT = frozenset({"weights", "activation", "recurrent_activation", "activity_regularizer", "seed",
                         "dtype", "renorm_clipping", "standardize", "split", "vocabulary", "idf_weights"})
_DROP = object()
# What a model or layer method is called for, when the code calls one the reader does not need.
_MODEL_METHODS_THAT_BUILD = frozenset({"build", "add", "get_layer", "pop"})


class Reader(Interpreter):
    """Reads module statements in order; ``models`` collects every model built."""

    def __init__(self, where: Callable[[int], str]) -> None:
        super().__init__(where)
        self.models: list[Any] = []  # SequentialModel, FunctionalModel or RefusedModel, as built
        self.subclasses: list[SubclassDef] = []
        self.uids: defaultdict[str, int] = defaultdict(int)
        self.seq = 0  # calls seen so far (a node's seq)
        self._statement_models = 0
        self.failures: list[str] = []  # each statement that could not be read, its refusal

    # ----------------------------------------------------------------- one statement at a time
    def run_module(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            self._statement_models = len(self.models)
            try:
                self.statement(stmt, self.module)
            except CodeParseError as exc:
                self.recover(stmt, str(exc))

    def recover(self, stmt: ast.stmt, message: str) -> None:
        """The statement at ``stmt`` could not be read: the models it built or changed are refused
        with its message, and so is a model it would have built; the names it sets are Refused."""
        touched = self.models[self._statement_models:]
        for name in _names_of(stmt):
            found, value = self.module.lookup(name)
            if found and isinstance(value, _MODELS):
                touched.append(value)
        for model in touched:
            if getattr(model, "refused", None) is None:
                model.refused = message
        if not touched and self.builds_a_model(stmt):
            self.models.append(RefusedModel(stmt.lineno, message))
        self.failures.append(message)
        super().recover(stmt, message)

    def builds_a_model(self, stmt: ast.stmt) -> bool:
        """Whether the statement calls Sequential / Model, or a helper that does."""
        for node in ast.walk(stmt):
            if isinstance(node, ast.Call):
                func = self.static_value(node.func, self.module)
                if isinstance(func, KerasName) and (func.name in MODEL_BUILDERS or func.name == "Sequential"):
                    return True
                if isinstance(func, UserFunction) and self._function_builds_model(func, set()):
                    return True
        return False

    def _function_builds_model(self, func: UserFunction, seen: set[int]) -> bool:
        seen.add(id(func))
        for node in ast.walk(func.node):
            if isinstance(node, ast.Call):
                inner = self.static_value(node.func, func.scope)
                if isinstance(inner, KerasName) and (inner.name in MODEL_BUILDERS or inner.name == "Sequential"):
                    return True
                if isinstance(inner, UserFunction) and id(inner) not in seen and \
                        self._function_builds_model(inner, seen):
                    return True
        return False

    def fail_unknown(self, unknown: Unknown) -> Any:
        if isinstance(unknown, Refused):  # the statement it came from already said why
            raise CodeParseError(unknown.reason)
        return super().fail_unknown(unknown)

    # ----------------------------------------------------------------- Python meets Keras
    def default_name(self, name: str, line: int) -> Any:
        """A name the code never assigned: a builtin, or a Keras name or module pasted without its import."""
        value = super().default_name(name, line)
        if not isinstance(value, Unknown):
            return value
        if name in KNOWN_NAMES:
            return KerasName(name)
        if name in DEFAULT_MODULES:
            return self.resolve_path(DEFAULT_MODULES[name])
        return value

    def bound(self, name: str, value: Any) -> None:
        # An Input goes by the variable it is first assigned to.
        if isinstance(value, Tensor) and isinstance(value.node, InputNode) and value.node.var_name is None:
            value.node.var_name = name

    def symbolic(self, value: Any) -> bool:
        return isinstance(value, (Tensor, Layer))

    def truth_of(self, value: Any) -> bool | None:
        # a layer or a model is an object, and objects are true (혼공머신 7-3: if a_layer: model.add(a_layer))
        if isinstance(value, (Layer, InputLayerRef, Partial, *_MODELS)):
            return True
        return None

    def check_operand(self, value: Any, node: ast.AST, operation: str) -> None:
        if not isinstance(value, (Tensor, Layer)):
            return
        line, text = getattr(node, "lineno", 0), quote(ast.unparse(node))
        if operation == "indexing":
            self.fail(line, f"indexing a tensor ({text}) is not supported; quizgen traces Keras layers only")
        self.fail(line, f"arithmetic on tensors ({text}) is not supported; use a Keras layer such as "
                        "layers.Add() or layers.Multiply()")

    def attribute_of(self, owner: Any, node: ast.Attribute) -> Any:
        attr = node.attr
        if isinstance(owner, Tensor):
            if attr == "shape" and isinstance(owner.node, InputNode):
                dims = owner.node.dims
                return tuple(dims) if owner.node.key == "batch_shape" else (None, *dims)
            return Unknown(
                node.lineno, f"{quote(ast.unparse(node))}: a layer's output is only known by solving the model"
            )
        if isinstance(owner, Layer):
            return self.layer_attribute(owner, attr, node)
        if isinstance(owner, InputLayerRef):
            if attr in ("output", "input"):
                return Tensor(owner.node)
            if attr == "name":
                return owner.node.name or owner.node.keras_name
            return ModelMethod(attr)
        if isinstance(owner, _MODELS):
            return self.model_attribute(owner, attr, node)
        if isinstance(owner, Refused):
            return owner
        return super().attribute_of(owner, node)

    def layer_attribute(self, layer: Layer, attr: str, node: ast.Attribute) -> Any:
        """``layer.output`` / ``layer.input`` of its first call, ``layer.name``, ``layer.trainable``."""
        if attr in ("output", "input"):
            if not layer.nodes:
                return Unknown(node.lineno, f"{quote(ast.unparse(node))}: layer {layer.name!r} has not been called "
                                            "yet, so Keras has no output for it")
            call = layer.nodes[0]
            if attr == "input":
                inputs = list(call.keras_parents)
                return inputs[0] if len(inputs) == 1 else inputs
            return Tensor(call, 0) if call.outputs == 1 else [Tensor(call, i) for i in range(call.outputs)]
        if attr == "name":
            return layer.name
        if attr == "trainable":
            return layer.args.get("trainable", True)
        return ModelMethod(attr)

    def model_attribute(self, model: Any, attr: str, node: ast.Attribute) -> Any:
        """What code reads off a model: its layers (in model.layers order), inputs and outputs,
        get_layer / add / build, its name; anything else (summary, fit...) is a method whose call
        builds nothing."""
        if attr in _MODEL_METHODS_THAT_BUILD:
            if attr == "add" and not isinstance(model, SequentialModel):
                return ModelMethod(attr)
            return BoundMethod(model, attr)
        if attr == "name":
            return model.name
        if attr == "trainable":
            return model.trainable
        if attr == "layers":
            return self.model_layers(model, node.lineno)
        if attr in ("input", "output") and isinstance(model, SequentialModel):
            # Keras 3: "The layer sequential has never been called and thus has no defined input"
            self.fail(node.lineno, f"a Keras 3 Sequential model has no .{attr} until it is called on a tensor; "
                                   f"use model.{attr}s (a list)")
        if attr in ("input", "inputs", "output", "outputs"):
            if isinstance(model, SequentialModel):
                trace = self.trace(model, node.lineno)
                tensors = [trace[0]] if attr.startswith("input") else [trace[1]]
            else:
                tensors = model.inputs if attr.startswith("input") else model.outputs
            if attr.endswith("s"):
                return list(tensors)
            return tensors[0] if len(tensors) == 1 else list(tensors)
        return ModelMethod(attr)

    def call_value(self, func: Any, node: ast.Call, args: CallArgs) -> Any:
        if isinstance(func, KerasName):
            return self.keras_call(func.name, node, args)
        if isinstance(func, Layer):
            return self.call_layer(func, node, args)
        if isinstance(func, Partial):
            return self.call_partial(func, node, args)
        if isinstance(func, BoundMethod) and isinstance(func.owner, _MODELS):
            return self.model_method(func.owner, func.name, node, args)
        if isinstance(func, _MODELS):
            if func.refused:
                raise CodeParseError(func.refused)
            return self.call_layer(func, node, args)
        if isinstance(func, Refused):
            raise CodeParseError(func.reason)
        if isinstance(func, ModuleRef) and func.path == "functools.partial":
            return self.partial(node, args)
        if isinstance(func, SubclassDef):
            self.fail(node.lineno, f"subclassed {func.kind} are not supported ({func.name}, {self.where(func.line)}, "
                                   f"subclasses {func.base}); quizgen reads the layers Keras provides")
        if isinstance(func, ModelMethod):
            return Unknown(node.lineno, f"{quote(ast.unparse(node.func))}(...) runs the model")
        if isinstance(func, Tensor):
            self.fail(node.lineno, f"{quote(ast.unparse(node.func))} is a tensor, not a layer; it cannot be called")
        if isinstance(func, ModuleRef) and config_object(func.path) is not None:
            return self.config_object(func.path, node, args)
        # An unknown layer class (Conv3D(8)) is "unsupported" where it is made; calling
        # anything else the reader does not know on a tensor is unsupported there.
        made_unsupported = isinstance(func, Unknown) and func.reason.startswith("unsupported call")
        if made_unsupported:
            line, reason = func.line, func.reason
        else:
            line, reason = node.lineno, f"unsupported call {quote(ast.unparse(node.func))}(...)"
        if holds_keras(args.positional) or holds_keras(list(args.keywords.values())):
            self.fail(
                line, reason if made_unsupported else reason + " on a Keras tensor; quizgen traces Keras layers only"
            )
        return Unknown(line, reason)

    def auto_name(self, prefix: str) -> str:
        """keras.src.utils.naming.uniquify: dense, dense_1, dense_2... per prefix, from a fresh session."""
        n = self.uids[prefix]
        self.uids[prefix] += 1
        return prefix if n == 0 else f"{prefix}_{n}"

    def unpack_message(self, items: list[Any], wanted: int, starred: bool) -> str:
        node = items[0].node if items and isinstance(items[0], Tensor) else None
        what = f"{node.layer.type} {node.layer.name!r}" if isinstance(node, Node) else "the value"
        needs = f"at least {wanted - 1}" if starred else str(wanted)
        return f"{what} returns {len(items)} tensor{'s' if len(items) != 1 else ''} here, not {needs}"

    def resolve_path(self, path: str) -> Any:
        name = keras_name(path)
        return KerasName(name) if name is not None else ModuleRef(path)

    def class_value(self, stmt: ast.ClassDef, scope: Scope) -> SubclassDef | OpaqueClass:
        for base in stmt.bases:
            value = self.expr(base, scope)
            if isinstance(value, KerasName) and value.name in SUBCLASS_BASES:
                kind = "models" if value.name in ("Model", "Sequential", "Functional") else "layers"
                sub = SubclassDef(stmt.name, stmt.lineno, kind, ast.unparse(base))
                self.subclasses.append(sub)
                return sub
            last = ast.unparse(base).rsplit(".", 1)[-1]
            if isinstance(value, Unknown) and last in SUBCLASS_BASES:  # pasted without its import
                sub = SubclassDef(stmt.name, stmt.lineno, "layers" if last == "Layer" else "models", ast.unparse(base))
                self.subclasses.append(sub)
                return sub
        return OpaqueClass(stmt.name)

    def builds_model(self, body: list[ast.stmt] | list[ast.expr], scope: Scope, _seen: set[int] | None = None) -> bool:
        """Whether statements call a layer, a Keras constructor, a model or a helper that does.

        Decided from the names alone (nothing is evaluated), so a loop or ``if``
        the reader cannot follow is an error only when skipping it would lose layers.
        """
        seen = _seen if _seen is not None else set()
        for stmt in body:
            for node in ast.walk(stmt):
                if not isinstance(node, ast.Call):
                    continue
                func = self.static_value(node.func, scope)
                if isinstance(func, KerasName) and func.name not in SESSION_RESETS:
                    return True
                if isinstance(func, (Layer, SequentialModel, FunctionalModel, SubclassDef)):
                    return True
                if isinstance(func, BoundMethod) and isinstance(func.owner, SequentialModel):
                    return True
                if isinstance(func, UserFunction) and id(func) not in seen:
                    seen.add(id(func))
                    if self.builds_model(func.node.body, func.scope, seen):
                        return True
        return False

    def static_value(self, node: ast.expr, scope: Scope) -> Any:
        """A name or attribute path's value, without evaluating anything else."""
        if isinstance(node, ast.Name):
            found, value = scope.lookup(node.id)
            return value if found else self.default_name(node.id, node.lineno)
        if isinstance(node, ast.Attribute):
            owner = self.static_value(node.value, scope)
            return self.attribute(owner, node)
        return None

    def config_object(self, path: str, node: ast.Call, args: CallArgs) -> Any:
        """``regularizers.l2(0.002)`` → ``{"class_name": "L2", "config": {"l2": 0.002}}``, as Keras serializes it."""
        found = config_object(path)
        assert found is not None, path
        class_name, params = found
        text = quote(ast.unparse(node))
        values = args.positional + list(args.keywords.values())
        bad = first_unknown(values)
        if bad is not None:
            return bad
        if args.starred or args.double_starred or len(args.positional) > len(params) or \
                not set(args.keywords) <= set(params) or not all(is_constant(v) for v in values):
            return Unknown(node.lineno, f"{text} cannot be read: Keras 3's {class_name} takes "
                                        f"({', '.join(params)}) as constants")
        config = dict(zip(params, args.positional))
        config.update(args.keywords)
        return {"class_name": class_name, "config": json_value(config)}

    def keras_call(self, name: str, node: ast.Call, args: CallArgs) -> Any:
        if name in LAYER_TYPES:
            return self.construct(name, node, args)
        if name in ("Sequential", *MODEL_BUILDERS) and not args.positional and set(args.keywords) <= {"name"} \
                and name != "Sequential":
            self.fail(node.lineno, "Model(...) needs inputs and outputs (a subclassed model is built by running "
                                   "its code)")
        if name in ("Input", "InputLayer"):
            return self.input_(name, node, args)
        if name in MODEL_BUILDERS:
            return self.functional(node, args)
        if name == "Sequential":
            return self.sequential(node, args)
        if name in MERGE_HELPERS:
            return self.merge_helper(name, node, args)
        if name in SESSION_RESETS:
            self.uids.clear()
            return None
        self.fail(node.lineno, f"{name}(...) cannot be built here: subclassing is not supported")

    def no_star_args(self, what: str, node: ast.Call, args: CallArgs) -> None:
        if args.double_starred:
            self.fail(node.lineno, f"**kwargs cannot be read without running the code ({quote(ast.unparse(node))})")
        if args.starred:
            self.fail(
                node.lineno, f"*args in {what} cannot be read without running the code ({quote(ast.unparse(node))})"
            )

    def constant_arg(self, value: Any, what: str, node: ast.Call, key: str | None = None) -> Any:
        """A constructor argument: a constant (tuples kept), or an error saying why not. ``key``:
        the argument's name; one whose value changes no shape or count (an initializer made from
        data, weights=[matrix]) is dropped (_DROP) when it cannot be read, not refused."""
        if key is not None and (key in _IRRELEVANT or key.endswith(_IRRELEVANT_SUFFIXES)) and \
                not _is_readable(value) and not (isinstance(value, ModuleRef) and activation_name(value.path)):
            return _DROP
        if isinstance(value, Unknown):
            self.fail_unknown(value)
        if isinstance(value, ModuleRef):
            name = activation_name(value.path)
            if name is not None:
                return name
        if isinstance(value, (Tensor, Layer)) or holds_keras(value):
            self.fail(node.lineno, f"{what} is given a tensor or layer where Keras expects a value "
                                   "(layers are called on tensors: Layer(...)(x))")
        if not _is_json_like(value):
            self.fail(node.lineno, f"{what} cannot be read without running the code: {quote(ast.unparse(node))}")
        bad = first_unknown(value)
        if bad is not None:
            self.fail_unknown(bad)
        return value

    def construct(self, layer_type: str, node: ast.Call, args: CallArgs, defaults: dict[str, Any] | None = None,
                  positional_names: tuple[str, ...] | None = None) -> Layer:
        self.no_star_args(layer_type, node, args)
        positional = positional_names if positional_names is not None else constructor_positional(layer_type)
        if len(args.positional) > len(positional):
            self.fail(node.lineno, f"too many positional arguments for {layer_type}")
        given: dict[str, Any] = dict(zip(positional, args.positional))
        for key, value in args.keywords.items():
            if key in given:
                self.fail(node.lineno, f"{layer_type}() got two values for argument {key!r}")
            given[key] = value
        for key, value in (defaults or {}).items():
            given.setdefault(key, value)
        obj: dict[str, Any] = {}
        dropped: list[str] = []
        for key, value in given.items():
            if key in ("layer", "backward_layer") and isinstance(value, Layer):
                obj[key] = value
                continue
            found = self.constant_arg(value, f"{layer_type}'s {key}", node, key)
            if found is _DROP:
                dropped.append(key)
            else:
                obj[key] = found
        name = obj.pop("name", None)
        if name is not None and not isinstance(name, str):
            self.fail(node.lineno, f"{layer_type}'s name must be a string, got {name!r}")
        keras2 = None
        for key in _KERAS2_INPUT_ARGS:
            if key == "input_dim" and layer_type == "Embedding":
                continue
            if key == "input_length" and layer_type != "Embedding":
                continue
            if key in obj and (obj[key] is not None or key == "input_length"):
                value = obj.pop(key)
                if keras2 is None:
                    spec_key = "batch_shape" if key == "batch_input_shape" else "shape"
                    dims = [value] if isinstance(value, int) or value is None else list(value)
                    keras2 = (key, spec_key, dims)
            elif key in obj and obj[key] is None:
                obj.pop(key)
        if "layer" in obj and isinstance(obj["layer"], Layer) and layer_type == "Bidirectional":
            inner: Layer = obj["layer"]  # Bidirectional copies the layer's config when it is made
            obj["layer"] = Layer(inner.type, dict(inner.args), inner.name, inner.name_given, inner.line)
        layer = Layer(layer_type, obj, name or self.auto_name(snake_case(layer_type)), name is not None,
                      node.lineno, keras2, dropped=tuple(dropped))
        return layer

    # ----------------------------------------------------------------- partial, model methods
    def partial(self, node: ast.Call, args: CallArgs) -> Any:
        """``functools.partial(keras.layers.Conv2D, kernel_size=3, ...)``: a layer class with arguments."""
        if not args.positional:
            return Unknown(node.lineno, "functools.partial() needs the function it fixes arguments of")
        func, *rest = args.positional
        if isinstance(func, (KerasName, Partial)):
            return Partial(func, tuple(rest), dict(args.keywords))
        return Unknown(node.lineno, f"{quote(ast.unparse(node))}: a partial of something quizgen does not read")

    def call_partial(self, func: Partial, node: ast.Call, args: CallArgs) -> Any:
        keywords = {**func.keywords, **args.keywords}
        merged = CallArgs([*func.positional, *args.positional], keywords, args.starred, args.double_starred)
        return self.call_value(func.func, node, merged)

    def model_method(self, model: Any, method: str, node: ast.Call, args: CallArgs) -> Any:
        if model.refused:
            raise CodeParseError(model.refused)
        if method == "add":
            return self.sequential_add(model, node, args)
        if method == "build":
            shape = args.positional[0] if args.positional else args.keywords.get("input_shape")
            shape = self.constant_arg(shape, "build()'s input_shape", node)
            if isinstance(model, SequentialModel) and model.input is None and isinstance(shape, (list, tuple)):
                dims = json_value(list(shape))
                model.input = {"shape": dims[1:]} if dims and dims[0] is None else {"batch_shape": dims}
                model.keras2_input = None
            return None
        if method == "get_layer":
            name = args.positional[0] if args.positional else args.keywords.get("name")
            index = args.keywords.get("index")
            layers = self.model_layers(model, node.lineno)
            if isinstance(name, str):
                for layer in layers:
                    if getattr(layer, "name", None) == name or \
                            isinstance(layer, InputLayerRef) and (layer.node.name or layer.node.keras_name) == name:
                        return layer
                self.fail(node.lineno, f"the model has no layer named {name!r}")
            if isinstance(index, int) and -len(layers) <= index < len(layers):
                return layers[index]
            return Unknown(node.lineno, f"{quote(ast.unparse(node))} cannot be read")
        if method == "pop" and isinstance(model, SequentialModel) and model.layers:
            return model.layers.pop()
        return Unknown(node.lineno, f"{quote(ast.unparse(node.func))}(...)")

    def model_layers(self, model: Any, line: int) -> list[Any]:
        """``model.layers``: a Sequential model's layers as added; a functional model's in Keras's
        order (its InputLayers included), which only solving the model tells (nn/graph.py)."""
        if model.refused:
            raise CodeParseError(model.refused)
        if isinstance(model, SequentialModel):
            return list(model.layers)
        from ..solver import solve_raw

        spec = functional_spec(model, self.where)
        try:
            order = solve_raw(spec).graph.order  # type: ignore[union-attr]
        except SpecError as exc:
            self.fail(line, f"the model built at {self.where(model.line)} cannot be built: {exc.message}")
        by_name: dict[str, Any] = {}
        for node in _calls_of(model.outputs):
            by_name.setdefault(node.layer.name, node.layer)
        names = {e["name"]: e for e in spec["inputs"]}
        inputs = {id(t.node): t.node for t in model.inputs}
        out: list[Any] = []
        for name in order:
            if name in by_name:
                out.append(by_name[name])
            elif name in names:
                out.append(InputLayerRef(next(n for n in inputs.values() if
                                              (n.name or n.var_name or n.keras_name) == name or n.keras_name == name)))
        return out

    def trace(self, model: SequentialModel, line: int) -> tuple[Tensor, Tensor]:
        """A Sequential model's own graph, as Keras builds it once it knows its input: its input
        tensor and its output; its layers' calls become their first (``layer.output``)."""
        if model.trace is None:
            if model.input is None:
                self.fail(line, "the model has no input shape yet, so Keras has no input or output tensor for it "
                                "(give it an Input or input_shape first)")
            ((key, dims),) = model.input.items()
            x: Any = Tensor(InputNode(model.line, key, list(dims), None, self.auto_name("input_layer")))
            first = x
            for item in model.layers:
                self.seq += 1
                node = Node(item, {"inputs": x}, model.line, 1, (x,), seq=self.seq)
                item.nodes.append(node)
                x = Tensor(node, 0)
            model.trace = (first, x)
        return model.trace

    def assign_attribute(self, owner: Any, attr: str, value: Any, line: int) -> None:
        """``layer.trainable = False`` freezes the layer in every model it is in; ``model.trainable
        = False`` the model and each of its layers (Keras sets it on every layer it tracks)."""
        if attr != "trainable":
            return
        if isinstance(owner, Refused):
            raise CodeParseError(owner.reason)
        if not isinstance(value, bool):
            value = Unknown(line, f"trainable is set to a value quizgen cannot read ({short(value)})") \
                if not isinstance(value, Unknown) else value
        if isinstance(owner, Layer):
            _set_trainable(owner, value)
        elif isinstance(owner, _MODELS):
            _freeze_model(owner, value)

    def merge_helper(self, helper: str, node: ast.Call, args: CallArgs) -> Any:
        layer_type, positional, defaults = MERGE_HELPERS[helper]
        if not args.positional and "inputs" not in args.keywords:
            self.fail(node.lineno, f"{helper}(...) needs a list of tensors")
        keywords = dict(args.keywords)
        inputs = args.positional[0] if args.positional else keywords.pop("inputs")
        ctor = CallArgs(args.positional[1:], keywords, args.starred, args.double_starred)
        layer = self.construct(layer_type, node, ctor, defaults, positional)
        return self.call_layer(layer, node, CallArgs([inputs], {}, False, False))

    def call_layer(self, layer: Any, node: ast.Call, args: CallArgs) -> Any:
        if isinstance(layer, _MODELS):
            return self.call_model(layer, node, args)
        self.no_star_args(f"a call of {layer.type}", node, args)
        params = call_params(layer.type)
        if len(args.positional) > len(params):
            self.fail(node.lineno, f"{layer.type} {layer.name!r} is called with {len(args.positional)} "
                                   f"positional arguments; it takes at most {len(params)} ({', '.join(params)})")
        bound: dict[str, Any] = dict(zip(params, args.positional))
        for key, value in args.keywords.items():
            if key not in params:
                self.fail(node.lineno, f"{layer.type} {layer.name!r} is called with an argument {key!r} "
                                       f"it does not take ({', '.join(params)})")
            if key in bound:
                self.fail(node.lineno, f"{layer.type} {layer.name!r} is called with two values for {key!r}")
            bound[key] = value
        if params[0] not in bound:
            self.fail(node.lineno, f"{layer.type} {layer.name!r} is called without its input {params[0]!r}")
        for key, value in list(bound.items()):
            if key == "training" or (value is None and key != params[0]):
                continue
            if key in TENSOR_CALL_ARGS:
                self.check_tensors(layer, key, value, node)
            else:
                bound[key] = self.constant_arg(value, f"the {key} argument of {layer.name!r}", node)
        # Keras records a call's tensors as tree.flatten((args, kwargs)): positional
        # arguments in order, then keyword arguments sorted by name.
        parents = tuple(v for value in [*args.positional, *(args.keywords[k] for k in sorted(args.keywords))]
                        for v in leaves(value) if isinstance(v, Tensor))
        if not layer.built:
            layer.built = True
            for prefix in BUILD_TIME_NAMES.get(layer.type, ()):
                self.auto_name(prefix)
        call_kwargs = {k: v for k, v in bound.items() if k not in TENSOR_CALL_ARGS}
        count = output_count(layer.type, _plain_args(layer), call_kwargs)
        self.seq += 1
        call = Node(layer, bound, node.lineno, count, parents, bool(args.keywords), self.seq)
        layer.nodes.append(call)
        if count == 1:
            return Tensor(call, 0)
        return [Tensor(call, i) for i in range(count)]

    def call_model(self, model: Any, node: ast.Call, args: CallArgs) -> Any:
        """A model called as a layer: one input (a tensor, or a list of them for a functional model
        with several), its outputs as Keras returns them."""
        self.no_star_args("a call of a model", node, args)
        if len(args.positional) != 1 or set(args.keywords) - {"training", "mask"}:
            self.fail(node.lineno, "a model used as a layer is called on its input(s) alone: model(x) or "
                                   "model([a, b])")
        value = args.positional[0]
        for leaf in leaves(value):
            if isinstance(leaf, Unknown):
                self.fail_unknown(leaf)
            if not isinstance(leaf, Tensor):
                self.fail(node.lineno, f"a model is called on {short(leaf)}; it takes tensors")
        outputs = 1 if isinstance(model, SequentialModel) else len(model.outputs)
        parents = tuple(v for v in leaves(value) if isinstance(v, Tensor))
        self.seq += 1
        call = Node(model, {"inputs": value}, node.lineno, outputs, parents, bool(args.keywords), self.seq)
        model.nodes.append(call)
        if outputs == 1:
            return Tensor(call, 0)
        return [Tensor(call, i) for i in range(outputs)]

    def check_tensors(self, layer: Layer, key: str, value: Any, node: ast.Call) -> None:
        for leaf in leaves(value):
            if isinstance(leaf, Tensor):
                continue
            if isinstance(leaf, Refused):
                raise CodeParseError(leaf.reason)
            if isinstance(leaf, Unknown):
                self.fail(node.lineno, f"a layer called on a tensor quizgen cannot trace: {layer.type} "
                                       f"{layer.name!r} gets {key} from {self.where(leaf.line)} ({leaf.reason})")
            what = "a model" if isinstance(leaf, (SequentialModel, FunctionalModel)) else \
                "a layer, not a tensor (call it on a tensor first)" if isinstance(leaf, Layer) else repr(short(leaf))
            self.fail(node.lineno, f"{layer.type} {layer.name!r} is called on {what}; its {key} must be tensors")

    def input_(self, kind: str, node: ast.Call, args: CallArgs) -> Tensor:
        self.no_star_args(kind, node, args)
        if len(args.positional) > len(INPUT_POSITIONAL):
            self.fail(node.lineno, f"too many positional arguments for {kind}")
        given = dict(zip(INPUT_POSITIONAL, args.positional))
        given.update(args.keywords)
        kw = {k: self.constant_arg(v, f"{kind}'s {k}", node) for k, v in given.items()
              if k in ("shape", "batch_size", "batch_shape", "name", "input_shape", "batch_input_shape")}
        shape = kw.get("shape", kw.get("input_shape"))
        batch_shape = kw.get("batch_shape", kw.get("batch_input_shape"))
        name = kw.get("name")
        if name is not None and not isinstance(name, str):
            self.fail(node.lineno, f"{kind}'s name must be a string, got {name!r}")
        keras_auto = name if name is not None else self.auto_name("input_layer")
        if batch_shape is not None:
            key, dims = "batch_shape", _dims(batch_shape)
        elif shape is None:
            self.fail(node.lineno, f"{kind}(...) needs a shape")
        elif kw.get("batch_size") is not None:
            key, dims = "batch_shape", [kw["batch_size"], *_dims(shape)]
        else:
            key, dims = "shape", _dims(shape)
        return Tensor(InputNode(node.lineno, key, json_value(dims), name, keras_auto))

    def functional(self, node: ast.Call, args: CallArgs) -> FunctionalModel:
        self.no_star_args("Model(...)", node, args)
        given = dict(zip(("inputs", "outputs"), args.positional))
        for key in ("inputs", "outputs"):
            if key in args.keywords:
                given[key] = args.keywords[key]
        if "inputs" not in given or "outputs" not in given:
            self.fail(node.lineno, "Model(...) needs inputs and outputs (subclassed models are not supported)")
        tensors: dict[str, list[Tensor]] = {}
        for key in ("inputs", "outputs"):
            value = given[key]
            if isinstance(value, dict):
                self.fail(node.lineno, f"a dict of model {key} is not supported; give a list")
            items = list(leaves(value))
            if not items:
                self.fail(node.lineno, f"the model has no {key}")
            for item in items:
                if isinstance(item, Refused):
                    raise CodeParseError(item.reason)
                if isinstance(item, Unknown):
                    self.fail(node.lineno, f"the model's {key} include a tensor quizgen cannot trace: "
                                           f"{self.where(item.line)}: {item.reason}")
                if not isinstance(item, Tensor):
                    self.fail(node.lineno, f"the model's {key} must be tensors, got {short(item)}")
                if key == "inputs" and not isinstance(item.node, InputNode):
                    self.fail(node.lineno, "the model's inputs must be Input(...) tensors, not a layer's output "
                                           "(quizgen reads a model from its Inputs on)")
            tensors[key] = items
        name = args.keywords.get("name")
        model = FunctionalModel(node.lineno, tensors["inputs"], tensors["outputs"],
                                name if isinstance(name, str) else self.auto_name("functional"))
        functional_spec(model, self.where)  # a disconnected graph or a name used twice fails here, as in Keras
        self.models.append(model)
        return model

    def sequential(self, node: ast.Call, args: CallArgs) -> SequentialModel:
        self.no_star_args("Sequential(...)", node, args)
        name = args.keywords.get("name")
        if name is not None and not isinstance(name, str):
            name = self.constant_arg(name, "Sequential's name", node)
        model = SequentialModel(node.lineno, name=name if isinstance(name, str) else self.auto_name("sequential"))
        items = args.positional[0] if args.positional else args.keywords.get("layers")
        if items is not None:
            if isinstance(items, Unknown):
                self.fail_unknown(items)
            if not isinstance(items, (list, tuple)):
                self.fail(node.lineno, "Sequential([...]) takes a list of layers")
            for item in items:
                self.sequential_item(model, item, node)
        self.models.append(model)
        return model

    def sequential_add(self, model: SequentialModel, node: ast.Call, args: CallArgs) -> None:
        if len(args.positional) != 1 or args.keywords:
            self.fail(node.lineno, "model.add takes exactly one layer")
        self.sequential_item(model, args.positional[0], node)

    def sequential_item(self, model: SequentialModel, item: Any, node: ast.Call) -> None:
        if isinstance(item, Unknown):
            self.fail_unknown(item)
        if model.refused:
            raise CodeParseError(model.refused)
        if isinstance(item, Tensor) and isinstance(item.node, InputNode):
            model.input = {item.node.key: list(item.node.dims)}
            return
        if isinstance(item, _MODELS):
            if item.refused:
                raise CodeParseError(item.refused)
            first = item.inputs[0].node if isinstance(item, FunctionalModel) else None
            if not model.layers and model.input is None and isinstance(first, InputNode):
                model.input = {first.key: list(first.dims)}
            elif not model.layers and model.input is None and isinstance(item, SequentialModel) and item.input:
                model.input = dict(item.input)  # Keras builds a Sequential on a first layer's input_shape
            if isinstance(item, SequentialModel):
                item.containers.append((model, len(model.layers)))
            model.layers.append(item)  # a model used as a layer
            model.trace = None
            return
        if not isinstance(item, Layer):
            self.fail(node.lineno, f"model.add needs a layer, e.g. model.add(Dense(1)); got {short(item)}")
        if not model.layers and model.input is None and item.keras2_input is not None:
            arg, key, dims = item.keras2_input
            if arg == "input_length":  # Keras 3 ignores it and leaves the model unbuilt; Keras 2 built it so
                model.keras2_input = (key, json_value(dims))
            else:
                model.input = {key: json_value(dims)}
                if arg in ("input_shape", "input_dim"):
                    self.auto_name("input_layer")  # Keras builds the model on an InputLayer of its own
        model.layers.append(item)
        model.trace = None


def _names_of(stmt: ast.stmt) -> list[str]:
    """The names of the objects a statement changes in place: ``model.add(...)``'s model,
    ``model.trainable = ...``'s model (not a name it assigns anew, nor one it only reads)."""
    found: list[str] = []
    for node in ast.walk(stmt):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                isinstance(node.func.value, ast.Name):
            found.append(node.func.value.id)
        elif isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.ctx, ast.Store) and \
                isinstance(node.value, ast.Name):
            found.append(node.value.id)
    return list(dict.fromkeys(found))


def _calls_of(outputs: list[Tensor]) -> list[Node]:
    found: dict[int, Node] = {}
    stack = [t.node for t in outputs]
    while stack:
        node = stack.pop()
        if id(node) in found or not isinstance(node, Node):
            continue
        found[id(node)] = node
        stack.extend(t.node for t in node.keras_parents)
    return sorted(found.values(), key=lambda n: n.seq)


def _set_trainable(layer: Layer, value: Any) -> None:
    if value is True:
        layer.args.pop("trainable", None)
    else:
        layer.args["trainable"] = value


def _freeze_model(model: Any, value: Any) -> None:
    """Keras's ``model.trainable = ...`` sets it on the model and on every layer it tracks."""
    model.trainable = value is True
    if isinstance(model, SequentialModel):
        items: list[Any] = list(model.layers)
    else:
        items = [node.layer for node in _calls_of(model.outputs)]
    for item in items:
        if isinstance(item, Layer):
            _set_trainable(item, value)
        else:
            _freeze_model(item, value)


def _is_readable(value: Any) -> bool:
    """Whether a constructor argument's value can go into a spec as it is."""
    if isinstance(value, (Unknown, Tensor, Layer, ModuleRef, KerasName, ModelMethod, UserFunction, *_MODELS)):
        return False
    return _is_json_like(value) and first_unknown(value) is None


def _plain_args(layer: Layer) -> dict[str, Any]:
    return layer_args_json(layer, functional=False)


def _dims(value: Any) -> list[Any]:
    return [value] if isinstance(value, int) or value is None else list(value)


def _is_json_like(v: Any) -> bool:
    if v is None or isinstance(v, (int, float, str, bool)):
        return True
    if isinstance(v, (list, tuple)):
        return all(_is_json_like(x) for x in v)
    if isinstance(v, dict):
        return all(isinstance(k, str) and _is_json_like(x) for k, x in v.items())
    return isinstance(v, Unknown)


