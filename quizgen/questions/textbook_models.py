"""The models the first question kinds ask about, drawn by difficulty.

- easy: one idea with round textbook numbers (Embedding → SimpleRNN → Dense, 5,000 words,
  64 units);
- medium: the textbook's own models and sizes (the 점검 퀴즈 with an LSTM or GRU, IMDB and
  Naver reviews, the bidirectional tagger of its NER chapter);
- hard: stacked, bidirectional or convolutional models, where a layer's input size comes
  from the layer below it.

Structure comes from the slot's stream ``srng`` (every student of a slot gets the same kind
of model); sizes from the student's ``sizes``, in textbook proportions (an embedding
narrower than a tenth of the vocabulary, hidden sizes within a factor of four of it, a
stack of distinct sizes, so that a slip in one layer never gives the same number as the
same slip in another).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from .architectures import RNNS, Sizes

# Round numbers an easy question uses (within the instructor's ranges when they allow any).
EASY = {"vocab": (1000, 5000, 10000), "embed": (32, 64, 100, 128), "hidden": (32, 64, 128),
        "seq_len": (10, 20, 30, 50, 100), "dense": (32, 64, 128), "classes": (3, 4, 5, 10)}
# The sizes of the textbook's own models (the 점검 퀴즈's 5,000 words, 100 dimensions and 128
# units; the spam filter's 32; IMDB's and the Naver reviews' 10,000 and 20,000 words...).
MEDIUM = {"vocab": (5000, 10000, 20000, 30000), "embed": (32, 64, 100, 128), "hidden": (32, 64, 100, 128, 256)}


def text_sizes(sizes: Sizes, difficulty: str, distinct: bool = False) -> tuple[int, int, int]:
    """(vocabulary, embedding, hidden) for a text model, in textbook proportions: an embedding
    at most a tenth of the vocabulary (and at least 32 wide past 1,000 words, 100 past 50,000),
    a hidden size within a factor of four of it; ``distinct``: the embedding and the hidden
    size differ (where telling them apart is the point)."""
    prefer: dict[str, tuple[int, ...]] = {"easy": EASY, "medium": MEDIUM}.get(difficulty, {})
    vocab = sizes.pick("vocab", prefer.get("vocab"))
    embed = sizes.pick("embed", prefer.get("embed"), lambda e: e * 10 <= vocab and (vocab < 50_000 or e >= 100)
                       and (vocab <= 1000 or e >= 32))
    hidden = sizes.pick("hidden", prefer.get("hidden"),
                        lambda h: h >= 16 and embed <= 4 * h and h <= 4 * embed and not (distinct and h == embed))
    return vocab, embed, hidden


def stack_sizes(sizes: Sizes, first: int, depth: int, rnn: str | None = None) -> list[int]:
    """Hidden sizes of a stack, bottom first: distinct, each narrower than the one below and at
    least a quarter of it (128 → 64 → 32), as far as the allowed sizes have such values (the
    bottom one is widened when the stack would otherwise run out of room). A GRU stack never
    halves: a layer's second bias (3h) would then be the next layer's every bias (6 × h/2), and
    the two slips would give one number."""
    room = 16 * 2 ** (depth - 1)
    if first < room and any(h >= room for h in sizes.allowed("hidden")):
        first = sizes.pick("hidden", None, lambda h: room <= h <= 4 * room)
    out = [first]
    for _ in range(depth - 1):
        below = out[-1]

        def apart(h: int, b: int = below) -> bool:
            return h not in out and not (rnn == "GRU" and (2 * h == b or 2 * b == h))

        for fits in (lambda h, b=below: apart(h, b) and b_fits(h, b), lambda h, b=below: apart(h, b) and h < b,
                     apart):
            if any(fits(h) for h in sizes.allowed("hidden")):
                out.append(sizes.pick("hidden", None, fits))
                break
        else:  # the ranges allow one size only
            out.append(below)
    return out


def b_fits(h: int, below: int) -> bool:
    """A layer of ``h`` units fits on one of ``below``: narrower, by at most a factor of four."""
    return below / 4 <= h < below and h >= 16


def seq_len(sizes: Sizes, difficulty: str, avoid: tuple[int, ...] = ()) -> int:
    return sizes.pick("seq_len", EASY["seq_len"] if difficulty == "easy" else None, lambda t: t not in avoid)


def output(sizes: Sizes, binary: bool, difficulty: str, avoid: tuple[int, ...] = ()) -> dict[str, Any]:
    """A classifier's output layer: one sigmoid unit, or a softmax over 3 or more classes."""
    if binary:
        return {"type": "Dense", "units": 1, "activation": "sigmoid"}
    classes = sizes.pick("classes", EASY["classes"] if difficulty == "easy" else None,
                         lambda c: c > 2 and c not in avoid)
    return {"type": "Dense", "units": classes, "activation": "softmax"}


# ---------------------------------------------------------------- the 점검 퀴즈's model

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


def check_model(srng: random.Random, sizes: Sizes, difficulty: str, single_layer: bool = False) -> CheckModel:
    """easy: the 점검 퀴즈 itself (SimpleRNN, binary); medium: its LSTM/GRU relatives with a
    Dropout or several classes; hard: stacked layers of distinct sizes or a Bidirectional one,
    maybe a hidden Dense layer."""
    if difficulty == "easy":
        rnn, depth, bidi, dropout, dense, binary = "SimpleRNN", 1, False, None, False, True
    elif difficulty == "medium":
        rnn = srng.choice(("LSTM", "GRU"))
        depth, bidi, dense = 1, False, False
        dropout = srng.choice((None, 0.2, 0.5))
        binary = srng.random() < 0.5
    else:
        rnn = srng.choice(RNNS)
        depth = 1 if single_layer else srng.choice((1, 2, 2, 3))
        bidi = depth == 1 or srng.random() < 0.3
        dense = srng.random() < 0.4
        dropout = srng.choice((None, 0.3, 0.5))
        binary = srng.random() < 0.5
    vocab, embed, first = text_sizes(sizes, difficulty)
    hiddens = stack_sizes(sizes, first, depth, rnn)
    length = seq_len(sizes, difficulty, avoid=(embed,))
    dense_units = sizes.pick("dense", None, lambda u: u not in hiddens and u <= 2 * hiddens[-1]) if dense else None
    classes = 1 if binary else output(sizes, False, difficulty)["units"]
    return CheckModel(vocab=vocab, embed=embed, rnn=rnn, hiddens=hiddens, seq_len=length, bidirectional=bidi,
                      dropout=dropout, dense_units=dense_units, classes=classes)


# ---------------------------------------------------------------- the other text models

def _rnn(kind: str, units: int, sequences: bool, bidi: bool) -> dict[str, Any]:
    cell: dict[str, Any] = {"type": kind, "units": units}
    if sequences:
        cell["return_sequences"] = True
    return {"type": "Bidirectional", "layer": cell} if bidi else cell


def tagger(srng: random.Random, sizes: Sizes, difficulty: str) -> dict[str, Any]:
    """A sequence tagger (the textbook's POS and NER models): an RNN returning every timestep,
    then a softmax over the tags at each of them. easy: one SimpleRNN; medium: a Bidirectional
    LSTM; hard: two stacked Bidirectional layers, the tags by TimeDistributed or a Dense on
    3-D input."""
    if difficulty == "easy":
        kinds, bidi, td = ["SimpleRNN"], False, True
    elif difficulty == "medium":
        kinds, bidi, td = ["LSTM"], True, True
    else:
        cell = srng.choice(("LSTM", "GRU"))
        kinds, bidi, td = [cell, cell], True, srng.random() < 0.6
    vocab, embed, first = text_sizes(sizes, difficulty)
    hiddens = stack_sizes(sizes, first, len(kinds), kinds[0])
    tags = sizes.pick("tags", None, lambda n: n not in hiddens)
    layers: list[dict[str, Any]] = [{"type": "Embedding", "input_dim": vocab, "output_dim": embed}]
    layers += [_rnn(k, h, True, bidi) for k, h in zip(kinds, hiddens)]
    dense = {"type": "Dense", "units": tags, "activation": "softmax"}
    layers.append({"type": "TimeDistributed", "layer": dense} if td else dense)
    return {"input": {"shape": [seq_len(sizes, difficulty, avoid=(embed, tags))]}, "layers": layers}


def conv_text(srng: random.Random, sizes: Sizes, difficulty: str) -> dict[str, Any]:
    """A 1D CNN over word embeddings: Conv1D, max pooling, then a global pooling (hard: two
    convolution blocks) and the classifier."""
    blocks = 2 if difficulty == "hard" else 1
    pools = [srng.choice((2, 3)) for _ in range(blocks)]
    same = [difficulty == "hard" and srng.random() < 0.5 for _ in range(blocks)]
    binary = srng.random() < 0.5
    vocab, embed, _ = text_sizes(sizes, difficulty)
    kernels = [sizes.pick("kernel", (3, 5, 7)) for _ in range(blocks)]
    length = sizes.pick("seq_len", None, lambda t: _fits(t, kernels, pools, same) and t != embed)
    layers: list[dict[str, Any]] = [{"type": "Embedding", "input_dim": vocab, "output_dim": embed}]
    filters: list[int] = []
    for k, p, s in zip(kernels, pools, same):
        f = sizes.pick("filters", None, lambda n: n not in filters and n != embed and n <= 4 * embed)
        filters.append(f)
        conv: dict[str, Any] = {"type": "Conv1D", "filters": f, "kernel_size": k, "activation": "relu"}
        if s:
            conv["padding"] = "same"
        layers += [conv, {"type": "MaxPooling1D", "pool_size": p}]
    layers += [{"type": "GlobalMaxPooling1D"}, output(sizes, binary, difficulty, avoid=tuple(filters))]
    return {"input": {"shape": [length]}, "layers": layers}


def _fits(length: int, kernels: list[int], pools: list[int], same: list[bool]) -> bool:
    for k, p, s in zip(kernels, pools, same):
        if not s:
            length -= k - 1
        length //= p
        if length < 1:
            return False
    return True


def seed_cell(srng: random.Random, sizes: Sizes, difficulty: str, fixed_batch: bool) -> dict[str, Any]:
    """The seed notebook's cells: one RNN layer on (timesteps, features), ``input_shape`` (the
    batch size left open) or a fixed ``batch_input_shape``, with or without return_sequences."""
    rnn = "SimpleRNN" if difficulty == "easy" else srng.choice(RNNS)
    sequences = srng.random() < 0.5
    timesteps = sizes.choice("seq_len", (2, 5, 10, 20, 30, 50))
    features = sizes.pick("features", None, lambda d: d != timesteps)
    units = sizes.pick("hidden", (3, 8, 16, 32, 64, 128), lambda h: h not in (timesteps, features))
    layer: dict[str, Any] = {"type": rnn, "units": units}
    if sequences:
        layer["return_sequences"] = True
    if fixed_batch:
        batch = sizes.pick("batch", None, lambda b: b not in (1, timesteps, features, units))
        return {"input": {"batch_shape": [batch, timesteps, features]}, "layers": [layer]}
    return {"input": {"shape": [timesteps, features]}, "layers": [layer]}


def normalized(srng: random.Random, sizes: Sizes, difficulty: str) -> dict[str, Any]:
    """A model with BatchNormalization (its moving mean and variance are not trained).
    easy: one BatchNormalization after the RNN; medium: one after the RNN's every timestep
    and one after a hidden Dense; hard: the same around a Bidirectional layer or a Conv1D."""
    vocab, embed, hidden = text_sizes(sizes, difficulty)
    length = seq_len(sizes, difficulty, avoid=(embed,))
    layers: list[dict[str, Any]] = [{"type": "Embedding", "input_dim": vocab, "output_dim": embed}]
    if difficulty == "easy":
        layers += [{"type": "SimpleRNN", "units": hidden}, {"type": "BatchNormalization"},
                   {"type": "Dense", "units": 1, "activation": "sigmoid"}]
        return {"input": {"shape": [length]}, "layers": layers}
    binary = srng.random() < 0.5
    conv = difficulty == "hard" and srng.random() < 0.4
    pool = srng.choice(("GlobalAveragePooling1D", "GlobalMaxPooling1D"))
    if conv:
        filters = sizes.pick("filters", None, lambda f: f != embed and f <= 4 * embed)
        layers.append({"type": "Conv1D", "filters": filters, "kernel_size": 3, "padding": "same", "activation": "relu"})
    else:
        cell = srng.choice(("LSTM", "GRU"))
        layers.append(_rnn(cell, hidden, True, difficulty == "hard"))
    dense = sizes.pick("dense", None, lambda u: u != hidden and u <= 2 * hidden)
    layers += [{"type": "BatchNormalization"}, {"type": pool},
               {"type": "Dense", "units": dense, "activation": "relu"}, {"type": "BatchNormalization"}]
    if difficulty == "hard":
        layers.append({"type": "Dropout", "rate": 0.5})
    layers.append(output(sizes, binary, difficulty, avoid=(dense,)))
    return {"input": {"shape": [length]}, "layers": layers}


def text_model(srng: random.Random, sizes: Sizes, difficulty: str,
               families: tuple[str, ...] = ("classifier", "tagger", "conv")) -> dict[str, Any]:
    """A model for the listing and code kinds: easy the 점검 퀴즈's; medium and hard one of
    ``families`` at that difficulty (conv only from medium on)."""
    if difficulty == "easy":
        return check_model(srng, sizes, "easy").spec()
    family = srng.choice(families)
    if family == "tagger":
        return tagger(srng, sizes, difficulty)
    if family == "conv":
        return conv_text(srng, sizes, difficulty)
    if family == "normalized":
        return normalized(srng, sizes, difficulty)
    return check_model(srng, sizes, difficulty).spec()
