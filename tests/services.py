"""The phones endpoints as two services: standalone, and mounted in a host app.

Requests name the standalone paths (`/api/phones...`); `PrefixClient`
rewrites them to the host's prefix.
"""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

from examples.host_app import PHONES_PREFIX, create_app, create_user

STANDALONE_PREFIX = "/api/phones"


class PrefixClient(FlaskClient):
    """Test client that sends `/api/phones` requests to another prefix."""

    phones_prefix = STANDALONE_PREFIX

    def open(self, *args, **kwargs):
        if args and isinstance(args[0], str) and args[0].startswith(STANDALONE_PREFIX):
            args = (self.phones_prefix + args[0][len(STANDALONE_PREFIX):], *args[1:])
        return super().open(*args, **kwargs)


def make_host_app(database_url: str, instance_path: Path, secret_key: str):
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "PHONES_SECRET_KEY": secret_key,
        }
    )
    app.instance_path = str(instance_path)
    app.test_client_class = PrefixClient
    return app


def create_host_user(app, username: str) -> tuple[int, str]:
    """Create a host user; return its id and its phones client's uuid."""
    with app.app_context():
        user = create_user(username, f"{username}-password")
        return user.id, user.phones_client_uuid


def logged_in_client(app, user: tuple[int, str]) -> PrefixClient:
    """Client holding the host's session cookie for `user`.

    The cookie is set directly, as the host's /account/login would, because
    hashing a password for every test would dominate the run time.
    """
    test_client = app.test_client()
    test_client.phones_prefix = PHONES_PREFIX
    test_client.phones_client_uuid = user[1]
    with test_client.session_transaction() as session:
        session["user_id"] = user[0]
    return test_client
