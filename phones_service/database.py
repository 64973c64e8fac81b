"""SQLAlchemy engine and per-request sessions, without Flask-SQLAlchemy.

The service keeps its own engine so that a host application with its own
database extension can mount the phones API beside it without conflicts.
"""

from __future__ import annotations

import functools
import json
import logging
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

import orjson
from flask import Flask, current_app, g
from sqlalchemy import Engine, Executable, Select, create_engine, event, func, make_url
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from .json_provider import dumps
from .models import Base

log = logging.getLogger(__name__)

# Execution option that makes a SQLite transaction start with BEGIN IMMEDIATE.
# A deferred transaction that reads and then writes cannot wait for a
# concurrent writer (SQLite returns SQLITE_BUSY at once, whatever the busy
# timeout), so every write transaction takes the write lock up front.
WRITE_TRANSACTION = {"phones_write": True}

_PSYCOPG_DIALECT = PGDialect_psycopg()


class Database:
    """Engine and session factory bound to one Flask app."""

    metadata = Base.metadata

    def __init__(self, app: Flask | None = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask, engine: EngineSource | None = None) -> None:
        """Bind to `app`, with its own engine or with `engine`.

        A host application passes its engine, or a callable that returns it
        inside an app context (such as `lambda: db.engine` with
        Flask-SQLAlchemy), so the phones tables live in its database.
        """
        if engine is None:
            url = app.config["PHONES_DATABASE_URL"]
            if in_memory_sqlite(url) and not app.testing:
                raise ValueError(
                    "PHONES_DATABASE_URL names an in-memory SQLite database, "
                    "which every thread opens empty, without the tables that "
                    "migrations create; use a file such as sqlite:///phones.db"
                )
            pool_size = app.config["PHONES_DATABASE_POOL_SIZE"]
            if type(pool_size) is not int or pool_size < 1:
                raise ValueError(
                    f"PHONES_DATABASE_POOL_SIZE must be a whole number of at "
                    f"least 1, such as 16; got {pool_size!r}"
                )
            engine = create_database_engine(
                url,
                busy_timeout=app.config["PHONES_SQLITE_BUSY_TIMEOUT"],
                pool_size=pool_size,
            )
            log.info("database: %s", engine.url.render_as_string(hide_password=True))
        app.extensions["phones_database"] = _State(engine)
        app.teardown_appcontext(_close_session)

    @property
    def engine(self) -> Engine:
        return _state().get_engine()

    def get_engine(self) -> Engine:
        return self.engine

    @property
    def session(self) -> Session:
        """Return the session of the current app context, opening one if needed."""
        session = g.get("phones_session")
        if session is None:
            session = g.phones_session = _state().sessionmaker(bind=self.engine)
        return session


EngineSource = Engine | Callable[[], Engine]


class _State:
    def __init__(self, engine: EngineSource) -> None:
        self._engine = engine
        self.sessionmaker = sessionmaker(expire_on_commit=False)
        self._readers = threading.local()

    def get_engine(self) -> Engine:
        if isinstance(self._engine, Engine):
            return self._engine
        return self._engine()

    def reader(self) -> _Reader:
        """Return this thread's reader, opened on first use."""
        engine = self.get_engine()
        current: _Reader | None = getattr(self._readers, "reader", None)
        # engine.dispose() replaces the pool. A reader opened before then
        # may point at a database file that has since been replaced.
        if current is None or current.pool is not engine.pool:
            if current is not None:
                current.close()
            current = self._readers.reader = _Reader(engine)
            if not event.contains(engine, "engine_disposed", self._close_reader):
                event.listen(engine, "engine_disposed", self._close_reader)
        return current

    def _close_reader(self, _engine: Engine) -> None:
        # Only the disposing thread's reader, because another thread may be
        # reading on its own. That thread replaces its reader at its next read.
        current: _Reader | None = getattr(self._readers, "reader", None)
        if current is not None:
            current.close()


class _Reader:
    """A thread's reading connection, closed as soon as nothing refers to it.

    On SQLite it is a sqlite3 connection, on PostgreSQL a `PostgresReader`,
    elsewhere None. A sqlite3 connection refers to itself through its
    statement cache, so without this it would stay open until the garbage
    collector's next cycle, and a server that starts a thread per request
    would pile up open files.
    """

    __slots__ = ("connection", "pool")

    def __init__(self, engine: Engine) -> None:
        self.pool = engine.pool
        self.connection: sqlite3.Connection | PostgresReader | None = None
        if engine.dialect.name == "sqlite" and isinstance(engine.pool, QueuePool):
            self.connection = _detached_connection(engine)
        elif engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
            self.connection = PostgresReader(engine)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def __del__(self) -> None:
        self.close()


def _detached_connection(engine: Engine) -> Any:
    """Return a new DBAPI connection of `engine` that its pool no longer counts.

    The pool opens it, so the engine's connect settings apply.
    """
    pooled = engine.raw_connection()
    pooled.detach()
    return pooled.dbapi_connection


class PostgresReader:
    """A thread's autocommit psycopg connection for the hot reads on PostgreSQL.

    Each statement runs alone, without the BEGIN, COMMIT and pool pre-ping
    that a session sends around it. psycopg prepares a statement on the
    server after its fifth run on the connection (its `prepare_threshold`,
    which the engine's `connect_args` can change). When the server has
    closed the connection, or it was lost, the read opens a new one once.
    """

    def __init__(self, engine: Engine) -> None:
        # Imported here, because a service on SQLite need not load psycopg,
        # which takes 10 MB of each worker's memory.
        import psycopg

        self._engine = engine
        self._connection: Any = None
        self._connection_error = psycopg.OperationalError

    def all(
        self, statement: Executable, params: dict[str, Any]
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Return the column names and rows of `statement`."""
        compiled = postgresql_statement(statement)
        if compiled.constants:
            params = {**compiled.constants, **params}
        try:
            cursor = self._execute(compiled.sql, params)
        except self._connection_error:
            if self._connection is None or not self._connection.broken:
                raise
            # A read can run again safely. A second failure reaches the caller.
            self.close()
            cursor = self._execute(compiled.sql, params)
        names = [column.name for column in cursor.description]
        return names, cursor.fetchall()

    def first(self, statement: Executable, params: dict[str, Any]) -> Any:
        """Return the first row of `statement`, as a tuple, or None."""
        _names, rows = self.all(statement, params)
        return rows[0] if rows else None

    def _execute(self, sql: str, params: dict[str, Any]) -> Any:
        if self._connection is None:
            connection = _detached_connection(self._engine)
            # The pool's pre-ping may have begun a transaction.
            connection.rollback()
            connection.autocommit = True
            # Timestamps then arrive in UTC, as the UTCDateTime columns load them.
            connection.execute("SET TIME ZONE 'UTC'")
            self._connection = connection
        return self._connection.execute(sql, params)

    def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()


class PostgresStatement:
    """A statement compiled once for psycopg, with its constant values."""

    def __init__(self, statement: Executable) -> None:
        compiled = statement.compile(dialect=_PSYCOPG_DIALECT)
        self.sql = str(compiled)
        self.constants = _constants(compiled)


def _constants(compiled: Any) -> dict[str, Any]:
    """Return the values of a compiled statement's parameters that the caller does not pass."""
    return {
        name: bind.value
        for name, bind in compiled.binds.items()
        if not bind.required and bind.callable is None
    }


@functools.cache
def postgresql_statement(statement: Executable) -> PostgresStatement:
    """Return `statement` compiled for `PostgresReader`, once per statement."""
    return PostgresStatement(statement)


def _state() -> _State:
    return current_app.extensions["phones_database"]


def _close_session(exc: BaseException | None) -> None:
    session = g.pop("phones_session", None)
    if session is not None:
        session.close()


def sqlite_reader() -> sqlite3.Connection | None:
    """Return the current thread's SQLite connection for hot reads.

    The hot read paths (the API key, one phone, a page with or without a
    search) run their prebuilt SQL on it directly. A key lookup through the
    session took 0.52 ms in-process, against 0.05 ms for the same query on
    this connection (the machine in docs/benchmarks.md).

    Each statement runs in its own implicit read transaction, which ends
    when its cursor is freed, without a BEGIN and COMMIT that would each
    release the GIL to the other gunicorn threads and wait to take it
    back. The connection belongs to its thread and closes when the thread
    ends or disposes of the engine, so a request takes no connection from
    the pool and returns none.
    Returns None where the engine is not SQLite, and for an in-memory
    database, whose single connection per thread the session uses too.
    """
    connection = _state().reader().connection
    return connection if isinstance(connection, sqlite3.Connection) else None


def postgresql_reader() -> PostgresReader | None:
    """Return the current thread's PostgreSQL reader for hot reads, or None.

    The key lookup, one phone and a page of phones read through it. It
    belongs to its thread like `sqlite_reader()`. In autocommit mode each
    read returns what was committed before it, as a read transaction of
    its own would. In-process, a GET took 0.57 ms of CPU time this way,
    against 1.11 ms with the same two statements run through the session,
    each in a transaction of its own after the pool's pre-ping.
    """
    connection = _state().reader().connection
    return connection if isinstance(connection, PostgresReader) else None


class SqliteStatement:
    """A statement compiled once to SQLite's SQL, to run on `sqlite_reader()`.

    The caller passes values by name, as with SQLAlchemy, but without its
    type processing: in the form SQLite stores them (a uuid as 32 hex digits).
    Constants of the statement keep their values.
    """

    def __init__(self, statement: Executable) -> None:
        # Positional parameters: for each named one, the sqlite3 module of
        # Python 3.11 releases the GIL once more to look up its name.
        compiled = statement.compile(dialect=sqlite_dialect.dialect(paramstyle="qmark"))
        self.sql = str(compiled)
        self.names = tuple(compiled.positiontup or ())
        self.constants = _constants(compiled)

    def first(self, connection: sqlite3.Connection, params: dict[str, Any]) -> Any:
        """Return the first row, as a tuple of the stored values, or None."""
        if self.constants:
            params = {**self.constants, **params}
        values = tuple([params[name] for name in self.names])
        return connection.execute(self.sql, values).fetchone()


def packed_row(statement: Select[Any]) -> Select[Any]:
    """Return `statement` with the values of each row packed into one JSON array.

    The sqlite3 module releases the GIL around every column value that it
    reads, and under gunicorn's threads each release can wait for another
    thread. Read the array with `load_json`.
    """
    return statement.with_only_columns(func.json_array(*statement.selected_columns))


@functools.cache
def sqlite_statement(statement: Executable) -> SqliteStatement:
    """Return `statement` compiled for `sqlite_reader()`, once per statement."""
    return SqliteStatement(statement)


def in_memory_sqlite(url: str) -> bool:
    """Return whether `url` names an in-memory SQLite database."""
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database in (
        None,
        "",
        ":memory:",
    )


def create_database_engine(
    url: str, busy_timeout: float = 15, pool_size: int = 16
) -> Engine:
    """Create an engine, with SQLite set up for concurrent gunicorn threads."""
    options: dict[str, Any] = {
        # Compact UTF-8, as responses write JSON, because GET and list
        # responses embed the stored text of `hooks` and `parameters`.
        "json_serializer": dumps,
        "json_deserializer": load_json,
        # Error messages and logs show statements without their values,
        # which may hold encrypted passwords and callers' data.
        "hide_parameters": True,
        "pool_size": pool_size,
        "max_overflow": pool_size,
    }
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, **options)
    if in_memory_sqlite(url):
        # An in-memory database lives in one connection per thread, which
        # SQLAlchemy's SingletonThreadPool keeps without a size limit.
        del options["pool_size"], options["max_overflow"]

    engine = create_engine(
        url,
        connect_args={
            "timeout": busy_timeout,
            "check_same_thread": False,
            "factory": WriterConnection,
        },
        **options,
    )
    _configure_sqlite(engine, busy_timeout)
    return engine


def load_json(text: str | bytes) -> Any:
    """Read JSON exactly, and fast: JSON columns and SQLite's pages of phones.

    orjson reads several times faster than the json module, but turns an
    integer beyond 64 bits into a float. Where its result contains a float
    that large, the json module reads the text again.
    """
    if text == "{}":
        return {}
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
    return json.loads(text) if has_huge_float(value) else value


def has_huge_float(value: Any) -> bool:
    """Return whether `value` contains a float at or beyond 2**63 in size.

    orjson reads an integer below -2**63 as the float -2**63, so that value
    counts too. A float that large is read again exactly either way.
    """
    pending = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is float:
            if abs(item) >= 2**63:
                return True
        elif kind is dict:
            pending.extend(item.values())
        elif kind is list:
            pending.extend(item)
    return False


class WriterConnection(sqlite3.Connection):
    """sqlite3 connection that holds a lock of its engine while it writes.

    SQLite lets one connection write at a time. A connection that finds the
    database locked sleeps in SQLite's busy handler and tries again, after
    up to 100 ms, so under a steady load of writes some of them waited more
    than a second. The threads of one process instead queue on this lock,
    which passes to the next writer as soon as the current one commits.
    Other processes, such as the command line, still meet SQLite's busy
    handler.
    """

    writer_lock: threading.Lock | None = None
    holds_writer_lock = False

    def begin_write(self, timeout: float) -> None:
        """Take the writer lock, then start a write transaction."""
        if self.writer_lock is not None:
            # Past the timeout, BEGIN IMMEDIATE waits in the busy handler.
            self.holds_writer_lock = self.writer_lock.acquire(timeout=timeout)
        try:
            self.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._release()
            raise

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()

    def _release(self) -> None:
        if self.holds_writer_lock and self.writer_lock is not None:
            self.holds_writer_lock = False
            self.writer_lock.release()


def _configure_sqlite(engine: Engine, busy_timeout: float) -> None:
    writer_lock = threading.Lock()

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        if isinstance(dbapi_connection, WriterConnection):
            dbapi_connection.writer_lock = writer_lock
        # Take transaction control from the sqlite3 module, so that BEGIN is
        # issued below and its kind chosen per transaction.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        # FULL syncs the WAL on every commit, so an acknowledged write
        # survives a power cut, not only a crash of the process.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        if connection.get_execution_options().get("phones_write"):
            dbapi_connection = connection.connection.dbapi_connection
            if isinstance(dbapi_connection, WriterConnection):
                dbapi_connection.begin_write(busy_timeout)
            else:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            # Straight to the driver: SQLAlchemy's statement execution
            # costs more than the BEGIN itself.
            connection.connection.dbapi_connection.execute("BEGIN")
