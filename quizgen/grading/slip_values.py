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
from .slip_messages import slip_ref, type_ref


def layer_slips(row: LayerResult) -> dict[str, int]:
    """Wrong parameter counts for one layer, by slip (each layer family knows its own); a
    "slip" that gives the right count in this layer (PyTorch's two biases in a GRU that has
    two anyway, the input channels of a one-channel image) is no slip here."""
    kind = KINDS.get(row.type)
    if kind is None or kind.slips is None:
        return {}
    return {key: value for key, value in kind.slips(row).items() if value != row.params}


def _family(row: LayerResult) -> str:
    """The kind of layer a slip is made in: a Bidirectional layer's is its cell's (the forward
    and backward LSTMs are LSTMs)."""
    inner = row.derivation.layer_type
    if row.type == "Bidirectional" and inner.startswith("Bidirectional(") and inner.endswith(")"):
        return inner[len("Bidirectional("):-1]
    return row.type


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
    for key, count in Counter(k for slips in per_layer for k in slips).items():
        if count > 1:
            out[key] = sum(slips.get(key, r.params) for r, slips in zip(rows, per_layer))
    made_in: dict[tuple[str, str, int], list[tuple[int, str]]] = {}
    for index, (row, slips) in enumerate(zip(rows, per_layer), start=1):
        for key, value in slips.items():
            made_in.setdefault((key, _family(row), right - row.params + value), []).append((index, row.type))
    for (key, family, value), layers in made_in.items():
        # The same slip in either of two layers of one kind that give the same number (the
        # encoder's and the decoder's LSTM, a text CNN's branches) says which slip, not which
        # layer: it is named for the kind of layer.
        (index, layer_type), *others = layers
        out[type_ref(key, family) if others else slip_ref(key, index, layer_type)] = value
    whole = {value for key, value in out.items() if "@" not in key}
    # One layer's slip that gives what the same rule applied to every layer gives (the two GRUs
    # of a translator, one of them with no bias, or both counted with one bias per gate) is
    # read as the rule: a student applies a formula to every layer alike.
    out = {key: value for key, value in out.items() if "@" not in key or value not in whole}
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
    out: dict[str, tuple[Any, ...]] = {"no_batch_axis": shape[1:], **batch_slips(shape)}
    kind = KINDS.get(row.type)
    if kind is not None and kind.shape_slips is not None:
        out.update(kind.shape_slips(row, incoming))
    return {key: value for key, value in out.items() if tuple(value) != shape}  # no slip where it changes nothing


def batch_slips(shape: tuple[Any, ...]) -> dict[str, tuple[Any, ...]]:
    """``None`` written for a batch size the input fixed (the seed's lesson: a
    ``batch_input_shape`` of (8, 2, 10) keeps 8). A number written where the batch is
    ``None`` has no one value: grading.scoring names it by rule (``batch_number_for_open``)."""
    if shape and isinstance(shape[0], int) and not isinstance(shape[0], bool):
        return {"batch_none_for_fixed": (None, *shape[1:])}
    return {}
