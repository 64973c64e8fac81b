"""Every bad request gets JSON in the one error format, never 500 or HTML."""

from __future__ import annotations

import json
import uuid

import pytest

from phones_service.config import MAX_CONTENT_LENGTH

from .conftest import authorized_client, register


@pytest.fixture
def client(service_client):
    """Runs each test against the standalone service and the host app."""
    return service_client


ERROR_KEYS = {"code", "status", "message"}


def assert_error(response, status):
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert ERROR_KEYS <= set(body)
    assert body["code"] == status
    return body


def field_errors(response):
    return assert_error(response, 422)["errors"]["json"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"name": "tab\tname"}, "name"),
        ({"name": 5}, "name"),
        ({"type": "public"}, "type"),
        ({"type": None}, "type"),
        ({"status": "deleted"}, "status"),
        ({"sipTrunkProtocol": "sctp"}, "sipTrunkProtocol"),
        ({"sipTrunkProtocol": "UDP"}, "sipTrunkProtocol"),
        ({"smsEnabled": "true"}, "smsEnabled"),
        ({"smsEnabled": 1}, "smsEnabled"),
        ({"smsEnabled": None}, "smsEnabled"),
        ({"sipTrunk": "sip:sip.example.com"}, "sipTrunk"),
        ({"sipTrunk": "udp://sip.example.com"}, "sipTrunk"),
        ({"sipTrunk": "sip example.com"}, "sipTrunk"),
        ({"sipTrunk": "-bad.example.com"}, "sipTrunk"),
        ({"sipTrunk": "sip.example.com:0"}, "sipTrunk"),
        ({"sipTrunk": "sip.example.com:65536"}, "sipTrunk"),
        ({"sipTrunk": "sip.example.com:abc"}, "sipTrunk"),
        ({"sipTrunk": "256.1.1.1"}, "sipTrunk"),
        ({"sipTrunk": "[::1"}, "sipTrunk"),
        ({"sipTrunk": "[example.com]:5060"}, "sipTrunk"),
        ({"sipTrunk": ""}, "sipTrunk"),
        ({"server": {"url": "https://voice.example.com"}}, "server"),
        ({"server": {"url": "voice.example.com/ws"}}, "server"),
        ({"server": {"region": "us-east-1"}}, "server"),
        ({"server": {"url": "wss://v.example.com", "colour": "red"}}, "server"),
        ({"server": {"url": "wss://v.example.com", "region": "us east"}}, "server"),
        ({"server": "wss://voice.example.com"}, "server"),
        ({"hooks": {"on_call_end": "ftp://hooks.example.com"}}, "hooks"),
        ({"hooks": {"on_call_end": "/relative/path"}}, "hooks"),
        ({"hooks": {"callEnd": "https://hooks.example.com"}}, "hooks"),
        ({"hooks": {f"on_h{i}": "https://h.example.com" for i in range(21)}}, "hooks"),
        ({"hooks": ["https://hooks.example.com"]}, "hooks"),
        ({"parameters": ["not", "an", "object"]}, "parameters"),
        ({"parameters": {"blob": "x" * 9000}}, "parameters"),
        ({"parameters": "text"}, "parameters"),
        ({"sipTrunkPassword": ""}, "sipTrunkPassword"),
        ({"sipTrunkPassword": 12345}, "sipTrunkPassword"),
        ({"sipTrunkPassword": "p" * 256}, "sipTrunkPassword"),
        ({"sipTrunkUser": ""}, "sipTrunkUser"),
        ({"provider": "p" * 65}, "provider"),
        ({"referenceId": "r" * 256}, "referenceId"),
        ({"fallbackDestination": "not a number"}, "fallbackDestination"),
        ({"fallbackDestination": "+1 605 444"}, "fallbackDestination"),
        ({"countryCode": "USA"}, "countryCode"),
        ({"countryCode": "XX"}, "countryCode"),
        ({"colour": "red"}, "colour"),
        ({"uuid": "9b1c1f0e-0000-4000-8000-000000000000"}, "uuid"),
        ({"clientUuid": "9b1c1f0e-0000-4000-8000-000000000000"}, "clientUuid"),
        ({"createdAt": "2026-01-10T12:00:00Z"}, "createdAt"),
        ({"updatedAt": None}, "updatedAt"),
    ],
)
def test_register_invalid_field_answers_422(client, fields, field):
    errors = field_errors(register(client, **fields))

    assert field in errors
    assert client.get("/api/phones").get_json()["total"] == 0


@pytest.mark.parametrize(
    "number",
    [
        "",
        "hello",
        "1-800-FLOWERS",
        "+1 605 444 0129 ext. 12",
        "+1 605 444 0129 x12",
        "+1 605 444",
        "+1 605 444 0129 0129 0129",
        "+999 123 456 789",
        None,
        16054440129,
        ["+16054440129"],
    ],
)
def test_register_invalid_number_answers_422(client, number):
    errors = field_errors(client.post("/api/phones", json={"number": number}))

    assert "number" in errors


def test_register_without_number_answers_422(client):
    errors = field_errors(client.post("/api/phones", json={"name": "No number"}))

    assert errors["number"] == ["Missing data for required field."]


def test_country_code_contradiction_answers_422(client):
    errors = field_errors(register(client, "+44 20 7946 0958", countryCode="US"))

    assert "number" in errors
    assert "US" in errors["number"][0]


@pytest.mark.parametrize(
    "field", ["uuid", "clientUuid", "number", "countryCode", "createdAt", "updatedAt"]
)
def test_patch_immutable_field_answers_422(client, phone, field):
    response = client.patch(f"/api/phones/{phone['uuid']}", json={field: phone[field]})

    errors = field_errors(response)
    assert "Cannot be changed" in errors[field][0]
    assert client.get(f"/api/phones/{phone['uuid']}").get_json() == phone


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"status": "deleted"}, "status"),
        ({"status": None}, "status"),
        ({"name": "x" * 121}, "name"),
        ({"smsEnabled": "yes"}, "smsEnabled"),
        ({"fallbackDestination": "12"}, "fallbackDestination"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_patch_invalid_field_answers_422(client, phone, fields, field):
    response = client.patch(f"/api/phones/{phone['uuid']}", json=fields)

    assert field in field_errors(response)
    assert client.get(f"/api/phones/{phone['uuid']}").get_json() == phone


def test_patch_valid_and_invalid_changes_nothing(client, phone):
    response = client.patch(
        f"/api/phones/{phone['uuid']}", json={"name": "New", "status": "gone"}
    )

    assert_error(response, 422)
    assert client.get(f"/api/phones/{phone['uuid']}").get_json()["name"] == phone["name"]


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b'{"number": "+16054440129",}',
        b"{'number': '+16054440129'}",
        b'{"number": NaN}',
        b'{"parameters": {"x": Infinity}, "number": "+16054440129"}',
        b'{"number": "+16054440129", "parameters": {"n": 1' + b"0" * 5000 + b"}}",
        b"[" * 20000 + b"]" * 20000,
        b"\xff\xfe{}",
        b"",
    ],
)
def test_malformed_json_answers_400(client, body):
    response = client.post("/api/phones", data=body, content_type="application/json")

    body = assert_error(response, 400)
    assert body["message"].startswith("Invalid JSON body")


@pytest.mark.parametrize("body", [b"[]", b'"+16054440129"', b"42", b"null"])
def test_non_object_body_answers_422(client, body):
    response = client.post("/api/phones", data=body, content_type="application/json")

    assert_error(response, 422)


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", None]
)
def test_non_json_content_type_answers_415(client, content_type):
    response = client.post(
        "/api/phones", data="number=%2B16054440129", content_type=content_type
    )

    body = assert_error(response, 415)
    assert "application/json" in body["message"]


def test_oversized_body_answers_413(client):
    padding = "x" * MAX_CONTENT_LENGTH
    body = json.dumps({"number": "+16054440129", "name": padding})
    response = client.post("/api/phones", data=body, content_type="application/json")

    assert_error(response, 413)
    assert client.get("/api/phones").get_json()["total"] == 0


def test_body_shorter_than_content_length_answers_400(client):
    response = client.post(
        "/api/phones",
        data=b'{"number": "+1605',
        content_type="application/json",
        environ_overrides={"CONTENT_LENGTH": "40"},
    )

    body = assert_error(response, 400)
    assert body["message"].startswith("The request body ended early")
    assert client.get("/api/phones").get_json()["total"] == 0


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "identity, gzip"])
def test_content_encoding_answers_415(client, coding):
    response = client.post(
        "/api/phones",
        data=b'{"number": "+16054440129"}',
        content_type="application/json",
        headers={"Content-Encoding": coding},
    )

    body = assert_error(response, 415)
    assert "Content-Encoding" in body["message"]
    assert client.get("/api/phones").get_json()["total"] == 0


def test_identity_content_encoding_is_read(client):
    response = client.post(
        "/api/phones",
        data=b'{"number": "+16054440129"}',
        content_type="application/json",
        headers={"Content-Encoding": "identity"},
    )

    assert response.status_code == 201


@pytest.mark.parametrize(
    "coding", ["gzip, chunked", "deflate,chunked", "x-foo, chunked"]
)
def test_transfer_coding_answers_501(client, coding):
    response = client.patch(
        "/api/phones/" + str(uuid.UUID(int=7)),
        data=b'{"name": "x"}',
        content_type="application/json",
        environ_overrides={"HTTP_TRANSFER_ENCODING": coding},
    )

    body = assert_error(response, 501)
    assert "Transfer-Encoding" in body["message"]


def test_unknown_path_answers_json_404(anonymous):
    body = assert_error(anonymous.get("/api/nothing-here"), 404)

    assert body["status"] == "Not Found"


def test_wrong_method_answers_json_405(anonymous):
    response = anonymous.put(f"/api/phones/{uuid.uuid4()}", json={})

    assert_error(response, 405)
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "PATCH", "DELETE"}


def test_collection_delete_answers_405(anonymous):
    assert_error(anonymous.delete("/api/phones"), 405)


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/api//phones?limit=1", "/api/phones?limit=1"),
        ("/api/phones//", "/api/phones/"),
        (f"/api//phones/{uuid.UUID(int=7)}", f"/api/phones/{uuid.UUID(int=7)}"),
    ],
)
def test_doubled_slash_redirect_answers_json_308(anonymous, path, location):
    response = anonymous.get(path, headers={"Host": "evil.example"})

    body = assert_error(response, 308)
    assert body["status"] == "Permanent Redirect"
    assert "Location" in body["message"]
    assert response.headers["Location"] == location


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/api/phones", {"GET", "HEAD", "OPTIONS", "POST"}),
        (
            f"/api/phones/{uuid.UUID(int=7)}",
            {"GET", "HEAD", "OPTIONS", "PATCH", "DELETE"},
        ),
    ],
)
@pytest.mark.parametrize("with_key", [True, False])
def test_options_answers_204_with_allow(app, api_key, path, methods, with_key):
    client = authorized_client(app, api_key) if with_key else app.test_client()
    response = client.options(path)

    assert response.status_code == 204
    assert response.get_data() == b""
    assert "Content-Type" not in response.headers
    assert set(response.headers["Allow"].split(", ")) == methods


def test_rejected_password_not_echoed(client):
    secret = "Leaky-Secret-Value-42"
    response = register(client, "not a number", sipTrunkPassword=secret)

    assert_error(response, 422)
    assert secret not in response.get_data(as_text=True)


def test_rejected_password_not_logged(client, caplog):
    secret = "Logged-Secret-Value-42"
    caplog.set_level("DEBUG")
    register(client, "+16054440129", sipTrunkPassword=secret, type="bogus")
    register(client, "+16054440129", sipTrunkPassword=secret)
    client.post(
        "/api/phones",
        data='{"sipTrunkPassword": "' + secret + '", ',
        content_type="application/json",
    )

    assert caplog.records
    assert all(secret not in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    "body",
    [
        '{"number": "+16054440130", "name": "\\ud800"}',
        '{"number": "+16054440130", "sipTrunkPassword": "\\udfff"}',
        '{"number": "+16054440130", "parameters": {"k": "\\ud800"}}',
        '{"number": "+16054440130", "parameters": {"\\udc00": 1}}',
        '{"number": "+16054440130", "parameters": {"a": 1e999}}',
        '{"number": "+16054440130", "parameters": {"a": -1e400}}',
        '{"number": "+16054440130", "parameters": ' + "[" * 40 + "]" * 40 + "}",
        '{"number": "+16054440130", "parameters": {"a": ' + "[" * 950 + "]" * 950 + "}}",
    ],
)
def test_unstorable_json_answers_400(client, body):
    response = client.post("/api/phones", data=body, content_type="application/json")

    assert_error(response, 400)
    assert client.get("/api/phones").get_json()["total"] == 0


def test_nesting_within_limit_is_stored(client):
    nested = "[" * 30 + "]" * 30
    body = '{"number": "+16054440130", "parameters": {"a": ' + nested + "}}"
    response = client.post("/api/phones", data=body, content_type="application/json")

    assert response.status_code == 201


@pytest.mark.parametrize("text", ["a\x00b", "\x00", "ab\x00", "tab\there", "\x1b[31m"])
def test_control_characters_in_search_answer_422(client, text):
    response = client.get("/api/phones", query_string={"search": text})

    assert "search" in assert_error(response, 422)["errors"]["query"]


def test_stale_etag_message_names_the_fix(client, phone):
    stale = '"0000000000000000000000000000000000000000"'
    response = client.patch(
        f"/api/phones/{phone['uuid']}", json={"name": "x"}, headers={"If-Match": stale}
    )

    assert "GET it again" in assert_error(response, 412)["message"]
