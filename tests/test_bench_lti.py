"""bench/bench_lti.py's quick mode runs whole (its figures are printed, never asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_lti_bench_runs_quickly_and_prints_its_ratios():
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_lti.py"), "--quick"], capture_output=True,
                          text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ms server CPU (aim <= 20 ms" in done.stdout and "scores/s (aim >= 200" in done.stdout
    assert "floor" in done.stdout
