"""Mounting the phones API inside a host Flask application.

A host with its own flask-smorest `Api`, database and login calls
`init_phones` with the client resolver of its choice instead of API keys::

    init_phones(app, api, url_prefix="/telephony/phones",
                engine=lambda: db.engine, resolve_client=current_phones_client)

and adds the phones migrations to its own Alembic history with
`include_phones_migrations(migrate)`, then upgrades with
`flask db upgrade heads`.
"""

from __future__ import annotations

import os

import flask_smorest
from flask import Flask
from flask_migrate import Migrate

from . import cli, clients
from .clients import ClientResolver
from .config import DEFAULTS
from .database import EngineSource
from .extensions import db
from .models import Base, include_in_comparison
from .phones.views import blp

VERSIONS_DIRECTORY = os.path.abspath(
    os.path.join(os.path.dirname(__file__), os.pardir, "migrations", "versions")
)

# The phones tables, for a host's Alembic `target_metadata` list.
metadata = Base.metadata

# For a host's Alembic `include_object`: skips the search index that the
# phones migrations create outside the models.
include_object = include_in_comparison


def init_phones(
    app: Flask,
    api: flask_smorest.Api,
    *,
    resolve_client: ClientResolver,
    engine: EngineSource | None = None,
    url_prefix: str = "/api/phones",
) -> None:
    """Mount the phones endpoints on `api` under `url_prefix`.

    `resolve_client(session)` returns the phones `Client` of the current
    request, or None for a 401 response. Without `engine`, the service opens its
    own from `PHONES_DATABASE_URL`.
    """
    for name, value in DEFAULTS.items():
        if name.startswith("PHONES_"):
            app.config.setdefault(name, value)
    if engine is None and not app.config.get("PHONES_DATABASE_URL"):
        raise RuntimeError("pass engine= or set PHONES_DATABASE_URL")

    db.init_app(app, engine=engine)
    clients.init_app(app, resolve_client)
    cli.init_app(app)
    api.register_blueprint(blp, url_prefix=url_prefix)


def include_phones_migrations(migrate: Migrate) -> None:
    """Add the phones migrations to a host's Flask-Migrate history.

    They form their own Alembic branch, labelled `phones`, so the host
    upgrades both with `flask db upgrade heads`.
    """

    @migrate.configure
    def add_version_location(config):
        script_location = config.get_main_option("script_location")
        own = config.get_main_option("version_locations") or os.path.join(
            script_location, "versions"
        )
        config.set_main_option("path_separator", "os")
        config.set_main_option("version_locations", os.pathsep.join([own, VERSIONS_DIRECTORY]))
        return config
