"""From sentences to the layers that read them: a Tokenizer's vocabulary and padded arrays
(``tokenizer``), a tagger's TimeDistributed output layer (``tagging``), and a transformer's
token and position embeddings (``positional``).

``tokenizer``: the textbook's ``vocab_size = len(tokenizer.word_index) + 1`` (index 0 is kept
for padding) and ``pad_sequences`` (as long as the longest sentence, or ``maxlen``): easy the
vocabulary and the Embedding's count, medium also the padded array's shape, hard with
``maxlen`` and an LSTM classifier's total. The tests confirm the counts with Keras's own
``TextVectorization`` and ``pad_sequences`` on a corpus of those sizes.

``tagging``: the RNN's and TimeDistributed's output shapes, TimeDistributed's count (the
same weights at every timestep) and the total; easy one RNN, medium the textbook's
Bidirectional LSTM, hard two stacked.

``positional``: keras.io's ``TokenAndPositionEmbedding``, a learned position table of
maxlen × d beside the token table of V × d, added: easy the two tables and the output,
medium with a classifier on top, hard with a transformer encoder block. The stored spec
calls the position Embedding on an input of positions (what ``ops.arange`` makes inside the
layer), so Keras confirms it as a plain graph.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from ..nn.solver import Solution, solve_raw
from .architectures import Sizes
from .functional import Functional
from .prompts import conventions, count, fenced, labels, listing_block, part, parts_prompt, shape, t
from .textbook_models import EASY, tagger

Built = tuple[str, dict, dict, Callable[[str, dict], str], Solution]


# ---------------------------------------------------------------- tokenizer

def tokenizer(srng: random.Random, sizes: Sizes, difficulty: str) -> Built:
    sentences = sizes.pick("vocab", (1000, 2000, 5000, 10000)) // srng.choice((2, 5, 10))
    words = sizes.pick("vocab", (1000, 2000, 5000, 10000, 20000)) - sizes.rng.choice((1, 7, 13, 29, 42))
    longest = sizes.pick("seq_len", (20, 30, 50, 60, 80, 100))
    maxlen = sizes.pick("seq_len", (10, 20, 30, 50), lambda n: n < longest) if difficulty == "hard" else None
    embed = sizes.pick("embed", EASY["embed"] if difficulty == "easy" else None, lambda e: e not in (longest, maxlen))
    layers: list[dict[str, Any]] = [{"type": "Embedding", "input_dim": words + 1, "output_dim": embed}]
    if difficulty == "hard":
        units = sizes.pick("hidden", (32, 64, 128), lambda h: h != embed)
        layers += [{"type": "LSTM", "units": units}, {"type": "Dense", "units": 1, "activation": "sigmoid"}]
    spec = {"input": {"shape": [maxlen or longest]}, "layers": layers}
    given = {"sentences": sentences, "words": words, "longest": longest, "maxlen": maxlen}
    code = _tokenizer_code(given, layers, difficulty)

    def prompt(lang: str, answer: dict[str, Any]) -> str:
        head = t(lang)["tokenizer"]["facts"].format(sentences=sentences, words=words, longest=longest)
        return parts_prompt(head, fenced(code, "python"), answer["parts"], lang, arrays=True,
                            notes=conventions([spec], lang))

    return difficulty, spec, {"given": given}, prompt, solve_raw(spec)


def _tokenizer_code(given: dict[str, Any], layers: list[dict[str, Any]], difficulty: str) -> str:
    from .render import layer_call

    types = ", ".join(dict.fromkeys(x["type"] for x in layers))
    lines = ["from tensorflow.keras.preprocessing.text import Tokenizer",
             "from tensorflow.keras.preprocessing.sequence import pad_sequences",
             "from tensorflow.keras.models import Sequential", f"from tensorflow.keras.layers import {types}", "",
             "tokenizer = Tokenizer()", "tokenizer.fit_on_texts(sentences)",
             "vocab_size = len(tokenizer.word_index) + 1", "encoded = tokenizer.texts_to_sequences(sentences)"]
    if difficulty != "easy":
        maxlen = given["maxlen"]
        lines.append(f"X = pad_sequences(encoded, maxlen={maxlen}, padding='post')" if maxlen
                     else "X = pad_sequences(encoded)")
    lines += ["", "model = Sequential()",
              f"model.add(Embedding(vocab_size, {layers[0]['output_dim']}))",
              *(f"model.add({layer_call(x)})" for x in layers[1:])]
    return "\n".join(lines)


def tokenizer_answer(given: dict[str, Any], solution: Solution, difficulty: str) -> dict[str, Any]:
    vocab = given["words"] + 1
    parts = [part("vocab_size", count(vocab), labels("vocab_size"))]
    if given["maxlen"] is not None or difficulty == "medium":
        parts.append(part("X", shape([given["sentences"], given["maxlen"] or given["longest"]]), labels("padded_X")))
    parts.append(part("embedding", count(solution.layers[0].params), labels("embedding_params")))
    if len(solution.layers) > 1:
        parts.append(part("total", count(solution.total_params), labels("model_total")))
    return {"type": "parts", "parts": parts, "given": dict(given)}


def tokenizer_slips(key: str, given: dict[str, Any], solution: Solution) -> dict[str, Any]:
    words, embed = given["words"], solution.layers[0].derivation.symbol_values()["E"]
    if key == "vocab_size":
        return {"forgot_padding_index": words}
    if key == "embedding":
        return {"forgot_padding_index": words * embed, "embedding_bias": (words + 1) * (embed + 1)}
    if key == "X":
        length = given["maxlen"] or given["longest"]
        out: dict[str, Any] = {"padded_transposed": (length, given["sentences"]),
                               "samples_as_batch": (None, length)}
        if given["maxlen"]:
            out["maxlen_ignored"] = (given["sentences"], given["longest"])
        return out
    return {}


# ---------------------------------------------------------------- tagging

def tagging(srng: random.Random, sizes: Sizes, difficulty: str) -> Built:
    spec = tagger(srng, sizes, difficulty)
    solution = solve_raw(spec)

    def prompt(lang: str, answer: dict[str, Any]) -> str:
        return parts_prompt(t(lang)["tagging"]["model"], listing_block(spec, lang), answer["parts"], lang, spec,
                            conventions([spec], lang))

    return "model", spec, {}, prompt, solution


def tagging_answer(solution: Solution) -> dict[str, Any]:
    rnn = next(r for r in reversed(solution.layers) if r.type in ("Bidirectional", "SimpleRNN", "LSTM", "GRU"))
    last = solution.layers[-1]
    return {"type": "parts", "parts": [
        part("rnn_shape", shape(rnn.output_shape), labels("layer_shape", index=rnn.index, layer=rnn.type)),
        part("tags_shape", shape(last.output_shape), labels("layer_shape", index=last.index, layer=last.type)),
        part("tags_params", count(last.params), labels("layer_params", index=last.index, layer=last.type)),
        part("total", count(solution.total_params), labels("total"))]}


# ---------------------------------------------------------------- positional

_TOKEN_AND_POSITION = '''class TokenAndPositionEmbedding(layers.Layer):
    def __init__(self, maxlen, vocab_size, embed_dim):
        super().__init__()
        self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, x):
        positions = ops.arange(0, ops.shape(x)[-1])
        return self.token_emb(x) + self.pos_emb(positions)
'''


def positional(srng: random.Random, sizes: Sizes, difficulty: str) -> Built:
    from .zoo import transformer_block

    head = difficulty != "easy"
    block = difficulty == "hard"
    vocab = sizes.pick("vocab", EASY["vocab"] if difficulty == "easy" else None)
    maxlen = sizes.pick("seq_len", (50, 100, 200, 500) if difficulty == "easy" else None, lambda n: n >= 20)
    d = sizes.pick("model_dim", None, lambda x: x != maxlen)
    heads = sizes("heads")
    classes = sizes.pick("classes", (2, 3, 4, 5, 10))
    b = Functional(package="keras")
    b.input("tokens", [maxlen], code=f"Input(shape=({maxlen},))")
    b.input("positions", [maxlen], code=f"ops.arange(0, {maxlen})  # (inside the layer)")
    b.call("token_emb", {"type": "Embedding", "input_dim": vocab, "output_dim": d}, ["tokens"])
    b.call("pos_emb", {"type": "Embedding", "input_dim": maxlen, "output_dim": d}, ["positions"])
    b.call("x", {"type": "Add"}, [["token_emb", "pos_emb"]])
    x = "x"
    if block:
        x = transformer_block(b, x, str(heads), f"{d // heads}", heads, d // heads, 2 * d, d)
    out = x
    if head:
        b.call("pooled", {"type": "GlobalAveragePooling1D"}, [x])
        b.call("outputs", {"type": "Dense", "units": classes, "activation": "softmax"}, ["pooled"])
        out = "outputs"
    b.model(["tokens", "positions"], out)
    spec, _, solution = b.finish()
    lines = ["from keras import layers, ops", "", _TOKEN_AND_POSITION,
             f"maxlen, vocab_size, embed_dim = {maxlen}, {vocab}, {d}",
             "inputs = layers.Input(shape=(maxlen,))",
             "x = TokenAndPositionEmbedding(maxlen, vocab_size, embed_dim)(inputs)"]
    if block:
        lines += [f"attn = layers.MultiHeadAttention(num_heads={heads}, key_dim=embed_dim // {heads})(x, x)",
                  "x = layers.LayerNormalization(epsilon=1e-6)(x + layers.Dropout(0.1)(attn))",
                  "ffn = layers.Dense(embed_dim)(layers.Dense(2 * embed_dim, activation='relu')(x))",
                  "x = layers.LayerNormalization(epsilon=1e-6)(x + layers.Dropout(0.1)(ffn))"]
    if head:
        lines += ["x = layers.GlobalAveragePooling1D()(x)",
                  f"outputs = layers.Dense({classes}, activation='softmax')(x)"]
    lines.append(f"model = keras.Model(inputs, {'outputs' if head else 'x'})")
    code = "\n".join(lines)
    template = {"easy": "embedding", "medium": "classifier", "hard": "encoder"}[difficulty]

    def prompt(lang: str, answer: dict[str, Any]) -> str:
        words = t(lang)["positional"]
        return parts_prompt(words[template], fenced(code, "python"), answer["parts"], lang, spec,
                            notes=[words["learned"]])

    return template, spec, {}, prompt, solution


def positional_answer(solution: Solution) -> dict[str, Any]:
    rows = {r.name: r for r in solution.layers}
    token, pos, added = rows["embedding"], rows["embedding_1"], rows["add"]
    parts = [part("token", count(token.params), labels("token_table")),
             part("position", count(pos.params), labels("position_table")),
             part("embedded", shape(added.output_shape), labels("embedded_shape"))]
    if len(solution.layers) > 3:
        parts.append(part("total", count(solution.total_params), labels("total")))
    return {"type": "parts", "parts": parts}


def positional_slips(key: str, solution: Solution) -> dict[str, Any]:
    rows = {r.name: r for r in solution.layers}
    token, pos, added = rows["embedding"], rows["embedding_1"], rows["add"]
    if key == "position":
        return {"position_table_vocab": token.params}
    if key == "embedded":
        s = tuple(added.output_shape)
        return {"positions_concatenated": (*s[:-1], 2 * s[-1]), "no_batch_axis": s[1:]}
    if key == "total":
        return {"positions_not_learned": solution.total_params - pos.params}
    return {}


BUILDERS: dict[str, Callable[[random.Random, Sizes, str], Built]] = {
    "tokenizer": tokenizer, "tagging": tagging, "positional": positional}
