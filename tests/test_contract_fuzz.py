"""schemathesis against the application's own OpenAPI document.

Generated requests, valid and invalid, go through the WSGI app with a real
API key on a migrated SQLite file. No response may be a server error, break
its documented schema, use an undocumented status code or have the wrong
content type.
"""

from __future__ import annotations

import shutil
import tempfile

import pytest
import schemathesis
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from phones_service import create_app

from .backends import BACKEND, reset_postgresql
from .conftest import KEPT_CLIENTS, create_key, make_app

# Examples per operation; the whole module stays well under a minute.
MAX_EXAMPLES = 100

# OpenAPI 3.0 cannot state every rule the API enforces (hook names, URL
# schemes, phone number validity), so schemathesis' own guesses about which
# requests must be accepted are not checked, while every check on responses is.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

# The document alone, from an app whose database is never opened; requests
# go to `fuzz_app` below. schemathesis' from_fixture needs an attribute that
# pytest 9.2 removed, so the schema is loaded at import time instead.
_SPEC_APP = create_app(
    {
        "TESTING": True,
        "PHONES_DATABASE_URL": "sqlite://",
        "PHONES_SECRET_KEY": Fernet.generate_key().decode(),
    },
    instance_path=tempfile.gettempdir(),
)
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", _SPEC_APP)


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory, migrated_database):
    folder = tmp_path_factory.mktemp("fuzz")
    if BACKEND == "postgresql":
        reset_postgresql(migrated_database, KEPT_CLIENTS[migrated_database])
        return make_app(migrated_database, folder)
    database = folder / "phones.db"
    shutil.copyfile(migrated_database.removeprefix("sqlite:///"), database)
    return make_app(database, folder)


@pytest.fixture(scope="module")
def fuzz_key(fuzz_app):
    return create_key(fuzz_app)[0]


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_contract(case, fuzz_app, fuzz_key):
    case.call_and_validate(
        app=fuzz_app,
        headers={"Authorization": f"Bearer {fuzz_key}"},
        checks=CHECKS,
    )
