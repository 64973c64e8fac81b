"""Default settings and the layers that override them.

Every setting of the service starts with `PHONES_`, so that a host
application that mounts the phones API keeps its own names free.
"""

from __future__ import annotations

import json
import os
from typing import Any

from flask import Flask

# Request bodies are small JSON objects; 64 KiB leaves room for `parameters`
# while a larger body gets 413 before it is parsed.
MAX_CONTENT_LENGTH = 64 * 1024

DEFAULTS: dict[str, Any] = {
    "API_TITLE": "Phones API",
    "API_VERSION": "1.0.0",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "openapi.json",
    "MAX_CONTENT_LENGTH": MAX_CONTENT_LENGTH,
    "API_SPEC_OPTIONS": {
        "info": {
            "description": "Phone numbers used for calling campaigns. Every "
            "request to /api/phones needs `Authorization: Bearer <API key>`."
        },
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "API key created with `flask clients create` "
                    "or `flask keys create`.",
                }
            }
        },
        "security": [{"bearerAuth": []}],
    },
    # Seconds a SQLite connection waits for another writer before failing.
    "PHONES_SQLITE_BUSY_TIMEOUT": 15,
    # Connections each process keeps open. At least gunicorn's threads, so
    # that no request has to open (and set up) a connection of its own.
    "PHONES_DATABASE_POOL_SIZE": 16,
}


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Apply defaults, `instance/config.py`, the environment, then `test_config`.

    `DATABASE_URL` sets `PHONES_DATABASE_URL`; every `PHONES_*` environment
    variable sets the setting of the same name, read as JSON where it parses.
    """
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    if "DATABASE_URL" in os.environ:
        app.config["PHONES_DATABASE_URL"] = os.environ["DATABASE_URL"]
    for name, value in os.environ.items():
        if name.startswith("PHONES_"):
            app.config[name] = _parse_value(value)
    if test_config is not None:
        app.config.from_mapping(test_config)
    if not app.config.get("PHONES_DATABASE_URL"):
        app.config["PHONES_DATABASE_URL"] = default_database_url(app)


def _parse_value(value: str) -> Any:
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    # Only numbers and booleans are converted; a key stays the string it is.
    return parsed if isinstance(parsed, (int, float, bool)) else value


def default_database_url(app: Flask) -> str:
    """Return the URL of the SQLite file in the instance folder."""
    os.makedirs(app.instance_path, exist_ok=True)
    return "sqlite:///" + os.path.join(app.instance_path, "phones.db")
