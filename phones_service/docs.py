"""Swagger UI for the OpenAPI document, served offline from an installed package.

flask-smorest renders the Swagger UI page and the OpenAPI document. This module
points that page's script and style URLs at a static route of this app, which
serves the Swagger UI dist files shipped in the `flask-swagger-ui` wheel, so the
page loads nothing from another host.
"""

from __future__ import annotations

from pathlib import Path

import flask_swagger_ui
from flask import Blueprint, Flask

# Swagger UI's dist build, such as swagger-ui-bundle.js and swagger-ui.css. Each
# flask-swagger-ui release carries the Swagger UI release of the same number.
SWAGGER_UI_DIST = Path(flask_swagger_ui.__file__).parent / "dist"

# Swagger UI's default `validatorUrl` is https://validator.swagger.io/validator,
# a remote host, so null turns the validator off.
SWAGGER_UI_CONFIG = {"validatorUrl": None}


def init_app(app: Flask) -> None:
    """Serve Swagger UI at `<OPENAPI_URL_PREFIX>/docs` and its assets below it.

    Settings already present in the configuration are kept. Call this before
    `api.init_app`, which registers the page from these settings.
    """
    if "flask-smorest" in app.extensions:
        raise RuntimeError(
            "docs.init_app(app) must run before api.init_app(app), "
            "which reads the Swagger UI settings."
        )
    docs_path = app.config.setdefault("OPENAPI_SWAGGER_UI_PATH", "docs")
    if docs_path is None:
        return

    prefix = app.config.get("OPENAPI_URL_PREFIX")
    assets_path = _join_url_path(prefix, docs_path, "assets")
    app.config.setdefault("OPENAPI_SWAGGER_UI_URL", assets_path + "/")
    app.config.setdefault("OPENAPI_SWAGGER_UI_CONFIG", dict(SWAGGER_UI_CONFIG))
    assets = Blueprint(
        "swagger_ui",
        __name__,
        static_folder=SWAGGER_UI_DIST,
        static_url_path=assets_path,
    )
    app.register_blueprint(assets)


def _join_url_path(*parts: str | None) -> str:
    segments = (part.strip("/") for part in parts if part)
    return "/" + "/".join(segment for segment in segments if segment)
