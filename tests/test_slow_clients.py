"""Clients that stop sending: a real gunicorn closes them after its timeouts."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest

from .conftest import SECRET_KEY
from .server import ROOT, Server

pytestmark = pytest.mark.sqlite_run_only("tests gunicorn's timeouts, not the database")

HEADER_TIMEOUT = 2
BODY_TIMEOUT = 2
# The deadlines are checked once a second; the rest is for a busy machine.
SLACK = 4


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("slow")
    env = {
        "DATABASE_URL": f"sqlite:///{folder / 'phones.db'}",
        "PHONES_SECRET_KEY": SECRET_KEY,
        "HEADER_TIMEOUT": str(HEADER_TIMEOUT),
        "BODY_TIMEOUT": str(BODY_TIMEOUT),
    }
    with Server(env=env, log_path=folder / "server.log") as running:
        yield running


def _connect(server):
    return socket.create_connection(("127.0.0.1", server.port), timeout=30)


def _read_answer(sock) -> tuple[bytes, dict]:
    answer = sock.makefile("rb").read()
    head, _, body = answer.partition(b"\r\n\r\n")
    return head, json.loads(body)


def test_stalled_heads_get_408_and_free_threads(server):
    # The server has 2 threads, and each stalled head occupies one.
    stalled = [_connect(server), _connect(server)]
    for sock in stalled:
        sock.sendall(b"GET /api/phones HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: app")
    started = time.monotonic()

    health = server.request("GET", "/healthz", timeout=HEADER_TIMEOUT + SLACK)
    waited = time.monotonic() - started
    answers = [_read_answer(sock) for sock in stalled]

    assert health.status == 200
    assert waited < HEADER_TIMEOUT + SLACK
    for head, body in answers:
        assert head.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
        assert body["code"] == 408
        assert f"within {HEADER_TIMEOUT} s" in body["message"]
    assert "no whole request head within 2 s" in server.log_path.read_text()


def test_dripping_head_is_closed_at_deadline(server):
    with _connect(server) as sock:
        started = time.monotonic()
        for byte in b"GET /healthz HTTP/1.1\r\n":
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(0.5)
            if time.monotonic() - started > HEADER_TIMEOUT + SLACK:
                break
        head, body = _read_answer(sock)

    assert head.startswith(b"HTTP/1.1 408")
    assert body["code"] == 408


@pytest.mark.parametrize(
    ("framing", "sent"),
    [
        (b"Content-Length: 40", b'{"number": "+1605'),
        (b"Transfer-Encoding: chunked", b'5\r\n{"num\r\n'),
    ],
)
def test_stalled_body_answers_408(server, framing, sent):
    head = (
        b"POST /api/phones HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + f"Authorization: Bearer {server.api_key}\r\n".encode()
        + b"Content-Type: application/json\r\n"
        + framing
        + b"\r\n\r\n"
    )
    with _connect(server) as sock:
        sock.sendall(head + sent)
        started = time.monotonic()
        response_head, body = _read_answer(sock)
        waited = time.monotonic() - started

    assert response_head.startswith(b"HTTP/1.1 408")
    assert body["errors"] == {"json": ["Body timed out."]}
    assert BODY_TIMEOUT - 0.5 < waited < BODY_TIMEOUT + SLACK
    assert server.request("GET", "/api/phones").json()["total"] == 0


def test_slow_whole_request_is_served(server):
    # Pauses shorter than the body timeout, and a head sent in time.
    body = b'{"number": "+16055550123"}'
    head = (
        b"POST /api/phones HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + f"Authorization: Bearer {server.api_key}\r\n".encode()
        + b"Content-Type: application/json\r\nConnection: close\r\n"
        + b"Content-Length: %d\r\n\r\n" % len(body)
    )
    with _connect(server) as sock:
        sock.sendall(head)
        for part in (body[:10], body[10:]):
            time.sleep(BODY_TIMEOUT / 2)
            sock.sendall(part)
        response_head, answer = _read_answer(sock)

    assert response_head.startswith(b"HTTP/1.1 201")
    assert answer["number"] == "+16055550123"


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "ten", "\u00b2"])
def test_invalid_timeout_stops_startup(value):
    env = {"HEADER_TIMEOUT": value, "PATH": "/usr/bin:/bin"}
    code = "import phones_service.gunicorn_worker"

    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode != 0
    assert f"invalid HEADER_TIMEOUT={value!r}" in result.stderr
