"""Fixtures: an app on a real, migrated SQLite file per test, and its clients."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from examples.host_app import db as host_db
from phones_service import create_app
from phones_service.accounts import AccountRepository
from phones_service.clients import DEFAULT_CLIENT_UUID
from phones_service.extensions import db

from .backends import BACKEND, as_url, client_ids, reset_postgresql
from .pg import require_postgres, temporary_database
from .services import PrefixClient, create_host_user, logged_in_client, make_host_app

SECRET_KEY = Fernet.generate_key().decode()
# Users of the host app template database: name to (user id, client uuid).
HOST_USERS: dict[str, tuple[int, str]] = {"ann": (0, ""), "bob": (0, "")}
# Apps made by the current test, whose engines are disposed after it.
CREATED_APPS: list[Flask] = []
# Clients that a PostgreSQL template database had after migration, by URL.
KEPT_CLIENTS: dict[str, list[int]] = {}


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    """In the PostgreSQL run, skip what runs only in the SQLite run."""
    if BACKEND != "postgresql":
        return
    for item in items:
        marker = item.get_closest_marker("sqlite_run_only")
        if marker is not None:
            item.add_marker(pytest.mark.skip(reason=marker.args[0]))


def make_app(database: Path | str, instance_path: Path, **config: Any) -> Flask:
    """Create the standalone app on a SQLite file path or a database URL."""
    settings = {
        "TESTING": True,
        "PHONES_DATABASE_URL": as_url(database),
        "PHONES_SECRET_KEY": SECRET_KEY,
        **config,
    }
    app = create_app(settings, instance_path=str(instance_path))
    CREATED_APPS.append(app)
    return app


@pytest.fixture(autouse=True)
def dispose_engines() -> Iterator[None]:
    """Close the connection pools of every app a test made.

    Without this, each test's pool stays open and a PostgreSQL run soon
    exceeds the server's connection limit.
    """
    yield
    while CREATED_APPS:
        app = CREATED_APPS.pop()
        with app.app_context():
            if "phones_database" in app.extensions:
                db.engine.dispose()
            if "sqlalchemy" in app.extensions:
                host_db.engine.dispose()


def migrate_template(database: Path | str, folder: Path) -> None:
    app = make_app(database, folder)
    with app.app_context():
        upgrade()
        # Closing the last connection checkpoints a SQLite WAL into the file.
        db.engine.dispose()


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a database with every migration applied, used by each test.

    Each test gets a copy of the SQLite file, or, on PostgreSQL, the same
    database emptied again.
    """
    folder = tmp_path_factory.mktemp("template")
    if BACKEND == "sqlite":
        path = folder / "phones.db"
        migrate_template(path, folder)
        yield as_url(path)
        return

    require_postgres()
    with temporary_database() as url:
        migrate_template(url, folder)
        KEPT_CLIENTS[url] = client_ids(url)
        yield url


@pytest.fixture
def database(tmp_path: Path, migrated_database: str) -> str:
    """URL of a migrated database that no other test uses at the same time."""
    if BACKEND == "postgresql":
        reset_postgresql(migrated_database, KEPT_CLIENTS[migrated_database])
        return migrated_database
    path = tmp_path / "phones.db"
    shutil.copyfile(as_url(migrated_database).removeprefix("sqlite:///"), path)
    return as_url(path)


@pytest.fixture
def fresh_database(tmp_path: Path) -> Iterator[str]:
    """URL of an empty database, with no migration applied."""
    if BACKEND == "sqlite":
        yield as_url(tmp_path / "fresh.db")
        return
    require_postgres()
    with temporary_database() as url:
        yield url


@pytest.fixture
def app(database: str, tmp_path: Path) -> Iterator[Flask]:
    yield make_app(database, tmp_path)


def create_key(app: Flask, client_reference: str | None = None) -> tuple[str, str]:
    """Return a new API key and its client's uuid, creating a client if named."""
    with app.app_context():
        accounts = AccountRepository(db.session)
        if client_reference is None:
            owner = accounts.find_client(str(DEFAULT_CLIENT_UUID))
        else:
            owner = accounts.create_client(client_reference)
        return accounts.create_key(owner).key, str(owner.uuid)


def authorized_client(app: Flask, key: str) -> FlaskClient:
    test_client = app.test_client()
    test_client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return test_client


@pytest.fixture
def api_key(app: Flask) -> str:
    return create_key(app)[0]


@pytest.fixture
def client(app: Flask, api_key: str) -> FlaskClient:
    """Test client authenticated as the default client."""
    return authorized_client(app, api_key)


@pytest.fixture
def anonymous(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


def register(client: FlaskClient, number: str = "+16054440129", **fields: Any) -> Any:
    """POST a phone and return the response."""
    return client.post("/api/phones", json={"number": number, **fields})


def check_statements_per_read(
    client: FlaskClient, phone: dict[str, Any], statements: list[str]
) -> None:
    """Check how many statements each kind of read runs on the database reader.

    A GET, a HEAD and a GET of a missing phone run one each, and a page
    without a search two. The caller records each statement that its
    reader runs in `statements`.
    """
    path = f"/api/phones/{phone['uuid']}"
    response = client.get(path)
    assert response.status_code == 200
    assert response.get_json() == phone
    assert len(statements) == 1
    statements.clear()

    missing = client.get("/api/phones/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert len(statements) == 1
    statements.clear()

    head = client.head(path)
    assert head.status_code == 200
    assert head.headers["ETag"] == response.headers["ETag"]
    assert len(statements) == 1
    statements.clear()

    # A page without a search: the key lookup, then the page with its total.
    for query in ({}, {"status": "active"}, {"status": "inactive", "page": 3}):
        listed = client.get("/api/phones", query_string=query)
        assert listed.status_code == 200
        assert len(statements) == 2, query
        statements.clear()


@pytest.fixture
def phone(client: FlaskClient) -> dict[str, Any]:
    """A registered phone with every optional field set."""
    response = register(
        client,
        name="Main Office Line",
        referenceId="d398f9d8d9f",
        provider="twilio",
        sipTrunk="sip.example.com",
        sipTrunkUser="user_abc",
        sipTrunkPassword="s3cret-Trunk-Pass",
        server={"url": "wss://voice.example.com/ws", "region": "us-east-1"},
        hooks={"on_call_end": "https://hooks.example.com/end"},
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture(scope="session")
def migrated_host_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Host database with its own and the phones migrations, and two users."""
    folder = tmp_path_factory.mktemp("host-template")
    if BACKEND == "sqlite":
        url = as_url(folder / "host.db")
        _migrate_host_template(url, folder)
        yield url
        return

    require_postgres()
    with temporary_database() as url:
        _migrate_host_template(url, folder)
        KEPT_CLIENTS[url] = client_ids(url)
        yield url


def _migrate_host_template(url: str, folder: Path) -> None:
    app = make_host_app(url, folder, SECRET_KEY)
    with app.app_context():
        upgrade(revision="heads")
    for username in HOST_USERS:
        HOST_USERS[username] = create_host_user(app, username)
    with app.app_context():
        host_db.engine.dispose()


@pytest.fixture
def host_app(tmp_path: Path, migrated_host_database: str) -> Flask:
    """Example host application with the phones API mounted in it."""
    if BACKEND == "postgresql":
        reset_postgresql(migrated_host_database, KEPT_CLIENTS[migrated_host_database])
        host = make_host_app(migrated_host_database, tmp_path, SECRET_KEY)
    else:
        path = tmp_path / "host.db"
        shutil.copyfile(migrated_host_database.removeprefix("sqlite:///"), path)
        host = make_host_app(as_url(path), tmp_path, SECRET_KEY)
    CREATED_APPS.append(host)
    return host


@pytest.fixture(params=["standalone", "embedded"])
def service_client(request: pytest.FixtureRequest) -> FlaskClient:
    """Client of the standalone service, then of the API mounted in a host."""
    if request.param == "embedded":
        return logged_in_client(request.getfixturevalue("host_app"), HOST_USERS["ann"])
    app = request.getfixturevalue("app")
    app.test_client_class = PrefixClient
    test_client = authorized_client(app, request.getfixturevalue("api_key"))
    test_client.phones_client_uuid = str(DEFAULT_CLIENT_UUID)
    return test_client
