"""Text renderings of a solution: Keras 3's ``model.summary()`` table and the worked answer.

One table for every model (#21.11), the box Keras 3 draws (keras/src/utils/summary_utils.py
through rich): a Sequential model's layers in three columns, a functional model's inputs,
layers and, when masks are in play, the operations Keras adds for them (nn/masks.py), in
four columns with "Connected to" unless the model is a chain ("sequential-like": three
columns). Keras fits the table to the terminal (``min(default, columns - 4)``): quizgen
prints it as Keras does in a terminal of 104 columns, so a table is at most 100 wide (88
for three columns) and a long shape wraps inside its cell. The totals carry their size in
bytes as Keras prints it (float32 weights, int64 counts where a layer keeps one).
"""

from __future__ import annotations

import re
from typing import Any

from .derivation import texts
from .layers.base import is_multi
from .memory import readable_size
from .solver import Solution

# Keras's default line lengths (88 for three columns, 108 for four), capped as by a terminal
# of 104 columns.
MAX_WIDTH = 100
_THREE = (min(88, MAX_WIDTH), [0.45, 0.80, 1.0])
_FOUR = (min(108, MAX_WIDTH), [0.3, 0.56, 0.74, 1.0])


def format_summary(solution: Solution, title: str | None = None) -> str:
    """Keras 3's ``model.summary()`` of the solved model (a Sequential spec as keras.Sequential,
    a graph spec as a functional keras.Model)."""
    if solution.graph is not None:
        return format_functional_summary(solution, title or "functional")
    rows = [[f"{r.name} ({r.type})", _shape_text(r.output_shape), f"{r.params:,}"] for r in solution.layers]
    return _render(title or "sequential", rows, False, solution)


def format_working(solution: Solution, lang: str = "ko") -> str:
    """The per-layer derivations and the sum, in the chosen language."""
    words = texts(lang)["working"]
    lines = [words["heading"]]
    graph = solution.graph is not None
    for row in solution.layers:
        named = f"{row.name} — " if graph else ""
        lines.append(f"{row.index}. {named}{row.derivation.to_text(lang)}")
    parts = " + ".join(f"{row.params:,}" for row in solution.layers)
    if parts == f"{solution.total_params:,}":  # one layer: "= 44 = 44" would say nothing twice
        lines.append(words["total_one"].format(total=solution.total_params))
    else:
        lines.append(words["total"].format(parts=parts, total=solution.total_params))
    if solution.non_trainable_params:
        lines.append(words["split"].format(trainable=solution.trainable_params,
                                           non_trainable=solution.non_trainable_params))
    return "\n".join(lines)


# ---------------------------------------------------------------- the table, as rich lays it out

def _ratio_reduce(total: int, maximums: list[int], values: list[int]) -> list[int]:
    # rich._ratio.ratio_reduce with every ratio 1
    ratios = [1 if m else 0 for m in maximums]
    total_ratio = sum(ratios)
    if not total_ratio:
        return values[:]
    remaining, out = total, []
    for ratio, maximum, value in zip(ratios, maximums, values):
        if ratio and total_ratio > 0:
            distributed = min(maximum, round(ratio * remaining / total_ratio))
            out.append(value - distributed)
            remaining -= distributed
            total_ratio -= ratio
        else:
            out.append(value)
    return out


def _column_widths(line_length: int, positions: list[float]) -> list[int]:
    widths, current = [], 0
    for pos in positions:
        width = int(pos * line_length) - current
        widths.append(width + 2)  # one space of padding on each side
        current += width
    room = line_length - (len(widths) + 1)  # the vertical borders
    if sum(widths) > room:
        widths = _ratio_reduce(sum(widths) - room, widths, widths)
    return widths


def _wrap(text: str, width: int) -> list[str]:
    """rich's word wrap (``divide_line`` without folding): break before a word that does not
    fit; a word longer than the line keeps a line of its own and is cut with an ellipsis."""
    words = re.finditer(r"\s*\S+\s*", text)
    breaks, offset = [], 0
    for match in words:
        start, word = match.start(), match.group(0)
        length = len(word.rstrip())
        if width - offset >= length:
            offset += len(word)
        elif length > width:
            if start:
                breaks.append(start)
            offset = len(word)
        elif offset and start:
            breaks.append(start)
            offset = len(word)
    lines = [text[a:b] for a, b in zip([0, *breaks], [*breaks, len(text)])] or [""]
    out = []
    for line in lines:
        line = line.rstrip() if len(line.rstrip()) <= width else line
        if len(line) > width:
            line = line.rstrip()
            if len(line) > width:
                line = line[: width - 1] + "…"
        out.append(line)
    return out


def _table(header: list[str], right: list[bool], rows: list[list[str]], widths: list[int]) -> list[str]:
    inner = [w - 2 for w in widths]

    def border(left: str, fill: str, mid: str, end: str) -> str:
        return left + mid.join(fill * w for w in widths) + end

    def cells(values: list[str], bar: str) -> list[str]:
        wrapped = [_wrap(v, w) for v, w in zip(values, inner)]
        height = max(len(c) for c in wrapped)
        lines = []
        for i in range(height):
            parts = []
            for c, w, r in zip(wrapped, inner, right):
                text = c[i] if i < len(c) else ""
                parts.append(" " + (text.rjust(w) if r else text.ljust(w)) + " ")
            lines.append(bar + bar.join(parts) + bar)
        return lines

    out = [border("┏", "━", "┳", "┓"), *cells(header, "┃"), border("┡", "━", "╇", "┩")]
    for i, row in enumerate(rows):
        if i:
            out.append(border("├", "─", "┼", "┤"))
        out.extend(cells(row, "│"))
    out.append(border("└", "─", "┴", "┘"))
    return out


def _shape_text(shape: Any) -> str:
    if is_multi(shape):
        return "[" + ", ".join(_summary_shape(s) for s in shape) + "]"
    return _summary_shape(shape)


def _summary_shape(shape: Any) -> str:
    """A shape as Keras's summary writes it (summary_utils.format_layer_shape): a 1-tuple without
    the comma Python (and format_shape) gives it."""
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def format_functional_summary(solution: Solution, title: str = "functional") -> str:
    """Keras 3's ``model.summary()`` of a functional model, for a solved graph spec."""
    graph = solution.graph
    assert graph is not None
    by_name = {r.name: r for r in solution.layers}
    chain = graph.chain
    operations = graph.mask_operations()
    masks = graph.mask_inputs or {}
    rows = []
    for name in graph.nodes or graph.order:
        op = operations.get(name)
        if op is not None:
            fields = [f"{op.name} ({op.type})", _summary_shape(op.shape), "0", ", ".join(op.connected) or "-"]
        elif name in by_name:
            row = by_name[name]
            connected = row.connected_to() + [f"{operations[m].name}[0][0]" for m in masks.get(name, ())]
            fields = [f"{name} ({row.type})", _shape_text(row.output_shape), f"{row.params:,}",
                      ", ".join(connected) or "-"]
        else:
            fields = [f"{name} (InputLayer)", _summary_shape(graph.inputs[name]), "0", "-"]
        rows.append(fields[:3] if chain else fields)
    return _render(title, rows, not chain, solution)


def _render(title: str, rows: list[list[str]], connected: bool, solution: Solution) -> str:
    if connected:
        header, right = ["Layer (type)", "Output Shape", "Param #", "Connected to"], [False, False, True, False]
        length, positions = _FOUR
    else:
        header, right = ["Layer (type)", "Output Shape", "Param #"], [False, False, True]
        length, positions = _THREE
    lines = [f'Model: "{title}"', *_table(header, right, rows, _column_widths(length, positions))]
    wide = sum(r.derivation.int64 for r in solution.layers)  # 8 bytes each, where the rest take 4
    for label, count, extra in (("Total", solution.total_params, wide), ("Trainable", solution.trainable_params, 0),
                                ("Non-trainable", solution.non_trainable_params, wide)):
        lines.append(f" {label} params: {count:,} ({readable_size(count * 4 + extra * 4)})")
    return "\n".join(lines)
