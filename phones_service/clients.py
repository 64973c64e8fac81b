"""Resolution of the client (account) that a request acts for."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app
from sqlalchemy.orm import Session

from .auth import api_key_client
from .crypto import SecretBox, load_keys
from .models import Client

# Client created by the first migration; `make run` gives it the first key.
DEFAULT_CLIENT_UUID = uuid.UUID("1bd9eb7e-9646-4024-ad15-46851b1dedda")

# Returns the current client, or aborts with 401 (or returns None for 401).
ClientResolver = Callable[[Session], Client | None]


@dataclass
class PhonesState:
    """Per-app settings of the phones API."""

    secrets: SecretBox
    resolve_client: ClientResolver


def init_app(app: Flask, resolve_client: ClientResolver = api_key_client) -> None:
    keys = load_keys(app.config.get("PHONES_SECRET_KEY"), app.instance_path)
    app.extensions["phones"] = PhonesState(SecretBox(keys), resolve_client)


def phones_state() -> PhonesState:
    return current_app.extensions["phones"]
