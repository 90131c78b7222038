"""Tensor shapes as Keras writes them: the one formatter every part of quizgen prints with."""

from __future__ import annotations

from collections.abc import Sequence

Shape = tuple[int | None, ...]


def format_shape(value: Sequence[int | None]) -> str:
    """``(None, 30, 100)`` as Keras prints a shape (a 1-tuple keeps its comma)."""
    inner = ", ".join("None" if d is None else str(d) for d in value)
    return f"({inner},)" if len(value) == 1 else f"({inner})"
