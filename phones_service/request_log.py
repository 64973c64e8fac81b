"""One log line per request, tied together by a request id.

The id comes from the caller's `X-Request-ID` when it is a sane token,
otherwise it is generated; either way it is returned in the response.
"""

from __future__ import annotations

import logging
import random
import re
import time

from flask import Flask, Response, g, request

log = logging.getLogger(__name__)

HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}\Z")


def new_request_id() -> str:
    """Return 32 random hex digits.

    An id only distinguishes requests, so it comes from the `random`
    module, which Python reseeds in each forked worker, rather than from a
    system call per request.
    """
    return f"{random.getrandbits(128):032x}"


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)


def _escape_controls(text: str) -> str:
    """Escape control characters, so that a path cannot forge log lines."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _start() -> None:
    # Each access through Flask's `g` and `request` proxies costs a context
    # lookup, so these hooks resolve each proxy once.
    context = g._get_current_object()
    context.request_started = time.perf_counter()
    header_value = request.headers.get(HEADER, "")
    if _SANE_ID.match(header_value):
        context.request_id = header_value
    else:
        context.request_id = new_request_id()


def _finish(response: Response) -> Response:
    context = g._get_current_object()
    current = request._get_current_object()
    request_id = getattr(context, "request_id", None) or new_request_id()
    response.headers[HEADER] = request_id
    if not log.isEnabledFor(logging.INFO):
        return response
    started = getattr(context, "request_started", None)
    duration_ms = (time.perf_counter() - started) * 1000 if started else 0.0
    # The path only: query strings and headers are never logged.
    log.info(
        "%s %s %d %.1fms request_id=%s client=%s",
        current.method,
        _escape_controls(current.path),
        response.status_code,
        duration_ms,
        request_id,
        getattr(context, "phones_client_uuid", "-"),
    )
    return response
