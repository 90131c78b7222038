"""What quizgen reads and writes: outputs never replace the store, another database, a
device, a FIFO or a link's target, nor an existing file without --force; inputs are
read with a byte limit whatever st_size says, and special files are refused."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import make_class

OUTPUT_COMMANDS = [
    ["gradebook", "{quiz}", "-o", "{target}"],
    ["export", "{quiz}", "--format", "json", "-o", "{target}"],
    ["report", "{quiz}", "--png", "{target}"],
]


@pytest.fixture()
def klass(tmp_path):
    return make_class(tmp_path)


def _run(klass, template, target, *extra):  # type: ignore[no-untyped-def]
    args = [a.format(quiz=klass.quiz, target=target) for a in template]
    return klass.run(*args, *extra)


def _one_line(result) -> str:  # type: ignore[no-untyped-def]
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


@pytest.mark.parametrize("template", OUTPUT_COMMANDS, ids=lambda t: t[0])
def test_an_output_never_replaces_the_store_in_use(klass, template):
    before = klass.db.read_bytes()
    for target in (klass.db, Path(f"{klass.db}-wal")):
        if not target.exists():
            target.write_bytes(b"")
        line = _one_line(_run(klass, template, target, "--force"))
        assert "database" in line
    assert klass.db.read_bytes() == before and klass.count("questions") > 0


@pytest.mark.parametrize("template", OUTPUT_COMMANDS, ids=lambda t: t[0])
@pytest.mark.parametrize("suffix", ["-journal", "-wal", "-shm", ".receipt-key"])
def test_the_stores_journals_are_refused_even_before_they_exist(klass, template, suffix):
    """SQLite makes and deletes its journals as it goes: a file written under one of their names
    would be taken for the journal (a hot -journal is played back into the database) or deleted."""
    target = Path(f"{klass.db}{suffix}")
    assert not target.exists()  # no quizgen has the database open: no WAL, no rollback journal
    before = klass.db.read_bytes()
    line = _one_line(_run(klass, template, target, "--force"))
    assert "quiz database in use" in line
    assert not target.exists() and klass.db.read_bytes() == before
    via_folder = Path(klass.db.parent, ".", f"{klass.db.name}{suffix}")  # another spelling of the same name
    assert "quiz database in use" in _one_line(_run(klass, template, via_folder, "--force"))
    assert not target.exists()


def test_dash_is_stdout_for_every_text_output(klass, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    q = str(klass.quiz)
    for args in (["gradebook", q], ["gradebook", q, "--format", "json"], ["export", q, "--format", "json"],
                 ["export", q, "--format", "markdown"], ["export", q, "--format", "moodle-xml"]):
        plain, dashed = klass.run(*args), klass.run(*args, "-o", "-")
        assert plain.exit_code == dashed.exit_code == 0, dashed.output
        assert dashed.stdout == plain.stdout and dashed.stdout.strip(), args
    html = klass.run("report", q, "--html", "-")
    assert html.exit_code == 0, html.output
    assert html.stdout.lstrip().lower().startswith("<!doctype html") and "</html>" in html.stdout
    png = klass.run("report", q, "--png", "-")
    assert png.exit_code == 2 and len(png.stderr.strip().splitlines()) == 1 and "binary" in png.stderr
    both = klass.run("report", q, "--html", "-", "--json")
    assert both.exit_code == 2 and both.stdout == ""
    assert klass.run("export", q, "--format", "json", "-o", "-", "--json").exit_code == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["class.db", "roster.csv"])  # no file named '-'


@pytest.mark.parametrize("template", OUTPUT_COMMANDS, ids=lambda t: t[0])
def test_an_output_never_replaces_another_sqlite_database(klass, tmp_path, template):
    import sqlite3

    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    before = other.read_bytes()
    assert "SQLite database" in _one_line(_run(klass, template, other, "--force"))
    assert other.read_bytes() == before


@pytest.mark.parametrize("template", OUTPUT_COMMANDS, ids=lambda t: t[0])
def test_devices_fifos_and_links_are_refused(klass, tmp_path, template):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    real = tmp_path / "real.txt"
    real.write_text("keep me")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    assert "device" in _one_line(_run(klass, template, "/dev/null", "--force"))
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert "FIFO" in _one_line(_run(klass, template, fifo, "--force"))
    assert "symbolic link" in _one_line(_run(klass, template, link, "--force"))
    assert real.read_text() == "keep me" and link.is_symlink()


@pytest.mark.parametrize("template", OUTPUT_COMMANDS, ids=lambda t: t[0])
def test_an_existing_file_needs_force(klass, tmp_path, template):
    target = tmp_path / "out.file"
    target.write_text("an earlier export")
    assert "--force" in _one_line(_run(klass, template, target))
    assert target.read_text() == "an earlier export"
    ok = _run(klass, template, target, "--force")
    assert ok.exit_code == 0, ok.output
    assert target.read_bytes() != b"an earlier export"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_markdown_export_writes_both_files_or_neither(klass, tmp_path):
    (tmp_path / "quiz.key.md").write_text("old key")
    result = klass.run("export", str(klass.quiz), "--format", "markdown", "-o", str(tmp_path / "quiz.md"))
    assert "quiz.key.md already exists" in _one_line(result)
    assert not (tmp_path / "quiz.md").exists() and (tmp_path / "quiz.key.md").read_text() == "old key"


# ---------------------------------------------------------------- inputs

def _quick(args: list[str], **kw) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    return subprocess.run([sys.executable, "-m", "quizgen", *args], capture_output=True, text=True, timeout=60, **kw)


@pytest.mark.parametrize("special", ["/dev/zero", "/dev/urandom", "fifo"])
def test_special_files_are_refused_without_reading_them(klass, tmp_path, special):
    path = str(tmp_path / "fifo") if special == "fifo" else special
    if special == "fifo":
        os.mkfifo(path)
    token = klass.tokens["20260001"]
    for args in (["submit", "--allow-blank", str(klass.quiz), "--student", "20260001", "--token", token, "--file",
                  path],
                 ["solve", path], ["solve", "--from-code", path], ["roster", "import", path],
                 ["import-submissions", str(klass.quiz), path]):
        out = _quick(["--db", str(klass.db), *args])  # a hang or 4 GB read would hit the timeout
        assert out.returncode == 1 and "not a regular file" in out.stderr, (args, out.stderr)
        assert len(out.stderr.strip().splitlines()) == 1
    assert klass.count("submissions") == 0


def test_stdin_is_read_with_a_limit():
    with open("/dev/zero", "rb") as zero:
        out = _quick(["solve", "-"], stdin=zero)
    assert out.returncode == 1 and "larger than" in out.stderr


def test_the_store_must_be_a_regular_file_or_a_url(tmp_path):
    fifo = tmp_path / "db.fifo"
    os.mkfifo(fifo)
    for db in (str(fifo), "/dev/null", "/dev/zero"):
        out = _quick(["--db", db, "list"])
        assert out.returncode == 1 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    out = _quick(["--db", ":memory:", "roster", "add", "--id", "a", "--name", "A"], cwd=tmp_path)
    assert out.returncode == 1 and ":memory:" in out.stderr and not (tmp_path / ":memory:").exists()


@pytest.mark.parametrize("command", [["list"], ["show", "1"], ["key", "1"], ["gradebook", "1"], ["report", "1"],
                                     ["status", "1", "--student", "s", "--token", "t"], ["roster", "list"],
                                     ["submit", "--allow-blank", "1", "--student", "s", "--token", "t", "--answer",
                                      "1=1"],
                                     ["verify", "1"], ["grade", "1"]])
def test_read_only_and_student_commands_never_create_a_database(tmp_path, command):
    db = tmp_path / "typo.db"
    out = _quick(["--db", str(db), *command])
    assert out.returncode == 1 and "no quizgen database" in out.stderr
    assert not db.exists() and not list(tmp_path.iterdir())
