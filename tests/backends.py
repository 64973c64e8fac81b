"""The database a test run uses: SQLite files, or PostgreSQL.

`make test` runs the suite twice: with PHONES_TEST_DATABASE unset (SQLite)
and with PHONES_TEST_DATABASE=postgresql, where each run creates its own
temporary databases on the local server and drops them at the end.
"""

from __future__ import annotations

import os
from pathlib import Path

from .pg import execute, query

BACKEND = os.environ.get("PHONES_TEST_DATABASE", "sqlite")
if BACKEND not in ("sqlite", "postgresql"):
    raise ValueError(
        f"PHONES_TEST_DATABASE={BACKEND!r} is not supported; use sqlite or postgresql"
    )

# Tables a test may fill; a PostgreSQL reset empties them between tests.
_EMPTIED_TABLES = (
    "phones_numbers, phones_api_keys, phones_status_counts,"
    " phones_search_names, phones_search_digits"
)


def as_url(database: Path | str) -> str:
    """Return a SQLAlchemy URL for a SQLite file path or a URL."""
    if isinstance(database, str) and "://" in database:
        return database
    return f"sqlite:///{database}"


def client_ids(database_url: str) -> list[int]:
    return [row[0] for row in query(database_url, "SELECT id FROM phones_clients")]


def reset_postgresql(database_url: str, kept_client_ids: list[int]) -> None:
    """Return a migrated PostgreSQL database to its state after migration."""
    kept = ", ".join(str(client_id) for client_id in kept_client_ids) or "0"
    execute(
        database_url,
        f"TRUNCATE {_EMPTIED_TABLES} RESTART IDENTITY",
        f"DELETE FROM phones_clients WHERE id NOT IN ({kept})",
    )


def raw_contents(database_url: str) -> bytes:
    """Return everything the database stores for phones and keys, as bytes.

    For SQLite these are the file and its write-ahead log; for PostgreSQL,
    every row of the phones tables as text.
    """
    if database_url.startswith("sqlite:///"):
        path = Path(database_url.removeprefix("sqlite:///"))
        wal = path.with_name(path.name + "-wal")
        return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    rows = []
    for table in ("phones_numbers", "phones_api_keys", "phones_clients"):
        rows += query(database_url, f"SELECT t::text FROM {table} t")
    return "\n".join(row[0] for row in rows).encode()
