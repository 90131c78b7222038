"""What the student's commands print: a quiz, a status, a receipt line, the results of an
attempt, each in the quiz's language (data/messages.json), times in the quiz's zone with
the zone named (and, when the student's machine is elsewhere, in its zone too).

The screens are built from the JSON the server answers (docs/api.md), which the local
commands also make (``status --json``), so ``quizgen status`` looks the same on the
quiz's database and over HTTP. Nothing a server sends reaches the terminal raw: every
text is passed through ``errors.printable`` (prompts keep their lines) or ``one_line``,
so a hostile title cannot retitle the window or clear the screen; numbers must be
numbers and zones zones, or they are shown as what they are not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..clock import ZoneError, get_zone, in_zone, local_zone_name, show
from ..errors import one_line, printable
from ..resources import load_json, message


def languages() -> tuple[str, ...]:
    """The languages quizgen has wording for."""
    return tuple(load_json("messages.json"))


def language_of(value: Any) -> str:
    """A language a server named, if quizgen speaks it (else English)."""
    return value if isinstance(value, str) and value in languages() else "en"


def text(value: Any, width: int = 200) -> str:
    """One line of server-supplied text, safe to print."""
    return one_line("" if value is None else str(value), width)


def number(value: Any) -> str:
    """A score or count as the commands print it (``7.5``, ``8``); anything else as safe text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return text(value, 20)


def whole(value: Any) -> int | None:
    """An integer the server sent, or None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def zone_of(value: Any) -> str:
    """A time zone a server named, if this machine can read it (else UTC)."""
    if isinstance(value, str) and len(value) < 80:
        try:
            get_zone(value)
            return value
        except ZoneError:
            pass
    return "UTC"


def local_zone() -> str:
    """This machine's zone (UTC when TZ cannot be read: said in UTC, never guessed)."""
    try:
        return local_zone_name()
    except ZoneError:
        return "UTC"


def instant(value: Any) -> datetime | None:
    """An aware instant from an ISO 8601 text (None: not one)."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or len(value) > 60:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def when(value: Any, zone: str, lang: str, seconds: bool = False) -> str:
    """An instant as the quiz's people read it (``2026-12-01 18:00 +09:00 (Asia/Seoul)``),
    followed by the student's own time when this machine's clock reads otherwise."""
    moment = instant(value)
    if moment is None:
        return text(value, 60)
    shown = show(moment, zone, seconds)
    mine = local_zone()
    if in_zone(moment, mine).utcoffset() != in_zone(moment, zone).utcoffset():
        return message(lang, "time_here", time=shown, local=show(moment, mine, seconds))
    return shown


def here(value: Any, seconds: bool = True) -> str:
    """An instant in this machine's zone, named (for what no quiz's zone goes with)."""
    moment = instant(value)
    return show(moment, local_zone(), seconds) if moment is not None else text(value, 60)


# --- a quiz -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ShownPart:
    number: str  # as the student answers it: "4.2"
    label: str


@dataclass(frozen=True)
class ShownQuestion:
    slot: int
    points: str
    prompt: str
    parts: tuple[ShownPart, ...]
    form: dict[str, Any]  # the answer's form, as answersheets.blank_answers reads it


@dataclass(frozen=True)
class QuizScreen:
    """A quiz as a student is shown it: its rules as they apply to them, and their questions."""

    quiz: int | str
    title: str
    language: str
    student: str | None
    zone: str
    deadline: Any = None  # ISO text or datetime
    late_until: Any = None
    attempt_limit: int | None = None
    attempts_left: int | None = None  # None with a limit: not known (the local command has no student's count)
    feedback: str | None = None
    open: bool | None = None
    questions: tuple[ShownQuestion, ...] = ()
    counting: str | None = None  # "last" or "best": which answer to each question counts
    extension: Mapping[str, Any] | None = None  # this student's own deadline, late window or attempts

    def forms(self) -> dict[int, dict[str, Any]]:
        """slot → answer form, for answersheets.blank_answers."""
        return {q.slot: q.form for q in self.questions}

    def lines(self) -> list[str]:
        lang = self.language
        if self.student is None:
            out = [message(lang, "quiz_head_shared", title=self.title, quiz=self.quiz)]
        else:
            out = [message(lang, "quiz_head", title=self.title, quiz=self.quiz, student=self.student)]
        if self.deadline is not None:
            out.append(message(lang, "quiz_deadline", time=when(self.deadline, self.zone, lang)))
        else:
            out.append(message(lang, "quiz_no_deadline"))
        if self.late_until is not None:
            out.append(message(lang, "quiz_late_until", time=when(self.late_until, self.zone, lang)))
        if self.attempt_limit is None:
            out.append(message(lang, "quiz_attempts_unlimited"))
        elif self.attempts_left is None:
            out.append(message(lang, "quiz_attempts_limit", limit=self.attempt_limit))
        else:
            out.append(message(lang, "quiz_attempts_left", left=self.attempts_left, limit=self.attempt_limit))
        if self.feedback in ("full", "score", "none"):
            out.append(message(lang, f"quiz_feedback_{self.feedback}"))
        if self.counting in ("last", "best"):
            out.append(message(lang, f"counting_{self.counting}"))
        if self.extension:
            out.append(extension_line(self.extension, self.zone, lang))
        if self.open is False:
            out.append(message(lang, "quiz_closed_now"))
        out.append("")
        for q in self.questions:
            out.append(message(lang, "quiz_question", slot=q.slot, points=q.points))
            out.append(q.prompt)
            if q.parts:  # the prompt lists the parts; how to answer them from here
                out.append(message(lang, "quiz_parts_how", slot=q.slot, count=len(q.parts)))
            out.append("")
        return out


def extension_line(ext: Mapping[str, Any], zone: str, lang: str) -> str:
    """A student's extension (``{"deadline", "late_until", "attempt_limit"}``, as the quiz
    and status answers carry it) as classroom.policies.extension_line words it."""
    what = []
    if instant(ext.get("deadline")) is not None:
        what.append(message(lang, "extension_deadline", deadline=when(ext["deadline"], zone, lang)))
    if instant(ext.get("late_until")) is not None:
        what.append(message(lang, "extension_late", late_until=when(ext["late_until"], zone, lang)))
    if whole(ext.get("attempt_limit")) is not None:
        what.append(message(lang, "extension_attempts", limit=ext["attempt_limit"]))
    return message(lang, "extension", what=", ".join(what))


def _form(response: Any) -> tuple[dict[str, Any], list[Any]]:
    """(the answer's form, its parts) from a question's ``response``, keeping only what
    the client reads."""
    if not isinstance(response, dict) or not isinstance(response.get("type"), str):
        return {"type": "?"}, []
    if response["type"] != "parts" or not isinstance(response.get("parts"), list):
        return {"type": response["type"]}, []
    parts = [p for p in response["parts"] if isinstance(p, dict)]
    return {"type": "parts", "parts": [{"key": str(p.get("key"))} for p in parts]}, parts


def _label(label: Any, lang: str) -> str:
    if isinstance(label, dict):
        label = label.get(lang) or label.get("en")
    return text(label, 200)


def read_quiz(data: Any) -> QuizScreen:
    """The screen for ``GET /api/v1/quizzes/{quiz}``'s answer (whatever the server put in it)."""
    data = data if isinstance(data, dict) else {}
    info = data.get("quiz") if isinstance(data.get("quiz"), dict) else {}
    lang = language_of(info.get("language"))
    questions = []
    for q in data.get("questions") if isinstance(data.get("questions"), list) else []:
        if not isinstance(q, dict) or whole(q.get("slot")) is None:
            continue
        slot = q["slot"]
        form, parts = _form(q.get("response"))
        shown = tuple(ShownPart(f"{slot}.{n}", _label(p.get("label"), lang) or text(p.get("key"), 60))
                      for n, p in enumerate(parts, start=1))
        questions.append(ShownQuestion(slot, number(q.get("points")), printable(q.get("prompt") or ""), shown, form))
    feedback = info.get("feedback") if info.get("feedback") in ("full", "score", "none") else None
    return QuizScreen(text(info.get("id"), 20), text(info.get("title")), lang, text(data.get("student"), 64),
                      zone_of(info.get("time_zone")), instant(info.get("deadline")), instant(info.get("late_until")),
                      whole(info.get("attempt_limit")), whole(info.get("attempts_left")), feedback,
                      info.get("open") if isinstance(info.get("open"), bool) else None, tuple(questions),
                      info.get("counting") if info.get("counting") in ("last", "best") else None,
                      info.get("extension") if isinstance(info.get("extension"), dict) else None)


def local_screen(info: Any, student: str | None, questions: Sequence[Any],
                 extension: Mapping[str, Any] | None = None) -> QuizScreen:
    """The screen for the local ``show`` (a QuizInfo, the questions a student sees, and the
    student's extension): the same as over HTTP, without what only a student's own view
    knows (attempts left)."""
    lang = language_of(info.language)
    shown = tuple(ShownQuestion(q.slot, number(q.points), printable(q.prompt), (), {}) for q in questions)
    return QuizScreen(info.id, text(info.title), lang, text(student, 64) if student is not None else None,
                      zone_of(info.time_zone), info.deadline, None, info.attempt_limit, None, info.feedback, None,
                      shown, info.counting, extension)


# --- an attempt's results, and a student's status -------------------------------------------

def _mark(answered: bool, correct: Any) -> str:
    return "–" if not answered else ("✓" if correct is True else "✗")


def results_lines(data: Mapping[str, Any], lang: str, score_line: bool = True) -> list[str]:
    """Score and per-question feedback, as far as the answer carries them (the feedback
    policy was applied where it was made); a slip named only by its code is worded from
    data/misconceptions.json in the quiz's language; a wrong multi-part answer part by part."""
    if data.get("score") is None:
        return []
    slips = load_json("misconceptions.json").get(lang, {})
    lines = [message(lang, "score", score=number(data["score"]), max=number(data.get("max_score")))] \
        if score_line else []
    questions = data.get("questions")
    for q in questions if isinstance(questions, list) else []:
        if not isinstance(q, dict):
            continue
        answered = q.get("correct") is not None or q.get("score") is not None
        line = f"  {text(q.get('slot'), 12)}. {_mark(answered, q.get('correct'))} " \
               f"{number(q.get('score') or 0)}/{number(q.get('points'))}"
        parts = q.get("parts") if isinstance(q.get("parts"), dict) else None
        code = q.get("misconception") if isinstance(q.get("misconception"), str) else ""
        slip = q.get("feedback") or slips.get(code) or code
        if slip and not q.get("correct") and parts is None:
            line += f" — {text(slip, 400)}"
        lines.append(line)
        if parts is not None and not q.get("correct"):
            for p in parts.values():
                if not isinstance(p, dict):
                    continue
                part = f"     {text(p.get('number'), 12)} {_mark(bool(p.get('answered')), p.get('correct'))} " \
                       f"{text(p.get('label'), 200)}"
                lines.append(part + (f" — {text(p['feedback'], 400)}" if p.get("feedback") else ""))
    return lines


def status_lines(data: Mapping[str, Any], title: str, zone: str, lang: str,
                 marks: Sequence[str] = ()) -> list[str]:
    """``quizgen status``: the student's attempts (each with its receipt's mark, when
    checked) and, as the quiz allows, their score and feedback. ``data`` is the shape of
    ``status --json`` and ``GET /api/v1/quizzes/{quiz}/submissions``."""
    attempts = [a for a in data.get("attempts") or [] if isinstance(a, dict)]
    limit = whole(data.get("attempt_limit"))
    out = [message(lang, "status_head", title=title, quiz=text(data.get("quiz"), 20),
                   student=text(data.get("student"), 64), count=len(attempts),
                   limit=message(lang, "status_limit", limit=limit) if limit else "")]
    if isinstance(data.get("extension"), dict):
        out.append(extension_line(data["extension"], zone, lang))
    for n, a in enumerate(attempts):
        out.append(message(lang, "status_attempt", attempt=text(a.get("attempt"), 12),
                           answers=text(a.get("answers"), 12), time=when(a.get("submitted_at"), zone, lang, True))
                   + (marks[n] if n < len(marks) else ""))
    results = results_lines(data, lang)
    if results:
        out += results
    elif data.get("graded") and data.get("score") is None:
        out.append(message(lang, "graded_hidden"))
    else:
        out.append(message(lang, "not_graded" if attempts else "no_attempts"))
    return out


def receipt_line(response: Mapping[str, Any], replayed: bool, zone: str | None = None) -> str:
    """The line ``submit --server`` (and ``sync``) prints for a delivered submission, as the
    local ``submit`` says it, in the quiz's language (the server's answer names it); the
    time in the quiz's ``zone`` when known, else as the server wrote it in that zone."""
    lang = language_of(response.get("language"))
    received = instant(response.get("received_at"))
    stamp = when(received, zone, lang, True) if zone is not None and received is not None else \
        text(response.get("received_local") or response.get("received_at"), 80)
    told = message(lang, "recorded_late" if response.get("late") is True else "recorded",
                   attempt=text(response.get("attempt"), 12), quiz=text(response.get("quiz"), 20),
                   answers=text(response.get("answers"), 12), time=stamp)
    again = message(lang, "replayed", quiz=text(response.get("quiz"), 20)) if replayed else ""
    return told.rstrip(".") + message(lang, "receipt_verified") + again + "."
