"""Concurrent registrations of the same numbers through real gunicorn processes.

Two gunicorn processes share one PostgreSQL database, and one process with
threads uses a SQLite file. Every number is sent several times at once, so
the duplicate check races against itself inside one process and across two.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .conftest import SECRET_KEY
from .pg import require_postgres, temporary_database
from .server import Response, Server, list_all_phones

pytestmark = pytest.mark.sqlite_run_only("starts its own SQLite and PostgreSQL databases")

NUMBERS = [f"+1605555{index:04d}" for index in range(30)]
COPIES = 4
WORKERS = 16
# Threads per server: more than the default, so that every copy of a
# number can be in a transaction at the same time.
SERVER_THREADS = COPIES
REQUEST_TIMEOUT = 10
# Bound on one burst of registrations, which usually takes a second or two.
BURST_TIMEOUT = 60


@dataclass(frozen=True)
class Attempt:
    number: str
    response: Response


@dataclass(frozen=True)
class Burst:
    """Responses to the concurrent registrations, and the numbers each server lists."""

    attempts: list[Attempt]
    listed_numbers: list[list[str]]


def start_server(
    stack: ExitStack, log_path: Path, database_url: str, api_key: str | None = None
) -> Server:
    """Start a server on `database_url` that `stack` stops when it closes."""
    server = Server(
        env={
            "DATABASE_URL": database_url,
            "PHONES_SECRET_KEY": SECRET_KEY,
            "THREADS": str(SERVER_THREADS),
        },
        log_path=log_path,
        api_key=api_key,
    )
    return stack.enter_context(server)


@contextmanager
def postgres_servers(folder: Path) -> Iterator[list[Server]]:
    """Two gunicorn processes on one new PostgreSQL database, sharing one key."""
    require_postgres()
    with ExitStack() as stack:
        url = stack.enter_context(temporary_database())
        first = start_server(stack, folder / "first.log", url)
        second = start_server(stack, folder / "second.log", url, first.api_key)
        yield [first, second]


@contextmanager
def sqlite_servers(folder: Path) -> Iterator[list[Server]]:
    """One gunicorn process with threads on a new SQLite file."""
    with ExitStack() as stack:
        url = f"sqlite:///{folder / 'phones.db'}"
        yield [start_server(stack, folder / "server.log", url)]


def register(server: Server, number: str) -> Attempt:
    body = {"number": number, "name": f"Line {number[-4:]}"}
    response = server.request("POST", "/api/phones", body, timeout=REQUEST_TIMEOUT)
    return Attempt(number, response)


def register_concurrently(servers: list[Server]) -> list[Attempt]:
    """POST every number COPIES times, spread over `servers`, from a thread pool.

    The copies of one number are submitted next to each other, so they run at
    the same time on different threads and, with two servers, in both processes.
    """
    jobs = [
        (servers[copy % len(servers)], number)
        for number in NUMBERS
        for copy in range(COPIES)
    ]
    deadline = time.monotonic() + BURST_TIMEOUT
    pool = ThreadPoolExecutor(max_workers=WORKERS)
    try:
        futures = [pool.submit(register, server, number) for server, number in jobs]
        return [
            future.result(timeout=max(0.0, deadline - time.monotonic()))
            for future in futures
        ]
    finally:
        pool.shutdown(cancel_futures=True)


SERVER_SETS = {
    "postgresql-2-processes": postgres_servers,
    "sqlite-threads": sqlite_servers,
}


@pytest.fixture(scope="module", params=list(SERVER_SETS))
def burst(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Burst:
    folder = tmp_path_factory.mktemp(request.param)
    with SERVER_SETS[request.param](folder) as servers:
        attempts = register_concurrently(servers)
        listed = [
            [phone["number"] for phone in list_all_phones(server)] for server in servers
        ]
    return Burst(attempts, listed)


def created_by_number(burst: Burst) -> dict[str, list[dict[str, Any]]]:
    """Group the phones of the 201 responses by number."""
    phones: dict[str, list[dict[str, Any]]] = {number: [] for number in NUMBERS}
    for attempt in burst.attempts:
        if attempt.response.status == 201:
            phones[attempt.number].append(attempt.response.json())
    return phones


def test_registrations_return_201_or_409(burst: Burst) -> None:
    unexpected = [
        (attempt.number, attempt.response.status, attempt.response.body[:300])
        for attempt in burst.attempts
        if attempt.response.status not in (201, 409)
    ]

    assert len(burst.attempts) == len(NUMBERS) * COPIES
    assert unexpected == []


def test_each_number_created_once(burst: Burst) -> None:
    counts = {
        number: len(phones) for number, phones in created_by_number(burst).items()
    }

    assert counts == dict.fromkeys(NUMBERS, 1)


def test_conflicts_name_created_phone(burst: Burst) -> None:
    winners = {
        number: phones[0]["uuid"]
        for number, phones in created_by_number(burst).items()
        if phones
    }
    wrong = [
        (attempt.number, attempt.response.json().get("uuid"))
        for attempt in burst.attempts
        if attempt.response.status == 409
        and attempt.response.json().get("uuid") != winners.get(attempt.number)
    ]

    assert wrong == []


def test_list_shows_each_number_once(burst: Burst) -> None:
    for listed in burst.listed_numbers:
        assert Counter(listed) == Counter(NUMBERS)
