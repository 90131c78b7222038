"""Every benchmark runs in its quick mode, so none can rot unnoticed.

The benches are found by name (``bench/bench_*.py``), so one added later is run too:
each must accept ``--quick`` (a run of seconds that still prints its figures and their
ratios to the aims). Only that the bench ran through and printed them is checked, never
a figure: speed is the bench's business, and this machine's speed varies."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHES = sorted((ROOT / "bench").glob("bench_*.py"))
# a figure held against its aim or floor: "3.59x", "(aim >= 5x)", "ratio 1.02", "target >= 20,000"
_RATIO = re.compile(r"\d[\d,.]*x\b|\bratio \d|\b(aim|target)\b")


def test_the_benches_are_found():
    assert len(BENCHES) >= 7, [b.name for b in BENCHES]


@pytest.mark.parametrize("bench", BENCHES, ids=[b.stem for b in BENCHES])
def test_bench_runs_in_its_quick_mode(bench: Path):
    path = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]  # this checkout's quizgen
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path), "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, str(bench), "--quick"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900)  # only catches a hang
    shown = f"exit {done.returncode}\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
    assert done.returncode == 0, shown
    assert "Traceback" not in done.stdout, shown
    assert _RATIO.search(done.stdout), f"printed no figure against its aim\n{shown}"
    print(done.stdout)  # the figures, for whoever runs pytest -s
