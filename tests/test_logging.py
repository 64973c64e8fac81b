"""Request logging: one line per request, a request id, and no secrets."""

from __future__ import annotations

import logging
import os
import re
import sys

import pytest

from phones_service.logging_config import LOG_FORMAT, RedactSecrets, ServiceFormatter
from phones_service.request_log import new_request_id

from .conftest import register

PASSWORD = "Walkthrough-Trunk-Pass-9"


def request_lines(caplog):
    return [
        r.getMessage() for r in caplog.records if r.name == "phones_service.request_log"
    ]


def test_one_line_per_request(client, caplog):
    caplog.set_level(logging.INFO)
    client.get("/api/phones")

    lines = request_lines(caplog)
    assert len(lines) == 1
    assert lines[0].startswith("GET /api/phones 200 ")
    assert "ms request_id=" in lines[0]


def test_request_id_is_generated(client):
    first = client.get("/api/phones").headers["X-Request-ID"]
    second = client.get("/api/phones").headers["X-Request-ID"]

    assert re.fullmatch("[0-9a-f]{32}", first)
    assert re.fullmatch("[0-9a-f]{32}", second)
    assert first != second


def test_forked_worker_generates_other_ids():
    # gunicorn forks its workers from one process, so each must draw its own ids.
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write_end, new_request_id().encode())
        os._exit(0)
    os.close(write_end)
    ours = new_request_id()
    with os.fdopen(read_end) as pipe:
        theirs = pipe.read()
    os.waitpid(pid, 0)

    assert re.fullmatch("[0-9a-f]{32}", theirs)
    assert theirs != ours


def test_sane_request_id_is_kept(client, caplog):
    caplog.set_level(logging.INFO)
    response = client.get("/api/phones", headers={"X-Request-ID": "abc-123.def"})

    assert response.headers["X-Request-ID"] == "abc-123.def"
    assert "request_id=abc-123.def" in request_lines(caplog)[0]


@pytest.mark.parametrize(
    "given", ["", "has space", "x" * 129, "semi;colon", 'quote"d', "a/b"]
)
def test_insane_request_id_is_replaced(client, given):
    response = client.get("/api/phones", headers={"X-Request-ID": given})

    assert response.headers["X-Request-ID"] != given
    assert len(response.headers["X-Request-ID"]) == 32


def test_errors_carry_request_id(anonymous):
    response = anonymous.get("/api/phones")

    assert response.status_code == 401
    assert response.headers["X-Request-ID"]


def test_walkthrough_logs_no_secret(app, client, api_key, anonymous, caplog):
    caplog.set_level(logging.DEBUG)
    created = register(client, name="Line", sipTrunkPassword=PASSWORD)
    phone_uuid = created.get_json()["uuid"]
    path = f"/api/phones/{phone_uuid}"
    client.get("/api/phones", query_string={"search": "605"})
    client.get(path)
    client.patch(path, json={"sipTrunkPassword": PASSWORD, "status": "bogus"})
    client.patch(path, json={"sipTrunkPassword": PASSWORD})
    register(client, sipTrunkPassword=PASSWORD)
    register(client, "not a number", sipTrunkPassword=PASSWORD)
    client.post(
        "/api/phones",
        data=f'{{"sipTrunkPassword": "{PASSWORD}"',
        content_type="application/json",
    )
    anonymous.get("/api/phones", headers={"Authorization": f"Bearer {api_key}x"})
    anonymous.get("/api/phones", headers={"Authorization": f"Basic {api_key}"})
    client.delete(path)

    messages = [record.getMessage() for record in caplog.records]
    assert len(request_lines(caplog)) == 11
    for secret in (PASSWORD, api_key, api_key[13:], f"Bearer {api_key}"):
        leaks = [m for m in messages if secret in m]
        assert leaks == [], "a log record contains a secret"


@pytest.mark.parametrize(
    ("message", "args", "expected"),
    [
        ("got %s and Bearer abc.def", ("phk_AbCdEfGh_secretpart123",),
         "got phk_AbCdEfGh_[redacted] and Bearer [redacted]"),
        ("key %s", ("phk_AbCdEfGh_secretpart123",), "key phk_AbCdEfGh_[redacted]"),
        ("header Bearer %s", ("abc.def",), "header Bearer [redacted]"),
        ("GET /api/phones 200 client=%s", ("-",), "GET /api/phones 200 client=-"),
        ("got bearer %s", ("abc",), "got bearer [redacted]"),
        ("got BEARER\t%s!", ("abc",), "got BEARER\t[redacted]"),
        ("Invalid HTTP Header: 'authorization %s'", ("abc def",),
         "Invalid HTTP Header: 'authorization [redacted]'"),
        ("Invalid HTTP Header: 'Authorization Basic %s'", ("YW5uOnNlY3JldA==",),
         "Invalid HTTP Header: 'Authorization [redacted]'"),
        ("Proxy-Authorization: Digest %s", ('username="a", response="b"',),
         "Proxy-Authorization: [redacted]"),
        ("authorization:%s\r\nnext line", ("abc",),
         "authorization:[redacted]\r\nnext line"),
        ("Authorization\n%s", ("next line",), "Authorization\nnext line"),
        ("failed: Malformed Authorization header%s", ("",),
         "failed: Malformed Authorization header"),
        ("Invalid HTTP Header: %r", ("Authorization\tBasic YW5u",),
         "Invalid HTTP Header: 'Authorization\\t[redacted]'"),
        ("GET /api/phones/%s 404", ("Bearer%09abc",),
         "GET /api/phones/Bearer%09[redacted] 404"),
        ("query %s", ("auth=Bearer+abc&x=1",), "query auth=Bearer+[redacted]&x=1"),
        ("query %s", ("h=Authorization%3A%20Basic%20YW5u",),
         "query h=Authorization%3A%20[redacted]"),
        ("key %s end", ("phk_AbCdEfGh%5Fsecretpart123",), "key phk_AbCdEfGh_[redacted] end"),
    ],
)  # fmt: skip
def test_redact_filter_masks_keys(message, args, expected):
    record = logging.LogRecord("x", logging.INFO, __file__, 1, message, args, None)
    RedactSecrets().filter(record)

    assert record.getMessage() == expected


class CountedText:
    """Argument of a log record that counts how often it is formatted."""

    def __init__(self) -> None:
        self.formatted = 0

    def __str__(self) -> str:
        self.formatted += 1
        return "text"


def test_filtered_record_formats_arguments_once():
    argument = CountedText()
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "got %s", (argument,), None
    )

    RedactSecrets().filter(record)
    line = ServiceFormatter(LOG_FORMAT).format(record)

    assert line.endswith("x: got text")
    assert argument.formatted == 1


def test_failed_format_reports_redacted_message(capsys):
    # A format field that no record has makes formatting fail, and logging
    # then prints the record's message and arguments to stderr itself.
    handler = logging.StreamHandler()
    handler.setFormatter(ServiceFormatter("%(no_such_field)s %(message)s"))
    handler.addFilter(RedactSecrets())
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "key %s", ("phk_AbCdEfGh_secretpart123",), None
    )

    handler.handle(record)

    report = capsys.readouterr().err
    assert "Logging error" in report
    assert "secretpart123" not in report
    assert "phk_AbCdEfGh_[redacted]" in report


def test_mismatched_arguments_are_left_out():
    record = logging.LogRecord(
        "x",
        logging.INFO,
        __file__,
        1,
        "key %s and %s",
        ("phk_AbCdEfGh_secretpart123",),
        None,
    )

    logged = RedactSecrets().filter(record)
    line = logging.Formatter(LOG_FORMAT).format(record)

    assert logged
    assert "secretpart123" not in line
    assert "key %s and %s [arguments that do not fit the message left out]" in line


def test_traceback_and_stack_are_redacted():
    try:
        raise ValueError("rejected Bearer phk_AbCdEfGh_secretpart123")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "failed", None, exc_info
    )
    record.stack_info = (
        "Stack (most recent call last):\n  key phk_AbCdEfGh_secretpart456"
    )

    RedactSecrets().filter(record)
    line = logging.Formatter(LOG_FORMAT).format(record)

    assert "Traceback" in line
    assert "secretpart123" not in line
    assert "secretpart456" not in line
    assert "Bearer [redacted]" in line
    assert "phk_AbCdEfGh_[redacted]" in line


def record_at(created: float) -> logging.LogRecord:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "message", None, None)
    record.created = created
    record.msecs = int((created - int(created)) * 1000) + 0.0
    return record


def test_formatter_time_matches_logging():
    # Two records in one second, then the next second, then an earlier one.
    times = [1_780_000_000.25, 1_780_000_000.999, 1_780_000_001.0, 1_700_000_000.5]
    formatter = ServiceFormatter(LOG_FORMAT)
    reference = logging.Formatter(LOG_FORMAT)

    for created in times:
        record = record_at(created)
        assert formatter.format(record) == reference.format(record)


def test_formatter_keeps_explicit_date_format():
    formatter = ServiceFormatter("%(asctime)s", datefmt="%Y")
    record = record_at(1_780_000_000.25)

    assert formatter.format(record) == logging.Formatter("%(asctime)s", "%Y").format(
        record
    )


def test_path_cannot_forge_log_lines(client, caplog):
    caplog.set_level(logging.INFO)
    client.get("/api/phones/x%0A2026-12-04 INFO DELETE /api/phones/all 204%1b[31m")

    line = request_lines(caplog)[0]
    assert "\n" not in line
    assert "\x1b" not in line
    assert "\\x0a" in line
