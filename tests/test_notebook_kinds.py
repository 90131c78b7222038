"""The notebook's own exercises as question kinds (issue #19 item 7): each seeded, in Korean and
English, with named slips, and confirmed at every difficulty by real Keras (the numpy
reference for rnn-step, which the product uses and which is held to Keras here too)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from quizgen.grading.answers import AnswerError, parse_decimal
from quizgen.grading.misconceptions import grading_key, slips_apart
from quizgen.grading.scoring import grade_answer
from quizgen.grading.slip_messages import slip_feedback
from quizgen.questions.catalog import DIFFICULTIES, NOTEBOOK_KINDS
from quizgen.questions.confirm import extra_mismatches
from quizgen.questions.generator import generate_question
from quizgen.resources import load_json


def _q(kind, difficulty, seed=7, student="20260001"):
    return generate_question(seed, 1, kind, student, difficulty, langs=("ko", "en"), keep_apart=slips_apart)


@pytest.mark.parametrize("kind", NOTEBOOK_KINDS)
def test_seeded_in_both_languages_with_named_slips(kind):
    known = load_json("misconceptions.json")
    for difficulty in DIFFICULTIES:
        q = _q(kind, difficulty)
        assert q == _q(kind, difficulty)  # the same seed, the same question
        assert q.prompt["ko"] and q.prompt["en"] and q.derivation["ko"] and q.derivation["en"]
        expected, slips = grading_key(kind, q.spec, q.answer, q.solution)
        names = {s for table in slips.values() for s in table.values() if isinstance(s, str)}
        assert names, (kind, difficulty)
        for name in names:
            base = name.split("@")[0]
            assert base in known["ko"] and base in known["en"], name
            assert slip_feedback(name, "ko") and slip_feedback(name, "en")
        others = {json.dumps(q.answer) for q in (_q(kind, difficulty, student=f"s{i}") for i in range(8))}
        assert len(others) >= 3, kind  # students get their own numbers


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
def test_every_new_kind_is_confirmed_by_keras(checker, difficulty):
    for kind in NOTEBOOK_KINDS:
        q = _q(kind, difficulty)
        verdict = checker.check(q.spec)
        assert verdict.agree and verdict.keras_error is None, (kind, verdict.describe())
        assert [layer["output_shape"] for layer in q.breakdown["layers"]] == [
            json.loads(json.dumps(o.output_shape)) for o in verdict.observed]
        assert extra_mismatches(kind, q.spec, q.answer, checker) == []


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
def test_rnn_step_is_what_keras_simplernn_computes(checker, difficulty):
    """The hidden state asked for is Keras's own, with the weights the question shows."""
    q = _q("rnn-step", difficulty)
    given = q.answer["given"]
    units = len(given["b"])
    layer = checker.build_layer({"type": "SimpleRNN", "units": units})
    layer.build((None, None, len(given["W_x"][0])))
    layer.set_weights([np.array(given["W_x"], dtype="float32").T, np.array(given["W_h"], dtype="float32").T,
                       np.array(given["b"], dtype="float32")])
    h = np.asarray(layer(np.array([given["inputs"]], dtype="float32")))[0]
    assert [p["value"] for p in q.answer["parts"]] == [f"{v:.2f}" if abs(v) >= 0.005 else "0.00" for v in h]
    # and every slip shows somewhere, with its own rounded value
    keys = [p["key"] for p in q.answer["parts"]]
    _, slips = grading_key("rnn-step", q.spec, q.answer, q.solution)
    from quizgen.questions.rnn_inside import step_slips

    assert {s for k in keys for s in slips.get(k, {}).values()} == set(step_slips(given))


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
def test_gate_weights_are_the_shapes_keras_makes(checker, difficulty):
    q = _q("gate-weights", difficulty)
    layer = checker.build_layer(q.spec["layers"][0])
    layer.build((None, *q.spec["input"]["shape"]))
    shapes = [list(w.shape) for w in layer.weights]
    answer = {p["key"]: p["value"] for p in q.answer["parts"]}
    assert answer["kernel"] == shapes[0] and answer["bias"] == shapes[2]
    assert answer["recurrent_kernel"] == shapes[4 if difficulty == "hard" else 1]
    assert answer.get("count", len(shapes)) == len(shapes)
    if q.spec["layers"][0].get("layer", q.spec["layers"][0])["type"] == "GRU":
        assert len(answer["bias"]) == 2  # Keras 3's reset_after=True: (2, 3h)


def _keras_model(checker, layers, input_shape=None):
    keras = checker.keras
    model = keras.Sequential()
    if input_shape is not None:
        model.add(keras.Input(shape=input_shape))
    for obj in layers:
        model.add(checker.build_layer(obj))
    return model


def test_spot_bug_unbuilt_shows_zero_and_then_the_notebooks_shape(checker):
    q = _q("spot-bug", "easy")
    answer = {p["key"]: p["value"] for p in q.answer["parts"]}
    model = _keras_model(checker, q.spec["layers"])
    printed = []
    model.summary(print_fn=lambda text, **_: printed.extend(text.splitlines()))
    assert any(line.strip().startswith(f"Total params: {answer['printed_total']} ") for line in printed), printed
    model.build((None, None))
    assert list(model.layers[0].output.shape) == answer["embedding_shape"] == [None, None, answer["embedding_shape"][2]]
    assert model.count_params() == answer["total"]


@pytest.mark.parametrize("difficulty", ["medium", "hard"])
def test_spot_bug_stack_fails_where_the_answer_says_and_the_fix_runs(checker, difficulty):
    q = _q("spot-bug", difficulty)
    answer = {p["key"]: p["value"] for p in q.answer["parts"]}
    broken = [dict(x) for x in q.spec["layers"]]
    fix = answer["fix"] - 1
    inner = broken[fix]["layer"] if "layer" in broken[fix] else broken[fix]
    inner = {k: v for k, v in inner.items() if k != "return_sequences"}
    broken[fix] = {**broken[fix], "layer": inner} if "layer" in broken[fix] else inner
    keras = checker.keras
    model = keras.Sequential([keras.Input(shape=tuple(q.spec["input"]["shape"]))])
    failed_at = None
    for number, obj in enumerate(broken, start=1):
        try:
            model.add(checker.build_layer(obj))
        except ValueError:
            failed_at = number
            break
    assert failed_at == answer["fails"] == answer["fix"] + 1
    assert _keras_model(checker, q.spec["layers"], tuple(q.spec["input"]["shape"])).count_params() == answer["total"]


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
def test_tokenizer_counts_agree_with_keras_text_tools(checker, difficulty):
    """A corpus of the stated size, read by Keras's TextVectorization (which adds '' and [UNK] where
    the Tokenizer adds index 0 only) and padded by Keras's pad_sequences."""
    keras = checker.keras
    q = _q("tokenizer", difficulty)
    given = q.answer["given"]
    answer = {p["key"]: p["value"] for p in q.answer["parts"]}
    words = [f"w{i}" for i in range(given["words"])]
    lengths = [given["longest"]] + [1 + i % given["longest"] for i in range(given["sentences"] - 1)]
    sentences = [" ".join(words[(i * 7 + j) % len(words)] for j in range(n)) for i, n in enumerate(lengths)]
    sentences[-1] = " ".join(words)  # every word once at least
    if given["longest"] < len(words):
        lengths.append(len(words))
    vectorizer = keras.layers.TextVectorization(standardize=None)
    vectorizer.adapt(sentences)
    assert vectorizer.vocabulary_size() - 1 == answer["vocab_size"]  # '' and [UNK] for the Tokenizer's 0
    if "X" in answer:
        sequences = [[1] * n for n in lengths[: given["sentences"]]]
        padded = keras.utils.pad_sequences(sequences, maxlen=given["maxlen"], padding="post") if given["maxlen"] \
            else keras.utils.pad_sequences(sequences)
        assert list(padded.shape) == answer["X"]
    emb = checker.build_layer({"type": "Embedding", "input_dim": answer["vocab_size"], "output_dim":
                               q.spec["layers"][0]["output_dim"]})
    emb.build((None, None))
    assert emb.count_params() == answer["embedding"]


@pytest.mark.parametrize("text,value", [("0.76", "0.76"), ("-0.46", "-0.46"), ("−0.46", "-0.46"), (".5", "0.50"),
                                        ("0.7616", "0.76"), ("0.765", "0.77"), ("1", "1.00"), ("-0.001", "0.00"),
                                        ("０.７６", "0.76")])
def test_decimal_answers(text, value):
    assert parse_decimal(text) == value


@pytest.mark.parametrize("text,message", [("0,76", "decimal point"), ("abc", "not a decimal"), ("", "empty"),
                                          ("1e-2", "not a decimal")])
def test_decimal_refusals(text, message):
    with pytest.raises(AnswerError, match=message):
        parse_decimal(text)


def test_a_decimal_answer_is_graded_and_its_slips_named():
    q = _q("rnn-step", "medium")
    expected, slips = grading_key("rnn-step", q.spec, q.answer, q.solution)
    right = {p["key"]: p["value"] for p in q.answer["parts"]}
    assert grade_answer(json.dumps(right), expected, json.dumps(slips), 2)[:2] == (2.0, True)
    key, table = next((k, t) for k, t in slips.items() if t)
    value, slip = next(iter(table.items()))
    wrong = {**right, key: json.loads(value)}
    score, correct, named, _ = grade_answer(json.dumps(wrong), expected, json.dumps(slips), 2)
    assert not correct and named == slip
