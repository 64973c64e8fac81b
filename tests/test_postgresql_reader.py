"""The per-thread PostgreSQL connection that the hot reads use.

Each test makes its own database, because one test ends every connection
to it and another changes its time zone.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.engine import make_url

from phones_service.database import PostgresReader
from phones_service.extensions import db

from .conftest import (
    authorized_client,
    check_statements_per_read,
    create_key,
    make_app,
    migrate_template,
    register,
)
from .pg import admin_url, execute, query, require_postgres, temporary_database

pytestmark = pytest.mark.sqlite_run_only("starts its own PostgreSQL databases")

PHONES = "/api/phones"
OTHER_BACKENDS = (
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    require_postgres()
    with temporary_database() as url:
        migrate_template(url, tmp_path / "template")
        yield url


def open_app(url: str, tmp_path: Path) -> Flask:
    return make_app(url, tmp_path / "instance")


def test_reader_reconnects_after_termination(database_url, tmp_path):
    app = open_app(database_url, tmp_path)
    client = authorized_client(app, create_key(app)[0])
    phone = register(client).get_json()
    assert client.get(f"{PHONES}/{phone['uuid']}").status_code == 200

    # As a server restart or an idle timeout of a proxy would.
    ended = query(
        database_url,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    assert ended[0][0] >= 1

    response = client.get(f"{PHONES}/{phone['uuid']}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == phone
    listed = client.get(PHONES)
    assert listed.status_code == 200, listed.get_data(as_text=True)
    assert listed.get_json()["total"] == 1


def test_reader_timestamps_in_any_zone(database_url, tmp_path):
    # A zone 13 h 45 min from UTC, so that an offset left in would show.
    execute(
        database_url,
        "DO $$ BEGIN EXECUTE format("
        "'ALTER DATABASE %I SET timezone TO ''Pacific/Chatham''', current_database()"
        "); END $$",
    )
    assert query(database_url, "SHOW timezone") == [("Pacific/Chatham",)]
    app = open_app(database_url, tmp_path)
    client = authorized_client(app, create_key(app)[0])
    registered = [
        register(client, number).get_json()
        for number in ("+16054440129", "+16054440130", "+16054440131")
    ]

    for phone in registered:
        response = client.get(f"{PHONES}/{phone['uuid']}")
        assert response.get_json() == phone
        assert phone["createdAt"].endswith("Z")

    # One phone per page, through the cursor that each page links to.
    listed = []
    cursor = None
    for _ in registered:
        query_string = (
            {"limit": 1} if cursor is None else {"limit": 1, "cursor": cursor}
        )
        page = client.get(PHONES, query_string=query_string).get_json()
        listed.extend(page["phones"])
        cursor = page["nextCursor"]
    assert cursor is None
    assert listed == registered[::-1]


def test_dispose_closes_reader(database_url, tmp_path):
    app = open_app(database_url, tmp_path)
    client = authorized_client(app, create_key(app)[0])
    with app.app_context():
        db.engine.dispose()
    assert query(database_url, OTHER_BACKENDS) == [(0,)]

    assert client.get(PHONES).status_code == 200
    # The reader, and the pool's connection that recorded the key's use.
    assert query(database_url, OTHER_BACKENDS)[0][0] >= 1
    with app.app_context():
        db.engine.dispose()
    assert query(database_url, OTHER_BACKENDS) == [(0,)]


def test_refused_connections_get_503(database_url, tmp_path):
    # Errors become responses, as outside tests, instead of reaching pytest.
    app = make_app(database_url, tmp_path / "instance", PROPAGATE_EXCEPTIONS=False)
    client = authorized_client(app, create_key(app)[0])
    phone = register(client).get_json()
    path = f"{PHONES}/{phone['uuid']}"
    admin = admin_url().render_as_string(hide_password=False)
    name = make_url(database_url).database
    execute(admin, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    try:
        query(
            admin,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            f"WHERE datname = '{name}'",
        )
        for method, url, body in (
            ("GET", path, None),
            ("GET", PHONES, None),
            ("GET", f"{PHONES}?search=404", None),
            ("POST", PHONES, {"number": "+16054440130"}),
        ):
            response = client.open(url, method=method, json=body)
            assert response.status_code == 503, (method, url)
            assert response.headers["Retry-After"] == "5"
            assert response.get_json()["message"].startswith(
                "The database is unavailable"
            )
    finally:
        execute(admin, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')

    assert client.get(path).status_code == 200


def test_statements_per_read(database_url, tmp_path, monkeypatch):
    app = open_app(database_url, tmp_path)
    client = authorized_client(app, create_key(app)[0])
    phone = register(client).get_json()
    statements: list[str] = []
    execute_on_server = PostgresReader._execute

    def record(self, sql, params):
        statements.append(sql)
        return execute_on_server(self, sql, params)

    monkeypatch.setattr(PostgresReader, "_execute", record)
    check_statements_per_read(client, phone, statements)

    # Another client's key finds no phone of this one.
    other = authorized_client(app, create_key(app, "Other team")[0])
    assert other.get(f"{PHONES}/{phone['uuid']}").status_code == 404
    assert len(statements) == 1
