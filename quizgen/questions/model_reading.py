"""Reading a model as an instructor reads a student's: which changes alter its parameter count
(``changes-count``), and what is wrong with the code before it runs (``spot-bug``).

``changes-count`` shows the 점검 퀴즈's model and several changes, one at a time: longer
samples, a fixed batch size, return_sequences, a Dropout layer (none of which adds a weight),
a larger vocabulary, hidden size or embedding, a Bidirectional wrapper (which do, in the
layer changed and in the one after it). Each part asks how many parameters the change adds
(0 when none). The stored spec holds the model and every changed copy (``a_`` and ``c1_``,
``c2_``... as one graph), so Keras confirms every count at once.

``spot-bug`` is the notebook's own surprises: a Sequential model without an input size,
whose summary shows 0 parameters in Keras 3 until it is built (and then ``(None, None,
100)`` after the Embedding, as the notebook prints it); and stacked RNN layers where one
below another lacks ``return_sequences=True``, which Keras refuses at the layer above. The
stored spec is the model once built or fixed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from ..nn.solver import Solution, solve_raw
from .architectures import RNNS, Sizes
from .prompts import conventions, count, fenced, labels, listing_block, part, parts_prompt, shape, t
from .render import layer_call
from .textbook_models import output, stack_sizes, text_sizes
from .zoo import merged_many, part_solution

Built = tuple[str, dict, dict, Callable[[str, dict], str], Solution]

# ---------------------------------------------------------------- changes-count

CHANGES = {
    "easy": ("seq_len", "batch", "vocab"),
    "medium": ("maxlen", "return_sequences", "hidden", "dropout"),
    "hard": ("embed", "bidirectional", "batch", "return_sequences", "hidden"),
}


def _base(srng: random.Random, sizes: Sizes, difficulty: str) -> dict[str, Any]:
    rnn = "SimpleRNN" if difficulty == "easy" else srng.choice(("LSTM", "GRU") if difficulty == "medium" else RNNS)
    binary = difficulty != "hard" or srng.random() < 0.5
    vocab, embed, hidden = text_sizes(sizes, difficulty, distinct=True)
    length = sizes.pick("seq_len", (20, 30, 50, 100), lambda n: n not in (embed, hidden))
    return {"input": {"shape": [length]}, "layers": [
        {"type": "Embedding", "input_dim": vocab, "output_dim": embed}, {"type": rnn, "units": hidden},
        output(sizes, binary, difficulty, avoid=(hidden,))]}


def changed(base: dict[str, Any], change: str) -> dict[str, Any]:
    """The base model with one change made."""
    emb, rnn, out = base["layers"]
    length = base["input"]["shape"][0]
    if change in ("seq_len", "maxlen"):
        return {**base, "input": {"shape": [2 * length]}}
    if change == "batch":
        return {**base, "input": {"batch_shape": [64, length]}}
    if change == "vocab":
        return {**base, "layers": [{**emb, "input_dim": 2 * emb["input_dim"]}, rnn, out]}
    if change == "embed":
        return {**base, "layers": [{**emb, "output_dim": 2 * emb["output_dim"]}, rnn, out]}
    if change == "hidden":
        return {**base, "layers": [emb, {**rnn, "units": 2 * rnn["units"]}, out]}
    if change == "return_sequences":
        return {**base, "layers": [emb, {**rnn, "return_sequences": True}, out]}
    if change == "dropout":
        return {**base, "layers": [emb, rnn, {"type": "Dropout", "rate": 0.5}, out]}
    if change == "bidirectional":
        return {**base, "layers": [emb, {"type": "Bidirectional", "layer": rnn}, out]}
    raise ValueError(change)


def change_prefix(i: int) -> str:
    return f"c{i}_"


def changes_count(srng: random.Random, sizes: Sizes, difficulty: str) -> Built:
    pool = CHANGES[difficulty]
    chosen = list(pool) if difficulty != "hard" else srng.sample(pool, 4)
    base = _base(srng, sizes, difficulty)
    spec = merged_many([base, *(changed(base, c) for c in chosen)], ["a_", *(change_prefix(i) for i in
                                                                          range(1, len(chosen) + 1))])

    def prompt(lang: str, answer: dict[str, Any]) -> str:
        words = t(lang)["changes-count"]
        return parts_prompt(words["model"], listing_block(base, lang), answer["parts"], lang,
                            notes=conventions([base], lang))

    return "model", spec, {"given": {"changes": chosen, "base": base}}, prompt, solve_raw(spec)


def change_values(base: dict[str, Any], change: str) -> dict[str, Any]:
    emb, rnn, _ = base["layers"]
    return {"T": base["input"]["shape"][0], "T2": 2 * base["input"]["shape"][0], "V": emb["input_dim"],
            "V2": 2 * emb["input_dim"], "E": emb["output_dim"], "E2": 2 * emb["output_dim"], "h": rnn["units"],
            "h2": 2 * rnn["units"], "rnn": rnn["type"], "batch": 64}


def changes_answer(solution: Solution, given: dict[str, Any]) -> dict[str, Any]:
    changes, base = given["changes"], given["base"]
    a = part_solution(solution, "a_")
    parts = []
    for i, change in enumerate(changes, start=1):
        c = part_solution(solution, change_prefix(i))
        parts.append(part(change, count(c.total_params - a.total_params),
                          labels(f"change_{change}", **change_values(base, change))))
    return {"type": "parts", "parts": parts, "given": {"changes": changes, "base": base}}


def change_slips(key: str, given: dict[str, Any], solution: Solution) -> dict[str, Any]:
    """What a student who believes a wrong rule answers for one change."""
    base = given["base"]
    changes = given["changes"]
    i = changes.index(key) + 1
    a, c = part_solution(solution, "a_"), part_solution(solution, change_prefix(i))
    values = change_values(base, key)
    if key in ("seq_len", "maxlen"):
        return {"adds_seq_len": values["T2"] - values["T"]}
    if key == "batch":
        return {"batch_changes_count": 64}
    if key == "return_sequences":
        dense = a.layers[-1].params
        return {"dense_per_timestep": dense * (values["T"] - 1)}
    if key == "vocab":
        return {"embedding_bias": c.layers[0].params - a.layers[0].params + values["V"]}
    if key == "dropout":
        return {}
    # embed, hidden, bidirectional: the changed layer alone, the one after it left as it was
    changed_layer = {"embed": 0, "hidden": 1, "bidirectional": 1}[key]
    alone = c.layers[changed_layer].params - a.layers[changed_layer].params
    return {"compare_downstream": alone} if alone != c.total_params - a.total_params else {}


def changes_working(solution: Solution, given: dict[str, Any], lang: str) -> list[str]:
    from .working import compare_working

    a = part_solution(solution, "a_")
    words = t(lang)["explain"]
    lines = []
    for i, change in enumerate(given["changes"], start=1):
        c = part_solution(solution, change_prefix(i))
        diff = c.total_params - a.total_params
        lines.append(words["change_heading"].format(n=i, label=labels(
            f"change_{change}", **change_values(given["base"], change))[lang]))
        if diff == 0:
            lines.append(words["change_none_" + change])
        else:
            lines.append(compare_working(a, c, diff, lang, heading=False))
    return lines


# ---------------------------------------------------------------- spot-bug

def spot_bug(srng: random.Random, sizes: Sizes, difficulty: str) -> Built:
    """easy: the unbuilt Sequential; medium: two stacked RNN layers, the lower one without
    return_sequences; hard: three Bidirectional ones, the middle one without it."""
    if difficulty == "easy":
        vocab, embed, hidden = text_sizes(sizes, "easy", distinct=True)
        layers = [{"type": "Embedding", "input_dim": vocab, "output_dim": embed},
                  {"type": "SimpleRNN", "units": hidden}, {"type": "Dense", "units": 1, "activation": "sigmoid"}]
        spec = {"input": {"shape": [None]}, "layers": layers}
        code = "\n".join(["from tensorflow.keras.models import Sequential",
                          "from tensorflow.keras.layers import Embedding, SimpleRNN, Dense", "",
                          "model = Sequential()", *(f"model.add({layer_call(x)})" for x in layers),
                          "model.summary()"])

        def prompt(lang: str, answer: dict[str, Any]) -> str:
            return parts_prompt(t(lang)["spot-bug"]["unbuilt"], fenced(code, "python"), answer["parts"], lang, spec)

        return "unbuilt", spec, {"given": {"bug": "unbuilt"}}, prompt, solve_raw(spec)
    depth = 2 if difficulty == "medium" else 3
    cell = srng.choice(("LSTM", "GRU"))
    bidi = difficulty == "hard"
    broken = 1 if depth == 2 else 2  # the RNN (1-based among them) whose return_sequences is missing
    vocab, embed, first = text_sizes(sizes, difficulty)
    hiddens = stack_sizes(sizes, first, depth, cell)
    length = sizes.pick("seq_len", (20, 30, 50, 100), lambda n: n not in (embed, *hiddens))
    rnns = []
    for i, h in enumerate(hiddens, start=1):
        layer: dict[str, Any] = {"type": cell, "units": h}
        if i < depth:
            layer["return_sequences"] = True
        rnns.append({"type": "Bidirectional", "layer": layer} if bidi else layer)
    fixed = [{"type": "Embedding", "input_dim": vocab, "output_dim": embed}, *rnns,
             {"type": "Dense", "units": 1, "activation": "sigmoid"}]
    spec = {"input": {"shape": [length]}, "layers": fixed}
    fix_layer = 1 + broken  # its number in the model (the Embedding is layer 1)
    shown = [dict(x) for x in fixed]
    wrong = shown[fix_layer - 1]
    inner = dict(wrong["layer"]) if bidi else dict(wrong)
    inner.pop("return_sequences")
    shown[fix_layer - 1] = {"type": "Bidirectional", "layer": inner} if bidi else inner
    code = "\n".join(["from tensorflow.keras.models import Sequential",
                      f"from tensorflow.keras.layers import Input, Embedding, {'Bidirectional, ' if bidi else ''}"
                      f"{cell}, Dense", "",
                      "model = Sequential()", f"model.add(Input(shape=({length},)))",
                      *(f"model.add({layer_call(x)})" for x in shown), "model.summary()"])
    template = "stacked"

    def stacked_prompt(lang: str, answer: dict[str, Any]) -> str:
        return parts_prompt(t(lang)["spot-bug"][template], fenced(code, "python"), answer["parts"], lang, spec,
                            notes=conventions([spec], lang))

    return template, spec, {"given": {"bug": "stacked", "fix_layer": fix_layer}}, stacked_prompt, solve_raw(spec)


def bug_answer(given: dict[str, Any], solution: Solution) -> dict[str, Any]:
    if given["bug"] == "unbuilt":
        first = solution.layers[0]
        return {"type": "parts", "given": dict(given), "parts": [
            part("printed_total", count(0), labels("unbuilt_total")),
            part("embedding_shape", shape(first.output_shape), labels("built_embedding_shape")),
            part("total", count(solution.total_params), labels("built_total"))]}
    fix = given["fix_layer"]
    return {"type": "parts", "given": dict(given), "parts": [
        part("fails", count(fix + 1), labels("failing_layer")),
        part("fix", count(fix), labels("layer_to_fix")),
        part("total", count(solution.total_params), labels("fixed_total"))]}


BUILDERS: dict[str, Callable[[random.Random, Sizes, str], Built]] = {
    "changes-count": changes_count, "spot-bug": spot_bug}
