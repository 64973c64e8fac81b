"""Search against a model: random phones, changes, then every kind of text.

Each search's total and its pages, by page number and by cursor, must be
what a plain scan of the phones gives. On SQLite this covers both search
indexes, the short-text LIKE paths, the two ways a page is found, and the
triggers that keep the indexes in step with renames, status changes and
deletions.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from dataclasses import dataclass

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from phones_service.database import postgresql_statement, sqlite_statement
from phones_service.extensions import db
from phones_service.numbers import search_digits

from .backends import BACKEND
from .conftest import authorized_client, create_key, make_app, register

NAMES = [
    "Sales Desk",
    "sales desk",
    "Main Line 206",
    "Öffice Zürich",
    "ÖFFICE",
    "Support 100%",
    "Night_Queue",
    "Line 2",
    "Seattle",
    "Seattleite Desk",
    "605 Desk",
    None,
]
PREFIXES = ["+1605444", "+1605445", "+1206555"]
STATUSES = ["active", "pending", "inactive"]
SEARCHES = [
    "Sales",
    "ales d",
    "SALES DESK",
    "desk",
    "öffice",
    "zürich",
    "zü",
    "Seattle",
    "attle",
    "100%",
    "_Q",
    "Line 2",
    "line",
    "Se",
    "e",
    "206",
    "605",
    "(605) 444",
    "605-445-00",
    "1 206 555",
    "44",
    "4",
    "0012",
    "zzz",
]


@dataclass
class Phone:
    uuid: str
    number: str
    name: str | None
    status: str
    created_at: str


def matches(phone: Phone, search: str, status: str | None) -> bool:
    if status is not None and phone.status != status:
        return False
    words = search.strip()
    if phone.name is not None and words.lower() in phone.name.lower():
        return True
    digits = search_digits(words)
    return bool(digits) and digits in phone.number


def newest_first(phones: list[Phone]) -> list[str]:
    ordered = sorted(phones, key=lambda phone: (phone.created_at, phone.uuid))
    return [phone.uuid for phone in reversed(ordered)]


def populate(client, rng: random.Random, count: int) -> dict[str, Phone]:
    phones = {}
    for index in range(count):
        number = f"{rng.choice(PREFIXES)}{index:04d}"
        fields = {"status": rng.choice(STATUSES)}
        if (name := rng.choice(NAMES)) is not None:
            fields["name"] = name
        response = register(client, number, **fields)
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        phones[body["uuid"]] = Phone(
            body["uuid"], number, name, body["status"], body["createdAt"]
        )
    return phones


def change(client, rng: random.Random, phones: dict[str, Phone], count: int) -> None:
    """Rename, move between statuses and delete some phones."""
    for _ in range(count):
        phone = phones[rng.choice(sorted(phones))]
        action = rng.choice(["rename", "status", "both", "delete"])
        if action == "delete":
            response = client.delete(f"/api/phones/{phone.uuid}")
            assert response.status_code == 204
            del phones[phone.uuid]
            continue
        changes = {}
        if action in ("rename", "both"):
            changes["name"] = rng.choice(NAMES)
        if action in ("status", "both"):
            changes["status"] = rng.choice(STATUSES)
        response = client.patch(f"/api/phones/{phone.uuid}", json=changes)
        assert response.status_code == 200, response.get_json()
        phone.name = response.get_json()["name"]
        phone.status = response.get_json()["status"]


def pages(client, search: str, status: str | None, limit: int, use_cursor: bool):
    """Return the uuids of every page of a search, and the totals seen."""
    query = {"search": search, "limit": limit}
    if status is not None:
        query["status"] = status
    seen, totals, cursor = [], set(), None
    for page in range(1, 100):
        paging = {"cursor": cursor} if use_cursor and cursor else {}
        if not use_cursor:
            paging = {"page": page}
        response = client.get("/api/phones", query_string={**query, **paging})
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        seen += [phone["uuid"] for phone in body["phones"]]
        totals.add(body["total"])
        cursor = body["nextCursor"]
        if cursor is None if use_cursor else not body["phones"]:
            return seen, totals
    raise AssertionError(f"search {search!r} did not end within 100 pages")


@pytest.fixture
def searched(app, client):
    """Two clients with overlapping names and numbers, after some changes."""
    rng = random.Random(20261204)
    other = authorized_client(app, create_key(app, "Other team")[0])
    others = populate(other, rng, 30)
    mine = populate(client, rng, 70)
    change(client, rng, mine, 40)
    change(other, rng, others, 10)
    return mine, others, other


@pytest.mark.parametrize("status", [None, *STATUSES])
def test_search_matches_a_scan(client, searched, status):
    mine, others, other = searched

    for api_client, phones in ((client, mine), (other, others)):
        for search in SEARCHES:
            expected = newest_first(
                [phone for phone in phones.values() if matches(phone, search, status)]
            )
            for limit, use_cursor in ((3, False), (7, True)):
                seen, totals = pages(api_client, search, status, limit, use_cursor)
                label = f"search={search!r} status={status} limit={limit}"
                assert seen == expected, label
                assert totals == {len(expected)}, label


@pytest.mark.sqlite_run_only("checks SQLite's own search tables")
def test_sqlite_search_tables_follow_the_phones(app, searched):
    with app.app_context():
        connection = db.session.connection()
        names = connection.execute(
            text("SELECT client_id, status, name, phones FROM phones_search_names")
        ).all()
        counted = connection.execute(
            text(
                "SELECT client_id, status, name, count(*) FROM phones_numbers"
                " WHERE name IS NOT NULL GROUP BY client_id, status, name"
            )
        ).all()
        for table in ("phones_search_names_index", "phones_search_numbers"):
            connection.execute(
                text(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")
            )
        indexed = connection.execute(
            text("SELECT count(*) FROM phones_search_names_index")
        ).scalar_one()

    assert sorted(names) == sorted(counted)
    assert indexed == len(names)


@pytest.mark.sqlite_run_only("checks a SQLite trigger")
def test_sqlite_rejects_ids_beyond_the_search_index(app, client, phone):
    with app.app_context():
        connection = db.session.connection()
        with pytest.raises(IntegrityError, match="too large for the search index"):
            connection.execute(
                text(
                    "INSERT INTO phones_numbers (id, uuid, client_id, number, type,"
                    " status, sms_enabled, hooks, parameters, sip_trunk_protocol,"
                    " created_at, updated_at)"
                    " SELECT :id, :uuid, client_id, '+16054440999', type, status,"
                    " sms_enabled, hooks, parameters, sip_trunk_protocol,"
                    " created_at, updated_at FROM phones_numbers"
                ),
                {"id": 1 << 40, "uuid": "0" * 32},
            )
        db.session.rollback()

    assert (
        client.get("/api/phones", query_string={"search": "0999"}).get_json()["total"]
        == 0
    )


@pytest.mark.parametrize("status", [None, "active", "pending"])
@pytest.mark.parametrize("named_elsewhere", [2, 8])
def test_search_counts_overlap_once(client, status, named_elsewhere):
    # "2065" is in 6 numbers, and in the names of 2 of those phones and of
    # phones numbered elsewhere. With 2 of those, the names are the smaller
    # side of the overlap count. With 8, the numbers are.
    phones = []
    for index in range(6):
        name = "Desk 2065" if index < 2 else "Plain"
        phones.append((f"+120655501{index:02d}", name, STATUSES[index % 2]))
    for index in range(named_elsewhere):
        phones.append((f"+160544402{index:02d}", "Line 2065", STATUSES[index % 2]))
    registered = []
    for number, name, phone_status in phones:
        response = register(client, number, name=name, status=phone_status)
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        registered.append(Phone(body["uuid"], number, name, phone_status, body["createdAt"]))

    expected = newest_first([phone for phone in registered if matches(phone, "2065", status)])
    seen, totals = pages(client, "2065", status, 4, use_cursor=False)

    assert seen == expected
    assert totals == {len(expected)}


def postgresql_counts(app) -> tuple[list, list, list, list]:
    """Return the count tables of PostgreSQL searches, and the same counted anew."""
    with app.app_context():
        connection = db.session.connection()
        names = connection.execute(
            text("SELECT client_id, status, name, phones FROM phones_search_names")
        ).all()
        counted_names = connection.execute(
            text(
                "SELECT client_id, status, name, count(*) FROM phones_numbers"
                " WHERE name IS NOT NULL GROUP BY client_id, status, name"
            )
        ).all()
        # A digit string whose count fell to zero keeps its row.
        digits = connection.execute(
            text(
                "SELECT client_id, status, digits, phones FROM phones_search_digits"
                " WHERE phones <> 0"
            )
        ).all()
        phones = connection.execute(
            text("SELECT client_id, status, number FROM phones_numbers")
        ).all()
        db.session.commit()

    # Every distinct string of one to four digits, counted once per number.
    counted_digits: Counter[tuple[int, str, str]] = Counter()
    for client_id, status, number in phones:
        numeral = number.lstrip("+")
        strings = {
            numeral[start : start + width]
            for width in range(1, 5)
            for start in range(len(numeral) - width + 1)
        }
        counted_digits.update((client_id, status, string) for string in strings)
    expected_digits = [(*key, phones) for key, phones in counted_digits.items()]
    return sorted(names), sorted(counted_names), sorted(digits), sorted(expected_digits)


def require_postgresql_run() -> None:
    if BACKEND != "postgresql":
        pytest.skip("checks PostgreSQL's own count tables, in the PostgreSQL run")


def test_postgresql_counts_follow_api_changes(app, searched):
    require_postgresql_run()
    names, counted_names, digits, counted_digits = postgresql_counts(app)

    assert names == counted_names
    assert digits == counted_digits
    assert all(row[3] > 0 for row in names + digits)


def test_postgresql_counts_follow_bulk_statements(app, client):
    require_postgresql_run()
    for index in range(6):
        name = "Bulk Desk" if index % 2 else "Other"
        response = register(client, f"+1206555{index:04d}", name=name)
        assert response.status_code == 201, response.get_json()

    # One statement each, as a bulk import or a hand-written fix would run.
    with app.app_context():
        session = db.session
        session.execute(
            text(
                "INSERT INTO phones_numbers (uuid, client_id, name, number, type,"
                " status, sms_enabled, hooks, parameters, sip_trunk_protocol,"
                " created_at, updated_at)"
                " SELECT gen_random_uuid(), client_id, 'Bulk Desk',"
                " '+1605444' || lpad(n::text, 4, '0'), 'private', 'pending', false,"
                " '{}', '{}', 'udp', now(), now()"
                " FROM (SELECT DISTINCT client_id FROM phones_numbers) AS clients,"
                " generate_series(1, 5) AS n"
            )
        )
        session.execute(
            text("UPDATE phones_numbers SET status = 'inactive' WHERE name = 'Bulk Desk'")
        )
        session.execute(
            text(
                "UPDATE phones_numbers SET number = replace(number, '+1206', '+1212')"
                " WHERE name = 'Other'"
            )
        )
        session.execute(text("DELETE FROM phones_numbers WHERE number LIKE '%0003'"))
        session.commit()

    names, counted_names, digits, counted_digits = postgresql_counts(app)
    assert names == counted_names
    assert digits == counted_digits
    assert all(row[3] > 0 for row in names + digits)
    body = client.get("/api/phones", query_string={"search": "212"}).get_json()
    assert body["total"] == 3
    body = client.get(
        "/api/phones", query_string={"search": "bulk", "status": "inactive"}
    ).get_json()
    # Three registered and five inserted, less the two numbers ending in 0003.
    assert body["total"] == 6
    for status, phones in (("inactive", 6), ("active", 3), ("pending", 0)):
        body = client.get("/api/phones", query_string={"status": status}).get_json()
        assert body["total"] == phones, status


def test_postgresql_counts_filled_on_upgrade(fresh_database, tmp_path):
    require_postgresql_run()
    app = make_app(fresh_database, tmp_path)
    with app.app_context():
        upgrade()
    client = authorized_client(app, create_key(app)[0])
    for number, status in (("+16054440129", "pending"), ("+12065550100", "active")):
        response = register(client, number, name="Main Office", status=status)
        assert response.status_code == 201, response.get_json()

    with app.app_context():
        # Counts gone wrong, as after changes made with triggers off.
        db.session.execute(text("UPDATE phones_status_counts SET count = 99"))
        db.session.execute(text("DELETE FROM phones_search_names"))
        db.session.commit()
        downgrade(revision="0005")
        upgrade()

    names, counted_names, digits, counted_digits = postgresql_counts(app)
    assert names == counted_names
    assert digits == counted_digits
    assert len(names) == 2
    for status, phones in (("pending", 1), ("active", 1), ("inactive", 0)):
        body = client.get("/api/phones", query_string={"status": status}).get_json()
        assert body["total"] == phones, status
    total = client.get("/api/phones", query_string={"search": "206"}).get_json()["total"]
    assert total == 1


def compiled_statements() -> int:
    return (
        postgresql_statement.cache_info().currsize + sqlite_statement.cache_info().currsize
    )


def test_repeated_search_kinds_compile_nothing_new(client):
    for index in range(12):
        response = register(client, f"+1206555{index:04d}", name=f"Sales Desk {index}")
        assert response.status_code == 201, response.get_json()

    def search_all(texts: list[str]) -> None:
        for words, status in itertools.product(texts, [None, "active"]):
            query = {"search": words, "limit": 2}
            if status is not None:
                query["status"] = status
            first = client.get("/api/phones", query_string=query).get_json()
            assert first["total"] > 0, words
            for paging in ({"page": 2}, {"cursor": first["nextCursor"]}):
                response = client.get("/api/phones", query_string={**query, **paging})
                assert response.status_code == 200, response.get_json()

    # The texts in each column are of one kind: words, three digits, more
    # than four digits, one digit. On SQLite a search of few matches and
    # one of many get different page statements, hence the second list.
    search_all(["Sales", "206", "2065550", "5"])
    search_all(["Desk", "555", "5550001", "0"])
    compiled = compiled_statements()
    search_all(["Sales Desk", "065", "5550002", "1"])

    assert compiled_statements() == compiled


def test_postgresql_client_deletion_takes_its_counts(app, client):
    require_postgresql_run()
    other = authorized_client(app, create_key(app, "Leaving team")[0])
    for index in range(5):
        for api_client in (client, other):
            response = register(api_client, f"+1404555{index:04d}", name="Desk 404")
            assert response.status_code == 201, response.get_json()

    with app.app_context():
        session = db.session
        # As a host application deleting a user would, by the foreign keys' cascade.
        session.execute(text("DELETE FROM phones_clients WHERE name = 'Leaving team'"))
        session.commit()

    names, counted_names, digits, counted_digits = postgresql_counts(app)
    assert names == counted_names
    assert digits == counted_digits
    assert len({row[0] for row in names}) == 1
    body = client.get("/api/phones", query_string={"search": "404"}).get_json()
    assert body["total"] == 5


def test_postgresql_truncate_empties_counts(app, client):
    require_postgresql_run()
    for index in range(3):
        response = register(client, f"+1404555{index:04d}", name="Desk 404")
        assert response.status_code == 201, response.get_json()

    with app.app_context():
        db.session.execute(text("TRUNCATE phones_numbers"))
        db.session.commit()

    for query in ({}, {"search": "404"}, {"search": "desk"}, {"status": "active"}):
        body = client.get("/api/phones", query_string=query).get_json()
        assert body["total"] == 0, query
    names, counted_names, digits, counted_digits = postgresql_counts(app)
    assert names == counted_names == []
    assert digits == counted_digits == []
