"""Seeded random architectures in the textbook's spirit.

Sizes come from the short lists a textbook picks from (5,000 words, 128 units),
never 4,937, optionally narrowed to ranges the instructor sets. The structure
(which layers, how deep) and the sizes are drawn from two separate random
streams, so every student can get the same kind of model for a question slot
with different numbers in it.

``exotic=True`` also turns the less common Keras options on now and then
(channels_first, groups, dilation, BatchNormalization on another axis, stateful
RNNs...); the test suite uses it to hold the solver to Keras across the whole
supported surface.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from ..errors import GenerationError
from ..nn.spec import MAX_DIM

# Textbook value lists, by the name an instructor uses in --range NAME=LO-HI.
SIZE_LISTS: dict[str, tuple[int, ...]] = {
    "vocab": (1000, 2000, 5000, 10000, 20000, 30000, 50000),
    "embed": (16, 32, 50, 64, 100, 128, 200, 256, 300),
    "hidden": (8, 16, 32, 64, 100, 128, 256, 512),
    "seq_len": (10, 20, 30, 50, 60, 80, 100, 200, 500),
    "features": (1, 2, 3, 4, 5, 8, 10, 16),
    "filters": (16, 32, 64, 128, 256),
    "kernel": (2, 3, 5, 7),
    "classes": (2, 3, 4, 5, 10, 20, 46),
    "tags": (5, 9, 17, 45),
    "batch": (1, 4, 8, 16, 32, 64),
    "dense": (16, 32, 64, 128, 256),
    # the later kinds (questions/zoo.py)
    "chars": (50, 70, 79, 80, 100, 105),  # character vocabularies of character-level translators
    "model_dim": (64, 128, 256, 512),  # a transformer's embed_dim / d_model
    "heads": (2, 4, 8),
    "image": (28, 32, 64),  # image side: MNIST, CIFAR-10...
}
RNNS = ("SimpleRNN", "LSTM", "GRU")
FAMILIES = ("classifier", "tagger", "conv", "numeric", "normalized")


class Sizes:
    """Draws sizes from the textbook lists, restricted to the instructor's ranges."""

    def __init__(self, rng: random.Random, ranges: Mapping[str, tuple[int, int]] | None = None):
        self.rng = rng
        self._lists = dict(SIZE_LISTS)
        for name, (lo, hi) in (ranges or {}).items():
            self._lists[name] = allowed_values(name, lo, hi)

    def __call__(self, name: str) -> int:
        return self.rng.choice(self._lists[name])

    def allowed(self, name: str) -> tuple[int, ...]:
        """The values of ``name`` the instructor's ranges allow."""
        return tuple(self._lists[name])

    def choice_where(self, name: str, fits: Any) -> int:
        """One of the allowed values of ``name`` for which ``fits(value)`` holds."""
        options = [v for v in self._lists[name] if fits(v)]
        if not options:
            raise GenerationError(f"no {name} in the allowed range fits this model; widen --range {name}")
        return self.rng.choice(options)

    def choice(self, name: str, options: tuple[int, ...]) -> int:
        """One of ``options`` that the range for ``name`` allows (all of them if none does)."""
        allowed = [o for o in options if o in self._lists[name]] or list(options)
        return self.rng.choice(allowed)

    def pick(self, name: str, options: tuple[int, ...] | None = None, fits: Any = None) -> int:
        """A value of ``name`` the instructor's range allows, preferably one of ``options``
        for which ``fits(value)`` holds: what is preferred gives way to the range, never the
        other way round (the range's values that fit, then any of them)."""
        allowed = self._lists[name]
        preferred = [v for v in allowed if (options is None or v in options)]
        for pool in (preferred, list(allowed)):
            good = [v for v in pool if fits is None or fits(v)]
            if good:
                return self.rng.choice(good)
        return self.rng.choice(allowed)


def allowed_values(name: str, lo: int, hi: int) -> tuple[int, ...]:
    """The textbook values of ``name`` within [lo, hi]; round numbers in it if the list has none."""
    if name not in SIZE_LISTS:
        raise GenerationError(f"unknown range {name!r}; ranges are {', '.join(sorted(SIZE_LISTS))}")
    if lo <= 0 or hi < lo:
        raise GenerationError(f"range {name}={lo}-{hi} is empty or not positive")
    if hi > MAX_DIM:
        raise GenerationError(f"range {name}={lo}-{hi} goes past {MAX_DIM:,}, the largest size a layer can have")
    values = tuple(v for v in SIZE_LISTS[name] if lo <= v <= hi)
    if values:
        return values
    step = 10 ** max(len(str(hi)) - 2, 0)
    rounded = tuple(range(-(-lo // step) * step, hi + 1, step))[:50]
    if not rounded:
        raise GenerationError(f"range {name}={lo}-{hi} holds no usable value")
    return rounded


def parse_range(text: str) -> tuple[str, tuple[int, int]]:
    """``hidden=32-256`` → ("hidden", (32, 256)); ``seq_len=30`` → ("seq_len", (30, 30))."""
    name, sep, span = text.partition("=")
    lo_s, dash, hi_s = span.replace(",", "").replace("_", "").partition("-")
    try:
        lo = int(lo_s)
        hi = int(hi_s) if dash else lo
    except ValueError:
        raise GenerationError(f"range {text!r} should look like NAME=LO-HI, e.g. hidden=32-256") from None
    if not sep or not name:
        raise GenerationError(f"range {text!r} should look like NAME=LO-HI, e.g. hidden=32-256")
    allowed_values(name.strip(), lo, hi)
    return name.strip(), (lo, hi)


def _maybe(rng: random.Random, p: float) -> bool:
    return rng.random() < p


def rnn_layer(rng: random.Random, kind: str, units: int, return_sequences: bool, exotic: bool,
              stateful_ok: bool = False) -> dict[str, Any]:
    layer: dict[str, Any] = {"type": kind, "units": units}
    if return_sequences:
        layer["return_sequences"] = True
    if exotic:
        if _maybe(rng, 0.2):
            layer["use_bias"] = False
        if kind == "GRU" and _maybe(rng, 0.4):
            layer["reset_after"] = False
        if _maybe(rng, 0.15):
            layer["dropout"] = rng.choice((0.1, 0.2, 0.5))
        if _maybe(rng, 0.1):
            layer["activation"] = rng.choice(("relu", "tanh", "sigmoid"))
        if stateful_ok and _maybe(rng, 0.3):
            layer["stateful"] = True
        if _maybe(rng, 0.05):
            layer["unroll"] = True
    return layer


def recurrent_block(rng: random.Random, sizes: Sizes, depth: int, last_sequences: bool, exotic: bool,
                    stateful_ok: bool, bidi_p: float, kind: str | None = None) -> list[dict[str, Any]]:
    kind = kind or rng.choice(RNNS)
    layers = []
    for i in range(depth):
        seq = last_sequences or i < depth - 1
        cell_kind = kind if not exotic or _maybe(rng, 0.7) else rng.choice(RNNS)
        cell = rnn_layer(rng, cell_kind, sizes("hidden"), seq, exotic, stateful_ok)
        if _maybe(rng, bidi_p):
            wrapper: dict[str, Any] = {"type": "Bidirectional", "layer": cell}
            if exotic and _maybe(rng, 0.5):
                wrapper["merge_mode"] = rng.choice(("concat", "sum", "mul", "ave"))
            layers.append(wrapper)
        else:
            layers.append(cell)
    return layers


def output_layer(rng: random.Random, sizes: Sizes) -> dict[str, Any]:
    if _maybe(rng, 0.5):
        return {"type": "Dense", "units": 1, "activation": "sigmoid"}
    return {"type": "Dense", "units": sizes("classes"), "activation": "softmax"}


def embedding_layer(rng: random.Random, sizes: Sizes, exotic: bool) -> dict[str, Any]:
    layer: dict[str, Any] = {"type": "Embedding", "input_dim": sizes("vocab"), "output_dim": sizes("embed")}
    if exotic and _maybe(rng, 0.2):
        layer["mask_zero"] = True
    if exotic and _maybe(rng, 0.1):
        layer["input_length"] = sizes("seq_len")  # Keras 3 accepts and ignores it
    return layer


def random_spec(rng: random.Random, difficulty: str = "medium", family: str | None = None,
                exotic: bool = False, sizes: Sizes | None = None) -> dict[str, Any]:
    """A spec object: structure drawn from ``rng``, sizes from ``sizes`` (default: ``rng`` too)."""
    sizes = sizes or Sizes(rng)
    family = family or rng.choice(FAMILIES)
    depth = {"easy": 1, "medium": rng.choice((1, 2)), "hard": rng.choice((1, 2, 3))}[difficulty]
    bidi_p = {"easy": 0.0, "medium": 0.25, "hard": 0.4}[difficulty]
    seq_len: int | None = sizes("seq_len")
    if exotic and _maybe(rng, 0.1):
        seq_len = None
    layers: list[dict[str, Any]] = []
    inp: dict[str, Any]
    stateful_ok = False
    if family == "numeric":
        dims = [seq_len, sizes("features")]
        if _maybe(rng, 0.4):
            inp = {"batch_shape": [sizes("batch"), *dims]}
            stateful_ok = True
        else:
            inp = {"shape": dims}
    else:
        inp = {"shape": [seq_len]}
        layers.append(embedding_layer(rng, sizes, exotic))
        if exotic and _maybe(rng, 0.2):
            layers.append({"type": "SpatialDropout1D", "rate": rng.choice((0.1, 0.2, 0.3))})

    if family in ("classifier", "numeric"):
        layers += recurrent_block(rng, sizes, depth, False, exotic, stateful_ok, bidi_p)
        if _maybe(rng, 0.3):
            layers.append({"type": "Dropout", "rate": rng.choice((0.2, 0.3, 0.5))})
        if difficulty != "easy" and _maybe(rng, 0.3):
            layers.append({"type": "Dense", "units": sizes("dense"), "activation": "relu"})
        layers.append(output_layer(rng, sizes) if family == "classifier"
                      else {"type": "Dense", "units": sizes.choice("classes", (1, 3, 10))})
    elif family == "tagger":
        layers += recurrent_block(rng, sizes, depth, True, exotic, False, bidi_p + 0.2)
        tags = {"type": "Dense", "units": sizes("tags"), "activation": "softmax"}
        if exotic and _maybe(rng, 0.3):
            layers.append({"type": "TimeDistributed", "layer": rng.choice((
                {"type": "Dropout", "rate": 0.2}, {"type": "BatchNormalization"},
                {"type": "Dense", "units": sizes("hidden"), "use_bias": False}))})
        layers.append({"type": "TimeDistributed", "layer": tags} if _maybe(rng, 0.6) else tags)
    elif family == "conv":
        layers += conv_block(rng, sizes, exotic, depth, seq_len)
        layers.append(output_layer(rng, sizes))
    else:  # normalized
        layers += normalized_body(rng, sizes, exotic, bidi_p)
        layers.append(output_layer(rng, sizes))
    return {"input": inp, "layers": layers}


def normalized_body(rng: random.Random, sizes: Sizes, exotic: bool, bidi_p: float,
                    batch_norm: bool | None = None) -> list[dict[str, Any]]:
    """An RNN or Conv1D block followed by normalization and pooling (BatchNormalization if asked)."""
    layers: list[dict[str, Any]] = []
    if _maybe(rng, 0.5):
        layers += recurrent_block(rng, sizes, 1, True, exotic, False, bidi_p)
    else:
        layers.append({"type": "Conv1D", "filters": sizes("filters"), "kernel_size": 3,
                       "padding": "same", "activation": "relu"})
    layers.append(norm_layer(rng, exotic, batch_norm))
    layers.append({"type": rng.choice(("GlobalAveragePooling1D", "GlobalMaxPooling1D"))})
    if _maybe(rng, 0.5):
        layers.append({"type": "Dense", "units": sizes("dense"), "activation": "relu"})
        layers.append({"type": "BatchNormalization"})
    return layers


def norm_layer(rng: random.Random, exotic: bool, batch_norm: bool | None = None) -> dict[str, Any]:
    if batch_norm if batch_norm is not None else _maybe(rng, 0.6):
        layer: dict[str, Any] = {"type": "BatchNormalization"}
        if exotic and _maybe(rng, 0.3):
            layer["center" if _maybe(rng, 0.5) else "scale"] = False
        if exotic and _maybe(rng, 0.2):
            layer["axis"] = 1
        return layer
    layer = {"type": "LayerNormalization"}
    if exotic and _maybe(rng, 0.3):
        layer["rms_scaling"] = True
    elif exotic and _maybe(rng, 0.2):
        layer["center"] = False
    if exotic and _maybe(rng, 0.2):
        layer["axis"] = rng.choice(([1, 2], 1, -1))
    return layer


def conv_block(rng: random.Random, sizes: Sizes, exotic: bool, depth: int,
               seq_len: int | None = None) -> list[dict[str, Any]]:
    """Conv1D (+ pooling) blocks. Outside exotic mode the block fits ``seq_len``: a kernel
    longer than what is left switches to padding='same' and a pool that does not fit is
    left out, without drawing differently from ``rng`` (so every student's model keeps
    the same structure)."""
    layers: list[dict[str, Any]] = []
    length = seq_len
    for _ in range(depth):
        conv: dict[str, Any] = {"type": "Conv1D", "filters": sizes("filters"),
                                "kernel_size": sizes("kernel"), "activation": "relu"}
        if _maybe(rng, 0.4):
            conv["padding"] = "same" if not exotic else rng.choice(("same", "causal"))
        if exotic:
            choice = rng.random()
            if choice < 0.15:
                conv["strides"] = rng.choice((2, 3))
            elif choice < 0.3:
                conv["dilation_rate"] = rng.choice((2, 4))
            elif choice < 0.4:
                conv["groups"] = 2
                conv["filters"] = 64
            if _maybe(rng, 0.1):
                conv["use_bias"] = False
            if _maybe(rng, 0.1):
                conv["data_format"] = "channels_first"
        elif length is not None and conv.get("padding", "valid") == "valid":
            if conv["kernel_size"] > length:
                conv["padding"] = "same"
            else:
                length -= conv["kernel_size"] - 1
        layers.append(conv)
        if _maybe(rng, 0.6):
            pool: dict[str, Any] = {"type": "MaxPooling1D", "pool_size": rng.choice((2, 3))}
            if exotic and _maybe(rng, 0.3):
                pool["padding"] = "same"
            if exotic and _maybe(rng, 0.2):
                pool["strides"] = 1
            if exotic or length is None or pool["pool_size"] <= length:
                layers.append(pool)
                if length is not None and not exotic:
                    length //= pool["pool_size"]
    if _maybe(rng, 0.3):
        layers.append({"type": "Flatten"})
    else:
        pool_type = rng.choice(("GlobalMaxPooling1D", "GlobalAveragePooling1D"))
        if exotic and _maybe(rng, 0.2):
            layers += [{"type": pool_type, "keepdims": True}, {"type": "Flatten"}]
        else:
            layers.append({"type": pool_type})
    if _maybe(rng, 0.3):
        layers.append({"type": "Dropout", "rate": 0.5})
    return layers
