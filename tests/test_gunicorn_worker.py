"""The gunicorn worker's JSON error responses, built without a server."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from gunicorn.http.errors import InvalidHeaderName, InvalidRequestLine

from phones_service.gunicorn_worker import json_error_response

pytestmark = pytest.mark.sqlite_run_only(
    "tests gunicorn's error answers, not the database"
)

CFG = SimpleNamespace(
    limit_request_line=4094, limit_request_fields=100, limit_request_field_size=8190
)


def test_error_response_is_whole_json():
    response = json_error_response(
        b"HTTP/1.1 400 Bad Request", InvalidHeaderName("X\x00"), CFG
    )

    head, _, body = response.partition(b"\r\n\r\n")
    assert head.split(b"\r\n") == [
        b"HTTP/1.1 400 Bad Request",
        b"Connection: close",
        b"Content-Type: application/json",
        b"Content-Length: %d" % len(body),
    ]
    assert json.loads(body) == {
        "code": 400,
        "status": "Bad Request",
        "message": "A request header is malformed: send each header on one line "
        "as `Name: value`, with a name of letters, digits and hyphens.",
    }


def test_error_response_leaves_out_request_text():
    error = InvalidRequestLine("GET /api/phones?key=phk_secret HTTP/1.1 x")

    response = json_error_response(b"HTTP/1.1 400 Bad Request", error, CFG)

    assert b"phk_secret" not in response


@pytest.mark.parametrize(
    "status_line", [b"", b"HTTP/1.0 400 Bad Request", b"HTTP/1.1 4x0 Bad"]
)
def test_unknown_status_line_keeps_gunicorn_response(status_line):
    assert json_error_response(status_line, InvalidRequestLine("x"), CFG) is None
