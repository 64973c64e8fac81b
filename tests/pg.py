"""Temporary databases on the local PostgreSQL server, for tests that need one.

The server is reached as `postgres` on 127.0.0.1:5432 with trust
authentication, or at PHONES_TEST_POSTGRES_URL, which must name a loopback
host. Tests call `require_postgres()` first, which skips them when the server
is unreachable, or fails them when PHONES_REQUIRE_POSTGRES=1 is set.
"""

from __future__ import annotations

import ipaddress
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy.engine import URL, make_url

try:
    import psycopg
    from psycopg import sql
except ImportError:
    # Without the test extras, every PostgreSQL test skips or fails.
    psycopg = None

DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# Seconds to wait for the server before a test skips.
CONNECT_TIMEOUT = 2


def admin_url() -> URL:
    """Return the URL of the maintenance database, checked to be on loopback."""
    url = make_url(os.environ.get("PHONES_TEST_POSTGRES_URL", DEFAULT_ADMIN_URL))
    if not _is_loopback(url.host):
        raise ValueError(
            f"PHONES_TEST_POSTGRES_URL host {url.host!r} is not a loopback "
            "address, so set it to a server on 127.0.0.1."
        )
    return url


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def _connect(url: URL) -> psycopg.Connection[Any]:
    return psycopg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        dbname=url.database,
        connect_timeout=CONNECT_TIMEOUT,
        autocommit=True,
    )


def postgres_available() -> bool:
    """Return whether psycopg is installed and the server accepts a connection."""
    return _unavailable_reason() is None


def _unavailable_reason() -> str | None:
    if psycopg is None:
        return "psycopg is not installed: pip install -e '.[test]'"
    url = admin_url()
    try:
        with _connect(url):
            return None
    except psycopg.Error as error:
        display_url = url.render_as_string(hide_password=True)
        message = " ".join(str(error).split())
        return f"PostgreSQL at {display_url} is unreachable: {message}"


def require_postgres() -> None:
    """Skip the calling test when PostgreSQL is unreachable.

    With PHONES_REQUIRE_POSTGRES=1 the test fails instead, so CI cannot pass
    without running the PostgreSQL tests.
    """
    reason = _unavailable_reason()
    if reason is None:
        return

    if os.environ.get("PHONES_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PHONES_REQUIRE_POSTGRES=1 but {reason}")
    pytest.skip(reason)


@contextmanager
def temporary_database() -> Iterator[str]:
    """Create an empty database, yield its SQLAlchemy URL, then drop it.

    Connections that are still open at the end, such as those of a server
    that was killed, are terminated first, because PostgreSQL cannot drop a
    database in use.
    """
    url = admin_url()
    name = f"phones_test_{uuid.uuid4().hex[:16]}"
    _execute_on_database(url, "CREATE DATABASE {}", name)
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        _drop_database(url, name)


def _drop_database(url: URL, name: str) -> None:
    with _connect(url) as connection:
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
    _execute_on_database(url, "DROP DATABASE IF EXISTS {}", name)


def _execute_on_database(url: URL, statement: str, name: str) -> None:
    """Execute `statement` with the quoted database `name` in place of `{}`."""
    with _connect(url) as connection:
        connection.execute(sql.SQL(statement).format(sql.Identifier(name)))


def query(database_url: str, *statements: str) -> list[tuple[Any, ...]]:
    """Execute SQL statements in one session and return the rows of the last one.

    The statements before the last one are settings such as `SET ...`.
    """
    with _connect(make_url(database_url)) as connection:
        for statement in statements[:-1]:
            connection.execute(statement)
        return connection.execute(statements[-1]).fetchall()


def execute(database_url: str, *statements: str) -> None:
    """Execute SQL statements that return no rows, in one session."""
    with _connect(make_url(database_url)) as connection:
        for statement in statements:
            connection.execute(statement)
