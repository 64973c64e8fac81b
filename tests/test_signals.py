"""Signals after registration, update and deletion."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy.orm import Session

from phones_service import signals
from phones_service.extensions import db

from .conftest import register


@contextmanager
def received(signal, app):
    calls = []

    def receiver(sender, **kwargs):
        calls.append((sender, kwargs))

    signal.connect(receiver, app)
    try:
        yield calls
    finally:
        signal.disconnect(receiver, app)


def test_registration_sends_signal(app, client):
    with received(signals.phone_registered, app) as calls:
        body = register(client).get_json()

    assert len(calls) == 1
    sender, kwargs = calls[0]
    assert sender is app
    assert str(kwargs["phone"].uuid) == body["uuid"]
    assert str(kwargs["client"].uuid) == body["clientUuid"]


def test_update_sends_signal(app, client, phone):
    with received(signals.phone_updated, app) as calls:
        client.patch(f"/api/phones/{phone['uuid']}", json={"name": "New"})

    assert len(calls) == 1
    assert calls[0][1]["phone"].name == "New"


def test_delete_sends_signal_with_phone(app, client, phone):
    with received(signals.phone_deleted, app) as calls:
        client.delete(f"/api/phones/{phone['uuid']}")

    assert len(calls) == 1
    assert str(calls[0][1]["phone"].uuid) == phone["uuid"]
    assert calls[0][1]["phone"].number == phone["number"]


def test_rejected_requests_send_nothing(app, client, phone):
    with received(signals.phone_registered, app) as registered, received(
        signals.phone_deleted, app
    ) as deleted:
        register(client)
        register(client, "nope")
        client.delete("/api/phones/1bd9eb7e-9646-4024-ad15-46851b1dedda")

    assert registered == []
    assert deleted == []


@pytest.mark.parametrize(
    ("signal", "action"),
    [
        (signals.phone_registered, lambda c, p: register(c, "+12025550143")),
        (signals.phone_updated, lambda c, p: c.patch(f"/api/phones/{p['uuid']}", json={"name": "X"})),
        (signals.phone_deleted, lambda c, p: c.delete(f"/api/phones/{p['uuid']}")),
    ],
)
def test_failing_receiver_keeps_change(app, client, phone, caplog, signal, action):
    def broken(sender, **kwargs):
        raise RuntimeError("receiver bug")

    signal.connect(broken, app)
    try:
        with received(signal, app) as later:
            response = action(client, phone)
    finally:
        signal.disconnect(broken, app)

    assert response.status_code in (200, 201, 204)
    assert len(later) == 1
    failures = [r for r in caplog.records if r.name == "phones_service.signals"]
    assert len(failures) == 1
    assert "receiver bug" in failures[0].exc_text


def test_failing_receiver_commit_survives(app, client, phone):
    def broken(sender, **kwargs):
        raise RuntimeError("receiver bug")

    signals.phone_deleted.connect(broken, app)
    try:
        client.delete(f"/api/phones/{phone['uuid']}")
    finally:
        signals.phone_deleted.disconnect(broken, app)

    assert client.get(f"/api/phones/{phone['uuid']}").status_code == 404


def test_receiver_may_attach_its_client(app, client, phone):
    """A receiver's session may expire its client without harm to later requests."""

    def attach(sender, phone, client):
        with Session(db.engine) as session:
            session.add(client)
            session.commit()

    signals.phone_updated.connect(attach, app)
    try:
        for name in ("First", "Second"):
            response = client.patch(f"/api/phones/{phone['uuid']}", json={"name": name})
            assert response.status_code == 200, response.get_json()
    finally:
        signals.phone_updated.disconnect(attach, app)

    listed = client.get("/api/phones")
    assert listed.status_code == 200
    assert listed.get_json()["phones"][0]["name"] == "Second"
