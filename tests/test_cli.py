"""The clients, keys and secrets commands."""

from __future__ import annotations

import re
import threading
import uuid

import pytest
from sqlalchemy import event, func, insert, select, text

from phones_service.accounts import _CREATE_CLIENT_LOCK, AccountError, AccountRepository
from phones_service.extensions import db
from phones_service.models import Client

from .backends import BACKEND
from .conftest import authorized_client

KEY = re.compile(r"^  (phk_[A-Za-z0-9]{8}_\S{43})$", re.MULTILINE)


def printed_key(output: str) -> str:
    keys = KEY.findall(output)
    assert len(keys) == 1, "expected exactly one key in the output"
    return keys[0]


def test_clients_create_prints_uuid_and_key(app, runner):
    result = runner.invoke(args=["clients", "create", "Acme Calls"])

    assert result.exit_code == 0
    client_uuid = re.search(r"Client (\S+) \(Acme Calls\) created", result.output)
    assert client_uuid is not None
    uuid.UUID(client_uuid.group(1))
    key = printed_key(result.output)
    assert authorized_client(app, key).get("/api/phones").status_code == 200


def test_clients_list_shows_created(runner):
    runner.invoke(args=["clients", "create", "Acme Calls"])
    result = runner.invoke(args=["clients", "list"])

    assert result.exit_code == 0
    assert "Acme Calls" in result.output
    assert "Default client" in result.output


def test_keys_create_for_client_name(app, runner):
    runner.invoke(args=["clients", "create", "Acme Calls"])
    result = runner.invoke(args=["keys", "create", "Acme Calls"])

    assert result.exit_code == 0
    assert authorized_client(app, printed_key(result.output)).get("/api/phones").status_code == 200


def test_keys_list_shows_prefix_never_key(runner):
    created = runner.invoke(args=["clients", "create", "Acme Calls"])
    key = printed_key(created.output)
    result = runner.invoke(args=["keys", "list", "Acme Calls"])

    assert result.exit_code == 0
    assert key[:12] in result.output
    assert key not in result.output
    assert key[13:] not in result.output


def test_keys_revoke_stops_key(app, runner):
    key = printed_key(runner.invoke(args=["clients", "create", "Acme"]).output)
    result = runner.invoke(args=["keys", "revoke", key[:12]])

    assert result.exit_code == 0
    assert f"Revoked {key[:12]}" in result.output
    assert authorized_client(app, key).get("/api/phones").status_code == 401
    listed = runner.invoke(args=["keys", "list", "Acme"]).output
    assert listed.count("-") < len(listed)


def test_keys_revoke_unknown_prefix_fails(runner):
    result = runner.invoke(args=["keys", "revoke", "phk_nothere1"])

    assert result.exit_code == 1
    assert "no API key with prefix" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_keys_create_unknown_client_fails(runner):
    result = runner.invoke(args=["keys", "create", "Nobody"])

    assert result.exit_code == 1
    assert "no client with uuid or name 'Nobody'" in result.output


def test_keys_list_ambiguous_name_fails(app, runner):
    # Two clients of one name, as an older version could store them.
    with app.app_context():
        db.session.add_all([Client(name="Twin"), Client(name="Twin")])
        db.session.commit()
    result = runner.invoke(args=["keys", "list", "Twin"])

    assert result.exit_code == 1
    assert "use the uuid" in result.output


def test_clients_create_repeated_name_fails(runner):
    first = runner.invoke(args=["clients", "create", "Acme Calls"])
    again = runner.invoke(args=["clients", "create", " Acme Calls "])
    listed = runner.invoke(args=["clients", "list"])

    assert first.exit_code == 0
    assert again.exit_code == 1
    assert "a client named 'Acme Calls' already exists" in again.output
    assert "phk_" not in again.output
    assert listed.output.count("Acme Calls") == 1


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("x" * 121, "1 to 120 characters"),
        ("Two\nLines", "control or text-direction"),
        ("Tab\there", "control or text-direction"),
        ("Acme \u202eslaC", "control or text-direction"),
        ("Acme\u2028Calls", "control or text-direction"),
        ("b1a20fda-122e-4afd-8dd3-84b3ee188728", "read it as a uuid"),
        ("B1A20FDA122E4AFD8DD384B3EE188728", "read it as a uuid"),
        ("{b1a20fda-122e-4afd-8dd3-84b3ee188728}", "read it as a uuid"),
        ("urn:uuid:b1a20fda-122e-4afd-8dd3-84b3ee188728", "read it as a uuid"),
    ],
)
def test_clients_create_invalid_name_fails(runner, name, reason):
    result = runner.invoke(args=["clients", "create", name])
    listed = runner.invoke(args=["clients", "list"])

    assert result.exit_code == 1
    assert reason in result.output
    assert "phk_" not in result.output
    assert "created" not in listed.output
    assert len(listed.output.splitlines()) == 1  # the default client only


def test_clients_create_normalizes_name(runner):
    composed = "Caf\u00e9"
    decomposed = "Cafe\u0301"
    created = runner.invoke(args=["clients", "create", decomposed])
    again = runner.invoke(args=["clients", "create", composed])
    keys = runner.invoke(args=["keys", "list", decomposed])

    assert created.exit_code == 0
    assert f"({composed}) created" in created.output
    assert again.exit_code == 1
    assert "already exists" in again.output
    assert keys.exit_code == 0
    assert keys.output.count("phk_") == 1


def test_concurrent_client_creation_keeps_names_unique(app):
    threads = 6
    start = threading.Barrier(threads)
    outcomes: list[str] = []

    def create() -> None:
        with app.app_context():
            start.wait(timeout=10)
            try:
                AccountRepository(db.session).create_client("Race")
                outcomes.append("created")
            except AccountError:
                outcomes.append("rejected")

    workers = [threading.Thread(target=create) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)

    assert sorted(outcomes) == ["created"] + ["rejected"] * (threads - 1)
    with app.app_context():
        named = db.session.scalars(select(Client).where(Client.name == "Race")).all()
    assert len(named) == 1


def test_clients_create_empty_name_fails(runner):
    result = runner.invoke(args=["clients", "create", "  "])

    assert result.exit_code == 1
    assert "a client name must be 1 to 120 characters" in result.output


def test_bootstrap_prints_key_once(app, anonymous):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["clients", "bootstrap"])
    second = runner.invoke(args=["clients", "bootstrap"])

    assert first.exit_code == 0
    assert "First API key of client 1bd9eb7e-9646-4024-ad15-46851b1dedda" in first.output
    key = printed_key(first.output)
    assert authorized_client(app, key).get("/api/phones").status_code == 200
    assert second.exit_code == 0
    assert second.output == ""


def test_keys_revoke_accepts_whole_key(app, runner):
    key = printed_key(runner.invoke(args=["clients", "create", "Acme"]).output)
    result = runner.invoke(args=["keys", "revoke", key])

    assert result.exit_code == 0
    assert f"Revoked {key[:12]}" in result.output
    assert key[13:] not in result.output
    assert authorized_client(app, key).get("/api/phones").status_code == 401


def test_creation_after_lock_wait_rejects_name(app):
    if BACKEND != "postgresql":
        pytest.skip("tests PostgreSQL's locks and isolation, in the PostgreSQL run")

    def repeatable_read(connection, _record) -> None:
        # A database whose default is repeatable read, where a transaction's
        # snapshot would date from before the lock wait.
        connection.execute(
            "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ"
        )
        connection.commit()

    outcomes: list[str] = []

    def create() -> None:
        with app.app_context():
            try:
                AccountRepository(db.session).create_client("Held")
                outcomes.append("created")
            except AccountError:
                outcomes.append("rejected")

    with app.app_context():
        engine = db.engine
        engine.dispose()
        event.listen(engine, "connect", repeatable_read)
        creator = threading.Thread(target=create)
        try:
            with engine.connect() as holder:
                holder.execute(select(func.pg_advisory_xact_lock(_CREATE_CLIENT_LOCK)))
                holder.execute(insert(Client).values(name="Held", uuid=uuid.uuid4()))
                creator.start()
                waiting = text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                )
                for _ in range(200):
                    if holder.execute(waiting).scalar() == 1:
                        break
                    threading.Event().wait(0.05)
                holder.commit()
            creator.join(timeout=10)
        finally:
            event.remove(engine, "connect", repeatable_read)
            engine.dispose()

    assert outcomes == ["rejected"]
    with app.app_context():
        named = db.session.scalars(select(Client).where(Client.name == "Held")).all()
    assert len(named) == 1
