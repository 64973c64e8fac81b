"""SQLAlchemy engine and per-request sessions, without Flask-SQLAlchemy.

The service keeps its own engine so that a host application with its own
database extension can mount the phones API beside it without conflicts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
import json
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from .models import Base

log = logging.getLogger(__name__)

# Execution option that makes a SQLite transaction start with BEGIN IMMEDIATE.
# A deferred transaction that reads and then writes cannot wait for a
# concurrent writer (SQLite returns SQLITE_BUSY at once, whatever the busy
# timeout), so every write transaction takes the write lock up front.
WRITE_TRANSACTION = {"phones_write": True}


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
            engine = create_database_engine(
                url,
                busy_timeout=app.config["PHONES_SQLITE_BUSY_TIMEOUT"],
                pool_size=app.config["PHONES_DATABASE_POOL_SIZE"],
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

    def get_engine(self) -> Engine:
        if isinstance(self._engine, Engine):
            return self._engine
        return self._engine()


def _state() -> _State:
    return current_app.extensions["phones_database"]


def _close_session(exc: BaseException | None) -> None:
    session = g.pop("phones_session", None)
    if session is not None:
        session.close()


def create_database_engine(
    url: str, busy_timeout: float = 15, pool_size: int = 16
) -> Engine:
    """Create an engine, with SQLite set up for concurrent gunicorn threads."""
    options: dict[str, Any] = {
        "json_deserializer": _load_json,
        "pool_size": pool_size,
        "max_overflow": pool_size,
    }
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, **options)
    if make_url(url).database in (None, "", ":memory:"):
        # An in-memory database lives in one connection per thread, which
        # SQLAlchemy's SingletonThreadPool keeps without a size limit.
        del options["pool_size"], options["max_overflow"]

    engine = create_engine(
        url,
        connect_args={"timeout": busy_timeout, "check_same_thread": False},
        **options,
    )
    _configure_sqlite(engine, busy_timeout)
    return engine


def _load_json(text: str) -> Any:
    """Read a JSON column, without a call into the parser for an empty object.

    Most phones have no hooks and no parameters, so that a page of 100
    phones holds up to 200 empty objects.
    """
    return {} if text == "{}" else json.loads(text)


def _configure_sqlite(engine: Engine, busy_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
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
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")
