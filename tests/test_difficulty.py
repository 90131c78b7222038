"""Difficulty that means something, and draws that never hide a slip (issue #19 item 2).

Before issue #19, over 6 seeds, weight-shapes was byte-identical at every level for all 6
seeds, trainable-split for 5 of 6, output-shape the same at medium and hard for 5 of 6. Now
every kind asks a different question at every level for every seed, even with the numbers
masked, and every variant the product draws keeps each slip it names apart from the right
answer and from every other slip."""

from __future__ import annotations

import re

import pytest

from quizgen.grading.misconceptions import offered_slips, slips_apart
from quizgen.questions.catalog import DIFFICULTIES, KINDS
from quizgen.questions.generator import generate_question

SEEDS = range(6)


def _masked(text: str) -> str:
    return re.sub(r"\d[\d,]*", "#", text)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_asks_something_else_at_each_level(kind):
    for seed in SEEDS:
        prompts = {d: generate_question(seed, 1, kind, "20260001", d, langs=("en",)).prompt["en"]
                   for d in DIFFICULTIES}
        shapes = {_masked(p) for p in prompts.values()}
        assert len(shapes) == 3, (kind, seed)  # not only other numbers: another question


@pytest.mark.parametrize("kind", KINDS)
def test_every_drawn_variant_tells_its_named_slips_apart(kind):
    if kind == "inverse":
        pytest.skip("inverse questions name no slips (the answer is a size, not a count)")
    for difficulty in DIFFICULTIES:
        for seed in range(8):
            q = generate_question(seed, 2, kind, f"s{seed}", difficulty, keep_apart=slips_apart)
            assert slips_apart(kind, q.answer, q.solution), (kind, difficulty, seed)
            keys = [p["key"] for p in q.answer["parts"]] if q.answer["type"] == "parts" else [None]
            named = set()
            for key in keys:
                named |= set(offered_slips(kind, q.answer, q.solution, key)[1])
            assert named, (kind, difficulty, seed)  # and it names some


def test_weight_shapes_never_draw_an_input_as_wide_as_the_hidden_state():
    """Issue #21 item 7: with input_dim = hidden_units the transposed kernel is invisible."""
    for seed in range(60):
        for difficulty in DIFFICULTIES:
            t, d, h = generate_question(seed, 1, "weight-shapes", str(seed), difficulty).answer["sizes"]
            assert len({t, d, h}) == 3


def test_easy_models_use_round_textbook_sizes_and_stacks_narrow():
    for seed in range(30):
        easy = generate_question(seed, 1, "total-params", "s", "easy").spec
        emb, rnn, dense = easy["layers"]
        assert (emb["input_dim"], emb["output_dim"], rnn["units"]) in {
            (v, e, h) for v in (1000, 5000, 10000) for e in (32, 64, 100, 128) for h in (32, 64, 128)}
        assert rnn["type"] == "SimpleRNN" and dense["units"] == 1
        hard = generate_question(seed, 1, "total-params", "s", "hard").spec
        units = [layer.get("layer", layer)["units"] for layer in hard["layers"]
                 if layer.get("layer", layer)["type"] in ("SimpleRNN", "LSTM", "GRU")]
        assert units == sorted(units, reverse=True) and len(set(units)) == len(units)
        emb = hard["layers"][0]
        assert emb["output_dim"] * 10 <= emb["input_dim"] and all(emb["output_dim"] <= 4 * u for u in units[:1])
