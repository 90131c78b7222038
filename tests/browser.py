"""A real headless browser for tests: Debian's Chromium driven by Playwright.

Playwright never downloads a browser here (it cannot: the machine reaches package
registries only); it drives the system's ``/usr/bin/chromium``, which ``.ci/run``
installs. Without it, tests that need a browser are skipped, saying why.

Use the ``browser`` fixture (session-wide, from conftest) for a ``playwright``
Browser, or ``open_page(browser, url)`` for a page of a fixed size::

    def test_page(browser, tmp_path):
        page, logged = open_page(browser, path.as_uri())
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("QUIZGEN_TEST_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--no-first-run", "--disable-sync"]


def chromium_path() -> str | None:
    """The system Chromium, or None when it is not installed."""
    path = CHROMIUM if Path(CHROMIUM).is_file() else shutil.which("chromium")
    return path if path and os.access(path, os.X_OK) else None


def launched_browser() -> Iterator[Any]:
    """A Playwright Browser on the system Chromium, closed afterwards; the test is
    skipped when Chromium or the playwright package is missing."""
    path = chromium_path()
    if path is None:
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (Debian package 'chromium'; .ci/run installs it)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install quizgen[test])"
    )
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser: Any, url: str, width: int = 1280, height: int = 900) -> tuple[Any, list[str]]:
    """A new page of ``width``×``height`` CSS pixels, loaded from ``url``, and the list that
    collects what it logs to the console and every uncaught page error, as they come."""
    page = browser.new_page(viewport={"width": width, "height": height})
    logged: list[str] = []
    page.on("console", lambda message: logged.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: logged.append(f"pageerror: {error}"))
    page.goto(url, wait_until="load")
    return page, logged
