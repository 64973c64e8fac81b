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
from .conftest import make_app

SEARCH_TABLES = {
    "phones_numbers_search",
    "phones_numbers_search_config",
    "phones_numbers_search_data",
    "phones_numbers_search_docsize",
    "phones_numbers_search_idx",
}
TABLES = {
    "phones_clients",
    "phones_numbers",
    "phones_api_keys",
    "phones_status_counts",
    "phones_alembic_version",
}


def expected_tables() -> set[str]:
    """Tables after every migration; SQLite adds its FTS5 search tables."""
    return TABLES | (SEARCH_TABLES if BACKEND == "sqlite" else set())


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
