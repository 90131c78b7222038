"""The wrong values slips produce in a solved model: a layer's wrong counts, a model's wrong
totals, a layer's wrong output shapes. Every question kind's slip table is made from these
(grading/misconceptions.py for the first kinds, grading/question_slips.py for the later
ones), so they sit below both.

A count slip is made in one layer at a time (the others right), or in every layer that can
have it: the 점검 퀴즈's 529,313 is the SimpleRNN's bias forgotten, 529,440 the Dense's,
529,312 both. A slip in one layer is keyed by a reference that names the layer
(``no_bias@2:SimpleRNN``, see grading.slip_messages).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..nn.layers import KINDS
from ..nn.solver import LayerResult, Solution
from .slip_messages import slip_ref


def layer_slips(row: LayerResult) -> dict[str, int]:
    """Wrong parameter counts for one layer, by slip (each layer family knows its own)."""
    kind = KINDS.get(row.type)
    if kind is None or kind.slips is None:
        return {}
    return kind.slips(row)


def seq_len(solution: Solution) -> int | None:
    shape = solution.input_shape
    return shape[1] if 2 <= len(shape) <= 3 else None  # an image's height is no sequence length


def slips_in_layer(row: LayerResult, index: int) -> dict[str, int]:
    """layer_slips of the ``index``-th layer (1-based), keyed by slip references that name it."""
    return {slip_ref(key, index, row.type): value for key, value in layer_slips(row).items()}


def total_slips(solution: Solution, offered: frozenset[str] | None = None) -> dict[str, int]:
    """Wrong totals: each layer slip made in one layer (the others right), keyed by a
    reference naming the layer; each slip that two or more layers can make, made in all
    of them (keyed by its name); and the whole-model slips. Only the layer slips named in
    ``offered``, when given: a slip left out cannot make another slip's value ambiguous."""
    rows = solution.layers
    per_layer = [layer_slips(r) for r in rows]
    if offered is not None:
        per_layer = [{k: v for k, v in slips.items() if k in offered} for slips in per_layer]
    right = sum(r.params for r in rows)
    out = {}
    for key, layers in Counter(k for slips in per_layer for k in slips).items():
        if layers > 1:
            out[key] = sum(slips.get(key, r.params) for r, slips in zip(rows, per_layer))
    for index, (row, slips) in enumerate(zip(rows, per_layer), start=1):
        for key, value in slips.items():
            out[slip_ref(key, index, row.type)] = right - row.params + value
    seq = seq_len(solution)
    if seq:
        out["adds_seq_len"] = solution.total_params + seq
    if solution.non_trainable_params:
        out["trainable_only"] = solution.trainable_params
    return out


def shape_slips(solution: Solution, index: int) -> dict[str, tuple[Any, ...]]:
    """Wrong output shapes for layer ``index`` (1-based)."""
    row = solution.layers[index - 1]
    shape = tuple(row.output_shape)
    incoming = solution.input_shape if index == 1 else solution.layers[index - 2].output_shape
    out: dict[str, tuple[Any, ...]] = {"no_batch_axis": shape[1:]}
    kind = KINDS.get(row.type)
    if kind is not None and kind.shape_slips is not None:
        out.update(kind.shape_slips(row, incoming))
    return out
