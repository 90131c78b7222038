"""Preprocessing layers that model code puts inside a model: Rescaling, Normalization,
TextVectorization, StringLookup, IntegerLookup, CategoryEncoding.

Weights (keras/src/layers/preprocessing/): only Normalization has any, and none is
trained: the mean and the variance of each element of its kept axes, plus one
``count`` (an int64, 8 bytes, where every other weight here is a float32 of 4), unless
``mean`` and ``variance`` are given, when it keeps none. The lookup layers keep their
vocabulary in tables, not weights. Shapes (each ``compute_output_shape``):
TextVectorization in ``int`` mode gives ``(batch, output_sequence_length)``; the
one-hot, multi-hot, count and tf-idf modes add an axis as wide as the vocabulary,
which is known without running the code only from ``max_tokens`` with
``pad_to_max_tokens=True`` or from a ``vocabulary`` list written in the code (an
``adapt()`` on data decides it otherwise: quizgen then refuses, and ``--execute``
answers). CategoryEncoding's width is its ``num_tokens``.
"""

from __future__ import annotations

import math
from typing import Any

from ..derivation import Derivation, Sym, add, mul
from ..shapes import Shape, format_shape
from .base import REQUIRED, CallSig, Fail, boolean, choice, is_int, kind, known, number, short

_ADAPTED = ("its vocabulary size is only known once adapt() has run on data (give pad_to_max_tokens=True "
            "with max_tokens, or a vocabulary list, or run the code with --execute)")


def rescaling(layer: Any, s: Shape) -> tuple[Shape, Derivation]:
    return s, Derivation("Rescaling", None, notes=("rescaling",))


def _axes(v: Any) -> tuple[int, ...]:
    if v is None:
        return ()
    if is_int(v) and not isinstance(v, bool):
        return (v,)
    if isinstance(v, (list, tuple)) and all(is_int(a) and not isinstance(a, bool) for a in v):
        return tuple(v)
    raise ValueError(f"expected an axis, a list of axes or null, got {short(v)}")


def normalization(layer: Any, s: Shape) -> tuple[Shape, Derivation]:
    axes = _axes(layer.get("axis"))
    n = len(s)
    for a in axes:
        if not -n <= a < n:
            raise Fail(f"axis {a} is out of range for input {format_shape(s)}")
    kept = sorted({a % n for a in axes})
    sizes = [known(s[a], f"size of axis {a}", s) for a in kept]
    if layer.get("mean") is not None:
        return s, Derivation("Normalization", None, notes=("normalization_given",))
    c: Any = Sym("c", math.prod(sizes), "norm_channels") if sizes else 1
    expr = add(mul(2, c), 1)
    return s, Derivation("Normalization", expr, non_trainable=expr, notes=("normalization_stats",), int64=1)


def normalization_slips(row: Any) -> dict[str, int]:
    """The count left out (2×c), or only the mean and variance of one element (2)."""
    if row.params <= 1:
        return {}
    return {k: v for k, v in {"normalization_no_count": row.params - 1}.items() if v != row.params}


def validate_normalization(layer: Any) -> str | None:
    if (layer.args.get("mean") is None) != (layer.args.get("variance") is None):
        return "give both mean and variance, or neither"
    return None


def _depth(layer: Any) -> int:
    """The width of a lookup's one-hot / multi-hot output (index_lookup.py: max_tokens when padded,
    else the vocabulary's size with its OOV and mask entries)."""
    if layer.get("pad_to_max_tokens") and layer.get("max_tokens") is not None:
        return layer.get("max_tokens")
    vocabulary = layer.get("vocabulary")
    if isinstance(vocabulary, (list, tuple)):
        extra = layer.get("num_oov_indices") + (1 if layer.get("mask_token") is not None else 0)
        size = len(vocabulary) + extra
        cap = layer.get("max_tokens")
        return size if cap is None else min(size, cap)
    raise Fail(_ADAPTED)


def _lookup_shape(layer: Any, s: Shape, mode: str) -> Shape:
    if mode == "int":
        return s
    depth = _depth(layer)
    if mode == "one_hot":
        if len(s) > 1 and s[-1] == 1:
            return (*s[:-1], depth)
        return (*s, depth)
    return (*s[:-1], depth)


def lookup(layer: Any, s: Shape) -> tuple[Shape, Derivation]:
    return _lookup_shape(layer, s, layer.get("output_mode")), Derivation(layer.type, None, notes=("lookup",))


def text_vectorization(layer: Any, s: Shape) -> tuple[Shape, Derivation]:
    mode = layer.get("output_mode")
    deriv = Derivation("TextVectorization", None, notes=("lookup",))
    if mode == "int":
        return (s[0], layer.get("output_sequence_length")), deriv
    shape = tuple(s)
    if layer.get("split") is None:
        if len(shape) <= 1:
            shape = (*shape, 1)
    else:
        shape = (*shape, None)
    return _lookup_shape(layer, shape, mode), deriv


def category_encoding(layer: Any, s: Shape) -> tuple[Shape, Derivation]:
    n = layer.get("num_tokens")
    deriv = Derivation("CategoryEncoding", None, notes=("lookup",))
    if not s:
        return (n,), deriv
    if layer.get("output_mode") == "one_hot":
        if s[-1] != 1 or len(s) == 1:
            return (*s, n), deriv
        return (*s[:-1], n), deriv
    return (*s[:-1], n), deriv


def _vocabulary(v: Any) -> Any:
    if v is None or isinstance(v, str):  # a file path: its size is unknown here
        return v
    if isinstance(v, (list, tuple)):
        return tuple(v)
    raise ValueError(f"expected a list of tokens or a file path, got {short(v)}")


def _non_negative_int(v: Any) -> int:
    if not is_int(v) or isinstance(v, bool) or v < 0:
        raise ValueError(f"expected a non-negative integer, got {short(v)}")
    return v


def _optional_tokens(v: Any) -> int | None:
    if v is None:
        return None
    if not is_int(v) or isinstance(v, bool) or v < 1:
        raise ValueError(f"expected a positive integer, got {short(v)}")
    return v


_LOOKUP_ARGS = {"max_tokens": None, "num_oov_indices": 1, "mask_token": None, "vocabulary": None,
                "idf_weights": None, "invert": False, "output_mode": "int", "pad_to_max_tokens": False,
                "sparse": False, "salt": None}


_LOOKUP_CHECKS = {"max_tokens": _optional_tokens, "num_oov_indices": _non_negative_int, "vocabulary": _vocabulary,
                  "output_mode": choice("int", "one_hot", "multi_hot", "count", "tf_idf"),
                  "pad_to_max_tokens": boolean, "invert": boolean, "sparse": boolean}
_COUNT_WEIGHTS = CallSig(params=("inputs", "count_weights"))

KINDS = (
    kind("Rescaling", {"scale": REQUIRED, "offset": 0.0}, rescaling, "rescaling", ("scale", "offset"),
         checks={"scale": number, "offset": number}, mask="keep"),
    kind("Normalization", {"axis": -1, "mean": None, "variance": None, "invert": False}, normalization,
         "normalization", ("axis", "mean", "variance", "invert"),
         checks={"axis": _axes, "invert": boolean}, slips=normalization_slips, validate=validate_normalization,
         mask="keep"),
    kind("TextVectorization", {
        "max_tokens": None, "standardize": "lower_and_strip_punctuation", "split": "whitespace", "ngrams": None,
        "output_mode": "int", "output_sequence_length": None, "pad_to_max_tokens": False, "vocabulary": None,
        "idf_weights": None, "sparse": False, "ragged": False, "encoding": "utf-8"},
        text_vectorization, "text_vectorization",
        ("max_tokens", "standardize", "split", "ngrams", "output_mode", "output_sequence_length",
         "pad_to_max_tokens", "vocabulary"),
        checks={"max_tokens": _optional_tokens, "output_sequence_length": _optional_tokens,
                "output_mode": choice("int", "multi_hot", "count", "tf_idf"), "vocabulary": _vocabulary,
                "pad_to_max_tokens": boolean, "ragged": boolean, "sparse": boolean}),
    kind("StringLookup", {**_LOOKUP_ARGS, "oov_token": "[UNK]", "encoding": "utf-8"}, lookup, "string_lookup",
         ("max_tokens", "num_oov_indices", "mask_token", "oov_token", "vocabulary"), checks=_LOOKUP_CHECKS),
    kind("IntegerLookup", {**_LOOKUP_ARGS, "oov_token": -1, "vocabulary_dtype": "int64", "oov_method": "floormod"},
         lookup, "integer_lookup",
         ("max_tokens", "num_oov_indices", "mask_token", "oov_token", "output_mode", "sparse", "vocabulary"),
         checks=_LOOKUP_CHECKS),
    kind("CategoryEncoding", {"num_tokens": None, "output_mode": "multi_hot", "sparse": False},
         category_encoding, "category_encoding", ("num_tokens", "output_mode", "sparse"), call=_COUNT_WEIGHTS,
         checks={"num_tokens": _optional_tokens, "output_mode": choice("count", "one_hot", "multi_hot", "binary"),
                 "sparse": boolean},
         validate=lambda layer: None if layer.args.get("num_tokens") is not None else
         "num_tokens must be set (the number of categories)"),
)
