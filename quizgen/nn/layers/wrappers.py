"""TimeDistributed: one layer applied to every timestep with the same weights.

The wrapped layer sees ``(batch, *shape[2:])`` and its count is unchanged
(keras/src/layers/rnn/time_distributed.py). Bidirectional lives with the
recurrent layers it wraps.
"""

from __future__ import annotations

from typing import Any

from ..derivation import Derivation
from ..shapes import Shape, format_shape
from .base import REQUIRED, Fail, is_multi, kind


def time_distributed(layer: Any, s: Shape) -> tuple[Shape, Derivation]:
    from . import apply  # the registry's memoised dispatcher (imported late: it imports this module)

    inner = layer.inner
    if len(s) < 3:
        raise Fail(f"expects input with at least 3 dimensions (batch, timesteps, ...), got {format_shape(s)}")
    try:
        inner_out, deriv = apply(inner, (s[0], *s[2:]))
    except Fail as exc:
        exc.inner = inner.type
        raise
    if is_multi(inner_out):
        raise Fail(f"the wrapped {inner.type} returns several tensors; TimeDistributed needs a layer that returns one")
    return (s[0], s[1], *inner_out[1:]), Derivation(
        f"TimeDistributed({deriv.layer_type})", deriv.expr, deriv.non_trainable,
        notes=(*deriv.notes, "td_shared"), int64=deriv.int64)


def validate_time_distributed(layer: Any) -> str | None:
    from . import KINDS

    if KINDS[layer.inner.type].call.list_input or KINDS[layer.inner.type].call.required > 1:
        return f"TimeDistributed wraps a layer called on one tensor, not {layer.inner.type}"
    return None


KINDS = (
    kind("TimeDistributed", {"layer": REQUIRED}, time_distributed, "time_distributed", ("layer",),
         validate=validate_time_distributed, mask="keep", mask_arg=True),
)
