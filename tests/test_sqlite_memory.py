"""An in-memory SQLite database, which only tests may use.

The hot read paths run on a connection of their own where the database is
a file; in memory they go through the session, and must return the same
results. Outside tests the service rejects it, because each thread would
open its own empty database.
"""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from flask_migrate import upgrade

from phones_service import create_app

from .conftest import authorized_client, create_key, make_app, register


@pytest.mark.sqlite_run_only("tests an in-memory SQLite database")
def test_in_memory_database_serves_reads(tmp_path):
    app = make_app("sqlite://", tmp_path)
    with app.app_context():
        upgrade()
    client = authorized_client(app, create_key(app)[0])
    for index, name in enumerate(["Main Office", "Side Office", "Desk"]):
        response = register(client, f"+1605444{index:04d}", name=name)
        assert response.status_code == 201, response.get_json()
    created = response.get_json()

    found = client.get(f"/api/phones/{created['uuid']}")
    listed = client.get("/api/phones", query_string={"limit": 2}).get_json()
    searched = client.get("/api/phones", query_string={"search": "office"}).get_json()
    following = client.get(
        "/api/phones", query_string={"limit": 2, "cursor": listed["nextCursor"]}
    ).get_json()

    assert found.status_code == 200
    assert found.get_json() == created
    assert listed["total"] == 3
    assert [phone["name"] for phone in listed["phones"]] == ["Desk", "Side Office"]
    assert searched["total"] == 2
    assert [phone["name"] for phone in following["phones"]] == ["Main Office"]


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_in_memory_database_rejected_outside_tests(tmp_path, url):
    settings = {
        "PHONES_DATABASE_URL": url,
        "PHONES_SECRET_KEY": Fernet.generate_key().decode(),
    }

    with pytest.raises(ValueError, match="in-memory SQLite database"):
        create_app(settings, instance_path=str(tmp_path))
