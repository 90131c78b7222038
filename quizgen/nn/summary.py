"""Text renderings of a solution: Keras's ``model.summary()`` table and the worked answer.

The table copies the layout the textbook prints (Keras 2 style, Param # without
separators, totals with them) so students compare like with like.
"""

from __future__ import annotations

from .derivation import texts
from .shapes import format_shape
from .solver import Solution

_WIDTH = 65
_RULE = "_" * _WIDTH
_DOUBLE = "=" * _WIDTH


def _row(name: str, shape: str, params: str) -> str:
    # columns start at 1, 29 and 55, 65 wide, as in the seed; an overlong cell keeps one space
    return f" {name:<27} {shape:<25} {params:<10}"


def format_summary(solution: Solution, title: str = "sequential") -> str:
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
    for row in solution.layers:
        lines.append(f"{row.index}. {row.derivation.to_text(lang)}")
    parts = " + ".join(f"{row.params:,}" for row in solution.layers)
    lines.append(words["total"].format(parts=parts, total=solution.total_params))
    if solution.non_trainable_params:
        lines.append(words["split"].format(trainable=solution.trainable_params,
                                           non_trainable=solution.non_trainable_params))
    return "\n".join(lines)
