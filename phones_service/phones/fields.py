"""Marshmallow fields and validators for phone attributes."""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from marshmallow import ValidationError, fields, validate

from ..models import CONTROL_CHARACTERS
from ..numbers import PhoneNumberError, normalize_region
from .documents import MASK, format_timestamp
from .repository import PageCursor

PARAMETERS_MAX_BYTES = 8 * 1024
HOOKS_MAX_ITEMS = 20
URL_MAX_LENGTH = 2048

_CONTROL_CHARACTERS = re.compile(f"[{CONTROL_CHARACTERS}]")
CONTROL_MESSAGE = "Must not contain control or text-direction characters."
# \Z, because $ also matches before a final newline.
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)\Z")
_HOOK_NAME = re.compile(r"^on_[a-z][a-z0-9_]{0,62}\Z")


class FullMatch(validate.Regexp):
    """Regexp validator that requires the whole value to match.

    validate.Regexp uses re.match, where `$` also matches before a final
    newline. The pattern keeps `^` and `$`, so the OpenAPI document, whose
    patterns are unanchored ECMAScript, describes the same values.
    """

    def __call__(self, value: Any) -> Any:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


class Text(fields.String):
    """String with surrounding whitespace stripped and control characters rejected."""

    def __init__(self, max_length: int, **kwargs: Any) -> None:
        super().__init__(validate=validate.Length(min=1, max=max_length), **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if _CONTROL_CHARACTERS.search(text):
            raise ValidationError(CONTROL_MESSAGE)
        return text


class Secret(fields.String):
    """Write-only string whose errors never quote the value."""

    def __init__(self, max_length: int, **kwargs: Any) -> None:
        # The length is checked in _deserialize, so the OpenAPI document
        # learns it from the metadata.
        metadata = {"minLength": 1, "maxLength": max_length}
        super().__init__(load_only=True, metadata=metadata, **kwargs)
        self.max_length = max_length

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise ValidationError("Not a valid string.")
        if not value:
            raise ValidationError("Must not be empty; send null to remove it.")
        if value == MASK:
            raise ValidationError(
                "This is the mask that responses show, not a password; send the "
                "real password, or leave the field out to keep the stored one."
            )
        if len(value) > self.max_length:
            raise ValidationError(f"Longer than {self.max_length} characters.")
        if _CONTROL_CHARACTERS.search(value):
            raise ValidationError(CONTROL_MESSAGE)
        return value


class MaskedSecret(fields.String):
    """Output-only stand-in for a stored secret: the mask, or null if unset."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"description": "Eight bullets when one is stored.", "example": MASK}
        super().__init__(dump_only=True, allow_none=True, metadata=metadata, **kwargs)

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else MASK


class Timestamp(fields.String):
    """UTC datetime as ISO 8601 with milliseconds and a `Z`."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"format": "date-time", "example": "2026-01-10T12:00:00.000Z"}
        super().__init__(dump_only=True, metadata=metadata, **kwargs)

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        return format_timestamp(value)


class Cursor(fields.String):
    """Opaque page cursor: the creation time and uuid of a page's last phone."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            decoded = base64.urlsafe_b64decode(text.encode("ascii") + b"==").decode()
            stamp, _, phone_uuid = decoded.partition("|")
            created_at = datetime.fromisoformat(stamp)
            # A time near year 1 or 9999 may not convert to UTC.
            utc = created_at.astimezone(UTC) if created_at.tzinfo else None
            cursor = PageCursor(utc, uuid.UUID(phone_uuid)) if utc else None
        except (ValueError, UnicodeError, OverflowError):
            cursor = None
        if cursor is None:
            raise ValidationError(
                "Invalid cursor; send the nextCursor of a previous response."
            )
        return cursor


def encode_cursor(created_at: datetime, phone_uuid: uuid.UUID) -> str:
    raw = f"{created_at.isoformat()}|{phone_uuid}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


class QueryInteger(fields.Integer):
    """Whole number of a query string: ASCII digits only.

    Python's int() also reads "1_0" as 10 and other scripts' digits, such
    as "٢" as 2, which no caller means as a page number.
    """

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if isinstance(value, str) and not _DIGITS.fullmatch(value):
            raise ValidationError("Not a valid integer; send digits only, such as 2.")
        # Python reads at most 4,300 digits by default, and the time int()
        # takes grows faster than the digit count. A longer number is out of
        # any range, so the range check names the limits.
        if isinstance(value, str) and len(value.lstrip("0")) > _MAX_DIGITS:
            for validator in self.validators:
                if isinstance(validator, validate.Range):
                    validator(10**_MAX_DIGITS)
            raise ValidationError(f"Too large; send at most {_MAX_DIGITS} digits.")
        return super()._deserialize(value, attr, data, **kwargs)


_DIGITS = re.compile(r"[0-9]+")
# Far above any range that the API accepts.
_MAX_DIGITS = 30


class StrictBoolean(fields.Boolean):
    """JSON `true` or `false` only: no 1, "yes" or "true" strings."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError("Not a valid boolean; send true or false.")
        return value


class CountryCode(fields.String):
    """ISO 3166-1 alpha-2 region code, upper-cased."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return normalize_region(text.strip())
        except PhoneNumberError as error:
            raise ValidationError(str(error)) from error


class SipHost(fields.String):
    """Host name, IPv4 or IPv6 address, with an optional port."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        # An IPv6 zone id ("%eth0") may hold any text, control characters too.
        if _CONTROL_CHARACTERS.search(text):
            raise ValidationError(CONTROL_MESSAGE)
        return normalize_sip_host(text)


class JsonObject(fields.Dict):
    """JSON object whose serialised size is bounded."""

    def __init__(self, max_bytes: int, **kwargs: Any) -> None:
        super().__init__(keys=fields.String(), **kwargs)
        self.max_bytes = max_bytes

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> dict:
        result = super()._deserialize(value, attr, data, **kwargs)
        compact = json.dumps(result, separators=(",", ":"), ensure_ascii=False)
        size = len(compact.encode())
        if size > self.max_bytes:
            raise ValidationError(
                f"Is {size} bytes as JSON; the limit is {self.max_bytes} bytes."
            )
        return result


def url_field(schemes: set[str], **kwargs: Any) -> fields.String:
    """Return an absolute URL field limited to `schemes`."""
    listed = ", ".join(sorted(schemes))
    return fields.String(
        validate=[
            validate.Length(max=URL_MAX_LENGTH),
            validate.URL(
                schemes=schemes,
                require_tld=False,
                error=f"Not a valid absolute URL with scheme {listed}.",
            ),
        ],
        **kwargs,
    )


def validate_hooks(hooks: dict[str, str]) -> None:
    if len(hooks) > HOOKS_MAX_ITEMS:
        raise ValidationError(f"At most {HOOKS_MAX_ITEMS} hooks are allowed.")
    for name in hooks:
        if not _HOOK_NAME.match(name):
            raise ValidationError(
                f"Hook name {name[:64]!r} is invalid; use on_ followed by lower-case "
                "letters, digits and underscores, such as on_call_end."
            )


def hooks_field(**kwargs: Any) -> fields.Dict:
    return fields.Dict(
        keys=fields.String(),
        values=url_field({"http", "https"}),
        validate=validate_hooks,
        **kwargs,
    )


def normalize_sip_host(text: str) -> str:
    """Return `text` as a canonical host[:port], or raise ValidationError."""
    if not text or len(text) > 255:
        raise ValidationError("Must be 1 to 255 characters long.")
    if "://" in text or text.lower().startswith(("sip:", "sips:")):
        raise ValidationError(
            "Give only a host name or IP address with an optional port, "
            "such as sip.example.com or 203.0.113.10:5060, without a scheme."
        )
    host, port = _split_port(text)
    return _canonical_host(host) + (f":{port}" if port is not None else "")


def _split_port(text: str) -> tuple[str, int | None]:
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValidationError("Invalid bracketed IPv6 address.")
        _ip_address(host, version=6)
        return f"[{host}]", _port(rest[1:]) if rest else None
    if text.count(":") > 1:
        return _ip_address(text, version=6), None
    host, colon, port = text.partition(":")
    return host, _port(port) if colon else None


def _port(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValidationError("The port must be a number from 1 to 65535.")
    return int(text)


def _ip_address(text: str, version: int) -> str:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        address = None
    if address is None or address.version != version:
        raise ValidationError(f"Invalid IPv{version} address.")
    return str(address)


def _canonical_host(host: str) -> str:
    if host.startswith("["):
        return "[" + str(ipaddress.ip_address(host[1:-1])) + "]"
    if ":" in host:
        return host
    if re.fullmatch(r"[0-9.]+", host):
        return _ip_address(host, version=4)
    name = host.lower().removesuffix(".")
    labels = name.split(".")
    if len(name) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        raise ValidationError(
            "Not a valid host name; use letters, digits, hyphens and dots, "
            "such as sip.example.com."
        )
    return name

