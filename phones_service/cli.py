"""Command line: `flask --app app clients|keys|secrets ...`."""

from __future__ import annotations

import os

import click
from cryptography.fernet import Fernet
from flask import Flask, current_app
from flask.cli import AppGroup

from . import clients as client_state
from .accounts import PREFIX_LENGTH, AccountError, AccountRepository, NewKey
from .crypto import (
    KEY_FILE_NAME,
    SecretBox,
    SecretKeyError,
    parse_keys,
    read_or_create_key_file,
    write_key_file,
)
from .extensions import db
from .phones.repository import rotate_sip_passwords

clients_cli = AppGroup("clients", help="Create and list clients (accounts).")
keys_cli = AppGroup("keys", help="Create, list and revoke API keys.")
secrets_cli = AppGroup("secrets", help="Manage the key that encrypts SIP passwords.")


def init_app(app: Flask) -> None:
    for group in (clients_cli, keys_cli, secrets_cli):
        app.cli.add_command(group)


def _accounts() -> AccountRepository:
    return AccountRepository(db.session)


def _find_client(reference: str):
    try:
        return _accounts().find_client(reference)
    except AccountError as error:
        raise click.ClickException(str(error)) from None


def _echo_key(new_key: NewKey, label: str) -> None:
    click.echo(f"{label}, shown only once; store it now:")
    click.echo(f"  {new_key.key}")


def _date(value) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


@clients_cli.command("create")
@click.argument("name")
def create_client(name: str) -> None:
    """Create a client named NAME and its first API key."""
    accounts = _accounts()
    try:
        client = accounts.create_client(name)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Client {client.uuid} ({client.name}) created.")
    _echo_key(accounts.create_key(client), "API key")


@clients_cli.command("list")
def list_clients() -> None:
    """List clients: uuid, creation date, name."""
    for client in _accounts().list_clients():
        click.echo(f"{client.uuid}  {_date(client.created_at)}  {client.name}")


@clients_cli.command("bootstrap")
def bootstrap() -> None:
    """Give the default client a first key if no key exists yet.

    `make run` calls this on every start; it prints a key only the first time.
    """
    accounts = _accounts()
    if accounts.any_key_exists():
        return
    clients = accounts.list_clients()
    default = [c for c in clients if c.uuid == client_state.DEFAULT_CLIENT_UUID]
    client = (default or clients or [None])[0] or accounts.create_client("Default client")
    new_key = accounts.create_key(client)
    click.echo("=" * 72)
    _echo_key(new_key, f"First API key of client {client.uuid} ({client.name})")
    click.echo("Send it as: Authorization: Bearer <key>")
    click.echo("=" * 72)


@keys_cli.command("create")
@click.argument("client")
def create_key(client: str) -> None:
    """Create an API key for CLIENT (uuid or name)."""
    found = _find_client(client)
    _echo_key(_accounts().create_key(found), f"API key of client {found.uuid}")


@keys_cli.command("list")
@click.argument("client")
def list_keys(client: str) -> None:
    """List the keys of CLIENT: prefix, created, last used, revoked."""
    found = _find_client(client)
    click.echo("prefix        created               last used             revoked")
    for key in _accounts().list_keys(found):
        click.echo(
            f"{key.prefix:<12}  {_date(key.created_at):<20}  "
            f"{_date(key.last_used_at):<20}  {_date(key.revoked_at)}"
        )


@keys_cli.command("revoke")
@click.argument("key_prefix")
def revoke_key(key_prefix: str) -> None:
    """Revoke the key whose visible prefix is KEY_PREFIX (such as phk_3kQ9xZ1m)."""
    try:
        # A whole key pasted by mistake still names its prefix.
        key = _accounts().revoke_key(key_prefix.strip()[:PREFIX_LENGTH])
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Revoked {key.prefix} at {_date(key.revoked_at)}.")


@secrets_cli.command("generate-key")
def generate_key() -> None:
    """Print a new Fernet key for PHONES_SECRET_KEY."""
    click.echo(Fernet.generate_key().decode())


@secrets_cli.command("rotate")
def rotate() -> None:
    """Re-encrypt every SIP password under a new key.

    With PHONES_SECRET_KEY set to "NEW,OLD", passwords move to NEW; then
    drop OLD from the setting. Without it, a new key is written to the
    instance key file and the old one removed once every password moved.
    Restart the service afterwards.
    """
    setting = current_app.config.get("PHONES_SECRET_KEY")
    try:
        if setting:
            count = rotate_sip_passwords(db.session, SecretBox(parse_keys(setting)))
        else:
            count = _rotate_key_file()
    except SecretKeyError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Re-encrypted {count} SIP passwords under the new key.")


def _rotate_key_file() -> int:
    path = os.path.join(current_app.instance_path, KEY_FILE_NAME)
    old_keys = parse_keys(read_or_create_key_file(path))
    keys = [Fernet.generate_key(), *old_keys]
    # The old keys stay until every password is moved, so an interrupted
    # rotation can simply be run again.
    write_key_file(path, keys)
    count = rotate_sip_passwords(db.session, SecretBox(keys))
    write_key_file(path, keys[:1])
    return count
