"""The host's Alembic environment, as Flask-Migrate's template has it.

The changes for the phones API: `target_metadata` lists the phones tables
too, and `include_object` skips the phones search index, so that
autogenerate neither drops nor recreates them.
"""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

from phones_service.embed import include_object
from phones_service.embed import metadata as phones_metadata

config = context.config
if config.config_file_name is not None and not logging.getLogger().handlers:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

database = current_app.extensions["migrate"].db
target_metadata = [database.metadata, phones_metadata]


def run_migrations_offline():
    context.configure(
        url=str(database.engine.url), target_metadata=target_metadata, literal_binds=True
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    with database.engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_object=include_object,
            **current_app.extensions["migrate"].configure_args,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
