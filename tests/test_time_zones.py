"""Deadlines mean the instant the instructor meant, in every zone: typed as wall-clock
time in the quiz's zone (--tz, else the machine's TZ), stored in UTC, shown back in
that zone with its offset, refused with one line when the zone or time is unusable."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from quizgen import clock
from quizgen.cli.main import cli

from .helpers import make_class

# (TZ value, its offset on 2030-12-01) — UTC+9, UTC-5, UTC+14, POSIX spellings included
ZONES = [("Asia/Seoul", 9), ("America/New_York", -5), ("Pacific/Kiritimati", 14), ("UTC-9", 9), ("EST5", -5),
         ("<+14>-14", 14), ("UTC", 0)]


@pytest.mark.parametrize("tz,hours", ZONES)
def test_a_deadline_is_read_in_the_machines_zone_and_refuses_exactly_then(tmp_path, monkeypatch, tz, hours):
    monkeypatch.setenv("TZ", tz)
    klass = make_class(tmp_path, "--deadline", "2030-12-01 18:00")
    info = json.loads(klass.run("list", "--json").stdout)[0]
    expected = datetime(2030, 12, 1, 18, 0, tzinfo=timezone(timedelta(hours=hours))).astimezone(UTC)
    assert datetime.fromisoformat(info["deadline"]) == expected
    assert info["deadline_local"].startswith("2030-12-01T18:00")
    from quizgen.classroom.attempts import submit
    from quizgen.classroom.keys import open_signing
    from quizgen.store.db import open_store

    store = open_store(str(klass.db))
    try:
        sid, token = "20260001", klass.tokens["20260001"]
        signing = open_signing(store, str(klass.db), None)
        submit(store, klass.quiz, sid, token, {"1": "5"}, signing, at=expected - timedelta(seconds=1))
        from quizgen.classroom.policies import SubmissionRefused

        with pytest.raises(SubmissionRefused, match="2030-12-01 18:00"):
            submit(store, klass.quiz, sid, token, {"1": "5"}, signing, at=expected + timedelta(seconds=1))
    finally:
        store.dispose()


def test_tz_option_wins_and_the_zone_is_recorded(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    klass = make_class(tmp_path, "--deadline", "2030-12-01 18:00", "--tz", "Asia/Seoul")
    info = json.loads(klass.run("list", "--json").stdout)[0]
    assert info["time_zone"] == "Asia/Seoul" and info["deadline"].startswith("2030-12-01T09:00:00")


def test_a_closed_quiz_names_the_deadline_in_its_own_zone_whatever_the_students_zone(tmp_path, monkeypatch):
    klass = make_class(tmp_path, "--deadline", "2020-01-01 09:00", "--allow-past", "--tz", "Asia/Seoul")
    monkeypatch.setenv("TZ", "America/Los_Angeles")  # the student's laptop
    result = klass.run("submit", "--allow-blank", str(klass.quiz), "--student", "20260001", "--token",
                       klass.tokens["20260001"],
                       "--answer", "1=1")
    assert result.exit_code == 1 and "2020-01-01 09:00 +09:00 (Asia/Seoul)" in result.stderr


@pytest.mark.parametrize("tz", ["UTC-99", "Not/AZone", "EST5EDT,M3.2.0,M11.1.0junk", "../../etc/passwd"])
def test_an_unreadable_tz_is_one_line_and_stores_nothing(tmp_path, monkeypatch, tz):
    monkeypatch.setenv("TZ", tz)
    db = tmp_path / "q.db"
    result = CliRunner().invoke(cli, ["--db", str(db), "generate", "--title", "T", "--count", "1", "--seed", "1",
                                      "--no-verify", "--deadline", "2030-12-01 18:00"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "TZ" in lines[0] and "--tz" in lines[0]
    listed = CliRunner().invoke(cli, ["--db", str(db), "list", "--json"])
    assert listed.exit_code != 0 or json.loads(listed.stdout) == []


def test_without_a_deadline_an_unreadable_tz_records_utc(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "UTC-99")
    db = tmp_path / "q.db"
    result = CliRunner().invoke(cli, ["--db", str(db), "generate", "--title", "T", "--count", "1", "--seed", "1",
                                      "--no-verify", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(CliRunner().invoke(cli, ["--db", str(db), "list", "--json"]).stdout)[0]["time_zone"] == "UTC"


def test_across_a_dst_change():
    # New York springs forward on 2026-03-08 at 02:00 and falls back on 2026-11-01 at 02:00
    before = clock.parse_deadline("2026-03-07 18:00", "America/New_York")
    after = clock.parse_deadline("2026-03-09 18:00", "America/New_York")
    assert (before.hour, after.hour) == (23, 22)  # EST -5, then EDT -4
    with pytest.raises(clock.DeadlineError, match="does not exist"):
        clock.parse_deadline("2026-03-08 02:30", "America/New_York")
    repeated = clock.parse_deadline("2026-11-01 01:30", "America/New_York")
    assert repeated == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # the later 01:30 (EST)
    assert clock.show(repeated, "America/New_York") == "2026-11-01 01:30 -05:00 (America/New_York)"


@pytest.mark.parametrize("deadline", ["0001-01-01 00:00", "9999-12-31 23:59", "2026-02-30 10:00", "tomorrow",
                                      "2026-13-01", "\x1b[31m"])
@pytest.mark.parametrize("tz", ["Pacific/Kiritimati", "Etc/GMT+12"])
def test_extreme_and_malformed_deadlines_are_one_line(tmp_path, deadline, tz):
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "q.db"), "generate", "--title", "T", "--count", "1",
                                      "--seed", "1", "--no-verify", "--deadline", deadline, "--tz", tz])
    malformed = deadline.strip()[:4] not in ("0001", "9999")
    assert result.exit_code == (2 if malformed else 1) and "Traceback" not in result.output  # a malformed option: usage
    assert len(result.stderr.strip().splitlines()) == 1 and "\x1b" not in result.stderr


def test_submit_acknowledges_under_any_tz_once_stored(tmp_path):
    """With TZ=UTC-99 (glibc gives up on it), submit used to store the attempt and then crash
    while printing the receipt: now the receipt is made before the commit and shown in the quiz's zone."""
    klass = make_class(tmp_path, "--tz", "Asia/Seoul")
    env = {**__import__("os").environ, "TZ": "UTC-99"}
    out = subprocess.run([sys.executable, "-m", "quizgen", "--db", str(klass.db), "submit", "--allow-blank",
                          str(klass.quiz),
                          "--student", "20260001", "--token", klass.tokens["20260001"], "--answer", "1=5"],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert "첫 번째 시도를 기록했습니다" in out.stdout and "+09:00" in out.stdout and klass.count("submissions") == 1
