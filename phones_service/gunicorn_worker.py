"""gunicorn worker that sends JSON errors for the requests gunicorn rejects.

gunicorn responds to a request it cannot parse (a malformed request line or
header, an over-long URL, too many headers) before the application sees
it, with an HTML page that repeats the offending text. This worker sends
the service's JSON error format instead: the same status, a message that
names the part of the request at fault and how to fix it, and none of the
request's own text, which may carry an API key.
"""

from __future__ import annotations

import json
import socket
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

from .api import CHUNKED_BODY_MESSAGE

_REQUEST_LINE_ERRORS = {
    "InvalidRequestLine",
    "InvalidRequestMethod",
    "InvalidHTTPVersion",
    "InvalidProxyLine",
}
_HEADER_ERRORS = {"InvalidHeader", "InvalidHeaderName", "ObsoleteFolding"}
_CHUNK_ERRORS = {"InvalidChunkSize", "ChunkMissingTerminator", "InvalidChunkExtension"}

_REQUEST_LINE_MESSAGE = (
    "The request line is malformed: send `METHOD /path HTTP/1.1`, and "
    "percent-encode spaces and non-ASCII characters in the path and query "
    "(`%20`, `%C3%B6`)."
)
_HEADER_MESSAGE = (
    "A request header is malformed: send each header on one line as "
    "`Name: value`, with a name of letters, digits and hyphens."
)
_STATUS_MESSAGES = {
    400: "The request is malformed.",
    403: "The request is forbidden.",
    417: "The Expect header is not supported: send `Expect: 100-continue` "
    "or no Expect header.",
    500: "Internal server error; the service logged the details.",
    501: "The Transfer-Encoding is not supported: send the body with "
    "Content-Length or as `Transfer-Encoding: chunked`.",
}


def error_message(exc: BaseException, status: int, cfg: Any) -> str:
    """Return the JSON error's message for a request gunicorn rejected."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if status == 414:
        return (
            f"The request line is longer than {cfg.limit_request_line} bytes: "
            "shorten the URL or its query string."
        )
    if status == 431:
        return (
            f"The request has more than {cfg.limit_request_fields} headers or "
            f"a header longer than {cfg.limit_request_field_size} bytes: send "
            "fewer or shorter headers."
        )
    if status == 400 and names & _REQUEST_LINE_ERRORS:
        return _REQUEST_LINE_MESSAGE
    if status == 400 and names & _HEADER_ERRORS:
        return _HEADER_MESSAGE
    if status == 400 and names & _CHUNK_ERRORS:
        return CHUNKED_BODY_MESSAGE
    return _STATUS_MESSAGES.get(status, "The request failed.")


def json_error_response(
    status_line: bytes, exc: BaseException, cfg: Any
) -> bytes | None:
    """Build the JSON error response for gunicorn's `status_line` and `exc`.

    Returns None when the line is not an HTTP/1.1 status line, so that the
    caller sends gunicorn's own response.
    """
    parts = status_line.split(b" ", 2)
    if len(parts) != 3 or parts[0] != b"HTTP/1.1" or not parts[1].isdigit():
        return None
    status = int(parts[1])
    reason = parts[2].decode("latin-1").strip()
    body = json.dumps(
        {"code": status, "status": reason, "message": error_message(exc, status, cfg)},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


class _JsonErrorSocket:
    """The client socket, except that gunicorn's error page goes out as JSON.

    gunicorn's `handle_error` writes its whole HTML response with one
    `sendall`. Everything else passes through to the real socket.
    """

    def __init__(self, sock: socket.socket, exc: BaseException, cfg: Any) -> None:
        self._sock = sock
        self._exc = exc
        self._cfg = cfg

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def sendall(self, data: bytes) -> None:
        status_line = data.split(b"\r\n", 1)[0]
        response = json_error_response(status_line, self._exc, self._cfg)
        self._sock.sendall(data if response is None else response)


class JsonErrorWorker(ThreadWorker):
    """gunicorn's gthread worker, with JSON error responses."""

    def handle_error(self, req: Any, client: Any, addr: Any, exc: Exception) -> None:
        """Send gunicorn's error response for `exc` as a JSON error."""
        json_client = _JsonErrorSocket(client, exc, self.cfg)
        super().handle_error(req, json_client, addr, exc)
