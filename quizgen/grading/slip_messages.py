"""What a student is told about a wrong answer: the slip it shows, in the quiz's language.

A slip made in one layer is stored as a *slip reference*, ``no_bias@2:SimpleRNN``: the
slip's name (a key of ``data/misconceptions.json``), the layer's number in the model
(as ``model.summary()`` lists it) and its type. The reference is what a grading key
maps a wrong value to and what a grade's ``misconception`` holds, so the feedback can
name the layer without reading the question's spec (a key column student views never
read). A slip of the whole model (``adds_seq_len``, or ``no_bias`` in every layer that
has a bias) is stored by its name alone.

Only wording and plain data here (no solver, no database): student commands import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..resources import load_json

MAX_REF = 64  # grades.misconception is a VARCHAR(64); PostgreSQL enforces it


@dataclass(frozen=True)
class SlipRef:
    """A slip, and the layer it was made in (None: the whole model, or not about a layer).
    A slip made in one of several layers of a type, which all give the same number, names
    the type only (``no_recurrent@LSTM``: in one LSTM layer)."""

    slip: str
    layer: int | None = None
    layer_type: str | None = None

    def __str__(self) -> str:
        if self.layer is None:
            return f"{self.slip}@{self.layer_type}" if self.layer_type else self.slip
        text = f"{self.slip}@{self.layer}:{self.layer_type}" if self.layer_type else f"{self.slip}@{self.layer}"
        return text if len(text) <= MAX_REF else f"{self.slip}@{self.layer}"


def slip_ref(slip: str, layer: int, layer_type: str | None) -> str:
    """The stored reference of ``slip`` made in layer ``layer`` (1-based) of type ``layer_type``."""
    return str(SlipRef(slip, layer, layer_type))


def type_ref(slip: str, layer_type: str) -> str:
    """The stored reference of ``slip`` made in one of the layers of type ``layer_type``."""
    return str(SlipRef(slip, None, layer_type))


def parse_slip(text: str) -> SlipRef:
    """A stored slip reference read back (``no_bias@2:SimpleRNN``, ``no_bias@2``,
    ``no_recurrent@LSTM``); a plain slip name (as quizgen 0.1 stored every slip) is a slip
    of no particular layer."""
    slip, at, where = text.partition("@")
    if not at:
        return SlipRef(text)
    number, _, layer_type = where.partition(":")
    if number.isascii() and number.isdigit():
        return SlipRef(slip, int(number), layer_type or None)
    if where.isidentifier():
        return SlipRef(slip, None, where)
    return SlipRef(text)


def _wording(lang: str) -> dict[str, Any]:
    words = load_json("misconceptions.json")
    return words["layers"].get(lang) or words["layers"]["en"]


def slip_sentence(slip: str, lang: str) -> str:
    """The general explanation of a slip (the slip's name if it has none)."""
    words = load_json("misconceptions.json")
    return (words.get(lang) or words["en"]).get(slip, slip)


def layer_name(layer: int, layer_type: str | None, lang: str) -> str:
    """"layer 2 (SimpleRNN)" / "두 번째 층(SimpleRNN)"."""
    from ..korean import ordinal

    w = _wording(lang)
    return (w["layer_typed"] if layer_type else w["layer"]).format(index=layer, type=layer_type, nth=ordinal(layer))


def slip_feedback(text: str | None, lang: str) -> str | None:
    """The sentence for a stored slip reference: for a slip in one layer, the layer
    named and what was miscounted in a layer of that type (the slip's general
    explanation when there is no wording for that type); else the general explanation."""
    from ..korean import particles

    if not text:
        return None
    ref = parse_slip(text)
    if ref.layer is None and ref.layer_type is None:
        return slip_sentence(ref.slip, lang)
    specific = _wording(lang)["slips"].get(ref.slip, {})
    what = specific.get(ref.layer_type or "") or specific.get("*") or slip_sentence(ref.slip, lang)
    if ref.layer is None:
        where = _wording(lang)["one_of_type"].format(type=ref.layer_type)
    else:
        where = layer_name(ref.layer, ref.layer_type, lang)
    line = _wording(lang)["in_layer"].format(layer=where, what=what)
    return particles(line) if lang == "ko" else line


def shown_score(value: float | None) -> float | None:
    """A score as students and reports are shown it: rounded to 2 decimals (grades store
    it exactly)."""
    return None if value is None else round(value, 2)


def score_text(value: float) -> str:
    """A score as text: at most two decimals, no trailing zeros (``0.44``, ``2``, ``12345.5``)."""
    return f"{value:.2f}".rstrip("0").rstrip(".")
