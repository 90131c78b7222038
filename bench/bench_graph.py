"""Benchmarks for issue #10: graph (functional) specs, solved analytically and confirmed by Keras.

Prints figures and ratios against the aims; it does not assert (timed tests are
flaky on a shared 2-core machine). The specs are the textbook's functional models
(seq2seq with attention, text CNN, Bi-LSTM with attention, a transformer encoder
block, an MNIST CNN; tests/graph_specs.py), 10 layers each, with sizes drawn from
textbook lists, every spec distinct. Run with ``.venv/bin/python bench/bench_graph.py
[--quick]``.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from timing import bench_keras, best_pass  # noqa: E402

from quizgen.nn.solver import clear_cache, solve_raw  # noqa: E402
from tests.graph_specs import random_graph, textbook_graphs  # noqa: E402


def bench_analytic(n: int) -> float:
    """n distinct textbook graphs: the first pass from empty caches, then the best of 5
    (as bench_solver.py measures Sequential specs)."""
    specs = textbook_graphs(n, seed=1)
    assert all(len(s["layers"]) == 10 for s in specs)
    clear_cache()
    gc.collect()
    t = time.perf_counter()
    for s in specs:
        solve_raw(s)
    cold = time.perf_counter() - t
    best = min(cold, best_pass(specs, 5))
    rate = n / best
    print(f"analytic solving: {n:,} distinct 10-layer textbook graph specs, best of 5: {best:.3f} s "
          f"= {rate:,.0f} specs/s (aim >= 20,000: {rate / 20000:.2f}x); first pass from empty caches "
          f"{n / cold:,.0f} specs/s")
    import random

    rng = random.Random(5)
    mixed: list[dict] = []
    while len(mixed) < n // 4:
        g = random_graph(rng, 10, bad_rate=0)
        if len(g["layers"]) == 10:
            mixed.append(g)
    best_mixed = best_pass(mixed, 3)
    print(f"  (random 10-layer graphs over every layer kind, mostly distinct layers: "
          f"{len(mixed) / best_mixed:,.0f} specs/s)")
    return best / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a twentieth of the sizes, for a smoke run (seconds)")
    args = parser.parse_args()
    scale = 20 if args.quick else 1
    per_spec = bench_analytic(20000 // scale)
    bench_keras(textbook_graphs(3 if args.quick else 10, seed=99), textbook_graphs(500 // scale, seed=2),
                textbook_graphs(2000 // scale, seed=3), per_spec, "graph specs", "a functional keras.Model")


if __name__ == "__main__":
    main()
