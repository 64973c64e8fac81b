"""SQLite engine: writers of one process take turns on a lock, and the pool
keeps a connection per thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import IntegrityError

from phones_service import create_app
from phones_service.database import (
    WRITE_TRANSACTION,
    WriterConnection,
    create_database_engine,
)

from .conftest import SECRET_KEY

pytestmark = pytest.mark.sqlite_run_only("tests a SQLite connection class")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_database_engine(
        f"sqlite:///{tmp_path / 'writers.db'}", busy_timeout=5
    )
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE items (id INTEGER PRIMARY KEY, note TEXT)"
        )
    yield engine
    engine.dispose()


def writer_lock(engine: Engine) -> threading.Lock:
    with engine.connect() as connection:
        dbapi_connection = connection.connection.dbapi_connection
        assert isinstance(dbapi_connection, WriterConnection)
        assert dbapi_connection.writer_lock is not None
        return dbapi_connection.writer_lock


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """Yield a connection inside a write transaction, committed on exit."""
    options = WRITE_TRANSACTION
    with engine.connect().execution_options(**options) as connection:  # noqa: SIM117
        with connection.begin():
            yield connection


def write(engine: Engine, item_id: int, note: str = "x") -> None:
    with writing(engine) as connection:
        connection.execute(
            text("INSERT INTO items (id, note) VALUES (:id, :note)"),
            {"id": item_id, "note": note},
        )


def test_every_connection_shares_one_lock(engine):
    with engine.connect() as first, engine.connect() as second:
        locks = {
            id(connection.connection.dbapi_connection.writer_lock)
            for connection in (first, second)
        }
    assert len(locks) == 1


def test_lock_held_until_commit(engine):
    lock = writer_lock(engine)
    with writing(engine) as connection:
        connection.execute(text("INSERT INTO items (id) VALUES (1)"))
        assert lock.locked()
    assert not lock.locked()


def test_lock_is_free_after_failed_write_rolls_back(engine):
    lock = writer_lock(engine)
    write(engine, 1)
    with pytest.raises(IntegrityError):
        write(engine, 1)
    assert not lock.locked()
    write(engine, 2)


def test_reads_do_not_take_the_lock(engine):
    lock = writer_lock(engine)
    with engine.connect() as connection, connection.begin():
        connection.execute(text("SELECT count(*) FROM items")).scalar_one()
        assert not lock.locked()


def test_lock_is_free_after_connection_closes_mid_write(engine):
    lock = writer_lock(engine)
    connection = engine.connect().execution_options(**WRITE_TRANSACTION)
    connection.begin()
    assert lock.locked()
    connection.invalidate()
    connection.close()
    assert not lock.locked()
    write(engine, 1)


def test_second_writer_waits_for_first_to_commit(engine):
    events: list[str] = []
    first_began = threading.Event()

    def first() -> None:
        with writing(engine) as connection:
            first_began.set()
            connection.execute(text("INSERT INTO items (id) VALUES (1)"))
            time.sleep(0.3)
            events.append("first commits")
        events.append("first committed")

    def second() -> None:
        assert first_began.wait(5)
        write(engine, 2)
        events.append("second committed")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert events == ["first commits", "first committed", "second committed"]


def test_many_threads_write_without_errors(engine):
    errors: list[BaseException] = []

    def worker(start: int) -> None:
        try:
            for item_id in range(start, start + 25):
                write(engine, item_id)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n * 100,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    with engine.connect() as connection:
        assert (
            connection.execute(text("SELECT count(*) FROM items")).scalar_one() == 200
        )
    assert not writer_lock(engine).locked()


def test_pool_keeps_a_connection_per_thread(tmp_path):
    engine = create_database_engine(f"sqlite:///{tmp_path / 'pool.db'}", pool_size=6)
    try:
        connections = [engine.connect() for _ in range(6)]
        for connection in connections:
            connection.close()
        # Six connections opened, six kept: none closed on return.
        assert engine.pool.checkedin() == 6
    finally:
        engine.dispose()


@pytest.mark.parametrize("value", [0, -1, "many", 2.5, True])
def test_invalid_pool_size_is_rejected_at_start(tmp_path, value):
    with pytest.raises(ValueError, match="PHONES_DATABASE_POOL_SIZE"):
        create_app(
            {
                "PHONES_DATABASE_URL": f"sqlite:///{tmp_path / 'pool.db'}",
                "PHONES_DATABASE_POOL_SIZE": value,
                "PHONES_SECRET_KEY": SECRET_KEY,
            },
            instance_path=str(tmp_path / "instance"),
        )
