"""axe-core (Deque's accessibility engine, the npm package ``axe-core``) run inside a
real Chromium page through Playwright: WCAG 2.0/2.1/2.2 A and AA rules.

The package is installed from the npm registry with npm, once, into a cache folder
(``make test`` does it first; a test that finds it missing installs it, or is skipped
saying why when npm is not there). Its script is injected into the page under test;
the pages forbid every script (Content-Security-Policy), so the audit runs in a
browser context made with ``bypass_csp=True``, used for nothing else.

    python -m tests.axe     # install it (what the Makefile runs)
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

AXE_VERSION = "4.14.1"
CACHE = Path(os.environ.get("QUIZGEN_AXE_DIR") or Path.home() / ".cache" / "quizgen-tests" / f"axe-core-{AXE_VERSION}")
SCRIPT = CACHE / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def install() -> Path:
    """axe.min.js, installed with npm when it is not there yet."""
    if SCRIPT.is_file():
        return SCRIPT
    npm = shutil.which("npm")
    if npm is None:
        raise FileNotFoundError("npm is not installed (Debian package 'npm'), so axe-core cannot be installed")
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run([npm, "install", "--prefix", str(CACHE), "--no-audit", "--no-fund", "--no-save",
                    f"axe-core@{AXE_VERSION}"], check=True, capture_output=True, text=True, timeout=300)
    return SCRIPT


def axe_script() -> str:
    """The engine's source; the test is skipped (saying why) when it cannot be had."""
    try:
        return install().read_text(encoding="utf-8")
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"axe-core {AXE_VERSION} could not be installed from npm: {exc}")


def audit(page: Any, script: str) -> list[dict[str, Any]]:
    """The WCAG A/AA violations axe finds in ``page`` as it stands (a page of a context
    made with ``bypass_csp=True``), each with its rule, impact and offending elements."""
    page.add_script_tag(content=script)
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, "
                           "resultTypes: ['violations']})", TAGS)
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["html"][:200] for n in v["nodes"]][:5]} for v in result["violations"]]


if __name__ == "__main__":
    print(install())
