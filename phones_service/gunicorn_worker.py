"""gunicorn worker that sends JSON errors and bounds slow clients.

gunicorn responds to a request it cannot parse (a malformed request line or
header, an over-long URL, too many headers) before the application gets
it, with an HTML page that repeats the offending text. This worker sends
the service's JSON error format instead: the same status, a message that
names the part of the request at fault and how to fix it, and none of the
request's own text, which may carry an API key. gunicorn's log line for
such a request names the error class, not the text either.

gunicorn's threads read a request with blocking calls and no time limit,
so a client that stops sending halfway holds a thread for as long as it
keeps the connection open. Two of them stop a two-thread worker. Here a
request line and headers must arrive within HEADER_TIMEOUT seconds, and
each read of a body may wait BODY_TIMEOUT seconds for data. Both come from
the environment variables of those names.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import threading
import time
from http import HTTPStatus
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

from .api import CHUNKED_BODY_MESSAGE


def _seconds(name: str, default: int) -> int:
    """Read the environment variable `name` as whole seconds from 1."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if text.isascii() and text.isdigit() and int(text) >= 1:
        return int(text)
    raise ValueError(
        f"invalid {name}={text!r}: set a whole number of seconds from 1, "
        f"such as {default}, or unset it"
    )


# Seconds from the start of reading a request to the end of its headers.
HEADER_TIMEOUT = _seconds("HEADER_TIMEOUT", 10)
# Seconds that one read of a request body may wait for data. The service
# responds with 408 when it runs out.
BODY_TIMEOUT = _seconds("BODY_TIMEOUT", 10)
# How often the deadlines are checked, so a head may take this much longer.
_SWEEP_SECONDS = 1.0

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


def error_message(exc: BaseException | None, status: int, cfg: Any) -> str:
    """Return the JSON error's message for a request gunicorn rejected."""
    if status == 408:
        return (
            f"The request line and headers did not arrive within {HEADER_TIMEOUT} "
            "s: send them without pauses."
        )
    if status == 414:
        return (
            f"The request line is longer than {cfg.limit_request_line} bytes: "
            "shorten the URL or its query string."
        )
    if status == 431:
        return (
            f"The request has more than {cfg.limit_request_fields} headers or "
            f"a header line longer than {cfg.limit_request_field_size} bytes, "
            "CRLF included: send fewer or shorter headers."
        )
    names = {cls.__name__ for cls in type(exc).__mro__}
    if status == 400 and names & _REQUEST_LINE_ERRORS:
        return _REQUEST_LINE_MESSAGE
    if status == 400 and names & _HEADER_ERRORS:
        return _HEADER_MESSAGE
    if status == 400 and names & _CHUNK_ERRORS:
        return CHUNKED_BODY_MESSAGE
    return _STATUS_MESSAGES.get(status, "The request failed.")


def json_error_response(
    status_line: bytes, exc: BaseException | None, cfg: Any
) -> bytes | None:
    """Build the JSON error response for gunicorn's `status_line` and `exc`.

    Returns None when the line is not an HTTP/1.1 status line, so that the
    caller sends gunicorn's own response.
    """
    parts = status_line.split(b" ", 2)
    if len(parts) != 3 or parts[0] != b"HTTP/1.1" or not parts[1].isdigit():
        return None
    status = int(parts[1])
    # gunicorn 27 sends 501 with the reason "Bad Request".
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
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


def _without_request_text(exc: Exception) -> Exception:
    """Return a copy of `exc` whose text names its class and nothing else.

    gunicorn logs a rejected request with the exception's text, which
    repeats the request line, a header or up to 8 KiB of a malformed chunked
    body, passwords included. The copy keeps the class, for gunicorn's
    choice of status, and the attributes, such as the request it logs.
    """
    cls = type(exc)
    quiet = _QUIET_CLASSES.get(cls)
    if quiet is None:
        text = f"{cls.__name__} (the request's text is left out of the log)"
        quiet = type(cls.__name__, (cls,), {"__str__": lambda self: text})
        _QUIET_CLASSES[cls] = quiet
    copy = quiet.__new__(quiet)
    copy.__dict__.update(exc.__dict__)
    copy.args = exc.args
    return copy


_QUIET_CLASSES: dict[type, type] = {}


class _HeaderDeadlines:
    """Deadlines by which connections must have sent a request's head.

    One thread checks them each second, sends a 408 response to a
    connection past its deadline, then shuts the connection down. The
    thread reading from it then finds the end of the stream and closes it.
    """

    def __init__(self, worker: JsonErrorWorker) -> None:
        self._worker = worker
        # Dictionary operations are atomic in CPython, so worker threads
        # set and remove deadlines without a lock.
        self._due: dict[Any, float] = {}

    def start(self, conn: Any) -> None:
        self._due[conn] = time.monotonic() + HEADER_TIMEOUT

    def stop(self, conn: Any) -> None:
        self._due.pop(conn, None)

    def run(self) -> None:
        while True:
            time.sleep(_SWEEP_SECONDS)
            now = time.monotonic()
            for conn, due in list(self._due.items()):
                if due <= now and self._due.pop(conn, None) is not None:
                    self._close(conn)

    def _close(self, conn: Any) -> None:
        self._worker.log.warning(
            "Closed the connection from ip=%s: no whole request head within %s s",
            conn.client[0] if conn.client else "",
            HEADER_TIMEOUT,
        )
        response = json_error_response(
            b"HTTP/1.1 408 Request Timeout", None, self._worker.cfg
        )
        try:
            conn.sock.sendall(response)
            conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class JsonErrorWorker(ThreadWorker):
    """gunicorn's gthread worker, with JSON errors and limits on slow clients."""

    def init_process(self) -> None:
        """Start checking the header deadlines, then run gunicorn's worker."""
        self._deadlines = _HeaderDeadlines(self)
        threading.Thread(
            target=self._deadlines.run, name="header-deadlines", daemon=True
        ).start()
        super().init_process()

    def handle(self, conn: Any) -> Any:
        """Read and serve a request, closing the connection if its head stalls."""
        self._deadlines.start(conn)
        try:
            return super().handle(conn)
        finally:
            self._deadlines.stop(conn)

    def handle_request(self, req: Any, conn: Any) -> Any:
        """Serve a request whose head arrived, and record that it got a response.

        While the service reads a body, each read waits BODY_TIMEOUT seconds
        at most. The socket's own receive timeout (SO_RCVTIMEO) does it,
        because gunicorn sets the socket to blocking before each request,
        which clears a Python socket timeout.
        """
        self._deadlines.stop(conn)
        has_body = any(name in _BODY_HEADERS for name, _ in req.headers)
        if has_body:
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _BODY_TIMEVAL)
        try:
            keepalive = super().handle_request(req, conn)
        finally:
            if has_body:
                conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _NO_TIMEVAL)
        req.phones_answered = True
        return keepalive

    def handle_error(self, req: Any, client: Any, addr: Any, exc: Exception) -> None:
        """Send gunicorn's error response for `exc` as a JSON error.

        An error after the response, such as a malformed chunked body that
        the service never read, only closes the connection, because the
        client would take a second response for that of its next request.
        """
        if getattr(req, "phones_answered", False):
            self.log.warning(
                "Closed the connection from ip=%s after its response: %s",
                addr[0] if addr else "",
                type(exc).__name__,
            )
            return
        json_client = _JsonErrorSocket(client, exc, self.cfg)
        super().handle_error(req, json_client, addr, _without_request_text(exc))


# gunicorn upper-cases header names.
_BODY_HEADERS = {"CONTENT-LENGTH", "TRANSFER-ENCODING"}
# struct timeval: seconds and microseconds, each a C long on Linux.
_BODY_TIMEVAL = struct.pack("@ll", BODY_TIMEOUT, 0)
_NO_TIMEVAL = struct.pack("@ll", 0, 0)
