"""The README walkthrough against a real gunicorn process on loopback."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import pytest

from .backends import BACKEND
from .conftest import SECRET_KEY
from .pg import require_postgres, temporary_database
from .server import Server

MASK = "\u2022" * 8


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("server")
    with ExitStack() as stack:
        if BACKEND == "postgresql":
            require_postgres()
            url = stack.enter_context(temporary_database())
        else:
            url = f"sqlite:///{folder / 'phones.db'}"
        running = Server(
            env={"DATABASE_URL": url, "PHONES_SECRET_KEY": SECRET_KEY},
            log_path=folder / "server.log",
        )
        stack.enter_context(running)
        yield running


def test_readme_walkthrough(server):
    created = server.request(
        "POST",
        "/api/phones",
        {
            "number": "(605) 444-0129",
            "name": "Main Office Line",
            "sipTrunk": "sip.example.com",
            "sipTrunkUser": "user_abc",
            "sipTrunkPassword": "change-me",
        },
    )
    phone = created.json()
    assert created.status == 201
    assert created.headers["Location"] == f"/api/phones/{phone['uuid']}"
    assert phone["number"] == "+16054440129"
    assert phone["countryCode"] == "US"
    assert phone["sipTrunkPassword"] == MASK

    listed = server.request(
        "GET", "/api/phones?search=605-444&status=active&page=1&limit=10"
    ).json()
    assert listed["total"] == 1
    assert listed["phones"][0]["uuid"] == phone["uuid"]

    fetched = server.request("GET", f"/api/phones/{phone['uuid']}")
    assert fetched.status == 200
    assert fetched.json() == phone

    updated = server.request(
        "PATCH", f"/api/phones/{phone['uuid']}", {"name": "Support", "status": "inactive"}
    ).json()
    assert updated["name"] == "Support"
    assert updated["status"] == "inactive"

    deleted = server.request("DELETE", f"/api/phones/{phone['uuid']}")
    assert deleted.status == 204
    assert deleted.body == b""
    assert server.request("GET", f"/api/phones/{phone['uuid']}").status == 404


def test_server_errors_are_json(server):
    answers = [
        server.request("GET", "/nowhere"),
        server.request("PUT", "/api/phones"),
        server.request("POST", "/api/phones", {"number": "hello"}),
    ]

    assert [answer.status for answer in answers] == [404, 405, 422]
    assert all(answer.headers["Content-Type"] == "application/json" for answer in answers)


def test_concurrent_registrations_one_wins(server):
    number = {"number": "+1 202 555 0143"}
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: server.request("POST", "/api/phones", number), range(16)))

    statuses = sorted(answer.status for answer in answers)
    assert statuses == [201] + [409] * 15


def test_concurrent_writes_never_locked(server):
    def register(index):
        return server.request("POST", "/api/phones", {"number": f"+1605555{index:04d}"})

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(register, range(60)))

    assert [answer.status for answer in answers] == [201] * 60


def _chunked_post(server, body: bytes) -> int:
    """POST `body` with Transfer-Encoding: chunked and return the status."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        head = (
            "POST /api/phones HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {server.api_key}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
            "Connection: close\r\n\r\n"
        )
        chunks = b"".join(
            b"%x\r\n%s\r\n" % (len(part), part)
            for part in (body[i : i + 8192] for i in range(0, len(body), 8192))
        )
        sock.sendall(head.encode() + chunks + b"0\r\n\r\n")
        status_line = sock.makefile("rb").readline()
    return int(status_line.split()[1])


def test_chunked_oversized_body_answers_413(server):
    body = b'{"number": "+16054440403"' + b" " * 70_000 + b"}"

    assert _chunked_post(server, body) == 413
    assert server.request("GET", "/api/phones?search=6054440403").json()["total"] == 0


def test_chunked_small_body_is_accepted(server):
    assert _chunked_post(server, b'{"number": "+16054440404"}') == 201


def _raw_request(server, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        return sock.makefile("rb").read()


def test_malformed_header_keeps_key_out_of_log(server):
    # No colon after the header name: gunicorn rejects the request and
    # logs the line it could not parse.
    answer = _raw_request(
        server,
        b"GET /api/phones HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + f"Authorization Bearer {server.api_key}\r\n".encode()
        + b"Connection: close\r\n\r\n",
    )
    log = server.log_path.read_text()

    assert answer.startswith(b"HTTP/1.1 400")
    assert "Invalid HTTP Header" in log
    # After the banner that prints the first key; a boolean, so that a
    # failure message does not show the key.
    leaked = server.api_key[12:] in log.split("Send it as:")[-1]
    assert not leaked, "the API key appears in gunicorn's log"
