"""The per-thread SQLite connection that serves the hot reads.

Each thread keeps one connection for the key lookup, GET and pages. It
must never hold a read transaction between statements, which would show
stale data and keep checkpoints from emptying the write-ahead log.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading

import pytest

from phones_service.accounts import _KEY_LOOKUP, hash_key
from phones_service.database import (
    load_json,
    packed_row,
    sqlite_reader,
    sqlite_statement,
)
from phones_service.extensions import db

from .backends import as_url
from .conftest import SECRET_KEY, check_statements_per_read, create_key, register

pytestmark = pytest.mark.sqlite_run_only("tests the SQLite reading connection")


def database_path(app) -> str:
    return as_url(app.config["PHONES_DATABASE_URL"]).removeprefix("sqlite:///")


def test_reads_see_writes_made_on_other_connections(app, client, phone):
    path = f"/api/phones/{phone['uuid']}"
    assert client.get(path).get_json()["name"] == "Main Office Line"
    listed = client.get("/api/phones", query_string={"search": "office"}).get_json()
    assert listed["total"] == 1

    # Outside the service, as the command line or another process would.
    with sqlite3.connect(database_path(app)) as other:
        other.execute("UPDATE phones_numbers SET name = 'Side Desk'")
    other.close()

    assert client.get(path).get_json()["name"] == "Side Desk"
    listed = client.get("/api/phones", query_string={"search": "office"}).get_json()
    assert listed["total"] == 0


def test_reads_leave_no_transaction_open(app, client, phone):
    client.get(f"/api/phones/{phone['uuid']}")
    client.get("/api/phones", query_string={"search": "office", "limit": 1})
    client.get("/api/phones", query_string={"status": "active"})

    other = sqlite3.connect(database_path(app), timeout=0)
    try:
        with other:
            other.execute("UPDATE phones_numbers SET name = 'Side Desk'")
        # A reader inside a transaction would pin the log: the checkpoint
        # could not truncate it and would report itself blocked.
        busy, _, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        other.close()
    assert busy == 0


def test_each_thread_has_its_own_connection(app):
    with app.app_context():
        main = sqlite_reader()
        assert sqlite_reader() is main

    seen = []

    def read_in_thread():
        with app.app_context():
            connection = sqlite_reader()
            assert connection.execute("SELECT count(*) FROM phones_numbers").fetchone()
            seen.append(connection)

    worker = threading.Thread(target=read_in_thread)
    worker.start()
    worker.join()

    assert len(seen) == 1
    assert seen[0] is not main
    # Closed as the thread ended, without waiting for the garbage collector.
    with pytest.raises(sqlite3.ProgrammingError):
        seen[0].execute("SELECT 1")
    with app.app_context():
        assert sqlite_reader() is main


def test_threads_per_request_leave_no_files_open(app, client, phone):
    def open_files() -> int:
        return len(os.listdir("/proc/self/fd"))

    def get_in_thread():
        assert client.get(f"/api/phones/{phone['uuid']}").status_code == 200

    client.get(f"/api/phones/{phone['uuid']}")
    before = open_files()
    for _ in range(50):
        worker = threading.Thread(target=get_in_thread)
        worker.start()
        worker.join()

    # SQLite may keep a closed file open while others lock it, a few at most.
    assert open_files() - before < 10


def test_disposing_the_engine_opens_a_new_connection(app):
    with app.app_context():
        before = sqlite_reader()
        db.engine.dispose()
        after = sqlite_reader()

        assert after is not before
        assert after.execute("SELECT count(*) FROM phones_numbers").fetchone() == (0,)
        with pytest.raises(sqlite3.ProgrammingError):
            before.execute("SELECT 1")


def test_disposing_the_engine_checkpoints_the_log(app, client, phone):
    assert client.get(f"/api/phones/{phone['uuid']}").status_code == 200

    with app.app_context():
        db.engine.dispose()

    # Closing the database's last connection copies the log into the file.
    assert not os.path.exists(database_path(app) + "-wal")
    with sqlite3.connect(f"file:{database_path(app)}?immutable=1", uri=True) as copy:
        assert copy.execute("SELECT count(*) FROM phones_numbers").fetchone() == (1,)
    copy.close()


def test_reader_is_outside_the_pool(app, client):
    for index in range(3):
        assert register(client, f"+1605444{index:04d}").status_code == 201
        assert client.get("/api/phones").status_code == 200

    with app.app_context():
        sqlite_reader()
        # The reader is not taken from the pool, so none stays checked out.
        assert db.engine.pool.checkedout() == 0


@pytest.mark.parametrize("name", ["Plain", 'Quote " and \\ backslash', "Ünïcode 📞"])
def test_packed_row_reads_as_its_columns(app, name):
    key, _ = create_key(app, name)
    params = {"key_hash": hash_key(key)}
    with app.app_context():
        reader = sqlite_reader()
        columns = sqlite_statement(_KEY_LOOKUP).first(reader, params)
        packed = sqlite_statement(packed_row(_KEY_LOOKUP)).first(reader, params)

    assert len(packed) == 1
    assert tuple(load_json(packed[0])) == columns
    assert name in columns


def test_statements_per_read(app, client, phone, monkeypatch):
    statements: list[str] = []
    run = sqlite_statement(_KEY_LOOKUP).first.__func__

    def record(self, connection, params):
        statements.append(self.sql)
        return run(self, connection, params)

    monkeypatch.setattr(type(sqlite_statement(_KEY_LOOKUP)), "first", record)
    check_statements_per_read(client, phone, statements)


def test_sqlite_service_leaves_psycopg_unloaded(database, tmp_path):
    # In a process of its own, because this one loads psycopg for other tests.
    script = f"""
import sys
from phones_service import create_app
app = create_app(
    {{"TESTING": True, "PHONES_DATABASE_URL": {database!r}, "PHONES_SECRET_KEY": {SECRET_KEY!r}}},
    instance_path={str(tmp_path)!r},
)
assert app.test_client().get("/healthz").status_code == 200
print("psycopg" in sys.modules)
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "False"
