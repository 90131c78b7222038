"""questions.expected and questions.slips: the grading key, computed once per question

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28

Grading used to decode each answer and re-solve each spec to diagnose a wrong
answer; the key is now stored with the question. The backfill below is frozen: it
is the grading-key rule of quizgen 0.1 (revision 0003), computed from what a 0002
database holds (each question's spec, its per-layer ``breakdown`` and its answer),
and never imports live quizgen code, so a later change to grading cannot change
what this migration writes. ``quizgen grade QUIZ --regrade --apply`` refreshes keys
with the current rules.
"""
from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_GATES = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}


def _decoded(value: Any) -> Any:  # SQLite hands JSON back as text
    return json.loads(value) if isinstance(value, str) else value


class _Row:
    """One layer of a 0002 question: its spec, its stored key row and its input shape."""

    def __init__(self, spec: dict[str, Any], key: dict[str, Any], incoming: tuple[Any, ...]):
        self.spec, self.key, self.incoming = spec, key, incoming
        self.type = key["type"]
        self.params = key["params"]
        self.shape = tuple(key["output_shape"])


def _rows(spec: dict[str, Any], breakdown: dict[str, Any]) -> tuple[tuple[Any, ...], list[_Row]]:
    inp = spec["input"]
    first = tuple(inp["batch_shape"]) if "batch_shape" in inp else (None, *inp["shape"])
    rows, shape = [], first
    for layer, key in zip(spec["layers"], breakdown["layers"]):
        rows.append(_Row(layer, key, shape))
        shape = tuple(key["output_shape"])
    return first, rows


def _rnn(row: _Row) -> tuple[str, bool, dict[str, Any]] | None:
    if row.type in _GATES:
        return row.type, False, row.spec
    inner = row.spec.get("layer") or {}
    if row.type == "Bidirectional" and inner.get("type") in _GATES:
        return inner["type"], True, inner
    return None


def _layer_slips(row: _Row) -> dict[str, int]:
    out: dict[str, int] = {}
    rnn = _rnn(row)
    if rnn is not None:
        cell, bidi, args = rnn
        h, d = args["units"], row.incoming[-1]
        gates = _GATES[cell]
        biased = args.get("use_bias", True)
        reset_after = cell == "GRU" and biased and args.get("reset_after", True)
        per = 2 if bidi else 1
        bias_terms = (2 if reset_after else 1) if biased else 0
        if biased:
            out["no_bias"] = per * gates * h * (h + d)
        out["no_recurrent"] = per * gates * h * (d + bias_terms)
        if cell == "LSTM":
            out["lstm_one_gate"] = per * h * (h + d + bias_terms)
        if reset_after:
            out["gru_reset_after"] = per * 3 * h * (h + d + 1)
        if bidi:
            out["bidi_not_doubled"] = row.params // 2
    elif row.type == "Dense" and row.spec.get("use_bias", True):
        out["no_bias"] = row.incoming[-1] * row.spec["units"]
    elif row.type == "Conv1D" and row.spec.get("use_bias", True):
        out["no_bias"] = row.params - row.spec["filters"]
    elif row.type == "Embedding":
        out["embedding_bias"] = row.spec["input_dim"] * (row.spec["output_dim"] + 1)
    return out


def _total_slips(first: tuple[Any, ...], rows: list[_Row], breakdown: dict[str, Any]) -> dict[str, int]:
    per_layer = [_layer_slips(r) for r in rows]
    out = {key: sum(s.get(key, r.params) for r, s in zip(rows, per_layer)) for s0 in per_layer for key in s0}
    seq = first[1] if len(first) >= 2 else None
    if seq:
        out["adds_seq_len"] = breakdown["total_params"] + seq
    if breakdown["non_trainable_params"]:
        out["trainable_only"] = breakdown["trainable_params"]
    return out


def _shape_slips(rows: list[_Row], index: int) -> dict[str, tuple[Any, ...]]:
    row = rows[index - 1]
    shape, incoming = row.shape, row.incoming
    out: dict[str, tuple[Any, ...]] = {"no_batch_axis": shape[1:]}
    rnn = _rnn(row)
    if rnn is not None:
        if len(shape) == 3:
            out["return_sequences"] = (shape[0], shape[2])
        elif len(incoming) == 3:
            out["return_sequences"] = (shape[0], incoming[1], shape[1])
        if rnn[1] and row.spec.get("merge_mode", "concat") == "concat":
            out["bidi_concat"] = (*shape[:-1], shape[-1] // 2)
    return out


def _canonical(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _unique(right: Any, slips: dict[str, Any]) -> dict[Any, str]:
    by_value: dict[Any, list[str]] = defaultdict(list)
    for key, value in slips.items():
        by_value[value].append(key)
    return {v: keys[0] for v, keys in by_value.items()
            if len(keys) == 1 and not (type(v) is type(right) and v == right)}


def _part_slips(kind: str, part: dict[str, Any], answer: dict[str, Any], first: tuple[Any, ...],
                rows: list[_Row], breakdown: dict[str, Any]) -> dict[str, Any]:
    key = part["key"]
    if kind == "weight-shapes":
        t, d, h = answer["sizes"]
        return {"W_x": {"keras_kernel_shape": (d, h)}, "total_hidden_states": {"transposed_states": (h, t)}}.get(
            key, {}
        )
    if kind == "trainable-split":
        return {"bn_stats_trainable": breakdown["total_params"] if key == "trainable" else 0}
    if key == "total":
        return _total_slips(first, rows, breakdown)
    index = int(key[1:].split(".")[0])
    return _shape_slips(rows, index) if key.endswith(".shape") else _layer_slips(rows[index - 1])


def _value_text(value: Any) -> str:
    return json.dumps(list(value) if isinstance(value, tuple) else value)


def grading_key_0003(kind: str, spec: dict[str, Any], answer: dict[str, Any],
                     breakdown: dict[str, Any]) -> tuple[str, dict[str, dict[str, str]]]:
    """(expected text, slips) exactly as quizgen 0.1 stored them at revision 0003."""
    if answer["type"] == "parts":
        expected = _value_text({p["key"]: p["value"] for p in answer["parts"]})
    else:
        expected = _value_text(answer["value"])
    if kind == "inverse":
        return expected, {}
    first, rows = _rows(spec, breakdown)
    tables: dict[str, dict[Any, str]] = {}
    if answer["type"] == "parts":
        for part in answer["parts"]:
            slips = _part_slips(kind, part, answer, first, rows, breakdown)
            tables[part["key"]] = _unique(_canonical(part["value"]), slips)
    elif answer["type"] == "count":
        if kind == "layer-params":
            row = rows[answer["layer"] - 1]
            slips = _layer_slips(row)
            seq = first[1] if len(first) >= 2 else None
            if seq:
                slips["adds_seq_len"] = row.params + seq
        else:
            slips = _total_slips(first, rows, breakdown)
        tables[""] = _unique(_canonical(answer["value"]), slips)
    else:
        tables[""] = _unique(_canonical(answer["value"]), _shape_slips(rows, answer.get("layer", len(rows))))
    return expected, {part: {_value_text(v): s for v, s in table.items()} for part, table in tables.items() if table}


def upgrade() -> None:
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expected", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("slips", sa.JSON(), nullable=True))
    questions = sa.table("questions", sa.column("id", sa.Integer), sa.column("kind", sa.String),
                         sa.column("spec", sa.JSON), sa.column("answer", sa.JSON), sa.column("breakdown", sa.JSON),
                         sa.column("expected", sa.Text), sa.column("slips", sa.JSON))
    conn = op.get_bind()
    rows = conn.execute(sa.select(questions.c.id, questions.c.kind, questions.c.spec, questions.c.answer,
                                  questions.c.breakdown)).all()
    updates = []
    for qid, kind, spec, answer, breakdown in rows:
        expected, slips = grading_key_0003(kind, _decoded(spec), _decoded(answer), _decoded(breakdown))
        updates.append({"qid": qid, "expected": expected, "slips": slips})
    if updates:
        conn.execute(questions.update().where(questions.c.id == sa.bindparam("qid"))
                     .values(expected=sa.bindparam("expected"), slips=sa.bindparam("slips")), updates)
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.alter_column("expected", existing_type=sa.Text(), nullable=False)
        batch_op.alter_column("slips", existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.drop_column("slips")
        batch_op.drop_column("expected")
