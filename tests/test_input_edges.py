"""Edge inputs: hidden characters, the password mask, large integers, cursors
out of range and loose query values."""

from __future__ import annotations

import base64
import json

import pytest

from .conftest import register
from .test_errors import assert_error, field_errors

MASK = "\u2022" * 8


@pytest.fixture
def client(service_client):
    """Runs each test against the standalone service and the host app."""
    return service_client


def query_errors(response):
    return assert_error(response, 422)["errors"]["query"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"sipTrunk": "[fe80::1%\u0000x]:5060"}, "sipTrunk"),
        ({"sipTrunk": "[fe80::1%eth\n0]"}, "sipTrunk"),
        ({"sipTrunk": "sip\n.example.com"}, "sipTrunk"),
        ({"hooks": {"on_call_end\n": "https://hooks.example.com/end"}}, "hooks"),
        ({"server": {"url": "wss://x.example.com", "region": "us-east-1\n"}}, "server"),
        ({"name": "Line\u2028Two"}, "name"),
        ({"name": "Desk \u202eenil"}, "name"),
        ({"name": "Next\u0085Line"}, "name"),
        ({"sipTrunkUser": "user\u2066"}, "sipTrunkUser"),
    ],
)
def test_hidden_characters_are_rejected(client, fields, field):
    errors = field_errors(register(client, **fields))

    assert field in errors
    assert client.get("/api/phones").get_json()["total"] == 0


@pytest.mark.parametrize("search", ["abc\n", "605\u202e", "x\u0085"])
def test_search_with_hidden_characters_answers_422(client, search):
    assert "search" in query_errors(
        client.get("/api/phones", query_string={"search": search})
    )


def test_blank_search_is_no_search(client):
    register(client, "+16054440129", name="Named")
    register(client, "+16054440130")

    body = client.get("/api/phones", query_string={"search": "   "}).get_json()

    assert body["total"] == 2
    assert len(body["phones"]) == 2


def test_mask_is_not_accepted_as_password(client):
    created = register(client, sipTrunkPassword="real-Trunk-Pass-1")
    phone_uuid = created.get_json()["uuid"]

    posted = register(client, "+16054440131", sipTrunkPassword=MASK)
    patched = client.patch(f"/api/phones/{phone_uuid}", json={"sipTrunkPassword": MASK})

    assert "sipTrunkPassword" in field_errors(posted)
    assert "sipTrunkPassword" in field_errors(patched)
    assert client.get("/api/phones").get_json()["total"] == 1


def test_parameters_limit_counts_utf8_bytes(client):
    within = register(client, "+16054440132", parameters={"text": "\u00e9" * 2000})
    beyond = register(client, "+16054440133", parameters={"text": "\u00e9" * 5000})

    assert within.status_code == 201, within.get_json()
    assert "parameters" in field_errors(beyond)


@pytest.mark.parametrize("value", [-(2**63) - 1, 2**63, -(2**70), 2**64 + 1])
def test_integers_beyond_64_bits_stay_exact(client, value):
    created = register(client, "+16054440134", parameters={"a": value})
    phone_uuid = created.get_json()["uuid"]
    updated_at = created.get_json()["updatedAt"]

    fetched = json.loads(client.get(f"/api/phones/{phone_uuid}").get_data(as_text=True))
    listed = json.loads(client.get("/api/phones").get_data(as_text=True))
    same = client.patch(f"/api/phones/{phone_uuid}", json={"parameters": {"a": value}})

    assert fetched["parameters"] == {"a": value}
    assert listed["phones"][0]["parameters"] == {"a": value}
    assert same.status_code == 200
    assert same.get_json()["updatedAt"] == updated_at


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "stamp",
    [
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:59:59-05:00",
        "2026-01-01T00:00:00",
    ],
)
def test_cursor_with_time_out_of_range_answers_422(client, stamp):
    cursor = _cursor(f"{stamp}|6f373632-ce71-4ba8-9451-ea20d68cc6ca")

    errors = query_errors(client.get("/api/phones", query_string={"cursor": cursor}))

    assert "cursor" in errors


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=5&limit=500", "limit"),
        ("status=active&status=bogus", "status"),
        ("search=a&search=b", "search"),
        ("page=1_0", "page"),
        ("page=%D9%A2", "page"),
        ("limit=+5", "limit"),
        ("limit=%205", "limit"),
    ],
)
def test_loose_query_values_answer_422(client, query, field):
    assert field in query_errors(client.get(f"/api/phones?{query}"))


def test_page_with_cursor_answers_422(client):
    for index in range(3):
        register(client, f"+1605444014{index}")
    cursor = client.get("/api/phones?limit=1").get_json()["nextCursor"]

    response = client.get("/api/phones", query_string={"page": 1, "cursor": cursor})

    assert "cursor" in query_errors(response)


@pytest.mark.parametrize("country", ["UK", "GBR", None, 44])
def test_invalid_country_code_reports_only_country_code(client, country):
    errors = field_errors(register(client, "020 7946 0958", countryCode=country))

    assert "countryCode" in errors
    assert "number" not in errors
