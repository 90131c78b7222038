"""The layer families quizgen knows, and the one memoised way to apply a layer rule.

Each family module lists its ``KINDS`` (see ``base.LayerKind``). This registry
joins them into the tables the rest of quizgen reads (arguments, positional
order, Keras's snake_case names) and owns the solver's memo: a layer's result
depends only on its arguments and its input shape(s), and textbook models repeat
the same layers constantly (Dense(1, sigmoid) after 128 units...), so results are
remembered. Derivations are shared between solutions: values, never mutated
(their rendered text is cached inside them, the same for every sharer).
"""

from __future__ import annotations

from typing import Any

from ..derivation import Derivation, frozen
from . import (
    activations,
    attention,
    convolution,
    core,
    merging,
    models,
    normalization,
    pooling,
    preprocessing,
    recurrent,
    reshaping,
    wrappers,
)
from .base import REQUIRED, LayerKind

FAMILIES = (core, recurrent, wrappers, reshaping, convolution, pooling, normalization, merging, attention,
            activations, preprocessing, models)
KINDS: dict[str, LayerKind] = {k.type: k for family in FAMILIES for k in family.KINDS}

LAYER_ARGS: dict[str, dict[str, Any]] = {t: k.args for t, k in KINDS.items()}
POSITIONAL: dict[str, tuple[str, ...]] = {t: k.positional for t, k in KINDS.items()}
KERAS_NAMES: dict[str, str] = {t: k.keras_name for t, k in KINDS.items()}
REQUIRED_ARGS: dict[str, tuple[str, ...]] = {
    t: tuple(n for n, d in k.args.items() if d is REQUIRED) for t, k in KINDS.items()}
_RULES = {t: k.rule for t, k in KINDS.items()}

_MEMO: dict[tuple[Any, ...], tuple[Any, Derivation]] = {}
_MEMO_LIMIT = 100_000


def clear_cache() -> None:
    """Forget every remembered layer result (the benchmarks measure cold solving with it)."""
    _MEMO.clear()


def apply(layer: Any, x: Any) -> tuple[Any, Derivation]:
    """(output shape or Outputs, derivation) of ``layer`` called on ``x``; raises base.Fail.
    A layer built with ``trainable=False`` has every weight non-trainable."""
    try:
        token = layer._token
        key = (layer.token() if token is None else token, x)
        hit = _MEMO.get(key)
    except TypeError:  # an unhashable argument (an initializer given as a dict)
        return _applied(layer, x)
    if hit is None:
        hit = _applied(layer, x)
        if len(_MEMO) >= _MEMO_LIMIT:
            _MEMO.clear()
        _MEMO[key] = hit
    return hit


def _applied(layer: Any, x: Any) -> tuple[Any, Derivation]:
    out, deriv = _RULES[layer.type](layer, x)
    if layer.args.get("trainable") is False:
        deriv = frozen(deriv)
    return out, deriv
