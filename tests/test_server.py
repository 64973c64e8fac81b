"""The README walkthrough against a real gunicorn process on loopback."""

from __future__ import annotations

import base64
import json
import socket
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from http import HTTPStatus

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


@pytest.mark.parametrize(
    "header",
    [
        "Authorization Bearer {key}",
        "authorization bearer {key}",
        "AUTHORIZATION {key}",
        "Authorization Basic {basic}",
        "Proxy-Authorization Basic {basic}",
    ],
)
def test_malformed_header_keeps_key_out_of_log(server, header):
    basic = base64.b64encode(f"ann:{server.api_key}".encode()).decode()
    secret = basic if "{basic}" in header else server.api_key[12:]
    # No colon after the header name: gunicorn rejects the request and
    # logs the line it could not parse.
    answer = _raw_request(
        server,
        b"GET /api/phones HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + header.format(key=server.api_key, basic=basic).encode()
        + b"\r\nConnection: close\r\n\r\n",
    )
    log = server.log_path.read_text()

    assert answer.startswith(b"HTTP/1.1 400")
    assert "InvalidHeader (the request's text is left out of the log)" in log
    echoed = secret.encode() in answer
    assert not echoed, "the answer repeats the API key"
    # After the banner that prints the first key; a boolean, so that a
    # failure message does not show the key.
    leaked = secret in log.split("Send it as:")[-1]
    assert not leaked, "the API key appears in gunicorn's log"


def _json_answer(answer: bytes) -> tuple[int, dict[str, str], dict]:
    """Split a raw HTTP/1.1 response into its status, headers and JSON body."""
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    assert headers["Content-Type"] == "application/json", answer[:300]
    assert int(headers["Content-Length"]) == len(body)
    return int(status_line.split()[1]), headers, json.loads(body)


REQUEST_LINE = "The request line is malformed"
HEADER = "A request header is malformed"
TOO_MANY_HEADERS = "The request has more than 100 headers"


@pytest.mark.parametrize(
    ("request_line", "headers", "status", "message"),
    [
        (b"GET /api/phones?search=a b HTTP/1.1", b"", 400, REQUEST_LINE),
        (b"GET /api/phones?search=\xc3\xb6 HTTP/1.1", b"", 400, REQUEST_LINE),
        (b"GET /api/phones?search=a\tb HTTP/1.1", b"", 400, REQUEST_LINE),
        (b"G@T /api/phones HTTP/1.1", b"", 400, REQUEST_LINE),
        (b"GET /api/phones HTTP/9.9", b"", 400, REQUEST_LINE),
        (b"GET /api/phones", b"", 400, REQUEST_LINE),
        (b"", b"", 400, REQUEST_LINE),
        (b"PRI * HTTP/2.0", b"", 400, REQUEST_LINE),
        (b"GET /api/phones HTTP/1.1", b"X-Note folded\r\n", 400, HEADER),
        (b"GET /api/phones HTTP/1.1", b"X Note: 1\r\n", 400, HEADER),
        (b"GET /api/phones HTTP/1.1", b"X-Note: a\r\n  b\r\n", 400, HEADER),
        (b"GET /api/phones HTTP/1.1", b"X-Note: a\x00b\r\n", 400, HEADER),
        (
            b"POST /api/phones HTTP/1.1",
            b"Content-Length: 1\r\nContent-Length: 2\r\n",
            400,
            HEADER,
        ),
        (b"POST /api/phones HTTP/1.1", b"Content-Length: two\r\n", 400, HEADER),
        (b"POST /api/phones HTTP/1.1", b"Transfer-Encoding: gzip\r\n", 400, HEADER),
        (
            b"GET /api/phones?search=" + b"5" * 5000 + b" HTTP/1.1",
            b"",
            414,
            "The request line is longer than 4094 bytes",
        ),
        (
            b"GET /api/phones HTTP/1.1",
            b"".join(b"X-Note-%d: 1\r\n" % i for i in range(101)),
            431,
            TOO_MANY_HEADERS,
        ),
        (
            b"GET /api/phones HTTP/1.1",
            b"X-Note: " + b"a" * 9000 + b"\r\n",
            431,
            TOO_MANY_HEADERS,
        ),
        (b"GET /api/phones HTTP/1.1", b"Expect: 200-ok\r\n", 417, "The Expect header"),
        (b"POST /api/phones HTTP/1.1", b"Transfer-Encoding: foo\r\n", 501, "The Transfer"),
    ],
)
def test_rejected_request_answers_json(server, request_line, headers, status, message):
    request = request_line + b"\r\nHost: 127.0.0.1\r\n" + headers
    answer = _raw_request(server, request + b"Connection: close\r\n\r\n")

    code, _, body = _json_answer(answer)
    assert code == status
    assert body["code"] == status
    assert body["status"] == HTTPStatus(status).phrase
    assert answer.startswith(f"HTTP/1.1 {status} {body['status']}\r\n".encode())
    assert body["message"].startswith(message)
    assert set(body) == {"code", "status", "message"}


@pytest.mark.parametrize(
    "chunks",
    [
        b"zz\r\n{}\r\n0\r\n\r\n",
        b"5\r\n{}\r\n0\r\n\r\n",
        b"2\r\n{}XY0\r\n\r\n",
        b"2;\x01\r\n{}\r\n0\r\n\r\n",
        b"-2\r\n{}\r\n0\r\n\r\n",
        b"0x2\r\n{}\r\n0\r\n\r\n",
    ],
)
def test_malformed_chunked_body_answers_400(server, chunks):
    head = (
        "POST /api/phones HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {server.api_key}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head.encode() + chunks)
        answer = sock.makefile("rb").read()

    code, headers, body = _json_answer(answer)
    assert code == 400
    assert body["message"].startswith("The chunked request body is malformed")
    assert "X-Request-ID" in headers


@pytest.mark.parametrize(
    ("framing", "sent"),
    [
        (b"Content-Length: 30", b'{"number": "+1605'),
        (b"Transfer-Encoding: chunked", b"2\r\n{}\r\n"),
        (b"Transfer-Encoding: chunked", b"9\r\n{}"),
    ],
)
def test_body_cut_short_answers_400(server, framing, sent):
    head = (
        b"POST /api/phones HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + f"Authorization: Bearer {server.api_key}\r\n".encode()
        + b"Content-Type: application/json\r\n"
        + framing
        + b"\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head + sent)
        # The client stops sending: the server reads the end of the stream.
        sock.shutdown(socket.SHUT_WR)
        answer = sock.makefile("rb").read()

    code, _, body = _json_answer(answer)
    assert code == 400
    assert body["message"].startswith("The request body ended early")


@pytest.mark.parametrize(
    "request_head",
    [
        b"POST /api/phones HTTP/1.1\r\n",
        b"DELETE /api/phones/00000000-0000-4000-8000-000000000000 HTTP/1.1\r\n",
        b"POST /healthz HTTP/1.1\r\n",
    ],
)
def test_unread_malformed_body_gets_one_answer(server, request_head):
    body = b'{"number": "+16055550199", "sipTrunkPassword": "s3cret-unread"}'
    answer = _raw_request(
        server,
        request_head
        + b"Host: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        + body
        + b"\r\n\r\nGET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    )

    # The service responds without reading the body. gunicorn then finds it
    # malformed and closes the connection, without a second response and
    # without serving the request behind it.
    assert answer.count(b"HTTP/1.1 ") == 1
    assert b"s3cret-unread" not in server.log_path.read_bytes()
