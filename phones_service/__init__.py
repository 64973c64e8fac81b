"""Phone-number inventory for voice campaigns, served as a JSON API."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from types import FunctionType, MethodType
from typing import Any

from flask import Flask, Response
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from . import cli, clients, docs, health, request_log
from .api import handle_http_exception
from .config import load_config
from .extensions import api, db, migrate
from .json_provider import OrjsonProvider
from .phones.views import blp as phones_blp

MIGRATIONS_DIRECTORY = os.path.join(os.path.dirname(__file__), os.pardir, "migrations")


class ServiceFlask(Flask):
    """Flask app that responds in JSON only and checks plain functions quickly."""

    def handle_http_exception(self, e: HTTPException) -> Any:
        """Send a routing redirect, such as `/api//phones`, with a JSON body.

        Flask sends routing redirects as they are, with an HTML body,
        without consulting the error handlers.
        """
        if isinstance(e, RequestRedirect):
            return handle_http_exception(e)
        return super().handle_http_exception(e)

    def make_default_options_response(self) -> Response:
        """Respond to OPTIONS with 204 and the `Allow` header, without a body."""
        response = super().make_default_options_response()
        response.status_code = 204
        del response.headers["Content-Type"]
        return response

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Return `func`, or a coroutine function wrapped to run synchronously.

        Flask calls `inspect.iscoroutinefunction` on every hook and view,
        9 times per GET, about 2 % of a GET's instructions. Here a function
        or bound method is returned at once when its code is not a
        coroutine's and it has no coroutine marker (Python 3.12's
        `inspect.markcoroutinefunction`). Any other callable goes through
        Flask's check.
        """
        function = func.__func__ if type(func) is MethodType else func
        if (
            type(function) is FunctionType
            and not function.__code__.co_flags & inspect.CO_COROUTINE
            and "_is_coroutine_marker" not in function.__dict__
        ):
            return func
        return super().ensure_sync(func)


def create_app(
    test_config: dict[str, Any] | None = None, instance_path: str | None = None
) -> Flask:
    """Create the standalone service.

    `instance_path` contains the SQLite file, `config.py` and the generated
    secret key; it defaults to Flask's `instance` folder.
    """
    app = ServiceFlask(
        __name__, instance_path=instance_path, instance_relative_config=True
    )
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
