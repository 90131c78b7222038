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

from ...errors import CodeParseError
from .graph import functional_spec, json_value, layer_args_json, layer_object
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
    InputNode,
    KerasName,
    Layer,
    ModelMethod,
    ModuleRef,
    Node,
    OpaqueClass,
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


class Reader(Interpreter):
    """Reads module statements in order; ``models`` collects every model built."""

    def __init__(self, where: Callable[[int], str]) -> None:
        super().__init__(where)
        self.models: list[SequentialModel | FunctionalModel] = []
        self.subclasses: list[SubclassDef] = []
        self.uids: defaultdict[str, int] = defaultdict(int)

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

    def check_operand(self, value: Any, node: ast.AST, operation: str) -> None:
        if not isinstance(value, (Tensor, Layer)):
            return
        line, text = getattr(node, "lineno", 0), quote(ast.unparse(node))
        if operation == "indexing":
            self.fail(line, f"indexing a tensor ({text}) is not supported; quizgen traces Keras layers only")
        self.fail(line, f"arithmetic on tensors ({text}) is not supported; use a Keras layer such as "
                        "layers.Add() or layers.Multiply()")

    def attribute_of(self, owner: Any, node: ast.Attribute) -> Any:
        if isinstance(owner, Tensor):
            if node.attr == "shape" and isinstance(owner.node, InputNode):
                dims = owner.node.dims
                return tuple(dims) if owner.node.key == "batch_shape" else (None, *dims)
            return Unknown(
                node.lineno, f"{quote(ast.unparse(node))}: a layer's output is only known by solving the model"
            )
        if isinstance(owner, SequentialModel) and node.attr == "add":
            return BoundMethod(owner, node.attr)
        if isinstance(owner, (SequentialModel, FunctionalModel, Layer)):
            return ModelMethod(node.attr)
        return super().attribute_of(owner, node)

    def call_value(self, func: Any, node: ast.Call, args: CallArgs) -> Any:
        if isinstance(func, KerasName):
            return self.keras_call(func.name, node, args)
        if isinstance(func, Layer):
            return self.call_layer(func, node, args)
        if isinstance(func, BoundMethod) and isinstance(func.owner, SequentialModel):
            return self.sequential_add(func.owner, node, args)
        if isinstance(func, (SequentialModel, FunctionalModel)):
            self.fail(node.lineno, f"a model called as a layer ({quote(ast.unparse(node))}) is not supported; "
                                   "build the whole model from layers")
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

    def constant_arg(self, value: Any, what: str, node: ast.Call) -> Any:
        """A constructor argument: a constant (tuples kept), or an error saying why not."""
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
        for key, value in given.items():
            if key in ("layer", "backward_layer") and isinstance(value, Layer):
                obj[key] = value
            else:
                obj[key] = self.constant_arg(value, f"{layer_type}'s {key}", node)
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
        layer = Layer(layer_type, obj, name or self.auto_name(snake_case(layer_type)), name is not None,
                      node.lineno, keras2)
        return layer

    def merge_helper(self, helper: str, node: ast.Call, args: CallArgs) -> Any:
        layer_type, positional, defaults = MERGE_HELPERS[helper]
        if not args.positional and "inputs" not in args.keywords:
            self.fail(node.lineno, f"{helper}(...) needs a list of tensors")
        keywords = dict(args.keywords)
        inputs = args.positional[0] if args.positional else keywords.pop("inputs")
        ctor = CallArgs(args.positional[1:], keywords, args.starred, args.double_starred)
        layer = self.construct(layer_type, node, ctor, defaults, positional)
        return self.call_layer(layer, node, CallArgs([inputs], {}, False, False))

    def call_layer(self, layer: Layer, node: ast.Call, args: CallArgs) -> Any:
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
        call = Node(layer, bound, node.lineno, count, parents)
        if count == 1:
            return Tensor(call, 0)
        return [Tensor(call, i) for i in range(count)]

    def check_tensors(self, layer: Layer, key: str, value: Any, node: ast.Call) -> None:
        for leaf in leaves(value):
            if isinstance(leaf, Tensor):
                continue
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
                if isinstance(item, Unknown):
                    self.fail(node.lineno, f"the model's {key} include a tensor quizgen cannot trace: "
                                           f"{self.where(item.line)}: {item.reason}")
                if not isinstance(item, Tensor):
                    self.fail(node.lineno, f"the model's {key} must be tensors, got {short(item)}")
                if key == "inputs" and not isinstance(item.node, InputNode):
                    self.fail(node.lineno, "the model's inputs must be Input(...) tensors, not a layer's output")
            tensors[key] = items
        model = FunctionalModel(node.lineno, functional_spec(tensors["inputs"], tensors["outputs"],
                                                             node.lineno, self.where))
        self.models.append(model)
        return model

    def sequential(self, node: ast.Call, args: CallArgs) -> SequentialModel:
        self.no_star_args("Sequential(...)", node, args)
        model = SequentialModel(node.lineno)
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
        if isinstance(item, Tensor) and isinstance(item.node, InputNode):
            model.input = {item.node.key: list(item.node.dims)}
            return
        if isinstance(item, (SequentialModel, FunctionalModel)):
            self.fail(node.lineno, "a model inside a Sequential model is not supported; list its layers instead")
        if not isinstance(item, Layer):
            self.fail(node.lineno, "model.add needs a layer, e.g. model.add(Dense(1))")
        if not model.layers and model.input is None and item.keras2_input is not None:
            model.input = {item.keras2_input[1]: json_value(item.keras2_input[2])}
            if item.keras2_input[0] in ("input_shape", "input_dim"):
                self.auto_name("input_layer")  # Keras builds the model on an InputLayer of its own
        model.layers.append(item)


def sequential_spec(model: SequentialModel, where: Callable[[int], str]) -> dict[str, Any]:
    """A Sequential model's spec, exactly as quizgen has always written it."""
    inp = model.input
    if inp is None and model.layers and model.layers[0].type == "Embedding":
        inp = {"shape": [None]}
    if inp is None:
        raise CodeParseError(f"{where(model.line)}: the model has no input shape; give the first layer "
                             "input_shape=... or start with Input(shape=...)")
    return {"input": inp, "layers": [layer_object(layer) for layer in model.layers]}


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


