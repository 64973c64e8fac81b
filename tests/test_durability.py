"""Registrations survive SIGKILL of the whole gunicorn process group.

A few threads register phones until the server has returned 201 KILL_AFTER
times, then the process group is killed while requests are in flight. The
server starts again on the same database, and every phone created with a 201
response must be stored whole, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import http.client
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from . import pg
from .conftest import SECRET_KEY
from .server import Response, Server, list_all_phones

pytestmark = pytest.mark.sqlite_run_only("starts its own SQLite and PostgreSQL databases")

MASK = "\u2022" * 8
SENDERS = 4
MAX_PER_SENDER = 100
# Number of 201 responses to wait for before the kill.
KILL_AFTER = 20
REQUEST_TIMEOUT = 5
# Bound on reaching KILL_AFTER, which usually takes a second or two.
KILL_DEADLINE = 30


def phone_fields(number: str) -> dict[str, Any]:
    """Return a registration with every optional field set, unique to `number`."""
    return {
        "number": number,
        "name": f"Line {number[-4:]}",
        "referenceId": f"ref-{number[1:]}",
        "provider": "twilio",
        "type": "shared",
        "status": "pending",
        "smsEnabled": True,
        "sipTrunk": "sip.example.com:5061",
        "sipTrunkUser": f"user_{number[-4:]}",
        "sipTrunkPassword": f"pass-{number[-4:]}",
        "sipTrunkProtocol": "tls",
        "fallbackDestination": "+16054440129",
        "server": {"url": "wss://voice.example.com/ws", "region": "us-east-1"},
        "hooks": {"on_call_end": f"https://hooks.example.com/{number[1:]}"},
        "parameters": {"campaign": number, "weights": [1, 2, 3]},
    }


def shown_fields(sent: dict[str, Any]) -> dict[str, Any]:
    """Return the fields of `sent` as the API shows them, password masked."""
    return {**sent, "sipTrunkPassword": MASK}


@dataclass
class Registrations:
    """Registrations sent from several threads, with the responses received."""

    server: Server
    sent: dict[str, dict[str, Any]] = field(default_factory=dict)
    created: list[dict[str, Any]] = field(default_factory=list)
    unexpected: list[tuple[str, int, bytes]] = field(default_factory=list)
    in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)

    def send(self, sender: int) -> None:
        """Register up to MAX_PER_SENDER numbers, one at a time.

        Stops at the first request without a response or once `stopping` is set.
        """
        for index in range(MAX_PER_SENDER):
            if self.stopping.is_set():
                return
            if not self._register(f"+1605555{sender}{index:03d}"):
                return

    def _register(self, number: str) -> bool:
        """Register `number` and return False if no response came back."""
        body = phone_fields(number)
        with self.lock:
            self.sent[number] = body
            self.in_flight += 1
        try:
            response = self.server.request(
                "POST", "/api/phones", body, timeout=REQUEST_TIMEOUT
            )
        except (OSError, http.client.HTTPException):
            return False
        finally:
            with self.lock:
                self.in_flight -= 1

        with self.lock:
            if response.status == 201:
                self.created.append(response.json())
            else:
                self.unexpected.append((number, response.status, response.body[:300]))
        return True

    def ready_to_kill(self) -> bool:
        with self.lock:
            return len(self.created) >= KILL_AFTER and self.in_flight > 0


def kill_during_registrations(server: Server) -> Registrations:
    """Register from SENDERS threads and SIGKILL the server's process group.

    The kill comes once KILL_AFTER phones were created and at least one
    request is in flight, or after KILL_DEADLINE seconds.
    """
    registrations = Registrations(server)
    threads = [
        threading.Thread(target=registrations.send, args=(sender,), daemon=True)
        for sender in range(SENDERS)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + KILL_DEADLINE
    try:
        while not registrations.ready_to_kill() and time.monotonic() < deadline:
            time.sleep(0.001)
        server.stop(signal.SIGKILL)
    finally:
        registrations.stopping.set()
        for thread in threads:
            thread.join(timeout=2 * REQUEST_TIMEOUT)
    return registrations


@dataclass(frozen=True)
class Crash:
    """Server started again after the kill, and what was sent before it."""

    server: Server
    registrations: Registrations
    database_url: str


def crash_and_restart(stack: ExitStack, folder: Path, database_url: str) -> Crash:
    server = Server(
        env={"DATABASE_URL": database_url, "PHONES_SECRET_KEY": SECRET_KEY},
        log_path=folder / "server.log",
    )
    stack.enter_context(server)
    registrations = kill_during_registrations(server)
    server.start()
    return Crash(server, registrations, database_url)


@pytest.fixture(scope="module")
def sqlite_crash(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crash]:
    folder = tmp_path_factory.mktemp("sqlite-crash")
    with ExitStack() as stack:
        yield crash_and_restart(stack, folder, f"sqlite:///{folder / 'phones.db'}")


@pytest.fixture(scope="module")
def postgres_crash(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crash]:
    pg.require_postgres()
    folder = tmp_path_factory.mktemp("postgres-crash")
    with ExitStack() as stack:
        url = stack.enter_context(pg.temporary_database())
        yield crash_and_restart(stack, folder, url)


CRASH_FIXTURES = {"sqlite": "sqlite_crash", "postgresql": "postgres_crash"}


@pytest.fixture(params=list(CRASH_FIXTURES))
def crash(request: pytest.FixtureRequest) -> Crash:
    return request.getfixturevalue(CRASH_FIXTURES[request.param])


def test_responses_before_kill_are_201(crash: Crash) -> None:
    registrations = crash.registrations

    assert len(registrations.created) >= KILL_AFTER
    assert registrations.unexpected == []


def fetch_acknowledged(crash: Crash) -> list[tuple[dict[str, Any], Response]]:
    """Return each phone created before the kill with the response to a GET of it."""
    return [
        (phone, crash.server.request("GET", f"/api/phones/{phone['uuid']}"))
        for phone in crash.registrations.created
    ]


def test_acknowledged_phones_are_found(crash: Crash) -> None:
    missing = [
        (phone["uuid"], fetched.status)
        for phone, fetched in fetch_acknowledged(crash)
        if fetched.status != 200
    ]

    assert missing == []


def test_acknowledged_phones_keep_fields(crash: Crash) -> None:
    changed = [
        (phone, fetched.json())
        for phone, fetched in fetch_acknowledged(crash)
        if fetched.status == 200 and fetched.json() != phone
    ]

    assert changed == []


def test_stored_phones_match_requests(crash: Crash) -> None:
    sent = crash.registrations.sent
    partial = []
    for phone in list_all_phones(crash.server):
        expected = shown_fields(sent[phone["number"]])
        if {name: phone[name] for name in expected} != expected:
            partial.append(phone)

    assert partial == []


def test_restarted_server_registers_phone(crash: Crash) -> None:
    response = crash.server.request("POST", "/api/phones", phone_fields("+16054440199"))
    if response.status == 201:
        # The other tests expect only the phones sent before the kill.
        crash.server.request("DELETE", f"/api/phones/{response.json()['uuid']}")

    assert response.status == 201


def test_sqlite_integrity_check_ok(sqlite_crash: Crash) -> None:
    path = sqlite_crash.database_url.removeprefix("sqlite:///")
    with closing(sqlite3.connect(path)) as connection:
        result = connection.execute("PRAGMA integrity_check").fetchall()

    assert result == [("ok",)]


def test_postgres_numbers_stay_unique(postgres_crash: Crash) -> None:
    # Reading the table without its indexes checks the rows themselves, not
    # an index that could be damaged along with them.
    duplicates = pg.query(
        postgres_crash.database_url,
        "SET enable_indexscan = off",
        "SET enable_indexonlyscan = off",
        "SET enable_bitmapscan = off",
        "SELECT client_id, number, count(*) FROM phones_numbers "
        "GROUP BY client_id, number HAVING count(*) > 1",
    )

    assert duplicates == []


def test_postgres_unique_index_valid(postgres_crash: Crash) -> None:
    rows = pg.query(
        postgres_crash.database_url,
        "SELECT indisvalid FROM pg_index "
        "WHERE indexrelid = 'uq_phones_numbers_client_number'::regclass",
    )

    assert rows == [(True,)]
