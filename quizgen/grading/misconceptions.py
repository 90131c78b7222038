"""Known slips and the wrong answers they produce.

For each question the grader asks: which answers would a student get by
forgetting a bias, dropping the recurrent kernel, counting an LSTM as one gate,
and so on? Slip values are computed from the solver's per-layer derivations (the
symbols h, d, u, V, E...), so no model is re-solved per slip. A slip is only ever
named when its value is unique: not the right answer, and not what another slip
also produces (then the wrong answer could have come from either).

A count slip is made in one layer at a time (the others right), or in every layer
that can have it: the 점검 퀴즈's 529,313 is the SimpleRNN's bias forgotten, 529,440
the Dense's, 529,312 both. A slip in one layer is stored as a reference that names
the layer (``no_bias@2:SimpleRNN``, see grading.slip_messages); a slip that only one
layer can make is that layer's.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from ..nn.solver import Solution, seed_weight_shapes, solve_raw
from ..questions.catalog import FIRST_KINDS
from ..questions.records import ACCEPTED_FIELD, CARRY_FIELD, CARRY_KINDS, answer_units
from .question_slips import QUESTION_SLIPS
from .scoring import ACCEPTED, CARRY
from .slip_messages import parse_slip
from .slip_values import layer_slips, seq_len, shape_slips, slips_in_layer, total_slips

__all__ = ["layer_slips", "shape_slips", "slips_in_layer", "total_slips", "grading_key", "diagnose_table",
           "slip_tables", "slip_table", "offered_slips", "slips_apart", "value_text", "expected_text", "canonical"]

# The slips the first eight question kinds were graded with. The layer families have
# learned more since (PyTorch's RNN biases, pooling strides...), but a stored key is
# made afresh on --regrade, so those kinds keep exactly this set (a slip made in one layer
# is offered when its slip is: ``no_bias@2:SimpleRNN`` with ``no_bias``).
FIRST_SLIPS = frozenset({
    "no_bias", "no_recurrent", "lstm_one_gate", "gru_reset_after", "bidi_not_doubled", "embedding_bias",
    "adds_seq_len", "trainable_only", "bn_stats_trainable", "keras_kernel_shape", "transposed_states",
    "no_batch_axis", "return_sequences", "bidi_concat", "batch_none_for_fixed", "numpy_kernel_shape",
    "frozen_counted_trainable"})  # named only when a layer is frozen (#18), which no earlier key had


def _offered(kind: str, slips: dict[str, Any]) -> dict[str, Any]:
    if kind in FIRST_KINDS:
        return {k: v for k, v in slips.items() if parse_slip(k).slip in FIRST_SLIPS}
    return slips


def _unique(right: Any, slips: dict[str, Any]) -> dict[Any, str]:
    """value → slip, keeping only values that exactly one slip produces and that are wrong."""
    by_value: dict[Any, list[str]] = defaultdict(list)
    for key, value in slips.items():
        by_value[value].append(key)
    return {value: keys[0] for value, keys in by_value.items() if len(keys) == 1 and not _same(value, right)}


def _same(a: Any, b: Any) -> bool:
    # 1 == True and (1,) != [1]: compare as canonical values of the same kind
    return type(a) is type(b) and a == b


def canonical(value: Any) -> Any:
    """A hashable form of a parsed answer (shapes as tuples)."""
    return tuple(value) if isinstance(value, list) else value


def slip_tables(kind: str, answer: dict[str, Any], solution: Solution | None) -> dict[str | None, dict[Any, str]]:
    """For each part (None for a single answer): wrong value → the slip that explains it."""
    if kind == "inverse":
        return {}
    keys = [p["key"] for p in answer["parts"]] if answer["type"] == "parts" else [None]
    return {key: slip_table(kind, answer, solution, key) for key in keys}  # type: ignore[arg-type]


def diagnose_table(
    kind: str, template: str, spec: dict[str, Any], answer: dict[str, Any]
) -> dict[str | None, dict[Any, str]]:
    """slip_tables for a stored question, solving its spec."""
    return slip_tables(kind, answer, None if kind == "inverse" else solve_raw(spec))


def value_text(value: Any) -> str:
    """An answer value as the JSON text SQLAlchemy stores for a parsed submission
    (shapes as lists), so a right answer can be recognised without decoding it."""
    return json.dumps(list(value) if isinstance(value, tuple) else value)


def expected_text(answer: dict[str, Any]) -> str:
    """The whole right answer as value_text; parts in the key's order, as ``submit`` stores them.
    Values the instructor also accepts are not in it (grading_key marks them in the slip
    tables), so a submission of the usual right answer is still recognised by its text."""
    if answer["type"] == "parts":
        return value_text({p["key"]: p["value"] for p in answer["parts"]})
    return value_text(answer["value"])


def grading_key(kind: str, spec: dict[str, Any], answer: dict[str, Any],
                solution: Solution | None = None) -> tuple[str, dict[str, dict[str, str]]]:
    """(expected text, slips) as stored with a question: everything grading needs.

    Slips are keyed by part ("" for a single answer), then by the value_text of a
    wrong value. They are computed once, when the key is made (from the generator's
    solution, or by solving ``spec``), because the grader meets every student's own
    variant only once, and solving it again per wrong answer was half of grading.

    A value listed in the answer's (or a part's) ``accepted`` list is marked ACCEPTED in
    its table, over any slip that produces it: scoring counts it as right. A summary of a
    quiz with follow-through credit (the answer's ``carry_forward``) lists its layer count
    parts under CARRY in the total's table: scoring gives the total its part when it is the
    sum of the student's own layer counts."""
    if solution is None and kind != "inverse":
        solution = solve_raw(spec)
    tables = slip_tables(kind, answer, solution)
    slips = {part or "": {value_text(v): slip for v, slip in table.items()} for part, table in tables.items() if table}
    for part, unit in answer_units(answer):
        for value in unit.get(ACCEPTED_FIELD, ()):
            slips.setdefault(part or "", {})[value_text(value)] = ACCEPTED
    if answer.get(CARRY_FIELD) and kind in CARRY_KINDS:
        layers = [p["key"] for p in answer["parts"] if p["key"].endswith(".params")]
        slips.setdefault("total", {})[CARRY] = layers  # type: ignore[assignment]
    return expected_text(answer), slips


def slip_table(kind: str, answer: dict[str, Any], solution: Solution, part_key: str | None) -> dict[Any, str]:
    """wrong value → slip for one part (``None``: the single answer) of a solved question."""
    if kind == "inverse":
        return {}
    return _unique(*offered_slips(kind, answer, solution, part_key))


def offered_slips(kind: str, answer: dict[str, Any], solution: Solution,
                  part_key: str | None) -> tuple[Any, dict[str, Any]]:
    """(right value, slip → the wrong value it gives) for one part of a solved question:
    every slip the question names, before the ambiguous ones are left out. The generator
    draws sizes that keep these values apart; the tests hold it to that."""
    if answer["type"] == "parts":
        part = next(p for p in answer["parts"] if p["key"] == part_key)
        return canonical(part["value"]), _offered(kind, _part_slips(kind, part, solution, answer))
    right = canonical(answer["value"])
    if answer["type"] == "count":
        if kind == "layer-params":
            row = solution.layers[answer["layer"] - 1]
            slips = slips_in_layer(row, answer["layer"])
            seq = seq_len(solution)
            if seq:
                slips["adds_seq_len"] = row.params + seq
        elif kind not in FIRST_KINDS:
            slips = _question_slips(kind)(None, answer, solution)
        else:
            slips = total_slips(solution, FIRST_SLIPS)
        return right, _offered(kind, slips)
    index = answer.get("layer", len(solution.layers))
    return right, _offered(kind, shape_slips(solution, index))


def slips_apart(kind: str, answer: dict[str, Any], solution: Solution | None) -> bool:
    """Whether every slip a question names gives its own wrong value in every part: none the
    right answer, no two the same. The generator redraws a student's sizes until they are
    (classroom.quizzes passes this to it), so feedback can name each slip it teaches."""
    if kind == "inverse" or solution is None:
        return True
    keys = [p["key"] for p in answer["parts"]] if answer["type"] == "parts" else [None]
    for key in keys:
        right, slips = offered_slips(kind, answer, solution, key)
        values = [canonical(v) for v in slips.values()]
        if len(set(values)) < len(values) or any(_same(v, right) for v in values):
            return False
    return True


def _part_slips(kind: str, part: dict[str, Any], solution: Solution, answer: dict[str, Any]) -> dict[str, Any]:
    key = part["key"]
    if kind == "weight-shapes":
        t, d, h = answer["sizes"]
        if key == "W_x":
            return {"keras_kernel_shape": tuple(seed_weight_shapes(t, d, h)["keras_kernel"])}
        if key == "keras_kernel":
            return {"numpy_kernel_shape": tuple(seed_weight_shapes(t, d, h)["W_x"])}
        if key == "total_hidden_states":
            return {"transposed_states": (h, t)}
        return {}
    if kind not in FIRST_KINDS:
        return _question_slips(kind)(part, answer, solution)
    if kind == "trainable-split":
        frozen = solution.frozen_params()  # trainable=False layers (#18): counted as trainable by mistake
        if key == "trainable":
            out = {"bn_stats_trainable": solution.total_params}
            if frozen:
                out["frozen_counted_trainable"] = solution.trainable_params + frozen
            return out
        out = {"bn_stats_trainable": 0}
        if frozen:
            out["frozen_counted_trainable"] = solution.non_trainable_params - frozen
        return out
    if key == "total":
        return total_slips(solution, FIRST_SLIPS)
    index = int(key[1:].split(".")[0])
    if key.endswith(".shape"):
        return shape_slips(solution, index)
    return slips_in_layer(solution.layers[index - 1], index)


def _question_slips(kind: str) -> Any:
    """The slip function of a later question kind (grading/question_slips.py)."""
    return QUESTION_SLIPS[kind]
