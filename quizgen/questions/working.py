"""Worked answers that teach: each step by the rule that decides it, every sentence once.

- a count: each layer's formula, its numbers and its result, with what the symbols mean;
  a sentence that explains a step (an LSTM's four gates, a Bidirectional layer's two
  directions) the first time it is needed only; the total as the sum of the layers, and
  no ``x = x`` line when there is only one;
- a shape: the shape as it flows from the input to the layer asked, then the rule that
  decides the layer's shape (return_sequences, concat, the convolution's length), and what
  the batch axis is;
- an inverse question: the equation solved for the unknown, the quadratic's positive root
  worked out step by step;
- a comparison: the layers that differ between the two models, and their difference.

Wording in data/templates.json ("explain") and data/derivations.json (the layer rules).
"""

from __future__ import annotations

from collections import Counter
from math import isqrt
from typing import Any

from ..nn.derivation import evaluate, render
from ..nn.derivation import texts as derivation_texts
from ..nn.shapes import format_shape
from ..nn.solver import LayerResult, Solution
from .prompts import batch_of, finish, nth, t

# Notes (data/derivations.json) that say why a layer's output has the shape it has; the
# others explain a count.
SHAPE_NOTES = frozenset({
    "rnn_all_steps", "rnn_last_step", "bidi_concat", "bidi_merge", "flatten", "global_pool", "conv_valid",
    "conv_same", "pool", "conv2d_valid", "conv2d_same", "pool2d", "global_pool2d", "reshape", "permute",
    "repeat_vector", "concatenate", "merge_elementwise", "rnn_return_state", "lstm_return_state", "bidi_none",
    "bidi_states", "attention_output", "dot"})


def layer_line(row: LayerResult, lang: str, said: set[str], shape_notes: bool = True) -> str:
    """``SimpleRNN: h×(h+d+1) = 128×(128+100+1) = 29,312 (은닉 상태의 크기 h = 128, ...)``, then
    the notes not yet ``said`` in this working (each added to it)."""
    words = derivation_texts(lang)
    d = row.derivation
    info = d.to_json(lang)
    if d.expr is None:
        line = f"{d.layer_type}: {words['no_params']}"
    elif not info["symbols"] or info["substituted"] == str(d.total):
        line = f"{d.layer_type}: {d.total:,}"
    else:
        named = ", ".join(f"{s['meaning']} {s['symbol']} = {s['value']:,}" for s in info["symbols"])
        line = f"{d.layer_type}: {info['formula']} = {info['substituted']} = {d.total:,} ({named})"
    extra = []
    for note in d.notes:
        if note in said or (not shape_notes and note in SHAPE_NOTES) or note not in words["notes"]:
            continue
        said.add(note)
        extra.append(words["notes"][note])
    if d.non_trainable is not None:
        extra.append(words["non_trainable"].format(formula=render(d.non_trainable), value=evaluate(d.non_trainable)))
    return line + (" — " + " ".join(extra) if extra else "")


def count_working(solution: Solution, lang: str, heading: bool = True, said: set[str] | None = None) -> str:
    """Every layer's count, then the total (the sum written out only when there are several)."""
    words = derivation_texts(lang)["working"]
    said = set() if said is None else said
    graph = solution.graph is not None
    lines = [words["heading"]] if heading else []
    for row in solution.layers:
        named = f"{row.name} — " if graph else ""
        lines.append(f"{row.index}. {named}{layer_line(row, lang, said)}")
    lines.append(total_line(solution, lang))
    if solution.non_trainable_params:
        lines.append(words["split"].format(trainable=solution.trainable_params,
                                           non_trainable=solution.non_trainable_params))
    return finish("\n".join(lines), lang)


def total_line(solution: Solution, lang: str) -> str:
    words = t(lang)["explain"]
    counted = [r.params for r in solution.layers if r.params] or [0]  # layers without weights add nothing
    if len(counted) == 1:
        return words["total_one"].format(total=solution.total_params)
    key = "total_sum" if len(counted) == len(solution.layers) else "total_sum_skipped"
    return words[key].format(parts=" + ".join(f"{p:,}" for p in counted), total=solution.total_params)


# ---------------------------------------------------------------- shapes

def batch_sentence(spec: dict[str, Any], lang: str) -> str:
    words = t(lang)["explain"]
    batch = batch_of(spec)
    return words["batch_open"] if batch is None else words["batch_fixed"].format(batch=batch)


def flow(solution: Solution, upto: int, lang: str) -> str:
    """``입력 (None, 30) → 1. Embedding (None, 30, 100) → 2. SimpleRNN (None, 128)``."""
    steps = [f"{t(lang)['input_label']} {format_shape(solution.input_shape)}"]
    steps += [f"{r.index}. {r.type} {_shape_text(r.output_shape)}" for r in solution.layers[:upto]]
    return " → ".join(steps)


def _shape_text(shape: Any) -> str:
    if shape and isinstance(shape[0], (tuple, list)):
        return "[" + ", ".join(format_shape(tuple(s)) for s in shape) + "]"
    return format_shape(tuple(shape))


def shape_rule(row: LayerResult, incoming: Any, lang: str) -> str:
    """Why ``row``'s output has its shape: its shape notes, or the rule of its type."""
    notes = derivation_texts(lang)["notes"]
    said = [notes[n] for n in row.derivation.notes if n in SHAPE_NOTES and n in notes]
    rules = t(lang)["explain"]["shape_rules"]
    layer_type = row.type
    inner = row.derivation.layer_type
    if layer_type == "TimeDistributed":
        said.insert(0, rules["TimeDistributed"])
    elif layer_type in rules:
        values = {"out": _shape_text(row.output_shape), "in": _shape_text(incoming)}
        if layer_type == "Embedding":
            values["E"] = row.output_shape[-1]
        if layer_type == "Dense":
            values["u"] = row.output_shape[-1]
        said.insert(0, rules[layer_type].format(**values))
    elif not said and inner:
        said.append(rules["unchanged"])
    return " ".join(said)


def shape_working(spec: dict[str, Any], solution: Solution, index: int | list[int], lang: str) -> str:
    """The shape of layer ``index`` (1-based; or of several layers): the flow up to the last of
    them, each one's shape and the rule that decides it, then the batch axis, once."""
    indices = [index] if isinstance(index, int) else index
    words = t(lang)["explain"]
    lines = [flow(solution, max(indices), lang)]
    for i in indices:
        row = solution.layers[i - 1]
        incoming = solution.input_shape if i == 1 else solution.layers[i - 2].output_shape
        lines.append(words["shape"].format(nth=nth(i, lang), index=i, layer=row.type,
                                           shape=_shape_text(row.output_shape)))
        lines.append(shape_rule(row, incoming, lang))
    lines.append(batch_sentence(spec, lang))
    return finish("\n".join(line for line in lines if line), lang)


# ---------------------------------------------------------------- inverse questions

def poly_text(a: int, b: int, c: int, symbol: str) -> str:
    """``3×h² + 306×h + 129``: a polynomial as the derivations write it (a coefficient of 1 left out)."""
    terms: list[str] = []
    for coef, power in ((a, f"{symbol}²"), (b, symbol), (c, "")):
        if coef == 0:
            continue
        body = (power if abs(coef) == 1 and power else f"{abs(coef):,}{'×' + power if power else ''}")
        terms.append(("− " if coef < 0 else "+ ") + body if terms else ("−" if coef < 0 else "") + body)
    return " ".join(terms)


def solved_for(a: int, b: int, c: int, total: int, symbol: str, answer: int, lang: str) -> str:
    """``a·x² + b·x + c = total`` solved for x step by step (its positive root), or the linear
    equation when a = 0."""
    words = t(lang)["explain"]
    rest = total - c
    if a == 0:
        key = "solve_linear_plain" if c == 0 else "solve_linear"
        return words[key].format(s=symbol, b=b, c=c, total=total, rest=rest, answer=answer)
    disc = b * b + 4 * a * rest
    root = isqrt(disc)
    return words["solve_quadratic"].format(s=symbol, a=a, b=b, rest=rest, disc=disc, root=root, two_a=2 * a,
                                           answer=answer, equation=poly_text(a, b, -rest, symbol))


# ---------------------------------------------------------------- comparisons

def _line_key(row: LayerResult, lang: str) -> str:
    return layer_line(row, lang, set(), shape_notes=False)


def compare_working(a: Solution, b: Solution, answer: int, lang: str, heading: bool = True) -> str:
    """Only the layers that differ: A's, B's, and the difference of their sums."""
    words = t(lang)["explain"]
    keys_a = Counter(_line_key(r, lang) for r in a.layers)
    keys_b = Counter(_line_key(r, lang) for r in b.layers)
    only_a = [r for r in a.layers if _take(keys_b, _line_key(r, lang))]
    only_b = [r for r in b.layers if _take(keys_a, _line_key(r, lang))]
    said: set[str] = set()
    lines = [derivation_texts(lang)["working"]["heading"]] if heading else []
    lines.append(words["compare_intro"])
    for label, rows in (("A", only_a), ("B", only_b)):
        for r in rows:
            lines.append(words["compare_layer"].format(model=label, nth=nth(r.index, lang), index=r.index,
                                                       line=layer_line(r, lang, said)))
        if not rows:
            lines.append(words["compare_none"].format(model=label))
    sum_a, sum_b = sum(r.params for r in only_a), sum(r.params for r in only_b)
    lines.append(words["compare"].format(b=sum_b, a=sum_a, diff=answer))
    return finish("\n".join(lines), lang)


def _take(counter: Counter, key: str) -> bool:
    """True when ``key`` has no match left in ``counter`` (the row is only in its model);
    else uses one match up."""
    if counter[key] > 0:
        counter[key] -= 1
        return False
    return True
