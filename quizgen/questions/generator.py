"""Seeded question generation: the 점검 퀴즈 and its relatives, in Korean and English.

Reproducibility is by construction, not by replay: each question is drawn from
two random streams seeded by hashing (quiz seed, question slot) for its
structure and (quiz seed, student, slot) for its sizes. The same seed, options and
GENERATOR_VERSION give the same questions byte for byte, every student in a slot
gets the same kind of model with different numbers, and a stored variant never
needs to be re-derived.

Wording lives in data/templates.json; this module only decides what to ask.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import GenerationError
from ..nn.shapes import format_shape
from ..nn.solver import Solution, seed_weight_shapes
from ..nn.solver import solve_generated as solve_raw  # specs built here are valid by construction
from . import model_reading, rnn_inside, text_pipeline, zoo
from .architectures import RNNS, Sizes
from .catalog import DIFFICULTIES, GENERATOR_VERSION, KINDS, LANGS, NOTEBOOK_KINDS  # noqa: F401 - re-exported
from .prompts import conventions
from .prompts import count as _count
from .prompts import fenced as _fenced
from .prompts import finish as _finish
from .prompts import labels as _labels
from .prompts import nth as _nth
from .prompts import part as _part
from .prompts import parts_prompt as _parts_prompt
from .prompts import shape as _shape
from .prompts import t as _t
from .prompts import with_hint as _with_hint
from .render import keras_code, listing, numpy_rnn_code
from .textbook_models import EASY, CheckModel, check_model, normalized, seed_cell, text_model
from .working import count_working, flow, layer_line, poly_text, shape_working, solved_for

_MAX_TRIES = 40


def derive_seed(*parts: Any) -> int:
    """A 64-bit seed from its parts; stable across Python versions and processes."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


@dataclass(slots=True)
class Question:
    """A generated question with its answer key, ready to store."""

    slot: int
    kind: str
    template: str
    params: dict[str, Any]
    spec: dict[str, Any]
    prompt: dict[str, str]
    answer: dict[str, Any]
    breakdown: dict[str, Any]
    derivation: dict[str, str]
    points: int
    # kept so the grading key can be made from it when the question is stored
    solution: Solution | None = field(default=None, repr=False, compare=False)


def _listed(shape: Any) -> Any:
    """A shape as JSON stores it: lists all the way down (a layer with several outputs has a
    shape per output), so a stored breakdown compares equal to a fresh one."""
    return [_listed(s) for s in shape] if isinstance(shape, (list, tuple)) else shape


def breakdown_of(solution: Solution) -> dict[str, Any]:
    """The per-layer key stored with a question (what ``quizgen verify`` compares with Keras)."""
    return {
        "layers": [{"name": r.name, "type": r.type, "output_shape": _listed(r.output_shape), "params": r.params,
                    "trainable": r.trainable, "non_trainable": r.non_trainable} for r in solution.layers],
        "total_params": solution.total_params,
        "trainable_params": solution.trainable_params,
        "non_trainable_params": solution.non_trainable_params,
    }


# ---------------------------------------------------------------- the 점검 퀴즈's facts

def _facts(model: CheckModel, lang: str, unknown: str | None = None) -> tuple[list[str], set[str]]:
    """The model described fact by fact, and the conventions those facts state."""
    t = _t(lang)
    words = t["total-params"]
    depth = len(model.hiddens)
    values = {
        "vocab": model.vocab, "embed": model.embed, "hidden": model.hiddens[0], "depth": depth,
        "rnn": t["rnn_names"][model.rnn], "hiddens": ", ".join(f"{h:,}" for h in model.hiddens),
        "seq_len": model.seq_len, "rate": model.dropout, "units": model.dense_units, "classes": model.classes,
        "depth_are": "is" if depth == 1 else "are", "depth_s": "" if depth == 1 else "s",
    }
    unknown_fact = t["inverse"]["unknown_fact"]
    facts = [(unknown_fact[unknown] if unknown in ("embed", "vocab") else words["embedding"]).format(**values)]
    if unknown == "hidden":
        facts.append(unknown_fact["hidden"].format(**values))
    else:
        facts.append(words["rnn_one" if depth == 1 else "rnn_stack"].format(**values))
    stated = set()
    if model.bidirectional:
        facts.append(words["bidirectional"])
        stated.add("bidirectional")
    if model.rnn == "GRU":
        facts.append(t["conventions"]["gru"])
        stated.add("gru")
    facts.append(words["seq_len"].format(**values))
    if model.dropout is not None:
        facts.append(words["dropout"].format(**values))
    if model.dense_units is not None:
        facts.append(words["dense_hidden"].format(**values))
    facts.append(words["binary" if model.classes == 1 else "multiclass"].format(**values))
    facts.append(words["hidden_count"].format(**values))
    return facts, stated


def _numbered(intro: str, facts: list[str]) -> str:
    return "\n".join([intro, "", *(f"{i}. {f}" for i, f in enumerate(facts, start=1))])


# ---------------------------------------------------------------- kinds

# What a builder returns: template name, spec, what it asks (see asked_of), prompt(lang, answer),
# and the solution. The answer itself is right_answer's, made from the solution.
_Built = tuple[str, dict, dict, Callable[[str, dict], str], Solution]


def _total_params(srng: random.Random, sizes: Sizes, difficulty: str) -> _Built:
    model = check_model(srng, sizes, difficulty)
    spec = model.spec()
    solution = solve_raw(spec)

    def prompt(lang: str, answer: dict[str, Any]) -> str:
        facts, stated = _facts(model, lang)
        return _with_hint(_numbered(_t(lang)["total-params"]["intro"], facts), lang, "count", spec,
                          conventions([spec], lang, stated))

    return "checkquiz", spec, {}, prompt, solution


def _listing_prompt(kind: str, template: str, spec: dict[str, Any], answer_type: str,
                    index: int | None = None, **values: Any) -> Callable[[str, dict], str]:
    def prompt(lang: str, answer: dict[str, Any]) -> str:
        t = _t(lang)
        extra = {"index": index, "nth": _nth(index, lang)} if index is not None else {}
        head = t[kind][template].format(**values, **extra)
        return _with_hint(f"{head}\n\n{_fenced(listing(spec, t['input_label']))}", lang, answer_type, spec,
                          conventions([spec], lang, counts=answer_type == "count"))
    return prompt


# The layers a question about one layer asks about, by difficulty: the RNN of an easy model;
# a layer with the medium model's idea; a layer whose input comes from a layer that is not
# the Embedding (a stack, a Bidirectional output, a convolution) in a hard one.
_INTERESTING = {"SimpleRNN", "LSTM", "GRU", "Bidirectional", "TimeDistributed", "Conv1D", "BatchNormalization"}


def _asked_layer(srng: random.Random, spec: dict[str, Any], difficulty: str, shape: bool = False) -> int:
    layers = spec["layers"]
    types = [layer["type"] for layer in layers]
    if difficulty == "easy":
        return next(i for i, k in enumerate(types, start=1) if k in ("SimpleRNN", "LSTM", "GRU"))
    candidates = [i for i, k in enumerate(types, start=1) if k in _INTERESTING and (shape or k != "BatchNormalization")]
    if difficulty == "hard":
        deeper = [i for i in candidates if i > 2] or [i for i in range(3, len(types) + 1)
                                                      if shape or layers[i - 1]["type"] not in ("Dropout",)]
        candidates = deeper or candidates
    return srng.choice(candidates)


def _layer_params(srng: random.Random, sizes: Sizes, difficulty: str) -> _Built:
    spec = text_model(srng, sizes, difficulty, ("classifier", "tagger", "conv", "normalized"))
    solution = solve_raw(spec)
    index = _asked_layer(srng, spec, difficulty)
    if solution.layers[index - 1].params == 0:  # a layer without weights asks nothing
        index = next(r.index for r in reversed(solution.layers) if r.params)
    row = solution.layers[index - 1]
    return "model", spec, {"layer": index}, _listing_prompt(
        "layer-params", "model", spec, "count", index=index, layer=row.type), solution


def _output_shape(srng: random.Random, sizes: Sizes, difficulty: str) -> _Built:
    seed = difficulty == "easy" or (difficulty == "medium" and srng.random() < 0.5)
    if seed:
        # The seed's cells: one RNN layer, input_shape (easy) or a fixed batch_input_shape (medium).
        spec = seed_cell(srng, sizes, difficulty, fixed_batch=difficulty == "medium")
        solution = solve_raw(spec)
        code = keras_code(spec, seed_style=True)

        def prompt(lang: str, answer: dict[str, Any]) -> str:
            return _with_hint(f"{_t(lang)['output-shape']['seed-cell']}\n\n{_fenced(code, 'python')}", lang, "shape",
                              spec, conventions([spec], lang, counts=False))

        return "seed-cell", spec, {}, prompt, solution
    spec = text_model(srng, sizes, difficulty, ("classifier", "tagger", "conv") if difficulty == "hard"
                      else ("tagger",))
    solution = solve_raw(spec)
    index = _asked_layer(srng, spec, difficulty, shape=True)
    row = solution.layers[index - 1]
    return "model", spec, {"layer": index}, _listing_prompt(
        "output-shape", "model", spec, "shape", index=index, layer=row.type), solution


def _summary_parts(solution: Solution) -> list[dict[str, Any]]:
    parts = []
    for r in solution.layers:
        parts.append(_part(f"L{r.index}.shape", _shape(r.output_shape), _labels("layer_shape", index=r.index,
                                                                                layer=r.type)))
        parts.append(_part(f"L{r.index}.params", _count(r.params), _labels("layer_params", index=r.index,
                                                                            layer=r.type)))
    parts.append(_part("total", _count(solution.total_params), _labels("total")))
    return parts


def _summary(srng: random.Random, sizes: Sizes, difficulty: str) -> _Built:
    families = ("classifier", "tagger") if difficulty == "medium" else ("classifier", "tagger", "conv")
    for _ in range(_MAX_TRIES):
        spec = text_model(srng, sizes, difficulty, families)
        if len(spec["layers"]) <= 6:
            break
    solution = solve_raw(spec)

    def prompt(lang: str, answer: dict[str, Any]) -> str:
        t = _t(lang)
        return _parts_prompt(t["summary"]["model"], _fenced(listing(spec, t["input_label"])), answer["parts"], lang,
                             spec, conventions([spec], lang))

    return "model", spec, {}, prompt, solution


# What each difficulty of the numpy RNN asks: the weights; then the states it computes; then
# the same layer's weights as Keras stores them (W_x transposed).
_WEIGHT_PARTS = {
    "easy": ("W_x", "W_h", "b"),
    "medium": ("W_x", "W_h", "b", "hidden_state_t", "total_hidden_states"),
    "hard": ("W_x", "total_hidden_states", "keras_kernel", "keras_recurrent_kernel", "keras_bias"),
}


def _weight_shapes(srng: random.Random, sizes: Sizes, difficulty: str) -> _Built:
    # input_dim, hidden_units and timesteps all differ: equal sizes would hide the transposed
    # kernel ((input, hidden) for (hidden, input)) and the transposed states.
    timesteps = sizes.choice("seq_len", (5, 10, 20, 30, 50))
    input_dim = sizes.pick("features", (2, 3, 4, 5, 8, 10, 16), lambda d: d != timesteps)
    hidden = sizes.pick("hidden", (8, 16, 32, 64, 100, 128), lambda h: h not in (timesteps, input_dim))
    spec = {"input": {"shape": [timesteps, input_dim]},
            "layers": [{"type": "SimpleRNN", "units": hidden, "return_sequences": True}]}
    code = numpy_rnn_code(timesteps, input_dim, hidden)

    def prompt(lang: str, answer: dict[str, Any]) -> str:
        head = _t(lang)["weight-shapes"]["seed-numpy"].format(timesteps=timesteps, input_dim=input_dim,
                                                               hidden_units=hidden)
        return _parts_prompt(head, _fenced(code, "python"), answer["parts"], lang, arrays=True)

    return "seed-numpy", spec, {"parts": list(_WEIGHT_PARTS[difficulty])}, prompt, solve_raw(spec)


def _trainable_split(srng: random.Random, sizes: Sizes, difficulty: str) -> _Built:
    spec = normalized(srng, sizes, difficulty)
    solution = solve_raw(spec)

    def prompt(lang: str, answer: dict[str, Any]) -> str:
        t = _t(lang)
        return _parts_prompt(t["trainable-split"]["model"], _fenced(listing(spec, t["input_label"])),
                             answer["parts"], lang, spec, conventions([spec], lang))

    return "model", spec, {}, prompt, solution


def polynomial(f: Callable[[int], int], known: tuple[int, int] | None = None) -> tuple[int, int, int] | None:
    """(a, b, c) with f(x) = a·x² + b·x + c, if f is a polynomial of degree ≤ 2.

    The quadratic through x = 1, 2, 3 must also hit a fourth point: ``known``
    (x, f(x)) when the caller has one already, else x = 4.
    """
    ys = [f(x) for x in range(1, 4)]
    d1 = [ys[1] - ys[0], ys[2] - ys[1]]
    d2 = d1[1] - d1[0]
    if d2 % 2:
        return None
    a = d2 // 2
    b = d1[0] - 3 * a
    c = ys[0] - a - b
    x4, y4 = known if known is not None and known[0] > 3 else (4, f(4))
    return (a, b, c) if a * x4 * x4 + b * x4 + c == y4 else None


def positive_roots(a: int, b: int, c: int, target: int) -> list[int]:
    """Positive integers x with a·x² + b·x + c = target."""
    from math import isqrt

    c -= target
    if a == 0:
        return [-c // b] if b and -c % b == 0 and -c // b > 0 else []
    disc = b * b - 4 * a * c
    if disc < 0:
        return []
    root = isqrt(disc)
    if root * root != disc:
        return []
    return sorted({x // (2 * a) for x in (-b + root, -b - root) if x % (2 * a) == 0 and x // (2 * a) > 0})


def _inverse(srng: random.Random, sizes: Sizes, difficulty: str) -> _Built:
    """easy: a Dense layer's units from its count (a linear equation); medium: an RNN layer's
    hidden size (a quadratic); hard: a size of the whole 점검 퀴즈 model from its total."""
    if difficulty == "hard":
        model = check_model(srng, sizes, "hard", single_layer=True)
        unknown = srng.choice(("hidden", "embed", "vocab"))
        spec = model.spec()

        def prompt(lang: str, answer: dict[str, Any]) -> str:
            t = _t(lang)
            head = t["inverse"]["total"].format(total=answer["given"]["total"],
                                                unknown=t["inverse"]["unknown"][unknown])
            facts, stated = _facts(model, lang, unknown)
            return _with_hint(_numbered(head, facts), lang, "count", spec, conventions([spec], lang, stated))

        return "total", spec, {"unknown": unknown}, prompt, solve_raw(spec)

    rnn_or_dense = "Dense" if difficulty == "easy" else srng.choice(RNNS)
    input_dim = sizes.pick("embed", EASY["embed"] if difficulty == "easy" else None)
    if rnn_or_dense == "Dense":
        units = sizes.pick("dense", None, lambda u: u != input_dim)
        spec = {"input": {"shape": [input_dim]}, "layers": [{"type": "Dense", "units": units}]}
    else:
        units = sizes.pick("hidden", None, lambda h: h != input_dim and h >= 16)
        spec = {"input": {"shape": [sizes.choice("seq_len", (10, 30)), input_dim]},
                "layers": [{"type": rnn_or_dense, "units": units}]}
    template = "layer-dense" if rnn_or_dense == "Dense" else "layer-rnn"

    def layer_prompt(lang: str, answer: dict[str, Any]) -> str:
        t = _t(lang)
        rnn_name = t["rnn_names"].get(rnn_or_dense, rnn_or_dense)
        return _with_hint(t["inverse"][template].format(input_dim=input_dim, params=answer["given"]["params"],
                                                        rnn=rnn_name), lang, "count", spec, conventions([spec], lang))

    return template, spec, {"unknown": "units"}, layer_prompt, solve_raw(spec)


_UNKNOWN_SYMBOLS = {"hidden": "h", "embed": "E", "vocab": "V"}


def _size_path(spec: dict[str, Any], unknown: str) -> tuple[int, str]:
    """Where an inverse question's unknown size sits in its spec: (layer index, argument name).
    The 점검 퀴즈 model is Embedding → one recurrent layer (maybe Bidirectional) → ...; a
    layer question has one layer."""
    if unknown in ("embed", "vocab"):
        return 0, "output_dim" if unknown == "embed" else "input_dim"
    if unknown in ("hidden", "units"):
        return (1 if unknown == "hidden" else 0), "units"
    raise GenerationError(f"unknown inverse question unknown {unknown!r}")


def _size_of(spec: dict[str, Any], unknown: str) -> Any:
    index, name = _size_path(spec, unknown)
    layer = spec["layers"][index]
    return layer.get("layer", layer)[name]


def _with_size(spec: dict[str, Any], unknown: str, x: int) -> dict[str, Any]:
    """The spec with the unknown size set to ``x`` (copied along the way; the spec is unchanged)."""
    index, name = _size_path(spec, unknown)
    layers = list(spec["layers"])
    layer = layers[index]
    layers[index] = {**layer, "layer": {**layer["layer"], name: x}} if "layer" in layer else {**layer, name: x}
    return {**spec, "layers": layers}


def _inverse_answer(template: str, spec: dict[str, Any], solution: Solution, unknown: str) -> dict[str, Any]:
    """The size hidden in the spec, with the total and the equation the question states; only
    a size that is the equation's one positive root is ever asked."""
    answer = _size_of(spec, unknown)
    total = solution.total_params
    poly = polynomial(lambda x: solve_raw(_with_size(spec, unknown, x)).total_params, (answer, total))
    if poly is None or positive_roots(*poly, total) != [answer]:
        raise GenerationError("internal: inverse question without a unique answer")
    if template == "total":
        symbol = _UNKNOWN_SYMBOLS[unknown]
        given = {"unknown": unknown, "symbol": symbol, "total": total, "equation": poly_text(*poly, symbol)}
    else:
        symbol = "u" if template == "layer-dense" else "h"
        given = {"unknown": "units", "symbol": symbol, "params": total, "equation": poly_text(*poly, symbol)}
    return {**_count(answer), "given": given}


def _code(srng: random.Random, sizes: Sizes, difficulty: str) -> _Built:
    """Keras code instead of prose: its total, or (when the last layer keeps the time axis,
    so the shape says something) the last layer's output shape."""
    spec = text_model(srng, sizes, difficulty)
    solution = solve_raw(spec)
    code = keras_code(spec)
    ask_total = len(solution.output_shape) != 3 or srng.random() < 0.5
    template = "total" if ask_total else "shape"

    def prompt(lang: str, answer: dict[str, Any]) -> str:
        return _with_hint(f"{_t(lang)['code'][template]}\n\n{_fenced(code, 'python')}", lang,
                          "count" if ask_total else "shape", spec, conventions([spec], lang, counts=ask_total))

    return template, spec, {}, prompt, solution


_BUILDERS: dict[str, Callable[[random.Random, Sizes, str], _Built]] = {
    "total-params": _total_params, "layer-params": _layer_params, "output-shape": _output_shape,
    "summary": _summary, "weight-shapes": _weight_shapes, "trainable-split": _trainable_split,
    "inverse": _inverse, "code": _code,
    **zoo.BUILDERS, **rnn_inside.BUILDERS, **model_reading.BUILDERS, **text_pipeline.BUILDERS,
}


# ---------------------------------------------------------------- right answers

def right_answer(kind: str, template: str, spec: dict[str, Any], solution: Solution,
                 asked: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A question's right answer, made from its solved spec and what it asks (asked_of).

    Every answer the generator stores is made here, and ``quizgen verify`` calls it
    again on the stored spec: one derivation, so a stored answer that no longer follows
    from its spec is found."""
    asked = asked or {}
    if kind == "total-params" or (kind == "code" and template == "total"):
        return _count(solution.total_params)
    if kind == "code" or (kind == "output-shape" and template == "seed-cell"):
        return _shape(solution.output_shape)
    if kind in ("layer-params", "output-shape"):
        index = asked.get("layer")
        if not isinstance(index, int) or not 1 <= index <= len(solution.layers):
            raise GenerationError(f"the question asks about layer {index!r}, which the model does not have")
        row = solution.layers[index - 1]
        return {**(_count(row.params) if kind == "layer-params" else _shape(row.output_shape)), "layer": index}
    if kind == "summary":
        return {"type": "parts", "parts": _summary_parts(solution)}
    if kind == "weight-shapes":
        (timesteps, input_dim), hidden = spec["input"]["shape"], spec["layers"][0]["units"]
        shapes = seed_weight_shapes(timesteps, input_dim, hidden)
        shapes = {**shapes, "keras_recurrent_kernel": (hidden, hidden), "keras_bias": (hidden,)}
        keys = asked.get("parts") or _WEIGHT_PARTS["medium"]  # quizzes made before the levels: all five
        parts = [_part(key, _shape(shapes[key]), _labels(key)) for key in keys]
        return {"type": "parts", "parts": parts, "sizes": [timesteps, input_dim, hidden]}
    if kind == "trainable-split":
        return {"type": "parts", "parts": [
            _part("trainable", _count(solution.trainable_params), _labels("trainable")),
            _part("non_trainable", _count(solution.non_trainable_params), _labels("non_trainable"))]}
    if kind == "inverse":
        return _inverse_answer(template, spec, solution, asked.get("unknown", "units"))
    if kind in zoo.BUILDERS:
        return zoo.right_answer(kind, template, spec, solution, asked)
    given = asked.get("given") or {}
    if kind == "rnn-step":
        return rnn_inside.step_answer(given)
    if kind == "gate-weights":
        return rnn_inside.gate_answer(spec)
    if kind == "changes-count":
        return model_reading.changes_answer(solution, given)
    if kind == "spot-bug":
        return model_reading.bug_answer(given, solution)
    if kind == "tokenizer":
        return text_pipeline.tokenizer_answer(given, solution, template)
    if kind == "tagging":
        return text_pipeline.tagging_answer(solution)
    if kind == "positional":
        return text_pipeline.positional_answer(solution)
    raise GenerationError(f"unknown question kind {kind!r}; kinds are {', '.join(KINDS)}")


def asked_of(answer: Mapping[str, Any]) -> dict[str, Any]:
    """What a stored answer says the question asks, beyond its kind, template and spec:
    the layer it is about, or the size an inverse question hides."""
    asked: dict[str, Any] = {}
    if "layer" in answer:
        asked["layer"] = answer["layer"]
    if isinstance(answer.get("given"), Mapping):
        if "unknown" in answer["given"]:
            asked["unknown"] = answer["given"]["unknown"]
        asked["given"] = dict(answer["given"])
    if answer.get("type") == "parts" and isinstance(answer.get("parts"), list):
        asked["parts"] = [p.get("key") for p in answer["parts"] if isinstance(p, Mapping)]
    return asked


# ---------------------------------------------------------------- worked answers

def _working(kind: str, template: str, spec: dict[str, Any], answer: dict[str, Any], solution: Solution,
             lang: str) -> str:
    if kind in zoo.BUILDERS:
        return zoo.working(kind, template, spec, answer, solution, lang)
    if kind in NOTEBOOK_KINDS:
        return _notebook_working(kind, template, spec, answer, solution, lang)
    t = _t(lang)["explain"]
    if kind == "weight-shapes":
        timesteps, input_dim, hidden = answer["sizes"]
        shapes = {k: format_shape(v) for k, v in seed_weight_shapes(timesteps, input_dim, hidden).items()}
        keys = [p["key"] for p in answer["parts"]]
        lines = [t["weight_shapes"][k].format(**shapes, hidden=hidden) for k in t["weight_shapes"]
                 if k in keys or (k == "hidden_state_t" and "total_hidden_states" in keys)]
        return _finish("\n".join(lines), lang)
    if kind == "inverse":
        return _inverse_working(template, spec, answer, solution, lang)
    if kind == "layer-params":
        row = solution.layers[answer["layer"] - 1]
        return _finish(f"{row.index}. {layer_line(row, lang, set())}", lang)
    if kind in ("output-shape", "code") and answer["type"] == "shape":
        return shape_working(spec, solution, answer.get("layer", len(solution.layers)), lang)
    if kind == "summary":
        return _finish(flow(solution, len(solution.layers), lang) + "\n" + count_working(solution, lang), lang)
    return count_working(solution, lang)


def _notebook_working(kind: str, template: str, spec: dict[str, Any], answer: dict[str, Any], solution: Solution,
                      lang: str) -> str:
    t = _t(lang)["explain"]
    given = answer.get("given") or {}
    if kind == "rnn-step":
        return rnn_inside.step_working(given, lang)
    if kind == "gate-weights":
        return _finish(rnn_inside.gate_working(spec, lang) + "\n" + count_working(solution, lang), lang)
    if kind == "changes-count":
        return _finish("\n".join(model_reading.changes_working(solution, given, lang)), lang)
    if kind == "spot-bug":
        if given.get("bug") == "unbuilt":
            lines = [t["unbuilt"], shape_working(spec, solution, 1, lang), count_working(solution, lang)]
        else:
            fix = given["fix_layer"]
            lines = [t["stacked_bug"].format(fails=fix + 1, fix=fix, nth_fails=_nth(fix + 1, lang),
                                             nth_fix=_nth(fix, lang)), count_working(solution, lang)]
        return _finish("\n".join(lines), lang)
    if kind == "tokenizer":
        lines = [t["tokenizer_vocab"].format(words=given["words"], vocab=given["words"] + 1)]
        if any(p["key"] == "X" for p in answer["parts"]):
            key = "tokenizer_maxlen" if given["maxlen"] else "tokenizer_longest"
            lines.append(t[key].format(sentences=given["sentences"], longest=given["longest"], maxlen=given["maxlen"]))
        lines.append(count_working(solution, lang))
        return _finish("\n".join(lines), lang)
    if kind == "tagging":
        rnn_index = next(r.index for r in reversed(solution.layers) if r.type in ("Bidirectional", *RNNS))
        return _finish("\n".join([shape_working(spec, solution, [rnn_index, len(solution.layers)], lang),
                                  count_working(solution, lang)]), lang)
    lines = [t["positional"], count_working(solution, lang)]
    return _finish("\n".join(lines), lang)


def _inverse_working(template: str, spec: dict[str, Any], answer: dict[str, Any], solution: Solution,
                     lang: str) -> str:
    """The equation the count makes of the unknown, solved for it step by step; then the
    count worked out with that size, as a check."""
    given = answer["given"]
    unknown = given["unknown"]
    total = given["total"] if template == "total" else given["params"]
    poly = polynomial(lambda x: solve_raw(_with_size(spec, unknown, x)).total_params, (answer["value"], total))
    if poly is None:
        raise GenerationError("internal: an inverse question whose count is not a polynomial of its unknown")
    t = _t(lang)["explain"]
    lines = [t["inverse_equation"].format(equation=given["equation"], total=total),
             solved_for(*poly, total, given["symbol"], answer["value"], lang),
             t["inverse_check"], count_working(solution, lang, heading=False)]
    return _finish("\n".join(lines), lang)


_STRUCTURE_STATES: dict[tuple[int, int, str, str, int], tuple[Any, ...]] = {}


def _structure_rng(quiz_seed: int, slot: int, kind: str, difficulty: str, attempt: int) -> random.Random:
    """The slot's structure stream. Every student of a quiz starts it from the same state,
    so the state is remembered and restored (cheaper than seeding a new generator)."""
    key = (quiz_seed, slot, kind, difficulty, attempt)
    state = _STRUCTURE_STATES.get(key)
    if state is None:
        rng = random.Random(derive_seed("structure", quiz_seed, slot, kind, difficulty, attempt))
        if len(_STRUCTURE_STATES) > 10_000:
            _STRUCTURE_STATES.clear()
        _STRUCTURE_STATES[key] = rng.getstate()
        return rng
    rng = random.Random.__new__(random.Random)  # unseeded: setstate fills the whole state
    rng.setstate(state)
    return rng


# How many sizes a student's question may be drawn with before its slips come apart.
_APART_TRIES = 12
KeepApart = Callable[[str, dict[str, Any], Solution], bool]


def generate_question(quiz_seed: int, slot: int, kind: str, student: str | None = None,
                      difficulty: str = "medium", ranges: Mapping[str, tuple[int, int]] | None = None,
                      attempt: int = 0, langs: tuple[str, ...] = ("ko",),
                      keep_apart: KeepApart | None = None) -> Question:
    """One question: structure from (seed, slot, difficulty), sizes from (seed, student, slot,
    difficulty).

    Texts are rendered in ``langs`` only (a quiz has one language); the language
    never touches the random streams, so a Korean and an English quiz with the
    same seed ask the same questions.

    ``keep_apart(kind, answer, solution)`` says whether the sizes drawn keep every slip the
    question names apart from the right answer and from each other (the grader's
    misconceptions.slips_apart: questions cannot import it). Until it does, the same
    structure is drawn again with the student's next sizes, a few times at most.
    """
    if kind not in _BUILDERS:
        raise GenerationError(f"unknown question kind {kind!r}; kinds are {', '.join(KINDS)}")
    if difficulty not in DIFFICULTIES:
        raise GenerationError(f"unknown difficulty {difficulty!r}; expected easy, medium or hard")
    sizes = Sizes(random.Random(derive_seed("sizes", quiz_seed, student or "", slot, kind, difficulty, attempt)),
                  ranges)
    for _ in range(_APART_TRIES):
        srng = _structure_rng(quiz_seed, slot, kind, difficulty, attempt)  # the slot's structure, every time
        template, spec, asked, prompt, solution = _BUILDERS[kind](srng, sizes, difficulty)
        answer = right_answer(kind, template, spec, solution, asked)
        if keep_apart is None or keep_apart(kind, answer, solution):
            break
    return Question(
        slot=slot, kind=kind, template=template,
        params={"difficulty": difficulty, "student": student, "attempt": attempt, "ranges": dict(ranges or {})},
        spec=spec,
        prompt={lang: prompt(lang, answer) for lang in langs},
        answer=answer,
        breakdown=breakdown_of(solution),
        derivation={lang: _working(kind, template, spec, answer, solution, lang) for lang in langs},
        points=2 if answer["type"] == "parts" else 1,
        solution=solution,
    )


def slot_kinds(count: int, kinds: tuple[str, ...] | list[str]) -> list[str]:
    """The kind of each slot: the chosen kinds in turn."""
    return [kinds[i % len(kinds)] for i in range(count)]


def generate_variant(quiz_seed: int, count: int, kinds: tuple[str, ...] | list[str], student: str | None,
                     difficulty: str, ranges: Mapping[str, tuple[int, int]] | None = None,
                     langs: tuple[str, ...] = ("ko",), keep_apart: KeepApart | None = None) -> list[Question]:
    return [generate_question(quiz_seed, slot, kind, student, difficulty, ranges, langs=langs, keep_apart=keep_apart)
            for slot, kind in enumerate(slot_kinds(count, kinds), start=1)]

