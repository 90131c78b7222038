"""The generator: reproducible, per-student, textbook-sized, and always right."""

from __future__ import annotations

import json
import random
import re

import pytest

from quizgen.errors import GenerationError
from quizgen.nn.code import models_from_code
from quizgen.nn.solver import solve_raw
from quizgen.questions.architectures import SIZE_LISTS, parse_range
from quizgen.questions.catalog import FIRST_KINDS
from quizgen.questions.generator import KINDS, generate_question, generate_variant, polynomial, positive_roots

_GATES = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}


def _by_hand(spec):
    """(output shape, params, non-trainable) per layer, from the textbook formulas written out
    here for the layers and options the generator uses, independently of quizgen's solver
    (which the generator itself calls); None for anything else."""
    inp = spec["input"]
    shape = list(inp["batch_shape"]) if "batch_shape" in inp else [None, *inp["shape"]]
    rows = []
    for layer in spec["layers"]:
        kind = layer["type"]
        inner = layer.get("layer") if kind in ("Bidirectional", "TimeDistributed") else None
        rnn = (inner or layer)["type"] if (inner or layer)["type"] in _GATES else None
        known = {"type", "units", "activation", "return_sequences", "layer"}
        if rnn and set(inner or layer) <= known and (not inner or set(layer) <= {"type", "layer"}):
            cell = inner or layer
            h, d = cell["units"], shape[-1]
            bias = 2 if rnn == "GRU" else 1  # Keras 3's GRU: reset_after=True, two bias vectors
            params = _GATES[rnn] * h * (h + d + bias) * (2 if inner else 1)
            width = 2 * h if inner else h
            shape = [shape[0], shape[1], width] if cell.get("return_sequences") else [shape[0], width]
            rows.append((shape, params, 0))
        elif kind == "Embedding" and set(layer) <= {"type", "input_dim", "output_dim"}:
            shape = [*shape, layer["output_dim"]]
            rows.append((shape, layer["input_dim"] * layer["output_dim"], 0))
        elif kind == "Dense" and set(layer) <= {"type", "units", "activation"}:
            params = shape[-1] * layer["units"] + layer["units"]
            shape = [*shape[:-1], layer["units"]]
            rows.append((shape, params, 0))
        elif kind == "TimeDistributed" and inner["type"] == "Dense" and set(inner) <= {"type", "units", "activation"}:
            params = shape[-1] * inner["units"] + inner["units"]
            shape = [*shape[:-1], inner["units"]]
            rows.append((shape, params, 0))
        elif kind in ("Dropout", "SpatialDropout1D"):
            rows.append((shape, 0, 0))
        elif kind in ("GlobalMaxPooling1D", "GlobalAveragePooling1D") and set(layer) == {"type"}:
            shape = [shape[0], shape[2]]
            rows.append((shape, 0, 0))
        elif kind == "Flatten" and set(layer) == {"type"}:
            flat = 1
            for dim in shape[1:]:
                flat = None if dim is None or flat is None else flat * dim
            shape = [shape[0], flat]
            rows.append((shape, 0, 0))
        elif kind == "Conv1D" and set(layer) <= {"type", "filters", "kernel_size", "activation", "padding"}:
            k, f, steps = layer["kernel_size"], layer["filters"], shape[1]
            if steps is not None:
                steps = steps if layer.get("padding") == "same" else steps - k + 1
            params = k * shape[2] * f + f
            shape = [shape[0], steps, f]
            rows.append((shape, params, 0))
        elif kind == "MaxPooling1D" and set(layer) <= {"type", "pool_size"}:
            pool = layer.get("pool_size", 2)
            shape = [shape[0], None if shape[1] is None else (shape[1] - pool) // pool + 1, shape[2]]
            rows.append((shape, 0, 0))
        elif kind == "BatchNormalization" and set(layer) == {"type"}:
            rows.append((shape, 4 * shape[-1], 2 * shape[-1]))
        elif kind == "LayerNormalization" and set(layer) == {"type"}:
            rows.append((shape, 2 * shape[-1], 0))
        else:
            return None
    return rows


def _answer_from_solution(q):
    """The stored answer equals what the textbook formulas give for the stored spec (computed
    by hand in _by_hand, not by the solver the generator used), where the formulas cover it;
    elsewhere at least what the solver says."""
    rows = _by_hand(q.spec)
    if rows is not None:
        solution = solve_raw(q.spec)
        assert [(list(r.output_shape), r.params, r.non_trainable) for r in solution.layers] == rows, q.spec
        _answer_from_solution.independent += 1
    solution = solve_raw(q.spec)
    a = q.answer
    if q.kind in ("total-params",) or (q.kind == "code" and a["type"] == "count"):
        return a["value"] == solution.total_params
    if q.kind == "layer-params":
        return a["value"] == solution.layers[a["layer"] - 1].params
    if q.kind == "output-shape":
        return a["value"] == list(solution.layers[a.get("layer", len(solution.layers)) - 1].output_shape)
    if q.kind == "code":
        return a["value"] == list(solution.output_shape)
    if q.kind == "trainable-split":
        parts = {p["key"]: p["value"] for p in a["parts"]}
        return parts == {"trainable": solution.trainable_params, "non_trainable": solution.non_trainable_params}
    if q.kind == "summary":
        parts = {p["key"]: p["value"] for p in a["parts"]}
        want = {"total": solution.total_params}
        for r in solution.layers:
            want[f"L{r.index}.shape"] = list(r.output_shape)
            want[f"L{r.index}.params"] = r.params
        return parts == want
    if q.kind == "weight-shapes":
        t, d, h = a["sizes"]
        parts = {p["key"]: p["value"] for p in a["parts"]}
        full = {"W_x": [h, d], "W_h": [h, h], "b": [h], "hidden_state_t": [h], "total_hidden_states": [t, h],
                "keras_kernel": [d, h], "keras_recurrent_kernel": [h, h], "keras_bias": [h]}
        return parts == {k: full[k] for k in parts} and len(parts) >= 3 and solution.layers[0].params == h * (h + d + 1)
    if q.kind == "inverse":
        given = a["given"]
        if "total" in given:
            return solution.total_params == given["total"]
        return solution.total_params == given["params"] and q.spec["layers"][0]["units"] == a["value"]
    parts = {p["key"]: p["value"] for p in a["parts"]} if a["type"] == "parts" else None
    rows = {r.name: r for r in solution.layers}
    if q.kind == "seq2seq":
        return a["value"] == solution.total_params
    if q.kind == "return-state":
        rnn = next(r for r in solution.layers if r.type in ("Bidirectional", "SimpleRNN", "LSTM", "GRU"))
        joined = [list(r.output_shape) for r in solution.layers if r.type == "Concatenate"]
        n = len(rnn.output_shape)
        want = [list(s) for s in rnn.output_shape] + joined  # the states, then a Bidirectional's joined ones
        outputs = [f"{rnn.name}:0"] + [r.name for r in solution.layers if r.type == "Concatenate"] if joined \
            else [f"{rnn.name}:{i}" for i in range(n)]
        cell = rnn.derivation.layer_type.removeprefix("Bidirectional(").rstrip(")")
        states = {"LSTM": 2, "GRU": 1, "SimpleRNN": 1}[cell] * (2 if rnn.type == "Bidirectional" else 1)
        return list(parts.values()) == want and q.spec["outputs"] == outputs and n == 1 + states
    if q.kind == "text-cnn":
        convs = [r for r in solution.layers if r.type == "Conv1D"]
        want = {"concat": list(rows["concatenate"].output_shape), "total": solution.total_params}
        if "conv" in parts:
            want["conv"] = list(convs[-1].output_shape)
        return parts == want and len(convs) == 3
    if q.kind == "transformer":
        mha = next(r for r in solution.layers if r.type == "MultiHeadAttention")
        heads, key_dim = q.spec["layers"][1]["num_heads"] if False else mha.derivation.symbol_values()["H"], \
            mha.derivation.symbol_values()["k"]
        d = mha.derivation.symbol_values()["d"]
        convention_ok = key_dim == (d // heads if q.template == "split" else d)
        # the count from the paper's formula: 3 projections of H×k with biases, then H×k back to d
        return parts == {"mha": mha.params, "total": solution.total_params} and convention_ok and \
            mha.params == 3 * (d * heads * key_dim + heads * key_dim) + heads * key_dim * d + d
    if q.kind == "cnn":
        want = {f"L{r.index}.shape": list(r.output_shape) for r in solution.layers
                if r.type in ("Conv2D", "MaxPooling2D", "Flatten")}
        return parts == {**want, "total": solution.total_params}
    if q.kind == "memory":
        total = solution.total_params

        def printed(n_bytes):  # Keras's figure, computed with powers of 1,024 instead of a loop
            k = 0
            while n_bytes >= 1024 ** (k + 1):
                k += 1
            return f"{n_bytes / 1024 ** k:.2f} {('B', 'KB', 'MB', 'GB', 'TB')[k]}"

        return parts == {"total": total, "float32": printed(4 * total), "float16": printed(2 * total)}
    if q.kind == "compare":
        a_total = sum(r.params for r in solution.layers if r.name.startswith("a_"))
        b_total = sum(r.params for r in solution.layers if r.name.startswith("b_"))
        return a["value"] == b_total - a_total > 0 and a_total + b_total == solution.total_params
    raise AssertionError(q.kind)


_answer_from_solution.independent = 0  # type: ignore[attr-defined]


# The first kinds' Sequential models, by the formulas here; the later kinds' graphs are
# checked by hand in tests/test_zoo_kinds.py and against real Keras there.
@pytest.mark.parametrize("kind", FIRST_KINDS)
@pytest.mark.parametrize("difficulty", ["easy", "medium", "hard"])
def test_every_kind_answers_what_the_textbook_formulas_give(kind, difficulty):
    _answer_from_solution.independent = 0  # type: ignore[attr-defined]
    for student in range(25):
        q = generate_question(11, 3, kind, f"s{student}", difficulty, langs=("ko", "en"))
        assert _answer_from_solution(q), (q.kind, q.answer)
        assert q.prompt["ko"] and q.prompt["en"] and q.derivation["ko"] and q.derivation["en"]
        assert "{" not in q.prompt["ko"].replace("{}", "")  # every placeholder filled
    assert _answer_from_solution.independent >= 20, "most answers must be checked by hand, not only by the solver"  # type: ignore[attr-defined]


def test_same_seed_same_questions_and_language_does_not_change_them():
    a = generate_variant(5, 16, KINDS, "20260001", "hard", langs=("ko", "en"))
    b = generate_variant(5, 16, KINDS, "20260001", "hard", langs=("ko", "en"))
    assert a == b
    ko = generate_variant(5, 16, KINDS, "20260001", "hard", langs=("ko",))
    en = generate_variant(5, 16, KINDS, "20260001", "hard", langs=("en",))
    assert [q.spec for q in ko] == [q.spec for q in en] and [q.answer for q in ko] == [q.answer for q in en]
    assert generate_variant(6, 16, KINDS, "20260001", "hard") != a


def test_students_get_the_same_kind_of_question_with_different_numbers():
    students = [generate_variant(9, 8, KINDS, f"2026{i:04d}", "medium") for i in range(20)]
    for slot in range(8):
        kinds = {s[slot].kind for s in students}
        assert len(kinds) == 1
        answers = {str(s[slot].answer) for s in students}
        assert len(answers) >= 10, (slot, kinds)


def test_sizes_are_textbook_numbers():
    for i in range(200):
        q = generate_question(i, 1, "total-params", None, "hard")
        emb = q.spec["layers"][0]
        assert emb["input_dim"] in SIZE_LISTS["vocab"] and emb["output_dim"] in SIZE_LISTS["embed"]
        assert q.spec["input"]["shape"][0] in SIZE_LISTS["seq_len"]


def test_the_check_quiz_reads_like_the_textbook():
    q = generate_question(1, 1, "total-params", None, "easy", langs=("ko", "en"))
    ko = q.prompt["ko"]
    assert ko.startswith("모델에 대한 설명이 다음과 같을 때, 총 파라미터의 개수를 구하세요.")
    assert "은닉 상태의 크기는" in ko and "샘플의 길이는" in ko and "은닉층은 1개입니다" in ko
    assert re.search(r"\n1\. Embedding을 사용하며", ko)
    assert "hidden state of size" in q.prompt["en"]


def test_ranges_are_honoured():
    ranges = dict([parse_range("hidden=32-64"), parse_range("vocab=5000-10000"), parse_range("seq_len=30")])
    for i in range(100):
        q = generate_question(i, 1, "total-params", "x", "hard", ranges)
        layers = q.spec["layers"]
        assert 5000 <= layers[0]["input_dim"] <= 10000
        assert q.spec["input"]["shape"] == [30]
        for layer in layers:
            cell = layer.get("layer", layer)
            if cell["type"] in ("SimpleRNN", "LSTM", "GRU"):
                assert cell["units"] in (32, 64)


@pytest.mark.parametrize("text,message", [
    ("hidden=0-5", "not positive"), ("hidden=64-32", "empty"), ("foo=1-2", "unknown range"),
    ("hidden=abc", "NAME=LO-HI"), ("=5", "NAME=LO-HI"),
])
def test_bad_ranges(text, message):
    with pytest.raises(GenerationError, match=message):
        parse_range(text)


def test_unknown_kind_and_difficulty():
    with pytest.raises(GenerationError, match="unknown question kind"):
        generate_question(1, 1, "essay")
    with pytest.raises(GenerationError, match="unknown difficulty"):
        generate_question(1, 1, "code", difficulty="extreme")


def test_code_shown_to_students_reads_back_to_the_stored_spec():
    for i in range(60):
        for kind in ("code", "output-shape"):
            q = generate_question(i, 2, kind, None, "hard")
            if q.template not in ("total", "shape", "seed-cell"):
                continue
            code = re.search(r"```python\n(.*?)\n```", q.prompt["ko"], re.S).group(1)
            (model,) = models_from_code(code)
            assert [(r.output_shape, r.params) for r in solve_raw(model.spec).layers] == \
                [(r.output_shape, r.params) for r in solve_raw(q.spec).layers]


def test_inverse_answers_are_unique_by_brute_force():
    rng = random.Random(3)
    for _ in range(40):
        q = generate_question(rng.randrange(10**6), 1, "inverse", None, "medium")
        given = q.answer["given"]
        if "total" not in given:
            continue
        unknown = given["unknown"]
        hits = []
        for x in range(1, 1200):
            spec = {**q.spec, "layers": [dict(layer) for layer in q.spec["layers"]]}
            if unknown == "hidden":
                layer = spec["layers"][1]
                spec["layers"][1] = {**layer, "units": x}
            elif unknown == "embed":
                spec["layers"][0]["output_dim"] = x
            else:
                spec["layers"][0]["input_dim"] = x
            if solve_raw(spec).total_params == given["total"]:
                hits.append(x)
        if q.answer["value"] < 1200:
            assert hits == [q.answer["value"]]


def test_polynomial_roots():
    assert polynomial(lambda x: 3 * x * x + 2 * x + 1) == (3, 2, 1)
    assert polynomial(lambda x: x ** 3) is None
    assert positive_roots(1, 101, 0, 128 * 128 + 101 * 128) == [128]
    assert positive_roots(0, 5, 0, 7) == []


def test_generated_keys_are_confirmed_by_keras(checker):
    for kind in KINDS:
        for difficulty in ("easy", "medium", "hard"):
            for student in range(4):
                q = generate_question(2026, 1, kind, str(student), difficulty)
                verdict = checker.check(q.spec)
                assert verdict.agree and verdict.keras_error is None, (kind, verdict.describe())
                layers = q.breakdown["layers"]
                assert [json.dumps(row["output_shape"]) for row in layers] == [
                    json.dumps(o.output_shape) for o in verdict.observed]  # a layer with several outputs: nested
                assert [row["trainable"] for row in layers] == [o.trainable for o in verdict.observed]


def test_generator_fast_path_solves_exactly_like_the_validating_parser():
    from quizgen.nn.solver import solve_generated
    from quizgen.questions.catalog import FIRST_KINDS  # the kinds that solve with the fast path

    rng = random.Random(21)
    for i in range(600):
        q = generate_question(rng.randrange(10**9), i % 10 + 1, FIRST_KINDS[i % len(FIRST_KINDS)], str(i),
                              ("easy", "medium", "hard")[i % 3])
        fast, checked = solve_generated(q.spec), solve_raw(q.spec)
        assert [(r.type, r.output_shape, r.params, r.trainable) for r in fast.layers] == \
            [(r.type, r.output_shape, r.params, r.trainable) for r in checked.layers]
