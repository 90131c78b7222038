"""Statements for the submission path: written with SQLAlchemy Core against the tables
(so the SQL and its types stay the schema's), compiled once per dialect, and run on the
database driver's own cursor.

A service that records hundreds of submissions a second spent most of its time in
SQLAlchemy rather than in the database: building each statement again, its cache key,
the ORM's unit of work, result objects (bench/bench_service.py --profile). Here the
SQL text, the order of its parameters and each column's conversion are worked out on
first use; each execution only converts the values that need it (times, booleans) the
way SQLAlchemy's types would, and hands the rest to the driver.

JSON columns are the exception: a JSON parameter is given as JSON text (the caller has
usually just made it) and a JSON column is selected cast to text; each driver would
otherwise convert it its own way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.types import JSON


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...] | None  # parameter order for a positional paramstyle; None: by name
    binds: dict[str, Callable[[Any], Any]]  # the parameters that need converting
    defaults: dict[str, Any]  # values the statement holds itself (a literal in a comparison)
    results: tuple[Callable[[Any], Any] | None, ...]  # per selected column, or None

    def params(self, values: Mapping[str, Any]) -> Any:
        if self.defaults:
            values = {**self.defaults, **values}
        if self.binds:
            values = {k: (self.binds[k](v) if k in self.binds and v is not None else v) for k, v in values.items()}
        if self.names is None:
            return values
        return tuple(values[n] for n in self.names)

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(v if f is None or v is None else f(v) for f, v in zip(self.results, raw))


class Prepared:
    """One Core statement (bind parameters named with ``bindparam``), run on a ``Cursor``.

    ``replanned_after``: on PostgreSQL, the statement's text changes (a comment) after that
    many runs in this process, and again each time the runs double, so that each
    connection prepares it again and PostgreSQL plans it from the table as it is then.
    psycopg prepares a statement run five times on a connection, and PostgreSQL then keeps
    one generic plan for the connection's life: for a read of a table that grows from
    empty while the service runs (attempts), a plan made when the table looked empty
    chose by a tie of estimates an index on the quiz alone, and scanned every attempt of
    the quiz for each new one (2.4 ms of PostgreSQL's time per submission after 4,000 of
    them); planning at every run instead would cost more than the statement does."""

    def __init__(self, statement: ClauseElement, replanned_after: int | None = None):
        self.statement = statement
        self.replanned_after = replanned_after
        self._runs = 0
        self._compiled: dict[str, _Compiled] = {}

    def sql(self, compiled: _Compiled, dialect: Dialect) -> str:
        """The text to run now (see the class doc)."""
        if self.replanned_after is None or dialect.name != "postgresql":
            return compiled.sql
        self._runs += 1  # a count lost between threads only shifts the next replanning
        return f"{compiled.sql} /* plan {(self._runs // self.replanned_after).bit_length()} */"

    def compiled(self, dialect: Dialect) -> _Compiled:
        done = self._compiled.get(dialect.name)
        if done is None:
            done = self._compiled[dialect.name] = self._compile(dialect)
        return done

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled: Any = self.statement.compile(dialect=dialect)  # an SQLCompiler: binds, positiontup
        binds = {}
        defaults = {name: bind.value for name, bind in compiled.binds.items() if not bind.required}
        for name, bind in compiled.binds.items():
            if isinstance(bind.type, JSON):
                continue  # given as JSON text (module doc)
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                binds[name] = process
        columns = list(getattr(self.statement, "selected_columns", None) or [])
        if not columns:
            columns = list(getattr(self.statement, "_returning", ()) or ())
        results = []
        for column in columns:
            if isinstance(column.type, JSON):
                raise ValueError("select a JSON column cast to text (module doc)")
            results.append(column.type.dialect_impl(dialect).result_processor(dialect, None))
        positional = dialect.paramstyle in ("qmark", "numeric", "format")
        names = tuple(compiled.positiontup or ()) if positional else None
        return _Compiled(compiled.string, names, binds, defaults, tuple(results))


class Cursor:
    """A driver cursor in one transaction of an SQLAlchemy connection (``connection``, for
    the rare statement that goes through SQLAlchemy in the same transaction). Listeners of
    SQLAlchemy's cursor events (a test that records every statement a route runs) are
    told of each statement, as SQLAlchemy would tell them."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self.dialect: Dialect = connection.dialect
        self.raw: Any = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        dispatch = connection.dispatch
        self._before = dispatch.before_cursor_execute if dispatch.before_cursor_execute else None
        self._after = dispatch.after_cursor_execute if dispatch.after_cursor_execute else None

    def _execute(self, sql: str, params: Any, many: bool = False) -> None:
        if self._before is not None:
            self._before(self.connection, self.raw, sql, params, None, many)
        if many:
            self.raw.executemany(sql, params)
        else:
            self.raw.execute(sql, params)
        if self._after is not None:
            self._after(self.connection, self.raw, sql, params, None, many)

    def all(self, statement: Prepared, **values: Any) -> list[tuple[Any, ...]]:
        c = statement.compiled(self.dialect)
        self._execute(statement.sql(c, self.dialect), c.params(values))
        return [c.row(r) for r in self.raw.fetchall()]

    def first(self, statement: Prepared, **values: Any) -> tuple[Any, ...] | None:
        rows = self.all(statement, **values)
        return rows[0] if rows else None

    def run(self, statement: Prepared, **values: Any) -> None:
        c = statement.compiled(self.dialect)
        self._execute(statement.sql(c, self.dialect), c.params(values))

    def many(self, statement: Prepared, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        c = statement.compiled(self.dialect)
        self._execute(c.sql, [c.params(r) for r in rows], many=True)

    def sql(self, text: str) -> None:
        """A statement without parameters or results (SAVEPOINT, RELEASE ...)."""
        self._execute(text, ())
