"""Every path that builds a phone's API form gives the same output.

`PhoneSchema.dump` builds it with `phone_json`, and on SQLite a page of
phones arrives as JSON built by the database. These tests compare both with
marshmallow's field-by-field output over phones with every kind of value,
so a field added to the schema but not to the other paths fails.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import marshmallow as ma
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from phones_service.accounts import AccountRepository
from phones_service.clients import DEFAULT_CLIENT_UUID, phones_state
from phones_service.extensions import db
from phones_service.json_provider import RawJSON
from phones_service.models import Phone
from phones_service.phones.repository import PhoneRepository
from phones_service.phones.schemas import PhoneListSchema, PhoneSchema

from .conftest import register

HUGE_INTEGER = 2**80

# Registrations that between them give every field a set, a null and an
# unusual value.
BODIES: list[dict[str, Any]] = [
    {"number": "+16054440129"},
    {
        "number": "+442079460958",
        "name": "Zürich ☎ Hotline",
        "referenceId": "ref-1",
        "type": "ordered",
        "status": "pending",
        "provider": "telnyx",
        "sipTrunk": "[2001:db8::1]:5061",
        "sipTrunkUser": "trunk-user",
        "sipTrunkPassword": "s3cret-Trunk-Pass",
        "sipTrunkProtocol": "tls",
        "smsEnabled": True,
        "fallbackDestination": "+16054440130",
        "server": {"url": "wss://voice.example.com/ws", "region": "eu-west-1"},
        "hooks": {"on_call_end": "https://hooks.example.com/end"},
        "parameters": {"nested": {"list": [1, 2.5, None, True]}, "text": "é"},
    },
    {
        "number": "+4930901820",
        "server": {"url": "ws://voice.example.com/ws"},
        "parameters": {"huge": HUGE_INTEGER, "negative": -1, "zero": 0.0},
    },
    {
        "number": "+33142685300",
        "name": 'Say "hi" \\ back / <b>&amp;',
        "referenceId": "tab\\t, quote\" and \u2028",
        "sipTrunkUser": "user@example.com",
        "parameters": {"control": "\u0000\u001f\n", "quote": '"\\'},
    },
]


@pytest.fixture
def registered(client: FlaskClient) -> list[str]:
    uuids = []
    for body in BODIES:
        response = register(client, **body)
        assert response.status_code == 201, response.get_json()
        uuids.append(response.get_json()["uuid"])
    return uuids


def generic_dump(schema: ma.Schema, obj: Any) -> Any:
    """Serialize with marshmallow's own field-by-field path."""
    return ma.Schema.dump(schema, obj)


def stored_phones(app: Flask) -> tuple[list[Phone], list[dict[str, Any]], Any]:
    """Return the phones as ORM objects and as repository rows, and a page."""
    with app.app_context():
        owner = AccountRepository(db.session).find_client(str(DEFAULT_CLIENT_UUID))
        repository = PhoneRepository(db.session, owner, phones_state().secrets)
        phones = list(db.session.scalars(select(Phone).order_by(Phone.id)))
        for phone in phones:
            assert phone.client.uuid == owner.uuid
        rows = [repository.get(phone.uuid) for phone in phones]
        page = repository.list(search=None, status=None, page=1, limit=100)
        return phones, rows, page


def test_phone_dump_matches_field_by_field_dump(app, registered):
    phones, _, _ = stored_phones(app)
    assert len(phones) == len(BODIES)
    for phone in phones:
        assert PhoneSchema().dump(phone) == generic_dump(PhoneSchema(), phone)


def test_row_dump_matches_orm_phone_dump(app, registered):
    phones, rows, _ = stored_phones(app)
    for phone, row in zip(phones, rows, strict=True):
        assert row is not None
        assert PhoneSchema().dump(row) == generic_dump(PhoneSchema(), phone)


def test_dump_has_exactly_the_declared_fields(app, registered):
    phones, rows, _ = stored_phones(app)
    declared = {
        field.data_key or name
        for name, field in PhoneSchema().fields.items()
        if not field.load_only
    }
    for value in [*phones, *rows]:
        assert set(PhoneSchema().dump(value)) == declared


def test_list_phones_match_field_by_field_dump(app, registered):
    phones, _, page = stored_phones(app)
    newest_first = sorted(
        phones, key=lambda phone: (phone.created_at, phone.uuid), reverse=True
    )
    assert page.phones == [generic_dump(PhoneSchema(), phone) for phone in newest_first]
    assert page.total == len(BODIES)
    assert page.next is None


def test_list_dump_passes_the_phones_through(app, registered):
    _, _, page = stored_phones(app)
    data = {
        "phones": page.phones,
        "total": 3,
        "page": 1,
        "limit": 100,
        "next_cursor": None,
    }
    dumped = PhoneListSchema().dump(data)
    assert dumped == {
        "phones": page.phones,
        "total": 3,
        "page": 1,
        "limit": 100,
        "nextCursor": None,
    }
    assert set(dumped) == {
        field.data_key or name for name, field in PhoneListSchema().fields.items()
    }


def set_created_at(app: Flask, phone_uuid: str, created_at: datetime) -> None:
    with app.app_context():
        db.session.execute(
            update(Phone)
            .where(Phone.uuid == uuid.UUID(phone_uuid))
            .values(created_at=created_at, updated_at=created_at)
        )
        db.session.commit()


def test_timestamps_with_microseconds_are_cut_to_milliseconds(app, client, registered):
    stamp = datetime(2026, 3, 4, 5, 6, 7, 999_999, tzinfo=UTC)
    set_created_at(app, registered[0], stamp)

    fetched = client.get(f"/api/phones/{registered[0]}").get_json()
    listed = {
        phone["uuid"]: phone for phone in client.get("/api/phones").get_json()["phones"]
    }
    phones, _, _ = stored_phones(app)
    by_uuid = {str(phone.uuid): generic_dump(PhoneSchema(), phone) for phone in phones}

    assert fetched["createdAt"] == "2026-03-04T05:06:07.999Z"
    assert listed[registered[0]] == fetched == by_uuid[registered[0]]


def test_cursor_pages_keep_phones_of_one_millisecond_apart(app, client, registered):
    base = datetime(2026, 3, 4, 5, 6, 7, 123_000, tzinfo=UTC)
    for offset, phone_uuid in enumerate(registered):
        # The same millisecond, distinguished by microseconds only.
        set_created_at(app, phone_uuid, base + timedelta(microseconds=100 * offset))

    seen: list[str] = []
    cursor = None
    for _ in range(len(registered) + 1):
        query = "/api/phones?limit=1" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(query).get_json()
        seen += [phone["uuid"] for phone in body["phones"]]
        cursor = body["nextCursor"]
        if cursor is None:
            break

    assert seen == list(reversed(registered))


def test_many_dump_matches_single_dumps(app, registered):
    phones, rows, _ = stored_phones(app)
    assert PhoneSchema(many=True).dump(rows) == [PhoneSchema().dump(p) for p in phones]


def test_huge_integer_parameter_stays_exact(client, registered):
    response = client.get(f"/api/phones/{registered[2]}")
    assert response.status_code == 200
    # Parsed with the json module, which keeps integers exact.
    body = json.loads(response.get_data(as_text=True))
    assert body["parameters"]["huge"] == HUGE_INTEGER
    listed = json.loads(client.get("/api/phones").get_data(as_text=True))
    by_uuid = {phone["uuid"]: phone for phone in listed["phones"]}
    assert by_uuid[registered[2]]["parameters"]["huge"] == HUGE_INTEGER


def test_non_ascii_text_is_utf8(client, registered):
    response = client.get(f"/api/phones/{registered[1]}")
    raw = response.get_data()
    assert "Zürich ☎ Hotline".encode() in raw
    assert "••••••••".encode() in raw
    assert response.content_type == "application/json"


def test_get_of_unknown_uuid_is_none(app, registered):
    with app.app_context():
        owner = AccountRepository(db.session).find_client(str(DEFAULT_CLIENT_UUID))
        repository = PhoneRepository(db.session, owner, phones_state().secrets)
        assert repository.get(uuid.uuid4()) is None
        assert repository.get(uuid.UUID(registered[0])) is not None


def test_page_order_is_newest_first_then_uuid(app, client):
    for index in range(40):
        assert register(client, f"+1605444{index:04d}").status_code == 201
    with app.app_context():
        expected = [
            str(value)
            for value in db.session.scalars(
                select(Phone.uuid).order_by(Phone.created_at.desc(), Phone.uuid.desc())
            )
        ]

    listed = client.get("/api/phones?limit=100").get_json()["phones"]
    paged = client.get("/api/phones?limit=15&page=2").get_json()["phones"]

    assert [phone["uuid"] for phone in listed] == expected
    assert [phone["uuid"] for phone in paged] == expected[15:30]


def test_raw_json_is_written_as_is(app):
    text = '[{"n":123456789012345678901234567890}]'
    with app.app_context():
        dumped = app.json.dumps({"phones": RawJSON(text), "total": 1})
    assert dumped == '{"phones":' + text + ',"total":1}'


def test_raw_json_survives_json_module_fallback(app):
    # 2**70 makes orjson fail, so the json module writes the response.
    with app.app_context():
        dumped = app.json.dumps({"phones": RawJSON('[{"a":1}]'), "big": 2**70})
    assert json.loads(dumped) == {"phones": [{"a": 1}], "big": 2**70}


def test_repository_blank_search_is_no_search(app, registered):
    with app.app_context():
        owner = AccountRepository(db.session).find_client(str(DEFAULT_CLIENT_UUID))
        repository = PhoneRepository(db.session, owner, phones_state().secrets)
        page = repository.list(search="   ", status=None, page=1, limit=100)

    # The first registration has no name, which a name search would drop.
    assert page.total == len(BODIES)
    assert len(page.phones) == len(BODIES)


def test_document_text_matches_field_by_field_dump(app, registered):
    phones, _, _ = stored_phones(app)
    with app.app_context():
        owner = AccountRepository(db.session).find_client(str(DEFAULT_CLIENT_UUID))
        repository = PhoneRepository(db.session, owner, phones_state().secrets)
        documents = [repository.get_document(phone.uuid) for phone in phones]

    for phone, document in zip(phones, documents, strict=True):
        expected = generic_dump(PhoneSchema(), phone)
        assert document is not None
        assert json.loads(document.text) == expected
        assert document.uuid == expected["uuid"]
        assert document.updated_at == expected["updatedAt"]


def test_get_body_matches_registration_body(service_client):
    # The 201 body is PhoneSchema's dump of the stored phone, which the tests
    # above compare with marshmallow's; a host app's provider reads a row.
    for body in BODIES:
        registered = register(service_client, **body)
        assert registered.status_code == 201, registered.get_json()
        location = registered.headers["Location"]

        response = service_client.get(location)

        assert response.status_code == 200
        assert response.mimetype == "application/json"
        assert response.get_json() == registered.get_json()


def test_get_and_list_bytes_match_registration(client):
    # The JSON columns are stored as responses write JSON, so the database's
    # text of a phone matches the 201 body byte for byte.
    registered = [register(client, **body) for body in BODIES]
    page = client.get("/api/phones", query_string={"limit": 100}).get_data(as_text=True)

    for response in registered:
        assert response.status_code == 201
        fetched = client.get(response.headers["Location"])
        assert fetched.get_data() == response.get_data()
        assert response.get_data(as_text=True).rstrip("\n") in page


def test_get_follows_sort_keys(app, client):
    app.json.sort_keys = True
    registered = register(client, name="Desk", provider="twilio")
    fetched = client.get(registered.headers["Location"])

    assert fetched.status_code == 200
    assert fetched.get_data(as_text=True).startswith('{"clientUuid":')
    assert fetched.get_data(as_text=True) == registered.get_data(as_text=True)
