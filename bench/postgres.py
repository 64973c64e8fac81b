"""Temporary PostgreSQL databases for the benchmark, on a loopback server.

Each size gets a database of its own, `phones_bench_<random hex>`, created
through the maintenance database of the server URL and dropped at the end,
also when the run fails or is interrupted.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

log = logging.getLogger(__name__)

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DATABASE_PREFIX = "phones_bench_"
# Seconds to wait for the server to accept a connection.
CONNECT_TIMEOUT = 5
# Server settings that the report records, because they change how the same
# queries run: memory for caching and sorting, the planner's estimate of the
# cache, and how commits reach the disk.
REPORTED_SETTINGS = (
    "shared_buffers",
    "effective_cache_size",
    "work_mem",
    "maintenance_work_mem",
    "synchronous_commit",
    "fsync",
)


def server_url(text: str) -> URL:
    """Parse a SQLAlchemy PostgreSQL URL and reject it unless its host is loopback.

    Raises ValueError with the URL, its password hidden, and what to change.
    """
    try:
        url = make_url(text)
    except (ArgumentError, ValueError) as error:
        # The message names the fault, not the text, which may contain a password.
        raise ValueError(
            f"invalid database URL ({error}): give one such as {DEFAULT_URL}"
        ) from None
    display_url = url.render_as_string(hide_password=True)
    if url.drivername != "postgresql+psycopg":
        raise ValueError(
            f"invalid driver in {display_url}: give a postgresql+psycopg:// "
            "URL, the driver that the service uses"
        )
    if not _is_loopback(url.host):
        raise ValueError(
            f"the host of {display_url} is not a loopback address. The "
            "benchmark creates and drops databases, so give a server on "
            "loopback, such as 127.0.0.1"
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


def describe_server(url: URL) -> dict[str, Any]:
    """Return the server's version and the settings in REPORTED_SETTINGS."""
    with _connect(url) as connection:
        version = connection.execute("SHOW server_version").fetchone()
        settings = {}
        for name in REPORTED_SETTINGS:
            row = connection.execute("SELECT current_setting(%s)", (name,)).fetchone()
            settings[name] = row[0] if row else None
    return {"version": version[0] if version else None, "settings": settings}


@contextmanager
def temporary_database(url: URL) -> Iterator[str]:
    """Create an empty database, yield its SQLAlchemy URL, then drop it.

    The database is dropped with FORCE, which ends the connections that a
    server killed midway may have left open (PostgreSQL 13 and later).
    """
    name = DATABASE_PREFIX + secrets.token_hex(8)
    _execute(url, "CREATE DATABASE {}", name)
    log.info("created database %s", name)
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        _execute(url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", name)
        log.info("dropped database %s", name)


def _execute(url: URL, statement: str, name: str) -> None:
    """Execute `statement` with the quoted database `name` in place of `{}`."""
    with _connect(url) as connection:
        connection.execute(sql.SQL(statement).format(sql.Identifier(name)))
