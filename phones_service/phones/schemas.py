"""Request and response schemas of the phones API."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import ValidationError, fields, pre_load, validate, validates_schema

from ..models import (
    CONTROL_CHARACTERS,
    NAME_MAX_LENGTH,
    PHONE_STATUSES,
    PHONE_TYPES,
    SIP_PROTOCOLS,
)
from ..numbers import PhoneNumberError, parse_number
from .documents import phone_json
from .fields import (
    CONTROL_MESSAGE,
    PARAMETERS_MAX_BYTES,
    CountryCode,
    Cursor,
    FullMatch,
    JsonObject,
    MaskedSecret,
    QueryInteger,
    Secret,
    SipHost,
    StrictBoolean,
    Text,
    Timestamp,
    hooks_field,
    url_field,
)

SEARCH_MAX_LENGTH = 100
LIMIT_MAX = 100
PAGE_MAX = 10_000_000


def _choice(values: tuple[str, ...]) -> validate.OneOf:
    return validate.OneOf(values, error="Must be one of: {choices}.")


class ServerSchema(ma.Schema):
    """Voice server that handles the phone's calls."""

    class Meta:
        unknown = ma.RAISE

    url = url_field({"ws", "wss"}, required=True)
    region = fields.String(
        allow_none=True,
        validate=FullMatch(
            r"^[A-Za-z0-9._-]{1,64}$",
            error="Must be 1 to 64 letters, digits, dots, dashes or underscores.",
        ),
    )


class OutputSchema(ma.Schema):
    """Schema of a response body, in which every field is always present."""

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        # Documents every field as required, so clients can rely on it.
        field_obj.required = True


class ServerOutSchema(OutputSchema):
    """Voice server as the API returns it."""

    url = fields.String(metadata={"example": "wss://api.callcamp.com/ws"})
    region = fields.String(allow_none=True, metadata={"example": "us-east-1"})


class PhoneSchema(OutputSchema):
    """Phone number as the API returns it."""

    uuid = fields.UUID(dump_only=True)
    clientUuid = fields.UUID(attribute="client_uuid", dump_only=True)
    name = fields.String(allow_none=True)
    number = fields.String(metadata={"description": "E.164", "example": "+16054440129"})
    referenceId = fields.String(attribute="reference_id", allow_none=True)
    type = fields.String(metadata={"enum": list(PHONE_TYPES)})
    countryCode = fields.String(
        attribute="country_code",
        allow_none=True,
        metadata={"description": "The number's region; null for non-geographic."},
    )
    sipTrunk = fields.String(attribute="sip_trunk", allow_none=True)
    provider = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": list(PHONE_STATUSES)})
    smsEnabled = fields.Boolean(attribute="sms_enabled")
    fallbackDestination = fields.String(
        attribute="fallback_destination", allow_none=True
    )
    server = fields.Nested(ServerOutSchema, allow_none=True)
    hooks = fields.Dict(keys=fields.String(), values=fields.String())
    sipTrunkUser = fields.String(attribute="sip_trunk_user", allow_none=True)
    sipTrunkPassword = MaskedSecret(attribute="sip_trunk_password_token")
    sipTrunkProtocol = fields.String(
        attribute="sip_trunk_protocol", metadata={"enum": list(SIP_PROTOCOLS)}
    )
    parameters = fields.Dict()
    createdAt = Timestamp(attribute="created_at")
    updatedAt = Timestamp(attribute="updated_at")

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        """Serialize with `phone_json`, which returns what the fields above do.

        One function call per phone instead of one per field makes a page of
        100 phones several times faster; the tests check that both agree.
        """
        if self.only or self.exclude:
            return super().dump(obj, many=many)
        if self.many if many is None else many:
            return [phone_json(phone) for phone in obj]
        return phone_json(obj)


class ConflictSchema(ma.Schema):
    """Error returned when the client already has the number."""

    code = fields.Integer(metadata={"example": 409})
    status = fields.String(metadata={"example": "Conflict"})
    message = fields.String()
    errors = fields.Dict()
    uuid = fields.UUID(metadata={"description": "The phone that has the number."})


class PhoneListSchema(OutputSchema):
    """One page of phones."""

    phones = fields.List(fields.Nested(PhoneSchema))
    total = fields.Integer()
    page = fields.Integer()
    limit = fields.Integer()
    nextCursor = fields.String(
        attribute="next_cursor",
        allow_none=True,
        metadata={"description": "Send as `cursor` for the next page; null on the last."},
    )

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        """Return a page whose phones the repository gave in their API form."""
        if self.only or self.exclude or (self.many if many is None else many):
            return super().dump(obj, many=many)
        return {
            "phones": obj["phones"],
            "total": obj["total"],
            "page": obj["page"],
            "limit": obj["limit"],
            "nextCursor": obj["next_cursor"],
        }


class _PhoneWriteSchema(ma.Schema):
    """Fields that both registration and update accept."""

    class Meta:
        unknown = ma.RAISE

    name = Text(NAME_MAX_LENGTH, allow_none=True)
    referenceId = Text(255, attribute="reference_id", allow_none=True)
    type = fields.String(validate=_choice(PHONE_TYPES))
    status = fields.String(validate=_choice(PHONE_STATUSES))
    provider = Text(64, allow_none=True)
    sipTrunk = SipHost(attribute="sip_trunk", allow_none=True)
    sipTrunkUser = Text(255, attribute="sip_trunk_user", allow_none=True)
    sipTrunkPassword = Secret(255, attribute="sip_trunk_password", allow_none=True)
    sipTrunkProtocol = fields.String(
        attribute="sip_trunk_protocol", validate=_choice(SIP_PROTOCOLS)
    )
    smsEnabled = StrictBoolean(attribute="sms_enabled")
    fallbackDestination = fields.String(
        attribute="fallback_destination", allow_none=True
    )
    server = fields.Nested(ServerSchema, allow_none=True)
    hooks = hooks_field(allow_none=True)
    parameters = JsonObject(PARAMETERS_MAX_BYTES, allow_none=True)

    # Fields of the phone object that a request may not carry, with the
    # reason. They are checked before loading and left out of the OpenAPI
    # document, so that no client is invited to send them.
    read_only_fields: dict[str, str] = {
        "uuid": "Cannot be set: the server assigns the uuid.",
        "clientUuid": "Cannot be set: phones belong to the caller's client.",
        "createdAt": "Cannot be set: the server records it.",
        "updatedAt": "Cannot be set: the server records it.",
    }

    @pre_load
    def reject_read_only(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, dict):
            found = {
                name: [reason]
                for name, reason in self.read_only_fields.items()
                if name in data
            }
            if found:
                raise ValidationError(found)
        return data


class PhoneCreateSchema(_PhoneWriteSchema):
    """Body of a phone registration."""

    number = fields.String(
        required=True,
        metadata={"description": "E.164, or a national number read with countryCode"},
    )
    countryCode = CountryCode(attribute="country_code")

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def parse_numbers(
        self, data: dict[str, Any], original: Any, **kwargs: Any
    ) -> None:
        if "number" not in data:
            return
        sent_region = isinstance(original, dict) and "countryCode" in original
        if sent_region and "country_code" not in data:
            # The countryCode is invalid and has its own error. Reading the
            # number in another region would only add a wrong one.
            return
        region = data.get("country_code")
        try:
            parsed = parse_number(data["number"], region)
        except PhoneNumberError as error:
            raise ValidationError(str(error), field_name="number") from error
        data["number"] = parsed.e164
        data["country_code"] = parsed.region
        parse_fallback(data, parsed.region)


class PhoneUpdateSchema(_PhoneWriteSchema):
    """Body of a phone update: every field optional, null clears it."""

    read_only_fields = {
        "uuid": "Cannot be changed.",
        "clientUuid": "Cannot be changed.",
        "number": "Cannot be changed: delete the phone and register the new number.",
        "countryCode": "Cannot be changed: it follows from the number.",
        "createdAt": "Cannot be changed.",
        "updatedAt": "Cannot be changed: the server moves it.",
    }


def parse_fallback(data: dict[str, Any], region: str | None) -> None:
    """Replace `fallback_destination` in `data` with its E.164 form.

    A national number is read in `region`, the phone's own region, but the
    fallback may be in any country.
    """
    value = data.get("fallback_destination")
    if value is None:
        return
    try:
        data["fallback_destination"] = parse_number(value, default_region=region).e164
    except PhoneNumberError as error:
        raise ValidationError(str(error), field_name="fallbackDestination") from error


class PhoneQueryArgsSchema(ma.Schema):
    """Filters and paging of the phone list."""

    class Meta:
        unknown = ma.RAISE

    search = fields.String(
        validate=[
            validate.Length(max=SEARCH_MAX_LENGTH),
            FullMatch(f"^[^{CONTROL_CHARACTERS}]*$", error=CONTROL_MESSAGE),
        ],
        metadata={"description": "Part of the name, or digits of the number."},
    )
    status = fields.String(validate=_choice(PHONE_STATUSES))
    page = QueryInteger(load_default=1, validate=validate.Range(min=1, max=PAGE_MAX))
    limit = QueryInteger(
        load_default=10, validate=validate.Range(min=1, max=LIMIT_MAX)
    )
    cursor = Cursor(
        metadata={
            "description": "nextCursor of the previous page: continues after it, "
            "as fast at any depth. Use instead of page."
        }
    )

    @pre_load
    def check_parameters(self, data: Any, **kwargs: Any) -> Any:
        """Reject a parameter sent twice, and page sent with cursor."""
        # webargs passes the query string as a proxy of its MultiDict.
        query = getattr(data, "data", data)
        if hasattr(query, "getlist"):
            repeated = sorted(name for name in query if len(query.getlist(name)) > 1)
            if repeated:
                raise ValidationError(
                    {name: ["Send this parameter once."] for name in repeated}
                )
        if "cursor" in query and "page" in query:
            raise ValidationError("Send either page or cursor, not both.", "cursor")
        return data
