"""Bearer API keys: who gets in, and what a rejected request receives."""

from __future__ import annotations

import pytest
from sqlalchemy import event, update

from phones_service.accounts import AccountRepository
from phones_service.database import PostgresReader, SqliteStatement
from phones_service.extensions import db
from phones_service.models import Client

from .backends import raw_contents
from .conftest import authorized_client, create_key

PHONES = "/api/phones"


def assert_unauthorized(response, error=None):
    assert response.status_code == 401
    body = response.get_json()
    assert body["code"] == 401
    assert body["status"] == "Unauthorized"
    assert body["message"]
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer")
    if error is not None:
        assert f'error="{error}"' in challenge
    return body


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", PHONES),
        ("post", PHONES),
        ("get", f"{PHONES}/1bd9eb7e-9646-4024-ad15-46851b1dedda"),
        ("patch", f"{PHONES}/1bd9eb7e-9646-4024-ad15-46851b1dedda"),
        ("delete", f"{PHONES}/1bd9eb7e-9646-4024-ad15-46851b1dedda"),
    ],
)
def test_missing_header_answers_401(anonymous, method, path):
    response = getattr(anonymous, method)(path, json={"number": "+16054440129"})

    body = assert_unauthorized(response)
    assert "Authorization" in body["message"]


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "bearer-phk_abc",
        "Token phk_abcdefgh_0123456789abcdef",
        "Bearer phk_abc def",
        "Bearer short",
        "Bearer " + "a" * 500,
        "Bearer phk_abcdefgh_é0123456789abcdef",
    ],
)
def test_malformed_header_answers_401(anonymous, header):
    response = anonymous.get(PHONES, headers={"Authorization": header})

    assert_unauthorized(response)


@pytest.mark.parametrize(
    "key",
    [
        "phk_abcdefgh_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG",
        "0123456789abcdefghijklmnopqrstuvwxyz",
    ],
)
def test_unknown_key_answers_401(anonymous, key):
    response = anonymous.get(PHONES, headers={"Authorization": f"Bearer {key}"})

    assert_unauthorized(response, error="invalid_token")


def test_known_prefix_wrong_secret_answers_401(anonymous, api_key):
    forged = api_key[:13] + "x" * (len(api_key) - 13)
    response = anonymous.get(PHONES, headers={"Authorization": f"Bearer {forged}"})

    assert_unauthorized(response, error="invalid_token")


def test_valid_key_answers_200(client):
    assert client.get(PHONES).status_code == 200


def test_revoked_key_stops_on_next_request(app, client, api_key):
    assert client.get(PHONES).status_code == 200
    with app.app_context():
        AccountRepository(db.session).revoke_key(api_key[:12])

    assert_unauthorized(client.get(PHONES), error="invalid_token")


def test_revoking_one_key_keeps_others(app, client, api_key):
    second_key, _ = create_key(app)
    with app.app_context():
        AccountRepository(db.session).revoke_key(api_key[:12])

    assert authorized_client(app, second_key).get(PHONES).status_code == 200


def test_last_used_is_recorded(app, client, api_key):
    with app.app_context():
        accounts = AccountRepository(db.session)
        owner = accounts.find_client("1bd9eb7e-9646-4024-ad15-46851b1dedda")
        before = accounts.list_keys(owner)[0].last_used_at

    client.get(PHONES)
    with app.app_context():
        accounts = AccountRepository(db.session)
        after = accounts.list_keys(owner)[0].last_used_at

    assert before is None
    assert after is not None


def test_lookup_same_for_known_and_unknown_prefix(
    app, anonymous, api_key, monkeypatch
):
    """Both rejections run the same statements, so neither is faster."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    # The hot read paths run their statements outside SQLAlchemy.
    run_directly = SqliteStatement.first
    execute_directly = PostgresReader._execute

    def record_direct(self, connection, params):
        statements.append(self.sql)
        return run_directly(self, connection, params)

    def record_postgresql(self, sql, params):
        statements.append(sql)
        return execute_directly(self, sql, params)

    monkeypatch.setattr(SqliteStatement, "first", record_direct)
    monkeypatch.setattr(PostgresReader, "_execute", record_postgresql)
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
    forged_known = api_key[:13] + "y" * (len(api_key) - 13)
    forged_unknown = "phk_zzzzzzzz_" + "y" * (len(api_key) - 13)

    anonymous.get(PHONES, headers={"Authorization": f"Bearer {forged_known}"})
    known = list(statements)
    statements.clear()
    anonymous.get(PHONES, headers={"Authorization": f"Bearer {forged_unknown}"})

    assert known
    assert statements == known


@pytest.mark.parametrize("path", ["/healthz", "/api/openapi.json"])
def test_open_paths_need_no_key(anonymous, path):
    assert anonymous.get(path).status_code == 200


def test_key_is_stored_only_as_hash(app, api_key, database):
    with app.app_context():
        db.engine.dispose()
    stored = raw_contents(database)

    assert api_key[:12].encode() in stored
    assert api_key.encode() not in stored
    assert api_key[13:].encode() not in stored


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer", "bEaReR"])
def test_scheme_is_case_insensitive(anonymous, api_key, scheme):
    response = anonymous.get(PHONES, headers={"Authorization": f"{scheme} {api_key}"})

    assert response.status_code == 200


def test_client_object_shared_until_row_changes(app):
    # A client of its own: PostgreSQL runs keep the default client's row.
    api_key, _ = create_key(app, "Before rename")
    with app.app_context():
        accounts = AccountRepository(db.session)
        first = accounts.authenticate(api_key)
        again = accounts.authenticate(api_key)
        db.session.execute(
            update(Client).where(Client.id == first.id).values(name="Renamed")
        )
        db.session.commit()
        renamed = accounts.authenticate(api_key)

    assert again is first
    assert renamed is not first
    assert renamed.name == "Renamed"
    assert first.name != "Renamed"


def test_revoked_key_rejected_with_shared_client(app, client, api_key):
    second_key, _ = create_key(app)
    assert client.get(PHONES).status_code == 200
    with app.app_context():
        AccountRepository(db.session).revoke_key(api_key[:12])

    assert_unauthorized(client.get(PHONES), "invalid_token")
    assert authorized_client(app, second_key).get(PHONES).status_code == 200


def test_revoked_key_gets_401_for_one_phone(app, client, api_key, phone):
    path = f"/api/phones/{phone['uuid']}"
    assert client.get(path).status_code == 200
    with app.app_context():
        AccountRepository(db.session).revoke_key(api_key[:12])

    for method in ("GET", "HEAD"):
        response = client.open(path, method=method)
        assert response.status_code == 401, method
        assert phone["number"] not in response.get_data(as_text=True), method
