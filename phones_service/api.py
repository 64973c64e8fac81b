"""flask-smorest `Api` and `Blueprint` with the service's error handling.

Every error, including Flask's own 404, 405 and 413 and a malformed JSON
body, is returned in flask-smorest's JSON format with a `message`.
"""

from __future__ import annotations

import json
import logging
import math
import re
import sys
import weakref
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlsplit, urlunsplit

import flask_smorest
import sqlalchemy.exc
from flask import Flask, Request, current_app, request
from flask_smorest.etag import _get_etag_ctx as _etag_context
from flask_smorest.exceptions import NotModified, PreconditionFailed
from flask_smorest.globals import current_api
from gunicorn.http.errors import ParseException
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import ClientDisconnected, HTTPException, MethodNotAllowed
from werkzeug.http import quote_etag
from werkzeug.routing import RequestRedirect

log = logging.getLogger(__name__)

_View = TypeVar("_View", bound=Callable[..., Any])

_MESSAGES = {
    308: "This resource is at the URL in the Location header: send the "
    "request there.",
    400: "The request is malformed.",
    404: "Not found: check the URL and the uuid.",
    412: "The phone changed since that ETag was read: GET it again, then "
    "retry with the new ETag.",
    413: "The request body is too large.",
    422: "The request is invalid: see `errors` for each field.",
    500: "Internal server error; the service logged the details.",
}


DATABASE_UNAVAILABLE_MESSAGE = (
    "The database is unavailable. Retry in a few seconds. The service "
    "logged the details."
)


def _database_unavailable(error: HTTPException) -> bool:
    """Return whether `error` is a 500 raised by a failed database connection or query.

    Such errors are operational: the server is down, refuses connections,
    ended the connection, or timed out waiting for a lock. psycopg's own
    errors come from the PostgreSQL reader, which runs outside SQLAlchemy.
    """
    original = getattr(error, "original_exception", None)
    if original is None or error.code != 500:
        return False
    if isinstance(original, sqlalchemy.exc.OperationalError):
        return True
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(original, psycopg.OperationalError)


def handle_http_exception(error: HTTPException) -> Any:
    """Build the response for `error` in flask-smorest's format, with a message."""
    if _database_unavailable(error):
        unavailable: dict[str, Any] = {
            "code": 503,
            "status": "Service Unavailable",
            "message": DATABASE_UNAVAILABLE_MESSAGE,
        }
        return unavailable, 503, {"Retry-After": "5"}
    payload: dict[str, Any] = {"code": error.code, "status": error.name}
    headers: dict[str, str] = {}
    data = getattr(error, "data", None) or {}
    if "message" in data:
        payload["message"] = data["message"]
    else:
        payload["message"] = _MESSAGES.get(error.code) or error.description
    if "errors" in data or "messages" in data:
        payload["errors"] = data.get("errors", data.get("messages"))
    payload.update(data.get("extra", {}))
    headers.update(data.get("headers") or {})
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    if isinstance(error, RequestRedirect):
        # Werkzeug builds an absolute URL from the Host header, which the
        # client controls, so only the path and query go back.
        target = urlsplit(error.new_url)
        headers["Location"] = urlunsplit(("", "", target.path, target.query, ""))
    return payload, error.code, headers


class Api(flask_smorest.Api):
    """Api whose error payloads always carry a message."""

    def handle_http_exception(self, error: HTTPException) -> Any:
        return handle_http_exception(error)


# Deepest nesting of arrays and objects a body may have; far below the
# recursion limit that encoding the stored value again would hit.
MAX_JSON_DEPTH = 32


class _InvalidJSON(ValueError):
    """A body that parses but that the API does not accept as JSON."""


def _reject_constant(name: str) -> NoReturn:
    raise _InvalidJSON(f"{name} is not valid JSON")


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _InvalidJSON(f"the number {text[:20]} is out of range")
    return value


def _check_values(document: Any) -> None:
    """Reject nesting deeper than MAX_JSON_DEPTH and unpaired surrogates.

    json.loads turns an escaped lone surrogate such as "\\ud800" into a str
    that cannot be encoded as UTF-8, so no database or log could take it.
    """
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                raise _InvalidJSON("a string contains an unpaired UTF-16 surrogate")
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth > MAX_JSON_DEPTH:
            raise _InvalidJSON(f"it is nested deeper than {MAX_JSON_DEPTH} levels")
        items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
        stack.extend((item, depth + 1) for item in items)


_SURROGATE = re.compile("[\ud800-\udfff]")


class JSONParser(FlaskParser):
    """Parser that accepts only well-formed, standard JSON bodies.

    Query strings follow the schema's `unknown` setting instead of webargs'
    default of dropping unknown parameters, so a misspelt filter is an error.
    """

    DEFAULT_UNKNOWN_BY_LOCATION = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": None,
        "querystring": None,
    }

    def _raw_load_json(self, req: Request) -> Any:
        _reject_codings(req)
        body = _read_body(req)
        if not is_json_request(req):
            if body:
                flask_smorest.abort(
                    415,
                    message="Send the body as JSON, with the header "
                    "Content-Type: application/json.",
                )
            return core.missing

        try:
            document = json.loads(
                body.decode("utf-8"),
                parse_constant=_reject_constant,
                parse_float=_parse_float,
            )
            _check_values(document)
            return document
        except (ValueError, RecursionError) as error:
            reason = _json_error_reason(error)
        flask_smorest.abort(
            400,
            message=f"Invalid JSON body: {reason}.",
            errors={"json": ["Invalid JSON body."]},
        )


# gunicorn decodes a chunked body while the application reads it, and
# raises its parse errors from the read.
CHUNKED_BODY_MESSAGE = (
    "The chunked request body is malformed: end each chunk size and each "
    "chunk with CRLF, and the body with a chunk of size 0."
)


def _reject_codings(req: Request) -> None:
    """Abort unless the body comes without a compression or other coding.

    gunicorn removes chunked framing but passes other transfer codings,
    such as `gzip, chunked`, through undecoded, and nothing here decodes a
    Content-Encoding either.
    """
    environ = req.environ
    if "HTTP_CONTENT_ENCODING" in environ and _codings(
        environ["HTTP_CONTENT_ENCODING"]
    ) - {"identity"}:
        flask_smorest.abort(
            415,
            message="Send the body without a Content-Encoding such as gzip: "
            "the service reads plain JSON only.",
        )
    if "HTTP_TRANSFER_ENCODING" in environ and _codings(
        environ["HTTP_TRANSFER_ENCODING"]
    ) - {"chunked", "identity"}:
        flask_smorest.abort(
            501,
            message="Only the chunked Transfer-Encoding is supported: send the "
            "body with Content-Length or as `Transfer-Encoding: chunked`.",
        )


def _codings(header: str) -> set[str]:
    return {coding.strip().lower() for coding in header.split(",")} - {""}


def _read_body(req: Request) -> bytes:
    """Read the whole body, or abort if it is malformed, cut short or stalled."""
    try:
        body = req.get_data(cache=True)
        _reject_cut_body(req, body)
    except ParseException as error:
        log.info("Rejected a chunked request body: %s", type(error).__name__)
        flask_smorest.abort(
            400,
            message=CHUNKED_BODY_MESSAGE,
            errors={"json": ["Malformed chunked body."]},
        )
    except ClientDisconnected as error:
        # Werkzeug raises it from the read's own error, if there was one.
        _abort_unfinished_body(error.__context__)
    except OSError as error:
        _abort_unfinished_body(error)
    # gunicorn returns what arrived before the client stopped sending.
    if req.content_length is not None and len(body) < req.content_length:
        _abort_unfinished_body(None)
    return body


def _abort_unfinished_body(error: BaseException | None) -> NoReturn:
    # A read that timed out raises TimeoutError, or BlockingIOError where
    # the socket's own receive timeout (SO_RCVTIMEO) ran out.
    if isinstance(error, (TimeoutError, BlockingIOError)):
        log.info("Rejected a request body that stalled")
        flask_smorest.abort(
            408,
            message="The request body stopped arriving: send it without pauses.",
            errors={"json": ["Body timed out."]},
        )
    log.info("Rejected a request body that ended early")
    flask_smorest.abort(
        400,
        message="The request body ended early: send as many bytes as "
        "Content-Length gives, or end a chunked body with a chunk of size 0.",
        errors={"json": ["Incomplete body."]},
    )


def _reject_cut_body(req: Request, body: bytes) -> None:
    """Answer 413 for a chunked body that Werkzeug cut at the size limit.

    With a Content-Length, Werkzeug raises 413 itself; a chunked body is
    read up to the limit and silently cut, so one more byte is read here.
    """
    limit = req.max_content_length
    if req.content_length is not None or limit is None or len(body) < limit:
        return
    if req.environ["wsgi.input"].read(1):
        flask_smorest.abort(413, message=f"The request body is larger than {limit} bytes.")


def _json_error_reason(error: Exception) -> str:
    # Reasons never quote the body, which may hold a password.
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at line {error.lineno} column {error.colno}"
    if isinstance(error, UnicodeDecodeError):
        return "the body is not UTF-8"
    if isinstance(error, RecursionError):
        return "nested too deeply"
    if isinstance(error, _InvalidJSON):
        return str(error)
    return "a number is too large"


_STALE_READ_MESSAGE = (
    "The phone changed since that ETag was read: GET it without If-Match to "
    "read the current version."
)

_EXISTING_PHONE_MESSAGE = (
    "The phone matches If-None-Match: leave that header out to change it."
)

_OPTIONAL_IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": "ETag from a GET; when it is stale, the response is 412.",
    "schema": {"type": "string"},
}


class Blueprint(flask_smorest.Blueprint):
    """Blueprint that parses bodies with JSONParser and makes If-Match optional.

    flask-smorest responds 428 to a PATCH or DELETE without `If-Match`; here
    the header is optional, so a plain curl PATCH works, and a stale ETag
    still gets 412.
    """

    ARGUMENTS_PARSER = JSONParser()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Errors inside the blueprint keep this format even when a host
        # application mounts it on an Api with another error handler.
        self.register_error_handler(HTTPException, handle_http_exception)
        # By app, because one blueprint may serve several apps in a process.
        self._etag_enabled: weakref.WeakKeyDictionary[Flask, bool] = (
            weakref.WeakKeyDictionary()
        )

    def _check_precondition(self) -> None:
        return None

    def alt_response(self, *args: Any, **kwargs: Any) -> Callable[[_View], _View]:
        """Document an alternative response on the view itself.

        flask-smorest records it on a wrapper that only calls the view,
        which costs each request one more call and app lookup per
        documented response.
        """
        document = super().alt_response(*args, **kwargs)

        def decorator(view: _View) -> _View:
            view._apidoc = document(view)._apidoc  # type: ignore[attr-defined]
            return view

        return decorator

    def _is_etag_enabled(self) -> bool:
        """Return whether ETags are on, reading ETAG_DISABLED once per app.

        flask-smorest reads it on every call, two per GET, from the config
        of the app that its Api was last initialised with. Here it comes
        from the app serving the request, at that app's first request, so
        a later change has no effect.
        """
        app = current_app._get_current_object()
        enabled = self._etag_enabled.get(app)
        if enabled is None:
            setting = f"{current_api.config_prefix}ETAG_DISABLED"
            enabled = self._etag_enabled[app] = not app.config.get(setting, False)
        return enabled

    def _check_not_modified(self, etag: str) -> None:
        """Check a GET's If-Match and If-None-Match against `etag`.

        Raises 412 Precondition Failed when If-Match lacks `etag`, then 304
        Not Modified, with the ETag, when If-None-Match names it (RFC 9110,
        section 13.2.2). If-Match compares strongly and If-None-Match
        weakly, so W/"tag" matches "tag" there only. flask-smorest checks
        neither If-Match on a GET nor weakly, and sends its 304 without the
        ETag.
        """
        current = request._get_current_object()
        environ = current.environ
        # Most requests send neither header, so skip building empty ones.
        if "HTTP_IF_NONE_MATCH" not in environ and "HTTP_IF_MATCH" not in environ:
            return
        if current.method not in self.METHODS_CHECKING_NOT_MODIFIED:
            return
        if "HTTP_IF_MATCH" in environ and not current.if_match.contains(etag):
            failed = PreconditionFailed()
            failed.data = {"message": _STALE_READ_MESSAGE}
            raise failed
        if current.if_none_match.contains_weak(etag):
            not_modified = NotModified()
            # Read by handle_http_exception, as flask_smorest.abort sets it.
            not_modified.data = {"headers": {"ETag": quote_etag(etag)}}
            raise not_modified

    def set_etag_value(self, etag: str) -> None:
        """Send `etag` with this response, or 304 if If-None-Match names it.

        flask-smorest's `set_etag` hashes the JSON of its data; a caller
        that has a version at hand passes its hash directly.
        """
        if self._is_etag_enabled():
            self._check_not_modified(etag)
            _etag_context()["etag"] = etag

    def check_etag_value(self, etag: str) -> None:
        """Raise 412 Precondition Failed unless the conditional headers allow a write.

        A request without If-Match passes, unlike with flask-smorest's
        `check_etag`. One with If-Match, even an empty one, needs `etag` in
        it, compared strongly. One with If-None-Match fails when that names
        `etag` or is `*` (RFC 9110, section 13.1.2). The ETag counts as
        checked for flask-smorest's warning.
        """
        _etag_context()["etag_checked"] = True
        if not self._is_etag_enabled():
            return
        current = request._get_current_object()
        if "HTTP_IF_MATCH" in current.environ and not current.if_match.contains(etag):
            raise PreconditionFailed
        if "HTTP_IF_NONE_MATCH" in current.environ and (
            current.if_none_match.contains_weak(etag)
        ):
            failed = PreconditionFailed()
            failed.data = {"message": _EXISTING_PHONE_MESSAGE}
            raise failed

    def _prepare_etag_doc(self, doc: dict, doc_info: dict, **kwargs: Any) -> dict:
        doc = super()._prepare_etag_doc(doc, doc_info, **kwargs)
        doc.get("responses", {}).pop(428, None)
        parameters = doc.get("parameters", [])
        if "IF_MATCH" in parameters:
            parameters[parameters.index("IF_MATCH")] = _OPTIONAL_IF_MATCH
        elif "IF_NONE_MATCH" in parameters:
            # GET checks If-Match too, which flask-smorest does not document.
            parameters.append(_OPTIONAL_IF_MATCH)
            doc["responses"][412] = HTTPStatus(412).name
        return doc
