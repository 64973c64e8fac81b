"""Contract of the five /api/phones endpoints: fields, shapes and statuses."""

from __future__ import annotations

import re
import uuid

import pytest

from .conftest import register


@pytest.fixture
def client(service_client):
    """Runs each test against the standalone service and the host app."""
    return service_client

PHONE_FIELDS = [
    "uuid",
    "clientUuid",
    "name",
    "number",
    "referenceId",
    "type",
    "countryCode",
    "sipTrunk",
    "provider",
    "status",
    "smsEnabled",
    "fallbackDestination",
    "server",
    "hooks",
    "sipTrunkUser",
    "sipTrunkPassword",
    "sipTrunkProtocol",
    "parameters",
    "createdAt",
    "updatedAt",
]
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
MASK = "\u2022" * 8


def test_register_returns_every_field(client):
    response = register(client, name="Main Office Line")

    assert response.status_code == 201
    body = response.get_json()
    assert sorted(body) == sorted(PHONE_FIELDS)
    assert body["number"] == "+16054440129"
    assert body["countryCode"] == "US"
    assert body["name"] == "Main Office Line"
    assert body["clientUuid"] == client.phones_client_uuid
    assert uuid.UUID(body["uuid"]).version == 4


def test_register_defaults_and_nulls(client):
    body = register(client).get_json()

    assert body["type"] == "private"
    assert body["status"] == "active"
    assert body["sipTrunkProtocol"] == "udp"
    assert body["smsEnabled"] is False
    assert body["parameters"] == {}
    assert body["hooks"] == {}
    for field in ("name", "referenceId", "sipTrunk", "provider", "server",
                  "fallbackDestination", "sipTrunkUser", "sipTrunkPassword"):
        assert body[field] is None, field


def test_register_sets_location_header(client):
    response = register(client)

    phone_uuid = response.get_json()["uuid"]
    assert response.headers["Location"] == f"{client.phones_prefix}/{phone_uuid}"
    assert client.get(response.headers["Location"]).status_code == 200


def test_timestamps_are_iso_utc_with_z(client):
    body = register(client).get_json()

    assert TIMESTAMP.match(body["createdAt"])
    assert TIMESTAMP.match(body["updatedAt"])
    assert body["createdAt"] == body["updatedAt"]


def test_register_accepts_every_configuration_field(client, phone):
    assert phone["referenceId"] == "d398f9d8d9f"
    assert phone["provider"] == "twilio"
    assert phone["sipTrunk"] == "sip.example.com"
    assert phone["sipTrunkUser"] == "user_abc"
    assert phone["server"] == {"url": "wss://voice.example.com/ws", "region": "us-east-1"}
    assert phone["hooks"] == {"on_call_end": "https://hooks.example.com/end"}


def test_password_is_masked_everywhere(client, phone):
    assert phone["sipTrunkPassword"] == MASK
    fetched = client.get(f"/api/phones/{phone['uuid']}")
    listed = client.get("/api/phones")

    assert "s3cret-Trunk-Pass" not in fetched.get_data(as_text=True)
    assert "s3cret-Trunk-Pass" not in listed.get_data(as_text=True)
    assert fetched.get_json()["sipTrunkPassword"] == MASK
    assert listed.get_json()["phones"][0]["sipTrunkPassword"] == MASK


def test_get_returns_registered_phone(client, phone):
    response = client.get(f"/api/phones/{phone['uuid']}")

    assert response.status_code == 200
    assert response.get_json() == phone


def test_get_accepts_uppercase_uuid(client, phone):
    response = client.get(f"/api/phones/{phone['uuid'].upper()}")

    assert response.status_code == 200
    assert response.get_json()["uuid"] == phone["uuid"]


def test_collection_with_trailing_slash(client, phone):
    response = client.get("/api/phones/")

    assert response.status_code == 200
    assert response.get_json()["total"] == 1


def test_patch_changes_name_and_status(client, phone):
    response = client.patch(
        f"/api/phones/{phone['uuid']}", json={"name": "Support", "status": "inactive"}
    )

    body = response.get_json()
    assert response.status_code == 200
    assert body["name"] == "Support"
    assert body["status"] == "inactive"
    assert body["number"] == phone["number"]
    assert body["updatedAt"] > phone["updatedAt"]
    assert body["createdAt"] == phone["createdAt"]


def test_patch_moves_updated_at_every_time(client, phone):
    stamps = [phone["updatedAt"]]
    for index in range(5):
        response = client.patch(
            f"/api/phones/{phone['uuid']}", json={"name": f"Line {index}"}
        )
        stamps.append(response.get_json()["updatedAt"])

    assert stamps == sorted(set(stamps))


def test_patch_without_change_keeps_updated_at(client, phone):
    response = client.patch(f"/api/phones/{phone['uuid']}", json={"name": phone["name"]})

    assert response.status_code == 200
    assert response.get_json()["updatedAt"] == phone["updatedAt"]


def test_patch_null_clears_nullable_fields(client, phone):
    cleared = {
        "name": None,
        "referenceId": None,
        "provider": None,
        "sipTrunk": None,
        "sipTrunkUser": None,
        "sipTrunkPassword": None,
        "server": None,
        "fallbackDestination": None,
    }
    response = client.patch(f"/api/phones/{phone['uuid']}", json=cleared)

    body = response.get_json()
    assert response.status_code == 200
    for field in cleared:
        assert body[field] is None, field


def test_patch_null_empties_hooks_and_parameters(client, phone):
    response = client.patch(
        f"/api/phones/{phone['uuid']}", json={"hooks": None, "parameters": None}
    )

    assert response.get_json()["hooks"] == {}
    assert response.get_json()["parameters"] == {}


def test_patch_configuration_fields(client, phone):
    changes = {
        "type": "shared",
        "provider": "vapi",
        "referenceId": "ref-2",
        "sipTrunk": "203.0.113.10:5061",
        "sipTrunkUser": "user_xyz",
        "sipTrunkProtocol": "tls",
        "smsEnabled": True,
        "fallbackDestination": "+442079460958",
        "server": {"url": "wss://eu.example.com/ws", "region": "eu-west-1"},
        "hooks": {"on_call_start": "https://hooks.example.com/start"},
        "parameters": {"voice": "alloy", "retries": 2, "tags": ["a", "b"]},
    }
    response = client.patch(f"/api/phones/{phone['uuid']}", json=changes)

    body = response.get_json()
    assert response.status_code == 200, body
    for field, value in changes.items():
        assert body[field] == value, field
    assert client.get(f"/api/phones/{phone['uuid']}").get_json() == body


def test_patch_password_stays_masked(client, phone):
    response = client.patch(
        f"/api/phones/{phone['uuid']}", json={"sipTrunkPassword": "another-Pass-1"}
    )

    assert response.get_json()["sipTrunkPassword"] == MASK
    assert "another-Pass-1" not in response.get_data(as_text=True)


def test_delete_answers_204_empty(client, phone):
    response = client.delete(f"/api/phones/{phone['uuid']}")

    assert response.status_code == 204
    assert response.get_data() == b""
    assert "Content-Type" not in response.headers
    assert client.get(f"/api/phones/{phone['uuid']}").status_code == 404


def test_delete_twice_answers_404(client, phone):
    client.delete(f"/api/phones/{phone['uuid']}")
    response = client.delete(f"/api/phones/{phone['uuid']}")

    assert response.status_code == 404
    assert response.get_json()["code"] == 404


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_unknown_uuid_answers_404(client, method):
    response = getattr(client, method)(f"/api/phones/{uuid.uuid4()}", json={})

    assert response.status_code == 404
    assert response.get_json()["status"] == "Not Found"


@pytest.mark.parametrize("path", ["not-a-uuid", "123", "9z8y7x6w-5v4u-3t2s-1r0q-9p8o7n6m5l4k"])
@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_non_uuid_path_answers_404(client, method, path):
    response = getattr(client, method)(f"/api/phones/{path}", json={})

    assert response.status_code == 404
    assert response.is_json


def test_duplicate_number_answers_409_with_uuid(client, phone):
    response = register(client, "(605) 444-0129")

    body = response.get_json()
    assert response.status_code == 409
    assert body["uuid"] == phone["uuid"]
    assert body["errors"] == {"json": {"number": ["Already registered."]}}
    assert phone["uuid"] in body["message"]


def test_duplicate_leaves_original_untouched(client, phone):
    register(client, "+16054440129", name="Other")

    listed = client.get("/api/phones").get_json()
    assert listed["total"] == 1
    assert listed["phones"][0] == phone


def test_standalone_keeps_field_order(anonymous, api_key):
    response = anonymous.post(
        "/api/phones",
        json={"number": "+16054440129"},
        headers={"Authorization": f"Bearer {api_key}"},
    )

    assert list(response.get_json()) == PHONE_FIELDS
