"""Search conditions that use each database's substring index.

SQLite searches through the FTS5 trigram table `phones_numbers_search`, and
PostgreSQL through pg_trgm GIN indexes on `lower(name)` and `number`. Both
indexes need at least three characters; a shorter search text is matched
with LIKE, which reads every phone of the client.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import false, func, literal_column, or_, select, table, text

from ..models import Phone
from ..numbers import search_digits

TRIGRAM = 3

_fts = table("phones_numbers_search", literal_column("rowid"))


def search_condition(dialect: str, search: str) -> Any:
    """Return the condition for phones whose name or number contains `search`."""
    words = search.strip()
    digits = search_digits(words)
    if dialect == "sqlite":
        return _sqlite_condition(words, digits)
    return _like_condition(words, digits)


def _sqlite_condition(words: str, digits: str | None) -> Any:
    phrases = []
    conditions = []
    if len(words) >= TRIGRAM:
        phrases.append(f"name : {_phrase(words)}")
    else:
        # NOTE: SQLite's lower() folds ASCII letters only, so a one- or
        # two-character search for "Ö" misses "ö"; the trigram index folds
        # every letter.
        conditions.append(_name_like(words))
    if digits and len(digits) >= TRIGRAM:
        phrases.append(f"number : {_phrase(digits)}")
    elif digits:
        conditions.append(_number_like(digits))
    if phrases:
        matches = (
            select(_fts.c.rowid)
            .where(text("phones_numbers_search MATCH :query"))
            .params(query=" OR ".join(phrases))
        )
        conditions.append(Phone.id.in_(matches.scalar_subquery()))
    return or_(false(), *conditions)


def _like_condition(words: str, digits: str | None) -> Any:
    condition = _name_like(words)
    if digits:
        condition = or_(condition, _number_like(digits))
    return condition


def _name_like(words: str) -> Any:
    pattern = "%" + _escape_like(words) + "%"
    return func.lower(Phone.name).like(func.lower(pattern), escape="\\")


def _number_like(digits: str) -> Any:
    return Phone.number.like(f"%{digits}%")


def _phrase(value: str) -> str:
    """Quote `value` as an FTS5 string, in which every character is literal."""
    return '"' + value.replace('"', '""') + '"'


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
