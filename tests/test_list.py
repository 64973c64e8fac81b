"""Listing: search, status filter, paging and its fixed order."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from phones_service.phones.fields import QueryInteger

from .conftest import register


@pytest.fixture
def client(service_client):
    """Runs each test against the standalone service and the host app."""
    return service_client


NUMBERS = [
    ("+16054440129", "Main Office Line"),
    ("+12025550143", "Support 100%"),
    ("+442079460958", "London_Desk"),
    ("+61255501234", "Sydney Office"),
]


@pytest.fixture
def phones(client):
    created = []
    for number, name in NUMBERS:
        response = register(client, number, name=name)
        assert response.status_code == 201, response.get_json()
        created.append(response.get_json())
    return created


def search(client, text, **params):
    response = client.get("/api/phones", query_string={"search": text, **params})
    assert response.status_code == 200, response.get_json()
    return sorted(phone["number"] for phone in response.get_json()["phones"])


def test_list_shape(client, phones):
    body = client.get("/api/phones").get_json()

    assert sorted(body) == ["limit", "nextCursor", "page", "phones", "total"]
    assert body["total"] == 4
    assert body["page"] == 1
    assert body["limit"] == 10
    assert len(body["phones"]) == 4


def test_list_is_newest_first(client, phones):
    listed = [phone["uuid"] for phone in client.get("/api/phones").get_json()["phones"]]

    assert listed == [phone["uuid"] for phone in reversed(phones)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("605-444", ["+16054440129"]),
        ("(605) 444", ["+16054440129"]),
        ("605.444.0129", ["+16054440129"]),
        ("+1 605", ["+16054440129"]),
        ("7946 0958", ["+442079460958"]),
        ("555", ["+12025550143", "+61255501234"]),
        ("office", ["+16054440129", "+61255501234"]),
        ("OFFICE", ["+16054440129", "+61255501234"]),
        ("main office", ["+16054440129"]),
        ("100%", ["+12025550143"]),
        ("%", ["+12025550143"]),
        ("_", ["+442079460958"]),
        ("London_", ["+442079460958"]),
        ("nothing like this", []),
    ],
)
def test_search(client, phones, text, expected):
    assert search(client, text) == expected


def test_search_combines_with_status(client, phones):
    client.patch(f"/api/phones/{phones[0]['uuid']}", json={"status": "inactive"})

    assert search(client, "office", status="inactive") == ["+16054440129"]
    assert search(client, "office", status="active") == ["+61255501234"]


def test_empty_search_lists_everything(client, phones):
    assert len(search(client, "")) == 4


@pytest.mark.parametrize("status", ["active", "pending", "inactive"])
def test_status_filter(client, phones, status):
    client.patch(f"/api/phones/{phones[1]['uuid']}", json={"status": status})

    body = client.get("/api/phones", query_string={"status": status}).get_json()
    expected = 4 if status == "active" else 1
    assert body["total"] == expected
    assert all(phone["status"] == status for phone in body["phones"])


def test_paging_never_repeats_or_skips(client):
    for index in range(23):
        assert register(client, f"+1605444{index:04d}").status_code == 201

    seen = []
    for page in range(1, 5):
        body = client.get(
            "/api/phones", query_string={"page": page, "limit": 7}
        ).get_json()
        assert body["total"] == 23
        assert body["page"] == page
        assert body["limit"] == 7
        seen.extend(phone["uuid"] for phone in body["phones"])

    assert len(seen) == 23
    assert len(set(seen)) == 23


def test_page_past_end_is_empty(client, phones):
    body = client.get("/api/phones", query_string={"page": 9}).get_json()

    assert body["phones"] == []
    assert body["total"] == 4
    assert body["page"] == 9


def test_limit_of_100_is_allowed(client, phones):
    body = client.get("/api/phones", query_string={"limit": 100}).get_json()

    assert body["limit"] == 100
    assert len(body["phones"]) == 4


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": "0"}, "page"),
        ({"page": "-1"}, "page"),
        ({"page": "abc"}, "page"),
        ({"page": "1.5"}, "page"),
        ({"page": "99999999999999999999999"}, "page"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": ""}, "limit"),
        ({"status": "deleted"}, "status"),
        ({"status": "ACTIVE"}, "status"),
        ({"status": ""}, "status"),
        ({"search": "x" * 101}, "search"),
        ({"statu": "active"}, "statu"),
        ({"q": "605"}, "q"),
    ],
)
def test_bad_query_parameter_answers_422(client, phones, params, field):
    response = client.get("/api/phones", query_string=params)

    body = response.get_json()
    assert response.status_code == 422
    assert field in body["errors"]["query"]
    assert body["message"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"page": "9223372036854775807"}, "Must be greater than or equal to 1"),
        ({"page": "9" * 30}, "Must be greater than or equal to 1"),
        ({"page": "9" * 31}, "Must be greater than or equal to 1"),
        ({"page": "1" * 5000}, "Must be greater than or equal to 1"),
        ({"limit": "0" * 40 + "101"}, "Must be greater than or equal to 1"),
        ({"page": "-1"}, "Not a valid integer; send digits only"),
        ({"page": "1.5"}, "Not a valid integer; send digits only"),
    ],
)
def test_bad_page_number_message(client, params, message):
    response = client.get("/api/phones", query_string=params)

    [field] = params
    assert response.status_code == 422
    assert response.get_json()["errors"]["query"][field][0].startswith(message)


def test_query_integer_without_range_rejects_long_number():
    with pytest.raises(ValidationError) as raised:
        QueryInteger().deserialize("9" * 31)

    assert raised.value.messages == ["Too large; send at most 30 digits."]


def test_page_with_leading_zeros_is_read(client, phones):
    query = {"page": "0002", "limit": "001"}
    body = client.get("/api/phones", query_string=query).get_json()

    assert body["page"] == 2
    assert body["limit"] == 1


def test_cursor_pages_cover_everything(client):
    for index in range(23):
        assert register(client, f"+1605444{index:04d}").status_code == 201

    seen, cursor = [], None
    for _ in range(10):
        query = {"limit": 7} if cursor is None else {"limit": 7, "cursor": cursor}
        body = client.get("/api/phones", query_string=query).get_json()
        assert body["total"] == 23
        seen.extend(phone["uuid"] for phone in body["phones"])
        cursor = body["nextCursor"]
        if cursor is None:
            break

    paged = [
        phone["uuid"]
        for page in range(1, 5)
        for phone in client.get(
            "/api/phones", query_string={"limit": 7, "page": page}
        ).get_json()["phones"]
    ]
    assert seen == paged


def test_last_page_has_no_cursor(client, phones):
    body = client.get("/api/phones", query_string={"limit": 10}).get_json()

    assert body["nextCursor"] is None


def test_cursor_combines_with_search(client, phones):
    first = client.get(
        "/api/phones", query_string={"search": "office", "limit": 1}
    ).get_json()
    second = client.get(
        "/api/phones",
        query_string={"search": "office", "limit": 1, "cursor": first["nextCursor"]},
    ).get_json()

    assert first["total"] == 2
    assert len(second["phones"]) == 1
    assert second["phones"][0]["uuid"] != first["phones"][0]["uuid"]


@pytest.mark.parametrize(
    "cursor", ["", "garbage", "bm90IGEgY3Vyc29y", "MjAyNi0wMS0wMXxub3QtYS11dWlk", "%%%"]
)
def test_invalid_cursor_answers_422(client, phones, cursor):
    response = client.get("/api/phones", query_string={"cursor": cursor})

    assert response.status_code == 422
    assert "cursor" in response.get_json()["errors"]["query"]


def test_cursor_with_page_answers_422(client, phones):
    cursor = client.get("/api/phones", query_string={"limit": 1}).get_json()[
        "nextCursor"
    ]
    response = client.get("/api/phones", query_string={"cursor": cursor, "page": 2})

    assert response.status_code == 422
    assert "cursor" in response.get_json()["errors"]["query"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sy", ["+61255501234"]),
        ("ne", ["+16054440129", "+61255501234"]),
        ("44", ["+442079460958", "+16054440129"]),
        ('"', []),
        ('Desk"', []),
        ("OR", ["+12025550143"]),
        ('" OR "', []),
        ("NEAR(x", []),
        ("port 1", ["+12025550143"]),
        ("london_desk", ["+442079460958"]),
    ],
)
def test_search_short_and_special_text(client, phones, text, expected):
    assert search(client, text) == sorted(expected)


def test_search_folds_unicode_case(client):
    register(client, "+12025550143", name="Öffice Zürich")

    assert search(client, "öFFICE zü") == ["+12025550143"]


def test_search_sees_renamed_phone(client, phones):
    client.patch(f"/api/phones/{phones[0]['uuid']}", json={"name": "Renamed Line"})

    assert search(client, "renamed") == ["+16054440129"]
    assert search(client, "main office") == []


def test_search_forgets_deleted_phone(client, phones):
    client.delete(f"/api/phones/{phones[2]['uuid']}")

    assert search(client, "7946") == []
    assert search(client, "london") == []


def test_totals_follow_every_change(client, phones):
    client.patch(f"/api/phones/{phones[0]['uuid']}", json={"status": "pending"})
    client.patch(f"/api/phones/{phones[1]['uuid']}", json={"status": "pending"})
    client.patch(f"/api/phones/{phones[1]['uuid']}", json={"status": "inactive"})
    client.delete(f"/api/phones/{phones[2]['uuid']}")
    register(client, "+12025550144", status="pending")

    def total(**query):
        return client.get("/api/phones", query_string=query).get_json()["total"]

    assert total() == 4
    assert total(status="active") == 1
    assert total(status="pending") == 2
    assert total(status="inactive") == 1


def test_full_last_page_has_no_cursor(client, phones):
    body = client.get("/api/phones", query_string={"limit": 4}).get_json()

    assert len(body["phones"]) == 4
    assert body["nextCursor"] is None


@pytest.fixture
def mixed_phones(client):
    """40 phones: 30 named "Sales ...", 2 "Zulu ...", the rest "Desk ...".

    On SQLite, a search for "Sales" matches enough phones that the page is
    found by walking the phones newest first. "Zulu" matches so few that
    the page is found by sorting the matches. Both must give the same pages.
    """
    created = []
    for index in range(40):
        if index % 4 == 3:
            name, status = f"Desk {index}", "active"
        elif index in (5, 22):
            name, status = f"Zulu {index}", "pending"
        else:
            name, status = f"Sales {index}", "pending" if index % 3 else "active"
        response = register(client, f"+1605444{index:04d}", name=name, status=status)
        assert response.status_code == 201, response.get_json()
        created.append(response.get_json())
    # Newest first, ties broken by uuid, as the API orders them.
    return sorted(
        created, key=lambda phone: (phone["createdAt"], phone["uuid"]), reverse=True
    )


def expected_uuids(phones, text, status=None):
    return [
        phone["uuid"]
        for phone in phones
        if text.lower() in phone["name"].lower()
        and (status is None or phone["status"] == status)
    ]


def paged_uuids(client, text, limit, status=None, use_cursor=False):
    """Return the uuids of every page of a search, and the totals seen."""
    seen, totals, cursor = [], set(), None
    params = {"search": text, "limit": limit}
    if status is not None:
        params["status"] = status
    for page in range(1, 50):
        paging = {"cursor": cursor} if use_cursor and cursor else {}
        if not use_cursor:
            paging = {"page": page}
        body = client.get("/api/phones", query_string={**params, **paging}).get_json()
        seen += [phone["uuid"] for phone in body["phones"]]
        totals.add(body["total"])
        cursor = body["nextCursor"]
        if cursor is None:
            break
    return seen, totals


@pytest.mark.parametrize("text", ["Sales", "Zulu", "desk", "ales 1"])
@pytest.mark.parametrize("status", [None, "pending", "active"])
@pytest.mark.parametrize("use_cursor", [False, True])
def test_search_pages_follow_list_order(client, mixed_phones, text, status, use_cursor):
    expected = expected_uuids(mixed_phones, text, status)

    seen, totals = paged_uuids(
        client, text, limit=4, status=status, use_cursor=use_cursor
    )

    assert seen == expected
    assert totals == {len(expected)}
