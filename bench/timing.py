"""Timings the solver benchmarks share: the best of several passes of the analytic
solver over the same specs, and Keras confirmation (a naive checker, one keras model per
spec, against the memoised one on the same distinct specs; the analytic solver's ratio to
Keras; RSS over a long run of confirmations).

bench_solver.py (Sequential specs) and bench_graph.py (graph specs) differ only in the
specs they hand over and in the words they print."""

from __future__ import annotations

import gc
import time
from collections.abc import Sequence
from typing import Any


def best_pass(specs: Sequence[Any], passes: int) -> float:
    """The fastest of ``passes`` runs of the analytic solver over ``specs`` (s); a spec the
    solver refuses counts as solved (refusing is its answer)."""
    from quizgen.errors import SpecError
    from quizgen.nn.solver import solve_raw

    best = float("inf")
    for _ in range(passes):
        t = time.perf_counter()
        for spec in specs:
            try:
                solve_raw(spec)
            except SpecError:
                pass
        best = min(best, time.perf_counter() - t)
    return best


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def bench_keras(warm: Sequence[Any], specs: Sequence[Any], more: Sequence[Any], per_spec_analytic: float,
                what: str = "specs", built: str = "the Keras model") -> None:
    """Print the naive/memoised ratio (aim >= 5x), analytic vs Keras (aim >= 1,000x) and RSS
    growth over ``more`` (limit 300 MB). ``warm`` specs take the imports and first traces."""
    from quizgen.nn.keras_check import KerasChecker, versions

    t = time.perf_counter()
    naive = KerasChecker(naive=True)
    print(
        f"Keras {versions()['keras']} / TensorFlow {versions()['tensorflow']} import: {time.perf_counter() - t:.2f} s"
    )
    for spec in warm:  # warm up both paths
        naive.check(spec)
        KerasChecker().check(spec)

    n = len(specs)
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
    print(f"Keras confirmation of {n:,} distinct {what}: naive {naive_s:.1f} s ({naive_s / n * 1000:.1f} ms/spec, "
          f"{built} each), memoised {fast_s:.1f} s ({fast_s / n * 1000:.2f} ms/spec, "
          f"{fast_checker.builds:,} layer builds, {fast_checker.probes:,} forward-pass probes): "
          f"{naive_s / fast_s:.1f}x faster (aim >= 5x); identical verdicts: {same}; "
          f"solver agrees with Keras on {agree}/{n}")
    per_spec_keras = naive_s / n
    print(f"analytic vs building {built}: {per_spec_keras * 1e3:.1f} ms vs "
          f"{per_spec_analytic * 1e6:.1f} us per spec = {per_spec_keras / per_spec_analytic:,.0f}x (aim >= 1,000x)")

    gc.collect()
    checker = KerasChecker()
    before = mid = rss_mb()
    for i, s in enumerate(more, 1):
        checker.check(s)
        if i == len(more) // 2:
            mid = rss_mb()
    gc.collect()
    after = rss_mb()
    print(f"memory over {len(more):,} confirmations of {what}: RSS {before:.0f} -> {mid:.0f} (halfway) -> "
          f"{after:.0f} MB, growth {after - before:.0f} MB (limit 300 MB)")
