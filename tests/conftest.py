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

from .services import PrefixClient, create_host_user, logged_in_client, make_host_app

SECRET_KEY = Fernet.generate_key().decode()
# Users of the host app template database: name to (user id, client uuid).
HOST_USERS: dict[str, tuple[int, str]] = {"ann": (0, ""), "bob": (0, "")}


def make_app(database_path: Path, instance_path: Path, **config: Any) -> Flask:
    settings = {
        "TESTING": True,
        "PHONES_DATABASE_URL": f"sqlite:///{database_path}",
        "PHONES_SECRET_KEY": SECRET_KEY,
        **config,
    }
    return create_app(settings, instance_path=str(instance_path))


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SQLite file with every migration applied, copied by each test."""
    folder = tmp_path_factory.mktemp("template")
    path = folder / "phones.db"
    app = make_app(path, folder)
    with app.app_context():
        upgrade()
        # Closing the last connection checkpoints the WAL into the file.
        db.engine.dispose()
    return path


@pytest.fixture
def database_path(tmp_path: Path, migrated_database: Path) -> Path:
    path = tmp_path / "phones.db"
    shutil.copyfile(migrated_database, path)
    return path


@pytest.fixture
def app(database_path: Path, tmp_path: Path) -> Iterator[Flask]:
    yield make_app(database_path, tmp_path)


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
def migrated_host_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Host database with its own and the phones migrations applied."""
    folder = tmp_path_factory.mktemp("host-template")
    path = folder / "host.db"
    app = make_host_app(path, folder, SECRET_KEY)
    with app.app_context():
        upgrade(revision="heads")
    for username in HOST_USERS:
        HOST_USERS[username] = create_host_user(app, username)
    with app.app_context():
        host_db.engine.dispose()
    return path


@pytest.fixture
def host_app(tmp_path: Path, migrated_host_database: Path) -> Flask:
    """Example host application with the phones API mounted in it."""
    path = tmp_path / "host.db"
    shutil.copyfile(migrated_host_database, path)
    return make_host_app(path, tmp_path, SECRET_KEY)


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
