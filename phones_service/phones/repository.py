"""Database access for phones, scoped to one client.

This is the only module that reads or writes phones through a session, so
every query here filters on the client that the repository was made for.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Executable,
    Integer,
    Select,
    String,
    Text,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    select,
    tuple_,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..accounts import LookupExtra
from ..crypto import SecretBox, SecretKeyError
from ..database import (
    WRITE_TRANSACTION,
    load_json,
    postgresql_reader,
    sqlite_reader,
    sqlite_statement,
)
from ..json_provider import dumps
from ..models import (
    ApiKey,
    Client,
    Phone,
    PhoneStatusCount,
    read_sqlite_datetime,
    sqlite_datetime_text,
    utcnow,
)
from .documents import (
    format_timestamp,
    phone_json,
    postgresql_document,
    postgresql_timestamp,
    sqlite_document,
    sqlite_timestamp,
    sqlite_uuid,
)
from .search import (
    PostgresqlSearch,
    SearchKind,
    SqliteSearch,
    postgresql_statements,
    sqlite_statements,
)

log = logging.getLogger(__name__)

# Called with the current phone inside a write transaction; raises to cancel.
Precondition = Callable[[Phone], None]

# Request fields that map onto the server columns.
_SERVER_FIELDS = {"url": "server_url", "region": "server_region"}


class DuplicateNumberError(Exception):
    """The client already has a phone with this number."""

    def __init__(self, number: str, existing_uuid: uuid.UUID) -> None:
        super().__init__(number)
        self.number = number
        self.existing_uuid = existing_uuid


# Read-only phone: the column values of `phones_numbers` by attribute name,
# and `client_uuid`, as `Phone.as_dict()` returns them.
PhoneRow = dict[str, Any]


@dataclass(frozen=True)
class PageCursor:
    """Position after which the next page starts."""

    created_at: datetime
    uuid: uuid.UUID


@dataclass(frozen=True)
class PhoneDocument:
    """One phone's API form as JSON text, with its uuid and `updatedAt`."""

    uuid: str
    updated_at: str
    text: str


@dataclass(frozen=True)
class PhonePage:
    """One page of phones in their API form (`phone_json`).

    The database builds the phones as one JSON array in `phones_json`,
    which `phones` reads on first use.
    """

    total: int
    phones_json: str
    # Where the next page starts, or None if this page is the last.
    next: PageCursor | None = None

    @functools.cached_property
    def phones(self) -> list[dict[str, Any]]:
        return load_json(self.phones_json)


# Statements and conditions are built once, here: building them anew costs
# more than running them. Their values are bound per request.
_PHONE_ROWS = select(
    *Phone.__table__.columns,
    bindparam("owner", type_=String).label("client_uuid"),
)
# SQLite builds each phone's API form itself (see documents.py), and the
# stored sort position gives the cursor of the next page.
_PHONE_DOCUMENTS = select(
    sqlite_document().label("document"),
    type_coerce(Phone.created_at, String).label("created_at"),
    type_coerce(Phone.uuid, String).label("uuid"),
)
# PostgreSQL builds them too, and its rows keep their typed sort position.
_POSTGRESQL_DOCUMENTS = select(
    postgresql_document().label("document"), Phone.created_at, Phone.uuid
)
_OF_CLIENT = Phone.client_id == bindparam("client_id")
_IN_STATUS = Phone.status == bindparam("status")
_BEFORE_CURSOR = tuple_(Phone.created_at, Phone.uuid) < tuple_(
    bindparam("after_created_at", type_=Phone.created_at.type),
    bindparam("after_uuid", type_=Phone.uuid.type),
)
_NEWEST_FIRST = (Phone.created_at.desc(), Phone.uuid.desc())
_THE_PHONE = Phone.uuid == bindparam("phone_uuid", type_=Phone.uuid.type)
_GET_ROW = _PHONE_ROWS.where(_OF_CLIENT, _THE_PHONE)
# The database builds the phone's JSON text, prefixed with the `updatedAt`
# that its ETag needs, in one column, because the sqlite3 module releases
# the GIL for each column it reads.
_GET_DOCUMENT = {
    "sqlite": select(
        sqlite_timestamp(Phone.updated_at).concat(sqlite_document())
    ).where(_OF_CLIENT, _THE_PHONE),
    "postgresql": select(
        postgresql_timestamp(Phone.updated_at).concat(postgresql_document())
    ).where(_OF_CLIENT, _THE_PHONE),
}
# `_GET_DOCUMENT` as a column of the key lookup (`phone_lookup`): the phone
# of the key's client, with the client's uuid taken from its own column.
_KEY_CLIENT_DOCUMENT = {
    "sqlite": sqlite_timestamp(Phone.updated_at).concat(
        sqlite_document(owner=sqlite_uuid(Client.uuid))
    ),
    "postgresql": postgresql_timestamp(Phone.updated_at).concat(
        postgresql_document(owner=cast(Client.uuid, Text))
    ),
}
_KEY_CLIENT_COLUMNS = {
    dialect: (
        select(document)
        .where(Phone.client_id == ApiKey.client_id, _THE_PHONE)
        .scalar_subquery(),
    )
    for dialect, document in _KEY_CLIENT_DOCUMENT.items()
}
# Totals kept by database triggers, so that a total is one small read.
_COUNTED_TOTAL = select(func.coalesce(func.sum(PhoneStatusCount.count), 0)).where(
    PhoneStatusCount.client_id == bindparam("client_id")
)
_COUNTED_STATUS_TOTAL = _COUNTED_TOTAL.where(
    PhoneStatusCount.status == bindparam("status")
)


def _paged(query: Select[Any], cursor: bool) -> Select[Any]:
    """Limit `query` to one page, after the cursor or at the offset."""
    if cursor:
        query = query.where(_BEFORE_CURSOR)
    else:
        query = query.offset(bindparam("offset", type_=Integer))
    return query.order_by(*_NEWEST_FIRST).limit(bindparam("rows", type_=Integer))


def _page_query(sqlite: bool, conditions: list[Any], *, cursor: bool) -> Select[Any]:
    """Select a page of phones as one JSON array (see `_json_page`)."""
    documents = _PHONE_DOCUMENTS if sqlite else _POSTGRESQL_DOCUMENTS
    return _json_page(_paged(documents.where(*conditions), cursor), sqlite)


def _json_page(documents: Select[Any], sqlite: bool) -> Select[Any]:
    """Join the ordered rows of `_PHONE_DOCUMENTS` or `_POSTGRESQL_DOCUMENTS` into one JSON array.

    The query returns the array of the first `limit` phones, how many rows
    came (`limit` + 1 when another page follows), and the stored sort
    position of the page's last phone.
    """
    rows = documents.subquery()
    if sqlite:
        # NOTE: SQLite documents the order of group_concat as arbitrary, and
        # row_number() OVER () numbers rows as they arrive. Both follow the
        # subquery's ORDER BY, which runs as a co-routine, and the tests check
        # the order; SQLite 3.44 and newer could state it in the call.
        position = func.row_number().over()
    else:
        newest_first = (rows.c.created_at.desc(), rows.c.uuid.desc())
        position = func.row_number().over(order_by=newest_first)
    numbered = select(rows, position.label("position")).subquery()
    in_page = numbered.c.position <= bindparam("limit", type_=Integer)
    last = numbered.c.position == bindparam("limit", type_=Integer)
    # json_group_array would parse each object again, because a subquery
    # drops their JSON subtype, and json_agg would put a newline between
    # them, so the objects are concatenated as text.
    if sqlite:
        joined = func.group_concat(numbered.c.document, literal_column("','"))
        last_uuid = func.max(case((last, numbered.c.uuid)))
    else:
        separator = aggregate_order_by(literal_column("','"), numbered.c.position)
        joined = func.string_agg(numbered.c.document, separator)
        # PostgreSQL has no max() of uuid, and at most one row is `last`.
        last_uuid = func.max(cast(numbered.c.uuid, Text)).filter(last)
    array = (
        literal_column("'['")
        .concat(func.coalesce(joined.filter(in_page), ""))
        .concat(literal_column("']'"))
    )
    return select(
        array,
        func.count(),
        func.max(case((last, numbered.c.created_at))),
        last_uuid,
    )


@functools.cache
def _list_query(sqlite: bool, status: bool, cursor: bool) -> Select[Any]:
    """Return the page query without a search, built once for each kind.

    Its last column is the counted total, so that a page is one statement.
    """
    conditions = [_OF_CLIENT, _IN_STATUS] if status else [_OF_CLIENT]
    counted = _COUNTED_STATUS_TOTAL if status else _COUNTED_TOTAL
    page = _page_query(sqlite, conditions, cursor=cursor)
    return page.add_columns(counted.scalar_subquery())


@functools.cache
def _sqlite_search_page(
    kind: SearchKind, status: bool, cursor: bool, walk: bool
) -> Select[Any]:
    """Return the page query of one kind of search on SQLite, built once."""
    statements = sqlite_statements(kind)
    filters = [_IN_STATUS] if status else []
    if walk:
        hint = "INDEXED BY ix_phones_numbers_client_created"
        keys = select(Phone.id).with_hint(Phone, hint, "sqlite")
        keys = keys.where(_OF_CLIENT, *filters, statements.condition)
    else:
        matches = statements.matches.scalar_subquery()
        keys = select(Phone.id).where(Phone.id.in_(matches), *filters)
    keys = _paged(keys, cursor)
    documents = _PHONE_DOCUMENTS.where(Phone.id.in_(keys.scalar_subquery()))
    return _json_page(documents.order_by(*_NEWEST_FIRST), sqlite=True)


def phone_lookup(phone_uuid: uuid.UUID) -> LookupExtra:
    """Return what the API key lookup reads to find this phone in the same statement.

    A GET of one phone then runs one statement instead of two: on SQLite,
    the sqlite3 module releases the GIL for each statement's values, steps
    and columns, and on PostgreSQL each statement is a round trip to the
    server. Read the result with `looked_up_document`.
    """
    # The 32 hex digits are the form SQLite stores, and PostgreSQL reads them as a uuid.
    return LookupExtra(_KEY_CLIENT_COLUMNS, {"phone_uuid": phone_uuid.hex})


def looked_up_document(
    phone_uuid: uuid.UUID, lookup: LookupExtra
) -> PhoneDocument | None:
    """Return the phone that `phone_lookup` read, or None if it was not found."""
    assert lookup.values is not None
    (text,) = lookup.values
    return None if text is None else _phone_document(phone_uuid, text)


def _phone_document(phone_uuid: uuid.UUID, text: str) -> PhoneDocument:
    """Return the phone of `updatedAt` text followed by its JSON text."""
    # A timestamp has no brace, and the document starts with one.
    updated_at, brace, rest = text.partition("{")
    return PhoneDocument(str(phone_uuid), updated_at, brace + rest)


@functools.cache
def _postgresql_search_page(kind: tuple[bool | None, bool], cursor: bool) -> Select[Any]:
    """Return the page query of one kind of search on PostgreSQL, built once.

    Built anew per request, each query would also be compiled anew, and
    kept by `postgresql_statement`'s cache.
    """
    counted_digits, status = kind
    conditions = [_OF_CLIENT, postgresql_statements(counted_digits, status).condition]
    if status:
        conditions.append(_IN_STATUS)
    return _page_query(False, conditions, cursor=cursor)


def _page_result(row: Any, limit: int, total: int) -> PhonePage:
    """Return the page of a `_json_page` row."""
    array, fetched, created_at, stored_uuid = row
    next_start = None
    if fetched > limit:
        if isinstance(created_at, str):
            created_at = read_sqlite_datetime(created_at)
        next_start = PageCursor(created_at, uuid.UUID(stored_uuid))
    return PhonePage(total=total, next=next_start, phones_json=array)


class PhoneRepository:
    """Phones of one client."""

    def __init__(self, session: Session, client: Client, secrets: SecretBox) -> None:
        self.session = session
        self.client = client
        self.secrets = secrets

    def list(
        self,
        *,
        search: str | None,
        status: str | None,
        page: int,
        limit: int,
        after: PageCursor | None = None,
    ) -> PhonePage:
        """Return one page, newest first, ties broken by uuid.

        `after` continues from the last phone of the previous page, which
        costs the same at any depth, where `page` has to skip the rows.
        """
        # A search of only spaces would match every named phone, so it is none.
        search = (search or "").strip() or None
        # One row more than the page shows whether another page follows.
        params: dict[str, Any] = {**self._params(), "rows": limit + 1, "limit": limit}
        if status is not None:
            params["status"] = status
        if after is None:
            params["offset"] = (page - 1) * limit
        reader = sqlite_reader()
        if reader is not None:
            if after is not None:
                params["after_created_at"] = sqlite_datetime_text(after.created_at)
                params["after_uuid"] = after.uuid.hex

            def run_on_reader(statement: Executable, values: dict[str, Any]) -> Any:
                return sqlite_statement(statement).first(reader, values)

            return self._sqlite_list(run_on_reader, search, status, after, params)

        if after is not None:
            params["after_created_at"] = after.created_at
            params["after_uuid"] = after.uuid
        if self._dialect() == "sqlite":
            # An in-memory database, whose one connection the session holds.
            connection = self.session.connection()

            def run(statement: Executable, values: dict[str, Any]) -> Any:
                return connection.execute(statement, values).one()

            page_found = self._sqlite_list(run, search, status, after, params)
            self.session.commit()
            return page_found

        postgresql = postgresql_reader()

        def first(statement: Executable) -> Any:
            if postgresql is not None:
                return postgresql.first(statement, params)
            return self.session.connection().execute(statement, params).one()

        if search:
            total, query = self._postgresql_search(first, search, status, after, params)
            found = PhonePage(total=total, phones_json="[]")
            if query is not None:
                found = _page_result(first(query), limit, total)
        else:
            row = first(_list_query(False, status is not None, after is not None))
            found = _page_result(row[:-1], limit, row[-1])
        if postgresql is None:
            self.session.commit()
        return found

    def _postgresql_search(
        self,
        first: Callable[[Executable], Any],
        text: str,
        status: str | None,
        after: PageCursor | None,
        params: dict[str, Any],
    ) -> tuple[int, Select[Any] | None]:
        """Count a search's matches on PostgreSQL, and choose its page query.

        The query is None when no phone can be on the page.
        """
        search = PostgresqlSearch.parse(text, status)
        statements = search.statements()
        params.update(search.params())

        def count(statement: Select[Any] | None) -> int:
            return 0 if statement is None else first(statement)[0]

        names = count(statements.name_total)
        numbers = count(statements.number_total)
        # A phone that matches by name and by number counts once.
        both = count(statements.both_total) if names and numbers else 0
        total = names + numbers - both
        if total == 0 or params.get("offset", 0) >= total:
            return total, None
        return total, _postgresql_search_page(search.kind, cursor=after is not None)

    def _sqlite_list(
        self,
        run: Callable[[Executable, dict[str, Any]], Any],
        search: str | None,
        status: str | None,
        after: PageCursor | None,
        params: dict[str, Any],
    ) -> PhonePage:
        """Read a page on SQLite, running each statement with `run`.

        `run` returns a statement's first row, and `params` hold the values
        in the form that `run` binds.
        """
        cursor = after is not None
        if search is None:
            row = run(_list_query(True, status is not None, cursor), params)
            return _page_result(row[:-1], params["limit"], row[-1])

        total, query = self._sqlite_search(run, search, status, cursor, params)
        if query is None:
            return PhonePage(total=total, phones_json="[]")
        return _page_result(run(query, params), params["limit"], total)

    def _sqlite_search(
        self,
        run: Callable[[Executable, dict[str, Any]], Any],
        text: str,
        status: str | None,
        cursor: bool,
        params: dict[str, Any],
    ) -> tuple[int, Select[Any] | None]:
        """Count a search's matches on SQLite, and choose its page query.

        The query is None when no phone can be on the page. The page is
        found one of two ways, whichever reads fewer rows: walking the
        client's phones newest first and keeping the matches reads about
        rows * phones / matches of them, and sorting the matches reads all
        matches.
        """
        search = SqliteSearch.parse(text, status)
        statements = search.statements()
        params.update(search.params(self.client.id))

        def count(statement: Select[Any] | None) -> int:
            return 0 if statement is None else run(statement, params)[0]

        names = count(statements.name_total)
        numbers = count(statements.number_total)
        # A phone that matches by name and by number counts once. Counting
        # them reads the matches of one side, so read the smaller one.
        both = 0
        if names and numbers:
            by_name = names <= numbers
            both = count(statements.both_total_by_name if by_name else statements.both_total)
        total = names + numbers - both

        needed_rows = params.get("offset", 0) + params["rows"]
        if total == 0 or needed_rows - params["rows"] >= total:
            return total, None
        # The walk passes every phone of the client, whatever its status.
        walk = needed_rows * count(_COUNTED_TOTAL) < total * total
        return total, _sqlite_search_page(search.kind, status is not None, cursor, walk)

    def _params(self) -> dict[str, Any]:
        return {"owner": str(self.client.uuid), "client_id": self.client.id}

    def _read(self, query: Select[Any], params: dict[str, Any]) -> list[PhoneRow]:
        """Return the rows of `query` as dictionaries.

        Plain rows skip the ORM's identity map and attribute tracking, which
        cost more than the query itself for a page of 100 phones.
        """
        result = self.session.connection().execute(query, params)
        keys = list(result.keys())
        # all() reads the rows with one fetchall(), not a fetchone() per row.
        return [dict(zip(keys, row)) for row in result.all()]

    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def get(self, phone_uuid: uuid.UUID) -> PhoneRow | None:
        """Return the phone as a read-only row, or None if not found."""
        phones = self._read(_GET_ROW, {**self._params(), "phone_uuid": phone_uuid})
        self.session.commit()
        return phones[0] if phones else None

    def get_document(self, phone_uuid: uuid.UUID) -> PhoneDocument | None:
        """Return the phone's API form as JSON text, or None if not found.

        The database builds the text where the thread has a reader.
        Otherwise the text comes from `phone_json`.
        """
        params = {**self._params(), "phone_uuid": phone_uuid.hex}
        reader = sqlite_reader()
        if reader is not None:
            found = sqlite_statement(_GET_DOCUMENT["sqlite"]).first(reader, params)
        elif (postgresql := postgresql_reader()) is not None:
            found = postgresql.first(_GET_DOCUMENT["postgresql"], params)
        else:
            return self._built_document(phone_uuid)
        return None if found is None else _phone_document(phone_uuid, found[0])

    def _built_document(self, phone_uuid: uuid.UUID) -> PhoneDocument | None:
        """Return the phone's API form as `phone_json` builds it, or None if not found."""
        row = self.get(phone_uuid)
        if row is None:
            return None
        text = dumps(phone_json(row))
        return PhoneDocument(
            str(row["uuid"]), str(format_timestamp(row["updated_at"])), text
        )

    def add(self, fields: dict[str, Any]) -> Phone:
        """Store a new phone; raise DuplicateNumberError if the number exists."""
        self._begin_write()
        existing = self._find(Phone.number == fields["number"])
        if existing is not None:
            error = DuplicateNumberError(existing.number, existing.uuid)
            self.session.rollback()
            raise error

        now = utcnow()
        # The client may come detached from authentication; merging without
        # a load takes it as it is, or finds the copy the session holds.
        client = self.session.merge(self.client, load=False)
        phone = Phone(client=client, created_at=now, updated_at=now)
        self._apply(phone, fields)
        self.session.add(phone)
        try:
            self.session.commit()
        except IntegrityError:
            # A concurrent request stored the same number since the check above.
            self.session.rollback()
            existing = self._find(Phone.number == fields["number"])
            if existing is None:
                self.session.rollback()
                raise
            error = DuplicateNumberError(existing.number, existing.uuid)
            self.session.rollback()
            raise error from None
        log.info("phone registered: uuid=%s client=%s", phone.uuid, self.client.uuid)
        return phone

    def update(
        self,
        phone_uuid: uuid.UUID,
        changes: dict[str, Any],
        check: Precondition | None = None,
    ) -> Phone | None:
        """Apply `changes` and move `updated_at`; return None if not found.

        `check` runs on the locked current row inside the write transaction
        and may raise to cancel the update, so that two writers holding the
        same ETag cannot both pass it.
        """
        phone = self._lock(phone_uuid, check)
        if phone is None:
            return None

        if self._apply(phone, changes):
            # Moves even when two updates fall in the same millisecond.
            phone.updated_at = max(utcnow(), phone.updated_at + timedelta(milliseconds=1))
        self.session.commit()
        return phone

    def delete(
        self, phone_uuid: uuid.UUID, check: Precondition | None = None
    ) -> Phone | None:
        """Delete the phone and return it; return None if it was not found."""
        phone = self._lock(phone_uuid, check)
        if phone is None:
            return None

        self.session.delete(phone)
        self.session.commit()
        log.info("phone deleted: uuid=%s client=%s", phone_uuid, self.client.uuid)
        return phone

    def _lock(self, phone_uuid: uuid.UUID, check: Precondition | None) -> Phone | None:
        """Start a write transaction holding the phone's row, and run `check`."""
        self._begin_write()
        try:
            phone = self._find(Phone.uuid == phone_uuid, for_update=True)
            if phone is not None and check is not None:
                check(phone)
        except BaseException:
            self.session.rollback()
            raise
        if phone is None:
            self.session.rollback()
        return phone

    def sip_trunk_password(self, phone: Phone | PhoneRow) -> str | None:
        """Return the decrypted SIP password, for callers inside the process."""
        if isinstance(phone, Phone):
            token = phone.sip_trunk_password_token
        else:
            token = phone["sip_trunk_password_token"]
        return None if token is None else self.secrets.decrypt(token)

    def _find(self, *conditions: Any, for_update: bool = False) -> Phone | None:
        query = select(Phone).where(Phone.client_id == self.client.id, *conditions)
        if for_update:
            # PostgreSQL locks the row; SQLite has no FOR UPDATE and needs
            # none, because BEGIN IMMEDIATE already holds the write lock.
            query = query.with_for_update(of=Phone)
        return self.session.scalars(query).one_or_none()

    def _begin_write(self) -> None:
        # Ends any read transaction without expiring loaded objects, so
        # that the next one can start as a write transaction.
        self.session.commit()
        self.session.connection(execution_options=WRITE_TRANSACTION)

    def _apply(self, phone: Phone, fields: dict[str, Any]) -> bool:
        """Copy request fields onto `phone`; return whether anything changed."""
        changed = False
        for name, value in _columns(fields, self.secrets).items():
            if getattr(phone, name) != value:
                setattr(phone, name, value)
                changed = True
        return changed


def _columns(fields: dict[str, Any], secrets: SecretBox) -> dict[str, Any]:
    """Translate loaded request fields into column values."""
    columns = dict(fields)
    if "server" in columns:
        server = columns.pop("server") or {}
        for key, column in _SERVER_FIELDS.items():
            columns[column] = server.get(key)
    for name in ("hooks", "parameters"):
        if name in columns and columns[name] is None:
            columns[name] = {}
    if "sip_trunk_password" in columns:
        password = columns.pop("sip_trunk_password")
        columns["sip_trunk_password_token"] = (
            None if password is None else secrets.encrypt(password)
        )
    return columns


def rotate_sip_passwords(session: Session, secrets: SecretBox, batch: int = 500) -> int:
    """Re-encrypt every stored SIP password under the first key; return the count."""
    rotated = 0
    last_id = 0
    while True:
        session.commit()
        session.connection(execution_options=WRITE_TRANSACTION)
        phones = session.scalars(
            select(Phone)
            .where(Phone.id > last_id, Phone.sip_trunk_password_token.is_not(None))
            .order_by(Phone.id)
            .limit(batch)
        ).all()
        if not phones:
            session.commit()
            return rotated
        for phone in phones:
            try:
                token = secrets.rotate(phone.sip_trunk_password_token)
            except SecretKeyError as error:
                session.rollback()
                raise SecretKeyError(f"phone {phone.uuid}: {error}") from None
            phone.sip_trunk_password_token = token
        session.commit()
        rotated += len(phones)
        last_id = phones[-1].id
