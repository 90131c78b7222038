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
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from quizgen.nn.solver import clear_cache, solve_raw  # noqa: E402
from tests.graph_specs import random_graph, textbook_graphs  # noqa: E402


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


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
    best = cold
    for _ in range(5):
        t = time.perf_counter()
        for s in specs:
            solve_raw(s)
        best = min(best, time.perf_counter() - t)
    rate = n / best
    print(f"analytic solving: {n:,} distinct 10-layer textbook graph specs, best of 5: {best:.3f} s "
          f"= {rate:,.0f} specs/s (aim >= 20,000: {rate / 20000:.2f}x); first pass from empty caches "
          f"{n / cold:,.0f} specs/s")
    import random

    rng = random.Random(5)
    mixed = []
    while len(mixed) < n // 4:
        g = random_graph(rng, 10, bad_rate=0)
        if len(g["layers"]) == 10:
            mixed.append(g)
    best_mixed = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for s in mixed:
            try:
                solve_raw(s)
            except Exception:
                pass
        best_mixed = min(best_mixed, time.perf_counter() - t)
    print(f"  (random 10-layer graphs over every layer kind, mostly distinct layers: "
          f"{len(mixed) / best_mixed:,.0f} specs/s)")
    return best / n


def bench_keras(n: int, n_memory: int, per_spec_analytic: float) -> None:
    from quizgen.nn.keras_check import KerasChecker, versions

    t = time.perf_counter()
    naive = KerasChecker(naive=True)
    print(f"Keras {versions()['keras']} / TensorFlow {versions()['tensorflow']} import: {time.perf_counter() - t:.2f} s")
    for spec in textbook_graphs(10, seed=99):  # warm up both paths (imports, first traces)
        naive.check(spec)
        KerasChecker().check(spec)

    specs = textbook_graphs(n, seed=2)
    gc.collect()
    t = time.perf_counter()
    slow = [naive.check(s) for s in specs]
    naive_s = time.perf_counter() - t

    fast_checker = KerasChecker()
    gc.collect()
    t = time.perf_counter()
    fast = [fast_checker.check(s) for s in specs]
    fast_s = time.perf_counter() - t
    same = all(a.agree == b.agree and a.observed == b.observed and (a.keras_error is None) == (b.keras_error is None)
               for a, b in zip(slow, fast))
    agree = sum(v.agree for v in fast)
    print(f"Keras confirmation of {n:,} distinct graph specs: naive {naive_s:.1f} s ({naive_s / n * 1000:.1f} ms/spec, "
          f"a functional keras.Model each), memoised {fast_s:.1f} s ({fast_s / n * 1000:.2f} ms/spec, "
          f"{fast_checker.builds:,} layer builds, {fast_checker.probes:,} forward-pass probes): "
          f"{naive_s / fast_s:.1f}x faster (aim >= 5x); identical verdicts: {same}; "
          f"solver agrees with Keras on {agree}/{n}")
    per_spec_keras = naive_s / n
    print(f"analytic vs building the functional model in Keras: {per_spec_keras * 1e3:.1f} ms vs "
          f"{per_spec_analytic * 1e6:.1f} us per spec = {per_spec_keras / per_spec_analytic:,.0f}x (aim >= 1,000x)")

    gc.collect()
    checker = KerasChecker()
    more = textbook_graphs(n_memory, seed=3)
    before = rss_mb()
    mid = before
    for i, s in enumerate(more, 1):
        checker.check(s)
        if i == n_memory // 2:
            mid = rss_mb()
    gc.collect()
    after = rss_mb()
    print(f"memory over {n_memory:,} graph confirmations: RSS {before:.0f} -> {mid:.0f} (halfway) -> {after:.0f} MB, "
          f"growth {after - before:.0f} MB (limit 300 MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    per_spec = bench_analytic(20000 // scale)
    bench_keras(500 // scale, 2000 // scale, per_spec)


if __name__ == "__main__":
    main()
