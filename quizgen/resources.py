"""Where the bundled data and migration scripts live, installed or in a checkout.

A wheel carries ``data/`` and ``migrations/`` inside the package (``quizgen/_data``,
``quizgen/_migrations``, mapped by pyproject's force-include); an editable install or
a plain checkout reads the top-level folders instead.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parent


def _bundled(inside: str, top: str) -> Path:
    packaged = _PACKAGE / inside
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parent / top


def data_dir() -> Path:
    return _bundled("_data", "data")


def migrations_dir() -> Path:
    return _bundled("_migrations", "migrations")


@cache
def load_json(name: str) -> Any:
    """A JSON file from data/, read once per process."""
    with open(data_dir() / name, encoding="utf-8") as fh:
        return json.load(fh)


def message(lang: str, key: str, /, **values: object) -> str:
    """A sentence from data/messages.json in ``lang`` (English when quizgen has no such language)."""
    table = load_json("messages.json")
    return str(table.get(lang, table["en"])[key]).format(**values)
