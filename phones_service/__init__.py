"""Phone-number inventory for voice campaigns, served as a JSON API."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from . import cli, clients, docs, health, request_log
from .config import load_config
from .extensions import api, db, migrate
from .json_provider import OrjsonProvider
from .phones.views import blp as phones_blp

MIGRATIONS_DIRECTORY = os.path.join(os.path.dirname(__file__), os.pardir, "migrations")


def create_app(
    test_config: dict[str, Any] | None = None, instance_path: str | None = None
) -> Flask:
    """Create the standalone service.

    `instance_path` contains the SQLite file, `config.py` and the generated
    secret key; it defaults to Flask's `instance` folder.
    """
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    load_config(app, test_config)
    app.json = OrjsonProvider(app)

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.abspath(MIGRATIONS_DIRECTORY))
    clients.init_app(app)
    request_log.init_app(app)
    cli.init_app(app)
    docs.init_app(app)
    api.init_app(app)
    api.register_blueprint(phones_blp)
    app.register_blueprint(health.blp)
    return app
