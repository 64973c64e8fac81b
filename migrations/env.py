"""Alembic environment for the phones tables.

The version table is `phones_alembic_version`, so these migrations can run
in a database that also holds a host application's own Alembic history.
"""

from __future__ import annotations

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

from phones_service.models import include_in_comparison

VERSION_TABLE = "phones_alembic_version"

config = context.config
if config.config_file_name is not None and not logging.getLogger().handlers:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

database = current_app.extensions["migrate"].db
target_metadata = database.metadata


def include_object(obj, name, type_, reflected, compare_to):
    """Compare only the service's own tables, never a host's."""
    if type_ == "table" and not name.startswith("phones_"):
        return False
    return include_in_comparison(obj, name, type_, reflected, compare_to)


def _options() -> dict:
    return {
        "target_metadata": target_metadata,
        "version_table": VERSION_TABLE,
        "include_object": include_object,
        "render_as_batch": True,
        "compare_type": True,
    }


def run_migrations_offline() -> None:
    context.configure(
        url=str(database.engine.url), literal_binds=True, **_options()
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    with database.engine.connect() as connection:
        context.configure(connection=connection, **_options())
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
