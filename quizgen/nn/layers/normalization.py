"""Normalization layers: BatchNormalization and LayerNormalization.

Counts (keras/src/layers/normalization/*.py): BatchNormalization keeps γ and β
(trained) and the moving mean and variance (not trained), one of each per
element of the normalized axis; LayerNormalization keeps γ and β over its axes,
only γ with rms_scaling=True.
"""

from __future__ import annotations

from typing import Any

from ..derivation import Derivation, Sym, mul
from ..shapes import Shape, format_shape
from .base import Fail, axes, axis, kind, known

_NORM_ARGS = {
    "axis": -1, "epsilon": 0.001, "center": True, "scale": True,
    "beta_initializer": "zeros", "gamma_initializer": "ones",
    "beta_regularizer": None, "gamma_regularizer": None,
    "beta_constraint": None, "gamma_constraint": None,
}


def _renorm_clipping(v: Any) -> Any:
    if v is None or isinstance(v, dict):
        return v
    raise ValueError("expected an object or null")


def _norm_size(layer: Any, s: Shape) -> int:
    chosen = layer.get("axis")
    chosen = chosen if isinstance(chosen, tuple) else (chosen,)
    size = 1
    for a in chosen:
        if not -len(s) <= a < len(s):
            raise Fail(f"axis {a} is out of range for input {format_shape(s)}")
        size *= known(s[a], f"size of axis {a}", s)
    return size


def batch_norm(layer: Any, s: Shape) -> tuple[Shape, Derivation]:
    c = Sym("c", _norm_size(layer, s), "norm_channels")
    learned = int(bool(layer.get("center"))) + int(bool(layer.get("scale")))
    return s, Derivation("BatchNormalization", mul(learned + 2, c), non_trainable=mul(2, c),
                         notes=("bn_stats",))


def layer_norm(layer: Any, s: Shape) -> tuple[Shape, Derivation]:
    c = Sym("c", _norm_size(layer, s), "norm_channels")
    if layer.get("rms_scaling"):
        return s, Derivation("LayerNormalization", mul(1, c), notes=("ln_rms",))
    learned = int(bool(layer.get("center"))) + int(bool(layer.get("scale")))
    if learned == 0:
        return s, Derivation("LayerNormalization", None)
    return s, Derivation("LayerNormalization", mul(learned, c), notes=("ln_params",))


def ln_slips(row: Any) -> dict[str, int]:
    """A LayerNormalization counted like a BatchNormalization (γ, β and two moving statistics)."""
    expr = row.derivation.expr
    if row.derivation.notes != ("ln_params",) or expr.args[0] != 2:  # γ and β both kept
        return {}
    return {"ln_moving_stats": 2 * row.params}


KINDS = (
    kind("BatchNormalization", {
        **_NORM_ARGS, "momentum": 0.99, "moving_mean_initializer": "zeros",
        "moving_variance_initializer": "ones", "renorm": False, "renorm_clipping": None,
        "renorm_momentum": 0.99, "synchronized": False,
    }, batch_norm, "batch_normalization", ("axis", "momentum", "epsilon", "center", "scale"),
        checks={"axis": axis, "renorm_clipping": _renorm_clipping}, mask="keep", mask_arg=True),
    kind("LayerNormalization", {**_NORM_ARGS, "rms_scaling": False}, layer_norm, "layer_normalization",
         ("axis", "epsilon", "center", "scale"), checks={"axis": axes}, slips=ln_slips, mask="keep"),
)

