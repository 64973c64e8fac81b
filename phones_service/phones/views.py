"""Endpoints under /api/phones."""

from __future__ import annotations

import uuid
from http import HTTPStatus
from typing import Any, cast

from flask import Response, current_app, g, request, url_for
from flask.views import MethodView
from flask_smorest import abort
from marshmallow import ValidationError
from sqlalchemy.orm import Session
from werkzeug.local import LocalProxy

from .. import signals
from ..api import Blueprint
from ..auth import api_key_client
from ..clients import phones_state
from ..config import MAX_CONTENT_LENGTH
from ..database import load_json
from ..extensions import db
from ..json_provider import embed_json, json_text_response
from ..models import Phone
from . import examples
from .documents import format_timestamp, phone_etag
from .fields import encode_cursor
from .repository import (
    DuplicateNumberError,
    PhoneRepository,
    looked_up_document,
    phone_lookup,
)
from .schemas import (
    ConflictSchema,
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


def errors(*codes: int):
    """Document error responses with flask-smorest's error schema."""

    def decorate(function):
        for code in codes:
            function = blp.alt_response(code, response=HTTPStatus(code).name)(function)
        return function

    return decorate


# The request's session, opened on first use: a GET on SQLite reads through
# `sqlite_reader()` and needs none.
_session = cast(Session, LocalProxy(lambda: db.session))


@blp.before_request
def prepare_request() -> None:
    """Cap the body size, then resolve the caller's client before any parsing.

    The cap applies even where a host app sets no MAX_CONTENT_LENGTH. One
    hook does both, because Flask's dispatch of each hook costs a GET about
    as much as the cap itself.
    """
    current = request._get_current_object()
    # Flask responds to OPTIONS itself with the allowed methods, which are the
    # same for every caller, and a browser's preflight carries no key.
    if current.method == "OPTIONS":
        return
    app = current_app._get_current_object()
    limit = app.config.get("MAX_CONTENT_LENGTH") or MAX_CONTENT_LENGTH
    current.max_content_length = min(limit, MAX_CONTENT_LENGTH)

    resolve_client = app.extensions["phones"].resolve_client
    phone_uuid = (current.view_args or {}).get("phone_uuid")
    if (
        resolve_client is api_key_client
        and phone_uuid is not None
        and current.method in ("GET", "HEAD")
    ):
        # The key lookup reads the phone too, where the database allows it.
        lookup = phone_lookup(phone_uuid)
        client = api_key_client(_session, lookup)
        if lookup.values is not None:
            g.phones_lookup = lookup
    else:
        client = resolve_client(_session)
    if client is None:
        abort(401, message="No client is authenticated for this request.")
    g.phones_client = client


def phone_repository() -> PhoneRepository:
    """Return a repository scoped to the caller's client."""
    return PhoneRepository(_session, g.phones_client, phones_state().secrets)


def _not_found(phone_uuid: uuid.UUID) -> None:
    abort(404, message=f"Phone {phone_uuid} not found.")


def _etag(phone: Phone) -> str:
    return phone_etag(phone.uuid, format_timestamp(phone.updated_at))


def _check_etag(phone: Phone) -> None:
    blp.check_etag_value(_etag(phone))


@blp.route("", strict_slashes=False)
class Phones(MethodView):
    @blp.arguments(PhoneQueryArgsSchema, location="query")
    @blp.response(200, PhoneListSchema, example=examples.PHONE_LIST)
    @errors(401)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List phone numbers

        Filters by status and searches names and number digits; newest
        first, ties broken by uuid.
        """
        page = phone_repository().list(
            search=args.get("search"),
            status=args.get("status"),
            page=args["page"],
            limit=args["limit"],
            after=args.get("cursor"),
        )
        next_cursor = None
        if page.next is not None:
            next_cursor = encode_cursor(page.next.created_at, page.next.uuid)
        return {
            "phones": embed_json(page.phones_json, lambda: page.phones),
            "total": page.total,
            "page": args["page"],
            "limit": args["limit"],
            "next_cursor": next_cursor,
        }

    @blp.arguments(PhoneCreateSchema, example=examples.REGISTRATION)
    @blp.response(
        201,
        PhoneSchema,
        example=examples.PHONE,
        headers={"Location": {"description": "URL of the new phone", "schema": {"type": "string"}}},
    )
    @errors(400, 401, 413, 415)
    @blp.alt_response(409, schema=ConflictSchema, description="Already registered")
    def post(self, fields: dict[str, Any]) -> Any:
        """Register a phone number

        Accepts E.164 or a national number read in `countryCode`.
        """
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

        signals.send(signals.phone_registered, phone=phone, client=g.phones_client)
        location = url_for(".PhonesById", phone_uuid=phone.uuid)
        return phone, {"Location": location}


@blp.route("/<uuid:phone_uuid>")
@blp.etag
class PhonesById(MethodView):
    @blp.response(200, PhoneSchema, example=examples.PHONE)
    @errors(401, 404)
    def get(self, phone_uuid: uuid.UUID) -> Any:
        """Get a phone number"""
        lookup = g.pop("phones_lookup", None)
        if lookup is not None:
            found = looked_up_document(phone_uuid, lookup)
        else:
            found = phone_repository().get_document(phone_uuid)
        if found is None:
            _not_found(phone_uuid)
        blp.set_etag_value(phone_etag(found.uuid, found.updated_at))
        # A Response passes flask-smorest's schema untouched.
        return json_text_response(found.text, lambda: load_json(found.text))

    @blp.arguments(PhoneUpdateSchema, example=examples.UPDATE)
    @blp.response(200, PhoneSchema, example=examples.PHONE)
    @errors(400, 401, 404, 413, 415)
    def patch(self, changes: dict[str, Any], phone_uuid: uuid.UUID) -> Any:
        """Update a phone number

        Fields left out keep their value; an explicit null clears a field.
        `If-Match` is optional: with it, a stale ETag gets 412.
        """
        repository = phone_repository()
        if "fallback_destination" in changes:
            current = repository.get(phone_uuid)
            if current is None:
                _not_found(phone_uuid)
            _parse_update_fallback(changes, current["country_code"])

        phone = repository.update(phone_uuid, changes, check=_check_etag)
        if phone is None:
            _not_found(phone_uuid)
        signals.send(signals.phone_updated, phone=phone, client=g.phones_client)
        blp.set_etag_value(_etag(phone))
        return phone

    @blp.response(204)
    @errors(401, 404)
    def delete(self, phone_uuid: uuid.UUID) -> Response:
        """Delete a phone number

        `If-Match` is optional: with it, a stale ETag gets 412.
        """
        phone = phone_repository().delete(phone_uuid, check=_check_etag)
        if phone is None:
            _not_found(phone_uuid)
        signals.send(signals.phone_deleted, phone=phone, client=g.phones_client)
        # flask-smorest would label the empty body as JSON, but a 204 has no
        # content to label.
        response = current_app.response_class(status=204)
        del response.headers["Content-Type"]
        return response


def _parse_update_fallback(changes: dict[str, Any], region: str | None) -> None:
    try:
        parse_fallback(changes, region)
    except ValidationError as error:
        abort(422, errors={"json": error.normalized_messages()})
