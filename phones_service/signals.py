"""Flask signals sent after a phone change is committed.

Receivers get the app as sender and `phone` and `client` as keyword
arguments. The client is a detached copy made for the one change, so a
receiver may add it to a session. A receiver that raises cannot undo the
committed change: the error is logged and the other receivers still run.
"""

from __future__ import annotations

import logging
from typing import Any

from blinker import Namespace
from flask import current_app

from .accounts import detached_copy
from .models import Client, Phone

log = logging.getLogger(__name__)

_signals = Namespace()

phone_registered = _signals.signal("phone-registered")
phone_updated = _signals.signal("phone-updated")
phone_deleted = _signals.signal("phone-deleted")


def send(signal: Any, phone: Phone, client: Client) -> None:
    """Call every receiver of `signal`, logging instead of raising failures."""
    sender = current_app._get_current_object()
    receivers = list(signal.receivers_for(sender))
    if not receivers:
        return
    # Authentication shares one client object between requests.
    kwargs = {"phone": phone, "client": detached_copy(client)}
    for receiver in receivers:
        try:
            receiver(sender, **kwargs)
        except Exception:
            # The change is committed, so a failing receiver must not turn the
            # response into an error: it is logged with its context instead.
            log.exception(
                "receiver %r of %s failed for phone %s",
                getattr(receiver, "__qualname__", receiver),
                signal.name,
                getattr(phone, "uuid", None),
            )
