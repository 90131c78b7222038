"""The question kinds of the textbook's later chapters.

seq2seq translators (an encoder's ``return_state`` feeding the decoder's
``initial_state``), the shapes those states have, text CNNs that concatenate three
kernel sizes, transformer encoder blocks (MultiHeadAttention with ``key_dim = d/H``
and with ``key_dim = d``, the two conventions teachers use), image CNNs, the memory
``model.summary()`` prints, and "how many more parameters does B have than A".

Like the first kinds (generator.py): structure from the slot's stream ``srng``,
sizes from the student's ``sizes``, wording in data/templates.json. Functional
models are shown as the Keras code that builds them (questions/functional.py), and
that code reads back to the stored spec.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from ..errors import GenerationError, SpecError
from ..nn.derivation import texts as derivation_texts
from ..nn.memory import BYTES_PER_PARAM, printed_memory, weight_bytes
from ..nn.shapes import format_shape
from ..nn.solver import Solution, solve_raw
from .architectures import RNNS, Sizes
from .functional import Functional
from .prompts import conventions, count, fenced, finish, labels, memory, part, parts_prompt, shape, t, with_hint
from .render import keras_code, listing
from .textbook_models import EASY, output, seq_len, stack_sizes, text_sizes
from .working import SHAPE_NOTES, batch_sentence, compare_working, count_working

# (template, spec, what is asked beyond them, prompt(lang, answer), solution), as the
# first kinds' builders return it; the answer itself is made by right_answer below.
Built = tuple[str, dict, dict, Callable[[str, dict], str], Solution]
_MAX_TRIES = 40


# ---------------------------------------------------------------- seq2seq translator

_STATE_VARS = {
    ("LSTM", False): ["encoder_outputs", "state_h", "state_c"],
    ("GRU", False): ["encoder_outputs", "state_h"],
    ("SimpleRNN", False): ["encoder_outputs", "state_h"],
    ("LSTM", True): ["encoder_outputs", "forward_h", "forward_c", "backward_h", "backward_c"],
    ("GRU", True): ["encoder_outputs", "forward_h", "backward_h"],
    ("SimpleRNN", True): ["encoder_outputs", "forward_h", "backward_h"],
}


def _sequence_input(b: Functional, name: str, prefix: str, size: int, embed: int, words: bool,
                    masking: bool) -> str:
    """An encoder's or decoder's input: word ids embedded (and masked), or one-hot characters
    of ``size`` classes; returns the tensor the RNN reads."""
    b.input(name, [None] if words else [None, size])
    x = name
    if words:
        b.call(f"{prefix}_emb", {"type": "Embedding", "input_dim": size, "output_dim": embed}, [x])
        x = f"{prefix}_emb"
        if masking:
            b.call(f"{prefix}_masking", {"type": "Masking", "mask_value": 0.0}, [x])
            x = f"{prefix}_masking"
    return x


def seq2seq(srng: random.Random, sizes: Sizes, difficulty: str) -> Built:
    """An encoder-decoder translator: the encoder's final states start the decoder."""
    # easy: the textbook's word-level LSTM translator; medium: a GRU, characters or masking
    # instead; hard: a Bidirectional encoder whose joined states start a decoder twice as wide.
    if difficulty == "easy":
        cell, words, masking, bidi, decoder_states = "LSTM", True, False, False, False
    else:
        cell, words, masking = srng.choice((("GRU", True, False), ("LSTM", False, False), ("GRU", False, False),
                                            ("LSTM", True, True), ("GRU", True, True)))
        bidi = difficulty == "hard"
        decoder_states = srng.random() < 0.5  # the textbook's decoder also returns its states (for inference)
    if words:
        src, embed, units = text_sizes(sizes, difficulty)
        tar = sizes.pick("vocab", None, lambda v: v != src)
    else:
        units = sizes.pick("hidden", EASY["hidden"] if difficulty == "easy" else None, lambda h: h >= 32)
        src = sizes("chars")
        tar = sizes.pick("chars", None, lambda v: v != src)
        embed = 0

    b = Functional()
    x = _sequence_input(b, "encoder_inputs", "enc", src, embed, words, masking)
    encoder: dict[str, Any] = {"type": cell, "units": units, "return_state": True}
    state_vars = _STATE_VARS[(cell, bidi)]
    b.call(state_vars, {"type": "Bidirectional", "layer": encoder} if bidi else encoder, [x])
    if bidi:
        halves = len(state_vars[1:]) // 2
        states = []
        for i, name in enumerate(("state_h", "state_c")[:halves]):
            b.call(name, {"type": "Concatenate"}, [[state_vars[1 + i], state_vars[1 + halves + i]]])
            states.append(name)
    else:
        states = state_vars[1:]
    if len(states) > 1:
        b.line(f"encoder_states = [{', '.join(states)}]")
        b.alias("encoder_states", b.ref(states))
        initial = "encoder_states"
    else:
        initial = states[0]
    b.line()
    y = _sequence_input(b, "decoder_inputs", "dec", tar, embed, words, masking)
    decoder: dict[str, Any] = {"type": cell, "units": units * 2 if bidi else units, "return_sequences": True}
    if decoder_states:
        decoder["return_state"] = True
        target: Any = ["decoder_outputs"] + ["_"] * (2 if cell == "LSTM" else 1)
    else:
        target = "decoder_outputs"
    b.call(target, decoder, [y], {"initial_state": initial})
    b.call("decoder_outputs", {"type": "Dense", "units": tar, "activation": "softmax"}, ["decoder_outputs"])
    b.line()
    b.model(["encoder_inputs", "decoder_inputs"], "decoder_outputs")
    spec, code, solution = b.finish()
    template = "words" if words else "chars"

    def prompt(lang: str, answer: dict[str, Any]) -> str:
        return with_hint(f"{t(lang)['seq2seq'][template]}\n\n{fenced(code, 'python')}", lang, "count", spec,
                         conventions([spec], lang))

    return template, spec, {}, prompt, solution


# ---------------------------------------------------------------- return_state shapes

def return_state(srng: random.Random, sizes: Sizes, difficulty: str) -> Built:
    """The shapes of every tensor an encoder RNN with return_state returns."""
    # easy: an LSTM's output, h and c; medium: a GRU or SimpleRNN (one state), or every
    # timestep's output; hard: a Bidirectional encoder (each direction's states, then joined).
    if difficulty == "easy":
        cell, bidi, sequences, text = "LSTM", False, False, True
    else:
        cell = srng.choice(RNNS)
        bidi = difficulty == "hard"
        sequences = (cell == "LSTM" and not bidi) or srng.random() < 0.5
        text = srng.random() < 0.6
    batched = not text and difficulty == "hard" and srng.random() < 0.5
    b = Functional()
    if text:
        vocab, embed, units = text_sizes(sizes, difficulty, distinct=True)
        seq_len = sizes.pick("seq_len", None, lambda n: n not in (embed, units))
        b.input("encoder_inputs", [seq_len])
        b.call("x", {"type": "Embedding", "input_dim": vocab, "output_dim": embed}, ["encoder_inputs"])
        x = "x"
    else:
        steps = sizes.choice("seq_len", (5, 10, 20, 30, 50))
        features = sizes.pick("features", None, lambda d: d != steps)
        units = sizes.pick("hidden", None, lambda h: h not in (steps, features, 2 * steps) and h >= 16)
        batch = sizes.pick("batch", None, lambda n: n not in (1, steps, features, units)) if batched else None
        b.input("encoder_inputs", [steps, features], batch=batch)
        x = "encoder_inputs"
    layer: dict[str, Any] = {"type": cell, "units": units}
    if sequences:
        layer["return_sequences"] = True
    layer["return_state"] = True
    state_vars = _STATE_VARS[(cell, bidi)]
    b.call(state_vars, {"type": "Bidirectional", "layer": layer} if bidi else layer, [x])
    joined = []
    if bidi:  # the textbook joins each direction's state for a decoder twice as wide
        halves = len(state_vars[1:]) // 2
        for i, name in enumerate(("state_h", "state_c")[:halves]):
            b.call(name, {"type": "Concatenate"}, [[state_vars[1 + i], state_vars[1 + halves + i]]])
            joined.append(name)
    b.line()
    b.model(["encoder_inputs"], [state_vars[0], *joined] if joined else state_vars, var="encoder")
    spec, code, solution = b.finish()

    def prompt(lang: str, answer: dict[str, Any]) -> str:
        return parts_prompt(t(lang)["return-state"]["unpacked"], fenced(code, "python"), answer["parts"], lang, spec,
                            conventions([spec], lang, counts=False))

    return "unpacked", spec, {}, prompt, solution


def _rnn_row(solution: Solution) -> Any:
    return next(r for r in solution.layers if r.type in ("Bidirectional", *RNNS))


def _return_state_parts(spec: dict[str, Any], solution: Solution) -> list[dict[str, Any]]:
    """Each tensor the encoder returns, under the variable the code unpacks it into, then
    the joined states of a Bidirectional encoder (the code's state_h, state_c)."""
    row = _rnn_row(solution)
    layer = next(x for x in spec["layers"] if x["type"] in ("Bidirectional", *RNNS))
    bidi = layer["type"] == "Bidirectional"
    state_vars = _STATE_VARS[((layer["layer"] if bidi else layer)["type"], bidi)]
    shapes = dict(zip(state_vars, row.output_shape))
    shapes.update(zip(("state_h", "state_c"), (r.output_shape for r in _rows_of(solution, "Concatenate"))))
    return [part(var, shape(s), labels("tensor_shape", var=var)) for var, s in shapes.items()]


def _rows_of(solution: Solution, layer_type: str) -> list[Any]:
    return [r for r in solution.layers if r.type == layer_type]


# ---------------------------------------------------------------- text CNN

def text_cnn(srng: random.Random, sizes: Sizes, difficulty: str) -> Built:
    """Kim's CNN: one Conv1D per kernel size over the same embeddings, max-pooled and joined."""
    # easy: Kim's kernels 3, 4, 5 straight into the classifier; medium: other kernels or a
    # hidden Dense layer; hard: also a branch's own output shape.
    if difficulty == "easy":
        kernels, hidden = [3, 4, 5], False
    else:
        kernels, hidden = srng.choice((([2, 3, 4], False), ([3, 5, 7], False), ([3, 4, 5], True), ([2, 3, 4], True)))
    binary = srng.random() < 0.5
    ask_conv = difficulty == "hard"
    vocab, embed, _ = text_sizes(sizes, difficulty)
    filters = sizes.pick("filters", None, lambda f: f != embed)
    max_len = sizes.choice("seq_len", tuple(v for v in (20, 30, 50, 60, 80, 100, 200, 500)
                                            if v >= max(kernels) and v not in (embed, filters)))
    b = Functional()
    b.const("vocab_size", vocab)
    b.const("embedding_dim", embed)
    b.const("max_len", max_len)
    b.const("num_filters", filters)
    b.line()
    b.input("inputs", [max_len], code="Input(shape=(max_len,))")
    b.call("embedded", {"type": "Embedding", "input_dim": vocab, "output_dim": embed}, ["inputs"],
           ctor="Embedding(vocab_size, embedding_dim)")
    b.line()
    b.line("conv_blocks = []")
    b.line(f"for kernel_size in {kernels}:")
    b.line("    conv = Conv1D(filters=num_filters, kernel_size=kernel_size, padding='valid', activation='relu', "
           "strides=1)(embedded)")
    b.line("    conv = GlobalMaxPooling1D()(conv)")
    b.line("    conv_blocks.append(conv)")
    pooled = []
    for k in kernels:
        b.call("conv", {"type": "Conv1D", "filters": filters, "kernel_size": k, "padding": "valid",
                        "activation": "relu", "strides": 1}, ["embedded"], code=False)
        pooled.append(b.call("conv", {"type": "GlobalMaxPooling1D"}, ["conv"], code=False))
    b.alias("conv_blocks", list(pooled))
    b.line()
    b.call("merged", {"type": "Concatenate"}, ["conv_blocks"])
    b.call("dropout", {"type": "Dropout", "rate": 0.5}, ["merged"])
    last = "dropout"
    if hidden:
        b.call("hidden", {"type": "Dense", "units": sizes.pick("dense", None, lambda u: u != filters),
                          "activation": "relu"}, [last])
        last = "hidden"
    out = {"type": "Dense", "units": 1, "activation": "sigmoid"} if binary else \
        {"type": "Dense", "units": sizes("classes"), "activation": "softmax"}
    b.call("outputs", out, [last])
    b.model(["inputs"], "outputs")
    spec, code, solution = b.finish()

    def prompt(lang: str, answer: dict[str, Any]) -> str:
        return parts_prompt(t(lang)["text-cnn"]["loop"], fenced(code, "python"), answer["parts"], lang, spec)

    return "loop", spec, {"parts": ["conv", "concat", "total"] if ask_conv else ["concat", "total"]}, prompt, solution


def _text_cnn_parts(solution: Solution, asked: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The last convolution's output shape (when asked), the joined shape, the total."""
    convs = _rows_of(solution, "Conv1D")
    parts = []
    if "conv" in asked.get("parts", ()):
        kernel = convs[-1].derivation.symbol_values()["k"]
        parts.append(part("conv", shape(convs[-1].output_shape), labels("conv_shape", k=kernel)))
    concat = _rows_of(solution, "Concatenate")[0]
    parts.append(part("concat", shape(concat.output_shape), labels("concat_shape", n=len(convs))))
    parts.append(part("total", count(solution.total_params), labels("total")))
    return parts


# ---------------------------------------------------------------- transformer encoder block

def transformer_block(b: Functional, x: str, heads_code: str, key_code: str, heads: int, key_dim: int,
                       ff_dim: int, d: int) -> str:
    """The keras.io encoder block (post-norm): attention, add & norm, feed-forward, add & norm."""
    b.call("attn_output", {"type": "MultiHeadAttention", "num_heads": heads, "key_dim": key_dim}, [x, x],
           ctor=f"MultiHeadAttention(num_heads={heads_code}, key_dim={key_code})")
    b.call("attn_output", {"type": "Dropout", "rate": 0.1}, ["attn_output"])
    b.call("out1", {"type": "Add"}, [[x, "attn_output"]])
    b.call("out1", {"type": "LayerNormalization", "epsilon": 1e-6}, ["out1"])
    b.call("ffn_output", {"type": "Dense", "units": ff_dim, "activation": "relu"}, ["out1"],
           ctor="Dense(ff_dim, activation='relu')")
    b.call("ffn_output", {"type": "Dense", "units": d}, ["ffn_output"], ctor="Dense(embed_dim)")
    b.call("ffn_output", {"type": "Dropout", "rate": 0.1}, ["ffn_output"])
    b.call("out2", {"type": "Add"}, [["out1", "ffn_output"]])
    b.call("out2", {"type": "LayerNormalization", "epsilon": 1e-6}, ["out2"])
    return "out2"


def transformer_model(srng: random.Random, sizes: Sizes, difficulty: str,
                      convention: str | None = None) -> tuple[str, dict[str, Any], str, Solution]:
    """(convention, spec, code, solution) of an encoder block on embeddings, maybe with a classifier head."""
    # easy: d/H heads on embeddings; medium: keras.io's key_dim = d, maybe a classifier head;
    # hard: either convention, always with the head, on given vectors (the block's input is the
    # width to reason from, with no Embedding to read it off).
    if convention is None:
        convention = {"easy": "split", "medium": "full"}.get(difficulty) or srng.choice(("split", "full"))
    embedded = difficulty != "hard"
    head = difficulty == "hard" or (difficulty == "medium" and srng.random() < 0.5)
    # With key_dim = d/H the attention's biases number 4d: a feed-forward layer of 4d units
    # would forget as many, so split heads get 2d (the count of each slip stays its own).
    ff_mult = 2 if convention == "split" else srng.choice((2, 4))
    d, heads = sizes("model_dim"), sizes("heads")
    key_dim = d // heads if convention == "split" else d
    b = Functional(package="keras")
    if embedded:
        b.const("vocab_size", sizes("vocab"))
    b.const("maxlen", sizes.choice("seq_len", (50, 100, 200)))
    b.const("embed_dim", d)
    b.const("num_heads", heads)
    b.const("ff_dim", ff_mult * d)
    b.line()
    if embedded:
        b.input("inputs", [b.consts["maxlen"]], code="Input(shape=(maxlen,))")
        b.call("x", {"type": "Embedding", "input_dim": b.consts["vocab_size"], "output_dim": d}, ["inputs"],
               ctor="Embedding(vocab_size, embed_dim)")
        x = "x"
    else:
        b.input("inputs", [b.consts["maxlen"], d], code="Input(shape=(maxlen, embed_dim))")
        x = "inputs"
    key_code = "embed_dim // num_heads" if convention == "split" else "embed_dim"
    out = transformer_block(b, x, "num_heads", key_code, heads, key_dim, ff_mult * d, d)
    if head:
        b.call("x", {"type": "GlobalAveragePooling1D"}, [out])
        b.call("x", {"type": "Dropout", "rate": 0.1}, ["x"])
        b.call("outputs", {"type": "Dense", "units": sizes.choice("classes", (2, 3, 4, 5, 10)),
                           "activation": "softmax"}, ["x"])
        out = "outputs"
    b.model(["inputs"], out)
    spec, code, solution = b.finish()
    return convention, spec, code, solution


def transformer(srng: random.Random, sizes: Sizes, difficulty: str) -> Built:
    convention, spec, code, solution = transformer_model(srng, sizes, difficulty)

    def prompt(lang: str, answer: dict[str, Any]) -> str:
        return parts_prompt(t(lang)["transformer"][convention], fenced(code, "python"), answer["parts"], lang, spec)

    return convention, spec, {}, prompt, solution


# ---------------------------------------------------------------- image CNN

def _cnn_plan(srng: random.Random, difficulty: str, padding: str | None = None) -> list[tuple[dict, dict]]:
    """(Conv2D, MaxPooling2D) pairs without sizes: the structure of an image CNN."""
    blocks = {"easy": 1, "medium": 2, "hard": srng.choice((2, 3))}[difficulty]
    plan = []
    for _ in range(blocks):
        conv: dict[str, Any] = {"type": "Conv2D", "kernel_size": 3 if difficulty == "easy" else srng.choice((3, 5))}
        if difficulty == "hard" and srng.random() < 0.25:
            conv["strides"] = 2
            conv["kernel_size"] = 5  # with 3 and an even side, rounding up would give padding='same''s size
        pad = padding or ("same" if difficulty != "easy" and srng.random() < 0.4 else None)
        if pad is not None:
            conv["padding"] = pad
        conv["activation"] = "relu"
        pool: dict[str, Any] = {"type": "MaxPooling2D"}
        r = srng.random()
        if difficulty == "hard" and r < 0.3:
            pool.update(pool_size=3, strides=2)
        elif difficulty != "easy" and r < 0.6:
            pool["pool_size"] = 2
        if difficulty == "hard" and srng.random() < 0.2:
            pool["padding"] = "same"
        plan.append((conv, pool))
    return plan


def _cnn_spec(plan: list[tuple[dict, dict]], side: int, channels: int, filters: list[int],
              tail: list[dict[str, Any]]) -> dict[str, Any]:
    layers: list[dict[str, Any]] = []
    for (conv, pool), f in zip(plan, filters):
        layers += [{"type": "Conv2D", "filters": f, **{k: v for k, v in conv.items() if k != "type"}}, dict(pool)]
    return {"input": {"shape": [side, side, channels]}, "layers": [*layers, {"type": "Flatten"}, *tail]}


def _flat(plan: list[tuple[dict, dict]], side: int) -> int | None:
    """The width after Flatten of the plan on an image of ``side`` (one filter a layer), or
    None if a window does not fit."""
    try:
        return solve_raw(_cnn_spec(plan, side, 1, [1] * len(plan), [{"type": "Dense", "units": 1}])).layers[-2] \
            .output_shape[1]
    except SpecError:
        return None


def _fits(plan: list[tuple[dict, dict]], side: int) -> bool:
    return _flat(plan, side) is not None


def _fit_plan(plan: list[tuple[dict, dict]], side: int, keep_padding: bool = False) -> list[tuple[dict, dict]]:
    """The plan made to fit an image of ``side``: a window that would not fit gets padding='same'
    (a convolution whose padding is the point of the question, ``keep_padding``, a 3×3 kernel
    without strides instead). Decided by the structure and the smallest allowed side only, so
    every student of a slot gets the same layers."""
    fitted: list[tuple[dict, dict]] = []
    for conv, pool in plan:
        if not _fits(fitted + [(conv, pool)], side):
            if keep_padding:
                conv["kernel_size"] = 3
                conv.pop("strides", None)
            else:
                conv["padding"] = "same"
        if not _fits(fitted + [(conv, pool)], side):
            pool["padding"] = "same"
        fitted.append((conv, pool))
    return fitted


def image_cnn(srng: random.Random, sizes: Sizes, difficulty: str,
              padding: str | None = None) -> tuple[list[tuple[dict, dict]], dict[str, Any]]:
    """(plan, Sequential spec) of an MNIST/CIFAR-style CNN whose image side fits every window."""
    plan = _cnn_plan(srng, difficulty, padding)
    channels = 1 if srng.random() < 0.5 else 3
    dense = difficulty == "easy" or srng.random() < 0.7
    dropout = difficulty != "easy" and srng.random() < 0.4
    smallest = min(sizes.allowed("image"))
    if padding is None:
        plan = valid = _fit_plan(plan, smallest)
    else:  # a comparison of padding='valid' (model A) with padding='same' (model B): both must fit,
        # without conv strides (with them, floor((L−k)/s)+1 and ceil(L/s) can meet and the models tie)
        valid = _fit_plan([({**{k: v for k, v in c.items() if k != "strides"}, "padding": "valid"}, p)
                           for c, p in plan], smallest, keep_padding=True)
        plan = [({**c, "padding": padding}, p) for c, p in valid]
    side = sizes.choice_where("image", lambda s: _fits(plan, s) and _fits(valid, s)
                              and (plan is valid or _flat(valid, s) != _flat(plan, s)))
    filters: list[int] = []
    for _ in plan:  # distinct, so a slip in one convolution never gives another's number
        filters.append(sizes.pick("filters", None, lambda f: f not in filters))
    filters.sort()  # widening as the image shrinks, as CNNs are built
    tail: list[dict[str, Any]] = []
    if dense:
        tail.append({"type": "Dense", "units": sizes.pick("dense", None, lambda u: u not in filters),
                     "activation": "relu"})
    if dropout:
        tail.append({"type": "Dropout", "rate": 0.5})
    tail.append({"type": "Dense", "units": sizes.choice("classes", (10, 2, 3, 4, 5, 20)), "activation": "softmax"})
    return plan, _cnn_spec(plan, side, channels, filters, tail)


def cnn(srng: random.Random, sizes: Sizes, difficulty: str) -> Built:
    _, spec = image_cnn(srng, sizes, difficulty)
    as_code = srng.random() < 0.5
    solution = solve_raw(spec)
    template = "code" if as_code else "listing"
    code = keras_code(spec) if as_code else None

    def prompt(lang: str, answer: dict[str, Any]) -> str:
        body = fenced(code, "python") if code else fenced(listing(spec, t(lang)["input_label"]))
        return parts_prompt(t(lang)["cnn"][template], body, answer["parts"], lang, spec)

    return template, spec, {}, prompt, solution


# ---------------------------------------------------------------- memory

def _rnn_model(srng: random.Random, sizes: Sizes, difficulty: str, rnn: str | None = None,
               bidirectional: bool = False, depth: int = 1) -> dict[str, Any]:
    """Embedding → RNN layer(s) → (Dense) → output: the check quiz's model as a spec."""
    rnn = rnn or srng.choice(RNNS)
    hidden_dense = difficulty != "easy" and srng.random() < 0.4
    binary = srng.random() < 0.5
    vocab, embed, first = text_sizes(sizes, difficulty)
    hiddens = stack_sizes(sizes, first, depth, rnn)
    layers: list[dict[str, Any]] = [{"type": "Embedding", "input_dim": vocab, "output_dim": embed}]
    for i, units in enumerate(hiddens):
        cell: dict[str, Any] = {"type": rnn, "units": units}
        if i < depth - 1:
            cell["return_sequences"] = True
        layers.append({"type": "Bidirectional", "layer": cell} if bidirectional else cell)
    dense = sizes.pick("dense", None, lambda u: u not in hiddens and u <= 2 * hiddens[-1]) if hidden_dense else None
    if dense:
        layers.append({"type": "Dense", "units": dense, "activation": "relu"})
    layers.append(output(sizes, binary, difficulty, avoid=(dense or 0, *hiddens)))
    return {"input": {"shape": [seq_len(sizes, difficulty, avoid=(embed,))]}, "layers": layers}


def memory_question(srng: random.Random, sizes: Sizes, difficulty: str) -> Built:
    """Total params, and the memory the summary prints for it at float32 and float16."""
    # easy: one RNN layer; medium: two stacked, or an image CNN; hard: Bidirectional, or a
    # deeper CNN.
    if difficulty == "easy":
        spec = _rnn_model(srng, sizes, difficulty)
    elif srng.random() < 0.5:
        _, spec = image_cnn(srng, sizes, difficulty)
    else:
        spec = _rnn_model(srng, sizes, difficulty, depth=2 if difficulty == "medium" else 1,
                          bidirectional=difficulty == "hard")
    solution = solve_raw(spec)

    def prompt(lang: str, answer: dict[str, Any]) -> str:
        return parts_prompt(t(lang)["memory"]["model"], fenced(listing(spec, t(lang)["input_label"])),
                            answer["parts"], lang, spec, conventions([spec], lang))

    return "model", spec, {}, prompt, solution


# ---------------------------------------------------------------- B versus A

COMPARE_PAIRS = {  # easy: one layer's type; medium: the textbook's two ways to grow an RNN; hard: conventions
    "easy": ("lstm-gru", "rnn-lstm"),
    "medium": ("bidirectional", "stacked"),
    "hard": ("key-dim", "padding"),
}
PREFIXES = ("a_", "b_")


def _as_graph(spec: dict[str, Any], prefix: str) -> dict[str, Any]:
    """A spec (Sequential or graph) as a graph whose every name starts with ``prefix``."""
    if "inputs" in spec:
        def ref(value: Any) -> Any:
            if isinstance(value, list):
                return [ref(v) for v in value]
            return prefix + value

        layers = []
        for layer in spec["layers"]:
            obj = {**layer, "name": prefix + layer["name"], "call": ref(layer["call"])}
            if "call_kwargs" in layer:
                obj["call_kwargs"] = {k: ref(v) for k, v in layer["call_kwargs"].items()}
            layers.append(obj)
        return {"inputs": [{**i, "name": prefix + i["name"]} for i in spec["inputs"]], "layers": layers,
                "outputs": [prefix + o for o in spec["outputs"]]}
    rows = solve_raw(spec).layers  # Keras's layer names
    previous = f"{prefix}input"
    layers = []
    for row, layer in zip(rows, spec["layers"]):
        layers.append({"name": prefix + row.name, **layer, "call": [previous]})
        previous = prefix + row.name
    return {"inputs": [{"name": f"{prefix}input", **spec["input"]}], "layers": layers, "outputs": [previous]}


def merged(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Models A and B as one graph spec with two inputs and two outputs (Keras confirms both at once)."""
    return merged_many([a, b], list(PREFIXES))


def merged_many(specs: list[dict[str, Any]], prefixes: list[str]) -> dict[str, Any]:
    """Several models as one graph spec, each model's names starting with its prefix."""
    graphs = [_as_graph(spec, prefix) for spec, prefix in zip(specs, prefixes)]
    return {"inputs": [i for g in graphs for i in g["inputs"]], "layers": [x for g in graphs for x in g["layers"]],
            "outputs": [o for g in graphs for o in g["outputs"]]}


def part_solution(solution: Solution, prefix: str) -> Solution:
    """One model's rows of a merged solution, with its own totals."""
    rows = tuple(replace(r, index=i) for i, r in enumerate(
        (r for r in solution.layers if r.name.startswith(prefix)), start=1))
    trainable = sum(r.trainable for r in rows)
    non_trainable = sum(r.non_trainable for r in rows)
    graph = solution.graph
    input_shape = next((s for n, s in graph.inputs.items() if n.startswith(prefix)), solution.input_shape) \
        if graph is not None else solution.input_shape
    return Solution(input_shape, rows, trainable + non_trainable, trainable, non_trainable)


def compare(srng: random.Random, sizes: Sizes, difficulty: str) -> Built:
    """How many more parameters model B has than model A (B is the bigger one)."""
    pair = srng.choice(COMPARE_PAIRS[difficulty])
    code = None
    if pair == "key-dim":
        _, a, code, sol_a = transformer_model(srng, sizes, difficulty, convention="split")
        d = next(r for r in sol_a.layers if r.type == "MultiHeadAttention").derivation.symbol_values()["d"]
        b = {**a, "layers": [{**layer, "key_dim": d} if layer["type"] == "MultiHeadAttention" else layer
                             for layer in a["layers"]]}
    elif pair == "padding":
        _, b = image_cnn(srng, sizes, difficulty, padding="same")
        a = {**b, "layers": [{**layer, "padding": "valid"} if layer["type"] == "Conv2D" else layer
                             for layer in b["layers"]]}
    else:
        rnn_a, rnn_b = {"lstm-gru": ("GRU", "LSTM"), "rnn-lstm": ("SimpleRNN", "LSTM")}.get(pair, (None, None))
        rnn = rnn_a or srng.choice(RNNS)
        a = _rnn_model(srng, sizes, difficulty, rnn=rnn)
        if pair in ("lstm-gru", "rnn-lstm"):
            b = {**a, "layers": [{**layer, "type": rnn_b} if layer["type"] == rnn else layer for layer in a["layers"]]}
        elif pair == "bidirectional":
            b = {**a, "layers": [{"type": "Bidirectional", "layer": layer} if layer["type"] == rnn else layer
                                 for layer in a["layers"]]}
        else:  # stacked: a second layer under the first (twice as wide, as stacks narrow going up)
            i = next(i for i, layer in enumerate(a["layers"]) if layer["type"] == rnn)
            below = {**a["layers"][i], "units": 2 * a["layers"][i]["units"], "return_sequences": True}
            b = {**a, "layers": [*a["layers"][:i], below, *a["layers"][i:]]}
    spec = merged(a, b)
    solution = solve_raw(spec)
    sa, sb = part_solution(solution, PREFIXES[0]), part_solution(solution, PREFIXES[1])
    if sb.total_params <= sa.total_params:
        raise GenerationError("internal: model B of a comparison is not the bigger one")

    def prompt(lang: str, answer: dict[str, Any]) -> str:
        words = t(lang)["compare"]
        if code is not None:
            body = f"{words['model_a']}\n\n{fenced(code, 'python')}"
        else:
            body = "\n\n".join([f"{words['model_a']}\n\n{fenced(listing(a, t(lang)['input_label']))}",
                                f"{words['model_b']}\n\n{fenced(listing(b, t(lang)['input_label']))}"])
        return with_hint(f"{words[pair]}\n\n{body}", lang, "count", None,
                         conventions([a, b], lang, ("gru",) if pair == "lstm-gru" else ()))

    return pair, spec, {}, prompt, solution


# ---------------------------------------------------------------- right answers

def right_answer(kind: str, template: str, spec: dict[str, Any], solution: Solution,
                 asked: Mapping[str, Any]) -> dict[str, Any]:
    """A later kind's right answer, from its solved spec and what it asks (the generator's
    right_answer dispatches here): what the generator stores and ``quizgen verify`` makes
    again from the stored spec."""
    if kind == "seq2seq":
        return count(solution.total_params)
    if kind == "return-state":
        return {"type": "parts", "parts": _return_state_parts(spec, solution)}
    if kind == "text-cnn":
        return {"type": "parts", "parts": _text_cnn_parts(solution, asked)}
    if kind == "transformer":
        mha = _rows_of(solution, "MultiHeadAttention")[0]
        return {"type": "parts", "parts": [part("mha", count(mha.params), labels("mha_params")),
                                           part("total", count(solution.total_params), labels("total"))]}
    if kind == "cnn":
        parts = [part(f"L{r.index}.shape", shape(r.output_shape), labels("layer_shape", index=r.index, layer=r.type))
                 for r in solution.layers if r.type in ("Conv2D", "MaxPooling2D", "Flatten")]
        return {"type": "parts", "parts": [*parts, part("total", count(solution.total_params), labels("total"))]}
    if kind == "memory":
        total = solution.total_params
        return {"type": "parts", "parts": [
            part("total", count(total), labels("total")),
            part("float32", memory(printed_memory(total, "float32")), labels("memory_float32")),
            part("float16", memory(printed_memory(total, "float16")), labels("memory_float16"))]}
    if kind == "compare":
        sa, sb = (part_solution(solution, p) for p in PREFIXES)
        return {**count(sb.total_params - sa.total_params), "models": list(PREFIXES)}
    raise GenerationError(f"unknown question kind {kind!r}")


# ---------------------------------------------------------------- worked answers

def working(kind: str, template: str, spec: dict[str, Any], answer: dict[str, Any], solution: Solution,
            lang: str) -> str:
    """The worked answer stored with a question of these kinds."""
    words = t(lang)["explain"]
    if kind == "return-state":
        row = next(r for r in solution.layers if r.type in ("Bidirectional", *RNNS))
        notes = derivation_texts(lang)["notes"]
        n = len(row.output_shape)
        lines = [words["return_state"].format(layer=row.derivation.layer_type, n=n)]
        lines += [f"{i}. {p['key']} = {format_shape(p['value'])}" for i, p in enumerate(answer["parts"][:n], start=1)]
        lines.append(" ".join(notes[k] for k in row.derivation.notes if k in notes and k in SHAPE_NOTES))
        for p in answer["parts"][n:]:
            lines.append(words["return_state_joined"].format(var=p["key"], shape=format_shape(p["value"])))
        lines.append(batch_sentence(spec, lang))
        return finish("\n".join(line for line in lines if line), lang)
    if kind == "memory":
        total = solution.total_params
        lines = [count_working(solution, lang)]
        for dtype in BYTES_PER_PARAM:
            lines.append(words["memory"].format(dtype=dtype, total=total, size=BYTES_PER_PARAM[dtype],
                                                bytes=weight_bytes(total, dtype),
                                                printed=printed_memory(total, dtype)))
        return finish("\n".join(lines), lang)
    if kind == "compare":
        sa, sb = (part_solution(solution, p) for p in PREFIXES)
        return compare_working(sa, sb, answer["value"], lang)
    return count_working(solution, lang)


BUILDERS: dict[str, Callable[[random.Random, Sizes, str], Built]] = {
    "seq2seq": seq2seq, "return-state": return_state, "text-cnn": text_cnn, "transformer": transformer,
    "cnn": cnn, "memory": memory_question, "compare": compare,
}
