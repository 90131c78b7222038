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

from ..errors import GenerationError, SpecError
from ..nn.derivation import texts as derivation_texts
from ..nn.shapes import format_shape
from ..nn.solver import Solution, seed_weight_shapes
from ..nn.solver import solve_generated as solve_raw  # specs built here are valid by construction
from ..nn.summary import format_working
from . import zoo
from .architectures import RNNS, Sizes, embedding_layer, normalized_body, output_layer, random_spec
from .catalog import DIFFICULTIES, GENERATOR_VERSION, KINDS, LANGS  # noqa: F401 - re-exported
from .prompts import count as _count
from .prompts import fenced as _fenced
from .prompts import part as _part
from .prompts import parts_prompt as _parts_prompt
from .prompts import shape as _shape
from .prompts import t as _t
from .prompts import with_hint as _with_hint
from .render import keras_code, ko_ro, listing, numpy_rnn_code

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


# ---------------------------------------------------------------- the 점검 퀴즈 model

@dataclass(slots=True)
class CheckModel:
    """The model of the textbook's check quiz, described fact by fact."""

    vocab: int
    embed: int
    rnn: str
    hiddens: list[int]
    seq_len: int
    bidirectional: bool
    dropout: float | None
    dense_units: int | None
    classes: int  # 1 = binary with sigmoid

    def spec(self) -> dict[str, Any]:
        layers: list[dict[str, Any]] = [{"type": "Embedding", "input_dim": self.vocab, "output_dim": self.embed}]
        for i, h in enumerate(self.hiddens):
            cell: dict[str, Any] = {"type": self.rnn, "units": h}
            if i < len(self.hiddens) - 1:
                cell["return_sequences"] = True
            layers.append({"type": "Bidirectional", "layer": cell} if self.bidirectional else cell)
        if self.dropout is not None:
            layers.append({"type": "Dropout", "rate": self.dropout})
        if self.dense_units is not None:
            layers.append({"type": "Dense", "units": self.dense_units, "activation": "relu"})
        if self.classes == 1:
            layers.append({"type": "Dense", "units": 1, "activation": "sigmoid"})
        else:
            layers.append({"type": "Dense", "units": self.classes, "activation": "softmax"})
        return {"input": {"shape": [self.seq_len]}, "layers": layers}

    def facts(self, lang: str, unknown: str | None = None) -> list[str]:
        t = _t(lang)
        words = t["total-params"]
        depth = len(self.hiddens)
        values = {
            "vocab": self.vocab, "embed": self.embed, "hidden": self.hiddens[0], "depth": depth,
            "rnn": t["rnn_names"][self.rnn], "rnn_object": t["rnn_object"][self.rnn],
            "hiddens": ", ".join(f"{h:,}" for h in self.hiddens), "seq_len": self.seq_len,
            "ro": ko_ro(self.seq_len), "rate": self.dropout, "units": self.dense_units, "classes": self.classes,
            "depth_are": "is" if depth == 1 else "are", "depth_s": "" if depth == 1 else "s",
        }
        unknown_fact = t["inverse"]["unknown_fact"]
        facts = [(unknown_fact[unknown] if unknown in ("embed", "vocab") else words["embedding"]).format(**values)]
        if unknown == "hidden":
            facts.append(unknown_fact["hidden"].format(**values))
        else:
            facts.append(words["rnn_one" if depth == 1 else "rnn_stack"].format(**values))
        if self.bidirectional:
            facts.append(words["bidirectional"])
        if self.rnn == "GRU":
            facts.append(words["gru"])
        facts.append(words["seq_len"].format(**values))
        if self.dropout is not None:
            facts.append(words["dropout"].format(**values))
        if self.dense_units is not None:
            facts.append(words["dense_hidden"].format(**values))
        facts.append(words["binary" if self.classes == 1 else "multiclass"].format(**values))
        facts.append(words["hidden_count"].format(**values))
        return facts


def _check_model(srng: random.Random, sizes: Sizes, difficulty: str, single_layer: bool = False) -> CheckModel:
    rnn = "SimpleRNN" if difficulty == "easy" else srng.choice(RNNS)
    depth = 1 if single_layer or difficulty == "easy" else srng.choice((1, 2) if difficulty == "medium" else (1, 2, 3))
    bidi = difficulty == "hard" and srng.random() < 0.4
    dropout = srng.choice((0.2, 0.3, 0.5)) if difficulty != "easy" and srng.random() < 0.3 else None
    dense = difficulty == "hard" and srng.random() < 0.4
    binary = difficulty == "easy" or srng.random() < 0.5
    return CheckModel(
        vocab=sizes("vocab"), embed=sizes("embed"), rnn=rnn, hiddens=[sizes("hidden") for _ in range(depth)],
        seq_len=sizes("seq_len"), bidirectional=bidi, dropout=dropout,
        dense_units=sizes("dense") if dense else None, classes=1 if binary else sizes("classes"))


def _numbered(intro: str, facts: list[str]) -> str:
    return "\n".join([intro, "", *(f"{i}. {f}" for i, f in enumerate(facts, start=1))])


# ---------------------------------------------------------------- kinds

# What a builder returns: template name, spec, what it asks (see asked_of), prompt(lang, answer),
# and the solution. The answer itself is right_answer's, made from the solution.
_Built = tuple[str, dict, dict, Callable[[str, dict], str], Solution]

def _total_params(srng: random.Random, sizes: Sizes, difficulty: str) -> _Built:
    model = _check_model(srng, sizes, difficulty)
    spec = model.spec()
    solution = solve_raw(spec)

    def prompt(lang: str, answer: dict[str, Any]) -> str:
        t = _t(lang)["total-params"]
        return _with_hint(_numbered(t["intro"], model.facts(lang)), lang, "count")

    return "checkquiz", spec, {}, prompt, solution


def _pick_model(srng: random.Random, sizes: Sizes, difficulty: str, families: tuple[str, ...],
                max_layers: int = 99) -> tuple[dict[str, Any], Solution]:
    for _ in range(_MAX_TRIES):
        spec = random_spec(srng, difficulty, srng.choice(families), sizes=sizes)
        if len(spec["layers"]) > max_layers:
            continue
        try:
            return spec, solve_raw(spec)
        except SpecError:
            continue
    raise GenerationError("the size ranges cannot produce a valid model (e.g. a sequence shorter than a kernel)")


def _listing_prompt(kind: str, template: str, spec: dict[str, Any], answer_type: str,
                    **values: Any) -> Callable[[str, dict], str]:
    def prompt(lang: str, answer: dict[str, Any]) -> str:
        t = _t(lang)
        head = t[kind][template].format(**values)
        return _with_hint(f"{head}\n\n{_fenced(listing(spec, t['input_label']))}", lang, answer_type)
    return prompt


def _layer_params(srng: random.Random, sizes: Sizes, difficulty: str) -> _Built:
    spec, solution = _pick_model(srng, sizes, difficulty, ("classifier", "tagger", "conv", "numeric", "normalized"))
    index = srng.choice([r.index for r in solution.layers if r.params > 0])
    row = solution.layers[index - 1]
    return "model", spec, {"layer": index}, _listing_prompt(
        "layer-params", "model", spec, "count", index=index, layer=row.type), solution


def _output_shape(srng: random.Random, sizes: Sizes, difficulty: str) -> _Built:
    if difficulty == "easy" or srng.random() < 0.5:
        # The seed's cells: one RNN layer, input_shape or a fixed batch, return_sequences or not.
        rnn = srng.choice(RNNS)
        layer: dict[str, Any] = {"type": rnn, "units": sizes.choice("hidden", (3, 8, 16, 32, 64, 128))}
        if srng.random() < 0.5:
            layer["return_sequences"] = True
        dims = [sizes.choice("seq_len", (2, 5, 10, 20, 30, 50)), sizes("features")]
        batched = srng.random() < 0.5
        spec = {"input": {"batch_shape": [sizes("batch"), *dims]} if batched else {"shape": dims}, "layers": [layer]}
        solution = solve_raw(spec)
        code = keras_code(spec, seed_style=True)

        def prompt(lang: str, answer: dict[str, Any]) -> str:
            return _with_hint(f"{_t(lang)['output-shape']['seed-cell']}\n\n{_fenced(code, 'python')}", lang, "shape")

        return "seed-cell", spec, {}, prompt, solution
    spec, solution = _pick_model(srng, sizes, difficulty, ("classifier", "tagger", "conv", "numeric"))
    index = srng.randrange(1, len(solution.layers) + 1)
    row = solution.layers[index - 1]
    return "model", spec, {"layer": index}, _listing_prompt(
        "output-shape", "model", spec, "shape", index=index, layer=row.type), solution


def _summary_parts(solution: Solution) -> list[dict[str, Any]]:
    labels = {lang: _t(lang)["parts"] for lang in LANGS}
    parts = []
    for r in solution.layers:
        parts.append(_part(f"L{r.index}.shape", _shape(r.output_shape),
                           {lang: labels[lang]["layer_shape"].format(index=r.index, layer=r.type) for lang in LANGS}))
        parts.append(_part(f"L{r.index}.params", _count(r.params),
                           {lang: labels[lang]["layer_params"].format(index=r.index, layer=r.type) for lang in LANGS}))
    parts.append(_part("total", _count(solution.total_params), {lang: labels[lang]["total"] for lang in LANGS}))
    return parts


def _summary(srng: random.Random, sizes: Sizes, difficulty: str) -> _Built:
    spec, solution = _pick_model(srng, sizes, difficulty, ("classifier", "tagger", "conv", "numeric"), max_layers=5)

    def prompt(lang: str, answer: dict[str, Any]) -> str:
        t = _t(lang)
        return _parts_prompt(t["summary"]["model"], _fenced(listing(spec, t["input_label"])), answer["parts"], lang)

    return "model", spec, {}, prompt, solution


def _weight_shapes(srng: random.Random, sizes: Sizes, difficulty: str) -> _Built:
    timesteps = sizes.choice("seq_len", (5, 10, 20, 30, 50))
    input_dim = sizes.choice("features", (2, 3, 4, 5, 8, 10, 16))
    hidden = sizes.choice("hidden", (8, 16, 32, 64, 100, 128))
    spec = {"input": {"shape": [timesteps, input_dim]},
            "layers": [{"type": "SimpleRNN", "units": hidden, "return_sequences": True}]}
    code = numpy_rnn_code(timesteps, input_dim, hidden)

    def prompt(lang: str, answer: dict[str, Any]) -> str:
        head = _t(lang)["weight-shapes"]["seed-numpy"].format(timesteps=timesteps, input_dim=input_dim,
                                                               hidden_units=hidden)
        return _parts_prompt(head, _fenced(code, "python"), answer["parts"], lang)

    return "seed-numpy", spec, {}, prompt, solve_raw(spec)


def _trainable_split(srng: random.Random, sizes: Sizes, difficulty: str) -> _Built:
    for _ in range(_MAX_TRIES):
        bidi_p = {"easy": 0.0, "medium": 0.2, "hard": 0.4}[difficulty]
        layers = [embedding_layer(srng, sizes, False), *normalized_body(srng, sizes, False, bidi_p, batch_norm=True),
                  output_layer(srng, sizes)]
        spec = {"input": {"shape": [sizes("seq_len")]}, "layers": layers}
        try:
            solution = solve_raw(spec)
            break
        except SpecError:
            continue
    else:
        raise GenerationError("the size ranges cannot produce a valid model")

    def prompt(lang: str, answer: dict[str, Any]) -> str:
        t = _t(lang)
        return _parts_prompt(t["trainable-split"]["model"], _fenced(listing(spec, t["input_label"])),
                             answer["parts"], lang)

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


def _poly_text(a: int, b: int, c: int, symbol: str) -> str:
    terms: list[str] = []
    for coef, power in ((a, f"{symbol}²"), (b, symbol), (c, "")):
        if coef == 0:
            continue
        body = (power if coef == 1 and power else f"{coef:,}{'×' + power if power else ''}")
        terms.append(("- " if coef < 0 else "+ ") + body.lstrip("-") if terms else body)
    return " ".join(terms)


def _inverse(srng: random.Random, sizes: Sizes, difficulty: str) -> _Built:
    if srng.random() < 0.6:
        model = _check_model(srng, sizes, difficulty, single_layer=True)
        unknown = srng.choice(("hidden", "embed", "vocab"))
        spec = model.spec()

        def prompt(lang: str, answer: dict[str, Any]) -> str:
            t = _t(lang)
            head = t["inverse"]["total"].format(total=answer["given"]["total"],
                                                unknown_object=t["inverse"]["unknown"][unknown],
                                                unknown_name=t["inverse"]["unknown"][unknown])
            return _with_hint(_numbered(head, model.facts(lang, unknown)), lang, "count")

        return "total", spec, {"unknown": unknown}, prompt, solve_raw(spec)

    rnn_or_dense = srng.choice((*RNNS, "Dense"))
    input_dim = sizes("embed")
    units = sizes("hidden")
    if rnn_or_dense == "Dense":
        spec = {"input": {"shape": [input_dim]}, "layers": [{"type": "Dense", "units": units}]}
    else:
        spec = {"input": {"shape": [sizes.choice("seq_len", (10, 30)), input_dim]},
                "layers": [{"type": rnn_or_dense, "units": units}]}
    template = "layer-dense" if rnn_or_dense == "Dense" else "layer-rnn"

    def layer_prompt(lang: str, answer: dict[str, Any]) -> str:
        t = _t(lang)["inverse"]
        note = t["gru_note"] if rnn_or_dense == "GRU" else ""
        rnn_name = _t(lang)["rnn_names"].get(rnn_or_dense, rnn_or_dense)
        return _with_hint(t[template].format(input_dim=input_dim, params=answer["given"]["params"], rnn=rnn_name,
                                             note=note), lang, "count")

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
        given = {"unknown": unknown, "symbol": symbol, "total": total, "equation": _poly_text(*poly, symbol)}
    else:
        symbol = "u" if template == "layer-dense" else "h"
        given = {"unknown": "units", "symbol": symbol, "params": total, "equation": _poly_text(*poly, symbol)}
    return {**_count(answer), "given": given}


def _code(srng: random.Random, sizes: Sizes, difficulty: str) -> _Built:
    spec, solution = _pick_model(srng, sizes, difficulty, ("classifier", "tagger", "conv"))
    code = keras_code(spec)
    ask_total = srng.random() < 0.6
    template = "total" if ask_total else "shape"

    def prompt(lang: str, answer: dict[str, Any]) -> str:
        return _with_hint(f"{_t(lang)['code'][template]}\n\n{_fenced(code, 'python')}", lang,
                          "count" if ask_total else "shape")

    return template, spec, {}, prompt, solution


_BUILDERS: dict[str, Callable[[random.Random, Sizes, str], _Built]] = {
    "total-params": _total_params, "layer-params": _layer_params, "output-shape": _output_shape,
    "summary": _summary, "weight-shapes": _weight_shapes, "trainable-split": _trainable_split,
    "inverse": _inverse, "code": _code,
    **zoo.BUILDERS,
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
        labels = {lang: _t(lang)["parts"] for lang in LANGS}
        parts = [_part(key, _shape(shapes[key]), {lang: labels[lang][key] for lang in LANGS})
                 for key in ("W_x", "W_h", "b", "hidden_state_t", "total_hidden_states")]
        return {"type": "parts", "parts": parts, "sizes": [timesteps, input_dim, hidden]}
    if kind == "trainable-split":
        labels = {lang: _t(lang)["parts"] for lang in LANGS}
        return {"type": "parts", "parts": [
            _part("trainable", _count(solution.trainable_params), {lang: labels[lang]["trainable"] for lang in LANGS}),
            _part("non_trainable", _count(solution.non_trainable_params),
                  {lang: labels[lang]["non_trainable"] for lang in LANGS})]}
    if kind == "inverse":
        return _inverse_answer(template, spec, solution, asked.get("unknown", "units"))
    if kind in zoo.BUILDERS:
        return zoo.right_answer(kind, template, spec, solution, asked)
    raise GenerationError(f"unknown question kind {kind!r}; kinds are {', '.join(KINDS)}")


def asked_of(answer: Mapping[str, Any]) -> dict[str, Any]:
    """What a stored answer says the question asks, beyond its kind, template and spec:
    the layer it is about, or the size an inverse question hides."""
    asked: dict[str, Any] = {}
    if "layer" in answer:
        asked["layer"] = answer["layer"]
    if isinstance(answer.get("given"), Mapping) and "unknown" in answer["given"]:
        asked["unknown"] = answer["given"]["unknown"]
    if answer.get("type") == "parts" and isinstance(answer.get("parts"), list):
        asked["parts"] = [p.get("key") for p in answer["parts"] if isinstance(p, Mapping)]
    return asked


# ---------------------------------------------------------------- worked answers

def _working(kind: str, template: str, spec: dict[str, Any], answer: dict[str, Any], solution: Solution,
             lang: str) -> str:
    if kind in zoo.BUILDERS:
        return zoo.working(kind, template, answer, solution, lang)
    t = _t(lang)["explain"]
    if kind == "weight-shapes":
        timesteps, input_dim, hidden = answer["sizes"]
        shapes = {k: format_shape(v) for k, v in seed_weight_shapes(timesteps, input_dim, hidden).items()}
        return t["weight_shapes"].format(**shapes)
    if kind == "inverse":
        given = answer["given"]
        key = "inverse_total" if template == "total" else "inverse_layer"
        return t[key].format(answer=answer["value"], **given) + "\n" + format_working(solution, lang)
    if kind == "layer-params":
        return solution.layers[answer["layer"] - 1].derivation.to_text(lang)
    if kind == "output-shape":
        row = solution.layers[answer.get("layer", len(solution.layers)) - 1]
        notes = derivation_texts(lang)["notes"]
        extra = " ".join(notes[n] for n in row.derivation.notes if n in notes)
        return (t["shape"].format(index=row.index, shape=format_shape(row.output_shape)) + " " + extra).strip()
    return format_working(solution, lang)


_STRUCTURE_STATES: dict[tuple[int, int, str, int], tuple[Any, ...]] = {}


def _structure_rng(quiz_seed: int, slot: int, kind: str, attempt: int) -> random.Random:
    """The slot's structure stream. Every student of a quiz starts it from the same state,
    so the state is remembered and restored (cheaper than seeding a new generator)."""
    key = (quiz_seed, slot, kind, attempt)
    state = _STRUCTURE_STATES.get(key)
    if state is None:
        rng = random.Random(derive_seed("structure", quiz_seed, slot, kind, attempt))
        if len(_STRUCTURE_STATES) > 10_000:
            _STRUCTURE_STATES.clear()
        _STRUCTURE_STATES[key] = rng.getstate()
        return rng
    rng = random.Random.__new__(random.Random)  # unseeded: setstate fills the whole state
    rng.setstate(state)
    return rng


def generate_question(quiz_seed: int, slot: int, kind: str, student: str | None = None,
                      difficulty: str = "medium", ranges: Mapping[str, tuple[int, int]] | None = None,
                      attempt: int = 0, langs: tuple[str, ...] = ("ko",)) -> Question:
    """One question: structure from (seed, slot), sizes from (seed, student, slot).

    Texts are rendered in ``langs`` only (a quiz has one language); the language
    never touches the random streams, so a Korean and an English quiz with the
    same seed ask the same questions.
    """
    if kind not in _BUILDERS:
        raise GenerationError(f"unknown question kind {kind!r}; kinds are {', '.join(KINDS)}")
    if difficulty not in DIFFICULTIES:
        raise GenerationError(f"unknown difficulty {difficulty!r}; expected easy, medium or hard")
    srng = _structure_rng(quiz_seed, slot, kind, attempt)
    sizes = Sizes(random.Random(derive_seed("sizes", quiz_seed, student or "", slot, kind, attempt)), ranges)
    template, spec, asked, prompt, solution = _BUILDERS[kind](srng, sizes, difficulty)
    answer = right_answer(kind, template, spec, solution, asked)
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
                     langs: tuple[str, ...] = ("ko",)) -> list[Question]:
    return [generate_question(quiz_seed, slot, kind, student, difficulty, ranges, langs=langs)
            for slot, kind in enumerate(slot_kinds(count, kinds), start=1)]

