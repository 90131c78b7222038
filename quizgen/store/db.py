"""Engine, sessions and schema management for the quiz store.

The default store is ``quizgen.db`` in the current folder; ``--db`` / ``QUIZGEN_DB``
name another file or any SQLAlchemy URL (PostgreSQL for a shared deployment).

Opening a store validates it before anything is written: a fresh (or absent,
or zero-byte) database is migrated to the head revision from code; an older
one is refused until ``quizgen db upgrade``; a newer one, a foreign SQLite
database, or a file that is not SQLite at all is refused. On SQLite every write
transaction starts with ``BEGIN IMMEDIATE`` (taking the write lock up front, so
two writers queue on the busy timeout instead of failing mid-transaction), the
journal is WAL and foreign keys are on.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from ..errors import BusyError, OutdatedDatabaseError, StoreError, clip

DEFAULT_DB = "quizgen.db"
SCHEMA_HEAD = "0003"  # tests/test_migrations.py checks this equals the newest script
# How long a writer waits for another's write lock before "database is busy".
DEFAULT_BUSY_TIMEOUT_MS = 15000


def busy_timeout_ms() -> int:
    """QUIZGEN_BUSY_TIMEOUT_MS, read when a store is opened (a bad value is the user's
    one-line error then, not a traceback while quizgen imports)."""
    text = os.environ.get("QUIZGEN_BUSY_TIMEOUT_MS", str(DEFAULT_BUSY_TIMEOUT_MS))
    try:
        value = int(text.strip())
    except ValueError:
        value = -1
    if not 0 <= value <= 3_600_000:
        raise StoreError(f"QUIZGEN_BUSY_TIMEOUT_MS must be a number of milliseconds from 0 to 3,600,000, "
                         f"not {clip(text, 20)!r}")
    return value
# Test hook only: QUIZGEN_SQLITE_WRITE_BEGIN=DEFERRED reproduces the bug that BEGIN
# IMMEDIATE prevents, so the negative-control test can show it; never set it otherwise.
_WRITE_BEGIN = "BEGIN " + os.environ.get("QUIZGEN_SQLITE_WRITE_BEGIN", "IMMEDIATE").upper()
_SQLITE_MAGIC = b"SQLite format 3\x00"


def resolve_url(db: str | None) -> str:
    """A SQLAlchemy URL from a --db value: a URL as given (``postgresql://`` means psycopg 3),
    anything else a SQLite path."""
    db = db or DEFAULT_DB
    if db.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + db.split("://", 1)[1]
    if "://" in db:
        scheme = db.split("://", 1)[0]
        if scheme.split("+")[0] not in ("sqlite", "postgresql"):
            raise StoreError(f"{scheme}:// databases are not supported: give an SQLite file's path "
                             "or a postgresql:// URL")
        return db
    return f"sqlite:///{os.path.abspath(db)}"


def now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Store:
    """An opened, validated database."""

    url: str
    engine: Engine
    write_engine: Engine
    path: Path | None  # the SQLite file, or None for a server database

    @property
    def is_sqlite(self) -> bool:
        return self.path is not None

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading (no write lock is taken)."""
        with translate_errors(self), Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: committed whole on success, rolled back whole on any error."""
        with translate_errors(self), Session(self.write_engine, expire_on_commit=False) as session:
            with session.begin():
                yield session

    def checkpoint(self) -> None:
        """Copy the WAL back into the database now (SQLite; a no-op elsewhere).

        A batch writer calls this after each chunk, so the WAL never grows past the
        auto-checkpoint size on some student's small commit, which would then pay
        for copying the whole batch (seconds of fsync) inside ``quizgen submit``."""
        if self.path is None:
            return
        raw = self.engine.raw_connection()
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            raw.close()

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def translate_errors(store: Store | None) -> Iterator[None]:
    """Database driver errors become one-line StoreErrors."""
    try:
        yield
    except DBAPIError as exc:  # includes OperationalError
        raise _translated(str(exc.orig) if exc.orig is not None else str(exc), store) from None
    except sqlite3.Error as exc:  # raised unwrapped from quizgen's own BEGIN IMMEDIATE hook
        raise _translated(str(exc), store) from None
    except (UnicodeDecodeError, json.JSONDecodeError):  # a damaged file: bytes that decode to nothing
        where = store.path if store and store.path else "the database"
        raise StoreError(f"{where} is damaged: it holds data quizgen cannot read (restore a backup)") from None


def _translated(msg: str, store: Store | None) -> StoreError:
    low = msg.lower()
    where = str(store.path) if store and store.path else (store.url if store else "the database")
    if "locked" in low or "busy" in low:
        return BusyError(f"database is busy (another quizgen is writing to {where}); try again")
    if "readonly" in low or "read-only" in low:
        return StoreError(f"{where} is read-only; quizgen cannot write to it")
    if "disk is full" in low or "disk i/o" in low or "file too large" in low:
        return StoreError(f"cannot write to {where}: {msg} (nothing was written)")
    if "not a database" in low or "malformed" in low:
        return StoreError(f"{where} is not a quizgen database (the file is not a readable SQLite database)")
    if "connection" in low and ("refused" in low or "failed" in low or "timeout" in low):
        return StoreError(f"cannot connect to {_redact(where)}: {msg.splitlines()[0]}")
    return StoreError(f"database error on {_redact(where)}: {msg.splitlines()[0] if msg else 'unknown error'}")


def _redact(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL: a path
        return url


def _sqlite_path(url: str) -> Path | None:
    u = make_url(url)
    if u.get_backend_name() != "sqlite":
        return None
    if not u.database or u.database == ":memory:":
        raise StoreError("quizgen needs a database file, not an in-memory database")
    return Path(u.database)


def _check_sqlite_file(path: Path) -> bool:
    """Validate the file before SQLite touches it; True when it is writable."""
    try:
        return _checked_sqlite_file(path)
    except OSError as exc:  # a name too long, a path through a file, ...
        raise StoreError(f"cannot use {clip(str(path), 80)}: {exc.strerror}") from None


def _checked_sqlite_file(path: Path) -> bool:
    if path.is_dir():
        raise StoreError(f"{path} is a directory, not a database file")
    if not path.parent.is_dir():
        raise StoreError(f"cannot create {path}: folder {path.parent} does not exist")
    if not path.exists():
        if not os.access(path.parent, os.W_OK):
            raise StoreError(f"cannot create {path}: folder {path.parent} is not writable")
        return True
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror}") from None
    if head and head != _SQLITE_MAGIC:
        raise StoreError(f"{path} is not a quizgen database (not an SQLite file)")
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


_SHORT_BUSY_MS = 5


def _begin_write(dbapi_conn: sqlite3.Connection, busy_ms: int) -> None:
    """BEGIN IMMEDIATE, waiting up to ``busy_ms`` for the write lock.

    SQLite's own busy handler backs off to 100 ms sleeps, so under many writers a
    waiting process polls rarely and can lose the lock again and again (seconds of
    tail latency with 8 concurrent submitters). Here SQLite waits only a few
    milliseconds and quizgen retries with short random sleeps until the timeout.
    """
    deadline = time.monotonic() + busy_ms / 1000
    dbapi_conn.execute(f"PRAGMA busy_timeout = {_SHORT_BUSY_MS}")
    try:
        while True:
            try:
                dbapi_conn.execute(_WRITE_BEGIN)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise
                time.sleep(random.uniform(0.0005, 0.003))
    finally:
        # everything else (reads, and statements inside the transaction) waits the full timeout
        dbapi_conn.execute(f"PRAGMA busy_timeout = {busy_ms}")


def _make_engines(url: str, path: Path | None, writable: bool) -> tuple[Engine, Engine]:
    busy_ms = busy_timeout_ms()
    if path is None:
        engine = create_engine(url, pool_pre_ping=True)
        return engine, engine.execution_options(quizgen_write=True)
    if writable:
        engine = create_engine(url, connect_args={"timeout": busy_ms / 1000})
    else:
        uri = f"file:{path}?mode=ro"
        engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        # Driver autocommit: SQLAlchemy's "begin" event below issues BEGIN itself,
        # so quizgen (not pysqlite) decides when and how a transaction starts.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {busy_ms}")
        cur.execute("PRAGMA foreign_keys = ON")
        if writable:
            cur.execute("PRAGMA synchronous = FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("quizgen_write"):
            _begin_write(conn.connection.dbapi_connection, busy_ms)
        else:
            conn.exec_driver_sql("BEGIN")

    return engine, engine.execution_options(quizgen_write=True)


def open_store(db: str | None = None, *, migrate: bool = True) -> Store:
    """Open (creating if new) and validate the store named by ``db``."""
    url = resolve_url(db)
    path = _sqlite_path(url)
    writable = _check_sqlite_file(path) if path is not None else True
    try:
        engine, write_engine = _make_engines(url, path, writable)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot open {url}: {exc}") from None
    except ImportError as exc:  # the URL's driver: psycopg comes with quizgen[postgres]
        raise StoreError(f"cannot open {url}: its driver {exc.name or ''} is not installed "
                         "(pip install 'quizgen[postgres]' for PostgreSQL)") from None
    store = Store(url, engine, write_engine, path)
    try:
        with translate_errors(store):
            revision = _current_revision(engine)
            if revision == SCHEMA_HEAD:
                _use_wal(store, writable)
                return store
            if revision is None and migrate:
                if not writable:
                    raise StoreError(f"{path} is read-only and has no quizgen tables yet")
                _use_wal(store, writable)
                _migrate_fresh(store)
                return store
            if revision is None:
                raise StoreError(f"{store.path or url} has no quizgen tables; run 'quizgen init'")
            _refuse_revision(store, revision)
    except BaseException:
        engine.dispose()
        raise
    return store


def _use_wal(store: Store, writable: bool) -> None:
    """Switch a validated SQLite file to WAL (persistent; only ever done to our own files)."""
    if store.path is None or not writable:
        return
    raw = store.engine.raw_connection()  # outside any transaction: SQLite refuses the switch inside one
    try:
        cur = raw.cursor()
        if cur.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            cur.execute("PRAGMA journal_mode = WAL")
        cur.close()
    finally:
        raw.close()


def _current_revision(engine: Engine) -> str | None:
    """The Alembic revision, None for an empty database; refuses a foreign one."""
    with engine.connect() as conn:
        return _revision_on(conn)


def _revision_on(conn: Connection) -> str | None:
    tables = set(inspect(conn).get_table_names())
    if not tables:
        return None
    if "alembic_version" not in tables:
        shown = ", ".join(sorted(tables)[:5])
        raise StoreError(f"this is not a quizgen database (it holds other tables: {shown})")
    row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    return None if row is None else str(row[0])


def _refuse_revision(store: Store, revision: str) -> None:
    where = store.path or store.url
    if revision in _known_revisions():
        raise OutdatedDatabaseError(
            f"{where} is at schema revision {revision} but this quizgen expects {SCHEMA_HEAD}; "
            "run 'quizgen db upgrade' (it backs the file up first)")
    raise StoreError(f"{where} was made by a newer quizgen (schema revision {revision}, this one knows up to "
                     f"{SCHEMA_HEAD}); upgrade quizgen")


MIGRATION_LOCK = 0x71_7A_67_00  # "qzg\0": PostgreSQL advisory lock keys used by quizgen
GRADING_LOCK = 0x71_7A_67_01


def lock_for_writing(conn: Connection, key: int, sub: int = 0) -> None:
    """Serialise writers that must not interleave. SQLite's BEGIN IMMEDIATE already
    holds the database's write lock; PostgreSQL takes a transaction-scoped advisory lock."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k, :s)"), {"k": key, "s": sub})


def _alembic_config(connection: Connection | None = None):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    from ..resources import migrations_dir

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {rev.revision for rev in ScriptDirectory.from_config(_alembic_config()).walk_revisions()}


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()  # type: ignore[return-value]


def _upgrade(conn: Connection, target: str = "head") -> None:
    from alembic import command

    command.upgrade(_alembic_config(conn), target)


def _migrate_fresh(store: Store) -> None:
    # Inside one write transaction: a second process doing the same waits on the
    # lock (SQLite's write lock, PostgreSQL's advisory lock), then finds the schema
    # already there and does nothing.
    with store.write_engine.begin() as conn:
        lock_for_writing(conn, MIGRATION_LOCK)
        revision = _revision_on(conn)
        if revision == SCHEMA_HEAD:
            return
        if revision is not None:
            _refuse_revision(store, revision)
        _upgrade(conn)


def init_store(db: str | None) -> tuple[Store, bool]:
    """Create a database at head; returns (store, created)."""
    path = _sqlite_path(resolve_url(db))
    try:
        existed = path is not None and path.exists() and path.stat().st_size > 0
    except OSError:
        existed = False  # open_store says what is wrong with the path
    store = open_store(db)
    return store, not existed


@dataclass(frozen=True)
class UpgradeResult:
    from_revision: str
    to_revision: str
    backup: Path | None


def upgrade_store(db: str | None) -> UpgradeResult:
    """Migrate an older database to head, backing a SQLite file up first.

    If the migration fails, the backup is copied back and the error says so.
    """
    url = resolve_url(db)
    path = _sqlite_path(url)
    writable = _check_sqlite_file(path) if path is not None else True
    if path is not None and not path.exists():
        raise StoreError(f"{path} does not exist; 'quizgen init' creates a new database")
    if not writable:
        raise StoreError(f"{path} is read-only; quizgen cannot upgrade it")
    engine, write_engine = _make_engines(url, path, writable)
    store = Store(url, engine, write_engine, path)
    try:
        with translate_errors(store):
            revision = _current_revision(engine)
        if revision == SCHEMA_HEAD:
            return UpgradeResult(revision, revision, None)
        if revision is not None and revision not in _known_revisions():
            _refuse_revision(store, revision)
        backup = _backup(store) if path is not None else None
        migrating = False
        try:
            with translate_errors(store), write_engine.begin() as conn:
                lock_for_writing(conn, MIGRATION_LOCK)
                if _revision_on(conn) == SCHEMA_HEAD:  # another upgrade finished while we waited
                    if backup is not None:
                        backup.unlink(missing_ok=True)
                    return UpgradeResult(SCHEMA_HEAD, SCHEMA_HEAD, None)
                migrating = True
                _upgrade(conn)
        except Exception as exc:
            engine.dispose()
            if not migrating:  # never got the lock: nothing of ours to undo
                if backup is not None:
                    backup.unlink(missing_ok=True)
                raise
            if backup is not None and path is not None:
                _restore(backup, path)
                raise StoreError(f"upgrade failed ({exc}); the database was restored from {backup}") from None
            raise StoreError(f"upgrade failed ({exc}); the transaction was rolled back") from None
        return UpgradeResult(revision or "(empty)", SCHEMA_HEAD, backup)
    finally:
        engine.dispose()


def _backup(store: Store) -> Path:
    assert store.path is not None
    stamp = now().strftime("%Y%m%d-%H%M%S")
    target = store.path.with_name(f"{store.path.name}.bak-{stamp}")
    n = 1
    while target.exists():
        target = store.path.with_name(f"{store.path.name}.bak-{stamp}-{n}")
        n += 1
    src = sqlite3.connect(str(store.path))
    try:
        dst = sqlite3.connect(str(target))
        with dst:
            src.backup(dst)
        dst.close()
    finally:
        src.close()
    return target


def _restore(backup: Path, path: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    shutil.copyfile(backup, path)


def downgrade_store(store: Store, target: str = "base") -> None:
    """For tests and emergencies: migrate down (base drops every table)."""
    from alembic import command

    with store.write_engine.begin() as conn:
        command.downgrade(_alembic_config(conn), target)
