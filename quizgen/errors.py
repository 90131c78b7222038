"""Domain exceptions: one class per kind of failure.

The CLI turns every QuizgenError into a single ``Error: ...`` line and a non-zero
exit; anything else escaping the library is a bug, not a user error.
"""

from __future__ import annotations

from typing import Any

from .resources import Phrase, locale_language


def clip(text: str, width: int) -> str:
    """What a user typed, cut to ``width`` characters for a one-line message."""
    return text if len(text) <= width else text[:width - 3] + "..."


class QuizgenError(Exception):
    """Base class for every error a user can cause and fix.

    Its sentence is plain text, or a ``resources.Phrase`` said in ``lang`` when that is
    set (whoever learns the quiz's language stamps it on the way out), else in the
    language of the user's locale; ``lang`` also says which language the CLI's
    ``Error:`` prefix is in (None: English, the instructor's tools)."""

    exit_code = 1
    lang: str | None = None

    def __str__(self) -> str:
        if self.args and isinstance(self.args[0], Phrase):
            return self.args[0].say(self.lang or locale_language())
        return super().__str__()

    @property
    def language(self) -> str | None:
        """The language its sentence is said in (None: plain text, as the instructor's tools say it)."""
        if self.lang is not None:
            return self.lang
        return locale_language() if self.args and isinstance(self.args[0], Phrase) else None

    def speak(self, lang: str) -> Any:
        """Stamp the language it is said in, unless one was stamped already; returns itself."""
        if self.lang is None:
            self.lang = lang
        return self


class SpecError(QuizgenError):
    """An architecture spec that Keras would reject (or quizgen cannot read)."""

    def __init__(self, reason: str, index: int | str | None = None, layer_type: str | None = None):
        # index: a Sequential layer's 1-based position, or a graph layer's quoted name
        self.reason = reason
        self.index = index
        self.layer_type = layer_type
        super().__init__(self.message)

    @property
    def message(self) -> str:
        if self.index is None:
            return self.reason
        where = f"layer {self.index}"
        if self.layer_type:
            where += f" ({self.layer_type})"
        return f"{where}: {self.reason}"


class CodeParseError(QuizgenError):
    """Keras model-building code that quizgen cannot translate into a spec."""


class InputFileError(QuizgenError):
    """A file that cannot be read or decoded."""


class StoreError(QuizgenError):
    """The database cannot be used as asked (missing folder, foreign or corrupt file, read-only)."""


class OutdatedDatabaseError(StoreError):
    """The database was made by an older quizgen and needs ``quizgen db upgrade``."""


class BusyError(StoreError):
    """Another process held the database's write lock for longer than the busy timeout."""

    exit_code = 75  # EX_TEMPFAIL: try again


class NotFoundError(QuizgenError):
    """An id that names no quiz, student or question."""


class GenerationError(QuizgenError):
    """Options under which no valid question can be generated."""


class UnstorableText(QuizgenError):
    """Text holding a character no database can store: NUL (PostgreSQL refuses it in text),
    or half of a surrogate pair (neither backend can encode it as UTF-8)."""


def unstorable(text: str) -> bool:
    """Whether ``text`` holds NUL or a lone surrogate (see UnstorableText)."""
    return "\x00" in text or undecodable(text)


def refuse_unstorable(text: str, what: str) -> str:
    """``text`` itself, or UnstorableText naming ``what`` ("the student id"): checked before
    the text reaches a query, so both backends give the same answer instead of one of
    them failing inside the driver."""
    if unstorable(text):
        raise UnstorableText(f"{what} holds a character that cannot be stored (NUL or an unpaired surrogate)")
    return text


MAX_MESSAGE = 500  # characters: an error is one line a person reads, not a dump of their input

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Characters that reorder or hide the text around them on a terminal (bidirectional
# embeddings, overrides and isolates), besides the control characters below.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029")


def _unsafe(ch: str) -> bool:
    """A character no terminal may receive raw: C0 and C1 controls (ESC starts every
    escape sequence, U+009B is a one-character CSI), DEL, lone surrogates, bidi controls."""
    code = ord(ch)
    return code < 32 or 0x7F <= code < 0xA0 or 0xD800 <= code <= 0xDFFF or ch in _BIDI


def one_line(message: str, width: int = MAX_MESSAGE) -> str:
    """A message as one bounded line: control characters (newlines from a CSV cell,
    terminal escapes) escaped, lone surrogates (undecodable bytes) shown as \\udcXX,
    and clipped to ``width``."""
    out = []
    for ch in message:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif _unsafe(ch):
            out.append(ascii(ch)[1:-1])
        else:
            out.append(ch)
    return clip("".join(out), width)


def printable(text: Any) -> str:
    """Text from elsewhere (a server's title, prompt, label or message) as it may be printed
    on a terminal: line breaks (``\\n``, ``\\r\\n``) and tabs kept, so a prompt stays
    readable, and every other control character, escape sequence, bidi control or lone
    surrogate shown as its ``\\x1b``-style escape, so nothing in it can move the cursor,
    retitle the window, clear the screen or hide text. Not clipped: a prompt is long."""
    out = []
    for ch in str(text).replace("\r\n", "\n"):
        out.append(ch if ch in "\n\t" or not _unsafe(ch) else ascii(ch)[1:-1])
    return "".join(out)


def undecodable(text: str) -> bool:
    """Whether text holds bytes that were not UTF-8 (Python keeps them as lone surrogates)."""
    try:
        text.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True
