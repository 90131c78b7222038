"""Time: instants are UTC; a deadline is read and shown in its quiz's own time zone.

Every instant quizgen stores is an aware UTC datetime (``store.tables.UTCDateTime``
refuses a naive one). What an instructor types (``--deadline "2026-12-01 18:00"``)
is a wall-clock time in a named zone: the quiz's ``--tz``, else the machine's
local zone, recorded on the quiz so that every later reader (a student's laptop in
another zone, the server) shows it back the same way, with its offset.

Zones are IANA names (``Asia/Seoul``) or fixed offsets (``+09:00``, ``UTC``). The
machine's zone comes from ``TZ`` (an IANA name, or a POSIX string without DST
rules such as ``KST-9``) or ``/etc/localtime``; a ``TZ`` that cannot be read is
reported, never guessed at: glibc silently treats such a value as UTC, which is
how a deadline ends up hours off.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import QuizgenError, clip

UTC = UTC
# A deadline outside these years is a typo; the bounds also keep every conversion
# (into any zone, ±14 h) inside datetime's range.
MIN_YEAR, MAX_YEAR = 1971, 9998
DEADLINE_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")


class ZoneError(QuizgenError):
    """A time zone name (``--tz`` or ``TZ``) that is not a zone quizgen can read."""


class DeadlineError(QuizgenError):
    """A deadline that is not a time, or that does not exist in its zone."""


def now() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(UTC)


_OFFSET = re.compile(r"(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?")
_POSIX = re.compile(r"([A-Za-z]{3,}|<[A-Za-z0-9+-]+>)([+-]?)(\d{1,2})(?::(\d{2}))?")


def _fixed(sign: str, hours: str, minutes: str | None) -> timezone | None:
    delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
    if delta > timedelta(hours=14) or (minutes and int(minutes) >= 60):
        return None
    return timezone(-delta if sign == "-" else delta)


def offset_name(zone: timezone) -> str:
    """``+09:00``: how a fixed-offset zone is recorded on a quiz."""
    seconds = int(zone.utcoffset(None).total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    return f"{sign}{hours:02d}:{rest // 60:02d}"


@lru_cache(maxsize=256)
def get_zone(name: str) -> tzinfo:
    """The zone a recorded or typed name stands for: an IANA name, ``UTC``, or ``+09:00``."""
    text = name.strip()
    if text.upper() in ("UTC", "Z", "GMT"):
        return UTC
    m = _OFFSET.fullmatch(text)
    if m:
        fixed = _fixed(*m.groups())
        if fixed is not None:
            return fixed
    elif text and "\x00" not in text and ".." not in text and not text.startswith("/"):
        try:
            return ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError, OSError, UnicodeError):
            pass
    raise ZoneError(f"{clip(ascii(text)[1:-1], 60)!r} is not a time zone; use an IANA name such as Asia/Seoul "
                    "or America/New_York, or an offset such as +09:00")


def zone_name(name: str) -> str:
    """The canonical name to record for a zone the user typed (validated)."""
    zone = get_zone(name)
    if isinstance(zone, ZoneInfo):
        return zone.key
    return "UTC" if zone is UTC else offset_name(zone)  # type: ignore[arg-type]


def local_zone_name() -> str:
    """The machine's zone as a recordable name; ZoneError when ``TZ`` is set but unreadable."""
    raw = os.environ.get("TZ")
    if raw is not None:
        return _from_tz_variable(raw)
    return _from_localtime()


def _from_tz_variable(raw: str) -> str:
    text = raw[1:] if raw.startswith(":") else raw
    if text == "":
        return "UTC"  # POSIX: an empty TZ means UTC
    m = _POSIX.fullmatch(text)  # "KST-9", "UTC-9": POSIX's offset sign is west-positive (UTC-9 is +09:00)
    if m:
        fixed = _fixed("+" if m.group(2) == "-" else "-", m.group(3), m.group(4))
        if fixed is not None:
            return "UTC" if fixed.utcoffset(None) == timedelta(0) else offset_name(fixed)
    else:
        try:
            return zone_name(text)
        except ZoneError:
            pass
    raise ZoneError(f"the TZ environment variable ({clip(ascii(raw)[1:-1], 40)!r}) is not a time zone quizgen "
                    "can read; set TZ to an IANA name such as Asia/Seoul, or pass --tz")


def _from_localtime() -> str:
    link = Path("/etc/localtime")
    try:
        target = os.readlink(link)
        if "zoneinfo/" in target:
            return zone_name(target.split("zoneinfo/", 1)[1])
    except (OSError, ZoneError):
        pass
    try:
        return zone_name(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    except (OSError, ZoneError, UnicodeError):
        pass
    return "UTC"


def quiz_zone(option: str | None, deadline_given: bool) -> str:
    """The zone to record on a quiz: ``--tz``, else the machine's. An unreadable ``TZ``
    is an error only when a deadline must be read in it; otherwise the quiz records UTC."""
    if option:
        return zone_name(option)
    try:
        return local_zone_name()
    except ZoneError:
        if deadline_given:
            raise
        return "UTC"


def parse_deadline(text: str, zone: str) -> datetime:
    """A wall-clock time typed by the instructor, read in ``zone``; returns the UTC instant.

    A time that does not exist in the zone (skipped by a DST change) is refused; a time
    that occurs twice (the hour repeated when DST ends) is taken at its later
    occurrence, the one that gives students the full time they were told."""
    return deadline_from_wall(wall_clock(text), zone)


def wall_clock(text: str) -> datetime:
    """A typed date and time without its zone (``2026-12-01 18:00``, seconds optional, a
    ``T`` for the space): the one reading, and the one refusal, of every typed time."""
    clean = text.strip()
    for fmt in DEADLINE_FORMATS:
        try:
            return datetime.strptime(clean, fmt)
        except ValueError:
            continue
    raise DeadlineError(f"deadline {clip(ascii(clean)[1:-1], 40)!r} is not a date and time; "
                        "write it as YYYY-MM-DD HH:MM or HH:MM:SS, e.g. 2026-12-01 18:00")


def deadline_from_wall(wall: datetime, zone: str) -> datetime:
    """A naive wall-clock time in ``zone`` as a UTC instant (see parse_deadline)."""
    if not MIN_YEAR <= wall.year <= MAX_YEAR:
        raise DeadlineError(f"deadline year {wall.year} is out of range ({MIN_YEAR}-{MAX_YEAR})")
    tz = get_zone(zone)
    instant = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != wall:  # a skipped time does not come back
        typed = wall.strftime("%Y-%m-%d %H:%M:%S" if wall.second else "%Y-%m-%d %H:%M")
        raise DeadlineError(f"{typed} does not exist in {zone} (the clocks skip it for "
                            "daylight saving time); choose another time")
    return instant


def in_zone(instant: datetime, zone: str) -> datetime:
    """``instant`` as wall-clock time in ``zone`` (an unreadable recorded zone shows UTC)."""
    try:
        tz = get_zone(zone)
    except ZoneError:
        tz = UTC
    return as_utc(instant).astimezone(tz)


def show(instant: datetime, zone: str, seconds: bool = False) -> str:
    """``2026-12-01 18:00 +09:00 (Asia/Seoul)``: an instant as its quiz's people read it;
    with its seconds when asked, or when it has any (a deadline typed as 18:00:30 is not
    shown as 18:00)."""
    local = in_zone(instant, zone)
    offset = offset_name(timezone(local.utcoffset() or timedelta(0)))
    stamp = local.strftime("%Y-%m-%d %H:%M:%S" if seconds or local.second else "%Y-%m-%d %H:%M")
    return f"{stamp} {offset}" + ("" if zone in ("UTC", offset) else f" ({zone})")


def as_utc(value: datetime) -> datetime:
    """An aware instant in UTC; a naive one is taken to be UTC already (as stored)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
