"""Consistent copies of a live store, while ``quizgen serve`` keeps writing to it.

SQLite: the online backup API copies every page within one read transaction, so the
copy is the database as of one instant (WAL lets the writers carry on meanwhile);
copying the file instead can tear it, the WAL being a separate file. The copy is made
a single self-contained file (rollback journal instead of WAL), then checked by
SQLite (``PRAGMA integrity_check``) and for quizgen's schema head.

PostgreSQL: ``pg_dump --format=custom`` (itself one snapshot), when it is installed;
the archive is checked by restoring it into a scratch database when the role may create
one (``pg_restore --list`` otherwise).
"""

from __future__ import annotations

import glob
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from ..errors import StoreError, clip
from .db import Store, open_store, redact_url, schema_head, translate_errors


class BackupError(StoreError):
    """A backup that could not be made, or whose copy failed its check (nothing is kept)."""


@dataclass(frozen=True)
class Copy:
    """What made a backup and what was checked about the copy itself."""

    method: str
    revision: str
    checked: str


def copy_sqlite(store: Store, target: Path) -> Copy:
    """Copy the live SQLite store into ``target`` (an empty file) and check the copy."""
    assert store.path is not None
    source = sqlite3.connect(str(store.path), timeout=store.busy_ms / 1000)
    try:
        copy = sqlite3.connect(str(target))
        try:
            source.backup(copy)  # every page in one step: one read transaction, one instant
            copy.execute("PRAGMA journal_mode = DELETE")  # one file: no -wal to lose beside it
            problems = [row[0] for row in copy.execute("PRAGMA integrity_check")]
            revision = copy.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            copy.close()
    except sqlite3.Error as exc:
        raise BackupError(f"cannot back up {store.path}: {clip(str(exc), 200)}") from None
    finally:
        source.close()
    if problems != ["ok"]:
        raise BackupError(f"the copy of {store.path} failed SQLite's integrity check ({clip(problems[0], 200)}); "
                          "nothing was kept")
    found = revision[0] if revision else None
    if found != schema_head():
        raise BackupError(f"the copy is at schema revision {found}, not {schema_head()}; nothing was kept")
    return Copy(f"SQLite's online backup API (SQLite {sqlite3.sqlite_version})", found,
                "SQLite's integrity_check: ok")


def _tool(name: str) -> str | None:
    """A PostgreSQL client program: on the PATH, else the newest in Debian's versioned folders."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(Path(p).parts[-3]))
    return versions[-1] if versions else None


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without its password, and the environment that carries the
    password (never on a command line, which every local user can read)."""
    u = make_url(url)
    env = {"PGPASSWORD": u.password} if u.password else {}
    plain = u.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return plain, env


def _run(argv: list[str], env: dict[str, str], what: str, url: str) -> str:
    import os

    done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, **env}, timeout=3600)
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[0]
        raise BackupError(f"{what} failed for {redact_url(url)}: {clip(first, 200)}")
    return done.stdout


def dump_postgresql(store: Store, target: Path) -> Copy:
    """``pg_dump --format=custom`` of the live database into ``target``; the archive's table of
    contents is read back with ``pg_restore --list``."""
    pg_dump, pg_restore = _tool("pg_dump"), _tool("pg_restore")
    if pg_dump is None or pg_restore is None:
        raise BackupError("pg_dump and pg_restore are not installed (Debian: apt install postgresql-client); "
                          "quizgen backs PostgreSQL up with them")
    with store.read() as session:
        revision = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
        server = session.execute(text("SHOW server_version")).scalar()
    if revision != schema_head():
        raise BackupError(f"the database is at schema revision {revision}, not {schema_head()}; "
                          "run 'quizgen db upgrade' first")
    uri, env = _libpq(store.url)
    version = _run([pg_dump, "--version"], env, "pg_dump", store.url).strip()
    _run([pg_dump, "--format=custom", "--no-owner", "--file", str(target), "--dbname", uri], env, "pg_dump",
         store.url)
    entries = [line for line in _run([pg_restore, "--list", str(target)], env, "pg_restore --list", store.url)
               .splitlines() if line and not line.startswith(";")]
    if not any(" TABLE DATA " in line and "alembic_version" in line for line in entries):
        raise BackupError("the archive pg_dump wrote holds no quizgen tables; nothing was kept")
    return Copy(f"{version} --format=custom (server {server})", str(revision),
                f"pg_restore reads its {len(entries)} entries")


@contextmanager
def restored_copy(store: Store, archive: Path) -> Iterator[Store | None]:
    """The archive restored into a scratch database on the same server, opened (read it,
    then it is dropped); None when the role may not create a database."""
    pg_restore = _tool("pg_restore")
    assert pg_restore is not None
    name = f"quizgen_check_{uuid.uuid4().hex[:12]}"
    admin = create_engine(store.url, isolation_level="AUTOCOMMIT")
    try:
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) == "42501":  # no CREATEDB: checked by its table of contents only
                yield None
                return
            with translate_errors(store):
                raise
        try:
            url = make_url(store.url).set(database=name)
            uri, env = _libpq(url.render_as_string(hide_password=False))
            _run([pg_restore, "--no-owner", "--exit-on-error", "--dbname", uri, str(archive)], env, "pg_restore",
                 store.url)
            copy = open_store(url.render_as_string(hide_password=False), create=False)
            try:
                yield copy
            finally:
                copy.dispose()
        finally:
            with admin.connect() as conn:  # every connection to it is closed by now
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    finally:
        admin.dispose()
