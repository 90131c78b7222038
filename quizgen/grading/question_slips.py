"""Slip tables of the later question kinds (questions/zoo.py): which wrong answer a known
slip gives for each part.

The slips themselves live with the layer families (nn/layers/*.py) and nn/memory.py;
this module only says which of them each part of these questions can show, and adds
the few that belong to a whole question (one text-CNN branch counted, model B's total
given for B − A). misconceptions.slip_table keeps the values that exactly one slip
explains. Each function takes (part or None for a single answer, answer, solution).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..nn.layers import KINDS
from ..nn.layers.recurrent import output_slips
from ..nn.memory import memory_slips
from ..nn.solver import LayerResult, Solution
from ..questions.model_reading import change_slips
from ..questions.rnn_inside import element_slips, gate_slips
from ..questions.text_pipeline import positional_slips, tokenizer_slips
from ..questions.zoo import PREFIXES, part_solution
from .slip_values import layer_slips, shape_slips, slips_in_layer, total_slips


def _graph_shape_slips(solution: Solution, row: LayerResult) -> dict[str, Any]:
    """shape_slips for a layer of a graph: called on the shapes of its own inputs."""
    tensors = {name: shape for name, shape in solution.graph.inputs.items()}  # type: ignore[union-attr]
    tensors.update({r.name: r.output_shape for r in solution.layers})
    incoming = tuple(tensors[name] if index is None else tensors[name][index] for name, index in row.inbound)
    out: dict[str, Any] = {"no_batch_axis": tuple(row.output_shape)[1:]}
    kind = KINDS.get(row.type)
    if kind is not None and kind.shape_slips is not None:
        shapes: Any = incoming if len(incoming) > 1 else incoming[0]
        out.update(kind.shape_slips(row, shapes))
    return out


def _rows(solution: Solution, layer_type: str) -> list[LayerResult]:
    return [r for r in solution.layers if r.type == layer_type]


def _total(part: dict[str, Any] | None, answer: dict[str, Any], solution: Solution) -> dict[str, Any]:
    return total_slips(solution)


def _return_state(part: dict[str, Any] | None, answer: dict[str, Any], solution: Solution) -> dict[str, Any]:
    """An RNN output or state: its family's slips; a joined Bidirectional state: not doubled."""
    row = next(r for r in solution.layers if r.type in ("Bidirectional", "SimpleRNN", "LSTM", "GRU"))
    keys = [p["key"] for p in answer["parts"]]
    index = keys.index(part["key"])  # type: ignore[index]
    value = tuple(part["value"])  # type: ignore[index]
    if index >= len(row.output_shape):  # Concatenate()([forward_h, backward_h])
        return {"no_batch_axis": value[1:], "bidi_states_not_doubled": (value[0], value[1] // 2)}
    (name, i), = row.inbound
    tensors = {**solution.graph.inputs, **{r.name: r.output_shape for r in solution.layers}}  # type: ignore[union-attr]
    incoming = tensors[name] if i is None else tensors[name][i]
    return {"no_batch_axis": value[1:], **output_slips(row, incoming)[index]}


def _text_cnn(part: dict[str, Any] | None, answer: dict[str, Any], solution: Solution) -> dict[str, Any]:
    key = part["key"]  # type: ignore[index]
    if key == "total":
        slips = total_slips(solution)
        convs = _rows(solution, "Conv1D")
        slips["cnn_one_branch"] = solution.total_params - sum(r.params for r in convs[1:])
        return slips
    if key == "concat":
        return _graph_shape_slips(solution, _rows(solution, "Concatenate")[0])
    return _graph_shape_slips(solution, _rows(solution, "Conv1D")[-1])


def _transformer(part: dict[str, Any] | None, answer: dict[str, Any], solution: Solution) -> dict[str, Any]:
    if part["key"] == "total":  # type: ignore[index]
        return total_slips(solution)
    return layer_slips(_rows(solution, "MultiHeadAttention")[0])


def _cnn(part: dict[str, Any] | None, answer: dict[str, Any], solution: Solution) -> dict[str, Any]:
    key = part["key"]  # type: ignore[index]
    if key == "total":
        return total_slips(solution)
    return shape_slips(solution, int(key[1:].split(".")[0]))


def _memory(part: dict[str, Any] | None, answer: dict[str, Any], solution: Solution) -> dict[str, Any]:
    key = part["key"]  # type: ignore[index]
    if key == "total":
        return total_slips(solution)
    return memory_slips(solution.total_params, key)


def _compare(part: dict[str, Any] | None, answer: dict[str, Any], solution: Solution) -> dict[str, Any]:
    """Each model slip made in both models (the difference of the slipped totals), model B's
    total for the difference, and only the changed layers compared (their successors left out)."""
    a, b = (part_solution(solution, p) for p in PREFIXES)
    right = b.total_params - a.total_params
    slips_a, slips_b = total_slips(a), total_slips(b)
    out: dict[str, Any] = {}
    for key in sorted(set(slips_a) | set(slips_b)):
        if "@" in key and ((key in slips_a) != (key in slips_b) or len(a.layers) != len(b.layers)):
            continue  # a layer of one model only, or numbered differently in the other: no difference to take
        diff = slips_b.get(key, b.total_params) - slips_a.get(key, a.total_params)
        if diff >= 0 and diff != right:  # a slip made alike in both models cancels out
            out[key] = diff
    whole = {value for key, value in out.items() if "@" not in key}
    out = {key: value for key, value in out.items() if "@" not in key or value not in whole}  # as total_slips
    out["compare_total_not_difference"] = b.total_params
    if len(a.layers) == len(b.layers):
        changed = [(ra, rb) for ra, rb in zip(a.layers, b.layers) if ra.layer != rb.layer]
        downstream = sum(rb.params - ra.params for ra, rb in changed)
        if downstream != right:  # the changed layers are the whole difference when nothing after them changes
            out["compare_downstream"] = downstream
    return out


# ---------------------------------------------------------------- the notebook's exercises

def _rnn_step(part: dict[str, Any] | None, answer: dict[str, Any], solution: Solution) -> dict[str, Any]:
    """The slips that show in this element of the hidden state (each shows in one at least)."""
    return element_slips(answer["given"], int(part["key"][1:]))  # type: ignore[index]


def _gate_weights(part: dict[str, Any] | None, answer: dict[str, Any], solution: Solution) -> dict[str, Any]:
    return gate_slips(part["key"], solution)  # type: ignore[index]


def _changes_count(part: dict[str, Any] | None, answer: dict[str, Any], solution: Solution) -> dict[str, Any]:
    return change_slips(part["key"], answer["given"], solution)  # type: ignore[index]


def _spot_bug(part: dict[str, Any] | None, answer: dict[str, Any], solution: Solution) -> dict[str, Any]:
    key = part["key"]  # type: ignore[index]
    if key == "printed_total":
        return {"counts_unbuilt": solution.total_params}
    if key == "embedding_shape":  # (None, None, E): the batch axis or the time axis left out give one value
        value = tuple(part["value"])  # type: ignore[index]
        slips = {k: v for k, v in shape_slips(solution, 1).items() if k != "no_batch_axis"}
        return {**slips, "no_time_axis": (value[0], value[-1])}
    if key == "fails":
        return {"fix_for_failure": answer["given"]["fix_layer"]}
    if key == "fix":
        return {"blames_failing_layer": answer["given"]["fix_layer"] + 1}
    return total_slips(solution)


def _tokenizer(part: dict[str, Any] | None, answer: dict[str, Any], solution: Solution) -> dict[str, Any]:
    key = part["key"]  # type: ignore[index]
    if key == "total":
        return total_slips(solution)
    return tokenizer_slips(key, answer["given"], solution)


def _tagging(part: dict[str, Any] | None, answer: dict[str, Any], solution: Solution) -> dict[str, Any]:
    key = part["key"]  # type: ignore[index]
    last = solution.layers[-1]
    if key == "rnn_shape":
        rnn = next(r for r in reversed(solution.layers) if r.type in ("Bidirectional", "SimpleRNN", "LSTM", "GRU"))
        return shape_slips(solution, rnn.index)
    if key == "tags_shape":
        return shape_slips(solution, last.index)
    if key == "tags_params":
        steps = last.output_shape[1]
        return {**slips_in_layer(last, last.index), "td_per_timestep": last.params * steps}
    return total_slips(solution)


def _positional(part: dict[str, Any] | None, answer: dict[str, Any], solution: Solution) -> dict[str, Any]:
    key = part["key"]  # type: ignore[index]
    if key == "token":
        return layer_slips(solution.layers[0])
    if key == "total":  # adding maxlen is the position table's bias: named as that
        slips = {k: v for k, v in total_slips(solution).items() if k != "adds_seq_len"}
        return {**slips, **positional_slips(key, solution)}
    return positional_slips(key, solution)


QUESTION_SLIPS: dict[str, Callable[[dict[str, Any] | None, dict[str, Any], Solution], dict[str, Any]]] = {
    "seq2seq": _total, "return-state": _return_state, "text-cnn": _text_cnn, "transformer": _transformer,
    "cnn": _cnn, "memory": _memory, "compare": _compare,
    "rnn-step": _rnn_step, "gate-weights": _gate_weights, "changes-count": _changes_count, "spot-bug": _spot_bug,
    "tokenizer": _tokenizer, "tagging": _tagging, "positional": _positional,
}
