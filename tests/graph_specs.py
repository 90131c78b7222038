"""Seeded random graph and Sequential specs over every layer and option quizgen knows.

The tests hold the solver to real Keras on these (tests/test_graph_vs_keras.py) and
the benchmark times them (bench/bench_graph.py). A spec grows one layer at a time;
the generator picks what to call next from the shapes the solver computed so far
(so most specs are valid and reach deep), and now and then deliberately proposes a
layer Keras should refuse (a kernel longer than its input, widths that do not add,
an initial state of the wrong size...), ending the spec there. A wrong solver rule
cannot hide behind this: Keras is asked about every layer of the final spec.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from quizgen.errors import SpecError
from quizgen.nn.graph import call_shapes, parse_graph
from quizgen.nn.layers import apply
from quizgen.nn.layers.base import Fail, Outputs, is_multi

VOCAB = (1000, 5000, 10000)
EMBED = (8, 16, 32, 64)
UNITS = (4, 8, 16, 32)
FILTERS = (4, 8, 16)
SEQ = (None, 6, 10, 20)
IMAGE = (8, 12, 16, 28)
MASK_ZERO_RATE = 0.15  # how often an Embedding masks its zeros (bench/bench_graph_fuzz.py --masks raises it)


class _Builder:
    """A graph spec under construction, with the solver's shapes of every tensor so far."""

    def __init__(self, rng: random.Random, prefix: str = ""):
        self.rng = rng
        self.prefix = prefix
        self.inputs: list[dict[str, Any]] = []
        self.layers: list[dict[str, Any]] = []
        self.shapes: dict[str, Any] = {}   # ref text -> shape
        self.multi: dict[str, int] = {}    # layer name -> number of outputs
        self.counts: dict[str, int] = {}
        self.failed = False

    def name(self, base: str) -> str:
        n = self.counts.get(base, 0)
        self.counts[base] = n + 1
        return f"{self.prefix}{base}_{n}"

    def add_input(self, shape: list[Any], batch: int | None = None) -> str:
        name = self.name("in")
        obj: dict[str, Any] = {"name": name}
        if batch is not None:
            obj["batch_shape"] = [batch, *shape]
            self.shapes[name] = (batch, *shape)
        else:
            obj["shape"] = shape
            self.shapes[name] = (None, *shape)
        self.inputs.append(obj)
        return name

    def refs(self, rank: int | None = None, pred: Callable[[Any], bool] | None = None) -> list[str]:
        out = []
        for ref, shape in self.shapes.items():
            if rank is not None and len(shape) != rank:
                continue
            if pred is not None and not pred(shape):
                continue
            out.append(ref)
        return out

    def call(self, layer: dict[str, Any], call: list[Any], kwargs: dict[str, Any] | None = None) -> str | None:
        """Append the layer if the solver accepts it; a refused layer ends the spec (kept: Keras must refuse it too)."""
        name = self.name(layer["type"].lower())
        if self.rng.random() < 0.06:  # a frozen layer (#18.1): its weights count as non-trainable
            layer = {**layer, "trainable": False}
        obj = {"name": name, **layer, "call": call}
        if kwargs:
            obj["call_kwargs"] = kwargs
        self.layers.append(obj)
        try:
            spec = parse_graph({"inputs": self.inputs, "layers": self.layers, "outputs": [self._first_ref()]})
            gl = spec.layers[-1]
            tensors: dict[str, Any] = {}
            for ref, shape in self.shapes.items():
                base, _, index = ref.partition(":")
                if base in self.multi:
                    tensors.setdefault(base, [None] * self.multi[base])[int(index)] = shape
                else:
                    tensors[ref] = shape
            tensors = {k: (Outputs(v) if k in self.multi else v) for k, v in tensors.items()}
            out, _ = apply(gl.layer, call_shapes(gl, tensors))
        except (SpecError, Fail):
            self.failed = True
            return None
        return self._record_output(name, out)

    def call_again(self, of: str, call: list[Any]) -> str | None:
        """A shared layer (#18.4): an earlier layer called on another tensor; its output is ``of@k``."""
        k = 1 + sum(1 for obj in self.layers if obj.get("call_of") == of)
        name = f"{of}@{k}"
        self.layers.append({"call_of": of, "call": call})
        try:
            spec = parse_graph({"inputs": self.inputs, "layers": self.layers, "outputs": [self._first_ref()]})
            gl = spec.layers[-1]
            out, _ = apply(gl.layer, call_shapes(gl, {r: s for r, s in self.shapes.items() if ":" not in r}))
        except (SpecError, Fail, KeyError):
            self.failed = True
            return None
        return self._record_output(name, out)

    def _record_output(self, name: str, out: Any) -> str:
        """``name``'s output shapes (each tensor of a multi-output layer as ``name:i``)."""
        if is_multi(out):
            self.multi[name] = len(out)
            for i, shape in enumerate(out):
                self.shapes[f"{name}:{i}"] = shape
        else:
            self.shapes[name] = out
        return name

    def _first_ref(self) -> str:
        return next(iter(self.shapes))

    def spec(self, outputs: list[str]) -> dict[str, Any]:
        return {"inputs": self.inputs, "layers": self.layers, "outputs": outputs}


def _maybe(rng: random.Random, p: float) -> bool:
    return rng.random() < p


# ---------------------------------------------------------------- proposals by input rank

def _ids_step(b: _Builder, ref: str) -> None:
    rng = b.rng
    b.call({"type": "Embedding", "input_dim": rng.choice(VOCAB), "output_dim": rng.choice(EMBED),
            **({"mask_zero": True} if _maybe(rng, MASK_ZERO_RATE) else {})}, [ref])


def _rnn_layer(rng: random.Random, units: int | None = None) -> dict[str, Any]:
    cell = rng.choice(("SimpleRNN", "LSTM", "GRU"))
    obj: dict[str, Any] = {"type": cell, "units": units or rng.choice(UNITS)}
    if _maybe(rng, 0.4):
        obj["return_sequences"] = True
    if _maybe(rng, 0.5):
        obj["return_state"] = True
    if _maybe(rng, 0.1):
        obj["use_bias"] = False
    if cell == "GRU" and _maybe(rng, 0.2):
        obj["reset_after"] = False
    return obj


def _seq_step(b: _Builder, ref: str, bad: bool) -> None:
    rng = b.rng
    shape = b.shapes[ref]
    d = shape[-1]
    t = shape[1]
    choice = rng.randrange(27)
    if choice >= 24:
        _new_seq_step(b, ref, bad)
        return
    if choice < 4:
        layer = _rnn_layer(rng)
        if _maybe(rng, 0.5):
            src = [r for r in b.multi if b.layers and _is_rnn_states(b, r)]
            if src:
                r = rng.choice(src)
                n = b.multi[r]
                state_refs = [f"{r}:{i}" for i in range(1, n)]
                units = b.shapes[state_refs[0]][-1]
                cell = {1: rng.choice(("SimpleRNN", "GRU")), 2: "LSTM"}.get(len(state_refs), "LSTM")
                layer = {**_rnn_layer(rng, units), "type": cell}
                if len(state_refs) == 4:  # a Bidirectional LSTM's states: take one direction's
                    state_refs = state_refs[:2]
                    layer["type"] = "LSTM"
                if bad:
                    layer["units"] = units * 2 if _maybe(rng, 0.5) else units
                    if layer["units"] == units:
                        state_refs = state_refs[:1] if len(state_refs) > 1 else state_refs * 2
                b.call(layer, [ref], {"initial_state": state_refs})
                return
        b.call(layer, [ref])
    elif choice < 6:
        inner = _rnn_layer(rng)
        mode = rng.choice(("concat", "concat", "sum", "ave", "mul", None))
        obj: dict[str, Any] = {"type": "Bidirectional", "layer": inner, "merge_mode": mode}
        b.call(obj, [ref])
    elif choice < 8:
        k = rng.choice((2, 3, 5))
        if bad and t:
            k = t + 1
        obj = {"type": rng.choice(("Conv1D", "Conv1D", "SeparableConv1D")), "filters": rng.choice(FILTERS),
               "kernel_size": k, "padding": rng.choice(("valid", "same"))}
        if _maybe(rng, 0.2):
            obj["strides"] = 2
        elif _maybe(rng, 0.2):
            obj["dilation_rate"] = 2
        if obj["type"] == "Conv1D" and _maybe(rng, 0.15):
            obj["padding"] = "causal"
        if obj["type"] == "SeparableConv1D" and _maybe(rng, 0.3):
            obj["depth_multiplier"] = 2
        b.call(obj, [ref])
    elif choice < 9:
        b.call({"type": rng.choice(("MaxPooling1D", "AveragePooling1D")), "pool_size": rng.choice((2, 3)),
                **({"strides": 1} if _maybe(rng, 0.3) else {}),
                **({"padding": "same"} if _maybe(rng, 0.3) else {})}, [ref])
    elif choice < 10:
        b.call({"type": rng.choice(("GlobalMaxPooling1D", "GlobalAveragePooling1D")),
                **({"keepdims": True} if _maybe(rng, 0.2) else {})}, [ref])
    elif choice < 12:
        others = b.refs(3, lambda s: s[-1] is not None) or [ref]
        other = rng.choice(others)
        kind = rng.choice(("Attention", "Attention", "AdditiveAttention"))
        obj = {"type": kind}
        if kind == "Attention" and _maybe(rng, 0.3):
            obj["use_scale"] = True
        if kind == "Attention" and _maybe(rng, 0.3):
            obj["score_mode"] = "concat"
        if kind == "AdditiveAttention" and _maybe(rng, 0.3):
            obj["use_scale"] = False
        items = [ref, other] if _maybe(rng, 0.7) else [ref, other, other]
        if not bad:
            same_width = [r for r in others if b.shapes[r][-1] == d and b.shapes[r][1] == t]
            items = [ref, rng.choice(same_width or [ref])]
        kwargs = {"return_attention_scores": True} if _maybe(rng, 0.15) else None
        b.call(obj, [items], kwargs)
    elif choice < 14:
        heads = rng.choice((1, 2, 4))
        width = d or 8
        key_dim = rng.choice((max(1, width // heads), width, 4))
        obj = {"type": "MultiHeadAttention", "num_heads": heads, "key_dim": key_dim}
        if _maybe(rng, 0.2):
            obj["value_dim"] = rng.choice((4, 8))
        if _maybe(rng, 0.15):
            obj["use_bias"] = False
        if _maybe(rng, 0.15):
            obj["output_shape"] = rng.choice((8, [4, 2]))
        if _maybe(rng, 0.1):
            obj["use_gate"] = True
        others = b.refs(3, lambda s: s[-1] is not None) or [ref]
        other = rng.choice(others)
        call = [ref, ref] if _maybe(rng, 0.5) else [ref, other]
        kwargs: dict[str, Any] = {}
        if _maybe(rng, 0.2):
            kwargs["key"] = rng.choice(others) if bad else call[1]
        if _maybe(rng, 0.15):
            kwargs["use_causal_mask"] = True
        if _maybe(rng, 0.1) and call[0] == call[1]:
            kwargs["return_attention_scores"] = True
        b.call(obj, call, kwargs or None)
    elif choice < 15:
        b.call({"type": "Dense", "units": rng.choice(UNITS), **({"activation": "relu"} if _maybe(rng, 0.5) else {})},
               [ref])
    elif choice < 16:
        b.call({"type": rng.choice(("LayerNormalization", "BatchNormalization")),
                **({"epsilon": 1e-6} if _maybe(rng, 0.3) else {})}, [ref])
    elif choice < 17:
        b.call(_plain(rng), [ref])
    elif choice < 18:
        others = b.refs(3)
        other = rng.choice(others)
        if not bad:
            same = [r for r in others if b.shapes[r] == shape]
            other = rng.choice(same or [ref])
        kind = rng.choice(("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"))
        obj = {"type": kind}
        if kind == "Concatenate" and _maybe(rng, 0.3):
            obj["axis"] = 1
        b.call(obj, [[ref, other]])
    elif choice < 19:
        b.call({"type": "TimeDistributed", "layer": {"type": "Dense", "units": rng.choice(UNITS)}}, [ref])
    elif choice < 20:
        b.call({"type": "Permute", "dims": [2, 1]}, [ref])
    elif choice < 21:
        if t and d:
            target = [t * d // 2, 2] if (t * d) % 2 == 0 else [-1]
            if bad:
                target = [t * d + 1]
            b.call({"type": "Reshape", "target_shape": target}, [ref])
        else:
            b.call({"type": "Reshape", "target_shape": [-1, 2] if not bad else [3, 3]}, [ref])
    elif choice < 22:
        b.call({"type": "Flatten"}, [ref])
    elif choice < 23:
        others = b.refs(3)
        other = rng.choice(others)
        b.call({"type": "Dot", "axes": rng.choice(([2, 2], [1, 1], -1, 2))}, [[ref, other]])
    else:
        b.call({"type": "Conv1D", "filters": rng.choice(FILTERS), "kernel_size": 3, "padding": "same",
                "data_format": "channels_first"} if t else {"type": "Dense", "units": 4}, [ref])


def _plain(rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(("Dropout", "SpatialDropout1D", "Masking", "Activation", "ReLU", "LeakyReLU", "ELU",
                       "Softmax", "GaussianNoise", "GaussianDropout", "AlphaDropout", "Rescaling"))
    if kind in ("Dropout", "SpatialDropout1D", "GaussianDropout", "AlphaDropout"):
        return {"type": kind, "rate": rng.choice((0.1, 0.5))}
    if kind == "Activation":
        return {"type": kind, "activation": rng.choice(("relu", "tanh", "softmax"))}
    if kind == "ReLU":
        return {"type": kind, **({"max_value": 6.0} if _maybe(rng, 0.5) else {}),
                **({"negative_slope": 0.1} if _maybe(rng, 0.3) else {})}
    if kind == "LeakyReLU":
        return {"type": kind, **({"negative_slope": 0.2} if _maybe(rng, 0.5) else {})}
    if kind == "ELU":
        return {"type": kind, "alpha": rng.choice((0.5, 1.0))}
    if kind == "Softmax":
        return {"type": kind, **({"axis": 1} if _maybe(rng, 0.3) else {})}
    if kind == "GaussianNoise":
        return {"type": kind, "stddev": 0.1}
    if kind == "Rescaling":
        return {"type": kind, "scale": 0.5, **({"offset": -1.0} if _maybe(rng, 0.3) else {})}
    return {"type": kind, "mask_value": 0.0}


def _new_seq_step(b: _Builder, ref: str, bad: bool) -> None:
    """The 1-D layers of #18: transposed convolutions, upsampling, padding, cropping, PReLU, Normalization."""
    rng = b.rng
    shape = b.shapes[ref]
    t = shape[1]
    choice = rng.randrange(6)
    if choice == 0:
        obj: dict[str, Any] = {"type": "Conv1DTranspose", "filters": rng.choice(FILTERS),
                               "kernel_size": rng.choice((1, 2, 3)), "padding": rng.choice(("valid", "same"))}
        if _maybe(rng, 0.4):
            obj["strides"] = rng.choice((2, 3))
            if _maybe(rng, 0.3):
                obj["output_padding"] = obj["strides"] if bad else 1
        elif _maybe(rng, 0.2):
            obj["dilation_rate"] = 2
        b.call(obj, [ref])
    elif choice == 1:
        b.call({"type": "UpSampling1D", **({"size": 3} if _maybe(rng, 0.5) else {})}, [ref])
    elif choice == 2:
        b.call({"type": "ZeroPadding1D", **({"padding": rng.choice((2, [0, 3]))} if _maybe(rng, 0.6) else {})},
               [ref])
    elif choice == 3:
        crop = [1, 1] if not bad or not t else [t, 0]
        b.call({"type": "Cropping1D", "cropping": rng.choice((crop, [0, 1])) if not bad else crop}, [ref])
    elif choice == 4:
        shared = rng.choice((None, [1], [1, 2] if not bad else [3]))
        b.call({"type": "PReLU", **({"shared_axes": shared} if shared is not None else {})}, [ref])
    else:
        b.call({"type": "Normalization", **({"axis": rng.choice((-1, [1, 2], None))} if _maybe(rng, 0.4) else {})},
               [ref])


def _is_rnn_states(b: _Builder, name: str) -> bool:
    layer = next((lay for lay in b.layers if lay.get("name") == name), None)
    if layer is None:
        return False
    inner = layer.get("layer", layer)
    return inner.get("type") in ("SimpleRNN", "LSTM", "GRU") and bool(inner.get("return_state")) \
        and layer.get("merge_mode", "concat") is not None


def _vec_step(b: _Builder, ref: str, bad: bool) -> None:
    rng = b.rng
    shape = b.shapes[ref]
    d = shape[-1]
    choice = rng.randrange(11)
    if choice == 10:
        b.call(rng.choice(({"type": "PReLU"}, {"type": "Normalization"}, _plain(rng))), [ref])
        return
    if choice < 3:
        b.call({"type": "Dense", "units": rng.choice(UNITS), **({"use_bias": False} if _maybe(rng, 0.1) else {})},
               [ref])
    elif choice < 4:
        b.call({"type": "RepeatVector", "n": rng.choice((3, 5))}, [ref] if not bad else [rng.choice(b.refs())])
    elif choice < 5:
        b.call(_plain(rng) if _maybe(rng, 0.5) else {"type": "BatchNormalization"}, [ref])
    elif choice < 7:
        others = b.refs(2, lambda s: s[-1] is not None) or [ref]
        same = [r for r in others if b.shapes[r][-1] == d]
        other = rng.choice(others if bad else (same or [ref]))
        kind = rng.choice(("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"))
        items = [ref, other] if kind == "Subtract" or _maybe(rng, 0.7) else [ref, other, rng.choice(same or [ref])]
        b.call({"type": kind}, [items])
    elif choice < 8:
        others = b.refs(2, lambda s: s[-1] is not None) or [ref]
        same = [r for r in others if b.shapes[r][-1] == d]
        other = rng.choice(others if bad else (same or [ref]))
        b.call(
            {"type": "Dot", "axes": rng.choice((1, -1, [1, 1])), **({"normalize": True} if _maybe(rng, 0.2) else {})},
            [[ref, other]],
        )
    elif choice < 9:
        if d and d % 2 == 0:
            b.call({"type": "Reshape", "target_shape": [d // 2, 2] if not bad else [d, 2]}, [ref])
        else:
            b.call({"type": "Reshape", "target_shape": [-1, 1]}, [ref])
    else:
        b.call({"type": "Activation", "activation": "softmax"}, [ref])


def _img_step(b: _Builder, ref: str, bad: bool) -> None:
    rng = b.rng
    shape = b.shapes[ref]
    choice = rng.randrange(12)
    if choice >= 10:
        _new_img_step(b, ref, bad)
        return
    if choice < 4:
        k = rng.choice((1, 3, 5, [3, 1], [2, 2]))
        if bad:
            k = (shape[1] or 8) + 1
        kind = rng.choice(("Conv2D", "Conv2D", "Conv2D", "SeparableConv2D", "DepthwiseConv2D"))
        obj: dict[str, Any] = {"type": kind, "kernel_size": k}
        if kind != "DepthwiseConv2D":
            obj["filters"] = rng.choice(FILTERS)
        if kind != "Conv2D" and _maybe(rng, 0.3):
            obj["depth_multiplier"] = 2
        if _maybe(rng, 0.3):
            obj["padding"] = "same"
        if _maybe(rng, 0.25):
            obj["strides"] = rng.choice((2, [2, 1]))
        elif _maybe(rng, 0.15):
            obj["dilation_rate"] = 2
        if kind == "Conv2D" and _maybe(rng, 0.1) and shape[-1] and shape[-1] % 2 == 0:
            obj["groups"] = 2
            obj["filters"] = 8
        if _maybe(rng, 0.2):
            obj["activation"] = "relu"
        if _maybe(rng, 0.1):
            obj["data_format"] = "channels_first"
        b.call(obj, [ref])
    elif choice < 6:
        kind = rng.choice(("MaxPooling2D", "MaxPooling2D", "AveragePooling2D"))
        obj = {"type": kind}
        if kind == "AveragePooling2D" or _maybe(rng, 0.4):
            obj["pool_size"] = rng.choice((2, 3, [2, 1]))
        if _maybe(rng, 0.3):
            obj["strides"] = rng.choice((1, 2, [1, 2]))
        if _maybe(rng, 0.3):
            obj["padding"] = "same"
        if _maybe(rng, 0.1):
            obj["data_format"] = "channels_first"
        b.call(obj, [ref])
    elif choice < 7:
        b.call({"type": rng.choice(("GlobalAveragePooling2D", "GlobalMaxPooling2D")),
                **({"keepdims": True} if _maybe(rng, 0.2) else {}),
                **({"data_format": "channels_first"} if _maybe(rng, 0.15) else {})}, [ref])
    elif choice < 8:
        b.call({"type": "Flatten"}, [ref])
    elif choice < 9:
        b.call({"type": "BatchNormalization"} if _maybe(rng, 0.5) else {"type": "Dropout", "rate": 0.25}, [ref])
    else:
        b.call({"type": "Permute", "dims": [3, 1, 2] if not bad else [2, 1]}, [ref])


def _new_img_step(b: _Builder, ref: str, bad: bool) -> None:
    """The 2-D layers of #18: Conv2DTranspose, UpSampling2D, ZeroPadding2D, Cropping2D, PReLU, Rescaling."""
    rng = b.rng
    shape = b.shapes[ref]
    choice = rng.randrange(6)
    first = _maybe(rng, 0.1)
    if choice == 0:
        obj: dict[str, Any] = {"type": "Conv2DTranspose", "filters": rng.choice(FILTERS),
                               "kernel_size": rng.choice((2, 3, [3, 1])), "padding": rng.choice(("valid", "same"))}
        if _maybe(rng, 0.5):
            obj["strides"] = rng.choice((2, [2, 1]))
            if _maybe(rng, 0.3):
                obj["output_padding"] = 1 if obj["strides"] == 2 else [1, 0]
        if first:
            obj["data_format"] = "channels_first"
        b.call(obj, [ref])
    elif choice == 1:
        b.call({"type": "UpSampling2D", **({"size": rng.choice((3, [2, 1]))} if _maybe(rng, 0.5) else {}),
                **({"data_format": "channels_first"} if first else {})}, [ref])
    elif choice == 2:
        pad = rng.choice((1, [1, 2], [[0, 1], [2, 0]]))
        b.call({"type": "ZeroPadding2D", "padding": pad if not bad else -1}, [ref])
    elif choice == 3:
        side = shape[1] or 4
        crop = rng.choice((1, [1, 0], [[1, 0], [0, 1]])) if not bad else [[side, 0], [0, 0]]
        b.call({"type": "Cropping2D", "cropping": crop}, [ref])
    elif choice == 4:
        b.call({"type": "PReLU", "shared_axes": rng.choice(([1, 2], [1, 2, 3], [3]))}, [ref])
    else:
        b.call(_plain(rng) if _maybe(rng, 0.5) else {"type": "Rescaling", "scale": 1 / 255}, [ref])


def _volume_step(b: _Builder, ref: str, bad: bool) -> None:
    rng = b.rng
    shape = b.shapes[ref]
    if _maybe(rng, 0.7):
        k = rng.choice((1, 2, 3, [3, 1, 2]))
        if bad:
            k = (shape[1] or 4) + 1
        b.call({"type": "Conv3D", "filters": rng.choice(FILTERS), "kernel_size": k,
                **({"padding": "same"} if _maybe(rng, 0.3) else {}),
                **({"strides": 2} if _maybe(rng, 0.3) else {})}, [ref])
    else:
        b.call({"type": "Flatten"}, [ref])


def random_graph(rng: random.Random, n_layers: int = 8, bad_rate: float = 0.08, chain: bool = False) -> dict[str, Any]:
    """One graph spec of up to ``n_layers`` layers (fewer when a refused layer ends it)."""
    b = _Builder(rng)
    theme = rng.choice(("text", "text", "seq", "image", "image", "vector", "multi", "volume"))
    batch = rng.choice((None, None, None, None, 4)) if not chain else None
    if theme == "text":
        b.add_input([rng.choice(SEQ)], batch)
    elif theme == "seq":
        b.add_input([rng.choice(SEQ), rng.choice((4, 8, 16))], batch)
    elif theme == "image":
        side = rng.choice(IMAGE)
        b.add_input([side, rng.choice((side, side // 2)), rng.choice((1, 3))], batch)
    elif theme == "vector":
        b.add_input([rng.choice((8, 16, 32))], batch)
    elif theme == "volume":
        side = rng.choice((4, 6, 8))
        b.add_input([side, side, rng.choice((side, 3)), rng.choice((1, 2))], batch)
    else:
        b.add_input([rng.choice(SEQ)], batch)
        b.add_input([rng.choice(SEQ)], batch)
        if _maybe(rng, 0.5):
            b.add_input([rng.choice((8, 16))], batch)
    last: str | None = None
    while len(b.layers) < n_layers and not b.failed:
        bad = _maybe(rng, bad_rate)
        if _maybe(rng, 0.05) and last is not None and ":" not in last:
            _nested_step(b, last, rng)
            if b.failed or not b.layers:
                break
            last = b.layers[-1].get("name", last)
            continue
        if not chain and _maybe(rng, 0.07) and _share(b, rng, bad):
            newest = b.layers[-1].get("call_of")
            last = None if b.failed else next((r for r in b.shapes if r.startswith(f"{newest}@")), None)
            continue
        pool = [last] if chain and last else b.refs()
        if not chain and _maybe(rng, 0.6) and last is not None:
            ref = last
        else:
            ref = rng.choice(pool)
        shape = b.shapes[ref]
        if len(shape) == 2 and ref in {i["name"] for i in b.inputs} and theme in ("text", "multi"):
            _ids_step(b, ref)
        elif len(shape) == 3:
            _seq_step(b, ref, bad)
        elif len(shape) == 2:
            _vec_step(b, ref, bad)
        elif len(shape) == 4:
            _img_step(b, ref, bad)
        elif len(shape) == 5:
            _volume_step(b, ref, bad)
        else:
            b.call({"type": "Flatten"}, [ref])
        if b.failed or not b.layers:
            break
        newest = b.layers[-1]["name"]
        if newest in b.multi:
            last = f"{newest}:{rng.randrange(b.multi[newest])}" if not chain else None
            if chain:
                break
        else:
            last = newest
    if not b.layers:
        b.call({"type": "Flatten"}, [b.inputs[0]["name"]])
    outputs = _outputs(b, rng)
    return b.spec(outputs)


def _nested_step(b: _Builder, ref: str, rng: random.Random) -> None:
    """A model used as a layer (#18.4): a small Sequential (built on its first call, or with an
    Input of the shape it is called on), sometimes frozen."""
    shape = b.shapes[ref]
    if len(shape) in (2, 3):
        inner: list[dict[str, Any]] = [{"type": "Dense", "units": rng.choice(UNITS)}]
        if _maybe(rng, 0.5):
            inner.append(rng.choice(({"type": "Dropout", "rate": 0.2}, {"type": "BatchNormalization"},
                                     {"type": "Dense", "units": 4})))
    elif len(shape) == 4:
        inner = [{"type": "Conv2D", "filters": 4, "kernel_size": 1}, {"type": "BatchNormalization"}]
    else:
        inner = [{"type": "Flatten"}]
    model: dict[str, Any] = {"type": "Sequential", "layers": inner}
    if _maybe(rng, 0.4) and all(d is not None for d in shape[1:]):
        model["input"] = {"shape": list(shape[1:])}
    if _maybe(rng, 0.2):
        model["trainable"] = False
    b.call(model, [ref])


def _share(b: _Builder, rng: random.Random, bad: bool) -> bool:
    """Call an earlier one-tensor layer again, on a tensor of the shape it first took (another
    feature size when ``bad``); False when there is none to share."""
    candidates = []
    for obj in b.layers:
        call = obj.get("call")
        if "call_of" in obj or obj.get("call_kwargs") or obj["name"] in b.multi or not call or len(call) != 1 \
                or type(call[0]) is not str or call[0] not in b.shapes:
            continue
        shape = b.shapes[call[0]]
        others = [r for r, s in b.shapes.items() if r != call[0] and "@" not in r and
                  (len(s) == len(shape) if bad else s == shape)]
        if others:
            candidates.append((obj["name"], others))
    if not candidates:
        return False
    of, others = rng.choice(candidates)
    b.call_again(of, [rng.choice(others)])
    return True


def _outputs(b: _Builder, rng: random.Random) -> list[str]:
    last = b.layers[-1]
    if "call_of" in last:
        newest = next((r.split(":")[0] for r in reversed(list(b.shapes)) if r.startswith(last["call_of"] + "@")),
                      last["call_of"])
    else:
        newest = last["name"]
    main = f"{newest}:0" if newest in b.multi else newest
    out = [main]
    if _maybe(rng, 0.3):
        others = [r for r in b.shapes if r != main and r.split(":")[0] not in {i["name"] for i in b.inputs}]
        if others:
            extra = rng.choice(others)
            if extra not in out:
                out.append(extra)
    return out


def as_sequential(graph: dict[str, Any]) -> dict[str, Any] | None:
    """The same model as a Sequential spec, when it is one chain from a single input to its output."""
    if len(graph["inputs"]) != 1 or len(graph["outputs"]) != 1:
        return None
    previous = graph["inputs"][0]["name"]
    layers = []
    for obj in graph["layers"]:
        if obj.get("call") != [previous] or obj.get("call_kwargs") or "call_of" in obj:
            return None
        layers.append({k: v for k, v in obj.items() if k not in ("name", "call", "call_kwargs")})
        previous = obj["name"]
    if graph["outputs"] != [previous]:
        return None
    inp = {k: v for k, v in graph["inputs"][0].items() if k != "name"}
    return {"input": inp, "layers": layers}


def random_specs(n: int, seed: int, n_layers: int = 8) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [random_graph(rng, n_layers) for _ in range(n)]


# ---------------------------------------------------------------- textbook models
# The functional models the textbooks build, with sizes drawn from textbook lists;
# each has exactly 10 layers (the benchmark's unit). Every call returns a valid spec.

TEXT_VOCAB = (5000, 10000, 20000, 30000)
TEXT_EMBED = (64, 100, 128, 256)
TEXT_UNITS = (64, 128, 256, 512)
TEXT_LEN = (None, 50, 100, 200)


def _layer(name: str, call: list[Any], kwargs: dict[str, Any] | None = None, **ctor: Any) -> dict[str, Any]:
    obj = {"name": name, **ctor, "call": call}
    if kwargs:
        obj["call_kwargs"] = kwargs
    return obj


def seq2seq_attention(rng: random.Random) -> dict[str, Any]:
    units, embed = rng.choice(TEXT_UNITS), rng.choice(TEXT_EMBED)
    src, tgt = rng.choice(TEXT_VOCAB), rng.choice(TEXT_VOCAB)
    cell = rng.choice(("LSTM", "GRU"))
    n_states = 2 if cell == "LSTM" else 1
    states = [f"enc_rnn:{i}" for i in range(1, n_states + 1)]
    return {"inputs": [{"name": "enc_in", "shape": [rng.choice(TEXT_LEN)]},
                       {"name": "dec_in", "shape": [rng.choice(TEXT_LEN)]}],
            "layers": [
                _layer("enc_emb", ["enc_in"], type="Embedding", input_dim=src, output_dim=embed),
                _layer("enc_rnn", ["enc_emb"], type=cell, units=units, return_sequences=True, return_state=True),
                _layer("dec_emb", ["dec_in"], type="Embedding", input_dim=tgt, output_dim=embed),
                _layer("dec_rnn", ["dec_emb"], {"initial_state": states}, type=cell, units=units,
                       return_sequences=True),
                _layer("attention", [["dec_rnn", "enc_rnn:0"]], type="Attention",
                       **({"use_scale": True} if rng.random() < 0.3 else {})),
                _layer("context", [["dec_rnn", "attention"]], type="Concatenate"),
                _layer("hidden", ["context"], type="Dense", units=units, activation="tanh"),
                _layer("norm", ["hidden"], type="LayerNormalization"),
                _layer("drop", ["norm"], type="Dropout", rate=rng.choice((0.1, 0.2, 0.5))),
                _layer("out", ["drop"], type="Dense", units=tgt, activation="softmax")],
            "outputs": ["out"]}


def text_cnn(rng: random.Random) -> dict[str, Any]:
    filters = rng.choice((64, 100, 128, 256))
    sizes = rng.choice(((3, 4, 5), (2, 3, 4), (3, 5, 7)))
    layers = [_layer("emb", ["ids"], type="Embedding", input_dim=rng.choice(TEXT_VOCAB),
                     output_dim=rng.choice(TEXT_EMBED))]
    for k in sizes:
        layers.append(_layer(f"conv{k}", ["emb"], type="Conv1D", filters=filters, kernel_size=k, activation="relu"))
    for k in sizes:
        layers.append(_layer(f"pool{k}", [f"conv{k}"], type="GlobalMaxPooling1D"))
    layers += [_layer("concat", [[f"pool{k}" for k in sizes]], type="Concatenate"),
               _layer("drop", ["concat"], type="Dropout", rate=0.5),
               _layer("out", ["drop"], type="Dense", units=rng.choice((1, 2, 5, 46)),
                      activation=rng.choice(("sigmoid", "softmax")))]
    return {"inputs": [{"name": "ids", "shape": [rng.choice((50, 100, 200, 400))]}], "layers": layers,
            "outputs": ["out"]}


def bilstm_attention(rng: random.Random) -> dict[str, Any]:
    units = rng.choice((32, 64, 128, 256))
    cell = rng.choice(("LSTM", "GRU"))
    forward, backward = ("bi:1", "bi:3") if cell == "LSTM" else ("bi:1", "bi:2")
    return {"inputs": [{"name": "ids", "shape": [rng.choice(TEXT_LEN)]}],
            "layers": [
                _layer("emb", ["ids"], type="Embedding", input_dim=rng.choice(TEXT_VOCAB),
                       output_dim=rng.choice(TEXT_EMBED), mask_zero=rng.random() < 0.3),
                _layer("bi", ["emb"], type="Bidirectional",
                       layer={"type": cell, "units": units, "return_sequences": True, "return_state": True}),
                _layer("state", [[forward, backward]], type="Concatenate"),
                _layer("query", ["state"], type="Reshape", target_shape=[1, 2 * units]),
                _layer("attention", [["query", "bi:0"]], type=rng.choice(("Attention", "AdditiveAttention"))),
                _layer("context", ["attention"], type="Flatten"),
                _layer("drop1", ["context"], type="Dropout", rate=0.3),
                _layer("hidden", ["drop1"], type="Dense", units=rng.choice((32, 64, 128)), activation="relu"),
                _layer("drop2", ["hidden"], type="Dropout", rate=0.3),
                _layer("out", ["drop2"], type="Dense", units=1, activation="sigmoid")],
            "outputs": ["out"]}


def transformer_block(rng: random.Random) -> dict[str, Any]:
    d = rng.choice((64, 128, 256, 512))
    heads = rng.choice((2, 4, 8))
    key_dim = rng.choice((d // heads, d))
    return {"inputs": [{"name": "ids", "shape": [rng.choice((50, 100, 200))]}],
            "layers": [
                _layer("emb", ["ids"], type="Embedding", input_dim=rng.choice(TEXT_VOCAB), output_dim=d),
                _layer("mha", ["emb", "emb"], type="MultiHeadAttention", num_heads=heads, key_dim=key_dim),
                _layer("drop1", ["mha"], type="Dropout", rate=0.1),
                _layer("add1", [["emb", "drop1"]], type="Add"),
                _layer("ln1", ["add1"], type="LayerNormalization", epsilon=1e-6),
                _layer("ffn1", ["ln1"], type="Dense", units=rng.choice((2, 4)) * d, activation="relu"),
                _layer("ffn2", ["ffn1"], type="Dense", units=d),
                _layer("drop2", ["ffn2"], type="Dropout", rate=0.1),
                _layer("add2", [["ln1", "drop2"]], type="Add"),
                _layer("ln2", ["add2"], type="LayerNormalization", epsilon=1e-6)],
            "outputs": ["ln2"]}


def mnist_cnn(rng: random.Random) -> dict[str, Any]:
    side = rng.choice((28, 32))
    c1, c2 = rng.choice(((32, 64), (16, 32), (64, 128)))
    k = rng.choice((3, 5))
    pad = rng.choice(("valid", "same"))
    return {"inputs": [{"name": "image", "shape": [side, side, rng.choice((1, 3))]}],
            "layers": [
                _layer("conv1", ["image"], type="Conv2D", filters=c1, kernel_size=k, activation="relu", padding=pad),
                _layer("pool1", ["conv1"], type="MaxPooling2D"),
                _layer("conv2", ["pool1"], type="Conv2D", filters=c2, kernel_size=3, activation="relu"),
                _layer("pool2", ["conv2"], type="MaxPooling2D", pool_size=2),
                _layer("bn", ["pool2"], type="BatchNormalization"),
                _layer("flat", ["bn"], type="Flatten"),
                _layer("drop1", ["flat"], type="Dropout", rate=0.5),
                _layer("hidden", ["drop1"], type="Dense", units=rng.choice((64, 128)), activation="relu"),
                _layer("drop2", ["hidden"], type="Dropout", rate=0.5),
                _layer("out", ["drop2"], type="Dense", units=10, activation="softmax")],
            "outputs": ["out"]}


TEXTBOOK = (seq2seq_attention, text_cnn, bilstm_attention, transformer_block, mnist_cnn)


def textbook_graphs(n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` distinct 10-layer textbook graph specs."""
    import json

    rng = random.Random(seed)
    seen, out = set(), []
    attempts = 0
    while len(out) < n:
        attempts += 1
        if attempts > 50 * n:
            raise RuntimeError(f"only {len(out)} distinct textbook graphs found")
        spec = rng.choice(TEXTBOOK)(rng)
        key = json.dumps(spec, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(spec)
    return out


# ---------------------------------------------------------------- masked graphs
# Graphs in which masks travel (Embedding(mask_zero=True), Masking) through branches that
# merge again: Keras adds mask operations to the graph (nn/masks.py) and they can move a
# layer up or down in model.layers, which random_graph's long chains rarely show.

def _masked_step(b: _Builder, ref: str, rng: random.Random) -> None:
    shape = b.shapes[ref]
    d = shape[-1]
    choice = rng.randrange(14)
    seq3 = b.refs(3, lambda s: s[-1] is not None and s[1] == shape[1])
    if choice == 13:
        if _share(b, rng, False):
            return
        choice = 0
    if choice == 0:
        b.call({"type": "Dense", "units": rng.choice((3, 4, 8))}, [ref])
    elif choice == 1:
        b.call(rng.choice(({"type": "Dropout", "rate": 0.1}, {"type": "Softmax"}, {"type": "BatchNormalization"},
                           {"type": "LayerNormalization"}, {"type": "Conv1D", "filters": 4, "kernel_size": 1},
                           {"type": "ReLU"})), [ref])
    elif choice == 2:
        b.call({**_rnn_layer(rng), "return_sequences": _maybe(rng, 0.8)}, [ref])
    elif choice == 3:
        b.call({"type": "Bidirectional", "layer": {"type": rng.choice(("LSTM", "GRU")), "units": 3,
                                                    "return_sequences": _maybe(rng, 0.8)},
                "merge_mode": rng.choice(("concat", "sum", None))}, [ref])
    elif choice == 4:
        other = rng.choice(seq3 or [ref])
        b.call({"type": "MultiHeadAttention", "num_heads": 1, "key_dim": rng.choice((2, 7)),
                **({"output_shape": 3} if _maybe(rng, 0.3) else {})}, [rng.choice((ref, other)), other])
    elif choice == 5:
        other = rng.choice([r for r in seq3 if b.shapes[r][-1] == d] or [ref])
        b.call({"type": rng.choice(("Attention", "AdditiveAttention"))}, [[ref, other]])
    elif choice in (6, 7):
        other = rng.choice(seq3 or [ref])
        b.call({"type": "Concatenate"}, [[ref, other] if _maybe(rng, 0.5) else [other, ref]])
    elif choice == 8:
        same = [r for r in seq3 if b.shapes[r][-1] == d] or [ref]
        b.call({"type": rng.choice(("Add", "Multiply", "Average", "Maximum"))}, [[ref, rng.choice(same)]])
    elif choice == 9:
        b.call({"type": "TimeDistributed", "layer": {"type": "Dense", "units": rng.choice((2, 7))}}, [ref])
    elif choice == 10:
        b.call({"type": rng.choice(("GlobalAveragePooling1D", "GlobalMaxPooling1D"))}, [ref])
    elif choice == 11:
        b.call({"type": "Embedding", "input_dim": 50, "output_dim": rng.choice((3, 5, 10)),
                **({"mask_zero": True} if _maybe(rng, 0.5) else {})}, [b.inputs[0]["name"]])
    else:
        b.call({"type": "Masking"}, [ref])


def random_masked_graph(rng: random.Random, n_layers: int = 10) -> dict[str, Any]:
    """One graph where masks branch and merge (see above); every layer a Keras-valid proposal.
    (Its layers are named l_...: a layer named like one of Keras's mask operations, such as
    "concatenate_1", makes Keras refuse the model, which random_graph's names test.)"""
    b = _Builder(rng, prefix="l_")
    ids = b.add_input([rng.choice((5, 6, None))])
    for _ in range(rng.choice((1, 2))):
        b.call({"type": "Embedding", "input_dim": 50, "output_dim": rng.choice((3, 4, 10)),
                **({"mask_zero": True} if _maybe(rng, 0.7) else {})}, [ids])
    while len(b.layers) < n_layers and not b.failed:
        refs3 = b.refs(3, lambda s: s[-1] is not None)
        if not refs3:
            break
        newest = b.layers[-1].get("name") or next(r for r in reversed(list(b.shapes)) if "@" in r).split(":")[0]
        last = f"{newest}:0" if newest in b.multi else newest
        ref = last if last in refs3 and _maybe(rng, 0.5) else rng.choice(refs3)
        _masked_step(b, ref, rng)
    if not b.failed and _maybe(rng, 0.6):
        # a deep branch meets a shallow masked one, then a layer whose call takes the mask:
        # the mask's operations reorder model.layers (the BiLSTM-CNN NER case)
        refs3 = b.refs(3, lambda s: s[-1] is not None)
        masked = b.call({"type": "Embedding", "input_dim": 50, "output_dim": rng.choice((5, 10)),
                         "mask_zero": True}, [ids])
        if masked is not None and refs3:
            deep = rng.choice(refs3)
            if b.shapes[deep][1] == b.shapes[masked][1]:
                cat = b.call({"type": "Concatenate"}, [[deep, masked] if _maybe(rng, 0.7) else [masked, deep]])
                if cat is not None:
                    b.call(rng.choice(({"type": "TimeDistributed", "layer": {"type": "Dense", "units": 7}},
                                       {"type": "LSTM", "units": 3}, {"type": "BatchNormalization"},
                                       {"type": "GlobalAveragePooling1D"}, {"type": "Softmax"})), [cat])
    return b.spec(_outputs(b, rng))


# The minimal graph: Keras lists l2 before l3 (the mask operations of the Concatenate and
# of the TimeDistributed's mask argument make l2 as deep as l0); quizgen listed it after.
NER = {"inputs": [{"name": "in0", "shape": [6]}], "layers": [
    {"name": "l0", "type": "Embedding", "input_dim": 50, "output_dim": 3, "call": ["in0"]},
    {"name": "l1", "type": "SeparableConv1D", "filters": 8, "kernel_size": 1, "call": ["l0"]},
    {"name": "l2", "type": "Embedding", "input_dim": 50, "output_dim": 10, "mask_zero": True, "call": ["in0"]},
    {"name": "l3", "type": "MultiHeadAttention", "num_heads": 1, "key_dim": 7, "value_dim": 3, "output_shape": 3,
     "call": ["l0", "l0"]},
    {"name": "l4", "type": "Concatenate", "call": [["l3", "l2"]]},
    {"name": "l5", "type": "TimeDistributed", "layer": {"type": "Dense", "units": 7}, "call": ["l4"]}],
    "outputs": ["l5"]}
