"""Core layers: Embedding, Dense, Activation, Masking, and the dropout and noise layers.

Counts (keras/src/layers/core/dense.py, embedding.py): a Dense kernel is d×u plus
u biases; an Embedding is a V×E table with no bias. Activation, Masking, the
dropout layers and the noise layers (GaussianNoise, GaussianDropout, AlphaDropout,
keras/src/layers/regularization/) have no weights and keep the shape; the noise
layers refuse a stddev or rate outside [0, 1]. Keras 2 code gives an Embedding
``input_length``: Keras 3 still accepts it and ignores it (the input's shape decides).
"""

from __future__ import annotations

from typing import Any

from ..derivation import Derivation, Sym, add, mul
from ..shapes import Shape, format_shape
from .base import REQUIRED, Fail, kind, known, number, optional_int, positive_int, rank, rate

_DENSE_LIKE = {
    "kernel_initializer": "glorot_uniform", "bias_initializer": "zeros",
    "kernel_regularizer": None, "bias_regularizer": None,
    "kernel_constraint": None, "bias_constraint": None,
}
RNN_INPUT = "(batch, timesteps, features)"


def embedding(layer: Any, s: Shape) -> tuple[Shape, Derivation]:
    v, e = layer.get("input_dim"), layer.get("output_dim")
    notes: tuple[str, ...] = ("embedding_mask_zero",) if layer.get("mask_zero") else ()
    if layer.get("input_length") is not None:
        notes += ("embedding_input_length",)
    return (*s, e), Derivation("Embedding", mul(Sym("V", v, "vocab_size"), Sym("E", e, "embedding_dim")),
                               notes=notes)


def dense(layer: Any, s: Shape) -> tuple[Shape, Derivation]:
    if len(s) < 2:
        raise Fail(f"expects input with at least 2 dimensions (batch, features), got {format_shape(s)}")
    d = known(s[-1], "last dimension", s)
    units = layer.get("units")
    x, u = Sym("d", d, "input_dim"), Sym("u", units, "units")
    expr = add(mul(x, u), u) if layer.get("use_bias") else mul(x, u)
    notes: tuple[str, ...] = ("dense_per_step",) if len(s) > 2 else ()
    if not layer.get("use_bias"):
        notes += ("no_bias",)
    return (*s[:-1], units), Derivation("Dense", expr, notes=notes)


def no_params(layer: Any, s: Shape) -> tuple[Shape, Derivation]:
    if layer.type == "SpatialDropout1D":
        rank(s, 3, RNN_INPUT)
    return s, Derivation(layer.type, None)


def dense_slips(row: Any) -> dict[str, int]:
    if "no_bias" in row.derivation.notes:
        return {}
    s = row.derivation.symbol_values()
    return {"no_bias": s["d"] * s["u"]}


def embedding_slips(row: Any) -> dict[str, int]:
    s = row.derivation.symbol_values()
    return {"embedding_bias": s["V"] * (s["E"] + 1)}


KINDS = (
    kind("Embedding", {
        "input_dim": REQUIRED, "output_dim": REQUIRED, "embeddings_initializer": "uniform",
        "embeddings_regularizer": None, "embeddings_constraint": None, "mask_zero": False,
        "weights": None, "lora_rank": None, "lora_alpha": None, "quantization_config": None,
        "input_length": None,
    }, embedding, "embedding", ("input_dim", "output_dim"),
        checks={"input_dim": positive_int, "input_length": optional_int}, slips=embedding_slips, mask="embedding"),
    kind("Dense", {
        "units": REQUIRED, "activation": None, "use_bias": True, **_DENSE_LIKE,
        "lora_rank": None, "lora_alpha": None, "quantization_config": None,
    }, dense, "dense", ("units", "activation", "use_bias"), slips=dense_slips, mask="keep"),
    kind("Dropout", {"rate": REQUIRED, "noise_shape": None, "seed": None}, no_params, "dropout",
         ("rate", "noise_shape", "seed"), mask="keep"),
    # SpatialDropout1D.__init__(rate, seed=None, name=None, dtype=None): no **kwargs, so no trainable=
    kind("SpatialDropout1D", {"rate": REQUIRED, "seed": None}, no_params, "spatial_dropout1d", ("rate", "seed"),
         base=("name", "dtype"), mask="keep"),
    kind("Activation", {"activation": REQUIRED}, no_params, "activation", ("activation",), mask="keep"),
    kind("Masking", {"mask_value": 0.0}, no_params, "masking", ("mask_value",), checks={"mask_value": number},
         mask="masking"),
    kind("GaussianNoise", {"stddev": REQUIRED, "seed": None}, no_params, "gaussian_noise", ("stddev", "seed"),
         checks={"stddev": rate}, mask="keep"),
    kind("GaussianDropout", {"rate": REQUIRED, "seed": None}, no_params, "gaussian_dropout", ("rate", "seed"),
         mask="keep"),
    kind("AlphaDropout", {"rate": REQUIRED, "noise_shape": None, "seed": None}, no_params, "alpha_dropout",
         ("rate", "noise_shape", "seed"), mask="keep"),
)

