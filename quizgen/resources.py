"""Where the bundled data and migration scripts live, installed or in a checkout.

A wheel carries ``data/`` and ``migrations/`` inside the package (``quizgen/_data``,
``quizgen/_migrations``, mapped by pyproject's force-include); an editable install or
a plain checkout reads the top-level folders instead.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
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


def locale_language() -> str:
    """The language of the user's locale, for what is said before a quiz (whose language
    rules its screens) is known: the first of LC_ALL, LC_MESSAGES and LANG that is set,
    as POSIX orders them; Korean for ``ko_KR.UTF-8`` and any other ``ko`` locale, else English."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return "ko" if value.lower().startswith("ko") else "en"
    return "en"


@dataclass(frozen=True)
class Phrase:
    """A sentence of data/messages.json not yet said: its key and values (a value may be
    another Phrase), said in a language when it is shown. An error holds one, so the
    language can be decided where the quiz's is known, not where the error began."""

    key: str
    values: tuple[tuple[str, object], ...] = ()

    def say(self, lang: str) -> str:
        return message(lang, self.key, **{k: v.say(lang) if isinstance(v, Phrase) else v for k, v in self.values})

    def to_json(self) -> dict[str, object]:
        return {"key": self.key, "values": {k: v.to_json() if isinstance(v, Phrase) else v for k, v in self.values}}

    @staticmethod
    def from_json(data: object) -> Phrase | None:
        """A phrase written by to_json (None: not one, or one this quizgen has no wording for)."""
        if not isinstance(data, dict) or not isinstance(data.get("key"), str) or data["key"] not in \
                load_json("messages.json")["en"] or not isinstance(data.get("values"), dict):
            return None
        values = []
        for k, v in data["values"].items():
            inner = Phrase.from_json(v) if isinstance(v, dict) else v
            if inner is None or not isinstance(k, str):
                return None
            values.append((k, inner))
        return Phrase(data["key"], tuple(values))


def phrase(key: str, /, **values: object) -> Phrase:
    """A Phrase of ``key`` with these values."""
    return Phrase(key, tuple(values.items()))
