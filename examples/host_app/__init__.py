"""A host Flask application that mounts the phones API.

It has its own flask-smorest `Api`, its own Flask-SQLAlchemy database with a
`users` table and its own cookie login; each user owns one phones client.
The phones endpoints live under `/telephony/phones`.
"""

from __future__ import annotations

import os
from typing import Any

import flask_smorest
from flask import Flask, session
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.security import generate_password_hash

from phones_service.accounts import AccountError, AccountRepository
from phones_service.embed import include_phones_migrations, init_phones
from phones_service.extensions import db as phones_db
from phones_service.models import Client

PHONES_PREFIX = "/telephony/phones"
MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")

db = SQLAlchemy()


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(db.String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(db.String(255))
    phones_client_uuid: Mapped[str] = mapped_column(db.String(36))


def current_phones_client(phones_session: Session) -> Client | None:
    """Map the logged-in user to their phones client; None makes the response 401."""
    user_id = session.get("user_id")
    if user_id is None:
        return None
    user = db.session.get(User, user_id)
    if user is None:
        return None
    try:
        return AccountRepository(phones_session).find_client(user.phones_client_uuid)
    except AccountError:
        return None


def create_user(username: str, password: str) -> User:
    """Create a user and the phones client that owns their numbers."""
    phones_client = AccountRepository(phones_db.session).create_client(username)
    user = User(
        username=username,
        password_hash=generate_password_hash(password),
        phones_client_uuid=str(phones_client.uuid),
    )
    db.session.add(user)
    db.session.commit()
    return user


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=os.environ.get("HOST_SECRET_KEY", "dev only, not secret"),
        SQLALCHEMY_DATABASE_URI=os.environ.get("HOST_DATABASE_URL", "sqlite:///host.db"),
        API_TITLE="Host app",
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api-docs",
    )
    app.config.update(config or {})
    db.init_app(app)
    migrate = Migrate(app, db, directory=MIGRATIONS)
    include_phones_migrations(migrate)
    api = flask_smorest.Api(app)
    api.register_blueprint(views.blp)

    # The phones tables share the host's database through its engine.
    init_phones(
        app,
        api,
        url_prefix=PHONES_PREFIX,
        engine=lambda: db.engine,
        resolve_client=current_phones_client,
    )
    return app


from . import views  # noqa: E402  (views import db and User from this module)
