"""Seeded random architectures in the textbook's spirit.

Sizes come from the short lists a textbook picks from (5,000 words, 128 units),
never 4,937. ``exotic=True`` also turns every less common Keras option on now and
then (channels_first, groups, dilation, BatchNormalization on another axis,
stateful RNNs, ...); the test suite uses it to hold the solver to Keras across the
whole supported surface, and the generator's hard difficulty draws from it.
"""

from __future__ import annotations

import random
from typing import Any

VOCAB = (1000, 2000, 5000, 10000, 20000, 30000, 50000)
EMBED = (16, 32, 50, 64, 100, 128, 200, 256, 300)
HIDDEN = (8, 16, 32, 64, 100, 128, 256, 512)
SEQ_LEN = (10, 20, 30, 50, 60, 80, 100, 200, 500)
FEATURES = (1, 2, 3, 4, 5, 8, 10, 16)
FILTERS = (16, 32, 64, 128, 256)
KERNELS = (2, 3, 5, 7)
CLASSES = (2, 3, 4, 5, 10, 20, 46)
BATCHES = (1, 4, 8, 16, 32, 64)
RNNS = ("SimpleRNN", "LSTM", "GRU")
FAMILIES = ("classifier", "tagger", "conv", "numeric", "normalized")


def _maybe(rng: random.Random, p: float) -> bool:
    return rng.random() < p


def _rnn(rng: random.Random, kind: str, units: int, return_sequences: bool, exotic: bool,
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


def _recurrent_block(rng: random.Random, depth: int, last_sequences: bool, exotic: bool,
                     stateful_ok: bool, bidi_p: float) -> list[dict[str, Any]]:
    kind = rng.choice(RNNS)
    layers = []
    for i in range(depth):
        seq = last_sequences or i < depth - 1
        units = rng.choice(HIDDEN)
        cell = _rnn(rng, kind if not exotic or _maybe(rng, 0.7) else rng.choice(RNNS), units, seq, exotic, stateful_ok)
        if _maybe(rng, bidi_p):
            wrapper: dict[str, Any] = {"type": "Bidirectional", "layer": cell}
            if exotic and _maybe(rng, 0.5):
                wrapper["merge_mode"] = rng.choice(("concat", "sum", "mul", "ave"))
            layers.append(wrapper)
        else:
            layers.append(cell)
    return layers


def _output(rng: random.Random) -> dict[str, Any]:
    if _maybe(rng, 0.5):
        return {"type": "Dense", "units": 1, "activation": "sigmoid"}
    return {"type": "Dense", "units": rng.choice(CLASSES), "activation": "softmax"}


def _embedding(rng: random.Random, exotic: bool) -> dict[str, Any]:
    layer: dict[str, Any] = {"type": "Embedding", "input_dim": rng.choice(VOCAB), "output_dim": rng.choice(EMBED)}
    if exotic and _maybe(rng, 0.2):
        layer["mask_zero"] = True
    if exotic and _maybe(rng, 0.1):
        layer["input_length"] = rng.choice(SEQ_LEN)  # Keras 3 accepts and ignores it
    return layer


def random_spec(rng: random.Random, difficulty: str = "medium", family: str | None = None,
                exotic: bool = False) -> dict[str, Any]:
    """A spec object drawn from ``rng``; deterministic for a given rng state."""
    family = family or rng.choice(FAMILIES)
    depth = {"easy": 1, "medium": rng.choice((1, 2)), "hard": rng.choice((1, 2, 3))}[difficulty]
    bidi_p = {"easy": 0.0, "medium": 0.25, "hard": 0.4}[difficulty]
    seq_len: int | None = rng.choice(SEQ_LEN)
    if exotic and _maybe(rng, 0.1):
        seq_len = None
    layers: list[dict[str, Any]] = []
    inp: dict[str, Any]
    stateful_ok = False
    if family == "numeric":
        dims = [seq_len, rng.choice(FEATURES)]
        if _maybe(rng, 0.4):
            inp = {"batch_shape": [rng.choice(BATCHES), *dims]}
            stateful_ok = True
        else:
            inp = {"shape": dims}
    else:
        inp = {"shape": [seq_len]}
        layers.append(_embedding(rng, exotic))
        if exotic and _maybe(rng, 0.2):
            layers.append({"type": "SpatialDropout1D", "rate": rng.choice((0.1, 0.2, 0.3))})

    if family in ("classifier", "numeric"):
        layers += _recurrent_block(rng, depth, False, exotic, stateful_ok, bidi_p)
        if _maybe(rng, 0.3):
            layers.append({"type": "Dropout", "rate": rng.choice((0.2, 0.3, 0.5))})
        if difficulty != "easy" and _maybe(rng, 0.3):
            layers.append({"type": "Dense", "units": rng.choice(HIDDEN), "activation": "relu"})
        layers.append(_output(rng) if family == "classifier" else {"type": "Dense", "units": rng.choice((1, 3, 10))})
    elif family == "tagger":
        layers += _recurrent_block(rng, depth, True, exotic, False, bidi_p + 0.2)
        tags = {"type": "Dense", "units": rng.choice((5, 9, 17, 45)), "activation": "softmax"}
        if exotic and _maybe(rng, 0.3):
            layers.append({"type": "TimeDistributed", "layer": rng.choice((
                {"type": "Dropout", "rate": 0.2}, {"type": "BatchNormalization"},
                {"type": "Dense", "units": rng.choice(HIDDEN), "use_bias": False}))})
        layers.append({"type": "TimeDistributed", "layer": tags} if _maybe(rng, 0.6) else tags)
    elif family == "conv":
        layers += _conv_block(rng, exotic, depth)
        layers.append(_output(rng))
    else:  # normalized
        if _maybe(rng, 0.5):
            layers += _recurrent_block(rng, 1, True, exotic, False, bidi_p)
        else:
            layers.append({"type": "Conv1D", "filters": rng.choice(FILTERS), "kernel_size": 3,
                           "padding": "same", "activation": "relu"})
        layers.append(_norm(rng, exotic))
        layers.append({"type": rng.choice(("GlobalAveragePooling1D", "GlobalMaxPooling1D"))})
        if _maybe(rng, 0.5):
            layers.append({"type": "BatchNormalization"})
        layers.append(_output(rng))
    return {"input": inp, "layers": layers}


def _norm(rng: random.Random, exotic: bool) -> dict[str, Any]:
    if _maybe(rng, 0.6):
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


def _conv_block(rng: random.Random, exotic: bool, depth: int) -> list[dict[str, Any]]:
    layers: list[dict[str, Any]] = []
    for _ in range(depth):
        conv: dict[str, Any] = {"type": "Conv1D", "filters": rng.choice(FILTERS),
                                "kernel_size": rng.choice(KERNELS), "activation": "relu"}
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
        layers.append(conv)
        if _maybe(rng, 0.6):
            pool: dict[str, Any] = {"type": "MaxPooling1D", "pool_size": rng.choice((2, 3))}
            if exotic and _maybe(rng, 0.3):
                pool["padding"] = "same"
            if exotic and _maybe(rng, 0.2):
                pool["strides"] = 1
            layers.append(pool)
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
