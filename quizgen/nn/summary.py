"""Text renderings of a solution: Keras's ``model.summary()`` table and the worked answer.

The table copies the layout the textbook prints (Keras 2 style, Param # without
separators, totals with them) so students compare like with like.
"""

from __future__ import annotations

import re
from typing import Any

from .derivation import texts
from .layers.base import is_multi
from .memory import readable_size
from .shapes import format_shape
from .solver import Solution

_WIDTH = 65
_RULE = "_" * _WIDTH
_DOUBLE = "=" * _WIDTH


def _row(name: str, shape: str, params: str) -> str:
    # columns start at 1, 29 and 55, 65 wide, as in the seed; an overlong cell keeps one space
    return f" {name:<27} {shape:<25} {params:<10}"


def format_summary(solution: Solution, title: str | None = None) -> str:
    """The summary table: Keras 2's layout for a Sequential spec (as the textbook prints it),
    Keras 3's functional table for a graph."""
    if solution.graph is not None:
        return format_functional_summary(solution, title or "functional")
    title = title or "sequential"
    lines = [f'Model: "{title}"', _RULE, _row("Layer (type)", "Output Shape", "Param #"), _DOUBLE]
    for i, row in enumerate(solution.layers):
        if i:
            lines.append(" " * _WIDTH)
        lines.append(_row(f"{row.name} ({row.type})", format_shape(row.output_shape), str(row.params)))
    lines += [
        _DOUBLE,
        f"Total params: {solution.total_params:,}",
        f"Trainable params: {solution.trainable_params:,}",
        f"Non-trainable params: {solution.non_trainable_params:,}",
        _RULE,
    ]
    return "\n".join(lines)


def format_working(solution: Solution, lang: str = "ko") -> str:
    """The per-layer derivations and the sum, in the chosen language."""
    words = texts(lang)["working"]
    lines = [words["heading"]]
    graph = solution.graph is not None
    for row in solution.layers:
        named = f"{row.name} — " if graph else ""
        lines.append(f"{row.index}. {named}{row.derivation.to_text(lang)}")
    parts = " + ".join(f"{row.params:,}" for row in solution.layers)
    lines.append(words["total"].format(parts=parts, total=solution.total_params))
    if solution.non_trainable_params:
        lines.append(words["split"].format(trainable=solution.trainable_params,
                                           non_trainable=solution.non_trainable_params))
    return "\n".join(lines)


# ---------------------------------------------------------------- Keras 3's functional summary
# A graph is printed as Keras 3 prints a functional model (keras/src/utils/summary_utils.py):
# a rich table, 108 columns wide with a "Connected to" column, or 88 wide without it when
# the model is a chain ("sequential-like"), InputLayer rows included, then the totals with
# their float32 size. The table layout below reproduces rich's (column widths reduced
# evenly to fit the line, words wrapped at spaces, an overlong word cut with "…"), so the
# table matches keras.Model.summary(line_length=...) character for character
# (tests/test_graph_summary.py compares them). Keras's internal mask operations
# (NotEqual rows after an Embedding with mask_zero=True) are not shown.

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
        return "[" + ", ".join(format_shape(s) for s in shape) + "]"
    return format_shape(shape)


def format_functional_summary(solution: Solution, title: str = "functional", bytes_per_param: int = 4) -> str:
    """Keras 3's ``model.summary()`` of a functional model, for a solved graph spec."""
    graph = solution.graph
    assert graph is not None
    by_name = {r.name: r for r in solution.layers}
    chain = graph.chain
    rows = []
    for name in graph.order:
        row = by_name.get(name)
        if row is None:
            fields = [f"{name} (InputLayer)", format_shape(graph.inputs[name]), "0", "-"]
        else:
            fields = [f"{name} ({row.type})", _shape_text(row.output_shape), f"{row.params:,}",
                      ", ".join(row.connected_to()) or "-"]
        rows.append(fields[:3] if chain else fields)
    if chain:
        header, right, widths = ["Layer (type)", "Output Shape", "Param #"], [False, False, True], \
            _column_widths(88, [0.45, 0.80, 1.0])
    else:
        header, right, widths = ["Layer (type)", "Output Shape", "Param #", "Connected to"], \
            [False, False, True, False], _column_widths(108, [0.3, 0.56, 0.74, 1.0])
    lines = [f'Model: "{title}"', *_table(header, right, rows, widths)]
    for label, count in (("Total", solution.total_params), ("Trainable", solution.trainable_params),
                         ("Non-trainable", solution.non_trainable_params)):
        lines.append(f" {label} params: {count:,} ({readable_size(count * bytes_per_param)})")
    return "\n".join(lines)
