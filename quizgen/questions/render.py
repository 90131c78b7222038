"""Models shown to students: numbered layer listings and Keras code, from spec objects.

Everything rendered here reads back to the same spec through ``nn.code`` (the
tests check it), so a question's code and its stored answer cannot disagree.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from ..nn.spec import REQUIRED_ARGS
from ..resources import data_dir


def py(value: Any, as_tuple: bool = False) -> str:
    """A JSON value as Python source (shapes as tuples, strings single-quoted)."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (list, tuple)):
        inner = ", ".join(py(v) for v in value)
        if as_tuple:
            return f"({inner},)" if len(value) == 1 else f"({inner})"
        return f"[{inner}]"
    return repr(value)


_SHAPE_ARGS = {"input_shape", "noise_shape", "kernel_size", "strides", "dilation_rate", "pool_size"}


def layer_call(obj: dict[str, Any]) -> str:
    """``SimpleRNN(128, return_sequences=True)``: required arguments positional, the rest by name."""
    layer_type = obj["type"]
    required = REQUIRED_ARGS[layer_type]
    args = []
    for name in required:
        value = obj[name]
        args.append(layer_call(value) if name == "layer" else py(value, name in _SHAPE_ARGS))
    for name, value in obj.items():
        if name == "type" or name in required:
            continue
        args.append(f"{name}={py(value, name in _SHAPE_ARGS)}")
    return f"{layer_type}({', '.join(args)})"


def input_call(spec: dict[str, Any]) -> str:
    (key, dims), = spec["input"].items()
    return f"Input({key}={py(dims, as_tuple=True)})"


def listing(spec: dict[str, Any], input_label: str) -> str:
    """A numbered layer list, the way the questions refer to "layer 2"."""
    lines = [f"{input_label}: {input_call(spec)}"]
    lines += [f"{i}. {layer_call(layer)}" for i, layer in enumerate(spec["layers"], start=1)]
    return "\n".join(lines)


def _layer_types(obj: dict[str, Any], out: list[str]) -> None:
    if obj["type"] not in out:
        out.append(obj["type"])
    if "layer" in obj:
        _layer_types(obj["layer"], out)


def keras_code(spec: dict[str, Any], seed_style: bool = False) -> str:
    """A notebook cell that builds the model and prints its summary.

    ``seed_style`` writes a single-layer model the way the textbook's cells do,
    with Keras 2's ``input_shape=`` on the layer; a fixed batch size becomes
    Keras 3's ``Input(batch_shape=...)`` with the Keras 2 spelling in a comment.
    """
    types: list[str] = []
    for layer in spec["layers"]:
        _layer_types(layer, types)
    (key, dims), = spec["input"].items()
    layer_lines = [f"model.add({layer_call(layer)})" for layer in spec["layers"]]
    if seed_style and key == "shape":
        first = dict(spec["layers"][0])
        first["input_shape"] = dims
        layer_lines[0] = f"model.add({layer_call(first)})"
        imports, head = types, []
    else:
        imports = ["Input", *types]
        head = [f"model.add({input_call(spec)})"]
        if seed_style:
            legacy = dict(spec["layers"][0])
            legacy["batch_input_shape"] = dims
            head.insert(0, f"# Keras 2: {layer_call(legacy)}")
    package = "tensorflow.keras" if seed_style else "keras"
    return "\n".join([
        f"from {package}.models import Sequential",
        f"from {package}.layers import {', '.join(imports)}",
        "",
        "model = Sequential()",
        *head,
        *layer_lines,
        "model.summary()",
    ])


@cache
def _numpy_template() -> str:
    return (data_dir() / "code" / "numpy_rnn.txt").read_text(encoding="utf-8")


def numpy_rnn_code(timesteps: int, input_dim: int, hidden_units: int) -> str:
    """The seed's numpy RNN cell with the sizes filled in."""
    return _numpy_template().format(timesteps=timesteps, input_dim=input_dim, hidden_units=hidden_units).rstrip("\n")


def ko_ro(n: int) -> str:
    """The particle 으로/로 after a number read in Korean (30으로, 20으로, 5로, 1로)."""
    if n % 10:
        return "로" if n % 10 in (1, 2, 4, 5, 7, 8, 9) else "으로"
    return "으로"  # 십, 백, 천, 만 all end in a consonant other than ㄹ
