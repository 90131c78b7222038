"""Text columns that line up in a terminal when they hold Korean.

A Hangul syllable, like every East Asian wide or full-width character, takes two
terminal cells; ``str.rjust`` counts it as one, so a Korean header drifts left of
the numbers under it. Widths here count cells, as terminals draw them.
"""

from __future__ import annotations

import unicodedata


def display_width(text: str) -> int:
    """Terminal cells that ``text`` takes: 2 for wide and full-width characters, 0 for
    combining marks, 1 for the rest."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def rjust(text: str, width: int) -> str:
    """``text`` right-aligned in ``width`` terminal cells."""
    return " " * max(0, width - display_width(text)) + text


def ljust(text: str, width: int) -> str:
    """``text`` left-aligned in ``width`` terminal cells."""
    return text + " " * max(0, width - display_width(text))


def fit(text: str, width: int) -> str:
    """``text`` on one line, cut to ``width`` terminal cells with an ellipsis if longer."""
    text = " ".join(text.split())
    if display_width(text) <= width:
        return text
    out = ""
    for ch in text:
        if display_width(out + ch) > width - 1:
            break
        out += ch
    return out + "…"


def table(header: list[str], rows: list[list[str]], gap: int = 2) -> list[str]:
    """Lines of a table with every column right-aligned to its widest cell."""
    widths = [max(display_width(cell) for cell in column) for column in zip(header, *rows)]
    return [(" " * gap).join(rjust(cell, w) for cell, w in zip(line, widths)).rstrip()
            for line in [header, *rows]]
