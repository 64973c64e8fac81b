"""Fresh databases seeded with one client's phones, for the benchmark.

Phones go in as plain INSERT statements into `phones_numbers`, through
SQLAlchemy Core in batches, so that the triggers that the migrations create
(search index, status counts) see every row. The database is a SQLite file,
or an empty PostgreSQL database that the caller created.
"""

from __future__ import annotations

import itertools
import logging
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import flask_migrate
import phonenumbers
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, insert, text

from phones_service import create_app
from phones_service.accounts import AccountRepository
from phones_service.extensions import db, migrate
from phones_service.models import PHONE_TYPES, Phone

log = logging.getLogger(__name__)

# Numbers are +1, a prefix of area code and exchange, and a four-digit line.
LINES_PER_PREFIX = 10_000
AREA_CODES = (201, 206, 212, 303, 305, 312, 404, 415, 503, 512, 605, 617, 702, 808)
EXCHANGES = range(200, 1000)
BATCH_ROWS = 20_000
BATCHES_PER_TRANSACTION = 10
# Rows per INSERT statement and transaction on PostgreSQL. The count
# triggers run once per statement, and a statement has at most 65,535
# bound values, 17 per row here.
POSTGRESQL_BATCH_ROWS = 1_000
# Page cache of the seeding connection only. The server keeps SQLite's default.
SEED_CACHE_KIB = 256 * 1024
SAMPLE_SIZE = 10_000
CREATED_SPAN = timedelta(days=730)

TEAMS = ("Main", "Support", "Sales", "Billing", "Outbound", "Inbound", "Night")
KINDS = ("Office Line", "Desk", "Hotline", "Queue", "Callback", "Test Line")
CITIES = (
    "Austin", "Boston", "Chicago", "Denver", "Miami", "Portland", "Seattle",
    "Tampa", "Dallas", "Phoenix", "Atlanta", "Detroit", "Omaha", "Reno",
    "Fresno", "Tucson", "Raleigh", "Boise", "Albany", "Helena",
)  # fmt: skip
NAME_SEARCH = "Seattle"
PROVIDERS = ("twilio", "telnyx", "bandwidth", None)
# Weights of the statuses active, pending and inactive.
STATUS_WEIGHTS = (8, 1, 1)


@dataclass(frozen=True)
class SeededDatabase:
    """Database with one client, its API key and its phones."""

    url: str
    secret_key: str
    api_key: str
    revision: str
    phones: int
    seconds: float
    # Random sample of the phones' uuids, for GET and PATCH requests.
    phone_ids: list[str]
    search_digits: str
    search_area: str
    search_name: str
    # Phones that each search matches, counted over all rows with instr() on
    # SQLite and strpos() on PostgreSQL.
    digit_matches: int
    area_matches: int
    name_matches: int


class NumberPrefixes:
    """Distinct US prefixes (area code and exchange) in a fixed random order.

    Each prefix given out is checked with phonenumbers at three line numbers.
    """

    def __init__(self, seed: int) -> None:
        prefixes = [
            f"{area}{exchange}" for area in AREA_CODES for exchange in EXCHANGES
        ]
        random.Random(seed).shuffle(prefixes)
        self._remaining = iter(prefixes)

    def take(self, count: int) -> list[str]:
        """Return `count` unused prefixes, or raise ValueError if one is invalid."""
        taken = list(itertools.islice(self._remaining, count))
        if len(taken) < count:
            raise ValueError(f"only {len(taken)} of {count} number prefixes are left")
        for prefix in taken:
            _check_prefix(prefix)
        return taken


def _check_prefix(prefix: str) -> None:
    for line in ("0000", "5555", "9999"):
        number = phonenumbers.parse(f"+1{prefix}{line}")
        if not phonenumbers.is_valid_number(number):
            raise ValueError(f"+1{prefix}{line} is not a valid number")


def create_database(
    folder: Path,
    phones: int,
    prefixes: NumberPrefixes,
    secret_key: str,
    seed: int,
    url: str | None = None,
) -> SeededDatabase:
    """Migrate and seed the empty database at `url`.

    Without `url` it creates the SQLite database `folder/phones.db`. The
    app's instance folder is `folder/instance` either way.
    """
    if url is None:
        url = f"sqlite:///{folder / 'phones.db'}"
    settings = {"PHONES_DATABASE_URL": url, "PHONES_SECRET_KEY": secret_key}
    app = create_app(settings, instance_path=str(folder / "instance"))
    with app.app_context():
        flask_migrate.upgrade()
        accounts = AccountRepository(db.session)
        client = accounts.create_client("Benchmark client")
        api_key = accounts.create_key(client).key
        seeder = Seeder(client.id, phones, prefixes, seed)
        seconds = seeder.insert_all(db.engine)
        revision = ScriptDirectory.from_config(migrate.get_config()).get_current_head()
        database = _describe(
            db.engine, seeder, url, secret_key, api_key, seconds, revision
        )
        if db.engine.dialect.name == "postgresql":
            # Close the seeding connections, so that the server only has the
            # service's connections open while it is measured.
            db.session.close()
            db.engine.dispose()
        return database


def _describe(
    engine: Engine,
    seeder: Seeder,
    url: str,
    secret_key: str,
    api_key: str,
    seconds: float,
    revision: str | None,
) -> SeededDatabase:
    digit_term = seeder.digit_search_term()
    area_term = seeder.area_search_term()
    # strpos() is PostgreSQL's instr(): both return the 1-based position of
    # the term, or 0 when it is absent.
    position = "strpos" if engine.dialect.name == "postgresql" else "instr"
    with engine.connect() as connection:
        digit_matches = _count_matches(
            connection, position, "number", digit_term.replace("-", "")
        )
        area_matches = _count_matches(connection, position, "number", area_term)
        name_matches = _count_matches(
            connection, position, "lower(name)", NAME_SEARCH.lower()
        )
    return SeededDatabase(
        url=url,
        secret_key=secret_key,
        api_key=api_key,
        revision=str(revision),
        phones=seeder.count,
        seconds=seconds,
        phone_ids=[str(value) for value in seeder.sample],
        search_digits=digit_term,
        search_area=area_term,
        search_name=NAME_SEARCH,
        digit_matches=digit_matches,
        area_matches=area_matches,
        name_matches=name_matches,
    )


def _count_matches(
    connection: Connection, position: str, expression: str, term: str
) -> int:
    query = (
        f"SELECT count(*) FROM phones_numbers WHERE {position}({expression}, :term) > 0"
    )
    return int(connection.scalar(text(query), {"term": term}) or 0)


class Seeder:
    """Rows of one client's phones: distinct valid numbers, varied names.

    `created_at` rises with the row id over two years up to now, each row a
    random moment inside its own slot, the way a real table fills up.
    """

    def __init__(
        self, client_id: int, count: int, prefixes: NumberPrefixes, seed: int
    ) -> None:
        self.client_id = client_id
        self.count = count
        self.rng = random.Random(seed)
        self.prefixes = prefixes.take(-(-count // LINES_PER_PREFIX))
        self.slots = list(range(count))
        self.rng.shuffle(self.slots)
        self.sampled = set(self.rng.sample(range(count), min(count, SAMPLE_SIZE)))
        self.sample: list[uuid.UUID] = []
        self.end = datetime.now(UTC)
        self.step = CREATED_SPAN / max(count, 1)

    def insert_all(self, engine: Engine) -> float:
        """Insert every row and return the seconds taken.

        SQLite gets a few large transactions and a WAL checkpoint at the end.
        PostgreSQL gets a transaction per POSTGRESQL_BATCH_ROWS rows, then
        VACUUM and ANALYZE, whose seconds count too.
        """
        started = time.perf_counter()
        rows = (self.row(index) for index in range(self.count))
        if engine.dialect.name == "postgresql":
            _insert_postgresql(engine, rows)
            _vacuum_analyze(engine)
        else:
            _insert_sqlite(engine, rows)
            _checkpoint(engine)
        seconds = time.perf_counter() - started
        log.info("seeded %d phones in %.1f s", self.count, seconds)
        return seconds

    def row(self, index: int) -> dict[str, Any]:
        """Return the column values of phone `index`."""
        rng = self.rng
        phone_uuid = uuid.UUID(int=rng.getrandbits(128), version=4)
        if index in self.sampled:
            self.sample.append(phone_uuid)
        created = self.end - (self.count - index - rng.random()) * self.step
        return {
            "uuid": phone_uuid,
            "client_id": self.client_id,
            "name": self.name(index),
            "number": self.number(index),
            "country_code": "US",
            "reference_id": f"crm-{index:07d}",
            "type": rng.choice(PHONE_TYPES),
            "status": rng.choices(("active", "pending", "inactive"), STATUS_WEIGHTS)[0],
            "provider": rng.choice(PROVIDERS),
            "sms_enabled": index % 3 == 0,
            "hooks": {},
            "parameters": {"campaign": f"campaign-{index % 50}"},
            "sip_trunk": "sip.example.com" if index % 2 else None,
            "sip_trunk_user": f"user{index % 1000}" if index % 2 else None,
            "sip_trunk_protocol": "udp",
            "created_at": created,
            "updated_at": created,
        }

    def name(self, index: int) -> str | None:
        if index % 50 == 0:
            return None
        rng = self.rng
        return f"{rng.choice(TEAMS)} {rng.choice(KINDS)} {rng.choice(CITIES)}"

    def number(self, index: int) -> str:
        slot = self.slots[index]
        prefix = self.prefixes[slot // LINES_PER_PREFIX]
        return f"+1{prefix}{slot % LINES_PER_PREFIX:04d}"

    def area_search_term(self) -> str:
        """Return the area code of a phone, such as "206": about 1 in 14 numbers."""
        return self.number(0)[2:5]

    def digit_search_term(self) -> str:
        """Return the exchange and two line digits of a phone, as "444-01"."""
        digits = self.number(0)[5:10]
        return f"{digits[:3]}-{digits[3:]}"


def _batched(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[Any]]:
    while batch := list(itertools.islice(rows, size)):
        yield batch


def _insert_sqlite(engine: Engine, rows: Iterator[dict[str, Any]]) -> None:
    with engine.connect() as connection:
        connection.exec_driver_sql(f"PRAGMA cache_size=-{SEED_CACHE_KIB}")
        for number, batch in enumerate(_batched(rows, BATCH_ROWS), start=1):
            connection.execute(insert(Phone), batch)
            if number % BATCHES_PER_TRANSACTION == 0:
                connection.commit()
        connection.commit()


def _insert_postgresql(engine: Engine, rows: Iterator[dict[str, Any]]) -> None:
    with engine.connect() as connection:
        for batch in _batched(rows, POSTGRESQL_BATCH_ROWS):
            # With RETURNING, SQLAlchemy sends the batch as one INSERT of
            # many rows ("insertmanyvalues", up to 1,000 rows a statement).
            # Without it, psycopg runs one statement per row, so the count
            # triggers run once per row.
            connection.execute(insert(Phone).returning(Phone.id), batch)
            connection.commit()


def _vacuum_analyze(engine: Engine) -> None:
    """Do what autovacuum would do after the inserts, before the measurement.

    ANALYZE gives the planner statistics. VACUUM merges the pending entries
    of the trigram GIN indexes, which every search through them scans until
    then. It also removes the old versions of the count rows, so that
    autovacuum does not start on the seeded rows while the service is
    measured.
    """
    started = time.perf_counter()
    with engine.connect() as connection:
        # VACUUM cannot run inside a transaction block.
        connection.execution_options(isolation_level="AUTOCOMMIT")
        connection.exec_driver_sql("VACUUM (ANALYZE)")
    log.info("VACUUM (ANALYZE) took %.1f s", time.perf_counter() - started)


def _checkpoint(engine: Engine) -> None:
    """Move the WAL into the database file, so the server starts on a short WAL."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.close()
    finally:
        connection.close()
