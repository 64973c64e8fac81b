"""How a search text finds phones, through each database's own index.

PostgreSQL finds phones through pg_trgm GIN indexes on `lower(name)` and
`number`, and counts them from two tables: phones per distinct name
(`phones_search_names`) and phones per string of up to four digits
(`phones_search_digits`), see
migrations/versions/0006_postgresql_search_counts.py. SQLite has two FTS5
trigram indexes, which the migrations keep in step with the phones (see
migrations/versions/0005_search_by_client.py):

- `phones_search_numbers` contains every phone's number under a rowid that
  packs the client, the status and the phone id, so that one client's
  numbers, or those in one status, are one rowid range.
- `phones_search_names_index` contains each distinct name of a client and
  status once, and `phones_search_names` how many phones bear it, so that
  a name's matches are counted without reading them.

Trigram indexes need at least three characters. A shorter text is matched
with LIKE: for names over the distinct names, for numbers over the
client's index of numbers.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Self

from sqlalchemy import (
    Select,
    and_,
    bindparam,
    column,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
)

from ..models import Phone
from ..numbers import search_digits

TRIGRAM = 3

# Layout of a `phones_search_numbers` rowid, as the migration defines it:
# client id, then 2 bits of status, then 40 bits of phone id.
PHONE_BITS = 40
STATUS_BITS = 2
STATUS_CODES = {"active": 0, "pending": 1, "inactive": 2}
PHONE_MASK = (1 << PHONE_BITS) - 1

_names = table(
    "phones_search_names",
    column("id"),
    column("client_id"),
    column("status"),
    column("name"),
    column("phones"),
)
_names_index = table("phones_search_names_index", column("rowid"))
# PostgreSQL only: how many phones of a client and status contain each
# string of up to COUNTED_DIGITS digits in their number.
_digits = table(
    "phones_search_digits",
    column("client_id"),
    column("status"),
    column("digits"),
    column("phones"),
)
COUNTED_DIGITS = 4
_numbers_index = table("phones_search_numbers", column("rowid"))

_OF_CLIENT = Phone.client_id == bindparam("client_id")
# Whether the words and the digits of a search use their index (None for a
# search without digits), and whether a status is set.
SearchKind = tuple[bool, bool | None, bool]
_IN_STATUS = Phone.status == bindparam("status")


@dataclass(frozen=True)
class SearchText:
    """A search text: its words, its digits if it reads as a number, and the status."""

    words: str
    digits: str | None
    status: str | None

    @classmethod
    def parse(cls, search: str, status: str | None) -> Self:
        words = search.strip()
        return cls(words, search_digits(words), status)


class PostgresqlSearch(SearchText):
    """A search text as PostgreSQL matches it: by name, and by number if it has digits.

    The pg_trgm indexes find the matching phones, and the counts that the
    migrations keep give the total without reading them (see
    migrations/versions/0006_postgresql_search_counts.py).
    """

    def params(self) -> dict[str, Any]:
        """Return the values that this search's statements bind."""
        params: dict[str, Any] = {"name_pattern": _contains(self.words)}
        if self.digits is not None:
            params["number_pattern"] = f"%{self.digits}%"
            params["digits"] = self.digits
        return params

    @property
    def kind(self) -> tuple[bool | None, bool]:
        """Whether the digits are counted (None without digits), and whether a status is set."""
        counted = None if self.digits is None else len(self.digits) <= COUNTED_DIGITS
        return counted, self.status is not None

    def statements(self) -> PostgresqlStatements:
        return postgresql_statements(*self.kind)


@dataclass(frozen=True)
class PostgresqlStatements:
    """The statements of one kind of search on PostgreSQL."""

    # Phones whose name matches, from the counts of distinct names.
    name_total: Select[Any]
    # Phones whose number matches, or None for a text without digits.
    number_total: Select[Any] | None
    # Phones whose name and number both match, or None without digits.
    both_total: Select[Any] | None
    # Condition on a phone row.
    condition: Any


@functools.cache
def postgresql_statements(counted_digits: bool | None, status: bool) -> PostgresqlStatements:
    """Build the statements of one kind of search, once.

    `counted_digits` is None for a text without digits, and otherwise
    whether `phones_search_digits` counts its digit string.
    """
    in_status = [_IN_STATUS] if status else []
    names_of_client = [_names.c.client_id == bindparam("client_id")]
    if status:
        names_of_client.append(_names.c.status == bindparam("status"))
    name_total = select(func.coalesce(func.sum(_names.c.phones), 0)).where(
        *names_of_client, _name_like(_names.c.name, "name_pattern")
    )
    name_condition = _name_like(Phone.name, "name_pattern")
    if counted_digits is None:
        return PostgresqlStatements(name_total, None, None, name_condition)

    if counted_digits:
        digits_of_client = [_digits.c.client_id == bindparam("client_id")]
        if status:
            digits_of_client.append(_digits.c.status == bindparam("status"))
        number_total = select(func.coalesce(func.sum(_digits.c.phones), 0)).where(
            *digits_of_client, _digits.c.digits == bindparam("digits")
        )
    else:
        number_total = (
            select(func.count())
            .select_from(Phone)
            .where(_OF_CLIENT, *in_status, _number_like())
        )
    both_total = (
        select(func.count())
        .select_from(Phone)
        .where(_OF_CLIENT, *in_status, name_condition, _number_like())
    )
    condition = or_(name_condition, _number_like())
    return PostgresqlStatements(name_total, number_total, both_total, condition)


class SqliteSearch(SearchText):
    """A search text as SQLite matches it: by name, and by number if it has digits.

    The statements are built once for each kind of search (long or short
    text, with or without digits, with or without a status) and take the
    text as bound values from `params`.
    """

    @property
    def kind(self) -> SearchKind:
        """Whether each part uses its index, and whether a status is set."""
        indexed_digits = None if self.digits is None else len(self.digits) >= TRIGRAM
        return len(self.words) >= TRIGRAM, indexed_digits, self.status is not None

    def params(self, client_id: int) -> dict[str, Any]:
        """Return the values that this search's statements bind."""
        names_low = client_id << PHONE_BITS
        params: dict[str, Any] = {
            "names": _phrase(self.words),
            "name_pattern": _contains(self.words),
            "names_low": names_low,
            "names_high": names_low + PHONE_MASK,
        }
        if self.digits is not None:
            numbers_low = client_id << (PHONE_BITS + STATUS_BITS)
            width = 1 << (PHONE_BITS + STATUS_BITS)
            if self.status is not None:
                numbers_low |= STATUS_CODES[self.status] << PHONE_BITS
                width = 1 << PHONE_BITS
            params.update(
                numbers=_phrase(self.digits),
                number_pattern=f"%{self.digits}%",
                numbers_low=numbers_low,
                numbers_high=numbers_low + width - 1,
            )
        return params

    def statements(self) -> SqliteStatements:
        return sqlite_statements(self.kind)


@dataclass(frozen=True)
class SqliteStatements:
    """The statements of one kind of search on SQLite."""

    # Phones whose name matches.
    name_total: Select[Any]
    # Phones whose number matches, or None for a text without digits.
    number_total: Select[Any] | None
    # Phones whose name and number both match, counted by reading the number
    # matches or the name matches. The caller reads the side with fewer.
    both_total: Select[Any] | None
    both_total_by_name: Select[Any] | None
    # Condition on a phone row, for reading the client's rows in turn.
    condition: Any
    # Ids of the matching phones, from the indexes.
    matches: Select[Any]


@functools.cache
def sqlite_statements(kind: SearchKind) -> SqliteStatements:
    """Build the statements of one kind of search, once."""
    indexed_words, indexed_digits, status = kind
    if indexed_words:
        matching = select(_names_index.c.rowid).where(
            text("phones_search_names_index MATCH :names"),
            _names_index.c.rowid.between(
                bindparam("names_low"), bindparam("names_high")
            ),
        )
        name_filter = _names.c.id.in_(matching)
    else:
        # NOTE: SQLite's lower() folds ASCII letters only, so a one- or
        # two-character search for "Ö" misses "ö"; the trigram index folds
        # every letter.
        name_filter = and_(
            _names.c.id.between(bindparam("names_low"), bindparam("names_high")),
            _name_like(_names.c.name, "name_pattern"),
        )
    if status:
        name_filter = and_(name_filter, _names.c.status == bindparam("status"))
    names = select(_names.c.name).where(name_filter)
    name_total = select(func.coalesce(func.sum(_names.c.phones), 0)).where(name_filter)
    named = (
        select(Phone.id)
        .with_hint(Phone, "INDEXED BY phones_search_by_name", "sqlite")
        .where(_OF_CLIENT, Phone.name.in_(names))
    )
    condition = Phone.name.in_(names)
    if indexed_digits is None:
        return SqliteStatements(name_total, None, None, None, condition, named)

    in_status = [_IN_STATUS] if status else []
    if indexed_digits:
        in_range = [
            text("phones_search_numbers MATCH :numbers"),
            _numbers_index.c.rowid.between(
                bindparam("numbers_low"), bindparam("numbers_high")
            ),
        ]
        phone_id = literal_column("rowid").op("&")(PHONE_MASK).label("id")
        numbered = select(phone_id).select_from(_numbers_index).where(*in_range)
        number_total = select(func.count()).select_from(_numbers_index).where(*in_range)
    else:
        # The covering index on (client_id, number) contains every number.
        hint = "INDEXED BY uq_phones_numbers_client_number"
        conditions = [_OF_CLIENT, _number_like(), *in_status]
        numbered = select(Phone.id).with_hint(Phone, hint, "sqlite").where(*conditions)
        number_total = select(func.count()).select_from(Phone)
        number_total = number_total.with_hint(Phone, hint, "sqlite").where(*conditions)
    both_total = select(func.count()).where(
        Phone.id.in_(numbered), Phone.name.in_(names)
    )
    both_total_by_name = (
        select(func.count())
        .select_from(Phone)
        .with_hint(Phone, "INDEXED BY phones_search_by_name", "sqlite")
        .where(_OF_CLIENT, Phone.name.in_(names), _number_like(), *in_status)
    )
    # A number contains digits only, so LIKE finds what the index finds,
    # without reading every match from the index first.
    condition = or_(condition, _number_like())
    return SqliteStatements(
        name_total,
        number_total,
        both_total,
        both_total_by_name,
        condition,
        named.union(numbered),
    )


def _name_like(name: Any, param: str) -> Any:
    return func.lower(name).like(func.lower(bindparam(param)), escape="\\")


def _number_like() -> Any:
    return Phone.number.like(bindparam("number_pattern"))


def _contains(words: str) -> str:
    """Return the LIKE pattern for text that contains `words`."""
    return "%" + _escape_like(words) + "%"


def _phrase(value: str) -> str:
    """Quote `value` as an FTS5 string, in which every character is literal."""
    return '"' + value.replace('"', '""') + '"'


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
