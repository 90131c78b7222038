"""An installed (non-editable) wheel works outside the checkout: migrations and data ship inside it."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_installs_and_migrates_outside_the_checkout(tmp_path):
    dist = tmp_path / "dist"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(dist), str(ROOT)], capture_output=True, text=True)
    if build.returncode != 0:  # no hatchling in this environment: build in isolation instead
        build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
                               capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    (wheel,) = dist.glob("quizgen-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "quizgen/_migrations/env.py" in names
    assert any(n.startswith("quizgen/_migrations/versions/0001") for n in names)
    assert "quizgen/_data/templates.json" in names and "quizgen/_data/derivations.json" in names

    target = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                              str(wheel)], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    where = subprocess.run([sys.executable, "-c", "import quizgen, sys; print(quizgen.__file__)"], cwd=work, env=env,
                           capture_output=True, text=True)
    assert where.stdout.startswith(str(target)), where.stdout
    for args in (["init"], ["generate", "--title", "wheel", "--count", "3", "--seed", "1", "--no-verify"],
                 ["show", "1"]):
        out = subprocess.run(
            [sys.executable, "-m", "quizgen", *args], cwd=work, env=env, capture_output=True, text=True
        )
        assert out.returncode == 0, (args, out.stderr)
    assert (work / "quizgen.db").exists()
