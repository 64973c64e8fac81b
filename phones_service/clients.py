"""Resolution of the client (account) a request acts for."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from .crypto import SecretBox, load_keys
from .models import Client

# Client that the first migration creates and that owns every phone until
# API keys select a client per request.
DEFAULT_CLIENT_UUID = uuid.UUID("1bd9eb7e-9646-4024-ad15-46851b1dedda")

ClientResolver = Callable[[Session], Client | None]


def default_client(session: Session) -> Client | None:
    return session.scalars(
        select(Client).where(Client.uuid == DEFAULT_CLIENT_UUID)
    ).one_or_none()


@dataclass
class PhonesState:
    """Per-app settings of the phones API."""

    secrets: SecretBox
    resolve_client: ClientResolver


def init_app(app: Flask, resolve_client: ClientResolver = default_client) -> None:
    keys = load_keys(app.config.get("PHONES_SECRET_KEY"), app.instance_path)
    app.extensions["phones"] = PhonesState(SecretBox(keys), resolve_client)


def phones_state() -> PhonesState:
    return current_app.extensions["phones"]
