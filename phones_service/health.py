"""Liveness and readiness check."""

from __future__ import annotations

import logging

from flask import Blueprint
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db

log = logging.getLogger(__name__)

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz() -> tuple[dict[str, object], int]:
    """Return 200 once the database accepts queries, 503 otherwise."""
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except SQLAlchemyError as error:
        log.error("health check failed: %s", type(error).__name__)
        return {"code": 503, "status": "Service Unavailable",
                "message": "The database is unreachable."}, 503
    return {"status": "ok"}, 200
