"""Where the bundled data and migration scripts live, installed or in a checkout.

A wheel carries ``data/`` and ``migrations/`` inside the package (``quizgen/_data``,
``quizgen/_migrations``, mapped by pyproject's force-include); an editable install or
a plain checkout reads the top-level folders instead.
"""

from __future__ import annotations

import json
import os
import string
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


class _Words(string.Formatter):
    """``{attempt:ordinal}`` says a number as an ordinal in Korean (``첫 번째``, as a textbook
    prints it) and as the number elsewhere; every other field as str.format would."""

    def __init__(self, lang: str):
        super().__init__()
        self.lang = lang

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec == "ordinal":
            if self.lang != "ko":
                return str(value)
            if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 10:
                value = int(value)  # a number the client read from a server's answer, as text
            if isinstance(value, int) and not isinstance(value, bool):
                from .korean import ordinal

                return ordinal(value)
            return f"{value}번째"
        return super().format_field(value, format_spec)


def message(lang: str, key: str, /, **values: object) -> str:
    """A sentence from data/messages.json in ``lang`` (English when quizgen has no such language).
    A Korean sentence has its two-form particles after values chosen by how each value is
    read (``{answer}은(는)`` after 529,441 is 은; korean.particles)."""
    table = load_json("messages.json")
    said = lang if lang in table else "en"
    text = _Words(said).format(str(table[said][key]), **values)
    if said == "ko":
        from .korean import particles

        text = particles(text)
    return text


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
