"""Shared fixtures: one Keras checker per test session (TensorFlow starts once)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


@pytest.fixture(scope="session")
def checker():
    pytest.importorskip("tensorflow", reason="TensorFlow is not installed (pip install quizgen[keras])")
    from quizgen.keras_check import KerasChecker

    return KerasChecker()


@pytest.fixture(scope="session")
def naive_checker():
    pytest.importorskip("tensorflow", reason="TensorFlow is not installed (pip install quizgen[keras])")
    from quizgen.keras_check import KerasChecker

    return KerasChecker(naive=True)
