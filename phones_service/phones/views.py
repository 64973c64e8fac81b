"""Endpoints under /api/phones."""

from __future__ import annotations

import uuid
from typing import Any

from flask import g, url_for
from flask.views import MethodView
from flask_smorest import abort
from marshmallow import ValidationError

from ..api import Blueprint
from ..clients import phones_state
from ..extensions import db
from .repository import DuplicateNumberError, PhoneRepository
from .schemas import (
    PhoneCreateSchema,
    PhoneListSchema,
    PhoneQueryArgsSchema,
    PhoneSchema,
    PhoneUpdateSchema,
    parse_fallback,
)

blp = Blueprint(
    "phones",
    __name__,
    url_prefix="/api/phones",
    description="Phone numbers used for calling campaigns.",
)


@blp.before_request
def authenticate() -> None:
    """Resolve the caller's client before the body is even parsed."""
    client = phones_state().resolve_client(db.session)
    if client is None:
        abort(401, message="No client is authenticated for this request.")
    g.phones_client = client


def phone_repository() -> PhoneRepository:
    """Return a repository scoped to the caller's client."""
    return PhoneRepository(db.session, g.phones_client, phones_state().secrets)


def _not_found(phone_uuid: uuid.UUID) -> None:
    abort(404, message=f"Phone {phone_uuid} not found.")


@blp.route("", strict_slashes=False)
class Phones(MethodView):
    @blp.arguments(PhoneQueryArgsSchema, location="query")
    @blp.response(200, PhoneListSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List phone numbers

        Filters by status and searches names and number digits; newest first.
        """
        page = phone_repository().list(
            search=args.get("search"),
            status=args.get("status"),
            page=args["page"],
            limit=args["limit"],
        )
        return {
            "phones": page.phones,
            "total": page.total,
            "page": args["page"],
            "limit": args["limit"],
        }

    @blp.arguments(PhoneCreateSchema)
    @blp.response(201, PhoneSchema)
    @blp.alt_response(409, description="The client already has this number.")
    def post(self, fields: dict[str, Any]) -> Any:
        """Register a phone number"""
        try:
            phone = phone_repository().add(fields)
        except DuplicateNumberError as error:
            abort(
                409,
                message=f"Number {error.number} is already registered "
                f"as phone {error.existing_uuid}.",
                errors={"json": {"number": ["Already registered."]}},
                extra={"uuid": str(error.existing_uuid)},
            )

        location = url_for(".PhonesById", phone_uuid=phone.uuid)
        return phone, {"Location": location}


@blp.route("/<uuid:phone_uuid>")
class PhonesById(MethodView):
    @blp.response(200, PhoneSchema)
    def get(self, phone_uuid: uuid.UUID) -> Any:
        """Get a phone number"""
        phone = phone_repository().get(phone_uuid)
        if phone is None:
            _not_found(phone_uuid)
        return phone

    @blp.arguments(PhoneUpdateSchema)
    @blp.response(200, PhoneSchema)
    def patch(self, changes: dict[str, Any], phone_uuid: uuid.UUID) -> Any:
        """Update a phone number

        Fields left out keep their value; an explicit null clears a field.
        """
        repository = phone_repository()
        if "fallback_destination" in changes:
            phone = repository.get(phone_uuid)
            if phone is None:
                _not_found(phone_uuid)
            _parse_update_fallback(changes, phone.country_code)

        phone = repository.update(phone_uuid, changes)
        if phone is None:
            _not_found(phone_uuid)
        return phone

    @blp.response(204)
    def delete(self, phone_uuid: uuid.UUID) -> None:
        """Delete a phone number"""
        if not phone_repository().delete(phone_uuid):
            _not_found(phone_uuid)


def _parse_update_fallback(changes: dict[str, Any], region: str | None) -> None:
    try:
        parse_fallback(changes, region)
    except ValidationError as error:
        abort(422, errors={"json": error.normalized_messages()})
