"""Tables of the phones service.

Every table name starts with `phones_`, so the tables can live in a host
application's database beside its own.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

PHONE_TYPES = ("private", "shared", "ordered")
PHONE_STATUSES = ("active", "pending", "inactive")
SIP_PROTOCOLS = ("udp", "tcp", "tls")
NAME_MAX_LENGTH = 120
# Control characters, C1 controls, line and paragraph separators, and the
# bidirectional overrides and isolates, which can make text display as
# something other than what it is. Names and other text fields reject them.
CONTROL_CHARACTERS = r"\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Return the current UTC time, truncated to the milliseconds the API shows."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def read_sqlite_datetime(value: str | None) -> datetime | None:
    """Read a UTC datetime as SQLAlchemy stores it in SQLite.

    The text is such as "2026-01-10 12:00:00.000000"; fromisoformat reads
    it several times faster than the generic DateTime processor.
    """
    if value is None:
        return None
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def sqlite_datetime_text(value: datetime) -> str:
    """Return an aware datetime as SQLAlchemy stores it in SQLite, in UTC."""
    value = value.astimezone(UTC)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}"
    )


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetime, also on SQLite, which stores no offset."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        return read_sqlite_datetime

    def process_result_value(self, value: datetime | None, dialect: Any) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Client(Base):
    """Account that owns phones."""

    __tablename__ = "phones_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(Base):
    """API key of a client; only the SHA-256 of the key is stored."""

    __tablename__ = "phones_api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(
        ForeignKey("phones_clients.id", ondelete="CASCADE"), index=True
    )
    # Visible start of the key, such as "phk_3kQ9xZ1m", to tell keys apart.
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    client: Mapped[Client] = relationship(lazy="joined", innerjoin=True)


class PhoneStatusCount(Base):
    """Number of a client's phones in one status, kept by database triggers."""

    __tablename__ = "phones_status_counts"

    client_id: Mapped[int] = mapped_column(
        ForeignKey("phones_clients.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int]


# Objects that migrations create outside these models, because SQLAlchemy
# cannot declare them for both databases: SQLite's search tables and index
# (with the shadow tables SQLite makes for FTS5) and PostgreSQL's trigram
# indexes. Comparisons of models and database skip them.
SEARCH_INDEX_PREFIXES = (
    "phones_search",
    "ix_phones_numbers_name_trgm",
    "ix_phones_numbers_number_trgm",
)


def include_in_comparison(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic `include_object` hook that skips the migration-only objects."""
    if name and name.startswith(SEARCH_INDEX_PREFIXES):
        return False
    return not (type_ == "table" and name and name.endswith("alembic_version"))


def _one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    quoted = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=column)


class Phone(Base):
    """Phone number registered by a client."""

    __tablename__ = "phones_numbers"
    __table_args__ = (
        UniqueConstraint("client_id", "number", name="uq_phones_numbers_client_number"),
        Index("ix_phones_numbers_client_created", "client_id", "created_at", "uuid"),
        _one_of("type", PHONE_TYPES),
        _one_of("status", PHONE_STATUSES),
        _one_of("sip_trunk_protocol", SIP_PROTOCOLS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    client_id: Mapped[int] = mapped_column(
        ForeignKey("phones_clients.id", ondelete="CASCADE")
    )
    name: Mapped[str | None] = mapped_column(String(NAME_MAX_LENGTH))
    # E.164: a plus sign and at most 15 digits.
    number: Mapped[str] = mapped_column(String(16))
    country_code: Mapped[str | None] = mapped_column(String(2))
    reference_id: Mapped[str | None] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(16), default="private")
    status: Mapped[str] = mapped_column(String(16), default="active")
    provider: Mapped[str | None] = mapped_column(String(64))
    sms_enabled: Mapped[bool] = mapped_column(default=False)
    fallback_destination: Mapped[str | None] = mapped_column(String(16))
    server_url: Mapped[str | None] = mapped_column(String(2048))
    server_region: Mapped[str | None] = mapped_column(String(64))
    hooks: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sip_trunk: Mapped[str | None] = mapped_column(String(255))
    sip_trunk_user: Mapped[str | None] = mapped_column(String(255))
    # Fernet token of the password, never the plaintext.
    sip_trunk_password_token: Mapped[str | None] = mapped_column(Text)
    sip_trunk_protocol: Mapped[str] = mapped_column(String(8), default="udp")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    client: Mapped[Client] = relationship(lazy="joined", innerjoin=True)

    @property
    def client_uuid(self) -> uuid.UUID:
        return self.client.uuid

    def as_dict(self) -> dict[str, Any]:
        """Return the column values by attribute name, and `client_uuid`."""
        values = {column.key: getattr(self, column.key) for column in _PHONE_COLUMNS}
        values["client_uuid"] = self.client.uuid
        return values

    @property
    def server(self) -> dict[str, str | None] | None:
        if self.server_url is None:
            return None
        return {"url": self.server_url, "region": self.server_region}


_PHONE_COLUMNS = tuple(Phone.__table__.columns)
