"""The later question kinds (seq2seq, return-state, text-cnn, transformer, cnn, memory, compare):
per student and reproducible, in Korean and English, code that reads back to the stored spec,
answers Keras confirms, and the slips of the new layers named through the real CLI."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from quizgen.cli.main import cli
from quizgen.grading.answers import AnswerError, parse_memory
from quizgen.grading.misconceptions import diagnose_table, grading_key
from quizgen.grading.slip_messages import parse_slip, slip_feedback
from quizgen.nn.code import models_from_code
from quizgen.nn.shapes import format_shape
from quizgen.nn.solver import solve_raw
from quizgen.questions.catalog import DEFAULT_KINDS, FIRST_KINDS, KINDS, NOTEBOOK_KINDS, ZOO_KINDS
from quizgen.questions.generator import generate_question
from quizgen.questions.prompts import t
from quizgen.resources import load_json

from .helpers import ROSTER, right_answers

DIFFICULTIES = ("easy", "medium", "hard")
HANGUL = re.compile(r"[가-힣]")


def _codes(prompt: str) -> list[str]:
    return re.findall(r"```python\n(.*?)\n```", prompt, re.S)


def _outside_code(prompt: str) -> str:
    return re.sub(r"```.*?```", "", prompt, flags=re.S)


# ---------------------------------------------------------------- the catalogue

def test_the_later_kinds_are_listed_but_not_asked_by_default():
    assert KINDS == FIRST_KINDS + ZOO_KINDS + NOTEBOOK_KINDS and DEFAULT_KINDS == FIRST_KINDS
    out = CliRunner().invoke(cli, ["generate", "--help"])
    assert out.exit_code == 0
    assert all(kind in " ".join(out.output.split()).replace("text- cnn", "text-cnn") for kind in ZOO_KINDS)


# ---------------------------------------------------------------- wording

@pytest.mark.parametrize("kind", ZOO_KINDS)
def test_prompts_and_workings_in_both_languages(kind):
    for seed in range(5):
        for difficulty in DIFFICULTIES:
            q = generate_question(seed, 2, kind, f"2026{seed:04d}", difficulty, langs=("ko", "en"))
            for lang in ("ko", "en"):
                for text in (q.prompt[lang], q.derivation[lang]):
                    assert not re.search(r"\{[a-z_]*(:[^}]*)?\}", text), text  # every placeholder filled
                    prose = _outside_code(text).replace(t(lang)["answer_hint"]["shape"], "")  # these say None
                    prose = prose.replace(t(lang)["explain"]["batch_open"], "")
                    assert "None" not in prose.replace("(None", "").replace("None,", "")
            assert HANGUL.search(_outside_code(q.prompt["ko"])) and not HANGUL.search(q.prompt["en"])
            assert HANGUL.search(q.derivation["ko"]) and not HANGUL.search(q.derivation["en"])
            if q.answer["type"] == "parts":
                labels = [p["label"] for p in q.answer["parts"]]
                assert all(label["ko"] and label["en"] for label in labels)
                assert all(f"({i}) {label['en']}" in q.prompt["en"] for i, label in enumerate(labels, start=1))
                assert q.points == 2
            else:
                assert q.points == 1


def test_every_slip_a_new_kind_names_is_explained_in_both_languages():
    words = load_json("misconceptions.json")
    named = set()
    for kind in ZOO_KINDS:
        for seed in range(12):
            for difficulty in DIFFICULTIES:
                q = generate_question(seed, 1, kind, None, difficulty)
                for table in diagnose_table(q.kind, q.template, q.spec, q.answer).values():
                    named |= {parse_slip(ref).slip for ref in table.values()}
    assert named <= set(words["ko"]) and named <= set(words["en"]), named - set(words["en"])
    assert {"pytorch_rnn_biases", "mha_no_output", "mha_one_head", "mha_key_dim_split", "conv_no_channels",
            "pool_stride_one", "bidi_state_concat", "bidi_states_not_doubled", "state_has_time_axis",
            "memory_decimal_units", "memory_dtype_size", "compare_total_not_difference", "cnn_one_branch",
            "concat_one_input", "flatten_no_channels"} <= named


# ---------------------------------------------------------------- what students are shown

def test_code_shown_reads_back_to_the_stored_spec():
    seen = set()
    for kind in ZOO_KINDS:
        for seed in range(10):
            for difficulty in DIFFICULTIES:
                q = generate_question(seed, 1, kind, f"s{seed}", difficulty)
                for code in _codes(q.prompt["ko"]):
                    (model,) = models_from_code(code)
                    if kind == "compare":  # model A's code: the a_ half of the stored spec
                        assert q.template == "key-dim"
                        assert _prefixed(model.spec, "a_") == _half(q.spec, "a_")
                    else:
                        # the same spec, key for key and in the same order (JSON text compared)
                        assert json.dumps(model.spec) == json.dumps(q.spec), (kind, code)
                    seen.add((kind, q.template))
    assert {k for k, _ in seen} == set(ZOO_KINDS) - {"memory"}
    assert ("cnn", "code") in seen and ("compare", "key-dim") in seen


def _prefixed(spec: dict, prefix: str) -> dict:
    def ref(v):
        return [ref(x) for x in v] if isinstance(v, list) else prefix + v

    return {"inputs": [{**i, "name": prefix + i["name"]} for i in spec["inputs"]],
            "layers": [{**layer, "name": prefix + layer["name"], "call": ref(layer["call"]),
                        **({"call_kwargs": {k: ref(v) for k, v in layer["call_kwargs"].items()}}
                           if "call_kwargs" in layer else {})} for layer in spec["layers"]],
            "outputs": [prefix + o for o in spec["outputs"]]}


def _half(spec: dict, prefix: str) -> dict:
    return {"inputs": [i for i in spec["inputs"] if i["name"].startswith(prefix)],
            "layers": [layer for layer in spec["layers"] if layer["name"].startswith(prefix)],
            "outputs": [o for o in spec["outputs"] if o.startswith(prefix)]}


def test_listings_show_the_stored_sequential_models():
    for seed in range(10):
        q = generate_question(seed, 1, "memory", None, "hard", langs=("en",))
        listing = re.search(r"```\n(Input: .*?)\n```", q.prompt["en"], re.S).group(1)
        assert len(listing.splitlines()) == len(q.spec["layers"]) + 1
        q = generate_question(seed, 1, "compare", None, "medium", langs=("en",))
        if q.template != "key-dim":
            shown = re.findall(r"```\n(Input: .*?)\n```", q.prompt["en"], re.S)
            assert [len(s.splitlines()) - 1 for s in shown] == [
                len(_half(q.spec, p)["layers"]) for p in ("a_", "b_")]


# ---------------------------------------------------------------- reproducible, per student

def _fingerprint(kinds, seeds=range(3)) -> str:
    out = []
    for kind in kinds:
        for seed in seeds:
            for difficulty in DIFFICULTIES:
                q = generate_question(seed, 3, kind, "20260001", difficulty, langs=("ko", "en"))
                out.append([q.template, q.spec, q.prompt, q.answer, q.breakdown, q.derivation, q.points])
    return hashlib.sha256(json.dumps(out, ensure_ascii=False).encode()).hexdigest()


def test_same_seed_same_questions_in_any_process():
    here = _fingerprint(ZOO_KINDS)
    assert here == _fingerprint(ZOO_KINDS)
    code = ("from tests.test_zoo_kinds import _fingerprint; from quizgen.questions.catalog import ZOO_KINDS; "
            "print(_fingerprint(ZOO_KINDS))")
    root = Path(__file__).resolve().parent.parent
    for hash_seed in ("0", "123"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True,
                              check=True)
        assert done.stdout.strip() == here


def _shape_of_model(spec: dict) -> list:
    """The structure without sizes: layer types (and names and calls of a graph)."""
    if "inputs" in spec:
        return [(layer["name"], layer["type"], json.dumps(layer["call"]), layer.get("layer", {}).get("type"))
                for layer in spec["layers"]]
    return [(layer["type"], layer.get("layer", {}).get("type"), layer.get("padding"), layer.get("strides"))
            for layer in spec["layers"]]


@pytest.mark.parametrize("kind", ZOO_KINDS)
def test_students_of_a_slot_get_the_same_model_with_their_own_sizes(kind):
    for slot in (1, 2, 3):
        for difficulty in ("medium", "hard"):
            qs = [generate_question(41, slot, kind, f"2026{i:04d}", difficulty) for i in range(16)]
            assert len({q.template for q in qs}) == 1
            assert len({json.dumps(_shape_of_model(q.spec)) for q in qs}) == 1, kind
            # (a return-state answer may hang on the hidden size alone: 8 textbook values)
            assert len({json.dumps(q.answer) for q in qs}) >= 5, (kind, slot)


def test_the_first_kinds_keep_their_questions_and_keys_byte_for_byte():
    """Questions, answers, workings and stored grading keys of the first eight kinds, under a
    fixed hash seed (slip keys are listed in set order), drawn as a quiz draws them (sizes kept
    apart for the slips): the same seed gives the same quiz byte for byte within a generator
    version (sha256 taken at GENERATOR_VERSION 2, issue #19's difficulty levels and wording)."""
    code = r"""
import hashlib, json
from quizgen.questions.generator import generate_question
from quizgen.grading.misconceptions import grading_key, slips_apart
from quizgen.questions.catalog import FIRST_KINDS, GENERATOR_VERSION
assert GENERATOR_VERSION == "2"
h = hashlib.sha256()
for seed in range(12):
    for slot in (1, 2, 7):
        for kind in FIRST_KINDS:
            for diff in ("easy", "medium", "hard"):
                for student in (None, "20260001", "x"):
                    q = generate_question(seed, slot, kind, student, diff, langs=("ko", "en"),
                                          keep_apart=slips_apart)
                    key = grading_key(q.kind, q.spec, q.answer, q.solution)
                    h.update(json.dumps([q.template, q.spec, q.prompt, q.answer, q.breakdown, q.derivation,
                                         q.points, key], ensure_ascii=False).encode())
print(h.hexdigest())
"""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "88553e9d7703f8a6e9d163d3ca8d5825d0a38a58cbb32196a269488a5631a805"


# ---------------------------------------------------------------- confirmed by Keras

def _confirm(checker, q) -> None:
    verdict = checker.check(q.spec)
    assert verdict.agree and verdict.keras_error is None, (q.kind, q.template, verdict.describe())
    layers = q.breakdown["layers"]
    assert [layer["trainable"] for layer in layers] == [o.trainable for o in verdict.observed]
    assert [layer["non_trainable"] for layer in layers] == [o.non_trainable for o in verdict.observed]
    assert [json.dumps(layer["output_shape"]) for layer in layers] == [
        json.dumps(o.output_shape) for o in verdict.observed]


def test_generated_answers_are_confirmed_by_keras(checker):
    for kind in ZOO_KINDS:
        for difficulty in DIFFICULTIES:
            for student in ("20260001", "20260002"):
                _confirm(checker, generate_question(2026, 1, kind, student, difficulty))


@pytest.mark.slow
def test_many_generated_answers_are_confirmed_by_keras(checker):
    for kind in ZOO_KINDS:
        for seed in range(12):
            for difficulty in DIFFICULTIES:
                for student in ("a", "b", "c"):
                    _confirm(checker, generate_question(seed, seed % 5 + 1, kind, student, difficulty))


def test_memory_is_what_keras_summary_prints(checker):
    """The float32 and float16 figures are what Keras 3's model.summary() prints for the model
    (built with that dtype policy), not only params × bytes."""
    keras = checker.keras
    for seed in range(4):
        q = generate_question(seed, 1, "memory", "20260001", ("easy", "medium", "hard")[seed % 3])
        want = {p["key"]: p["value"] for p in q.answer["parts"]}
        for dtype in ("float32", "float16"):
            keras.config.set_dtype_policy(dtype)
            try:
                (key, dims), = q.spec["input"].items()
                model = keras.Sequential([keras.Input(**{key: tuple(dims)}),
                                          *[checker.build_layer(obj) for obj in q.spec["layers"]]])
                lines: list[str] = []
                model.summary(print_fn=lambda text, line_break=True, out=lines: out.append(text))
            finally:
                keras.config.set_dtype_policy("float32")
            printed = re.search(r"Total params: ([\d,]+) \(([^)]*)\)", "\n".join(lines))
            assert printed.groups() == (f"{want['total']:,}", want[dtype]), (dtype, printed.groups())
            assert {str(w.dtype) for w in model.weights} == {dtype}


# ---------------------------------------------------------------- the slips of the new layers

def test_named_slips_of_the_new_layers():
    """Each slip's wrong value, computed by hand for a textbook model."""
    # a transformer block: d = 128, H = 4, key_dim = 32 (d/H)
    spec = {"inputs": [{"name": "x", "shape": [10, 128]}],
            "layers": [{"name": "mha", "type": "MultiHeadAttention", "num_heads": 4, "key_dim": 32, "call": ["x", "x"]},
                       {"name": "ln", "type": "LayerNormalization", "call": ["mha"]}],
            "outputs": ["ln"]}
    answer = {"type": "parts", "parts": [{"key": "mha", "type": "count", "value": 66048, "label": {}},
                                          {"key": "total", "type": "count", "value": 66304, "label": {}}]}
    table = diagnose_table("transformer", "split", spec, answer)
    assert table["mha"] == {3 * 4 * 32 * 129: "mha_no_output",         # no output projection
                            3 * 32 * 129 + 4 * 32 * 128 + 128: "mha_one_head",  # one head's projections
                            3 * 4 * 32 * 128 + 4 * 32 * 128: "no_bias",
                            3 * 4 * 8 * 129 + 4 * 8 * 128 + 128: "mha_key_dim_split"}  # 32 split over 4 heads
    assert table["total"][66048 + 4 * 128] == "ln_moving_stats@2:LayerNormalization"
    # key_dim = d: PyTorch's MultiheadAttention(d, H), 4d(d+1), is the split slip
    spec["layers"][0]["key_dim"] = 128
    right = 3 * 4 * 128 * 129 + 4 * 128 * 128 + 128
    answer["parts"][0]["value"], answer["parts"][1]["value"] = right, right + 256
    assert diagnose_table("transformer", "full", spec, answer)["mha"][4 * 128 * 129] == "mha_key_dim_split"

    # an image CNN: Conv2D without its input channels, a pool stride taken as 1, Flatten without channels
    cnn = {"input": {"shape": [28, 28, 3]}, "layers": [
        {"type": "Conv2D", "filters": 32, "kernel_size": 3}, {"type": "MaxPooling2D"},
        {"type": "Conv2D", "filters": 64, "kernel_size": 3, "strides": 2}, {"type": "Flatten"},
        {"type": "Dense", "units": 10}]}
    sol = solve_raw(cnn)
    parts = [{"key": f"L{r.index}.shape", "type": "shape", "value": list(r.output_shape), "label": {}}
             for r in sol.layers[:4]] + [{"key": "total", "type": "count", "value": sol.total_params, "label": {}}]
    table = diagnose_table("cnn", "listing", cnn, {"type": "parts", "parts": parts})
    assert table["L2.shape"][(None, 25, 25, 32)] == "pool_stride_one"            # 26 − 2 + 1
    assert table["L3.shape"][(None, 11, 11, 64)] == "conv_stride_ignored"        # 13 − 3 + 1
    assert table["L3.shape"][(None, 7, 7, 64)] == "conv_padding_swapped"         # ceil(13 / 2)
    assert table["L4.shape"][(None, 36)] == "flatten_no_channels"                # 6 × 6 × 64 = 2304
    conv1, conv2 = 3 * 3 * 3 * 32 + 32, 3 * 3 * 32 * 64 + 64
    dense = 2304 * 10 + 10
    slips = {v: k for k, v in table["total"].items()}
    assert slips["conv_no_channels"] == 3 * 3 * 32 + 32 + 3 * 3 * 64 + 64 + dense
    assert sol.total_params == conv1 + conv2 + dense and "adds_seq_len" not in slips  # 28 is no sequence

    # PyTorch's two biases; a reset_after GRU already has them, so it names nothing there
    seq = {"input": {"shape": [30]}, "layers": [{"type": "Embedding", "input_dim": 5000, "output_dim": 100},
                                                 {"type": "LSTM", "units": 128}]}
    graph = {"inputs": [{"name": "x", "shape": [30]}], "layers": [
        {"name": "e", "type": "Embedding", "input_dim": 5000, "output_dim": 100, "call": ["x"]},
        {"name": "r", "type": "LSTM", "units": 128, "call": ["e"]}], "outputs": ["r"]}
    right = 500000 + 4 * 128 * 229
    assert diagnose_table("seq2seq", "words", graph, {"type": "count", "value": right})[None][
        500000 + 4 * 128 * 230] == "pytorch_rnn_biases@2:LSTM"
    graph["layers"][1]["type"] = "GRU"
    gru = diagnose_table("seq2seq", "words", graph, {"type": "count", "value": 500000 + 3 * 128 * 230})[None]
    assert "pytorch_rnn_biases" not in {parse_slip(ref).slip for ref in gru.values()}
    # ...and the first kinds never name the later slips, whatever the layer families know now
    first = diagnose_table("total-params", "checkquiz", seq, {"type": "count", "value": right})[None]
    assert 500000 + 4 * 128 * 230 not in first


def test_return_state_slips_of_each_tensor():
    q = next(q for seed in range(200) for q in [generate_question(seed, 1, "return-state", None, "hard")]
             if [p["key"] for p in q.answer["parts"]][1:] == ["forward_h", "forward_c", "backward_h", "backward_c",
                                                              "state_h", "state_c"]
             and q.spec["inputs"][0].get("shape", [None])[0])
    parts = {p["key"]: p["value"] for p in q.answer["parts"]}
    tables = diagnose_table(q.kind, q.template, q.spec, q.answer)
    batch, units = parts["forward_h"]
    assert tables["forward_h"][(batch, 2 * units)] == "bidi_state_concat"     # a direction's state is units wide
    assert tables["state_c"][(batch, units)] == "bidi_states_not_doubled"      # the joined one is 2×units
    assert tables["backward_c"][tuple(parts["backward_c"][1:])] == "no_batch_axis"
    length = q.spec["inputs"][0]["shape"][0]
    assert tables["forward_c"][(batch, length, units)] == "state_has_time_axis"


def test_memory_slips():
    spec = {"input": {"shape": [30]}, "layers": [{"type": "Embedding", "input_dim": 5000, "output_dim": 100},
                                                  {"type": "SimpleRNN", "units": 128},
                                                  {"type": "Dense", "units": 1}]}
    parts = [{"key": "total", "type": "count", "value": 529441, "label": {}},
             {"key": "float32", "type": "memory", "value": "2.02 MB", "label": {}},
             {"key": "float16", "type": "memory", "value": "1.01 MB", "label": {}}]
    tables = diagnose_table("memory", "model", spec, {"type": "parts", "parts": parts})
    assert tables["float32"] == {"2.12 MB": "memory_decimal_units",  # 2,117,764 / 1000²
                                 "16.16 MB": "memory_bits", "1.01 MB": "memory_dtype_size",
                                 "517.03 KB": "memory_one_byte", "2068.13 KB": "memory_unit_step"}
    assert tables["float16"]["2.02 MB"] == "memory_dtype_size"
    # every slip figure is one a student can type, read back as itself (not a right answer in disguise)
    for seed in range(30):
        q = generate_question(seed, 1, "memory", None, DIFFICULTIES[seed % 3])
        for key, table in diagnose_table(q.kind, q.template, q.spec, q.answer).items():
            if key != "total":
                assert all(parse_memory(v) == v for v in table), table


@pytest.mark.parametrize("text,value", [
    ("4.82 KB", "4.82 KB"), ("4.82KB", "4.82 KB"), ("(4.82 KB)", "4.82 KB"), ("4.82 kib", "4.82 KB"),
    ("4936 B", "4.82 KB"), ("4,936 bytes", "4.82 KB"), ("4936 바이트", "4.82 KB"), ("4.8 KB", "4.80 KB"),
    ("936.00 B", "936.00 B"), ("2048.00 B", "2.00 KB"), ("１.５ MB", "1.50 MB"), ("12 MB", "12.00 MB"),
])
def test_memory_answers_are_read_as_keras_prints_them(text, value):
    assert parse_memory(text) == value


@pytest.mark.parametrize("text,message", [
    ("4.82", "no unit"), ("4,82 KB", "decimal point"), ("4.825 KB", "more than two decimals"),
    ("-1 KB", "negative"), ("4.82 XB", "unknown unit"), ("NaN KB", "not a memory figure"),
    ("1e3 B", "not a memory figure"), ("", "empty"), ("4. KB", "decimal point"), ("(4.82 KB", "not a memory"),
])
def test_bad_memory_answers_are_refused_with_the_reason(text, message):
    with pytest.raises(AnswerError, match=message):
        parse_memory(text)


# ---------------------------------------------------------------- through the command line

def _text(value) -> str:
    """A stored answer value (JSON) as a student types it."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return format_shape(tuple(value))
    return f"{value:,}"


def test_generate_submit_grade_status_name_each_slip(tmp_path):
    """The real CLI: a quiz of every later kind confirmed by Keras, one student's right answers
    full marks, and every slip stored in the key, submitted, named by the grader."""
    pytest.importorskip("tensorflow")
    db, roster = tmp_path / "zoo.db", tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    run = lambda *args: CliRunner().invoke(cli, ["--db", str(db), *args])  # noqa: E731
    tokens = {t["id"]: t["token"] for t in json.loads(run("roster", "import", str(roster), "--json").stdout)}
    made = run("generate", "--title", "Zoo", "--count", str(len(ZOO_KINDS)), "--seed", "17", "--kind",
               ",".join(ZOO_KINDS), "--students", str(roster), "--difficulty", "hard", "--lang", "en", "--json")
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["status"] == "ready"  # confirmed by real Keras
    quiz = str(json.loads(made.stdout)["id"])

    key = json.loads(run("key", quiz, "--student", "20260001", "--json").stdout)["answers"]
    assert [a["kind"] for a in key] == list(ZOO_KINDS)
    args = [x for k, v in right_answers(key).items() for x in ("--answer", f"{k}={v}")]
    assert run("submit", "--allow-blank", quiz, "--student", "20260001", "--token", tokens["20260001"],
               *args).exit_code == 0

    # every (question, part, slip) stored for student 2, one slip per question and attempt
    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT q.slot, q.answer, q.slips FROM questions q JOIN variants v ON q.variant_id = v.id "
        "JOIN students s ON v.student_id = s.id WHERE s.external_id = '20260002' ORDER BY q.slot"
    ).fetchall()
    con.close()
    todo: dict[int, list[tuple[str | None, str, str]]] = {}
    for slot, answer, slips in rows:
        answer, slips = json.loads(answer), json.loads(slips)
        for part, table in slips.items():
            for value, slip in table.items():
                todo.setdefault(slot, []).append((part or None, json.loads(value), slip))
    assert set(todo) == set(range(1, len(ZOO_KINDS) + 1))  # every kind names slips
    answers = {slot: json.loads(answer) for slot, answer, _ in rows}
    attempts = max(len(v) for v in todo.values())
    expected = []  # (attempt, slot, part, slip)
    for attempt in range(attempts):
        args = []
        for slot, items in todo.items():
            part, value, slip = items[attempt % len(items)]
            expected.append((attempt + 1, slot, part, slip))
            answer = answers[slot]
            if answer["type"] == "parts":  # the slipped part, every other part right
                for n, p in enumerate(answer["parts"], start=1):
                    args += ["--answer", f"{slot}.{n}={_text(value if p['key'] == part else p['value'])}"]
            else:
                args += ["--answer", f"{slot}={_text(value)}"]
        done = run("submit", "--allow-blank", quiz, "--student", "20260002", "--token", tokens["20260002"], *args)
        assert done.exit_code == 0, done.output
    assert run("grade", quiz).exit_code == 0

    con = sqlite3.connect(db)
    graded = con.execute("SELECT s.attempt, q.slot, g.misconception, g.details, g.score, g.max_score FROM grades g "
                         "JOIN submissions s ON g.submission_id = s.id JOIN questions q ON s.question_id = q.id "
                         "JOIN students st ON s.student_id = st.id WHERE st.external_id = ?", ("20260002",)).fetchall()
    right = con.execute("SELECT sum(g.score), sum(g.max_score) FROM grades g JOIN submissions s ON "
                        "g.submission_id = s.id JOIN students st ON s.student_id = st.id WHERE st.external_id = ?",
                        ("20260001",)).fetchone()
    con.close()
    assert right[0] == right[1] == sum(a["points"] for a in key)
    by = {
        (attempt, slot): (slip, json.loads(details), score, top) for attempt, slot, slip, details, score, top in graded
    }
    for attempt, slot, part, slip in expected:
        named, details, score, top = by[(attempt, slot)]
        assert named == slip and score < top, (slot, part, slip, named)
        if part is not None:
            assert details["parts"][part] == {"correct": False, "misconception": slip}
            assert sum(p["correct"] for p in details["parts"].values()) == len(details["parts"]) - 1

    status = run("status", quiz, "--student", "20260002", "--token", tokens["20260002"])
    last = {slot: slip for attempt, slot, _, slip in expected if attempt == attempts}
    assert status.exit_code == 0 and all(slip_feedback(slip, "en") in status.output for slip in last.values())
    shown = json.loads(run("status", quiz, "--student", "20260002", "--token", tokens["20260002"], "--json").stdout)
    assert {q["slot"]: q["misconception"] for q in shown["questions"]} == last


def test_a_refused_memory_answer_is_one_line_and_uses_no_attempt(tmp_path):
    db, roster = tmp_path / "m.db", tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    run = lambda *args: CliRunner().invoke(cli, ["--db", str(db), *args])  # noqa: E731
    tokens = {t["id"]: t["token"] for t in json.loads(run("roster", "import", str(roster), "--json").stdout)}
    assert run("generate", "--title", "M", "--count", "1", "--seed", "3", "--kind", "memory", "--students",
               str(roster), "--no-verify").exit_code == 0
    out = run("submit", "--allow-blank", "1", "--student", "20260001", "--token", tokens["20260001"], "--answer",
              "1.2=4,82 KB")
    assert out.exit_code == 1 and out.output.count("\n") == 1 and "소수점을 쓰고" in out.output  # a Korean quiz
    status = json.loads(run("status", "1", "--student", "20260001", "--token", tokens["20260001"], "--json").stdout)
    assert status["attempts"] == []


def test_stored_keys_are_the_fresh_ones():
    for kind in ZOO_KINDS:
        for seed in range(6):
            q = generate_question(seed, 1, kind, None, "hard")
            assert grading_key(q.kind, q.spec, q.answer, q.solution) == grading_key(q.kind, q.spec, q.answer)
