"""Two clients: neither can see, change or remove the other's phones."""

from __future__ import annotations

import pytest

from .conftest import authorized_client, create_key, register


@pytest.fixture
def alice(app):
    key, client_uuid = create_key(app, "Alice")
    return authorized_client(app, key), client_uuid


@pytest.fixture
def bob(app):
    key, client_uuid = create_key(app, "Bob")
    return authorized_client(app, key), client_uuid


@pytest.fixture
def alice_phone(alice):
    response = register(alice[0], name="Alice line", sipTrunkPassword="alice-Pass-1")
    assert response.status_code == 201
    return response.get_json()


def test_phone_belongs_to_its_client(alice, alice_phone):
    assert alice_phone["clientUuid"] == alice[1]


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("get", None),
        ("patch", {"name": "Stolen"}),
        ("patch", {"status": "inactive"}),
        ("patch", {"sipTrunkPassword": "taken-Over-1"}),
        ("patch", {}),
        ("delete", None),
    ],
)
def test_other_clients_phone_answers_404(alice, bob, alice_phone, method, body):
    path = f"/api/phones/{alice_phone['uuid']}"
    response = getattr(bob[0], method)(path, json=body)

    assert response.status_code == 404
    assert alice[0].get(path).get_json() == alice_phone


@pytest.mark.parametrize("text", [None, "Alice", "605", "+16054440129"])
def test_list_and_search_show_own_phones(alice, bob, alice_phone, text):
    query = {} if text is None else {"search": text}
    listed = bob[0].get("/api/phones", query_string=query).get_json()

    assert listed["total"] == 0
    assert listed["phones"] == []


def test_status_filter_counts_own_phones(alice, bob, alice_phone):
    listed = bob[0].get("/api/phones", query_string={"status": "active"}).get_json()

    assert listed["total"] == 0


def test_same_number_for_two_clients(alice, bob, alice_phone):
    response = register(bob[0])

    assert response.status_code == 201
    assert response.get_json()["uuid"] != alice_phone["uuid"]
    assert response.get_json()["clientUuid"] == bob[1]


def test_duplicate_409_does_not_reveal_others(alice, bob, alice_phone):
    register(bob[0])
    response = register(bob[0])

    assert response.status_code == 409
    assert response.get_json()["uuid"] != alice_phone["uuid"]


def test_client_uuid_cannot_be_forged(alice, bob):
    response = register(bob[0], "+12025550143", clientUuid=alice[1])

    assert response.status_code == 422
    assert alice[0].get("/api/phones").get_json()["total"] == 0


def test_delete_by_other_keeps_phone(alice, bob, alice_phone):
    bob[0].delete(f"/api/phones/{alice_phone['uuid']}")

    assert alice[0].get("/api/phones").get_json()["total"] == 1
