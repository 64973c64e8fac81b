"""The OpenAPI document: valid, complete, and with examples that fit it."""

from __future__ import annotations

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from phones_service.api import Blueprint

OPERATIONS = {
    ("/api/phones", "get"): {"200", "401", "422"},
    ("/api/phones", "post"): {"201", "400", "401", "409", "413", "415", "422"},
    ("/api/phones/{phone_uuid}", "get"): {"200", "304", "401", "404", "412"},
    ("/api/phones/{phone_uuid}", "patch"): {"200", "400", "401", "404", "412", "413", "415", "422"},
    ("/api/phones/{phone_uuid}", "delete"): {"204", "401", "404", "412"},
}


@pytest.fixture
def spec(anonymous):
    response = anonymous.get("/api/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_document_is_valid_openapi(spec):
    validate(spec)


@pytest.mark.parametrize(("path", "method"), sorted(OPERATIONS))
def test_every_response_documented(spec, path, method):
    operation = spec["paths"][path][method]

    assert OPERATIONS[(path, method)] <= set(operation["responses"])
    assert operation["summary"]


def test_only_phone_operations(spec):
    documented = {
        (path, method)
        for path, item in spec["paths"].items()
        for method in item
        if method != "parameters"
    }

    assert documented == set(OPERATIONS)


def test_bearer_security_scheme(spec):
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]

    assert scheme == {**scheme, "type": "http", "scheme": "bearer"}
    assert spec["security"] == [{"bearerAuth": []}]


def test_if_match_is_optional(spec):
    for method in ("get", "patch", "delete"):
        parameters = spec["paths"]["/api/phones/{phone_uuid}"][method]["parameters"]
        if_match = [p for p in parameters if p.get("name") == "If-Match"]
        assert len(if_match) == 1
        assert if_match[0]["required"] is False


def test_list_parameters_have_limits(spec):
    parameters = {
        parameter["name"]: parameter
        for parameter in spec["paths"]["/api/phones"]["get"]["parameters"]
    }

    assert parameters["limit"]["schema"]["maximum"] == 100
    assert parameters["limit"]["schema"]["minimum"] == 1
    assert parameters["page"]["schema"]["minimum"] == 1
    assert parameters["search"]["schema"]["maxLength"] == 100
    assert parameters["status"]["schema"]["enum"] == ["active", "pending", "inactive"]


def test_phone_schema_lists_every_field(spec):
    schema = spec["components"]["schemas"]["Phone"]

    assert len(schema["properties"]) == 20
    assert set(schema["required"]) == set(schema["properties"])


def test_read_only_fields_not_in_requests(spec):
    for name in ("PhoneCreate", "PhoneUpdate"):
        properties = spec["components"]["schemas"][name]["properties"]
        for field in ("uuid", "clientUuid", "createdAt", "updatedAt"):
            assert field not in properties, f"{name}.{field}"


@pytest.mark.parametrize("name", ["PhoneCreate", "PhoneUpdate"])
def test_password_length_is_documented(spec, name):
    password = spec["components"]["schemas"][name]["properties"]["sipTrunkPassword"]

    assert password["minLength"] == 1
    assert password["maxLength"] == 255
    assert password["writeOnly"] is True


def _examples(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            body = operation.get("requestBody", {}).get("content", {})
            for media in body.values():
                if "example" in media:
                    yield f"{method} {path} request", media["schema"], media["example"]
            for status, response in operation["responses"].items():
                for media in response.get("content", {}).values():
                    if "example" in media:
                        yield f"{method} {path} {status}", media["schema"], media["example"]


def test_operations_have_examples(spec):
    names = {name for name, _, _ in _examples(spec)}

    assert names == {
        "get /api/phones 200",
        "post /api/phones request",
        "post /api/phones 201",
        "get /api/phones/{phone_uuid} 200",
        "patch /api/phones/{phone_uuid} request",
        "patch /api/phones/{phone_uuid} 200",
    }


def test_examples_match_their_schemas(spec):
    for name, schema, example in _examples(spec):
        document = {**schema, "components": spec["components"]}
        errors = list(OAS30Validator(document).iter_errors(example))
        assert errors == [], name


def test_example_response_matches_real_answer(client, spec):
    example = spec["paths"]["/api/phones"]["post"]["responses"]["201"]["content"][
        "application/json"
    ]["example"]
    request_example = spec["paths"]["/api/phones"]["post"]["requestBody"]["content"][
        "application/json"
    ]["example"]
    answer = client.post("/api/phones", json=request_example).get_json()

    assert list(answer) == list(example)
    for field in ("number", "name", "countryCode", "sipTrunkPassword", "type"):
        assert answer[field] == example[field], field


def test_alternative_response_documents_without_wrapping():
    blueprint = Blueprint("documented", __name__)

    def view():
        return None

    documented = blueprint.alt_response(404, response="NOT_FOUND")(view)
    documented = blueprint.alt_response(409, description="Already registered")(documented)

    # The view runs as it is, with no wrapper that only calls it.
    assert documented is view
    responses = view._apidoc["response"]["responses"]
    assert responses[404] == ["NOT_FOUND"]
    assert responses[409][0]["description"] == "Already registered"
