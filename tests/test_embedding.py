"""The phones API mounted in the example host app: migrations, login, signals."""

from __future__ import annotations

import os

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from examples.host_app import PHONES_PREFIX
from examples.host_app import db as host_db
from phones_service import MIGRATIONS_DIRECTORY, signals
from phones_service.embed import include_object
from phones_service.embed import metadata as phones_metadata

from .conftest import HOST_USERS, SECRET_KEY, register
from .services import logged_in_client, make_host_app

PHONES_TABLES = {
    "phones_clients",
    "phones_numbers",
    "phones_api_keys",
    "phones_status_counts",
}


def test_host_upgrade_command_applies_both(fresh_database, tmp_path):
    app = make_host_app(fresh_database, tmp_path, SECRET_KEY)

    result = app.test_cli_runner().invoke(args=["db", "upgrade", "heads"])

    assert result.exit_code == 0, result.output
    engine = create_engine(fresh_database)
    tables = {
        name
        for name in inspect(engine).get_table_names()
        if not name.startswith("phones_search")
    }
    with engine.connect() as connection:
        heads = {row[0] for row in connection.exec_driver_sql("SELECT * FROM alembic_version")}
    assert tables == PHONES_TABLES | {"users", "alembic_version"}
    phones_head = ScriptDirectory(os.path.abspath(MIGRATIONS_DIRECTORY)).get_current_head()
    assert heads == {phones_head, "h001"}
    engine.dispose()


def test_host_models_do_not_drift(host_app):
    with host_app.app_context(), host_db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include_object}
        )
        differences = compare_metadata(context, [host_db.metadata, phones_metadata])

    assert differences == []


def test_real_login_reaches_phones(host_app):
    test_client = host_app.test_client()
    login = test_client.post(
        "/account/login", json={"username": "ann", "password": "ann-password"}
    )

    assert login.status_code == 200
    assert test_client.get(PHONES_PREFIX).status_code == 200


def test_wrong_password_keeps_phones_closed(host_app):
    test_client = host_app.test_client()
    login = test_client.post(
        "/account/login", json={"username": "ann", "password": "wrong"}
    )

    assert login.status_code == 401
    assert test_client.get(PHONES_PREFIX).status_code == 401


def test_logout_closes_phones(host_app):
    test_client = logged_in_client(host_app, HOST_USERS["ann"])
    test_client.post("/account/logout")

    response = test_client.get(PHONES_PREFIX)
    assert response.status_code == 401
    assert response.get_json()["code"] == 401


def test_standalone_prefix_absent_in_host(host_app):
    test_client = logged_in_client(host_app, HOST_USERS["ann"])
    test_client.phones_prefix = "/api/phones"

    assert test_client.get("/api/phones").status_code == 404
    assert test_client.get(PHONES_PREFIX).status_code == 200


def test_host_users_are_isolated(host_app):
    ann = logged_in_client(host_app, HOST_USERS["ann"])
    bob = logged_in_client(host_app, HOST_USERS["bob"])
    phone = register(ann).get_json()

    assert bob.get(f"/api/phones/{phone['uuid']}").status_code == 404
    assert bob.get("/api/phones").get_json()["total"] == 0
    assert register(bob).status_code == 201


def test_host_receives_signals(host_app):
    received = []

    def unassign_from_campaigns(sender, phone, client):
        received.append((sender, phone.number, str(client.uuid)))

    ann = logged_in_client(host_app, HOST_USERS["ann"])
    phone = register(ann).get_json()
    signals.phone_deleted.connect(unassign_from_campaigns, host_app)
    try:
        response = ann.delete(f"/api/phones/{phone['uuid']}")
    finally:
        signals.phone_deleted.disconnect(unassign_from_campaigns, host_app)

    assert response.status_code == 204
    assert response.get_data() == b""
    assert "Content-Type" not in response.headers
    assert received == [(host_app, "+16054440129", HOST_USERS["ann"][1])]


def test_host_openapi_lists_phones(host_app):
    spec = host_app.test_client().get("/api-docs/openapi.json").get_json()

    assert f"{PHONES_PREFIX}/{{phone_uuid}}" in spec["paths"]
    assert "/account/login" in spec["paths"]
    assert "Phone" in spec["components"]["schemas"]
