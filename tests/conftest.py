"""Shared fixtures: one Keras checker per test session (TensorFlow starts once)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # as keras_check sets it (TensorFlow may be imported first here)

# The student's commands speak the locale's language until a quiz says its own: tests
# start from an English locale (a test that wants Korean sets LANG=ko_KR.UTF-8 itself).
for _name in ("LC_ALL", "LC_MESSAGES", "LANG"):
    if os.environ.get(_name, "").lower().startswith("ko"):
        os.environ[_name] = "C.UTF-8"

# The client-side fixtures (home, listener) are a plugin, so test modules need not import them.
pytest_plugins = ["tests.clientside"]

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")

# Hypothesis draws the same examples on every run (`make test`, CI), so a run's result
# depends on the code, not on the draw; HYPOTHESIS_PROFILE=explore draws new ones (how
# the Canvas row of semicolons was found) and prints the seed of any failure.
from hypothesis import settings as _hypothesis  # noqa: E402

_hypothesis.register_profile("repeatable", derandomize=True)
_hypothesis.register_profile("explore", derandomize=False, print_blob=True)
_hypothesis.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


@pytest.fixture(scope="session")
def checker():
    pytest.importorskip("tensorflow", reason="TensorFlow is not installed (pip install quizgen[keras])")
    from quizgen.nn.keras_check import KerasChecker

    return KerasChecker()


@pytest.fixture(scope="session")
def naive_checker():
    pytest.importorskip("tensorflow", reason="TensorFlow is not installed (pip install quizgen[keras])")
    from quizgen.nn.keras_check import KerasChecker

    return KerasChecker(naive=True)


@pytest.fixture(scope="session")
def pg_server():
    from .pgserver import PgServer, server_bin

    if server_bin() is None:
        pytest.skip("PostgreSQL server binaries are not installed (Debian package 'postgresql'; .ci/run installs it)")
    pytest.importorskip("psycopg", reason="psycopg 3 is not installed (pip install quizgen[postgres])")
    server = PgServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty database: a SQLite file, then a database on the test PostgreSQL server."""
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    return request.getfixturevalue("pg_server").new_database()


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium through Playwright (tests/browser.py); skips without it.
    One per test module: closed when the module's tests end, so it takes no memory or
    CPU from the timing-sensitive tests that run later."""
    from .browser import launched_browser

    yield from launched_browser()
