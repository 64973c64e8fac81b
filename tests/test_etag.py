"""ETags: conditional GET, and If-Match on PATCH and DELETE."""

from __future__ import annotations

import pytest
from flask_migrate import upgrade

from .conftest import authorized_client, create_key, make_app, register


@pytest.fixture
def client(service_client):
    """Runs each test against the standalone service and the host app."""
    return service_client


def path(phone):
    return f"/api/phones/{phone['uuid']}"


def test_get_answers_etag(client, phone):
    response = client.get(path(phone))

    assert response.headers["ETag"].startswith('"')


def test_if_none_match_answers_304(client, phone):
    etag = client.get(path(phone)).headers["ETag"]
    response = client.get(path(phone), headers={"If-None-Match": etag})

    assert response.status_code == 304
    assert response.get_data() == b""
    assert response.headers["ETag"] == etag


@pytest.mark.parametrize(
    "header",
    [
        "W/{etag}",
        '"other", {etag}',
        "*",
    ],
)
def test_if_none_match_compares_weakly(client, phone, header):
    etag = client.get(path(phone)).headers["ETag"]
    response = client.get(
        path(phone), headers={"If-None-Match": header.format(etag=etag)}
    )

    assert response.status_code == 304
    assert response.headers["ETag"] == etag


def test_if_none_match_of_other_tag_answers_200(client, phone):
    response = client.get(path(phone), headers={"If-None-Match": '"other", W/"more"'})

    assert response.status_code == 200
    assert response.get_json()["uuid"] == phone["uuid"]


def test_changed_phone_answers_200_again(client, phone):
    etag = client.get(path(phone)).headers["ETag"]
    client.patch(path(phone), json={"name": "Renamed"})
    response = client.get(path(phone), headers={"If-None-Match": etag})

    assert response.status_code == 200
    assert response.headers["ETag"] != etag


@pytest.mark.parametrize("header", ["{etag}", '"other", {etag}', "*"])
def test_get_with_matching_if_match_answers_200(client, phone, header):
    etag = client.get(path(phone)).headers["ETag"]
    response = client.get(path(phone), headers={"If-Match": header.format(etag=etag)})

    assert response.status_code == 200
    assert response.get_json()["uuid"] == phone["uuid"]


@pytest.mark.parametrize("header", ['"other"', "W/{etag}", '"other", W/"more"'])
def test_get_with_stale_if_match_answers_412(client, phone, header):
    etag = client.get(path(phone)).headers["ETag"]
    response = client.get(path(phone), headers={"If-Match": header.format(etag=etag)})

    body = response.get_json()
    assert response.status_code == 412
    assert body["code"] == 412
    assert "without If-Match" in body["message"]


def test_get_checks_if_match_before_if_none_match(client, phone):
    etag = client.get(path(phone)).headers["ETag"]
    headers = {"If-Match": '"other"', "If-None-Match": etag}

    assert client.get(path(phone), headers=headers).status_code == 412


def test_patch_with_current_etag(client, phone):
    etag = client.get(path(phone)).headers["ETag"]
    response = client.patch(
        path(phone), json={"name": "New"}, headers={"If-Match": etag}
    )

    assert response.status_code == 200
    assert response.headers["ETag"] != etag
    assert response.headers["ETag"] == client.get(path(phone)).headers["ETag"]


def test_patch_without_if_match_works(client, phone):
    response = client.patch(path(phone), json={"name": "Plain curl"})

    assert response.status_code == 200


def test_patch_with_star_works(client, phone):
    response = client.patch(
        path(phone), json={"name": "Any"}, headers={"If-Match": "*"}
    )

    assert response.status_code == 200


def test_lost_update_is_prevented(client, phone):
    first_etag = client.get(path(phone)).headers["ETag"]
    second_etag = client.get(path(phone)).headers["ETag"]

    first = client.patch(
        path(phone), json={"name": "Alice's edit"}, headers={"If-Match": first_etag}
    )
    second = client.patch(
        path(phone), json={"name": "Bob's edit"}, headers={"If-Match": second_etag}
    )

    assert first.status_code == 200
    assert second.status_code == 412
    assert second.get_json()["code"] == 412
    assert client.get(path(phone)).get_json()["name"] == "Alice's edit"


def test_stale_delete_answers_412(client, phone):
    etag = client.get(path(phone)).headers["ETag"]
    client.patch(path(phone), json={"status": "pending"})
    response = client.delete(path(phone), headers={"If-Match": etag})

    assert response.status_code == 412
    assert client.get(path(phone)).status_code == 200


def test_delete_with_current_etag(client, phone):
    etag = client.get(path(phone)).headers["ETag"]
    response = client.delete(path(phone), headers={"If-Match": etag})

    assert response.status_code == 204


def test_stale_patch_changes_nothing(client, phone):
    stale = '"0000000000000000000000000000000000000000"'
    response = client.patch(
        path(phone), json={"name": "Lost"}, headers={"If-Match": stale}
    )

    assert response.status_code == 412
    assert client.get(path(phone)).get_json() == phone


@pytest.mark.parametrize("header", ["", ",", "  ,  "])
def test_patch_with_empty_if_match_answers_412(client, phone, header):
    response = client.patch(
        path(phone), json={"name": "Lost"}, headers={"If-Match": header}
    )

    assert response.status_code == 412
    assert client.get(path(phone)).get_json() == phone


@pytest.mark.parametrize("header", ["*", "{etag}", "W/{etag}", '"other", {etag}'])
def test_write_with_matching_if_none_match_answers_412(client, phone, header):
    etag = client.get(path(phone)).headers["ETag"]
    headers = {"If-None-Match": header.format(etag=etag)}

    patched = client.patch(path(phone), json={"name": "Lost"}, headers=headers)
    deleted = client.delete(path(phone), headers=headers)

    assert patched.status_code == 412
    assert "If-None-Match" in patched.get_json()["message"]
    assert deleted.status_code == 412
    assert client.get(path(phone)).get_json() == phone


def test_patch_with_other_if_none_match_works(client, phone):
    response = client.patch(
        path(phone), json={"name": "New"}, headers={"If-None-Match": '"other"'}
    )

    assert response.status_code == 200
    assert response.get_json()["name"] == "New"


def test_etag_disabled_sends_none(client, phone, tmp_path_factory):
    """One app's setting leaves another app's ETags in the same process alone."""
    # Made after the app of `client`, so flask-smorest's one Api now reads
    # this app's config.
    folder = tmp_path_factory.mktemp("etag_disabled")
    app = make_app(folder / "phones.db", folder, ETAG_DISABLED=True)
    with app.app_context():
        upgrade()
    disabled = authorized_client(app, create_key(app)[0])
    assert client.get(path(phone)).headers["ETag"]
    created = register(disabled).get_json()

    first = disabled.get(f"/api/phones/{created['uuid']}")
    again = disabled.get(f"/api/phones/{created['uuid']}", headers={"If-None-Match": "*"})
    changed = disabled.patch(
        f"/api/phones/{created['uuid']}", json={"name": "Desk"}, headers={"If-Match": '"stale"'}
    )

    assert first.status_code == 200
    assert "ETag" not in first.headers
    assert again.status_code == 200
    assert changed.status_code == 200
    assert "ETag" not in changed.headers
    assert client.get(path(phone)).headers["ETag"]
