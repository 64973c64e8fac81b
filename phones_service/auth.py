"""Bearer API-key authentication for the phones endpoints."""

from __future__ import annotations

import logging
import re

from flask import g, request
from flask_smorest import abort
from sqlalchemy.orm import Session

from .accounts import AccountRepository, LookupExtra
from .models import Client

log = logging.getLogger(__name__)

# Keys are ASCII and short; anything else is rejected before any lookup.
# The scheme name is case-insensitive (RFC 7235, section 2.1).
_BEARER = re.compile(r"^[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9_\-]{16,128}) *\Z")


def api_key_client(session: Session, extra: LookupExtra | None = None) -> Client | None:
    """Return the client of the request's bearer key, or abort with 401.

    The key lookup also reads the columns of `extra` (see `LookupExtra`).
    """
    header = request.headers.get("Authorization")
    if header is None:
        _unauthorized("Missing Authorization header; send Authorization: Bearer <key>.")
    match = _BEARER.match(header)
    if match is None:
        _unauthorized(
            "Malformed Authorization header; send Authorization: Bearer <key>.",
            error="invalid_request",
        )

    client = AccountRepository(session).authenticate(match.group(1), extra)
    if client is None:
        _unauthorized("Unknown or revoked API key.", error="invalid_token")
    g.phones_client_uuid = client.uuid
    return client


def _unauthorized(message: str, error: str | None = None) -> None:
    challenge = 'Bearer realm="phones"'
    if error is not None:
        challenge += f', error="{error}"'
    log.info("authentication failed: %s", message.split(";")[0])
    abort(401, message=message, headers={"WWW-Authenticate": challenge})
