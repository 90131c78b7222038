"""``quizgen sync``: every submission waiting in the outbox sent again (same keys), and
what is still pending said, with why."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..classroom.answersheets import BlankPolicy
from ..resources import Phrase, locale_language, message, phrase
from . import outbox
from .credentials import Credentials
from .delivery import Note, Outcome, Undelivered, sync
from .outbox import Entry
from .retry import RetryPolicy
from .screens import here, when

_SAID = {"pending": "sync_pending", "held": "sync_pending", "refused": "sync_refused",
         "suspicious": "sync_suspicious"}


def _why(outcome: Outcome, lang: str) -> str:
    """Why an entry was not delivered, without the advice to run sync (this is sync); for
    one not tried this time, also why its last try failed, and when."""
    error = outcome.error
    said = error.args[0] if error is not None and error.args else None
    if isinstance(said, Phrase) and said.key in ("client_undelivered", "client_unchecked"):
        return _bare(said).say(lang)
    why = str(error) if error is not None else message(lang, "sync_never_tried")
    earlier = outcome.entry.why()
    if isinstance(said, Phrase) and said.key == "sync_skipped" and earlier is not None:
        before = earlier if isinstance(earlier, str) else _bare(earlier).say(lang)
        at = here((outcome.entry.last_try or {}).get("at"), seconds=False)
        why += "; " + message(lang, "sync_last_try", why=before, time=at)
    return why


def _bare(said: Phrase) -> Phrase:
    return phrase("client_tries", **dict(said.values)) if said.key in ("client_undelivered", "client_unchecked") \
        else said


@dataclass(frozen=True)
class SyncReport:
    """What ``sync`` did with each entry, oldest first."""

    outcomes: list[Outcome]

    @property
    def language(self) -> str:
        """The language of the summary: the quizzes', when they share one."""
        langs = {o.language for o in self.outcomes}
        return langs.pop() if len(langs) == 1 else locale_language()

    def count(self, *states: str) -> int:
        return sum(o.state in states for o in self.outcomes)

    def lines(self) -> list[str]:
        """The delivered submissions' receipt lines (stdout)."""
        return [o.delivered.lines(o.entry.time_zone)[0] for o in self.outcomes if o.delivered is not None]

    def notes(self) -> list[str]:
        """Each submission not delivered, with why; then the totals (stderr)."""
        out = []
        if not self.outcomes:
            return [message(locale_language(), "sync_empty")]
        for o in self.outcomes:
            if o.state == "delivered":
                continue
            e, lang = o.entry, o.language
            created = when(e.created_at, e.time_zone, lang) if e.time_zone else here(e.created_at, seconds=False)
            if o.error is not None:
                o.error.speak(lang)
            out.append(message(lang, _SAID[o.state], quiz=e.quiz, student=e.student, created=created, server=e.server,
                               why=_why(o, lang)))
        out.append(message(self.language, "sync_total", delivered=self.count("delivered"),
                           refused=self.count("refused", "suspicious", "held"), pending=self.count("pending")))
        return out

    def to_json(self) -> list[dict[str, Any]]:
        rows = []
        for o in self.outcomes:
            e = o.entry
            if o.error is not None:
                o.error.speak(o.language)
            rows.append({"quiz": e.quiz, "student": e.student, "server": e.server,
                         "idempotency_key": e.idempotency_key, "created_at": e.created_at, "status": o.state,
                         "error": str(o.error) if o.error else None,
                         "response": o.delivered.response if o.delivered else None})
        return rows

    @property
    def exit_code(self) -> int:
        """0: all delivered; 75 (EX_TEMPFAIL): some still wait, try later; 1: some were
        refused or held (they need the student)."""
        if self.count("pending"):
            return Undelivered.exit_code
        return 1 if self.count("refused", "suspicious", "held") else 0


def sync_outbox(server: str | None, student: str | None, credentials_for: Callable[[Entry], Credentials],
                policy: RetryPolicy, blanks: BlankPolicy, note: Note) -> SyncReport:
    """Send what waits in the outbox (for one canonical server URL and one student, if
    given); the credentials for each entry come from ``credentials_for``."""
    entries = [e for e in outbox.pending(server) if student is None or e.student == student]
    return SyncReport(sync(entries, credentials_for, policy, note, blanks=blanks))
