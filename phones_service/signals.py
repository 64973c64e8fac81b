"""Flask signals sent after a phone change is committed.

Receivers get the app as sender and `phone` and `client` as keyword
arguments. A receiver that raises cannot undo the committed change: the
error is logged and the other receivers still run.
"""

from __future__ import annotations

import logging
from typing import Any

from blinker import Namespace
from flask import current_app

log = logging.getLogger(__name__)

_signals = Namespace()

phone_registered = _signals.signal("phone-registered")
phone_updated = _signals.signal("phone-updated")
phone_deleted = _signals.signal("phone-deleted")


def send(signal: Any, **kwargs: Any) -> None:
    """Call every receiver of `signal`, logging instead of raising failures."""
    sender = current_app._get_current_object()
    for receiver in list(signal.receivers_for(sender)):
        try:
            receiver(sender, **kwargs)
        except Exception:
            # The change is committed, so a failing receiver must not turn the
            # response into an error: it is logged with its context instead.
            phone = kwargs.get("phone")
            log.exception(
                "receiver %r of %s failed for phone %s",
                getattr(receiver, "__qualname__", receiver),
                signal.name,
                getattr(phone, "uuid", None),
            )
