"""Phones in the form the API returns them: `PhoneSchema`'s fields.

`phone_json` builds that form in Python from a `Phone` or a row. On SQLite,
`sqlite_document` builds the same JSON object inside the database, so that
a page of phones arrives as one JSON text instead of a row per phone. The
sqlite3 module releases the GIL for every row it fetches, and under
gunicorn's threads each release can wait for another thread.
`postgresql_document` does the same on PostgreSQL, where reading a phone's
22 columns and building its object in Python cost more CPU time than the
server takes to write its text. The tests check that every form matches
the schema's field-by-field output.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    Text,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    type_coerce,
)

from ..models import Phone

MASK = "••••••••"


def format_timestamp(value: datetime | None) -> str | None:
    """Return a UTC datetime as `2026-01-10T12:00:00.000Z`, or None."""
    if value is None:
        return None
    if value.utcoffset():
        value = value.astimezone(UTC)
    return value.isoformat(timespec="milliseconds").removesuffix("+00:00") + "Z"


def phone_etag(phone_uuid: Any, updated_at: str | None) -> str:
    """Return a phone's ETag: a hash of its uuid and its `updatedAt` text.

    Every change to a phone's fields moves `updatedAt` (see
    `PhoneRepository.update`), so the ETag changes whenever the API form
    does. Re-encrypting a SIP password keeps both, and the masked password
    in the API form stays the same too.
    """
    return hashlib.sha1(f"{phone_uuid} {updated_at}".encode()).hexdigest()


def phone_json(phone: Phone | dict[str, Any]) -> dict[str, Any]:
    """Return the API form of a `Phone`, or of its `as_dict()` values."""
    values = phone.as_dict() if isinstance(phone, Phone) else phone
    server_url = values["server_url"]
    hooks = values["hooks"]
    parameters = values["parameters"]
    return {
        "uuid": str(values["uuid"]),
        "clientUuid": str(values["client_uuid"]),
        "name": values["name"],
        "number": values["number"],
        "referenceId": values["reference_id"],
        "type": values["type"],
        "countryCode": values["country_code"],
        "sipTrunk": values["sip_trunk"],
        "provider": values["provider"],
        "status": values["status"],
        "smsEnabled": bool(values["sms_enabled"]),
        "fallbackDestination": values["fallback_destination"],
        "server": (
            None
            if server_url is None
            else {"url": server_url, "region": values["server_region"]}
        ),
        "hooks": None if hooks is None else dict(hooks),
        "sipTrunkUser": values["sip_trunk_user"],
        "sipTrunkPassword": (
            None if values["sip_trunk_password_token"] is None else MASK
        ),
        "sipTrunkProtocol": values["sip_trunk_protocol"],
        "parameters": None if parameters is None else dict(parameters),
        "createdAt": format_timestamp(values["created_at"]),
        "updatedAt": format_timestamp(values["updated_at"]),
    }


def _key(name: str) -> ColumnElement[Any]:
    """Return a constant of the SQL text itself, rather than a bound parameter."""
    return literal_column(f"'{name}'")


def _int(value: int) -> ColumnElement[Any]:
    return literal_column(str(value))


def _join(*parts: Any) -> ColumnElement[Any]:
    """Concatenate SQL text with ||. A str part is a constant, merged with a str beside it."""
    merged: list[Any] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    expression = None
    for part in merged:
        value = _key(part) if isinstance(part, str) else part
        expression = value if expression is None else expression.concat(value)
    assert expression is not None
    return expression


def sqlite_uuid(column: Any) -> ColumnElement[Any]:
    """Format the 32 hex digits that SQLAlchemy stores as 8-4-4-4-12."""
    raw = type_coerce(column, String)
    return _join(
        func.substr(raw, _int(1), _int(8)), "-",
        func.substr(raw, _int(9), _int(4)), "-",
        func.substr(raw, _int(13), _int(4)), "-",
        func.substr(raw, _int(17), _int(4)), "-",
        func.substr(raw, _int(21)),
    )  # fmt: skip


def sqlite_timestamp(column: Any) -> ColumnElement[Any]:
    """Format stored `2026-01-10 12:00:00.123456` as `2026-01-10T12:00:00.123Z`.

    The fraction is cut to milliseconds, as `format_timestamp` cuts it. The
    appended ".000" replaces a fraction that the text lacks.
    """
    raw = _join(type_coerce(column, String), ".000")
    return _join(
        func.substr(raw, _int(1), _int(10)),
        "T",
        func.substr(raw, _int(12), _int(12)),
        "Z",
    )


def sqlite_document(owner: ColumnElement[Any] | None = None) -> ColumnElement[Any]:
    """Return SQLite's JSON text of a phone, as `phone_json` builds it.

    The client's uuid is `owner`, by default the bound parameter `owner`.
    """
    c = Phone.__table__.c
    server = func.json_object(
        _key("url"), c.server_url, _key("region"), c.server_region
    )
    pairs = [
        ("uuid", sqlite_uuid(c.uuid)),
        ("clientUuid", bindparam("owner") if owner is None else owner),
        ("name", c.name),
        ("number", c.number),
        ("referenceId", c.reference_id),
        ("type", c.type),
        ("countryCode", c.country_code),
        ("sipTrunk", c.sip_trunk),
        ("provider", c.provider),
        ("status", c.status),
        (
            "smsEnabled",
            func.json(case((c.sms_enabled, _key("true")), else_=_key("false"))),
        ),
        ("fallbackDestination", c.fallback_destination),
        ("server", func.json(case((c.server_url.is_(None), None), else_=server))),
        ("hooks", func.json(c.hooks)),
        ("sipTrunkUser", c.sip_trunk_user),
        (
            "sipTrunkPassword",
            case((c.sip_trunk_password_token.is_(None), None), else_=_key(MASK)),
        ),
        ("sipTrunkProtocol", c.sip_trunk_protocol),
        ("parameters", func.json(c.parameters)),
        ("createdAt", sqlite_timestamp(c.created_at)),
        ("updatedAt", sqlite_timestamp(c.updated_at)),
    ]
    arguments: list[Any] = []
    for name, value in pairs:
        arguments += [_key(name), value]
    return func.json_object(*arguments)


def postgresql_timestamp(column: Any) -> ColumnElement[Any]:
    """Format a timestamp as `2026-01-10T12:00:00.123Z` in UTC, as `format_timestamp` does.

    to_char cuts the microseconds to milliseconds, as isoformat does.
    """
    utc = func.timezone(_key("UTC"), column)
    return func.to_char(utc, _key('YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))


def _postgresql_json(value: Any) -> ColumnElement[Any]:
    """Return the JSON text of a value, or `null` for NULL."""
    return func.coalesce(cast(func.to_json(value), Text), _key("null"))


def postgresql_document(owner: ColumnElement[Any] | None = None) -> ColumnElement[Any]:
    """Return PostgreSQL's JSON text of a phone, as `phone_json` builds it.

    The client's uuid is `owner`, by default the bound parameter `owner`.
    The text is compact, as `dumps` writes it: json_build_object would put
    spaces around each colon. The JSON columns are stored as text already.
    """
    c = Phone.__table__.c
    if owner is None:
        owner = cast(bindparam("owner"), Text)
    server = _join(
        '{"url":', _postgresql_json(c.server_url),
        ',"region":', _postgresql_json(c.server_region), "}",
    )  # fmt: skip
    pairs = [
        ("uuid", _postgresql_json(c.uuid)),
        ("clientUuid", _postgresql_json(owner)),
        ("name", _postgresql_json(c.name)),
        ("number", _postgresql_json(c.number)),
        ("referenceId", _postgresql_json(c.reference_id)),
        ("type", _postgresql_json(c.type)),
        ("countryCode", _postgresql_json(c.country_code)),
        ("sipTrunk", _postgresql_json(c.sip_trunk)),
        ("provider", _postgresql_json(c.provider)),
        ("status", _postgresql_json(c.status)),
        ("smsEnabled", case((c.sms_enabled, _key("true")), else_=_key("false"))),
        ("fallbackDestination", _postgresql_json(c.fallback_destination)),
        ("server", case((c.server_url.is_(None), _key("null")), else_=server)),
        ("hooks", func.coalesce(cast(c.hooks, Text), _key("null"))),
        ("sipTrunkUser", _postgresql_json(c.sip_trunk_user)),
        (
            "sipTrunkPassword",
            case(
                (c.sip_trunk_password_token.is_(None), _key("null")),
                else_=_key(f'"{MASK}"'),
            ),
        ),
        ("sipTrunkProtocol", _postgresql_json(c.sip_trunk_protocol)),
        ("parameters", func.coalesce(cast(c.parameters, Text), _key("null"))),
        ("createdAt", _join('"', postgresql_timestamp(c.created_at), '"')),
        ("updatedAt", _join('"', postgresql_timestamp(c.updated_at), '"')),
    ]
    parts: list[Any] = []
    for name, value in pairs:
        parts += [("{" if not parts else ",") + f'"{name}":', value]
    return _join(*parts, "}")
