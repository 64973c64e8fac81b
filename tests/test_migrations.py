"""Migrations: upgrade from empty, downgrade, and no drift from the models."""

from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from phones_service.clients import DEFAULT_CLIENT_UUID
from phones_service.extensions import db
from phones_service.models import include_in_comparison

from .backends import BACKEND
from .conftest import authorized_client, create_key, make_app, register

SEARCH_TABLES = {
    "phones_search_names",
    *(
        f"{table}{shadow}"
        for table in ("phones_search_numbers", "phones_search_names_index")
        for shadow in ("", "_config", "_data", "_docsize", "_idx")
    ),
}
# PostgreSQL's counts of search matches.
POSTGRESQL_SEARCH_TABLES = {"phones_search_names", "phones_search_digits"}
TABLES = {
    "phones_clients",
    "phones_numbers",
    "phones_api_keys",
    "phones_status_counts",
    "phones_alembic_version",
}


def expected_tables() -> set[str]:
    """Tables after every migration, with each database's own search tables."""
    return TABLES | (SEARCH_TABLES if BACKEND == "sqlite" else POSTGRESQL_SEARCH_TABLES)


def test_upgrade_from_empty_creates_tables(fresh_database, tmp_path):
    app = make_app(fresh_database, tmp_path)
    with app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        clients = db.session.execute(text("SELECT uuid, name FROM phones_clients")).all()

    assert tables == expected_tables()
    assert len(clients) == 1
    assert uuid.UUID(str(clients[0].uuid)) == DEFAULT_CLIENT_UUID


def test_downgrade_removes_everything(fresh_database, tmp_path):
    app = make_app(fresh_database, tmp_path)
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        tables = set(inspect(db.engine).get_table_names())

    assert tables <= {"phones_alembic_version"}


def test_upgrade_after_downgrade(fresh_database, tmp_path):
    app = make_app(fresh_database, tmp_path)
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        upgrade()
        tables = set(inspect(db.engine).get_table_names())

    assert tables == expected_tables()


def test_models_match_migrations(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "include_object": include_in_comparison},
        )
        differences = compare_metadata(context, db.metadata)

    assert differences == []


@pytest.mark.sqlite_run_only("checks SQLite settings")
def test_sqlite_pragmas(app):
    with app.app_context():
        connection = db.session.connection()
        journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        foreign_keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
        busy_timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()

    assert journal == "wal"
    assert foreign_keys == 1
    assert busy_timeout >= 1000


@pytest.mark.sqlite_run_only("the search indexes of revision 0005 are SQLite's")
def test_search_indexes_are_filled_from_stored_phones(fresh_database, tmp_path):
    app = make_app(fresh_database, tmp_path)
    with app.app_context():
        upgrade()
    client = authorized_client(app, create_key(app)[0])
    for number, status in (("+16054440129", "pending"), ("+12065550100", "active")):
        response = register(client, number, name="Main Office", status=status)
        assert response.status_code == 201, response.get_json()

    with app.app_context():
        downgrade(revision="0004")
        found = db.session.execute(
            text(
                "SELECT count(*) FROM phones_numbers_search"
                " WHERE phones_numbers_search MATCH '\"office\"'"
            )
        ).scalar_one()
        db.session.commit()
        upgrade()

    def total(**query):
        return client.get("/api/phones", query_string=query).get_json()["total"]

    assert found == 2
    assert total(search="office") == 2
    assert total(search="office", status="pending") == 1
    assert total(search="206-555") == 1
    assert total(search="206-555", status="pending") == 0
