"""Worked derivations as data: small expression trees over named symbols.

A derivation keeps the formula (``h×(h+d+1)``), the values of its symbols and what
each symbol means, so it can be rendered in Korean or English, substituted
(``128×(128+100+1)``), evaluated, and altered by the grader to reproduce a
student's slip (drop the bias, forget h×h) without re-deriving anything by hand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# Hot-path records are slotted but not frozen: a frozen dataclass costs three times as
# much to construct, and the generator builds millions of these. Treat them as values.
from ..resources import load_json


@dataclass(slots=True)
class Sym:
    """A named quantity of the layer: ``h`` = 128, meaning "hidden_size"."""

    name: str
    value: int
    meaning: str


@dataclass(slots=True)
class Op:
    """``+`` or ``×`` over two or more operands; ``value`` is computed once, on construction."""

    op: str
    args: tuple[Expr, ...]
    value: int


Expr = Sym | Op | int


def add(*args: Expr) -> Op:
    value = 0
    for a in args:
        value += a if type(a) is int else a.value  # type: ignore[union-attr]
    return Op("+", args, value)


def mul(*args: Expr) -> Op:
    value = 1
    for a in args:
        value *= a if type(a) is int else a.value  # type: ignore[union-attr]
    return Op("×", args, value)


def evaluate(expr: Expr) -> int:
    return expr if type(expr) is int else expr.value  # type: ignore[union-attr]


def render(expr: Expr, values: bool = False) -> str:
    """The formula with symbol names, or (values=True) with their numbers."""
    return render_both(expr)[1 if values else 0]


def render_both(expr: Expr) -> tuple[str, str]:
    """(formula with names, formula with values) in one walk of the tree."""
    kind = type(expr)
    if kind is int:
        text = str(expr)
        return text, text
    if kind is Sym:
        return expr.name, str(expr.value)  # type: ignore[union-attr]
    op = expr.op  # type: ignore[union-attr]
    names, values = [], []
    for a in expr.args:  # type: ignore[union-attr]
        n, v = render_both(a)
        if op == "×" and type(a) is Op and a.op == "+":
            n, v = f"({n})", f"({v})"
        names.append(n)
        values.append(v)
    return op.join(names), op.join(values)


def symbols(expr: Expr) -> list[Sym]:
    """Distinct symbols in order of first appearance."""
    found: dict[str, Sym] = {}
    _collect(expr, found)
    return list(found.values())


def _collect(expr: Expr, found: dict[str, Sym]) -> None:
    kind = type(expr)
    if isinstance(expr, Sym):
        found.setdefault(expr.name, expr)
    elif kind is Op:
        for a in expr.args:  # type: ignore[union-attr]
            _collect(a, found)


@dataclass(slots=True)
class Derivation:
    """How one layer's parameter count comes about.

    ``expr`` is None for a layer without weights. ``non_trainable`` is the part of
    ``expr`` that Keras does not train (BatchNormalization's moving statistics).
    ``notes`` are keys into data/derivations.json that explain a step in words.
    """

    layer_type: str
    expr: Expr | None
    non_trainable: Expr | None = None
    notes: tuple[str, ...] = ()
    int64: int = 0  # weights kept as int64 (8 bytes, not float32's 4): Normalization's count
    _rendered: tuple[str, str, list[Sym]] | None = field(default=None, repr=False, compare=False)
    _texts: dict[str, str] | None = field(default=None, repr=False, compare=False)
    _json: dict[str, str] | None = field(default=None, repr=False, compare=False)  # by language
    _rows: dict[str, Any] | None = field(default=None, repr=False, compare=False)  # solver._row_json

    @property
    def total(self) -> int:
        return 0 if self.expr is None else evaluate(self.expr)

    def _strings(self) -> tuple[str, str, list[Sym]]:
        # Rendered once and shared by both languages: the formula is language-neutral.
        if self._rendered is None:
            expr = self.expr
            self._rendered = ("0", "0", []) if expr is None else (*render_both(expr), symbols(expr))
        return self._rendered

    def symbol_values(self) -> dict[str, int]:
        """``{"h": 128, "d": 100}``: what the grader's slip formulas are computed from."""
        return {sym.name: sym.value for sym in self._strings()[2]}

    def formula(self) -> str:
        return self._strings()[0]

    def substituted(self) -> str:
        return self._strings()[1]

    def to_text(self, lang: str = "ko") -> str:
        """One line in the textbook's way: ``SimpleRNN: h×(h+d+1) = 128×(128+100+1) = 29,312 (...)``."""
        cached = self._texts
        if cached is None:
            cached = self._texts = {}
        elif lang in cached:
            return cached[lang]
        cached[lang] = line = self._text(lang)
        return line

    def _text(self, lang: str) -> str:
        words = texts(lang)
        formula, substituted, syms = self._strings()
        if self.expr is None:
            line = f"{self.layer_type}: {words['no_params']}"
        elif not syms:
            line = f"{self.layer_type}: {self.total:,}"
        else:
            meaning = words["symbols"]
            named = ", ".join([f"{meaning[s.meaning]} {s.name} = {s.value:,}" for s in syms])
            line = f"{self.layer_type}: {formula} = {substituted} = {self.total:,} ({named})"
        if self.notes or self.non_trainable is not None:
            notes = words["notes"]
            extra = [notes[n] for n in self.notes]
            if self.non_trainable is not None and "frozen" not in self.notes:
                nt = self.non_trainable
                extra.append(words["non_trainable"].format(formula=render(nt), value=evaluate(nt)))
            line += " — " + " ".join(extra)
        return line

    def to_json_text(self, lang: str = "ko") -> str:
        """``json.dumps(self.to_json(lang), ensure_ascii=False)``, made once per language: a
        derivation is shared by every row its layer solves to, and ``solve --json`` prints it
        for each of them."""
        cached = self._json
        if cached is None:
            cached = self._json = {}
        else:
            text = cached.get(lang)
            if text is not None:
                return text
        # Layers of equal arguments on inputs of other lengths are solved apart (their output
        # shapes differ) but derive their counts alike: the text is made once per content.
        key = (lang, self.layer_type, self.notes, _content(self.expr), _content(self.non_trainable))
        text = _JSON_BY_CONTENT.get(key)
        if text is None:
            text = json.dumps(self.to_json(lang), ensure_ascii=False)
            if len(_JSON_BY_CONTENT) >= 50_000:
                _JSON_BY_CONTENT.clear()
            _JSON_BY_CONTENT[key] = text
        cached[lang] = text
        return text

    def to_json(self, lang: str = "ko") -> dict[str, Any]:
        words = texts(lang)
        syms = self._strings()[2]
        return {
            "formula": self.formula(),
            "substituted": self.substituted(),
            "result": self.total,
            "symbols": [{"symbol": s.name, "value": s.value, "meaning": words["symbols"][s.meaning]} for s in syms],
            "text": self.to_text(lang),
        }


_JSON_BY_CONTENT: dict[tuple[Any, ...], str] = {}


def frozen(deriv: Derivation) -> Derivation:
    """The derivation of a layer with ``trainable=False`` (its own, or its model's): the same
    weights, every one of them counted as non-trainable, as Keras does."""
    if deriv.expr is None or "frozen" in deriv.notes:
        return deriv
    return Derivation(deriv.layer_type, deriv.expr, deriv.expr, (*deriv.notes, "frozen"), deriv.int64)


def _content(expr: Expr | None) -> Any:
    """Everything a derivation's JSON says about an expression, as a hashable value."""
    kind = type(expr)
    if kind is int or expr is None:
        return expr
    if kind is Sym:
        return ("S", expr.name, expr.value, expr.meaning)  # type: ignore[union-attr]
    return ("O", expr.op, *[_content(a) for a in expr.args])  # type: ignore[union-attr]


def texts(lang: str) -> dict[str, Any]:
    table = load_json("derivations.json")
    if lang not in table:
        raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(sorted(table))}")
    return table[lang]
