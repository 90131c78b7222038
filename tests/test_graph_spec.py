"""The graph spec contract without Keras: references, call arguments, one-line errors, round trips."""

from __future__ import annotations

import json
import random

import pytest

from quizgen.errors import SpecError
from quizgen.grading.misconceptions import layer_slips
from quizgen.nn.derivation import texts
from quizgen.nn.graph import layout
from quizgen.nn.layers import KINDS
from quizgen.nn.solver import solve, solve_raw
from quizgen.nn.spec import parse_spec
from quizgen.resources import load_json

from .graph_specs import random_graph, textbook_graphs

X = [{"name": "x", "shape": [7, 16]}]
LSTM_STATES = {"name": "enc", "type": "LSTM", "units": 8, "return_state": True, "call": ["x"]}


def _spec(*layers: dict, inputs: list | None = None, outputs: list | str | None = None) -> dict:
    return {"inputs": inputs or X, "layers": list(layers), "outputs": outputs or [layers[-1].get("name", "x")]}


def _dense(name: str = "d", call: list | None = None, **extra) -> dict:
    return {"name": name, "type": "Dense", "units": 2, "call": call if call is not None else ["x"], **extra}


BAD = [
    (
        "unknown reference",
        _spec(_dense(call=["nope"])),
        "layer 'd' (Dense): it is called on 'nope', which is no input or layer",
    ),
    ("own output", _spec(_dense(call=["d"])), "layer 'd' (Dense): it is called on its own output 'd' (a cycle)"),
    (
        "later layer",
        _spec(_dense("a", call=["b"]), _dense("b", call=["a"])),
        "layer 'a' (Dense): it is called on 'b', which is defined later",
    ),
    ("duplicate name", _spec(_dense("d"), _dense("d")), "layer 'd' (Dense): the name 'd' is used twice"),
    ("layer named like the input", _spec(_dense("x")), "the name 'x' is used twice"),
    ("slash in a name", _spec(_dense("a/b")), "layer 1 name 'a/b' cannot contain '/'"),
    ("colon in a name", _spec(_dense("a:1")), "cannot contain ':'"),
    ("missing name", _spec({"type": "Dense", "units": 2, "call": ["x"]}), 'layer 1 needs a "name"'),
    ("missing call", _spec({"name": "d", "type": "Dense", "units": 2}), "layer 'd' (Dense): needs \"call\""),
    ("call not a list", _spec(_dense(call="x")), 'needs "call"'),
    ("too many arguments", _spec(_dense(call=["x", "x"])), "Dense takes at most 1 positional tensor argument"),
    (
        "MultiHeadAttention without value",
        _spec({"name": "m", "type": "MultiHeadAttention", "num_heads": 2, "key_dim": 2, "call": ["x"]}),
        "missing call argument 'value'",
    ),
    ("a list for one tensor", _spec(_dense(call=[["x", "x"]])), "inputs takes one tensor, not a list"),
    (
        "one tensor for a merge layer",
        _spec({"name": "c", "type": "Concatenate", "call": ["x", "x"]}),
        "Concatenate takes at most 1 positional",
    ),
    (
        "one tensor, not a list",
        _spec({"name": "c", "type": "Add", "call": ["x"]}),
        "Add is called on ONE list of tensors",
    ),
    ("an empty list", _spec({"name": "c", "type": "Add", "call": [[]]}), "needs a list of at least 1 tensor"),
    (
        "Attention on four tensors",
        _spec({"name": "a", "type": "Attention", "call": [["x", "x", "x", "x"]]}),
        "Attention is called on a list of 2 to 3 tensors",
    ),
    ("unknown call keyword", _spec(_dense(call_kwargs={"foo": 1})), "unexpected call keyword 'foo'"),
    ("explicit mask", _spec({**LSTM_STATES, "call_kwargs": {"mask": "x"}}), "quizgen does not model explicit masks"),
    (
        "argument given twice",
        _spec({"name": "l", "type": "LSTM", "units": 2, "call": ["x", ["x"]], "call_kwargs": {"initial_state": ["x"]}}),
        "initial_state is given twice",
    ),
    (
        "bad option value",
        _spec(
            {"name": "a", "type": "Attention", "call": [["x", "x"]], "call_kwargs": {"return_attention_scores": "yes"}}
        ),
        "call_kwargs return_attention_scores: expected true or false",
    ),
    (
        "bare name of a multi-output layer",
        _spec(LSTM_STATES, _dense(call=["enc"])),
        "layer 'd' (Dense): 'enc' returns 3 tensors; refer to one of them as 'enc:0' ... 'enc:2'",
    ),
    ("index past the outputs", _spec(LSTM_STATES, _dense(call=["enc:3"])), "'enc:3' does not exist"),
    (
        "index on a single output",
        _spec(_dense("a"), _dense("b", call=["a:0"])),
        "'a' returns one tensor; refer to it as 'a', not 'a:0'",
    ),
    ("malformed reference", _spec(_dense(call=["x:one"])), "'x:one' is not a tensor name"),
    ("bare multi-output as a model output", _spec(LSTM_STATES, outputs=["enc"]), "outputs: 'enc' returns 3 tensors"),
    ("unknown output", _spec(_dense(), outputs=["zzz"]), "outputs: 'zzz' is no input or layer"),
    ("no outputs", {"inputs": X, "layers": [_dense()], "outputs": []}, '"outputs" must name'),
    ("no inputs", {"inputs": [], "layers": [_dense()], "outputs": ["d"]}, '"inputs" must be a non-empty list'),
    (
        "input with both shapes",
        _spec(_dense(), inputs=[{"name": "x", "shape": [3], "batch_shape": [1, 3]}]),
        "input 'x' needs exactly one of",
    ),
    ("input with a bad shape", _spec(_dense(), inputs=[{"name": "x", "shape": [-3]}]), "input 'x': shape must be"),
    (
        "unknown top-level key",
        {"inputs": X, "layers": [_dense()], "outputs": ["d"], "extra": 1},
        "unknown top-level key(s) 'extra'",
    ),
    ("a bad constructor argument", _spec(_dense(units=0)), "layer 'd' (Dense): units: expected a positive integer"),
    (
        "call in a Sequential spec",
        {"input": {"shape": [3]}, "layers": [{"type": "Dense", "units": 2, "call": ["x"]}]},
        "'call' belongs to a graph spec",
    ),
    (
        "outputs in a Sequential spec",
        {"input": {"shape": [3]}, "layers": [{"type": "Dense", "units": 2}], "outputs": []},
        "a graph spec has",
    ),
]


@pytest.mark.parametrize("label,spec,message", BAD, ids=[b[0] for b in BAD])
def test_bad_graphs_give_one_clear_line(label, spec, message):
    with pytest.raises(SpecError) as info:
        solve_raw(spec)
    text = info.value.message
    assert message in text, text
    assert "\n" not in text and len(text) < 300


def test_json_round_trip_keeps_the_solution():
    for spec in textbook_graphs(25, seed=5) + [random_graph(random.Random(i), 8, bad_rate=0) for i in range(40)]:
        try:
            parsed = parse_spec(spec)
            first = solve(parsed)
        except SpecError:
            continue
        again = parse_spec(json.loads(json.dumps(parsed.to_json())))
        assert again.to_json() == parsed.to_json()
        assert solve(again).to_json("en") == first.to_json("en")


def test_multi_output_json_and_connections():
    spec = _spec(LSTM_STATES, {"name": "dec", "type": "LSTM", "units": 8, "call": ["x"],
                               "call_kwargs": {"initial_state": ["enc:1", "enc:2"]}})
    data = solve_raw(spec).to_json("en")
    enc, dec = data["layers"]
    assert enc["output_shape"] == [[None, 8], [None, 8], [None, 8]]
    assert dec["connected_to"] == ["x[0][0]", "enc[0][1]", "enc[0][2]"]
    assert data["total_params"] == 2 * 4 * 8 * (8 + 16 + 1)


def test_layers_nothing_depends_on_are_checked_but_left_out():
    ok = _spec(_dense("used"), _dense("unused", call=["x"]), outputs=["used"])
    assert [r.name for r in solve_raw(ok).layers] == ["used"]
    bad = _spec(_dense("used"), {"name": "broken", "type": "RepeatVector", "n": 2, "call": ["used"]}, outputs=["used"])
    with pytest.raises(SpecError, match="layer 'broken' \\(RepeatVector\\): expects 2-D input"):
        solve_raw(bad)


def test_deep_chains_do_not_exhaust_the_stack():
    layers = [_dense("d0", call=["x"])] + [_dense(f"d{i}", call=[f"d{i - 1}"]) for i in range(1, 1500)]
    solution = solve_raw(_spec(*layers))
    assert [r.name for r in solution.layers] == [f"d{i}" for i in range(1500)]
    assert solution.graph.chain


def test_layout_matches_a_hand_traced_keras_order():
    # Outputs [cat, gap, mha, bi:2]; depth-first from each output, then deepest first.
    spec = parse_spec({"inputs": [{"name": "x", "shape": [7, 16]}, {"name": "unused", "shape": [3]}],
                       "layers": [{"name": "bi", "type": "Bidirectional", "call": ["x"],
                                   "layer": {"type": "LSTM", "units": 8, "return_state": True}},
                                  {"name": "att", "type": "Attention", "call": [["x", "x"]]},
                                  {"name": "mha", "type": "MultiHeadAttention", "num_heads": 2, "key_dim": 4,
                                   "call": ["x", "x"], "call_kwargs": {"key": "x"}},
                                  {"name": "cat", "type": "Concatenate", "call": [["bi:0", "bi:1", "bi:3"]]},
                                  {"name": "gap", "type": "GlobalAveragePooling1D", "call": ["att"]}],
                       "outputs": ["cat", "gap", "mha", "bi:2"]})
    lay = layout(spec)
    assert lay.order == ("x", "bi", "att", "unused", "cat", "gap", "mha")
    assert lay.depth == {"x": 2, "bi": 1, "att": 1, "unused": 0, "cat": 0, "gap": 0, "mha": 0}


def test_every_derivation_note_and_symbol_has_wording_in_both_languages():
    ko, en = texts("ko"), texts("en")
    assert set(ko["notes"]) == set(en["notes"]) and set(ko["symbols"]) == set(en["symbols"])
    rng = random.Random(3)
    specs = textbook_graphs(40, seed=9) + [random_graph(rng, 10) for _ in range(300)]
    seen_types = set()
    for spec in specs:
        try:
            solution = solve_raw(spec)
        except SpecError:
            continue
        for row in solution.layers:
            seen_types.add(row.type)
            for note in row.derivation.notes:
                assert note in ko["notes"], note
            for symbol in row.derivation._strings()[2]:
                assert symbol.meaning in ko["symbols"], symbol.meaning
            row.derivation.to_text("ko"), row.derivation.to_text("en")
    # the string lookups take text inputs, which these generators never make
    assert len(seen_types) >= len(KINDS) - 2 - 4 - 1, sorted(set(KINDS) - seen_types)


def test_new_layer_slips_are_named_in_both_languages():
    words = load_json("misconceptions.json")
    conv = solve_raw({"inputs": [{"name": "img", "shape": [28, 28, 3]}],
                      "layers": [{"name": "c", "type": "Conv2D", "filters": 32, "kernel_size": 3, "call": ["img"]}],
                      "outputs": ["c"]}).layers[0]
    assert conv.params == 3 * 3 * 3 * 32 + 32
    assert layer_slips(conv) == {"no_bias": 3 * 3 * 3 * 32, "conv_no_channels": 3 * 3 * 32 + 32}
    mha = solve_raw({"inputs": [{"name": "x", "shape": [10, 512]}],
                     "layers": [{"name": "m", "type": "MultiHeadAttention", "num_heads": 8, "key_dim": 64,
                                 "call": ["x", "x"]}], "outputs": ["m"]}).layers[0]
    slips = layer_slips(mha)
    assert slips["mha_no_output"] == 3 * (512 * 512 + 512)
    assert slips["mha_one_head"] == 3 * 64 * 513 + 512 * 512 + 512
    for key in (*layer_slips(conv), *slips):
        assert key in words["ko"] and key in words["en"]


def test_a_remembered_layer_is_checked_against_each_spec():
    """Parsed graph layers are remembered by content; reusing one must still check its tensors."""
    layer = {"name": "d", "type": "Dense", "units": 2, "call": ["h"]}
    assert solve_raw({"inputs": [{"name": "h", "shape": [3]}], "layers": [layer], "outputs": ["d"]}).total_params == 8
    with pytest.raises(SpecError, match="it is called on 'h', which is no input or layer"):
        solve_raw({"inputs": [{"name": "x", "shape": [3]}], "layers": [layer], "outputs": ["d"]})
    later = {"inputs": [{"name": "x", "shape": [3]}],
             "layers": [layer, {"name": "h", "type": "Dense", "units": 3, "call": ["x"]}], "outputs": ["d"]}
    with pytest.raises(SpecError, match="which is defined later"):
        solve_raw(later)
