"""Clients and their API keys.

A key is `phk_` plus eight visible characters plus a 43-character secret
(32 bytes from `secrets`). Only its SHA-256 is stored: the key has enough
entropy that a slow password hash would add latency and no safety.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import secrets
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Select, bindparam, func, select, update
from sqlalchemy.orm import Session, make_transient_to_detached

from .database import (
    WRITE_TRANSACTION,
    load_json,
    packed_row,
    postgresql_reader,
    sqlite_reader,
    sqlite_statement,
)
from .models import (
    CONTROL_CHARACTERS,
    NAME_MAX_LENGTH,
    ApiKey,
    Client,
    read_sqlite_datetime,
    utcnow,
)

log = logging.getLogger(__name__)

KEY_SCHEME = "phk_"
PREFIX_LENGTH = len(KEY_SCHEME) + 8
SECRET_BYTES = 32
# `last_used_at` is written at most this often per key, so that reads do not
# each turn into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# PostgreSQL advisory lock that serializes client creation, so that two
# clients cannot get the same name. The number is arbitrary and fixed.
_CREATE_CLIENT_LOCK = 0x70686B5F636C6E
_CONTROL_CHARACTERS = re.compile(f"[{CONTROL_CHARACTERS}]")


# The key's state and its client, in one statement built once.
_KEY_LOOKUP = (
    select(
        ApiKey.id,
        ApiKey.revoked_at,
        ApiKey.last_used_at,
        ApiKey.client_id,
        Client.uuid,
        Client.name,
        Client.created_at,
    )
    .join(Client, Client.id == ApiKey.client_id)
    .where(ApiKey.key_hash == bindparam("key_hash"))
)
_KEY_COLUMNS = len(_KEY_LOOKUP.selected_columns)


@dataclass
class LookupExtra:
    """Columns that the key lookup also reads, in the same statement.

    `columns` holds them for each database by dialect name ("sqlite",
    "postgresql"). They may refer to `ApiKey` and `Client`, and take their
    values from `params`, which both dialects bind alike. Only the readers
    of `sqlite_reader()` and `postgresql_reader()` read them: `values` stays
    None elsewhere, and the caller then reads them on its own.
    """

    columns: dict[str, tuple[Any, ...]]
    params: dict[str, Any]
    values: Sequence[Any] | None = None


@functools.cache
def _key_lookup(extra: tuple[Any, ...] = ()) -> Select[Any]:
    """Return the key lookup with `extra` columns, built once for each."""
    return _KEY_LOOKUP.add_columns(*extra)


@functools.cache
def _packed_key_lookup(extra: tuple[Any, ...] = ()) -> Select[Any]:
    """Return `_key_lookup(extra)` with its columns packed into one."""
    return packed_row(_key_lookup(extra))


def _utc(value: datetime | None) -> datetime | None:
    """Return `value` in UTC, as the UTCDateTime columns load it."""
    return None if value is None else value.astimezone(UTC)


class AccountError(Exception):
    """A client or key that the caller named does not exist or is ambiguous."""


@dataclass(frozen=True)
class NewKey:
    """Key just created: `key` is shown once and never stored."""

    key: str
    record: ApiKey


def client_name(text: str) -> str:
    """Return `text` as a client name, stripped and in NFC form, or raise AccountError.

    NFC makes the composed and decomposed forms of a letter, which look
    alike, one name.
    """
    name = unicodedata.normalize("NFC", text.strip())
    if not 1 <= len(name) <= NAME_MAX_LENGTH:
        raise AccountError(f"a client name must be 1 to {NAME_MAX_LENGTH} characters long")
    if _CONTROL_CHARACTERS.search(name):
        raise AccountError(
            "a client name must not contain control or text-direction characters"
        )
    try:
        uuid.UUID(name)
    except ValueError:
        return name
    raise AccountError(
        f"invalid client name {name!r}: commands would read it as a uuid, "
        "so choose a name that is not one"
    )


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def generate_key() -> str:
    visible = secrets.token_urlsafe(6)[:8].replace("-", "x").replace("_", "y")
    return f"{KEY_SCHEME}{visible}_{secrets.token_urlsafe(SECRET_BYTES)}"


class _KeyState(NamedTuple):
    """An API key's state and its client, as authentication reads them."""

    id: int
    revoked: bool
    last_used_at: datetime | None
    client: Client


@functools.lru_cache(maxsize=1024)
def _shared_client(
    client_id: int, client_uuid: uuid.UUID, name: str, created_at: datetime | None
) -> Client:
    """Return a detached client with these column values, one per distinct row.

    An ORM instance costs about as much to build as the key lookup that
    finds its values, so the requests of a client share one. A row that
    changes in the database gives a new key here, so a renamed client gets
    a new instance.
    """
    return _detached_client(client_id, client_uuid, name, created_at)


@functools.lru_cache(maxsize=1024)
def _shared_sqlite_client(
    client_id: int, client_uuid: str, name: str, created_at: str | None
) -> Client:
    """Return `_shared_client` for a row as SQLite stores it, reading its text once."""
    return _shared_client(
        client_id, uuid.UUID(hex=client_uuid), name, read_sqlite_datetime(created_at)
    )


def detached_copy(client: Client) -> Client:
    """Return a new detached client with the column values of `client`."""
    return _detached_client(client.id, client.uuid, client.name, client.created_at)


def _detached_client(
    client_id: int, client_uuid: uuid.UUID, name: str, created_at: datetime | None
) -> Client:
    client = Client(id=client_id, uuid=client_uuid, name=name, created_at=created_at)
    make_transient_to_detached(client)
    return client


class AccountRepository:
    """Clients and keys, for the command line and for authentication."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create_client(self, name: str) -> Client:
        """Create a client, or raise AccountError if another has this name.

        Commands find a client by its name, so the name must be unique, and
        `client_name` checks and normalizes it. A database written by an
        older version may hold duplicates, which `find_client` reports.
        """
        name = client_name(name)
        if self.session.get_bind().dialect.name == "postgresql":
            # Two concurrent creations would both pass the check below. Under
            # read committed, whatever the database's default, the check
            # finds a client committed while this transaction waited.
            self._begin_write(isolation_level="READ COMMITTED")
            self.session.execute(select(func.pg_advisory_xact_lock(_CREATE_CLIENT_LOCK)))
        else:
            self._begin_write()
        existing = self.session.scalars(
            select(Client.uuid).where(Client.name == name).limit(1)
        ).first()
        if existing is not None:
            self.session.rollback()
            raise AccountError(
                f"a client named {name!r} already exists ({existing}): "
                "choose another name"
            )
        client = Client(name=name, created_at=utcnow())
        self.session.add(client)
        self.session.commit()
        log.info("client created: uuid=%s", client.uuid)
        return client

    def list_clients(self) -> list[Client]:
        clients = list(self.session.scalars(select(Client).order_by(Client.created_at)))
        self.session.commit()
        return clients

    def find_client(self, reference: str) -> Client:
        """Return the client whose uuid, or else exact name, is `reference`."""
        try:
            condition = Client.uuid == uuid.UUID(reference)
        except ValueError:
            # A name stored before names were normalized may be in another form.
            forms = {reference, unicodedata.normalize("NFC", reference)}
            condition = Client.name.in_(sorted(forms))
        found = list(self.session.scalars(select(Client).where(condition).limit(2)))
        self.session.commit()
        if not found:
            raise AccountError(f"no client with uuid or name {reference!r}")
        if len(found) > 1:
            raise AccountError(f"several clients are named {reference!r}; use the uuid")
        return found[0]

    def create_key(self, client: Client) -> NewKey:
        self._begin_write()
        key = generate_key()
        record = ApiKey(
            client_id=client.id,
            prefix=key[:PREFIX_LENGTH],
            key_hash=hash_key(key),
            created_at=utcnow(),
        )
        self.session.add(record)
        self.session.commit()
        log.info("API key created: prefix=%s client=%s", record.prefix, client.uuid)
        return NewKey(key=key, record=record)

    def list_keys(self, client: Client) -> list[ApiKey]:
        query = (
            select(ApiKey)
            .where(ApiKey.client_id == client.id)
            .order_by(ApiKey.created_at, ApiKey.id)
        )
        keys = list(self.session.scalars(query))
        self.session.commit()
        return keys

    def any_key_exists(self) -> bool:
        """Return whether any key, active or revoked, was ever created."""
        found = self.session.scalars(select(ApiKey.id).limit(1)).first() is not None
        self.session.commit()
        return found

    def revoke_key(self, prefix: str) -> ApiKey:
        self._begin_write()
        record = self.session.scalars(
            select(ApiKey).where(ApiKey.prefix == prefix)
        ).one_or_none()
        if record is None:
            self.session.rollback()
            raise AccountError(f"no API key with prefix {prefix[:PREFIX_LENGTH]!r}")
        if record.revoked_at is None:
            record.revoked_at = utcnow()
        self.session.commit()
        log.info("API key revoked: prefix=%s", record.prefix)
        return record

    def authenticate(self, key: str, extra: LookupExtra | None = None) -> Client | None:
        """Return the client of an active key, recording its use, or None.

        The lookup is by the key's hash, so it costs the same whether or not
        the visible prefix belongs to a key. The client is detached from any
        session and shared by the requests that authenticate as it: read it,
        and merge it (`session.merge(client, load=False)`) to write with it,
        as `PhoneRepository` does.
        """
        found = self._find_key(hash_key(key), extra)
        if found is None or found.revoked:
            return None

        now = utcnow()
        if found.last_used_at is None or now - found.last_used_at >= LAST_USED_RESOLUTION:
            self._touch(found.id, now)
        # Otherwise a session's read transaction stays open for the request's reads.
        return found.client

    def _find_key(self, key_hash: str, extra: LookupExtra | None) -> _KeyState | None:
        """Return the state of the key with this hash and its client, or None."""
        params = {"key_hash": key_hash}
        reader = sqlite_reader()
        if reader is None:
            postgresql = postgresql_reader()
            if postgresql is not None:
                columns: tuple[Any, ...] = ()
                if extra is not None:
                    params.update(extra.params)
                    columns = extra.columns["postgresql"]
                found = postgresql.first(_key_lookup(columns), params)
                if found is not None and extra is not None:
                    extra.values = found[_KEY_COLUMNS:]
            else:
                found = self.session.connection().execute(_KEY_LOOKUP, params).first()
            if found is None:
                return None
            key_id, revoked_at, last_used_at, client_id, client_uuid, name, created_at = (
                found[:_KEY_COLUMNS]
            )
            client = _shared_client(client_id, client_uuid, name, _utc(created_at))
            return _KeyState(key_id, revoked_at is not None, last_used_at, client)

        columns = ()
        if extra is not None:
            params.update(extra.params)
            columns = extra.columns["sqlite"]
        row = sqlite_statement(_packed_key_lookup(columns)).first(reader, params)
        if row is None:
            return None
        values = load_json(row[0])
        if extra is not None:
            extra.values = values[_KEY_COLUMNS:]
        key_id, revoked_at, last_used_at, client_id, client_uuid, name, created_at = (
            values[:_KEY_COLUMNS]
        )
        client = _shared_sqlite_client(client_id, client_uuid, name, created_at)
        return _KeyState(
            key_id, revoked_at is not None, read_sqlite_datetime(last_used_at), client
        )

    def _touch(self, key_id: int, now: datetime) -> None:
        self._begin_write()
        self.session.execute(
            update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now)
        )
        self.session.commit()

    def _begin_write(self, isolation_level: str | None = None) -> None:
        # Ends any read transaction without expiring loaded objects, so
        # that the next one can start as a write transaction.
        self.session.commit()
        options: dict[str, Any] = dict(WRITE_TRANSACTION)
        if isolation_level is not None:
            options["isolation_level"] = isolation_level
        self.session.connection(execution_options=options)
