"""SIP passwords at rest: encrypted in the database, rotatable, readable in-process."""

from __future__ import annotations

import os
import stat
import uuid

import pytest
from cryptography.fernet import Fernet

from phones_service import create_app
from phones_service.accounts import AccountRepository
from phones_service.clients import DEFAULT_CLIENT_UUID, phones_state
from phones_service.crypto import SecretBox, SecretKeyError
from phones_service.extensions import db
from phones_service.phones.repository import PhoneRepository

from .backends import raw_contents
from .conftest import SECRET_KEY, make_app, register

PASSWORD = "Plain-Text-Trunk-Password-77"


def stored_password(app, phone_uuid):
    with app.app_context():
        owner = AccountRepository(db.session).find_client(str(DEFAULT_CLIENT_UUID))
        repository = PhoneRepository(db.session, owner, phones_state().secrets)
        phone = repository.get(uuid.UUID(phone_uuid))
        return repository.sip_trunk_password(phone)


def raw_database(app, database):
    with app.app_context():
        db.engine.dispose()
    return raw_contents(database)


def test_database_file_has_no_plaintext(app, client, database):
    response = register(client, sipTrunkPassword=PASSWORD)

    assert response.status_code == 201
    assert PASSWORD.encode() not in raw_database(app, database)


def test_repository_decrypts_for_callers(app, client):
    phone_uuid = register(client, sipTrunkPassword=PASSWORD).get_json()["uuid"]

    assert stored_password(app, phone_uuid) == PASSWORD


def test_updated_password_is_encrypted(app, client, database):
    phone_uuid = register(client, sipTrunkPassword="first-Pass-1").get_json()["uuid"]
    client.patch(f"/api/phones/{phone_uuid}", json={"sipTrunkPassword": PASSWORD})

    assert stored_password(app, phone_uuid) == PASSWORD
    assert PASSWORD.encode() not in raw_database(app, database)


def test_rotate_with_setting(app, client, database, tmp_path):
    phone_uuid = register(client, sipTrunkPassword=PASSWORD).get_json()["uuid"]
    new_key = Fernet.generate_key().decode()
    rotating = make_app(database, tmp_path, PHONES_SECRET_KEY=f"{new_key},{SECRET_KEY}")

    result = rotating.test_cli_runner().invoke(args=["secrets", "rotate"])

    assert result.exit_code == 0, result.output
    assert "Re-encrypted 1 SIP passwords" in result.output
    only_new = make_app(database, tmp_path, PHONES_SECRET_KEY=new_key)
    assert stored_password(only_new, phone_uuid) == PASSWORD
    with pytest.raises(SecretKeyError):
        stored_password(app, phone_uuid)


def test_rotate_key_file(database, tmp_path, monkeypatch):
    monkeypatch.delenv("PHONES_SECRET_KEY", raising=False)
    app = make_app(database, tmp_path, PHONES_SECRET_KEY=None)
    key_file = tmp_path / "secret.key"
    client = app.test_client()
    with app.app_context():
        key = AccountRepository(db.session).create_key(
            AccountRepository(db.session).find_client(str(DEFAULT_CLIENT_UUID))
        ).key
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    phone_uuid = register(client, sipTrunkPassword=PASSWORD).get_json()["uuid"]
    old_key = key_file.read_bytes()

    result = app.test_cli_runner().invoke(args=["secrets", "rotate"])

    assert result.exit_code == 0, result.output
    assert key_file.read_bytes() != old_key
    assert len(key_file.read_bytes().split()) == 1
    reloaded = make_app(database, tmp_path, PHONES_SECRET_KEY=None)
    assert stored_password(reloaded, phone_uuid) == PASSWORD


def test_generated_key_file_is_owner_only(tmp_path, monkeypatch):
    monkeypatch.delenv("PHONES_SECRET_KEY", raising=False)
    instance = tmp_path / "instance"
    database = f"sqlite:///{tmp_path / 'x.db'}"
    create_app({"PHONES_DATABASE_URL": database}, instance_path=str(instance))
    mode = stat.S_IMODE(os.stat(instance / "secret.key").st_mode)
    first = (instance / "secret.key").read_bytes()
    create_app({"PHONES_DATABASE_URL": database}, instance_path=str(instance))

    assert mode == 0o600
    assert (instance / "secret.key").read_bytes() == first


def test_invalid_secret_key_message_hides_key():
    with pytest.raises(SecretKeyError) as raised:
        SecretBox([b"not-a-valid-fernet-key"])

    assert "not-a-valid-fernet-key" not in str(raised.value)
    assert "generate-key" in str(raised.value)


def test_generate_key_prints_valid_key(runner):
    result = runner.invoke(args=["secrets", "generate-key"])

    Fernet(result.output.strip().encode())
    assert result.exit_code == 0
