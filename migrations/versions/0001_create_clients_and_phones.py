"""Create the clients and phones tables and the default client.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

from datetime import datetime, timezone
import uuid

from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = ("phones",)
depends_on = None

# Owns every phone until API keys select a client per request; the same
# value is DEFAULT_CLIENT_UUID in phones_service/clients.py.
DEFAULT_CLIENT_UUID = uuid.UUID("1bd9eb7e-9646-4024-ad15-46851b1dedda")


def upgrade():
    clients = op.create_table(
        "phones_clients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phones_clients")),
        sa.UniqueConstraint("uuid", name=op.f("uq_phones_clients_uuid")),
    )
    op.create_table(
        "phones_numbers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=True),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=True),
        sa.Column("reference_id", sa.String(length=255), nullable=True),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=True),
        sa.Column("sms_enabled", sa.Boolean(), nullable=False),
        sa.Column("fallback_destination", sa.String(length=16), nullable=True),
        sa.Column("server_url", sa.String(length=2048), nullable=True),
        sa.Column("server_region", sa.String(length=64), nullable=True),
        sa.Column("hooks", sa.JSON(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("sip_trunk", sa.String(length=255), nullable=True),
        sa.Column("sip_trunk_user", sa.String(length=255), nullable=True),
        sa.Column("sip_trunk_password_token", sa.Text(), nullable=True),
        sa.Column("sip_trunk_protocol", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "sip_trunk_protocol IN ('udp', 'tcp', 'tls')",
            name=op.f("ck_phones_numbers_sip_trunk_protocol"),
        ),
        sa.CheckConstraint(
            "status IN ('active', 'pending', 'inactive')",
            name=op.f("ck_phones_numbers_status"),
        ),
        sa.CheckConstraint(
            "type IN ('private', 'shared', 'ordered')",
            name=op.f("ck_phones_numbers_type"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["phones_clients.id"],
            name=op.f("fk_phones_numbers_client_id_phones_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phones_numbers")),
        sa.UniqueConstraint(
            "client_id", "number", name="uq_phones_numbers_client_number"
        ),
        sa.UniqueConstraint("uuid", name=op.f("uq_phones_numbers_uuid")),
    )
    op.create_index(
        "ix_phones_numbers_client_created",
        "phones_numbers",
        ["client_id", "created_at", "uuid"],
    )
    # SQLite stores naive UTC (see UTCDateTime); PostgreSQL takes the offset.
    now = datetime.now(timezone.utc)
    if op.get_bind().dialect.name == "sqlite":
        now = now.replace(tzinfo=None)
    op.bulk_insert(
        clients,
        [{"uuid": DEFAULT_CLIENT_UUID, "name": "Default client", "created_at": now}],
    )


def downgrade():
    op.drop_index("ix_phones_numbers_client_created", table_name="phones_numbers")
    op.drop_table("phones_numbers")
    op.drop_table("phones_clients")
