"""Fuzz for issue #18: seeded random functional graphs (and the Sequential chains among them),
each solved by quizgen and built as a whole ``keras.Model`` by the installed Keras, which
reads its own ``model.layers`` order, shapes and trainable / non-trainable counts.

Counts, by spec: agreements (same answer, or both refuse), wrong answers (both build it,
some row differs: shape, count or position), false accepts (quizgen answers, Keras cannot
build or run it), false rejects (quizgen refuses what Keras builds and runs). The aim is
0 wrong answers and 0 false accepts. The graphs come from tests/graph_specs.py (every
layer family and option quizgen knows, masks, frozen layers, layers nothing uses, some
proposals Keras must refuse). Prints the first few disagreements in full.

    .venv/bin/python bench/bench_graph_fuzz.py [--quick] [--n N] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.graph_specs import as_sequential, random_graph, random_masked_graph  # noqa: E402


def classify(verdict: Any) -> str:
    if verdict.agree:
        return "agree"
    if verdict.solver_error and not verdict.keras_error:
        return "false reject"
    if verdict.keras_error and not verdict.solver_error:
        return "false accept"
    return "wrong"


def fuzz(n: int, seed: int, n_layers: int = 10,
         masked: bool = False) -> tuple[Counter[str], list[tuple[str, dict, str]]]:
    """``masked``: graphs where masks branch and merge (tests/graph_specs.random_masked_graph)."""
    from quizgen.nn.keras_check import KerasChecker

    checker = KerasChecker(naive=True)
    rng = random.Random(seed)
    counts: Counter[str] = Counter()
    bad: list[tuple[str, dict, str]] = []
    for _ in range(n):
        graph = random_masked_graph(rng) if masked else random_graph(rng, n_layers=n_layers)
        for spec in (graph, as_sequential(graph)):
            if spec is None:
                continue
            verdict = checker.check(spec)
            outcome = classify(verdict)
            counts[outcome] += 1
            counts["specs"] += 1
            if outcome == "agree":
                counts["both refuse" if verdict.keras_error else "both answer"] += 1
            else:
                bad.append((outcome, spec, verdict.describe()))
    return counts, bad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20 graphs, for a smoke run")
    parser.add_argument("--n", type=int, default=400, help="graphs to draw (default 400)")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--masks", type=float, default=None,
                        help="how often an Embedding masks its zeros (default: the generator's 0.15)")
    args = parser.parse_args()
    if args.masks is not None:
        import tests.graph_specs

        tests.graph_specs.MASK_ZERO_RATE = args.masks
    n = 20 if args.quick else args.n
    shown: list[tuple[str, dict, str]] = []
    for label, masked, count in (("random graphs", False, n), ("graphs where masks branch and merge", True, n // 2)):
        t = time.perf_counter()
        counts, bad = fuzz(count, args.seed, masked=masked)
        elapsed = time.perf_counter() - t
        print(f"{count} {label} (seed {args.seed}), {counts['specs']} specs with their Sequential chains, "
              f"each built in Keras ({elapsed:.0f} s): agree {counts['agree']} (both answer "
              f"{counts['both answer']}, both refuse {counts['both refuse']}), wrong {counts['wrong']}, "
              f"false accept {counts['false accept']}, false reject {counts['false reject']} "
              f"(aim: 0 wrong, 0 false accepts)")
        shown += bad
    for outcome, spec, detail in shown[:5]:
        print(f"\n{outcome}: {detail}\n{json.dumps(spec)}")


if __name__ == "__main__":
    main()
