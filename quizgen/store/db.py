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
import re
import shutil
import sqlite3
import stat
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from ..clock import local_zone_name, now, zone_name
from ..errors import BusyError, OutdatedDatabaseError, StoreError, clip
from ..resources import migrations_dir
from .prepared import Cursor

DEFAULT_DB = "quizgen.db"
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
# How a write transaction starts on SQLite (read at each BEGIN, so the reliability
# suite's negative control can set it to DEFERRED inside its own worker process).
WRITE_BEGIN = "BEGIN IMMEDIATE"


def resolve_url(db: str | None) -> str:
    """A SQLAlchemy URL from a --db value: a URL as given (``postgresql://`` means psycopg 3),
    anything else a SQLite path."""
    db = db or DEFAULT_DB
    if db.strip() == ":memory:" or db.startswith("file::memory:"):
        raise StoreError("--db :memory: would be a database that vanishes when the command ends; "
                         "give a file's path or a postgresql:// URL")
    if db.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + db.split("://", 1)[1]
    if "://" in db:
        scheme = db.split("://", 1)[0]
        if scheme.split("+")[0] not in ("sqlite", "postgresql"):
            raise StoreError(f"{scheme}:// databases are not supported: give an SQLite file's path "
                             "or a postgresql:// URL")
        return db
    return f"sqlite:///{os.path.abspath(db)}"


@dataclass
class Store:
    """An opened, validated database."""

    url: str
    engine: Engine
    write_engine: Engine
    path: Path | None  # the SQLite file, or None for a server database
    busy_ms: int = field(default_factory=busy_timeout_ms)  # QUIZGEN_BUSY_TIMEOUT_MS, read when opened
    # SQLite: this process's writers queue here for the file's one write lock, instead of
    # each polling BEGIN IMMEDIATE (see write)
    _writers: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    # the submission path's connections, one held by each thread that records attempts (see cursor)
    _held: threading.local = field(default_factory=threading.local, repr=False, compare=False)
    _all_held: list[Connection] = field(default_factory=list, repr=False, compare=False)
    # what the library keeps of this database in memory between requests (each user checks
    # its entries' validity against the rows it reads; see classroom.attempts)
    memo: dict[object, object] = field(default_factory=dict, repr=False, compare=False)

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
        """One write transaction: committed whole on success, rolled back whole on any error.

        On SQLite one writer at a time holds the file's write lock, whatever the process.
        Threads of one process (the service's submission threads) take turns on a lock of
        their own first, so that only one of them at a time polls for the file's lock: the
        others sleep, and the writer holding it is not slowed by their polling for Python's
        GIL. Waiting here is bounded by the busy timeout too (then "database is busy"), as
        is the wait for the file's lock that follows it."""
        if self.path is None:
            with translate_errors(self), Session(self.write_engine, expire_on_commit=False) as session:
                with session.begin():
                    yield session
            return
        if not self._writers.acquire(timeout=self.busy_ms / 1000):
            raise BusyError(f"database is busy ({self.path}); try again")
        try:
            with translate_errors(self), Session(self.write_engine, expire_on_commit=False) as session:
                with session.begin():
                    yield session
        finally:
            self._writers.release()

    def _connection(self) -> Connection:
        conn = getattr(self._held, "conn", None)
        if conn is None or conn.closed or conn.invalidated:
            with translate_errors(self):
                conn = self._held.conn = self.write_engine.connect()
            self._all_held.append(conn)
        return conn

    def _drop_held(self, conn: Connection) -> None:
        """Forget a connection that failed (PostgreSQL restarted, a network error): the next
        transaction on this thread opens a new one."""
        try:
            conn.invalidate()
        except Exception:  # noqa: BLE001 - it is being thrown away
            pass
        self._held.conn = None

    @contextmanager
    def cursor(self, write: bool = True) -> Iterator[Cursor]:
        """A transaction for the submission path (store.prepared), on a connection this thread
        keeps open between transactions (no pool checkout, no ping: a connection that fails
        is replaced on the next call). ``write``: as ``write()``, committed whole or rolled
        back whole (on SQLite, after this process's writers' lock and BEGIN IMMEDIATE); else
        a read, in SQLite's autocommit (each statement sees the latest commit) or, on
        PostgreSQL, a transaction rolled back at the end."""
        if self.path is not None and write and not self._writers.acquire(timeout=self.busy_ms / 1000):
            raise BusyError(f"database is busy ({self.path}); try again")
        try:
            conn = self._connection()
            try:
                with translate_errors(self):
                    if write:
                        with conn.begin():
                            yield Cursor(conn)
                    else:
                        try:
                            yield Cursor(conn)
                        finally:
                            if self.path is None:
                                conn.connection.dbapi_connection.rollback()  # type: ignore[union-attr]
            except BaseException:
                if self._broken(conn):
                    self._drop_held(conn)
                raise
        finally:
            if self.path is not None and write:
                self._writers.release()

    def _broken(self, conn: Connection) -> bool:
        raw = conn.connection.dbapi_connection if not conn.invalidated and not conn.closed else None
        if raw is None:
            return True
        if self.path is not None:
            return False
        return bool(getattr(raw, "broken", False) or getattr(raw, "closed", False))

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
        for conn in self._all_held:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing what is left at shutdown
                pass
        self._all_held.clear()
        self.engine.dispose()

    def readable_by_others(self) -> list[Path]:
        """The store's files (the database, its -wal and -shm) that every user of this
        machine may read: whoever reads them reads the answer key. Empty for a server database."""
        if self.path is None:
            return []
        return [f for f in (self.path, *(Path(f"{self.path}{s}") for s in ("-wal", "-shm"))) if _world_readable(f)]


def _world_readable(path: Path) -> bool:
    try:
        return bool(os.stat(path).st_mode & stat.S_IROTH)
    except OSError:
        return False


def create_private_file(path: Path) -> bool:
    """Create ``path`` empty with mode 0600, before SQLite creates it: SQLite would make it
    0644 (less the umask), and it gives a database's -wal and -shm the database's own mode,
    so they are private too. False when the file exists already (it is left as it is)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_CLOEXEC", 0), 0o600)
    except FileExistsError:
        return False
    except OSError as exc:
        raise StoreError(f"cannot create {clip(str(path), 80)}: {exc.strerror}") from None
    os.close(fd)
    return True


@contextmanager
def translate_errors(store: Store | None) -> Iterator[None]:
    """Database driver errors become one-line StoreErrors, sorted by the driver's own
    error classes and codes (never by searching message text)."""
    try:
        yield
    except DBAPIError as exc:  # includes OperationalError
        raise _translated(exc.orig if exc.orig is not None else exc, store) from None
    except _driver_errors() as exc:  # raised unwrapped: quizgen's BEGIN IMMEDIATE hook, store.prepared
        raise _translated(exc, store) from None
    except (UnicodeDecodeError, json.JSONDecodeError):  # a damaged file: bytes that decode to nothing
        where = store.path if store and store.path else "the database"
        raise StoreError(f"{where} is damaged: it holds data quizgen cannot read (restore a backup)") from None


def _driver_errors() -> tuple[type[BaseException], ...]:
    """The database drivers' own error classes (psycopg's once it is loaded)."""
    psycopg = sys.modules.get("psycopg")
    return (sqlite3.Error, psycopg.Error) if psycopg is not None else (sqlite3.Error,)


# SQLite's primary result codes (the low byte of sqlite_errorcode): https://sqlite.org/rescode.html
_SQLITE_BUSY = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED
_SQLITE_READONLY = 8
_SQLITE_CANT_WRITE = {10, 13, 18}  # SQLITE_IOERR, SQLITE_FULL, SQLITE_TOOBIG
_SQLITE_NOT_A_DB = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
# PostgreSQL SQLSTATEs that mean "try again": serialization failure, deadlock, lock not available,
# statement timeout / cancel, too many connections, server starting or shutting down.
_PG_RETRY = ("40001", "40P01", "55P03", "57014", "53300", "57P01", "57P03")


def _translated(exc: BaseException, store: Store | None) -> StoreError:
    where = str(store.path) if store and store.path else (redact_url(store.url) if store else "the database")
    first = _message_line(exc, store)
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        primary = code & 0xFF
        if primary in _SQLITE_BUSY:
            return BusyError(f"database is busy (another quizgen is writing to {where}); try again")
        if primary == _SQLITE_READONLY:
            return StoreError(f"{where} is read-only; quizgen cannot write to it")
        if primary in _SQLITE_CANT_WRITE:
            return StoreError(f"cannot write to {where}: {first} (nothing was written)")
        if primary in _SQLITE_NOT_A_DB:
            return StoreError(f"{where} is not a quizgen database (the file is not a readable SQLite database)")
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate in _PG_RETRY:
        return BusyError(f"database is busy ({where}); try again")
    if _is_connection_failure(exc, sqlstate):
        return StoreError(f"cannot connect to {where}: {first}")
    return StoreError(f"database error on {where}: {first}")


def _is_connection_failure(exc: BaseException, sqlstate: str | None) -> bool:
    if sqlstate is not None:
        return sqlstate.startswith("08")
    try:
        import psycopg  # noqa: PLC0415 - only PostgreSQL stores get here
    except ImportError:
        return False
    return isinstance(exc, psycopg.OperationalError)  # no SQLSTATE: the server was never reached


def _message_line(exc: BaseException, store: Store | None) -> str:
    """The driver's message: first line, the password scrubbed, clipped."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    password = _password(store.url) if store else None
    if password:
        text = text.replace(password, "***")
    return clip(text, 200)


def _password(url: str) -> str | None:
    try:
        return make_url(url).password
    except Exception:  # a path, not a URL
        return None


def redact_url(url: str) -> str:
    """A database URL fit to print: the password masked (a plain path comes back as it is)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL: a path
        return url


def sqlite_path(url: str) -> Path | None:
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
    if path.exists() and not stat.S_ISREG(path.stat().st_mode):  # a FIFO would hang, a device is not ours
        raise StoreError(f"{path} is not a regular file (a device, FIFO or socket); --db takes a database file "
                         "or a postgresql:// URL")
    if not path.exists():
        if not os.access(path.parent, os.W_OK):
            raise StoreError(f"cannot create {path}: folder {path.parent} is not writable")
        return True
    _refuse_if_not_sqlite(path)
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _refuse_if_not_sqlite(path: Path) -> None:
    """Refuse a file SQLite cannot read, asking SQLite itself (read-only, nothing written).

    Not by opening the file with Python to read its header: closing any descriptor of a
    file drops every POSIX lock this process holds on it, so a process that already has
    the database open (a server, a test) would lose SQLite's locks, and another process
    could then checkpoint and remove the WAL under it."""
    try:
        probe = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=0)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read {path}: {exc}") from None
    try:
        probe.execute("PRAGMA schema_version").fetchone()
    except sqlite3.Error as exc:
        if (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in _SQLITE_NOT_A_DB:
            raise StoreError(f"{path} is not a quizgen database (not an SQLite file, or a damaged one)") from None
        # busy, locked or unreadable here: opening it for real reports that precisely
    finally:
        probe.close()


_SHORT_BUSY_MS = 0  # BEGIN IMMEDIATE fails at once while another writer holds the lock: _begin_write retries


def _begin_write(dbapi_conn: sqlite3.Connection, busy_ms: int) -> None:
    """BEGIN IMMEDIATE, waiting up to ``busy_ms`` for the write lock.

    SQLite's own busy handler backs off to 100 ms sleeps, so under many writers a
    waiting process polls rarely and can lose the lock again and again (seconds of
    tail latency with 8 concurrent submitters). Here quizgen retries itself: every
    0.1-0.6 ms for the first 50 ms (the service's transactions hold the lock for a few
    milliseconds, and each sleep longer than that leaves the lock idle:
    bench/bench_service.py served 160-165 submits/s with 0.5-3 ms sleeps, 198-210 with
    these), then every 0.5-3 ms (a batch holding the lock for seconds is waited for
    without spinning), until the timeout.
    """
    started = time.monotonic()
    deadline = started + busy_ms / 1000
    dbapi_conn.execute(f"PRAGMA busy_timeout = {_SHORT_BUSY_MS}")
    try:
        while True:
            try:
                dbapi_conn.execute(WRITE_BEGIN)
                return
            except sqlite3.OperationalError as exc:
                if (getattr(exc, "sqlite_errorcode", 0) & 0xFF) not in _SQLITE_BUSY:
                    raise
                waited = time.monotonic() - started
                if started + waited >= deadline:
                    raise
                time.sleep(random.uniform(0.0001, 0.0006) if waited < 0.05 else random.uniform(0.0005, 0.003))
    finally:
        # everything else (reads, and statements inside the transaction) waits the full timeout
        dbapi_conn.execute(f"PRAGMA busy_timeout = {busy_ms}")


# A server database URL's ``?pooler=transaction``: quizgen reaches PostgreSQL through a pooler
# in transaction mode (PgBouncer's pool_mode = transaction), where each transaction may run
# on another server connection, so a statement prepared on one (psycopg prepares those
# run five times) is unknown on the next: psycopg is told never to prepare. Removed from
# the URL before it reaches the driver (libpq knows no such option).
POOLER_OPTION = "pooler"


def server_connect_args(url: str) -> tuple[str, dict[str, object]]:
    """The URL the driver is given and psycopg's connection arguments, from a server URL."""
    parsed = make_url(url)
    pooler = parsed.query.get(POOLER_OPTION)
    if pooler is None:
        return url, {}
    if pooler != "transaction":
        raise StoreError(f"?{POOLER_OPTION}= takes 'transaction' (a pooler such as PgBouncer in transaction mode), "
                         f"not {clip(str(pooler), 30)!r}")
    return (parsed.difference_update_query([POOLER_OPTION]).render_as_string(hide_password=False),
            {"prepare_threshold": None})


def _make_engines(url: str, path: Path | None, writable: bool) -> tuple[Engine, Engine]:
    busy_ms = busy_timeout_ms()
    if path is None:
        driver_url, connect_args = server_connect_args(url)
        engine = create_engine(driver_url, pool_pre_ping=True, connect_args=connect_args)
        return engine, engine.execution_options(quizgen_write=True)
    if writable:
        engine = create_engine(url, connect_args={"timeout": busy_ms / 1000})
    else:
        uri = f"file:{path}?mode=ro"
        engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
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
            _begin_write(conn.connection.dbapi_connection, busy_ms)  # type: ignore[arg-type]  # sqlite3's
        else:
            conn.exec_driver_sql("BEGIN")

    return engine, engine.execution_options(quizgen_write=True)


def open_store(db: str | None = None, *, create: bool = True, read_only: bool = False) -> Store:
    """Open and validate the store named by ``db``.

    ``create``: a missing, zero-byte or empty database is created at head (the
    commands that build a class: init, roster, generate, demo). Without it such a
    path is refused, so a mistyped ``--db`` on ``list`` or ``submit`` never leaves
    an empty database behind. ``read_only`` (SQLite): opened so that nothing, not even
    the switch to WAL, is written (a backup being checked)."""
    busy_timeout_ms()  # a bad QUIZGEN_BUSY_TIMEOUT_MS is reported before anything else
    url = resolve_url(db)
    path = sqlite_path(url)
    shown = str(path) if path is not None else redact_url(url)
    if not create and path is not None and not _has_content(path):
        raise StoreError(f"there is no quizgen database at {clip(shown, 120)} (check --db / QUIZGEN_DB; "
                         "'quizgen init' creates one)")
    writable = _check_sqlite_file(path) and not read_only if path is not None else True
    if create and path is not None and writable and not path.exists():
        create_private_file(path)  # an empty file is a fresh database: migrated to head below
    try:
        engine, write_engine = _make_engines(url, path, writable)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot open {shown}: {_message_line(exc, None)}") from None
    except ImportError as exc:  # the URL's driver: psycopg comes with quizgen[postgres]
        raise StoreError(f"cannot open {shown}: its driver {exc.name or ''} is not installed "
                         "(pip install 'quizgen[postgres]' for PostgreSQL)") from None
    store = Store(url, engine, write_engine, path)
    try:
        with translate_errors(store):
            revision = _current_revision(engine)
            if revision == schema_head():
                _use_wal(store, writable)
                return store
            if revision is None and create:
                if not writable:
                    raise StoreError(f"{path} is read-only and has no quizgen tables yet")
                _use_wal(store, writable)
                _migrate_fresh(store)
                return store
            if revision is None:
                raise StoreError(f"{clip(shown, 120)} has no quizgen tables; 'quizgen init' creates them")
            _refuse_revision(store, revision)
    except BaseException:
        engine.dispose()
        raise
    return store


def _has_content(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except OSError:
        return False


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
    where = store.path or redact_url(store.url)
    if revision in _script_revisions():
        raise OutdatedDatabaseError(
            f"{where} is at schema revision {revision} but this quizgen expects {schema_head()}; "
            "run 'quizgen db upgrade' (it backs the file up first)")
    raise StoreError(f"{where} was made by a newer quizgen (schema revision {clip(revision, 40)}, this one knows "
                     f"up to {schema_head()}); upgrade quizgen")


_REVISION = re.compile(r"^revision\s*=\s*['\"]([^'\"]+)['\"]", re.M)
_DOWN_REVISION = re.compile(r"^down_revision\s*=\s*(?:['\"]([^'\"]+)['\"]|None)", re.M)


@cache
def _script_revisions() -> dict[str, str | None]:
    """revision → down_revision of every migration script, read from the scripts' own
    ``revision = ...`` lines (importing Alembic would cost every student command its
    start-up time; tests/test_migrations.py holds this to Alembic's ScriptDirectory)."""
    out: dict[str, str | None] = {}
    for script in sorted((migrations_dir() / "versions").glob("*.py")):
        source = script.read_text(encoding="utf-8")
        rev, down = _REVISION.search(source), _DOWN_REVISION.search(source)
        if rev and down:
            out[rev.group(1)] = down.group(1)
    return out


@cache
def schema_head() -> str:
    """The newest revision of the migration scripts: what this quizgen expects."""
    revisions = _script_revisions()
    heads = set(revisions) - {down for down in revisions.values() if down}
    if len(heads) != 1:
        raise StoreError(f"the migration scripts have {len(heads)} heads ({', '.join(sorted(heads))}); "
                         "this quizgen installation is broken")
    return heads.pop()


MIGRATION_LOCK = 0x71_7A_67_00  # "qzg\0": PostgreSQL advisory lock keys used by quizgen
GRADING_LOCK = 0x71_7A_67_01


def lock_for_writing(conn: Connection, key: int, sub: int = 0, shared: bool = False) -> None:
    """Serialise writers that must not interleave. SQLite's BEGIN IMMEDIATE already
    holds the database's write lock; PostgreSQL takes a transaction-scoped advisory lock,
    ``shared`` by writers that may run together but never beside an exclusive holder."""
    if conn.dialect.name == "postgresql":
        function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        conn.execute(text(f"SELECT {function}(:k, :s)"), {"k": key, "s": sub})


def _alembic_config(connection: Connection | None = None, time_zone: str | None = None):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    if connection is not None:
        config.attributes["connection"] = connection
    if time_zone is not None:  # how migration 0004 reads deadlines stored without a zone
        config.attributes["time_zone"] = time_zone
    return config


def _upgrade(conn: Connection, time_zone: str | None = None, target: str = "head") -> None:
    from alembic import command

    command.upgrade(_alembic_config(conn, time_zone), target)


@contextmanager
def _migration_transaction(store: Store) -> Iterator[Connection]:
    """One write transaction to migrate in, holding the migration lock.

    SQLite: foreign keys are switched off for it (they can only be switched outside
    a transaction), because batch migrations copy a table, drop the original and
    rename the copy, and dropping a table that submissions point at fails with
    "FOREIGN KEY constraint failed". Before the commit, ``PRAGMA foreign_key_check``
    must find nothing, so the rows are exactly as consistent as before (SQLite's own
    recipe for altering tables: https://sqlite.org/lang_altertable.html)."""
    with store.write_engine.connect() as conn:
        sqlite = store.path is not None
        if sqlite:
            conn.connection.dbapi_connection.execute("PRAGMA foreign_keys = OFF")  # type: ignore[union-attr]
        try:
            with conn.begin():
                lock_for_writing(conn, MIGRATION_LOCK)
                yield conn
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise StoreError(f"the migration would leave {len(broken)} row(s) pointing at rows that "
                                         f"do not exist (first: table {broken[0][0]}); nothing was changed")
        finally:
            if sqlite:
                conn.connection.dbapi_connection.execute("PRAGMA foreign_keys = ON")  # type: ignore[union-attr]


def _migrate_fresh(store: Store) -> None:
    # Inside one write transaction: a second process doing the same waits on the
    # lock (SQLite's write lock, PostgreSQL's advisory lock), then finds the schema
    # already there and does nothing.
    with _migration_transaction(store) as conn:
        revision = _revision_on(conn)
        if revision == schema_head():
            return
        if revision is not None:
            _refuse_revision(store, revision)
        _upgrade(conn)


def init_store(db: str | None) -> tuple[Store, bool]:
    """Create a database at head; returns (store, created)."""
    path = sqlite_path(resolve_url(db))
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


def upgrade_store(db: str | None, time_zone: str | None = None) -> UpgradeResult:
    """Migrate an older database to head, backing a SQLite file up first.

    ``time_zone`` is the zone deadlines stored by quizgen before revision 0004 are
    read in (the machine's local zone unless given). If the migration fails, the
    backup is copied back and the error says so.
    """
    url = resolve_url(db)
    path = sqlite_path(url)
    writable = _check_sqlite_file(path) if path is not None else True
    if path is not None and not path.exists():
        raise StoreError(f"{path} does not exist; 'quizgen init' creates a new database")
    if not writable:
        raise StoreError(f"{path} is read-only; quizgen cannot upgrade it")
    time_zone = zone_name(time_zone) if time_zone else local_zone_name()
    engine, write_engine = _make_engines(url, path, writable)
    store = Store(url, engine, write_engine, path)
    head = schema_head()
    try:
        with translate_errors(store):
            revision = _current_revision(engine)
        if revision == head:
            return UpgradeResult(revision, revision, None)
        if revision is not None and revision not in _script_revisions():
            _refuse_revision(store, revision)
        backup = _backup(store) if path is not None else None
        migrating = False
        try:
            with translate_errors(store), _migration_transaction(store) as conn:
                if _revision_on(conn) == head:  # another upgrade finished while we waited
                    if backup is not None:
                        backup.unlink(missing_ok=True)
                    return UpgradeResult(head, head, None)
                migrating = True
                _upgrade(conn, time_zone)
        except Exception as exc:
            engine.dispose()
            if not migrating:  # never got the lock: nothing of ours to undo
                if backup is not None:
                    backup.unlink(missing_ok=True)
                raise
            why = clip(" ".join(str(exc).split()), 200)
            if backup is not None and path is not None:
                _restore(backup, path)
                raise StoreError(f"upgrade failed ({why}); the database was restored from {backup}") from None
            raise StoreError(f"upgrade failed ({why}); the transaction was rolled back") from None
        return UpgradeResult(revision or "(empty)", head, backup)
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
    create_private_file(target)  # it holds the answer key, as the database does
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

    with _migration_transaction(store) as conn:
        command.downgrade(_alembic_config(conn), target)
